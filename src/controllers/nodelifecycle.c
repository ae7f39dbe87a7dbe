/* SPDX-License-Identifier: Apache-2.0 */
/* The node lifecycle controller (pkg/controller/nodelifecycle) with its NoExecute taint
 * manager (pkg/controller/tainteviction):
 * - every 5 s (node-monitor-period) each Node's last sign of life is the newer of its Lease's
 *   renewTime (kube-node-lease) and its Ready condition's lastHeartbeatTime; silent for longer
 *   than the grace period (--node-monitor-grace-period, 40 s) its Ready, MemoryPressure,
 *   DiskPressure and PIDPressure conditions become Unknown ("NodeStatusUnknown", "Kubelet
 *   stopped posting node status.") and its pods lose Ready;
 * - the node carries node.kubernetes.io/unreachable (Ready Unknown) or
 *   node.kubernetes.io/not-ready (Ready False) with effects NoSchedule and NoExecute, removed
 *   once Ready is True again;
 * - pods on a node with NoExecute taints they do not tolerate are deleted at once; pods that
 *   tolerate them for tolerationSeconds (the API server adds 300 s for these two taints) are
 *   deleted when that time has passed since the taint was added; pods that tolerate them for
 *   ever stay. */
#include "ckube/indexer.h"
#include "controllers/cm.h"
#include "k8s/pod.h"
#include "k8s/taints.h"
#include "k8s/util.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

#define MONITOR_NS (5LL * 1000000000LL)
#define TAINT_UNREACHABLE "node.kubernetes.io/unreachable"
#define TAINT_NOT_READY "node.kubernetes.io/not-ready"
#define NODE_INDEX "nodelifecycle-node"

struct nlc {
    struct cm *cm;
    struct ck_informer *nodes, *leases;
    struct wq *q; /* node names */
    struct cm_workers w;
    pthread_t ticker;
    bool ticking;
};

static void index_node(const json_t *obj, ck_index_emit_fn emit, void *ctx)
{
    const char *n = k8s_pod_node_name(obj);
    if (*n)
        emit(ctx, n);
}

static int64_t time_of(const json_t *obj, const char *path)
{
    time_t t;
    const char *s = k8s_jpath_str(obj, path);
    /* Lease renewTime is RFC 3339 with microseconds: the seconds are enough here */
    char buf[32];
    snprintf(buf, sizeof(buf), "%.19sZ", s);
    return *s && ck_time_parse_rfc3339(strlen(s) > 19 ? buf : s, &t) == 0 ? (int64_t)t : 0;
}

/* The node's last sign of life (wall-clock seconds; 0: none). */
static int64_t last_seen(struct nlc *c, const json_t *node)
{
    int64_t t = 0;
    json_t *ready = k8s_condition_get(json_object_get(node, "status"), "Ready", NULL);
    if (ready)
        t = time_of(ready, "lastHeartbeatTime");
    char *key = ck_asprintf("kube-node-lease/%s", k8s_obj_name(node));
    json_t *lease = ck_indexer_get(ck_informer_indexer(c->leases), key);
    free(key);
    int64_t lt = lease ? time_of(lease, "spec.renewTime") : 0;
    json_decref(lease);
    if (lt > t)
        t = lt;
    return t ? t : time_of(node, "metadata.creationTimestamp"); /* never heard of yet */
}

/* The Ready condition's status, "" when the node has none yet. */
static const char *ready_status(const json_t *node)
{
    json_t *ready = k8s_condition_get(json_object_get(node, "status"), "Ready", NULL);
    return ready ? k8s_jpath_str(ready, "status") : "";
}

