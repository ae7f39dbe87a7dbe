/* SPDX-License-Identifier: Apache-2.0 */
/* WebSocket channel framing (see http_ws_chan.h). */
#include "apiserver/http/http_ws_chan.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

static const char *const names[] = {"v5.channel.k8s.io", "v4.channel.k8s.io",
                                    "v4.base64.channel.k8s.io", "channel.k8s.io",
                                    "base64.channel.k8s.io"};

int ws_chan_negotiate(const char *offered, char *chosen, size_t cap)
{
    const char *p = offered;
    bool any = false;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t n = strcspn(p, ", \t");
        if (!n)
            break;
        any = true;
        for (int v = 0; v < 5; v++)
            if (strlen(names[v]) == n && !strncmp(p, names[v], n)) {
                snprintf(chosen, cap, "%s", names[v]);
                return v;
            }
        p += n;
    }
    if (cap)
        chosen[0] = 0;
    return any ? -1 : WS_V1;
}

bool ws_chan_status_json(int variant)
{
    return variant == WS_V5 || variant == WS_V4 || variant == WS_V4_B64;
}

static bool is_b64(int variant)
{
    return variant == WS_V4_B64 || variant == WS_V1_B64;
}

int ws_chan_decode(int variant, bool text, const uint8_t *p, size_t n, uint8_t *scratch,
                   struct ws_chan_msg *out)
{
    memset(out, 0, sizeof(*out));
    out->channel = -1;
    if (text != is_b64(variant))
        return -1;
    if (!n)
        return 0;
    if (!is_b64(variant)) {
        if (p[0] == WS_CH_CLOSE) {
            if (variant != WS_V5)
                return 0; /* ignored before v5 */
            if (n != 2)
                return -1;
            out->channel = p[1];
            out->close_signal = true;
            return 0;
        }
        out->channel = p[0];
        out->data = p + 1;
        out->len = n - 1;
        return 0;
    }
    if (p[0] < '0' || p[0] > '9')
        return -1;
    out->channel = p[0] - '0';
    size_t m = n - 1;
    if (m % 4)
        return -1;
    if (!m) {
        out->data = scratch;
        return 0;
    }
    int k = EVP_DecodeBlock(scratch, p + 1, (int)m);
    if (k < 0)
        return -1;
    size_t pad = (p[n - 1] == '=') + (p[n - 2] == '=');
    /* '=' only as padding at the very end */
    for (size_t i = 1; i < n - pad; i++)
        if (p[i] == '=')
            return -1;
    out->data = scratch;
    out->len = (size_t)k - pad;
    return 0;
}

size_t ws_chan_encoded_max(size_t n)
{
    return 2 + (n + 2) / 3 * 4 + 1;
}

size_t ws_chan_encode(int variant, int channel, const uint8_t *data, size_t n, uint8_t *out,
                      bool *text)
{
    *text = is_b64(variant);
    if (!*text) {
        out[0] = (uint8_t)channel;
        if (n)
            memcpy(out + 1, data, n);
        return n + 1;
    }
    out[0] = (uint8_t)('0' + channel);
    if (!n)
        return 1;
    int k = EVP_EncodeBlock(out + 1, data, (int)n);
    return 1 + (size_t)k;
}
