/* SPDX-License-Identifier: Apache-2.0 */
/* The in-memory cache: immutable refcounted objects (canonical JSON bytes with the
 * resourceVersion spliced in, plus extracted name/namespace/uid/labels/selectable fields),
 * one key-sorted table per resource, the watch event ring, and the store subscription that
 * keeps all of it current on the store's commit thread. */
#include "apiserver/storage/storage.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/banned.h"

/* ---- objects ------------------------------------------------------------------------ */

struct eng_obj *eng_obj_ref(struct eng_obj *o)
{
    if (o)
        atomic_fetch_add(&o->refs, 1);
    return o;
}

void eng_obj_unref(struct eng_obj *o)
{
    if (!o || atomic_fetch_sub(&o->refs, 1) != 1)
        return;
    eng_obj_row_release(o);
    free(o); /* one block: see obj_pack */
}

json_t *eng_obj_json(const struct eng_obj *o)
{
    json_error_t je;
    return json_loadb(o->body, o->len, 0, &je);
}

const char *eng_obj_label(void *ctx, const char *key, size_t *vlen)
{
    const struct eng_obj *o = ctx;
    for (size_t i = 0; i < o->nlabels; i++) {
        if (strcmp(o->labels[2 * i], key) == 0) {
            *vlen = strlen(o->labels[2 * i + 1]);
            return o->labels[2 * i + 1];
        }
    }
    return NULL;
}

const char *eng_obj_field(void *ctx, const char *key, size_t *vlen)
{
    const struct eng_obj *o = ctx;
    int i = reg_field_index(o->res, key);
    if (i < 0)
        return NULL;
    *vlen = strlen(o->fields[i]);
    return o->fields[i];
}

static json_t *path_get(json_t *obj, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = obj;
    char *save = NULL;
    for (char *t = strtok_r(buf, ".", &save); t && cur; t = strtok_r(NULL, ".", &save))
        cur = json_is_object(cur) ? json_object_get(cur, t) : NULL;
    return cur;
}

static char *scalar_text(json_t *v, const char *dflt)
{
    if (json_is_string(v))
        return ck_strdup(json_string_value(v));
    if (json_is_true(v))
        return ck_strdup("true");
    if (json_is_false(v))
        return ck_strdup("false");
    if (json_is_integer(v))
        return ck_asprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return ck_strdup(dflt ? dflt : "");
}

/* The strings of an object before it is packed (borrowed, except `owned`). */
struct obj_strs {
    const char *ns, *name;
    size_t nlabels;
    const char **labels; /* nlabels key/value pairs */
    const char **fields; /* res->nfields */
};

static size_t strs_size(const struct obj_strs *st, size_t nf)
{
    size_t sz = strlen(st->ns) + strlen(st->name) + 2;
    for (size_t i = 0; i < 2 * st->nlabels; i++)
        sz += strlen(st->labels[i]) + 1;
    for (size_t i = 2; i < nf; i++)
        sz += strlen(st->fields[i]) + 1;
    return sz;
}

static char *put_str(char **p, const char *s, size_t n)
{
    char *d = *p;
    memcpy(d, s, n);
    d[n] = '\0';
    *p += n + 1;
    return d;
}

/* Builds an object as ONE allocation: the struct, its label/field pointer arrays, the key,
 * every string and the body (memory per object is what the issue-4 RSS bar measures: no
 * per-string malloc headers, no buffer slack). The body comes in two pieces (a, b). */
static struct eng_obj *obj_pack(const struct reg_resource *r, const char *key, size_t key_len,
                                const struct obj_strs *st, const char *a, size_t alen,
                                const char *b, size_t blen)
{
    size_t nf = r->nfields, np = 2 * st->nlabels + nf;
    size_t sz = sizeof(struct eng_obj) + np * sizeof(char *) + key_len + 1 +
                strs_size(st, nf) + alen + blen + 1;
    struct eng_obj *o = ck_malloc(sz);
    memset(o, 0, sizeof(*o));
    atomic_init(&o->refs, 1);
    o->res = r;
    char **ptrs = (char **)(o + 1);
    char *p = (char *)(ptrs + np);
    o->labels = ptrs;
    o->fields = ptrs + 2 * st->nlabels;
    o->nlabels = st->nlabels;
    o->body = p;
    memcpy(p, a, alen);
    memcpy(p + alen, b, blen);
    p[alen + blen] = '\0';
    o->len = alen + blen;
    p += o->len + 1;
    o->key = put_str(&p, key, key_len);
    o->key_len = key_len;
    o->ns = put_str(&p, st->ns, strlen(st->ns));
    o->name = put_str(&p, st->name, strlen(st->name));
    for (size_t i = 0; i < 2 * st->nlabels; i++)
        o->labels[i] = put_str(&p, st->labels[i], strlen(st->labels[i]));
    o->fields[0] = o->name;
    o->fields[1] = o->ns;
    for (size_t i = 2; i < nf; i++)
        o->fields[i] = put_str(&p, st->fields[i], strlen(st->fields[i]));
    return o;
}

