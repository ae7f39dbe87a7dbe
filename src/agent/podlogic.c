/* SPDX-License-Identifier: Apache-2.0 */
/* Pure pod logic: actions and status (see podlogic.h). */
#include "agent/podlogic.h"
#include "k8s/pod.h"
#include "k8s/podres.h"
#include "k8s/util.h"
#include "lib/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

void ag_snapshot_release(struct ag_pod_snapshot *s)
{
    rt_sandbox_list_free(s->sbs, s->nsb);
    rt_container_list_free(s->ctrs, s->nctr);
    memset(s, 0, sizeof(*s));
}

const struct rt_sandbox_status *ag_snap_sandbox(const struct ag_pod_snapshot *s)
{
    const struct rt_sandbox_status *best = NULL;
    for (size_t i = 0; i < s->nsb; i++) {
        const struct rt_sandbox_status *c = &s->sbs[i];
        if (!best || c->attempt > best->attempt ||
            (c->attempt == best->attempt && c->created_ns > best->created_ns))
            best = c;
    }
    return best;
}

static bool newer(const struct rt_container_status *a, const struct rt_container_status *b)
{
    return a->attempt > b->attempt || (a->attempt == b->attempt && a->created_ns > b->created_ns);
}

const struct rt_container_status *ag_snap_latest(const struct ag_pod_snapshot *s, const char *name)
{
    const struct rt_container_status *best = NULL;
    for (size_t i = 0; i < s->nctr; i++)
        if (!strcmp(s->ctrs[i].name, name) && (!best || newer(&s->ctrs[i], best)))
            best = &s->ctrs[i];
    return best;
}

const struct rt_container_status *ag_snap_previous(const struct ag_pod_snapshot *s,
                                                   const char *name)
{
    const struct rt_container_status *latest = ag_snap_latest(s, name), *best = NULL;
    for (size_t i = 0; i < s->nctr; i++)
        if (&s->ctrs[i] != latest && !strcmp(s->ctrs[i].name, name) &&
            (!best || newer(&s->ctrs[i], best)))
            best = &s->ctrs[i];
    return best;
}

bool ag_should_restart(const char *policy, const struct rt_container_status *st)
{
    if (!st)
        return true;
    if (st->state == RT_CONTAINER_RUNNING)
        return false;
    if (st->state == RT_CONTAINER_UNKNOWN || st->state == RT_CONTAINER_CREATED)
        return true;
    if (!strcmp(policy, "Never"))
        return false;
    if (!strcmp(policy, "OnFailure") && st->exit_code == 0)
        return false;
    return true;
}

static const char *restart_policy(const json_t *pod)
{
    const char *p = k8s_jpath_str(pod, "spec.restartPolicy");
    return *p ? p : "Always";
}

bool ag_is_sidecar(const json_t *c)
{
    return !strcmp(k8s_jstr(c, "restartPolicy"), "Always");
}

void ag_actions_release(struct ag_actions *a)
{
    free(a->start);
    free(a->kill);
    free(a->kill_note);
    memset(a, 0, sizeof(*a));
}

static void add_start(struct ag_actions *a, int index, bool init,
                      const struct rt_container_status *st)
{
    a->start = ck_realloc(a->start, (a->nstart + 1) * sizeof(*a->start));
    a->start[a->nstart++] = (struct ag_start){index, init, st ? st->attempt + 1 : 0, false};
}

static void add_kill(struct ag_actions *a, const char *id, const char *name, int probe, bool init,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void add_kill(struct ag_actions *a, const char *id, const char *name, int probe, bool init,
                     const char *fmt, ...)
{
    for (size_t i = 0; i < a->nkill; i++)
        if (!strcmp(a->kill[i], id))
            return;
    a->kill = ck_realloc(a->kill, (a->nkill + 1) * sizeof(*a->kill));
    a->kill_note = ck_realloc(a->kill_note, (a->nkill + 1) * sizeof(*a->kill_note));
    snprintf(a->kill[a->nkill], RT_ID_MAX, "%s", id);
    struct ag_kill_note *n = &a->kill_note[a->nkill++];
    memset(n, 0, sizeof(*n));
    snprintf(n->name, sizeof(n->name), "%s", name);
    n->probe = probe;
    n->init = init;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(n->message, sizeof(n->message), fmt, ap);
        va_end(ap);
    }
}

