/* SPDX-License-Identifier: Apache-2.0 */
/* CSR helpers of the csrapproving and csrsigning controllers: ParseCSR (PEM type, trailing
 * bytes, garbage), ValidateKubeletClientCSR / ValidateKubeletServingCSR and the
 * kube-apiserver-client usages with upstream's messages, the approval conditions, the
 * certificate duration, and signing (subject, SANs, usages, validity, the CA's signature). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "controllers/csrutil.h"

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

static EVP_PKEY *ec_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    assert_non_null(k);
    return k;
}

/* A PEM CSR for subj ("O=a,CN=b" as pairs) with an optional SAN value ("DNS:x,IP:1.2.3.4"). */
static char *make_csr(EVP_PKEY *k, const char *const *rdn, const char *san)
{
    X509_REQ *r = X509_REQ_new();
    X509_NAME *n = X509_REQ_get_subject_name(r);
    for (size_t i = 0; rdn[i]; i += 2)
        X509_NAME_add_entry_by_txt(n, rdn[i], MBSTRING_UTF8, (const unsigned char *)rdn[i + 1], -1,
                                   -1, 0);
    X509_REQ_set_pubkey(r, k);
    if (san) {
        STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
        sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san));
        X509_REQ_add_extensions(r, exts);
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    }
    assert_true(X509_REQ_sign(r, k, EVP_sha256()) > 0);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_REQ(b, r);
    char *d;
    long len = BIO_get_mem_data(b, &d);
    char *out = strndup(d, (size_t)len);
    BIO_free(b);
    X509_REQ_free(r);
    return out;
}

static json_t *usages(const char *a, const char *b, const char *c)
{
    json_t *u = json_array();
    const char *v[] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (v[i])
            json_array_append_new(u, json_string(v[i]));
    return u;
}

static int validate(const char *kind, const char *const *rdn, const char *san, json_t *u, char *why,
                    size_t n)
{
    EVP_PKEY *k = ec_key();
    char *pem = make_csr(k, rdn, san);
    char w[256];
    X509_REQ *r = csr_parse_pem(pem, strlen(pem), w, sizeof(w));
    assert_non_null(r);
    int rc = csr_check_for_signer(kind, r, u, why, n);
    X509_REQ_free(r);
    free(pem);
    EVP_PKEY_free(k);
    json_decref(u);
    return rc;
}

static void test_parse(void **st)
{
    (void)st;
    char why[256];
    EVP_PKEY *k = ec_key();
    const char *rdn[] = {"CN", "x", NULL};
    char *pem = make_csr(k, rdn, NULL);
    X509_REQ *r = csr_parse_pem(pem, strlen(pem), why, sizeof(why));
    assert_non_null(r);
    X509_REQ_free(r);
    /* a certificate's PEM label */
    char *cert = strdup(pem);
    char *p;
    while ((p = strstr(cert, "CERTIFICATE REQUEST")))
        memcpy(p, "CERTIFICATE        ", 19);
    assert_null(csr_parse_pem(cert, strlen(cert), why, sizeof(why)));
    assert_string_equal(why, "PEM block type must be CERTIFICATE REQUEST");
    assert_null(csr_parse_pem("garbage", 7, why, sizeof(why)));
    assert_null(csr_parse_pem("", 0, why, sizeof(why)));
    const char *junk =
        "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n";
    assert_null(csr_parse_pem(junk, strlen(junk), why, sizeof(why)));
    free(cert);
    free(pem);
    EVP_PKEY_free(k);
}

