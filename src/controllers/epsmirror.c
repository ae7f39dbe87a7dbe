/* SPDX-License-Identifier: Apache-2.0 */
/* The EndpointSlice mirroring controller (pkg/controller/endpointslicemirroring): the
 * Endpoints of a Service without a selector (written by hand or by another controller) are
 * mirrored into discovery.k8s.io/v1 EndpointSlices, so that consumers of slices (the service
 * proxy, DNS) see them. Not mirrored: Endpoints labelled
 * endpointslice.kubernetes.io/skip-mirror=true, Endpoints with the leader-election annotation,
 * Endpoints whose Service is missing or has a selector; their mirrored slices are deleted.
 *
 * Subsets with the same ports and address type share one slice; each subset contributes at
 * most 1000 addresses (--mirroring-max-endpoints-per-subset), ready ones first, then the not
 * ready ones (conditions.ready false); addresses that are not IP addresses are skipped. A
 * slice copies the Endpoints' labels and annotations (but the trigger-time and
 * last-applied ones), is labelled kubernetes.io/service-name=<name> and
 * endpointslice.kubernetes.io/managed-by=endpointslicemirroring-controller.k8s.io, is
 * controlled by the Endpoints (ownerReference) and is named "<name>-<random>". Existing
 * slices are updated in place when they differ, extra ones recycled or deleted. */
#include "ckube/indexer.h"
#include "controllers/cm.h"
#include "controllers/expect.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define MAX_PER_SUBSET 1000
#define LABEL_SVC "kubernetes.io/service-name"
#define LABEL_MANAGED "endpointslice.kubernetes.io/managed-by"
#define LABEL_SKIP "endpointslice.kubernetes.io/skip-mirror"
#define MANAGER "endpointslicemirroring-controller.k8s.io"
#define LEADER_ANN "control-plane.alpha.kubernetes.io/leader"
#define SLICES_PATH "/apis/discovery.k8s.io/v1/endpointslices"

struct mirror {
    struct cm *cm;
    struct ck_informer *eps, *svcs, *slices;
    struct wq *q; /* Endpoints keys "ns/name" */
    struct cm_workers w;
    struct cm_expect *exp; /* slices created and not yet seen, per Endpoints key */
};

static bool should_mirror(const json_t *ep)
{
    const char *skip = k8s_obj_label(ep, LABEL_SKIP);
    return ep && !(skip && strcmp(skip, "true") == 0) &&
           !json_object_get(k8s_jpath(ep, "metadata.annotations"), LEADER_ANN);
}

/* The Endpoints key of a slice this controller mirrored (malloc'd), or NULL. */
static char *slice_key(const json_t *obj)
{
    const char *svc = k8s_obj_label(obj, LABEL_SVC);
    const char *by = k8s_obj_label(obj, LABEL_MANAGED);
    if (!svc || !by || strcmp(by, MANAGER))
        return NULL;
    return ck_asprintf("%s/%s", k8s_obj_namespace(obj), svc);
}

static void index_mirrored(const json_t *obj, ck_index_emit_fn emit, void *ctx)
{
    char *k = slice_key(obj);
    if (k)
        emit(ctx, k);
    free(k);
}

/* ---- desired state ------------------------------------------------------------------ */

static const char *addr_type(const char *ip)
{
    unsigned char b[16];
    if (!ip)
        return NULL;
    if (inet_pton(AF_INET, ip, b) == 1)
        return "IPv4";
    if (inet_pton(AF_INET6, ip, b) == 1)
        return "IPv6";
    return NULL;
}

static json_t *slice_ports(const json_t *subset)
{
    json_t *out = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(subset, "ports"), i, p)
    {
        const char *proto = k8s_jpath_str(p, "protocol");
        json_t *sp = json_pack("{s:s,s:O,s:s}", "name", k8s_jpath_str(p, "name"), "port",
                               json_object_get(p, "port"), "protocol", *proto ? proto : "TCP");
        const char *ap = k8s_jpath_str(p, "appProtocol");
        if (*ap)
            json_object_set_new(sp, "appProtocol", json_string(ap));
        json_array_append_new(out, sp);
    }
    return out;
}

static json_t *endpoint_of(const json_t *a, bool ready)
{
    json_t *e = json_pack("{s:[s],s:{s:b}}", "addresses", k8s_jpath_str(a, "ip"), "conditions",
                          "ready", ready);
    const char *h = k8s_jpath_str(a, "hostname"), *node = k8s_jpath_str(a, "nodeName");
    if (*h)
        json_object_set_new(e, "hostname", json_string(h));
    if (*node)
        json_object_set_new(e, "nodeName", json_string(node));
    json_t *ref = json_object_get(a, "targetRef");
    if (json_is_object(ref))
        json_object_set(e, "targetRef", ref);
    return e;
}

