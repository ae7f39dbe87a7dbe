/* SPDX-License-Identifier: Apache-2.0 */
/* The kubelet server (upstream pkg/kubelet/server/server.go) on --port (10250): HTTPS with a
 * serving certificate from --tls-cert-file/--tls-private-key-file, or a self-signed one in
 * <root>/pki as upstream's kubelet makes when none is given. Every request must authenticate:
 * a client certificate signed by --client-ca-file (default: the CA of the agent's kubeconfig),
 * or, until webhook token authentication (TokenReview) exists, the bearer token of the agent's
 * own kubeconfig (temporary). There is no authorization step yet (upstream asks the API server
 * with a SubjectAccessReview). Routes: /exec, /attach, /portForward (streaming.c and the
 * stream_* files), /healthz, /pods, /metrics, /metrics/resource, /stats/summary,
 * /containerLogs/NS/POD/CONTAINER (logs.c). */
#include "agent/kubeletsrv.h"
#include "agent/stream_agent.h"
#include "lib/buf.h"
#include "lib/certs.h"
#include "lib/log.h"
#include "lib/metrics.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/banned.h"

struct ag_kubesrv {
    struct agent *ag;
    struct ag_stream_server *srv;
};

const char *ag_http_reason(int code)
{
    switch (code) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 422:
        return "Unprocessable Entity";
    case 503:
        return "Service Unavailable";
    default:
        return code < 400 ? "OK" : "Internal Server Error";
    }
}

void ag_http_respond(struct ag_http_conn *c, int code, const char *ctype, const char *body,
                     size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nX-Content-Type-Options: nosniff\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     code, ag_http_reason(code), ctype, len);
    if (ag_http_write(c, head, (size_t)n) == 0 && len)
        ag_http_write(c, body, len);
}

void ag_http_error(struct ag_http_conn *c, int code, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof(msg) - 2)
        n = (int)sizeof(msg) - 2;
    msg[n++] = '\n';
    msg[n] = 0;
    ag_http_respond(c, code, "text/plain; charset=utf-8", msg, (size_t)n);
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool ag_http_unescape(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '%') {
            if (i + 2 >= n)
                return false;
            int h = hexv(s[i + 1]), l = hexv(s[i + 2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0))
                return false;
            ch = (char)(h << 4 | l);
            i += 2;
        } else if (ch == '+') {
            ch = ' ';
        }
        if (o + 1 >= cap)
            return false;
        out[o++] = ch;
    }
    out[o] = 0;
    return true;
}

bool ag_http_query(const char *query, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *q = query; q && *q;) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len >= nl && !strncmp(q, name, nl) && (len == nl || q[nl] == '=')) {
            if (len == nl) {
                if (cap)
                    out[0] = 0;
                return true;
            }
            return ag_http_unescape(q + nl + 1, len - nl - 1, out, cap);
        }
        q = amp ? amp + 1 : NULL;
    }
    return false;
}

/* ---- routes ----------------------------------------------------------------------------- */

static void serve_pods(struct agent *ag, struct ag_http_conn *c)
{
    json_t *items = json_array();
    size_t it = 0;
    const char *k;
    void *v;
    pthread_mutex_lock(&ag->mu);
    while (ck_strmap_next(&ag->pods, &it, &k, &v)) {
        struct ag_pod *p = v;
        if (p->pod && !p->api_gone)
            json_array_append_new(items, json_deep_copy(p->pod));
    }
    pthread_mutex_unlock(&ag->mu);
    json_t *list = json_pack("{s:s, s:s, s:{}, s:o}", "kind", "PodList", "apiVersion", "v1",
                             "metadata", "items", items);
    char *body = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    ag_http_respond(c, 200, "application/json", body, strlen(body));
    free(body);
}

static void serve_metrics(struct agent *ag, struct ag_http_conn *c, const struct ag_http_req *r,
                          bool resource)
{
    struct ck_buf text = CK_BUF_INIT(64 << 20), om = CK_BUF_INIT(64 << 20);
    char accept[1024] = "";
    if (resource)
        ag_stats_resource_metrics(ag, &text);
    else
        ag_httpd_metrics(ag, &text);
    if (ag_http_header(r, "Accept", accept, sizeof(accept)) &&
        ck_metrics_wants_openmetrics(accept, strlen(accept))) {
        ck_metrics_to_openmetrics(text.data ? text.data : "", text.len, &om);
        ag_http_respond(c, 200, CK_METRICS_OM_CTYPE, om.data ? om.data : "", om.len);
    } else {
        ag_http_respond(c, 200, CK_METRICS_TEXT_CTYPE, text.data ? text.data : "", text.len);
    }
    ck_buf_release(&text);
    ck_buf_release(&om);
}

