/* SPDX-License-Identifier: Apache-2.0 */
/* Profiles and the extension point runners (runtime/framework.go), and the worker pool that
 * runs Filter/Score over nodes in parallel. */
#include "scheduler/framework.h"

#include "k8s/util.h"
#include "lib/buf.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

const char *const sch_point_names[SCH_PT_COUNT] = {
    "queueSort", "preEnqueue", "preFilter", "filter",  "postFilter", "preScore",
    "score",     "reserve",    "permit",    "preBind", "bind",       "postBind",
};

/* The default profile's plugins, in upstream's order (apis/config/v1 default_plugins.go). */
static const char *const default_plugins[] = {
    "SchedulingGates",   "PrioritySort",     "NodeUnschedulable", "NodeName",
    "TaintToleration",   "NodeAffinity",     "NodePorts",         "NodeResourcesFit",
    "PodTopologySpread", "InterPodAffinity", "DefaultPreemption", "NodeResourcesBalancedAllocation",
    "ImageLocality",     "DefaultBinder",
};

const struct sch_plugin_def *sch_registry_find(const char *name)
{
    for (size_t i = 0; sch_registry[i]; i++)
        if (!strcmp(sch_registry[i]->name, name))
            return sch_registry[i];
    return NULL;
}

static bool implements(const struct sch_plugin_def *d, enum sch_point pt)
{
    switch (pt) {
    case SCH_PT_QUEUE_SORT:
        return d->less;
    case SCH_PT_PRE_ENQUEUE:
        return d->pre_enqueue;
    case SCH_PT_PRE_FILTER:
        return d->pre_filter;
    case SCH_PT_FILTER:
        return d->filter;
    case SCH_PT_POST_FILTER:
        return d->post_filter;
    case SCH_PT_PRE_SCORE:
        return d->pre_score;
    case SCH_PT_SCORE:
        return d->score;
    case SCH_PT_RESERVE:
        return d->reserve;
    case SCH_PT_PERMIT:
        return d->permit;
    case SCH_PT_PRE_BIND:
        return d->pre_bind;
    case SCH_PT_BIND:
        return d->bind;
    case SCH_PT_POST_BIND:
        return d->post_bind;
    case SCH_PT_COUNT:
        break;
    }
    return false;
}

int sch_profile_plugin(const struct sch_profile *p, const char *name)
{
    for (size_t i = 0; i < p->nplugins; i++)
        if (!strcmp(p->plugins[i].def->name, name))
            return (int)i;
    return -1;
}

static const json_t *plugin_args(const json_t *cfg, const char *name)
{
    size_t i;
    const json_t *pc;
    json_array_foreach(json_object_get(cfg, "pluginConfig"), i, pc)
    {
        if (!strcmp(k8s_jstr(pc, "name"), name))
            return json_object_get(pc, "args");
    }
    return NULL;
}

static int instantiate(struct sch_profile *p, const json_t *cfg, const char *name, char *err,
                       size_t errlen)
{
    int i = sch_profile_plugin(p, name);
    if (i >= 0)
        return i;
    const struct sch_plugin_def *d = sch_registry_find(name);
    if (!d) {
        snprintf(err, errlen, "plugin \"%s\" does not exist", name);
        return -1;
    }
    if (p->nplugins == SCH_MAX_PLUGINS) {
        snprintf(err, errlen, "too many plugins");
        return -1;
    }
    void *self = NULL;
    if (d->create) {
        char perr[256] = "";
        self = d->create(plugin_args(cfg, name), p->h, perr, sizeof(perr));
        if (!self) {
            snprintf(err, errlen, "initializing plugin \"%s\": %s", name, perr);
            return -1;
        }
    }
    p->plugins[p->nplugins] = (struct sch_inst){d, self, d->default_weight ? d->default_weight : 1};
    return (int)p->nplugins++;
}

static bool in_set(const json_t *list, const char *name)
{
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *n = k8s_jstr(e, "name");
        if (!strcmp(n, name) || !strcmp(n, "*"))
            return true;
    }
    return false;
}

static int64_t weight_of(const json_t *list, const char *name)
{
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e)
    {
        if (!strcmp(k8s_jstr(e, "name"), name))
            return json_integer_value(json_object_get(e, "weight"));
    }
    return 0;
}

static void add_to_point(struct sch_profile *p, enum sch_point pt, int idx)
{
    for (size_t i = 0; i < p->npt[pt]; i++)
        if (p->pt[pt][i] == idx)
            return;
    p->pt[pt][p->npt[pt]++] = idx;
}

