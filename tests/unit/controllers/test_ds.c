/* SPDX-License-Identifier: Apache-2.0 */
/* DaemonSet decisions (daemon_controller.go, update.go, util/daemonset_util.go): node
 * eligibility with nodeSelector, required node affinity, nodeName, NoSchedule/NoExecute taints
 * against the template's and the added tolerations; the pod template (tolerations, labels,
 * metadata.name affinity); per-node create/delete; rolling update batches for maxUnavailable
 * and maxSurge; status counts; history cleanup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/daemonset_util.h"
#include "controllers/history.h"
#include "k8s/pod.h"
#include "k8s/util.h"

#include "ctrl_test.h"

#define NOW 1700000000LL * 1000000000LL

static json_t *mkds(const char *extra_spec, const char *strategy)
{
    json_t *ds = J("{\"metadata\":{\"name\":\"d\",\"namespace\":\"ns\",\"uid\":\"du\"},"
                   "\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"d\"}},\"template\":{"
                   "\"metadata\":{\"labels\":{\"app\":\"d\"}},\"spec\":{\"containers\":[{"
                   "\"name\":\"c\",\"image\":\"i\"}]}}}}");
    if (extra_spec) {
        json_t *e = J(extra_spec);
        json_object_update(k8s_jpath(ds, "spec.template.spec"), e);
        json_decref(e);
    }
    json_object_set_new(json_object_get(ds, "spec"), "updateStrategy", J(strategy));
    return ds;
}

static json_t *mknode(const char *name, const char *labels, const char *taints)
{
    json_t *n = json_pack("{s:{s:s,s:o},s:{s:o}}", "metadata", "name", name, "labels",
                          J(labels ? labels : "{}"), "spec", "taints", J(taints ? taints : "[]"));
    return n;
}

static void run_cont(const json_t *node, const json_t *ds, int run, int cont, int line)
{
    bool r, c;
    ds_should_run(node, ds, &r, &c);
    if (r != (bool)run || c != (bool)cont)
        fail_msg("line %d: shouldRun %d shouldContinue %d, want %d %d", line, r, c, run, cont);
}
#define RC(node, ds, r, c) run_cont(node, ds, r, c, __LINE__)

static const char *RU = "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":1,"
                        "\"maxSurge\":0}}";

static void test_eligibility(void **state)
{
    (void)state;
    json_t *ds = mkds(NULL, RU);
    json_t *plain = mknode("n1", NULL, NULL);
    RC(plain, ds, 1, 1);
    json_t *nosched =
        mknode("n2", NULL, "[{\"key\":\"k\",\"value\":\"v\",\"effect\":\"NoSchedule\"}]");
    RC(nosched, ds, 0, 1); /* keeps running pods: NoSchedule does not evict */
    json_t *noexec = mknode("n3", NULL, "[{\"key\":\"k\",\"effect\":\"NoExecute\"}]");
    RC(noexec, ds, 0, 0);
    json_t *pref = mknode("n4", NULL, "[{\"key\":\"k\",\"effect\":\"PreferNoSchedule\"}]");
    RC(pref, ds, 1, 1);
    /* the controller's own tolerations: unschedulable, not-ready, pressure */
    json_t *unsched = mknode("n5", NULL,
                             "[{\"key\":\"node.kubernetes.io/unschedulable\",\"effect\":"
                             "\"NoSchedule\"},{\"key\":\"node.kubernetes.io/not-ready\","
                             "\"effect\":\"NoExecute\"},{\"key\":\"node.kubernetes.io/"
                             "disk-pressure\",\"effect\":\"NoSchedule\"}]");
    RC(unsched, ds, 1, 1);
    json_t *netun = mknode("n6", NULL,
                           "[{\"key\":\"node.kubernetes.io/network-unavailable\",\"effect\":"
                           "\"NoSchedule\"}]");
    RC(netun, ds, 0, 1);
    json_t *hn = mkds("{\"hostNetwork\":true}", RU);
    RC(netun, hn, 1, 1);
    /* tolerated by the template */
    json_t *tol = mkds("{\"tolerations\":[{\"key\":\"k\",\"operator\":\"Exists\"}]}", RU);
    RC(nosched, tol, 1, 1);
    RC(noexec, tol, 1, 1);
    /* nodeSelector and required node affinity */
    json_t *sel = mkds("{\"nodeSelector\":{\"disk\":\"ssd\"}}", RU);
    json_t *ssd = mknode("n7", "{\"disk\":\"ssd\"}", NULL);
    RC(ssd, sel, 1, 1);
    RC(plain, sel, 0, 0);
    json_t *aff = mkds("{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuring"
                       "Execution\":{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":"
                       "\"disk\",\"operator\":\"NotIn\",\"values\":[\"ssd\"]}]}]}}}}",
                       RU);
    RC(ssd, aff, 0, 0);
    RC(plain, aff, 1, 1);
    json_t *nn = mkds("{\"nodeName\":\"n7\"}", RU);
    RC(ssd, nn, 1, 1);
    RC(plain, nn, 0, 0);
    json_t *all[] = {ds, plain, nosched, noexec, pref, unsched, netun, hn, tol, sel, ssd, aff, nn};
    for (size_t i = 0; i < N(all); i++)
        json_decref(all[i]);
}