/* Ready and the pressure conditions to Unknown (a JSON merge patch of status.conditions). */
static void mark_unknown(struct nlc *c, const json_t *node)
{
    static const char *const types[] = {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"};
    char now[32];
    cm_now(now);
    json_t *conds = json_deep_copy(k8s_jpath(node, "status.conditions"));
    if (!json_is_array(conds)) {
        json_decref(conds);
        conds = json_array();
    }
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        int at = -1;
        json_t *st = json_pack("{s:O}", "conditions", conds);
        k8s_condition_get(st, types[i], &at);
        json_decref(st);
        json_t *cd = at >= 0 ? json_array_get(conds, (size_t)at) : NULL;
        if (cd && !strcmp(k8s_jpath_str(cd, "status"), "Unknown"))
            continue;
        if (!cd) {
            cd = json_pack("{s:s,s:s}", "type", types[i], "lastHeartbeatTime", now);
            json_array_append_new(conds, cd);
        }
        json_object_set_new(cd, "status", json_string("Unknown"));
        json_object_set_new(cd, "reason", json_string("NodeStatusUnknown"));
        json_object_set_new(cd, "message", json_string("Kubelet stopped posting node status."));
        json_object_set_new(cd, "lastTransitionTime", json_string(now));
    }
    char *path = ck_asprintf("/api/v1/nodes/%s/status", k8s_obj_name(node));
    json_t *patch = json_pack("{s:{s:o}}", "status", "conditions", conds);
    struct ck_err err = CK_ERR_INIT;
    if (ck_client_patch_json(c->cm->client, path, "application/strategic-merge-patch+json", patch,
                             NULL, &err) < 0)
        ck_v(1, "node %s: status: %s", k8s_obj_name(node), err.msg);
    else
        ck_info("node %s: no status for a grace period: conditions Unknown", k8s_obj_name(node));
    json_decref(patch);
    free(path);
}

/* Ready=False on each of the node's pods (MarkPodsNotReady). */
static void pods_not_ready(struct nlc *c, const json_t *node)
{
    json_t *pods =
        ck_indexer_by_index(ck_informer_indexer(c->cm->pods), NODE_INDEX, k8s_obj_name(node));
    size_t i;
    json_t *p;
    char now[32];
    cm_now(now);
    json_array_foreach(pods, i, p)
    {
        if (!k8s_pod_is_ready(p) || k8s_pod_is_terminal(p))
            continue;
        char *path = ck_asprintf("/api/v1/namespaces/%s/pods/%s/status", k8s_obj_namespace(p),
                                 k8s_obj_name(p));
        json_t *patch = json_pack("{s:{s:[{s:s,s:s,s:s}]}}", "status", "conditions", "type",
                                  "Ready", "status", "False", "lastTransitionTime", now);
        struct ck_err err = CK_ERR_INIT;
        if (ck_client_patch_json(c->cm->client, path, "application/strategic-merge-patch+json",
                                 patch, NULL, &err) < 0)
            ck_v(2, "pod %s: not ready: %s", path, err.msg);
        json_decref(patch);
        free(path);
    }
    json_decref(pods);
}

static bool is_ours(const json_t *t)
{
    const char *k = k8s_jpath_str(t, "key");
    return !strcmp(k, TAINT_UNREACHABLE) || !strcmp(k, TAINT_NOT_READY);
}

/* The node's taints with ours set for the Ready status (new array); *changed when they
 * differ from the node's. Existing taints of ours keep their timeAdded. */
static json_t *wanted_taints(const json_t *node, bool *changed)
{
    const char *ready = ready_status(node);
    const char *want = !*ready || !strcmp(ready, "True") ? NULL /* none yet: after the grace */
                       : !strcmp(ready, "False")         ? TAINT_NOT_READY
                                                         : TAINT_UNREACHABLE;
    json_t *have = k8s_jpath(node, "spec.taints");
    json_t *out = json_array();
    size_t i;
    json_t *t;
    int kept = 0;
    *changed = false;
    json_array_foreach(have, i, t)
    {
        if (!is_ours(t)) {
            json_array_append(out, t);
        } else if (want && !strcmp(k8s_jpath_str(t, "key"), want)) {
            json_array_append(out, t);
            kept++;
        } else {
            *changed = true;
        }
    }
    if (want && kept < 2) {
        char now[32];
        cm_now(now);
        static const char *const effects[] = {"NoSchedule", "NoExecute"};
        for (int e = 0; e < 2; e++) {
            bool present = false;
            json_array_foreach(out, i, t)
            {
                present = present || (!strcmp(k8s_jpath_str(t, "key"), want) &&
                                      !strcmp(k8s_jpath_str(t, "effect"), effects[e]));
            }
            if (present)
                continue;
            json_t *nt = json_pack("{s:s,s:s}", "key", want, "effect", effects[e]);
            if (e == 1)
                json_object_set_new(nt, "timeAdded", json_string(now));
            json_array_append_new(out, nt);
            *changed = true;
        }
    }
    return out;
}

