/* SPDX-License-Identifier: Apache-2.0 */
/* The LMDB backend's write path: validation and queueing on the writer's thread, and the
 * group-commit thread that applies every queued txn in one LMDB write txn (one fsync), each
 * with its own revision, then delivers events to subscribers and wakes the writers. */
#include "store/lmdb_int.h"

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <time.h>

#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

int lm_txn(struct store *base, const struct store_txn *t, struct store_txn_result *res,
           struct ck_err *err)
{
    struct lm_store *s = (struct lm_store *)base;
    memset(res, 0, sizeof(*res));
    if (!t)
        return ck_err_set(err, CK_R_BAD_REQUEST, "store: no txn");
    if (store_txn_validate(t, LM_TXN_MAX_OPS, STORE_KEY_MAX, STORE_VALUE_MAX, err) < 0)
        return -1;
    struct lm_wreq w = {.t = t, .res = res};
    for (size_t i = 0; i < t->nops; i++)
        w.bytes += t->ops[i].key_len + t->ops[i].value_len;
    pthread_cond_init(&w.cv, NULL);
    pthread_mutex_lock(&s->q_mu);
    if (s->closing) {
        pthread_mutex_unlock(&s->q_mu);
        pthread_cond_destroy(&w.cv);
        return ck_err_set(err, CK_R_SERVICE_UNAVAILABLE, "store: closed");
    }
    if (s->q_tail)
        s->q_tail->next = &w;
    else
        s->q_head = &w;
    s->q_tail = &w;
    s->q_len++;
    if (s->q_len == 1 || s->q_len == s->q_want)
        pthread_cond_signal(&s->q_cv);
    while (!w.done)
        pthread_cond_wait(&w.cv, &s->q_mu);
    pthread_mutex_unlock(&s->q_mu);
    pthread_cond_destroy(&w.cv);
    if (w.rc < 0) {
        if (err)
            *err = w.err;
        store_txn_result_release(res);
        return -1;
    }
    return 0;
}

/* ---- the commit thread ------------------------------------------------------------------ */

static void free_events(struct lm_wreq *w)
{
    for (size_t i = 0; i < w->nevs; i++) {
        free(w->evs[i].kv.key);
        free(w->evs[i].kv.value);
    }
    free(w->evs);
    w->evs = NULL;
    w->nevs = 0;
}

/* Evaluates t's comparisons against the txn's view; *ok false fills the failure fields. */
static int eval_cmps(struct lm_store *s, MDB_txn *txn, struct lm_wreq *w, int64_t rev, bool *ok,
                     struct ck_err *err)
{
    const struct store_txn *t = w->t;
    *ok = true;
    for (size_t i = 0; i < t->ncmps; i++) {
        const struct store_cmp *c = &t->cmps[i];
        if (c->mod_revision == STORE_ANY)
            continue;
        struct store_ptr p;
        bool found;
        if (lm_ptr_get(s, txn, c->key, c->key_len, &p, &found, err) < 0)
            return -1;
        bool holds =
            c->mod_revision == STORE_ABSENT ? !found : (found && p.mod_revision == c->mod_revision);
        if (holds)
            continue;
        struct store_txn_result *res = w->res;
        *ok = false;
        res->succeeded = false;
        res->revision = rev;
        res->failed_cmp = i;
        res->failed_exists = found;
        if (found) {
            struct store_record rec;
            if (lm_load(s, txn, p.mod_revision, p.sub, &rec, err) < 0)
                return -1;
            lm_kv_from_record(&rec, &res->failed_kv);
        }
        return 0;
    }
    return 0;
}

/* Writes the log record, its history entry and the live-key index for one change. */
static int write_change(struct lm_store *s, MDB_txn *txn, const struct store_record *rec,
                        struct ck_err *err)
{
    unsigned char lk[STORE_LOGKEY_LEN], hv[STORE_HIST_LEN], pv[STORE_PTR_LEN];
    store_logkey_encode(rec->revision, rec->sub, lk);
    MDB_val k = {sizeof(lk), lk}, v = {store_record_size(rec), NULL};
    int rc = mdb_put(txn, s->log, &k, &v, MDB_RESERVE | MDB_APPEND);
    if (rc)
        return lm_err(s, err, rc, "appending to log");
    store_record_encode(rec, v.mv_data);
    struct store_hist h = {rec->revision, rec->sub, rec->type};
    store_hist_encode(&h, hv);
    MDB_val uk = {rec->key_len, (void *)rec->key}, hd = {sizeof(hv), hv};
    if ((rc = mdb_put(txn, s->hist, &uk, &hd, 0)))
        return lm_err(s, err, rc, "writing history index");
    if (rec->type == STORE_EVENT_DELETE) {
        rc = mdb_del(txn, s->keys, &uk, NULL);
    } else {
        struct store_ptr p = {rec->revision, rec->sub, rec->create_revision, rec->version};
        store_ptr_encode(&p, pv);
        MDB_val pd = {sizeof(pv), pv};
        rc = mdb_put(txn, s->keys, &uk, &pd, 0);
    }
    return rc ? lm_err(s, err, rc, "writing key index") : 0;
}

