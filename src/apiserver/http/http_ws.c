/* SPDX-License-Identifier: Apache-2.0 */
/* The WebSocket end of streaming sessions on libwslay (pings answered with pongs, close
 * frames echoed, fragmented messages reassembled, messages bounded), and the exec/attach
 * channel session: WebSocket channels (http_ws_chan.c) translated to a SPDY remotecommand
 * v4 session with the kubelet, as upstream's StreamTranslatorHandler. */
#include "apiserver/http/http_stream.h"
#include "apiserver/http/http_ws_chan.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "stream/spdy.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

#include "lib/banned.h"

#define WS_MAX_MSG (1 << 20)
#define WS_OUT_HIGH (1 << 20)             /* stop reading the kubelet beyond this much queued */
#define SPDY_OUT_HIGH (256 << 10)         /* stop reading the client beyond this */
#define HS_WS_IDLE_MS (4LL * 3600 * 1000) /* upstream's streaming idle timeout */

void hs_ws_accept_key(const char *key, char *out, size_t cap)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char md[SHA_DIGEST_LENGTH];
    char *in = ck_asprintf("%s%s", key, guid);
    SHA1((const unsigned char *)in, strlen(in), md);
    free(in);
    unsigned char b[64];
    EVP_EncodeBlock(b, md, SHA_DIGEST_LENGTH);
    snprintf(out, cap, "%s", (const char *)b);
}

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud)
{
    (void)flags;
    struct hs_ws *w = ud;
    if (w->paused) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    ssize_t r = hs_io_read(w->io, buf, len);
    if (r > 0) {
        w->last_rx_ms = ck_mono_ms();
        return r;
    }
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    w->eof = true;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud)
{
    (void)flags;
    struct hs_ws *w = ud;
    ssize_t r = hs_io_write(w->io, data, len);
    if (r >= 0)
        return r;
    if (errno == EAGAIN || errno == EINTR) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    w->eof = true;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static void msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                   void *ud)
{
    (void)ctx;
    struct hs_ws *w = ud;
    if (a->opcode == WSLAY_TEXT_FRAME || a->opcode == WSLAY_BINARY_FRAME)
        w->on_msg(w->arg, a->opcode == WSLAY_TEXT_FRAME, a->msg, a->msg_length);
}

int hs_ws_init(struct hs_ws *w, struct hs_io *io,
               void (*on_msg)(void *arg, bool text, const uint8_t *p, size_t n), void *arg)
{
    static const struct wslay_event_callbacks cbs = {
        .recv_callback = recv_cb, .send_callback = send_cb, .on_msg_recv_callback = msg_cb};
    memset(w, 0, sizeof(*w));
    w->io = io;
    w->on_msg = on_msg;
    w->arg = arg;
    w->last_rx_ms = ck_mono_ms();
    wslay_event_context_ptr ctx;
    if (wslay_event_context_server_init(&ctx, &cbs, w) != 0)
        return -1;
    wslay_event_config_set_max_recv_msg_length(ctx, WS_MAX_MSG);
    w->ctx = ctx;
    return 0;
}

void hs_ws_free(struct hs_ws *w)
{
    if (w->ctx)
        wslay_event_context_free(w->ctx);
    w->ctx = NULL;
}

void hs_ws_send(struct hs_ws *w, bool text, const void *p, size_t n)
{
    struct wslay_event_msg m = {(uint8_t)(text ? WSLAY_TEXT_FRAME : WSLAY_BINARY_FRAME), p, n};
    if (!w->closing)
        wslay_event_queue_msg(w->ctx, &m);
}

size_t hs_ws_queued(const struct hs_ws *w)
{
    return wslay_event_get_queued_msg_length(w->ctx);
}

/* wslay sends a queued close frame ahead of queued data: queue it once the data is out */
static void close_when_drained(struct hs_ws *w)
{
    if (w->close_code && !wslay_event_get_queued_msg_count(w->ctx)) {
        wslay_event_queue_close(w->ctx, w->close_code, NULL, 0);
        w->close_code = 0;
    }
}

