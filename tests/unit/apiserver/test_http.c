/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP front end over real sockets (libcurl client, HTTP/1.1 and HTTP/2 over TLS with
 * the generated certificates), driven by a small fake engine through struct http_api_ops so
 * each transport behaviour is checked exactly: JSON Status errors, 413, 401, health, metrics,
 * keep-alive, chunked big bodies, and watch streaming including the client going away. */
#include "apiserver/http/http.h"
#include "apiserver/http/tls.h"
#include "lib/timeutil.h"

#include <curl/curl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define TOKEN "unit-test-token-0123"
#define BIG_LEN ((size_t)8 << 20)
#define WATCH_EVENTS 5

/* h2o keeps per-thread recycle bins of socket buffers that no API frees; the loop threads
 * exit with them. Suppress only leaks allocated inside libh2o. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libh2o-evloop.so\n";
}

/* ---- fake engine ---------------------------------------------------------------------- */

struct api_watch {
    pthread_mutex_t mu;
    pthread_t producer;
    int produced, drained;
    bool ended, stop, forever;
    void (*notify)(void *);
    void *arg;
};

static atomic_int watches_open, watches_closed;

static void fake_status(struct api_response *rs, const struct ck_err *err)
{
    rs->status = err->code ? err->code : ck_reason_http(err->reason);
    snprintf(rs->content_type, sizeof(rs->content_type), "application/json");
    ck_buf_reset(&rs->body);
    ck_buf_appendf(&rs->body,
                   "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                   "\"Failure\",\"message\":");
    ck_buf_append_json_str(&rs->body, err->msg, strlen(err->msg));
    ck_buf_appendf(&rs->body, ",\"reason\":\"%s\",\"code\":%d}", ck_reason_str(err->reason),
                   rs->status);
}

static void *producer_main(void *arg)
{
    struct api_watch *w = arg;

    for (int i = 0; i <= WATCH_EVENTS; i++) {
        usleep(60 * 1000);
        pthread_mutex_lock(&w->mu);
        if (w->stop) {
            pthread_mutex_unlock(&w->mu);
            return NULL;
        }
        if (w->forever && i > 0) { /* one event, then silence until closed */
            pthread_mutex_unlock(&w->mu);
            i--;
            continue;
        }
        if (i < WATCH_EVENTS)
            w->produced++;
        else
            w->ended = true;
        void (*n)(void *) = w->notify;
        void *a = w->arg;
        if (n)
            n(a); /* under the lock: close() cannot race with a running notify */
        pthread_mutex_unlock(&w->mu);
    }
    return NULL;
}

static void fake_set_notify(struct api_watch *w, void (*notify)(void *), void *arg)
{
    pthread_mutex_lock(&w->mu);
    w->notify = notify;
    w->arg = arg;
    pthread_mutex_unlock(&w->mu);
}

static int fake_drain(struct api_watch *w, struct ck_buf *out)
{
    int rc;

    pthread_mutex_lock(&w->mu);
    for (; w->drained < w->produced; w->drained++)
        ck_buf_appendf(out, "{\"type\":\"ADDED\",\"object\":{\"n\":%d}}\n", w->drained);
    rc = w->ended && w->drained == w->produced;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

static void fake_tick(struct api_watch *w, int64_t now)
{
    (void)w;
    (void)now;
}

static void fake_close(struct api_watch *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    w->notify = NULL;
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->producer, NULL);
    pthread_mutex_destroy(&w->mu);
    free(w);
    atomic_fetch_add(&watches_closed, 1);
}

