/* SPDX-License-Identifier: Apache-2.0 */
/* The scheduler cache: see cache.h. */
#include "scheduler/cache.h"

#include "k8s/pod.h"
#include "lib/buf.h"
#include "lib/strmap.h"

#include <stdint.h>
#include <string.h>

#include "lib/banned.h"

struct podstate {
    struct sch_pod *p;
    char *node;
    bool assumed, finished;
    int64_t deadline;
};

struct sch_cache {
    pthread_mutex_t mu;
    struct sch_node **nodes; /* nodes with a Node object or pods; order is the snapshot's */
    char **names;
    size_t n, cap;
    struct ck_strmap idx;  /* name -> index + 1 */
    struct ck_strmap pods; /* key -> struct podstate */
    int64_t gen;           /* last generation handed out */
    int64_t list_gen;      /* bumped when the node list changes */
    int64_t ttl;
    /* nodes (cache indexes) whose generation moved since the last snapshot, for that
     * snapshot; any other snapshot gets a full pass */
    size_t *dirty;
    bool *is_dirty;
    size_t ndirty, dirtycap;
    const struct sch_snapshot *last_snap;
};

void sch_snapshot_index_images(struct sch_snapshot *s);

struct sch_cache *sch_cache_new(int64_t ttl_ns)
{
    struct sch_cache *c = ck_calloc(1, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    c->ttl = ttl_ns;
    return c;
}

void sch_cache_free(struct sch_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        sch_node_free(c->nodes[i]), free(c->names[i]);
    free(c->nodes);
    free(c->names);
    free(c->dirty);
    free(c->is_dirty);
    const char *k;
    void *v;
    for (size_t it = 0; ck_strmap_next(&c->pods, &it, &k, &v);) {
        struct podstate *ps = v;
        sch_pod_unref(ps->p);
        free(ps->node);
        free(ps);
    }
    ck_strmap_release(&c->pods);
    ck_strmap_release(&c->idx);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* A node's content changed: a new generation, and the node goes on the dirty list. */
static void touch(struct sch_cache *c, struct sch_node *n, const char *name)
{
    n->generation = ++c->gen;
    uintptr_t i = (uintptr_t)ck_strmap_get(&c->idx, name, NULL);
    if (!i)
        return;
    if (c->dirtycap < c->cap) {
        c->is_dirty = ck_realloc(c->is_dirty, c->cap * sizeof(bool));
        memset(c->is_dirty + c->dirtycap, 0, (c->cap - c->dirtycap) * sizeof(bool));
        c->dirty = ck_realloc(c->dirty, c->cap * sizeof(size_t));
        c->dirtycap = c->cap;
    }
    if (!c->is_dirty[i - 1]) {
        c->is_dirty[i - 1] = true;
        c->dirty[c->ndirty++] = i - 1;
    }
}

static void dirty_clear(struct sch_cache *c)
{
    for (size_t k = 0; k < c->ndirty; k++)
        if (c->dirty[k] < c->dirtycap)
            c->is_dirty[c->dirty[k]] = false;
    c->ndirty = 0;
}

static struct sch_node *node_get(struct sch_cache *c, const char *name, bool create)
{
    uintptr_t i = (uintptr_t)ck_strmap_get(&c->idx, name, NULL);
    if (i)
        return c->nodes[i - 1];
    if (!create)
        return NULL;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->nodes = ck_realloc(c->nodes, c->cap * sizeof(*c->nodes));
        c->names = ck_realloc(c->names, c->cap * sizeof(*c->names));
    }
    struct sch_node *n = sch_node_new();
    c->names[c->n] = ck_strdup(name);
    c->nodes[c->n++] = n;
    ck_strmap_put(&c->idx, name, (void *)(uintptr_t)c->n);
    c->list_gen++;
    return n;
}

/* Drops an entry that has neither a Node object nor pods. */
static void node_gc(struct sch_cache *c, const char *name)
{
    uintptr_t i = (uintptr_t)ck_strmap_get(&c->idx, name, NULL);
    if (!i || c->nodes[i - 1]->nd || c->nodes[i - 1]->npods)
        return;
    sch_node_free(c->nodes[i - 1]);
    ck_strmap_del(&c->idx, name, NULL);
    free(c->names[i - 1]);
    c->n--;
    c->nodes[i - 1] = c->nodes[c->n];
    c->names[i - 1] = c->names[c->n];
    if (i - 1 < c->n)
        ck_strmap_put(&c->idx, c->names[i - 1], (void *)(uintptr_t)i);
    c->list_gen++;
}

void sch_cache_add_node(struct sch_cache *c, json_t *node)
{
    pthread_mutex_lock(&c->mu);
    struct sch_node *n = node_get(c, k8s_obj_name(node), true);
    if (!n->nd)
        c->list_gen++;
    sch_node_set(n, node);
    touch(c, n, k8s_obj_name(node));
    pthread_mutex_unlock(&c->mu);
}

void sch_cache_update_node(struct sch_cache *c, json_t *node)
{
    sch_cache_add_node(c, node);
}

void sch_cache_remove_node(struct sch_cache *c, const char *name)
{
    pthread_mutex_lock(&c->mu);
    struct sch_node *n = node_get(c, name, false);
    if (n) {
        sch_node_set(n, NULL);
        touch(c, n, name);
        c->list_gen++;
        node_gc(c, name);
    }
    pthread_mutex_unlock(&c->mu);
}

static void place(struct sch_cache *c, struct podstate *ps)
{
    struct sch_node *n = node_get(c, ps->node, true);
    sch_node_add_pod(n, ps->p);
    touch(c, n, ps->node);
}

static void unplace(struct sch_cache *c, struct podstate *ps)
{
    struct sch_node *n = node_get(c, ps->node, false);
    if (n && sch_node_remove_pod(n, ps->p->key)) {
        touch(c, n, ps->node);
        node_gc(c, ps->node);
    }
}

static void podstate_free(struct podstate *ps)
{
    sch_pod_unref(ps->p);
    free(ps->node);
    free(ps);
}

void sch_cache_add_pod(struct sch_cache *c, json_t *pod)
{
    struct sch_pod *p = sch_pod_new(pod);
    pthread_mutex_lock(&c->mu);
    struct podstate *ps = ck_strmap_get(&c->pods, p->key, NULL);
    if (ps) { /* confirms an assumed pod, or a repeated add: replace */
        unplace(c, ps);
        sch_pod_unref(ps->p);
        free(ps->node);
    } else {
        ps = ck_calloc(1, sizeof(*ps));
        ck_strmap_put(&c->pods, p->key, ps);
    }
    ps->p = p;
    ps->node = ck_strdup(k8s_pod_node_name(pod));
    ps->assumed = ps->finished = false;
    place(c, ps);
    pthread_mutex_unlock(&c->mu);
}

void sch_cache_update_pod(struct sch_cache *c, json_t *old_pod, json_t *pod)
{
    (void)old_pod;
    sch_cache_add_pod(c, pod);
}

void sch_cache_remove_pod(struct sch_cache *c, json_t *pod)
{
    char *key = ck_asprintf("%s/%s", k8s_obj_namespace(pod), k8s_obj_name(pod));
    pthread_mutex_lock(&c->mu);
    struct podstate *ps = ck_strmap_del(&c->pods, key, NULL);
    if (ps) {
        unplace(c, ps);
        podstate_free(ps);
    }
    pthread_mutex_unlock(&c->mu);
    free(key);
}

int sch_cache_assume(struct sch_cache *c, struct sch_pod *p, const char *node)
{
    pthread_mutex_lock(&c->mu);
    if (ck_strmap_get(&c->pods, p->key, NULL)) {
        pthread_mutex_unlock(&c->mu);
        return -1;
    }
    struct podstate *ps = ck_calloc(1, sizeof(*ps));
    ps->p = sch_pod_ref(p);
    ps->node = ck_strdup(node);
    ps->assumed = true;
    ck_strmap_put(&c->pods, p->key, ps);
    place(c, ps);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

void sch_cache_finish_binding(struct sch_cache *c, const char *key, int64_t now_ns)
{
    pthread_mutex_lock(&c->mu);
    struct podstate *ps = ck_strmap_get(&c->pods, key, NULL);
    if (ps && ps->assumed) {
        ps->finished = true;
        ps->deadline = now_ns + c->ttl;
    }
    pthread_mutex_unlock(&c->mu);
}

void sch_cache_forget(struct sch_cache *c, const char *key)
{
    pthread_mutex_lock(&c->mu);
    struct podstate *ps = ck_strmap_get(&c->pods, key, NULL);
    if (ps && ps->assumed) {
        ck_strmap_del(&c->pods, key, NULL);
        unplace(c, ps);
        podstate_free(ps);
    }
    pthread_mutex_unlock(&c->mu);
}

bool sch_cache_is_assumed(struct sch_cache *c, const char *key)
{
    pthread_mutex_lock(&c->mu);
    struct podstate *ps = ck_strmap_get(&c->pods, key, NULL);
    bool r = ps && ps->assumed;
    pthread_mutex_unlock(&c->mu);
    return r;
}

size_t sch_cache_cleanup(struct sch_cache *c, int64_t now_ns)
{
    if (c->ttl <= 0)
        return 0;
    size_t removed = 0;
    pthread_mutex_lock(&c->mu);
    const char *k;
    void *v;
    char **expired = NULL;
    size_t nexp = 0;
    for (size_t it = 0; ck_strmap_next(&c->pods, &it, &k, &v);) {
        struct podstate *ps = v;
        if (ps->assumed && ps->finished && now_ns > ps->deadline) {
            expired = ck_realloc(expired, (nexp + 1) * sizeof(char *));
            expired[nexp++] = ck_strdup(k);
        }
    }
    for (size_t i = 0; i < nexp; i++) {
        struct podstate *ps = ck_strmap_del(&c->pods, expired[i], NULL);
        unplace(c, ps);
        podstate_free(ps);
        free(expired[i]);
        removed++;
    }
    free(expired);
    pthread_mutex_unlock(&c->mu);
    return removed;
}

void sch_cache_snapshot(struct sch_cache *c, struct sch_snapshot *s)
{
    pthread_mutex_lock(&c->mu);
    bool changed = false, images = false;
    if (s->list_gen != c->list_gen || c->last_snap != s) {
        /* the node list changed: rebuild the order, reusing clones that are current */
        struct sch_node **old = s->nodes;
        size_t oldn = s->n;
        struct ck_strmap oldidx = s->byname;
        s->byname = (struct ck_strmap)CK_STRMAP_INIT;
        s->nodes = ck_calloc(c->n ? c->n : 1, sizeof(*s->nodes));
        s->n = 0;
        for (size_t i = 0; i < c->n; i++) {
            struct sch_node *cn = c->nodes[i];
            if (!cn->nd)
                continue;
            uintptr_t j = (uintptr_t)ck_strmap_get(&oldidx, cn->nd->name, NULL);
            struct sch_node *clone = NULL;
            if (j && old[j - 1] && old[j - 1]->generation == cn->generation) {
                clone = old[j - 1];
                old[j - 1] = NULL;
            } else {
                clone = sch_node_clone(cn);
            }
            s->nodes[s->n++] = clone;
            ck_strmap_put(&s->byname, cn->nd->name, (void *)(uintptr_t)s->n);
        }
        for (size_t i = 0; i < oldn; i++)
            sch_node_free(old[i]);
        free(old);
        ck_strmap_release(&oldidx);
        s->cap = s->n;
        s->list_gen = c->list_gen;
        changed = images = true;
    } else {
        /* only the dirty nodes can differ; the derived lists change only when a node
         * gains or loses its first pod with (anti-)affinity */
        for (size_t d = 0; d < c->ndirty; d++) {
            size_t i = c->dirty[d];
            if (i >= c->n)
                continue;
            struct sch_node *cn = c->nodes[i];
            if (!cn->nd)
                continue;
            uintptr_t k1 = (uintptr_t)ck_strmap_get(&s->byname, cn->nd->name, NULL);
            if (!k1)
                continue;
            struct sch_node *old = s->nodes[k1 - 1];
            if (old->generation == cn->generation)
                continue;
            images |= old->nd != cn->nd;
            changed |= !old->naff != !cn->naff || !old->nreq_anti != !cn->nreq_anti ||
                       !old->nscore_aff != !cn->nscore_aff;
            sch_node_free(old);
            s->nodes[k1 - 1] = sch_node_clone(cn);
            if (s->gens)
                s->gens[k1 - 1] = cn->generation;
        }
    }
    dirty_clear(c);
    c->last_snap = s;
    pthread_mutex_unlock(&c->mu);
    if (changed)
        sch_snapshot_index(s);
    if (images)
        sch_snapshot_index_images(s);
}

size_t sch_cache_node_count(struct sch_cache *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++)
        n += c->nodes[i]->nd != NULL;
    pthread_mutex_unlock(&c->mu);
    return n;
}

size_t sch_cache_pod_count(struct sch_cache *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->pods.len;
    pthread_mutex_unlock(&c->mu);
    return n;
}
