/* SPDX-License-Identifier: Apache-2.0 */
/* Pure parts of the front-end fixes: impersonation headers -> user (authn/impersonate.c, as
 * upstream's WithImpersonation), the proxy path and id parsing and the address policy
 * (http_proxy*.c, as upstream's ResourceLocation helpers). */
#include "apiserver/authn/impersonate.h"
#include "apiserver/http/http_proxy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define H(n, v)                                                                                    \
    {                                                                                              \
        n, sizeof(n) - 1, v, sizeof(v) - 1                                                         \
    }

static char *const admin_groups[] = {"system:masters", "system:authenticated", NULL};
static char *const bob_groups[] = {"system:authenticated", NULL};

static void groups_are(const struct authn_user *u, const char *const *want)
{
    size_t i = 0;
    for (; want[i]; i++) {
        assert_non_null(u->groups[i]);
        assert_string_equal(u->groups[i], want[i]);
    }
    assert_null(u->groups[i]);
}

static int imp(const struct authn_header *h, size_t nh, const struct authn_user *who,
               struct authn_user *out, struct ck_err *err)
{
    struct authn_imp r;
    char msg[1024];
    int rc;

    assert_int_equal(authn_impersonation_parse(h, nh, &r, msg, sizeof(msg)), 0);
    assert_true(r.n > 0);
    rc = authn_impersonate(who, &r, NULL, NULL, out, err);
    authn_imp_release(&r);
    return rc;
}

static void test_user_and_groups(void **state)
{
    struct authn_header h[] = {
        H("impersonate-user", "jane"),      H("accept", "x"),
        H("Impersonate-Group", "devs"),     H("impersonate-group", "ops"),
        H("Impersonate-Uid", "u-1"),        H("Impersonate-Extra-Scopes", "a"),
        H("impersonate-extra-scopes", "b"), H("impersonate-extra-ex%2Fk", "v")};
    struct authn_user admin = {.name = "system:admin", .groups = (char **)admin_groups}, out;
    struct ck_err err = CK_ERR_INIT;
    static const char *const want[] = {"devs", "ops", "system:authenticated", NULL};

    (void)state;
    assert_int_equal(imp(h, 8, &admin, &out, &err), 0);
    assert_string_equal(out.name, "jane");
    assert_string_equal(out.uid, "u-1");
    groups_are(&out, want);
    assert_int_equal(out.nextra, 3);
    assert_string_equal(out.extra_keys[0], "scopes");
    assert_string_equal(out.extra_vals[1], "b");
    assert_string_equal(out.extra_keys[2], "ex/k"); /* lower-cased, then percent-decoded */
    authn_user_release(&out);
}

static void test_service_account_and_anonymous(void **state)
{
    struct authn_header sa[] = {H("Impersonate-User", "system:serviceaccount:kube-system:sa1")};
    struct authn_header sag[] = {H("Impersonate-User", "system:serviceaccount:ns:sa1"),
                                 H("Impersonate-Group", "g")};
    struct authn_header bad[] = {H("Impersonate-User", "system:serviceaccount:Bad:sa1")};
    struct authn_header anon[] = {H("Impersonate-User", "system:anonymous")};
    struct authn_header unauth[] = {H("Impersonate-User", "x"),
                                    H("Impersonate-Group", "system:unauthenticated")};
    struct authn_user admin = {.name = "system:admin", .groups = (char **)admin_groups}, out;
    struct ck_err err = CK_ERR_INIT;
    static const char *const w_sa[] = {"system:serviceaccounts",
                                       "system:serviceaccounts:kube-system", "system:authenticated",
                                       NULL};
    static const char *const w_sag[] = {"g", "system:authenticated", NULL};
    static const char *const w_plain[] = {"system:authenticated", NULL};
    static const char *const w_anon[] = {"system:unauthenticated", NULL};

    (void)state;
    assert_int_equal(imp(sa, 1, &admin, &out, &err), 0);
    assert_string_equal(out.name, "system:serviceaccount:kube-system:sa1");
    groups_are(&out, w_sa);
    authn_user_release(&out);
    assert_int_equal(imp(sag, 2, &admin, &out, &err), 0); /* given groups replace SA groups */
    groups_are(&out, w_sag);
    authn_user_release(&out);
    assert_int_equal(imp(bad, 1, &admin, &out, &err), 0); /* not a valid SA name: a user */
    assert_string_equal(out.name, "system:serviceaccount:Bad:sa1");
    groups_are(&out, w_plain);
    authn_user_release(&out);
    assert_int_equal(imp(anon, 1, &admin, &out, &err), 0);
    groups_are(&out, w_anon);
    authn_user_release(&out);
    assert_int_equal(imp(unauth, 2, &admin, &out, &err), 0);
    groups_are(&out, w_anon);
    authn_user_release(&out);
}

