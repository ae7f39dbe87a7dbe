/* SPDX-License-Identifier: Apache-2.0 */
/* STOPGAP authorization until RBAC and the Node authorizer are on the request path (issue
 * 17). Bootstrap-token identities (group system:bootstrappers, not system:masters) get what
 * upstream's bootstrap ClusterRoles grant them: system:node-bootstrapper
 * (certificatesigningrequests create, get, list, watch), system:discovery and
 * system:public-info-viewer (GET on /api, /apis, /openapi and everything below them, /healthz,
 * /livez, /readyz, /version, /version/) and system:basic-user (create
 * selfsubjectaccessreviews, selfsubjectrulesreviews, selfsubjectreviews). Everyone else may
 * do everything, node identities (system:node:<name>) included; anonymous requests are only
 * authenticated for GET kube-public/configmaps/cluster-info (http/http_authn.c), kubeadm's
 * grant to system:anonymous for discovery. */
#include "apiserver/authz/authz.h"

#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

static bool in_group(const struct rbac_attrs *a, const char *g)
{
    for (size_t i = 0; a->groups && a->groups[i]; i++)
        if (!strcmp(a->groups[i], g))
            return true;
    return false;
}

static bool is(const char *s, const char *want)
{
    return !strcmp(s ? s : "", want);
}

static bool nonresource_allowed(const struct rbac_attrs *a)
{
    static const char *const exact[] = {"/api",     "/apis",     "/healthz", "/livez", "/readyz",
                                        "/version", "/version/", "/openapi", NULL};
    static const char *const prefix[] = {"/api/", "/apis/", "/openapi/", NULL};
    const char *p = a->path ? a->path : "";

    if (!is(a->verb, "get"))
        return false;
    for (size_t i = 0; exact[i]; i++)
        if (!strcmp(p, exact[i]))
            return true;
    for (size_t i = 0; prefix[i]; i++)
        if (!strncmp(p, prefix[i], strlen(prefix[i])))
            return true;
    return false;
}

static bool resource_allowed(const struct rbac_attrs *a)
{
    const char *v = a->verb ? a->verb : "";

    if (is(a->api_group, "certificates.k8s.io") && is(a->resource, "certificatesigningrequests") &&
        is(a->subresource, ""))
        return !strcmp(v, "create") || !strcmp(v, "get") || !strcmp(v, "list") ||
               !strcmp(v, "watch");
    if (strcmp(v, "create") != 0 || !is(a->subresource, ""))
        return false;
    if (is(a->api_group, "authorization.k8s.io"))
        return is(a->resource, "selfsubjectaccessreviews") ||
               is(a->resource, "selfsubjectrulesreviews");
    return is(a->api_group, "authentication.k8s.io") && is(a->resource, "selfsubjectreviews");
}

bool authz_stopgap_allows(const struct rbac_attrs *a)
{
    if (in_group(a, "system:masters") || !in_group(a, "system:bootstrappers"))
        return true;
    return a->resource_request ? resource_allowed(a) : nonresource_allowed(a);
}

void authz_forbidden(const struct rbac_attrs *a, struct ck_err *err)
{
    char msg[2048];

    rbac_forbidden_message(a, NULL, msg, sizeof(msg));
    ck_err_set(err, CK_R_FORBIDDEN, "%s", msg);
    if (!a->resource_request)
        return;
    snprintf(err->kind, sizeof(err->kind), "%s", a->resource ? a->resource : "");
    snprintf(err->group, sizeof(err->group), "%s", a->api_group ? a->api_group : "");
    snprintf(err->name, sizeof(err->name), "%s", a->name ? a->name : "");
}
