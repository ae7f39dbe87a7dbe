/* SPDX-License-Identifier: Apache-2.0 */
/* host-gw routes between nodes (flannel's host-gw backend idea): for every other Node with a
 * spec.podCIDR and an InternalIP address, a route "podCIDR via nodeIP" in the main table,
 * tagged with the agent's own route protocol number so that only routes the agent made are
 * ever replaced or removed. The pure parts (which routes, what changes) are here for tests. */
#ifndef CK_AGENT_ROUTES_H
#define CK_AGENT_ROUTES_H

#include <jansson.h>
#include <stddef.h>

/* rtm_protocol of the agent's routes ("proto 201" in `ip route`); unassigned in
 * /etc/iproute2/rt_protos */
#define AG_ROUTE_PROTO 201

struct ag_route {
    char dst[20]; /* "10.244.1.0/24" (network address, canonical) */
    char gw[16];  /* "10.231.0.12" */
};

/* The routes wanted for nodes (an array of Node objects) seen from the node named self whose
 * address is self_ip (nodes with either are skipped). IPv4 only; invalid CIDRs or addresses
 * are skipped; at most one route per destination (the first node by name wins). Returns the
 * count; *out is malloc'd (free it). */
size_t ag_routes_wanted(const json_t *nodes, const char *self, const char *self_ip,
                        struct ag_route **out);

/* What to do to go from have to want: del gets the routes of have that are not in want (same
 * dst and gw), add the routes of want not in have. Arrays malloc'd; returns 0. */
void ag_routes_diff(const struct ag_route *have, size_t nhave, const struct ag_route *want,
                    size_t nwant, struct ag_route **add, size_t *nadd, struct ag_route **del,
                    size_t *ndel);

#endif
