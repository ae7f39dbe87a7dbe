/* SPDX-License-Identifier: Apache-2.0 */
/* Strategic merge patch on jansson values, driven by the schema table: maps merge, null
 * deletes, lists merge by patchMergeKey (or union for scalars) when the field's strategy is
 * merge and are replaced otherwise; directives $patch, $retainKeys, $setElementOrder/<f>,
 * $deleteFromPrimitiveList/<f>. Element order follows upstream: patch order first, then
 * server-only items placed by their position in the live list. Inputs are never modified:
 * the document is deep-copied once and the copy is merged in place. */
#include "apiserver/registry/schema.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define SMP_MAX_DEPTH 256
#define PFX_ORDER "$setElementOrder/"
#define PFX_DELETE "$deleteFromPrimitiveList/"

/* Where a value sits in the schema: inside a struct type, inside a map-typed field (every
 * key then has the field's element type), or nowhere known (t == NULL, elem_of == NULL). */
struct pos {
    const struct schema_type *t;
    const struct schema_field *elem_of;
};

/* Patch metadata of one member. */
struct meta {
    struct pos sub; /* position of the member's value (or of its list elements) */
    unsigned strategy;
    const char *mk;
};

struct smp {
    struct ck_err *err;
    int depth;
};

static json_t *merge_map(struct smp *s, json_t *orig, const json_t *patch, struct pos p);

static struct pos type_pos(const struct schema_field *f)
{
    struct pos p = {NULL, NULL};
    if (f->prim == SCHEMA_P_REF && f->ref->kind == SCHEMA_T_STRUCT)
        p.t = f->ref;
    return p;
}

static struct meta lookup(struct pos p, const char *key)
{
    struct meta m = {{NULL, NULL}, 0, NULL};
    const struct schema_field *f = NULL;
    if (p.elem_of) {
        m.sub = type_pos(p.elem_of); /* a value of a map-typed field */
        return m;
    }
    f = schema_field_find(p.t, key);
    if (!f)
        return m;
    m.strategy = f->strategy;
    m.mk = f->merge_key;
    if (f->coll == SCHEMA_C_MAP)
        m.sub.elem_of = f;
    else
        m.sub = type_pos(f);
    return m;
}

static int fail(struct smp *s, enum ck_reason r, const char *what, const char *key)
{
    return ck_err_set(s->err, r, "%s%s%s", what, key ? ": " : "", key ? key : "");
}

/* ---- JSON value categories and small helpers ---- */

static int category(const json_t *v)
{
    if (json_is_number(v))
        return JSON_INTEGER; /* Go decodes every number as float64: one category */
    return (int)json_typeof(v);
}

static bool values_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    return json_equal(a, b);
}

static const json_t *mk_value(const json_t *item, const char *mk)
{
    return json_is_object(item) ? json_object_get(item, mk) : NULL;
}

/* ---- list indexes: merge-key value (maps) or value (scalars) -> first position ----
 * Hashed (a jansson object keyed by a canonical text of the value) so that merging lists of
 * n items costs O(n), not O(n^2): request bodies may carry hundreds of thousands of items. */

/* Canonical text of a value; numbers compare by value, as Go's float64 does. */
static char *key_text(const json_t *k)
{
    if (json_is_number(k))
        return ck_asprintf("#%.17g", json_number_value(k));
    char *t = json_dumps(k, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);
    return t ? t : ck_strdup("?");
}

static long index_get(const json_t *idx, const json_t *v, const char *mk)
{
    const json_t *key = mk ? mk_value(v, mk) : v;
    if (!key)
        return -1;
    char *t = key_text(key);
    json_t *at = json_object_get(idx, t);
    free(t);
    return at ? (long)json_integer_value(at) : -1;
}

static void index_add(json_t *idx, const json_t *v, const char *mk, size_t pos)
{
    const json_t *key = mk ? mk_value(v, mk) : v;
    if (!key)
        return;
    char *t = key_text(key);
    if (!json_object_get(idx, t))
        json_object_set_new(idx, t, json_integer((json_int_t)pos));
    free(t);
}

