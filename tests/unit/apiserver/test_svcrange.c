/* SPDX-License-Identifier: Apache-2.0 */
/* Service range arithmetic: flag parsing with kube-apiserver's messages, range offsets
 * (calculateRangeOffset), the random scan with offset and its wrap-around. */
#include "apiserver/endpoints/svcrange.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_ip_range(void **state)
{
    (void)state;
    struct svc_ip_range r;
    char msg[300];
    assert_int_equal(svc_ip_range_parse("10.96.0.0/12", &r, msg, sizeof(msg)), 0);
    assert_string_equal(r.cidr, "10.96.0.0/12");
    assert_int_equal(r.max, (1u << 20) - 2);
    assert_int_equal(r.offset, 256); /* min(max(16, 2^20/16), 256) */
    char t[16];
    svc_ip_text(r.first, t);
    assert_string_equal(t, "10.96.0.1");
    /* host bits are masked off, as net.ParseCIDR does */
    assert_int_equal(svc_ip_range_parse("10.0.0.77/24", &r, msg, sizeof(msg)), 0);
    assert_string_equal(r.cidr, "10.0.0.0/24");
    assert_int_equal(r.max, 254);
    assert_int_equal(r.offset, 16); /* 256/16 */
    uint32_t ip;
    assert_true(svc_ip_parse("10.0.0.1", &ip));
    assert_int_equal(svc_ip_offset(&r, ip), 0);
    assert_true(svc_ip_parse("10.0.0.254", &ip));
    assert_int_equal(svc_ip_offset(&r, ip), 253);
    assert_true(svc_ip_parse("10.0.0.255", &ip)); /* broadcast */
    assert_int_equal(svc_ip_offset(&r, ip), -1);
    assert_true(svc_ip_parse("10.0.0.0", &ip)); /* network */
    assert_int_equal(svc_ip_offset(&r, ip), -1);
    assert_true(svc_ip_parse("10.0.1.1", &ip));
    assert_int_equal(svc_ip_offset(&r, ip), -1);
    /* /28: 16 addresses, no static block (cidrSize <= 16) */
    assert_int_equal(svc_ip_range_parse("10.0.0.0/28", &r, msg, sizeof(msg)), 0);
    assert_int_equal(r.offset, 0);
    assert_int_equal(r.max, 14);
    assert_int_equal(svc_ip_range_parse("10.0.0.0/29", &r, msg, sizeof(msg)), 0);
    assert_int_equal(svc_ip_range_parse("10.0.0.0/30", &r, msg, sizeof(msg)), -1);
    assert_non_null(strstr(msg, "the service cluster IP range must be at least 8 IP addresses"));
    assert_int_equal(svc_ip_range_parse("10.0.0.0/11", &r, msg, sizeof(msg)), -1);
    assert_string_equal(msg, "specified --service-cluster-ip-range is too large; for 32-bit "
                             "addresses, the mask must be >= 12");
    const char *bad[] = {"",          "10.0.0.0", "10.0.0.0/",   "10.0.0.0/33",
                         "10.0.0/24", "x/24",     "10.0.0.0/2x", "10.0.0.0/-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        assert_int_equal(svc_ip_range_parse(bad[i], &r, msg, sizeof(msg)), -1);
        assert_true(strstr(msg, "not a valid cidr") || strstr(msg, "at least one valid cidr"));
    }
    assert_int_equal(svc_ip_range_parse("fd00::/108", &r, msg, sizeof(msg)), -1);
    assert_non_null(strstr(msg, "IPv4"));
    assert_int_equal(svc_ip_range_parse("10.0.0.0/24,fd00::/108", &r, msg, sizeof(msg)), -1);
}

