/* SPDX-License-Identifier: Apache-2.0 */
/* Joining a cluster with a bootstrap token (`ckube agent --server URL --token ID.SECRET
 * [--ca-cert-hash sha256:HEX]`), kubeadm's token discovery and the kubelet's TLS bootstrap:
 * 1. the CA: kube-public/cluster-info read without verifying the server, its kubeconfig
 *    checked against the JWS signature made with the token (jws-kubeconfig-<id>) and its CA
 *    against --ca-cert-hash (sha256 of the CA's SubjectPublicKeyInfo), then read again over
 *    TLS verified with that CA, as kubeadm does; without that ConfigMap the CA is the
 *    certificate of the server's TLS chain that matches --ca-cert-hash;
 * 2. an EC P-256 key and a CSR (CN system:node:<node>, O system:nodes) to
 *    certificates.k8s.io with signerName kubernetes.io/kube-apiserver-client-kubelet and
 *    usages digital signature + client auth, made with the bootstrap token;
 * 3. once status.certificate is set (bounded wait; Denied or Failed end it):
 *    <root>/pki/kubelet-client.{crt,key}, <root>/pki/kubelet-client-current.pem (both, the
 *    file the kubeconfig names), <root>/pki/ca.crt and <root>/kubelet.conf.
 * A restart reuses a certificate that is still valid. A thread renews it when 70-90 % of its
 * lifetime has passed (upstream's certificate manager jitter), with a CSR made with the
 * current certificate; the client reads the files on every new connection, so the rename of
 * the new file is the reload. */
#include "agent/agent_int.h"
#include "agent/join.h"
#include "k8s/util.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "lib/yamljson.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/banned.h"

#define SEC 1000000000LL
#define SIGNER "kubernetes.io/kube-apiserver-client-kubelet"
#define CSR_WAIT_S 300

/* ---- small helpers ------------------------------------------------------------------------ */

static char *node_name_of(const struct agent_opts *o)
{
    if (o->node_name && *o->node_name)
        return ck_strdup(o->node_name);
    char h[256];
    if (gethostname(h, sizeof(h)) != 0)
        snprintf(h, sizeof(h), "localhost");
    h[sizeof(h) - 1] = 0;
    for (char *c = h; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return ck_strdup(h);
}

static int write_atomic(const char *path, const char *data, size_t len, mode_t mode,
                        struct ck_err *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return ck_err_sys(err, errno, "create %s", tmp);
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return ck_err_sys(err, e, "write %s", tmp);
        }
        off += (size_t)n;
    }
    if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return ck_err_sys(err, e, "write %s", path);
    }
    return 0;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    struct ck_buf b = CK_BUF_INIT(1u << 22);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (ck_buf_append(&b, chunk, n) < 0)
            break;
    fclose(f);
    return ck_buf_detach(&b, NULL);
}

static char *b64url(const void *data, size_t len)
{
    char *out = ck_malloc(4 * ((len + 2) / 3) + 1);
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = 0;
    for (char *c = out; *c; c++)
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    return out;
}

static char *b64std(const void *data, size_t len)
{
    char *out = ck_malloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

/* "sha256:<hex>" of the certificate's SubjectPublicKeyInfo (kubeadm's pin). */
static void spki_hash(X509 *x, char out[80])
{
    unsigned char *der = NULL, md[32];
    int n = i2d_PUBKEY(X509_get0_pubkey(x), &der);
    unsigned int mdlen = 0;
    out[0] = 0;
    if (n <= 0)
        return;
    EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
    OPENSSL_free(der);
    int k = snprintf(out, 80, "sha256:");
    for (unsigned i = 0; i < mdlen && k < 78; i++)
        k += snprintf(out + k, (size_t)(80 - k), "%02x", md[i]);
}

static X509 *pem_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return x;
}

static char *cert_pem(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (b && PEM_write_bio_X509(b, x) == 1) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        out = ck_malloc((size_t)n + 1);
        memcpy(out, p, (size_t)n);
        out[n] = 0;
    }
    BIO_free(b);
    return out;
}

static bool pin_matches(X509 *x, const char *pin)
{
    char h[80];
    spki_hash(x, h);
    return *h && !strcasecmp(h, pin);
}

/* ---- discovery ---------------------------------------------------------------------------- */