/* Finds or adds the group of (ports, type): {"ports", "addressType", "endpoints"}. */
static json_t *group_for(json_t *groups, json_t *ports, const char *type)
{
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g)
    {
        if (json_equal(json_object_get(g, "ports"), ports) &&
            !strcmp(k8s_jpath_str(g, "addressType"), type))
            return g;
    }
    g = json_pack("{s:O,s:s,s:[]}", "ports", ports, "addressType", type, "endpoints");
    json_array_append_new(groups, g);
    return g;
}

static bool has_address(const json_t *eps, const char *ip)
{
    size_t i;
    json_t *e;
    json_array_foreach(eps, i, e)
    {
        if (!strcmp(json_string_value(json_array_get(json_object_get(e, "addresses"), 0)), ip))
            return true;
    }
    return false;
}

/* The desired groups of ep's subsets; *skipped counts addresses left out. */
static json_t *desired(const json_t *ep, int *invalid, int *over)
{
    json_t *groups = json_array();
    size_t i;
    json_t *sub;
    json_array_foreach(json_object_get(ep, "subsets"), i, sub)
    {
        json_t *ports = slice_ports(sub);
        int added = 0;
        const char *lists[2] = {"addresses", "notReadyAddresses"};
        for (int l = 0; l < 2; l++) {
            size_t k;
            json_t *a;
            json_array_foreach(json_object_get(sub, lists[l]), k, a)
            {
                if (added >= MAX_PER_SUBSET) {
                    (*over)++;
                    continue;
                }
                const char *ip = k8s_jpath_str(a, "ip"), *type = addr_type(ip);
                if (!type) {
                    (*invalid)++;
                    continue;
                }
                json_t *eps = json_object_get(group_for(groups, ports, type), "endpoints");
                if (!has_address(eps, ip))
                    json_array_append_new(eps, endpoint_of(a, l == 0));
                added++;
            }
        }
        json_decref(ports);
    }
    return groups;
}

/* ---- writing ------------------------------------------------------------------------ */

static json_t *new_slice(const json_t *ep, const json_t *g)
{
    const char *name = k8s_obj_name(ep);
    json_t *labels = json_deep_copy(k8s_jpath(ep, "metadata.labels"));
    if (!json_is_object(labels)) {
        json_decref(labels);
        labels = json_object();
    }
    json_object_set_new(labels, LABEL_SVC, json_string(name));
    json_object_set_new(labels, LABEL_MANAGED, json_string(MANAGER));
    json_t *ann = json_deep_copy(k8s_jpath(ep, "metadata.annotations"));
    if (json_is_object(ann)) {
        json_object_del(ann, "endpoints.kubernetes.io/last-change-trigger-time");
        json_object_del(ann, "kubectl.kubernetes.io/last-applied-configuration");
    }
    /* upstream's getEndpointSlicePrefix: the name, cut so that the random suffix fits */
    char *gn = ck_asprintf("%.57s-", name);
    json_t *o = json_pack(
        "{s:s,s:s,s:{s:s,s:s,s:o,s:[{s:s,s:s,s:s,s:s,s:b,s:b}]},s:O,s:O,s:O}", "apiVersion",
        "discovery.k8s.io/v1", "kind", "EndpointSlice", "metadata", "generateName", gn, "namespace",
        k8s_obj_namespace(ep), "labels", labels, "ownerReferences", "apiVersion", "v1", "kind",
        "Endpoints", "name", name, "uid", k8s_obj_uid(ep), "controller", 1, "blockOwnerDeletion", 1,
        "addressType", json_object_get(g, "addressType"), "ports", json_object_get(g, "ports"),
        "endpoints", json_object_get(g, "endpoints"));
    if (json_is_object(ann) && json_object_size(ann))
        json_object_set(json_object_get(o, "metadata"), "annotations", ann);
    json_decref(ann);
    free(gn);
    return o;
}

/* The existing slice rewritten to the desired one (name, uid, resourceVersion kept). */
static json_t *rewrite(const json_t *have, json_t *want)
{
    json_t *md = json_object_get(want, "metadata");
    json_object_del(md, "generateName");
    json_object_set(md, "name", k8s_jpath(have, "metadata.name"));
    json_object_set(md, "resourceVersion", k8s_jpath(have, "metadata.resourceVersion"));
    return want;
}