/* Reads name/namespace/labels/selectable fields of obj into st (fields[2..] are malloc'd:
 * free them with strs_release); sets uid/deleting/nfinalizers of tmpl. */
static void extract_meta(const struct reg_resource *r, json_t *obj, struct obj_strs *st,
                         struct eng_obj *tmpl)
{
    json_t *md = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *uid = json_string_value(json_object_get(md, "uid"));
    st->name = name ? name : "";
    st->ns = (r->flags & REG_NAMESPACED) && ns ? ns : "";
    snprintf(tmpl->uid, sizeof(tmpl->uid), "%s", uid ? uid : "");
    tmpl->deleting = json_object_get(md, "deletionTimestamp") != NULL &&
                     !json_is_null(json_object_get(md, "deletionTimestamp"));
    tmpl->nfinalizers = json_array_size(json_object_get(md, "finalizers"));
    json_t *labels = json_object_get(md, "labels");
    size_t nl = json_is_object(labels) ? json_object_size(labels) : 0;
    st->labels = ck_calloc(nl * 2 + 1, sizeof(char *));
    st->nlabels = 0;
    const char *k;
    json_t *v;
    if (nl) {
        json_object_foreach(labels, k, v)
        {
            if (!json_is_string(v))
                continue;
            st->labels[2 * st->nlabels] = k;
            st->labels[2 * st->nlabels + 1] = json_string_value(v);
            st->nlabels++;
        }
    }
    st->fields = ck_calloc(r->nfields, sizeof(char *));
    st->fields[0] = st->name;
    st->fields[1] = st->ns;
    for (size_t i = 2; i < r->nfields; i++) {
        const struct reg_field *f = &r->fields[i - 2];
        st->fields[i] = scalar_text(path_get(obj, f->path ? f->path : f->name), f->dflt);
    }
}

static void strs_release(const struct reg_resource *r, struct obj_strs *st)
{
    for (size_t i = 2; i < r->nfields; i++)
        free((char *)st->fields[i]);
    free(st->fields);
    free(st->labels);
}

char *eng_canonical(const struct reg_resource *r, json_t *obj, size_t *len)
{
    json_t *out = json_object();
    json_object_set_new(out, "apiVersion", json_string(r->api_version));
    json_object_set_new(out, "kind", json_string(r->kind));
    json_t *md = json_object_get(obj, "metadata");
    json_t *nmd = json_is_object(md) ? json_copy(md) : json_object();
    json_object_del(nmd, "resourceVersion");
    json_object_del(nmd, "selfLink");
    json_object_set_new(out, "metadata", nmd);
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        if (strcmp(k, "apiVersion") && strcmp(k, "kind") && strcmp(k, "metadata"))
            json_object_set(out, k, v);
    }
    char *s = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    if (!s)
        ck_fatal("json_dumps failed");
    *len = strlen(s);
    return s;
}

/* Splices "resourceVersion":"<rv>" right after the canonical prefix. */
static int splice(struct ck_buf *out, const struct reg_resource *r, const char *val, size_t len,
                  int64_t rv, size_t *rv_off, size_t *rv_len)
{
    size_t pl = r->body_prefix_len;
    char num[24];
    int nl = snprintf(num, sizeof(num), "%" PRId64, rv);
    int rc = ck_buf_append(out, val, pl);
    rc |= ck_buf_appends(out, "\"resourceVersion\":\"");
    if (rv_off)
        *rv_off = out->len;
    rc |= ck_buf_append(out, num, (size_t)nl);
    if (rv_len)
        *rv_len = (size_t)nl;
    rc |= ck_buf_appendc(out, '"');
    if (len > pl && val[pl] != '}')
        rc |= ck_buf_appendc(out, ',');
    rc |= ck_buf_append(out, val + pl, len - pl);
    return rc < 0 ? -1 : 0;
}

static bool has_prefix(const struct reg_resource *r, const char *val, size_t len)
{
    return len > r->body_prefix_len + 1 && memcmp(val, r->body_prefix, r->body_prefix_len) == 0 &&
           memcmp(val + r->body_prefix_len, "\"resourceVersion\"", 17) != 0;
}

