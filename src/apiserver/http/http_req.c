/* SPDX-License-Identifier: Apache-2.0 */
/* The catch-all request handler: path decoding, bearer-token authn, body limit, health and
 * metrics endpoints, and the worker pool that runs api_handle off the loop threads. Replies
 * are always JSON Status objects for errors; big bodies go out in 1 MiB chunks from proceed. */
#include "apiserver/http/http_audit.h" /* encaudit */
#include "apiserver/http/http_apf.h"
#include "apiserver/http/http_authn.h"
#include "apiserver/http/http_int.h"
#include "apiserver/http/http_podlog.h" /* kubesrv */
#include "apiserver/http/http_stream.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define HTTP_CHUNK ((size_t)1 << 20)
#define HTTP_MAX_RESPONSE ((size_t)2 << 30)

/* ---- responses ------------------------------------------------------------------------ */

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 400 ? "OK" : "Error";
    }
}

static void response_release(struct api_response *rs)
{
    ck_buf_release(&rs->body);
    api_iov_body_release(&rs->lent);
    for (size_t i = 0; i < rs->nwarnings && i < API_MAX_WARNINGS; i++) {
        free(rs->warnings[i]);
        rs->warnings[i] = NULL;
    }
    rs->nwarnings = 0;
}

static void response_init(struct api_response *rs)
{
    memset(rs, 0, sizeof(*rs));
    rs->body = (struct ck_buf)CK_BUF_INIT(HTTP_MAX_RESPONSE);
}

void http_set_common_headers(h2o_req_t *req, struct api_response *rs)
{
    const char *ct = rs->content_type[0] ? rs->content_type : "application/json";
    h2o_iovec_t v = h2o_strdup(&req->pool, ct, SIZE_MAX);

    req->res.status = rs->status ? rs->status : 500;
    req->res.reason = reason_phrase(req->res.status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, v.base, v.len);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-cache, private"));
    for (size_t i = 0; i < rs->nwarnings && i < API_MAX_WARNINGS; i++) {
        if (!rs->warnings[i])
            continue;
        /* RFC 7234 warning-value: code, agent, then the text as one quoted-string */
        struct ck_buf w = CK_BUF_INIT(4096);
        ck_buf_appends(&w, "299 - \"");
        for (const char *p = rs->warnings[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                ck_buf_appendc(&w, '\\');
            ck_buf_appendc(&w, *p);
        }
        ck_buf_appendc(&w, '"');
        v = h2o_strdup(&req->pool, w.data ? w.data : "", w.len);
        ck_buf_release(&w);
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("warning"), 0, NULL,
                              v.base, v.len);
    }
}

struct body_gen {
    h2o_generator_t super;
    char *data;
    size_t len, off;
};

