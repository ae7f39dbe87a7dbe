/* SPDX-License-Identifier: Apache-2.0 */
/* The ReplicaSet controller (pkg/controller/replicaset/replica_set.go): keeps the number of
 * active pods a ReplicaSet controls equal to spec.replicas. Pods are claimed by selector
 * (adoption/release), created in slow-start batches of 1, 2, 4, ... (at most 500 per sync) and
 * deleted in upstream's ranking order; expectations hold a key back until the informer has
 * seen the controller's own creations and deletions. Status and the ReplicaFailure condition
 * follow replica_set_utils.go. */
#include "ckube/indexer.h"
#include "controllers/cm.h"
#include "controllers/expect.h"
#include "controllers/rsutil.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/selector.h"
#include "lib/timeutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

/* ReplicaSets and ReplicationControllers share this controller (upstream's RC controller
 * is the ReplicaSet one behind a conversion). */
struct rskind {
    const char *api_version, *kind, *root; /* root: "/apis/apps/v1" */
    const char *plural;
    bool map_selector; /* spec.selector is a plain label map (ReplicationController) */
    struct cm_controller *ctrl;
};

static const struct rskind rs_kind = {"apps/v1",     "ReplicaSet", "/apis/apps/v1",
                                      "replicasets", false,        &cm_replicaset};
static const struct rskind rc_kind = {
    "v1", "ReplicationController", "/api/v1", "replicationcontrollers", true, &cm_rc};

static int parse_selector(const struct rskind *k, const json_t *obj, struct sel **s,
                          struct ck_err *err)
{
    json_t *v = k8s_jpath(obj, "spec.selector");
    return k->map_selector ? sel_from_map(v, s, err) : sel_from_label_selector(v, s, err);
}

struct rsc {
    const struct rskind *k;
    struct ck_informer *inf;
    struct cm *cm;
    struct wq *q;
    struct cm_expect *exp;
    struct cm_workers w;
};

static int64_t wall_ns(void)
{
    return ck_real_ns();
}

/* The ReplicaSet a pod's controller reference names, if it is in the cache with that uid. */
static json_t *resolve_ref(struct rsc *c, const char *ns, const json_t *ref)
{
    return cm_resolve_controller_ref(c->inf, c->k->kind, ns, ref);
}

/* getPodReplicaSets: every ReplicaSet of the pod's namespace whose selector matches it. */
static void enqueue_matching(struct rsc *c, const json_t *pod)
{
    cm_enqueue_selecting(c->q, c->inf, pod,
                         c->k->map_selector ? CM_SEL_MAP : CM_SEL_LABEL_SELECTOR);
}

static void pod_deleted(void *arg, json_t *pod)
{
    struct rsc *c = arg;
    json_t *rs = resolve_ref(c, k8s_obj_namespace(pod), k8s_obj_controller_of(pod));
    if (!rs)
        return;
    char *rk = ck_meta_namespace_key(rs), *pk = ck_meta_namespace_key(pod);
    cm_expect_deletion_observed(c->exp, rk, pk);
    wq_add(c->q, rk);
    free(rk);
    free(pk);
    json_decref(rs);
}

static void pod_added(void *arg, json_t *pod)
{
    struct rsc *c = arg;
    if (k8s_obj_deleting(pod)) {
        pod_deleted(arg, pod);
        return;
    }
    const json_t *ref = k8s_obj_controller_of(pod);
    if (ref) {
        json_t *rs = resolve_ref(c, k8s_obj_namespace(pod), ref);
        if (rs) {
            char *rk = ck_meta_namespace_key(rs);
            cm_expect_creation_observed(c->exp, rk);
            wq_add(c->q, rk);
            free(rk);
            json_decref(rs);
        }
        return;
    }
    enqueue_matching(c, pod);
}

