/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by streaming.c (listener, HTTP handshake), stream_exec.c (remotecommand) and
 * stream_pf.c (portforward). */
#ifndef CK_AGENT_STREAM_INT_H
#define CK_AGENT_STREAM_INT_H

#include "agent/streaming.h"
#include "stream/spdy.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct ag_stream_server {
    struct ag_stream_opts o;
    int fd, port;
    atomic_int stop;
    atomic_int active;
    pthread_t th;
};

#define AG_SC_MAXARGS 64
struct ag_sreq {
    char kind[16]; /* exec / attach / portForward */
    char ns[256], pod[256], uid[128], container[256];
    char *argv[AG_SC_MAXARGS + 1];
    int argc;
    bool in, out, err, tty;
};

/* A session's connection: the socket, its SPDY session and timers. */
struct ag_sconn {
    struct ag_stream_server *srv;
    int fd;
    struct spdy_session *sp;
    int64_t last_frame_ns; /* monotonic */
    bool dead;             /* socket failed or peer gone */
    bool peer_goaway;
};

/* One poll round on the socket plus extra fds: reads and feeds frames (only when can_read),
 * writes queued output. Returns poll's result for the extra fds (pfd[1..]); sets c->dead. */
void ag_sconn_poll(struct ag_sconn *c, struct pollfd *extra, int nextra, bool can_read,
                   int timeout_ms);
/* Writes what is queued for up to timeout_ms. */
void ag_sconn_flush(struct ag_sconn *c, int timeout_ms);
bool ag_sconn_idle(const struct ag_sconn *c);

/* remotecommand (version 1..4) and portforward sessions; they own nothing of c. */
void ag_stream_exec(struct ag_sconn *c, const struct ag_sreq *r, const struct ag_stream_target *t,
                    int version);
void ag_stream_portforward(struct ag_sconn *c, const struct ag_stream_target *t);
/* The spdy event callback both session kinds install; arg is the session's handler. */
struct ag_shandler {
    void (*on_event)(void *ctx, const struct spdy_event *ev);
    void *ctx;
};
void ag_sconn_event(void *arg, struct spdy_session *s, const struct spdy_event *ev);

#endif
