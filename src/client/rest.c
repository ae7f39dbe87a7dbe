/* SPDX-License-Identifier: Apache-2.0 */
/* REST client over libcurl: a pool of easy handles (each keeps its connections alive), a token
 * bucket for client-side throttling, retries for 429/5xx, Status decoding, watch streaming. */
#include "ckube/client.h"
#include "ckube/wq.h"
#include "client/rest_int.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "lib/version.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_RETRIES 5
#define RESP_MAX ((size_t)512 << 20)


static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *dup_or_null(const char *s)
{
    return s ? ck_strdup(s) : NULL;
}

int ck_client_new(const struct ck_client_config *cfg, struct ck_client **out, struct ck_err *err)
{
    if (!cfg->server || !*cfg->server)
        return ck_err_set(err, CK_R_BAD_REQUEST, "client config has no server");
    pthread_once(&curl_once, curl_init_once);
    struct ck_client *c = ck_calloc(1, sizeof(*c));
    c->cfg.server = ck_strdup(cfg->server);
    size_t sl = strlen(c->cfg.server);
    while (sl && c->cfg.server[sl - 1] == '/')
        c->cfg.server[--sl] = 0;
    c->cfg.ca_file = dup_or_null(cfg->ca_file);
    c->cfg.ca_data = dup_or_null(cfg->ca_data);
    c->cfg.cert_file = dup_or_null(cfg->cert_file);
    c->cfg.key_file = dup_or_null(cfg->key_file);
    c->cfg.cert_data = dup_or_null(cfg->cert_data);
    c->cfg.key_data = dup_or_null(cfg->key_data);
    c->cfg.token = dup_or_null(cfg->token);
    c->cfg.insecure = cfg->insecure;
    c->cfg.qps = cfg->qps > 0 ? cfg->qps : 5;
    c->cfg.burst = cfg->burst > 0 ? cfg->burst : 10;
    c->cfg.timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
    c->ua = cfg->user_agent ? ck_strdup(cfg->user_agent) : ck_strdup("ckube/" CK_VERSION);
    pthread_mutex_init(&c->mu, NULL);
    c->throttle = wq_limiter_bucket(c->cfg.qps, c->cfg.burst, NULL);
    if (c->cfg.token) {
        char *h = ck_asprintf("Authorization: Bearer %s", c->cfg.token);
        c->base_headers = curl_slist_append(c->base_headers, h);
        free(h);
    }
    *out = c;
    return 0;
}

void ck_client_free(struct ck_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->npool; i++)
        curl_easy_cleanup(c->pool[i]);
    curl_slist_free_all(c->base_headers);
    wq_limiter_free(c->throttle);
    pthread_mutex_destroy(&c->mu);
    free(c->ua);
    ck_client_config_release(&c->cfg);
    free(c);
}

void ck_response_release(struct ck_response *r)
{
    if (r)
        ck_buf_release(&r->body);
}

static CURL *take_handle(struct ck_client *c)
{
    pthread_mutex_lock(&c->mu);
    CURL *h = c->npool ? c->pool[--c->npool] : NULL;
    pthread_mutex_unlock(&c->mu);
    if (h) {
        curl_easy_reset(h); /* keeps the connection cache */
        return h;
    }
    h = curl_easy_init();
    if (!h)
        ck_fatal("curl_easy_init failed");
    return h;
}

static void give_handle(struct ck_client *c, CURL *h)
{
    pthread_mutex_lock(&c->mu);
    if (c->npool < POOL_MAX) {
        c->pool[c->npool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (h)
        curl_easy_cleanup(h);
}

static void set_tls(struct ck_client *c, CURL *h)
{
    if (c->cfg.insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->cfg.ca_data) {
        struct curl_blob b = {c->cfg.ca_data, strlen(c->cfg.ca_data), CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
    } else if (c->cfg.ca_file) {
        curl_easy_setopt(h, CURLOPT_CAINFO, c->cfg.ca_file);
    }
    if (c->cfg.cert_data) {
        struct curl_blob b = {c->cfg.cert_data, strlen(c->cfg.cert_data), CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &b);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    } else if (c->cfg.cert_file) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, c->cfg.cert_file);
    }
    if (c->cfg.key_data) {
        struct curl_blob b = {c->cfg.key_data, strlen(c->cfg.key_data), CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &b);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    } else if (c->cfg.key_file) {
        curl_easy_setopt(h, CURLOPT_SSLKEY, c->cfg.key_file);
    }
}

static size_t collect(char *p, size_t sz, size_t n, void *arg)
{
    struct ck_buf *b = arg;
    if (ck_buf_append(b, p, sz * n) < 0)
        return 0; /* past the ceiling: abort the transfer */
    return sz * n;
}

struct hdr_state {
    int retry_after;
};

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
    struct hdr_state *hs = arg;
    size_t len = sz * n;
    if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
        hs->retry_after = atoi(p + 12);
    return len;
}

static void prepare(struct ck_client *c, CURL *h, const char *method, const char *url,
                    struct curl_slist *headers)
{
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->ua);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* gzip if offered */
    set_tls(c, h);
}

