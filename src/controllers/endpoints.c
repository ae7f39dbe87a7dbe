/* SPDX-License-Identifier: Apache-2.0 */
/* The Endpoints controller (pkg/controller/endpoint/endpoints_controller.go): for every Service
 * with a selector, an Endpoints object of the same name listing the selected pods that have
 * an IP: Ready pods (or all, with publishNotReadyAddresses) under addresses, the others under
 * notReadyAddresses, each with nodeName, a Pod targetRef and the hostname when the pod's
 * subdomain names the Service; ports resolved per pod (named targetPorts); pods grouped into
 * subsets by identical port sets (RepackSubsets). A headless Service without ports lists its
 * pods with no ports. Labels: the Service's, plus service.kubernetes.io/headless for a
 * headless one. Written only when it changed; deleted with the Service. Services without a
 * selector keep their hand-made Endpoints. */
#include "ckube/indexer.h"
#include "controllers/cm.h"
#include "controllers/eputil.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/log.h"
#include "lib/selector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define HEADLESS_LABEL "service.kubernetes.io/headless"

struct epc {
    struct ep_base b; /* first: the shared handlers get this state */
    struct ck_informer *eps;
    struct cm_workers w;
};

/* The subset whose ports equal ports (creating it). */
static json_t *subset_for(json_t *subsets, json_t *ports)
{
    size_t i;
    json_t *s;
    json_array_foreach(subsets, i, s)
    {
        if (json_equal(json_object_get(s, "ports"), ports))
            return s;
    }
    s = json_pack("{s:[],s:[],s:O}", "addresses", "notReadyAddresses", "ports", ports);
    json_array_append_new(subsets, s);
    return s;
}

static int cmp_str_member(const json_t *a, const json_t *b, const char *key)
{
    return strcmp(k8s_jpath_str(a, key), k8s_jpath_str(b, key));
}

static int cmp_addr(const void *a, const void *b)
{
    return cmp_str_member(*(json_t *const *)a, *(json_t *const *)b, "ip");
}

static int cmp_port(const void *pa, const void *pb)
{
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    int c = cmp_str_member(a, b, "name");
    if (c)
        return c;
    return (int)(json_integer_value(json_object_get(a, "port")) -
                 json_integer_value(json_object_get(b, "port")));
}

static int cmp_subset(const void *a, const void *b)
{
    char *x = json_dumps(json_object_get(*(json_t *const *)a, "ports"), JSON_COMPACT);
    char *y = json_dumps(json_object_get(*(json_t *const *)b, "ports"), JSON_COMPACT);
    int c = strcmp(x ? x : "", y ? y : "");
    free(x);
    free(y);
    return c;
}

/* The pod's ports for the service, sorted (new array); an empty array for a headless service
 * without ports; NULL when the service has ports but none resolves on this pod. */
static json_t *pod_ports(const json_t *pod, const json_t *svc)
{
    const json_t *sps = k8s_jpath(svc, "spec.ports");
    json_t *out = json_array();
    size_t i;
    json_t *sp;
    json_array_foreach(sps, i, sp)
    {
        int port = ep_find_port(pod, sp);
        if (port < 0)
            continue;
        json_t *p =
            json_pack("{s:i,s:s}", "port", port, "protocol",
                      *k8s_jpath_str(sp, "protocol") ? k8s_jpath_str(sp, "protocol") : "TCP");
        const char *name = k8s_jpath_str(sp, "name");
        if (*name)
            json_object_set_new(p, "name", json_string(name));
        const char *ap = k8s_jpath_str(sp, "appProtocol");
        if (*ap)
            json_object_set_new(p, "appProtocol", json_string(ap));
        json_array_append_new(out, p);
    }
    if (json_array_size(sps) && !json_array_size(out)) {
        json_decref(out);
        return NULL;
    }
    if (!json_array_size(sps) && strcmp(k8s_jpath_str(svc, "spec.clusterIP"), "None")) {
        json_decref(out); /* a ClusterIP service without ports has no endpoints */
        return NULL;
    }
    ep_sort_array(out, cmp_port);
    return out;
}

static json_t *address_of(const json_t *pod, const json_t *svc)
{
    json_t *a = json_pack("{s:s,s:{s:s,s:s,s:s,s:s}}", "ip", ep_pod_ipv4(pod), "targetRef", "kind",
                          "Pod", "namespace", k8s_obj_namespace(pod), "name", k8s_obj_name(pod),
                          "uid", k8s_obj_uid(pod));
    const char *node = k8s_pod_node_name(pod);
    if (*node)
        json_object_set_new(a, "nodeName", json_string(node));
    const char *h = ep_hostname(pod, svc);
    if (h)
        json_object_set_new(a, "hostname", json_string(h));
    return a;
}

