/* SPDX-License-Identifier: Apache-2.0 */
/* The sync engine (engine.h): change tracking per Service, bundles, nft transactions. */
#include "proxy/engine.h"

#include "k8s/util.h"
#include "lib/log.h"
#include "lib/strmap.h"
#include "lib/timeutil.h"
#include "proxy/nft.h"
#include "proxy/nl.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

#define SCRIPT_MAX (1u << 30) /* 10k Services x 10 endpoints come to ~40 MiB */
#define LABEL_SVC "kubernetes.io/service-name"
/* Element batches above this go through libnftables, which sizes its socket buffers itself. */
#define NL_BATCH_MAX (128u << 10)

struct slice_rec {
    json_t *obj;
    char *svc; /* "ns/service" it belongs to, or NULL */
};

struct px_engine {
    struct px_env env;
    char *node;
    pthread_mutex_t mu;
    /* under mu */
    struct ck_strmap services;   /* "ns/name" -> json_t* */
    struct ck_strmap slices;     /* "ns/name" -> struct slice_rec* */
    struct ck_strmap svc_slices; /* "ns/service" -> struct ck_strmap* of slice keys */
    struct ck_strmap dirty;      /* "ns/service" -> NULL */
    bool want_full;
    /* the sync thread's */
    struct ck_strmap bundles; /* "ns/service" -> struct px_bundle* (applied) */
    _Atomic size_t rules;
    bool synced; /* the table was written at least once */
    struct px_nft *nft;
    struct px_nl *nl; /* opened on the first element-only sync */
    bool nl_failed;   /* it could not be opened: libnftables does every sync */
    /* endpoint-map slots (rules.h): owner name -> slot + 1, and the used ones */
    struct ck_strmap slots;
    uint64_t used[(PX_EP_SLOTS + 63) / 64];
    uint8_t shard_users[PX_EP_SHARDS]; /* used slots per endpoint map */
    bool shard_in_table[PX_EP_SHARDS]; /* the map exists (as of the last successful sync) */
};

/* The slot of name, allocated (the lowest free one) on first use; the sync thread's. */
static int slot_of(void *ctx, const char *name)
{
    struct px_engine *e = ctx;
    uintptr_t v = (uintptr_t)ck_strmap_get(&e->slots, name, NULL);
    if (v)
        return (int)(v - 1);
    for (uint32_t w = 0; w < (PX_EP_SLOTS + 63) / 64; w++) {
        if (e->used[w] == UINT64_MAX)
            continue;
        uint32_t slot = w * 64 + (uint32_t)__builtin_ctzll(~e->used[w]);
        if (slot >= PX_EP_SLOTS)
            break;
        e->used[w] |= 1ull << (slot % 64);
        e->shard_users[slot / PX_EP_SHARD_SLOTS]++;
        ck_strmap_put(&e->slots, name, (void *)(uintptr_t)(slot + 1));
        return (int)slot;
    }
    return -1;
}

static void slot_free(struct px_engine *e, const char *name)
{
    uintptr_t v = (uintptr_t)ck_strmap_del(&e->slots, name, NULL);
    if (v) {
        e->used[(v - 1) / 64] &= ~(1ull << ((v - 1) % 64));
        e->shard_users[(v - 1) / PX_EP_SHARD_SLOTS]--;
    }
}

/* Endpoint maps to create (add: used, not in the table) or delete (unused, in the table). */
static void emit_shards(struct px_engine *e, bool add, struct ck_buf *s)
{
    for (unsigned k = 0; k < PX_EP_SHARDS; k++)
        if ((e->shard_users[k] > 0) != e->shard_in_table[k] && (e->shard_users[k] > 0) == add)
            px_emit_shard(&e->env, add, k, s);
}

static char *dupz(const char *s)
{
    return s ? ck_strdup(s) : NULL;
}

