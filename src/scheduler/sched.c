/* SPDX-License-Identifier: Apache-2.0 */
/* The scheduler: informer handlers (eventhandlers.go), the scheduling loop (schedule_one.go)
 * and its lifecycle. See sched.h. */
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/compsrv.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "scheduler/plugins.h"
#include "scheduler/sched_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/banned.h"

const struct sch_plugin_def *const sch_registry[] = {
    &sch_plugin_priority_sort,
    &sch_plugin_scheduling_gates,
    &sch_plugin_node_unschedulable,
    &sch_plugin_node_name,
    &sch_plugin_taint_toleration,
    &sch_plugin_node_affinity,
    &sch_plugin_node_ports,
    &sch_plugin_node_resources_fit,
    &sch_plugin_balanced_allocation,
    &sch_plugin_pod_topology_spread,
    &sch_plugin_inter_pod_affinity,
    &sch_plugin_image_locality,
    &sch_plugin_default_preemption,
    &sch_plugin_default_binder,
    NULL,
};

static const struct sch_profile *profile_for(struct sch_sched *s, const struct sch_pod *p)
{
    const char *name = k8s_pod_scheduler_name(p->obj);
    if (!*name)
        name = "default-scheduler";
    for (size_t i = 0; i < s->nprofiles; i++)
        if (!strcmp(s->profiles[i]->scheduler_name, name))
            return s->profiles[i];
    return NULL;
}

/* ---- informer handlers ------------------------------------------------------------------ */

static bool responsible(struct sch_sched *s, const json_t *pod)
{
    const char *name = k8s_pod_scheduler_name(pod);
    if (!*name)
        name = "default-scheduler";
    for (size_t i = 0; i < s->nprofiles; i++)
        if (!strcmp(s->profiles[i]->scheduler_name, name))
            return true;
    return false;
}

static void pod_add(void *arg, json_t *pod)
{
    struct sch_sched *s = arg;
    if (k8s_pod_is_assigned(pod)) {
        sch_cache_add_pod(s->cache, pod);
        sch_queue_move_all(s->queue);
    } else if (!k8s_pod_is_terminal(pod) && responsible(s, pod)) {
        struct sch_pod *p = sch_pod_new(pod);
        sch_queue_add(s->queue, p);
        sch_pod_unref(p);
    }
}

static void pod_update(void *arg, json_t *old, json_t *pod)
{
    struct sch_sched *s = arg;
    if (k8s_pod_is_assigned(pod)) {
        if (!k8s_pod_is_assigned(old)) {
            char *key = ck_asprintf("%s/%s", k8s_obj_namespace(pod), k8s_obj_name(pod));
            sch_queue_delete(s->queue, key);
            free(key);
        }
        if (k8s_pod_is_terminal(pod))
            sch_cache_remove_pod(s->cache, pod);
        else
            sch_cache_update_pod(s->cache, old, pod);
    } else if (!k8s_pod_is_terminal(pod) && responsible(s, pod)) {
        struct sch_pod *p = sch_pod_new(pod);
        sch_queue_update(s->queue, p);
        sch_pod_unref(p);
    }
}

static void pod_delete(void *arg, json_t *pod)
{
    struct sch_sched *s = arg;
    if (k8s_pod_is_assigned(pod)) {
        sch_cache_remove_pod(s->cache, pod);
        sch_queue_move_all(s->queue);
    } else {
        char *key = ck_asprintf("%s/%s", k8s_obj_namespace(pod), k8s_obj_name(pod));
        sch_queue_delete(s->queue, key);
        free(key);
    }
}

static void node_add(void *arg, json_t *node)
{
    struct sch_sched *s = arg;
    sch_cache_add_node(s->cache, node);
    sch_queue_move_all(s->queue);
}

/* Only changes that can make a pod fit move the unschedulable pods
 * (nodeSchedulingPropertiesChange). */
