/* SPDX-License-Identifier: Apache-2.0 */
/* Internals of the API engine (everything behind api_handle): the resource registry, the
 * in-memory object cache, watch events, and the per-verb handlers. Not for other components:
 * they use api.h. Symbols are prefixed reg_ (registry), eng_ (engine). */
#ifndef CK_APISERVER_ENGINE_H
#define CK_APISERVER_ENGINE_H

#include "apiserver/api.h"
#include "lib/selector.h"
#include "lib/strmap.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- registry ------------------------------------------------------------------------ */

enum reg_verb {
    REG_CREATE = 1 << 0,
    REG_DELETE = 1 << 1,
    REG_DELETECOLLECTION = 1 << 2,
    REG_GET = 1 << 3,
    REG_LIST = 1 << 4,
    REG_PATCH = 1 << 5,
    REG_UPDATE = 1 << 6,
    REG_WATCH = 1 << 7,
};
#define REG_ALL_VERBS 0xff
#define REG_NO_DC (REG_ALL_VERBS & ~REG_DELETECOLLECTION)

enum reg_flag {
    REG_NAMESPACED = 1 << 0,
    REG_STATUS = 1 << 1,     /* has a status subresource; main writes ignore .status */
    REG_SCALE = 1 << 2,      /* has a scale subresource (autoscaling/v1 Scale) */
    REG_BINDING = 1 << 3,    /* pods/binding */
    REG_GENERATION = 1 << 4, /* metadata.generation tracks spec changes */
    REG_FINALIZE = 1 << 5,   /* namespaces/finalize */
    REG_RETURN_DELETED = 1 << 6, /* DELETE answers with the object, not a Status */
    REG_DNS_LABEL = 1 << 7,  /* names are DNS-1123 labels (namespaces) */
    REG_DNS1035 = 1 << 8,    /* names are DNS-1035 labels (services) */
    REG_EVICTION = 1 << 9,   /* pods/eviction */
    REG_VIRTUAL = 1 << 10,   /* create-only review: answered, never stored */
    REG_CREATE_ON_UPDATE = 1 << 11, /* PUT of a missing object creates it (201) */
    REG_EPHEMERAL = 1 << 12, /* pods/ephemeralcontainers */
};

#define REG_MAX_FIELDS 12

/* One selectable field: its selector name and where its value lives in the object. */
struct reg_field {
    const char *name; /* "spec.nodeName" */
    const char *path; /* dotted path in the object; NULL = same as name */
    const char *dflt; /* value when absent ("" for strings, "false", "0") */
};

struct reg_resource {
    const char *group; /* "" for core */
    const char *version;
    const char *kind;
    const char *list_kind;
    const char *plural;
    const char *singular;
    unsigned flags;
    unsigned verbs;
    const char *short_names[3];
    const char *categories[2];
    struct reg_field fields[REG_MAX_FIELDS]; /* beyond metadata.name/namespace; name NULL ends */
    /* filled by reg_init */
    int idx;
    char api_version[64]; /* "v1", "apps/v1" */
    char key_prefix[96];  /* "/registry/core/pods/" */
    char body_prefix[160]; /* {"apiVersion":"v1","kind":"Pod","metadata":{ */
    size_t body_prefix_len;
    size_t nfields; /* fields[] count + 2 (metadata.name, metadata.namespace first) */
    int index_field; /* field with a secondary index (pods: spec.nodeName), -1 = none */
};

struct reg_group {
    const char *name; /* "" core */
    const char *version;
};

void reg_init(void);
size_t reg_count(void);
struct reg_resource *reg_at(size_t i);
const struct reg_resource *reg_find(const char *group, const char *version, const char *plural);
const struct reg_resource *reg_find_key(const char *key, size_t len);
size_t reg_groups(const struct reg_group **out);
/* Index of a selectable field name in the object's field array (0 name, 1 namespace, ...),
 * or -1. "spec.host" is accepted as an alias of pods' spec.nodeName. */
int reg_field_index(const struct reg_resource *r, const char *name);
const char *reg_field_name(const struct reg_resource *r, size_t i);
bool reg_has_group_version(const char *group, const char *version);

/* ---- objects ------------------------------------------------------------------------- */

/* One stored object: immutable, refcounted canonical JSON bytes plus extracted metadata.
 * body includes metadata.resourceVersion (the decimal mod revision) at [rv_off, rv_off+rv_len). */
struct eng_obj {
    atomic_int refs;
    const struct reg_resource *res;
    char *key;
    size_t key_len;
    char *ns;   /* "" for cluster-scoped */
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
};

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

