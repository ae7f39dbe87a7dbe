/* SPDX-License-Identifier: Apache-2.0 */
/* The store: durable MVCC key-value storage with etcd's data model.
 *
 * - One global, monotonically increasing revision. Every committed transaction that writes
 *   gets exactly one new revision (like etcd: all puts/deletes of one txn share it).
 * - Each live key carries create_revision, mod_revision and version (1 on create, +1 on
 *   each put; a delete ends the key's generation).
 * - History is kept until compact(rev), which keeps each key's state as of rev: reads at a
 *   revision < the compacted revision, and events_since(after) with after < the compacted
 *   revision, fail with CK_R_COMPACTED ("mvcc: required revision has been compacted", HTTP
 *   410). Reading exactly at the compacted revision works (as in etcd).
 * - Reads at a revision above the current one fail with CK_R_TIMEOUT ("mvcc: required
 *   revision is a future revision"); revision 0 means latest.
 * - An empty store is at revision 1 (like etcd), so the first write gets revision 2.
 * - Keys are 1..511 bytes of any value (empty keys: CK_R_BAD_REQUEST); values are 0..64 MiB
 *   of binary data (larger: CK_R_TOO_LARGE). A txn may not name one key in two ops
 *   (CK_R_BAD_REQUEST) and holds at most 1024 cmps and 1024 ops. See docs/store.md.
 *
 * Backends implement struct store_ops: embedded LMDB (store_lmdb_open) and an etcd v3 cluster
 * through its gRPC-JSON gateway (store_etcd_open; its differences are listed there).
 * All functions are safe to call from any thread. Writes are acknowledged only once durable
 * (LMDB: group commit, concurrent writers share one fsync; etcd: once etcd has committed). */
#ifndef CK_STORE_H
#define CK_STORE_H

#include "lib/err.h"
#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* A key-value pair copied out of the store; owned by the result that holds it. */
struct store_kv {
    char *key; /* NUL-terminated for convenience; key_len excludes the NUL */
    size_t key_len;
    void *value; /* NUL-terminated too (value_len excludes it); may hold binary data */
    size_t value_len;
    int64_t create_revision;
    int64_t mod_revision;
    int64_t version;
};

enum store_event_type { STORE_EVENT_PUT = 1, STORE_EVENT_DELETE = 2 };
/* Subscriptions only (etcd backend): the subscriber missed events (its resume point was
 * compacted while the watch stream was down). kv.key/kv.value are "" (length 0), has_prev is
 * false; revision is the revision after which delivery continues. The subscriber must relist
 * at (or after) that revision. */
#define STORE_EVENT_MISSED ((enum store_event_type)0)

/* One change. For PUT, kv is the new state. For DELETE, kv has the key, mod_revision = the
 * revision of the delete, version 0 and an empty value. prev is the state before the change
 * (has_prev false for a create). */
struct store_event {
    enum store_event_type type;
    int64_t revision;
    struct store_kv kv;
    bool has_prev;
    struct store_kv prev;
};

/* ---- transactions ------------------------------------------------------------------- */

/* Expected mod_revision in comparisons and conditional ops. */
#define STORE_ANY ((int64_t)-1)   /* no condition */
#define STORE_ABSENT ((int64_t)0) /* the key must not exist (create-only) */

struct store_cmp {
    const char *key;
    size_t key_len;
    int64_t mod_revision; /* STORE_ABSENT, or the exact mod_revision the key must have */
};

enum store_op_type { STORE_OP_PUT = 1, STORE_OP_DELETE = 2 };

struct store_op {
    enum store_op_type type;
    const char *key;
    size_t key_len;
    const void *value; /* PUT only */
    size_t value_len;
};

/* An atomic commit: if every cmp holds, apply every op under one new revision. */
struct store_txn {
    const struct store_cmp *cmps;
    size_t ncmps;
    const struct store_op *ops;
    size_t nops;
};

struct store_txn_result {
    bool succeeded;
    int64_t revision; /* the commit's revision; on failure the store's current revision.
                       * A txn that changes nothing (no ops, or only deletes of absent
                       * keys) takes no revision and reports the current one. */
    /* On failure: the index of the first failing cmp and that key's current state. */
    size_t failed_cmp;
    bool failed_exists;
    struct store_kv failed_kv;
    /* On success: the previous state of each op's key (prev[i].key == NULL if absent). */
    size_t nprev;
    struct store_kv *prev;
};

/* ---- reads --------------------------------------------------------------------------- */

struct store_range_req {
    const char *prefix; /* all keys starting with prefix ("" = every key) */
    size_t prefix_len;
    const char *start; /* optional: first key to return (inclusive), NULL = from prefix */
    size_t start_len;
    int64_t revision; /* 0 = latest; otherwise read as of that revision */
    int64_t limit;    /* 0 = no limit */
    bool count_only;  /* fill count only, return no kvs */
};

