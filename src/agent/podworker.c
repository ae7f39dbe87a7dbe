/* SPDX-License-Identifier: Apache-2.0 */
/* Pod workers (pod_workers.go + kubelet.go SyncPod/SyncTerminatingPod/SyncTerminatedPod) and
 * the status manager (status_manager.go). A pod is synced by one worker at a time (the work
 * queue never hands out a key that is being processed). States: SYNC (make the runtime match
 * the spec), TERMINATING (stop containers with the grace period, then the sandbox),
 * TERMINATED (report the final status; once the pod is being deleted, remove everything and
 * issue the final DELETE with grace 0 and a uid precondition). Each sync refreshes the pod's
 * probe workers (prober.c) and acts on their results: liveness/startup failures kill and
 * restart, readiness/startup drive ready/started. Containers start with their postStart hook
 * (a failure kills them) and stop with their preStop hook inside the grace period; sidecars
 * stop after the regular containers. */
#include "agent/agent_int.h"
#include "agent/hooks.h"
#include "agent/images.h"
#include "agent/prober.h"
#include "image/image.h"
#include "k8s/pod.h"
#include "k8s/podres.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/base64.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/banned.h"

#define SEC 1000000000LL
#define RESYNC_NS (30 * SEC)
#define POSTSTART_MAX_S 300 /* upstream runs postStart without a timeout; bound it anyway */

/* ---- runtime snapshot ------------------------------------------------------------------ */

int ag_runtime_snapshot(struct runtime *rt, const char *uid, struct ag_pod_snapshot *s,
                        struct ck_err *err)
{
    memset(s, 0, sizeof(*s));
    struct rt_sandbox_status *sbs = NULL;
    struct rt_container_status *cs = NULL;
    size_t nsb = 0, nc = 0, k = 0;
    if (rt->ops->list_pod_sandboxes(rt, &sbs, &nsb, err) < 0)
        return -1;
    for (size_t i = 0; i < nsb; i++) {
        if (!strcmp(sbs[i].uid, uid))
            sbs[k++] = sbs[i];
        else
            rt_sandbox_status_release(&sbs[i]);
    }
    s->sbs = sbs;
    s->nsb = k;
    if (!k)
        return 0;
    if (rt->ops->list_containers(rt, NULL, &cs, &nc, err) < 0) {
        ag_snapshot_release(s);
        return -1;
    }
    size_t kc = 0;
    for (size_t i = 0; i < nc; i++) {
        bool mine = false;
        for (size_t j = 0; j < k && !mine; j++)
            mine = !strcmp(cs[i].sandbox_id, sbs[j].id);
        if (mine)
            cs[kc++] = cs[i];
        else
            rt_container_status_release(&cs[i]);
    }
    s->ctrs = cs;
    s->nctr = kc;
    return 0;
}

/* ---- waiting reasons ------------------------------------------------------------------- */

static void clear_waits(struct ag_pod *p)
{
    for (size_t i = 0; i < p->nwaits; i++) {
        free((char *)p->waits[i].name);
        free((char *)p->waits[i].reason);
        free((char *)p->waits[i].message);
    }
    free(p->waits);
    p->waits = NULL;
    p->nwaits = 0;
}

static void set_wait(struct ag_pod *p, const char *name, const char *reason, const char *msg)
{
    p->waits = ck_realloc(p->waits, (p->nwaits + 1) * sizeof(*p->waits));
    p->waits[p->nwaits++] =
        (struct ag_wait_reason){ck_strdup(name), ck_strdup(reason), ck_strdup(msg ? msg : "")};
}

/* Go's time.Duration String() for whole seconds: "10s", "1m20s", "5m0s". */
static void go_duration(int64_t ns, char out[32])
{
    long long s = ns / SEC;
    if (s < 60)
        snprintf(out, 32, "%llds", s);
    else
        snprintf(out, 32, "%lldm%llds", s / 60, s % 60);
}

/* ---- starting containers --------------------------------------------------------------- */

static const char **str_array(const json_t *a)
{
    if (!json_is_array(a))
        return NULL;
    const char **v = ck_calloc(json_array_size(a) + 1, sizeof(*v));
    for (size_t i = 0; i < json_array_size(a); i++)
        v[i] =
            json_string_value(json_array_get(a, i)) ? json_string_value(json_array_get(a, i)) : "";
    return v;
}

static int64_t qty_milli(const json_t *list, const char *name)
{
    struct k8s_quantity q;
    json_t *v = json_object_get(list, name);
    return v && k8s_quantity_from_json(v, &q) == 0 ? k8s_quantity_milli(&q) : 0;
}

