/* SPDX-License-Identifier: Apache-2.0 */
/* NodeInfo (framework/types.go: AddPod/RemovePod/Snapshot) and the snapshot's indexes
 * (internal/cache/snapshot.go). */
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "scheduler/mcache.h"
#include "scheduler/types.h"

#include <stdint.h>
#include <string.h>

#include "lib/banned.h"

struct sch_nodedata *sch_nodedata_new(json_t *node)
{
    struct sch_nodedata *nd = ck_calloc(1, sizeof(*nd));
    atomic_init(&nd->refs, 1);
    nd->obj = json_incref(node);
    nd->name = k8s_obj_name(node);
    nd->labels = k8s_jpath(node, "metadata.labels");
    nd->taints = k8s_jpath(node, "spec.taints");
    nd->unschedulable = k8s_node_unschedulable(node);
    struct k8s_reslist all = K8S_RESLIST_INIT;
    k8s_node_allocatable(node, &all);
    k8s_reslist_summary(&all, &nd->alloc);
    for (size_t i = 0; i < all.n; i++) {
        const char *n = all.v[i].name;
        if (strcmp(n, K8S_RES_CPU) && strcmp(n, K8S_RES_MEMORY) &&
            strcmp(n, K8S_RES_EPHEMERAL_STORAGE) && strcmp(n, K8S_RES_PODS))
            k8s_reslist_set(&nd->alloc_scalar, n, &all.v[i].q);
    }
    k8s_reslist_release(&all);
    size_t i, j;
    const json_t *img, *name;
    json_array_foreach(k8s_jpath(node, "status.images"), i, img)
    {
        int64_t size = (int64_t)json_integer_value(json_object_get(img, "sizeBytes"));
        json_array_foreach(json_object_get(img, "names"), j, name)
        {
            if (!json_is_string(name))
                continue;
            nd->images = ck_realloc(nd->images, (nd->nimages + 1) * sizeof(*nd->images));
            nd->images[nd->nimages++] =
                (struct sch_image){ck_strdup(json_string_value(name)), size};
        }
    }
    return nd;
}

void sch_nodedata_unref(struct sch_nodedata *nd)
{
    if (!nd || atomic_fetch_sub(&nd->refs, 1) != 1)
        return;
    for (size_t i = 0; i < nd->nimages; i++)
        free(nd->images[i].name);
    free(nd->images);
    k8s_reslist_release(&nd->alloc_scalar);
    json_decref(nd->obj);
    free(nd);
}

struct sch_node *sch_node_new(void)
{
    return ck_calloc(1, sizeof(struct sch_node));
}

void sch_node_free(struct sch_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->npods; i++)
        sch_pod_unref(n->pods[i]);
    free(n->pods);
    free(n->ports);
    k8s_reslist_release(&n->req_scalar);
    sch_nodedata_unref(n->nd);
    free(n);
}

struct sch_node *sch_node_clone(const struct sch_node *n)
{
    struct sch_node *c = ck_malloc(sizeof(*c));
    *c = *n;
    if (c->nd)
        atomic_fetch_add(&c->nd->refs, 1);
    c->podcap = n->npods;
    c->pods = n->npods ? ck_malloc(n->npods * sizeof(*c->pods)) : NULL;
    for (size_t i = 0; i < n->npods; i++)
        c->pods[i] = sch_pod_ref(n->pods[i]);
    c->portcap = n->nports;
    c->ports = n->nports ? ck_malloc(n->nports * sizeof(*c->ports)) : NULL;
    if (n->nports)
        memcpy(c->ports, n->ports, n->nports * sizeof(*c->ports));
    c->req_scalar = (struct k8s_reslist)K8S_RESLIST_INIT;
    k8s_reslist_add_list(&c->req_scalar, &n->req_scalar);
    return c;
}

void sch_node_set(struct sch_node *n, json_t *node)
{
    sch_nodedata_unref(n->nd);
    n->nd = node ? sch_nodedata_new(node) : NULL;
}

static void account(struct sch_node *n, const struct sch_pod *p, int sign)
{
    n->requested.milli_cpu += sign * p->req.milli_cpu;
    n->requested.memory += sign * p->req.memory;
    n->requested.ephemeral_storage += sign * p->req.ephemeral_storage;
    n->nonzero.milli_cpu += sign * p->nonzero.milli_cpu;
    n->nonzero.memory += sign * p->nonzero.memory;
    for (size_t i = 0; i < p->scalar.n; i++) {
        if (sign > 0) {
            k8s_reslist_add(&n->req_scalar, p->scalar.v[i].name, &p->scalar.v[i].q);
        } else {
            const struct k8s_quantity *have = k8s_reslist_get(&n->req_scalar, p->scalar.v[i].name);
            if (have) {
                struct k8s_quantity q = *have;
                k8s_quantity_sub(&q, &p->scalar.v[i].q);
                k8s_reslist_set(&n->req_scalar, p->scalar.v[i].name, &q);
            }
        }
    }
    if (sch_pod_has_affinity(p))
        n->naff += (size_t)sign;
    if (sch_pod_has_required_anti(p))
        n->nreq_anti += (size_t)sign;
    if (p->score_aff)
        n->nscore_aff += (size_t)sign;
}