static void test_without_user_and_none(void **state)
{
    struct authn_header g[] = {H("Impersonate-Group", "devs"), H("Impersonate-Uid", "u")};
    struct authn_header none[] = {H("Authorization", "Bearer x"), H("Impersonate-User", "")};
    struct authn_imp r;
    char msg[1024];

    (void)state;
    assert_int_equal(authn_impersonation_parse(g, 2, &r, msg, sizeof(msg)), -1);
    assert_string_equal(msg, "requested [{Group  devs    } {UID  u  authentication.k8s.io/v1  }] "
                             "without impersonating a user");
    assert_int_equal(authn_impersonation_parse(none, 2, &r, msg, sizeof(msg)), 0);
    assert_int_equal(r.n, 0);
}

static bool deny_groups(void *arg, const struct authn_user *who, const struct authn_imp_req *what,
                        char *reason, size_t len)
{
    (void)arg;
    (void)who;
    snprintf(reason, len, "%s", what->kind == AUTHN_IMP_GROUP ? "no groups for you" : "");
    return what->kind != AUTHN_IMP_GROUP;
}

static void test_forbidden(void **state)
{
    struct authn_header h[] = {H("Impersonate-User", "jane")};
    struct authn_header sa[] = {H("Impersonate-User", "system:serviceaccount:ns1:sa1")};
    struct authn_header ex[] = {H("Impersonate-User", "jane"), H("Impersonate-Extra-Scopes", "s")};
    struct authn_header g[] = {H("Impersonate-User", "jane"), H("Impersonate-Group", "devs")};
    struct authn_user bob = {.name = "bob", .groups = (char **)bob_groups}, out;
    struct authn_user admin = {.name = "system:admin", .groups = (char **)admin_groups};
    struct ck_err err = CK_ERR_INIT;
    struct authn_imp r;
    char msg[256];

    (void)state;
    /* today's hook: only system:masters may impersonate */
    assert_int_equal(imp(h, 1, &bob, &out, &err), -1);
    assert_int_equal(err.reason, CK_R_FORBIDDEN);
    assert_string_equal(err.msg, "users \"jane\" is forbidden: User \"bob\" cannot impersonate "
                                 "resource \"users\" in API group \"\" at the cluster scope");
    assert_string_equal(err.kind, "users");
    assert_string_equal(err.name, "jane");
    assert_int_equal(imp(sa, 1, &bob, &out, &err), -1);
    assert_string_equal(err.msg, "serviceaccounts \"sa1\" is forbidden: User \"bob\" cannot "
                                 "impersonate resource \"serviceaccounts\" in API group \"\" in "
                                 "the namespace \"ns1\"");
    assert_int_equal(imp(ex, 2, &bob, &out, &err), -1); /* the user is refused first */
    assert_string_equal(err.name, "jane");
    /* a plugged-in decision, with its reason */
    assert_int_equal(authn_impersonation_parse(g, 2, &r, msg, sizeof(msg)), 0);
    assert_int_equal(authn_impersonate(&admin, &r, deny_groups, NULL, &out, &err), -1);
    authn_imp_release(&r);
    assert_string_equal(err.msg, "groups \"devs\" is forbidden: User \"system:admin\" cannot "
                                 "impersonate resource \"groups\" in API group \"\" at the "
                                 "cluster scope: no groups for you");
    assert_int_equal(authn_impersonation_parse(ex, 2, &r, msg, sizeof(msg)), 0);
    assert_int_equal(authn_impersonate(&bob, &r, deny_groups, NULL, &out, &err), 0);
    authn_imp_release(&r);
    authn_user_release(&out);
}

