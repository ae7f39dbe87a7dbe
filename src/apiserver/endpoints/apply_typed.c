/* SPDX-License-Identifier: Apache-2.0 */
/* Typed walks of server-side apply (structured-merge-diff's typed package) over JSON values
 * and the schema table: field sets, comparison, merge and removal. A position's type comes
 * from registry/schema.h: lists are atomic, sets (v: elements) or maps (k: elements, keyed by
 * x-kubernetes-list-map-keys, or by patchMergeKey when only the patch strategy says merge);
 * maps are granular unless x-kubernetes-map-type is atomic; structs are granular except the
 * types upstream marks +structType=atomic. Without a schema the type is deduced from the
 * value: objects are granular maps, lists atomic. */
#include "apiserver/endpoints/apply_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define MAX_DEPTH 120

enum tk {
    TK_SCALAR = 0,
    TK_LIST_ATOMIC,
    TK_LIST_SET,
    TK_LIST_MAP,
    TK_MAP_ATOMIC,
    TK_MAP,
    TK_STRUCT,
    TK_DEDUCED,
};

static const struct ty deduced = {.flags = TY_DEDUCED};

/* Types upstream tags +structType=atomic (x-kubernetes-map-type: atomic on the definition). */
static bool atomic_struct(const struct schema_type *st)
{
    static const char *const names[] = {
        "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
        "io.k8s.api.core.v1.LocalObjectReference",
        "io.k8s.api.core.v1.ObjectReference",
        "io.k8s.api.core.v1.TypedLocalObjectReference",
        "io.k8s.api.core.v1.ConfigMapKeySelector",
        "io.k8s.api.core.v1.SecretKeySelector",
        "io.k8s.api.core.v1.FileKeySelector",
        "io.k8s.api.core.v1.ObjectFieldSelector",
        "io.k8s.api.core.v1.ResourceFieldSelector",
        "io.k8s.api.core.v1.NodeSelector",
        "io.k8s.api.core.v1.NodeSelectorTerm",
        "io.k8s.api.core.v1.TopologySelectorTerm",
        "io.k8s.api.autoscaling.v1.CrossVersionObjectReference",
        "io.k8s.api.autoscaling.v2.CrossVersionObjectReference",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(st->name, names[i]) == 0)
            return true;
    return false;
}

struct ty ty_root(const struct schema_type *t)
{
    if (!t)
        return deduced;
    return (struct ty){.st = t};
}

static bool is_elem(struct ty t)
{
    return (t.flags & TY_ELEM) != 0;
}

/* The struct type at t (atomic or not), or NULL. */
static const struct schema_type *struct_of(struct ty t)
{
    if (t.flags & TY_DEDUCED)
        return NULL;
    if (t.f && !is_elem(t) && t.f->coll != SCHEMA_C_ONE)
        return NULL;
    if (t.f && t.f->prim != SCHEMA_P_REF)
        return NULL;
    const struct schema_type *st = t.f ? t.f->ref : t.st;
    return st && st->kind == SCHEMA_T_STRUCT ? st : NULL;
}

static enum tk schema_kind(struct ty t)
{
    if (t.flags & TY_DEDUCED)
        return TK_DEDUCED;
    const struct schema_field *f = t.f;
    if (f && !is_elem(t) && f->coll == SCHEMA_C_LIST) {
        if (f->list_type) {
            if (strcmp(f->list_type, "set") == 0)
                return TK_LIST_SET;
            if (strcmp(f->list_type, "map") == 0)
                return f->map_keys ? TK_LIST_MAP : TK_LIST_SET;
            return TK_LIST_ATOMIC;
        }
        if (f->strategy & SCHEMA_PS_MERGE)
            return f->merge_key ? TK_LIST_MAP : TK_LIST_SET;
        return TK_LIST_ATOMIC;
    }
    if (f && !is_elem(t) && f->coll == SCHEMA_C_MAP)
        return f->map_type && strcmp(f->map_type, "atomic") == 0 ? TK_MAP_ATOMIC : TK_MAP;
    if (f && f->prim != SCHEMA_P_REF)
        return TK_SCALAR;
    const struct schema_type *st = f ? f->ref : t.st;
    if (!st || st->kind == SCHEMA_T_FREE)
        return TK_DEDUCED;
    if (st->kind == SCHEMA_T_SCALAR)
        return TK_SCALAR;
    if (atomic_struct(st) ||
        (f && !is_elem(t) && f->map_type && strcmp(f->map_type, "atomic") == 0))
        return TK_MAP_ATOMIC;
    return TK_STRUCT;
}

