/* SPDX-License-Identifier: Apache-2.0 */
/* kubelet_pod_start_duration_seconds: upstream's 25 buckets (0.5 s .. 3600 s), cumulative
 * bucket counts, +Inf, _sum and _count in the Prometheus text format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_int.h"
#include "lib/buf.h"

static void test_pod_start_histogram(void **state)
{
    (void)state;
    static struct agent ag; /* zeroed */
    ag_lifecycle_observe_start(&ag, 0.2);
    ag_lifecycle_observe_start(&ag, 0.5); /* le is inclusive */
    ag_lifecycle_observe_start(&ag, 7.0);
    ag_lifecycle_observe_start(&ag, 5000.0); /* only +Inf */
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    ag_lifecycle_metrics(&ag, &b);
    ck_buf_appendc(&b, 0);
    const char *m = b.data;
    assert_non_null(strstr(m, "# TYPE kubelet_pod_start_duration_seconds histogram\n"));
    assert_non_null(strstr(m, "kubelet_pod_start_duration_seconds_bucket{le=\"0.5\"} 2\n"));
    assert_non_null(strstr(m, "kubelet_pod_start_duration_seconds_bucket{le=\"6\"} 2\n"));
    assert_non_null(strstr(m, "kubelet_pod_start_duration_seconds_bucket{le=\"8\"} 3\n"));
    assert_non_null(strstr(m, "kubelet_pod_start_duration_seconds_bucket{le=\"3600\"} 3\n"));
    assert_non_null(strstr(m, "kubelet_pod_start_duration_seconds_bucket{le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(m, "kubelet_pod_start_duration_seconds_sum 5007.700000\n"));
    assert_non_null(strstr(m, "kubelet_pod_start_duration_seconds_count 4\n"));
    int n = 0;
    for (const char *p = m; (p = strstr(p, "_bucket{")) != NULL; p++)
        n++;
    assert_int_equal(n, 26);
    /* no prober (a hollow node): the counter family is declared, without series */
    assert_non_null(strstr(m, "# TYPE prober_probe_total counter\n"));
    assert_null(strstr(m, "prober_probe_total{"));
    ck_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pod_start_histogram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
