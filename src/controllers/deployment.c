/* SPDX-License-Identifier: Apache-2.0 */
/* The Deployment controller (pkg/controller/deployment): claims ReplicaSets by selector, finds
 * or creates the new ReplicaSet (name <deployment>-<pod-template-hash>), keeps revision and
 * replica annotations, scales proportionally, and writes status with the Progressing and
 * Available conditions. Rollout strategies are in dp_rollout.c. */
#include "ckube/indexer.h"
#include "controllers/dp_int.h"
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

#include "lib/banned.h"

/* ---- event handlers ---- */

static json_t *dep_of(struct dpc *c, const json_t *rs)
{
    const json_t *ref = k8s_obj_controller_of(rs);
    if (!ref || strcmp(k8s_jstr(ref, "kind"), "Deployment"))
        return NULL;
    json_t *d = cm_get(c->cm->deps, k8s_obj_namespace(rs), k8s_jstr(ref, "name"));
    if (d && strcmp(k8s_obj_uid(d), k8s_jstr(ref, "uid"))) {
        json_decref(d);
        return NULL;
    }
    return d;
}

static void enqueue_for_rs(struct dpc *c, const json_t *rs)
{
    json_t *d = dep_of(c, rs);
    if (d) {
        cm_enqueue_obj(c->q, d);
        json_decref(d);
        return;
    }
    if (k8s_obj_controller_of(rs))
        return;
    /* an orphan: every Deployment whose selector matches may adopt it */
    json_t *all =
        ck_indexer_by_index(ck_informer_indexer(c->cm->deps), "namespace", k8s_obj_namespace(rs));
    size_t i;
    json_t *dd;
    json_array_foreach(all, i, dd)
    {
        struct sel *s = NULL;
        struct ck_err err = CK_ERR_INIT;
        if (sel_from_label_selector(k8s_jpath(dd, "spec.selector"), &s, &err) == 0 &&
            !sel_empty(s) && sel_matches(s, sel_lookup_json, k8s_jpath(rs, "metadata.labels")))
            cm_enqueue_obj(c->q, dd);
        sel_free(s);
    }
    json_decref(all);
}

static void d_add(void *arg, json_t *d)
{
    cm_enqueue_obj(((struct dpc *)arg)->q, d);
}
static void d_upd(void *arg, json_t *o, json_t *d)
{
    (void)o, d_add(arg, d);
}
static void rs_add(void *arg, json_t *rs)
{
    enqueue_for_rs(arg, rs);
}
static void rs_upd(void *arg, json_t *o, json_t *rs)
{
    struct dpc *c = arg;
    const json_t *oref = k8s_obj_controller_of(o);
    if (oref) {
        json_t *d = dep_of(c, o);
        if (d)
            cm_enqueue_obj(c->q, d);
        json_decref(d);
    }
    enqueue_for_rs(c, rs);
}

/* A Recreate rollout waits for old pods to go: enqueue on pod deletion. */
static void pod_del(void *arg, json_t *pod)
{
    struct dpc *c = arg;
    const json_t *ref = k8s_obj_controller_of(pod);
    if (!ref || strcmp(k8s_jstr(ref, "kind"), "ReplicaSet"))
        return;
    json_t *rs = cm_get(c->cm->rss, k8s_obj_namespace(pod), k8s_jstr(ref, "name"));
    json_t *d = rs ? dep_of(c, rs) : NULL;
    if (d && !dp_is_rolling(d))
        cm_enqueue_obj(c->q, d);
    json_decref(d);
    json_decref(rs);
}

/* ---- helpers shared with dp_rollout.c ---- */

json_t *dp_active(const json_t *rss)
{
    json_t *out = json_array();
    size_t i;
    json_t *rs;
    json_array_foreach(rss, i, rs)
    {
        if (rs && cm_jint(rs, "spec.replicas", 1) > 0)
            json_array_append(out, rs);
    }
    return out;
}

json_t *dp_all(const json_t *old, const json_t *new_rs)
{
    json_t *all = json_copy((json_t *)old);
    if (new_rs)
        json_array_append(all, (json_t *)new_rs);
    return all;
}

