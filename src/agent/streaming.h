/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's streaming server (the kubelet's /exec, /attach and /portForward on port 10250),
 * which is also the listener of the kubelet server (kubeletsrv.c: TLS, authn, other routes):
 * HTTP/1.1 upgrade to SPDY/3.1, remotecommand v4/v3/v2/v1 (channel.k8s.io) and
 * portforward.k8s.io, served in-process on top of the runtime's exec and port_forward hooks.
 * One thread per session; every session is bounded in memory and reaped when idle. */
#ifndef CK_AGENT_STREAMING_H
#define CK_AGENT_STREAMING_H

#include "lib/err.h"
#include "runtime/runtime.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <sys/types.h>

/* What a request names, resolved by the caller: the runtime and the ids to use. */
struct ag_stream_target {
    struct runtime *rt;
    char container_id[RT_ID_MAX]; /* exec/attach */
    char sandbox_id[RT_ID_MAX];   /* port-forward */
    char pod_uid[128];
};

/* Fills t for namespace/pod (uid may be NULL) and container (NULL for port-forward); returns
 * 0, or -1 with err (CK_R_NOT_FOUND: 404). Called from session threads. */
typedef int (*ag_stream_resolve_fn)(void *arg, const char *ns, const char *pod, const char *uid,
                                    const char *container, struct ag_stream_target *t,
                                    struct ck_err *err);

/* kubesrv: the kubelet server's other routes share the listener (kubeletsrv.c). A request
 * that is not /exec, /attach or /portForward goes to the route callback with its connection;
 * the callback writes a whole HTTP/1.1 response (the connection then closes). */
struct ag_http_conn;
struct ag_http_req {
    const char *method;
    const char *path;  /* raw (still percent-encoded), without the query */
    const char *query; /* raw, "" when none */
    const char *head;  /* the whole request head, for header lookups */
};
typedef void (*ag_http_route_fn)(void *arg, struct ag_http_conn *c, const struct ag_http_req *r);
/* Writes all of p; 0 or -1 (the peer is gone). */
int ag_http_write(struct ag_http_conn *c, const void *p, size_t n);
/* True once the peer closed the connection (or sent anything more: one request per
 * connection), or the server is stopping. Does not block. */
bool ag_http_gone(struct ag_http_conn *c);
/* The value of header name in r's head (case-insensitive), copied into out; false if absent. */
bool ag_http_header(const struct ag_http_req *r, const char *name, char *out, size_t cap);

struct ag_stream_opts {
    const char *bind; /* default 0.0.0.0 */
    int port;         /* 0: an ephemeral port */
    ag_stream_resolve_fn resolve;
    void *arg;
    int idle_timeout_s;   /* no frame for this long ends a session; default 4 h as upstream */
    int stream_timeout_s; /* time to create the expected streams; default 30 */
    int max_sessions;     /* default 128; beyond: 503 */
    /* kubesrv: HTTPS and authentication (tls NULL: plain HTTP without authn, as
     * tests/stream/stream_host.c uses it). With tls, a request is authenticated by a client
     * certificate that verifies against the context's CA store, or by a bearer token equal
     * to token (may be NULL); anything else gets 401. The server takes a reference on tls. */
    SSL_CTX *tls;
    const char *token;
    ag_http_route_fn route; /* NULL: 404 for every other path */
    void *route_arg;
};

struct ag_stream_server;
struct ag_stream_server *ag_stream_start(const struct ag_stream_opts *o, struct ck_err *err);
int ag_stream_port(const struct ag_stream_server *s);
int ag_stream_active(const struct ag_stream_server *s); /* sessions in flight */
/* Stops listening, ends every session (processes killed, fds closed) and frees s. */
void ag_stream_stop(struct ag_stream_server *s);

#endif
