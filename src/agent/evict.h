/* SPDX-License-Identifier: Apache-2.0 */
/* The eviction manager's pure part (upstream pkg/kubelet/eviction helpers.go and the
 * synchronize decision), free of I/O so unit tests drive it with fake observations: hard
 * thresholds and minimum reclaim parsed from upstream's flag syntax, thresholds met, node
 * conditions held for the pressure transition period, and the ranking of pods. */
#ifndef CK_AGENT_EVICT_H
#define CK_AGENT_EVICT_H

#include "lib/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ag_signal {
    AG_SIG_MEMORY = 0,     /* memory.available */
    AG_SIG_NODEFS,         /* nodefs.available */
    AG_SIG_NODEFS_INODES,  /* nodefs.inodesFree */
    AG_SIG_IMAGEFS,        /* imagefs.available */
    AG_SIG_IMAGEFS_INODES, /* imagefs.inodesFree */
    AG_SIG_PID,            /* pid.available */
    AG_SIG_N
};
const char *ag_signal_name(enum ag_signal s);
/* The resource a signal reclaims, as the eviction message names it: "memory",
 * "ephemeral-storage", "inodes", "pids". */
const char *ag_signal_resource(enum ag_signal s);

enum ag_condition { AG_COND_MEMORY = 0, AG_COND_DISK, AG_COND_PID, AG_COND_N };

struct ag_threshold {
    enum ag_signal sig;
    int64_t quantity;   /* absolute (bytes, inodes, pids) when percent is 0 */
    double percent;     /* (0, 1] of capacity */
    int64_t reclaim_q;  /* minimum reclaim, absolute */
    double reclaim_pct; /* minimum reclaim, of capacity */
    char text[48];      /* the threshold quantity as written ("100Mi", "10%") */
};

#define AG_EVICT_MAX_THRESHOLDS 8
/* upstream's DefaultEvictionHard (Linux) */
#define AG_EVICT_DEFAULT_HARD                                                                      \
    "memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%,"      \
    "imagefs.inodesFree<5%"

/* "sig<qty|pct%,..." (NULL: the defaults; "": none) into out; a given flag replaces the
 * defaults (mergeDefaultEvictionSettings=false). -1 with upstream's messages. */
int ag_evict_parse(const char *spec, struct ag_threshold *out, size_t *n, struct ck_err *err);
/* "sig=qty|pct%,..." minimum reclaim onto the parsed thresholds. */
int ag_evict_parse_reclaim(const char *spec, struct ag_threshold *t, size_t n, struct ck_err *err);
/* The threshold's quantity against capacity (GetThresholdQuantity). */
int64_t ag_threshold_value(const struct ag_threshold *t, int64_t capacity);

struct ag_observation {
    bool have;
    int64_t available, capacity;
};
struct ag_evict_obs {
    struct ag_observation s[AG_SIG_N];
};

/* A pod that may be evicted, with its usage. */
struct ag_evict_cand {
    const char *uid;
    int32_t priority;
    bool critical; /* static, mirror or system-critical: never evicted */
    int64_t mem_usage, mem_request;
    int64_t disk_usage, disk_request;
};
/* Sorts for signal sig: memory: usage over requests first, then lower priority, then larger
 * usage - requests (rankMemoryPressure); disk signals the same with disk usage; pid: lower
 * priority first. */
void ag_evict_rank(struct ag_evict_cand *v, size_t n, enum ag_signal sig);

struct ag_evict_state {
    struct ag_threshold t[AG_EVICT_MAX_THRESHOLDS];
    size_t nt;
    int64_t transition_ns;
    bool met[AG_EVICT_MAX_THRESHOLDS]; /* last round */
    int64_t cond_seen_ns[AG_COND_N];   /* last time each condition's thresholds were met */
    bool cond[AG_COND_N];
};

struct ag_evict_decision {
    int threshold; /* index of the threshold to act on, -1: none met */
    int victim;    /* index into the ranked candidates (after sorting), -1: none */
};
/* One synchronize round: thresholds met (with minimum reclaim for those met last round),
 * conditions (held for transition_ns after they were last met), and, when a threshold is
 * met, the pod to evict: cands sorted by that signal's ranking, the first non-critical one.
 * Memory thresholds come first, then pid, then disk. */
void ag_evict_sync(struct ag_evict_state *s, const struct ag_evict_obs *o, int64_t now_ns,
                   struct ag_evict_cand *cands, size_t n, struct ag_evict_decision *d);

#endif
