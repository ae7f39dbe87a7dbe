/* SPDX-License-Identifier: Apache-2.0 */
/* The storage engine behind the handlers, in the role of upstream's storage/cacher: immutable
 * refcounted objects, copy-on-write key-ordered tables per resource with a secondary index,
 * the in-memory cache fed by the store's event stream (initial load, relist after a gap,
 * consistent-read waits), LIST snapshots for continue pages, the watch history ring and the
 * watchers it fans out to (storage/watcher.h), history compaction and LIST cost accounting.
 * It knows resources (registry) but not requests: handlers live in endpoints/. Symbols are
 * prefixed eng_. */
#ifndef CK_APISERVER_STORAGE_H
#define CK_APISERVER_STORAGE_H

#include "apiserver/api.h"
#include "apiserver/registry/registry.h"
#include "lib/buf.h"
#include "lib/selector.h"
#include "lib/strmap.h"
#include "store/store.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- objects ------------------------------------------------------------------------- */

/* One stored object: immutable, refcounted canonical JSON bytes plus extracted metadata.
 * body includes metadata.resourceVersion (the decimal mod revision) at [rv_off, rv_off+rv_len). */
struct eng_obj {
    atomic_int refs;
    const struct reg_resource *res;
    char *key;
    size_t key_len;
    char *ns; /* "" for cluster-scoped */
    char *name;
    char uid[48];
    int64_t rv;
    char *body;
    size_t len;
    size_t rv_off, rv_len;
    size_t nlabels;
    char **labels; /* nlabels key/value pairs, flattened */
    char **fields; /* res->nfields values */
    bool deleting; /* has deletionTimestamp */
    size_t nfinalizers;
    _Atomic(struct eng_row *) row; /* represent.c: its Table row's cells, set once, or NULL */
};

/* represent.c: the Table row kept with an object. row_init prints it from j (o parsed), before
 * o is shared; row_copy gives dst (a restamped copy of src) src's row; row_release frees it
 * (called when o itself is freed). */
struct eng_row;
void eng_obj_row_init(struct eng_obj *o, const json_t *j);
void eng_obj_row_copy(struct eng_obj *dst, const struct eng_obj *src);
void eng_obj_row_release(struct eng_obj *o);

/* Builds an object from stored bytes (value without resourceVersion) at revision rv.
 * Returns NULL with err set when the bytes are not a JSON object. */
struct eng_obj *eng_obj_from_store(const struct reg_resource *r, const char *key, size_t key_len,
                                   const char *val, size_t len, int64_t rv, struct ck_err *err);
/* A copy of o stamped with another resourceVersion (DELETED events). */
struct eng_obj *eng_obj_restamp(const struct eng_obj *o, int64_t rv);
struct eng_obj *eng_obj_ref(struct eng_obj *o);
void eng_obj_unref(struct eng_obj *o);
json_t *eng_obj_json(const struct eng_obj *o); /* parses body; new reference or NULL */
const char *eng_obj_label(void *ctx, const char *key, size_t *vlen);
const char *eng_obj_field(void *ctx, const char *key, size_t *vlen);

/* Serialises obj (kind/apiVersion/metadata first, resourceVersion removed) for the store. */
char *eng_canonical(const struct reg_resource *r, json_t *obj, size_t *len);
/* An object for val (stored bytes) at rv whose metadata (name, namespace, uid, labels,
 * deletion state, finalizers) and selectable fields are old's but for field index `field`
 * (-1: none), which becomes fval; NULL when val is not in canonical form. No parse. */
struct eng_obj *eng_obj_derive(const struct eng_obj *old, const char *val, size_t len,
                               int64_t rv, int field, const char *fval);
/* Appends stored bytes with metadata.resourceVersion spliced in. */
int eng_append_stamped(struct ck_buf *out, const struct reg_resource *r, const char *val,
                       size_t len, int64_t rv);

/* ---- events and watches ------------------------------------------------------------- */

enum eng_ev_type { EV_ADDED = 1, EV_MODIFIED, EV_DELETED, EV_BOOKMARK, EV_ERROR };

