/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for pod/node accessors, conditions and controller references: cases from
 * upstream's apimachinery meta/v1 controller_ref_test.go (TestGetControllerOf,
 * TestIsControlledBy) and pkg/api/v1/pod util_test.go (TestUpdatePodCondition,
 * TestIsPodReady-style cases). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/pod.h"

#include <jansson.h>

#include "k8s_test.h"

/* cases from TestGetControllerOf and TestIsControlledBy */
static void test_controller_of(void **state)
{
    (void)state;
    json_t *obj1 = J("{\"metadata\":{\"uid\":\"uid1\",\"name\":\"name1\"}}");
    json_t *obj2 = J("{\"metadata\":{\"uid\":\"uid2\",\"name\":\"name1\",\"ownerReferences\":["
                     "{\"name\":\"owner1\",\"controller\":false},"
                     "{\"apiVersion\":\"group/v1\",\"kind\":\"Kind\",\"name\":\"name1\",\"uid\":"
                     "\"uid1\",\"controller\":true},"
                     "{\"name\":\"owner2\",\"controller\":false}]}}");
    assert_null(k8s_obj_controller_of(obj1));
    const json_t *c = k8s_obj_controller_of(obj2);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "name")), "name1");
    assert_string_equal(json_string_value(json_object_get(c, "uid")), "uid1");
    assert_true(k8s_obj_is_controlled_by(obj2, k8s_obj_uid(obj1)));
    assert_false(k8s_obj_is_controlled_by(obj2, "uid2"));
    assert_false(k8s_obj_is_controlled_by(obj1, "uid1"));
    /* a reference without controller (nil) is not the controller */
    json_t *obj3 = J("{\"metadata\":{\"ownerReferences\":[{\"name\":\"a\",\"uid\":\"u\"}]}}");
    assert_null(k8s_obj_controller_of(obj3));
    json_decref(obj1);
    json_decref(obj2);
    json_decref(obj3);
}

#define T0 "2026-01-01T00:00:00Z"
#define T1 "2026-01-01T00:00:10Z"

/* cases from TestUpdatePodCondition */
static void test_update_condition(void **state)
{
    (void)state;
    static const struct {
        const char *desc, *status, *cond;
        bool changed;
        const char *ltt; /* lastTransitionTime afterwards */
    } table[] = {
        {"add a new condition", "{}",
         "{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"r\",\"message\":\"m\"}", true, T1},
        {"same status, reason and message: unchanged, time kept",
         "{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"r\",\"message\":"
         "\"m\",\"lastTransitionTime\":\"" T0 "\"}]}",
         "{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"r\",\"message\":\"m\"}", false, T0},
        {"status changes: transition time moves",
         "{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\",\"lastTransitionTime\":\"" T0
         "\"}]}",
         "{\"type\":\"Ready\",\"status\":\"True\"}", true, T1},
        {"reason changes, status does not: time kept",
         "{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"a\","
         "\"lastTransitionTime\":\"" T0 "\"}]}",
         "{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"b\"}", true, T0},
        {"message changes",
         "{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"message\":"
         "\"a\",\"lastTransitionTime\":\"" T0 "\"}]}",
         "{\"type\":\"Ready\",\"status\":\"True\",\"message\":\"b\"}", true, T0},
        {"probe time changes",
         "{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastProbeTime\":\"" T0
         "\",\"lastTransitionTime\":\"" T0 "\"}]}",
         "{\"type\":\"Ready\",\"status\":\"True\",\"lastProbeTime\":\"" T1 "\"}", true, T0},
        {"other types are left alone",
         "{\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"True\"}]}",
         "{\"type\":\"Ready\",\"status\":\"False\"}", true, T1},
    };
    for (size_t i = 0; i < N(table); i++) {
        json_t *pod = json_pack("{s:o}", "status", J(table[i].status));
        json_t *cond = J(table[i].cond);
        if (k8s_pod_update_condition(pod, cond, T1) != table[i].changed)
            fail_msg("[%s] want changed=%d", table[i].desc, table[i].changed);
        int idx;
        json_t *c = k8s_condition_get(json_object_get(pod, "status"), "Ready", &idx);
        assert_non_null(c);
        assert_true(idx >= 0);
        assert_string_equal(json_string_value(json_object_get(c, "lastTransitionTime")),
                            table[i].ltt);
        assert_string_equal(json_string_value(json_object_get(c, "status")),
                            json_string_value(json_object_get(cond, "status")));
        /* the caller's condition is copied, not taken */
        assert_null(json_object_get(cond, "lastTransitionTime"));
        json_decref(cond);
        json_decref(pod);
    }
    /* a pod without status gets one; the current time is used when now is NULL */
    json_t *pod = J("{}");
    json_t *cond = J("{\"type\":\"PodScheduled\",\"status\":\"False\"}");
    assert_true(k8s_pod_update_condition(pod, cond, NULL));
    assert_false(k8s_pod_is_scheduled(pod));
    const char *t = json_string_value(
        json_object_get(k8s_condition_get(json_object_get(pod, "status"), "PodScheduled", NULL),
                        "lastTransitionTime"));
    assert_non_null(t);
    assert_int_equal(strlen(t), 20);
    json_decref(cond);
    json_decref(pod);
}