static bool is_list(enum tk k)
{
    return k == TK_LIST_ATOMIC || k == TK_LIST_SET || k == TK_LIST_MAP;
}

static bool is_map(enum tk k)
{
    return k == TK_MAP_ATOMIC || k == TK_MAP || k == TK_STRUCT;
}

/* The kind used for value v at t (v NULL or null: the schema's). */
static enum tk eff(struct ty t, const json_t *v)
{
    enum tk k = schema_kind(t);
    if (k == TK_DEDUCED)
        return json_is_object(v) ? TK_MAP : json_is_array(v) ? TK_LIST_ATOMIC : TK_SCALAR;
    if (!v || json_is_null(v))
        return k;
    if ((is_list(k) && !json_is_array(v)) || (is_map(k) && !json_is_object(v)))
        return TK_SCALAR;
    return k;
}

static bool declared(struct ty t, const char *key)
{
    const struct schema_type *st = struct_of(t);
    return st && schema_field_find(st, key);
}

static struct ty child_field(struct ty t, const char *key)
{
    if (schema_kind(t) == TK_DEDUCED)
        return deduced;
    const struct schema_type *st = struct_of(t);
    if (st) {
        const struct schema_field *sf = schema_field_find(st, key);
        return sf ? (struct ty){.st = sf->ref, .f = sf} : deduced;
    }
    if (t.f && !is_elem(t) && t.f->coll == SCHEMA_C_MAP)
        return (struct ty){.st = t.f->ref, .f = t.f, .flags = TY_ELEM};
    return deduced;
}

static struct ty child_elem(struct ty t)
{
    if (t.f && !is_elem(t) && t.f->coll == SCHEMA_C_LIST)
        return (struct ty){.st = t.f->ref, .f = t.f, .flags = TY_ELEM};
    return deduced;
}

/* The path element of a list item (sets and list maps); -1 with why filled. */
static int item_pe(struct ty t, enum tk k, const json_t *item, struct fp_pe *pe, char *why,
                   size_t wn)
{
    if (k == TK_LIST_SET) {
        if (json_is_object(item))
            snprintf(why, wn, "associative list without keys has an element that's a map type");
        else if (json_is_array(item))
            snprintf(why, wn, "not supported: associative list with lists as elements");
        else if (json_is_null(item))
            snprintf(why, wn,
                     "associative list without keys has an element that's an explicit null");
        else {
            fp_pe_value(pe, (json_t *)item);
            return 0;
        }
        return -1;
    }
    if (json_is_null(item)) {
        snprintf(why, wn, "associative list with keys may not have a null element");
        return -1;
    }
    if (!json_is_object(item)) {
        snprintf(why, wn, "associative list with keys may not have non-map elements");
        return -1;
    }
    const char *keys = t.f->list_type ? t.f->map_keys : t.f->merge_key;
    json_t *kv = json_object();
    for (const char *p = keys; p && *p;) {
        size_t l = strcspn(p, ",");
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)l, p);
        p += l + (p[l] ? 1 : 0);
        json_t *v = json_object_get(item, name);
        if (v)
            json_object_set(kv, name, v);
        else if (strcmp(name, "protocol") == 0) /* the only list-map key with a default */
            json_object_set_new(kv, name, json_string("TCP"));
        else {
            snprintf(why, wn,
                     "associative list with keys has an element that omits key field \"%s\" "
                     "(and doesn't have default value)",
                     name);
            json_decref(kv);
            return -1;
        }
    }
    fp_pe_key(pe, kv);
    return 0;
}

