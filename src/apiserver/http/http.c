/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP server lifecycle: h2o configuration, SO_REUSEPORT listeners (one per loop and port),
 * one h2o event loop per thread, start and graceful stop. Request handling lives in
 * http_req.c, watch streaming in http_watch.c. */
#include "apiserver/http/http_int.h"
#include "apiserver/http/http_authn.h"
#include "apiserver/http/http_apf.h"
#include "apiserver/http/tls.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/banned.h"

#define HTTP_DRAIN_MS 2000

/* apf: a port another socket already listens on (even one with SO_REUSEPORT: the loops'
 * sockets share one port through it, and the kernel would let an unrelated server of the same
 * user join them) fails as upstream's net.Listen does. A probe bound without SO_REUSEPORT
 * fails with EADDRINUSE on any listener of that port; it is closed before the loops bind. */
static int probe_port_free(const struct addrinfo *ai, const char *addr, int port,
                           struct ck_err *err)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, rc = 0;

    if (fd < 0)
        return ck_err_sys(err, errno, "socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno == EADDRINUSE)
        rc = ck_err_set(err, CK_R_CONFLICT,
                        "failed to listen on %s:%d: listen tcp %s:%d: bind: address already in use",
                        addr, port, addr, port);
    close(fd);
    return rc;
}

