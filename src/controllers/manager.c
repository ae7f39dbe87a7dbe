/* SPDX-License-Identifier: Apache-2.0 */
/* The controller manager's runtime: creates the shared informers, initialises the enabled
 * controllers, starts them once the caches have synced, serves /healthz and /metrics. The
 * command (src/cmd/controller_manager.c) owns flags and leader election. */
#include "controllers/manager.h"
#include "lib/buf.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/banned.h"

struct cm_manager {
    struct cm cm;
    struct cm_controller *on[CM_MAX_CTRL];
    void *state[CM_MAX_CTRL];
    int n;
    atomic_int leading, running;
    pthread_t starter;
    bool started;
    int http_fd;
    pthread_t http;
    bool serving;
};

struct cm_manager *cm_manager_new(struct ck_client *client, const char *controllers, int workers,
                                  volatile int *stop)
{
    struct cm_manager *m = ck_calloc(1, sizeof(*m));
    m->cm.client = client;
    m->cm.stop = stop;
    m->cm.workers = workers > 0 ? workers : 5;
    m->cm.factory = ck_informer_factory_new(client, 0);
    m->http_fd = -1;
    cm_init_informers(&m->cm);
    for (struct cm_controller **c = cm_controllers(); *c; c++) {
        if (!cm_controller_enabled(controllers, *c) || m->n >= CM_MAX_CTRL)
            continue;
        if ((*c)->init(&m->cm, &m->state[m->n]) < 0) {
            ck_warn("controller %s: init failed", (*c)->name);
            continue;
        }
        m->on[m->n++] = *c;
        ck_info("controller-manager: %s enabled", (*c)->name);
    }
    return m;
}

static void *starter_main(void *arg)
{
    struct cm_manager *m = arg;
    while (!*m->cm.stop && !ck_informer_factory_wait_synced(m->cm.factory, 500))
        ;
    if (*m->cm.stop)
        return NULL;
    for (int i = 0; i < m->n; i++)
        m->on[i]->run(m->state[i]);
    atomic_store(&m->running, 1);
    ck_info("controller-manager: caches synced, %d controllers running", m->n);
    return NULL;
}

void cm_manager_start(struct cm_manager *m)
{
    if (m->started)
        return;
    m->started = true;
    atomic_store(&m->leading, 1);
    ck_informer_factory_start(m->cm.factory);
    pthread_create(&m->starter, NULL, starter_main, m);
}

void cm_manager_free(struct cm_manager *m)
{
    if (!m)
        return;
    if (m->serving) { /* wakes accept(); the thread closes the socket */
        shutdown(m->http_fd, SHUT_RDWR);
        pthread_join(m->http, NULL);
    }
    if (m->started)
        pthread_join(m->starter, NULL);
    if (atomic_load(&m->running))
        for (int i = 0; i < m->n; i++)
            m->on[i]->stop(m->state[i]);
    ck_informer_factory_free(m->cm.factory);
    for (int i = 0; i < m->n; i++)
        m->on[i]->free(m->state[i]);
    free(m);
}

void cm_manager_metrics(struct cm_manager *m, struct ck_buf *out)
{
    ck_buf_appendf(out, "# TYPE ckube_controller_manager_leader gauge\n");
    ck_buf_appendf(out, "ckube_controller_manager_leader %d\n", atomic_load(&m->leading));
    ck_buf_appendf(out, "# TYPE ckube_controller_syncs_total counter\n");
    for (int i = 0; i < m->n; i++)
        ck_buf_appendf(out, "ckube_controller_syncs_total{controller=\"%s\"} %ld\n", m->on[i]->name,
                       atomic_load(&m->on[i]->syncs));
    ck_buf_appendf(out, "# TYPE ckube_controller_sync_errors_total counter\n");
    for (int i = 0; i < m->n; i++)
        ck_buf_appendf(out, "ckube_controller_sync_errors_total{controller=\"%s\"} %ld\n",
                       m->on[i]->name, atomic_load(&m->on[i]->errors));
    struct ck_informer *infs[] = {m->cm.pods, m->cm.rss, m->cm.deps, m->cm.rcs};
    const char *names[] = {"pods", "replicasets", "deployments", "replicationcontrollers"};
    ck_buf_appendf(out, "# TYPE ckube_informer_objects gauge\n");
    for (int i = 0; i < 4; i++)
        ck_buf_appendf(out, "ckube_informer_objects{resource=\"%s\"} %zu\n", names[i],
                       ck_indexer_len(ck_informer_indexer(infs[i])));
}

static void answer(struct cm_manager *m, int c)
{
    char req[2048];
    ssize_t n = recv(c, req, sizeof(req) - 1, 0);
    if (n <= 0)
        return;
    req[n] = '\0';
    struct ck_buf body = CK_BUF_INIT(1 << 20);
    int code = 200;
    if (!strncmp(req, "GET /healthz", 12) || !strncmp(req, "GET /livez", 10) ||
        !strncmp(req, "GET /readyz", 11))
        ck_buf_appends(&body, "ok");
    else if (!strncmp(req, "GET /metrics", 12))
        cm_manager_metrics(m, &body);
    else {
        code = 404;
        ck_buf_appends(&body, "404 page not found\n");
    }
    char head[256];
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      code, code == 200 ? "OK" : "Not Found", body.len);
    if (send(c, head, (size_t)hl, MSG_NOSIGNAL) == hl && body.len)
        (void)!send(c, body.data, body.len, MSG_NOSIGNAL);
    ck_buf_release(&body);
}

static void *http_main(void *arg)
{
    struct cm_manager *m = arg;
    int fd = m->http_fd;
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            break;
        }
        struct timeval tv = {2, 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        answer(m, c);
        close(c);
    }
    close(fd);
    return NULL;
}

int cm_manager_serve(struct cm_manager *m, const char *addr, int port, struct ck_err *err)
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
    m->http_fd = fd;
    m->serving = pthread_create(&m->http, NULL, http_main, m) == 0;
    return ntohs(sa.sin_port);
}