/* ---- path stack ----------------------------------------------------------------------- */

struct walk {
    struct fp_pe path[MAX_DEPTH + 8];
    size_t n;
};

static void push_field(struct walk *w, const char *k)
{
    fp_pe_field(&w->path[w->n++], k);
}

static void push_pe(struct walk *w, const struct fp_pe *pe)
{
    fp_pe_copy(&w->path[w->n++], pe);
}

static void pop(struct walk *w)
{
    fp_pe_release(&w->path[--w->n]);
}

/* Items of a keyed or set list with their path elements (NULL pe.ser: no element). */
struct items {
    size_t n;
    struct fp_pe *pe;
    const json_t **v;
    size_t *ord; /* indexes of the items with a path element, by (element, index) */
    size_t nord;
};

static int ord_cmp(const void *pa, const void *pb, void *arg)
{
    const struct items *it = arg;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    int c = fp_pe_cmp(&it->pe[a], &it->pe[b]);
    return c ? c : (a < b ? -1 : a > b);
}

static int items_of(struct ty t, enum tk k, const json_t *arr, struct items *it, char *why,
                    size_t wn)
{
    it->n = json_array_size(arr);
    it->pe = ck_calloc(it->n ? it->n : 1, sizeof(*it->pe));
    it->v = ck_calloc(it->n ? it->n : 1, sizeof(*it->v));
    int rc = 0;
    for (size_t i = 0; i < it->n; i++) {
        it->v[i] = json_array_get(arr, i);
        char w2[300];
        if (item_pe(t, k, it->v[i], &it->pe[i], w2, sizeof(w2)) < 0 && rc == 0) {
            snprintf(why, wn, "element %zu: %s", i, w2);
            rc = -1;
        }
    }
    /* a sorted index, so that finding an element is a binary search: a list of 10,000
     * containers is 10,000 lookups */
    it->ord = ck_calloc(it->n ? it->n : 1, sizeof(*it->ord));
    it->nord = 0;
    for (size_t i = 0; i < it->n; i++)
        if (it->pe[i].ser)
            it->ord[it->nord++] = i;
    qsort_r(it->ord, it->nord, sizeof(*it->ord), ord_cmp, it);
    return rc;
}

static void items_release(struct items *it)
{
    for (size_t i = 0; i < it->n; i++)
        if (it->pe[i].ser)
            fp_pe_release(&it->pe[i]);
    free(it->pe);
    free(it->v);
    free(it->ord);
}

/* The first item at or after index from whose element equals pe, or -1. */
static long items_find(const struct items *it, const struct fp_pe *pe, size_t from)
{
    size_t lo = 0, hi = it->nord;
    while (lo < hi) { /* first entry >= (pe, from) */
        size_t mid = (lo + hi) / 2, i = it->ord[mid];
        int c = fp_pe_cmp(&it->pe[i], pe);
        if (c < 0 || (c == 0 && i < from))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < it->nord && fp_pe_cmp(&it->pe[it->ord[lo]], pe) == 0)
        return (long)it->ord[lo];
    return -1;
}

static void path_error(struct walk *w, struct ck_err *err, const char *why)
{
    struct ck_buf b = CK_BUF_INIT(1 << 16);
    fp_path_string(&b, w->path, w->n);
    ck_err_set(err, CK_R_INTERNAL, "%s: %s", b.data ? b.data : "", why);
    ck_buf_release(&b);
}

/* ---- ToFieldSet ----------------------------------------------------------------------- */

struct tfs {
    struct walk w;
    struct fp_set *set;
    bool strict;
    struct ck_err *err;
};