static void body_send_next(struct body_gen *g, h2o_req_t *req)
{
    size_t n = g->len - g->off < HTTP_CHUNK ? g->len - g->off : HTTP_CHUNK;
    h2o_iovec_t iov = h2o_iovec_init(g->data + g->off, n);

    g->off += n;
    h2o_send(req, &iov, 1, g->off == g->len ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void body_proceed(h2o_generator_t *self, h2o_req_t *req)
{
    body_send_next((struct body_gen *)self, req);
}

static void body_stop(h2o_generator_t *self, h2o_req_t *req)
{
    (void)self;
    (void)req; /* the buffer is freed with the request pool */
}

static void body_dispose(void *p)
{
    struct body_gen *g = p;
    free(g->data);
    g->data = NULL;
}

/* A lent body (a big JSON LIST: the engine's cached object bytes). Over plain HTTP/1.1 the
 * pieces go to writev as they are, a batch per proceed; TLS and HTTP/2 copy what they send
 * anyway (records, frames), and a 1-byte piece would become a record of its own, so there the
 * pieces are packed into one staging buffer per proceed instead. */
#define HTTP_IOV_BATCH 1024
#define HTTP_IOV_BATCH_BYTES ((size_t)4 << 20)

struct lent_gen {
    h2o_generator_t super;
    struct api_iov_body b;
    size_t pos, off; /* next piece, and bytes of it already sent (staging mode) */
    char *stage;     /* NULL: zero-copy mode */
    h2o_iovec_t vec[HTTP_IOV_BATCH];
};

static void lent_send_next(struct lent_gen *g, h2o_req_t *req)
{
    size_t k = 0, bytes = 0;
    if (!g->stage) {
        while (g->pos < g->b.niov && k < HTTP_IOV_BATCH && bytes < HTTP_IOV_BATCH_BYTES) {
            const struct api_iov *v = &g->b.iov[g->pos++];
            g->vec[k++] = h2o_iovec_init(v->base, v->len);
            bytes += v->len;
        }
    } else {
        while (g->pos < g->b.niov && bytes < HTTP_CHUNK) {
            const struct api_iov *v = &g->b.iov[g->pos];
            size_t n = v->len - g->off < HTTP_CHUNK - bytes ? v->len - g->off : HTTP_CHUNK - bytes;
            memcpy(g->stage + bytes, v->base + g->off, n);
            bytes += n;
            g->off += n;
            if (g->off == v->len) {
                g->pos++;
                g->off = 0;
            }
        }
        g->vec[k++] = h2o_iovec_init(g->stage, bytes);
    }
    h2o_send(req, g->vec, k, g->pos == g->b.niov ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void lent_proceed(h2o_generator_t *self, h2o_req_t *req)
{
    lent_send_next((struct lent_gen *)self, req);
}

static void lent_dispose(void *p)
{
    struct lent_gen *g = p;
    api_iov_body_release(&g->b);
    free(g->stage);
    g->stage = NULL;
}

static void respond_lent(h2o_req_t *req, struct api_response *rs)
{
    struct lent_gen *g = h2o_mem_alloc_shared(&req->pool, sizeof(*g), lent_dispose);
    bool plain = req->version < 0x200 && req->scheme != &H2O_URL_SCHEME_HTTPS;

    http_set_common_headers(req, rs);
    g->super.proceed = lent_proceed;
    g->super.stop = body_stop;
    g->b = rs->lent;
    memset(&rs->lent, 0, sizeof(rs->lent));
    g->pos = g->off = 0;
    g->stage = plain ? NULL : ck_malloc(HTTP_CHUNK);
    response_release(rs);
    req->res.content_length = g->b.len;
    h2o_start_response(req, &g->super);
    lent_send_next(g, req);
}

/* HEAD: the headers of the GET (Content-Length included) and no body; h2o 2.2 does not drop
 * a generator's body for HEAD itself. */
static void head_noop(h2o_generator_t *self, h2o_req_t *req)
{
    (void)self;
    (void)req;
}

static void respond_head(h2o_req_t *req, struct api_response *rs)
{
    static h2o_generator_t none = {head_noop, head_noop};

    http_set_common_headers(req, rs);
    req->res.content_length = rs->lent.niov ? rs->lent.len : rs->body.len;
    response_release(rs);
    h2o_start_response(req, &none);
    h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
}

void http_respond(h2o_req_t *req, struct api_response *rs)
{
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
        respond_head(req, rs);
        return;
    }
    if (rs->lent.niov) {
        respond_lent(req, rs);
        return;
    }
    struct body_gen *g = h2o_mem_alloc_shared(&req->pool, sizeof(*g), body_dispose);

    http_set_common_headers(req, rs);
    g->super.proceed = body_proceed;
    g->super.stop = body_stop;
    g->off = 0;
    g->data = ck_buf_detach(&rs->body, &g->len);
    response_release(rs);
    req->res.content_length = g->len;
    h2o_start_response(req, &g->super);
    body_send_next(g, req);
}

void http_respond_bytes(h2o_req_t *req, int status, char *body, size_t len)
{
    struct body_gen *g = h2o_mem_alloc_shared(&req->pool, sizeof(*g), body_dispose);

    req->res.status = status;
    req->res.reason = reason_phrase(status);
    g->super.proceed = body_proceed;
    g->super.stop = body_stop;
    g->off = 0;
    g->data = body;
    g->len = len;
    if (!len || h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
        static h2o_generator_t none = {head_noop, head_noop};
        if (!len)
            req->res.content_length = 0;
        h2o_start_response(req, &none);
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
        return;
    }
    req->res.content_length = len;
    h2o_start_response(req, &g->super);
    body_send_next(g, req);
}

static void respond_counted(struct http_server *s, h2o_req_t *req, struct api_response *rs,
                            int midx, int64_t t0)
{
    int status = rs->status;

    http_respond(req, rs);
    http_metrics_observe(&s->m, midx, status, ck_mono_ns() - t0, true);
    atomic_fetch_sub(&s->m.in_flight, 1);
}

static void respond_error(struct http_server *s, h2o_req_t *req, struct ck_err *err, int midx,
                          int64_t t0)
{
    struct api_response rs;

    response_init(&rs);
    s->ops->write_status(&rs, err);
    if (err->retry_after > 0) {
        char *v = h2o_mem_alloc_pool(&req->pool, 16);
        int n = snprintf(v, 16, "%d", err->retry_after);
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("retry-after"), 0, NULL,
                              v, (size_t)n);
    }
    respond_counted(s, req, &rs, midx, t0);
}

static void respond_text(struct http_server *s, h2o_req_t *req, int status, struct ck_buf *b,
                         int midx, int64_t t0)
{
    struct api_response rs;

    response_init(&rs);
    rs.status = status;
    snprintf(rs.content_type, sizeof(rs.content_type), "%s",
             strncmp(b->data ? b->data : "", "# ", 2) ? "text/plain; charset=utf-8"
                                                      : "text/plain; version=0.0.4");
    rs.body = *b;
    *b = (struct ck_buf)CK_BUF_INIT(0);
    respond_counted(s, req, &rs, midx, t0);
}

/* ---- health and metrics --------------------------------------------------------------- */

static void respond_health(struct http_server *s, h2o_req_t *req, enum http_route r,
                           const char *path, const char *check, int midx, int64_t t0)
{
    struct ck_buf b = CK_BUF_INIT(1 << 16);
    size_t qlen = req->query_at == SIZE_MAX ? 0 : req->path.len - req->query_at - 1;
    const char *q = req->query_at == SIZE_MAX ? "" : req->path.base + req->query_at + 1;
    int status = http_health_render(s, r, check, q, qlen, &b);
    size_t len = b.len;

    if (status == 404) {
        struct ck_err err = CK_ERR_INIT;
        ck_buf_release(&b);
        ck_err_set(&err, CK_R_NOT_FOUND, "the server could not find the requested resource");
        respond_error(s, req, &err, midx, t0);
        http_metrics_request(NULL, path, 404, ck_mono_ns() - t0, 0);
        return;
    }
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0,
                          NULL, H2O_STRLIT("nosniff"));
    respond_text(s, req, status, &b, midx, t0);
    http_metrics_request(NULL, path, status, ck_mono_ns() - t0, len);
}

static void respond_metrics(struct http_server *s, h2o_req_t *req, int midx, int64_t t0)
{
    struct ck_buf b = CK_BUF_INIT(64 << 20);
    struct api_response rs;
    ssize_t ai = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT, -1);
    bool om = ai >= 0 && ck_metrics_wants_openmetrics(req->headers.entries[ai].value.base,
                                                      req->headers.entries[ai].value.len);

    http_metrics_render(s, &b);
    response_init(&rs);
    rs.status = 200;
    if (om) {
        struct ck_buf o = CK_BUF_INIT(64 << 20);
        ck_metrics_to_openmetrics(b.data ? b.data : "", b.len, &o);
        ck_buf_release(&b);
        b = o;
    }
    snprintf(rs.content_type, sizeof(rs.content_type), "%s",
             om ? CK_METRICS_OM_CTYPE : CK_METRICS_TEXT_CTYPE);
    size_t len = b.len;
    rs.body = b;
    respond_counted(s, req, &rs, midx, t0);
    http_metrics_request(NULL, "/metrics", 200, ck_mono_ns() - t0, len);
}

