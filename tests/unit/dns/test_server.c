/* SPDX-License-Identifier: Apache-2.0 */
/* The DNS server's sockets and threads without an API server (a database filled by hand):
 * UDP and TCP answers, forwarding to an upstream (a thread of this test on loopback) over UDP
 * and TCP, SERVFAIL within the bounded tries when the upstream is silent, REFUSED without
 * upstreams, the forwarding-loop guard, and a clean stop with a TCP client still connected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dns/dns.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- a fake upstream: answers A queries with 192.0.2.7 over UDP and TCP ------------------ */

struct upstream {
    int udp, tcp, port;
    atomic_int stop, silent, seen;
    pthread_t th;
};

static ldns_pkt *upstream_answer(const uint8_t *q, size_t n)
{
    ldns_pkt *qp = NULL;
    if (ldns_wire2pkt(&qp, q, n) != LDNS_STATUS_OK)
        return NULL;
    ldns_pkt *r = ldns_pkt_new();
    ldns_pkt_set_id(r, ldns_pkt_id(qp));
    ldns_pkt_set_qr(r, true);
    ldns_pkt_set_ra(r, true);
    ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(qp), 0);
    ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, ldns_rr_clone(qrr));
    char *owner = ldns_rdf2str(ldns_rr_owner(qrr)), line[600];
    snprintf(line, sizeof(line), "%s 60 IN A 192.0.2.7", owner);
    free(owner);
    ldns_rr *rr = NULL;
    if (ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) == LDNS_STATUS_OK)
        ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, rr);
    ldns_pkt_free(qp);
    return r;
}

static void *upstream_main(void *arg)
{
    struct upstream *u = arg;
    while (!atomic_load(&u->stop)) {
        struct pollfd p[2] = {{.fd = u->udp, .events = POLLIN}, {.fd = u->tcp, .events = POLLIN}};
        if (poll(p, 2, 100) <= 0)
            continue;
        uint8_t buf[4096];
        if (p[0].revents & POLLIN) {
            struct sockaddr_storage from;
            socklen_t fl = sizeof(from);
            ssize_t n = recvfrom(u->udp, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
            atomic_fetch_add(&u->seen, 1);
            ldns_pkt *r =
                n > 0 && !atomic_load(&u->silent) ? upstream_answer(buf, (size_t)n) : NULL;
            uint8_t *w = NULL;
            size_t wl = 0;
            if (r && ldns_pkt2wire(&w, r, &wl) == LDNS_STATUS_OK)
                sendto(u->udp, w, wl, 0, (struct sockaddr *)&from, fl);
            free(w);
            ldns_pkt_free(r);
        }
        if (p[1].revents & POLLIN) {
            int c = accept(u->tcp, NULL, NULL);
            uint8_t hdr[2];
            if (c >= 0 && recv(c, hdr, 2, MSG_WAITALL) == 2) {
                size_t len = (size_t)hdr[0] << 8 | hdr[1];
                if (recv(c, buf, len, MSG_WAITALL) == (ssize_t)len) {
                    atomic_fetch_add(&u->seen, 1);
                    ldns_pkt *r = upstream_answer(buf, len);
                    uint8_t *w = NULL;
                    size_t wl = 0;
                    if (r && ldns_pkt2wire(&w, r, &wl) == LDNS_STATUS_OK) {
                        uint8_t rh[2] = {(uint8_t)(wl >> 8), (uint8_t)wl};
                        send(c, rh, 2, 0);
                        send(c, w, wl, 0);
                    }
                    free(w);
                    ldns_pkt_free(r);
                }
            }
            if (c >= 0)
                close(c);
        }
    }
    return NULL;
}

static void upstream_start(struct upstream *u)
{
    memset(u, 0, sizeof(*u));
    /* a UDP port from the kernel, then TCP on the same number: on a shared host that one may
     * be taken, so a few tries */
    int bound = -1;
    for (int tries = 0; tries < 20 && bound < 0; tries++) {
        struct sockaddr_in a = {.sin_family = AF_INET};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        u->udp = socket(AF_INET, SOCK_DGRAM, 0);
        assert_int_equal(bind(u->udp, (struct sockaddr *)&a, sizeof(a)), 0);
        socklen_t l = sizeof(a);
        getsockname(u->udp, (struct sockaddr *)&a, &l);
        u->port = ntohs(a.sin_port);
        u->tcp = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(u->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        bound = bind(u->tcp, (struct sockaddr *)&a, sizeof(a));
        if (bound < 0) {
            close(u->udp);
            close(u->tcp);
        }
    }
    assert_int_equal(bound, 0);
    listen(u->tcp, 8);
    pthread_create(&u->th, NULL, upstream_main, u);
}

static void upstream_stop(struct upstream *u)
{
    atomic_store(&u->stop, 1);
    pthread_join(u->th, NULL);
    close(u->udp);
    close(u->tcp);
}

/* ---- a client ---------------------------------------------------------------------------- */

static ldns_pkt *ask(int port, const char *name, bool tcp)
{
    ldns_pkt *q = NULL;
    ldns_pkt_query_new_frm_str(&q, name, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD);
    ldns_pkt_set_id(q, 777);
    uint8_t *w = NULL;
    size_t wl = 0;
    ldns_pkt2wire(&w, q, &wl);
    ldns_pkt_free(q);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    uint8_t buf[4096];
    ssize_t n;
    if (tcp) {
        uint8_t h[2] = {(uint8_t)(wl >> 8), (uint8_t)wl};
        send(fd, h, 2, 0);
        send(fd, w, wl, 0);
        n = recv(fd, h, 2, MSG_WAITALL) == 2
                ? recv(fd, buf, (size_t)(h[0] << 8 | h[1]), MSG_WAITALL)
                : -1;
    } else {
        send(fd, w, wl, 0);
        n = recv(fd, buf, sizeof(buf), 0);
    }
    close(fd);
    free(w);
    ldns_pkt *r = NULL;
    if (n <= 0 || ldns_wire2pkt(&r, buf, (size_t)n) != LDNS_STATUS_OK)
        return NULL;
    assert_int_equal(ldns_pkt_id(r), 777);
    return r;
}

static char *first_answer(ldns_pkt *r)
{
    if (!r || ldns_pkt_ancount(r) < 1)
        return ck_strdup("");
    return ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), 0), 0));
}

