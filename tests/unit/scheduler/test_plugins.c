/* SPDX-License-Identifier: Apache-2.0 */
/* Scheduler plugins against upstream's test tables: taint_toleration_test.go,
 * node_affinity_test.go, fit_test.go / least_allocated_test.go, podtopologyspread
 * filtering_test.go, interpodaffinity filtering_test.go, defaultpreemption, the queue's
 * backoff (scheduling_queue_test.go) and profile building (apis/config/v1 defaults). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/framework.h"
#include "scheduler/plugins.h"
#include "scheduler/queue.h"

#include <jansson.h>

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad JSON in test: %s (%s)", s, e.text);
    return v;
}

/* A node "name" with cpu (milli), memory and pods allocatable, extra JSON merged into it. */
static struct sch_node *mknode(const char *name, const char *labels, const char *spec, int64_t mcpu,
                               int64_t mem, int pods)
{
    char buf[2048];
    snprintf(
        buf, sizeof(buf),
        "{\"metadata\":{\"name\":\"%s\",\"labels\":%s},\"spec\":%s,\"status\":{\"allocatable\":"
        "{\"cpu\":\"%lldm\",\"memory\":\"%lld\",\"pods\":\"%d\"}}}",
        name, labels ? labels : "{}", spec ? spec : "{}", (long long)mcpu, (long long)mem, pods);
    json_t *j = J(buf);
    struct sch_node *n = sch_node_new();
    sch_node_set(n, j);
    json_decref(j);
    return n;
}

static struct sch_pod *mkpod(const char *name, const char *labels, const char *spec_extra,
                             int64_t mcpu, int64_t mem)
{
    char buf[4096];
    snprintf(
        buf, sizeof(buf),
        "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"u-%s\",\"labels\":%s},"
        "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"img\",\"resources\":{\"requests\":"
        "{\"cpu\":\"%lldm\",\"memory\":\"%lld\"}}}]%s%s}}",
        name, name, labels ? labels : "{}", (long long)mcpu, (long long)mem, spec_extra ? "," : "",
        spec_extra ? spec_extra : "");
    json_t *j = J(buf);
    struct sch_pod *p = sch_pod_new(j);
    json_decref(j);
    return p;
}

/* Runs the default profile's PreFilter + Filter on every node of snap; codes[i] per node. */
static enum sch_code run(const struct sch_profile *pr, struct sch_snapshot *snap,
                         const struct sch_pod *p, enum sch_code *codes,
                         char reasons[][SCH_REASON_LEN])
{
    struct sch_cycle cs;
    sch_cycle_init(&cs, pr, snap);
    struct sch_status st;
    enum sch_code c = sch_run_pre_filter(&cs, p, &st);
    for (size_t i = 0; i < snap->n; i++) {
        struct sch_status ns = st;
        if (c == SCH_OK) {
            sch_status_reset(&ns);
            codes[i] = sch_run_filter(&cs, p, snap->nodes[i], &ns);
        } else {
            codes[i] = c;
        }
        snprintf(reasons[i], SCH_REASON_LEN, "%s", ns.nreasons ? ns.reasons[0] : "");
    }
    sch_cycle_release(&cs);
    return c;
}

static struct sch_profile *default_profile(void)
{
    char err[256] = "";
    struct sch_profile *pr = sch_profile_new(NULL, NULL, err, sizeof(err));
    if (!pr)
        fail_msg("profile: %s", err);
    return pr;
}

static void snap_of(struct sch_snapshot *s, struct sch_node **nodes, size_t n)
{
    sch_snapshot_init(s);
    sch_snapshot_from(s, nodes, n);
    for (size_t i = 0; i < n; i++)
        sch_node_free(nodes[i]);
}