static struct ck_client *client_for(const char *server, const char *ca_pem, const char *token,
                                    bool insecure, struct ck_err *err)
{
    struct ck_client_config cfg = {.server = (char *)server,
                                   .ca_data = (char *)ca_pem,
                                   .token = (char *)token,
                                   .insecure = insecure,
                                   .timeout_ms = 15000};
    struct ck_client *c = NULL;
    if (ck_client_new(&cfg, &c, err) < 0)
        return NULL;
    return c;
}

/* The cluster-info ConfigMap's kubeconfig string (malloc'd), with its JWS signature for id
 * in *jws (malloc'd or NULL); NULL with CK_R_NOT_FOUND when there is none. */
static char *cluster_info(struct ck_client *c, const char *id, char **jws, struct ck_err *err)
{
    json_t *cm = NULL;
    if (ck_client_get_json(c, "/api/v1/namespaces/kube-public/configmaps/cluster-info", &cm, err) <
        0)
        return NULL;
    const json_t *data = json_object_get(cm, "data");
    const char *kc = json_string_value(json_object_get(data, "kubeconfig"));
    char key[64];
    snprintf(key, sizeof(key), "jws-kubeconfig-%s", id);
    const char *sig = json_string_value(json_object_get(data, key));
    char *out = kc ? ck_strdup(kc) : NULL;
    if (jws)
        *jws = sig ? ck_strdup(sig) : NULL;
    json_decref(cm);
    if (!out)
        ck_err_set(err, CK_R_BAD_REQUEST, "the cluster-info ConfigMap has no kubeconfig key");
    return out;
}

/* kubeadm's detached JWS check: "<b64url header>..<b64url HMAC-SHA256>" over
 * "<header>.<b64url(content)>" with the token secret as the key. */
static bool jws_valid(const char *jws, const char *content, const char *secret)
{
    const char *dots = strstr(jws, "..");
    if (!dots || dots == jws)
        return false;
    char *payload = b64url(content, strlen(content));
    char *input = ck_asprintf("%.*s.%s", (int)(dots - jws), jws, payload);
    unsigned char mac[32];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)input, strlen(input),
         mac, &maclen);
    char *want = b64url(mac, maclen);
    bool ok = strlen(want) == strlen(dots + 2) && CRYPTO_memcmp(want, dots + 2, strlen(want)) == 0;
    free(payload);
    free(input);
    free(want);
    return ok;
}

/* The CA PEM in a kubeconfig's first cluster (malloc'd), or NULL. */
static char *kubeconfig_ca(const char *kc, struct ck_err *err)
{
    json_t *doc = NULL;
    if (yaml_to_json(kc, strlen(kc), &doc, err) < 0)
        return NULL;
    const char *b64 = k8s_jpath_str(json_array_get(json_object_get(doc, "clusters"), 0),
                                    "cluster.certificate-authority-data");
    size_t n = 0;
    char *pem = *b64 ? ck_base64_decode(b64, strlen(b64), &n) : NULL;
    json_decref(doc);
    if (!pem)
        ck_err_set(err, CK_R_BAD_REQUEST,
                   "the cluster-info kubeconfig has no certificate-authority-data");
    return pem;
}

/* host and port of an https URL into out ("host:port"). */
static int url_hostport(const char *url, char *out, size_t cap)
{
    if (strncmp(url, "https://", 8))
        return -1;
    const char *h = url + 8;
    size_t n = strcspn(h, "/");
    if (!n || n >= cap)
        return -1;
    memcpy(out, h, n);
    out[n] = 0;
    if (!strchr(out, ':') || out[0] == '[') { /* no port (or an IPv6 literal without one) */
        size_t len = strlen(out);
        if (len + 5 >= cap)
            return -1;
        if (!strstr(out, "]:"))
            snprintf(out + len, cap - len, ":443");
    }
    return 0;
}

