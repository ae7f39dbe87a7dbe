/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 6902 JSON Patch and RFC 7386 JSON Merge Patch on jansson values.
 * Inputs are never modified; results are new references the caller owns. */
#ifndef CK_JSONPATCH_H
#define CK_JSONPATCH_H

#include "lib/err.h"

#include <jansson.h>

/* Applies an RFC 6902 patch (an array of operations: add, remove, replace, move, copy, test).
 * A patch that is not an array of well-formed operations gives CK_R_BAD_REQUEST; a failed
 * `test` or a path that does not exist gives CK_R_INVALID (upstream answers 422). */
int jsonpatch_apply(const json_t *doc, const json_t *patch, json_t **out, struct ck_err *err);

/* Applies an RFC 7386 merge patch (null deletes a member; non-object patch replaces). */
int mergepatch_apply(const json_t *doc, const json_t *patch, json_t **out, struct ck_err *err);
/* Computes a merge patch that turns orig into modified ({} when they are equal). */
json_t *mergepatch_create(const json_t *orig, const json_t *modified);

/* RFC 6901 pointer lookup; returns a borrowed reference or NULL. */
json_t *jsonpointer_get(const json_t *doc, const char *pointer);

#endif
