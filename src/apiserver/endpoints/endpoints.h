/* SPDX-License-Identifier: Apache-2.0 */
/* The request handlers behind api_handle, in the role of upstream's endpoints/handlers and
 * registry/rest: routing, content negotiation, per-verb semantics (GET, LIST, WATCH, CREATE,
 * UPDATE, PATCH, server-side apply, DELETE, deletecollection), subresources, reviews,
 * discovery, Service IP/port allocation and the bootstrap objects. They read and write through
 * the storage engine (storage/) and use the registry (registry/) and encodings (encoding/).
 * Not for other components: they use api.h. Symbols are prefixed eng_. */
#ifndef CK_APISERVER_ENDPOINTS_H
#define CK_APISERVER_ENDPOINTS_H

#include "apiserver/api.h"
#include "apiserver/authz/rbac.h"
#include "apiserver/registry/registry.h"
#include "apiserver/storage/storage.h"
#include "lib/selector.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct eng_metrics {
    atomic_llong requests[8]; /* by verb index */
    atomic_llong list_items;
    atomic_llong list_bytes;
    atomic_llong errors;
    atomic_llong list_pages_snapshot; /* exact-revision pages served from a kept snapshot */
    atomic_llong list_pages_store;    /* ... and from the store (no snapshot kept) */
};

struct api_server {
    struct eng_cache cache; /* also holds the store and the options */
    pthread_mutex_t alloc_mu; /* serialises Service IP/port allocation with its write */
    struct eng_svcalloc *sa;  /* alloc.c, kubesvc.c: service ranges, the endpoint reconciler */
    struct eng_metrics m;
    struct eng_listcost *lc;
    struct eng_tokens *tok; /* satoken: tokenauth.c (service-account and static tokens) */
    struct eng_rbac *rbac; /* authorize.c: the RBAC snapshot */
    bool always_allow;     /* --authorization-mode=AlwaysAllow */
};

/* ---- request context ---------------------------------------------------------------- */

struct eng_query {
    char *raw; /* decoded copy, key\0value\0 pairs */
    size_t n;
    const char *k[64];
    const char *v[64];
};

struct eng_req {
    struct api_server *s;
    const struct api_request *rq;
    struct api_response *rs;
    struct eng_query q;
    const struct reg_resource *res;
    char *ns;   /* NULL when not given */
    char *name; /* NULL for collections */
    char *sub;  /* subresource or NULL */
    enum eng_fmt fmt;
    const char *table_version; /* "v1" / "v1beta1" */
    bool watch;
    const struct reg_resource *view; /* served version when res is its storage (convert.c) */
    struct eng_conv *conv;           /* convert.c's state (converted request), or NULL */
};

const char *eng_q(const struct eng_req *r, const char *key);
/* A boolean query parameter as upstream decodes one (runtime.Convert_Slice_string_To_bool):
 * absent, "0" and "false" in any case are false; any other value, "" included, is true
 * (python's client sends watch=True). */