static json_t *index_new(const json_t *list, const char *mk)
{
    json_t *idx = json_object();
    for (size_t i = 0; i < json_array_size(list); i++)
        index_add(idx, json_array_get(list, i), mk, i);
    return idx;
}

static bool is_directive_item(const json_t *v)
{
    return json_is_object(v) && json_object_get(v, "$patch") != NULL;
}

/* A patch value stored where the live object has nothing (or something of another type):
 * merged into an empty value so that nulls and directives never reach storage. */
static json_t *fresh(struct smp *s, const json_t *v, struct meta m);

static json_t *merge_list(struct smp *s, json_t *orig, const json_t *patch, struct meta m);

static json_t *fresh(struct smp *s, const json_t *v, struct meta m)
{
    if (json_is_object(v))
        return merge_map(s, json_object(), v, m.sub);
    if (json_is_array(v)) {
        if (m.strategy & SCHEMA_PS_MERGE)
            return merge_list(s, json_array(), v, m);
        json_t *out = json_array();
        struct meta em = {m.sub, 0, NULL};
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e) {
            json_t *c = json_is_object(e) ? fresh(s, e, em) : json_deep_copy(e);
            if (!c) {
                json_decref(out);
                return NULL;
            }
            json_array_append_new(out, c);
        }
        return out;
    }
    return json_deep_copy(v);
}

/* ---- ordering (upstream normalizeElementOrder / mergeSortedSlice) ---- */

struct keyed {
    long key;
    size_t pos;
};