void hs_ws_close(struct hs_ws *w, uint16_t code)
{
    if (w->closing)
        return;
    w->closing = true;
    w->close_ms = ck_mono_ms();
    w->close_code = code;
    close_when_drained(w);
}

short hs_ws_events(const struct hs_ws *w)
{
    short ev = 0;
    if (!w->paused && wslay_event_want_read(w->ctx))
        ev |= POLLIN;
    if (wslay_event_want_write(w->ctx) || w->io->want_write || w->close_code)
        ev |= POLLOUT;
    return ev;
}

void hs_ws_io(struct hs_ws *w, short revents)
{
    if (w->eof)
        return;
    if (!w->paused && wslay_event_want_read(w->ctx) &&
        ((revents & (POLLIN | POLLHUP | POLLERR)) || hs_io_pending(w->io)) &&
        wslay_event_recv(w->ctx) != 0)
        w->eof = true;
    if (!w->eof && wslay_event_want_write(w->ctx) && wslay_event_send(w->ctx) != 0)
        w->eof = true;
    close_when_drained(w);
    if (!w->eof && wslay_event_want_write(w->ctx) && wslay_event_send(w->ctx) != 0)
        w->eof = true;
    if (!w->closing && wslay_event_get_close_received(w->ctx)) {
        w->closing = true; /* wslay echoed it */
        w->close_ms = ck_mono_ms();
    }
}

bool hs_ws_done(const struct hs_ws *w)
{
    if (w->eof)
        return true;
    if (!wslay_event_want_read(w->ctx) && !wslay_event_want_write(w->ctx))
        return true;
    if (wslay_event_get_close_sent(w->ctx) && wslay_event_get_close_received(w->ctx))
        return true;
    return w->closing && ck_mono_ms() - w->close_ms > 5000;
}

/* ---- exec / attach over channels ------------------------------------------------------- */

enum { K_ERR, K_IN, K_OUT, K_STDERR, K_RESIZE, K_N };

struct chs {
    struct http_stream *st;
    struct hs_ws ws;
    struct spdy_session *sp;
    uint32_t sid[K_N];
    bool done[K_N]; /* the kubelet finished (FIN or RST) */
    struct ck_buf errbuf;
    uint8_t *scratch, *enc;
    bool kube_eof, finished, failed;
};

static void to_client(struct chs *x, int ch, const uint8_t *p, size_t n)
{
    bool text;
    size_t k = ws_chan_encode(x->st->ws_variant, ch, p, n, x->enc, &text);
    hs_ws_send(&x->ws, text, x->enc, k);
}

static void on_spdy(void *arg, struct spdy_session *s, const struct spdy_event *ev)
{
    (void)s;
    struct chs *x = arg;
    int k = -1;
    for (int i = 0; i < K_N; i++)
        if (x->sid[i] && x->sid[i] == ev->stream_id)
            k = i;
    if (k < 0)
        return;
    if (ev->type == SPDY_DATA) {
        if (k == K_OUT || k == K_STDERR) {
            /* send in pieces a client reads as separate messages */
            for (size_t off = 0; off < ev->len; off += 32768) {
                size_t n = ev->len - off < 32768 ? ev->len - off : 32768;
                to_client(x, k == K_OUT ? WS_CH_STDOUT : WS_CH_STDERR, ev->data + off, n);
            }
        } else if (k == K_ERR && ev->len) {
            ck_buf_append(&x->errbuf, ev->data, ev->len);
        }
        if (ev->flags & SPDY_FLAG_FIN)
            x->done[k] = true;
    } else if (ev->type == SPDY_RST_STREAM) {
        x->done[k] = true;
    }
}

