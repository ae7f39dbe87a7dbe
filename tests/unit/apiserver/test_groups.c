/* SPDX-License-Identifier: Apache-2.0 */
/* The newer API groups: version conversions (autoscaling/v1 <-> v2 HorizontalPodAutoscaler,
 * events.k8s.io/v1 <-> core/v1 Event, flowcontrol v1beta3), their printers, discovery of the
 * extra versions, and the engine serving them: one stored object seen in both versions (GET,
 * LIST, WATCH, PATCH), CSR create/approval, componentstatuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "apiserver/registry/conversion.h"
#include "apiserver/registry/printers.h"
#include "engine_harness.h"

#define NOW 1767226200
#define META(n) "\"metadata\":{\"name\":\"" n "\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"}"

static json_t *parse(const char *s)
{
    json_error_t je;
    json_t *v = json_loads(s, 0, &je);
    if (!v)
        fail_msg("bad test json: %s (%s)", je.text, s);
    return v;
}

static void assert_json_eq(json_t *got, const char *want)
{
    json_t *w = parse(want);
    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        char *ws = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("\n got: %s\nwant: %s", g, ws);
    }
    json_decref(w);
}

/* ---- conversions ---------------------------------------------------------------------- */

static void test_hpa_v1_to_v2(void **state)
{
    (void)state;
    struct ck_err err = CK_ERR_INIT;
    json_t *v1 = parse("{\"apiVersion\":\"autoscaling/v1\",\"kind\":\"HorizontalPodAutoscaler\","
                       "\"metadata\":{\"name\":\"web\"},\"spec\":{\"scaleTargetRef\":{\"kind\":"
                       "\"Deployment\",\"name\":\"web\",\"apiVersion\":\"apps/v1\"},"
                       "\"minReplicas\":1,\"maxReplicas\":3,\"targetCPUUtilizationPercentage\":50},"
                       "\"status\":{\"currentReplicas\":2,\"desiredReplicas\":2,"
                       "\"currentCPUUtilizationPercentage\":40}}");
    json_t *v2 = conv_hpa_v1_to_v2(v1, &err);
    assert_non_null(v2);
    assert_json_eq(v2,
                   "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\","
                   "\"metadata\":{\"name\":\"web\"},\"spec\":{\"scaleTargetRef\":{\"kind\":"
                   "\"Deployment\",\"name\":\"web\",\"apiVersion\":\"apps/v1\"},"
                   "\"minReplicas\":1,\"maxReplicas\":3,\"metrics\":[{\"type\":\"Resource\","
                   "\"resource\":{\"name\":\"cpu\",\"target\":{\"type\":\"Utilization\","
                   "\"averageUtilization\":50}}}]},\"status\":{\"currentReplicas\":2,"
                   "\"desiredReplicas\":2,\"currentMetrics\":[{\"type\":\"Resource\","
                   "\"resource\":{\"name\":\"cpu\",\"current\":{\"averageUtilization\":40}}}]}}");
    json_decref(v2);
    /* no target: v1's implicit default of 80% becomes explicit */
    json_object_del(json_object_get(v1, "spec"), "targetCPUUtilizationPercentage");
    v2 = conv_hpa_v1_to_v2(v1, &err);
    assert_int_equal(
        jint(json_array_get(json_object_get(json_object_get(v2, "spec"), "metrics"), 0),
             "resource.target.averageUtilization"),
        80);
    json_decref(v2);
    /* a broken round-trip annotation is a 400 */
    json_object_set_new(json_object_get(v1, "metadata"), "annotations",
                        json_pack("{s:s}", "autoscaling.alpha.kubernetes.io/metrics", "{bad"));
    assert_null(conv_hpa_v1_to_v2(v1, &err));
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    json_decref(v1);
}

