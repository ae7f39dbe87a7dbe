/* SPDX-License-Identifier: Apache-2.0 */
/* The DaemonSet controller's pure decisions (pkg/controller/daemon/daemon_controller.go,
 * update.go and util/daemonset_util.go): which nodes should run a daemon pod (nodeName, required
 * node affinity and nodeSelector, NoSchedule/NoExecute taints against the template's
 * tolerations plus the ones the controller adds), the pod template (tolerations, labels, the
 * metadata.name node affinity), which pods are up to date, the per-node create/delete decision,
 * the rolling update (maxUnavailable, maxSurge), status counts and history cleanup. Node-to-pods
 * maps are JSON objects {nodeName: [pod, ...]}. No I/O. */
#ifndef CK_CONTROLLERS_DAEMONSET_UTIL_H
#define CK_CONTROLLERS_DAEMONSET_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define DS_TEMPLATE_GEN_LABEL "pod-template-generation"
#define DS_TEMPLATE_GEN_ANNOTATION "deprecated.daemonset.template.generation"

/* AddOrUpdateDaemonPodTolerations on a pod spec. */
void ds_add_tolerations(json_t *podspec);
/* ReplaceDaemonSetPodNodeNameNodeAffinity: the required terms' matchFields become
 * metadata.name In [node] (one such term when there were none). */
void ds_set_node_affinity(json_t *podspec, const char *node);
/* GetTargetNodeName: spec.nodeName, else the single metadata.name In value of the required
 * node affinity's matchFields; NULL when neither. Borrowed. */
const char *ds_target_node(const json_t *pod);
/* The template generation annotation; false when missing or invalid. */
bool ds_template_generation(const json_t *ds, int64_t *gen);
/* CreatePodTemplate: the template with the added tolerations and the controller-revision-hash
 * (and pod-template-generation, when known) labels. New reference. */
json_t *ds_pod_template(const json_t *ds, const char *hash);
/* NodeShouldRunDaemonPod. */
void ds_should_run(const json_t *node, const json_t *ds, bool *should_run, bool *should_continue);
/* IsPodUpdated: the hash label matches, or the template generation label does. */
bool ds_pod_updated(const json_t *pod, const char *hash, const json_t *ds);
/* podByCreationTimestampAndPhase: sorts an array of pods in place (scheduled first, then
 * oldest, then name). */
void ds_sort_pods(json_t *pods);
/* spec.minReadySeconds within [0, 2^31-1]. */
int64_t ds_min_ready(const json_t *ds);
/* AllowsSurge: RollingUpdate with a maxSurge that resolves above 0. */
bool ds_allows_surge(const json_t *ds);

/* Decisions collect names: nodes that need a pod, pods to delete (borrowed from the map). */
struct ds_decision {
    json_t *create_nodes; /* array of node names */
    json_t *delete_pods;  /* array of pods */
};
void ds_decision_init(struct ds_decision *d);
void ds_decision_free(struct ds_decision *d);

/* podsShouldBeOnNode for every node, then getUnscheduledPodsWithoutNode. */
void ds_manage(const json_t *ds, const json_t *nodes, const json_t *node_pods, const char *hash,
               int64_t now_ns, struct ds_decision *d);
/* updatedDesiredNodeCounts: desired number scheduled and the resolved maxSurge and
 * maxUnavailable (both 0 makes maxUnavailable 1); returns -1 on a bad intstr. node_pods gets an
 * empty entry for every node that should run a pod and has none. */
int ds_desired_counts(const json_t *ds, const json_t *nodes, json_t *node_pods, int64_t *desired,
                      int64_t *max_surge, int64_t *max_unavailable);
/* rollingUpdate's decision. */
int ds_rolling_update(const json_t *ds, const json_t *nodes, const json_t *node_pods,
                      const char *hash, int64_t now_ns, struct ds_decision *d);

struct ds_counts {
    int64_t desired, current, misscheduled, ready, updated, available, unavailable;
};
/* updateDaemonSetStatus's counts. */
void ds_count(const json_t *ds, const json_t *nodes, const json_t *node_pods, const char *hash,
              int64_t now_ns, struct ds_counts *c);

/* cleanupHistory's choice: of old revisions, the oldest beyond revisionHistoryLimit whose hash
 * label no pod carries. New array. */
json_t *ds_history_to_delete(const json_t *ds, const json_t *old, const json_t *node_pods);

#endif
