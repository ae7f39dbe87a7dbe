/* SPDX-License-Identifier: Apache-2.0 */
/* /openapi/v2 as protobuf (gnostic openapi.v2.Document), the form client-go's
 * OpenAPISchema() asks for (kubectl 1.27 explain, v2 fallbacks of apply/validation).
 * Encoded from the JSON swagger document of openapi.c, so both forms always agree:
 * maps become repeated Named* pairs, "type" a TypeItem, x-* members NamedAny with YAML text. */
#include "apiserver/encoding/openapi.h"
#include "apiserver/registry/schema.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#define PB_MAX (64u << 20)

static char *pb_bytes;
static size_t pb_len;
static pthread_once_t pb_once = PTHREAD_ONCE_INIT;

/* ---- wire format ---- */

static void put_varint(struct ck_buf *b, uint64_t v)
{
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    ck_buf_append(b, tmp, n);
}

static void put_bytes(struct ck_buf *b, unsigned field, const void *p, size_t n)
{
    put_varint(b, ((uint64_t)field << 3) | 2);
    put_varint(b, n);
    ck_buf_append(b, p, n);
}

static void put_str(struct ck_buf *b, unsigned field, const char *s)
{
    if (s && s[0])
        put_bytes(b, field, s, strlen(s));
}

static void put_bool(struct ck_buf *b, unsigned field, bool v)
{
    if (!v)
        return;
    put_varint(b, (uint64_t)field << 3);
    put_varint(b, 1);
}

/* Appends sub as a length-delimited field and resets it. */
static void put_msg(struct ck_buf *b, unsigned field, struct ck_buf *sub)
{
    put_bytes(b, field, sub->data ? sub->data : "", sub->len);
    ck_buf_release(sub);
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* ---- messages ---- */

/* NamedAny{name, Any{yaml}} for every x-* member of o. */
static void put_extensions(struct ck_buf *b, unsigned field, const json_t *o)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        if (strncmp(k, "x-", 2) != 0)
            continue;
        char *yaml = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT); /* JSON is YAML */
        struct ck_buf any = CK_BUF_INIT(PB_MAX), named = CK_BUF_INIT(PB_MAX);
        put_str(&any, 2, yaml ? yaml : "null");
        free(yaml);
        put_str(&named, 1, k);
        put_msg(&named, 2, &any);
        put_msg(b, field, &named);
    }
}

static void put_strings(struct ck_buf *b, unsigned field, const json_t *arr)
{
    size_t i;
    const json_t *e;
    json_array_foreach(arr, i, e)
        put_str(b, field, json_string_value(e));
}

static void put_schema(struct ck_buf *b, unsigned field, const json_t *s);

static void put_schema_body(struct ck_buf *m, const json_t *s)
{
    put_str(m, 1, jstr(s, "$ref"));
    put_str(m, 2, jstr(s, "format"));
    put_str(m, 4, jstr(s, "description"));
    put_strings(m, 19, json_object_get(s, "required"));
    size_t ei;
    const json_t *ev;
    json_array_foreach(json_object_get(s, "enum"), ei, ev) {
        char *yaml = json_dumps(ev, JSON_ENCODE_ANY | JSON_COMPACT);
        struct ck_buf any = CK_BUF_INIT(PB_MAX);
        put_str(&any, 2, yaml ? yaml : "null");
        free(yaml);
        put_msg(m, 20, &any);
    }
    const json_t *ap = json_object_get(s, "additionalProperties");
    if (json_is_object(ap)) {
        struct ck_buf item = CK_BUF_INIT(PB_MAX);
        put_schema(&item, 1, ap);
        put_msg(m, 21, &item);
    }
    if (jstr(s, "type")) {
        struct ck_buf ti = CK_BUF_INIT(PB_MAX);
        put_str(&ti, 1, jstr(s, "type"));
        put_msg(m, 22, &ti);
    }
    const json_t *items = json_object_get(s, "items");
    if (json_is_object(items)) {
        struct ck_buf ii = CK_BUF_INIT(PB_MAX);
        put_schema(&ii, 1, items);
        put_msg(m, 23, &ii);
    }
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(s, "allOf"), i, e)
        put_schema(m, 24, e);
    const json_t *props = json_object_get(s, "properties");
    if (json_is_object(props)) {
        struct ck_buf pm = CK_BUF_INIT(PB_MAX);
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)props, k, v) {
            struct ck_buf named = CK_BUF_INIT(PB_MAX);
            put_str(&named, 1, k);
            put_schema(&named, 2, v);
            put_msg(&pm, 1, &named);
        }
        put_msg(m, 25, &pm);
    }
    put_extensions(m, 31, s);
}

static void put_schema(struct ck_buf *b, unsigned field, const json_t *s)
{
    struct ck_buf m = CK_BUF_INIT(PB_MAX);
    put_schema_body(&m, s);
    put_msg(b, field, &m);
}

