/* SPDX-License-Identifier: Apache-2.0 */
/* The schema table: parses the compact type DSL of schema_data*.c once (first use) into
 * struct schema_type/schema_field, answers lookups, and walks objects for unknown fields.
 * DSL grammar: see docs/schema.md. A malformed table is a build bug: it aborts loudly. */
#include "apiserver/registry/schema.h"
#include "apiserver/registry/schema_data.h"
#include "lib/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The table's lines, across its files, as one sequence. */
static size_t dsl_nlines(void)
{
    return schema_dsl_nlines1 + schema_dsl_nlines2 + schema_dsl_nlines3;
}

static const char *dsl_line(size_t i)
{
    if (i >= schema_dsl_nlines1 + schema_dsl_nlines2)
        return schema_dsl_lines3[i - schema_dsl_nlines1 - schema_dsl_nlines2];
    return i < schema_dsl_nlines1 ? schema_dsl_lines1[i]
                                  : schema_dsl_lines2[i - schema_dsl_nlines1];
}

struct alias {
    const char *alias;
    const char *prefix;
};

static const struct alias aliases[] = {
    {"core", "io.k8s.api.core.v1"},
    {"apps", "io.k8s.api.apps.v1"},
    {"batch", "io.k8s.api.batch.v1"},
    {"coord", "io.k8s.api.coordination.v1"},
    {"disc", "io.k8s.api.discovery.v1"},
    {"policy", "io.k8s.api.policy.v1"},
    {"autoscaling", "io.k8s.api.autoscaling.v1"},
    {"autoscaling2", "io.k8s.api.autoscaling.v2"},
    {"net", "io.k8s.api.networking.v1"},
    {"rbac", "io.k8s.api.rbac.v1"},
    {"storage", "io.k8s.api.storage.v1"},
    {"sched", "io.k8s.api.scheduling.v1"},
    {"events", "io.k8s.api.events.v1"},
    {"cert", "io.k8s.api.certificates.v1"},
    {"admreg", "io.k8s.api.admissionregistration.v1"},
    {"node", "io.k8s.api.node.v1"},
    {"flow", "io.k8s.api.flowcontrol.v1"},
    {"flow3", "io.k8s.api.flowcontrol.v1beta3"},
    {"meta", "io.k8s.apimachinery.pkg.apis.meta.v1"},
    {"intstr", "io.k8s.apimachinery.pkg.util.intstr"},
    {"resource", "io.k8s.apimachinery.pkg.api.resource"},
    {"runtime", "io.k8s.apimachinery.pkg.runtime"},
};

/* Parsed table; written once under pthread_once, read-only afterwards. */
static struct schema_type *types;
static size_t ntypes;
static char **type_refs;  /* per field, the unresolved type token (parallel to fields) */
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void __attribute__((noreturn)) table_bug(size_t line, const char *what, const char *tok)
{
    fprintf(stderr, "ckube: schema table line %zu: %s '%s'\n", line + 1, what, tok ? tok : "");
    abort();
}

static char *expand_name(const char *qual, size_t line)
{
    const char *dot = strchr(qual, '.');
    if (!dot)
        table_bug(line, "type name needs an alias prefix", qual);
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
        size_t n = strlen(aliases[i].alias);
        if ((size_t)(dot - qual) == n && strncmp(qual, aliases[i].alias, n) == 0)
            return ck_asprintf("%s%s", aliases[i].prefix, dot);
    }
    table_bug(line, "unknown alias in", qual);
}

/* Splits "head | desc" into head tokens (in place) and the description. */
static size_t split_line(char *s, char **tok, size_t maxtok, const char **desc)
{
    char *bar = strstr(s, " |");
    *desc = "";
    if (bar) {
        *bar = '\0';
        const char *d = bar + 2;
        while (*d == ' ')
            d++;
        *desc = d;
    }
    size_t n = 0;
    char *save = NULL;
    for (char *p = strtok_r(s, " ", &save); p && n < maxtok; p = strtok_r(NULL, " ", &save))
        tok[n++] = p;
    return n;
}