static void test_template(void **state)
{
    (void)state;
    json_t *ds = mkds("{\"tolerations\":[{\"key\":\"node.kubernetes.io/unschedulable\","
                      "\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}],\"affinity\":{"
                      "\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"
                      "\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"a\","
                      "\"operator\":\"Exists\"}]}]}}}}",
                      RU);
    json_object_set_new(json_object_get(ds, "metadata"), "annotations",
                        J("{\"deprecated.daemonset.template.generation\":\"4\"}"));
    json_t *t = ds_pod_template(ds, "h1");
    assert_string_equal(k8s_jpath_str(t, "metadata.labels.controller-revision-hash"), "h1");
    assert_string_equal(k8s_obj_label(t, DS_TEMPLATE_GEN_LABEL), "4");
    json_t *tols = k8s_jpath(t, "spec.tolerations");
    assert_int_equal(json_array_size(tols), 6); /* not duplicated: unschedulable was there */
    json_t *spec = json_object_get(t, "spec");
    ds_set_node_affinity(spec, "node-9");
    json_t *term = json_array_get(
        k8s_jpath(t, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
                     "nodeSelectorTerms"),
        0);
    assert_string_equal(k8s_jstr(json_array_get(json_object_get(term, "matchFields"), 0), "key"),
                        "metadata.name");
    assert_non_null(json_object_get(term, "matchExpressions"));
    json_t *pod = json_pack("{s:O}", "spec", spec);
    assert_string_equal(ds_target_node(pod), "node-9");
    json_object_set_new(spec, "nodeName", json_string("bound"));
    assert_string_equal(ds_target_node(pod), "bound");
    /* no terms: one metadata.name term */
    json_t *empty = json_object();
    ds_set_node_affinity(empty, "n");
    json_t *e = json_pack("{s:O}", "spec", empty);
    assert_string_equal(ds_target_node(e), "n");
    /* up to date by hash or by template generation */
    json_t *p = J("{\"metadata\":{\"labels\":{\"controller-revision-hash\":\"h0\","
                  "\"pod-template-generation\":\"4\"}}}");
    assert_true(ds_pod_updated(p, "h1", ds));
    json_object_del(json_object_get(ds, "metadata"), "annotations");
    assert_false(ds_pod_updated(p, "h1", ds));
    assert_true(ds_pod_updated(p, "h0", ds));
    json_decref(p);
    json_decref(e);
    json_decref(empty);
    json_decref(pod);
    json_decref(t);
    json_decref(ds);
}

/* A pod of the set on node at hash: "ready" (long ago), "pending", "failed", "terminating". */
static json_t *mkpod(const char *name, const char *node, const char *hash, const char *st,
                     const char *created)
{
    bool ready = !strcmp(st, "ready");
    json_t *p = json_pack("{s:{s:s,s:s,s:s,s:{s:s}},s:{s:s},s:{s:s,s:[{s:s,s:s,s:s}]}}", "metadata",
                          "name", name, "namespace", "ns", "creationTimestamp",
                          created ? created : "2021-01-01T00:00:00Z", "labels", HIST_POD_REV_LABEL,
                          hash, "spec", "nodeName", node, "status", "phase",
                          !strcmp(st, "failed") ? "Failed"
                          : ready               ? "Running"
                                                : "Pending",
                          "conditions", "type", "Ready", "status", ready ? "True" : "False",
                          "lastTransitionTime", "2021-01-01T00:00:00Z");
    if (!strcmp(st, "terminating"))
        json_object_set_new(json_object_get(p, "metadata"), "deletionTimestamp",
                            json_string("2024-01-01T00:00:00Z"));
    return p;
}

static json_t *nodes3(void)
{
    json_t *a = json_array();
    json_array_append_new(a, mknode("n0", NULL, NULL));
    json_array_append_new(a, mknode("n1", NULL, NULL));
    json_array_append_new(a, mknode("n2", NULL, NULL));
    return a;
}

static void add_pod(json_t *np, json_t *pod)
{
    const char *n = k8s_jpath_str(pod, "spec.nodeName");
    json_t *arr = json_object_get(np, n);
    if (!arr) {
        arr = json_array();
        json_object_set_new(np, n, arr);
    }
    json_array_append_new(arr, pod);
}

