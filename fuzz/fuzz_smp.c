/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for strategic merge patch: input = selector byte, document JSON, a NUL
 * byte, patch JSON. The selector picks Pod, Deployment or no schema (JSON merge patch).
 * Checks: no crash, inputs unchanged, a success yields an object, an error fills err, and
 * pruning unknown fields removes exactly what detection reports. */
#include "apiserver/registry/schema.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 64 * 1024)
        return 0;
    const uint8_t *sep = memchr(data + 1, 0, size - 1);
    if (!sep)
        return 0;
    const struct schema_type *t = NULL;
    switch (data[0] % 3) {
    case 0:
        t = schema_lookup_kind("", "v1", "Pod");
        break;
    case 1:
        t = schema_lookup_kind("apps", "v1", "Deployment");
        break;
    default:
        break;
    }
    size_t dlen = (size_t)(sep - data) - 1;
    json_t *doc = json_loadb((const char *)data + 1, dlen, 0, NULL);
    json_t *patch = json_loadb((const char *)sep + 1, size - dlen - 2, 0, NULL);
    if (doc && patch) {
        json_t *doc0 = json_deep_copy(doc), *patch0 = json_deep_copy(patch);
        json_t *out = NULL;
        struct ck_err err = CK_ERR_INIT;
        if (schema_smp_apply(t, doc, patch, &out, &err) == 0) {
            if (!json_is_object(out))
                abort();
            json_t *paths = json_array();
            size_t n = schema_unknown_fields(t, out, paths);
            if (n != json_array_size(paths) || schema_prune_unknown(t, out) != n)
                abort();
            if (schema_unknown_fields(t, out, paths) != 0) /* pruning leaves nothing behind */
                abort();
            json_decref(paths);
            json_decref(out);
        } else if (out || err.msg[0] == '\0') {
            abort();
        }
        if (!json_equal(doc, doc0) || !json_equal(patch, patch0))
            abort();
        json_decref(doc0);
        json_decref(patch0);
    }
    json_decref(doc);
    json_decref(patch);
    return 0;
}
