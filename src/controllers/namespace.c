/* SPDX-License-Identifier: Apache-2.0 */
/* The namespace controller (pkg/controller/namespace/deletion/namespaced_resources_deleter.go):
 * a namespace with a deletionTimestamp and the `kubernetes` finalizer in spec.finalizers is
 * emptied of every namespaced resource found by discovery (deletecollection where the
 * resource allows it, else list and delete one by one), with upstream's five status
 * conditions telling how far it got; once nothing is left, `kubernetes` is removed through
 * namespaces/NAME/finalize, and the API server then removes the namespace. Content with a
 * grace period or finalizers takes a while: the key comes back after a short delay. */
#include "controllers/cm.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define NS_FINALIZER "kubernetes"
#define NS_RECHECK_NS (2LL * 1000000000LL) /* content remains: look again after 2 s */
#define NS_MAX_GVR 256

struct nsc {
    struct cm *cm;
    struct ck_informer *inf;
    struct wq *q;
    struct cm_workers w;
};

/* One namespaced resource discovery offered: its collection path under a namespace is
 * <root>/namespaces/NS/<plural>. */
struct gvr {
    char root[160]; /* "/api/v1", "/apis/apps/v1" */
    char plural[96];
    bool deletecollection;
};

static bool has_verb(const json_t *res, const char *verb)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(res, "verbs"), i, v)
    {
        if (json_is_string(v) && !strcmp(json_string_value(v), verb))
            return true;
    }
    return false;
}

/* Appends the namespaced, listable and deletable resources of one group-version. */
static int discover_gv(struct ck_client *c, const char *root, struct gvr *out, size_t *n,
                       struct ck_err *err)
{
    json_t *rl = NULL;
    if (ck_client_get_json(c, root, &rl, err) < 0)
        return -1;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(rl, "resources"), i, r)
    {
        const char *name = json_string_value(json_object_get(r, "name"));
        if (!name || strchr(name, '/') || !json_is_true(json_object_get(r, "namespaced")) ||
            !has_verb(r, "list") || !has_verb(r, "delete") || *n >= NS_MAX_GVR)
            continue;
        /* events.k8s.io/v1 events are the core ones again: delete them once */
        if (!strcmp(root, "/apis/events.k8s.io/v1") && !strcmp(name, "events"))
            continue;
        struct gvr *g = &out[(*n)++];
        snprintf(g->root, sizeof(g->root), "%s", root);
        snprintf(g->plural, sizeof(g->plural), "%s", name);
        g->deletecollection = has_verb(r, "deletecollection");
    }
    json_decref(rl);
    return 0;
}

/* Every namespaced resource of the preferred version of every group (upstream's
 * ServerPreferredNamespacedResources). A group whose discovery fails is skipped and reported
 * (the NamespaceDeletionDiscoveryFailure condition); the others are still emptied. */
static size_t discover(struct ck_client *c, struct gvr *out, struct ck_buf *bad, size_t *nfailed)
{
    size_t n = 0;
    struct ck_err err = CK_ERR_INIT;
    if (discover_gv(c, "/api/v1", out, &n, &err) < 0) {
        ck_buf_appendf(bad, "%s/v1: %s", bad->len ? ", " : "", err.msg);
        (*nfailed)++;
        ck_err_clear(&err);
    }
    json_t *groups = NULL;
    if (ck_client_get_json(c, "/apis", &groups, &err) < 0) {
        ck_buf_appendf(bad, "%sapis: %s", bad->len ? ", " : "", err.msg);
        (*nfailed)++;
        return n;
    }
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(groups, "groups"), i, g)
    {
        const char *gv = json_string_value(
            json_object_get(json_object_get(g, "preferredVersion"), "groupVersion"));
        if (!gv)
            continue;
        char root[160];
        snprintf(root, sizeof(root), "/apis/%s", gv);
        if (discover_gv(c, root, out, &n, &err) < 0) {
            ck_buf_appendf(bad, "%s%s: %s", bad->len ? ", " : "", gv, err.msg);
            (*nfailed)++;
            ck_err_clear(&err);
        }
    }
    json_decref(groups);
    return n;
}

