/* SPDX-License-Identifier: Apache-2.0 */
/* OpenAPI documents generated from the schema table: /openapi/v2 (swagger 2.0 with every
 * definition), the /openapi/v3 index and one OpenAPI 3.0 document per served group-version
 * (the kinds of that group-version and every type they reach). Each root kind gets item and
 * collection paths whose operations carry x-kubernetes-group-version-kind and, for writes,
 * the fieldValidation query parameter that kubectl looks for. Built once, cached as bytes. */
#include "apiserver/encoding/openapi.h"
#include "apiserver/registry/schema.h"
#include "lib/version.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAX_GV 64 /* upstream serves about 25 group-versions; CRDs have their own table */

struct gv_doc {
    char group[64];
    char version[16];
    char prefix[96]; /* "api/v1" or "apis/apps/v1" */
    char *bytes;
    size_t len;
    char hash[33];
};

static char *v2_bytes;
static size_t v2_len;
static struct gv_doc gvs[MAX_GV];
static size_t ngv;
static char *index_bytes;
static size_t index_len;
static pthread_once_t docs_once = PTHREAD_ONCE_INIT;

/* ---- schemas ---- */

static json_t *ref_to(const struct schema_type *t, bool v3)
{
    char ref[256];
    snprintf(ref, sizeof(ref), "%s%s", v3 ? "#/components/schemas/" : "#/definitions/", t->name);
    return json_pack("{s:s}", "$ref", ref);
}

static json_t *prim_schema(enum schema_prim p)
{
    switch (p) {
    case SCHEMA_P_INT32:
        return json_pack("{s:s,s:s}", "type", "integer", "format", "int32");
    case SCHEMA_P_INT64:
        return json_pack("{s:s,s:s}", "type", "integer", "format", "int64");
    case SCHEMA_P_BOOL:
        return json_pack("{s:s}", "type", "boolean");
    case SCHEMA_P_DOUBLE:
        return json_pack("{s:s,s:s}", "type", "number", "format", "double");
    case SCHEMA_P_BYTE:
        return json_pack("{s:s,s:s}", "type", "string", "format", "byte");
    default:
        return json_pack("{s:s}", "type", "string");
    }
}

/* The schema of one element of a field (the field itself when not a list or map). */
static json_t *elem_schema(const struct schema_field *f, bool v3)
{
    return f->prim == SCHEMA_P_REF ? ref_to(f->ref, v3) : prim_schema(f->prim);
}

static void add_extensions(json_t *s, const struct schema_field *f)
{
    if (f->merge_key)
        json_object_set_new(s, "x-kubernetes-patch-merge-key", json_string(f->merge_key));
    if (f->strategy) {
        char st[48] = "";
        if (f->strategy & SCHEMA_PS_MERGE)
            snprintf(st, sizeof(st), "merge");
        if (f->strategy & SCHEMA_PS_REPLACE)
            snprintf(st, sizeof(st), "replace");
        if (f->strategy & SCHEMA_PS_RETAINKEYS)
            snprintf(st + strlen(st), sizeof(st) - strlen(st), "%sretainKeys", st[0] ? "," : "");
        json_object_set_new(s, "x-kubernetes-patch-strategy", json_string(st));
    }
    if (f->list_type)
        json_object_set_new(s, "x-kubernetes-list-type", json_string(f->list_type));
    if (f->map_keys) {
        json_t *keys = json_array();
        char buf[128];
        snprintf(buf, sizeof(buf), "%s", f->map_keys);
        char *save = NULL;
        for (char *k = strtok_r(buf, ",", &save); k; k = strtok_r(NULL, ",", &save))
            json_array_append_new(keys, json_string(k));
        json_object_set_new(s, "x-kubernetes-list-map-keys", keys);
    }
    if (f->map_type)
        json_object_set_new(s, "x-kubernetes-map-type", json_string(f->map_type));
}

static json_t *enum_array(const char *csv)
{
    json_t *a = json_array();
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", csv);
    char *save = NULL;
    for (char *v = strtok_r(buf, ",", &save); v; v = strtok_r(NULL, ",", &save))
        json_array_append_new(a, json_string(v));
    return a;
}

