/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: ck_buf ceilings and JSON escaping, ck_err, time formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/timeutil.h"

static void test_buf_ceiling(void **state)
{
    (void)state;
    struct ck_buf b = CK_BUF_INIT(8);
    assert_int_equal(ck_buf_appends(&b, "abcd"), 0);
    assert_int_equal(ck_buf_appendf(&b, "%d", 1234), 0);
    assert_int_equal(b.len, 8);
    assert_int_equal(ck_buf_appendc(&b, 'x'), -1);
    assert_int_equal(ck_buf_appendf(&b, "%s", "longer than the rest"), -1);
    assert_string_equal(b.data, "abcd1234");
    ck_buf_release(&b);
}

static void test_buf_appendf_long(void **state)
{
    (void)state;
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    char big[1000];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert_int_equal(ck_buf_appendf(&b, "<%s>", big), 0);
    assert_int_equal(b.len, 1001);
    assert_int_equal(b.data[0], '<');
    assert_int_equal(b.data[1000], '>');
    size_t n;
    char *p = ck_buf_detach(&b, &n);
    assert_int_equal(n, 1001);
    assert_null(b.data);
    free(p);
}

static void test_json_escape(void **state)
{
    (void)state;
    struct ck_buf b = CK_BUF_INIT(1024);
    const char in[] = "a\"b\\c\nd\x01";
    assert_int_equal(ck_buf_append_json_str(&b, in, sizeof(in) - 1), 0);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\nd\\u0001\"");
    /* a failed append leaves the buffer as it was */
    struct ck_buf small = CK_BUF_INIT(4);
    assert_int_equal(ck_buf_append_json_str(&small, "abcdef", 6), -1);
    assert_int_equal(small.len, 0);
    ck_buf_release(&b);
    ck_buf_release(&small);
}

static void test_err(void **state)
{
    (void)state;
    struct ck_err e = CK_ERR_INIT;
    assert_int_equal(ck_err_set(&e, CK_R_NOT_FOUND, "pods \"%s\" not found", "x"), -1);
    assert_int_equal(e.code, 404);
    assert_string_equal(ck_reason_str(e.reason), "NotFound");
    ck_err_wrap(&e, "get");
    assert_string_equal(e.msg, "get: pods \"x\" not found");
    assert_int_equal(e.reason, CK_R_NOT_FOUND);
    ck_err_add_cause(&e, "FieldValueInvalid", "metadata.name", "bad %d", 1);
    assert_int_equal(e.ncauses, 1);
    assert_string_equal(e.causes[0].message, "bad 1");
    assert_int_equal(ck_reason_http(CK_R_COMPACTED), 410);
    assert_string_equal(ck_reason_str(CK_R_COMPACTED), "Expired");
}

static void test_time(void **state)
{
    (void)state;
    char out[31];
    ck_time_rfc3339(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    time_t t;
    assert_int_equal(ck_time_parse_rfc3339("2026-11-23T08:59:01Z", &t), 0);
    ck_time_rfc3339(t, out);
    assert_string_equal(out, "2026-11-23T08:59:01Z");
    assert_int_equal(ck_time_parse_rfc3339("2026-11-23T10:59:01.5+02:00", &t), 0);
    ck_time_rfc3339(t, out);
    assert_string_equal(out, "2026-11-23T08:59:01Z");
    assert_int_equal(ck_time_parse_rfc3339("2026-11-23 08:59:01", &t), -1);
    ck_time_rfc3339nano(1500000000LL, out);
    assert_string_equal(out, "1970-01-01T00:00:01.500000000Z");
    char age[16];
    ck_time_age(59, age);
    assert_string_equal(age, "59s");
    ck_time_age(185, age);
    assert_string_equal(age, "3m5s");
    ck_time_age(3 * 86400 + 7200, age);
    assert_string_equal(age, "3d2h");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_ceiling), cmocka_unit_test(test_buf_appendf_long),
        cmocka_unit_test(test_json_escape), cmocka_unit_test(test_err),
        cmocka_unit_test(test_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
