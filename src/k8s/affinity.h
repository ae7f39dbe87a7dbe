/* SPDX-License-Identifier: Apache-2.0 */
/* Node selection (k8s.io/component-helpers/scheduling/corev1/nodeaffinity): NodeSelector
 * terms, a pod's required node affinity together with spec.nodeSelector, and the score of
 * preferred scheduling terms, over v1 JSON.
 *
 * Rules: terms are ORed and the requirements of a term ANDed; a term with neither
 * matchExpressions nor matchFields is skipped (so a selector of only empty terms matches
 * nothing). matchExpressions operators In, NotIn, Exists, DoesNotExist, Gt, Lt are checked as
 * labels.NewRequirement does (valid qualified key, valid label values, In/NotIn need values,
 * Exists/DoesNotExist none, Gt/Lt exactly one Go-parsable int64); matchFields allows In/NotIn
 * with exactly one value and reads only metadata.name (other fields read as ""); a node
 * without a name skips matchFields. A term with an invalid requirement matches nothing; the
 * optional *invalid is set to true when such a term was met (upstream reports an error), and
 * left alone otherwise. Pure and thread-safe. */
#ifndef CK_K8S_AFFINITY_H
#define CK_K8S_AFFINITY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* One NodeSelectorRequirement against a label set (JSON object of strings, may be NULL).
 * Returns 1 match, 0 no match, -1 invalid requirement. */
int k8s_node_selector_requirement_match(const json_t *req, const json_t *labels);

/* One NodeSelectorTerm against a node. Returns 1, 0, or -1 (invalid). An empty term is 0. */
int k8s_node_selector_term_match(const json_t *term, const json_t *node);

/* LazyErrorNodeSelector.Match: v1.NodeSelector {"nodeSelectorTerms":[...]} against a node.
 * A NULL node matches nothing. */
bool k8s_node_selector_match(const json_t *node_selector, const json_t *node, bool *invalid);

/* GetRequiredNodeAffinity(pod).Match(node): every spec.nodeSelector pair must be a node label,
 * and spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution (when set)
 * must match. */
bool k8s_pod_matches_node(const json_t *pod, const json_t *node, bool *invalid);

/* PreferredSchedulingTerms.Score: sum of the weights of the terms of a
 * [{"weight":w,"preference":term}] array that match the node. Terms with weight 0 or an
 * empty preference are ignored; *invalid is set when a weighted term is invalid (upstream
 * fails to build the terms then), the score being that of the valid ones. */
int64_t k8s_preferred_terms_score(const json_t *terms, const json_t *node, bool *invalid);

/* Score of a pod's spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution. */
int64_t k8s_pod_preferred_score(const json_t *pod, const json_t *node, bool *invalid);

#endif
