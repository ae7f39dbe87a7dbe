/* SPDX-License-Identifier: Apache-2.0 */
/* The schema table of the built-in types: fields, types, required, short descriptions,
 * strategic-merge patch keys/strategies. Written once in-tree; drives strategic merge
 * patch, unknown-field detection and the OpenAPI v2/v3 documents (encoding/openapi.h). */
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
 * schema (CRDs) fall back to JSON merge patch semantics. Inputs unchanged; *out is new.
 * Errors: CK_R_BAD_REQUEST (not objects, malformed directive, merge item without its merge
 * key, mixed list element types, nesting deeper than 256), CK_R_INVALID (lists of lists,
 * patch keys missing from $retainKeys). Linear in list sizes (hashed merge-key indexes). */
int schema_smp_apply(const struct schema_type *t, const json_t *doc, const json_t *patch,
                     json_t **out, struct ck_err *err);

/* Unknown-field detection for fieldValidation=Strict/Warn: appends every field path in obj
 * not declared by the schema (".spec.foo", ".spec.containers[0].bar") to paths (a JSON
 * array of strings). Returns how many were found. Duplicate fields are the JSON decoder's job.
 * Upstream's message drops the leading dot: `unknown field "spec.containers[0].bar"`.
 * Map-typed fields (labels, data, ...) and free-form fields (RawExtension) are not walked.
 * t == NULL (CRDs) finds nothing. */
size_t schema_unknown_fields(const struct schema_type *t, const json_t *obj, json_t *paths);
/* Removes every field schema_unknown_fields would report, in place (what upstream's typed
 * decoding does for fieldValidation=Ignore/Warn). Returns how many were removed. */
size_t schema_prune_unknown(const struct schema_type *t, json_t *obj);

/* JSON type check against t (what Go's typed decoding refuses): returns 0, or -1 with
 * CK_R_BAD_REQUEST and a message like Go's: `json: cannot unmarshal number into Go struct field
 * ConfigMap.data of type string`. Unknown fields are not looked at; null is always fine. */
int schema_check_types(const struct schema_type *t, const json_t *obj, struct ck_err *err);

/* ---- Introspection of the table (used by smp.c, openapi.c and tests) ---- */

enum schema_prim {
    SCHEMA_P_REF = 0, /* a struct/scalar/free-form type: field->ref */
    SCHEMA_P_STRING,
    SCHEMA_P_INT32,
    SCHEMA_P_INT64,
    SCHEMA_P_BOOL,
    SCHEMA_P_DOUBLE,
    SCHEMA_P_BYTE, /* base64 string */
};
enum schema_coll { SCHEMA_C_ONE = 0, SCHEMA_C_LIST, SCHEMA_C_MAP };
enum schema_tkind {
    SCHEMA_T_STRUCT = 0,
    SCHEMA_T_SCALAR, /* Quantity, Time, IntOrString: a string (with a format) on the wire */
    SCHEMA_T_FREE,   /* free-form object (RawExtension, FieldsV1): fields are not checked */
};
#define SCHEMA_PS_MERGE 1u      /* patchStrategy merge */
#define SCHEMA_PS_REPLACE 2u    /* patchStrategy replace */
#define SCHEMA_PS_RETAINKEYS 4u /* patchStrategy retainKeys */

struct schema_field {
    const char *name; /* JSON name */
    const char *desc; /* "" when none */
    enum schema_prim prim;
    const struct schema_type *ref; /* prim == SCHEMA_P_REF */
    enum schema_coll coll;         /* list of / map (string keys) of the element type */
    bool required;
    unsigned strategy;     /* SCHEMA_PS_* bits */
    const char *merge_key; /* patchMergeKey or NULL */
    const char *list_type; /* x-kubernetes-list-type or NULL */
    const char *map_keys;  /* comma-separated x-kubernetes-list-map-keys or NULL */
    const char *map_type;  /* x-kubernetes-map-type or NULL */
    const char *enum_values; /* comma-separated allowed values (OpenAPI enum) or NULL */
};

struct schema_type {
    const char *name; /* full OpenAPI name, e.g. io.k8s.api.core.v1.PodSpec */
    const char *desc;
    enum schema_tkind kind;
    const char *scalar_type;   /* SCHEMA_T_SCALAR: "string" ... */
    const char *scalar_format; /* SCHEMA_T_SCALAR: "date-time", "int-or-string" or NULL */
    const char *group, *version, *gvk_kind; /* root kinds only (group "" = core) */
    const char *resource;                   /* plural resource of a root kind or NULL */
    bool namespaced;
    size_t nfields;
    const struct schema_field *fields;
};

/* Every type of the table (stable order); the table is parsed once, on first use, and lives
 * for the process. Both are safe from any thread. */
size_t schema_type_count(void);
const struct schema_type *schema_type_at(size_t i);
/* By full name (io.k8s.api.core.v1.Pod); NULL if unknown. */
const struct schema_type *schema_lookup_name(const char *name);
/* The declared field of a struct type, or NULL. */
const struct schema_field *schema_field_find(const struct schema_type *t, const char *name);

#endif
