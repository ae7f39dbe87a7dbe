/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: YAML -> JSON -> YAML -> JSON. Any YAML either fails with a reason or
 * converts; the emitted YAML of a converted value must read back as an equal value. */
#include "lib/jsonpatch.h"
#include "lib/yamljson.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    json_t *v = NULL;
    struct ck_err err = CK_ERR_INIT;
    struct ck_buf dups = CK_BUF_INIT(1 << 20);
    int rc = yaml_to_json_dups((const char *)data, size, &v, &dups, &err);
    ck_buf_release(&dups);
    if (rc < 0) {
        if (v || err.reason == CK_R_NONE || !err.msg[0])
            abort();
        return 0;
    }
    if (!v)
        abort();
    struct ck_buf out = CK_BUF_INIT(64u << 20);
    if (json_to_yaml(v, &out) == 0) {
        json_t *back = NULL;
        struct ck_err err2 = CK_ERR_INIT;
        if (yaml_to_json(out.data, out.len, &back, &err2) < 0 || !jsonpatch_equal(v, back))
            abort();
        json_decref(back);
    }
    ck_buf_release(&out);
    json_decref(v);
    return 0;
}
