/* SPDX-License-Identifier: Apache-2.0 */
/* Certificate generation (see certs.h), OpenSSL 3. */
#include "lib/certs.h"
#include "lib/buf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/banned.h"

static int ssl_err(struct ck_err *err, const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();

    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return ck_err_set(err, CK_R_INTERNAL, "%s: %s", what, e ? buf : "unknown OpenSSL error");
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    if (!(ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)))
        return -1;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

static int set_serial(X509 *x)
{
    BIGNUM *bn = BN_new();
    int rc = -1;

    if (bn && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
        rc = 0;
    BN_free(bn);
    return rc;
}

/* issuer/signkey NULL: self-signed. */
static X509 *make_cert(const struct ck_cert_req *r, EVP_PKEY *key, X509 *issuer, EVP_PKEY *signkey)
{
    X509 *x = X509_new();
    X509_NAME *name;
    bool self = issuer == NULL;
    long days = r->days > 0 ? r->days : 365;

    if (!x || !X509_set_version(x, 2) || set_serial(x) < 0 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), days * 86400L) || !X509_set_pubkey(x, key))
        goto fail;
    name = X509_get_subject_name(x);
    if (r->org && !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                              (const unsigned char *)r->org, -1, -1, 0))
        goto fail;
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)r->cn, -1, -1,
                                    0) ||
        !X509_set_issuer_name(x, self ? name : X509_get_subject_name(issuer)))
        goto fail;
    if (add_ext(x, issuer, NID_subject_key_identifier, "hash") < 0)
        goto fail;
    switch (r->kind) {
    case CK_CERT_CA:
        if (add_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
            add_ext(x, NULL, NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign") < 0)
            goto fail;
        break;
    case CK_CERT_SELF_SERVER:
        if (add_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
            add_ext(x, NULL, NID_key_usage,
                    "critical,digitalSignature,keyEncipherment,keyCertSign") < 0 ||
            add_ext(x, NULL, NID_ext_key_usage, "serverAuth") < 0 ||
            (r->sans && add_ext(x, NULL, NID_subject_alt_name, r->sans) < 0))
            goto fail;
        break;
    case CK_CERT_SERVER:
    case CK_CERT_CLIENT:
        if (add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
            add_ext(x, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment") < 0 ||
            add_ext(x, issuer, NID_ext_key_usage,
                    r->kind == CK_CERT_CLIENT ? "clientAuth" : "serverAuth") < 0 ||
            add_ext(x, issuer, NID_authority_key_identifier, "keyid:always") < 0 ||
            (r->sans && add_ext(x, issuer, NID_subject_alt_name, r->sans) < 0))
            goto fail;
        break;
    }
    if (!X509_sign(x, self ? key : signkey, EVP_sha256()))
        goto fail;
    return x;
fail:
    X509_free(x);
    return NULL;
}

int ck_pem_write(const char *path, EVP_PKEY *key, X509 *cert, struct ck_err *err)
{
    char tmp[4096];
    int fd, ok;
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, key ? 0600 : 0644);
    if (fd < 0)
        return ck_err_sys(err, errno, "create %s", tmp);
    if (!(f = fdopen(fd, "w"))) {
        close(fd);
        return ck_err_sys(err, errno, "fdopen %s", tmp);
    }
    ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, cert);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        ok = 0;
    fclose(f);
    if (!ok || rename(tmp, path) < 0) {
        unlink(tmp);
        return ck_err_set(err, CK_R_IO, "writing %s failed", path);
    }
    return 0;
}

int ck_cert_generate(const struct ck_cert_req *r, const char *ca_cert, const char *ca_key,
                     const char *cert_path, const char *key_path, struct ck_err *err)
{
    bool signed_by_ca = r->kind == CK_CERT_SERVER || r->kind == CK_CERT_CLIENT;
    EVP_PKEY *key = NULL, *cakey = NULL;
    X509 *ca = NULL, *cert = NULL;
    int rc = -1;

    if (signed_by_ca) {
        FILE *f = ca_key ? fopen(ca_key, "r") : NULL;
        cakey = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
        if (f)
            fclose(f);
        f = ca_cert ? fopen(ca_cert, "r") : NULL;
        ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
        if (f)
            fclose(f);
        if (!cakey || !ca) {
            ssl_err(err, "reading the CA");
            ck_err_wrap(err, "%s / %s", ca_cert ? ca_cert : "(none)", ca_key ? ca_key : "(none)");
            goto out;
        }
    }
    if (!(key = EVP_EC_gen("P-256"))) {
        ssl_err(err, "generating a key");
        goto out;
    }
    if (!(cert = make_cert(r, key, ca, cakey))) {
        ssl_err(err, "creating a certificate");
        ck_err_wrap(err, "CN %s", r->cn);
        goto out;
    }
    if (ck_pem_write(key_path, key, NULL, err) < 0 || ck_pem_write(cert_path, NULL, cert, err) < 0)
        goto out;
    rc = 0;
out:
    EVP_PKEY_free(key);
    EVP_PKEY_free(cakey);
    X509_free(ca);
    X509_free(cert);
    return rc;
}

