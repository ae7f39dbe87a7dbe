/* SPDX-License-Identifier: Apache-2.0 */
/* YAML <-> JSON with libyaml, resolving scalars as sigs.k8s.io/yaml (go-yaml v2, YAML 1.1)
 * does. Parsing is event driven with an explicit frame stack: depth, size and alias expansion
 * are capped, so hostile input cannot exhaust the stack or memory. Emission drives libyaml's
 * emitter with go-yaml v2's style choices (block style, compact sequences, sorted keys). */
#include "lib/yamljson.h"

#include <ctype.h>
#include <stdarg.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lib/banned.h"

#define TAG_PREFIX "tag:yaml.org,2002:"
/* Approximate bytes a node costs in memory, for the alias-expansion budget. */
#define NODE_WEIGHT 64

/* ---------------------------------------------------------------- scalar resolution */

enum rkind { R_STR, R_NULL, R_BOOL, R_INT, R_UINT, R_FLOAT, R_MERGE, R_TIMESTAMP };

struct resolved {
    enum rkind kind;
    bool b;
    int64_t i;
    uint64_t u;
    double f;
};

static bool in_list(const char *s, size_t n, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == n && memcmp(*list, s, n) == 0)
            return true;
    return false;
}

static const char *const yes_words[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                        "True", "TRUE", "on",  "On",  "ON",  NULL};
static const char *const no_words[] = {"n",     "N",     "no",  "No",  "NO",  "false",
                                       "False", "FALSE", "off", "Off", "OFF", NULL};
static const char *const null_words[] = {"", "~", "null", "Null", "NULL", NULL};
static const char *const nan_words[] = {".nan", ".NaN", ".NAN", NULL};
static const char *const inf_words[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
static const char *const ninf_words[] = {"-.inf", "-.Inf", "-.INF", NULL};

/* The map lookup of go-yaml's resolve(); true if s is one of the fixed words. */
static bool resolve_word(const char *s, size_t n, struct resolved *r)
{
    memset(r, 0, sizeof(*r));
    /* every word is at most 6 bytes and starts with one of these (go-yaml's hint table) */
    if (n > 6 || (n > 0 && !strchr("yYnNtTfFoO~.+-<", s[0])))
        return false;
    if (in_list(s, n, yes_words) || in_list(s, n, no_words)) {
        r->kind = R_BOOL;
        r->b = in_list(s, n, yes_words);
    } else if (in_list(s, n, null_words)) {
        r->kind = R_NULL;
    } else if (in_list(s, n, nan_words)) {
        r->kind = R_FLOAT;
        r->f = NAN;
    } else if (in_list(s, n, inf_words) || in_list(s, n, ninf_words)) {
        r->kind = R_FLOAT;
        r->f = in_list(s, n, inf_words) ? INFINITY : -INFINITY;
    } else if (n == 2 && s[0] == '<' && s[1] == '<') {
        r->kind = R_MERGE;
    } else {
        return false;
    }
    return true;
}

static int digit_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

/* Go strconv.ParseUint(s, 0, 64) on the magnitude (no sign). 0 ok, -1 syntax, -2 range. */
static int go_parse_mag(const char *s, size_t n, uint64_t *out)
{
    unsigned base = 10;
    size_t i = 0;
    if (n >= 2 && s[0] == '0') {
        char c = (char)tolower((unsigned char)s[1]);
        base = c == 'x' ? 16 : c == 'o' ? 8 : c == 'b' ? 2 : 8;
        i = (c == 'x' || c == 'o' || c == 'b') ? 2 : 1;
    }
    if (i == n && !(n == 1 && s[0] == '0'))
        return n == 0 || i > 1 ? -1 : 0;
    uint64_t v = 0;
    bool range = false;
    for (; i < n; i++) {
        unsigned d = (unsigned)digit_val(s[i]);
        if (d >= base)
            return -1;
        if (v > (UINT64_MAX - d) / base)
            range = true;
        else
            v = v * base + d;
    }
    *out = v;
    return range ? -2 : 0;
}

/* yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s, size_t n)
{
    size_t i = 0, d = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    if (i < n && s[i] == '.') {
        for (i++; i < n && isdigit((unsigned char)s[i]); i++)
            d++;
        if (!d)
            return false;
    } else {
        for (; i < n && isdigit((unsigned char)s[i]); i++)
            d++;
        if (!d)
            return false;
        if (i < n && s[i] == '.')
            for (i++; i < n && isdigit((unsigned char)s[i]); i++)
                ;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        for (d = 0; i < n && isdigit((unsigned char)s[i]); i++)
            d++;
        if (!d)
            return false;
    }
    return i == n;
}

static bool parse_double(const char *s, size_t n, double *out)
{
    char tmp[1024];
    if (n >= sizeof(tmp))
        return false;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *end;
    *out = strtod(tmp, &end);
    /* Go's ParseFloat fails on overflow (a string then); underflow quietly gives 0 */
    return end == tmp + n && !isinf(*out);
}

