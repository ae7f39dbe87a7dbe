/* SPDX-License-Identifier: Apache-2.0 */
/* Internals of the LMDB backend shared by lmdb.c (open/close/subscribers), lmdb_write.c (group
 * commit thread) and lmdb_read.c (get/range/events/compaction). Not for use outside
 * src/store. Databases: meta, log (revision log), hist (key -> versions), keys (live keys). */
#ifndef CK_STORE_LMDB_INT_H
#define CK_STORE_LMDB_INT_H

#include "store/record.h"
#include "store/store.h"

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>

#define LM_TXN_MAX_OPS 1024               /* cmps or ops per txn */
#define LM_DEFAULT_BATCH 1024             /* txns per group commit */
#define LM_COMPACT_CHUNK 4096             /* log records examined per compaction write txn */
#define LM_BATCH_BYTES ((size_t)64 << 20) /* stop filling a group commit past this */
/* Gathering (lmdb_write.c): wait at most half the last commit's time, at most this long, */
#define LM_GATHER_MAX_NS ((int64_t)2000000)
#define LM_GATHER_MIN_NS ((int64_t)20000) /* and not at all when commits are quicker than this */
#define LM_GATHER_BACKOFF 16              /* batches without gathering after one in vain */
/* After this many bytes written or read through the map, drop the map's page-table entries
 * (lm_drop_pages). */
#define LM_DROP_BYTES ((size_t)32 << 20)
#define LM_DROP_READ_BYTES ((size_t)1 << 20)

struct lm_sub {
    int id;
    store_watch_fn fn;
    void *arg;
};

/* One queued txn; lives on the writer's stack while it waits. */
struct lm_wreq {
    const struct store_txn *t;
    struct store_txn_result *res;
    struct ck_err err;
    int rc;
    bool done;
    pthread_cond_t cv;
    size_t bytes; /* keys + values written, for the batch byte budget */
    struct lm_wreq *next;
    struct store_event *evs; /* built by the commit thread, delivered then freed */
    size_t nevs;
};

struct lm_store {
    struct store base;
    char *dir;
    char *datafile;
    int lock_fd;
    MDB_env *env;
    MDB_dbi meta, log, hist, keys;
    bool no_sync;
    int max_batch;
    /* the write queue */
    pthread_mutex_t q_mu;
    pthread_cond_t q_cv;
    struct lm_wreq *q_head, *q_tail;
    size_t q_len;  /* requests in the queue */
    size_t q_want; /* the commit thread is gathering: signal q_cv when q_len reaches it */
    bool closing;
    bool thread_started;
    pthread_t thread;
    int64_t last_rev; /* commit thread only: last committed revision */
    int64_t commit_ns; /* commit thread only: how long the last mdb_txn_commit took */
    int gather_skip;   /* commit thread only: batches to start without gathering */
    size_t active;     /* under q_mu: writers acknowledged by the last batch + those queued */
    /* subscribers; callbacks run with sub_mu held */
    pthread_mutex_t sub_mu;
    struct lm_sub *subs;
    size_t nsubs, capsubs;
    int next_sub_id;
    int64_t published_rev; /* under sub_mu: every event <= this has been delivered */
    _Atomic int64_t cur_rev;
    _Atomic int64_t compacted_rev;
    pthread_mutex_t compact_mu;
    _Atomic uint64_t st_txns, st_commits, st_max_batch;
    _Atomic uint64_t st_apply_ns, st_commit_ns, st_publish_ns, st_gather_ns;
    _Atomic uint64_t touched; /* bytes written/read through the map since lm_drop_pages */
    void *map_base;           /* LMDB's map of data.mdb (from /proc/self/maps), or NULL */
    size_t map_len;
};

/* Unmaps (MADV_DONTNEED) the pages of LMDB's read-only shared map from this process: they stay
 * in the kernel's page cache and refault on the next read, unchanged. Without it, every read
 * of a b-tree page also maps its neighbours (the kernel's fault-around: 16 pages), which are
 * mostly value pages the process never reads, so RSS grows to the whole data file. */
void lm_drop_pages(struct lm_store *s);
/* Counts bytes read or written through the map; drops the pages once LM_DROP_BYTES have
 * accumulated or after a single read of LM_DROP_READ_BYTES. The commit thread also drops them
 * whenever it goes idle. */
void lm_touch(struct lm_store *s, size_t bytes);
/* Fills err from an LMDB return code, naming the data file; returns -1. */
int lm_err(struct lm_store *s, struct ck_err *err, int rc, const char *what);
/* Reads a u64 meta value (missing -> 0). */
int lm_meta_get(struct lm_store *s, MDB_txn *txn, const char *name, int64_t *out,
                struct ck_err *err);
int lm_meta_put(struct lm_store *s, MDB_txn *txn, const char *name, int64_t v, struct ck_err *err);
/* Loads and validates the log record at (rev, sub); CK_R_CORRUPT if missing or bad. The
 * record's pointers alias LMDB memory: valid until the txn writes or ends. */
int lm_load(struct lm_store *s, MDB_txn *txn, int64_t rev, uint32_t sub, struct store_record *rec,
            struct ck_err *err);
/* lm_load through a log cursor: a lookup near the cursor's last position (the next record of a
 * scan in creation order) searches only the current leaf page, not the tree from its root. */
int lm_load_cursor(struct lm_store *s, MDB_cursor *lc, int64_t rev, uint32_t sub,
                   struct store_record *rec, struct ck_err *err);
/* Copies a record's state into kv (mod_revision = record revision). */
void lm_kv_from_record(const struct store_record *rec, struct store_kv *kv);
/* Looks up the live-key index. */
int lm_ptr_get(struct lm_store *s, MDB_txn *txn, const char *key, size_t key_len,
               struct store_ptr *p, bool *found, struct ck_err *err);
/* Positions c (a hist cursor) on key's newest version with revision <= rev. */
int lm_hist_find_le(struct lm_store *s, MDB_cursor *c, const char *key, size_t key_len, int64_t rev,
                    struct store_hist *out, bool *found, struct ck_err *err);

void *lm_commit_main(void *arg);
int lm_txn(struct store *base, const struct store_txn *t, struct store_txn_result *res,
           struct ck_err *err);
int lm_get(struct store *base, const char *key, size_t key_len, int64_t revision,
           struct store_kv *out, bool *found, struct ck_err *err);
int lm_range(struct store *base, const struct store_range_req *r, struct store_range_result *res,
             struct ck_err *err);
int lm_range_each(struct store *base, const struct store_range_req *r, store_range_fn fn,
                  void *arg, struct store_range_result *res, struct ck_err *err);
int lm_events_since(struct store *base, int64_t after, int64_t limit, struct store_events *res,
                    struct ck_err *err);
int lm_compact(struct store *base, int64_t revision, struct ck_err *err);

#endif
