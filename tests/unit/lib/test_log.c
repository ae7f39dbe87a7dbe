/* SPDX-License-Identifier: Apache-2.0 */
/* klog flags: -v, --vmodule (per-file levels, globs on the file name without extension, the
 * first matching rule decides) and --logging-format=json (one parseable object per line). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

/* Runs fn with stderr sent to a temp file; returns what was written (caller frees). */
static char *capture(void (*fn)(void))
{
    char path[] = "/tmp/ck-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = 0;
    fclose(f);
    close(fd);
    unlink(path);
    return buf;
}

static void parse(const char *const *args, int n)
{
    for (int i = 0; i < n; i++) {
        int j = i;
        assert_true(ck_log_parse_flag(n, (char **)args, &j));
        i = j;
    }
}

static void emit_levels(void)
{
    ck_v(1, "level one");
    ck_v(3, "level three");
    ck_v(4, "level four");
}

static void test_vmodule(void **state)
{
    (void)state;
    const char *const a[] = {"-v=0", "--vmodule=other=9,test_lo?=3,test_log=9"};
    parse(a, 2);
    assert_true(ck_log_v_on(3, "/x/y/test_log.c"));
    assert_false(ck_log_v_on(4, "/x/y/test_log.c")); /* the first matching rule decides */
    assert_false(ck_log_v_on(1, "/x/y/elsewhere.c"));
    char *out = capture(emit_levels);
    assert_non_null(strstr(out, "level one"));
    assert_non_null(strstr(out, "level three"));
    assert_null(strstr(out, "level four"));
    free(out);
    const char *const b[] = {"--vmodule="};
    parse(b, 1);
    out = capture(emit_levels);
    assert_null(strstr(out, "level one"));
    free(out);
}

static void emit_json(void)
{
    ck_info("hello \"quoted\" \\ and\ttab");
    ck_warn("careful");
    ck_error("broken");
}

static void test_json(void **state)
{
    (void)state;
    const char *const a[] = {"--logging-format=json"};
    parse(a, 1);
    char *out = capture(emit_json);
    const char *const a2[] = {"--logging-format=text"};
    parse(a2, 1);
    int lines = 0;
    for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"), lines++) {
        json_error_t e;
        json_t *j = json_loads(l, 0, &e);
        if (!j)
            fail_msg("not JSON: %s (%s)", l, e.text);
        assert_true(json_is_number(json_object_get(j, "ts")));
        assert_non_null(strstr(json_string_value(json_object_get(j, "caller")), "test_log.c:"));
        const char *msg = json_string_value(json_object_get(j, "msg"));
        if (lines == 0) {
            assert_string_equal(msg, "hello \"quoted\" \\ and\ttab");
            assert_true(json_is_integer(json_object_get(j, "v")));
        } else if (lines == 1) {
            assert_string_equal(json_string_value(json_object_get(j, "level")), "warning");
        } else {
            assert_non_null(json_object_get(j, "err"));
        }
        json_decref(j);
    }
    assert_int_equal(lines, 3);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vmodule),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
