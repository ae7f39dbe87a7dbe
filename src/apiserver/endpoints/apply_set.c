/* SPDX-License-Identifier: Apache-2.0 */
/* Field paths and field sets of server-side apply (structured-merge-diff's fieldpath package):
 * path elements with upstream's total order, sets as sorted trees, the set algebra the apply
 * algorithm needs, and the FieldsV1 wire form of metadata.managedFields. */
#include "apiserver/endpoints/apply_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

/* ---- path elements ------------------------------------------------------------------ */

/* JSON text as Go's encoder writes it (compact, sorted keys, <>& and U+2028/9 escaped). */
void fp_go_json(struct ck_buf *b, const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!s)
        abort();
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '<' || *p == '>' || *p == '&')
            ck_buf_appendf(b, "\\u%04x", *p);
        else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
            ck_buf_appendf(b, "\\u20%x", p[2] == 0xa8 ? 0x28 : 0x29);
            p += 2;
        } else
            ck_buf_appendc(b, (char)*p);
    }
    free(s);
}

static char *ser_of(const char *prefix, const json_t *v)
{
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    ck_buf_appends(&b, prefix);
    fp_go_json(&b, v);
    return ck_buf_detach(&b, NULL);
}

void fp_pe_field(struct fp_pe *pe, const char *name)
{
    *pe = (struct fp_pe){.kind = FP_FIELD, .ser = ck_asprintf("f:%s", name)};
}

void fp_pe_key(struct fp_pe *pe, json_t *fields)
{
    *pe = (struct fp_pe){.kind = FP_KEY, .v = fields, .ser = ser_of("k:", fields)};
}

void fp_pe_value(struct fp_pe *pe, json_t *v)
{
    *pe = (struct fp_pe){.kind = FP_VALUE, .v = json_incref(v), .ser = ser_of("v:", v)};
}

void fp_pe_copy(struct fp_pe *dst, const struct fp_pe *src)
{
    *dst = *src;
    dst->ser = ck_strdup(src->ser);
    dst->v = src->v ? json_incref(src->v) : NULL;
}

void fp_pe_release(struct fp_pe *pe)
{
    free(pe->ser);
    json_decref(pe->v);
    pe->ser = NULL;
    pe->v = NULL;
}

static int rank(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_INTEGER:
    case JSON_REAL:
        return 0;
    case JSON_STRING:
        return 1;
    case JSON_TRUE:
    case JSON_FALSE:
        return 2;
    case JSON_ARRAY:
        return 3;
    case JSON_OBJECT:
        return 4;
    default:
        return 5;
    }
}

