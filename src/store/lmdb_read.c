/* SPDX-License-Identifier: Apache-2.0 */
/* The LMDB backend's read path (get, range, events_since: each one LMDB read snapshot, latest
 * reads from the live-key index, past reads from the history index) and compaction (drops
 * history at or below a revision in bounded write txns). */
#include "store/lmdb_int.h"

#include "lib/buf.h"
#include "lib/log.h"

#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define LM_COMPACTED_MSG "mvcc: required revision has been compacted"
#define LM_FUTURE_MSG "mvcc: required revision is a future revision"

/* A read snapshot with the revisions it was taken at. */
struct lm_snap {
    MDB_txn *txn;
    int64_t cur;
    int64_t compacted;
};

static int snap_begin(struct lm_store *s, struct lm_snap *sn, struct ck_err *err)
{
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &sn->txn);
    if (rc)
        return lm_err(s, err, rc, "beginning read txn");
    if (lm_meta_get(s, sn->txn, "rev", &sn->cur, err) < 0 ||
        lm_meta_get(s, sn->txn, "compacted", &sn->compacted, err) < 0) {
        mdb_txn_abort(sn->txn);
        return -1;
    }
    return 0;
}

/* Checks a read revision against the snapshot: 0 means latest. */
static int snap_check_rev(const struct lm_snap *sn, int64_t rev, struct ck_err *err)
{
    if (rev < 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "store: negative revision %lld", (long long)rev);
    if (rev > sn->cur)
        return ck_err_set(err, CK_R_TIMEOUT, "%s (requested %lld, current %lld)", LM_FUTURE_MSG,
                          (long long)rev, (long long)sn->cur);
    if (rev != 0 && rev < sn->compacted)
        return ck_err_set(err, CK_R_COMPACTED, "%s (requested %lld, compacted %lld)",
                          LM_COMPACTED_MSG, (long long)rev, (long long)sn->compacted);
    return 0;
}

/* Finds key's state as of rev (0 = latest); *rec is set only when the key is live. */
static int read_at(struct lm_store *s, MDB_txn *txn, MDB_cursor *hc, const char *key,
                   size_t key_len, int64_t rev, struct store_record *rec, bool *live,
                   struct ck_err *err)
{
    *live = false;
    if (rev == 0) {
        struct store_ptr p;
        if (lm_ptr_get(s, txn, key, key_len, &p, live, err) < 0)
            return -1;
        return *live ? lm_load(s, txn, p.mod_revision, p.sub, rec, err) : 0;
    }
    struct store_hist h;
    bool found;
    if (lm_hist_find_le(s, hc, key, key_len, rev, &h, &found, err) < 0)
        return -1;
    if (!found || h.type != STORE_EVENT_PUT)
        return 0;
    *live = true;
    return lm_load(s, txn, h.revision, h.sub, rec, err);
}

int lm_get(struct store *base, const char *key, size_t key_len, int64_t revision,
           struct store_kv *out, bool *found, struct ck_err *err)
{
    struct lm_store *s = (struct lm_store *)base;
    struct lm_snap sn;
    memset(out, 0, sizeof(*out));
    *found = false;
    if (!key || key_len == 0 || key_len > STORE_KEY_MAX)
        return ck_err_set(err, CK_R_BAD_REQUEST, "store: get: key must be 1..%d bytes",
                          STORE_KEY_MAX);
    if (snap_begin(s, &sn, err) < 0)
        return -1;
    MDB_cursor *hc = NULL;
    int rc = snap_check_rev(&sn, revision, err);
    if (rc == 0 && revision == sn.cur)
        revision = 0;
    if (rc == 0 && revision != 0 && (rc = mdb_cursor_open(sn.txn, s->hist, &hc)) != 0)
        rc = lm_err(s, err, rc, "opening history cursor");
    struct store_record rec;
    if (rc == 0)
        rc = read_at(s, sn.txn, hc, key, key_len, revision, &rec, found, err);
    if (rc == 0 && *found)
        lm_kv_from_record(&rec, out);
    if (hc)
        mdb_cursor_close(hc);
    mdb_txn_abort(sn.txn);
    return rc < 0 ? -1 : 0;
}

