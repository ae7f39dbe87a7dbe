/* SPDX-License-Identifier: Apache-2.0 */
/* Strategic merge patch (placeholder: JSON merge patch semantics for every type). */
#include "apiserver/schema.h"
#include "lib/jsonpatch.h"

int schema_smp_apply(const struct schema_type *t, const json_t *doc, const json_t *patch,
                     json_t **out, struct ck_err *err)
{
    (void)t;
    return mergepatch_apply(doc, patch, out, err);
}
