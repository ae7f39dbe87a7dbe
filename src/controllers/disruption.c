/* SPDX-License-Identifier: Apache-2.0 */
/* The disruption controller (pkg/controller/disruption/disruption.go): keeps each
 * PodDisruptionBudget's status current so that the API server's pods/eviction can decide.
 * - expectedPods: the number of selected pods (minAvailable as an integer), or the sum of
 *   spec.replicas of their controllers (maxUnavailable, or minAvailable as a percentage): a
 *   ReplicaSet owned by a Deployment counts the Deployment, a ReplicationController or a
 *   StatefulSet itself; a pod with no such controller makes the sync fail (SyncFailed).
 * - desiredHealthy: minAvailable (rounded up for a percentage), or expected - maxUnavailable
 *   (rounded up too).
 * - currentHealthy: selected pods that are Ready, not being deleted and not in
 *   disruptedPods (evictions the API server granted and not yet seen as deletions).
 * - disruptionsAllowed = max(0, currentHealthy - desiredHealthy); the DisruptionAllowed
 *   condition (SufficientPods / InsufficientPods / SyncFailed).
 * disruptedPods entries older than 2 minutes (upstream's DeletionTimeout) are dropped, and the
 * PDB is looked at again when the oldest one expires. */
#include "ckube/indexer.h"
#include "controllers/cm.h"
#include "controllers/dputil.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/selector.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

#define DELETION_TIMEOUT_S 120
#define NS_INDEX "disruption-namespace"

struct dc {
    struct cm *cm;
    struct ck_informer *pdbs, *sts;
    struct wq *q;
    struct cm_workers w;
};

static void index_ns(const json_t *obj, ck_index_emit_fn emit, void *ctx)
{
    const char *ns = k8s_jpath_str(obj, "metadata.namespace");
    if (*ns)
        emit(ctx, ns);
}

static const char *ns_of(const json_t *o)
{
    return k8s_jpath_str(o, "metadata.namespace");
}

/* The controller reference of obj, or NULL. */
static const json_t *controller_ref(const json_t *obj)
{
    size_t i;
    json_t *r;
    json_array_foreach(k8s_jpath(obj, "metadata.ownerReferences"), i, r)
    {
        if (json_is_true(json_object_get(r, "controller")))
            return r;
    }
    return NULL;
}

/* The controller whose scale counts for pod (upstream's finders: Deployment via its
 * ReplicaSet, ReplicaSet, ReplicationController, StatefulSet): its uid and spec.replicas. */
static int pod_scale(struct dc *c, const json_t *pod, char *uid, size_t uidn, int64_t *replicas)
{
    const json_t *ref = controller_ref(pod);
    if (!ref)
        return -1;
    const char *kind = json_string_value(json_object_get(ref, "kind"));
    const char *name = json_string_value(json_object_get(ref, "name"));
    const char *ruid = json_string_value(json_object_get(ref, "uid"));
    if (!kind || !name || !ruid)
        return -1;
    struct ck_informer *inf = !strcmp(kind, "ReplicaSet")              ? c->cm->rss
                              : !strcmp(kind, "ReplicationController") ? c->cm->rcs
                              : !strcmp(kind, "StatefulSet")           ? c->sts
                                                                       : NULL;
    if (!inf)
        return -1;
    json_t *owner = cm_get(inf, ns_of(pod), name);
    if (!owner || strcmp(k8s_jpath_str(owner, "metadata.uid"), ruid)) {
        json_decref(owner);
        return -1;
    }
    if (!strcmp(kind, "ReplicaSet")) {
        const json_t *dref = controller_ref(owner);
        const char *dk = dref ? json_string_value(json_object_get(dref, "kind")) : NULL;
        if (dk && !strcmp(dk, "Deployment")) {
            json_t *d =
                cm_get(c->cm->deps, ns_of(pod), json_string_value(json_object_get(dref, "name")));
            const char *duid = json_string_value(json_object_get(dref, "uid"));
            if (d && duid && !strcmp(k8s_jpath_str(d, "metadata.uid"), duid)) {
                snprintf(uid, uidn, "%s", duid);
                *replicas = cm_jint(d, "spec.replicas", 1);
                json_decref(d);
                json_decref(owner);
                return 0;
            }
            json_decref(d);
        }
    }
    snprintf(uid, uidn, "%s", ruid);
    *replicas = cm_jint(owner, "spec.replicas", 1);
    json_decref(owner);
    return 0;
}

