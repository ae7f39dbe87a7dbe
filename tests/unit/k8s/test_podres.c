/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for pod resource aggregation and QoS: tables from upstream's
 * component-helpers resource/helpers_test.go and pkg/apis/core/v1/helper/qos/qos_test.go. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/podres.h"

#include <jansson.h>

#include "k8s_test.h"

/* The list as compact canonical JSON with sorted keys, for comparison. */
static char *dump(const struct k8s_reslist *l)
{
    json_t *o = k8s_reslist_to_json(l);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

static void expect_list(const char *what, const struct k8s_reslist *l, const char *want)
{
    char *got = dump(l);
    json_t *w = J(want);
    char *ws = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
    if (strcmp(got, ws))
        fail_msg("%s: got %s, want %s", what, got, ws);
    free(got);
    free(ws);
    json_decref(w);
}

/* getPod(name, podResources) of the upstream test: one container plus overhead. */
static json_t *one_container_pod(const char *requests, const char *limits, const char *overhead)
{
    json_t *c = json_pack("{s:s,s:{s:o,s:o}}", "name", "foo", "resources", "requests", J(requests),
                          "limits", J(limits));
    json_t *pod = json_pack("{s:{s:[o]}}", "spec", "containers", c);
    if (overhead)
        json_object_set_new(json_object_get(pod, "spec"), "overhead", J(overhead));
    return pod;
}

/* cases from TestPodRequestsAndLimits */
static void test_requests_and_limits(void **state)
{
    (void)state;
    static const struct {
        const char *name, *requests, *limits, *overhead, *want_req, *want_lim;
    } table[] = {
        {"just-limit-no-overhead", "{}", "{\"cpu\":\"9\"}", NULL, "{}", "{\"cpu\":\"9\"}"},
        {"just-overhead", "{}", "{}", "{\"cpu\":\"5\",\"memory\":\"5\"}",
         "{\"cpu\":\"5\",\"memory\":\"5\"}", "{}"},
        {"req-and-overhead", "{\"cpu\":\"1\",\"memory\":\"10\"}", "{}",
         "{\"cpu\":\"5\",\"memory\":\"5\"}", "{\"cpu\":\"6\",\"memory\":\"15\"}", "{}"},
        {"all-req-lim-and-overhead", "{\"cpu\":\"1\",\"memory\":\"10\"}",
         "{\"cpu\":\"2\",\"memory\":\"12\"}", "{\"cpu\":\"5\",\"memory\":\"5\"}",
         "{\"cpu\":\"6\",\"memory\":\"15\"}", "{\"cpu\":\"7\",\"memory\":\"17\"}"},
        {"req-some-lim-and-overhead", "{\"cpu\":\"1\",\"memory\":\"10\"}", "{\"cpu\":\"2\"}",
         "{\"cpu\":\"5\",\"memory\":\"5\"}", "{\"cpu\":\"6\",\"memory\":\"15\"}",
         "{\"cpu\":\"7\"}"},
    };
    for (size_t i = 0; i < N(table); i++) {
        json_t *pod = one_container_pod(table[i].requests, table[i].limits, table[i].overhead);
        struct k8s_reslist l = K8S_RESLIST_INIT;
        k8s_pod_requests(pod, NULL, &l);
        expect_list(table[i].name, &l, table[i].want_req);
        k8s_pod_limits(pod, NULL, &l);
        expect_list(table[i].name, &l, table[i].want_lim);
        /* TestPodRequestsAndLimitsWithoutOverhead: the overhead is left out on request */
        struct k8s_podres_opts o = {.exclude_overhead = true};
        k8s_pod_requests(pod, &o, &l);
        char *got = dump(&l);
        json_t *r = J(table[i].requests);
        char *want = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(got, want);
        free(got);
        free(want);
        json_decref(r);
        k8s_reslist_release(&l);
        json_decref(pod);
    }
}

#define C(name, cpu) "{\"name\":\"" name "\",\"resources\":{\"requests\":{\"cpu\":\"" cpu "\"}}}"
#define SC(name, cpu)                                                                              \
    "{\"name\":\"" name                                                                            \
    "\",\"restartPolicy\":\"Always\",\"resources\":{\"requests\":{\"cpu\":\"" cpu "\"}}}"

/* cases from TestPodResourceRequests (the spec-only ones) */
static void test_pod_resource_requests(void **state)
{
    (void)state;
    static const struct {
        const char *desc, *init, *containers, *want;
    } table[] = {
        {"nil options, larger init container", "[" C("i", "4") "]", "[" C("c", "1") "]", "4"},
        {"nil options, larger containers", "[" C("i", "2") "]",
         "[" C("c1", "2") "," C("c2", "3") "]", "5"},
        {"restartable init container", "[" SC("restartable-init-1", "1") "]",
         "[" C("container-1", "1") "]", "2"},
        {"multiple restartable init containers",
         "[" C("init-1", "5") "," SC("r1", "1") "," SC("r2", "2") "," SC("r3", "3") "]",
         "[" C("container-1", "1") "]", "7"},
        {"multiple restartable and regular init containers",
         "[" C("init-1", "5") "," SC("r1", "1") "," SC("r2", "2") "," C("init-2",
                                                                        "5") "," SC("r3", "3") "]",
         "[" C("container-1", "1") "]", "8"},
        {"restartable-init, init and regular", "[" SC("r1", "10") "," C("init-1", "200") "]",
         "[" C("container-1", "100") "]", "210"},
    };
    for (size_t i = 0; i < N(table); i++) {
        json_t *pod = json_pack("{s:{s:o,s:o}}", "spec", "initContainers", J(table[i].init),
                                "containers", J(table[i].containers));
        struct k8s_reslist l = K8S_RESLIST_INIT;
        k8s_pod_requests(pod, NULL, &l);
        char want[64];
        snprintf(want, sizeof(want), "{\"cpu\":\"%s\"}", table[i].want);
        expect_list(table[i].desc, &l, want);
        k8s_reslist_release(&l);
        json_decref(pod);
    }
}

/* cases from TestPodLevelResourceRequests: pod-level cpu/memory replace the aggregate,
 * other names keep the container sum; SkipPodLevelResources ignores them */
static void test_pod_level(void **state)
{
    (void)state;
    json_t *pod = J(
        "{\"spec\":{\"resources\":{\"requests\":{\"cpu\":\"2\",\"memory\":\"1Gi\"},"
        "\"limits\":{\"cpu\":\"4\"}},\"overhead\":{\"cpu\":\"1\"},"
        "\"initContainers\":[" SC(
            "s", "1") "],"
                      "\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"1\","
                      "\"ephemeral-storage\":\"1Gi\"},\"limits\":{\"cpu\":\"1\"}}}]}}");
    struct k8s_reslist l = K8S_RESLIST_INIT;
    k8s_pod_requests(pod, NULL, &l);
    expect_list("pod-level requests", &l,
                "{\"cpu\":\"3\",\"memory\":\"1Gi\",\"ephemeral-storage\":\"1Gi\"}");
    struct k8s_podres_opts skip = {.skip_pod_level = true};
    k8s_pod_requests(pod, &skip, &l);
    expect_list("skip pod-level", &l, "{\"cpu\":\"3\",\"ephemeral-storage\":\"1Gi\"}");
    k8s_pod_limits(pod, NULL, &l);
    expect_list("pod-level limits", &l, "{\"cpu\":\"5\"}");
    /* a pod-level entry that is not cpu/memory/hugepages-* does not count */
    json_t *pod2 = J("{\"spec\":{\"resources\":{\"requests\":{\"example.com/x\":\"2\"}},"
                     "\"containers\":[" C("c", "1") "]}}");
    k8s_pod_requests(pod2, NULL, &l);
    expect_list("unsupported pod-level", &l, "{\"cpu\":\"1\"}");
    k8s_reslist_release(&l);
    json_decref(pod);
    json_decref(pod2);
}

/* The scheduler's non-zero requests: GetNonzeroRequests and NonMissingContainerRequests
 * ("non missing container requests applied to init container" of
 * TestPodRequestsAndLimitsVerticalScalingWrappers) */
static void test_nonzero(void **state)
{
    (void)state;
    static const struct {
        const char *desc, *spec;
        int64_t milli_cpu, memory, nz_cpu, nz_mem;
    } table[] = {
        {"no requests", "{\"containers\":[{\"name\":\"c\"}]}", 0, 0, 100, 200LL << 20},
        {"explicit zero is kept",
         "{\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"0\",\"memory\":"
         "\"0\"}}}]}",
         0, 0, 0, 0},
        {"cpu only", "{\"containers\":[" C("c", "250m") "]}", 250, 0, 250, 200LL << 20},
        {"two containers", "{\"containers\":[" C("a", "1") ",{\"name\":\"b\"}]}", 1000, 0, 1100,
         400LL << 20},
        /* the init container gets the memory default too: max(200Mi, 200Mi) */
        {"init container larger than the defaults",
         "{\"initContainers\":[" C("i", "2") "],\"containers\":[{\"name\":\"b\"}]}", 2000, 0, 2000,
         200LL << 20},
    };
    for (size_t i = 0; i < N(table); i++) {
        json_t *pod = json_pack("{s:o}", "spec", J(table[i].spec));
        struct k8s_resource r, nz;
        k8s_pod_scheduling_requests(pod, &r, &nz);
        if (r.milli_cpu != table[i].milli_cpu || r.memory != table[i].memory ||
            nz.milli_cpu != table[i].nz_cpu || nz.memory != table[i].nz_mem)
            fail_msg("[%s] cpu %lld mem %lld nz %lld/%lld", table[i].desc, (long long)r.milli_cpu,
                     (long long)r.memory, (long long)nz.milli_cpu, (long long)nz.memory);
        json_decref(pod);
    }
    /* GetRequestForResource */
    struct k8s_reslist l = K8S_RESLIST_INIT;
    assert_int_equal(k8s_request_for_resource(&l, "cpu", true), 100);
    assert_int_equal(k8s_request_for_resource(&l, "memory", true), 200LL << 20);
    assert_int_equal(k8s_request_for_resource(&l, "cpu", false), 0);
    json_t *rl = J("{\"cpu\":\"0\",\"example.com/gpu\":\"2\",\"ephemeral-storage\":\"1Ki\"}");
    assert_int_equal(k8s_reslist_add_json(&l, rl), 0);
    assert_int_equal(k8s_request_for_resource(&l, "cpu", true), 0);
    assert_int_equal(k8s_request_for_resource(&l, "example.com/gpu", true), 2);
    assert_int_equal(k8s_request_for_resource(&l, "ephemeral-storage", false), 1024);
    json_decref(rl);
    rl = J("{\"bad\":\"lots\",\"pods\":110}");
    assert_int_equal(k8s_reslist_add_json(&l, rl), 1);
    struct k8s_resource sum;
    k8s_reslist_summary(&l, &sum);
    assert_int_equal(sum.pods, 110);
    assert_int_equal(sum.ephemeral_storage, 1024);
    assert_null(k8s_reslist_get(&l, "bad"));
    json_decref(rl);
    k8s_reslist_release(&l);
}

#define RL(cpu, mem) "{" cpu mem "}"
#define CT(req, lim) "{\"name\":\"c\",\"resources\":{\"requests\":" req ",\"limits\":" lim "}}"

/* cases from TestComputePodQOS */
static void test_qos(void **state)
{
    (void)state;
    static const struct {
        const char *name, *spec, *want;
    } table[] = {
        {"guaranteed",
         "{\"containers\":[" CT("{\"cpu\":\"100m\",\"memory\":\"100Mi\"}",
                                "{\"cpu\":\"100m\",\"memory\":\"100Mi\"}") "]}",
         "Guaranteed"},
        {"guaranteed-guaranteed",
         "{\"containers\":[" CT(
             "{\"cpu\":\"100m\",\"memory\":\"100Mi\"}",
             "{\"cpu\":\"100m\",\"memory\":\"100Mi\"}") "," CT("{\"cpu\":\"100m\",\"memory\":"
                                                               "\"100Mi\"}",
                                                               "{\"cpu\":\"100m\",\"memory\":"
                                                               "\"100Mi\"}") "]}",
         "Guaranteed"},
        {"best-effort-best-effort", "{\"containers\":[" CT("{}", "{}") "," CT("{}", "{}") "]}",
         "BestEffort"},
        {"best-effort", "{\"containers\":[" CT("{}", "{}") "]}", "BestEffort"},
        {"best-effort-burstable",
         "{\"containers\":[" CT("{}", "{}") "," CT("{\"cpu\":\"1\"}", "{\"cpu\":\"2\"}") "]}",
         "Burstable"},
        {"best-effort-guaranteed",
         "{\"containers\":[" CT("{}", "{}") "," CT("{\"cpu\":\"10m\",\"memory\":\"100Mi\"}",
                                                   "{\"cpu\":\"10m\",\"memory\":\"100Mi\"}") "]}",
         "Burstable"},
        {"burstable-cpu-guaranteed-memory",
         "{\"containers\":[" CT("{\"memory\":\"100Mi\"}", "{\"memory\":\"100Mi\"}") "]}",
         "Burstable"},
        {"burstable-no-limits",
         "{\"containers\":[" CT("{\"cpu\":\"100m\",\"memory\":\"100Mi\"}", "{}") "]}", "Burstable"},
        {"burstable-guaranteed",
         "{\"containers\":[" CT(
             "{\"cpu\":\"1\",\"memory\":\"100Mi\"}",
             "{\"cpu\":\"2\",\"memory\":"
             "\"100Mi\"}") "," CT("{\"cpu\":\"100m\",\"memory\":\"100Mi\"}",
                                  "{\"cpu\":\"100m\",\"memory\":\"100Mi\"}") "]}",
         "Burstable"},
        {"burstable-unbounded-but-requests-match-limits",
         "{\"containers\":[" CT(
             "{\"cpu\":\"100m\",\"memory\":\"100Mi\"}",
             "{\"cpu\":\"200m\",\"memory\":\"200Mi\"}") "," CT("{\"cpu\":\"100m\",\"memory\":"
                                                               "\"100Mi\"}",
                                                               "{}") "]}",
         "Burstable"},
        {"burstable-1",
         "{\"containers\":[" CT("{\"cpu\":\"10m\",\"memory\":\"100Mi\"}",
                                "{\"cpu\":\"100m\",\"memory\":\"200Mi\"}") "]}",
         "Burstable"},
        {"burstable-2",
         "{\"containers\":[" CT("{\"cpu\":\"0\",\"memory\":\"0\"}",
                                "{\"cpu\":\"100m\",\"memory\":\"200Mi\"}") "]}",
         "Burstable"},
        {"best-effort-hugepages",
         "{\"containers\":[" CT("{\"cpu\":\"0\",\"memory\":\"0\",\"hugepages-2Mi\":\"1Gi\"}",
                                "{\"cpu\":\"0\",\"memory\":\"0\",\"hugepages-2Mi\":\"1Gi\"}") "]}",
         "BestEffort"},
        {"init-container",
         "{\"containers\":[" CT("{}", "{}") "],\"initContainers\":[" CT(
             "{\"cpu\":\"10m\",\"memory\":\"100Mi\"}",
             "{\"cpu\":\"100m\",\"memory\":\"200Mi\"}") "]}",
         "Burstable"},
        {"guaranteed-with-pod-level-resources",
         "{\"containers\":[" CT(
             "{}", "{}") "],\"resources\":{\"requests\":{\"cpu\":\"10m\",\"memory\":\"100Mi\"},"
                         "\"limits\":{\"cpu\":\"10m\",\"memory\":\"100Mi\"}}}",
         "Guaranteed"},
        {"guaranteed-with-pod-and-container-level-resources",
         "{\"containers\":[" CT(
             "{\"cpu\":\"3m\",\"memory\":\"10Mi\"}",
             "{\"cpu\":\"5m\",\"memory\":\"20Mi\"}") "],"
                                                     "\"resources\":{\"requests\":{\"cpu\":\"10m\","
                                                     "\"memory\":\"100Mi\"},\"limits\":{\"cpu\":"
                                                     "\"10m\",\"memory\":\"100Mi\"}}}",
         "Guaranteed"},
        {"burstable-with-pod-level-resources",
         "{\"containers\":[" CT(
             "{}", "{}") "],\"resources\":{\"requests\":{\"cpu\":\"10m\",\"memory\":\"10Mi\"},"
                         "\"limits\":{\"cpu\":\"20m\",\"memory\":\"50Mi\"}}}",
         "Burstable"},
        {"burstable-with-pod-and-container-level-resources",
         "{\"containers\":[" CT(
             "{\"cpu\":\"5m\",\"memory\":\"10Mi\"}",
             "{\"cpu\":\"5m\",\"memory\":\"10Mi\"}") "],"
                                                     "\"resources\":{\"requests\":{\"cpu\":\"10m\","
                                                     "\"memory\":\"10Mi\"},\"limits\":{\"cpu\":"
                                                     "\"20m\",\"memory\":\"50Mi\"}}}",
         "Burstable"},
        {"burstable-with-pod-and-container-level-requests",
         "{\"containers\":[" CT("{\"cpu\":\"5m\",\"memory\":\"10Mi\"}",
                                "{}") "],\"resources\":{\"requests\":{\"cpu\":\"10m\",\"memory\":"
                                      "\"10Mi\"},\"limits\":{}}}",
         "Burstable"},
        {"burstable-with-pod-and-container-level-resources-2",
         "{\"containers\":[" CT("{\"cpu\":\"5m\",\"memory\":\"10Mi\"}", "{}") "," CT(
             "{\"cpu\":\"5m\",\"memory\":\"10Mi\"}",
             "{\"cpu\":\"5m\",\"memory\":\"10Mi\"}") "],"
                                                     "\"resources\":{\"requests\":{\"cpu\":\"10m\","
                                                     "\"memory\":\"10Mi\"},\"limits\":{\"cpu\":"
                                                     "\"5m\"}}}",
         "Burstable"},
    };
    for (size_t i = 0; i < N(table); i++) {
        json_t *pod = json_pack("{s:o}", "spec", J(table[i].spec));
        const char *got = k8s_pod_compute_qos(pod);
        if (strcmp(got, table[i].want))
            fail_msg("[%s] got %s, want %s", table[i].name, got, table[i].want);
        /* GetPodQOS prefers status.qosClass */
        json_object_set_new(pod, "status", json_pack("{s:s}", "qosClass", "Guaranteed"));
        assert_string_equal(k8s_pod_qos(pod), "Guaranteed");
        json_decref(pod);
    }
}

static void test_reslist_ops(void **state)
{
    (void)state;
    struct k8s_reslist a = K8S_RESLIST_INIT, b = K8S_RESLIST_INIT;
    json_t *ja = J("{\"cpu\":\"1\",\"memory\":\"1Gi\"}"),
           *jb = J("{\"cpu\":\"500m\",\"memory\":\"2Gi\",\"x\":\"3\"}");
    k8s_reslist_add_json(&a, ja);
    k8s_reslist_add_json(&b, jb);
    struct k8s_reslist m = K8S_RESLIST_INIT;
    k8s_reslist_max_list(&m, &a);
    k8s_reslist_max_list(&m, &b);
    expect_list("max", &m, "{\"cpu\":\"1\",\"memory\":\"2Gi\",\"x\":\"3\"}");
    k8s_reslist_add_list(&a, &b);
    expect_list("add", &a, "{\"cpu\":\"1500m\",\"memory\":\"3Gi\",\"x\":\"3\"}");
    assert_int_equal(k8s_reslist_milli(&a, "cpu"), 1500);
    assert_int_equal(k8s_reslist_value(&a, "cpu"), 2);
    assert_int_equal(k8s_reslist_value(&a, "nothing"), 0);
    k8s_reslist_release(&a);
    k8s_reslist_release(&b);
    k8s_reslist_release(&m);
    json_decref(ja);
    json_decref(jb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_and_limits),
        cmocka_unit_test(test_pod_resource_requests),
        cmocka_unit_test(test_pod_level),
        cmocka_unit_test(test_nonzero),
        cmocka_unit_test(test_qos),
        cmocka_unit_test(test_reslist_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
