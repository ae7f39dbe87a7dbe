/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the registries file (k3s registries.yaml). Any input either fails with a
 * reason and a message and yields nothing, or parses; a parsed file plans endpoints for a few
 * references, each list non-empty, ending with the reference's own registry, every endpoint an
 * http(s) URL with a repository path (the reference's own at the default endpoint; mirror
 * rewrites may change it elsewhere). */
#include "image/image_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void check_plan(const struct img_registries *rc, const char *ref)
{
    struct img_ref r;
    struct ck_err err = CK_ERR_INIT;
    if (img_ref_parse(ref, &r, &err) < 0)
        abort();
    struct img_endpoint *v = NULL;
    size_t n = 0;
    if (img_registries_plan(rc, &r, &v, &n, &err) < 0 || n == 0 || !v[n - 1].is_default)
        abort();
    for (size_t i = 0; i < n; i++) {
        const char *b = v[i].base;
        if (strncmp(b, v[i].http ? "http://" : "https://", v[i].http ? 7 : 8) != 0 ||
            !v[i].path[0] || (v[i].is_default && strcmp(v[i].path, r.path) != 0) || !v[i].registry)
            abort();
        if ((v[i].cert_file == NULL) != (v[i].key_file == NULL))
            abort();
    }
    img_endpoints_free(v, n);
    img_ref_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    struct img_registries *rc = (struct img_registries *)1;
    struct ck_err err = CK_ERR_INIT;
    if (img_registries_parse((const char *)data, size, &rc, &err) < 0) {
        if (rc || err.reason == CK_R_NONE || !err.msg[0])
            abort();
        return 0;
    }
    static const char *refs[] = {"busybox", "docker.io/library/busybox:1", "127.0.0.1:5000/a/b:c",
                                 ("example.invalid/x@" DIGEST), "[::1]:5000/q"};
    for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++)
        check_plan(rc, refs[i]);
    img_registries_free(rc);
    return 0;
}
