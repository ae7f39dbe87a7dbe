/* SPDX-License-Identifier: Apache-2.0 */
/* Legacy discovery: /api and /apis name the group-versions, one APIResourceList each. */
#include "ckube/discovery.h"
#include "lib/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static const struct {
    const char *name;
    unsigned bit;
} verb_names[] = {
    {"get", CK_VERB_GET},       {"list", CK_VERB_LIST},
    {"watch", CK_VERB_WATCH},   {"create", CK_VERB_CREATE},
    {"update", CK_VERB_UPDATE}, {"patch", CK_VERB_PATCH},
    {"delete", CK_VERB_DELETE}, {"deletecollection", CK_VERB_DELETECOLLECTION},
};

unsigned ck_discovery_verbs(const json_t *verbs)
{
    unsigned bits = 0;
    size_t i;
    json_t *v;
    json_array_foreach(verbs, i, v)
    {
        const char *s = json_string_value(v);
        for (size_t j = 0; s && j < sizeof(verb_names) / sizeof(verb_names[0]); j++)
            if (!strcmp(s, verb_names[j].name))
                bits |= verb_names[j].bit;
    }
    return bits;
}

void ck_api_version_group(const char *api_version, char *out, size_t n)
{
    if (!n)
        return;
    const char *slash = api_version ? strchr(api_version, '/') : NULL;
    size_t len = slash ? (size_t)(slash - api_version) : 0;
    if (len >= n)
        len = n - 1;
    if (len)
        memcpy(out, api_version, len);
    out[len] = '\0';
}

static void push(struct ck_api_resources *out, const char *group, const char *version,
                 const char *resource, const char *kind, bool namespaced, unsigned verbs)
{
    if (out->n == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 32;
        out->v = ck_realloc(out->v, out->cap * sizeof(*out->v));
    }
    struct ck_api_resource *r = &out->v[out->n++];
    r->group = ck_strdup(group);
    r->version = ck_strdup(version);
    r->api_version = *group ? ck_asprintf("%s/%s", group, version) : ck_strdup(version);
    r->resource = ck_strdup(resource);
    r->kind = ck_strdup(kind);
    r->namespaced = namespaced;
    r->verbs = verbs;
}

void ck_api_resources_append(struct ck_api_resources *out, const struct ck_api_resource *r)
{
    push(out, r->group, r->version, r->resource, r->kind, r->namespaced, r->verbs);
}

static bool valid_name(const char *s)
{
    if (!s || !*s || strlen(s) > 253)
        return false;
    for (const char *p = s; *p; p++)
        if (*p == '/' || *p == '?' || *p == '%' || *p == '#' || (unsigned char)*p <= ' ')
            return false;
    return true;
}

int ck_discovery_parse_list(const json_t *doc, const char *group_version,
                            struct ck_api_resources *out)
{
    json_t *items = json_object_get(doc, "resources");
    if (!json_is_object(doc) || !json_is_array(items))
        return -1;
    const char *gv = json_string_value(json_object_get(doc, "groupVersion"));
    if (!gv || !*gv)
        gv = group_version;
    if (!gv || !*gv)
        return -1;
    char group[256];
    ck_api_version_group(gv, group, sizeof(group));
    const char *slash = strchr(gv, '/');
    const char *version = slash ? slash + 1 : gv;
    if (!valid_name(version) || (slash && !valid_name(group)))
        return -1;
    int added = 0;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *name = json_string_value(json_object_get(it, "name"));
        const char *kind = json_string_value(json_object_get(it, "kind"));
        if (!valid_name(name) || !valid_name(kind)) /* "pods/status" is a subresource */
            continue;
        /* a resource may live in another group-version than its list (rare; upstream honours
         * the override) */
        const char *g = json_string_value(json_object_get(it, "group"));
        const char *v = json_string_value(json_object_get(it, "version"));
        if (g && !(*g == '\0' || valid_name(g)))
            continue;
        if (v && !valid_name(v))
            continue;
        push(out, g ? g : group, v && *v ? v : version, name, kind,
             json_is_true(json_object_get(it, "namespaced")),
             ck_discovery_verbs(json_object_get(it, "verbs")));
        added++;
    }
    return added;
}

void ck_discovery_filter(struct ck_api_resources *r, unsigned verbs)
{
    size_t w = 0;
    for (size_t i = 0; i < r->n; i++) {
        if ((r->v[i].verbs & verbs) == verbs) {
            r->v[w++] = r->v[i];
            continue;
        }
        free(r->v[i].group);
        free(r->v[i].version);
        free(r->v[i].api_version);
        free(r->v[i].resource);
        free(r->v[i].kind);
    }
    r->n = w;
}