static void pod_log_dir(struct agent *ag, const json_t *pod, char *out, size_t n)
{
    snprintf(out, n, "%s/pods/%s_%s_%s", ag->root, k8s_obj_namespace(pod), k8s_obj_name(pod),
             k8s_obj_uid(pod));
}

static void kill_one_container(struct agent *ag, struct ag_pod *p, const json_t *pod,
                               const char *id, const char *name, const char *ip,
                               const char *message, int grace);

/* Step 4 of startContainer: the postStart hook; on failure the container is killed. */
static int post_start(struct agent *ag, struct ag_pod *p, const json_t *pod, const json_t *c,
                      const char *id, const char *ip, struct ck_err *err)
{
    const json_t *h = k8s_jpath(c, "lifecycle.postStart");
    if (!json_is_object(h) || ag->hollow)
        return 0;
    char msg[2048];
    const char *name = k8s_jstr(c, "name");
    if (ag_hook_run(p->node->rt, id, pod, c, h, ip, POSTSTART_MAX_S, msg, sizeof(msg)) == 0)
        return 0;
    ck_warn("pod %s/%s: %s", p->ns, p->name, msg);
    ag_event(ag, p, name, true, "FailedPostStartHook", "%s", msg);
    kill_one_container(ag, p, pod, id, name, ip, "FailedPostStartHook", ag_pod_grace(pod));
    return ck_err_set(err, CK_R_INTERNAL, "PostStartHookError: %s", msg);
}

static int start_container(struct agent *ag, struct ag_pod *p, const json_t *pod,
                           const char *sandbox_id, const char *ip, const json_t *c,
                           unsigned attempt, struct ck_err *err)
{
    struct runtime *rt = p->node->rt;
    const char *name = k8s_jstr(c, "name");
    struct ag_env env; /* nodevol: env.c */
    if (ag_env_build(ag, p, pod, c, sandbox_id, &env, err) < 0) {
        ag_event(ag, p, name, true, "Failed", "Error: %s", err->msg);
        return ck_err_wrap(err, "CreateContainerConfigError");
    }
    struct rt_kv labels[2] = {{AG_LABEL_POD_UID, p->uid}, {AG_LABEL_CONTAINER_NAME, name}};
    const json_t *lim = k8s_jpath(c, "resources.limits");
    const json_t *req = k8s_jpath(c, "resources.requests");
    struct rt_container_config cc = {0};
    cc.name = name;
    cc.attempt = attempt;
    cc.image = k8s_jstr(c, "image");
    const char **cmd = str_array(json_object_get(c, "command"));
    const char **args = str_array(json_object_get(c, "args"));
    cc.command = cmd;
    cc.args = args;
    cc.env = env.v;
    cc.nenv = env.n;
    cc.working_dir = *k8s_jstr(c, "workingDir") ? k8s_jstr(c, "workingDir") : NULL;
    int64_t cpu_req = qty_milli(req, "cpu"), cpu_lim = qty_milli(lim, "cpu");
    if (!cpu_req)
        cpu_req = cpu_lim;
    cc.resources.cpu_shares = cpu_req ? (cpu_req * 1024 / 1000 < 2 ? 2 : cpu_req * 1024 / 1000) : 2;
    if (cpu_lim) {
        cc.resources.cpu_period = 100000;
        cc.resources.cpu_quota = cpu_lim * 100000 / 1000 < 1000 ? 1000 : cpu_lim * 100;
    }
    cc.resources.memory_limit = qty_milli(lim, "memory") / 1000;
    char logp[PATH_MAX] = "";
    if (!ag->hollow) {
        char dir[PATH_MAX - 64];
        pod_log_dir(ag, pod, dir, sizeof(dir));
        snprintf(logp, sizeof(logp), "%s/%s", dir, name);
        mkdir(dir, 0755);
        mkdir(logp, 0755);
        snprintf(logp, sizeof(logp), "%s/%s/%u.log", dir, name, attempt);
        cc.log_path = logp;
    }
    json_t *sc = json_object_get(c, "securityContext");
    json_t *ru = json_object_get(sc, "runAsUser");
    if (!ru)
        ru = k8s_jpath(pod, "spec.securityContext.runAsUser");
    cc.run_as_user = json_is_integer(ru) ? json_integer_value(ru) : -1;
    cc.privileged = json_is_true(json_object_get(sc, "privileged"));
    cc.stdin_ = json_is_true(json_object_get(c, "stdin")); /* stream: attach -i */
    cc.labels = labels;
    cc.nlabels = 2;
    struct rt_mount *mounts;
    char **mpaths;
    cc.nmounts = (size_t)ag_volume_mounts(ag, p, c, &mounts, &mpaths);
    cc.mounts = mounts;
    char id[RT_ID_MAX];
    int rc = ag_image_ensure(ag, p, pod, c, name, cc.image, err); /* images.c */
    if (rc < 0) {
        /* err reads "ErrImagePull: ..." or "ImagePullBackOff: ..." */
    } else if (rt->ops->create_container(rt, sandbox_id, &cc, id, err) < 0) {
        ag_event(ag, p, name, true, "Failed", "Error: %s", err->msg);
        ck_err_wrap(err, "CreateContainerError");
        rc = -1;
    } else if (ag_event(ag, p, name, false, "Created", "Created container %s", name),
               rt->ops->start_container(rt, id, err) < 0) {
        ag_event(ag, p, name, true, "Failed", "Error: %s", err->msg);
        ck_err_wrap(err, "RunContainerError");
        struct ck_err e2 = CK_ERR_INIT;
        rt->ops->remove_container(rt, id, &e2);
        ck_err_clear(&e2);
        rc = -1;
    } else {
        atomic_fetch_add(&ag->m.containers_started, 1);
        ag_event(ag, p, name, false, "Started", "Started container %s", name);
        ck_v(2, "pod %s/%s: started container %s (attempt %u)", p->ns, p->name, name, attempt);
        rc = post_start(ag, p, pod, c, id, ip, err);
    }
    free(cmd);
    free(args);
    ag_env_release(&env);
    for (size_t i = 0; mpaths[i]; i++)
        free(mpaths[i]);
    free(mpaths);
    free(mounts);
    return rc;
}