/* Digits-and-sign scalars: int, uint (beyond int64), float. */
static bool resolve_number(const char *in, size_t n, struct resolved *r)
{
    char plain[1024];
    size_t pn = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '_')
            continue;
        if (pn + 1 >= sizeof(plain))
            return false; /* longer than any number we resolve: a string */
        plain[pn++] = in[i];
    }
    plain[pn] = 0;
    bool neg = pn && plain[0] == '-';
    size_t off = pn && (plain[0] == '-' || plain[0] == '+');
    uint64_t mag = 0;
    int rc = go_parse_mag(plain + off, pn - off, &mag);
    if (rc == 0 && (neg ? mag <= (uint64_t)INT64_MAX + 1 : mag <= (uint64_t)INT64_MAX)) {
        r->kind = R_INT;
        r->i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
        return true;
    }
    if (rc == 0 && off == 0) {
        r->kind = R_UINT;
        r->u = mag;
        return true;
    }
    if (yaml_style_float(plain, pn) && parse_double(plain, pn, &r->f)) {
        r->kind = R_FLOAT;
        return true;
    }
    if (rc == -2 || (rc == 0 && off)) { /* big integer (Go: big.Int), kept as a float */
        unsigned base = 10;
        size_t i = off;
        if (pn - off >= 2 && plain[off] == '0') {
            char c = (char)tolower((unsigned char)plain[off + 1]);
            base = c == 'x' ? 16 : c == 'o' ? 8 : c == 'b' ? 2 : 8;
            i += (c == 'x' || c == 'o' || c == 'b') ? 2 : 1;
        }
        double v = 0;
        for (; i < pn; i++)
            v = v * base + digit_val(plain[i]);
        r->kind = R_FLOAT;
        r->f = neg ? -v : v;
        return !isinf(v);
    }
    return false;
}

static bool getnum(const char *s, size_t n, size_t *i, int maxd, int *v)
{
    int d = 0;
    *v = 0;
    while (*i < n && d < maxd && isdigit((unsigned char)s[*i])) {
        *v = *v * 10 + (s[*i] - '0');
        (*i)++;
        d++;
    }
    return d > 0;
}

/* go-yaml's parseTimestamp: the layouts "2006-1-2T15:4:5.999999999Z07:00" (also 't'),
 * "2006-1-2 15:4:5.999999999" and "2006-1-2". */
static bool is_timestamp(const char *s, size_t n)
{
    size_t i = 0;
    int y, mo, d, h, mi, se;
    if (n < 5 || !getnum(s, n, &i, 4, &y) || i != 4 || s[i++] != '-')
        return false;
    if (!getnum(s, n, &i, 2, &mo) || i >= n || s[i++] != '-' || !getnum(s, n, &i, 2, &d))
        return false;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        return false;
    if (i == n)
        return true;
    char sep = s[i++];
    if (sep != 'T' && sep != 't' && sep != ' ')
        return false;
    if (!getnum(s, n, &i, 2, &h) || i >= n || s[i++] != ':' || !getnum(s, n, &i, 2, &mi) ||
        i >= n || s[i++] != ':' || !getnum(s, n, &i, 2, &se))
        return false;
    if (h > 23 || mi > 59 || se > 59)
        return false;
    if (i < n && s[i] == '.') {
        int f;
        i++;
        if (!getnum(s, n, &i, 9, &f))
            return false;
    }
    if (sep == ' ')
        return i == n;
    if (i < n && s[i] == 'Z')
        return i + 1 == n;
    int zh, zm;
    if (i >= n || (s[i] != '+' && s[i] != '-'))
        return false;
    i++;
    size_t st = i;
    if (!getnum(s, n, &i, 2, &zh) || i - st != 2 || i >= n || s[i++] != ':')
        return false;
    st = i;
    return getnum(s, n, &i, 2, &zm) && i - st == 2 && i == n;
}

/* go-yaml v2 resolve() for an untagged plain scalar. */
static void resolve_plain(const char *s, size_t n, struct resolved *r)
{
    if (resolve_word(s, n, r))
        return;
    char c = s[0];
    if (c == '.') {
        if (n > 1 && yaml_style_float(s, n) && parse_double(s, n, &r->f))
            r->kind = R_FLOAT;
        return;
    }
    if (c == '+' || c == '-' || isdigit((unsigned char)c)) {
        if (is_timestamp(s, n)) {
            r->kind = R_TIMESTAMP;
            return;
        }
        resolve_number(s, n, r);
    }
}