int eng_append_stamped(struct ck_buf *out, const struct reg_resource *r, const char *val,
                       size_t len, int64_t rv)
{
    if (has_prefix(r, val, len))
        return splice(out, r, val, len, rv, NULL, NULL);
    json_error_t je;
    json_t *obj = json_loadb(val, len, 0, &je);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return -1;
    }
    size_t cl;
    char *c = eng_canonical(r, obj, &cl);
    json_decref(obj);
    int rc = splice(out, r, c, cl, rv, NULL, NULL);
    free(c);
    return rc;
}

struct eng_obj *eng_obj_from_store(const struct reg_resource *r, const char *key, size_t key_len,
                                   const char *val, size_t len, int64_t rv, struct ck_err *err)
{
    json_error_t je;
    json_t *obj = json_loadb(val, len, 0, &je);
    if (!json_is_object(obj)) {
        json_decref(obj);
        ck_err_set(err, CK_R_CORRUPT, "stored object %.*s is not a JSON object", (int)key_len,
                   key);
        return NULL;
    }
    struct eng_obj tmpl;
    struct obj_strs st;
    memset(&tmpl, 0, sizeof(tmpl));
    extract_meta(r, obj, &st, &tmpl);
    struct ck_buf b = CK_BUF_INIT((size_t)1 << 31);
    if (has_prefix(r, val, len)) {
        splice(&b, r, val, len, rv, &tmpl.rv_off, &tmpl.rv_len);
    } else {
        size_t cl;
        char *c = eng_canonical(r, obj, &cl);
        splice(&b, r, c, cl, rv, &tmpl.rv_off, &tmpl.rv_len);
        free(c);
    }
    struct eng_obj *o = obj_pack(r, key, key_len, &st, b.data ? b.data : "", b.len, "", 0);
    ck_buf_release(&b);
    strs_release(r, &st);
    memcpy(o->uid, tmpl.uid, sizeof(o->uid));
    o->deleting = tmpl.deleting;
    o->nfinalizers = tmpl.nfinalizers;
    o->rv = rv;
    o->rv_off = tmpl.rv_off;
    o->rv_len = tmpl.rv_len;
    eng_obj_row_init(o, obj); /* parsed anyway: print its Table row now */
    json_decref(obj);
    return o;
}

struct eng_obj *eng_obj_derive(const struct eng_obj *old, const char *val, size_t len, int64_t rv,
                               int field, const char *fval)
{
    const struct reg_resource *r = old->res;
    if (!has_prefix(r, val, len) || field >= (int)r->nfields || field == 0 || field == 1)
        return NULL;
    const char **fields = ck_calloc(r->nfields, sizeof(char *));
    for (size_t i = 0; i < r->nfields; i++)
        fields[i] = (int)i == field ? fval : old->fields[i];
    struct obj_strs st = {.ns = old->ns,
                          .name = old->name,
                          .nlabels = old->nlabels,
                          .labels = (const char **)old->labels,
                          .fields = fields};
    struct ck_buf b = CK_BUF_INIT((size_t)1 << 31);
    size_t rv_off = 0, rv_len = 0;
    splice(&b, r, val, len, rv, &rv_off, &rv_len);
    struct eng_obj *o =
        obj_pack(r, old->key, old->key_len, &st, b.data ? b.data : "", b.len, "", 0);
    ck_buf_release(&b);
    free(fields);
    memcpy(o->uid, old->uid, sizeof(o->uid));
    o->deleting = old->deleting;
    o->nfinalizers = old->nfinalizers;
    o->rv = rv;
    o->rv_off = rv_off;
    o->rv_len = rv_len;
    return o;
}

struct eng_obj *eng_obj_restamp(const struct eng_obj *o, int64_t rv)
{
    char num[24];
    int nl = snprintf(num, sizeof(num), "%" PRId64, rv);
    struct ck_buf b = CK_BUF_INIT((size_t)1 << 31);
    ck_buf_append(&b, o->body, o->rv_off);
    ck_buf_append(&b, num, (size_t)nl);
    struct obj_strs st = {.ns = o->ns, .name = o->name, .nlabels = o->nlabels,
                          .labels = (const char **)o->labels,
                          .fields = (const char **)o->fields};
    size_t tail = o->rv_off + o->rv_len;
    struct eng_obj *n = obj_pack(o->res, o->key, o->key_len, &st, b.data, b.len,
                                 o->body + tail, o->len - tail);
    ck_buf_release(&b);
    memcpy(n->uid, o->uid, sizeof(n->uid));
    n->rv = rv;
    n->deleting = o->deleting;
    n->nfinalizers = o->nfinalizers;
    n->rv_off = o->rv_off;
    n->rv_len = (size_t)nl;
    eng_obj_row_copy(n, o);
    return n;
}

/* ---- events ------------------------------------------------------------------------- */

