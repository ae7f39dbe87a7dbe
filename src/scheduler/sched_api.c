/* SPDX-License-Identifier: Apache-2.0 */
/* The scheduler's writes to the API server: the binding cycle (Permit/PreBind/Bind/PostBind,
 * handleBindingCycleError), failure handling (handleSchedulingFailure: PodScheduled=False
 * with reason Unschedulable, FailedScheduling event, requeue), events, and the metrics. */
#include "ckube/batch.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "lib/yamljson.h"
#include "scheduler/plugins.h"
#include "scheduler/sched_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/banned.h"

const double sch_lat_bounds[SCH_LAT_BUCKETS] = {0.0005, 0.001, 0.002, 0.004, 0.008, 0.016,
                                                0.032,  0.064, 0.128, 0.256, 0.512, 1.024,
                                                2.048,  4.096, 8.192, 16.384};

/* ---- job queues ------------------------------------------------------------------------- */

void sch_jobq_init(struct sch_jobq *q, size_t max)
{
    memset(q, 0, sizeof(*q));
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cond, NULL);
    pthread_cond_init(&q->space, NULL);
    q->max = max;
}

static bool push(struct sch_jobq *q, struct sch_job *j, int mode /* 0 try, 1 force, 2 wait */)
{
    pthread_mutex_lock(&q->mu);
    while (mode == 2 && !q->closed && q->len >= q->max)
        pthread_cond_wait(&q->space, &q->mu);
    if (q->closed || (mode == 0 && q->len >= q->max)) {
        pthread_mutex_unlock(&q->mu);
        return false;
    }
    j->next = NULL;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    q->len++;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->mu);
    return true;
}

bool sch_jobq_push(struct sch_jobq *q, struct sch_job *j)
{
    return push(q, j, 0);
}

bool sch_jobq_push_force(struct sch_jobq *q, struct sch_job *j)
{
    return push(q, j, 1);
}

bool sch_jobq_push_wait(struct sch_jobq *q, struct sch_job *j)
{
    return push(q, j, 2);
}

struct sch_job *sch_jobq_pop(struct sch_jobq *q)
{
    pthread_mutex_lock(&q->mu);
    while (!q->head && !q->closed)
        pthread_cond_wait(&q->cond, &q->mu);
    struct sch_job *j = q->head;
    if (j) {
        q->head = j->next;
        if (!q->head)
            q->tail = NULL;
        q->len--;
        pthread_cond_signal(&q->space);
    }
    pthread_mutex_unlock(&q->mu);
    return j;
}

void sch_jobq_close(struct sch_jobq *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_cond_broadcast(&q->cond);
    pthread_cond_broadcast(&q->space);
    pthread_mutex_unlock(&q->mu);
}

void sch_job_free(struct sch_job *j)
{
    free(j->node);
    free(j->msg);
    free(j->reason);
    free(j->nominated);
    free(j);
}

/* ---- events and status ------------------------------------------------------------------ */

static json_t *event_json(const json_t *pod, const char *type, const char *reason, const char *msg)
{
    char ts[31], nm[300];
    int64_t now = ck_real_ns();
    ck_time_rfc3339nano(now, ts);
    char sec[21];
    ck_time_rfc3339((time_t)(now / 1000000000LL), sec);
    snprintf(nm, sizeof(nm), "%s.%llx", k8s_obj_name(pod), (unsigned long long)now);
    const char *ns = k8s_obj_namespace(pod);
    json_t *ev = json_pack(
        "{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:s,s:s,s:s,s:s},s:s,s:s,s:s,s:{s:s},s:s,s:s,s:i,"
        "s:s,s:s,s:s,s:s}",
        "apiVersion", "v1", "kind", "Event", "metadata", "name", nm, "namespace", ns,
        "involvedObject", "kind", "Pod", "apiVersion", "v1", "namespace", ns, "name",
        k8s_obj_name(pod), "uid", k8s_obj_uid(pod), "resourceVersion",
        k8s_jpath_str(pod, "metadata.resourceVersion"), "reason", reason, "message", msg, "type",
        type, "source", "component", "default-scheduler", "firstTimestamp", sec, "lastTimestamp",
        sec, "count", 1, "reportingComponent", "default-scheduler", "reportingInstance",
        "default-scheduler", "action", strcmp(reason, "Scheduled") ? "Scheduling" : "Binding",
        "eventTime", ts);
    return ev;
}

