/* SPDX-License-Identifier: Apache-2.0 */
/* The DNS server: UDP worker threads answering from the record database, a bounded forward
 * queue drained by a few threads that ask the upstream resolvers (each try bounded by a
 * timeout; a full queue answers SERVFAIL at once), and TCP (RFC 7766 framing) with a capped
 * number of connection threads and an idle timeout. Informers on Services and EndpointSlices
 * keep the database current. */
#include "ckube/informer.h"
#include "dns/dns_int.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/banned.h"

#define FWD_QUEUE 256
#define FWD_THREADS 4
#define TCP_MAX_CONNS 64
#define TCP_IDLE_MS 10000
#define MAX_UPSTREAMS 3
#define MAX_MSG 65535

static const char *const req_labels[] = {"proto", "type", NULL};
static const char *const rcode_labels[] = {"rcode", NULL};
static const char *const proto_labels[] = {"proto", NULL};
static const double dur_buckets[] = {0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016,
                                     0.032,   0.064,  0.128, 0.256, 0.512, 1.024, 2.048};
static struct ck_mfam m_requests = CK_MFAM_INIT(
    "ckube_dns_requests_total", "DNS queries received, by transport and question type.",
    CK_MCOUNTER, req_labels, NULL, 0);
static struct ck_mfam m_responses =
    CK_MFAM_INIT("ckube_dns_responses_total", "DNS responses sent, by response code.", CK_MCOUNTER,
                 rcode_labels, NULL, 0);
static struct ck_mfam m_duration = CK_MFAM_INIT(
    "ckube_dns_request_duration_seconds", "Time from a query's arrival to its response.",
    CK_MHISTOGRAM, proto_labels, dur_buckets, sizeof(dur_buckets) / sizeof(dur_buckets[0]));
static struct ck_mfam m_forward =
    CK_MFAM_INIT("ckube_dns_forward_requests_total", "Queries forwarded to an upstream resolver.",
                 CK_MCOUNTER, NULL, NULL, 0);
static struct ck_mfam m_forward_fail = CK_MFAM_INIT(
    "ckube_dns_forward_failures_total",
    "Forwarded queries answered SERVFAIL (every upstream failed or timed out, or the forward "
    "queue was full).",
    CK_MCOUNTER, NULL, NULL, 0);

struct fwd_job {
    uint8_t q[4096];
    size_t qlen;
    struct sockaddr_storage from;
    socklen_t fromlen;
    int64_t t0;
};

struct dns_server {
    struct dns_db *db;
    bool own_db;
    int udp, tcp, port;
    atomic_int stop;
    int nudp;
    pthread_t *udp_th, fwd_th[FWD_THREADS], tcp_th;
    struct sockaddr_storage up[MAX_UPSTREAMS];
    socklen_t uplen[MAX_UPSTREAMS];
    int nup;
    int fwd_timeout_ms;
    /* the forward queue */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct fwd_job *q[FWD_QUEUE];
    size_t qhead, qlen;
    atomic_int tcp_active;
    struct ck_informer *svc_inf, *eps_inf;
};

static void observe(const char *proto, int qtype, int rcode, int64_t t0)
{
    ck_mfam_add(&m_requests, (const char *[]){proto, dns_type_name(qtype)}, 1);
    ck_mfam_add(&m_responses, (const char *[]){dns_rcode_name(rcode)}, 1);
    ck_mfam_observe(&m_duration, (const char *[]){proto}, (double)(ck_mono_ns() - t0) / 1e9);
}

void dns_server_metrics(struct ck_buf *out)
{
    ck_mfam_render(&m_requests, out);
    ck_mfam_render(&m_responses, out);
    ck_mfam_render(&m_duration, out);
    ck_mfam_render(&m_forward, out);
    ck_mfam_render(&m_forward_fail, out);
}

/* ---- upstreams ----------------------------------------------------------------------- */

