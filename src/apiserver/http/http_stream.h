/* SPDX-License-Identifier: Apache-2.0 */
/* Internals of the streaming subresources pods/exec, pods/attach and pods/portforward:
 *   http_stream.c      request capture (loop), target resolution and the kubelet handshake
 *                      (worker), the client's 101 and the socket take-over (loop);
 *   http_stream_io.c   byte I/O on a taken-over socket or a kubelet connection (plain or
 *                      TLS), dialing the kubelet, HTTP/1.1 heads;
 *   http_stream_sess.c session threads: SPDY splice, the port-forward WebSocket tunnel;
 *   http_ws.c          WebSocket channel sessions (exec/attach) translated to SPDY;
 *   http_ws_chan.c     the channel framing (pure; fuzzed by fuzz/fuzz_ws_channel.c).
 * Toward kubectl: SPDY/3.1 (all versions), WebSocket v5/v4/v1 channel protocols (exec,
 * attach) and SPDY-in-WebSocket (port-forward). Toward the node: SPDY/3.1, as upstream. */
#ifndef CK_APISERVER_HTTP_STREAM_H
#define CK_APISERVER_HTTP_STREAM_H

#include "apiserver/http/http_int.h"

#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HS_MAX_CMD 256
#define HS_MAX_SESSIONS 512

enum hs_kind { HS_EXEC, HS_ATTACH, HS_PORTFORWARD };
/* what the client asked for */
enum hs_mode { HS_MODE_NONE, HS_MODE_SPDY, HS_MODE_WS };

/* One end of a session: a socket, TLS or not, with bytes read ahead of it (pre). */
struct hs_io {
    int fd;
    SSL *ssl;
    uint8_t *pre;
    size_t pre_len, pre_off;
    bool want_write; /* the last TLS call needs the socket writable */
};

/* >0 bytes, 0 at EOF, -1 with errno (EAGAIN: nothing now). */
ssize_t hs_io_read(struct hs_io *c, void *buf, size_t n);
ssize_t hs_io_write(struct hs_io *c, const void *buf, size_t n);
/* Bytes readable without touching the socket (read-ahead, decrypted TLS records). */
bool hs_io_pending(const struct hs_io *c);
void hs_io_close(struct hs_io *c);
/* Writes all of buf within timeout_ms; 0 or -1. */
int hs_io_write_all(struct hs_io *c, const void *buf, size_t n, int timeout_ms);

/* TLS material for the kubelet connection (paths; NULL when unset). */
struct hs_tls {
    const char *cert, *key, *ca;
};

/* The kubelet's answer to an upgrade request. */
struct hs_resp {
    int status;
    char proto[64];  /* X-Stream-Protocol-Version */
    char ctype[128]; /* Content-Type */
    char *body;      /* malloc'd (error answers), may be NULL */
    size_t body_len;
    bool conn_upgrade, upgrade_spdy;
};

/* Dials host:port (plain first; a peer that does not answer HTTP is retried with TLS), sends
 * the request head (method, target, extra header lines ending in CRLF) and reads the answer's
 * head (plus a bounded body when it is not 101). On 0 the connection is in *out with any
 * bytes after the head kept as read-ahead. -1 with msg when it could not be reached. */
int hs_kubelet_upgrade(const char *host, int port, const struct hs_tls *tls, const char *method,
                       const char *target, const char *headers, struct hs_io *out,
                       struct hs_resp *resp, char *msg, size_t msgcap);
void hs_resp_release(struct hs_resp *r);

struct http_stream {
    struct http_server *srv;
    enum hs_kind kind;
    enum hs_mode mode;
    bool h2, get, post, conn_upgrade;
    char ns[254], pod[254];
    char *query;
    /* client handshake */
    char ws_key[64];
    char *ws_protos; /* Sec-WebSocket-Protocol, comma-joined */
    char *xspv[16];  /* X-Stream-Protocol-Version values */
    int nxspv;
    /* parameters */
    char container[254];
    char *cmd[HS_MAX_CMD + 1];
    int ncmd;
    bool in, out, err, tty;
    char ports[256];
    /* where to */
    char host[256];
    int port;
    struct hs_tls tls;
    /* after the worker */
    bool ok;               /* kube is upgraded: answer 101 */
    char client_proto[64]; /* the subprotocol / stream protocol chosen for the client */
    int ws_variant;        /* enum ws_variant (http_ws_chan.h) for channel sessions */
    bool tunnel;           /* WebSocket port-forward: SPDY inside binary messages */
    struct hs_io kube;
    struct hs_resp kresp; /* the kubelet's refusal to relay (when !ok and kresp.status) */
    /* the client's socket (after the take-over) */
    struct hs_io cli;
};

/* Loop thread. */
bool http_stream_match(const char *path);
struct http_stream *http_stream_prepare(struct http_server *s, h2o_req_t *req, const char *path);
/* Worker thread: j->st resolved and connected, or j->rs / st->kresp holding the refusal. */
void http_stream_run(struct http_server *s, struct http_job *j);
/* Loop thread: answers the client (error, or 101 and take-over); may take j->st. */
void http_stream_respond(h2o_req_t *req, struct http_job *j);
void http_stream_free(struct http_stream *st);

/* Session threads (own st; free it at the end). */
void hs_session_splice(struct http_stream *st);
void hs_session_tunnel(struct http_stream *st);
void hs_session_channels(struct http_stream *st);
/* The number of running sessions (bounded by HS_MAX_SESSIONS). */
extern atomic_int hs_sessions;

/* ---- the WebSocket server end of a session (http_ws.c, on libwslay) ------------------- */
/* base64(SHA-1(key + GUID)) into out (>= 29 bytes). */
void hs_ws_accept_key(const char *key, char *out, size_t cap);

struct hs_ws {
    void *ctx; /* wslay_event_context_ptr */
    struct hs_io *io;
    bool eof;     /* the peer closed the socket or failed */
    bool paused;  /* do not read (the other side is backed up) */
    bool closing; /* our close frame is queued */
    int64_t close_ms;
    uint16_t close_code; /* a close frame to queue once the messages before it are out */
    int64_t last_rx_ms;  /* the last bytes from the peer (monotonic) */
    /* one complete received message (binary, text; pings and closes are handled) */
    void (*on_msg)(void *arg, bool text, const uint8_t *p, size_t n);
    void *arg;
};
int hs_ws_init(struct hs_ws *w, struct hs_io *io,
               void (*on_msg)(void *arg, bool text, const uint8_t *p, size_t n), void *arg);
void hs_ws_free(struct hs_ws *w);
/* Queues one message. */
void hs_ws_send(struct hs_ws *w, bool text, const void *p, size_t n);
size_t hs_ws_queued(const struct hs_ws *w);
/* Queues a close frame (once). */
void hs_ws_close(struct hs_ws *w, uint16_t code);
/* poll events for the socket, and the I/O after poll (revents) */
short hs_ws_events(const struct hs_ws *w);
void hs_ws_io(struct hs_ws *w, short revents);
/* true once the session over this WebSocket is over: socket gone, or our close frame sent and
 * the peer's close received (or 5 s passed) */
bool hs_ws_done(const struct hs_ws *w);

#endif
