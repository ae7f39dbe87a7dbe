/* SPDX-License-Identifier: Apache-2.0 */
/* The StatefulSet controller (pkg/controller/statefulset): informers on StatefulSets, pods,
 * ControllerRevisions and PersistentVolumeClaims feed a rate-limited queue of set keys. One sync
 * adopts/releases pods and revisions, finds or creates the current and update revisions, runs
 * the plan of statefulset_util.c (claims are created before their pod), keeps the claims'
 * owner references on the retention policy, writes status (completeRollingUpdate included)
 * and truncates history to revisionHistoryLimit. */
#include "ckube/indexer.h"
#include "controllers/cm.h"
#include "controllers/history.h"
#include "controllers/statefulset_util.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/selector.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define STS_PATH "/apis/apps/v1/statefulsets"
#define PVC_PATH "/api/v1/persistentvolumeclaims"

struct stsc {
    struct cm *cm;
    struct ck_informer *sets, *crs, *pvcs;
    struct wq *q;
    struct cm_workers w;
};

static json_t *resolve_ref(struct stsc *c, const char *ns, const json_t *ref)
{
    return cm_resolve_controller_ref(c->sets, "StatefulSet", ns, ref);
}

/* getPodStatefulSets: the sets of the pod's namespace whose selector matches it. */
static void enqueue_matching(struct stsc *c, const json_t *pod)
{
    cm_enqueue_selecting(c->q, c->sets, pod, CM_SEL_LABEL_SELECTOR);
}

static void pod_event(struct stsc *c, const json_t *pod)
{
    const json_t *ref = k8s_obj_controller_of(pod);
    if (ref) {
        json_t *s = resolve_ref(c, k8s_obj_namespace(pod), ref);
        if (s)
            cm_enqueue_obj(c->q, s);
        json_decref(s);
        return;
    }
    enqueue_matching(c, pod);
}

static void pod_added(void *arg, json_t *pod)
{
    pod_event(arg, pod);
}

static void pod_updated(void *arg, json_t *old, json_t *cur)
{
    struct stsc *c = arg;
    if (!strcmp(k8s_jpath_str(old, "metadata.resourceVersion"),
                k8s_jpath_str(cur, "metadata.resourceVersion")))
        return;
    const json_t *oref = k8s_obj_controller_of(old), *cref = k8s_obj_controller_of(cur);
    if (oref && (!cref || strcmp(k8s_jstr(oref, "uid"), k8s_jstr(cref, "uid"))))
        pod_event(c, old);
    pod_event(c, cur);
    if (cref && !k8s_pod_is_ready(old) && k8s_pod_is_ready(cur)) {
        json_t *s = resolve_ref(c, k8s_obj_namespace(cur), cref);
        int64_t mrs = s ? sts_min_ready(s) : 0;
        if (mrs > 0) {
            char *k = ck_meta_namespace_key(s);
            wq_add_after(c->q, k, (mrs + 1) * 1000000000LL);
            free(k);
        }
        json_decref(s);
    }
}

static void set_added(void *arg, json_t *s)
{
    cm_enqueue_obj(((struct stsc *)arg)->q, s);
}
static void set_updated(void *arg, json_t *old, json_t *s)
{
    (void)old, set_added(arg, s);
}

static json_t *claim_candidates(struct ck_informer *inf, const char *ns, const json_t *set,
                                bool pods)
{
    json_t *all = ck_indexer_by_index(ck_informer_indexer(inf), "namespace", ns);
    json_t *out = json_array();
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o)
    {
        const json_t *ref = k8s_obj_controller_of(o);
        bool ours = ref && !strcmp(k8s_jstr(ref, "uid"), k8s_obj_uid(set));
        if (ours || (!ref && (!pods || sts_is_member(set, o))))
            json_array_append(out, o);
    }
    json_decref(all);
    return out;
}

/* getStatefulSetRevisions: *cur and *upd (new references); *collision updated. */
static int revisions(struct stsc *c, const json_t *set, json_t *revs, int64_t *collision,
                     json_t **cur, json_t **upd, struct ck_err *err)
{
    hist_sort(revs);
    json_t *data = hist_template_patch(set);
    json_t *nr =
        hist_new(set, "apps/v1", "StatefulSet", k8s_jpath(set, "spec.template.metadata.labels"),
                 data, hist_next_revision(revs), *collision);
    json_decref(data);
    json_t *eq = NULL;
    size_t n = json_array_size(revs), i;
    json_t *r;
    json_array_foreach(revs, i, r)
    {
        if (hist_equal(r, nr))
            eq = r;
    }
    int rc = 0;
    *upd = NULL;
    if (eq && eq == json_array_get(revs, n - 1))
        *upd = json_incref(eq);
    else if (eq)
        rc = hist_update_revision(c->cm, eq, cm_jint(nr, "revision", 0), upd, err);
    else
        rc = hist_create(c->cm, set, nr, collision, upd, err);
    json_decref(nr);
    if (rc < 0)
        return -1;
    *cur = NULL;
    const char *cn = k8s_jpath_str(set, "status.currentRevision");
    json_array_foreach(revs, i, r)
    {
        if (*cn && !strcmp(k8s_obj_name(r), cn))
            *cur = json_incref(r);
    }
    if (!*cur)
        *cur = json_incref(*upd);
    return 0;
}

