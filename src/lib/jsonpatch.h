/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 6902 JSON Patch and RFC 7386 JSON Merge Patch on jansson values.
 * Inputs are never modified; results are new references the caller owns. */
#ifndef CK_JSONPATCH_H
#define CK_JSONPATCH_H

#include "lib/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Limits against hostile patches (upstream caps operations at 10000 and answers 413). */
#define JSONPATCH_MAX_OPS 10000
/* Deepest nesting of a document, patch value or result (jansson's parser allows 2048). */
#define JSONPATCH_MAX_DEPTH 1000
/* Total memory (about 64 bytes a node plus key/string bytes) that the `copy` operations of
 * one patch may add. */
#define JSONPATCH_MAX_COPY (32 * 1024 * 1024)

/* Applies an RFC 6902 patch (an array of operations: add, remove, replace, move, copy, test).
 * A patch that is not an array of well-formed operations gives CK_R_BAD_REQUEST (not an
 * array, element not an object, unknown `op`, missing/non-string `path`/`from`, malformed
 * pointer, missing `value`); more than JSONPATCH_MAX_OPS operations gives CK_R_TOO_LARGE;
 * a failed `test`, a path that does not exist, a bad array index (leading zero, past the
 * end, `-` outside add), removing the root, moving a value into itself, or exceeding the
 * depth/copy limits gives CK_R_INVALID (upstream answers 422). Messages follow
 * evanphx/json-patch, e.g. `testing value /a failed: test failed`. On success *out is a new
 * document (a deep copy; doc and patch are untouched). Numbers compare by value in `test`. */
int jsonpatch_apply(const json_t *doc, const json_t *patch, json_t **out, struct ck_err *err);

/* Applies an RFC 7386 merge patch (null deletes a member; non-object patch replaces; arrays
 * replace wholesale). Errors: CK_R_BAD_REQUEST when doc or patch nests deeper than
 * JSONPATCH_MAX_DEPTH. On success *out is a new value. */
int mergepatch_apply(const json_t *doc, const json_t *patch, json_t **out, struct ck_err *err);
/* Computes a merge patch that turns orig into modified ({} when two objects are equal; a
 * copy of modified when either is not an object). New reference; never NULL for non-NULL
 * arguments. Members whose new value is null cannot be expressed (RFC 7386 limitation). */
json_t *mergepatch_create(const json_t *orig, const json_t *modified);

/* RFC 6901 pointer lookup; returns a borrowed reference or NULL (also for a malformed
 * pointer or an index with a leading zero). */
json_t *jsonpointer_get(const json_t *doc, const char *pointer);

/* Deep equality as JSON Patch `test` defines it: numbers by value (1 == 1.0), objects
 * regardless of member order, strings byte-wise. NULL equals only NULL. */
bool jsonpatch_equal(const json_t *a, const json_t *b);
/* Nesting depth of v (scalars 0, {} or [] 1), not descending more than limit levels:
 * any result > limit means "deeper than limit". Recursion is bounded by limit. */
size_t jsonpatch_depth(const json_t *v, size_t limit);

#endif