/* The error text "Reason: message" made by ck_err_wrap above -> reason and message. */
static void wait_from_err(struct ag_pod *p, const char *name, const struct ck_err *err)
{
    char reason[64] = "CreateContainerError";
    const char *msg = err->msg;
    const char *colon = strstr(err->msg, ": ");
    if (colon && (size_t)(colon - err->msg) < sizeof(reason)) {
        snprintf(reason, sizeof(reason), "%.*s", (int)(colon - err->msg), err->msg);
        msg = colon + 2;
    }
    set_wait(p, name, reason, msg);
}

/* ---- stopping -------------------------------------------------------------------------- */

struct kill_job {
    struct agent *ag;
    struct ag_pod *p;
    const json_t *pod;  /* may be NULL (an orphan) */
    const json_t *spec; /* the container's spec, NULL when unknown */
    bool init;
    const char *ip;
    char id[RT_ID_MAX];
    char name[256];
    int grace;
    pthread_t th;
    bool threaded;
};

/* The container named name in the pod's spec (init: among the init containers), or NULL. */
static const json_t *container_spec(const json_t *pod, const char *name, bool *init)
{
    static const char *const lists[] = {"spec.containers", "spec.initContainers"};
    for (int k = 0; k < 2; k++) {
        const json_t *l = k8s_jpath(pod, lists[k]);
        for (size_t i = 0; i < k8s_jlen(l); i++)
            if (!strcmp(k8s_jstr(json_array_get(l, i), "name"), name)) {
                if (init)
                    *init = k == 1;
                return json_array_get(l, i);
            }
    }
    return NULL;
}

/* killContainer: the preStop hook inside the grace period, then SIGTERM and SIGKILL once the
 * rest of the grace period (at least 2 s) has passed. */
static void *kill_one(void *arg)
{
    struct kill_job *j = arg;
    struct runtime *rt = j->p->node->rt;
    int grace = j->grace;
    const json_t *pre = j->spec ? k8s_jpath(j->spec, "lifecycle.preStop") : NULL;
    if (json_is_object(pre) && grace > 0 && !j->ag->hollow) {
        int64_t t0 = ck_mono_ns();
        char msg[2048];
        if (ag_hook_run(rt, j->id, j->pod, j->spec, pre, j->ip, grace, msg, sizeof(msg)) < 0) {
            ck_warn("pod %s/%s: preStop of %s: %s", j->p->ns, j->p->name, j->name, msg);
            /* upstream keeps the message out of the event so that secrets do not leak */
            ag_event_obj(j->ag, j->p->node, j->p->ns, j->p->name, j->p->uid, j->name, j->init, true,
                         "FailedPreStopHook", "PreStopHook failed");
        }
        grace -= (int)((ck_mono_ns() - t0) / SEC);
    }
    if (grace < 2)
        grace = 2; /* minimumGracePeriodInSeconds */
    struct ck_err err = CK_ERR_INIT;
    if (rt->ops->stop_container(rt, j->id, grace, &err) < 0)
        ck_warn("stop container %s: %s", j->id, err.msg);
    ck_err_clear(&err);
    return NULL;
}