static bool same_slice(const json_t *have, const json_t *want)
{
    static const char *const f[] = {"addressType", "ports", "endpoints"};
    for (size_t i = 0; i < 3; i++)
        if (!cm_json_semantic_equal(json_object_get(have, f[i]), json_object_get(want, f[i])))
            return false;
    return cm_json_semantic_equal(k8s_jpath(have, "metadata.labels"),
                                  k8s_jpath(want, "metadata.labels")) &&
           cm_json_semantic_equal(k8s_jpath(have, "metadata.annotations"),
                                  k8s_jpath(want, "metadata.annotations"));
}

static int delete_slice(struct mirror *m, const json_t *s)
{
    char *p = ck_asprintf("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/%s",
                          k8s_obj_namespace(s), k8s_obj_name(s));
    struct ck_err err = CK_ERR_INIT;
    int rc = ck_client_delete(m->cm->client, p, &err);
    free(p);
    return rc < 0 && err.reason != CK_R_NOT_FOUND ? -1 : 0;
}

static int delete_all(struct mirror *m, json_t *have)
{
    int rc = 0;
    size_t i;
    json_t *s;
    json_array_foreach(have, i, s)
    {
        if (delete_slice(m, s) < 0)
            rc = -1;
    }
    return rc;
}

static int reconcile(struct mirror *m, const char *key, const json_t *ep, json_t *have)
{
    int invalid = 0, over = 0, rc = 0;
    json_t *groups = desired(ep, &invalid, &over);
    if (invalid)
        ck_warn("endpointslicemirroring: skipped %d invalid IP addresses of Endpoints %s", invalid,
                key);
    if (over)
        ck_warn("endpointslicemirroring: a max of %d addresses can be mirrored to "
                "EndpointSlices per Endpoints subset; %d addresses of %s were skipped",
                MAX_PER_SUBSET, over, key);
    size_t nhave = json_array_size(have), np = json_array_size(groups);
    bool *used = ck_calloc(nhave + 1, sizeof(*used));
    json_t **pick = ck_calloc(np + 1, sizeof(*pick));
    /* each group keeps an existing slice with its ports and type; the rest are recycled */
    for (int pass = 0; pass < 2; pass++)
        for (size_t g = 0; g < np; g++)
            for (size_t h = 0; h < nhave && !pick[g]; h++) {
                json_t *cand = json_array_get(have, h), *grp = json_array_get(groups, g);
                if (!used[h] && (pass == 1 || (json_equal(json_object_get(cand, "ports"),
                                                          json_object_get(grp, "ports")) &&
                                               !strcmp(k8s_jpath_str(cand, "addressType"),
                                                       k8s_jpath_str(grp, "addressType"))))) {
                    used[h] = true;
                    pick[g] = cand;
                }
            }
    int creates = 0;
    for (size_t g = 0; g < np; g++)
        creates += !pick[g];
    if (creates && !k8s_obj_deleting(ep))
        cm_expect_creations(m->exp, key, creates, ck_mono_ns());
    char *coll = ck_asprintf("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices",
                             k8s_obj_namespace(ep));
    for (size_t g = 0; g < np; g++) {
        json_t *want = new_slice(ep, json_array_get(groups, g));
        struct ck_err err = CK_ERR_INIT;
        if (pick[g] && !same_slice(pick[g], want)) {
            char *p = ck_asprintf("%s/%s", coll, k8s_obj_name(pick[g]));
            if (ck_client_update_json(m->cm->client, p, rewrite(pick[g], want), NULL, &err) < 0)
                rc = -1;
            free(p);
        } else if (!pick[g] && !k8s_obj_deleting(ep)) {
            if (ck_client_create_json(m->cm->client, coll, want, NULL, &err) < 0) {
                cm_expect_creation_observed(m->exp, key); /* never to be seen */
                if (err.reason != CK_R_NOT_FOUND && err.reason != CK_R_FORBIDDEN)
                    rc = -1; /* a namespace going away drops the item */
            }
        }
        if (err.reason)
            ck_v(2, "endpointslicemirroring %s: %s", key, err.msg);
        json_decref(want);
    }
    free(coll);
    for (size_t h = 0; h < nhave; h++)
        if (!used[h] && delete_slice(m, json_array_get(have, h)) < 0)
            rc = -1;
    free(pick);
    free(used);
    json_decref(groups);
    return rc;
}

