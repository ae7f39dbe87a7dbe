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
    /* nodevol: the pressure taints last applied to the Node (bits: 1 memory, 2 disk, 4 pid;
     * -1 unknown), node queue worker only */
    int pressure_taints;
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
    char *pull_err;                 /* images.c: the last pull failure, "ErrImagePull: ..." */
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
    /* life: pod start duration (first sync to Running) */
    int64_t first_seen_ns; /* monotonic, set by the first sync */
    bool start_observed;
    /* nodevol: static pods and eviction */
    bool is_static;   /* from the manifest folder: p->pod is the static pod, not an API object */
    char *mirror_uid; /* under agent.mu: the mirror pod's uid (static pods), NULL while none */
    char *status_uid; /* the worker's: the API uid the last status went to */
    char *evict_msg;  /* under agent.mu: set once the eviction manager evicted the pod */
};

struct ag_metrics {
    atomic_long pod_syncs, pod_sync_errors, status_patches, status_patch_errors;
    atomic_long node_status_posts, node_status_errors, lease_renews, lease_errors;
    atomic_long lease_late; /* renewals that happened more than 2 s after they were due */
    atomic_long pleg_relists, pleg_events, containers_started, final_deletes;
    atomic_long pleg_relist_ns_total, pleg_relist_ns_max;
};

/* life: kubelet_pod_start_duration_seconds (upstream's buckets) */
#define AG_POD_START_BUCKETS 25
struct ag_life_metrics {
    atomic_long pod_start_bucket[AG_POD_START_BUCKETS]; /* non-cumulative counts */
    atomic_long pod_start_count;
    atomic_llong pod_start_sum_us;
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
    /* nodevol: static pods (static.c), eviction (evict.c), image/container GC (gc.c) */
    struct ag_static *statics;
    struct ag_evict *evict;
    struct ag_gc *gc;
    atomic_bool synced;
    struct ag_metrics m;
    int64_t started_ns;
    /* kubesrv: the kubelet server's bound port (daemonEndpoints.kubeletEndpoint.Port); 0 until
     * it listens (the Node then says 10250) */
    int kubelet_port;
    /* life: the prober pool (NULL on hollow nodes) and lifecycle metrics */
    struct ag_prober *prober;
    struct ag_life_metrics lm;
    /* service networking (proxy_hook.c, dns_hook.c) */
    struct ag_proxy *proxy;
    struct ag_dns *dns;
    struct ag_routes *routes;         /* routes.c: host-gw routes to the other nodes' podCIDRs */
    struct ag_join_renew *join_renew; /* join.c: the client certificate's rotation */
    char pod_cidr[64]; /* podcidr.c: the podCIDR pods run on ("": the default bridge) */
};

/* proxy_hook.c: starts the service proxy when the options ask for it (0 also when off). */
int ag_proxy_start(struct agent *ag, struct ck_err *err);
void ag_proxy_stop(struct agent *ag);
/* dns_hook.c: starts the cluster DNS server when the options ask for it. */
int ag_dns_start(struct agent *ag, struct ck_err *err);
void ag_dns_stop(struct agent *ag);
/* dns_hook.c: fills sc's dns_servers/searches/options for the pod as upstream's kubelet does
 * (dnsPolicy, dnsConfig); the returned record owns them until ag_dns_sandbox_done. */
struct ag_dns_conf;
struct ag_dns_conf *ag_dns_sandbox(struct agent *ag, struct ag_pod *p, const json_t *pod,
                                   struct rt_sandbox_config *sc);
void ag_dns_sandbox_done(struct ag_dns_conf *c);
/* join.c: with --server/--token, joins the cluster (bootstrap token, CSR, certificate) and
 * returns the path of the node's own kubeconfig (malloc'd); NULL with err on failure. */
char *ag_join(const struct agent_opts *o, const char *root, struct ck_err *err);
/* join.c: after the client exists, renews the node's client certificate when 70-90 % of its
 * lifetime has passed (a thread; the client reads the renamed file on its next connection);
 * no-op without a join. */
void ag_join_renew_start(struct agent *ag, const char *kubeconfig);
void ag_join_renew_stop(struct agent *ag);
/* podcidr.c: with IPAM (a join or --cluster-cidr, no --cni-conf), waits (bounded) for the
 * Node's spec.podCIDR and reopens the runtime on a bridge with that subnet. */
int ag_podcidr_apply(struct agent *ag);
/* routes.c: a route to every other Node's podCIDR via its InternalIP (real nodes). */
int ag_routes_start(struct agent *ag, struct ck_err *err);
void ag_routes_stop(struct agent *ag);

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

/* life: events.c: the same without the pod record's memory (prober threads); init: the
 * container is an init container (fieldPath spec.initContainers{name}). */
void ag_event_obj(struct agent *ag, const struct ag_node *node, const char *ns, const char *pod,
                  const char *uid, const char *container, bool init, bool warning,
                  const char *reason, const char *msg);

/* life: prober.c, the probe worker pool (prober.h) */
struct ag_prober;
struct ag_probe_view;
struct ck_buf;
int ag_prober_start(struct agent *ag); /* agent.c: after the pod queue exists */
void ag_prober_stop(struct agent *ag); /* agent.c: after the pod workers ended */
/* Adds/updates/removes the pod's probe workers from its spec and runtime snapshot; *views
 * (malloc'd, free it) gets one entry per regular container and sidecar; returns their number. */