/* Runs the kill jobs in parallel and waits for them. */
static void run_kills(struct kill_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        jobs[i].threaded = n > 1 && pthread_create(&jobs[i].th, NULL, kill_one, &jobs[i]) == 0;
        if (!jobs[i].threaded)
            kill_one(&jobs[i]);
    }
    for (size_t i = 0; i < n; i++)
        if (jobs[i].threaded)
            pthread_join(jobs[i].th, NULL);
}

static void job_init(struct kill_job *j, struct agent *ag, struct ag_pod *p, const json_t *pod,
                     const char *id, const char *name, const char *ip, int grace)
{
    memset(j, 0, sizeof(*j));
    j->ag = ag;
    j->p = p;
    j->pod = pod;
    j->spec = pod ? container_spec(pod, name, &j->init) : NULL;
    j->ip = ip;
    snprintf(j->id, sizeof(j->id), "%s", id);
    snprintf(j->name, sizeof(j->name), "%s", name);
    j->grace = grace;
}

static void kill_one_container(struct agent *ag, struct ag_pod *p, const json_t *pod,
                               const char *id, const char *name, const char *ip,
                               const char *message, int grace)
{
    struct kill_job j;
    job_init(&j, ag, p, pod, id, name, ip, grace);
    ag_event(ag, p, name, false, "Killing", "%s", message);
    kill_one(&j);
}

static const char *snap_ip(const struct ag_pod_snapshot *snap)
{
    const struct rt_sandbox_status *sb = ag_snap_sandbox(snap);
    return sb ? sb->ip : "";
}

/* killContainersWithSyncResult: regular containers (and running init containers) in parallel,
 * then the sidecars one by one in reverse spec order with what is left of the grace period;
 * then the sandboxes. */
static void kill_pod(struct agent *ag, struct ag_pod *p, const json_t *pod,
                     const struct ag_pod_snapshot *snap, int grace)
{
    struct runtime *rt = p->node->rt;
    struct kill_job *jobs = ck_calloc(snap->nctr + 1, sizeof(*jobs));
    size_t n = 0;
    const char *ip = snap_ip(snap);
    int64_t t0 = ck_mono_ns();
    const json_t *inits = pod ? k8s_jpath(pod, "spec.initContainers") : NULL;
    for (size_t i = 0; i < snap->nctr; i++) {
        const struct rt_container_status *c = &snap->ctrs[i];
        if (c->state != RT_CONTAINER_RUNNING && c->state != RT_CONTAINER_CREATED)
            continue;
        bool init = false;
        const json_t *spec = pod ? container_spec(pod, c->name, &init) : NULL;
        if (spec && init && ag_is_sidecar(spec))
            continue; /* after the regular containers */
        if (!p->api_gone)
            ag_event(ag, p, c->name, false, "Killing", "Stopping container %s", c->name);
        job_init(&jobs[n++], ag, p, pod, c->id, c->name, ip, grace);
    }
    run_kills(jobs, n);
    for (size_t k = k8s_jlen(inits); k-- > 0;) {
        const json_t *spec = json_array_get(inits, k);
        if (!ag_is_sidecar(spec))
            continue;
        const char *name = k8s_jstr(spec, "name");
        for (size_t i = 0; i < snap->nctr; i++) {
            const struct rt_container_status *c = &snap->ctrs[i];
            if (strcmp(c->name, name) ||
                (c->state != RT_CONTAINER_RUNNING && c->state != RT_CONTAINER_CREATED))
                continue;
            int left = grace - (int)((ck_mono_ns() - t0) / SEC);
            if (!p->api_gone)
                ag_event(ag, p, c->name, false, "Killing", "Stopping container %s", c->name);
            struct kill_job j;
            job_init(&j, ag, p, pod, c->id, c->name, ip, left < 2 ? 2 : left);
            kill_one(&j);
        }
    }
    free(jobs);
    for (size_t i = 0; i < snap->nsb; i++) {
        if (snap->sbs[i].state != RT_SANDBOX_READY)
            continue;
        struct ck_err err = CK_ERR_INIT;
        if (rt->ops->stop_pod_sandbox(rt, snap->sbs[i].id, &err) < 0)
            ck_warn("pod %s/%s: stop sandbox: %s", p->ns, p->name, err.msg);
        ck_err_clear(&err);
    }
}

static void remove_all(struct agent *ag, struct ag_pod *p, const struct ag_pod_snapshot *snap)
{
    struct runtime *rt = p->node->rt;
    struct ck_err err = CK_ERR_INIT;
    for (size_t i = 0; i < snap->nctr; i++) {
        if (rt->ops->remove_container(rt, snap->ctrs[i].id, &err) < 0)
            ck_warn("pod %s/%s: remove container: %s", p->ns, p->name, err.msg);
        ck_err_clear(&err);
    }
    for (size_t i = 0; i < snap->nsb; i++) {
        if (rt->ops->remove_pod_sandbox(rt, snap->sbs[i].id, &err) < 0)
            ck_warn("pod %s/%s: remove sandbox: %s", p->ns, p->name, err.msg);
        ck_err_clear(&err);
    }
    ag_volumes_teardown(ag, p);
}

