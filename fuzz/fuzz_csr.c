/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the CSR controllers' parsing entry (controllers/csrutil.c): the input
 * is parsed as spec.request's PEM, and also as the DER inside a "CERTIFICATE REQUEST" PEM
 * block; a request that parses goes through the subject reader, every signer's checks and
 * (kube-apiserver-client) signing with a fixed test CA. Checks: no crash, no leak; a refusal
 * always says why; a signed certificate is PEM. */
#include "controllers/csrutil.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static X509 *ca;
static EVP_PKEY *ca_key;

static void init_ca(void)
{
    ca_key = EVP_EC_gen("P-256");
    ca = X509_new();
    X509_set_version(ca, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(ca), 1);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(ca), "CN", MBSTRING_UTF8,
                               (const unsigned char *)"fuzz-ca", -1, -1, 0);
    X509_set_issuer_name(ca, X509_get_subject_name(ca));
    X509_gmtime_adj(X509_getm_notBefore(ca), 0);
    X509_gmtime_adj(X509_getm_notAfter(ca), 86400L * 3650);
    X509_set_pubkey(ca, ca_key);
    X509_sign(ca, ca_key, EVP_sha256());
}

static void exercise(X509_REQ *req)
{
    static const char *const signers[] = {CSR_SIGNER_KUBELET_CLIENT, CSR_SIGNER_KUBELET_SERVING,
                                          CSR_SIGNER_APISERVER_CLIENT};
    json_t *u = json_pack("[s,s,s]", "digital signature", "key encipherment", "client auth");
    char why[512];
    struct csr_subject s;

    csr_subject_of(req, &s);
    if (!s.cn)
        abort();
    csr_subject_release(&s);
    for (size_t i = 0; i < 3; i++) {
        why[0] = '\0';
        if (csr_check_for_signer(signers[i], req, u, why, sizeof(why)) < 0 && !why[0])
            abort();
    }
    why[0] = '\0';
    char *pem = csr_sign(req, ca, ca_key, u, 3600, time(NULL), why, sizeof(why));
    if (pem ? strncmp(pem, "-----BEGIN CERTIFICATE-----", 27) != 0 : !why[0])
        abort();
    free(pem);
    json_decref(u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[512];
    X509_REQ *req;

    if (size > 64 * 1024)
        return 0;
    if (!ca)
        init_ca();
    why[0] = '\0';
    if ((req = csr_parse_pem((const char *)data, size, why, sizeof(why)))) {
        exercise(req);
        X509_REQ_free(req);
    } else if (!why[0]) {
        abort();
    }
    /* the bytes as DER */
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio(b, "CERTIFICATE REQUEST", "", data, (long)size);
    char *pem;
    long n = BIO_get_mem_data(b, &pem);
    why[0] = '\0';
    if ((req = csr_parse_pem(pem, (size_t)n, why, sizeof(why)))) {
        exercise(req);
        X509_REQ_free(req);
    } else if (!why[0]) {
        abort();
    }
    BIO_free(b);
    return 0;
}
