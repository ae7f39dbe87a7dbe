/* SPDX-License-Identifier: Apache-2.0 */
/* Pod workers (pod_workers.go + kubelet.go SyncPod/SyncTerminatingPod/SyncTerminatedPod) and
 * the status manager (status_manager.go). A pod is synced by one worker at a time (the work
 * queue never hands out a key that is being processed). States: SYNC (make the runtime match
 * the spec), TERMINATING (stop containers with the grace period, then the sandbox),
 * TERMINATED (report the final status; once the pod is being deleted, remove everything and
 * issue the final DELETE with grace 0 and a uid precondition). */
#include "agent/agent_int.h"
#include "image/image.h"
#include "k8s/pod.h"
#include "k8s/podres.h"
#include "k8s/util.h"
#include "lib/buf.h"
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

/* The image present, or pulled (plain HTTP for localhost registries), with upstream's events. */
static int ensure_image(struct agent *ag, struct ag_pod *p, const char *ctr, const char *image,
                        struct ck_err *err)
{
    if (!ag->images || !strncmp(image, "dir:", 4))
        return 0;
    char id[IMG_ID_MAX];
    if (img_resolve(ag->images, image, id, err) == 0) {
        ag_event(ag, p, ctr, false, "Pulled", "Container image \"%s\" already present on machine",
                 image);
        return 0;
    }
    ck_err_clear(err);
    int64_t now = ck_mono_ns();
    if (ag_backoff_in_backoff_since_update(&p->pull_backoff, image, now)) {
        ag_event(ag, p, ctr, false, "BackOff", "Back-off pulling image \"%s\"", image);
        return ck_err_set(err, CK_R_SERVICE_UNAVAILABLE,
                          "ImagePullBackOff: Back-off pulling image \"%s\"", image);
    }
    struct img_pull_opts po = {0};
    po.insecure_http = !strncmp(image, "localhost", 9) || !strncmp(image, "127.", 4);
    ag_event(ag, p, ctr, false, "Pulling", "Pulling image \"%s\"", image);
    int64_t t0 = ck_mono_ns();
    if (img_pull(ag->images, image, &po, id, err) < 0) {
        ag_event(ag, p, ctr, true, "Failed", "Failed to pull image \"%s\": %s", image, err->msg);
        ag_event(ag, p, ctr, true, "Failed", "Error: ErrImagePull");
        ag_backoff_next(&p->pull_backoff, image, now, now);
        ck_err_wrap(err, "ErrImagePull");
        return -1;
    }
    ag_event(ag, p, ctr, false, "Pulled", "Successfully pulled image \"%s\" in %.3fs", image,
             (double)(ck_mono_ns() - t0) / 1e9);
    return 0;
}

static void pod_log_dir(struct agent *ag, const json_t *pod, char *out, size_t n)
{
    snprintf(out, n, "%s/pods/%s_%s_%s", ag->root, k8s_obj_namespace(pod), k8s_obj_name(pod),
             k8s_obj_uid(pod));
}

static int start_container(struct agent *ag, struct ag_pod *p, const json_t *pod,
                           const char *sandbox_id, const json_t *c, unsigned attempt,
                           struct ck_err *err)
{
    struct runtime *rt = p->node->rt;
    const char *name = k8s_jstr(c, "name");
    const json_t *envs = json_object_get(c, "env");
    struct rt_kv *env = ck_calloc(k8s_jlen(envs) + 1, sizeof(*env));
    size_t nenv = 0;
    for (size_t i = 0; i < k8s_jlen(envs); i++) {
        json_t *e = json_array_get(envs, i);
        if (json_object_get(e, "valueFrom"))
            continue; /* not supported yet */
        env[nenv++] = (struct rt_kv){k8s_jstr(e, "name"), k8s_jstr(e, "value")};
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
    cc.env = env;
    cc.nenv = nenv;
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
    cc.labels = labels;
    cc.nlabels = 2;
    struct rt_mount *mounts;
    char **mpaths;
    cc.nmounts = (size_t)ag_volume_mounts(ag, p, c, &mounts, &mpaths);
    cc.mounts = mounts;
    char id[RT_ID_MAX];
    int rc = ensure_image(ag, p, name, cc.image, err);
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
    }
    free(cmd);
    free(args);
    free(env);
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
    struct runtime *rt;
    char id[RT_ID_MAX];
    int grace;
    pthread_t th;
    bool threaded;
};

