/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the admission plugins' pod logic (src/apiserver/admission) on arbitrary
 * JSON: PodSecurity at both levels, LimitRange defaulting and constraints, quota usage and
 * the quota check. The input is one JSON document {"pod": ..., "ranges": ..., "hard": ...,
 * "used": ...}; any member may be missing or of the wrong type. Nothing may crash or leak,
 * and a refusal must come with a message. */
#include "apiserver/admission/admission.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!doc)
        return 0;
    json_t *pod = json_object_get(doc, "pod");
    json_t *ranges = json_object_get(doc, "ranges");
    char out[4096];
    static const char *const levels[] = {"privileged", "baseline", "restricted", "bogus"};
    for (size_t i = 0; i < 4; i++) {
        bool ok = adm_psa_evaluate(levels[i], json_object_get(pod, "metadata"),
                                   json_object_get(pod, "spec"), out, sizeof(out));
        if (!ok && !out[0])
            abort();
    }
    if (json_is_object(pod)) {
        json_t *copy = json_deep_copy(pod);
        adm_limits_default(ranges, copy);
        if (adm_limits_check(ranges, copy, out, sizeof(out)) < 0 && !out[0])
            abort();
        json_t *u = adm_quota_pod_usage(copy);
        if (adm_quota_check("q", json_object_get(doc, "hard"), json_object_get(doc, "used"), u, out,
                            sizeof(out)) < 0 &&
            !out[0])
            abort();
        json_decref(u);
        json_decref(copy);
    }
    json_decref(doc);
    return 0;
}