/* The fallback without cluster-info: the certificate of the server's TLS chain matching pin. */
static char *ca_from_tls_chain(const char *server, const char *pin, struct ck_err *err)
{
    char hp[300];
    if (url_hostport(server, hp, sizeof(hp)) < 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "--server %s: an https:// URL expected", server),
               NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    BIO *b = ctx ? BIO_new_ssl_connect(ctx) : NULL;
    SSL *ssl = NULL;
    char *out = NULL;
    if (!b) {
        ck_err_set(err, CK_R_INTERNAL, "TLS setup failed");
        goto done;
    }
    BIO_get_ssl(b, &ssl);
    BIO_set_conn_hostname(b, hp);
    if (BIO_do_connect(b) <= 0 || BIO_do_handshake(b) <= 0) {
        ck_err_set(err, CK_R_SERVICE_UNAVAILABLE, "TLS connection to %s failed", hp);
        goto done;
    }
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    for (int i = 0; chain && i < sk_X509_num(chain) && !out; i++)
        if (pin_matches(sk_X509_value(chain, i), pin))
            out = cert_pem(sk_X509_value(chain, i));
    if (!out)
        ck_err_set(err, CK_R_FORBIDDEN,
                   "no certificate of %s's TLS chain matches --ca-cert-hash %s (and there is no "
                   "kube-public/cluster-info ConfigMap)",
                   hp, pin);
done:
    BIO_free_all(b);
    SSL_CTX_free(ctx);
    return out;
}

char *ag_join_verify_cluster_info(const char *kubeconfig, const char *jws, const char *id,
                                  const char *secret, const char *pin, struct ck_err *err)
{
    if (!jws)
        return ck_err_set(err, CK_R_FORBIDDEN,
                          "there is no JWS signed token in the cluster-info ConfigMap. This "
                          "token id %s is invalid for this cluster, can't connect",
                          id),
               NULL;
    if (!jws_valid(jws, kubeconfig, secret))
        return ck_err_set(err, CK_R_FORBIDDEN,
                          "failed to verify JWS signature of received cluster info object, "
                          "can't trust this API Server"),
               NULL;
    char *ca = kubeconfig_ca(kubeconfig, err);
    if (!ca)
        return NULL;
    X509 *x = pem_cert(ca);
    if (!x || (pin && !pin_matches(x, pin))) {
        char h[80] = "";
        if (x)
            spki_hash(x, h);
        ck_err_set(err, CK_R_FORBIDDEN,
                   "cluster CA found in cluster-info ConfigMap is invalid: none of the public "
                   "keys \"%s\" are pinned",
                   h);
        X509_free(x);
        free(ca);
        return NULL;
    }
    X509_free(x);
    return ca;
}

/* The cluster CA (PEM, malloc'd) of server, authenticated by the token and/or the pin. */
static char *discover_ca(const struct agent_opts *o, const char *id, const char *secret,
                         struct ck_err *err)
{
    const char *pin = o->join_ca_hash && *o->join_ca_hash ? o->join_ca_hash : NULL;
    struct ck_client *anon = client_for(o->join_server, NULL, NULL, true, err);
    if (!anon)
        return NULL;
    char *jws = NULL, *kc = cluster_info(anon, id, &jws, err), *ca = NULL;
    ck_client_free(anon);
    if (!kc) {
        if (err->reason != CK_R_NOT_FOUND && err->reason != CK_R_FORBIDDEN &&
            err->reason != CK_R_UNAUTHORIZED)
            return NULL;
        ck_info("join: no cluster-info ConfigMap (%s): the CA from the server's TLS chain",
                err->msg);
        ck_err_clear(err);
        if (!pin)
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "without a cluster-info ConfigMap the CA can only be found with "
                              "--ca-cert-hash"),
                   NULL;
        return ca_from_tls_chain(o->join_server, pin, err);
    }
    if (!(ca = ag_join_verify_cluster_info(kc, jws, id, secret, pin, err)))
        goto out;
    if (!pin)
        ck_warn("join: no --ca-cert-hash: the CA is trusted on the token's signature alone");
    /* kubeadm: read it again over TLS checked with that CA; it must be the same */
    struct ck_client *tls = client_for(o->join_server, ca, NULL, false, err);
    char *again = tls ? cluster_info(tls, id, NULL, err) : NULL;
    ck_client_free(tls);
    if (!again || strcmp(again, kc)) {
        if (again)
            ck_err_set(err, CK_R_FORBIDDEN,
                       "cluster-info changed between the insecure and the secure read");
        else
            ck_err_wrap(err, "reading cluster-info with the discovered CA");
        free(ca);
        ca = NULL;
    }
    free(again);
out:
    free(kc);
    free(jws);
    return ca;
}

/* ---- the CSR ------------------------------------------------------------------------------ */

