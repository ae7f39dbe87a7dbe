/* SPDX-License-Identifier: Apache-2.0 */
/* Selector requirements: the label key and value rules (upstream IsQualifiedName and
 * IsValidLabelValue, with their messages), value lists, error aggregates, and building and
 * sorting requirements. Shared by the text parsers and the structured selectors. */
#include "lib/selector.h"
#include "lib/selector_int.h"
#include "lib/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

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

void sel_label_key_reasons(const char *k, size_t n, struct ck_buf *b)
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

void sel_label_value_reasons(const char *v, size_t n, struct ck_buf *b)
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
    sel_label_key_reasons(key, n, &b);
    return copy_reasons(&b, why, whylen);
}

bool sel_valid_label_value(const char *val, size_t n, char *why, size_t whylen)
{
    struct ck_buf b = CK_BUF_INIT(8192);
    sel_label_value_reasons(val, n, &b);
    return copy_reasons(&b, why, whylen);
}

/* Go strconv.ParseInt(s, 10, 64). */
bool sel_parse_int64(const char *s, size_t n, int64_t *out)
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

/* ---------------------------------------------------------------- values and errors */

void sel_vlist_add(struct vlist *l, const char *s, size_t n)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = ck_realloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n].s = s;
    l->v[l->n].n = n;
    l->n++;
}

int sel_val_cmp(const void *a, const void *b)
{
    const struct sel_val *x = a, *y = b;
    size_t m = x->n < y->n ? x->n : y->n;
    int c = m ? memcmp(x->s, y->s, m) : 0;
    if (c)
        return c;
    return x->n < y->n ? -1 : x->n > y->n;
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
void sel_append_go_quoted(struct ck_buf *b, const char *s, size_t n)
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
void sel_agg_add(struct ck_buf *agg, size_t *count, const char *path, const struct sel_val *v,
                 const char *detail)
{
    if (agg->len > 2 * CK_ERR_MSG_MAX) { /* the reply holds CK_ERR_MSG_MAX bytes anyway */
        (*count)++;
        return;
    }
    struct ck_buf one = CK_BUF_INIT(16384);
    ck_buf_appendf(&one, "%s: Invalid value: ", path);
    sel_append_go_quoted(&one, v->s, v->n);
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

/* ---------------------------------------------------------------- requirements */

/* Appends a new zeroed requirement slot. */
struct sel_req *sel_reqs_push(struct sel *s, size_t *cap)
{
    if (s->nreqs == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        s->reqs = ck_realloc(s->reqs, *cap * sizeof(*s->reqs));
    }
    struct sel_req *r = &s->reqs[s->nreqs];
    memset(r, 0, sizeof(*r));
    return r;
}

void sel_req_fill(struct sel_req *r, const char *key, size_t klen, enum sel_op op, bool dbl,
                  const struct vlist *vals, int64_t num)
{
    size_t total = klen + 1;
    for (size_t i = 0; i < vals->n; i++)
        total += vals->v[i].n + 1;
    r->pool = ck_malloc(total);
    r->key = r->pool;
    memcpy(r->key, key, klen);
    r->key[klen] = 0;
    r->klen = klen;
    char *w = r->pool + klen + 1;
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
void sel_sort_reqs(struct sel *s)
{
    if (s->nreqs < 2)
        return;
    struct sel_req *tmp = ck_calloc(s->nreqs, sizeof(*tmp));
    merge_reqs(s->reqs, tmp, s->nreqs);
    free(tmp);
}
