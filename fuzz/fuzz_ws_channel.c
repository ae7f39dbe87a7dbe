/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the WebSocket channel framing of the API server's exec/attach sessions
 * (http_ws_chan.c): subprotocol negotiation on the input as an offer, decoding the input as a
 * received message under every variant (binary and text), and an encode/decode round trip of
 * the decoded payload, which must give back the same channel and bytes. */
#include "apiserver/http/http_ws_chan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char offer[512], chosen[64];
    size_t k = size < sizeof(offer) - 1 ? size : sizeof(offer) - 1;
    memcpy(offer, data, k);
    offer[k] = 0;
    int v = ws_chan_negotiate(offer, chosen, sizeof(chosen));
    if (v < -1 || v > WS_V1_B64)
        abort();
    uint8_t *scratch = malloc(size + 1), *enc = malloc(ws_chan_encoded_max(size));
    uint8_t *scratch2 = malloc(ws_chan_encoded_max(size) + 1);
    for (int variant = WS_V5; variant <= WS_V1_B64; variant++)
        for (int text = 0; text < 2; text++) {
            struct ws_chan_msg m;
            if (ws_chan_decode(variant, text, data, size, scratch, &m) < 0)
                continue;
            if (m.channel < 0 || m.close_signal || m.channel > 9)
                continue;
            if (m.len > size)
                abort();
            bool t;
            size_t n = ws_chan_encode(variant, m.channel, m.data, m.len, enc, &t);
            if (n > ws_chan_encoded_max(m.len))
                abort();
            struct ws_chan_msg back;
            if (ws_chan_decode(variant, t, enc, n, scratch2, &back) < 0)
                abort();
            if (m.channel == 255 && variant != WS_V5)
                continue; /* ignored channel before v5 */
            if (back.channel != m.channel || back.len != m.len ||
                (m.len && memcmp(back.data, m.data, m.len)))
                abort();
        }
    free(scratch);
    free(scratch2);
    free(enc);
    return 0;
}
