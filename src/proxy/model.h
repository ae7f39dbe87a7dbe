/* SPDX-License-Identifier: Apache-2.0 */
/* The proxy's view of one Service: its IPv4 ports with the endpoints of its EndpointSlices
 * (upstream's ServicePort and Endpoint, pkg/proxy/servicechangetracker.go and endpoint.go),
 * and the endpoint choice of pkg/proxy/topology.go (ready ones, else serving terminating
 * ones; node-local ones for the Local traffic policies). Pure functions over JSON. */
#ifndef CK_PROXY_MODEL_H
#define CK_PROXY_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct px_ep {
    char ip[16];
    int port;
    bool ready, serving, terminating, local;
};

struct px_svcport {
    char *ns, *name, *port_name; /* owned */
    const char *proto;           /* "tcp", "udp", "sctp" (static) */
    char cluster_ip[16];         /* "" when headless or not IPv4 */
    int port, node_port;         /* node_port 0: none */
    bool etp_local, itp_local;   /* externalTrafficPolicy / internalTrafficPolicy Local */
    int affinity_s;              /* ClientIP affinity timeout, 0: none */
    struct px_ep *eps;           /* owned, unique by ip:port */
    size_t neps;
};

/* Parses svc (a v1 Service) with slices (its discovery.k8s.io/v1 EndpointSlices; other
 * services' slices and non-IPv4 ones are skipped) into *out (malloc'd array, release each with
 * px_svcport_release, then free); node is this node's name (endpoint locality). Returns the
 * number of ports (0 for ExternalName, headless or non-IPv4 services). */
size_t px_service_parse(const json_t *svc, json_t *const *slices, size_t nslices, const char *node,
                        struct px_svcport **out);
void px_svcport_release(struct px_svcport *sp);
void px_svcports_free(struct px_svcport *a, size_t n);

/* The endpoints traffic may go to (pointers into sp->eps, *out malloc'd): the ready ones, or when
 * none is ready the serving terminating ones; local_only keeps node-local ones only. */
size_t px_pick(const struct px_svcport *sp, bool local_only, const struct px_ep ***out);

#endif
