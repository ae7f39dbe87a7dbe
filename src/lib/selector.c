/* SPDX-License-Identifier: Apache-2.0 */
/* Label and field selectors with the grammar, validation and error texts of
 * k8s.io/apimachinery labels.Parse and fields.ParseSelector. A parsed selector is a compact,
 * immutable array of requirements sorted by key; matching allocates nothing. */
#include "lib/selector.h"
#include "lib/buf.h"

#include <jansson.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

struct sel_val {
    const char *s;
    size_t n;
};

struct sel_req {
    char *key;
    size_t klen;
    enum sel_op op;
    bool dbl; /* written as `==` (kept for String()) */
    size_t nvals;
    struct sel_val *vals; /* sorted, unique; strings live in pool */
    int64_t num;          /* the integer of `>`/`<` */
    char *pool;
};

struct sel {
    enum sel_kind kind;
    bool nothing; /* labels.Nothing(): matches no object */
    size_t nreqs;
    struct sel_req *reqs;
};

/* ---------------------------------------------------------------- validation */

#define LABEL_KEY_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define LABEL_NAME_MSG                                                                             \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "    \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "         \
    "validation is '" LABEL_KEY_FMT "')"
#define LABEL_VALUE_MSG                                                                            \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "    \
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "             \
    "'my_value',  or '12345', regex used for validation is '(" LABEL_KEY_FMT ")?')"
#define DNS_SUBDOMAIN_FMT "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
#define DNS_SUBDOMAIN_MSG                                                                          \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "   \
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "       \
    "used for validation is '" DNS_SUBDOMAIN_FMT "')"

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], non-empty. */
static bool name_chars_ok(const char *s, size_t n)
{
    if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
        return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

static bool lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool dns_subdomain_ok(const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') {
            if (!lower_alnum(s[i]) && s[i] != '-')
                return false;
            continue;
        }
        if (i == start || !lower_alnum(s[start]) || !lower_alnum(s[i - 1]))
            return false;
        start = i + 1;
    }
    return true;
}

/* Appends "; "-joined reasons to b. */
static void add_reason(struct ck_buf *b, const char *r)
{
    if (b->len)
        ck_buf_appends(b, "; ");
    ck_buf_appends(b, r);
}

static void label_key_reasons(const char *k, size_t n, struct ck_buf *b)
{
    const char *slash = memchr(k, '/', n);
    const char *name = k;
    size_t nlen = n;
    if (slash) {
        if (memchr(slash + 1, '/', n - (size_t)(slash + 1 - k))) {
            add_reason(b, "a valid label key " LABEL_NAME_MSG
                          " with an optional DNS subdomain prefix and '/' (e.g. "
                          "'example.com/MyName')");
            return;
        }
        size_t plen = (size_t)(slash - k);
        if (plen == 0) {
            add_reason(b, "prefix part must be non-empty");
        } else {
            if (plen > 253)
                add_reason(b, "prefix part must be no more than 253 characters");
            if (!dns_subdomain_ok(k, plen))
                add_reason(b, "prefix part " DNS_SUBDOMAIN_MSG);
        }
        name = slash + 1;
        nlen = n - plen - 1;
    }
    if (nlen == 0)
        add_reason(b, "name part must be non-empty");
    else if (nlen > 63)
        add_reason(b, "name part must be no more than 63 characters");
    if (!name_chars_ok(name, nlen))
        add_reason(b, "name part " LABEL_NAME_MSG);
}

static void label_value_reasons(const char *v, size_t n, struct ck_buf *b)
{
    if (n > 63)
        add_reason(b, "must be no more than 63 characters");
    if (n > 0 && !name_chars_ok(v, n))
        add_reason(b, LABEL_VALUE_MSG);
}

static bool copy_reasons(struct ck_buf *b, char *why, size_t whylen)
{
    bool ok = b->len == 0;
    if (why && whylen)
        snprintf(why, whylen, "%s", b->data ? b->data : "");
    ck_buf_release(b);
    return ok;
}

bool sel_valid_label_key(const char *key, size_t n, char *why, size_t whylen)
{
    struct ck_buf b = CK_BUF_INIT(8192);
    label_key_reasons(key, n, &b);
    return copy_reasons(&b, why, whylen);
}

