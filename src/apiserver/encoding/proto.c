/* SPDX-License-Identifier: Apache-2.0 */
/* Table-driven protobuf wire decoder for Kubernetes API objects (see proto.h). */
#include "apiserver/encoding/proto.h"
#include "apiserver/encoding/proto_int.h"
#include "apiserver/encoding/proto_schema.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/strmap.h"
#include "lib/timeutil.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/banned.h"

#define MAX_DEPTH 64

static struct ck_strmap msgs; /* qualified name -> struct pb_msg * */
static const char *pkgs[64];  /* packages in table order */
static size_t npkgs;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static const struct {
    const char *name;
    enum pb_kind kind;
} prims[] = {
    {"string", PB_STRING},  {"int32", PB_INT32},       {"int64", PB_INT64},
    {"bool", PB_BOOL},      {"bytes", PB_BYTES},       {"double", PB_DOUBLE},
    {"float", PB_FLOAT},    {"Time", PB_TIME},         {"MicroTime", PB_MICROTIME},
    {"Quantity", PB_QUANTITY}, {"IntOrString", PB_INTORSTRING}, {"Duration", PB_DURATION},
    {"RawExtension", PB_RAWJSON}, {"FieldsV1", PB_RAWJSON},
    {"StrList", PB_STRLIST}, /* a message wrapping repeated string; JSON is the array */
};

/* A type of package pkg: a primitive, "Name" (same package), "<package>.Name", or
 * "?<proto name>" (a package not loaded: the field is skipped). */
static void parse_type(const char *pkg, const char *s, size_t n, struct pb_type *t)
{
    for (size_t i = 0; i < sizeof(prims) / sizeof(prims[0]); i++)
        if (strlen(prims[i].name) == n && !strncmp(prims[i].name, s, n)) {
            t->kind = prims[i].kind;
            return;
        }
    t->kind = PB_MSG;
    if (n && s[0] == '?')
        return;
    if (memchr(s, '.', n))
        t->msg_name = ck_strndup(s, n);
    else
        t->msg_name = ck_asprintf("%s.%.*s", pkg, (int)n, s);
}

/* "name[*^]=num:type" where type is T, []T or map<K,V>. */
static void parse_field(const char *pkg, const char *tok, size_t len, struct pb_field *f)
{
    const char *eq = memchr(tok, '=', len), *colon = eq ? memchr(eq, ':', len - (size_t)(eq - tok)) : NULL;
    if (!eq || !colon)
        ck_fatal("proto schema: bad field %.*s", (int)len, tok);
    size_t nl = (size_t)(eq - tok);
    while (nl && (tok[nl - 1] == '*' || tok[nl - 1] == '^')) {
        f->ptr |= tok[nl - 1] == '*';
        f->inline_ |= tok[nl - 1] == '^';
        nl--;
    }
    f->name = ck_strndup(tok, nl);
    f->num = (uint32_t)strtoul(eq + 1, NULL, 10);
    const char *t = colon + 1;
    size_t tl = len - (size_t)(t - tok);
    if (tl > 2 && !strncmp(t, "[]", 2)) {
        f->repeated = true;
        parse_type(pkg, t + 2, tl - 2, &f->val);
    } else if (tl > 5 && !strncmp(t, "map<", 4)) {
        const char *comma = memchr(t, ',', tl);
        if (!comma)
            ck_fatal("proto schema: bad map %.*s", (int)len, tok);
        f->map = true;
        parse_type(pkg, t + 4, (size_t)(comma - t - 4), &f->key);
        parse_type(pkg, comma + 1, tl - (size_t)(comma + 1 - t) - 1, &f->val);
    } else {
        parse_type(pkg, t, tl, &f->val);
    }
}

static void parse_msg(const char *pkg, const char *l)
{
    struct pb_msg *m = ck_calloc(1, sizeof(*m));
    size_t cap = 8;
    m->fields = ck_calloc(cap, sizeof(*m->fields));
    const char *p = l;
    size_t w = strcspn(p, " ");
    m->name = ck_asprintf("%s.%.*s", pkg, (int)w, p);
    p += w;
    for (;;) {
        p += strspn(p, " ");
        if (!*p)
            break;
        w = strcspn(p, " ");
        if (m->nfields == cap) {
            cap *= 2;
            m->fields = ck_realloc(m->fields, cap * sizeof(*m->fields));
        }
        memset(&m->fields[m->nfields], 0, sizeof(m->fields[0]));
        parse_field(pkg, p, w, &m->fields[m->nfields++]);
        p += w;
    }
    ck_strmap_put(&msgs, m->name, m);
}

