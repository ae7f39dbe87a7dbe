/* SPDX-License-Identifier: Apache-2.0 */
/* Label and field selectors with the grammar, validation and error texts of
 * k8s.io/apimachinery labels.Parse and fields.ParseSelector. A parsed selector is a compact,
 * immutable array of requirements sorted by key; matching allocates nothing. This file holds
 * the two text parsers and sel_parse/sel_free; see selector_int.h for the other files. */
#include "lib/selector.h"
#include "lib/selector_int.h"
#include "lib/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

/* ---------------------------------------------------------------- lexer */

enum tok {
    T_ERR,
    T_END,
    T_CPAR,
    T_COMMA,
    T_NOT,
    T_DEQ,
    T_EQ,
    T_GT,
    T_ID,
    T_IN,
    T_LT,
    T_NEQ,
    T_NOTIN,
    T_OPAR,
};

struct item {
    enum tok t;
    const char *s; /* literal */
    size_t n;
};

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
    return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

static enum tok special_tok(const char *s, size_t n)
{
    if (n == 2)
        return s[1] != '=' ? T_ERR : s[0] == '!' ? T_NEQ : s[0] == '=' ? T_DEQ : T_ERR;
    switch (s[0]) {
    case ')':
        return T_CPAR;
    case ',':
        return T_COMMA;
    case '!':
        return T_NOT;
    case '=':
        return T_EQ;
    case '>':
        return T_GT;
    case '<':
        return T_LT;
    default:
        return T_OPAR;
    }
}

/* One token starting at *p; advances *p. */
static struct item lex_one(const char **p)
{
    const char *s = *p;
    while (is_ws(*s))
        s++;
    struct item it = {T_END, s, 0};
    if (!*s) {
        *p = s;
        return it;
    }
    if (is_special(*s)) {
        it.n = (is_special(s[1]) && special_tok(s, 2) != T_ERR) ? 2 : 1;
        it.t = special_tok(s, it.n);
        *p = s + it.n;
        return it;
    }
    while (s[it.n] && !is_special(s[it.n]) && !is_ws(s[it.n]))
        it.n++;
    *p = s + it.n;
    if (it.n == 2 && memcmp(s, "in", 2) == 0)
        it.t = T_IN;
    else if (it.n == 5 && memcmp(s, "notin", 5) == 0)
        it.t = T_NOTIN;
    else
        it.t = T_ID;
    return it;
}

/* ---------------------------------------------------------------- label parser */

struct parser {
    struct item *items;
    size_t pos;
    struct ck_buf *msg; /* error text being built */
};

/* In value context `in`/`notin` are plain identifiers. */
static struct item look(struct parser *p)
{
    struct item it = p->items[p->pos];
    if (it.t == T_IN || it.t == T_NOTIN)
        it.t = T_ID;
    return it;
}

static struct item take(struct parser *p)
{
    struct item it = look(p);
    if (p->items[p->pos].t != T_END)
        p->pos++;
    return it;
}

static int perr(struct parser *p, const char *fmt, const struct item *it)
{
    ck_buf_appendf(p->msg, fmt, (int)it->n, it->s);
    return -1;
}

/* Sorts and removes duplicates (upstream collects values in a sets.String). */
static void vlist_normalize(struct vlist *l)
{
    if (l->n < 2)
        return;
    qsort(l->v, l->n, sizeof(*l->v), sel_val_cmp);
    size_t w = 1;
    for (size_t i = 1; i < l->n; i++)
        if (sel_val_cmp(&l->v[i], &l->v[w - 1]) != 0)
            l->v[w++] = l->v[i];
    l->n = w;
}

static int parse_ident_list(struct parser *p, struct vlist *vals)
{
    for (;;) {
        struct item it = take(p);
        if (it.t == T_ID) {
            sel_vlist_add(vals, it.s, it.n);
            struct item nx = look(p);
            if (nx.t == T_COMMA)
                continue;
            if (nx.t == T_CPAR)
                return 0;
            return perr(p, "found '%.*s', expected: ',' or ')'", &nx);
        }
        if (it.t != T_COMMA)
            return perr(p, "found '%.*s', expected: ',', or identifier", &it);
        if (vals->n == 0)
            sel_vlist_add(vals, "", 0);
        struct item nx = look(p);
        if (nx.t == T_CPAR || nx.t == T_COMMA)
            sel_vlist_add(vals, "", 0);
        if (nx.t == T_CPAR)
            return 0;
    }
}