static char *rs_path(const struct dsync *s, const char *name)
{
    return ck_asprintf("/apis/apps/v1/namespaces/%s/replicasets%s%s", s->ns, name ? "/" : "",
                       name ? name : "");
}

/* PUTs rs (a private copy) and refreshes it from the answer. */
static int put_rs(struct dsync *s, json_t *rs)
{
    char *path = rs_path(s, k8s_obj_name(rs));
    json_t *out = NULL;
    struct ck_err err = CK_ERR_INIT;
    int rc = ck_client_update_json(s->c->cm->client, path, rs, &out, &err);
    if (rc == 0 && out) {
        json_object_update(rs, out);
    } else if (rc < 0 && err.reason != CK_R_CONFLICT) {
        ck_warn("deployment %s: update %s: %s", s->key, path, err.msg);
    }
    json_decref(out);
    free(path);
    return rc;
}

int dp_scale_rs(struct dsync *s, json_t *rs, int64_t replicas, bool *scaled)
{
    *scaled = false;
    bool size = cm_jint(rs, "spec.replicas", 1) != replicas;
    int64_t want_d = dp_replicas(s->d), want_m = want_d + dp_max_surge(s->d), hd, hm;
    bool ann = !dp_annotation_int(rs, DP_DESIRED, &hd) || hd != want_d ||
               !dp_annotation_int(rs, DP_MAX, &hm) || hm != want_m;
    if (!size && !ann)
        return 0;
    json_t *copy = json_deep_copy(rs);
    json_object_set_new(json_object_get(copy, "spec"), "replicas", json_integer(replicas));
    dp_set_replicas_annotations(copy, want_d, want_m);
    int rc = put_rs(s, copy);
    if (rc == 0) {
        json_object_update(rs, copy);
        *scaled = size;
    }
    json_decref(copy);
    return rc;
}

static int update_d_status(struct dsync *s, json_t *st)
{
    json_t *obj = json_deep_copy(s->d);
    json_object_set(obj, "status", st);
    char *path =
        ck_asprintf("/apis/apps/v1/namespaces/%s/deployments/%s/status", s->ns, k8s_obj_name(s->d));
    json_t *out = NULL;
    struct ck_err err = CK_ERR_INIT;
    int rc = ck_client_update_json(s->c->cm->client, path, obj, &out, &err);
    if (rc == 0 && out)
        json_object_update(s->d, out);
    else if (rc < 0 && err.reason == CK_R_NOT_FOUND)
        rc = 0;
    else if (rc < 0 && err.reason != CK_R_CONFLICT)
        ck_warn("deployment %s status: %s", s->key, err.msg);
    json_decref(out);
    json_decref(obj);
    free(path);
    return rc;
}

/* SetDeploymentRevision, written to the Deployment's metadata. */
static int set_d_revision(struct dsync *s, const char *rev)
{
    const char *have = k8s_obj_annotation(s->d, DP_REVISION);
    if (have && !strcmp(have, rev))
        return 0;
    char *path =
        ck_asprintf("/apis/apps/v1/namespaces/%s/deployments/%s", s->ns, k8s_obj_name(s->d));
    json_t *patch = json_pack("{s:{s:{s:s},s:s}}", "metadata", "annotations", DP_REVISION, rev,
                              "resourceVersion", k8s_jpath_str(s->d, "metadata.resourceVersion"));
    json_t *out = NULL;
    struct ck_err err = CK_ERR_INIT;
    int rc = ck_client_patch_json(s->c->cm->client, path, "application/merge-patch+json", patch,
                                  &out, &err);
    if (rc == 0 && out)
        json_object_set(s->d, "metadata", json_object_get(out, "metadata"));
    json_decref(out);
    json_decref(patch);
    free(path);
    return rc;
}

static json_t *find_new(const json_t *d, json_t *rss)
{
    json_t *sorted = json_copy(rss);
    dp_sort_by_creation(sorted, false);
    json_t *found = NULL;
    size_t i;
    json_t *rs;
    json_array_foreach(sorted, i, rs)
    {
        if (dp_equal_ignore_hash(k8s_jpath(rs, "spec.template"), k8s_jpath(d, "spec.template"))) {
            found = rs;
            break;
        }
    }
    json_decref(sorted);
    return found; /* borrowed: still referenced by rss */
}

