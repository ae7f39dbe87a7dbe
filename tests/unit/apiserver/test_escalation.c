/* SPDX-License-Identifier: Apache-2.0 */
/* RBAC escalation prevention's rule coverage (upstream's Covers/BreakdownRule/ruleCovers) and
 * the compact rule text of its Forbidden message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apiserver/authz/rbac.h"
#include "lib/buf.h"

#include <string.h>

static json_t *J(const char *s)
{
    json_t *v = json_loads(s, 0, NULL);
    assert_non_null(v);
    return v;
}

static size_t missing(const char *owner, const char *rules)
{
    json_t *o = J(owner), *r = J(rules);
    json_t *m = rbac_uncovered(o, r);
    size_t n = json_array_size(m);
    json_decref(m);
    json_decref(o);
    json_decref(r);
    return n;
}

static void test_covers(void **st)
{
    (void)st;
    const char *pods_rw = "[{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],\"verbs\":[\"get\","
                          "\"list\",\"create\"]}]";
    assert_int_equal(missing(pods_rw, "[{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],"
                                      "\"verbs\":[\"get\",\"create\"]}]"),
                     0);
    /* one atom per group x resource x verb: delete and secrets/get are missing */
    assert_int_equal(missing(pods_rw, "[{\"apiGroups\":[\"\"],\"resources\":[\"pods\","
                                      "\"secrets\"],\"verbs\":[\"get\",\"delete\"]}]"),
                     3);
    /* wildcards */
    assert_int_equal(
        missing("[{\"apiGroups\":[\"*\"],\"resources\":[\"*\"],\"verbs\":[\"*\"]}]",
                "[{\"apiGroups\":[\"apps\"],\"resources\":[\"deployments/scale\"],"
                "\"verbs\":[\"patch\"],\"resourceNames\":[\"a\",\"b\"]}]"),
        0);
    /* the wildcard resource with a subresource ("*" then "/status") covers any resource's status,
     * not the resource itself */
    const char *any_status = "[{\"apiGroups\":[\"\"],\"resources\":[\"*/status\"],\"verbs\":"
                             "[\"update\"]}]";
    assert_int_equal(missing(any_status, "[{\"apiGroups\":[\"\"],\"resources\":[\"pods/status\"],"
                                         "\"verbs\":[\"update\"]}]"),
                     0);
    assert_int_equal(missing(any_status, "[{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],"
                                         "\"verbs\":[\"update\"]}]"),
                     1);
    /* resourceNames: an owner limited to names covers only those names */
    const char *named = "[{\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"],\"verbs\":[\"get\"],"
                        "\"resourceNames\":[\"a\"]}]";
    assert_int_equal(missing(named, "[{\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"],"
                                    "\"verbs\":[\"get\"],\"resourceNames\":[\"a\"]}]"),
                     0);
    assert_int_equal(missing(named, "[{\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"],"
                                    "\"verbs\":[\"get\"]}]"),
                     1);
    /* non-resource URLs: exact or a trailing-* prefix */
    const char *urls = "[{\"nonResourceURLs\":[\"/healthz\",\"/api/*\"],\"verbs\":[\"get\"]}]";
    assert_int_equal(missing(urls, "[{\"nonResourceURLs\":[\"/healthz\",\"/api/v1\"],\"verbs\":"
                                   "[\"get\"]}]"),
                     0);
    assert_int_equal(missing(urls, "[{\"nonResourceURLs\":[\"/metrics\"],\"verbs\":[\"get\"]}]"),
                     1);
}

static void test_compact(void **st)
{
    (void)st;
    json_t *r = J("{\"apiGroups\":[\"\"],\"resources\":[\"nodes\"],\"verbs\":[\"get\"]}");
    struct ck_buf b = CK_BUF_INIT(4096);
    rbac_compact_string(r, &b);
    ck_buf_appendc(&b, 0);
    assert_string_equal(b.data, "{APIGroups:[\"\"], Resources:[\"nodes\"], Verbs:[\"get\"]}");
    ck_buf_release(&b);
    json_decref(r);
    r = J("{\"nonResourceURLs\":[\"/a\",\"/b\"],\"verbs\":[\"get\",\"post\"]}");
    b = (struct ck_buf)CK_BUF_INIT(4096);
    rbac_compact_string(r, &b);
    ck_buf_appendc(&b, 0);
    assert_string_equal(b.data, "{NonResourceURLs:[\"/a\" \"/b\"], Verbs:[\"get\" \"post\"]}");
    ck_buf_release(&b);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_covers),
                                       cmocka_unit_test(test_compact)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
