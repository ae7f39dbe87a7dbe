/* SPDX-License-Identifier: Apache-2.0 */
/* YAML <-> JSON with libyaml, resolving scalars as sigs.k8s.io/yaml (go-yaml v2, YAML 1.1)
 * does. This file is YAML to JSON: parsing is event driven with an explicit frame stack, and
 * depth, size and alias expansion are capped, so hostile input cannot exhaust the stack or
 * memory. Scalar resolution is in yamljson_resolve.c, JSON to YAML in yamljson_emit.c. */
#include "lib/yamljson.h"
#include "lib/yamljson_int.h"

#include <ctype.h>
#include <stdarg.h>
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

/* go-yaml's text of a float key: Go 'g' formatting at float32 precision. */
static void format_float32(double f, char *out, size_t cap)
{
    yj_format_go_g(f, true, out, cap);
}

/* A key's text: go-yaml keys may be ints, floats or bools; JSON wants strings. */
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
    yj_resolve_plain(s, n, &r);
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
        yj_resolve_plain(s, n, &r);
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
