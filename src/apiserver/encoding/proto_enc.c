/* SPDX-License-Identifier: Apache-2.0 */
/* Table-driven protobuf encoder: the JSON form of a built-in object -> the bytes upstream's
 * generated Marshal writes for the same Go value (field-number order; non-pointer fields
 * always, zero or not; pointers, slices, maps and []byte only when set; map entries by
 * sorted key), wrapped as runtime.Unknown behind the "k8s\0" magic (see proto.h). */
#include "apiserver/encoding/proto.h"
#include "apiserver/encoding/proto_int.h"
#include "lib/buf.h"
#include "lib/timeutil.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

#define MAX_DEPTH 64

struct enc {
    struct ck_buf *b;
    int rc;
};

static void put(struct enc *e, const void *p, size_t n)
{
    if (e->rc == 0 && ck_buf_append(e->b, p, n) < 0)
        e->rc = -1;
}

static void put_varint(struct enc *e, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    put(e, tmp, n);
}

static void put_tag(struct enc *e, uint32_t num, unsigned wt)
{
    put_varint(e, (uint64_t)num << 3 | wt);
}

static void put_bytes(struct enc *e, uint32_t num, const void *p, size_t n)
{
    put_tag(e, num, 2);
    put_varint(e, n);
    put(e, p, n);
}

static void put_str(struct enc *e, uint32_t num, const char *s)
{
    put_bytes(e, num, s, strlen(s));
}

/* Opens a length-delimited field: its length is patched in by close_len. */
static size_t open_len(struct enc *e, uint32_t num)
{
    put_tag(e, num, 2);
    size_t at = e->b->len;
    put(e, "\0\0\0\0\0", 5);
    return at;
}

static void close_len(struct enc *e, size_t at)
{
    if (e->rc)
        return;
    size_t body = e->b->len - at - 5;
    uint8_t tmp[10];
    size_t n = 0;
    uint64_t v = body;
    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    char *d = e->b->data;
    memmove(d + at + n, d + at + 5, body);
    memcpy(d + at, tmp, n);
    e->b->len = at + n + body;
    d[e->b->len] = '\0';
}

/* ---- JSON scalars --------------------------------------------------------------------- */

static int64_t jint(json_t *v)
{
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_real(v))
        return (int64_t)json_real_value(v);
    if (json_is_true(v))
        return 1;
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return 0;
}

static const char *jstr(json_t *v, char *tmp, size_t n)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(tmp, n, "%lld", (long long)json_integer_value(v));
        return tmp;
    }
    if (json_is_real(v)) {
        snprintf(tmp, n, "%.17g", json_real_value(v));
        return tmp;
    }
    return NULL;
}

/* RFC 3339 with optional fraction -> Unix seconds and nanoseconds. */
static bool parse_time(const char *s, int64_t *secs, int32_t *nanos)
{
    int Y, M, D, h, m, sec, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &n) != 6)
        return false;
    const char *p = s + n;
    int64_t frac = 0;
    int digits = 0;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (digits < 9) {
                frac = frac * 10 + (*p - '0');
                digits++;
            }
    for (; digits < 9; digits++)
        frac *= 10;
    int off = 0;
    if (*p == '+' || *p == '-') {
        int oh = 0, om = 0;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
            return false;
        off = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
    } else if (*p != 'Z' && *p != 'z') {
        return false;
    }
    struct tm tm = {.tm_year = Y - 1900,
                    .tm_mon = M - 1,
                    .tm_mday = D,
                    .tm_hour = h,
                    .tm_min = m,
                    .tm_sec = sec};
    *secs = (int64_t)timegm(&tm) - off;
    *nanos = (int32_t)frac;
    return true;
}

/* Go's time.ParseDuration for the forms Kubernetes writes ("1h2m3.5s", "300ms", "-1s"). */
static int64_t parse_duration(const char *s)
{
    if (!s)
        return 0;
    bool neg = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    double total = 0;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s)
            break;
        s = end;
        double unit = 1e9;
        if (!strncmp(s, "ns", 2))
            unit = 1, s += 2;
        else if (!strncmp(s, "us", 2) || !strncmp(s, "\xc2\xb5s", 3))
            unit = 1e3, s += s[0] == 'u' ? 2 : 3;
        else if (!strncmp(s, "ms", 2))
            unit = 1e6, s += 2;
        else if (*s == 's')
            unit = 1e9, s++;
        else if (*s == 'm')
            unit = 60e9, s++;
        else if (*s == 'h')
            unit = 3600e9, s++;
        total += v * unit;
    }
    return (int64_t)llround(neg ? -total : total);
}

static unsigned char *unb64(const char *s, size_t *n)
{
    size_t l = strlen(s);
    unsigned char *out = ck_malloc(l / 4 * 3 + 4);
    int r = l ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)l) : 0;
    if (r < 0) {
        free(out);
        return NULL;
    }
    size_t len = (size_t)r;
    for (size_t i = l; i > 0 && s[i - 1] == '=' && len > 0; i--)
        len--; /* EVP_DecodeBlock counts the padding as data */
    *n = len;
    return out;
}

