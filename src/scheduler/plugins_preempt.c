/* SPDX-License-Identifier: Apache-2.0 */
/* DefaultPreemption (framework/plugins/defaultpreemption, framework/preemption): when no node
 * fits, find on each node rejected as Unschedulable (not UnschedulableAndUnresolvable) the
 * smallest set of lower-priority pods whose removal makes the pod fit (remove all lower
 * priority pods, then reprieve them from the highest priority down while the pod still fits),
 * pick the node whose victims have the lowest highest priority, then the lowest priority sum,
 * then the fewest victims; delete the victims and nominate the node. PodDisruptionBudgets
 * (policy/v1) count as upstream's SelectVictimsOnNode does: victims whose eviction would
 * exceed a matching budget's disruptionsAllowed are reprieved first, and the node with the
 * fewest such violations wins before the priority rules. */
#include "ckube/client.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "scheduler/framework.h"
#include "scheduler/plugins.h"

#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

struct cand {
    size_t node;
    struct sch_pod **victims;
    size_t n;
    int64_t max_prio, sum_prio;
    size_t nviolating; /* victims whose eviction violates a PDB */
};

/* A PDB parsed for filterPodsWithPDBViolation. */
struct pdb {
    const char *ns;
    struct sel *sel; /* NULL: matches nothing (nil, empty or invalid selector) */
    const json_t *disrupted;
    int64_t allowed;
};

static struct pdb *pdbs_parse(const json_t *items, size_t *n)
{
    *n = k8s_jlen(items);
    struct pdb *out = ck_calloc(*n + 1, sizeof(*out));
    for (size_t i = 0; i < *n; i++) {
        const json_t *o = json_array_get(items, i);
        struct ck_err err = CK_ERR_INIT;
        out[i].ns = k8s_jpath_str(o, "metadata.namespace");
        if (sel_from_label_selector(k8s_jpath(o, "spec.selector"), &out[i].sel, &err) < 0)
            out[i].sel = NULL;
        if (out[i].sel && sel_empty(out[i].sel)) {
            sel_free(out[i].sel);
            out[i].sel = NULL;
        }
        out[i].disrupted = k8s_jpath(o, "status.disruptedPods");
        out[i].allowed = json_integer_value(k8s_jpath(o, "status.disruptionsAllowed"));
    }
    return out;
}

static void pdbs_free(struct pdb *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sel_free(p[i].sel);
    free(p);
}

/* filterPodsWithPDBViolation: marks violating[i] for the pods (in order) whose eviction
 * takes a matching budget below zero; pods already in a budget's disruptedPods do not
 * count against it. */
static void pdb_violations(const struct pdb *pdbs, size_t npdb, struct sch_pod *const *pods,
                           size_t n, bool *violating)
{
    int64_t *allowed = ck_calloc(npdb + 1, sizeof(int64_t));
    for (size_t i = 0; i < npdb; i++)
        allowed[i] = pdbs[i].allowed;
    for (size_t k = 0; k < n; k++) {
        const struct sch_pod *p = pods[k];
        violating[k] = false;
        if (!json_object_size(p->labels))
            continue;
        for (size_t i = 0; i < npdb; i++) {
            if (!pdbs[i].sel || strcmp(pdbs[i].ns, p->ns) ||
                !sel_matches(pdbs[i].sel, sel_lookup_json, (void *)p->labels) ||
                json_object_get(pdbs[i].disrupted, p->name))
                continue;
            if (--allowed[i] < 0)
                violating[k] = true;
        }
    }
    free(allowed);
}

static void *pre_create(const json_t *args, struct sch_handle *h, char *err, size_t errlen)
{
    (void)args, (void)err, (void)errlen;
    return h ? (void *)h : (void *)1;
}

static int by_prio_desc(const void *a, const void *b)
{
    const struct sch_pod *x = *(struct sch_pod *const *)a, *y = *(struct sch_pod *const *)b;
    return (y->priority > x->priority) - (y->priority < x->priority);
}