struct eng_event *eng_event_new(enum eng_ev_type t, int64_t rev, struct eng_obj *obj,
                                   struct eng_obj *old)
{
    struct eng_event *e = ck_calloc(1, sizeof(*e));
    atomic_init(&e->refs, 1);
    e->type = t;
    e->rev = rev;
    e->res = obj->res;
    e->obj = obj;
    e->old = old;
    return e;
}

void eng_event_unref(struct eng_event *e)
{
    if (!e || atomic_fetch_sub(&e->refs, 1) != 1)
        return;
    eng_obj_unref(e->obj);
    eng_obj_unref(e->old);
    free(e);
}

/* ---- tables ------------------------------------------------------------------------- */

static void index_del(struct eng_table *t, const struct eng_obj *o)
{
    int fi = o->res->index_field;
    if (fi < 0)
        return;
    struct eng_table *sub = ck_strmap_get(&t->by_field, o->fields[fi], NULL);
    if (!sub)
        return;
    eng_table_del(sub, o->key);
    if (sub->n == 0) {
        ck_strmap_del(&t->by_field, o->fields[fi], NULL);
        eng_table_release(sub);
        free(sub);
    }
}

static void index_put(struct eng_table *t, struct eng_obj *o)
{
    int fi = o->res->index_field;
    if (fi < 0)
        return;
    struct eng_table *sub = ck_strmap_get(&t->by_field, o->fields[fi], NULL);
    if (!sub) {
        sub = ck_calloc(1, sizeof(*sub));
        sub->borrowed = true;
        ck_strmap_put(&t->by_field, o->fields[fi], sub);
    }
    eng_table_put(sub, o);
}

/* Puts o in t (taking the reference); returns the replaced object or NULL. */
static struct eng_obj *table_put(struct eng_table *t, struct eng_obj *o)
{
    struct eng_obj *old = eng_table_put(t, o);
    if (old)
        index_del(t, old);
    index_put(t, o);
    return old;
}

static struct eng_obj *table_del(struct eng_table *t, const char *key)
{
    struct eng_obj *old = eng_table_del(t, key);
    if (old)
        index_del(t, old);
    return old;
}

bool eng_cache_ns_empty(struct eng_cache *s, const char *ns)
{
    bool empty = true;
    char key[512];
    pthread_rwlock_rdlock(&s->mu);
    for (size_t t = 0; t < s->ntables && empty; t++) {
        const struct reg_resource *res = reg_at(t);
        if (!(res->flags & REG_NAMESPACED))
            continue;
        int n = snprintf(key, sizeof(key), "%s%s/", res->key_prefix, ns);
        struct eng_cursor cur;
        eng_table_seek(&s->tables[t], key, false, &cur);
        const struct eng_obj *o = eng_cursor_obj(&cur);
        if (o && strncmp(o->key, key, (size_t)n) == 0)
            empty = false;
    }
    pthread_rwlock_unlock(&s->mu);
    return empty;
}

const struct eng_table *eng_index_lookup(struct eng_cache *s, const struct reg_resource *r,
                                         const char *v)
{
    static const struct eng_table empty;
    if (r->index_field < 0)
        return NULL;
    const struct eng_table *sub = ck_strmap_get(&s->tables[r->idx].by_field, v, NULL);
    return sub ? sub : &empty;
}

static void tables_free(struct eng_table *tables, size_t ntables)
{
    for (size_t i = 0; i < ntables; i++) {
        struct eng_table *t = &tables[i];
        const char *k;
        void *v;
        for (size_t it = 0; ck_strmap_next(&t->by_field, &it, &k, &v);) {
            eng_table_release(v);
            free(v);
        }
        ck_strmap_release(&t->by_field);
        eng_table_release(t);
    }
    free(tables);
}

void eng_tables_free(struct eng_cache *s)
{
    if (!s->tables)
        return;
    tables_free(s->tables, s->ntables);
    s->tables = NULL;
}

/* ---- snapshots for paginated LISTs -------------------------------------------------- */

static void snap_drop(struct eng_cache *s, size_t i)
{
    eng_table_release(&s->snaps[i].t);
    s->snaps[i] = s->snaps[--s->nsnaps];
}

/* Drops snapshots idle too long or below the store's compaction (caller holds snap_mu). */
static void snaps_expire(struct eng_cache *s, int64_t now)
{
    int64_t compacted = store_compacted_revision(s->st);
    for (size_t i = 0; i < s->nsnaps;) {
        if (now - s->snaps[i].used_ms > ENG_SNAP_IDLE_MS || s->snaps[i].rev <= compacted)
            snap_drop(s, i);
        else
            i++;
    }
}