static void event_now(struct sch_sched *s, const json_t *pod, const char *type, const char *reason,
                      const char *msg)
{
    json_t *ev = event_json(pod, type, reason, msg);
    const char *ns = k8s_obj_namespace(pod);
    char *path = ck_asprintf("/api/v1/namespaces/%s/events", ns);
    struct ck_err err = CK_ERR_INIT;
    if (ck_client_create_json(s->client, path, ev, NULL, &err) < 0)
        ck_v(2, "event %s for %s/%s: %s", reason, ns, k8s_obj_name(pod), err.msg);
    free(path);
    json_decref(ev);
}

/* ---- the batch: bindings and Events in flight on one connection ------------------------- */

/* Events on the wire at once: client-go's sink writes one event at a time; the queue in front
 * of it (s->events, 1000 deep, dropping when full) is the broadcaster's. */
#define EVENTS_ON_WIRE 2

static void event_pump(struct sch_sched *s);

static void event_done(void *arg, int rc, const struct ck_response *resp, const struct ck_err *err)
{
    struct sch_sched *s = arg;
    (void)resp;
    if (rc < 0)
        ck_v(2, "event: %s", err->msg);
    atomic_fetch_sub(&s->events_inflight, 1);
    event_pump(s);
}

/* Puts queued Events on the wire while fewer than EVENTS_ON_WIRE are. */
static void event_pump(struct sch_sched *s)
{
    for (;;) {
        struct sch_job *j = NULL;
        pthread_mutex_lock(&s->events.mu);
        if (atomic_load(&s->events_inflight) < EVENTS_ON_WIRE && s->events.head) {
            j = s->events.head;
            s->events.head = j->next;
            if (!s->events.head)
                s->events.tail = NULL;
            s->events.len--;
            atomic_fetch_add(&s->events_inflight, 1);
        }
        pthread_mutex_unlock(&s->events.mu);
        if (!j)
            return;
        char *nl = strchr(j->reason, '\n');
        *nl = '\0';
        const json_t *pod = (json_t *)j->node;
        json_t *ev = event_json(pod, j->reason, nl + 1, j->msg);
        char *body = json_dumps(ev, JSON_COMPACT);
        char *path = ck_asprintf("/api/v1/namespaces/%s/events", k8s_obj_namespace(pod));
        if (ck_batch_submit(s->batch, "POST", path, "application/json", body, strlen(body),
                            event_done, s) < 0)
            atomic_fetch_sub(&s->events_inflight, 1);
        free(path);
        free(body);
        json_decref(ev);
        json_decref((json_t *)j->node);
        j->node = NULL;
        sch_job_free(j);
    }
}

/* Queued: the event broadcaster drops events when its queue is full, as client-go's does. */
void sch_post_event(struct sch_sched *s, const json_t *pod, const char *type, const char *reason,
                    const char *msg)
{
    if (s->o.no_events)
        return;
    struct sch_job *j = ck_calloc(1, sizeof(*j));
    j->kind = SCH_JOB_EVENT;
    j->qp = NULL;
    j->msg = ck_strdup(msg);
    j->reason = ck_asprintf("%s\n%s", type, reason);
    /* only what the Event names, carried as a json_t in the node slot */
    j->node = (char *)json_pack("{s:{s:s,s:s,s:s,s:s}}", "metadata", "name", k8s_obj_name(pod),
                                "namespace", k8s_obj_namespace(pod), "uid", k8s_obj_uid(pod),
                                "resourceVersion", k8s_jpath_str(pod, "metadata.resourceVersion"));
    if (!sch_jobq_push(&s->events, j)) {
        json_decref((json_t *)j->node);
        j->node = NULL;
        sch_job_free(j);
    } else if (s->batch) {
        event_pump(s);
    }
}

