/* SPDX-License-Identifier: Apache-2.0 */
/* The node IPAM controller (pkg/controller/nodeipam, the RangeAllocator), IPv4 single stack:
 * with --allocate-node-cidrs, every Node without spec.podCIDRs gets the next free subnet of
 * --cluster-cidr (mask --node-cidr-mask-size, 24) in spec.podCIDR/podCIDRs. An assigned CIDR
 * is never changed; the map of used subnets is rebuilt from the Nodes when the controller
 * starts; a deleted Node's subnet is released; when none is left the Node gets upstream's
 * "CIDRNotAvailable" event. One worker: allocations are serialised. */
#include "controllers/cidrset.h"
#include "controllers/cm.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

#define SEC 1000000000LL
#define FULL_RETRY_NS (30 * SEC)

struct ipam {
    struct cm *cm;
    struct ck_informer *nodes;
    struct wq *q; /* node names */
    struct cm_workers w;
    pthread_mutex_t mu; /* set, ready */
    struct cidr_set set;
    bool ready; /* run() rebuilt the map: handlers may act */
};

/* Occupies (true) or releases (false) the node's podCIDRs (podCIDR when the list is empty);
 * c->mu held. */
static void mark_node(struct ipam *c, const json_t *node, bool occupy)
{
    const json_t *list = k8s_jpath(node, "spec.podCIDRs");
    size_t n = k8s_jlen(list);
    for (size_t i = 0; i < (n ? n : 1); i++) {
        const char *cidr =
            n ? json_string_value(json_array_get(list, i)) : k8s_jpath_str(node, "spec.podCIDR");
        if (!cidr || !*cidr || !strchr(cidr, '.'))
            continue; /* IPv6 entries: single stack IPv4 here */
        struct ck_err err = CK_ERR_INIT;
        int rc =
            occupy ? cidr_set_occupy(&c->set, cidr, &err) : cidr_set_release(&c->set, cidr, &err);
        if (rc < 0)
            ck_warn("nodeipam: node %s: %s", k8s_obj_name(node), err.msg);
        ck_err_clear(&err);
    }
}

static bool has_cidr(const json_t *node)
{
    return k8s_jlen(k8s_jpath(node, "spec.podCIDRs")) > 0 || *k8s_jpath_str(node, "spec.podCIDR");
}

/* nodeutil.RecordNodeStatusChange: a Normal event on the Node from "cidrAllocator". */
static void node_event(struct ipam *c, const json_t *node, const char *status)
{
    char msg[512], now[21], name[320];
    int64_t real = ck_real_ns();
    ck_time_rfc3339((time_t)(real / SEC), now);
    snprintf(msg, sizeof(msg), "Node %s status is now: %s", k8s_obj_name(node), status);
    snprintf(name, sizeof(name), "%.200s.%llx", k8s_obj_name(node), (unsigned long long)real);
    json_t *ev =
        json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:s,s:s},s:s,s:s,s:{s:s},s:s,s:s,s:i,s:s,s:s}",
                  "apiVersion", "v1", "kind", "Event", "metadata", "name", name, "namespace",
                  "default", "involvedObject", "apiVersion", "v1", "kind", "Node", "name",
                  k8s_obj_name(node), "uid", k8s_obj_name(node), "reason", status, "message", msg,
                  "source", "component", "cidrAllocator", "firstTimestamp", now, "lastTimestamp",
                  now, "count", 1, "type", "Normal", "reportingComponent", "cidrAllocator");
    struct ck_err err = CK_ERR_INIT;
    if (ev && ck_client_create_json(c->cm->client, "/api/v1/namespaces/default/events", ev, NULL,
                                    &err) < 0)
        ck_v(2, "nodeipam: event %s for %s dropped: %s", status, k8s_obj_name(node), err.msg);
    ck_err_clear(&err);
    json_decref(ev);
}