static bool any_container_ran(const struct ag_pod_snapshot *s)
{
    return s->nctr > 0;
}

static enum ag_probe_result probe_res(const struct ag_probe_view *v, enum ag_probe_type t,
                                      bool *has)
{
    *has = v && v->has[t];
    return *has ? v->res[t] : AG_PR_UNKNOWN;
}

/* computeInitContainerActions (init containers and sidecars): walks the init containers
 * backwards to find the next one to run, queues it and any sidecar to (re)start, kills
 * sidecars failing their startup/liveness probe; returns whether the pod has initialized.
 * A regular init container failing under restartPolicy Never sets kill_pod. */
static bool init_actions(const json_t *pod, const struct ag_pod_snapshot *snap,
                         const struct ag_probe_view *pv, size_t npv, struct ag_actions *a)
{
    const json_t *inits = k8s_jpath(pod, "spec.initContainers");
    const json_t *ctrs = k8s_jpath(pod, "spec.containers");
    size_t ni = k8s_jlen(inits);
    if (!ni)
        return true;
    bool initialized = false;
    for (size_t i = 0; i < k8s_jlen(ctrs) && !initialized; i++) {
        const struct rt_container_status *st =
            ag_snap_latest(snap, k8s_jstr(json_array_get(ctrs, i), "name"));
        initialized =
            st && (st->state == RT_CONTAINER_CREATED || st->state == RT_CONTAINER_RUNNING);
    }
    bool prev = initialized; /* isPreviouslyInitialized */
    bool restart_on_failure = strcmp(restart_policy(pod), "Never") != 0;
    int *starts = ck_calloc(ni + 1, sizeof(int));
    size_t ns = 0;
    for (size_t k = ni; k-- > 0;) {
        const json_t *c = json_array_get(inits, k);
        const char *name = k8s_jstr(c, "name");
        bool sidecar = ag_is_sidecar(c);
        const struct rt_container_status *st = ag_snap_latest(snap, name);
        if (!st) {
            if (prev && sidecar)
                starts[ns++] = (int)k;
            continue;
        }
        if (prev && !sidecar)
            continue; /* after initialization only sidecars are kept running */
        const struct ag_probe_view *v = ag_probe_view_find(pv, npv, name);
        bool has;
        switch (st->state) {
        case RT_CONTAINER_CREATED:
            add_kill(a, st->id, name, -1, true, NULL);
            starts[ns++] = (int)k;
            break;
        case RT_CONTAINER_RUNNING: {
            if (!sidecar)
                break; /* wait for it to finish */
            enum ag_probe_result su = probe_res(v, AG_PROBE_STARTUP, &has);
            if (has && su != AG_PR_SUCCESS) {
                if (su == AG_PR_FAILURE) {
                    add_kill(a, st->id, name, AG_PROBE_STARTUP, true,
                             "Init container %s failed startup probe", name);
                    starts[ns++] = (int)k;
                }
                break; /* the startup probe gates the next init container */
            }
            if (k == ni - 1)
                initialized = true;
            else if (!prev)
                starts[ns++] = (int)k + 1;
            if (probe_res(v, AG_PROBE_LIVENESS, &has) == AG_PR_FAILURE && has) {
                add_kill(a, st->id, name, AG_PROBE_LIVENESS, true,
                         "Init container %s failed liveness probe", name);
                starts[ns++] = (int)k;
            }
            break;
        }
        case RT_CONTAINER_EXITED:
            if (sidecar) {
                starts[ns++] = (int)k;
            } else if (st->exit_code != 0) {
                if (!restart_on_failure) {
                    a->kill_pod = true;
                    free(starts);
                    return false;
                }
                starts[ns++] = (int)k;
            } else if (k == ni - 1) {
                initialized = true;
            } else {
                starts[ns++] = (int)k + 1;
            }
            break;
        default: /* unknown */
            if (!sidecar && !restart_on_failure) {
                a->kill_pod = true;
                free(starts);
                return false;
            }
            add_kill(a, st->id, name, -1, true,
                     "Init container is in \"Unknown\" state, try killing it");
            starts[ns++] = (int)k;
            break;
        }
        prev = true;
    }
    if (!prev)
        starts[ns++] = 0;
    for (size_t i = ns; i-- > 0;) { /* the walk was backwards: start in spec order */
        const json_t *c = json_array_get(inits, (size_t)starts[i]);
        add_start(a, starts[i], true, ag_snap_latest(snap, k8s_jstr(c, "name")));
        a->start[a->nstart - 1].sidecar = ag_is_sidecar(c);
    }
    free(starts);
    return initialized;
}

