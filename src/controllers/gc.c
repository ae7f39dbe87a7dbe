/* SPDX-License-Identifier: Apache-2.0 */
/* The garbage collector (pkg/controller/garbagecollector): the ownerReferences graph is kept
 * as an owner-uid index on the shared informers of the workload kinds and pods. One queue
 * (attemptToDelete) holds objects to check:
 * - an object whose owners are all gone (or have another uid) is deleted, with the
 *   propagation its own finalizers ask for; owners that wait for their dependents in
 *   foreground make it deleted in foreground; an object with a solid owner only loses its
 *   references to dangling and waiting owners;
 * - an owner being deleted with the orphan finalizer has its references removed from every
 *   dependent, then the finalizer;
 * - an owner being deleted with foregroundDeletion has every dependent queued, and loses the
 *   finalizer once no dependent with blockOwnerDeletion is left. */
#include "ckube/indexer.h"
#include "controllers/cm.h"
#include "controllers/gcutil.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define FIN_FOREGROUND "foregroundDeletion"
#define FIN_ORPHAN "orphan"
/* kinds[0..GC_WATCHED-1] have informers (the dependents the collector can find): pods, the
 * workload kinds, ControllerRevisions, PersistentVolumeClaims, EndpointSlices and Services (the
 * owners of EndpointSlices); the rest are owners looked up live. */
#define GC_WATCHED 12
#define GC_INDEX "owner-uid"    /* cm_init_informers' index on the four shared informers */
#define GC_OWN_INDEX "gc-owner" /* the same, added here to the other watched informers */

struct kindinfo {
    const char *api_version, *kind, *plural;
    struct ck_informer *inf; /* NULL: looked up live */
    const char *index;       /* the owner-uid index on inf */
};

struct gcc {
    struct cm *cm;
    struct wq *q;
    struct cm_workers w;
    struct kindinfo kinds[16];
    size_t nkinds;
    struct hctx {
        struct gcc *gc;
        int idx;
    } hctx[GC_WATCHED];
};

static const struct kindinfo *kind_of(struct gcc *g, const char *api_version, const char *kind)
{
    for (size_t i = 0; i < g->nkinds; i++)
        if (!strcmp(g->kinds[i].kind, kind) && !strcmp(g->kinds[i].api_version, api_version))
            return &g->kinds[i];
    return NULL;
}

static char *obj_path(const struct kindinfo *k, const char *ns, const char *name)
{
    const char *root = strchr(k->api_version, '/') ? "/apis/" : "/api/";
    if (ns && *ns)
        return ck_asprintf("%s%s/namespaces/%s/%s/%s", root, k->api_version, ns, k->plural, name);
    return ck_asprintf("%s%s/%s/%s", root, k->api_version, k->plural, name);
}

static void enqueue(struct gcc *g, int kind, const json_t *obj)
{
    char *key = ck_meta_namespace_key(obj);
    if (!key)
        return;
    char *item = ck_asprintf("%d|%s", kind, key);
    wq_add(g->q, item);
    free(item);
    free(key);
}

static bool has_finalizer(const json_t *obj, const char *f)
{
    size_t i;
    json_t *v;
    json_array_foreach(k8s_jpath(obj, "metadata.finalizers"), i, v)
    {
        if (json_is_string(v) && !strcmp(json_string_value(v), f))
            return true;
    }
    return false;
}

/* Every object (of the watched kinds) that names uid as an owner; *kinds gets their kind
 * indexes. */
static json_t *dependents(struct gcc *g, const char *uid, json_t **kinds)
{
    json_t *out = json_array();
    *kinds = json_array();
    for (int i = 0; i < GC_WATCHED; i++) {
        json_t *deps =
            ck_indexer_by_index(ck_informer_indexer(g->kinds[i].inf), g->kinds[i].index, uid);
        size_t j;
        json_t *d;
        json_array_foreach(deps, j, d)
        {
            json_array_append(out, d);
            json_array_append_new(*kinds, json_integer(i));
        }
        json_decref(deps);
    }
    return out;
}

static void enqueue_dependents(struct gcc *g, const char *uid)
{
    json_t *kinds, *deps = dependents(g, uid, &kinds);
    for (size_t i = 0; i < json_array_size(deps); i++)
        enqueue(g, (int)json_integer_value(json_array_get(kinds, i)), json_array_get(deps, i));
    json_decref(deps);
    json_decref(kinds);
}

static void enqueue_owners(struct gcc *g, const json_t *obj)
{
    size_t i;
    json_t *r;
    json_array_foreach(k8s_jpath(obj, "metadata.ownerReferences"), i, r)
    {
        const struct kindinfo *k = kind_of(g, k8s_jstr(r, "apiVersion"), k8s_jstr(r, "kind"));
        if (!k || !k->inf)
            continue;
        json_t *o = cm_get(k->inf, k8s_obj_namespace(obj), k8s_jstr(r, "name"));
        if (o && has_finalizer(o, FIN_FOREGROUND))
            enqueue(g, (int)(k - g->kinds), o);
        json_decref(o);
    }
}

