/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: audit Policy parsing and rule matching (src/apiserver/http/
 * http_audit_policy.c). A policy that parses is evaluated against a few resource and
 * non-resource requests; nothing may crash or leak, and levels stay in range. */
#include "apiserver/http/http_audit.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct audit_policy *p = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (audit_policy_parse((const char *)data, size, &p, &err) < 0)
        return 0;
    static const char *const groups[] = {"system:masters", "system:authenticated", NULL};
    const struct audit_attrs as[] = {
        {.user = "admin",
         .groups = groups,
         .verb = "create",
         .resource_request = true,
         .resource = "secrets",
         .ns = "default",
         .name = "s"},
        {.user = "system:node:n",
         .verb = "patch",
         .resource_request = true,
         .group = "apps",
         .resource = "deployments",
         .subresource = "status",
         .ns = "prod"},
        {.user = "u", .verb = "get", .path = "/healthz/etcd"},
        {.verb = "get"},
    };
    for (size_t i = 0; i < sizeof(as) / sizeof(as[0]); i++) {
        unsigned omit = 0;
        enum audit_level l = audit_policy_eval(p, &as[i], &omit);
        if (l > AUDIT_REQUEST_RESPONSE || omit > 15)
            abort();
    }
    audit_policy_free(p);
    return 0;
}
