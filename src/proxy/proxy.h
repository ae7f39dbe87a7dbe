/* SPDX-License-Identifier: Apache-2.0 */
/* The service proxy (kube-proxy's nftables mode): informers on Services and
 * discovery.k8s.io/v1 EndpointSlices feed the sync engine (engine.h); a sync thread applies
 * changes no more often than every min_sync_ms (upstream's --iptables-min-sync-period) and
 * rewrites the whole table every full_sync_s. Runs inside the agent (src/agent/proxy_hook.c)
 * or alone (`ckube proxy`). */
#ifndef CK_PROXY_H
#define CK_PROXY_H

#include "ckube/client.h"
#include "lib/buf.h"
#include "lib/err.h"

#include <stdbool.h>
#include <stddef.h>

struct proxy_opts {
    struct ck_client *client; /* borrowed; must outlive the proxy */
    const char *node_name;    /* endpoint locality (Local policies) */
    const char *node_ip;      /* NodePorts answer on it; NULL: no NodePorts */
    const char *service_cidr; /* NULL: 10.96.0.0/12 */
    const char *cluster_cidr; /* the pod network; NULL: no masquerade of off-cluster sources */
    const char *table;        /* NULL: "ckube-proxy" (family ip) */
    bool masquerade_all;
    int min_sync_ms;  /* 0: 100 */
    int full_sync_s;  /* 0: 3600 */
    int sync_wait_ms; /* how long proxy_start waits for the informers, 0: 10000 */
    bool keep_rules;  /* proxy_stop leaves the table (kube-proxy does; default: removed) */
};

struct proxy;

/* Writes the base table (unallocated service VIPs rejected) at once, then starts the
 * informers and, once they synced (or sync_wait_ms passed), the sync thread; returns after the
 * first full sync. -1 with err when nftables cannot be programmed. */
int proxy_start(const struct proxy_opts *o, struct proxy **out, struct ck_err *err);
/* Stops the informers and the thread, removes the table unless keep_rules, frees p. */
void proxy_stop(struct proxy *p);
/* kubeproxy_* metric families. */
void proxy_metrics(struct proxy *p, struct ck_buf *out);
/* /healthz: fails when changes have waited over 60 s for a successful sync. */
int proxy_healthz(void *p, char *why, size_t n);

#endif