static enum api_result fake_handle(void *eng, const struct api_request *rq,
                                   struct api_response *rs, struct api_watch **wp)
{
    (void)eng;
    snprintf(rs->content_type, sizeof(rs->content_type), "application/json");
    if (!strcmp(rq->path, "/api/v1/echo")) {
        rs->status = 200;
        ck_buf_appendf(&rs->body, "{\"method\":\"%s\",\"path\":\"%s\",\"query\":\"%s\","
                                  "\"len\":%zu,\"user\":\"%s\",\"ctype\":\"%s\"}",
                       rq->method, rq->path, rq->query ? rq->query : "", rq->body_len, rq->user,
                       rq->content_type ? rq->content_type : "");
        rs->warnings[0] = strdup("echo is deprecated");
        rs->nwarnings = 1;
        return API_DONE;
    }
    if (!strcmp(rq->path, "/api/v1/slow")) {
        usleep(1000 * 1000);
        rs->status = 200;
        ck_buf_appends(&rs->body, "{\"slow\":true}");
        return API_DONE;
    }
    if (!strcmp(rq->path, "/api/v1/big")) {
        char *p = ck_buf_reserve(&rs->body, BIG_LEN);
        for (size_t i = 0; i < BIG_LEN; i++)
            p[i] = (char)('a' + i % 26);
        rs->body.len = BIG_LEN;
        rs->body.data[BIG_LEN] = '\0';
        rs->status = 200;
        return API_DONE;
    }
    if (!strcmp(rq->path, "/api/v1/watch") || !strcmp(rq->path, "/api/v1/longwatch")) {
        struct api_watch *w = calloc(1, sizeof(*w));
        pthread_mutex_init(&w->mu, NULL);
        w->forever = !strcmp(rq->path, "/api/v1/longwatch");
        pthread_create(&w->producer, NULL, producer_main, w);
        atomic_fetch_add(&watches_open, 1);
        rs->status = 200;
        *wp = w;
        return API_WATCH;
    }
    struct ck_err err = CK_ERR_INIT;
    ck_err_set(&err, CK_R_NOT_FOUND, "the server could not find the requested resource");
    fake_status(rs, &err);
    return API_DONE;
}

static int fake_metrics(void *eng, struct ck_buf *out)
{
    (void)eng;
    return ck_buf_appends(out, "fake_engine_metric 42\n");
}

static const struct http_api_ops fake_ops = {
    .handle = fake_handle,
    .watch_set_notify = fake_set_notify,
    .watch_drain = fake_drain,
    .watch_tick = fake_tick,
    .watch_close = fake_close,
    .metrics = fake_metrics,
    .write_status = fake_status,
};

/* ---- fixture -------------------------------------------------------------------------- */

struct fx {
    char dir[64];
    char ca[128];
    struct http_server *srv;
    int sport, pport;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct ck_err err = CK_ERR_INIT;
    char cert[128], key[128];

    snprintf(f->dir, sizeof(f->dir), "/tmp/ck-http-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(tls_ensure_certs(f->dir, "127.0.0.1", &err), 0);
    snprintf(f->ca, sizeof(f->ca), "%s/ca.crt", f->dir);
    snprintf(cert, sizeof(cert), "%s/apiserver.crt", f->dir);
    snprintf(key, sizeof(key), "%s/apiserver.key", f->dir);
    struct http_opts o = {.bind_address = "127.0.0.1", .secure = true, .insecure = true,
                          .cert_file = cert, .key_file = key, .token = TOKEN, .nloops = 2,
                          .nworkers = 4};
    if (http_server_new(&o, &fake_ops, NULL, &f->srv, &err) < 0)
        fail_msg("http_server_new: %s", err.msg);
    f->sport = http_server_port(f->srv, true);
    f->pport = http_server_port(f->srv, false);
    assert_true(f->sport > 0 && f->pport > 0 && f->sport != f->pport);
    assert_int_equal(http_server_start(f->srv, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];

    http_server_stop(f->srv);
    http_server_free(f->srv);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* ---- client helpers ------------------------------------------------------------------- */

struct resp {
    long code;
    long version;
    struct ck_buf body;
    char ctype[128];
    char warning[256];
    int64_t first_data_ms, done_ms;
    size_t abort_after; /* abort the transfer once this many bytes arrived (0 = never) */
};

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    struct resp *r = ud;

    if (!r->first_data_ms && sz * n > 0)
        r->first_data_ms = ck_mono_ms();
    ck_buf_append(&r->body, p, sz * n);
    if (r->abort_after && r->body.len >= r->abort_after)
        return 0;
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t len = sz * n;

    if (len > 13 && !strncasecmp(p, "content-type:", 13))
        snprintf(r->ctype, sizeof(r->ctype), "%.*s", (int)(len - 14), p + 14);
    if (len > 8 && !strncasecmp(p, "warning:", 8))
        snprintf(r->warning, sizeof(r->warning), "%.*s", (int)(len - 9), p + 9);
    return len;
}

/* url relative to the server; tls selects the secure port; token may be NULL. */
static CURLcode do_req(struct fx *f, CURL *c, bool tls, bool h2, const char *method,
                       const char *path, const char *token, const char *body, size_t body_len,
                       struct resp *r)
{
    char url[512], auth[256];
    struct curl_slist *hdrs = NULL;
    CURLcode rc;

    memset(r, 0, offsetof(struct resp, abort_after));
    r->body = (struct ck_buf)CK_BUF_INIT(64 << 20);
    snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", tls ? "https" : "http",
             tls ? f->sport : f->pport, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_CAINFO, f->ca);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
                     h2 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    rc = curl_easy_perform(c);
    r->done_ms = ck_mono_ms();
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
    curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &r->version);
    curl_slist_free_all(hdrs);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    return rc;
}

