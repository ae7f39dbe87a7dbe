/* SPDX-License-Identifier: Apache-2.0 */
/* Taints and tolerations (k8s.io/api/core/v1 toleration.go and taint.go, and
 * k8s.io/component-helpers/scheduling/corev1 helpers.go) over the JSON of a Node's
 * spec.taints[] items and a Pod's spec.tolerations[] items. Missing string fields read as "".
 * Every function is pure and thread-safe; returned pointers are borrowed from the inputs. */
#ifndef CK_K8S_TAINTS_H
#define CK_K8S_TAINTS_H

#include <jansson.h>
#include <stdbool.h>

#define K8S_TAINT_NO_SCHEDULE "NoSchedule"
#define K8S_TAINT_PREFER_NO_SCHEDULE "PreferNoSchedule"
#define K8S_TAINT_NO_EXECUTE "NoExecute"

/* Toleration.ToleratesTaint: an empty toleration effect matches every effect; an empty key
 * (only valid with Exists) matches every key; operator "" or Equal compares values, Exists
 * ignores them. Gt/Lt compare the values as canonical decimal int64s (taint value > / <
 * toleration value) only when cmp_ops is true (upstream's TaintTolerationComparisonOperators
 * feature); a non-canonical number ("0100", "+1", "1.5") never tolerates. Any other operator
 * tolerates nothing. */
bool k8s_toleration_tolerates(const json_t *toleration, const json_t *taint, bool cmp_ops);

/* TolerationsTolerateTaint: does any toleration of the array tolerate the taint? */
bool k8s_tolerations_tolerate(const json_t *tolerations, const json_t *taint, bool cmp_ops);

/* A taint filter: true when the taint is to be considered. */
typedef bool (*k8s_taint_filter_fn)(const json_t *taint, void *ctx);

/* Filter that keeps NoSchedule and NoExecute taints (the scheduler's TaintToleration filter). */
bool k8s_taint_filter_no_schedule_or_execute(const json_t *taint, void *ctx);
/* Filter that keeps taints whose effect equals the string ctx (e.g. K8S_TAINT_NO_EXECUTE). */
bool k8s_taint_filter_effect(const json_t *taint, void *ctx);

/* FindMatchingUntoleratedTaint: the first taint of the array (that the filter keeps; a NULL
 * filter keeps all) which no toleration tolerates, or NULL when all are tolerated. */
const json_t *k8s_find_untolerated_taint(const json_t *taints, const json_t *tolerations,
                                         k8s_taint_filter_fn filter, void *ctx, bool cmp_ops);

/* Taint.MatchTaint: same key and effect. */
bool k8s_taint_match(const json_t *a, const json_t *b);

/* Taint.ToString: "key=value:effect", "key:effect", "key=value:" or "key". Caller frees. */
char *k8s_taint_to_string(const json_t *taint);

#endif
