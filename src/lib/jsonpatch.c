/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 6902 JSON Patch and RFC 6901 JSON Pointer on jansson values. The patch is applied to a
 * deep copy of the document, so inputs are never modified and a failed patch leaves nothing
 * behind. Operation count, nesting depth and copy growth are capped (see jsonpatch.h). */
#include "lib/jsonpatch.h"
#include "lib/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

/* ---------------------------------------------------------------- shared helpers */

size_t jsonpatch_depth(const json_t *v, size_t limit)
{
    if (!json_is_object(v) && !json_is_array(v))
        return 0;
    if (limit == 0)
        return 1; /* already past the caller's limit; stop descending */
    size_t best = 0, d;
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m)
        {
            d = jsonpatch_depth(m, limit - 1);
            if (d > best)
                best = d;
            if (best >= limit)
                break;
        }
    } else {
        for (size_t i = 0; i < json_array_size(v); i++) {
            d = jsonpatch_depth(json_array_get(v, i), limit - 1);
            if (d > best)
                best = d;
            if (best >= limit)
                break;
        }
    }
    return best + 1;
}

static bool num_equal(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b))
        return json_integer_value(a) == json_integer_value(b);
    return json_number_value(a) == json_number_value(b);
}

static bool object_equal(const json_t *a, const json_t *b)
{
    if (json_object_size(a) != json_object_size(b))
        return false;
    const char *k;
    size_t kl;
    json_t *m;
    json_object_keylen_foreach((json_t *)a, k, kl, m)
    {
        json_t *o = json_object_getn(b, k, kl);
        if (!o || !jsonpatch_equal(m, o))
            return false;
    }
    return true;
}

bool jsonpatch_equal(const json_t *a, const json_t *b)
{
    if (!a || !b)
        return a == b;
    if (json_is_number(a) && json_is_number(b))
        return num_equal(a, b);
    if (json_typeof(a) != json_typeof(b))
        return false;
    switch (json_typeof(a)) {
    case JSON_OBJECT:
        return object_equal(a, b);
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!jsonpatch_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    default:
        return true; /* true, false, null */
    }
}

/* Approximate memory of v (64 bytes a node plus key and string bytes): the growth measure
 * for `copy`. Stops counting past cap. */
static size_t weight(const json_t *v, size_t cap)
{
    size_t w = 64;
    if (json_is_string(v))
        return w + json_string_length(v);
    if (json_is_object(v)) {
        const char *k;
        size_t kl;
        json_t *m;
        json_object_keylen_foreach((json_t *)v, k, kl, m)
        {
            w += kl + weight(m, cap);
            if (w > cap)
                return w;
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v) && w <= cap; i++)
            w += weight(json_array_get(v, i), cap);
    }
    return w;
}

/* ---------------------------------------------------------------- pointers */

struct ptr {
    char **tok;  /* unescaped reference tokens */
    size_t *len; /* their lengths (tokens may hold NUL) */
    size_t n;
};

static void ptr_free(struct ptr *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->tok[i]);
    free(p->tok);
    free(p->len);
    memset(p, 0, sizeof(*p));
}

/* Parses an RFC 6901 pointer of length n; -1 if malformed. */
static int ptr_parse(const char *s, size_t n, struct ptr *p)
{
    memset(p, 0, sizeof(*p));
    if (n == 0)
        return 0;
    if (s[0] != '/')
        return -1;
    size_t cnt = 0;
    for (size_t i = 0; i < n; i++)
        cnt += s[i] == '/';
    p->tok = ck_calloc(cnt, sizeof(*p->tok));
    p->len = ck_calloc(cnt, sizeof(*p->len));
    size_t i = 1;
    while (p->n < cnt) {
        const char *end = memchr(s + i, '/', n - i);
        char *t = ck_malloc((size_t)((end ? end : s + n) - (s + i)) + 1); /* unescaping shrinks */
        size_t w = 0;
        for (; i < n && s[i] != '/'; i++) {
            if (s[i] == '~') {
                if (i + 1 >= n || (s[i + 1] != '0' && s[i + 1] != '1')) {
                    free(t);
                    ptr_free(p);
                    return -1;
                }
                t[w++] = s[i + 1] == '0' ? '~' : '/';
                i++;
            } else {
                t[w++] = s[i];
            }
        }
        t[w] = 0;
        p->tok[p->n] = t;
        p->len[p->n++] = w;
        i++; /* skip '/' */
    }
    return 0;
}