static json_t *field_schema(const struct schema_field *f, bool v3)
{
    json_t *s;
    if (f->coll == SCHEMA_C_LIST) {
        s = json_pack("{s:s,s:o}", "type", "array", "items", elem_schema(f, v3));
    } else if (f->coll == SCHEMA_C_MAP) {
        s = json_pack("{s:s,s:o}", "type", "object", "additionalProperties", elem_schema(f, v3));
    } else if (f->prim != SCHEMA_P_REF) {
        s = prim_schema(f->prim);
    } else if (v3 && f->desc[0]) {
        /* OpenAPI 3.0 ignores siblings of $ref: wrap it, as upstream does */
        s = json_pack("{s:[o]}", "allOf", ref_to(f->ref, true));
    } else {
        s = ref_to(f->ref, v3);
    }
    if (f->enum_values) {
        json_t *target = f->coll == SCHEMA_C_ONE ? s : json_object_get(s, f->coll == SCHEMA_C_LIST
                                                                              ? "items"
                                                                              : "additionalProperties");
        json_object_set_new(target, "enum", enum_array(f->enum_values));
    }
    if (f->desc[0])
        json_object_set_new(s, "description", json_string(f->desc));
    add_extensions(s, f);
    return s;
}

static json_t *gvk_object(const struct schema_type *t)
{
    return json_pack("{s:s,s:s,s:s}", "group", t->group, "kind", t->gvk_kind, "version",
                     t->version);
}

static json_t *type_schema(const struct schema_type *t, bool v3)
{
    json_t *s = json_object();
    if (t->desc[0])
        json_object_set_new(s, "description", json_string(t->desc));
    if (t->kind == SCHEMA_T_SCALAR) {
        json_object_set_new(s, "type", json_string(t->scalar_type));
        if (t->scalar_format)
            json_object_set_new(s, "format", json_string(t->scalar_format));
        return s;
    }
    json_object_set_new(s, "type", json_string("object"));
    if (t->kind == SCHEMA_T_FREE)
        return s;
    json_t *props = json_object(), *req = json_array();
    for (size_t i = 0; i < t->nfields; i++) {
        const struct schema_field *f = &t->fields[i];
        json_object_set_new(props, f->name, field_schema(f, v3));
        if (f->required)
            json_array_append_new(req, json_string(f->name));
    }
    json_object_set_new(s, "properties", props);
    if (json_array_size(req))
        json_object_set_new(s, "required", req);
    else
        json_decref(req);
    if (t->gvk_kind)
        json_object_set_new(s, "x-kubernetes-group-version-kind", json_pack("[o]", gvk_object(t)));
    return s;
}

/* ---- paths ---- */

/* What a path needs to know about a served kind (built-in or custom). */
struct kind_ref {
    const char *group, *version, *gvk_kind, *resource, *name;
    bool namespaced;
    bool smp; /* strategic merge patch accepted (built-in kinds only) */
};

static struct kind_ref builtin_ref(const struct schema_type *t)
{
    struct kind_ref k = {t->group, t->version, t->gvk_kind, t->resource, t->name, t->namespaced,
                         true};
    return k;
}

static json_t *ref_name(const char *name, bool v3)
{
    char ref[320];
    snprintf(ref, sizeof(ref), "%s%s", v3 ? "#/components/schemas/" : "#/definitions/", name);
    return json_pack("{s:s}", "$ref", ref);
}

static json_t *gvk_of(const struct kind_ref *t)
{
    return json_pack("{s:s,s:s,s:s}", "group", t->group, "kind", t->gvk_kind, "version",
                     t->version);
}

static void op_id(char *out, size_t n, const char *verb, const struct kind_ref *t,
                  const char *suffix)
{
    char grp[64];
    const char *g = t->group[0] ? t->group : "core";
    size_t i = 0;
    for (; g[i] && g[i] != '.' && i + 1 < sizeof(grp); i++)
        grp[i] = g[i];
    grp[i] = '\0';
    if (grp[0] >= 'a' && grp[0] <= 'z')
        grp[0] = (char)(grp[0] - 'a' + 'A');
    char ver[16];
    snprintf(ver, sizeof(ver), "%s", t->version);
    if (ver[0] >= 'a' && ver[0] <= 'z')
        ver[0] = (char)(ver[0] - 'a' + 'A');
    snprintf(out, n, "%s%s%s%s%s%s", verb, grp, ver, t->namespaced ? "Namespaced" : "",
             t->gvk_kind, suffix);
}

