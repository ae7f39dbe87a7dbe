/* SPDX-License-Identifier: Apache-2.0 */
/* Request bodies over the limit on HTTP/2 get the JSON 413 at once, as upstream's
 * limitedReadBody answers them.
 *
 * h2o 2.2 has no request-body streaming API: an HTTP/2 body is buffered until END_STREAM, and
 * one over globalconf->max_request_entity_size is refused with RST_STREAM(REFUSED_STREAM),
 * which Go clients retry for minutes. So each HTTP/2 connection's frame reader
 * (h2o_http2_conn_t::_read_expect, from h2o's installed http2_internal.h) is wrapped:
 *   - a HEADERS block that declares a content-length over the limit, or a DATA frame that
 *     would take the buffered body over it, turns the stream into a response right away (the
 *     same fast-forward h2o does for a request with invalid header characters) and runs the
 *     handler, which answers 413 after authentication;
 *   - later DATA frames of that stream are swallowed while its response is being sent: the
 *     connection window is replenished, the stream's is not, so the client stops sending
 *     (Go's transport also aborts the upload on any status > 299).
 * The three frame readers of h2o (preface, default, continuation) are static functions; their
 * addresses are learned from the first connection and each is paired with a wrapper here. An
 * unknown reader is left alone (the connection then behaves as plain h2o). */
#include "apiserver/http/http_int.h"

#include <h2o/http1.h>
#include <h2o/http2.h>
#include <h2o/http2_internal.h>
#include <stdlib.h>

#include "lib/banned.h"

typedef ssize_t (*expect_fn)(h2o_http2_conn_t *conn, const uint8_t *src, size_t len,
                             const char **err_desc);

/* _expected_content_length of a stream whose body is being discarded after a 413 */
#define DISCARDING ((size_t)SIZE_MAX - 1)

static _Atomic(expect_fn) h2o_preface, h2o_default, h2o_cont;

static ssize_t wrap_preface(h2o_http2_conn_t *conn, const uint8_t *src, size_t len,
                            const char **err_desc);
static ssize_t wrap_default(h2o_http2_conn_t *conn, const uint8_t *src, size_t len,
                            const char **err_desc);
static ssize_t wrap_cont(h2o_http2_conn_t *conn, const uint8_t *src, size_t len,
                         const char **err_desc);

static struct http_loop *loop_of(h2o_http2_conn_t *conn)
{
    return H2O_STRUCT_FROM_MEMBER(struct http_loop, ctx, conn->super.ctx);
}

/* Puts our wrapper back after h2o switched readers (it assigns _read_expect only on a
 * transition, so an unchanged field still holds our wrapper). */
static void rehook(h2o_http2_conn_t *conn, expect_fn was)
{
    expect_fn cur = conn->_read_expect;

    if (cur == wrap_preface || cur == wrap_default || cur == wrap_cont)
        return;
    if (cur == atomic_load(&h2o_preface))
        conn->_read_expect = wrap_preface;
    else if (cur == atomic_load(&h2o_default))
        conn->_read_expect = wrap_default;
    else if (cur == atomic_load(&h2o_cont))
        conn->_read_expect = wrap_cont;
    else if (was == wrap_preface && !atomic_load(&h2o_default)) {
        atomic_store(&h2o_default, cur); /* what follows the preface */
        conn->_read_expect = wrap_default;
    } else if (was == wrap_default && !atomic_load(&h2o_cont)) {
        atomic_store(&h2o_cont, cur); /* HEADERS without END_HEADERS */
        conn->_read_expect = wrap_cont;
    }
}

static bool is_discarding(const h2o_http2_stream_t *stream)
{
    return stream->state > H2O_HTTP2_STREAM_STATE_RECV_BODY && stream->_req_body == NULL &&
           stream->_expected_content_length == DISCARDING;
}

/* The stream's body is over the limit: drop what was buffered and let the handler answer
 * now (it sees req == lp->too_large). */
