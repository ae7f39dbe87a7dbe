/* SPDX-License-Identifier: Apache-2.0 */
/* Asynchronous requests over one curl multi handle driven by one thread (see ckube/batch.h). */
#include "ckube/batch.h"
#include "client/rest_int.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/banned.h"

#define MAX_RETRIES 5
#define RESP_MAX ((size_t)512 << 20)
#define FREE_HANDLES 64
#define MAX_INFLIGHT 256 /* over plain http: HTTP/1.1 connections, one request each */

struct breq {
    struct breq *next;
    char *method, *path, *url;
    struct curl_slist *hdrs; /* owned unless it is one of the batch's shared lists */
    char *body;
    size_t body_len;
    CURL *h;
    struct ck_response resp;
    int retry_after;
    int attempt;
    int64_t not_before;
    ck_batch_fn fn;
    void *arg;
};

struct ck_batch {
    struct ck_client *c;
    CURLM *m;
    pthread_t th;
    pthread_mutex_t mu;
    struct breq *qhead, *qtail; /* submitted, not yet picked up by the thread */
    size_t pending;             /* submitted and not finished */
    bool closing;
    int max_inflight;
    struct curl_slist *hdr_none, *hdr_json; /* shared header lists */
    /* the thread's own */
    struct breq *whead, *wtail; /* picked up, waiting for room on the wire */
    struct breq *delayed;       /* throttled or backing off */
    int inflight;
    bool plain;
    int epfd, wakefd; /* epoll set of curl's sockets and the eventfd submitters write */
    int64_t timer_at; /* when curl wants to be called back (-1: no timer) */
    CURL *handles[FREE_HANDLES];
    int nhandles;
    struct ck_err err;
};

static struct curl_slist *headers(struct ck_client *c, const char *ctype)
{
    struct curl_slist *h = NULL;
    for (struct curl_slist *s = c->base_headers; s; s = s->next)
        h = curl_slist_append(h, s->data);
    h = curl_slist_append(h, "Accept: application/json");
    if (ctype) {
        char *ct = ck_asprintf("Content-Type: %s", ctype);
        h = curl_slist_append(h, ct);
        free(ct);
    }
    return h;
}

static bool shared_hdrs(const struct ck_batch *b, const struct curl_slist *h)
{
    return h == b->hdr_none || h == b->hdr_json;
}

static void req_free(struct ck_batch *b, struct breq *r)
{
    if (!shared_hdrs(b, r->hdrs))
        curl_slist_free_all(r->hdrs);
    ck_response_release(&r->resp);
    free(r->method);
    free(r->path);
    free(r->url);
    free(r->body);
    free(r);
}

static size_t collect(char *p, size_t sz, size_t n, void *arg)
{
    struct ck_buf *b = arg;
    return ck_buf_append(b, p, sz * n) < 0 ? 0 : sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
    struct breq *r = arg;
    size_t len = sz * n;
    if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
        r->retry_after = atoi(p + 12);
    return len;
}

static bool idempotent(const char *method)
{
    return !strcmp(method, "GET") || !strcmp(method, "HEAD");
}

static void start(struct ck_batch *b, struct breq *r)
{
    CURL *h = b->nhandles ? b->handles[--b->nhandles] : curl_easy_init();
    if (!h)
        ck_fatal("curl_easy_init failed");
    ck_rest_prepare(b->c, h, r->method, r->url, r->hdrs);
    if (b->plain)
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(h, CURLOPT_PRIVATE, r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)b->c->cfg.timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->resp.body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    if (r->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    }
    ck_buf_reset(&r->resp.body);
    r->resp.status = 0;
    r->retry_after = 0;
    r->h = h;
    b->inflight++;
    curl_multi_add_handle(b->m, h);
}

static void release_handle(struct ck_batch *b, CURL *h)
{
    curl_multi_remove_handle(b->m, h);
    if (b->nhandles < FREE_HANDLES) {
        curl_easy_reset(h);
        b->handles[b->nhandles++] = h;
    } else {
        curl_easy_cleanup(h);
    }
}

