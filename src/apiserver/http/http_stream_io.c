/* SPDX-License-Identifier: Apache-2.0 */
/* Byte I/O for streaming sessions (a taken-over client socket or a kubelet connection, plain
 * or TLS, non-blocking) and the kubelet upgrade handshake: dial, request head, answer head. */
#include "apiserver/http/http_stream.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/banned.h"

#define HEAD_MAX 16384
#define BODY_MAX (64 * 1024)

ssize_t hs_io_read(struct hs_io *c, void *buf, size_t n)
{
    if (c->pre_off < c->pre_len) {
        size_t k = c->pre_len - c->pre_off < n ? c->pre_len - c->pre_off : n;
        memcpy(buf, c->pre + c->pre_off, k);
        c->pre_off += k;
        if (c->pre_off == c->pre_len) {
            free(c->pre);
            c->pre = NULL;
            c->pre_len = c->pre_off = 0;
        }
        return (ssize_t)k;
    }
    if (!c->ssl)
        return recv(c->fd, buf, n, MSG_DONTWAIT);
    ERR_clear_error();
    int r = SSL_read(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
    if (r > 0) {
        c->want_write = false;
        return r;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->want_write = e == SSL_ERROR_WANT_WRITE;
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    errno = ECONNRESET;
    return e == SSL_ERROR_SYSCALL && !ERR_peek_error() && !errno ? 0 : -1;
}

ssize_t hs_io_write(struct hs_io *c, const void *buf, size_t n)
{
    if (!n)
        return 0;
    if (!c->ssl)
        return send(c->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    ERR_clear_error();
    int r = SSL_write(c->ssl, buf, n > 65536 ? 65536 : (int)n);
    if (r > 0)
        return r;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        errno = EAGAIN;
        return -1;
    }
    errno = EPIPE;
    return -1;
}

bool hs_io_pending(const struct hs_io *c)
{
    return c->pre_off < c->pre_len || (c->ssl && SSL_pending(c->ssl) > 0);
}

void hs_io_close(struct hs_io *c)
{
    if (c->ssl) {
        ERR_clear_error();
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->pre);
    c->pre = NULL;
    c->pre_len = c->pre_off = 0;
}

int hs_io_write_all(struct hs_io *c, const void *buf, size_t n, int timeout_ms)
{
    const char *p = buf;
    int64_t end = ck_mono_ms() + timeout_ms;
    while (n) {
        ssize_t w = hs_io_write(c, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        int left = (int)(end - ck_mono_ms());
        struct pollfd pf = {c->fd, POLLOUT | POLLIN, 0};
        if (left <= 0 || poll(&pf, 1, left) < 0)
            return -1;
    }
    return 0;
}

/* ---- the kubelet side ------------------------------------------------------------------ */

static int dial(const char *host, int port, int timeout_ms, char *msg, size_t cap)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc) {
        snprintf(msg, cap, "dial tcp: lookup %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
            err = errno;
            close(fd);
            fd = -1;
            continue;
        }
        struct pollfd pf = {fd, POLLOUT, 0};
        socklen_t sl = sizeof(err);
        err = 0;
        if (poll(&pf, 1, timeout_ms) <= 0)
            err = ETIMEDOUT;
        else
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl);
        if (err) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(msg, cap, "dial tcp %s:%d: connect: %s", host, port, strerror(err ? err : EIO));
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static SSL_CTX *client_ctx(const struct hs_tls *t, char *msg, size_t cap)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(msg, cap, "TLS: out of memory");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (t && t->cert && t->key &&
        (SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1 ||
         SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) != 1)) {
        snprintf(msg, cap, "TLS: kubelet client certificate %s: unreadable", t->cert);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (t && t->ca) {
        if (SSL_CTX_load_verify_locations(ctx, t->ca, NULL) != 1) {
            snprintf(msg, cap, "TLS: kubelet CA %s: unreadable", t->ca);
            SSL_CTX_free(ctx);
            return NULL;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    return ctx;
}

static int tls_connect(struct hs_io *c, const char *host, const struct hs_tls *t, int timeout_ms,
                       char *msg, size_t cap)
{
    SSL_CTX *ctx = client_ctx(t, msg, cap);
    if (!ctx)
        return -1;
    c->ssl = SSL_new(ctx);
    SSL_CTX_free(ctx); /* the SSL keeps its reference */
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, host);
    if (t && t->ca)
        SSL_set1_host(c->ssl, host);
    int64_t end = ck_mono_ms() + timeout_ms;
    for (;;) {
        ERR_clear_error();
        int r = SSL_connect(c->ssl);
        if (r == 1)
            return 0;
        int e = SSL_get_error(c->ssl, r);
        int left = (int)(end - ck_mono_ms());
        if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) || left <= 0) {
            char eb[256] = "handshake failed";
            unsigned long ec = ERR_peek_error();
            if (ec)
                ERR_error_string_n(ec, eb, sizeof(eb));
            snprintf(msg, cap, "TLS handshake with the kubelet: %s", left <= 0 ? "timeout" : eb);
            return -1;
        }
        struct pollfd pf = {c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, 0};
        poll(&pf, 1, left);
    }
}