void *sch_event_worker(void *arg)
{
    struct sch_sched *s = arg;
    struct sch_job *j;
    while ((j = sch_jobq_pop(&s->events)) != NULL) {
        char *nl = strchr(j->reason, '\n');
        *nl = '\0';
        event_now(s, (json_t *)j->node, j->reason, nl + 1, j->msg);
        json_decref((json_t *)j->node);
        j->node = NULL;
        sch_job_free(j);
    }
    return NULL;
}

/* updatePod: PodScheduled=False/Unschedulable (and nominatedNodeName) when they change. */
void sch_update_pod_status(struct sch_sched *s, const json_t *pod, const char *msg,
                           const char *nominated)
{
    json_t *copy = json_deep_copy(pod);
    json_t *cond = json_pack("{s:s,s:s,s:s,s:s,s:n}", "type", "PodScheduled", "status", "False",
                             "reason", "Unschedulable", "message", msg, "lastProbeTime");
    bool changed = k8s_pod_update_condition(copy, cond, NULL);
    const char *have = k8s_jpath_str(pod, "status.nominatedNodeName");
    bool nom = nominated && strcmp(have, nominated);
    if (changed || nom) {
        json_t *status = json_pack("{s:O}", "conditions", k8s_jpath(copy, "status.conditions"));
        if (nom)
            json_object_set_new(status, "nominatedNodeName", json_string(nominated));
        json_t *patch = json_pack("{s:o}", "status", status);
        char *path = ck_asprintf("/api/v1/namespaces/%s/pods/%s/status", k8s_obj_namespace(pod),
                                 k8s_obj_name(pod));
        struct ck_err err = CK_ERR_INIT;
        if (ck_client_patch_json(s->client, path, "application/merge-patch+json", patch, NULL,
                                 &err) < 0)
            ck_v(2, "status of %s: %s", path, err.msg);
        free(path);
        json_decref(patch);
    }
    json_decref(cond);
    json_decref(copy);
}

/* ---- metrics ---------------------------------------------------------------------------- */

static void hist_add(long *h, double v)
{
    size_t i = 0;
    while (i < SCH_LAT_BUCKETS && v > sch_lat_bounds[i])
        i++;
    h[i]++;
}

