/* SPDX-License-Identifier: Apache-2.0 */
/* `ckube agent`: the node agent (kubelet). One process serves one real node (crun runtime,
 * CNI) or N hollow nodes (hollow runtime, kubemark's idea) on the same code path: node
 * registration and status, a Lease in kube-node-lease, a pod informer, per-pod workers, a
 * PLEG relisting the runtime and a status manager that patches pods/status on change. */
#ifndef CK_AGENT_H
#define CK_AGENT_H

#include "ckube/client.h"

#include <stdbool.h>

struct agent_opts {
    const char *kubeconfig;   /* NULL: $KUBECONFIG / ~/.kube/config */
    const char *node_name;    /* default: hostname; with hollow: the name prefix */
    const char *root;         /* state dir, default /var/lib/ckube/agent */
    const char *node_ip;      /* default: the first non-loopback IPv4 address */
    const char *cni_conf;     /* crun: conflist path, NULL: the runtime's default bridge */
    int hollow;               /* >0: run this many hollow nodes */
    int healthz_port;         /* 0: 10248; -1: none */
    const char *healthz_bind; /* default 127.0.0.1 */
    int workers;              /* pod worker threads, 0: 4 (hollow: 8) */
    int status_update_s;      /* node-status-update-frequency, 0: 10 */
    int status_report_s;      /* node-status-report-frequency, 0: 300 */
    int lease_renew_s;        /* 0: 10 (leaseDurationSeconds 40) */
    const struct ck_client_config *client_config; /* instead of kubeconfig (ckube server) */
    /* kubesrv: the kubelet server (HTTPS: /exec, /attach, /portForward, /containerLogs, /pods,
     * /stats/summary, /metrics, /metrics/resource, /healthz) */
    int port;                  /* 0: an ephemeral port; AGENT_PORT_OFF: none (`ckube agent`
                                  defaults to 10250) */
    bool port_fallback;        /* port taken: listen on an ephemeral one instead */
    const char *tls_cert_file; /* serving certificate; NULL: a self-signed one in <root>/pki */
    const char *tls_key_file;
    const char *client_ca_file; /* clients must present a certificate it signed; NULL: the CA
                                   of the kubeconfig's cluster */
    /* nodevol: static pods, eviction, garbage collection (upstream's flags of these names) */
    const char *pod_manifest_path;        /* staticPodPath; NULL: no static pods */
    int file_check_frequency_s;           /* 0: 20 */
    const char *eviction_hard;            /* "memory.available<100Mi,..."; NULL: defaults */
    const char *eviction_minimum_reclaim; /* "memory.available=0Mi,..." */
    int eviction_pressure_transition_s;   /* 0: 300 */
    int eviction_interval_s;              /* housekeeping, 0: 10 */
    int image_gc_high_percent;            /* 0: 85; -1: 0 */
    int image_gc_low_percent;             /* 0: 80; -1: 0 */
    int minimum_image_ttl_s;              /* 0: 120; -1: 0 */
    int image_gc_period_s;                /* 0: 300 */
    /* image: the registries file (mirrors, TLS, credentials; see img_registries_load), read at
     * each pull; NULL: /etc/ckube/registries.yaml if present */
    const char *registry_config;
    /* service networking: the nftables service proxy (src/proxy, proxy_hook.c) and cluster
     * DNS (src/dns, dns_hook.c) run inside the agent of a real node by default */
    int proxy;                  /* 0: on for a real node, off for hollow ones; 1: on; -1: off */
    const char *service_cidr;   /* --service-cluster-ip-range, default 10.96.0.0/12 */
    const char *cluster_cidr;   /* --cluster-cidr: the pod network */
    int dns;                    /* as proxy: serve cluster DNS */
    const char *cluster_dns;    /* --cluster-dns: pods' nameserver, default 10.96.0.10 */
    const char *cluster_domain; /* --cluster-domain, default cluster.local */
    int dns_port;               /* --dns-port: the DNS server's port on the node IP, 0: 53 */
    /* join (join.c): --server URL --token ID.SECRET [--ca-cert-hash sha256:HEX]: a bootstrap
     * token, a CSR, then the node's own client certificate (kubeconfig under root) */
    const char *join_server;
    const char *join_token;
    const char *join_ca_hash;
};

#define AGENT_PORT_OFF (-1)
#define AGENT_PORT_DEFAULT 10250

/* Runs until *stop becomes non-zero; returns 0, or 1 when it could not start. */
int agent_run(const struct agent_opts *o, volatile int *stop);

#endif