/* The desired subsets (new array). */
static json_t *desired_subsets(struct epc *c, const json_t *svc, const struct sel *s)
{
    bool pub = json_is_true(k8s_jpath(svc, "spec.publishNotReadyAddresses"));
    json_t *pods = ck_indexer_by_index(ck_informer_indexer(c->b.cm->pods), "namespace",
                                       k8s_obj_namespace(svc));
    json_t *subsets = json_array();
    size_t i;
    json_t *pod;
    json_array_foreach(pods, i, pod)
    {
        if (!sel_matches(s, sel_lookup_json, k8s_jpath(pod, "metadata.labels")) ||
            !ep_pod_eligible(pod, pub))
            continue;
        json_t *ports = pod_ports(pod, svc);
        if (!ports)
            continue;
        json_t *sub = subset_for(subsets, ports);
        json_array_append_new(
            json_object_get(sub, pub || k8s_pod_is_ready(pod) ? "addresses" : "notReadyAddresses"),
            address_of(pod, svc));
        json_decref(ports);
    }
    json_decref(pods);
    json_array_foreach(subsets, i, pod)
    {
        const char *keys[] = {"addresses", "notReadyAddresses", "ports"};
        for (size_t k = 0; k < 3; k++) {
            json_t *arr = json_object_get(pod, keys[k]);
            if (!json_array_size(arr))
                json_object_del(pod, keys[k]);
            else if (k < 2)
                ep_sort_array(arr, cmp_addr);
        }
    }
    ep_sort_array(subsets, cmp_subset);
    return subsets;
}

static json_t *desired_labels(const json_t *svc)
{
    json_t *l = json_deep_copy(k8s_jpath(svc, "metadata.labels"));
    if (!json_is_object(l)) {
        json_decref(l);
        l = json_object();
    }
    json_object_del(l, HEADLESS_LABEL);
    if (!strcmp(k8s_jpath_str(svc, "spec.clusterIP"), "None"))
        json_object_set_new(l, HEADLESS_LABEL, json_string(""));
    return l;
}

static int sync_svc(void *arg, const char *key)
{
    struct epc *c = arg;
    const char *slash = strchr(key, '/');
    if (!slash)
        return 0;
    char *ns = ck_strndup(key, (size_t)(slash - key));
    const char *name = slash + 1;
    char *path = ck_asprintf("/api/v1/namespaces/%s/endpoints/%s", ns, name);
    json_t *svc = cm_get(c->b.svcs, ns, name);
    struct ck_err err = CK_ERR_INIT;
    int rc = 0;
    struct sel *s = NULL;
    if (!svc) { /* the Service is gone: so are its Endpoints */
        json_t *cur = cm_get(c->eps, ns, name);
        if (cur && ck_client_delete(c->b.cm->client, path, &err) < 0 &&
            err.reason != CK_R_NOT_FOUND)
            rc = -1;
        json_decref(cur);
        goto out;
    }
    if (!ep_service_selector(svc, &s))
        goto out;
    json_t *subsets = desired_subsets(c, svc, s);
    json_t *labels = desired_labels(svc);
    json_t *cur = cm_get(c->eps, ns, name);
    json_t *cur_subsets = cur ? json_object_get(cur, "subsets") : NULL;
    bool same_subsets = json_equal(subsets, cur_subsets) ||
                        (!json_array_size(subsets) && !json_array_size(cur_subsets));
    json_t *cur_labels = cur ? k8s_jpath(cur, "metadata.labels") : NULL;
    bool same_labels = json_equal(labels, cur_labels) ||
                       (!json_object_size(labels) && !json_object_size(cur_labels));
    if (cur && same_subsets && same_labels) {
        json_decref(cur);
        json_decref(labels);
        json_decref(subsets);
        goto out;
    }
    json_t *ep = cur ? json_deep_copy(cur)
                     : json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1", "kind", "Endpoints",
                                 "metadata", "name", name, "namespace", ns);
    json_object_set_new(json_object_get(ep, "metadata"), "labels", labels);
    json_object_set_new(ep, "subsets", subsets);
    if (cur) {
        rc = ck_client_update_json(c->b.cm->client, path, ep, NULL, &err);
    } else {
        char *coll = ck_asprintf("/api/v1/namespaces/%s/endpoints", ns);
        rc = ck_client_create_json(c->b.cm->client, coll, ep, NULL, &err);
        if (rc < 0 && err.reason == CK_R_ALREADY_EXISTS) /* our informer lags: next sync */
            rc = -1;
        free(coll);
    }
    if (rc < 0 && err.reason == CK_R_NOT_FOUND) /* the namespace is going away */
        rc = 0;
    if (rc < 0)
        ck_v(2, "endpoints %s: %s", key, err.msg);
    json_decref(ep);
    json_decref(cur);
out:
    sel_free(s);
    json_decref(svc);
    free(path);
    free(ns);
    return rc;
}

static int ep_init(struct cm *cm, void **state)
{
    struct epc *c = ck_calloc(1, sizeof(*c));
    ep_base_init(&c->b, cm, "endpoint");
    c->eps = ck_informer_factory_get(cm->factory, "/api/v1/endpoints");
    *state = c;
    return 0;
}

static void ep_run(void *state)
{
    struct epc *c = state;
    c->w = (struct cm_workers){.q = c->b.q, .sync = sync_svc, .arg = c, .ctrl = &cm_endpoints};
    cm_workers_start(&c->w, c->b.cm->workers);
}

static void ep_stop(void *state)
{
    struct epc *c = state;
    wq_shutdown(c->b.q);
    cm_workers_join(&c->w);
}

static void ep_free(void *state)
{
    struct epc *c = state;
    wq_free(c->b.q);
    free(c);
}

struct cm_controller cm_endpoints = {.name = "endpoint",
                                     .alias = "endpoints-controller",
                                     .init = ep_init,
                                     .run = ep_run,
                                     .stop = ep_stop,
                                     .free = ep_free};