/* TestTaintTolerationFilter */
static void test_taints(void **state)
{
    (void)state;
    static const struct {
        const char *taints, *tolerations;
        enum sch_code want;
    } table[] = {
        {"[{\"key\":\"dedicated\",\"value\":\"user1\",\"effect\":\"NoSchedule\"}]", "[]",
         SCH_UNRESOLVABLE},
        {"[{\"key\":\"dedicated\",\"value\":\"user1\",\"effect\":\"NoSchedule\"}]",
         "[{\"key\":\"dedicated\",\"value\":\"user1\",\"effect\":\"NoSchedule\"}]", SCH_OK},
        {"[{\"key\":\"dedicated\",\"value\":\"user1\",\"effect\":\"NoSchedule\"}]",
         "[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"user2\",\"effect\":"
         "\"NoSchedule\"}]",
         SCH_UNRESOLVABLE},
        {"[{\"key\":\"foo\",\"value\":\"bar\",\"effect\":\"NoSchedule\"}]",
         "[{\"key\":\"foo\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}]", SCH_OK},
        {"[{\"key\":\"dedicated\",\"value\":\"user2\",\"effect\":\"NoSchedule\"},{\"key\":\"foo\","
         "\"value\":\"bar\",\"effect\":\"NoSchedule\"}]",
         "[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"user2\",\"effect\":"
         "\"NoSchedule\"},"
         "{\"key\":\"foo\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}]",
         SCH_OK},
        {"[{\"key\":\"foo\",\"value\":\"bar\",\"effect\":\"PreferNoSchedule\"}]",
         "[{\"key\":\"foo\",\"operator\":\"Equal\",\"value\":\"foo\",\"effect\":\"NoSchedule\"}]",
         SCH_OK},
        {"[{\"key\":\"foo\",\"value\":\"bar\",\"effect\":\"PreferNoSchedule\"}]", "[]", SCH_OK},
        {"[{\"key\":\"a\",\"effect\":\"NoExecute\"}]", "[]", SCH_UNRESOLVABLE},
    };
    struct sch_profile *pr = default_profile();
    for (size_t t = 0; t < sizeof(table) / sizeof(table[0]); t++) {
        char spec[512], tol[600];
        snprintf(spec, sizeof(spec), "{\"taints\":%s}", table[t].taints);
        snprintf(tol, sizeof(tol), "\"tolerations\":%s", table[t].tolerations);
        struct sch_node *n = mknode("n", NULL, spec, 4000, 1 << 30, 10);
        struct sch_snapshot s;
        snap_of(&s, &n, 1);
        struct sch_pod *p = mkpod("p", NULL, tol, 100, 1000);
        enum sch_code codes[1];
        char reasons[1][SCH_REASON_LEN];
        run(pr, &s, p, codes, reasons);
        if (codes[0] != table[t].want)
            fail_msg("case %zu: got %d want %d (%s)", t, codes[0], table[t].want, reasons[0]);
        if (codes[0] == SCH_UNRESOLVABLE) { /* the first taint is the untolerated one here */
            json_t *ts = json_loads(table[t].taints, 0, NULL), *t0 = json_array_get(ts, 0);
            char want[256];
            snprintf(want, sizeof(want), "node(s) had untolerated taint {%s: %s}",
                     json_string_value(json_object_get(t0, "key")),
                     json_object_get(t0, "value") ? json_string_value(json_object_get(t0, "value"))
                                                  : "");
            assert_string_equal(reasons[0], want);
            json_decref(ts);
        }
        sch_pod_unref(p);
        sch_snapshot_release(&s);
    }
    sch_profile_free(pr);
}

/* TestTaintTolerationScore: fewer intolerable PreferNoSchedule taints score higher. */
static void test_taint_score(void **state)
{
    (void)state;
    struct sch_node_score s[3] = {{0, 0}, {1, 1}, {2, 2}};
    sch_default_normalize(SCH_MAX_NODE_SCORE, true, s, 3);
    assert_int_equal(s[0].score, 100);
    assert_int_equal(s[1].score, 50);
    assert_int_equal(s[2].score, 0);
}

/* TestNodeAffinity (required) and preferred scoring */
static void test_node_affinity(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *labels;
        enum sch_code want;
    } table[] = {
        {"\"nodeSelector\":{\"foo\":\"bar\"}", "{\"foo\":\"bar\"}", SCH_OK},
        {"\"nodeSelector\":{\"foo\":\"bar\"}", "{\"foo\":\"baz\"}", SCH_UNRESOLVABLE},
        {"\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"
         "\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"kernel-version\",\"operator\":"
         "\"Gt\","
         "\"values\":[\"0204\"]}]}]}}}",
         "{\"kernel-version\":\"0206\"}", SCH_OK},
        {"\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"
         "\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"foo\",\"operator\":\"NotIn\","
         "\"values\":[\"bar\"]}]}]}}}",
         "{\"foo\":\"bar\"}", SCH_UNRESOLVABLE},
        {"\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"
         "\"nodeSelectorTerms\":[]}}}",
         "{\"foo\":\"bar\"}", SCH_UNRESOLVABLE},
    };
    struct sch_profile *pr = default_profile();
    for (size_t t = 0; t < sizeof(table) / sizeof(table[0]); t++) {
        struct sch_node *n = mknode("n", table[t].labels, NULL, 4000, 1 << 30, 10);
        struct sch_snapshot s;
        snap_of(&s, &n, 1);
        struct sch_pod *p = mkpod("p", NULL, table[t].spec, 100, 1000);
        enum sch_code codes[1];
        char reasons[1][SCH_REASON_LEN];
        run(pr, &s, p, codes, reasons);
        if (codes[0] != table[t].want)
            fail_msg("case %zu: got %d want %d", t, codes[0], table[t].want);
        if (codes[0] != SCH_OK)
            assert_string_equal(reasons[0], "node(s) didn't match Pod's node affinity/selector");
        sch_pod_unref(p);
        sch_snapshot_release(&s);
    }
    sch_profile_free(pr);
}

