/* SPDX-License-Identifier: Apache-2.0 */
/* CRI log writer: record format, partial lines (split writes, over-long lines, EOF tails),
 * size rotation with a bounded number of files, reopen, and the line parser. */
#include "runtime/crilog.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static char path[128];
static int64_t fake_now = 1795000000123456789LL;

static int64_t fake_clock(void)
{
    return fake_now;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/ck-crilog-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/c.log", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *p)
{
    FILE *f = fopen(p, "r");
    if (!f)
        return NULL;
    struct ck_buf b = CK_BUF_INIT(64 << 20);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        ck_buf_append(&b, tmp, n);
    fclose(f);
    return ck_buf_detach(&b, NULL);
}

static void test_format_and_partials(void **state)
{
    (void)state;
    struct rt_log_writer w;
    struct ck_err e = CK_ERR_INIT;
    assert_int_equal(rt_log_open(&w, path, 0, 1, &e), 0);
    w.clock_ns = fake_clock;
    assert_int_equal(rt_log_write(&w, RT_LOG_STDOUT, "hello\nwor", 9, &e), 0);
    assert_int_equal(rt_log_write(&w, RT_LOG_STDERR, "oops\n", 5, &e), 0);
    assert_int_equal(rt_log_write(&w, RT_LOG_STDOUT, "ld\n\n", 4, &e), 0);
    assert_int_equal(rt_log_write(&w, RT_LOG_STDOUT, "tail-no-newline", 15, &e), 0);
    assert_int_equal(rt_log_flush(&w, RT_LOG_STDOUT, &e), 0);
    assert_int_equal(rt_log_flush(&w, RT_LOG_STDERR, &e), 0); /* nothing pending: no record */
    rt_log_close(&w);
    char *s = slurp(path);
    assert_non_null(s);
    assert_string_equal(s, "2026-11-18T11:06:40.123456789Z stdout F hello\n"
                           "2026-11-18T11:06:40.123456789Z stderr F oops\n"
                           "2026-11-18T11:06:40.123456789Z stdout F world\n"
                           "2026-11-18T11:06:40.123456789Z stdout F \n"
                           "2026-11-18T11:06:40.123456789Z stdout P tail-no-newline\n");
    free(s);
}

static void test_long_line_split(void **state)
{
    (void)state;
    struct rt_log_writer w;
    struct ck_err e = CK_ERR_INIT;
    assert_int_equal(rt_log_open(&w, path, 0, 1, &e), 0);
    size_t n = RT_LOG_LINE_MAX * 2 + 100;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\n';
    /* feed in odd-sized chunks to exercise the pending buffer */
    size_t off = 0;
    while (off < n + 1) {
        size_t k = (n + 1 - off) < 1000 ? (n + 1 - off) : 1000;
        assert_int_equal(rt_log_write(&w, RT_LOG_STDOUT, big + off, k, &e), 0);
        off += k;
    }
    rt_log_close(&w);
    free(big);
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int recs = 0;
    size_t total = 0;
    char tags[8] = {0};
    while ((len = getline(&line, &cap, f)) > 0) {
        struct rt_log_record r;
        assert_int_equal(rt_log_parse_line(line, (size_t)len - 1, &r), 0);
        assert_true(recs < 7);
        tags[recs++] = r.tag;
        total += r.msg_len;
        assert_true(r.msg_len <= RT_LOG_LINE_MAX);
    }
    free(line);
    fclose(f);
    assert_int_equal(recs, 3);
    assert_string_equal(tags, "PPF");
    assert_int_equal(total, n);
}

static void test_rotation(void **state)
{
    (void)state;
    struct rt_log_writer w;
    struct ck_err e = CK_ERR_INIT;
    assert_int_equal(rt_log_open(&w, path, 1000, 3, &e), 0);
    char msg[64];
    for (int i = 0; i < 100; i++) {
        int n = snprintf(msg, sizeof(msg), "line %03d\n", i);
        assert_int_equal(rt_log_write(&w, RT_LOG_STDOUT, msg, (size_t)n, &e), 0);
    }
    rt_log_close(&w);
    char p[160];
    for (int i = 0; i < 3; i++) {
        if (i)
            snprintf(p, sizeof(p), "%s.%d", path, i);
        else
            snprintf(p, sizeof(p), "%s", path);
        assert_int_equal(access(p, F_OK), 0);
        char *s = slurp(p);
        assert_true(strlen(s) <= 1000);
        assert_true(strlen(s) > 0);
        free(s);
    }
    snprintf(p, sizeof(p), "%s.3", path);
    assert_int_not_equal(access(p, F_OK), 0); /* never more than max_files */
    char *live = slurp(path);
    assert_non_null(strstr(live, "line 099"));
    free(live);
    snprintf(p, sizeof(p), "%s.1", path);
    char *prev = slurp(p);
    assert_null(strstr(prev, "line 099"));
    free(prev);
}

static void test_reopen(void **state)
{
    (void)state;
    struct rt_log_writer w;
    struct ck_err e = CK_ERR_INIT;
    assert_int_equal(rt_log_open(&w, path, 0, 1, &e), 0);
    assert_int_equal(rt_log_write(&w, RT_LOG_STDOUT, "a\n", 2, &e), 0);
    char moved[160];
    snprintf(moved, sizeof(moved), "%s.moved", path);
    assert_int_equal(rename(path, moved), 0);
    assert_int_equal(rt_log_reopen(&w, &e), 0);
    assert_int_equal(rt_log_write(&w, RT_LOG_STDOUT, "b\n", 2, &e), 0);
    rt_log_close(&w);
    char *s = slurp(path);
    assert_non_null(strstr(s, "F b"));
    assert_null(strstr(s, "F a"));
    free(s);
    assert_int_equal(rt_log_open(&w, "/nonexistent-dir/x.log", 0, 1, &e), -1);
    assert_non_null(strstr(e.msg, "/nonexistent-dir/x.log"));
}

static void test_parse(void **state)
{
    (void)state;
    struct rt_log_record r;
    const char *ok = "2026-01-01T00:00:00.000000001Z stderr P abc def";
    assert_int_equal(rt_log_parse_line(ok, strlen(ok), &r), 0);
    assert_int_equal(r.stream, RT_LOG_STDERR);
    assert_int_equal(r.tag, 'P');
    assert_int_equal(r.msg_len, 7);
    assert_memory_equal(r.msg, "abc def", 7);
    const char *empty = "t stdout F";
    assert_int_equal(rt_log_parse_line(empty, strlen(empty), &r), 0);
    assert_int_equal(r.msg_len, 0);
    static const char *bad[] = {"", "nospace", "t stdin F x", "t stdout X x", "t stdout Fx", " stdout F x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(rt_log_parse_line(bad[i], strlen(bad[i]), &r), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_format_and_partials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
