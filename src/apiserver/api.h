/* SPDX-License-Identifier: Apache-2.0 */
/* The boundary between the HTTP front end (http/, authn/: transport, TLS, authn, health,
 * metrics) and the API engine (endpoints/ over storage/, encoding/ and registry/: CRUD,
 * list/watch semantics, discovery, OpenAPI, tables). The engine never sees sockets; the front
 * end never parses objects. Layering: README.md in this folder.
 *
 * Threading: api_handle may be called concurrently from any thread. It blocks for writes
 * until the store has made them durable, so the front end runs mutating requests on worker
 * threads (never on an event-loop thread) to let group commit batch them. */
#ifndef CK_API_H
#define CK_API_H

#include "lib/buf.h"
#include "lib/err.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api_server;
struct api_watch;

struct api_opts {
    int64_t watch_history; /* events kept in memory for watch resume; 0 = default (10000)?
                              engine's choice */
    int64_t max_body;      /* bytes; 0 = 3 MiB */
    const char *external_host; /* for discovery serverAddressByClientCIDRs, may be NULL;
                                  "ip[:port]" also becomes default/kubernetes' Endpoints */
    const char *service_cidr;  /* IPv4 CIDR for Service clusterIPs; NULL = "10.96.0.0/12"
                                  (first address: default/kubernetes) */
    const char *service_node_port_range; /* "min-max"; NULL = "30000-32767" */
    const char *advertise_address; /* IPv4 of default/kubernetes' endpoints; NULL: external_host's
                                      host; "": the default-route interface's (bind 0.0.0.0) */
    int compact_interval_s;    /* store history compaction period (keeps >= one period);
                                  0 = 300 s, < 0 = never compact */
    bool ns_controller;        /* a deleted namespace is emptied and finalized by the
                                  controller manager's namespace controller, as upstream;
                                  false: the engine does both itself (no controller manager) */
    const char *authorization_mode; /* "Node,RBAC" (NULL: the default) or "AlwaysAllow" */
    const char *admission_enable;  /* --enable-admission-plugins (comma list; NULL: none) */
    const char *admission_disable; /* --disable-admission-plugins (admission/admission.h) */
    /* satoken: service-account tokens and the static token file (endpoints/tokenauth.c) */
    const char *sa_signing_key_file; /* RSA private key (PEM); NULL: no service-account tokens */
    const char *sa_issuer;           /* NULL: https://kubernetes.default.svc.cluster.local */
    const char *api_audiences;       /* comma-separated; NULL or "": the issuer */
    int64_t sa_max_token_expiration_s; /* TokenRequest cap; 0: none */
    const char *token_auth_file;     /* static token CSV; NULL: none */
};

/* Creates the engine on an open store: loads every object into memory, subscribes to the
 * store, creates the default namespaces (default, kube-system, kube-public, kube-node-lease)
 * if missing. Takes no ownership of st. */
int api_server_new(struct store *st, const struct api_opts *o, struct api_server **out,
                   struct ck_err *err);
void api_server_free(struct api_server *s);

struct api_request {
    const char *method;       /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *path;         /* percent-decoded path, no query, e.g. "/api/v1/namespaces/x/pods" */
    const char *query;        /* raw query string without '?', or NULL */
    const char *content_type; /* request Content-Type or NULL */
    const char *accept;       /* Accept header or NULL */
    const char *user_agent;   /* for LIST cost accounting; may be NULL */
    const char *user;         /* authenticated user name ("system:admin", ...) */
    const char *const *groups; /* NULL-terminated, may be NULL */
    const char *body;
    size_t body_len;
};

#define API_MAX_WARNINGS 8

/* One piece of a zero-copy body (layout-compatible with struct iovec and h2o_iovec_t). */
struct api_iov {
    const char *base;
    size_t len;
};

/* A body the engine lends instead of copying (a big JSON LIST: the cached objects' own bytes
 * between small framing pieces). The pieces stay valid until release(owner) is called. */
struct api_iov_body {
    struct api_iov *iov;
    size_t niov;
    size_t len; /* sum of iov[].len */
    void (*release)(void *owner);
    void *owner;
};

/* What the engine made of a request, for upstream's apiserver_request_* metric labels
 * (filled by api_handle; the front end records the metrics once the response is sent). */
struct api_reqinfo {
    bool is_resource;     /* a resource request (else: path is reported as subresource) */
    const char *verb;     /* upstream's verb: GET LIST WATCH CREATE UPDATE PATCH APPLY DELETE
                             DELETECOLLECTION CONNECT; NULL = not filled */
    const char *scope;    /* "namespace", "resource", "cluster" or "" */
    bool dry_run;         /* dryRun=All */
    char group[64], version[32], resource[64], subresource[32];
};