static int parse_values(struct parser *p, struct vlist *vals)
{
    struct item it = take(p);
    if (it.t != T_OPAR)
        return perr(p, "found '%.*s' expected: '('", &it);
    it = look(p);
    if (it.t == T_CPAR) {
        take(p);
        sel_vlist_add(vals, "", 0);
        return 0;
    }
    if (it.t != T_ID && it.t != T_COMMA)
        return perr(p, "found '%.*s', expected: ',', ')' or identifier", &it);
    if (parse_ident_list(p, vals) < 0)
        return -1;
    if (take(p).t != T_CPAR) /* unreachable: the list ends only before ')' */
        return perr(p, "found '%.*s', expected: ')'", &it);
    return 0;
}

static int parse_exact_value(struct parser *p, struct vlist *vals)
{
    struct item it = look(p);
    if (it.t == T_END || it.t == T_COMMA) {
        sel_vlist_add(vals, "", 0);
        return 0;
    }
    it = take(p);
    if (it.t == T_ID) {
        sel_vlist_add(vals, it.s, it.n);
        return 0;
    }
    return perr(p, "found '%.*s', expected: identifier", &it);
}

/* NewRequirement's checks of the values (the key was checked while parsing). */
static int check_values(struct parser *p, const struct item *key, enum sel_op op,
                        const struct vlist *vals, int64_t *num)
{
    struct ck_buf agg = CK_BUF_INIT(65536);
    size_t count = 0;
    char path[512];
    if (op == SEL_OP_GT || op == SEL_OP_LT) {
        if (!sel_parse_int64(vals->v[0].s, vals->v[0].n, num))
            sel_agg_add(&agg, &count, "values[0]", &vals->v[0],
                        "for 'Gt', 'Lt' operators, the value must be an integer");
    }
    for (size_t i = 0; i < vals->n; i++) {
        struct ck_buf why = CK_BUF_INIT(8192);
        sel_label_value_reasons(vals->v[i].s, vals->v[i].n, &why);
        if (why.len) {
            snprintf(path, sizeof(path), "values[%zu][%.*s]", i, (int)key->n, key->s);
            sel_agg_add(&agg, &count, path, &vals->v[i], why.data);
        }
        ck_buf_release(&why);
    }
    if (count == 0)
        return 0;
    if (count > 1)
        ck_buf_appendc(p->msg, '[');
    ck_buf_append(p->msg, agg.data, agg.len);
    if (count > 1)
        ck_buf_appendc(p->msg, ']');
    ck_buf_release(&agg);
    return -1;
}

static int parse_key(struct parser *p, struct item *key, enum sel_op *op, bool *unary)
{
    struct item it = take(p);
    bool neg = false;
    if (it.t == T_NOT) {
        neg = true;
        it = take(p);
    }
    if (it.t != T_ID)
        return perr(p, "found '%.*s', expected: identifier", &it);
    struct ck_buf why = CK_BUF_INIT(8192);
    sel_label_key_reasons(it.s, it.n, &why);
    if (why.len) {
        struct sel_val v = {it.s, it.n};
        size_t count = 0;
        sel_agg_add(p->msg, &count, "<nil>", &v, why.data);
        ck_buf_release(&why);
        return -1;
    }
    *key = it;
    struct item nx = look(p);
    *unary = neg || nx.t == T_END || nx.t == T_COMMA;
    *op = neg ? SEL_OP_NOTEXISTS : SEL_OP_EXISTS;
    return 0;
}

