/* SPDX-License-Identifier: Apache-2.0 */
/* The kubelet server's listener (one thread per connection, one request per connection): the
 * optional TLS front with client-certificate / bearer-token authentication (a pump thread
 * carries a TLS connection's streaming session over a socket pair, so the SPDY code stays on
 * plain sockets), routing (/exec, /attach, /portForward here; everything else to the route
 * callback, kubeletsrv.c), the HTTP/1.1 upgrade handshake (X-Stream-Protocol-Version
 * negotiation as upstream's httpstream.Handshake: the client's first protocol the server
 * supports), and the socket half of a SPDY session shared by stream_exec.c and stream_pf.c. */
#include "agent/stream_int.h"

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lib/banned.h"

#define HEAD_MAX 16384

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- the socket half of a session -------------------------------------------------- */

void ag_sconn_event(void *arg, struct spdy_session *s, const struct spdy_event *ev)
{
    (void)s;
    struct ag_shandler *h = arg;
    h->on_event(h->ctx, ev);
}

void ag_sconn_flush(struct ag_sconn *c, int timeout_ms)
{
    int64_t end = mono_ns() + (int64_t)timeout_ms * 1000000;
    while (!c->dead && spdy_out_pending(c->sp)) {
        int left = (int)((end - mono_ns()) / 1000000);
        if (left <= 0)
            return;
        struct pollfd p = {c->fd, POLLOUT, 0};
        if (poll(&p, 1, left) <= 0)
            continue;
        size_t n;
        const uint8_t *b = spdy_out_peek(c->sp, &n);
        ssize_t w = send(c->fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            c->dead = true;
        else if (w > 0)
            spdy_out_consume(c->sp, (size_t)w);
    }
}

void ag_sconn_poll(struct ag_sconn *c, struct pollfd *extra, int nextra, bool can_read,
                   int timeout_ms)
{
    struct pollfd pf[16];
    int n = nextra < 15 ? nextra : 15;
    pf[0] = (struct pollfd){
        c->fd, (short)((can_read ? POLLIN : 0) | (spdy_out_pending(c->sp) ? POLLOUT : 0)), 0};
    for (int i = 0; i < n; i++)
        pf[1 + i] = extra[i];
    int r = poll(pf, (nfds_t)(1 + n), timeout_ms);
    for (int i = 0; i < n; i++)
        extra[i].revents = r > 0 ? pf[1 + i].revents : 0;
    if (r <= 0)
        return;
    if (pf[0].revents & (POLLERR | POLLNVAL))
        c->dead = true;
    if (!c->dead && (pf[0].revents & POLLOUT)) {
        size_t len;
        const uint8_t *b = spdy_out_peek(c->sp, &len);
        ssize_t w = send(c->fd, b, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            c->dead = true;
        else if (w > 0)
            spdy_out_consume(c->sp, (size_t)w);
    }
    if (!c->dead && can_read && (pf[0].revents & (POLLIN | POLLHUP))) {
        uint8_t buf[16384];
        ssize_t got = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
            c->dead = true; /* the client went away (or half-closed: same to us) */
            return;
        }
        if (got > 0) {
            c->last_frame_ns = mono_ns();
            struct ck_err err = CK_ERR_INIT;
            if (spdy_session_feed(c->sp, buf, (size_t)got, &err) < 0) {
                ck_v(1, "streaming: spdy: %s", err.msg);
                ag_sconn_flush(c, 1000);
                c->dead = true;
            }
            if (spdy_goaway_received(c->sp))
                c->peer_goaway = true;
        }
    }
}

bool ag_sconn_idle(const struct ag_sconn *c)
{
    int64_t idle = (int64_t)(c->srv->o.idle_timeout_s ? c->srv->o.idle_timeout_s : 4 * 3600);
    return mono_ns() - c->last_frame_ns > idle * 1000000000LL;
}

/* ---- HTTP handshake ---------------------------------------------------------------- */

static void respond(int fd, int code, const char *reason, const char *extra, const char *body)
{
    char head[1024];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "X-Content-Type-Options: nosniff\r\n%sContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     code, reason, extra ? extra : "", strlen(body));
    if (send(fd, head, (size_t)n, MSG_NOSIGNAL) == n)
        (void)!send(fd, body, strlen(body), MSG_NOSIGNAL);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) (and '+' as space when form) into out (size cap). */
static void unescape(const char *s, size_t n, bool form, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (s[i] == '%' && i + 2 < n + 0 && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = form && s[i] == '+' ? ' ' : s[i];
        }
    }
    out[o] = 0;
}

