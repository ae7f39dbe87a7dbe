/* SPDX-License-Identifier: Apache-2.0 */
/* Service-account tokens (authn/satoken.c): a bound token round-trips with its claims; the
 * key file is created once and reused (same kid); wrong audiences, expiry, another key, a
 * tampered payload, an "alg: none" token and garbage are rejected; the JWKS carries the key
 * with its kid and the discovery document names the issuer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apiserver/authn/satoken.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ISS "https://kubernetes.default.svc.cluster.local"
#define NOW 1767226200

static char dir[64];
static struct sa_signer *S;

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_satoken.XXXXXX");
    assert_non_null(mkdtemp(dir));
    char key[128];
    snprintf(key, sizeof(key), "%s/sa.key", dir);
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(sa_signer_load(key, ISS, &S, &err), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sa_signer_free(S);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static char *issue(const char *const *aud, int64_t iat, int64_t exp)
{
    struct sa_claims c = {.ns = "default",
                          .sa_name = "builder",
                          .sa_uid = "u-sa",
                          .pod_name = "p",
                          .pod_uid = "u-pod",
                          .node_name = "n1",
                          .node_uid = "u-node",
                          .audiences = aud,
                          .iat = iat,
                          .exp = exp};
    struct ck_err err = CK_ERR_INIT;
    char *t = sa_token_issue(S, &c, &err);
    assert_non_null(t);
    return t;
}

static void test_round_trip(void **state)
{
    (void)state;
    char *t = issue(NULL, NOW, NOW + 3600);
    struct sa_verified v;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(sa_token_verify(S, t, NULL, NOW + 10, &v, &err), 0);
    assert_string_equal(v.ns, "default");
    assert_string_equal(v.sa_name, "builder");
    assert_string_equal(v.sa_uid, "u-sa");
    assert_string_equal(v.pod_name, "p");
    assert_string_equal(v.pod_uid, "u-pod");
    assert_string_equal(v.node_name, "n1");
    assert_null(v.secret_name);
    assert_string_equal(v.audiences[0], ISS);
    assert_null(v.audiences[1]);
    assert_int_equal(v.exp, NOW + 3600);
    assert_int_equal(strlen(v.jti), 36);
    sa_verified_release(&v);
    /* expired, and not valid yet beyond the skew */
    assert_int_equal(sa_token_verify(S, t, NULL, NOW + 3600, &v, &err), -1);
    assert_int_equal(err.reason, CK_R_UNAUTHORIZED);
    ck_err_clear(&err);
    assert_int_equal(sa_token_verify(S, t, NULL, NOW - 120, &v, &err), -1);
    ck_err_clear(&err);
    /* a tampered payload: flip one character of the middle part */
    char *dot = strchr(t, '.');
    dot[5] = dot[5] == 'A' ? 'B' : 'A';
    assert_int_equal(sa_token_verify(S, t, NULL, NOW, &v, &err), -1);
    ck_err_clear(&err);
    free(t);
    assert_int_equal(sa_token_verify(S, "not.a.token", NULL, NOW, &v, &err), -1);
    ck_err_clear(&err);
    assert_int_equal(sa_token_verify(S, "", NULL, NOW, &v, &err), -1);
    ck_err_clear(&err);
    /* alg none, claims that would otherwise pass */
    const char *none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
                       "eyJpc3MiOiJodHRwczovL2t1YmVybmV0ZXMuZGVmYXVsdC5zdmMuY2x1c3Rlci5sb2NhbCJ9.";
    assert_int_equal(sa_token_verify(S, none, NULL, NOW, &v, &err), -1);
    ck_err_clear(&err);
}

static void test_audiences(void **state)
{
    (void)state;
    const char *const aud[] = {"vault", "api", NULL};
    char *t = issue(aud, NOW, NOW + 600);
    struct sa_verified v;
    struct ck_err err = CK_ERR_INIT;
    /* the API server accepts only its issuer by default */
    assert_int_equal(sa_token_verify(S, t, NULL, NOW, &v, &err), -1);
    ck_err_clear(&err);
    const char *const accept[] = {"api", NULL};
    assert_int_equal(sa_token_verify(S, t, accept, NOW, &v, &err), 0);
    assert_string_equal(v.audiences[0], "api");
    sa_verified_release(&v);
    free(t);
}

static void test_key_reuse_and_other_key(void **state)
{
    (void)state;
    char key[128], other[128];
    snprintf(key, sizeof(key), "%s/sa.key", dir);
    snprintf(other, sizeof(other), "%s/other.key", dir);
    struct ck_err err = CK_ERR_INIT;
    struct sa_signer *again = NULL, *o = NULL;
    assert_int_equal(sa_signer_load(key, ISS, &again, &err), 0);
    assert_string_equal(sa_signer_kid(again), sa_signer_kid(S));
    assert_int_equal(sa_signer_load(other, ISS, &o, &err), 0);
    assert_string_not_equal(sa_signer_kid(o), sa_signer_kid(S));
    char *t = issue(NULL, NOW, NOW + 60);
    struct sa_verified v;
    assert_int_equal(sa_token_verify(again, t, NULL, NOW, &v, &err), 0);
    sa_verified_release(&v);
    assert_int_equal(sa_token_verify(o, t, NULL, NOW, &v, &err), -1);
    ck_err_clear(&err);
    free(t);
    sa_signer_free(again);
    sa_signer_free(o);
    /* not a key at all */
    char bad[128];
    snprintf(bad, sizeof(bad), "%s/bad.key", dir);
    FILE *f = fopen(bad, "w");
    fputs("hello\n", f);
    fclose(f);
    assert_int_equal(sa_signer_load(bad, ISS, &o, &err), -1);
    ck_err_clear(&err);
}

static void test_discovery(void **state)
{
    (void)state;
    char *j = sa_jwks(S);
    assert_non_null(j);
    json_t *doc = json_loads(j, 0, NULL);
    json_t *k = json_array_get(json_object_get(doc, "keys"), 0);
    assert_string_equal(json_string_value(json_object_get(k, "kty")), "RSA");
    assert_string_equal(json_string_value(json_object_get(k, "kid")), sa_signer_kid(S));
    assert_string_equal(json_string_value(json_object_get(k, "alg")), "RS256");
    assert_null(json_object_get(k, "d")); /* public only */
    json_decref(doc);
    free(j);
    char *c = sa_openid_configuration(S, ISS "/openid/v1/jwks");
    doc = json_loads(c, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(doc, "issuer")), ISS);
    json_decref(doc);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_audiences),
        cmocka_unit_test(test_key_reuse_and_other_key),
        cmocka_unit_test(test_discovery),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