/* fit_test.go: "Insufficient cpu", "Too many pods", several reasons at once */
static void test_resources_fit(void **state)
{
    (void)state;
    struct sch_profile *pr = default_profile();
    struct sch_node *nodes[3] = {mknode("a", NULL, NULL, 10, 20, 32),
                                 mknode("b", NULL, NULL, 10, 20, 1),
                                 mknode("c", NULL, NULL, 1000, 1000, 32)};
    struct sch_pod *existing = mkpod("e", NULL, NULL, 5, 19);
    sch_node_add_pod(nodes[0], existing);
    sch_node_add_pod(nodes[1], existing);
    struct sch_snapshot s;
    snap_of(&s, nodes, 3);
    struct sch_pod *p = mkpod("p", NULL, NULL, 8, 2);
    enum sch_code codes[3];
    char reasons[3][SCH_REASON_LEN];
    struct sch_cycle cs;
    sch_cycle_init(&cs, pr, &s);
    struct sch_status st;
    assert_int_equal(sch_run_pre_filter(&cs, p, &st), SCH_OK);
    sch_status_reset(&st);
    assert_int_equal(sch_run_filter(&cs, p, s.nodes[0], &st), SCH_UNSCHEDULABLE);
    assert_int_equal(st.nreasons, 2);
    assert_string_equal(st.reasons[0], "Insufficient cpu");
    assert_string_equal(st.reasons[1], "Insufficient memory");
    sch_status_reset(&st);
    assert_int_equal(sch_run_filter(&cs, p, s.nodes[1], &st), SCH_UNSCHEDULABLE);
    assert_string_equal(st.reasons[0], "Too many pods");
    sch_cycle_release(&cs);
    run(pr, &s, p, codes, reasons);
    assert_int_equal(codes[2], SCH_OK);
    sch_pod_unref(p);
    sch_pod_unref(existing);
    sch_snapshot_release(&s);
    sch_profile_free(pr);
}

/* least_allocated_test.go "nothing scheduled, resources requested, differently sized nodes":
 * pod cpu 3000m memory 5000 on node1 (4000m, 10000) -> (25 + 50) / 2 = 37, node2 (6000m,
 * 10000) -> 50 */
static void test_least_allocated(void **state)
{
    (void)state;
    const struct sch_plugin_def *d = &sch_plugin_node_resources_fit;
    char err[128];
    void *self = d->create(NULL, NULL, err, sizeof(err));
    struct sch_node *n1 = mknode("n1", NULL, NULL, 4000, 10000, 10);
    struct sch_node *n2 = mknode("n2", NULL, NULL, 6000, 10000, 10);
    struct sch_pod *p = mkpod("p", NULL, NULL, 3000, 5000);
    assert_int_equal(d->score(self, NULL, p, n1), 37);
    assert_int_equal(d->score(self, NULL, p, n2), 50);
    /* MostAllocated by config: (75 + 50) / 2 = 62 and (50 + 50) / 2 = 50 */
    json_t *args = J("{\"scoringStrategy\":{\"type\":\"MostAllocated\"}}");
    void *most = d->create(args, NULL, err, sizeof(err));
    assert_int_equal(d->score(most, NULL, p, n1), 62);
    assert_int_equal(d->score(most, NULL, p, n2), 50);
    json_decref(args);
    /* balanced: fractions 0.75/0.5 -> std 0.125 -> 87 */
    const struct sch_plugin_def *b = &sch_plugin_balanced_allocation;
    void *bal = b->create(NULL, NULL, err, sizeof(err));
    assert_int_equal(b->score(bal, NULL, p, n1), 87);
    b->destroy(bal);
    d->destroy(most);
    d->destroy(self);
    sch_pod_unref(p);
    sch_node_free(n1);
    sch_node_free(n2);
}