static int create_new_rs(struct dsync *s, json_t *old, json_t **new_rs, const char *rev)
{
    json_t *d = s->d;
    int64_t cc = cm_jint(d, "status.collisionCount", -1);
    char hash[16];
    dp_compute_hash(k8s_jpath(d, "spec.template"), cc, hash);
    json_t *tmpl = json_deep_copy(k8s_jpath(d, "spec.template"));
    json_t *tmd = json_object_get(tmpl, "metadata");
    if (!json_is_object(tmd)) {
        tmd = json_object();
        json_object_set_new(tmpl, "metadata", tmd);
    }
    json_t *labels = json_object_get(tmd, "labels");
    if (!json_is_object(labels)) {
        labels = json_object();
        json_object_set_new(tmd, "labels", labels);
    }
    json_object_set_new(labels, DP_HASH_LABEL, json_string(hash));
    json_t *selector = json_deep_copy(k8s_jpath(d, "spec.selector"));
    json_t *ml = json_object_get(selector, "matchLabels");
    if (!json_is_object(ml)) {
        ml = json_object();
        json_object_set_new(selector, "matchLabels", ml);
    }
    json_object_set_new(ml, DP_HASH_LABEL, json_string(hash));
    char *name = ck_asprintf("%s-%s", k8s_obj_name(d), hash);
    json_t *rs = json_pack("{s:s,s:s,s:{s:s,s:s,s:[o],s:O},s:{s:i,s:I,s:o,s:o}}", "apiVersion",
                           "apps/v1", "kind", "ReplicaSet", "metadata", "name", name, "namespace",
                           s->ns, "ownerReferences", cm_controller_ref(d, "apps/v1", "Deployment"),
                           "labels", labels, "spec", "replicas", 0, "minReadySeconds",
                           (json_int_t)cm_jint(d, "spec.minReadySeconds", 0), "selector", selector,
                           "template", tmpl);
    json_t *all = dp_all(old, rs);
    json_object_set_new(json_object_get(rs, "spec"), "replicas",
                        json_integer(dp_new_rs_new_replicas(d, all, rs)));
    json_decref(all);
    dp_set_new_rs_annotations(d, rs, rev, false);
    char *coll = rs_path(s, NULL);
    json_t *created = NULL;
    struct ck_err err = CK_ERR_INIT;
    int rc = ck_client_create_json(s->c->cm->client, coll, rs, &created, &err);
    bool exists = false;
    if (rc < 0 && err.reason == CK_R_ALREADY_EXISTS) {
        char *path = rs_path(s, name);
        json_t *cur = NULL;
        struct ck_err e2 = CK_ERR_INIT;
        if (ck_client_get_json(s->c->cm->client, path, &cur, &e2) == 0 &&
            k8s_obj_is_controlled_by(cur, k8s_obj_uid(d)) &&
            dp_equal_ignore_hash(k8s_jpath(cur, "spec.template"), k8s_jpath(d, "spec.template"))) {
            created = json_incref(cur);
            rc = 0;
            exists = true;
        } else {
            /* a hash collision: bump collisionCount and retry with a new name */
            json_t *st = json_deep_copy(json_object_get(d, "status"));
            if (!st)
                st = json_object();
            json_object_set_new(st, "collisionCount", json_integer(cc < 0 ? 1 : cc + 1));
            update_d_status(s, st);
            json_decref(st);
        }
        json_decref(cur);
        free(path);
    } else if (rc < 0) {
        ck_warn("deployment %s: create replicaset: %s", s->key, err.msg);
    }
    if (rc == 0) {
        json_array_append(s->rss, created);
        *new_rs = created;
        if (!exists && dp_has_progress_deadline(d)) {
            char now[32], msg[400];
            cm_now(now);
            snprintf(msg, sizeof(msg), "Created new replica set \"%s\"", name);
            json_t *st = json_object_get(d, "status");
            if (!json_is_object(st)) {
                st = json_object();
                json_object_set_new(d, "status", st);
            }
            dp_set_condition(st, "Progressing", "True", "NewReplicaSetCreated", msg, now);
            update_d_status(s, st);
        }
        set_d_revision(s, rev);
    }
    json_decref(created);
    json_decref(rs);
    free(coll);
    free(name);
    return rc;
}