static int sync_endpoints(void *arg, const char *key)
{
    struct mirror *m = arg;
    const char *slash = strchr(key, '/');
    if (!slash)
        return 0;
    if (!cm_expect_satisfied(m->exp, key, ck_mono_ns()))
        return 0; /* slice_added brings it back */
    char *ns = ck_strndup(key, (size_t)(slash - key));
    json_t *ep = cm_get(m->eps, ns, slash + 1);
    json_t *svc = ep ? cm_get(m->svcs, ns, slash + 1) : NULL;
    json_t *have = ck_indexer_by_index(ck_informer_indexer(m->slices), "mirrored", key);
    const json_t *selector = k8s_jpath(svc, "spec.selector");
    int rc;
    if (!ep || !should_mirror(ep) || !svc ||
        (json_is_object(selector) && json_object_size(selector)))
        rc = delete_all(m, have); /* not (or no longer) mirrored */
    else
        rc = reconcile(m, key, ep, have);
    json_decref(have);
    json_decref(svc);
    json_decref(ep);
    free(ns);
    return rc;
}

/* ---- handlers ----------------------------------------------------------------------- */

static void ep_added(void *arg, json_t *obj)
{
    struct mirror *m = arg;
    if (should_mirror(obj))
        cm_enqueue_obj(m->q, obj);
}

static void ep_updated(void *arg, json_t *old, json_t *obj)
{
    struct mirror *m = arg;
    if (should_mirror(obj) || should_mirror(old))
        cm_enqueue_obj(m->q, obj);
}

static void ep_deleted(void *arg, json_t *obj)
{
    struct mirror *m = arg;
    char *k = ck_meta_namespace_key(obj);
    if (k)
        cm_expect_delete(m->exp, k);
    free(k);
    cm_enqueue_obj(m->q, obj);
}

static bool no_selector(const json_t *svc)
{
    const json_t *s = k8s_jpath(svc, "spec.selector");
    return !json_is_object(s) || !json_object_size(s);
}

static void svc_added(void *arg, json_t *obj)
{
    struct mirror *m = arg;
    if (no_selector(obj))
        cm_enqueue_obj(m->q, obj);
}

static void svc_updated(void *arg, json_t *old, json_t *obj)
{
    struct mirror *m = arg;
    if (no_selector(obj) != no_selector(old))
        cm_enqueue_obj(m->q, obj);
}

static void slice_added(void *arg, json_t *obj)
{
    struct mirror *m = arg;
    char *k = slice_key(obj);
    if (!k)
        return;
    cm_expect_creation_observed(m->exp, k);
    wq_add(m->q, k);
    free(k);
}

static void slice_updated(void *arg, json_t *old, json_t *obj)
{
    struct mirror *m = arg;
    char *k = slice_key(obj), *ko = slice_key(old);
    if (k)
        wq_add(m->q, k);
    if (ko && (!k || strcmp(k, ko)))
        wq_add(m->q, ko); /* relabelled away from its Endpoints */
    free(k);
    free(ko);
}

static void slice_deleted(void *arg, json_t *obj)
{
    struct mirror *m = arg;
    char *k = slice_key(obj);
    if (k)
        wq_add(m->q, k);
    free(k);
}

static int mirror_init(struct cm *cm, void **state)
{
    struct mirror *m = ck_calloc(1, sizeof(*m));
    m->cm = cm;
    m->eps = ck_informer_factory_get(cm->factory, "/api/v1/endpoints");
    m->svcs = ck_informer_factory_get(cm->factory, "/api/v1/services");
    m->slices = ck_informer_factory_get(cm->factory, SLICES_PATH);
    m->q = wq_new(&(struct wq_opts){.name = "endpoint_slice_mirroring"});
    m->exp = cm_expect_new();
    ck_indexer_add_index(ck_informer_indexer(m->slices), "mirrored", index_mirrored);
    ck_informer_add_handlers(m->eps,
                             &(struct ck_informer_handlers){ep_added, ep_updated, ep_deleted, m});
    ck_informer_add_handlers(m->svcs,
                             &(struct ck_informer_handlers){svc_added, svc_updated, svc_added, m});
    ck_informer_add_handlers(
        m->slices, &(struct ck_informer_handlers){slice_added, slice_updated, slice_deleted, m});
    *state = m;
    return 0;
}

static void mirror_run(void *state)
{
    struct mirror *m = state;
    m->w = (struct cm_workers){.q = m->q, .sync = sync_endpoints, .arg = m, .ctrl = &cm_epsmirror};
    cm_workers_start(&m->w, m->cm->workers);
}

static void mirror_stop(void *state)
{
    struct mirror *m = state;
    wq_shutdown(m->q);
    cm_workers_join(&m->w);
}

static void mirror_free(void *state)
{
    struct mirror *m = state;
    wq_free(m->q);
    cm_expect_free(m->exp);
    free(m);
}

struct cm_controller cm_epsmirror = {.name = "endpointslicemirroring",
                                     .alias = "endpointslice-mirroring-controller",
                                     .init = mirror_init,
                                     .run = mirror_run,
                                     .stop = mirror_stop,
                                     .free = mirror_free};
