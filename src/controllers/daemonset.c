/* SPDX-License-Identifier: Apache-2.0 */
/* The DaemonSet controller (pkg/controller/daemon/daemon_controller.go, update.go): informers on
 * DaemonSets, pods, nodes and ControllerRevisions feed a rate-limited queue of set keys. One
 * sync builds the history (the revision whose data is the current template patch, created or
 * renumbered as needed), claims pods by selector, groups them by target node, and, once the
 * expectations of its earlier creations and deletions are met, makes one pod run on every
 * eligible node (the scheduler binds them through a metadata.name node affinity), then rolls
 * out-of-date pods within maxUnavailable / maxSurge. Old revisions beyond
 * revisionHistoryLimit are cleaned up and status is written. */
#include "ckube/indexer.h"
#include "controllers/cm.h"
#include "controllers/daemonset_util.h"
#include "controllers/dputil.h"
#include "controllers/expect.h"
#include "controllers/history.h"
#include "controllers/rsutil.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/selector.h"
#include "lib/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

/* Label / annotation values, "" when missing. */
static const char *olabel(const json_t *o, const char *k)
{
    const char *v = k8s_obj_label(o, k);
    return v ? v : "";
}

#define DS_PATH "/apis/apps/v1/daemonsets"
#define NODES_PATH "/api/v1/nodes"
#define DS_BURST 250                              /* BurstReplicas */
#define BACKOFF_INIT_NS (1LL * 1000000000LL)      /* failedPodsBackoff: 1 s ... */
#define BACKOFF_MAX_NS (15LL * 60 * 1000000000LL) /* ... to 15 min */

/* flowcontrol.Backoff entries keyed "<ds key>/<node>". */
struct backoff {
    struct backoff *next;
    char *key;
    int64_t delay, last;
};

struct dsc {
    struct cm *cm;
    struct ck_informer *dss, *crs, *nodes;
    struct wq *q;
    struct cm_expect *exp;
    struct cm_workers w;
    pthread_mutex_t mu;
    struct backoff *backoff;
};

static struct backoff *backoff_find(struct dsc *c, const char *key)
{
    for (struct backoff *b = c->backoff; b; b = b->next)
        if (!strcmp(b->key, key))
            return b;
    return NULL;
}

/* IsInBackOffSinceUpdate, else Next: returns the delay to wait (0: go ahead, now in backoff). */
static int64_t backoff_check(struct dsc *c, const char *key, int64_t now)
{
    pthread_mutex_lock(&c->mu);
    struct backoff *b = backoff_find(c, key);
    int64_t wait = 0;
    if (b && now - b->last < b->delay) {
        wait = b->delay - (now - b->last);
    } else {
        if (!b) {
            b = ck_calloc(1, sizeof(*b));
            b->key = ck_strdup(key);
            b->next = c->backoff;
            c->backoff = b;
        }
        bool expired = !b->delay || now - b->last > 2 * BACKOFF_MAX_NS;
        b->delay = expired ? BACKOFF_INIT_NS
                           : (b->delay * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : b->delay * 2);
        b->last = now;
    }
    pthread_mutex_unlock(&c->mu);
    return wait;
}

/* Failed pods are deleted at most once per backoff period per node (the kubelet may keep
 * rejecting them); the set is requeued for when the period ends. */
static void filter_failed(struct dsc *c, const char *key, json_t *del)
{
    int64_t now = ck_mono_ns(), requeue = 0;
    for (size_t i = 0; i < json_array_size(del);) {
        const json_t *p = json_array_get(del, i);
        const char *node = ds_target_node(p);
        if (strcmp(k8s_pod_phase(p), "Failed") || !node) {
            i++;
            continue;
        }
        char *bk = ck_asprintf("%s/%s", key, node);
        int64_t w = backoff_check(c, bk, now);
        free(bk);
        if (w > 0) {
            if (!requeue || w < requeue)
                requeue = w;
            json_array_remove(del, i);
        } else {
            ck_warn("daemonset %s: found failed daemon pod %s on node %s, will try to kill it", key,
                    k8s_obj_name(p), node);
            i++;
        }
    }
    if (requeue)
        wq_add_after(c->q, key, requeue);
}

