/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes SPDY/3 header blocks: the input as an uncompressed name/value block, then as a
 * series of compressed blocks through one inflate context (split at 0xff 0xff sync-flush
 * trailers, as consecutive frames of a session), and a re-encode/decode round trip. */
#include "stream/spdy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ck_err err = CK_ERR_INIT;
    struct spdy_headers h;
    if (spdy_hdr_parse(data, size, 64, &h, &err) == 0) {
        struct spdy_zctx *zo = spdy_zctx_new(true), *zi = spdy_zctx_new(false);
        uint8_t *blk;
        size_t n;
        if (spdy_hdr_encode(zo, h.v, h.n, &blk, &n, &err) == 0) {
            struct spdy_headers back;
            if (spdy_hdr_decode(zi, blk, n, 1 << 20, &back, &err) != 0 || back.n != h.n)
                abort();
            for (size_t i = 0; i < h.n; i++)
                if (strcmp(back.v[i].name, h.v[i].name) ||
                    back.v[i].value_len != h.v[i].value_len ||
                    memcmp(back.v[i].value, h.v[i].value, h.v[i].value_len))
                    abort();
            spdy_headers_release(&back);
            free(blk);
        }
        spdy_zctx_free(zo);
        spdy_zctx_free(zi);
        spdy_headers_release(&h);
    }
    struct spdy_zctx *z = spdy_zctx_new(false);
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        bool end = i == size || (i >= 1 && data[i - 1] == 0xff && data[i] == 0xff);
        if (!end)
            continue;
        size_t stop = i == size ? size : i + 1;
        if (spdy_hdr_decode(z, data + start, stop - start, 16384, &h, &err) < 0)
            break;
        spdy_headers_release(&h);
        start = stop;
        if (start >= size)
            break;
    }
    spdy_zctx_free(z);
    return 0;
}
