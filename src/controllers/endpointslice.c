/* SPDX-License-Identifier: Apache-2.0 */
/* The EndpointSlice controller (pkg/controller/endpointslice, staging endpointslice
 * reconciler): for every Service with a selector, discovery.k8s.io/v1 EndpointSlices of
 * addressType IPv4 labelled kubernetes.io/service-name and endpointslice.kubernetes.io/
 * managed-by=endpointslice-controller.k8s.io, owned by the Service. Each selected pod with an
 * IP is one endpoint with conditions ready (serving and not terminating), serving (Ready, or
 * publishNotReadyAddresses) and terminating (being deleted; such pods stay listed), nodeName,
 * zone (the node's topology.kubernetes.io/zone), a Pod targetRef and the hostname rule of
 * Endpoints. Pods are grouped by their resolved port set; each group fills slices of at most
 * 100 endpoints (maxEndpointsPerSlice). Existing slices with the same ports are reused in
 * place and written only when they differ; new ones are created with generateName
 * "<service>-"; unused ones are deleted. A Service with no endpoints keeps one empty
 * placeholder slice, as upstream. */
#include "ckube/indexer.h"
#include "controllers/cm.h"
#include "controllers/eputil.h"
#include "controllers/expect.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/log.h"
#include "lib/selector.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define MAX_PER_SLICE 100
#define LABEL_SVC "kubernetes.io/service-name"
#define LABEL_MANAGED "endpointslice.kubernetes.io/managed-by"
#define MANAGER "endpointslice-controller.k8s.io"
#define SLICES_PATH "/apis/discovery.k8s.io/v1/endpointslices"

struct esc {
    struct ep_base b; /* first: the shared handlers get this state */
    struct ck_informer *slices, *nodes;
    struct cm_workers w;
    struct cm_expect *exp; /* slices created and not yet seen, per service key */
};

/* "ns/service" of a slice we manage. */
static char *slice_service_key(const json_t *obj);

static void index_service(const json_t *obj, ck_index_emit_fn emit, void *ctx)
{
    char *k = slice_service_key(obj);
    if (k)
        emit(ctx, k);
    free(k);
}

static int cmp_port(const void *pa, const void *pb)
{
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    int c = strcmp(k8s_jpath_str(a, "name"), k8s_jpath_str(b, "name"));
    if (c)
        return c;
    return (int)(json_integer_value(json_object_get(a, "port")) -
                 json_integer_value(json_object_get(b, "port")));
}

static int cmp_endpoint(const void *pa, const void *pb)
{
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    return strcmp(json_string_value(json_array_get(json_object_get(a, "addresses"), 0)),
                  json_string_value(json_array_get(json_object_get(b, "addresses"), 0)));
}

/* The slice ports for pod (sorted new array; names "" for unnamed service ports, as
 * upstream); NULL when the Service has ports and none resolves. */
static json_t *slice_ports(const json_t *pod, const json_t *svc)
{
    json_t *out = json_array();
    size_t i;
    json_t *sp;
    const json_t *sps = k8s_jpath(svc, "spec.ports");
    json_array_foreach(sps, i, sp)
    {
        int port = ep_find_port(pod, sp);
        if (port < 0)
            continue;
        const char *proto = k8s_jpath_str(sp, "protocol");
        json_t *p = json_pack("{s:s,s:i,s:s}", "name", k8s_jpath_str(sp, "name"), "port", port,
                              "protocol", *proto ? proto : "TCP");
        const char *ap = k8s_jpath_str(sp, "appProtocol");
        if (*ap)
            json_object_set_new(p, "appProtocol", json_string(ap));
        json_array_append_new(out, p);
    }
    if (json_array_size(sps) && !json_array_size(out)) {
        json_decref(out);
        return NULL;
    }
    ep_sort_array(out, cmp_port);
    return out;
}