void ag_compute_actions(const json_t *pod, const struct ag_pod_snapshot *snap, struct ag_actions *a)
{
    ag_compute_actions_probed(pod, snap, NULL, 0, a);
}

void ag_compute_actions_probed(const json_t *pod, const struct ag_pod_snapshot *snap,
                               const struct ag_probe_view *pv, size_t npv, struct ag_actions *a)
{
    memset(a, 0, sizeof(*a));
    const char *policy = restart_policy(pod);
    const json_t *ctrs = k8s_jpath(pod, "spec.containers");
    const json_t *inits = k8s_jpath(pod, "spec.initContainers");
    const struct rt_sandbox_status *sb = ag_snap_sandbox(snap);
    size_t nready = 0;
    for (size_t i = 0; i < snap->nsb; i++)
        nready += snap->sbs[i].state == RT_SANDBOX_READY;
    if (!sb || sb->state != RT_SANDBOX_READY || nready > 1) {
        a->kill_pod = true;
        a->create_sandbox = true;
        a->sandbox_attempt = sb ? sb->attempt + 1 : 0;
        if (strcmp(policy, "Never") == 0 && sb && any_container_ran(snap)) {
            a->create_sandbox = false; /* the pod ran once and may not restart */
            a->terminal = true;
            return;
        }
        if (k8s_jlen(inits)) { /* a new sandbox starts the init sequence over */
            add_start(a, 0, true, ag_snap_latest(snap, k8s_jstr(json_array_get(inits, 0), "name")));
            a->start[0].sidecar = ag_is_sidecar(json_array_get(inits, 0));
            return;
        }
        for (size_t i = 0; i < k8s_jlen(ctrs); i++) {
            const struct rt_container_status *st =
                ag_snap_latest(snap, k8s_jstr(json_array_get(ctrs, i), "name"));
            if (!strcmp(policy, "OnFailure") && st && st->state == RT_CONTAINER_EXITED &&
                st->exit_code == 0)
                continue;
            add_start(a, (int)i, false, st);
        }
        return;
    }
    if (!init_actions(pod, snap, pv, npv, a)) {
        /* an init container is still pending: a failed one under Never ends the pod */
        if (a->kill_pod) {
            a->terminal = true;
            a->nstart = 0;
        }
        return;
    }
    size_t keep = 0, init_starts = a->nstart;
    bool restart = strcmp(policy, "Never") != 0;
    for (size_t i = 0; i < k8s_jlen(ctrs); i++) {
        const char *name = k8s_jstr(json_array_get(ctrs, i), "name");
        const struct rt_container_status *st = ag_snap_latest(snap, name);
        if (st && st->state == RT_CONTAINER_RUNNING) {
            const struct ag_probe_view *v = ag_probe_view_find(pv, npv, name);
            bool has;
            int probe = -1;
            if (probe_res(v, AG_PROBE_LIVENESS, &has) == AG_PR_FAILURE && has)
                probe = AG_PROBE_LIVENESS;
            else if (probe_res(v, AG_PROBE_STARTUP, &has) == AG_PR_FAILURE && has)
                probe = AG_PROBE_STARTUP;
            if (probe < 0) {
                keep++;
                continue;
            }
            add_kill(a, st->id, name, probe, false, "Container %s failed %s probe%s", name,
                     probe == AG_PROBE_LIVENESS ? "liveness" : "startup",
                     restart ? ", will be restarted" : "");
            if (restart)
                add_start(a, (int)i, false, st);
            continue;
        }
        if (ag_should_restart(policy, st)) {
            if (st && st->state != RT_CONTAINER_EXITED)
                add_kill(a, st->id, name, -1, false,
                         "Container is in \"Unknown\" state, try killing it before restart");
            add_start(a, (int)i, false, st);
        }
    }
    /* running containers that are in the spec neither as containers nor as init containers */
    for (size_t i = 0; i < snap->nctr; i++) {
        const struct rt_container_status *c = &snap->ctrs[i];
        if (c->state != RT_CONTAINER_RUNNING)
            continue;
        bool known = false;
        for (size_t j = 0; j < k8s_jlen(ctrs) && !known; j++)
            known = !strcmp(k8s_jstr(json_array_get(ctrs, j), "name"), c->name);
        for (size_t j = 0; j < k8s_jlen(inits) && !known; j++)
            known = !strcmp(k8s_jstr(json_array_get(inits, j), "name"), c->name);
        if (!known)
            add_kill(a, c->id, c->name, -1, false, NULL);
    }
    if (keep == 0 && a->nstart == init_starts) {
        /* nothing regular runs or will: sidecars must not keep the pod alive */
        a->kill_pod = true;
        a->terminal = true;
        a->nstart = 0;
    }
}

