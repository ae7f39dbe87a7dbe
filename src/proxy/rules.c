/* SPDX-License-Identifier: Apache-2.0 */
/* Service bundles: what one Service adds to the table (rules.h). */
#include "proxy/rules.h"

#include "lib/strmap.h"

#include <stdint.h>
#include <string.h>

#include "lib/banned.h"

static const char *const map_names[PX_NMAPS] = {
    [PX_SET_CLUSTER_IPS] = "cluster-ips",
    [PX_MAP_SERVICE_IPS] = "service-ips",
    [PX_MAP_SERVICE_NODEPORTS] = "service-nodeports",
    [PX_MAP_NOEP_SERVICES] = "no-endpoint-services",
    [PX_MAP_NOEP_NODEPORTS] = "no-endpoint-nodeports",
};

const char *px_map_name(enum px_map m)
{
    return map_names[m];
}

/* Upstream prefixes chain names with 8 base32 characters of a hash of the full name, so that
 * names stay unique when truncated; ours hash the same strings with FNV-1a. */
static void hash8(const char *s, char out[9])
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    uint64_t h = ck_hash_str(s, strlen(s));
    for (int i = 0; i < 8; i++, h >>= 5)
        out[i] = alpha[h & 31];
    out[8] = 0;
}

void px_split(size_t n, size_t i, uint32_t *lo, uint32_t *hi)
{
    *lo = (uint32_t)((uint64_t)i * PX_EP_RANGE / n);
    *hi = (uint32_t)((uint64_t)(i + 1) * PX_EP_RANGE / n - 1);
}

struct gen {
    struct px_bundle *b;
    size_t ccap, ecap, scap, mcap;
};

static void add_elem(struct gen *g, enum px_map m, char *key, char *val)
{
    struct px_bundle *b = g->b;
    if (b->nelems == g->ecap) {
        g->ecap = g->ecap ? g->ecap * 2 : 8;
        b->elems = ck_realloc(b->elems, g->ecap * sizeof(*b->elems));
    }
    b->elems[b->nelems++] = (struct px_elem){.map = m, .key = key, .val = val};
}

static void add_chain(struct gen *g, char *name, struct ck_buf *rules, size_t nrules)
{
    struct px_bundle *b = g->b;
    for (size_t i = 0; i < b->nchains; i++)
        if (!strcmp(b->chains[i].name, name)) { /* an endpoint of both policy chains */
            free(name);
            ck_buf_release(rules);
            return;
        }
    if (b->nchains == g->ccap) {
        g->ccap = g->ccap ? g->ccap * 2 : 8;
        b->chains = ck_realloc(b->chains, g->ccap * sizeof(*b->chains));
    }
    b->chains[b->nchains++] =
        (struct px_chain){.name = name, .rules = ck_buf_detach(rules, NULL), .nrules = nrules};
}

static void add_set(struct gen *g, char *name, int timeout_s)
{
    struct px_bundle *b = g->b;
    for (size_t i = 0; i < b->nsets; i++)
        if (!strcmp(b->sets[i].name, name)) {
            free(name);
            return;
        }
    if (b->nsets == g->scap) {
        g->scap = g->scap ? g->scap * 2 : 8;
        b->sets = ck_realloc(b->sets, g->scap * sizeof(*b->sets));
    }
    b->sets[b->nsets++] = (struct px_aset){.name = name, .timeout_s = timeout_s};
}

static int cmp_dst(const void *a, const void *b)
{
    const struct px_dst *x = a, *y = b;
    int c = strcmp(x->ip, y->ip);
    return c ? c : (x->port > y->port) - (x->port < y->port);
}

static void add_emap(struct gen *g, const char *name, uint32_t slot, const struct px_ep *const *eps,
                     size_t n)
{
    struct px_bundle *b = g->b;
    if (b->nemaps == g->mcap) {
        g->mcap = g->mcap ? g->mcap * 2 : 4;
        b->emaps = ck_realloc(b->emaps, g->mcap * sizeof(*b->emaps));
    }
    struct px_emap *m = &b->emaps[b->nemaps++];
    *m = (struct px_emap){
        .name = ck_strdup(name), .slot = slot, .eps = ck_calloc(n, sizeof(*m->eps)), .n = n};
    for (size_t i = 0; i < n; i++) {
        snprintf(m->eps[i].ip, sizeof(m->eps[i].ip), "%s", eps[i]->ip);
        m->eps[i].port = eps[i]->port;
    }
    qsort(m->eps, n, sizeof(*m->eps), cmp_dst);
}

