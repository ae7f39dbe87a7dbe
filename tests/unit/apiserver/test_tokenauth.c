/* SPDX-License-Identifier: Apache-2.0 */
/* Service-account tokens in the engine (endpoints/tokenauth.c, tokenrequest.c,
 * tokenreview.c) and the static token file (authn/tokenfile.c): TokenRequest defaults,
 * validation and caps; the authenticator's user, groups and extras; expiry at a fixed "now";
 * a deleted-and-recreated ServiceAccount or a deleted bound pod invalidates the token;
 * audiences; TokenReview; the OIDC documents; token file parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apiserver/authn/impersonate.h"
#include "apiserver/authn/tokenfile.h"
#include "apiserver/endpoints/tokens_int.h"
#include "engine_harness.h"

#include <time.h>

static char keyfile[200], tokfile[200];

static int tsetup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    snprintf(e->dir, sizeof(e->dir), "/tmp/ck-tokenauth-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(keyfile, sizeof(keyfile), "%s/sa.key", e->dir);
    snprintf(tokfile, sizeof(tokfile), "%s/tokens.csv", e->dir);
    FILE *f = fopen(tokfile, "w");
    assert_non_null(f);
    fputs("s3cret,alice,1001,\"devs,ops\"\n\n,empty,1\nother,bob,1002\n", f);
    fclose(f);
    struct store_lmdb_opts o = {.dir = e->dir, .no_sync = true};
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(store_lmdb_open(&o, &e->st, &err), 0);
    struct api_opts ao = {.sa_signing_key_file = keyfile,
                          .api_audiences = "https://kubernetes.default.svc.cluster.local,api",
                          .sa_max_token_expiration_s = 7200,
                          .token_auth_file = tokfile};
    if (api_server_new(e->st, &ao, &e->s, &err) < 0)
        fail_msg("api_server_new: %s", err.msg);
    *state = e;
    return 0;
}

static json_t *token_request(struct env *e, const char *sa, const char *body, int *status)
{
    char path[256];
    json_t *out = NULL;
    snprintf(path, sizeof(path), "/api/v1/namespaces/default/serviceaccounts/%s/token", sa);
    *status = req(e, "POST", path, NULL, body, &out);
    return out;
}

static void create_sa(struct env *e, const char *name)
{
    char body[200];
    snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"%s\"}}", name);
    json_t *o = NULL;
    assert_int_equal(req(e, "POST", "/api/v1/namespaces/default/serviceaccounts", NULL, body, &o),
                     201);
    json_decref(o);
}

static bool has_extra(const struct authn_user *u, const char *k, const char *v)
{
    for (size_t i = 0; i < u->nextra; i++)
        if (!strcmp(u->extra_keys[i], k) && (!v || !strcmp(u->extra_vals[i], v)))
            return true;
    return false;
}

static void test_request_and_authenticate(void **state)
{
    struct env *e = *state;
    int st;
    create_sa(e, "bob");
    json_t *tr = token_request(e, "bob",
                               "{\"apiVersion\":\"authentication.k8s.io/v1\","
                               "\"kind\":\"TokenRequest\",\"spec\":{}}",
                               &st);
    assert_int_equal(st, 201);
    assert_string_equal(jpath(tr, "kind"), "TokenRequest");
    assert_string_equal(jpath(tr, "metadata.name"), "bob");
    assert_string_equal(jpath(tr, "metadata.namespace"), "default");
    assert_int_equal(jint(tr, "spec.expirationSeconds"), 3600);
    assert_int_equal(json_array_size(json_object_get(json_object_get(tr, "spec"), "audiences")), 2);
    const char *tok = jpath(tr, "status.token");
    assert_non_null(tok);
    assert_non_null(jpath(tr, "status.expirationTimestamp"));

    struct authn_user u;
    assert_int_equal(api_authn_token(e->s, tok, strlen(tok), &u), 0);
    assert_string_equal(u.name, "system:serviceaccount:default:bob");
    assert_non_null(u.uid);
    assert_string_equal(u.groups[0], "system:serviceaccounts");
    assert_string_equal(u.groups[1], "system:serviceaccounts:default");
    assert_string_equal(u.groups[2], "system:authenticated");
    assert_null(u.groups[3]);
    assert_true(has_extra(&u, "authentication.kubernetes.io/credential-id", NULL));
    assert_int_equal(strncmp(u.extra_vals[0], "JTI=", 4), 0);
    authn_user_release(&u);

    /* expiry at a fixed now: valid just before exp, not at it */
    char why[512];
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(eng_token_authenticate(e->s, tok, strlen(tok), NULL, now + 3500, false, &u,
                                            NULL, why, sizeof(why)),
                     0);
    authn_user_release(&u);
    assert_int_equal(eng_token_authenticate(e->s, tok, strlen(tok), NULL, now + 3700, false, &u,
                                            NULL, why, sizeof(why)),
                     -1);
    assert_non_null(strstr(why, "expired"));

    /* a tampered token and garbage */
    char *bad = strdup(tok);
    bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'A' ? 'B' : 'A';
    assert_int_equal(api_authn_token(e->s, bad, strlen(bad), &u), -1);
    free(bad);
    assert_int_equal(api_authn_token(e->s, "a.b.c", 5, &u), -1);

    /* the ServiceAccount deleted and recreated: a new uid, the old token is dead */
    char *keep = strdup(tok);
    json_decref(tr);
    json_t *o = NULL;
    assert_int_equal(
        req(e, "DELETE", "/api/v1/namespaces/default/serviceaccounts/bob", NULL, NULL, &o), 200);
    json_decref(o);
    assert_int_equal(api_authn_token(e->s, keep, strlen(keep), &u), -1);
    create_sa(e, "bob");
    assert_int_equal(eng_token_authenticate(e->s, keep, strlen(keep), NULL, now, false, &u, NULL,
                                            why, sizeof(why)),
                     -1);
    assert_non_null(strstr(why, "UID"));
    free(keep);
}