static void *kill_one(void *arg)
{
    struct kill_job *j = arg;
    struct ck_err err = CK_ERR_INIT;
    if (j->rt->ops->stop_container(j->rt, j->id, j->grace, &err) < 0)
        ck_warn("stop container %s: %s", j->id, err.msg);
    ck_err_clear(&err);
    return NULL;
}

/* Stops the given running containers in parallel (SIGTERM, grace, SIGKILL). */
static void kill_ids(struct runtime *rt, char (*ids)[RT_ID_MAX], size_t n, int grace)
{
    struct kill_job *jobs = ck_calloc(n ? n : 1, sizeof(*jobs));
    for (size_t i = 0; i < n; i++) {
        jobs[i].rt = rt;
        snprintf(jobs[i].id, RT_ID_MAX, "%s", ids[i]);
        jobs[i].grace = grace;
        jobs[i].threaded = n > 1 && pthread_create(&jobs[i].th, NULL, kill_one, &jobs[i]) == 0;
        if (!jobs[i].threaded)
            kill_one(&jobs[i]);
    }
    for (size_t i = 0; i < n; i++)
        if (jobs[i].threaded)
            pthread_join(jobs[i].th, NULL);
    free(jobs);
}

static void kill_pod(struct agent *ag, struct ag_pod *p, const struct ag_pod_snapshot *snap,
                     int grace)
{
    struct runtime *rt = p->node->rt;
    char(*ids)[RT_ID_MAX] = ck_calloc(snap->nctr + 1, RT_ID_MAX);
    size_t n = 0;
    for (size_t i = 0; i < snap->nctr; i++)
        if (snap->ctrs[i].state == RT_CONTAINER_RUNNING ||
            snap->ctrs[i].state == RT_CONTAINER_CREATED) {
            snprintf(ids[n++], RT_ID_MAX, "%s", snap->ctrs[i].id);
            if (!p->api_gone)
                ag_event(ag, p, snap->ctrs[i].name, false, "Killing", "Stopping container %s",
                         snap->ctrs[i].name);
        }
    kill_ids(rt, ids, n, grace);
    free(ids);
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
            json_object_get(json_array_get(v, i), "secret"))
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
    return p->node->rt->ops->run_pod_sandbox(p->node->rt, &sc, id, err);
}

/* Carries out computePodActions; returns the requeue delay. */
static int64_t execute(struct agent *ag, struct ag_pod *p, const json_t *pod,
                       const struct ag_pod_snapshot *snap, const struct ag_actions *a)
{
    struct runtime *rt = p->node->rt;
    struct ck_err err = CK_ERR_INIT;
    int64_t requeue = RESYNC_NS;
    char sbid[RT_ID_MAX] = "";
    if (a->kill_pod)
        kill_pod(ag, p, snap, ag_pod_grace(pod));
    if (a->create_sandbox) {
        if (run_sandbox(ag, p, pod, a->sandbox_attempt, sbid, &err) < 0) {
            ck_warn("pod %s/%s: failed to create pod sandbox: %s", p->ns, p->name, err.msg);
            ck_err_clear(&err);
            return 2 * SEC;
        }
    } else if (ag_snap_sandbox(snap)) {
        snprintf(sbid, sizeof(sbid), "%s", ag_snap_sandbox(snap)->id);
    }
    if (a->nkill)
        kill_ids(rt, a->kill, a->nkill, ag_pod_grace(pod));
    if (!sbid[0])
        return requeue;
    int64_t now = ck_real_ns();
    for (size_t i = 0; i < a->nstart; i++) {
        const struct ag_start *s = &a->start[i];
        const json_t *c = json_array_get(
            k8s_jpath(pod, s->init ? "spec.initContainers" : "spec.containers"), (size_t)s->index);
        const char *name = k8s_jstr(c, "name");
        const struct rt_container_status *latest = ag_snap_latest(snap, name);
        if (latest && latest->state == RT_CONTAINER_EXITED && !a->create_sandbox) {
            if (ag_backoff_in_backoff_since(&p->backoff, name, latest->finished_ns, now)) {
                char d[32], msg[512];
                go_duration(ag_backoff_get(&p->backoff, name), d);
                snprintf(msg, sizeof(msg),
                         "back-off %s restarting failed container=%s pod=%s_%s(%s)", d, name,
                         p->name, p->ns, p->uid);
                set_wait(p, name, "CrashLoopBackOff", msg);
                ag_event(ag, p, name, true, "BackOff",
                         "Back-off restarting failed container %s in pod %s_%s(%s)", name, p->name,
                         p->ns, p->uid);
                int64_t left = latest->finished_ns + ag_backoff_get(&p->backoff, name) - now;
                if (left + SEC / 10 < requeue)
                    requeue = left + SEC / 10;
                continue;
            }
            ag_backoff_next(&p->backoff, name, latest->finished_ns, now);
        }
        if (start_container(ag, p, pod, sbid, c, s->attempt, &err) < 0) {
            ck_warn("pod %s/%s: container %s: %s", p->ns, p->name, name, err.msg);
            wait_from_err(p, name, &err);
            ck_err_clear(&err);
            if (requeue > 10 * SEC)
                requeue = 10 * SEC;
            continue;
        }
        prune_dead(p, snap, name, latest);
    }
    return requeue;
}