#define RULES_MAX (64u << 20)

/* Upstream jumps to its mark-for-masquerade chain; a policy chain here sets the mark itself, so
 * it holds no jump (one edge fewer for the kernel's table validation to walk per Service). */
#define MARK_MASQ "meta mark set meta mark | 0x00004000"

/* rule appends one line to a chain under construction */
#define RULE(buf, n, ...)                                                                          \
    do {                                                                                           \
        ck_buf_appendf((buf), __VA_ARGS__);                                                        \
        ck_buf_appendc((buf), '\n');                                                               \
        (n)++;                                                                                     \
    } while (0)

/* "<HASH>-ns/name/proto/port" and, for an endpoint, "...__ip/port" */
static char *svc_id(const struct px_svcport *sp)
{
    char base[400], h[9];
    snprintf(base, sizeof(base), "%s/%s/%s/%s", sp->ns, sp->name, sp->proto, sp->port_name);
    hash8(base, h);
    return ck_asprintf("%s-%s", h, base);
}

static char *ep_id(const struct px_svcport *sp, const struct px_ep *ep)
{
    char base[440], h[9];
    snprintf(base, sizeof(base), "%s/%s/%s/%s__%s/%d", sp->ns, sp->name, sp->proto, sp->port_name,
             ep->ip, ep->port);
    hash8(base, h);
    return ck_asprintf("%s-%s", h, base);
}

/* The DNAT of one endpoint, recording the client for ClientIP affinity. */
static void dnat(struct gen *g, const struct px_svcport *sp, const struct px_ep *ep,
                 struct ck_buf *r)
{
    if (sp->affinity_s) {
        ck_autofree char *id = ep_id(sp, ep);
        add_set(g, ck_asprintf("affinity-%s", id), sp->affinity_s);
        ck_buf_appendf(r, "update @affinity-%s { ip saddr } ", id);
    }
    ck_buf_appendf(r, "meta l4proto %s dnat to %s:%d", sp->proto, ep->ip, ep->port);
}

/* A policy chain (cluster or local) picking one of eps. Upstream jumps to a chain per endpoint
 * from `numgen random mod N vmap { 0 : goto ep0, ... }`. With 100,000 chains or 10,000
 * anonymous verdict maps in a table the kernel's chain dumps and loop checks (and libnftables'
 * cache, fetched before every transaction) grow quadratically, and any new verdict or DNAT rule
 * makes the kernel re-validate the whole table on commit. Here the chain DNATs through its
 * slot of a shared endpoint map (a uniform draw over PX_EP_RANGE keys, split into N near-equal
 * intervals), so an endpoint change edits only map elements. ClientIP affinity needs the chosen
 * endpoint recorded per client (upstream's per-endpoint dynamic sets, matched first), which nft
 * cannot express with a map lookup; there each endpoint is one rule, chosen by the iptables mode's
 * cascade (endpoint i with probability 1/(N-i), uniform overall). */