static void parse_query(const char *q, struct ag_sreq *r)
{
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        char key[64], val[4096];
        unescape(q, eq ? (size_t)(eq - q) : len, true, key, sizeof(key));
        if (eq)
            unescape(eq + 1, len - (size_t)(eq + 1 - q), true, val, sizeof(val));
        else
            val[0] = 0;
        if (!strcmp(key, "command") && r->argc < AG_SC_MAXARGS)
            r->argv[r->argc++] = ck_strdup(val);
        else if (!strcmp(key, "input"))
            r->in = !strcmp(val, "1");
        else if (!strcmp(key, "output"))
            r->out = !strcmp(val, "1");
        else if (!strcmp(key, "error"))
            r->err = !strcmp(val, "1");
        else if (!strcmp(key, "tty"))
            r->tty = !strcmp(val, "1");
        q = amp ? amp + 1 : NULL;
    }
}

/* /exec/NS/POD[/UID]/CONTAINER, /attach/..., /portForward/NS/POD[/UID] */
static bool parse_path(const char *path, size_t n, struct ag_sreq *r)
{
    char seg[6][256];
    int ns = 0;
    size_t i = 0;
    if (!n || path[0] != '/')
        return false;
    while (i < n && ns < 6) {
        size_t j = i + 1;
        while (j < n && path[j] != '/')
            j++;
        unescape(path + i + 1, j - i - 1, false, seg[ns], sizeof(seg[ns]));
        if (!seg[ns][0])
            return false;
        ns++;
        i = j;
    }
    if (i < n)
        return false;
    snprintf(r->kind, sizeof(r->kind), "%s", seg[0]);
    bool pf = !strcmp(seg[0], "portForward");
    if (!pf && strcmp(seg[0], "exec") && strcmp(seg[0], "attach"))
        return false;
    int want = pf ? 3 : 4;
    if (ns != want && ns != want + 1)
        return false;
    snprintf(r->ns, sizeof(r->ns), "%s", seg[1]);
    snprintf(r->pod, sizeof(r->pod), "%s", seg[2]);
    if (ns == want + 1)
        snprintf(r->uid, sizeof(r->uid), "%s", seg[3]);
    if (!pf)
        snprintf(r->container, sizeof(r->container), "%s", seg[ns - 1]);
    return true;
}

static const char *const rc_protocols[] = {"v4.channel.k8s.io", "v3.channel.k8s.io",
                                           "v2.channel.k8s.io", "channel.k8s.io"};
static const char *const pf_protocols[] = {"portforward.k8s.io"};

/* Reads the request head; returns its length or -1. */
static int read_head(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    int64_t end = mono_ns() + 10 * 1000000000LL;
    while (n < cap - 1) {
        int left = (int)((end - mono_ns()) / 1000000);
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, left) <= 0)
            return -1;
        /* peek so that nothing after the head (the client's first frames) is consumed */
        ssize_t r = recv(fd, buf + n, cap - 1 - n, MSG_PEEK);
        if (r <= 0)
            return -1;
        buf[n + (size_t)r] = 0;
        char *e = strstr(buf, "\r\n\r\n");
        size_t take = e ? (size_t)(e + 4 - buf) - n : (size_t)r;
        if (recv(fd, buf + n, take, 0) != (ssize_t)take)
            return -1;
        n += take;
        buf[n] = 0;
        if (e)
            return (int)n;
    }
    return -1;
}

