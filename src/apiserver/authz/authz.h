/* SPDX-License-Identifier: Apache-2.0 */
/* Authorization on the request path: request attributes (upstream's RequestInfoFactory) and
 * the Forbidden answer. The decision is the engine's (api_authorize: Node, RBAC). See
 * README.md. */
#ifndef CK_APISERVER_AUTHZ_H
#define CK_APISERVER_AUTHZ_H

#include "apiserver/authz/rbac.h"
#include "lib/err.h"

#include <stdbool.h>

/* The attributes of one request; strings owned (authz_attrs_release), unset ones "". */
struct authz_attrs {
    bool resource_request;
    char *verb; /* get list watch create update patch delete deletecollection proxy; or the
                   lower-cased HTTP method for non-resource requests */
    char *path; /* the request path */
    char *group, *version, *resource, *subresource, *ns, *name;
};

/* Fills *a from a decoded path and the raw query (may be NULL), as upstream's
 * NewRequestInfo (special verbs watch/proxy, namespaces/<ns>/..., list/watch/deletecollection
 * when no name, fieldSelector metadata.name=... as the name of a list/watch). */
void authz_attrs_from_request(const char *method, const char *path, const char *query,
                              struct authz_attrs *a);
void authz_attrs_release(struct authz_attrs *a);

/* The RBAC view of a for user/groups (borrowed from both). */
struct rbac_attrs authz_rbac_attrs(const struct authz_attrs *a, const char *user,
                                   const char *const *groups);

/* upstream's responsewriters.Forbidden: 403 with rbac_forbidden_message's text (": reason"
 * appended when reason is not empty) and details (name, group, kind = resource). */
void authz_forbidden(const struct rbac_attrs *a, const char *reason, struct ck_err *err);

#endif
