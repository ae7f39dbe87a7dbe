/* SPDX-License-Identifier: Apache-2.0 */
/* Deployment decisions from upstream's tables: TestResolveFenceposts (maxSurge rounds up,
 * maxUnavailable down), TestNewRSNewReplicas, TestMaxUnavailable, the
 * reconcileOldReplicaSets table of rolling_test.go (TestDeploymentController_reconcileOld
 * ReplicaSets), GetProportion, SetNewReplicaSetAnnotations' revision history, ComputeHash's
 * alphabet and collision count, EqualIgnoreHash, DeploymentComplete/Progressing, and
 * SetDeploymentCondition's transition times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/dputil.h"
#include "k8s/pod.h"

#include "ctrl_test.h"

static json_t *intstr(const char *s)
{
    if (!s)
        return NULL;
    if (s[strlen(s) - 1] == '%' || (s[0] < '0' || s[0] > '9'))
        return json_string(s);
    return json_integer(atoi(s));
}

static void test_fenceposts(void **state)
{
    (void)state;
    static const struct {
        const char *surge, *unavail;
        int desired, s, u, err;
    } cases[] = {
        {"0%", "0%", 0, 0, 1, 0},    {"39%", "39%", 10, 4, 3, 0}, {"oops", "39%", 10, 0, 0, 1},
        {"55%", "urg", 10, 0, 0, 1}, {NULL, "39%", 10, 0, 3, 0},  {"39%", NULL, 10, 4, 0, 0},
        {NULL, NULL, 10, 0, 1, 0},   {"25%", "25%", 3, 1, 0, 0},  {"1", "0", 3, 1, 0, 0},
        {"25%", "25%", 1, 1, 0, 0},  {"50%", "50%", 5, 3, 2, 0},
    };
    for (size_t i = 0; i < N(cases); i++) {
        json_t *s = intstr(cases[i].surge), *u = intstr(cases[i].unavail);
        int64_t gs = -1, gu = -1;
        int rc = dp_resolve_fenceposts(s, u, cases[i].desired, &gs, &gu);
        if (cases[i].err) {
            assert_int_equal(rc, -1);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(gs, cases[i].s);
            assert_int_equal(gu, cases[i].u);
        }
        json_decref(s);
        json_decref(u);
    }
}

static json_t *deploy(int replicas, const char *strategy, const char *surge, const char *unavail)
{
    json_t *d = json_pack("{s:{s:i,s:i},s:{s:i,s:{s:s}}}", "metadata", "generation", 1, "x", 0,
                          "spec", "replicas", replicas, "strategy", "type", strategy);
    if (!strcmp(strategy, "RollingUpdate")) {
        json_t *ru = json_object();
        if (surge)
            json_object_set_new(ru, "maxSurge", intstr(surge));
        if (unavail)
            json_object_set_new(ru, "maxUnavailable", intstr(unavail));
        json_object_set_new(json_object_get(json_object_get(d, "spec"), "strategy"),
                            "rollingUpdate", ru);
    }
    return d;
}

static json_t *rs(const char *name, int replicas, int available, int64_t created)
{
    char ts[32];
    snprintf(ts, sizeof(ts), "2024-01-01T00:00:%02lldZ", (long long)created);
    return json_pack("{s:{s:s,s:s,s:s},s:{s:i},s:{s:i,s:i}}", "metadata", "name", name, "uid", name,
                     "creationTimestamp", ts, "spec", "replicas", replicas, "status", "replicas",
                     replicas, "availableReplicas", available);
}

static void test_max_unavailable(void **state)
{
    (void)state;
    static const struct {
        int replicas;
        const char *u;
        int want;
    } cases[] = {{10, "1", 1}, {10, "25%", 2}, {0, "1", 0}, {5, "10", 5}, {10, "0%", 1}};
    for (size_t i = 0; i < N(cases); i++) {
        json_t *d = deploy(cases[i].replicas, "RollingUpdate", "0", cases[i].u);
        assert_int_equal(dp_max_unavailable(d), cases[i].want);
        json_decref(d);
    }
    json_t *d = deploy(10, "Recreate", NULL, NULL);
    assert_int_equal(dp_max_unavailable(d), 0);
    assert_int_equal(dp_max_surge(d), 0);
    json_decref(d);
}

static void test_new_rs_new_replicas(void **state)
{
    (void)state;
    static const struct {
        const char *strategy;
        int dep, new_rs, surge, want;
    } cases[] = {
        {"RollingUpdate", 1, 5, 1, 5},  /* can not scale up: at newRSReplicas */
        {"RollingUpdate", 6, 2, 10, 6}, /* scale up to depReplicas */
        {"Recreate", 3, 1, 1, 3},
    };
    for (size_t i = 0; i < N(cases); i++) {
        char surge[8];
        snprintf(surge, sizeof(surge), "%d", cases[i].surge);
        json_t *d = deploy(cases[i].dep, cases[i].strategy, surge, "0");
        json_t *n = rs("new", cases[i].new_rs, 0, 1);
        json_t *all = json_pack("[o,O]", rs("rs5", 5, 5, 0), n);
        assert_int_equal(dp_new_rs_new_replicas(d, all, n), cases[i].want);
        json_decref(all);
        json_decref(n);
        json_decref(d);
    }
}

