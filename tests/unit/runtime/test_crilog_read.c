/* SPDX-License-Identifier: Apache-2.0 */
/* CRI log reader (the kubelet's ReadLogs): tail, since, limitBytes, timestamps, partial
 * records joined, unparsable lines skipped, follow until the writer is gone, follow across a
 * rotation, and the timestamp parser. */
#include "runtime/crilog.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/ck-crilogr-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/0.log", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

static void write_file(const char *p, const char *text)
{
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void append_file(const char *p, const char *text)
{
    FILE *f = fopen(p, "a");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int sink(void *arg, const char *data, size_t len)
{
    struct ck_buf *b = arg;
    ck_buf_append(b, data, len);
    return 0;
}

static const char *sample = "2026-01-01T00:00:01.100000000Z stdout F one\n"
                            "2026-01-01T00:00:02.000000000Z stderr F two\n"
                            "garbage line\n"
                            "2026-01-01T00:00:03.123000000Z stdout P thr\n"
                            "2026-01-01T00:00:03.123456789Z stdout F ee\n"
                            "2026-01-01T00:00:04Z stdout F four\n";

static char *read_all(const struct rt_log_read_opts *o)
{
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(rt_log_read(path, o, sink, NULL, &b, &err), 0);
    ck_buf_appends(&b, "");
    size_t n;
    return ck_buf_detach(&b, &n);
}

static void test_all_and_tail(void **state)
{
    (void)state;
    write_file(path, sample);
    struct rt_log_read_opts o = {.tail_lines = -1};
    char *s = read_all(&o);
    assert_string_equal(s, "one\ntwo\nthree\nfour\n");
    free(s);
    o.tail_lines = 2; /* records, not messages: the F half of "three" and "four" */
    s = read_all(&o);
    assert_string_equal(s, "ee\nfour\n");
    free(s);
    o.tail_lines = 0;
    s = read_all(&o);
    assert_string_equal(s, "");
    free(s);
    o.tail_lines = 100;
    s = read_all(&o);
    assert_string_equal(s, "one\ntwo\nthree\nfour\n");
    free(s);
}

static void test_tail_offset(void **state)
{
    (void)state;
    write_file(path, "a\nb\nc\npartial");
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(rt_log_tail_offset(fd, 0), 6);
    assert_int_equal(rt_log_tail_offset(fd, 1), 4);
    assert_int_equal(rt_log_tail_offset(fd, 3), 0);
    assert_int_equal(rt_log_tail_offset(fd, -1), 0);
    close(fd);
}

static void test_since_timestamps_limit(void **state)
{
    (void)state;
    write_file(path, sample);
    struct rt_log_read_opts o = {.tail_lines = -1};
    assert_int_equal(rt_log_parse_time("2026-01-01T00:00:02Z", 20, &o.since_ns), 0);
    char *s = read_all(&o);
    assert_string_equal(s, "two\nthree\nfour\n");
    free(s);
    o.since_ns = 0;
    o.timestamps = true;
    o.tail_lines = 3;
    s = read_all(&o);
    assert_string_equal(s, "2026-01-01T00:00:03.123Z thr2026-01-01T00:00:03.123456789Z ee\n"
                           "2026-01-01T00:00:04Z four\n");
    free(s);
    o.timestamps = false;
    o.tail_lines = -1;
    o.limit_bytes = 6;
    s = read_all(&o);
    assert_string_equal(s, "one\ntw");
    free(s);
}

static void test_parse_time(void **state)
{
    (void)state;
    int64_t ns;
    assert_int_equal(rt_log_parse_time("1970-01-01T00:00:01.5Z", 22, &ns), 0);
    assert_int_equal(ns, 1500000000LL);
    assert_int_equal(rt_log_parse_time("1970-01-01T01:00:00+01:00", 25, &ns), 0);
    assert_int_equal(ns, 0);
    assert_int_equal(rt_log_parse_time("2026-11-23T08:59:01Z", 20, &ns), 0);
    assert_int_equal(ns, 1795424341LL * 1000000000LL);
    assert_int_equal(rt_log_parse_time("2026-11-23 08:59:01Z", 20, &ns), -1);
    assert_int_equal(rt_log_parse_time("2026-11-23T08:59:01", 19, &ns), -1);
    assert_int_equal(rt_log_parse_time("2026-11-23T08:59:01.Z", 21, &ns), -1);
    assert_int_equal(rt_log_parse_time("2526-01-01T00:00:01Z", 20, &ns), -1); /* past int64 ns */
}

static void test_missing(void **state)
{
    (void)state;
    struct rt_log_read_opts o = {.tail_lines = -1};
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    struct ck_err err = CK_ERR_INIT;
    char p[160];
    snprintf(p, sizeof(p), "%s/none.log", dir);
    assert_int_equal(rt_log_read(p, &o, sink, NULL, &b, &err), -1);
    ck_buf_release(&b);
}

/* follow: a writer thread appends, rotates, appends again, then says it is gone */
static volatile int phase;

static bool alive(void *arg)
{
    (void)arg;
    return phase < 3;
}

static void *writer(void *arg)
{
    (void)arg;
    usleep(50000);
    append_file(path, "2026-01-01T00:00:05Z stdout F five\n");
    usleep(50000);
    char rotated[160];
    snprintf(rotated, sizeof(rotated), "%s.1", path);
    rename(path, rotated);
    write_file(path, "2026-01-01T00:00:06Z stderr F six\n");
    phase = 2;
    usleep(50000);
    append_file(path, "2026-01-01T00:00:07Z stdout F seven\n");
    phase = 3;
    return NULL;
}

static void test_follow(void **state)
{
    (void)state;
    write_file(path, "2026-01-01T00:00:04Z stdout F four\n");
    phase = 0;
    pthread_t th;
    pthread_create(&th, NULL, writer, NULL);
    struct rt_log_read_opts o = {.tail_lines = -1, .follow = true, .poll_ms = 10};
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(rt_log_read(path, &o, sink, alive, &b, &err), 0);
    pthread_join(th, NULL);
    ck_buf_appends(&b, "");
    assert_string_equal(b.data, "four\nfive\nsix\nseven\n");
    ck_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_all_and_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_since_timestamps_limit, setup, teardown),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follow, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
