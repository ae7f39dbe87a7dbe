/* SPDX-License-Identifier: Apache-2.0 */
/* The etcd store backend: store_ops on an etcd v3 cluster through its gRPC-JSON gateway.
 * This file: open/close, txn (one etcd Txn per store txn), get/range, compaction and the
 * revision accessors. Watch-based calls live in etcd_watch.c. See docs/store-etcd.md. */
#include "store/etcd_int.h"

#include "lib/log.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

static struct et_store *ET(struct store *b)
{
    return (struct et_store *)b;
}

/* The etcd TxnRequest: compare MOD == expected (absent keys compare as 0), success ops with
 * prev_kv, and a failure branch that ranges every compared key. */
static int build_txn(struct et_store *s, const struct store_txn *t, struct ck_buf *b)
{
    int rc = ck_buf_appends(b, "{\"compare\":[");
    bool first = true;
    for (size_t i = 0; i < t->ncmps; i++) {
        if (t->cmps[i].mod_revision == STORE_ANY)
            continue;
        rc |= ck_buf_appends(b, first ? "{" : ",{");
        first = false;
        rc |= et_json_key(s, b, "key", t->cmps[i].key, t->cmps[i].key_len);
        rc |=
            ck_buf_appendf(b, ",\"target\":\"MOD\",\"result\":\"EQUAL\",\"mod_revision\":\"%lld\"}",
                           (long long)t->cmps[i].mod_revision);
    }
    rc |= ck_buf_appends(b, "],\"success\":[");
    for (size_t i = 0; i < t->nops; i++) {
        const struct store_op *op = &t->ops[i];
        rc |= ck_buf_appends(b, i ? "," : "");
        rc |= ck_buf_appends(b, op->type == STORE_OP_PUT ? "{\"request_put\":{"
                                                         : "{\"request_delete_range\":{");
        rc |= et_json_key(s, b, "key", op->key, op->key_len);
        if (op->type == STORE_OP_PUT) {
            rc |= ck_buf_appends(b, ",\"value\":\"");
            rc |= et_b64_append(b, op->value, op->value_len);
            rc |= ck_buf_appendc(b, '"');
        }
        rc |= ck_buf_appends(b, ",\"prev_kv\":true}}");
    }
    rc |= ck_buf_appends(b, "],\"failure\":[");
    first = true;
    for (size_t i = 0; i < t->ncmps; i++) {
        if (t->cmps[i].mod_revision == STORE_ANY)
            continue;
        rc |= ck_buf_appends(b, first ? "{\"request_range\":{" : ",{\"request_range\":{");
        first = false;
        rc |= et_json_key(s, b, "key", t->cmps[i].key, t->cmps[i].key_len);
        rc |= ck_buf_appends(b, "}}");
    }
    rc |= ck_buf_appends(b, "]}");
    return rc ? -1 : 0;
}

/* The first kv of a response's "kvs"/"prev_kvs" array (or "prev_kv" object) into *kv. */
static void first_kv(struct et_store *s, json_t *r, const char *name, struct store_kv *kv)
{
    json_t *v = json_object_get(r, name);
    if (json_is_array(v))
        v = json_array_get(v, 0);
    if (json_is_object(v) && et_kv_from_json(s, v, kv) == 0)
        return;
    memset(kv, 0, sizeof(*kv));
}

static void txn_fill(struct et_store *s, const struct store_txn *t, json_t *j,
                     struct store_txn_result *res)
{
    json_t *resps = json_object_get(j, "responses");
    res->succeeded = json_is_true(json_object_get(j, "succeeded"));
    res->revision = et_json_int(json_object_get(j, "header"), "revision");
    if (res->succeeded) {
        res->nprev = t->nops;
        res->prev = t->nops ? ck_calloc(t->nops, sizeof(*res->prev)) : NULL;
        for (size_t i = 0; i < t->nops; i++) {
            json_t *r = json_array_get(resps, i);
            if (t->ops[i].type == STORE_OP_PUT)
                first_kv(s, json_object_get(r, "response_put"), "prev_kv", &res->prev[i]);
            else
                first_kv(s, json_object_get(r, "response_delete_range"), "prev_kvs", &res->prev[i]);
        }
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < t->ncmps; i++) {
        if (t->cmps[i].mod_revision == STORE_ANY)
            continue;
        struct store_kv kv;
        first_kv(s, json_object_get(json_array_get(resps, k++), "response_range"), "kvs", &kv);
        int64_t mod = kv.key ? kv.mod_revision : 0;
        if (mod != t->cmps[i].mod_revision) {
            res->failed_cmp = i;
            res->failed_exists = kv.key != NULL;
            res->failed_kv = kv;
            return;
        }
        store_kv_release(&kv);
    }
}

