/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's streaming server (the kubelet's /exec, /attach and /portForward on port 10250):
 * HTTP/1.1 upgrade to SPDY/3.1, remotecommand v4/v3/v2/v1 (channel.k8s.io) and
 * portforward.k8s.io, served in-process on top of the runtime's exec and port_forward hooks.
 * One thread per session; every session is bounded in memory and reaped when idle. */
#ifndef CK_AGENT_STREAMING_H
#define CK_AGENT_STREAMING_H

#include "lib/err.h"
#include "runtime/runtime.h"

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

struct ag_stream_opts {
    const char *bind; /* default 0.0.0.0 */
    int port;         /* 0: an ephemeral port */
    ag_stream_resolve_fn resolve;
    void *arg;
    int idle_timeout_s;   /* no frame for this long ends a session; default 4 h as upstream */
    int stream_timeout_s; /* time to create the expected streams; default 30 */
    int max_sessions;     /* default 128; beyond: 503 */
};

struct ag_stream_server;
struct ag_stream_server *ag_stream_start(const struct ag_stream_opts *o, struct ck_err *err);
int ag_stream_port(const struct ag_stream_server *s);
int ag_stream_active(const struct ag_stream_server *s); /* sessions in flight */
/* Stops listening, ends every session (processes killed, fds closed) and frees s. */
void ag_stream_stop(struct ag_stream_server *s);

#endif