/* v1 mergePluginSet on multiPoint, then expandMultiPointPlugins: plugins configured at a
 * point come first, then the multiPoint plugins that implement it and are not disabled
 * there. Score weights: the score point's, else multiPoint's, else the default. */
struct sch_profile *sch_profile_new(const json_t *cfg, struct sch_handle *h, char *err,
                                    size_t errlen)
{
    static const char *const keys[SCH_PT_COUNT] = {
        "queueSort", "preEnqueue", "preFilter", "filter",  "postFilter", "preScore",
        "score",     "reserve",    "permit",    "preBind", "bind",       "postBind"};
    struct sch_profile *p = ck_calloc(1, sizeof(*p));
    p->h = h;
    const char *sn = k8s_jstr(cfg, "schedulerName");
    p->scheduler_name = ck_strdup(*sn ? sn : "default-scheduler");
    const json_t *pct = json_object_get(cfg, "percentageOfNodesToScore");
    p->pct_nodes = json_is_integer(pct) ? (int)json_integer_value(pct) : -1;
    const json_t *plugins = json_object_get(cfg, "plugins");
    const json_t *mp = json_object_get(plugins, "multiPoint");
    const json_t *mp_dis = json_object_get(mp, "disabled");
    /* multiPoint: defaults (unless disabled), then the custom enabled ones */
    const char *multi[SCH_MAX_PLUGINS * 2];
    int64_t multi_w[SCH_MAX_PLUGINS * 2];
    size_t nmulti = 0;
    for (size_t i = 0; i < sizeof(default_plugins) / sizeof(default_plugins[0]); i++) {
        if (in_set(mp_dis, default_plugins[i]))
            continue;
        multi_w[nmulti] = weight_of(json_object_get(mp, "enabled"), default_plugins[i]);
        multi[nmulti++] = default_plugins[i];
    }
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(mp, "enabled"), i, e)
    {
        const char *n = k8s_jstr(e, "name");
        bool dup = false;
        for (size_t j = 0; j < nmulti; j++)
            dup |= !strcmp(multi[j], n);
        if (!dup && nmulti < SCH_MAX_PLUGINS * 2) {
            multi_w[nmulti] = json_integer_value(json_object_get(e, "weight"));
            multi[nmulti++] = n;
        }
    }
    for (int pt = 0; pt < SCH_PT_COUNT; pt++) {
        const json_t *set = json_object_get(plugins, keys[pt]);
        const json_t *en = json_object_get(set, "enabled"), *dis = json_object_get(set, "disabled");
        json_array_foreach(en, i, e)
        {
            int idx = instantiate(p, cfg, k8s_jstr(e, "name"), err, errlen);
            if (idx < 0)
                goto fail;
            if (!implements(p->plugins[idx].def, (enum sch_point)pt)) {
                snprintf(err, errlen, "plugin \"%s\" does not extend %s plugin",
                         k8s_jstr(e, "name"), keys[pt]);
                goto fail;
            }
            add_to_point(p, (enum sch_point)pt, idx);
            int64_t w = json_integer_value(json_object_get(e, "weight"));
            if (pt == SCH_PT_SCORE && w > 0)
                p->plugins[idx].weight = w;
        }
        for (size_t m = 0; m < nmulti; m++) {
            const struct sch_plugin_def *d = sch_registry_find(multi[m]);
            if (!d) {
                snprintf(err, errlen, "plugin \"%s\" does not exist", multi[m]);
                goto fail;
            }
            if (!implements(d, (enum sch_point)pt) || in_set(dis, multi[m]))
                continue;
            int idx = instantiate(p, cfg, multi[m], err, errlen);
            if (idx < 0)
                goto fail;
            add_to_point(p, (enum sch_point)pt, idx);
            if (pt == SCH_PT_SCORE && multi_w[m] > 0 && !weight_of(en, multi[m]))
                p->plugins[idx].weight = multi_w[m];
        }
    }
    if (p->npt[SCH_PT_QUEUE_SORT] != 1) {
        snprintf(err, errlen,
                 "one queue sort plugin required for profile with scheduler name \"%s\"",
                 p->scheduler_name);
        goto fail;
    }
    if (p->npt[SCH_PT_BIND] == 0) {
        snprintf(err, errlen,
                 "at least one bind plugin is needed for profile with scheduler name \"%s\"",
                 p->scheduler_name);
        goto fail;
    }
    return p;
