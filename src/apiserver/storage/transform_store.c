/* SPDX-License-Identifier: Apache-2.0 */
/* A store backend that wraps another and transforms the values of encrypted resources on the
 * way in (txn puts) and out (get, range, events_since, txn results, the committed-event
 * stream): the decorator behind enc_store_wrap (transform.h). Keys, revisions and every
 * unconfigured resource's values pass through untouched. */
#include "apiserver/registry/registry.h"
#include "apiserver/storage/transform.h"

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/strmap.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* One encrypted resource: its key prefix and transformer. */
struct tf_res {
    const char *prefix; /* the registry's key_prefix ("/registry/core/secrets/") */
    size_t prefix_len;
    const struct enc_transformer *t;
};

/* A subscriber of the inner store, whose events are decrypted before fn sees them. */
struct tf_sub {
    struct tstore *ts;
    store_watch_fn fn;
    void *arg;
    int id;
};

struct tstore {
    struct store base;
    struct store_ops ops; /* this instance's vtable: named as the inner backend */
    struct store *inner;
    struct enc_config *cfg;
    struct tf_res *res;
    size_t nres;
    pthread_mutex_t mu; /* subs */
    struct tf_sub **subs;
    size_t nsubs;
    /* keys whose stored value is stale (an older key, or plain): rewritten on update */
    pthread_mutex_t stale_mu;
    struct ck_strmap stale;
    atomic_size_t nstale;
};

static struct tstore *ts_of(struct store *s)
{
    return (struct tstore *)s;
}

static void mark_stale(struct tstore *ts, const char *key, size_t n, bool stale)
{
    if (!stale && atomic_load(&ts->nstale) == 0)
        return;
    char *k = ck_strndup(key, n);
    bool found = false;
    pthread_mutex_lock(&ts->stale_mu);
    if (stale) {
        ck_strmap_get(&ts->stale, k, &found);
        if (!found) {
            ck_strmap_put(&ts->stale, k, NULL);
            atomic_fetch_add(&ts->nstale, 1);
        }
    } else {
        ck_strmap_del(&ts->stale, k, &found);
        if (found)
            atomic_fetch_sub(&ts->nstale, 1);
    }
    pthread_mutex_unlock(&ts->stale_mu);
    free(k);
}

static const struct enc_transformer *tf_for(const struct tstore *ts, const char *key, size_t n)
{
    for (size_t i = 0; i < ts->nres; i++)
        if (n > ts->res[i].prefix_len && !memcmp(key, ts->res[i].prefix, ts->res[i].prefix_len))
            return ts->res[i].t;
    return NULL;
}

/* Decrypts kv's value in place (kv owns it); 0, or -1 with err. live: kv is (or was at the
 * read's revision) the key's state, so a stale one is remembered (a mark left by an old read
 * costs at most one needless rewrite); false for previous states. */
static int kv_open(struct tstore *ts, struct store_kv *kv, bool live, struct ck_err *err)
{
    if (!kv->key || !kv->value_len)
        return 0;
    const struct enc_transformer *t = tf_for(ts, kv->key, kv->key_len);
    if (!t)
        return 0;
    void *plain;
    size_t n;
    bool stale = false;
    if (enc_from_storage(t, kv->key, kv->key_len, kv->value, kv->value_len, &plain, &n, &stale,
                         err) < 0)
        return -1;
    if (stale && live)
        mark_stale(ts, kv->key, kv->key_len, true);
    free(kv->value);
    kv->value = plain;
    kv->value_len = n;
    return 0;
}

/* kv_open for reads that must go on (the cache's whole-store loads): an undecryptable value
 * is logged and becomes empty, which the cache reports and skips. */
static void kv_open_or_blank(struct tstore *ts, struct store_kv *kv, bool live)
{
    struct ck_err e = CK_ERR_INIT;
    if (kv_open(ts, kv, live, &e) == 0)
        return;
    ck_error("encryption at rest: %s", e.msg);
    free(kv->value);
    kv->value = ck_strdup("");
    kv->value_len = 0;
}