/* rolling_test.go TestDeploymentController_reconcileOldReplicaSets. */
static void test_reconcile_old(void **state)
{
    (void)state;
    static const struct {
        int dep;
        const char *unavail;
        int old, new_r, ready_old, ready_new, scale, want_old;
    } cases[] = {
        {10, "0", 10, 0, 10, 0, 1, 9}, {10, "2", 10, 0, 10, 0, 1, 8}, {10, "2", 10, 0, 8, 0, 1, 8},
        {10, "2", 10, 0, 9, 0, 1, 8},  {10, "2", 8, 2, 8, 0, 0, 8},
    };
    for (size_t i = 0; i < N(cases); i++) {
        json_t *d = deploy(cases[i].dep, "RollingUpdate", "0", cases[i].unavail);
        json_t *old = json_pack("[o]", rs("old", cases[i].old, cases[i].ready_old, 0));
        json_t *n = rs("new", cases[i].new_r, cases[i].ready_new, 1);
        int64_t sizes[1];
        assert_int_equal(dp_plan_old_scale_down(d, old, n, sizes), cases[i].scale);
        assert_int_equal(sizes[0], cases[i].want_old);
        json_decref(old);
        json_decref(n);
        json_decref(d);
    }
    /* two old ReplicaSets: unhealthy pods of the oldest go first, then the oldest shrinks */
    json_t *d = deploy(10, "RollingUpdate", "3", "3");
    json_t *old = json_pack("[o,o]", rs("b", 5, 5, 2), rs("a", 5, 3, 1));
    json_t *n = rs("new", 3, 3, 3);
    int64_t sizes[2];
    assert_true(dp_plan_old_scale_down(d, old, n, sizes));
    /* all=13, min 7, max down 6: clean 2 of "a", then available 11 - 7 = 4 more from "a" */
    assert_int_equal(sizes[1], 0);
    assert_int_equal(sizes[0], 4);
    json_decref(old);
    json_decref(n);
    json_decref(d);
}

static void test_proportion(void **state)
{
    (void)state;
    /* 10 -> 20 with two ReplicaSets of 5 (max-replicas 10, no surge): +5 each */
    json_t *d = deploy(20, "RollingUpdate", "0", "1");
    json_t *a = rs("a", 5, 5, 0);
    dp_set_replicas_annotations(a, 10, 10);
    assert_int_equal(dp_proportion(a, d, 10, 0), 5);
    assert_int_equal(dp_proportion(a, d, 10, 8), 2); /* capped by what is left */
    assert_int_equal(dp_proportion(a, d, 10, 10), 0);
    json_decref(d);
    /* scaling down to 0: the whole ReplicaSet goes */
    d = deploy(0, "RollingUpdate", "0", "1");
    assert_int_equal(dp_proportion(a, d, -10, 0), -5);
    json_decref(d);
    /* 10 -> 15 (surge 0): 5 * 15 / 10 = 7.5 rounds to 8: +3 */
    d = deploy(15, "RollingUpdate", "0", "1");
    assert_int_equal(dp_proportion(a, d, 5, 0), 3);
    json_decref(d);
    json_decref(a);
}

static void test_annotations(void **state)
{
    (void)state;
    json_t *d = J("{\"metadata\":{\"annotations\":{\"team\":\"x\",\"kubectl.kubernetes.io/"
                  "last-applied-configuration\":\"{}\",\"deployment.kubernetes.io/revision\":"
                  "\"9\"}},\"spec\":{\"replicas\":4,\"strategy\":{\"type\":\"RollingUpdate\","
                  "\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0}}}}");
    json_t *r = J("{\"metadata\":{\"name\":\"r\"}}");
    assert_true(dp_set_new_rs_annotations(d, r, "1", false));
    assert_string_equal(k8s_obj_annotation(r, "team"), "x");
    assert_null(k8s_obj_annotation(r, "kubectl.kubernetes.io/last-applied-configuration"));
    assert_string_equal(k8s_obj_annotation(r, DP_REVISION), "1");
    assert_string_equal(k8s_obj_annotation(r, DP_DESIRED), "4");
    assert_string_equal(k8s_obj_annotation(r, DP_MAX), "5");
    assert_null(k8s_obj_annotation(r, DP_REVISION_HISTORY));
    assert_false(dp_set_new_rs_annotations(d, r, "1", true)); /* nothing new */
    assert_true(dp_set_new_rs_annotations(d, r, "3", true));
    assert_string_equal(k8s_obj_annotation(r, DP_REVISION_HISTORY), "1");
    assert_true(dp_set_new_rs_annotations(d, r, "5", true));
    assert_string_equal(k8s_obj_annotation(r, DP_REVISION_HISTORY), "1,3");
    assert_false(dp_set_new_rs_annotations(d, r, "2", true)); /* never goes back */
    assert_string_equal(k8s_obj_annotation(r, DP_REVISION), "5");
    json_decref(r);
    json_decref(d);
}