/* Removes dead instances of name older than keep (upstream keeps one dead instance per
 * container for lastState and logs). */
static void prune_dead(struct ag_pod *p, const struct ag_pod_snapshot *snap, const char *name,
                       const struct rt_container_status *keep)
{
    struct runtime *rt = p->node->rt;
    for (size_t i = 0; i < snap->nctr; i++) {
        const struct rt_container_status *c = &snap->ctrs[i];
        if (c == keep || strcmp(c->name, name) || c->state != RT_CONTAINER_EXITED)
            continue;
        struct ck_err err = CK_ERR_INIT;
        rt->ops->remove_container(rt, c->id, &err);
        ck_err_clear(&err);
    }
}

/* Pods with configMap/secret volumes are resynced more often so that updates of their sources
 * reach the running containers (upstream: the sync period plus the manager's cache TTL). */
#define SOURCE_RESYNC_NS (10 * SEC)
static bool has_source_volumes(const struct agent *ag, const json_t *pod)
{
    const json_t *v = k8s_jpath(pod, "spec.volumes");
    for (size_t i = 0; i < k8s_jlen(v) && !ag->hollow; i++)
        if (json_object_get(json_array_get(v, i), "configMap") ||
            json_object_get(json_array_get(v, i), "secret") ||
            json_object_get(json_array_get(v, i), "projected")) /* satoken: token refresh */
            return true;
    return false;
}

/* ---- SyncPod --------------------------------------------------------------------------- */

static int run_sandbox(struct agent *ag, struct ag_pod *p, const json_t *pod, unsigned attempt,
                       char id[RT_ID_MAX], struct ck_err *err)
{
    char logdir[PATH_MAX];
    pod_log_dir(ag, pod, logdir, sizeof(logdir));
    if (!ag->hollow)
        mkdir(logdir, 0755);
    struct rt_kv labels[3] = {{AG_LABEL_POD_UID, p->uid},
                              {"io.kubernetes.pod.name", p->name},
                              {"io.kubernetes.pod.namespace", p->ns}};
    struct rt_sandbox_config sc = {0};
    sc.name = p->name;
    sc.namespace_ = p->ns;
    sc.uid = p->uid;
    sc.attempt = attempt;
    sc.hostname =
        *k8s_jpath_str(pod, "spec.hostname") ? k8s_jpath_str(pod, "spec.hostname") : p->name;
    sc.log_directory = ag->hollow ? NULL : logdir;
    sc.labels = labels;
    sc.nlabels = 3;
    sc.host_network = json_is_true(k8s_jpath(pod, "spec.hostNetwork"));
    struct ag_dns_conf *dc = ag_dns_sandbox(ag, p, pod, &sc); /* resolv.conf */
    int rc = p->node->rt->ops->run_pod_sandbox(p->node->rt, &sc, id, err);
    ag_dns_sandbox_done(dc);
    return rc;
}