/* Array index per RFC 6901: "0" or [1-9][0-9]*; -1 if not one. */
static long long parse_index(const char *t, size_t n)
{
    if (n == 0 || n > 18 || (n > 1 && t[0] == '0'))
        return -1;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] < '0' || t[i] > '9')
            return -1;
        v = v * 10 + (t[i] - '0');
    }
    return v;
}

/* Child of c named by token i, or NULL. */
static json_t *child(json_t *c, const struct ptr *p, size_t i)
{
    if (json_is_object(c))
        return json_object_getn(c, p->tok[i], p->len[i]);
    if (json_is_array(c)) {
        long long idx = parse_index(p->tok[i], p->len[i]);
        if (idx < 0 || (size_t)idx >= json_array_size(c))
            return NULL;
        return json_array_get(c, (size_t)idx);
    }
    return NULL;
}

/* Walks all tokens but the last; returns the parent container or NULL. */
static json_t *walk_parent(json_t *doc, const struct ptr *p)
{
    json_t *c = doc;
    for (size_t i = 0; c && i + 1 < p->n; i++)
        c = child(c, p, i);
    return (json_is_object(c) || json_is_array(c)) ? c : NULL;
}

json_t *jsonpointer_get(const json_t *doc, const char *pointer)
{
    struct ptr p;
    if (!doc || !pointer || ptr_parse(pointer, strlen(pointer), &p) < 0)
        return NULL;
    json_t *c = (json_t *)doc;
    for (size_t i = 0; c && i < p.n; i++)
        c = child(c, &p, i);
    ptr_free(&p);
    return c;
}

/* ---------------------------------------------------------------- operations */

enum jp_kind { JP_ADD, JP_REMOVE, JP_REPLACE, JP_MOVE, JP_COPY, JP_TEST };

struct op {
    enum jp_kind kind;
    const char *kname;
    const char *path;
    size_t pathlen;
    struct ptr pp;
    const char *from;
    size_t fromlen;
    struct ptr fp;
    json_t *value; /* borrowed from the patch */
};

struct state {
    json_t *doc;        /* the working copy (owned) */
    size_t depth_bound; /* upper bound on the working copy's depth */
    size_t copied;      /* accumulated weight of `copy` values */
    struct ck_err *err;
};

/* fmt takes: operation name, pointer (%.*s), detail (%s). */
static int op_fail_at(struct state *st, const struct op *o, const char *fmt, const char *ptr,
                      size_t plen, const char *detail)
{
    ck_err_set(st->err, CK_R_INVALID, fmt, o->kname, (int)(plen > 512 ? 512 : plen), ptr, detail);
    return -1;
}

static int op_fail(struct state *st, const struct op *o, const char *fmt, const char *detail)
{
    return op_fail_at(st, o, fmt, o->path, o->pathlen, detail);
}

/* Keeps the result's nesting within JSONPATCH_MAX_DEPTH after a move or copy that may have
 * deepened the document by `grow` levels: the cheap upper bound is tightened by an exact
 * (bounded) walk only when it passes the limit. The working copy is discarded on failure. */