static int cmp_keyed(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Stable sort of items (a new array) by their position in the order index; items not in it
 * keep their relative order after the others. */
static json_t *sort_by(const json_t *items, const json_t *order_idx, const char *mk)
{
    size_t n = json_array_size(items);
    struct keyed *k = ck_calloc(n ? n : 1, sizeof(*k));
    for (size_t i = 0; i < n; i++) {
        k[i].key = index_get(order_idx, json_array_get(items, i), mk);
        if (k[i].key < 0)
            k[i].key = LONG_MAX;
        k[i].pos = i;
    }
    qsort(k, n, sizeof(*k), cmp_keyed);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(out, json_array_get(items, k[i].pos));
    free(k);
    return out;
}

/* Interleaves server-only items (left) into patch items (right) by live-list order: a
 * server-only item goes first only when both are in the live list and it comes earlier. */
static json_t *merge_sorted(const json_t *left, const json_t *right, const json_t *server_idx,
                            const char *mk)
{
    json_t *out = json_array();
    size_t i = 0, j = 0, nl = json_array_size(left), nr = json_array_size(right);
    long li = nl ? index_get(server_idx, json_array_get(left, 0), mk) : -1;
    long ri = nr ? index_get(server_idx, json_array_get(right, 0), mk) : -1;
    while (i < nl || j < nr) {
        bool take_left = j >= nr || (i < nl && li >= 0 && ri >= 0 && li < ri);
        if (take_left) {
            json_array_append(out, json_array_get(left, i++));
            li = i < nl ? index_get(server_idx, json_array_get(left, i), mk) : -1;
        } else {
            json_array_append(out, json_array_get(right, j++));
            ri = j < nr ? index_get(server_idx, json_array_get(right, j), mk) : -1;
        }
    }
    return out;
}

/* Orders merged: items present in the patch order sorted by it, the rest by server order,
 * then interleaved (upstream normalizeElementOrder). */
static json_t *normalize_order(const json_t *merged, const json_t *patch_order,
                               const json_t *server, const char *mk)
{
    json_t *pidx = index_new(patch_order, mk), *sidx = index_new(server, mk);
    json_t *in = json_array(), *out_only = json_array();
    size_t i;
    const json_t *e;
    json_array_foreach(merged, i, e) {
        if (index_get(pidx, e, mk) >= 0)
            json_array_append(in, (json_t *)e);
        else
            json_array_append(out_only, (json_t *)e);
    }
    json_t *a = sort_by(in, pidx, mk);
    json_t *b = sort_by(out_only, sidx, mk);
    json_t *res = merge_sorted(b, a, sidx, mk);
    json_decref(in);
    json_decref(out_only);
    json_decref(a);
    json_decref(b);
    json_decref(pidx);
    json_decref(sidx);
    return res;
}

/* ---- lists ---- */

/* All elements of both lists share one JSON category; lists of lists are refused. */
static int check_elements(struct smp *s, const json_t *a, const json_t *b, int *cat)
{
    *cat = -1;
    const json_t *lists[2] = {a, b};
    for (int l = 0; l < 2; l++) {
        size_t i;
        const json_t *e;
        json_array_foreach(lists[l], i, e) {
            if (json_is_array(e))
                return fail(s, CK_R_INVALID, "lists of lists are not supported", NULL);
            if (*cat < 0)
                *cat = category(e);
            else if (*cat != category(e))
                return fail(s, CK_R_BAD_REQUEST, "list element types are not identical", NULL);
        }
    }
    return 0;
}

static json_t *merge_scalar_list(json_t *orig, const json_t *patch)
{
    json_t *both = json_array(), *seen = json_object();
    const json_t *lists[2] = {orig, patch};
    for (int l = 0; l < 2; l++) {
        size_t i;
        const json_t *e;
        json_array_foreach(lists[l], i, e) {
            if (index_get(seen, e, NULL) >= 0)
                continue;
            index_add(seen, e, NULL, json_array_size(both));
            json_array_append_new(both, json_deep_copy(e));
        }
    }
    json_t *res = normalize_order(both, patch, orig, NULL);
    json_decref(seen);
    json_decref(both);
    json_decref(orig);
    return res;
}

/* Applies $patch elements; returns the non-directive elements (new array) or NULL. */
static json_t *special_elements(struct smp *s, json_t **orig, const json_t *patch, const char *mk,
                                bool *replace)
{
    json_t *rest = json_array(), *gone = json_object();
    size_t i;
    const json_t *e;
    json_array_foreach(patch, i, e) {
        const json_t *d = json_object_get(e, "$patch");
        if (!d) {
            json_array_append(rest, (json_t *)e);
            continue;
        }
        const char *dv = json_string_value(d);
        if (dv && strcmp(dv, "delete") == 0) {
            const json_t *key = json_object_get(e, mk);
            if (!key) {
                fail(s, CK_R_BAD_REQUEST, "$patch: delete item does not contain the merge key", mk);
                goto bad;
            }
            index_add(gone, e, mk, 0);
        } else if (dv && strcmp(dv, "replace") == 0) {
            *replace = true;
        } else if (dv && strcmp(dv, "merge") == 0) {
            fail(s, CK_R_BAD_REQUEST, "merging lists cannot yet be specified in the patch", NULL);
            goto bad;
        } else {
            fail(s, CK_R_BAD_REQUEST, "unknown patch type", dv ? dv : "(not a string)");
            goto bad;
        }
    }
    if (json_object_size(gone)) {
        json_t *kept = json_array();
        size_t i2;
        const json_t *o;
        json_array_foreach(*orig, i2, o)
            if (index_get(gone, o, mk) < 0)
                json_array_append(kept, (json_t *)o);
        json_decref(*orig);
        *orig = kept;
    }
    json_decref(gone);
    return rest;
bad:
    json_decref(gone);
    json_decref(rest);
    return NULL;
}

static json_t *merge_map_list(struct smp *s, json_t *orig, const json_t *patch, struct meta m)
{
    bool replace = false;
    json_t *items = special_elements(s, &orig, patch, m.mk, &replace);
    if (!items)
        goto bad;
    if (replace) {
        json_decref(orig);
        orig = json_array();
    }
    json_t *server = json_copy(orig); /* live order after deletions, before appends */
    json_t *idx = index_new(orig, m.mk);
    struct meta em = {m.sub, 0, NULL};
    size_t i;
    const json_t *e;
    json_array_foreach(items, i, e) {
        if (!json_object_get(e, m.mk)) {
            fail(s, CK_R_BAD_REQUEST, "map in a merge list does not contain the merge key",
                 m.mk);
            goto bad_server;
        }
        long at = replace ? -1 : index_get(idx, e, m.mk);
        json_t *v = at >= 0 ? merge_map(s, json_incref(json_array_get(orig, (size_t)at)), e, m.sub)
                            : fresh(s, e, em);
        if (!v)
            goto bad_server;
        if (at >= 0) {
            json_array_set_new(orig, (size_t)at, v);
        } else {
            json_array_append_new(orig, v);
            index_add(idx, v, m.mk, json_array_size(orig) - 1);
        }
    }
    json_decref(idx);
    json_t *res = replace ? json_incref(orig) : normalize_order(orig, items, server, m.mk);
    json_decref(server);
    json_decref(items);
    json_decref(orig);
    return res;
bad_server:
    json_decref(idx);
    json_decref(server);
bad:
    json_decref(items);
    json_decref(orig);
    return NULL;
}

/* Merges patch (a list) into orig (owned) for a field whose strategy is merge. */
static json_t *merge_list(struct smp *s, json_t *orig, const json_t *patch, struct meta m)
{
    int cat;
    if (json_array_size(orig) == 0 && json_array_size(patch) == 0)
        return orig;
    if (check_elements(s, orig, patch, &cat) < 0) {
        json_decref(orig);
        return NULL;
    }
    if (cat != JSON_OBJECT)
        return merge_scalar_list(orig, patch);
    if (!m.mk) {
        json_decref(orig);
        fail(s, CK_R_BAD_REQUEST, "cannot merge lists without merge key", NULL);
        return NULL;
    }
    return merge_map_list(s, orig, patch, m);
}

/* ---- maps ---- */

static int apply_retain_keys(struct smp *s, json_t *orig, const json_t *patch)
{
    const json_t *rk = json_object_get(patch, "$retainKeys");
    if (!rk)
        return 0;
    if (!json_is_array(rk))
        return fail(s, CK_R_BAD_REQUEST, "invalid patch format of retainKeys", NULL);
    json_t *keep = index_new(rk, NULL);
    const char *k;
    const json_t *v;
    int rc = 0;
    json_object_foreach((json_t *)patch, k, v) {
        if (json_is_null(v) || k[0] == '$')
            continue;
        json_t *ks = json_string(k);
        long at = index_get(keep, ks, NULL);
        json_decref(ks);
        if (at < 0) {
            rc = fail(s, CK_R_INVALID, "patch content doesn't match retainKeys list", k);
            break;
        }
    }
    void *tmp;
    json_object_foreach_safe(orig, tmp, k, v) {
        if (rc < 0)
            break;
        json_t *ks = json_string(k);
        if (index_get(keep, ks, NULL) < 0)
            json_object_del(orig, k);
        json_decref(ks);
    }
    json_decref(keep);
    return rc;
}

static int delete_from_primitive_lists(struct smp *s, json_t *orig, const json_t *patch)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)patch, k, v) {
        if (strncmp(k, PFX_DELETE, strlen(PFX_DELETE)) != 0)
            continue;
        if (!json_is_array(v))
            return fail(s, CK_R_BAD_REQUEST, "invalid patch format of primitive list", k);
        json_t *list = json_object_get(orig, k + strlen(PFX_DELETE));
        if (!json_is_array(list))
            continue;
        json_t *gone = index_new(v, NULL), *kept = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(list, i, e)
            if (index_get(gone, e, NULL) < 0)
                json_array_append(kept, e);
        json_object_set_new(orig, k + strlen(PFX_DELETE), kept);
        json_decref(gone);
    }
    return 0;
}

