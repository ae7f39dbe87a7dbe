/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the protobuf body decoder: the envelope, and bare messages of a few rich types. */
#include "apiserver/encoding/proto.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *o = NULL;
    struct ck_err e;
    if (proto_decode(data, size, &o, &e) == 0)
        json_decref(o);
    static const char *const types[] = {"Deployment", "Pod", "Service", "Secret", "CronJob"};
    if (size > 0) {
        const char *t = types[data[0] % 5];
        if (proto_decode_message(t, data + 1, size - 1, &o, &e) == 0)
            json_decref(o);
    }
    return 0;
}