static json_t *resolve_ref(struct dsc *c, const char *ns, const json_t *ref)
{
    return cm_resolve_controller_ref(c->dss, "DaemonSet", ns, ref);
}

static void enqueue_matching(struct dsc *c, const json_t *pod)
{
    cm_enqueue_selecting(c->q, c->dss, pod, CM_SEL_LABEL_SELECTOR);
}

static void pod_deleted(void *arg, json_t *pod)
{
    struct dsc *c = arg;
    json_t *ds = resolve_ref(c, k8s_obj_namespace(pod), k8s_obj_controller_of(pod));
    if (!ds)
        return;
    char *k = ck_meta_namespace_key(ds), *pk = ck_meta_namespace_key(pod);
    cm_expect_deletion_observed(c->exp, k, pk);
    wq_add(c->q, k);
    free(k);
    free(pk);
    json_decref(ds);
}

static void pod_added(void *arg, json_t *pod)
{
    struct dsc *c = arg;
    if (k8s_obj_deleting(pod)) {
        pod_deleted(arg, pod);
        return;
    }
    const json_t *ref = k8s_obj_controller_of(pod);
    if (!ref) {
        enqueue_matching(c, pod);
        return;
    }
    json_t *ds = resolve_ref(c, k8s_obj_namespace(pod), ref);
    if (!ds)
        return;
    char *k = ck_meta_namespace_key(ds);
    cm_expect_creation_observed(c->exp, k);
    wq_add(c->q, k);
    free(k);
    json_decref(ds);
}

static void pod_updated(void *arg, json_t *old, json_t *cur)
{
    struct dsc *c = arg;
    if (!strcmp(k8s_jpath_str(old, "metadata.resourceVersion"),
                k8s_jpath_str(cur, "metadata.resourceVersion")))
        return;
    if (k8s_obj_deleting(cur)) {
        pod_deleted(arg, cur);
        return;
    }
    const json_t *oref = k8s_obj_controller_of(old), *cref = k8s_obj_controller_of(cur);
    if (oref && (!cref || strcmp(k8s_jstr(oref, "uid"), k8s_jstr(cref, "uid")))) {
        json_t *ds = resolve_ref(c, k8s_obj_namespace(old), oref);
        if (ds)
            cm_enqueue_obj(c->q, ds);
        json_decref(ds);
    }
    if (!cref) {
        enqueue_matching(c, cur);
        return;
    }
    json_t *ds = resolve_ref(c, k8s_obj_namespace(cur), cref);
    if (!ds)
        return;
    cm_enqueue_obj(c->q, ds);
    int64_t mrs = ds_min_ready(ds);
    if (mrs > 0 && !k8s_pod_is_ready(old) && k8s_pod_is_ready(cur)) {
        char *k = ck_meta_namespace_key(ds);
        wq_add_after(c->q, k, (mrs + 1) * 1000000000LL);
        free(k);
    }
    json_decref(ds);
}

static void enqueue_all(struct dsc *c)
{
    json_t *all = ck_indexer_list(ck_informer_indexer(c->dss));
    size_t i;
    json_t *s;
    json_array_foreach(all, i, s)
    {
        cm_enqueue_obj(c->q, s);
    }
    json_decref(all);
}

static void node_added(void *arg, json_t *node)
{
    (void)node, enqueue_all(arg);
}

static void node_updated(void *arg, json_t *old, json_t *cur)
{
    /* shouldIgnoreNodeUpdate: only labels, taints and unschedulable matter */
    const char *f[] = {"metadata.labels", "spec.taints", "spec.unschedulable"};
    for (size_t i = 0; i < 3; i++)
        if (!cm_json_semantic_equal(k8s_jpath(old, f[i]), k8s_jpath(cur, f[i]))) {
            enqueue_all(arg);
            return;
        }
}