static void test_proxy_paths(void **state)
{
    struct http_proxy px;

    (void)state;
    memset(&px, 0, sizeof(px));
    assert_true(
        http_proxy_parse_path("/api/v1/namespaces/ns/services/https:web:8443/proxy/a/b/", &px));
    assert_int_equal(px.kind, HTTP_PROXY_SERVICE);
    assert_string_equal(px.ns, "ns");
    assert_string_equal(px.id, "https:web:8443");
    assert_string_equal(px.tail, "/a/b/");
    assert_string_equal(px.prefix, "/api/v1/namespaces/ns/services/https:web:8443/proxy");
    free(px.ns), free(px.id), free(px.tail), free(px.prefix);
    memset(&px, 0, sizeof(px));
    assert_true(http_proxy_parse_path("/api/v1/nodes/n1/proxy", &px));
    assert_int_equal(px.kind, HTTP_PROXY_NODE);
    assert_null(px.ns);
    assert_string_equal(px.tail, "");
    free(px.id), free(px.tail), free(px.prefix);
    assert_true(http_proxy_match("/api/v1/namespaces/ns/pods/p/proxy/"));
    assert_false(http_proxy_match("/api/v1/namespaces/ns/pods/p/proxyx"));
    assert_false(http_proxy_match("/api/v1/namespaces/ns/pods/p/log"));
    assert_false(http_proxy_match("/api/v1/namespaces/ns/configmaps/p/proxy"));
    assert_false(http_proxy_match("/api/v1/namespaces/ns/pods//proxy"));
    assert_false(http_proxy_match("/apis/v1/nodes/n/proxy"));
}

static void test_split_id(void **state)
{
    char s[8], n[64], p[16];

    (void)state;
    assert_true(http_proxy_split_id("web", s, sizeof(s), n, sizeof(n), p, sizeof(p)));
    assert_string_equal(n, "web");
    assert_string_equal(p, "");
    assert_true(http_proxy_split_id("web:http", s, sizeof(s), n, sizeof(n), p, sizeof(p)));
    assert_string_equal(p, "http");
    assert_true(http_proxy_split_id("https:web:443", s, sizeof(s), n, sizeof(n), p, sizeof(p)));
    assert_string_equal(s, "https");
    assert_string_equal(n, "web");
    assert_true(http_proxy_split_id(":web:80", s, sizeof(s), n, sizeof(n), p, sizeof(p)));
    assert_false(http_proxy_split_id("ftp:web:80", s, sizeof(s), n, sizeof(n), p, sizeof(p)));
    assert_false(http_proxy_split_id("a:b:c:d", s, sizeof(s), n, sizeof(n), p, sizeof(p)));
    assert_false(http_proxy_split_id(":80", s, sizeof(s), n, sizeof(n), p, sizeof(p)));
}

static void test_ip_policy(void **state)
{
    (void)state;
    assert_true(http_proxy_ip_allowed("10.1.2.3", false));
    assert_true(http_proxy_ip_allowed("2001:db8::1", false));
    assert_false(http_proxy_ip_allowed("127.0.0.1", false));
    assert_true(http_proxy_ip_allowed("127.0.0.1", true));
    assert_false(http_proxy_ip_allowed("::1", false));
    assert_false(http_proxy_ip_allowed("169.254.169.254", true)); /* cloud metadata */
    assert_false(http_proxy_ip_allowed("fe80::1", true));
    assert_false(http_proxy_ip_allowed("0.0.0.0", true));
    assert_false(http_proxy_ip_allowed("224.0.0.1", true));
    assert_false(http_proxy_ip_allowed("255.255.255.255", true));
    assert_false(http_proxy_ip_allowed("localhost", true));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_and_groups),
        cmocka_unit_test(test_service_account_and_anonymous),
        cmocka_unit_test(test_without_user_and_none),
        cmocka_unit_test(test_forbidden),
        cmocka_unit_test(test_proxy_paths),
        cmocka_unit_test(test_split_id),
        cmocka_unit_test(test_ip_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