/* isBase60Float: ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$ (quoted on output). */
static bool is_base60(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    if (i >= n || !isdigit((unsigned char)s[i]))
        return false;
    while (i < n && (isdigit((unsigned char)s[i]) || s[i] == '_'))
        i++;
    int groups = 0;
    while (i < n && s[i] == ':') {
        i++;
        size_t st = i;
        while (i < n && isdigit((unsigned char)s[i]) && i - st < 2)
            i++;
        if (i == st || (i - st == 2 && s[st] > '5'))
            return false;
        groups++;
    }
    if (!groups)
        return false;
    if (i < n && s[i] == '.')
        for (i++; i < n && (isdigit((unsigned char)s[i]) || s[i] == '_'); i++)
            ;
    return i == n;
}

/* ---------------------------------------------------------------- parser state */

enum ftype { F_SEQ, F_MAP };

struct frame {
    enum ftype type;
    json_t *val;
    char *anchor; /* registered when the node completes */
    char *key;    /* map: pending key (NULL = next node is a key) */
    size_t keylen;
    bool key_merge; /* pending key is `<<` */
    size_t keyline; /* 1-based line of the pending key */
    json_t *seen;   /* explicit keys so far (only when duplicates are reported) */
    size_t depth;   /* deepest child so far */
    size_t weight;  /* nodes + bytes below */
};

struct anchor {
    char *name;
    json_t *val;
    size_t depth, weight;
};

struct ystate {
    struct frame *fr;
    size_t nfr, capfr;
    struct anchor *an;
    size_t nan, capan;
    json_t *anchor_idx; /* name -> index in an (the latest definition wins) */
    size_t alias_weight;
    json_t *root;
    bool done;
    struct ck_err *err;
    struct ck_buf *dups; /* duplicate-key report, or NULL */
    bool failed;         /* an error has been reported through err */
    yaml_mark_t mark;
};

