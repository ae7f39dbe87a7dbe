/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: server-side printer columns and golden cells per resource (pod STATUS cases,
 * node status/roles, services, workloads, jobs, events, generic fallbacks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/registry/printers.h"
#include "lib/timeutil.h"

/* 2026-01-01T00:10:00Z: ten minutes after every object's creationTimestamp below. */
#define NOW 1767226200
#define META(n) "\"metadata\":{\"name\":\"" n "\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"}"

static void check_cells(const char *group, const char *resource, const char *obj_json, const char *want)
{
    json_error_t je;
    json_t *obj = json_loads(obj_json, 0, &je);
    if (!obj)
        fail_msg("bad test json: %s (%s)", je.text, obj_json);
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

static void test_now_constant(void **state)
{
    (void)state;
    time_t t;
    assert_int_equal(ck_time_parse_rfc3339("2026-01-01T00:10:00Z", &t), 0);
    assert_int_equal((long long)t, NOW);
}

static void test_columns(void **state)
{
    (void)state;
    size_t n;
    const struct printer_col *c = printer_columns("", "pods", &n);
    assert_int_equal(n, 9);
    assert_string_equal(c[0].name, "Name");
    assert_string_equal(c[0].format, "name");
    assert_string_equal(c[3].name, "Restarts");
    assert_string_equal(c[7].name, "Nominated Node");
    assert_int_equal(c[4].priority, 0);
    assert_int_equal(c[5].priority, 1);
    c = printer_columns("apps", "deployments", &n);
    assert_int_equal(n, 8);
    assert_string_equal(c[2].name, "Up-to-date");
    c = printer_columns("batch", "jobs", &n);
    assert_string_equal(c[1].name, "Status");
    assert_string_equal(c[2].name, "Completions");
    c = printer_columns("", "limitranges", &n);
    assert_int_equal(n, 2);
    assert_string_equal(c[1].name, "Created At");
    assert_string_equal(c[1].type, "date");
    c = printer_columns("example.com", "widgets", &n);
    assert_string_equal(c[1].name, "Age");
    json_t *defs = printer_column_definitions("", "services");
    assert_int_equal(json_array_size(defs), 7);
    assert_string_equal(json_string_value(json_object_get(json_array_get(defs, 4), "name")), "Port(s)");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(defs, 6), "priority")), 1);
    json_decref(defs);
}

#define RUNNING_CS(name, ready, restarts) \
    "{\"name\":\"" name "\",\"ready\":" ready ",\"restartCount\":" restarts ",\"state\":{\"running\":{}}}"