static void head_value(const char *head, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    out[0] = 0;
    for (const char *l = strstr(head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
        const char *s = l + 2;
        if (!strncasecmp(s, name, nl) && s[nl] == ':') {
            s += nl + 1;
            while (*s == ' ' || *s == '\t')
                s++;
            size_t k = strcspn(s, "\r\n");
            snprintf(out, cap, "%.*s", (int)k, s);
            return;
        }
    }
}

/* Reads the answer head; the bytes after it stay in c->pre. 1 when it does not look like
 * HTTP (first bytes), 0 ok, -1 failure. */
static int read_head(struct hs_io *c, struct hs_resp *r, int timeout_ms, char *msg, size_t cap)
{
    char *buf = ck_malloc(HEAD_MAX + 1);
    size_t n = 0;
    int64_t end = ck_mono_ms() + timeout_ms;
    char *e = NULL;
    while (!e) {
        if (n == HEAD_MAX) {
            snprintf(msg, cap, "kubelet answer head too large");
            free(buf);
            return -1;
        }
        ssize_t k = hs_io_read(c, buf + n, HEAD_MAX - n);
        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
            bool not_http = n == 0 || (n >= 5 && strncmp(buf, "HTTP/", 5));
            free(buf);
            if (not_http)
                return 1;
            snprintf(msg, cap, "kubelet closed the connection during the upgrade");
            return -1;
        }
        if (k > 0) {
            n += (size_t)k;
            buf[n] = 0;
            if (n >= 5 && strncmp(buf, "HTTP/", 5)) {
                free(buf);
                return 1;
            }
            e = strstr(buf, "\r\n\r\n");
            continue;
        }
        int left = (int)(end - ck_mono_ms());
        struct pollfd pf = {c->fd, (short)(c->want_write ? POLLOUT : POLLIN), 0};
        if (left <= 0 || poll(&pf, 1, left) < 0) {
            free(buf);
            snprintf(msg, cap, "timeout waiting for the kubelet's upgrade answer");
            return -1;
        }
    }
    size_t hl = (size_t)(e + 4 - buf);
    *e = 0;
    if (sscanf(buf, "HTTP/%*d.%*d %d", &r->status) != 1) {
        free(buf);
        return 1;
    }
    char v[256];
    head_value(buf, "X-Stream-Protocol-Version", r->proto, sizeof(r->proto));
    head_value(buf, "Content-Type", r->ctype, sizeof(r->ctype));
    head_value(buf, "Connection", v, sizeof(v));
    r->conn_upgrade = strcasestr(v, "upgrade") != NULL;
    head_value(buf, "Upgrade", v, sizeof(v));
    r->upgrade_spdy = strcasestr(v, "spdy/3.1") != NULL;
    char cl[32];
    head_value(buf, "Content-Length", cl, sizeof(cl));
    /* keep what followed the head */
    if (n > hl) {
        size_t rest = n - hl;
        uint8_t *p = ck_malloc(rest + (c->pre_len - c->pre_off));
        memcpy(p, buf + hl, rest);
        if (c->pre_off < c->pre_len)
            memcpy(p + rest, c->pre + c->pre_off, c->pre_len - c->pre_off);
        rest += c->pre_len - c->pre_off;
        free(c->pre);
        c->pre = p;
        c->pre_len = rest;
        c->pre_off = 0;
    }
    free(buf);
    if (r->status == 101)
        return 0;
    /* a refusal: read a bounded body (Content-Length, else until close) */
    long want = cl[0] ? strtol(cl, NULL, 10) : BODY_MAX;
    if (want < 0 || want > BODY_MAX)
        want = BODY_MAX;
    r->body = ck_malloc((size_t)want + 1);
    while (r->body_len < (size_t)want) {
        ssize_t k = hs_io_read(c, r->body + r->body_len, (size_t)want - r->body_len);
        if (k > 0) {
            r->body_len += (size_t)k;
            continue;
        }
        if (k == 0 || errno != EAGAIN)
            break;
        int left = (int)(end - ck_mono_ms());
        struct pollfd pf = {c->fd, POLLIN, 0};
        if (left <= 0 || poll(&pf, 1, left) <= 0)
            break;
    }
    r->body[r->body_len] = 0;
    return 0;
}