fail:
    sch_profile_free(p);
    return NULL;
}

void sch_profile_free(struct sch_profile *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nplugins; i++)
        if (p->plugins[i].def->destroy)
            p->plugins[i].def->destroy(p->plugins[i].self);
    free(p->scheduler_name);
    free(p);
}

/* ---- cycle ------------------------------------------------------------------------------ */

void sch_cycle_init(struct sch_cycle *cs, const struct sch_profile *prof,
                    const struct sch_snapshot *snap)
{
    memset(cs, 0, sizeof(*cs));
    cs->prof = prof;
    cs->snap = snap;
}

void sch_cycle_release(struct sch_cycle *cs)
{
    for (size_t i = 0; i < cs->prof->nplugins; i++) {
        void (*f)(void *) = cs->prof->plugins[i].def->free_state;
        if (f && cs->fstate[i])
            f(cs->fstate[i]);
        if (f && cs->sstate[i])
            f(cs->sstate[i]);
        cs->fstate[i] = cs->sstate[i] = NULL;
    }
    free(cs->node_status);
    cs->node_status = NULL;
}

enum sch_code sch_run_pre_filter(struct sch_cycle *cs, const struct sch_pod *p,
                                 struct sch_status *st)
{
    const struct sch_profile *pr = cs->prof;
    for (size_t k = 0; k < pr->npt[SCH_PT_PRE_FILTER]; k++) {
        int i = pr->pt[SCH_PT_PRE_FILTER][k];
        sch_status_reset(st);
        enum sch_code c =
            pr->plugins[i].def->pre_filter(pr->plugins[i].self, cs, p, &cs->fstate[i], st);
        if (c == SCH_SKIP) {
            cs->skip_filter[i] = true;
            continue;
        }
        if (c != SCH_OK) {
            st->code = c;
            st->plugin = i;
            return c;
        }
    }
    sch_status_reset(st);
    return SCH_OK;
}

enum sch_code sch_run_filter(const struct sch_cycle *cs, const struct sch_pod *p,
                             const struct sch_node *n, struct sch_status *st)
{
    const struct sch_profile *pr = cs->prof;
    for (size_t k = 0; k < pr->npt[SCH_PT_FILTER]; k++) {
        int i = pr->pt[SCH_PT_FILTER][k];
        if (cs->skip_filter[i])
            continue;
        st->nreasons = 0;
        enum sch_code c = pr->plugins[i].def->filter(pr->plugins[i].self, cs->fstate[i], p, n, st);
        if (c != SCH_OK) {
            st->code = c;
            st->plugin = i;
            return c;
        }
    }
    return SCH_OK;
}

/* Raw scores of every active Score plugin for one chunk of the nodes. */
struct score_ctx {
    struct sch_cycle *cs;
    const struct sch_pod *p;
    const size_t *nodes;
    size_t n;
    const int *active;
    size_t na;
    struct sch_node_score *s; /* na rows of n */
    size_t chunk;
};

static void score_chunk(void *arg, size_t c)
{
    struct score_ctx *sc = arg;
    const struct sch_profile *pr = sc->cs->prof;
    size_t from = c * sc->chunk, to = from + sc->chunk < sc->n ? from + sc->chunk : sc->n;
    for (size_t k = 0; k < sc->na; k++) {
        const struct sch_inst *in = &pr->plugins[sc->active[k]];
        const void *state = sc->cs->sstate[sc->active[k]];
        struct sch_node_score *row = sc->s + k * sc->n;
        for (size_t j = from; j < to; j++) {
            row[j].node = sc->nodes[j];
            row[j].score =
                in->def->score(in->self, state, sc->p, sc->cs->snap->nodes[sc->nodes[j]]);
        }
    }
}

