/* SPDX-License-Identifier: Apache-2.0 */
/* YAML <-> JSON for request bodies (application/yaml), kubeconfig files and responses
 * (kubectl asks for JSON; YAML output is client-side, but bodies may arrive as YAML). */
#ifndef CK_YAMLJSON_H
#define CK_YAMLJSON_H

#include "lib/buf.h"
#include "lib/err.h"

#include <jansson.h>
#include <stddef.h>

/* Parses one YAML document (YAML 1.1 scalars resolved as Kubernetes' sigs.k8s.io/yaml does:
 * unquoted true/false, null/~, ints, floats; everything else strings). Multiple documents:
 * only the first. Errors: CK_R_BAD_REQUEST with line/column. Caps depth and size. */
int yaml_to_json(const char *text, size_t len, json_t **out, struct ck_err *err);
/* Emits v as block-style YAML. */
int json_to_yaml(const json_t *v, struct ck_buf *out);

#endif