/* ---- values ----------------------------------------------------------------------------- */

static void encode_msg(struct enc *e, const struct pb_msg *m, json_t *obj, int depth);

/* Writes one occurrence of field num holding v of type t (v NULL: the Go zero value). */
static void encode_value(struct enc *e, uint32_t num, const struct pb_type *t, json_t *v, int depth)
{
    char tmp[64];
    switch (t->kind) {
    case PB_STRING: {
        const char *s = jstr(v, tmp, sizeof(tmp));
        put_str(e, num, s ? s : "");
        return;
    }
    case PB_INT32:
        put_tag(e, num, 0);
        put_varint(e, (uint64_t)(int64_t)(int32_t)jint(v));
        return;
    case PB_INT64:
    case PB_BOOL:
        put_tag(e, num, 0);
        put_varint(e, t->kind == PB_BOOL ? (json_is_true(v) ? 1 : 0) : (uint64_t)jint(v));
        return;
    case PB_DOUBLE:
    case PB_FLOAT: {
        double d = json_is_number(v) ? json_number_value(v) : 0;
        uint8_t le[8];
        size_t n = t->kind == PB_DOUBLE ? 8 : 4;
        uint64_t bits = 0;
        if (n == 8) {
            memcpy(&bits, &d, 8);
        } else {
            float f = (float)d;
            uint32_t u;
            memcpy(&u, &f, 4);
            bits = u;
        }
        for (size_t i = 0; i < n; i++)
            le[i] = (uint8_t)(bits >> (8 * i));
        put_tag(e, num, n == 8 ? 1 : 5);
        put(e, le, n);
        return;
    }
    case PB_BYTES: {
        size_t n = 0;
        unsigned char *p = json_is_string(v) ? unb64(json_string_value(v), &n) : NULL;
        put_bytes(e, num, p ? (const void *)p : "", p ? n : 0);
        free(p);
        return;
    }
    default:
        break;
    }
    size_t at = open_len(e, num);
    switch (t->kind) {
    case PB_TIME:
    case PB_MICROTIME: {
        int64_t secs;
        int32_t nanos;
        if (json_is_string(v) && parse_time(json_string_value(v), &secs, &nanos)) {
            put_tag(e, 1, 0);
            put_varint(e, (uint64_t)secs);
            put_tag(e, 2, 0);
            put_varint(e, (uint64_t)(int64_t)nanos);
        } /* the zero time marshals as an empty message */
        break;
    }
    case PB_QUANTITY: {
        const char *s = jstr(v, tmp, sizeof(tmp));
        put_str(e, 1, s ? s : "0");
        break;
    }
    case PB_INTORSTRING: {
        bool str = json_is_string(v);
        put_tag(e, 1, 0);
        put_varint(e, str ? 1 : 0);
        put_tag(e, 2, 0);
        put_varint(e, str ? 0 : (uint64_t)(int64_t)(int32_t)jint(v));
        put_str(e, 3, str ? json_string_value(v) : "");
        break;
    }
    case PB_DURATION:
        put_tag(e, 1, 0);
        put_varint(e, (uint64_t)parse_duration(json_string_value(v)));
        break;
    case PB_RAWJSON:
        if (v && !json_is_null(v)) {
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            if (s)
                put_str(e, 1, s);
            free(s);
        }
        break;
    case PB_STRLIST:
        for (size_t i = 0; i < json_array_size(v); i++) {
            const char *s = jstr(json_array_get(v, i), tmp, sizeof(tmp));
            put_str(e, 1, s ? s : "");
        }
        break;
    case PB_MSG:
        encode_msg(e, t->msg, json_is_object(v) ? v : NULL, depth + 1);
        break;
    default:
        break;
    }
    close_len(e, at);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void encode_map(struct enc *e, const struct pb_field *f, json_t *obj, int depth)
{
    size_t n = json_object_size(obj);
    if (!n)
        return;
    const char **keys = ck_calloc(n, sizeof(*keys));
    size_t k = 0;
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) keys[k++] = key;
    qsort(keys, k, sizeof(*keys), cmp_str); /* Go marshals maps by sorted key */
    for (size_t i = 0; i < k; i++) {
        size_t at = open_len(e, f->num);
        json_t *kv = json_string(keys[i]);
        if (f->key.kind == PB_STRING) {
            put_str(e, 1, keys[i]);
        } else {
            json_decref(kv);
            kv = json_integer(strtoll(keys[i], NULL, 10));
            encode_value(e, 1, &f->key, kv, depth);
        }
        json_decref(kv);
        encode_value(e, 2, &f->val, json_object_get(obj, keys[i]), depth);
        close_len(e, at);
    }
    free(keys);
}

