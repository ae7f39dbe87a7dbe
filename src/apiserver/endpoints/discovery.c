/* SPDX-License-Identifier: Apache-2.0 */
/* Discovery documents built from the registry: /api, /api/v1, /apis, /apis/G, /apis/G/V
 * (legacy APIVersions/APIGroupList/APIGroup/APIResourceList) and aggregated discovery
 * (apidiscovery.k8s.io v2 and v2beta1 APIGroupDiscoveryList). Built once, served as bytes. */
#include "apiserver/endpoints/endpoints.h"
#include "lib/log.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

struct disc_docs {
    char *agg[2][2];  /* [core=0/apis=1][v2=0/v2beta1=1] */
    char *group_list; /* /apis legacy */
    size_t ngv;
    char *gv_name[48];   /* "apps/v1", "v1" */
    char *gv_list[48];   /* APIResourceList */
    char *group_doc[48]; /* APIGroup for /apis/G, NULL for core */
};

static struct disc_docs docs;
static pthread_once_t docs_once = PTHREAD_ONCE_INIT;

static const char *const verb_names[] = {"create", "delete", "deletecollection", "get",
                                         "list",   "patch",  "update",           "watch"};

static json_t *verbs_json(unsigned verbs)
{
    json_t *a = json_array();
    for (size_t i = 0; i < 8; i++)
        if (verbs & (1u << i))
            json_array_append_new(a, json_string(verb_names[i]));
    return a;
}

static json_t *strs_json(const char *const *v, size_t max)
{
    json_t *a = json_array();
    for (size_t i = 0; i < max && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static void storage_hash(const struct reg_resource *r, char out[16])
{
    if (r->storage) /* every served version hashes its storage version, as upstream */
        r = r->storage;
    char in[256];
    int n = snprintf(in, sizeof(in), "%s/%s/%s", r->group, r->version, r->kind);
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)in, (size_t)n, md);
    EVP_EncodeBlock((unsigned char *)out, md, 8); /* 8 bytes -> 12 chars + NUL */
}

struct subres {
    const char *name, *kind, *group, *version;
    unsigned verbs;
};

static size_t subresources(const struct reg_resource *r, struct subres *out)
{
    size_t n = 0;
    unsigned gpu = REG_GET | REG_PATCH | REG_UPDATE;
    if (r->flags & REG_BINDING)
        out[n++] = (struct subres){"binding", "Binding", NULL, NULL, REG_CREATE};
    if (r->flags & REG_EPHEMERAL)
        out[n++] = (struct subres){"ephemeralcontainers", r->kind, NULL, NULL, gpu};
    if (r->flags & REG_EVICTION)
        out[n++] = (struct subres){"eviction", "Eviction", "policy", "v1", REG_CREATE};
    if (r->flags & REG_FINALIZE)
        out[n++] = (struct subres){"finalize", r->kind, NULL, NULL, REG_UPDATE};
    if (r->flags & REG_SCALE)
        out[n++] = (struct subres){"scale", "Scale", "autoscaling", "v1", gpu};
    if (r->flags & REG_STATUS)
        out[n++] = (struct subres){"status", r->kind, NULL, NULL, gpu};
    if (!r->group[0] && !strcmp(r->plural, "serviceaccounts")) /* satoken: tokenrequest.c */
        out[n++] = (struct subres){"token", "TokenRequest", "authentication.k8s.io", "v1",
                                   REG_CREATE};
    return n;
}

static void add_legacy_resources(json_t *arr, const struct reg_resource *r)
{
    json_t *o = json_object();
    char h[16];
    json_object_set_new(o, "name", json_string(r->plural));
    json_object_set_new(o, "singularName", json_string(r->singular));
    json_object_set_new(o, "namespaced", json_boolean(r->flags & REG_NAMESPACED));
    json_object_set_new(o, "kind", json_string(r->kind));
    json_object_set_new(o, "verbs", verbs_json(r->verbs));
    if (r->short_names[0])
        json_object_set_new(o, "shortNames", strs_json(r->short_names, 3));
    if (r->categories[0])
        json_object_set_new(o, "categories", strs_json(r->categories, 2));
    storage_hash(r, h);
    json_object_set_new(o, "storageVersionHash", json_string(h));
    json_array_append_new(arr, o);
    struct subres sr[6];
    size_t n = subresources(r, sr);
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_object();
        char nm[128];
        snprintf(nm, sizeof(nm), "%s/%s", r->plural, sr[i].name);
        json_object_set_new(s, "name", json_string(nm));
        json_object_set_new(s, "singularName", json_string(""));
        json_object_set_new(s, "namespaced", json_boolean(r->flags & REG_NAMESPACED));
        if (sr[i].group) {
            json_object_set_new(s, "group", json_string(sr[i].group));
            json_object_set_new(s, "version", json_string(sr[i].version));
        }
        json_object_set_new(s, "kind", json_string(sr[i].kind));
        json_object_set_new(s, "verbs", verbs_json(sr[i].verbs));
        json_array_append_new(arr, s);
    }
}