/* ---- worker pool ---------------------------------------------------------------------- */

static void job_free(struct http_job *j)
{
    response_release(&j->rs);
    free(j->path);
    free(j->query);
    free(j->ctype);
    free(j->accept);
    free(j->ua);
    free(j->body);
    free(j->user);
    for (size_t i = 0; j->groups && j->groups[i]; i++)
        free(j->groups[i]);
    free(j->groups);
    if (j->px)
        http_proxy_free(j->px);
    http_stream_free(j->st);
    http_apf_ticket_free(j->lp->srv, j->apf); /* apf */
    free(j);
}

static void on_req_gone(void *p)
{
    struct http_job **holder = p;
    if (*holder) {
        (*holder)->req = NULL;
        http_apf_cancel((*holder)->apf); /* apf: a queued job is dropped unrun */
    }
}

static char *header_dup(h2o_req_t *req, const h2o_token_t *t)
{
    ssize_t i = h2o_find_header(&req->headers, t, -1);
    if (i < 0)
        return NULL;
    return ck_strndup(req->headers.entries[i].value.base, req->headers.entries[i].value.len);
}

/* Queues the request for a worker; false (nothing queued) when the queue is full. */
/* GET, HEAD, OPTIONS: upstream's readOnly request kind (the rest is mutating). */
static bool is_read_only(int midx)
{
    return midx == 0 || midx == 1 || midx == 6;
}