static void pod_updated(void *arg, json_t *old, json_t *cur)
{
    struct rsc *c = arg;
    if (!strcmp(k8s_jpath_str(old, "metadata.resourceVersion"),
                k8s_jpath_str(cur, "metadata.resourceVersion")))
        return;
    bool labels_changed =
        !json_equal(k8s_jpath(old, "metadata.labels"), k8s_jpath(cur, "metadata.labels"));
    if (k8s_obj_deleting(cur)) {
        pod_deleted(arg, cur);
        if (labels_changed)
            pod_deleted(arg, old);
        return;
    }
    const json_t *oref = k8s_obj_controller_of(old), *cref = k8s_obj_controller_of(cur);
    if (oref && (!cref || strcmp(k8s_jstr(oref, "uid"), k8s_jstr(cref, "uid")))) {
        json_t *rs = resolve_ref(c, k8s_obj_namespace(old), oref);
        if (rs)
            cm_enqueue_obj(c->q, rs);
        json_decref(rs);
    }
    if (cref) {
        json_t *rs = resolve_ref(c, k8s_obj_namespace(cur), cref);
        if (rs) {
            cm_enqueue_obj(c->q, rs);
            int64_t mrs = cm_jint(rs, "spec.minReadySeconds", 0);
            if (mrs > 0 && !k8s_pod_is_ready(old) && k8s_pod_is_ready(cur)) {
                char *rk = ck_meta_namespace_key(rs);
                wq_add_after(c->q, rk, (mrs + 1) * 1000000000LL);
                free(rk);
            }
        }
        json_decref(rs);
        return;
    }
    if (labels_changed || oref)
        enqueue_matching(c, cur);
}

static void rs_added(void *arg, json_t *rs)
{
    cm_enqueue_obj(((struct rsc *)arg)->q, rs);
}
static void rs_updated(void *arg, json_t *old, json_t *rs)
{
    (void)old, rs_added(arg, rs);
}

/* Pods of every ReplicaSet that shares this one's controller (getIndirectlyRelatedPods). */
static json_t *related_pods(struct rsc *c, const json_t *rs, const json_t *filtered)
{
    const json_t *ref = k8s_obj_controller_of(rs);
    if (!ref)
        return json_incref((json_t *)filtered);
    json_t *out = json_array();
    json_t *sibs =
        ck_indexer_by_index(ck_informer_indexer(c->inf), "owner-uid", k8s_jstr(ref, "uid"));
    size_t i;
    json_t *s;
    json_array_foreach(sibs, i, s)
    {
        json_t *pods =
            ck_indexer_by_index(ck_informer_indexer(c->cm->pods), "owner-uid", k8s_obj_uid(s));
        size_t j;
        json_t *p;
        json_array_foreach(pods, j, p)
        {
            if (k8s_obj_is_controlled_by(p, k8s_obj_uid(s)))
                json_array_append(out, p);
        }
        json_decref(pods);
    }
    json_decref(sibs);
    return out;
}

/* One slow-start batch: creates `todo` pods concurrently (as upstream's goroutines do). */
struct batch {
    struct ck_client *client;
    const char *coll;
    const json_t *pod;
    atomic_int next, ok, failed;
    int todo;
    pthread_mutex_t mu;
    struct ck_err first;
};

static void *batch_worker(void *arg)
{
    struct batch *b = arg;
    while (atomic_fetch_add(&b->next, 1) < b->todo) {
        struct ck_err e = CK_ERR_INIT;
        if (ck_client_create_json(b->client, b->coll, b->pod, NULL, &e) == 0) {
            atomic_fetch_add(&b->ok, 1);
        } else if (e.reason == CK_R_FORBIDDEN && strstr(e.msg, "being terminated")) {
            atomic_fetch_add(&b->ok, 1); /* namespace terminating: not an error upstream */
        } else {
            pthread_mutex_lock(&b->mu);
            if (atomic_fetch_add(&b->failed, 1) == 0)
                b->first = e;
            pthread_mutex_unlock(&b->mu);
        }
    }
    return NULL;
}

