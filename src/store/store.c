/* SPDX-License-Identifier: Apache-2.0 */
/* Backend-independent part of the store: the one-op convenience wrappers (put/delete with
 * their Kubernetes error reasons), forwarding wrappers, and the release/copy helpers. */
#include "store/store.h"

#include "lib/buf.h"
#include "lib/metrics.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

void store_kv_release(struct store_kv *kv)
{
    if (!kv)
        return;
    free(kv->key);
    free(kv->value);
    memset(kv, 0, sizeof(*kv));
}

void store_kv_copy(struct store_kv *dst, const struct store_kv *src)
{
    struct store_kv tmp = *src;
    tmp.key = NULL;
    tmp.value = NULL;
    if (src->key) {
        tmp.key = ck_malloc(src->key_len + 1);
        memcpy(tmp.key, src->key, src->key_len);
        tmp.key[src->key_len] = 0;
    }
    if (src->key || src->value) {
        tmp.value = ck_malloc(src->value_len + 1);
        if (src->value_len)
            memcpy(tmp.value, src->value, src->value_len);
        ((char *)tmp.value)[src->value_len] = 0;
    }
    *dst = tmp;
}

void store_txn_result_release(struct store_txn_result *r)
{
    if (!r)
        return;
    store_kv_release(&r->failed_kv);
    for (size_t i = 0; i < r->nprev; i++)
        store_kv_release(&r->prev[i]);
    free(r->prev);
    memset(r, 0, sizeof(*r));
}

void store_range_result_release(struct store_range_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->kvs && i < r->nkvs; i++) /* (no kvs: a store_range_each result) */
        store_kv_release(&r->kvs[i]);
    free(r->kvs);
    memset(r, 0, sizeof(*r));
}

void store_events_release(struct store_events *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nevents; i++) {
        store_kv_release(&r->events[i].kv);
        store_kv_release(&r->events[i].prev);
    }
    free(r->events);
    memset(r, 0, sizeof(*r));
}

/* Moves a txn result's prev[0] into *prev (when wanted) and releases the rest. */
static void take_prev(struct store_txn_result *res, struct store_kv *prev)
{
    if (prev) {
        memset(prev, 0, sizeof(*prev));
        if (res->nprev > 0 && res->prev[0].key) {
            *prev = res->prev[0];
            memset(&res->prev[0], 0, sizeof(res->prev[0]));
        }
    }
    store_txn_result_release(res);
}

/* Turns a failed precondition into the reason the wrappers promise. */
static int cmp_failed(struct store_txn_result *res, const char *key, size_t key_len, int64_t expect,
                      struct ck_err *err)
{
    int keyw = key_len > 200 ? 200 : (int)key_len;
    int rc;
    if (expect == STORE_ABSENT)
        rc = ck_err_set(err, CK_R_ALREADY_EXISTS, "key %.*s already exists", keyw, key);
    else if (!res->failed_exists)
        rc = ck_err_set(err, CK_R_NOT_FOUND, "key %.*s not found", keyw, key);
    else
        rc = ck_err_set(err, CK_R_CONFLICT, "key %.*s: expected mod_revision %lld, found %lld",
                        keyw, key, (long long)expect, (long long)res->failed_kv.mod_revision);
    store_txn_result_release(res);
    return rc;
}

/* ---- etcd_request_duration_seconds ---- */

static const char *const req_labels[] = {"operation", "type", NULL};
static const double req_buckets[] = {0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5,
                                     2,     3,     4,    5,   6,   8,   10,  15,  20,  30,  45,
                                     60};
static struct ck_mfam req_duration =
    CK_MFAM_INIT("etcd_request_duration_seconds",
                 "Etcd request latency in seconds for each operation and object type.",
                 CK_MHISTOGRAM, req_labels, req_buckets, sizeof(req_buckets) / sizeof(double));
static struct ck_mfam req_total =
    CK_MFAM_INIT("etcd_requests_total", "Etcd request counts for each operation and object type.",
                 CK_MCOUNTER, req_labels, NULL, 0);

/* Up to n bytes of the path segment at *p (advancing *p past its '/'). */
static size_t segment(const char **p, const char *end, char *out, size_t n)
{
    size_t k = 0;
    while (*p < end && **p != '/') {
        if (k + 1 < n)
            out[k++] = **p;
        (*p)++;
    }
    if (*p < end)
        (*p)++;
    out[k] = '\0';
    return k;
}

/* type: upstream's group-resource ("pods", "leases.coordination.k8s.io") from the engine's
 * "/registry/<group|core>/<plural>/..." keys; other keys report their first segment. */
