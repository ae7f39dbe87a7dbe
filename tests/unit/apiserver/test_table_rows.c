/* SPDX-License-Identifier: Apache-2.0 */
/* Table rows from the per-object cell cache (src/apiserver/storage/represent.c): a row served
 * from the cache later on must be byte for byte the row a fresh object prints at that time,
 * with its ages ("30s" -> "15m") and "(N ago)" restart times re-rendered; rows whose duration
 * texts are ambiguous fall back to printing; PartialObjectMetadata is the stored metadata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apiserver/registry/registry.h"
#include "apiserver/storage/storage.h"
#include "lib/buf.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1767225600LL /* 2026-01-01T00:00:00Z */

static struct eng_obj *mk(const struct reg_resource *r, const char *body)
{
    struct eng_obj *o = eng_obj_from_store(r, "/registry/x/ns/a", 16, body, strlen(body), 7, NULL);
    assert_non_null(o);
    return o;
}

/* The row of a fresh copy of body at now (no cache involved). */
static char *fresh_row(const struct reg_resource *r, const char *body, int64_t now,
                       const char *include)
{
    struct eng_obj *o = mk(r, body);
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    assert_int_equal(eng_table_row_at(&b, r, o, include, now), 0);
    ck_buf_appendc(&b, '\0');
    eng_obj_unref(o);
    return b.data;
}

static void check_over_time(const char *group, const char *plural, const char *body,
                            const char *include)
{
    reg_init();
    const struct reg_resource *r = reg_find(group, *group ? "v1" : "v1", plural);
    assert_non_null(r);
    struct eng_obj *o = mk(r, body);
    static const int64_t at[] = {5, 30, 31, 119, 120, 599, 600, 3599, 7200, 90000, 900000, 40};
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        struct ck_buf b = CK_BUF_INIT(1 << 20);
        assert_int_equal(eng_table_row_at(&b, r, o, include, T0 + at[i]), 0);
        ck_buf_appendc(&b, '\0');
        char *want = fresh_row(r, body, T0 + at[i], include);
        if (strcmp(b.data, want))
            fail_msg("at +%lld s:\n cached %s\n fresh  %s", (long long)at[i], b.data, want);
        free(want);
        ck_buf_release(&b);
    }
    eng_obj_unref(o);
}

static void test_pod_age_and_restarts(void **state)
{
    (void)state;
    check_over_time("", "pods",
                    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\","
                    "\"namespace\":\"ns\",\"uid\":\"u1\","
                    "\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},\"spec\":{\"nodeName\":"
                    "\"n1\",\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]},"
                    "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.5\","
                    "\"containerStatuses\":[{\"name\":\"c\",\"ready\":true,\"restartCount\":3,"
                    "\"lastState\":{\"terminated\":{\"exitCode\":1,\"finishedAt\":"
                    "\"2026-01-01T00:00:02Z\"}},\"state\":{\"running\":{\"startedAt\":"
                    "\"2026-01-01T00:00:03Z\"}}}]}}",
                    NULL);
}

/* Both durations print "5s" at first: not re-renderable in place, so the row is printed again
 * once either would change. */
static void test_ambiguous_durations(void **state)
{
    (void)state;
    check_over_time("batch", "jobs",
                    "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"j\","
                    "\"namespace\":\"ns\",\"uid\":\"u2\","
                    "\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},\"spec\":{\"template\":"
                    "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}},"
                    "\"status\":{\"startTime\":\"2026-01-01T00:00:00Z\",\"active\":1}}",
                    "Object");
}

static void test_metadata_bytes(void **state)
{
    (void)state;
    reg_init();
    const struct reg_resource *r = reg_find("", "v1", "configmaps");
    const char *body = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                       "\"a\",\"namespace\":\"ns\",\"annotations\":"
                       "{\"x\":\"}{\\\"metadata\\\":1\"}},\"data\":{\"metadata\":\"no\"}}";
    struct eng_obj *o = mk(r, body);
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    for (int i = 0; i < 2; i++) { /* printed, then cached */
        b.len = 0;
        assert_int_equal(eng_table_row_at(&b, r, o, NULL, T0 + 10 + i), 0);
        ck_buf_appendc(&b, '\0');
        assert_non_null(strstr(b.data,
                               "\"object\":{\"kind\":\"PartialObjectMetadata\","
                               "\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{"
                               "\"resourceVersion\":\"7\",\"name\":\"a\",\"namespace\":\"ns\","
                               "\"annotations\":{\"x\":\"}{\\\"metadata\\\":1\"}}}}"));
    }
    ck_buf_release(&b);
    eng_obj_unref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pod_age_and_restarts),
        cmocka_unit_test(test_ambiguous_durations),
        cmocka_unit_test(test_metadata_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
