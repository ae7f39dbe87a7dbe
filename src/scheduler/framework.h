/* SPDX-License-Identifier: Apache-2.0 */
/* The scheduling framework (kube-scheduler framework/interface.go and runtime/framework.go):
 * plugins are tables of function pointers, one per extension point they implement; a profile
 * is the ordered plugin lists of one schedulerName, built from a KubeSchedulerConfiguration.
 *
 * Plugin functions get `self` (the plugin's instance data) and, for the per-cycle points, a
 * state slot of their own: PreFilter writes *fstate (read by Filter), PreScore writes
 * *sstate (read by Score and NormalizeScore). The state is freed with the plugin's
 * free_state at the end of the cycle. Filter and Score run concurrently over nodes, so they
 * must only read the state. */
#ifndef CK_SCHED_FRAMEWORK_H
#define CK_SCHED_FRAMEWORK_H

#include "scheduler/types.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define SCH_MAX_PLUGINS 32

struct sch_handle;
struct sch_cycle;

struct sch_node_score {
    size_t node; /* index in the snapshot */
    int64_t score;
};

/* Everything a plugin may implement; NULL members are extension points it does not. */
struct sch_plugin_def {
    const char *name;
    int64_t default_weight; /* for the default profile's score point; 0 = not scored */
    void *(*create)(const json_t *args, struct sch_handle *h, char *err, size_t errlen);
    void (*destroy)(void *self);
    void (*free_state)(void *state);

    /* QueueSort: true when a sorts before b. */
    bool (*less)(void *self, const struct sch_pod *a, int64_t ts_a, const struct sch_pod *b,
                 int64_t ts_b);
    enum sch_code (*pre_enqueue)(void *self, const struct sch_pod *p, struct sch_status *st);
    enum sch_code (*pre_filter)(void *self, struct sch_cycle *cs, const struct sch_pod *p,
                                void **fstate, struct sch_status *st);
    enum sch_code (*filter)(void *self, const void *fstate, const struct sch_pod *p,
                            const struct sch_node *n, struct sch_status *st);
    /* PreFilterExtensions (used by preemption): add/remove a pod to/from the state as if
     * it ran (or stopped running) on n. */
    void (*add_pod)(void *self, void *fstate, const struct sch_pod *p, const struct sch_pod *other,
                    const struct sch_node *n);
    void (*remove_pod)(void *self, void *fstate, const struct sch_pod *p,
                       const struct sch_pod *other, const struct sch_node *n);
    void *(*clone_state)(const void *fstate);
    /* PostFilter: may set *nominated (malloc'd node name); the message goes to the event. */
    enum sch_code (*post_filter)(void *self, struct sch_cycle *cs, const struct sch_pod *p,
                                 struct sch_status *st, char **nominated);
    enum sch_code (*pre_score)(void *self, struct sch_cycle *cs, const struct sch_pod *p,
                               const size_t *nodes, size_t n, void **sstate, struct sch_status *st);
    int64_t (*score)(void *self, const void *sstate, const struct sch_pod *p,
                     const struct sch_node *n);
    void (*normalize)(void *self, const void *sstate, const struct sch_pod *p,
                      struct sch_node_score *scores, size_t n);
    enum sch_code (*reserve)(void *self, struct sch_cycle *cs, const struct sch_pod *p,
                             const char *node, struct sch_status *st);
    void (*unreserve)(void *self, struct sch_cycle *cs, const struct sch_pod *p, const char *node);
    enum sch_code (*permit)(void *self, struct sch_cycle *cs, const struct sch_pod *p,
                            const char *node, struct sch_status *st);
    enum sch_code (*pre_bind)(void *self, const struct sch_pod *p, const char *node,
                              struct sch_status *st);
    enum sch_code (*bind)(void *self, const struct sch_pod *p, const char *node,
                          struct sch_status *st);
    void (*post_bind)(void *self, const struct sch_pod *p, const char *node);
};

/* The registry of in-tree plugins. */
extern const struct sch_plugin_def *const sch_registry[];
const struct sch_plugin_def *sch_registry_find(const char *name);

/* What plugins may use from the scheduler. Any member may be NULL (unit tests). */
struct sch_handle {
    struct ck_client *client;
    struct sch_nslookup ns;
    /* DefaultSelector: a selector of the pod's services, RCs, RSs and StatefulSets (new
     * selector, NULL when none selects the pod). */
    struct sel *(*default_selector)(void *arg, const struct sch_pod *p);
    void *arg;
    /* The pods that could be preemption victims are looked up in the snapshot; PDBs
     * (a new reference to an array of policy/v1 PodDisruptionBudgets, or NULL). */
    json_t *(*pdbs)(void *arg);
};