/* selectVictimsOnNode; returns false when removing every lower-priority pod does not help. */
static bool victims_on(const struct sch_cycle *cs, const struct sch_pod *p, size_t idx,
                       const struct pdb *pdbs, size_t npdb, struct cand *c)
{
    const struct sch_node *n = cs->snap->nodes[idx];
    struct sch_node *clone = sch_node_clone(n);
    struct sch_pod **lower = ck_calloc(n->npods + 1, sizeof(*lower));
    size_t nl = 0;
    for (size_t i = 0; i < n->npods; i++)
        if (n->pods[i]->priority < p->priority)
            lower[nl++] = n->pods[i];
    struct sch_status st;
    bool ok = false;
    if (nl) {
        for (size_t i = 0; i < nl; i++)
            sch_node_remove_pod(clone, lower[i]->key);
        sch_status_reset(&st);
        ok = sch_run_filter(cs, p, clone, &st) == SCH_OK;
    }
    if (ok) {
        qsort(lower, nl, sizeof(*lower), by_prio_desc);
        bool *violating = ck_calloc(nl + 1, sizeof(bool));
        pdb_violations(pdbs, npdb, lower, nl, violating);
        memset(c, 0, sizeof(*c));
        c->node = idx;
        c->victims = ck_calloc(nl, sizeof(*c->victims));
        c->max_prio = INT64_MIN;
        /* the violating pods get the first chance of a reprieve, then the others */
        for (int pass = 0; pass < 2; pass++) {
            for (size_t i = 0; i < nl; i++) {
                if (violating[i] != (pass == 0))
                    continue;
                sch_node_add_pod(clone, lower[i]);
                sch_status_reset(&st);
                if (sch_run_filter(cs, p, clone, &st) == SCH_OK)
                    continue; /* reprieved */
                sch_node_remove_pod(clone, lower[i]->key);
                c->victims[c->n++] = lower[i];
                c->nviolating += violating[i];
                if (lower[i]->priority > c->max_prio)
                    c->max_prio = lower[i]->priority;
                c->sum_prio += lower[i]->priority;
            }
        }
        free(violating);
    }
    free(lower);
    sch_node_free(clone);
    return ok;
}

/* pickOneNodeForPreemption: fewest PDB violations, lowest highest priority, lowest priority
 * sum, fewest victims. */
static bool better(const struct cand *a, const struct cand *b)
{
    if (a->nviolating != b->nviolating)
        return a->nviolating < b->nviolating;
    if (a->max_prio != b->max_prio)
        return a->max_prio < b->max_prio;
    if (a->sum_prio != b->sum_prio)
        return a->sum_prio < b->sum_prio;
    return a->n < b->n;
}

static enum sch_code pre_post_filter(void *self, struct sch_cycle *cs, const struct sch_pod *p,
                                     struct sch_status *st, char **nominated)
{
    struct sch_handle *h = self == (void *)1 ? NULL : self;
    if (!strcmp(k8s_jpath_str(p->obj, "spec.preemptionPolicy"), "Never"))
        return sch_status_set(st, SCH_UNSCHEDULABLE,
                              "preemption: not eligible due to preemptionPolicy=Never");
    size_t unhelpful = 0, novictims = 0;
    struct cand best = {0}, c;
    bool have = false;
    json_t *items = h && h->pdbs ? h->pdbs(h->arg) : NULL;
    size_t npdb = 0;
    struct pdb *pdbs = pdbs_parse(items, &npdb);
    for (size_t i = 0; i < cs->node_status_n; i++) {
        const struct sch_status *ns = &cs->node_status[i];
        if (ns->code == SCH_UNRESOLVABLE) {
            unhelpful++;
            continue;
        }
        if (ns->code != SCH_UNSCHEDULABLE)
            continue;
        if (!victims_on(cs, p, i, pdbs, npdb, &c)) {
            novictims++;
            continue;
        }
        if (!have || better(&c, &best)) {
            if (have)
                free(best.victims);
            best = c;
            have = true;
        } else {
            free(c.victims);
        }
    }
    pdbs_free(pdbs, npdb);
    json_decref(items);
    if (!have) {
        char a[80] = "", b[80] = "";
        if (novictims)
            snprintf(a, sizeof(a), "%zu No preemption victims found for incoming pod", novictims);
        if (unhelpful)
            snprintf(b, sizeof(b), "%zu Preemption is not helpful for scheduling", unhelpful);
        return sch_status_set(st, SCH_UNSCHEDULABLE,
                              "preemption: 0/%zu nodes are available: %s%s%s", cs->snap->n, a,
                              *a && *b ? ", " : "", b);
    }
    const char *node = sch_node_name(cs->snap->nodes[best.node]);
    for (size_t i = 0; i < best.n && h && h->client; i++) {
        char *path = ck_asprintf("/api/v1/namespaces/%s/pods/%s", best.victims[i]->ns,
                                 best.victims[i]->name);
        struct ck_err err = CK_ERR_INIT;
        if (ck_client_delete(h->client, path, &err) < 0 && err.reason != CK_R_NOT_FOUND)
            ck_warn("preemption: deleting %s: %s", path, err.msg);
        else
            ck_info("preempted %s on %s for %s", best.victims[i]->key, node, p->key);
        free(path);
    }
    free(best.victims);
    *nominated = ck_strdup(node);
    return SCH_OK;
}

const struct sch_plugin_def sch_plugin_default_preemption = {
    .name = "DefaultPreemption", .create = pre_create, .post_filter = pre_post_filter};