static void add_event(struct lm_wreq *w, const struct store_record *rec,
                      const struct store_kv *prev)
{
    struct store_event *ev = &w->evs[w->nevs++];
    ev->type = rec->type;
    ev->revision = rec->revision;
    lm_kv_from_record(rec, &ev->kv);
    ev->has_prev = prev->key != NULL;
    if (ev->has_prev)
        ev->prev = *prev; /* shallow: owned by the txn result */
}

/* Applies one op at (rev, *sub); a delete of a missing key changes nothing. */
static int apply_op(struct lm_store *s, MDB_txn *txn, struct lm_wreq *w, size_t i, int64_t rev,
                    uint32_t *sub, struct ck_err *err)
{
    const struct store_op *op = &w->t->ops[i];
    struct store_kv *prev = &w->res->prev[i];
    struct store_ptr p;
    bool found;
    if (lm_ptr_get(s, txn, op->key, op->key_len, &p, &found, err) < 0)
        return -1;
    if (found) {
        struct store_record old;
        if (lm_load(s, txn, p.mod_revision, p.sub, &old, err) < 0)
            return -1;
        lm_kv_from_record(&old, prev);
    }
    if (op->type == STORE_OP_DELETE && !found)
        return 0;
    struct store_record rec = {
        .type = op->type == STORE_OP_PUT ? STORE_EVENT_PUT : STORE_EVENT_DELETE,
        .revision = rev,
        .sub = *sub,
        .has_prev = found,
        .prev_revision = found ? p.mod_revision : 0,
        .prev_sub = found ? p.sub : 0,
        .key = op->key,
        .key_len = op->key_len,
    };
    if (op->type == STORE_OP_PUT) {
        rec.create_revision = found ? p.create_revision : rev;
        rec.version = found ? p.version + 1 : 1;
        rec.value = op->value ? op->value : "";
        rec.value_len = op->value_len;
    }
    if (write_change(s, txn, &rec, err) < 0)
        return -1;
    add_event(w, &rec, prev);
    (*sub)++;
    return 0;
}

/* Applies one logical txn inside the batch's LMDB txn; *rev advances if it changed anything. */
static int apply_one(struct lm_store *s, MDB_txn *txn, struct lm_wreq *w, int64_t *rev,
                     struct ck_err *err)
{
    bool ok;
    if (eval_cmps(s, txn, w, *rev, &ok, err) < 0)
        return -1;
    if (!ok)
        return 0;
    const struct store_txn *t = w->t;
    struct store_txn_result *res = w->res;
    res->succeeded = true;
    res->nprev = t->nops;
    res->prev = t->nops ? ck_calloc(t->nops, sizeof(*res->prev)) : NULL;
    w->evs = t->nops ? ck_calloc(t->nops, sizeof(*w->evs)) : NULL;
    uint32_t sub = 0;
    for (size_t i = 0; i < t->nops; i++)
        if (apply_op(s, txn, w, i, *rev + 1, &sub, err) < 0)
            return -1;
    if (sub > 0)
        (*rev)++;
    res->revision = *rev;
    return 0;
}

/* Applies reqs[0..n) in one LMDB write txn and commits it. On failure nothing is applied and
 * every request's partial result is released. */
static int commit_group(struct lm_store *s, struct lm_wreq **reqs, size_t n, struct ck_err *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc)
        return lm_err(s, err, rc, "beginning write txn");
    int64_t rev = s->last_rev;
    int64_t t0 = ck_mono_ns();
    size_t i = 0;
    for (; i < n; i++)
        if (apply_one(s, txn, reqs[i], &rev, err) < 0)
            break;
    if (i == n && rev != s->last_rev && lm_meta_put(s, txn, "rev", rev, err) < 0)
        i = 0;
    int64_t t1 = ck_mono_ns();
    atomic_fetch_add(&s->st_apply_ns, (uint64_t)(t1 - t0));
    if (i == n && (rc = mdb_txn_commit(txn)) != 0) {
        lm_err(s, err, rc, "committing");
        txn = NULL;
        i = 0;
    }
    if (i < n || !txn) {
        if (txn && i < n)
            mdb_txn_abort(txn);
        for (size_t j = 0; j < n; j++) {
            free_events(reqs[j]);
            store_txn_result_release(reqs[j]->res);
        }
        return -1;
    }
    s->last_rev = rev;
    s->commit_ns = ck_mono_ns() - t1;
    atomic_fetch_add(&s->st_commit_ns, (uint64_t)s->commit_ns);
    atomic_fetch_add(&s->st_txns, n);
    atomic_fetch_add(&s->st_commits, 1);
    if (n > atomic_load(&s->st_max_batch))
        atomic_store(&s->st_max_batch, n);
    return 0;
}

