/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 6902 JSON Patch, RFC 7386 merge patch, RFC 6901 pointers. Placeholder. */
#include "lib/jsonpatch.h"

int jsonpatch_apply(const json_t *doc, const json_t *patch, json_t **out, struct ck_err *err)
{
    (void)doc, (void)patch, (void)out;
    return ck_err_set(err, CK_R_BAD_REQUEST, "json patch not implemented yet");
}

int mergepatch_apply(const json_t *doc, const json_t *patch, json_t **out, struct ck_err *err)
{
    (void)doc, (void)patch, (void)out;
    return ck_err_set(err, CK_R_BAD_REQUEST, "merge patch not implemented yet");
}

json_t *mergepatch_create(const json_t *orig, const json_t *modified)
{
    (void)orig, (void)modified;
    return json_object();
}

json_t *jsonpointer_get(const json_t *doc, const char *pointer)
{
    (void)doc, (void)pointer;
    return NULL;
}