static void ds_added(void *arg, json_t *ds)
{
    cm_enqueue_obj(((struct dsc *)arg)->q, ds);
}
static void ds_updated(void *arg, json_t *old, json_t *ds)
{
    (void)old, ds_added(arg, ds);
}
static void ds_deleted(void *arg, json_t *ds)
{
    struct dsc *c = arg;
    char *k = ck_meta_namespace_key(ds);
    cm_expect_delete(c->exp, k);
    free(k);
}

static json_t *candidates(struct ck_informer *inf, const char *ns, const json_t *ds)
{
    json_t *all = ck_indexer_by_index(ck_informer_indexer(inf), "namespace", ns);
    json_t *out = json_array();
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o)
    {
        const json_t *ref = k8s_obj_controller_of(o);
        if (!ref || !strcmp(k8s_jstr(ref, "uid"), k8s_obj_uid(ds)))
            json_array_append(out, o);
    }
    json_decref(all);
    return out;
}

static int bump_collision(struct dsc *c, const json_t *ds)
{
    json_t *obj = json_deep_copy(ds);
    json_t *st = json_object_get(obj, "status");
    if (!json_is_object(st)) {
        st = json_object();
        json_object_set_new(obj, "status", st);
    }
    json_object_set_new(st, "collisionCount",
                        json_integer(cm_jint(ds, "status.collisionCount", 0) + 1));
    char *path = ck_asprintf("/apis/apps/v1/namespaces/%s/daemonsets/%s/status",
                             k8s_obj_namespace(ds), k8s_obj_name(ds));
    struct ck_err err = CK_ERR_INIT;
    int rc = ck_client_update_json(c->cm->client, path, obj, NULL, &err);
    free(path);
    json_decref(obj);
    return rc;
}