/* ---- range ------------------------------------------------------------------------------ */

struct lm_range_ctx {
    struct lm_store *s;
    const struct store_range_req *r;
    struct store_range_result *res;
    store_range_fn fn; /* NULL: copy each pair into res->kvs */
    void *arg;
    MDB_cursor *lc; /* the log, read near the cursor's last record where it can */
    size_t cap;
    size_t taken;
    size_t bytes; /* values visited, for lm_touch */
};

static bool has_prefix(const MDB_val *k, const struct store_range_req *r)
{
    return k->mv_size >= r->prefix_len && !memcmp(k->mv_data, r->prefix, r->prefix_len);
}

static bool before_start(const MDB_val *k, const struct store_range_req *r)
{
    if (!r->start)
        return false;
    size_t n = k->mv_size < r->start_len ? k->mv_size : r->start_len;
    int c = memcmp(k->mv_data, r->start, n);
    return c < 0 || (c == 0 && k->mv_size < r->start_len);
}

/* Passes a pair of the page on (or copies it out). */
static int range_emit(struct lm_range_ctx *c, const struct store_kv *kv, struct ck_err *err)
{
    struct store_range_result *res = c->res;
    c->taken++;
    c->bytes += kv->value_len;
    if (c->fn)
        return c->fn(c->arg, kv, err) < 0 ? -1 : 0;
    if (res->nkvs == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        res->kvs = ck_realloc(res->kvs, c->cap * sizeof(*res->kvs));
    }
    store_kv_copy(&res->kvs[res->nkvs++], kv);
    return 0;
}

/* Counts a live key; true if it belongs in the page (else it may set more). */
static bool range_wants(struct lm_range_ctx *c, const MDB_val *k, size_t taken)
{
    c->res->count++;
    if (c->r->count_only || before_start(k, c->r))
        return false;
    if (c->r->limit > 0 && taken >= (size_t)c->r->limit) {
        c->res->more = true;
        return false;
    }
    return true;
}

static int range_take(struct lm_range_ctx *c, const MDB_val *k, const struct store_record *rec,
                      struct ck_err *err)
{
    if (!range_wants(c, k, c->taken))
        return 0;
    struct store_kv kv = {
        .key = (char *)rec->key,
        .key_len = rec->key_len,
        .value = (void *)rec->value,
        .value_len = rec->value_len,
        .create_revision = rec->create_revision,
        .mod_revision = rec->revision,
        .version = rec->version,
    };
    return range_emit(c, &kv, err);
}

/* ---- latest reads: the key index, then the log in log order ---- */

/* A record to load, in log order: its revision, sub and position in key order. */
struct lm_fetch {
    int64_t rev;
    uint32_t sub;
    uint32_t idx;
};

static int fetch_cmp(const void *a, const void *b)
{
    const struct lm_fetch *x = a, *y = b;
    if (x->rev != y->rev)
        return x->rev < y->rev ? -1 : 1;
    return x->sub < y->sub ? -1 : x->sub > y->sub;
}

/* Loads the page's records in log order (nearby records share log pages, so the log is read
 * mostly front to back rather than at random), then passes them on in key order. kvs[i].key
 * aliases the key index; value and counters come from the record. */