static int tfs(struct tfs *s, struct ty t, const json_t *v)
{
    enum tk k = eff(t, v);
    if (s->w.n >= MAX_DEPTH || k == TK_SCALAR || k == TK_LIST_ATOMIC || k == TK_MAP_ATOMIC) {
        fp_set_insert(s->set, s->w.path, s->w.n);
        return 0;
    }
    if (is_list(k)) {
        if (!json_is_array(v))
            return 0;
        struct items it;
        char why[400];
        if (items_of(t, k, v, &it, why, sizeof(why)) < 0 && s->strict) {
            path_error(&s->w, s->err, why);
            items_release(&it);
            return -1;
        }
        for (size_t i = 0; i < it.n; i++) {
            if (!it.pe[i].ser)
                continue;
            long first = items_find(&it, &it.pe[i], 0);
            bool dup = items_find(&it, &it.pe[i], (size_t)first + 1) >= 0;
            push_pe(&s->w, &it.pe[i]);
            int rc = 0;
            if (dup) { /* duplicates are owned as a whole, once */
                if ((size_t)first == i)
                    fp_set_insert(s->set, s->w.path, s->w.n);
            } else {
                rc = tfs(s, child_elem(t), it.v[i]);
                fp_set_insert(s->set, s->w.path, s->w.n);
            }
            pop(&s->w);
            if (rc < 0) {
                items_release(&it);
                return -1;
            }
        }
        items_release(&it);
        return 0;
    }
    if (!json_is_object(v))
        return 0;
    size_t nk;
    const char **keys = fp_sorted_keys(v, &nk); /* sorted: the set grows by appending */
    for (size_t i = 0; i < nk; i++) {
        const char *key = keys[i];
        json_t *val = json_object_get(v, key);
        push_field(&s->w, key);
        int rc = tfs(s, child_field(t, key), val);
        if (json_is_null(val) || (json_is_object(val) && json_object_size(val) == 0) ||
            !declared(t, key))
            fp_set_insert(s->set, s->w.path, s->w.n);
        pop(&s->w);
        if (rc < 0) {
            free(keys);
            return -1;
        }
    }
    free(keys);
    return 0;
}

int typed_field_set(struct ty t, const json_t *v, bool strict, struct fp_set **out,
                    struct ck_err *err)
{
    struct tfs s = {.set = fp_set_new(), .strict = strict, .err = err};
    int rc = tfs(&s, t, v);
    while (s.w.n)
        pop(&s.w);
    if (rc < 0) {
        fp_set_free(s.set);
        *out = NULL;
        return -1;
    }
    *out = s.set;
    return 0;
}

/* ---- Compare -------------------------------------------------------------------------- */

struct cmpw {
    struct walk w;
    struct typed_cmp *c;
};

static void cmp_leaf(struct cmpw *c, const json_t *l, const json_t *r)
{
    if (!l)
        fp_set_insert(c->c->added, c->w.path, c->w.n);
    else if (!r)
        fp_set_insert(c->c->removed, c->w.path, c->w.n);
    else if (!json_equal((json_t *)l, (json_t *)r))
        fp_set_insert(c->c->modified, c->w.path, c->w.n);
}

static void cmpv(struct cmpw *c, struct ty t, const json_t *l, const json_t *r);

static void cmp_item(struct cmpw *c, struct ty t, const struct fp_pe *pe, const json_t *l,
                     const json_t *r)
{
    push_pe(&c->w, pe);
    cmpv(c, t, l, r);
    pop(&c->w);
}