static int check_depth_after(struct state *st, size_t grow)
{
    st->depth_bound += grow;
    if (st->depth_bound <= JSONPATCH_MAX_DEPTH)
        return 0;
    st->depth_bound = jsonpatch_depth(st->doc, JSONPATCH_MAX_DEPTH + 1);
    if (st->depth_bound <= JSONPATCH_MAX_DEPTH)
        return 0;
    return ck_err_set(st->err, CK_R_INVALID,
                      "json patch result nesting exceeds the limit of %d levels",
                      JSONPATCH_MAX_DEPTH);
}

/* Checks a value from the patch before it is copied in at pointer p (exact, bounded). */
static int check_value_depth(struct state *st, const struct ptr *p, const json_t *v)
{
    size_t d = p->n + jsonpatch_depth(v, JSONPATCH_MAX_DEPTH + 1);
    if (d > JSONPATCH_MAX_DEPTH)
        return ck_err_set(st->err, CK_R_INVALID,
                          "json patch result nesting exceeds the limit of %d levels",
                          JSONPATCH_MAX_DEPTH);
    if (d > st->depth_bound)
        st->depth_bound = d;
    return 0;
}

/* Inserts val (reference stolen) at pointer p. Used by add, move and copy. */
static int put(struct state *st, const struct op *o, const struct ptr *p, json_t *val)
{
    if (p->n == 0) {
        json_decref(st->doc);
        st->doc = val;
        return 0;
    }
    json_t *parent = walk_parent(st->doc, p);
    const char *last = p->tok[p->n - 1];
    size_t ll = p->len[p->n - 1];
    if (!parent) {
        json_decref(val);
        return op_fail(st, o, "%s operation does not apply: doc is missing path: \"%.*s\"%s", "");
    }
    if (json_is_object(parent)) {
        if (json_object_setn_new(parent, last, ll, val) < 0) /* val released by jansson */
            return op_fail(st, o, "%s operation does not apply: invalid key in \"%.*s\"%s", "");
        return 0;
    }
    size_t sz = json_array_size(parent);
    if (ll == 1 && last[0] == '-') {
        json_array_append_new(parent, val);
        return 0;
    }
    long long idx = parse_index(last, ll);
    if (idx < 0 || (size_t)idx > sz) {
        json_decref(val);
        return op_fail(st, o, "error in %s for path: '%.*s': Unable to access invalid index: %s",
                       last);
    }
    json_array_insert_new(parent, (size_t)idx, val);
    return 0;
}

/* Detaches the value at p; returns a new reference or NULL (error set). */
static json_t *take(struct state *st, const struct op *o, const struct ptr *p, const char *what)
{
    if (p->n == 0) {
        op_fail(st, o, "%s operation does not apply: cannot remove the root \"%.*s\"%s", "");
        return NULL;
    }
    json_t *parent = walk_parent(st->doc, p);
    json_t *v = parent ? child(parent, p, p->n - 1) : NULL;
    if (!v) {
        op_fail(st, o, "%s operation does not apply: doc is missing path: \"%.*s\"%s", what);
        return NULL;
    }
    json_incref(v);
    if (json_is_object(parent))
        json_object_deln(parent, p->tok[p->n - 1], p->len[p->n - 1]);
    else
        json_array_remove(parent, (size_t)parse_index(p->tok[p->n - 1], p->len[p->n - 1]));
    return v;
}

static json_t *lookup(struct state *st, const struct ptr *p)
{
    json_t *c = st->doc;
    for (size_t i = 0; c && i < p->n; i++)
        c = child(c, p, i);
    return c;
}

static int do_add(struct state *st, const struct op *o)
{
    if (check_value_depth(st, &o->pp, o->value) < 0)
        return -1;
    return put(st, o, &o->pp, json_deep_copy(o->value));
}