/* The streaming routes on a request head already read from fd (modified in place). */
static void serve_stream(struct ag_stream_server *srv, int fd, char *head)
{
    struct ag_sreq r = {0};
    char *sp1 = strchr(head, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2) {
        respond(fd, 400, "Bad Request", NULL, "malformed request line");
        return;
    }
    bool get = sp1 - head == 3 && !strncmp(head, "GET", 3);
    bool post = sp1 - head == 4 && !strncmp(head, "POST", 4);
    char *target = sp1 + 1, *q = memchr(target, '?', (size_t)(sp2 - target));
    size_t plen = (size_t)((q ? q : sp2) - target);
    *sp2 = 0;
    if (!parse_path(target, plen, &r)) {
        respond(fd, 404, "Not Found", NULL, "404 page not found\n");
        return;
    }
    if (!get && !post) {
        respond(fd, 405, "Method Not Allowed", NULL, "405 method not allowed\n");
        return;
    }
    bool pf = !strcmp(r.kind, "portForward");
    if (q && !pf)
        parse_query(q + 1, &r);
    /* headers */
    char protos[16][64];
    int nprotos = 0;
    bool spdy = false, upgrade_conn = false;
    char *l = strstr(sp2 + 1, "\r\n");
    for (l = l ? l + 2 : NULL; l && *l && strncmp(l, "\r\n", 2);) {
        char *eol = strstr(l, "\r\n"), *colon = strchr(l, ':');
        if (!eol)
            break;
        *eol = 0;
        if (colon) {
            *colon = 0;
            char *v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            if (!strcasecmp(l, "Upgrade") && strcasestr(v, "SPDY/3.1"))
                spdy = true;
            else if (!strcasecmp(l, "Connection") && strcasestr(v, "upgrade"))
                upgrade_conn = true;
            else if (!strcasecmp(l, "X-Stream-Protocol-Version")) {
                for (char *save = NULL, *t = strtok_r(v, ",", &save); t && nprotos < 16;
                     t = strtok_r(NULL, ",", &save)) {
                    while (*t == ' ')
                        t++;
                    size_t tl = strlen(t);
                    while (tl && t[tl - 1] == ' ')
                        t[--tl] = 0;
                    if (tl)
                        snprintf(protos[nprotos++], sizeof(protos[0]), "%s", t);
                }
            }
        }
        l = eol + 2;
    }
    int version = 0;
    if (!pf) {
        if (r.tty)
            r.err = false;
        if (!r.in && !r.out && !r.err) {
            respond(fd, 400, "Bad Request", NULL,
                    "you must specify at least 1 of stdin, stdout, stderr");
            goto out;
        }
        if (!strcmp(r.kind, "exec") && !r.argc) {
            respond(fd, 400, "Bad Request", NULL, "you must specify a command");
            goto out;
        }
    }
    if (!spdy || !upgrade_conn) {
        respond(fd, 400, "Bad Request", NULL, "Upgrade request required");
        goto out;
    }
    const char *const *sup = pf ? pf_protocols : rc_protocols;
    int nsup = pf ? 1 : 4;
    const char *chosen = NULL;
    for (int i = 0; i < nprotos && !chosen; i++)
        for (int j = 0; j < nsup && !chosen; j++)
            if (!strcmp(protos[i], sup[j])) {
                chosen = sup[j];
                version = pf ? 0 : 4 - j;
            }
    if (!nprotos) {
        respond(fd, 400, "Bad Request", NULL,
                "unable to upgrade: X-Stream-Protocol-Version is required");
        goto out;
    }
    if (!chosen) {
        char extra[512] = "", body[1024];
        size_t o = 0;
        for (int j = 0; j < nsup; j++)
            o += (size_t)snprintf(extra + o, sizeof(extra) - o,
                                  "X-Accepted-Stream-Protocol-Versions: %s\r\n", sup[j]);
        snprintf(body, sizeof(body),
                 "unable to upgrade: unable to negotiate protocol: client supports [%s%s], "
                 "server accepts [%s]\n",
                 protos[0], nprotos > 1 ? " ..." : "", pf ? sup[0] : "v4.channel.k8s.io ...");
        respond(fd, 403, "Forbidden", extra, body);
        goto out;
    }
    struct ag_stream_target t = {0};
    struct ck_err err = CK_ERR_INIT;
    if (srv->o.resolve(srv->o.arg, r.ns, r.pod, r.uid[0] ? r.uid : NULL, pf ? NULL : r.container,
                       &t, &err) < 0) {
        int code = ck_reason_http(err.reason);
        respond(fd, code, code == 404 ? "Not Found" : "Internal Server Error", NULL, err.msg);
        goto out;
    }
    char resp[256];
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                     "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: %s\r\n\r\n",
                     chosen);
    if (send(fd, resp, (size_t)n, MSG_NOSIGNAL) != n)
        goto out;
    struct ag_sconn c = {.srv = srv, .fd = fd, .last_frame_ns = mono_ns()};
    if (pf)
        ag_stream_portforward(&c, &t);
    else
        ag_stream_exec(&c, &r, &t, version);