static void cmp_list(struct cmpw *c, struct ty t, enum tk k, const json_t *l, const json_t *r)
{
    struct items li = {0}, ri = {0};
    char why[400];
    items_of(t, k, l, &li, why, sizeof(why));
    items_of(t, k, r, &ri, why, sizeof(why));
    struct ty et = child_elem(t);
    /* every distinct element, lhs order first */
    for (size_t pass = 0; pass < 2; pass++) {
        struct items *src = pass ? &ri : &li;
        for (size_t i = 0; i < src->n; i++) {
            const struct fp_pe *pe = &src->pe[i];
            if (!pe->ser || items_find(src, pe, 0) != (long)i)
                continue;
            if (pass && items_find(&li, pe, 0) >= 0)
                continue;
            long l0 = items_find(&li, pe, 0), r0 = items_find(&ri, pe, 0);
            bool ldup = l0 >= 0 && items_find(&li, pe, (size_t)l0 + 1) >= 0;
            bool rdup = r0 >= 0 && items_find(&ri, pe, (size_t)r0 + 1) >= 0;
            const json_t *lv = l0 >= 0 ? li.v[l0] : NULL, *rv = r0 >= 0 ? ri.v[r0] : NULL;
            if (!ldup && !rdup) {
                cmp_item(c, et, pe, lv, rv);
                continue;
            }
            if (ldup && rdup) {
                bool same = true;
                long a = l0, b = r0;
                while (same && (a >= 0 || b >= 0)) {
                    same = a >= 0 && b >= 0 && json_equal((json_t *)li.v[a], (json_t *)ri.v[b]);
                    if (a >= 0)
                        a = items_find(&li, pe, (size_t)a + 1);
                    if (b >= 0)
                        b = items_find(&ri, pe, (size_t)b + 1);
                }
                push_pe(&c->w, pe);
                if (!same)
                    fp_set_insert(c->c->modified, c->w.path, c->w.n);
            } else if (ldup) {
                if (rv)
                    cmp_item(c, et, pe, NULL, rv);
                push_pe(&c->w, pe);
                fp_set_insert(c->c->removed, c->w.path, c->w.n);
            } else {
                if (lv)
                    cmp_item(c, et, pe, lv, NULL);
                push_pe(&c->w, pe);
                fp_set_insert(c->c->added, c->w.path, c->w.n);
            }
            pop(&c->w);
        }
    }
    items_release(&li);
    items_release(&ri);
}

/* Returns true when the position was handled as a leaf. */
static bool cmp_handle(struct cmpw *c, struct ty t, enum tk k, const json_t *l, const json_t *r)
{
    if (k == TK_SCALAR || c->w.n >= MAX_DEPTH) {
        cmp_leaf(c, l, r);
        return true;
    }
    if (is_list(k)) {
        const json_t *la = json_is_array(l) ? l : NULL, *ra = json_is_array(r) ? r : NULL;
        if (k == TK_LIST_ATOMIC || (json_array_size(la) == 0 && json_array_size(ra) == 0)) {
            cmp_leaf(c, l, r);
            return true;
        }
        cmp_list(c, t, k, la, ra);
        return false;
    }
    const json_t *lo = json_is_object(l) ? l : NULL, *ro = json_is_object(r) ? r : NULL;
    if (k == TK_MAP_ATOMIC || (json_object_size(lo) == 0 && json_object_size(ro) == 0)) {
        cmp_leaf(c, l, r);
        return true;
    }
    /* the union of both key sets in byte order: the result sets grow by appending */
    size_t nl, nr, i = 0, j = 0;
    const char **kl = fp_sorted_keys(lo, &nl), **kr = fp_sorted_keys(ro, &nr);
    while (i < nl || j < nr) {
        int d = i >= nl ? 1 : j >= nr ? -1 : strcmp(kl[i], kr[j]);
        const char *key = d <= 0 ? kl[i] : kr[j];
        push_field(&c->w, key);
        cmpv(c, child_field(t, key), d <= 0 ? json_object_get(lo, key) : NULL,
             d >= 0 ? json_object_get(ro, key) : NULL);
        pop(&c->w);
        i += d <= 0;
        j += d >= 0;
    }
    free(kl);
    free(kr);
    return false;
}

