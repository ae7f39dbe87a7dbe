/* SPDX-License-Identifier: Apache-2.0 */
/* See compsrv.h. */
#include "lib/compsrv.h"
#include "lib/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/banned.h"

struct ck_compsrv {
    struct ck_compsrv_opts o;
    int fd;
    pthread_t th;
};

static void render_metrics(struct ck_compsrv *s, const char *req, struct ck_buf *body,
                           const char **ctype)
{
    struct ck_buf text = CK_BUF_INIT(4 << 20);
    const char *acc = strcasestr(req, "\r\naccept:");
    const char *eol = acc ? strstr(acc + 2, "\r\n") : NULL;
    if (s->o.metrics)
        s->o.metrics(s->o.arg, &text);
    ck_metrics_process(&text);
    if (acc && eol && ck_metrics_wants_openmetrics(acc, (size_t)(eol - acc))) {
        ck_metrics_to_openmetrics(text.data ? text.data : "", text.len, body);
        *ctype = CK_METRICS_OM_CTYPE;
    } else {
        ck_buf_append(body, text.data ? text.data : "", text.len);
        *ctype = CK_METRICS_TEXT_CTYPE;
    }
    ck_buf_release(&text);
}

static void answer(struct ck_compsrv *s, int c)
{
    char req[2048], target[600] = "";
    ssize_t n = recv(c, req, sizeof(req) - 1, 0);
    if (n <= 0)
        return;
    req[n] = '\0';
    struct ck_buf body = CK_BUF_INIT(4 << 20);
    int code = 200;
    const char *ctype = "text/plain; charset=utf-8";
    if (!strncmp(req, "GET ", 4))
        sscanf(req + 4, "%599s", target);
    if (!strcmp(target, "/metrics")) {
        render_metrics(s, req, &body, &ctype);
    } else if (!target[0] ||
               !(code = ck_healthz_serve(target, s->o.checks, s->o.nchecks, s->o.arg, &body))) {
        code = 404;
        ck_buf_appends(&body, "404 page not found\n");
    }
    char head[256];
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nX-Content-Type-Options: nosniff\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      code,
                      code == 200   ? "OK"
                      : code == 404 ? "Not Found"
                                    : "Internal Server Error",
                      ctype, body.len);
    if (send(c, head, (size_t)hl, MSG_NOSIGNAL) == hl && body.len)
        (void)!send(c, body.data, body.len, MSG_NOSIGNAL);
    ck_buf_release(&body);
}

static void *serve_main(void *arg)
{
    struct ck_compsrv *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            break; /* ck_compsrv_stop shut the socket down */
        }
        struct timeval tv = {2, 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        answer(s, c);
        close(c);
    }
    return NULL;
}

int ck_compsrv_start(const struct ck_compsrv_opts *o, struct ck_compsrv **out, struct ck_err *err)
{
    *out = NULL;
    const char *addr = o->addr ? o->addr : "127.0.0.1";
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ck_err_sys(err, errno, "socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        close(fd);
        return ck_err_set(err, CK_R_BAD_REQUEST, "bad bind address %s", addr);
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
        int e = errno;
        close(fd);
        return ck_err_sys(err, e, "listen on %s:%d", addr, o->port);
    }
    socklen_t sl = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    struct ck_compsrv *s = ck_calloc(1, sizeof(*s));
    s->o = *o;
    s->fd = fd;
    if (pthread_create(&s->th, NULL, serve_main, s) != 0) {
        close(fd);
        free(s);
        return ck_err_set(err, CK_R_INTERNAL, "cannot start the HTTP thread");
    }
    *out = s;
    return ntohs(sa.sin_port);
}

void ck_compsrv_stop(struct ck_compsrv *s)
{
    if (!s)
        return;
    shutdown(s->fd, SHUT_RDWR); /* wakes accept() */
    pthread_join(s->th, NULL);
    close(s->fd);
    free(s);
}