static void route(void *arg, struct ag_http_conn *c, const struct ag_http_req *r)
{
    struct ag_kubesrv *k = arg;
    struct agent *ag = k->ag;
    bool get = !strcmp(r->method, "GET"), head = !strcmp(r->method, "HEAD");
    char target[4200];

    ck_v(6, "kubelet server: %s %s", r->method, r->path);
    if (!strncmp(r->path, "/containerLogs/", 15)) {
        if (!get) {
            ag_http_error(c, 405, "405: Method Not Allowed");
            return;
        }
        ag_logs_serve(ag, c, r);
        return;
    }
    if (!get && !head) {
        ag_http_error(c, 405, "405: Method Not Allowed");
        return;
    }
    if (!strcmp(r->path, "/pods") || !strcmp(r->path, "/pods/")) {
        serve_pods(ag, c);
    } else if (!strcmp(r->path, "/metrics")) {
        serve_metrics(ag, c, r, false);
    } else if (!strcmp(r->path, "/metrics/resource")) {
        serve_metrics(ag, c, r, true);
    } else if (!strcmp(r->path, "/stats/summary") || !strcmp(r->path, "/stats/summary/")) {
        struct ck_buf b = CK_BUF_INIT(64 << 20);
        ag_stats_summary(ag, &b);
        ag_http_respond(c, 200, "application/json", b.data ? b.data : "", b.len);
        ck_buf_release(&b);
    } else {
        struct ck_buf b = CK_BUF_INIT(1 << 20);
        snprintf(target, sizeof(target), "%s%s%s", r->path, *r->query ? "?" : "", r->query);
        int code = ag_httpd_health(ag, target, &b);
        if (code)
            ag_http_respond(c, code, "text/plain; charset=utf-8", b.data ? b.data : "", b.len);
        else
            ag_http_error(c, 404, "404 page not found");
        ck_buf_release(&b);
    }
}

/* ---- TLS ---------------------------------------------------------------------------------- */

static int ssl_fail(struct ck_err *err, const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return ck_err_set(err, CK_R_INTERNAL, "%s: %s", what, e ? buf : "unknown OpenSSL error");
}

/* Adds every certificate of a PEM blob to the context's verify store and CA name list. */
static int add_ca_pem(SSL_CTX *ctx, const char *pem, size_t len, struct ck_err *err)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *x;
    int n = 0;
    while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
        X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), x);
        SSL_CTX_add_client_CA(ctx, x);
        X509_free(x);
        n++;
    }
    BIO_free(bio);
    ERR_clear_error();
    return n ? 0 : ck_err_set(err, CK_R_BAD_REQUEST, "no certificate in the client CA");
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct ck_buf b = CK_BUF_INIT(16 << 20);
    char chunk[4096];
    size_t n;
    if (!f)
        return NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (ck_buf_append(&b, chunk, n) < 0)
            break;
    fclose(f);
    return ck_buf_detach(&b, len);
}

/* The serving certificate: the flags', or <root>/pki/kubelet.{crt,key} (made self-signed
 * when missing, as upstream's kubelet does in its --cert-dir). */
static int serving_cert(struct agent *ag, char *cert, char *key, size_t cap, struct ck_err *err)
{
    const struct agent_opts *o = ag->o;
    if (o->tls_cert_file || o->tls_key_file) {
        if (!o->tls_cert_file || !o->tls_key_file)
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "--tls-cert-file and --tls-private-key-file go together");
        snprintf(cert, cap, "%s", o->tls_cert_file);
        snprintf(key, cap, "%s", o->tls_key_file);
        return 0;
    }
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/pki", ag->root);
    mkdir(ag->root, 0755);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return ck_err_sys(err, errno, "create %s", dir);
    snprintf(cert, cap, "%s/kubelet.crt", dir);
    snprintf(key, cap, "%s/kubelet.key", dir);
    if (access(cert, R_OK) == 0 && access(key, R_OK) == 0)
        return 0;
    char sans[1024], cn[300];
    ck_cert_host_sans(ag->nodes[0].host_ip, sans, sizeof(sans));
    snprintf(cn, sizeof(cn), "%s@%lld", ag->nodes[0].name, (long long)time(NULL));
    struct ck_cert_req r = {.kind = CK_CERT_SELF_SERVER, .cn = cn, .sans = sans};
    if (ck_cert_generate(&r, NULL, NULL, cert, key, err) < 0)
        return -1;
    ck_info("agent: generated a self-signed serving certificate %s", cert);
    return 0;
}

