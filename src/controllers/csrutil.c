/* SPDX-License-Identifier: Apache-2.0 */
/* CSR parsing, validation and signing (see csrutil.h). */
#include "controllers/csrutil.h"
#include "lib/base64.h"
#include "lib/buf.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

X509_REQ *csr_parse_pem(const char *pem, size_t len, char *why, size_t whylen)
{
    BIO *b = BIO_new_mem_buf(pem, (int)(len > (size_t)INT32_MAX ? INT32_MAX : len));
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long dlen = 0;
    X509_REQ *req = NULL;

    if (!b || PEM_read_bio(b, &name, &header, &data, &dlen) != 1 ||
        strcmp(name, "CERTIFICATE REQUEST") != 0) {
        snprintf(why, whylen, "PEM block type must be CERTIFICATE REQUEST");
        goto out;
    }
    const unsigned char *p = data;
    req = d2i_X509_REQ(NULL, &p, dlen);
    if (!req || p != data + dlen) {
        X509_REQ_free(req);
        req = NULL;
        snprintf(why, whylen, "x509: malformed certificate request");
    }
out:
    ERR_clear_error();
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    BIO_free(b);
    return req;
}

X509_REQ *csr_parse_obj(const json_t *csr, char *why, size_t whylen)
{
    json_t *r = json_object_get(json_object_get(csr, "spec"), "request");
    size_t n;
    char *pem;

    if (!json_is_string(r) ||
        !(pem = ck_base64_decode(json_string_value(r), json_string_length(r), &n))) {
        snprintf(why, whylen, "spec.request is not base64");
        return NULL;
    }
    X509_REQ *req = csr_parse_pem(pem, n, why, whylen);
    free(pem);
    return req;
}

static char *name_text(const ASN1_STRING *a)
{
    unsigned char *s = NULL;
    int n = ASN1_STRING_to_UTF8(&s, a);
    if (n < 0)
        return ck_strdup("");
    char *out = ck_strndup((const char *)s, (size_t)n);
    OPENSSL_free(s);
    return out;
}

void csr_subject_of(X509_REQ *req, struct csr_subject *s)
{
    X509_NAME *subj = X509_REQ_get_subject_name(req);

    memset(s, 0, sizeof(*s));
    for (int i = 0; subj && i < X509_NAME_entry_count(subj); i++) {
        X509_NAME_ENTRY *e = X509_NAME_get_entry(subj, i);
        int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
        if (nid == NID_commonName) {
            free(s->cn);
            s->cn = name_text(X509_NAME_ENTRY_get_data(e));
        } else if (nid == NID_organizationName) {
            s->orgs = ck_realloc(s->orgs, (s->norgs + 1) * sizeof(*s->orgs));
            s->orgs[s->norgs++] = name_text(X509_NAME_ENTRY_get_data(e));
        }
    }
    if (!s->cn)
        s->cn = ck_strdup("");
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
    GENERAL_NAMES *gens = exts ? X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL) : NULL;
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        s->ndns += g->type == GEN_DNS;
        s->nip += g->type == GEN_IPADD;
        s->nemail += g->type == GEN_EMAIL;
        s->nuri += g->type == GEN_URI;
    }
    GENERAL_NAMES_free(gens);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    ERR_clear_error();
}

void csr_subject_release(struct csr_subject *s)
{
    free(s->cn);
    for (size_t i = 0; i < s->norgs; i++)
        free(s->orgs[i]);
    free(s->orgs);
    memset(s, 0, sizeof(*s));
}

/* The set of usages equals want (NULL-terminated)? Duplicates in usages count once. */
static bool usages_equal(const json_t *usages, const char *const *want)
{
    size_t nw = 0, i;
    json_t *u;

    for (; want[nw]; nw++) {
        bool found = false;
        json_array_foreach(usages, i, u) found |=
            json_is_string(u) && !strcmp(json_string_value(u), want[nw]);
        if (!found)
            return false;
    }
    json_array_foreach(usages, i, u)
    {
        bool known = false;
        for (size_t k = 0; k < nw; k++)
            known |= json_is_string(u) && !strcmp(json_string_value(u), want[k]);
        if (!known)
            return false;
    }
    return true;
}

static bool only_system_nodes(const struct csr_subject *s)
{
    return s->norgs == 1 && !strcmp(s->orgs[0], "system:nodes");
}