/* Sum of the distinct controllers' replicas over pods; -1 with a message when a pod has none
 * (upstream: "found no controllers for pod %q"). */
static int expected_from_controllers(struct dc *c, const json_t *pods, int64_t *out,
                                     struct ck_buf *why)
{
    size_t n = json_array_size(pods), seen = 0, i;
    char(*uids)[64] = ck_calloc(n + 1, sizeof(*uids));
    json_t *p;
    *out = 0;
    int rc = 0;
    json_array_foreach(pods, i, p)
    {
        char uid[64];
        int64_t r;
        if (pod_scale(c, p, uid, sizeof(uid), &r) < 0) {
            ck_buf_appendf(why, "found no controllers for pod \"%s\"",
                           k8s_jpath_str(p, "metadata.name"));
            rc = -1;
            break;
        }
        size_t k = 0;
        while (k < seen && strcmp(uids[k], uid))
            k++;
        if (k == seen) {
            snprintf(uids[seen++], sizeof(uids[0]), "%s", uid);
            *out += r;
        }
    }
    free(uids);
    return rc;
}

static bool is_percent(const json_t *v)
{
    return json_is_string(v) && strchr(json_string_value(v), '%');
}

/* upstream's getExpectedPodCount: expected and desiredHealthy, or -1 with why. */
static int expected_counts(struct dc *c, const json_t *pdb, const json_t *pods, int64_t *expected,
                           int64_t *desired, struct ck_buf *why)
{
    const json_t *maxu = k8s_jpath(pdb, "spec.maxUnavailable");
    const json_t *mina = k8s_jpath(pdb, "spec.minAvailable");
    int64_t v;
    if (maxu && !json_is_null(maxu)) {
        if (expected_from_controllers(c, pods, expected, why) < 0)
            return -1;
        if (dp_scaled_value(maxu, *expected, true, &v) < 0) {
            ck_buf_appendf(why, "invalid maxUnavailable");
            return -1;
        }
        *desired = *expected - v > 0 ? *expected - v : 0;
        return 0;
    }
    if (mina && json_is_integer(mina)) {
        *expected = (int64_t)json_array_size(pods);
        *desired = json_integer_value(mina);
        return 0;
    }
    if (is_percent(mina)) {
        if (expected_from_controllers(c, pods, expected, why) < 0)
            return -1;
        if (dp_scaled_value(mina, *expected, true, &v) < 0) {
            ck_buf_appendf(why, "invalid minAvailable");
            return -1;
        }
        *desired = v;
        return 0;
    }
    *expected = (int64_t)json_array_size(pods);
    *desired = 0;
    return 0;
}

/* The selected pods (new array): same namespace, matching spec.selector; an empty selector
 * matches every pod of the namespace in policy/v1. */
static json_t *selected_pods(struct dc *c, const json_t *pdb, struct ck_buf *why)
{
    struct sel *s = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (sel_from_label_selector(k8s_jpath(pdb, "spec.selector"), &s, &err) < 0) {
        ck_buf_appendf(why, "%s", err.msg);
        return NULL;
    }
    json_t *all = ck_indexer_by_index(ck_informer_indexer(c->cm->pods), NS_INDEX, ns_of(pdb));
    json_t *out = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(all, i, p)
    {
        if (sel_matches(s, sel_lookup_json, k8s_jpath(p, "metadata.labels")))
            json_array_append(out, p);
    }
    json_decref(all);
    sel_free(s);
    return out;
}

/* Drops expired or resolved disruptedPods entries (new object); *next_s: seconds until the
 * oldest kept entry expires (0 when none). */
static json_t *prune_disrupted(const json_t *pdb, const json_t *pods, time_t now, int64_t *next_s)
{
    json_t *out = json_object();
    const char *name;
    json_t *ts;
    *next_s = 0;
    json_object_foreach((json_t *)k8s_jpath(pdb, "status.disruptedPods"), name, ts)
    {
        time_t t;
        if (!json_is_string(ts) || ck_time_parse_rfc3339(json_string_value(ts), &t) < 0)
            continue;
        const json_t *pod = NULL;
        size_t i;
        json_t *p;
        json_array_foreach(pods, i, p)
        {
            if (!strcmp(k8s_jpath_str(p, "metadata.name"), name))
                pod = p;
        }
        if (!pod || k8s_obj_deleting(pod)) /* the deletion was seen */
            continue;
        int64_t left = (int64_t)(t + DELETION_TIMEOUT_S - now);
        if (left <= 0)
            continue;
        json_object_set(out, name, ts);
        if (!*next_s || left < *next_s)
            *next_s = left;
    }
    return out;
}