static void test_pod_accessors(void **state)
{
    (void)state;
    json_t *pod =
        J("{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"u1\",\"labels\":"
          "{\"app\":\"web\",\"n\":1},\"annotations\":{\"a\":\"b\"}},\"spec\":{\"nodeName\":"
          "\"n1\",\"schedulerName\":\"default-scheduler\",\"priority\":1000},\"status\":"
          "{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},"
          "{\"type\":\"PodScheduled\",\"status\":\"True\"}]}}");
    assert_string_equal(k8s_obj_name(pod), "p");
    assert_string_equal(k8s_obj_namespace(pod), "ns");
    assert_string_equal(k8s_obj_uid(pod), "u1");
    assert_string_equal(k8s_obj_label(pod, "app"), "web");
    assert_null(k8s_obj_label(pod, "n"));
    assert_null(k8s_obj_label(pod, "missing"));
    assert_string_equal(k8s_obj_annotation(pod, "a"), "b");
    assert_false(k8s_obj_deleting(pod));
    assert_string_equal(k8s_pod_node_name(pod), "n1");
    assert_true(k8s_pod_is_assigned(pod));
    assert_string_equal(k8s_pod_scheduler_name(pod), "default-scheduler");
    assert_int_equal(k8s_pod_priority(pod), 1000);
    assert_string_equal(k8s_pod_phase(pod), "Running");
    assert_false(k8s_pod_is_terminal(pod));
    assert_true(k8s_pod_is_ready(pod));
    assert_true(k8s_pod_is_scheduled(pod));
    json_decref(pod);
    /* IsPodReady: no conditions, a False Ready, an Unknown Ready */
    static const struct {
        const char *status;
        bool ready;
    } ready[] = {
        {"{}", false},
        {"{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}", false},
        {"{\"conditions\":[{\"type\":\"Ready\",\"status\":\"Unknown\"}]}", false},
        {"{\"conditions\":[{\"type\":\"ContainersReady\",\"status\":\"True\"}]}", false},
        {"{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}", true},
    };
    for (size_t i = 0; i < N(ready); i++) {
        json_t *p = json_pack("{s:o}", "status", J(ready[i].status));
        assert_int_equal(k8s_pod_is_ready(p), ready[i].ready);
        json_decref(p);
    }
    static const struct {
        const char *phase;
        bool terminal;
    } phases[] = {{"Pending", false}, {"Running", false}, {"Succeeded", true},
                  {"Failed", true},   {"Unknown", false}, {"", false}};
    for (size_t i = 0; i < N(phases); i++) {
        json_t *p = json_pack("{s:{s:s}}", "status", "phase", phases[i].phase);
        assert_int_equal(k8s_pod_is_terminal(p), phases[i].terminal);
        json_decref(p);
    }
    json_t *empty = J("{}");
    assert_string_equal(k8s_obj_name(empty), "");
    assert_int_equal(k8s_pod_priority(empty), 0);
    assert_false(k8s_pod_is_assigned(empty));
    json_decref(empty);
    json_t *del = J("{\"metadata\":{\"deletionTimestamp\":\"" T0 "\"}}");
    assert_true(k8s_obj_deleting(del));
    json_decref(del);
}

static void test_node_accessors(void **state)
{
    (void)state;
    json_t *node = J("{\"metadata\":{\"name\":\"n1\"},\"spec\":{\"unschedulable\":true},\"status\":"
                     "{\"capacity\":{\"cpu\":\"4\",\"memory\":\"8Gi\",\"pods\":\"110\"},"
                     "\"allocatable\":{\"cpu\":\"3500m\",\"memory\":\"7Gi\",\"pods\":\"110\","
                     "\"ephemeral-storage\":\"10Gi\",\"example.com/gpu\":\"2\"},"
                     "\"conditions\":[{\"type\":\"MemoryPressure\",\"status\":\"False\"},"
                     "{\"type\":\"Ready\",\"status\":\"True\"}]}}");
    struct k8s_resource r;
    k8s_node_allocatable_summary(node, &r);
    assert_int_equal(r.milli_cpu, 3500);
    assert_int_equal(r.memory, 7LL << 30);
    assert_int_equal(r.pods, 110);
    assert_int_equal(r.ephemeral_storage, 10LL << 30);
    struct k8s_reslist l = K8S_RESLIST_INIT;
    k8s_node_allocatable(node, &l);
    assert_int_equal(k8s_reslist_value(&l, "example.com/gpu"), 2);
    k8s_node_capacity(node, &l);
    assert_int_equal(k8s_reslist_milli(&l, "cpu"), 4000);
    assert_null(k8s_reslist_get(&l, "example.com/gpu"));
    k8s_reslist_release(&l);
    assert_true(k8s_node_is_ready(node));
    assert_true(k8s_node_unschedulable(node));
    int idx;
    assert_non_null(k8s_condition_get(json_object_get(node, "status"), "Ready", &idx));
    assert_int_equal(idx, 1);
    assert_null(k8s_condition_get(json_object_get(node, "status"), "DiskPressure", &idx));
    assert_int_equal(idx, -1);
    json_t *n2 = J("{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"Unknown\"}]}}");
    assert_false(k8s_node_is_ready(n2));
    assert_false(k8s_node_unschedulable(n2));
    json_decref(n2);
    json_decref(node);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_controller_of),
        cmocka_unit_test(test_update_condition),
        cmocka_unit_test(test_pod_accessors),
        cmocka_unit_test(test_node_accessors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