int csr_validate_kubelet_client(const struct csr_subject *s, const json_t *usages, char *why,
                                size_t whylen)
{
    static const char *const full[] = {"digital signature", "key encipherment", "client auth",
                                       NULL};
    static const char *const no_rsa[] = {"digital signature", "client auth", NULL};
    const char *e = NULL;

    if (!only_system_nodes(s))
        e = "subject organization is not system:nodes";
    else if (s->ndns)
        e = "DNS subjectAltNames are not allowed";
    else if (s->nemail)
        e = "Email subjectAltNames are not allowed";
    else if (s->nip)
        e = "IP subjectAltNames are not allowed";
    else if (s->nuri)
        e = "URI subjectAltNames are not allowed";
    else if (strncmp(s->cn, "system:node:", 12) != 0)
        e = "subject common name does not begin with system:node:";
    else if (!json_is_array(usages) ||
             (!usages_equal(usages, full) && !usages_equal(usages, no_rsa)))
        e = "usages did not match [client auth digital signature key encipherment]";
    if (!e)
        return 0;
    snprintf(why, whylen, "%s", e);
    return -1;
}

int csr_validate_kubelet_serving(const struct csr_subject *s, const json_t *usages, char *why,
                                 size_t whylen)
{
    static const char *const full[] = {"digital signature", "key encipherment", "server auth",
                                       NULL};
    static const char *const no_rsa[] = {"digital signature", "server auth", NULL};
    const char *e = NULL;

    if (!only_system_nodes(s))
        e = "subject organization is not system:nodes";
    else if (!s->ndns && !s->nip)
        e = "DNS or IP subjectAltName is required";
    else if (s->nemail)
        e = "Email subjectAltNames are not allowed";
    else if (s->nuri)
        e = "URI subjectAltNames are not allowed";
    else if (!json_is_array(usages) ||
             (!usages_equal(usages, full) && !usages_equal(usages, no_rsa)))
        e = "usages did not match [digital signature key encipherment server auth]";
    else if (strncmp(s->cn, "system:node:", 12) != 0)
        e = "subject common name does not begin with system:node:";
    if (!e)
        return 0;
    snprintf(why, whylen, "%s", e);
    return -1;
}

int csr_check_for_signer(const char *signer, X509_REQ *req, const json_t *usages, char *why,
                         size_t whylen)
{
    struct csr_subject s;
    int rc = 0;

    if (!signer ||
        (strcmp(signer, CSR_SIGNER_KUBELET_CLIENT) && strcmp(signer, CSR_SIGNER_KUBELET_SERVING) &&
         strcmp(signer, CSR_SIGNER_APISERVER_CLIENT))) {
        snprintf(why, whylen, "unrecognized signerName: \"%s\"", signer ? signer : "");
        return -1;
    }
    if (!strcmp(signer, CSR_SIGNER_APISERVER_CLIENT)) {
        size_t i;
        json_t *u;
        struct ck_buf b = CK_BUF_INIT(4096);
        bool ok = true;
        json_array_foreach(usages, i, u)
        {
            const char *v = json_is_string(u) ? json_string_value(u) : "";
            ok &= !strcmp(v, "digital signature") || !strcmp(v, "key encipherment") ||
                  !strcmp(v, "client auth");
            ck_buf_appendf(&b, "%s%s", i ? " " : "", v);
        }
        if (!ok)
            snprintf(why, whylen, "invalid usage for client certificate: [%s]",
                     b.data ? b.data : "");
        ck_buf_release(&b);
        return ok ? 0 : -1;
    }
    csr_subject_of(req, &s);
    if (!strcmp(signer, CSR_SIGNER_KUBELET_CLIENT))
        rc = csr_validate_kubelet_client(&s, usages, why, whylen);
    else
        rc = csr_validate_kubelet_serving(&s, usages, why, whylen);
    csr_subject_release(&s);
    return rc;
}

bool csr_has_condition(const json_t *csr, const char *type)
{
    json_t *conds = json_object_get(json_object_get(csr, "status"), "conditions");
    size_t i;
    json_t *c;

    json_array_foreach(conds, i, c)
    {
        const char *t = json_string_value(json_object_get(c, "type"));
        const char *st = json_string_value(json_object_get(c, "status"));
        if (t && !strcmp(t, type) && (!st || !strcmp(st, "True")))
            return true;
    }
    return false;
}