/* constructHistory: *cur (new reference) and *old (new array). */
static int construct_history(struct dsc *c, const json_t *ds, const json_t *revs, json_t **cur,
                             json_t **old, struct ck_err *err)
{
    json_t *patch = hist_template_patch(ds);
    json_t *curs = json_array();
    *old = json_array();
    *cur = NULL;
    size_t i;
    json_t *r;
    json_array_foreach(revs, i, r)
    {
        json_t *fixed = NULL;
        if (!*olabel(r, HIST_POD_REV_LABEL)) {
            /* an adopted revision without the unique label gets its name as the label */
            json_t *mp = json_pack("{s:{s:{s:s}}}", "metadata", "labels", HIST_POD_REV_LABEL,
                                   k8s_obj_name(r));
            char *path = ck_asprintf("/apis/apps/v1/namespaces/%s/controllerrevisions/%s",
                                     k8s_obj_namespace(r), k8s_obj_name(r));
            struct ck_err e = CK_ERR_INIT;
            int prc = ck_client_patch_json(c->cm->client, path, "application/merge-patch+json", mp,
                                           &fixed, &e);
            free(path);
            json_decref(mp);
            if (prc < 0) {
                *err = e;
                json_decref(patch);
                json_decref(curs);
                return -1;
            }
            r = fixed;
        }
        json_array_append(json_equal(json_object_get(r, "data"), patch) ? curs : *old, r);
        json_decref(fixed);
    }
    int64_t next = 1;
    json_array_foreach(*old, i, r)
    {
        if (cm_jint(r, "revision", 0) >= next)
            next = cm_jint(r, "revision", 0) + 1;
    }
    int rc = 0;
    if (!json_array_size(curs)) {
        json_t *coll = k8s_jpath(ds, "status.collisionCount");
        char hash[16];
        dp_compute_hash(k8s_jpath(ds, "spec.template"),
                        json_is_integer(coll) ? json_integer_value(coll) : -1, hash);
        json_t *labels = k8s_jpath(ds, "spec.template.metadata.labels");
        labels = json_is_object(labels) ? json_deep_copy(labels) : json_object();
        json_object_set_new(labels, HIST_POD_REV_LABEL, json_string(hash));
        json_t *md = json_pack("{s:s++,s:s,s:o,s:[o]}", "name", k8s_obj_name(ds), "-", hash,
                               "namespace", k8s_obj_namespace(ds), "labels", labels,
                               "ownerReferences", cm_controller_ref(ds, "apps/v1", "DaemonSet"));
        json_t *ann = k8s_jpath(ds, "metadata.annotations");
        if (json_is_object(ann) && json_object_size(ann))
            json_object_set_new(md, "annotations", json_deep_copy(ann));
        json_t *h = json_pack("{s:s,s:s,s:o,s:O,s:I}", "apiVersion", "apps/v1", "kind",
                              "ControllerRevision", "metadata", md, "data", patch, "revision",
                              (json_int_t)next);
        char *coll_path =
            ck_asprintf("/apis/apps/v1/namespaces/%s/controllerrevisions", k8s_obj_namespace(ds));
        rc = ck_client_create_json(c->cm->client, coll_path, h, cur, err);
        if (rc < 0 && err->reason == CK_R_ALREADY_EXISTS) {
            char *path = ck_asprintf("%s/%s-%s", coll_path, k8s_obj_name(ds), hash);
            json_t *exists = NULL;
            ck_err_clear(err);
            rc = ck_client_get_json(c->cm->client, path, &exists, err);
            free(path);
            if (rc == 0 && json_equal(json_object_get(exists, "data"), patch)) {
                *cur = exists;
            } else {
                json_decref(exists);
                if (rc == 0) {
                    bump_collision(c, ds);
                    ck_err_set(err, CK_R_ALREADY_EXISTS, "controllerrevision hash collision");
                    rc = -1;
                }
            }
        }
        free(coll_path);
        json_decref(h);
    } else {
        /* dedupCurHistories: keep the highest revision, delete the others */
        json_t *keep = NULL;
        json_array_foreach(curs, i, r)
        {
            if (!keep || cm_jint(r, "revision", 0) >= cm_jint(keep, "revision", 0))
                keep = r;
        }
        if (json_array_size(curs) > 1) {
            /* relabel the pods to the kept revision's hash, then drop the duplicates */
            const char *kh = olabel(keep, HIST_POD_REV_LABEL);
            json_t *pods =
                ck_indexer_by_index(ck_informer_indexer(c->cm->pods), "owner-uid", k8s_obj_uid(ds));
            json_t *p;
            json_array_foreach(pods, i, p)
            {
                if (!k8s_obj_is_controlled_by(p, k8s_obj_uid(ds)) ||
                    !strcmp(olabel(p, HIST_POD_REV_LABEL), kh))
                    continue;
                json_t *mp =
                    json_pack("{s:{s:{s:s}}}", "metadata", "labels", HIST_POD_REV_LABEL, kh);
                char *path = ck_asprintf("/api/v1/namespaces/%s/pods/%s", k8s_obj_namespace(p),
                                         k8s_obj_name(p));
                struct ck_err e = CK_ERR_INIT;
                if (ck_client_patch_json(c->cm->client, path, "application/merge-patch+json", mp,
                                         NULL, &e) < 0 &&
                    e.reason != CK_R_NOT_FOUND)
                    ck_warn("daemonset %s: relabel %s: %s", k8s_obj_name(ds), path, e.msg);
                free(path);
                json_decref(mp);
            }
            json_decref(pods);
        }
        json_array_foreach(curs, i, r)
        {
            struct ck_err e = CK_ERR_INIT;
            if (r != keep)
                hist_delete(c->cm, r, &e);
        }
        if (cm_jint(keep, "revision", 0) < next)
            rc = hist_update_revision(c->cm, keep, next, cur, err);
        else
            *cur = json_incref(keep);
    }
    json_decref(patch);
    json_decref(curs);
    return rc;
}