static int parse_operator(struct parser *p, enum sel_op *op, bool *dbl)
{
    struct item it = p->items[p->pos]; /* key/operator context: in/notin are keywords */
    take(p);
    *dbl = false;
    switch (it.t) {
    case T_IN:
        *op = SEL_OP_IN;
        return 0;
    case T_NOTIN:
        *op = SEL_OP_NOTIN;
        return 0;
    case T_EQ:
        *op = SEL_OP_EQ;
        return 0;
    case T_DEQ:
        *op = SEL_OP_EQ;
        *dbl = true;
        return 0;
    case T_NEQ:
        *op = SEL_OP_NEQ;
        return 0;
    case T_GT:
        *op = SEL_OP_GT;
        return 0;
    case T_LT:
        *op = SEL_OP_LT;
        return 0;
    default:
        return perr(p, "found '%.*s', expected: in, notin, =, ==, !=, gt, lt", &it);
    }
}

static int parse_requirement(struct parser *p, struct sel_req *r)
{
    struct item key;
    enum sel_op op;
    bool unary, dbl = false;
    struct vlist vals = {0};
    int64_t num = 0;
    if (parse_key(p, &key, &op, &unary) < 0)
        return -1;
    if (!unary) {
        if (parse_operator(p, &op, &dbl) < 0)
            return -1;
        int rc = (op == SEL_OP_IN || op == SEL_OP_NOTIN) ? parse_values(p, &vals)
                                                         : parse_exact_value(p, &vals);
        if (rc == 0) {
            vlist_normalize(&vals);
            rc = check_values(p, &key, op, &vals, &num);
        }
        if (rc < 0) {
            free(vals.v);
            return -1;
        }
    }
    sel_req_fill(r, key.s, key.n, op, dbl, &vals, num);
    free(vals.v);
    return 0;
}

static int parse_label_items(struct parser *p, struct sel *s)
{
    size_t cap = 0;
    for (;;) {
        struct item it = look(p);
        if (it.t == T_END)
            return 0;
        if (it.t != T_ID && it.t != T_NOT)
            return perr(p, "found '%.*s', expected: !, identifier, or 'end of string'", &it);
        struct sel_req *r = sel_reqs_push(s, &cap);
        ck_buf_appends(p->msg, "unable to parse requirement: ");
        if (parse_requirement(p, r) < 0)
            return -1;
        ck_buf_reset(p->msg);
        s->nreqs++;
        it = take(p);
        if (it.t == T_END)
            return 0;
        if (it.t != T_COMMA)
            return perr(p, "found '%.*s', expected: ',' or 'end of string'", &it);
        struct item nx = look(p);
        if (nx.t != T_ID && nx.t != T_NOT)
            return perr(p, "found '%.*s', expected: identifier after ','", &nx);
    }
}

static int parse_label(const char *text, struct sel *s, struct ck_buf *msg)
{
    size_t n = strlen(text);
    struct item *items = ck_calloc(n + 2, sizeof(*items));
    const char *cur = text;
    size_t k = 0;
    do {
        items[k] = lex_one(&cur);
    } while (items[k++].t != T_END);
    struct parser p = {items, 0, msg};
    int rc = parse_label_items(&p, s);
    free(items);
    if (rc == 0)
        sel_sort_reqs(s);
    return rc;
}

/* ---------------------------------------------------------------- field parser */

struct span {
    const char *s;
    size_t n;
};

static int span_cmp(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    struct sel_val vx = {x->s, x->n}, vy = {y->s, y->n};
    return sel_val_cmp(&vx, &vy);
}

/* Splits at commas not preceded by a backslash escape. */
static struct span *split_terms(const char *text, size_t *count)
{
    size_t n = strlen(text), cap = 1;
    for (size_t i = 0; i < n; i++)
        cap += text[i] == ',';
    struct span *t = ck_calloc(cap, sizeof(*t));
    size_t k = 0, start = 0;
    bool esc = false;
    for (size_t i = 0; i < n; i++) {
        if (esc)
            esc = false;
        else if (text[i] == '\\')
            esc = true;
        else if (text[i] == ',') {
            t[k++] = (struct span){text + start, i - start};
            start = i + 1;
        }
    }
    t[k++] = (struct span){text + start, n - start};
    *count = k;
    return t;
}

