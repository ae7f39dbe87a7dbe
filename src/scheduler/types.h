/* SPDX-License-Identifier: Apache-2.0 */
/* The scheduler's data model (kube-scheduler's framework/types.go): parsed pods (PodInfo),
 * per-node aggregates (NodeInfo), the per-cycle snapshot, and plugin statuses.
 *
 * A struct sch_pod is immutable once built and refcounted: the cache, the snapshot clones and
 * the queue share it. A struct sch_node is owned by the cache; the snapshot holds clones whose
 * pod arrays point at the same sch_pods. */
#ifndef CK_SCHED_TYPES_H
#define CK_SCHED_TYPES_H

#include "k8s/podres.h"
#include "lib/selector.h"
#include "lib/strmap.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCH_MAX_NODE_SCORE 100
#define SCH_LABEL_HOSTNAME "kubernetes.io/hostname"
#define SCH_LABEL_ZONE "topology.kubernetes.io/zone"

/* ---- statuses (framework.Status) ------------------------------------------------------- */

enum sch_code {
    SCH_OK = 0,
    SCH_ERROR,
    SCH_UNSCHEDULABLE, /* Unschedulable: preemption may help */
    SCH_UNRESOLVABLE,  /* UnschedulableAndUnresolvable */
    SCH_WAIT,          /* Permit: wait */
    SCH_SKIP,          /* PreFilter/PreScore: skip this plugin's Filter/Score */
};

#define SCH_MAX_REASONS 4
#define SCH_REASON_LEN 120

struct sch_status {
    enum sch_code code;
    int plugin; /* index of the plugin in its profile, -1 when none */
    int nreasons;
    char reasons[SCH_MAX_REASONS][SCH_REASON_LEN];
};