/* A new EC P-256 key and a CSR for node; both PEM (malloc'd). */
static int make_csr(const char *node, char **key_pem, char **csr_pem, struct ck_err *err)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509_REQ *req = X509_REQ_new();
    X509_NAME *nm = X509_NAME_new();
    BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
    char cn[300];
    snprintf(cn, sizeof(cn), "system:node:%s", node);
    int rc = -1;
    if (!k || !req || !nm || !kb || !cb ||
        !X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8, (const unsigned char *)"system:nodes",
                                    -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_REQ_set_subject_name(req, nm) || !X509_REQ_set_pubkey(req, k) ||
        !X509_REQ_sign(req, k, EVP_sha256()) ||
        !PEM_write_bio_PrivateKey(kb, k, NULL, NULL, 0, NULL, NULL) ||
        !PEM_write_bio_X509_REQ(cb, req)) {
        ck_err_set(err, CK_R_INTERNAL, "generating the key and CSR failed");
        goto out;
    }
    char *p;
    long n = BIO_get_mem_data(kb, &p);
    *key_pem = ck_malloc((size_t)n + 1);
    memcpy(*key_pem, p, (size_t)n);
    (*key_pem)[n] = 0;
    n = BIO_get_mem_data(cb, &p);
    *csr_pem = ck_malloc((size_t)n + 1);
    memcpy(*csr_pem, p, (size_t)n);
    (*csr_pem)[n] = 0;
    rc = 0;
out:
    BIO_free(kb);
    BIO_free(cb);
    X509_NAME_free(nm);
    X509_REQ_free(req);
    EVP_PKEY_free(k);
    return rc;
}

/* Posts the CSR and waits (bounded, or until *stop) for its certificate (PEM, malloc'd). */
static char *request_cert(struct ck_client *c, const char *node, const char *csr_pem,
                          volatile int *stop, struct ck_err *err)
{
    char *req64 = b64std(csr_pem, strlen(csr_pem));
    char gen[300];
    snprintf(gen, sizeof(gen), "node-csr-%.40s-", node);
    json_t *obj = json_pack("{s:s,s:s,s:{s:s},s:{s:s,s:s,s:[s,s]}}", "apiVersion",
                            "certificates.k8s.io/v1", "kind", "CertificateSigningRequest",
                            "metadata", "generateName", gen, "spec", "request", req64, "signerName",
                            SIGNER, "usages", "digital signature", "client auth");
    free(req64);
    json_t *made = NULL;
    int rc = ck_client_create_json(c, "/apis/certificates.k8s.io/v1/certificatesigningrequests",
                                   obj, &made, err);
    json_decref(obj);
    if (rc < 0) {
        ck_err_wrap(err, "creating the CertificateSigningRequest");
        return NULL;
    }
    char *path = ck_asprintf("/apis/certificates.k8s.io/v1/certificatesigningrequests/%s",
                             k8s_jpath_str(made, "metadata.name"));
    ck_info("join: CertificateSigningRequest %s created; waiting for its certificate",
            k8s_jpath_str(made, "metadata.name"));
    json_decref(made);
    char *cert = NULL;
    int64_t until = ck_mono_ns() + CSR_WAIT_S * SEC;
    while (!cert && !(stop && *stop) && ck_mono_ns() < until) {
        json_t *cur = NULL;
        struct ck_err e = CK_ERR_INIT;
        if (ck_client_get_json(c, path, &cur, &e) < 0) {
            ck_v(1, "join: %s: %s", path, e.msg);
            ck_err_clear(&e);
            usleep(500000);
            continue;
        }
        size_t i;
        json_t *cond;
        json_array_foreach(k8s_jpath(cur, "status.conditions"), i, cond)
        {
            const char *t = k8s_jstr(cond, "type");
            if ((!strcmp(t, "Denied") || !strcmp(t, "Failed")) &&
                strcmp(k8s_jstr(cond, "status"), "False")) {
                ck_err_set(err, CK_R_FORBIDDEN, "certificate request %s: %s: %s", path, t,
                           k8s_jstr(cond, "message"));
                json_decref(cur);
                free(path);
                return NULL;
            }
        }
        const char *b64 = k8s_jpath_str(cur, "status.certificate");
        size_t n = 0;
        if (*b64)
            cert = ck_base64_decode(b64, strlen(b64), &n);
        json_decref(cur);
        if (!cert)
            usleep(500000);
    }
    if (!cert)
        ck_err_set(err, CK_R_TIMEOUT, "no certificate for %s after %d s", path, CSR_WAIT_S);
    free(path);
    return cert;
}

/* ---- files -------------------------------------------------------------------------------- */

