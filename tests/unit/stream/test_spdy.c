/* SPDX-License-Identifier: Apache-2.0 */
/* SPDY/3.1 module: frames, header blocks against bytes seen from kubectl, sessions, flow
 * control, keepalive and malformed input. */
#include "stream/spdy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "lib/banned.h"

#define MAXEV 64
struct rec {
    int n;
    struct spdy_event ev[MAXEV];
    char hname[MAXEV][32], hval[MAXEV][64];
    size_t nhdr[MAXEV];
    char data[8192];
    size_t dlen;
    int reply; /* server: SYN_REPLY every SYN_STREAM */
};

static void on_ev(void *arg, struct spdy_session *s, const struct spdy_event *ev)
{
    struct rec *r = arg;
    if (r->n < MAXEV) {
        r->ev[r->n] = *ev;
        r->nhdr[r->n] = ev->headers ? ev->headers->n : 0;
        if (ev->headers && ev->headers->n) {
            snprintf(r->hname[r->n], 32, "%s", ev->headers->v[0].name);
            snprintf(r->hval[r->n], 64, "%s", ev->headers->v[0].value);
        }
        r->n++;
    }
    if (ev->type == SPDY_DATA && r->dlen + ev->len <= sizeof(r->data)) {
        memcpy(r->data + r->dlen, ev->data, ev->len);
        r->dlen += ev->len;
    }
    if (r->reply && ev->type == SPDY_SYN_STREAM) {
        struct ck_err err = CK_ERR_INIT;
        assert_int_equal(spdy_send_syn_reply(s, ev->stream_id, NULL, 0, 0, &err), 0);
    }
}

/* Moves everything queued on a into b, in chunks of step bytes. */
static int pump(struct spdy_session *a, struct spdy_session *b, size_t step)
{
    size_t n;
    const uint8_t *p = spdy_out_peek(a, &n);
    struct ck_err err = CK_ERR_INIT;
    int rc = 0;
    uint8_t *copy = malloc(n + 1);
    memcpy(copy, p, n);
    spdy_out_consume(a, n);
    for (size_t off = 0; off < n && rc == 0; off += step)
        rc = spdy_session_feed(b, copy + off, n - off < step ? n - off : step, &err);
    free(copy);
    return rc;
}

static void t_frame_parse(void **state)
{
    (void)state;
    struct ck_err err = CK_ERR_INIT;
    struct spdy_frame f;
    const uint8_t ping[] = {0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1};
    assert_int_equal(spdy_frame_parse(ping, sizeof(ping), 1024, &f, &err), 12);
    assert_true(f.control);
    assert_int_equal(f.type, SPDY_PING);
    assert_int_equal(f.value, 1);
    assert_int_equal(spdy_frame_parse(ping, 11, 1024, &f, &err), 0);
    const uint8_t data[] = {0, 0, 0, 3, 0, 0, 0, 4, 'p', 'i', 'n', 'g'};
    assert_int_equal(spdy_frame_parse(data, sizeof(data), 1024, &f, &err), 12);
    assert_false(f.control);
    assert_int_equal(f.stream_id, 3);
    assert_memory_equal(f.payload, "ping", 4);
    const uint8_t fin[] = {0, 0, 0, 3, 1, 0, 0, 0};
    assert_int_equal(spdy_frame_parse(fin, sizeof(fin), 1024, &f, &err), 8);
    assert_int_equal(f.flags, SPDY_FLAG_FIN);
    const uint8_t rst[] = {0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 5};
    assert_int_equal(spdy_frame_parse(rst, sizeof(rst), 1024, &f, &err), 16);
    assert_int_equal(f.status, SPDY_RST_CANCEL);
    const uint8_t goaway_bad[] = {0x80, 3, 0, 7, 0, 0, 0, 4, 0, 0, 0, 0};
    assert_int_equal(spdy_frame_parse(goaway_bad, sizeof(goaway_bad), 1024, &f, &err), -1);
    const uint8_t big[] = {0, 0, 0, 1, 0, 0x10, 0, 0};
    assert_int_equal(spdy_frame_parse(big, sizeof(big), 1024, &f, &err), -1);
    assert_int_equal(f.length, 0x100000);
}

static void t_dictionary(void **state)
{
    (void)state;
    assert_int_equal(adler32(1, spdy_dictionary, SPDY_DICTIONARY_LEN), 0xE3C6A7C2u);
}