/* Sets code and appends one reason (printf-style); returns code. */
enum sch_code sch_status_set(struct sch_status *st, enum sch_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sch_status_reset(struct sch_status *st);
/* Reasons joined with ", " into out. */
void sch_status_message(const struct sch_status *st, char *out, size_t n);

/* ---- pods (PodInfo) --------------------------------------------------------------------- */

struct sch_nslookup {
    /* The labels of a namespace (borrowed, may be NULL); used for namespaceSelector. */
    const json_t *(*labels)(void *arg, const char *ns);
    void *arg;
};

/* An (anti-)affinity term with its selectors parsed (AffinityTerm / WeightedAffinityTerm). */
struct sch_term {
    struct sel *sel;    /* labelSelector (+ matchLabelKeys); NULL = matches nothing */
    struct sel *ns_sel; /* namespaceSelector, NULL when absent */
    char **namespaces;  /* namespaces list (or the owner's namespace when both are empty) */
    size_t nns;
    const char *topology_key;
    int32_t weight;
};

struct sch_port {
    char ip[48];
    char proto[8];
    int32_t port;
};

struct sch_pod {
    atomic_int refs;
    json_t *obj;
    const char *name, *ns, *uid;
    char *key; /* "namespace/name" */
    const json_t *labels;
    const json_t *tolerations;
    int32_t priority;
    bool deleting;
    struct k8s_resource req, nonzero; /* PodRequests summary; non-zero cpu/memory */
    struct k8s_reslist scalar;        /* requests of other (extended) resources */
    struct sch_port *ports;           /* host ports wanted */
    size_t nports;
    struct sch_term *req_aff, *req_anti, *pref_aff, *pref_anti;
    size_t nreq_aff, nreq_anti, npref_aff, npref_anti;
    char **images; /* container and init container images, normalized */
    size_t nimages;
    const char *node_name; /* spec.nodeName, "" when unset */
    bool node_constraints; /* a nodeSelector or required node affinity */
    bool has_aff;          /* spec.affinity has podAffinity or podAntiAffinity */
    bool score_aff; /* terms that count when scoring other pods: required affinity, preferred */
};

/* Parses a v1 Pod (takes a new reference on obj). Never fails: invalid selectors match
 * nothing, as upstream's NewPodInfo ignores their errors. */
struct sch_pod *sch_pod_new(json_t *obj);
struct sch_pod *sch_pod_ref(struct sch_pod *p);
void sch_pod_unref(struct sch_pod *p);
bool sch_pod_has_affinity(const struct sch_pod *p);
bool sch_pod_has_required_anti(const struct sch_pod *p);
/* AffinityTerm.Matches: the namespace and labels of p match the term. */
bool sch_term_matches(const struct sch_term *t, const struct sch_pod *p,
                      const struct sch_nslookup *nl);
/* A LabelSelector with matchLabelKeys (In) / mismatchLabelKeys (NotIn) merged in from labels;
 * NULL for a null/absent or invalid selector (matches nothing). */
struct sel *sch_selector_with_keys(const json_t *ls, const json_t *match_keys,
                                   const json_t *mismatch_keys, const json_t *labels);
/* "docker.io/library/x" -> unchanged; appends ":latest" when no tag or digest is given. */
char *sch_normalize_image(const char *image);

/* ---- nodes (NodeInfo) ------------------------------------------------------------------- */

struct sch_image {
    char *name;
    int64_t size;
};

/* What comes from the Node object alone: immutable, refcounted, shared by clones. */
struct sch_nodedata {
    atomic_int refs;
    json_t *obj;
    const char *name;
    const json_t *labels;
    const json_t *taints;
    bool unschedulable;
    struct k8s_resource alloc;
    struct k8s_reslist alloc_scalar; /* extended resources */
    struct sch_image *images;
    size_t nimages;
};

struct sch_node {
    struct sch_nodedata *nd; /* NULL for a node that only has pods so far */
    struct sch_pod **pods;
    size_t npods, podcap;
    size_t naff, nreq_anti; /* pods with affinity / required anti-affinity */
    size_t nscore_aff;      /* pods with score_aff */
    struct k8s_resource requested, nonzero;
    struct k8s_reslist req_scalar;
    struct sch_port *ports; /* used host ports, one per pod port */
    size_t nports, portcap;
    int64_t generation;
};

struct sch_nodedata *sch_nodedata_new(json_t *node);
void sch_nodedata_unref(struct sch_nodedata *nd);

struct sch_node *sch_node_new(void);
void sch_node_free(struct sch_node *n);
struct sch_node *sch_node_clone(const struct sch_node *n);
void sch_node_set(struct sch_node *n, json_t *node);          /* NULL clears */
void sch_node_add_pod(struct sch_node *n, struct sch_pod *p); /* takes a reference */
/* Removes the pod with p's key; returns true when found. */
bool sch_node_remove_pod(struct sch_node *n, const char *key);
static inline const char *sch_node_name(const struct sch_node *n)
{
    return n->nd ? n->nd->name : "";
}
static inline const char *sch_node_label(const struct sch_node *n, const char *key)
{
    return n->nd ? json_string_value(json_object_get(n->nd->labels, key)) : NULL;
}

/* ---- snapshot --------------------------------------------------------------------------- */

struct sch_snapshot {
    struct sch_node **nodes; /* clones, owned */
    size_t n, cap;
    int64_t *gens;                           /* nodes[i]->generation, contiguous */
    struct ck_strmap byname;                 /* name -> index + 1 */
    size_t *with_aff, nwith_aff;             /* indexes of nodes that have pods with affinity */
    size_t *with_score_aff, nwith_score_aff; /* ... with pods with score_aff */
    size_t *with_req_anti, nwith_req_anti;   /* ... with required anti-affinity */
    struct ck_strmap image_nodes; /* image name -> number of nodes having it (as uintptr) */
    int64_t list_gen;
};

void sch_snapshot_init(struct sch_snapshot *s);
void sch_snapshot_release(struct sch_snapshot *s);
/* Builds a snapshot straight from nodes (tests); the nodes are cloned. */
void sch_snapshot_from(struct sch_snapshot *s, struct sch_node *const *nodes, size_t n);
/* Recomputes the derived lists (affinity indexes, generations). */
void sch_snapshot_index(struct sch_snapshot *s);
const struct sch_node *sch_snapshot_get(const struct sch_snapshot *s, const char *name);

#endif
