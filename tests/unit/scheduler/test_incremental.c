/* SPDX-License-Identifier: Apache-2.0 */
/* The scheduler's incremental paths against from-scratch results: the cache's snapshot
 * (only dirty nodes recloned) and the cross-cycle matching-pod counts of PodTopologySpread
 * and InterPodAffinity (mcache.c) give the same Filter verdicts as a fresh profile on a
 * fresh snapshot while pods are assumed and removed; Score run in parallel over chunks of
 * nodes gives the serial totals; and DefaultPreemption with
 * PodDisruptionBudgets (defaultpreemption SelectVictimsOnNode / pickOneNodeForPreemption). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/cache.h"
#include "scheduler/framework.h"
#include "scheduler/mcache.h"
#include "scheduler/plugins.h"

#include <jansson.h>

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad JSON in test: %s (%s)", s, e.text);
    return v;
}

static json_t *node_json(const char *name, const char *zone, int64_t mcpu)
{
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"zone\":\"%s\",\"host\":\"%s\"}},"
             "\"status\":{\"allocatable\":{\"cpu\":\"%lldm\",\"memory\":\"64Gi\",\"pods\":"
             "\"100\"}}}",
             name, zone, name, (long long)mcpu);
    return J(buf);
}

static struct sch_pod *mkpod(const char *name, const char *labels, const char *spec_extra,
                             int64_t mcpu)
{
    char buf[4096];
    snprintf(buf, sizeof(buf),
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"u-%s\","
             "\"labels\":%s},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"img\","
             "\"resources\":{\"requests\":{\"cpu\":\"%lldm\",\"memory\":\"1Mi\"}}}]%s%s}}",
             name, name, labels ? labels : "{}", (long long)mcpu, spec_extra ? "," : "",
             spec_extra ? spec_extra : "");
    json_t *j = J(buf);
    struct sch_pod *p = sch_pod_new(j);
    json_decref(j);
    return p;
}

static struct sch_profile *profile(struct sch_handle *h)
{
    char err[256] = "";
    struct sch_profile *pr = sch_profile_new(NULL, h, err, sizeof(err));
    if (!pr)
        fail_msg("profile: %s", err);
    return pr;
}

/* PreFilter + Filter of p on every node; a bit per node that passes. */
static uint64_t verdicts(const struct sch_profile *pr, const struct sch_snapshot *snap,
                         const struct sch_pod *p)
{
    struct sch_cycle cs;
    sch_cycle_init(&cs, pr, snap);
    struct sch_status st;
    uint64_t ok = 0;
    if (sch_run_pre_filter(&cs, p, &st) == SCH_OK)
        for (size_t i = 0; i < snap->n && i < 64; i++) {
            sch_status_reset(&st);
            if (sch_run_filter(&cs, p, snap->nodes[i], &st) == SCH_OK)
                ok |= 1ULL << i;
        }
    sch_cycle_release(&cs);
    return ok;
}

/* The same verdicts from a new profile (empty caches) on a snapshot cloned from scratch. */
static uint64_t fresh_verdicts(const struct sch_snapshot *snap, const struct sch_pod *p)
{
    struct sch_profile *pr = profile(NULL);
    struct sch_snapshot s2;
    sch_snapshot_init(&s2);
    sch_snapshot_from(&s2, snap->nodes, snap->n);
    uint64_t v = verdicts(pr, &s2, p);
    sch_snapshot_release(&s2);
    sch_profile_free(pr);
    return v;
}