static json_t *endpoint_of(struct esc *c, const json_t *pod, const json_t *svc)
{
    bool serving =
        json_is_true(k8s_jpath(svc, "spec.publishNotReadyAddresses")) || k8s_pod_is_ready(pod);
    bool terminating = k8s_obj_deleting(pod);
    json_t *e =
        json_pack("{s:[s],s:{s:b,s:b,s:b},s:{s:s,s:s,s:s,s:s}}", "addresses", ep_pod_ipv4(pod),
                  "conditions", "ready", serving && !terminating, "serving", serving, "terminating",
                  terminating, "targetRef", "kind", "Pod", "namespace", k8s_obj_namespace(pod),
                  "name", k8s_obj_name(pod), "uid", k8s_obj_uid(pod));
    const char *node = k8s_pod_node_name(pod);
    if (*node) {
        json_object_set_new(e, "nodeName", json_string(node));
        json_t *n = ck_indexer_get(ck_informer_indexer(c->nodes), node);
        const char *zone = n ? k8s_obj_label(n, "topology.kubernetes.io/zone") : NULL;
        if (zone)
            json_object_set_new(e, "zone", json_string(zone));
        json_decref(n);
    }
    const char *h = ep_hostname(pod, svc);
    if (h)
        json_object_set_new(e, "hostname", json_string(h));
    return e;
}

/* Desired groups: [{ports, endpoints}], endpoints sorted by address (new array). */
static json_t *desired_groups(struct esc *c, const json_t *svc, const struct sel *s)
{
    json_t *pods = ck_indexer_by_index(ck_informer_indexer(c->b.cm->pods), "namespace",
                                       k8s_obj_namespace(svc));
    json_t *groups = json_array();
    size_t i, j;
    json_t *pod, *g;
    json_array_foreach(pods, i, pod)
    {
        if (!sel_matches(s, sel_lookup_json, k8s_jpath(pod, "metadata.labels")) ||
            !ep_pod_eligible(pod, true))
            continue;
        json_t *ports = slice_ports(pod, svc);
        if (!ports)
            continue;
        json_t *grp = NULL;
        json_array_foreach(groups, j, g)
        {
            if (json_equal(json_object_get(g, "ports"), ports))
                grp = g;
        }
        if (!grp) {
            grp = json_pack("{s:O,s:[]}", "ports", ports, "endpoints");
            json_array_append_new(groups, grp);
        }
        json_array_append_new(json_object_get(grp, "endpoints"), endpoint_of(c, pod, svc));
        json_decref(ports);
    }
    json_decref(pods);
    json_array_foreach(groups, i, g)
    {
        ep_sort_array(json_object_get(g, "endpoints"), cmp_endpoint);
    }
    return groups;
}

static json_t *new_slice(const json_t *svc)
{
    json_t *o = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s,s:s},s:[{s:s,s:s,s:s,s:s,s:b,s:b}]},s:s}",
                          "apiVersion", "discovery.k8s.io/v1", "kind", "EndpointSlice", "metadata",
                          "generateName", k8s_obj_name(svc), "namespace", k8s_obj_namespace(svc),
                          "labels", LABEL_SVC, k8s_obj_name(svc), LABEL_MANAGED, MANAGER,
                          "ownerReferences", "apiVersion", "v1", "kind", "Service", "name",
                          k8s_obj_name(svc), "uid", k8s_obj_uid(svc), "controller", 1,
                          "blockOwnerDeletion", 1, "addressType", "IPv4");
    /* generateName is "<service>-" */
    char *gn = ck_asprintf("%s-", k8s_obj_name(svc));
    json_object_set_new(json_object_get(o, "metadata"), "generateName", json_string(gn));
    free(gn);
    return o;
}

/* Writes slice (an existing one changed in place, or a new one); 0 or -1. */
static int put_slice(struct esc *c, const json_t *svc, const char *key, json_t *slice,
                     bool existing)
{
    struct ck_err err = CK_ERR_INIT;
    const char *ns = k8s_obj_namespace(svc);
    int rc;
    if (existing) {
        char *p = ck_asprintf("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/%s", ns,
                              k8s_obj_name(slice));
        rc = ck_client_update_json(c->b.cm->client, p, slice, NULL, &err);
        free(p);
    } else {
        char *p = ck_asprintf("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices", ns);
        rc = ck_client_create_json(c->b.cm->client, p, slice, NULL, &err);
        free(p);
        if (rc < 0) /* never to be seen: do not wait for it */
            cm_expect_creation_observed(c->exp, key);
    }
    if (rc < 0 && err.reason == CK_R_NOT_FOUND && !existing)
        rc = 0; /* the namespace is going away */
    if (rc < 0)
        ck_v(2, "endpointslices of %s: %s", key, err.msg);
    return rc;
}