void eng_snap_put(struct eng_cache *s, const struct reg_resource *r, int64_t rev)
{
    int64_t now = ck_mono_ns() / 1000000;
    pthread_mutex_lock(&s->snap_mu);
    snaps_expire(s, now);
    for (size_t i = 0; i < s->nsnaps; i++) {
        if (s->snaps[i].res == r && s->snaps[i].rev == rev) {
            s->snaps[i].used_ms = now;
            pthread_mutex_unlock(&s->snap_mu);
            return;
        }
    }
    if (s->nsnaps == ENG_MAX_SNAPS) { /* evict the least recently used */
        size_t lru = 0;
        for (size_t i = 1; i < s->nsnaps; i++)
            if (s->snaps[i].used_ms < s->snaps[lru].used_ms)
                lru = i;
        snap_drop(s, lru);
    }
    struct eng_snap *sn = &s->snaps[s->nsnaps++];
    sn->res = r;
    sn->rev = rev;
    sn->used_ms = now;
    eng_table_snapshot(&s->tables[r->idx], &sn->t);
    pthread_mutex_unlock(&s->snap_mu);
}

bool eng_snap_get(struct eng_cache *s, const struct reg_resource *r, int64_t rev,
                  struct eng_table *out)
{
    int64_t now = ck_mono_ns() / 1000000;
    bool found = false;
    pthread_mutex_lock(&s->snap_mu);
    snaps_expire(s, now);
    for (size_t i = 0; i < s->nsnaps && !found; i++) {
        if (s->snaps[i].res == r && s->snaps[i].rev == rev) {
            s->snaps[i].used_ms = now;
            eng_table_snapshot(&s->snaps[i].t, out);
            found = true;
        }
    }
    pthread_mutex_unlock(&s->snap_mu);
    return found;
}

void eng_snaps_free(struct eng_cache *s)
{
    pthread_mutex_lock(&s->snap_mu);
    while (s->nsnaps)
        snap_drop(s, s->nsnaps - 1);
    pthread_mutex_unlock(&s->snap_mu);
}

void eng_key(const struct reg_resource *r, const char *ns, const char *name, struct ck_buf *out)
{
    ck_buf_appends(out, r->key_prefix);
    if ((r->flags & REG_NAMESPACED) && ns) {
        ck_buf_appends(out, ns);
        ck_buf_appendc(out, '/');
    }
    if (name)
        ck_buf_appends(out, name);
}

struct eng_obj *eng_cache_get(struct eng_cache *s, const struct reg_resource *r, const char *ns,
                              const char *name)
{
    struct ck_buf k = CK_BUF_INIT(4096);
    eng_key(r, ns, name, &k);
    if (!k.data)
        return NULL;
    pthread_rwlock_rdlock(&s->mu);
    struct eng_obj *o = eng_obj_ref(eng_table_find(&s->tables[r->idx], k.data));
    pthread_rwlock_unlock(&s->mu);
    ck_buf_release(&k);
    return o;
}

int64_t eng_cur_rev(struct eng_cache *s)
{
    pthread_mutex_lock(&s->rev_mu);
    int64_t r = s->rev;
    pthread_mutex_unlock(&s->rev_mu);
    return r;
}