static void policy_chain(struct gen *g, const struct px_env *env, const struct px_svcport *sp,
                         const char *name, const char *emap, bool internal,
                         const struct px_ep *const *eps, size_t neps)
{
    struct ck_buf r = CK_BUF_INIT(RULES_MAX);
    size_t n = 0;
    if (internal && env->masquerade_all)
        RULE(&r, n, "ip daddr %s %s dport %d " MARK_MASQ, sp->cluster_ip, sp->proto, sp->port);
    else if (internal && env->cluster_cidr) /* off-cluster sources to the VIP */
        RULE(&r, n, "ip daddr %s %s dport %d ip saddr != %s " MARK_MASQ, sp->cluster_ip, sp->proto,
             sp->port, env->cluster_cidr);
    int slot = sp->affinity_s ? -1 : env->slot ? env->slot(env->slot_ctx, emap) : 0;
    if (slot >= 0) {
        add_emap(g, emap, (uint32_t)slot, eps, neps);
        RULE(&r, n, "meta l4proto %s dnat ip to numgen random mod %u offset %u map @endpoints-%u",
             sp->proto, PX_EP_RANGE, (uint32_t)slot * PX_EP_RANGE,
             (uint32_t)slot / PX_EP_SHARD_SLOTS);
        add_chain(g, ck_strdup(name), &r, n);
        return;
    }
    for (size_t i = 0; i < neps; i++) {
        ck_autofree char *id = ep_id(sp, eps[i]);
        ck_buf_appendf(&r, "ip saddr @affinity-%s ", id);
        dnat(g, sp, eps[i], &r);
        RULE(&r, n, "%s", "");
    }
    for (size_t i = 0; i < neps; i++) {
        if (i + 1 < neps)
            ck_buf_appendf(&r, "numgen random mod %zu == 0 ", neps - i);
        dnat(g, sp, eps[i], &r);
        RULE(&r, n, "%s", "");
    }
    add_chain(g, ck_strdup(name), &r, n);
}

static void build_port(struct gen *g, const struct px_env *env, const struct px_svcport *sp)
{
    const struct px_ep **cl, **lo;
    size_t ncl = px_pick(sp, false, &cl), nlo = px_pick(sp, true, &lo);
    bool has_eps = ncl || nlo;
    bool nodeport = sp->node_port && env->node_ip;
    bool use_cl = ncl && (!sp->itp_local || nodeport);
    bool use_lo = nlo && (sp->itp_local || (nodeport && sp->etp_local));
    ck_autofree char *id = svc_id(sp);
    ck_autofree char *cl_chain = ck_asprintf("service-%s", id);
    ck_autofree char *lo_chain = ck_asprintf("local-%s", id);
    ck_autofree char *cl_map = ck_asprintf("endpoints-%s", id);
    ck_autofree char *lo_map = ck_asprintf("local-endpoints-%s", id);
    if (use_cl)
        policy_chain(g, env, sp, cl_chain, cl_map, !sp->itp_local, cl, ncl);
    if (use_lo)
        policy_chain(g, env, sp, lo_chain, lo_map, sp->itp_local, lo, nlo);

    add_elem(g, PX_SET_CLUSTER_IPS, ck_strdup(sp->cluster_ip), NULL);
    char *key = ck_asprintf("%s . %s . %d", sp->cluster_ip, sp->proto, sp->port);
    size_t n_int = sp->itp_local ? nlo : ncl;
    if (n_int)
        add_elem(g, PX_MAP_SERVICE_IPS, key,
                 ck_asprintf("goto %s", sp->itp_local ? lo_chain : cl_chain));
    else /* upstream: reject with no endpoints at all, drop with no local ones */
        add_elem(g, PX_MAP_NOEP_SERVICES, key, ck_strdup(has_eps ? "drop" : "goto reject-chain"));

    if (nodeport) {
        size_t n_ext = sp->etp_local ? nlo : ncl;
        key = ck_asprintf("%s . %d", sp->proto, sp->node_port);
        if (!n_ext) {
            add_elem(g, PX_MAP_NOEP_NODEPORTS, key,
                     ck_strdup(has_eps ? "drop" : "goto reject-chain"));
        } else {
            struct ck_buf r = CK_BUF_INIT(RULES_MAX);
            size_t n = 0;
            if (sp->etp_local) {
                if (use_cl && env->cluster_cidr) /* pods reach it as the ClusterIP */
                    RULE(&r, n, "ip saddr %s goto %s", env->cluster_cidr, cl_chain);
                RULE(&r, n, "fib saddr type local jump mark-for-masquerade");
                if (use_cl)
                    RULE(&r, n, "fib saddr type local goto %s", cl_chain);
                RULE(&r, n, "goto %s", lo_chain); /* source preserved, local endpoints only */
            } else {
                RULE(&r, n, "jump mark-for-masquerade");
                RULE(&r, n, "goto %s", cl_chain);
            }
            char *ext = ck_asprintf("external-%s", id);
            add_chain(g, ext, &r, n);
            add_elem(g, PX_MAP_SERVICE_NODEPORTS, key, ck_asprintf("goto %s", ext));
        }
    }
    free(cl);
    free(lo);
}