static bool submit_job(struct http_loop *lp, h2o_req_t *req, const char *path, int midx,
                       int64_t t0, const struct authn_user *u, bool proxy, bool stream)
{
    struct http_server *s = lp->srv;
    struct http_job *j;
    bool full;

    pthread_mutex_lock(&s->mu);
    full = s->njobs >= s->o.max_queue;
    pthread_mutex_unlock(&s->mu);
    if (full)
        return false;
    /* apf: classified first; a 429 (level or connection limit) is answered from here */
    struct http_apf_ticket *tk = http_apf_classify(s, req, path, u, midx, proxy || stream);
    if (tk && !http_apf_precheck(s, tk, req, midx, t0))
        return true;
    j = ck_calloc(1, sizeof(*j));
    j->apf = tk;

    j->lp = lp;
    j->req = req;
    j->midx = midx;
    j->start_ns = t0;
    j->path = ck_strdup(path);
    if (req->query_at != SIZE_MAX)
        j->query = ck_strndup(req->path.base + req->query_at + 1,
                              req->path.len - req->query_at - 1);
    j->ctype = header_dup(req, H2O_TOKEN_CONTENT_TYPE);
    j->accept = header_dup(req, H2O_TOKEN_ACCEPT);
    j->ua = header_dup(req, H2O_TOKEN_USER_AGENT);
    j->body = ck_malloc(req->entity.len + 1);
    if (req->entity.len)
        memcpy(j->body, req->entity.base, req->entity.len);
    j->body[req->entity.len] = '\0';
    j->user = ck_strdup(u->name);
    for (size_t n = 0;; n++) {
        j->groups = ck_realloc(j->groups, (n + 1) * sizeof(char *));
        j->groups[n] = u->groups && u->groups[n] ? ck_strdup(u->groups[n]) : NULL;
        if (!j->groups[n])
            break;
    }
    j->rq = (struct api_request){
        .method = http_method_name(midx), .path = j->path, .query = j->query,
        .content_type = j->ctype, .accept = j->accept, .user_agent = j->ua,
        .user = j->user, .groups = (const char *const *)j->groups, .body = j->body,
        .body_len = req->entity.len,
    };
    if (proxy)
        http_proxy_prepare(j, req);
    else if (stream)
        j->st = http_stream_prepare(s, req, path);
    if (midx == HTTP_NMETHODS - 1) /* unknown verb: let the engine answer 405 */
        j->rq.method = ck_strndup(req->method.base, req->method.len);
    response_init(&j->rs);
    j->rs.want_iov = true;
    j->holder = h2o_mem_alloc_shared(&req->pool, sizeof(*j->holder), on_req_gone);
    *j->holder = j;
    atomic_fetch_add(&lp->outstanding, 1);
    http_metrics_inflight(&s->m, !is_read_only(midx), 1);
    if (tk && http_apf_enqueue(s, j)) /* apf: waits in its queue for seats */
        return true;
    pthread_mutex_lock(&s->mu);
    h2o_linklist_insert(&s->jobs, &j->msg.link);
    s->njobs++;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return true;
}