static struct dns_db *mkdb(void)
{
    struct dns_db *db = dns_db_new("cluster.local");
    json_t *s = json_loads("{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":"
                           "{\"clusterIP\":\"10.96.0.20\"}}",
                           0, NULL);
    dns_db_service_set(db, s);
    json_decref(s);
    return db;
}

static void test_answer_and_forward(void **state)
{
    (void)state;
    struct upstream u;
    upstream_start(&u);
    char up[64];
    snprintf(up, sizeof(up), "127.0.0.1:%d", u.port);
    const char *ups[] = {up, NULL};
    struct dns_db *db = mkdb();
    struct dns_server *s = NULL;
    struct ck_err err = CK_ERR_INIT;
    struct dns_server_opts o = {
        .db = db, .addr = "127.0.0.1", .upstreams = ups, .forward_timeout_ms = 500};
    int port = dns_server_start(&o, &s, &err);
    assert_true(port > 0);
    for (int tcp = 0; tcp < 2; tcp++) {
        ldns_pkt *r = ask(port, "web.default.svc.cluster.local.", tcp);
        assert_non_null(r);
        char *a = first_answer(r);
        assert_string_equal(a, "10.96.0.20");
        free(a);
        ldns_pkt_free(r);
        r = ask(port, "www.example.test.", tcp);
        assert_non_null(r);
        a = first_answer(r);
        assert_string_equal(a, "192.0.2.7");
        assert_false(ldns_pkt_aa(r));
        free(a);
        ldns_pkt_free(r);
    }
    assert_int_equal(atomic_load(&u.seen), 2);
    /* a silent upstream: SERVFAIL after the bounded try */
    atomic_store(&u.silent, 1);
    time_t t0 = time(NULL);
    ldns_pkt *r = ask(port, "slow.example.test.", false);
    assert_non_null(r);
    assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_SERVFAIL);
    assert_true(time(NULL) - t0 <= 3);
    ldns_pkt_free(r);
    struct ck_buf m = CK_BUF_INIT(1 << 20);
    dns_server_metrics(&m);
    assert_non_null(strstr(m.data, "ckube_dns_requests_total{proto=\"tcp\",type=\"A\"} 2"));
    assert_non_null(strstr(m.data, "ckube_dns_forward_failures_total 1"));
    ck_buf_release(&m);
    /* a TCP client that says nothing does not hold the stop up */
    int idle = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(idle, (struct sockaddr *)&a, sizeof(a)), 0);
    usleep(100000);
    t0 = time(NULL);
    dns_server_stop(s);
    assert_true(time(NULL) - t0 <= 2);
    close(idle);
    dns_db_free(db);
    upstream_stop(&u);
}

static void test_no_upstream_and_loop(void **state)
{
    (void)state;
    /* the only upstream is the server itself: skipped, so outside names are REFUSED */
    /* a free UDP port from the kernel; its TCP twin may be taken by another process on a
     * shared host, so a few tries */
    int want = -1, port = -1;
    char self[64];
    const char *ups[] = {self, NULL};
    struct dns_server *s = NULL;
    struct ck_err err = CK_ERR_INIT;
    for (int tries = 0; tries < 20 && port < 0; tries++) {
        int probe = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        socklen_t al = sizeof(a);
        assert_int_equal(bind(probe, (struct sockaddr *)&a, sizeof(a)), 0);
        getsockname(probe, (struct sockaddr *)&a, &al);
        close(probe);
        want = ntohs(a.sin_port);
        snprintf(self, sizeof(self), "127.0.0.1:%d", want);
        struct dns_server_opts o = {
            .domain = "corp.internal", .addr = "127.0.0.1", .port = want, .upstreams = ups};
        port = dns_server_start(&o, &s, &err);
        if (port < 0)
            ck_err_clear(&err);
    }
    assert_int_equal(port, want);
    ldns_pkt *r = ask(port, "www.example.test.", false);
    assert_non_null(r);
    assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_REFUSED);
    ldns_pkt_free(r);
    r = ask(port, "x.default.svc.corp.internal.", true);
    assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
    ldns_pkt_free(r);
    dns_server_stop(s);
    /* a bind address that is not an IP */
    struct dns_server_opts bad = {.addr = "localhost"};
    assert_true(dns_server_start(&bad, &s, &err) < 0);
    assert_non_null(strstr(err.msg, "not an IP address"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_and_forward),
        cmocka_unit_test(test_no_upstream_and_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