static int cmp_chain(const void *a, const void *b)
{
    return strcmp(((const struct px_chain *)a)->name, ((const struct px_chain *)b)->name);
}

static int cmp_elem(const void *a, const void *b)
{
    const struct px_elem *x = a, *y = b;
    if (x->map != y->map)
        return x->map < y->map ? -1 : 1;
    return strcmp(x->key, y->key);
}

static int cmp_set(const void *a, const void *b)
{
    return strcmp(((const struct px_aset *)a)->name, ((const struct px_aset *)b)->name);
}

static int cmp_emap(const void *a, const void *b)
{
    return strcmp(((const struct px_emap *)a)->name, ((const struct px_emap *)b)->name);
}

void px_bundle_build(const struct px_env *env, const struct px_svcport *ports, size_t n,
                     struct px_bundle *out)
{
    *out = (struct px_bundle)PX_BUNDLE_INIT;
    struct gen g = {.b = out};
    for (size_t i = 0; i < n; i++)
        build_port(&g, env, &ports[i]);
    if (out->nchains)
        qsort(out->chains, out->nchains, sizeof(*out->chains), cmp_chain);
    if (out->nelems) {
        qsort(out->elems, out->nelems, sizeof(*out->elems), cmp_elem);
        size_t k = 1; /* the ClusterIP once, whatever the number of ports */
        for (size_t i = 1; i < out->nelems; i++) {
            if (!cmp_elem(&out->elems[k - 1], &out->elems[i])) {
                free(out->elems[i].key);
                free(out->elems[i].val);
            } else {
                out->elems[k++] = out->elems[i];
            }
        }
        out->nelems = k;
    }
    if (out->nsets)
        qsort(out->sets, out->nsets, sizeof(*out->sets), cmp_set);
    if (out->nemaps)
        qsort(out->emaps, out->nemaps, sizeof(*out->emaps), cmp_emap);
}

void px_bundle_release(struct px_bundle *b)
{
    for (size_t i = 0; i < b->nchains; i++) {
        free(b->chains[i].name);
        free(b->chains[i].rules);
    }
    for (size_t i = 0; i < b->nelems; i++) {
        free(b->elems[i].key);
        free(b->elems[i].val);
    }
    for (size_t i = 0; i < b->nsets; i++)
        free(b->sets[i].name);
    for (size_t i = 0; i < b->nemaps; i++) {
        free(b->emaps[i].name);
        free(b->emaps[i].eps);
    }
    free(b->chains);
    free(b->elems);
    free(b->sets);
    free(b->emaps);
    *b = (struct px_bundle)PX_BUNDLE_INIT;
}

size_t px_bundle_nrules(const struct px_bundle *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->nchains; i++)
        n += b->chains[i].nrules;
    return n;
}

static const struct px_chain *find_chain(const struct px_bundle *b, const char *name)
{
    struct px_chain k = {.name = (char *)name};
    return b && b->nchains ? bsearch(&k, b->chains, b->nchains, sizeof(k), cmp_chain) : NULL;
}

static const struct px_elem *find_elem(const struct px_bundle *b, const struct px_elem *e)
{
    return b && b->nelems ? bsearch(e, b->elems, b->nelems, sizeof(*e), cmp_elem) : NULL;
}

static const struct px_aset *find_set(const struct px_bundle *b, const struct px_aset *s)
{
    return b && b->nsets ? bsearch(s, b->sets, b->nsets, sizeof(*s), cmp_set) : NULL;
}

static const struct px_emap *find_emap(const struct px_bundle *b, const char *name)
{
    struct px_emap k = {.name = (char *)name};
    return b && b->nemaps ? bsearch(&k, b->emaps, b->nemaps, sizeof(k), cmp_emap) : NULL;
}

bool px_emap_equal(const struct px_emap *a, const struct px_emap *b)
{
    if (!a || !b || a->n != b->n || a->slot != b->slot)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (cmp_dst(&a->eps[i], &b->eps[i]))
            return false;
    return true;
}