static int yfail(struct ystate *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int yfail(struct ystate *st, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    st->failed = true;
    return ck_err_set(st->err, CK_R_BAD_REQUEST,
                      "error converting YAML to JSON: yaml: line %zu, column %zu: %s",
                      (size_t)st->mark.line + 1, (size_t)st->mark.column + 1, msg);
}

static int register_anchor(struct ystate *st, char *name, json_t *v, size_t depth, size_t w)
{
    if (st->nan == st->capan) {
        st->capan = st->capan ? st->capan * 2 : 8;
        st->an = ck_realloc(st->an, st->capan * sizeof(*st->an));
    }
    if (!st->anchor_idx)
        st->anchor_idx = json_object();
    json_object_set_new(st->anchor_idx, name, json_integer((json_int_t)st->nan));
    st->an[st->nan++] = (struct anchor){name, json_incref(v), depth, w};
    return 0;
}

/* A key's text: go-yaml keys may be ints, floats or bools; JSON wants strings. */
static void format_float32(double f, char *out, size_t cap);

static int key_from_json(struct ystate *st, const json_t *v, char **key, size_t *klen)
{
    char tmp[64];
    switch (json_typeof(v)) {
    case JSON_STRING:
        *key = ck_strndup(json_string_value(v), json_string_length(v));
        *klen = json_string_length(v);
        return 0;
    case JSON_INTEGER:
        snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        format_float32(json_real_value(v), tmp, sizeof(tmp));
        break;
    case JSON_TRUE:
        snprintf(tmp, sizeof(tmp), "true");
        break;
    case JSON_FALSE:
        snprintf(tmp, sizeof(tmp), "false");
        break;
    case JSON_NULL:
        return yfail(st, "unsupported map key of type: <nil>");
    default:
        return yfail(st, "invalid map key: a mapping or sequence cannot be a key");
    }
    *key = ck_strdup(tmp);
    *klen = strlen(tmp);
    return 0;
}

static int merge_into_map(struct ystate *st, json_t *map, json_t *v)
{
    if (json_is_object(v)) {
        json_object_update(map, v);
        return 0;
    }
    if (!json_is_array(v))
        return yfail(st, "map merge requires map or sequence of maps as the value");
    for (size_t i = json_array_size(v); i-- > 0;)
        if (!json_is_object(json_array_get(v, i)))
            return yfail(st, "map merge requires map or sequence of maps as the value");
    for (size_t i = json_array_size(v); i-- > 0;)
        json_object_update(map, json_array_get(v, i));
    return 0;
}

/* Strict decoding's complaint about a key given twice in one mapping (merged keys excepted). */
static void note_key(struct ystate *st, struct frame *f)
{
    if (!f->seen)
        f->seen = json_object();
    if (json_object_getn(f->seen, f->key, f->keylen)) {
        ck_buf_appendf(st->dups, "%sline %zu: key ", st->dups->len ? "\n" : "", f->keyline);
        ck_buf_append_json_str(st->dups, f->key, f->keylen);
        ck_buf_appends(st->dups, " already set in map");
    } else {
        json_object_setn_new_nocheck(f->seen, f->key, f->keylen, json_true());
    }
}

/* Attaches a completed node (reference stolen) to the parent frame or makes it the root. */
static int deliver(struct ystate *st, json_t *v, size_t depth, size_t weight)
{
    if (st->nfr == 0) {
        st->root = v;
        st->done = true;
        return 0;
    }
    struct frame *f = &st->fr[st->nfr - 1];
    if (depth + 1 > f->depth)
        f->depth = depth + 1;
    f->weight += weight;
    if (f->type == F_SEQ) {
        json_array_append_new(f->val, v);
        return 0;
    }
    if (!f->key && !f->key_merge) {
        int rc = key_from_json(st, v, &f->key, &f->keylen);
        f->keyline = (size_t)st->mark.line + 1;
        json_decref(v);
        return rc;
    }
    if (!f->key_merge && st->dups)
        note_key(st, f);
    int rc = 0;
    if (f->key_merge)
        rc = merge_into_map(st, f->val, v);
    else if (json_object_setn_new(f->val, f->key, f->keylen, v) < 0)
        rc = yfail(st, "invalid map key");
    if (f->key_merge)
        json_decref(v);
    free(f->key);
    f->key = NULL;
    f->key_merge = false;
    return rc;
}

/* ---------------------------------------------------------------- scalars */

static const char *b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* !!binary: base64 text to bytes; invalid UTF-8 bytes become U+FFFD like Go's encoder. */
static json_t *decode_binary(struct ystate *st, const char *s, size_t n)
{
    unsigned char *raw = ck_malloc(n / 4 * 3 + 4);
    size_t w = 0, bits = 0, pads = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        if (isspace((unsigned char)s[i]))
            continue;
        const char *p = s[i] ? strchr(b64, s[i]) : NULL;
        if (s[i] == '=') {
            pads++;
            continue;
        }
        if (!p || pads) {
            free(raw);
            yfail(st, "!!binary value contains invalid base64 data");
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)(p - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            raw[w++] = (unsigned char)(acc >> bits);
        }
    }
    struct ck_buf out = CK_BUF_INIT(SIZE_MAX / 2);
    for (size_t i = 0; i < w; i++) {
        unsigned char c = raw[i];
        size_t l = c < 0x80                   ? 1
                   : (c >= 0xC2 && c <= 0xDF) ? 2
                   : (c >= 0xE0 && c <= 0xEF) ? 3
                   : (c >= 0xF0 && c <= 0xF4) ? 4
                                              : 0;
        bool ok = l > 0 && i + l <= w;
        for (size_t k = 1; ok && k < l; k++)
            ok = (raw[i + k] & 0xC0) == 0x80;
        if (ok && l == 3)
            ok = !(c == 0xE0 && raw[i + 1] < 0xA0) && !(c == 0xED && raw[i + 1] >= 0xA0);
        if (ok && l == 4)
            ok = !(c == 0xF0 && raw[i + 1] < 0x90) && !(c == 0xF4 && raw[i + 1] >= 0x90);
        if (ok) {
            ck_buf_append(&out, raw + i, l);
            i += l - 1;
        } else {
            ck_buf_appends(&out, "\xEF\xBF\xBD");
        }
    }
    free(raw);
    json_t *v = json_stringn(out.data ? out.data : "", out.len);
    ck_buf_release(&out);
    return v;
}

static json_t *json_from_resolved(struct ystate *st, const struct resolved *r, const char *s,
                                  size_t n)
{
    switch (r->kind) {
    case R_NULL:
        return json_null();
    case R_BOOL:
        return json_boolean(r->b);
    case R_INT:
        return json_integer(r->i);
    case R_UINT:
        return json_real((double)r->u);
    case R_FLOAT:
        if (isnan(r->f) || isinf(r->f)) {
            yfail(st, "json: unsupported value: %s",
                  isnan(r->f) ? "NaN"
                  : r->f > 0  ? "+Inf"
                              : "-Inf");
            return NULL;
        }
        /* Go's encoder prints integral floats without a fraction; ints decode better. */
        if (r->f == floor(r->f) && fabs(r->f) < 9.2e18 && fabs(r->f) < 1e21)
            return json_integer((json_int_t)r->f);
        return json_real(r->f);
    default:
        return json_stringn(s, n);
    }
}

static const char *short_tag(const char *tag)
{
    if (!tag)
        return "";
    if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0)
        return tag + strlen(TAG_PREFIX);
    return NULL; /* not a YAML core tag */
}