static void test_incremental_counts(void **state)
{
    (void)state;
    struct sch_cache *c = sch_cache_new(0);
    char name[32];
    for (int i = 0; i < 12; i++) {
        char zone[16];
        snprintf(name, sizeof(name), "n%d", i);
        snprintf(zone, sizeof(zone), "z%d", i % 3);
        json_t *n = node_json(name, zone, 100000);
        sch_cache_add_node(c, n);
        json_decref(n);
    }
    struct sch_profile *pr = profile(NULL);
    struct sch_snapshot snap;
    sch_snapshot_init(&snap);
    const char *spread =
        "\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":\"zone\","
        "\"whenUnsatisfiable\":\"DoNotSchedule\",\"labelSelector\":{\"matchLabels\":"
        "{\"app\":\"s\"}}}]";
    const char *anti = "\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnored"
                       "DuringExecution\":[{\"labelSelector\":{\"matchLabels\":{\"app\":\"a\"}},"
                       "\"topologyKey\":\"host\"}]}}";
    /* place pods one at a time where the incremental verdicts allow, checking each cycle
     * against a from-scratch run; every few pods remove an earlier one */
    struct sch_pod *placed[40] = {0};
    int nplaced = 0, checks = 0;
    for (int k = 0; k < 40; k++) {
        bool is_spread = k % 2 == 0;
        snprintf(name, sizeof(name), "p%d", k);
        struct sch_pod *p = mkpod(name, is_spread ? "{\"app\":\"s\"}" : "{\"app\":\"a\"}",
                                  is_spread ? spread : anti, 10);
        sch_cache_snapshot(c, &snap);
        size_t total = 0; /* the snapshot holds exactly the assumed pods */
        for (size_t i = 0; i < snap.n; i++)
            total += snap.nodes[i]->npods;
        assert_int_equal(total, (size_t)nplaced);
        uint64_t got = verdicts(pr, &snap, p);
        assert_int_equal(got, fresh_verdicts(&snap, p));
        checks++;
        if (got) {
            size_t pick = (size_t)__builtin_ctzll(got);
            assert_int_equal(sch_cache_assume(c, p, sch_node_name(snap.nodes[pick])), 0);
            placed[nplaced++] = p;
        } else {
            sch_pod_unref(p);
        }
        if (k % 7 == 6 && nplaced > 0) {
            sch_cache_forget(c, placed[0]->key);
            sch_pod_unref(placed[0]);
            memmove(placed, placed + 1, (size_t)(nplaced - 1) * sizeof(placed[0]));
            nplaced--;
        }
    }
    assert_int_equal(checks, 40);
    /* the anti-affinity pods took distinct hosts; 12 hosts for 20 of them: some were refused */
    assert_true(nplaced < 40);
    /* a node added meanwhile (list change) is counted too */
    json_t *n = node_json("late", "z9", 100000);
    sch_cache_add_node(c, n);
    json_decref(n);
    struct sch_pod *p = mkpod("last", "{\"app\":\"s\"}", spread, 10);
    sch_cache_snapshot(c, &snap);
    assert_int_equal(verdicts(pr, &snap, p), fresh_verdicts(&snap, p));
    sch_pod_unref(p);
    for (int i = 0; i < nplaced; i++)
        sch_pod_unref(placed[i]);
    sch_snapshot_release(&snap);
    sch_profile_free(pr);
    sch_cache_free(c);
}

/* ---- Score over chunks of nodes on the pool ---------------------------------------------- */

static void scores(struct sch_snapshot *s, const struct sch_pod *p, struct sch_pool *pool,
                   int64_t *totals, size_t *idx)
{
    struct sch_profile *pr = profile(NULL);
    struct sch_cycle cs;
    sch_cycle_init(&cs, pr, s);
    cs.pool = pool;
    struct sch_status st;
    assert_int_equal(sch_run_pre_filter(&cs, p, &st), SCH_OK);
    for (size_t i = 0; i < s->n; i++)
        idx[i] = i;
    assert_int_equal(sch_run_score(&cs, p, idx, s->n, totals, &st), SCH_OK);
    sch_cycle_release(&cs);
    sch_profile_free(pr);
}

static void test_parallel_score(void **state)
{
    (void)state;
    enum { N = 300 };
    struct sch_node *nodes[N];
    char name[32], zone[16];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        snprintf(zone, sizeof(zone), "z%d", i % 7);
        json_t *j = node_json(name, zone, 1000 + 100 * (i % 13));
        nodes[i] = sch_node_new();
        sch_node_set(nodes[i], j);
        json_decref(j);
        for (int k = 0; k < i % 4; k++) { /* uneven load, some pods matching the spread */
            snprintf(name, sizeof(name), "e%d-%d", i, k);
            struct sch_pod *e = mkpod(name, k % 2 ? "{\"app\":\"s\"}" : NULL, NULL, 50 * k);
            sch_node_add_pod(nodes[i], e);
            sch_pod_unref(e);
        }
    }
    struct sch_snapshot s;
    sch_snapshot_init(&s);
    sch_snapshot_from(&s, nodes, N);
    struct sch_pod *p = mkpod("p", "{\"app\":\"s\"}",
                              "\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":"
                              "\"zone\",\"whenUnsatisfiable\":\"ScheduleAnyway\","
                              "\"labelSelector\":{\"matchLabels\":{\"app\":\"s\"}}}]",
                              100);
    int64_t serial[N], parallel[N];
    size_t idx[N];
    struct sch_pool *pool = sch_pool_new(3);
    scores(&s, p, NULL, serial, idx);
    scores(&s, p, pool, parallel, idx);
    bool varied = false;
    for (int i = 0; i < N; i++) {
        assert_int_equal(serial[i], parallel[i]);
        varied |= serial[i] != serial[0];
    }
    assert_true(varied); /* the scores do depend on the node */
    sch_pool_free(pool);
    sch_pod_unref(p);
    sch_snapshot_release(&s);
    for (int i = 0; i < N; i++)
        sch_node_free(nodes[i]);
}