/* One slice to write: an existing one (a copy) or a new one, with its content. */
struct plan {
    json_t *slice, *ports, *eps;
    bool existing;
};

static bool unchanged(const struct plan *p, const json_t *svc)
{
    return p->existing && json_equal(json_object_get(p->slice, "ports"), p->ports) &&
           json_equal(json_object_get(p->slice, "endpoints"), p->eps) &&
           !strcmp(k8s_jpath_str(p->slice, "metadata.labels." LABEL_SVC), k8s_obj_name(svc));
}

/* The slices groups need: existing ones with the same ports first, then any unused one of
 * ours, then new ones (*nplan entries, caller frees). used[h] marks the existing ones kept. */
static struct plan *plan_slices(const json_t *svc, json_t *groups, json_t *have, bool *used,
                                size_t *nplan)
{
    size_t nhave = json_array_size(have), cap = 8, np = 0;
    struct plan *pl = ck_calloc(cap, sizeof(*pl));
    if (!json_array_size(groups)) /* the placeholder: no ports, no endpoints */
        json_array_append_new(groups, json_pack("{s:[],s:[]}", "ports", "endpoints"));
    size_t gi;
    json_t *g;
    json_array_foreach(groups, gi, g)
    {
        json_t *ports = json_object_get(g, "ports"), *eps = json_object_get(g, "endpoints");
        size_t n = json_array_size(eps), off = 0;
        do {
            size_t take = n - off > MAX_PER_SLICE ? MAX_PER_SLICE : n - off;
            json_t *chunk = json_array();
            for (size_t k = 0; k < take; k++)
                json_array_append(chunk, json_array_get(eps, off + k));
            off += take;
            json_t *slice = NULL;
            for (int pass = 0; pass < 2 && !slice; pass++)
                for (size_t h = 0; h < nhave && !slice; h++) {
                    const json_t *cand = json_array_get(have, h);
                    if (!used[h] &&
                        (pass == 1 || json_equal(json_object_get(cand, "ports"), ports))) {
                        used[h] = true;
                        slice = json_deep_copy(cand);
                    }
                }
            if (np == cap)
                pl = ck_realloc(pl, (cap *= 2) * sizeof(*pl));
            pl[np++] = (struct plan){.slice = slice ? slice : new_slice(svc),
                                     .ports = json_incref(ports),
                                     .eps = chunk,
                                     .existing = slice != NULL};
        } while (off < n);
    }
    *nplan = np;
    return pl;
}

static int reconcile(struct esc *c, const json_t *svc, const char *key, json_t *groups,
                     json_t *have)
{
    int rc = 0;
    size_t nhave = json_array_size(have), np;
    bool *used = ck_calloc(nhave + 1, sizeof(*used));
    struct plan *pl = plan_slices(svc, groups, have, used, &np);
    int creates = 0;
    for (size_t i = 0; i < np; i++)
        creates += !pl[i].existing;
    /* our informer must see these before the next sync, or it would create them again */
    if (creates)
        cm_expect_creations(c->exp, key, creates, ck_mono_ns());
    for (size_t i = 0; i < np; i++) {
        if (!unchanged(&pl[i], svc)) {
            json_object_set(pl[i].slice, "ports", pl[i].ports);
            json_object_set(pl[i].slice, "endpoints", pl[i].eps);
            if (put_slice(c, svc, key, pl[i].slice, pl[i].existing) < 0)
                rc = -1;
        }
        json_decref(pl[i].slice);
        json_decref(pl[i].ports);
        json_decref(pl[i].eps);
    }
    free(pl);
    for (size_t h = 0; h < nhave; h++) {
        if (used[h])
            continue;
        json_t *s = json_array_get(have, h);
        char *p = ck_asprintf("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/%s",
                              k8s_obj_namespace(s), k8s_obj_name(s));
        struct ck_err err = CK_ERR_INIT;
        if (ck_client_delete(c->b.cm->client, p, &err) < 0 && err.reason != CK_R_NOT_FOUND)
            rc = -1;
        free(p);
    }
    free(used);
    return rc;
}

