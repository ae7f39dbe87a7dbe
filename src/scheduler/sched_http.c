/* SPDX-License-Identifier: Apache-2.0 */
/* /healthz and /metrics on a local port: a minimal HTTP/1.x responder on its own thread (one
 * request per connection). */
#include "lib/log.h"
#include "scheduler/sched_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/banned.h"

struct http {
    struct sch_sched *s;
    int fd;
};

static void answer(struct sch_sched *s, int c)
{
    char req[2048];
    ssize_t n = recv(c, req, sizeof(req) - 1, 0);
    if (n <= 0)
        return;
    req[n] = '\0';
    struct ck_buf body = CK_BUF_INIT(4 << 20);
    int code = 200;
    const char *ctype = "text/plain; charset=utf-8";
    if (!strncmp(req, "GET /healthz", 12) || !strncmp(req, "GET /livez", 10) ||
        !strncmp(req, "GET /readyz", 11)) {
        ck_buf_appends(&body, "ok");
    } else if (!strncmp(req, "GET /metrics", 12)) {
        sch_sched_metrics(s, &body);
        ctype = "text/plain; version=0.0.4";
    } else {
        code = 404;
        ck_buf_appends(&body, "404 page not found\n");
    }
    char head[256];
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: "
                      "close\r\n\r\n",
                      code, code == 200 ? "OK" : "Not Found", ctype, body.len);
    if (send(c, head, (size_t)hl, MSG_NOSIGNAL) == hl && body.len)
        (void)!send(c, body.data, body.len, MSG_NOSIGNAL);
    ck_buf_release(&body);
}

static void *http_main(void *arg)
{
    struct http *h = arg;
    while (!h->s->stop) {
        int c = accept(h->fd, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            break;
        }
        struct timeval tv = {2, 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        answer(h->s, c);
        close(c);
    }
    close(h->fd);
    free(h);
    return NULL;
}

int sch_http_start(struct sch_sched *s, const char *addr, int port, struct ck_err *err)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ck_err_sys(err, errno, "socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        close(fd);
        return ck_err_set(err, CK_R_BAD_REQUEST, "bad bind address %s", addr);
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
        int e = errno;
        close(fd);
        return ck_err_sys(err, e, "listen on %s:%d", addr, port);
    }
    socklen_t sl = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    struct http *h = ck_calloc(1, sizeof(*h));
    h->s = s;
    h->fd = fd;
    pthread_t t;
    pthread_create(&t, NULL, http_main, h);
    pthread_detach(t);
    return ntohs(sa.sin_port);
}