struct eng_metrics {
    atomic_llong requests[8]; /* by verb index */
    atomic_llong list_items;
    atomic_llong list_bytes;
    atomic_llong watch_events;
    atomic_llong errors;
    atomic_llong list_pages_snapshot; /* exact-revision pages served from a kept snapshot */
    atomic_llong list_pages_store;    /* ... and from the store (no snapshot kept) */
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
struct eng_req;
struct eng_listcost *eng_listcost_new(void);
void eng_listcost_free(struct eng_listcost *lc);
/* Thread-safe; bounded memory whatever the number of distinct user agents. */
void eng_listcost_add(struct eng_listcost *lc, const struct eng_list_cost *c);
/* Appends the Prometheus text for the LIST cost counters. */
int eng_listcost_metrics(struct eng_listcost *lc, struct ck_buf *out);
/* GET /debug/api/top-lists: the costliest (user agent, resource) pairs. */
int eng_serve_top_lists(struct eng_req *r);

struct api_server {
    struct store *st;
    struct api_opts opts;
    pthread_rwlock_t mu; /* cache, ring, watchers */
    pthread_mutex_t rev_mu;
    pthread_cond_t rev_cv;
    int64_t rev;        /* latest revision applied to the cache */
    int64_t ring_floor; /* ring holds every event with revision > ring_floor */
    struct eng_table *tables;
    size_t ntables;
    struct eng_event **ring;
    size_t ring_cap, ring_head, ring_len;
    size_t ring_bytes; /* memory the ring keeps alive beyond the live objects (ENG_RING_MAX_BYTES) */
    struct api_watch *watchers;
    int sub_id;
    bool subscribed;
    pthread_mutex_t pend_mu; /* events that arrive while the initial load runs */
    bool loading;
    struct store_event *pend;
    size_t npend, pend_cap;
    int64_t pend_missed; /* a STORE_EVENT_MISSED arrived during the load: relist after it */
    pthread_mutex_t alloc_mu; /* serialises Service IP/port allocation with its write */
    uint32_t svc_base, svc_size;
    pthread_mutex_t compact_mu;
    pthread_cond_t compact_cv;
    pthread_t compact_thread;
    bool compact_running, compact_stop;
    struct eng_metrics m;
    struct eng_listcost *lc;
    atomic_bool closing; /* api_server_free has begun: a failing relist stops retrying */
    bool relisting;      /* under rev_mu: the tables are being rebuilt after a gap */
    pthread_mutex_t snap_mu;
    struct eng_snap snaps[ENG_MAX_SNAPS];
    size_t nsnaps;
    char *disc_agg;     /* cached aggregated discovery bodies (without apiVersion line) */
};

/* cache.c */
int eng_cache_load(struct api_server *s, struct ck_err *err);
void eng_on_store_event(void *arg, const struct store_event *ev);
/* Current object (new reference) or NULL. */
struct eng_obj *eng_cache_get(struct api_server *s, const struct reg_resource *r, const char *ns,
                              const char *name);
/* Keeps a snapshot of r's table at rev (s->mu held) for the continue pages of a LIST. */
void eng_snap_put(struct api_server *s, const struct reg_resource *r, int64_t rev);
/* A private copy (release with eng_table_release) of the snapshot of r at rev, if kept. */
bool eng_snap_get(struct api_server *s, const struct reg_resource *r, int64_t rev,
                  struct eng_table *out);
void eng_snaps_free(struct api_server *s);
/* The index sub-table for value v of r's index field (NULL if none); s->mu held. */
const struct eng_table *eng_index_lookup(struct api_server *s, const struct reg_resource *r,
                                         const char *v);
void eng_tables_free(struct api_server *s);
/* True when no namespaced object lives in ns (key-range lookups, no scan). */
bool eng_cache_ns_empty(struct api_server *s, const char *ns);
void eng_key(const struct reg_resource *r, const char *ns, const char *name, struct ck_buf *out);
/* Waits (up to ms) while the cache relists after a gap in the store's history: reads then
 * must not see the stale tables. 0, or -1 with a 429 (Retry-After 1) in err. */
int eng_wait_ready(struct api_server *s, int ms, struct ck_err *err);
/* A consistent read: waits (up to ms) until the cache has applied the store's current
 * revision (other API servers may share the store). 0, or -1 with a 504 Timeout in err. */
int eng_wait_current(struct api_server *s, int ms, struct ck_err *err);
/* Waits (up to ms) until the cache has applied revision rev; returns true if it has. */
bool eng_wait_rev(struct api_server *s, int64_t rev, int ms);
int64_t eng_cur_rev(struct api_server *s);

/* ---- request context ---------------------------------------------------------------- */

enum eng_fmt {
    FMT_JSON = 0,
    FMT_TABLE,   /* meta.k8s.io Table (v1 or v1beta1) */
    FMT_PARTIAL, /* PartialObjectMetadata(List) */
    FMT_DISC_V2,
    FMT_DISC_V2BETA1,
    FMT_YAML,
};

struct eng_query {
    char *raw; /* decoded copy, key\0value\0 pairs */
    size_t n;
    const char *k[64];
    const char *v[64];
};

struct eng_req {
    struct api_server *s;
    const struct api_request *rq;
    struct api_response *rs;
    struct eng_query q;
    const struct reg_resource *res;
    char *ns;      /* NULL when not given */
    char *name;    /* NULL for collections */
    char *sub;     /* subresource or NULL */
    enum eng_fmt fmt;
    const char *table_version; /* "v1" / "v1beta1" */
    bool watch;
};

const char *eng_q(const struct eng_req *r, const char *key);
void eng_add_warning(struct api_response *rs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Sets a JSON response: status code, content type application/json, body bytes. */
void eng_reply(struct eng_req *r, int status, const char *body, size_t len);
void eng_reply_err(struct eng_req *r, const struct ck_err *err);
/* Resource-qualified name for messages: "pods", "deployments.apps". */
void eng_qualified(const struct reg_resource *res, char *out, size_t n);
void eng_err_not_found(struct ck_err *err, const struct reg_resource *res, const char *name);

/* discovery.c */
void eng_discovery_init(struct api_server *s);
void eng_discovery_free(struct api_server *s);
int eng_serve_discovery(struct eng_req *r, const char **segs, size_t nsegs);

/* read.c */
int eng_serve_get(struct eng_req *r);
int eng_serve_list(struct eng_req *r);
/* Parses label/field selectors of the request (NULL = none). */
int eng_parse_selectors(struct eng_req *r, struct sel **ls, struct sel **fs, struct ck_err *err);
/* Collects the current objects a request's namespace and selectors pick (deletecollection). */
int eng_list_collect(struct eng_req *r, struct eng_obj ***items, size_t *n, int64_t *rv,
                     struct ck_err *err);
bool eng_obj_matches(const struct eng_obj *o, const char *ns, const struct sel *ls,
                     const struct sel *fs);
/* Table helpers shared with watch. */
int eng_table_row(struct ck_buf *out, const struct reg_resource *res, const struct eng_obj *o,
                  const char *include);
int eng_table_open(struct ck_buf *out, const struct reg_resource *res, const char *tv,
                   bool with_columns);

/* write.c */
int eng_serve_create(struct eng_req *r);
int eng_serve_update(struct eng_req *r);
int eng_serve_patch(struct eng_req *r);
int eng_serve_delete(struct eng_req *r);
int eng_serve_deletecollection(struct eng_req *r);
int eng_serve_scale(struct eng_req *r);
int eng_serve_binding(struct eng_req *r);
int eng_serve_eviction(struct eng_req *r);
int eng_serve_review(struct eng_req *r); /* review.c */
int eng_bootstrap_namespaces(struct api_server *s, struct ck_err *err);
/* Creates body as the engine itself (no request); AlreadyExists counts as success. */
int eng_internal_create(struct api_server *s, const struct reg_resource *res, const char *ns,
                        json_t *body, struct ck_err *err);

/* apply.c: simplified server-side apply (see apply.c) */
int eng_apply(const struct reg_resource *res, json_t *cur, json_t *cfg, const char *manager,
              bool force, json_t **out, struct ck_err *err);
void eng_apply_init_fields(const struct reg_resource *res, json_t *obj, const char *manager);
/* Records a non-apply write in out's managedFields: changed fields move to manager's Update
 * entry (per subresource), removed fields leave every entry. cur is NULL on create. */
void eng_track_update(const struct reg_resource *res, json_t *cur, json_t *out,
                      const char *manager, const char *sub);
/* fieldManager, else the User-Agent product, else "kube-apiserver". */
const char *eng_manager_name(const struct eng_req *r, char *buf, size_t n);

/* compact.c */
int eng_compactor_start(struct api_server *s, struct ck_err *err);
void eng_compactor_stop(struct api_server *s);

/* alloc.c */
int eng_alloc_init(struct api_server *s, struct ck_err *err);
/* Fills spec.clusterIP(s)/nodePorts of a Service (skip_key: the service itself on update).
 * Caller holds s->alloc_mu until the write is done. */
int eng_service_alloc(struct api_server *s, const struct reg_resource *res, json_t *svc,
                      const char *skip_key, struct ck_err *err);
int eng_bootstrap_kubernetes_service(struct api_server *s, struct ck_err *err);
/* Decodes a request body (JSON or YAML) into *out. strict rejects duplicate fields. */
int eng_decode_body(const struct api_request *rq, bool strict, json_t **out, struct ck_err *err);

/* watch.c */
enum api_result eng_serve_watch(struct eng_req *r, struct api_watch **out);
/* Called with s->mu held for writing, for every event applied to the cache. */
void eng_watch_dispatch(struct api_server *s, struct eng_event *e);
void eng_watch_close_all(struct api_server *s);
/* Ends every open watch with a 410 Expired ERROR event (clients relist); s->mu held for
 * writing. */
void eng_watch_expire_all(struct api_server *s, const char *msg);

/* small helpers (engine.c) */
char *eng_rfc3339_now(char out[21]);
int64_t eng_parse_int(const char *s, bool *ok);

#endif