void ck_cert_host_sans(const char *extra, char *out, size_t cap)
{
    char host[256] = "";
    unsigned char abuf[16];
    int n = snprintf(out, cap, "DNS:localhost,IP:127.0.0.1,IP:::1");

    if (gethostname(host, sizeof(host) - 1) == 0 && host[0] && strcmp(host, "localhost"))
        n += snprintf(out + n, cap - (size_t)n, ",DNS:%s", host);
    if (!extra || !*extra || !strcmp(extra, "0.0.0.0") || !strcmp(extra, "::") ||
        !strcmp(extra, "127.0.0.1") || !strcmp(extra, "::1"))
        return;
    bool ip = inet_pton(AF_INET, extra, abuf) == 1 || inet_pton(AF_INET6, extra, abuf) == 1;
    snprintf(out + n, cap - (size_t)n, ",%s:%s", ip ? "IP" : "DNS", extra);
}

/* ---- serving certificate upkeep (apf) -------------------------------------------------- */

/* The certificate's subjectAltNames as "DNS:a,IP:1.2.3.4" entries, one per slot of out. */
static size_t cert_sans(X509 *x, char out[][300], size_t cap)
{
    GENERAL_NAMES *gn = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    size_t n = 0;

    for (int i = 0; gn && i < sk_GENERAL_NAME_num(gn) && n < cap; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gn, i);
        if (g->type == GEN_DNS) {
            snprintf(out[n++], 300, "DNS:%.*s", ASN1_STRING_length(g->d.dNSName),
                     (const char *)ASN1_STRING_get0_data(g->d.dNSName));
        } else if (g->type == GEN_IPADD) {
            char ip[INET6_ADDRSTRLEN] = "";
            int len = ASN1_STRING_length(g->d.iPAddress);
            const unsigned char *b = ASN1_STRING_get0_data(g->d.iPAddress);
            if (len == 4 || len == 16)
                inet_ntop(len == 4 ? AF_INET : AF_INET6, b, ip, sizeof(ip));
            snprintf(out[n++], 300, "IP:%s", ip);
        }
    }
    GENERAL_NAMES_free(gn);
    return n;
}

/* Normalises one "DNS:x" / "IP:y" entry (IPs through inet_pton/ntop, so "::1" and
 * "0:0::1" compare equal). */
static void san_norm(const char *e, size_t len, char *out, size_t cap)
{
    unsigned char b[16];
    char ip[INET6_ADDRSTRLEN], tmp[300];

    snprintf(tmp, sizeof(tmp), "%.*s", (int)len, e);
    if (!strncmp(tmp, "IP:", 3) && inet_pton(AF_INET, tmp + 3, b) == 1)
        snprintf(out, cap, "IP:%s", inet_ntop(AF_INET, b, ip, sizeof(ip)));
    else if (!strncmp(tmp, "IP:", 3) && inet_pton(AF_INET6, tmp + 3, b) == 1)
        snprintf(out, cap, "IP:%s", inet_ntop(AF_INET6, b, ip, sizeof(ip)));
    else
        snprintf(out, cap, "%s", tmp);
}

bool ck_cert_sans_match(X509 *x, const char *want)
{
    char have[64][300], one[300];
    size_t nh = cert_sans(x, have, 64), nw = 0;

    for (size_t i = 0; i < nh; i++) { /* normalise the certificate's side too */
        snprintf(one, sizeof(one), "%s", have[i]);
        san_norm(one, strlen(one), have[i], sizeof(have[i]));
    }
    for (const char *p = want ? want : ""; *p;) {
        size_t len = strcspn(p, ",");
        bool found = false;
        san_norm(p, len, one, sizeof(one));
        for (size_t i = 0; i < nh && !found; i++)
            found = !strcmp(have[i], one);
        if (!found)
            return false;
        nw++;
        p += len;
        if (*p == ',')
            p++;
    }
    return nw == nh; /* nothing more than wanted either */
}

/* Why an existing serving certificate must be reissued, or NULL when it is fine. */
static const char *serving_stale(const struct ck_cert_req *r, const char *ca_cert,
                                 const char *cert_path, const char *key_path, long min_days_left)
{
    FILE *f = fopen(cert_path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    X509 *ca = NULL;
    EVP_PKEY *capub = NULL;
    const char *why = NULL;
    int day = 0, sec = 0;

    if (f)
        fclose(f);
    if (!x || access(key_path, R_OK) != 0) {
        why = "missing or unreadable";
        goto out;
    }
    if ((f = fopen(ca_cert, "r"))) {
        ca = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (!ca || !(capub = X509_get_pubkey(ca)) || X509_verify(x, capub) != 1)
        why = "not signed by the cluster CA";
    else if (!ck_cert_sans_match(x, r->sans))
        why = "its subject alternative names changed";
    else if (!ASN1_TIME_diff(&day, &sec, NULL, X509_get0_notAfter(x)) || day < min_days_left)
        why = "it expires soon";
out:
    ERR_clear_error();
    EVP_PKEY_free(capub);
    X509_free(ca);
    X509_free(x);
    return why;
}

int ck_cert_serving_ensure(const struct ck_cert_req *r, const char *ca_cert, const char *ca_key,
                           const char *cert_path, const char *key_path, long min_days_left,
                           const char **why, struct ck_err *err)
{
    const char *stale = serving_stale(r, ca_cert, cert_path, key_path, min_days_left);

    if (why)
        *why = stale;
    if (!stale)
        return 0;
    return ck_cert_generate(r, ca_cert, ca_key, cert_path, key_path, err);
}