/* syncNodes: deletions, then creations bound to their nodes by affinity. */
static int sync_nodes(struct dsc *c, const json_t *ds, const char *key, const json_t *del,
                      const json_t *create, const char *hash, struct ck_err *err)
{
    const char *ns = k8s_obj_namespace(ds);
    size_t nc = json_array_size(create), nd = json_array_size(del);
    if (nc > DS_BURST)
        nc = DS_BURST;
    if (nd > DS_BURST)
        nd = DS_BURST;
    char **keys = ck_calloc(nd + 1, sizeof(char *));
    for (size_t i = 0; i < nd; i++)
        keys[i] = ck_meta_namespace_key(json_array_get(del, i));
    int64_t now = ck_mono_ns();
    cm_expect_creations(c->exp, key, (int)nc, now);
    cm_expect_deletions(c->exp, key, (const char *const *)keys, (int)nd, now);
    int rc = 0;
    json_t *tmpl = ds_pod_template(ds, hash);
    json_t *ref = cm_controller_ref(ds, "apps/v1", "DaemonSet");
    char *prefix = ck_asprintf("%s-", k8s_obj_name(ds));
    char *coll = ck_asprintf("/api/v1/namespaces/%s/pods", ns);
    for (size_t i = 0; i < nc; i++) {
        const char *node = json_string_value(json_array_get(create, i));
        if (rc < 0) {
            cm_expect_creation_observed(c->exp, key);
            continue;
        }
        json_t *t = json_deep_copy(tmpl);
        json_t *spec = json_object_get(t, "spec");
        if (!json_is_object(spec)) {
            spec = json_object();
            json_object_set_new(t, "spec", spec);
        }
        ds_set_node_affinity(spec, node);
        json_t *pod = cm_pod_from_template(t, prefix, ref);
        struct ck_err e = CK_ERR_INIT;
        if (ck_client_create_json(c->cm->client, coll, pod, NULL, &e) < 0) {
            cm_expect_creation_observed(c->exp, key);
            if (!(e.reason == CK_R_FORBIDDEN && strstr(e.msg, "being terminated"))) {
                *err = e;
                rc = -1;
            }
        } else {
            ck_v(2, "daemonset %s: created a pod for node %s", key, node);
        }
        json_decref(pod);
        json_decref(t);
    }
    for (size_t i = 0; i < nd; i++) {
        const json_t *p = json_array_get(del, i);
        char *path = ck_asprintf("%s/%s", coll, k8s_obj_name(p));
        struct ck_err e = CK_ERR_INIT;
        if (ck_client_delete(c->cm->client, path, &e) < 0) {
            cm_expect_deletion_observed(c->exp, key, keys[i]);
            if (e.reason != CK_R_NOT_FOUND) {
                *err = e;
                rc = -1;
            }
        } else {
            ck_v(2, "daemonset %s: deleted pod %s", key, k8s_obj_name(p));
        }
        free(path);
    }
    for (size_t i = 0; i < nd; i++)
        free(keys[i]);
    free(keys);
    free(coll);
    free(prefix);
    json_decref(ref);
    json_decref(tmpl);
    return rc;
}

static json_t *group_by_node(const json_t *pods)
{
    json_t *m = json_object();
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        const char *n = ds_target_node(p);
        if (!n)
            continue;
        json_t *arr = json_object_get(m, n);
        if (!arr) {
            arr = json_array();
            json_object_set_new(m, n, arr);
        }
        json_array_append(arr, p);
    }
    return m;
}