/* The pool with jobs of different functions and (stack) contexts back to back: a worker
 * that wakes late must never run one job's items with another's function or context. */
struct sum_ctx {
    size_t *hits;
    long tag;
};

static void spin(void)
{
    for (volatile int k = 0; k < 300; k++)
        ;
}

static void mark_a(void *arg, size_t i)
{
    struct sum_ctx *c = arg;
    spin();
    __atomic_fetch_add(&c->hits[i], (size_t)c->tag, __ATOMIC_RELAXED);
}

static void mark_b(void *arg, size_t i)
{
    struct sum_ctx *c = arg;
    spin();
    __atomic_fetch_add(&c->hits[i], 2 * (size_t)c->tag, __ATOMIC_RELAXED);
}

static void test_pool_jobs(void **state)
{
    (void)state;
    struct sch_pool *pool = sch_pool_new(3);
    for (int round = 0; round < 20000; round++) {
        size_t hits[8] = {0};
        struct sum_ctx c = {hits, round + 1};
        size_t n = 2 + (size_t)round % 7;
        sch_pool_run(pool, n, round % 2 ? mark_b : mark_a, &c);
        for (size_t i = 0; i < 8; i++)
            assert_int_equal(hits[i],
                             i < n ? (size_t)(round % 2 ? 2 : 1) * (size_t)(round + 1) : 0);
    }
    sch_pool_free(pool);
}

/* ---- preemption with PodDisruptionBudgets ----------------------------------------------- */

static json_t *g_pdbs;

static json_t *pdbs_fn(void *arg)
{
    (void)arg;
    return g_pdbs ? json_incref(g_pdbs) : NULL;
}

static struct sch_node *mknode(const char *name, int64_t mcpu)
{
    json_t *j = node_json(name, "z", mcpu);
    struct sch_node *n = sch_node_new();
    sch_node_set(n, j);
    json_decref(j);
    return n;
}

/* The node DefaultPreemption nominates for p (NULL when none). */
static char *preempt(struct sch_snapshot *s, const struct sch_pod *p)
{
    struct sch_handle h = {.pdbs = pdbs_fn};
    struct sch_profile *pr = profile(&h);
    struct sch_cycle cs;
    sch_cycle_init(&cs, pr, s);
    struct sch_status st;
    assert_int_equal(sch_run_pre_filter(&cs, p, &st), SCH_OK);
    cs.node_status = calloc(s->n, sizeof(struct sch_status));
    cs.node_status_n = s->n;
    for (size_t i = 0; i < s->n; i++) {
        sch_status_reset(&cs.node_status[i]);
        assert_int_equal(sch_run_filter(&cs, p, s->nodes[i], &cs.node_status[i]),
                         SCH_UNSCHEDULABLE);
    }
    int i = sch_profile_plugin(pr, "DefaultPreemption");
    char *nom = NULL;
    sch_status_reset(&st);
    pr->plugins[i].def->post_filter(pr->plugins[i].self, &cs, p, &st, &nom);
    sch_cycle_release(&cs);
    sch_profile_free(pr);
    return nom;
}

static void expect_nominated(struct sch_snapshot *s, const struct sch_pod *p, const char *want,
                             const char *pdbs)
{
    g_pdbs = pdbs ? J(pdbs) : NULL;
    char *nom = preempt(s, p);
    assert_non_null(nom);
    assert_string_equal(nom, want);
    free(nom);
    json_decref(g_pdbs);
    g_pdbs = NULL;
}

