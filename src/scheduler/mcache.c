/* SPDX-License-Identifier: Apache-2.0 */
/* Cross-cycle matching-pod counts: see mcache.h. */
#include "scheduler/mcache.h"

#include "lib/buf.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

struct sch_mentry {
    char *sig;
    int64_t list_gen;
    size_t n;
    int64_t *gen;             /* node generation last counted */
    int64_t *count;           /* by snapshot index */
    char **domain;            /* by snapshot index, NULL = not counted */
    struct ck_strmap domains; /* domain -> struct sch_mdomain * */
    uint64_t used;
};

struct sch_mcache {
    struct sch_mentry **e;
    size_t n, max;
    uint64_t tick;
    long full, nodes;
};

struct sch_mcache *sch_mcache_new(size_t max_entries)
{
    struct sch_mcache *mc = ck_calloc(1, sizeof(*mc));
    mc->max = max_entries ? max_entries : 1;
    mc->e = ck_calloc(mc->max, sizeof(*mc->e));
    return mc;
}

static void domains_clear(struct sch_mentry *e)
{
    const char *k;
    void *v;
    for (size_t it = 0; ck_strmap_next(&e->domains, &it, &k, &v);)
        free(v);
    ck_strmap_release(&e->domains);
}

static void entry_reset(struct sch_mentry *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->domain[i]);
    free(e->domain);
    free(e->gen);
    free(e->count);
    domains_clear(e);
    e->domain = NULL;
    e->gen = e->count = NULL;
    e->n = 0;
}

static void entry_free(struct sch_mentry *e)
{
    if (!e)
        return;
    entry_reset(e);
    free(e->sig);
    free(e);
}

void sch_mcache_free(struct sch_mcache *mc)
{
    if (!mc)
        return;
    for (size_t i = 0; i < mc->n; i++)
        entry_free(mc->e[i]);
    free(mc->e);
    free(mc);
}

static void dom_add(struct sch_mentry *e, const char *d, int64_t count, int64_t nodes)
{
    struct sch_mdomain *md = ck_strmap_get(&e->domains, d, NULL);
    if (!md) {
        md = ck_calloc(1, sizeof(*md));
        ck_strmap_put(&e->domains, d, md);
    }
    md->sum += count;
    md->nodes += nodes;
    if (md->nodes <= 0)
        free(ck_strmap_del(&e->domains, d, NULL));
}

static void count_node(struct sch_mcache *mc, struct sch_mentry *e, size_t i,
                       const struct sch_node *n, sch_mcount_fn fn, const void *arg)
{
    struct sch_mcount c = fn(arg, n);
    mc->nodes++;
    if (e->domain[i])
        dom_add(e, e->domain[i], -e->count[i], -1);
    if (!c.domain) {
        free(e->domain[i]);
        e->domain[i] = NULL;
        e->count[i] = 0;
    } else {
        if (!e->domain[i] || strcmp(e->domain[i], c.domain)) {
            free(e->domain[i]);
            e->domain[i] = ck_strdup(c.domain);
        }
        e->count[i] = c.count;
        dom_add(e, e->domain[i], c.count, 1);
    }
    e->gen[i] = n->generation;
}

const struct sch_mentry *sch_mcache_get(struct sch_mcache *mc, const char *sig,
                                        const struct sch_snapshot *snap, sch_mcount_fn fn,
                                        const void *arg)
{
    struct sch_mentry *e = NULL;
    for (size_t i = 0; i < mc->n && !e; i++)
        if (!strcmp(mc->e[i]->sig, sig))
            e = mc->e[i];
    if (!e) {
        size_t slot = mc->n;
        if (mc->n == mc->max) { /* evict the least recently used */
            slot = 0;
            for (size_t i = 1; i < mc->n; i++)
                if (mc->e[i]->used < mc->e[slot]->used)
                    slot = i;
            entry_free(mc->e[slot]);
        } else {
            mc->n++;
        }
        e = ck_calloc(1, sizeof(*e));
        e->sig = ck_strdup(sig);
        mc->e[slot] = e;
    }
    e->used = ++mc->tick;
    if (e->list_gen != snap->list_gen || e->n != snap->n || !e->gen) {
        entry_reset(e);
        e->n = snap->n;
        e->list_gen = snap->list_gen;
        e->gen = ck_calloc(e->n + 1, sizeof(int64_t));
        e->count = ck_calloc(e->n + 1, sizeof(int64_t));
        e->domain = ck_calloc(e->n + 1, sizeof(char *));
        mc->full++;
        for (size_t i = 0; i < e->n; i++)
            count_node(mc, e, i, snap->nodes[i], fn, arg);
        return e;
    }
    for (size_t i = 0; i < e->n; i++)
        if (e->gen[i] != (snap->gens ? snap->gens[i] : snap->nodes[i]->generation))
            count_node(mc, e, i, snap->nodes[i], fn, arg);
    return e;
}

const struct ck_strmap *sch_mentry_domains(const struct sch_mentry *e)
{
    return &e->domains;
}

int64_t sch_mentry_count(const struct sch_mentry *e, size_t i)
{
    return i < e->n ? e->count[i] : 0;
}

void sch_mcache_stats(const struct sch_mcache *mc, long *full, long *nodes)
{
    *full = mc->full;
    *nodes = mc->nodes;
}

int64_t sch_snapshot_unique_gen(void)
{
    static atomic_llong next = -2;
    return (int64_t)atomic_fetch_sub(&next, 1);
}
