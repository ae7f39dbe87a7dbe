/* SPDX-License-Identifier: Apache-2.0 */
/* JSON type checking against the schema table: what Go's typed decoding refuses (a number
 * where a string belongs, an array where a map belongs, 5.5 or 2^40 for an int32) is refused
 * here too, so no object that would break typed clients is ever stored. null is accepted
 * anywhere (Go decodes it as the zero value). */
#include "apiserver/registry/schema.h"
#include "lib/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 100

struct tcheck {
    char path[1024]; /* Go-style field path: "ConfigMap.data", "Pod.spec.containers.name" */
    size_t plen;
    struct ck_err *err;
};

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "bool";
    default: return "null";
    }
}

/* "io.k8s.api.core.v1.Container" -> "v1.Container" (Go's package.Type). */
static void go_ref_name(const struct schema_type *t, char *out, size_t cap)
{
    const char *last = strrchr(t->name, '.');
    const char *prev = last;
    while (prev && prev > t->name && prev[-1] != '.')
        prev--;
    snprintf(out, cap, "%s", prev ? prev : t->name);
}

static void go_type(const struct schema_field *f, bool elem, char *out, size_t cap)
{
    static const char *const prims[] = {"", "string", "int32", "int64", "bool", "float64",
                                        "[]uint8"};
    char base[128];
    if (f->prim != SCHEMA_P_REF)
        snprintf(base, sizeof(base), "%s", prims[f->prim]);
    else if (f->ref->kind == SCHEMA_T_SCALAR)
        snprintf(base, sizeof(base), "%s", strstr(f->ref->name, "IntOrString") ? "intstr.IntOrString"
                                          : strstr(f->ref->name, "Quantity") ? "resource.Quantity"
                                                                             : "v1.Time");
    else
        go_ref_name(f->ref, base, sizeof(base));
    if (elem || f->coll == SCHEMA_C_ONE)
        snprintf(out, cap, "%s", base);
    else if (f->coll == SCHEMA_C_LIST)
        snprintf(out, cap, "[]%s", base);
    else
        snprintf(out, cap, "map[string]%s", base);
}

static int mismatch(struct tcheck *c, const struct schema_field *f, const json_t *v, bool elem)
{
    char gt[160];
    go_type(f, elem, gt, sizeof(gt));
    return ck_err_set(c->err, CK_R_BAD_REQUEST,
                      "json: cannot unmarshal %s into Go struct field %s of type %s", json_kind(v),
                      c->path, gt);
}

static int check_struct(struct tcheck *c, const struct schema_type *t, const json_t *obj, int depth);

/* One value of the field's element type. */
static int check_elem(struct tcheck *c, const struct schema_field *f, const json_t *v, int depth)
{
    if (json_is_null(v))
        return 0;
    switch (f->prim) {
    case SCHEMA_P_STRING:
    case SCHEMA_P_BYTE:
        return json_is_string(v) ? 0 : mismatch(c, f, v, true);
    case SCHEMA_P_BOOL:
        return json_is_boolean(v) ? 0 : mismatch(c, f, v, true);
    case SCHEMA_P_DOUBLE:
        return json_is_number(v) ? 0 : mismatch(c, f, v, true);
    case SCHEMA_P_INT32:
    case SCHEMA_P_INT64:
        if (!json_is_integer(v))
            return mismatch(c, f, v, true);
        if (f->prim == SCHEMA_P_INT32 &&
            (json_integer_value(v) > INT32_MAX || json_integer_value(v) < INT32_MIN))
            return mismatch(c, f, v, true);
        return 0;
    case SCHEMA_P_REF:
        break;
    }
    const struct schema_type *t = f->ref;
    if (t->kind == SCHEMA_T_FREE)
        return 0;
    if (t->kind == SCHEMA_T_SCALAR) {
        bool ok = json_is_string(v) ||
                  (json_is_integer(v) && t->scalar_format &&
                   !strcmp(t->scalar_format, "int-or-string")) ||
                  (json_is_number(v) && strstr(t->name, "Quantity"));
        return ok ? 0 : mismatch(c, f, v, true);
    }
    if (!json_is_object(v))
        return mismatch(c, f, v, true);
    return check_struct(c, t, v, depth + 1);
}

static int check_field(struct tcheck *c, const struct schema_field *f, const json_t *v, int depth)
{
    if (json_is_null(v) || f->coll == SCHEMA_C_ONE)
        return check_elem(c, f, v, depth);
    if (f->coll == SCHEMA_C_LIST) {
        if (!json_is_array(v))
            return mismatch(c, f, v, false);
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
            if (check_elem(c, f, e, depth) < 0)
                return -1;
        return 0;
    }
    if (!json_is_object(v))
        return mismatch(c, f, v, false);
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)v, k, e)
        if (check_elem(c, f, e, depth) < 0)
            return -1;
    return 0;
}

static int check_struct(struct tcheck *c, const struct schema_type *t, const json_t *obj, int depth)
{
    if (depth > MAX_DEPTH)
        return 0; /* the body decoder bounds nesting; deeper than any real type */
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        const struct schema_field *f = schema_field_find(t, k);
        if (!f)
            continue; /* unknown fields are schema_unknown_fields' business */
        size_t plen = c->plen;
        int n = snprintf(c->path + plen, sizeof(c->path) - plen, ".%s", k);
        if (n > 0 && (size_t)n < sizeof(c->path) - plen)
            c->plen += (size_t)n;
        int rc = check_field(c, f, v, depth);
        c->plen = plen;
        c->path[plen] = '\0';
        if (rc < 0)
            return -1;
    }
    return 0;
}

int schema_check_types(const struct schema_type *t, const json_t *obj, struct ck_err *err)
{
    if (!t || t->kind != SCHEMA_T_STRUCT || !json_is_object(obj))
        return 0;
    struct tcheck c = {.err = err};
    char go[128];
    go_ref_name(t, go, sizeof(go));
    const char *dot = strchr(go, '.');
    c.plen = (size_t)snprintf(c.path, sizeof(c.path), "%s", dot ? dot + 1 : go);
    return check_struct(&c, t, obj, 0);
}