static void test_preemption_pdb(void **state)
{
    (void)state;
    /* n1: a1 (app=a); n2: b1 (app=b); equal priorities: n1 wins unless a1's budget says no */
    struct sch_node *nodes[2] = {mknode("n1", 1000), mknode("n2", 1000)};
    struct sch_pod *a1 = mkpod("a1", "{\"app\":\"a\"}", "\"priority\":1", 600);
    struct sch_pod *b1 = mkpod("b1", "{\"app\":\"b\"}", "\"priority\":1", 600);
    sch_node_add_pod(nodes[0], a1);
    sch_node_add_pod(nodes[1], b1);
    struct sch_snapshot s;
    sch_snapshot_init(&s);
    sch_snapshot_from(&s, nodes, 2);
    struct sch_pod *p = mkpod("p", NULL, "\"priority\":10", 500);
    const char *pdb_a0 =
        "[{\"metadata\":{\"name\":\"pa\",\"namespace\":\"default\"},\"spec\":{\"selector\":"
        "{\"matchLabels\":{\"app\":\"a\"}}},\"status\":{\"disruptionsAllowed\":0}}]";
    expect_nominated(&s, p, "n1", NULL);
    expect_nominated(&s, p, "n2", pdb_a0);
    /* a budget with room, one in another namespace, an empty selector, and a pod already in
     * disruptedPods do not count */
    expect_nominated(&s, p, "n1",
                     "[{\"metadata\":{\"namespace\":\"default\"},\"spec\":{\"selector\":"
                     "{\"matchLabels\":{\"app\":\"a\"}}},\"status\":{\"disruptionsAllowed\":1}}]");
    expect_nominated(&s, p, "n1",
                     "[{\"metadata\":{\"namespace\":\"other\"},\"spec\":{\"selector\":"
                     "{\"matchLabels\":{\"app\":\"a\"}}},\"status\":{\"disruptionsAllowed\":0}}]");
    expect_nominated(&s, p, "n1",
                     "[{\"metadata\":{\"namespace\":\"default\"},\"spec\":{\"selector\":{}},"
                     "\"status\":{\"disruptionsAllowed\":0}}]");
    expect_nominated(&s, p, "n1",
                     "[{\"metadata\":{\"namespace\":\"default\"},\"spec\":{\"selector\":"
                     "{\"matchLabels\":{\"app\":\"a\"}}},\"status\":{\"disruptionsAllowed\":0,"
                     "\"disruptedPods\":{\"a1\":\"2024-01-01T00:00:00Z\"}}}]");
    sch_snapshot_release(&s);
    sch_node_free(nodes[0]);
    sch_node_free(nodes[1]);

    /* reprieve order: on n1, v (priority 1, budget exhausted) and w (priority 2, app=w);
     * either eviction makes room. Without budgets v goes (lowest priority: n1 beats n2's
     * priority-2 victim); with the budget v is reprieved first and w goes, which ties with
     * n2 (priority 2, no violation) and the first node stays. Evicting v would lose to n2 on
     * the violation count. */
    struct sch_node *n3[2] = {mknode("n1", 1000), mknode("n2", 1000)};
    struct sch_pod *v = mkpod("v", "{\"app\":\"a\"}", "\"priority\":1", 400);
    struct sch_pod *w = mkpod("w", "{\"app\":\"w\"}", "\"priority\":2", 400);
    struct sch_pod *x = mkpod("x", NULL, "\"priority\":2", 600);
    sch_node_add_pod(n3[0], v);
    sch_node_add_pod(n3[0], w);
    sch_node_add_pod(n3[1], x);
    sch_snapshot_init(&s);
    sch_snapshot_from(&s, n3, 2);
    expect_nominated(&s, p, "n1", NULL);
    expect_nominated(&s, p, "n1", pdb_a0);
    /* both of n1's pods under an exhausted budget: n1 must violate it once, n2 wins */
    expect_nominated(&s, p, "n2",
                     "[{\"metadata\":{\"namespace\":\"default\"},\"spec\":{\"selector\":"
                     "{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"Exists\"}]}},"
                     "\"status\":{\"disruptionsAllowed\":0}},{\"metadata\":{\"namespace\":"
                     "\"default\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"a\"}}},"
                     "\"status\":{\"disruptionsAllowed\":0}}]");
    sch_snapshot_release(&s);
    sch_node_free(n3[0]);
    sch_node_free(n3[1]);
    sch_pod_unref(v);
    sch_pod_unref(w);
    sch_pod_unref(x);
    sch_pod_unref(p);
    sch_pod_unref(a1);
    sch_pod_unref(b1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incremental_counts),
        cmocka_unit_test(test_parallel_score),
        cmocka_unit_test(test_pool_jobs),
        cmocka_unit_test(test_preemption_pdb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