static int sync_svc(void *arg, const char *key)
{
    struct esc *c = arg;
    const char *slash = strchr(key, '/');
    if (!slash)
        return 0;
    char *ns = ck_strndup(key, (size_t)(slash - key));
    json_t *svc = cm_get(c->b.svcs, ns, slash + 1);
    struct sel *s = NULL;
    int rc = 0;
    if (!cm_expect_satisfied(c->exp, key, ck_mono_ns())) { /* slice_added brings it back */
        json_decref(svc);
        free(ns);
        return 0;
    }
    /* a deleted Service's slices go with it through their ownerReference (the GC) */
    if (svc && ep_service_selector(svc, &s)) {
        json_t *have = ck_indexer_by_index(ck_informer_indexer(c->slices), "service", key);
        /* drop slices of an older Service object of the same name (the GC removes them) */
        json_t *mine = json_array();
        size_t i;
        json_t *sl;
        json_array_foreach(have, i, sl)
        {
            const json_t *ref = k8s_obj_controller_of(sl);
            if (!ref || !strcmp(k8s_jpath_str(ref, "uid"), k8s_obj_uid(svc)))
                json_array_append(mine, sl);
        }
        json_t *groups = desired_groups(c, svc, s);
        rc = reconcile(c, svc, key, groups, mine);
        json_decref(groups);
        json_decref(mine);
        json_decref(have);
    }
    sel_free(s);
    json_decref(svc);
    free(ns);
    return rc;
}

/* The key of the Service a slice of ours belongs to (malloc'd), or NULL for other slices. */
static char *slice_service_key(const json_t *obj)
{
    const char *svc = k8s_obj_label(obj, LABEL_SVC);
    const char *by = k8s_obj_label(obj, LABEL_MANAGED);
    if (!svc || !by || strcmp(by, MANAGER))
        return NULL;
    return ck_asprintf("%s/%s", k8s_obj_namespace(obj), svc);
}

/* A slice of ours changed or went away behind our back: look at its Service again. */
static void slice_changed(void *arg, json_t *obj)
{
    struct esc *c = arg;
    char *k = slice_service_key(obj);
    if (k)
        wq_add(c->b.q, k);
    free(k);
}

static void slice_updated(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    slice_changed(arg, obj);
}

/* Most often our own creation: an expectation met. */
static void slice_added(void *arg, json_t *obj)
{
    struct esc *c = arg;
    char *k = slice_service_key(obj);
    if (!k)
        return;
    cm_expect_creation_observed(c->exp, k);
    wq_add(c->b.q, k);
    free(k);
}

static int es_init(struct cm *cm, void **state)
{
    struct esc *c = ck_calloc(1, sizeof(*c));
    ep_base_init(&c->b, cm, "endpoint_slice");
    c->slices = ck_informer_factory_get(cm->factory, SLICES_PATH);
    c->nodes = ck_informer_factory_get(cm->factory, "/api/v1/nodes");
    c->exp = cm_expect_new();
    ck_indexer_add_index(ck_informer_indexer(c->slices), "service", index_service);
    ck_informer_add_handlers(
        c->slices, &(struct ck_informer_handlers){slice_added, slice_updated, slice_changed, c});
    *state = c;
    return 0;
}

static void es_run(void *state)
{
    struct esc *c = state;
    c->w = (struct cm_workers){.q = c->b.q, .sync = sync_svc, .arg = c, .ctrl = &cm_endpointslice};
    cm_workers_start(&c->w, c->b.cm->workers);
}

static void es_stop(void *state)
{
    struct esc *c = state;
    wq_shutdown(c->b.q);
    cm_workers_join(&c->w);
}

static void es_free(void *state)
{
    struct esc *c = state;
    wq_free(c->b.q);
    cm_expect_free(c->exp);
    free(c);
}

struct cm_controller cm_endpointslice = {.name = "endpointslice",
                                         .alias = "endpointslice-controller",
                                         .init = es_init,
                                         .run = es_run,
                                         .stop = es_stop,
                                         .free = es_free};