void hs_resp_release(struct hs_resp *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static int attempt(bool tls, const char *host, int port, const struct hs_tls *t, const char *req,
                   size_t reqlen, struct hs_io *out, struct hs_resp *resp, char *msg, size_t cap)
{
    struct hs_io c = {.fd = dial(host, port, 5000, msg, cap)};
    if (c.fd < 0)
        return -1;
    if (tls && tls_connect(&c, host, t, 3000, msg, cap) < 0) {
        hs_io_close(&c);
        return 2;
    }
    if (hs_io_write_all(&c, req, reqlen, 5000) < 0) {
        snprintf(msg, cap, "writing the upgrade request to the kubelet: %s", strerror(errno));
        hs_io_close(&c);
        return 1;
    }
    memset(resp, 0, sizeof(*resp));
    int rc = read_head(&c, resp, 10000, msg, cap);
    if (rc)
        hs_io_close(&c);
    else
        *out = c;
    if (rc == 1)
        snprintf(msg, cap, "the kubelet did not answer HTTP");
    return rc;
}

static bool is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* Loopback endpoints found to speak plain HTTP (for a minute). */
#define PLAIN_SLOTS 8
static struct {
    char host[64];
    int port;
    int64_t until_ms;
} plain_eps[PLAIN_SLOTS];
static pthread_mutex_t plain_mu = PTHREAD_MUTEX_INITIALIZER;

static bool plain_known(const char *host, int port, bool forget)
{
    bool known = false;
    pthread_mutex_lock(&plain_mu);
    for (int i = 0; i < PLAIN_SLOTS; i++)
        if (plain_eps[i].port == port && !strcmp(plain_eps[i].host, host) &&
            plain_eps[i].until_ms > ck_mono_ms()) {
            known = true;
            if (forget)
                plain_eps[i].port = 0;
        }
    pthread_mutex_unlock(&plain_mu);
    return known;
}

static void plain_remember(const char *host, int port)
{
    pthread_mutex_lock(&plain_mu);
    int k = 0;
    for (int i = 1; i < PLAIN_SLOTS; i++)
        if (plain_eps[i].until_ms < plain_eps[k].until_ms)
            k = i;
    snprintf(plain_eps[k].host, sizeof(plain_eps[k].host), "%s", host);
    plain_eps[k].port = port;
    plain_eps[k].until_ms = ck_mono_ms() + 60000;
    pthread_mutex_unlock(&plain_mu);
}

int hs_kubelet_upgrade(const char *host, int port, const struct hs_tls *tls, const char *method,
                       const char *target, const char *headers, struct hs_io *out,
                       struct hs_resp *resp, char *msg, size_t msgcap)
{
    bool v6 = strchr(host, ':') != NULL;
    char *req = ck_asprintf("%s %s HTTP/1.1\r\nHost: %s%s%s:%d\r\nUser-Agent: ckube-apiserver\r\n"
                            "Content-Length: 0\r\n%s\r\n",
                            method, target, v6 ? "[" : "", host, v6 ? "]" : "", port, headers);
    size_t len = strlen(req);
    /* with client certificates configured the kubelet speaks TLS; otherwise try plain HTTP
     * first (a development agent) and TLS when the peer does not answer HTTP */
    int rc;
    if (!tls || !tls->cert) {
        rc = attempt(false, host, port, tls, req, len, out, resp, msg, msgcap);
        if (rc == 1)
            rc = attempt(true, host, port, tls, req, len, out, resp, msg, msgcap);
    } else if (plain_known(host, port, false)) {
        rc = attempt(false, host, port, tls, req, len, out, resp, msg, msgcap);
        if (rc == 1) {
            plain_known(host, port, true);
            rc = attempt(true, host, port, tls, req, len, out, resp, msg, msgcap);
        }
    } else {
        /* TLS, as upstream; a loopback endpoint that does not speak it is retried in plain
         * HTTP (tests/stream's host) and remembered */
        rc = attempt(true, host, port, tls, req, len, out, resp, msg, msgcap);
        if (rc == 2 && is_loopback(host) &&
            (rc = attempt(false, host, port, tls, req, len, out, resp, msg, msgcap)) == 0)
            plain_remember(host, port);
    }
    free(req);
    return rc ? -1 : 0;
}
