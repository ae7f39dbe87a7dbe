/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for server-side apply: input = selector byte, the live object's JSON
 * (its metadata.managedFields are client-controlled FieldsV1), a NUL byte, the applied
 * configuration's JSON. The selector picks the kind (Pod, Deployment, ConfigMap, a kind
 * without a schema) and force. Checks: no crash, inputs unchanged, a success yields an object,
 * an error fills err; and FieldsV1 decoding is stable: decode, encode, decode, encode gives
 * the same JSON twice. */
#include "apiserver/endpoints/apply.h"
#include "apiserver/endpoints/apply_int.h"
#include "apiserver/registry/registry.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fieldsv1_stable(const json_t *live)
{
    json_t *mf = json_object_get(json_object_get(live, "metadata"), "managedFields");
    size_t i;
    json_t *e;
    json_array_foreach(mf, i, e)
    {
        struct fp_set *s1 = fp_set_from_json(json_object_get(e, "fieldsV1"));
        if (!s1)
            continue;
        json_t *j1 = fp_set_to_json(s1);
        struct fp_set *s2 = fp_set_from_json(j1);
        if (!s2)
            abort(); /* what we encode must decode */
        json_t *j2 = fp_set_to_json(s2);
        if (!json_equal(j1, j2))
            abort();
        json_decref(j1);
        json_decref(j2);
        fp_set_free(s1);
        fp_set_free(s2);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        reg_init();
        init = 1;
    }
    if (size < 2 || size > 64 * 1024)
        return 0;
    const uint8_t *sep = memchr(data + 1, 0, size - 1);
    if (!sep)
        return 0;
    static const char *const kinds[][3] = {
        {"", "v1", "pods"}, {"apps", "v1", "deployments"}, {"", "v1", "configmaps"},
        {"coordination.k8s.io", "v1", "leases"}};
    const char *const *k = kinds[data[0] % 4];
    const struct reg_resource *res = reg_find(k[0], k[1], k[2]);
    bool force = (data[0] >> 2) & 1;
    size_t dlen = (size_t)(sep - data) - 1;
    json_t *live = json_loadb((const char *)data + 1, dlen, 0, NULL);
    json_t *cfg = json_loadb((const char *)sep + 1, size - dlen - 2, 0, NULL);
    if (res && json_is_object(cfg) && (!live || json_is_object(live))) {
        if (live)
            fieldsv1_stable(live);
        json_t *live0 = live ? json_deep_copy(live) : NULL, *cfg0 = json_deep_copy(cfg);
        json_t *out = NULL;
        struct ck_err err = CK_ERR_INIT;
        if (eng_apply_sub(res, NULL, live, cfg, "fuzz", force, &out, &err) == 0) {
            if (!json_is_object(out))
                abort();
        } else if (!err.msg[0]) {
            abort();
        }
        if ((live && !json_equal(live, live0)) || !json_equal(cfg, cfg0))
            abort(); /* inputs unchanged */
        json_decref(out);
        json_decref(live0);
        json_decref(cfg0);
    }
    json_decref(live);
    json_decref(cfg);
    return 0;
}
