/* SPDX-License-Identifier: Apache-2.0 */
/* The Deployment controller's pure decisions (pkg/controller/deployment/util): maxSurge and
 * maxUnavailable with upstream's rounding, new ReplicaSet sizing, proportional scaling,
 * pod-template-hash, revision and replica annotations, conditions, completeness. No I/O. */
#ifndef CK_CONTROLLERS_DPUTIL_H
#define CK_CONTROLLERS_DPUTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define DP_REVISION "deployment.kubernetes.io/revision"
#define DP_REVISION_HISTORY "deployment.kubernetes.io/revision-history"
#define DP_DESIRED "deployment.kubernetes.io/desired-replicas"
#define DP_MAX "deployment.kubernetes.io/max-replicas"
#define DP_HASH_LABEL "pod-template-hash"

/* intstr.GetScaledValueFromIntOrPercent: an integer, or "N%" of total rounded up or down.
 * Returns -1 for anything else. */
int dp_scaled_value(const json_t *v, int64_t total, bool round_up, int64_t *out);
/* ResolveFenceposts: surge rounds up, unavailable rounds down; both 0 makes unavailable 1. */
int dp_resolve_fenceposts(const json_t *surge, const json_t *unavail, int64_t desired, int64_t *s,
                          int64_t *u);
int64_t dp_replicas(const json_t *d);
bool dp_is_rolling(const json_t *d);
int64_t dp_max_surge(const json_t *d);
int64_t dp_max_unavailable(const json_t *d);

/* Sums over an array of ReplicaSets: spec.replicas, status.replicas, readyReplicas,
 * availableReplicas. */
int64_t dp_sum_spec(const json_t *rss);
int64_t dp_sum_status(const json_t *rss, const char *field);

/* NewRSNewReplicas: the size the new ReplicaSet may grow to now. */
int64_t dp_new_rs_new_replicas(const json_t *d, const json_t *all_rss, const json_t *new_rs);
/* GetProportion (through getReplicaSetFraction). */
int64_t dp_proportion(const json_t *rs, const json_t *d, int64_t to_add, int64_t added);

/* ComputeHash: fnv-32a of the template (canonical JSON) and the collision count, as
 * rand.SafeEncodeString of its decimal text. out must hold 16 bytes. */
void dp_compute_hash(const json_t *template, int64_t collision_count, char out[16]);
/* EqualIgnoreHash: the templates without pod-template-hash are semantically equal. */
bool dp_equal_ignore_hash(const json_t *t1, const json_t *t2);

/* The revision annotation as a number (0 when missing or invalid). */
int64_t dp_revision(const json_t *obj);
/* SetNewReplicaSetAnnotations; returns whether rs changed. */
bool dp_set_new_rs_annotations(const json_t *d, json_t *rs, const char *new_revision, bool exists);
/* SetReplicasAnnotations; returns whether rs changed. */
bool dp_set_replicas_annotations(json_t *rs, int64_t desired, int64_t max);
/* The desired-replicas/max-replicas annotation; false when missing or invalid. */
bool dp_annotation_int(const json_t *rs, const char *key, int64_t *out);

/* SetDeploymentCondition on a status object (conditions array made as needed). now: RFC
 * 3339. Keeps lastTransitionTime when the status does not change; no-op when status and
 * reason are the same. */
void dp_set_condition(json_t *status, const char *type, const char *st, const char *reason,
                      const char *msg, const char *now);
void dp_remove_condition(json_t *status, const char *type);

/* DeploymentComplete / DeploymentProgressing over a newly computed status. */
bool dp_complete(const json_t *d, const json_t *st);
bool dp_progressing(const json_t *d, const json_t *st);
/* DeploymentTimedOut at now_ns. */
bool dp_timed_out(const json_t *d, const json_t *st, int64_t now_ns);
bool dp_has_progress_deadline(const json_t *d);

/* reconcileOldReplicaSets' decision (cleanupUnhealthyReplicas, then
 * scaleDownOldReplicaSetsForRollingUpdate): sizes[i] receives the new spec.replicas of old[i]
 * (old: the active old ReplicaSets, any order). Returns true when any of them shrinks. */
bool dp_plan_old_scale_down(const json_t *d, const json_t *old, const json_t *new_rs,
                            int64_t *sizes);

/* Sorts an array of ReplicaSets in place: by creation time (oldest first, then name), or by
 * revision (then creation). */
void dp_sort_by_creation(json_t *rss, bool newest_first);
void dp_sort_by_revision(json_t *rss);
/* ReplicaSetsBySizeNewer (larger first, then newer) or BySizeOlder (larger, then older). */
void dp_sort_by_size(json_t *rss, bool newer_first);

#endif
