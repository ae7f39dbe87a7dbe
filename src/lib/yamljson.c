/* SPDX-License-Identifier: Apache-2.0 */
/* YAML <-> JSON via libyaml. Placeholder. */
#include "lib/yamljson.h"

int yaml_to_json(const char *text, size_t len, json_t **out, struct ck_err *err)
{
    (void)text, (void)len, (void)out;
    return ck_err_set(err, CK_R_BAD_REQUEST, "yaml not implemented yet");
}

int json_to_yaml(const json_t *v, struct ck_buf *out)
{
    (void)v, (void)out;
    return -1;
}
