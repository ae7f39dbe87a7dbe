/* SPDX-License-Identifier: Apache-2.0 */
/* upstream's responsewriters.Forbidden for a refused request. */
#include "apiserver/authz/authz.h"

#include <stdio.h>

#include "lib/banned.h"

void authz_forbidden(const struct rbac_attrs *a, const char *reason, struct ck_err *err)
{
    char msg[2048];

    rbac_forbidden_message(a, reason, msg, sizeof(msg));
    ck_err_set(err, CK_R_FORBIDDEN, "%s", msg);
    if (!a->resource_request)
        return;
    snprintf(err->kind, sizeof(err->kind), "%s", a->resource ? a->resource : "");
    snprintf(err->group, sizeof(err->group), "%s", a->api_group ? a->api_group : "");
    snprintf(err->name, sizeof(err->name), "%s", a->name ? a->name : "");
}