static void on_ws(void *arg, bool text, const uint8_t *p, size_t n)
{
    struct chs *x = arg;
    struct ws_chan_msg m;
    if (ws_chan_decode(x->st->ws_variant, text, p, n, x->scratch, &m) < 0) {
        ck_v(2, "streaming: websocket channel protocol error from the client");
        x->failed = true;
        return;
    }
    if (m.close_signal) {
        if (m.channel == WS_CH_STDIN && x->sid[K_IN] && spdy_stream_open(x->sp, x->sid[K_IN]) &&
            !spdy_stream_local_fin(x->sp, x->sid[K_IN]))
            spdy_send_data(x->sp, x->sid[K_IN], NULL, 0, true);
        return;
    }
    int k = m.channel == WS_CH_STDIN ? K_IN : m.channel == WS_CH_RESIZE ? K_RESIZE : -1;
    if (k < 0 || !x->sid[k] || !m.len || !spdy_stream_open(x->sp, x->sid[k]) ||
        spdy_stream_local_fin(x->sp, x->sid[k]))
        return;
    spdy_send_data(x->sp, x->sid[k], m.data, m.len, false);
    if (spdy_out_pending(x->sp) > SPDY_OUT_HIGH)
        x->ws.paused = true;
}

/* The error channel's last word, as the translator writes it. */
static void final_status(struct chs *x)
{
    const char *ok = "{\"metadata\":{},\"status\":\"Success\"}";
    bool json = ws_chan_status_json(x->st->ws_variant);
    char *msg = NULL;
    if (!x->done[K_ERR]) { /* the kubelet went away before the end */
        msg = ck_strdup("Internal error occurred: error reading from the kubelet: connection "
                        "closed");
        if (json) {
            struct ck_buf b = CK_BUF_INIT(8192);
            ck_buf_appends(&b, "{\"metadata\":{},\"status\":\"Failure\",\"message\":");
            ck_buf_append_json_str(&b, msg, strlen(msg));
            ck_buf_appends(&b, ",\"reason\":\"InternalError\",\"code\":500}");
            to_client(x, WS_CH_ERROR, (const uint8_t *)b.data, b.len);
            ck_buf_release(&b);
        } else {
            to_client(x, WS_CH_ERROR, (const uint8_t *)msg, strlen(msg));
        }
        free(msg);
        return;
    }
    if (json) {
        if (x->errbuf.len)
            to_client(x, WS_CH_ERROR, (const uint8_t *)x->errbuf.data, x->errbuf.len);
        else
            to_client(x, WS_CH_ERROR, (const uint8_t *)ok, strlen(ok));
        return;
    }
    /* channel.k8s.io: the error text only */
    json_t *o = x->errbuf.len ? json_loadb(x->errbuf.data, x->errbuf.len, 0, NULL) : NULL;
    const char *status = json_string_value(json_object_get(o, "status"));
    const char *m = json_string_value(json_object_get(o, "message"));
    if (o && status && !strcmp(status, "Failure") && m)
        to_client(x, WS_CH_ERROR, (const uint8_t *)m, strlen(m));
    else if (!o && x->errbuf.len)
        to_client(x, WS_CH_ERROR, (const uint8_t *)x->errbuf.data, x->errbuf.len);
    json_decref(o);
}

static bool kube_finished(const struct chs *x)
{
    if (x->kube_eof)
        return true;
    for (int i = 0; i < K_N; i++)
        if (x->sid[i] && i != K_IN && i != K_RESIZE && !x->done[i])
            return false;
    return true;
}

static int open_streams(struct chs *x)
{
    static const char *const types[K_N] = {"error", "stdin", "stdout", "stderr", "resize"};
    const struct http_stream *st = x->st;
    const bool want[K_N] = {true, st->in, st->out, st->err, st->tty};
    for (int i = 0; i < K_N; i++) {
        if (!want[i])
            continue;
        struct spdy_hdr h = {
            .name = "streamtype", .value = (char *)types[i], .value_len = strlen(types[i])};
        struct ck_err err = CK_ERR_INIT;
        if (spdy_send_syn_stream(x->sp, &x->sid[i], &h, 1, 0, &err) < 0)
            return -1;
    }
    return 0;
}

