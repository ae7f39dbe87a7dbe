/* SPDX-License-Identifier: Apache-2.0 */
/* Who is calling, and may they (the transport's side of authn/ and authz/): x509 client
 * certificates verified by the TLS layer, the admin bearer token, bootstrap tokens (their
 * Secret read through the engine), and the authorization stopgap. */
#ifndef CK_APISERVER_HTTP_AUTHN_H
#define CK_APISERVER_HTTP_AUTHN_H

#include "apiserver/http/http_int.h"

/* Makes c request (not require) a client certificate and record whether it verified against
 * the CAs in ca_file. 0, or -1 with err. */
int http_tls_client_auth(SSL_CTX *c, const char *ca_file, struct ck_err *err);

/* Upstream's authenticator union, first match wins: a verified client certificate, then the
 * bearer token (admin token, then bootstrap token). Returns 0 with *u filled (owned), 1 for
 * an anonymous health probe (a health route without credentials; *u untouched), or -1 for
 * 401. Without credentials only GET kube-public/configmaps/cluster-info authenticates, as
 * system:anonymous (kubeadm's discovery; the rest of anonymous access is issue 17). The
 * plain port authenticates everyone as system:admin. path is the decoded path. */
int http_authenticate(struct http_server *s, h2o_req_t *req, const char *path, enum http_route r,
                      struct authn_user *u);

/* The authorization stopgap (authz/): true when u may make the request; else err is the
 * 403 Forbidden Status. */
bool http_authorize(const struct authn_user *u, h2o_req_t *req, const char *path, int midx,
                    struct ck_err *err);

#endif
