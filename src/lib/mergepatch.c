/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 7386 JSON Merge Patch: apply (objects merge recursively, null deletes, everything else
 * replaces) and create (the patch turning one document into another). Results are new
 * values; inputs are never modified. Recursion is bounded by JSONPATCH_MAX_DEPTH. */
#include "lib/jsonpatch.h"

#include <string.h>

#include "lib/banned.h"

/* The merge of patch into target: target's members keep their order, new ones follow in
 * patch order. A non-object target counts as {} (so nulls inside new subtrees vanish). */
static json_t *merge_into(const json_t *target, const json_t *patch)
{
    if (!json_is_object(patch))
        return json_deep_copy(patch);
    json_t *res = json_object();
    const char *k;
    size_t kl;
    json_t *v;
    if (json_is_object(target)) {
        json_object_keylen_foreach((json_t *)target, k, kl, v)
        {
            json_t *pv = json_object_getn(patch, k, kl);
            if (!pv)
                json_object_setn_new_nocheck(res, k, kl, json_deep_copy(v));
            else if (!json_is_null(pv))
                json_object_setn_new_nocheck(res, k, kl, merge_into(v, pv));
        }
    }
    json_object_keylen_foreach((json_t *)patch, k, kl, v)
    {
        if (json_is_null(v) || (json_is_object(target) && json_object_getn(target, k, kl)))
            continue;
        json_object_setn_new_nocheck(res, k, kl, merge_into(NULL, v));
    }
    return res;
}

int mergepatch_apply(const json_t *doc, const json_t *patch, json_t **out, struct ck_err *err)
{
    *out = NULL;
    if (!patch)
        return ck_err_set(err, CK_R_BAD_REQUEST, "merge patch: no patch");
    if (jsonpatch_depth(patch, JSONPATCH_MAX_DEPTH + 1) > JSONPATCH_MAX_DEPTH)
        return ck_err_set(err, CK_R_BAD_REQUEST, "merge patch nesting exceeds %d levels",
                          JSONPATCH_MAX_DEPTH);
    if (doc && jsonpatch_depth(doc, JSONPATCH_MAX_DEPTH + 1) > JSONPATCH_MAX_DEPTH)
        return ck_err_set(err, CK_R_BAD_REQUEST, "document nesting exceeds %d levels",
                          JSONPATCH_MAX_DEPTH);
    *out = merge_into(doc, patch);
    return 0;
}

static json_t *diff(const json_t *orig, const json_t *mod, size_t depth)
{
    json_t *p = json_object();
    const char *k;
    size_t kl;
    json_t *v;
    json_object_keylen_foreach((json_t *)orig, k, kl, v)
    {
        if (!json_object_getn(mod, k, kl))
            json_object_setn_new_nocheck(p, k, kl, json_null());
    }
    json_object_keylen_foreach((json_t *)mod, k, kl, v)
    {
        json_t *o = json_object_getn(orig, k, kl);
        if (o && json_is_object(o) && json_is_object(v) && depth < JSONPATCH_MAX_DEPTH) {
            json_t *sub = diff(o, v, depth + 1);
            if (json_object_size(sub))
                json_object_setn_new_nocheck(p, k, kl, sub);
            else
                json_decref(sub);
        } else if (!o || !jsonpatch_equal(o, v)) {
            json_object_setn_new_nocheck(p, k, kl, json_deep_copy(v));
        }
    }
    return p;
}

json_t *mergepatch_create(const json_t *orig, const json_t *modified)
{
    if (!modified)
        return NULL;
    if (!json_is_object(orig) || !json_is_object(modified))
        return json_deep_copy(modified);
    return diff(orig, modified, 1);
}
