/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for resource.Quantity: tables from upstream's quantity_test.go
 * (k8s.io/apimachinery/pkg/api/resource), plus the API server's historical cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/quantity.h"

#include <jansson.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

enum { DSI = K8S_QTY_DECIMAL_SI, BSI = K8S_QTY_BINARY_SI, DEX = K8S_QTY_DECIMAL_EXP };

/* decQuantity(mant, scale, format) of upstream: mant * 10^scale. */
struct dq {
    const char *in;
    int64_t mant;
    int scale;
    int fmt;
};

static __int128 dq_nano(const struct dq *d)
{
    __int128 v = d->mant;
    int s = d->scale + 9;
    for (; s > 0; s--)
        v *= 10;
    for (; s < 0; s++)
        v /= 10;
    return v;
}

static char *i128s(__int128 v, char *buf)
{
    char tmp[48];
    size_t n = 0;
    int neg = v < 0;
    unsigned __int128 m = neg ? -(unsigned __int128)v : (unsigned __int128)v;
    do {
        tmp[n++] = (char)('0' + (int)(m % 10));
        m /= 10;
    } while (m);
    size_t k = 0;
    if (neg)
        buf[k++] = '-';
    while (n)
        buf[k++] = tmp[--n];
    buf[k] = 0;
    return buf;
}

/* cases from TestQuantityParse */
static const struct dq parse_table[] = {
    {"0", 0, 0, DSI},
    {"0n", 0, 0, DSI},
    {"0u", 0, 0, DSI},
    {"0m", 0, 0, DSI},
    {"0Ki", 0, 0, BSI},
    {"0k", 0, 0, DSI},
    {"0Mi", 0, 0, BSI},
    {"0M", 0, 0, DSI},
    {"0Gi", 0, 0, BSI},
    {"0G", 0, 0, DSI},
    {"0Ti", 0, 0, BSI},
    {"0T", 0, 0, DSI},
    {"1", 1, 0, DSI},
    {"1Ki", 1024, 0, BSI},
    {"8Ki", 8 * 1024, 0, BSI},
    {"7Mi", 7LL << 20, 0, BSI},
    {"6Gi", 6LL << 30, 0, BSI},
    {"5Ti", 5LL << 40, 0, BSI},
    {"4Pi", 4LL << 50, 0, BSI},
    {"3Ei", 3LL << 60, 0, BSI},
    {"10Ti", 10LL << 40, 0, BSI},
    {"100Ti", 100LL << 40, 0, BSI},
    {"5n", 5, -9, DSI},
    {"4u", 4, -6, DSI},
    {"3m", 3, -3, DSI},
    {"9", 9, 0, DSI},
    {"8k", 8, 3, DSI},
    {"50k", 5, 4, DSI},
    {"7M", 7, 6, DSI},
    {"6G", 6, 9, DSI},
    {"5T", 5, 12, DSI},
    {"40T", 4, 13, DSI},
    {"300T", 3, 14, DSI},
    {"2P", 2, 15, DSI},
    {"1E", 1, 18, DSI},
    {"1E-3", 1, -3, DEX},
    {"1e3", 1, 3, DEX},
    {"1E6", 1, 6, DEX},
    {"1e9", 1, 9, DEX},
    {"1E12", 1, 12, DEX},
    {"1e15", 1, 15, DEX},
    {"1E18", 1, 18, DEX},
    {"1e14", 1, 14, DEX},
    {"1e13", 1, 13, DEX},
    {"100.035k", 100035, 0, DSI},
    {"0.001", 1, -3, DSI},
    {"0.0005k", 5, -1, DSI},
    {"0.005", 5, -3, DSI},
    {"0.05", 5, -2, DSI},
    {"0.5", 5, -1, DSI},
    {"0.00050k", 5, -1, DSI},
    {"0.00500", 5, -3, DSI},
    {"0.05000", 5, -2, DSI},
    {"0.50000", 5, -1, DSI},
    {"0.5e0", 5, -1, DEX},
    {"0.5e-1", 5, -2, DEX},
    {"0.5e-2", 5, -3, DEX},
    {"10.035M", 10035, 3, DSI},
    {"1.2e3", 12, 2, DEX},
    {"1.3E+6", 13, 5, DEX},
    {"1.40e9", 14, 8, DEX},
    {"1.53E12", 153, 10, DEX},
    {"1.6e15", 16, 14, DEX},
    {"1.7E18", 17, 17, DEX},
    {"9.01", 901, -2, DSI},
    {"8.1k", 81, 2, DSI},
    {"7.123456M", 7123456, 0, DSI},
    {"6.987654321G", 6987654321LL, 0, DSI},
    {"5.444T", 5444, 9, DSI},
    {"40.1T", 401, 11, DSI},
    {"300.2T", 3002, 11, DSI},
    {"2.5P", 25, 14, DSI},
    {"1.01E", 101, 16, DSI},
    /* things that saturate/round */
    {"3.001n", 4, -9, DSI},
    {"1.1E-9", 2, -9, DEX},
    {"0.0000000001", 1, -9, DSI},
    {"0.0000000005", 1, -9, DSI},
    {"0.00000000050", 1, -9, DSI},
    {"0.5e-9", 1, -9, DEX},
    {"0.9n", 1, -9, DSI},
    {"0.00000012345", 124, -9, DSI},
    {"0.00000012354", 124, -9, DSI},
    {"9Ei", INT64_MAX, 0, BSI},
    {"9223372036854775807Ki", INT64_MAX, 0, BSI},
    {"12E", 12, 18, DSI},
    /* fractional binary */
    {"100.035Ki", 10243584, -2, BSI},
    {"0.5Mi", 524288, 0, BSI},
    {"0.05Gi", 536870912, -1, BSI},
    {"0.025Ti", 274877906944LL, -1, BSI},
    /* things written by trolls */
    {"0.000000000001Ki", 2, -9, DSI},
    {".001", 1, -3, DSI},
    {".0001k", 100, -3, DSI},
    {"1.", 1, 0, DSI},
    {"1.G", 1, 9, DSI},
};

