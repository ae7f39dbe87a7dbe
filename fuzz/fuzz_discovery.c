/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: discovery documents (src/client/discovery.c). The input is an
 * APIResourceList as JSON; the first byte picks the fallback groupVersion. Checks that every
 * parsed resource has a non-empty, slash-free resource name and kind, that its apiVersion is
 * group/version (or the version alone for the core group), that REST paths build, and that
 * the list+watch+delete filter keeps exactly the resources with those verbs. */
#include "ckube/discovery.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    static const char *const gvs[] = {"v1", "apps/v1", "", "example.com/v1beta1"};
    const char *gv = gvs[data[0] % 4];
    json_error_t je;
    json_t *doc = json_loadb((const char *)data + 1, size - 1, 0, &je);
    if (!doc)
        return 0;
    struct ck_api_resources r = {0};
    int n = ck_discovery_parse_list(doc, gv, &r);
    if (n < 0 ? r.n != 0 : (size_t)n != r.n)
        abort();
    size_t want = 0;
    const unsigned lwd = CK_VERB_LIST | CK_VERB_WATCH | CK_VERB_DELETE;
    for (size_t i = 0; i < r.n; i++) {
        const struct ck_api_resource *x = &r.v[i];
        if (!*x->resource || strchr(x->resource, '/') || !*x->kind || !*x->version)
            abort();
        size_t gl = strlen(x->group);
        if (gl ? strncmp(x->api_version, x->group, gl) || x->api_version[gl] != '/' ||
                     strcmp(x->api_version + gl + 1, x->version)
               : strcmp(x->api_version, x->version))
            abort();
        char *p = ck_api_resource_path(x, "ns", "name");
        if (!p || strncmp(p, gl ? "/apis/" : "/api/", gl ? 6 : 5))
            abort();
        free(p);
        if (ck_discovery_find_kind(&r, x->group, x->kind) == NULL)
            abort();
        want += (x->verbs & lwd) == lwd;
    }
    ck_discovery_filter(&r, lwd);
    if (r.n != want)
        abort();
    ck_api_resources_release(&r);
    json_decref(doc);
    return 0;
}
