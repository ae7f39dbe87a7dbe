/* SPDX-License-Identifier: Apache-2.0 */
/* The garbage collector (pkg/controller/garbagecollector): the ownerReferences graph is kept
 * as an owner-uid index on one informer ("monitor") per resource that discovery reports with
 * list, watch and delete (GetDeletableResources), events excepted. The workload kinds the other
 * controllers already watch use the shared informers (full objects); every other resource gets
 * a metadata-only informer of the collector's own. Discovery is re-read every 30 s: monitors
 * are added for new resources (CRDs) and stopped for resources no longer served.
 *
 * One queue (attemptToDelete) holds objects to check, as "<apiVersion>/<resource>|<key>":
 * - an object whose owners are all gone (or have another uid) is deleted, with the
 *   propagation its own finalizers ask for; owners that wait for their dependents in
 *   foreground make it deleted in foreground; an object with a solid owner only loses its
 *   references to dangling and waiting owners;
 * - an owner being deleted with the orphan finalizer has its references removed from every
 *   dependent, then the finalizer;
 * - an owner being deleted with foregroundDeletion has every dependent queued, and loses the
 *   finalizer once no dependent with blockOwnerDeletion is left.
 * Owners are resolved through discovery by group and kind; an owner whose kind discovery does
 * not know is neither solid nor absent: the item is retried with backoff (upstream's
 * restMappingError) and discovery is re-read sooner, so that a new CRD is found. */
#include "ckube/discovery.h"
#include "ckube/indexer.h"
#include "controllers/cm.h"
#include "controllers/gcutil.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

#define FIN_FOREGROUND "foregroundDeletion"
#define FIN_ORPHAN "orphan"
#define GC_RESYNC_MS 30000    /* upstream's --garbage-collector resync period of discovery */
#define GC_KICK_MIN_MS 5000   /* an unknown owner kind re-reads discovery at most this often */
#define GC_SYNC_WAIT_MS 10000 /* new monitors' cache sync, bounded */
#define GC_WORKERS 20         /* upstream's --concurrent-gc-syncs */
/* A foreground owner is re-checked at most this often as its dependents go: a pass is O(its
 * dependents), and 10,000 pods going one by one would make that quadratic. */
#define GC_OWNER_BATCH_NS (50 * 1000000LL)
#define GC_INDEX "owner-uid" /* cm_init_informers' indexes on the four shared informers */
#define GC_UID_INDEX "uid"
#define GC_OWN_INDEX "gc-owner" /* the same, added here to the other informers */
#define GC_OWN_UID_INDEX "gc-uid"

struct gkind {
    struct ck_api_resource r; /* owned strings */
    char *id;                 /* "<apiVersion>/<resource>": the queue items' prefix */
    struct ck_informer *inf;
    bool own; /* inf is the collector's metadata informer (stopped and freed with the kind) */
    const char *owner_index, *uid_index;
    struct gcc *gc;
};

struct gcc {
    struct cm *cm;
    struct wq *q;
    struct cm_workers w;
    pthread_rwlock_t mu; /* watched[] and mapper; held by workers for a whole sync */
    struct gkind **watched;
    size_t nwatched, capw;
    struct ck_api_resources mapper; /* every served resource (preferred versions) */
    pthread_t syncer;
    bool syncer_on, workers_on;
    pthread_mutex_t smu; /* stopping, kick, last_kick */
    pthread_cond_t scv;
    bool stopping, kick;
    int64_t last_kick;
};

/* The kinds the other controllers watch through the shared factory: the collector uses those
 * informers (full objects) rather than a second, metadata-only, copy. The first four are
 * cm_init_informers' own. */