/* ParametersItem{Parameter{body | NonBodyParameter{query | path}}}. */
static void put_parameter(struct ck_buf *b, unsigned field, const json_t *p)
{
    struct ck_buf sub = CK_BUF_INIT(PB_MAX), param = CK_BUF_INIT(PB_MAX),
                  item = CK_BUF_INIT(PB_MAX);
    const char *in = jstr(p, "in");
    bool req = json_is_true(json_object_get(p, "required"));
    bool uniq = json_is_true(json_object_get(p, "uniqueItems"));
    if (in && strcmp(in, "body") == 0) {
        put_str(&sub, 1, jstr(p, "description"));
        put_str(&sub, 2, jstr(p, "name"));
        put_str(&sub, 3, in);
        put_bool(&sub, 4, req);
        if (json_is_object(json_object_get(p, "schema")))
            put_schema(&sub, 5, json_object_get(p, "schema"));
        put_msg(&param, 1, &sub);
    } else {
        bool path = in && strcmp(in, "path") == 0;
        struct ck_buf nb = CK_BUF_INIT(PB_MAX);
        put_bool(&sub, 1, req);
        put_str(&sub, 2, in);
        put_str(&sub, 3, jstr(p, "description"));
        put_str(&sub, 4, jstr(p, "name"));
        put_str(&sub, path ? 5 : 6, jstr(p, "type"));
        put_bool(&sub, path ? 19 : 20, uniq);
        put_msg(&nb, path ? 4 : 3, &sub);
        put_msg(&param, 2, &nb);
    }
    put_msg(&item, 1, &param);
    put_msg(b, field, &item);
}

static void put_parameters(struct ck_buf *b, unsigned field, const json_t *arr)
{
    size_t i;
    const json_t *e;
    json_array_foreach(arr, i, e)
        put_parameter(b, field, e);
}

static void put_responses(struct ck_buf *b, unsigned field, const json_t *rs)
{
    struct ck_buf m = CK_BUF_INIT(PB_MAX);
    const char *code;
    const json_t *r;
    json_object_foreach((json_t *)rs, code, r) {
        struct ck_buf resp = CK_BUF_INIT(PB_MAX), val = CK_BUF_INIT(PB_MAX),
                      named = CK_BUF_INIT(PB_MAX);
        put_str(&resp, 1, jstr(r, "description"));
        if (json_is_object(json_object_get(r, "schema"))) {
            struct ck_buf si = CK_BUF_INIT(PB_MAX);
            put_schema(&si, 1, json_object_get(r, "schema"));
            put_msg(&resp, 2, &si);
        }
        put_msg(&val, 1, &resp);
        put_str(&named, 1, code);
        put_msg(&named, 2, &val);
        put_msg(&m, 1, &named);
    }
    put_msg(b, field, &m);
}

static void put_operation(struct ck_buf *b, unsigned field, const json_t *op)
{
    struct ck_buf m = CK_BUF_INIT(PB_MAX);
    put_strings(&m, 1, json_object_get(op, "tags"));
    put_str(&m, 3, jstr(op, "description"));
    put_str(&m, 5, jstr(op, "operationId"));
    put_strings(&m, 6, json_object_get(op, "produces"));
    put_strings(&m, 7, json_object_get(op, "consumes"));
    put_parameters(&m, 8, json_object_get(op, "parameters"));
    if (json_is_object(json_object_get(op, "responses")))
        put_responses(&m, 9, json_object_get(op, "responses"));
    put_extensions(&m, 13, op);
    put_msg(b, field, &m);
}

static void put_path_item(struct ck_buf *b, unsigned field, const json_t *pi)
{
    static const struct {
        const char *method;
        unsigned field;
    } methods[] = {{"get", 2}, {"put", 3}, {"post", 4}, {"delete", 5}, {"patch", 8}};
    struct ck_buf m = CK_BUF_INIT(PB_MAX);
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        const json_t *op = json_object_get(pi, methods[i].method);
        if (json_is_object(op))
            put_operation(&m, methods[i].field, op);
    }
    put_parameters(&m, 9, json_object_get(pi, "parameters"));
    put_msg(b, field, &m);
}

static void encode_document(struct ck_buf *out, const json_t *doc)
{
    struct ck_buf info = CK_BUF_INIT(PB_MAX), paths = CK_BUF_INIT(PB_MAX),
                  defs = CK_BUF_INIT(PB_MAX);
    const json_t *ji = json_object_get(doc, "info");
    put_str(out, 1, jstr(doc, "swagger"));
    put_str(&info, 1, jstr(ji, "title"));
    put_str(&info, 2, jstr(ji, "version"));
    put_msg(out, 2, &info);
    const char *k;
    const json_t *v;
    json_object_foreach(json_object_get(doc, "paths"), k, v) {
        struct ck_buf named = CK_BUF_INIT(PB_MAX);
        put_str(&named, 1, k);
        put_path_item(&named, 2, v);
        put_msg(&paths, 2, &named);
    }
    put_msg(out, 8, &paths);
    json_object_foreach(json_object_get(doc, "definitions"), k, v) {
        struct ck_buf named = CK_BUF_INIT(PB_MAX);
        put_str(&named, 1, k);
        put_schema(&named, 2, v);
        put_msg(&defs, 1, &named);
    }
    put_msg(out, 9, &defs);
}

static void build_pb(void)
{
    struct ck_buf js = CK_BUF_INIT(PB_MAX), out = CK_BUF_INIT(PB_MAX);
    json_t *doc = NULL;
    if (schema_openapi_v2(&js) == 0)
        doc = json_loadb(js.data, js.len, 0, NULL);
    ck_buf_release(&js);
    if (!doc)
        return; /* leaves pb_bytes NULL: reported as an internal error */
    encode_document(&out, doc);
    json_decref(doc);
    pb_bytes = ck_buf_detach(&out, &pb_len);
}

int schema_openapi_v2_pb(struct ck_buf *out)
{
    pthread_once(&pb_once, build_pb);
    if (!pb_bytes)
        return -1;
    return ck_buf_append(out, pb_bytes, pb_len);
}