static void check_parse(const char *in, __int128 want, int fmt)
{
    struct k8s_quantity q;
    char a[48], b[48];
    if (k8s_quantity_parse(in, &q) != 0)
        fail_msg("%s: unexpected parse error", in);
    if (q.nano != want)
        fail_msg("%s: got %s nano, want %s", in, i128s(q.nano, a), i128s(want, b));
    if ((int)q.format != fmt)
        fail_msg("%s: format %d, want %d", in, (int)q.format, fmt);
}

static void test_parse_table(void **state)
{
    (void)state;
    char buf[64];
    for (size_t i = 0; i < N(parse_table); i++) {
        const struct dq *d = &parse_table[i];
        __int128 want = dq_nano(d);
        check_parse(d->in, want, d->fmt);
        /* the negative and explicitly positive versions of everything */
        snprintf(buf, sizeof(buf), "-%s", d->in);
        check_parse(buf, -want, d->fmt);
        snprintf(buf, sizeof(buf), "+%s", d->in);
        check_parse(buf, want, d->fmt);
    }
}

static void test_parse_invalid(void **state)
{
    (void)state;
    /* the invalid list of TestQuantityParse, then the API server's historical rejects (the
     * digit-less "m" is the one deliberate difference from upstream, see quantity.h) */
    static const char *const bad[] = {
        "",     "1.1.M",  "1+1.0M",  "0.1mi", "0.1am", "aoeu",        ".5i",
        "1i",   "-3.01i", "-3.01e-", " 1",    "1 ",    "abc",         "1x",
        "1Kii", "--1",    "1e",      "m",     "1.2.3", "Non-Numeric", "1e99999999999999999999",
        "1K",   "1ki",
    };
    for (size_t i = 0; i < N(bad); i++) {
        struct k8s_quantity q;
        if (k8s_quantity_parse(bad[i], &q) == 0)
            fail_msg("%s parsed unexpectedly", bad[i]);
    }
    assert_int_equal(k8s_quantity_parse(NULL, &(struct k8s_quantity){0}), -1);
}