/* The CLOCK_REALTIME instant ms from now (for pthread_cond_timedwait on rev_cv). */
static struct timespec deadline_in(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void set_relisting(struct eng_cache *s, bool on)
{
    pthread_mutex_lock(&s->rev_mu);
    s->relisting = on;
    pthread_cond_broadcast(&s->rev_cv);
    pthread_mutex_unlock(&s->rev_mu);
}

int eng_wait_ready(struct eng_cache *s, int ms, struct ck_err *err)
{
    struct timespec ts = deadline_in(ms);
    pthread_mutex_lock(&s->rev_mu);
    while (s->relisting && pthread_cond_timedwait(&s->rev_cv, &s->rev_mu, &ts) == 0)
        ;
    bool busy = s->relisting;
    pthread_mutex_unlock(&s->rev_mu);
    if (!busy)
        return 0;
    if (err) {
        ck_err_set(err, CK_R_TOO_MANY_REQUESTS,
                   "storage is (re)initializing: the API server's cache is relisting after a "
                   "gap in the store's history");
        err->retry_after = 1;
    }
    return -1;
}

int eng_wait_current(struct eng_cache *s, int ms, struct ck_err *err)
{
    if (eng_wait_ready(s, ms, err) < 0)
        return -1;
    /* etcd's revision counts every tenant of the cluster, but our stream only carries our
     * prefix's events, so after another prefix's writes the cache could never "reach" it:
     * without a progress request on the stream (not done yet), reads on etcd are served
     * from the cache as it is (ms behind other API servers' writes). */
    if (strcmp(s->st->ops->name, "etcd") == 0)
        return 0;
    int64_t cur = store_current_revision(s->st);
    if (cur <= eng_cur_rev(s) || eng_wait_rev(s, cur, ms))
        return 0;
    if (err) {
        ck_err_set(err, CK_R_TIMEOUT,
                   "Timeout: the API server's cache has not caught up with the store "
                   "(cache %lld, store %lld); try again",
                   (long long)eng_cur_rev(s), (long long)cur);
        err->retry_after = 1;
    }
    return -1;
}

bool eng_wait_rev(struct eng_cache *s, int64_t rev, int ms)
{
    struct timespec ts = deadline_in(ms);
    pthread_mutex_lock(&s->rev_mu);
    while (s->rev < rev) {
        if (pthread_cond_timedwait(&s->rev_cv, &s->rev_mu, &ts) != 0)
            break;
    }
    bool ok = s->rev >= rev;
    pthread_mutex_unlock(&s->rev_mu);
    return ok;
}

/* What an event in the ring keeps alive: the superseded object (the new state is shared with
 * the table while it is current; the event line is framed around obj->body when written). */
static size_t event_bytes(const struct eng_event *e)
{
    return (e->old ? e->old->len : 0) + sizeof(*e);
}

static void ring_push(struct eng_cache *s, struct eng_event *e)
{
    size_t add = event_bytes(e);
    while (s->ring_len && (s->ring_len == s->ring_cap || s->ring_bytes + add > ENG_RING_MAX_BYTES)) {
        struct eng_event *old = s->ring[s->ring_head];
        s->ring_floor = old->rev;
        s->ring_bytes -= event_bytes(old);
        eng_event_unref(old);
        s->ring_head = (s->ring_head + 1) % s->ring_cap;
        s->ring_len--;
    }
    s->ring[(s->ring_head + s->ring_len) % s->ring_cap] = e;
    s->ring_len++;
    s->ring_bytes += add;
}

/* Applies one store event to the cache; caller holds s->mu for writing. built: the PUT's
 * object made beforehand (its reference is taken), or NULL. */
static void apply_event(struct eng_cache *s, const struct store_event *ev, struct eng_obj *built)
{
    const struct reg_resource *r = reg_find_key(ev->kv.key, ev->kv.key_len);
    if (!r) {
        eng_obj_unref(built);
        return;
    }
    struct eng_table *t = &s->tables[r->idx];
    struct eng_event *e = NULL;
    if (ev->type == STORE_EVENT_PUT) {
        struct eng_obj *o = built;
        if (!o) { /* (a ck_err is 24 KiB to clear: only when there is something to parse) */
            struct ck_err err = CK_ERR_INIT;
            o = eng_obj_from_store(r, ev->kv.key, ev->kv.key_len, ev->kv.value, ev->kv.value_len,
                                   ev->kv.mod_revision, &err);
            if (!o) {
                ck_warn("cache: skipping %s: %s", ev->kv.key, err.msg);
                return;
            }
        }
        struct eng_obj *old = table_put(t, eng_obj_ref(o));
        e = eng_event_new(old ? EV_MODIFIED : EV_ADDED, ev->revision, o, old);
    } else {
        struct eng_obj *old = table_del(t, ev->kv.key);
        if (!old)
            return;
        e = eng_event_new(EV_DELETED, ev->revision, eng_obj_restamp(old, ev->revision), old);
    }
    t->last_rev = ev->revision;
    eng_watch_dispatch(s, e);
    ring_push(s, e);
}

static void set_rev(struct eng_cache *s, int64_t rev)
{
    pthread_mutex_lock(&s->rev_mu);
    if (rev > s->rev)
        s->rev = rev;
    pthread_cond_broadcast(&s->rev_cv);
    pthread_mutex_unlock(&s->rev_mu);
}

static void relist(struct eng_cache *s, int64_t rev);

void eng_on_store_event(void *arg, const struct store_event *ev)
{
    struct eng_cache *s = arg;
    if (ev->type == STORE_EVENT_MISSED) {
        pthread_mutex_lock(&s->pend_mu);
        bool loading = s->loading;
        if (loading)
            s->pend_missed = ev->revision; /* the loader reloads at the gap */
        pthread_mutex_unlock(&s->pend_mu);
        if (!loading)
            relist(s, ev->revision);
        return;
    }
    pthread_mutex_lock(&s->pend_mu);
    if (s->loading) {
        if (s->npend == s->pend_cap) {
            s->pend_cap = s->pend_cap ? s->pend_cap * 2 : 16;
            s->pend = ck_realloc(s->pend, s->pend_cap * sizeof(*s->pend));
        }
        struct store_event *c = &s->pend[s->npend++];
        memset(c, 0, sizeof(*c));
        c->type = ev->type;
        c->revision = ev->revision;
        store_kv_copy(&c->kv, &ev->kv);
        pthread_mutex_unlock(&s->pend_mu);
        return;
    }
    pthread_mutex_unlock(&s->pend_mu);
    /* the object is built before the write lock: readers wait only for the table update */
    struct eng_obj *built = NULL;
    const struct reg_resource *r = reg_find_key(ev->kv.key, ev->kv.key_len);
    if (r && ev->type == STORE_EVENT_PUT) { /* NULL: apply_event reports the bad bytes */
        built = eng_hint_obj(s, r, ev);
        if (!built) {
            struct ck_err err = CK_ERR_INIT;
            built = eng_obj_from_store(r, ev->kv.key, ev->kv.key_len, ev->kv.value,
                                       ev->kv.value_len, ev->kv.mod_revision, &err);
        }
    }
    pthread_rwlock_wrlock(&s->mu);
    if (ev->revision >= s->rev) { /* older: already in a relisted state */
        apply_event(s, ev, built);
        set_rev(s, ev->revision); /* under mu: a reader never sees objects newer than s->rev */
    } else {
        eng_obj_unref(built);
    }
    pthread_rwlock_unlock(&s->mu);
}

/* Loads the state at rev into tables (an array of reg_count() tables). */
/* Loads the state at *rev (0: the current one; *rev is set to it) into tables. */
static int load_range(struct eng_cache *s, struct eng_table *tables, int64_t *rev,
                      struct ck_err *err)
{
    struct store_range_req rq = {.prefix = "/registry/", .prefix_len = 10, .revision = *rev};
    struct store_range_result res;
    memset(&res, 0, sizeof(res));
    if (store_range(s->st, &rq, &res, err) < 0)
        return -1;
    *rev = res.revision;
    for (size_t i = 0; i < res.nkvs; i++) {
        struct store_kv *kv = &res.kvs[i];
        const struct reg_resource *r = reg_find_key(kv->key, kv->key_len);
        if (!r)
            continue;
        struct ck_err e2 = CK_ERR_INIT;
        struct eng_obj *o = eng_obj_from_store(r, kv->key, kv->key_len, kv->value,
                                               kv->value_len, kv->mod_revision, &e2);
        if (!o) {
            ck_warn("cache: skipping %s: %s", kv->key, e2.msg);
            continue;
        }
        struct eng_obj *old = table_put(&tables[r->idx], o);
        eng_obj_unref(old);
        if (kv->mod_revision > tables[r->idx].last_rev)
            tables[r->idx].last_rev = kv->mod_revision;
    }
    store_range_result_release(&res);
    return 0;
}

/* A fresh set of tables holding the state at *rev (see load_range), or NULL with err. */
static struct eng_table *load_tables(struct eng_cache *s, int64_t *rev, struct ck_err *err)
{
    struct eng_table *nt = ck_calloc(s->ntables, sizeof(*nt));
    if (load_range(s, nt, rev, err) == 0)
        return nt;
    tables_free(nt, s->ntables);
    return NULL;
}

/* The store's event stream skipped history (etcd compacted it while the stream was down):
 * events after rev will follow, so the state at rev replaces the tables. Watches cannot be
 * continued across the gap: they end with 410 Expired and their clients relist, as clients
 * of an upstream apiserver do when its watch cache reinitialises. */
static void relist(struct eng_cache *s, int64_t rev)
{
    ck_warn("cache: the store's event stream skipped compacted history; relisting at %lld",
            (long long)rev);
    static const char expired[] = "the API server's cache was relisted after a gap in the "
                                  "store's event history; start a new watch";
    set_relisting(s, true); /* reads wait for the new state (clients relist on the 410) */
    pthread_rwlock_wrlock(&s->mu); /* the open watches cannot continue: end them now */
    eng_watch_expire_all(s, expired);
    pthread_rwlock_unlock(&s->mu);
    struct eng_table *nt = NULL;
    struct ck_err err = CK_ERR_INIT;
    int rc = -1;
    /* the stream waits meanwhile: events after rev are delivered once the state at rev is in */
    for (int ms = 50; rc < 0 && !atomic_load(&s->closing); ms = ms < 2000 ? ms * 2 : 2000) {
        ck_err_clear(&err);
        rc = (nt = load_tables(s, &rev, &err)) ? 0 : -1;
        if (rc < 0) {
            ck_warn("cache: relist at %lld failed (%s); retrying", (long long)rev, err.msg);
            if (err.reason == CK_R_COMPACTED) {
                ck_error("cache: revision %lld was compacted before the relist; relisting at "
                         "the current revision (events in between are skipped)",
                         (long long)rev);
                rev = 0; /* the current revision; the stream's older events are then skipped */
            }
            usleep((useconds_t)ms * 1000);
        }
    }
    if (rc < 0) { /* shutting down */
        set_relisting(s, false);
        return;
    }
    pthread_rwlock_wrlock(&s->mu);
    tables_free(s->tables, s->ntables);
    s->tables = nt;
    for (size_t i = 0; i < s->ntables; i++)
        if (s->tables[i].last_rev < rev)
            s->tables[i].last_rev = rev; /* older exact LISTs go to the store */
    while (s->ring_len) {
        eng_event_unref(s->ring[s->ring_head]);
        s->ring_head = (s->ring_head + 1) % s->ring_cap;
        s->ring_len--;
    }
    s->ring_bytes = 0;
    if (rev > s->ring_floor)
        s->ring_floor = rev;
    eng_watch_expire_all(s, expired); /* and those opened on the stale state meanwhile */
    set_rev(s, rev);
    pthread_rwlock_unlock(&s->mu);
    set_relisting(s, false);
}

int eng_cache_load(struct eng_cache *s, struct ck_err *err)
{
    int64_t from = 0;
    s->loading = true;
    int id = store_subscribe(s->st, eng_on_store_event, s, &from, err);
    if (id < 0)
        return -1;
    s->sub_id = id;
    s->subscribed = true;
    int rc = load_range(s, s->tables, &from, err);
    pthread_mutex_lock(&s->pend_mu);
    while (rc == 0 && s->pend_missed) {
        /* the stream skipped history during the load: reload at the gap, still buffering */
        int64_t missed = s->pend_missed;
        s->pend_missed = 0;
        pthread_mutex_unlock(&s->pend_mu);
        struct eng_table *nt = load_tables(s, &missed, err);
        pthread_mutex_lock(&s->pend_mu);
        rc = nt ? 0 : -1;
        if (nt) {
            tables_free(s->tables, s->ntables);
            s->tables = nt;
            from = missed;
        }
    }
    pthread_rwlock_wrlock(&s->mu);
    s->rev = from;
    s->ring_floor = from;
    for (size_t i = 0; i < s->npend; i++) {
        if (rc == 0 && s->pend[i].revision > from) {
            apply_event(s, &s->pend[i], NULL);
            if (s->pend[i].revision > s->rev)
                s->rev = s->pend[i].revision;
        }
        store_kv_release(&s->pend[i].kv);
    }
    free(s->pend);
    s->pend = NULL;
    s->npend = s->pend_cap = 0;
    s->loading = false;
    pthread_rwlock_unlock(&s->mu);
    pthread_mutex_unlock(&s->pend_mu);
    ck_v(1, "apiserver: cache loaded at revision %lld", (long long)from);
    return rc;
}

/* ---- lifetime ------------------------------------------------------------------------ */

void eng_cache_init(struct eng_cache *s, struct store *st, const struct api_opts *opts)
{
    s->st = st;
    s->opts = *opts;
    pthread_rwlock_init(&s->mu, NULL);
    pthread_mutex_init(&s->rev_mu, NULL);
    pthread_mutex_init(&s->pend_mu, NULL);
    pthread_mutex_init(&s->compact_mu, NULL);
    pthread_mutex_init(&s->snap_mu, NULL);
    pthread_mutex_init(&s->hint_mu, NULL);
    pthread_cond_init(&s->compact_cv, NULL);
    pthread_cond_init(&s->rev_cv, NULL);
    s->ntables = reg_count();
    s->tables = ck_calloc(s->ntables, sizeof(*s->tables));
    s->ring_cap = (size_t)s->opts.watch_history;
    s->ring = ck_calloc(s->ring_cap, sizeof(*s->ring));
}

void eng_cache_destroy(struct eng_cache *s)
{
    atomic_store(&s->closing, true);
    eng_compactor_stop(s);
    if (s->subscribed)
        store_unsubscribe(s->st, s->sub_id);
    eng_watch_close_all(s);
    eng_snaps_free(s);
    eng_tables_free(s);
    for (size_t i = 0; i < s->ring_len; i++)
        eng_event_unref(s->ring[(s->ring_head + i) % s->ring_cap]);
    free(s->ring);
    pthread_rwlock_destroy(&s->mu);
    pthread_mutex_destroy(&s->rev_mu);
    pthread_mutex_destroy(&s->pend_mu);
    pthread_mutex_destroy(&s->compact_mu);
    pthread_mutex_destroy(&s->snap_mu);
    pthread_mutex_destroy(&s->hint_mu);
    pthread_cond_destroy(&s->compact_cv);
    pthread_cond_destroy(&s->rev_cv);
}