static int range_load_emit(struct lm_range_ctx *c, struct store_kv *kvs, struct lm_fetch *f,
                           size_t n, struct ck_err *err)
{
    qsort(f, n, sizeof(*f), fetch_cmp);
    for (size_t i = 0; i < n; i++) {
        struct store_record rec;
        struct store_kv *kv = &kvs[f[i].idx];
        if (lm_load_cursor(c->s, c->lc, f[i].rev, f[i].sub, &rec, err) < 0)
            return -1;
        if (rec.type != STORE_EVENT_PUT || rec.key_len != kv->key_len)
            return ck_err_set(err, CK_R_CORRUPT,
                              "store %s: log record %lld.%u is not the key index's state",
                              c->s->datafile, (long long)f[i].rev, f[i].sub);
        kv->value = (void *)rec.value;
        kv->value_len = rec.value_len;
        kv->create_revision = rec.create_revision;
        kv->version = rec.version;
    }
    for (size_t i = 0; i < n; i++)
        if (range_emit(c, &kvs[i], err) < 0)
            return -1;
    return 0;
}

/* Walks the live-key index over the prefix, collecting the page's keys and record locations. */
static int range_scan_latest(struct lm_range_ctx *c, MDB_txn *txn, struct ck_err *err)
{
    struct lm_store *s = c->s;
    const struct store_range_req *r = c->r;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, s->keys, &cur);
    if (rc)
        return lm_err(s, err, rc, "opening range cursor");
    struct store_kv *kvs = NULL;
    struct lm_fetch *f = NULL;
    size_t n = 0, cap = 0;
    MDB_val k = {r->prefix_len, (void *)r->prefix}, v;
    int out = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, r->prefix_len ? MDB_SET_RANGE : MDB_FIRST);
         rc == 0 && has_prefix(&k, r); rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct store_ptr p;
        if (store_ptr_decode(v.mv_data, v.mv_size, &p, err) < 0) {
            out = ck_err_wrap(err, "store %s: ", s->datafile);
            break;
        }
        if (!range_wants(c, &k, n))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            kvs = ck_realloc(kvs, cap * sizeof(*kvs));
            f = ck_realloc(f, cap * sizeof(*f));
        }
        kvs[n] = (struct store_kv){
            .key = k.mv_data, .key_len = k.mv_size, .mod_revision = p.mod_revision};
        f[n] = (struct lm_fetch){p.mod_revision, p.sub, (uint32_t)n};
        n++;
    }
    mdb_cursor_close(cur);
    if (out == 0 && rc != 0 && rc != MDB_NOTFOUND)
        out = lm_err(s, err, rc, "scanning range");
    if (out == 0 && n > UINT32_MAX)
        out = ck_err_set(err, CK_R_TOO_LARGE, "store: range: more than 2^32 keys");
    if (out == 0 && n > 0) {
        if ((rc = mdb_cursor_open(txn, s->log, &c->lc)) != 0) {
            out = lm_err(s, err, rc, "opening log cursor");
        } else {
            out = range_load_emit(c, kvs, f, n, err);
            mdb_cursor_close(c->lc);
            c->lc = NULL;
        }
    }
    free(kvs);
    free(f);
    return out;
}

/* Walks the history index over the prefix for a past revision. */
static int range_scan(struct lm_range_ctx *c, MDB_txn *txn, int64_t rev, struct ck_err *err)
{
    struct lm_store *s = c->s;
    const struct store_range_req *r = c->r;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, s->hist, &cur);
    if (rc)
        return lm_err(s, err, rc, "opening range cursor");
    if ((rc = mdb_cursor_open(txn, s->log, &c->lc)) != 0) {
        mdb_cursor_close(cur);
        return lm_err(s, err, rc, "opening log cursor");
    }
    MDB_val k = {r->prefix_len, (void *)r->prefix}, v;
    rc = mdb_cursor_get(cur, &k, &v, r->prefix_len ? MDB_SET_RANGE : MDB_FIRST);
    int out = 0;
    while (rc == 0 && has_prefix(&k, r)) {
        struct store_record rec;
        bool live = false;
        bool need = !r->count_only && !before_start(&k, r);
        MDB_val key = k;
        struct store_hist h;
        if (lm_hist_find_le(s, cur, key.mv_data, key.mv_size, rev, &h, &live, err) < 0 ||
            (live && h.type == STORE_EVENT_PUT && need &&
             lm_load_cursor(s, c->lc, h.revision, h.sub, &rec, err) < 0)) {
            out = -1;
            break;
        }
        live = live && h.type == STORE_EVENT_PUT;
        k = key;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET);
        if (rc)
            break;
        if (live && range_take(c, &k, &rec, err) < 0) {
            out = -1;
            break;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_NODUP);
    }
    mdb_cursor_close(c->lc);
    c->lc = NULL;
    mdb_cursor_close(cur);
    if (out == 0 && rc != 0 && rc != MDB_NOTFOUND)
        out = lm_err(s, err, rc, "scanning range");
    return out;
}

