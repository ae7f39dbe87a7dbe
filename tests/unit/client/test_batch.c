/* SPDX-License-Identifier: Apache-2.0 */
/* ck_batch against a small HTTP/1.1 keep-alive server on loopback (a thread of this test):
 * many requests in flight each get their own answer, a Status error is decoded, a 429 is
 * retried, a failed connection reaches the callback, and freeing waits for every callback. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strcasestr */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ckube/batch.h"

#define MAXC 64

struct srv {
    int lfd, port;
    volatile int stop;
    pthread_t th;
    atomic_int busy_left; /* 429s still to give on /busy */
    atomic_int requests;
};

/* Answers every complete request in buf[0..*len); keeps what is incomplete. */
static void serve(struct srv *s, int fd, char *buf, size_t *len)
{
    for (;;) {
        buf[*len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            return;
        size_t hl = (size_t)(end - buf) + 4, cl = 0;
        const char *c = strcasestr(buf, "\r\nContent-Length:");
        if (c && c < end)
            cl = (size_t)atol(c + 17);
        if (*len < hl + cl)
            return;
        char method[16] = "", path[256] = "";
        sscanf(buf, "%15s %255s", method, path);
        atomic_fetch_add(&s->requests, 1);
        char body[512], resp[1024];
        int code = 201;
        const char *extra = "";
        if (!strcmp(path, "/missing")) {
            code = 404;
            snprintf(
                body, sizeof(body),
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
                "\"message\":\"pods \\\"x\\\" not found\",\"reason\":\"NotFound\",\"code\":404}");
        } else if (!strcmp(path, "/busy") && atomic_fetch_sub(&s->busy_left, 1) > 0) {
            code = 429;
            extra = "Retry-After: 0\r\n";
            snprintf(body, sizeof(body), "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\"}");
        } else {
            snprintf(body, sizeof(body), "{\"method\":\"%s\",\"path\":\"%s\",\"len\":%zu}", method,
                     path, cl);
        }
        int n = snprintf(resp, sizeof(resp),
                         "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%sContent-Length: "
                         "%zu\r\n\r\n%s",
                         code, extra, strlen(body), body);
        if (write(fd, resp, (size_t)n) != n)
            return;
        memmove(buf, buf + hl + cl, *len - hl - cl);
        *len -= hl + cl;
    }
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    struct pollfd p[MAXC + 1];
    static char bufs[MAXC][8192];
    size_t lens[MAXC] = {0};
    int n = 0;
    p[0] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
    while (!s->stop) {
        if (poll(p, (nfds_t)n + 1, 50) <= 0)
            continue;
        if ((p[0].revents & POLLIN) && n < MAXC) {
            int fd = accept(s->lfd, NULL, NULL);
            if (fd >= 0) {
                p[n + 1] = (struct pollfd){.fd = fd, .events = POLLIN};
                lens[n++] = 0;
            }
        }
        for (int i = 0; i < n; i++) {
            if (!(p[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = read(p[i + 1].fd, bufs[i] + lens[i], sizeof(bufs[i]) - 1 - lens[i]);
            if (r <= 0) { /* closed: drop it */
                close(p[i + 1].fd);
                p[i + 1] = p[n];
                memcpy(bufs[i], bufs[n - 1], lens[n - 1]);
                lens[i] = lens[n - 1];
                n--;
                i--;
                continue;
            }
            lens[i] += (size_t)r;
            serve(s, p[i + 1].fd, bufs[i], &lens[i]);
        }
    }
    for (int i = 0; i < n; i++)
        close(p[i + 1].fd);
    return NULL;
}

static void srv_start(struct srv *s)
{
    memset(s, 0, sizeof(*s));
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 128), 0);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->th, NULL, srv_main, s);
}

static void srv_stop(struct srv *s)
{
    s->stop = 1;
    pthread_join(s->th, NULL);
    close(s->lfd);
}

static struct ck_client *client_for(int port)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    struct ck_client_config cc = {.server = url, .qps = 1e6, .burst = 1000000, .timeout_ms = 10000};
    struct ck_client *c = NULL;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(ck_client_new(&cc, &c, &err), 0);
    return c;
}

struct result {
    int rc, status;
    enum ck_reason reason;
    char body[256], msg[256];
    atomic_int *done;
};