static int cmp_strs(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted keys of an object (malloc'd array of borrowed names). */
const char **fp_sorted_keys(const json_t *o, size_t *n)
{
    *n = json_object_size(o);
    const char **k = ck_malloc((*n ? *n : 1) * sizeof(*k));
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) k[i++] = key;
    qsort(k, *n, sizeof(*k), cmp_strs);
    return k;
}

/* value.FieldList / map ordering: pairwise by name then value, shorter first. */
static int cmp_objects(const json_t *a, const json_t *b)
{
    size_t na, nb;
    const char **ka = fp_sorted_keys(a, &na), **kb = fp_sorted_keys(b, &nb);
    int c = 0;
    for (size_t i = 0; c == 0; i++) {
        if (i >= na || i >= nb) {
            c = na < nb ? -1 : na > nb ? 1 : 0;
            break;
        }
        c = strcmp(ka[i], kb[i]);
        if (c == 0)
            c = fp_value_cmp(json_object_get(a, ka[i]), json_object_get(b, kb[i]));
    }
    free(ka);
    free(kb);
    return c;
}

int fp_value_cmp(const json_t *a, const json_t *b)
{
    int ra = rank(a), rb = rank(b);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    switch (ra) {
    case 0:
        if (json_is_integer(a) && json_is_integer(b)) {
            json_int_t x = json_integer_value(a), y = json_integer_value(b);
            return x < y ? -1 : x > y;
        } else {
            double x = json_number_value(a), y = json_number_value(b);
            return x < y ? -1 : x > y;
        }
    case 1: {
        int c = strcmp(json_string_value(a), json_string_value(b));
        return c < 0 ? -1 : c > 0;
    }
    case 2:
        return json_is_true(a) == json_is_true(b) ? 0 : json_is_true(a) ? 1 : -1;
    case 3:
        for (size_t i = 0;; i++) {
            if (i >= json_array_size(a) || i >= json_array_size(b))
                return json_array_size(a) < json_array_size(b)   ? -1
                       : json_array_size(a) > json_array_size(b) ? 1
                                                                 : 0;
            int c = fp_value_cmp(json_array_get(a, i), json_array_get(b, i));
            if (c)
                return c;
        }
    case 4:
        return cmp_objects(a, b);
    default:
        return 0;
    }
}

int fp_pe_cmp(const struct fp_pe *a, const struct fp_pe *b)
{
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    switch (a->kind) {
    case FP_FIELD: {
        int c = strcmp(a->ser + 2, b->ser + 2);
        return c < 0 ? -1 : c > 0;
    }
    case FP_KEY:
        return cmp_objects(a->v, b->v);
    case FP_VALUE:
        return fp_value_cmp(a->v, b->v);
    default:
        return a->index < b->index ? -1 : a->index > b->index;
    }
}

int fp_pe_parse(struct fp_pe *pe, const char *s)
{
    memset(pe, 0, sizeof(*pe));
    if (strlen(s) < 2 || s[1] != ':')
        return -1;
    json_error_t je;
    switch (s[0]) {
    case 'f':
        fp_pe_field(pe, s + 2);
        return 0;
    case 'k': {
        json_t *o = json_loads(s + 2, 0, &je);
        if (!json_is_object(o)) {
            json_decref(o);
            return -1;
        }
        fp_pe_key(pe, o);
        return 0;
    }
    case 'v': {
        json_t *v = json_loads(s + 2, JSON_DECODE_ANY, &je);
        if (!v)
            return -1;
        fp_pe_value(pe, v);
        json_decref(v);
        return 0;
    }
    case 'i': {
        char *end = NULL;
        long i = strtol(s + 2, &end, 10);
        if (end == s + 2 || *end)
            return -1;
        *pe = (struct fp_pe){.kind = FP_INDEX, .index = i, .ser = ck_strdup(s)};
        return 0;
    }
    default:
        return -1;
    }
}

/* value.ToString: strings quoted as Go's %q does. */
static void to_string(struct ck_buf *b, const json_t *v)
{
    size_t i;
    json_t *e;
    switch (json_typeof(v)) {
    case JSON_INTEGER:
        ck_buf_appendf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        ck_buf_appendf(b, "%g", json_real_value(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        ck_buf_appends(b, json_is_true(v) ? "true" : "false");
        break;
    case JSON_STRING:
        ck_buf_appendc(b, '"');
        for (const unsigned char *p = (const unsigned char *)json_string_value(v); *p; p++) {
            if (*p == '"' || *p == '\\')
                ck_buf_appendf(b, "\\%c", *p);
            else if (*p == '\n')
                ck_buf_appends(b, "\\n");
            else if (*p == '\t')
                ck_buf_appends(b, "\\t");
            else if (*p < 0x20 || *p == 0x7f)
                ck_buf_appendf(b, "\\x%02x", *p);
            else
                ck_buf_appendc(b, (char)*p);
        }
        ck_buf_appendc(b, '"');
        break;
    case JSON_ARRAY:
        ck_buf_appendc(b, '[');
        json_array_foreach(v, i, e)
        {
            if (i)
                ck_buf_appendc(b, ',');
            to_string(b, e);
        }
        ck_buf_appendc(b, ']');
        break;
    case JSON_OBJECT: {
        const char *k;
        json_object_foreach((json_t *)v, k, e)
        {
            ck_buf_appendf(b, "%s=", k);
            to_string(b, e);
        }
        break;
    }
    default:
        ck_buf_appends(b, "null");
    }
}

void fp_path_string(struct ck_buf *b, const struct fp_pe *path, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct fp_pe *pe = &path[i];
        switch (pe->kind) {
        case FP_FIELD:
            ck_buf_appendf(b, ".%s", pe->ser + 2);
            break;
        case FP_KEY: {
            size_t nk;
            const char **k = fp_sorted_keys(pe->v, &nk);
            ck_buf_appendc(b, '[');
            for (size_t j = 0; j < nk; j++) {
                ck_buf_appendf(b, "%s%s=", j ? "," : "", k[j]);
                to_string(b, json_object_get(pe->v, k[j]));
            }
            ck_buf_appendc(b, ']');
            free(k);
            break;
        }
        case FP_VALUE:
            ck_buf_appends(b, "[=");
            to_string(b, pe->v);
            ck_buf_appendc(b, ']');
            break;
        default:
            ck_buf_appendf(b, "[%ld]", pe->index);
        }
    }
}

/* ---- sets ----------------------------------------------------------------------------- */

struct fp_set *fp_set_new(void)
{
    return ck_calloc(1, sizeof(struct fp_set));
}

void fp_set_free(struct fp_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        fp_pe_release(&s->v[i].pe);
        fp_set_free(s->v[i].child);
    }
    free(s->v);
    free(s);
}

bool fp_set_empty(const struct fp_set *s)
{
    return !s || s->n == 0;
}

/* Appends a node (pe copied; child taken) when it carries anything. */
static void push(struct fp_set *s, const struct fp_pe *pe, bool member, struct fp_set *child)
{
    if (child && child->n == 0) {
        fp_set_free(child);
        child = NULL;
    }
    if (!member && !child)
        return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->v = ck_realloc(s->v, s->cap * sizeof(*s->v));
    }
    struct fp_node *nd = &s->v[s->n++];
    fp_pe_copy(&nd->pe, pe);
    nd->member = member;
    nd->child = child;
}