/* Carries out computePodActions; returns the requeue delay. */
static int64_t execute(struct agent *ag, struct ag_pod *p, const json_t *pod,
                       const struct ag_pod_snapshot *snap, const struct ag_actions *a,
                       const struct ag_probe_view *pv, size_t npv)
{
    struct ck_err err = CK_ERR_INIT;
    int64_t requeue = RESYNC_NS;
    char sbid[RT_ID_MAX] = "";
    if (a->kill_pod)
        kill_pod(ag, p, pod, snap, ag_pod_grace(pod));
    if (a->create_sandbox) {
        if (run_sandbox(ag, p, pod, a->sandbox_attempt, sbid, &err) < 0) {
            ck_warn("pod %s/%s: failed to create pod sandbox: %s", p->ns, p->name, err.msg);
            ck_err_clear(&err);
            return 2 * SEC;
        }
    } else if (ag_snap_sandbox(snap)) {
        snprintf(sbid, sizeof(sbid), "%s", ag_snap_sandbox(snap)->id);
    }
    if (a->nkill) {
        struct kill_job *jobs = ck_calloc(a->nkill, sizeof(*jobs));
        for (size_t i = 0; i < a->nkill; i++) {
            const struct ag_kill_note *kn = &a->kill_note[i];
            int grace = ag_pod_grace(pod);
            const struct ag_probe_view *v = ag_probe_view_find(pv, npv, kn->name);
            if (kn->probe >= 0 && v && v->grace_s[kn->probe] >= 0)
                grace = (int)(v->grace_s[kn->probe] > 3600 ? 3600 : v->grace_s[kn->probe]);
            if (kn->message[0])
                ag_event(ag, p, kn->name, false, "Killing", "%s", kn->message);
            else
                ag_event(ag, p, kn->name, false, "Killing", "Stopping container %s", kn->name);
            job_init(&jobs[i], ag, p, pod, a->kill[i], kn->name, snap_ip(snap), grace);
        }
        run_kills(jobs, a->nkill);
        free(jobs);
    }
    if (!sbid[0])
        return requeue;
    struct rt_sandbox_status sbst;
    char ip[64] = "";
    if (a->create_sandbox &&
        p->node->rt->ops->pod_sandbox_status(p->node->rt, sbid, &sbst, &err) == 0) {
        snprintf(ip, sizeof(ip), "%s", sbst.ip);
        rt_sandbox_status_release(&sbst);
    } else {
        snprintf(ip, sizeof(ip), "%s", snap_ip(snap));
    }
    ck_err_clear(&err);
    int64_t now = ck_real_ns();
    for (size_t i = 0; i < a->nstart; i++) {
        const struct ag_start *s = &a->start[i];
        const json_t *c = json_array_get(
            k8s_jpath(pod, s->init ? "spec.initContainers" : "spec.containers"), (size_t)s->index);
        const char *name = k8s_jstr(c, "name");
        const struct rt_container_status *latest = ag_snap_latest(snap, name);
        /* doBackOff: the newest exited instance (the previous one when the latest was just
         * killed, e.g. after a failed liveness probe) */
        const struct rt_container_status *ex = latest;
        if (ex && ex->state != RT_CONTAINER_EXITED) {
            ex = ag_snap_previous(snap, name);
            if (ex && ex->state != RT_CONTAINER_EXITED)
                ex = NULL;
        }
        if (ex && !a->create_sandbox) {
            if (ag_backoff_in_backoff_since(&p->backoff, name, ex->finished_ns, now)) {
                char d[32], msg[512];
                go_duration(ag_backoff_get(&p->backoff, name), d);
                snprintf(msg, sizeof(msg),
                         "back-off %s restarting failed container=%s pod=%s_%s(%s)", d, name,
                         p->name, p->ns, p->uid);
                set_wait(p, name, "CrashLoopBackOff", msg);
                ag_event(ag, p, name, true, "BackOff",
                         "Back-off restarting failed container %s in pod %s_%s(%s)", name, p->name,
                         p->ns, p->uid);
                int64_t left = ex->finished_ns + ag_backoff_get(&p->backoff, name) - now;
                if (left + SEC / 10 < requeue)
                    requeue = left + SEC / 10;
                continue;
            }
            ag_backoff_next(&p->backoff, name, ex->finished_ns, now);
        }
        if (start_container(ag, p, pod, sbid, ip, c, s->attempt, &err) < 0) {
            ck_warn("pod %s/%s: container %s: %s", p->ns, p->name, name, err.msg);
            wait_from_err(p, name, &err);
            ck_err_clear(&err);
            if (requeue > 10 * SEC)
                requeue = 10 * SEC;
            if (s->init && !s->sidecar)
                break; /* a regular init container failed: nothing after it starts */
            continue;
        }
        prune_dead(p, snap, name, latest);
    }
    return requeue;
}

/* ---- lifecycle metrics ----------------------------------------------------------------- */

/* kubelet_pod_start_duration_seconds: upstream's buckets */
static const double start_buckets[AG_POD_START_BUCKETS] = {
    0.5, 1,   2,   3,   4,   5,   6,   8,   10,   20,   30,   45,  60,
    120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600};

/* Once per pod: the time from its first sync to the first status going Pending -> Running. */
static void observe_start(struct agent *ag, struct ag_pod *p, const char *old_phase,
                          const char *phase)
{
    if (p->start_observed || strcmp(phase, "Running"))
        return;
    p->start_observed = true;
    if (*old_phase && strcmp(old_phase, "Pending"))
        return; /* adopted after an agent restart: it was running already */
    ag_lifecycle_observe_start(ag, (double)(ck_mono_ns() - p->first_seen_ns) / 1e9);
}

void ag_lifecycle_observe_start(struct agent *ag, double sec)
{
    size_t i = 0;
    while (i < AG_POD_START_BUCKETS && sec > start_buckets[i])
        i++;
    if (i < AG_POD_START_BUCKETS)
        atomic_fetch_add(&ag->lm.pod_start_bucket[i], 1);
    atomic_fetch_add(&ag->lm.pod_start_count, 1);
    atomic_fetch_add(&ag->lm.pod_start_sum_us, (long long)(sec * 1e6));
}