static void node_update(void *arg, json_t *old, json_t *node)
{
    struct sch_sched *s = arg;
    sch_cache_update_node(s->cache, node);
    static const char *const paths[] = {"spec.unschedulable",   "spec.taints",
                                        "metadata.labels",      "status.allocatable",
                                        "metadata.annotations", "status.conditions"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        json_t *a = k8s_jpath(old, paths[i]), *b = k8s_jpath(node, paths[i]);
        if ((!a) != (!b) || (a && !json_equal(a, b))) {
            sch_queue_move_all(s->queue);
            return;
        }
    }
}

static void node_delete(void *arg, json_t *node)
{
    sch_cache_remove_node(((struct sch_sched *)arg)->cache, k8s_obj_name(node));
}

/* ---- handle callbacks ------------------------------------------------------------------- */

static const json_t *ns_labels(void *arg, const char *ns)
{
    struct sch_sched *s = arg;
    json_t *obj = ck_indexer_get(ck_informer_indexer(s->namespaces), ns);
    if (!obj)
        return NULL;
    const json_t *l = k8s_jpath(obj, "metadata.labels");
    json_decref(obj); /* the indexer keeps its own reference while the object is stored */
    return l;
}

/* helper.DefaultSelector: services (spec.selector), RCs (spec.selector), RSs and StatefulSets
 * (spec.selector LabelSelector) in the pod's namespace that select it, ANDed. */
static struct sel *default_selector(void *arg, const struct sch_pod *p)
{
    struct sch_sched *s = arg;
    struct ck_informer *infs[4] = {s->services, s->rcs, s->rss, s->sss};
    struct ck_buf text = CK_BUF_INIT(1 << 20);
    for (int k = 0; k < 4; k++) {
        if (!infs[k])
            continue;
        json_t *items = ck_indexer_by_index(ck_informer_indexer(infs[k]), "namespace", p->ns);
        size_t i;
        json_t *o;
        json_array_foreach(items, i, o)
        {
            const json_t *spec_sel = k8s_jpath(o, "spec.selector");
            struct sel *sl = NULL;
            struct ck_err err = CK_ERR_INIT;
            int rc = k < 2 ? sel_from_map(spec_sel, &sl, &err)
                           : sel_from_label_selector(spec_sel, &sl, &err);
            if (rc < 0 || !sl)
                continue;
            if (!sel_empty(sl) && sel_matches(sl, sel_lookup_json, (void *)p->labels)) {
                char *t = sel_to_string(sl);
                if (*t)
                    ck_buf_appendf(&text, "%s%s", text.len ? "," : "", t);
                free(t);
            }
            sel_free(sl);
        }
        json_decref(items);
    }
    struct sel *out = NULL;
    if (text.len) {
        struct ck_err err = CK_ERR_INIT;
        if (sel_parse(SEL_LABEL, text.data, &out, &err) < 0)
            out = NULL;
    }
    ck_buf_release(&text);
    return out;
}

/* The PodDisruptionBudgets for preemption. */
static json_t *pdb_list(void *arg)
{
    struct sch_sched *s = arg;
    return s->pdbs ? ck_indexer_list(ck_informer_indexer(s->pdbs)) : NULL;
}

static bool pre_enqueue(void *arg, const struct sch_pod *p)
{
    struct sch_sched *s = arg;
    const struct sch_profile *pr = profile_for(s, p);
    if (!pr)
        return false;
    for (size_t k = 0; k < pr->npt[SCH_PT_PRE_ENQUEUE]; k++) {
        const struct sch_inst *in = &pr->plugins[pr->pt[SCH_PT_PRE_ENQUEUE][k]];
        struct sch_status st;
        sch_status_reset(&st);
        if (in->def->pre_enqueue(in->self, p, &st) != SCH_OK)
            return false;
    }
    return true;
}

/* ---- scheduleOne ------------------------------------------------------------------------ */

struct filter_ctx {
    struct sch_cycle *cs;
    const struct sch_pod *p;
    size_t start, total, want;
    size_t *feasible;
    atomic_size_t nfeasible;
    atomic_size_t processed_max;
};