static bool same_elem(const struct px_elem *a, const struct px_elem *b)
{
    return a && b && !strcmp(a->key, b->key) &&
           ((!a->val && !b->val) || (a->val && b->val && !strcmp(a->val, b->val)));
}

static bool same_chain(const struct px_chain *a, const struct px_chain *b)
{
    return a && b && !strcmp(a->rules, b->rules);
}

static bool same_set(const struct px_aset *a, const struct px_aset *b)
{
    return a && b && a->timeout_s == b->timeout_s;
}

/* Same chains, map elements and sets (endpoint maps aside). */
static bool same_structure(const struct px_bundle *a, const struct px_bundle *b)
{
    if (a->nchains != b->nchains || a->nelems != b->nelems || a->nsets != b->nsets)
        return false;
    for (size_t i = 0; i < a->nchains; i++)
        if (strcmp(a->chains[i].name, b->chains[i].name) ||
            !same_chain(&a->chains[i], &b->chains[i]))
            return false;
    for (size_t i = 0; i < a->nelems; i++)
        if (a->elems[i].map != b->elems[i].map || !same_elem(&a->elems[i], &b->elems[i]))
            return false;
    for (size_t i = 0; i < a->nsets; i++)
        if (strcmp(a->sets[i].name, b->sets[i].name) || !same_set(&a->sets[i], &b->sets[i]))
            return false;
    return true;
}

bool px_bundle_elems_only(const struct px_bundle *a, const struct px_bundle *b)
{
    if (!a || !b || !same_structure(a, b) || a->nemaps != b->nemaps)
        return false;
    for (size_t i = 0; i < a->nemaps; i++)
        if (strcmp(a->emaps[i].name, b->emaps[i].name) || a->emaps[i].slot != b->emaps[i].slot)
            return false;
    return true;
}

bool px_bundle_equal(const struct px_bundle *a, const struct px_bundle *b)
{
    if (!px_bundle_elems_only(a, b))
        return false;
    for (size_t i = 0; i < a->nemaps; i++)
        if (!px_emap_equal(&a->emaps[i], &b->emaps[i]))
            return false;
    return true;
}

static void emit_elem(const struct px_env *env, const char *verb, const struct px_elem *e,
                      bool with_val, struct ck_buf *out)
{
    ck_buf_appendf(out, "%s element ip %s %s { %s", verb, env->table, map_names[e->map], e->key);
    if (with_val && e->val)
        ck_buf_appendf(out, " : %s", e->val);
    ck_buf_appends(out, " }\n");
}

static void emit_set_decl(const struct px_aset *s, struct ck_buf *out)
{
    ck_buf_appendf(out, "{ type ipv4_addr; flags dynamic,timeout; timeout %ds; }", s->timeout_s);
}

#define EMAP_TYPE "typeof numgen random mod 65536 : ip daddr . tcp dport; flags interval;"
_Static_assert(PX_EP_RANGE == 65536, "EMAP_TYPE spells PX_EP_RANGE");

/* "lo-hi : ip . port, ..." (or without data: "lo-hi, ...") */
static void emit_emap_elems(const struct px_emap *m, bool data, struct ck_buf *out)
{
    uint32_t base = m->slot * PX_EP_RANGE;
    for (size_t i = 0; i < m->n; i++) {
        uint32_t lo, hi;
        px_split(m->n, i, &lo, &hi);
        ck_buf_appendf(out, "%s%u-%u", i ? ", " : "", base + lo, base + hi);
        if (data)
            ck_buf_appendf(out, " : %s . %d", m->eps[i].ip, m->eps[i].port);
    }
}

void px_emit_shard(const struct px_env *env, bool add, unsigned shard, struct ck_buf *out)
{
    if (add)
        ck_buf_appendf(out, "add map ip %s endpoints-%u { " EMAP_TYPE " }\n", env->table, shard);
    else
        ck_buf_appendf(out, "delete map ip %s endpoints-%u\n", env->table, shard);
}

