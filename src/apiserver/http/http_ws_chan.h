/* SPDX-License-Identifier: Apache-2.0 */
/* The Kubernetes WebSocket channel protocols (k8s.io/apimachinery wsstream, remotecommand):
 * every message is one channel byte and a payload. Binary variants (v5.channel.k8s.io,
 * v4.channel.k8s.io, channel.k8s.io and no subprotocol) carry raw bytes in binary messages;
 * base64 variants (v4.base64.channel.k8s.io, base64.channel.k8s.io) carry the ASCII digit of
 * the channel and standard base64 in text messages. v5 adds the close signal: the binary
 * message FF <channel> half-closes a channel. Pure functions, no I/O (fuzzed). */
#ifndef CK_APISERVER_HTTP_WS_CHAN_H
#define CK_APISERVER_HTTP_WS_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_variant { WS_V5 = 0, WS_V4, WS_V4_B64, WS_V1, WS_V1_B64 };

#define WS_CH_STDIN 0
#define WS_CH_STDOUT 1
#define WS_CH_STDERR 2
#define WS_CH_ERROR 3
#define WS_CH_RESIZE 4
#define WS_CH_CLOSE 255

/* Picks the first offered subprotocol (comma-separated, as sent) this server speaks, in the
 * client's order; chosen receives its name ("" when nothing was offered: channel.k8s.io
 * semantics). Returns the variant, or -1 when protocols were offered but none is known. */
int ws_chan_negotiate(const char *offered, char *chosen, size_t cap);

/* Does the variant carry a JSON Status on the error channel (v4, v5)? */
bool ws_chan_status_json(int variant);

struct ws_chan_msg {
    int channel;       /* -1: nothing to deliver (empty message, ignored channel) */
    bool close_signal; /* v5: channel is half-closed by the peer */
    const uint8_t *data;
    size_t len;
};

/* Decodes one received message. Base64 payloads are decoded into scratch (at least n bytes).
 * Returns 0, or -1 for a protocol error (wrong frame type, bad base64, malformed close
 * signal), after which the session must end. */
int ws_chan_decode(int variant, bool text, const uint8_t *p, size_t n, uint8_t *scratch,
                   struct ws_chan_msg *out);

/* Encodes data for channel into out (at least ws_chan_encoded_max(n) bytes); returns the
 * length and whether it must go out as a text message. */
size_t ws_chan_encoded_max(size_t n);
size_t ws_chan_encode(int variant, int channel, const uint8_t *data, size_t n, uint8_t *out,
                      bool *text);

#endif
