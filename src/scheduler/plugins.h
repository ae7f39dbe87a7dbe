/* SPDX-License-Identifier: Apache-2.0 */
/* The in-tree plugins (framework/plugins/...), and the helpers their tests use. */
#ifndef CK_SCHED_PLUGINS_H
#define CK_SCHED_PLUGINS_H

#include "scheduler/framework.h"

extern const struct sch_plugin_def sch_plugin_priority_sort;
extern const struct sch_plugin_def sch_plugin_scheduling_gates;
extern const struct sch_plugin_def sch_plugin_node_unschedulable;
extern const struct sch_plugin_def sch_plugin_node_name;
extern const struct sch_plugin_def sch_plugin_taint_toleration;
extern const struct sch_plugin_def sch_plugin_node_affinity;
extern const struct sch_plugin_def sch_plugin_node_ports;
extern const struct sch_plugin_def sch_plugin_node_resources_fit;
extern const struct sch_plugin_def sch_plugin_balanced_allocation;
extern const struct sch_plugin_def sch_plugin_pod_topology_spread;
extern const struct sch_plugin_def sch_plugin_inter_pod_affinity;
extern const struct sch_plugin_def sch_plugin_image_locality;
extern const struct sch_plugin_def sch_plugin_default_preemption;
extern const struct sch_plugin_def sch_plugin_default_binder;
/* DefaultBinder's request: the Binding of p to node (with the pod's uid as a precondition)
 * and the path it is POSTed to. */
json_t *sch_binding(const struct sch_pod *p, const char *node);
char *sch_binding_path(const struct sch_pod *p);

bool sch_ports_conflict(const struct sch_port *used, size_t n, const struct sch_port *want);
/* ImageLocality calculatePriority. */
int64_t sch_image_score(int64_t sum, size_t ncontainers);
/* helper.BuildBrokenLinearFunction over (utilization, score) points. */
int64_t sch_broken_linear(const int64_t (*shape)[2], size_t n, int64_t p);

#endif
