/* SPDX-License-Identifier: Apache-2.0 */
/* The proxy subresources, as upstream's UpgradeAwareHandler + proxy Transport
 * (staging/src/k8s.io/apimachinery/pkg/util/proxy): any method on
 *   /api/v1/namespaces/N/services/[scheme:]NAME[:port]/proxy[/PATH]
 *   /api/v1/namespaces/N/pods/[scheme:]NAME[:port]/proxy[/PATH]
 *   /api/v1/nodes/[scheme:]NAME[:port]/proxy[/PATH]
 * is sent to the target http_proxy_target.c finds, with hop-by-hop, Authorization and
 * Impersonate-* headers dropped and X-Forwarded-For / X-Forwarded-Uri added; the answer comes
 * back with hop-by-hop and CORS headers dropped and a same-host Location rewritten under the
 * proxy path. An empty target path on GET/HEAD is a 301 to ".../proxy/" as upstream.
 * The exchange runs on a worker thread with libcurl; the response body is collected (up to
 * HTTP_PROXY_MAX_BODY) and then sent. */
#include "apiserver/http/http_proxy.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/banned.h"

#define HTTP_PROXY_MAX_BODY ((size_t)256 << 20)
#define HTTP_PROXY_CONNECT_MS 30000L

/* ---- the request ---------------------------------------------------------------------- */

static bool seg(const char **p, const char *want)
{
    size_t n = strlen(want);
    if (strncmp(*p, want, n) || ((*p)[n] != '/' && (*p)[n]))
        return false;
    *p += n;
    return true;
}

/* Takes the next segment (after a '/') into a new string; false if empty. */
static bool take(const char **p, char **out)
{
    const char *s, *e;

    if (**p != '/')
        return false;
    s = *p + 1;
    e = strchr(s, '/');
    if (!e)
        e = s + strlen(s);
    if (e == s)
        return false;
    *out = ck_strndup(s, (size_t)(e - s));
    *p = e;
    return true;
}

bool http_proxy_parse_path(const char *path, struct http_proxy *px)
{
    const char *p = path;
    char *ns = NULL, *res = NULL, *id = NULL;

    if (!seg(&p, "/api") || !seg(&p, "/v1"))
        return false;
    if (seg(&p, "/namespaces")) {
        if (!take(&p, &ns) || !take(&p, &res))
            goto no;
        if (!strcmp(res, "services"))
            px->kind = HTTP_PROXY_SERVICE;
        else if (!strcmp(res, "pods"))
            px->kind = HTTP_PROXY_POD;
        else
            goto no;
    } else if (seg(&p, "/nodes")) {
        px->kind = HTTP_PROXY_NODE;
    } else {
        return false;
    }
    if (!take(&p, &id) || !seg(&p, "/proxy"))
        goto no;
    free(res);
    px->ns = ns;
    px->id = id;
    px->tail = ck_strdup(p);
    px->prefix = ck_strndup(path, (size_t)(p - path));
    return true;
no:
    free(ns);
    free(res);
    free(id);
    return false;
}

bool http_proxy_match(const char *path)
{
    struct http_proxy px;

    memset(&px, 0, sizeof(px));
    if (!http_proxy_parse_path(path, &px))
        return false;
    free(px.ns);
    free(px.id);
    free(px.tail);
    free(px.prefix);
    return true;
}

static bool hop_by_hop(const char *n, size_t len)
{
    static const char *const names[] = {"connection",
                                        "proxy-connection",
                                        "keep-alive",
                                        "proxy-authenticate",
                                        "proxy-authorization",
                                        "te",
                                        "trailer",
                                        "transfer-encoding",
                                        "upgrade"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (len == strlen(names[i]) && !strncasecmp(n, names[i], len))
            return true;
    return false;
}

static bool skip_request_header(const h2o_iovec_t *n)
{
    static const char *const names[] = {"host", "authorization", "content-length", "expect"};

    if (hop_by_hop(n->base, n->len) || (n->len >= 12 && !strncasecmp(n->base, "impersonate-", 12)))
        return true;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (n->len == strlen(names[i]) && !strncasecmp(n->base, names[i], n->len))
            return true;
    return false;
}

static char *peer_address(h2o_req_t *req)
{
    struct sockaddr_storage ss;
    char buf[INET6_ADDRSTRLEN] = "";
    socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);

    if (len && ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, sizeof(buf));
    else if (len && ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, buf, sizeof(buf));
    return ck_strdup(buf);
}