static void on_add(void *arg, json_t *obj)
{
    struct gcc *g = ((struct hctx *)arg)->gc;
    int idx = ((struct hctx *)arg)->idx;
    if (k8s_jlen(k8s_jpath(obj, "metadata.ownerReferences")) ||
        (k8s_obj_deleting(obj) &&
         (has_finalizer(obj, FIN_FOREGROUND) || has_finalizer(obj, FIN_ORPHAN))))
        enqueue(g, idx, obj);
}

static void on_update(void *arg, json_t *old, json_t *obj)
{
    struct gcc *g = ((struct hctx *)arg)->gc;
    int idx = ((struct hctx *)arg)->idx;
    bool refs = !json_equal(k8s_jpath(old, "metadata.ownerReferences"),
                            k8s_jpath(obj, "metadata.ownerReferences"));
    bool fin = k8s_obj_deleting(obj) &&
               (has_finalizer(obj, FIN_FOREGROUND) || has_finalizer(obj, FIN_ORPHAN));
    if (refs || fin)
        enqueue(g, idx, obj);
    if (refs) /* a dropped reference may have been the last one blocking a foreground owner */
        enqueue_owners(g, old);
    if (fin && has_finalizer(obj, FIN_FOREGROUND) && !k8s_obj_deleting(old))
        enqueue_dependents(g, k8s_obj_uid(obj));
}

static void on_delete(void *arg, json_t *obj)
{
    struct gcc *g = ((struct hctx *)arg)->gc;
    enqueue_dependents(g, k8s_obj_uid(obj));
    enqueue_owners(g, obj);
}

/* JSON patch guarded by the resourceVersion. */
static int patch_meta(struct gcc *g, const struct kindinfo *k, const json_t *obj, const char *field,
                      json_t *value)
{
    char *path = obj_path(k, k8s_obj_namespace(obj), k8s_obj_name(obj));
    char *ptr = ck_asprintf("/metadata/%s", field);
    json_t *patch = json_pack(
        "[{s:s,s:s,s:s},{s:s,s:s,s:o}]", "op", "test", "path", "/metadata/resourceVersion", "value",
        k8s_jpath_str(obj, "metadata.resourceVersion"), "op", "add", "path", ptr, "value", value);
    struct ck_err err = CK_ERR_INIT;
    int rc =
        ck_client_patch_json(g->cm->client, path, "application/json-patch+json", patch, NULL, &err);
    if (rc < 0 && err.reason == CK_R_NOT_FOUND)
        rc = 0;
    else if (rc < 0)
        ck_v(2, "gc: patch %s %s: %s", path, field, err.msg);
    json_decref(patch);
    free(ptr);
    free(path);
    return rc;
}

static int remove_finalizer(struct gcc *g, const struct kindinfo *k, const json_t *obj,
                            const char *f)
{
    json_t *keep = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(k8s_jpath(obj, "metadata.finalizers"), i, v)
    {
        if (!json_is_string(v) || strcmp(json_string_value(v), f))
            json_array_append(keep, v);
    }
    return patch_meta(g, k, obj, "finalizers", keep);
}

/* Removes the references to any of uids (a JSON array of strings). */
static int remove_refs(struct gcc *g, const struct kindinfo *k, const json_t *obj, json_t *uids)
{
    json_t *keep = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(k8s_jpath(obj, "metadata.ownerReferences"), i, r)
    {
        bool drop = false;
        size_t j;
        json_t *u;
        json_array_foreach(uids, j, u) drop |= !strcmp(json_string_value(u), k8s_jstr(r, "uid"));
        if (!drop)
            json_array_append(keep, r);
    }
    return patch_meta(g, k, obj, "ownerReferences", keep);
}

static int delete_obj(struct gcc *g, const struct kindinfo *k, const json_t *obj,
                      const char *policy)
{
    char *path = obj_path(k, k8s_obj_namespace(obj), k8s_obj_name(obj));
    json_t *opts = json_pack("{s:s,s:s,s:s,s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
                             "propagationPolicy", policy, "preconditions", "uid", k8s_obj_uid(obj));
    char *body = json_dumps(opts, JSON_COMPACT);
    struct ck_err err = CK_ERR_INIT;
    int rc = ck_client_do(g->cm->client, "DELETE", path, "application/json", body, strlen(body),
                          NULL, &err);
    if (rc < 0 && (err.reason == CK_R_NOT_FOUND || err.reason == CK_R_CONFLICT))
        rc = 0; /* gone, or another object of that name: nothing of ours to delete */
    else if (rc < 0)
        ck_warn("gc: delete %s: %s", path, err.msg);
    else
        ck_v(1, "gc: deleted %s (%s)", path, policy);
    free(body);
    json_decref(opts);
    free(path);
    return rc;
}