static json_t *query_param(const char *name, const char *type, const char *desc, bool v3)
{
    if (v3)
        return json_pack("{s:s,s:s,s:s,s:{s:s,s:b}}", "name", name, "in", "query", "description",
                         desc, "schema", "type", type, "uniqueItems", 1);
    return json_pack("{s:s,s:s,s:s,s:s,s:b}", "name", name, "in", "query", "description", desc,
                     "type", type, "uniqueItems", 1);
}

static json_t *write_params(bool v3, bool patch)
{
    json_t *a = json_array();
    json_array_append_new(a, query_param("dryRun", "string",
                                         "When present, the request is processed without being "
                                         "persisted. Valid value: All.", v3));
    json_array_append_new(a, query_param("fieldManager", "string",
                                         "Name of the actor making the change (128 printable "
                                         "characters at most). Required for apply patches.", v3));
    json_array_append_new(a, query_param("fieldValidation", "string",
                                         "How unknown and duplicate fields are handled: Ignore, "
                                         "Warn (the default) or Strict.", v3));
    if (patch)
        json_array_append_new(a, query_param("force", "boolean",
                                             "Force an apply request to take conflicting fields.",
                                             v3));
    return a;
}

static const char *const patch_types[] = {
    "application/apply-patch+yaml", "application/json-patch+json",
    "application/merge-patch+json", "application/strategic-merge-patch+json",
};

/* One operation: action is get/list/post/put/patch/delete. */
static json_t *operation(const struct kind_ref *t, const char *action, bool v3)
{
    static const struct {
        const char *action, *verb, *desc, *suffix;
    } ops[] = {
        {"get", "read", "read the specified %s", ""},
        {"list", "list", "list or watch objects of kind %s", ""},
        {"post", "create", "create a %s", ""},
        {"put", "replace", "replace the specified %s", ""},
        {"patch", "patch", "partially update the specified %s", ""},
        {"delete", "delete", "delete a %s", ""},
    };
    size_t i = 0;
    while (strcmp(ops[i].action, action) != 0)
        i++;
    char id[160], desc[160], tag[64];
    op_id(id, sizeof(id), ops[i].verb, t, ops[i].suffix);
    snprintf(desc, sizeof(desc), ops[i].desc, t->gvk_kind);
    snprintf(tag, sizeof(tag), "%s_%s", t->group[0] ? t->group : "core", t->version);
    for (char *p = tag; *p; p++)
        if (*p == '.')
            *p = '_';
    bool body = strcmp(action, "post") == 0 || strcmp(action, "put") == 0 ||
                strcmp(action, "patch") == 0;
    bool is_patch = strcmp(action, "patch") == 0;
    const char *body_t = is_patch ? "io.k8s.apimachinery.pkg.apis.meta.v1.Patch" : t->name;
    json_t *resp_schema = strcmp(action, "list") == 0 ? json_pack("{s:s}", "type", "object")
                                                      : ref_name(t->name, v3);
    json_t *op = json_pack("{s:s,s:s,s:[s],s:s,s:o}", "description", desc, "operationId", id,
                           "tags", tag, "x-kubernetes-action", action,
                           "x-kubernetes-group-version-kind", gvk_of(t));
    json_t *params = body ? write_params(v3, is_patch) : json_array();
    json_t *ok;
    if (v3) {
        ok = json_pack("{s:s,s:{s:{s:o}}}", "description", "OK", "content", "application/json",
                       "schema", resp_schema);
        if (body) {
            json_t *content = json_object();
            size_t npt = sizeof(patch_types) / sizeof(patch_types[0]) - (t->smp ? 0 : 1);
            if (is_patch)
                for (size_t k = 0; k < npt; k++)
                    json_object_set_new(content, patch_types[k],
                                        json_pack("{s:o}", "schema", ref_name(body_t, true)));
            else
                json_object_set_new(content, "*/*",
                                    json_pack("{s:o}", "schema", ref_name(body_t, true)));
            json_object_set_new(op, "requestBody",
                                json_pack("{s:o,s:b}", "content", content, "required", 1));
        }
    } else {
        ok = json_pack("{s:s,s:o}", "description", "OK", "schema", resp_schema);
        if (body)
            json_array_append_new(params, json_pack("{s:s,s:s,s:b,s:o}", "name", "body", "in",
                                                    "body", "required", 1, "schema",
                                                    ref_name(body_t, false)));
        json_object_set_new(op, "consumes",
                            is_patch ? json_pack("[s,s,s,s]", patch_types[0], patch_types[1],
                                                 patch_types[2], patch_types[3])
                                     : json_pack("[s]", "*/*"));
        json_object_set_new(op, "produces",
                            json_pack("[s,s]", "application/json", "application/yaml"));
    }
    json_object_set_new(op, "parameters", params);
    json_object_set_new(op, "responses", json_pack("{s:o}", "200", ok));
    return op;
}

