/* SPDX-License-Identifier: Apache-2.0 */
/* host-gw routes: which routes the Nodes ask for (self and nodes without a podCIDR or an
 * InternalIP skipped, bad input skipped, CIDRs canonical, one route per destination) and the
 * diff against the routes in the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "agent/routes.h"

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, 0, &e);
    if (!v)
        fail_msg("bad JSON in test: %s (%s)", s, e.text);
    return v;
}

#define NODE(name, cidr, ip)                                                                       \
    "{\"metadata\":{\"name\":\"" name "\"},\"spec\":{\"podCIDR\":\"" cidr "\"},"                   \
    "\"status\":{\"addresses\":[{\"type\":\"Hostname\",\"address\":\"" name "\"},"                 \
    "{\"type\":\"InternalIP\",\"address\":\"" ip "\"}]}}"

static void test_wanted(void **state)
{
    (void)state;
    json_t *nodes = J(
        "[" NODE("c", "10.244.2.0/24", "10.0.0.3") "," NODE("a", "10.244.0.0/24", "10.0.0.1") "," NODE("b", "10.244.1.0/24", "10.0.0.2") "," NODE(
            "d", "",
            "10.0.0.4") "," NODE("e", "10.244.4.0/24",
                                 "") "," NODE("f", "10.244.5.7/24",
                                              "10.0.0.6") "," NODE("g", "garbage",
                                                                   "10.0.0.7") "," NODE("h",
                                                                                        "10.244.8."
                                                                                        "0/24",
                                                                                        "not-an-ip") "," NODE("i",
                                                                                                              "fd00::/64",
                                                                                                              "10.0.0.9") "," NODE("j",
                                                                                                                                   "10.244.1.0/24",
                                                                                                                                   "10.0.0.10") "]");
    struct ag_route *r = NULL;
    size_t n = ag_routes_wanted(nodes, "a", "10.0.0.1", &r);
    assert_int_equal(n, 3);
    /* by node name: b, c, f (f's CIDR made canonical); j loses 10.244.1.0/24 to b */
    assert_string_equal(r[0].dst, "10.244.1.0/24");
    assert_string_equal(r[0].gw, "10.0.0.2");
    assert_string_equal(r[1].dst, "10.244.2.0/24");
    assert_string_equal(r[1].gw, "10.0.0.3");
    assert_string_equal(r[2].dst, "10.244.5.0/24");
    assert_string_equal(r[2].gw, "10.0.0.6");
    free(r);
    /* a node with our address is skipped too (a renamed self) */
    n = ag_routes_wanted(nodes, "zz", "10.0.0.2", &r);
    for (size_t i = 0; i < n; i++)
        assert_string_not_equal(r[i].gw, "10.0.0.2");
    assert_int_equal(n, 4); /* a, c, f, j */
    free(r);
    json_decref(nodes);
    /* nothing: no nodes, not an array */
    json_t *empty = J("[]");
    assert_int_equal(ag_routes_wanted(empty, "a", NULL, &r), 0);
    free(r);
    json_decref(empty);
    json_t *obj = J("{}");
    assert_int_equal(ag_routes_wanted(obj, "a", NULL, &r), 0);
    free(r);
    json_decref(obj);
}

static void test_diff(void **state)
{
    (void)state;
    struct ag_route have[] = {{"10.244.1.0/24", "10.0.0.2"},
                              {"10.244.2.0/24", "10.0.0.3"},
                              {"10.244.3.0/24", "10.0.0.4"}};
    struct ag_route want[] = {{"10.244.1.0/24", "10.0.0.2"},
                              {"10.244.2.0/24", "10.0.0.33"}, /* the node's IP changed */
                              {"10.244.5.0/24", "10.0.0.6"}};
    struct ag_route *add, *del;
    size_t nadd, ndel;
    ag_routes_diff(have, 3, want, 3, &add, &nadd, &del, &ndel);
    assert_int_equal(nadd, 2);
    assert_string_equal(add[0].dst, "10.244.2.0/24");
    assert_string_equal(add[0].gw, "10.0.0.33");
    assert_string_equal(add[1].dst, "10.244.5.0/24");
    assert_int_equal(ndel, 2);
    assert_string_equal(del[0].dst, "10.244.2.0/24");
    assert_string_equal(del[0].gw, "10.0.0.3");
    assert_string_equal(del[1].dst, "10.244.3.0/24");
    free(add);
    free(del);
    /* in sync: nothing to do; empty sides */
    ag_routes_diff(want, 3, want, 3, &add, &nadd, &del, &ndel);
    assert_int_equal(nadd + ndel, 0);
    free(add);
    free(del);
    ag_routes_diff(NULL, 0, want, 3, &add, &nadd, &del, &ndel);
    assert_int_equal(nadd, 3);
    assert_int_equal(ndel, 0);
    free(add);
    free(del);
    ag_routes_diff(have, 3, NULL, 0, &add, &nadd, &del, &ndel);
    assert_int_equal(nadd, 0);
    assert_int_equal(ndel, 3);
    free(add);
    free(del);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_wanted), cmocka_unit_test(test_diff)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