static void on_done(void *arg, int rc, const struct ck_response *resp, const struct ck_err *err)
{
    struct result *r = arg;
    r->rc = rc;
    r->status = resp->status;
    snprintf(r->body, sizeof(r->body), "%.*s", (int)resp->body.len,
             resp->body.data ? resp->body.data : "");
    if (rc < 0) {
        r->reason = err->reason;
        snprintf(r->msg, sizeof(r->msg), "%s", err->msg);
    }
    atomic_fetch_add(r->done, 1);
}

static void test_many_in_flight(void **state)
{
    (void)state;
    struct srv s;
    srv_start(&s);
    struct ck_client *c = client_for(s.port);
    struct ck_batch *b = ck_batch_new(c, 16);
    enum { N = 300 };
    static struct result res[N];
    atomic_int done = 0;
    for (int i = 0; i < N; i++) {
        char path[64], body[64];
        snprintf(path, sizeof(path), "/r/%d", i);
        int bl = snprintf(body, sizeof(body), "{\"i\":%d}", i);
        res[i] = (struct result){.done = &done};
        assert_int_equal(ck_batch_submit(b, "POST", path, "application/json", body, (size_t)bl,
                                         on_done, &res[i]),
                         0);
    }
    ck_batch_free(b); /* waits for every answer */
    assert_int_equal(atomic_load(&done), N);
    for (int i = 0; i < N; i++) {
        char want[128];
        snprintf(want, sizeof(want), "{\"method\":\"POST\",\"path\":\"/r/%d\",\"len\":%d}", i,
                 (int)strlen("{\"i\":}") + (i < 10    ? 1
                                            : i < 100 ? 2
                                                      : 3));
        assert_int_equal(res[i].rc, 0);
        assert_int_equal(res[i].status, 201);
        assert_string_equal(res[i].body, want);
    }
    assert_int_equal(atomic_load(&s.requests), N);
    ck_client_free(c);
    srv_stop(&s);
}

static void test_errors_and_retry(void **state)
{
    (void)state;
    struct srv s;
    srv_start(&s);
    atomic_store(&s.busy_left, 2);
    struct ck_client *c = client_for(s.port);
    struct ck_batch *b = ck_batch_new(c, 0);
    atomic_int done = 0;
    struct result miss = {.done = &done}, busy = {.done = &done}, get = {.done = &done};
    assert_int_equal(
        ck_batch_submit(b, "POST", "/missing", "application/json", "{}", 2, on_done, &miss), 0);
    assert_int_equal(ck_batch_submit(b, "POST", "/busy", "application/merge-patch+json", "{}", 2,
                                     on_done, &busy),
                     0);
    assert_int_equal(ck_batch_submit(b, "GET", "/x", NULL, NULL, 0, on_done, &get), 0);
    ck_batch_free(b);
    assert_int_equal(atomic_load(&done), 3);
    assert_int_equal(miss.rc, -1);
    assert_int_equal(miss.status, 404);
    assert_int_equal(miss.reason, CK_R_NOT_FOUND);
    assert_string_equal(miss.msg, "pods \"x\" not found");
    assert_int_equal(busy.rc, 0); /* two 429s, then the answer */
    assert_int_equal(busy.status, 201);
    assert_int_equal(get.rc, 0);
    assert_string_equal(get.body, "{\"method\":\"GET\",\"path\":\"/x\",\"len\":0}");
    assert_int_equal(atomic_load(&s.requests), 5);
    ck_client_free(c);
    srv_stop(&s);
}

static void test_refused(void **state)
{
    (void)state;
    struct srv s;
    srv_start(&s);
    int port = s.port;
    srv_stop(&s); /* nobody listens there now */
    struct ck_client *c = client_for(port);
    struct ck_batch *b = ck_batch_new(c, 4);
    atomic_int done = 0;
    struct result r = {.done = &done};
    assert_int_equal(ck_batch_submit(b, "POST", "/r", "application/json", "{}", 2, on_done, &r), 0);
    ck_batch_free(b);
    assert_int_equal(atomic_load(&done), 1);
    assert_int_equal(r.rc, -1);
    assert_int_equal(r.reason, CK_R_SERVICE_UNAVAILABLE);
    assert_non_null(strstr(r.msg, "POST /r: "));
    ck_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_in_flight),
        cmocka_unit_test(test_errors_and_retry),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