static void *worker_main(void *arg)
{
    struct http_server *s = arg;

    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (h2o_linklist_is_empty(&s->jobs) && !s->workers_stop)
            pthread_cond_wait(&s->cv, &s->mu);
        if (h2o_linklist_is_empty(&s->jobs)) {
            pthread_mutex_unlock(&s->mu);
            return NULL;
        }
        struct http_job *j = H2O_STRUCT_FROM_MEMBER(struct http_job, msg.link, s->jobs.next);
        h2o_linklist_unlink(&j->msg.link);
        s->njobs--;
        pthread_mutex_unlock(&s->mu);
        j->w = NULL;
        if (http_apf_skip(j->apf))
            ; /* apf: the client left, or the job timed out in its queue */
        else if (j->px)
            http_proxy_run(s, j);
        else if (j->st)
            http_stream_run(s, j);
        else
            j->res = s->ops->handle(s->eng, &j->rq, &j->rs, &j->w);
        h2o_multithread_send_message(&j->lp->job_rx, &j->msg);
    }
}

int http_pool_start(struct http_server *s, struct ck_err *err)
{
    if (http_health_start(s, err) < 0)
        return -1;
    s->workers = ck_calloc((size_t)s->nworkers, sizeof(pthread_t));
    for (int i = 0; i < s->nworkers; i++) {
        int rc = pthread_create(&s->workers[i], NULL, worker_main, s);
        if (rc) {
            s->nworkers = i;
            return ck_err_sys(err, rc, "starting API worker thread");
        }
    }
    return 0;
}

void http_pool_stop(struct http_server *s)
{
    pthread_mutex_lock(&s->mu);
    s->workers_stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);
    free(s->workers);
    s->workers = NULL;
    s->nworkers = 0;
    http_health_stop(s);
}

void http_on_job_done(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages)
{
    struct http_loop *lp = H2O_STRUCT_FROM_MEMBER(struct http_loop, job_rx, rx);
    struct http_server *s = lp->srv;

    while (!h2o_linklist_is_empty(messages)) {
        struct http_job *j = H2O_STRUCT_FROM_MEMBER(struct http_job, msg.link, messages->next);
        h2o_linklist_unlink(&j->msg.link);
        atomic_fetch_sub(&lp->outstanding, 1);
        http_metrics_inflight(&s->m, !is_read_only(j->midx), -1);
        if (!j->px && !j->st)
            http_metrics_request(&j->rs.info, j->path, j->rs.status, ck_mono_ns() - j->start_ns,
                                 j->rs.lent.niov ? j->rs.lent.len : j->rs.body.len);
        if (j->midx == HTTP_NMETHODS - 1)
            free((char *)j->rq.method);
        if (!j->req) { /* the client went away while the engine worked */
            http_apf_respond(s, j); /* apf: its seats back */
            if (j->w)
                s->ops->watch_close(j->w);
            atomic_fetch_sub(&s->m.in_flight, 1);
        } else {
            *j->holder = NULL;
            if (http_apf_respond(s, j)) { /* apf: a 429 after its queue (see http_apf.h) */
                ;
            } else if (j->st) {
                int status = j->st->ok ? 101 : j->st->kresp.status ? j->st->kresp.status
                                                                    : j->rs.status;
                http_stream_respond(j->req, j);
                http_metrics_observe(&s->m, j->midx, status, ck_mono_ns() - j->start_ns, false);
                atomic_fetch_sub(&s->m.in_flight, 1);
            } else if (j->px) {
                int status = j->rs.status;
                http_proxy_respond(j->req, j);
                http_metrics_observe(&s->m, j->midx, status, ck_mono_ns() - j->start_ns, true);
                atomic_fetch_sub(&s->m.in_flight, 1);
            } else if (j->res == API_WATCH && j->w) {
                http_audit_job(j->req, j, true); /* encaudit */
                http_metrics_observe(&s->m, j->midx, j->rs.status, 0, false);
                atomic_fetch_sub(&s->m.in_flight, 1);
                http_watch_begin(lp, j->req, j->w, &j->rs);
            } else {
                http_audit_job(j->req, j, false); /* encaudit */
                respond_counted(s, j->req, &j->rs, j->midx, j->start_ns);
            }
        }
        job_free(j);
    }
}