/* Whether the committed txn changed anything (then its revision has events in our prefix). */
static bool txn_wrote(const struct store_txn *t, const struct store_txn_result *res)
{
    for (size_t i = 0; i < t->nops; i++)
        if (t->ops[i].type == STORE_OP_PUT || (i < res->nprev && res->prev[i].key))
            return true;
    return false;
}

static int et_txn(struct store *base, const struct store_txn *t, struct store_txn_result *res,
                  struct ck_err *err)
{
    struct et_store *s = ET(base);
    memset(res, 0, sizeof(*res));
    if (store_txn_validate(t, ET_TXN_MAX_OPS, ET_KEY_MAX, ET_VALUE_MAX, err) < 0)
        return -1;
    struct ck_buf b = CK_BUF_INIT(ET_BODY_MAX);
    if (build_txn(s, t, &b) < 0) {
        ck_buf_release(&b);
        return ck_err_set(err, CK_R_TOO_LARGE, "store: txn too large");
    }
    json_t *j;
    int rc = et_call(s, "/v3/kv/txn", &b, &j, err);
    ck_buf_release(&b);
    if (rc < 0)
        return -1;
    txn_fill(s, t, j, res);
    json_decref(j);
    if (res->succeeded && txn_wrote(t, res))
        et_wait_delivered(s, res->revision);
    return 0;
}

static bool start_above_prefix(const struct store_range_req *r)
{
    size_t n = r->start_len < r->prefix_len ? r->start_len : r->prefix_len;
    int c = n ? memcmp(r->start, r->prefix, n) : 0;
    return c > 0 || (c == 0 && r->start_len > r->prefix_len);
}

/* One range request; kvs converted (keys outside the prefix are skipped). */
static int range_call(struct et_store *s, const struct store_range_req *r, bool count_only,
                      bool from_start, json_t **out, struct ck_err *err)
{
    struct ck_buf b = CK_BUF_INIT(4096);
    int rc = ck_buf_appends(&b, "{");
    /* keys in [start, prefix_end): a start below the prefix means the whole prefix */
    if (from_start && r->start && start_above_prefix(r))
        rc |= et_json_key(s, &b, "key", r->start, r->start_len);
    else
        rc |= et_json_key(s, &b, "key", r->prefix, r->prefix_len);
    rc |= ck_buf_appendc(&b, ',');
    rc |= et_json_range_end(s, &b, r->prefix, r->prefix_len);
    if (r->revision)
        rc |= ck_buf_appendf(&b, ",\"revision\":\"%lld\"", (long long)r->revision);
    if (r->limit && !count_only)
        rc |= ck_buf_appendf(&b, ",\"limit\":\"%lld\"", (long long)r->limit);
    if (count_only)
        rc |= ck_buf_appends(&b, ",\"count_only\":true");
    rc |= ck_buf_appends(&b, "}");
    if (rc) {
        ck_buf_release(&b);
        return ck_err_set(err, CK_R_BAD_REQUEST, "store: range: request too large");
    }
    rc = et_call(s, "/v3/kv/range", &b, out, err);
    ck_buf_release(&b);
    if (rc < 0 && err && err->reason == CK_R_COMPACTED)
        et_probe_compacted(s, NULL);
    return rc;
}

static int check_rev(struct et_store *s, int64_t rev, struct ck_err *err)
{
    if (rev < 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "store: negative revision %lld", (long long)rev);
    int64_t comp = atomic_load(&s->compacted_rev);
    if (rev && rev < comp)
        return ck_err_set(err, CK_R_COMPACTED, "%s (requested %lld, compacted %lld)",
                          ET_COMPACTED_MSG, (long long)rev, (long long)comp);
    return 0;
}