int64_t csr_duration(int64_t cert_ttl_s, const json_t *exp)
{
    if (!json_is_integer(exp))
        return cert_ttl_s;
    int64_t want = json_integer_value(exp);
    if (want > cert_ttl_s)
        return cert_ttl_s;
    return want < 600 ? 600 : want;
}

/* keyUsagesFromStrings: key usage bits and extended key usage NIDs (sorted as Go's enum). */
static int usage_bits(const json_t *usages, int *ku, int eku[16], size_t *neku, char *why,
                      size_t whylen)
{
    static const struct {
        const char *name;
        int ku;  /* KU_* bit, or 0 */
        int nid; /* extended usage, or 0 */
        int go;  /* Go's ExtKeyUsage value, for the order */
    } map[] = {
        {"signing", KU_DIGITAL_SIGNATURE, 0, 0},
        {"digital signature", KU_DIGITAL_SIGNATURE, 0, 0},
        {"content commitment", KU_NON_REPUDIATION, 0, 0},
        {"key encipherment", KU_KEY_ENCIPHERMENT, 0, 0},
        {"key agreement", KU_KEY_AGREEMENT, 0, 0},
        {"data encipherment", KU_DATA_ENCIPHERMENT, 0, 0},
        {"cert sign", KU_KEY_CERT_SIGN, 0, 0},
        {"crl sign", KU_CRL_SIGN, 0, 0},
        {"encipher only", KU_ENCIPHER_ONLY, 0, 0},
        {"decipher only", KU_DECIPHER_ONLY, 0, 0},
        {"any", 0, NID_anyExtendedKeyUsage, 0},
        {"server auth", 0, NID_server_auth, 1},
        {"client auth", 0, NID_client_auth, 2},
        {"code signing", 0, NID_code_sign, 3},
        {"email protection", 0, NID_email_protect, 4},
        {"s/mime", 0, NID_email_protect, 4},
        {"ipsec end system", 0, NID_ipsecEndSystem, 5},
        {"ipsec tunnel", 0, NID_ipsecTunnel, 6},
        {"ipsec user", 0, NID_ipsecUser, 7},
        {"timestamping", 0, NID_time_stamp, 8},
        {"ocsp signing", 0, NID_OCSP_sign, 9},
        {"microsoft sgc", 0, NID_ms_sgc, 10},
        {"netscape sgc", 0, NID_ns_sgc, 11},
    };
    bool seen[12] = {0};
    size_t i;
    json_t *u;

    *ku = 0;
    *neku = 0;
    json_array_foreach(usages, i, u)
    {
        const char *v = json_is_string(u) ? json_string_value(u) : "";
        size_t k = 0;
        while (k < sizeof(map) / sizeof(map[0]) && strcmp(map[k].name, v) != 0)
            k++;
        if (k == sizeof(map) / sizeof(map[0])) {
            snprintf(why, whylen, "unrecognized usage values: [\"%s\"]", v);
            return -1;
        }
        if (map[k].ku)
            *ku |= map[k].ku;
        else
            seen[map[k].go] = true;
    }
    for (int g = 0; g < 12; g++) {
        if (!seen[g])
            continue;
        for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++)
            if (!map[k].ku && map[k].go == g) {
                eku[(*neku)++] = map[k].nid;
                break;
            }
    }
    return 0;
}

static bool add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    if (!e)
        return false;
    bool ok = X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

/* The request's subjectAltName extension copied as it is (DNS, IP, email, URI). */
static bool copy_san(X509_REQ *req, X509 *x)
{
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
    bool ok = true;
    for (int i = 0; exts && i < sk_X509_EXTENSION_num(exts); i++) {
        X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
        if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) == NID_subject_alt_name)
            ok &= X509_add_ext(x, e, -1) == 1;
    }
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return ok;
}