static void test_validation(void **state)
{
    struct env *e = *state;
    int st;
    create_sa(e, "val");
    json_t *r = token_request(e, "val", "{\"spec\":{\"expirationSeconds\":60}}", &st);
    assert_int_equal(st, 422);
    assert_non_null(strstr(jpath(r, "message"), "may not specify a duration less than 10 minutes"));
    assert_string_equal(jpath(r, "details.kind"), "TokenRequest");
    json_decref(r);
    r = token_request(e, "val", "{\"metadata\":{\"name\":\"other\"},\"spec\":{}}", &st);
    assert_int_equal(st, 422);
    assert_non_null(strstr(jpath(r, "message"), "must match the service account name"));
    json_decref(r);
    r = token_request(e, "nosuch", "{\"spec\":{}}", &st);
    assert_int_equal(st, 404);
    assert_string_equal(jpath(r, "message"), "serviceaccounts \"nosuch\" not found");
    json_decref(r);
    /* capped by --service-account-max-token-expiration, with a warning */
    r = token_request(e, "val", "{\"spec\":{\"expirationSeconds\":100000}}", &st);
    assert_int_equal(st, 201);
    assert_int_equal(jint(r, "spec.expirationSeconds"), 7200);
    assert_int_equal((int)e->nwarn, 1);
    assert_non_null(strstr(e->warn[0], "shortened to 7200 seconds"));
    json_decref(r);
    /* binding to an unsupported kind, a missing pod */
    r = token_request(e, "val",
                      "{\"spec\":{\"boundObjectRef\":{\"apiVersion\":\"apps/v1\",\"kind\":"
                      "\"Deployment\",\"name\":\"x\"}}}",
                      &st);
    assert_int_equal(st, 400);
    assert_string_equal(jpath(r, "message"),
                        "cannot bind token to object of type apps/v1, Kind=Deployment");
    json_decref(r);
    r = token_request(e, "val",
                      "{\"spec\":{\"boundObjectRef\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
                      "\"name\":\"missing\"}}}",
                      &st);
    assert_int_equal(st, 404);
    json_decref(r);
    /* GET is not allowed on the subresource */
    json_t *o = NULL;
    assert_int_equal(
        req(e, "GET", "/api/v1/namespaces/default/serviceaccounts/val/token", NULL, NULL, &o), 405);
    json_decref(o);
}