static int range_run(struct lm_store *s, const struct store_range_req *r, store_range_fn fn,
                     void *arg, struct store_range_result *res, struct ck_err *err)
{
    memset(res, 0, sizeof(*res));
    if (!r || (r->prefix_len && !r->prefix) || (r->start_len && !r->start) || r->limit < 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "store: range: bad request");
    struct lm_snap sn;
    if (snap_begin(s, &sn, err) < 0)
        return -1;
    int rc = snap_check_rev(&sn, r->revision, err);
    res->revision = r->revision ? r->revision : sn.cur;
    struct lm_range_ctx c = {.s = s, .r = r, .res = res, .fn = fn, .arg = arg};
    if (rc == 0 && r->prefix_len > STORE_KEY_MAX) {
        /* no key is that long: an empty range */
    } else if (rc == 0) {
        int64_t rev = r->revision == sn.cur ? 0 : r->revision;
        rc = rev ? range_scan(&c, sn.txn, rev, err) : range_scan_latest(&c, sn.txn, err);
    }
    mdb_txn_abort(sn.txn);
    if (rc < 0) {
        store_range_result_release(res);
        return -1;
    }
    if (fn)
        res->nkvs = c.taken;
    lm_touch(s, c.bytes);
    return 0;
}

int lm_range(struct store *base, const struct store_range_req *r, struct store_range_result *res,
             struct ck_err *err)
{
    return range_run((struct lm_store *)base, r, NULL, NULL, res, err);
}

int lm_range_each(struct store *base, const struct store_range_req *r, store_range_fn fn, void *arg,
                  struct store_range_result *res, struct ck_err *err)
{
    if (!fn) {
        memset(res, 0, sizeof(*res));
        return ck_err_set(err, CK_R_BAD_REQUEST, "store: range: no callback");
    }
    return range_run((struct lm_store *)base, r, fn, arg, res, err);
}

/* ---- events ----------------------------------------------------------------------------- */

static int event_from_log(struct lm_store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                          struct store_event *ev, struct ck_err *err)
{
    struct store_record rec;
    int64_t rev;
    uint32_t sub;
    if (store_logkey_decode(k->mv_data, k->mv_size, &rev, &sub, err) < 0 ||
        store_record_decode(v->mv_data, v->mv_size, &rec, err) < 0)
        return ck_err_wrap(err, "store %s: ", s->datafile);
    if (rec.revision != rev || rec.sub != sub)
        return ck_err_set(err, CK_R_CORRUPT, "store %s: log record %lld.%u mislabelled",
                          s->datafile, (long long)rev, sub);
    memset(ev, 0, sizeof(*ev));
    ev->type = rec.type;
    ev->revision = rev;
    lm_kv_from_record(&rec, &ev->kv);
    if (rec.has_prev) {
        struct store_record prev;
        if (lm_load(s, txn, rec.prev_revision, rec.prev_sub, &prev, err) < 0) {
            store_kv_release(&ev->kv);
            return -1;
        }
        ev->has_prev = true;
        lm_kv_from_record(&prev, &ev->prev);
    }
    return 0;
}

