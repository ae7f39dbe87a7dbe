/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: defaulting of built-in objects (pods and their admission defaults, pod
 * templates in workloads, deployments, statefulsets, daemonsets, jobs, cronjobs, services,
 * namespaces, secrets), idempotence, QoS classes, and that defaulted objects validate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/registry/printers.h"
#include "apiserver/registry/validation.h"

static json_t *defaulted(const char *group, const char *res, const char *text)
{
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    if (!o)
        fail_msg("bad test json: %s", je.text);
    validation_default(group, res, o);
    /* defaulting twice changes nothing */
    json_t *again = json_deep_copy(o);
    validation_default(group, res, again);
    if (!json_equal(o, again))
        fail_msg("defaulting %s/%s is not idempotent", group, res);
    json_decref(again);
    /* and the result is valid */
    struct ck_err err = CK_ERR_INIT;
    if (validation_validate(group, res, "X", o, NULL, &err) != 0)
        fail_msg("defaulted %s/%s does not validate: %s", group, res, err.msg);
    return o;
}

#define S(o, p) printer_jstr(o, p)
#define I(o, p) printer_jint(o, p, -12345)

static void test_pod(void **state)
{
    (void)state;
    json_t *p = defaulted("", "pods",
                          "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"nginx\","
                          "\"ports\":[{\"containerPort\":80}],\"livenessProbe\":{\"httpGet\":{\"port\":80}}},"
                          "{\"name\":\"b\",\"image\":\"registry:5000/x:1.2\"},{\"name\":\"c\",\"image\":\"localhost:5000/y\"},"
                          "{\"name\":\"d\",\"image\":\"busybox:latest\"},{\"name\":\"e\",\"image\":\"x@sha256:ab\"}],"
                          "\"volumes\":[{\"name\":\"v\"},{\"name\":\"s\",\"secret\":{\"secretName\":\"s\"}}]}}");
    assert_string_equal(S(p, "spec.restartPolicy"), "Always");
    assert_string_equal(S(p, "spec.dnsPolicy"), "ClusterFirst");
    assert_string_equal(S(p, "spec.schedulerName"), "default-scheduler");
    assert_int_equal(I(p, "spec.terminationGracePeriodSeconds"), 30);
    assert_true(json_is_object(printer_jget(p, "spec.securityContext")));
    assert_true(json_is_true(printer_jget(p, "spec.enableServiceLinks")));
    assert_string_equal(S(p, "spec.serviceAccountName"), "default");
    assert_int_equal(I(p, "spec.priority"), 0);
    assert_string_equal(S(p, "status.phase"), "Pending");
    assert_string_equal(S(p, "status.qosClass"), "BestEffort");
    json_t *cs = printer_jget(p, "spec.containers");
    static const char *const pulls[] = {"Always", "IfNotPresent", "Always", "Always", "IfNotPresent"};
    for (size_t i = 0; i < 5; i++) {
        json_t *c = json_array_get(cs, i);
        assert_string_equal(S(c, "imagePullPolicy"), pulls[i]);
        assert_string_equal(S(c, "terminationMessagePath"), "/dev/termination-log");
        assert_string_equal(S(c, "terminationMessagePolicy"), "File");
        assert_true(json_is_object(json_object_get(c, "resources")));
    }
    json_t *a = json_array_get(cs, 0);
    assert_string_equal(S(json_array_get(json_object_get(a, "ports"), 0), "protocol"), "TCP");
    assert_int_equal(I(a, "livenessProbe.periodSeconds"), 10);
    assert_int_equal(I(a, "livenessProbe.failureThreshold"), 3);
    assert_string_equal(S(a, "livenessProbe.httpGet.path"), "/");
    assert_string_equal(S(a, "livenessProbe.httpGet.scheme"), "HTTP");
    json_t *vols = printer_jget(p, "spec.volumes");
    assert_true(json_is_object(json_object_get(json_array_get(vols, 0), "emptyDir")));
    assert_int_equal(I(json_array_get(vols, 1), "secret.defaultMode"), 420);
    json_t *tols = printer_jget(p, "spec.tolerations");
    assert_int_equal(json_array_size(tols), 2);
    assert_string_equal(S(json_array_get(tols, 0), "key"), "node.kubernetes.io/not-ready");
    assert_int_equal(I(json_array_get(tols, 1), "tolerationSeconds"), 300);
    json_decref(p);
}