static void parse_type_attr(struct schema_type *t, const char *a, size_t line)
{
    if (strncmp(a, "k=", 2) == 0) {
        char *g = ck_strdup(a + 2);
        char *v = strchr(g, '/');
        char *k = v ? strchr(v + 1, '/') : NULL;
        if (!v || !k)
            table_bug(line, "bad gvk", a);
        *v++ = '\0';
        *k++ = '\0';
        t->group = g;
        t->version = v;
        t->gvk_kind = k;
    } else if (strncmp(a, "r=", 2) == 0) {
        t->resource = ck_strdup(a + 2);
    } else if (strcmp(a, "ns") == 0) {
        t->namespaced = true;
    } else if (strcmp(a, "free") == 0) {
        t->kind = SCHEMA_T_FREE;
    } else if (strncmp(a, "scalar=", 7) == 0) {
        char *s = ck_strdup(a + 7);
        char *f = strchr(s, ':');
        if (f)
            *f++ = '\0';
        t->kind = SCHEMA_T_SCALAR;
        t->scalar_type = s;
        t->scalar_format = f;
    } else if (strcmp(a, "root") != 0) {
        table_bug(line, "unknown type attribute", a);
    }
}

static void parse_field_attr(struct schema_field *f, const char *a, size_t line)
{
    if (strcmp(a, "req") == 0) {
        f->required = true;
    } else if (strncmp(a, "mk=", 3) == 0) {
        f->merge_key = ck_strdup(a + 3);
    } else if (strncmp(a, "ps=", 3) == 0) {
        if (strstr(a, "merge"))
            f->strategy |= SCHEMA_PS_MERGE;
        if (strstr(a, "replace"))
            f->strategy |= SCHEMA_PS_REPLACE;
        if (strstr(a, "retainKeys"))
            f->strategy |= SCHEMA_PS_RETAINKEYS;
    } else if (strncmp(a, "lt=", 3) == 0) {
        f->list_type = ck_strdup(a + 3);
    } else if (strncmp(a, "lk=", 3) == 0) {
        f->map_keys = ck_strdup(a + 3);
    } else if (strncmp(a, "mt=", 3) == 0) {
        f->map_type = ck_strdup(a + 3);
    } else if (strncmp(a, "en=", 3) == 0) {
        f->enum_values = ck_strdup(a + 3);
    } else {
        table_bug(line, "unknown field attribute", a);
    }
}

struct prim_name {
    const char *name;
    enum schema_prim prim;
};
static const struct prim_name prims[] = {
    {"string", SCHEMA_P_STRING}, {"int32", SCHEMA_P_INT32}, {"int64", SCHEMA_P_INT64},
    {"bool", SCHEMA_P_BOOL},     {"double", SCHEMA_P_DOUBLE}, {"byte", SCHEMA_P_BYTE},
};

static void parse_field(struct schema_field *f, char **tok, size_t n, const char *desc,
                        char **ref, size_t line)
{
    if (n < 2)
        table_bug(line, "field needs a name and a type", tok[0]);
    f->name = ck_strdup(tok[0]);
    f->desc = ck_strdup(desc);
    const char *ty = tok[1];
    if (strncmp(ty, "[]", 2) == 0) {
        f->coll = SCHEMA_C_LIST;
        ty += 2;
    } else if (strncmp(ty, "{}", 2) == 0) {
        f->coll = SCHEMA_C_MAP;
        ty += 2;
    }
    f->prim = SCHEMA_P_REF;
    for (size_t i = 0; i < sizeof(prims) / sizeof(prims[0]); i++)
        if (strcmp(ty, prims[i].name) == 0)
            f->prim = prims[i].prim;
    *ref = f->prim == SCHEMA_P_REF ? ck_strdup(ty) : NULL;
    for (size_t i = 2; i < n; i++)
        parse_field_attr(f, tok[i], line);
}

/* Adds apiVersion, kind and metadata to a root kind. */
static size_t add_root_fields(struct schema_field *f, char **refs)
{
    static const char *const d_api =
        "APIVersion defines the versioned schema of this representation of an object. Servers "
        "should convert recognized schemas to the latest internal value, and may reject "
        "unrecognized values.";
    static const char *const d_kind =
        "Kind is a string value representing the REST resource this object represents. "
        "Servers may infer this from the endpoint the client submits requests to. Cannot be "
        "updated. In CamelCase.";
    static const char *const d_meta = "Standard object's metadata.";
    f[0] = (struct schema_field){.name = "apiVersion", .desc = d_api, .prim = SCHEMA_P_STRING};
    f[1] = (struct schema_field){.name = "kind", .desc = d_kind, .prim = SCHEMA_P_STRING};
    f[2] = (struct schema_field){.name = "metadata", .desc = d_meta, .prim = SCHEMA_P_REF};
    refs[0] = refs[1] = NULL;
    refs[2] = ck_strdup("meta.ObjectMeta");
    return 3;
}