static char *names(const json_t *arr, bool strings)
{
    static char buf[256];
    buf[0] = 0;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        strcat(buf, strings ? json_string_value(v) : k8s_obj_name(v));
        strcat(buf, " ");
    }
    return buf;
}

static void test_manage(void **state)
{
    (void)state;
    json_t *ds = mkds(NULL, RU);
    json_t *nodes = nodes3();
    json_array_append_new(nodes,
                          mknode("tainted", NULL, "[{\"key\":\"k\",\"effect\":\"NoExecute\"}]"));
    json_t *np = json_object();
    add_pod(np, mkpod("a", "n0", "h", "ready", NULL));
    add_pod(np, mkpod("b", "n1", "h", "ready", "2021-01-01T00:00:00Z"));
    add_pod(np, mkpod("c", "n1", "h", "ready", "2022-01-01T00:00:00Z")); /* extra: the newer goes */
    add_pod(np, mkpod("f", "n0", "h", "failed", NULL));                  /* failed: deleted */
    add_pod(np, mkpod("t", "tainted", "h", "ready", NULL));              /* evicted by NoExecute */
    add_pod(np, mkpod("g", "gone", "h", "ready", NULL)); /* bound to a vanished node: kubelet's */
    struct ds_decision d;
    ds_decision_init(&d);
    ds_manage(ds, nodes, np, "h", NOW, &d);
    assert_string_equal(names(d.create_nodes, true), "n2 ");
    assert_string_equal(names(d.delete_pods, false), "f c t ");
    ds_decision_free(&d);
    struct ds_counts k;
    ds_count(ds, nodes, np, "h", NOW, &k);
    assert_int_equal(k.desired, 3);
    assert_int_equal(k.current, 2);
    assert_int_equal(k.misscheduled, 1);
    assert_int_equal(k.ready, 2);
    assert_int_equal(k.available, 2);
    assert_int_equal(k.updated, 2);
    assert_int_equal(k.unavailable, 1);
    json_decref(np);
    json_decref(nodes);
    json_decref(ds);
}

static void test_rolling_unavailable(void **state)
{
    (void)state;
    json_t *nodes = nodes3();
    json_t *ds = mkds(NULL, RU);
    json_t *np = json_object();
    add_pod(np, mkpod("a", "n0", "old", "ready", NULL));
    add_pod(np, mkpod("b", "n1", "old", "ready", NULL));
    add_pod(np, mkpod("c", "n2", "old", "ready", NULL));
    struct ds_decision d;
    ds_decision_init(&d);
    assert_int_equal(ds_rolling_update(ds, nodes, np, "new", NOW, &d), 0);
    assert_string_equal(names(d.delete_pods, false), "a "); /* maxUnavailable 1 */
    assert_int_equal(json_array_size(d.create_nodes), 0);
    ds_decision_free(&d);
    /* while a new pod is not yet available nothing more goes */
    json_decref(np);
    np = json_object();
    add_pod(np, mkpod("a2", "n0", "new", "pending", NULL));
    add_pod(np, mkpod("b", "n1", "old", "ready", NULL));
    add_pod(np, mkpod("c", "n2", "old", "pending", NULL)); /* unavailable old: replaced anyway */
    ds_decision_init(&d);
    ds_rolling_update(ds, nodes, np, "new", NOW, &d);
    assert_string_equal(names(d.delete_pods, false), "c ");
    ds_decision_free(&d);
    /* 66%: rounds up to 2 of 3 */
    json_decref(ds);
    ds = mkds(NULL, "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":\"66%\"}}");
    json_decref(np);
    np = json_object();
    add_pod(np, mkpod("a", "n0", "old", "ready", NULL));
    add_pod(np, mkpod("b", "n1", "old", "ready", NULL));
    add_pod(np, mkpod("c", "n2", "old", "ready", NULL));
    int64_t desired, ms, mu;
    json_t *cp = json_copy(np);
    assert_int_equal(ds_desired_counts(ds, nodes, cp, &desired, &ms, &mu), 0);
    assert_int_equal(desired, 3);
    assert_int_equal(mu, 2);
    assert_int_equal(ms, 0);
    json_decref(cp);
    ds_decision_init(&d);
    ds_rolling_update(ds, nodes, np, "new", NOW, &d);
    assert_string_equal(names(d.delete_pods, false), "a b ");
    ds_decision_free(&d);
    /* both 0: maxUnavailable becomes 1 */
    json_decref(ds);
    ds = mkds(NULL, "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":0,"
                    "\"maxSurge\":0}}");
    cp = json_copy(np);
    ds_desired_counts(ds, nodes, cp, &desired, &ms, &mu);
    assert_int_equal(mu, 1);
    json_decref(cp);
    json_decref(ds);
    json_decref(np);
    json_decref(nodes);
}