/* ---- status ---------------------------------------------------------------------------- */

void ag_time_str(int64_t real_ns, char out[32])
{
    time_t t = (time_t)(real_ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int ag_pod_grace(const json_t *pod)
{
    json_t *g = k8s_jpath(pod, "metadata.deletionGracePeriodSeconds");
    if (!json_is_integer(g))
        g = k8s_jpath(pod, "spec.terminationGracePeriodSeconds");
    long long v = json_is_integer(g) ? json_integer_value(g) : 30;
    if (v < 2)
        v = 2;
    if (v > 3600)
        v = 3600;
    return (int)v;
}

static json_t *time_json(int64_t ns)
{
    char b[32];
    ag_time_str(ns, b);
    return json_string(b);
}

static json_t *terminated_json(const struct rt_container_status *st, const char *scheme)
{
    json_t *t = json_pack("{s:i,s:s}", "exitCode", st->exit_code, "reason",
                          st->reason[0] ? st->reason : (st->exit_code ? "Error" : "Completed"));
    if (st->message[0])
        json_object_set_new(t, "message", json_string(st->message));
    json_object_set_new(t, "startedAt", st->started_ns ? time_json(st->started_ns) : json_null());
    json_object_set_new(t, "finishedAt",
                        st->finished_ns ? time_json(st->finished_ns) : json_null());
    json_object_set_new(t, "containerID", json_sprintf("%s://%s", scheme, st->id));
    return t;
}

static const struct ag_wait_reason *find_wait(const struct ag_status_input *in, const char *name)
{
    for (size_t i = 0; i < in->nwaits; i++)
        if (!strcmp(in->waits[i].name, name))
            return &in->waits[i];
    return NULL;
}

static json_t *old_container_status(const json_t *pod, const char *field, const char *name)
{
    json_t *a = k8s_jpath(pod, field);
    for (size_t i = 0; i < k8s_jlen(a); i++)
        if (!strcmp(k8s_jstr(json_array_get(a, i), "name"), name))
            return json_array_get(a, i);
    return NULL;
}

/* One v1.ContainerStatus. */
static json_t *container_status(const struct ag_status_input *in, const json_t *c,
                                const char *default_reason, bool init)
{
    const char *name = k8s_jstr(c, "name");
    const struct rt_container_status *st = ag_snap_latest(in->snap, name);
    const struct rt_container_status *prev = ag_snap_previous(in->snap, name);
    const struct ag_wait_reason *w = find_wait(in, name);
    json_t *s = json_pack("{s:s}", "name", name);
    json_t *state = json_object(), *last = json_object();
    bool running = false;
    if (!st) {
        json_t *old = old_container_status(
            in->pod, init ? "status.initContainerStatuses" : "status.containerStatuses", name);
        json_t *ot = old ? k8s_jpath(old, "state.terminated") : NULL;
        if (ot) { /* removed after it finished: keep what was reported */
            json_object_set(state, "terminated", ot);
        } else if (old && k8s_jpath(old, "state.running") && in->terminal) {
            json_object_set_new(
                state, "terminated",
                json_pack("{s:i,s:s,s:s}", "exitCode", 137, "reason", "ContainerStatusUnknown",
                          "message",
                          "The container could not be located when the pod was terminated"));
        } else {
            json_t *wj = json_pack("{s:s}", "reason", w ? w->reason : default_reason);
            if (w && w->message && *w->message)
                json_object_set_new(wj, "message", json_string(w->message));
            json_object_set_new(state, "waiting", wj);
        }
        if (old && json_object_get(old, "restartCount"))
            json_object_set(s, "restartCount", json_object_get(old, "restartCount"));
        else
            json_object_set_new(s, "restartCount", json_integer(0));
        if (old && json_object_size(json_object_get(old, "lastState")))
            json_object_set(last, "terminated", k8s_jpath(old, "lastState.terminated"));
    } else {
        json_object_set_new(s, "restartCount", json_integer(st->attempt));
        json_object_set_new(s, "containerID", json_sprintf("%s://%s", in->runtime, st->id));
        const struct rt_container_status *last_term = prev;
        if (st->state == RT_CONTAINER_RUNNING) {
            running = true;
            json_object_set_new(state, "running",
                                json_pack("{s:o}", "startedAt", time_json(st->started_ns)));
        } else if (st->state == RT_CONTAINER_EXITED && w) {
            /* waiting to restart (CrashLoopBackOff): the exited instance is lastState */
            json_t *wj = json_pack("{s:s}", "reason", w->reason);
            if (w->message && *w->message)
                json_object_set_new(wj, "message", json_string(w->message));
            json_object_set_new(state, "waiting", wj);
            last_term = st;
        } else if (st->state == RT_CONTAINER_EXITED) {
            json_object_set_new(state, "terminated", terminated_json(st, in->runtime));
        } else {
            json_object_set_new(state, "waiting",
                                json_pack("{s:s}", "reason", "ContainerCreating"));
        }
        if (last_term && last_term->state == RT_CONTAINER_EXITED)
            json_object_set_new(last, "terminated", terminated_json(last_term, in->runtime));
    }
    json_object_set_new(s, "state", state);
    json_object_set_new(s, "lastState", last);
    /* prober manager UpdatePodStatus: started/ready from the startup/readiness results; a
     * regular init container is ready once it succeeded */
    const struct ag_probe_view *pv = ag_probe_view_find(in->probes, in->nprobes, name);
    bool ready;
    if (init && !ag_is_sidecar(c))
        ready = st && st->state == RT_CONTAINER_EXITED && st->exit_code == 0 && !w;
    else
        ready = ag_probe_view_ready(pv, running);
    json_object_set_new(s, "ready", json_boolean(ready));
    json_object_set_new(s, "started", json_boolean(ag_probe_view_started(pv, running)));
    json_object_set_new(s, "image", json_string(k8s_jstr(c, "image")));
    json_object_set_new(s, "imageID", json_string(st ? st->image_id : ""));
    if (!st && !json_object_get(s, "containerID")) {
        json_t *old = old_container_status(
            in->pod, init ? "status.initContainerStatuses" : "status.containerStatuses", name);
        if (old && json_object_get(old, "containerID"))
            json_object_set(s, "containerID", json_object_get(old, "containerID"));
    }
    return s;
}

static int cmp_status_name(const void *a, const void *b)
{
    return strcmp(k8s_jstr(*(json_t *const *)a, "name"), k8s_jstr(*(json_t *const *)b, "name"));
}

static json_t *statuses_of(const struct ag_status_input *in, const char *field, bool init,
                           const char *default_reason, bool sort)
{
    const json_t *cs = k8s_jpath(in->pod, field);
    size_t n = k8s_jlen(cs);
    json_t **v = ck_calloc(n ? n : 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = container_status(in, json_array_get(cs, i), default_reason, init);
    if (sort)
        qsort(v, n, sizeof(*v), cmp_status_name); /* upstream sorts containerStatuses by name */
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, v[i]);
    free(v);
    return a;
}

static json_t *find_status(const json_t *a, const char *name)
{
    for (size_t i = 0; i < k8s_jlen(a); i++)
        if (!strcmp(k8s_jstr(json_array_get(a, i), "name"), name))
            return json_array_get(a, i);
    return NULL;
}

/* HasAnyActiveRegularContainerStarted: a regular container runs */
static bool any_regular_running(const json_t *spec, const json_t *statuses)
{
    const json_t *ctrs = json_object_get(spec, "containers");
    for (size_t i = 0; i < k8s_jlen(ctrs); i++) {
        json_t *s = find_status(statuses, k8s_jstr(json_array_get(ctrs, i), "name"));
        if (s && k8s_jpath(s, "state.running"))
            return true;
    }
    return false;
}

const char *ag_pod_phase(const json_t *spec, const json_t *init_statuses, const json_t *statuses,
                         bool terminal)
{
    const char *policy = k8s_jstr(spec, "restartPolicy");
    if (!*policy)
        policy = "Always";
    int pending_init = 0, failed_init = 0, pending_sidecar = 0;
    int unknown = 0, running = 0, waiting = 0, stopped = 0, succeeded = 0;
    const json_t *inits = json_object_get(spec, "initContainers");
    for (size_t i = 0; i < k8s_jlen(inits); i++) {
        const json_t *c = json_array_get(inits, i);
        json_t *s = find_status(init_statuses, k8s_jstr(c, "name"));
        json_t *term = s ? k8s_jpath(s, "state.terminated") : NULL;
        json_t *lastterm = s ? k8s_jpath(s, "lastState.terminated") : NULL;
        if (ag_is_sidecar(c)) { /* restartable init containers */
            if (!s) {
                unknown++;
            } else if (k8s_jpath(s, "state.running")) {
                if (!json_is_true(json_object_get(s, "started")))
                    pending_sidecar++;
                running++;
            } else if (term) {
                /* a terminated sidecar is ignored */
            } else if (k8s_jpath(s, "state.waiting")) {
                if (!lastterm)
                    pending_sidecar++;
            } else {
                pending_sidecar++;
            }
            continue;
        }
        if (!s || k8s_jpath(s, "state.running"))
            pending_init++;
        else if (term)
            failed_init += json_integer_value(json_object_get(term, "exitCode")) != 0;
        else if (k8s_jpath(s, "state.waiting") && lastterm)
            failed_init += json_integer_value(json_object_get(lastterm, "exitCode")) != 0;
        else
            pending_init++;
    }
    const json_t *ctrs = json_object_get(spec, "containers");
    for (size_t i = 0; i < k8s_jlen(ctrs); i++) {
        json_t *s = find_status(statuses, k8s_jstr(json_array_get(ctrs, i), "name"));
        json_t *term = s ? k8s_jpath(s, "state.terminated") : NULL;
        if (!s)
            unknown++;
        else if (k8s_jpath(s, "state.running"))
            running++;
        else if (term) {
            stopped++;
            succeeded += json_integer_value(json_object_get(term, "exitCode")) == 0;
        } else if (k8s_jpath(s, "state.waiting")) {
            if (k8s_jpath(s, "lastState.terminated"))
                stopped++;
            else
                waiting++;
        } else
            unknown++;
    }
    if (failed_init > 0 && !strcmp(policy, "Never"))
        return "Failed";
    if (pending_init > 0 || (pending_sidecar > 0 && !any_regular_running(spec, statuses)) ||
        waiting > 0)
        return "Pending";
    if (running > 0 && unknown == 0)
        return "Running";
    if (running == 0 && stopped > 0 && unknown == 0) {
        if (terminal)
            return stopped == succeeded ? "Succeeded" : "Failed";
        if (!strcmp(policy, "Always"))
            return "Running";
        if (stopped == succeeded)
            return "Succeeded";
        if (!strcmp(policy, "Never"))
            return "Failed";
        return "Running";
    }
    return "Pending";
}

/* "[a b c]" as Go prints a []string. */
static void go_list(struct ck_buf *b, const char *prefix, char **names, size_t n)
{
    if (!n)
        return;
    if (b->len)
        ck_buf_appends(b, ", ");
    ck_buf_appendf(b, "%s [", prefix);
    for (size_t i = 0; i < n; i++)
        ck_buf_appendf(b, "%s%s", i ? " " : "", names[i]);
    ck_buf_appends(b, "]");
}

static void set_cond(json_t *status, const char *type, bool ok, const char *reason,
                     const char *message, const char *now)
{
    json_t *c =
        json_pack("{s:s,s:s,s:n}", "type", type, "status", ok ? "True" : "False", "lastProbeTime");
    if (reason && *reason)
        json_object_set_new(c, "reason", json_string(reason));
    if (message && *message)
        json_object_set_new(c, "message", json_string(message));
    json_t *holder = json_pack("{s:O}", "status", status);
    k8s_pod_update_condition(holder, c, now);
    json_decref(c);
    json_decref(holder);
}

/* Initialized / ContainersReady / Ready, as upstream's Generate*Condition. */
static void readiness_conditions(json_t *st, const json_t *spec, const char *phase, const char *now)
{
    json_t *is = json_object_get(st, "initContainerStatuses");
    json_t *cs = json_object_get(st, "containerStatuses");
    const json_t *inits = json_object_get(spec, "initContainers");
    const json_t *ctrs = json_object_get(spec, "containers");
    size_t ni = k8s_jlen(inits), nc = k8s_jlen(ctrs);
    char **incomplete = ck_calloc(ni + 1, sizeof(char *));
    char **unready = ck_calloc(nc + ni + 1, sizeof(char *));
    size_t nin = 0, nun = 0;
    for (size_t i = 0; i < ni; i++) {
        const json_t *c = json_array_get(inits, i);
        const char *name = k8s_jstr(c, "name");
        json_t *s = find_status(is, name);
        if (ag_is_sidecar(c)) {
            /* a sidecar is initialized once started; it counts in ContainersReady */
            if (!s || !json_is_true(json_object_get(s, "started")))
                incomplete[nin++] = (char *)name;
            if (!s || !json_is_true(json_object_get(s, "ready")))
                unready[nun++] = (char *)name;
            continue;
        }
        json_t *t = s ? k8s_jpath(s, "state.terminated") : NULL;
        if (!t || json_integer_value(json_object_get(t, "exitCode")) != 0)
            incomplete[nin++] = (char *)name;
    }
    bool regular_started = false;
    for (size_t i = 0; i < nc; i++) {
        const char *name = k8s_jstr(json_array_get(ctrs, i), "name");
        json_t *s = find_status(cs, name);
        if (!s || !json_is_true(json_object_get(s, "ready")))
            unready[nun++] = (char *)name;
        if (s && (json_is_true(json_object_get(s, "started")) || k8s_jpath(s, "state.terminated") ||
                  k8s_jpath(s, "lastState.terminated")))
            regular_started = true;
    }
    struct ck_buf m = CK_BUF_INIT(1 << 16);
    if (ni == 0 || regular_started || !nin) {
        set_cond(st, "Initialized", true, !strcmp(phase, "Succeeded") && ni ? "PodCompleted" : NULL,
                 NULL, now);
    } else {
        go_list(&m, "containers with incomplete status:", incomplete, nin);
        set_cond(st, "Initialized", false, "ContainersNotInitialized", m.data, now);
    }
    ck_buf_reset(&m);
    const char *reason = "ContainersNotReady";
    if (!strcmp(phase, "Succeeded"))
        reason = "PodCompleted";
    else if (!strcmp(phase, "Failed"))
        reason = "PodFailed";
    else
        go_list(&m, "containers with unready status:", unready, nun);
    bool ready = nun == 0 && strcmp(phase, "Succeeded") && strcmp(phase, "Failed");
    set_cond(st, "ContainersReady", ready, ready ? NULL : reason, ready ? NULL : m.data, now);
    if (ready) {
        /* generatePodReadinessGatesCondition: every gate's condition must be True */
        ck_buf_reset(&m);
        const json_t *gates = json_object_get(spec, "readinessGates");
        for (size_t i = 0; i < k8s_jlen(gates); i++) {
            const char *t = k8s_jstr(json_array_get(gates, i), "conditionType");
            json_t *c = k8s_condition_get(st, t, NULL);
            if (m.len && (!c || strcmp(k8s_jstr(c, "status"), "True")))
                ck_buf_appends(&m, ", ");
            if (!c)
                ck_buf_appendf(&m,
                               "corresponding condition of pod readiness gate \"%s\" does not "
                               "exist.",
                               t);
            else if (strcmp(k8s_jstr(c, "status"), "True"))
                ck_buf_appendf(&m,
                               "the status of pod readiness gate \"%s\" is not \"True\", but %s", t,
                               k8s_jstr(c, "status"));
        }
        if (m.len)
            set_cond(st, "Ready", false, "ReadinessGatesNotReady", m.data, now);
        else
            set_cond(st, "Ready", true, NULL, NULL, now);
    } else {
        set_cond(st, "Ready", false, reason, m.data, now);
    }
    ck_buf_release(&m);
    free(incomplete);
    free(unready);
}

bool ag_condition_kubelet_owned(const char *type)
{
    static const char *const own[] = {"PodReadyToStartContainers", "Initialized", "Ready",
                                      "ContainersReady", "PodScheduled"};
    for (size_t i = 0; i < sizeof(own) / sizeof(*own); i++)
        if (!strcmp(type, own[i]))
            return true;
    return false;
}

json_t *ag_pod_status(const struct ag_status_input *in)
{
    const json_t *spec = json_object_get(in->pod, "spec");
    json_t *old = json_object_get(in->pod, "status");
    char now[32];
    ag_time_str(in->now_real_ns, now);
    bool has_init = k8s_jlen(json_object_get(spec, "initContainers")) > 0;
    json_t *st = json_object();
    const char *dflt = has_init ? "PodInitializing" : "ContainerCreating";
    json_t *is = statuses_of(in, "spec.initContainers", true, "PodInitializing", false);
    json_t *cs = statuses_of(in, "spec.containers", false, dflt, true);
    const char *old_phase = k8s_jstr(old, "phase");
    const char *phase = ag_pod_phase(spec, is, cs, in->terminal);
    if (!strcmp(old_phase, "Succeeded") || !strcmp(old_phase, "Failed"))
        phase = old_phase; /* a terminal phase is final */
    json_object_set_new(st, "phase", json_string(phase));
    /* conditions: keep the old ones (for their transition times), in upstream's order */
    json_t *conds = json_array();
    static const char *const order[] = {"PodReadyToStartContainers", "Initialized", "Ready",
                                        "ContainersReady", "PodScheduled"};
    json_t *oc = json_object_get(old, "conditions");
    for (size_t k = 0; k < sizeof(order) / sizeof(*order); k++) {
        json_t *c = k8s_condition_get(old, order[k], NULL);
        if (c)
            json_array_append(conds, c);
    }
    for (size_t i = 0; i < k8s_jlen(oc); i++) {
        json_t *c = json_array_get(oc, i);
        if (!ag_condition_kubelet_owned(k8s_jstr(c, "type")))
            json_array_append(conds, c);
    }
    json_object_set_new(st, "conditions", conds);
    json_object_set_new(st, "initContainerStatuses", is);
    json_object_set_new(st, "containerStatuses", cs);
    const struct rt_sandbox_status *sb = ag_snap_sandbox(in->snap);
    bool sb_ready = sb && sb->state == RT_SANDBOX_READY;
    set_cond(st, "PodReadyToStartContainers", sb_ready, NULL, NULL, now);
    readiness_conditions(st, spec, phase, now);
    set_cond(st, "PodScheduled", true, NULL, NULL, now);
    /* upstream's order: the kubelet-owned ones first, as generated */
    json_t *sorted = json_array();
    json_t *cur = json_object_get(st, "conditions");
    for (size_t k = 0; k < sizeof(order) / sizeof(*order); k++)
        for (size_t i = 0; i < k8s_jlen(cur); i++)
            if (!strcmp(k8s_jstr(json_array_get(cur, i), "type"), order[k]))
                json_array_append(sorted, json_array_get(cur, i));
    for (size_t i = 0; i < k8s_jlen(cur); i++)
        if (!ag_condition_kubelet_owned(k8s_jstr(json_array_get(cur, i), "type")))
            json_array_append(sorted, json_array_get(cur, i));
    json_object_set_new(st, "conditions", sorted);
    if (!has_init)
        json_object_del(st, "initContainerStatuses");
    if (in->host_ip && *in->host_ip) {
        json_object_set_new(st, "hostIP", json_string(in->host_ip));
        json_object_set_new(st, "hostIPs", json_pack("[{s:s}]", "ip", in->host_ip));
    }
    const char *ip = sb && sb->ip[0] ? sb->ip : NULL;
    if (!ip && k8s_jpath(in->pod, "spec.hostNetwork") &&
        json_is_true(k8s_jpath(in->pod, "spec.hostNetwork")))
        ip = in->host_ip;
    if (!ip && *k8s_jstr(old, "podIP")) /* keep the last IP once the sandbox is gone */
        ip = k8s_jstr(old, "podIP");
    if (ip && *ip) {
        json_object_set_new(st, "podIP", json_string(ip));
        json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", ip));
    }
    const char *start = k8s_jstr(old, "startTime");
    json_object_set_new(st, "startTime", json_string(*start ? start : now));
    json_object_set_new(st, "qosClass", json_string(k8s_pod_compute_qos(in->pod)));
    return st;
}