char *csr_sign(X509_REQ *req, X509 *ca, EVP_PKEY *ca_key, const json_t *usages, int64_t ttl_s,
               time_t now, char *why, size_t whylen)
{
    EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
    int ku, eku[16];
    size_t neku;
    X509 *x = NULL;
    BIGNUM *sn = NULL;
    BIO *out = NULL;
    char *pem = NULL;

    if (!pub || X509_REQ_verify(req, pub) != 1) {
        snprintf(why, whylen, "unable to verify certificate request signature");
        goto out;
    }
    if (usage_bits(usages, &ku, eku, &neku, why, whylen) < 0)
        goto out;
    const ASN1_TIME *ca_end = X509_get0_notAfter(ca);
    int day, sec;
    ASN1_TIME *nowt = ASN1_TIME_set(NULL, now);
    if (!nowt || ASN1_TIME_diff(&day, &sec, nowt, ca_end) != 1 || day < 0 || sec < 0 ||
        (day == 0 && sec == 0)) {
        ASN1_TIME_free(nowt);
        snprintf(why, whylen, "refusing to sign a certificate that expired in the past");
        goto out;
    }
    ASN1_TIME_free(nowt);
    int64_t ca_left = (int64_t)day * 86400 + sec;
    /* backdated 5 min; short-lived (< 8 h) certificates keep their full end time */
    int64_t end = ttl_s < 8 * 3600 ? ttl_s : ttl_s - 300;
    if (end > ca_left)
        end = ca_left;
    x = X509_new();
    sn = BN_new();
    if (!x || !sn || !BN_rand(sn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
        !BN_to_ASN1_INTEGER(sn, X509_get_serialNumber(x)) || !X509_set_version(x, 2) ||
        !X509_set_subject_name(x, X509_REQ_get_subject_name(req)) ||
        !X509_set_issuer_name(x, X509_get_subject_name(ca)) || !X509_set_pubkey(x, pub) ||
        !X509_time_adj_ex(X509_getm_notBefore(x), 0, -300, &now) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), (int)(end / 86400), (long)(end % 86400), &now)) {
        snprintf(why, whylen, "failed to sign certificate: building the certificate");
        goto out;
    }
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
    char kus[200] = "critical", ekus[300] = "";
    static const struct {
        int bit;
        const char *name;
    } kn[] = {{KU_DIGITAL_SIGNATURE, "digitalSignature"},
              {KU_NON_REPUDIATION, "nonRepudiation"},
              {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
              {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
              {KU_KEY_AGREEMENT, "keyAgreement"},
              {KU_KEY_CERT_SIGN, "keyCertSign"},
              {KU_CRL_SIGN, "cRLSign"},
              {KU_ENCIPHER_ONLY, "encipherOnly"},
              {KU_DECIPHER_ONLY, "decipherOnly"}};
    for (size_t i = 0; i < sizeof(kn) / sizeof(kn[0]); i++)
        if (ku & kn[i].bit)
            snprintf(kus + strlen(kus), sizeof(kus) - strlen(kus), ",%s", kn[i].name);
    for (size_t i = 0; i < neku; i++)
        snprintf(ekus + strlen(ekus), sizeof(ekus) - strlen(ekus), "%s%s", i ? "," : "",
                 OBJ_nid2sn(eku[i]));
    if ((ku && !add_ext(x, &ctx, NID_key_usage, kus)) ||
        (neku && !add_ext(x, &ctx, NID_ext_key_usage, ekus)) ||
        !add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
        (X509_get0_subject_key_id(ca) &&
         !add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always")) ||
        !copy_san(req, x)) {
        snprintf(why, whylen, "failed to sign certificate: extensions");
        goto out;
    }
    if (!X509_sign(x, ca_key, EVP_sha256()) || !(out = BIO_new(BIO_s_mem())) ||
        PEM_write_bio_X509(out, x) != 1) {
        snprintf(why, whylen, "failed to sign certificate");
        goto out;
    }
    char *data;
    long n = BIO_get_mem_data(out, &data);
    pem = ck_strndup(data, (size_t)n);
out:
    ERR_clear_error();
    BIO_free(out);
    BN_free(sn);
    X509_free(x);
    return pem;
}

int64_t csr_parse_duration(const char *s)
{
    int64_t total = 0;
    bool any = false;

    if (!s || !*s)
        return -1;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || v < 0)
            return -1;
        s = end;
        double mul = 1;
        if (*s == 'h')
            mul = 3600, s++;
        else if (*s == 'm' && s[1] == 's')
            mul = 0.001, s += 2;
        else if (*s == 'm')
            mul = 60, s++;
        else if (*s == 's')
            s++;
        else if (*s || any)
            return -1;
        total += (int64_t)(v * mul);
        any = true;
    }
    return total;
}