static void test_rolling_surge(void **state)
{
    (void)state;
    json_t *nodes = nodes3();
    json_t *ds = mkds(NULL, "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":0,"
                            "\"maxSurge\":1}}");
    assert_true(ds_allows_surge(ds));
    json_t *np = json_object();
    add_pod(np, mkpod("a", "n0", "old", "ready", NULL));
    add_pod(np, mkpod("b", "n1", "old", "ready", NULL));
    add_pod(np, mkpod("c", "n2", "old", "ready", NULL));
    struct ds_decision d;
    ds_decision_init(&d);
    ds_rolling_update(ds, nodes, np, "new", NOW, &d);
    assert_string_equal(names(d.create_nodes, true), "n0 "); /* one surge pod */
    assert_int_equal(json_array_size(d.delete_pods), 0);
    ds_decision_free(&d);
    /* the surge pod is available: its old pod goes, the next node surges */
    add_pod(np, mkpod("a2", "n0", "new", "ready", NULL));
    ds_decision_init(&d);
    ds_rolling_update(ds, nodes, np, "new", NOW, &d);
    assert_string_equal(names(d.delete_pods, false), "a ");
    assert_string_equal(names(d.create_nodes, true), "n1 ");
    ds_decision_free(&d);
    /* a node that no longer matches: its available old pod goes only while every desired node
     * keeps an available pod (3 available, 2 desired: one may go) */
    json_t *sel = mkds("{\"nodeSelector\":{\"x\":\"y\"}}",
                       "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":0,"
                       "\"maxSurge\":1}}");
    json_t *lnodes = json_array();
    json_array_append_new(lnodes, mknode("n0", "{\"x\":\"y\"}", NULL));
    json_array_append_new(lnodes, mknode("n1", "{\"x\":\"y\"}", NULL));
    json_array_append_new(lnodes, mknode("n2", NULL, NULL));
    json_t *lp = json_object();
    add_pod(lp, mkpod("a", "n0", "old", "ready", NULL));
    add_pod(lp, mkpod("b", "n1", "old", "ready", NULL));
    add_pod(lp, mkpod("c", "n2", "old", "ready", NULL));
    ds_decision_init(&d);
    ds_rolling_update(sel, lnodes, lp, "new", NOW, &d);
    assert_string_equal(names(d.delete_pods, false), "c ");
    assert_string_equal(names(d.create_nodes, true), "n0 ");
    ds_decision_free(&d);
    json_decref(lp);
    json_decref(lnodes);
    json_decref(sel);
    /* manage with surge: keeps old+new while the new one is not ready */
    json_decref(np);
    np = json_object();
    add_pod(np, mkpod("a", "n0", "old", "ready", "2021-01-01T00:00:00Z"));
    add_pod(np, mkpod("a2", "n0", "new", "pending", "2022-01-01T00:00:00Z"));
    add_pod(np, mkpod("b", "n1", "new", "ready", NULL));
    add_pod(np, mkpod("c", "n2", "new", "ready", NULL));
    ds_decision_init(&d);
    ds_manage(ds, nodes, np, "new", NOW, &d);
    assert_int_equal(json_array_size(d.delete_pods), 0);
    ds_decision_free(&d);
    json_decref(np);
    json_decref(ds);
    json_decref(nodes);
}

static void test_history(void **state)
{
    (void)state;
    json_t *ds = mkds(NULL, RU);
    json_object_set_new(json_object_get(ds, "spec"), "revisionHistoryLimit", json_integer(1));
    json_t *old = json_array();
    const char *hs[] = {"h3", "h1", "h2"};
    int revs[] = {3, 1, 2};
    for (int i = 0; i < 3; i++)
        json_array_append_new(old,
                              json_pack("{s:{s:s,s:{s:s}},s:i}", "metadata", "name", hs[i],
                                        "labels", HIST_POD_REV_LABEL, hs[i], "revision", revs[i]));
    json_t *np = json_object();
    add_pod(np, mkpod("a", "n0", "h1", "ready", NULL)); /* h1 is live */
    json_t *del = ds_history_to_delete(ds, old, np);
    assert_int_equal(json_array_size(del), 2);
    assert_string_equal(k8s_obj_name(json_array_get(del, 0)), "h2");
    assert_string_equal(k8s_obj_name(json_array_get(del, 1)), "h3");
    json_decref(del);
    json_decref(np);
    json_decref(old);
    json_decref(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eligibility),   cmocka_unit_test(test_template),
        cmocka_unit_test(test_manage),        cmocka_unit_test(test_rolling_unavailable),
        cmocka_unit_test(test_rolling_surge), cmocka_unit_test(test_history),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