static void test_qos(void **state)
{
    (void)state;
    json_t *p = defaulted("", "pods",
                          "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"i\","
                          "\"resources\":{\"limits\":{\"cpu\":\"500m\",\"memory\":\"128Mi\"}}}]}}");
    assert_string_equal(S(p, "status.qosClass"), "Guaranteed");
    assert_string_equal(S(json_array_get(printer_jget(p, "spec.containers"), 0), "resources.requests.cpu"), "500m");
    json_decref(p);
    /* quantities are stored in canonical form */
    p = defaulted("", "pods",
                  "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"i\","
                  "\"resources\":{\"limits\":{\"cpu\":2,\"memory\":\"1024Mi\"},\"requests\":{\"cpu\":\"1000m\"}}}]}}");
    json_t *res = json_object_get(json_array_get(printer_jget(p, "spec.containers"), 0), "resources");
    assert_string_equal(S(res, "limits.cpu"), "2");
    assert_string_equal(S(res, "limits.memory"), "1Gi");
    assert_string_equal(S(res, "requests.cpu"), "1");
    assert_string_equal(S(res, "requests.memory"), "1Gi");
    assert_string_equal(S(p, "status.qosClass"), "Burstable");
    json_decref(p);
    json_t *node = defaulted("", "nodes", "{\"metadata\":{\"name\":\"n1\"},\"status\":{\"capacity\":"
                                          "{\"cpu\":\"4\",\"memory\":\"8192Mi\",\"pods\":\"110\"}}}");
    assert_string_equal(S(node, "status.allocatable.memory"), "8Gi");
    json_decref(node);
    p = defaulted("", "pods",
                  "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"i\","
                  "\"resources\":{\"requests\":{\"cpu\":\"100m\"}}}]}}");
    assert_string_equal(S(p, "status.qosClass"), "Burstable");
    json_decref(p);
    /* a user's own toleration for not-ready is kept, only unreachable is added */
    p = defaulted("", "pods",
                  "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"tolerations\":[{\"key\":\"node.kubernetes.io/not-ready\","
                  "\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":5}],\"containers\":"
                  "[{\"name\":\"a\",\"image\":\"i\"}]}}");
    json_t *tols = printer_jget(p, "spec.tolerations");
    assert_int_equal(json_array_size(tols), 2);
    assert_int_equal(I(json_array_get(tols, 0), "tolerationSeconds"), 5);
    json_decref(p);
}

#define TMPL "\"template\":{\"metadata\":{\"labels\":{\"app\":\"w\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i:1\"}]}}"
#define SEL "\"selector\":{\"matchLabels\":{\"app\":\"w\"}}"

/* SetDefaults_Pod copies limits into missing requests; SetDefaults_PodSpec (templates) does
 * not: a Deployment or PodTemplate keeps requests unset, its pods get them. */
static void test_requests_from_limits_pods_only(void **state)
{
    (void)state;
    static const char *const ctr =
        "\"containers\":[{\"name\":\"a\",\"image\":\"i\",\"resources\":{\"limits\":"
        "{\"cpu\":\"1\"}}}],\"initContainers\":[{\"name\":\"b\",\"image\":\"i\","
        "\"resources\":{\"limits\":{\"memory\":\"1Gi\"}}}]";
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"metadata\":{\"name\":\"w\"},\"spec\":{\"selector\":{\"matchLabels\":{\"a\":"
             "\"b\"}},\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{%s}}}}",
             ctr);
    json_t *d = defaulted("apps", "deployments", body);
    json_t *c = json_array_get(printer_jget(d, "spec.template.spec.containers"), 0);
    assert_string_equal(S(c, "resources.limits.cpu"), "1");
    assert_null(printer_jget(c, "resources.requests"));
    c = json_array_get(printer_jget(d, "spec.template.spec.initContainers"), 0);
    assert_null(printer_jget(c, "resources.requests"));
    json_decref(d);
    snprintf(body, sizeof(body),
             "{\"metadata\":{\"name\":\"t\"},\"template\":{\"spec\":{%s}}}", ctr);
    json_t *pt = defaulted("", "podtemplates", body);
    assert_null(printer_jget(json_array_get(printer_jget(pt, "template.spec.containers"), 0),
                             "resources.requests"));
    json_decref(pt);
    snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"p\"},\"spec\":{%s}}", ctr);
    json_t *p = defaulted("", "pods", body);
    assert_string_equal(
        S(json_array_get(printer_jget(p, "spec.containers"), 0), "resources.requests.cpu"), "1");
    assert_string_equal(
        S(json_array_get(printer_jget(p, "spec.initContainers"), 0), "resources.requests.memory"),
        "1Gi");
    json_decref(p);
}

