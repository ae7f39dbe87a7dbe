/* SPDX-License-Identifier: Apache-2.0 */
/* OpenAPI v2/v3 documents (placeholder: empty documents). */
#include "apiserver/schema.h"

int schema_openapi_v2(struct ck_buf *out)
{
    return ck_buf_appends(out, "{\"swagger\":\"2.0\",\"info\":{\"title\":\"Kubernetes\","
                               "\"version\":\"v1.31.0\"},\"paths\":{},\"definitions\":{}}");
}

int schema_openapi_v3_index(struct ck_buf *out)
{
    return ck_buf_appends(out, "{\"paths\":{}}");
}

int schema_openapi_v3_gv(const char *group, const char *version, struct ck_buf *out,
                         struct ck_err *err)
{
    (void)out;
    return ck_err_set(err, CK_R_NOT_FOUND, "no OpenAPI document for %s/%s", group ? group : "",
                      version ? version : "");
}
