/* SPDX-License-Identifier: Apache-2.0 */
/* The ReplicaSet controller's pure decisions (controller_utils.go, replica_set.go,
 * replica_set_utils.go): slow-start batches, active pods, availability, the ranking that
 * picks which pods to delete, and status counts. No I/O. */
#ifndef CK_CONTROLLERS_RSUTIL_H
#define CK_CONTROLLERS_RSUTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CM_BURST_REPLICAS 500   /* replica_set.go BurstReplicas */
#define CM_SLOW_START_INITIAL 1 /* SlowStartInitialBatchSize */

/* slowStartBatch's batch sizes for count items starting at initial: 1, 2, 4, ... with the
 * last one the remainder. Writes at most max sizes; returns how many batches there are. */
int cm_slow_start_batches(int count, int initial, int *out, int max);

/* IsPodActive: not Succeeded/Failed and no deletionTimestamp. */
bool cm_pod_active(const json_t *pod);
/* IsPodAvailable: Ready, and Ready for at least min_ready_s by now_ns (epoch ns). */
bool cm_pod_available(const json_t *pod, int64_t min_ready_s, int64_t now_ns);

/* ActivePodsWithRanks.Less (LogarithmicScaleDown on): true when pod a should be deleted
 * before pod b. rank: pods related to the controller on the same node. */
bool cm_pod_delete_before(const json_t *a, int rank_a, const json_t *b, int rank_b, int64_t now_ns);
/* getPodsToDelete: the diff pods of filtered (active, owned) to delete first, ranked by the
 * active pods of related (all pods of the owner's family) sharing their node. New array. */
json_t *cm_pods_to_delete(const json_t *filtered, const json_t *related, int diff, int64_t now_ns);

struct cm_rs_counts {
    int64_t replicas, fully_labeled, ready, available;
};
/* calculateStatus's counts over the filtered (active, owned) pods. */
void cm_rs_counts(const json_t *rs, const json_t *filtered, int64_t now_ns, struct cm_rs_counts *c);

/* GetPodFromTemplate: a new pod for owner (a ReplicaSet) with its controller reference. */
json_t *cm_pod_from_template(const json_t *template, const char *prefix, json_t *ctrl_ref);

#endif