static void kube_io(struct chs *x, short revents)
{
    struct hs_io *k = &x->st->kube;
    if (!x->kube_eof && ((revents & (POLLIN | POLLHUP | POLLERR)) || hs_io_pending(k))) {
        uint8_t buf[32768];
        for (int rounds = 0; rounds < 16 && hs_ws_queued(&x->ws) < WS_OUT_HIGH; rounds++) {
            ssize_t r = hs_io_read(k, buf, sizeof(buf));
            if (r > 0) {
                struct ck_err err = CK_ERR_INIT;
                if (spdy_session_feed(x->sp, buf, (size_t)r, &err) < 0) {
                    ck_v(2, "streaming: kubelet spdy: %s", err.msg);
                    x->kube_eof = true;
                }
                continue;
            }
            if (r == 0 || (errno != EAGAIN && errno != EINTR))
                x->kube_eof = true;
            break;
        }
    }
    while (!x->kube_eof && spdy_out_pending(x->sp)) {
        size_t n;
        const uint8_t *p = spdy_out_peek(x->sp, &n);
        ssize_t w = hs_io_write(k, p, n);
        if (w > 0) {
            spdy_out_consume(x->sp, (size_t)w);
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            x->kube_eof = true;
        break;
    }
    if (spdy_out_pending(x->sp) <= SPDY_OUT_HIGH / 2)
        x->ws.paused = false;
}

void hs_session_channels(struct http_stream *st)
{
    struct chs x = {.st = st};
    x.errbuf = (struct ck_buf)CK_BUF_INIT(64 * 1024);
    x.scratch = ck_malloc(WS_MAX_MSG);
    x.enc = ck_malloc(ws_chan_encoded_max(WS_MAX_MSG));
    x.sp = spdy_session_new(
        &(struct spdy_session_opts){.server = false, .max_frame = 1 << 20, .max_out = 2 << 20},
        on_spdy, &x);
    if (!x.sp || hs_ws_init(&x.ws, &st->cli, on_ws, &x) < 0 || open_streams(&x) < 0)
        goto out;
    /* upstream's first message: empty, on the lowest writable channel */
    to_client(&x, st->out ? WS_CH_STDOUT : st->err ? WS_CH_STDERR : WS_CH_ERROR, NULL, 0);
    int64_t last_ping = ck_mono_ms();
    uint32_t ping_id = 1;
    while (!hs_ws_done(&x.ws)) {
        /* kubectl pings every 5 s: a client silent for this long is gone */
        if (ck_mono_ms() - x.ws.last_rx_ms > HS_WS_IDLE_MS)
            break;
        if (!x.finished && (kube_finished(&x) || x.failed)) {
            x.finished = true;
            if (!x.failed)
                final_status(&x);
            hs_ws_close(&x.ws, x.failed ? 1002 : 1000);
        }
        if (ck_mono_ms() - last_ping > 5000 && !x.kube_eof) { /* as client-go: SPDY pings */
            spdy_send_ping(x.sp, ping_id);
            ping_id += 2;
            last_ping = ck_mono_ms();
        }
        struct pollfd pf[2] = {{st->cli.fd, hs_ws_events(&x.ws), 0}, {st->kube.fd, 0, 0}};
        if (!x.kube_eof) {
            if (hs_ws_queued(&x.ws) < WS_OUT_HIGH)
                pf[1].events |= POLLIN;
            if (spdy_out_pending(x.sp) || st->kube.want_write)
                pf[1].events |= POLLOUT;
        } else {
            pf[1].fd = -1;
        }
        int to = hs_io_pending(&st->cli) || (!x.kube_eof && hs_io_pending(&st->kube)) ? 0 : 1000;
        if (poll(pf, 2, to) < 0 && errno != EINTR)
            break;
        hs_ws_io(&x.ws, pf[0].revents);
        kube_io(&x, pf[1].revents);
        if (x.ws.eof)
            break; /* the client went away: closing the kubelet session ends the process */
    }
    ck_v(4,
         "streaming: channel session over (client eof %d, kubelet eof %d, protocol error %d, "
         "finished %d)",
         x.ws.eof, x.kube_eof, x.failed, x.finished);
    if (!x.kube_eof) {
        spdy_send_goaway(x.sp, SPDY_GOAWAY_OK);
        size_t n;
        const uint8_t *p = spdy_out_peek(x.sp, &n);
        hs_io_write_all(&st->kube, p, n, 1000);
    }
out:
    hs_ws_free(&x.ws);
    if (x.sp)
        spdy_session_free(x.sp);
    ck_buf_release(&x.errbuf);
    free(x.scratch);
    free(x.enc);
    http_stream_free(st);
}
