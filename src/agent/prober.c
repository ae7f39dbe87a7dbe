/* SPDX-License-Identifier: Apache-2.0 */
/* The prober manager (prober_manager.go + worker.go): one probe worker per (pod, container,
 * probe type), run by a small pool of threads from a timer list, so probes never block pod
 * workers and a slow probe delays at most the one thread running it (each run is bounded by
 * its timeoutSeconds). Pod workers add and update workers from their runtime snapshot
 * (ag_prober_sync_pod) and read the results of the latest container instances; a published
 * result that changes requeues the pod (upstream's results-manager updates channel). Events
 * (Unhealthy) are posted by the pool threads with a per-worker memory instead of the pod's,
 * so they never touch the pod record. Hollow nodes run no workers: their probes succeed. */
#include "agent/agent_int.h"
#include "agent/prober.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

#define SEC 1000000000LL
#define NTHREADS 4
#define EVENT_DEDUP_NS (60 * SEC)

struct pworker {
    char *uid, *ns, *pod, *ctr;
    struct ag_node *node;
    enum ag_probe_type type;
    bool init; /* a restartable init container */
    struct ag_probe_spec spec;
    struct ag_probe_sm sm;
    /* what the pod worker saw last (under the prober's lock) */
    char cid[RT_ID_MAX];
    char ip[64];
    bool running, terminated, restart_never, deleting;
    int64_t started_real_ns;
    int64_t due_ns; /* monotonic */
    bool busy, dead, seen;
    /* prober_probe_total by result: successful, failed, unknown */
    long total[3];
    /* the last Unhealthy event (reason+message hash) and when */
    uint64_t ev_hash;
    int64_t ev_ns;
};

struct ag_prober {
    struct agent *ag;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct pworker **v;
    size_t n;
    pthread_t th[NTHREADS];
    int nth;
    bool stop;
};

static void pw_free(struct pworker *w)
{
    free(w->uid);
    free(w->ns);
    free(w->pod);
    free(w->ctr);
    ag_probe_spec_release(&w->spec);
    free(w);
}

/* the startup worker of the same container (lock held) */
static const struct pworker *startup_of(const struct ag_prober *pr, const struct pworker *w)
{
    for (size_t i = 0; i < pr->n; i++) {
        const struct pworker *o = pr->v[i];
        if (!o->dead && o->type == AG_PROBE_STARTUP && !strcmp(o->uid, w->uid) &&
            !strcmp(o->ctr, w->ctr))
            return o;
    }
    return NULL;
}

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void probe_event(struct agent *ag, const struct pworker *w, const char *msg)
{
    ag_event_obj(ag, w->node, w->ns, w->pod, w->uid, w->ctr, w->init, true, "Unhealthy", msg);
}