static void test_hash(void **state)
{
    (void)state;
    json_t *t = J("{\"metadata\":{\"labels\":{\"app\":\"a\"}},\"spec\":{\"containers\":[{"
                  "\"name\":\"c\",\"image\":\"nginx\"}]}}");
    char h1[16], h2[16], h3[16];
    dp_compute_hash(t, -1, h1);
    dp_compute_hash(t, -1, h2);
    dp_compute_hash(t, 1, h3);
    assert_string_equal(h1, h2);
    assert_string_not_equal(h1, h3);
    assert_true(strlen(h1) >= 1 && strlen(h1) <= 10);
    for (const char *p = h1; *p; p++)
        assert_non_null(strchr("bcdfghjklmnpqrstvwxz2456789", *p));
    /* EqualIgnoreHash: the hash label and empty values do not count */
    json_t *t2 = J("{\"metadata\":{\"labels\":{\"app\":\"a\",\"pod-template-hash\":\"zz\"},"
                   "\"creationTimestamp\":null},\"spec\":{\"containers\":[{\"name\":\"c\","
                   "\"image\":\"nginx\",\"env\":[]}]}}");
    assert_true(dp_equal_ignore_hash(t, t2));
    json_t *t3 = J("{\"metadata\":{\"labels\":{\"app\":\"a\"}},\"spec\":{\"containers\":[{"
                   "\"name\":\"c\",\"image\":\"nginx:2\"}]}}");
    assert_false(dp_equal_ignore_hash(t, t3));
    json_decref(t);
    json_decref(t2);
    json_decref(t3);
}

static void test_complete_progressing(void **state)
{
    (void)state;
    json_t *d = J("{\"metadata\":{\"generation\":2},\"spec\":{\"replicas\":3},\"status\":{"
                  "\"replicas\":4,\"updatedReplicas\":2,\"readyReplicas\":3,"
                  "\"availableReplicas\":3}}");
    json_t *done = J("{\"replicas\":3,\"updatedReplicas\":3,\"availableReplicas\":3,"
                     "\"observedGeneration\":2}");
    json_t *stale = J("{\"replicas\":3,\"updatedReplicas\":3,\"availableReplicas\":3,"
                      "\"observedGeneration\":1}");
    json_t *same = J("{\"replicas\":4,\"updatedReplicas\":2,\"readyReplicas\":3,"
                     "\"availableReplicas\":3}");
    assert_true(dp_complete(d, done));
    assert_false(dp_complete(d, stale));
    assert_true(dp_progressing(d, done));
    assert_false(dp_progressing(d, same));
    json_decref(d), json_decref(done), json_decref(stale), json_decref(same);
}

static void test_conditions(void **state)
{
    (void)state;
    json_t *st = json_object();
    dp_set_condition(st, "Progressing", "True", "ReplicaSetUpdated", "m1", "2024-01-01T00:00:00Z");
    dp_set_condition(st, "Progressing", "True", "NewReplicaSetAvailable", "m2",
                     "2024-01-01T00:01:00Z");
    json_t *c = k8s_condition_get(st, "Progressing", NULL);
    /* same status: the transition time stays, the update time moves */
    assert_string_equal(json_string_value(json_object_get(c, "lastTransitionTime")),
                        "2024-01-01T00:00:00Z");
    assert_string_equal(json_string_value(json_object_get(c, "lastUpdateTime")),
                        "2024-01-01T00:01:00Z");
    dp_set_condition(st, "Progressing", "False", "ProgressDeadlineExceeded", "m3",
                     "2024-01-01T00:02:00Z");
    c = k8s_condition_get(st, "Progressing", NULL);
    assert_string_equal(json_string_value(json_object_get(c, "lastTransitionTime")),
                        "2024-01-01T00:02:00Z");
    /* same status and reason: nothing changes */
    dp_set_condition(st, "Progressing", "False", "ProgressDeadlineExceeded", "m4",
                     "2024-01-01T00:03:00Z");
    c = k8s_condition_get(st, "Progressing", NULL);
    assert_string_equal(json_string_value(json_object_get(c, "message")), "m3");
    assert_int_equal(json_array_size(json_object_get(st, "conditions")), 1);
    dp_remove_condition(st, "Progressing");
    assert_int_equal(json_array_size(json_object_get(st, "conditions")), 0);
    json_decref(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fenceposts),
        cmocka_unit_test(test_max_unavailable),
        cmocka_unit_test(test_new_rs_new_replicas),
        cmocka_unit_test(test_reconcile_old),
        cmocka_unit_test(test_proportion),
        cmocka_unit_test(test_annotations),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_complete_progressing),
        cmocka_unit_test(test_conditions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
