/* SPDX-License-Identifier: Apache-2.0 */
/* /healthz, /livez, /readyz (upstream's named checks) and /metrics (text 0.0.4, or OpenMetrics
 * when asked) on a local port: a minimal HTTP/1.x responder on its own thread (one request
 * per connection). */
#include "ckube/wq.h"
#include "lib/healthz.h"
#include "lib/log.h"
#include "lib/metrics.h"
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

static int check_shutdown(void *arg, char *why, size_t n)
{
    struct sch_sched *s = arg;
    if (s->stop) {
        snprintf(why, n, "process is shutting down");
        return -1;
    }
    return 0;
}

/* kube-scheduler's checks (leader election is reported by the Lease, not here). */
static const struct ck_hcheck checks[] = {
    {"ping", NULL}, {"log", NULL}, {"informer-sync", NULL}, {"shutdown", check_shutdown}};

static void render_metrics(struct sch_sched *s, const char *req, struct ck_buf *body,
                           const char **ctype)
{
    struct ck_buf text = CK_BUF_INIT(4 << 20);
    const char *acc = strcasestr(req, "\r\naccept:");
    const char *eol = acc ? strstr(acc + 2, "\r\n") : NULL;
    sch_sched_metrics(s, &text);
    ck_metrics_process(&text);
    wq_metrics(&text);
    if (acc && eol && ck_metrics_wants_openmetrics(acc, (size_t)(eol - acc))) {
        ck_metrics_to_openmetrics(text.data ? text.data : "", text.len, body);
        *ctype = CK_METRICS_OM_CTYPE;
    } else {
        ck_buf_append(body, text.data ? text.data : "", text.len);
        *ctype = CK_METRICS_TEXT_CTYPE;
    }
    ck_buf_release(&text);
}

static void answer(struct sch_sched *s, int c)
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
    } else if (!target[0] || !(code = ck_healthz_serve(target, checks, 4, s, &body))) {
        code = 404;
        ck_buf_appends(&body, "404 page not found\n");
    }
    char head[256];
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nX-Content-Type-Options: nosniff\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      code, code == 200 ? "OK" : code == 404 ? "Not Found" : "Internal Server Error",
                      ctype, body.len);
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