/* cases from TestQuantityString: each alternate spelling's canonical form, and the negation */
static void test_string(void **state)
{
    (void)state;
    static const struct {
        int64_t mant;
        int scale, fmt;
        const char *expect, *alternate;
    } table[] = {
        {1024 * 1024 * 1024, 0, BSI, "1Gi", "1024Mi"},
        {300 * 1024 * 1024, 0, BSI, "300Mi", "307200Ki"},
        {6 * 1024, 0, BSI, "6Ki", ""},
        {1001LL * 1024 * 1024 * 1024, 0, BSI, "1001Gi", "1025024Mi"},
        {1024LL * 1024 * 1024 * 1024, 0, BSI, "1Ti", "1024Gi"},
        {5, 0, BSI, "5", "5000m"},
        {500, -3, BSI, "500m", "0.5"},
        {1, 9, DSI, "1G", "1000M"},
        {1000, 6, DSI, "1G", "0.001T"},
        {1000000, 3, DSI, "1G", ""},
        {1000000000, 0, DSI, "1G", ""},
        {1, -3, DSI, "1m", "1000u"},
        {80, -3, DSI, "80m", ""},
        {1080, -3, DSI, "1080m", "1.08"},
        {108, -2, DSI, "1080m", "1080000000n"},
        {10800, -4, DSI, "1080m", ""},
        {300, 6, DSI, "300M", ""},
        {1, 12, DSI, "1T", ""},
        {1234567, 6, DSI, "1234567M", ""},
        {1234567, -3, BSI, "1234567m", ""},
        {3, 3, DSI, "3k", ""},
        {1025, 0, BSI, "1025", ""},
        {0, 0, DSI, "0", ""},
        {0, 0, BSI, "0", ""},
        {1, 9, DEX, "1e9", ".001e12"},
        {1, -3, DEX, "1e-3", "0.001e0"},
        {1, -9, DEX, "1e-9", "1000e-12"},
        {80, -3, DEX, "80e-3", ""},
        {300, 6, DEX, "300e6", ""},
        {1, 12, DEX, "1e12", ""},
        {1, 3, DEX, "1e3", ""},
        {3, 3, DEX, "3e3", ""},
        {3, 3, DSI, "3k", ""},
        {0, 0, DEX, "0", "00"},
        {1, -9, DSI, "1n", ""},
        {80, -9, DSI, "80n", ""},
        {1080, -9, DSI, "1080n", ""},
        {108, -8, DSI, "1080n", ""},
        {10800, -10, DSI, "1080n", ""},
        {1, -6, DSI, "1u", ""},
        {80, -6, DSI, "80u", ""},
        {1080, -6, DSI, "1080u", ""},
    };
    for (size_t i = 0; i < N(table); i++) {
        struct dq d = {"", table[i].mant, table[i].scale, table[i].fmt};
        struct k8s_quantity q = {dq_nano(&d), (enum k8s_qty_format)table[i].fmt};
        char buf[K8S_QTY_STRLEN], want[80];
        if (strcmp(k8s_quantity_str(&q, buf), table[i].expect))
            fail_msg("[%zu] got %s, want %s", i, buf, table[i].expect);
        /* the canonical text parses back and is kept as is */
        char *rt = k8s_quantity_roundtrip(table[i].expect);
        assert_non_null(rt);
        assert_string_equal(rt, table[i].expect);
        free(rt);
        if (*table[i].alternate) {
            char *c = k8s_quantity_canonical(table[i].alternate);
            if (!c || strcmp(c, table[i].expect))
                fail_msg("alternate %s: got %s, want %s", table[i].alternate, c ? c : "NULL",
                         table[i].expect);
            free(c);
        }
        if (q.nano == 0)
            continue;
        q.nano = -q.nano;
        snprintf(want, sizeof(want), "-%s", table[i].expect);
        if (strcmp(k8s_quantity_str(&q, buf), want))
            fail_msg("[%zu] negated: got %s, want %s", i, buf, want);
    }
}

