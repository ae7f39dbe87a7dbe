/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the static token file parser (src/apiserver/authn/tokenfile.c, kube-
 * apiserver's --token-auth-file CSV). The input's first line is a token to look up, the rest
 * the file. Checks: no crash or leak; a parsed file's lookup either fails or yields a named
 * user in system:authenticated; a failed parse says why. */
#include "apiserver/authn/tokenfile.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    if (size > 256 * 1024)
        return 0;
    const char *nl = memchr(p, '\n', size);
    size_t toklen = nl ? (size_t)(nl - p) : size;
    const char *file = nl ? nl + 1 : end;
    struct authn_tokenfile *f = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (authn_tokenfile_parse(file, (size_t)(end - file), "fuzz.csv", &f, &err) < 0) {
        if (!err.msg[0] || f)
            abort();
        return 0;
    }
    struct authn_user u;
    if (authn_tokenfile_lookup(f, p, toklen, &u) == 0) {
        bool auth = false;
        for (size_t i = 0; u.groups && u.groups[i]; i++)
            auth |= !strcmp(u.groups[i], "system:authenticated");
        if (!u.name || !auth)
            abort();
        authn_user_release(&u);
    }
    authn_tokenfile_free(f);
    return 0;
}
