/* SPDX-License-Identifier: Apache-2.0 */
/* A cache, kept across scheduling cycles, of per-node counts of existing pods that match
 * something (a topology spread constraint's selector, an affinity term), and of their sums
 * per topology domain. It is what upstream's PreFilter computes from scratch every cycle
 * (podtopologyspread's TpPairToMatchNum, interpodaffinity's topologyToMatchedTermCount);
 * here an entry, named by a signature of everything its count depends on, is brought up to
 * date by recounting only the nodes whose generation moved since the entry last saw them
 * (a change of the node list recounts everything). Not thread-safe: PreFilter runs on the
 * scheduling loop only. */
#ifndef CK_SCHED_MCACHE_H
#define CK_SCHED_MCACHE_H

#include "lib/strmap.h"
#include "scheduler/types.h"

#include <stdint.h>

/* What one node contributes: count matching pods in domain (NULL = the node is not counted;
 * the string may point into the node and is copied). */
struct sch_mcount {
    int64_t count;
    const char *domain;
};
typedef struct sch_mcount (*sch_mcount_fn)(const void *arg, const struct sch_node *n);

/* One domain's sum over the counted nodes, and how many counted nodes it has. */
struct sch_mdomain {
    int64_t sum;
    int64_t nodes;
};

struct sch_mentry;
struct sch_mcache;

struct sch_mcache *sch_mcache_new(size_t max_entries);
void sch_mcache_free(struct sch_mcache *mc);

/* The entry for sig, up to date with snap; valid until the next call on mc. */
const struct sch_mentry *sch_mcache_get(struct sch_mcache *mc, const char *sig,
                                        const struct sch_snapshot *snap, sch_mcount_fn fn,
                                        const void *arg);
/* Domain -> struct sch_mdomain * (domains with no counted node are absent). */
const struct ck_strmap *sch_mentry_domains(const struct sch_mentry *e);
/* The count of snapshot node i (0 for a node not counted). */
int64_t sch_mentry_count(const struct sch_mentry *e, size_t i);

/* Recounts, nodes rescanned (tests and the profile). */
void sch_mcache_stats(const struct sch_mcache *mc, long *full, long *nodes);

/* A unique list generation for snapshots built outside a cache (sch_snapshot_from). */
int64_t sch_snapshot_unique_gen(void);

#endif