void sch_node_add_pod(struct sch_node *n, struct sch_pod *p)
{
    if (n->npods == n->podcap) {
        n->podcap = n->podcap ? n->podcap * 2 : 4;
        n->pods = ck_realloc(n->pods, n->podcap * sizeof(*n->pods));
    }
    n->pods[n->npods++] = sch_pod_ref(p);
    account(n, p, 1);
    for (size_t i = 0; i < p->nports; i++) {
        if (n->nports == n->portcap) {
            n->portcap = n->portcap ? n->portcap * 2 : 4;
            n->ports = ck_realloc(n->ports, n->portcap * sizeof(*n->ports));
        }
        n->ports[n->nports++] = p->ports[i];
    }
}

static void remove_ports(struct sch_node *n, const struct sch_pod *p)
{
    for (size_t i = 0; i < p->nports; i++) {
        for (size_t j = 0; j < n->nports; j++) {
            if (n->ports[j].port == p->ports[i].port && !strcmp(n->ports[j].ip, p->ports[i].ip) &&
                !strcmp(n->ports[j].proto, p->ports[i].proto)) {
                n->ports[j] = n->ports[--n->nports];
                break;
            }
        }
    }
}

bool sch_node_remove_pod(struct sch_node *n, const char *key)
{
    for (size_t i = 0; i < n->npods; i++) {
        struct sch_pod *p = n->pods[i];
        if (strcmp(p->key, key))
            continue;
        account(n, p, -1);
        remove_ports(n, p);
        n->pods[i] = n->pods[--n->npods];
        sch_pod_unref(p);
        return true;
    }
    return false;
}

/* ---- snapshot --------------------------------------------------------------------------- */

void sch_snapshot_init(struct sch_snapshot *s)
{
    memset(s, 0, sizeof(*s));
    s->list_gen = -1;
}

void sch_snapshot_release(struct sch_snapshot *s)
{
    for (size_t i = 0; i < s->n; i++)
        sch_node_free(s->nodes[i]);
    free(s->nodes);
    free(s->with_aff);
    free(s->with_req_anti);
    free(s->with_score_aff);
    free(s->gens);
    ck_strmap_release(&s->byname);
    ck_strmap_release(&s->image_nodes);
    memset(s, 0, sizeof(*s));
}

void sch_snapshot_index(struct sch_snapshot *s)
{
    s->gens = ck_realloc(s->gens, (s->n + 1) * sizeof(int64_t));
    for (size_t i = 0; i < s->n; i++)
        s->gens[i] = s->nodes[i]->generation;
    s->with_aff = ck_realloc(s->with_aff, (s->n + 1) * sizeof(size_t));
    s->with_req_anti = ck_realloc(s->with_req_anti, (s->n + 1) * sizeof(size_t));
    s->with_score_aff = ck_realloc(s->with_score_aff, (s->n + 1) * sizeof(size_t));
    s->nwith_aff = s->nwith_req_anti = s->nwith_score_aff = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->nodes[i]->nscore_aff)
            s->with_score_aff[s->nwith_score_aff++] = i;
        if (s->nodes[i]->naff)
            s->with_aff[s->nwith_aff++] = i;
        if (s->nodes[i]->nreq_anti)
            s->with_req_anti[s->nwith_req_anti++] = i;
    }
}

static void index_images(struct sch_snapshot *s)
{
    ck_strmap_release(&s->image_nodes);
    for (size_t i = 0; i < s->n; i++) {
        const struct sch_nodedata *nd = s->nodes[i]->nd;
        for (size_t j = 0; nd && j < nd->nimages; j++) {
            /* a node lists an image under several names; count the node once per name */
            uintptr_t c = (uintptr_t)ck_strmap_get(&s->image_nodes, nd->images[j].name, NULL);
            ck_strmap_put(&s->image_nodes, nd->images[j].name, (void *)(c + 1));
        }
    }
}

void sch_snapshot_from(struct sch_snapshot *s, struct sch_node *const *nodes, size_t n)
{
    sch_snapshot_release(s);
    sch_snapshot_init(s);
    s->nodes = ck_calloc(n ? n : 1, sizeof(*s->nodes));
    for (size_t i = 0; i < n; i++) {
        s->nodes[s->n] = sch_node_clone(nodes[i]);
        ck_strmap_put(&s->byname, sch_node_name(nodes[i]), (void *)(uintptr_t)(s->n + 1));
        s->n++;
    }
    s->cap = s->n;
    s->list_gen = sch_snapshot_unique_gen(); /* node generations here mean nothing */
    sch_snapshot_index(s);
    index_images(s);
}

const struct sch_node *sch_snapshot_get(const struct sch_snapshot *s, const char *name)
{
    uintptr_t i = (uintptr_t)ck_strmap_get(&s->byname, name, NULL);
    return i ? s->nodes[i - 1] : NULL;
}

/* Used by the cache (cache.c) after it refreshed node clones. */
void sch_snapshot_index_images(struct sch_snapshot *s);
void sch_snapshot_index_images(struct sch_snapshot *s)
{
    index_images(s);
}