static int sync_node(void *arg, const char *name)
{
    struct ipam *c = arg;
    json_t *node = ck_indexer_get(ck_informer_indexer(c->nodes), name);
    if (!node)
        return 0;
    int rc = 0;
    char cidr[20];
    struct ck_err err = CK_ERR_INIT;
    if (!has_cidr(node)) { /* the cache may not show our own last patch yet: ask the API */
        char *p = ck_asprintf("/api/v1/nodes/%s", name);
        json_t *fresh = NULL;
        rc = ck_client_get_json(c->cm->client, p, &fresh, &err);
        free(p);
        json_decref(node);
        if (rc < 0) {
            rc = err.reason == CK_R_NOT_FOUND ? 0 : -1;
            if (rc < 0)
                ck_v(1, "nodeipam: node %s: %s", name, err.msg);
            ck_err_clear(&err);
            return rc;
        }
        node = fresh;
    }
    pthread_mutex_lock(&c->mu);
    if (has_cidr(node)) { /* never changed; make sure the map has it */
        mark_node(c, node, true);
        pthread_mutex_unlock(&c->mu);
        json_decref(node);
        return 0;
    }
    rc = cidr_set_allocate(&c->set, cidr, &err);
    pthread_mutex_unlock(&c->mu);
    if (rc < 0) {
        ck_warn("nodeipam: node %s: %s", name, err.msg);
        ck_err_clear(&err);
        node_event(c, node, "CIDRNotAvailable");
        wq_add_after(c->q, name, FULL_RETRY_NS);
        json_decref(node);
        return 0;
    }
    /* PatchNodeCIDRs, guarded by the resourceVersion just read: a CIDR is set only once */
    char *path = ck_asprintf("/api/v1/nodes/%s", name);
    json_t *spec = json_pack("{s:s,s:[s]}", "podCIDR", cidr, "podCIDRs", cidr);
    json_t *patch = json_pack("[{s:s,s:s,s:s}]", "op", "test", "path", "/metadata/resourceVersion",
                              "value", k8s_jpath_str(node, "metadata.resourceVersion"));
    if (json_is_object(json_object_get(node, "spec"))) {
        json_array_append_new(patch,
                              json_pack("{s:s,s:s,s:O}", "op", "add", "path", "/spec/podCIDR",
                                        "value", json_object_get(spec, "podCIDR")));
        json_array_append_new(patch,
                              json_pack("{s:s,s:s,s:O}", "op", "add", "path", "/spec/podCIDRs",
                                        "value", json_object_get(spec, "podCIDRs")));
    } else {
        json_array_append_new(
            patch, json_pack("{s:s,s:s,s:O}", "op", "add", "path", "/spec", "value", spec));
    }
    json_decref(spec);
    json_t *out = NULL;
    rc =
        ck_client_patch_json(c->cm->client, path, "application/json-patch+json", patch, &out, &err);
    json_decref(patch);
    free(path);
    if (rc < 0 || strcmp(k8s_jpath_str(out, "spec.podCIDR"), cidr)) {
        ck_warn("nodeipam: node %s: setting podCIDR %s: %s", name, cidr,
                rc < 0 ? err.msg : "another CIDR is set");
        pthread_mutex_lock(&c->mu);
        struct ck_err e2 = CK_ERR_INIT;
        cidr_set_release(&c->set, cidr, &e2);
        ck_err_clear(&e2);
        if (out && has_cidr(out))
            mark_node(c, out, true);
        pthread_mutex_unlock(&c->mu);
        if (rc < 0 && err.reason != CK_R_NOT_FOUND) {
            if (err.reason != CK_R_CONFLICT && err.reason != CK_R_INVALID)
                node_event(c, node, "CIDRAssignmentFailed");
            rc = -1; /* again, with a fresh read */
        } else {
            rc = 0;
        }
    } else {
        ck_info("nodeipam: set node %s podCIDR %s", name, cidr);
    }
    ck_err_clear(&err);
    json_decref(out);
    json_decref(node);
    return rc;
}

static void node_added(void *arg, json_t *obj)
{
    struct ipam *c = arg;
    pthread_mutex_lock(&c->mu);
    bool ready = c->ready;
    pthread_mutex_unlock(&c->mu);
    if (ready && !has_cidr(obj))
        wq_add(c->q, k8s_obj_name(obj));
}

static void node_updated(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    node_added(arg, obj);
}

static void node_deleted(void *arg, json_t *obj)
{
    struct ipam *c = arg;
    pthread_mutex_lock(&c->mu);
    if (c->ready && has_cidr(obj)) {
        mark_node(c, obj, false);
        ck_v(2, "nodeipam: released the podCIDRs of node %s", k8s_obj_name(obj));
    }
    pthread_mutex_unlock(&c->mu);
}

static int ipam_init(struct cm *cm, void **state)
{
    struct ipam *c = ck_calloc(1, sizeof(*c));
    c->cm = cm;
    pthread_mutex_init(&c->mu, NULL);
    c->nodes = ck_informer_factory_get(cm->factory, "/api/v1/nodes");
    c->q = wq_new(&(struct wq_opts){.name = "nodeipam"});
    ck_informer_add_handlers(
        c->nodes, &(struct ck_informer_handlers){node_added, node_updated, node_deleted, c});
    *state = c;
    return 0;
}

/* The options are read here: the command sets them after init. */
static void ipam_run(void *state)
{
    struct ipam *c = state;
    struct cm *cm = c->cm;
    if (!cm->allocate_node_cidrs) {
        ck_v(1, "nodeipam: --allocate-node-cidrs is false: not allocating");
        return;
    }
    struct ck_err err = CK_ERR_INIT;
    const char *cluster = cm->cluster_cidr && *cm->cluster_cidr ? cm->cluster_cidr : "";
    if (cidr_set_init(&c->set, cluster, cm->node_cidr_mask > 0 ? cm->node_cidr_mask : 24, &err) <
        0) {
        ck_error("nodeipam: --cluster-cidr %s: %s", cluster, err.msg);
        ck_err_clear(&err);
        return;
    }
    /* the map from the Nodes as they are; then every Node without a CIDR is queued */
    json_t *all = ck_indexer_list(ck_informer_indexer(c->nodes));
    size_t i;
    json_t *n;
    pthread_mutex_lock(&c->mu);
    json_array_foreach(all, i, n)
    {
        mark_node(c, n, true);
    }
    c->ready = true;
    pthread_mutex_unlock(&c->mu);
    json_array_foreach(all, i, n)
    {
        if (!has_cidr(n))
            wq_add(c->q, k8s_obj_name(n));
    }
    json_decref(all);
    c->w = (struct cm_workers){.q = c->q, .sync = sync_node, .arg = c, .ctrl = &cm_nodeipam};
    cm_workers_start(&c->w, 1);
    ck_info("nodeipam: allocating /%d subnets of %s", c->set.node_bits, cluster);
}

static void ipam_stop(void *state)
{
    struct ipam *c = state;
    wq_shutdown(c->q);
    if (c->w.t)
        cm_workers_join(&c->w);
}

static void ipam_free(void *state)
{
    struct ipam *c = state;
    wq_free(c->q);
    cidr_set_release_all(&c->set);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

struct cm_controller cm_nodeipam = {.name = "nodeipam",
                                    .alias = "node-ipam-controller",
                                    .init = ipam_init,
                                    .run = ipam_run,
                                    .stop = ipam_stop,
                                    .free = ipam_free};
