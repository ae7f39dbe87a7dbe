/* SPDX-License-Identifier: Apache-2.0 */
/* SPDY/3.1, the subset Kubernetes streaming uses (moby/spdystream framing): SYN_STREAM,
 * SYN_REPLY, HEADERS, DATA, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, with zlib
 * header blocks primed with the SPDY/3 dictionary (one context per direction per session).
 *
 * Transport-agnostic: spdy_session_feed() takes received bytes and calls the event callback
 * once per frame; the spdy_send_*() calls queue frames, spdy_out_peek()/spdy_out_consume()
 * drain them to the socket. Memory per session is bounded (input buffer, output queue,
 * stream table, decompressed header blocks). No locking: one thread owns a session. */
#ifndef CK_STREAM_SPDY_H
#define CK_STREAM_SPDY_H

#include "lib/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPDY_DICTIONARY_LEN 1423
extern const unsigned char spdy_dictionary[SPDY_DICTIONARY_LEN];

enum spdy_type {
    SPDY_DATA = 0, /* not a control type: a DATA frame */
    SPDY_SYN_STREAM = 1,
    SPDY_SYN_REPLY = 2,
    SPDY_RST_STREAM = 3,
    SPDY_SETTINGS = 4,
    SPDY_PING = 6,
    SPDY_GOAWAY = 7,
    SPDY_HEADERS = 8,
    SPDY_WINDOW_UPDATE = 9,
};

#define SPDY_FLAG_FIN 0x01
#define SPDY_FLAG_UNIDIRECTIONAL 0x02 /* SYN_STREAM */

enum spdy_rst {
    SPDY_RST_PROTOCOL_ERROR = 1,
    SPDY_RST_INVALID_STREAM = 2,
    SPDY_RST_REFUSED_STREAM = 3,
    SPDY_RST_UNSUPPORTED_VERSION = 4,
    SPDY_RST_CANCEL = 5,
    SPDY_RST_INTERNAL_ERROR = 6,
    SPDY_RST_FLOW_CONTROL_ERROR = 7,
    SPDY_RST_STREAM_IN_USE = 8,
    SPDY_RST_STREAM_ALREADY_CLOSED = 9,
    SPDY_RST_FRAME_TOO_LARGE = 11,
};

enum spdy_goaway_status {
    SPDY_GOAWAY_OK = 0,
    SPDY_GOAWAY_PROTOCOL_ERROR = 1,
    SPDY_GOAWAY_INTERNAL = 2
};

#define SPDY_SETTINGS_INITIAL_WINDOW_SIZE 7
#define SPDY_DEFAULT_WINDOW 65536
#define SPDY_MAX_LENGTH 0xffffffu /* 24-bit frame length */

/* ---- frames ------------------------------------------------------------------------ */

/* One parsed frame; pointers borrow the parsed buffer. */
struct spdy_frame {
    bool control;
    uint16_t version; /* control frames */
    uint16_t type;    /* enum spdy_type; SPDY_DATA for data frames */
    uint8_t flags;
    uint32_t length;        /* payload length */
    uint32_t stream_id;     /* DATA, SYN_*, HEADERS, RST_STREAM, WINDOW_UPDATE (0: session) */
    uint32_t assoc_id;      /* SYN_STREAM */
    uint8_t priority;       /* SYN_STREAM, 0..7 */
    uint32_t status;        /* RST_STREAM, GOAWAY */
    uint32_t value;         /* PING id, GOAWAY last-good id, WINDOW_UPDATE delta */
    const uint8_t *payload; /* DATA payload, or the compressed header block of SYN_STREAM, SYN_REPLY
                               and HEADERS, or the SETTINGS entries */
    size_t payload_len;
    uint32_t nsettings;
};

/* Parses the frame at the start of buf. Returns its total size (8 + length) when complete,
 * 0 when more bytes are needed (after the 8-byte header has shown the length is at most
 * max_payload), or -1 with err set when the frame is malformed or longer than max_payload
 * (for a DATA frame the header fields are still filled, so the caller may skip it). */
long spdy_frame_parse(const uint8_t *buf, size_t n, size_t max_payload, struct spdy_frame *f,
                      struct ck_err *err);

/* ---- header blocks ----------------------------------------------------------------- */

struct spdy_hdr {
    char *name;  /* lowercase, NUL-terminated */
    char *value; /* NUL-terminated; several values are separated by NUL inside value_len */
    size_t value_len;
};

struct spdy_headers {
    struct spdy_hdr *v;
    size_t n;
};

/* The first value of name (compared case-insensitively), or NULL. */
const char *spdy_headers_get(const struct spdy_headers *h, const char *name);
void spdy_headers_release(struct spdy_headers *h);

/* Parses an uncompressed SPDY/3 name/value block (4-byte count, then 4-byte-length name and
 * value per pair). Names are lowercased; empty names and more than max_pairs pairs fail. */
int spdy_hdr_parse(const uint8_t *raw, size_t n, size_t max_pairs, struct spdy_headers *out,
                   struct ck_err *err);