static json_t *allowed_condition(const json_t *pdb, const char *status, const char *reason,
                                 const char *msg)
{
    const json_t *old = NULL;
    size_t i;
    json_t *cd;
    json_array_foreach(k8s_jpath(pdb, "status.conditions"), i, cd)
    {
        if (!strcmp(k8s_jpath_str(cd, "type"), "DisruptionAllowed"))
            old = cd;
    }
    char now[32];
    cm_now(now);
    const char *ltt = old && !strcmp(k8s_jpath_str(old, "status"), status)
                          ? k8s_jpath_str(old, "lastTransitionTime")
                          : now;
    return json_pack("[{s:s,s:s,s:s,s:s,s:s,s:I}]", "type", "DisruptionAllowed", "status", status,
                     "reason", reason, "message", msg, "lastTransitionTime", ltt,
                     "observedGeneration", (json_int_t)cm_jint(pdb, "metadata.generation", 0));
}

static int write_status(struct dc *c, const json_t *pdb, json_t *st)
{
    const json_t *old = k8s_jpath(pdb, "status");
    json_t *cmp = json_deep_copy(st);
    json_t *ocmp = json_deep_copy(old ? old : json_object());
    /* transition times are carried over above; compare the rest */
    json_object_del(cmp, "conditions");
    json_object_del(ocmp, "conditions");
    bool same = cm_status_equal(cmp, ocmp) &&
                json_equal(json_object_get(st, "conditions"), json_object_get(old, "conditions"));
    json_decref(cmp);
    json_decref(ocmp);
    if (same)
        return 0;
    json_t *up = json_deep_copy(pdb);
    json_object_set(up, "status", st);
    char *path = ck_asprintf("/apis/policy/v1/namespaces/%s/poddisruptionbudgets/%s/status",
                             ns_of(pdb), k8s_jpath_str(pdb, "metadata.name"));
    struct ck_err err = CK_ERR_INIT;
    int rc = ck_client_update_json(c->cm->client, path, up, NULL, &err);
    if (rc < 0 && err.reason == CK_R_NOT_FOUND)
        rc = 0;
    else if (rc < 0)
        ck_v(2, "pdb %s/%s: status: %s", ns_of(pdb), k8s_jpath_str(pdb, "metadata.name"), err.msg);
    free(path);
    json_decref(up);
    return rc;
}

static int sync_pdb(void *arg, const char *key)
{
    struct dc *c = arg;
    json_t *pdb = ck_indexer_get(ck_informer_indexer(c->pdbs), key);
    if (!pdb)
        return 0;
    struct ck_buf why = CK_BUF_INIT(4096);
    json_t *pods = selected_pods(c, pdb, &why);
    int64_t expected = 0, desired = 0, healthy = 0, next_s = 0;
    bool failed = !pods || expected_counts(c, pdb, pods, &expected, &desired, &why) < 0;
    time_t now = time(NULL);
    json_t *disrupted = prune_disrupted(pdb, pods, now, &next_s);
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        if (k8s_pod_is_ready(p) && !k8s_obj_deleting(p) &&
            !json_object_get(disrupted, k8s_jpath_str(p, "metadata.name")))
            healthy++;
    }
    json_t *st = json_object();
    int64_t allowed = failed ? 0 : healthy - desired > 0 ? healthy - desired : 0;
    json_object_set_new(st, "observedGeneration",
                        json_integer(cm_jint(pdb, "metadata.generation", 0)));
    json_object_set_new(st, "disruptionsAllowed", json_integer(allowed));
    json_object_set_new(st, "currentHealthy", json_integer(healthy));
    json_object_set_new(st, "desiredHealthy", json_integer(failed ? 0 : desired));
    json_object_set_new(st, "expectedPods", json_integer(failed ? 0 : expected));
    if (json_object_size(disrupted))
        json_object_set(st, "disruptedPods", disrupted);
    json_object_set_new(st, "conditions",
                        failed        ? allowed_condition(pdb, "False", "SyncFailed", why.data)
                        : allowed > 0 ? allowed_condition(pdb, "True", "SufficientPods", "")
                                      : allowed_condition(pdb, "False", "InsufficientPods", ""));
    int rc = write_status(c, pdb, st);
    if (next_s > 0)
        wq_add_after(c->q, key, next_s * 1000000000LL);
    json_decref(st);
    json_decref(disrupted);
    json_decref(pods);
    json_decref(pdb);
    ck_buf_release(&why);
    return rc;
}