/* Checks that the patch list items appear in the $setElementOrder list in the same order. */
static int validate_order(struct smp *s, const json_t *plist, const json_t *order, const char *mk)
{
    size_t pi = 0, oi = 0, np = json_array_size(plist), no = json_array_size(order);
    while (pi < np && oi < no) {
        const json_t *pe = json_array_get(plist, pi);
        if (is_directive_item(pe)) {
            pi++;
            continue;
        }
        const json_t *a = mk ? mk_value(pe, mk) : pe;
        const json_t *b = mk ? mk_value(json_array_get(order, oi), mk) : json_array_get(order, oi);
        if (mk && (!a || !b))
            return fail(s, CK_R_BAD_REQUEST, "setElementOrder item without the merge key", mk);
        if (values_equal(a, b))
            pi++;
        oi++;
    }
    while (pi < np && is_directive_item(json_array_get(plist, pi)))
        pi++;
    if (pi < np)
        return fail(s, CK_R_BAD_REQUEST, "the order in the patch list doesn't match the "
                                         "$setElementOrder list", NULL);
    return 0;
}

/* Reorders orig[field] (already merged) by the $setElementOrder list. */
static int apply_order(struct smp *s, json_t *orig, const char *field, const json_t *order,
                       const json_t *plist, const json_t *live, struct meta m)
{
    if (!json_is_array(order))
        return fail(s, CK_R_BAD_REQUEST, "invalid patch format of setElementOrder list", field);
    json_t *merged = json_object_get(orig, field);
    if (!json_is_array(merged))
        return 0;
    bool maps = json_array_size(merged) > 0 && json_is_object(json_array_get(merged, 0));
    const char *mk = maps ? m.mk : NULL;
    if (maps && !mk)
        return 0; /* no merge key known: nothing to order by */
    if (plist && validate_order(s, plist, order, mk) < 0)
        return -1;
    json_t *res = normalize_order(merged, order, live ? live : merged, mk);
    json_object_set_new(orig, field, res);
    return 0;
}

