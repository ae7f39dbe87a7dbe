/* SPDX-License-Identifier: Apache-2.0 */
/* Session threads that do not parse the stream:
 *   splice: a SPDY client (every kubectl's fallback, 1.27-1.29 first) and the kubelet's SPDY
 *           session, copied byte for byte after both upgrades (upgradeaware.go);
 *   tunnel: port-forward over WebSocket (SPDY/3.1+portforward.k8s.io): binary message payloads
 *           to the kubelet as a byte stream, the kubelet's bytes back as binary messages
 *           (streamtunnel.go).
 * Each direction has a bounded buffer; a side is not read while the other side's buffer is
 * full, so a client that stops reading stalls its own session (and, through the kubelet, the
 * process), never the server. A session with no traffic for HS_IDLE_MS ends. */
#include "apiserver/http/http_stream.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/banned.h"

#define PIPE_CAP (256 * 1024)
#define HS_IDLE_MS (4LL * 3600 * 1000) /* upstream's streaming idle timeout */

struct pipe {
    uint8_t *b;
    size_t len;
    bool eof; /* the source ended */
};

/* Reads from src into p while there is room. Returns true when something was read. */
static bool fill(struct hs_io *src, struct pipe *p)
{
    bool any = false;
    while (!p->eof && p->len < PIPE_CAP) {
        ssize_t r = hs_io_read(src, p->b + p->len, PIPE_CAP - p->len);
        if (r > 0) {
            p->len += (size_t)r;
            any = true;
            continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EINTR))
            p->eof = true;
        break;
    }
    return any;
}

/* Writes p to dst; -1 when dst failed. */
static int drain(struct hs_io *dst, struct pipe *p)
{
    while (p->len) {
        ssize_t w = hs_io_write(dst, p->b, p->len);
        if (w > 0) {
            memmove(p->b, p->b + w, p->len - (size_t)w);
            p->len -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        break;
    }
    return 0;
}

void hs_session_splice(struct http_stream *st)
{
    struct pipe up = {ck_malloc(PIPE_CAP), 0, false}, down = {ck_malloc(PIPE_CAP), 0, false};
    int64_t last = ck_mono_ms();
    bool dead = false;
    while (!dead) {
        /* one side ended and everything it sent was delivered: done */
        if ((up.eof && !up.len) || (down.eof && !down.len))
            break;
        struct pollfd pf[2] = {{st->cli.fd, 0, 0}, {st->kube.fd, 0, 0}};
        if (!up.eof && up.len < PIPE_CAP)
            pf[0].events |= POLLIN;
        if (down.len || st->cli.want_write)
            pf[0].events |= POLLOUT;
        if (!down.eof && down.len < PIPE_CAP)
            pf[1].events |= POLLIN;
        if (up.len || st->kube.want_write)
            pf[1].events |= POLLOUT;
        int to = hs_io_pending(&st->cli) || hs_io_pending(&st->kube) ? 0 : 1000;
        int r = poll(pf, 2, to);
        if (r < 0 && errno != EINTR)
            break;
        bool moved = false;
        if (up.len < PIPE_CAP &&
            ((pf[0].revents & (POLLIN | POLLHUP | POLLERR)) || hs_io_pending(&st->cli)))
            moved |= fill(&st->cli, &up);
        if (down.len < PIPE_CAP &&
            ((pf[1].revents & (POLLIN | POLLHUP | POLLERR)) || hs_io_pending(&st->kube)))
            moved |= fill(&st->kube, &down);
        size_t before = up.len + down.len;
        if (drain(&st->kube, &up) < 0 || drain(&st->cli, &down) < 0)
            dead = true;
        moved |= up.len + down.len != before;
        if (moved)
            last = ck_mono_ms();
        else if (ck_mono_ms() - last > HS_IDLE_MS)
            break;
    }
    free(up.b);
    free(down.b);
    http_stream_free(st);
}

/* ---- port-forward tunnel ---------------------------------------------------------------- */

struct tun {
    struct hs_ws ws;
    struct pipe up; /* client -> kubelet */
    bool bad;
};

static void on_tunnel_msg(void *arg, bool text, const uint8_t *p, size_t n)
{
    struct tun *t = arg;
    if (text) { /* the tunnel is binary only */
        t->bad = true;
        return;
    }
    if (!n)
        return; /* kubectl sends empty messages */
    if (t->up.len + n > PIPE_CAP * 2) {
        t->bad = true; /* cannot happen while paused is honoured; bounded anyway */
        return;
    }
    if (t->up.len + n > PIPE_CAP)
        t->up.b = ck_realloc(t->up.b, PIPE_CAP * 2);
    memcpy(t->up.b + t->up.len, p, n);
    t->up.len += n;
    if (t->up.len >= PIPE_CAP / 2)
        t->ws.paused = true;
}

void hs_session_tunnel(struct http_stream *st)
{
    struct tun t = {.up = {ck_malloc(PIPE_CAP), 0, false}};
    uint8_t *buf = ck_malloc(32768);
    bool kube_eof = false;
    int64_t last = ck_mono_ms();
    if (hs_ws_init(&t.ws, &st->cli, on_tunnel_msg, &t) < 0)
        goto out;
    while (!hs_ws_done(&t.ws) && !t.bad) {
        if (kube_eof && !t.ws.closing)
            hs_ws_close(&t.ws, 1000);
        if (t.ws.closing && !kube_eof && !t.up.len)
            break; /* the client said goodbye: close the kubelet side */
        struct pollfd pf[2] = {{st->cli.fd, hs_ws_events(&t.ws), 0}, {st->kube.fd, 0, 0}};
        if (!kube_eof) {
            if (hs_ws_queued(&t.ws) < PIPE_CAP * 4)
                pf[1].events |= POLLIN;
            if (t.up.len || st->kube.want_write)
                pf[1].events |= POLLOUT;
        } else {
            pf[1].fd = -1;
        }
        int to = hs_io_pending(&st->cli) || hs_io_pending(&st->kube) ? 0 : 1000;
        if (poll(pf, 2, to) < 0 && errno != EINTR)
            break;
        size_t before = t.up.len;
        hs_ws_io(&t.ws, pf[0].revents);
        if (t.ws.eof)
            break;
        bool moved = t.up.len != before;
        if (!kube_eof && hs_ws_queued(&t.ws) < PIPE_CAP * 4 &&
            ((pf[1].revents & (POLLIN | POLLHUP | POLLERR)) || hs_io_pending(&st->kube))) {
            for (int i = 0; i < 8; i++) {
                ssize_t r = hs_io_read(&st->kube, buf, 32768);
                if (r > 0) {
                    hs_ws_send(&t.ws, false, buf, (size_t)r);
                    moved = true;
                    continue;
                }
                if (r == 0 || (errno != EAGAIN && errno != EINTR))
                    kube_eof = true;
                break;
            }
        }
        if (!kube_eof && drain(&st->kube, &t.up) < 0)
            kube_eof = true;
        if (t.up.len < PIPE_CAP / 4)
            t.ws.paused = false;
        if (moved)
            last = ck_mono_ms();
        else if (ck_mono_ms() - last > HS_IDLE_MS)
            break;
        /* send what was queued now rather than after the next poll */
        hs_ws_io(&t.ws, 0);
    }
out:
    hs_ws_free(&t.ws);
    free(t.up.b);
    free(buf);
    http_stream_free(st);
}
