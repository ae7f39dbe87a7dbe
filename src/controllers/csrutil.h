/* SPDX-License-Identifier: Apache-2.0 */
/* CertificateSigningRequest helpers shared by the csrapproving and csrsigning controllers
 * (upstream's pkg/apis/certificates helpers, pkg/controller/certificates/authority):
 * parsing spec.request, the kubelet client / kubelet serving / kube-apiserver-client checks,
 * the approval conditions, and signing with the cluster CA (OpenSSL). */
#ifndef CK_CONTROLLERS_CSRUTIL_H
#define CK_CONTROLLERS_CSRUTIL_H

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CSR_SIGNER_KUBELET_CLIENT "kubernetes.io/kube-apiserver-client-kubelet"
#define CSR_SIGNER_APISERVER_CLIENT "kubernetes.io/kube-apiserver-client"
#define CSR_SIGNER_KUBELET_SERVING "kubernetes.io/kubelet-serving"

/* ParseCSR: the first PEM block of pem[0..len) must be a "CERTIFICATE REQUEST" holding
 * exactly one DER certificate request. NULL with why filled otherwise. */
X509_REQ *csr_parse_pem(const char *pem, size_t len, char *why, size_t whylen);
/* spec.request (base64 of the PEM) of a CSR object, parsed as csr_parse_pem. */
X509_REQ *csr_parse_obj(const json_t *csr, char *why, size_t whylen);

/* What the checks look at in a request. */
struct csr_subject {
    char *cn;    /* the last CN, "" when none */
    char **orgs; /* every O in order */
    size_t norgs;
    size_t ndns, nip, nemail, nuri; /* subjectAltName entries by type */
};
void csr_subject_of(X509_REQ *req, struct csr_subject *s);
void csr_subject_release(struct csr_subject *s);

/* ValidateKubeletClientCSR / ValidateKubeletServingCSR on spec.usages (a JSON array):
 * 0, or -1 with upstream's error text in why. */
int csr_validate_kubelet_client(const struct csr_subject *s, const json_t *usages, char *why,
                                size_t whylen);
int csr_validate_kubelet_serving(const struct csr_subject *s, const json_t *usages, char *why,
                                 size_t whylen);
/* The signer's isRequestForSigner for signer_name: 0, or -1 with why (also for a signer
 * this controller does not serve: "unrecognized signerName"). */
int csr_check_for_signer(const char *signer_name, X509_REQ *req, const json_t *usages, char *why,
                         size_t whylen);

/* status.conditions: a True condition of type (Approved, Denied, Failed)? */
bool csr_has_condition(const json_t *csr, const char *type);

/* The certificate's lifetime: cert_ttl_s, or spec.expirationSeconds (may be NULL) when
 * shorter, but never under 600 s (upstream's duration()). */
int64_t csr_duration(int64_t cert_ttl_s, const json_t *expiration_seconds);

/* Signs req with the CA (PermissiveSigningPolicy): subject and SANs from the request, key
 * usages and extended key usages from usages, CA:FALSE, not before now - 5 min, not after
 * now + ttl_s (- 5 min when ttl_s >= 8 h) capped at the CA's own expiry. Returns the PEM
 * certificate (malloc'd), or NULL with why (bad request signature, unrecognized usage, expired
 * signer). */
char *csr_sign(X509_REQ *req, X509 *ca, EVP_PKEY *ca_key, const json_t *usages, int64_t ttl_s,
               time_t now, char *why, size_t whylen);

/* A Go duration ("8760h", "1h30m", "90s") or plain seconds, in seconds; -1 when malformed. */
int64_t csr_parse_duration(const char *s);

#endif
