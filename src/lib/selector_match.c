/* SPDX-License-Identifier: Apache-2.0 */
/* Using a parsed selector: matching (allocates nothing), the requirement accessors, and
 * sel_to_string (upstream String()). */
#include "lib/selector.h"
#include "lib/selector_int.h"
#include "lib/buf.h"

#include <stdint.h>
#include <string.h>

#include "lib/banned.h"

static bool has_value(const struct sel_req *r, const char *v, size_t n)
{
    if (r->nvals > 8) { /* values are kept sorted: binary search long `in` lists */
        struct sel_val key = {v, n};
        size_t lo = 0, hi = r->nvals;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = sel_val_cmp(&r->vals[mid], &key);
            if (c == 0)
                return true;
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        return false;
    }
    for (size_t i = 0; i < r->nvals; i++)
        if (r->vals[i].n == n && (n == 0 || memcmp(r->vals[i].s, v, n) == 0))
            return true;
    return false;
}

static bool req_matches(const struct sel_req *r, enum sel_kind kind, sel_lookup_fn lookup,
                        void *ctx)
{
    size_t n = 0;
    const char *v = lookup(ctx, r->key, &n);
    if (!v && kind == SEL_FIELD) { /* fields.Set.Get returns "" for a missing field */
        v = "";
        n = 0;
    }
    int64_t x;
    switch (r->op) {
    case SEL_OP_EQ:
    case SEL_OP_IN:
        return v && has_value(r, v, n);
    case SEL_OP_NEQ:
    case SEL_OP_NOTIN:
        return !v || !has_value(r, v, n);
    case SEL_OP_EXISTS:
        return v != NULL;
    case SEL_OP_NOTEXISTS:
        return v == NULL;
    case SEL_OP_GT:
        return v && sel_parse_int64(v, n, &x) && x > r->num;
    case SEL_OP_LT:
        return v && sel_parse_int64(v, n, &x) && x < r->num;
    }
    return false;
}

bool sel_matches(const struct sel *s, sel_lookup_fn lookup, void *ctx)
{
    if (!s)
        return true;
    if (s->nothing)
        return false;
    for (size_t i = 0; i < s->nreqs; i++)
        if (!req_matches(&s->reqs[i], s->kind, lookup, ctx))
            return false;
    return true;
}

bool sel_empty(const struct sel *s)
{
    return !s || (s->nreqs == 0 && !s->nothing);
}

size_t sel_nreqs(const struct sel *s)
{
    return s ? s->nreqs : 0;
}

const char *sel_req_key(const struct sel *s, size_t i)
{
    return s && i < s->nreqs ? s->reqs[i].key : NULL;
}

enum sel_op sel_req_op(const struct sel *s, size_t i)
{
    return s && i < s->nreqs ? s->reqs[i].op : SEL_OP_EQ;
}

size_t sel_req_nvalues(const struct sel *s, size_t i)
{
    return s && i < s->nreqs ? s->reqs[i].nvals : 0;
}

const char *sel_req_value(const struct sel *s, size_t i, size_t j)
{
    if (!s || i >= s->nreqs || j >= s->reqs[i].nvals)
        return NULL;
    return s->reqs[i].vals[j].s;
}

const char *sel_required_value(const struct sel *s, const char *key)
{
    if (!s || !key)
        return NULL;
    for (size_t i = 0; i < s->nreqs; i++) {
        const struct sel_req *r = &s->reqs[i];
        if (strcmp(r->key, key) != 0)
            continue;
        if ((r->op == SEL_OP_EQ || (r->op == SEL_OP_IN && s->kind == SEL_LABEL)) && r->nvals == 1)
            return r->vals[0].s;
        if (s->kind == SEL_LABEL)
            return NULL; /* labels: only the first requirement on the key counts */
    }
    return NULL;
}

/* ---------------------------------------------------------------- String() */

static const char *op_text(enum sel_op op, bool dbl)
{
    switch (op) {
    case SEL_OP_EQ:
        return dbl ? "==" : "=";
    case SEL_OP_NEQ:
        return "!=";
    case SEL_OP_IN:
        return " in ";
    case SEL_OP_NOTIN:
        return " notin ";
    case SEL_OP_GT:
        return ">";
    case SEL_OP_LT:
        return "<";
    default:
        return "";
    }
}

static void append_escaped(struct ck_buf *b, const struct sel_val *v)
{
    for (size_t i = 0; i < v->n; i++) {
        char c = v->s[i];
        if (c == '\\' || c == ',' || c == '=')
            ck_buf_appendc(b, '\\');
        ck_buf_appendc(b, c);
    }
}

static void req_string(struct ck_buf *b, const struct sel_req *r, enum sel_kind kind)
{
    if (kind == SEL_FIELD) {
        ck_buf_appendf(b, "%s%s", r->key, r->op == SEL_OP_NEQ ? "!=" : "=");
        append_escaped(b, &r->vals[0]);
        return;
    }
    if (r->op == SEL_OP_NOTEXISTS)
        ck_buf_appendc(b, '!');
    ck_buf_appends(b, r->key);
    if (r->op == SEL_OP_EXISTS || r->op == SEL_OP_NOTEXISTS)
        return;
    ck_buf_appends(b, op_text(r->op, r->dbl));
    bool set = r->op == SEL_OP_IN || r->op == SEL_OP_NOTIN;
    if (set)
        ck_buf_appendc(b, '(');
    for (size_t j = 0; j < r->nvals; j++) {
        if (j)
            ck_buf_appendc(b, ',');
        ck_buf_append(b, r->vals[j].s, r->vals[j].n);
    }
    if (set)
        ck_buf_appendc(b, ')');
}

char *sel_to_string(const struct sel *s)
{
    struct ck_buf b = CK_BUF_INIT(SIZE_MAX / 2);
    ck_buf_appends(&b, "");
    for (size_t i = 0; s && i < s->nreqs; i++) {
        if (i)
            ck_buf_appendc(&b, ',');
        req_string(&b, &s->reqs[i], s->kind);
    }
    return ck_buf_detach(&b, NULL);
}
