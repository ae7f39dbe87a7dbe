/* SPDX-License-Identifier: Apache-2.0 */
/* ReplicaSet decisions: slow-start batches (controller_utils_test.go TestSlowStartBatch),
 * the deletion ranking (TestSortingActivePods, TestSortingActivePodsWithRanks including the
 * LogarithmicScaleDown buckets), getPodsToDelete with node co-location ranks, status counts
 * with minReadySeconds, and expectations (TestControllerExpectations, TestUIDExpectations). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controllers/expect.h"
#include "controllers/rsutil.h"
#include "lib/timeutil.h"

#include "ctrl_test.h"

static void test_slow_start(void **state)
{
    (void)state;
    static const struct {
        int count, initial, n, sizes[12];
    } cases[] = {
        {10, 1, 4, {1, 2, 4, 3}}, {0, 1, 0, {0}},
        {1, 1, 1, {1}},           {3, 1, 2, {1, 2}},
        {7, 1, 3, {1, 2, 4}},     {500, 1, 9, {1, 2, 4, 8, 16, 32, 64, 128, 245}},
        {5, 2, 2, {2, 3}},
    };
    for (size_t i = 0; i < N(cases); i++) {
        int out[16];
        int n = cm_slow_start_batches(cases[i].count, cases[i].initial, out, 16);
        assert_int_equal(n, cases[i].n);
        int sum = 0;
        for (int j = 0; j < n; j++) {
            assert_int_equal(out[j], cases[i].sizes[j]);
            sum += out[j];
        }
        assert_int_equal(sum, cases[i].count);
    }
}

static char *iso(int64_t epoch_s)
{
    static char buf[8][32];
    static int k;
    char b[21];
    ck_time_rfc3339((time_t)epoch_s, b);
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof(buf[k]), "%s", b);
    return buf[k];
}

/* A pod: node ("" = unassigned), phase, ready since (0 = not ready), restarts, created. */
static json_t *pod(const char *uid, const char *node, const char *phase, int64_t ready_since,
                   int restarts, int64_t created)
{
    json_t *p =
        json_pack("{s:{s:s,s:s,s:s},s:{s:s},s:{s:s,s:[{s:s,s:i}]}}", "metadata", "name", uid, "uid",
                  uid, "creationTimestamp", iso(created), "spec", "nodeName", node, "status",
                  "phase", phase, "containerStatuses", "name", "c", "restartCount", restarts);
    if (ready_since)
        json_object_set_new(json_object_get(p, "status"), "conditions",
                            json_pack("[{s:s,s:s,s:s}]", "type", "Ready", "status", "True",
                                      "lastTransitionTime", iso(ready_since)));
    return p;
}

static void test_ranking(void **state)
{
    (void)state;
    int64_t now = 1700000000;
    int64_t now_ns = now * 1000000000LL;
    /* each pod goes before every later one (TestSortingActivePods's order) */
    json_t *p[] = {
        pod("a1", "", "Pending", 0, 0, now - 100),
        pod("a2", "n", "Pending", 0, 0, now - 100),
        pod("a3", "n", "Unknown", 0, 0, now - 100),
        pod("a4", "n", "Running", 0, 0, now - 100),
        pod("a5", "n", "Running", now - 10, 3, now - 100),
        pod("a6", "n", "Running", now - 10, 0, now - 100),
        pod("a7", "n", "Running", now - 3600, 0, now - 5000),
    };
    for (size_t i = 0; i < N(p); i++)
        for (size_t j = 0; j < N(p); j++)
            if (i != j)
                assert_int_equal(cm_pod_delete_before(p[i], 0, p[j], 0, now_ns), i < j);
    /* rank: more co-located related pods go first, before readiness time is considered */
    json_t *r1 = pod("r1", "n", "Running", now - 3600, 0, now - 5000);
    json_t *r2 = pod("r2", "n", "Running", now - 10, 0, now - 100);
    assert_true(cm_pod_delete_before(r1, 3, r2, 1, now_ns));
    assert_false(cm_pod_delete_before(r1, 1, r2, 1, now_ns));
    /* log2 buckets: 10 s and 11 s old share bucket 33, so the uid decides */
    json_t *b1 = pod("b", "n", "Running", 0, 0, now - 10);
    json_t *b2 = pod("a", "n", "Running", 0, 0, now - 11);
    assert_true(cm_pod_delete_before(b2, 0, b1, 0, now_ns));
    assert_false(cm_pod_delete_before(b1, 0, b2, 0, now_ns));
    /* 10 s and 40 s differ by two buckets: the newer one goes first */
    json_t *b3 = pod("a", "n", "Running", 0, 0, now - 40);
    assert_true(cm_pod_delete_before(b1, 0, b3, 0, now_ns));
    /* without a clock, plain time order (newer first) */
    assert_true(cm_pod_delete_before(b1, 0, b2, 0, 0));
    for (size_t i = 0; i < N(p); i++)
        json_decref(p[i]);
    json_decref(r1), json_decref(r2), json_decref(b1), json_decref(b2), json_decref(b3);
}

