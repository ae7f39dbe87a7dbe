/* SPDX-License-Identifier: Apache-2.0 */
/* CNI client (spec 1.0.0, also accepting 0.3.x/0.4.0 results): loads a network
 * configuration list, runs its plugin chain (ADD in order, DEL in reverse, CHECK) through
 * the CNI_* environment and stdin, and caches each ADD result on disk so DEL/CHECK work
 * after a restart (the cache also keeps the config used, so DEL survives a config change). */
#ifndef CK_CNI_H
#define CK_CNI_H

#include "lib/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CNI_MAX_IPS 8
#define CNI_MAX_IFACES 8
#define CNI_MAX_ROUTES 16
#define CNI_MAX_PLUGINS 16

/* ---- results ---------------------------------------------------------------------- */
struct cni_iface {
    char name[32];
    char mac[32];
    char sandbox[256]; /* netns path, "" for host-side interfaces */
};

struct cni_ip {
    char address[64]; /* CIDR "10.88.0.2/16" */
    char gateway[48]; /* "" if none */
    int iface;        /* index into ifaces, -1 if absent */
    int family;       /* 4 or 6 */
};

struct cni_route {
    char dst[64];
    char gw[48];
};

struct cni_result {
    char cni_version[16];
    size_t nifaces;
    struct cni_iface ifaces[CNI_MAX_IFACES];
    size_t nips;
    struct cni_ip ips[CNI_MAX_IPS];
    size_t nroutes;
    struct cni_route routes[CNI_MAX_ROUTES];
};

/* Parses and strictly validates a plugin's success result (or an error object, which
 * becomes err with the plugin's code/msg/details). Returns 0 or -1 (CK_R_BAD_REQUEST with
 * the offending field named). Never reads past len; json need not be NUL-terminated. */
int cni_result_parse(const char *json, size_t len, struct cni_result *out, struct ck_err *err);
/* The first IP's address without the prefix length ("10.88.0.2"); "" if none. */
void cni_result_first_ip(const struct cni_result *r, int family, char *out, size_t outsz);

/* ---- network configuration lists ---------------------------------------------------- */
struct cni_net; /* a parsed, validated conflist (immutable after load) */

/* Parses a .conflist (name, cniVersion, plugins[] each with a "type"), or a single-plugin
 * .conf, which is wrapped into a list. Returns 0 and *out, or -1 (CK_R_BAD_REQUEST). */
int cni_net_parse(const char *json, size_t len, struct cni_net **out, struct ck_err *err);
int cni_net_load_file(const char *path, struct cni_net **out, struct ck_err *err);
void cni_net_free(struct cni_net *net);
const char *cni_net_name(const struct cni_net *net);
size_t cni_net_nplugins(const struct cni_net *net);
const char *cni_net_plugin_type(const struct cni_net *net, size_t i);

struct cni_default_opts {
    const char *name;     /* default "ckube" */
    const char *bridge;   /* default "ckube0" */
    const char *subnet;   /* default "10.88.0.0/16" */
    const char *gateway;  /* default: first host of subnet ("10.88.0.1") */
    const char *data_dir; /* host-local dataDir; NULL: plugin default /var/lib/cni/networks */
    bool no_ip_masq;      /* ipMasq false (the agent masquerades itself, routes.c) */
};
/* A bridge (isGateway, ipMasq, host-local IPAM, default route) + portmap conflist, as a
 * malloc'd JSON string. */
char *cni_default_conflist(const struct cni_default_opts *o);

/* ---- running the chain --------------------------------------------------------------- */
struct cni_port_mapping {
    int host_port;
    int container_port;
    const char *protocol; /* "tcp" default */
    const char *host_ip;  /* NULL / "" = any */
};

struct cni_ctx {
    const char *plugin_dirs; /* colon-separated CNI_PATH; default "/usr/lib/cni" */
    const char *cache_dir;   /* where ADD results are cached; required */
    int timeout_ms;          /* per plugin call; default 30000 */
};

struct cni_attachment {
    const char *container_id;
    const char *netns;       /* path; may be "" on DEL if the netns is gone */
    const char *ifname;      /* default "eth0" */
    const char *pod_name, *pod_namespace, *pod_uid; /* CNI_ARGS K8S_POD_* (optional) */
    const struct cni_port_mapping *ports;
    size_t nports;
};

/* Sets up the interface: runs ADD through every plugin, each getting the previous
 * result as prevResult, and caches the final result. On failure, runs DEL (best effort)
 * so nothing stays half-configured, and returns -1 with the plugin's message in err. */
int cni_add(const struct cni_ctx *ctx, const struct cni_net *net, const struct cni_attachment *a,
            struct cni_result *out, struct ck_err *err);
/* Tears down: DEL through the plugins in reverse order with the cached result as
 * prevResult, using the cached config when there is one (net may then be NULL), then drops
 * the cache entry. Idempotent: a second DEL, or a DEL without cache, succeeds. */
int cni_del(const struct cni_ctx *ctx, const struct cni_net *net, const struct cni_attachment *a,
            struct ck_err *err);
/* CHECK (cniVersion >= 0.4.0) against the cached result; -1 if there is no cache entry or a
 * plugin reports a problem. */
int cni_check(const struct cni_ctx *ctx, const struct cni_net *net,
              const struct cni_attachment *a, struct ck_err *err);
/* Reads the cached ADD result of (network, container, ifname); -1 CK_R_NOT_FOUND if none. */
int cni_cached_result(const struct cni_ctx *ctx, const char *net_name, const char *container_id,
                      const char *ifname, struct cni_result *out, struct ck_err *err);

/* Runs one loopback ADD/DEL ("lo" up) in netns. */
int cni_loopback(const struct cni_ctx *ctx, const char *container_id, const char *netns, bool add,
                 struct ck_err *err);

#endif
