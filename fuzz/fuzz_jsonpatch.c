/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: RFC 6902 JSON Patch. Input is "<document JSON>\0<patch JSON>" (without a
 * NUL the whole input is the patch, applied to a fixed object). Checks that inputs are never
 * modified and that errors carry a reason. */
#include "lib/jsonpatch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    const uint8_t *nul = memchr(data, 0, size);
    const char *dtext = "{\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":\"b\"}},"
                        "\"spec\":{\"l\":[1,2,{\"c\":null}]}}";
    size_t dlen = strlen(dtext);
    const char *ptext = (const char *)data;
    size_t plen = size;
    if (nul) {
        dtext = (const char *)data;
        dlen = (size_t)(nul - data);
        ptext = (const char *)nul + 1;
        plen = size - dlen - 1;
    }
    json_error_t je;
    json_t *doc = json_loadb(dtext, dlen, JSON_DECODE_ANY, &je);
    json_t *patch = json_loadb(ptext, plen, JSON_DECODE_ANY, &je);
    if (doc && patch) {
        char *bd = json_dumps(doc, JSON_ENCODE_ANY | JSON_COMPACT);
        char *bp = json_dumps(patch, JSON_ENCODE_ANY | JSON_COMPACT);
        json_t *out = NULL;
        struct ck_err err = CK_ERR_INIT;
        int rc = jsonpatch_apply(doc, patch, &out, &err);
        if (rc == 0 && !out)
            abort();
        if (rc < 0 && (out || err.reason == CK_R_NONE || !err.msg[0]))
            abort();
        char *ad = json_dumps(doc, JSON_ENCODE_ANY | JSON_COMPACT);
        char *ap = json_dumps(patch, JSON_ENCODE_ANY | JSON_COMPACT);
        if (strcmp(bd, ad) != 0 || strcmp(bp, ap) != 0)
            abort();
        if (out) {
            char *o = json_dumps(out, JSON_ENCODE_ANY | JSON_COMPACT);
            free(o);
            (void)jsonpointer_get(out, "/metadata/name");
        }
        free(bd), free(bp), free(ad), free(ap);
        json_decref(out);
    }
    if (patch && json_is_array(patch) && json_array_size(patch)) {
        json_t *p0 = json_object_get(json_array_get(patch, 0), "path");
        if (json_is_string(p0) && doc)
            (void)jsonpointer_get(doc, json_string_value(p0));
    }
    json_decref(doc);
    json_decref(patch);
    return 0;
}