static int write_taints(struct nlc *c, const json_t *node, json_t *taints)
{
    bool has_spec = json_is_object(json_object_get(node, "spec"));
    json_t *value = has_spec ? json_incref(taints) : json_pack("{s:O}", "taints", taints);
    json_t *patch = json_pack("[{s:s,s:s,s:s},{s:s,s:s,s:o}]", "op", "test", "path",
                              "/metadata/resourceVersion", "value",
                              k8s_jpath_str(node, "metadata.resourceVersion"), "op", "add", "path",
                              has_spec ? "/spec/taints" : "/spec", "value", value);
    char *path = ck_asprintf("/api/v1/nodes/%s", k8s_obj_name(node));
    struct ck_err err = CK_ERR_INIT;
    int rc =
        ck_client_patch_json(c->cm->client, path, "application/json-patch+json", patch, NULL, &err);
    if (rc < 0)
        ck_v(1, "node %s: taints: %s", k8s_obj_name(node), err.msg);
    json_decref(patch);
    free(path);
    return rc;
}

/* When the pod must go because of the node's NoExecute taints (wall-clock seconds): 0 now,
 * INT64_MAX never. */
static int64_t eviction_time(const json_t *pod, const json_t *taints)
{
    int64_t when = INT64_MAX;
    const json_t *tols = k8s_jpath(pod, "spec.tolerations");
    size_t i, j;
    json_t *t, *tol;
    json_array_foreach(taints, i, t)
    {
        if (strcmp(k8s_jpath_str(t, "effect"), "NoExecute"))
            continue;
        int64_t best = -1; /* the longest toleration; -1: none tolerates */
        json_array_foreach(tols, j, tol)
        {
            if (!k8s_toleration_tolerates(tol, t, false))
                continue;
            json_t *secs = json_object_get(tol, "tolerationSeconds");
            int64_t s = json_is_integer(secs) ? json_integer_value(secs) : INT64_MAX;
            if (s > best)
                best = s;
        }
        if (best < 0)
            return 0;
        if (best == INT64_MAX)
            continue;
        int64_t added = time_of(t, "timeAdded");
        int64_t at = best + added;
        if (at < when)
            when = at;
    }
    return when;
}

/* Deletes the pods whose time has come; returns seconds until the next one is due (0: none). */
static int64_t evict(struct nlc *c, const json_t *node, int64_t now)
{
    const json_t *taints = k8s_jpath(node, "spec.taints");
    bool any = false;
    size_t i;
    json_t *t;
    json_array_foreach(taints, i, t)
    {
        any = any || !strcmp(k8s_jpath_str(t, "effect"), "NoExecute");
    }
    if (!any)
        return 0;
    json_t *pods =
        ck_indexer_by_index(ck_informer_indexer(c->cm->pods), NODE_INDEX, k8s_obj_name(node));
    int64_t next = 0;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        if (k8s_obj_deleting(p))
            continue;
        int64_t at = eviction_time(p, taints);
        if (at == INT64_MAX)
            continue;
        if (at > now) {
            if (!next || at - now < next)
                next = at - now;
            continue;
        }
        char *path =
            ck_asprintf("/api/v1/namespaces/%s/pods/%s", k8s_obj_namespace(p), k8s_obj_name(p));
        struct ck_err err = CK_ERR_INIT;
        if (ck_client_delete(c->cm->client, path, &err) < 0 && err.reason != CK_R_NOT_FOUND)
            ck_v(1, "taint eviction of %s: %s", path, err.msg);
        else
            ck_info("node %s: deleted pod %s/%s (NoExecute taint)", k8s_obj_name(node),
                    k8s_obj_namespace(p), k8s_obj_name(p));
        free(path);
    }
    json_decref(pods);
    return next;
}