static int parse_addr(const char *s, int defport, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[128];
    int port = defport;
    memset(ss, 0, sizeof(*ss));
    if (s[0] == '[') { /* [v6]:port */
        const char *e = strchr(s, ']');
        if (!e || (size_t)(e - s - 1) >= sizeof(host))
            return -1;
        snprintf(host, sizeof(host), "%.*s", (int)(e - s - 1), s + 1);
        if (e[1] == ':')
            port = atoi(e + 2);
    } else if (strchr(s, ':') && strchr(s, ':') == strrchr(s, ':')) { /* v4:port */
        snprintf(host, sizeof(host), "%.*s", (int)(strchr(s, ':') - s), s);
        port = atoi(strchr(s, ':') + 1);
    } else {
        snprintf(host, sizeof(host), "%s", s);
    }
    char *pct = strchr(host, '%'); /* fe80::1%eth0: zone ids are not supported */
    if (pct)
        *pct = '\0';
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (port < 0 || port > 65535)
        return -1;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof(*v4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*v6);
        return 0;
    }
    return -1;
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static int ss_port(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)ss)->sin_port)
                                    : ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static bool same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                   &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
}

static bool is_any(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* Adds an upstream unless it is this server itself (a forwarding loop). */
static void add_upstream(struct dns_server *s, const char *spec,
                         const struct sockaddr_storage *self)
{
    if (s->nup == MAX_UPSTREAMS)
        return;
    struct sockaddr_storage ss;
    socklen_t len;
    if (parse_addr(spec, 53, &ss, &len) < 0) {
        ck_warn("dns: upstream %s: not an IP address", spec);
        return;
    }
    if (ss_port(&ss) == s->port && (same_ip(&ss, self) || (is_any(self) && is_loopback(&ss)))) {
        ck_warn("dns: upstream %s is this server: skipped (it would loop)", spec);
        return;
    }
    s->up[s->nup] = ss;
    s->uplen[s->nup++] = len;
}

static bool wait_fd(int fd, short ev, int ms)
{
    struct pollfd p = {.fd = fd, .events = ev};
    return poll(&p, 1, ms) == 1 && (p.revents & ev);
}

static bool read_full(int fd, void *buf, size_t n, int64_t deadline_ms, atomic_int *stop)
{
    size_t got = 0;
    while (got < n) {
        int64_t left = deadline_ms - ck_mono_ms();
        if (left <= 0 || (stop && atomic_load(stop)))
            return false;
        if (!wait_fd(fd, POLLIN, left > 200 ? 200 : (int)left))
            continue;
        ssize_t r = recv(fd, (char *)buf + got, n - got, 0);
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

static bool write_full(int fd, const void *buf, size_t n)
{
    size_t off = 0;
    while (off < n) {
        if (!wait_fd(fd, POLLOUT, 5000))
            return false;
        ssize_t w = send(fd, (const char *)buf + off, n - off, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        off += (size_t)w;
    }
    return true;
}

/* One exchange with upstream i; returns the response length or -1. tcp: RFC 7766 framing. */
static ssize_t exchange(struct dns_server *s, int i, bool tcp, const uint8_t *q, size_t qlen,
                        uint8_t *resp, size_t cap)
{
    int fd = socket(s->up[i].ss_family,
                    (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    ssize_t n = -1;
    int64_t deadline = ck_mono_ms() + s->fwd_timeout_ms;
    if (connect(fd, (struct sockaddr *)&s->up[i], s->uplen[i]) < 0 && errno != EINPROGRESS)
        goto out;
    if (tcp) {
        uint8_t hdr[2] = {(uint8_t)(qlen >> 8), (uint8_t)qlen};
        if (!wait_fd(fd, POLLOUT, s->fwd_timeout_ms) || !write_full(fd, hdr, 2) ||
            !write_full(fd, q, qlen) || !read_full(fd, hdr, 2, deadline, &s->stop))
            goto out;
        size_t rl = (size_t)hdr[0] << 8 | hdr[1];
        if (rl < LDNS_HEADER_SIZE || rl > cap || !read_full(fd, resp, rl, deadline, &s->stop))
            goto out;
        n = (ssize_t)rl;
    } else {
        if (send(fd, q, qlen, 0) != (ssize_t)qlen)
            goto out;
        for (;;) { /* skip stray datagrams whose id is not ours */
            int64_t left = deadline - ck_mono_ms();
            if (left <= 0 || atomic_load(&s->stop) || !wait_fd(fd, POLLIN, (int)left))
                goto out;
            ssize_t r = recv(fd, resp, cap, 0);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r < 0)
                goto out;
            if ((size_t)r >= LDNS_HEADER_SIZE && LDNS_ID_WIRE(resp) == LDNS_ID_WIRE(q) &&
                LDNS_QR_WIRE(resp)) {
                n = r;
                break;
            }
        }
    }
out:
    close(fd);
    return n;
}

/* Forwards q; fills out (malloc'd) with the upstream's answer or a SERVFAIL. */
static int forward(struct dns_server *s, bool tcp, const uint8_t *q, size_t qlen,
                   struct dns_reply *out)
{
    ck_mfam_add(&m_forward, NULL, 1);
    uint8_t *resp = ck_malloc(MAX_MSG);
    for (int i = 0; i < s->nup && !atomic_load(&s->stop); i++) {
        ssize_t n = exchange(s, i, tcp, q, qlen, resp, MAX_MSG);
        if (n > 0) {
            memset(out, 0, sizeof(*out));
            out->wire = resp;
            out->len = (size_t)n;
            out->rcode = LDNS_RCODE_WIRE(resp);
            out->qtype = dns_query_type(q, qlen);
            return 0;
        }
    }
    free(resp);
    ck_mfam_add(&m_forward_fail, NULL, 1);
    return dns_error_reply(q, qlen, LDNS_RCODE_SERVFAIL, out);
}

/* ---- UDP ----------------------------------------------------------------------------- */

static void *fwd_main(void *arg)
{
    struct dns_server *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->qlen && !atomic_load(&s->stop))
            pthread_cond_wait(&s->cv, &s->mu);
        if (atomic_load(&s->stop)) {
            pthread_mutex_unlock(&s->mu);
            return NULL;
        }
        struct fwd_job *j = s->q[s->qhead];
        s->qhead = (s->qhead + 1) % FWD_QUEUE;
        s->qlen--;
        pthread_mutex_unlock(&s->mu);
        struct dns_reply r;
        if (forward(s, false, j->q, j->qlen, &r) == 0) {
            (void)!sendto(s->udp, r.wire, r.len, 0, (struct sockaddr *)&j->from, j->fromlen);
            observe("udp", r.qtype, r.rcode, j->t0);
            free(r.wire);
        }
        free(j);
    }
}

static void *udp_main(void *arg)
{
    struct dns_server *s = arg;
    uint8_t buf[4096];
    while (!atomic_load(&s->stop)) {
        if (!wait_fd(s->udp, POLLIN, 200))
            continue;
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(s->udp, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
        if (n <= 0)
            continue;
        int64_t t0 = ck_mono_ns();
        struct dns_reply r;
        enum dns_verdict v = dns_answer(s->db, buf, (size_t)n, 512, &r);
        if (v == DNS_FORWARD) {
            struct fwd_job *j = NULL;
            pthread_mutex_lock(&s->mu);
            if (s->nup && s->qlen < FWD_QUEUE) {
                j = ck_malloc(sizeof(*j));
                memcpy(j->q, buf, (size_t)n);
                j->qlen = (size_t)n;
                j->from = from;
                j->fromlen = fl;
                j->t0 = t0;
                s->q[(s->qhead + s->qlen) % FWD_QUEUE] = j;
                s->qlen++;
                pthread_cond_signal(&s->cv);
            }
            pthread_mutex_unlock(&s->mu);
            if (j)
                continue;
            ck_mfam_add(&m_forward_fail, NULL, 1);
            if (dns_error_reply(buf, (size_t)n, s->nup ? LDNS_RCODE_SERVFAIL : LDNS_RCODE_REFUSED,
                                &r) < 0)
                continue;
        } else if (v == DNS_DROP) {
            continue;
        }
        (void)!sendto(s->udp, r.wire, r.len, 0, (struct sockaddr *)&from, fl);
        observe("udp", r.qtype, r.rcode, t0);
        free(r.wire);
    }
    return NULL;
}

/* ---- TCP ----------------------------------------------------------------------------- */

struct tcp_conn {
    struct dns_server *s;
    int fd;
};

static void *tcp_conn_main(void *arg)
{
    struct tcp_conn *c = arg;
    struct dns_server *s = c->s;
    uint8_t *buf = ck_malloc(MAX_MSG);
    for (;;) {
        uint8_t hdr[2];
        if (!read_full(c->fd, hdr, 2, ck_mono_ms() + TCP_IDLE_MS, &s->stop))
            break;
        size_t len = (size_t)hdr[0] << 8 | hdr[1];
        if (!read_full(c->fd, buf, len, ck_mono_ms() + TCP_IDLE_MS, &s->stop))
            break;
        int64_t t0 = ck_mono_ns();
        struct dns_reply r;
        enum dns_verdict v = dns_answer(s->db, buf, len, 0, &r);
        if (v == DNS_DROP)
            break;
        if (v == DNS_FORWARD && (s->nup ? forward(s, true, buf, len, &r)
                                        : dns_error_reply(buf, len, LDNS_RCODE_REFUSED, &r)) < 0)
            break;
        uint8_t rh[2] = {(uint8_t)(r.len >> 8), (uint8_t)r.len};
        bool ok = r.len <= MAX_MSG && write_full(c->fd, rh, 2) && write_full(c->fd, r.wire, r.len);
        observe("tcp", r.qtype, r.rcode, t0);
        free(r.wire);
        if (!ok)
            break;
    }
    free(buf);
    close(c->fd);
    atomic_fetch_sub(&s->tcp_active, 1);
    free(c);
    return NULL;
}

static void *tcp_main(void *arg)
{
    struct dns_server *s = arg;
    while (!atomic_load(&s->stop)) {
        if (!wait_fd(s->tcp, POLLIN, 200))
            continue;
        int fd = accept4(s->tcp, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            continue;
        if (atomic_fetch_add(&s->tcp_active, 1) >= TCP_MAX_CONNS) {
            atomic_fetch_sub(&s->tcp_active, 1);
            close(fd);
            continue;
        }
        struct tcp_conn *c = ck_malloc(sizeof(*c));
        c->s = s;
        c->fd = fd;
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&th, &at, tcp_conn_main, c) != 0) {
            close(fd);
            free(c);
            atomic_fetch_sub(&s->tcp_active, 1);
        }
        pthread_attr_destroy(&at);
    }
    return NULL;
}

/* ---- informers ----------------------------------------------------------------------- */

static void svc_add(void *arg, json_t *o)
{
    dns_db_service_set(arg, o);
}
static void svc_upd(void *arg, json_t *old, json_t *o)
{
    (void)old;
    dns_db_service_set(arg, o);
}
static void svc_del(void *arg, json_t *o)
{
    dns_db_service_del(arg, o);
}
static void eps_add(void *arg, json_t *o)
{
    dns_db_slice_set(arg, o);
}
static void eps_upd(void *arg, json_t *old, json_t *o)
{
    (void)old;
    dns_db_slice_set(arg, o);
}
static void eps_del(void *arg, json_t *o)
{
    dns_db_slice_del(arg, o);
}

/* ---- lifecycle ----------------------------------------------------------------------- */

static int bind_sockets(struct dns_server *s, const struct sockaddr_storage *self, socklen_t len,
                        struct ck_err *err)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        struct sockaddr_storage a = *self;
        s->udp = socket(a.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        s->tcp = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int one = 1;
        if (s->udp >= 0 && s->tcp >= 0)
            setsockopt(s->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (s->udp < 0 || s->tcp < 0 || bind(s->udp, (struct sockaddr *)&a, len) < 0) {
            ck_err_set(err, CK_R_IO, "dns: bind udp port %d: %s", ss_port(self), strerror(errno));
            goto fail;
        }
        struct sockaddr_storage b;
        socklen_t bl = sizeof(b);
        getsockname(s->udp, (struct sockaddr *)&b, &bl);
        if (bind(s->tcp, (struct sockaddr *)&b, bl) == 0 && listen(s->tcp, 128) == 0) {
            s->port = ss_port(&b);
            int rcv = 4 << 20;
            setsockopt(s->udp, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
            return 0;
        }
        ck_err_set(err, CK_R_IO, "dns: bind tcp port %d: %s", ss_port(&b), strerror(errno));
        if (ss_port(self) != 0)
            goto fail;
        close(s->udp);
        close(s->tcp);
    }
    return -1;
fail:
    if (s->udp >= 0)
        close(s->udp);
    if (s->tcp >= 0)
        close(s->tcp);
    s->udp = s->tcp = -1;
    return -1;
}

int dns_server_start(const struct dns_server_opts *o, struct dns_server **out, struct ck_err *err)
{
    struct sockaddr_storage self;
    socklen_t slen;
    const char *addr = o->addr && *o->addr ? o->addr : "0.0.0.0";
    if (parse_addr(addr, o->port, &self, &slen) < 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "dns: bind address %s: not an IP address", addr);
    struct dns_server *s = ck_calloc(1, sizeof(*s));
    s->udp = s->tcp = -1;
    if (bind_sockets(s, &self, slen, err) < 0) {
        free(s);
        return -1;
    }
    s->db = o->db;
    if (!s->db) {
        s->db = dns_db_new(o->domain);
        s->own_db = true;
    }
    s->fwd_timeout_ms = o->forward_timeout_ms > 0 ? o->forward_timeout_ms : 2000;
    if (o->upstreams) {
        for (const char *const *u = o->upstreams; *u; u++)
            add_upstream(s, *u, &self);
    } else {
        struct dns_resolv rc;
        const char *path = o->resolv_conf ? o->resolv_conf : "/etc/resolv.conf";
        if (dns_resolv_load(path, &rc) < 0)
            ck_warn("dns: %s: cannot read it, names outside the cluster will be refused", path);
        for (size_t i = 0; i < rc.servers.n; i++)
            add_upstream(s, rc.servers.v[i], &self);
        dns_resolv_release(&rc);
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (o->client) {
        s->svc_inf =
            ck_informer_new(o->client, &(struct ck_informer_opts){.path = "/api/v1/services"});
        s->eps_inf = ck_informer_new(
            o->client,
            &(struct ck_informer_opts){.path = "/apis/discovery.k8s.io/v1/endpointslices"});
        ck_informer_add_handlers(s->svc_inf,
                                 &(struct ck_informer_handlers){svc_add, svc_upd, svc_del, s->db});
        ck_informer_add_handlers(s->eps_inf,
                                 &(struct ck_informer_handlers){eps_add, eps_upd, eps_del, s->db});
        ck_informer_start(s->svc_inf);
        ck_informer_start(s->eps_inf);
    }
    s->nudp = o->udp_threads > 0 ? o->udp_threads : 2;
    s->udp_th = ck_calloc((size_t)s->nudp, sizeof(*s->udp_th));
    for (int i = 0; i < s->nudp; i++)
        pthread_create(&s->udp_th[i], NULL, udp_main, s);
    for (int i = 0; i < FWD_THREADS; i++)
        pthread_create(&s->fwd_th[i], NULL, fwd_main, s);
    pthread_create(&s->tcp_th, NULL, tcp_main, s);
    char ups[512] = "";
    size_t off = 0;
    for (int i = 0; i < s->nup && off < sizeof(ups); i++) {
        char h[INET6_ADDRSTRLEN] = "";
        const void *ap = s->up[i].ss_family == AF_INET
                             ? (const void *)&((struct sockaddr_in *)&s->up[i])->sin_addr
                             : (const void *)&((struct sockaddr_in6 *)&s->up[i])->sin6_addr;
        inet_ntop(s->up[i].ss_family, ap, h, sizeof(h));
        off += (size_t)snprintf(ups + off, sizeof(ups) - off, "%s%s:%d", i ? "," : "", h,
                                ss_port(&s->up[i]));
    }
    ck_info("dns: serving %s on %s port %d (udp, tcp), upstreams [%s]", dns_db_domain(s->db), addr,
            s->port, ups);
    *out = s;
    return s->port;
}

int dns_server_port(const struct dns_server *s)
{
    return s->port;
}

struct dns_db *dns_server_db(struct dns_server *s)
{
    return s->db;
}

bool dns_server_synced(struct dns_server *s)
{
    return !s->svc_inf ||
           (ck_informer_has_synced(s->svc_inf) && ck_informer_has_synced(s->eps_inf));
}

bool dns_server_wait_synced(struct dns_server *s, int timeout_ms)
{
    if (!s->svc_inf)
        return true;
    return ck_informer_wait_synced(s->svc_inf, timeout_ms) &&
           ck_informer_wait_synced(s->eps_inf, timeout_ms);
}

void dns_server_stop(struct dns_server *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, 1);
    pthread_mutex_lock(&s->mu);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->nudp; i++)
        pthread_join(s->udp_th[i], NULL);
    for (int i = 0; i < FWD_THREADS; i++)
        pthread_join(s->fwd_th[i], NULL);
    pthread_join(s->tcp_th, NULL);
    for (int i = 0; i < 200 && atomic_load(&s->tcp_active) > 0; i++)
        usleep(50000); /* connection threads see stop within 200 ms */
    if (s->svc_inf) {
        ck_informer_stop(s->svc_inf);
        ck_informer_stop(s->eps_inf);
        ck_informer_free(s->svc_inf);
        ck_informer_free(s->eps_inf);
    }
    while (s->qlen) {
        free(s->q[s->qhead]);
        s->qhead = (s->qhead + 1) % FWD_QUEUE;
        s->qlen--;
    }
    close(s->udp);
    close(s->tcp);
    if (s->own_db)
        dns_db_free(s->db);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->udp_th);
    free(s);
}