static int do_replace(struct state *st, const struct op *o)
{
    json_t *cur = lookup(st, &o->pp);
    if (!cur)
        return op_fail(st, o, "%s operation does not apply: doc is missing key: %.*s%s", "");
    if (check_value_depth(st, &o->pp, o->value) < 0)
        return -1;
    if (o->pp.n == 0) {
        json_decref(st->doc);
        st->doc = json_deep_copy(o->value);
        return 0;
    }
    json_t *parent = walk_parent(st->doc, &o->pp);
    const char *last = o->pp.tok[o->pp.n - 1];
    size_t ll = o->pp.len[o->pp.n - 1];
    if (json_is_object(parent))
        json_object_setn_new(parent, last, ll, json_deep_copy(o->value));
    else
        json_array_set_new(parent, (size_t)parse_index(last, ll), json_deep_copy(o->value));
    return 0;
}

static bool is_proper_prefix(const struct ptr *a, const struct ptr *b)
{
    if (a->n >= b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->len[i] != b->len[i] || memcmp(a->tok[i], b->tok[i], a->len[i]) != 0)
            return false;
    return true;
}

static int do_move(struct state *st, const struct op *o)
{
    if (is_proper_prefix(&o->fp, &o->pp))
        return op_fail(st, o, "%s operation does not apply: path \"%.*s\" is inside from %s",
                       o->from);
    if (!lookup(st, &o->fp))
        return op_fail_at(st, o, "%s operation does not apply: doc is missing from path: %.*s%s",
                          o->from, o->fromlen, "");
    json_t *v = take(st, o, &o->fp, "");
    if (!v || put(st, o, &o->pp, v) < 0)
        return -1;
    return check_depth_after(st, o->pp.n > o->fp.n ? o->pp.n - o->fp.n : 0);
}

static int do_copy(struct state *st, const struct op *o)
{
    json_t *src = lookup(st, &o->fp);
    if (!src)
        return op_fail_at(st, o, "%s operation does not apply: doc is missing from path: %.*s%s",
                          o->from, o->fromlen, "");
    size_t w = weight(src, JSONPATCH_MAX_COPY);
    st->copied += w;
    if (st->copied > JSONPATCH_MAX_COPY)
        return ck_err_set(st->err, CK_R_INVALID,
                          "Unable to complete the copy, the accumulated size increase of copy "
                          "is %zu, exceeding the limit %d",
                          st->copied, JSONPATCH_MAX_COPY);
    if (put(st, o, &o->pp, json_deep_copy(src)) < 0)
        return -1;
    return check_depth_after(st, o->pp.n > o->fp.n ? o->pp.n - o->fp.n : 0);
}

static int do_test(struct state *st, const struct op *o)
{
    json_t *cur = lookup(st, &o->pp);
    if (!cur)
        return op_fail(st, o, "%s operation does not apply: is missing path: %.*s%s", "");
    if (!jsonpatch_equal(cur, o->value))
        return ck_err_set(st->err, CK_R_INVALID, "testing value %.*s failed: test failed",
                          (int)o->pathlen, o->path);
    return 0;
}

static int run_op(struct state *st, const struct op *o)
{
    switch (o->kind) {
    case JP_ADD:
        return do_add(st, o);
    case JP_REMOVE: {
        json_t *v = take(st, o, &o->pp, "");
        json_decref(v);
        return v ? 0 : -1;
    }
    case JP_REPLACE:
        return do_replace(st, o);
    case JP_MOVE:
        return do_move(st, o);
    case JP_COPY:
        return do_copy(st, o);
    case JP_TEST:
        return do_test(st, o);
    }
    return -1;
}

/* ---------------------------------------------------------------- decoding */

static const char *const kind_names[] = {"add", "remove", "replace", "move", "copy", "test"};

static int decode_ptr(const json_t *opj, const char *field, size_t i, const char **s, size_t *n,
                      struct ptr *p, struct ck_err *err)
{
    json_t *v = json_object_get(opj, field);
    if (!v)
        return ck_err_set(err, CK_R_BAD_REQUEST, "json patch operation %zu: missing %s field", i,
                          field);
    if (!json_is_string(v))
        return ck_err_set(err, CK_R_BAD_REQUEST, "json patch operation %zu: %s must be a string", i,
                          field);
    *s = json_string_value(v);
    *n = json_string_length(v);
    if (ptr_parse(*s, *n, p) < 0)
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "json patch operation %zu: invalid JSON pointer in %s: \"%.*s\"", i,
                          field, (int)(*n > 200 ? 200 : *n), *s);
    return 0;
}