static void finish(struct ck_batch *b, struct breq *r, CURLcode cc)
{
    long code = 0;
    curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &code);
    release_handle(b, r->h);
    r->h = NULL;
    b->inflight--;
    r->resp.status = (int)code;
    int64_t backoff = 100LL << (r->attempt < 6 ? r->attempt : 6);
    bool retry = false;
    int rc = -1;
    if (cc != CURLE_OK) {
        ck_err_set(&b->err,
                   cc == CURLE_OPERATION_TIMEDOUT ? CK_R_TIMEOUT : CK_R_SERVICE_UNAVAILABLE,
                   "%s %s: %s", r->method, r->path, curl_easy_strerror(cc));
        retry = idempotent(r->method) && cc != CURLE_OPERATION_TIMEDOUT;
    } else {
        if (code >= 200 && code < 300) {
            rc = 0;
        } else {
            ck_rest_status_error((int)code, &r->resp.body, &b->err);
            retry = code == 429 || (code >= 500 && idempotent(r->method) && code != 504);
            if (r->retry_after > 0)
                backoff = r->retry_after * 1000LL;
        }
    }
    if (retry && r->attempt < MAX_RETRIES) {
        ck_v(2, "%s %s: retrying in %lld ms (attempt %d)", r->method, r->path, (long long)backoff,
             r->attempt + 1);
        r->attempt++;
        r->not_before = ck_mono_ns() + (backoff > 10000 ? 10000 : backoff) * 1000000LL;
        r->next = b->delayed;
        b->delayed = r;
        return;
    }
    r->fn(r->arg, rc, &r->resp, rc ? &b->err : NULL);
    req_free(b, r);
    pthread_mutex_lock(&b->mu);
    b->pending--;
    pthread_mutex_unlock(&b->mu);
}

/* Starts what may start; returns the poll timeout in ms. */
static int start_ready(struct ck_batch *b)
{
    int64_t now = ck_mono_ns(), next = -1;
    for (struct breq **pp = &b->delayed; *pp;) {
        struct breq *r = *pp;
        if (r->not_before <= now && b->inflight < b->max_inflight) {
            *pp = r->next;
            start(b, r);
            continue;
        }
        if (r->not_before > now && (next < 0 || r->not_before < next))
            next = r->not_before;
        pp = &r->next;
    }
    while (b->whead && b->inflight < b->max_inflight) {
        struct breq *r = b->whead;
        b->whead = r->next;
        if (!b->whead)
            b->wtail = NULL;
        if (r->not_before > now) {
            r->next = b->delayed;
            b->delayed = r;
            if (next < 0 || r->not_before < next)
                next = r->not_before;
        } else {
            start(b, r);
        }
    }
    if (next < 0)
        return 1000;
    int64_t ms = (next - now) / 1000000 + 1;
    return ms > 1000 ? 1000 : (int)ms;
}

/* curl tells which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to call it back
 * (CURLMOPT_TIMERFUNCTION); only the sockets that fired are handed to curl, so a wakeup costs
 * the same with 2 or 200 requests in flight. */
