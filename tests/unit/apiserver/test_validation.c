/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: validation messages compared with upstream's exact strings (names, labels,
 * pod spec, workloads, jobs, cronjobs, services, configmaps, secrets, updates), Status
 * causes, and the quantity parser. Objects are defaulted first, as the registry does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/registry/validation.h"

static json_t *load(const char *text)
{
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    if (!o)
        fail_msg("bad test json: %s: %s", je.text, text);
    return o;
}

/* Defaults obj (and old), validates, and compares the message (NULL = must pass). */
static void expect(const char *group, const char *res, const char *kind, const char *obj_json,
                   const char *old_json, const char *want)
{
    json_t *obj = load(obj_json), *old = old_json ? load(old_json) : NULL;
    validation_default(group, res, obj);
    if (old)
        validation_default(group, res, old);
    struct ck_err err = CK_ERR_INIT;
    int rc = validation_validate(group, res, kind, obj, old, &err);
    if (!want) {
        if (rc != 0)
            fail_msg("unexpected failure: %s", err.msg);
    } else {
        if (rc == 0)
            fail_msg("expected failure: %s", want);
        if (strcmp(err.msg, want) != 0)
            fail_msg("\n got: %s\nwant: %s", err.msg, want);
    }
    json_decref(obj);
    json_decref(old);
}

#define POD(name, spec) "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" name "\"},\"spec\":" spec "}"
#define C1 "{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}"

static const char sub_msg[] =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
static const char label_msg[] =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

