/* SPDX-License-Identifier: Apache-2.0 */
/* X.509 helpers shared by the API server (cluster CA, serving and kubelet-client certificates)
 * and the node agent (its serving certificate): EC P-256 keys, certificates signed by a CA on
 * disk or self-signed, PEM files written 0600 (keys) / 0644 through a temp file + rename. */
#ifndef CK_LIB_CERTS_H
#define CK_LIB_CERTS_H

#include "lib/err.h"

#include <openssl/types.h>

#include <stdbool.h>
#include <stddef.h>

enum ck_cert_kind {
    CK_CERT_CA,          /* CA:TRUE, keyCertSign (always self-signed) */
    CK_CERT_SERVER,      /* serverAuth, with SANs */
    CK_CERT_CLIENT,      /* clientAuth */
    CK_CERT_SELF_SERVER, /* self-signed serving certificate (upstream kubelet without certs:
                            CA:TRUE, serverAuth, SANs) */
};

struct ck_cert_req {
    enum ck_cert_kind kind;
    const char *cn;
    const char *org;  /* subject O, or NULL */
    const char *sans; /* "DNS:a,IP:1.2.3.4" (server kinds), or NULL */
    long days;        /* 0: 365 */
};

/* Writes key (PEM, mode 0600) or, when key is NULL, cert (PEM, 0644) to path atomically (a
 * temporary file, fsync, rename). 0, or -1 with err. */
int ck_pem_write(const char *path, EVP_PKEY *key, X509 *cert, struct ck_err *err);

/* Generates a key and a certificate for r and writes them to cert_path / key_path. The
 * certificate is signed by the CA in ca_cert / ca_key (PEM paths) for CK_CERT_SERVER and
 * CK_CERT_CLIENT, self-signed for the other kinds. 0, or -1 with err. */
int ck_cert_generate(const struct ck_cert_req *r, const char *ca_cert, const char *ca_key,
                     const char *cert_path, const char *key_path, struct ck_err *err);

/* "DNS:localhost,IP:127.0.0.1,IP:::1[,DNS:<hostname>][,IP:<extra>|DNS:<extra>]" into out;
 * extra (may be NULL) is skipped when it is a wildcard or loopback address. */
void ck_cert_host_sans(const char *extra, char *out, size_t cap);

/* apf: true when certificate x has exactly the subjectAltNames in want ("DNS:a,IP:b", any
 * order; IP spellings normalised). */
bool ck_cert_sans_match(X509 *x, const char *want);

/* Keeps a CA-signed serving certificate current: reissues cert_path / key_path from the CA
 * (the CA itself is kept) when they are missing, not signed by that CA, their SANs differ
 * from r->sans, or fewer than min_days_left days remain. *why (may be NULL) gets the reason
 * it was reissued, or NULL when the files were kept. 0, or -1 with err. */
int ck_cert_serving_ensure(const struct ck_cert_req *r, const char *ca_cert, const char *ca_key,
                           const char *cert_path, const char *key_path, long min_days_left,
                           const char **why, struct ck_err *err);

#endif