static void encode_field(struct enc *e, const struct pb_field *f, json_t *obj, int depth)
{
    if (f->val.kind == PB_MSG && !f->val.msg)
        return; /* a message of a package not loaded */
    if (f->inline_) {
        size_t at = open_len(e, f->num);
        encode_msg(e, f->val.msg, obj, depth + 1);
        close_len(e, at);
        return;
    }
    json_t *v = obj ? json_object_get(obj, f->name) : NULL;
    if (json_is_null(v))
        v = NULL;
    if (f->map) {
        if (json_is_object(v))
            encode_map(e, f, v, depth);
        return;
    }
    if (f->repeated) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *x = json_array_get(v, i);
            encode_value(e, f->num, &f->val, json_is_null(x) ? NULL : x, depth);
        }
        return;
    }
    /* nil pointers and []byte are left out; every other field is written, zero or not */
    if (!v && (f->ptr || f->val.kind == PB_BYTES))
        return;
    encode_value(e, f->num, &f->val, v, depth);
}

static void encode_msg(struct enc *e, const struct pb_msg *m, json_t *obj, int depth)
{
    if (depth > MAX_DEPTH) {
        e->rc = -1;
        return;
    }
    for (size_t i = 0; i < m->nfields && e->rc == 0; i++)
        encode_field(e, &m->fields[i], obj, depth);
}

/* ---- public ----------------------------------------------------------------------------- */

static int no_schema(struct ck_err *err, const char *av, const char *kind)
{
    return ck_err_set(err, CK_R_NOT_ACCEPTABLE,
                      "the server cannot encode %s, Kind=%s as protobuf - accepted media types "
                      "include: application/json, application/yaml",
                      av && *av ? av : "v1", kind ? kind : "");
}

bool proto_has_kind(const char *api_version, const char *kind)
{
    return pb_msg_for_kind(api_version ? api_version : "", kind) != NULL;
}

int proto_encode_message(const char *type, json_t *obj, struct ck_buf *out, struct ck_err *err)
{
    const struct pb_msg *m = strchr(type, '.') ? pb_msg_lookup(type) : pb_msg_for_kind("", type);
    if (!m)
        return no_schema(err, "", type);
    struct enc e = {out, 0};
    encode_msg(&e, m, json_is_object(obj) ? obj : NULL, 0);
    if (e.rc)
        return ck_err_set(err, CK_R_INTERNAL, "protobuf response too large");
    return 0;
}

int proto_encode(json_t *obj, struct ck_buf *out, struct ck_err *err)
{
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    const struct pb_msg *m = pb_msg_for_kind(av ? av : "", kind);
    if (!m)
        return no_schema(err, av, kind);
    struct enc e = {out, 0};
    put(&e, "k8s\0", 4);
    size_t tm = open_len(&e, 1); /* typeMeta */
    put_str(&e, 1, av ? av : "");
    put_str(&e, 2, kind);
    close_len(&e, tm);
    size_t raw = open_len(&e, 2);
    encode_msg(&e, m, obj, 0);
    close_len(&e, raw);
    put_str(&e, 3, ""); /* contentEncoding */
    put_str(&e, 4, ""); /* contentType */
    if (e.rc)
        return ck_err_set(err, CK_R_INTERNAL, "protobuf response too large");
    return 0;
}

int proto_encode_watch_event(const char *line, size_t len, struct ck_buf *out, struct ck_err *err)
{
    json_error_t je;
    json_t *ev = json_loadb(line, len, 0, &je);
    if (!json_is_object(ev)) {
        json_decref(ev);
        return ck_err_set(err, CK_R_INTERNAL, "watch event is not JSON: %s", je.text);
    }
    const char *type = json_string_value(json_object_get(ev, "type"));
    struct ck_buf obj = CK_BUF_INIT(out->max);
    int rc = proto_encode(json_object_get(ev, "object"), &obj, err);
    if (rc == 0) {
        /* the frame: 4-byte big-endian length, then a bare metav1.WatchEvent (upstream's
         * stream serializer is the raw one: no magic, no Unknown) */
        size_t start = out->len;
        struct enc e = {out, 0};
        put(&e, "\0\0\0\0", 4);
        put_str(&e, 1, type ? type : "");
        size_t at = open_len(&e, 2); /* object: RawExtension */
        put_bytes(&e, 1, obj.data, obj.len);
        close_len(&e, at);
        if (e.rc) {
            rc = ck_err_set(err, CK_R_INTERNAL, "watch event too large");
        } else {
            size_t n = out->len - start - 4;
            uint8_t *h = (uint8_t *)out->data + start;
            h[0] = (uint8_t)(n >> 24);
            h[1] = (uint8_t)(n >> 16);
            h[2] = (uint8_t)(n >> 8);
            h[3] = (uint8_t)n;
        }
    }
    ck_buf_release(&obj);
    json_decref(ev);
    return rc;
}