/* What kubectl and the fake server put on the wire (docs/streaming.md): the first empty SYN_REPLY
 * block of a fresh compressor, then a second empty block from the same context. */
static void t_known_blocks(void **state)
{
    (void)state;
    struct rec r = {0};
    struct spdy_session *c = spdy_session_new(&(struct spdy_session_opts){0}, on_ev, &r);
    struct ck_err err = CK_ERR_INIT;
    uint32_t id;
    assert_int_equal(spdy_send_syn_stream(c, &id, NULL, 0, 0, &err), 0);
    assert_int_equal(spdy_send_syn_stream(c, &id, NULL, 0, 0, &err), 0);
    const uint8_t reply1[] = {0x80, 3,    0,    2,    0,    0,    0,    0x14, 0,    0,
                              0,    1,    0x78, 0xf9, 0xe3, 0xc6, 0xa7, 0xc2, 0x02, 0xa6,
                              0x23, 0x06, 0,    0,    0,    0,    0xff, 0xff};
    const uint8_t reply2[] = {0x80, 3, 0,    2,    0, 0, 0, 12, 0,    0,
                              0,    3, 0x02, 0x01, 0, 0, 0, 0,  0xff, 0xff};
    assert_int_equal(spdy_session_feed(c, reply1, sizeof(reply1), &err), 0);
    assert_int_equal(spdy_session_feed(c, reply2, sizeof(reply2), &err), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.ev[0].type, SPDY_SYN_REPLY);
    assert_int_equal(r.ev[0].stream_id, 1);
    assert_int_equal(r.ev[1].stream_id, 3);
    assert_int_equal(r.nhdr[0], 0);
    spdy_session_free(c);

    /* our own first empty block starts with the zlib header and the dictionary id */
    struct spdy_zctx *z = spdy_zctx_new(true);
    uint8_t *blk;
    size_t n;
    assert_int_equal(spdy_hdr_encode(z, NULL, 0, &blk, &n, &err), 0);
    assert_true(n >= 10);
    const uint8_t head[] = {0x78, 0xf9, 0xe3, 0xc6, 0xa7, 0xc2};
    assert_memory_equal(blk, head, sizeof(head));
    assert_memory_equal(blk + n - 4, "\x00\x00\xff\xff", 4);
    free(blk);
    spdy_zctx_free(z);
}

static void t_session_roundtrip(void **state)
{
    (void)state;
    for (size_t step = 1; step <= 4096; step *= 64) {
        struct rec rc = {0}, rs = {.reply = 1};
        struct spdy_session *c = spdy_session_new(&(struct spdy_session_opts){0}, on_ev, &rc);
        struct spdy_session *s =
            spdy_session_new(&(struct spdy_session_opts){.server = true}, on_ev, &rs);
        struct ck_err err = CK_ERR_INIT;
        uint32_t ids[3];
        const char *types[] = {"error", "stdin", "stdout"};
        for (int i = 0; i < 3; i++) {
            struct spdy_hdr h[] = {{(char *)"StreamType", (char *)types[i], strlen(types[i])},
                                   {(char *)"port", (char *)"80", 2}};
            assert_int_equal(spdy_send_syn_stream(c, &ids[i], h, 2, 0, &err), 0);
            assert_int_equal(ids[i], 1 + 2 * i);
            assert_int_equal(pump(c, s, step), 0);
            assert_int_equal(pump(s, c, step), 0);
        }
        assert_int_equal(rs.n, 3);
        assert_string_equal(rs.hname[2], "streamtype");
        assert_string_equal(rs.hval[2], "stdout");
        assert_int_equal(rc.n, 3);
        assert_int_equal(rc.ev[2].type, SPDY_SYN_REPLY);
        /* stdin: data then FIN */
        assert_int_equal(spdy_send_data(c, 3, "hello", 5, false), 5);
        assert_int_equal(spdy_send_data(c, 3, NULL, 0, true), 0);
        assert_int_equal(pump(c, s, step), 0);
        assert_int_equal(rs.dlen, 5);
        assert_memory_equal(rs.data, "hello", 5);
        assert_true(spdy_stream_remote_fin(s, 3));
        /* stdout: server writes and closes; stream 5 ends once both FINs crossed */
        assert_int_equal(spdy_send_data(s, 5, "out", 3, true), 3);
        assert_int_equal(spdy_send_data(s, 5, "x", 1, false), -1);
        assert_int_equal(pump(s, c, step), 0);
        assert_int_equal(rc.dlen, 3);
        assert_int_equal(spdy_send_data(c, 5, NULL, 0, true), 0);
        assert_int_equal(pump(c, s, step), 0);
        assert_false(spdy_stream_open(s, 5));
        assert_false(spdy_stream_open(c, 5));
        /* RST closes both ends */
        spdy_send_rst(s, 1, SPDY_RST_CANCEL);
        assert_int_equal(pump(s, c, step), 0);
        assert_false(spdy_stream_open(c, 1));
        spdy_send_goaway(s, SPDY_GOAWAY_OK);
        assert_int_equal(pump(s, c, step), 0);
        assert_true(spdy_goaway_received(c));
        assert_int_equal(spdy_send_syn_stream(c, &ids[0], NULL, 0, 0, &err), -1);
        spdy_session_free(c);
        spdy_session_free(s);
    }
}

