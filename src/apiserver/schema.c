/* SPDX-License-Identifier: Apache-2.0 */
/* Schema table lookup and unknown-field detection (placeholder until the table lands). */
#include "apiserver/schema.h"

const struct schema_type *schema_lookup_kind(const char *group, const char *version,
                                             const char *kind)
{
    (void)group;
    (void)version;
    (void)kind;
    return NULL;
}

size_t schema_unknown_fields(const struct schema_type *t, const json_t *obj, json_t *paths)
{
    (void)t;
    (void)obj;
    (void)paths;
    return 0;
}
