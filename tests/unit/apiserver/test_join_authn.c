/* SPDX-License-Identifier: Apache-2.0 */
/* Join authentication and authorization: bootstrap token parsing and checks (expiry, secret,
 * id, type, usage, extra groups), x509 user info (CN, O in order), upstream's request
 * attributes, what the bootstrap RBAC policy plus kubeadm's node-bootstrapper binding grant
 * bootstrap identities, and the Forbidden messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apiserver/authn/bootstrap.h"
#include "apiserver/authn/x509.h"
#include "apiserver/authz/authz.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static void test_split(void **st)
{
    (void)st;
    char id[7], sec[17];
    const char *ok = "abcdef.0123456789abcdef";
    assert_true(authn_bootstrap_token_split(ok, strlen(ok), id, sec));
    assert_string_equal(id, "abcdef");
    assert_string_equal(sec, "0123456789abcdef");
    const char *bad[] = {"abcdef0123456789abcdef",
                         "ABCDEF.0123456789abcdef",
                         "abcdef.0123456789abcde",
                         "abcdef.0123456789abcdefg",
                         "abcde.0123456789abcdefg",
                         "abcdef.0123456789abcde_",
                         ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(authn_bootstrap_token_split(bad[i], strlen(bad[i]), id, sec));
}

static void test_group_valid(void **st)
{
    (void)st;
    const char *good[] = {"system:bootstrappers:a",
                          "system:bootstrappers:kubeadm:default-node-token"};
    const char *bad[] = {"system:bootstrappers",   "system:bootstrappers:",   "system:masters",
                         "system:bootstrappers:A", "system:bootstrappers:a-", "x"};
    for (size_t i = 0; i < 2; i++)
        assert_true(authn_bootstrap_group_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(authn_bootstrap_group_valid(bad[i], strlen(bad[i])));
}

static char *b64(const char *s)
{
    static char out[8][256];
    static int n;
    char *o = out[n++ % 8];
    EVP_EncodeBlock((unsigned char *)o, (const unsigned char *)s, (int)strlen(s));
    return o;
}

/* A bootstrap Secret; NULL values are left out. */
static json_t *secret(const char *type, const char *id, const char *sec, const char *exp,
                      const char *usage, const char *groups)
{
    json_t *d = json_object();
    if (id)
        json_object_set_new(d, "token-id", json_string(b64(id)));
    if (sec)
        json_object_set_new(d, "token-secret", json_string(b64(sec)));
    if (exp)
        json_object_set_new(d, "expiration", json_string(b64(exp)));
    if (usage)
        json_object_set_new(d, "usage-bootstrap-authentication", json_string(b64(usage)));
    if (groups)
        json_object_set_new(d, "auth-extra-groups", json_string(b64(groups)));
    return json_pack("{s:s,s:{s:s,s:s},s:o}", "type", type, "metadata", "name",
                     "bootstrap-token-abcdef", "namespace", "kube-system", "data", d);
}

#define NOW 1800000000 /* 2027-01-15T08:00:00Z */
#define TYPE "bootstrap.kubernetes.io/token"

static int check(json_t *s, const char *sec, struct authn_user *u)
{
    char why[256];
    int rc = authn_bootstrap_check(s, "abcdef", sec, NOW, u, why, sizeof(why));
    json_decref(s);
    return rc;
}