int dp_get_all(struct dsync *s, bool create, json_t **new_rs, json_t **old, json_t **all_old)
{
    json_t *found = find_new(s->d, s->rss);
    *all_old = json_array();
    size_t i;
    json_t *rs;
    json_array_foreach(s->rss, i, rs)
    {
        if (rs != found)
            json_array_append(*all_old, rs);
    }
    *old = dp_active(*all_old);
    *new_rs = found;
    int64_t max_rev = 0;
    json_array_foreach(*all_old, i, rs)
    {
        if (dp_revision(rs) > max_rev)
            max_rev = dp_revision(rs);
    }
    char rev[24];
    snprintf(rev, sizeof(rev), "%lld", (long long)(max_rev + 1));
    if (found) {
        json_t *copy = json_deep_copy(found);
        bool ann = dp_set_new_rs_annotations(s->d, copy, rev, true);
        int64_t mrs = cm_jint(s->d, "spec.minReadySeconds", 0);
        bool mr = cm_jint(copy, "spec.minReadySeconds", 0) != mrs;
        int rc = 0;
        if (ann || mr) {
            json_object_set_new(json_object_get(copy, "spec"), "minReadySeconds",
                                json_integer(mrs));
            rc = put_rs(s, copy);
            if (rc == 0)
                json_object_update(found, copy);
        }
        json_decref(copy);
        if (rc < 0)
            return -1;
        const char *frev = k8s_obj_annotation(found, DP_REVISION);
        if (frev && set_d_revision(s, frev) < 0)
            return -1;
        if (dp_has_progress_deadline(s->d) &&
            !k8s_condition_get(json_object_get(s->d, "status"), "Progressing", NULL)) {
            char now[32], msg[400];
            cm_now(now);
            snprintf(msg, sizeof(msg), "Found new replica set \"%s\"", k8s_obj_name(found));
            json_t *st = json_object_get(s->d, "status");
            if (!json_is_object(st)) {
                st = json_object();
                json_object_set_new(s->d, "status", st);
            }
            dp_set_condition(st, "Progressing", "True", "FoundNewReplicaSet", msg, now);
            if (update_d_status(s, st) < 0)
                return -1;
        }
        return 0;
    }
    if (!create)
        return 0;
    return create_new_rs(s, *all_old, new_rs, rev);
}

/* calculateStatus. */
static json_t *calc_status(struct dsync *s, const json_t *all, const json_t *new_rs)
{
    json_t *d = s->d;
    json_t *st = json_deep_copy(json_object_get(d, "status"));
    if (!st)
        st = json_object();
    json_t *newa = json_array();
    if (new_rs)
        json_array_append(newa, (json_t *)new_rs);
    int64_t avail = dp_sum_status(all, "availableReplicas");
    int64_t total = dp_sum_status(all, "replicas");
    int64_t unavail = dp_sum_spec(all) - avail;
    json_object_set_new(st, "observedGeneration",
                        json_integer(cm_jint(d, "metadata.generation", 0)));
    json_object_set_new(st, "replicas", json_integer(total));
    json_object_set_new(st, "updatedReplicas", json_integer(dp_sum_status(newa, "replicas")));
    json_object_set_new(st, "readyReplicas", json_integer(dp_sum_status(all, "readyReplicas")));
    json_object_set_new(st, "availableReplicas", json_integer(avail));
    json_object_set_new(st, "unavailableReplicas", json_integer(unavail < 0 ? 0 : unavail));
    json_decref(newa);
    char now[32];
    cm_now(now);
    if (avail >= dp_replicas(d) - dp_max_unavailable(d))
        dp_set_condition(st, "Available", "True", "MinimumReplicasAvailable",
                         "Deployment has minimum availability.", now);
    else
        dp_set_condition(st, "Available", "False", "MinimumReplicasUnavailable",
                         "Deployment does not have minimum availability.", now);
    return st;
}

static int sync_status_only(struct dsync *s)
{
    json_t *new_rs, *old, *all_old;
    int rc = dp_get_all(s, false, &new_rs, &old, &all_old);
    if (rc == 0) {
        json_t *all = dp_all(all_old, new_rs);
        json_t *st = calc_status(s, all, new_rs);
        if (!cm_status_equal(json_object_get(s->d, "status"), st))
            rc = update_d_status(s, st);
        json_decref(st);
        json_decref(all);
    }
    json_decref(old);
    json_decref(all_old);
    return rc;
}