/* podtopologyspread filtering_test.go: 4 nodes in 2 zones, existing pods a1 a2 (node-a),
 * b1 (node-b); zone skew: zone1 has 3 matching, zone2 0 -> only zone2 nodes pass maxSkew 1. */
static void test_spread(void **state)
{
    (void)state;
    struct sch_profile *pr = default_profile();
    struct sch_node *nodes[4] = {
        mknode("node-a", "{\"zone\":\"zone1\",\"node\":\"node-a\"}", NULL, 8000, 1LL << 32, 100),
        mknode("node-b", "{\"zone\":\"zone1\",\"node\":\"node-b\"}", NULL, 8000, 1LL << 32, 100),
        mknode("node-x", "{\"zone\":\"zone2\",\"node\":\"node-x\"}", NULL, 8000, 1LL << 32, 100),
        mknode("node-y", "{\"zone\":\"zone2\",\"node\":\"node-y\"}", NULL, 8000, 1LL << 32, 100)};
    struct sch_pod *ex[3] = {mkpod("a1", "{\"foo\":\"\"}", NULL, 10, 10),
                             mkpod("a2", "{\"foo\":\"\"}", NULL, 10, 10),
                             mkpod("b1", "{\"foo\":\"\"}", NULL, 10, 10)};
    sch_node_add_pod(nodes[0], ex[0]);
    sch_node_add_pod(nodes[0], ex[1]);
    sch_node_add_pod(nodes[1], ex[2]);
    struct sch_snapshot s;
    snap_of(&s, nodes, 4);
    const char *c_zone =
        "\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":\"zone\","
        "\"whenUnsatisfiable\":\"DoNotSchedule\",\"labelSelector\":{\"matchExpressions\":"
        "[{\"key\":\"foo\",\"operator\":\"Exists\"}]}}]";
    struct sch_pod *p = mkpod("p", "{\"foo\":\"\"}", c_zone, 10, 10);
    enum sch_code codes[4];
    char reasons[4][SCH_REASON_LEN];
    run(pr, &s, p, codes, reasons);
    assert_int_equal(codes[0], SCH_UNSCHEDULABLE);
    assert_string_equal(reasons[0], "node(s) didn't match pod topology spread constraints");
    assert_int_equal(codes[1], SCH_UNSCHEDULABLE);
    assert_int_equal(codes[2], SCH_OK);
    assert_int_equal(codes[3], SCH_OK);
    sch_pod_unref(p);
    /* node-level maxSkew 1: node-a has 2, node-b 1, x/y 0 -> only x, y pass */
    const char *c_node =
        "\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":\"node\","
        "\"whenUnsatisfiable\":\"DoNotSchedule\",\"labelSelector\":{\"matchExpressions\":"
        "[{\"key\":\"foo\",\"operator\":\"Exists\"}]}}]";
    p = mkpod("p", "{\"foo\":\"\"}", c_node, 10, 10);
    run(pr, &s, p, codes, reasons);
    assert_int_equal(codes[0], SCH_UNSCHEDULABLE);
    assert_int_equal(codes[1], SCH_UNSCHEDULABLE);
    assert_int_equal(codes[2], SCH_OK);
    sch_pod_unref(p);
    /* a missing topology label is unresolvable */
    const char *c_rack = "\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":\"rack\","
                         "\"whenUnsatisfiable\":\"DoNotSchedule\",\"labelSelector\":{}}]";
    p = mkpod("p", NULL, c_rack, 10, 10);
    run(pr, &s, p, codes, reasons);
    assert_int_equal(codes[0], SCH_UNRESOLVABLE);
    assert_string_equal(
        reasons[0],
        "node(s) didn't match pod topology spread constraints (missing required label)");
    sch_pod_unref(p);
    for (int i = 0; i < 3; i++)
        sch_pod_unref(ex[i]);
    sch_snapshot_release(&s);
    sch_profile_free(pr);
}

/* interpodaffinity filtering_test.go: anti-affinity against an existing pod, the existing pod's
 * anti-affinity against the incoming one, and affinity with the self-match exception. */