struct fp_set *fp_set_copy(const struct fp_set *s)
{
    struct fp_set *o = fp_set_new();
    for (size_t i = 0; s && i < s->n; i++)
        push(o, &s->v[i].pe, s->v[i].member, s->v[i].child ? fp_set_copy(s->v[i].child) : NULL);
    return o;
}

/* Index of pe in s, or -(insertion point) - 1. */
static long find(const struct fp_set *s, const struct fp_pe *pe)
{
    size_t lo = 0, hi = s ? s->n : 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = fp_pe_cmp(&s->v[mid].pe, pe);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

static struct fp_node *descend(struct fp_set *s, const struct fp_pe *pe)
{
    /* appending in order is the common case (walks go through sorted keys): no search, no
     * memmove, so a map of a million keys is not quadratic */
    long i = s->n && fp_pe_cmp(&s->v[s->n - 1].pe, pe) < 0 ? -(long)s->n - 1 : find(s, pe);
    if (i < 0) {
        size_t at = (size_t)(-i - 1);
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 4;
            s->v = ck_realloc(s->v, s->cap * sizeof(*s->v));
        }
        memmove(&s->v[at + 1], &s->v[at], (s->n - at) * sizeof(*s->v));
        s->n++;
        fp_pe_copy(&s->v[at].pe, pe);
        s->v[at].member = false;
        s->v[at].child = NULL;
        i = (long)at;
    }
    return &s->v[i];
}

void fp_set_insert(struct fp_set *s, const struct fp_pe *path, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct fp_node *nd = descend(s, &path[i]);
        if (i + 1 == n) {
            nd->member = true;
            return;
        }
        if (!nd->child)
            nd->child = fp_set_new();
        s = nd->child;
    }
}

bool fp_set_has(const struct fp_set *s, const struct fp_pe *path, size_t n)
{
    for (size_t i = 0; i < n && s; i++) {
        long at = find(s, &path[i]);
        if (at < 0)
            return false;
        if (i + 1 == n)
            return s->v[at].member;
        s = s->v[at].child;
    }
    return false;
}

const struct fp_set *fp_set_prefix(const struct fp_set *s, const struct fp_pe *pe)
{
    long at = find(s, pe);
    return at < 0 ? NULL : s->v[at].child;
}

enum setop { OP_UNION, OP_INTER, OP_DIFF, OP_RDIFF };