bool eng_qbool(const struct eng_req *r, const char *key);
void eng_add_warning(struct api_response *rs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Sets a JSON response: status code, content type application/json, body bytes. */
void eng_reply(struct eng_req *r, int status, const char *body, size_t len);
void eng_reply_err(struct eng_req *r, const struct ck_err *err);
void eng_err_not_found(struct ck_err *err, const struct reg_resource *res, const char *name);

/* discovery.c */
void eng_discovery_init(struct api_server *s);
void eng_discovery_free(struct api_server *s);
int eng_serve_discovery(struct eng_req *r, const char **segs, size_t nsegs);

/* read.c */
int eng_serve_get(struct eng_req *r);
int eng_serve_list(struct eng_req *r);
/* Parses label/field selectors of the request (NULL = none). */
int eng_parse_selectors(struct eng_req *r, struct sel **ls, struct sel **fs, struct ck_err *err);
/* Collects the current objects a request's namespace and selectors pick (deletecollection). */
int eng_list_collect(struct eng_req *r, struct eng_obj ***items, size_t *n, int64_t *rv,
                     struct ck_err *err);

/* write.c */
int eng_serve_create(struct eng_req *r);
int eng_serve_update(struct eng_req *r);
int eng_serve_patch(struct eng_req *r);
int eng_serve_delete(struct eng_req *r);
int eng_serve_deletecollection(struct eng_req *r);
int eng_serve_scale(struct eng_req *r);
int eng_serve_binding(struct eng_req *r);
int eng_serve_eviction(struct eng_req *r);
int eng_serve_review(struct eng_req *r); /* review.c */
int eng_bootstrap_namespaces(struct api_server *s, struct ck_err *err);
/* Creates body as the engine itself (no request); AlreadyExists counts as success. */
int eng_internal_create(struct api_server *s, const struct reg_resource *res, const char *ns,
                        json_t *body, struct ck_err *err);

/* apply.c: simplified server-side apply (see apply.c) */
int eng_apply(const struct reg_resource *res, json_t *cur, json_t *cfg, const char *manager,
              bool force, json_t **out, struct ck_err *err);
void eng_apply_init_fields(const struct reg_resource *res, json_t *obj, const char *manager);
/* Records a non-apply write in out's managedFields: changed fields move to manager's Update
 * entry (per subresource), removed fields leave every entry. cur is NULL on create. */
void eng_track_update(const struct reg_resource *res, json_t *cur, json_t *out, const char *manager,
                      const char *sub);
/* fieldManager, else the User-Agent product, else "kube-apiserver". */
const char *eng_manager_name(const struct eng_req *r, char *buf, size_t n);

/* alloc.c: Service ClusterIPs and NodePorts. Each allocated value is a store key
 * (/registry/core/serviceips/<ip>, /registry/core/servicenodeports/<port>) created, or
 * deleted, in the same store txn as the Service write, so API servers sharing a store never
 * hand out one value twice. */
struct eng_svc_key {
    char key[96];
    bool automatic; /* chosen by the allocator: taken meanwhile means "choose again" */
    char field[48]; /* asked for: the field and message of the 422 when it is taken */
    char detail[320];
};
struct eng_svc_plan {
    struct eng_svc_key *add; /* keys the write creates (each must be absent) */
    size_t nadd, capadd;
    struct eng_svc_key *del; /* keys the write releases (deleted when this Service owns them) */
    size_t ndel, capdel;
    char owner[400];  /* "<namespace>/<name> <uid>": the value of the keys */
    json_t *orig_spec; /* create: the spec before allocation, restored when allocating again */
    struct eng_svc_key *taken; /* found taken by a failed txn: avoided by later attempts */
    size_t ntaken, captaken;
    const struct reg_resource *res;
    char name[254];
};
int eng_alloc_init(struct api_server *s, struct ck_err *err);
/* Fills spec.clusterIP(s)/nodePorts of a Service (old: the stored object on update, else
 * NULL) and plans its keys into p (zeroed before the first call; eng_svc_plan_release).
 * Caller holds s->alloc_mu until eng_svc_commit is done. */
int eng_service_alloc(struct api_server *s, const struct reg_resource *res, json_t *svc,
                      json_t *old, struct eng_svc_plan *p, struct ck_err *err);
/* Writes the object (val: put with expect, as store_put; val NULL: delete with expect, as
 * store_delete) together with p's keys in one txn. 0, -1 with err (the object key's failures
 * carry store_put/store_delete's reasons; an asked-for value found taken is a 422), or 1: a
 * value the allocator chose was taken meanwhile, allocate again. */
int eng_svc_commit(struct api_server *s, struct eng_svc_plan *p, const char *key, size_t key_len,
                   const char *val, size_t len, int64_t expect, int64_t *rev, struct ck_err *err);
void eng_svc_plan_release(struct eng_svc_plan *p);
/* store_delete of cur at its revision; a Service's keys are released in the same txn. */
int eng_obj_delete(struct api_server *s, const struct eng_obj *cur, int64_t *rev,
                   struct ck_err *err);
/* kubesvc.c: default/kubernetes, its Endpoints and EndpointSlice, kept by a reconciler
 * thread (leases of every API server on the store) until eng_alloc_stop. */
int eng_bootstrap_kubernetes_service(struct api_server *s, struct ck_err *err);

/* authorize.c: RBAC and the Node authorizer (api_authorize). */
void eng_rbac_init(struct api_server *s);
void eng_rbac_free(struct api_server *s);
/* Creates the bootstrap policy's roles and bindings that do not exist (and kubeadm's node
 * bootstrap bindings). */
int eng_bootstrap_rbac(struct api_server *s, struct ck_err *err);
/* RBAC alone (system:masters first); reason gets upstream's text. */
enum rbac_decision eng_rbac_authorize(struct api_server *s, const struct rbac_attrs *a,
                                      char *reason, size_t reasonlen);
/* SelfSubjectRulesReview's status for who in ns (a new object). */
json_t *eng_rbac_rules(struct api_server *s, const struct rbac_attrs *who, const char *ns);
/* Escalation prevention for a write of an rbac object (a no-op for other resources): the
 * requester needs the escalate verb (roles) or bind verb (bindings: on the role referred to),
 * or must already hold every rule it grants; else 403 with upstream's message. */
int eng_rbac_check_escalation(struct api_server *s, const struct api_request *rq,
                              const struct reg_resource *res, const char *ns, const char *name,
                              const json_t *obj, struct ck_err *err);
void eng_alloc_stop(struct api_server *s);
/* Decodes a request body (JSON or YAML) into *out. strict rejects duplicate fields. */
int eng_decode_body(const struct api_request *rq, bool strict, json_t **out, struct ck_err *err);

/* convert.c: served versions stored as another resource (registry `storage`). Called once
 * the resource is known: returns 1 when the request was answered (computed resources,
 * subresources of groups.c, PATCH of a view), else 0 with r->res possibly swapped to the
 * stored resource and r->rq to a converted request. */
int eng_conv_begin(struct eng_req *r);
/* Converts the response (or gives the started watch its conversion); frees the state. */
void eng_conv_end(struct eng_req *r, struct api_watch *w);
/* Replaces the request body with obj's JSON for the rest of the request. */
void eng_conv_set_body(struct eng_req *r, json_t *obj);
/* groups.c: componentstatuses, CSR create and /approval; 1 when answered. */
int eng_groups_serve(struct eng_req *r);

/* watch.c */
enum api_result eng_serve_watch(struct eng_req *r, struct api_watch **out);
/* toplists.c: GET /debug/api/top-lists, the costliest (user agent, resource) pairs. */
int eng_serve_top_lists(struct eng_req *r);

/* small helpers (engine.c) */
char *eng_rfc3339_now(char out[21]);
int64_t eng_parse_int(const char *s, bool *ok);

#endif