static int events_scan(struct lm_store *s, MDB_txn *txn, int64_t after, int64_t limit,
                       struct store_events *res, struct ck_err *err)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, s->log, &c);
    if (rc)
        return lm_err(s, err, rc, "opening log cursor");
    unsigned char kb[STORE_LOGKEY_LEN];
    store_logkey_encode(after + 1, 0, kb);
    MDB_val k = {sizeof(kb), kb}, v;
    size_t cap = 0;
    int out = 0;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        struct store_event ev;
        if (event_from_log(s, txn, &k, &v, &ev, err) < 0) {
            out = -1;
            break;
        }
        /* never split one revision across pages */
        if (limit > 0 && res->nevents >= (size_t)limit &&
            ev.revision != res->events[res->nevents - 1].revision) {
            store_kv_release(&ev.kv);
            store_kv_release(&ev.prev);
            res->more = true;
            break;
        }
        if (res->nevents == cap) {
            cap = cap ? cap * 2 : 64;
            res->events = ck_realloc(res->events, cap * sizeof(*res->events));
        }
        res->events[res->nevents++] = ev;
    }
    mdb_cursor_close(c);
    if (out == 0 && rc != 0 && rc != MDB_NOTFOUND)
        out = lm_err(s, err, rc, "scanning log");
    return out;
}

int lm_events_since(struct store *base, int64_t after, int64_t limit, struct store_events *res,
                    struct ck_err *err)
{
    struct lm_store *s = (struct lm_store *)base;
    memset(res, 0, sizeof(*res));
    if (after < 0 || limit < 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "store: events_since: negative argument");
    struct lm_snap sn;
    if (snap_begin(s, &sn, err) < 0)
        return -1;
    int rc = 0;
    if (after < sn.compacted)
        rc = ck_err_set(err, CK_R_COMPACTED, "%s (requested events after %lld, compacted %lld)",
                        LM_COMPACTED_MSG, (long long)after, (long long)sn.compacted);
    if (rc == 0 && after < sn.cur)
        rc = events_scan(s, sn.txn, after, limit, res, err);
    res->revision = sn.cur;
    mdb_txn_abort(sn.txn);
    if (rc < 0) {
        store_events_release(res);
        return -1;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < res->nevents; i++)
        bytes += res->events[i].kv.value_len + res->events[i].prev.value_len;
    lm_touch(s, bytes);
    return 0;
}

/* ---- compaction ------------------------------------------------------------------------- */

/* Records the new compacted revision (reads below it fail from now on). */
static int compact_mark(struct lm_store *s, int64_t rev, struct ck_err *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc)
        return lm_err(s, err, rc, "beginning compaction");
    int64_t cur, comp;
    if (lm_meta_get(s, txn, "rev", &cur, err) < 0 ||
        lm_meta_get(s, txn, "compacted", &comp, err) < 0)
        rc = -1;
    else if (rev > cur)
        rc = ck_err_set(err, CK_R_BAD_REQUEST, "%s (compact %lld, current %lld)", LM_FUTURE_MSG,
                        (long long)rev, (long long)cur);
    else if (rev <= comp)
        rc = ck_err_set(err, CK_R_COMPACTED, "%s (compact %lld, compacted %lld)", LM_COMPACTED_MSG,
                        (long long)rev, (long long)comp);
    else if (lm_meta_put(s, txn, "compacted", rev, err) < 0)
        rc = -1;
    if (rc) {
        mdb_txn_abort(txn);
        return -1;
    }
    if ((rc = mdb_txn_commit(txn)))
        return lm_err(s, err, rc, "committing compaction mark");
    atomic_store(&s->compacted_rev, rev);
    return 0;
}

