/* SPDX-License-Identifier: Apache-2.0 */
/* Internals of the etcd store backend: the store struct, the HTTP/JSON transport to etcd's
 * gRPC-JSON gateway (etcd_http.c), key/base64 helpers, and the watch side (etcd_watch.c). */
#ifndef CK_STORE_ETCD_INT_H
#define CK_STORE_ETCD_INT_H

#include "lib/buf.h"
#include "store/store.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#define ET_KEY_MAX 511
#define ET_VALUE_MAX ((size_t)64 << 20)
#define ET_TXN_MAX_OPS 1024
#define ET_PREFIX_MAX 128
#define ET_BODY_MAX ((size_t)512 << 20) /* ceiling of one response body */
#define ET_MAX_ENDPOINTS 8
#define ET_COMPACTED_MSG "mvcc: required revision has been compacted"
#define ET_FUTURE_MSG "mvcc: required revision is a future revision"

struct et_sub {
    int id;
    store_watch_fn fn;
    void *arg;
};

struct et_store {
    struct store base;
    char *endpoints[ET_MAX_ENDPOINTS];
    size_t nendpoints;
    atomic_size_t good_ep; /* endpoint that answered last */
    char *prefix;
    size_t prefix_len;
    char *ca_file, *cert_file, *key_file;
    int timeout_ms;
    atomic_llong cur_rev;       /* highest header revision seen */
    atomic_llong compacted_rev; /* highest compacted revision known */
    /* idle curl handles (connection reuse) */
    pthread_mutex_t pool_mu;
    void *pool[8];
    size_t npool;
    /* subscriptions: one watch stream feeding every subscriber */
    pthread_mutex_t sub_mu; /* held while delivering events */
    pthread_cond_t sub_cv;  /* signalled (under sub_mu) whenever pos advances */
    struct et_sub *subs;
    size_t nsubs, subs_cap;
    int next_sub_id;
    int64_t pos; /* every event <= pos was delivered to current subscribers */
    bool stream_running;
    atomic_bool stop;
    void *stream_multi; /* CURLM of the stream thread (woken by close) */
    pthread_t stream_thread;
};

/* ---- etcd_http.c ---- */

/* POSTs body (JSON) to endpoint path (e.g. "/v3/kv/range"), parses the JSON answer into
 * *out and updates cur_rev from its header. A gateway error becomes the matching reason
 * (compacted, future revision, too large, ...); no answer within timeout_ms or a dead etcd
 * becomes CK_R_SERVICE_UNAVAILABLE. */
int et_call(struct et_store *s, const char *path, const struct ck_buf *body, json_t **out,
            struct ck_err *err);
/* Fills err from a gateway error message; returns -1. */
int et_map_error(const char *msg, const char *what, struct ck_err *err);
/* A configured curl easy handle aimed at endpoint ep + path (caller sets body/callbacks). */
void *et_easy_new(struct et_store *s, size_t ep, const char *path);
size_t et_endpoint_count(struct et_store *s);

/* base64 of n bytes appended to b (no quotes). */
int et_b64_append(struct ck_buf *b, const void *p, size_t n);
/* Decodes a base64 string into a malloc'd NUL-terminated buffer; -1 on bad input. */
int et_b64_decode(const char *in, char **out, size_t *out_len);
/* Appends "<name>":"<base64(prefix+key)>" to b. */
int et_json_key(struct et_store *s, struct ck_buf *b, const char *name, const char *key,
                size_t key_len);
/* Appends the base64 of the smallest key above every key starting with prefix+key
 * (etcd range_end), or "AA==" when there is none. */
int et_json_range_end(struct et_store *s, struct ck_buf *b, const char *key, size_t key_len);
/* int64 from a gateway field (they are JSON strings; absent = 0). */
int64_t et_json_int(json_t *obj, const char *name);
/* Converts an etcd KeyValue object into *kv, removing the prefix; -1 if the key lies outside
 * the prefix or the object is malformed (kv left empty). */
int et_kv_from_json(struct et_store *s, json_t *o, struct store_kv *kv);
/* Tracks revisions seen. */
void et_saw_revision(struct et_store *s, int64_t rev);
void et_saw_compacted(struct et_store *s, int64_t rev);
/* Smallest readable revision via count-only ranges (binary search): the compacted revision. */
int et_probe_compacted(struct et_store *s, struct ck_err *err);

/* ---- etcd_watch.c ---- */

int et_events_since(struct store *base, int64_t after, int64_t limit, struct store_events *res,
                    struct ck_err *err);
int et_subscribe(struct store *base, store_watch_fn fn, void *arg, int64_t *from,
                 struct ck_err *err);
void et_unsubscribe(struct store *base, int id);
/* Stops the stream thread (if any) and frees subscriber state. */
void et_watch_shutdown(struct et_store *s);
/* Waits (at most timeout_ms) until subscribers have been given every event up to rev, so a
 * writer returns only after its events were delivered (as with LMDB). No-op without a stream. */
void et_wait_delivered(struct et_store *s, int64_t rev);

/* ---- etcd.c ---- */

/* Current revision straight from etcd (count-only range). */
int et_fetch_revision(struct et_store *s, int64_t *rev, struct ck_err *err);

#endif