/* cases from TestQuantityParseEmit (and their negations) */
static void test_parse_emit(void **state)
{
    (void)state;
    static const struct {
        const char *in, *expect;
    } table[] = {
        {"1Ki", "1Ki"},
        {"1Mi", "1Mi"},
        {"1Gi", "1Gi"},
        {"1024Mi", "1Gi"},
        {"1000M", "1G"},
        {".001Ki", "1024m"},
        {".000001Ki", "1024u"},
        {".000000001Ki", "1024n"},
        {".000000000001Ki", "2n"},
    };
    for (size_t i = 0; i < N(table); i++) {
        char in[64], want[64];
        char *got = k8s_quantity_roundtrip(table[i].in);
        if (!got || strcmp(got, table[i].expect))
            fail_msg("%s: got %s, want %s", table[i].in, got ? got : "NULL", table[i].expect);
        free(got);
        snprintf(in, sizeof(in), "-%s", table[i].in);
        snprintf(want, sizeof(want), "-%s", table[i].expect);
        got = k8s_quantity_roundtrip(in);
        if (!got || strcmp(got, want))
            fail_msg("%s: got %s, want %s", in, got ? got : "NULL", want);
        free(got);
    }
}

/* cases from TestParseQuantity: what String() gives back after parsing (input when blank) */
static void test_parse_reserialize(void **state)
{
    (void)state;
    static const struct {
        const char *in, *canonical;
    } table[] = {
        {"-999999999999999999", ""},
        {"999999999999999999", ""},
        {"-999999999999999999.0", "-999999999999999999"},
        {"999999999999999999.0", "999999999999999999"},
        {"-999999999999999999.1", "-999999999999999999100m"},
        {"999999999999999999.1", "999999999999999999100m"},
        {"-9999999999999999999", ""},
        {"9999999999999999999", ""},
        {"-1E", ""},
        {"1E", ""},
        {"-1000000000000000000", "-1E"},
        {"1000000000000000000", "1E"},
        {"-9999999999999999999.0", "-9999999999999999999"},
        {"9999999999999999999.0", "9999999999999999999"},
        {"-1.0E", "-1E"},
        {"1.0E", "1E"},
        {"-1000000000000000000.0", "-1E"},
        {"1000000000000000000.0", "1E"},
        {"-9999999999999999999000m", "-9999999999999999999"},
        {"9999999999999999999000m", "9999999999999999999"},
        {"-9999999999999999999.1", "-9999999999999999999100m"},
        {"9999999999999999999.1", "9999999999999999999100m"},
        {"-1.0000000000000000001E", "-1000000000000000000100m"},
        {"1.0000000000000000001E", "1000000000000000000100m"},
        {"-1000000000000000000.1", "-1000000000000000000100m"},
        {"1000000000000000000.1", "1000000000000000000100m"},
        {"-1.000000000000000001E", "-1000000000000000001"},
        {"1.000000000000000001E", "1000000000000000001"},
        {"-1000000000000000001", ""},
        {"1000000000000000001", ""},
        {"-10E", ""},
        {"10E", ""},
        {"-10000000000000000000", "-10E"},
        {"10000000000000000000", "10E"},
        {"-10.0E", "-10E"},
        {"10.0E", "10E"},
        {"-10000000000000000000.0", "-10E"},
        {"10000000000000000000.0", "10E"},
        {"-10000000000000000000000m", "-10E"},
        {"10000000000000000000000m", "10E"},
        {"-10.0000000000000000001E", "-10000000000000000000100m"},
        {"10.0000000000000000001E", "10000000000000000000100m"},
        {"-10000000000000000000.1", "-10000000000000000000100m"},
        {"10000000000000000000.1", "10000000000000000000100m"},
        {"-10.000000000000000001E", "-10000000000000000001"},
        {"10.000000000000000001E", "10000000000000000001"},
        {"-10000000000000000001", ""},
        {"10000000000000000001", ""},
        {"-9223372036854775809", ""},
        {"9223372036854775806", ""},
        {"-9223372036854775809.0", "-9223372036854775809"},
        {"9223372036854775806.0", "9223372036854775806"},
        {"-9223372036854775809000m", "-9223372036854775809"},
        {"9223372036854775806000m", "9223372036854775806"},
        {"-9223372036854775809.1", "-9223372036854775809100m"},
        {"9223372036854775806.1", "9223372036854775806100m"},
        {"-9223372036854775808", ""},
        {"9223372036854775807", ""},
        {"-9223372036854775808.0", "-9223372036854775808"},
        {"9223372036854775807.0", "9223372036854775807"},
        {"-9223372036854775808000m", "-9223372036854775808"},
        {"9223372036854775807000m", "9223372036854775807"},
        {"-9223372036854775808.1", "-9223372036854775808100m"},
        {"9223372036854775807.1", "9223372036854775807100m"},
        {"-9223372036854775807", ""},
        {"9223372036854775808", ""},
        {"-9223372036854775807.0", "-9223372036854775807"},
        {"9223372036854775808.0", "9223372036854775808"},
        {"-9223372036854775807000m", "-9223372036854775807"},
        {"9223372036854775808000m", "9223372036854775808"},
        {"-9223372036854775807.1", "-9223372036854775807100m"},
        {"9223372036854775808.1", "9223372036854775808100m"},
    };
    for (size_t i = 0; i < N(table); i++) {
        const char *want = *table[i].canonical ? table[i].canonical : table[i].in;
        char *got = k8s_quantity_roundtrip(table[i].in);
        if (!got || strcmp(got, want))
            fail_msg("%s: got %s, want %s", table[i].in, got ? got : "NULL", want);
        free(got);
        /* the canonical form agrees whenever upstream did not keep the text */
        char *c = k8s_quantity_canonical(table[i].in);
        assert_non_null(c);
        if (*table[i].canonical)
            assert_string_equal(c, table[i].canonical);
        free(c);
    }
}