static json_t *path_param(const char *name, const char *desc, bool v3)
{
    if (v3)
        return json_pack("{s:s,s:s,s:s,s:b,s:{s:s,s:b}}", "name", name, "in", "path",
                         "description", desc, "required", 1, "schema", "type", "string",
                         "uniqueItems", 1);
    return json_pack("{s:s,s:s,s:s,s:b,s:s,s:b}", "name", name, "in", "path", "description", desc,
                     "required", 1, "type", "string", "uniqueItems", 1);
}

static void add_paths(json_t *paths, const struct kind_ref *t, bool v3)
{
    char coll[256], item[300];
    if (t->group[0])
        snprintf(coll, sizeof(coll), "/apis/%s/%s/%s%s", t->group, t->version,
                 t->namespaced ? "namespaces/{namespace}/" : "", t->resource);
    else
        snprintf(coll, sizeof(coll), "/api/%s/%s%s", t->version,
                 t->namespaced ? "namespaces/{namespace}/" : "", t->resource);
    snprintf(item, sizeof(item), "%s/{name}", coll);

    json_t *cp = json_object(), *ip = json_object();
    json_object_set_new(cp, "get", operation(t, "list", v3));
    json_object_set_new(cp, "post", operation(t, "post", v3));
    json_object_set_new(ip, "get", operation(t, "get", v3));
    json_object_set_new(ip, "put", operation(t, "put", v3));
    json_object_set_new(ip, "patch", operation(t, "patch", v3));
    json_object_set_new(ip, "delete", operation(t, "delete", v3));
    json_t *cparams = json_array(), *iparams = json_array();
    char ndesc[128];
    snprintf(ndesc, sizeof(ndesc), "name of the %s", t->gvk_kind);
    json_array_append_new(iparams, path_param("name", ndesc, v3));
    if (t->namespaced) {
        const char *d = "object name and auth scope, such as for teams and projects";
        json_array_append_new(cparams, path_param("namespace", d, v3));
        json_array_append_new(iparams, path_param("namespace", d, v3));
    }
    json_array_append_new(cparams, query_param("pretty", "string",
                                               "If 'true', the output is pretty printed.", v3));
    json_array_append_new(iparams, query_param("pretty", "string",
                                               "If 'true', the output is pretty printed.", v3));
    json_object_set_new(cp, "parameters", cparams);
    json_object_set_new(ip, "parameters", iparams);
    json_object_set_new(paths, coll, cp);
    json_object_set_new(paths, item, ip);
}

/* ---- documents ---- */

static char *dump(json_t *doc, size_t *len)
{
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!s)
        abort(); /* only on OOM */
    *len = strlen(s);
    return s;
}

static json_t *info(void)
{
    return json_pack("{s:s,s:s}", "title", "Kubernetes", "version", CK_KUBE_GIT_VERSION);
}

static bool is_served(const struct schema_type *t)
{
    return t->gvk_kind && t->resource;
}

static void build_v2(void)
{
    json_t *defs = json_object(), *paths = json_object();
    for (size_t i = 0; i < schema_type_count(); i++) {
        const struct schema_type *t = schema_type_at(i);
        json_object_set_new(defs, t->name, type_schema(t, false));
        if (is_served(t)) {
            struct kind_ref k = builtin_ref(t);
            add_paths(paths, &k, false);
        }
    }
    json_t *doc = json_pack("{s:s,s:o,s:o,s:o}", "swagger", "2.0", "info", info(), "paths", paths,
                            "definitions", defs);
    v2_bytes = dump(doc, &v2_len);
}

