/* SPDX-License-Identifier: Apache-2.0 */
/* WebSocket channel framing of exec/attach sessions (http_ws_chan.c) and the handshake's
 * accept key: negotiation order, binary and base64 variants, the v5 close signal, protocol
 * errors. */
#include "apiserver/http/http_stream.h"
#include "apiserver/http/http_ws_chan.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/banned.h"

static void test_negotiate(void **state)
{
    (void)state;
    char c[64];
    assert_int_equal(ws_chan_negotiate("v5.channel.k8s.io", c, sizeof(c)), WS_V5);
    assert_string_equal(c, "v5.channel.k8s.io");
    /* the client's order wins */
    assert_int_equal(ws_chan_negotiate("v4.base64.channel.k8s.io, v5.channel.k8s.io", c, sizeof(c)),
                     WS_V4_B64);
    assert_int_equal(ws_chan_negotiate("foo,channel.k8s.io", c, sizeof(c)), WS_V1);
    assert_string_equal(c, "channel.k8s.io");
    assert_int_equal(ws_chan_negotiate("", c, sizeof(c)), WS_V1);
    assert_string_equal(c, "");
    assert_int_equal(ws_chan_negotiate("v6.channel.k8s.io", c, sizeof(c)), -1);
    assert_int_equal(ws_chan_negotiate("SPDY/3.1+portforward.k8s.io", c, sizeof(c)), -1);
    assert_true(ws_chan_status_json(WS_V5) && ws_chan_status_json(WS_V4_B64));
    assert_false(ws_chan_status_json(WS_V1));
}

static void test_binary(void **state)
{
    (void)state;
    uint8_t scratch[64];
    struct ws_chan_msg m;
    const uint8_t in[] = {0, 'a', 'b'};
    assert_int_equal(ws_chan_decode(WS_V5, false, in, 3, scratch, &m), 0);
    assert_int_equal(m.channel, 0);
    assert_int_equal(m.len, 2);
    assert_memory_equal(m.data, "ab", 2);
    /* text on a binary protocol */
    assert_int_equal(ws_chan_decode(WS_V5, true, in, 3, scratch, &m), -1);
    /* empty messages are fine and carry nothing */
    assert_int_equal(ws_chan_decode(WS_V4, false, in, 0, scratch, &m), 0);
    assert_int_equal(m.channel, -1);
    /* close signal: v5 only, exactly two bytes */
    const uint8_t close0[] = {255, 0}, bad[] = {255, 0, 1};
    assert_int_equal(ws_chan_decode(WS_V5, false, close0, 2, scratch, &m), 0);
    assert_true(m.close_signal);
    assert_int_equal(m.channel, 0);
    assert_int_equal(ws_chan_decode(WS_V5, false, bad, 3, scratch, &m), -1);
    assert_int_equal(ws_chan_decode(WS_V4, false, close0, 2, scratch, &m), 0);
    assert_int_equal(m.channel, -1);
    assert_false(m.close_signal);
    uint8_t out[16];
    bool text;
    assert_int_equal(ws_chan_encode(WS_V5, 3, (const uint8_t *)"xy", 2, out, &text), 3);
    assert_false(text);
    assert_memory_equal(out, "\003xy", 3);
}

static void test_base64(void **state)
{
    (void)state;
    uint8_t scratch[64], out[64];
    struct ws_chan_msg m;
    bool text;
    size_t n = ws_chan_encode(WS_V4_B64, 1, (const uint8_t *)"hello", 5, out, &text);
    assert_true(text);
    assert_int_equal(n, 9);
    assert_memory_equal(out, "1aGVsbG8=", 9);
    assert_int_equal(ws_chan_decode(WS_V4_B64, true, out, n, scratch, &m), 0);
    assert_int_equal(m.channel, 1);
    assert_int_equal(m.len, 5);
    assert_memory_equal(m.data, "hello", 5);
    const uint8_t two_pad[] = "0aGk="; /* "hi" with the wrong padding count */
    assert_int_equal(ws_chan_decode(WS_V1_B64, true, two_pad, 5, scratch, &m), 0);
    assert_int_equal(m.len, 2);
    const uint8_t bad[] = "0a=Gk", notmul[] = "0aGk", nodigit[] = "xaGk=";
    assert_int_equal(ws_chan_decode(WS_V1_B64, true, bad, 5, scratch, &m), -1);
    assert_int_equal(ws_chan_decode(WS_V1_B64, true, notmul, 4, scratch, &m), -1);
    assert_int_equal(ws_chan_decode(WS_V1_B64, true, nodigit, 5, scratch, &m), -1);
    assert_int_equal(ws_chan_decode(WS_V1_B64, false, two_pad, 5, scratch, &m), -1);
}

static void test_accept_key(void **state)
{
    (void)state;
    char out[64];
    /* RFC 6455 section 1.3 */
    hs_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out, sizeof(out));
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_negotiate),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_accept_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
