/* SPDX-License-Identifier: Apache-2.0 */
/* The schema table of the built-in types: fields, types, required, short descriptions,
 * strategic-merge patch keys/strategies. Written once in-tree; drives strategic merge
 * patch, unknown-field detection and the OpenAPI v2/v3 documents. */
#ifndef CK_SCHEMA_H
#define CK_SCHEMA_H

#include "lib/buf.h"
#include "lib/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct schema_type; /* opaque: one OpenAPI definition, e.g. io.k8s.api.core.v1.PodSpec */

/* The root type of a kind, e.g. ("apps","v1","Deployment"); NULL if unknown. */
const struct schema_type *schema_lookup_kind(const char *group, const char *version,
                                             const char *kind);

/* Strategic merge patch (sigs.k8s.io strategic merge semantics for the type: patchMergeKey,
 * patchStrategy merge/replace/retainKeys, $patch: replace/delete/merge directives,
 * $setElementOrder/<list>, $deleteFromPrimitiveList/<list>, $retainKeys). Types without a
 * schema (CRDs) fall back to JSON merge patch semantics. Inputs unchanged; *out is new. */
int schema_smp_apply(const struct schema_type *t, const json_t *doc, const json_t *patch,
                     json_t **out, struct ck_err *err);

/* Unknown-field detection for fieldValidation=Strict/Warn: appends every field path in obj
 * not declared by the schema (".spec.foo", ".spec.containers[0].bar") to paths (a JSON
 * array of strings). Returns how many were found. Duplicate fields are the JSON decoder's job. */
size_t schema_unknown_fields(const struct schema_type *t, const json_t *obj, json_t *paths);

/* OpenAPI documents: /openapi/v2 (swagger 2.0, every definition with the
 * x-kubernetes-group-version-kind and x-kubernetes-patch-* extensions), /openapi/v3 (the
 * index of group-versions with their URLs), /openapi/v3/<prefix> e.g. "api/v1",
 * "apis/apps/v1". Return 0, or -1 with CK_R_NOT_FOUND for an unknown group-version. */
int schema_openapi_v2(struct ck_buf *out);
int schema_openapi_v3_index(struct ck_buf *out);
int schema_openapi_v3_gv(const char *group, const char *version, struct ck_buf *out,
                         struct ck_err *err);

#endif