static void resp_free(struct resp *r)
{
    ck_buf_release(&r->body);
}

static const char *body_of(struct resp *r)
{
    return r->body.data ? r->body.data : "";
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_not_found_is_json_status(void **state)
{
    struct fx *f = *state;
    CURL *c = curl_easy_init();
    struct resp r = {.abort_after = 0};

    assert_int_equal(do_req(f, c, false, false, "GET", "/no/such/thing", NULL, NULL, 0, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 404);
    assert_non_null(strstr(r.ctype, "application/json"));
    assert_non_null(strstr(body_of(&r), "\"kind\":\"Status\""));
    assert_non_null(strstr(body_of(&r), "\"reason\":\"NotFound\""));
    resp_free(&r);
    /* a malformed escape never reaches the engine: 400 Status from the front end */
    assert_int_equal(do_req(f, c, false, false, "GET", "/api/%zz", NULL, NULL, 0, &r), CURLE_OK);
    assert_int_equal(r.code, 400);
    assert_non_null(strstr(body_of(&r), "\"reason\":\"BadRequest\""));
    resp_free(&r);
    curl_easy_cleanup(c);
}

static void test_echo_keepalive_and_methods(void **state)
{
    struct fx *f = *state;
    CURL *c = curl_easy_init();
    struct resp r = {.abort_after = 0};
    long nconn = -1;
    const char *methods[] = {"POST", "PUT", "PATCH", "DELETE", "GET"};

    for (size_t i = 0; i < 5; i++) {
        char want[64];
        assert_int_equal(do_req(f, c, false, false, methods[i], "/api/v1/echo?a=1&b=%2F", NULL,
                                i < 4 ? "{\"x\":1}" : NULL, 7, &r),
                         CURLE_OK);
        assert_int_equal(r.code, 200);
        snprintf(want, sizeof(want), "\"method\":\"%s\"", methods[i]);
        assert_non_null(strstr(body_of(&r), want));
        assert_non_null(strstr(body_of(&r), "\"query\":\"a=1&b=%2F\""));
        assert_non_null(strstr(body_of(&r), i < 4 ? "\"len\":7" : "\"len\":0"));
        assert_non_null(strstr(body_of(&r), "\"user\":\"system:admin\""));
        assert_non_null(strstr(r.warning, "299 - \"echo is deprecated\""));
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &nconn);
        if (i > 0)
            assert_int_equal(nconn, 0); /* keep-alive: the connection was reused */
        resp_free(&r);
    }
    curl_easy_cleanup(c);
}

static void test_body_limit_413(void **state)
{
    struct fx *f = *state;
    CURL *c = curl_easy_init();
    struct resp r = {.abort_after = 0};
    size_t big = (size_t)4 << 20, ok = (size_t)3 << 20;
    char *body = malloc(big);

    memset(body, ' ', big);
    assert_int_equal(do_req(f, c, false, false, "POST", "/api/v1/echo", NULL, body, big, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 413);
    assert_non_null(strstr(body_of(&r), "\"reason\":\"RequestEntityTooLarge\""));
    resp_free(&r);
    /* exactly the limit passes, over HTTP/2 + TLS too */
    assert_int_equal(do_req(f, c, true, true, "PUT", "/api/v1/echo", TOKEN, body, ok, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(body_of(&r), "\"len\":3145728"));
    resp_free(&r);
    assert_int_equal(do_req(f, c, true, true, "PUT", "/api/v1/echo", TOKEN, body, ok + 1, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 413);
    resp_free(&r);
    free(body);
    curl_easy_cleanup(c);
}

static void test_auth_on_tls(void **state)
{
    struct fx *f = *state;
    CURL *c = curl_easy_init();
    struct resp r = {.abort_after = 0};

    assert_int_equal(do_req(f, c, true, false, "GET", "/api/v1/echo", NULL, NULL, 0, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 401);
    assert_non_null(strstr(body_of(&r), "\"reason\":\"Unauthorized\""));
    resp_free(&r);
    assert_int_equal(do_req(f, c, true, false, "GET", "/api/v1/echo", "wrong-token", NULL, 0, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 401);
    resp_free(&r);
    /* a prefix of the right token is still wrong */
    assert_int_equal(do_req(f, c, true, false, "GET", "/api/v1/echo", "unit-test", NULL, 0, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 401);
    resp_free(&r);
    /* a wrong token is never downgraded to anonymous, even for health */
    assert_int_equal(do_req(f, c, true, false, "GET", "/healthz", "nope", NULL, 0, &r), CURLE_OK);
    assert_int_equal(r.code, 401);
    resp_free(&r);
    assert_int_equal(do_req(f, c, true, false, "GET", "/metrics", NULL, NULL, 0, &r), CURLE_OK);
    assert_int_equal(r.code, 401);
    resp_free(&r);
    assert_int_equal(do_req(f, c, true, false, "GET", "/api/v1/echo", TOKEN, NULL, 0, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(body_of(&r), "\"user\":\"system:admin\""));
    resp_free(&r);
    curl_easy_cleanup(c);
}

static void test_health(void **state)
{
    struct fx *f = *state;
    CURL *c = curl_easy_init();
    struct resp r = {.abort_after = 0};
    const char *paths[] = {"/healthz", "/livez", "/readyz"};

    for (int i = 0; i < 3; i++) {
        assert_int_equal(do_req(f, c, true, false, "GET", paths[i], NULL, NULL, 0, &r), CURLE_OK);
        assert_int_equal(r.code, 200);
        assert_string_equal(body_of(&r), "ok");
        resp_free(&r);
    }
    assert_int_equal(do_req(f, c, false, false, "GET", "/readyz?verbose", NULL, NULL, 0, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(body_of(&r), "[+]ping ok\n"));
    assert_non_null(strstr(body_of(&r), "[+]shutdown ok\n"));
    assert_non_null(strstr(body_of(&r), "readyz check passed"));
    resp_free(&r);
    assert_int_equal(do_req(f, c, false, false, "GET", "/healthz/ping", NULL, NULL, 0, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 200);
    resp_free(&r);
    assert_int_equal(do_req(f, c, false, false, "GET", "/healthz/bogus", NULL, NULL, 0, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 404);
    assert_non_null(strstr(body_of(&r), "\"kind\":\"Status\""));
    resp_free(&r);
    curl_easy_cleanup(c);
}

static void test_http2_and_big_bodies(void **state)
{
    struct fx *f = *state;
    CURL *c = curl_easy_init();
    struct resp r = {.abort_after = 0};

    for (int h2 = 0; h2 < 2; h2++) {
        assert_int_equal(do_req(f, c, h2, h2, "GET", "/api/v1/big", TOKEN, NULL, 0, &r),
                         CURLE_OK);
        assert_int_equal(r.code, 200);
        assert_int_equal(r.version, h2 ? CURL_HTTP_VERSION_2_0 : CURL_HTTP_VERSION_1_1);
        assert_int_equal(r.body.len, BIG_LEN);
        for (size_t i = 0; i < BIG_LEN; i += 4099)
            assert_int_equal(r.body.data[i], (char)('a' + i % 26));
        assert_int_equal(r.body.data[BIG_LEN - 1], (char)('a' + (BIG_LEN - 1) % 26));
        resp_free(&r);
    }
    curl_easy_cleanup(c);
}

static void check_watch(struct fx *f, bool tls, bool h2)
{
    CURL *c = curl_easy_init();
    struct resp r = {.abort_after = 0};
    int closed0 = atomic_load(&watches_closed);

    assert_int_equal(do_req(f, c, tls, h2, "GET", "/api/v1/watch?watch=1", TOKEN, NULL, 0, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 200);
    assert_int_equal(r.version, h2 ? CURL_HTTP_VERSION_2_0 : CURL_HTTP_VERSION_1_1);
    for (int i = 0; i < WATCH_EVENTS; i++) {
        char want[64];
        snprintf(want, sizeof(want), "{\"type\":\"ADDED\",\"object\":{\"n\":%d}}\n", i);
        assert_non_null(strstr(body_of(&r), want));
    }
    /* streamed, not buffered: the first event came well before the end (~300 ms apart) */
    assert_true(r.first_data_ms > 0);
    assert_true(r.done_ms - r.first_data_ms >= 150);
    resp_free(&r);
    curl_easy_cleanup(c);
    for (int i = 0; i < 100 && atomic_load(&watches_closed) == closed0; i++)
        usleep(10 * 1000);
    assert_int_equal(atomic_load(&watches_closed), closed0 + 1);
}

static void test_watch_http1(void **state)
{
    check_watch(*state, false, false);
}

static void test_watch_http2(void **state)
{
    check_watch(*state, true, true);
}

static void test_watch_client_leaves(void **state)
{
    struct fx *f = *state;
    int closed0 = atomic_load(&watches_closed);

    for (int h2 = 0; h2 < 2; h2++) {
        CURL *c = curl_easy_init();
        struct resp r = {.abort_after = 0};
        r.abort_after = 1; /* drop the stream after the first event */
        assert_int_equal(do_req(f, c, h2, h2, "GET", "/api/v1/watch", TOKEN, NULL, 0, &r),
                         CURLE_WRITE_ERROR);
        resp_free(&r);
        curl_easy_cleanup(c);
    }
    /* both engine watches get closed (at the latest when the next event fails to send) */
    for (int i = 0; i < 200 && atomic_load(&watches_closed) < closed0 + 2; i++)
        usleep(10 * 1000);
    assert_int_equal(atomic_load(&watches_closed), closed0 + 2);
}

/* An idle HTTP/1.1 watch whose client leaves (plain and TLS): no further event will ever
 * fail a write, so the front end must notice the closed socket on its own. */
static void test_idle_http1_watch_client_leaves(void **state)
{
    struct fx *f = *state;
    int closed0 = atomic_load(&watches_closed);

    for (int tls = 0; tls < 2; tls++) {
        CURL *c = curl_easy_init();
        struct resp r = {.abort_after = 1};
        assert_int_equal(do_req(f, c, tls, false, "GET", "/api/v1/longwatch", TOKEN, NULL, 0, &r),
                         CURLE_WRITE_ERROR);
        resp_free(&r);
        curl_easy_cleanup(c);
    }
    for (int i = 0; i < 800 && atomic_load(&watches_closed) < closed0 + 2; i++)
        usleep(10 * 1000);
    assert_int_equal(atomic_load(&watches_closed), closed0 + 2);
}

static void test_metrics(void **state)
{
    struct fx *f = *state;
    CURL *c = curl_easy_init();
    struct resp r = {.abort_after = 0};

    assert_int_equal(do_req(f, c, false, false, "GET", "/nothing-here", NULL, NULL, 0, &r),
                     CURLE_OK);
    resp_free(&r);
    assert_int_equal(do_req(f, c, true, true, "GET", "/metrics", TOKEN, NULL, 0, &r), CURLE_OK);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.ctype, "text/plain"));
    assert_non_null(strstr(body_of(&r), "ckube_http_requests_total{method=\"GET\",code=\"404\"}"));
    assert_non_null(strstr(body_of(&r), "ckube_http_request_duration_seconds_bucket{le=\"+Inf\"}"));
    assert_non_null(strstr(body_of(&r), "ckube_http_requests_in_flight "));
    assert_non_null(strstr(body_of(&r), "fake_engine_metric 42\n"));
    resp_free(&r);
    curl_easy_cleanup(c);
}

/* 300 concurrent requests multiplexed over ONE HTTP/2 connection (h2o allows 100 streams
 * at a time, so curl queues the rest), mixing echo POSTs, 8 MiB GETs and short watches:
 * every one completes with the right body. */
static void test_http2_multiplexed_mix(void **state)
{
    struct fx *f = *state;
    enum { N = 300 };
    CURLM *m = curl_multi_init();
    CURL *h[N];
    struct resp *r = calloc(N, sizeof(*r));
    struct curl_slist *hdrs = curl_slist_append(NULL, "Authorization: Bearer " TOKEN);
    char url[128];
    int running = 1;

    curl_multi_setopt(m, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
    for (int i = 0; i < N; i++) {
        const char *path = i % 10 == 0 ? "/api/v1/big" : i % 10 == 1 ? "/api/v1/watch" : "/api/v1/echo";
        snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", f->sport, path);
        r[i].body = (struct ck_buf)CK_BUF_INIT(64 << 20);
        h[i] = curl_easy_init();
        curl_easy_setopt(h[i], CURLOPT_URL, url);
        curl_easy_setopt(h[i], CURLOPT_CAINFO, f->ca);
        curl_easy_setopt(h[i], CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
        curl_easy_setopt(h[i], CURLOPT_PIPEWAIT, 1L);
        curl_easy_setopt(h[i], CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h[i], CURLOPT_WRITEDATA, &r[i]);
        curl_easy_setopt(h[i], CURLOPT_TIMEOUT, 60L);
        if (i % 10 > 1)
            curl_easy_setopt(h[i], CURLOPT_POSTFIELDS, "{\"x\":1}");
        curl_multi_add_handle(m, h[i]);
    }
    while (running) {
        curl_multi_perform(m, &running);
        if (running)
            curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    long conns = 0;
    for (int i = 0; i < N; i++) {
        long code = 0, nc = 0;
        curl_easy_getinfo(h[i], CURLINFO_RESPONSE_CODE, &code);
        curl_easy_getinfo(h[i], CURLINFO_NUM_CONNECTS, &nc);
        conns += nc;
        assert_int_equal(code, 200);
        if (i % 10 == 0)
            assert_int_equal(r[i].body.len, BIG_LEN);
        else if (i % 10 == 1)
            assert_non_null(strstr(body_of(&r[i]), "{\"n\":4}"));
        else
            assert_non_null(strstr(body_of(&r[i]), "\"method\":\"POST\""));
        curl_multi_remove_handle(m, h[i]);
        curl_easy_cleanup(h[i]);
        resp_free(&r[i]);
    }
    assert_int_equal(conns, 1); /* all streams shared one connection */
    curl_slist_free_all(hdrs);
    curl_multi_cleanup(m);
    free(r);
}

static size_t on_header_retry(char *p, size_t sz, size_t n, void *ud)
{
    if (sz * n > 12 && !strncasecmp(p, "retry-after:", 12))
        *(int *)ud = atoi(p + 12);
    return sz * n;
}

/* One worker and a queue of 2: of 6 concurrent slow requests, the overflow is refused at
 * once with 429 TooManyRequests + Retry-After instead of queueing without bound. */
static void test_queue_full_429(void **state)
{
    struct fx *f = *state, g = *f;
    struct ck_err err = CK_ERR_INIT;
    enum { N = 6 };
    struct http_opts o = {.bind_address = "127.0.0.1", .insecure = true, .nloops = 1,
                          .nworkers = 1, .max_queue = 2};
    CURLM *m = curl_multi_init();
    CURL *h[N];
    struct resp r[N];
    int retry[N] = {0}, running = 1, ok = 0, busy = 0;
    char url[128];

    assert_int_equal(http_server_new(&o, &fake_ops, NULL, &g.srv, &err), 0);
    assert_int_equal(http_server_start(g.srv, &err), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/slow", http_server_port(g.srv, false));
    for (int i = 0; i < N; i++) {
        r[i] = (struct resp){.body = CK_BUF_INIT(1 << 20)};
        h[i] = curl_easy_init();
        curl_easy_setopt(h[i], CURLOPT_URL, url);
        curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h[i], CURLOPT_WRITEDATA, &r[i]);
        curl_easy_setopt(h[i], CURLOPT_HEADERFUNCTION, on_header_retry);
        curl_easy_setopt(h[i], CURLOPT_HEADERDATA, &retry[i]);
        curl_easy_setopt(h[i], CURLOPT_TIMEOUT, 30L);
        curl_multi_add_handle(m, h[i]);
    }
    while (running) {
        curl_multi_perform(m, &running);
        if (running)
            curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    for (int i = 0; i < N; i++) {
        long code = 0;
        curl_easy_getinfo(h[i], CURLINFO_RESPONSE_CODE, &code);
        if (code == 200) {
            ok++;
            assert_non_null(strstr(body_of(&r[i]), "\"slow\":true"));
        } else {
            assert_int_equal(code, 429);
            assert_non_null(strstr(body_of(&r[i]), "\"reason\":\"TooManyRequests\""));
            assert_int_equal(retry[i], 1);
            busy++;
        }
        curl_multi_remove_handle(m, h[i]);
        curl_easy_cleanup(h[i]);
        resp_free(&r[i]);
    }
    curl_multi_cleanup(m);
    http_server_stop(g.srv);
    http_server_free(g.srv);
    assert_true(ok >= 2 && ok <= 3);
    assert_int_equal(ok + busy, N);
}

struct bg_watch {
    struct fx *f;
    bool h2;
    CURLcode rc;
    struct resp r;
};

static void *bg_watch_main(void *arg)
{
    struct bg_watch *b = arg;
    CURL *c = curl_easy_init();

    b->r.abort_after = 0;
    b->rc = do_req(b->f, c, b->h2, b->h2, "GET", "/api/v1/longwatch", TOKEN, NULL, 0, &b->r);
    curl_easy_cleanup(c);
    return NULL;
}

/* Graceful stop with open watches on both protocols: /readyz fails first, then each stream
 * ends cleanly (HTTP/1.1 final chunk / HTTP/2 END_STREAM), the engine watches are closed and
 * stop returns within its drain budget. Runs its own server. */
static void test_stop_ends_open_watches(void **state)
{
    struct fx *f = *state, g = *f;
    struct ck_err err = CK_ERR_INIT;
    char cert[128], key[128];
    struct bg_watch b[2] = {{.h2 = false}, {.h2 = true}};
    pthread_t t[2];
    int closed0 = atomic_load(&watches_closed);

    snprintf(cert, sizeof(cert), "%s/apiserver.crt", f->dir);
    snprintf(key, sizeof(key), "%s/apiserver.key", f->dir);
    struct http_opts o = {.bind_address = "127.0.0.1", .secure = true, .insecure = true,
                          .cert_file = cert, .key_file = key, .token = TOKEN, .nloops = 2,
                          .nworkers = 2};
    assert_int_equal(http_server_new(&o, &fake_ops, NULL, &g.srv, &err), 0);
    g.sport = http_server_port(g.srv, true);
    g.pport = http_server_port(g.srv, false);
    assert_int_equal(http_server_start(g.srv, &err), 0);
    for (int i = 0; i < 2; i++) {
        b[i].f = &g;
        pthread_create(&t[i], NULL, bg_watch_main, &b[i]);
    }
    for (int i = 0; i < 300 && (!b[0].r.first_data_ms || !b[1].r.first_data_ms); i++)
        usleep(10 * 1000);
    assert_true(b[0].r.first_data_ms && b[1].r.first_data_ms);
    int64_t t0 = ck_mono_ms();
    http_server_stop(g.srv);
    assert_true(ck_mono_ms() - t0 < 3000);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(b[i].rc, CURLE_OK); /* a clean end of stream, not a reset */
        assert_non_null(strstr(body_of(&b[i].r), "{\"n\":0}"));
        resp_free(&b[i].r);
    }
    http_server_free(g.srv);
    assert_int_equal(atomic_load(&watches_closed), closed0 + 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_found_is_json_status),
        cmocka_unit_test(test_echo_keepalive_and_methods),
        cmocka_unit_test(test_body_limit_413),
        cmocka_unit_test(test_auth_on_tls),
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_http2_and_big_bodies),
        cmocka_unit_test(test_watch_http1),
        cmocka_unit_test(test_watch_http2),
        cmocka_unit_test(test_watch_client_leaves),
        cmocka_unit_test(test_idle_http1_watch_client_leaves),
        cmocka_unit_test(test_http2_multiplexed_mix),
        cmocka_unit_test(test_queue_full_429),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_stop_ends_open_watches),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