void ag_lifecycle_metrics(struct agent *ag, struct ck_buf *out)
{
    const char *m = "kubelet_pod_start_duration_seconds";
    ck_buf_appendf(out,
                   "# HELP %s [ALPHA] Duration in seconds from kubelet seeing a pod for the first "
                   "time to the pod starting to run\n# TYPE %s histogram\n",
                   m, m);
    long cum = 0;
    for (size_t i = 0; i < AG_POD_START_BUCKETS; i++) {
        cum += atomic_load(&ag->lm.pod_start_bucket[i]);
        ck_buf_appendf(out, "%s_bucket{le=\"%g\"} %ld\n", m, start_buckets[i], cum);
    }
    long n = atomic_load(&ag->lm.pod_start_count);
    ck_buf_appendf(out, "%s_bucket{le=\"+Inf\"} %ld\n%s_sum %.6f\n%s_count %ld\n", m, n, m,
                   (double)atomic_load(&ag->lm.pod_start_sum_us) / 1e6, m, n);
    ag_prober_metrics(ag, out);
}

/* ---- status manager -------------------------------------------------------------------- */

/* Patches pods/status when the generated status differs from the last one sent. Returns 0,
 * or -1 to retry. */
static int sync_status(struct agent *ag, struct ag_pod *p, const json_t *pod,
                       const struct ag_pod_snapshot *snap, bool terminal,
                       const struct ag_probe_view *pv, size_t npv)
{
    const char *api_uid = ag_pod_status_uid(ag, p); /* nodevol: a static pod's mirror */
    if (!api_uid)
        return 0;
    json_t *view = json_copy((json_t *)pod);
    if (p->sent) {
        /* our last status, with the conditions other writers own (readiness gates,
         * DisruptionTarget, ...) as the API has them now (mergePodStatus) */
        json_t *vs = json_copy(p->sent), *conds = json_array();
        const json_t *mine = json_object_get(p->sent, "conditions");
        const json_t *api = k8s_jpath(pod, "status.conditions");
        for (size_t i = 0; i < k8s_jlen(mine); i++)
            if (ag_condition_kubelet_owned(k8s_jstr(json_array_get(mine, i), "type")))
                json_array_append(conds, json_array_get(mine, i));
        for (size_t i = 0; i < k8s_jlen(api); i++)
            if (!ag_condition_kubelet_owned(k8s_jstr(json_array_get(api, i), "type")))
                json_array_append(conds, json_array_get(api, i));
        json_object_set_new(vs, "conditions", conds);
        json_object_set_new(view, "status", vs);
    }
    struct ag_status_input in = {
        view,     snap,         p->waits, p->nwaits, ag->runtime_name, p->node->host_ip,
        terminal, ck_real_ns(), pv,       npv};
    json_t *st = ag_pod_status(&in);
    ag_evict_status(ag, p, st); /* nodevol: an evicted pod */
    json_decref(view);
    const json_t *base = p->sent ? p->sent : json_object_get(pod, "status");
    observe_start(ag, p, k8s_jstr(base, "phase"), k8s_jstr(st, "phase"));
    if (base && json_equal(st, base)) {
        if (!p->sent)
            p->sent = st;
        else
            json_decref(st);
        return 0;
    }
    char path[1024];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s/status", p->ns, p->name);
    json_t *patch = json_pack("{s:{s:s},s:O}", "metadata", "uid", api_uid, "status", st);
    struct ck_err err = CK_ERR_INIT;
    int rc =
        ck_client_patch_json(ag->client, path, "application/merge-patch+json", patch, NULL, &err);
    json_decref(patch);
    if (rc < 0) {
        atomic_fetch_add(&ag->m.status_patch_errors, 1);
        ck_v(1, "pod %s/%s: failed to update status: %s", p->ns, p->name, err.msg);
        ck_err_clear(&err);
        json_decref(st);
        return -1;
    }
    atomic_fetch_add(&ag->m.status_patches, 1);
    ck_v(3, "pod %s/%s: status phase %s", p->ns, p->name, k8s_jstr(st, "phase"));
    json_decref(p->sent);
    p->sent = st;
    return 0;
}

/* The status manager's final DELETE (grace 0, uid precondition) once the pod is terminated. */
static int final_delete(struct agent *ag, struct ag_pod *p)
{
    char path[1024];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", p->ns, p->name);
    json_t *body = json_pack("{s:s,s:s,s:i,s:{s:s}}", "apiVersion", "v1", "kind", "DeleteOptions",
                             "gracePeriodSeconds", 0, "preconditions", "uid", p->uid);
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    struct ck_err err = CK_ERR_INIT;
    int rc = ck_client_do(ag->client, "DELETE", path, "application/json", s, strlen(s), NULL, &err);
    free(s);
    if (rc < 0 && (err.reason == CK_R_NOT_FOUND || err.reason == CK_R_CONFLICT))
        rc = 0; /* gone already, or a new pod with the same name */
    if (rc < 0)
        ck_warn("pod %s/%s: final delete: %s", p->ns, p->name, err.msg);
    ck_err_clear(&err);
    if (rc == 0) {
        p->deleted = true;
        atomic_fetch_add(&ag->m.final_deletes, 1);
        ck_v(2, "pod %s/%s: deleted", p->ns, p->name);
    }
    return rc;
}