static void test_pods_to_delete(void **state)
{
    (void)state;
    int64_t now = 1700000000;
    /* three ready pods; related pods crowd node n2, so its pod goes first */
    json_t *f = json_pack("[o,o,o]", pod("x1", "n1", "Running", now - 100, 0, now - 200),
                          pod("x2", "n2", "Running", now - 5000, 0, now - 9000),
                          pod("x3", "n3", "Running", now - 100, 0, now - 200));
    json_t *rel = json_copy(f);
    json_array_append_new(rel, pod("y1", "n2", "Running", now - 100, 0, now - 200));
    json_array_append_new(rel, pod("y2", "n2", "Running", now - 100, 0, now - 200));
    json_t *d = cm_pods_to_delete(f, rel, 1, now * 1000000000LL);
    assert_int_equal(json_array_size(d), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(d, 0), "metadata"), "name")),
                        "x2");
    json_decref(d);
    d = cm_pods_to_delete(f, rel, 5, now * 1000000000LL); /* more than there are: all */
    assert_int_equal(json_array_size(d), 3);
    json_decref(d);
    d = cm_pods_to_delete(f, rel, 0, now * 1000000000LL);
    assert_int_equal(json_array_size(d), 0);
    json_decref(d);
    json_decref(rel);
    json_decref(f);
}

static void test_counts(void **state)
{
    (void)state;
    int64_t now = 1700000000;
    json_t *rs = J("{\"spec\":{\"minReadySeconds\":30,\"template\":{\"metadata\":{\"labels\":"
                   "{\"app\":\"a\",\"tier\":\"t\"}}}}}");
    json_t *p1 = pod("p1", "n", "Running", now - 100, 0, now - 200); /* available */
    json_t *p2 = pod("p2", "n", "Running", now - 10, 0, now - 200);  /* ready, not yet available */
    json_t *p3 = pod("p3", "n", "Pending", 0, 0, now - 200);
    json_object_set_new(json_object_get(p1, "metadata"), "labels",
                        J("{\"app\":\"a\",\"tier\":\"t\",\"x\":\"y\"}"));
    json_object_set_new(json_object_get(p2, "metadata"), "labels", J("{\"app\":\"a\"}"));
    json_t *all = json_pack("[o,o,o]", p1, p2, p3);
    struct cm_rs_counts c;
    cm_rs_counts(rs, all, now * 1000000000LL, &c);
    assert_int_equal(c.replicas, 3);
    assert_int_equal(c.fully_labeled, 1);
    assert_int_equal(c.ready, 2);
    assert_int_equal(c.available, 1);
    json_decref(all);
    json_decref(rs);
}

static void test_expectations(void **state)
{
    (void)state;
    struct cm_expect *e = cm_expect_new();
    int64_t t = 1000;
    assert_true(cm_expect_satisfied(e, "ns/rs", t)); /* unknown keys are satisfied */
    cm_expect_creations(e, "ns/rs", 2, t);
    assert_false(cm_expect_satisfied(e, "ns/rs", t));
    cm_expect_creation_observed(e, "ns/rs");
    assert_false(cm_expect_satisfied(e, "ns/rs", t));
    cm_expect_creation_observed(e, "ns/rs");
    assert_true(cm_expect_satisfied(e, "ns/rs", t));
    cm_expect_creation_observed(e, "ns/rs"); /* never below zero */
    cm_expect_creations(e, "ns/rs", 1, t);
    assert_false(cm_expect_satisfied(e, "ns/rs", t));
    const char *pods[] = {"ns/a", "ns/b"};
    cm_expect_deletions(e, "ns/rs", pods, 2, t);
    assert_false(cm_expect_satisfied(e, "ns/rs", t));
    cm_expect_deletion_observed(e, "ns/rs", "ns/zzz"); /* not expected: no effect */
    cm_expect_deletion_observed(e, "ns/rs", "ns/a");
    cm_expect_deletion_observed(e, "ns/rs", "ns/a"); /* twice counts once */
    assert_false(cm_expect_satisfied(e, "ns/rs", t));
    /* expired after 5 minutes */
    assert_true(cm_expect_satisfied(e, "ns/rs", t + CM_EXPECT_TTL_NS + 1));
    cm_expect_deletion_observed(e, "ns/rs", "ns/b");
    assert_true(cm_expect_satisfied(e, "ns/rs", t));
    cm_expect_creations(e, "ns/other", 1, t);
    cm_expect_delete(e, "ns/other");
    assert_true(cm_expect_satisfied(e, "ns/other", t));
    cm_expect_free(e);
}

static void test_pod_from_template(void **state)
{
    (void)state;
    json_t *t = J("{\"metadata\":{\"labels\":{\"app\":\"a\"},\"annotations\":{\"k\":\"v\"},"
                  "\"name\":\"ignored\"},\"spec\":{\"containers\":[{\"name\":\"c\"}]}}");
    json_t *ref = J("{\"kind\":\"ReplicaSet\",\"uid\":\"u\",\"controller\":true}");
    json_t *p = cm_pod_from_template(t, "rs-", ref);
    json_t *md = json_object_get(p, "metadata");
    assert_string_equal(json_string_value(json_object_get(md, "generateName")), "rs-");
    assert_null(json_object_get(md, "name"));
    json_t *want = J("{\"app\":\"a\"}");
    assert_true(json_equal(json_object_get(md, "labels"), want));
    json_decref(want);
    assert_int_equal(json_array_size(json_object_get(md, "ownerReferences")), 1);
    assert_true(json_equal(json_object_get(p, "spec"), json_object_get(t, "spec")));
    json_decref(p);
    json_decref(ref);
    json_decref(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_start),     cmocka_unit_test(test_ranking),
        cmocka_unit_test(test_pods_to_delete), cmocka_unit_test(test_counts),
        cmocka_unit_test(test_expectations),   cmocka_unit_test(test_pod_from_template),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
