/* SPDX-License-Identifier: Apache-2.0 */
/* Who is calling, and may they (the transport's side of authn/ and authz/): x509 client
 * certificates verified by the TLS layer, the admin bearer token, bootstrap tokens (their
 * Secret read through the engine), tokens the engine knows (service accounts, the token file),
 * and authorization through the engine's authorizer (Node, RBAC). */
#ifndef CK_APISERVER_HTTP_AUTHN_H
#define CK_APISERVER_HTTP_AUTHN_H

#include "apiserver/http/http_int.h"

/* Makes c request (not require) a client certificate and record whether it verified against
 * the CAs in ca_file. 0, or -1 with err. */
int http_tls_client_auth(SSL_CTX *c, const char *ca_file, struct ck_err *err);

/* Upstream's authenticator union, first match wins: a verified client certificate, then the
 * bearer token (admin token, bootstrap token, then the engine's: service-account JWTs, the
 * token file). Returns 0 with *u filled (owned), 1 for an anonymous health probe (a health
 * route without credentials; *u untouched), or -1 for 401. Without credentials an API or
 * /metrics request runs as system:anonymous (group system:unauthenticated) when the engine
 * authorizes (upstream's --anonymous-auth); authorization then decides. The plain port
 * authenticates everyone as system:admin. path is the decoded path. */
int http_authenticate(struct http_server *s, h2o_req_t *req, const char *path, enum http_route r,
                      struct authn_user *u);

/* Authorization (the engine's api_authorize; everything when the ops have none): true when u
 * may make the request; else err is upstream's 403 Forbidden Status. */
bool http_authorize(struct http_server *s, const struct authn_user *u, h2o_req_t *req,
                    const char *path, int midx, struct ck_err *err);

/* authn_may_impersonate_fn by the engine's authorizer (arg: the http_server). */
bool http_may_impersonate_rbac(void *arg, const struct authn_user *who,
                               const struct authn_imp_req *what, char *reason, size_t reasonlen);

#endif