static struct fp_set *combine(const struct fp_set *a, const struct fp_set *b, enum setop op)
{
    struct fp_set *o = fp_set_new();
    size_t i = 0, j = 0, na = a ? a->n : 0, nb = b ? b->n : 0;
    while (i < na || j < nb) {
        int c = i >= na ? 1 : j >= nb ? -1 : fp_pe_cmp(&a->v[i].pe, &b->v[j].pe);
        if (c < 0) { /* only in a */
            if (op != OP_INTER)
                push(o, &a->v[i].pe, a->v[i].member,
                     a->v[i].child ? fp_set_copy(a->v[i].child) : NULL);
            i++;
        } else if (c > 0) { /* only in b */
            if (op == OP_UNION)
                push(o, &b->v[j].pe, b->v[j].member,
                     b->v[j].child ? fp_set_copy(b->v[j].child) : NULL);
            j++;
        } else {
            const struct fp_node *x = &a->v[i], *y = &b->v[j];
            bool m;
            struct fp_set *ch = NULL;
            switch (op) {
            case OP_UNION:
                m = x->member || y->member;
                ch = combine(x->child, y->child, op);
                break;
            case OP_INTER:
                m = x->member && y->member;
                if (x->child && y->child)
                    ch = combine(x->child, y->child, op);
                break;
            case OP_DIFF:
                m = x->member && !y->member;
                if (x->child)
                    ch = y->child ? combine(x->child, y->child, op) : fp_set_copy(x->child);
                break;
            default: /* a member of b removes everything under it */
                m = x->member && !y->member;
                if (x->child && !y->member)
                    ch = y->child ? combine(x->child, y->child, op) : fp_set_copy(x->child);
                break;
            }
            push(o, &x->pe, m, ch);
            i++;
            j++;
        }
    }
    return o;
}

struct fp_set *fp_set_union(const struct fp_set *a, const struct fp_set *b)
{
    return combine(a, b, OP_UNION);
}

struct fp_set *fp_set_inter(const struct fp_set *a, const struct fp_set *b)
{
    return combine(a, b, OP_INTER);
}

struct fp_set *fp_set_diff(const struct fp_set *a, const struct fp_set *b)
{
    return combine(a, b, OP_DIFF);
}

struct fp_set *fp_set_rdiff(const struct fp_set *a, const struct fp_set *b)
{
    return combine(a, b, OP_RDIFF);
}

void fp_set_diff_in(struct fp_set **a, const struct fp_set *b)
{
    struct fp_set *r = combine(*a, b, OP_DIFF);
    fp_set_free(*a);
    *a = r;
}

void fp_set_union_in(struct fp_set **a, const struct fp_set *b)
{
    struct fp_set *r = combine(*a, b, OP_UNION);
    fp_set_free(*a);
    *a = r;
}

#define FP_MAX_DEPTH 128

static void iterate(const struct fp_set *s, struct fp_pe *path, size_t n,
                    void (*fn)(const struct fp_pe *, size_t, void *), void *ud)
{
    if (!s || n >= FP_MAX_DEPTH)
        return;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].member) {
            path[n] = s->v[i].pe;
            fn(path, n + 1, ud);
        }
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].child) {
            path[n] = s->v[i].pe;
            iterate(s->v[i].child, path, n + 1, fn, ud);
        }
}

void fp_set_iterate(const struct fp_set *s, void (*fn)(const struct fp_pe *, size_t, void *),
                    void *ud)
{
    struct fp_pe path[FP_MAX_DEPTH];
    iterate(s, path, 0, fn, ud);
}

json_t *fp_set_to_json(const struct fp_set *s)
{
    json_t *o = json_object();
    for (size_t i = 0; s && i < s->n; i++) {
        const struct fp_node *nd = &s->v[i];
        json_t *sub;
        if (nd->child) {
            sub = json_object();
            if (nd->member)
                json_object_set_new(sub, ".", json_object());
            json_t *inner = fp_set_to_json(nd->child);
            json_object_update(sub, inner);
            json_decref(inner);
        } else {
            sub = json_object();
        }
        json_object_set_new(o, nd->pe.ser, sub);
    }
    return o;
}

static int cmp_nodes(const void *a, const void *b)
{
    return fp_pe_cmp(&((const struct fp_node *)a)->pe, &((const struct fp_node *)b)->pe);
}

static struct fp_set *from_json(const json_t *j, int depth)
{
    if (!json_is_object(j) || depth > FP_MAX_DEPTH)
        return NULL;
    struct fp_set *s = fp_set_new();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v)
    {
        if (strcmp(k, ".") == 0)
            continue;
        struct fp_pe pe;
        struct fp_set *ch = from_json(v, depth + 1);
        if (!ch || fp_pe_parse(&pe, k) < 0) {
            fp_set_free(ch);
            fp_set_free(s);
            return NULL;
        }
        bool member = ch->n == 0 || json_object_get(v, ".") != NULL;
        push(s, &pe, member, ch);
        fp_pe_release(&pe);
    }
    if (s->n > 1)
        qsort(s->v, s->n, sizeof(*s->v), cmp_nodes);
    return s;
}

struct fp_set *fp_set_from_json(const json_t *j)
{
    return from_json(j, 0);
}
