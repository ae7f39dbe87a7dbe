/* SPDX-License-Identifier: Apache-2.0 */
/* Resource lists and a pod's effective requests and limits
 * (k8s.io/component-helpers/resource PodRequests/PodLimits), the scheduler's non-zero
 * defaults (pkg/scheduler/util GetNonzeroRequests) and the QoS class
 * (pkg/apis/core/v1/helper/qos ComputePodQOS / GetPodQOS).
 *
 * A struct k8s_reslist maps resource names ("cpu", "memory", "example.com/gpu", ...) to
 * quantities; it owns its names. Quantities that do not parse in the JSON inputs are treated
 * as absent (the API server rejects them before they are stored). Not thread-safe per list;
 * everything else is pure. */
#ifndef CK_K8S_PODRES_H
#define CK_K8S_PODRES_H

#include "k8s/quantity.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define K8S_RES_CPU "cpu"
#define K8S_RES_MEMORY "memory"
#define K8S_RES_EPHEMERAL_STORAGE "ephemeral-storage"
#define K8S_RES_PODS "pods"

/* The scheduler's defaults for a container that sets no cpu / memory request. */
#define K8S_DEFAULT_MILLI_CPU_REQUEST 100
#define K8S_DEFAULT_MEMORY_REQUEST (200LL * 1024 * 1024)

struct k8s_res_entry {
    char *name;
    struct k8s_quantity q;
};

struct k8s_reslist {
    struct k8s_res_entry *v;
    size_t n, cap;
};

#define K8S_RESLIST_INIT                                                                           \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void k8s_reslist_release(struct k8s_reslist *l);
/* Empties the list, keeping its storage for reuse. */
void k8s_reslist_clear(struct k8s_reslist *l);
/* The quantity of name, or NULL when the list has no such entry. Borrowed. */
const struct k8s_quantity *k8s_reslist_get(const struct k8s_reslist *l, const char *name);
/* Sets (replaces) an entry. */
void k8s_reslist_set(struct k8s_reslist *l, const char *name, const struct k8s_quantity *q);
/* addResourceList for one entry: adds to an existing entry, else inserts a copy. */
void k8s_reslist_add(struct k8s_reslist *l, const char *name, const struct k8s_quantity *q);
/* maxResourceList for one entry: inserts, or replaces when q is larger. */
void k8s_reslist_max(struct k8s_reslist *l, const char *name, const struct k8s_quantity *q);
/* The same over a whole list. */
void k8s_reslist_add_list(struct k8s_reslist *l, const struct k8s_reslist *o);
void k8s_reslist_max_list(struct k8s_reslist *l, const struct k8s_reslist *o);
/* Adds every entry of a v1.ResourceList JSON object ({"cpu":"100m",...}); returns the number
 * of entries skipped because their quantity does not parse. */
size_t k8s_reslist_add_json(struct k8s_reslist *l, const json_t *list);
/* A v1.ResourceList JSON object of canonical quantity strings (new reference). */
json_t *k8s_reslist_to_json(const struct k8s_reslist *l);
/* Value() of an entry (0 when absent), and MilliValue(). */
int64_t k8s_reslist_value(const struct k8s_reslist *l, const char *name);
int64_t k8s_reslist_milli(const struct k8s_reslist *l, const char *name);

/* The common scalar resources, as the scheduler's framework.Resource holds them. */
struct k8s_resource {
    int64_t milli_cpu;         /* cpu MilliValue() */
    int64_t memory;            /* memory Value(), bytes */
    int64_t ephemeral_storage; /* ephemeral-storage Value(), bytes */
    int64_t pods;              /* pods Value() */
};
void k8s_reslist_summary(const struct k8s_reslist *l, struct k8s_resource *r);

/* GetRequestForResource: cpu in milli-units and everything else in units; with nonzero, a
 * missing (not an explicit zero) cpu or memory reads as the default above. */
int64_t k8s_request_for_resource(const struct k8s_reslist *requests, const char *name,
                                 bool nonzero);

struct k8s_podres_opts {
    bool exclude_overhead; /* leave spec.overhead out */
    bool skip_pod_level;   /* ignore spec.resources (pod-level resources) */
    /* every container without a cpu / memory request counts the scheduler's default for it
     * (PodResourcesOptions.NonMissingContainerRequests as the scheduler sets it) */
    bool nonzero;
};

/* PodRequests (opts may be NULL): the sum of the regular containers' requests; each init
 * container then raises the total to at least its own request plus the sidecars started
 * before it; sidecars (init containers with restartPolicy Always) add to the running sum;
 * pod-level requests of cpu, memory and hugepages-* replace the aggregate; then
 * spec.overhead is added. out is cleared first. */
void k8s_pod_requests(const json_t *pod, const struct k8s_podres_opts *opts,
                      struct k8s_reslist *out);
/* PodLimits: the same aggregation of limits; pod-level limits replace the aggregate; the
 * overhead is added only to resources that already have a non-zero limit. */
void k8s_pod_limits(const json_t *pod, const struct k8s_podres_opts *opts, struct k8s_reslist *out);
/* The scheduler's view of a pod: PodRequests summarised, and the non-zero cpu/memory
 * (the NodeInfo's NonZeroRequested contribution). Either pointer may be NULL. */
void k8s_pod_scheduling_requests(const json_t *pod, struct k8s_resource *requests,
                                 struct k8s_resource *nonzero);

/* ComputePodQOS: "Guaranteed", "Burstable" or "BestEffort". The positive cpu and memory
 * requests and limits are summed over the init and regular containers (or taken from
 * spec.resources alone when pod-level resources are present); BestEffort when there are
 * none, Guaranteed when every container (or the pod level) has positive cpu and memory limits
 * and the summed requests equal the summed limits, else Burstable. Unparsable quantities
 * count as absent. */
const char *k8s_pod_compute_qos(const json_t *pod);
/* The same from a pod's spec (e.g. a template's). */
const char *k8s_podspec_compute_qos(const json_t *spec);
/* GetPodQOS: status.qosClass when set (borrowed from pod), else k8s_pod_compute_qos. */
const char *k8s_pod_qos(const json_t *pod);

#endif