/* ---- impersonation ------------------------------------------------------------------- */

/* Upstream's responsewriters.InternalError: plain text, not a Status. */
static void respond_plain_500(struct http_server *s, h2o_req_t *req, const char *msg, int midx,
                              int64_t t0)
{
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    char *text = ck_asprintf("Internal Server Error: \"%.*s\": %s", (int)req->path.len,
                             req->path.base, msg);

    for (const char *p = text; *p; p++) {
        if (*p == '&')
            ck_buf_appends(&b, "&amp;");
        else if (*p == '<')
            ck_buf_appends(&b, "&lt;");
        else if (*p == '>')
            ck_buf_appends(&b, "&gt;");
        else
            ck_buf_appendc(&b, *p);
    }
    ck_buf_appendc(&b, '\n');
    free(text);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0,
                          NULL, H2O_STRLIT("nosniff"));
    respond_text(s, req, 500, &b, midx, t0);
}

/* Applies Impersonate-* headers (upstream's WithImpersonation). Returns 0 with *as filled
 * (owned) when the request impersonates, 1 when it does not, -1 when it was answered. */
static int impersonation(struct http_server *s, h2o_req_t *req, const struct authn_user *who,
                         struct authn_user *as, int midx, int64_t t0)
{
    bool anonymous = who == NULL;
    size_t nh = req->headers.size;
    struct authn_header *h = h2o_mem_alloc_pool(&req->pool, (nh ? nh : 1) * sizeof(*h));
    struct authn_imp imp;
    struct ck_err err = CK_ERR_INIT;
    char msg[4096];
    int rc;

    for (size_t i = 0; i < nh; i++) {
        const h2o_header_t *e = &req->headers.entries[i];
        h[i] = (struct authn_header){e->name->base, e->name->len, e->value.base, e->value.len};
    }
    if (authn_impersonation_parse(h, nh, &imp, msg, sizeof(msg)) < 0) {
        if (anonymous)
            goto unauthorized;
        respond_plain_500(s, req, msg, midx, t0);
        return -1;
    }
    if (!imp.n)
        return 1;
    if (anonymous) {
        authn_imp_release(&imp);
        goto unauthorized;
    }
    if (s->o.may_impersonate)
        rc = authn_impersonate(who, &imp, s->o.may_impersonate, s->o.may_impersonate_arg, as,
                               &err);
    else
        rc = authn_impersonate(who, &imp, http_may_impersonate_rbac, s, as, &err);
    authn_imp_release(&imp);
    if (rc < 0) {
        respond_error(s, req, &err, midx, t0);
        return -1;
    }
    ck_v(4, "%s is impersonating %s", who->name, as->name);
    return 0;
unauthorized:
    ck_err_set(&err, CK_R_UNAUTHORIZED, "Unauthorized");
    respond_error(s, req, &err, midx, t0);
    return -1;
}