/* What is left in the namespace after a pass, for the conditions. */
struct remaining;
static void failed(struct remaining *rem, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
struct remaining {
    struct ck_buf resources;  /* "pods. has 2 resource instances, ..." */
    struct ck_buf finalizers; /* "example.com/x in 1 resource instances, ..." */
    struct ck_buf failures;   /* delete/list errors */
    size_t left, nfailed;
};

static void failed(struct remaining *rem, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (rem->failures.len)
        ck_buf_append(&rem->failures, ", ", 2);
    ck_buf_vappendf(&rem->failures, fmt, ap);
    va_end(ap);
    rem->nfailed++;
}

static void count_finalizers(struct remaining *rem, const json_t *items)
{
    /* finalizer name -> count, small linear table */
    const char *names[32];
    size_t counts[32], nn = 0, i, j;
    json_t *it, *f;
    json_array_foreach(items, i, it)
    {
        json_array_foreach(k8s_jpath(it, "metadata.finalizers"), j, f)
        {
            const char *s = json_string_value(f);
            if (!s)
                continue;
            size_t k = 0;
            while (k < nn && strcmp(names[k], s))
                k++;
            if (k == nn && nn < 32) {
                names[nn] = s;
                counts[nn++] = 0;
            }
            if (k < nn)
                counts[k]++;
        }
    }
    for (size_t k = 0; k < nn; k++)
        ck_buf_appendf(&rem->finalizers, "%s%s in %zu resource instances",
                       rem->finalizers.len ? ", " : "", names[k], counts[k]);
}

static void empty_one(struct nsc *c, const struct gvr *g, const char *ns, struct remaining *rem)
{
    struct ck_client *cl = c->cm->client;
    struct ck_err err = CK_ERR_INIT;
    char *coll = ck_asprintf("%s/namespaces/%s/%s", g->root, ns, g->plural);
    const char *group = strncmp(g->root, "/apis/", 6) ? "" : g->root + 6;
    char gr[200];
    snprintf(gr, sizeof(gr), "%s", g->plural);
    if (*group) {
        const char *slash = strchr(group, '/');
        snprintf(gr, sizeof(gr), "%s.%.*s", g->plural, (int)(slash ? slash - group : 0), group);
    } else {
        snprintf(gr, sizeof(gr), "%s.", g->plural);
    }
    if (g->deletecollection) {
        char *path = ck_asprintf("%s?propagationPolicy=Background", coll);
        if (ck_client_do(cl, "DELETE", path, NULL, NULL, 0, NULL, &err) < 0 &&
            err.reason != CK_R_NOT_FOUND && err.reason != CK_R_METHOD_NOT_ALLOWED)
            failed(rem, "%s: %s", gr, err.msg);
        ck_err_clear(&err);
        free(path);
    }
    json_t *list = NULL;
    if (ck_client_get_json(cl, coll, &list, &err) < 0) {
        if (err.reason != CK_R_NOT_FOUND)
            failed(rem, "%s: %s", gr, err.msg);
        free(coll);
        return;
    }
    json_t *items = json_object_get(list, "items");
    size_t i, live = 0;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        if (!k8s_jpath(it, "metadata.deletionTimestamp")) {
            /* no deletecollection (or it raced a create): one by one */
            const char *name = json_string_value(k8s_jpath(it, "metadata.name"));
            char *p = ck_asprintf("%s/%s?propagationPolicy=Background", coll, name ? name : "");
            if (name && ck_client_do(cl, "DELETE", p, NULL, NULL, 0, NULL, &err) < 0 &&
                err.reason != CK_R_NOT_FOUND)
                failed(rem, "%s %s: %s", gr, name, err.msg);
            ck_err_clear(&err);
            free(p);
        }
        live++;
    }
    if (live) {
        rem->left += live;
        ck_buf_appendf(&rem->resources, "%s%s has %zu resource instances",
                       rem->resources.len ? ", " : "", gr, live);
        count_finalizers(rem, items);
    }
    json_decref(list);
    free(coll);
}

static json_t *cond(const char *type, bool on, const char *reason, const char *msg, const char *now)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", type, "status", on ? "True" : "False",
                     "lastTransitionTime", now, "reason", reason, "message", msg);
}

