/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers every controller shares: JSON accessors, owner indexes, ClaimObjects (adoption and
 * release through the client), worker threads and the --controllers list. */
#include "controllers/cm.h"
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

struct cm_controller **cm_controllers(void)
{
    static struct cm_controller *all[] = {&cm_replicaset,
                                          &cm_rc,
                                          &cm_deployment,
                                          &cm_gc,
                                          &cm_job,
                                          &cm_cronjob,
                                          &cm_statefulset,
                                          &cm_daemonset,
                                          &cm_disruption,
                                          &cm_namespace,
                                          &cm_ttlafterfinished,
                                          &cm_endpoints,
                                          &cm_endpointslice,
                                          &cm_epsmirror,
                                          &cm_nodelifecycle,
                                          &cm_podgc,
                                          &cm_nodeipam,
                                          &cm_csrapproving,
                                          &cm_csrsigning,
                                          &cm_serviceaccount,
                                          &cm_clusterroleaggregation,
                                          &cm_rootcacert,   /* satoken */
                                          &cm_tokencleaner, /* satoken */
                                          &cm_resourcequota, /* admission */
                                          NULL};
    return all;
}

static bool list_has(const char *spec, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = spec; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, word, n))
            return true;
        p += len + (e ? 1 : 0);
    }
    return false;
}

bool cm_controller_enabled(const char *spec, const struct cm_controller *c)
{
    if (!spec)
        spec = "*";
    char neg[96], neg2[96];
    snprintf(neg, sizeof(neg), "-%s", c->name);
    snprintf(neg2, sizeof(neg2), "-%s", c->alias);
    if (list_has(spec, neg) || list_has(spec, neg2))
        return false;
    return list_has(spec, c->name) || list_has(spec, c->alias) || list_has(spec, "*");
}

int64_t cm_jint(const json_t *obj, const char *path, int64_t def)
{
    json_t *v = k8s_jpath(obj, path);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

int64_t cm_jtime_ns(const json_t *obj, const char *path)
{
    const char *s = k8s_jpath_str(obj, path);
    time_t t;
    if (!*s || ck_time_parse_rfc3339(s, &t) < 0)
        return 0;
    /* clamped to +-2^62 ns (the year 2116) so that callers may add durations up to 2^62 ns */
    const int64_t lim = INT64_MAX / 2 / 1000000000LL;
    if ((int64_t)t > lim || (int64_t)t < -lim)
        return ((int64_t)t > 0 ? lim : -lim) * 1000000000LL;
    return (int64_t)t * 1000000000LL;
}

void cm_now(char out[32])
{
    char b[21];
    ck_time_rfc3339(time(NULL), b);
    snprintf(out, 32, "%s", b);
}

void cm_index_owner_uid(const json_t *obj, ck_index_emit_fn emit, void *ctx)
{
    size_t i;
    json_t *r;
    json_array_foreach(k8s_jpath(obj, "metadata.ownerReferences"), i, r)
    {
        const char *u = k8s_jstr(r, "uid");
        if (*u)
            emit(ctx, u);
    }
}

void cm_index_uid(const json_t *obj, ck_index_emit_fn emit, void *ctx)
{
    const char *u = k8s_obj_uid(obj);
    if (*u)
        emit(ctx, u);
}

void cm_init_informers(struct cm *cm)
{
    cm->pods = ck_informer_factory_get(cm->factory, CM_PODS_PATH);
    cm->rss = ck_informer_factory_get(cm->factory, CM_RS_PATH);
    cm->deps = ck_informer_factory_get(cm->factory, CM_DEP_PATH);
    cm->rcs = ck_informer_factory_get(cm->factory, CM_RC_PATH);
    struct ck_informer *all[] = {cm->pods, cm->rss, cm->deps, cm->rcs};
    for (size_t i = 0; i < 4; i++) {
        ck_indexer_add_index(ck_informer_indexer(all[i]), "owner-uid", cm_index_owner_uid);
        ck_indexer_add_index(ck_informer_indexer(all[i]), "uid", cm_index_uid);
    }
}

json_t *cm_get(struct ck_informer *inf, const char *ns, const char *name)
{
    char *key = ck_asprintf("%s/%s", ns, name);
    json_t *o = ck_indexer_get(ck_informer_indexer(inf), key);
    free(key);
    return o;
}

static __thread bool zero_empty;

static bool is_empty(const json_t *v)
{
    if (zero_empty && v && ((json_is_integer(v) && json_integer_value(v) == 0) || json_is_false(v)))
        return true;
    return !v || json_is_null(v) || (json_is_object(v) && json_object_size(v) == 0) ||
           (json_is_array(v) && json_array_size(v) == 0);
}

static bool sem_equal(const json_t *a, const json_t *b);

bool cm_json_semantic_equal(const json_t *a, const json_t *b)
{
    return sem_equal(a, b);
}

static __thread bool in_status;

bool cm_status_equal(const json_t *a, const json_t *b)
{
    in_status = true;
    bool r = sem_equal(a, b);
    in_status = false;
    return r;
}

static bool sem_equal(const json_t *a, const json_t *b)
{
    zero_empty = in_status;
    if (is_empty(a) || is_empty(b))
        return is_empty(a) && is_empty(b);
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v)
        {
            if (!sem_equal(v, json_object_get(b, k)))
                return false;
        }
        json_object_foreach((json_t *)b, k, v)
        {
            if (is_empty(json_object_get(a, k)) && !is_empty(v))
                return false;
        }
        return true;
    }
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!sem_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