static const char *kind_tag(enum rkind k)
{
    switch (k) {
    case R_NULL:
        return "null";
    case R_BOOL:
        return "bool";
    case R_INT:
    case R_UINT:
        return "int";
    case R_FLOAT:
        return "float";
    case R_MERGE:
        return "merge";
    case R_TIMESTAMP:
        return "timestamp";
    default:
        return "str";
    }
}

/* An explicitly tagged scalar (go-yaml resolve(tag, in) plus its consistency check). */
static json_t *tagged_scalar(struct ystate *st, const char *tag, const char *s, size_t n)
{
    const char *t = short_tag(tag);
    if (!t || strcmp(t, "str") == 0 || strcmp(tag, "!") == 0)
        return json_stringn(s, n); /* unknown tags keep the text */
    if (strcmp(t, "binary") == 0)
        return decode_binary(st, s, n);
    if (strcmp(t, "bool") && strcmp(t, "int") && strcmp(t, "float") && strcmp(t, "null") &&
        strcmp(t, "timestamp") && strcmp(t, "merge"))
        return json_stringn(s, n);
    struct resolved r = {0};
    resolve_plain(s, n, &r);
    if (strcmp(t, "timestamp") == 0 && r.kind == R_TIMESTAMP)
        return json_stringn(s, n);
    if (strcmp(t, "float") == 0 && r.kind == R_INT) {
        r.kind = R_FLOAT;
        r.f = (double)r.i;
    }
    if (strcmp(kind_tag(r.kind), t) != 0) {
        yfail(st, "cannot decode !!%s `%.*s` as a !!%s", kind_tag(r.kind), (int)(n > 64 ? 64 : n),
              s, t);
        return NULL;
    }
    return json_from_resolved(st, &r, s, n);
}

static int on_scalar(struct ystate *st, const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    struct frame *f = st->nfr ? &st->fr[st->nfr - 1] : NULL;
    bool plain = ev->data.scalar.plain_implicit && !tag;
    json_t *v;
    if (plain) {
        struct resolved r = {0};
        resolve_plain(s, n, &r);
        bool key_pos = f && f->type == F_MAP && !f->key && !f->key_merge;
        if (r.kind == R_MERGE && key_pos) {
            f->key_merge = true;
            return 0;
        }
        if (r.kind == R_FLOAT && key_pos) { /* go-yaml float keys: 'g' at float32 precision */
            char tmp[64];
            format_float32(r.f, tmp, sizeof(tmp));
            f->key = ck_strdup(tmp);
            f->keylen = strlen(tmp);
            f->keyline = (size_t)st->mark.line + 1;
            return 0;
        }
        v = json_from_resolved(st, &r, s, n);
    } else if (tag && strcmp(tag, TAG_PREFIX "merge") == 0 && f && f->type == F_MAP && !f->key &&
               !f->key_merge) {
        f->key_merge = true;
        return 0;
    } else if (tag) {
        v = tagged_scalar(st, tag, s, n);
    } else {
        v = json_stringn(s, n);
    }
    if (!v)
        return st->failed ? -1 : yfail(st, "invalid scalar");
    if (ev->data.scalar.anchor)
        register_anchor(st, ck_strdup((const char *)ev->data.scalar.anchor), v, 0, NODE_WEIGHT + n);
    return deliver(st, v, 0, NODE_WEIGHT + n);
}

static int on_alias(struct ystate *st, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    json_t *idx = st->anchor_idx ? json_object_get(st->anchor_idx, name) : NULL;
    const struct anchor *a = idx ? &st->an[json_integer_value(idx)] : NULL;
    if (!a)
        return yfail(st, "unknown anchor '%s' referenced", name);
    st->alias_weight += a->weight;
    if (st->alias_weight > YAML_MAX_ALIAS_WEIGHT)
        return yfail(st, "document contains excessive aliasing");
    if (st->nfr + a->depth > YAML_MAX_DEPTH)
        return yfail(st, "exceeded max depth of %d", YAML_MAX_DEPTH);
    return deliver(st, json_deep_copy(a->val), a->depth, a->weight);
}

static int on_start(struct ystate *st, enum ftype type, const yaml_char_t *anchor)
{
    struct frame *p = st->nfr ? &st->fr[st->nfr - 1] : NULL;
    if (p && p->type == F_MAP && !p->key && !p->key_merge)
        return yfail(st, "invalid map key: a mapping or sequence cannot be a key");
    if (st->nfr >= YAML_MAX_DEPTH)
        return yfail(st, "exceeded max depth of %d", YAML_MAX_DEPTH);
    if (st->nfr == st->capfr) {
        st->capfr = st->capfr ? st->capfr * 2 : 16;
        st->fr = ck_realloc(st->fr, st->capfr * sizeof(*st->fr));
    }
    struct frame *f = &st->fr[st->nfr++];
    memset(f, 0, sizeof(*f));
    f->type = type;
    f->val = type == F_MAP ? json_object() : json_array();
    f->anchor = anchor ? ck_strdup((const char *)anchor) : NULL;
    f->depth = 1;
    f->weight = NODE_WEIGHT;
    return 0;
}

