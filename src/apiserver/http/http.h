/* SPDX-License-Identifier: Apache-2.0 */
/* The API server's HTTP front end (h2o 2.2 evloop): listeners, TLS, bearer-token authn,
 * /healthz /livez /readyz /metrics, a worker pool running api_handle, and watch streaming.
 * The engine is reached only through struct http_api_ops so tests can drive the front end
 * with a small fake; http_api_engine (http_engine.c) forwards to the real api_* functions. */
#ifndef CK_APISERVER_HTTP_H
#define CK_APISERVER_HTTP_H

#include "apiserver/api.h"
#include "apiserver/authn/impersonate.h"
#include "lib/buf.h"
#include "lib/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The engine as the front end sees it: api.h's functions with an opaque engine pointer. */
struct http_api_ops {
    enum api_result (*handle)(void *eng, const struct api_request *rq, struct api_response *rs,
                              struct api_watch **w);
    void (*watch_set_notify)(struct api_watch *w, void (*notify)(void *arg), void *arg);
    int (*watch_drain)(struct api_watch *w, struct ck_buf *out);
    void (*watch_tick)(struct api_watch *w, int64_t now_mono_ms);
    void (*watch_close)(struct api_watch *w);
    int (*metrics)(void *eng, struct ck_buf *out); /* may be NULL */
    /* The storage health check behind /readyz/etcd (api_store_check); may be NULL. Runs on
     * the front end's health thread, never on a loop. */
    int (*store_check)(void *eng, char *why, size_t n);
    void (*write_status)(struct api_response *rs, const struct ck_err *err);
    /* api_authorize; NULL: everything authenticated is allowed (tests' small fakes) */
    bool (*authorize)(void *eng, const struct rbac_attrs *a, char *reason, size_t n);
    /* api_authn_token; NULL: no such tokens */
    int (*authn_token)(void *eng, const char *tok, size_t len, struct authn_user *u);
    /* apf: api_flowcontrol_classify; NULL: no priority and fairness (everything exempt) */
    int (*flowcontrol)(void *eng, const struct rbac_attrs *a, struct api_fc_class *out);
};

/* Forwards to api_handle & co; eng is a struct api_server *. */
extern const struct http_api_ops http_api_engine;

#define HTTP_DEFAULT_MAX_BODY ((size_t)3 << 20)

struct http_opts {
    const char *bind_address; /* numeric IPv4/IPv6; NULL = "127.0.0.1" */
    bool secure;              /* serve HTTPS on secure_port */
    int secure_port;          /* 0 = pick a free port (see http_server_port) */
    bool insecure;            /* serve plain HTTP on insecure_port (no authn, user system:admin) */
    int insecure_port;        /* 0 = pick a free port */
    const char *cert_file;    /* PEM serving certificate chain (secure only) */
    const char *key_file;     /* PEM private key (secure only) */
    const char *token;        /* admin bearer token required on the secure port */
    int nloops;               /* event-loop threads; 0 = one per core (max 8) */
    int nworkers;             /* api_handle worker threads; 0 = 32 */
    size_t max_body;          /* request body limit; 0 = HTTP_DEFAULT_MAX_BODY */
    uint64_t io_timeout_ms;   /* request read / idle timeout; 0 = 30 s */
    int max_queue;            /* requests waiting for a worker before 429; 0 = 4096 */
    /* Who may impersonate whom (Impersonate-* headers); NULL = the engine's authorizer (the
     * impersonate verb, http_may_impersonate_rbac). */
    authn_may_impersonate_fn may_impersonate;
    void *may_impersonate_arg;
    /* pods|services|nodes/proxy may reach loopback and link-local targets (upstream refuses
     * them with 400 "address not allowed"); for tests whose backends listen on 127.0.0.1. */
    bool proxy_allow_loopback;
    /* kubesrv: the API server's client toward kubelets (pods/log; exec, attach, portforward):
     * PEM paths, NULL when unset (--kubelet-client-certificate, --kubelet-client-key,
     * --kubelet-certificate-authority). Without kubelet_ca the kubelet's serving certificate
     * is not verified, as upstream's kubelet client does without a CA. */
    const char *kubelet_client_cert;
    const char *kubelet_client_key;
    const char *kubelet_ca;
    /* joinapi: PEM CA bundle; client certificates verified against it authenticate as CN / O
     * (upstream's --client-ca-file); NULL = no client-certificate authentication. */
    const char *client_ca_file;
    /* --anonymous-auth=false: requests without credentials get 401 instead of running as
     * system:anonymous */
    bool anonymous_off;
    /* encaudit: the audit log (http_audit_new); NULL = none. Must outlive the server. */
    struct http_audit *audit;
};

struct http_server;

/* Binds every listener (so the ports are known) and prepares TLS; nothing runs yet.
 * Sets SIGPIPE to SIG_IGN for the process.
 * ops/eng must outlive the server. Returns 0, or -1 with err filled (bad address, port in
 * use, unreadable certificate). */
int http_server_new(const struct http_opts *o, const struct http_api_ops *ops, void *eng,
                    struct http_server **out, struct ck_err *err);
/* The bound port of the secure (or plain) listener, or 0 when that listener is off. */
int http_server_port(const struct http_server *s, bool secure);
/* Starts the loop and worker threads; returns 0 or -1 with err filled. */
int http_server_start(struct http_server *s, struct ck_err *err);
/* Graceful stop, callable from any thread but once: /readyz turns 503, listeners close,
 * running requests finish (up to ~2 s), open watches are ended, every thread is joined. */
void http_server_stop(struct http_server *s);
/* Frees a stopped (or never started) server. NULL is a no-op. */
void http_server_free(struct http_server *s);

/* ---- pure helpers (http_parse.c), shared with the fuzz target ------------------------- */

/* Percent-decodes path[0..len) into out (NUL-terminated, outcap >= len + 1).
 * Returns the decoded length, or -1 for a malformed escape or an encoded NUL byte. */
long http_path_decode(const char *path, size_t len, char *out, size_t outcap);

/* Extracts the token of an "Authorization: Bearer <token>" value (scheme case-insensitive,
 * surrounding spaces skipped). Returns 0 with tok and tok_len set, or -1 if not a bearer value. */
int http_bearer_token(const char *hdr, size_t len, const char **tok, size_t *tok_len);

/* Constant-time comparison of a presented token with the expected one. */
bool http_token_equal(const char *got, size_t got_len, const char *want);

enum http_route {
    HTTP_ROUTE_API = 0, /* everything the engine serves (and the 404s) */
    HTTP_ROUTE_HEALTHZ,
    HTTP_ROUTE_LIVEZ,
    HTTP_ROUTE_READYZ,
    HTTP_ROUTE_METRICS,
};
/* Classifies a decoded path. For the health routes, *check is set to the named check after
 * the route ("ping" for /healthz/ping) or NULL. */
enum http_route http_route_of(const char *path, const char **check);

/* True if the (raw) query string has parameter name (with or without a value). */
bool http_query_has(const char *query, size_t len, const char *name);

/* Index of an HTTP method for metrics (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, other). */
#define HTTP_NMETHODS 8
int http_method_index(const char *m, size_t len);
const char *http_method_name(int idx);

#endif