/* Filters node i (in the order from fc->start); false when enough nodes were found before. */
static bool filter_node(struct filter_ctx *fc, size_t i)
{
    if (atomic_load_explicit(&fc->nfeasible, memory_order_relaxed) >= fc->want)
        return false;
    size_t idx = (fc->start + i) % fc->total;
    struct sch_status *st = &fc->cs->node_status[idx];
    sch_status_reset(st);
    if (sch_run_filter(fc->cs, fc->p, fc->cs->snap->nodes[idx], st) == SCH_OK) {
        size_t k = atomic_fetch_add(&fc->nfeasible, 1);
        if (k < fc->want)
            fc->feasible[k] = idx;
        else
            st->code = SCH_SKIP; /* found after enough: not counted as processed */
    }
    return true;
}

/* processed_max = max(processed_max, upto). */
static void note_processed(struct filter_ctx *fc, size_t upto)
{
    size_t seen = atomic_load(&fc->processed_max);
    while (upto > seen && !atomic_compare_exchange_weak(&fc->processed_max, &seen, upto))
        ;
}

static void filter_one(void *arg, size_t i)
{
    if (filter_node(arg, i))
        note_processed(arg, i + 1);
}

/* Runs Filter over chunks of nodes in parallel. */
struct chunk_ctx {
    struct filter_ctx *fc;
    size_t chunk;
};

static void filter_chunk(void *arg, size_t c)
{
    struct chunk_ctx *cc = arg;
    size_t from = c * cc->chunk, to = from + cc->chunk, upto = 0;
    if (to > cc->fc->total)
        to = cc->fc->total;
    for (size_t i = from; i < to && filter_node(cc->fc, i); i++)
        upto = i + 1;
    if (upto)
        note_processed(cc->fc, upto);
}

/* FitError.Error(). */
static char *fit_error(const struct sch_cycle *cs, size_t nall, const char *post_msg)
{
    struct ck_buf b = CK_BUF_INIT(1 << 16);
    ck_buf_appendf(&b, "0/%zu nodes are available:", nall);
    if (cs->prefilter_rejected) {
        char m[512];
        sch_status_message(&cs->prefilter_status, m, sizeof(m));
        ck_buf_appendf(&b, " %s.", m);
    } else {
        struct ck_strmap hist = CK_STRMAP_INIT;
        for (size_t i = 0; i < cs->node_status_n; i++) {
            const struct sch_status *st = &cs->node_status[i];
            if (st->code == SCH_OK || st->code == SCH_SKIP)
                continue;
            for (int r = 0; r < st->nreasons; r++) {
                uintptr_t c = (uintptr_t)ck_strmap_get(&hist, st->reasons[r], NULL);
                ck_strmap_put(&hist, st->reasons[r], (void *)(c + 1));
            }
        }
        char **lines = ck_calloc(hist.len + 1, sizeof(char *));
        size_t n = 0;
        const char *k;
        void *v;
        for (size_t it = 0; ck_strmap_next(&hist, &it, &k, &v);)
            lines[n++] = ck_asprintf("%zu %s", (size_t)(uintptr_t)v, k);
        for (size_t i = 1; i < n; i++) /* insertion sort: sort.Strings */
            for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
                char *t = lines[j];
                lines[j] = lines[j - 1];
                lines[j - 1] = t;
            }
        for (size_t i = 0; i < n; i++) {
            ck_buf_appendf(&b, "%s%s", i ? ", " : " ", lines[i]);
            free(lines[i]);
        }
        if (n)
            ck_buf_appends(&b, ".");
        free(lines);
        ck_strmap_release(&hist);
    }
    if (post_msg && *post_msg)
        ck_buf_appendf(&b, " %s.", post_msg);
    return ck_buf_detach(&b, NULL);
}

static void fail(struct sch_sched *s, struct sch_qpod *qp, const struct sch_profile *pr, char *msg,
                 char *nominated, bool error, int64_t start)
{
    if (error)
        atomic_fetch_add(&s->attempts_error, 1);
    else
        atomic_fetch_add(&s->attempts_unschedulable, 1);
    (void)start;
    struct sch_job *j = ck_calloc(1, sizeof(*j));
    j->kind = SCH_JOB_FAIL;
    j->qp = qp;
    j->prof = pr;
    j->msg = msg;
    j->nominated = nominated;
    j->error = error;
    if (!sch_jobq_push_force(&s->binds, j)) {
        sch_queue_requeue(s->queue, qp, error);
        sch_job_free(j);
    }
}

