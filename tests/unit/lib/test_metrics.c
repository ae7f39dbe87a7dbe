/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: labelled metric families (text 0.0.4), the OpenMetrics rewrite, the process
 * collector, and the health endpoint protocol of lib/healthz. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lib/healthz.h"
#include "lib/metrics.h"

static const char *text(struct ck_buf *b)
{
    ck_buf_appendc(b, '\0');
    b->len--;
    return b->data;
}

static void test_counter_and_escaping(void **state)
{
    (void)state;
    static const char *const l[] = {"verb", "code", NULL};
    static struct ck_mfam f =
        CK_MFAM_INIT("t_requests_total", "Requests.", CK_MCOUNTER, l, NULL, 0);
    const char *a[] = {"GET", "200"}, *b[] = {"we\"ird\\\n", NULL};
    ck_mfam_add(&f, a, 1);
    ck_mfam_add(&f, a, 2);
    ck_mfam_add(&f, b, 1);
    struct ck_buf out = CK_BUF_INIT(1 << 16);
    assert_int_equal(ck_mfam_render(&f, &out), 0);
    const char *t = text(&out);
    assert_non_null(
        strstr(t, "# HELP t_requests_total Requests.\n# TYPE t_requests_total counter\n"));
    assert_non_null(strstr(t, "t_requests_total{verb=\"GET\",code=\"200\"} 3\n"));
    assert_non_null(strstr(t, "t_requests_total{verb=\"we\\\"ird\\\\\\n\",code=\"\"} 1\n"));
    ck_mfam_reset(&f);
    ck_buf_reset(&out);
    ck_mfam_render(&f, &out);
    assert_null(strstr(text(&out), "t_requests_total{"));
    ck_buf_release(&out);
}

static void test_histogram_cumulative(void **state)
{
    (void)state;
    static const double bk[] = {0.1, 1};
    static struct ck_mfam h = CK_MFAM_INIT("t_seconds", "Latency.", CK_MHISTOGRAM, NULL, bk, 2);
    ck_mfam_observe(&h, NULL, 0.05);
    ck_mfam_observe(&h, NULL, 0.5);
    ck_mfam_observe(&h, NULL, 5);
    struct ck_buf out = CK_BUF_INIT(1 << 16);
    ck_mfam_render(&h, &out);
    const char *t = text(&out);
    assert_non_null(strstr(t, "t_seconds_bucket{le=\"0.1\"} 1\n"));
    assert_non_null(strstr(t, "t_seconds_bucket{le=\"1\"} 2\n"));
    assert_non_null(strstr(t, "t_seconds_bucket{le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(t, "t_seconds_sum 5.55\n"));
    assert_non_null(strstr(t, "t_seconds_count 3\n"));
    ck_buf_release(&out);
}

static void test_openmetrics(void **state)
{
    (void)state;
    const char *in = "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n"
                     "# HELP g_total G.\n# TYPE g_total gauge\ng_total 2\n";
    struct ck_buf out = CK_BUF_INIT(1 << 16);
    assert_int_equal(ck_metrics_to_openmetrics(in, strlen(in), &out), 0);
    assert_string_equal(text(&out), "# HELP a A.\n# TYPE a counter\na_total 1\n"
                                    "# HELP g_total G.\n# TYPE g_total gauge\ng_total 2\n# EOF\n");
    assert_true(ck_metrics_wants_openmetrics("application/openmetrics-text;version=1.0.0", 42));
    assert_false(ck_metrics_wants_openmetrics("text/plain", 10));
    ck_buf_release(&out);
}

static void test_process(void **state)
{
    (void)state;
    struct ck_buf out = CK_BUF_INIT(1 << 16);
    assert_int_equal(ck_metrics_process(&out), 0);
    const char *t = text(&out);
    long long rss = 0;
    const char *p = strstr(t, "\nprocess_resident_memory_bytes ");
    assert_non_null(p);
    sscanf(p + 31, "%lld", &rss);
    assert_true(rss > 0);
    assert_non_null(strstr(t, "# TYPE process_cpu_seconds_total counter\n"));
    assert_non_null(strstr(t, "\nprocess_start_time_seconds 1"));
    ck_buf_release(&out);
}

static int failing(void *arg, char *why, size_t n)
{
    (void)arg;
    snprintf(why, n, "down");
    return -1;
}

static void test_healthz(void **state)
{
    (void)state;
    const struct ck_hcheck ok[] = {{"ping", NULL}, {"db", NULL}};
    const struct ck_hcheck bad[] = {{"ping", NULL}, {"db", failing}};
    struct ck_buf out = CK_BUF_INIT(1 << 16);
    assert_int_equal(ck_healthz_serve("/metrics", ok, 2, NULL, &out), 0);
    assert_int_equal(ck_healthz_serve("/readyz", ok, 2, NULL, &out), 200);
    assert_string_equal(text(&out), "ok");
    ck_buf_reset(&out);
    assert_int_equal(ck_healthz_serve("/livez?verbose", ok, 2, NULL, &out), 200);
    assert_string_equal(text(&out), "[+]ping ok\n[+]db ok\nlivez check passed\n");
    ck_buf_reset(&out);
    assert_int_equal(ck_healthz_serve("/readyz", bad, 2, NULL, &out), 500);
    assert_string_equal(text(&out),
                        "[+]ping ok\n[-]db failed: reason withheld\nreadyz check failed\n");
    ck_buf_reset(&out);
    assert_int_equal(ck_healthz_serve("/readyz?exclude=db&exclude=x%2Fy", bad, 2, NULL, &out), 200);
    ck_buf_reset(&out);
    assert_int_equal(
        ck_healthz_serve("/readyz?verbose&exclude=db&exclude=x%2Fy", bad, 2, NULL, &out), 200);
    assert_string_equal(text(&out),
                        "[+]ping ok\n[+]db excluded: ok\nwarn: some health checks cannot "
                        "be excluded: no matches for \"x/y\"\nreadyz check passed\n");
    ck_buf_reset(&out);
    assert_int_equal(ck_healthz_serve("/healthz/db", bad, 2, NULL, &out), 500);
    assert_string_equal(text(&out), "internal server error: down\n");
    ck_buf_reset(&out);
    assert_int_equal(ck_healthz_serve("/healthz/nosuch", bad, 2, NULL, &out), 404);
    ck_buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_and_escaping),
        cmocka_unit_test(test_histogram_cumulative),
        cmocka_unit_test(test_openmetrics),
        cmocka_unit_test(test_process),
        cmocka_unit_test(test_healthz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