static void observe(const char *op, const char *key, size_t key_len, int64_t t0)
{
    char group[64], plural[64], type[130];
    const char *p = key, *end = key + key_len;
    if (key_len > 10 && !strncmp(key, "/registry/", 10))
        p += 10;
    else if (key_len && *p == '/')
        p++;
    segment(&p, end, group, sizeof(group));
    if (segment(&p, end, plural, sizeof(plural)) == 0)
        snprintf(type, sizeof(type), "%s", group);
    else if (!strcmp(group, "core"))
        snprintf(type, sizeof(type), "%s", plural);
    else
        snprintf(type, sizeof(type), "%s.%s", plural, group);
    const char *v[] = {op, type};
    ck_mfam_observe(&req_duration, v, (double)(ck_mono_ns() - t0) / 1e9);
    ck_mfam_add(&req_total, v, 1);
}

int store_metrics(struct ck_buf *out)
{
    int rc = ck_mfam_render(&req_duration, out);
    rc |= ck_mfam_render(&req_total, out);
    return rc;
}

static int put_(struct store *s, const char *key, size_t key_len, const void *val, size_t val_len,
                int64_t expect, int64_t *revision, struct store_kv *prev, struct ck_err *err);

int store_put(struct store *s, const char *key, size_t key_len, const void *val, size_t val_len,
              int64_t expect, int64_t *revision, struct store_kv *prev, struct ck_err *err)
{
    int64_t t0 = ck_mono_ns();
    int rc = put_(s, key, key_len, val, val_len, expect, revision, prev, err);
    observe(expect == STORE_ABSENT ? "create" : "update", key, key_len, t0);
    return rc;
}

static int put_(struct store *s, const char *key, size_t key_len, const void *val, size_t val_len,
                int64_t expect, int64_t *revision, struct store_kv *prev, struct ck_err *err)
{
    if (expect < STORE_ANY)
        return ck_err_set(err, CK_R_BAD_REQUEST, "store_put: invalid expected revision %lld",
                          (long long)expect);
    struct store_cmp cmp = {key, key_len, expect};
    struct store_op op = {STORE_OP_PUT, key, key_len, val, val_len};
    struct store_txn t = {&cmp, expect == STORE_ANY ? 0 : 1, &op, 1};
    struct store_txn_result res = {0};
    if (s->ops->txn(s, &t, &res, err) < 0)
        return -1;
    if (!res.succeeded)
        return cmp_failed(&res, key, key_len, expect, err);
    if (revision)
        *revision = res.revision;
    take_prev(&res, prev);
    return 0;
}

static int delete_(struct store *s, const char *key, size_t key_len, int64_t expect,
                   int64_t *revision, struct store_kv *prev, struct ck_err *err);

int store_delete(struct store *s, const char *key, size_t key_len, int64_t expect,
                 int64_t *revision, struct store_kv *prev, struct ck_err *err)
{
    int64_t t0 = ck_mono_ns();
    int rc = delete_(s, key, key_len, expect, revision, prev, err);
    observe("delete", key, key_len, t0);
    return rc;
}

static int delete_(struct store *s, const char *key, size_t key_len, int64_t expect,
                   int64_t *revision, struct store_kv *prev, struct ck_err *err)
{
    if (expect < STORE_ANY || expect == STORE_ABSENT)
        return ck_err_set(err, CK_R_BAD_REQUEST, "store_delete: invalid expected revision %lld",
                          (long long)expect);
    struct store_cmp cmp = {key, key_len, expect};
    struct store_op op = {STORE_OP_DELETE, key, key_len, NULL, 0};
    struct store_txn t = {&cmp, expect == STORE_ANY ? 0 : 1, &op, 1};
    struct store_txn_result res = {0};
    if (s->ops->txn(s, &t, &res, err) < 0)
        return -1;
    if (!res.succeeded)
        return cmp_failed(&res, key, key_len, expect, err);
    if (res.nprev < 1 || !res.prev[0].key) {
        store_txn_result_release(&res);
        int keyw = key_len > 200 ? 200 : (int)key_len;
        return ck_err_set(err, CK_R_NOT_FOUND, "key %.*s not found", keyw, key);
    }
    if (revision)
        *revision = res.revision;
    take_prev(&res, prev);
    return 0;
}

int store_get(struct store *s, const char *key, size_t key_len, int64_t revision,
              struct store_kv *out, bool *found, struct ck_err *err)
{
    int64_t t0 = ck_mono_ns();
    int rc = s->ops->get(s, key, key_len, revision, out, found, err);
    observe("get", key, key_len, t0);
    return rc;
}