static json_t *handle_map_directive(struct smp *s, json_t *orig, const json_t *patch,
                                    struct pos p, bool *done)
{
    const json_t *d = json_object_get(patch, "$patch");
    *done = false;
    if (!d)
        return orig;
    const char *dv = json_string_value(d);
    *done = true;
    if (dv && strcmp(dv, "replace") == 0) {
        json_decref(orig);
        json_t *rest = json_copy((json_t *)patch);
        json_object_del(rest, "$patch");
        json_t *res = merge_map(s, json_object(), rest, p);
        json_decref(rest);
        return res;
    }
    if (dv && strcmp(dv, "delete") == 0) {
        json_decref(orig);
        return json_object();
    }
    if (dv && strcmp(dv, "merge") == 0) {
        *done = false; /* the default: merge the other members */
        return orig;
    }
    json_decref(orig);
    fail(s, CK_R_BAD_REQUEST, "unknown patch type", dv ? dv : "(not a string)");
    return NULL;
}

/* Merges one regular member k of the patch into orig. */
static int merge_member(struct smp *s, json_t *orig, const char *k, const json_t *pv, struct pos p)
{
    struct meta m = lookup(p, k);
    json_t *ov = json_object_get(orig, k);
    json_t *nv;
    if (json_is_null(pv)) {
        json_object_del(orig, k);
        return 0;
    }
    if (!ov || json_typeof(ov) != json_typeof(pv) ||
        (!json_is_object(pv) && !json_is_array(pv))) {
        if (!ov && json_is_array(pv) && (m.strategy & SCHEMA_PS_MERGE))
            nv = merge_list(s, json_array(), pv, m);
        else
            nv = fresh(s, pv, m);
    } else if (json_is_object(pv)) {
        nv = (m.strategy & SCHEMA_PS_REPLACE) ? fresh(s, pv, m)
                                              : merge_map(s, json_incref(ov), pv, m.sub);
    } else {
        nv = (m.strategy & SCHEMA_PS_MERGE) ? merge_list(s, json_deep_copy(ov), pv, m)
                                            : fresh(s, pv, m);
    }
    if (!nv)
        return -1;
    json_object_set_new(orig, k, nv);
    return 0;
}