/* Every metric source kind, in spec and status, survives v2 -> v1 (annotations) -> v2. */
static void test_hpa_v2_metric_kinds_round_trip(void **state)
{
    (void)state;
    const char *v2s =
        "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":{"
        "\"name\":\"all\"},\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":"
        "\"w\"},\"maxReplicas\":5,\"metrics\":["
        "{\"type\":\"Object\",\"object\":{\"describedObject\":{\"kind\":\"Service\",\"name\":"
        "\"s\"},\"metric\":{\"name\":\"rps\",\"selector\":{\"matchLabels\":{\"a\":\"b\"}}},"
        "\"target\":{\"type\":\"Value\",\"value\":\"5\"}}},"
        "{\"type\":\"Pods\",\"pods\":{\"metric\":{\"name\":\"qps\"},\"target\":{\"type\":"
        "\"AverageValue\",\"averageValue\":\"1k\"}}},"
        "{\"type\":\"ContainerResource\",\"containerResource\":{\"name\":\"memory\","
        "\"container\":\"c\",\"target\":{\"type\":\"AverageValue\",\"averageValue\":\"10Mi\"}}},"
        "{\"type\":\"External\",\"external\":{\"metric\":{\"name\":\"q\",\"selector\":{"
        "\"matchLabels\":{\"x\":\"y\"}}},\"target\":{\"type\":\"AverageValue\","
        "\"averageValue\":\"2\"}}}]},"
        "\"status\":{\"currentReplicas\":1,\"desiredReplicas\":2,\"currentMetrics\":["
        "{\"type\":\"Object\",\"object\":{\"describedObject\":{\"kind\":\"Service\",\"name\":"
        "\"s\"},\"metric\":{\"name\":\"rps\"},\"current\":{\"value\":\"4\"}}},"
        "{\"type\":\"Pods\",\"pods\":{\"metric\":{\"name\":\"qps\"},\"current\":{"
        "\"averageValue\":\"900\"}}},"
        "{\"type\":\"ContainerResource\",\"containerResource\":{\"name\":\"memory\","
        "\"container\":\"c\",\"current\":{\"averageValue\":\"9Mi\"}}},"
        "{\"type\":\"External\",\"external\":{\"metric\":{\"name\":\"q\"},\"current\":{"
        "\"averageValue\":\"1\"}}}]}}";
    json_t *v2 = parse(v2s);
    json_t *v1 = conv_hpa_v2_to_v1(v2);
    struct ck_err err = CK_ERR_INIT;
    json_t *back = conv_hpa_v1_to_v2(v1, &err);
    assert_non_null(back);
    json_t *want = parse(v2s);
    json_t *sm = json_object_get(json_object_get(back, "spec"), "metrics");
    json_t *cm = json_object_get(json_object_get(back, "status"), "currentMetrics");
    json_t *wsm = json_object_get(json_object_get(want, "spec"), "metrics");
    json_t *wcm = json_object_get(json_object_get(want, "status"), "currentMetrics");
    if (!json_equal(sm, wsm) || !json_equal(cm, wcm)) {
        char *a = json_dumps(back, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("round trip differs:\n%s", a);
    }
    json_decref(v2);
    json_decref(v1);
    json_decref(back);
    json_decref(want);
}

static void test_hpa_v2_round_trip(void **state)
{
    (void)state;
    const char *v2s =
        "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":{"
        "\"name\":\"web\",\"annotations\":{\"a\":\"b\"}},\"spec\":{\"scaleTargetRef\":{\"kind\":"
        "\"Deployment\",\"name\":\"web\"},\"maxReplicas\":5,\"metrics\":[{\"type\":\"Resource\","
        "\"resource\":{\"name\":\"memory\",\"target\":{\"type\":\"AverageValue\","
        "\"averageValue\":\"100Mi\"}}},{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\","
        "\"target\":{\"type\":\"Utilization\",\"averageUtilization\":60}}},{\"type\":\"External\","
        "\"external\":{\"metric\":{\"name\":\"q\"},\"target\":{\"type\":\"Value\",\"value\":\"3\"}}"
        "}],"
        "\"behavior\":{\"scaleDown\":{\"stabilizationWindowSeconds\":300,\"selectPolicy\":\"Max\","
        "\"policies\":[{\"type\":\"Percent\",\"value\":100,\"periodSeconds\":15}]}}},"
        "\"status\":{\"currentReplicas\":1,\"desiredReplicas\":1,\"conditions\":[{\"type\":"
        "\"AbleToScale\",\"status\":\"True\"}]}}";
    json_t *v2 = parse(v2s);
    json_t *v1 = conv_hpa_v2_to_v1(v2);
    assert_string_equal(jpath(v1, "apiVersion"), "autoscaling/v1");
    assert_int_equal(jint(v1, "spec.targetCPUUtilizationPercentage"), 60);
    assert_null(json_object_get(json_object_get(v1, "spec"), "metrics"));
    json_t *ann = json_object_get(json_object_get(v1, "metadata"), "annotations");
    assert_string_equal(json_string_value(json_object_get(ann, "a")), "b");
    const char *m =
        json_string_value(json_object_get(ann, "autoscaling.alpha.kubernetes.io/metrics"));
    assert_non_null(m);
    assert_non_null(strstr(m, "\"targetAverageValue\":\"100Mi\""));
    assert_non_null(strstr(m, "\"metricName\":\"q\""));
    const char *b =
        json_string_value(json_object_get(ann, "autoscaling.alpha.kubernetes.io/behavior"));
    assert_non_null(b);
    assert_non_null(strstr(b, "\"StabilizationWindowSeconds\":300")); /* Go field names */
    assert_non_null(json_object_get(ann, "autoscaling.alpha.kubernetes.io/conditions"));
    /* and back: the same v2 object (other metrics first, cpu last, as upstream) */
    struct ck_err err = CK_ERR_INIT;
    json_t *back = conv_hpa_v1_to_v2(v1, &err);
    assert_non_null(back);
    json_t *want = parse(v2s);
    json_t *ms = json_object_get(json_object_get(want, "spec"), "metrics");
    json_t *cpu = json_incref(json_array_get(ms, 1));
    json_array_remove(ms, 1);
    json_array_append_new(ms, cpu);
    if (!json_equal(back, want)) {
        char *g = json_dumps(back, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("round trip: %s", g);
    }
    json_decref(want);
    json_decref(back);
    json_decref(v1);
    json_decref(v2);
}

static void test_event_conversion(void **state)
{
    (void)state;
    json_t *ev = parse("{\"apiVersion\":\"events.k8s.io/v1\",\"kind\":\"Event\",\"metadata\":{"
                       "\"name\":\"e1\",\"namespace\":\"default\"},\"eventTime\":"
                       "\"2026-01-01T00:00:00.000000Z\",\"reportingController\":\"ctl\","
                       "\"reportingInstance\":\"i1\",\"action\":\"Pull\",\"reason\":\"Pulled\","
                       "\"regarding\":{\"kind\":\"Pod\",\"name\":\"p\",\"namespace\":\"default\"},"
                       "\"note\":\"hello\",\"type\":\"Normal\",\"series\":{\"count\":2,"
                       "\"lastObservedTime\":\"2026-01-01T00:01:00.000000Z\"}}");
    json_t *core = conv_event_to_core(ev);
    assert_json_eq(core, "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"e1\","
                         "\"namespace\":\"default\"},\"involvedObject\":{\"kind\":\"Pod\",\"name\":"
                         "\"p\",\"namespace\":\"default\"},\"reason\":\"Pulled\",\"message\":"
                         "\"hello\",\"source\":{},\"firstTimestamp\":null,\"lastTimestamp\":null,"
                         "\"type\":\"Normal\",\"eventTime\":\"2026-01-01T00:00:00.000000Z\","
                         "\"series\":{\"count\":2,\"lastObservedTime\":"
                         "\"2026-01-01T00:01:00.000000Z\"},\"action\":\"Pull\","
                         "\"reportingComponent\":\"ctl\",\"reportingInstance\":\"i1\"}");
    json_t *back = conv_event_from_core(core);
    json_object_set_new(ev, "deprecatedSource", json_object());
    json_object_set_new(ev, "deprecatedFirstTimestamp", json_null());
    json_object_set_new(ev, "deprecatedLastTimestamp", json_null());
    assert_true(json_equal(back, ev));
    json_decref(back);
    json_decref(core);
    json_decref(ev);
    /* a legacy core event */
    core = parse("{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"x\"},"
                 "\"involvedObject\":{\"kind\":\"Node\",\"name\":\"n1\"},\"reason\":\"R\","
                 "\"message\":\"m\",\"source\":{\"component\":\"kubelet\"},\"firstTimestamp\":"
                 "\"2026-01-01T00:00:00Z\",\"lastTimestamp\":\"2026-01-01T00:00:05Z\",\"count\":3,"
                 "\"type\":\"Warning\"}");
    ev = conv_event_from_core(core);
    assert_string_equal(jpath(ev, "note"), "m");
    assert_string_equal(jpath(ev, "regarding.name"), "n1");
    assert_string_equal(jpath(ev, "deprecatedSource.component"), "kubelet");
    assert_string_equal(jpath(ev, "deprecatedFirstTimestamp"), "2026-01-01T00:00:00Z");
    assert_int_equal(jint(ev, "deprecatedCount"), 3);
    assert_true(json_is_null(json_object_get(ev, "eventTime")));
    json_decref(ev);
    json_decref(core);
}

static void test_field_labels(void **state)
{
    (void)state;
    const struct reg_resource *ev = reg_find("events.k8s.io", "v1", "events");
    assert_non_null(ev);
    assert_non_null(ev->storage);
    assert_string_equal(conv_field_label(ev, "regarding.name"), "involvedObject.name");
    assert_string_equal(conv_field_label(ev, "reportingController"), "reportingComponent");
    assert_null(conv_field_label(ev, "involvedObject.name"));
    const struct reg_resource *h1 = reg_find("autoscaling", "v1", "horizontalpodautoscalers");
    assert_non_null(h1);
    assert_ptr_equal(h1->storage, reg_find("autoscaling", "v2", "horizontalpodautoscalers"));
    assert_string_equal(h1->key_prefix, h1->storage->key_prefix);
    assert_true(reg_has_group_version("flowcontrol.apiserver.k8s.io", "v1beta3"));
    assert_non_null(reg_find("authentication.k8s.io", "v1beta1", "selfsubjectreviews"));
}

/* ---- printers -------------------------------------------------------------------------- */

static void check_cells(const char *group, const char *resource, const char *obj_json,
                        const char *want)
{
    json_t *obj = parse(obj_json);
    json_t *row = printer_cells(group, resource, obj, NOW);
    char *got = json_dumps(row, JSON_COMPACT);
    size_t ncols;
    printer_columns(group, resource, &ncols);
    if (strcmp(got, want) != 0)
        fail_msg("%s/%s\n got: %s\nwant: %s", group, resource, got, want);
    assert_int_equal(json_array_size(row), ncols);
    free(got);
    json_decref(row);
    json_decref(obj);
}

static void test_printers(void **state)
{
    (void)state;
    check_cells(
        "certificates.k8s.io", "certificatesigningrequests",
        "{" META(
            "c") ",\"spec\":{\"signerName\":\"kubernetes.io/kube-apiserver-client\","
                 "\"username\":\"admin\",\"expirationSeconds\":86400},\"status\":{\"conditions\":"
                 "[{\"type\":\"Approved\",\"status\":\"True\"}],\"certificate\":\"Zm9v\"}}",
        "[\"c\",\"10m\",\"kubernetes.io/kube-apiserver-client\",\"admin\",\"24h\","
        "\"Approved,Issued\"]");
    check_cells("certificates.k8s.io", "certificatesigningrequests",
                "{" META("c") ",\"spec\":{\"signerName\":\"s\"}}",
                "[\"c\",\"10m\",\"s\",\"\",\"<none>\",\"Pending\"]");
    check_cells("node.k8s.io", "runtimeclasses", "{" META("gvisor") ",\"handler\":\"runsc\"}",
                "[\"gvisor\",\"runsc\",\"10m\"]");
    check_cells(
        "storage.k8s.io", "csidrivers",
        "{" META("d") ",\"spec\":{\"attachRequired\":false,\"volumeLifecycleModes\":"
                      "[\"Persistent\",\"Ephemeral\"],\"tokenRequests\":[{\"audience\":\"a\"}]}}",
        "[\"d\",false,false,false,\"a\",false,\"Persistent,Ephemeral\",\"10m\"]");
    check_cells("storage.k8s.io", "csinodes",
                "{" META("n") ",\"spec\":{\"drivers\":[{\"name\":\"x\",\"nodeID\":\"n\"}]}}",
                "[\"n\",1,\"10m\"]");
    check_cells("storage.k8s.io", "volumeattachments",
                "{" META("va") ",\"spec\":{\"attacher\":\"x\",\"nodeName\":\"n1\",\"source\":{"
                               "\"persistentVolumeName\":\"pv1\"}},\"status\":{\"attached\":true}}",
                "[\"va\",\"x\",\"pv1\",\"n1\",true,\"10m\"]");
    check_cells(
        "flowcontrol.apiserver.k8s.io", "flowschemas",
        "{" META("fs") ",\"spec\":{\"priorityLevelConfiguration\":{\"name\":\"global\"},"
                       "\"matchingPrecedence\":500,\"distinguisherMethod\":{\"type\":\"ByUser\"}}}",
        "[\"fs\",\"global\",500,\"ByUser\",\"10m\",\"?\"]");
    check_cells(
        "flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations",
        "{" META("p") ",\"spec\":{\"type\":\"Limited\",\"limited\":{"
                      "\"nominalConcurrencyShares\":30,\"limitResponse\":{\"type\":\"Queue\","
                      "\"queuing\":{\"queues\":64,\"handSize\":8,\"queueLengthLimit\":50}}}}}",
        "[\"p\",\"Limited\",30,64,8,50,\"10m\"]");
    check_cells("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations",
                "{" META("e") ",\"spec\":{\"type\":\"Exempt\"}}",
                "[\"e\",\"Exempt\",\"<none>\",\"<none>\",\"<none>\",\"<none>\",\"10m\"]");
    check_cells("", "componentstatuses",
                "{\"metadata\":{\"name\":\"etcd-0\"},\"conditions\":[{\"type\":\"Healthy\","
                "\"status\":\"True\",\"message\":\"ok\"}]}",
                "[\"etcd-0\",\"Healthy\",\"ok\",\"\"]");
    check_cells("admissionregistration.k8s.io", "validatingadmissionpolicies",
                "{" META("vap") ",\"spec\":{\"validations\":[{\"expression\":\"true\"}]}}",
                "[\"vap\",1,\"<unset>\",\"10m\"]");
}

/* ---- engine ---------------------------------------------------------------------------- */

static void test_hpa_two_views(void **state)
{
    struct env *e = *state;
    json_t *o = NULL;
    const char *hpa = "{\"apiVersion\":\"autoscaling/v1\",\"kind\":\"HorizontalPodAutoscaler\","
                      "\"metadata\":{\"name\":\"web\"},\"spec\":{\"scaleTargetRef\":{\"kind\":"
                      "\"Deployment\",\"name\":\"web\",\"apiVersion\":\"apps/v1\"},"
                      "\"maxReplicas\":3,\"targetCPUUtilizationPercentage\":50}}";
    assert_int_equal(req(e, "POST",
                         "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers", NULL,
                         hpa, &o),
                     201);
    assert_string_equal(jpath(o, "apiVersion"), "autoscaling/v1");
    assert_int_equal(jint(o, "spec.targetCPUUtilizationPercentage"), 50);
    assert_int_equal(jint(o, "spec.minReplicas"), 1); /* defaulted on the stored v2 */
    json_decref(o);
    assert_int_equal(req(e, "GET",
                         "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/web",
                         NULL, NULL, &o),
                     200);
    assert_string_equal(jpath(o, "apiVersion"), "autoscaling/v2");
    json_t *m0 = json_array_get(json_object_get(json_object_get(o, "spec"), "metrics"), 0);
    assert_int_equal(jint(m0, "resource.target.averageUtilization"), 50);
    json_decref(o);
    /* PATCH through the v1 view */
    assert_int_equal(req(e, "PATCH",
                         "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/web",
                         NULL, "{\"spec\":{\"targetCPUUtilizationPercentage\":70}}", &o),
                     200);
    assert_int_equal(jint(o, "spec.targetCPUUtilizationPercentage"), 70);
    json_decref(o);
    assert_int_equal(req(e, "GET",
                         "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers", NULL,
                         NULL, &o),
                     200);
    assert_string_equal(jpath(o, "kind"), "HorizontalPodAutoscalerList");
    assert_string_equal(jpath(o, "apiVersion"), "autoscaling/v1");
    json_t *it = json_array_get(json_object_get(o, "items"), 0);
    assert_string_equal(jpath(it, "apiVersion"), "autoscaling/v1");
    assert_int_equal(jint(it, "spec.targetCPUUtilizationPercentage"), 70);
    json_decref(o);
    /* unknown v1 fields are caught against the v1 schema */
    assert_int_equal(reqx(e, "POST",
                          "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers",
                          "fieldValidation=Strict", "application/json", NULL,
                          "{\"apiVersion\":\"autoscaling/v1\",\"kind\":\"HorizontalPodAutoscaler\","
                          "\"metadata\":{\"name\":\"x\"},\"spec\":{\"metrics\":[],"
                          "\"maxReplicas\":1,\"scaleTargetRef\":{\"kind\":\"D\",\"name\":\"d\"}}}",
                          &o, NULL),
                     400);
    assert_non_null(strstr(jpath(o, "message"), "unknown field \"spec.metrics\""));
    json_decref(o);
    /* a watch in the v1 view */
    int st = 0;
    struct api_watch *w =
        watch_open(e, "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers", "watch=1",
                   NULL, &st);
    assert_non_null(w);
    json_t *evs = watch_events(w, NULL);
    assert_true(json_array_size(evs) >= 1);
    json_t *obj = json_object_get(json_array_get(evs, 0), "object");
    assert_string_equal(jpath(obj, "apiVersion"), "autoscaling/v1");
    assert_int_equal(jint(obj, "spec.targetCPUUtilizationPercentage"), 70);
    json_decref(evs);
    api_watch_close(w);
}

static void test_events_two_views(void **state)
{
    struct env *e = *state;
    json_t *o = NULL;
    const char *ev =
        "{\"apiVersion\":\"events.k8s.io/v1\",\"kind\":\"Event\",\"metadata\":{"
        "\"name\":\"e1\"},\"eventTime\":\"2026-01-01T00:00:00.000000Z\","
        "\"reportingController\":\"example.com/ctl\",\"reportingInstance\":\"i1\","
        "\"action\":\"Check\",\"reason\":\"Checked\",\"regarding\":{\"kind\":\"Pod\","
        "\"name\":\"p\",\"namespace\":\"default\"},\"note\":\"hi\",\"type\":\"Normal\"}";
    assert_int_equal(
        req(e, "POST", "/apis/events.k8s.io/v1/namespaces/default/events", NULL, ev, &o), 201);
    assert_string_equal(jpath(o, "note"), "hi");
    json_decref(o);
    assert_int_equal(req(e, "GET", "/api/v1/namespaces/default/events/e1", NULL, NULL, &o), 200);
    assert_string_equal(jpath(o, "message"), "hi");
    assert_string_equal(jpath(o, "involvedObject.name"), "p");
    assert_string_equal(jpath(o, "reportingComponent"), "example.com/ctl");
    json_decref(o);
    /* core create, events.k8s.io read; field selectors in each view's names */
    assert_int_equal(
        req(e, "POST", "/api/v1/namespaces/default/events", NULL,
            "{\"metadata\":{\"name\":\"e2\"},\"involvedObject\":{\"kind\":\"Node\","
            "\"name\":\"n1\"},\"reason\":\"R\",\"message\":\"m\",\"type\":\"Warning\"}",
            &o),
        201);
    json_decref(o);
    assert_int_equal(req(e, "GET", "/apis/events.k8s.io/v1/namespaces/default/events",
                         "fieldSelector=regarding.name%3Dn1", NULL, &o),
                     200);
    assert_int_equal(json_array_size(json_object_get(o, "items")), 1);
    json_t *it = json_array_get(json_object_get(o, "items"), 0);
    assert_string_equal(jpath(it, "apiVersion"), "events.k8s.io/v1");
    assert_string_equal(jpath(it, "note"), "m");
    json_decref(o);
    assert_int_equal(req(e, "GET", "/apis/events.k8s.io/v1/namespaces/default/events",
                         "fieldSelector=involvedObject.name%3Dn1", NULL, &o),
                     400);
    json_decref(o);
    /* strict events.k8s.io/v1 creation rules */
    assert_int_equal(req(e, "POST", "/apis/events.k8s.io/v1/namespaces/default/events", NULL,
                         "{\"apiVersion\":\"events.k8s.io/v1\",\"kind\":\"Event\",\"metadata\":{"
                         "\"name\":\"bad\"},\"regarding\":{\"namespace\":\"default\"},"
                         "\"type\":\"Normal\"}",
                         &o),
                     422);
    assert_non_null(strstr(jpath(o, "message"), "Event.events.k8s.io \"bad\" is invalid"));
    assert_non_null(strstr(jpath(o, "message"), "eventTime: Required value"));
    json_decref(o);
    assert_int_equal(
        req(e, "GET", "/apis/events.k8s.io/v1/namespaces/default/events/nope", NULL, NULL, &o),
        404);
    assert_string_equal(jpath(o, "message"), "events.events.k8s.io \"nope\" not found");
    json_decref(o);
}

static char *make_csr_b64(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509_REQ *rq = X509_REQ_new();
    X509_NAME *n = X509_REQ_get_subject_name(rq);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"alice", -1, -1, 0);
    X509_REQ_set_pubkey(rq, k);
    X509_REQ_sign(rq, k, EVP_sha256());
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_REQ(b, rq);
    char *pem = NULL;
    long len = BIO_get_mem_data(b, &pem);
    char *out = calloc(1, (size_t)len * 2 + 8);
    EVP_EncodeBlock((unsigned char *)out, (unsigned char *)pem, (int)len);
    BIO_free(b);
    X509_REQ_free(rq);
    EVP_PKEY_free(k);
    return out;
}

static void test_csr_approval(void **state)
{
    struct env *e = *state;
    json_t *o = NULL;
    char *b64 = make_csr_b64();
    char body[4096];
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"certificates.k8s.io/v1\",\"kind\":\"CertificateSigningRequest\","
             "\"metadata\":{\"name\":\"alice\"},\"spec\":{\"request\":\"%s\",\"signerName\":"
             "\"kubernetes.io/kube-apiserver-client\",\"usages\":[\"client auth\"],"
             "\"username\":\"mallory\"},\"status\":{\"conditions\":[{\"type\":\"Approved\","
             "\"status\":\"True\"}]}}",
             b64);
    free(b64);
    assert_int_equal(
        req(e, "POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", NULL, body, &o),
        201);
    assert_string_equal(jpath(o, "spec.username"), "test"); /* the requester, not the body */
    assert_null(json_object_get(json_object_get(o, "status"), "conditions"));
    json_decref(o);
    /* approval: conditions only, timestamps filled */
    const char *appr = "{\"apiVersion\":\"certificates.k8s.io/v1\",\"kind\":"
                       "\"CertificateSigningRequest\",\"metadata\":{\"name\":\"alice\"},\"spec\":{"
                       "\"signerName\":\"changed\"},\"status\":{\"conditions\":[{\"type\":"
                       "\"Approved\",\"status\":\"True\",\"reason\":\"KubectlApprove\"}]}}";
    assert_int_equal(req(e, "PUT",
                         "/apis/certificates.k8s.io/v1/certificatesigningrequests/alice/approval",
                         NULL, appr, &o),
                     200);
    assert_string_equal(jpath(o, "spec.signerName"), "kubernetes.io/kube-apiserver-client");
    json_t *c0 = json_array_get(json_object_get(json_object_get(o, "status"), "conditions"), 0);
    assert_string_equal(jpath(c0, "type"), "Approved");
    assert_non_null(jpath(c0, "lastUpdateTime"));
    assert_non_null(jpath(c0, "lastTransitionTime"));
    json_decref(o);
    /* Denied next to Approved is invalid; removing Approved is forbidden */
    const char *deny = "{\"apiVersion\":\"certificates.k8s.io/v1\",\"kind\":"
                       "\"CertificateSigningRequest\",\"metadata\":{\"name\":\"alice\"},"
                       "\"status\":{\"conditions\":[{\"type\":\"Approved\",\"status\":\"True\"},"
                       "{\"type\":\"Denied\",\"status\":\"True\"}]}}";
    assert_int_equal(req(e, "PUT",
                         "/apis/certificates.k8s.io/v1/certificatesigningrequests/alice/approval",
                         NULL, deny, &o),
                     422);
    assert_non_null(
        strstr(jpath(o, "message"), "Approved and Denied conditions are mutually exclusive"));
    json_decref(o);
    assert_int_equal(req(e, "PUT",
                         "/apis/certificates.k8s.io/v1/certificatesigningrequests/alice/approval",
                         NULL,
                         "{\"apiVersion\":\"certificates.k8s.io/v1\",\"kind\":"
                         "\"CertificateSigningRequest\",\"metadata\":{\"name\":\"alice\"}}",
                         &o),
                     422);
    assert_non_null(
        strstr(jpath(o, "message"), "updates may not remove a condition of type \"Approved\""));
    json_decref(o);
    assert_int_equal(req(e, "POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", NULL,
                         "{\"apiVersion\":\"certificates.k8s.io/v1\",\"kind\":"
                         "\"CertificateSigningRequest\",\"metadata\":{\"name\":\"bad\"},\"spec\":{"
                         "\"request\":\"Zm9v\",\"signerName\":\"s\",\"usages\":[\"x\"]}}",
                         &o),
                     422);
    assert_non_null(strstr(jpath(o, "message"), "PEM block type must be CERTIFICATE REQUEST"));
    json_decref(o);
}

static void test_componentstatuses(void **state)
{
    struct env *e = *state;
    json_t *o = NULL;
    assert_int_equal(req(e, "GET", "/api/v1/componentstatuses", NULL, NULL, &o), 200);
    assert_string_equal(jpath(o, "kind"), "ComponentStatusList");
    assert_int_equal(json_array_size(json_object_get(o, "items")), 3);
    assert_true(e->nwarn >= 1);
    json_decref(o);
    assert_int_equal(req(e, "GET", "/api/v1/componentstatuses/etcd-0", NULL, NULL, &o), 200);
    json_t *c = json_array_get(json_object_get(o, "conditions"), 0);
    assert_string_equal(jpath(c, "status"), "True");
    json_decref(o);
    assert_int_equal(reqx(e, "GET", "/api/v1/componentstatuses", NULL, NULL,
                          "application/json;as=Table;v=v1;g=meta.k8s.io", NULL, &o, NULL),
                     200);
    assert_string_equal(jpath(o, "kind"), "Table");
    assert_int_equal(json_array_size(json_object_get(o, "rows")), 3);
    json_decref(o);
    assert_int_equal(req(e, "GET", "/api/v1/componentstatuses/nope", NULL, NULL, &o), 500);
    json_decref(o);
    assert_int_equal(req(e, "DELETE", "/api/v1/componentstatuses/etcd-0", NULL, NULL, &o), 405);
    json_decref(o);
}

static void test_discovery_versions(void **state)
{
    struct env *e = *state;
    json_t *g = NULL;
    assert_int_equal(req(e, "GET", "/apis/autoscaling", NULL, NULL, &g), 200);
    json_t *vs = json_object_get(g, "versions");
    assert_int_equal(json_array_size(vs), 2);
    assert_string_equal(jpath(g, "preferredVersion.version"), "v2");
    json_decref(g);
    assert_int_equal(req(e, "GET", "/apis/autoscaling/v1", NULL, NULL, &g), 200);
    assert_string_equal(jpath(g, "groupVersion"), "autoscaling/v1");
    json_decref(g);
    const char *gvs[] = {"/apis/certificates.k8s.io/v1",
                         "/apis/admissionregistration.k8s.io/v1",
                         "/apis/node.k8s.io/v1",
                         "/apis/flowcontrol.apiserver.k8s.io/v1",
                         "/apis/flowcontrol.apiserver.k8s.io/v1beta3",
                         "/apis/authentication.k8s.io/v1beta1"};
    for (size_t i = 0; i < sizeof(gvs) / sizeof(gvs[0]); i++) {
        assert_int_equal(req(e, "GET", gvs[i], NULL, NULL, &g), 200);
        assert_true(json_array_size(json_object_get(g, "resources")) > 0);
        json_decref(g);
    }
    assert_int_equal(req(e, "POST", "/apis/authentication.k8s.io/v1beta1/selfsubjectreviews", NULL,
                         "{\"apiVersion\":\"authentication.k8s.io/v1beta1\",\"kind\":"
                         "\"SelfSubjectReview\"}",
                         &g),
                     201);
    assert_string_equal(jpath(g, "status.userInfo.username"), "test");
    json_decref(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hpa_v1_to_v2),
        cmocka_unit_test(test_hpa_v2_round_trip),
        cmocka_unit_test(test_hpa_v2_metric_kinds_round_trip),
        cmocka_unit_test(test_event_conversion),
        cmocka_unit_test(test_field_labels),
        cmocka_unit_test(test_printers),
        cmocka_unit_test_setup_teardown(test_hpa_two_views, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_events_two_views, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_csr_approval, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_componentstatuses, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_discovery_versions, env_setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