out:
    for (int i = 0; i < r.argc; i++)
        free(r.argv[i]);
}

/* ---- the kubelet server's connection front (kubesrv): TLS, authn, routing ------------ */

struct ag_http_conn {
    struct ag_stream_server *srv;
    int fd;
    SSL *ssl; /* NULL: plain HTTP */
};

int ag_http_write(struct ag_http_conn *c, const void *p, size_t n)
{
    const char *b = p;
    while (n) {
        ssize_t w;
        if (c->ssl) {
            int k = SSL_write(c->ssl, b, n > (1 << 30) ? (1 << 30) : (int)n);
            if (k <= 0) {
                ERR_clear_error();
                return -1;
            }
            w = k;
        } else {
            w = send(c->fd, b, n, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

bool ag_http_gone(struct ag_http_conn *c)
{
    if (atomic_load(&c->srv->stop))
        return true;
    struct pollfd p = {c->fd, POLLIN | POLLRDHUP, 0};
    if (poll(&p, 1, 0) <= 0)
        return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
        return true;
    if (c->ssl) /* a departing TLS client sends close_notify; nothing else is expected */
        return true;
    char b;
    return recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

bool ag_http_header(const struct ag_http_req *r, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *l = strstr(r->head, "\r\n"); l && l[2] && strncmp(l, "\r\n\r\n", 4);
         l = strstr(l + 2, "\r\n")) {
        const char *h = l + 2;
        if (strncasecmp(h, name, nl) || h[nl] != ':')
            continue;
        const char *v = h + nl + 1, *e = strstr(v, "\r\n");
        while (*v == ' ' || *v == '\t')
            v++;
        size_t len = e ? (size_t)(e - v) : strlen(v);
        while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
            len--;
        snprintf(out, cap, "%.*s", (int)len, v);
        return true;
    }
    return false;
}

static void conn_respond(struct ag_http_conn *c, int code, const char *reason, const char *body)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "X-Content-Type-Options: nosniff\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     code, reason, strlen(body));
    if (ag_http_write(c, head, (size_t)n) == 0)
        ag_http_write(c, body, strlen(body));
}

static bool is_stream_path(const char *head)
{
    const char *t = strchr(head, ' ');
    return t && (!strncmp(t + 1, "/exec/", 6) || !strncmp(t + 1, "/attach/", 8) ||
                 !strncmp(t + 1, "/portForward/", 13));
}

/* Hands a non-streaming request to the route callback (the head is modified). */
static void route(struct ag_http_conn *c, char *head)
{
    char *sp1 = strchr(head, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    char *eol = strstr(head, "\r\n");
    if (!sp1 || !sp2 || (eol && sp2 > eol)) {
        conn_respond(c, 400, "Bad Request", "malformed request line");
        return;
    }
    if (!c->srv->o.route) {
        conn_respond(c, 404, "Not Found", "404 page not found\n");
        return;
    }
    char method[16], target[4096];
    snprintf(method, sizeof(method), "%.*s", (int)(sp1 - head), head);
    snprintf(target, sizeof(target), "%.*s", (int)(sp2 - sp1 - 1), sp1 + 1);
    char *q = strchr(target, '?');
    if (q)
        *q++ = 0;
    struct ag_http_req r = {.method = method, .path = target, .query = q ? q : "", .head = head};
    c->srv->o.route(c->srv->o.route_arg, c, &r);
}

/* Reads a request head over TLS into buf; the bytes after it go to *extra (count *nextra). */
static int tls_read_head(SSL *ssl, char *buf, size_t cap, size_t *nextra)
{
    size_t n = 0;
    while (n < cap - 1) {
        int k = SSL_read(ssl, buf + n, (int)(cap - 1 - n));
        if (k <= 0)
            return -1;
        n += (size_t)k;
        buf[n] = 0;
        char *e = strstr(buf, "\r\n\r\n");
        if (e) {
            size_t hl = (size_t)(e + 4 - buf);
            *nextra = n - hl;
            return (int)hl;
        }
    }
    return -1;
}

static bool authenticated(struct ag_stream_server *srv, SSL *ssl, const char *head)
{
    X509 *peer = SSL_get1_peer_certificate(ssl);
    bool ok = peer && SSL_get_verify_result(ssl) == X509_V_OK;
    X509_free(peer);
    if (ok || !srv->o.token)
        return ok;
    char v[4096];
    struct ag_http_req r = {.head = head};
    if (!ag_http_header(&r, "Authorization", v, sizeof(v)) || strncasecmp(v, "Bearer ", 7))
        return false;
    const char *t = v + 7;
    while (*t == ' ')
        t++;
    size_t a = strlen(t), b = strlen(srv->o.token);
    unsigned char d = a != b;
    for (size_t i = 0; i < a && i < b; i++)
        d |= (unsigned char)(t[i] ^ srv->o.token[i]);
    return d == 0;
}

struct pump {
    struct ag_stream_server *srv;
    SSL *ssl;
    int fd, inner;
};

/* Moves bytes between the TLS connection and the plain socket pair end the streaming
 * session runs on, until either side closes. */
static void *pump_thread(void *arg)
{
    struct pump *pm = arg;
    char buf[16384];
    while (!atomic_load(&pm->srv->stop)) {
        struct pollfd p[2] = {{pm->fd, POLLIN, 0}, {pm->inner, POLLIN, 0}};
        bool pending = SSL_pending(pm->ssl) > 0;
        if (!pending && poll(p, 2, 200) <= 0)
            continue;
        if (pending || (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            int k = SSL_read(pm->ssl, buf, sizeof(buf));
            if (k <= 0) {
                int e = SSL_get_error(pm->ssl, k);
                ERR_clear_error();
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                    continue;
                break;
            }
            size_t off = 0;
            while (off < (size_t)k) {
                ssize_t w = send(pm->inner, buf + off, (size_t)k - off, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0)
                    goto out;
                off += (size_t)w;
            }
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(pm->inner, buf, sizeof(buf), 0);
            if (r <= 0)
                break;
            struct ag_http_conn c = {pm->srv, pm->fd, pm->ssl};
            if (ag_http_write(&c, buf, (size_t)r) < 0)
                break;
        }
    }
out:
    shutdown(pm->inner, SHUT_RDWR);
    return NULL;
}

static void tls_stream(struct ag_stream_server *srv, SSL *ssl, int fd, char *head,
                       const char *extra, size_t nextra)
{
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return;
    if (nextra && send(sp[1], extra, nextra, MSG_NOSIGNAL) != (ssize_t)nextra) {
        close(sp[0]);
        close(sp[1]);
        return;
    }
    struct pump pm = {srv, ssl, fd, sp[1]};
    pthread_t th;
    if (pthread_create(&th, NULL, pump_thread, &pm) != 0) {
        close(sp[0]);
        close(sp[1]);
        return;
    }
    serve_stream(srv, sp[0], head);
    shutdown(sp[0], SHUT_RDWR);
    pthread_join(th, NULL);
    close(sp[0]);
    close(sp[1]);
}

static void ag_conn_serve(struct ag_stream_server *srv, int fd)
{
    char head[HEAD_MAX];
    if (!srv->o.tls) {
        if (read_head(fd, head, sizeof(head)) < 0)
            return;
        if (is_stream_path(head)) {
            serve_stream(srv, fd, head);
        } else {
            struct ag_http_conn c = {srv, fd, NULL};
            route(&c, head);
        }
        return;
    }
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    SSL *ssl = SSL_new(srv->o.tls);
    size_t nextra = 0;
    int hl;
    if (!ssl)
        return;
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1 || (hl = tls_read_head(ssl, head, sizeof(head), &nextra)) < 0) {
        ck_v(4, "kubelet server: TLS handshake or request head failed");
        ERR_clear_error();
        SSL_free(ssl);
        return;
    }
    char extra[HEAD_MAX];
    memcpy(extra, head + hl, nextra);
    head[hl] = 0;
    tv.tv_sec = 0; /* long responses (logs -f) and sessions: no read timeout from here on */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    tv.tv_sec = 30;
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct ag_http_conn c = {srv, fd, ssl};
    if (!authenticated(srv, ssl, head))
        conn_respond(&c, 401, "Unauthorized", "Unauthorized");
    else if (is_stream_path(head))
        tls_stream(srv, ssl, fd, head, extra, nextra);
    else
        route(&c, head);
    SSL_shutdown(ssl);
    ERR_clear_error();
    SSL_free(ssl);
}

struct conn_arg {
    struct ag_stream_server *srv;
    int fd;
};

static void *conn_thread(void *p)
{
    struct conn_arg a = *(struct conn_arg *)p;
    free(p);
    ag_conn_serve(a.srv, a.fd);
    close(a.fd);
    atomic_fetch_sub(&a.srv->active, 1);
    return NULL;
}

static void *accept_loop(void *arg)
{
    struct ag_stream_server *s = arg;
    int maxs = s->o.max_sessions > 0 ? s->o.max_sessions : 128;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {s->fd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        int c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        if (atomic_load(&s->active) >= maxs) {
            respond(c, 503, "Service Unavailable", NULL, "too many streaming sessions");
            close(c);
            continue;
        }
        atomic_fetch_add(&s->active, 1);
        struct conn_arg *a = ck_malloc(sizeof(*a));
        a->srv = s;
        a->fd = c;
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&th, &at, conn_thread, a) != 0) {
            close(c);
            free(a);
            atomic_fetch_sub(&s->active, 1);
        }
        pthread_attr_destroy(&at);
    }
    return NULL;
}

struct ag_stream_server *ag_stream_start(const struct ag_stream_opts *o, struct ck_err *err)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    const char *bind_addr = o->bind ? o->bind : "0.0.0.0";
    if (inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1) {
        ck_err_set(err, CK_R_BAD_REQUEST, "bad bind address %s", bind_addr);
        return NULL;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
        ck_err_sys(err, errno, "listen %s:%d", bind_addr, o->port);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    socklen_t sl = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    struct ag_stream_server *s = ck_calloc(1, sizeof(*s));
    s->o = *o;
    if (o->tls)
        SSL_CTX_up_ref(o->tls);
    s->o.token = o->token && *o->token ? ck_strdup(o->token) : NULL;
    s->fd = fd;
    s->port = ntohs(sa.sin_port);
    pthread_create(&s->th, NULL, accept_loop, s);
    return s;
}

int ag_stream_port(const struct ag_stream_server *s)
{
    return s ? s->port : -1;
}

int ag_stream_active(const struct ag_stream_server *s)
{
    return s ? atomic_load(&s->active) : 0;
}

void ag_stream_stop(struct ag_stream_server *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, 1);
    pthread_join(s->th, NULL);
    close(s->fd);
    /* sessions watch stop and end within a poll round */
    for (int i = 0; i < 300 && atomic_load(&s->active); i++)
        usleep(10000);
    if (!atomic_load(&s->active)) {
        SSL_CTX_free(s->o.tls);
        free((char *)s->o.token);
        free(s);
    }
}