static int listen_on(const char *addr, int port, bool probe, struct ck_err *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    char portstr[16];
    int fd, one = 1, rc;

    snprintf(portstr, sizeof(portstr), "%d", port);
    if ((rc = getaddrinfo(addr, portstr, &hints, &res)) != 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "bind address %s: %s", addr, gai_strerror(rc));
    if (probe && port && probe_port_free(res, addr, port, err) < 0) {
        freeaddrinfo(res);
        return -1;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        return ck_err_sys(err, errno, "socket");
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
        int e = errno;
        freeaddrinfo(res);
        close(fd);
        return ck_err_sys(err, e, "listen on %s port %d", addr, port);
    }
    freeaddrinfo(res);
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void setup_config(struct http_server *s)
{
    h2o_pathconf_t *pathconf;
    h2o_handler_t *h;
    size_t entity_max = s->o.max_body * 2 > ((size_t)8 << 20) ? s->o.max_body * 2 : (size_t)8 << 20;

    h2o_config_init(&s->config);
    /* h2o answers bodies over its own limit with plain text, so its limit sits well above
     * ours and http_on_req sends the JSON 413 for everything in between. */
    s->config.max_request_entity_size = entity_max;
    s->config.http1.req_timeout = s->o.io_timeout_ms;
    s->config.http2.idle_timeout = s->o.io_timeout_ms;
    s->config.handshake_timeout = s->o.io_timeout_ms;
    s->config.server_name = h2o_iovec_init(H2O_STRLIT("ckube"));
    s->hostconf = h2o_config_register_host(&s->config, h2o_iovec_init(H2O_STRLIT("default")),
                                           65535);
    pathconf = h2o_config_register_path(s->hostconf, "/", 0);
    h = h2o_create_handler(pathconf, sizeof(*h));
    h->on_req = http_on_req;
}

static int open_listeners(struct http_server *s, struct ck_err *err)
{
    bool on[2] = {s->o.secure, s->o.insecure};
    int want[2] = {s->o.secure_port, s->o.insecure_port};

    for (int k = 0; k < 2; k++) {
        if (!on[k])
            continue;
        for (int i = 0; i < s->nloops; i++) {
            int fd = listen_on(s->bind_address, i == 0 ? want[k] : s->ports[k], i == 0, err);
            if (fd < 0)
                return -1;
            s->loops[i].fds[k] = fd;
            if (i == 0)
                s->ports[k] = bound_port(fd);
        }
    }
    return 0;
}

/* One loop per online core, between 1 and 8. */
static int default_nloops(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

int http_server_new(const struct http_opts *o, const struct http_api_ops *ops, void *eng,
                    struct http_server **out, struct ck_err *err)
{
    struct http_server *s = ck_calloc(1, sizeof(*s));

    signal(SIGPIPE, SIG_IGN); /* peers that leave must not kill the process */
    *out = NULL;
    s->o = *o;
    s->bind_address = ck_strdup(o->bind_address ? o->bind_address : "127.0.0.1");
    s->token = ck_strdup(o->token ? o->token : "");
    s->o.bind_address = s->bind_address;
    s->o.token = s->token;
    if (!s->o.max_body)
        s->o.max_body = HTTP_DEFAULT_MAX_BODY;
    if (!s->o.io_timeout_ms)
        s->o.io_timeout_ms = 30000;
    if (s->o.max_queue <= 0)
        s->o.max_queue = 4096;
    s->ops = ops;
    s->eng = eng;
    s->nloops = o->nloops > 0 ? o->nloops : default_nloops();
    s->nworkers = o->nworkers > 0 ? o->nworkers : 32;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    h2o_linklist_init_anchor(&s->jobs);
    s->loops = ck_calloc((size_t)s->nloops, sizeof(*s->loops));
    for (int i = 0; i < s->nloops; i++) {
        s->loops[i].srv = s;
        s->loops[i].idx = i;
        s->loops[i].fds[0] = s->loops[i].fds[1] = -1;
    }
    setup_config(s);
    s->apf = http_apf_new(s->nworkers); /* apf */
    if (s->o.secure && !*s->token) {
        ck_err_set(err, CK_R_BAD_REQUEST, "the secure port needs an admin token");
        goto fail;
    }
    if (s->o.secure && !(s->ssl_ctx = tls_server_ctx_new(o->cert_file, o->key_file, err)))
        goto fail;
    if (s->ssl_ctx && o->client_ca_file &&
        http_tls_client_auth(s->ssl_ctx, o->client_ca_file, err) < 0) /* joinapi */
        goto fail;
    if (open_listeners(s, err) < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    http_server_free(s);
    return -1;
}

int http_server_port(const struct http_server *s, bool secure)
{
    return s->ports[secure ? 0 : 1];
}

static void on_accept(h2o_socket_t *listener, const char *err);

static void accept_resume(h2o_timeout_entry_t *entry)
{
    struct http_loop *lp = H2O_STRUCT_FROM_MEMBER(struct http_loop, accept_resume, entry);

    for (int k = 0; k < 2; k++)
        if (lp->listeners[k])
            h2o_socket_read_start(lp->listeners[k], on_accept);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    h2o_accept_ctx_t *actx = listener->data;
    struct http_loop *lp = H2O_STRUCT_FROM_MEMBER(struct http_loop, ctx, actx->ctx);
    h2o_socket_t *sock;

    if (err != NULL)
        return;
    if ((sock = h2o_evloop_socket_accept(listener)) == NULL) {
        /* Out of descriptors: the listener stays readable, so stop polling it for a second
         * instead of spinning. */
        if ((errno == EMFILE || errno == ENFILE) && !h2o_timeout_is_linked(&lp->accept_resume)) {
            ck_warn("accept: %s; pausing new connections for 1 s", strerror(errno));
            for (int k = 0; k < 2; k++)
                if (lp->listeners[k])
                    h2o_socket_read_stop(lp->listeners[k]);
            h2o_timeout_link(lp->loop, &lp->tick_timeout, &lp->accept_resume);
        }
        return;
    }
    http_accept(actx, sock);
}

static void loop_init(struct http_server *s, struct http_loop *lp)
{
    lp->loop = h2o_evloop_create();
    h2o_context_init(&lp->ctx, lp->loop, &s->config);
    lp->queue = h2o_multithread_create_queue(lp->loop);
    h2o_multithread_register_receiver(lp->queue, &lp->job_rx, http_on_job_done);
    h2o_multithread_register_receiver(lp->queue, &lp->watch_rx, http_on_watch_wakeup);
    h2o_timeout_init(lp->loop, &lp->tick_timeout, 1000);
    h2o_linklist_init_anchor(&lp->watches);
    lp->accept_resume.cb = accept_resume;
    for (int k = 0; k < 2; k++) {
        if (lp->fds[k] < 0)
            continue;
        lp->accept_ctx[k] = (h2o_accept_ctx_t){.ctx = &lp->ctx, .hosts = s->config.hosts,
                                               .ssl_ctx = k == 0 ? s->ssl_ctx : NULL};
        lp->listeners[k] = h2o_evloop_socket_create(lp->loop, lp->fds[k], H2O_SOCKET_FLAG_DONT_READ);
        lp->fds[k] = -1; /* owned by the h2o socket now */
        lp->listeners[k]->data = &lp->accept_ctx[k];
        h2o_socket_read_start(lp->listeners[k], on_accept);
    }
}

static bool loop_busy(struct http_loop *lp)
{
    return atomic_load(&lp->outstanding) > 0 || !h2o_linklist_is_empty(&lp->ctx.http1._conns) ||
           !h2o_linklist_is_empty(&lp->ctx.http2._conns);
}

/* Stop accepting, GOAWAY, end open watches, then serve what is running for up to 2 s. */
static void loop_drain(struct http_loop *lp)
{
    int64_t deadline = ck_mono_ms() + HTTP_DRAIN_MS;

    if (h2o_timeout_is_linked(&lp->accept_resume))
        h2o_timeout_unlink(&lp->accept_resume);
    for (int k = 0; k < 2; k++)
        if (lp->listeners[k]) {
            h2o_socket_read_stop(lp->listeners[k]);
            h2o_socket_close(lp->listeners[k]);
            lp->listeners[k] = NULL;
        }
    h2o_context_request_shutdown(&lp->ctx);
    http_watch_end_all(lp);
    while (loop_busy(lp) && ck_mono_ms() < deadline)
        h2o_evloop_run(lp->loop, 50);
}

static void loop_dispose(struct http_loop *lp)
{
    if (loop_busy(lp) || !h2o_linklist_is_empty(&lp->watches)) {
        /* A client that never let go: h2o cannot dispose a context with live connections,
         * and the process is about to exit anyway. */
        ck_warn("event loop %d still had open connections at shutdown", lp->idx);
        return;
    }
    /* h2o_context_request_shutdown leaves this entry linked; h2o_context_dispose asserts. */
    if (h2o_timeout_is_linked(&lp->ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&lp->ctx.http2._graceful_shutdown_timeout);
    h2o_multithread_unregister_receiver(lp->queue, &lp->job_rx);
    h2o_multithread_unregister_receiver(lp->queue, &lp->watch_rx);
    h2o_multithread_destroy_queue(lp->queue);
    h2o_timeout_dispose(lp->loop, &lp->tick_timeout);
    h2o_context_dispose(&lp->ctx);
    h2o_evloop_run(lp->loop, 0);
    h2o_evloop_destroy(lp->loop);
    lp->loop = NULL;
}

/* Everything h2o of a loop is created, run and destroyed on the loop's own thread: h2o 2.2
 * binds socket buffers to a thread-local prototype at creation, so a socket made on another
 * thread would share that thread's (unlocked) buffer recycle bin. */
static void *loop_main(void *arg)
{
    struct http_loop *lp = arg;
    struct http_server *s = lp->srv;

    loop_init(s, lp);
    atomic_fetch_add(&s->loops_ready, 1);
    while (!atomic_load(&s->stopping))
        h2o_evloop_run(lp->loop, INT32_MAX);
    loop_drain(lp);
    atomic_fetch_add(&s->loops_drained, 1);
    /* Keep delivering job results until the worker pool is gone, then once more. */
    while (!atomic_load(&s->workers_gone))
        h2o_evloop_run(lp->loop, 10);
    h2o_evloop_run(lp->loop, 0);
    loop_dispose(lp);
    return NULL;
}

static int count_running(struct http_server *s)
{
    int n = 0;
    for (int i = 0; i < s->nloops; i++)
        n += s->loops[i].running;
    return n;
}

int http_server_start(struct http_server *s, struct ck_err *err)
{
    if (http_pool_start(s, err) < 0)
        return -1;
    s->started = true;
    for (int i = 0; i < s->nloops; i++) {
        int rc = pthread_create(&s->loops[i].tid, NULL, loop_main, &s->loops[i]);
        if (rc)
            return ck_err_sys(err, rc, "starting event loop thread");
        s->loops[i].running = true;
    }
    while (atomic_load(&s->loops_ready) < s->nloops)
        usleep(1000);
    ck_info("API server listening on %s (secure port %d, plain port %d, %d loops, %d workers)",
            s->bind_address, s->ports[0], s->ports[1], s->nloops, s->nworkers);
    return 0;
}

void http_server_stop(struct http_server *s)
{
    int n;

    if (!s->started || atomic_exchange(&s->stopping, true))
        return;
    n = count_running(s);
    http_apf_flush(s); /* apf: queued requests are answered, not left behind */
    while (atomic_load(&s->loops_ready) < n)
        usleep(1000);
    for (int i = 0; i < s->nloops; i++)
        if (s->loops[i].running)
            h2o_multithread_send_message(&s->loops[i].job_rx, NULL);
    while (atomic_load(&s->loops_drained) < n)
        usleep(2000);
    http_pool_stop(s);
    atomic_store(&s->workers_gone, true);
    for (int i = 0; i < s->nloops; i++)
        if (s->loops[i].running) {
            pthread_join(s->loops[i].tid, NULL);
            s->loops[i].running = false;
        }
}

void http_server_free(struct http_server *s)
{
    if (!s)
        return;
    if (s->started && !atomic_load(&s->stopping))
        http_server_stop(s);
    if (s->nworkers && s->workers)
        http_pool_stop(s);
    for (int i = 0; i < s->nloops; i++)
        for (int k = 0; k < 2; k++)
            if (s->loops[i].fds[k] >= 0) /* never handed to a loop */
                close(s->loops[i].fds[k]);
    h2o_config_dispose(&s->config);
    http_apf_free(s->apf); /* apf */
    if (s->ssl_ctx)
        SSL_CTX_free(s->ssl_ctx);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->loops);
    free(s->bind_address);
    free(s->token);
    free(s);
}