bool sel_valid_label_value(const char *val, size_t n, char *why, size_t whylen)
{
    struct ck_buf b = CK_BUF_INIT(8192);
    label_value_reasons(val, n, &b);
    return copy_reasons(&b, why, whylen);
}

/* Go strconv.ParseInt(s, 10, 64). */
static bool parse_int64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (n && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return false;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (lim - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

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

struct vlist {
    struct sel_val *v;
    size_t n, cap;
};

static void vlist_add(struct vlist *l, const char *s, size_t n)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = ck_realloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n].s = s;
    l->v[l->n].n = n;
    l->n++;
}

static int val_cmp(const void *a, const void *b)
{
    const struct sel_val *x = a, *y = b;
    size_t m = x->n < y->n ? x->n : y->n;
    int c = m ? memcmp(x->s, y->s, m) : 0;
    if (c)
        return c;
    return x->n < y->n ? -1 : x->n > y->n;
}

/* Sorts and removes duplicates (upstream collects values in a sets.String). */
static void vlist_normalize(struct vlist *l)
{
    if (l->n < 2)
        return;
    qsort(l->v, l->n, sizeof(*l->v), val_cmp);
    size_t w = 1;
    for (size_t i = 1; i < l->n; i++)
        if (val_cmp(&l->v[i], &l->v[w - 1]) != 0)
            l->v[w++] = l->v[i];
    l->n = w;
}

static int parse_ident_list(struct parser *p, struct vlist *vals)
{
    for (;;) {
        struct item it = take(p);
        if (it.t == T_ID) {
            vlist_add(vals, it.s, it.n);
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
            vlist_add(vals, "", 0);
        struct item nx = look(p);
        if (nx.t == T_CPAR || nx.t == T_COMMA)
            vlist_add(vals, "", 0);
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
        vlist_add(vals, "", 0);
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
        vlist_add(vals, "", 0);
        return 0;
    }
    it = take(p);
    if (it.t == T_ID) {
        vlist_add(vals, it.s, it.n);
        return 0;
    }
    return perr(p, "found '%.*s', expected: identifier", &it);
}

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

/* Length of the valid UTF-8 sequence at s (0 if invalid). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t l = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (s[0] >= 0xF5 || l == 0 || l > n)
        return 0;
    for (size_t i = 1; i < l; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return l;
}

/* Go's %q of a string: printable text as is, other bytes escaped. */
static void append_go_quoted(struct ck_buf *b, const char *s, size_t n)
{
    ck_buf_appendc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *e = c == '"'    ? "\\\""
                        : c == '\\' ? "\\\\"
                        : c == '\n' ? "\\n"
                        : c == '\t' ? "\\t"
                        : c == '\r' ? "\\r"
                        : c == '\a' ? "\\a"
                        : c == '\b' ? "\\b"
                        : c == '\f' ? "\\f"
                        : c == '\v' ? "\\v"
                                    : NULL;
        size_t l;
        if (e)
            ck_buf_appends(b, e);
        else if (c >= 0x20 && c < 0x7f)
            ck_buf_appendc(b, (char)c);
        else if (c >= 0x80 && (l = utf8_len((const unsigned char *)s + i, n - i)) > 0) {
            ck_buf_append(b, s + i, l);
            i += l - 1;
        } else
            ck_buf_appendf(b, "\\x%02x", c);
    }
    ck_buf_appendc(b, '"');
}

/* Appends one field error "path: Invalid value: \"v\": detail" to an aggregate. */
static void agg_add(struct ck_buf *agg, size_t *count, const char *path, const struct sel_val *v,
                    const char *detail)
{
    if (agg->len > 2 * CK_ERR_MSG_MAX) { /* the reply holds CK_ERR_MSG_MAX bytes anyway */
        (*count)++;
        return;
    }
    struct ck_buf one = CK_BUF_INIT(16384);
    ck_buf_appendf(&one, "%s: Invalid value: ", path);
    append_go_quoted(&one, v->s, v->n);
    ck_buf_appendf(&one, ": %s", detail);
    if (!one.data)
        return;
    if (agg->data && strstr(agg->data, one.data)) { /* ToAggregate drops duplicates */
        ck_buf_release(&one);
        return;
    }
    if (*count)
        ck_buf_appends(agg, ", ");
    ck_buf_append(agg, one.data, one.len);
    (*count)++;
    ck_buf_release(&one);
}