static void emit_emap(const struct px_env *env, const char *verb, const struct px_emap *m,
                      struct ck_buf *out)
{
    ck_buf_appendf(out, "%s element ip %s endpoints-%u { ", verb, env->table,
                   m->slot / PX_EP_SHARD_SLOTS);
    emit_emap_elems(m, *verb == 'a', out);
    ck_buf_appends(out, " }\n");
}

static void emit_rules(const struct px_env *env, const struct px_chain *c, struct ck_buf *out)
{
    for (const char *p = c->rules; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        ck_buf_appendf(out, "add rule ip %s %s %.*s\n", env->table, c->name, (int)len, p);
        p += len + (nl ? 1 : 0);
    }
}

void px_emit_diff_del(const struct px_env *env, const struct px_bundle *old,
                      const struct px_bundle *nb, struct ck_buf *out)
{
    for (size_t i = 0; old && i < old->nelems; i++)
        if (!same_elem(&old->elems[i], find_elem(nb, &old->elems[i])))
            emit_elem(env, "delete", &old->elems[i], false, out);
    for (size_t i = 0; old && i < old->nchains; i++)
        if (!same_chain(&old->chains[i], find_chain(nb, old->chains[i].name)))
            ck_buf_appendf(out, "flush chain ip %s %s\n", env->table, old->chains[i].name);
    for (size_t i = 0; old && i < old->nchains; i++)
        if (!find_chain(nb, old->chains[i].name))
            ck_buf_appendf(out, "delete chain ip %s %s\n", env->table, old->chains[i].name);
    for (size_t i = 0; old && i < old->nsets; i++)
        if (!same_set(&old->sets[i], find_set(nb, &old->sets[i])))
            ck_buf_appendf(out, "delete set ip %s %s\n", env->table, old->sets[i].name);
    for (size_t i = 0; old && i < old->nemaps; i++)
        if (!px_emap_equal(&old->emaps[i], find_emap(nb, old->emaps[i].name)))
            emit_emap(env, "delete", &old->emaps[i], out);
}

void px_emit_diff_add(const struct px_env *env, const struct px_bundle *old,
                      const struct px_bundle *nb, struct ck_buf *out)
{
    for (size_t i = 0; nb && i < nb->nsets; i++)
        if (!same_set(&nb->sets[i], find_set(old, &nb->sets[i]))) {
            ck_buf_appendf(out, "add set ip %s %s ", env->table, nb->sets[i].name);
            emit_set_decl(&nb->sets[i], out);
            ck_buf_appendc(out, '\n');
        }
    for (size_t i = 0; nb && i < nb->nemaps; i++)
        if (!px_emap_equal(&nb->emaps[i], find_emap(old, nb->emaps[i].name)))
            emit_emap(env, "add", &nb->emaps[i], out);
    for (size_t i = 0; nb && i < nb->nchains; i++)
        if (!find_chain(old, nb->chains[i].name))
            ck_buf_appendf(out, "add chain ip %s %s\n", env->table, nb->chains[i].name);
    for (size_t i = 0; nb && i < nb->nchains; i++)
        if (!same_chain(&nb->chains[i], find_chain(old, nb->chains[i].name)))
            emit_rules(env, &nb->chains[i], out);
    for (size_t i = 0; nb && i < nb->nelems; i++)
        if (!same_elem(&nb->elems[i], find_elem(old, &nb->elems[i])))
            emit_elem(env, "add", &nb->elems[i], true, out);
}

void px_emit_delete_table(const struct px_env *env, struct ck_buf *out)
{
    ck_buf_appendf(out, "add table ip %s\ndelete table ip %s\n", env->table, env->table);
}