static void test_interpod(void **state)
{
    (void)state;
    struct sch_profile *pr = default_profile();
    const char *anti_sec =
        "\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
        "[{\"labelSelector\":{\"matchLabels\":{\"service\":\"securityscan\"}},"
        "\"topologyKey\":\"region\"}]}}";
    struct sch_node *nodes[2] = {mknode("n1", "{\"region\":\"r1\"}", NULL, 8000, 1LL << 32, 100),
                                 mknode("n2", "{\"region\":\"r2\"}", NULL, 8000, 1LL << 32, 100)};
    struct sch_pod *ex = mkpod("e", "{\"service\":\"securityscan\"}", NULL, 10, 10);
    sch_node_add_pod(nodes[0], ex);
    struct sch_snapshot s;
    snap_of(&s, nodes, 2);
    enum sch_code codes[2];
    char reasons[2][SCH_REASON_LEN];
    struct sch_pod *p = mkpod("p", NULL, anti_sec, 10, 10);
    run(pr, &s, p, codes, reasons);
    assert_int_equal(codes[0], SCH_UNSCHEDULABLE);
    assert_string_equal(reasons[0], "node(s) didn't match pod anti-affinity rules");
    assert_int_equal(codes[1], SCH_OK);
    sch_pod_unref(p);
    /* affinity to a label nobody has, but the pod matches itself: allowed */
    const char *aff_self =
        "\"affinity\":{\"podAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
        "[{\"labelSelector\":{\"matchLabels\":{\"app\":\"x\"}},\"topologyKey\":\"region\"}]}}";
    p = mkpod("p", "{\"app\":\"x\"}", aff_self, 10, 10);
    run(pr, &s, p, codes, reasons);
    assert_int_equal(codes[0], SCH_OK);
    sch_pod_unref(p);
    /* affinity to securityscan: only n1 */
    const char *aff =
        "\"affinity\":{\"podAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
        "[{\"labelSelector\":{\"matchLabels\":{\"service\":\"securityscan\"}},\"topologyKey\":"
        "\"region\"}]}}";
    p = mkpod("p", NULL, aff, 10, 10);
    run(pr, &s, p, codes, reasons);
    assert_int_equal(codes[0], SCH_OK);
    assert_int_equal(codes[1], SCH_UNRESOLVABLE);
    assert_string_equal(reasons[1], "node(s) didn't match pod affinity rules");
    sch_pod_unref(p);
    sch_pod_unref(ex);
    sch_snapshot_release(&s);
    /* an existing pod's anti-affinity rejects the incoming pod it matches */
    nodes[0] = mknode("n1", "{\"region\":\"r1\"}", NULL, 8000, 1LL << 32, 100);
    nodes[1] = mknode("n2", "{\"region\":\"r2\"}", NULL, 8000, 1LL << 32, 100);
    ex = mkpod("e", NULL, anti_sec, 10, 10);
    sch_node_add_pod(nodes[0], ex);
    snap_of(&s, nodes, 2);
    p = mkpod("p", "{\"service\":\"securityscan\"}", NULL, 10, 10);
    run(pr, &s, p, codes, reasons);
    assert_int_equal(codes[0], SCH_UNSCHEDULABLE);
    assert_string_equal(reasons[0], "node(s) didn't satisfy existing pods anti-affinity rules");
    assert_int_equal(codes[1], SCH_OK);
    sch_pod_unref(p);
    sch_pod_unref(ex);
    sch_snapshot_release(&s);
    sch_profile_free(pr);
}

/* preemption: victims are the lower-priority pods, reprieved from the highest priority down;
 * equal or higher priority pods are never victims. */