static int et_range(struct store *base, const struct store_range_req *r,
                    struct store_range_result *res, struct ck_err *err)
{
    struct et_store *s = ET(base);
    memset(res, 0, sizeof(*res));
    if (!r || (r->prefix_len && !r->prefix) || (r->start_len && !r->start) || r->limit < 0 ||
        r->prefix_len > ET_KEY_MAX || r->start_len > ET_KEY_MAX)
        return ck_err_set(err, CK_R_BAD_REQUEST, "store: range: bad request");
    if (check_rev(s, r->revision, err) < 0)
        return -1;
    json_t *j;
    if (range_call(s, r, r->count_only, true, &j, err) < 0)
        return -1;
    res->revision = et_json_int(json_object_get(j, "header"), "revision");
    res->count = et_json_int(j, "count");
    res->more = json_is_true(json_object_get(j, "more"));
    json_t *kvs = json_object_get(j, "kvs");
    size_t n = json_array_size(kvs);
    res->kvs = n ? ck_calloc(n, sizeof(*res->kvs)) : NULL;
    for (size_t i = 0; i < n; i++)
        if (et_kv_from_json(s, json_array_get(kvs, i), &res->kvs[res->nkvs]) == 0)
            res->nkvs++;
    json_decref(j);
    if (r->start && r->start_len) {
        /* count covers the whole prefix, read at the same revision */
        struct store_range_req whole = *r;
        whole.start = NULL;
        whole.start_len = 0;
        whole.revision = r->revision ? r->revision : res->revision;
        if (range_call(s, &whole, true, false, &j, err) < 0) {
            store_range_result_release(res);
            return -1;
        }
        res->count = et_json_int(j, "count");
        json_decref(j);
    }
    if (r->revision)
        res->revision = r->revision;
    return 0;
}

static int et_get(struct store *base, const char *key, size_t key_len, int64_t revision,
                  struct store_kv *out, bool *found, struct ck_err *err)
{
    struct et_store *s = ET(base);
    memset(out, 0, sizeof(*out));
    *found = false;
    if (store_key_check(key, key_len, "get", 0, ET_KEY_MAX, err) < 0 || check_rev(s, revision, err) < 0)
        return -1;
    struct ck_buf b = CK_BUF_INIT(4096);
    ck_buf_appends(&b, "{");
    et_json_key(s, &b, "key", key, key_len);
    if (revision)
        ck_buf_appendf(&b, ",\"revision\":\"%lld\"", (long long)revision);
    ck_buf_appends(&b, "}");
    json_t *j;
    int rc = et_call(s, "/v3/kv/range", &b, &j, err);
    ck_buf_release(&b);
    if (rc < 0) {
        if (err && err->reason == CK_R_COMPACTED)
            et_probe_compacted(s, NULL);
        return -1;
    }
    first_kv(s, j, "kvs", out);
    *found = out->key != NULL;
    json_decref(j);
    return 0;
}

int et_fetch_revision(struct et_store *s, int64_t *rev, struct ck_err *err)
{
    struct ck_buf b = CK_BUF_INIT(4096);
    ck_buf_appends(&b, "{");
    et_json_key(s, &b, "key", "", 0);
    ck_buf_appends(&b, ",\"count_only\":true}");
    json_t *j;
    int rc = et_call(s, "/v3/kv/range", &b, &j, err);
    ck_buf_release(&b);
    if (rc < 0)
        return -1;
    *rev = et_json_int(json_object_get(j, "header"), "revision");
    json_decref(j);
    return 0;
}

static int et_compact(struct store *base, int64_t revision, struct ck_err *err)
{
    struct et_store *s = ET(base);
    int64_t cur;
    if (revision <= 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "store: compact: bad revision %lld",
                          (long long)revision);
    if (et_fetch_revision(s, &cur, err) < 0)
        return -1;
    if (revision > cur)
        return ck_err_set(err, CK_R_BAD_REQUEST, "%s (compact %lld, current %lld)", ET_FUTURE_MSG,
                          (long long)revision, (long long)cur);
    struct ck_buf b = CK_BUF_INIT(256);
    ck_buf_appendf(&b, "{\"revision\":\"%lld\"}", (long long)revision);
    json_t *j;
    int rc = et_call(s, "/v3/kv/compaction", &b, &j, err);
    ck_buf_release(&b);
    if (rc < 0) {
        if (err && err->reason == CK_R_COMPACTED)
            et_probe_compacted(s, NULL);
        return -1;
    }
    json_decref(j);
    et_saw_compacted(s, revision);
    return 0;
}