static void test_pod_basic(void **state)
{
    (void)state;
    check_cells("", "pods",
                "{" META("web") ",\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"a\"}]},"
                "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.5\",\"podIPs\":[{\"ip\":\"10.0.0.5\"}],"
                "\"containerStatuses\":[" RUNNING_CS("a", "true", "0") "]}}",
                "[\"web\",\"1/1\",\"Running\",\"0\",\"10m\",\"10.0.0.5\",\"n1\",\"<none>\",\"<none>\"]");
    check_cells("", "pods", "{" META("p") ",\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]},"
                "\"status\":{\"phase\":\"Pending\"}}",
                "[\"p\",\"0/2\",\"Pending\",\"0\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    check_cells("", "pods", "{" META("p") ",\"spec\":{\"containers\":[{\"name\":\"a\"}]},"
                "\"status\":{\"phase\":\"Pending\",\"containerStatuses\":[{\"name\":\"a\",\"ready\":false,"
                "\"restartCount\":0,\"state\":{\"waiting\":{\"reason\":\"ContainerCreating\"}}}]}}",
                "[\"p\",\"0/1\",\"ContainerCreating\",\"0\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    /* no creationTimestamp at all */
    check_cells("", "pods", "{\"metadata\":{\"name\":\"x\"}}",
                "[\"x\",\"0/0\",\"\",\"0\",\"<unknown>\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
}

static void test_pod_restarts_and_terminated(void **state)
{
    (void)state;
    check_cells("", "pods", "{" META("crash") ",\"spec\":{\"containers\":[{\"name\":\"a\"}]},"
                "\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"a\",\"ready\":false,"
                "\"restartCount\":5,\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}},"
                "\"lastState\":{\"terminated\":{\"exitCode\":1,\"finishedAt\":\"2026-01-01T00:05:00Z\"}}}]}}",
                "[\"crash\",\"0/1\",\"CrashLoopBackOff\",\"5 (5m ago)\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    check_cells("", "pods", "{" META("done") ",\"spec\":{\"containers\":[{\"name\":\"a\"}]},"
                "\"status\":{\"phase\":\"Succeeded\",\"containerStatuses\":[{\"name\":\"a\",\"ready\":false,"
                "\"restartCount\":0,\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}}]}}",
                "[\"done\",\"0/1\",\"Completed\",\"0\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    check_cells("", "pods", "{" META("e") ",\"spec\":{\"containers\":[{\"name\":\"a\"}]},"
                "\"status\":{\"phase\":\"Failed\",\"containerStatuses\":[{\"name\":\"a\",\"restartCount\":0,"
                "\"state\":{\"terminated\":{\"exitCode\":2}}}]}}",
                "[\"e\",\"0/1\",\"ExitCode:2\",\"0\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    check_cells("", "pods", "{" META("s") ",\"spec\":{\"containers\":[{\"name\":\"a\"}]},"
                "\"status\":{\"phase\":\"Failed\",\"containerStatuses\":[{\"name\":\"a\",\"restartCount\":0,"
                "\"state\":{\"terminated\":{\"exitCode\":137,\"signal\":9}}}]}}",
                "[\"s\",\"0/1\",\"Signal:9\",\"0\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    /* one container completed, the other still running and the pod Ready -> Running */
    check_cells("", "pods", "{" META("mix") ",\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]},"
                "\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
                "\"containerStatuses\":[{\"name\":\"a\",\"restartCount\":0,\"state\":{\"terminated\":"
                "{\"exitCode\":0,\"reason\":\"Completed\"}}}," RUNNING_CS("b", "true", "0") "]}}",
                "[\"mix\",\"1/2\",\"Running\",\"0\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    check_cells("", "pods", "{" META("mix") ",\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]},"
                "\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"a\",\"restartCount\":0,"
                "\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}}," RUNNING_CS("b", "true", "0")
                "]}}",
                "[\"mix\",\"1/2\",\"NotReady\",\"0\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
}

#define INIT_SPEC "\"spec\":{\"initContainers\":[{\"name\":\"i1\"},{\"name\":\"i2\"}],\"containers\":[{\"name\":\"a\"}]}"

static void test_pod_init(void **state)
{
    (void)state;
    check_cells("", "pods", "{" META("i") "," INIT_SPEC ",\"status\":{\"phase\":\"Pending\","
                "\"initContainerStatuses\":[{\"name\":\"i1\",\"restartCount\":0,\"state\":{\"waiting\":"
                "{\"reason\":\"PodInitializing\"}}},{\"name\":\"i2\",\"restartCount\":0,\"state\":{\"waiting\":{}}}]}}",
                "[\"i\",\"0/1\",\"Init:0/2\",\"0\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    check_cells("", "pods", "{" META("i") "," INIT_SPEC ",\"status\":{\"phase\":\"Pending\","
                "\"initContainerStatuses\":[{\"name\":\"i1\",\"restartCount\":0,\"state\":{\"terminated\":"
                "{\"exitCode\":0,\"reason\":\"Completed\"}}},{\"name\":\"i2\",\"restartCount\":0,\"state\":"
                "{\"running\":{}}}]}}",
                "[\"i\",\"0/1\",\"Init:1/2\",\"0\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    check_cells("", "pods", "{" META("i") "," INIT_SPEC ",\"status\":{\"phase\":\"Pending\","
                "\"initContainerStatuses\":[{\"name\":\"i1\",\"restartCount\":3,\"state\":{\"waiting\":"
                "{\"reason\":\"CrashLoopBackOff\"}},\"lastState\":{\"terminated\":{\"exitCode\":1,"
                "\"finishedAt\":\"2026-01-01T00:08:00Z\"}}}]}}",
                "[\"i\",\"0/1\",\"Init:CrashLoopBackOff\",\"3 (2m ago)\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    check_cells("", "pods", "{" META("i") "," INIT_SPEC ",\"status\":{\"phase\":\"Failed\","
                "\"initContainerStatuses\":[{\"name\":\"i1\",\"restartCount\":0,\"state\":{\"terminated\":"
                "{\"exitCode\":1,\"reason\":\"Error\"}}}]}}",
                "[\"i\",\"0/1\",\"Init:Error\",\"0\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    check_cells("", "pods", "{" META("i") "," INIT_SPEC ",\"status\":{\"phase\":\"Failed\","
                "\"initContainerStatuses\":[{\"name\":\"i1\",\"restartCount\":0,\"state\":{\"terminated\":"
                "{\"exitCode\":3}}}]}}",
                "[\"i\",\"0/1\",\"Init:ExitCode:3\",\"0\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    /* a restartable (sidecar) init container counts in READY and the total */
    check_cells("", "pods", "{" META("sc") ",\"spec\":{\"initContainers\":[{\"name\":\"side\",\"restartPolicy\":"
                "\"Always\"}],\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Running\","
                "\"conditions\":[{\"type\":\"Initialized\",\"status\":\"True\"}],"
                "\"initContainerStatuses\":[{\"name\":\"side\",\"ready\":true,\"started\":true,\"restartCount\":1,"
                "\"state\":{\"running\":{}},\"lastState\":{\"terminated\":{\"exitCode\":1,\"finishedAt\":"
                "\"2026-01-01T00:09:00Z\"}}}],\"containerStatuses\":[" RUNNING_CS("a", "true", "0") "]}}",
                "[\"sc\",\"2/2\",\"Running\",\"1 (60s ago)\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
}

static void test_pod_deleting_gated_gates(void **state)
{
    (void)state;
    check_cells("", "pods", "{\"metadata\":{\"name\":\"t\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\","
                "\"deletionTimestamp\":\"2026-01-01T00:09:00Z\"},\"spec\":{\"containers\":[{\"name\":\"a\"}]},"
                "\"status\":{\"phase\":\"Running\",\"containerStatuses\":[" RUNNING_CS("a", "true", "0") "]}}",
                "[\"t\",\"1/1\",\"Terminating\",\"0\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    check_cells("", "pods", "{\"metadata\":{\"name\":\"t\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\","
                "\"deletionTimestamp\":\"2026-01-01T00:09:00Z\"},\"spec\":{\"containers\":[{\"name\":\"a\"}]},"
                "\"status\":{\"phase\":\"Running\",\"reason\":\"NodeLost\"}}",
                "[\"t\",\"0/1\",\"Unknown\",\"0\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    /* terminal pods keep their status while being deleted */
    check_cells("", "pods", "{\"metadata\":{\"name\":\"t\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\","
                "\"deletionTimestamp\":\"2026-01-01T00:09:00Z\"},\"spec\":{\"containers\":[{\"name\":\"a\"}]},"
                "\"status\":{\"phase\":\"Succeeded\",\"containerStatuses\":[{\"name\":\"a\",\"restartCount\":0,"
                "\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}}]}}",
                "[\"t\",\"0/1\",\"Completed\",\"0\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    check_cells("", "pods", "{" META("g") ",\"spec\":{\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":"
                "\"Pending\",\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"False\",\"reason\":"
                "\"SchedulingGated\"}]}}",
                "[\"g\",\"0/1\",\"SchedulingGated\",\"0\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    check_cells("", "pods", "{" META("rg") ",\"spec\":{\"containers\":[{\"name\":\"a\"}],\"readinessGates\":"
                "[{\"conditionType\":\"x/one\"},{\"conditionType\":\"x/two\"}]},\"status\":{\"phase\":\"Running\","
                "\"nominatedNodeName\":\"n9\",\"conditions\":[{\"type\":\"x/one\",\"status\":\"True\"},"
                "{\"type\":\"x/two\",\"status\":\"False\"}]}}",
                "[\"rg\",\"0/1\",\"Running\",\"0\",\"10m\",\"<none>\",\"<none>\",\"n9\",\"1/2\"]");
    json_t *pod = json_loads("{\"status\":{\"phase\":\"Succeeded\"}}", 0, NULL);
    json_t *conds = printer_row_conditions("", "pods", pod);
    assert_non_null(conds);
    assert_string_equal(json_string_value(json_object_get(json_array_get(conds, 0), "reason")), "Succeeded");
    json_decref(conds);
    assert_null(printer_row_conditions("apps", "deployments", pod));
    json_decref(pod);
}

static void test_nodes(void **state)
{
    (void)state;
    check_cells("", "nodes", "{\"metadata\":{\"name\":\"n1\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\","
                "\"labels\":{\"node-role.kubernetes.io/master\":\"\",\"node-role.kubernetes.io/control-plane\":\"\","
                "\"kubernetes.io/role\":\"master\",\"other\":\"x\"}},\"status\":{\"conditions\":[{\"type\":"
                "\"MemoryPressure\",\"status\":\"False\"},{\"type\":\"Ready\",\"status\":\"True\"}],"
                "\"addresses\":[{\"type\":\"Hostname\",\"address\":\"n1\"},{\"type\":\"InternalIP\",\"address\":"
                "\"192.168.1.10\"}],\"nodeInfo\":{\"kubeletVersion\":\"v1.31.0\",\"osImage\":\"Debian GNU/Linux 12\","
                "\"kernelVersion\":\"6.1.0\",\"containerRuntimeVersion\":\"ckube://0.1.0\"}}}",
                "[\"n1\",\"Ready\",\"control-plane,master\",\"10m\",\"v1.31.0\",\"192.168.1.10\",\"<none>\","
                "\"Debian GNU/Linux 12\",\"6.1.0\",\"ckube://0.1.0\"]");
    check_cells("", "nodes", "{" META("n2") ",\"spec\":{\"unschedulable\":true},\"status\":{\"conditions\":"
                "[{\"type\":\"Ready\",\"status\":\"Unknown\"}]}}",
                "[\"n2\",\"NotReady,SchedulingDisabled\",\"<none>\",\"10m\",\"\",\"<none>\",\"<none>\","
                "\"<unknown>\",\"<unknown>\",\"<unknown>\"]");
    check_cells("", "nodes", "{" META("n3") "}",
                "[\"n3\",\"Unknown\",\"<none>\",\"10m\",\"\",\"<none>\",\"<none>\",\"<unknown>\",\"<unknown>\","
                "\"<unknown>\"]");
}

static void test_services(void **state)
{
    (void)state;
    check_cells("", "services", "{" META("web") ",\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"10.96.0.10\","
                "\"clusterIPs\":[\"10.96.0.10\"],\"selector\":{\"app\":\"web\",\"tier\":\"a\"},\"ports\":[{\"port\":80,"
                "\"protocol\":\"TCP\"},{\"port\":53,\"protocol\":\"UDP\"}]}}",
                "[\"web\",\"ClusterIP\",\"10.96.0.10\",\"<none>\",\"80/TCP,53/UDP\",\"10m\",\"app=web,tier=a\"]");
    check_cells("", "services", "{" META("np") ",\"spec\":{\"type\":\"NodePort\",\"clusterIPs\":[\"10.96.0.11\"],"
                "\"externalIPs\":[\"1.2.3.4\"],\"ports\":[{\"port\":80,\"nodePort\":30080,\"protocol\":\"TCP\"}]}}",
                "[\"np\",\"NodePort\",\"10.96.0.11\",\"1.2.3.4\",\"80:30080/TCP\",\"10m\",\"<none>\"]");
    check_cells("", "services", "{" META("lb") ",\"spec\":{\"type\":\"LoadBalancer\",\"clusterIPs\":[\"10.96.0.12\"],"
                "\"ports\":[{\"port\":443,\"nodePort\":31443,\"protocol\":\"TCP\"}]}}",
                "[\"lb\",\"LoadBalancer\",\"10.96.0.12\",\"<pending>\",\"443:31443/TCP\",\"10m\",\"<none>\"]");
    check_cells("", "services", "{" META("lb") ",\"spec\":{\"type\":\"LoadBalancer\",\"clusterIPs\":[\"10.96.0.12\"],"
                "\"externalIPs\":[\"5.5.5.5\"]},\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"9.9.9.9\"},"
                "{\"hostname\":\"lb.example.com\"}]}}}",
                "[\"lb\",\"LoadBalancer\",\"10.96.0.12\",\"9.9.9.9,lb.example.com,5.5.5.5\",\"<none>\",\"10m\",\"<none>\"]");
    check_cells("", "services", "{" META("ext") ",\"spec\":{\"type\":\"ExternalName\",\"externalName\":"
                "\"db.example.com\"}}",
                "[\"ext\",\"ExternalName\",\"<none>\",\"db.example.com\",\"<none>\",\"10m\",\"<none>\"]");
    check_cells("", "services", "{" META("hl") ",\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"None\","
                "\"clusterIPs\":[\"None\"],\"ports\":[{\"port\":5432,\"protocol\":\"TCP\"}]}}",
                "[\"hl\",\"ClusterIP\",\"None\",\"<none>\",\"5432/TCP\",\"10m\",\"<none>\"]");
}

static void test_endpoints_slices(void **state)
{
    (void)state;
    check_cells("", "endpoints", "{" META("web") ",\"subsets\":[{\"addresses\":[{\"ip\":\"10.0.0.1\"},{\"ip\":"
                "\"10.0.0.2\"},{\"ip\":\"fd00::3\"},{\"ip\":\"10.0.0.4\"}],\"ports\":[{\"port\":8080}]}]}",
                "[\"web\",\"10.0.0.1:8080,10.0.0.2:8080,[fd00::3]:8080 + 1 more...\",\"10m\"]");
    check_cells("", "endpoints", "{" META("none") "}", "[\"none\",\"<none>\",\"10m\"]");
    check_cells("discovery.k8s.io", "endpointslices", "{" META("web-abc") ",\"addressType\":\"IPv4\",\"ports\":"
                "[{\"name\":\"http\",\"port\":80}],\"endpoints\":[{\"addresses\":[\"10.0.0.1\"]},{\"addresses\":"
                "[\"10.0.0.2\"]}]}",
                "[\"web-abc\",\"IPv4\",\"80\",\"10.0.0.1,10.0.0.2\",\"10m\"]");
    check_cells("discovery.k8s.io", "endpointslices", "{" META("e") ",\"addressType\":\"IPv4\"}",
                "[\"e\",\"IPv4\",\"<unset>\",\"<unset>\",\"10m\"]");
}

static void test_config_secret_sa_ns_lease(void **state)
{
    (void)state;
    check_cells("", "configmaps", "{" META("cm") ",\"data\":{\"a\":\"1\",\"b\":\"2\"},\"binaryData\":{\"c\":\"AA==\"}}",
                "[\"cm\",3,\"10m\"]");
    check_cells("", "secrets", "{" META("s") ",\"type\":\"Opaque\",\"data\":{\"k\":\"dg==\"}}",
                "[\"s\",\"Opaque\",1,\"10m\"]");
    check_cells("", "serviceaccounts", "{" META("default") "}", "[\"default\",0,\"10m\"]");
    check_cells("", "namespaces", "{" META("kube-system") ",\"status\":{\"phase\":\"Active\"}}",
                "[\"kube-system\",\"Active\",\"10m\"]");
    check_cells("coordination.k8s.io", "leases", "{" META("node-a") ",\"spec\":{\"holderIdentity\":\"node-a\"}}",
                "[\"node-a\",\"node-a\",\"10m\"]");
    check_cells("", "resourcequotas", "{" META("q") ",\"status\":{\"hard\":{\"pods\":\"10\",\"limits.cpu\":\"2\","
                "\"requests.cpu\":\"1\"},\"used\":{\"pods\":\"3\",\"limits.cpu\":\"500m\"}}}",
                "[\"q\",\"pods: 3/10, requests.cpu: 0/1\",\"limits.cpu: 500m/2\",\"10m\"]");
}

static void test_workloads(void **state)
{
    (void)state;
    check_cells("apps", "deployments", "{" META("web") ",\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":"
                "{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"prod\","
                "\"dev\"]},{\"key\":\"canary\",\"operator\":\"DoesNotExist\"}]},\"template\":{\"spec\":{\"containers\":"
                "[{\"name\":\"nginx\",\"image\":\"nginx:1.25\"},{\"name\":\"log\",\"image\":\"busybox\"}]}}},"
                "\"status\":{\"readyReplicas\":2,\"updatedReplicas\":3,\"availableReplicas\":2}}",
                "[\"web\",\"2/3\",3,2,\"10m\",\"nginx,log\",\"nginx:1.25,busybox\",\"app=web,!canary,env in (dev,prod)\"]");
    check_cells("apps", "replicasets", "{" META("web-1") ",\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":"
                "{\"app\":\"web\"}},\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}},"
                "\"status\":{\"replicas\":2,\"readyReplicas\":1}}",
                "[\"web-1\",2,2,1,\"10m\",\"c\",\"i\",\"app=web\"]");
    check_cells("apps", "daemonsets", "{" META("ds") ",\"spec\":{\"selector\":{},\"template\":{\"spec\":"
                "{\"nodeSelector\":{\"kubernetes.io/os\":\"linux\"},\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}},"
                "\"status\":{\"desiredNumberScheduled\":3,\"currentNumberScheduled\":3,\"numberReady\":2,"
                "\"updatedNumberScheduled\":3,\"numberAvailable\":2}}",
                "[\"ds\",3,3,2,3,2,\"kubernetes.io/os=linux\",\"10m\",\"c\",\"i\",\"<none>\"]");
    check_cells("apps", "statefulsets", "{" META("db") ",\"spec\":{\"replicas\":3,\"template\":{\"spec\":"
                "{\"containers\":[{\"name\":\"pg\",\"image\":\"postgres\"}]}}},\"status\":{\"readyReplicas\":1}}",
                "[\"db\",\"1/3\",\"10m\",\"pg\",\"postgres\"]");
    check_cells("apps", "controllerrevisions", "{\"metadata\":{\"name\":\"ds-5d\",\"creationTimestamp\":"
                "\"2026-01-01T00:00:00Z\",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"DaemonSet\","
                "\"name\":\"ds\",\"controller\":true}]},\"revision\":2}",
                "[\"ds-5d\",\"daemonset.apps/ds\",2,\"10m\"]");
    check_cells("policy", "poddisruptionbudgets", "{" META("pdb") ",\"spec\":{\"minAvailable\":\"50%\"},"
                "\"status\":{\"disruptionsAllowed\":1}}",
                "[\"pdb\",\"50%\",\"N/A\",1,\"10m\"]");
}

static void test_jobs(void **state)
{
    (void)state;
    check_cells("batch", "jobs", "{" META("pi") ",\"spec\":{\"completions\":1,\"parallelism\":1,\"selector\":"
                "{\"matchLabels\":{\"batch.kubernetes.io/controller-uid\":\"u1\"}},\"template\":{\"spec\":"
                "{\"containers\":[{\"name\":\"pi\",\"image\":\"perl\"}]}}},\"status\":{\"succeeded\":1,\"startTime\":"
                "\"2026-01-01T00:00:05Z\",\"completionTime\":\"2026-01-01T00:00:47Z\",\"conditions\":[{\"type\":"
                "\"Complete\",\"status\":\"True\"}]}}",
                "[\"pi\",\"Complete\",\"1/1\",\"42s\",\"10m\",\"pi\",\"perl\",\"batch.kubernetes.io/controller-uid=u1\"]");
    check_cells("batch", "jobs", "{" META("w") ",\"spec\":{\"parallelism\":3,\"template\":{\"spec\":"
                "{\"containers\":[]}}},\"status\":{\"startTime\":\"2026-01-01T00:07:00Z\"}}",
                "[\"w\",\"Running\",\"0/1 of 3\",\"3m\",\"10m\",\"\",\"\",\"<none>\"]");
    check_cells("batch", "jobs", "{" META("s") ",\"spec\":{\"completions\":5},\"status\":{\"conditions\":"
                "[{\"type\":\"Suspended\",\"status\":\"True\"}]}}",
                "[\"s\",\"Suspended\",\"0/5\",\"\",\"10m\",\"\",\"\",\"<none>\"]");
    check_cells("batch", "jobs", "{" META("f") ",\"status\":{\"failed\":6,\"conditions\":"
                "[{\"type\":\"Failed\",\"status\":\"True\"}]}}",
                "[\"f\",\"Failed\",\"0/1\",\"\",\"10m\",\"\",\"\",\"<none>\"]");
    check_cells("batch", "cronjobs", "{" META("hello") ",\"spec\":{\"schedule\":\"*/1 * * * *\",\"suspend\":false,"
                "\"jobTemplate\":{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"h\",\"image\":"
                "\"busybox\"}]}}}}},\"status\":{\"active\":[{\"name\":\"hello-1\"}],\"lastScheduleTime\":"
                "\"2026-01-01T00:09:00Z\"}}",
                "[\"hello\",\"*/1 * * * *\",\"<none>\",\"False\",1,\"60s\",\"10m\",\"h\",\"busybox\",\"<none>\"]");
}

static void test_events(void **state)
{
    (void)state;
    check_cells("", "events", "{" META("web.17a") ",\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"web\","
                "\"fieldPath\":\"spec.containers{nginx}\"},\"reason\":\"Pulled\",\"type\":\"Normal\",\"message\":"
                "\"  Successfully pulled image \\n\",\"source\":{\"component\":\"kubelet\",\"host\":\"n1\"},"
                "\"firstTimestamp\":\"2026-01-01T00:01:00Z\",\"lastTimestamp\":\"2026-01-01T00:08:00Z\",\"count\":4}",
                "[\"2m\",\"Normal\",\"Pulled\",\"pod/web\",\"spec.containers{nginx}\",\"kubelet, n1\","
                "\"Successfully pulled image\",\"9m\",4,\"web.17a\"]");
    /* new-style event: eventTime only, series, reportingController */
    check_cells("", "events", "{" META("e2") ",\"involvedObject\":{\"kind\":\"Node\"},\"reason\":\"R\","
                "\"type\":\"Warning\",\"message\":\"m\",\"eventTime\":\"2026-01-01T00:05:00.000000Z\","
                "\"reportingController\":\"ctrl\",\"series\":{\"count\":7,\"lastObservedTime\":"
                "\"2026-01-01T00:09:30.000000Z\"}}",
                "[\"30s\",\"Warning\",\"R\",\"node\",\"\",\"ctrl\",\"m\",\"5m\",7,\"e2\"]");
    check_cells("events.k8s.io", "events", "{" META("e3") ",\"regarding\":{\"kind\":\"Deployment\",\"name\":"
                "\"web\"},\"reason\":\"ScalingReplicaSet\",\"type\":\"Normal\",\"note\":\"Scaled up\","
                "\"deprecatedFirstTimestamp\":\"2026-01-01T00:02:00Z\",\"deprecatedLastTimestamp\":"
                "\"2026-01-01T00:02:00Z\",\"deprecatedCount\":1,\"deprecatedSource\":{\"component\":"
                "\"deployment-controller\"}}",
                "[\"8m\",\"Normal\",\"ScalingReplicaSet\",\"deployment/web\",\"\",\"deployment-controller\","
                "\"Scaled up\",\"8m\",1,\"e3\"]");
}

static void test_misc_groups(void **state)
{
    (void)state;
    check_cells("networking.k8s.io", "ingresses", "{" META("ing") ",\"spec\":{\"ingressClassName\":\"nginx\","
                "\"rules\":[{\"host\":\"a.example.com\"},{\"host\":\"b.example.com\"}],\"tls\":[{}]}}",
                "[\"ing\",\"nginx\",\"a.example.com,b.example.com\",\"\",\"80, 443\",\"10m\"]");
    check_cells("networking.k8s.io", "ingressclasses", "{" META("nginx") ",\"spec\":{\"controller\":"
                "\"k8s.io/ingress-nginx\",\"parameters\":{\"apiGroup\":\"k8s.example.com\",\"kind\":\"IngressParameters\","
                "\"name\":\"p\"}}}",
                "[\"nginx\",\"k8s.io/ingress-nginx\",\"IngressParameters.k8s.example.com/p\",\"10m\"]");
    check_cells("rbac.authorization.k8s.io", "clusterrolebindings", "{" META("crb") ",\"roleRef\":{\"kind\":"
                "\"ClusterRole\",\"name\":\"admin\"},\"subjects\":[{\"kind\":\"User\",\"name\":\"alice\"},{\"kind\":"
                "\"ServiceAccount\",\"namespace\":\"ns\",\"name\":\"sa\"},{\"kind\":\"User\",\"name\":\"bob\"}]}",
                "[\"crb\",\"ClusterRole/admin\",\"10m\",\"alice, bob\",\"\",\"ns:sa\"]");
    check_cells("storage.k8s.io", "storageclasses", "{\"metadata\":{\"name\":\"std\",\"creationTimestamp\":"
                "\"2026-01-01T00:00:00Z\",\"annotations\":{\"storageclass.kubernetes.io/is-default-class\":"
                "\"true\"}},\"provisioner\":\"x.io/hostpath\"}",
                "[\"std (default)\",\"x.io/hostpath\",\"Delete\",\"Immediate\",false,\"10m\"]");
}

static void test_storage_hpa(void **state)
{
    (void)state;
    check_cells("", "persistentvolumes", "{" META("pv1") ",\"spec\":{\"capacity\":{\"storage\":\"10Gi\"},"
                "\"accessModes\":[\"ReadWriteMany\",\"ReadWriteOnce\"],\"persistentVolumeReclaimPolicy\":\"Retain\","
                "\"claimRef\":{\"namespace\":\"ns\",\"name\":\"data\"},\"storageClassName\":\"std\",\"volumeMode\":"
                "\"Filesystem\"},\"status\":{\"phase\":\"Bound\"}}",
                "[\"pv1\",\"10Gi\",\"RWO,RWX\",\"Retain\",\"Bound\",\"ns/data\",\"std\",\"<unset>\",\"\",\"10m\","
                "\"Filesystem\"]");
    check_cells("", "persistentvolumeclaims", "{" META("data") ",\"spec\":{\"volumeName\":\"pv1\",\"storageClassName\":"
                "\"std\"},\"status\":{\"phase\":\"Bound\",\"capacity\":{\"storage\":\"10Gi\"},\"accessModes\":"
                "[\"ReadWriteOnce\"]}}",
                "[\"data\",\"Bound\",\"pv1\",\"10Gi\",\"RWO\",\"std\",\"<unset>\",\"10m\",\"<unset>\"]");
    check_cells("", "persistentvolumeclaims", "{" META("d2") ",\"spec\":{},\"status\":{\"phase\":\"Pending\"}}",
                "[\"d2\",\"Pending\",\"\",\"\",\"\",\"\",\"<unset>\",\"10m\",\"<unset>\"]");
    check_cells("autoscaling", "horizontalpodautoscalers", "{" META("web") ",\"spec\":{\"scaleTargetRef\":{\"kind\":"
                "\"Deployment\",\"name\":\"web\"},\"minReplicas\":1,\"maxReplicas\":5,\"metrics\":[{\"type\":"
                "\"Resource\",\"resource\":{\"name\":\"cpu\",\"target\":{\"type\":\"Utilization\","
                "\"averageUtilization\":50}}}]},\"status\":{\"currentReplicas\":2,\"currentMetrics\":[{\"type\":"
                "\"Resource\",\"resource\":{\"name\":\"cpu\",\"current\":{\"averageUtilization\":12}}}]}}",
                "[\"web\",\"Deployment/web\",\"cpu: 12%/50%\",\"1\",5,2,\"10m\"]");
    check_cells("autoscaling", "horizontalpodautoscalers", "{" META("v1") ",\"spec\":{\"scaleTargetRef\":{\"kind\":"
                "\"Deployment\",\"name\":\"x\"},\"maxReplicas\":3,\"targetCPUUtilizationPercentage\":80}}",
                "[\"v1\",\"Deployment/x\",\"cpu: <unknown>/80%\",\"<unset>\",3,0,\"10m\"]");
}

static void test_generic(void **state)
{
    (void)state;
    check_cells("", "limitranges", "{" META("lr") "}", "[\"lr\",\"2026-01-01T00:00:00Z\"]");
    check_cells("rbac.authorization.k8s.io", "roles", "{\"metadata\":{\"name\":\"r\"}}", "[\"r\",\"0001-01-01T00:00:00Z\"]");
    check_cells("example.com", "widgets", "{" META("w1") "}", "[\"w1\",\"10m\"]");
    /* garbage input never crashes */
    check_cells("", "pods", "[]", "[\"\",\"0/0\",\"\",\"0\",\"<unknown>\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    check_cells("", "pods", "{\"metadata\":{\"name\":5},\"spec\":{\"containers\":\"x\"},\"status\":"
                "{\"containerStatuses\":{\"a\":1}}}",
                "[\"\",\"0/0\",\"\",\"0\",\"<unknown>\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
}

/* Throughput: cells for 10000 running pods (reported, and bounded loosely). */
static void test_pod_rows_speed(void **state)
{
    (void)state;
    json_t *pod = json_loads("{" META("web-5d8f9c7b6-x7k2p") ",\"spec\":{\"nodeName\":\"n1\",\"containers\":"
                             "[{\"name\":\"a\"},{\"name\":\"b\"}]},\"status\":{\"phase\":\"Running\","
                             "\"podIPs\":[{\"ip\":\"10.0.0.5\"}],\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
                             "\"containerStatuses\":[" RUNNING_CS("a", "true", "1") "," RUNNING_CS("b", "true", "0") "]}}",
                             0, NULL);
    assert_non_null(pod);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t total = 0;
    for (int i = 0; i < 10000; i++) {
        json_t *row = printer_cells("", "pods", pod, NOW);
        total += json_array_size(row);
        json_decref(row);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    print_message("10000 pod rows in %.1f ms (%.1f us/row)\n", ms, ms * 1000 / 10000);
    assert_int_equal(total, 90000);
    json_decref(pod);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_now_constant),
        cmocka_unit_test(test_columns),
        cmocka_unit_test(test_pod_basic),
        cmocka_unit_test(test_pod_restarts_and_terminated),
        cmocka_unit_test(test_pod_init),
        cmocka_unit_test(test_pod_deleting_gated_gates),
        cmocka_unit_test(test_nodes),
        cmocka_unit_test(test_services),
        cmocka_unit_test(test_endpoints_slices),
        cmocka_unit_test(test_config_secret_sa_ns_lease),
        cmocka_unit_test(test_workloads),
        cmocka_unit_test(test_jobs),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_misc_groups),
        cmocka_unit_test(test_storage_hpa),
        cmocka_unit_test(test_generic),
        cmocka_unit_test(test_pod_rows_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
