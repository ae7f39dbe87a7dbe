/* SPDX-License-Identifier: Apache-2.0 */
/* The Deployment controller's internals shared by deployment.c (sync, scaling, status) and
 * dp_rollout.c (rolling update, recreate, cleanup). */
#ifndef CK_CONTROLLERS_DP_INT_H
#define CK_CONTROLLERS_DP_INT_H

#include "controllers/cm.h"

#include <jansson.h>
#include <stdbool.h>

struct dpc {
    struct cm *cm;
    struct wq *q;
    struct cm_workers w;
};

/* One sync of one Deployment: d and rss are private deep copies the sync may modify. */
struct dsync {
    struct dpc *c;
    json_t *d;   /* the Deployment */
    json_t *rss; /* the ReplicaSets it controls */
    const char *ns, *key;
};

/* getAllReplicaSetsAndSyncRevision: *new_rs (borrowed from s->rss or a new object appended to
 * it; NULL when none and !create), *old (new array of the old ones with replicas, required
 * by rollouts) and *all_old. Returns -1 on an API error. */
int dp_get_all(struct dsync *s, bool create, json_t **new_rs, json_t **old, json_t **all_old);
/* scaleReplicaSetAndRecordEvent: sets spec.replicas and the replica annotations; *scaled
 * tells whether anything was written. */
int dp_scale_rs(struct dsync *s, json_t *rs, int64_t replicas, bool *scaled);
/* syncRolloutStatus. */
int dp_sync_rollout_status(struct dsync *s, const json_t *all, const json_t *new_rs);
/* FilterActiveReplicaSets: those with spec.replicas > 0 (new array). */
json_t *dp_active(const json_t *rss);
/* all = old + new (new array). */
json_t *dp_all(const json_t *old, const json_t *new_rs);

int dp_rollout_rolling(struct dsync *s);
int dp_rollout_recreate(struct dsync *s);
int dp_cleanup(struct dsync *s, const json_t *old);

#endif