enum owner_state { OWNER_SOLID, OWNER_DANGLING, OWNER_WAITING };

static enum owner_state classify(struct gcc *g, const char *ns, const json_t *ref, int *err)
{
    const struct kindinfo *k = kind_of(g, k8s_jstr(ref, "apiVersion"), k8s_jstr(ref, "kind"));
    if (!k)
        return OWNER_SOLID; /* a kind we cannot check: never collect on its behalf */
    json_t *o = NULL;
    if (k->inf) {
        json_t *m = ck_indexer_by_index(ck_informer_indexer(k->inf), "uid", k8s_jstr(ref, "uid"));
        if (json_array_size(m))
            o = json_incref(json_array_get(m, 0));
        json_decref(m);
    }
    if (!o) { /* the cache may lag: ask the API server */
        char *path = obj_path(k, ns, k8s_jstr(ref, "name"));
        struct ck_err e = CK_ERR_INIT;
        if (ck_client_get_json(g->cm->client, path, &o, &e) < 0) {
            o = NULL;
            if (e.reason != CK_R_NOT_FOUND)
                *err = 1;
        }
        free(path);
        if (*err)
            return OWNER_SOLID;
    }
    enum owner_state st = OWNER_SOLID;
    if (!o || strcmp(k8s_obj_uid(o), k8s_jstr(ref, "uid")))
        st = OWNER_DANGLING;
    else if (k8s_obj_deleting(o) && has_finalizer(o, FIN_FOREGROUND))
        st = OWNER_WAITING;
    json_decref(o);
    return st;
}

static int attempt_to_delete(struct gcc *g, const struct kindinfo *k, const json_t *obj)
{
    json_t *refs = k8s_jpath(obj, "metadata.ownerReferences");
    if (!k8s_jlen(refs))
        return 0;
    int solid = 0, waiting = 0, dangling = 0, failed = 0;
    json_t *drop = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(refs, i, r)
    {
        enum owner_state st = classify(g, k8s_obj_namespace(obj), r, &failed);
        if (st == OWNER_SOLID)
            solid++;
        else
            json_array_append_new(drop, json_string(k8s_jstr(r, "uid")));
        waiting += st == OWNER_WAITING;
        dangling += st == OWNER_DANGLING;
    }
    if (failed) {
        json_decref(drop);
        return -1;
    }
    json_t *kinds, *deps = dependents(g, k8s_obj_uid(obj), &kinds);
    const char *policy;
    int rc = 0;
    switch (gc_decide(solid, dangling, waiting, json_array_size(deps) > 0,
                      has_finalizer(obj, FIN_ORPHAN), has_finalizer(obj, FIN_FOREGROUND),
                      &policy)) {
    case GC_KEEP:
        break;
    case GC_REMOVE_REFS:
        rc = remove_refs(g, k, obj, drop);
        break;
    case GC_DELETE:
        rc = delete_obj(g, k, obj, policy);
        break;
    }
    json_decref(deps);
    json_decref(kinds);
    json_decref(drop);
    return rc;
}

static int orphan_dependents(struct gcc *g, const struct kindinfo *k, const json_t *owner)
{
    json_t *kinds, *deps = dependents(g, k8s_obj_uid(owner), &kinds);
    json_t *uids = json_pack("[s]", k8s_obj_uid(owner));
    int rc = 0;
    for (size_t i = 0; i < json_array_size(deps); i++) {
        int ki = (int)json_integer_value(json_array_get(kinds, i));
        if (remove_refs(g, &g->kinds[ki], json_array_get(deps, i), uids) < 0)
            rc = -1;
    }
    json_decref(uids);
    json_decref(deps);
    json_decref(kinds);
    if (rc == 0)
        rc = remove_finalizer(g, k, owner, FIN_ORPHAN);
    return rc;
}

static int deleting_dependents(struct gcc *g, const struct kindinfo *k, const json_t *owner)
{
    json_t *kinds, *deps = dependents(g, k8s_obj_uid(owner), &kinds);
    int blocking = 0;
    for (size_t i = 0; i < json_array_size(deps); i++) {
        json_t *d = json_array_get(deps, i);
        size_t j;
        json_t *r;
        json_array_foreach(k8s_jpath(d, "metadata.ownerReferences"), j, r)
        {
            if (!strcmp(k8s_jstr(r, "uid"), k8s_obj_uid(owner)) &&
                json_is_true(json_object_get(r, "blockOwnerDeletion")))
                blocking++;
        }
        if (!k8s_obj_deleting(d))
            enqueue(g, (int)json_integer_value(json_array_get(kinds, i)), d);
    }
    json_decref(deps);
    json_decref(kinds);
    if (blocking)
        return 0; /* their deletion events bring the owner back */
    return remove_finalizer(g, k, owner, FIN_FOREGROUND);
}