static void test_preemption(void **state)
{
    (void)state;
    struct sch_profile *pr = default_profile();
    struct sch_node *nodes[2] = {mknode("n1", NULL, NULL, 1000, 1LL << 32, 100),
                                 mknode("n2", NULL, NULL, 1000, 1LL << 32, 100)};
    struct sch_pod *lo1 = mkpod("lo1", NULL, "\"priority\":1", 400, 10);
    struct sch_pod *lo2 = mkpod("lo2", NULL, "\"priority\":2", 400, 10);
    struct sch_pod *hi = mkpod("hi", NULL, "\"priority\":100", 900, 10);
    sch_node_add_pod(nodes[0], lo1);
    sch_node_add_pod(nodes[0], lo2);
    sch_node_add_pod(nodes[1], hi);
    struct sch_snapshot s;
    snap_of(&s, nodes, 2);
    struct sch_pod *p = mkpod("p", NULL, "\"priority\":10", 500, 10);
    struct sch_cycle cs;
    sch_cycle_init(&cs, pr, &s);
    struct sch_status st;
    assert_int_equal(sch_run_pre_filter(&cs, p, &st), SCH_OK);
    cs.node_status = calloc(2, sizeof(struct sch_status));
    cs.node_status_n = 2;
    for (size_t i = 0; i < 2; i++) {
        sch_status_reset(&cs.node_status[i]);
        assert_int_equal(sch_run_filter(&cs, p, s.nodes[i], &cs.node_status[i]), SCH_UNSCHEDULABLE);
    }
    int i = sch_profile_plugin(pr, "DefaultPreemption");
    assert_true(i >= 0);
    char *nom = NULL;
    sch_status_reset(&st);
    assert_int_equal(pr->plugins[i].def->post_filter(pr->plugins[i].self, &cs, p, &st, &nom),
                     SCH_OK);
    assert_string_equal(nom, "n1");
    free(nom);
    sch_cycle_release(&cs);
    /* a pod of priority 1 finds no victims anywhere */
    struct sch_pod *p2 = mkpod("p2", NULL, "\"priority\":1", 500, 10);
    sch_cycle_init(&cs, pr, &s);
    sch_run_pre_filter(&cs, p2, &st);
    cs.node_status = calloc(2, sizeof(struct sch_status));
    cs.node_status_n = 2;
    for (size_t k = 0; k < 2; k++) {
        sch_status_reset(&cs.node_status[k]);
        sch_run_filter(&cs, p2, s.nodes[k], &cs.node_status[k]);
    }
    nom = NULL;
    sch_status_reset(&st);
    assert_int_equal(pr->plugins[i].def->post_filter(pr->plugins[i].self, &cs, p2, &st, &nom),
                     SCH_UNSCHEDULABLE);
    assert_null(nom);
    assert_string_equal(
        st.reasons[0],
        "preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod");
    sch_cycle_release(&cs);
    sch_pod_unref(p2);
    sch_pod_unref(p);
    sch_pod_unref(lo1);
    sch_pod_unref(lo2);
    sch_pod_unref(hi);
    sch_snapshot_release(&s);
    sch_profile_free(pr);
}

/* The queue: priority order, then FIFO; backoff 1 s doubling to 10 s; unschedulable pods move
 * on a cluster event. */
static int64_t fake_now;
static int64_t clock_fn(void)
{
    return fake_now;
}

static void test_queue(void **state)
{
    (void)state;
    struct sch_queue_opts o = {.now_ns = clock_fn};
    struct sch_queue *q = sch_queue_new(&o);
    assert_int_equal(sch_queue_backoff(q, 1), 1000000000LL);
    assert_int_equal(sch_queue_backoff(q, 2), 2000000000LL);
    assert_int_equal(sch_queue_backoff(q, 4), 8000000000LL);
    assert_int_equal(sch_queue_backoff(q, 5), 10000000000LL);
    assert_int_equal(sch_queue_backoff(q, 9), 10000000000LL);
    struct sch_pod *a = mkpod("a", NULL, "\"priority\":1", 1, 1);
    struct sch_pod *b = mkpod("b", NULL, "\"priority\":5", 1, 1);
    struct sch_pod *c = mkpod("c", NULL, "\"priority\":1", 1, 1);
    fake_now = 1;
    sch_queue_add(q, a);
    fake_now = 2;
    sch_queue_add(q, b);
    fake_now = 3;
    sch_queue_add(q, c);
    struct sch_qpod *x = sch_queue_pop(q, 0);
    assert_string_equal(x->p->name, "b");
    struct sch_qpod *y = sch_queue_pop(q, 0);
    assert_string_equal(y->p->name, "a");
    sch_queue_done(q, x);
    /* y fails: no move request since its pop -> unschedulable */
    sch_queue_requeue(q, y, false);
    struct sch_queue_sizes sz;
    sch_queue_sizes(q, &sz);
    assert_int_equal(sz.unschedulable, 1);
    /* a node event moves it to backoff (1 s not elapsed), then flush after 1 s -> active */
    sch_queue_move_all(q);
    sch_queue_sizes(q, &sz);
    assert_int_equal(sz.backoff, 1);
    fake_now += 1000000001LL;
    sch_queue_flush(q);
    sch_queue_sizes(q, &sz);
    assert_int_equal(sz.active, 2);
    /* the 5 minute flush */
    struct sch_qpod *z = sch_queue_pop(q, 0);
    assert_string_equal(z->p->name, "c");
    sch_queue_requeue(q, z, false); /* the move request came before its pop: unschedulable */
    sch_queue_sizes(q, &sz);
    assert_int_equal(sz.unschedulable, 1);
    fake_now += 299LL * 1000000000LL;
    sch_queue_flush(q);
    sch_queue_sizes(q, &sz);
    assert_int_equal(sz.unschedulable, 1);
    fake_now += 2LL * 1000000000LL; /* past 5 minutes: flushed (its backoff is over: activeQ) */
    sch_queue_flush(q);
    sch_queue_sizes(q, &sz);
    assert_int_equal(sz.unschedulable, 0);
    assert_int_equal(sz.active, 2);
    /* a failure while a move request happened during the attempt goes to backoffQ */
    z = sch_queue_pop(q, 0);
    sch_queue_move_all(q);
    sch_queue_requeue(q, z, false);
    sch_queue_sizes(q, &sz);
    assert_int_equal(sz.backoff, 1);
    sch_queue_free(q);
    sch_pod_unref(a);
    sch_pod_unref(b);
    sch_pod_unref(c);
}