static const struct schema_type *resolve_ref(const char *ref, size_t line)
{
    if (strchr(ref, '.')) {
        char *full = expand_name(ref, line);
        for (size_t i = 0; i < ntypes; i++)
            if (strcmp(types[i].name, full) == 0) {
                free(full);
                return &types[i];
            }
        table_bug(line, "unknown type", ref);
    }
    const struct schema_type *found = NULL;
    size_t rl = strlen(ref);
    for (size_t i = 0; i < ntypes; i++) {
        const char *nm = types[i].name;
        size_t nl = strlen(nm);
        if (nl > rl && nm[nl - rl - 1] == '.' && strcmp(nm + nl - rl, ref) == 0) {
            if (found)
                table_bug(line, "ambiguous short type name (qualify it)", ref);
            found = &types[i];
        }
    }
    if (!found)
        table_bug(line, "unknown type", ref);
    return found;
}

/* Pass 1 counts; pass 2 fills. Field lines start with a space. */
static void parse_table(void)
{
    size_t nt = 0, nf = 0;
    for (size_t i = 0; i < dsl_nlines(); i++) {
        const char *l = dsl_line(i);
        if (l[0] == 'T')
            nt++;
        else if (l[0] == ' ')
            nf++;
    }
    types = ck_calloc(nt ? nt : 1, sizeof(*types));
    struct schema_field *fields = ck_calloc(nf + 3 * nt + 1, sizeof(*fields));
    size_t *fline = ck_calloc(nf + 3 * nt + 1, sizeof(*fline));
    type_refs = ck_calloc(nf + 3 * nt + 1, sizeof(*type_refs));
    size_t fi = 0;
    struct schema_type *cur = NULL;
    for (size_t i = 0; i < dsl_nlines(); i++) {
        char *buf = ck_strdup(dsl_line(i));
        char *tok[16];
        const char *desc;
        if (buf[0] == 'T') {
            size_t n = split_line(buf + 1, tok, 16, &desc);
            if (n < 1)
                table_bug(i, "type line without name", buf);
            cur = &types[ntypes++];
            cur->name = expand_name(tok[0], i);
            cur->desc = ck_strdup(desc);
            cur->fields = &fields[fi];
            for (size_t a = 1; a < n; a++)
                parse_type_attr(cur, tok[a], i);
            for (size_t a = 1; a < n; a++)
                if (strcmp(tok[a], "root") == 0) {
                    size_t k = add_root_fields(&fields[fi], &type_refs[fi]);
                    for (size_t j = 0; j < k; j++)
                        fline[fi + j] = i;
                    fi += k;
                    cur->nfields += k;
                }
        } else if (buf[0] == ' ') {
            if (!cur)
                table_bug(i, "field before any type", buf);
            size_t n = split_line(buf, tok, 16, &desc);
            parse_field(&fields[fi], tok, n, desc, &type_refs[fi], i);
            fline[fi] = i;
            fi++;
            cur->nfields++;
        }
        free(buf);
    }
    for (size_t j = 0; j < fi; j++)
        if (type_refs[j])
            fields[j].ref = resolve_ref(type_refs[j], fline[j]);
    free(fline);
}

static void table_init(void)
{
    parse_table();
}

size_t schema_type_count(void)
{
    pthread_once(&table_once, table_init);
    return ntypes;
}

const struct schema_type *schema_type_at(size_t i)
{
    pthread_once(&table_once, table_init);
    return i < ntypes ? &types[i] : NULL;
}

const struct schema_type *schema_lookup_name(const char *name)
{
    pthread_once(&table_once, table_init);
    if (!name)
        return NULL;
    for (size_t i = 0; i < ntypes; i++)
        if (strcmp(types[i].name, name) == 0)
            return &types[i];
    return NULL;
}

const struct schema_type *schema_lookup_kind(const char *group, const char *version,
                                             const char *kind)
{
    pthread_once(&table_once, table_init);
    if (!version || !kind)
        return NULL;
    if (!group)
        group = "";
    for (size_t i = 0; i < ntypes; i++) {
        const struct schema_type *t = &types[i];
        if (t->gvk_kind && strcmp(t->gvk_kind, kind) == 0 && strcmp(t->version, version) == 0 &&
            strcmp(t->group, group) == 0)
            return t;
    }
    return NULL;
}

