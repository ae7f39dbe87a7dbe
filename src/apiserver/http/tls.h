/* SPDX-License-Identifier: Apache-2.0 */
/* TLS for the API server: the cluster CA and the certificates it issues (generation in
 * src/lib/certs.c: OpenSSL 3, EC P-256), the server SSL_CTX with ALPN h2 + http/1.1, and small
 * PEM/base64 helpers. */
#ifndef CK_APISERVER_TLS_H
#define CK_APISERVER_TLS_H

#include "lib/err.h"

#include <openssl/ssl.h>
#include <stddef.h>

/* Ensures dir holds ca.crt, ca.key, apiserver.crt, apiserver.key. Existing files are reused
 * as they are; missing ones are generated: a CA (10 years) and a serving certificate (1 year)
 * signed by it with SANs localhost, 127.0.0.1, ::1, the host name and bind_address (skipped
 * when it is a wildcard). Keys are written 0600 through a temp file + rename. */
int tls_ensure_certs(const char *dir, const char *bind_address, struct ck_err *err);

/* The API server's client certificate for kubelets (pods/log, exec, ...): <dir>/kubelet-client.crt
 * and .key, CN kube-apiserver-kubelet-client, O system:masters, signed by the CA in dir
 * (created when missing, as tls_ensure_certs). Existing files are reused. */
#define TLS_KUBELET_CLIENT "kubelet-client"
int tls_ensure_kubelet_client(const char *dir, struct ck_err *err);
/* A serving certificate for the in-process node agent (`ckube server --agent`): <dir>/kubelet.crt
 * and .key signed by the CA in dir, SANs as the API server's plus extra (an IP or DNS name,
 * may be NULL). Existing files are reused. */
#define TLS_KUBELET_SERVING "kubelet"
int tls_ensure_kubelet_serving(const char *dir, const char *extra, struct ck_err *err);

/* Server context from PEM files: TLS >= 1.2, ALPN h2 and http/1.1. NULL + err on failure. */
SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file, struct ck_err *err);

/* Reads a whole file and returns it base64-encoded on one line (malloc'd), or NULL + err. */
char *tls_file_base64(const char *path, struct ck_err *err);

#endif