static int64_t et_current_revision(struct store *base)
{
    struct et_store *s = ET(base);
    int64_t rev;
    if (et_fetch_revision(s, &rev, NULL) == 0)
        return rev;
    return atomic_load(&s->cur_rev);
}

static int64_t et_compacted_revision(struct store *base)
{
    return atomic_load(&ET(base)->compacted_rev);
}

static void et_free(struct et_store *s)
{
    for (size_t i = 0; i < s->nendpoints; i++)
        free(s->endpoints[i]);
    for (size_t i = 0; i < s->npool; i++)
        curl_easy_cleanup(s->pool[i]);
    free(s->prefix);
    free(s->ca_file);
    free(s->cert_file);
    free(s->key_file);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_mutex_destroy(&s->sub_mu);
    pthread_cond_destroy(&s->sub_cv);
    free(s);
}

static void et_close(struct store *base)
{
    struct et_store *s = ET(base);
    et_watch_shutdown(s);
    et_free(s);
}

static const struct store_ops et_ops = {
    .name = "etcd",
    .version = 1,
    .txn = et_txn,
    .get = et_get,
    .range = et_range,
    .events_since = et_events_since,
    .compact = et_compact,
    .current_revision = et_current_revision,
    .compacted_revision = et_compacted_revision,
    .subscribe = et_subscribe,
    .unsubscribe = et_unsubscribe,
    .close = et_close,
};

static int parse_endpoints(struct et_store *s, const char *list, struct ck_err *err)
{
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && p[n - 1] == '/')
            n--;
        if (n) {
            if (s->nendpoints == ET_MAX_ENDPOINTS)
                return ck_err_set(err, CK_R_BAD_REQUEST, "etcd: more than %d endpoints",
                                  ET_MAX_ENDPOINTS);
            if (!(n > 7 && !strncmp(p, "http://", 7)) && !(n > 8 && !strncmp(p, "https://", 8)))
                return ck_err_set(err, CK_R_BAD_REQUEST,
                                  "etcd: endpoint %.*s is not an http(s):// URL", (int)n, p);
            s->endpoints[s->nendpoints++] = ck_strndup(p, n);
        }
        p = e ? e + 1 : p + n;
    }
    if (!s->nendpoints)
        return ck_err_set(err, CK_R_BAD_REQUEST, "etcd: no endpoints given");
    return 0;
}

int store_etcd_open(const struct store_etcd_opts *o, struct store **out, struct ck_err *err)
{
    *out = NULL;
    if (!o || !o->endpoints)
        return ck_err_set(err, CK_R_BAD_REQUEST, "etcd: no endpoints given");
    const char *prefix = o->prefix ? o->prefix : "/ckube";
    if (!*prefix || strlen(prefix) > ET_PREFIX_MAX)
        return ck_err_set(err, CK_R_BAD_REQUEST, "etcd: prefix must be 1..%d bytes", ET_PREFIX_MAX);
    struct et_store *s = ck_calloc(1, sizeof(*s));
    s->base.ops = &et_ops;
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_mutex_init(&s->sub_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->sub_cv, &ca);
    pthread_condattr_destroy(&ca);
    s->prefix = ck_strdup(prefix);
    s->prefix_len = strlen(prefix);
    s->ca_file = o->ca_file ? ck_strdup(o->ca_file) : NULL;
    s->cert_file = o->cert_file ? ck_strdup(o->cert_file) : NULL;
    s->key_file = o->key_file ? ck_strdup(o->key_file) : NULL;
    s->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
    int64_t rev;
    if (parse_endpoints(s, o->endpoints, err) < 0 || et_fetch_revision(s, &rev, err) < 0 ||
        et_probe_compacted(s, err) < 0) {
        et_free(s);
        return -1;
    }
    ck_info("store: etcd at %s (prefix %s), revision %lld, compacted %lld", s->endpoints[0],
            s->prefix, (long long)rev, (long long)atomic_load(&s->compacted_rev));
    *out = &s->base;
    return 0;
}