static int on_end(struct ystate *st)
{
    struct frame f = st->fr[--st->nfr];
    json_decref(f.seen);
    if (f.key || f.key_merge) { /* cannot happen with a well-formed event stream */
        free(f.key);
        json_decref(f.val);
        free(f.anchor);
        return yfail(st, "mapping ended after a key");
    }
    if (f.anchor)
        register_anchor(st, f.anchor, f.val, f.depth, f.weight);
    return deliver(st, f.val, f.depth, f.weight);
}

static int on_event(struct ystate *st, const yaml_event_t *ev)
{
    st->mark = ev->start_mark;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return on_scalar(st, ev);
    case YAML_ALIAS_EVENT:
        return on_alias(st, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(st, F_SEQ, ev->data.sequence_start.anchor);
    case YAML_MAPPING_START_EVENT:
        return on_start(st, F_MAP, ev->data.mapping_start.anchor);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_end(st);
    case YAML_DOCUMENT_END_EVENT:
        st->done = true;
        return 0;
    case YAML_STREAM_END_EVENT:
        st->done = true;
        return 0;
    default:
        return 0;
    }
}

static void ystate_release(struct ystate *st)
{
    for (size_t i = 0; i < st->nfr; i++) {
        json_decref(st->fr[i].seen);
        json_decref(st->fr[i].val);
        free(st->fr[i].anchor);
        free(st->fr[i].key);
    }
    free(st->fr);
    for (size_t i = 0; i < st->nan; i++) {
        free(st->an[i].name);
        json_decref(st->an[i].val);
    }
    free(st->an);
    json_decref(st->anchor_idx);
}

static int parser_error(struct ystate *st, const yaml_parser_t *p)
{
    const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;
    st->mark = *m;
    char ctx[160] = "";
    if (p->context)
        snprintf(ctx, sizeof(ctx), " (%s at line %zu, column %zu)", p->context,
                 (size_t)p->context_mark.line + 1, (size_t)p->context_mark.column + 1);
    return yfail(st, "%s%s", p->problem ? p->problem : "unknown problem parsing YAML content", ctx);
}

int yaml_to_json(const char *text, size_t len, json_t **out, struct ck_err *err)
{
    return yaml_to_json_dups(text, len, out, NULL, err);
}