json_t *cm_controller_ref(const json_t *owner, const char *api_version, const char *kind)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion", api_version, "kind", kind, "name",
                     k8s_obj_name(owner), "uid", k8s_obj_uid(owner), "controller", 1,
                     "blockOwnerDeletion", 1);
}

/* Writes ownerReferences (whole list) guarded by uid and resourceVersion tests. */
static int patch_refs(struct cm *cm, const json_t *obj, const char *coll, json_t *refs,
                      json_t **out)
{
    char *path = ck_asprintf("%s/%s", coll, k8s_obj_name(obj));
    json_t *patch = json_pack("[{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:o}]", "op", "test", "path",
                              "/metadata/uid", "value", k8s_obj_uid(obj), "op", "test", "path",
                              "/metadata/resourceVersion", "value",
                              k8s_jpath_str(obj, "metadata.resourceVersion"), "op", "add", "path",
                              "/metadata/ownerReferences", "value", refs);
    struct ck_err err = CK_ERR_INIT;
    int rc =
        ck_client_patch_json(cm->client, path, "application/json-patch+json", patch, out, &err);
    if (rc < 0 && err.reason != CK_R_NOT_FOUND)
        ck_warn("ownerReferences of %s: %s", path, err.msg);
    json_decref(patch);
    free(path);
    return rc;
}

json_t *cm_claim(struct cm *cm, const json_t *owner, const char *api_version, const char *kind,
                 const char *owner_path, const struct sel *sel, const json_t *candidates,
                 const char *coll)
{
    json_t *claimed = json_array();
    const char *uid = k8s_obj_uid(owner);
    bool owner_deleting = k8s_obj_deleting(owner);
    int can_adopt = -1; /* RecheckDeletionTimestamp, done once on first need */
    size_t i;
    json_t *c;
    json_array_foreach(candidates, i, c)
    {
        bool match = sel_matches(sel, sel_lookup_json, k8s_jpath(c, "metadata.labels"));
        const json_t *ref = k8s_obj_controller_of(c);
        if (ref) {
            if (strcmp(k8s_jstr(ref, "uid"), uid))
                continue;
            if (match) {
                json_array_append(claimed, c);
                continue;
            }
            if (owner_deleting)
                continue;
            json_t *refs = json_array();
            size_t j;
            json_t *r;
            json_array_foreach(k8s_jpath(c, "metadata.ownerReferences"), j, r)
            {
                if (strcmp(k8s_jstr(r, "uid"), uid))
                    json_array_append(refs, r);
            }
            patch_refs(cm, c, coll, refs, NULL); /* released: not ours any more */
            continue;
        }
        if (owner_deleting || !match || k8s_obj_deleting(c))
            continue;
        if (can_adopt < 0) {
            json_t *fresh = NULL;
            struct ck_err err = CK_ERR_INIT;
            can_adopt = ck_client_get_json(cm->client, owner_path, &fresh, &err) == 0 &&
                        !strcmp(k8s_obj_uid(fresh), uid) && !k8s_obj_deleting(fresh);
            json_decref(fresh);
        }
        if (!can_adopt)
            continue;
        json_t *refs = json_array();
        size_t j;
        json_t *r;
        json_array_foreach(k8s_jpath(c, "metadata.ownerReferences"), j, r)
        {
            json_array_append(refs, r);
        }
        json_array_append_new(refs, cm_controller_ref(owner, api_version, kind));
        json_t *adopted = NULL;
        if (patch_refs(cm, c, coll, refs, &adopted) == 0 && adopted)
            json_array_append(claimed, adopted);
        json_decref(adopted);
    }
    return claimed;
}

static void *worker_main(void *arg)
{
    struct cm_workers *w = arg;
    char *key;
    while ((key = wq_get(w->q)) != NULL) {
        int rc = w->sync(w->arg, key);
        if (w->ctrl) {
            atomic_fetch_add(&w->ctrl->syncs, 1);
            if (rc < 0)
                atomic_fetch_add(&w->ctrl->errors, 1);
        }
        if (rc < 0)
            wq_add_rate_limited(w->q, key);
        else
            wq_forget(w->q, key);
        wq_done(w->q, key);
        free(key);
    }
    return NULL;
}

void cm_workers_start(struct cm_workers *w, int n)
{
    w->n = n;
    w->t = ck_calloc((size_t)n, sizeof(pthread_t));
    for (int i = 0; i < n; i++)
        pthread_create(&w->t[i], NULL, worker_main, w);
}

void cm_workers_join(struct cm_workers *w)
{
    for (int i = 0; i < w->n; i++)
        pthread_join(w->t[i], NULL);
    free(w->t);
    w->t = NULL;
    w->n = 0;
}

void cm_enqueue_obj(struct wq *q, const json_t *obj)
{
    char *key = ck_meta_namespace_key(obj);
    if (key)
        wq_add(q, key);
    free(key);
}