/* Delivers the batch's events in order, publishes the revision, then acknowledges. */
static void publish(struct lm_store *s, struct lm_wreq **reqs, size_t n)
{
    int64_t t0 = ck_mono_ns();
    pthread_mutex_lock(&s->sub_mu);
    for (size_t i = 0; i < n; i++)
        for (size_t e = 0; reqs[i]->rc == 0 && e < reqs[i]->nevs; e++)
            for (size_t k = 0; k < s->nsubs; k++)
                s->subs[k].fn(s->subs[k].arg, &reqs[i]->evs[e]);
    s->published_rev = s->last_rev;
    pthread_mutex_unlock(&s->sub_mu);
    atomic_store(&s->cur_rev, s->last_rev);
    for (size_t i = 0; i < n; i++)
        free_events(reqs[i]);
    pthread_mutex_lock(&s->q_mu);
    for (size_t i = 0; i < n; i++) {
        reqs[i]->done = true;
        pthread_cond_signal(&reqs[i]->cv);
    }
    /* the writers just acknowledged, plus those queued meanwhile: all busy writers */
    s->active = n + s->q_len;
    pthread_mutex_unlock(&s->q_mu);
    atomic_fetch_add(&s->st_publish_ns, (uint64_t)(ck_mono_ns() - t0));
}

static void process_batch(struct lm_store *s, struct lm_wreq **reqs, size_t n)
{
    struct ck_err err = CK_ERR_INIT;
    if (commit_group(s, reqs, n, &err) == 0) {
        publish(s, reqs, n);
        return;
    }
    /* Isolate the failing txn: retry each alone so the others still commit. */
    for (size_t i = 0; i < n; i++) {
        if (n == 1 || commit_group(s, &reqs[i], 1, &reqs[i]->err) < 0) {
            if (n == 1)
                reqs[i]->err = err;
            reqs[i]->rc = -1;
            ck_warn("%s", reqs[i]->err.msg);
        }
    }
    publish(s, reqs, n);
}

/* Called with q_mu held and requests queued, before taking a batch. Without it, busy writers
 * split into two cohorts that alternate: a batch is taken the moment the previous one is
 * acknowledged, before its writers can queue their next txn, so they wait out a whole extra
 * commit and each fsync carries only about half of them. Gathering waits (briefly: at most
 * half a commit's time) until as many requests are queued as writers were busy at the last
 * acknowledgement. Writers that do not come back that soon (each has other work between its
 * txns) make the wait time out, and gathering then pauses for LM_GATHER_BACKOFF batches. It
 * only delays when a commit starts; every acknowledgement still follows its fsync. */
static void gather(struct lm_store *s)
{
    size_t want = s->active < (size_t)s->max_batch ? s->active : (size_t)s->max_batch;
    if (s->gather_skip > 0) {
        s->gather_skip--;
        return;
    }
    int64_t budget = s->commit_ns / 2;
    if (budget > LM_GATHER_MAX_NS)
        budget = LM_GATHER_MAX_NS;
    if (want < 2 || s->q_len >= want || budget < LM_GATHER_MIN_NS || s->closing)
        return;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    int64_t t0 = (int64_t)until.tv_sec * 1000000000 + until.tv_nsec, end = t0 + budget;
    until.tv_sec = (time_t)(end / 1000000000);
    until.tv_nsec = (long)(end % 1000000000);
    s->q_want = want;
    while (s->q_len < want && !s->closing)
        if (pthread_cond_clockwait(&s->q_cv, &s->q_mu, CLOCK_MONOTONIC, &until) == ETIMEDOUT)
            break;
    s->q_want = 0;
    if (s->q_len < want)
        s->gather_skip = LM_GATHER_BACKOFF;
    atomic_fetch_add(&s->st_gather_ns, (uint64_t)(ck_mono_ns() - t0));
}

void *lm_commit_main(void *arg)
{
    struct lm_store *s = arg;
    struct lm_wreq **batch = ck_calloc((size_t)s->max_batch, sizeof(*batch));
    for (;;) {
        pthread_mutex_lock(&s->q_mu);
        while (!s->q_head && !s->closing) {
            if (atomic_load(&s->touched)) { /* idle: let go of the map pages writes touched */
                pthread_mutex_unlock(&s->q_mu);
                lm_drop_pages(s);
                pthread_mutex_lock(&s->q_mu);
                continue;
            }
            pthread_cond_wait(&s->q_cv, &s->q_mu);
        }
        if (!s->q_head) {
            pthread_mutex_unlock(&s->q_mu);
            break;
        }
        gather(s);
        size_t n = 0, bytes = 0;
        while (s->q_head && n < (size_t)s->max_batch && (n == 0 || bytes < LM_BATCH_BYTES)) {
            bytes += s->q_head->bytes;
            batch[n++] = s->q_head;
            s->q_head = s->q_head->next;
            s->q_len--;
        }
        if (!s->q_head)
            s->q_tail = NULL;
        pthread_mutex_unlock(&s->q_mu);
        process_batch(s, batch, n);
        lm_touch(s, bytes);
    }
    free(batch);
    return NULL;
}