int store_range(struct store *s, const struct store_range_req *r, struct store_range_result *res,
                struct ck_err *err)
{
    int64_t t0 = ck_mono_ns();
    int rc = s->ops->range(s, r, res, err);
    observe(r->count_only ? "count" : "list", r->prefix, r->prefix_len, t0);
    return rc;
}

int store_range_each(struct store *s, const struct store_range_req *r, store_range_fn fn,
                     void *arg, struct store_range_result *res, struct ck_err *err)
{
    int64_t t0 = ck_mono_ns();
    int rc;
    if (s->ops->range_each) {
        rc = s->ops->range_each(s, r, fn, arg, res, err);
    } else if ((rc = s->ops->range(s, r, res, err)) == 0) {
        for (size_t i = 0; i < res->nkvs && rc == 0; i++)
            rc = fn(arg, &res->kvs[i], err);
        for (size_t i = 0; i < res->nkvs; i++)
            store_kv_release(&res->kvs[i]);
        free(res->kvs);
        res->kvs = NULL;
        rc = rc < 0 ? -1 : 0;
    }
    if (rc < 0)
        memset(res, 0, sizeof(*res));
    observe(r->count_only ? "count" : "list", r->prefix, r->prefix_len, t0);
    return rc;
}

int store_events_since(struct store *s, int64_t after_revision, int64_t limit,
                       struct store_events *res, struct ck_err *err)
{
    return s->ops->events_since(s, after_revision, limit, res, err);
}

int store_compact(struct store *s, int64_t revision, struct ck_err *err)
{
    return s->ops->compact(s, revision, err);
}

int64_t store_current_revision(struct store *s)
{
    return s->ops->current_revision(s);
}

int64_t store_compacted_revision(struct store *s)
{
    return s->ops->compacted_revision(s);
}

int store_subscribe(struct store *s, store_watch_fn fn, void *arg, int64_t *from_revision,
                    struct ck_err *err)
{
    return s->ops->subscribe(s, fn, arg, from_revision, err);
}

void store_unsubscribe(struct store *s, int id)
{
    s->ops->unsubscribe(s, id);
}

void store_close(struct store *s)
{
    if (s)
        s->ops->close(s);
}

/* ---- shared by the backends ---- */

int store_key_check(const char *key, size_t key_len, const char *what, size_t i,
                    size_t max_key, struct ck_err *err)
{
    if (!key || key_len == 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "store: %s %zu: empty key", what, i);
    if (key_len > max_key)
        return ck_err_set(err, CK_R_BAD_REQUEST, "store: %s %zu: key of %zu bytes exceeds %zu", what,
                          i, key_len, max_key);
    return 0;
}

int store_txn_validate(const struct store_txn *t, size_t max_ops, size_t max_key,
                       size_t max_value, struct ck_err *err)
{
    if (!t || t->ncmps > max_ops || t->nops > max_ops || (t->ncmps && !t->cmps) ||
        (t->nops && !t->ops))
        return ck_err_set(err, CK_R_BAD_REQUEST, "store: txn has too many (max %zu) or missing ops",
                          max_ops);
    for (size_t i = 0; i < t->ncmps; i++) {
        if (store_key_check(t->cmps[i].key, t->cmps[i].key_len, "cmp", i, max_key, err) < 0)
            return -1;
        if (t->cmps[i].mod_revision < STORE_ANY)
            return ck_err_set(err, CK_R_BAD_REQUEST, "store: cmp %zu: bad mod_revision", i);
    }
    for (size_t i = 0; i < t->nops; i++) {
        const struct store_op *op = &t->ops[i];
        if (store_key_check(op->key, op->key_len, "op", i, max_key, err) < 0)
            return -1;
        if (op->type != STORE_OP_PUT && op->type != STORE_OP_DELETE)
            return ck_err_set(err, CK_R_BAD_REQUEST, "store: op %zu: unknown type %d", i, op->type);
        if (op->type == STORE_OP_PUT && op->value_len > max_value)
            return ck_err_set(err, CK_R_TOO_LARGE, "store: op %zu: value of %zu bytes exceeds %zu",
                              i, op->value_len, max_value);
        if (op->type == STORE_OP_PUT && op->value_len && !op->value)
            return ck_err_set(err, CK_R_BAD_REQUEST, "store: op %zu: missing value", i);
        for (size_t j = 0; j < i; j++)
            if (t->ops[j].key_len == op->key_len && !memcmp(t->ops[j].key, op->key, op->key_len))
                return ck_err_set(err, CK_R_BAD_REQUEST, "store: op %zu: duplicate key in txn", i);
    }
    return 0;
}

