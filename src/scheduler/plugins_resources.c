/* SPDX-License-Identifier: Apache-2.0 */
/* NodeResourcesFit (fit.go, least_allocated.go, most_allocated.go,
 * requested_to_capacity_ratio.go) and NodeResourcesBalancedAllocation
 * (balanced_allocation.go). */
#include "k8s/util.h"
#include "lib/buf.h"
#include "scheduler/framework.h"
#include "scheduler/plugins.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

enum strategy { LEAST, MOST, RATIO };

#define MAX_RES 8
#define MAX_SHAPE 16

struct fit {
    enum strategy strategy;
    char *res[MAX_RES];
    int64_t weight[MAX_RES];
    size_t nres;
    int64_t shape[MAX_SHAPE][2];
    size_t nshape;
    bool balanced; /* the BalancedAllocation instance */
};

static void fit_destroy(void *self)
{
    struct fit *f = self;
    for (size_t i = 0; i < f->nres; i++)
        free(f->res[i]);
    free(f);
}

static void *fit_new(const json_t *args, bool balanced, char *err, size_t errlen)
{
    struct fit *f = ck_calloc(1, sizeof(*f));
    f->balanced = balanced;
    const json_t *ss = balanced ? args : json_object_get(args, "scoringStrategy");
    const char *type = k8s_jstr(ss, "type");
    if (!*type || !strcmp(type, "LeastAllocated"))
        f->strategy = LEAST;
    else if (!strcmp(type, "MostAllocated"))
        f->strategy = MOST;
    else if (!strcmp(type, "RequestedToCapacityRatio"))
        f->strategy = RATIO;
    else {
        snprintf(err, errlen, "scoring strategy %s is not supported", type);
        fit_destroy(f);
        return NULL;
    }
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(ss, "resources"), i, r)
    {
        if (f->nres == MAX_RES)
            break;
        json_int_t w = json_integer_value(json_object_get(r, "weight"));
        f->res[f->nres] = ck_strdup(k8s_jstr(r, "name"));
        f->weight[f->nres++] = w > 0 ? w : 1;
    }
    if (f->nres == 0) {
        f->res[0] = ck_strdup("cpu");
        f->res[1] = ck_strdup("memory");
        f->weight[0] = f->weight[1] = 1;
        f->nres = 2;
    }
    json_array_foreach(k8s_jpath(ss, "requestedToCapacityRatio.shape"), i, r)
    {
        if (f->nshape == MAX_SHAPE)
            break;
        f->shape[f->nshape][0] = json_integer_value(json_object_get(r, "utilization"));
        /* scores are 0..10 in the config: scale to MaxNodeScore */
        f->shape[f->nshape++][1] =
            json_integer_value(json_object_get(r, "score")) * (SCH_MAX_NODE_SCORE / 10);
    }
    if (f->strategy == RATIO && f->nshape == 0) {
        f->shape[0][0] = 0, f->shape[0][1] = SCH_MAX_NODE_SCORE;
        f->shape[1][0] = 100, f->shape[1][1] = 0;
        f->nshape = 2;
    }
    return f;
}

static void *fit_create(const json_t *args, struct sch_handle *h, char *err, size_t errlen)
{
    (void)h;
    return fit_new(args, false, err, errlen);
}

static void *bal_create(const json_t *args, struct sch_handle *h, char *err, size_t errlen)
{
    (void)h;
    return fit_new(args, true, err, errlen);
}

/* ---- Filter ----------------------------------------------------------------------------- */

static enum sch_code fit_pre_filter(void *self, struct sch_cycle *cs, const struct sch_pod *p,
                                    void **fs, struct sch_status *st)
{
    (void)self, (void)cs, (void)p, (void)fs, (void)st;
    return SCH_OK;
}

static enum sch_code fit_filter(void *self, const void *fs, const struct sch_pod *p,
                                const struct sch_node *n, struct sch_status *st)
{
    (void)self, (void)fs;
    const struct k8s_resource *a = &n->nd->alloc, *r = &n->requested;
    enum sch_code c = SCH_OK;
    if ((int64_t)n->npods + 1 > a->pods)
        c = sch_status_set(st, SCH_UNSCHEDULABLE, "Too many pods");
    if (!p->req.milli_cpu && !p->req.memory && !p->req.ephemeral_storage && !p->scalar.n)
        return c;
    if (p->req.milli_cpu > 0 && p->req.milli_cpu > a->milli_cpu - r->milli_cpu)
        c = sch_status_set(st, SCH_UNSCHEDULABLE, "Insufficient cpu");
    if (p->req.memory > 0 && p->req.memory > a->memory - r->memory)
        c = sch_status_set(st, SCH_UNSCHEDULABLE, "Insufficient memory");
    if (p->req.ephemeral_storage > 0 &&
        p->req.ephemeral_storage > a->ephemeral_storage - r->ephemeral_storage)
        c = sch_status_set(st, SCH_UNSCHEDULABLE, "Insufficient ephemeral-storage");
    for (size_t i = 0; i < p->scalar.n; i++) {
        const char *name = p->scalar.v[i].name;
        int64_t want = k8s_reslist_value(&p->scalar, name);
        if (want == 0)
            continue;
        int64_t free_ =
            k8s_reslist_value(&n->nd->alloc_scalar, name) - k8s_reslist_value(&n->req_scalar, name);
        if (want > free_)
            c = sch_status_set(st, SCH_UNSCHEDULABLE, "Insufficient %s", name);
    }
    return c;
}

/* ---- Score ------------------------------------------------------------------------------ */