/* One zlib context of a direction of a session. */
struct spdy_zctx;
struct spdy_zctx *spdy_zctx_new(bool deflate);
void spdy_zctx_free(struct spdy_zctx *z);
/* Appends the compressed block of h[0..n) (names lowercased) to *out (malloc'd, *out_len);
 * ends with a sync flush so the block decodes alone. */
int spdy_hdr_encode(struct spdy_zctx *z, const struct spdy_hdr *h, size_t n, uint8_t **out,
                    size_t *out_len, struct ck_err *err);
/* Inflates one frame's block (at most max_bytes decompressed) and parses it. Any failure
 * leaves the context unusable: the session must end. */
int spdy_hdr_decode(struct spdy_zctx *z, const uint8_t *p, size_t n, size_t max_bytes,
                    struct spdy_headers *out, struct ck_err *err);

/* ---- sessions ---------------------------------------------------------------------- */

struct spdy_session_opts {
    bool server;             /* servers open even stream ids, answer odd PINGs */
    uint32_t max_streams;    /* open streams at once, default 256 */
    size_t max_frame;        /* largest accepted payload, default 1 MiB (DATA beyond: RST) */
    size_t max_out;          /* output queue for DATA, default 1 MiB (+64 KiB for control) */
    size_t max_header_bytes; /* decompressed header block, default 64 KiB */
    /* Enforce SPDY/3.1 send windows and send WINDOW_UPDATEs for received data. Off for
     * Kubernetes peers: spdystream ignores WINDOW_UPDATE and never sends one. */
    bool flow_control;
    uint32_t initial_window; /* default 64 KiB */
};

struct spdy_event {
    enum spdy_type type;
    uint32_t stream_id;
    uint8_t flags;
    const uint8_t *data; /* DATA payload */
    size_t len;
    const struct spdy_headers *headers; /* SYN_STREAM, SYN_REPLY, HEADERS */
    uint32_t status;                    /* RST_STREAM, GOAWAY */
    uint32_t value;                     /* PING id, GOAWAY last-good id, WINDOW_UPDATE delta */
};

struct spdy_session;
/* Called once per received frame (after the session's own bookkeeping: PINGs from the peer
 * are already answered, unusable streams already reset). It may queue frames. */
typedef void (*spdy_event_fn)(void *arg, struct spdy_session *s, const struct spdy_event *ev);

struct spdy_session *spdy_session_new(const struct spdy_session_opts *o, spdy_event_fn fn,
                                      void *arg);
void spdy_session_free(struct spdy_session *s);

/* Processes received bytes. Returns 0, or -1 when the session is broken (err set, GOAWAY
 * PROTOCOL_ERROR queued): flush the output and close. */
int spdy_session_feed(struct spdy_session *s, const void *p, size_t n, struct ck_err *err);

/* Opens a stream; *id receives its id. Returns 0 or -1 (table full, GOAWAY received). */
int spdy_send_syn_stream(struct spdy_session *s, uint32_t *id, const struct spdy_hdr *h, size_t n,
                         uint8_t flags, struct ck_err *err);
int spdy_send_syn_reply(struct spdy_session *s, uint32_t id, const struct spdy_hdr *h, size_t n,
                        uint8_t flags, struct ck_err *err);
/* Queues up to n bytes (and FIN when fin and all n fit). Returns the bytes taken (may be 0
 * when the window or queue is full), or -1 for an unknown or locally finished stream. */
long spdy_send_data(struct spdy_session *s, uint32_t id, const void *p, size_t n, bool fin);
/* Bytes spdy_send_data would take now on stream id (0 when unknown or finished). */
size_t spdy_send_capacity(const struct spdy_session *s, uint32_t id);
void spdy_send_rst(struct spdy_session *s, uint32_t id, enum spdy_rst status);
void spdy_send_ping(struct spdy_session *s, uint32_t id);
void spdy_send_goaway(struct spdy_session *s, enum spdy_goaway_status status);
void spdy_send_window_update(struct spdy_session *s, uint32_t id, uint32_t delta);
/* Sends one SETTINGS entry (id, value). */
void spdy_send_settings(struct spdy_session *s, uint32_t id, uint32_t value);
/* Tells the session the application consumed n received bytes of stream id; with flow control
 * on, WINDOW_UPDATEs follow once half a window was consumed. */
void spdy_stream_consumed(struct spdy_session *s, uint32_t id, size_t n);

/* Stream state. */
bool spdy_stream_open(const struct spdy_session *s, uint32_t id);
bool spdy_stream_local_fin(const struct spdy_session *s, uint32_t id);
bool spdy_stream_remote_fin(const struct spdy_session *s, uint32_t id);
size_t spdy_stream_count(const struct spdy_session *s);
bool spdy_goaway_received(const struct spdy_session *s);

/* Output: the queued bytes, and how many were written. */
const uint8_t *spdy_out_peek(const struct spdy_session *s, size_t *n);
void spdy_out_consume(struct spdy_session *s, size_t n);
size_t spdy_out_pending(const struct spdy_session *s);

#endif