static void test_names(void **state)
{
    (void)state;
    char want[2048];
    expect("", "pods", "Pod", POD("web-1.a", C1), NULL, NULL);
    snprintf(want, sizeof(want), "Pod \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": %s", sub_msg);
    expect("", "pods", "Pod", POD("Bad_Name", C1), NULL, want);
    expect("", "pods", "Pod", "{\"metadata\":{},\"spec\":" C1 "}", NULL,
           "Pod \"\" is invalid: metadata.name: Required value: name or generateName is required");
    snprintf(want, sizeof(want), "Namespace \"a.b\" is invalid: metadata.name: Invalid value: \"a.b\": %s", label_msg);
    expect("", "namespaces", "Namespace", "{\"metadata\":{\"name\":\"a.b\"}}", NULL, want);
    expect("", "services", "Service",
           "{\"metadata\":{\"name\":\"1abc\"},\"spec\":{\"ports\":[{\"port\":80}]}}", NULL,
           "Service \"1abc\" is invalid: metadata.name: Invalid value: \"1abc\": a DNS-1035 label must consist of "
           "lower case alphanumeric characters or '-', start with an alphabetic character, and end with an "
           "alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
           "'[a-z]([-a-z0-9]*[a-z0-9])?')");
    /* statefulsets use a DNS label, so a dot is rejected */
    char big[300];
    memset(big, 'a', 254);
    big[254] = 0;
    char obj[600];
    snprintf(obj, sizeof(obj), "{\"metadata\":{\"name\":\"%s\"},\"data\":{}}", big);
    snprintf(want, sizeof(want), "ConfigMap \"%s\" is invalid: metadata.name: Invalid value: \"%s\": must be no more "
             "than 253 characters", big, big);
    expect("", "configmaps", "ConfigMap", obj, NULL, want);
    /* generateName with a trailing dash is fine; a bad prefix is reported on generateName */
    expect("", "pods", "Pod", "{\"metadata\":{\"generateName\":\"web-\",\"name\":\"web-x7k2p\"},\"spec\":" C1 "}", NULL, NULL);
    expect("", "pods", "Pod", "{\"metadata\":{\"generateName\":\"web-\"},\"spec\":" C1 "}", NULL, NULL);
    snprintf(want, sizeof(want), "Pod \"ok\" is invalid: metadata.generateName: Invalid value: \"Web-\": %s", sub_msg);
    expect("", "pods", "Pod", "{\"metadata\":{\"generateName\":\"Web-\",\"name\":\"ok\"},\"spec\":" C1 "}", NULL, want);
    /* rbac names are path segments: colons allowed */
    expect("rbac.authorization.k8s.io", "clusterroles", "ClusterRole", "{\"metadata\":{\"name\":\"system:node\"}}", NULL, NULL);
    expect("rbac.authorization.k8s.io", "clusterroles", "ClusterRole", "{\"metadata\":{\"name\":\"a/b\"}}", NULL,
           "ClusterRole.rbac.authorization.k8s.io \"a/b\" is invalid: metadata.name: Invalid value: \"a/b\": may not "
           "contain '/'");
    assert_true(validation_is_dns1123_subdomain("a.b-c"));
    assert_false(validation_is_dns1123_subdomain("-a"));
    assert_true(validation_is_dns1123_label("a-1"));
    assert_false(validation_is_dns1123_label("a.b"));
    assert_false(validation_is_dns1035_label("1a"));
}

static void test_labels_annotations(void **state)
{
    (void)state;
    expect("", "configmaps", "ConfigMap",
           "{\"metadata\":{\"name\":\"c\",\"labels\":{\"bad key!\":\"v\",\"ok\":\"bad value!\"}}}", NULL,
           "ConfigMap \"c\" is invalid: [metadata.labels: Invalid value: \"bad key!\": name part must consist of "
           "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
           "'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
           "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'), metadata.labels: Invalid value: \"bad value!\": a valid "
           "label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start "
           "and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
           "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')]");
    expect("", "configmaps", "ConfigMap",
           "{\"metadata\":{\"name\":\"c\",\"labels\":{\"example.com/app\":\"\",\"/x\":\"y\"}}}", NULL,
           "ConfigMap \"c\" is invalid: metadata.labels: Invalid value: \"/x\": prefix part must be non-empty");
    size_t n = 300 * 1024;
    char *big = malloc(n + 200);
    int off = snprintf(big, 200, "{\"metadata\":{\"name\":\"c\",\"annotations\":{\"k\":\"");
    memset(big + off, 'x', n);
    snprintf(big + off + n, 100, "\"}}}");
    expect("", "configmaps", "ConfigMap", big, NULL,
           "ConfigMap \"c\" is invalid: metadata.annotations: Too long: may not be more than 262144 bytes");
    free(big);
}

static void test_pod_spec(void **state)
{
    (void)state;
    expect("", "pods", "Pod", POD("p", "{\"containers\":[]}"), NULL,
           "Pod \"p\" is invalid: spec.containers: Required value");
    expect("", "pods", "Pod", POD("Bad_Name", "{\"containers\":[{\"name\":\"c\"}]}"), NULL,
           "Pod \"Bad_Name\" is invalid: [metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain "
           "must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an "
           "alphanumeric character (e.g. 'example.com', regex used for validation is "
           "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'), spec.containers[0].image: "
           "Required value]");
    expect("", "pods", "Pod", POD("p", "{\"containers\":[{\"name\":\"c\",\"image\":\"a\"},{\"name\":\"c\",\"image\":\"b\"}]}"),
           NULL, "Pod \"p\" is invalid: spec.containers[1].name: Duplicate value: \"c\"");
    expect("", "pods", "Pod", POD("p", "{\"containers\":[{\"name\":\"c\",\"image\":\"a\",\"ports\":[{\"containerPort\":70000},"
           "{\"containerPort\":80,\"protocol\":\"HTTP\"}]}]}"), NULL,
           "Pod \"p\" is invalid: [spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 "
           "and 65535, inclusive, spec.containers[0].ports[1].protocol: Unsupported value: \"HTTP\": supported values: "
           "\"SCTP\", \"TCP\", \"UDP\"]");
    expect("", "pods", "Pod", POD("p", "{\"restartPolicy\":\"Sometimes\",\"dnsPolicy\":\"Bogus\",\"containers\":[{\"name\":"
           "\"c\",\"image\":\"a\"}]}"), NULL,
           "Pod \"p\" is invalid: [spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", "
           "\"OnFailure\", \"Never\", spec.dnsPolicy: Unsupported value: \"Bogus\": supported values: "
           "\"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"]");
    expect("", "pods", "Pod", POD("p", "{\"volumes\":[{\"name\":\"data\",\"emptyDir\":{}},{\"name\":\"data\",\"emptyDir\":{}}],"
           "\"containers\":[{\"name\":\"c\",\"image\":\"a\",\"volumeMounts\":[{\"name\":\"cache\",\"mountPath\":\"/c\"}]}]}"),
           NULL,
           "Pod \"p\" is invalid: [spec.volumes[1].name: Duplicate value: \"data\", "
           "spec.containers[0].volumeMounts[0].name: Not found: \"cache\"]");
    expect("", "pods", "Pod", POD("p", "{\"containers\":[{\"name\":\"Web\",\"image\":\"a\"}]}"), NULL,
           "Pod \"p\" is invalid: spec.containers[0].name: Invalid value: \"Web\": a lowercase RFC 1123 label must "
           "consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric "
           "character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
    expect("", "pods", "Pod", POD("p", "{\"containers\":[{\"name\":\"c\",\"image\":\"a\",\"env\":[{\"name\":\"1X\"},"
           "{\"name\":\"A=B\"},{\"value\":\"v\"}]}]}"), NULL,
           "Pod \"p\" is invalid: [spec.containers[0].env[1].name: Invalid value: \"A=B\": a valid environment "
           "variable name must consist only of printable ASCII characters other than '=', "
           "spec.containers[0].env[2].name: Required value]");
}

static void test_probes(void **state)
{
    (void)state;
    expect("", "pods", "Pod", POD("p", "{\"containers\":[{\"name\":\"c\",\"image\":\"a\",\"livenessProbe\":"
           "{\"httpGet\":{\"port\":8080},\"successThreshold\":2},\"readinessProbe\":{\"periodSeconds\":5}}]}"), NULL,
           "Pod \"p\" is invalid: [spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1, "
           "spec.containers[0].readinessProbe: Required value: must specify a handler type]");
    expect("", "pods", "Pod", POD("p", "{\"containers\":[{\"name\":\"c\",\"image\":\"a\",\"readinessProbe\":"
           "{\"exec\":{\"command\":[\"true\"]},\"tcpSocket\":{\"port\":\"http\"}}}]}"), NULL,
           "Pod \"p\" is invalid: spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 "
           "handler type");
    expect("", "pods", "Pod", POD("p", "{\"containers\":[{\"name\":\"c\",\"image\":\" a\"}]}"), NULL,
           "Pod \"p\" is invalid: spec.containers[0].image: Invalid value: \" a\": must not have leading or trailing "
           "whitespace");
}

static void test_pod_resources(void **state)
{
    (void)state;
    expect("", "pods", "Pod", POD("p", "{\"containers\":[{\"name\":\"c\",\"image\":\"a\",\"resources\":{\"limits\":"
           "{\"cpu\":\"1\",\"memory\":\"1Gi\"},\"requests\":{\"cpu\":\"1500m\",\"memory\":\"512Mi\"}}}]}"), NULL,
           "Pod \"p\" is invalid: spec.containers[0].resources.requests: Invalid value: \"1500m\": must be less than "
           "or equal to cpu limit of 1");
    expect("", "pods", "Pod", POD("p", "{\"containers\":[{\"name\":\"c\",\"image\":\"a\",\"resources\":{\"limits\":"
           "{\"cpu\":\"1000m\"},\"requests\":{\"cpu\":\"2\"}}}]}"), NULL,
           "Pod \"p\" is invalid: spec.containers[0].resources.requests: Invalid value: \"2\": must be less than "
           "or equal to cpu limit of 1");
    expect("", "pods", "Pod", POD("p", "{\"containers\":[{\"name\":\"c\",\"image\":\"a\",\"resources\":{\"requests\":"
           "{\"memory\":\"-1\",\"gpu\":\"1\"}}}]}"), NULL,
           "Pod \"p\" is invalid: [spec.containers[0].resources.requests[memory]: Invalid value: \"-1\": must be "
           "greater than or equal to 0, spec.containers[0].resources.requests[gpu]: Invalid value: \"gpu\": must be a "
           "standard resource for containers]");
    expect("", "pods", "Pod", POD("p", "{\"containers\":[{\"name\":\"c\",\"image\":\"a\",\"resources\":{\"requests\":"
           "{\"example.com/dongle\":\"1\"}}}]}"), NULL,
           "Pod \"p\" is invalid: spec.containers[0].resources.limits: Required value: Limit must be set for non "
           "overcommitable resources");
    /* an unparsable quantity is a 400 decode error upstream */
    json_t *pod = load(POD("p", "{\"containers\":[{\"name\":\"c\",\"image\":\"a\",\"resources\":{\"limits\":{\"cpu\":\"lots\"}}}]}"));
    validation_default("", "pods", pod);
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(validation_validate("", "pods", "Pod", pod, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    assert_string_equal(err.msg, "Pod in version \"v1\" cannot be handled as a Pod: quantities must match the regular "
                                 "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
    json_decref(pod);
}

static void test_quantity(void **state)
{
    (void)state;
    static const struct { const char *s; long long milli; } ok[] = {
        {"100m", 100}, {"1", 1000}, {"1.5", 1500}, {"1Ki", 1024000}, {"1Gi", 1073741824000LL},
        {"1e3", 1000000}, {"2k", 2000000}, {"0.1", 100}, {"-2", -2000}, {"1E-3", 1}, {"+5m", 5}, {".5", 500},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        json_t *q = json_string(ok[i].s);
        __int128 n;
        assert_int_equal(validation_quantity_nano(q, &n), 0);
        if ((long long)(n / 1000000) != ok[i].milli)
            fail_msg("%s: got %lld milli", ok[i].s, (long long)(n / 1000000));
        json_decref(q);
    }
    static const char *const bad[] = {"", "abc", "1x", "1Kii", "--1", "1e", "m", "1.2.3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *q = json_string(bad[i]);
        __int128 n;
        if (validation_quantity_nano(q, &n) == 0)
            fail_msg("%s should not parse", bad[i]);
        json_decref(q);
    }
    static const struct { const char *in, *out; } canon[] = {
        {"1000m", "1"}, {"0.5", "500m"}, {"1.5", "1500m"}, {"1024Mi", "1Gi"}, {"1536Mi", "1536Mi"},
        {"1e3", "1e3"}, {"1200e0", "1200"}, {"12000", "12k"}, {"100Ki", "100Ki"}, {"512", "512"},
        {"0.5Ki", "512"}, {"1.5Gi", "1536Mi"}, {"-1000m", "-1"}, {"0", "0"}, {"0Mi", "0"}, {"2000000k", "2G"},
        {"1n", "1n"}, {"0.0000000001", "1n"},
    };
    for (size_t i = 0; i < sizeof(canon) / sizeof(canon[0]); i++) {
        json_t *q = json_string(canon[i].in);
        char *c = validation_quantity_canonical(q);
        if (!c || strcmp(c, canon[i].out))
            fail_msg("canonical(%s) = %s, want %s", canon[i].in, c ? c : "NULL", canon[i].out);
        free(c);
        json_decref(q);
    }
    json_t *num = json_integer(3);
    char *c3 = validation_quantity_canonical(num);
    assert_string_equal(c3, "3");
    free(c3);
    json_decref(num);
    json_t *a = json_string("1Gi"), *b = json_integer(1073741824), *c = json_string("1G");
    int cmp;
    assert_int_equal(validation_quantity_cmp(a, b, &cmp), 0);
    assert_int_equal(cmp, 0);
    assert_int_equal(validation_quantity_cmp(c, a, &cmp), 0);
    assert_true(cmp < 0);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

#define DEPLOY(name, spec) "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"" name "\"},\"spec\":" spec "}"
#define TMPL(app) "\"template\":{\"metadata\":{\"labels\":{\"app\":\"" app "\"}},\"spec\":" C1 "}"

static void test_deployments(void **state)
{
    (void)state;
    expect("apps", "deployments", "Deployment",
           DEPLOY("web", "{\"replicas\":2,\"selector\":{\"matchLabels\":{\"app\":\"web\"}}," TMPL("web") "}"), NULL, NULL);
    expect("apps", "deployments", "Deployment",
           DEPLOY("web", "{\"replicas\":-1,\"selector\":{\"matchLabels\":{\"app\":\"web\"}}," TMPL("web") "}"), NULL,
           "Deployment.apps \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0");
    expect("apps", "deployments", "Deployment",
           DEPLOY("web", "{\"selector\":{\"matchLabels\":{\"app\":\"web\"}}," TMPL("other") "}"), NULL,
           "Deployment.apps \"web\" is invalid: spec.template.metadata.labels: Invalid value: "
           "map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`");
    expect("apps", "deployments", "Deployment", DEPLOY("web", "{" TMPL("web") "}"), NULL,
           "Deployment.apps \"web\" is invalid: [spec.selector: Required value, spec.template.metadata.labels: "
           "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`]");
    expect("apps", "deployments", "Deployment", DEPLOY("web", "{\"selector\":{}," TMPL("web") "}"), NULL,
           "Deployment.apps \"web\" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:"
           "map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid "
           "for deployment");
    expect("apps", "deployments", "Deployment",
           DEPLOY("web", "{\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"strategy\":{\"rollingUpdate\":{\"maxSurge\":0,"
                         "\"maxUnavailable\":\"150%\"}}," TMPL("web") "}"), NULL,
           "Deployment.apps \"web\" is invalid: spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "
           "intstr.IntOrString{Type:1, IntVal:0, StrVal:\"150%\"}: must not be greater than 100%");
    /* selector is immutable in apps/v1 */
    expect("apps", "deployments", "Deployment",
           DEPLOY("web", "{\"selector\":{\"matchLabels\":{\"app\":\"web2\"}}," TMPL("web2") "}"),
           DEPLOY("web", "{\"selector\":{\"matchLabels\":{\"app\":\"web\"}}," TMPL("web") "}"),
           "Deployment.apps \"web\" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:"
           "map[string]string{\"app\":\"web2\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is "
           "immutable");
    /* template restartPolicy must be Always for controllers */
    expect("apps", "replicasets", "ReplicaSet",
           "{\"metadata\":{\"name\":\"rs\"},\"spec\":{\"selector\":{\"matchExpressions\":[{\"key\":\"app\",\"operator\":"
           "\"In\",\"values\":[\"web\"]}]},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":"
           "{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}", NULL,
           "ReplicaSet.apps \"rs\" is invalid: spec.template.spec.restartPolicy: Unsupported value: \"Never\": "
           "supported values: \"Always\"");
    expect("apps", "daemonsets", "DaemonSet",
           "{\"metadata\":{\"name\":\"ds\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"x\"}}," TMPL("x") "}}",
           NULL, NULL);
    expect("apps", "statefulsets", "StatefulSet",
           "{\"metadata\":{\"name\":\"db.x\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"x\"}}," TMPL("x") "}}",
           NULL, "StatefulSet.apps \"db.x\" is invalid: metadata.name: Invalid value: \"db.x\": a lowercase RFC 1123 "
                 "label must consist of lower case alphanumeric characters or '-', and must start and end with an "
                 "alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
    expect("apps", "statefulsets", "StatefulSet",
           "{\"metadata\":{\"name\":\"db\"},\"spec\":{\"serviceName\":\"b\",\"selector\":{\"matchLabels\":{\"app\":\"x\"}},"
           TMPL("x") "}}",
           "{\"metadata\":{\"name\":\"db\"},\"spec\":{\"serviceName\":\"a\",\"selector\":{\"matchLabels\":{\"app\":\"x\"}},"
           TMPL("x") "}}",
           "StatefulSet.apps \"db\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than "
           "'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
           "'minReadySeconds' are forbidden");
}

static void test_jobs(void **state)
{
    (void)state;
    expect("batch", "jobs", "Job", "{\"metadata\":{\"name\":\"pi\"},\"spec\":{\"template\":{\"spec\":" C1 "}}}", NULL,
           "Job.batch \"pi\" is invalid: spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", "
           "\"Never\"");
    expect("batch", "jobs", "Job",
           "{\"metadata\":{\"name\":\"pi\",\"uid\":\"u-1\"},\"spec\":{\"parallelism\":-2,\"template\":{\"spec\":"
           "{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}", NULL,
           "Job.batch \"pi\" is invalid: spec.parallelism: Invalid value: -2: must be greater than or equal to 0");
    expect("batch", "jobs", "Job",
           "{\"metadata\":{\"name\":\"pi\",\"uid\":\"u-1\"},\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\","
           "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}", NULL, NULL);
    expect("batch", "cronjobs", "CronJob",
           "{\"metadata\":{\"name\":\"cj\"},\"spec\":{\"schedule\":\"*/5 * * * *\",\"jobTemplate\":{\"spec\":{\"template\":"
           "{\"spec\":{\"restartPolicy\":\"OnFailure\",\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}}}", NULL, NULL);
    expect("batch", "cronjobs", "CronJob",
           "{\"metadata\":{\"name\":\"cj\"},\"spec\":{\"schedule\":\"bad\",\"jobTemplate\":{\"spec\":{\"template\":"
           "{\"spec\":{\"restartPolicy\":\"OnFailure\",\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}}}", NULL,
           "CronJob.batch \"cj\" is invalid: spec.schedule: Invalid value: \"bad\": expected exactly 5 fields, found 1: "
           "[bad]");
    char msg[256];
    assert_false(validation_cron_ok("0-70 * * * *", msg, sizeof(msg)));
    assert_string_equal(msg, "end of range (70) above maximum (59): 0-70");
    assert_false(validation_cron_ok("x * * * *", msg, sizeof(msg)));
    assert_string_equal(msg, "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax");
    assert_false(validation_cron_ok("* * 0 * *", msg, sizeof(msg)));
    assert_string_equal(msg, "beginning of range (0) below minimum (1): 0");
    assert_false(validation_cron_ok("5-2 * * * *", msg, sizeof(msg)));
    assert_string_equal(msg, "beginning of range (5) beyond end of range (2): 5-2");
    assert_false(validation_cron_ok("*/0 * * * *", msg, sizeof(msg)));
    assert_string_equal(msg, "step of range should be a positive number: */0");
    assert_false(validation_cron_ok("@fortnightly", msg, sizeof(msg)));
    assert_string_equal(msg, "unrecognized descriptor: @fortnightly");
    assert_true(validation_cron_ok("0 9 * JAN-MAR mon-fri", msg, sizeof(msg)));
    assert_true(validation_cron_ok("@hourly", msg, sizeof(msg)));
    assert_true(validation_cron_ok("TZ=Europe/Paris 0 9 * * *", msg, sizeof(msg)));
    expect("batch", "cronjobs", "CronJob",
           "{\"metadata\":{\"name\":\"cj\"},\"spec\":{\"schedule\":\"TZ=UTC 0 * * * *\",\"jobTemplate\":{\"spec\":"
           "{\"template\":{\"spec\":{\"restartPolicy\":\"OnFailure\",\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}}}",
           NULL, "CronJob.batch \"cj\" is invalid: spec.schedule: Invalid value: \"TZ=UTC 0 * * * *\": cannot use TZ or "
                 "CRON_TZ in schedule, use timeZone field instead");
    assert_true(validation_cron_ok("1,2,3 0-23/2 1-31 * 0", msg, sizeof(msg)));
}

static void test_services(void **state)
{
    (void)state;
    expect("", "services", "Service", "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"selector\":{\"app\":\"web\"}}}", NULL,
           "Service \"web\" is invalid: spec.ports: Required value");
    expect("", "services", "Service", "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"clusterIP\":\"None\"}}", NULL, NULL);
    expect("", "services", "Service",
           "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"ports\":[{\"port\":80},{\"port\":70000,\"name\":\"b\"}]}}", NULL,
           "Service \"web\" is invalid: [spec.ports[0].name: Required value, spec.ports[1].port: Invalid value: 70000: "
           "must be between 1 and 65535, inclusive, spec.ports[1].targetPort: Invalid value: 70000: must be between 1 "
           "and 65535, inclusive]");
    expect("", "services", "Service",
           "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"type\":\"Magic\",\"ports\":[{\"port\":80}]}}", NULL,
           "Service \"web\" is invalid: spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", "
           "\"ExternalName\", \"LoadBalancer\", \"NodePort\"");
    expect("", "services", "Service",
           "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"ports\":[{\"port\":80,\"nodePort\":30080}]}}", NULL,
           "Service \"web\" is invalid: spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'");
    expect("", "services", "Service",
           "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"ports\":[{\"name\":\"a\",\"port\":80},{\"name\":\"a\",\"port\":81}]}}",
           NULL, "Service \"web\" is invalid: spec.ports[1].name: Duplicate value: \"a\"");
    expect("", "services", "Service", "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"clusterIP\":\"10.96.0.9\",\"ports\":[{\"port\":80}]}}",
           "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"clusterIP\":\"10.96.0.8\",\"ports\":[{\"port\":80}]}}",
           "Service \"web\" is invalid: spec.clusterIPs[0]: Invalid value: []string{\"10.96.0.9\"}: may not change once set");
    expect("", "services", "Service", "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"ports\":[{\"port\":80}]}}",
           "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"clusterIP\":\"10.96.0.8\",\"ports\":[{\"port\":80}]}}", NULL);
    expect("", "services", "Service", "{\"metadata\":{\"name\":\"ext\"},\"spec\":{\"type\":\"ExternalName\"}}", NULL,
           "Service \"ext\" is invalid: spec.externalName: Required value");
}

static void test_configmaps_secrets(void **state)
{
    (void)state;
    expect("", "configmaps", "ConfigMap", "{\"metadata\":{\"name\":\"c\"},\"data\":{\"a b\":\"1\",\"ok.key\":\"2\"}}", NULL,
           "ConfigMap \"c\" is invalid: data[a b]: Invalid value: \"a b\": a valid config key must consist of "
           "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used "
           "for validation is '[-._a-zA-Z0-9]+')");
    expect("", "configmaps", "ConfigMap", "{\"metadata\":{\"name\":\"c\"},\"data\":{\"..x\":\"1\"}}", NULL,
           "ConfigMap \"c\" is invalid: data[..x]: Invalid value: \"..x\": must not start with '..'");
    expect("", "configmaps", "ConfigMap", "{\"metadata\":{\"name\":\"c\"},\"immutable\":true,\"data\":{\"a\":\"2\"}}",
           "{\"metadata\":{\"name\":\"c\"},\"immutable\":true,\"data\":{\"a\":\"1\"}}",
           "ConfigMap \"c\" is invalid: data: Forbidden: field is immutable when `immutable` is set");
    expect("", "secrets", "Secret", "{\"metadata\":{\"name\":\"s\"},\"type\":\"kubernetes.io/tls\",\"data\":{\"tls.crt\":\"QQ==\"}}",
           NULL, "Secret \"s\" is invalid: data[tls.key]: Required value");
    expect("", "secrets", "Secret", "{\"metadata\":{\"name\":\"s\"},\"type\":\"kubernetes.io/tls\",\"data\":{\"tls.crt\":\"\","
           "\"tls.key\":\"\"}}", "{\"metadata\":{\"name\":\"s\"},\"data\":{}}",
           "Secret \"s\" is invalid: type: Invalid value: \"kubernetes.io/tls\": field is immutable");
}

static void test_rbac_hpa(void **state)
{
    (void)state;
    expect("rbac.authorization.k8s.io", "roles", "Role",
           "{\"metadata\":{\"name\":\"r\"},\"rules\":[{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],\"verbs\":[\"get\"]},"
           "{\"resources\":[\"pods\"]}]}", NULL,
           "Role.rbac.authorization.k8s.io \"r\" is invalid: [rules[1].verbs: Required value: verbs must contain at "
           "least one value, rules[1].apiGroups: Required value: resource rules must supply at least one api group]");
    expect("rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding",
           "{\"metadata\":{\"name\":\"b\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Role\","
           "\"name\":\"x\"},\"subjects\":[{\"kind\":\"ServiceAccount\",\"name\":\"default\"},{\"kind\":\"Robot\","
           "\"name\":\"r2\"},{\"kind\":\"User\",\"name\":\"alice\"}]}", NULL,
           "ClusterRoleBinding.rbac.authorization.k8s.io \"b\" is invalid: [roleRef.kind: Unsupported value: \"Role\": "
           "supported values: \"ClusterRole\", subjects[0].namespace: Required value, subjects[1].kind: Unsupported "
           "value: \"Robot\": supported values: \"ServiceAccount\", \"User\", \"Group\"]");
    expect("autoscaling", "horizontalpodautoscalers", "HorizontalPodAutoscaler",
           "{\"metadata\":{\"name\":\"h\"},\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"web\"},"
           "\"minReplicas\":3,\"maxReplicas\":2}}", NULL,
           "HorizontalPodAutoscaler.autoscaling \"h\" is invalid: spec.maxReplicas: Invalid value: 2: must be greater "
           "than or equal to `minReplicas`");
}

static void test_ingress_pdb(void **state)
{
    (void)state;
    expect("networking.k8s.io", "ingresses", "Ingress",
           "{\"metadata\":{\"name\":\"i\"},\"spec\":{\"rules\":[{\"host\":\"*.example.com\",\"http\":{\"paths\":"
           "[{\"path\":\"/\",\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":\"web\",\"port\":"
           "{\"number\":80}}}}]}}]}}", NULL, NULL);
    expect("networking.k8s.io", "ingresses", "Ingress",
           "{\"metadata\":{\"name\":\"i\"},\"spec\":{\"rules\":[{\"http\":{\"paths\":[{\"path\":\"api\",\"pathType\":"
           "\"Prefix\",\"backend\":{\"service\":{\"name\":\"web\"}}},{\"path\":\"/\",\"backend\":{}}]}}]}}", NULL,
           "Ingress.networking.k8s.io \"i\" is invalid: [spec.rules[0].http.paths[0].path: Invalid value: \"api\": must "
           "be an absolute path, spec.rules[0].http.paths[0].backend: Required value: port name or number is "
           "required, spec.rules[0].http.paths[1].pathType: Required value: pathType must be specified]");
    expect("networking.k8s.io", "ingresses", "Ingress", "{\"metadata\":{\"name\":\"i\"},\"spec\":{}}", NULL,
           "Ingress.networking.k8s.io \"i\" is invalid: spec: Invalid value: []networking.IngressRule(nil): either "
           "`defaultBackend` or `rules` must be specified");
    expect("policy", "poddisruptionbudgets", "PodDisruptionBudget",
           "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"minAvailable\":\"120%\",\"selector\":{\"matchLabels\":"
           "{\"app\":\"x\"}}}}", NULL,
           "PodDisruptionBudget.policy \"p\" is invalid: spec.minAvailable: Invalid value: intstr.IntOrString{Type:1, "
           "IntVal:0, StrVal:\"120%\"}: must not be greater than 100%");
}

static void test_pv_pvc(void **state)
{
    (void)state;
    expect("", "persistentvolumeclaims", "PersistentVolumeClaim",
           "{\"metadata\":{\"name\":\"data\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":"
           "{\"requests\":{\"storage\":\"1Gi\"}}}}", NULL, NULL);
    expect("", "persistentvolumeclaims", "PersistentVolumeClaim",
           "{\"metadata\":{\"name\":\"data\"},\"spec\":{\"accessModes\":[\"ReadWriteSometimes\"],\"resources\":"
           "{\"requests\":{\"storage\":\"0\"}}}}", NULL,
           "PersistentVolumeClaim \"data\" is invalid: [spec.accessModes: Unsupported value: \"ReadWriteSometimes\": "
           "supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\", "
           "spec.resources[storage]: Invalid value: \"0\": must be greater than zero]");
    expect("", "persistentvolumeclaims", "PersistentVolumeClaim",
           "{\"metadata\":{\"name\":\"data\"},\"spec\":{}}", NULL,
           "PersistentVolumeClaim \"data\" is invalid: [spec.accessModes: Required value: at least 1 access mode is "
           "required, spec.resources[storage]: Required value]");
    expect("", "persistentvolumes", "PersistentVolume",
           "{\"metadata\":{\"name\":\"pv1\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"capacity\":"
           "{\"storage\":\"5Gi\"},\"hostPath\":{\"path\":\"/data\"}}}", NULL, NULL);
    expect("", "persistentvolumes", "PersistentVolume",
           "{\"metadata\":{\"name\":\"pv1\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"capacity\":"
           "{\"storage\":\"5Gi\"}}}", NULL,
           "PersistentVolume \"pv1\" is invalid: spec: Required value: must specify a volume type");
}

static void test_classes(void **state)
{
    (void)state;
    expect("storage.k8s.io", "storageclasses", "StorageClass", "{\"metadata\":{\"name\":\"std\"},\"provisioner\":"
           "\"x.io/hostpath\"}", NULL, NULL);
    expect("storage.k8s.io", "storageclasses", "StorageClass", "{\"metadata\":{\"name\":\"std\"},\"reclaimPolicy\":"
           "\"Recycle\"}", NULL,
           "StorageClass.storage.k8s.io \"std\" is invalid: [provisioner: Required value, reclaimPolicy: Unsupported "
           "value: \"Recycle\": supported values: \"Delete\", \"Retain\"]");
    expect("storage.k8s.io", "storageclasses", "StorageClass",
           "{\"metadata\":{\"name\":\"std\"},\"provisioner\":\"b\"}", "{\"metadata\":{\"name\":\"std\"},\"provisioner\":\"a\"}",
           "StorageClass.storage.k8s.io \"std\" is invalid: provisioner: Forbidden: updates to provisioner are forbidden.");
    expect("scheduling.k8s.io", "priorityclasses", "PriorityClass", "{\"metadata\":{\"name\":\"high\"},\"value\":1000}",
           NULL, NULL);
    expect("scheduling.k8s.io", "priorityclasses", "PriorityClass", "{\"metadata\":{\"name\":\"system-x\"},\"value\":1}",
           NULL,
           "PriorityClass.scheduling.k8s.io \"system-x\" is invalid: metadata.name: Forbidden: priority class names with "
           "'system-' prefix are reserved for system use only. error: system-x is not a known system priority class");
    expect("scheduling.k8s.io", "priorityclasses", "PriorityClass", "{\"metadata\":{\"name\":\"high\"},\"value\":2}",
           "{\"metadata\":{\"name\":\"high\"},\"value\":1}",
           "PriorityClass.scheduling.k8s.io \"high\" is invalid: value: Forbidden: may not be changed in an update.");
}

static void test_quota_limitrange(void **state)
{
    (void)state;
    expect("", "resourcequotas", "ResourceQuota", "{\"metadata\":{\"name\":\"q\"},\"spec\":{\"hard\":{\"pods\":\"10\","
           "\"requests.cpu\":\"-2\"}}}", NULL,
           "ResourceQuota \"q\" is invalid: spec.hard[requests.cpu]: Invalid value: \"-2\": must be greater than or "
           "equal to 0");
    expect("", "limitranges", "LimitRange", "{\"metadata\":{\"name\":\"l\"},\"spec\":{\"limits\":[{\"type\":"
           "\"Container\",\"default\":{\"cpu\":\"500m\"}},{\"max\":{\"memory\":\"1Gi\"}}]}}", NULL,
           "LimitRange \"l\" is invalid: [spec.limits[1]: Invalid value: \"\": name part must be non-empty, "
           "spec.limits[1]: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', "
           "and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
           "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')]");
    json_t *q = load("{\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"q\"},\"spec\":{\"hard\":{\"cpu\":\"two\"}}}");
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(validation_validate("", "resourcequotas", "ResourceQuota", q, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    json_decref(q);
}

static void test_finalizers(void **state)
{
    (void)state;
    expect("", "namespaces", "Namespace", "{\"metadata\":{\"name\":\"ns\"},\"spec\":{\"finalizers\":[\"kubernetes\","
           "\"example.com/x\",\"custom\"]}}", NULL,
           "Namespace \"ns\" is invalid: spec.finalizers: Invalid value: \"custom\": name is neither a standard "
           "finalizer name nor is it fully qualified");
    expect("", "configmaps", "ConfigMap", "{\"metadata\":{\"name\":\"c\",\"finalizers\":[\"foregroundDeletion\","
           "\"example.com/a b\"]}}", NULL,
           "ConfigMap \"c\" is invalid: metadata.finalizers: Invalid value: \"example.com/a b\": name part must "
           "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character "
           "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
           "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
}

static void test_updates_and_causes(void **state)
{
    (void)state;
    /* an image change is allowed, anything else in spec is not */
    expect("", "pods", "Pod", POD("p", "{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:2\"}]}"),
           POD("p", "{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1\"}]}"), NULL);
    expect("", "pods", "Pod", POD("p", "{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\",\"args\":[\"x\"]}]}"),
           POD("p", "{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}"),
           "Pod \"p\" is invalid: spec: Forbidden: pod updates may not change fields other than "
           "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
           "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if "
           "it was previously negative)");
    expect("coordination.k8s.io", "leases", "Lease",
           "{\"metadata\":{\"name\":\"l\"},\"spec\":{\"leaseDurationSeconds\":0,\"leaseTransitions\":-1}}", NULL,
           "Lease.coordination.k8s.io \"l\" is invalid: [spec.leaseDurationSeconds: Invalid value: 0: must be greater "
           "than 0, spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0]");
    /* causes carry type, field and the body without the field */
    json_t *pod = load(POD("p", "{\"containers\":[{\"name\":\"c\"}],\"restartPolicy\":\"x\"}"));
    validation_default("", "pods", pod);
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(validation_validate("", "pods", "Pod", pod, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_INVALID);
    assert_int_equal(err.code, 422);
    assert_string_equal(err.kind, "Pod");
    assert_string_equal(err.name, "p");
    assert_int_equal(err.ncauses, 2);
    assert_string_equal(err.causes[0].type, "FieldValueRequired");
    assert_string_equal(err.causes[0].field, "spec.containers[0].image");
    assert_string_equal(err.causes[0].message, "Required value");
    assert_string_equal(err.causes[1].type, "FieldValueNotSupported");
    assert_string_equal(err.causes[1].field, "spec.restartPolicy");
    json_decref(pod);
    /* bad input never crashes */
    assert_int_equal(validation_validate("", "pods", "Pod", NULL, NULL, &err), -1);
    json_t *arr = json_array();
    assert_int_equal(validation_validate("apps", "deployments", "Deployment", arr, arr, &err), -1);
    json_decref(arr);
    json_t *junk = load("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"containers\":5,\"volumes\":{},\"tolerations\":\"t\"}}");
    validation_default("", "pods", junk);
    assert_int_equal(validation_validate("", "pods", "Pod", junk, NULL, &err), -1);
    json_decref(junk);
}

/* Large lists stay linear: 20000 volumes, mounts, ports and containers. */
static void test_large_pod(void **state)
{
    (void)state;
    enum { N = 20000 };
    json_t *vols = json_array(), *mounts = json_array(), *ports = json_array(), *cs = json_array();
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "v%d", i);
        json_array_append_new(vols, json_pack("{ss s{}}", "name", name, "emptyDir"));
        snprintf(name, sizeof(name), "/m/%d", i);
        json_array_append_new(mounts, json_pack("{ss ss}", "name", "v1", "mountPath", name));
        json_array_append_new(ports, json_pack("{si}", "containerPort", 1 + i % 65535));
    }
    json_array_append_new(cs, json_pack("{ss ss so so}", "name", "c", "image", "i", "volumeMounts", mounts,
                                        "ports", ports));
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "c%d", i);
        json_array_append_new(cs, json_pack("{ss ss}", "name", name, "image", "i"));
    }
    json_t *pod = json_pack("{s{ss} s{so so}}", "metadata", "name", "big", "spec", "volumes", vols, "containers", cs);
    validation_default("", "pods", pod);
    struct ck_err err = CK_ERR_INIT;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = validation_validate("", "pods", "Pod", pod, NULL, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc != 0)
        fail_msg("big pod: %s", err.msg);
    print_message("validated a pod with %d volumes/mounts/ports/containers in %.1f ms\n", N,
                  (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    json_decref(pod);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_labels_annotations),
        cmocka_unit_test(test_pod_spec),
        cmocka_unit_test(test_probes),
        cmocka_unit_test(test_pod_resources),
        cmocka_unit_test(test_quantity),
        cmocka_unit_test(test_deployments),
        cmocka_unit_test(test_jobs),
        cmocka_unit_test(test_services),
        cmocka_unit_test(test_configmaps_secrets),
        cmocka_unit_test(test_rbac_hpa),
        cmocka_unit_test(test_ingress_pdb),
        cmocka_unit_test(test_pv_pvc),
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_quota_limitrange),
        cmocka_unit_test(test_finalizers),
        cmocka_unit_test(test_updates_and_causes),
        cmocka_unit_test(test_large_pod),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