static int write_status(struct dsc *c, const json_t *ds, const struct ds_counts *k, bool obs_gen)
{
    json_t *old = json_object_get(ds, "status");
    json_t *st = old ? json_deep_copy(old) : json_object();
    if (obs_gen)
        json_object_set_new(st, "observedGeneration",
                            json_integer(cm_jint(ds, "metadata.generation", 0)));
    json_object_set_new(st, "desiredNumberScheduled", json_integer(k->desired));
    json_object_set_new(st, "currentNumberScheduled", json_integer(k->current));
    json_object_set_new(st, "numberMisscheduled", json_integer(k->misscheduled));
    json_object_set_new(st, "numberReady", json_integer(k->ready));
    json_object_set_new(st, "updatedNumberScheduled", json_integer(k->updated));
    json_object_set_new(st, "numberAvailable", json_integer(k->available));
    json_object_set_new(st, "numberUnavailable", json_integer(k->unavailable));
    int rc = 0;
    if (!cm_status_equal(old, st)) {
        json_t *obj = json_deep_copy(ds);
        json_object_set(obj, "status", st);
        char *path = ck_asprintf("/apis/apps/v1/namespaces/%s/daemonsets/%s/status",
                                 k8s_obj_namespace(ds), k8s_obj_name(ds));
        struct ck_err err = CK_ERR_INIT;
        rc = ck_client_update_json(c->cm->client, path, obj, NULL, &err);
        if (rc < 0 && err.reason == CK_R_NOT_FOUND)
            rc = 0;
        else if (rc < 0 && err.reason != CK_R_CONFLICT)
            ck_warn("daemonset %s status: %s", path, err.msg);
        free(path);
        json_decref(obj);
    }
    json_decref(st);
    return rc;
}

static int sync_ds(struct dsc *c, const json_t *ds, const char *key)
{
    const char *ns = k8s_obj_namespace(ds), *name = k8s_obj_name(ds);
    struct sel *sel = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (sel_from_label_selector(k8s_jpath(ds, "spec.selector"), &sel, &err) < 0 || sel_empty(sel)) {
        ck_warn("daemonset %s: invalid or empty selector", key);
        sel_free(sel);
        return 0;
    }
    if (k8s_obj_deleting(ds)) {
        sel_free(sel);
        return 0;
    }
    json_t *nodes = ck_indexer_list(ck_informer_indexer(c->nodes));
    char *self = ck_asprintf("/apis/apps/v1/namespaces/%s/daemonsets/%s", ns, name);
    char *pcoll = ck_asprintf("/api/v1/namespaces/%s/pods", ns);
    char *rcoll = ck_asprintf("/apis/apps/v1/namespaces/%s/controllerrevisions", ns);
    json_t *rcand = candidates(c->crs, ns, ds);
    json_t *revs = cm_claim(c->cm, ds, "apps/v1", "DaemonSet", self, sel, rcand, rcoll);
    json_t *cur = NULL, *old = NULL;
    json_t *pcand = NULL, *pods = NULL, *node_pods = NULL;
    int rc = construct_history(c, ds, revs, &cur, &old, &err);
    if (rc < 0) {
        ck_warn("daemonset %s: history: %s", key, err.msg);
        goto out;
    }
    const char *hash = olabel(cur, HIST_POD_REV_LABEL);
    pcand = candidates(c->cm->pods, ns, ds);
    pods = cm_claim(c->cm, ds, "apps/v1", "DaemonSet", self, sel, pcand, pcoll);
    node_pods = group_by_node(pods);
    int64_t now = ck_real_ns();
    bool satisfied = cm_expect_satisfied(c->exp, key, ck_mono_ns());
    if (satisfied) {
        struct ds_decision d;
        ds_decision_init(&d);
        ds_manage(ds, nodes, node_pods, hash, now, &d);
        filter_failed(c, key, d.delete_pods);
        rc = sync_nodes(c, ds, key, d.delete_pods, d.create_nodes, hash, &err);
        bool acted = json_array_size(d.delete_pods) || json_array_size(d.create_nodes);
        ds_decision_free(&d);
        if (rc == 0 && !acted &&
            !strcmp(k8s_jpath_str(ds, "spec.updateStrategy.type"), "RollingUpdate")) {
            ds_decision_init(&d);
            if (ds_rolling_update(ds, nodes, node_pods, hash, now, &d) == 0)
                rc = sync_nodes(c, ds, key, d.delete_pods, d.create_nodes, hash, &err);
            ds_decision_free(&d);
        }
        if (rc < 0)
            ck_warn("daemonset %s: %s", key, err.msg);
        json_t *kill = ds_history_to_delete(ds, old, node_pods);
        size_t i;
        json_t *r;
        json_array_foreach(kill, i, r)
        {
            struct ck_err e = CK_ERR_INIT;
            hist_delete(c->cm, r, &e);
        }
        json_decref(kill);
    }
    struct ds_counts k;
    ds_count(ds, nodes, node_pods, hash, now, &k);
    if (write_status(c, ds, &k, satisfied) < 0)
        rc = -1;
    int64_t mrs = ds_min_ready(ds);
    if (mrs > 0 && k.ready != k.available)
        wq_add_after(c->q, key, mrs * 1000000000LL);
out:
    json_decref(node_pods);
    json_decref(pods);
    json_decref(pcand);
    json_decref(cur);
    json_decref(old);
    json_decref(revs);
    json_decref(rcand);
    json_decref(nodes);
    free(self);
    free(pcoll);
    free(rcoll);
    sel_free(sel);
    return rc;
}