/* Byte budget of the watch history ring: older events fall back to the store's history, so
 * the ring bounds memory without changing what a resuming watch gets. */
#define ENG_RING_MAX_BYTES ((size_t)32 << 20)

struct eng_event {
    atomic_int refs;
    enum eng_ev_type type;
    int64_t rev;
    const struct reg_resource *res;
    struct eng_obj *obj; /* new state; for DELETED the last state stamped with rev */
    struct eng_obj *old; /* previous state, or NULL */
};

/* Takes the references to obj and old. */
struct eng_event *eng_event_new(enum eng_ev_type t, int64_t rev, struct eng_obj *obj,
                                struct eng_obj *old);
void eng_event_unref(struct eng_event *e);

/* ---- per-resource cache ------------------------------------------------------------- */

#define ENG_CHUNK 128

/* A refcounted run of up to ENG_CHUNK key-sorted objects, shared by a table and its
 * snapshots (table.c: written only when private, else copied first). */
struct eng_chunk {
    atomic_int refs;
    bool borrowed; /* index chunks borrow their objects; table chunks hold a reference each */
    unsigned n;
    struct eng_obj *v[ENG_CHUNK];
};

struct eng_table {
    struct eng_chunk **c; /* key-ordered, none empty */
    size_t nc, cap;
    size_t n; /* objects */
    bool borrowed;
    int64_t last_rev; /* revision of the last change to this resource */
    /* index_field value -> struct eng_table (borrowed) of that value's objects */
    struct ck_strmap by_field;
};

struct eng_cursor {
    const struct eng_table *t;
    size_t c, i;
};

/* Positions cur at the first object with key >= k (> k when excl). */
void eng_table_seek(const struct eng_table *t, const char *k, bool excl, struct eng_cursor *cur);
void eng_table_first(const struct eng_table *t, struct eng_cursor *cur);
static inline struct eng_obj *eng_cursor_obj(const struct eng_cursor *cur)
{
    return cur->c < cur->t->nc ? cur->t->c[cur->c]->v[cur->i] : NULL;
}
static inline void eng_cursor_next(struct eng_cursor *cur)
{
    if (++cur->i == cur->t->c[cur->c]->n) {
        cur->c++;
        cur->i = 0;
    }
}
struct eng_obj *eng_table_find(const struct eng_table *t, const char *key);
/* Inserts o (the table takes the reference unless borrowed); returns the object it replaced
 * (whose reference passes to the caller), or NULL. */
struct eng_obj *eng_table_put(struct eng_table *t, struct eng_obj *o);
/* Removes key; returns the removed object (reference to the caller) or NULL. */
struct eng_obj *eng_table_del(struct eng_table *t, const char *key);
/* A copy-on-write snapshot of t (shares every chunk; no index). */
void eng_table_snapshot(const struct eng_table *t, struct eng_table *out);
/* Drops the table's chunks (not by_field). */
void eng_table_release(struct eng_table *t);

/* Snapshots kept for paginated LISTs (continue pages at the first page's revision). */
#define ENG_MAX_SNAPS 16
#define ENG_SNAP_IDLE_MS 60000

struct eng_snap {
    const struct reg_resource *res;
    int64_t rev;
    int64_t used_ms;
    struct eng_table t;
};

/* ---- LIST cost accounting (listcost.c) ---------------------------------------------- */

/* What one served LIST cost. */
struct eng_list_cost {
    const char *user_agent; /* raw User-Agent header, or NULL */
    const struct reg_resource *res;
    size_t scanned;  /* objects the LIST examined (index hits, not the whole table) */
    size_t returned; /* items in the response */
    size_t bytes;    /* response body bytes */
    int64_t ns;      /* time to build the response */
};