static json_t *gvk_json(const char *g, const char *v, const char *k)
{
    json_t *o = json_object();
    json_object_set_new(o, "group", json_string(g));
    json_object_set_new(o, "version", json_string(v));
    json_object_set_new(o, "kind", json_string(k));
    return o;
}

static json_t *agg_resource(const struct reg_resource *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "resource", json_string(r->plural));
    json_object_set_new(o, "responseKind", gvk_json(r->group, r->version, r->kind));
    json_object_set_new(o, "scope",
                        json_string(r->flags & REG_NAMESPACED ? "Namespaced" : "Cluster"));
    json_object_set_new(o, "singularResource", json_string(r->singular));
    json_object_set_new(o, "verbs", verbs_json(r->verbs));
    if (r->short_names[0])
        json_object_set_new(o, "shortNames", strs_json(r->short_names, 3));
    if (r->categories[0])
        json_object_set_new(o, "categories", strs_json(r->categories, 2));
    struct subres sr[6];
    size_t n = subresources(r, sr);
    if (n) {
        json_t *subs = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *s = json_object();
            json_object_set_new(s, "subresource", json_string(sr[i].name));
            json_object_set_new(s, "responseKind",
                                gvk_json(sr[i].group ? sr[i].group : r->group,
                                         sr[i].version ? sr[i].version : r->version, sr[i].kind));
            json_object_set_new(s, "verbs", verbs_json(sr[i].verbs));
            json_array_append_new(subs, s);
        }
        json_object_set_new(o, "subresources", subs);
    }
    return o;
}

static char *dump(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    if (!s)
        ck_fatal("discovery: json_dumps failed");
    return s;
}

static json_t *gv_json(const char *group, const char *version)
{
    json_t *o = json_object();
    char gv[128];
    snprintf(gv, sizeof(gv), "%s/%s", group, version);
    json_object_set_new(o, "groupVersion", json_string(gv));
    json_object_set_new(o, "version", json_string(version));
    return o;
}

/* The served versions of group: the preferred one first, then the extra ones. */
static size_t group_versions(const char *group, const char *preferred, const char **out,
                             size_t max)
{
    size_t n = 0;
    out[n++] = preferred;
    const struct reg_group *ex;
    size_t nex = reg_extra_groups(&ex);
    for (size_t i = 0; i < nex && n < max; i++)
        if (strcmp(ex[i].name, group) == 0)
            out[n++] = ex[i].version;
    return n;
}

static json_t *group_json(const char *group, const char *version)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(group));
    json_t *vs = json_array();
    const char *v[4];
    size_t nv = group_versions(group, version, v, 4);
    for (size_t i = 0; i < nv; i++)
        json_array_append_new(vs, gv_json(group, v[i]));
    json_object_set_new(o, "versions", vs);
    json_object_set_new(o, "preferredVersion", gv_json(group, version));
    return o;
}

/* Legacy APIResourceList of one group-version; its aggregated resources go to aggres. */
static void build_one_gv(const char *group, const char *version, const char *preferred,
                         json_t *aggres)
{
    json_t *list = json_object(), *res = json_array();
    char gv[128];
    if (group[0])
        snprintf(gv, sizeof(gv), "%s/%s", group, version);
    else
        snprintf(gv, sizeof(gv), "%s", version);
    size_t total = reg_count() + reg_extra_count();
    for (size_t i = 0; i < total; i++) {
        const struct reg_resource *r =
            i < reg_count() ? reg_at(i) : reg_extra_at(i - reg_count());
        if (strcmp(r->group, group) || strcmp(r->version, version))
            continue;
        add_legacy_resources(res, r);
        json_array_append_new(aggres, agg_resource(r));
    }
    json_object_set_new(list, "kind", json_string("APIResourceList"));
    json_object_set_new(list, "apiVersion", json_string("v1"));
    json_object_set_new(list, "groupVersion", json_string(gv));
    json_object_set_new(list, "resources", res);
    if (docs.ngv >= sizeof(docs.gv_name) / sizeof(docs.gv_name[0]))
        ck_fatal("discovery: too many group versions");
    size_t k = docs.ngv++;
    docs.gv_name[k] = ck_strdup(gv);
    docs.gv_list[k] = dump(list);
    if (group[0]) {
        json_t *gd = group_json(group, preferred);
        json_object_set_new(gd, "kind", json_string("APIGroup"));
        json_object_set_new(gd, "apiVersion", json_string("v1"));
        docs.group_doc[k] = dump(gd);
    }
}

static void build_gv(const struct reg_group *g, json_t *agg_items)
{
    json_t *item = json_object(), *md = json_object(), *vers = json_array();
    const char *v[4];
    size_t nv = group_versions(g->name, g->version, v, 4);
    for (size_t i = 0; i < nv; i++) {
        json_t *ver = json_object(), *aggres = json_array();
        build_one_gv(g->name, v[i], g->version, aggres);
        json_object_set_new(ver, "version", json_string(v[i]));
        json_object_set_new(ver, "resources", aggres);
        json_object_set_new(ver, "freshness", json_string("Current"));
        json_array_append_new(vers, ver);
    }
    if (g->name[0])
        json_object_set_new(md, "name", json_string(g->name));
    json_object_set_new(item, "metadata", md);
    json_object_set_new(item, "versions", vers);
    json_array_append_new(agg_items, item);
}