/* Upstream keeps non-canonical spellings its fast path accepts (quantity.go ParseQuantity). */
static void test_roundtrip_keeps_text(void **state)
{
    (void)state;
    static const struct {
        const char *in, *roundtrip, *canonical;
    } table[] = {
        {"+1", "+1", "1"},
        {"05m", "05m", "5m"},
        {"1200e0", "1200e0", "1200"},
        {"1E3", "1E3", "1e3"},
        {"1e+3", "1e+3", "1e3"},
        {"1.", "1.", "1"},
        {"01Ki", "01Ki", "1Ki"},
        {"1e4", "10e3", "10e3"},
        {"1.5", "1500m", "1500m"},
        {"1000m", "1", "1"},
        {"8Ki", "8Ki", "8Ki"},
        {"0", "0", "0"},
        {"-0", "0", "0"},
        {"1Ei", "1Ei", "1Ei"},
        {"9Ei", "9223372036854775807", "9223372036854775807"},
    };
    for (size_t i = 0; i < N(table); i++) {
        char *rt = k8s_quantity_roundtrip(table[i].in), *c = k8s_quantity_canonical(table[i].in);
        if (!rt || strcmp(rt, table[i].roundtrip))
            fail_msg("roundtrip(%s) = %s, want %s", table[i].in, rt ? rt : "NULL",
                     table[i].roundtrip);
        if (!c || strcmp(c, table[i].canonical))
            fail_msg("canonical(%s) = %s, want %s", table[i].in, c ? c : "NULL",
                     table[i].canonical);
        free(rt);
        free(c);
    }
}

/* cases from TestJSONWhitespace (string and number forms) */
static void test_json(void **state)
{
    (void)state;
    static const struct {
        const char *json, *expect;
    } table[] = {
        {"\" 1\"", "1"}, {"\"1 \"", "1"},    {"1", "1"},        {" 1", "1"},
        {"1 ", "1"},     {"10", "10"},       {"-1", "-1"},      {" -1", "-1"},
        {"0.5", "500m"}, {"\"1Gi\"", "1Gi"}, {"2.5e3", "2500"},
    };
    for (size_t i = 0; i < N(table); i++) {
        json_error_t e;
        json_t *v = json_loads(table[i].json, JSON_DECODE_ANY, &e);
        assert_non_null(v);
        char *c = k8s_quantity_canonical_json(v);
        if (!c || strcmp(c, table[i].expect))
            fail_msg("%s: got %s, want %s", table[i].json, c ? c : "NULL", table[i].expect);
        free(c);
        json_decref(v);
    }
    json_t *bad[] = {json_null(),     json_true(),      json_object(),
                     json_string(""), json_string(" "), json_string("1 x")};
    for (size_t i = 0; i < N(bad); i++) {
        __int128 n;
        assert_int_equal(k8s_quantity_nano_json(bad[i], &n), -1);
        assert_null(k8s_quantity_canonical_json(bad[i]));
        json_decref(bad[i]);
    }
}

/* cases from TestQuantityCmp, then TestQuantityAddZeroPreservesSuffix and
 * TestQuantitySubZeroPreservesSuffix */