static int merge_members(struct smp *s, json_t *orig, const json_t *patch, struct pos p)
{
    const char *k;
    const json_t *pv;
    json_object_foreach((json_t *)patch, k, pv) {
        if (k[0] == '$') {
            /* an order directive whose list is not in the patch reorders the live list */
            if (strncmp(k, PFX_ORDER, strlen(PFX_ORDER)) == 0 &&
                !json_object_get(patch, k + strlen(PFX_ORDER))) {
                const char *f = k + strlen(PFX_ORDER);
                if (apply_order(s, orig, f, pv, NULL, NULL, lookup(p, f)) < 0)
                    return -1;
            }
            if (strcmp(k, "$patch") == 0 || strcmp(k, "$retainKeys") == 0 ||
                strncmp(k, PFX_ORDER, strlen(PFX_ORDER)) == 0 ||
                strncmp(k, PFX_DELETE, strlen(PFX_DELETE)) == 0)
                continue;
        }
        char okey[512];
        snprintf(okey, sizeof(okey), "%s%s", PFX_ORDER, k);
        const json_t *order = json_object_get(patch, okey);
        json_t *live = order ? json_deep_copy(json_object_get(orig, k)) : NULL;
        int rc = merge_member(s, orig, k, pv, p);
        if (rc == 0 && order)
            rc = apply_order(s, orig, k, order, json_is_array(pv) ? pv : NULL, live,
                             lookup(p, k));
        json_decref(live);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Merges patch (an object) into orig (owned object); returns the result (owned) or NULL. */
static json_t *merge_map(struct smp *s, json_t *orig, const json_t *patch, struct pos p)
{
    bool done;
    if (!orig)
        return NULL;
    if (++s->depth > SMP_MAX_DEPTH) {
        json_decref(orig);
        s->depth--;
        fail(s, CK_R_BAD_REQUEST, "patch nested too deeply", NULL);
        return NULL;
    }
    orig = handle_map_directive(s, orig, patch, p, &done);
    if (!done && orig &&
        (apply_retain_keys(s, orig, patch) < 0 || delete_from_primitive_lists(s, orig, patch) < 0 ||
         merge_members(s, orig, patch, p) < 0)) {
        json_decref(orig);
        orig = NULL;
    }
    s->depth--;
    return orig;
}

/* RFC 7386 merge patch, used for types without a schema. */
static json_t *merge_patch(const json_t *doc, const json_t *patch, int depth)
{
    if (!json_is_object(patch) || depth > SMP_MAX_DEPTH)
        return json_deep_copy(patch);
    json_t *out = json_is_object(doc) ? json_deep_copy(doc) : json_object();
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)patch, k, v) {
        if (json_is_null(v))
            json_object_del(out, k);
        else
            json_object_set_new(out, k, merge_patch(json_object_get(out, k), v, depth + 1));
    }
    return out;
}

int schema_smp_apply(const struct schema_type *t, const json_t *doc, const json_t *patch,
                     json_t **out, struct ck_err *err)
{
    *out = NULL;
    if (!json_is_object(patch) || !json_is_object(doc))
        return ck_err_set(err, CK_R_BAD_REQUEST, "invalid JSON document: %s must be an object",
                          json_is_object(doc) ? "the patch" : "the document");
    if (!t) {
        *out = merge_patch(doc, patch, 0);
        return 0;
    }
    struct smp s = {err, 0};
    struct pos p = {t, NULL};
    json_t *res = merge_map(&s, json_deep_copy(doc), patch, p);
    if (!res)
        return -1;
    *out = res;
    return 0;
}