struct eng_listcost;
struct eng_listcost *eng_listcost_new(void);
void eng_listcost_free(struct eng_listcost *lc);
/* Thread-safe; bounded memory whatever the number of distinct user agents. */
void eng_listcost_add(struct eng_listcost *lc, const struct eng_list_cost *c);
/* Appends the Prometheus text for the LIST cost counters. */
int eng_listcost_metrics(struct eng_listcost *lc, struct ck_buf *out);
enum eng_lc_sort { ENG_LC_BYTES, ENG_LC_SCANNED, ENG_LC_SECONDS, ENG_LC_REQUESTS };
/* The costliest (user agent, resource) pairs, at most limit, as a JSON array of report items
 * (userAgent, resource, requests, objectsScanned, objectsReturned, bytes, seconds,
 * maxSeconds); new reference. */
json_t *eng_listcost_top(struct eng_listcost *lc, enum eng_lc_sort sort, long long limit);

/* Output representation of objects (LIST bodies, watch events). */
enum eng_fmt {
    FMT_JSON = 0,
    FMT_TABLE,   /* meta.k8s.io Table (v1 or v1beta1) */
    FMT_PARTIAL, /* PartialObjectMetadata(List) */
    FMT_DISC_V2,
    FMT_DISC_V2BETA1,
    FMT_YAML,
};

/* The cache: every object of every resource in memory, kept current from the store. */
struct eng_cache {
    struct store *st;
    struct api_opts opts;
    pthread_rwlock_t mu; /* tables, ring, watchers */
    pthread_mutex_t rev_mu;
    pthread_cond_t rev_cv;
    int64_t rev;        /* latest revision applied to the cache */
    int64_t ring_floor; /* ring holds every event with revision > ring_floor */
    struct eng_table *tables;
    size_t ntables;
    struct eng_event **ring;
    size_t ring_cap, ring_head, ring_len;
    size_t
        ring_bytes; /* memory the ring keeps alive beyond the live objects (ENG_RING_MAX_BYTES) */
    struct api_watch *watchers;
    atomic_llong watch_events; /* events queued to watchers */
    int sub_id;
    bool subscribed;
    pthread_mutex_t pend_mu; /* events that arrive while the initial load runs */
    bool loading;
    struct store_event *pend;
    size_t npend, pend_cap;
    int64_t pend_missed; /* a STORE_EVENT_MISSED arrived during the load: relist after it */
    pthread_mutex_t compact_mu;
    pthread_cond_t compact_cv;
    pthread_t compact_thread;
    bool compact_running, compact_stop;
    atomic_bool closing; /* eng_cache_destroy has begun: a failing relist stops retrying */
    bool relisting;      /* under rev_mu: the tables are being rebuilt after a gap */
    pthread_mutex_t snap_mu;
    struct eng_snap snaps[ENG_MAX_SNAPS];
    size_t nsnaps;
    pthread_mutex_t hint_mu; /* hint.c: writes announced by their writers */
    struct eng_put_hint *hints;
};

/* cache.c */
/* Prepares an empty cache on st (opts: watch_history > 0, compact_interval_s). */
void eng_cache_init(struct eng_cache *s, struct store *st, const struct api_opts *opts);
/* Stops the compactor, unsubscribes, ends every watch and frees the cache's memory. */
void eng_cache_destroy(struct eng_cache *s);
int eng_cache_load(struct eng_cache *s, struct ck_err *err);
void eng_on_store_event(void *arg, const struct store_event *ev);
/* Current object (new reference) or NULL. */
struct eng_obj *eng_cache_get(struct eng_cache *s, const struct reg_resource *r, const char *ns,
                              const char *name);
/* Keeps a snapshot of r's table at rev (s->mu held) for the continue pages of a LIST. */
void eng_snap_put(struct eng_cache *s, const struct reg_resource *r, int64_t rev);
/* A private copy (release with eng_table_release) of the snapshot of r at rev, if kept. */
bool eng_snap_get(struct eng_cache *s, const struct reg_resource *r, int64_t rev,
                  struct eng_table *out);
void eng_snaps_free(struct eng_cache *s);
/* The index sub-table for value v of r's index field (NULL if none); s->mu held. */
const struct eng_table *eng_index_lookup(struct eng_cache *s, const struct reg_resource *r,
                                         const char *v);