/* ---- the handler ---------------------------------------------------------------------- */

static void dispatch(struct http_loop *lp, h2o_req_t *req, const char *path, enum http_route r,
                     const char *check, const struct authn_user *u, int midx, int64_t t0)
{
    struct http_server *s = lp->srv;
    struct ck_err err = CK_ERR_INIT;

    if (r == HTTP_ROUTE_METRICS)
        respond_metrics(s, req, midx, t0);
    else if (r != HTTP_ROUTE_API)
        respond_health(s, req, r, path, check, midx, t0);
    else if (http_podlog_match(path, req->method.base, req->method.len) && /* kubesrv: pods/log */
             http_podlog_begin(lp, req, path, u, midx, t0))
        ; /* kubesrv: answered from the loop as the kubelet's body arrives */
    else if (!submit_job(lp, req, path, midx, t0, u, http_proxy_match(path),
                         http_stream_match(path))) {
        ck_err_set(&err, CK_R_TOO_MANY_REQUESTS, "too many requests, please try again later");
        err.retry_after = 1;
        respond_error(s, req, &err, midx, t0);
    }
}

int http_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct http_loop *lp = H2O_STRUCT_FROM_MEMBER(struct http_loop, ctx, req->conn->ctx);
    struct http_server *s = lp->srv;
    int midx = http_method_index(req->method.base, req->method.len);
    int64_t t0 = ck_mono_ns();
    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    char *path = h2o_mem_alloc_pool(&req->pool, plen + 1);
    struct ck_err err = CK_ERR_INIT;
    struct authn_user as, who = {0};
    const char *check;
    enum http_route r;
    int auth, imp;

    (void)self;
    atomic_fetch_add(&s->m.in_flight, 1);
    http_audit_begin(s->o.audit, req); /* encaudit */
    if (req->version >= 0x200)
        http_h2_hook_conn(req->conn); /* h2c: hooked at its first request */
    if (http_path_decode(req->path.base, plen, path, plen + 1) < 0 || path[0] != '/') {
        ck_err_set(&err, CK_R_BAD_REQUEST, "malformed request path");
        respond_error(s, req, &err, midx, t0);
        return 0;
    }
    r = http_route_of(path, &check);
    if ((auth = http_authenticate(s, req, path, r, &who)) < 0) {
        ck_err_set(&err, CK_R_UNAUTHORIZED, "Unauthorized");
        respond_error(s, req, &err, midx, t0);
        return 0;
    }
    if ((imp = impersonation(s, req, auth == 1 ? NULL : &who, &as, midx, t0)) < 0) {
        authn_user_release(&who);
        return 0;
    }
    http_audit_user(req, path, auth == 0 ? &who : NULL, imp == 0 ? &as : NULL); /* encaudit */
    if (auth == 0 && !http_authorize(s, imp == 0 ? &as : &who, req, path, midx, &err)) {
        http_audit_forbid(req, NULL); /* encaudit */
        respond_error(s, req, &err, midx, t0);
    } else if (req == lp->too_large || req->entity.len > s->o.max_body) {
        /* upstream's limitedReadBody */
        ck_err_set(&err, CK_R_TOO_LARGE, "Request entity too large: limit is %zu", s->o.max_body);
        respond_error(s, req, &err, midx, t0);
    } else {
        static char *const admin_g[] = {"system:masters", "system:authenticated", NULL};
        struct authn_user admin = {.name = "system:admin", .groups = (char **)admin_g};

        ck_v(6, "%.*s %.*s", (int)req->method.len, req->method.base, (int)req->path.len,
             req->path.base);
        dispatch(lp, req, path, r, check, imp == 0 ? &as : auth == 0 ? &who : &admin, midx,
                 t0);
    }
    if (imp == 0)
        authn_user_release(&as);
    authn_user_release(&who);
    return 0;
}