enum sch_code sch_run_score(struct sch_cycle *cs, const struct sch_pod *p, const size_t *nodes,
                            size_t n, int64_t *totals, struct sch_status *st)
{
    const struct sch_profile *pr = cs->prof;
    for (size_t k = 0; k < pr->npt[SCH_PT_PRE_SCORE]; k++) {
        int i = pr->pt[SCH_PT_PRE_SCORE][k];
        sch_status_reset(st);
        enum sch_code c =
            pr->plugins[i].def->pre_score(pr->plugins[i].self, cs, p, nodes, n, &cs->sstate[i], st);
        if (c == SCH_SKIP) {
            cs->skip_score[i] = true;
            continue;
        }
        if (c != SCH_OK) {
            st->plugin = i;
            return c;
        }
    }
    memset(totals, 0, n * sizeof(*totals));
    int active[SCH_MAX_PLUGINS];
    size_t na = 0;
    for (size_t k = 0; k < pr->npt[SCH_PT_SCORE]; k++)
        if (!cs->skip_score[pr->pt[SCH_PT_SCORE][k]])
            active[na++] = pr->pt[SCH_PT_SCORE][k];
    struct score_ctx sc = {
        cs, p, nodes, n, active, na, ck_malloc((n * na + 1) * sizeof(struct sch_node_score)), 64};
    size_t nchunks = (n + sc.chunk - 1) / sc.chunk;
    sch_pool_run(nchunks > 1 ? cs->pool : NULL, nchunks, score_chunk, &sc);
    for (size_t k = 0; k < na; k++) {
        const struct sch_inst *in = &pr->plugins[active[k]];
        struct sch_node_score *s = sc.s + k * n;
        if (in->def->normalize)
            in->def->normalize(in->self, cs->sstate[active[k]], p, s, n);
        for (size_t j = 0; j < n; j++)
            totals[j] += s[j].score * in->weight;
    }
    free(sc.s);
    sch_status_reset(st);
    return SCH_OK;
}

void sch_default_normalize(int64_t max_priority, bool reverse, struct sch_node_score *s, size_t n)
{
    int64_t max = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i].score > max)
            max = s[i].score;
    if (max == 0) {
        if (reverse)
            for (size_t i = 0; i < n; i++)
                s[i].score = max_priority;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t v = max_priority * s[i].score / max;
        s[i].score = reverse ? max_priority - v : v;
    }
}

size_t sch_num_nodes_to_find(int pct, size_t all)
{
    if (all < 100)
        return all;
    long p = pct;
    if (p <= 0) {
        p = 50 - (long)all / 125;
        if (p < 5)
            p = 5;
    }
    if (p >= 100)
        return all;
    size_t n = all * (size_t)p / 100;
    return n < 100 ? 100 : n;
}

/* ---- pool ------------------------------------------------------------------------------- */

/* One sch_pool_run call; lives on the caller's stack. Workers only reach it through
 * p->cur, which is cleared (under the mutex) before the call returns, and the call returns
 * only when every worker that took it is done: no worker can touch a job that has ended. */
struct pool_job {
    void (*fn)(void *, size_t);
    void *ctx;
    size_t n;
    size_t next; /* atomic */
};

struct sch_pool {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    pthread_t *th;
    int nth;
    struct pool_job *cur; /* the running job, NULL between jobs */
    long job;             /* bumped per job */
    int busy;             /* workers inside cur */
    bool stop;
};

static void run_items(struct pool_job *j)
{
    for (;;) {
        size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (i >= j->n)
            return;
        j->fn(j->ctx, i);
    }
}

static void *pool_main(void *arg)
{
    struct sch_pool *p = arg;
    long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && (!p->cur || p->job == seen))
            pthread_cond_wait(&p->work, &p->mu);
        if (p->stop)
            break;
        seen = p->job;
        struct pool_job *j = p->cur;
        p->busy++;
        pthread_mutex_unlock(&p->mu);
        run_items(j);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct sch_pool *sch_pool_new(int threads)
{
    struct sch_pool *p = ck_calloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    p->nth = threads > 0 ? threads : 0;
    p->th = ck_calloc((size_t)p->nth + 1, sizeof(pthread_t));
    for (int i = 0; i < p->nth; i++)
        pthread_create(&p->th[i], NULL, pool_main, p);
    return p;
}

void sch_pool_free(struct sch_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nth; i++)
        pthread_join(p->th[i], NULL);
    free(p->th);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void sch_pool_run(struct sch_pool *p, size_t n, void (*fn)(void *ctx, size_t i), void *ctx)
{
    if (!p || p->nth == 0 || n < 2) {
        for (size_t i = 0; i < n; i++)
            fn(ctx, i);
        return;
    }
    struct pool_job j = {fn, ctx, n, 0};
    pthread_mutex_lock(&p->mu);
    p->cur = &j;
    p->job++;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    run_items(&j);
    pthread_mutex_lock(&p->mu);
    while (p->busy > 0)
        pthread_cond_wait(&p->done, &p->mu);
    p->cur = NULL;
    pthread_mutex_unlock(&p->mu);
}