static void test_cmp_add_sub(void **state)
{
    (void)state;
    static const struct {
        const char *x, *y;
        int expect;
    } table[] = {{"0", "0", 0}, {"100m", "50m", 1}, {"50m", "100m", -1}, {"10000T", "100Gi", 1}};
    for (size_t i = 0; i < N(table); i++) {
        int cmp = 99;
        assert_int_equal(k8s_quantity_cmp_str(table[i].x, table[i].y, &cmp), 0);
        if (cmp != table[i].expect)
            fail_msg("%s vs %s: %d, want %d", table[i].x, table[i].y, cmp, table[i].expect);
    }
    int cmp;
    assert_int_equal(k8s_quantity_cmp_str("1", "x", &cmp), -1);
    static const char *const keep[] = {"100m", "1Gi"};
    for (size_t i = 0; i < N(keep); i++) {
        struct k8s_quantity v, z, v1, v2;
        char buf[K8S_QTY_STRLEN];
        assert_int_equal(k8s_quantity_parse(keep[i], &v), 0);
        assert_int_equal(k8s_quantity_parse("0", &z), 0);
        v1 = v;
        k8s_quantity_add(&v1, &z);
        assert_string_equal(k8s_quantity_str(&v1, buf), keep[i]);
        v2 = z;
        k8s_quantity_add(&v2, &v);
        assert_string_equal(k8s_quantity_str(&v2, buf), keep[i]);
        v1 = v;
        k8s_quantity_sub(&v1, &z);
        assert_string_equal(k8s_quantity_str(&v1, buf), keep[i]);
        v2 = z;
        k8s_quantity_sub(&v2, &v);
        char want[32];
        snprintf(want, sizeof(want), "-%s", keep[i]);
        assert_string_equal(k8s_quantity_str(&v2, buf), want);
    }
    /* TestAdd / TestSub */
    struct k8s_quantity a = k8s_quantity_from_int(10, K8S_QTY_DECIMAL_SI);
    struct k8s_quantity b = k8s_quantity_from_int(1, K8S_QTY_DECIMAL_SI);
    k8s_quantity_add(&a, &b);
    assert_int_equal(k8s_quantity_value(&a), 11);
    k8s_quantity_sub(&a, &b);
    k8s_quantity_sub(&a, &b);
    assert_int_equal(k8s_quantity_value(&a), 9);
    /* saturation instead of overflow */
    struct k8s_quantity big = {K8S_QTY_MAX, K8S_QTY_DECIMAL_SI};
    k8s_quantity_add(&big, &big);
    assert_true(big.nano == K8S_QTY_MAX);
}

/* cases from TestScaledValue (Value and MilliValue), then Value()'s rounding away from 0 */
static void test_value(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t value, milli;
    } table[] = {
        {"1n", 1, 1},
        {"1u", 1, 1},
        {"1m", 1, 1},
        {"1", 1, 1000},
        {"1.1", 2, 1100},
        {"-1.1", -2, -1100},
        {"100m", 1, 100},
        {"1Ki", 1024, 1024000},
        {"-1n", -1, -1},
        {"0", 0, 0},
        {"9.01", 10, 9010},
        {"10E", INT64_MAX, INT64_MAX},
        {"-10E", INT64_MIN, INT64_MIN},
        {"9223372036854775807", INT64_MAX, INT64_MAX},
    };
    for (size_t i = 0; i < N(table); i++) {
        struct k8s_quantity q;
        assert_int_equal(k8s_quantity_parse(table[i].in, &q), 0);
        if (k8s_quantity_value(&q) != table[i].value || k8s_quantity_milli(&q) != table[i].milli)
            fail_msg("%s: value %lld milli %lld", table[i].in, (long long)k8s_quantity_value(&q),
                     (long long)k8s_quantity_milli(&q));
    }
    struct k8s_quantity m = k8s_quantity_from_milli(1500, K8S_QTY_DECIMAL_SI);
    char buf[K8S_QTY_STRLEN];
    assert_string_equal(k8s_quantity_str(&m, buf), "1500m");
}

/* The API server's historical expectations (tests/unit/apiserver/test_validation.c): the
 * library is meant to replace validation_quantity_* without changing any of them. */