const struct schema_field *schema_field_find(const struct schema_type *t, const char *name)
{
    if (!t || !name || t->kind != SCHEMA_T_STRUCT)
        return NULL;
    for (size_t i = 0; i < t->nfields; i++)
        if (strcmp(t->fields[i].name, name) == 0)
            return &t->fields[i];
    return NULL;
}

/* ---- unknown fields ---- */

#define PATH_MAX_LEN 1024

/* One walk serves detection (paths != NULL) and pruning (prune). Keys are visited in sorted
 * order: upstream decodes the patched object re-encoded by Go, whose maps sort their keys,
 * so its strict-decoding errors come in that order. */
struct walk {
    json_t *paths;
    bool prune;
    size_t found;
};

static void walk_struct(struct walk *w, const struct schema_type *t, json_t *obj, char *path,
                        size_t plen, int depth);

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void walk_elem(struct walk *w, const struct schema_type *t, json_t *e, char *path,
                      size_t plen, const char *fmt, const char *key, size_t idx, int depth)
{
    int n = key ? snprintf(path + plen, PATH_MAX_LEN - plen, fmt, key)
                : snprintf(path + plen, PATH_MAX_LEN - plen, fmt, idx);
    if (n >= 0 && (size_t)n < PATH_MAX_LEN - plen && json_is_object(e))
        walk_struct(w, t, e, path, plen + (size_t)n, depth + 1);
    path[plen] = '\0';
}

static void walk_value(struct walk *w, const struct schema_field *f, json_t *v, char *path,
                       size_t plen, int depth)
{
    if (f->prim != SCHEMA_P_REF || f->ref->kind != SCHEMA_T_STRUCT || depth > 64)
        return;
    if (f->coll == SCHEMA_C_ONE) {
        if (json_is_object(v))
            walk_struct(w, f->ref, v, path, plen, depth + 1);
    } else if (f->coll == SCHEMA_C_LIST && json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            walk_elem(w, f->ref, json_array_get(v, i), path, plen, "[%zu]", NULL, i, depth);
    } else if (f->coll == SCHEMA_C_MAP && json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach(v, k, e)
            walk_elem(w, f->ref, e, path, plen, ".%s", k, 0, depth);
    }
}

static void walk_struct(struct walk *w, const struct schema_type *t, json_t *obj, char *path,
                        size_t plen, int depth)
{
    size_t n = json_object_size(obj), i = 0;
    if (n == 0)
        return;
    const char **keys = ck_calloc(n, sizeof(*keys));
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
        keys[i++] = k;
    qsort(keys, n, sizeof(*keys), cmp_str);
    for (i = 0; i < n; i++) {
        int len = snprintf(path + plen, PATH_MAX_LEN - plen, ".%s", keys[i]);
        if (len < 0 || (size_t)len >= PATH_MAX_LEN - plen)
            continue; /* absurdly deep path: not reportable */
        const struct schema_field *f = schema_field_find(t, keys[i]);
        if (!f) {
            if (w->paths)
                json_array_append_new(w->paths, json_string(path));
            w->found++;
        } else {
            walk_value(w, f, json_object_get(obj, keys[i]), path, plen + (size_t)len, depth);
        }
        path[plen] = '\0';
    }
    if (w->prune)
        for (i = 0; i < n; i++)
            if (!schema_field_find(t, keys[i]))
                json_object_del(obj, keys[i]); /* keys[i] dies here: delete last */
    free(keys);
}

size_t schema_unknown_fields(const struct schema_type *t, const json_t *obj, json_t *paths)
{
    if (!t || !json_is_object(obj) || !json_is_array(paths) || t->kind != SCHEMA_T_STRUCT)
        return 0;
    char path[PATH_MAX_LEN];
    path[0] = '\0';
    struct walk w = {paths, false, 0};
    walk_struct(&w, t, (json_t *)obj, path, 0, 0); /* read-only when not pruning */
    return w.found;
}

size_t schema_prune_unknown(const struct schema_type *t, json_t *obj)
{
    if (!t || !json_is_object(obj) || t->kind != SCHEMA_T_STRUCT)
        return 0;
    char path[PATH_MAX_LEN];
    path[0] = '\0';
    struct walk w = {NULL, true, 0};
    walk_struct(&w, t, obj, path, 0, 0);
    return w.found;
}