static int create_claims(struct stsc *c, const json_t *set, int64_t ord, struct ck_err *err)
{
    const char *ns = k8s_obj_namespace(set);
    json_t *claims = sts_claims(set, ord);
    char *coll = ck_asprintf("/api/v1/namespaces/%s/persistentvolumeclaims", ns);
    int rc = 0;
    size_t i;
    json_t *cl;
    json_array_foreach(claims, i, cl)
    {
        json_t *have = cm_get(c->pvcs, ns, k8s_obj_name(cl));
        if (have) {
            json_decref(have);
            continue;
        }
        struct ck_err e = CK_ERR_INIT;
        if (ck_client_create_json(c->cm->client, coll, cl, NULL, &e) < 0 &&
            e.reason != CK_R_ALREADY_EXISTS) {
            *err = e;
            rc = -1;
            break;
        }
    }
    free(coll);
    json_decref(claims);
    return rc;
}

/* ClaimsMatchRetentionPolicy / UpdatePodClaimForRetentionPolicy for one pod. */
static void fix_claim_refs(struct stsc *c, const json_t *set, const json_t *pod)
{
    int64_t o = sts_ordinal(pod);
    const char *ns = k8s_obj_namespace(set);
    size_t i;
    json_t *t;
    json_array_foreach(k8s_jpath(set, "spec.volumeClaimTemplates"), i, t)
    {
        char *name = sts_claim_name(set, k8s_jpath_str(t, "metadata.name"), o);
        json_t *claim = cm_get(c->pvcs, ns, name);
        json_t *refs = claim ? sts_claim_refs(set, pod, claim) : NULL;
        if (refs) {
            json_t *upd = json_deep_copy(claim);
            json_object_set_new(json_object_get(upd, "metadata"), "ownerReferences", refs);
            char *path = ck_asprintf("/api/v1/namespaces/%s/persistentvolumeclaims/%s", ns, name);
            struct ck_err e = CK_ERR_INIT;
            if (ck_client_update_json(c->cm->client, path, upd, NULL, &e) < 0 &&
                e.reason != CK_R_CONFLICT && e.reason != CK_R_NOT_FOUND)
                ck_warn("statefulset %s/%s: claim %s: %s", ns, k8s_obj_name(set), name, e.msg);
            free(path);
            json_decref(upd);
        }
        json_decref(claim);
        free(name);
    }
}

static int delete_pod(struct stsc *c, const json_t *pod, struct ck_err *err)
{
    char *path =
        ck_asprintf("/api/v1/namespaces/%s/pods/%s", k8s_obj_namespace(pod), k8s_obj_name(pod));
    int rc = ck_client_delete(c->cm->client, path, err);
    if (rc < 0 && err->reason == CK_R_NOT_FOUND)
        rc = 0;
    free(path);
    return rc;
}

static int execute(struct stsc *c, const json_t *set, const json_t *cur_set, const json_t *upd_set,
                   const char *cur, const char *upd, const struct sts_plan *p, struct ck_err *err)
{
    const char *ns = k8s_obj_namespace(set);
    char *coll = ck_asprintf("/api/v1/namespaces/%s/pods", ns);
    json_t *ref = cm_controller_ref(set, "apps/v1", "StatefulSet");
    int rc = 0;
    for (size_t i = 0; i < p->n && rc == 0; i++) {
        const struct sts_action *a = &p->a[i];
        struct ck_err e = CK_ERR_INIT;
        if (a->op == STS_CREATE) {
            const json_t *src = a->update ? upd_set : cur_set;
            json_t *pod = sts_new_pod(src, a->ordinal, a->update ? upd : cur, ref);
            rc = create_claims(c, set, a->ordinal, &e);
            if (rc == 0 && ck_client_create_json(c->cm->client, coll, pod, NULL, &e) < 0 &&
                e.reason != CK_R_ALREADY_EXISTS)
                rc = -1;
            ck_v(2, "statefulset %s/%s: create pod %s", ns, k8s_obj_name(set),
                 k8s_jpath_str(pod, "metadata.name"));
            json_decref(pod);
        } else if (a->op == STS_DELETE) {
            if (!sts_in_range(set, a->pod))
                fix_claim_refs(c, upd_set, a->pod);
            ck_v(2, "statefulset %s/%s: delete pod %s", ns, k8s_obj_name(set),
                 k8s_obj_name(a->pod));
            rc = delete_pod(c, a->pod, &e);
        } else {
            json_t *pod = json_deep_copy(a->pod);
            sts_fix_identity(upd_set, pod);
            char *path = ck_asprintf("%s/%s", coll, k8s_obj_name(pod));
            if (ck_client_update_json(c->cm->client, path, pod, NULL, &e) < 0 &&
                e.reason != CK_R_CONFLICT && e.reason != CK_R_NOT_FOUND)
                rc = -1;
            free(path);
            json_decref(pod);
        }
        if (rc < 0)
            *err = e;
    }
    json_decref(ref);
    free(coll);
    return rc;
}

