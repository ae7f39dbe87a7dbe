/* SPDX-License-Identifier: Apache-2.0 */
/* Server-side apply entry points beyond those endpoints.h declares (apply.c). */
#ifndef CK_APISERVER_APPLY_H
#define CK_APISERVER_APPLY_H

#include "apiserver/endpoints/endpoints.h"

/* Applies cfg for manager onto cur (NULL: the object does not exist yet) through subresource
 * sub (NULL: the main resource); both inputs unchanged. On success *out is the new object
 * with its managedFields. Errors: 409 Conflict with FieldManagerConflict causes (unless
 * force), 400 when cfg carries metadata.managedFields, 500 when a list item misses its keys. */
int eng_apply_sub(const struct reg_resource *res, const char *sub, json_t *cur, json_t *cfg,
                  const char *manager, bool force, json_t **out, struct ck_err *err);

#endif