static void test_kubelet_client(void **st)
{
    (void)st;
    char why[256];
    const char *ok[] = {"O", "system:nodes", "CN", "system:node:n1", NULL};
    const char *two_o[] = {"O", "system:nodes", "O", "x", "CN", "system:node:n1", NULL};
    const char *bad_cn[] = {"O", "system:nodes", "CN", "n1", NULL};
    const char *S = CSR_SIGNER_KUBELET_CLIENT;

    assert_int_equal(validate(S, ok, NULL,
                              usages("digital signature", "key encipherment", "client auth"), why,
                              sizeof(why)),
                     0);
    assert_int_equal(validate(S, ok, NULL,
                              usages("client auth", "digital signature", "client auth"), why,
                              sizeof(why)),
                     0);
    assert_int_equal(validate(S, two_o, NULL, usages("digital signature", "client auth", NULL), why,
                              sizeof(why)),
                     -1);
    assert_string_equal(why, "subject organization is not system:nodes");
    assert_int_equal(validate(S, ok, "DNS:n1", usages("digital signature", "client auth", NULL),
                              why, sizeof(why)),
                     -1);
    assert_string_equal(why, "DNS subjectAltNames are not allowed");
    assert_int_equal(validate(S, ok, "IP:10.0.0.1",
                              usages("digital signature", "client auth", NULL), why, sizeof(why)),
                     -1);
    assert_string_equal(why, "IP subjectAltNames are not allowed");
    assert_int_equal(validate(S, bad_cn, NULL, usages("digital signature", "client auth", NULL),
                              why, sizeof(why)),
                     -1);
    assert_string_equal(why, "subject common name does not begin with system:node:");
    assert_int_equal(validate(S, ok, NULL, usages("client auth", NULL, NULL), why, sizeof(why)),
                     -1);
    assert_string_equal(why,
                        "usages did not match [client auth digital signature key encipherment]");
    assert_int_equal(validate(S, ok, NULL,
                              usages("digital signature", "client auth", "server auth"), why,
                              sizeof(why)),
                     -1);
}

static void test_other_signers(void **st)
{
    (void)st;
    char why[256];
    const char *node[] = {"O", "system:nodes", "CN", "system:node:n1", NULL};
    const char *user[] = {"CN", "alice", NULL};

    assert_int_equal(validate(CSR_SIGNER_KUBELET_SERVING, node, "DNS:n1,IP:10.0.0.1",
                              usages("digital signature", "key encipherment", "server auth"), why,
                              sizeof(why)),
                     0);
    assert_int_equal(validate(CSR_SIGNER_KUBELET_SERVING, node, NULL,
                              usages("digital signature", "server auth", NULL), why, sizeof(why)),
                     -1);
    assert_string_equal(why, "DNS or IP subjectAltName is required");
    assert_int_equal(validate(CSR_SIGNER_KUBELET_SERVING, node, "email:a@b.c,DNS:n1",
                              usages("digital signature", "server auth", NULL), why, sizeof(why)),
                     -1);
    assert_string_equal(why, "Email subjectAltNames are not allowed");
    assert_int_equal(validate(CSR_SIGNER_APISERVER_CLIENT, user, NULL,
                              usages("client auth", NULL, NULL), why, sizeof(why)),
                     0);
    assert_int_equal(validate(CSR_SIGNER_APISERVER_CLIENT, user, NULL,
                              usages("client auth", "server auth", NULL), why, sizeof(why)),
                     -1);
    assert_string_equal(why, "invalid usage for client certificate: [client auth server auth]");
    assert_int_equal(
        validate("example.com/x", user, NULL, usages("client auth", NULL, NULL), why, sizeof(why)),
        -1);
    assert_string_equal(why, "unrecognized signerName: \"example.com/x\"");
}