static void run_batch(struct batch *b, int size)
{
    enum { MAXT = 32 };
    pthread_t t[MAXT];
    int n = size < MAXT ? size : MAXT;
    atomic_store(&b->next, 0);
    b->todo = size;
    for (int i = 0; i < n; i++)
        pthread_create(&t[i], NULL, batch_worker, b);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

/* manageReplicas: returns 0, or -1 with err describing the failed create/delete. */
static int manage(struct rsc *c, const char *key, const json_t *rs, const json_t *filtered,
                  struct ck_err *err)
{
    const char *ns = k8s_obj_namespace(rs);
    int64_t want = cm_jint(rs, "spec.replicas", 1);
    int64_t diff = (int64_t)json_array_size(filtered) - want;
    if (diff < 0) {
        int n = (int)(-diff > CM_BURST_REPLICAS ? CM_BURST_REPLICAS : -diff);
        cm_expect_creations(c->exp, key, n, ck_mono_ns());
        int batches[32];
        int nb = cm_slow_start_batches(n, CM_SLOW_START_INITIAL, batches, 32);
        json_t *ref = cm_controller_ref(rs, c->k->api_version, c->k->kind);
        char *prefix = ck_asprintf("%s-", k8s_obj_name(rs));
        json_t *pod = cm_pod_from_template(k8s_jpath(rs, "spec.template"), prefix, ref);
        char *coll = ck_asprintf("/api/v1/namespaces/%s/pods", ns);
        struct batch bt = {.client = c->cm->client, .coll = coll, .pod = pod};
        pthread_mutex_init(&bt.mu, NULL);
        for (int b = 0; b < nb && !atomic_load(&bt.failed); b++)
            run_batch(&bt, batches[b]);
        pthread_mutex_destroy(&bt.mu);
        int ok = atomic_load(&bt.ok), failed = atomic_load(&bt.failed);
        if (failed)
            *err = bt.first;
        for (int i = ok; i < n; i++)
            cm_expect_creation_observed(c->exp, key); /* skipped or failed: never observed */
        free(coll);
        free(prefix);
        json_decref(pod);
        json_decref(ref);
        return failed ? -1 : 0;
    }
    if (diff > 0) {
        int n = (int)(diff > CM_BURST_REPLICAS ? CM_BURST_REPLICAS : diff);
        json_t *rel = related_pods(c, rs, filtered);
        json_t *del = cm_pods_to_delete(filtered, rel, n, wall_ns());
        json_decref(rel);
        size_t nd = json_array_size(del);
        char **keys = ck_calloc(nd ? nd : 1, sizeof(char *));
        for (size_t i = 0; i < nd; i++)
            keys[i] = ck_meta_namespace_key(json_array_get(del, i));
        cm_expect_deletions(c->exp, key, (const char *const *)keys, (int)nd, ck_mono_ns());
        int failed = 0;
        for (size_t i = 0; i < nd; i++) {
            char *path = ck_asprintf("/api/v1/namespaces/%s/pods/%s", ns,
                                     k8s_obj_name(json_array_get(del, i)));
            struct ck_err e = CK_ERR_INIT;
            if (ck_client_delete(c->cm->client, path, &e) < 0 && e.reason != CK_R_NOT_FOUND) {
                cm_expect_deletion_observed(c->exp, key, keys[i]);
                if (!failed++)
                    *err = e;
            }
            free(path);
        }
        for (size_t i = 0; i < nd; i++)
            free(keys[i]);
        free(keys);
        json_decref(del);
        return failed ? -1 : 0;
    }
    return 0;
}

/* calculateStatus + updateReplicaSetStatus; *counts receives the counts. */
static int update_status(struct rsc *c, const json_t *rs, const json_t *filtered,
                         const struct ck_err *manage_err, int64_t diff, struct cm_rs_counts *k)
{
    cm_rs_counts(rs, filtered, wall_ns(), k);
    json_t *old = json_object_get(rs, "status");
    json_t *st = old ? json_deep_copy(old) : json_object();
    json_object_set_new(st, "replicas", json_integer(k->replicas));
    json_object_set_new(st, "fullyLabeledReplicas", json_integer(k->fully_labeled));
    json_object_set_new(st, "readyReplicas", json_integer(k->ready));
    json_object_set_new(st, "availableReplicas", json_integer(k->available));
    json_object_set_new(st, "observedGeneration",
                        json_integer(cm_jint(rs, "metadata.generation", 0)));
    int idx = -1;
    json_t *cond = k8s_condition_get(st, "ReplicaFailure", &idx);
    if (manage_err && !cond) {
        char now[32];
        cm_now(now);
        json_t *conds = json_object_get(st, "conditions");
        if (!json_is_array(conds)) {
            conds = json_array();
            json_object_set_new(st, "conditions", conds);
        }
        json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "ReplicaFailure",
                                               "status", "True", "lastTransitionTime", now,
                                               "reason", diff < 0 ? "FailedCreate" : "FailedDelete",
                                               "message", manage_err->msg));
    } else if (!manage_err && cond) {
        json_array_remove(json_object_get(st, "conditions"), (size_t)idx);
    }
    /* the API server drops zero-valued integers; compare semantically */
    int rc = 0;
    if (!cm_status_equal(old, st)) {
        json_t *obj = json_deep_copy(rs);
        json_object_set(obj, "status", st);
        char *path = ck_asprintf("%s/namespaces/%s/%s/%s/status", c->k->root, k8s_obj_namespace(rs),
                                 c->k->plural, k8s_obj_name(rs));
        struct ck_err err = CK_ERR_INIT;
        rc = ck_client_update_json(c->cm->client, path, obj, NULL, &err);
        if (rc < 0 && err.reason == CK_R_NOT_FOUND)
            rc = 0;
        else if (rc < 0 && err.reason != CK_R_CONFLICT)
            ck_warn("replicaset %s status: %s", path, err.msg);
        free(path);
        json_decref(obj);
    }
    json_decref(st);
    return rc;
}