static void cmpv(struct cmpw *c, struct ty t, const json_t *l, const json_t *r)
{
    enum tk kl = eff(t, l), kr = eff(t, r);
    bool leaf;
    if (l && r && kl != kr) { /* the value changed its type: one leaf */
        cmp_leaf(c, l, r);
        leaf = true;
    } else {
        leaf = cmp_handle(c, t, r ? kr : kl, l, r);
    }
    if (!leaf && c->w.n) {
        if (!l)
            fp_set_insert(c->c->added, c->w.path, c->w.n);
        else if (!r)
            fp_set_insert(c->c->removed, c->w.path, c->w.n);
    }
}

void typed_compare(struct ty t, const json_t *a, const json_t *b, struct typed_cmp *c)
{
    c->added = fp_set_new();
    c->modified = fp_set_new();
    c->removed = fp_set_new();
    if (!a && !b)
        return;
    struct cmpw w = {.c = c};
    cmpv(&w, t, a, b);
}

void typed_cmp_release(struct typed_cmp *c)
{
    fp_set_free(c->added);
    fp_set_free(c->modified);
    fp_set_free(c->removed);
    memset(c, 0, sizeof(*c));
}

/* ---- Merge ---------------------------------------------------------------------------- */

struct mergew {
    struct walk w;
    struct ck_err *err;
    int rc;
};

/* A null from the configuration clears the field (what decoding into the Go type does). */
static json_t *keep_rhs(const json_t *l, const json_t *r)
{
    if (r)
        return json_is_null(r) ? NULL : json_deep_copy(r);
    return l ? json_deep_copy(l) : NULL;
}

static json_t *mergev(struct mergew *m, struct ty t, const json_t *l, const json_t *r);

static void merge_item(struct mergew *m, json_t *out, struct ty et, const struct fp_pe *pe,
                       const json_t *l, const json_t *r)
{
    push_pe(&m->w, pe);
    json_t *o = mergev(m, et, l, r);
    pop(&m->w);
    if (o)
        json_array_append_new(out, o);
}