/* Adds t and every type it reaches to schemas. */
static void add_closure(json_t *schemas, const struct schema_type *t)
{
    if (json_object_get(schemas, t->name))
        return;
    json_object_set_new(schemas, t->name, type_schema(t, true));
    for (size_t i = 0; i < t->nfields; i++)
        if (t->fields[i].prim == SCHEMA_P_REF)
            add_closure(schemas, t->fields[i].ref);
}

static void add_named(json_t *schemas, const char *name)
{
    const struct schema_type *t = schema_lookup_name(name);
    if (t)
        add_closure(schemas, t);
}

static void hash_hex(const char *s, size_t n, char out[33])
{
    uint64_t h1 = 0xcbf29ce484222325ull, h2 = 0x84222325cbf29ce4ull;
    for (size_t i = 0; i < n; i++) {
        h1 = (h1 ^ (unsigned char)s[i]) * 0x100000001b3ull;
        h2 = (h2 ^ (unsigned char)s[n - 1 - i]) * 0x100000001b3ull;
    }
    snprintf(out, 33, "%016llX%016llX", (unsigned long long)h1, (unsigned long long)h2);
}

static void build_gv(struct gv_doc *g)
{
    json_t *schemas = json_object(), *paths = json_object();
    for (size_t i = 0; i < schema_type_count(); i++) {
        const struct schema_type *t = schema_type_at(i);
        if (!is_served(t) || strcmp(t->group, g->group) != 0 || strcmp(t->version, g->version) != 0)
            continue;
        add_closure(schemas, t);
        struct kind_ref k = builtin_ref(t);
        add_paths(paths, &k, true);
    }
    add_named(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.Status");
    add_named(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions");
    add_named(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.Patch");
    if (strcmp(g->group, "apps") == 0 || g->group[0] == '\0')
        add_named(schemas, "io.k8s.api.autoscaling.v1.Scale");
    json_t *doc = json_pack("{s:s,s:o,s:o,s:{s:o}}", "openapi", "3.0.0", "info", info(), "paths",
                            paths, "components", "schemas", schemas);
    g->bytes = dump(doc, &g->len);
    hash_hex(g->bytes, g->len, g->hash);
}

static void build_all(void)
{
    build_v2();
    for (size_t i = 0; i < schema_type_count(); i++) {
        const struct schema_type *t = schema_type_at(i);
        if (!is_served(t))
            continue;
        bool seen = false;
        for (size_t k = 0; k < ngv; k++)
            seen |= strcmp(gvs[k].group, t->group) == 0 && strcmp(gvs[k].version, t->version) == 0;
        if (seen || ngv == MAX_GV)
            continue;
        struct gv_doc *g = &gvs[ngv++];
        snprintf(g->group, sizeof(g->group), "%s", t->group);
        snprintf(g->version, sizeof(g->version), "%s", t->version);
        if (t->group[0])
            snprintf(g->prefix, sizeof(g->prefix), "apis/%s/%s", t->group, t->version);
        else
            snprintf(g->prefix, sizeof(g->prefix), "api/%s", t->version);
        build_gv(g);
    }
    json_t *idx = json_object();
    for (size_t k = 0; k < ngv; k++) {
        char url[256];
        snprintf(url, sizeof(url), "/openapi/v3/%s?hash=%s", gvs[k].prefix, gvs[k].hash);
        json_object_set_new(idx, gvs[k].prefix, json_pack("{s:s}", "serverRelativeURL", url));
    }
    index_bytes = dump(json_pack("{s:o}", "paths", idx), &index_len);
}

/* ---- custom resources ----
 * The published CRD kinds live under crd_mu; their documents and the combined index are
 * rebuilt lazily, on the first read after schema_openapi_set_crds. */

struct crd_entry {
    char *group, *version, *kind, *plural, *name;
    bool namespaced;
    json_t *schema;
};

static pthread_mutex_t crd_mu = PTHREAD_MUTEX_INITIALIZER;
static struct crd_entry *crds;
static size_t ncrds;
static struct gv_doc *crd_gvs;
static size_t ncrd_gv;
static char *full_index;
static size_t full_index_len;

static bool builtin_gv(const char *group, const char *version)
{
    for (size_t k = 0; k < ngv; k++)
        if (strcmp(gvs[k].group, group) == 0 && strcmp(gvs[k].version, version) == 0)
            return true;
    return false;
}

/* upstream names a CR schema by its reversed group: com.example.stable.v1.CronTab */
static char *crd_name(const char *group, const char *version, const char *kind)
{
    struct ck_buf b = CK_BUF_INIT(1024);
    const char *end = group + strlen(group);
    while (end > group) {
        const char *dot = end;
        while (dot > group && dot[-1] != '.')
            dot--;
        ck_buf_append(&b, dot, (size_t)(end - dot));
        ck_buf_appendc(&b, '.');
        end = dot > group ? dot - 1 : group;
    }
    ck_buf_appendf(&b, "%s.%s", version, kind);
    return ck_buf_detach(&b, NULL);
}

static json_t *crd_schema(const struct crd_entry *c)
{
    json_t *s = json_is_object(c->schema) ? json_deep_copy(c->schema)
                                          : json_pack("{s:s,s:b}", "type", "object",
                                                      "x-kubernetes-preserve-unknown-fields", 1);
    json_t *props = json_object_get(s, "properties");
    if (!json_is_object(props)) {
        props = json_object();
        json_object_set_new(s, "properties", props);
    }
    if (!json_object_get(props, "apiVersion"))
        json_object_set_new(props, "apiVersion", json_pack("{s:s,s:s}", "type", "string",
                                                           "description",
                                                           "APIVersion of this representation."));
    if (!json_object_get(props, "kind"))
        json_object_set_new(props, "kind", json_pack("{s:s,s:s}", "type", "string", "description",
                                                     "Kind of this representation."));
    json_object_set_new(props, "metadata",
                        json_pack("{s:[o],s:s}", "allOf",
                                  ref_name("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", true),
                                  "description", "Standard object's metadata."));
    json_object_set_new(s, "x-kubernetes-group-version-kind",
                        json_pack("[{s:s,s:s,s:s}]", "group", c->group, "kind", c->kind,
                                  "version", c->version));
    return s;
}

static void build_crd_gv(struct gv_doc *g)
{
    json_t *schemas = json_object(), *paths = json_object();
    add_named(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    add_named(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.Status");
    add_named(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions");
    add_named(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.Patch");
    for (size_t i = 0; i < ncrds; i++) {
        const struct crd_entry *c = &crds[i];
        if (strcmp(c->group, g->group) != 0 || strcmp(c->version, g->version) != 0)
            continue;
        json_object_set_new(schemas, c->name, crd_schema(c));
        struct kind_ref k = {c->group, c->version, c->kind, c->plural, c->name, c->namespaced,
                             false};
        add_paths(paths, &k, true);
    }
    json_t *doc = json_pack("{s:s,s:o,s:o,s:{s:o}}", "openapi", "3.0.0", "info", info(), "paths",
                            paths, "components", "schemas", schemas);
    g->bytes = dump(doc, &g->len);
    hash_hex(g->bytes, g->len, g->hash);
}

/* With crd_mu held: builds the CRD documents and the combined index if stale. */
static void crd_build_locked(void)
{
    if (full_index || !ncrds)
        return;
    crd_gvs = ck_calloc(ncrds, sizeof(*crd_gvs));
    for (size_t i = 0; i < ncrds; i++) {
        const struct crd_entry *c = &crds[i];
        bool seen = builtin_gv(c->group, c->version);
        for (size_t k = 0; k < ncrd_gv && !seen; k++)
            seen = strcmp(crd_gvs[k].group, c->group) == 0 &&
                   strcmp(crd_gvs[k].version, c->version) == 0;
        if (seen)
            continue;
        struct gv_doc *g = &crd_gvs[ncrd_gv++];
        snprintf(g->group, sizeof(g->group), "%s", c->group);
        snprintf(g->version, sizeof(g->version), "%s", c->version);
        snprintf(g->prefix, sizeof(g->prefix), "apis/%s/%s", c->group, c->version);
        build_crd_gv(g);
    }
    json_t *idx = json_object();
    for (size_t pass = 0; pass < 2; pass++) {
        const struct gv_doc *list = pass ? crd_gvs : gvs;
        for (size_t k = 0; k < (pass ? ncrd_gv : ngv); k++) {
            char url[256];
            snprintf(url, sizeof(url), "/openapi/v3/%s?hash=%s", list[k].prefix, list[k].hash);
            json_object_set_new(idx, list[k].prefix, json_pack("{s:s}", "serverRelativeURL", url));
        }
    }
    full_index = dump(json_pack("{s:o}", "paths", idx), &full_index_len);
}

static void crd_clear_locked(void)
{
    for (size_t i = 0; i < ncrds; i++) {
        free(crds[i].group);
        free(crds[i].version);
        free(crds[i].kind);
        free(crds[i].plural);
        free(crds[i].name);
        json_decref(crds[i].schema);
    }
    free(crds);
    for (size_t k = 0; k < ncrd_gv; k++)
        free(crd_gvs[k].bytes);
    free(crd_gvs);
    free(full_index);
    crds = NULL;
    crd_gvs = NULL;
    full_index = NULL;
    ncrds = ncrd_gv = full_index_len = 0;
}

void schema_openapi_set_crds(const struct schema_crd_kind *kinds, size_t n)
{
    pthread_once(&docs_once, build_all);
    pthread_mutex_lock(&crd_mu);
    crd_clear_locked();
    crds = ck_calloc(n ? n : 1, sizeof(*crds));
    for (size_t i = 0; i < n; i++) {
        const struct schema_crd_kind *k = &kinds[i];
        if (!k->group || !k->group[0] || !k->version || !k->kind || !k->plural)
            continue;
        struct crd_entry *c = &crds[ncrds++];
        c->group = ck_strdup(k->group);
        c->version = ck_strdup(k->version);
        c->kind = ck_strdup(k->kind);
        c->plural = ck_strdup(k->plural);
        c->name = crd_name(k->group, k->version, k->kind);
        c->namespaced = k->namespaced;
        c->schema = k->schema ? json_deep_copy(k->schema) : NULL;
    }
    pthread_mutex_unlock(&crd_mu);
}

int schema_openapi_v2(struct ck_buf *out)
{
    pthread_once(&docs_once, build_all);
    return ck_buf_append(out, v2_bytes, v2_len);
}

int schema_openapi_v3_index(struct ck_buf *out)
{
    pthread_once(&docs_once, build_all);
    pthread_mutex_lock(&crd_mu);
    crd_build_locked();
    int rc = full_index ? ck_buf_append(out, full_index, full_index_len)
                        : ck_buf_append(out, index_bytes, index_len);
    pthread_mutex_unlock(&crd_mu);
    return rc;
}

int schema_openapi_v3_gv(const char *group, const char *version, struct ck_buf *out,
                         struct ck_err *err)
{
    pthread_once(&docs_once, build_all);
    if (!group)
        group = "";
    for (size_t k = 0; k < ngv; k++) {
        if (version && strcmp(gvs[k].group, group) == 0 && strcmp(gvs[k].version, version) == 0) {
            if (ck_buf_append(out, gvs[k].bytes, gvs[k].len) < 0)
                return ck_err_set(err, CK_R_INTERNAL, "OpenAPI document larger than the buffer");
            return 0;
        }
    }
    int rc = ck_err_set(err, CK_R_NOT_FOUND, "the server could not find the requested resource");
    pthread_mutex_lock(&crd_mu);
    crd_build_locked();
    for (size_t k = 0; k < ncrd_gv && version; k++) {
        if (strcmp(crd_gvs[k].group, group) == 0 && strcmp(crd_gvs[k].version, version) == 0) {
            ck_err_clear(err);
            rc = ck_buf_append(out, crd_gvs[k].bytes, crd_gvs[k].len) < 0
                     ? ck_err_set(err, CK_R_INTERNAL, "OpenAPI document larger than the buffer")
                     : 0;
            break;
        }
    }
    pthread_mutex_unlock(&crd_mu);
    return rc;
}