/* Every PDB of the pod's namespace whose selector matches it (an empty one matches all). */
static void enqueue_for_pod(struct dc *c, const json_t *pod)
{
    cm_enqueue_selecting(c->q, c->pdbs, pod, CM_SEL_LABEL_SELECTOR_ALL);
}

static void pdb_added(void *arg, json_t *obj)
{
    cm_enqueue_obj(((struct dc *)arg)->q, obj);
}

static void pdb_updated(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    pdb_added(arg, obj);
}

static void pdb_deleted(void *arg, json_t *obj)
{
    (void)arg;
    (void)obj;
}

static void pod_added(void *arg, json_t *obj)
{
    enqueue_for_pod(arg, obj);
}

static void pod_updated(void *arg, json_t *old, json_t *obj)
{
    enqueue_for_pod(arg, obj);
    if (old && !json_equal(k8s_jpath(old, "metadata.labels"), k8s_jpath(obj, "metadata.labels")))
        enqueue_for_pod(arg, old);
}

/* A scale change (Deployment, ReplicaSet, RC, StatefulSet) changes expectedPods: every PDB of
 * its namespace is looked at again (few per namespace). */
static void owner_changed(void *arg, json_t *obj)
{
    struct dc *c = arg;
    json_t *all = ck_indexer_by_index(ck_informer_indexer(c->pdbs), NS_INDEX, ns_of(obj));
    size_t i;
    json_t *pdb;
    json_array_foreach(all, i, pdb)
    {
        cm_enqueue_obj(c->q, pdb);
    }
    json_decref(all);
}

static void owner_updated(void *arg, json_t *old, json_t *obj)
{
    if (!old || cm_jint(old, "spec.replicas", 1) != cm_jint(obj, "spec.replicas", 1))
        owner_changed(arg, obj);
}

static int dc_init(struct cm *cm, void **state)
{
    struct dc *c = ck_calloc(1, sizeof(*c));
    c->cm = cm;
    c->pdbs = ck_informer_factory_get(cm->factory, "/apis/policy/v1/poddisruptionbudgets");
    c->sts = ck_informer_factory_get(cm->factory, "/apis/apps/v1/statefulsets");
    c->q = wq_new(&(struct wq_opts){.name = "disruption"});
    ck_indexer_add_index(ck_informer_indexer(c->pdbs), NS_INDEX, index_ns);
    ck_indexer_add_index(ck_informer_indexer(cm->pods), NS_INDEX, index_ns);
    ck_informer_add_handlers(
        c->pdbs, &(struct ck_informer_handlers){pdb_added, pdb_updated, pdb_deleted, c});
    ck_informer_add_handlers(cm->pods,
                             &(struct ck_informer_handlers){pod_added, pod_updated, pod_added, c});
    struct ck_informer *owners[] = {cm->deps, cm->rss, cm->rcs, c->sts};
    for (size_t i = 0; i < 4; i++)
        ck_informer_add_handlers(owners[i], &(struct ck_informer_handlers){
                                                owner_changed, owner_updated, owner_changed, c});
    *state = c;
    return 0;
}

static void dc_run(void *state)
{
    struct dc *c = state;
    c->w = (struct cm_workers){.q = c->q, .sync = sync_pdb, .arg = c, .ctrl = &cm_disruption};
    cm_workers_start(&c->w, c->cm->workers);
}

static void dc_stop(void *state)
{
    struct dc *c = state;
    wq_shutdown(c->q);
    cm_workers_join(&c->w);
}

static void dc_free(void *state)
{
    struct dc *c = state;
    wq_free(c->q);
    free(c);
}

struct cm_controller cm_disruption = {.name = "disruption",
                                      .alias = "disruption-controller",
                                      .init = dc_init,
                                      .run = dc_run,
                                      .stop = dc_stop,
                                      .free = dc_free};