struct store_range_result {
    struct store_kv *kvs; /* ordered by key (bytewise) */
    size_t nkvs;
    bool more;        /* limit cut the result */
    int64_t count;    /* number of keys in the range as of the read revision (ignoring start) */
    int64_t revision; /* the revision the read was served at */
};

/* Called by store_range_each for each key-value pair of the page, in key order. kv's key and
 * value alias the store's memory: valid only during the call, and NOT NUL-terminated (copy
 * what you keep). Return 0 to go on, or -1 (with err set) to stop the scan: store_range_each
 * then fails with that error. */
typedef int (*store_range_fn)(void *arg, const struct store_kv *kv, struct ck_err *err);

struct store_events {
    struct store_event *events; /* in revision order (and op order within a revision) */
    size_t nevents;
    bool more;        /* limit cut the result */
    int64_t revision; /* store's current revision at the time of the call */
};

/* Called for every committed event, in revision order, on the store's commit thread, after
 * the event is durable and before writers are acknowledged. Must be quick and must not call
 * back into the store's write path, nor subscribe/unsubscribe (callbacks run under the
 * subscriber lock). Reads (get/range/events_since) are allowed. The event and its buffers are
 * valid only during the call. */
typedef void (*store_watch_fn)(void *arg, const struct store_event *ev);

/* ---- the backend interface ------------------------------------------------------------ */

struct store_ops {
    const char *name;
    int version; /* 1 */
    int (*txn)(struct store *s, const struct store_txn *t, struct store_txn_result *res,
               struct ck_err *err);
    int (*get)(struct store *s, const char *key, size_t key_len, int64_t revision,
               struct store_kv *out, bool *found, struct ck_err *err);
    int (*range)(struct store *s, const struct store_range_req *r, struct store_range_result *res,
                 struct ck_err *err);
    /* Every event with revision > after_revision, up to limit (0 = all; a page never splits
     * one revision's events, so it may exceed limit). CK_R_COMPACTED when after_revision < the
     * compacted revision. */
    int (*events_since)(struct store *s, int64_t after_revision, int64_t limit,
                        struct store_events *res, struct ck_err *err);
    int (*compact)(struct store *s, int64_t revision, struct ck_err *err);
    int64_t (*current_revision)(struct store *s);
    int64_t (*compacted_revision)(struct store *s);
    /* Registers fn for every event committed after the call (one subscriber per call; returns
     * an id for unsubscribe). Atomic with current_revision: *from_revision is set to the
     * revision after which fn will see every event. */
    int (*subscribe)(struct store *s, store_watch_fn fn, void *arg, int64_t *from_revision,
                     struct ck_err *err);
    /* After unsubscribe returns, fn is not running and will not be called again. */
    void (*unsubscribe)(struct store *s, int id);
    /* Finishes queued writes, stops the commit thread and frees s. No other call on s may be
     * in progress or follow. */
    void (*close)(struct store *s);
    /* Optional (NULL: store_range_each runs range and visits its copies): range without
     * copying, fn called for each pair of the page inside the read snapshot; res gets every
     * field but kvs (NULL; nkvs is the number of pairs visited). */
    int (*range_each)(struct store *s, const struct store_range_req *r, store_range_fn fn,
                      void *arg, struct store_range_result *res, struct ck_err *err);
};

/* Every backend embeds this first. */
struct store {
    const struct store_ops *ops;
};

/* ---- embedded LMDB backend ------------------------------------------------------------ */

struct store_lmdb_opts {
    const char *dir; /* created if missing; a foreign/corrupt dir is refused */
    size_t map_size; /* bytes; 0 = default (64 GiB sparse) */
    bool no_sync;    /* tests/bench only: skip fsync (not durable) */
    int max_batch;   /* max txns per group commit; 0 = default */
};

int store_lmdb_open(const struct store_lmdb_opts *o, struct store **out, struct ck_err *err);

/* Group-commit counters of an LMDB store (s must come from store_lmdb_open). */
struct store_lmdb_stats {
    uint64_t txns;    /* logical txns committed */
    uint64_t commits; /* LMDB write txns (each one fsync unless no_sync) */
    uint64_t max_batch_seen;
    /* where the commit thread's time went (ns, summed over commits) */
    uint64_t apply_ns;   /* applying the batch's txns in the LMDB write txn */
    uint64_t commit_ns;  /* mdb_txn_commit: page writes and fsyncs */
    uint64_t publish_ns; /* subscriber callbacks, then waking the writers */
    uint64_t gather_ns;  /* waiting for acknowledged writers to queue again (see lmdb_write.c) */
};
void store_lmdb_stats(struct store *s, struct store_lmdb_stats *out);