/* One APIResourceList; returns 0, or -1 with err set. */
static int fetch_gv(struct ck_client *c, const char *gv, struct ck_api_resources *out,
                    struct ck_err *err)
{
    char *path = ck_asprintf("%s%s", strchr(gv, '/') ? "/apis/" : "/api/", gv);
    json_t *doc = NULL;
    int rc = ck_client_get_json(c, path, &doc, err);
    if (rc == 0 && ck_discovery_parse_list(doc, gv, out) < 0)
        rc = ck_err_set(err, CK_R_INTERNAL, "discovery %s: not an APIResourceList", path);
    json_decref(doc);
    free(path);
    return rc < 0 ? -1 : 0;
}

int ck_discovery_preferred(struct ck_client *c, struct ck_api_resources *out, struct ck_err *err)
{
    json_t *core = NULL, *groups = NULL;
    if (ck_client_get_json(c, "/api", &core, err) < 0 ||
        ck_client_get_json(c, "/apis", &groups, err) < 0) {
        json_decref(core);
        return -1;
    }
    int failed = 0;
    struct ck_err first = CK_ERR_INIT;
    /* /api: APIVersions, the first is the preferred one */
    const char *cv = json_string_value(json_array_get(json_object_get(core, "versions"), 0));
    if (cv && valid_name(cv)) {
        struct ck_err e = CK_ERR_INIT;
        if (fetch_gv(c, cv, out, &e) < 0 && failed++ == 0)
            first = e;
    }
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(groups, "groups"), i, g)
    {
        const char *gv = json_string_value(
            json_object_get(json_object_get(g, "preferredVersion"), "groupVersion"));
        if (!gv) /* no preferred version named: the first listed */
            gv = json_string_value(
                json_object_get(json_array_get(json_object_get(g, "versions"), 0), "groupVersion"));
        if (!gv || !strchr(gv, '/'))
            continue;
        struct ck_err e = CK_ERR_INIT;
        if (fetch_gv(c, gv, out, &e) < 0 && failed++ == 0)
            first = e;
    }
    json_decref(core);
    json_decref(groups);
    if (failed) {
        ck_err_set(err, first.reason,
                   "unable to retrieve the complete list of server APIs "
                   "(%d group-versions failed): %s",
                   failed, first.msg);
        return 1;
    }
    return 0;
}

int ck_discovery_deletable(struct ck_client *c, struct ck_api_resources *out, struct ck_err *err)
{
    int rc = ck_discovery_preferred(c, out, err);
    if (rc >= 0)
        ck_discovery_filter(out, CK_VERB_LIST | CK_VERB_WATCH | CK_VERB_DELETE);
    return rc;
}

static const struct ck_api_resource *find(const struct ck_api_resources *r, const char *group,
                                          const char *name, bool by_kind)
{
    for (size_t i = 0; r && name && i < r->n; i++)
        if (!strcmp(by_kind ? r->v[i].kind : r->v[i].resource, name) &&
            !strcmp(r->v[i].group, group ? group : ""))
            return &r->v[i];
    return NULL;
}

const struct ck_api_resource *ck_discovery_find_kind(const struct ck_api_resources *r,
                                                     const char *group, const char *kind)
{
    return find(r, group, kind, true);
}

const struct ck_api_resource *ck_discovery_find_resource(const struct ck_api_resources *r,
                                                         const char *group, const char *resource)
{
    return find(r, group, resource, false);
}

char *ck_api_resource_path(const struct ck_api_resource *r, const char *ns, const char *name)
{
    struct ck_buf b = CK_BUF_INIT(256);
    ck_buf_appendf(&b, "%s%s", *r->group ? "/apis/" : "/api/", r->api_version);
    if (r->namespaced && ns && *ns)
        ck_buf_appendf(&b, "/namespaces/%s", ns);
    ck_buf_appendf(&b, "/%s", r->resource);
    if (name)
        ck_buf_appendf(&b, "/%s", name);
    return ck_buf_detach(&b, NULL);
}

void ck_api_resources_release(struct ck_api_resources *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].group);
        free(r->v[i].version);
        free(r->v[i].api_version);
        free(r->v[i].resource);
        free(r->v[i].kind);
    }
    free(r->v);
    r->v = NULL;
    r->n = r->cap = 0;
}