int yaml_to_json_dups(const char *text, size_t len, json_t **out, struct ck_buf *dups,
                      struct ck_err *err)
{
    *out = NULL;
    if (len > YAML_MAX_INPUT)
        return ck_err_set(err, CK_R_TOO_LARGE, "YAML document of %zu bytes exceeds %d bytes", len,
                          YAML_MAX_INPUT);
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return ck_err_set(err, CK_R_INTERNAL, "yaml: cannot initialize parser");
    yaml_parser_set_input_string(&p, (const unsigned char *)(text ? text : ""), len);
    struct ystate st = {0};
    st.err = err;
    st.dups = dups;
    int rc = 0;
    while (rc == 0 && !st.done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = parser_error(&st, &p);
            break;
        }
        rc = on_event(&st, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    ystate_release(&st);
    if (rc < 0) {
        json_decref(st.root);
        return -1;
    }
    *out = st.root ? st.root : json_null();
    return 0;
}

/* ---------------------------------------------------------------- number formatting */

/* Shortest digits of f that read back as the same value at the given precision
 * (17 digits for float64, 9 for float32); returns the decimal exponent. */
static int shortest_digits(double f, bool f32, char *digits, size_t cap)
{
    char tmp[64];
    int maxp = f32 ? 9 : 17;
    for (int p = 1; p <= maxp; p++) {
        snprintf(tmp, sizeof(tmp), "%.*e", p - 1, f);
        double back = strtod(tmp, NULL);
        if (f32 ? (float)back == (float)f : back == f)
            break;
    }
    /* tmp: d[.ddd]e±XX */
    size_t w = 0;
    const char *e = strchr(tmp, 'e');
    for (const char *c = tmp; c < e && w + 1 < cap; c++)
        if (isdigit((unsigned char)*c))
            digits[w++] = *c;
    while (w > 1 && digits[w - 1] == '0')
        w--;
    digits[w] = 0;
    return atoi(e + 1);
}

/* Go strconv.FormatFloat(f, 'g', -1, 32 or 64). */
static void format_go_g(double f, bool f32, char *out, size_t cap)
{
    if (isnan(f) || isinf(f)) {
        snprintf(out, cap, "%s", isnan(f) ? ".nan" : f > 0 ? ".inf" : "-.inf");
        return;
    }
    if (f == 0) {
        snprintf(out, cap, "%s", signbit(f) ? "-0" : "0");
        return;
    }
    char d[32];
    int exp = shortest_digits(fabs(f), f32, d, sizeof(d));
    size_t nd = strlen(d);
    const char *sign = f < 0 ? "-" : "";
    if (exp < -4 || exp >= 6) {
        snprintf(out, cap, "%s%c%s%s%se%c%02d", sign, d[0], nd > 1 ? "." : "", d + 1, "",
                 exp < 0 ? '-' : '+', abs(exp));
        return;
    }
    struct ck_buf b = CK_BUF_INIT(cap - 1);
    ck_buf_appends(&b, sign);
    if (exp < 0) {
        ck_buf_appends(&b, "0.");
        for (int i = -1; i > exp; i--)
            ck_buf_appendc(&b, '0');
        ck_buf_appends(&b, d);
    } else {
        for (int i = 0; i <= exp || (size_t)i < nd; i++) {
            if (i == exp + 1)
                ck_buf_appendc(&b, '.');
            ck_buf_appendc(&b, (size_t)i < nd ? d[i] : '0');
        }
    }
    snprintf(out, cap, "%s", b.data ? b.data : "0");
    ck_buf_release(&b);
}

static void format_float32(double f, char *out, size_t cap)
{
    format_go_g(f, true, out, cap);
}

/* ---------------------------------------------------------------- emitter */

struct emit {
    yaml_emitter_t em;
    struct ck_buf *out;
    bool overflow;
};

static int write_handler(void *data, unsigned char *buf, size_t size)
{
    struct emit *e = data;
    if (ck_buf_append(e->out, buf, size) < 0) {
        e->overflow = true;
        return 0;
    }
    return 1;
}

static int emit_ev(struct emit *e, yaml_event_t *ev)
{
    return yaml_emitter_emit(&e->em, ev) ? 0 : -1;
}

/* Quoting as go-yaml v2 chooses it; libyaml then downgrades where a style is impossible. */
static int emit_string(struct emit *e, const char *s, size_t n)
{
    yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;
    struct resolved r = {0};
    if (memchr(s, '\n', n))
        style = YAML_LITERAL_SCALAR_STYLE;
    else if (n == 0 || (resolve_plain(s, n, &r), r.kind != R_STR) || is_base60(s, n))
        style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    yaml_event_t ev;
    /* both implicit flags set, as go-yaml does: a downgraded style needs no "!" tag */
    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)n, 1, 1, style);
    return emit_ev(e, &ev);
}

static int emit_plain(struct emit *e, const char *s)
{
    yaml_event_t ev;
    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
                                 YAML_PLAIN_SCALAR_STYLE);
    return emit_ev(e, &ev);
}

static bool is_letter_rune(uint32_t r)
{
    return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r >= 0x80;
}

static bool is_digit_rune(uint32_t r)
{
    return r >= '0' && r <= '9';
}

/* Decodes s (valid UTF-8) into runes; returns the count. */
static size_t runes(const char *s, size_t n, uint32_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; k++) {
        unsigned char c = (unsigned char)s[i];
        size_t l = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        uint32_t r = l == 1 ? c : c & (0xFF >> (l + 1));
        for (size_t j = 1; j < l && i + j < n; j++)
            r = (r << 6) | ((unsigned char)s[i + j] & 0x3F);
        out[k] = r;
        i += l;
    }
    return k;
}

/* go-yaml v2 keyList.Less for string keys: a "natural" order where digit runs compare by
 * value and letters sort after other characters. */
static bool key_less(const char *a, size_t an_, const char *b, size_t bn_)
{
    uint32_t *ar = ck_malloc((an_ + 1) * sizeof(*ar)), *br = ck_malloc((bn_ + 1) * sizeof(*br));
    size_t al = runes(a, an_, ar), bl = runes(b, bn_, br);
    bool res = al < bl;
    for (size_t i = 0; i < al && i < bl; i++) {
        if (ar[i] == br[i])
            continue;
        bool la = is_letter_rune(ar[i]), lb = is_letter_rune(br[i]);
        if (la && lb) {
            res = ar[i] < br[i];
            goto done;
        }
        if (la || lb) {
            res = lb;
            goto done;
        }
        int64_t an = 0, bn = 0;
        if (ar[i] == '0' || br[i] == '0') {
            for (size_t j = i; j-- > 0 && is_digit_rune(ar[j]);)
                if (ar[j] != '0') {
                    an = 1;
                    bn = 1;
                    break;
                }
        }
        size_t ai, bi;
        /* Go's int64 arithmetic wraps; do the same without signed overflow */
        for (ai = i; ai < al && is_digit_rune(ar[ai]); ai++)
            an = (int64_t)((uint64_t)an * 10 + (ar[ai] - '0'));
        for (bi = i; bi < bl && is_digit_rune(br[bi]); bi++)
            bn = (int64_t)((uint64_t)bn * 10 + (br[bi] - '0'));
        if (an != bn)
            res = an < bn;
        else if (ai != bi)
            res = ai < bi;
        else
            res = ar[i] < br[i];
        goto done;
    }
done:
    free(ar);
    free(br);
    return res;
}

