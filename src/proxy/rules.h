/* SPDX-License-Identifier: Apache-2.0 */
/* nftables ruleset generation in the shape of kube-proxy's nftables mode
 * (pkg/proxy/nftables/proxier.go, KEP-3866): one `ip` table holding
 *  - base chains on the filter and nat hooks, the services verdict map keyed on
 *    `ip daddr . meta l4proto . th dport`, the NodePort map keyed on `meta l4proto . th dport`
 *    for the node's addresses, the no-endpoint maps (reject / drop), the cluster-ips set and
 *    a reject of every other destination in the service CIDR;
 *  - per service port: a cluster chain (`service-`), a local chain (`local-`, for the Local
 *    policies) and an external chain (`external-`, NodePorts); a policy chain DNATs to
 *    `numgen random mod PX_EP_RANGE offset <slot * PX_EP_RANGE> map @endpoints-<shard>`:
 *    the service port's N endpoints are N near-equal intervals of its slot's range in an
 *    interval map shared by PX_EP_SHARD_SLOTS slots (px_emap), instead of upstream's
 *    endpoint chains behind a `numgen` vmap (rules.c says why): an endpoint change then
 *    rewrites only those map elements, whose data is no verdict, so the kernel does not
 *    re-validate the table on commit;
 *  - with ClientIP session affinity the policy chain keeps one DNAT rule per endpoint, picked
 *    by a random cascade (`numgen random mod N-i == 0`), and per endpoint a dynamic
 *    `affinity-` set, as upstream (an endpoint change there changes rules).
 * A Service's share of the ruleset is a struct px_bundle; a sync emits either the whole table
 * (px_emit_full) or, per changed Service, the difference between its old and new bundle
 * (px_emit_diff_del then px_emit_diff_add, upstream's partial sync). */
#ifndef CK_PROXY_RULES_H
#define CK_PROXY_RULES_H

#include "lib/buf.h"
#include "proxy/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct px_env {
    const char *table;        /* nft table name (family ip) */
    const char *service_cidr; /* IPv4 CIDR: unallocated VIPs are rejected; NULL: none */
    const char *cluster_cidr; /* pod network: masquerade off-cluster sources; NULL: none */
    const char *node_ip;      /* NodePorts answer on it; NULL: no NodePorts */
    bool masquerade_all;
    /* The endpoint-map slot (0 .. PX_EP_SLOTS-1) of the px_emap named name, the same for a name
     * until it leaves the table; < 0 when none is free (the service port then gets one DNAT
     * rule per endpoint). NULL: slot 0. */
    int (*slot)(void *ctx, const char *name);
    void *slot_ctx;
};

/* Element kinds (the table's maps and sets). */
enum px_map {
    PX_SET_CLUSTER_IPS = 0,
    PX_MAP_SERVICE_IPS,
    PX_MAP_SERVICE_NODEPORTS,
    PX_MAP_NOEP_SERVICES,
    PX_MAP_NOEP_NODEPORTS,
    PX_NMAPS
};

struct px_chain {
    char *name;
    char *rules; /* one rule a line, each ending in '\n' */
    size_t nrules;
};

struct px_elem {
    enum px_map map;
    char *key;
    char *val; /* NULL for sets */
};

struct px_aset {
    char *name;
    int timeout_s;
};

/* The range `numgen random mod` draws from for an endpoint map (a power of two: the kernel's
 * draw is then exactly uniform over it); slot s owns keys s * PX_EP_RANGE + [0, PX_EP_RANGE)
 * of map endpoints-<s / PX_EP_SHARD_SLOTS>, which exists while one of its slots is used. The
 * kernel walks a map's elements for each rule binding it and looks sets up by name linearly:
 * one map for all would make a full sync quadratic in elements, one per service port
 * quadratic in Services; a few slots per map keep both small. */
#define PX_EP_RANGE 65536u
#define PX_EP_SLOTS 65535u /* the last key, slot * PX_EP_RANGE + PX_EP_RANGE, fits 32 bits */
#define PX_EP_SHARD_SLOTS 16u
#define PX_EP_SHARDS ((PX_EP_SLOTS + PX_EP_SHARD_SLOTS - 1) / PX_EP_SHARD_SLOTS)

struct px_dst {
    char ip[16];
    int port;
};

/* A service port's endpoints in map endpoints-<slot / PX_EP_SHARD_SLOTS> (`typeof numgen random
 * mod 65536 : ip daddr . tcp dport; flags interval`): element i (of n) maps
 * slot * PX_EP_RANGE + px_split(n, i) to eps[i]. */
struct px_emap {
    char *name; /* identity (the slot's owner): "endpoints-<id>" or "local-endpoints-<id>" */
    uint32_t slot;
    struct px_dst *eps; /* sorted by ip, port */
    size_t n;           /* >= 1 */
};

/* Endpoint i's interval [*lo, *hi] of n: the n intervals cover 0..PX_EP_RANGE-1 exactly, in
 * order, their sizes differing by at most one. */
void px_split(size_t n, size_t i, uint32_t *lo, uint32_t *hi);

struct px_bundle {
    struct px_chain *chains; /* sorted by name */
    size_t nchains;
    struct px_elem *elems; /* sorted by (map, key) */
    size_t nelems;
    struct px_aset *sets; /* sorted by name */
    size_t nsets;
    struct px_emap *emaps; /* sorted by name */
    size_t nemaps;
};

#define PX_BUNDLE_INIT                                                                             \
    {                                                                                              \
        NULL, 0, NULL, 0, NULL, 0, NULL, 0                                                         \
    }

/* The bundle of one Service's ports (all from px_service_parse of that Service). */
void px_bundle_build(const struct px_env *env, const struct px_svcport *ports, size_t n,
                     struct px_bundle *out);
void px_bundle_release(struct px_bundle *b);
size_t px_bundle_nrules(const struct px_bundle *b);
/* Whether two bundles program the same thing. */
bool px_bundle_equal(const struct px_bundle *a, const struct px_bundle *b);
/* Whether going from old to new changes endpoint-map elements only (same chains, sets, map
 * elements and endpoint-map names): such a change needs no rule and no verdict. */
bool px_bundle_elems_only(const struct px_bundle *old, const struct px_bundle *new_b);
/* Whether two endpoint maps hold the same elements. */
bool px_emap_equal(const struct px_emap *a, const struct px_emap *b);

/* The table's fixed part (maps, sets, base and helper chains) as nft statements; returns its
 * rule count. */
size_t px_emit_base(const struct px_env *env, struct ck_buf *out);
/* A whole-table replacement: the table is (created and) deleted and written anew with every
 * bundle, in one transaction. Returns the rule count. */
size_t px_emit_full(const struct px_env *env, struct px_bundle *const *bundles, size_t n,
                    struct ck_buf *out);
/* A partial sync of one Service from old to new (either may be empty): first the deletions
 * (elements, flushed and deleted chains, deleted sets) of every changed Service, then the
 * additions, so a key moving between Services in one sync is never added twice. */
void px_emit_diff_del(const struct px_env *env, const struct px_bundle *old,
                      const struct px_bundle *new_b, struct ck_buf *out);
void px_emit_diff_add(const struct px_env *env, const struct px_bundle *old,
                      const struct px_bundle *new_b, struct ck_buf *out);
/* Creates (add) or deletes endpoint map endpoints-<shard>. */
void px_emit_shard(const struct px_env *env, bool add, unsigned shard, struct ck_buf *out);
/* The table's removal (nothing when it does not exist). */
void px_emit_delete_table(const struct px_env *env, struct ck_buf *out);

/* The map's nft name. */
const char *px_map_name(enum px_map m);

#endif
