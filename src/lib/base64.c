/* SPDX-License-Identifier: Apache-2.0 */
/* Decoding through OpenSSL's EVP_DecodeBlock, after the normalisation it does not do:
 * whitespace removed, padding made optional (and only allowed at the end). */
#include "lib/base64.h"
#include "lib/buf.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

char *ck_base64_decode(const char *s, size_t n, size_t *out_len)
{
    if (n > (size_t)1 << 30)
        return NULL;
    char *clean = ck_malloc(n + 4);
    size_t m = 0, pad_seen = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\n' || c == '\r' || c == ' ' || c == '\t')
            continue;
        if (c == '=') {
            pad_seen++;
            continue;
        }
        if (pad_seen) { /* data after padding */
            free(clean);
            return NULL;
        }
        clean[m++] = c;
    }
    if (pad_seen > 2 || m % 4 == 1) {
        free(clean);
        return NULL;
    }
    size_t pads = (4 - m % 4) % 4;
    memset(clean + m, '=', pads);
    unsigned char *out = ck_malloc((m + pads) / 4 * 3 + 1);
    int len = m + pads ? EVP_DecodeBlock(out, (const unsigned char *)clean, (int)(m + pads)) : 0;
    free(clean);
    if (len < 0) {
        free(out);
        return NULL;
    }
    len -= (int)pads; /* EVP_DecodeBlock counts padding as output bytes */
    out[len] = '\0';
    if (out_len)
        *out_len = (size_t)len;
    return (char *)out;
}