/* The fixed part, as the body of a table block. */
static size_t base_body(const struct px_env *env, struct ck_buf *o)
{
    size_t n = 0;
    ck_buf_appends(o, "\tcomment \"rules for ckube proxy\"\n"
                      "\tset cluster-ips { type ipv4_addr; comment \"Active ClusterIPs\"; }\n"
                      "\tset nodeport-ips { type ipv4_addr; comment \"IPs that accept NodePort "
                      "traffic\"; }\n"
                      "\tmap service-ips { type ipv4_addr . inet_proto . inet_service : verdict; "
                      "comment \"ClusterIP dispatch\"; }\n"
                      "\tmap service-nodeports { type inet_proto . inet_service : verdict; "
                      "comment \"NodePort dispatch\"; }\n"
                      "\tmap no-endpoint-services { type ipv4_addr . inet_proto . inet_service : "
                      "verdict; comment \"vmap to drop or reject packets to services with no "
                      "endpoints\"; }\n"
                      "\tmap no-endpoint-nodeports { type inet_proto . inet_service : verdict; "
                      "comment \"vmap to drop or reject packets to service nodeports with no "
                      "endpoints\"; }\n");

    static const char *const fixed[][2] = {
        {"filter-input", "type filter hook input priority -110; policy accept;\n"
                         "\t\tct state new jump nodeport-endpoints-check\n"
                         "\t\tct state new jump service-endpoints-check\n"},
        {"filter-forward", "type filter hook forward priority -110; policy accept;\n"
                           "\t\tct state new jump service-endpoints-check\n"
                           "\t\tct state new jump cluster-ips-check\n"},
        {"filter-output", "type filter hook output priority -110; policy accept;\n"
                          "\t\tct state new jump service-endpoints-check\n"
                          "\t\tct state new jump cluster-ips-check\n"},
        {"nat-prerouting", "type nat hook prerouting priority -100; policy accept;\n"
                           "\t\tjump services\n"},
        {"nat-output", "type nat hook output priority -100; policy accept;\n"
                       "\t\tjump services\n"},
        {"service-endpoints-check",
         "\t\tip daddr . meta l4proto . th dport vmap @no-endpoint-services\n"},
        {"nodeport-endpoints-check",
         "\t\tip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports\n"},
        {"services",
         "\t\tip daddr . meta l4proto . th dport vmap @service-ips\n"
         "\t\tip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports\n"},
        {"masquerading", "\t\tmeta mark & 0x00004000 == 0x00000000 return\n"
                         "\t\tmeta mark set meta mark ^ 0x00004000\n"
                         "\t\tmasquerade fully-random\n"},
        {"mark-for-masquerade", "\t\tmeta mark set meta mark | 0x00004000\n"},
        {"reject-chain", "\t\treject\n"},
    };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        ck_buf_appendf(o, "\tchain %s {\n%s%s\t}\n", fixed[i][0],
                       strncmp(fixed[i][1], "type", 4) ? "" : "\t\t", fixed[i][1]);
        for (const char *p = fixed[i][1]; (p = strchr(p, '\n')); p++)
            n++;
        if (!strncmp(fixed[i][1], "type", 4))
            n--; /* the hook line is no rule */
    }
    ck_buf_appends(o, "\tchain nat-postrouting {\n"
                      "\t\ttype nat hook postrouting priority 100; policy accept;\n");
    /* Service traffic from a pod to a pod (itself: hairpin, or one on the same bridge) is
     * masqueraded, so that the reply comes back through the host's conntrack rather than
     * over L2 around it (kube-proxy marks `ip saddr <endpoint>` in each endpoint chain for
     * hairpin and relies on br_netfilter for the rest). */
    if (env->cluster_cidr && !env->masquerade_all) {
        ck_buf_appendf(o,
                       "\t\tct status dnat ip saddr %s ip daddr %s jump "
                       "mark-for-masquerade\n",
                       env->cluster_cidr, env->cluster_cidr);
        n++;
    }
    ck_buf_appends(o, "\t\tjump masquerading\n\t}\n");
    n++;
    ck_buf_appends(o, "\tchain cluster-ips-check {\n"
                      "\t\tip daddr @cluster-ips reject comment \"Reject traffic to invalid ports "
                      "of ClusterIPs\"\n");
    n++;
    if (env->service_cidr) {
        ck_buf_appendf(o,
                       "\t\tip daddr %s reject comment \"Reject traffic to unallocated "
                       "ClusterIPs\"\n",
                       env->service_cidr);
        n++;
    }
    ck_buf_appends(o, "\t}\n");
    return n;
}