static void test_check(void **st)
{
    (void)st;
    struct authn_user u;
    const char *S = "0123456789abcdef";

    assert_int_equal(check(secret(TYPE, "abcdef", S, "2027-01-15T09:00:00Z", "true",
                                  "system:bootstrappers:z,system:bootstrappers:a,"
                                  "system:bootstrappers:z"),
                           S, &u),
                     0);
    assert_string_equal(u.name, "system:bootstrap:abcdef");
    assert_string_equal(u.groups[0], "system:bootstrappers");
    assert_string_equal(u.groups[1], "system:bootstrappers:a");
    assert_string_equal(u.groups[2], "system:bootstrappers:z");
    assert_string_equal(u.groups[3], "system:authenticated");
    assert_null(u.groups[4]);
    authn_user_release(&u);
    /* no expiration: valid */
    assert_int_equal(check(secret(TYPE, "abcdef", S, NULL, "true", NULL), S, &u), 0);
    assert_string_equal(u.groups[0], "system:bootstrappers");
    assert_string_equal(u.groups[1], "system:authenticated");
    authn_user_release(&u);
    /* expired (at the second), unparseable, wrong secret, wrong id, type, usage, groups */
    assert_int_equal(check(secret(TYPE, "abcdef", S, "2027-01-15T08:00:00Z", "true", NULL), S, &u),
                     -1);
    assert_int_equal(check(secret(TYPE, "abcdef", S, "soon", "true", NULL), S, &u), -1);
    assert_int_equal(check(secret(TYPE, "abcdef", S, NULL, "true", NULL), "0123456789abcdee", &u),
                     -1);
    assert_int_equal(check(secret(TYPE, "abcdeg", S, NULL, "true", NULL), S, &u), -1);
    assert_int_equal(check(secret("Opaque", "abcdef", S, NULL, "true", NULL), S, &u), -1);
    assert_int_equal(check(secret(TYPE, "abcdef", S, NULL, "yes", NULL), S, &u), -1);
    assert_int_equal(check(secret(TYPE, "abcdef", S, NULL, NULL, NULL), S, &u), -1);
    assert_int_equal(check(secret(TYPE, "abcdef", S, NULL, "true", "system:masters"), S, &u), -1);
    assert_int_equal(check(secret(TYPE, "abcdef", NULL, NULL, "true", NULL), S, &u), -1);
    json_t *del = secret(TYPE, "abcdef", S, NULL, "true", NULL);
    json_object_set_new(json_object_get(del, "metadata"), "deletionTimestamp",
                        json_string("2027-01-15T07:00:00Z"));
    assert_int_equal(check(del, S, &u), -1);
    assert_null(u.name);
}

static X509 *cert_with(const char *const *rdn)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_get_subject_name(x);
    for (size_t i = 0; rdn[i]; i += 2)
        X509_NAME_add_entry_by_txt(n, rdn[i], MBSTRING_UTF8, (const unsigned char *)rdn[i + 1], -1,
                                   -1, 0);
    return x;
}

static void test_x509_user(void **st)
{
    (void)st;
    struct authn_user u;
    const char *a[] = {"O",  "system:nodes",   "CN", "first", "O", "extra",
                       "CN", "system:node:n1", NULL};
    X509 *x = cert_with(a);
    assert_int_equal(authn_x509_user(x, &u), 0);
    assert_string_equal(u.name, "system:node:n1"); /* Go keeps the last CN */
    assert_string_equal(u.groups[0], "system:nodes");
    assert_string_equal(u.groups[1], "extra");
    assert_string_equal(u.groups[2], "system:authenticated");
    assert_null(u.groups[3]);
    authn_user_release(&u);
    X509_free(x);
    const char *b[] = {"O", "system:masters", NULL};
    x = cert_with(b);
    assert_int_equal(authn_x509_user(x, &u), -1);
    X509_free(x);
    const char *c[] = {"CN", "alice", "O", "system:authenticated", NULL};
    x = cert_with(c);
    assert_int_equal(authn_x509_user(x, &u), 0);
    assert_string_equal(u.groups[0], "system:authenticated");
    assert_null(u.groups[1]);
    authn_user_release(&u);
    X509_free(x);
}

struct ri_case {
    const char *method, *path, *query;
    bool res;
    const char *verb, *group, *resource, *sub, *ns, *name;
};

