/* SPDX-License-Identifier: Apache-2.0 */
/* The controller manager's shared state (kube-controller-manager's ControllerContext): one
 * client, one shared informer per resource, a stop flag and per-controller counters. Each
 * controller has init (register handlers and indexes before the informers start) and run
 * (start workers once the caches have synced). */
#ifndef CK_CONTROLLERS_CM_H
#define CK_CONTROLLERS_CM_H

#include "ckube/client.h"
#include "ckube/informer.h"
#include "ckube/wq.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define CM_MAX_CTRL 32

struct cm;

struct cm_controller {
    const char *name;  /* upstream's name: "replicaset", "deployment", "garbagecollector" */
    const char *alias; /* upstream's newer name: "replicaset-controller", ... */
    int (*init)(struct cm *cm, void **state); /* NULL: not built yet (skipped) */
    void (*run)(void *state);
    void (*stop)(void *state); /* shut the queue down and join the workers */
    void (*free)(void *state);
    atomic_long syncs, errors;
};

struct cm {
    struct ck_client *client;
    struct ck_informer_factory *factory;
    struct ck_informer *pods, *rss, *deps, *rcs;
    volatile int *stop;
    int workers;                         /* per controller */
    int node_grace_s;                    /* --node-monitor-grace-period (nodelifecycle), 0: 40 */
    int64_t terminated_pod_gc_threshold; /* --terminated-pod-gc-threshold (podgc), 0: 12500 */
    bool allocate_node_cidrs;            /* nodeipam: --allocate-node-cidrs */
    const char *cluster_cidr;            /* nodeipam: --cluster-cidr */
    int node_cidr_mask;                  /* nodeipam: --node-cidr-mask-size, 0: 24 */
    /* csrsigning: --cluster-signing-cert-file / -key-file (NULL: the signers stay idle) and
     * --cluster-signing-duration in seconds (0: one year) */
    const char *csr_signing_cert, *csr_signing_key;
    int64_t csr_signing_duration_s;
    char *root_ca_pem; /* satoken: --root-ca-file (or the kubeconfig's CA), owned; NULL: none */
    void *rs_state, *dep_state, *gc_state;
};

/* Paths of the informers every controller shares. */
#define CM_PODS_PATH "/api/v1/pods"
#define CM_RS_PATH "/apis/apps/v1/replicasets"
#define CM_DEP_PATH "/apis/apps/v1/deployments"
#define CM_RC_PATH "/api/v1/replicationcontrollers"

/* The controllers this build knows, in start order. */
extern struct cm_controller cm_replicaset, cm_rc, cm_deployment, cm_gc, cm_job, cm_cronjob,
    cm_statefulset, cm_daemonset, cm_disruption, cm_namespace, cm_ttlafterfinished, cm_endpoints,
    cm_endpointslice, cm_nodelifecycle, cm_podgc, cm_nodeipam;
extern struct cm_controller cm_csrapproving, cm_csrsigning; /* joinapi */
extern struct cm_controller cm_serviceaccount, cm_clusterroleaggregation;
extern struct cm_controller cm_rootcacert, cm_tokencleaner; /* satoken */
extern struct cm_controller cm_resourcequota;                /* admission */
extern struct cm_controller cm_epsmirror; /* svcapi: endpointslice-mirroring-controller */
struct cm_controller **cm_controllers(void);
/* Whether name is enabled by a --controllers list ("*", "name", "-name"; comma-separated);
 * spec NULL means "*". */
bool cm_controller_enabled(const char *spec, const struct cm_controller *c);

/* Creates the shared informers (indexes: owner uid, uid). */
void cm_init_informers(struct cm *cm);

/* ---- small JSON helpers ---- */
/* The integer at a dotted path, or def. */
int64_t cm_jint(const json_t *obj, const char *path, int64_t def);
/* RFC 3339 time at a dotted path as nanoseconds since the epoch; 0 when missing. */
int64_t cm_jtime_ns(const json_t *obj, const char *path);
/* "now" as RFC 3339. */
void cm_now(char out[32]);
/* Index functions: every ownerReferences[].uid; metadata.uid. */
void cm_index_owner_uid(const json_t *obj, ck_index_emit_fn emit, void *ctx);
void cm_index_uid(const json_t *obj, ck_index_emit_fn emit, void *ctx);
/* The object in the informer whose namespace/name is given, or NULL (new reference). */
json_t *cm_get(struct ck_informer *inf, const char *ns, const char *name);
/* Semantic equality of two JSON values: null, {} and [] count as absent. */
bool cm_json_semantic_equal(const json_t *a, const json_t *b);
/* The same, with 0 and false also counting as absent (omitempty status fields). */
bool cm_status_equal(const json_t *a, const json_t *b);

/* A controller reference for owner (apiVersion/kind given): controller and blockOwnerDeletion
 * true. New reference. */
json_t *cm_controller_ref(const json_t *owner, const char *api_version, const char *kind);

/* ClaimObjects (controller_ref_manager.go): of candidates (all in the owner's namespace),
 * returns those the owner controls after adopting orphans that match sel and releasing owned
 * ones that no longer match. kind/api_version describe the owner; coll is the dependents'
 * collection path prefix ("/api/v1/namespaces/NS/pods"). New array reference. */
struct sel;
json_t *cm_claim(struct cm *cm, const json_t *owner, const char *api_version, const char *kind,
                 const char *owner_path, const struct sel *sel, const json_t *candidates,
                 const char *coll);

/* Runs n workers on q until it shuts down; sync returns -1 to retry with backoff. */
struct cm_workers {
    pthread_t *t;
    int n;
    struct wq *q;
    int (*sync)(void *arg, const char *key);
    void *arg;
    struct cm_controller *ctrl;
};
void cm_workers_start(struct cm_workers *w, int n);
void cm_workers_join(struct cm_workers *w);

/* Enqueue helper: the namespace/name key of obj. */
void cm_enqueue_obj(struct wq *q, const json_t *obj);

/* resolveControllerRef (cmref.c): the object of inf that ref (a controller reference, or NULL)
 * names when its kind is kind and the cached object has ref's uid; NULL otherwise. New
 * reference. */
json_t *cm_resolve_controller_ref(struct ck_informer *inf, const char *kind, const char *ns,
                                  const json_t *ref);
/* How an owner's spec.selector reads: a LabelSelector that selects nothing when empty
 * (workloads), one that selects everything when empty (policy/v1 PodDisruptionBudget), or a
 * plain map (ReplicationController, empty selects nothing). */
enum cm_sel_form { CM_SEL_LABEL_SELECTOR, CM_SEL_LABEL_SELECTOR_ALL, CM_SEL_MAP };
/* get<Kind>sForPod: queues in q every object of inf in obj's namespace whose selector matches
 * obj's labels. */
void cm_enqueue_selecting(struct wq *q, struct ck_informer *inf, const json_t *obj,
                          enum cm_sel_form form);

#endif
