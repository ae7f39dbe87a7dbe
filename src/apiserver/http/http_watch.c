/* SPDX-License-Identifier: Apache-2.0 */
/* Watch streaming: a long response fed by api_watch_drain. The engine's notify (any thread)
 * posts at most one wakeup per watch to the owning loop; the loop drains into a pending
 * buffer and sends it only when the previous send has completed (h2o's one-send-at-a-time
 * rule: proceed() marks the in-flight buffer free). A 1 s timer ticks every watch. The state
 * is heap-owned because a queued wakeup may outlive the request; the request pool's dispose
 * closes the engine watch and frees the state once no wakeup is queued. HTTP/1.1 bodies are
 * chunk-framed here, not by h2o's chunked filter (see watch_send). */
#include "apiserver/http/http_int.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "lib/banned.h"

#define WATCH_BUF_MAX ((size_t)256 << 20)
#define WATCH_PEEK_TICKS 5 /* HTTP/1.1: look for a departed client every 5 s */

/* h2o 2.2's HTTP/1.1 connection starts with these two members (lib/core/http1.c); it is not
 * public, but it is the only way to reach the socket of a streaming HTTP/1.1 response. */
struct http1_conn_head {
    h2o_conn_t super;
    h2o_socket_t *sock;
};

struct http_watch {
    h2o_generator_t super;
    h2o_multithread_message_t msg; /* the one wakeup message */
    h2o_linklist_t link;           /* in lp->watches while the request lives */
    h2o_timeout_entry_t tick;
    struct http_loop *lp;
    h2o_req_t *req;      /* NULL once the request pool is disposed */
    struct api_watch *w; /* NULL once closed */
    struct ck_buf sending, pending;
    atomic_int queued; /* 1 while msg sits in the loop's queue */
    bool inflight;     /* h2o owns `sending` until proceed */
    bool ended;        /* no more drains: the next send is the final one */
    bool finished;     /* the final send was issued */
    bool stopped;      /* h2o called stop: never send again */
    bool framed;       /* HTTP/1.1: we write the chunked framing ourselves */
    int ticks;
    char chunk_head[24]; /* "<hex>\r\n" of the chunk in flight */
};

static void watch_free(struct http_watch *hw)
{
    ck_buf_release(&hw->sending);
    ck_buf_release(&hw->pending);
    free(hw);
}

/* Send `sending` (may be empty) in one h2o_send. h2o 2.2's chunked filter swallows an empty
 * IN_PROGRESS send (h2o_ostream_send_next only schedules proceed), so the 200 and headers of
 * a quiet watch would wait for the first event. HTTP/1.1 watches therefore carry their own
 * `transfer-encoding: chunked` (the filter then steps aside) and the framing is added here:
 * an empty send reaches h2o's HTTP/1.1 writer, which writes the headers alone. HTTP/1.0
 * (close-delimited) and HTTP/2 have no filter in between and flush headers by themselves. */
static void watch_send(struct http_watch *hw, h2o_send_state_t state)
{
    static const char term[] = "\r\n0\r\n\r\n";
    h2o_iovec_t iov[3];
    size_t n = 0, len = hw->sending.len;

    if (!hw->framed) {
        iov[0] = h2o_iovec_init(hw->sending.data, len);
        h2o_send(hw->req, iov, len ? 1 : 0, state);
        return;
    }
    hw->req->bytes_sent += len;
    if (len) {
        int k = snprintf(hw->chunk_head, sizeof(hw->chunk_head), "%zx\r\n", len);
        iov[n++] = h2o_iovec_init(hw->chunk_head, (size_t)k);
        iov[n++] = h2o_iovec_init(hw->sending.data, len);
        if (state != H2O_SEND_STATE_ERROR) /* an error ends mid-body: the client sees EOF */
            iov[n++] = h2o_iovec_init(term, state == H2O_SEND_STATE_FINAL ? 7 : 2);
    } else if (state == H2O_SEND_STATE_FINAL) {
        iov[n++] = h2o_iovec_init(term + 2, 5);
    }
    h2o_send(hw->req, iov, n, state);
}

/* Empties b; a buffer a burst grew past 64 KiB is freed so an idle watch holds little. */
static void buf_recycle(struct ck_buf *b)
{
    if (b->cap > ((size_t)64 << 10))
        ck_buf_release(b);
    else
        ck_buf_reset(b);
}