static int decode_op(const json_t *opj, size_t i, struct op *o, struct ck_err *err)
{
    memset(o, 0, sizeof(*o));
    if (!json_is_object(opj))
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "json: cannot unmarshal %s into Go value of type jsonpatch.Operation",
                          json_is_array(opj)    ? "array"
                          : json_is_string(opj) ? "string"
                                                : "value");
    json_t *k = json_object_get(opj, "op");
    const char *ks = json_is_string(k) ? json_string_value(k) : "unknown";
    size_t ki;
    for (ki = 0; ki < 6; ki++)
        if (strcmp(ks, kind_names[ki]) == 0)
            break;
    if (ki == 6)
        return ck_err_set(err, CK_R_BAD_REQUEST, "Unexpected kind: %.100s", ks);
    o->kind = (enum jp_kind)ki;
    o->kname = kind_names[ki];
    if (decode_ptr(opj, "path", i, &o->path, &o->pathlen, &o->pp, err) < 0)
        return -1;
    if ((o->kind == JP_MOVE || o->kind == JP_COPY) &&
        decode_ptr(opj, "from", i, &o->from, &o->fromlen, &o->fp, err) < 0)
        return -1;
    if (o->kind == JP_ADD || o->kind == JP_REPLACE || o->kind == JP_TEST) {
        o->value = json_object_get(opj, "value");
        if (!o->value)
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "json patch operation %zu (%s): missing value field", i, o->kname);
    }
    return 0;
}

static void op_release(struct op *o)
{
    ptr_free(&o->pp);
    ptr_free(&o->fp);
}

int jsonpatch_apply(const json_t *doc, const json_t *patch, json_t **out, struct ck_err *err)
{
    *out = NULL;
    if (!json_is_array(patch))
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "json: cannot unmarshal %s into Go value of type jsonpatch.Patch",
                          json_is_object(patch)   ? "object"
                          : json_is_string(patch) ? "string"
                                                  : "value");
    size_t nops = json_array_size(patch);
    if (nops > JSONPATCH_MAX_OPS)
        return ck_err_set(err, CK_R_TOO_LARGE,
                          "The allowed maximum operations in a JSON patch is %d, got %zu",
                          JSONPATCH_MAX_OPS, nops);
    if (!doc)
        return ck_err_set(err, CK_R_BAD_REQUEST, "json patch: no document");
    struct state st = {NULL, jsonpatch_depth(doc, JSONPATCH_MAX_DEPTH + 1), 0, err};
    if (st.depth_bound > JSONPATCH_MAX_DEPTH)
        return ck_err_set(err, CK_R_BAD_REQUEST, "document nesting exceeds %d levels",
                          JSONPATCH_MAX_DEPTH);
    /* Decode everything first: a malformed operation anywhere is a 400 before any work. */
    struct op *ops = ck_calloc(nops ? nops : 1, sizeof(*ops));
    int rc = 0;
    size_t decoded = 0;
    for (; decoded < nops && rc == 0; decoded++)
        rc = decode_op(json_array_get(patch, decoded), decoded, &ops[decoded], err);
    if (rc == 0) {
        st.doc = json_deep_copy(doc);
        for (size_t i = 0; i < nops && rc == 0; i++)
            rc = run_op(&st, &ops[i]);
    }
    for (size_t i = 0; i < decoded; i++)
        op_release(&ops[i]);
    free(ops);
    if (rc < 0) {
        json_decref(st.doc);
        return -1;
    }
    *out = st.doc;
    return 0;
}