static int write_status(struct stsc *c, const json_t *set, json_t *st)
{
    json_t *old = json_object_get(set, "status");
    if (cm_status_equal(old, st))
        return 0;
    json_t *obj = json_deep_copy(set);
    json_object_set(obj, "status", st);
    char *path = ck_asprintf("/apis/apps/v1/namespaces/%s/statefulsets/%s/status",
                             k8s_obj_namespace(set), k8s_obj_name(set));
    struct ck_err err = CK_ERR_INIT;
    int rc = ck_client_update_json(c->cm->client, path, obj, NULL, &err);
    if (rc < 0 && err.reason == CK_R_NOT_FOUND)
        rc = 0;
    else if (rc < 0 && err.reason != CK_R_CONFLICT)
        ck_warn("statefulset %s status: %s", path, err.msg);
    free(path);
    json_decref(obj);
    return rc;
}

static void truncate_history(struct stsc *c, const json_t *set, const json_t *pods,
                             const json_t *revs, const char *cur, const char *upd)
{
    size_t np = json_array_size(pods);
    const char **live = ck_calloc(np + 3, sizeof(char *));
    live[0] = cur;
    live[1] = upd;
    for (size_t i = 0; i < np; i++)
        live[2 + i] = sts_pod_revision(json_array_get(pods, i));
    json_t *del = hist_to_truncate(revs, live, cm_jint(set, "spec.revisionHistoryLimit", 10));
    size_t i;
    json_t *r;
    json_array_foreach(del, i, r)
    {
        struct ck_err e = CK_ERR_INIT;
        if (hist_delete(c->cm, r, &e) < 0)
            ck_warn("statefulset %s: delete revision %s: %s", k8s_obj_name(set), k8s_obj_name(r),
                    e.msg);
    }
    json_decref(del);
    free(live);
}