static void t_ping(void **state)
{
    (void)state;
    struct rec r = {0};
    struct spdy_session *s =
        spdy_session_new(&(struct spdy_session_opts){.server = true}, on_ev, &r);
    struct ck_err err = CK_ERR_INIT;
    const uint8_t ping1[] = {0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1};
    const uint8_t ping2[] = {0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 2};
    assert_int_equal(spdy_session_feed(s, ping1, sizeof(ping1), &err), 0);
    size_t n;
    const uint8_t *p = spdy_out_peek(s, &n);
    assert_int_equal(n, sizeof(ping1));
    assert_memory_equal(p, ping1, n);
    spdy_out_consume(s, n);
    assert_int_equal(spdy_session_feed(s, ping2, sizeof(ping2), &err), 0);
    assert_int_equal(spdy_out_pending(s), 0); /* our own id coming back: not echoed */
    assert_int_equal(r.n, 2);
    spdy_session_free(s);
}

static void t_flow_control(void **state)
{
    (void)state;
    struct rec rc = {0}, rs = {.reply = 1};
    struct spdy_session_opts fc = {.flow_control = true};
    struct spdy_session *c = spdy_session_new(&fc, on_ev, &rc);
    fc.server = true;
    struct spdy_session *s = spdy_session_new(&fc, on_ev, &rs);
    struct ck_err err = CK_ERR_INIT;
    uint32_t id;
    assert_int_equal(spdy_send_syn_stream(c, &id, NULL, 0, 0, &err), 0);
    assert_int_equal(pump(c, s, 1 << 20), 0);
    assert_int_equal(pump(s, c, 1 << 20), 0);
    static char big[100000];
    assert_int_equal(spdy_send_capacity(s, id), 65536);
    assert_int_equal(spdy_send_data(s, id, big, sizeof(big), true), 65536);
    assert_int_equal(spdy_send_capacity(s, id), 0);
    assert_int_equal(spdy_send_data(s, id, big, 10, true), 0);
    assert_int_equal(pump(s, c, 1 << 20), 0);
    /* the client consumes: WINDOW_UPDATEs for stream and session come back */
    spdy_stream_consumed(c, id, 65536);
    assert_int_equal(pump(c, s, 1 << 20), 0);
    assert_int_equal(spdy_send_capacity(s, id), 65536);
    assert_int_equal(spdy_send_data(s, id, big + 65536, sizeof(big) - 65536, true),
                     sizeof(big) - 65536);
    assert_true(spdy_stream_local_fin(s, id));
    /* a peer overrunning our receive window gets FLOW_CONTROL_ERROR */
    struct spdy_session *s2 = spdy_session_new(&fc, on_ev, &rs);
    struct spdy_session *c2 = spdy_session_new(&(struct spdy_session_opts){0}, on_ev, &rc);
    assert_int_equal(spdy_send_syn_stream(c2, &id, NULL, 0, 0, &err), 0);
    assert_int_equal(spdy_send_data(c2, id, big, sizeof(big), false), sizeof(big));
    assert_int_equal(pump(c2, s2, 1 << 20), 0);
    size_t n;
    const uint8_t *p = spdy_out_peek(s2, &n);
    assert_true(n >= 16);
    const uint8_t rst[] = {0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 7};
    assert_memory_equal(p + n - 16, rst, 16);
    spdy_session_free(c2);
    spdy_session_free(s2);
    spdy_session_free(c);
    spdy_session_free(s);
}