int64_t ag_pod_sync(struct agent *ag, const char *uid)
{
    struct ag_pod *p = ag_pod_get(ag, uid);
    if (!p)
        return 0;
    pthread_mutex_lock(&ag->mu);
    json_t *pod = json_incref(p->pod);
    bool gone = p->api_gone;
    pthread_mutex_unlock(&ag->mu);
    struct runtime *rt = p->node->rt;
    struct ag_pod_snapshot snap;
    struct ck_err err = CK_ERR_INIT;
    int64_t requeue = RESYNC_NS;
    atomic_fetch_add(&ag->m.pod_syncs, 1);
    if (!p->first_seen_ns)
        p->first_seen_ns = ck_mono_ns();
    struct ag_probe_view *pv = NULL;
    size_t npv = 0;
    if (ag_runtime_snapshot(rt, uid, &snap, &err) < 0) {
        ck_warn("pod %s/%s: runtime: %s", p->ns, p->name, err.msg);
        ck_err_clear(&err);
        json_decref(pod);
        atomic_fetch_add(&ag->m.pod_sync_errors, 1);
        return SEC;
    }
    bool deleting = gone || !pod || k8s_obj_deleting(pod);
    if (p->state == AG_POD_SYNC &&
        (deleting || k8s_pod_is_terminal(pod) || ag_evict_pending(ag, p) /* nodevol */))
        p->state = AG_POD_TERMINATING;
    if (p->state == AG_POD_SYNC) {
        struct ag_actions a;
        clear_waits(p);
        npv = ag_prober_sync_pod(ag, p, pod, &snap, &pv);
        ag_compute_actions_probed(pod, &snap, pv, npv, &a);
        if (a.terminal) {
            p->state = AG_POD_TERMINATING;
        } else if (ag_volumes_setup(ag, p, pod, &err) < 0) {
            /* upstream: the sync fails (FailedMount); containers wait in ContainerCreating */
            ck_warn("pod %s/%s: %s", p->ns, p->name, err.msg);
            ag_event(ag, p, NULL, true, "FailedMount", "%s", err.msg);
            ck_err_clear(&err);
            requeue = 2 * SEC;
        } else {
            requeue = execute(ag, p, pod, &snap, &a, pv, npv);
            if (has_source_volumes(ag, pod) && requeue > SOURCE_RESYNC_NS)
                requeue = SOURCE_RESYNC_NS; /* configMap/secret updates reach the pod */
        }
        ag_actions_release(&a);
        ag_snapshot_release(&snap);
        ag_runtime_snapshot(rt, uid, &snap, &err);
        ck_err_clear(&err);
        free(pv);
        pv = NULL;
        npv = p->state == AG_POD_SYNC ? ag_prober_sync_pod(ag, p, pod, &snap, &pv) : 0;
    }
    if (p->state == AG_POD_TERMINATING) {
        clear_waits(p);
        ag_prober_remove_pod(ag, uid);
        /* nodevol: an evicted pod gets the hard-eviction grace period */
        kill_pod(ag, p, pod, &snap, pod ? ag_evict_grace(ag, p, ag_pod_grace(pod)) : 2);
        p->state = AG_POD_TERMINATED;
        ag_snapshot_release(&snap);
        ag_runtime_snapshot(rt, uid, &snap, &err);
        ck_err_clear(&err);
    }
    bool status_ok = true;
    if (pod && !gone && !p->deleted)
        status_ok = sync_status(ag, p, pod, &snap, p->state == AG_POD_TERMINATED, pv, npv) == 0;
    if (!status_ok)
        requeue = SEC;
    if (p->state == AG_POD_TERMINATED) {
        requeue = 0; /* nothing more to do until the pod is deleted */
        if (deleting) {
            remove_all(ag, p, &snap);
            if (!gone && !p->deleted && status_ok && final_delete(ag, p) < 0)
                requeue = SEC;
            else if (!gone)
                requeue = 5 * SEC; /* until the informer reports the deletion */
        }
    }
    ag_snapshot_release(&snap);
    json_decref(pod);
    free(pv);
    if (gone && p->state == AG_POD_TERMINATED) {
        ag_prober_remove_pod(ag, uid);
        ag_pod_forget(ag, p);
        return -1;
    }
    return requeue;
}
