/* SPDX-License-Identifier: Apache-2.0 */
/* The scheduler cache (internal/cache/cache.go): nodes with their pods, assumed pods (added
 * before their binding is confirmed), expiry of assumed pods whose binding finished but was
 * never confirmed by the informer, and an incremental snapshot per cycle (only nodes whose
 * generation moved are cloned again). Thread-safe. */
#ifndef CK_SCHED_CACHE_H
#define CK_SCHED_CACHE_H

#include "scheduler/types.h"

#include <pthread.h>
#include <stdint.h>

struct sch_cache;

/* ttl_ns: how long an assumed pod whose binding finished stays without confirmation
 * (upstream: 30 s; 0 = never expire). */
struct sch_cache *sch_cache_new(int64_t ttl_ns);
void sch_cache_free(struct sch_cache *c);

void sch_cache_add_node(struct sch_cache *c, json_t *node);
void sch_cache_update_node(struct sch_cache *c, json_t *node);
void sch_cache_remove_node(struct sch_cache *c, const char *name);

/* Pods with spec.nodeName (from the informer). An add confirms an assumed pod. */
void sch_cache_add_pod(struct sch_cache *c, json_t *pod);
void sch_cache_update_pod(struct sch_cache *c, json_t *old_pod, json_t *pod);
void sch_cache_remove_pod(struct sch_cache *c, json_t *pod);

/* AssumePod: counts p on node before the binding; -1 if the pod is already in the cache. */
int sch_cache_assume(struct sch_cache *c, struct sch_pod *p, const char *node);
/* FinishBinding: starts the expiry clock of an assumed pod. */
void sch_cache_finish_binding(struct sch_cache *c, const char *key, int64_t now_ns);
/* ForgetPod: drops an assumed pod (binding failed). */
void sch_cache_forget(struct sch_cache *c, const char *key);
bool sch_cache_is_assumed(struct sch_cache *c, const char *key);
/* Removes assumed pods whose binding finished more than ttl ago; returns how many. */
size_t sch_cache_cleanup(struct sch_cache *c, int64_t now_ns);

/* UpdateSnapshot: brings s up to date (s must start sch_snapshot_init'ed). */
void sch_cache_snapshot(struct sch_cache *c, struct sch_snapshot *s);

size_t sch_cache_node_count(struct sch_cache *c);
size_t sch_cache_pod_count(struct sch_cache *c);

#endif