/* One tick of worker w (doProbe), called with the lock released and w->busy set. */
static void tick(struct ag_prober *pr, struct pworker *w)
{
    struct agent *ag = pr->ag;
    pthread_mutex_lock(&pr->mu);
    /* started: the startup probe (this worker's own result for a startup worker) succeeded
     * for this container, or there is none */
    const struct pworker *su = w->type == AG_PROBE_STARTUP ? w : startup_of(pr, w);
    struct ag_probe_ctx ctx = {
        .cid = w->cid,
        .running = w->running,
        .terminated = w->terminated,
        .restart_never = w->restart_never,
        .deleting = w->deleting,
        .started = !su || (!strcmp(su->sm.cid, w->cid) && su->sm.result == AG_PR_SUCCESS),
        .started_real_ns = w->started_real_ns,
        .now_real_ns = ck_real_ns(),
    };
    bool changed = false;
    enum ag_probe_step step = ag_probe_sm_before(&w->sm, &w->spec, &ctx, &changed);
    char cid[RT_ID_MAX], ip[64];
    snprintf(cid, sizeof(cid), "%s", w->cid);
    snprintf(ip, sizeof(ip), "%s", w->ip);
    int64_t delay_left =
        w->started_real_ns + (int64_t)w->spec.initial_delay_s * SEC - ctx.now_real_ns;
    pthread_mutex_unlock(&pr->mu);
    int64_t next = (int64_t)w->spec.period_s * SEC;
    if (step == AG_PROBE_SKIP && delay_left > 0 && delay_left < next)
        next = delay_left; /* the initial delay ends before the next period */
    if (step == AG_PROBE_RUN) {
        char out[1024];
        int r = ag_probe_run(w->node->rt, cid, &w->spec, ip, w->spec.timeout_s, false, out,
                             sizeof(out));
        const char *tn = ag_probe_type_name(w->type);
        char msg[1200];
        msg[0] = 0;
        if (r < 0) {
            ck_v(1, "probe errored: %s probe of %s/%s %s: %s", tn, w->ns, w->pod, w->ctr, out);
            snprintf(msg, sizeof(msg), "%s probe errored: %s", tn, out);
        } else if (r == AG_PR_FAILURE) {
            ck_v(1, "probe failed: %s probe of %s/%s %s: %s", tn, w->ns, w->pod, w->ctr, out);
            snprintf(msg, sizeof(msg), "%s probe failed: %s", tn, out);
        }
        pthread_mutex_lock(&pr->mu);
        w->total[r == AG_PR_SUCCESS ? 0 : r == AG_PR_FAILURE ? 1 : 2]++;
        if (r >= 0 && !w->dead && !strcmp(w->sm.cid, cid))
            changed |= ag_probe_sm_record(&w->sm, &w->spec, (enum ag_probe_result)r);
        bool post = false;
        if (msg[0]) {
            int64_t now = ck_mono_ns();
            uint64_t h = fnv(msg);
            post = !w->dead && (h != w->ev_hash || now - w->ev_ns >= EVENT_DEDUP_NS);
            if (post) {
                w->ev_hash = h;
                w->ev_ns = now;
            }
        }
        pthread_mutex_unlock(&pr->mu);
        if (post)
            probe_event(ag, w, msg);
    }
    pthread_mutex_lock(&pr->mu);
    if (changed && !w->dead) {
        ck_v(2, "pod %s/%s: %s probe of %s: %s", w->ns, w->pod, ag_probe_type_name(w->type), w->ctr,
             w->sm.result == AG_PR_SUCCESS   ? "success"
             : w->sm.result == AG_PR_FAILURE ? "failure"
                                             : "unknown");
        wq_add(ag->podq, w->uid);
    }
    w->due_ns = ck_mono_ns() + next;
    w->busy = false;
    if (w->dead) {
        for (size_t i = 0; i < pr->n; i++)
            if (pr->v[i] == w) {
                pr->v[i] = pr->v[--pr->n];
                break;
            }
        pw_free(w);
    }
    pthread_cond_broadcast(&pr->cv);
    pthread_mutex_unlock(&pr->mu);
}

static void *prober_thread(void *arg)
{
    struct ag_prober *pr = arg;
    pthread_mutex_lock(&pr->mu);
    while (!pr->stop) {
        int64_t now = ck_mono_ns();
        struct pworker *best = NULL;
        for (size_t i = 0; i < pr->n; i++) {
            struct pworker *w = pr->v[i];
            if (!w->busy && !w->dead && (!best || w->due_ns < best->due_ns))
                best = w;
        }
        if (best && best->due_ns <= now) {
            best->busy = true;
            pthread_mutex_unlock(&pr->mu);
            tick(pr, best);
            pthread_mutex_lock(&pr->mu);
            continue;
        }
        int64_t wait = best ? best->due_ns - now : SEC;
        if (wait > SEC)
            wait = SEC;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t t = (int64_t)ts.tv_sec * SEC + ts.tv_nsec + wait;
        ts.tv_sec = (time_t)(t / SEC);
        ts.tv_nsec = (long)(t % SEC);
        pthread_cond_timedwait(&pr->cv, &pr->mu, &ts);
    }
    pthread_mutex_unlock(&pr->mu);
    return NULL;
}

int ag_prober_start(struct agent *ag)
{
    if (ag->hollow)
        return 0; /* hollow probes succeed without running (kubemark) */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct ag_prober *pr = ck_calloc(1, sizeof(*pr));
    pr->ag = ag;
    pthread_mutex_init(&pr->mu, NULL);
    pthread_cond_init(&pr->cv, NULL);
    for (int i = 0; i < NTHREADS; i++)
        if (pthread_create(&pr->th[pr->nth], NULL, prober_thread, pr) == 0)
            pr->nth++;
    ag->prober = pr;
    return 0;
}