int dp_sync_rollout_status(struct dsync *s, const json_t *all, const json_t *new_rs)
{
    json_t *d = s->d;
    json_t *st = calc_status(s, all, new_rs);
    char now[32], msg[400];
    cm_now(now);
    if (!dp_has_progress_deadline(d))
        dp_remove_condition(st, "Progressing");
    json_t *cur = k8s_condition_get(st, "Progressing", NULL);
    bool complete = cm_jint(st, "replicas", 0) == cm_jint(st, "updatedReplicas", 0) && cur &&
                    !strcmp(k8s_jstr(cur, "reason"), "NewReplicaSetAvailable");
    const char *rsname = new_rs ? k8s_obj_name(new_rs) : "";
    if (dp_has_progress_deadline(d) && !complete) {
        if (dp_complete(d, st)) {
            snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" has successfully progressed.", rsname);
            dp_set_condition(st, "Progressing", "True", "NewReplicaSetAvailable", msg, now);
        } else if (dp_progressing(d, st)) {
            snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" is progressing.", rsname);
            char *ltt = cur && !strcmp(k8s_jstr(cur, "status"), "True")
                            ? ck_strdup(k8s_jstr(cur, "lastTransitionTime"))
                            : NULL;
            dp_remove_condition(st, "Progressing");
            dp_set_condition(st, "Progressing", "True", "ReplicaSetUpdated", msg, now);
            if (ltt)
                json_object_set_new(k8s_condition_get(st, "Progressing", NULL),
                                    "lastTransitionTime", json_string(ltt));
            free(ltt);
        } else if (dp_timed_out(d, st, ck_real_ns())) {
            snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" has timed out progressing.", rsname);
            dp_set_condition(st, "Progressing", "False", "ProgressDeadlineExceeded", msg, now);
        }
    }
    /* ReplicaFailure: the first one reported by a ReplicaSet (new one first) */
    json_t *fail =
        new_rs ? k8s_condition_get(json_object_get(new_rs, "status"), "ReplicaFailure", NULL)
               : NULL;
    size_t i;
    json_t *rs;
    json_array_foreach(all, i, rs)
    {
        if (!fail)
            fail = k8s_condition_get(json_object_get(rs, "status"), "ReplicaFailure", NULL);
    }
    if (fail)
        dp_set_condition(st, "ReplicaFailure", k8s_jstr(fail, "status"), k8s_jstr(fail, "reason"),
                         k8s_jstr(fail, "message"), now);
    else
        dp_remove_condition(st, "ReplicaFailure");
    int rc = 0;
    if (!cm_status_equal(json_object_get(d, "status"), st)) {
        rc = update_d_status(s, st);
    } else {
        /* requeueStuckDeployment: check the deadline again when it passes */
        json_t *pc = k8s_condition_get(st, "Progressing", NULL);
        if (pc && dp_has_progress_deadline(d) && !dp_complete(d, st) &&
            strcmp(k8s_jstr(pc, "reason"), "NewReplicaSetAvailable")) {
            int64_t due = cm_jtime_ns(pc, "lastUpdateTime") +
                          cm_jint(d, "spec.progressDeadlineSeconds", 600) * 1000000000LL;
            int64_t left = due - ck_real_ns();
            wq_add_after(s->c->q, s->key, left > 0 ? left + 1000000000LL : 1000000000LL);
        }
    }
    json_decref(st);
    return rc;
}