static void watch_flush(struct http_watch *hw)
{
    const struct http_api_ops *ops = hw->lp->srv->ops;
    struct ck_buf tmp;

    if (!hw->req || hw->stopped || hw->inflight || hw->finished)
        return;
    if (hw->w && !hw->ended && ops->watch_drain(hw->w, &hw->pending) != 0)
        hw->ended = true; /* 1: the engine ended the watch; <0: treat as ended too */
    if (hw->pending.len == 0 && !hw->ended)
        return;
    tmp = hw->sending;
    hw->sending = hw->pending;
    hw->pending = tmp;
    buf_recycle(&hw->pending);
    hw->inflight = true;
    hw->finished = hw->ended;
    watch_send(hw, hw->ended ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void watch_proceed(h2o_generator_t *self, h2o_req_t *req)
{
    struct http_watch *hw = H2O_STRUCT_FROM_MEMBER(struct http_watch, super, self);

    (void)req;
    hw->inflight = false;
    buf_recycle(&hw->sending);
    watch_flush(hw);
}

static void watch_stop(h2o_generator_t *self, h2o_req_t *req)
{
    struct http_watch *hw = H2O_STRUCT_FROM_MEMBER(struct http_watch, super, self);

    (void)req;
    hw->stopped = true;
}

/* Engine side, any thread: coalesce to one queued wakeup. */
static void watch_notify(void *arg)
{
    struct http_watch *hw = arg;

    if (atomic_exchange(&hw->queued, 1) == 0)
        h2o_multithread_send_message(&hw->lp->watch_rx, &hw->msg);
}

/* HTTP/1.1 stops reading while a response streams, so a client that closed an idle watch is
 * only noticed on the next write. Peek at the socket instead: EOF, an error, or (with TLS,
 * where a departing client sends an alert) any bytes mean the client is gone. HTTP/2 notices
 * by itself (the stream is reset and stop() runs). */
static bool http1_client_gone(h2o_req_t *req)
{
    struct http1_conn_head *c = (struct http1_conn_head *)req->conn;
    char b;
    int fd;

    if (req->version >= 0x200 || !c->sock || (fd = h2o_socket_get_fd(c->sock)) < 0)
        return false;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        return true;
    if (n < 0)
        return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    return req->scheme == &H2O_URL_SCHEME_HTTPS;
}

static void watch_on_tick(h2o_timeout_entry_t *entry)
{
    struct http_watch *hw = H2O_STRUCT_FROM_MEMBER(struct http_watch, tick, entry);

    if (!hw->req || hw->stopped || hw->finished)
        return;
    if (++hw->ticks % WATCH_PEEK_TICKS == 0 && !hw->inflight && http1_client_gone(hw->req)) {
        ck_v(4, "watch client went away; ending the stream");
        hw->finished = true;
        h2o_send(hw->req, NULL, 0, H2O_SEND_STATE_ERROR); /* closes; dispose closes the watch */
        return;
    }
    if (hw->w && !hw->ended && !hw->inflight)
        hw->lp->srv->ops->watch_tick(hw->w, ck_mono_ms());
    watch_flush(hw);
    if (hw->req && !hw->stopped && !hw->finished)
        h2o_timeout_link(hw->lp->loop, &hw->lp->tick_timeout, &hw->tick);
}

static void watch_dispose(void *p)
{
    struct http_watch *hw = *(struct http_watch **)p;

    hw->req = NULL;
    if (h2o_timeout_is_linked(&hw->tick))
        h2o_timeout_unlink(&hw->tick);
    if (h2o_linklist_is_linked(&hw->link))
        h2o_linklist_unlink(&hw->link);
    if (hw->w) {
        hw->lp->srv->ops->watch_close(hw->w); /* no notify may run after this returns */
        hw->w = NULL;
    }
    atomic_fetch_sub(&hw->lp->srv->m.watches, 1);
    if (!atomic_load(&hw->queued))
        watch_free(hw); /* else the wakeup handler frees it */
}

void http_on_watch_wakeup(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages)
{
    (void)rx;
    while (!h2o_linklist_is_empty(messages)) {
        struct http_watch *hw =
            H2O_STRUCT_FROM_MEMBER(struct http_watch, msg.link, messages->next);
        h2o_linklist_unlink(&hw->msg.link);
        atomic_store(&hw->queued, 0);
        if (!hw->req) {
            watch_free(hw);
            continue;
        }
        watch_flush(hw);
    }
}

/* Decide the body framing before h2o_start_response sets up its filters (mirrors the cases
 * where h2o's chunked filter would act: HTTP/1.1, 200, not HEAD). */
static void watch_setup_framing(struct http_watch *hw, h2o_req_t *req)
{
    if (req->version >= 0x200)
        return;
    if (req->version < 0x101) {
        req->http1_is_persistent = 0; /* close-delimited body: the close ends it */
        return;
    }
    if (req->res.status != 200 ||
        h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD")))
        return;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_TRANSFER_ENCODING, NULL,
                   H2O_STRLIT("chunked"));
    req->bytes_counted_by_ostream = 1; /* watch_send counts the payload, not the framing */
    hw->framed = true;
}

void http_watch_begin(struct http_loop *lp, h2o_req_t *req, struct api_watch *w,
                      struct api_response *rs)
{
    struct http_watch *hw = ck_calloc(1, sizeof(*hw));
    struct http_watch **holder;

    hw->lp = lp;
    hw->req = req;
    hw->w = w;
    hw->sending = (struct ck_buf)CK_BUF_INIT(WATCH_BUF_MAX);
    hw->pending = (struct ck_buf)CK_BUF_INIT(WATCH_BUF_MAX);
    hw->super.proceed = watch_proceed;
    hw->super.stop = watch_stop;
    holder = h2o_mem_alloc_shared(&req->pool, sizeof(*holder), watch_dispose);
    *holder = hw;
    atomic_fetch_add(&lp->srv->m.watches, 1);
    h2o_linklist_insert(&lp->watches, &hw->link);
    hw->tick.cb = watch_on_tick;
    h2o_timeout_link(lp->loop, &lp->tick_timeout, &hw->tick);
    if (atomic_load(&lp->srv->stopping))
        hw->ended = true; /* arrived after http_watch_end_all: end at once */
    lp->srv->ops->watch_set_notify(w, watch_notify, hw);
    http_set_common_headers(req, rs);
    watch_setup_framing(hw, req);
    h2o_start_response(req, &hw->super);
    hw->inflight = true; /* headers alone, at once; proceed() then drains */
    watch_send(hw, H2O_SEND_STATE_IN_PROGRESS);
}

void http_watch_end_all(struct http_loop *lp)
{
    h2o_linklist_t *n = lp->watches.next;

    while (n != &lp->watches) {
        struct http_watch *hw = H2O_STRUCT_FROM_MEMBER(struct http_watch, link, n);
        n = n->next;
        hw->ended = true;
        watch_flush(hw);
    }
}