struct pki_paths {
    char dir[4096], crt[4200], key[4200], pem[4200], ca[4200], conf[4200];
};

static void pki_paths(const char *root, struct pki_paths *p)
{
    snprintf(p->dir, sizeof(p->dir), "%s/pki", root);
    snprintf(p->crt, sizeof(p->crt), "%s/kubelet-client.crt", p->dir);
    snprintf(p->key, sizeof(p->key), "%s/kubelet-client.key", p->dir);
    snprintf(p->pem, sizeof(p->pem), "%s/kubelet-client-current.pem", p->dir);
    snprintf(p->ca, sizeof(p->ca), "%s/ca.crt", p->dir);
    snprintf(p->conf, sizeof(p->conf), "%s/kubelet.conf", root);
}

static int save_cert(const struct pki_paths *p, const char *cert, const char *key,
                     struct ck_err *err)
{
    char *both = ck_asprintf("%s%s", cert, key);
    int rc = write_atomic(p->key, key, strlen(key), 0600, err) < 0 ||
                     write_atomic(p->crt, cert, strlen(cert), 0644, err) < 0 ||
                     write_atomic(p->pem, both, strlen(both), 0600, err) < 0
                 ? -1
                 : 0;
    free(both);
    return rc;
}

/* notBefore/notAfter (epoch seconds) of the first certificate in a PEM file; -1 if none. */
static int cert_times(const char *path, int64_t *nb, int64_t *na)
{
    char *pem = read_all(path);
    X509 *x = pem ? pem_cert(pem) : NULL;
    free(pem);
    if (!x)
        return -1;
    struct tm t1, t2;
    int rc = ASN1_TIME_to_tm(X509_get0_notBefore(x), &t1) == 1 &&
                     ASN1_TIME_to_tm(X509_get0_notAfter(x), &t2) == 1
                 ? 0
                 : -1;
    X509_free(x);
    if (rc == 0) {
        *nb = (int64_t)timegm(&t1);
        *na = (int64_t)timegm(&t2);
    }
    return rc;
}

static int write_kubeconfig(const struct pki_paths *p, const char *server, const char *node,
                            struct ck_err *err)
{
    char *kc = ck_asprintf(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: default-cluster\n  cluster:\n"
        "    server: %s\n    certificate-authority: %s\ncontexts:\n- name: default-context\n"
        "  context:\n    cluster: default-cluster\n    user: default-auth\n"
        "    namespace: default\ncurrent-context: default-context\nusers:\n"
        "- name: default-auth\n  user:\n    client-certificate: %s\n    client-key: %s\n"
        "# node %s\n",
        server, p->ca, p->pem, p->pem, node);
    int rc = write_atomic(p->conf, kc, strlen(kc), 0600, err);
    free(kc);
    return rc;
}

/* Whether the first certificate of a PEM file is node's (CN system:node:<node>). */
static bool cert_is_node(const char *path, const char *node)
{
    char *pem = read_all(path), cn[300] = "", want[300];
    X509 *x = pem ? pem_cert(pem) : NULL;
    free(pem);
    if (x)
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
    X509_free(x);
    snprintf(want, sizeof(want), "system:node:%s", node);
    return !strcmp(cn, want);
}

/* The kubeconfig of an earlier join of this node to the same server whose certificate is
 * still valid. */
static bool reusable(const struct pki_paths *p, const char *server, const char *node)
{
    int64_t nb, na, now = (int64_t)time(NULL);
    char *conf = read_all(p->conf);
    char want[600];
    snprintf(want, sizeof(want), "server: %s\n", server);
    bool ok = conf && strstr(conf, want) && access(p->ca, R_OK) == 0 &&
              cert_times(p->pem, &nb, &na) == 0 && now < na && cert_is_node(p->pem, node);
    free(conf);
    return ok;
}