static void resolve(struct pb_type *t)
{
    if (t->kind == PB_MSG && !t->msg && t->msg_name)
        t->msg = ck_strmap_get(&msgs, t->msg_name, NULL); /* NULL: not loaded, skipped */
}

static void load_schema(void)
{
    for (size_t t = 0; proto_schema_tables[t]; t++) {
        const char *pkg = "";
        for (const char *const *l = proto_schema_tables[t]; *l; l++) {
            if (**l != '@') {
                parse_msg(pkg, *l);
                continue;
            }
            pkg = *l + 1;
            bool seen = false;
            for (size_t i = 0; i < npkgs; i++)
                seen |= strcmp(pkgs[i], pkg) == 0;
            if (!seen && npkgs < sizeof(pkgs) / sizeof(pkgs[0]))
                pkgs[npkgs++] = pkg;
        }
    }
    void *v;
    for (size_t it = 0; ck_strmap_next(&msgs, &it, NULL, &v);) {
        struct pb_msg *m = v;
        for (size_t i = 0; i < m->nfields; i++) {
            resolve(&m->fields[i].val);
            resolve(&m->fields[i].key);
        }
    }
}

const struct pb_msg *pb_msg_lookup(const char *qualified)
{
    pthread_once(&once, load_schema);
    return ck_strmap_get(&msgs, qualified, NULL);
}

static const struct pb_msg *in_pkg(const char *pkg, const char *kind)
{
    char q[256];
    snprintf(q, sizeof(q), "%s.%s", pkg, kind);
    return ck_strmap_get(&msgs, q, NULL);
}

const struct pb_msg *pb_msg_for_kind(const char *api_version, const char *kind)
{
    pthread_once(&once, load_schema);
    if (!kind || !*kind || strchr(kind, '.'))
        return NULL;
    const struct pb_msg *m = NULL;
    if (api_version && *api_version) {
        m = in_pkg(api_version, kind);
        return m ? m : in_pkg("meta.k8s.io/v1", kind);
    }
    m = in_pkg("v1", kind);
    for (size_t i = 0; !m && i < npkgs; i++)
        m = in_pkg(pkgs[i], kind);
    return m;
}

/* ---- wire reading --------------------------------------------------------------------------- */

struct rd {
    const uint8_t *p, *end;
};