static void test_conditions_duration(void **st)
{
    (void)st;
    json_t *c =
        json_loads("{\"status\":{\"conditions\":[{\"type\":\"Approved\",\"status\":\"True\"},"
                   "{\"type\":\"Failed\",\"status\":\"False\"}]}}",
                   0, NULL);
    assert_true(csr_has_condition(c, "Approved"));
    assert_false(csr_has_condition(c, "Failed"));
    assert_false(csr_has_condition(c, "Denied"));
    json_decref(c);
    json_t *e = json_integer(3600);
    assert_int_equal(csr_duration(31536000, NULL), 31536000);
    assert_int_equal(csr_duration(31536000, e), 3600);
    assert_int_equal(csr_duration(1800, e), 1800);
    json_decref(e);
    e = json_integer(60);
    assert_int_equal(csr_duration(31536000, e), 600);
    json_decref(e);
    assert_int_equal(csr_parse_duration("8760h"), 31536000);
    assert_int_equal(csr_parse_duration("1h30m"), 5400);
    assert_int_equal(csr_parse_duration("90s"), 90);
    assert_int_equal(csr_parse_duration("120"), 120);
    assert_int_equal(csr_parse_duration("1x"), -1);
    assert_int_equal(csr_parse_duration(""), -1);
}

static X509 *make_ca(EVP_PKEY *k, long days)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                               (const unsigned char *)"test-ca", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), days * 86400);
    X509_set_pubkey(x, k);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    X509_sign(x, k, EVP_sha256());
    return x;
}

static void test_sign(void **st)
{
    (void)st;
    char why[256];
    EVP_PKEY *cak = ec_key(), *k = ec_key();
    X509 *ca = make_ca(cak, 3650);
    const char *rdn[] = {"O", "system:nodes", "CN", "system:node:n1", NULL};
    char *pem = make_csr(k, rdn, "DNS:n1.example,IP:10.1.2.3");
    X509_REQ *r = csr_parse_pem(pem, strlen(pem), why, sizeof(why));
    json_t *u = usages("digital signature", "key encipherment", "server auth");
    time_t now = time(NULL);
    char *crt = csr_sign(r, ca, cak, u, 3600, now, why, sizeof(why));
    assert_non_null(crt);
    BIO *b = BIO_new_mem_buf(crt, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(x);
    assert_int_equal(X509_verify(x, cak), 1);
    assert_int_equal(X509_check_issued(ca, x), X509_V_OK);
    char cn[64];
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
    assert_string_equal(cn, "system:node:n1");
    assert_int_equal(X509_check_host(x, "n1.example", 0, 0, NULL), 1);
    assert_int_equal(X509_check_ip_asc(x, "10.1.2.3", 0), 1);
    assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
    assert_false(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
    assert_true(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
    assert_true(X509_get_key_usage(x) & KU_KEY_ENCIPHERMENT);
    assert_int_equal(X509_check_ca(x), 0);
    int day, sec;
    ASN1_TIME_diff(&day, &sec, X509_get0_notBefore(x), X509_get0_notAfter(x));
    assert_int_equal(day * 86400 + sec, 3600 + 300); /* short-lived: backdated start only */
    X509_free(x);
    free(crt);
    /* long-lived: the end is backdated too; capped at the CA's expiry */
    crt = csr_sign(r, ca, cak, u, 400LL * 86400, now, why, sizeof(why));
    b = BIO_new_mem_buf(crt, -1);
    x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca)) <= 0, 1);
    X509_free(x);
    free(crt);
    json_decref(u);
    /* an unknown usage */
    u = usages("client auth", "flying", NULL);
    assert_null(csr_sign(r, ca, cak, u, 3600, now, why, sizeof(why)));
    assert_string_equal(why, "unrecognized usage values: [\"flying\"]");
    json_decref(u);
    /* an expired signer */
    X509 *old = make_ca(cak, 1);
    u = usages("client auth", NULL, NULL);
    assert_null(csr_sign(r, old, cak, u, 3600, now + 2 * 86400, why, sizeof(why)));
    json_decref(u);
    X509_free(old);
    X509_REQ_free(r);
    free(pem);
    X509_free(ca);
    EVP_PKEY_free(cak);
    EVP_PKEY_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),         cmocka_unit_test(test_kubelet_client),
        cmocka_unit_test(test_other_signers), cmocka_unit_test(test_conditions_duration),
        cmocka_unit_test(test_sign),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