static int sync_rs(void *arg, const char *key)
{
    struct rsc *c = arg;
    char ns[256], name[256];
    const char *slash = strchr(key, '/');
    if (!slash || (size_t)(slash - key) >= sizeof(ns))
        return 0;
    snprintf(ns, sizeof(ns), "%.*s", (int)(slash - key), key);
    snprintf(name, sizeof(name), "%s", slash + 1);
    json_t *rs = cm_get(c->inf, ns, name);
    if (!rs) {
        cm_expect_delete(c->exp, key);
        return 0;
    }
    bool need = cm_expect_satisfied(c->exp, key, ck_mono_ns()) && !k8s_obj_deleting(rs);
    struct sel *s = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (parse_selector(c->k, rs, &s, &err) < 0) {
        ck_warn("replicaset %s: selector: %s", key, err.msg);
        json_decref(rs);
        return 0;
    }
    json_t *all = ck_indexer_by_index(ck_informer_indexer(c->cm->pods), "namespace", ns);
    json_t *active = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(all, i, p)
    {
        if (cm_pod_active(p))
            json_array_append(active, p);
    }
    char *coll = ck_asprintf("/api/v1/namespaces/%s/pods", ns);
    char *self = ck_asprintf("%s/namespaces/%s/%s/%s", c->k->root, ns, c->k->plural, name);
    json_t *filtered = cm_claim(c->cm, rs, c->k->api_version, c->k->kind, self, s, active, coll);
    int64_t diff = (int64_t)json_array_size(filtered) - cm_jint(rs, "spec.replicas", 1);
    int mrc = need ? manage(c, key, rs, filtered, &err) : 0;
    struct cm_rs_counts k;
    int src = update_status(c, rs, filtered, mrc < 0 ? &err : NULL, diff, &k);
    int64_t mrs = cm_jint(rs, "spec.minReadySeconds", 0);
    if (mrc == 0 && src == 0 && mrs > 0 && k.ready == cm_jint(rs, "spec.replicas", 1) &&
        k.available != k.ready)
        wq_add_after(c->q, key, mrs * 1000000000LL);
    free(coll);
    free(self);
    json_decref(filtered);
    json_decref(active);
    json_decref(all);
    sel_free(s);
    json_decref(rs);
    return mrc < 0 || src < 0 ? -1 : 0;
}

static struct rsc *init_kind(struct cm *cm, const struct rskind *k, struct ck_informer *inf)
{
    struct rsc *c = ck_calloc(1, sizeof(*c));
    c->cm = cm;
    c->k = k;
    c->inf = inf;
    c->q = wq_new(&(struct wq_opts){.name = k->ctrl->name});
    c->exp = cm_expect_new();
    ck_informer_add_handlers(inf,
                             &(struct ck_informer_handlers){rs_added, rs_updated, rs_added, c});
    ck_informer_add_handlers(
        cm->pods, &(struct ck_informer_handlers){pod_added, pod_updated, pod_deleted, c});
    return c;
}

static int rs_init(struct cm *cm, void **state)
{
    *state = cm->rs_state = init_kind(cm, &rs_kind, cm->rss);
    return 0;
}

static int rc_init(struct cm *cm, void **state)
{
    *state = init_kind(cm, &rc_kind, cm->rcs);
    return 0;
}

static void rs_run(void *state)
{
    struct rsc *c = state;
    c->w = (struct cm_workers){.q = c->q, .sync = sync_rs, .arg = c, .ctrl = c->k->ctrl};
    cm_workers_start(&c->w, c->cm->workers);
}

static void rs_stop(void *state)
{
    struct rsc *c = state;
    wq_shutdown(c->q);
    cm_workers_join(&c->w);
}

static void rs_free(void *state)
{
    struct rsc *c = state;
    wq_free(c->q);
    cm_expect_free(c->exp);
    free(c);
}

struct cm_controller cm_replicaset = {.name = "replicaset",
                                      .alias = "replicaset-controller",
                                      .init = rs_init,
                                      .run = rs_run,
                                      .stop = rs_stop,
                                      .free = rs_free};

struct cm_controller cm_rc = {.name = "replicationcontroller",
                              .alias = "replicationcontroller-controller",
                              .init = rc_init,
                              .run = rs_run,
                              .stop = rs_stop,
                              .free = rs_free};
