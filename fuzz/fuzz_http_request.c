/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the API server's request path: each input is written as raw bytes (HTTP/1.1, or an
 * HTTP/2 prior-knowledge preface) over loopback TCP into a real running front end (h2o loops,
 * handler, body limit, worker pool, watch streaming) backed by a tiny in-file engine; the
 * response is read until the server closes. The pure helpers (path decoding, bearer token,
 * routing, query lookup) also run directly on the input. */
#include "apiserver/http/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct api_watch {
    int drained;
};

static void fz_status(struct api_response *rs, const struct ck_err *err)
{
    rs->status = ck_reason_http(err->reason);
    ck_buf_reset(&rs->body);
    ck_buf_appendf(&rs->body, "{\"kind\":\"Status\",\"reason\":\"%s\"}", ck_reason_str(err->reason));
}

static enum api_result fz_handle(void *eng, const struct api_request *rq, struct api_response *rs,
                                 struct api_watch **w)
{
    (void)eng;
    rs->status = 200;
    snprintf(rs->content_type, sizeof(rs->content_type), "application/json");
    if (rq->query && strstr(rq->query, "watch")) {
        *w = calloc(1, sizeof(**w));
        return API_WATCH;
    }
    ck_buf_appendf(&rs->body, "{\"m\":\"%s\",\"len\":%zu}", rq->method, rq->body_len);
    return API_DONE;
}

static void fz_set_notify(struct api_watch *w, void (*notify)(void *), void *arg)
{
    (void)w;
    notify(arg); /* wake at once: the first drain ends the watch */
}

static int fz_drain(struct api_watch *w, struct ck_buf *out)
{
    ck_buf_appends(out, "{\"type\":\"BOOKMARK\"}\n");
    return ++w->drained >= 2;
}

static void fz_tick(struct api_watch *w, int64_t now)
{
    (void)w;
    (void)now;
}

static void fz_close(struct api_watch *w)
{
    free(w);
}

static const struct http_api_ops fz_ops = {
    .handle = fz_handle, .watch_set_notify = fz_set_notify, .watch_drain = fz_drain,
    .watch_tick = fz_tick, .watch_close = fz_close, .metrics = NULL, .write_status = fz_status,
};

/* h2o's per-thread buffer recycle bins are never freed: not ours to report. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libh2o-evloop.so\n";
}

static struct http_server *srv;
static int port;

static void start_server(void)
{
    struct ck_err err = CK_ERR_INIT;
    struct http_opts o = {.bind_address = "127.0.0.1", .insecure = true, .nloops = 1,
                          .nworkers = 2, .max_body = 4096, .io_timeout_ms = 2000};

    if (http_server_new(&o, &fz_ops, NULL, &srv, &err) < 0 || http_server_start(srv, &err) < 0) {
        fprintf(stderr, "fuzz_http_request: %s\n", err.msg);
        abort();
    }
    port = http_server_port(srv, false);
}

static void helpers(const uint8_t *data, size_t size)
{
    char *out = malloc(size + 1);
    const char *tok, *check;
    size_t tok_len;

    if (http_path_decode((const char *)data, size, out, size + 1) >= 0) {
        http_route_of(out, &check);
        http_query_has(out, strlen(out), "verbose");
    }
    if (http_bearer_token((const char *)data, size, &tok, &tok_len) == 0)
        http_token_equal(tok, tok_len, "secret-token");
    http_method_index((const char *)data, size < 8 ? size : 8);
    free(out);
}

static void over_the_wire(const uint8_t *data, size_t size)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {.tv_sec = 3};
    char buf[65536];
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        abort(); /* the server must always accept */
    for (size_t off = 0; off < size;) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0)
            break; /* the server may close early (bad request): fine */
        off += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv)
        start_server();
    helpers(data, size);
    over_the_wire(data, size);
    return 0;
}
