/* SPDX-License-Identifier: Apache-2.0 */
/* Pod, node and object-metadata helpers over v1 JSON: typed accessors, conditions
 * (pkg/api/v1/pod util.go GetPodCondition / IsPodReady / UpdatePodCondition), phases, and
 * controller owner references (apimachinery meta/v1 controller_ref.go).
 *
 * Accessors never return NULL strings: a missing field reads as "" unless stated. Returned
 * pointers are borrowed from the object and live as long as it does. Pure and thread-safe
 * except the functions that modify their argument. */
#ifndef CK_K8S_POD_H
#define CK_K8S_POD_H

#include "k8s/podres.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- object metadata ---- */
const char *k8s_obj_name(const json_t *obj);
const char *k8s_obj_namespace(const json_t *obj);
const char *k8s_obj_uid(const json_t *obj);
/* The value of label key, or NULL when the object has no such (string) label. */
const char *k8s_obj_label(const json_t *obj, const char *key);
/* The value of annotation key, or NULL. */
const char *k8s_obj_annotation(const json_t *obj, const char *key);
/* metadata.deletionTimestamp is set. */
bool k8s_obj_deleting(const json_t *obj);

/* GetControllerOf: the metadata.ownerReferences item with controller: true, or NULL. */
const json_t *k8s_obj_controller_of(const json_t *obj);
/* IsControlledBy: the controller reference's uid equals owner_uid. */
bool k8s_obj_is_controlled_by(const json_t *obj, const char *owner_uid);

/* ---- pods ---- */
const char *k8s_pod_node_name(const json_t *pod);
const char *k8s_pod_scheduler_name(const json_t *pod);
/* spec.priority, or 0 when unset (PodPriority). */
int32_t k8s_pod_priority(const json_t *pod);
const char *k8s_pod_phase(const json_t *pod);
/* Phase Succeeded or Failed (IsPodPhaseTerminal). */
bool k8s_pod_is_terminal(const json_t *pod);
/* spec.nodeName is set (the scheduler's "assigned pod"). */
bool k8s_pod_is_assigned(const json_t *pod);

/* GetPodCondition / GetNodeCondition: the item of status.conditions (status is the object's
 * "status" member) whose type matches, or NULL; *index (optional) gets its position or -1. */
json_t *k8s_condition_get(const json_t *status, const char *type, int *index);
/* The condition of obj (a pod or node) has status "True". */
bool k8s_condition_true(const json_t *obj, const char *type);
/* IsPodReady: the Ready condition is True. */
bool k8s_pod_is_ready(const json_t *pod);
/* The PodScheduled condition is True. */
bool k8s_pod_is_scheduled(const json_t *pod);

/* UpdatePodCondition: stores a copy of cond (a PodCondition object with at least "type")
 * in status.conditions, creating status/conditions as needed. lastTransitionTime becomes
 * now (RFC 3339, or the current time when NULL) for a new condition or a changed status,
 * and keeps the old condition's value when the status is unchanged. Returns true when the
 * condition was added or any of status, reason, message, lastProbeTime or
 * lastTransitionTime changed. */
bool k8s_pod_update_condition(json_t *pod, const json_t *cond, const char *now);

/* ---- nodes ---- */
/* status.allocatable / status.capacity as a resource list (out is cleared first). */
void k8s_node_allocatable(const json_t *node, struct k8s_reslist *out);
void k8s_node_capacity(const json_t *node, struct k8s_reslist *out);
/* The same, summarised (milli-cpu, memory, ephemeral-storage, pods). */
void k8s_node_allocatable_summary(const json_t *node, struct k8s_resource *r);
/* The node's Ready condition is True. */
bool k8s_node_is_ready(const json_t *node);
/* spec.unschedulable is true. */
bool k8s_node_unschedulable(const json_t *node);

#endif
