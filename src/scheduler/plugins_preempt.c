/* SPDX-License-Identifier: Apache-2.0 */
/* DefaultPreemption (framework/plugins/defaultpreemption, framework/preemption): when no node
 * fits, find on each node rejected as Unschedulable (not UnschedulableAndUnresolvable) the
 * smallest set of lower-priority pods whose removal makes the pod fit (remove all lower
 * priority pods, then reprieve them from the highest priority down while the pod still fits),
 * pick the node whose victims have the lowest highest priority, then the lowest priority sum,
 * then the fewest victims; delete the victims and nominate the node. PodDisruptionBudgets are
 * not consulted (see docs/scheduler.md). */
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
};

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
                       struct cand *c)
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
        memset(c, 0, sizeof(*c));
        c->node = idx;
        c->victims = ck_calloc(nl, sizeof(*c->victims));
        c->max_prio = INT64_MIN;
        for (size_t i = 0; i < nl; i++) {
            sch_node_add_pod(clone, lower[i]);
            sch_status_reset(&st);
            if (sch_run_filter(cs, p, clone, &st) == SCH_OK)
                continue; /* reprieved */
            sch_node_remove_pod(clone, lower[i]->key);
            c->victims[c->n++] = lower[i];
            if (lower[i]->priority > c->max_prio)
                c->max_prio = lower[i]->priority;
            c->sum_prio += lower[i]->priority;
        }
    }
    free(lower);
    sch_node_free(clone);
    return ok;
}

static bool better(const struct cand *a, const struct cand *b)
{
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
    for (size_t i = 0; i < cs->node_status_n; i++) {
        const struct sch_status *ns = &cs->node_status[i];
        if (ns->code == SCH_UNRESOLVABLE) {
            unhelpful++;
            continue;
        }
        if (ns->code != SCH_UNSCHEDULABLE)
            continue;
        if (!victims_on(cs, p, i, &c)) {
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