static void test_requestinfo(void **st)
{
    (void)st;
    static const struct ri_case cs[] = {
        {"GET", "/api/v1/pods", NULL, true, "list", "", "pods", "", "", ""},
        {"GET", "/api/v1/pods", "watch=true", true, "watch", "", "pods", "", "", ""},
        {"GET", "/api/v1/watch/namespaces/ns/pods/p", NULL, true, "watch", "", "pods", "", "ns",
         "p"},
        {"GET", "/api/v1/namespaces/ns/pods/p/log", NULL, true, "get", "", "pods", "log", "ns",
         "p"},
        {"POST", "/api/v1/namespaces/ns/pods", NULL, true, "create", "", "pods", "", "ns", ""},
        {"DELETE", "/api/v1/namespaces/ns/pods", NULL, true, "deletecollection", "", "pods", "",
         "ns", ""},
        {"GET", "/api/v1/namespaces/ns", NULL, true, "get", "", "namespaces", "", "ns", "ns"},
        {"PUT", "/api/v1/namespaces/ns/finalize", NULL, true, "update", "", "namespaces",
         "finalize", "ns", "ns"},
        {"PATCH", "/apis/apps/v1/namespaces/ns/deployments/d/scale", NULL, true, "patch", "apps",
         "deployments", "scale", "ns", "d"},
        {"GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests",
         "fieldSelector=metadata.name%3Dx&watch=1", true, "watch", "certificates.k8s.io",
         "certificatesigningrequests", "", "", "x"},
        {"GET", "/api/v1/namespaces/ns/pods/p/proxy/a/b", NULL, true, "get", "", "pods", "proxy",
         "ns", "p"},
        {"GET", "/api/v1/proxy/namespaces/ns/pods/p/a", NULL, true, "proxy", "", "pods", "", "ns",
         "p"},
        {"GET", "/apis/apps", NULL, false, "get", "", "", "", "", ""},
        {"GET", "/api/v1", NULL, false, "get", "", "", "", "", ""},
        {"GET", "/healthz", NULL, false, "get", "", "", "", "", ""},
        {"HEAD", "/version", NULL, false, "head", "", "", "", "", ""},
    };
    for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
        struct authz_attrs a;
        authz_attrs_from_request(cs[i].method, cs[i].path, cs[i].query, &a);
        if (a.resource_request != cs[i].res || strcmp(a.verb, cs[i].verb) ||
            strcmp(a.group, cs[i].group) || strcmp(a.resource, cs[i].resource) ||
            strcmp(a.subresource, cs[i].sub) || strcmp(a.ns, cs[i].ns) ||
            strcmp(a.name, cs[i].name))
            fail_msg("%s %s?%s: got res=%d verb=%s group=%s resource=%s sub=%s ns=%s name=%s",
                     cs[i].method, cs[i].path, cs[i].query ? cs[i].query : "", a.resource_request,
                     a.verb, a.group, a.resource, a.subresource, a.ns, a.name);
        authz_attrs_release(&a);
    }
}

/* The bootstrap policy plus kubeadm's kubelet-bootstrap binding, as an rbac_store. */
static json_t *policy;

static void pol_bindings(void *arg, const char *ns, bool (*fn)(void *, const json_t *), void *ctx)
{
    (void)arg;
    size_t i;
    json_t *o;
    if (ns)
        return;
    json_array_foreach(policy, i, o)
    {
        if (!strcmp(json_string_value(json_object_get(o, "kind")), "ClusterRoleBinding") &&
            fn(ctx, o))
            return;
    }
}

static json_t *pol_role(void *arg, const char *ns, const char *name)
{
    (void)arg;
    size_t i;
    json_t *o;
    if (ns)
        return NULL;
    json_array_foreach(policy, i, o)
    {
        if (!strcmp(json_string_value(json_object_get(o, "kind")), "ClusterRole") &&
            !strcmp(json_string_value(json_object_get(json_object_get(o, "metadata"), "name")),
                    name))
            return json_incref(o);
    }
    return NULL;
}

static bool allows(const char *user, const char *const *groups, const char *method,
                   const char *path, const char *query, char *msg, size_t n)
{
    struct authz_attrs a;
    struct rbac_store st = {NULL, pol_bindings, pol_role};
    char reason[512];
    authz_attrs_from_request(method, path, query, &a);
    struct rbac_attrs r = authz_rbac_attrs(&a, user, groups);
    bool ok = rbac_authorize(&st, &r, reason, sizeof(reason)) == RBAC_ALLOW;
    if (!ok && msg) {
        struct ck_err err = CK_ERR_INIT;
        authz_forbidden(&r, reason, &err);
        assert_int_equal(err.reason, CK_R_FORBIDDEN);
        snprintf(msg, n, "%s", err.msg);
    }
    authz_attrs_release(&a);
    return ok;
}

