/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the pods/binding splice (src/apiserver/endpoints/bind.c). Any input is
 * scanned without reading out of bounds; when the input is canonical JSON (what the cache
 * holds: jansson's compact output of an object) and the splice succeeds, the output must be
 * JSON with spec.nodeName set and one PodScheduled=True condition, and a refusal as "already
 * bound" must match a non-empty spec.nodeName. */
#include "apiserver/endpoints/bind.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 1 when the first PodScheduled condition is True. */
static int scheduled_true(json_t *pod)
{
    json_t *conds = json_object_get(json_object_get(pod, "status"), "conditions"), *c;
    size_t i;
    json_array_foreach(conds, i, c)
    {
        const char *t = json_string_value(json_object_get(c, "type"));
        const char *st = json_string_value(json_object_get(c, "status"));
        if (t && strcmp(t, "PodScheduled") == 0)
            return st && strcmp(st, "True") == 0;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    const char *in = (const char *)data;
    char *out = NULL, *bound = NULL;
    size_t len = 0;
    size_t cut = size > 4 ? (size_t)data[0] % (size / 2) : 0;
    int rc = eng_bind_splice(in, size, cut, size > 4 ? (size_t)data[1] % 3 : 0, "\"n1\"",
                             "2026-01-01T00:00:00Z", &out, &len, &bound);
    json_error_t je;
    json_t *v = json_loadb(in, size, JSON_REJECT_DUPLICATES, &je);
    char *canon = json_is_object(v) ? json_dumps(v, JSON_COMPACT) : NULL;
    bool canonical = canon && strlen(canon) == size && memcmp(canon, in, size) == 0;
    free(canon);
    free(out);
    free(bound);
    out = bound = NULL;
    if (canonical) { /* again without a cut: the property holds on the whole object */
        rc = eng_bind_splice(in, size, 0, 0, "\"n1\"", "2026-01-01T00:00:00Z", &out, &len, &bound);
        const char *have =
            json_string_value(json_object_get(json_object_get(v, "spec"), "nodeName"));
        if (rc == ENG_BS_OK) {
            json_t *o = json_loadb(out, len, 0, &je);
            const char *nn =
                json_string_value(json_object_get(json_object_get(o, "spec"), "nodeName"));
            if (!o || !nn || strcmp(nn, "n1") != 0 || scheduled_true(o) != 1)
                abort();
            if (have && *have)
                abort();
            json_decref(o);
        } else if (rc == ENG_BS_BOUND) {
            if (!have || strcmp(have, bound) != 0 || !*have)
                abort();
        }
    }
    free(out);
    free(bound);
    json_decref(v);
    return 0;
}