/* upstream's five conditions (namespace_controller's updateNamespaceStatusFunc order). */
static json_t *conditions(const struct ck_buf *disc_failed, size_t ndisc,
                          const struct remaining *rem)
{
    char now[32];
    cm_now(now);
    json_t *a = json_array();
    char *m;
    if (disc_failed->len) {
        m = ck_asprintf("Discovery failed for some groups, %zu failing: %s", ndisc,
                        disc_failed->data);
        json_array_append_new(
            a, cond("NamespaceDeletionDiscoveryFailure", true, "DiscoveryFailed", m, now));
        free(m);
    } else {
        json_array_append_new(a, cond("NamespaceDeletionDiscoveryFailure", false,
                                      "ResourcesDiscovered",
                                      "All resources successfully discovered", now));
    }
    json_array_append_new(a, cond("NamespaceDeletionGroupVersionParsingFailure", false,
                                  "ParsedGroupVersions",
                                  "All legacy kube types successfully parsed", now));
    if (rem->failures.len) {
        m = ck_asprintf("Failed to delete all resource types, %zu remaining: %s", rem->nfailed,
                        rem->failures.data);
        json_array_append_new(
            a, cond("NamespaceDeletionContentFailure", true, "ContentDeletionFailed", m, now));
        free(m);
    } else {
        json_array_append_new(a, cond("NamespaceDeletionContentFailure", false, "ContentDeleted",
                                      "All content successfully deleted, may be waiting on "
                                      "finalization",
                                      now));
    }
    if (rem->left) {
        m = ck_asprintf("Some resources are remaining: %s", rem->resources.data);
        json_array_append_new(
            a, cond("NamespaceContentRemaining", true, "SomeResourcesRemain", m, now));
        free(m);
    } else {
        json_array_append_new(a, cond("NamespaceContentRemaining", false, "ContentRemoved",
                                      "All content successfully removed", now));
    }
    if (rem->finalizers.len) {
        m = ck_asprintf("Some content in the namespace has finalizers remaining: %s",
                        rem->finalizers.data);
        json_array_append_new(
            a, cond("NamespaceFinalizersRemaining", true, "SomeFinalizersRemain", m, now));
        free(m);
    } else {
        json_array_append_new(a,
                              cond("NamespaceFinalizersRemaining", false, "ContentHasNoFinalizers",
                                   "All content-preserving finalizers finished", now));
    }
    return a;
}

/* Same condition (type, status, reason, message) keeps its old transition time; the status is
 * written only when something changed. */
static void write_conditions(struct nsc *c, const json_t *ns, json_t *want)
{
    json_t *old = k8s_jpath(ns, "status.conditions");
    bool same = json_array_size(old) == json_array_size(want);
    size_t i;
    json_t *w;
    json_array_foreach(want, i, w)
    {
        size_t j;
        json_t *o;
        bool found = false;
        json_array_foreach(old, j, o)
        {
            if (!json_equal(json_object_get(o, "type"), json_object_get(w, "type")))
                continue;
            found = json_equal(json_object_get(o, "status"), json_object_get(w, "status")) &&
                    json_equal(json_object_get(o, "reason"), json_object_get(w, "reason")) &&
                    json_equal(json_object_get(o, "message"), json_object_get(w, "message"));
            if (found)
                json_object_set(w, "lastTransitionTime", json_object_get(o, "lastTransitionTime"));
        }
        same = same && found;
    }
    if (same)
        return;
    const char *name = json_string_value(k8s_jpath(ns, "metadata.name"));
    char *path = ck_asprintf("/api/v1/namespaces/%s/status", name);
    json_t *patch = json_pack("{s:{s:O}}", "status", "conditions", want);
    struct ck_err err = CK_ERR_INIT;
    if (ck_client_patch_json(c->cm->client, path, "application/merge-patch+json", patch, NULL,
                             &err) < 0 &&
        err.reason != CK_R_NOT_FOUND)
        ck_warn("namespace %s: status: %s", name, err.msg);
    json_decref(patch);
    free(path);
}

/* PUT namespaces/NAME/finalize without `kubernetes` in spec.finalizers. */
static int finalize(struct nsc *c, const json_t *ns, struct ck_err *err)
{
    json_t *cp = json_deep_copy(ns);
    json_t *fins = k8s_jpath(cp, "spec.finalizers");
    json_t *keep = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(fins, i, f)
    {
        if (!json_is_string(f) || strcmp(json_string_value(f), NS_FINALIZER))
            json_array_append(keep, f);
    }
    json_object_set_new(json_object_get(cp, "spec"), "finalizers", keep);
    char *path = ck_asprintf("/api/v1/namespaces/%s/finalize",
                             json_string_value(k8s_jpath(ns, "metadata.name")));
    int rc = ck_client_update_json(c->cm->client, path, cp, NULL, err);
    if (rc < 0 && err->reason == CK_R_NOT_FOUND) {
        ck_err_clear(err);
        rc = 0;
    }
    free(path);
    json_decref(cp);
    return rc;
}