/* Decides whether the log entry (k, v) is history that compaction to rev removes. */
static int compact_one(struct lm_store *s, MDB_txn *txn, MDB_cursor *lc, MDB_cursor *hc,
                       int64_t rev, const MDB_val *k, const MDB_val *v, struct ck_err *err)
{
    struct store_record rec;
    int64_t r;
    uint32_t sub;
    if (store_logkey_decode(k->mv_data, k->mv_size, &r, &sub, err) < 0 ||
        store_record_decode(v->mv_data, v->mv_size, &rec, err) < 0)
        return ck_err_wrap(err, "store %s: compaction: ", s->datafile);
    struct store_hist h;
    bool found;
    if (lm_hist_find_le(s, hc, rec.key, rec.key_len, rev, &h, &found, err) < 0)
        return -1;
    bool keep = found && h.revision == r && h.sub == sub && h.type == STORE_EVENT_PUT;
    if (keep)
        return 0;
    unsigned char hv[STORE_HIST_LEN];
    struct store_hist mine = {r, sub, rec.type};
    store_hist_encode(&mine, hv);
    MDB_val uk = {rec.key_len, (void *)rec.key}, hd = {sizeof(hv), hv};
    /* rec aliases the log page: delete the history entry first */
    char kcopy[STORE_KEY_MAX];
    memcpy(kcopy, rec.key, rec.key_len);
    uk.mv_data = kcopy;
    int rc = mdb_del(txn, s->hist, &uk, &hd);
    if (rc && rc != MDB_NOTFOUND)
        return lm_err(s, err, rc, "compacting history index");
    if ((rc = mdb_cursor_del(lc, 0)))
        return lm_err(s, err, rc, "compacting log");
    return 1;
}

/* One bounded write txn of compaction from *next; sets *done at the end of the window. */
static int compact_chunk(struct lm_store *s, int64_t rev, int64_t *next_rev, uint32_t *next_sub,
                         bool *done, struct ck_err *err)
{
    MDB_txn *txn;
    MDB_cursor *lc = NULL, *hc = NULL;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc || (rc = mdb_cursor_open(txn, s->log, &lc)) ||
        (rc = mdb_cursor_open(txn, s->hist, &hc))) {
        if (txn)
            mdb_txn_abort(txn);
        return lm_err(s, err, rc, "beginning compaction chunk");
    }
    unsigned char kb[STORE_LOGKEY_LEN];
    store_logkey_encode(*next_rev, *next_sub, kb);
    MDB_val k = {sizeof(kb), kb}, v;
    int out = 0, n = 0;
    *done = true;
    for (rc = mdb_cursor_get(lc, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(lc, &k, &v, MDB_NEXT)) {
        int64_t r;
        uint32_t sub;
        if ((out = store_logkey_decode(k.mv_data, k.mv_size, &r, &sub, err)) < 0 || r > rev)
            break;
        if (n++ >= LM_COMPACT_CHUNK) {
            *next_rev = r;
            *next_sub = sub;
            *done = false;
            break;
        }
        if ((out = compact_one(s, txn, lc, hc, rev, &k, &v, err)) < 0)
            break;
        out = 0;
    }
    if (out == 0 && rc != 0 && rc != MDB_NOTFOUND)
        out = lm_err(s, err, rc, "scanning log for compaction");
    if (out < 0) {
        mdb_txn_abort(txn);
        return -1;
    }
    rc = mdb_txn_commit(txn);
    return rc ? lm_err(s, err, rc, "committing compaction") : 0;
}

int lm_compact(struct store *base, int64_t revision, struct ck_err *err)
{
    struct lm_store *s = (struct lm_store *)base;
    pthread_mutex_lock(&s->compact_mu);
    int rc = compact_mark(s, revision, err);
    int64_t next_rev = 1;
    uint32_t next_sub = 0;
    bool done = false;
    while (rc == 0 && !done)
        rc = compact_chunk(s, revision, &next_rev, &next_sub, &done, err);
    pthread_mutex_unlock(&s->compact_mu);
    if (rc == 0)
        ck_v(2, "store: compacted %s to revision %lld", s->datafile, (long long)revision);
    return rc;
}
