/* SPDX-License-Identifier: Apache-2.0 */
/* portforward.k8s.io over SPDY: streams come in (error, data) pairs matched by the requestid
 * header (old clients: error id = request, data id - 2 = request); a complete pair dials the
 * port inside the pod through the runtime and copies both ways; the pair ends with FIN on
 * data and error. Failures are written as text on the pair's error stream, as upstream. */
#include "agent/stream_int.h"

#include "lib/buf.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/banned.h"

#define MAX_PAIRS 128  /* concurrent forwarded connections per session */
#define SCONN_EXTRA 15 /* pollfds ag_sconn_poll takes next to the socket */
#define TOCONN_MAX (256 * 1024)

struct pair {
    bool used;
    char reqid[32];
    uint32_t err_sid, data_sid;
    int port;
    int fd;
    struct ck_buf toconn;
    bool client_fin, conn_eof, wr_shut;
    int64_t created_ns;
};

struct pf {
    struct ag_sconn *c;
    const struct ag_stream_target *t;
    struct pair p[MAX_PAIRS];
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void pair_end(struct pf *x, struct pair *p, const char *errtext)
{
    struct spdy_session *sp = x->c->sp;
    if (p->err_sid && spdy_stream_open(sp, p->err_sid) && !spdy_stream_local_fin(sp, p->err_sid))
        spdy_send_data(sp, p->err_sid, errtext ? errtext : "", errtext ? strlen(errtext) : 0, true);
    if (p->data_sid && spdy_stream_open(sp, p->data_sid)) {
        if (errtext)
            spdy_send_rst(sp, p->data_sid, SPDY_RST_CANCEL);
        else if (!spdy_stream_local_fin(sp, p->data_sid))
            spdy_send_data(sp, p->data_sid, NULL, 0, true);
    }
    if (p->fd >= 0)
        close(p->fd);
    ck_buf_release(&p->toconn);
    memset(p, 0, sizeof(*p));
}

static struct pair *pair_for(struct pf *x, const char *reqid, bool create)
{
    for (int i = 0; i < MAX_PAIRS; i++)
        if (x->p[i].used && !strcmp(x->p[i].reqid, reqid))
            return &x->p[i];
    for (int i = 0; create && i < MAX_PAIRS; i++)
        if (!x->p[i].used) {
            struct pair *p = &x->p[i];
            memset(p, 0, sizeof(*p));
            p->used = true;
            p->fd = -1;
            snprintf(p->reqid, sizeof(p->reqid), "%s", reqid);
            p->toconn = (struct ck_buf)CK_BUF_INIT(TOCONN_MAX);
            p->created_ns = mono_ns();
            return p;
        }
    return NULL;
}

static void dial(struct pf *x, struct pair *p)
{
    struct ck_err err = CK_ERR_INIT;
    int fd = -1;
    const struct runtime_ops *ops = x->t->rt->ops;
    if (!ops->port_forward ||
        ops->port_forward(x->t->rt, x->t->sandbox_id, p->port, &fd, &err) < 0) {
        char msg[4096 + 256];
        snprintf(msg, sizeof(msg), "error forwarding port %d to pod %s, uid %s: %s", p->port,
                 x->t->sandbox_id, x->t->pod_uid, ops->port_forward ? err.msg : "not supported");
        pair_end(x, p, msg);
        return;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    p->fd = fd;
}

static void on_syn(struct pf *x, const struct spdy_event *ev)
{
    struct spdy_session *sp = x->c->sp;
    const char *type = spdy_headers_get(ev->headers, "streamtype");
    const char *port = spdy_headers_get(ev->headers, "port");
    const char *rid = spdy_headers_get(ev->headers, "requestid");
    char *end = NULL;
    long pn = port ? strtol(port, &end, 10) : 0;
    bool is_err = type && !strcmp(type, "error"), is_data = type && !strcmp(type, "data");
    if (!port || !*port || *end || pn < 1 || pn > 65535 || (!is_err && !is_data)) {
        spdy_send_rst(sp, ev->stream_id, SPDY_RST_CANCEL);
        return;
    }
    char idbuf[32];
    if (!rid) { /* clients without requestid: derive it from the stream ids */
        snprintf(idbuf, sizeof(idbuf), "%u", is_err ? ev->stream_id : ev->stream_id - 2);
        rid = idbuf;
    }
    struct pair *p = pair_for(x, rid, true);
    if (!p || (is_err ? p->err_sid : p->data_sid)) {
        spdy_send_rst(sp, ev->stream_id, SPDY_RST_CANCEL);
        return;
    }
    struct ck_err err = CK_ERR_INIT;
    spdy_send_syn_reply(sp, ev->stream_id, NULL, 0, 0, &err);
    p->port = (int)pn;
    if (is_err)
        p->err_sid = ev->stream_id;
    else
        p->data_sid = ev->stream_id;
    if (p->err_sid && p->data_sid)
        dial(x, p);
}

static struct pair *by_stream(struct pf *x, uint32_t id)
{
    for (int i = 0; i < MAX_PAIRS; i++)
        if (x->p[i].used && (x->p[i].err_sid == id || x->p[i].data_sid == id))
            return &x->p[i];
    return NULL;
}

static void on_event(void *ctx, const struct spdy_event *ev)
{
    struct pf *x = ctx;
    if (ev->type == SPDY_SYN_STREAM) {
        on_syn(x, ev);
        return;
    }
    struct pair *p = by_stream(x, ev->stream_id);
    if (!p || ev->stream_id != p->data_sid)
        return; /* the client's FIN on its error stream needs nothing */
    if (ev->type == SPDY_DATA) {
        if (ck_buf_append(&p->toconn, ev->data, ev->len) < 0) {
            pair_end(x, p, "port-forward buffer overflow");
            return;
        }
        if (ev->flags & SPDY_FLAG_FIN)
            p->client_fin = true;
    } else if (ev->type == SPDY_RST_STREAM) {
        p->data_sid = 0; /* already gone */
        pair_end(x, p, NULL);
    }
}

static void copy(struct pf *x, struct pair *p, short revents)
{
    struct spdy_session *sp = x->c->sp;
    if ((revents & (POLLOUT | POLLERR | POLLHUP)) && p->toconn.len) {
        ssize_t w = send(p->fd, p->toconn.data, p->toconn.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            memmove(p->toconn.data, p->toconn.data + w, p->toconn.len - (size_t)w);
            p->toconn.len -= (size_t)w;
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
            p->toconn.len = 0;
            p->conn_eof = true;
        }
    }
    if (p->client_fin && !p->toconn.len && !p->wr_shut) {
        shutdown(p->fd, SHUT_WR);
        p->wr_shut = true;
    }
    if ((revents & (POLLIN | POLLHUP | POLLERR)) && !p->conn_eof) {
        char buf[32768];
        size_t room = spdy_send_capacity(sp, p->data_sid);
        if (room) {
            ssize_t n = recv(p->fd, buf, room < sizeof(buf) ? room : sizeof(buf), MSG_DONTWAIT);
            if (n > 0)
                spdy_send_data(sp, p->data_sid, buf, (size_t)n, false);
            else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                p->conn_eof = true;
        }
    }
    /* the pod side ended: FIN data and error (the client waits for both) */
    if (p->conn_eof)
        pair_end(x, p, NULL);
}

void ag_stream_portforward(struct ag_sconn *c, const struct ag_stream_target *t)
{
    struct pf x = {.c = c, .t = t};
    struct ag_shandler h = {on_event, &x};
    c->sp = spdy_session_new(&(struct spdy_session_opts){.server = true, .max_frame = 64 * 1024},
                             ag_sconn_event, &h);
    int64_t stream_to =
        (int64_t)(c->srv->o.stream_timeout_s ? c->srv->o.stream_timeout_s : 30) * 1000000000LL;
    while (!c->dead && !c->peer_goaway && !ag_sconn_idle(c) && !atomic_load(&c->srv->stop)) {
        struct pollfd pf[MAX_PAIRS];
        struct pair *who[MAX_PAIRS];
        int n = 0;
        size_t backlog = 0;
        for (int i = 0; i < MAX_PAIRS; i++) {
            struct pair *p = &x.p[i];
            if (!p->used)
                continue;
            if (p->fd < 0) {
                if (mono_ns() - p->created_ns > stream_to) {
                    char msg[128];
                    snprintf(msg, sizeof(msg),
                             "(conn=%d, request=%s) timed out waiting for streams", c->fd,
                             p->reqid);
                    pair_end(&x, p, msg);
                }
                continue;
            }
            short ev = 0;
            if (!p->conn_eof && spdy_send_capacity(c->sp, p->data_sid))
                ev |= POLLIN;
            if (p->toconn.len || (p->client_fin && !p->wr_shut))
                ev |= POLLOUT;
            backlog += p->toconn.len;
            who[n] = p;
            pf[n++] = (struct pollfd){p->fd, ev, 0};
        }
        /* ag_sconn_poll waits on the socket and at most SCONN_EXTRA pairs: with more pairs,
         * wait briefly and then look at every pair without blocking */
        bool ready = n > SCONN_EXTRA && poll(pf, (nfds_t)n, 0) > 0;
        ag_sconn_poll(c, pf, n < SCONN_EXTRA ? n : SCONN_EXTRA, backlog < TOCONN_MAX / 2,
                      ready             ? 0
                      : n > SCONN_EXTRA ? 20
                                        : 200);
        if (n > SCONN_EXTRA)
            poll(pf, (nfds_t)n, 0);
        for (int i = 0; i < n; i++)
            if (who[i]->used && who[i]->fd == pf[i].fd)
                copy(&x, who[i], pf[i].revents | (who[i]->client_fin ? POLLOUT : 0));
    }
    for (int i = 0; i < MAX_PAIRS; i++)
        if (x.p[i].used)
            pair_end(&x, &x.p[i], NULL);
    if (!c->dead) {
        spdy_send_goaway(c->sp, SPDY_GOAWAY_OK);
        ag_sconn_flush(c, 2000);
    }
    spdy_session_free(c->sp);
    c->sp = NULL;
}