static void test_workloads(void **state)
{
    (void)state;
    json_t *d = defaulted("apps", "deployments", "{\"metadata\":{\"name\":\"w\"},\"spec\":{" SEL "," TMPL "}}");
    assert_int_equal(I(d, "spec.replicas"), 1);
    assert_string_equal(S(d, "spec.strategy.type"), "RollingUpdate");
    assert_string_equal(S(d, "spec.strategy.rollingUpdate.maxSurge"), "25%");
    assert_string_equal(S(d, "spec.strategy.rollingUpdate.maxUnavailable"), "25%");
    assert_int_equal(I(d, "spec.revisionHistoryLimit"), 10);
    assert_int_equal(I(d, "spec.progressDeadlineSeconds"), 600);
    assert_string_equal(S(d, "spec.template.spec.restartPolicy"), "Always");
    assert_true(json_is_null(printer_jget(d, "spec.template.metadata.creationTimestamp")));
    assert_null(printer_jget(d, "spec.template.spec.tolerations")); /* admission defaults are pod-only */
    json_decref(d);
    d = defaulted("apps", "deployments",
                  "{\"metadata\":{\"name\":\"w\"},\"spec\":{\"strategy\":{\"type\":\"Recreate\"}," SEL "," TMPL "}}");
    assert_null(printer_jget(d, "spec.strategy.rollingUpdate"));
    json_decref(d);
    json_t *s = defaulted("apps", "statefulsets", "{\"metadata\":{\"name\":\"db\"},\"spec\":{" SEL "," TMPL "}}");
    assert_string_equal(S(s, "spec.podManagementPolicy"), "OrderedReady");
    assert_int_equal(I(s, "spec.updateStrategy.rollingUpdate.partition"), 0);
    assert_string_equal(S(s, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted"), "Retain");
    json_decref(s);
    json_t *ds = defaulted("apps", "daemonsets", "{\"metadata\":{\"name\":\"ds\"},\"spec\":{" SEL "," TMPL "}}");
    assert_int_equal(I(ds, "spec.updateStrategy.rollingUpdate.maxUnavailable"), 1);
    assert_int_equal(I(ds, "spec.updateStrategy.rollingUpdate.maxSurge"), 0);
    json_decref(ds);
    json_t *rs = defaulted("apps", "replicasets", "{\"metadata\":{\"name\":\"rs\"},\"spec\":{" SEL "," TMPL "}}");
    assert_int_equal(I(rs, "spec.replicas"), 1);
    json_decref(rs);
}

static void test_jobs(void **state)
{
    (void)state;
    json_t *j = defaulted("batch", "jobs",
                          "{\"metadata\":{\"name\":\"pi\",\"uid\":\"1234\"},\"spec\":{\"template\":{\"spec\":"
                          "{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\",\"image\":\"perl\"}]}}}}");
    assert_int_equal(I(j, "spec.completions"), 1);
    assert_int_equal(I(j, "spec.parallelism"), 1);
    assert_int_equal(I(j, "spec.backoffLimit"), 6);
    assert_string_equal(S(j, "spec.completionMode"), "NonIndexed");
    assert_true(json_is_false(printer_jget(j, "spec.suspend")));
    json_t *sel = printer_jget(j, "spec.selector.matchLabels");
    assert_string_equal(json_string_value(json_object_get(sel, "batch.kubernetes.io/controller-uid")), "1234");
    json_t *tl = printer_jget(j, "spec.template.metadata.labels");
    assert_string_equal(json_string_value(json_object_get(tl, "batch.kubernetes.io/job-name")), "pi");
    assert_string_equal(json_string_value(json_object_get(printer_jget(j, "metadata.labels"), "job-name")), "pi");
    json_decref(j);
    /* parallelism alone leaves completions unset */
    j = defaulted("batch", "jobs",
                  "{\"metadata\":{\"name\":\"w\"},\"spec\":{\"parallelism\":3,\"template\":{\"spec\":"
                  "{\"restartPolicy\":\"OnFailure\",\"containers\":[{\"name\":\"c\",\"image\":\"perl\"}]}}}}");
    assert_null(printer_jget(j, "spec.completions"));
    json_decref(j);
    json_t *cj = defaulted("batch", "cronjobs",
                           "{\"metadata\":{\"name\":\"cj\"},\"spec\":{\"schedule\":\"* * * * *\",\"jobTemplate\":"
                           "{\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"OnFailure\",\"containers\":"
                           "[{\"name\":\"c\",\"image\":\"i\"}]}}}}}}");
    assert_string_equal(S(cj, "spec.concurrencyPolicy"), "Allow");
    assert_int_equal(I(cj, "spec.successfulJobsHistoryLimit"), 3);
    assert_int_equal(I(cj, "spec.failedJobsHistoryLimit"), 1);
    assert_true(json_is_false(printer_jget(cj, "spec.suspend")));
    assert_string_equal(S(cj, "spec.jobTemplate.spec.template.spec.dnsPolicy"), "ClusterFirst");
    json_decref(cj);
}

static void test_core(void **state)
{
    (void)state;
    json_t *s = defaulted("", "services",
                          "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"ports\":[{\"name\":\"a\",\"port\":80},{\"name\":\"b\",\"port\":81,"
                          "\"targetPort\":\"http\",\"protocol\":\"UDP\"}]}}");
    json_decref(s);
    s = defaulted("", "services", "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"ports\":[{\"port\":80}]}}");
    assert_string_equal(S(s, "spec.type"), "ClusterIP");
    assert_string_equal(S(s, "spec.sessionAffinity"), "None");
    assert_string_equal(S(s, "spec.ipFamilyPolicy"), "SingleStack");
    assert_string_equal(json_string_value(json_array_get(printer_jget(s, "spec.ipFamilies"), 0)), "IPv4");
    assert_string_equal(S(s, "spec.internalTrafficPolicy"), "Cluster");
    json_t *p = json_array_get(printer_jget(s, "spec.ports"), 0);
    assert_string_equal(S(p, "protocol"), "TCP");
    assert_int_equal(I(p, "targetPort"), 80);
    json_decref(s);
    s = defaulted("", "services", "{\"metadata\":{\"name\":\"z\"},\"spec\":{\"ports\":[{\"port\":81,\"targetPort\":0}]}}");
    assert_int_equal(I(json_array_get(printer_jget(s, "spec.ports"), 0), "targetPort"), 81);
    json_decref(s);
    s = defaulted("", "services", "{\"metadata\":{\"name\":\"lb\"},\"spec\":{\"type\":\"LoadBalancer\",\"ports\":[{\"port\":80}]}}");
    assert_string_equal(S(s, "spec.externalTrafficPolicy"), "Cluster");
    assert_true(json_is_true(printer_jget(s, "spec.allocateLoadBalancerNodePorts")));
    json_decref(s);
    json_t *ns = defaulted("", "namespaces", "{\"metadata\":{\"name\":\"team-a\"}}");
    assert_string_equal(S(ns, "status.phase"), "Active");
    assert_string_equal(json_string_value(json_array_get(printer_jget(ns, "spec.finalizers"), 0)), "kubernetes");
    json_decref(ns);
    json_t *sec = defaulted("", "secrets",
                            "{\"metadata\":{\"name\":\"s\"},\"data\":{\"a\":\"eA==\",\"b\":\"eA==\"},\"stringData\":"
                            "{\"b\":\"hello\",\"c\":\"ab\"}}");
    assert_string_equal(S(sec, "type"), "Opaque");
    assert_string_equal(S(sec, "data.a"), "eA==");
    assert_string_equal(S(sec, "data.b"), "aGVsbG8=");
    assert_string_equal(S(sec, "data.c"), "YWI=");
    assert_null(json_object_get(sec, "stringData"));
    json_decref(sec);
    json_t *h = defaulted("autoscaling", "horizontalpodautoscalers",
                          "{\"metadata\":{\"name\":\"h\"},\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\","
                          "\"name\":\"web\"},\"maxReplicas\":5,\"behavior\":{\"scaleDown\":{\"stabilizationWindowSeconds\":60}}}}");
    assert_int_equal(I(h, "spec.minReplicas"), 1);
    assert_int_equal(I(json_array_get(printer_jget(h, "spec.metrics"), 0), "resource.target.averageUtilization"), 80);
    assert_int_equal(I(h, "spec.behavior.scaleDown.stabilizationWindowSeconds"), 60);
    assert_int_equal(I(h, "spec.behavior.scaleUp.stabilizationWindowSeconds"), 0);
    assert_int_equal(json_array_size(printer_jget(h, "spec.behavior.scaleUp.policies")), 2);
    json_decref(h);
    /* unknown resources and junk are left alone */
    json_t *x = json_pack("{s{ss}}", "metadata", "name", "x");
    validation_default("example.com", "widgets", x);
    assert_int_equal(json_object_size(x), 1);
    validation_default("", "pods", x); /* no spec: a spec is created, nothing crashes */
    json_decref(x);
    validation_default("", "pods", NULL);
    json_t *arr = json_array();
    validation_default("apps", "deployments", arr);
    json_decref(arr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pod),
        cmocka_unit_test(test_qos),
        cmocka_unit_test(test_workloads),
        cmocka_unit_test(test_requests_from_limits_pods_only),
        cmocka_unit_test(test_jobs),
        cmocka_unit_test(test_core),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
