/* SPDX-License-Identifier: Apache-2.0 */
/* The sync engine (engine.h): change tracking per Service, bundles, nft transactions. */
#include "proxy/engine.h"

#include "k8s/util.h"
#include "lib/log.h"
#include "lib/strmap.h"
#include "lib/timeutil.h"
#include "proxy/nft.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

#define SCRIPT_MAX (1u << 30) /* 10k Services x 10 endpoints come to ~40 MiB */
#define LABEL_SVC "kubernetes.io/service-name"

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
};

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
    px_nft_free(e->nft);
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

int px_engine_sync(struct px_engine *e, struct px_sync_result *res, struct ck_err *err)
{
    int64_t t0 = ck_mono_ns();
    struct change *c;
    bool full;
    size_t n = collect(e, &c, &full);
    *res = (struct px_sync_result){.full = full, .services = n};
    struct ck_buf s = CK_BUF_INIT(SCRIPT_MAX);
    if (!full) {
        for (size_t i = 0; i < n; i++)
            px_emit_diff_del(&e->env, c[i].old, c[i].nb, &s);
        for (size_t i = 0; i < n; i++)
            px_emit_diff_add(&e->env, c[i].old, c[i].nb, &s);
    }
    commit(e, c, n);
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
    } else if (full) {
        e->synced = true;
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