static void reject(h2o_http2_conn_t *conn, h2o_http2_stream_t *stream)
{
    struct http_loop *lp = loop_of(conn);

    if (stream->_req_body)
        h2o_buffer_dispose(&stream->_req_body);
    stream->_expected_content_length = DISCARDING;
    stream->req.entity = h2o_iovec_init(NULL, 0);
    h2o_http2_stream_set_state(conn, stream, H2O_HTTP2_STREAM_STATE_REQ_PENDING);
    h2o_http2_stream_set_state(conn, stream, H2O_HTTP2_STREAM_STATE_SEND_HEADERS);
    if (!h2o_http2_stream_is_push(stream->stream_id) &&
        conn->pull_stream_ids.max_processed < stream->stream_id)
        conn->pull_stream_ids.max_processed = stream->stream_id;
    lp->too_large = &stream->req;
    h2o_process_request(&stream->req);
    lp->too_large = NULL;
}

/* h2o's update_input_window for the connection-level window. */
static void consume_conn_window(h2o_http2_conn_t *conn, size_t n)
{
    h2o_http2_window_consume_window(&conn->_input_window, n);
    if (h2o_http2_window_get_window(&conn->_input_window) * 2 <
        H2O_HTTP2_SETTINGS_HOST.initial_window_size) {
        int32_t delta = (int32_t)(H2O_HTTP2_SETTINGS_HOST.initial_window_size -
                                  h2o_http2_window_get_window(&conn->_input_window));
        h2o_http2_encode_window_update_frame(&conn->_write.buf, 0, delta);
        h2o_http2_conn_request_write(conn);
        h2o_http2_window_update(&conn->_input_window, delta);
    }
}

/* A HEADERS block finished on stream_id: a declared content-length over the limit is
 * refused before any of the body arrives. */
static void check_declared(h2o_http2_conn_t *conn, uint32_t stream_id)
{
    h2o_http2_stream_t *stream = h2o_http2_conn_get_stream(conn, stream_id);

    if (conn->state < H2O_HTTP2_CONN_STATE_IS_CLOSING && stream &&
        stream->state == H2O_HTTP2_STREAM_STATE_RECV_BODY && stream->_req_body &&
        stream->_expected_content_length != SIZE_MAX &&
        stream->_expected_content_length > loop_of(conn)->srv->o.max_body)
        reject(conn, stream);
}

/* Returns the frame length when the DATA frame was consumed here, 0 to let h2o handle it. */
static ssize_t intercept_data(h2o_http2_conn_t *conn, const h2o_http2_frame_t *frame, ssize_t flen)
{
    h2o_http2_data_payload_t payload;
    h2o_http2_stream_t *stream;
    const char *err = NULL;

    if (conn->state >= H2O_HTTP2_CONN_STATE_HALF_CLOSED ||
        h2o_http2_decode_data_payload(&payload, frame, &err) != 0)
        return 0;
    if (!(stream = h2o_http2_conn_get_stream(conn, frame->stream_id)))
        return 0;
    if (is_discarding(stream)) {
        consume_conn_window(conn, frame->length);
        return flen;
    }
    if (stream->state != H2O_HTTP2_STREAM_STATE_RECV_BODY || !stream->_req_body ||
        stream->_req_body->size + payload.length <= loop_of(conn)->srv->o.max_body)
        return 0;
    reject(conn, stream);
    consume_conn_window(conn, frame->length);
    return flen;
}

static ssize_t wrap_preface(h2o_http2_conn_t *conn, const uint8_t *src, size_t len,
                            const char **err_desc)
{
    ssize_t r = atomic_load(&h2o_preface)(conn, src, len, err_desc);

    if (r >= 0)
        rehook(conn, wrap_preface);
    return r;
}

static ssize_t wrap_default(h2o_http2_conn_t *conn, const uint8_t *src, size_t len,
                            const char **err_desc)
{
    h2o_http2_frame_t frame;
    const char *err = NULL;
    ssize_t flen = h2o_http2_decode_frame(&frame, src, len, &H2O_HTTP2_SETTINGS_HOST, &err);
    ssize_t r;

    if (flen > 0 && frame.type == H2O_HTTP2_FRAME_TYPE_DATA &&
        (r = intercept_data(conn, &frame, flen)))
        return r;
    r = atomic_load(&h2o_default)(conn, src, len, err_desc);
    if (r < 0)
        return r;
    rehook(conn, wrap_default);
    if (flen > 0 && frame.type == H2O_HTTP2_FRAME_TYPE_HEADERS &&
        (frame.flags & H2O_HTTP2_FRAME_FLAG_END_HEADERS))
        check_declared(conn, frame.stream_id);
    return r;
}

