/* SPDX-License-Identifier: Apache-2.0 */
/* Authentication and authorization at the transport (see http_authn.h).
 *
 * Client certificates: the TLS context asks every client for a certificate and accepts the
 * handshake whatever it sends (upstream's tls.RequestClientCert); the verification result is
 * kept with the connection, and a request whose certificate did not verify is not
 * authenticated by it (then 401 unless a token authenticates it).
 *
 * h2o 2.2 keeps its OpenSSL handle in an opaque struct whose first two members are the
 * SSL_CTX and the SSL (lib/common/socket.c, stable across 2.2.x); peer_ssl() reads them and
 * checks the SSL_CTX is ours before trusting the SSL. */
#include "apiserver/http/http_authn.h"
#include "apiserver/authn/bootstrap.h"
#include "apiserver/authn/x509.h"
#include "apiserver/authz/authz.h"
#include "lib/log.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

struct st_h2o_socket_ssl_t { /* the leading members of h2o 2.2's private struct */
    SSL_CTX *ssl_ctx;
    SSL *ossl;
};

static int bad_cert_idx = -1; /* SSL ex_data: non-NULL when the client's chain failed */
static pthread_once_t idx_once = PTHREAD_ONCE_INIT;

static void idx_init(void)
{
    bad_cert_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static int verify_cb(int ok, X509_STORE_CTX *x)
{
    if (!ok) {
        SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
        if (ssl && bad_cert_idx >= 0)
            SSL_set_ex_data(ssl, bad_cert_idx, (void *)1);
    }
    return 1; /* never fail the handshake: the request is then not authenticated by it */
}

int http_tls_client_auth(SSL_CTX *c, const char *ca_file, struct ck_err *err)
{
    STACK_OF(X509_NAME) * names;

    pthread_once(&idx_once, idx_init);
    if (SSL_CTX_load_verify_locations(c, ca_file, NULL) != 1 ||
        !(names = SSL_load_client_CA_file(ca_file))) {
        unsigned long e = ERR_get_error();
        char buf[256];
        ERR_error_string_n(e, buf, sizeof(buf));
        ERR_clear_error();
        return ck_err_set(err, CK_R_BAD_REQUEST, "--client-ca-file %s: %s", ca_file, buf);
    }
    SSL_CTX_set_client_CA_list(c, names);
    SSL_CTX_set_purpose(c, X509_PURPOSE_SSL_CLIENT); /* ExtKeyUsageClientAuth */
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, verify_cb);
    /* resumed sessions (which keep the peer certificate) need a session id context once peer
     * verification is on, or OpenSSL refuses them */
    static const unsigned char sid[] = "ckube-apiserver";
    SSL_CTX_set_session_id_context(c, sid, sizeof(sid) - 1);
    return 0;
}

static SSL *peer_ssl(struct http_server *s, h2o_req_t *req)
{
    h2o_socket_t *sock =
        req->conn->callbacks->get_socket ? req->conn->callbacks->get_socket(req->conn) : NULL;
    if (!sock || !sock->ssl || sock->ssl->ssl_ctx != s->ssl_ctx)
        return NULL;
    return sock->ssl->ossl;
}

/* 0: *u from a verified client certificate; -1: none; -2: one that did not verify (upstream's
 * x509 authenticator then errs, and with no other credential the request is 401, never
 * anonymous). */