char *ag_join(const struct agent_opts *o, const char *root, struct ck_err *err)
{
    struct pki_paths p;
    pki_paths(root, &p);
    char *node = node_name_of(o);
    if (reusable(&p, o->join_server, node)) {
        ck_info("join: reusing the client certificate in %s", p.pem);
        free(node);
        return ck_strdup(p.conf);
    }
    char id[32] = "", secret[64] = "";
    const char *dot = o->join_token ? strchr(o->join_token, '.') : NULL;
    if (!dot || dot == o->join_token || (size_t)(dot - o->join_token) >= sizeof(id) ||
        strlen(dot + 1) >= sizeof(secret) || !dot[1]) {
        free(node);
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "--token: the bootstrap token must be of the form "
                          "[a-z0-9]{6}.[a-z0-9]{16}"),
               NULL;
    }
    memcpy(id, o->join_token, (size_t)(dot - o->join_token));
    snprintf(secret, sizeof(secret), "%s", dot + 1);
    char *ca = NULL, *key = NULL, *csr = NULL, *cert = NULL, *out = NULL;
    struct ck_client *c = NULL;
    mkdir(root, 0755);
    mkdir(p.dir, 0700);
    if (!(ca = discover_ca(o, id, secret, err))) {
        ck_err_wrap(err, "join %s: discovery", o->join_server);
        goto done;
    }
    if (write_atomic(p.ca, ca, strlen(ca), 0644, err) < 0 || make_csr(node, &key, &csr, err) < 0)
        goto done;
    if (!(c = client_for(o->join_server, ca, o->join_token, false, err)) ||
        !(cert = request_cert(c, node, csr, NULL, err))) {
        ck_err_wrap(err, "join %s", o->join_server);
        goto done;
    }
    if (save_cert(&p, cert, key, err) < 0 || write_kubeconfig(&p, o->join_server, node, err) < 0)
        goto done;
    ck_info("join: node %s joined %s; kubeconfig %s", node, o->join_server, p.conf);
    out = ck_strdup(p.conf);
done:
    ck_client_free(c);
    free(ca);
    free(key);
    free(csr);
    free(cert);
    free(node);
    return out;
}

/* ---- rotation ----------------------------------------------------------------------------- */

struct ag_join_renew {
    struct agent *ag;
    struct pki_paths p;
    char *node;
    pthread_t th;
    volatile int stop;
};

/* notBefore + 70-90 % of the lifetime (upstream's jitteryDuration). A signer's backdated
 * notBefore (5 min) can put that in the past for a short certificate; then 70 % of what is
 * left, so that a fresh certificate is not renewed again at once. */
static int64_t renew_at(const struct pki_paths *p)
{
    int64_t nb, na, now = (int64_t)time(NULL);
    if (cert_times(p->pem, &nb, &na) < 0)
        return now + 60;
    double f = 0.7 + 0.2 * (rand() / (RAND_MAX + 1.0));
    int64_t due = nb + (int64_t)((double)(na - nb) * f);
    if (due <= now && na > now)
        due = now + (int64_t)((double)(na - now) * 0.7);
    return due;
}

static void *renew_main(void *arg)
{
    struct ag_join_renew *r = arg;
    int64_t due = renew_at(&r->p);
    ck_v(1, "join: the client certificate is renewed in %lld s",
         (long long)(due - (int64_t)time(NULL)));
    while (!r->stop && !*r->ag->stop) {
        if ((int64_t)time(NULL) < due) {
            usleep(500000);
            continue;
        }
        char *key = NULL, *csr = NULL, *cert = NULL;
        struct ck_err err = CK_ERR_INIT;
        if (make_csr(r->node, &key, &csr, &err) == 0 &&
            (cert = request_cert(r->ag->client, r->node, csr, &r->stop, &err)) &&
            save_cert(&r->p, cert, key, &err) == 0) {
            ck_info("join: the client certificate was renewed (%s)", r->p.pem);
            due = renew_at(&r->p);
        } else {
            ck_warn("join: renewing the client certificate: %s", err.msg);
            due = (int64_t)time(NULL) + 30;
        }
        ck_err_clear(&err);
        free(key);
        free(csr);
        free(cert);
    }
    return NULL;
}

void ag_join_renew_start(struct agent *ag, const char *kubeconfig)
{
    (void)kubeconfig;
    if (!ag->o->join_server || ag->join_renew)
        return;
    struct ag_join_renew *r = ck_calloc(1, sizeof(*r));
    r->ag = ag;
    pki_paths(ag->root, &r->p);
    r->node = node_name_of(ag->o);
    if (pthread_create(&r->th, NULL, renew_main, r) != 0) {
        free(r->node);
        free(r);
        return;
    }
    ag->join_renew = r;
}

void ag_join_renew_stop(struct agent *ag)
{
    struct ag_join_renew *r = ag->join_renew;
    if (!r)
        return;
    r->stop = 1;
    pthread_join(r->th, NULL);
    free(r->node);
    free(r);
    ag->join_renew = NULL;
}