void ag_prober_stop(struct agent *ag)
{
    struct ag_prober *pr = ag->prober;
    if (!pr)
        return;
    pthread_mutex_lock(&pr->mu);
    pr->stop = true;
    pthread_cond_broadcast(&pr->cv);
    pthread_mutex_unlock(&pr->mu);
    for (int i = 0; i < pr->nth; i++)
        pthread_join(pr->th[i], NULL);
    for (size_t i = 0; i < pr->n; i++)
        pw_free(pr->v[i]);
    free(pr->v);
    pthread_cond_destroy(&pr->cv);
    pthread_mutex_destroy(&pr->mu);
    free(pr);
    ag->prober = NULL;
}

/* lock held */
static void drop(struct ag_prober *pr, size_t i)
{
    struct pworker *w = pr->v[i];
    if (w->busy) {
        w->dead = true; /* freed by its thread */
        return;
    }
    pr->v[i] = pr->v[--pr->n];
    pw_free(w);
}

void ag_prober_remove_pod(struct agent *ag, const char *uid)
{
    struct ag_prober *pr = ag->prober;
    if (!pr)
        return;
    pthread_mutex_lock(&pr->mu);
    for (size_t i = pr->n; i-- > 0;)
        if (!pr->v[i]->dead && !strcmp(pr->v[i]->uid, uid))
            drop(pr, i);
    pthread_mutex_unlock(&pr->mu);
}

static struct pworker *find(struct ag_prober *pr, const char *uid, const char *ctr,
                            enum ag_probe_type t)
{
    for (size_t i = 0; i < pr->n; i++) {
        struct pworker *w = pr->v[i];
        if (!w->dead && w->type == t && !strcmp(w->uid, uid) && !strcmp(w->ctr, ctr))
            return w;
    }
    return NULL;
}

/* One container (regular or restartable init) of the pod: its workers and its view. */
static void sync_container(struct ag_prober *pr, struct ag_pod *p, const json_t *pod,
                           const json_t *c, bool init, const struct ag_pod_snapshot *snap,
                           const char *ip, struct ag_probe_view *view)
{
    const char *name = k8s_jstr(c, "name");
    const struct rt_container_status *st = ag_snap_latest(snap, name);
    const char *policy = k8s_jpath_str(pod, "spec.restartPolicy");
    snprintf(view->name, sizeof(view->name), "%s", name);
    for (int t = 0; t < AG_PROBE_NTYPES; t++) {
        view->grace_s[t] = -1;
        const json_t *probe = json_object_get(c, ag_probe_field((enum ag_probe_type)t));
        if (!json_is_object(probe))
            continue;
        view->has[t] = true;
        struct pworker *w = find(pr, p->uid, name, (enum ag_probe_type)t);
        if (!w) {
            w = ck_calloc(1, sizeof(*w));
            w->uid = ck_strdup(p->uid);
            w->ns = ck_strdup(p->ns);
            w->pod = ck_strdup(p->name);
            w->ctr = ck_strdup(name);
            w->node = p->node;
            w->type = (enum ag_probe_type)t;
            w->init = init;
            ag_probe_spec_parse(probe, c, &w->spec);
            ag_probe_sm_init(&w->sm, w->type);
            w->due_ns = ck_mono_ns();
            pr->v = ck_realloc(pr->v, (pr->n + 1) * sizeof(*pr->v));
            pr->v[pr->n++] = w;
        }
        w->seen = true;
        view->grace_s[t] = w->spec.termination_grace_s;
        snprintf(w->ip, sizeof(w->ip), "%s", ip);
        w->deleting = k8s_obj_deleting(pod);
        w->restart_never = !init && !strcmp(policy, "Never");
        if (st) {
            if (strcmp(w->cid, st->id)) { /* a new instance: probe it now */
                snprintf(w->cid, sizeof(w->cid), "%s", st->id);
                ag_probe_sm_new_container(&w->sm, st->id);
                w->due_ns = ck_mono_ns();
            }
            w->running = st->state == RT_CONTAINER_RUNNING;
            w->terminated = st->state == RT_CONTAINER_EXITED;
            w->started_real_ns = st->started_ns;
            if (!w->running && w->sm.result != AG_PR_FAILURE) {
                w->sm.result = AG_PR_FAILURE; /* the container stopped */
            }
        } else {
            w->cid[0] = 0;
            w->running = w->terminated = false;
        }
        view->res[t] = st && !strcmp(w->sm.cid, st->id) ? w->sm.result : AG_PR_UNKNOWN;
    }
}