/* ---- etcd backend (src/store/etcd*.c, docs/store-etcd.md) ------------------------------ */

struct store_etcd_opts {
    const char *endpoints; /* comma-separated http(s):// client URLs (failover in order) */
    const char *prefix;    /* every key is stored under it; NULL = "/ckube"; 1..128 bytes */
    const char *ca_file, *cert_file, *key_file; /* optional TLS files (PEM) */
    int timeout_ms;        /* per call; 0 = 5000 */
};

/* Connects (one request to learn the revision, a few to learn the compacted revision).
 * Unreachable etcd: CK_R_SERVICE_UNAVAILABLE. Differences from LMDB: subscribers are called
 * from a watch thread; a writer of this handle still returns only after its events were
 * delivered (waiting at most timeout_ms), but writes by other processes sharing the etcd
 * arrive asynchronously; subscribers may receive a STORE_EVENT_MISSED event. A txn may hold
 * at most etcd's --max-txn-ops cmps+ops (default 128) and a request at most
 * --max-request-bytes (default 1.5 MiB, else CK_R_TOO_LARGE). */
int store_etcd_open(const struct store_etcd_opts *o, struct store **out, struct ck_err *err);

/* ---- convenience wrappers (store.c), each a one-op txn --------------------------------- */

static inline int store_txn(struct store *s, const struct store_txn *t,
                            struct store_txn_result *res, struct ck_err *err)
{
    return s->ops->txn(s, t, res, err);
}
/* put: expect = STORE_ANY (unconditional), STORE_ABSENT (create-only: CK_R_ALREADY_EXISTS if
 * present) or a mod_revision (CK_R_CONFLICT on mismatch, CK_R_NOT_FOUND if absent).
 * On success *revision is the new revision. prev (optional) receives the previous state. */
int store_put(struct store *s, const char *key, size_t key_len, const void *val, size_t val_len,
              int64_t expect, int64_t *revision, struct store_kv *prev, struct ck_err *err);
/* delete: CK_R_NOT_FOUND if absent; CK_R_CONFLICT if expect is a mod_revision that differs. */
int store_delete(struct store *s, const char *key, size_t key_len, int64_t expect,
                 int64_t *revision, struct store_kv *prev, struct ck_err *err);
int store_get(struct store *s, const char *key, size_t key_len, int64_t revision,
              struct store_kv *out, bool *found, struct ck_err *err);
int store_range(struct store *s, const struct store_range_req *r, struct store_range_result *res,
                struct ck_err *err);
/* store_range without copies, for scans that consume each pair at once (the API server's
 * cache load, store-bench): the same pairs in the same order, passed to fn (see store_range_fn)
 * instead of collected. res is filled as by store_range except kvs (always NULL) and needs no
 * release. fn must not write to s (the embedded store holds a read snapshot meanwhile). */
int store_range_each(struct store *s, const struct store_range_req *r, store_range_fn fn,
                     void *arg, struct store_range_result *res, struct ck_err *err);
int store_events_since(struct store *s, int64_t after_revision, int64_t limit,
                       struct store_events *res, struct ck_err *err);
int store_compact(struct store *s, int64_t revision, struct ck_err *err);
int64_t store_current_revision(struct store *s);
int64_t store_compacted_revision(struct store *s);
int store_subscribe(struct store *s, store_watch_fn fn, void *arg, int64_t *from_revision,
                    struct ck_err *err);
void store_unsubscribe(struct store *s, int id);
void store_close(struct store *s);

/* For backends: a key must be 1..max_key bytes (what/i name it in the message). */
int store_key_check(const char *key, size_t key_len, const char *what, size_t i,
                    size_t max_key, struct ck_err *err);
/* For backends: checks a txn's shape (counts, keys 1..max_key bytes, op types, value sizes,
 * no key twice among the ops); 0 or -1 with CK_R_BAD_REQUEST / CK_R_TOO_LARGE. */
int store_txn_validate(const struct store_txn *t, size_t max_ops, size_t max_key,
                       size_t max_value, struct ck_err *err);

void store_kv_release(struct store_kv *kv);
void store_kv_copy(struct store_kv *dst, const struct store_kv *src);
void store_txn_result_release(struct store_txn_result *r);
void store_range_result_release(struct store_range_result *r);
void store_events_release(struct store_events *r);

/* Prometheus text for every store operation of the process (store_put/delete/get/range):
 * upstream's etcd_request_duration_seconds and etcd_requests_total {operation, type}, on any
 * backend (the embedded store too). */
int store_metrics(struct ck_buf *out);

#endif