static int tf_txn(struct store *s, const struct store_txn *t, struct store_txn_result *res,
                  struct ck_err *err)
{
    struct tstore *ts = ts_of(s);
    struct store_op *ops = NULL;
    void **bufs = NULL;
    for (size_t i = 0; i < t->nops; i++) {
        const struct store_op *op = &t->ops[i];
        const struct enc_transformer *tf =
            op->type == STORE_OP_PUT ? tf_for(ts, op->key, op->key_len) : NULL;
        if (!tf)
            continue;
        if (!ops) {
            ops = ck_malloc(t->nops * sizeof(*ops));
            memcpy(ops, t->ops, t->nops * sizeof(*ops));
            bufs = ck_calloc(t->nops, sizeof(*bufs));
        }
        size_t n;
        if (enc_to_storage(tf, op->key, op->key_len, op->value, op->value_len, &bufs[i], &n, err) <
            0) {
            for (size_t j = 0; j < t->nops; j++)
                free(bufs[j]);
            free(bufs);
            free(ops);
            return -1;
        }
        ops[i].value = bufs[i];
        ops[i].value_len = n;
        mark_stale(ts, op->key, op->key_len, false); /* (rewritten even if the txn fails) */
    }
    struct store_txn t2 = *t;
    if (ops)
        t2.ops = ops;
    int rc = ts->inner->ops->txn(ts->inner, &t2, res, err);
    if (ops) {
        for (size_t j = 0; j < t->nops; j++)
            free(bufs[j]);
        free(bufs);
        free(ops);
    }
    if (rc < 0)
        return rc;
    if (!res->succeeded)
        kv_open_or_blank(ts, &res->failed_kv, true);
    for (size_t i = 0; i < res->nprev; i++)
        kv_open_or_blank(ts, &res->prev[i], false);
    return rc;
}

static int tf_get(struct store *s, const char *key, size_t key_len, int64_t revision,
                  struct store_kv *out, bool *found, struct ck_err *err)
{
    struct tstore *ts = ts_of(s);
    int rc = ts->inner->ops->get(ts->inner, key, key_len, revision, out, found, err);
    if (rc < 0 || !*found)
        return rc;
    if (kv_open(ts, out, true, err) < 0) {
        store_kv_release(out);
        *found = false;
        return -1;
    }
    return rc;
}

static int tf_range(struct store *s, const struct store_range_req *r,
                    struct store_range_result *res, struct ck_err *err)
{
    struct tstore *ts = ts_of(s);
    int rc = ts->inner->ops->range(ts->inner, r, res, err);
    if (rc < 0)
        return rc;
    /* a read of one encrypted resource fails on a bad value as upstream's LIST does; a wider
     * read (the cache's load of every resource) goes on without it */
    bool one = false;
    for (size_t i = 0; i < ts->nres && !one; i++)
        one = r->prefix_len >= ts->res[i].prefix_len &&
              !memcmp(r->prefix, ts->res[i].prefix, ts->res[i].prefix_len);
    for (size_t i = 0; i < res->nkvs; i++) {
        if (!one) {
            kv_open_or_blank(ts, &res->kvs[i], true);
        } else if (kv_open(ts, &res->kvs[i], true, err) < 0) {
            store_range_result_release(res);
            return -1;
        }
    }
    return rc;
}

static int tf_events_since(struct store *s, int64_t after, int64_t limit, struct store_events *res,
                           struct ck_err *err)
{
    struct tstore *ts = ts_of(s);
    int rc = ts->inner->ops->events_since(ts->inner, after, limit, res, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < res->nevents; i++) {
        kv_open_or_blank(ts, &res->events[i].kv, false);
        if (res->events[i].has_prev)
            kv_open_or_blank(ts, &res->events[i].prev, false);
    }
    return rc;
}

static int tf_compact(struct store *s, int64_t revision, struct ck_err *err)
{
    struct tstore *ts = ts_of(s);
    return ts->inner->ops->compact(ts->inner, revision, err);
}

static int64_t tf_current(struct store *s)
{
    return ts_of(s)->inner->ops->current_revision(ts_of(s)->inner);
}

static int64_t tf_compacted(struct store *s)
{
    return ts_of(s)->inner->ops->compacted_revision(ts_of(s)->inner);
}

/* Decrypts a borrowed value into *tmp (freed by the caller) and points kv at it. */
static void ev_kv_open(struct tstore *ts, struct store_kv *kv, bool live, void **tmp)
{
    const struct enc_transformer *t = kv->value_len ? tf_for(ts, kv->key, kv->key_len) : NULL;
    if (!t)
        return;
    struct ck_err e = CK_ERR_INIT;
    size_t n = 0;
    bool stale = false;
    if (enc_from_storage(t, kv->key, kv->key_len, kv->value, kv->value_len, tmp, &n, &stale, &e) <
        0) {
        ck_error("encryption at rest: %s", e.msg);
        *tmp = ck_strdup("");
    }
    if (stale && live)
        mark_stale(ts, kv->key, kv->key_len, true);
    kv->value = *tmp;
    kv->value_len = n;
}