/* Upstream UnescapeValue; out must hold n+1 bytes. */
static int unescape_value(const char *s, size_t n, char *out, size_t *olen, struct ck_buf *msg)
{
    size_t w = 0;
    bool esc = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (esc) {
            if (c != '\\' && c != ',' && c != '=') {
                size_t cl = 1;
                while (i + cl < n && ((unsigned char)s[i + cl] & 0xC0) == 0x80)
                    cl++;
                ck_buf_appendf(msg, "invalid field selector: invalid escape sequence: \\%.*s",
                               (int)cl, s + i);
                return -1;
            }
            out[w++] = c;
            esc = false;
        } else if (c == '\\') {
            esc = true;
        } else if (c == ',' || c == '=') {
            ck_buf_appendf(msg, "invalid field selector: unescaped character in value: %d", c);
            return -1;
        } else {
            out[w++] = c;
        }
    }
    if (esc) {
        ck_buf_appends(msg, "invalid field selector: invalid escape sequence: \\");
        return -1;
    }
    out[w] = 0;
    *olen = w;
    return 0;
}

static int field_term(const char *text, const struct span *t, struct sel_req *r, struct ck_buf *msg)
{
    size_t i;
    enum sel_op op = SEL_OP_EQ;
    size_t oplen = 0;
    for (i = 0; i < t->n && !oplen; i++) {
        if (t->s[i] == '!' && i + 1 < t->n && t->s[i + 1] == '=')
            op = SEL_OP_NEQ, oplen = 2;
        else if (t->s[i] == '=')
            oplen = (i + 1 < t->n && t->s[i + 1] == '=') ? 2 : 1;
    }
    if (!oplen) {
        ck_buf_appendf(msg, "invalid selector: '%s'; can't understand '%.*s'", text, (int)t->n,
                       t->s);
        return -1;
    }
    size_t kl = i - 1, vstart = kl + oplen;
    r->pool = ck_malloc(t->n + 2);
    r->key = r->pool;
    memcpy(r->key, t->s, kl);
    r->key[kl] = 0;
    r->klen = kl;
    char *v = r->pool + kl + 1;
    size_t vl = 0;
    if (unescape_value(t->s + vstart, t->n - vstart, v, &vl, msg) < 0)
        return -1;
    r->vals = ck_calloc(1, sizeof(*r->vals));
    r->vals[0] = (struct sel_val){v, vl};
    r->nvals = 1;
    r->op = op;
    r->dbl = op == SEL_OP_EQ && oplen == 2;
    return 0;
}

static int parse_field(const char *text, struct sel *s, struct ck_buf *msg)
{
    size_t nt = 0, cap = 0;
    struct span *terms = split_terms(text, &nt);
    qsort(terms, nt, sizeof(*terms), span_cmp);
    int rc = 0;
    for (size_t i = 0; i < nt && rc == 0; i++) {
        if (terms[i].n == 0)
            continue;
        struct sel_req *r = sel_reqs_push(s, &cap);
        rc = field_term(text, &terms[i], r, msg);
        s->nreqs++; /* counted even on failure so that sel_free releases it */
    }
    free(terms);
    return rc;
}

/* ---------------------------------------------------------------- public API */

int sel_parse(enum sel_kind kind, const char *text, struct sel **out, struct ck_err *err)
{
    struct sel *s = ck_calloc(1, sizeof(*s));
    s->kind = kind;
    *out = NULL;
    if (!text)
        text = "";
    struct ck_buf msg = CK_BUF_INIT(CK_ERR_MSG_MAX * 4);
    int rc = kind == SEL_FIELD ? parse_field(text, s, &msg) : parse_label(text, s, &msg);
    if (rc < 0) {
        ck_err_set(err, CK_R_BAD_REQUEST, "%s", msg.data ? msg.data : "invalid selector");
        ck_buf_release(&msg);
        sel_free(s);
        return -1;
    }
    ck_buf_release(&msg);
    *out = s;
    return 0;
}

static void reqs_free(struct sel_req *reqs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(reqs[i].pool);
        free(reqs[i].vals);
    }
    free(reqs);
}

void sel_free(struct sel *s)
{
    if (!s)
        return;
    reqs_free(s->reqs, s->nreqs);
    free(s);
}