static void schedule_one(struct sch_sched *s, struct sch_qpod *qp)
{
    int64_t start = ck_mono_ns();
    struct sch_pod *p = qp->p;
    const struct sch_profile *pr = profile_for(s, p);
    if (!pr || p->deleting) {
        sch_queue_done(s->queue, qp);
        return;
    }
    sch_cache_snapshot(s->cache, &s->snap);
    struct sch_cycle *cs = ck_malloc(sizeof(*cs));
    sch_cycle_init(cs, pr, &s->snap);
    cs->pool = s->pool;
    size_t nall = s->snap.n;
    if (nall == 0) {
        fail(s, qp, pr, ck_strdup("no nodes available to schedule pods"), NULL, false, start);
        cs->node_status = NULL;
        sch_cycle_release(cs);
        free(cs);
        return;
    }
    /* statuses are written for every node the filters reach; with no feasible node that is
     * every node (the only case anyone reads them), so the buffer is reused uncleared */
    if (s->nstatus < nall) {
        free(s->status_buf);
        s->status_buf = ck_calloc(nall, sizeof(struct sch_status));
        s->nstatus = nall;
    }
    cs->node_status = s->status_buf;
    cs->node_status_n = nall;
    struct sch_status st;
    size_t *feasible = ck_malloc(nall * sizeof(size_t));
    size_t nfeasible = 0;
    enum sch_code c = sch_run_pre_filter(cs, p, &st);
    if (c == SCH_ERROR) {
        char m[512];
        sch_status_message(&st, m, sizeof(m));
        fail(s, qp, pr,
             ck_asprintf("running PreFilter plugin %s: %s", pr->plugins[st.plugin].def->name, m),
             NULL, true, start);
        goto out;
    }
    if (c != SCH_OK) {
        cs->prefilter_rejected = true;
        cs->prefilter_status = st;
        for (size_t i = 0; i < nall; i++)
            cs->node_status[i] = st;
    } else {
        struct filter_ctx fc = {
            .cs = cs,
            .p = p,
            .start = s->next_start % nall,
            .total = nall,
            .want = sch_num_nodes_to_find(pr->pct_nodes >= 0 ? pr->pct_nodes : s->pct_nodes, nall),
            .feasible = feasible};
        atomic_init(&fc.nfeasible, 0);
        atomic_init(&fc.processed_max, 0);
        struct chunk_ctx cc = {&fc, 64};
        size_t nchunks = (nall + cc.chunk - 1) / cc.chunk;
        if (nall <= 256)
            for (size_t i = 0; i < nall; i++)
                filter_one(&fc, i);
        else
            sch_pool_run(s->pool, nchunks, filter_chunk, &cc);
        nfeasible = atomic_load(&fc.nfeasible);
        if (nfeasible > fc.want)
            nfeasible = fc.want;
        size_t processed = atomic_load(&fc.processed_max);
        s->next_start = (fc.start + processed) % nall;
        /* nodes not reached in this cycle have no status */
        for (size_t i = 0; nfeasible == 0 && i < nall; i++) {
            size_t off = (i + nall - fc.start) % nall;
            if (off >= processed)
                cs->node_status[i].code = SCH_SKIP;
        }
    }
    if (nfeasible == 0) {
        char *post = NULL, *nominated = NULL;
        for (size_t k = 0; k < pr->npt[SCH_PT_POST_FILTER]; k++) {
            const struct sch_inst *in = &pr->plugins[pr->pt[SCH_PT_POST_FILTER][k]];
            struct sch_status pst;
            sch_status_reset(&pst);
            enum sch_code pc = in->def->post_filter(in->self, cs, p, &pst, &nominated);
            if (pc == SCH_OK && nominated)
                break;
            char m[SCH_REASON_LEN * SCH_MAX_REASONS];
            sch_status_message(&pst, m, sizeof(m));
            if (*m && !post)
                post = ck_strdup(m);
        }
        fail(s, qp, pr, fit_error(cs, nall, post), nominated, false, start);
        free(post);
        goto out;
    }
    size_t best = feasible[0];
    if (nfeasible > 1) {
        int64_t *totals = ck_malloc(nfeasible * sizeof(int64_t));
        c = sch_run_score(cs, p, feasible, nfeasible, totals, &st);
        if (c != SCH_OK && c != SCH_SKIP) {
            free(totals);
            fail(s, qp, pr,
                 ck_asprintf("running Score plugins: %s", st.nreasons ? st.reasons[0] : ""), NULL,
                 true, start);
            goto out;
        }
        /* selectHost: the highest total, ties broken uniformly at random */
        int64_t max = INT64_MIN;
        size_t ties = 0;
        for (size_t i = 0; i < nfeasible; i++) {
            if (totals[i] > max) {
                max = totals[i];
                best = feasible[i];
                ties = 1;
            } else if (totals[i] == max && (size_t)rand_r(&s->rnd) % ++ties == 0) {
                best = feasible[i];
            }
        }
        free(totals);
    }
    const char *host = sch_node_name(s->snap.nodes[best]);
    /* assume, Reserve, then hand over to the binding cycle */
    if (sch_cache_assume(s->cache, p, host) < 0) {
        fail(s, qp, pr, ck_strdup("pod is already assumed"), NULL, true, start);
        goto out;
    }
    for (size_t k = 0; k < pr->npt[SCH_PT_RESERVE]; k++) {
        const struct sch_inst *in = &pr->plugins[pr->pt[SCH_PT_RESERVE][k]];
        sch_status_reset(&st);
        if (in->def->reserve(in->self, cs, p, host, &st) != SCH_OK) {
            for (size_t u = 0; u <= k; u++) {
                const struct sch_inst *ui = &pr->plugins[pr->pt[SCH_PT_RESERVE][k - u]];
                if (ui->def->unreserve)
                    ui->def->unreserve(ui->self, cs, p, host);
            }
            sch_cache_forget(s->cache, p->key);
            fail(s, qp, pr, ck_asprintf("running Reserve plugin %s", in->def->name), NULL, true,
                 start);
            goto out;
        }
    }
    for (size_t k = 0; k < pr->npt[SCH_PT_PERMIT]; k++) {
        const struct sch_inst *in = &pr->plugins[pr->pt[SCH_PT_PERMIT][k]];
        sch_status_reset(&st);
        enum sch_code pc = in->def->permit(in->self, cs, p, host, &st);
        if (pc != SCH_OK && pc != SCH_WAIT) {
            sch_cache_forget(s->cache, p->key);
            char m[512];
            sch_status_message(&st, m, sizeof(m));
            fail(s, qp, pr, ck_strdup(m), NULL, pc == SCH_ERROR, start);
            goto out;
        }
    }
    atomic_fetch_add(&s->attempts_scheduled, 1);
    struct sch_job *j = ck_calloc(1, sizeof(*j));
    j->kind = SCH_JOB_BIND;
    j->qp = qp;
    j->prof = pr;
    j->node = ck_strdup(host);
    j->start_ns = start;
    if (!sch_bind_submit(s, j)) { /* stopping */
        sch_cache_forget(s->cache, p->key);
        sch_queue_done(s->queue, qp);
        sch_job_free(j);
    }
out:
    free(feasible);
    cs->node_status = NULL;
    sch_cycle_release(cs);
    free(cs);
}

