/* SPDX-License-Identifier: Apache-2.0 */
/* The node IPAM CIDR set (upstream cidr_set_test.go's ideas): round-robin allocation, full
 * set, occupy/release of ranges wider and narrower than a subnet, bad input, the mask limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "controllers/cidrset.h"

static void test_parse(void **state)
{
    (void)state;
    uint32_t a;
    int b;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(cidr_parse4("10.244.3.7/16", &a, &b, &err), 0);
    assert_int_equal(b, 16);
    char s[20];
    cidr_format4(a, b, s);
    assert_string_equal(s, "10.244.0.0/16");
    static const char *const bad[] = {"",           "10.0.0.0",   "10.0.0.0/33", "10.0.0/8",
                                      "10.0.0.0/",  "10.0.0.0/x", "fd00::/64",   "/8",
                                      "1.2.3.4/-1", "999.0.0.0/8"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        assert_int_equal(cidr_parse4(bad[i], &a, &b, &err), -1);
        assert_int_equal(err.reason, CK_R_BAD_REQUEST);
        ck_err_clear(&err);
    }
}

static void test_allocate_all(void **state)
{
    (void)state;
    struct cidr_set s;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(cidr_set_init(&s, "10.244.0.0/22", 24, &err), 0);
    char c[20];
    static const char *const want[] = {"10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24",
                                       "10.244.3.0/24"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(cidr_set_allocate(&s, c, &err), 0);
        assert_string_equal(c, want[i]);
        assert_true(cidr_set_is_used(&s, c));
    }
    assert_int_equal(cidr_set_allocate(&s, c, &err), -1);
    assert_int_equal(err.reason, CK_R_CONFLICT);
    assert_non_null(strstr(err.msg, "no remaining CIDRs"));
    ck_err_clear(&err);
    /* a released one comes back; round-robin continues after the last handed out */
    assert_int_equal(cidr_set_release(&s, "10.244.1.0/24", &err), 0);
    assert_false(cidr_set_is_used(&s, "10.244.1.0/24"));
    assert_int_equal(cidr_set_allocate(&s, c, &err), 0);
    assert_string_equal(c, "10.244.1.0/24");
    cidr_set_release_all(&s);
}

static void test_round_robin(void **state)
{
    (void)state;
    struct cidr_set s;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(cidr_set_init(&s, "10.0.0.0/16", 24, &err), 0);
    char c[20];
    assert_int_equal(cidr_set_allocate(&s, c, &err), 0);
    assert_string_equal(c, "10.0.0.0/24");
    assert_int_equal(cidr_set_allocate(&s, c, &err), 0);
    assert_string_equal(c, "10.0.1.0/24");
    assert_int_equal(cidr_set_release(&s, "10.0.0.0/24", &err), 0);
    /* not reused at once: the next candidate is after the last allocation */
    assert_int_equal(cidr_set_allocate(&s, c, &err), 0);
    assert_string_equal(c, "10.0.2.0/24");
    cidr_set_release_all(&s);
}

static void test_occupy(void **state)
{
    (void)state;
    struct cidr_set s;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(cidr_set_init(&s, "10.244.0.0/16", 24, &err), 0);
    /* existing nodes' CIDRs, recovered at start: the allocator skips them */
    assert_int_equal(cidr_set_occupy(&s, "10.244.0.0/24", &err), 0);
    assert_int_equal(cidr_set_occupy(&s, "10.244.2.0/23", &err), 0);   /* wider: two subnets */
    assert_int_equal(cidr_set_occupy(&s, "10.244.5.128/25", &err), 0); /* narrower */
    assert_true(cidr_set_is_used(&s, "10.244.3.0/24"));
    assert_true(cidr_set_is_used(&s, "10.244.5.0/24"));
    char c[20];
    assert_int_equal(cidr_set_allocate(&s, c, &err), 0);
    assert_string_equal(c, "10.244.1.0/24");
    assert_int_equal(cidr_set_allocate(&s, c, &err), 0);
    assert_string_equal(c, "10.244.4.0/24");
    assert_int_equal(cidr_set_allocate(&s, c, &err), 0);
    assert_string_equal(c, "10.244.6.0/24");
    /* outside the cluster CIDR, garbage */
    assert_int_equal(cidr_set_occupy(&s, "10.245.0.0/24", &err), -1);
    assert_non_null(strstr(err.msg, "out the range"));
    ck_err_clear(&err);
    assert_int_equal(cidr_set_occupy(&s, "garbage", &err), -1);
    ck_err_clear(&err);
    assert_false(cidr_set_is_used(&s, "10.245.0.0/24"));
    /* a range containing the whole cluster CIDR fills it */
    assert_int_equal(cidr_set_occupy(&s, "10.0.0.0/8", &err), 0);
    assert_int_equal(s.used_n, s.count);
    assert_int_equal(cidr_set_allocate(&s, c, &err), -1);
    ck_err_clear(&err);
    assert_int_equal(cidr_set_release(&s, "10.244.0.0/16", &err), 0);
    assert_int_equal(s.used_n, 0);
    cidr_set_release_all(&s);
}

static void test_init_limits(void **state)
{
    (void)state;
    struct cidr_set s;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(cidr_set_init(&s, "10.0.0.0/8", 25, &err), -1);
    assert_non_null(strstr(err.msg, "too big"));
    ck_err_clear(&err);
    assert_int_equal(cidr_set_init(&s, "10.0.0.0/16", 8, &err), -1);
    ck_err_clear(&err);
    assert_int_equal(cidr_set_init(&s, "nope", 24, &err), -1);
    ck_err_clear(&err);
    assert_int_equal(cidr_set_init(&s, "10.0.0.0/8", 24, &err), 0);
    assert_int_equal(s.count, 65536);
    char c[20];
    for (int i = 0; i < 65536; i++)
        assert_int_equal(cidr_set_allocate(&s, c, &err), 0);
    assert_string_equal(c, "10.255.255.0/24");
    assert_int_equal(cidr_set_allocate(&s, c, &err), -1);
    ck_err_clear(&err);
    cidr_set_release_all(&s);
    /* the whole space as one subnet (the fuzzer's find: no shift by 32) */
    assert_int_equal(cidr_set_init(&s, "0.0.0.0/0", 0, &err), 0);
    assert_int_equal(cidr_set_allocate(&s, c, &err), 0);
    assert_string_equal(c, "0.0.0.0/0");
    assert_int_equal(cidr_set_release(&s, "10.0.0.0/8", &err), 0);
    assert_int_equal(s.used_n, 0);
    cidr_set_release_all(&s);
    /* a /32 cluster with /32 nodes: one subnet */
    assert_int_equal(cidr_set_init(&s, "192.168.1.1/32", 32, &err), 0);
    assert_int_equal(cidr_set_allocate(&s, c, &err), 0);
    assert_string_equal(c, "192.168.1.1/32");
    cidr_set_release_all(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),       cmocka_unit_test(test_allocate_all),
        cmocka_unit_test(test_round_robin), cmocka_unit_test(test_occupy),
        cmocka_unit_test(test_init_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