struct api_response {
    int status;                /* HTTP status */
    struct api_reqinfo info;   /* metric labels (engine) */
    char content_type[96];     /* e.g. "application/json" */
    struct ck_buf body;        /* caller initialises (any max); engine appends; caller releases */
    /* Set by a caller that can write scattered pieces (the HTTP front end): the engine may
     * then answer with `lent` (niov > 0) instead of `body` (left empty). Released by
     * api_response_release, or taken over by the caller (then clear `lent`). */
    bool want_iov;
    struct api_iov_body lent;
    size_t nwarnings;          /* warning texts; the front end sends each as a
                                  `Warning: 299 - "<text, quoted>"` header */
    char *warnings[API_MAX_WARNINGS]; /* malloc'd; released by api_response_release */
};

void api_response_init(struct api_response *rs, size_t max_body);
void api_response_release(struct api_response *rs);
/* Releases a lent body (if any) and clears it. */
void api_iov_body_release(struct api_iov_body *b);

enum api_result {
    API_DONE = 0,  /* rs holds a complete response (success or Status error) */
    API_WATCH = 1, /* rs holds status + content type; stream events from *w */
};

/* Serves every path under /api, /apis, /openapi and /version. Errors come back as API_DONE
 * with a JSON Status body and its code (the engine builds Status objects at one point). */
enum api_result api_handle(struct api_server *s, const struct api_request *rq,
                           struct api_response *rs, struct api_watch **w);

/* Watch streams. notify is called (from any thread, possibly the store's commit thread with
 * engine locks held, or from inside api_watch_drain; must be quick, thread-safe, and must not
 * call back into the engine, e.g. api_watch_close) whenever api_watch_drain has something new
 * or the watch ended. */
void api_watch_set_notify(struct api_watch *w, void (*notify)(void *arg), void *arg);
/* Appends pending events as complete newline-terminated JSON (or Table) lines to out: at
 * most ~4 MiB per call and never past out->max; when events remain, notify fires again.
 * Returns 0 if more may come, 1 once the watch has ended (timeoutSeconds elapsed, history
 * window passed: the final ERROR event has been appended). Call from one thread at a time. */
int api_watch_drain(struct api_watch *w, struct ck_buf *out);
/* Periodic tick from the front end (~1 s): lets the engine send bookmarks and end timed-out
 * watches; same thread rules as drain. */
void api_watch_tick(struct api_watch *w, int64_t now_mono_ms);
void api_watch_close(struct api_watch *w);

/* Prometheus text for the engine's metrics (request counts, LIST cost accounting, upstream's
 * apiserver_storage_objects / registered_watchers / longrunning_requests, the store's
 * etcd_request_duration_seconds). */
int api_metrics(struct api_server *s, struct ck_buf *out);
/* The storage health check behind /readyz/etcd: a one-key read of the store. 0 when it
 * answered, -1 with why filled otherwise. Blocks up to the store's timeout (never call it on
 * an event loop). */
int api_store_check(struct api_server *s, char *why, size_t n);

/* Writes a Status JSON object for err into rs (status code, content type, body). */
void api_write_status(struct api_response *rs, const struct ck_err *err);

struct rbac_attrs;  /* apiserver/authz/rbac.h */
struct authn_user;  /* apiserver/authn/impersonate.h */

/* Authorization (endpoints/authorize.c): system:masters, then the Node authorizer, then RBAC
 * over the cached roles and bindings, as upstream's --authorization-mode=Node,RBAC. True when
 * allowed; reason (may be NULL) gets upstream's text for a refusal or an evaluation error.
 * Reads only memory: callable from an event loop. */
bool api_authorize(struct api_server *s, const struct rbac_attrs *a, char *reason, size_t n);

/* Authentication of a bearer token the front end does not know itself (endpoints/tokenauth.c):
 * service-account JWTs, the static token file. 0 with *u filled (owned strings), -1 when the
 * token does not authenticate. Reads only memory: callable from an event loop. */
int api_authn_token(struct api_server *s, const char *tok, size_t len, struct authn_user *u);

/* apf: API Priority and Fairness classification (endpoints/flowcontrol.c). */
struct api_fc_class {
    char flow_schema[64], fs_uid[48];     /* the matching FlowSchema */
    char priority_level[64], pl_uid[48]; /* its PriorityLevelConfiguration */
    bool exempt;                         /* the level is Exempt: never queued */
    bool reject;                         /* limitResponse Reject (else Queue) */
    int shares;                          /* nominalConcurrencyShares */
    int total_shares;                    /* sum over every non-exempt level */
    int queues, hand_size, queue_length_limit;
    uint64_t flow_hash; /* the flow: schema name + distinguisher (ByUser, ByNamespace) */
    long long objects;  /* a LIST: objects it processes (the resource's count), else -1 */
};
/* Classifies a request by the cached FlowSchemas in matchingPrecedence order. 0 with *out
 * filled, -1 when nothing matches (no configuration yet). Reads only memory: callable from
 * an event loop. */
int api_flowcontrol_classify(struct api_server *s, const struct rbac_attrs *a,
                             struct api_fc_class *out);

#endif