static json_t *merge_list(struct mergew *m, struct ty t, enum tk k, const json_t *l,
                          const json_t *r)
{
    struct items li = {0}, ri = {0};
    char why[400];
    if (items_of(t, k, r, &ri, why, sizeof(why)) < 0 ||
        items_of(t, k, l, &li, why, sizeof(why)) < 0) {
        path_error(&m->w, m->err, why);
        m->rc = -1;
        items_release(&li);
        items_release(&ri);
        return NULL;
    }
    for (size_t i = 0; i < ri.n; i++)
        if (items_find(&ri, &ri.pe[i], 0) != (long)i) {
            struct ck_buf b = CK_BUF_INIT(1 << 16);
            ck_buf_appends(&b, "duplicate entries for key ");
            fp_path_string(&b, &ri.pe[i], 1);
            path_error(&m->w, m->err, b.data);
            ck_buf_release(&b);
            m->rc = -1;
            items_release(&li);
            items_release(&ri);
            return NULL;
        }
    struct ty et = child_elem(t);
    json_t *out = json_array();
    json_t *jnull = json_null();
    bool *merged = ck_calloc(ri.n + 1, sizeof(bool)); /* rhs items already merged */
    /* sharedOrder: rhs items that the lhs has too, in rhs order */
    size_t *shared = ck_calloc(ri.n + 1, sizeof(size_t)), nshared = 0, next = 0;
    for (size_t i = 0; i < ri.n; i++)
        if (items_find(&li, &ri.pe[i], 0) >= 0)
            shared[nshared++] = i;
            /* lhs child for a key: the item, or null when the lhs repeats the key */
#define LCHILD(pe)                                                                                 \
    (items_find(&li, (pe), 0) < 0 ? NULL                                                           \
     : items_find(&li, (pe), (size_t)items_find(&li, (pe), 0) + 1) >= 0                            \
         ? jnull                                                                                   \
         : li.v[items_find(&li, (pe), 0)])
    size_t lI = 0, rI = 0;
    while (m->rc == 0 && (lI < li.n || rI < ri.n)) {
        const struct fp_pe *ns = next < nshared ? &ri.pe[shared[next]] : NULL;
        if (lI < li.n && rI < ri.n) {
            const struct fp_pe *pe = &li.pe[lI];
            if (fp_pe_cmp(pe, &ri.pe[rI]) == 0) {
                merged[rI] = true;
                merge_item(m, out, et, pe, LCHILD(pe), ri.v[rI]);
                lI++;
                rI++;
                next++;
                continue;
            }
            if (items_find(&ri, pe, 0) >= 0 && ns && fp_pe_cmp(ns, pe) != 0) {
                lI++;
                continue;
            }
        }
        if (lI < li.n) {
            const struct fp_pe *pe = &li.pe[lI];
            long ri0 = items_find(&ri, pe, 0);
            if (ri0 < 0) {
                merge_item(m, out, et, pe, li.v[lI], NULL);
                lI++;
                continue;
            } else if (merged[ri0]) {
                lI++;
            }
        }
        if (rI < ri.n) {
            const struct fp_pe *pe = &ri.pe[rI];
            merged[rI] = true;
            merge_item(m, out, et, pe, LCHILD(pe), ri.v[rI]);
            rI++;
            if (ns && fp_pe_cmp(ns, pe) == 0)
                next++;
        }
    }
#undef LCHILD
    free(merged);
    free(shared);
    json_decref(jnull);
    items_release(&li);
    items_release(&ri);
    if (json_array_size(out) == 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static json_t *mergev(struct mergew *m, struct ty t, const json_t *l, const json_t *r)
{
    if (m->rc < 0)
        return NULL;
    if (!r)
        return l ? json_deep_copy(l) : NULL;
    enum tk k = eff(t, r);
    if (l && eff(t, l) != k)
        l = NULL; /* a value of another type is replaced */
    if (k == TK_SCALAR || m->w.n >= MAX_DEPTH)
        return keep_rhs(l, r);
    if (is_list(k)) {
        const json_t *la = json_is_array(l) ? l : NULL, *ra = json_is_array(r) ? r : NULL;
        if (k == TK_LIST_ATOMIC || (json_array_size(la) == 0 && json_array_size(ra) == 0))
            return keep_rhs(l, r);
        return merge_list(m, t, k, la, ra);
    }
    const json_t *lo = json_is_object(l) ? l : NULL, *ro = json_is_object(r) ? r : NULL;
    if (k == TK_MAP_ATOMIC || (json_object_size(lo) == 0 && json_object_size(ro) == 0))
        return keep_rhs(l, r);
    json_t *out = json_object();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)lo, key, v)
    {
        push_field(&m->w, key);
        json_t *o = mergev(m, child_field(t, key), v, json_object_get(ro, key));
        pop(&m->w);
        if (o)
            json_object_set_new(out, key, o);
    }
    json_object_foreach((json_t *)ro, key, v)
    {
        if (json_object_get(lo, key))
            continue;
        push_field(&m->w, key);
        json_t *o = mergev(m, child_field(t, key), NULL, v);
        pop(&m->w);
        if (o)
            json_object_set_new(out, key, o);
    }
    if (json_object_size(out) == 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

int typed_merge(struct ty t, const json_t *a, const json_t *b, json_t **out, struct ck_err *err)
{
    struct mergew m = {.err = err};
    json_t *o = mergev(&m, t, a, b);
    while (m.w.n)
        pop(&m.w);
    if (m.rc < 0) {
        json_decref(o);
        *out = NULL;
        return -1;
    }
    *out = o ? o : json_object();
    return 0;
}

/* ---- RemoveItems ---------------------------------------------------------------------- */

static json_t *removev(struct ty t, const json_t *v, const struct fp_set *s, int depth)
{
    enum tk k = eff(t, v);
    if (k == TK_SCALAR || depth >= MAX_DEPTH)
        return json_deep_copy(v);
    if (is_list(k)) {
        if (!json_is_array(v) || json_array_size(v) == 0 || k == TK_LIST_ATOMIC)
            return NULL;
        json_t *out = json_array();
        struct ty et = child_elem(t);
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            struct fp_pe pe;
            char why[300];
            if (item_pe(t, k, item, &pe, why, sizeof(why)) < 0) {
                json_array_append(out, item);
                continue;
            }
            if (!fp_set_has(s, &pe, 1)) {
                const struct fp_set *sub = fp_set_prefix(s, &pe);
                json_t *o = sub ? removev(et, item, sub, depth + 1) : json_deep_copy(item);
                if (o)
                    json_array_append_new(out, o);
            }
            fp_pe_release(&pe);
        }
        if (json_array_size(out))
            return out;
        json_decref(out);
        return NULL;
    }
    if (!json_is_object(v) || json_object_size(v) == 0 || k == TK_MAP_ATOMIC)
        return NULL;
    json_t *out = json_object();
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val)
    {
        struct fp_pe pe;
        fp_pe_field(&pe, key);
        if (!fp_set_has(s, &pe, 1)) {
            const struct fp_set *sub = fp_set_prefix(s, &pe);
            json_t *o =
                sub ? removev(child_field(t, key), val, sub, depth + 1) : json_deep_copy(val);
            if (o)
                json_object_set_new(out, key, o);
        }
        fp_pe_release(&pe);
    }
    if (json_object_size(out))
        return out;
    json_decref(out);
    return NULL;
}

