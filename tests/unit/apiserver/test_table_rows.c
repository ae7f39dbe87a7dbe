/* SPDX-License-Identifier: Apache-2.0 */
/* Table rows from the cells kept with each object (src/apiserver/storage/represent.c): the row
 * served at any later time must be byte for byte the row printed from the object's JSON at
 * that time, with its ages ("30s" -> "15m") and "(N ago)" restart times rendered then; objects
 * whose strings hold the template marker are printed every time; PartialObjectMetadata is the
 * stored metadata. */
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

/* The row of o printed from its JSON at now (no kept cells involved). */
static char *printed_row(const struct reg_resource *r, const struct eng_obj *o, int64_t now,
                         const char *include)
{
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    assert_int_equal(eng_table_row_print(&b, r, o, include, now), 0);
    ck_buf_appendc(&b, '\0');
    return b.data;
}

static const int64_t at[] = {-5, 0, 5, 30, 31, 119, 120, 599, 600, 3599, 7200, 90000, 900000, 40};

/* Every row of o served over time is the printed one. */
static void check_obj_over_time(const struct reg_resource *r, const struct eng_obj *o,
                                const char *include)
{
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        struct ck_buf b = CK_BUF_INIT(1 << 20);
        assert_int_equal(eng_table_row_at(&b, r, o, include, T0 + at[i]), 0);
        ck_buf_appendc(&b, '\0');
        char *want = printed_row(r, o, T0 + at[i], include);
        if (strcmp(b.data, want))
            fail_msg("at +%lld s:\n kept    %s\n printed %s", (long long)at[i], b.data, want);
        free(want);
        ck_buf_release(&b);
    }
}

static const struct reg_resource *res(const char *group, const char *plural)
{
    reg_init();
    const struct reg_resource *r = reg_find(group, "v1", plural);
    assert_non_null(r);
    return r;
}

static void check_over_time(const char *group, const char *plural, const char *body,
                            const char *include)
{
    const struct reg_resource *r = res(group, plural);
    struct eng_obj *o = mk(r, body);
    check_obj_over_time(r, o, include);
    struct eng_obj *d = eng_obj_restamp(o, 99); /* DELETED events: the row goes along */
    check_obj_over_time(r, d, include);
    eng_obj_unref(d);
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

/* A running Job: its duration and its age count from the same time and print the same. */
static void test_same_durations(void **state)
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

/* An Event without lastTimestamp shows its first one twice; with a series, the last one. */
static void test_event_durations(void **state)
{
    (void)state;
    check_over_time("", "events",
                    "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"e.1\","
                    "\"namespace\":\"ns\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
                    "\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"web\"},\"reason\":\"Pulled\","
                    "\"message\":\"ok 5s\",\"type\":\"Normal\","
                    "\"firstTimestamp\":\"2026-01-01T00:00:00Z\",\"count\":1}",
                    NULL);
    check_over_time(
        "events.k8s.io", "events",
        "{\"apiVersion\":\"events.k8s.io/v1\",\"kind\":\"Event\",\"metadata\":"
        "{\"name\":\"e.2\",\"namespace\":\"ns\","
        "\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},\"regarding\":{\"kind\":"
        "\"Pod\",\"name\":\"web\"},\"reason\":\"BackOff\",\"note\":\"again\","
        "\"type\":\"Warning\",\"eventTime\":\"2025-12-31T23:59:00.000000Z\","
        "\"series\":{\"count\":4,\"lastObservedTime\":\"2026-01-01T00:00:20.000000Z\"}}",
        "None");
}

/* A string holding the marker cannot be templated: the row is printed every time, right. */
static void test_marker_in_object(void **state)
{
    (void)state;
    check_over_time("", "pods",
                    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"m\","
                    "\"namespace\":\"ns\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
                    "\"spec\":{\"nodeName\":\"\\u0001A\\u0001\",\"containers\":[{\"name\":\"c\","
                    "\"image\":\"busybox\"}]},\"status\":{\"phase\":\"Pending\"}}",
                    NULL);
}

/* An object built without its row (a derived one) gets it on first use. */
static void test_row_on_first_use(void **state)
{
    (void)state;
    const struct reg_resource *r = res("", "pods");
    const char *body = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
                       "\"namespace\":\"ns\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
                       "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}";
    struct eng_obj *o = mk(r, body);
    int f = reg_field_index(r, "spec.nodeName");
    assert_true(f > 1);
    const char *nb = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
                     "\"namespace\":\"ns\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
                     "\"spec\":{\"nodeName\":\"n9\",\"containers\":[{\"name\":\"c\","
                     "\"image\":\"busybox\"}]}}";
    struct eng_obj *d = eng_obj_derive(o, nb, strlen(nb), 8, f, "n9");
    assert_non_null(d);
    assert_null(atomic_load(&d->row));
    check_obj_over_time(r, d, NULL);
    assert_non_null(atomic_load(&d->row));
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    assert_int_equal(eng_table_row_at(&b, r, d, NULL, T0 + 60), 0);
    ck_buf_appendc(&b, '\0');
    assert_non_null(
        strstr(b.data, "{\"cells\":[\"a\",\"0/1\",\"\",\"0\",\"60s\",\"<none>\",\"n9\","));
    ck_buf_release(&b);
    eng_obj_unref(d);
    eng_obj_unref(o);
}

static void test_metadata_bytes(void **state)
{
    (void)state;
    const struct reg_resource *r = res("", "configmaps");
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
        cmocka_unit_test(test_pod_age_and_restarts), cmocka_unit_test(test_same_durations),
        cmocka_unit_test(test_event_durations),      cmocka_unit_test(test_marker_in_object),
        cmocka_unit_test(test_row_on_first_use),     cmocka_unit_test(test_metadata_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
