/* SPDX-License-Identifier: Apache-2.0 */
/* SPDY/3.1 frame parser and session state machine (see spdy.h). Streams live in a fixed
 * table allocated once, so a stream pointer stays valid memory across event callbacks; the
 * output queue has a ceiling for DATA and a small reserve for control frames. */
#include "stream/spdy.h"

#include "lib/buf.h"

#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define CONTROL_RESERVE (64 * 1024)
#define DATA_CHUNK (32 * 1024)

struct stream {
    uint32_t id; /* 0: free slot */
    bool local_fin, remote_fin;
    bool replied; /* SYN_REPLY sent (peer's stream) or received (ours) */
    int64_t send_window, recv_window;
    size_t unacked; /* consumed bytes not yet returned by WINDOW_UPDATE */
};

struct spdy_session {
    struct spdy_session_opts o;
    spdy_event_fn fn;
    void *arg;
    struct spdy_zctx *zin, *zout;
    struct stream *streams;
    size_t nstreams;
    uint32_t last_peer_id, next_id;
    int64_t session_send_window, session_recv_window;
    size_t session_unacked;
    bool goaway_in, goaway_out, broken;
    struct ck_buf in;
    size_t skip; /* payload bytes of an oversize DATA frame still to drop */
    uint8_t *out;
    size_t out_off, out_len, out_cap;
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

long spdy_frame_parse(const uint8_t *b, size_t n, size_t max_payload, struct spdy_frame *f,
                      struct ck_err *err)
{
    memset(f, 0, sizeof(*f));
    if (n < 8)
        return 0;
    f->control = b[0] & 0x80;
    f->flags = b[4];
    f->length = (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
    if (f->control) {
        f->version = (uint16_t)((b[0] & 0x7f) << 8 | b[1]);
        f->type = (uint16_t)(b[2] << 8 | b[3]);
    } else {
        f->type = SPDY_DATA;
        f->stream_id = be32(b) & 0x7fffffff;
    }
    if (f->length > max_payload)
        return ck_err_set(err, CK_R_TOO_LARGE, "spdy: frame type %u of %u bytes is too large",
                          f->type, f->length);
    if (n - 8 < f->length)
        return 0;
    const uint8_t *p = b + 8;
    uint32_t len = f->length;
    f->payload = p;
    f->payload_len = len;
    switch (f->control ? f->type : SPDY_DATA) {
    case SPDY_DATA:
        break;
    case SPDY_SYN_STREAM:
        if (len < 10)
            goto bad;
        f->stream_id = be32(p) & 0x7fffffff;
        f->assoc_id = be32(p + 4) & 0x7fffffff;
        f->priority = p[8] >> 5;
        f->payload = p + 10;
        f->payload_len = len - 10;
        break;
    case SPDY_SYN_REPLY:
    case SPDY_HEADERS:
        if (len < 4)
            goto bad;
        f->stream_id = be32(p) & 0x7fffffff;
        f->payload = p + 4;
        f->payload_len = len - 4;
        break;
    case SPDY_RST_STREAM:
        if (len != 8)
            goto bad;
        f->stream_id = be32(p) & 0x7fffffff;
        f->status = be32(p + 4);
        break;
    case SPDY_SETTINGS:
        if (len < 4)
            goto bad;
        f->nsettings = be32(p);
        if (f->nsettings > (len - 4) / 8 || (len - 4) % 8)
            goto bad;
        f->payload = p + 4;
        f->payload_len = len - 4;
        break;
    case SPDY_PING:
        if (len != 4)
            goto bad;
        f->value = be32(p);
        break;
    case SPDY_GOAWAY:
        if (len != 8)
            goto bad;
        f->value = be32(p) & 0x7fffffff;
        f->status = be32(p + 4);
        break;
    case SPDY_WINDOW_UPDATE:
        if (len != 8)
            goto bad;
        f->stream_id = be32(p) & 0x7fffffff;
        f->value = be32(p + 4) & 0x7fffffff;
        break;
    default: /* unknown control frames are skipped by the session */
        break;
    }
    return (long)(8 + len);
bad:
    return ck_err_set(err, CK_R_BAD_REQUEST, "spdy: malformed control frame type %u (length %u)",
                      f->type, len);
}

/* ---- output queue ------------------------------------------------------------------ */

static uint8_t *out_reserve(struct spdy_session *s, size_t n)
{
    if (s->out_off && s->out_off == s->out_len)
        s->out_off = s->out_len = 0;
    if (s->out_len + n > s->out_cap) {
        if (s->out_off) {
            memmove(s->out, s->out + s->out_off, s->out_len - s->out_off);
            s->out_len -= s->out_off;
            s->out_off = 0;
        }
        if (s->out_len + n > s->out_cap) {
            size_t cap = s->out_cap ? s->out_cap : 4096;
            while (cap < s->out_len + n)
                cap *= 2;
            s->out = ck_realloc(s->out, cap);
            s->out_cap = cap;
        }
    }
    uint8_t *p = s->out + s->out_len;
    s->out_len += n;
    return p;
}

/* Control frames may use the reserve above max_out; past it the peer is not reading. */
static uint8_t *control_frame(struct spdy_session *s, uint16_t type, uint8_t flags, size_t len)
{
    if (spdy_out_pending(s) + 8 + len > s->o.max_out + CONTROL_RESERVE) {
        s->broken = true;
        return NULL;
    }
    uint8_t *p = out_reserve(s, 8 + len);
    p[0] = 0x80;
    p[1] = 3;
    p[2] = (uint8_t)(type >> 8);
    p[3] = (uint8_t)type;
    put32(p + 4, (uint32_t)len);
    p[4] = flags;
    return p + 8;
}

const uint8_t *spdy_out_peek(const struct spdy_session *s, size_t *n)
{
    *n = s->out_len - s->out_off;
    return s->out ? s->out + s->out_off : (const uint8_t *)"";
}

void spdy_out_consume(struct spdy_session *s, size_t n)
{
    s->out_off += n < s->out_len - s->out_off ? n : s->out_len - s->out_off;
}

size_t spdy_out_pending(const struct spdy_session *s)
{
    return s->out_len - s->out_off;
}

/* ---- streams ----------------------------------------------------------------------- */

static struct stream *find(const struct spdy_session *s, uint32_t id)
{
    if (!id)
        return NULL;
    for (size_t i = 0; i < s->o.max_streams; i++)
        if (s->streams[i].id == id)
            return &s->streams[i];
    return NULL;
}

static struct stream *add(struct spdy_session *s, uint32_t id)
{
    for (size_t i = 0; i < s->o.max_streams; i++) {
        struct stream *st = &s->streams[i];
        if (!st->id) {
            memset(st, 0, sizeof(*st));
            st->id = id;
            st->send_window = s->o.initial_window;
            st->recv_window = s->o.initial_window;
            s->nstreams++;
            return st;
        }
    }
    return NULL;
}

static void drop(struct spdy_session *s, struct stream *st)
{
    if (st && st->id) {
        st->id = 0;
        s->nstreams--;
    }
}

static void maybe_close(struct spdy_session *s, struct stream *st)
{
    if (st->local_fin && st->remote_fin)
        drop(s, st);
}

bool spdy_stream_open(const struct spdy_session *s, uint32_t id)
{
    return find(s, id) != NULL;
}

bool spdy_stream_local_fin(const struct spdy_session *s, uint32_t id)
{
    const struct stream *st = find(s, id);
    return !st || st->local_fin;
}

bool spdy_stream_remote_fin(const struct spdy_session *s, uint32_t id)
{
    const struct stream *st = find(s, id);
    return !st || st->remote_fin;
}

size_t spdy_stream_count(const struct spdy_session *s)
{
    return s->nstreams;
}

bool spdy_goaway_received(const struct spdy_session *s)
{
    return s->goaway_in;
}

/* ---- sending ----------------------------------------------------------------------- */

void spdy_send_rst(struct spdy_session *s, uint32_t id, enum spdy_rst status)
{
    uint8_t *p = control_frame(s, SPDY_RST_STREAM, 0, 8);
    if (p) {
        put32(p, id & 0x7fffffff);
        put32(p + 4, status);
    }
    drop(s, find(s, id));
}

void spdy_send_ping(struct spdy_session *s, uint32_t id)
{
    uint8_t *p = control_frame(s, SPDY_PING, 0, 4);
    if (p)
        put32(p, id);
}

void spdy_send_goaway(struct spdy_session *s, enum spdy_goaway_status status)
{
    if (s->goaway_out)
        return;
    uint8_t *p = control_frame(s, SPDY_GOAWAY, 0, 8);
    if (p) {
        put32(p, s->last_peer_id);
        put32(p + 4, status);
        s->goaway_out = true;
    }
}

void spdy_send_window_update(struct spdy_session *s, uint32_t id, uint32_t delta)
{
    uint8_t *p = control_frame(s, SPDY_WINDOW_UPDATE, 0, 8);
    if (p) {
        put32(p, id & 0x7fffffff);
        put32(p + 4, delta & 0x7fffffff);
    }
}

void spdy_send_settings(struct spdy_session *s, uint32_t id, uint32_t value)
{
    uint8_t *p = control_frame(s, SPDY_SETTINGS, 0, 12);
    if (p) {
        put32(p, 1);
        put32(p + 4, id & 0xffffff); /* flags byte 0 */
        put32(p + 8, value);
    }
}

static int send_headers(struct spdy_session *s, uint16_t type, uint32_t id, uint32_t assoc,
                        const struct spdy_hdr *h, size_t n, uint8_t flags, struct ck_err *err)
{
    uint8_t *blk;
    size_t blen;
    if (spdy_hdr_encode(s->zout, h, n, &blk, &blen, err) < 0)
        return -1;
    size_t pre = type == SPDY_SYN_STREAM ? 10 : 4;
    uint8_t *p = blen + pre <= SPDY_MAX_LENGTH ? control_frame(s, type, flags, pre + blen) : NULL;
    if (!p) {
        free(blk);
        s->broken = true; /* the compressor has moved on: the peer could not follow */
        return ck_err_set(err, CK_R_TOO_MANY_REQUESTS, "spdy: output queue full");
    }
    put32(p, id);
    if (type == SPDY_SYN_STREAM) {
        put32(p + 4, assoc);
        p[8] = 0;
        p[9] = 0;
    }
    memcpy(p + pre, blk, blen);
    free(blk);
    return 0;
}

int spdy_send_syn_stream(struct spdy_session *s, uint32_t *id, const struct spdy_hdr *h, size_t n,
                         uint8_t flags, struct ck_err *err)
{
    if (s->goaway_in || s->goaway_out)
        return ck_err_set(err, CK_R_SERVICE_UNAVAILABLE, "spdy: session is going away");
    if (s->next_id > 0x7fffffff)
        return ck_err_set(err, CK_R_SERVICE_UNAVAILABLE, "spdy: stream ids exhausted");
    struct stream *st = add(s, s->next_id);
    if (!st)
        return ck_err_set(err, CK_R_TOO_MANY_REQUESTS, "spdy: too many streams");
    if (send_headers(s, SPDY_SYN_STREAM, st->id, 0, h, n, flags, err) < 0) {
        drop(s, st);
        return -1;
    }
    *id = st->id;
    s->next_id += 2;
    st->local_fin = flags & SPDY_FLAG_FIN;
    st->remote_fin = flags & SPDY_FLAG_UNIDIRECTIONAL;
    maybe_close(s, st);
    return 0;
}

int spdy_send_syn_reply(struct spdy_session *s, uint32_t id, const struct spdy_hdr *h, size_t n,
                        uint8_t flags, struct ck_err *err)
{
    struct stream *st = find(s, id);
    if (!st || st->replied || st->local_fin)
        return ck_err_set(err, CK_R_BAD_REQUEST, "spdy: SYN_REPLY for stream %u", id);
    if (send_headers(s, SPDY_SYN_REPLY, id, 0, h, n, flags, err) < 0)
        return -1;
    st->replied = true;
    if (flags & SPDY_FLAG_FIN) {
        st->local_fin = true;
        maybe_close(s, st);
    }
    return 0;
}

size_t spdy_send_capacity(const struct spdy_session *s, uint32_t id)
{
    const struct stream *st = find(s, id);
    if (!st || st->local_fin || s->broken)
        return 0;
    size_t pend = spdy_out_pending(s);
    size_t room = pend + 8 < s->o.max_out ? s->o.max_out - pend - 8 : 0;
    if (s->o.flow_control) {
        int64_t w =
            st->send_window < s->session_send_window ? st->send_window : s->session_send_window;
        if (w <= 0)
            return 0;
        if ((size_t)w < room)
            room = (size_t)w;
    }
    return room;
}

long spdy_send_data(struct spdy_session *s, uint32_t id, const void *p, size_t n, bool fin)
{
    struct stream *st = find(s, id);
    if (!st || st->local_fin)
        return -1;
    size_t take = spdy_send_capacity(s, id);
    if (take > n)
        take = n;
    size_t off = 0;
    do {
        size_t chunk = take - off > DATA_CHUNK ? DATA_CHUNK : take - off;
        bool last = off + chunk == take;
        bool set_fin = fin && last && take == n;
        if (!chunk && !set_fin)
            break;
        uint8_t *f = out_reserve(s, 8 + chunk);
        put32(f, id & 0x7fffffff);
        put32(f + 4, (uint32_t)chunk);
        f[4] = set_fin ? SPDY_FLAG_FIN : 0;
        if (chunk)
            memcpy(f + 8, (const uint8_t *)p + off, chunk);
        off += chunk;
        if (set_fin)
            st->local_fin = true;
    } while (off < take);
    st->send_window -= (int64_t)take;
    s->session_send_window -= (int64_t)take;
    if (st->local_fin)
        maybe_close(s, st);
    return (long)take;
}

void spdy_stream_consumed(struct spdy_session *s, uint32_t id, size_t n)
{
    if (!s->o.flow_control || !n)
        return;
    size_t half = s->o.initial_window / 2;
    s->session_unacked += n;
    if (s->session_unacked >= half) {
        spdy_send_window_update(s, 0, (uint32_t)s->session_unacked);
        s->session_recv_window += (int64_t)s->session_unacked;
        s->session_unacked = 0;
    }
    struct stream *st = find(s, id);
    if (!st || st->remote_fin)
        return;
    st->unacked += n;
    if (st->unacked >= half) {
        spdy_send_window_update(s, id, (uint32_t)st->unacked);
        st->recv_window += (int64_t)st->unacked;
        st->unacked = 0;
    }
}

/* ---- receiving --------------------------------------------------------------------- */

static bool peer_id(const struct spdy_session *s, uint32_t id)
{
    return (id & 1) == (s->o.server ? 1u : 0u);
}

static int on_headers_frame(struct spdy_session *s, const struct spdy_frame *f, struct ck_err *err)
{
    struct spdy_headers h;
    if (spdy_hdr_decode(s->zin, f->payload, f->payload_len, s->o.max_header_bytes, &h, err) < 0)
        return -1;
    struct spdy_event ev = {
        .type = f->type, .stream_id = f->stream_id, .flags = f->flags, .headers = &h};
    struct stream *st = find(s, f->stream_id);
    bool deliver = true;
    if (f->type == SPDY_SYN_STREAM) {
        if (!f->stream_id || !peer_id(s, f->stream_id) || f->stream_id <= s->last_peer_id) {
            spdy_send_rst(s, f->stream_id, SPDY_RST_PROTOCOL_ERROR);
            deliver = false;
        } else {
            s->last_peer_id = f->stream_id;
            st = s->goaway_out ? NULL : add(s, f->stream_id);
            if (!st) {
                spdy_send_rst(s, f->stream_id, SPDY_RST_REFUSED_STREAM);
                deliver = false;
            } else {
                st->remote_fin = f->flags & SPDY_FLAG_FIN;
                st->local_fin = f->flags & SPDY_FLAG_UNIDIRECTIONAL;
            }
        }
    } else if (!st || (f->type == SPDY_SYN_REPLY && (peer_id(s, f->stream_id) || st->replied))) {
        spdy_send_rst(s, f->stream_id, st ? SPDY_RST_STREAM_IN_USE : SPDY_RST_INVALID_STREAM);
        deliver = false;
    } else {
        if (f->type == SPDY_SYN_REPLY)
            st->replied = true;
        if (f->flags & SPDY_FLAG_FIN)
            st->remote_fin = true;
    }
    if (deliver)
        s->fn(s->arg, s, &ev);
    spdy_headers_release(&h);
    st = find(s, f->stream_id);
    if (deliver && st)
        maybe_close(s, st);
    return 0;
}

static void on_data(struct spdy_session *s, const struct spdy_frame *f)
{
    struct stream *st = find(s, f->stream_id);
    if (!st) {
        /* data still in flight for a stream that ended (reset, or finished) is dropped; a
         * stream that never existed is an error */
        bool known =
            peer_id(s, f->stream_id) ? f->stream_id <= s->last_peer_id : f->stream_id < s->next_id;
        if (f->stream_id && !known)
            spdy_send_rst(s, f->stream_id, SPDY_RST_INVALID_STREAM);
        return;
    }
    if (st->remote_fin) {
        spdy_send_rst(s, f->stream_id, SPDY_RST_STREAM_ALREADY_CLOSED);
        return;
    }
    st->recv_window -= f->length;
    s->session_recv_window -= f->length;
    if (s->o.flow_control && (st->recv_window < 0 || s->session_recv_window < 0)) {
        spdy_send_rst(s, f->stream_id, SPDY_RST_FLOW_CONTROL_ERROR);
        return;
    }
    if (f->flags & SPDY_FLAG_FIN)
        st->remote_fin = true;
    struct spdy_event ev = {.type = SPDY_DATA,
                            .stream_id = f->stream_id,
                            .flags = f->flags,
                            .data = f->payload,
                            .len = f->payload_len};
    s->fn(s->arg, s, &ev);
    st = find(s, f->stream_id);
    if (st)
        maybe_close(s, st);
}

static void on_settings(struct spdy_session *s, const struct spdy_frame *f)
{
    for (uint32_t i = 0; i < f->nsettings; i++) {
        const uint8_t *e = f->payload + 8 * i;
        uint32_t id = be32(e) & 0xffffff, v = be32(e + 4);
        if (id == SPDY_SETTINGS_INITIAL_WINDOW_SIZE && v <= 0x7fffffff) {
            int64_t delta = (int64_t)v - s->o.initial_window;
            for (size_t k = 0; k < s->o.max_streams; k++)
                if (s->streams[k].id)
                    s->streams[k].send_window += delta;
            s->o.initial_window = v;
        }
    }
}

static int on_frame(struct spdy_session *s, const struct spdy_frame *f, struct ck_err *err)
{
    if (!f->control) {
        on_data(s, f);
        return 0;
    }
    struct spdy_event ev = {.type = f->type,
                            .stream_id = f->stream_id,
                            .flags = f->flags,
                            .status = f->status,
                            .value = f->value};
    switch (f->type) {
    case SPDY_SYN_STREAM:
    case SPDY_SYN_REPLY:
    case SPDY_HEADERS:
        return on_headers_frame(s, f, err);
    case SPDY_RST_STREAM:
        drop(s, find(s, f->stream_id));
        break;
    case SPDY_SETTINGS:
        on_settings(s, f);
        break;
    case SPDY_PING:
        if ((f->value & 1) != (s->o.server ? 0u : 1u))
            spdy_send_ping(s, f->value); /* the peer's ping: echo it */
        break;
    case SPDY_GOAWAY:
        s->goaway_in = true;
        break;
    case SPDY_WINDOW_UPDATE: {
        if (!f->value)
            break;
        if (!f->stream_id) {
            s->session_send_window += f->value;
        } else {
            struct stream *st = find(s, f->stream_id);
            if (!st)
                break;
            st->send_window += f->value;
            if (s->o.flow_control && st->send_window > 0x7fffffff) {
                spdy_send_rst(s, f->stream_id, SPDY_RST_FLOW_CONTROL_ERROR);
                return 0;
            }
        }
        break;
    }
    default:
        return 0; /* unknown control frame: ignored */
    }
    s->fn(s->arg, s, &ev);
    return 0;
}

static int fail(struct spdy_session *s)
{
    s->broken = false; /* let the GOAWAY use the reserve */
    spdy_send_goaway(s, SPDY_GOAWAY_PROTOCOL_ERROR);
    s->broken = true;
    return -1;
}

int spdy_session_feed(struct spdy_session *s, const void *p, size_t n, struct ck_err *err)
{
    const uint8_t *src = p;
    if (s->broken)
        return ck_err_set(err, CK_R_IO, "spdy: session failed earlier");
    while (n) {
        if (s->skip) {
            size_t k = n < s->skip ? n : s->skip;
            s->skip -= k;
            src += k;
            n -= k;
            continue;
        }
        size_t room = s->in.max - s->in.len;
        size_t k = n < room ? n : room;
        if (ck_buf_append(&s->in, src, k) < 0)
            return ck_err_set(err, CK_R_INTERNAL, "spdy: input buffer");
        src += k;
        n -= k;
        size_t off = 0;
        for (;;) {
            struct spdy_frame f;
            long r = spdy_frame_parse((const uint8_t *)s->in.data + off, s->in.len - off,
                                      s->o.max_frame, &f, err);
            if (r == 0)
                break;
            if (r < 0) {
                if (f.control || !f.length || f.length <= s->o.max_frame)
                    return fail(s);
                /* oversize DATA: reset the stream and drop its payload */
                spdy_send_rst(s, f.stream_id, SPDY_RST_FRAME_TOO_LARGE);
                size_t have = s->in.len - off - 8;
                if (have >= f.length) {
                    off += 8 + f.length;
                } else {
                    s->skip = f.length - have;
                    off = s->in.len;
                }
                ck_err_clear(err);
                continue;
            }
            if (on_frame(s, &f, err) < 0)
                return fail(s);
            off += (size_t)r;
            if (s->broken)
                return ck_err_set(err, CK_R_TOO_MANY_REQUESTS, "spdy: peer is not reading");
        }
        memmove(s->in.data, s->in.data + off, s->in.len - off);
        s->in.len -= off;
    }
    return 0;
}

struct spdy_session *spdy_session_new(const struct spdy_session_opts *o, spdy_event_fn fn,
                                      void *arg)
{
    struct spdy_session *s = ck_calloc(1, sizeof(*s));
    s->o = *o;
    if (!s->o.max_streams)
        s->o.max_streams = 256;
    if (!s->o.max_frame)
        s->o.max_frame = 1 << 20;
    if (!s->o.max_out)
        s->o.max_out = 1 << 20;
    if (!s->o.max_header_bytes)
        s->o.max_header_bytes = 64 << 10;
    if (!s->o.initial_window)
        s->o.initial_window = SPDY_DEFAULT_WINDOW;
    s->fn = fn;
    s->arg = arg;
    s->zin = spdy_zctx_new(false);
    s->zout = spdy_zctx_new(true);
    s->streams = ck_calloc(s->o.max_streams, sizeof(*s->streams));
    s->next_id = o->server ? 2 : 1;
    s->session_send_window = SPDY_DEFAULT_WINDOW;
    s->session_recv_window = SPDY_DEFAULT_WINDOW;
    s->in = (struct ck_buf)CK_BUF_INIT(8 + s->o.max_frame + 64 * 1024);
    return s;
}

void spdy_session_free(struct spdy_session *s)
{
    if (!s)
        return;
    spdy_zctx_free(s->zin);
    spdy_zctx_free(s->zout);
    free(s->streams);
    ck_buf_release(&s->in);
    free(s->out);
    free(s);
}
