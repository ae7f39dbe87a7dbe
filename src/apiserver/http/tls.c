/* SPDX-License-Identifier: Apache-2.0 */
/* Certificates and the server TLS context. On first start a CA and a serving certificate
 * signed by it are generated into the data dir; later starts reuse them, so kubeconfigs
 * written earlier stay valid. */
#include "apiserver/http/tls.h"
#include "lib/buf.h"
#include "lib/log.h"

#include <h2o.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* issuer/signkey NULL: self-signed CA. Otherwise a serving cert with the given SANs. */
static X509 *make_cert(EVP_PKEY *key, X509 *issuer, EVP_PKEY *signkey, const char *cn,
                       const char *sans, long days)
{
    X509 *x = X509_new();
    X509_NAME *name;
    bool ca = issuer == NULL;

    if (!x || !X509_set_version(x, 2) || set_serial(x) < 0 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), days * 86400L) || !X509_set_pubkey(x, key))
        goto fail;
    name = X509_get_subject_name(x);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_set_issuer_name(x, ca ? name : X509_get_subject_name(issuer)))
        goto fail;
    if (add_ext(x, issuer, NID_subject_key_identifier, "hash") < 0)
        goto fail;
    if (ca) {
        if (add_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
            add_ext(x, NULL, NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign") < 0)
            goto fail;
    } else if (add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
               add_ext(x, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment") < 0 ||
               add_ext(x, issuer, NID_ext_key_usage, "serverAuth") < 0 ||
               add_ext(x, issuer, NID_authority_key_identifier, "keyid:always") < 0 ||
               add_ext(x, issuer, NID_subject_alt_name, sans) < 0) {
        goto fail;
    }
    if (!X509_sign(x, ca ? key : signkey, EVP_sha256()))
        goto fail;
    return x;
fail:
    X509_free(x);
    return NULL;
}

/* Writes PEM through path.tmp + rename; mode 0600 for keys, 0644 for certificates. */
static int write_pem(const char *path, EVP_PKEY *key, X509 *cert, struct ck_err *err)
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

static void build_sans(const char *bind_address, char *out, size_t cap)
{
    char host[256] = "";
    unsigned char abuf[16];
    int n = snprintf(out, cap, "DNS:localhost,IP:127.0.0.1,IP:::1");

    if (gethostname(host, sizeof(host) - 1) == 0 && host[0] && strcmp(host, "localhost"))
        n += snprintf(out + n, cap - (size_t)n, ",DNS:%s", host);
    if (!bind_address || !strcmp(bind_address, "0.0.0.0") || !strcmp(bind_address, "::") ||
        !strcmp(bind_address, "127.0.0.1") || !strcmp(bind_address, "::1"))
        return;
    bool ip = inet_pton(AF_INET, bind_address, abuf) == 1 ||
              inet_pton(AF_INET6, bind_address, abuf) == 1;
    snprintf(out + n, cap - (size_t)n, ",%s:%s", ip ? "IP" : "DNS", bind_address);
}

static bool file_exists(const char *dir, const char *name)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return access(p, R_OK) == 0;
}

static EVP_PKEY *read_key(const char *path)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    return k;
}

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    return x;
}

/* Loads the CA from dir, or creates and writes a new one. */
static int ensure_ca(const char *dir, EVP_PKEY **key, X509 **cert, struct ck_err *err)
{
    char kp[4096], cp[4096];

    snprintf(kp, sizeof(kp), "%s/ca.key", dir);
    snprintf(cp, sizeof(cp), "%s/ca.crt", dir);
    if (file_exists(dir, "ca.key") && file_exists(dir, "ca.crt")) {
        *key = read_key(kp);
        *cert = read_cert(cp);
        if (!*key || !*cert)
            return ssl_err(err, "reading the CA in the data dir");
        return 0;
    }
    if (!(*key = EVP_EC_gen("P-256")))
        return ssl_err(err, "generating the CA key");
    if (!(*cert = make_cert(*key, NULL, NULL, "ckube-ca", NULL, 3650)))
        return ssl_err(err, "creating the CA certificate");
    if (write_pem(kp, *key, NULL, err) < 0 || write_pem(cp, NULL, *cert, err) < 0)
        return -1;
    ck_info("generated a new cluster CA in %s", cp);
    return 0;
}

int tls_ensure_certs(const char *dir, const char *bind_address, struct ck_err *err)
{
    EVP_PKEY *cakey = NULL, *key = NULL;
    X509 *ca = NULL, *cert = NULL;
    char kp[4096], cp[4096], sans[1024];
    int rc = -1;

    if (file_exists(dir, "apiserver.crt") && file_exists(dir, "apiserver.key") &&
        file_exists(dir, "ca.crt"))
        return 0;
    if (ensure_ca(dir, &cakey, &ca, err) < 0)
        goto out;
    build_sans(bind_address, sans, sizeof(sans));
    if (!(key = EVP_EC_gen("P-256"))) {
        ssl_err(err, "generating the serving key");
        goto out;
    }
    if (!(cert = make_cert(key, ca, cakey, "ckube-apiserver", sans, 365))) {
        ssl_err(err, "creating the serving certificate");
        goto out;
    }
    snprintf(kp, sizeof(kp), "%s/apiserver.key", dir);
    snprintf(cp, sizeof(cp), "%s/apiserver.crt", dir);
    if (write_pem(kp, key, NULL, err) < 0 || write_pem(cp, NULL, cert, err) < 0)
        goto out;
    ck_info("generated a serving certificate for %s", sans);
    rc = 0;
out:
    EVP_PKEY_free(cakey);
    EVP_PKEY_free(key);
    X509_free(ca);
    X509_free(cert);
    return rc;
}

SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file, struct ck_err *err)
{
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());

    if (!c) {
        ssl_err(err, "SSL_CTX_new");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    /* Idle connections (watches) must not pin ~34 KiB of read/write record buffers each. */
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
    if (!cert_file || !key_file ||
        SSL_CTX_use_certificate_chain_file(c, cert_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(c, key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(c) != 1) {
        ssl_err(err, "loading the serving certificate");
        ck_err_wrap(err, "%s / %s", cert_file ? cert_file : "(none)",
                    key_file ? key_file : "(none)");
        SSL_CTX_free(c);
        return NULL;
    }
    h2o_ssl_register_alpn_protocols(c, h2o_alpn_protocols);
    return c;
}

char *tls_file_base64(const char *path, struct ck_err *err)
{
    FILE *f = fopen(path, "rb");
    struct ck_buf raw = CK_BUF_INIT(16 << 20);
    char chunk[4096];
    size_t n;

    if (!f) {
        ck_err_sys(err, errno, "open %s", path);
        return NULL;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (ck_buf_append(&raw, chunk, n) < 0)
            break;
    fclose(f);
    char *out = ck_malloc(4 * (raw.len / 3 + 1) + 1);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)(raw.data ? raw.data : ""),
                    (int)raw.len);
    ck_buf_release(&raw);
    return out;
}