void eng_tables_free(struct eng_cache *s);
/* True when no namespaced object lives in ns (key-range lookups, no scan). */
bool eng_cache_ns_empty(struct eng_cache *s, const char *ns);
void eng_key(const struct reg_resource *r, const char *ns, const char *name, struct ck_buf *out);
/* Waits (up to ms) while the cache relists after a gap in the store's history: reads then
 * must not see the stale tables. 0, or -1 with a 429 (Retry-After 1) in err. */
int eng_wait_ready(struct eng_cache *s, int ms, struct ck_err *err);
/* A consistent read: waits (up to ms) until the cache has applied the store's current
 * revision (other API servers may share the store). 0, or -1 with a 504 Timeout in err. */
int eng_wait_current(struct eng_cache *s, int ms, struct ck_err *err);
/* Waits (up to ms) until the cache has applied revision rev; returns true if it has. */
bool eng_wait_rev(struct eng_cache *s, int64_t rev, int ms);
int64_t eng_cur_rev(struct eng_cache *s);

/* hint.c: a writer that knows what its write changes (the binding fast path) announces it,
 * and the commit thread builds the cached object from the previous one instead of parsing
 * the stored bytes. The hint must stay registered until the store's write call returns (the
 * cache applies the event before that); val is borrowed. */
struct eng_put_hint {
    const char *key;
    size_t key_len;
    const char *val; /* the exact bytes written */
    size_t len;
    int64_t base_rv; /* the object val was derived from (its mod revision) */
    int field;       /* the one selectable field that changes (index), or -1 */
    const char *fval;
    struct eng_put_hint *next;
};
void eng_hint_add(struct eng_cache *s, struct eng_put_hint *h);
void eng_hint_del(struct eng_cache *s, struct eng_put_hint *h);
/* The object for a PUT event from a matching hint (new reference), or NULL; takes s->mu for
 * reading. */
struct eng_obj *eng_hint_obj(struct eng_cache *s, const struct reg_resource *r,
                             const struct store_event *ev);
long long eng_hint_hits(void); /* objects made from hints since the start (tests) */

/* compact.c */
int eng_compactor_start(struct eng_cache *s, struct ck_err *err);
void eng_compactor_stop(struct eng_cache *s);

/* watcher.c: fan-out to the watchers (see storage/watcher.h) */
/* Called with s->mu held for writing, for every event applied to the cache. */
void eng_watch_dispatch(struct eng_cache *s, struct eng_event *e);
void eng_watch_close_all(struct eng_cache *s);
/* Ends every open watch with a 410 Expired ERROR event (clients relist); s->mu held for
 * writing. */
void eng_watch_expire_all(struct eng_cache *s, const char *msg);

/* represent.c: selection and representations of objects shared by LIST and WATCH */
bool eng_obj_matches(const struct eng_obj *o, const char *ns, const struct sel *ls,
                     const struct sel *fs);
/* PartialObjectMetadata of o. */
int eng_append_partial(struct ck_buf *out, const struct eng_obj *o);
/* Table pieces: the opening (with column definitions when asked) and one row. */
int eng_table_row(struct ck_buf *out, const struct reg_resource *res, const struct eng_obj *o,
                  const char *include);
/* The same at wall-clock second now (tests). */
int eng_table_row_at(struct ck_buf *out, const struct reg_resource *res, const struct eng_obj *o,
                     const char *include, int64_t now);
/* The row as eng_table_row appends it, without copying the object's own bytes (its metadata, or
 * its body for includeObject=Object): the row is what was appended up to sp->cut, then
 * o->body[sp->off, sp->off + sp->len), then the rest appended (a LIST lends o's bytes). */
struct eng_row_span {
    size_t cut, off, len;
};
int eng_table_row_lend(struct ck_buf *out, const struct reg_resource *res,
                       const struct eng_obj *o, const char *include, int64_t now,
                       struct eng_row_span *sp);
/* The same row printed from the object's JSON, without its kept cells (tests compare). */
int eng_table_row_print(struct ck_buf *out, const struct reg_resource *res,
                        const struct eng_obj *o, const char *include, int64_t now);
int eng_table_open(struct ck_buf *out, const struct reg_resource *res, const char *tv,
                   bool with_columns);

#endif
