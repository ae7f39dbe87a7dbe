/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the store's on-disk decoders (src/store/record.c). The first input byte
 * picks the decoder; mode 1 repairs the CRC first so the fuzzer reaches the structural checks.
 * Every accepted record must re-encode to the identical bytes. */
#include "store/record.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void check_record(const uint8_t *p, size_t n)
{
    struct store_record r;
    struct ck_err err = CK_ERR_INIT;
    if (store_record_decode(p, n, &r, &err) < 0) {
        if (err.reason != CK_R_CORRUPT || !err.msg[0])
            abort();
        return;
    }
    if (store_record_size(&r) != n)
        abort();
    unsigned char *again = malloc(n);
    store_record_encode(&r, again);
    if (memcmp(again, p, n) != 0)
        abort();
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 5;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    struct ck_err err = CK_ERR_INIT;
    switch (mode) {
    case 0:
        check_record(p, n);
        break;
    case 1: {
        unsigned char *fixed = malloc(n ? n : 1);
        memcpy(fixed, p, n);
        if (n >= STORE_REC_TRAILER) {
            uLong c = crc32(crc32(0L, Z_NULL, 0), fixed, (uInt)(n - STORE_REC_TRAILER));
            store_put_u32(fixed + n - STORE_REC_TRAILER, (uint32_t)c);
        }
        check_record(fixed, n);
        free(fixed);
        break;
    }
    case 2: {
        int64_t rev;
        uint32_t sub;
        if (store_logkey_decode(p, n, &rev, &sub, &err) == 0 && rev < 1)
            abort();
        break;
    }
    case 3: {
        struct store_hist h;
        if (store_hist_decode(p, n, &h, &err) == 0 &&
            (h.revision < 1 || (h.type != 1 && h.type != 2)))
            abort();
        break;
    }
    default: {
        struct store_ptr v;
        if (store_ptr_decode(p, n, &v, &err) == 0 &&
            (v.create_revision > v.mod_revision || v.version < 1))
            abort();
        break;
    }
    }
    return 0;
}