static int sync_item(void *arg, const char *item)
{
    struct gcc *g = arg;
    int kind = atoi(item);
    const char *key = strchr(item, '|');
    if (!key || kind < 0 || kind >= GC_WATCHED)
        return 0;
    const struct kindinfo *k = &g->kinds[kind];
    json_t *obj = ck_indexer_get(ck_informer_indexer(k->inf), key + 1);
    if (!obj)
        return 0;
    int rc = 0;
    if (k8s_obj_deleting(obj)) {
        if (has_finalizer(obj, FIN_ORPHAN))
            rc = orphan_dependents(g, k, obj);
        else if (has_finalizer(obj, FIN_FOREGROUND))
            rc = deleting_dependents(g, k, obj);
    } else {
        rc = attempt_to_delete(g, k, obj);
    }
    json_decref(obj);
    return rc;
}

static int gc_init(struct cm *cm, void **state)
{
    struct gcc *g = ck_calloc(1, sizeof(*g));
    g->cm = cm;
    g->q = wq_new(&(struct wq_opts){.name = "garbage_collector_attempt_to_delete"});
    static const struct kindinfo fixed[] = {
        {"v1", "Pod", "pods", NULL, NULL},
        {"apps/v1", "ReplicaSet", "replicasets", NULL, NULL},
        {"apps/v1", "Deployment", "deployments", NULL, NULL},
        {"v1", "ReplicationController", "replicationcontrollers", NULL, NULL},
        {"apps/v1", "StatefulSet", "statefulsets", NULL, NULL},
        {"apps/v1", "DaemonSet", "daemonsets", NULL, NULL},
        {"batch/v1", "Job", "jobs", NULL, NULL},
        {"batch/v1", "CronJob", "cronjobs", NULL, NULL},
        {"apps/v1", "ControllerRevision", "controllerrevisions", NULL, NULL},
        {"v1", "PersistentVolumeClaim", "persistentvolumeclaims", NULL, NULL},
        {"discovery.k8s.io/v1", "EndpointSlice", "endpointslices", NULL, NULL},
        {"v1", "Service", "services", NULL, NULL}, /* owner of EndpointSlices */
        {"v1", "ConfigMap", "configmaps", NULL, NULL},
        {"v1", "Secret", "secrets", NULL, NULL},
        {"v1", "Node", "nodes", NULL, NULL},
    };
    _Static_assert(sizeof(fixed) / sizeof(fixed[0]) <= 16, "kinds[] too small");
    g->nkinds = sizeof(fixed) / sizeof(fixed[0]);
    memcpy(g->kinds, fixed, sizeof(fixed));
    struct ck_informer *shared[] = {cm->pods, cm->rss, cm->deps, cm->rcs};
    for (int i = 0; i < GC_WATCHED; i++) {
        struct kindinfo *k = &g->kinds[i];
        if (i < 4) {
            k->inf = shared[i];
            k->index = GC_INDEX;
            continue;
        }
        char *path = ck_asprintf("%s%s/%s", strchr(k->api_version, '/') ? "/apis/" : "/api/",
                                 k->api_version, k->plural);
        k->inf = ck_informer_factory_get(cm->factory, path);
        k->index = GC_OWN_INDEX;
        ck_indexer_add_index(ck_informer_indexer(k->inf), GC_OWN_INDEX, cm_index_owner_uid);
        free(path);
    }
    for (int i = 0; i < GC_WATCHED; i++) {
        g->hctx[i].gc = g;
        g->hctx[i].idx = i;
        ck_informer_add_handlers(g->kinds[i].inf, &(struct ck_informer_handlers){
                                                      on_add, on_update, on_delete, &g->hctx[i]});
    }
    cm->gc_state = g;
    *state = g;
    return 0;
}

static void gc_run(void *state)
{
    struct gcc *g = state;
    g->w = (struct cm_workers){.q = g->q, .sync = sync_item, .arg = g, .ctrl = &cm_gc};
    cm_workers_start(&g->w, g->cm->workers);
}

static void gc_stop(void *state)
{
    struct gcc *g = state;
    wq_shutdown(g->q);
    cm_workers_join(&g->w);
}

static void gc_free(void *state)
{
    struct gcc *g = state;
    wq_free(g->q);
    free(g);
}

struct cm_controller cm_gc = {.name = "garbagecollector",
                              .alias = "garbage-collector-controller",
                              .init = gc_init,
                              .run = gc_run,
                              .stop = gc_stop,
                              .free = gc_free};
