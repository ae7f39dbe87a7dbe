/* SPDX-License-Identifier: Apache-2.0 */
/* DeltaFIFO: key queue + per-key delta lists, one mutex, one condition. */
#include "ckube/deltafifo.h"
#include "lib/buf.h"
#include "lib/strmap.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

struct deltas {
    struct ck_delta *v;
    size_t n, cap;
};

struct ck_deltafifo {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct ck_strmap items; /* key -> struct deltas * (present iff queued) */
    char **queue;           /* FIFO of keys (ring) */
    size_t head, count, cap;
    struct ck_indexer *known;
    bool populated;
    long initial_count;
    bool closed;
};

static void deltas_free(struct deltas *d)
{
    for (size_t i = 0; i < d->n; i++)
        json_decref(d->v[i].obj);
    free(d->v);
    free(d);
}

static void queue_push(struct ck_deltafifo *f, const char *key)
{
    if (f->count == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 16;
        char **n = ck_calloc(ncap, sizeof(*n));
        for (size_t i = 0; i < f->count; i++)
            n[i] = f->queue[(f->head + i) % f->cap];
        free(f->queue);
        f->queue = n;
        f->head = 0;
        f->cap = ncap;
    }
    f->queue[(f->head + f->count) % f->cap] = ck_strdup(key);
    f->count++;
}

/* Two deletions in a row carry no more information than one: keep the one with the real
 * final state (client-go isDeletionDup / dedupDeltas). */
static void dedup_tail(struct deltas *d)
{
    if (d->n < 2)
        return;
    struct ck_delta *a = &d->v[d->n - 2], *b = &d->v[d->n - 1];
    if (a->type != CK_DELTA_DELETED || b->type != CK_DELTA_DELETED)
        return;
    if (b->final_state_unknown && !a->final_state_unknown) {
        json_decref(b->obj);
    } else {
        json_decref(a->obj);
        *a = *b;
    }
    d->n--;
}

static int queue_action(struct ck_deltafifo *f, enum ck_delta_type type, json_t *obj, bool dfsu,
                        const char *key_override)
{
    char *key = key_override ? ck_strdup(key_override) : ck_meta_namespace_key(obj);
    if (!key)
        return -1;
    struct deltas *d = ck_strmap_get(&f->items, key, NULL);
    if (type == CK_DELTA_SYNC && d && d->n) { /* pending deltas are newer than a resync */
        free(key);
        return 0;
    }
    if (!d) {
        d = ck_calloc(1, sizeof(*d));
        ck_strmap_put(&f->items, key, d);
        queue_push(f, key);
    }
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 4;
        d->v = ck_realloc(d->v, d->cap * sizeof(*d->v));
    }
    d->v[d->n++] = (struct ck_delta){type, json_incref(obj), dfsu};
    dedup_tail(d);
    pthread_cond_broadcast(&f->cond);
    free(key);
    return 0;
}

static int simple_action(struct ck_deltafifo *f, enum ck_delta_type t, json_t *obj)
{
    pthread_mutex_lock(&f->mu);
    f->populated = true;
    int rc = queue_action(f, t, obj, false, NULL);
    pthread_mutex_unlock(&f->mu);
    return rc;
}

int ck_deltafifo_add(struct ck_deltafifo *f, json_t *obj)
{
    return simple_action(f, CK_DELTA_ADDED, obj);
}

int ck_deltafifo_update(struct ck_deltafifo *f, json_t *obj)
{
    return simple_action(f, CK_DELTA_UPDATED, obj);
}

int ck_deltafifo_delete(struct ck_deltafifo *f, json_t *obj)
{
    char *key = ck_meta_namespace_key(obj);
    if (!key)
        return -1;
    pthread_mutex_lock(&f->mu);
    f->populated = true;
    bool queued;
    ck_strmap_get(&f->items, key, &queued);
    json_t *k = f->known ? ck_indexer_get(f->known, key) : NULL;
    int rc = 0;
    /* nothing to delete if neither the consumer nor the queue has heard of it */
    if (queued || k)
        rc = queue_action(f, CK_DELTA_DELETED, obj, false, key);
    json_decref(k);
    pthread_mutex_unlock(&f->mu);
    free(key);
    return rc;
}

