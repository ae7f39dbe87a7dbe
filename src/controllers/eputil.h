/* SPDX-License-Identifier: Apache-2.0 */
/* What the Endpoints and EndpointSlice controllers share (pkg/api/v1/pod FindPort,
 * pkg/controller/util/endpoint ShouldPodBeInEndpoints, ShouldSetHostname): which pods back a
 * Service, the port a service port targets on a pod, the pod's endpoint hostname, and the
 * Service's selector. */
#ifndef CK_CONTROLLERS_EPUTIL_H
#define CK_CONTROLLERS_EPUTIL_H

#include <jansson.h>
#include <stdbool.h>

#include "controllers/cm.h"

struct sel;

/* What both controllers share: the first member of their state. Their queue holds Service
 * keys ("ns/name"). */
struct ep_base {
    struct cm *cm;
    struct ck_informer *svcs;
    struct wq *q;
};
/* Takes the services informer and registers the handlers that queue a Service when it
 * changes or when a pod it selects does (before and after a label change); adds the
 * "namespace" index to the services and pods informers. */
void ep_base_init(struct ep_base *b, struct cm *cm, const char *queue_name);
/* Sorts a JSON array in place with cmp (over json_t * elements). */
void ep_sort_array(json_t *arr, int (*cmp)(const void *, const void *));

/* The pod has an IP and is not finished for good (restartPolicy Never: not Succeeded or
 * Failed; OnFailure: not Succeeded); include_terminating admits a pod being deleted. */
bool ep_pod_eligible(const json_t *pod, bool include_terminating);
/* FindPort: the port number service port sp targets on pod (an integer targetPort, a named
 * container port with the same protocol, or port when targetPort is unset); -1 if none. */
int ep_find_port(const json_t *pod, const json_t *sp);
/* spec.hostname when spec.subdomain is the service's name (same namespace), else NULL. */
const char *ep_hostname(const json_t *pod, const json_t *svc);
/* The Service is one the controllers manage: it has a non-empty spec.selector and is not
 * ExternalName. *out receives the selector (caller frees with sel_free). */
bool ep_service_selector(const json_t *svc, struct sel **out);
/* The pod's IPv4 address (status.podIP or the first IPv4 of status.podIPs), or NULL. */
const char *ep_pod_ipv4(const json_t *pod);

#endif