/* NewRequirement's checks of the values (the key was checked while parsing). */
static int check_values(struct parser *p, const struct item *key, enum sel_op op,
                        const struct vlist *vals, int64_t *num)
{
    struct ck_buf agg = CK_BUF_INIT(65536);
    size_t count = 0;
    char path[512];
    if (op == SEL_OP_GT || op == SEL_OP_LT) {
        if (!parse_int64(vals->v[0].s, vals->v[0].n, num))
            agg_add(&agg, &count, "values[0]", &vals->v[0],
                    "for 'Gt', 'Lt' operators, the value must be an integer");
    }
    for (size_t i = 0; i < vals->n; i++) {
        struct ck_buf why = CK_BUF_INIT(8192);
        label_value_reasons(vals->v[i].s, vals->v[i].n, &why);
        if (why.len) {
            snprintf(path, sizeof(path), "values[%zu][%.*s]", i, (int)key->n, key->s);
            agg_add(&agg, &count, path, &vals->v[i], why.data);
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
    label_key_reasons(it.s, it.n, &why);
    if (why.len) {
        struct sel_val v = {it.s, it.n};
        size_t count = 0;
        agg_add(p->msg, &count, "<nil>", &v, why.data);
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

static void req_fill(struct sel_req *r, const struct item *key, enum sel_op op, bool dbl,
                     const struct vlist *vals, int64_t num)
{
    size_t total = key->n + 1;
    for (size_t i = 0; i < vals->n; i++)
        total += vals->v[i].n + 1;
    r->pool = ck_malloc(total);
    r->key = r->pool;
    memcpy(r->key, key->s, key->n);
    r->key[key->n] = 0;
    r->klen = key->n;
    char *w = r->pool + key->n + 1;
    r->vals = vals->n ? ck_calloc(vals->n, sizeof(*r->vals)) : NULL;
    for (size_t i = 0; i < vals->n; i++) {
        if (vals->v[i].n)
            memcpy(w, vals->v[i].s, vals->v[i].n);
        w[vals->v[i].n] = 0;
        r->vals[i].s = w;
        r->vals[i].n = vals->v[i].n;
        w += vals->v[i].n + 1;
    }
    r->nvals = vals->n;
    r->op = op;
    r->dbl = dbl;
    r->num = num;
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
    req_fill(r, &key, op, dbl, &vals, num);
    free(vals.v);
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

/* Appends a new zeroed requirement slot. */
static struct sel_req *reqs_push(struct sel *s, size_t *cap)
{
    if (s->nreqs == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        s->reqs = ck_realloc(s->reqs, *cap * sizeof(*s->reqs));
    }
    struct sel_req *r = &s->reqs[s->nreqs];
    memset(r, 0, sizeof(*r));
    return r;
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
        struct sel_req *r = reqs_push(s, &cap);
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

static void merge_reqs(struct sel_req *a, struct sel_req *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_reqs(a, tmp, h);
    merge_reqs(a + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = strcmp(a[j].key, a[i].key) < 0 ? a[j++] : a[i++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof(*a));
}

/* Stable sort by key (equal keys keep their written order), O(n log n) for long inputs. */
static void sort_reqs(struct sel *s)
{
    if (s->nreqs < 2)
        return;
    struct sel_req *tmp = ck_calloc(s->nreqs, sizeof(*tmp));
    merge_reqs(s->reqs, tmp, s->nreqs);
    free(tmp);
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
        sort_reqs(s);
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
    return val_cmp(&vx, &vy);
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
        struct sel_req *r = reqs_push(s, &cap);
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

void sel_free(struct sel *s)
{
    if (!s)
        return;
    reqs_free(s->reqs, s->nreqs);
    free(s);
}

static bool has_value(const struct sel_req *r, const char *v, size_t n)
{
    if (r->nvals > 8) { /* values are kept sorted: binary search long `in` lists */
        struct sel_val key = {v, n};
        size_t lo = 0, hi = r->nvals;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = val_cmp(&r->vals[mid], &key);
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
        return v && parse_int64(v, n, &x) && x > r->num;
    case SEL_OP_LT:
        return v && parse_int64(v, n, &x) && x < r->num;
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

/* ---------------------------------------------------------------- structured selectors */

const char *sel_lookup_json(void *ctx, const char *key, size_t *vlen)
{
    json_t *v = json_object_get((const json_t *)ctx, key);
    if (!json_is_string(v))
        return NULL;
    *vlen = json_string_length(v);
    return json_string_value(v);
}

/* Go's %#v of a []string, e.g. []string{"a", "b"}. */
static void append_go_slice(struct ck_buf *b, const struct vlist *l)
{
    ck_buf_appends(b, "[]string{");
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            ck_buf_appends(b, ", ");
        append_go_quoted(b, l->v[i].s, l->v[i].n);
    }
    ck_buf_appendc(b, '}');
}

static int cmp_vals_only(const void *a, const void *b)
{
    return val_cmp(a, b);
}

/* labels.NewRequirement's checks for one matchLabels/matchExpressions entry. */
static int new_requirement(struct sel *s, size_t *cap, const char *key, size_t klen, enum sel_op op,
                           struct vlist *vals, struct ck_buf *msg)
{
    struct ck_buf agg = CK_BUF_INIT(65536);
    size_t count = 0;
    struct sel_val kv = {key, klen};
    struct ck_buf why = CK_BUF_INIT(8192);
    label_key_reasons(key, klen, &why);
    if (why.len)
        agg_add(&agg, &count, "key", &kv, why.data);
    ck_buf_release(&why);
    const char *bad = NULL;
    if ((op == SEL_OP_IN || op == SEL_OP_NOTIN) && vals->n == 0)
        bad = "for 'in', 'notin' operators, values set can't be empty";
    else if (op == SEL_OP_EQ && vals->n != 1)
        bad = "exact-match compatibility requires one single value";
    else if ((op == SEL_OP_EXISTS || op == SEL_OP_NOTEXISTS) && vals->n != 0)
        bad = "values set must be empty for exists and does not exist";
    if (bad) {
        struct ck_buf one = CK_BUF_INIT(16384);
        ck_buf_appends(&one, "values: Invalid value: ");
        append_go_slice(&one, vals);
        ck_buf_appendf(&one, ": %s", bad);
        if (count++)
            ck_buf_appends(&agg, ", ");
        ck_buf_append(&agg, one.data, one.len);
        ck_buf_release(&one);
    }
    char path[512];
    for (size_t i = 0; i < vals->n; i++) {
        struct ck_buf vw = CK_BUF_INIT(8192);
        label_value_reasons(vals->v[i].s, vals->v[i].n, &vw);
        if (vw.len) {
            snprintf(path, sizeof(path), "values[%zu][%.*s]", i, (int)klen, key);
            agg_add(&agg, &count, path, &vals->v[i], vw.data);
        }
        ck_buf_release(&vw);
    }
    if (count) {
        if (count > 1)
            ck_buf_appendc(msg, '[');
        ck_buf_append(msg, agg.data, agg.len);
        if (count > 1)
            ck_buf_appendc(msg, ']');
        ck_buf_release(&agg);
        return -1;
    }
    if (vals->n > 1) /* String() shows values sorted; duplicates stay, as upstream */
        qsort(vals->v, vals->n, sizeof(*vals->v), cmp_vals_only);
    struct sel_req *r = reqs_push(s, cap);
    struct item k = {T_ID, key, klen};
    req_fill(r, &k, op, false, vals, 0);
    s->nreqs++;
    return 0;
}

static int json_str(const json_t *v, const char **s, size_t *n)
{
    if (!json_is_string(v))
        return -1;
    *s = json_string_value(v);
    *n = json_string_length(v);
    return 0;
}

static int from_match_labels(struct sel *s, size_t *cap, const json_t *ml, bool validate,
                             struct ck_buf *msg)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)ml, k, v)
    {
        struct vlist vals = {0};
        const char *vs;
        size_t vn;
        if (json_str(v, &vs, &vn) < 0) {
            ck_buf_appendf(msg, "matchLabels[%s]: value must be a string", k);
            return -1;
        }
        vlist_add(&vals, vs, vn);
        int rc = 0;
        if (validate) {
            rc = new_requirement(s, cap, k, strlen(k), SEL_OP_EQ, &vals, msg);
        } else {
            struct item key = {T_ID, k, strlen(k)};
            req_fill(reqs_push(s, cap), &key, SEL_OP_EQ, false, &vals, 0);
            s->nreqs++;
        }
        free(vals.v);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int from_expression(struct sel *s, size_t *cap, const json_t *e, size_t idx,
                           struct ck_buf *msg)
{
    const char *key, *ops;
    size_t klen, olen;
    if (json_str(json_object_get(e, "key"), &key, &klen) < 0) {
        ck_buf_appendf(msg, "matchExpressions[%zu].key: must be a string", idx);
        return -1;
    }
    if (json_str(json_object_get(e, "operator"), &ops, &olen) < 0)
        ops = "", olen = 0;
    enum sel_op op;
    if (strcmp(ops, "In") == 0)
        op = SEL_OP_IN;
    else if (strcmp(ops, "NotIn") == 0)
        op = SEL_OP_NOTIN;
    else if (strcmp(ops, "Exists") == 0)
        op = SEL_OP_EXISTS;
    else if (strcmp(ops, "DoesNotExist") == 0)
        op = SEL_OP_NOTEXISTS;
    else {
        ck_buf_appends(msg, "");
        append_go_quoted(msg, ops, olen);
        ck_buf_appends(msg, " is not a valid label selector operator");
        return -1;
    }
    json_t *jv = json_object_get(e, "values");
    struct vlist vals = {0};
    for (size_t i = 0; i < json_array_size(jv); i++) {
        const char *vs;
        size_t vn;
        if (json_str(json_array_get(jv, i), &vs, &vn) < 0) {
            free(vals.v);
            ck_buf_appendf(msg, "matchExpressions[%zu].values[%zu]: must be a string", idx, i);
            return -1;
        }
        vlist_add(&vals, vs, vn);
    }
    int rc = new_requirement(s, cap, key, klen, op, &vals, msg);
    free(vals.v);
    return rc;
}

static int finish_json_sel(struct sel *s, int rc, struct ck_buf *msg, struct sel **out,
                           struct ck_err *err)
{
    if (rc < 0) {
        ck_err_set(err, CK_R_BAD_REQUEST, "%s", msg->data ? msg->data : "invalid selector");
        ck_buf_release(msg);
        sel_free(s);
        return -1;
    }
    ck_buf_release(msg);
    sort_reqs(s);
    *out = s;
    return 0;
}

int sel_from_label_selector(const json_t *ls, struct sel **out, struct ck_err *err)
{
    struct sel *s = ck_calloc(1, sizeof(*s));
    s->kind = SEL_LABEL;
    *out = NULL;
    struct ck_buf msg = CK_BUF_INIT(CK_ERR_MSG_MAX * 4);
    int rc = 0;
    size_t cap = 0;
    if (!ls || json_is_null(ls)) {
        s->nothing = true;
    } else if (!json_is_object(ls)) {
        ck_buf_appends(&msg, "a label selector must be an object");
        rc = -1;
    } else {
        json_t *ml = json_object_get(ls, "matchLabels");
        json_t *me = json_object_get(ls, "matchExpressions");
        if ((ml && !json_is_object(ml) && !json_is_null(ml)) ||
            (me && !json_is_array(me) && !json_is_null(me))) {
            ck_buf_appends(&msg, "matchLabels must be an object and matchExpressions an array");
            rc = -1;
        }
        if (rc == 0 && json_is_object(ml))
            rc = from_match_labels(s, &cap, ml, true, &msg);
        for (size_t i = 0; rc == 0 && i < json_array_size(me); i++)
            rc = from_expression(s, &cap, json_array_get(me, i), i, &msg);
    }
    return finish_json_sel(s, rc, &msg, out, err);
}

int sel_from_map(const json_t *map, struct sel **out, struct ck_err *err)
{
    struct sel *s = ck_calloc(1, sizeof(*s));
    s->kind = SEL_LABEL;
    *out = NULL;
    struct ck_buf msg = CK_BUF_INIT(CK_ERR_MSG_MAX * 4);
    size_t cap = 0;
    int rc = 0;
    if (map && !json_is_null(map) && !json_is_object(map)) {
        ck_buf_appends(&msg, "a label set must be an object");
        rc = -1;
    } else if (json_is_object(map)) {
        rc = from_match_labels(s, &cap, map, false, &msg);
    }
    return finish_json_sel(s, rc, &msg, out, err);
}