static void *loop_main(void *arg)
{
    struct sch_sched *s = arg;
    while (!s->stop) {
        struct sch_qpod *qp = sch_queue_pop(s->queue, 200000000LL);
        if (qp)
            schedule_one(s, qp);
    }
    return NULL;
}

static void *ticker_main(void *arg)
{
    struct sch_sched *s = arg;
    int64_t last_cleanup = 0;
    while (!s->stop) {
        usleep(100000);
        sch_queue_flush(s->queue);
        int64_t now = ck_mono_ns();
        if (now - last_cleanup > 1000000000LL) {
            last_cleanup = now;
            sch_cache_cleanup(s->cache, now);
        }
    }
    return NULL;
}

/* ---- lifecycle -------------------------------------------------------------------------- */

struct sch_sched *sch_sched_new(const struct sch_opts *o, struct ck_err *err)
{
    struct sch_sched *s = ck_calloc(1, sizeof(*s));
    s->o = *o;
    s->client = o->client;
    s->rnd = (unsigned)getpid();
    s->handle = (struct sch_handle){.client = o->client,
                                    .ns = {ns_labels, s},
                                    .default_selector = default_selector,
                                    .arg = s,
                                    .pdbs = pdb_list};
    const json_t *cfg = o->config;
    const json_t *pct = json_object_get(cfg, "percentageOfNodesToScore");
    s->pct_nodes = json_is_integer(pct) ? (int)json_integer_value(pct) : 0;
    const json_t *profiles = json_object_get(cfg, "profiles");
    size_t n = k8s_jlen(profiles);
    for (size_t i = 0; i < (n ? n : 1) && i < SCH_MAX_PROFILES; i++) {
        char msg[512] = "";
        struct sch_profile *pr =
            sch_profile_new(n ? json_array_get(profiles, i) : NULL, &s->handle, msg, sizeof(msg));
        if (!pr) {
            ck_err_set(err, CK_R_INVALID, "profile %zu: %s", i, msg);
            sch_sched_free(s);
            return NULL;
        }
        s->profiles[s->nprofiles++] = pr;
    }
    const struct sch_profile *p0 = s->profiles[0];
    const struct sch_inst *qs = &p0->plugins[p0->pt[SCH_PT_QUEUE_SORT][0]];
    json_int_t ib = json_integer_value(json_object_get(cfg, "podInitialBackoffSeconds"));
    json_int_t mb = json_integer_value(json_object_get(cfg, "podMaxBackoffSeconds"));
    struct sch_queue_opts qo = {.less = qs->def->less,
                                .less_self = qs->self,
                                .pre_enqueue = pre_enqueue,
                                .arg = s,
                                .initial_backoff_ns = ib > 0 ? ib * 1000000000LL : 0,
                                .max_backoff_ns = mb > 0 ? mb * 1000000000LL : 0};
    s->queue = sch_queue_new(&qo);
    s->cache = sch_cache_new(30000000000LL);
    sch_snapshot_init(&s->snap);
    int par = o->parallelism > 0 ? o->parallelism : (int)sysconf(_SC_NPROCESSORS_ONLN);
    s->pool = sch_pool_new(par > 1 ? par - 1 : 0);
    /* binding cycles waiting for a binder: two per binder, so the scheduling loop waits
     * for the API server instead of assuming pods far ahead of their bindings */
    sch_jobq_init(&s->binds, 2 * (size_t)(o->bind_workers > 0 ? o->bind_workers : SCH_BINDERS));
    /* client-go's broadcaster queues up to 1000 events and drops the rest */
    sch_jobq_init(&s->events, 1000);
    pthread_mutex_init(&s->lat_mu, NULL);
    pthread_mutex_init(&s->inflight_mu, NULL);
    pthread_cond_init(&s->inflight_cv, NULL);
    return s;
}

