/* SPDX-License-Identifier: Apache-2.0 */
#include "lib/base64.h"
#include "lib/buf.h"

#include <stdint.h>
#include <stdlib.h>

#include "lib/banned.h"

static int b64v(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

char *ck_base64_decode(const char *s, size_t n, size_t *out_len)
{
    size_t o = 0;
    char *out = ck_malloc(n / 4 * 3 + 4);
    uint32_t acc = 0;
    int bits = 0;
    size_t i = 0;
    for (; i < n && s[i] != '='; i++) {
        if (s[i] == '\n' || s[i] == '\r' || s[i] == ' ' || s[i] == '\t')
            continue;
        int v = b64v((unsigned char)s[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    for (; i < n; i++) /* only padding and whitespace may follow */
        if (s[i] != '=' && s[i] != '\n' && s[i] != '\r' && s[i] != ' ' && s[i] != '\t') {
            free(out);
            return NULL;
        }
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    return out;
}