struct px_engine *px_engine_new(const struct px_env *env, const char *node)
{
    struct px_nft *nft = px_nft_new();
    if (!nft)
        return NULL;
    struct px_engine *e = ck_calloc(1, sizeof(*e));
    e->env.table = ck_strdup(env->table ? env->table : "ckube-proxy");
    e->env.service_cidr = dupz(env->service_cidr);
    e->env.cluster_cidr = dupz(env->cluster_cidr);
    e->env.node_ip = dupz(env->node_ip);
    e->env.masquerade_all = env->masquerade_all;
    e->node = dupz(node);
    e->env.slot = slot_of;
    e->env.slot_ctx = e;
    pthread_mutex_init(&e->mu, NULL);
    e->want_full = true;
    e->nft = nft;
    return e;
}

void px_engine_free(struct px_engine *e)
{
    if (!e)
        return;
    const char *k;
    void *v;
    for (size_t i = 0; ck_strmap_next(&e->services, &i, &k, &v);)
        json_decref(v);
    for (size_t i = 0; ck_strmap_next(&e->slices, &i, &k, &v);) {
        struct slice_rec *r = v;
        json_decref(r->obj);
        free(r->svc);
        free(r);
    }
    for (size_t i = 0; ck_strmap_next(&e->svc_slices, &i, &k, &v);) {
        ck_strmap_release(v);
        free(v);
    }
    for (size_t i = 0; ck_strmap_next(&e->bundles, &i, &k, &v);) {
        px_bundle_release(v);
        free(v);
    }
    ck_strmap_release(&e->services);
    ck_strmap_release(&e->slices);
    ck_strmap_release(&e->svc_slices);
    ck_strmap_release(&e->dirty);
    ck_strmap_release(&e->bundles);
    ck_strmap_release(&e->slots);
    px_nft_free(e->nft);
    px_nl_free(e->nl);
    free((char *)e->env.table);
    free((char *)e->env.service_cidr);
    free((char *)e->env.cluster_cidr);
    free((char *)e->env.node_ip);
    free(e->node);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

void px_engine_set_service(struct px_engine *e, const char *ns, const char *name, json_t *obj)
{
    char key[512];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    pthread_mutex_lock(&e->mu);
    json_t *old = obj ? ck_strmap_put(&e->services, key, json_incref(obj))
                      : ck_strmap_del(&e->services, key, NULL);
    json_decref(old);
    ck_strmap_put(&e->dirty, key, NULL);
    pthread_mutex_unlock(&e->mu);
}

static void link_slice(struct px_engine *e, const char *svc, const char *slice, bool add)
{
    struct ck_strmap *m = ck_strmap_get(&e->svc_slices, svc, NULL);
    if (add) {
        if (!m) {
            m = ck_calloc(1, sizeof(*m));
            ck_strmap_put(&e->svc_slices, svc, m);
        }
        ck_strmap_put(m, slice, NULL);
    } else if (m) {
        ck_strmap_del(m, slice, NULL);
        if (!m->len) {
            ck_strmap_del(&e->svc_slices, svc, NULL);
            ck_strmap_release(m);
            free(m);
        }
    }
    ck_strmap_put(&e->dirty, svc, NULL);
}

void px_engine_set_slice(struct px_engine *e, const char *ns, const char *name, json_t *obj)
{
    char key[512];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    pthread_mutex_lock(&e->mu);
    struct slice_rec *r = ck_strmap_del(&e->slices, key, NULL);
    if (r) {
        if (r->svc)
            link_slice(e, r->svc, key, false);
        json_decref(r->obj);
        free(r->svc);
        free(r);
    }
    if (obj) {
        r = ck_calloc(1, sizeof(*r));
        r->obj = json_incref(obj);
        const char *svc =
            k8s_jstr(json_object_get(json_object_get(obj, "metadata"), "labels"), LABEL_SVC);
        if (*svc) {
            r->svc = ck_asprintf("%s/%s", ns, svc);
            link_slice(e, r->svc, key, true);
        }
        ck_strmap_put(&e->slices, key, r);
    }
    pthread_mutex_unlock(&e->mu);
}

bool px_engine_pending(struct px_engine *e)
{
    pthread_mutex_lock(&e->mu);
    bool p = e->want_full || e->dirty.len;
    pthread_mutex_unlock(&e->mu);
    return p;
}

void px_engine_want_full(struct px_engine *e)
{
    pthread_mutex_lock(&e->mu);
    e->want_full = true;
    pthread_mutex_unlock(&e->mu);
}

/* The bundle the Service under key should have now (under mu); NULL when it has none. */
static struct px_bundle *desired(struct px_engine *e, const char *key)
{
    json_t *svc = ck_strmap_get(&e->services, key, NULL);
    if (!svc)
        return NULL;
    struct ck_strmap *m = ck_strmap_get(&e->svc_slices, key, NULL);
    json_t **sl = ck_calloc((m ? m->len : 0) + 1, sizeof(*sl));
    size_t n = 0;
    const char *k;
    void *v;
    for (size_t i = 0; m && ck_strmap_next(m, &i, &k, &v);) {
        struct slice_rec *r = ck_strmap_get(&e->slices, k, NULL);
        if (r)
            sl[n++] = r->obj;
    }
    struct px_svcport *ports;
    size_t np = px_service_parse(svc, sl, n, e->node, &ports);
    free(sl);
    if (!np)
        return NULL;
    struct px_bundle *b = ck_malloc(sizeof(*b));
    px_bundle_build(&e->env, ports, np, b);
    px_svcports_free(ports, np);
    return b;
}

struct change {
    char *key;
    struct px_bundle *old, *nb;
};

static void bundle_free(struct px_bundle *b)
{
    if (b) {
        px_bundle_release(b);
        free(b);
    }
}

/* Takes the dirty set and computes the changed Services' bundles. */
static size_t collect(struct px_engine *e, struct change **out, bool *full)
{
    pthread_mutex_lock(&e->mu);
    *full = e->want_full || !e->synced;
    e->want_full = false;
    struct change *c = ck_calloc(e->dirty.len + 1, sizeof(*c));
    size_t n = 0;
    const char *k;
    void *v;
    for (size_t i = 0; ck_strmap_next(&e->dirty, &i, &k, &v);) {
        struct px_bundle *old = ck_strmap_get(&e->bundles, k, NULL), *nb = desired(e, k);
        if ((!old && !nb) || (old && nb && px_bundle_equal(old, nb))) {
            bundle_free(nb);
            continue;
        }
        c[n++] = (struct change){.key = ck_strdup(k), .old = old, .nb = nb};
    }
    ck_strmap_release(&e->dirty);
    pthread_mutex_unlock(&e->mu);
    *out = c;
    return n;
}

/* Makes the changes the engine's state (whether or not nft took them: a failure forces a
 * full sync, which writes the state). */
static void commit(struct px_engine *e, struct change *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; c[i].old && k < c[i].old->nemaps; k++) {
            const char *m = c[i].old->emaps[k].name;
            bool kept = false;
            for (size_t j = 0; c[i].nb && j < c[i].nb->nemaps && !kept; j++)
                kept = !strcmp(m, c[i].nb->emaps[j].name);
            if (!kept)
                slot_free(e, m);
        }
        if (c[i].old)
            e->rules -= px_bundle_nrules(c[i].old);
        if (c[i].nb) {
            e->rules += px_bundle_nrules(c[i].nb);
            ck_strmap_put(&e->bundles, c[i].key, c[i].nb);
        } else {
            ck_strmap_del(&e->bundles, c[i].key, NULL);
        }
        bundle_free(c[i].old);
        free(c[i].key);
    }
    free(c);
}

