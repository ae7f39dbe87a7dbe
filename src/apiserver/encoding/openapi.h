/* SPDX-License-Identifier: Apache-2.0 */
/* OpenAPI v2 (JSON and protobuf) and v3 documents built from the registry's schema table. */
#ifndef CK_APISERVER_OPENAPI_H
#define CK_APISERVER_OPENAPI_H

#include "lib/buf.h"
#include "lib/err.h"

#include <jansson.h>
#include <stdbool.h>

/* OpenAPI documents: /openapi/v2 (swagger 2.0, every definition with the
 * x-kubernetes-group-version-kind and x-kubernetes-patch-* extensions), /openapi/v3 (the
 * index of group-versions with their URLs), /openapi/v3/<prefix> e.g. "api/v1",
 * "apis/apps/v1". Return 0, or -1 with CK_R_NOT_FOUND for an unknown group-version. */
int schema_openapi_v2(struct ck_buf *out);
int schema_openapi_v3_index(struct ck_buf *out);
int schema_openapi_v3_gv(const char *group, const char *version, struct ck_buf *out,
                         struct ck_err *err);
/* A custom resource kind published in /openapi/v3, so that kubectl explain and client-side
 * apply work for custom resources. */
struct schema_crd_kind {
    const char *group, *version, *kind, *plural;
    bool namespaced;
    const json_t *schema; /* that version's openAPIV3Schema, or NULL (free-form) */
};
/* Replaces the published set of custom resource kinds (call on every CRD change with all
 * served versions; everything is copied; safe from any thread). Their group-versions join the
 * /openapi/v3 index with one document each: the schema under upstream's name (reversed group,
 * e.g. com.example.v1.Widget) with the GVK extension and ObjectMeta for metadata, and paths
 * whose PATCH accepts json/merge/apply patches but not strategic merge. Kinds in a built-in
 * group-version are ignored. n == 0 removes them all. */
void schema_openapi_set_crds(const struct schema_crd_kind *kinds, size_t n);
/* /openapi/v2 as protobuf (gnostic openapi.v2.Document), for requests whose Accept names
 * application/com.github.proto-openapi.spec.v2@v1.0+protobuf (client-go OpenAPISchema(),
 * e.g. kubectl 1.27 explain, which cannot parse JSON there). Reply with Content-Type
 * application/com.github.proto-openapi.spec.v2.v1.0+protobuf or application/octet-stream
 * (Go's mime parser rejects the '@' form).
 * Same content as schema_openapi_v2. Returns 0, or -1 when out is too small. */
int schema_openapi_v2_pb(struct ck_buf *out);

#endif