static SSL_CTX *tls_ctx(struct agent *ag, const struct ck_client_config *cfg, struct ck_err *err)
{
    char cert[4096], key[4096];
    if (serving_cert(ag, cert, key, sizeof(cert), err) < 0)
        return NULL;
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());
    if (!c) {
        ssl_fail(err, "SSL_CTX_new");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(c, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(c) != 1) {
        ssl_fail(err, "loading the serving certificate");
        ck_err_wrap(err, "%s / %s", cert, key);
        SSL_CTX_free(c);
        return NULL;
    }
    /* client certificates are asked for, not required: without one a bearer token may do;
     * an unverifiable one is a 401 (verify_result), not a failed handshake, as Go's
     * RequestClientCert + the x509 authenticator */
    const char *ca_file = ag->o->client_ca_file ? ag->o->client_ca_file
                          : cfg && cfg->ca_file ? cfg->ca_file
                                                : NULL;
    char *pem = NULL;
    size_t len = 0;
    if (ca_file && !(pem = read_file(ca_file, &len))) {
        ck_err_sys(err, errno, "read client CA %s", ca_file);
        SSL_CTX_free(c);
        return NULL;
    }
    if (!pem && cfg && cfg->ca_data) {
        pem = ck_strdup(cfg->ca_data);
        len = strlen(pem);
    }
    if (pem) {
        int rc = add_ca_pem(c, pem, len, err);
        free(pem);
        if (rc < 0) {
            ck_err_wrap(err, "client CA %s", ca_file ? ca_file : "(kubeconfig)");
            SSL_CTX_free(c);
            return NULL;
        }
    } else {
        ck_warn("agent: no client CA: only the kubeconfig's bearer token authenticates");
    }
    return c;
}

/* Verifies but never aborts the handshake: the result is read after it. */
static int keep_going(int ok, X509_STORE_CTX *x)
{
    (void)ok, (void)x;
    return 1;
}

struct ag_kubesrv *ag_kubesrv_start(struct agent *ag, struct ck_err *err)
{
    const struct agent_opts *o = ag->o;
    struct ck_client_config cfg = {0};
    const struct ck_client_config *pc = o->client_config;
    struct ck_err cerr = CK_ERR_INIT;

    if (o->port == AGENT_PORT_OFF)
        return NULL;
    if (!pc && ck_config_from_kubeconfig(o->kubeconfig, NULL, &cfg, &cerr) == 0)
        pc = &cfg;
    SSL_CTX *tls = tls_ctx(ag, pc, err);
    if (!tls) {
        ck_client_config_release(&cfg);
        return NULL;
    }
    SSL_CTX_set_verify(tls, SSL_VERIFY_PEER, keep_going);
    struct ag_kubesrv *k = ck_calloc(1, sizeof(*k));
    k->ag = ag;
    struct ag_stream_opts so = {.bind = "0.0.0.0",
                                .port = o->port,
                                .resolve = ag_stream_resolve,
                                .arg = ag,
                                .tls = tls,
                                .token = pc ? pc->token : NULL,
                                .route = route,
                                .route_arg = k};
    k->srv = ag_stream_start(&so, err);
    if (!k->srv && o->port_fallback && o->port) {
        ck_warn("agent: kubelet server: %s; using an ephemeral port", err->msg);
        ck_err_clear(err);
        so.port = 0;
        k->srv = ag_stream_start(&so, err);
    }
    SSL_CTX_free(tls); /* the server holds its own reference */
    ck_client_config_release(&cfg);
    if (!k->srv) {
        free(k);
        return NULL;
    }
    ag->kubelet_port = ag_stream_port(k->srv);
    ck_info("agent: kubelet server on https port %d", ag->kubelet_port);
    return k;
}

void ag_kubesrv_stop(struct ag_kubesrv *k)
{
    if (!k)
        return;
    ag_stream_stop(k->srv);
    free(k);
}