static void test_port_range(void **state)
{
    (void)state;
    struct svc_port_range r;
    char msg[300];
    assert_int_equal(svc_port_range_parse("30000-32767", &r, msg, sizeof(msg)), 0);
    assert_int_equal(r.base, 30000);
    assert_int_equal(r.size, 2768);
    assert_int_equal(r.offset, 86); /* min(max(16, 2768/32), 128) */
    assert_string_equal(r.text, "30000-32767");
    assert_int_equal(svc_port_range_parse(" 31000-31009 ", &r, msg, sizeof(msg)), 0);
    assert_int_equal(r.size, 10);
    assert_int_equal(r.offset, 0);
    assert_int_equal(svc_port_range_parse("31000", &r, msg, sizeof(msg)), 0);
    assert_int_equal(r.size, 1);
    assert_string_equal(r.text, "31000-31000");
    assert_int_equal(svc_port_range_parse("20000-60000", &r, msg, sizeof(msg)), 0);
    assert_int_equal(r.offset, 128);
    assert_int_equal(svc_port_range_parse("abc", &r, msg, sizeof(msg)), -1);
    assert_string_equal(msg, "invalid argument \"abc\" for \"--service-node-port-range\" flag: "
                             "unable to parse port range: abc: strconv.Atoi: parsing \"abc\": "
                             "invalid syntax, expected hyphen in port range or a single port "
                             "number");
    assert_int_equal(svc_port_range_parse("1-x", &r, msg, sizeof(msg)), -1);
    assert_non_null(strstr(msg, "unable to parse port range: 1-x: strconv.Atoi: parsing \"x\""));
    assert_int_equal(svc_port_range_parse("32767-30000", &r, msg, sizeof(msg)), -1);
    assert_non_null(strstr(msg, "end port cannot be less than start port: 32767-30000"));
    assert_int_equal(svc_port_range_parse("30000-70000", &r, msg, sizeof(msg)), -1);
    assert_non_null(strstr(msg, "the port range cannot be greater than 65535: 30000-70000"));
    assert_int_equal(svc_port_range_parse("70000", &r, msg, sizeof(msg)), -1);
    assert_non_null(strstr(msg, "the port range should between 0 and 65535"));
    assert_int_equal(svc_port_range_parse("", &r, msg, sizeof(msg)), -1);
    assert_int_equal(svc_port_range_parse("99999999999999999999999-1", &r, msg, sizeof(msg)), -1);
}

static void test_pick(void **state)
{
    (void)state;
    uint8_t bm[8] = {0};
    /* 40 values, static block [0,10): the dynamic block first */
    for (uint64_t r = 0; r < 100; r++) {
        int64_t v = svc_pick(bm, 40, 10, r, r);
        assert_true(v >= 10 && v < 40);
        assert_int_equal(v, 10 + (int64_t)(r % 30));
    }
    /* the dynamic block full: the static block, wrapping from a random start */
    for (uint32_t i = 10; i < 40; i++)
        svc_bit_set(bm, i);
    assert_int_equal(svc_pick(bm, 40, 10, 5, 7), 7);
    svc_bit_set(bm, 7);
    svc_bit_set(bm, 8);
    svc_bit_set(bm, 9);
    assert_int_equal(svc_pick(bm, 40, 10, 5, 7), 0); /* wraps */
    for (uint32_t i = 0; i < 10; i++)
        svc_bit_set(bm, i);
    assert_int_equal(svc_pick(bm, 40, 10, 1, 1), -1);
    /* the scan wraps within the dynamic block */
    memset(bm, 0, sizeof(bm));
    for (uint32_t i = 30; i < 40; i++)
        svc_bit_set(bm, i);
    assert_int_equal(svc_pick(bm, 40, 10, 25, 0), 10);
    /* no static block; offset larger than the range is clamped */
    memset(bm, 0, sizeof(bm));
    assert_int_equal(svc_pick(bm, 14, 0, 3, 0), 3);
    assert_int_equal(svc_pick(bm, 4, 9, 0, 2), 2);
    assert_int_equal(svc_pick(bm, 0, 0, 0, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip_range),
        cmocka_unit_test(test_port_range),
        cmocka_unit_test(test_pick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
