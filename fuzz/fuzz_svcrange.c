/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the service range parsers (src/apiserver/endpoints/svcrange.c). First
 * byte picks the parser: even --service-cluster-ip-range, odd --service-node-port-range. A
 * parsed range must be sane (usable addresses within the prefix, offsets within the range,
 * ports within 0-65535) and svc_pick over an empty then a full bitmap must return a value in
 * the range, then -1. */
#include "apiserver/endpoints/svcrange.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 256)
        return 0;
    char s[257], msg[400];
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    if ((data[0] & 1) == 0) {
        struct svc_ip_range r;
        if (svc_ip_range_parse(s, &r, msg, sizeof(msg)) < 0)
            return 0;
        if (r.bits < 12 || r.bits > 29 || r.max != (1u << (32 - r.bits)) - 2 || r.offset > r.max)
            abort();
        size_t n = r.max / 8 + 1;
        uint8_t *bm = calloc(n, 1);
        int64_t v = svc_pick(bm, r.max, r.offset, (uint64_t)data[0] * 7919, size);
        if (v < 0 || (uint32_t)v >= r.max || svc_ip_offset(&r, r.first + (uint32_t)v) != v)
            abort();
        memset(bm, 0xff, n);
        if (svc_pick(bm, r.max, r.offset, 1, 2) != -1)
            abort();
        free(bm);
    } else {
        struct svc_port_range r;
        if (svc_port_range_parse(s, &r, msg, sizeof(msg)) < 0)
            return 0;
        if (r.base < 0 || r.size < 1 || r.base + r.size - 1 > 65535 || r.offset > r.size)
            abort();
        uint8_t bm[8193] = {0};
        int64_t v = svc_pick(bm, (uint32_t)r.size, (uint32_t)r.offset, size, data[0]);
        if (v < 0 || v >= r.size)
            abort();
    }
    return 0;
}