static void test_bootstrap_policy(void **st)
{
    (void)st;
    const char *boot[] = {"system:bootstrappers", "system:authenticated", NULL};
    const char *u = "system:bootstrap:abcdef";
    const char *csr = "/apis/certificates.k8s.io/v1/certificatesigningrequests";
    char m[1024];

    policy = rbac_bootstrap_policy();
    assert_non_null(policy);
    json_array_append_new(
        policy,
        json_pack("{s:s,s:{s:s},s:{s:s,s:s,s:s},s:[{s:s,s:s,s:s}]}", "kind", "ClusterRoleBinding",
                  "metadata", "name", "kubeadm:kubelet-bootstrap", "roleRef", "apiGroup",
                  "rbac.authorization.k8s.io", "kind", "ClusterRole", "name",
                  "system:node-bootstrapper", "subjects", "apiGroup", "rbac.authorization.k8s.io",
                  "kind", "Group", "name", "system:bootstrappers"));
    assert_true(allows(u, boot, "POST", csr, NULL, NULL, 0));
    assert_true(allows(u, boot, "GET", csr, "watch=true", NULL, 0));
    assert_true(allows(u, boot, "GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests/x",
                       NULL, NULL, 0));
    assert_true(allows(u, boot, "GET", "/version", NULL, NULL, 0));
    assert_true(allows(u, boot, "GET", "/apis", NULL, NULL, 0));
    assert_true(allows(u, boot, "GET", "/api/v1", NULL, NULL, 0));
    assert_true(allows(u, boot, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", NULL,
                       NULL, 0));
    assert_false(allows(u, boot, "GET", "/api/v1/pods", NULL, m, sizeof(m)));
    assert_string_equal(m,
                        "pods is forbidden: User \"system:bootstrap:abcdef\" cannot list resource "
                        "\"pods\" in API group \"\" at the cluster scope");
    assert_false(allows(u, boot, "PUT",
                        "/apis/certificates.k8s.io/v1/certificatesigningrequests/x/approval", NULL,
                        m, sizeof(m)));
    assert_string_equal(m,
                        "certificatesigningrequests.certificates.k8s.io \"x\" is forbidden: User "
                        "\"system:bootstrap:abcdef\" cannot update resource "
                        "\"certificatesigningrequests/approval\" in API group "
                        "\"certificates.k8s.io\" at the cluster scope");
    assert_false(allows(u, boot, "DELETE", csr, NULL, NULL, 0));
    assert_false(allows(u, boot, "GET", "/metrics", NULL, m, sizeof(m)));
    assert_string_equal(m,
                        "forbidden: User \"system:bootstrap:abcdef\" cannot get path \"/metrics\"");
    assert_false(allows(u, boot, "POST", "/version", NULL, NULL, 0));
    /* anonymous: only the public info endpoints */
    const char *anon[] = {"system:unauthenticated", NULL};
    assert_true(allows("system:anonymous", anon, "GET", "/version", NULL, NULL, 0));
    assert_true(allows("system:anonymous", anon, "GET", "/healthz", NULL, NULL, 0));
    assert_false(allows("system:anonymous", anon, "GET", "/api", NULL, NULL, 0));
    assert_false(allows("system:anonymous", anon, "GET", "/api/v1/namespaces", NULL, NULL, 0));
    /* system:masters holds cluster-admin */
    const char *master_boot[] = {"system:bootstrappers", "system:masters", NULL};
    assert_true(allows(u, master_boot, "GET", "/api/v1/pods", NULL, NULL, 0));
    json_decref(policy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),       cmocka_unit_test(test_group_valid),
        cmocka_unit_test(test_check),       cmocka_unit_test(test_x509_user),
        cmocka_unit_test(test_requestinfo), cmocka_unit_test(test_bootstrap_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