static int sync_set(struct stsc *c, const json_t *set, const char *key)
{
    const char *ns = k8s_obj_namespace(set), *name = k8s_obj_name(set);
    struct sel *sel = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (sel_from_label_selector(k8s_jpath(set, "spec.selector"), &sel, &err) < 0 ||
        sel_empty(sel)) {
        ck_warn("statefulset %s: invalid or empty selector", key);
        sel_free(sel);
        return 0;
    }
    char *self = ck_asprintf("/apis/apps/v1/namespaces/%s/statefulsets/%s", ns, name);
    char *pcoll = ck_asprintf("/api/v1/namespaces/%s/pods", ns);
    char *rcoll = ck_asprintf("/apis/apps/v1/namespaces/%s/controllerrevisions", ns);
    json_t *rc_cand = claim_candidates(c->crs, ns, set, false);
    json_t *revs = cm_claim(c->cm, set, "apps/v1", "StatefulSet", self, sel, rc_cand, rcoll);
    json_t *p_cand = claim_candidates(c->cm->pods, ns, set, true);
    json_t *pods = cm_claim(c->cm, set, "apps/v1", "StatefulSet", self, sel, p_cand, pcoll);
    int64_t collision = cm_jint(set, "status.collisionCount", 0);
    json_t *cur = NULL, *upd = NULL;
    int rc = revisions(c, set, revs, &collision, &cur, &upd, &err);
    if (rc < 0) {
        ck_warn("statefulset %s: revisions: %s", key, err.msg);
        goto out;
    }
    const char *cn = k8s_obj_name(cur), *un = k8s_obj_name(upd);
    json_t *cur_set = sts_apply_revision(set, cur), *upd_set = sts_apply_revision(set, upd);
    int64_t now = ck_real_ns(), mrs = sts_min_ready(set);
    struct sts_plan plan;
    sts_plan(set, pods, cn, un, now, &plan);
    rc = execute(c, set, cur_set, upd_set, cn, un, &plan, &err);
    if (rc < 0)
        ck_warn("statefulset %s: %s", key, err.msg);
    if (!k8s_obj_deleting(set)) {
        size_t i;
        json_t *p;
        json_array_foreach(pods, i, p)
        {
            if (sts_ordinal(p) < 0 || sts_terminating(p))
                continue;
            struct ck_err e = CK_ERR_INIT; /* createMissingPersistentVolumeClaims */
            if (!strcmp(k8s_pod_phase(p), "Pending") &&
                create_claims(c, set, sts_ordinal(p), &e) < 0)
                ck_warn("statefulset %s: claims of %s: %s", key, k8s_obj_name(p), e.msg);
            fix_claim_refs(c, upd_set, p);
        }
    }
    struct sts_counts k;
    sts_count(pods, mrs, cn, un, now, &k);
    json_t *old = json_object_get(set, "status");
    json_t *st = old ? json_deep_copy(old) : json_object();
    json_object_set_new(st, "observedGeneration",
                        json_integer(cm_jint(set, "metadata.generation", 0)));
    json_object_set_new(st, "replicas", json_integer(k.replicas));
    json_object_set_new(st, "readyReplicas", json_integer(k.ready));
    json_object_set_new(st, "availableReplicas", json_integer(k.available));
    json_object_set_new(st, "currentReplicas", json_integer(k.current));
    json_object_set_new(st, "updatedReplicas", json_integer(k.updated));
    json_object_set_new(st, "currentRevision", json_string(cn));
    json_object_set_new(st, "updateRevision", json_string(un));
    json_object_set_new(st, "collisionCount", json_integer(collision));
    sts_complete_rolling_update(set, st);
    int src = write_status(c, set, st);
    json_decref(st);
    if (rc == 0 && src == 0)
        truncate_history(c, set, pods, revs, cn, un);
    if ((mrs > 0 && k.ready != k.available) || plan.blocked_available)
        wq_add_after(c->q, key, (mrs > 0 ? mrs : 1) * 1000000000LL);
    sts_plan_free(&plan);
    json_decref(cur_set);
    json_decref(upd_set);
    if (src < 0)
        rc = -1;
out:
    json_decref(cur);
    json_decref(upd);
    json_decref(pods);
    json_decref(p_cand);
    json_decref(revs);
    json_decref(rc_cand);
    free(self);
    free(pcoll);
    free(rcoll);
    sel_free(sel);
    return rc;
}

static int sync_key(void *arg, const char *key)
{
    struct stsc *c = arg;
    char ns[256], name[256];
    const char *slash = strchr(key, '/');
    if (!slash || (size_t)(slash - key) >= sizeof(ns))
        return 0;
    snprintf(ns, sizeof(ns), "%.*s", (int)(slash - key), key);
    snprintf(name, sizeof(name), "%s", slash + 1);
    json_t *set = cm_get(c->sets, ns, name);
    if (!set)
        return 0;
    int rc = sync_set(c, set, key);
    json_decref(set);
    return rc;
}

static int sts_init(struct cm *cm, void **state)
{
    struct stsc *c = ck_calloc(1, sizeof(*c));
    c->cm = cm;
    c->sets = ck_informer_factory_get(cm->factory, STS_PATH);
    c->crs = ck_informer_factory_get(cm->factory, HIST_CR_PATH);
    c->pvcs = ck_informer_factory_get(cm->factory, PVC_PATH);
    ck_indexer_add_index(ck_informer_indexer(c->crs), "owner-uid", cm_index_owner_uid);
    c->q = wq_new(&(struct wq_opts){.name = "statefulset"});
    ck_informer_add_handlers(c->sets,
                             &(struct ck_informer_handlers){set_added, set_updated, set_added, c});
    ck_informer_add_handlers(cm->pods,
                             &(struct ck_informer_handlers){pod_added, pod_updated, pod_added, c});
    *state = c;
    return 0;
}

static void sts_run(void *state)
{
    struct stsc *c = state;
    c->w = (struct cm_workers){.q = c->q, .sync = sync_key, .arg = c, .ctrl = &cm_statefulset};
    cm_workers_start(&c->w, c->cm->workers);
}

static void sts_stop(void *state)
{
    struct stsc *c = state;
    wq_shutdown(c->q);
    cm_workers_join(&c->w);
}

static void sts_free(void *state)
{
    struct stsc *c = state;
    wq_free(c->q);
    free(c);
}

struct cm_controller cm_statefulset = {.name = "statefulset",
                                       .alias = "statefulset-controller",
                                       .init = sts_init,
                                       .run = sts_run,
                                       .stop = sts_stop,
                                       .free = sts_free};