int sch_sched_start_informers(struct sch_sched *s, int timeout_ms, struct ck_err *err)
{
    struct ck_informer_handlers ph = {pod_add, pod_update, pod_delete, s};
    struct ck_informer_handlers nh = {node_add, node_update, node_delete, s};
    s->pods = ck_informer_new(s->client, &(struct ck_informer_opts){.path = "/api/v1/pods"});
    s->nodes = ck_informer_new(s->client, &(struct ck_informer_opts){.path = "/api/v1/nodes"});
    s->namespaces =
        ck_informer_new(s->client, &(struct ck_informer_opts){.path = "/api/v1/namespaces"});
    s->services =
        ck_informer_new(s->client, &(struct ck_informer_opts){.path = "/api/v1/services"});
    s->rcs = ck_informer_new(s->client,
                             &(struct ck_informer_opts){.path = "/api/v1/replicationcontrollers"});
    s->rss =
        ck_informer_new(s->client, &(struct ck_informer_opts){.path = "/apis/apps/v1/replicasets"});
    s->sss = ck_informer_new(s->client,
                             &(struct ck_informer_opts){.path = "/apis/apps/v1/statefulsets"});
    s->pdbs = ck_informer_new(
        s->client, &(struct ck_informer_opts){.path = "/apis/policy/v1/poddisruptionbudgets"});
    ck_informer_add_handlers(s->pods, &ph);
    ck_informer_add_handlers(s->nodes, &nh);
    struct ck_informer *all[] = {s->nodes, s->namespaces, s->services, s->rcs,
                                 s->rss,   s->sss,        s->pdbs,     s->pods};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        ck_informer_start(all[i]);
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (!ck_informer_wait_synced(all[i], timeout_ms))
            return ck_err_set(err, CK_R_TIMEOUT, "informers did not sync within %d ms", timeout_ms);
    return 0;
}

