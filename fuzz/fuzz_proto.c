/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the protobuf decoder (the envelope, and bare messages of a few rich types) and the
 * encoder on what the decoder accepts: re-encoding must succeed and decode again. */
#include "apiserver/encoding/proto.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/banned.h"

static void reencode(const char *type, json_t *o)
{
    struct ck_buf b = CK_BUF_INIT(64 << 20);
    struct ck_err e = CK_ERR_INIT;
    if (proto_encode_message(type, o, &b, &e) < 0)
        abort();
    json_t *back = NULL;
    if (proto_decode_message(type, b.data ? b.data : "", b.len, &back, &e) < 0)
        abort();
    json_decref(back);
    ck_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *o = NULL;
    struct ck_err e = CK_ERR_INIT;
    if (proto_decode(data, size, &o, &e) == 0)
        json_decref(o);
    static const char *const types[] = {"Deployment",
                                        "Pod",
                                        "Service",
                                        "Secret",
                                        "CronJob",
                                        "rbac.authorization.k8s.io/v1.ClusterRole",
                                        "networking.k8s.io/v1.Ingress",
                                        "meta.k8s.io/v1.Status"};
    if (size > 0) {
        const char *t = types[data[0] % (sizeof(types) / sizeof(types[0]))];
        if (proto_decode_message(t, data + 1, size - 1, &o, &e) == 0) {
            reencode(t, o);
            json_decref(o);
        }
    }
    return 0;
}