/* Fills err from a non-2xx response: a Status object when there is one. */
static int status_error(int code, const struct ck_buf *body, struct ck_err *err)
{
    enum ck_reason r = code == 404   ? CK_R_NOT_FOUND
                       : code == 409 ? CK_R_CONFLICT
                       : code == 410 ? CK_R_GONE
                       : code == 422 ? CK_R_INVALID
                       : code == 401 ? CK_R_UNAUTHORIZED
                       : code == 403 ? CK_R_FORBIDDEN
                       : code == 429 ? CK_R_TOO_MANY_REQUESTS
                       : code == 504 ? CK_R_TIMEOUT
                       : code >= 500 ? CK_R_INTERNAL
                                     : CK_R_BAD_REQUEST;
    json_t *st = body->len ? json_loadb(body->data, body->len, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(st, "message"));
    const char *reason = json_string_value(json_object_get(st, "reason"));
    static const enum ck_reason known[] = {
        CK_R_BAD_REQUEST,  CK_R_UNAUTHORIZED,   CK_R_FORBIDDEN,      CK_R_NOT_FOUND,
        CK_R_ALREADY_EXISTS, CK_R_CONFLICT,     CK_R_GONE,           CK_R_EXPIRED,
        CK_R_TOO_LARGE,    CK_R_UNSUPPORTED_MEDIA, CK_R_INVALID,     CK_R_TOO_MANY_REQUESTS,
        CK_R_INTERNAL,     CK_R_SERVICE_UNAVAILABLE, CK_R_TIMEOUT,   CK_R_METHOD_NOT_ALLOWED,
        CK_R_NOT_ACCEPTABLE,
    };
    for (size_t i = 0; reason && i < sizeof(known) / sizeof(known[0]); i++)
        if (!strcmp(ck_reason_str(known[i]), reason))
            r = known[i];
    ck_err_set(err, r, "%s", msg ? msg : (body->len ? body->data : "(empty response)"));
    if (err)
        err->code = code;
    json_decref(st);
    return -1;
}

static bool idempotent(const char *method)
{
    return !strcmp(method, "GET") || !strcmp(method, "HEAD");
}

static void throttle(struct ck_client *c)
{
    int64_t wait = c->throttle->ops->when(c->throttle, "");
    if (wait > 0) {
        struct timespec ts = {(time_t)(wait / 1000000000LL), (long)(wait % 1000000000LL)};
        nanosleep(&ts, NULL);
    }
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int ck_client_do(struct ck_client *c, const char *method, const char *path,
                 const char *content_type, const void *body, size_t body_len,
                 struct ck_response *resp, struct ck_err *err)
{
    struct ck_response local = {0, CK_BUF_INIT(RESP_MAX)};
    struct ck_response *r = resp ? resp : &local;
    r->body.max = RESP_MAX;
    char *url = ck_asprintf("%s%s", c->cfg.server, path);
    struct curl_slist *hdrs = NULL;
    for (struct curl_slist *s = c->base_headers; s; s = s->next)
        hdrs = curl_slist_append(hdrs, s->data);
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (content_type) {
        char *h = ck_asprintf("Content-Type: %s", content_type);
        hdrs = curl_slist_append(hdrs, h);
        free(h);
    }
    int rc = -1;
    for (int attempt = 0;; attempt++) {
        throttle(c);
        CURL *h = take_handle(c);
        prepare(c, h, method, url, hdrs);
        struct hdr_state hs = {0};
        ck_buf_reset(&r->body);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->cfg.timeout_ms);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &hs);
        if (body) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        }
        CURLcode cc = curl_easy_perform(h);
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        give_handle(c, h);
        r->status = (int)code;
        bool retry = false;
        int64_t backoff = 100LL << (attempt < 6 ? attempt : 6);
        if (cc != CURLE_OK) {
            ck_err_set(err, cc == CURLE_OPERATION_TIMEDOUT ? CK_R_TIMEOUT : CK_R_SERVICE_UNAVAILABLE,
                       "%s %s: %s", method, path, curl_easy_strerror(cc));
            retry = idempotent(method) && cc != CURLE_OPERATION_TIMEDOUT;
        } else if (code >= 200 && code < 300) {
            rc = 0;
            break;
        } else {
            status_error((int)code, &r->body, err);
            retry = code == 429 || (code >= 500 && idempotent(method) && code != 504);
            if (hs.retry_after > 0)
                backoff = hs.retry_after * 1000LL;
        }
        if (!retry || attempt >= MAX_RETRIES)
            break;
        ck_v(2, "%s %s: retrying in %lld ms (attempt %d)", method, path, (long long)backoff,
             attempt + 1);
        sleep_ms(backoff > 10000 ? 10000 : backoff);
    }
    curl_slist_free_all(hdrs);
    free(url);
    ck_buf_release(&local.body);
    return rc;
}