/* Profiles: defaults, disabled plugins, weights, unknown plugins. */
static void test_profile(void **state)
{
    (void)state;
    struct sch_profile *pr = default_profile();
    assert_int_equal(pr->npt[SCH_PT_QUEUE_SORT], 1);
    int tt = sch_profile_plugin(pr, "TaintToleration");
    assert_int_equal(pr->plugins[tt].weight, 3);
    assert_int_equal(pr->plugins[sch_profile_plugin(pr, "PodTopologySpread")].weight, 2);
    assert_int_equal(pr->npt[SCH_PT_BIND], 1);
    sch_profile_free(pr);
    char err[256] = "";
    json_t *cfg =
        J("{\"schedulerName\":\"mine\",\"percentageOfNodesToScore\":50,\"plugins\":{"
          "\"score\":{\"disabled\":[{\"name\":\"*\"}],\"enabled\":[{\"name\":\"NodeResourcesFit\","
          "\"weight\":7}]},\"filter\":{\"disabled\":[{\"name\":\"TaintToleration\"}]}}}");
    pr = sch_profile_new(cfg, NULL, err, sizeof(err));
    assert_non_null(pr);
    assert_string_equal(pr->scheduler_name, "mine");
    assert_int_equal(pr->pct_nodes, 50);
    assert_int_equal(pr->npt[SCH_PT_SCORE], 1);
    assert_int_equal(pr->plugins[pr->pt[SCH_PT_SCORE][0]].weight, 7);
    for (size_t i = 0; i < pr->npt[SCH_PT_FILTER]; i++)
        assert_string_not_equal(pr->plugins[pr->pt[SCH_PT_FILTER][i]].def->name, "TaintToleration");
    sch_profile_free(pr);
    json_decref(cfg);
    cfg = J("{\"plugins\":{\"filter\":{\"enabled\":[{\"name\":\"Nope\"}]}}}");
    assert_null(sch_profile_new(cfg, NULL, err, sizeof(err)));
    assert_string_equal(err, "plugin \"Nope\" does not exist");
    json_decref(cfg);
    /* numFeasibleNodesToFind */
    assert_int_equal(sch_num_nodes_to_find(0, 50), 50);
    assert_int_equal(sch_num_nodes_to_find(0, 1000), 420);
    assert_int_equal(sch_num_nodes_to_find(0, 5000), 500);
    assert_int_equal(sch_num_nodes_to_find(0, 6000), 300);
    assert_int_equal(sch_num_nodes_to_find(40, 1000), 400);
    assert_int_equal(sch_num_nodes_to_find(1, 1000), 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_taints),          cmocka_unit_test(test_taint_score),
        cmocka_unit_test(test_node_affinity),   cmocka_unit_test(test_resources_fit),
        cmocka_unit_test(test_least_allocated), cmocka_unit_test(test_spread),
        cmocka_unit_test(test_interpod),        cmocka_unit_test(test_preemption),
        cmocka_unit_test(test_queue),           cmocka_unit_test(test_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