int ck_deltafifo_replace(struct ck_deltafifo *f, const json_t *items)
{
    pthread_mutex_lock(&f->mu);
    struct ck_strmap seen = CK_STRMAP_INIT;
    size_t i, queued_deletions = 0;
    json_t *obj;
    json_array_foreach((json_t *)items, i, obj) {
        char *key = ck_meta_namespace_key(obj);
        if (!key)
            continue;
        ck_strmap_put(&seen, key, NULL);
        queue_action(f, CK_DELTA_REPLACED, obj, false, key);
        free(key);
    }
    json_t *keys = NULL;
    if (f->known) {
        keys = ck_indexer_keys(f->known);
    } else { /* without a consumer store, what is queued is all we know */
        keys = json_array();
        const char *k;
        for (size_t it = 0; ck_strmap_next(&f->items, &it, &k, NULL);)
            json_array_append_new(keys, json_string(k));
    }
    json_t *kv;
    json_array_foreach(keys, i, kv) {
        const char *k = json_string_value(kv);
        bool found;
        ck_strmap_get(&seen, k, &found);
        if (found)
            continue;
        json_t *last = NULL;
        if (f->known) {
            last = ck_indexer_get(f->known, k);
        } else {
            struct deltas *d = ck_strmap_get(&f->items, k, NULL);
            if (d && d->n && d->v[d->n - 1].type != CK_DELTA_DELETED)
                last = json_incref(d->v[d->n - 1].obj);
        }
        if (!last)
            continue;
        queue_action(f, CK_DELTA_DELETED, last, true, k);
        json_decref(last);
        queued_deletions++;
    }
    json_decref(keys);
    ck_strmap_release(&seen);
    if (!f->populated) {
        f->populated = true;
        f->initial_count = (long)json_array_size(items) + (long)queued_deletions;
    }
    pthread_mutex_unlock(&f->mu);
    return 0;
}

int ck_deltafifo_resync(struct ck_deltafifo *f)
{
    if (!f->known)
        return 0;
    json_t *objs = ck_indexer_list(f->known);
    pthread_mutex_lock(&f->mu);
    size_t i;
    json_t *obj;
    json_array_foreach(objs, i, obj)
        queue_action(f, CK_DELTA_SYNC, obj, false, NULL);
    pthread_mutex_unlock(&f->mu);
    json_decref(objs);
    return 0;
}

static int pop_locked(struct ck_deltafifo *f, ck_delta_process_fn process, void *arg)
{
    char *key = f->queue[f->head];
    f->head = (f->head + 1) % f->cap;
    f->count--;
    struct deltas *d = ck_strmap_del(&f->items, key, NULL);
    if (f->initial_count > 0)
        f->initial_count--;
    pthread_mutex_unlock(&f->mu);
    int rc = process(arg, key, d->v, d->n);
    deltas_free(d);
    free(key);
    pthread_mutex_lock(&f->mu);
    return rc;
}

int ck_deltafifo_pop(struct ck_deltafifo *f, ck_delta_process_fn process, void *arg)
{
    pthread_mutex_lock(&f->mu);
    while (!f->count && !f->closed)
        pthread_cond_wait(&f->cond, &f->mu);
    int rc = f->count ? pop_locked(f, process, arg) : -1;
    pthread_mutex_unlock(&f->mu);
    return rc;
}

int ck_deltafifo_pop_timeout(struct ck_deltafifo *f, int timeout_ms, ck_delta_process_fn process,
                             void *arg)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long ns = ts.tv_nsec + (long)(timeout_ms % 1000) * 1000000L;
    ts.tv_sec += timeout_ms / 1000 + ns / 1000000000L;
    ts.tv_nsec = ns % 1000000000L;
    pthread_mutex_lock(&f->mu);
    while (!f->count && !f->closed)
        if (pthread_cond_timedwait(&f->cond, &f->mu, &ts) == ETIMEDOUT)
            break;
    int rc = f->count ? pop_locked(f, process, arg) : (f->closed ? -1 : 0);
    pthread_mutex_unlock(&f->mu);
    return rc;
}

bool ck_deltafifo_has_synced(struct ck_deltafifo *f)
{
    pthread_mutex_lock(&f->mu);
    bool s = f->populated && f->initial_count == 0;
    pthread_mutex_unlock(&f->mu);
    return s;
}

size_t ck_deltafifo_len(struct ck_deltafifo *f)
{
    pthread_mutex_lock(&f->mu);
    size_t n = f->count;
    pthread_mutex_unlock(&f->mu);
    return n;
}

void ck_deltafifo_close(struct ck_deltafifo *f)
{
    pthread_mutex_lock(&f->mu);
    f->closed = true;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
}

struct ck_deltafifo *ck_deltafifo_new(struct ck_indexer *known)
{
    struct ck_deltafifo *f = ck_calloc(1, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cond, NULL);
    f->known = known;
    return f;
}

void ck_deltafifo_free(struct ck_deltafifo *f)
{
    if (!f)
        return;
    while (f->count) {
        free(f->queue[f->head]);
        f->head = (f->head + 1) % f->cap;
        f->count--;
    }
    free(f->queue);
    const char *k;
    void *v;
    for (size_t it = 0; ck_strmap_next(&f->items, &it, &k, &v);)
        deltas_free(v);
    ck_strmap_release(&f->items);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->mu);
    free(f);
}