static int do_json(struct ck_client *c, const char *method, const char *path, const char *ctype,
                   const json_t *in, json_t **out, struct ck_err *err)
{
    char *body = in ? json_dumps(in, JSON_COMPACT) : NULL;
    struct ck_response r = {0, CK_BUF_INIT(RESP_MAX)};
    int rc = ck_client_do(c, method, path, in ? ctype : NULL, body, body ? strlen(body) : 0, &r,
                          err);
    free(body);
    if (rc == 0 && out) {
        json_error_t je;
        *out = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, &je);
        if (!*out)
            rc = ck_err_set(err, CK_R_INTERNAL, "%s %s: response is not JSON: %s", method, path,
                            je.text);
    }
    ck_response_release(&r);
    return rc;
}

int ck_client_get_json(struct ck_client *c, const char *path, json_t **out, struct ck_err *err)
{
    return do_json(c, "GET", path, NULL, NULL, out, err);
}

int ck_client_create_json(struct ck_client *c, const char *path, const json_t *obj, json_t **out,
                          struct ck_err *err)
{
    return do_json(c, "POST", path, "application/json", obj, out, err);
}

int ck_client_update_json(struct ck_client *c, const char *path, const json_t *obj, json_t **out,
                          struct ck_err *err)
{
    return do_json(c, "PUT", path, "application/json", obj, out, err);
}

int ck_client_patch_json(struct ck_client *c, const char *path, const char *patch_type,
                         const json_t *patch, json_t **out, struct ck_err *err)
{
    return do_json(c, "PATCH", path, patch_type, patch, out, err);
}

int ck_client_delete(struct ck_client *c, const char *path, struct ck_err *err)
{
    return do_json(c, "DELETE", path, NULL, NULL, NULL, err);
}

/* ---- watch streams ------------------------------------------------------------------------ */

struct stream {
    struct ck_buf buf;
    ck_watch_fn fn;
    void *arg;
    volatile int *stop;
    int cb_rc;
    bool bad;
};

/* Decodes every complete JSON value in the buffer (events may or may not be newline-separated). */
static size_t on_stream(char *p, size_t sz, size_t n, void *arg)
{
    struct stream *s = arg;
    if (ck_buf_append(&s->buf, p, sz * n) < 0) {
        s->bad = true;
        return 0;
    }
    size_t off = 0;
    while (off < s->buf.len) {
        while (off < s->buf.len && (s->buf.data[off] == '\n' || s->buf.data[off] == ' ' ||
                                    s->buf.data[off] == '\r'))
            off++;
        if (off == s->buf.len)
            break;
        json_error_t je;
        json_t *ev = json_loadb(s->buf.data + off, s->buf.len - off, JSON_DISABLE_EOF_CHECK, &je);
        if (!ev)
            break; /* incomplete: wait for more bytes */
        off += (size_t)je.position;
        int rc = s->fn(s->arg, ev);
        json_decref(ev);
        if (rc) {
            s->cb_rc = rc;
            return 0;
        }
    }
    memmove(s->buf.data, s->buf.data + off, s->buf.len - off);
    s->buf.len -= off;
    if (s->stop && *s->stop)
        return 0;
    return sz * n;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    struct stream *s = arg;
    return s->stop && *s->stop ? 1 : 0;
}

int ck_client_watch(struct ck_client *c, const char *path, int idle_timeout_ms, ck_watch_fn on_event,
                    void *arg, volatile int *stop, struct ck_err *err)
{
    char *url = ck_asprintf("%s%s", c->cfg.server, path);
    struct curl_slist *hdrs = NULL;
    for (struct curl_slist *s = c->base_headers; s; s = s->next)
        hdrs = curl_slist_append(hdrs, s->data);
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    struct stream st = {CK_BUF_INIT(64 << 20), on_event, arg, stop, 0, false};
    throttle(c);
    CURL *h = take_handle(c);
    prepare(c, h, "GET", url, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_stream);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &st);
    long idle_s = (idle_timeout_ms > 0 ? idle_timeout_ms : 300000) / 1000;
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, idle_s > 0 ? idle_s : 1L);
    CURLcode cc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    int rc = 0;
    if (st.cb_rc) {
        rc = st.cb_rc;
    } else if (stop && *stop) {
        rc = 0;
    } else if (code && (code < 200 || code >= 300)) {
        rc = status_error((int)code, &st.buf, err);
    } else if (cc != CURLE_OK) {
        rc = ck_err_set(err, st.bad ? CK_R_TOO_LARGE : CK_R_SERVICE_UNAVAILABLE, "watch %s: %s",
                        path, st.bad ? "event too large" : curl_easy_strerror(cc));
    }
    /* a handle that streamed may hold a half-read connection: don't pool it */
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    ck_buf_release(&st.buf);
    free(url);
    return rc;
}

/* ---- for the other files of the client (rest_int.h) ------------------------------------- */

void ck_rest_prepare(struct ck_client *c, CURL *h, const char *method, const char *url,
                     struct curl_slist *headers)
{
    prepare(c, h, method, url, headers);
}

int ck_rest_status_error(int code, const struct ck_buf *body, struct ck_err *err)
{
    return status_error(code, body, err);
}