static int on_socket(CURL *e, curl_socket_t fd, int what, void *arg, void *sockp)
{
    (void)e, (void)sockp;
    struct ck_batch *b = arg;
    struct epoll_event ev = {.data.fd = fd};
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(b->epfd, EPOLL_CTL_DEL, fd, NULL);
        return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    if (epoll_ctl(b->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
        epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *arg)
{
    (void)m;
    struct ck_batch *b = arg;
    b->timer_at = timeout_ms < 0 ? -1 : ck_mono_ns() + (int64_t)timeout_ms * 1000000LL;
    return 0;
}

static void reap(struct ck_batch *b)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(b->m, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct breq *r = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        finish(b, r, msg->data.result);
    }
}

static void *batch_main(void *arg)
{
    struct ck_batch *b = arg;
    struct epoll_event evs[64];
    for (;;) {
        pthread_mutex_lock(&b->mu);
        struct breq *got = b->qhead;
        b->qhead = b->qtail = NULL;
        bool done = b->closing && b->pending == 0;
        pthread_mutex_unlock(&b->mu);
        if (done)
            break;
        while (got) {
            struct breq *r = got;
            got = r->next;
            r->next = NULL;
            if (b->wtail)
                b->wtail->next = r;
            else
                b->whead = r;
            b->wtail = r;
        }
        int timeout = start_ready(b);
        int running = 0;
        int64_t now = ck_mono_ns();
        if (b->timer_at >= 0 && b->timer_at <= now) {
            b->timer_at = -1;
            curl_multi_socket_action(b->m, CURL_SOCKET_TIMEOUT, 0, &running);
            reap(b);
            continue; /* callbacks may have queued more */
        }
        if (b->timer_at >= 0) {
            int64_t ms = (b->timer_at - now) / 1000000 + 1;
            if (ms < timeout)
                timeout = (int)ms;
        }
        int n = epoll_wait(b->epfd, evs, 64, timeout);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == b->wakefd) {
                uint64_t v;
                if (read(b->wakefd, &v, sizeof(v)) < 0)
                    continue;
                continue;
            }
            int flags = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                        (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                        (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(b->m, fd, flags, &running);
        }
        reap(b);
    }
    return NULL;
}

static void wake(struct ck_batch *b)
{
    uint64_t one = 1;
    if (write(b->wakefd, &one, sizeof(one)) < 0)
        ck_v(4, "batch: wake: eventfd write failed");
}

struct ck_batch *ck_batch_new(struct ck_client *c, int max_inflight)
{
    struct ck_batch *b = ck_calloc(1, sizeof(*b));
    b->c = c;
    b->max_inflight = max_inflight > 0 ? max_inflight : MAX_INFLIGHT;
    b->plain = strncmp(c->cfg.server, "http://", 7) == 0;
    if (b->max_inflight > MAX_INFLIGHT)
        b->max_inflight = MAX_INFLIGHT;
    b->m = curl_multi_init();
    if (!b->m)
        ck_fatal("curl_multi_init failed");
    curl_multi_setopt(b->m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(b->m, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(b->m, CURLMOPT_SOCKETDATA, b);
    curl_multi_setopt(b->m, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(b->m, CURLMOPT_TIMERDATA, b);
    b->timer_at = -1;
    b->epfd = epoll_create1(EPOLL_CLOEXEC);
    b->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (b->epfd < 0 || b->wakefd < 0)
        ck_fatal("batch: epoll/eventfd: out of descriptors");
    struct epoll_event wev = {.events = EPOLLIN, .data.fd = b->wakefd};
    epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->wakefd, &wev);
    b->hdr_none = headers(c, NULL);
    b->hdr_json = headers(c, "application/json");
    pthread_mutex_init(&b->mu, NULL);
    if (pthread_create(&b->th, NULL, batch_main, b) != 0)
        ck_fatal("pthread_create failed");
    return b;
}

int ck_batch_submit(struct ck_batch *b, const char *method, const char *path,
                    const char *content_type, const void *body, size_t body_len, ck_batch_fn fn,
                    void *arg)
{
    struct breq *r = ck_calloc(1, sizeof(*r));
    r->method = ck_strdup(method);
    r->path = ck_strdup(path);
    r->url = ck_asprintf("%s%s", b->c->cfg.server, path);
    r->hdrs = !content_type                               ? b->hdr_none
              : !strcmp(content_type, "application/json") ? b->hdr_json
                                                          : headers(b->c, content_type);
    if (body) {
        r->body = ck_malloc(body_len + 1);
        memcpy(r->body, body, body_len);
        r->body[body_len] = '\0';
        r->body_len = body_len;
    }
    r->resp = (struct ck_response){0, CK_BUF_INIT(RESP_MAX)};
    r->fn = fn;
    r->arg = arg;
    /* the client's throttle delays the start; the caller does not wait */
    int64_t wait = b->c->throttle->ops->when(b->c->throttle, "");
    r->not_before = wait > 0 ? ck_mono_ns() + wait : 0;
    pthread_mutex_lock(&b->mu);
    if (b->closing) {
        pthread_mutex_unlock(&b->mu);
        req_free(b, r);
        return -1;
    }
    if (b->qtail)
        b->qtail->next = r;
    else
        b->qhead = r;
    b->qtail = r;
    b->pending++;
    pthread_mutex_unlock(&b->mu);
    wake(b);
    return 0;
}

size_t ck_batch_pending(struct ck_batch *b)
{
    pthread_mutex_lock(&b->mu);
    size_t n = b->pending;
    pthread_mutex_unlock(&b->mu);
    return n;
}

void ck_batch_free(struct ck_batch *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    b->closing = true;
    pthread_mutex_unlock(&b->mu);
    wake(b);
    pthread_join(b->th, NULL);
    for (int i = 0; i < b->nhandles; i++)
        curl_easy_cleanup(b->handles[i]);
    curl_multi_cleanup(b->m);
    close(b->epfd);
    close(b->wakefd);
    curl_slist_free_all(b->hdr_none);
    curl_slist_free_all(b->hdr_json);
    pthread_mutex_destroy(&b->mu);
    free(b);
}