static void test_apiserver_compat(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        long long milli;
    } ok[] = {
        {"100m", 100},
        {"1", 1000},
        {"1.5", 1500},
        {"1Ki", 1024000},
        {"1Gi", 1073741824000LL},
        {"1e3", 1000000},
        {"2k", 2000000},
        {"0.1", 100},
        {"-2", -2000},
        {"1E-3", 1},
        {"+5m", 5},
        {".5", 500},
    };
    for (size_t i = 0; i < N(ok); i++) {
        json_t *q = json_string(ok[i].s);
        __int128 n;
        assert_int_equal(k8s_quantity_nano_json(q, &n), 0);
        if ((long long)(n / 1000000) != ok[i].milli)
            fail_msg("%s: got %lld milli", ok[i].s, (long long)(n / 1000000));
        json_decref(q);
    }
    static const struct {
        const char *in, *out;
    } canon[] = {
        {"1000m", "1"},     {"0.5", "500m"},      {"1.5", "1500m"},
        {"1024Mi", "1Gi"},  {"1536Mi", "1536Mi"}, {"1e3", "1e3"},
        {"1200e0", "1200"}, {"12000", "12k"},     {"100Ki", "100Ki"},
        {"512", "512"},     {"0.5Ki", "512"},     {"1.5Gi", "1536Mi"},
        {"-1000m", "-1"},   {"0", "0"},           {"0Mi", "0"},
        {"2000000k", "2G"}, {"1n", "1n"},         {"0.0000000001", "1n"},
        {"1000E", "1000E"}, {"1e21", "1e21"},
    };
    for (size_t i = 0; i < N(canon); i++) {
        json_t *q = json_string(canon[i].in);
        char *c = k8s_quantity_canonical_json(q);
        if (!c || strcmp(c, canon[i].out))
            fail_msg("canonical(%s) = %s, want %s", canon[i].in, c ? c : "NULL", canon[i].out);
        free(c);
        json_decref(q);
    }
    json_t *num = json_integer(3);
    char *c3 = k8s_quantity_canonical_json(num);
    assert_string_equal(c3, "3");
    free(c3);
    json_decref(num);
    json_t *a = json_string("1Gi"), *b = json_integer(1073741824), *c = json_string("1G");
    int cmp;
    assert_int_equal(k8s_quantity_cmp_json(a, b, &cmp), 0);
    assert_int_equal(cmp, 0);
    assert_int_equal(k8s_quantity_cmp_json(c, a, &cmp), 0);
    assert_true(cmp < 0);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    __int128 n;
    assert_int_equal(k8s_quantity_nano("250m", &n), 0);
    assert_true(n == 250000000);
}

/* Exactness past 19 digits and huge exponents: no overflow, rounding still upward. */
static void test_extremes(void **state)
{
    (void)state;
    struct k8s_quantity q;
    assert_int_equal(k8s_quantity_parse("1e999999999", &q), 0);
    assert_true(q.nano == K8S_QTY_MAX);
    assert_int_equal(k8s_quantity_parse("-1e999999999", &q), 0);
    assert_true(q.nano == -K8S_QTY_MAX);
    assert_int_equal(k8s_quantity_parse("1e-999999999", &q), 0);
    assert_true(q.nano == 1);
    assert_int_equal(k8s_quantity_parse("0e999999999", &q), 0);
    assert_true(q.nano == 0);
    /* a digit far past the 60 kept ones still rounds up */
    assert_int_equal(
        k8s_quantity_parse("1.000000000000000000000000000000000000000000000000000000000000000001",
                           &q),
        0);
    assert_true(q.nano == 1000000001);
    /* binary fractions are exact: 0.1Ki = 102.4 */
    char *c = k8s_quantity_canonical("0.1Ki");
    assert_string_equal(c, "102400m");
    free(c);
    c = k8s_quantity_canonical("0.123456789012345678901234567Ei");
    assert_non_null(c);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_string),
        cmocka_unit_test(test_parse_emit),
        cmocka_unit_test(test_parse_reserialize),
        cmocka_unit_test(test_roundtrip_keeps_text),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_cmp_add_sub),
        cmocka_unit_test(test_value),
        cmocka_unit_test(test_apiserver_compat),
        cmocka_unit_test(test_extremes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