static void t_bounded(void **state)
{
    (void)state;
    struct rec r = {.reply = 1};
    struct spdy_session *s = spdy_session_new(
        &(struct spdy_session_opts){.server = true, .max_out = 4096, .max_frame = 1024}, on_ev, &r);
    struct ck_err err = CK_ERR_INIT;
    /* oversize DATA on an unknown stream: RST FRAME_TOO_LARGE, payload skipped, session lives */
    static uint8_t big[2048 + 8] = {0, 0, 0, 9, 0, 0, 0x08, 0};
    assert_int_equal(spdy_session_feed(s, big, sizeof(big), &err), 0);
    const uint8_t ping1[] = {0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1};
    assert_int_equal(spdy_session_feed(s, ping1, sizeof(ping1), &err), 0);
    assert_int_equal(spdy_out_pending(s), 16 + 12);
    /* a peer that pings without reading is cut off once the control reserve is used */
    int rc = 0;
    for (int i = 0; i < 10000 && rc == 0; i++)
        rc = spdy_session_feed(s, ping1, sizeof(ping1), &err);
    assert_int_equal(rc, -1);
    assert_true(spdy_out_pending(s) <= 4096 + 64 * 1024);
    spdy_session_free(s);

    /* a malformed control frame ends the session with GOAWAY PROTOCOL_ERROR */
    s = spdy_session_new(&(struct spdy_session_opts){.server = true}, on_ev, &r);
    const uint8_t bad[] = {0x80, 3, 0, 7, 0, 0, 0, 4, 0, 0, 0, 0};
    assert_int_equal(spdy_session_feed(s, bad, sizeof(bad), &err), -1);
    size_t n;
    const uint8_t *p = spdy_out_peek(s, &n);
    const uint8_t goaway[] = {0x80, 3, 0, 7, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1};
    assert_int_equal(n, 16);
    assert_memory_equal(p, goaway, 16);
    spdy_session_free(s);
}

static void t_header_limits(void **state)
{
    (void)state;
    struct ck_err err = CK_ERR_INIT;
    struct spdy_headers h;
    const uint8_t two[] = {0, 0,   0, 2, 0, 0, 0,   1, 'A', 0, 0, 0,
                           1, 'x', 0, 0, 0, 1, 'b', 0, 0,   0, 0};
    assert_int_equal(spdy_hdr_parse(two, sizeof(two), 16, &h, &err), 0);
    assert_int_equal(h.n, 2);
    assert_string_equal(spdy_headers_get(&h, "a"), "x");
    assert_string_equal(spdy_headers_get(&h, "B"), "");
    spdy_headers_release(&h);
    assert_int_equal(spdy_hdr_parse(two, sizeof(two) - 1, 16, &h, &err), -1);
    const uint8_t huge_count[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    assert_int_equal(spdy_hdr_parse(huge_count, sizeof(huge_count), 16, &h, &err), -1);
    const uint8_t empty_name[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(spdy_hdr_parse(empty_name, sizeof(empty_name), 16, &h, &err), -1);

    /* a block that inflates past the limit fails */
    struct spdy_zctx *zo = spdy_zctx_new(true), *zi = spdy_zctx_new(false);
    static char val[200000];
    memset(val, 'a', sizeof(val));
    struct spdy_hdr one = {(char *)"x", val, sizeof(val)};
    uint8_t *blk;
    size_t n;
    assert_int_equal(spdy_hdr_encode(zo, &one, 1, &blk, &n, &err), 0);
    assert_true(n < 4096);
    assert_int_equal(spdy_hdr_decode(zi, blk, n, 65536, &h, &err), -1);
    free(blk);
    spdy_zctx_free(zo);
    spdy_zctx_free(zi);
    /* garbage is refused */
    zi = spdy_zctx_new(false);
    assert_int_equal(spdy_hdr_decode(zi, (const uint8_t *)"garbage!", 8, 65536, &h, &err), -1);
    spdy_zctx_free(zi);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_frame_parse),  cmocka_unit_test(t_dictionary),
        cmocka_unit_test(t_known_blocks), cmocka_unit_test(t_session_roundtrip),
        cmocka_unit_test(t_ping),         cmocka_unit_test(t_flow_control),
        cmocka_unit_test(t_bounded),      cmocka_unit_test(t_header_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