static int varint(struct rd *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return -1;
        uint8_t b = *r->p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

static int fixed(struct rd *r, size_t n, uint64_t *v)
{
    if ((size_t)(r->end - r->p) < n)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x |= (uint64_t)r->p[i] << (8 * i);
    r->p += n;
    *v = x;
    return 0;
}

static int bytes_field(struct rd *r, struct rd *sub)
{
    uint64_t n;
    if (varint(r, &n) < 0 || n > (uint64_t)(r->end - r->p))
        return -1;
    sub->p = r->p;
    sub->end = r->p + n;
    r->p += n;
    return 0;
}

static int skip(struct rd *r, unsigned wt)
{
    uint64_t v;
    struct rd sub;
    switch (wt) {
    case 0: return varint(r, &v);
    case 1: return fixed(r, 8, &v);
    case 2: return bytes_field(r, &sub);
    case 5: return fixed(r, 4, &v);
    default: return -1; /* groups are not used by Kubernetes */
    }
}

/* ---- values ------------------------------------------------------------------------------- */

static int decode_msg(const struct pb_msg *m, struct rd *r, int depth, json_t *obj);

static json_t *b64(const uint8_t *p, size_t n)
{
    char *out = ck_malloc(4 * ((n + 2) / 3) + 1);
    int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    json_t *s = json_stringn(out, (size_t)(len > 0 ? len : 0));
    free(out);
    return s;
}

/* Decodes a small well-known message into its fields (1..3) as raw integers / byte ranges. */
struct small {
    uint64_t i[4];
    struct rd s[4];
    bool has[4];
};

static int decode_small(struct rd *r, struct small *o)
{
    memset(o, 0, sizeof(*o));
    while (r->p < r->end) {
        uint64_t tag;
        if (varint(r, &tag) < 0)
            return -1;
        unsigned num = (unsigned)(tag >> 3), wt = tag & 7;
        if (num >= 1 && num <= 3 && wt == 0) {
            if (varint(r, &o->i[num]) < 0)
                return -1;
            o->has[num] = true;
        } else if (num >= 1 && num <= 3 && wt == 2) {
            if (bytes_field(r, &o->s[num]) < 0)
                return -1;
            o->has[num] = true;
        } else if (skip(r, wt) < 0) {
            return -1;
        }
    }
    return 0;
}

static json_t *str_of(const struct rd *s)
{
    return json_stringn((const char *)s->p, (size_t)(s->end - s->p));
}

static json_t *time_json(struct small *o, bool micro)
{
    int64_t secs = (int64_t)o->i[1];
    int64_t nanos = (int32_t)o->i[2];
    if (secs == 0 && nanos == 0)
        return NULL; /* the zero time marshals as null: omit */
    char out[40];
    if (micro) {
        char full[31];
        ck_time_rfc3339nano(secs * 1000000000LL + nanos, full);
        snprintf(out, sizeof(out), "%.26sZ", full);
    } else {
        ck_time_rfc3339((time_t)secs, out);
    }
    return json_string(out);
}

static json_t *duration_json(int64_t ns)
{
    /* Go's time.Duration.String() for whole seconds and above; "0s" for zero */
    char out[64];
    int64_t s = ns / 1000000000LL, frac = ns % 1000000000LL;
    if (frac) {
        snprintf(out, sizeof(out), "%lld.%09llds", (long long)s, (long long)(frac < 0 ? -frac : frac));
        size_t n = strlen(out) - 1;
        while (out[n - 1] == '0')
            out[--n] = 0;
        out[n] = 's';
        out[n + 1] = 0;
        return json_string(out);
    }
    long long h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
    if (h)
        snprintf(out, sizeof(out), "%lldh%lldm%llds", h, m, sec);
    else if (m)
        snprintf(out, sizeof(out), "%lldm%llds", m, sec);
    else
        snprintf(out, sizeof(out), "%llds", sec);
    return json_string(out);
}

/* ExtraValue: field 1 repeated string -> a JSON array. */
static int strlist(struct rd *sub, json_t **out)
{
    *out = json_array();
    while (sub->p < sub->end) {
        uint64_t tag;
        struct rd s;
        if (varint(sub, &tag) < 0)
            return -1;
        if ((tag >> 3) == 1 && (tag & 7) == 2) {
            if (bytes_field(sub, &s) < 0)
                return -1;
            json_t *v = str_of(&s);
            if (!v)
                return -1;
            json_array_append_new(*out, v);
        } else if (skip(sub, tag & 7) < 0) {
            return -1;
        }
    }
    return 0;
}

/* A length-delimited well-known type -> JSON (NULL = omit). */
static int special(const struct pb_type *t, struct rd *sub, json_t **out)
{
    if (t->kind == PB_STRLIST)
        return strlist(sub, out);
    struct small o;
    if (decode_small(sub, &o) < 0)
        return -1;
    switch (t->kind) {
    case PB_TIME: *out = time_json(&o, false); return 0;
    case PB_MICROTIME: *out = time_json(&o, true); return 0;
    case PB_QUANTITY: *out = o.has[1] ? str_of(&o.s[1]) : json_string("0"); return 0;
    case PB_DURATION: *out = duration_json((int64_t)o.i[1]); return 0;
    case PB_INTORSTRING:
        *out = o.i[1] == 1 ? (o.has[3] ? str_of(&o.s[3]) : json_string(""))
                           : json_integer((int32_t)o.i[2]);
        return 0;
    case PB_RAWJSON: {
        if (!o.has[1]) {
            *out = NULL;
            return 0;
        }
        size_t n = (size_t)(o.s[1].end - o.s[1].p);
        *out = json_loadb((const char *)o.s[1].p, n, JSON_DECODE_ANY, NULL);
        if (!*out)
            *out = b64(o.s[1].p, n); /* not JSON (e.g. protobuf raw): keep the bytes */
        return 0;
    }
    default: return -1;
    }
}

/* Decodes one value of type t arriving with wire type wt. *zero tells a zero scalar. */
static int decode_value(const struct pb_type *t, unsigned wt, struct rd *r, int depth,
                        json_t **out, bool *zero)
{
    uint64_t v;
    struct rd sub;
    *out = NULL;
    *zero = false;
    switch (t->kind) {
    case PB_INT32:
    case PB_INT64:
    case PB_BOOL:
        if (wt != 0 || varint(r, &v) < 0)
            return -1;
        *zero = v == 0;
        *out = t->kind == PB_BOOL    ? json_boolean(v != 0)
               : t->kind == PB_INT32 ? json_integer((int32_t)(uint32_t)v)
                                     : json_integer((json_int_t)(int64_t)v);
        return 0;
    case PB_DOUBLE:
    case PB_FLOAT: {
        if ((wt != 1 && wt != 5) || fixed(r, wt == 1 ? 8 : 4, &v) < 0)
            return -1;
        double d;
        if (wt == 1) {
            memcpy(&d, &v, sizeof(d));
        } else {
            uint32_t u = (uint32_t)v;
            float f;
            memcpy(&f, &u, sizeof(f));
            d = f;
        }
        *zero = d == 0;
        *out = json_real(d);
        return 0;
    }
    default:
        break;
    }
    if (wt != 2 || bytes_field(r, &sub) < 0)
        return -1;
    size_t n = (size_t)(sub.end - sub.p);
    switch (t->kind) {
    case PB_STRING:
        *zero = n == 0;
        *out = json_stringn((const char *)sub.p, n);
        return *out ? 0 : -1; /* invalid UTF-8 */
    case PB_BYTES:
        *zero = n == 0;
        *out = b64(sub.p, n);
        return 0;
    case PB_MSG:
        if (!t->msg)
            return 0; /* a message of a package not loaded: omitted */
        *out = json_object();
        return decode_msg(t->msg, &sub, depth + 1, *out);
    default:
        return special(t, &sub, out);
    }
}

static int decode_map_entry(const struct pb_field *f, struct rd *r, int depth, json_t *map)
{
    struct rd sub;
    if (bytes_field(r, &sub) < 0)
        return -1;
    json_t *k = NULL, *v = NULL;
    int rc = 0;
    while (rc == 0 && sub.p < sub.end) {
        uint64_t tag;
        if (varint(&sub, &tag) < 0)
            return json_decref(k), json_decref(v), -1;
        unsigned num = (unsigned)(tag >> 3), wt = tag & 7;
        bool zero;
        json_t *x = NULL;
        if (num == 1 || num == 2) {
            rc = decode_value(num == 1 ? &f->key : &f->val, wt, &sub, depth, &x, &zero);
            json_t **slot = num == 1 ? &k : &v;
            json_decref(*slot);
            *slot = x;
        } else {
            rc = skip(&sub, wt);
        }
    }
    if (rc == 0 && k) {
        const char *ks = json_string_value(k);
        char kb[32];
        if (!ks) { /* integer keys render as strings in JSON */
            snprintf(kb, sizeof(kb), "%lld", (long long)json_integer_value(k));
            ks = kb;
        }
        if (!v) /* an absent value is the type's zero */
            v = f->val.kind == PB_MSG ? json_object()
                : f->val.kind == PB_STRING || f->val.kind == PB_BYTES ? json_string("")
                                                                      : json_integer(0);
        json_object_set_new(map, ks, v);
        v = NULL;
    }
    json_decref(k);
    json_decref(v);
    return rc;
}

static const struct pb_field *find_field(const struct pb_msg *m, uint32_t num)
{
    for (size_t i = 0; i < m->nfields; i++)
        if (m->fields[i].num == num)
            return &m->fields[i];
    return NULL;
}

static json_t *child(json_t *obj, const char *name, bool array)
{
    json_t *c = json_object_get(obj, name);
    if (!c) {
        c = array ? json_array() : json_object();
        json_object_set_new(obj, name, c);
    }
    return c;
}

static int decode_field(const struct pb_field *f, unsigned wt, struct rd *r, int depth, json_t *obj)
{
    if (f->map)
        return wt == 2 ? decode_map_entry(f, r, depth, child(obj, f->name, false)) : -1;
    if (f->repeated && wt == 2 && f->val.kind != PB_STRING && f->val.kind != PB_BYTES &&
        f->val.kind < PB_TIME) { /* packed scalars */
        struct rd sub;
        if (bytes_field(r, &sub) < 0)
            return -1;
        json_t *arr = child(obj, f->name, true);
        unsigned ewt = f->val.kind == PB_DOUBLE ? 1 : f->val.kind == PB_FLOAT ? 5 : 0;
        while (sub.p < sub.end) {
            json_t *x;
            bool zero;
            if (decode_value(&f->val, ewt, &sub, depth, &x, &zero) < 0)
                return -1;
            json_array_append_new(arr, x);
        }
        return 0;
    }
    json_t *x;
    bool zero;
    if (decode_value(&f->val, wt, r, depth, &x, &zero) < 0)
        return json_decref(x), -1;
    if (f->repeated) {
        if (x || f->val.kind != PB_MSG)
            json_array_append_new(child(obj, f->name, true), x ? x : json_null());
    } else if (f->inline_ && json_is_object(x)) {
        json_object_update(obj, x);
        json_decref(x);
    } else if (!x || (zero && !f->ptr)) {
        json_decref(x); /* Go omits zero values of non-pointer fields */
    } else {
        json_object_set_new(obj, f->name, x);
    }
    return 0;
}

static int decode_msg(const struct pb_msg *m, struct rd *r, int depth, json_t *obj)
{
    if (depth > MAX_DEPTH)
        return -1;
    while (r->p < r->end) {
        uint64_t tag;
        if (varint(r, &tag) < 0 || (tag >> 3) == 0)
            return -1;
        unsigned wt = tag & 7;
        const struct pb_field *f = find_field(m, (uint32_t)(tag >> 3));
        if (!f) {
            if (skip(r, wt) < 0)
                return -1;
            continue;
        }
        if (decode_field(f, wt, r, depth, obj) < 0)
            return -1;
    }
    return 0;
}

/* ---- public -------------------------------------------------------------------------------- */

bool proto_is_content_type(const char *ct)
{
    size_t n = strlen(PROTO_CONTENT_TYPE);
    return ct && !strncasecmp(ct, PROTO_CONTENT_TYPE, n) && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

int proto_decode_message(const char *type, const void *buf, size_t len, json_t **out,
                         struct ck_err *err)
{
    const struct pb_msg *m = strchr(type, '.') ? pb_msg_lookup(type) : pb_msg_for_kind("", type);
    if (!m)
        return ck_err_set(err, CK_R_UNSUPPORTED_MEDIA,
                          "the body of the request was in an unknown format: protobuf is not "
                          "supported for kind %s - accepted media types include: "
                          "application/json, application/yaml", type);
    struct rd r = {buf, (const uint8_t *)buf + len};
    json_t *obj = json_object();
    if (decode_msg(m, &r, 0, obj) < 0) {
        json_decref(obj);
        return ck_err_set(err, CK_R_BAD_REQUEST, "malformed protobuf body for kind %s", type);
    }
    *out = obj;
    return 0;
}

int proto_decode(const void *body, size_t len, json_t **out, struct ck_err *err)
{
    const uint8_t *p = body;
    if (len < 4 || memcmp(p, "k8s\0", 4) != 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "protobuf body lacks the k8s envelope magic");
    struct rd r = {p + 4, p + len}, tm = {NULL, NULL}, raw = {NULL, NULL}, enc = {NULL, NULL};
    while (r.p < r.end) {
        uint64_t tag;
        if (varint(&r, &tag) < 0)
            return ck_err_set(err, CK_R_BAD_REQUEST, "malformed protobuf envelope");
        unsigned num = (unsigned)(tag >> 3), wt = tag & 7;
        struct rd *dst = num == 1 ? &tm : num == 2 ? &raw : num == 3 ? &enc : NULL;
        int rc = dst && wt == 2 ? bytes_field(&r, dst) : skip(&r, wt);
        if (rc < 0)
            return ck_err_set(err, CK_R_BAD_REQUEST, "malformed protobuf envelope");
    }
    if (enc.p && enc.end > enc.p)
        return ck_err_set(err, CK_R_UNSUPPORTED_MEDIA, "protobuf contentEncoding is not supported");
    struct small t;
    if (!tm.p || decode_small(&tm, &t) < 0 || !t.has[2] || t.s[2].end == t.s[2].p)
        return ck_err_set(err, CK_R_BAD_REQUEST, "protobuf envelope has no kind");
    char kind[64], apiv[128] = "";
    snprintf(kind, sizeof(kind), "%.*s", (int)(t.s[2].end - t.s[2].p), (const char *)t.s[2].p);
    if (t.has[1])
        snprintf(apiv, sizeof(apiv), "%.*s", (int)(t.s[1].end - t.s[1].p), (const char *)t.s[1].p);
    if (!raw.p)
        raw.p = raw.end = p + len;
    const struct pb_msg *m = pb_msg_for_kind(apiv, kind);
    if (!m)
        return ck_err_set(err, CK_R_UNSUPPORTED_MEDIA,
                          "the body of the request was in an unknown format: protobuf is not "
                          "supported for %s, Kind=%s - accepted media types include: "
                          "application/json, application/yaml", *apiv ? apiv : "v1", kind);
    if (proto_decode_message(m->name, raw.p, (size_t)(raw.end - raw.p), out, err) < 0)
        return -1;
    if (*apiv)
        json_object_set_new(*out, "apiVersion", json_string(apiv));
    json_object_set_new(*out, "kind", json_string(kind));
    return 0;
}