static const struct {
    const char *group, *version, *resource, *kind;
    bool namespaced;
} typed[] = {
    {"", "v1", "pods", "Pod", true},
    {"apps", "v1", "replicasets", "ReplicaSet", true},
    {"apps", "v1", "deployments", "Deployment", true},
    {"", "v1", "replicationcontrollers", "ReplicationController", true},
    {"apps", "v1", "statefulsets", "StatefulSet", true},
    {"apps", "v1", "daemonsets", "DaemonSet", true},
    {"batch", "v1", "jobs", "Job", true},
    {"batch", "v1", "cronjobs", "CronJob", true},
    {"apps", "v1", "controllerrevisions", "ControllerRevision", true},
    {"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true},
    {"discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true},
    {"", "v1", "services", "Service", true},
    {"", "v1", "endpoints", "Endpoints", true},
    {"policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true},
    {"", "v1", "nodes", "Node", false},
    {"", "v1", "namespaces", "Namespace", false},
};
#define NTYPED (sizeof(typed) / sizeof(typed[0]))

static struct gkind *gkind_new(struct gcc *g, const struct ck_api_resource *r)
{
    struct gkind *k = ck_calloc(1, sizeof(*k));
    struct ck_api_resources one = {0};
    ck_api_resources_append(&one, r);
    k->r = one.v[0];
    free(one.v);
    k->id = ck_asprintf("%s/%s", k->r.api_version, k->r.resource);
    k->gc = g;
    return k;
}

static void gkind_free(struct gkind *k)
{
    if (!k)
        return;
    if (k->own)
        ck_informer_free(k->inf);
    free(k->r.group);
    free(k->r.version);
    free(k->r.api_version);
    free(k->r.resource);
    free(k->r.kind);
    free(k->id);
    free(k);
}

static void *stop_main(void *arg)
{
    ck_informer_stop(arg);
    return NULL;
}

/* Frees kinds (their own informers stopped together: each stop waits up to a second for its
 * watch to notice, and there are dozens). */
static void gkinds_free(struct gkind **ks, size_t n)
{
    pthread_t *t = ck_calloc(n + 1, sizeof(*t));
    bool *started = ck_calloc(n + 1, sizeof(*started));
    for (size_t i = 0; i < n; i++)
        if (ks[i]->own)
            started[i] = pthread_create(&t[i], NULL, stop_main, ks[i]->inf) == 0;
    for (size_t i = 0; i < n; i++)
        if (started[i])
            pthread_join(t[i], NULL);
    for (size_t i = 0; i < n; i++)
        gkind_free(ks[i]);
    free(started);
    free(t);
}

/* ---- lookups (g->mu held) ---- */

static struct gkind *watched_by_id(struct gcc *g, const char *id)
{
    for (size_t i = 0; i < g->nwatched; i++)
        if (!strcmp(g->watched[i]->id, id))
            return g->watched[i];
    return NULL;
}

static struct gkind *watched_by_kind(struct gcc *g, const char *group, const char *kind)
{
    for (size_t i = 0; i < g->nwatched; i++)
        if (!strcmp(g->watched[i]->r.kind, kind) && !strcmp(g->watched[i]->r.group, group))
            return g->watched[i];
    return NULL;
}

/* The owner's resource by its reference's group and kind: a watched kind first, then anything
 * discovery lists. */
static const struct ck_api_resource *resolve(struct gcc *g, const json_t *ref, struct gkind **wk)
{
    char group[256];
    ck_api_version_group(k8s_jstr(ref, "apiVersion"), group, sizeof(group));
    *wk = watched_by_kind(g, group, k8s_jstr(ref, "kind"));
    if (*wk)
        return &(*wk)->r;
    return ck_discovery_find_kind(&g->mapper, group, k8s_jstr(ref, "kind"));
}

static void enqueue_after(struct gcc *g, const struct gkind *k, const json_t *obj, int64_t ns)
{
    char *key = ck_meta_namespace_key(obj);
    if (!key)
        return;
    char *item = ck_asprintf("%s|%s", k->id, key);
    wq_add_after(g->q, item, ns);
    free(item);
    free(key);
}

static void enqueue(struct gcc *g, const struct gkind *k, const json_t *obj)
{
    enqueue_after(g, k, obj, 0);
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

struct deps {
    json_t *objs;         /* array */
    struct gkind **kinds; /* kinds[i] is the kind of objs[i] */
};

/* Every watched object that names uid as an owner. */
static struct deps dependents(struct gcc *g, const char *uid)
{
    struct deps d = {json_array(), NULL};
    size_t cap = 0;
    for (size_t i = 0; i < g->nwatched; i++) {
        struct gkind *k = g->watched[i];
        json_t *m = ck_indexer_by_index(ck_informer_indexer(k->inf), k->owner_index, uid);
        size_t j;
        json_t *o;
        json_array_foreach(m, j, o)
        {
            size_t n = json_array_size(d.objs);
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                d.kinds = ck_realloc(d.kinds, cap * sizeof(*d.kinds));
            }
            d.kinds[n] = k;
            json_array_append(d.objs, o);
        }
        json_decref(m);
    }
    return d;
}

static void deps_release(struct deps *d)
{
    json_decref(d->objs);
    free(d->kinds);
}

static void enqueue_dependents(struct gcc *g, const char *uid)
{
    struct deps d = dependents(g, uid);
    for (size_t i = 0; i < json_array_size(d.objs); i++)
        enqueue(g, d.kinds[i], json_array_get(d.objs, i));
    deps_release(&d);
}

/* The watched object whose uid is given, or NULL (new reference). */
static json_t *by_uid(struct gkind *k, const char *uid)
{
    json_t *m = ck_indexer_by_index(ck_informer_indexer(k->inf), k->uid_index, uid);
    json_t *o = json_array_size(m) ? json_incref(json_array_get(m, 0)) : NULL;
    json_decref(m);
    return o;
}

static void enqueue_owners(struct gcc *g, const json_t *obj)
{
    size_t i;
    json_t *r;
    json_array_foreach(k8s_jpath(obj, "metadata.ownerReferences"), i, r)
    {
        struct gkind *k;
        if (!resolve(g, r, &k) || !k)
            continue;
        json_t *o = by_uid(k, k8s_jstr(r, "uid"));
        if (o && has_finalizer(o, FIN_FOREGROUND)) /* batched: each pass walks every dependent */
            enqueue_after(g, k, o, GC_OWNER_BATCH_NS);
        json_decref(o);
    }
}

/* ---- informer handlers (each takes the read lock itself) ---- */

static bool wants(const json_t *obj)
{
    return k8s_jlen(k8s_jpath(obj, "metadata.ownerReferences")) ||
           (k8s_obj_deleting(obj) &&
            (has_finalizer(obj, FIN_FOREGROUND) || has_finalizer(obj, FIN_ORPHAN)));
}

static void on_add(void *arg, json_t *obj)
{
    struct gkind *k = arg;
    if (wants(obj))
        enqueue(k->gc, k, obj);
}

static void on_update(void *arg, json_t *old, json_t *obj)
{
    struct gkind *k = arg;
    struct gcc *g = k->gc;
    bool refs = !json_equal(k8s_jpath(old, "metadata.ownerReferences"),
                            k8s_jpath(obj, "metadata.ownerReferences"));
    bool fin = k8s_obj_deleting(obj) &&
               (has_finalizer(obj, FIN_FOREGROUND) || has_finalizer(obj, FIN_ORPHAN));
    if (refs || fin)
        enqueue(g, k, obj);
    if (!refs && !(fin && has_finalizer(obj, FIN_FOREGROUND) && !k8s_obj_deleting(old)))
        return;
    pthread_rwlock_rdlock(&g->mu);
    if (refs) /* a dropped reference may have been the last one blocking a foreground owner */
        enqueue_owners(g, old);
    if (fin && has_finalizer(obj, FIN_FOREGROUND) && !k8s_obj_deleting(old))
        enqueue_dependents(g, k8s_obj_uid(obj));
    pthread_rwlock_unlock(&g->mu);
}

static void on_delete(void *arg, json_t *obj)
{
    struct gkind *k = arg;
    struct gcc *g = k->gc;
    pthread_rwlock_rdlock(&g->mu);
    enqueue_dependents(g, k8s_obj_uid(obj));
    enqueue_owners(g, obj);
    pthread_rwlock_unlock(&g->mu);
}

/* ---- writes ---- */

/* JSON patch guarded by the resourceVersion. */
static int patch_meta(struct gcc *g, const struct gkind *k, const json_t *obj, const char *field,
                      json_t *value)
{
    char *path = ck_api_resource_path(&k->r, k8s_obj_namespace(obj), k8s_obj_name(obj));
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

static int remove_finalizer(struct gcc *g, const struct gkind *k, const json_t *obj, const char *f)
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
static int remove_refs(struct gcc *g, const struct gkind *k, const json_t *obj, json_t *uids)
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

static int delete_obj(struct gcc *g, const struct gkind *k, const json_t *obj, const char *policy)
{
    char *path = ck_api_resource_path(&k->r, k8s_obj_namespace(obj), k8s_obj_name(obj));
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

/* ---- decisions ---- */

enum owner_state { OWNER_SOLID, OWNER_DANGLING, OWNER_WAITING, OWNER_UNKNOWN };

static void kick_discovery(struct gcc *g)
{
    pthread_mutex_lock(&g->smu);
    if (ck_mono_ms() - g->last_kick >= GC_KICK_MIN_MS) {
        g->last_kick = ck_mono_ms();
        g->kick = true;
        pthread_cond_signal(&g->scv);
    }
    pthread_mutex_unlock(&g->smu);
}

/* isDangling: the owner from the cache, else from the API server (the cache may lag). */
static enum owner_state classify(struct gcc *g, const json_t *dep, const json_t *ref, int *err)
{
    struct gkind *wk;
    const struct ck_api_resource *r = resolve(g, ref, &wk);
    if (!r) {
        ck_v(2, "gc: %s/%s: cannot resolve the owner kind %s %s; retrying", k8s_obj_namespace(dep),
             k8s_obj_name(dep), k8s_jstr(ref, "apiVersion"), k8s_jstr(ref, "kind"));
        kick_discovery(g);
        return OWNER_UNKNOWN;
    }
    const char *ns = k8s_obj_namespace(dep);
    if (r->namespaced && !*ns)
        return OWNER_DANGLING; /* a cluster-scoped object cannot have a namespaced owner */
    json_t *o = wk ? by_uid(wk, k8s_jstr(ref, "uid")) : NULL;
    if (!o) {
        char *path = ck_api_resource_path(r, ns, k8s_jstr(ref, "name"));
        struct ck_err e = CK_ERR_INIT;
        if (ck_client_get_json(g->cm->client, path, &o, &e) < 0) {
            o = NULL;
            if (e.reason != CK_R_NOT_FOUND) {
                ck_v(2, "gc: owner %s: %s", path, e.msg);
                *err = 1;
            }
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

static int attempt_to_delete(struct gcc *g, const struct gkind *k, const json_t *obj)
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
        enum owner_state st = classify(g, obj, r, &failed);
        if (st == OWNER_UNKNOWN)
            failed = 1;
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
    struct deps d = dependents(g, k8s_obj_uid(obj));
    const char *policy;
    int rc = 0;
    switch (gc_decide(solid, dangling, waiting, json_array_size(d.objs) > 0,
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
    deps_release(&d);
    json_decref(drop);
    return rc;
}

static int orphan_dependents(struct gcc *g, const struct gkind *k, const json_t *owner)
{
    struct deps d = dependents(g, k8s_obj_uid(owner));
    json_t *uids = json_pack("[s]", k8s_obj_uid(owner));
    int rc = 0;
    for (size_t i = 0; i < json_array_size(d.objs); i++)
        if (remove_refs(g, d.kinds[i], json_array_get(d.objs, i), uids) < 0)
            rc = -1;
    json_decref(uids);
    deps_release(&d);
    if (rc == 0)
        rc = remove_finalizer(g, k, owner, FIN_ORPHAN);
    return rc;
}

static int deleting_dependents(struct gcc *g, const struct gkind *k, const json_t *owner)
{
    struct deps d = dependents(g, k8s_obj_uid(owner));
    int blocking = 0;
    for (size_t i = 0; i < json_array_size(d.objs); i++) {
        json_t *o = json_array_get(d.objs, i);
        size_t j;
        json_t *r;
        json_array_foreach(k8s_jpath(o, "metadata.ownerReferences"), j, r)
        {
            if (!strcmp(k8s_jstr(r, "uid"), k8s_obj_uid(owner)) &&
                json_is_true(json_object_get(r, "blockOwnerDeletion")))
                blocking++;
        }
        if (!k8s_obj_deleting(o))
            enqueue(g, d.kinds[i], o);
    }
    deps_release(&d);
    if (blocking)
        return 0; /* their deletion events bring the owner back */
    return remove_finalizer(g, k, owner, FIN_FOREGROUND);
}

static int sync_item(void *arg, const char *item)
{
    struct gcc *g = arg;
    char id[512];
    const char *key = gc_split_item(item, id, sizeof(id));
    if (!key)
        return 0;
    pthread_rwlock_rdlock(&g->mu);
    struct gkind *k = watched_by_id(g, id);
    json_t *obj = k ? ck_indexer_get(ck_informer_indexer(k->inf), key) : NULL;
    int rc = 0;
    if (obj && k8s_obj_deleting(obj)) {
        if (has_finalizer(obj, FIN_ORPHAN))
            rc = orphan_dependents(g, k, obj);
        else if (has_finalizer(obj, FIN_FOREGROUND))
            rc = deleting_dependents(g, k, obj);
    } else if (obj) {
        rc = attempt_to_delete(g, k, obj);
    }
    pthread_rwlock_unlock(&g->mu);
    json_decref(obj);
    return rc;
}

/* ---- monitors ---- */

static void watch_kind(struct gkind *k)
{
    ck_indexer_add_index(ck_informer_indexer(k->inf), k->owner_index, cm_index_owner_uid);
    ck_indexer_add_index(ck_informer_indexer(k->inf), k->uid_index, cm_index_uid);
    ck_informer_add_handlers(k->inf,
                             &(struct ck_informer_handlers){on_add, on_update, on_delete, k});
}

static void add_watched(struct gcc *g, struct gkind *k)
{
    if (g->nwatched == g->capw) {
        g->capw = g->capw ? g->capw * 2 : 32;
        g->watched = ck_realloc(g->watched, g->capw * sizeof(*g->watched));
    }
    g->watched[g->nwatched++] = k;
}

static bool stopping(struct gcc *g)
{
    pthread_mutex_lock(&g->smu);
    bool s = g->stopping;
    pthread_mutex_unlock(&g->smu);
    return s || *g->cm->stop;
}

/* One pass of upstream's GarbageCollector.Sync: returns -1 when discovery failed as a whole. */
static int resync(struct gcc *g)
{
    struct ck_api_resources all = {0};
    struct ck_err err = CK_ERR_INIT;
    int drc = ck_discovery_preferred(g->cm->client, &all, &err);
    if (drc < 0) {
        ck_warn("gc: discovery: %s", err.msg);
        return -1;
    }
    if (drc > 0) /* partial: keep the monitors of the groups that failed (upstream does too) */
        ck_v(1, "gc: discovery: %s", err.msg);
    struct gkind **added = NULL, **gone = NULL;
    size_t nadded = 0, ngone = 0;
    const unsigned need = CK_VERB_LIST | CK_VERB_WATCH | CK_VERB_DELETE;
    pthread_rwlock_rdlock(&g->mu);
    for (size_t i = 0; i < all.n; i++) {
        const struct ck_api_resource *r = &all.v[i];
        if ((r->verbs & need) != need || gc_ignored(r->group, r->resource))
            continue;
        char *id = ck_asprintf("%s/%s", r->api_version, r->resource);
        bool have = watched_by_id(g, id) != NULL;
        /* the same group and resource at another version is watched already */
        for (size_t j = 0; !have && j < g->nwatched; j++)
            have = !strcmp(g->watched[j]->r.group, r->group) &&
                   !strcmp(g->watched[j]->r.resource, r->resource);
        free(id);
        if (have)
            continue;
        struct gkind *k = gkind_new(g, r);
        k->own = true;
        k->owner_index = GC_OWN_INDEX;
        k->uid_index = GC_OWN_UID_INDEX;
        char *path = ck_api_resource_path(r, NULL, NULL);
        k->inf = ck_informer_new(
            g->cm->client, &(struct ck_informer_opts){.path = path, .transform = gc_trim_meta});
        free(path);
        watch_kind(k);
        added = ck_realloc(added, (nadded + 1) * sizeof(*added));
        added[nadded++] = k;
    }
    for (size_t j = 0; drc == 0 && j < g->nwatched; j++) {
        struct gkind *k = g->watched[j];
        const struct ck_api_resource *r =
            ck_discovery_find_resource(&all, k->r.group, k->r.resource);
        if (k->own && (!r || (r->verbs & need) != need)) {
            gone = ck_realloc(gone, (ngone + 1) * sizeof(*gone));
            gone[ngone++] = k;
        }
    }
    pthread_rwlock_unlock(&g->mu);

    pthread_rwlock_wrlock(&g->mu);
    for (size_t i = 0; i < nadded; i++)
        add_watched(g, added[i]);
    for (size_t i = 0; i < ngone; i++) {
        size_t w = 0;
        for (size_t j = 0; j < g->nwatched; j++)
            if (g->watched[j] != gone[i])
                g->watched[w++] = g->watched[j];
        g->nwatched = w;
    }
    struct ck_api_resources old = g->mapper;
    g->mapper = all;
    pthread_rwlock_unlock(&g->mu);
    ck_api_resources_release(&old);

    for (size_t i = 0; i < nadded; i++) {
        ck_v(1, "gc: monitoring %s", added[i]->id);
        ck_informer_start(added[i]->inf);
    }
    int64_t end = ck_mono_ms() + GC_SYNC_WAIT_MS;
    for (size_t i = 0; i < nadded; i++) {
        while (!ck_informer_has_synced(added[i]->inf) && !stopping(g) && ck_mono_ms() < end)
            ck_informer_wait_synced(added[i]->inf, 100);
        if (!ck_informer_has_synced(added[i]->inf))
            ck_v(1, "gc: monitor %s not synced yet", added[i]->id);
    }
    for (size_t i = 0; i < ngone; i++)
        ck_v(1, "gc: %s no longer served: monitor stopped", gone[i]->id);
    gkinds_free(gone, ngone); /* no reader holds them: the write lock was taken */
    free(added);
    free(gone);
    return 0;
}

static void *syncer_main(void *arg)
{
    struct gcc *g = arg;
    while (!stopping(g)) {
        int rc = resync(g);
        if (!g->workers_on && !stopping(g)) { /* after the first pass, whatever its outcome */
            g->w = (struct cm_workers){.q = g->q, .sync = sync_item, .arg = g, .ctrl = &cm_gc};
            cm_workers_start(&g->w, g->cm->workers > GC_WORKERS ? g->cm->workers : GC_WORKERS);
            g->workers_on = true;
        }
        int64_t wait_ms = rc < 0 ? GC_KICK_MIN_MS : GC_RESYNC_MS;
        int64_t end = ck_mono_ms() + wait_ms;
        pthread_mutex_lock(&g->smu);
        while (!g->stopping && !g->kick && !*g->cm->stop && ck_mono_ms() < end) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 200 * 1000000L; /* short slices: cm->stop is a plain flag */
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&g->scv, &g->smu, &ts);
        }
        g->kick = false;
        pthread_mutex_unlock(&g->smu);
    }
    return NULL;
}

static int gc_init(struct cm *cm, void **state)
{
    struct gcc *g = ck_calloc(1, sizeof(*g));
    g->cm = cm;
    g->q = wq_new(&(struct wq_opts){.name = "garbage_collector_attempt_to_delete"});
    pthread_rwlock_init(&g->mu, NULL);
    pthread_mutex_init(&g->smu, NULL);
    pthread_cond_init(&g->scv, NULL);
    struct ck_informer *shared[] = {cm->pods, cm->rss, cm->deps, cm->rcs};
    for (size_t i = 0; i < NTYPED; i++) {
        struct ck_api_resource r = {(char *)typed[i].group,
                                    (char *)typed[i].version,
                                    NULL,
                                    (char *)typed[i].resource,
                                    (char *)typed[i].kind,
                                    typed[i].namespaced,
                                    CK_VERB_GET | CK_VERB_LIST | CK_VERB_WATCH | CK_VERB_DELETE};
        struct gkind *k = gkind_new(g, &r);
        if (i < 4) {
            k->inf = shared[i];
            k->owner_index = GC_INDEX;
            k->uid_index = GC_UID_INDEX;
            ck_informer_add_handlers(
                k->inf, &(struct ck_informer_handlers){on_add, on_update, on_delete, k});
        } else {
            char *path = ck_api_resource_path(&k->r, NULL, NULL);
            k->inf = ck_informer_factory_get(cm->factory, path);
            free(path);
            k->owner_index = GC_OWN_INDEX;
            k->uid_index = GC_OWN_UID_INDEX;
            watch_kind(k);
        }
        add_watched(g, k);
        ck_api_resources_append(&g->mapper, &k->r);
    }
    cm->gc_state = g;
    *state = g;
    return 0;
}

static void gc_run(void *state)
{
    struct gcc *g = state;
    g->syncer_on = pthread_create(&g->syncer, NULL, syncer_main, g) == 0;
    if (!g->syncer_on)
        ck_fatal("gc: cannot start the discovery thread");
}

static void gc_stop(void *state)
{
    struct gcc *g = state;
    pthread_mutex_lock(&g->smu);
    g->stopping = true;
    pthread_cond_signal(&g->scv);
    pthread_mutex_unlock(&g->smu);
    if (g->syncer_on)
        pthread_join(g->syncer, NULL);
    g->syncer_on = false;
    wq_shutdown(g->q);
    if (g->workers_on)
        cm_workers_join(&g->w);
    g->workers_on = false;
    /* the metadata monitors are ours: stop them while the client still exists */
    pthread_rwlock_wrlock(&g->mu);
    size_t w = 0;
    struct gkind **own = ck_calloc(g->nwatched + 1, sizeof(*own));
    size_t nown = 0;
    for (size_t i = 0; i < g->nwatched; i++) {
        if (g->watched[i]->own)
            own[nown++] = g->watched[i];
        else
            g->watched[w++] = g->watched[i];
    }
    g->nwatched = w;
    pthread_rwlock_unlock(&g->mu);
    gkinds_free(own, nown);
    free(own);
}

static void gc_free(void *state)
{
    struct gcc *g = state;
    gkinds_free(g->watched, g->nwatched);
    free(g->watched);
    ck_api_resources_release(&g->mapper);
    wq_free(g->q);
    pthread_rwlock_destroy(&g->mu);
    pthread_mutex_destroy(&g->smu);
    pthread_cond_destroy(&g->scv);
    free(g);
}

struct cm_controller cm_gc = {.name = "garbagecollector",
                              .alias = "garbage-collector-controller",
                              .init = gc_init,
                              .run = gc_run,
                              .stop = gc_stop,
                              .free = gc_free};
