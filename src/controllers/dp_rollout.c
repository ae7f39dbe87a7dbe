/* SPDX-License-Identifier: Apache-2.0 */
/* Deployment rollouts (rolling.go, recreate.go) and revision history cleanup (sync.go
 * cleanupDeployment). Every step writes at most what one decision needs, then returns; the
 * resulting ReplicaSet events bring the Deployment back for the next step. */
#include "ckube/indexer.h"
#include "controllers/dp_int.h"
#include "controllers/dputil.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

/* reconcileNewReplicaSet. */
static int reconcile_new(struct dsync *s, const json_t *all, json_t *new_rs, bool *scaled)
{
    *scaled = false;
    int64_t want = dp_replicas(s->d), have = cm_jint(new_rs, "spec.replicas", 1);
    if (have == want)
        return 0;
    if (have > want)
        return dp_scale_rs(s, new_rs, want, scaled);
    return dp_scale_rs(s, new_rs, dp_new_rs_new_replicas(s->d, all, new_rs), scaled);
}

/* reconcileOldReplicaSets: applies dp_plan_old_scale_down. */
static int reconcile_old(struct dsync *s, json_t *old, json_t *new_rs, bool *scaled)
{
    size_t n = json_array_size(old);
    int64_t *sizes = ck_calloc(n ? n : 1, sizeof(int64_t));
    *scaled = dp_plan_old_scale_down(s->d, old, new_rs, sizes);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_t *rs = json_array_get(old, i);
        bool done;
        if (sizes[i] != cm_jint(rs, "spec.replicas", 1))
            rc = dp_scale_rs(s, rs, sizes[i], &done);
    }
    free(sizes);
    return rc;
}

int dp_rollout_rolling(struct dsync *s)
{
    json_t *new_rs, *old, *all_old;
    if (dp_get_all(s, true, &new_rs, &old, &all_old) < 0 || !new_rs) {
        json_decref(old);
        json_decref(all_old);
        return -1;
    }
    json_t *all = dp_all(old, new_rs);
    bool scaled;
    int rc = reconcile_new(s, all, new_rs, &scaled);
    if (rc == 0 && !scaled) {
        json_t *active = dp_active(old);
        rc = reconcile_old(s, active, new_rs, &scaled);
        json_decref(active);
    }
    if (rc == 0) {
        json_t *everything = dp_all(all_old, new_rs);
        if (!scaled) {
            json_t *st = json_object_get(s->d, "status");
            if (dp_complete(s->d, st))
                rc = dp_cleanup(s, all_old);
        }
        if (rc == 0)
            rc = dp_sync_rollout_status(s, everything, new_rs);
        json_decref(everything);
    }
    json_decref(all);
    json_decref(old);
    json_decref(all_old);
    return rc;
}

/* oldPodsRunning: old ReplicaSets still have replicas, or pods of theirs are not terminal. */
static bool old_pods_running(struct dsync *s, const json_t *new_rs, const json_t *old_all)
{
    if (dp_sum_status(old_all, "replicas") > 0)
        return true;
    size_t i;
    json_t *rs;
    bool running = false;
    json_array_foreach(old_all, i, rs)
    {
        if (new_rs && !strcmp(k8s_obj_uid(rs), k8s_obj_uid(new_rs)))
            continue;
        json_t *pods =
            ck_indexer_by_index(ck_informer_indexer(s->c->cm->pods), "owner-uid", k8s_obj_uid(rs));
        size_t j;
        json_t *p;
        json_array_foreach(pods, j, p)
        {
            if (k8s_obj_is_controlled_by(p, k8s_obj_uid(rs)) && !k8s_pod_is_terminal(p))
                running = true;
        }
        json_decref(pods);
    }
    return running;
}

int dp_rollout_recreate(struct dsync *s)
{
    json_t *new_rs, *old, *all_old;
    if (dp_get_all(s, false, &new_rs, &old, &all_old) < 0) {
        json_decref(old);
        json_decref(all_old);
        return -1;
    }
    int rc = 0;
    bool any = false;
    json_t *active_old = dp_active(old);
    size_t i;
    json_t *rs;
    json_array_foreach(active_old, i, rs)
    {
        bool scaled;
        if (dp_scale_rs(s, rs, 0, &scaled) < 0)
            rc = -1;
        any |= scaled;
    }
    json_decref(active_old);
    if (rc == 0 && !any && !old_pods_running(s, new_rs, all_old)) {
        if (!new_rs) {
            json_decref(old);
            json_decref(all_old);
            if (dp_get_all(s, true, &new_rs, &old, &all_old) < 0 || !new_rs)
                rc = -1;
        }
        if (rc == 0) {
            bool scaled;
            rc = dp_scale_rs(s, new_rs, dp_replicas(s->d), &scaled);
            if (rc == 0 && dp_complete(s->d, json_object_get(s->d, "status")))
                rc = dp_cleanup(s, all_old);
        }
    }
    if (rc == 0) {
        json_t *all = dp_all(all_old, new_rs);
        rc = dp_sync_rollout_status(s, all, new_rs);
        json_decref(all);
    }
    json_decref(old);
    json_decref(all_old);
    return rc;
}

int dp_cleanup(struct dsync *s, const json_t *old)
{
    json_t *lim = k8s_jpath(s->d, "spec.revisionHistoryLimit");
    if (!json_is_integer(lim))
        return 0;
    json_t *cand = json_array();
    size_t i;
    json_t *rs;
    json_array_foreach(old, i, rs)
    {
        if (!k8s_obj_deleting(rs))
            json_array_append(cand, rs);
    }
    int64_t diff = (int64_t)json_array_size(cand) - (int64_t)json_integer_value(lim);
    dp_sort_by_revision(cand);
    int rc = 0;
    for (int64_t k = 0; k < diff; k++) {
        rs = json_array_get(cand, (size_t)k);
        if (cm_jint(rs, "status.replicas", 0) != 0 || cm_jint(rs, "spec.replicas", 1) != 0 ||
            cm_jint(rs, "metadata.generation", 0) > cm_jint(rs, "status.observedGeneration", 0))
            continue;
        char *path =
            ck_asprintf("/apis/apps/v1/namespaces/%s/replicasets/%s", s->ns, k8s_obj_name(rs));
        struct ck_err err = CK_ERR_INIT;
        if (ck_client_delete(s->c->cm->client, path, &err) < 0 && err.reason != CK_R_NOT_FOUND)
            rc = -1;
        free(path);
    }
    json_decref(cand);
    return rc;
}