void sch_sched_run(struct sch_sched *s)
{
    if (s->running)
        return;
    s->running = true;
    sch_batch_start(s);
    s->nbinders = s->o.bind_workers > 0 ? s->o.bind_workers : SCH_BINDERS;
    s->binders = ck_calloc((size_t)s->nbinders, sizeof(pthread_t));
    for (int i = 0; i < s->nbinders; i++)
        pthread_create(&s->binders[i], NULL, sch_bind_worker, s);
    s->neventers = s->batch ? 0 : 2; /* the batch posts the Events */
    s->eventers = ck_calloc((size_t)s->neventers, sizeof(pthread_t));
    for (int i = 0; i < s->neventers; i++)
        pthread_create(&s->eventers[i], NULL, sch_event_worker, s);
    pthread_create(&s->ticker, NULL, ticker_main, s);
    pthread_create(&s->loop, NULL, loop_main, s);
}

void sch_sched_stop(struct sch_sched *s)
{
    if (!s || !s->running)
        return;
    s->stop = 1;
    sch_queue_close(s->queue);
    pthread_mutex_lock(&s->inflight_mu); /* a loop waiting for room on the wire */
    pthread_cond_broadcast(&s->inflight_cv);
    pthread_mutex_unlock(&s->inflight_mu);
    pthread_join(s->loop, NULL);
    pthread_join(s->ticker, NULL);
    sch_jobq_close(&s->binds);
    sch_jobq_close(&s->events);
    for (int i = 0; i < s->nbinders; i++)
        pthread_join(s->binders[i], NULL);
    for (int i = 0; i < s->neventers; i++)
        pthread_join(s->eventers[i], NULL);
    sch_batch_stop(s);
    s->running = false;
}

void sch_sched_free(struct sch_sched *s)
{
    if (!s)
        return;
    ck_compsrv_stop(s->http);
    sch_sched_stop(s);
    struct ck_informer *all[] = {s->pods, s->nodes, s->namespaces, s->services,
                                 s->rcs,  s->rss,   s->sss,        s->pdbs};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (all[i])
            ck_informer_signal_stop(all[i]); /* all at once: each watch takes ~1 s to end */
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (all[i])
            ck_informer_stop(all[i]);
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        ck_informer_free(all[i]);
    for (size_t i = 0; i < s->nprofiles; i++)
        sch_profile_free(s->profiles[i]);
    sch_queue_free(s->queue);
    sch_cache_free(s->cache);
    sch_snapshot_release(&s->snap);
    sch_pool_free(s->pool);
    free(s->binders);
    free(s->eventers);
    free(s->lat_samples);
    free(s->status_buf);
    pthread_mutex_destroy(&s->lat_mu);
    pthread_mutex_destroy(&s->inflight_mu);
    pthread_cond_destroy(&s->inflight_cv);
    free(s);
}

void sch_sched_counters(struct sch_sched *s, struct sch_counters *out)
{
    out->scheduled = atomic_load(&s->attempts_scheduled);
    out->unschedulable = atomic_load(&s->attempts_unschedulable);
    out->errors = atomic_load(&s->attempts_error);
    out->bound = atomic_load(&s->bound);
    out->bind_errors = atomic_load(&s->bind_errors);
    out->attempts = out->scheduled + out->unschedulable + out->errors;
}