void sch_observe(struct sch_sched *s, int64_t attempt_ns, int64_t e2e_ns)
{
    double a = (double)attempt_ns / 1e9, e = (double)e2e_ns / 1e9;
    pthread_mutex_lock(&s->lat_mu);
    hist_add(s->lat_hist, a);
    s->lat_sum += a;
    s->lat_count++;
    hist_add(s->e2e_hist, e);
    s->e2e_sum += e;
    s->e2e_count++;
    if (s->nlat == s->caplat) {
        s->caplat = s->caplat ? s->caplat * 2 : 1024;
        s->lat_samples = ck_realloc(s->lat_samples, s->caplat * sizeof(double));
    }
    s->lat_samples[s->nlat++] = a * 1000;
    pthread_mutex_unlock(&s->lat_mu);
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double sch_sched_latency_ms(struct sch_sched *s, double q)
{
    pthread_mutex_lock(&s->lat_mu);
    double r = 0;
    if (s->nlat) {
        qsort(s->lat_samples, s->nlat, sizeof(double), dcmp);
        size_t i = (size_t)(q * (double)(s->nlat - 1) + 0.5);
        r = s->lat_samples[i];
    }
    pthread_mutex_unlock(&s->lat_mu);
    return r;
}

static void hist_text(struct ck_buf *b, const char *name, const char *help, const long *h,
                      double sum, long count)
{
    ck_buf_appendf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    long cum = 0;
    for (size_t i = 0; i < SCH_LAT_BUCKETS; i++) {
        cum += h[i];
        ck_buf_appendf(b, "%s_bucket{profile=\"default-scheduler\",le=\"%g\"} %ld\n", name,
                       sch_lat_bounds[i], cum);
    }
    ck_buf_appendf(b, "%s_bucket{profile=\"default-scheduler\",le=\"+Inf\"} %ld\n", name, count);
    ck_buf_appendf(
        b,
        "%s_sum{profile=\"default-scheduler\"} %g\n%s_count{profile=\"default-scheduler\"} %ld\n",
        name, sum, name, count);
}

void sch_sched_metrics(struct sch_sched *s, struct ck_buf *b)
{
    struct sch_counters c;
    sch_sched_counters(s, &c);
    ck_buf_appends(b, "# HELP scheduler_schedule_attempts_total Number of attempts to schedule "
                      "pods, by the result.\n# TYPE scheduler_schedule_attempts_total counter\n");
    ck_buf_appendf(b,
                   "scheduler_schedule_attempts_total{profile=\"default-scheduler\",result="
                   "\"scheduled\"} %ld\n",
                   c.scheduled);
    ck_buf_appendf(b,
                   "scheduler_schedule_attempts_total{profile=\"default-scheduler\",result="
                   "\"unschedulable\"} %ld\n",
                   c.unschedulable);
    ck_buf_appendf(
        b,
        "scheduler_schedule_attempts_total{profile=\"default-scheduler\",result=\"error\"} %ld\n",
        c.errors);
    struct sch_queue_sizes qs;
    sch_queue_sizes(s->queue, &qs);
    ck_buf_appends(b, "# HELP scheduler_pending_pods Number of pending pods, by the queue type.\n"
                      "# TYPE scheduler_pending_pods gauge\n");
    ck_buf_appendf(b, "scheduler_pending_pods{queue=\"active\"} %zu\n", qs.active);
    ck_buf_appendf(b, "scheduler_pending_pods{queue=\"backoff\"} %zu\n", qs.backoff);
    ck_buf_appendf(b, "scheduler_pending_pods{queue=\"unschedulable\"} %zu\n", qs.unschedulable);
    ck_buf_appendf(b, "scheduler_pending_pods{queue=\"gated\"} %zu\n", qs.gated);
    pthread_mutex_lock(&s->lat_mu);
    hist_text(b, "scheduler_scheduling_attempt_duration_seconds",
              "Scheduling attempt latency in seconds (scheduling algorithm + binding)", s->lat_hist,
              s->lat_sum, s->lat_count);
    hist_text(b, "scheduler_pod_scheduling_sli_duration_seconds",
              "E2e latency for a pod being scheduled, from the time the pod enters the "
              "scheduling queue",
              s->e2e_hist, s->e2e_sum, s->e2e_count);
    pthread_mutex_unlock(&s->lat_mu);
}

/* ---- the binding cycle and failures ----------------------------------------------------- */

static void handle_fail(struct sch_sched *s, struct sch_job *j)
{
    struct sch_qpod *qp = j->qp;
    const json_t *pod = qp->p->obj;
    ck_v(2, "unable to schedule %s: %s", qp->p->key, j->msg);
    sch_post_event(s, pod, "Warning", "FailedScheduling", j->msg);
    sch_update_pod_status(s, pod, j->msg, j->nominated);
    sch_queue_requeue(s->queue, qp, j->error);
}

static void bind_finish(struct sch_sched *s, struct sch_job *j, enum sch_code c,
                        const struct sch_status *st);

static void run_bind(struct sch_sched *s, struct sch_job *j)
{
    struct sch_qpod *qp = j->qp;
    const struct sch_profile *pr = j->prof;
    struct sch_status st;
    sch_status_reset(&st);
    enum sch_code c = SCH_OK;
    for (size_t k = 0; k < pr->npt[SCH_PT_PRE_BIND] && c == SCH_OK; k++) {
        const struct sch_inst *in = &pr->plugins[pr->pt[SCH_PT_PRE_BIND][k]];
        c = in->def->pre_bind(in->self, qp->p, j->node, &st);
    }
    if (c == SCH_OK) {
        c = SCH_SKIP;
        for (size_t k = 0; k < pr->npt[SCH_PT_BIND] && c == SCH_SKIP; k++) {
            const struct sch_inst *in = &pr->plugins[pr->pt[SCH_PT_BIND][k]];
            c = in->def->bind(in->self, qp->p, j->node, &st);
        }
    }
    bind_finish(s, j, c, &st);
}

/* The end of a binding cycle: PostBind and the Scheduled event, or Unreserve, forget and
 * requeue (handleBindingCycleError). */
static void bind_finish(struct sch_sched *s, struct sch_job *j, enum sch_code c,
                        const struct sch_status *st)
{
    struct sch_qpod *qp = j->qp;
    const struct sch_profile *pr = j->prof;
    if (c != SCH_OK) {
        atomic_fetch_add(&s->bind_errors, 1);
        for (size_t k = pr->npt[SCH_PT_RESERVE]; k-- > 0;) {
            const struct sch_inst *in = &pr->plugins[pr->pt[SCH_PT_RESERVE][k]];
            if (in->def->unreserve)
                in->def->unreserve(in->self, NULL, qp->p, j->node);
        }
        sch_cache_forget(s->cache, qp->p->key);
        char m[SCH_REASON_LEN * SCH_MAX_REASONS];
        sch_status_message(st, m, sizeof(m));
        /* a pod that disappeared meanwhile is simply dropped */
        if (strstr(m, "not found")) {
            sch_queue_done(s->queue, qp);
            return;
        }
        char *msg = ck_asprintf("Binding rejected: %s", m);
        sch_post_event(s, qp->p->obj, "Warning", "FailedScheduling", msg);
        free(msg);
        sch_queue_requeue(s->queue, qp, true);
        return;
    }
    int64_t now = ck_mono_ns();
    sch_cache_finish_binding(s->cache, qp->p->key, now);
    for (size_t k = 0; k < pr->npt[SCH_PT_POST_BIND]; k++) {
        const struct sch_inst *in = &pr->plugins[pr->pt[SCH_PT_POST_BIND][k]];
        in->def->post_bind(in->self, qp->p, j->node);
    }
    atomic_fetch_add(&s->bound, 1);
    sch_observe(s, now - j->start_ns, now - qp->initial_ts);
    char *msg = ck_asprintf("Successfully assigned %s to %s", qp->p->key, j->node);
    sch_post_event(s, qp->p->obj, "Normal", "Scheduled", msg);
    free(msg);
    sch_queue_done(s->queue, qp);
}

/* The binding's answer, on the batch's thread. */
static void bind_done(void *arg, int rc, const struct ck_response *resp, const struct ck_err *err)
{
    struct sch_job *j = arg;
    struct sch_sched *s = j->s;
    (void)resp;
    struct sch_status st;
    sch_status_reset(&st);
    enum sch_code c = rc < 0 ? sch_status_set(&st, SCH_ERROR, "%s", err->msg) : SCH_OK;
    bind_finish(s, j, c, &st);
    sch_job_free(j);
    pthread_mutex_lock(&s->inflight_mu);
    s->binds_inflight--;
    pthread_cond_signal(&s->inflight_cv);
    pthread_mutex_unlock(&s->inflight_mu);
}

/* Bind is DefaultBinder alone and nothing runs at PreBind: the binding can be a request of
 * the batch instead of a blocking call on a binder. */
static bool batchable(const struct sch_profile *pr)
{
    return pr->npt[SCH_PT_PRE_BIND] == 0 && pr->npt[SCH_PT_BIND] == 1 &&
           pr->plugins[pr->pt[SCH_PT_BIND][0]].def == &sch_plugin_default_binder;
}

bool sch_bind_submit(struct sch_sched *s, struct sch_job *j)
{
    if (!s->batch || !batchable(j->prof))
        return sch_jobq_push_wait(&s->binds, j);
    pthread_mutex_lock(&s->inflight_mu);
    while (!s->stop && s->binds_inflight >= s->max_binds_inflight)
        pthread_cond_wait(&s->inflight_cv, &s->inflight_mu);
    if (s->stop) {
        pthread_mutex_unlock(&s->inflight_mu);
        return false;
    }
    s->binds_inflight++;
    pthread_mutex_unlock(&s->inflight_mu);
    const struct sch_pod *p = j->qp->p;
    json_t *b = sch_binding(p, j->node);
    char *body = json_dumps(b, JSON_COMPACT);
    char *path = sch_binding_path(p);
    j->s = s;
    int rc = ck_batch_submit(s->batch, "POST", path, "application/json", body, strlen(body),
                             bind_done, j);
    free(path);
    free(body);
    json_decref(b);
    if (rc < 0) {
        pthread_mutex_lock(&s->inflight_mu);
        s->binds_inflight--;
        pthread_mutex_unlock(&s->inflight_mu);
        return false;
    }
    return true;
}

void sch_batch_start(struct sch_sched *s)
{
    s->max_binds_inflight = s->o.bind_workers > 0 ? s->o.bind_workers : SCH_BINDS_INFLIGHT;
    s->binds_inflight = 0;
    atomic_init(&s->events_inflight, 0);
    s->batch = ck_batch_new(s->client, s->max_binds_inflight + EVENTS_ON_WIRE);
}

void sch_batch_stop(struct sch_sched *s)
{
    pthread_mutex_lock(&s->inflight_mu);
    pthread_cond_broadcast(&s->inflight_cv);
    pthread_mutex_unlock(&s->inflight_mu);
    struct ck_batch *b = s->batch;
    ck_batch_free(b); /* every binding in flight finishes (its callback runs) first */
    s->batch = NULL;
    struct sch_job *j;
    while ((j = sch_jobq_pop(&s->events)) != NULL) { /* closed: Events not sent are dropped */
        json_decref((json_t *)j->node);
        j->node = NULL;
        sch_job_free(j);
    }
}

void *sch_bind_worker(void *arg)
{
    struct sch_sched *s = arg;
    struct sch_job *j;
    while ((j = sch_jobq_pop(&s->binds)) != NULL) {
        if (j->kind == SCH_JOB_BIND)
            run_bind(s, j);
        else
            handle_fail(s, j);
        sch_job_free(j);
    }
    return NULL;
}

/* ---- configuration ---------------------------------------------------------------------- */

int sch_config_load(const char *path, json_t **out, struct ck_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ck_err_sys(err, errno, "open %s", path);
    struct ck_buf b = CK_BUF_INIT(16 << 20);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        ck_buf_append(&b, chunk, n);
    fclose(f);
    json_t *cfg = NULL;
    int rc = yaml_to_json(b.data ? b.data : "", b.len, &cfg, err);
    ck_buf_release(&b);
    if (rc < 0)
        return ck_err_wrap(err, "%s", path);
    const char *av = k8s_jstr(cfg, "apiVersion"), *kind = k8s_jstr(cfg, "kind");
    if (strcmp(av, "kubescheduler.config.k8s.io/v1") ||
        strcmp(kind, "KubeSchedulerConfiguration")) {
        json_decref(cfg);
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "%s: no kind \"%s\" is registered for version \"%s\" (want "
                          "kubescheduler.config.k8s.io/v1 KubeSchedulerConfiguration)",
                          path, kind, av);
    }
    *out = cfg;
    return 0;
}