static int cert_user(struct http_server *s, h2o_req_t *req, struct authn_user *u)
{
    SSL *ssl;
    X509 *leaf;

    if (!s->o.client_ca_file || !(ssl = peer_ssl(s, req)) ||
        !(leaf = SSL_get0_peer_certificate(ssl)))
        return -1;
    if (SSL_get_verify_result(ssl) != X509_V_OK ||
        (bad_cert_idx >= 0 && SSL_get_ex_data(ssl, bad_cert_idx))) {
        ck_v(4, "client certificate did not verify: %s",
             X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
        return -2;
    }
    return authn_x509_user(leaf, u);
}

static void set_admin(struct authn_user *u)
{
    memset(u, 0, sizeof(*u));
    u->name = ck_strdup("system:admin");
    u->groups = ck_calloc(3, sizeof(*u->groups));
    u->groups[0] = ck_strdup("system:masters");
    u->groups[1] = ck_strdup("system:authenticated");
}

/* The Secret kube-system/bootstrap-token-<id> through the engine (a cache read), or NULL. */
static json_t *bootstrap_secret(struct http_server *s, const char *id)
{
    static const char *const g[] = {"system:masters", "system:authenticated", NULL};
    char path[128];
    struct api_response rs;
    struct api_watch *w = NULL;
    json_t *obj = NULL;

    snprintf(path, sizeof(path), "/api/v1/namespaces/kube-system/secrets/%s%s",
             AUTHN_BOOTSTRAP_SECRET_PREFIX, id);
    struct api_request rq = {.method = "GET",
                             .path = path,
                             .accept = "application/json",
                             .user = "system:kube-apiserver",
                             .groups = g,
                             .body = ""};
    memset(&rs, 0, sizeof(rs));
    rs.body = (struct ck_buf)CK_BUF_INIT(1 << 20);
    enum api_result res = s->ops->handle(s->eng, &rq, &rs, &w);
    if (res == API_WATCH && w)
        s->ops->watch_close(w);
    else if (rs.status == 200 && rs.body.data)
        obj = json_loadb(rs.body.data, rs.body.len, 0, NULL);
    ck_buf_release(&rs.body);
    api_iov_body_release(&rs.lent);
    for (size_t i = 0; i < rs.nwarnings && i < API_MAX_WARNINGS; i++)
        free(rs.warnings[i]);
    return obj;
}

static int token_user(struct http_server *s, const char *tok, size_t len, struct authn_user *u)
{
    char id[7], secret[17], why[300];

    if (http_token_equal(tok, len, s->token)) {
        set_admin(u);
        return 0;
    }
    if (!authn_bootstrap_token_split(tok, len, id, secret))
        return s->ops->authn_token ? s->ops->authn_token(s->eng, tok, len, u) : -1;
    json_t *sec = bootstrap_secret(s, id);
    if (!sec) {
        ck_v(3, "no secret for bootstrap token %s", id);
        return -1;
    }
    int rc = authn_bootstrap_check(sec, id, secret, time(NULL), u, why, sizeof(why));
    json_decref(sec);
    if (rc < 0)
        ck_v(3, "bootstrap token kube-system/%s%s %s", AUTHN_BOOTSTRAP_SECRET_PREFIX, id, why);
    return rc;
}

static void set_anonymous(struct authn_user *u)
{
    memset(u, 0, sizeof(*u));
    u->name = ck_strdup("system:anonymous");
    u->groups = ck_calloc(2, sizeof(*u->groups));
    u->groups[0] = ck_strdup("system:unauthenticated");
}

int http_authenticate(struct http_server *s, h2o_req_t *req, const char *path, enum http_route r,
                      struct authn_user *u)
{
    const char *tok;
    size_t tok_len;
    ssize_t i;

    if (req->scheme != &H2O_URL_SCHEME_HTTPS) {
        set_admin(u); /* the plain port is for tests and local use: everyone is system:admin */
        return 0;
    }
    int cert = cert_user(s, req, u);
    if (cert == 0)
        return 0;
    i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    (void)path;
    if (i < 0 && r != HTTP_ROUTE_API && r != HTTP_ROUTE_METRICS)
        return 1;
    if (i < 0) {
        /* upstream's --anonymous-auth (on by default): the request runs as system:anonymous
         * and authorization decides (403, not 401). Only with a real authorizer. */
        if (!s->ops->authorize || s->o.anonymous_off || cert == -2)
            return -1;
        set_anonymous(u);
        return 0;
    }
    const h2o_iovec_t *v = &req->headers.entries[i].value;
    if (http_bearer_token(v->base, v->len, &tok, &tok_len) < 0)
        return -1;
    return token_user(s, tok, tok_len, u);
}

bool http_authorize(struct http_server *s, const struct authn_user *u, h2o_req_t *req,
                    const char *path, int midx, struct ck_err *err)
{
    struct authz_attrs a;
    char *query = req->query_at != SIZE_MAX ? ck_strndup(req->path.base + req->query_at + 1,
                                                         req->path.len - req->query_at - 1)
                                            : NULL;
    char *method = midx == HTTP_NMETHODS - 1 ? ck_strndup(req->method.base, req->method.len)
                                             : ck_strdup(http_method_name(midx));

    authz_attrs_from_request(method, path, query, &a);
    struct rbac_attrs ra = authz_rbac_attrs(&a, u->name, (const char *const *)u->groups);
    char reason[512] = "";
    bool ok = !s->ops->authorize || s->ops->authorize(s->eng, &ra, reason, sizeof(reason));
    if (!ok) {
        authz_forbidden(&ra, reason, err);
        ck_v(2, "%s", err->msg);
    }
    authz_attrs_release(&a);
    free(method);
    free(query);
    return ok;
}

/* Impersonation by RBAC: the impersonate verb on users, groups, serviceaccounts (namespaced),
 * userextras/<key> and uids (authentication.k8s.io), as upstream's WithImpersonation asks. */
bool http_may_impersonate_rbac(void *arg, const struct authn_user *who,
                               const struct authn_imp_req *what, char *reason, size_t reasonlen)
{
    struct http_server *s = arg;
    static const char *const res[] = {"users", "serviceaccounts", "groups", "userextras", "uids"};
    bool auth = what->kind == AUTHN_IMP_EXTRA || what->kind == AUTHN_IMP_UID;
    struct rbac_attrs a = {.user = who->name,
                           .groups = (const char *const *)who->groups,
                           .verb = "impersonate",
                           .resource_request = true,
                           .api_group = auth ? "authentication.k8s.io" : "",
                           .resource = res[what->kind],
                           .subresource = what->key,
                           .ns = what->ns,
                           .name = what->name};
    if (reasonlen)
        reason[0] = 0;
    return !s->ops->authorize || s->ops->authorize(s->eng, &a, reason, reasonlen);
}