static ssize_t wrap_cont(h2o_http2_conn_t *conn, const uint8_t *src, size_t len,
                         const char **err_desc)
{
    h2o_http2_frame_t frame;
    const char *err = NULL;
    ssize_t flen = h2o_http2_decode_frame(&frame, src, len, &H2O_HTTP2_SETTINGS_HOST, &err);
    ssize_t r = atomic_load(&h2o_cont)(conn, src, len, err_desc);

    if (r < 0)
        return r;
    rehook(conn, wrap_cont);
    if (flen > 0 && (frame.flags & H2O_HTTP2_FRAME_FLAG_END_HEADERS))
        check_declared(conn, frame.stream_id);
    return r;
}

void http_h2_hook_conn(h2o_conn_t *c)
{
    h2o_http2_conn_t *conn = (h2o_http2_conn_t *)c;
    expect_fn cur = conn->_read_expect;

    if (cur == wrap_preface || cur == wrap_default || cur == wrap_cont)
        return;
    if (cur == atomic_load(&h2o_default))
        conn->_read_expect = wrap_default;
    else if (cur == atomic_load(&h2o_cont))
        conn->_read_expect = wrap_cont;
}

/* ---- TLS accept: h2o_accept's handshake path, with the hook installed before the first
 * frame is parsed ------------------------------------------------------------------------ */

struct accept_wait {
    h2o_accept_ctx_t *actx;
    h2o_socket_t *sock;
    h2o_timeout_entry_t timeout;
    struct timeval connected_at;
};

static void accept_timeout(h2o_timeout_entry_t *entry)
{
    struct accept_wait *a = H2O_STRUCT_FROM_MEMBER(struct accept_wait, timeout, entry);
    h2o_socket_t *sock = a->sock;

    sock->data = NULL;
    free(a);
    h2o_socket_close(sock);
}

static bool alpn_is_h2(h2o_socket_t *sock)
{
    h2o_iovec_t proto = h2o_socket_ssl_get_selected_protocol(sock);

    for (const h2o_iovec_t *id = h2o_http2_alpn_protocols; id->len; id++)
        if (proto.len == id->len && !memcmp(proto.base, id->base, proto.len))
            return true;
    return false;
}

static void accept_h2(h2o_accept_ctx_t *actx, h2o_socket_t *sock, struct timeval at)
{
    h2o_buffer_t *input = sock->input, *empty;
    h2o_http2_conn_t *conn;
    expect_fn cur;

    /* h2o_http2_accept parses whatever already arrived: hold it back until hooked */
    h2o_buffer_init(&sock->input, &h2o_socket_buffer_prototype);
    h2o_http2_accept(actx, sock, at);
    conn = sock->data;
    cur = conn->_read_expect;
    if (!atomic_load(&h2o_preface))
        atomic_store(&h2o_preface, cur);
    if (cur == atomic_load(&h2o_preface))
        conn->_read_expect = wrap_preface;
    empty = sock->input;
    sock->input = input;
    h2o_buffer_dispose(&empty);
    if (sock->input->size && sock->_cb.read)
        sock->_cb.read(sock, NULL);
}

static void accept_handshake_done(h2o_socket_t *sock, const char *err)
{
    struct accept_wait *a = sock->data;
    h2o_accept_ctx_t *actx = a->actx;
    struct timeval at = a->connected_at;

    sock->data = NULL;
    h2o_timeout_unlink(&a->timeout);
    free(a);
    if (err) {
        h2o_socket_close(sock);
        return;
    }
    if (alpn_is_h2(sock))
        accept_h2(actx, sock, at);
    else
        h2o_http1_accept(actx, sock, at);
}

void http_accept(h2o_accept_ctx_t *actx, h2o_socket_t *sock)
{
    struct accept_wait *a;

    if (!actx->ssl_ctx) {
        h2o_accept(actx, sock);
        return;
    }
    a = ck_calloc(1, sizeof(*a));
    a->actx = actx;
    a->sock = sock;
    a->connected_at = *h2o_get_timestamp(actx->ctx, NULL, NULL);
    a->timeout.cb = accept_timeout;
    h2o_timeout_link(actx->ctx->loop, &actx->ctx->handshake_timeout, &a->timeout);
    sock->data = a;
    h2o_socket_ssl_handshake(sock, actx->ssl_ctx, NULL, accept_handshake_done);
}