void http_proxy_prepare(struct http_job *j, h2o_req_t *req)
{
    struct http_proxy *px = ck_calloc(1, sizeof(*px));
    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    bool accept = false, xff = false;
    char *line;

    http_proxy_parse_path(j->path, px);
    px->allow_loopback = j->lp->srv->o.proxy_allow_loopback;
    px->raw_path = ck_strndup(req->path.base, plen);
    px->authority = ck_strndup(req->authority.base, req->authority.len);
    px->method = ck_strndup(req->method.base, req->method.len);
    px->peer = peer_address(req);
    px->body = (struct ck_buf)CK_BUF_INIT(HTTP_PROXY_MAX_BODY);
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];
        if (skip_request_header(h->name))
            continue;
        accept |= h->name->len == 6 && !strncasecmp(h->name->base, "accept", 6);
        if (h->name->len == 15 && !strncasecmp(h->name->base, "x-forwarded-for", 15)) {
            line = ck_asprintf("X-Forwarded-For: %.*s, %s", (int)h->value.len, h->value.base,
                               px->peer);
            xff = true;
        } else {
            line = ck_asprintf("%.*s: %.*s", (int)h->name->len, h->name->base, (int)h->value.len,
                               h->value.base);
        }
        px->hdrs = curl_slist_append(px->hdrs, line);
        free(line);
    }
    if (!xff && *px->peer) {
        line = ck_asprintf("X-Forwarded-For: %s", px->peer);
        px->hdrs = curl_slist_append(px->hdrs, line);
        free(line);
    }
    line = ck_asprintf("X-Forwarded-Uri: %s", px->raw_path);
    px->hdrs = curl_slist_append(px->hdrs, line);
    free(line);
    px->hdrs = curl_slist_append(px->hdrs, "Expect:");
    if (!accept)
        px->hdrs = curl_slist_append(px->hdrs, "Accept:"); /* curl would add */
    j->px = px;
}

void http_proxy_free(struct http_proxy *px)
{
    free(px->ns);
    free(px->id);
    free(px->tail);
    free(px->prefix);
    free(px->raw_path);
    free(px->authority);
    free(px->method);
    free(px->peer);
    free(px->redirect);
    curl_slist_free_all(px->hdrs);
    for (size_t i = 0; i < px->nresp; i++) {
        free(px->resp[i].name);
        free(px->resp[i].value);
    }
    free(px->resp);
    ck_buf_release(&px->body);
    free(px);
}

/* ---- the upstream exchange (worker thread) -------------------------------------------- */

/* Go's url.PathEscape-like encoding for a path: unreserved and $&+,/:;=@ stay. */
static void escape_path(struct ck_buf *b, const char *p)
{
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-_.~$&+,/:;=@", c))
            ck_buf_appendc(b, (char)c);
        else
            ck_buf_appendf(b, "%%%02X", c);
    }
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct http_proxy *px = arg;
    size_t len = size * n, nl = len;
    char *colon;

    while (nl && (data[nl - 1] == '\r' || data[nl - 1] == '\n'))
        nl--;
    if (nl > 5 && !strncmp(data, "HTTP/", 5)) { /* a (new) status line: 1xx come first */
        const char *sp = memchr(data, ' ', nl);
        px->status = sp ? atoi(sp + 1) : 502;
        for (size_t i = 0; i < px->nresp; i++) {
            free(px->resp[i].name);
            free(px->resp[i].value);
        }
        px->nresp = 0;
        return len;
    }
    if (!nl || !(colon = memchr(data, ':', nl)))
        return len;
    const char *v = colon + 1, *end = data + nl;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    px->resp = ck_realloc(px->resp, (px->nresp + 1) * sizeof(*px->resp));
    px->resp[px->nresp].name = ck_strndup(data, (size_t)(colon - data));
    px->resp[px->nresp++].value = ck_strndup(v, (size_t)(end - v));
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct http_proxy *px = arg;

    return ck_buf_append(&px->body, data, size * n) < 0 ? 0 : size * n;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    struct http_server *s = arg;
    (void)a, (void)b, (void)c, (void)d;
    return atomic_load(&s->stopping) ? 1 : 0;
}

