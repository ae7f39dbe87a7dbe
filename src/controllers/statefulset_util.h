/* SPDX-License-Identifier: Apache-2.0 */
/* The StatefulSet controller's pure decisions (pkg/controller/statefulset/stateful_set_utils.go
 * and the ordering of stateful_set_control.go's updateStatefulSet): pod identity (name,
 * ordinal, labels, hostname/subdomain, claim volumes), the claims of volumeClaimTemplates and
 * their retention-policy owner references, health, status counts, and the plan of creations,
 * deletions and identity repairs for one sync. No I/O. */
#ifndef CK_CONTROLLERS_STATEFULSET_UTIL_H
#define CK_CONTROLLERS_STATEFULSET_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STS_POD_NAME_LABEL "statefulset.kubernetes.io/pod-name"
#define STS_POD_INDEX_LABEL "apps.kubernetes.io/pod-index"

/* getParentNameAndOrdinal: "<parent>-<ordinal>"; false when the name has no such form. */
bool sts_parse_name(const char *pod_name, char *parent, size_t n, int64_t *ordinal);
/* getOrdinal: the pod's ordinal, -1 when unparsable. */
int64_t sts_ordinal(const json_t *pod);
/* isMemberOf: the pod's parent name is the set's. */
bool sts_is_member(const json_t *set, const json_t *pod);
int64_t sts_start(const json_t *set);    /* spec.ordinals.start, 0 by default */
int64_t sts_replicas(const json_t *set); /* spec.replicas, 1 by default */
/* spec.minReadySeconds within [0, 2^31-1] (so that seconds * 1e9 never overflows). */
int64_t sts_min_ready(const json_t *set);
bool sts_in_range(const json_t *set, const json_t *pod);
/* getPodName / getPersistentVolumeClaimName. Caller frees. */
char *sts_pod_name(const json_t *set, int64_t ordinal);
char *sts_claim_name(const json_t *set, const char *claim, int64_t ordinal);

/* Pod health (stateful_set_utils.go): isCreated is "exists" here. */
bool sts_running_ready(const json_t *pod);
bool sts_available(const json_t *pod, int64_t min_ready_s, int64_t now_ns);
bool sts_terminating(const json_t *pod);
bool sts_healthy(const json_t *pod);
/* isUnavailable; a NULL (not yet created) pod is unavailable. */
bool sts_unavailable(const json_t *pod, int64_t min_ready_s, int64_t now_ns);
bool sts_failed_or_succeeded(const json_t *pod);
const char *sts_pod_revision(const json_t *pod);

/* identityMatches / storageMatches. */
bool sts_identity_matches(const json_t *set, const json_t *pod);
bool sts_storage_matches(const json_t *set, const json_t *pod);

/* ApplyRevision: a copy of set whose spec.template is the revision's (data.spec.template,
 * $patch directives dropped). New reference. */
json_t *sts_apply_revision(const json_t *set, const json_t *revision);
/* newStatefulSetPod + setPodRevision: the pod of ordinal for set (whose template is used),
 * with its controller reference. New reference. */
json_t *sts_new_pod(const json_t *set, int64_t ordinal, const char *revision, const json_t *ref);
/* updateIdentity + updateStorage applied to an existing pod (labels, volumes). */
void sts_fix_identity(const json_t *set, json_t *pod);
/* getPersistentVolumeClaims: the claims of ordinal (with owner references for the retention
 * policy as a new claim gets them: the set's when whenDeleted is Delete). New array. */
json_t *sts_claims(const json_t *set, int64_t ordinal);
/* updateClaimOwnerRefForSetAndPod: the ownerReferences claim should have for set and pod
 * under the retention policy, or NULL when its current ones already match. New reference. */
json_t *sts_claim_refs(const json_t *set, const json_t *pod, const json_t *claim);

/* computeReplicaStatus over the pods (those with ordinals). */
struct sts_counts {
    int64_t replicas, ready, available, current, updated;
};
void sts_count(const json_t *pods, int64_t min_ready_s, const char *cur, const char *upd,
               int64_t now_ns, struct sts_counts *c);

/* One step of updateStatefulSet. */
enum sts_op {
    STS_CREATE, /* ordinal; update: at the update revision (else the current one) */
    STS_DELETE, /* pod: failed/succeeded, condemned (scale down) or out of date (update) */
    STS_FIX,    /* pod: identity or storage does not match */
};
struct sts_action {
    enum sts_op op;
    int64_t ordinal;
    bool update;
    const json_t *pod; /* borrowed from the pods given to sts_plan */
};
struct sts_plan {
    struct sts_action *a;
    size_t n, cap;
    bool blocked_available; /* waits for minReadySeconds to pass */
};
/* The actions of one sync in the order upstream takes them: replicas in ordinal order (create
 * missing, replace failed, wait for Running+Ready+Available when OrderedReady), condemned from
 * the highest ordinal (OrderedReady: one at a time, after the rest is healthy), then for
 * RollingUpdate the highest out-of-date pod at or above the partition. cur/upd: revision names.
 * Parallel creates at most 500 pods per sync. */
void sts_plan(const json_t *set, const json_t *pods, const char *cur, const char *upd,
              int64_t now_ns, struct sts_plan *out);
void sts_plan_free(struct sts_plan *p);

/* completeRollingUpdate on a status object; returns whether it applied. */
bool sts_complete_rolling_update(const json_t *set, json_t *status);

#endif