static int sync_node(void *arg, const char *name)
{
    struct nlc *c = arg;
    json_t *node = ck_indexer_get(ck_informer_indexer(c->nodes), name);
    if (!node)
        return 0;
    int64_t now = (int64_t)time(NULL), seen = last_seen(c, node);
    int64_t grace = c->cm->node_grace_s > 0 ? c->cm->node_grace_s : 40;
    if (seen && now - seen > grace && strcmp(ready_status(node), "Unknown")) {
        mark_unknown(c, node);
        pods_not_ready(c, node);
        json_decref(node);
        return 0; /* the status update brings the node back with Ready Unknown */
    }
    bool changed;
    json_t *taints = wanted_taints(node, &changed);
    int rc = 0;
    if (changed) {
        rc = write_taints(c, node, taints); /* the update brings the node back */
    } else {
        int64_t next = evict(c, node, now);
        if (next > 0)
            wq_add_after(c->q, name, next * 1000000000LL);
    }
    json_decref(taints);
    json_decref(node);
    return rc;
}

static void *tick_main(void *arg)
{
    struct nlc *c = arg;
    while (!*c->cm->stop && !wq_shutting_down(c->q)) {
        json_t *all = ck_indexer_list(ck_informer_indexer(c->nodes));
        size_t i;
        json_t *n;
        json_array_foreach(all, i, n)
        {
            wq_add(c->q, k8s_obj_name(n));
        }
        json_decref(all);
        for (int k = 0; k < 50 && !*c->cm->stop && !wq_shutting_down(c->q); k++)
            nanosleep(&(struct timespec){0, MONITOR_NS / 50}, NULL);
    }
    return NULL;
}

static void node_changed(void *arg, json_t *obj)
{
    wq_add(((struct nlc *)arg)->q, k8s_obj_name(obj));
}

static void node_updated(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    node_changed(arg, obj);
}

static void node_gone(void *arg, json_t *obj)
{
    (void)arg;
    (void)obj;
}

/* A new pod on a tainted node may not tolerate the taint. */
static void pod_added(void *arg, json_t *obj)
{
    const char *n = k8s_pod_node_name(obj);
    if (*n)
        wq_add(((struct nlc *)arg)->q, n);
}

static void pod_updated(void *arg, json_t *old, json_t *obj)
{
    if (!old || strcmp(k8s_pod_node_name(old), k8s_pod_node_name(obj)) ||
        !json_equal(k8s_jpath(old, "spec.tolerations"), k8s_jpath(obj, "spec.tolerations")))
        pod_added(arg, obj);
}

static int nl_init(struct cm *cm, void **state)
{
    struct nlc *c = ck_calloc(1, sizeof(*c));
    c->cm = cm;
    c->nodes = ck_informer_factory_get(cm->factory, "/api/v1/nodes");
    c->leases = ck_informer_factory_get(
        cm->factory, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases");
    c->q = wq_new(&(struct wq_opts){.name = "node_lifecycle_controller"});
    ck_indexer_add_index(ck_informer_indexer(cm->pods), NODE_INDEX, index_node);
    ck_informer_add_handlers(
        c->nodes, &(struct ck_informer_handlers){node_changed, node_updated, node_gone, c});
    ck_informer_add_handlers(cm->pods,
                             &(struct ck_informer_handlers){pod_added, pod_updated, NULL, c});
    *state = c;
    return 0;
}

static void nl_run(void *state)
{
    struct nlc *c = state;
    c->w = (struct cm_workers){.q = c->q, .sync = sync_node, .arg = c, .ctrl = &cm_nodelifecycle};
    cm_workers_start(&c->w, c->cm->workers);
    c->ticking = pthread_create(&c->ticker, NULL, tick_main, c) == 0;
}

static void nl_stop(void *state)
{
    struct nlc *c = state;
    wq_shutdown(c->q);
    if (c->ticking)
        pthread_join(c->ticker, NULL);
    cm_workers_join(&c->w);
}

static void nl_free(void *state)
{
    struct nlc *c = state;
    wq_free(c->q);
    free(c);
}

struct cm_controller cm_nodelifecycle = {.name = "nodelifecycle",
                                         .alias = "node-lifecycle-controller",
                                         .init = nl_init,
                                         .run = nl_run,
                                         .stop = nl_stop,
                                         .free = nl_free};