static void exchange(struct http_server *s, struct http_job *j)
{
    struct http_proxy *px = j->px;
    struct ck_buf url = CK_BUF_INIT(1 << 20);
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *c = curl_easy_init();
    CURLcode rc;

    ck_buf_appendf(&url, "%s://%s", px->scheme, px->hostport);
    escape_path(&url, *px->tail ? px->tail : "/");
    if (j->query)
        ck_buf_appendf(&url, "?%s", j->query);
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, HTTP_PROXY_CONNECT_MS);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER,
                     0L); /* upstream's proxy transport does not verify */
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    if (px->kind == HTTP_PROXY_NODE && s->o.kubelet_client_cert && s->o.kubelet_client_key) {
        /* kubesrv: nodes/proxy reaches the kubelet with the kubelet client certificate */
        curl_easy_setopt(c, CURLOPT_SSLCERT, s->o.kubelet_client_cert);
        curl_easy_setopt(c, CURLOPT_SSLKEY, s->o.kubelet_client_key);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, px->hdrs);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, px);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, px);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
    if (!strcmp(px->method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(px->method, "GET") || j->rq.body_len) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, px->method);
        if (j->rq.body_len || strcmp(px->method, "DELETE")) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->rq.body);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->rq.body_len);
        }
    }
    rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    ck_buf_release(&url);
    if (rc != CURLE_OK) {
        struct ck_err err = CK_ERR_INIT;
        ck_err_set(&err, CK_R_SERVICE_UNAVAILABLE, "error trying to reach service: %s",
                   rc == CURLE_WRITE_ERROR ? "response body too large"
                   : *errbuf               ? errbuf
                                           : curl_easy_strerror(rc));
        s->ops->write_status(&j->rs, &err);
        return;
    }
    px->proxied = true;
}

void http_proxy_run(struct http_server *s, struct http_job *j)
{
    struct http_proxy *px = j->px;
    size_t tl = strlen(px->tail);

    j->res = API_DONE;
    if (!tl && (!strcmp(px->method, "GET") || !strcmp(px->method, "HEAD"))) {
        px->redirect =
            ck_asprintf("%s/%s%s", px->raw_path, j->query ? "?" : "", j->query ? j->query : "");
        px->proxied = true;
        return;
    }
    if (http_proxy_resolve(s, j) < 0)
        return;
    ck_v(4, "proxy %s %s -> %s://%s%s", px->method, px->raw_path, px->scheme, px->hostport,
         px->tail);
    exchange(s, j);
}

/* ---- the answer (loop thread) --------------------------------------------------------- */

/* upstream's Transport.rewriteURL for Location: a same-host absolute path goes under the
 * proxy path; other hosts and relative references pass unchanged. */
static char *rewrite_location(const struct http_proxy *px, const char *loc)
{
    const char *path = loc;
    size_t plen = strlen(px->prefix);

    if (!strncmp(loc, "http://", 7) || !strncmp(loc, "https://", 8) || !strncmp(loc, "//", 2)) {
        const char *h = strstr(loc, "//") + 2, *e = h + strcspn(h, "/?#");
        size_t hl = (size_t)(e - h);
        bool same = (hl == strlen(px->hostport) && !strncmp(h, px->hostport, hl)) ||
                    (hl == strlen(px->authority) && !strncmp(h, px->authority, hl));
        if (!same || *e != '/')
            return NULL;
        path = e;
    } else if (*loc != '/') {
        return NULL;
    }
    if (!strncmp(path, px->prefix, plen))
        return ck_strdup(path);
    return ck_asprintf("%s%s", px->prefix, path);
}

static bool drop_response_header(const char *n)
{
    static const char *const names[] = {"content-length",
                                        "date",
                                        "server",
                                        "access-control-allow-credentials",
                                        "access-control-allow-headers",
                                        "access-control-allow-methods",
                                        "access-control-allow-origin"};
    if (hop_by_hop(n, strlen(n)))
        return true;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcasecmp(n, names[i]))
            return true;
    return false;
}

void http_proxy_respond(h2o_req_t *req, struct http_job *j)
{
    struct http_proxy *px = j->px;
    size_t len;
    char *body;

    if (!px->proxied) {
        http_respond(req, &j->rs);
        return;
    }
    if (px->redirect) {
        h2o_iovec_t v = h2o_strdup(&req->pool, px->redirect, SIZE_MAX);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, v.base, v.len);
        http_respond_bytes(req, 301, NULL, 0);
        return;
    }
    for (size_t i = 0; i < px->nresp; i++) {
        const char *n = px->resp[i].name, *v = px->resp[i].value;
        char *re = NULL;
        h2o_iovec_t nv, vv;

        if (drop_response_header(n))
            continue;
        if (!strcasecmp(n, "location") && (re = rewrite_location(px, v)))
            v = re;
        nv = h2o_strdup(&req->pool, n, SIZE_MAX);
        h2o_strtolower(nv.base, nv.len);
        vv = h2o_strdup(&req->pool, v, SIZE_MAX);
        h2o_add_header_by_str(&req->pool, &req->res.headers, nv.base, nv.len, 1, NULL, vv.base,
                              vv.len);
        free(re);
    }
    body = ck_buf_detach(&px->body, &len);
    http_respond_bytes(req, px->status >= 100 && px->status < 600 ? px->status : 502, body, len);
}