/* dc.scale: proportional scaling of the active ReplicaSets. */
static int scale(struct dsync *s, json_t *new_rs, json_t *old)
{
    json_t *d = s->d;
    int64_t want = dp_replicas(d);
    bool scaled;
    json_t *olds = json_copy(old);
    dp_sort_by_creation(olds, true);
    json_t *all = dp_all(olds, new_rs);
    json_t *active = dp_active(all);
    json_t *latest = NULL;
    if (json_array_size(active) == 1)
        latest = json_array_get(active, 0);
    else if (json_array_size(active) == 0)
        latest = new_rs ? new_rs : json_array_get(olds, 0);
    int rc = 0;
    if (latest || json_array_size(active) <= 1) {
        if (latest && cm_jint(latest, "spec.replicas", 1) != want)
            rc = dp_scale_rs(s, latest, want, &scaled);
        goto out;
    }
    int64_t desired;
    if (new_rs && cm_jint(new_rs, "spec.replicas", 1) == want &&
        dp_annotation_int(new_rs, DP_DESIRED, &desired) && desired == want &&
        cm_jint(new_rs, "status.availableReplicas", 0) == want) {
        json_t *oa = dp_active(old);
        size_t i;
        json_t *rs;
        json_array_foreach(oa, i, rs)
        {
            if (dp_scale_rs(s, rs, 0, &scaled) < 0)
                rc = -1;
        }
        json_decref(oa);
        goto out;
    }
    if (dp_is_rolling(d)) {
        int64_t cur = dp_sum_spec(active);
        int64_t allowed = want > 0 ? want + dp_max_surge(d) : 0;
        int64_t to_add = allowed - cur, added = 0;
        dp_sort_by_size(active, to_add > 0);
        size_t n = json_array_size(active);
        int64_t *size = ck_calloc(n, sizeof(int64_t));
        for (size_t i = 0; i < n; i++) {
            json_t *rs = json_array_get(active, i);
            size[i] = cm_jint(rs, "spec.replicas", 1);
            if (to_add != 0) {
                int64_t p = dp_proportion(rs, d, to_add, added);
                size[i] += p;
                added += p;
            }
        }
        if (to_add != 0 && n > 0) {
            size[0] += to_add - added;
            if (size[0] < 0)
                size[0] = 0;
        }
        for (size_t i = 0; i < n; i++)
            if (dp_scale_rs(s, json_array_get(active, i), size[i], &scaled) < 0)
                rc = -1;
        free(size);
    }
out:
    json_decref(active);
    json_decref(all);
    json_decref(olds);
    return rc;
}

/* dc.sync: scaling events and paused deployments. */
static int sync_scale(struct dsync *s)
{
    json_t *new_rs, *old, *all_old;
    int rc = dp_get_all(s, false, &new_rs, &old, &all_old);
    if (rc == 0)
        rc = scale(s, new_rs, old);
    if (rc == 0 && json_is_true(k8s_jpath(s->d, "spec.paused")))
        rc = dp_cleanup(s, all_old);
    if (rc == 0) {
        json_t *all = dp_all(all_old, new_rs);
        json_t *st = calc_status(s, all, new_rs);
        if (!cm_status_equal(json_object_get(s->d, "status"), st))
            rc = update_d_status(s, st);
        json_decref(st);
        json_decref(all);
    }
    json_decref(old);
    json_decref(all_old);
    return rc;
}

static bool is_scaling_event(struct dsync *s)
{
    json_t *new_rs, *old, *all_old;
    bool ev = false;
    if (dp_get_all(s, false, &new_rs, &old, &all_old) == 0) {
        json_t *all = dp_all(all_old, new_rs);
        json_t *active = dp_active(all);
        size_t i;
        json_t *rs;
        json_array_foreach(active, i, rs)
        {
            int64_t desired;
            if (dp_annotation_int(rs, DP_DESIRED, &desired) && desired != dp_replicas(s->d))
                ev = true;
        }
        json_decref(active);
        json_decref(all);
    }
    json_decref(old);
    json_decref(all_old);
    return ev;
}

static int check_paused(struct dsync *s)
{
    if (!dp_has_progress_deadline(s->d))
        return 0;
    json_t *st = json_object_get(s->d, "status");
    json_t *c = k8s_condition_get(st, "Progressing", NULL);
    if (c && !strcmp(k8s_jstr(c, "reason"), "ProgressDeadlineExceeded"))
        return 0;
    bool paused_cond = c && !strcmp(k8s_jstr(c, "reason"), "DeploymentPaused");
    bool paused = json_is_true(k8s_jpath(s->d, "spec.paused"));
    if (paused == paused_cond)
        return 0;
    json_t *ns = st ? json_deep_copy(st) : json_object();
    char now[32];
    cm_now(now);
    if (paused)
        dp_set_condition(ns, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused",
                         now);
    else
        dp_set_condition(ns, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed",
                         now);
    int rc = update_d_status(s, ns);
    json_decref(ns);
    return rc;
}