static void test_pod_bound(void **state)
{
    struct env *e = *state;
    int st;
    create_sa(e, "runner");
    json_t *o = NULL;
    assert_int_equal(req(e, "POST", "/api/v1/namespaces/default/pods", NULL,
                         "{\"metadata\":{\"name\":\"tp\"},\"spec\":{\"serviceAccountName\":"
                         "\"runner\",\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}",
                         &o),
                     201);
    char uid[64];
    snprintf(uid, sizeof(uid), "%s", jpath(o, "metadata.uid"));
    json_decref(o);
    /* the wrong service account */
    create_sa(e, "other");
    json_t *r = token_request(e, "other",
                              "{\"spec\":{\"boundObjectRef\":{\"apiVersion\":\"v1\",\"kind\":"
                              "\"Pod\",\"name\":\"tp\"}}}",
                              &st);
    assert_int_equal(st, 400);
    assert_non_null(strstr(jpath(r, "message"), "to pod running with different serviceaccount"));
    json_decref(r);
    /* a wrong uid */
    r = token_request(e, "runner",
                      "{\"spec\":{\"boundObjectRef\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
                      "\"name\":\"tp\",\"uid\":\"nope\"}}}",
                      &st);
    assert_int_equal(st, 409);
    json_decref(r);
    /* 3607 s for the API audiences: a year, warning after 3607 s */
    char body[300];
    snprintf(body, sizeof(body),
             "{\"spec\":{\"expirationSeconds\":3607,\"boundObjectRef\":{\"apiVersion\":\"v1\","
             "\"kind\":\"Pod\",\"name\":\"tp\",\"uid\":\"%s\"}}}",
             uid);
    r = token_request(e, "runner", body, &st);
    assert_int_equal(st, 201);
    const char *tok = jpath(r, "status.token");
    struct authn_user u;
    char why[512];
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(eng_token_authenticate(e->s, tok, strlen(tok), NULL, now + 7200, false, &u,
                                            NULL, why, sizeof(why)),
                     0);
    assert_true(has_extra(&u, "authentication.kubernetes.io/pod-name", "tp"));
    assert_true(has_extra(&u, "authentication.kubernetes.io/pod-uid", uid));
    authn_user_release(&u);
    /* the pod deleted: the token is dead */
    assert_int_equal(
        req(e, "DELETE", "/api/v1/namespaces/default/pods/tp", "gracePeriodSeconds=0", NULL, &o),
        200);
    json_decref(o);
    assert_int_equal(eng_token_authenticate(e->s, tok, strlen(tok), NULL, now, false, &u, NULL, why,
                                            sizeof(why)),
                     -1);
    assert_non_null(strstr(why, "pod"));
    json_decref(r);
}