int64_t sch_broken_linear(const int64_t (*shape)[2], size_t n, int64_t p)
{
    for (size_t i = 0; i < n; i++) {
        if (p <= shape[i][0]) {
            if (i == 0)
                return shape[0][1];
            return shape[i - 1][1] + (shape[i][1] - shape[i - 1][1]) * (p - shape[i - 1][0]) /
                                         (shape[i][0] - shape[i - 1][0]);
        }
    }
    return n ? shape[n - 1][1] : 0;
}

/* calculateResourceAllocatableRequest: (allocatable, requested incl. the pod). Scoring uses
 * the non-zero requests for cpu/memory, BalancedAllocation the plain ones. An extended
 * resource the pod does not request gives (0, 0). */
static void alloc_req(const struct fit *f, const struct sch_pod *p, const struct sch_node *n,
                      const char *res, int64_t *alloc, int64_t *req)
{
    const struct k8s_resource *nr = f->balanced ? &n->requested : &n->nonzero;
    const struct k8s_resource *pr = f->balanced ? &p->req : &p->nonzero;
    if (!strcmp(res, "cpu")) {
        *alloc = n->nd->alloc.milli_cpu;
        *req = nr->milli_cpu + pr->milli_cpu;
    } else if (!strcmp(res, "memory")) {
        *alloc = n->nd->alloc.memory;
        *req = nr->memory + pr->memory;
    } else if (!strcmp(res, "ephemeral-storage")) {
        *alloc = n->nd->alloc.ephemeral_storage;
        *req = n->requested.ephemeral_storage + p->req.ephemeral_storage;
    } else {
        int64_t want = k8s_reslist_value(&p->scalar, res);
        if (!want) {
            *alloc = *req = 0;
            return;
        }
        *alloc = k8s_reslist_value(&n->nd->alloc_scalar, res);
        *req = k8s_reslist_value(&n->req_scalar, res) + want;
    }
}

static int64_t fit_score(void *self, const void *ss, const struct sch_pod *p,
                         const struct sch_node *n)
{
    (void)ss;
    const struct fit *f = self;
    int64_t score = 0, wsum = 0;
    for (size_t i = 0; i < f->nres; i++) {
        int64_t alloc, req;
        alloc_req(f, p, n, f->res[i], &alloc, &req);
        if (alloc == 0 && f->strategy != RATIO)
            continue;
        int64_t s;
        if (f->strategy == LEAST) {
            s = req > alloc ? 0 : (alloc - req) * SCH_MAX_NODE_SCORE / alloc;
        } else if (f->strategy == MOST) {
            s = (req > alloc ? alloc : req) * SCH_MAX_NODE_SCORE / alloc;
        } else {
            if (alloc == 0 && req == 0)
                continue;
            int64_t util = alloc == 0 || req > alloc ? 100 : req * 100 / alloc;
            s = sch_broken_linear((const int64_t(*)[2])f->shape, f->nshape, util);
        }
        score += s * f->weight[i];
        wsum += f->weight[i];
    }
    if (!wsum)
        return 0;
    if (f->strategy == RATIO)
        return (int64_t)llround((double)score / (double)wsum);
    return score / wsum;
}

const struct sch_plugin_def sch_plugin_node_resources_fit = {
    .name = "NodeResourcesFit",
    .default_weight = 1,
    .create = fit_create,
    .destroy = fit_destroy,
    .pre_filter = fit_pre_filter,
    .filter = fit_filter,
    .score = fit_score,
};

/* ---- BalancedAllocation ----------------------------------------------------------------- */

static enum sch_code bal_pre_score(void *self, struct sch_cycle *cs, const struct sch_pod *p,
                                   const size_t *nodes, size_t n, void **ss, struct sch_status *st)
{
    (void)cs, (void)nodes, (void)n, (void)ss, (void)st;
    const struct fit *f = self;
    for (size_t i = 0; i < f->nres; i++) {
        const char *r = f->res[i];
        if ((!strcmp(r, "cpu") && p->req.milli_cpu) || (!strcmp(r, "memory") && p->req.memory) ||
            (!strcmp(r, "ephemeral-storage") && p->req.ephemeral_storage) ||
            k8s_reslist_value(&p->scalar, r))
            return SCH_OK;
    }
    return SCH_SKIP; /* best-effort pod */
}

static int64_t bal_score(void *self, const void *ss, const struct sch_pod *p,
                         const struct sch_node *n)
{
    (void)ss;
    const struct fit *f = self;
    double frac[MAX_RES];
    size_t k = 0;
    for (size_t i = 0; i < f->nres; i++) {
        int64_t alloc, req;
        alloc_req(f, p, n, f->res[i], &alloc, &req);
        if (alloc == 0)
            continue;
        double v = (double)req / (double)alloc;
        frac[k++] = v > 1 ? 1 : v;
    }
    double std = 0;
    if (k == 2) {
        std = fabs((frac[0] - frac[1]) / 2);
    } else if (k > 2) {
        double mean = 0, var = 0;
        for (size_t i = 0; i < k; i++)
            mean += frac[i];
        mean /= (double)k;
        for (size_t i = 0; i < k; i++)
            var += (frac[i] - mean) * (frac[i] - mean);
        std = sqrt(var / (double)k);
    }
    return (int64_t)((1 - std) * SCH_MAX_NODE_SCORE);
}

const struct sch_plugin_def sch_plugin_balanced_allocation = {
    .name = "NodeResourcesBalancedAllocation",
    .default_weight = 1,
    .create = bal_create,
    .destroy = fit_destroy,
    .pre_score = bal_pre_score,
    .score = bal_score,
};
