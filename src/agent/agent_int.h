/* SPDX-License-Identifier: Apache-2.0 */
/* Agent internals shared by agent.c (wiring, informer, PLEG), node.c (registration, status,
 * lease), podworker.c (pod sync/terminate, status manager) and httpd.c. */
#ifndef CK_AGENT_INT_H
#define CK_AGENT_INT_H

#include "agent/agent.h"
#include "agent/backoff.h"
#include "agent/podlogic.h"
#include "ckube/client.h"
#include "ckube/informer.h"
#include "ckube/wq.h"
#include "lib/strmap.h"
#include "runtime/runtime.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct img_store;
struct agent;

struct ag_node {
    struct agent *ag;
    int index;
    char *name;
    struct runtime *rt;
    char host_ip[64];
    /* node.c state: touched only by the node queue's worker for this node's keys */
    char *uid; /* the Node's uid once registered */
    bool registered;
    json_t *reported;         /* last status posted, heartbeat times stripped */
    int64_t last_report_ns;   /* monotonic */
    json_t *lease;            /* last Lease read or written */
    int64_t lease_backoff_ns; /* retry delay after a failed renew */
    int64_t lease_due_ns;     /* monotonic time the next renewal is due (0: none yet) */
    bool lease_started;
    /* PLEG: uid -> fingerprint (uintptr_t), owned by the PLEG thread */
    struct ck_strmap pleg;
};

struct ag_vol_state {
    char *name;
    char *rv; /* source resourceVersion last written (configMap / secret) */
};

enum ag_pod_state { AG_POD_SYNC = 0, AG_POD_TERMINATING, AG_POD_TERMINATED };

struct ag_pod {
    char *uid, *ns, *name;
    struct ag_node *node;
    /* under agent.mu */
    json_t *pod;   /* latest object from the informer (NULL for an orphan) */
    bool api_gone; /* deleted from the API (or never there: an orphan) */
    /* owned by the worker holding the key */
    enum ag_pod_state state;
    struct ag_backoff backoff;      /* container restarts, by container name */
    struct ag_backoff pull_backoff; /* image pulls, by image */
    struct ag_wait_reason *waits;   /* owned strings */
    size_t nwaits;
    json_t *sent; /* last status patched */
    struct ag_vol_state *vols;
    size_t nvols;
    /* events.c: recently posted (reason, message) hashes */
#define AG_EVENT_MEMORY 8
    uint64_t ev_hash[AG_EVENT_MEMORY];
    int64_t ev_time[AG_EVENT_MEMORY];
    size_t ev_next;
    bool deleted; /* the final DELETE succeeded */
};

struct ag_metrics {
    atomic_long pod_syncs, pod_sync_errors, status_patches, status_patch_errors;
    atomic_long node_status_posts, node_status_errors, lease_renews, lease_errors;
    atomic_long lease_late; /* renewals that happened more than 2 s after they were due */
    atomic_long pleg_relists, pleg_events, containers_started, final_deletes;
    atomic_long pleg_relist_ns_total, pleg_relist_ns_max;
};

struct agent {
    const struct agent_opts *o;
    struct ck_client *client;
    struct img_store *images; /* crun mode */
    bool hollow;
    const char *runtime_name;
    char *root;
    struct ag_node *nodes;
    int nnodes;
    struct ck_strmap node_by_name; /* name -> ag_node*, read-only after start */
    pthread_mutex_t mu;
    struct ck_strmap pods; /* uid -> ag_pod* */
    struct ck_informer *pod_inf;
    struct wq *podq;  /* keys: pod uid */
    struct wq *nodeq; /* keys: "r|s|l/<index>" */
    volatile int *stop;
    atomic_bool synced;
    struct ag_metrics m;
    int64_t started_ns;
};

/* node.c */
void ag_node_handle(struct agent *ag, const char *key); /* a node queue item */
void ag_node_schedule_all(struct agent *ag);
json_t *ag_node_status(struct ag_node *n, const json_t *old_status, int64_t now_real_ns);

/* podworker.c */
/* Syncs one pod; returns the delay (ns) after which it wants another sync, 0 for none, or <0
 * to be dropped (its record was freed). */
int64_t ag_pod_sync(struct agent *ag, const char *uid);
int ag_runtime_snapshot(struct runtime *rt, const char *uid, struct ag_pod_snapshot *s,
                        struct ck_err *err);

/* volumes.c: emptyDir, configMap, secret under <root>/volumes/<uid>/<name> */
/* Sets up (and refreshes) every volume; -1 with a FailedMount message in err. */
int ag_volumes_setup(struct agent *ag, struct ag_pod *p, const json_t *pod, struct ck_err *err);
/* The bind mounts of container c (arrays malloc'd; free *out, each (*paths)[i] and *paths);
 * returns their number. */
int ag_volume_mounts(struct agent *ag, const struct ag_pod *p, const json_t *c,
                     struct rt_mount **out, char ***paths);
/* Unmounts and removes the pod's volumes and its log directory. */
void ag_volumes_teardown(struct agent *ag, const struct ag_pod *p);
void ag_volumes_release(struct ag_pod *p);

/* events.c: posts a core/v1 Event about the pod (container: for fieldPath, may be NULL). */
void ag_event(struct agent *ag, struct ag_pod *p, const char *container, bool warning,
              const char *reason, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* agent.c */
struct ag_pod *ag_pod_get(struct agent *ag, const char *uid);
void ag_pod_forget(struct agent *ag, struct ag_pod *p); /* removes and frees the record */

/* httpd.c */
struct ag_httpd;
struct ag_httpd *ag_httpd_start(struct agent *ag, const char *bind, int port, struct ck_err *err);
int ag_httpd_port(const struct ag_httpd *h);
void ag_httpd_stop(struct ag_httpd *h);

#endif