static bool has_kubernetes_finalizer(const json_t *ns)
{
    size_t i;
    json_t *f;
    json_array_foreach(k8s_jpath(ns, "spec.finalizers"), i, f)
    {
        if (json_is_string(f) && !strcmp(json_string_value(f), NS_FINALIZER))
            return true;
    }
    return false;
}

static int sync_ns(void *arg, const char *key)
{
    struct nsc *c = arg;
    json_t *ns = ck_indexer_get(ck_informer_indexer(c->inf), key); /* cluster-scoped key */
    if (!ns || !k8s_jpath(ns, "metadata.deletionTimestamp") || !has_kubernetes_finalizer(ns)) {
        json_decref(ns);
        return 0;
    }
    /* read it live: the informer may lag behind our own finalize */
    json_t *live = NULL;
    struct ck_err err = CK_ERR_INIT;
    char *path = ck_asprintf("/api/v1/namespaces/%s", key);
    int rc = ck_client_get_json(c->cm->client, path, &live, &err);
    free(path);
    json_decref(ns);
    if (rc < 0)
        return err.reason == CK_R_NOT_FOUND ? 0 : -1;
    if (!k8s_jpath(live, "metadata.deletionTimestamp") || !has_kubernetes_finalizer(live)) {
        json_decref(live);
        return 0;
    }
    struct gvr *gvrs = ck_calloc(NS_MAX_GVR, sizeof(*gvrs));
    struct ck_buf disc_failed = CK_BUF_INIT(1 << 16);
    size_t ndisc = 0;
    size_t n = discover(c->cm->client, gvrs, &disc_failed, &ndisc);
    struct remaining rem = {.resources = CK_BUF_INIT(1 << 16),
                            .finalizers = CK_BUF_INIT(1 << 16),
                            .failures = CK_BUF_INIT(1 << 16)};
    for (size_t i = 0; i < n && !*c->cm->stop; i++)
        empty_one(c, &gvrs[i], key, &rem);
    json_t *conds = conditions(&disc_failed, ndisc, &rem);
    write_conditions(c, live, conds);
    json_decref(conds);
    rc = 0;
    if (rem.left || disc_failed.len || rem.failures.len) {
        ck_v(2, "namespace %s: %zu objects left", key, rem.left);
        wq_add_after(c->q, key, NS_RECHECK_NS);
    } else if (finalize(c, live, &err) < 0) {
        ck_warn("namespace %s: finalize: %s", key, err.msg);
        rc = -1;
    } else {
        ck_v(1, "namespace %s: emptied and finalized", key);
    }
    ck_buf_release(&rem.resources);
    ck_buf_release(&rem.finalizers);
    ck_buf_release(&rem.failures);
    ck_buf_release(&disc_failed);
    free(gvrs);
    json_decref(live);
    return rc;
}

static void ns_added(void *arg, json_t *obj)
{
    struct nsc *c = arg;
    if (k8s_jpath(obj, "metadata.deletionTimestamp"))
        cm_enqueue_obj(c->q, obj);
}

static void ns_updated(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    ns_added(arg, obj);
}

static void ns_deleted(void *arg, json_t *obj)
{
    (void)arg;
    (void)obj;
}

static int ns_init(struct cm *cm, void **state)
{
    struct nsc *c = ck_calloc(1, sizeof(*c));
    c->cm = cm;
    c->inf = ck_informer_factory_get(cm->factory, "/api/v1/namespaces");
    c->q = wq_new(&(struct wq_opts){.name = "namespace"});
    ck_informer_add_handlers(c->inf,
                             &(struct ck_informer_handlers){ns_added, ns_updated, ns_deleted, c});
    *state = c;
    return 0;
}

static void ns_run(void *state)
{
    struct nsc *c = state;
    c->w = (struct cm_workers){.q = c->q, .sync = sync_ns, .arg = c, .ctrl = &cm_namespace};
    cm_workers_start(&c->w, c->cm->workers);
}

static void ns_stop(void *state)
{
    struct nsc *c = state;
    wq_shutdown(c->q);
    cm_workers_join(&c->w);
}

static void ns_free(void *state)
{
    struct nsc *c = state;
    wq_free(c->q);
    free(c);
}

struct cm_controller cm_namespace = {.name = "namespace",
                                     .alias = "namespace-controller",
                                     .init = ns_init,
                                     .run = ns_run,
                                     .stop = ns_stop,
                                     .free = ns_free};