static int sync_deployment(void *arg, const char *key)
{
    struct dpc *c = arg;
    char ns[256];
    const char *slash = strchr(key, '/');
    if (!slash || (size_t)(slash - key) >= sizeof(ns))
        return 0;
    snprintf(ns, sizeof(ns), "%.*s", (int)(slash - key), key);
    json_t *cached = cm_get(c->cm->deps, ns, slash + 1);
    if (!cached)
        return 0;
    struct dsync s = {.c = c, .d = json_deep_copy(cached), .ns = ns, .key = key};
    json_decref(cached);
    int rc = 0;
    json_t *selj = k8s_jpath(s.d, "spec.selector");
    struct sel *sel = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (cm_json_semantic_equal(selj, NULL) ||
        sel_from_label_selector(selj, &sel, &err) < 0) { /* selects everything: refuse */
        if (cm_jint(s.d, "status.observedGeneration", 0) < cm_jint(s.d, "metadata.generation", 0)) {
            json_t *st = json_deep_copy(json_object_get(s.d, "status"));
            if (!st)
                st = json_object();
            json_object_set_new(st, "observedGeneration",
                                json_integer(cm_jint(s.d, "metadata.generation", 0)));
            rc = update_d_status(&s, st);
            json_decref(st);
        }
        goto out;
    }
    json_t *cands = ck_indexer_by_index(ck_informer_indexer(c->cm->rss), "namespace", ns);
    char *coll = ck_asprintf("/apis/apps/v1/namespaces/%s/replicasets", ns);
    char *self = ck_asprintf("/apis/apps/v1/namespaces/%s/deployments/%s", ns, k8s_obj_name(s.d));
    json_t *claimed = cm_claim(c->cm, s.d, "apps/v1", "Deployment", self, sel, cands, coll);
    free(coll);
    free(self);
    json_decref(cands);
    s.rss = json_array();
    size_t i;
    json_t *rs;
    json_array_foreach(claimed, i, rs) json_array_append_new(s.rss, json_deep_copy(rs));
    json_decref(claimed);
    if (k8s_obj_deleting(s.d))
        rc = sync_status_only(&s);
    else if ((rc = check_paused(&s)) < 0)
        ;
    else if (json_is_true(k8s_jpath(s.d, "spec.paused")) || is_scaling_event(&s))
        rc = sync_scale(&s);
    else if (dp_is_rolling(s.d))
        rc = dp_rollout_rolling(&s);
    else
        rc = dp_rollout_recreate(&s);
out:
    sel_free(sel);
    json_decref(s.rss);
    json_decref(s.d);
    return rc;
}

static int dp_init(struct cm *cm, void **state)
{
    struct dpc *c = ck_calloc(1, sizeof(*c));
    c->cm = cm;
    c->q = wq_new(&(struct wq_opts){.name = "deployment"});
    ck_informer_add_handlers(cm->deps, &(struct ck_informer_handlers){d_add, d_upd, d_add, c});
    ck_informer_add_handlers(cm->rss, &(struct ck_informer_handlers){rs_add, rs_upd, rs_add, c});
    ck_informer_add_handlers(cm->pods, &(struct ck_informer_handlers){NULL, NULL, pod_del, c});
    cm->dep_state = c;
    *state = c;
    return 0;
}

static void dp_run(void *state)
{
    struct dpc *c = state;
    c->w =
        (struct cm_workers){.q = c->q, .sync = sync_deployment, .arg = c, .ctrl = &cm_deployment};
    cm_workers_start(&c->w, c->cm->workers);
}

static void dp_stop(void *state)
{
    struct dpc *c = state;
    wq_shutdown(c->q);
    cm_workers_join(&c->w);
}

static void dp_free(void *state)
{
    struct dpc *c = state;
    wq_free(c->q);
    free(c);
}

struct cm_controller cm_deployment = {.name = "deployment",
                                      .alias = "deployment-controller",
                                      .init = dp_init,
                                      .run = dp_run,
                                      .stop = dp_stop,
                                      .free = dp_free};