/* Secret- and Node-bound tokens live as long as their object */
static void test_secret_and_node_bound(void **state)
{
    struct env *e = *state;
    int st;
    create_sa(e, "sb");
    json_t *o = NULL;
    assert_int_equal(req(e, "POST", "/api/v1/namespaces/default/secrets", NULL,
                         "{\"metadata\":{\"name\":\"bound\"}}", &o),
                     201);
    json_decref(o);
    assert_int_equal(req(e, "POST", "/api/v1/nodes", NULL, "{\"metadata\":{\"name\":\"n1\"}}", &o),
                     201);
    char nuid[64];
    snprintf(nuid, sizeof(nuid), "%s", jpath(o, "metadata.uid"));
    json_decref(o);
    json_t *rs = token_request(e, "sb",
                               "{\"spec\":{\"boundObjectRef\":{\"apiVersion\":\"v1\",\"kind\":"
                               "\"Secret\",\"name\":\"bound\"}}}",
                               &st);
    assert_int_equal(st, 201);
    json_t *rn = token_request(e, "sb",
                               "{\"spec\":{\"boundObjectRef\":{\"apiVersion\":\"v1\",\"kind\":"
                               "\"Node\",\"name\":\"n1\"}}}",
                               &st);
    assert_int_equal(st, 201);
    const char *ts = jpath(rs, "status.token"), *tn = jpath(rn, "status.token");
    struct authn_user u;
    assert_int_equal(api_authn_token(e->s, ts, strlen(ts), &u), 0);
    authn_user_release(&u);
    assert_int_equal(api_authn_token(e->s, tn, strlen(tn), &u), 0);
    assert_true(has_extra(&u, "authentication.kubernetes.io/node-name", "n1"));
    assert_true(has_extra(&u, "authentication.kubernetes.io/node-uid", nuid));
    authn_user_release(&u);
    assert_int_equal(req(e, "DELETE", "/api/v1/namespaces/default/secrets/bound", NULL, NULL, &o),
                     200);
    json_decref(o);
    assert_int_equal(api_authn_token(e->s, ts, strlen(ts), &u), -1);
    assert_int_equal(api_authn_token(e->s, tn, strlen(tn), &u), 0);
    authn_user_release(&u);
    assert_int_equal(req(e, "DELETE", "/api/v1/nodes/n1", NULL, NULL, &o), 200);
    json_decref(o);
    assert_int_equal(api_authn_token(e->s, tn, strlen(tn), &u), -1);
    json_decref(rs);
    json_decref(rn);
}

static void test_audiences_and_review(void **state)
{
    struct env *e = *state;
    int st;
    create_sa(e, "aud");
    json_t *r = token_request(e, "aud", "{\"spec\":{\"audiences\":[\"vault\"]}}", &st);
    assert_int_equal(st, 201);
    const char *tok = jpath(r, "status.token");
    struct authn_user u;
    assert_int_equal(api_authn_token(e->s, tok, strlen(tok), &u), -1); /* not the API's */
    /* TokenReview with the token's audience */
    json_t *body = json_pack("{s:s,s:s,s:{s:s,s:[s]}}", "apiVersion", "authentication.k8s.io/v1",
                             "kind", "TokenReview", "spec", "token", tok, "audiences", "vault");
    char *b = json_dumps(body, 0);
    json_t *o = NULL;
    assert_int_equal(req(e, "POST", "/apis/authentication.k8s.io/v1/tokenreviews", NULL, b, &o),
                     201);
    assert_true(json_is_true(json_object_get(json_object_get(o, "status"), "authenticated")));
    assert_string_equal(jpath(o, "status.user.username"), "system:serviceaccount:default:aud");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(o, "status"), "audiences"), 0)),
                        "vault");
    json_decref(o);
    free(b);
    json_decref(body);
    /* without audiences: the API's, which the token lacks */
    body = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "authentication.k8s.io/v1", "kind",
                     "TokenReview", "spec", "token", tok);
    b = json_dumps(body, 0);
    assert_int_equal(req(e, "POST", "/apis/authentication.k8s.io/v1/tokenreviews", NULL, b, &o),
                     201);
    assert_false(json_is_true(json_object_get(json_object_get(o, "status"), "authenticated")));
    assert_non_null(jpath(o, "status.error"));
    json_decref(o);
    free(b);
    json_decref(body);
    /* the static token file through TokenReview */
    assert_int_equal(req(e, "POST", "/apis/authentication.k8s.io/v1/tokenreviews", NULL,
                         "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\","
                         "\"spec\":{\"token\":\"s3cret\"}}",
                         &o),
                     201);
    assert_string_equal(jpath(o, "status.user.username"), "alice");
    assert_string_equal(jpath(o, "status.user.uid"), "1001");
    json_decref(o);
    /* no token: 400 */
    assert_int_equal(req(e, "POST", "/apis/authentication.k8s.io/v1/tokenreviews", NULL,
                         "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\","
                         "\"spec\":{}}",
                         &o),
                     400);
    json_decref(o);
    json_decref(r);
}