size_t ag_prober_sync_pod(struct agent *ag, struct ag_pod *p, const json_t *pod,
                          const struct ag_pod_snapshot *snap, struct ag_probe_view **views);
void ag_prober_remove_pod(struct agent *ag, const char *uid);
void ag_prober_metrics(struct agent *ag, struct ck_buf *out); /* prober_probe_total */
/* life: podworker.c: kubelet_pod_start_duration_seconds and prober_probe_total for the
 * agent's /metrics (httpd.c should call it) */
void ag_lifecycle_metrics(struct agent *ag, struct ck_buf *out);
void ag_lifecycle_observe_start(struct agent *ag, double seconds); /* one pod start */

/* nodevol: env.c, static.c, evict.c, gc.c */
/* The environment of container c (env with valueFrom, envFrom, $(VAR) expansion) as upstream
 * makeEnvironmentVariables builds it; -1 with upstream's message (the caller reports
 * CreateContainerConfigError). */
struct ag_env {
    struct rt_kv *v;
    size_t n;
    char **owned; /* strings v points to */
    size_t nowned;
};
int ag_env_build(struct agent *ag, struct ag_pod *p, const json_t *pod, const json_t *c,
                 const char *sandbox_id, struct ag_env *out, struct ck_err *err);
void ag_env_release(struct ag_env *e);
/* Static pods from --pod-manifest-path and their mirror pods. start reads the folder once
 * (before the PLEG runs) and starts the poller. */
int ag_static_start(struct agent *ag, struct ck_err *err);
void ag_static_stop(struct agent *ag);
bool ag_static_is_mirror(const json_t *pod);
void ag_static_kick(struct agent *ag); /* a mirror pod changed: check mirrors soon */
/* The status manager's target: the pod's API uid (a static pod's mirror), NULL to skip the
 * status for now. Clears p->sent when the target changed (a recreated mirror pod). Called by
 * the worker holding the pod. */
const char *ag_pod_status_uid(struct agent *ag, struct ag_pod *p);
/* agent.c: creates or refreshes the record of a static pod (p->pod = pod) and queues it;
 * forget marks it gone (the worker stops and forgets it). */
void ag_pod_static_put(struct agent *ag, json_t *pod);
void ag_pod_static_gone(struct agent *ag, const char *uid);
/* Eviction manager (pkg/kubelet/eviction). */
int ag_evict_start(struct agent *ag, struct ck_err *err);
void ag_evict_stop(struct agent *ag);
bool ag_evict_pending(struct agent *ag, struct ag_pod *p);
/* Overlays an evicted pod's phase/reason/message/DisruptionTarget on a generated status. */
void ag_evict_status(struct agent *ag, struct ag_pod *p, json_t *status);
/* The grace period to kill the pod with: an evicted pod's is upstream's hard-eviction override
 * (1 s, raised to the 2 s minimum), others keep grace. */
int ag_evict_grace(struct agent *ag, struct ag_pod *p, int grace);
/* The eviction manager's pod admission (Admit): NULL to admit, else the reason message
 * (malloc'd) for a pod rejected under node pressure. */
char *ag_evict_admit(struct agent *ag, const json_t *pod);
/* The node conditions the eviction manager holds (with the transition period). */
void ag_evict_conditions(struct agent *ag, bool *memory, bool *disk, bool *pid);
/* Container and image garbage collection. */
int ag_gc_start(struct agent *ag);
void ag_gc_stop(struct agent *ag);
/* Frees at least bytes of image space (image GC, unused images oldest first); returns the
 * bytes freed. */
int64_t ag_gc_images(struct agent *ag, int64_t bytes);
/* Removes dead containers beyond upstream's limits; returns their number. */
int ag_gc_containers(struct agent *ag);

/* agent.c */
struct ag_pod *ag_pod_get(struct agent *ag, const char *uid);
void ag_pod_forget(struct agent *ag, struct ag_pod *p); /* removes and frees the record */

/* kubesrv: the kubelet server (kubeletsrv.c: HTTPS on --port, 10250; logs.c: /containerLogs;
 * stats.c: /stats/summary and /metrics/resource) and the bodies it shares with httpd.c. */
struct ag_kubesrv;
struct ag_http_conn;
struct ag_http_req;
struct ck_buf;
/* Starts listening (sets ag->kubelet_port); NULL with err when it cannot. */
struct ag_kubesrv *ag_kubesrv_start(struct agent *ag, struct ck_err *err);
void ag_kubesrv_stop(struct ag_kubesrv *k);
void ag_httpd_metrics(struct agent *ag, struct ck_buf *b);
/* /healthz, /livez, /readyz[/check][?query]: the status, or 0 when target is none of them. */
int ag_httpd_health(struct agent *ag, const char *target, struct ck_buf *b);
void ag_logs_serve(struct agent *ag, struct ag_http_conn *c, const struct ag_http_req *r);
void ag_stats_summary(struct agent *ag, struct ck_buf *b);
void ag_stats_resource_metrics(struct agent *ag, struct ck_buf *b);

/* httpd.c */
struct ag_httpd;
struct ag_httpd *ag_httpd_start(struct agent *ag, const char *bind, int port, struct ck_err *err);
int ag_httpd_port(const struct ag_httpd *h);
void ag_httpd_stop(struct ag_httpd *h);

#endif