enum sch_point {
    SCH_PT_QUEUE_SORT,
    SCH_PT_PRE_ENQUEUE,
    SCH_PT_PRE_FILTER,
    SCH_PT_FILTER,
    SCH_PT_POST_FILTER,
    SCH_PT_PRE_SCORE,
    SCH_PT_SCORE,
    SCH_PT_RESERVE,
    SCH_PT_PERMIT,
    SCH_PT_PRE_BIND,
    SCH_PT_BIND,
    SCH_PT_POST_BIND,
    SCH_PT_COUNT,
};
extern const char *const sch_point_names[SCH_PT_COUNT]; /* "queueSort", "preEnqueue", ... */

struct sch_inst {
    const struct sch_plugin_def *def;
    void *self;
    int64_t weight;
};

struct sch_profile {
    char *scheduler_name;
    int pct_nodes; /* percentageOfNodesToScore, -1 = the global one */
    struct sch_inst plugins[SCH_MAX_PLUGINS];
    size_t nplugins;
    int pt[SCH_PT_COUNT][SCH_MAX_PLUGINS]; /* plugin indexes per point, in order */
    size_t npt[SCH_PT_COUNT];
    struct sch_handle *h;
};

/* Builds a profile from one entry of KubeSchedulerConfiguration.profiles (NULL = the
 * default profile). Returns NULL with err filled on an unknown plugin or bad args. */
struct sch_profile *sch_profile_new(const json_t *cfg, struct sch_handle *h, char *err,
                                    size_t errlen);
void sch_profile_free(struct sch_profile *p);
/* The plugin index of name in the profile, or -1. */
int sch_profile_plugin(const struct sch_profile *p, const char *name);

/* Per-cycle state (CycleState). */
struct sch_cycle {
    const struct sch_profile *prof;
    const struct sch_snapshot *snap;
    void *fstate[SCH_MAX_PLUGINS];
    void *sstate[SCH_MAX_PLUGINS];
    bool skip_filter[SCH_MAX_PLUGINS];
    bool skip_score[SCH_MAX_PLUGINS];
    /* node statuses of the last filter pass (Diagnosis.NodeToStatus), by snapshot index */
    struct sch_status *node_status;
    size_t node_status_n;
    struct sch_status prefilter_status; /* set when PreFilter rejected every node */
    bool prefilter_rejected;
    struct sch_pool *pool; /* Score runs on it over chunks of nodes (NULL: inline) */
};

void sch_cycle_init(struct sch_cycle *cs, const struct sch_profile *prof,
                    const struct sch_snapshot *snap);
void sch_cycle_release(struct sch_cycle *cs);

/* Runs PreFilter; SCH_OK, or the first non-success status (its plugin set). */
enum sch_code sch_run_pre_filter(struct sch_cycle *cs, const struct sch_pod *p,
                                 struct sch_status *st);
/* Runs every Filter plugin on one node (stops at the first failure). */
enum sch_code sch_run_filter(const struct sch_cycle *cs, const struct sch_pod *p,
                             const struct sch_node *n, struct sch_status *st);
/* Runs PreScore over the feasible nodes, then Score (in parallel over chunks of nodes on
 * cs->pool), NormalizeScore and the weights; totals[i] is the weighted sum of nodes[i]. */
enum sch_code sch_run_score(struct sch_cycle *cs, const struct sch_pod *p, const size_t *nodes,
                            size_t n, int64_t *totals, struct sch_status *st);

/* pluginhelper.DefaultNormalizeScore. */
void sch_default_normalize(int64_t max_priority, bool reverse, struct sch_node_score *s, size_t n);

/* numFeasibleNodesToFind. */
size_t sch_num_nodes_to_find(int pct, size_t all);

/* Runs fn(ctx, i) for i in [0, n) on the pool's threads and the caller's; returns when all
 * are done. A NULL pool runs inline. */
struct sch_pool;
struct sch_pool *sch_pool_new(int threads);
void sch_pool_free(struct sch_pool *p);
void sch_pool_run(struct sch_pool *p, size_t n, void (*fn)(void *ctx, size_t i), void *ctx);

#endif
