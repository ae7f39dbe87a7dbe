/* SPDX-License-Identifier: Apache-2.0 */
/* Certificates and the server TLS context. On first start a CA and a serving certificate
 * signed by it are generated into the data dir; later starts reuse them, so kubeconfigs
 * written earlier stay valid. */
#include "apiserver/http/tls.h"
#include "lib/buf.h"
#include "lib/certs.h"
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

static bool file_exists(const char *dir, const char *name)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return access(p, R_OK) == 0;
}

/* Creates ca.crt / ca.key in dir unless both are there. */
static int ensure_ca(const char *dir, struct ck_err *err)
{
    char kp[4096], cp[4096];

    if (file_exists(dir, "ca.key") && file_exists(dir, "ca.crt"))
        return 0;
    snprintf(kp, sizeof(kp), "%s/ca.key", dir);
    snprintf(cp, sizeof(cp), "%s/ca.crt", dir);
    struct ck_cert_req r = {.kind = CK_CERT_CA, .cn = "ckube-ca", .days = 3650};
    if (ck_cert_generate(&r, NULL, NULL, cp, kp, err) < 0)
        return ck_err_wrap(err, "creating the cluster CA");
    ck_info("generated a new cluster CA in %s", cp);
    return 0;
}

/* Issues <name>.crt / <name>.key in dir from the CA in dir unless both exist. */
static int ensure_issued(const char *dir, const char *name, const struct ck_cert_req *r,
                         struct ck_err *err)
{
    char kp[4096], cp[4096], cac[4096], cak[4096], crt[300], key[300];

    snprintf(crt, sizeof(crt), "%s.crt", name);
    snprintf(key, sizeof(key), "%s.key", name);
    if (file_exists(dir, crt) && file_exists(dir, key))
        return 0;
    if (ensure_ca(dir, err) < 0)
        return -1;
    snprintf(kp, sizeof(kp), "%s/%s", dir, key);
    snprintf(cp, sizeof(cp), "%s/%s", dir, crt);
    snprintf(cac, sizeof(cac), "%s/ca.crt", dir);
    snprintf(cak, sizeof(cak), "%s/ca.key", dir);
    if (ck_cert_generate(r, cac, cak, cp, kp, err) < 0)
        return -1;
    ck_info("generated %s (CN %s%s%s)", cp, r->cn, r->sans ? ", " : "", r->sans ? r->sans : "");
    return 0;
}

int tls_ensure_certs(const char *dir, const char *bind_address, struct ck_err *err)
{
    char sans[1024];

    if (file_exists(dir, "apiserver.crt") && file_exists(dir, "apiserver.key") &&
        file_exists(dir, "ca.crt"))
        return 0;
    ck_cert_host_sans(bind_address, sans, sizeof(sans));
    struct ck_cert_req r = {.kind = CK_CERT_SERVER, .cn = "ckube-apiserver", .sans = sans};
    char kp[4096];
    snprintf(kp, sizeof(kp), "%s/apiserver.key", dir);
    unlink(kp); /* reissue both when one is missing */
    return ensure_issued(dir, "apiserver", &r, err);
}

int tls_ensure_kubelet_client(const char *dir, struct ck_err *err)
{
    struct ck_cert_req r = {
        .kind = CK_CERT_CLIENT, .cn = "kube-apiserver-kubelet-client", .org = "system:masters"};
    return ensure_issued(dir, TLS_KUBELET_CLIENT, &r, err);
}

int tls_ensure_kubelet_serving(const char *dir, const char *extra, struct ck_err *err)
{
    char sans[1024], host[256] = "ckube-node";

    ck_cert_host_sans(extra, sans, sizeof(sans));
    gethostname(host, sizeof(host) - 1);
    struct ck_cert_req r = {.kind = CK_CERT_SERVER, .cn = host, .sans = sans};
    return ensure_issued(dir, TLS_KUBELET_SERVING, &r, err);
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
    if (!cert_file || !key_file || SSL_CTX_use_certificate_chain_file(c, cert_file) != 1 ||
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