static int sync_key(void *arg, const char *key)
{
    struct dsc *c = arg;
    char ns[256], name[256];
    const char *slash = strchr(key, '/');
    if (!slash || (size_t)(slash - key) >= sizeof(ns))
        return 0;
    snprintf(ns, sizeof(ns), "%.*s", (int)(slash - key), key);
    snprintf(name, sizeof(name), "%s", slash + 1);
    json_t *ds = cm_get(c->dss, ns, name);
    if (!ds) {
        cm_expect_delete(c->exp, key);
        return 0;
    }
    int rc = sync_ds(c, ds, key);
    json_decref(ds);
    return rc;
}

static int ds_init(struct cm *cm, void **state)
{
    struct dsc *c = ck_calloc(1, sizeof(*c));
    c->cm = cm;
    c->dss = ck_informer_factory_get(cm->factory, DS_PATH);
    c->crs = ck_informer_factory_get(cm->factory, HIST_CR_PATH);
    c->nodes = ck_informer_factory_get(cm->factory, NODES_PATH);
    ck_indexer_add_index(ck_informer_indexer(c->crs), "owner-uid", cm_index_owner_uid);
    c->q = wq_new(&(struct wq_opts){.name = "daemonset"});
    c->exp = cm_expect_new();
    pthread_mutex_init(&c->mu, NULL);
    ck_informer_add_handlers(c->dss,
                             &(struct ck_informer_handlers){ds_added, ds_updated, ds_deleted, c});
    ck_informer_add_handlers(
        cm->pods, &(struct ck_informer_handlers){pod_added, pod_updated, pod_deleted, c});
    ck_informer_add_handlers(
        c->nodes, &(struct ck_informer_handlers){node_added, node_updated, node_added, c});
    *state = c;
    return 0;
}

static void ds_run(void *state)
{
    struct dsc *c = state;
    c->w = (struct cm_workers){.q = c->q, .sync = sync_key, .arg = c, .ctrl = &cm_daemonset};
    cm_workers_start(&c->w, c->cm->workers);
}

static void ds_stop(void *state)
{
    struct dsc *c = state;
    wq_shutdown(c->q);
    cm_workers_join(&c->w);
}

static void ds_free(void *state)
{
    struct dsc *c = state;
    wq_free(c->q);
    cm_expect_free(c->exp);
    for (struct backoff *b = c->backoff, *n; b; b = n) {
        n = b->next;
        free(b->key);
        free(b);
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

struct cm_controller cm_daemonset = {.name = "daemonset",
                                     .alias = "daemonset-controller",
                                     .init = ds_init,
                                     .run = ds_run,
                                     .stop = ds_stop,
                                     .free = ds_free};