/* The changed endpoint maps when every change is element-only and the batch is small (*olds
 * and *news malloc'd, pointing into the old and new bundles); 0 otherwise. */
static size_t element_changes(struct px_engine *e, const struct change *c, size_t n,
                              const struct px_emap ***olds, const struct px_emap ***news)
{
    *olds = *news = NULL;
    if (!n || e->nl_failed)
        return 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!px_bundle_elems_only(c[i].old, c[i].nb))
            return 0;
        total += c[i].nb->nemaps;
    }
    const struct px_emap **m = ck_calloc(total + 1, sizeof(*m));
    const struct px_emap **o = ck_calloc(total + 1, sizeof(*o));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < c[i].nb->nemaps; j++) /* same names and slots, same order */
            if (!px_emap_equal(&c[i].old->emaps[j], &c[i].nb->emaps[j])) {
                o[k] = &c[i].old->emaps[j];
                m[k++] = &c[i].nb->emaps[j];
            }
    if (!k || px_nl_batch_size(m, k) + px_nl_batch_size(o, k) > NL_BATCH_MAX) {
        free(m);
        free(o);
        return 0;
    }
    if (!e->nl) {
        struct ck_err err = CK_ERR_INIT;
        e->nl = px_nl_new(&err);
        if (!e->nl) {
            ck_warn("proxy: %s; endpoint changes go through libnftables", err.msg);
            e->nl_failed = true;
            free(m);
            free(o);
            return 0;
        }
    }
    *olds = o;
    *news = m;
    return k;
}