/* ---- status manager -------------------------------------------------------------------- */

/* Patches pods/status when the generated status differs from the last one sent. Returns 0,
 * or -1 to retry. */
static int sync_status(struct agent *ag, struct ag_pod *p, const json_t *pod,
                       const struct ag_pod_snapshot *snap, bool terminal)
{
    json_t *view = json_copy((json_t *)pod);
    if (p->sent)
        json_object_set(view, "status", p->sent);
    struct ag_status_input in = {
        view,     snap,        p->waits, p->nwaits, ag->runtime_name, p->node->host_ip,
        terminal, ck_real_ns()};
    json_t *st = ag_pod_status(&in);
    json_decref(view);
    const json_t *base = p->sent ? p->sent : json_object_get(pod, "status");
    if (base && json_equal(st, base)) {
        if (!p->sent)
            p->sent = st;
        else
            json_decref(st);
        return 0;
    }
    char path[1024];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s/status", p->ns, p->name);
    json_t *patch = json_pack("{s:{s:s},s:O}", "metadata", "uid", p->uid, "status", st);
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
    if (ag_runtime_snapshot(rt, uid, &snap, &err) < 0) {
        ck_warn("pod %s/%s: runtime: %s", p->ns, p->name, err.msg);
        ck_err_clear(&err);
        json_decref(pod);
        atomic_fetch_add(&ag->m.pod_sync_errors, 1);
        return SEC;
    }
    bool deleting = gone || !pod || k8s_obj_deleting(pod);
    if (p->state == AG_POD_SYNC && (deleting || k8s_pod_is_terminal(pod)))
        p->state = AG_POD_TERMINATING;
    if (p->state == AG_POD_SYNC) {
        struct ag_actions a;
        clear_waits(p);
        ag_compute_actions(pod, &snap, &a);
        if (a.terminal) {
            p->state = AG_POD_TERMINATING;
        } else if (ag_volumes_setup(ag, p, pod, &err) < 0) {
            /* upstream: the sync fails (FailedMount); containers wait in ContainerCreating */
            ck_warn("pod %s/%s: %s", p->ns, p->name, err.msg);
            ag_event(ag, p, NULL, true, "FailedMount", "%s", err.msg);
            ck_err_clear(&err);
            requeue = 2 * SEC;
        } else {
            requeue = execute(ag, p, pod, &snap, &a);
            if (has_source_volumes(ag, pod) && requeue > SOURCE_RESYNC_NS)
                requeue = SOURCE_RESYNC_NS; /* configMap/secret updates reach the pod */
        }
        ag_actions_release(&a);
        ag_snapshot_release(&snap);
        ag_runtime_snapshot(rt, uid, &snap, &err);
        ck_err_clear(&err);
    }
    if (p->state == AG_POD_TERMINATING) {
        clear_waits(p);
        kill_pod(ag, p, &snap, pod ? ag_pod_grace(pod) : 2);
        p->state = AG_POD_TERMINATED;
        ag_snapshot_release(&snap);
        ag_runtime_snapshot(rt, uid, &snap, &err);
        ck_err_clear(&err);
    }
    bool status_ok = true;
    if (pod && !gone && !p->deleted)
        status_ok = sync_status(ag, p, pod, &snap, p->state == AG_POD_TERMINATED) == 0;
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
    if (gone && p->state == AG_POD_TERMINATED) {
        ag_pod_forget(ag, p);
        return -1;
    }
    return requeue;
}