size_t px_emit_base(const struct px_env *env, struct ck_buf *out)
{
    ck_buf_appendf(out, "table ip %s {\n", env->table);
    size_t n = base_body(env, out);
    ck_buf_appends(out, "}\n");
    if (env->node_ip)
        ck_buf_appendf(out, "add element ip %s nodeport-ips { %s }\n", env->table, env->node_ip);
    return n;
}

static int cmp_emap_slot(const void *a, const void *b)
{
    const struct px_emap *x = *(const struct px_emap *const *)a,
                         *y = *(const struct px_emap *const *)b;
    return (x->slot > y->slot) - (x->slot < y->slot);
}

size_t px_emit_full(const struct px_env *env, struct px_bundle *const *bundles, size_t n,
                    struct ck_buf *out)
{
    px_emit_delete_table(env, out);
    ck_buf_appendf(out, "table ip %s {\n", env->table);
    size_t rules = base_body(env, out);
    uint8_t *shards = ck_calloc(PX_EP_SHARDS, 1);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < bundles[i]->nemaps; k++)
            shards[bundles[i]->emaps[k].slot / PX_EP_SHARD_SLOTS] = 1;
    for (unsigned k = 0; k < PX_EP_SHARDS; k++)
        if (shards[k])
            ck_buf_appendf(out, "\tmap endpoints-%u { " EMAP_TYPE " }\n", k);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < bundles[i]->nsets; k++) {
            ck_buf_appendf(out, "\tset %s ", bundles[i]->sets[k].name);
            emit_set_decl(&bundles[i]->sets[k], out);
            ck_buf_appendc(out, '\n');
        }
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < bundles[i]->nchains; k++) {
            const struct px_chain *c = &bundles[i]->chains[k];
            ck_buf_appendf(out, "\tchain %s {\n", c->name);
            for (const char *p = c->rules; *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                ck_buf_appendf(out, "\t\t%.*s\n", (int)len, p);
                p += len + (nl ? 1 : 0);
            }
            ck_buf_appends(out, "\t}\n");
            rules += c->nrules;
        }
    ck_buf_appends(out, "}\n");
    if (env->node_ip)
        ck_buf_appendf(out, "add element ip %s nodeport-ips { %s }\n", env->table, env->node_ip);
    /* elements, one statement per map and at most 1000 elements each */
    for (int m = 0; m < PX_NMAPS; m++) {
        size_t in_stmt = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < bundles[i]->nelems; k++) {
                const struct px_elem *e = &bundles[i]->elems[k];
                if ((int)e->map != m)
                    continue;
                if (!in_stmt)
                    ck_buf_appendf(out, "add element ip %s %s { ", env->table, map_names[m]);
                else
                    ck_buf_appends(out, ", ");
                ck_buf_appends(out, e->key);
                if (e->val)
                    ck_buf_appendf(out, " : %s", e->val);
                if (++in_stmt == 1000) {
                    ck_buf_appends(out, " }\n");
                    in_stmt = 0;
                }
            }
        if (in_stmt)
            ck_buf_appends(out, " }\n");
    }
    /* endpoint maps, per shard one statement of at most about 1000 intervals */
    size_t nm = 0, k = 0;
    for (size_t i = 0; i < n; i++)
        nm += bundles[i]->nemaps;
    const struct px_emap **ms = ck_calloc(nm + 1, sizeof(*ms));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < bundles[i]->nemaps; j++)
            ms[k++] = &bundles[i]->emaps[j];
    qsort(ms, nm, sizeof(*ms), cmp_emap_slot);
    size_t in_stmt = 0;
    for (size_t i = 0; i < nm; i++) {
        uint32_t sh = ms[i]->slot / PX_EP_SHARD_SLOTS;
        if (in_stmt && (in_stmt >= 1000 || sh != ms[i - 1]->slot / PX_EP_SHARD_SLOTS)) {
            ck_buf_appends(out, " }\n");
            in_stmt = 0;
        }
        if (!in_stmt)
            ck_buf_appendf(out, "add element ip %s endpoints-%u { ", env->table, sh);
        else
            ck_buf_appends(out, ", ");
        emit_emap_elems(ms[i], true, out);
        in_stmt += ms[i]->n;
    }
    if (in_stmt)
        ck_buf_appends(out, " }\n");
    free(ms);
    free(shards);
    return rules;
}