static void test_static_tokens(void **state)
{
    struct env *e = *state;
    struct authn_user u;
    assert_int_equal(api_authn_token(e->s, "s3cret", 6, &u), 0);
    assert_string_equal(u.name, "alice");
    assert_string_equal(u.groups[0], "devs");
    assert_string_equal(u.groups[1], "ops");
    assert_string_equal(u.groups[2], "system:authenticated");
    authn_user_release(&u);
    assert_int_equal(api_authn_token(e->s, "other", 5, &u), 0);
    assert_string_equal(u.name, "bob");
    assert_string_equal(u.groups[0], "system:authenticated");
    authn_user_release(&u);
    assert_int_equal(api_authn_token(e->s, "s3cre", 5, &u), -1);
    assert_int_equal(api_authn_token(e->s, "", 0, &u), -1);
}

static void test_tokenfile_parse(void **state)
{
    (void)state;
    struct authn_tokenfile *f = NULL;
    struct ck_err err = CK_ERR_INIT;
    const char *two = "a,b\n";
    assert_int_equal(authn_tokenfile_parse(two, strlen(two), "t.csv", &f, &err), -1);
    assert_string_equal(err.msg, "token file 't.csv' must have at least 3 columns (token, user "
                                 "name, user uid), found 2");
    const char *q = "\"to\"\"k\",u,1,\"g1,g2\"\r\nt2,u2,2\ndup,x,1\ndup,y,2\n";
    assert_int_equal(authn_tokenfile_parse(q, strlen(q), "t.csv", &f, &err), 0);
    assert_int_equal(authn_tokenfile_count(f), 3);
    struct authn_user u;
    assert_int_equal(authn_tokenfile_lookup(f, "to\"k", 4, &u), 0);
    assert_string_equal(u.groups[1], "g2");
    authn_user_release(&u);
    assert_int_equal(authn_tokenfile_lookup(f, "dup", 3, &u), 0);
    assert_string_equal(u.name, "y"); /* the last record wins */
    authn_user_release(&u);
    authn_tokenfile_free(f);
    const char *bare = "a\"b,u,1\n";
    assert_int_equal(authn_tokenfile_parse(bare, strlen(bare), "t.csv", &f, &err), -1);
    const char *open = "\"abc,u,1\n";
    assert_int_equal(authn_tokenfile_parse(open, strlen(open), "t.csv", &f, &err), -1);
}

static void test_oidc(void **state)
{
    struct env *e = *state;
    json_t *o = NULL;
    assert_int_equal(req(e, "GET", "/.well-known/openid-configuration", NULL, NULL, &o), 200);
    assert_string_equal(jpath(o, "issuer"), "https://kubernetes.default.svc.cluster.local");
    assert_string_equal(jpath(o, "jwks_uri"),
                        "https://kubernetes.default.svc.cluster.local/openid/v1/jwks");
    json_decref(o);
    assert_int_equal(req(e, "GET", "/openid/v1/jwks", NULL, NULL, &o), 200);
    assert_string_equal(e->ctype, "application/jwk-set+json");
    json_t *k = json_array_get(json_object_get(o, "keys"), 0);
    assert_string_equal(json_string_value(json_object_get(k, "kty")), "RSA");
    assert_string_equal(json_string_value(json_object_get(k, "alg")), "RS256");
    json_decref(o);
    assert_int_equal(req(e, "GET", "/openid/v1/other", NULL, NULL, &o), 404);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request_and_authenticate, tsetup, env_teardown),
        cmocka_unit_test_setup_teardown(test_validation, tsetup, env_teardown),
        cmocka_unit_test_setup_teardown(test_pod_bound, tsetup, env_teardown),
        cmocka_unit_test_setup_teardown(test_secret_and_node_bound, tsetup, env_teardown),
        cmocka_unit_test_setup_teardown(test_audiences_and_review, tsetup, env_teardown),
        cmocka_unit_test_setup_teardown(test_static_tokens, tsetup, env_teardown),
        cmocka_unit_test(test_tokenfile_parse),
        cmocka_unit_test_setup_teardown(test_oidc, tsetup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