static void tf_on_event(void *arg, const struct store_event *ev)
{
    struct tf_sub *sub = arg;
    if (ev->type == STORE_EVENT_MISSED || !tf_for(sub->ts, ev->kv.key, ev->kv.key_len)) {
        sub->fn(sub->arg, ev);
        return;
    }
    struct store_event c = *ev;
    void *a = NULL, *b = NULL;
    ev_kv_open(sub->ts, &c.kv, true, &a);
    if (c.has_prev)
        ev_kv_open(sub->ts, &c.prev, false, &b);
    sub->fn(sub->arg, &c);
    free(a);
    free(b);
}

static int tf_subscribe(struct store *s, store_watch_fn fn, void *arg, int64_t *from,
                        struct ck_err *err)
{
    struct tstore *ts = ts_of(s);
    struct tf_sub *sub = ck_calloc(1, sizeof(*sub));
    sub->ts = ts;
    sub->fn = fn;
    sub->arg = arg;
    int id = ts->inner->ops->subscribe(ts->inner, tf_on_event, sub, from, err);
    if (id < 0) {
        free(sub);
        return id;
    }
    sub->id = id;
    pthread_mutex_lock(&ts->mu);
    ts->subs = ck_realloc(ts->subs, (ts->nsubs + 1) * sizeof(*ts->subs));
    ts->subs[ts->nsubs++] = sub;
    pthread_mutex_unlock(&ts->mu);
    return id;
}

static void tf_unsubscribe(struct store *s, int id)
{
    struct tstore *ts = ts_of(s);
    ts->inner->ops->unsubscribe(ts->inner, id);
    pthread_mutex_lock(&ts->mu);
    for (size_t i = 0; i < ts->nsubs; i++)
        if (ts->subs[i]->id == id) {
            free(ts->subs[i]);
            ts->subs[i] = ts->subs[--ts->nsubs];
            break;
        }
    pthread_mutex_unlock(&ts->mu);
}

static void tf_close(struct store *s)
{
    struct tstore *ts = ts_of(s);
    ts->inner->ops->close(ts->inner);
    for (size_t i = 0; i < ts->nsubs; i++)
        free(ts->subs[i]);
    free(ts->subs);
    free(ts->res);
    enc_config_free(ts->cfg);
    ck_strmap_release(&ts->stale);
    pthread_mutex_destroy(&ts->stale_mu);
    pthread_mutex_destroy(&ts->mu);
    free(ts);
}

int enc_store_wrap(struct store *inner, struct enc_config *c, struct store **out,
                   struct ck_err *err)
{
    (void)err;
    struct tstore *ts = ck_calloc(1, sizeof(*ts));
    reg_init();
    for (size_t i = 0; i < reg_count(); i++) {
        const struct reg_resource *r = reg_at(i);
        if (r->storage) /* a view: stored as (and configured as) its storage resource */
            continue;
        const struct enc_transformer *t = enc_config_for(c, r->group, r->plural);
        if (!t)
            continue;
        ts->res = ck_realloc(ts->res, (ts->nres + 1) * sizeof(*ts->res));
        ts->res[ts->nres++] = (struct tf_res){r->key_prefix, strlen(r->key_prefix), t};
        ck_v(1, "encryption at rest: %s%s%s through %zu provider key(s)", r->plural,
             *r->group ? "." : "", r->group, t->nkeys);
    }
    if (!ts->nres) {
        ck_warn("encryption at rest: the configuration names none of the served resources");
        free(ts);
        enc_config_free(c);
        *out = inner;
        return 0;
    }
    ts->inner = inner;
    ts->cfg = c;
    ts->ops = (struct store_ops){.name = inner->ops->name,
                                 .version = inner->ops->version,
                                 .txn = tf_txn,
                                 .get = tf_get,
                                 .range = tf_range,
                                 .events_since = tf_events_since,
                                 .compact = tf_compact,
                                 .current_revision = tf_current,
                                 .compacted_revision = tf_compacted,
                                 .subscribe = tf_subscribe,
                                 .unsubscribe = tf_unsubscribe,
                                 .close = tf_close};
    ts->base.ops = &ts->ops;
    pthread_mutex_init(&ts->mu, NULL);
    pthread_mutex_init(&ts->stale_mu, NULL);
    ts->stale = (struct ck_strmap)CK_STRMAP_INIT;
    *out = &ts->base;
    return 0;
}

bool enc_store_stale(struct store *st, const char *key, size_t key_len)
{
    if (!st || st->ops->txn != tf_txn)
        return false;
    struct tstore *ts = ts_of(st);
    if (atomic_load(&ts->nstale) == 0)
        return false;
    char *k = ck_strndup(key, key_len);
    bool found = false;
    pthread_mutex_lock(&ts->stale_mu);
    ck_strmap_get(&ts->stale, k, &found);
    pthread_mutex_unlock(&ts->stale_mu);
    free(k);
    return found;
}
