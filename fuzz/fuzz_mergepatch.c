/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: RFC 7386 merge patch. Input is "<document JSON>\0<patch JSON>". Checks
 * immutability of inputs and that mergepatch_create(a, b) applied to a yields b whenever b
 * holds no null member values (which a merge patch cannot express). */
#include "lib/jsonpatch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool has_null_member(const json_t *v)
{
    const char *k;
    json_t *m;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, m)
        {
            if (json_is_null(m) || has_null_member(m))
                return true;
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (has_null_member(json_array_get(v, i)))
                return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    const uint8_t *nul = memchr(data, 0, size);
    if (!nul)
        return 0;
    json_error_t je;
    json_t *a = json_loadb((const char *)data, (size_t)(nul - data), JSON_DECODE_ANY, &je);
    json_t *b =
        json_loadb((const char *)nul + 1, size - (size_t)(nul - data) - 1, JSON_DECODE_ANY, &je);
    if (a && b) {
        char *ba = json_dumps(a, JSON_ENCODE_ANY | JSON_COMPACT);
        char *bb = json_dumps(b, JSON_ENCODE_ANY | JSON_COMPACT);
        json_t *out = NULL;
        struct ck_err err = CK_ERR_INIT;
        if (mergepatch_apply(a, b, &out, &err) == 0) {
            if (!out)
                abort();
            json_decref(out);
        } else if (err.reason != CK_R_BAD_REQUEST) {
            abort();
        }
        json_t *p = mergepatch_create(a, b);
        if (!p)
            abort();
        if (!has_null_member(b) && jsonpatch_depth(a, 900) < 900 && jsonpatch_depth(b, 900) < 900) {
            json_t *r = NULL;
            if (mergepatch_apply(a, p, &r, &err) != 0 || !jsonpatch_equal(r, b))
                abort();
            json_decref(r);
        }
        json_decref(p);
        char *aa = json_dumps(a, JSON_ENCODE_ANY | JSON_COMPACT);
        char *ab = json_dumps(b, JSON_ENCODE_ANY | JSON_COMPACT);
        if (strcmp(ba, aa) != 0 || strcmp(bb, ab) != 0)
            abort();
        free(ba), free(bb), free(aa), free(ab);
    }
    json_decref(a);
    json_decref(b);
    return 0;
}