json_t *typed_remove(struct ty t, const json_t *v, const struct fp_set *s)
{
    json_t *o = removev(t, v, s, 0);
    return o ? o : json_object();
}

/* ---- EnsureNamedFieldsAreMembers ------------------------------------------------------ */

static struct fp_set *named(struct ty t, bool typed, const struct fp_set *s, int depth)
{
    struct fp_set *out = fp_set_new();
    enum tk k = typed ? schema_kind(t) : TK_DEDUCED;
    const struct schema_type *st = typed ? struct_of(t) : NULL;
    for (size_t i = 0; s && i < s->n; i++) {
        const struct fp_node *nd = &s->v[i];
        bool member = nd->member;
        struct fp_set *ch = NULL;
        if (nd->child) {
            struct ty ct = deduced;
            bool ctyped = false;
            if (nd->pe.kind == FP_FIELD && st) {
                const struct schema_field *sf = schema_field_find(st, nd->pe.ser + 2);
                if (sf) {
                    member = true;
                    ct = (struct ty){.st = sf->ref, .f = sf};
                    ctyped = true;
                }
            } else if (nd->pe.kind == FP_FIELD && (k == TK_MAP || k == TK_MAP_ATOMIC)) {
                ct = child_field(t, nd->pe.ser + 2);
                ctyped = true;
            } else if (nd->pe.kind == FP_KEY && is_list(k)) {
                ct = child_elem(t);
                ctyped = true;
            }
            ch = depth < MAX_DEPTH ? named(ct, ctyped, nd->child, depth + 1)
                                   : fp_set_copy(nd->child);
        }
        if (out->n == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 4;
            out->v = ck_realloc(out->v, out->cap * sizeof(*out->v));
        }
        if (ch && ch->n == 0) {
            fp_set_free(ch);
            ch = NULL;
        }
        if (!member && !ch)
            continue;
        struct fp_node *o = &out->v[out->n++];
        fp_pe_copy(&o->pe, &nd->pe);
        o->member = member;
        o->child = ch;
    }
    return out;
}

struct fp_set *typed_named_members(struct ty t, const struct fp_set *s)
{
    return named(t, true, s, 0);
}
