/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for impersonation headers: input = lines "Name: value" (the request's
 * headers as the transport hands them). Checks: no crash; a parse error fills the message;
 * a parsed set applied for a system:masters requester yields a user with a name, and
 * system:authenticated or system:unauthenticated among its groups. */
#include "apiserver/authn/impersonate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16 * 1024)
        return 0;
    struct authn_header h[64];
    size_t nh = 0;
    const char *p = (const char *)data, *end = p + size;
    while (p < end && nh < 64) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (colon) {
            const char *v = colon + 1;
            while (v < le && *v == ' ')
                v++;
            h[nh++] = (struct authn_header){p, (size_t)(colon - p), v, (size_t)(le - v)};
        }
        p = nl ? nl + 1 : end;
    }
    struct authn_imp imp = {0};
    char msg[512] = "";
    if (authn_impersonation_parse(h, nh, &imp, msg, sizeof(msg)) < 0) {
        if (!msg[0])
            abort();
        authn_imp_release(&imp);
        return 0;
    }
    if (imp.n) {
        char *groups[] = {"system:masters", "system:authenticated", NULL};
        struct authn_user who = {.name = "admin", .groups = groups};
        struct authn_user out = {0};
        struct ck_err err = CK_ERR_INIT;
        if (authn_impersonate(&who, &imp, NULL, NULL, &out, &err) == 0) {
            if (!out.name)
                abort();
            bool auth = false;
            for (size_t i = 0; out.groups && out.groups[i]; i++)
                auth |= !strcmp(out.groups[i], "system:authenticated") ||
                        !strcmp(out.groups[i], "system:unauthenticated");
            if (!auth)
                abort();
            authn_user_release(&out);
        } else if (!err.msg[0]) {
            abort();
        }
    }
    authn_imp_release(&imp);
    return 0;
}