struct kv {
    const char *k;
    size_t n;
    json_t *v;
};

/* Stable merge sort: the natural order need not be transitive in corner cases, so no
 * qsort (which may misbehave with such comparators). */
static void sort_kv(struct kv *a, struct kv *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_kv(a, tmp, h);
    sort_kv(a + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = key_less(a[j].k, a[j].n, a[i].k, a[i].n) ? a[j++] : a[i++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof(*a));
}

static int emit_value(struct emit *e, const json_t *v, size_t depth);

static int emit_object(struct emit *e, const json_t *v, size_t depth)
{
    yaml_event_t ev;
    size_t n = json_object_size(v);
    yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                        n ? YAML_BLOCK_MAPPING_STYLE : YAML_FLOW_MAPPING_STYLE);
    if (emit_ev(e, &ev) < 0)
        return -1;
    struct kv *items = ck_calloc(n ? n : 1, sizeof(*items));
    size_t i = 0;
    const char *k;
    size_t kl;
    json_t *m;
    json_object_keylen_foreach((json_t *)v, k, kl, m) items[i++] = (struct kv){k, kl, m};
    struct kv *tmp = ck_calloc(n ? n : 1, sizeof(*tmp));
    sort_kv(items, tmp, n);
    free(tmp);
    int rc = 0;
    for (i = 0; i < n && rc == 0; i++) {
        rc = emit_string(e, items[i].k, items[i].n);
        if (rc == 0)
            rc = emit_value(e, items[i].v, depth + 1);
    }
    free(items);
    if (rc < 0)
        return -1;
    yaml_mapping_end_event_initialize(&ev);
    return emit_ev(e, &ev);
}

static int emit_array(struct emit *e, const json_t *v, size_t depth)
{
    yaml_event_t ev;
    size_t n = json_array_size(v);
    yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                         n ? YAML_BLOCK_SEQUENCE_STYLE : YAML_FLOW_SEQUENCE_STYLE);
    if (emit_ev(e, &ev) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (emit_value(e, json_array_get(v, i), depth + 1) < 0)
            return -1;
    yaml_sequence_end_event_initialize(&ev);
    return emit_ev(e, &ev);
}

static int emit_value(struct emit *e, const json_t *v, size_t depth)
{
    char tmp[64];
    if (depth > YAML_MAX_DEPTH)
        return -1;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return emit_object(e, v, depth);
    case JSON_ARRAY:
        return emit_array(e, v, depth);
    case JSON_STRING:
        return emit_string(e, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return emit_plain(e, tmp);
    case JSON_REAL:
        format_go_g(json_real_value(v), false, tmp, sizeof(tmp));
        return emit_plain(e, tmp);
    case JSON_TRUE:
        return emit_plain(e, "true");
    case JSON_FALSE:
        return emit_plain(e, "false");
    default:
        return emit_plain(e, "null");
    }
}

int json_to_yaml(const json_t *v, struct ck_buf *out)
{
    if (!v || !out)
        return -1;
    struct emit e = {.out = out};
    if (!yaml_emitter_initialize(&e.em))
        return -1;
    yaml_emitter_set_output(&e.em, write_handler, &e);
    yaml_emitter_set_unicode(&e.em, 1);
    yaml_emitter_set_width(&e.em, -1);
    yaml_emitter_set_indent(&e.em, 2);
    size_t start = out->len;
    yaml_event_t ev;
    int rc = 0;
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    rc = emit_ev(&e, &ev);
    if (rc == 0) {
        yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
        rc = emit_ev(&e, &ev);
    }
    if (rc == 0)
        rc = emit_value(&e, v, 0);
    if (rc == 0) {
        yaml_document_end_event_initialize(&ev, 1);
        rc = emit_ev(&e, &ev);
    }
    if (rc == 0) {
        yaml_stream_end_event_initialize(&ev);
        rc = emit_ev(&e, &ev);
    }
    if (rc == 0 && !yaml_emitter_flush(&e.em))
        rc = -1;
    yaml_emitter_delete(&e.em);
    if (rc < 0 || e.overflow) {
        out->len = start;
        if (out->data)
            out->data[start] = 0;
        return -1;
    }
    return 0;
}