size_t ag_prober_sync_pod(struct agent *ag, struct ag_pod *p, const json_t *pod,
                          const struct ag_pod_snapshot *snap, struct ag_probe_view **views)
{
    const json_t *inits = k8s_jpath(pod, "spec.initContainers");
    const json_t *ctrs = k8s_jpath(pod, "spec.containers");
    size_t n = 0, cap = k8s_jlen(inits) + k8s_jlen(ctrs);
    struct ag_probe_view *v = ck_calloc(cap ? cap : 1, sizeof(*v));
    *views = v;
    if (ag->hollow || !ag->prober) {
        /* hollow: probes report success without running (kubemark) */
        for (size_t k = 0; k < 2; k++) {
            const json_t *list = k ? ctrs : inits;
            for (size_t i = 0; i < k8s_jlen(list); i++) {
                const json_t *c = json_array_get(list, i);
                snprintf(v[n].name, sizeof(v[n].name), "%s", k8s_jstr(c, "name"));
                for (int t = 0; t < AG_PROBE_NTYPES; t++) {
                    v[n].has[t] = json_is_object(json_object_get(c, ag_probe_field(t)));
                    v[n].res[t] = AG_PR_SUCCESS;
                    v[n].grace_s[t] = -1;
                }
                n++;
            }
        }
        return n;
    }
    struct ag_prober *pr = ag->prober;
    const struct rt_sandbox_status *sb = ag_snap_sandbox(snap);
    const char *ip = sb && sb->ip[0] ? sb->ip : "";
    if (json_is_true(k8s_jpath(pod, "spec.hostNetwork")))
        ip = p->node->host_ip;
    pthread_mutex_lock(&pr->mu);
    for (size_t i = 0; i < pr->n; i++)
        if (!strcmp(pr->v[i]->uid, p->uid))
            pr->v[i]->seen = false;
    for (size_t i = 0; i < k8s_jlen(inits); i++) {
        const json_t *c = json_array_get(inits, i);
        if (!ag_is_sidecar(c))
            continue; /* regular init containers have no probes */
        sync_container(pr, p, pod, c, true, snap, ip, &v[n++]);
    }
    for (size_t i = 0; i < k8s_jlen(ctrs); i++)
        sync_container(pr, p, pod, json_array_get(ctrs, i), false, snap, ip, &v[n++]);
    for (size_t i = pr->n; i-- > 0;)
        if (!pr->v[i]->dead && !pr->v[i]->seen && !strcmp(pr->v[i]->uid, p->uid))
            drop(pr, i);
    pthread_cond_broadcast(&pr->cv);
    pthread_mutex_unlock(&pr->mu);
    return n;
}

void ag_prober_metrics(struct agent *ag, struct ck_buf *out)
{
    static const char *const res[3] = {"successful", "failed", "unknown"};
    ck_buf_appends(out, "# HELP prober_probe_total [BETA] Cumulative number of a liveness, "
                        "readiness or startup probe for a container by result.\n"
                        "# TYPE prober_probe_total counter\n");
    struct ag_prober *pr = ag->prober;
    if (!pr)
        return;
    pthread_mutex_lock(&pr->mu);
    for (size_t i = 0; i < pr->n; i++) {
        const struct pworker *w = pr->v[i];
        if (w->dead)
            continue;
        for (int k = 0; k < 3; k++)
            ck_buf_appendf(out,
                           "prober_probe_total{container=\"%s\",namespace=\"%s\",pod=\"%s\","
                           "pod_uid=\"%s\",probe_type=\"%s\",result=\"%s\"} %ld\n",
                           w->ctr, w->ns, w->pod, w->uid, ag_probe_type_name(w->type), res[k],
                           w->total[k]);
    }
    pthread_mutex_unlock(&pr->mu);
}