int px_engine_sync(struct px_engine *e, struct px_sync_result *res, struct ck_err *err)
{
    int64_t t0 = ck_mono_ns();
    struct change *c;
    bool full;
    size_t n = collect(e, &c, &full);
    *res = (struct px_sync_result){.full = full, .services = n};
    struct ck_buf s = CK_BUF_INIT(SCRIPT_MAX);
    const struct px_emap **olds = NULL, **news = NULL;
    size_t nmaps = full ? 0 : element_changes(e, c, n, &olds, &news);
    if (nmaps) { /* before commit() frees the old bundles */
        res->elements = true;
        int rc = 0;
        if (px_nl_set_emaps(e->nl, e->env.table, olds, news, nmaps, err) < 0) {
            px_engine_want_full(e);
            rc = -1;
        }
        commit(e, c, n);
        free(olds);
        free(news);
        res->rules = e->rules;
        res->seconds = (double)(ck_mono_ns() - t0) / 1e9;
        return rc;
    }
    if (!full) {
        emit_shards(e, true, &s);
        for (size_t i = 0; i < n; i++)
            px_emit_diff_del(&e->env, c[i].old, c[i].nb, &s);
        for (size_t i = 0; i < n; i++)
            px_emit_diff_add(&e->env, c[i].old, c[i].nb, &s);
    }
    commit(e, c, n); /* frees the slots of deleted endpoint maps */
    if (!full)
        emit_shards(e, false, &s);
    if (full) {
        struct px_bundle **all = ck_calloc(e->bundles.len + 1, sizeof(*all));
        size_t na = 0;
        const char *k;
        void *v;
        for (size_t i = 0; ck_strmap_next(&e->bundles, &i, &k, &v);)
            all[na++] = v;
        e->rules = px_emit_full(&e->env, all, na, &s);
        free(all);
    }
    int rc = 0;
    if (s.len && px_nft_run(e->nft, s.data, err) < 0) {
        px_engine_want_full(e);
        rc = -1;
    } else {
        e->synced = e->synced || full;
        for (unsigned k = 0; k < PX_EP_SHARDS; k++)
            e->shard_in_table[k] = e->shard_users[k] > 0;
    }
    res->rules = e->rules;
    res->script_len = s.len;
    ck_buf_release(&s);
    res->seconds = (double)(ck_mono_ns() - t0) / 1e9;
    return rc;
}

int px_engine_cleanup(struct px_engine *e, struct ck_err *err)
{
    struct ck_buf s = CK_BUF_INIT(4096);
    px_emit_delete_table(&e->env, &s);
    int rc = px_nft_run(e->nft, s.data, err);
    ck_buf_release(&s);
    e->synced = false;
    memset(e->shard_in_table, 0, sizeof(e->shard_in_table));
    px_engine_want_full(e);
    return rc;
}

size_t px_engine_nrules(struct px_engine *e)
{
    return e->rules;
}

int px_engine_list(struct px_engine *e, struct ck_buf *out, struct ck_err *err)
{
    return px_nft_list(e->nft, e->env.table, out, err);
}