static char *agg_doc(json_t *items, const char *av)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string("APIGroupDiscoveryList"));
    json_object_set_new(o, "apiVersion", json_string(av));
    json_object_set_new(o, "metadata", json_object());
    json_object_set(o, "items", items);
    return dump(o);
}

static void build_docs(void)
{
    const struct reg_group *gs;
    size_t ng = reg_groups(&gs);
    json_t *core_items = json_array(), *apis_items = json_array(), *glist = json_array();
    for (size_t i = 0; i < ng; i++) {
        build_gv(&gs[i], gs[i].name[0] ? apis_items : core_items);
        if (gs[i].name[0])
            json_array_append_new(glist, group_json(gs[i].name, gs[i].version));
    }
    const char *av[2] = {"apidiscovery.k8s.io/v2", "apidiscovery.k8s.io/v2beta1"};
    for (int v = 0; v < 2; v++) {
        docs.agg[0][v] = agg_doc(core_items, av[v]);
        docs.agg[1][v] = agg_doc(apis_items, av[v]);
    }
    json_decref(core_items);
    json_decref(apis_items);
    json_t *gl = json_object();
    json_object_set_new(gl, "kind", json_string("APIGroupList"));
    json_object_set_new(gl, "apiVersion", json_string("v1"));
    json_object_set_new(gl, "groups", glist);
    docs.group_list = dump(gl);
}

void eng_discovery_init(struct api_server *s)
{
    (void)s;
    pthread_once(&docs_once, build_docs);
}

void eng_discovery_free(struct api_server *s)
{
    (void)s; /* documents are process-wide and immutable */
}

static void reply_str(struct eng_req *r, const char *body)
{
    eng_reply(r, 200, body, strlen(body));
}

static int reply_agg(struct eng_req *r, int which)
{
    int v = r->fmt == FMT_DISC_V2 ? 0 : 1;
    reply_str(r, docs.agg[which][v]);
    snprintf(r->rs->content_type, sizeof(r->rs->content_type),
             "application/json;g=apidiscovery.k8s.io;v=%s;as=APIGroupDiscoveryList",
             v == 0 ? "v2" : "v2beta1");
    return 0;
}

static int serve_api_versions(struct eng_req *r)
{
    json_t *o = json_object(), *cidrs = json_array(), *c = json_object();
    json_object_set_new(o, "kind", json_string("APIVersions"));
    json_t *vs = json_array();
    json_array_append_new(vs, json_string("v1"));
    json_object_set_new(o, "versions", vs);
    json_object_set_new(c, "clientCIDR", json_string("0.0.0.0/0"));
    const char *host = r->s->cache.opts.external_host;
    json_object_set_new(c, "serverAddress", json_string(host ? host : ""));
    json_array_append_new(cidrs, c);
    json_object_set_new(o, "serverAddressByClientCIDRs", cidrs);
    char *s = dump(o);
    reply_str(r, s);
    free(s);
    return 0;
}

static int gv_index(const char *gv)
{
    for (size_t i = 0; i < docs.ngv; i++)
        if (strcmp(docs.gv_name[i], gv) == 0)
            return (int)i;
    return -1;
}

/* segs: the path split on '/', starting at "api" or "apis". Returns 1 if served, 0 if the
 * path is not a discovery path. */
int eng_serve_discovery(struct eng_req *r, const char **segs, size_t nsegs)
{
    eng_discovery_init(r->s);
    bool agg = r->fmt == FMT_DISC_V2 || r->fmt == FMT_DISC_V2BETA1;
    char gv[160];
    if (strcmp(segs[0], "api") == 0) {
        if (nsegs == 1) {
            if (agg)
                return reply_agg(r, 0) == 0;
            return serve_api_versions(r) == 0;
        }
        if (nsegs == 2 && strcmp(segs[1], "v1") == 0) {
            reply_str(r, docs.gv_list[gv_index("v1")]);
            return 1;
        }
        return 0;
    }
    if (nsegs == 1) {
        if (agg)
            return reply_agg(r, 1) == 0;
        reply_str(r, docs.group_list);
        return 1;
    }
    if (nsegs == 2) {
        for (size_t i = 0; i < docs.ngv; i++) {
            const char *n = docs.gv_name[i];
            size_t gl = strlen(segs[1]);
            if (docs.group_doc[i] && strncmp(n, segs[1], gl) == 0 && n[gl] == '/') {
                reply_str(r, docs.group_doc[i]);
                return 1;
            }
        }
        return 0;
    }
    if (nsegs == 3) {
        snprintf(gv, sizeof(gv), "%s/%s", segs[1], segs[2]);
        int i = gv_index(gv);
        if (i < 0)
            return 0;
        reply_str(r, docs.gv_list[i]);
        return 1;
    }
    return 0;
}
