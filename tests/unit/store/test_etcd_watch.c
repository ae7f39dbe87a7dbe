/* SPDX-License-Identifier: Apache-2.0 */
/* Subscriptions on the etcd backend, against a real etcd started by the test: concurrent
 * writers with subscribers that must see exactly events_since(from) in order (one joining
 * mid-stream, one leaving), and etcd killed with SIGKILL and restarted on the same data dir
 * mid-subscription: the stream resumes without losing or repeating an event; a stream cut
 * (through a loopback proxy) while its resume point is compacted reports STORE_EVENT_MISSED. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../etcd/etcd_fixture.h"

#include <pthread.h>

#define NWRITERS 4
#define NPUTS 40

static struct etf g_etcd;

struct seen {
    int64_t revision;
    int type;
    char key[32];
    char value[32];
    bool has_prev;
    char prev_value[32];
};

struct sub_log {
    pthread_mutex_t mu;
    struct seen *ev;
    size_t n, cap;
    bool out_of_order;
    int missed;
    int64_t missed_rev;
};

static void on_event(void *arg, const struct store_event *ev)
{
    struct sub_log *l = arg;
    pthread_mutex_lock(&l->mu);
    if (ev->type == STORE_EVENT_MISSED) {
        l->missed++;
        l->missed_rev = ev->revision;
        pthread_mutex_unlock(&l->mu);
        return;
    }
    if (l->n && ev->revision < l->ev[l->n - 1].revision)
        l->out_of_order = true;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->ev = realloc(l->ev, l->cap * sizeof(*l->ev));
    }
    struct seen *s = &l->ev[l->n++];
    memset(s, 0, sizeof(*s));
    s->revision = ev->revision;
    s->type = ev->type;
    snprintf(s->key, sizeof(s->key), "%s", ev->kv.key);
    snprintf(s->value, sizeof(s->value), "%s", (const char *)ev->kv.value);
    s->has_prev = ev->has_prev;
    if (ev->has_prev)
        snprintf(s->prev_value, sizeof(s->prev_value), "%s", (const char *)ev->prev.value);
    pthread_mutex_unlock(&l->mu);
}

static void log_init(struct sub_log *l)
{
    memset(l, 0, sizeof(*l));
    pthread_mutex_init(&l->mu, NULL);
}

static void log_free(struct sub_log *l)
{
    free(l->ev);
    pthread_mutex_destroy(&l->mu);
}

/* Waits until the subscriber has seen an event at revision >= rev (10 s at most). */
static bool wait_for(struct sub_log *l, int64_t rev)
{
    for (int i = 0; i < 400; i++) {
        pthread_mutex_lock(&l->mu);
        bool ok = l->n && l->ev[l->n - 1].revision >= rev;
        pthread_mutex_unlock(&l->mu);
        if (ok)
            return true;
        etf_sleep_ms(25);
    }
    return false;
}

/* The subscriber's log must equal events_since(from) exactly (up to `until`). */
static void assert_same_as_history(struct store *s, struct sub_log *l, int64_t from, int64_t until)
{
    struct ck_err err = CK_ERR_INIT;
    struct store_events ev;
    assert_int_equal(store_events_since(s, from, 0, &ev, &err), 0);
    size_t n = 0;
    while (n < ev.nevents && ev.events[n].revision <= until)
        n++;
    pthread_mutex_lock(&l->mu);
    size_t m = 0;
    while (m < l->n && l->ev[m].revision <= until)
        m++;
    assert_false(l->out_of_order);
    assert_int_equal(m, n);
    for (size_t i = 0; i < n; i++) {
        const struct store_event *e = &ev.events[i];
        assert_int_equal(l->ev[i].revision, e->revision);
        assert_int_equal(l->ev[i].type, e->type);
        assert_string_equal(l->ev[i].key, e->kv.key);
        assert_string_equal(l->ev[i].value, (const char *)e->kv.value);
        assert_int_equal(l->ev[i].has_prev, e->has_prev);
        if (e->has_prev)
            assert_string_equal(l->ev[i].prev_value, (const char *)e->prev.value);
    }
    pthread_mutex_unlock(&l->mu);
    store_events_release(&ev);
}

struct writer {
    struct store *s;
    int id;
    int64_t last_rev;
    int failures;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct ck_err err = CK_ERR_INIT;
    for (int i = 0; i < NPUTS; i++) {
        char key[32], val[32], key2[32];
        snprintf(key, sizeof(key), "/w%d/k%d", w->id, i % 5);
        snprintf(val, sizeof(val), "%d-%d", w->id, i);
        snprintf(key2, sizeof(key2), "/w%d/tmp", w->id);
        int64_t rev = 0;
        if (i % 7 == 6) { /* two ops, one revision, two events */
            struct store_op ops[] = {{STORE_OP_PUT, key, strlen(key), val, strlen(val)},
                                     {STORE_OP_DELETE, key2, strlen(key2), NULL, 0}};
            struct store_txn t = {NULL, 0, ops, 2};
            struct store_txn_result res;
            if (store_txn(w->s, &t, &res, &err) < 0 || !res.succeeded)
                w->failures++;
            else
                rev = res.revision;
            store_txn_result_release(&res);
        } else if (store_put(w->s, i % 7 == 3 ? key2 : key, strlen(i % 7 == 3 ? key2 : key), val,
                             strlen(val), STORE_ANY, &rev, NULL, &err) < 0) {
            w->failures++;
        }
        if (rev > w->last_rev)
            w->last_rev = rev;
    }
    return NULL;
}

static void test_concurrent_writers_subscribers(void **state)
{
    (void)state;
    struct store *s = etf_open(&g_etcd, "/conc");
    assert_non_null(s);
    struct ck_err err = CK_ERR_INIT;
    struct sub_log a, b, c;
    log_init(&a);
    log_init(&b);
    log_init(&c);
    int64_t from_a, from_b, from_c;
    int ida = store_subscribe(s, on_event, &a, &from_a, &err);
    assert_true(ida > 0);
    int idc = store_subscribe(s, on_event, &c, &from_c, &err);
    assert_true(idc > 0);
    struct writer w[NWRITERS];
    pthread_t th[NWRITERS];
    for (int i = 0; i < NWRITERS; i++) {
        w[i] = (struct writer){.s = s, .id = i};
        pthread_create(&th[i], NULL, writer_main, &w[i]);
    }
    etf_sleep_ms(100);
    int idb = store_subscribe(s, on_event, &b, &from_b, &err); /* joins mid-stream */
    assert_true(idb > 0);
    for (int i = 0; i < NWRITERS; i++)
        pthread_join(th[i], NULL);
    store_unsubscribe(s, idc); /* leaves: c must hold a prefix of the history */
    int64_t last = 0;
    for (int i = 0; i < NWRITERS; i++) {
        assert_int_equal(w[i].failures, 0);
        if (w[i].last_rev > last)
            last = w[i].last_rev;
    }
    assert_true(wait_for(&a, last));
    assert_true(wait_for(&b, last));
    store_unsubscribe(s, ida);
    store_unsubscribe(s, idb);
    assert_true(a.n >= (size_t)(NWRITERS * NPUTS));
    assert_same_as_history(s, &a, from_a, last);
    assert_same_as_history(s, &b, from_b, last);
    int64_t c_last = c.n ? c.ev[c.n - 1].revision : from_c;
    assert_same_as_history(s, &c, from_c, c_last);
    assert_int_equal(a.missed + b.missed + c.missed, 0);
    store_close(s);
    log_free(&a);
    log_free(&b);
    log_free(&c);
}

static int64_t put(struct store *s, const char *k, const char *v)
{
    int64_t rev = -1;
    struct ck_err err = CK_ERR_INIT;
    if (store_put(s, k, strlen(k), v, strlen(v), STORE_ANY, &rev, NULL, &err) < 0)
        fprintf(stderr, "put %s: %s\n", k, err.msg);
    return rev;
}

static void test_etcd_restart_mid_subscription(void **state)
{
    (void)state;
    struct store *s = etf_open(&g_etcd, "/restart");
    assert_non_null(s);
    struct ck_err err = CK_ERR_INIT;
    struct sub_log l;
    log_init(&l);
    int64_t from;
    int id = store_subscribe(s, on_event, &l, &from, &err);
    assert_true(id > 0);
    char k[32];
    int64_t rev = 0;
    for (int i = 0; i < 20; i++) {
        snprintf(k, sizeof(k), "/k%d", i % 3);
        rev = put(s, k, k);
        assert_true(rev > 0);
    }
    assert_true(wait_for(&l, rev));
    etf_kill(&g_etcd);
    /* while etcd is down every call fails fast with ServiceUnavailable */
    assert_int_equal(store_put(s, "/x", 2, "v", 1, STORE_ANY, NULL, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_SERVICE_UNAVAILABLE);
    etf_sleep_ms(300); /* the stream notices and starts reconnecting */
    assert_int_equal(etf_start(&g_etcd), 0);
    for (int i = 0; i < 20; i++) {
        snprintf(k, sizeof(k), "/k%d", i % 4);
        rev = put(s, k, "after");
        assert_true(rev > 0);
    }
    assert_true(wait_for(&l, rev));
    store_unsubscribe(s, id);
    assert_int_equal(l.n, 40); /* nothing lost, nothing repeated */
    assert_same_as_history(s, &l, from, rev);
    assert_int_equal(l.missed, 0);
    store_close(s);
    log_free(&l);
}

/* As with LMDB, a writer returns only once subscribers were given its events. */
static void test_delivered_before_ack(void **state)
{
    (void)state;
    struct store *s = etf_open(&g_etcd, "/ack");
    assert_non_null(s);
    struct ck_err err = CK_ERR_INIT;
    struct sub_log l;
    log_init(&l);
    int64_t from;
    int id = store_subscribe(s, on_event, &l, &from, &err);
    assert_true(id > 0);
    for (int i = 0; i < 20; i++) {
        int64_t rev = put(s, i % 2 ? "/a" : "/b", "v");
        pthread_mutex_lock(&l.mu);
        assert_int_equal(l.n, (size_t)i + 1);
        assert_int_equal(l.ev[l.n - 1].revision, rev);
        pthread_mutex_unlock(&l.mu);
    }
    /* a delete of an absent key writes nothing and must not wait */
    struct store_op op = {STORE_OP_DELETE, "/absent", 7, NULL, 0};
    struct store_txn t = {NULL, 0, &op, 1};
    struct store_txn_result res;
    assert_int_equal(store_txn(s, &t, &res, &err), 0);
    store_txn_result_release(&res);
    store_unsubscribe(s, id);
    store_close(s);
    log_free(&l);
}

/* Two handles on one prefix, as two apiservers: each sees the other's writes in its
 * subscription and a stale update from one conflicts with the other's write. */
static void test_two_apiservers_share_etcd(void **state)
{
    (void)state;
    struct store *a = etf_open(&g_etcd, "/shared"), *b = etf_open(&g_etcd, "/shared");
    assert_non_null(a);
    assert_non_null(b);
    struct ck_err err = CK_ERR_INIT;
    struct sub_log lb;
    log_init(&lb);
    int64_t from;
    int id = store_subscribe(b, on_event, &lb, &from, &err);
    assert_true(id > 0);
    int64_t r1 = put(a, "/obj", "v1");
    assert_true(wait_for(&lb, r1)); /* a's write reaches b's subscriber */
    int64_t r2;
    assert_int_equal(store_put(b, "/obj", 4, "v2", 2, r1, &r2, NULL, &err), 0);
    assert_int_equal(store_put(a, "/obj", 4, "v3", 2, r1, NULL, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_CONFLICT); /* a's view is stale */
    assert_int_equal(store_put(a, "/new", 4, "x", 1, STORE_ABSENT, NULL, NULL, &err), 0);
    assert_int_equal(store_put(b, "/new", 4, "y", 1, STORE_ABSENT, NULL, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_ALREADY_EXISTS);
    int64_t last = store_current_revision(a);
    assert_true(wait_for(&lb, last));
    store_unsubscribe(b, id);
    assert_same_as_history(a, &lb, from, last);
    assert_int_equal(lb.n, 3);
    store_close(a);
    store_close(b);
    log_free(&lb);
}

/* ---- a loopback TCP proxy that the test can cut and resume ---- */

#include <poll.h>
#include <stdatomic.h>

struct proxy {
    int port, up_port;
    int lfd;
    int fds[32]; /* pairs: fds[2i] client, fds[2i+1] upstream; -1 = free */
    atomic_bool enabled, quit;
    pthread_t th;
};

static int proxy_listen(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0)
        abort();
    return fd;
}

static void proxy_accept(struct proxy *p)
{
    int c = accept(p->lfd, NULL, NULL);
    if (c < 0)
        return;
    int u = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)p->up_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    for (int i = 0; i < 32; i += 2) {
        if (p->fds[i] < 0 && connect(u, (struct sockaddr *)&a, sizeof(a)) == 0) {
            p->fds[i] = c;
            p->fds[i + 1] = u;
            return;
        }
    }
    close(c);
    close(u);
}

static void proxy_close_all(struct proxy *p)
{
    for (int i = 0; i < 32; i++)
        if (p->fds[i] >= 0) {
            close(p->fds[i]);
            p->fds[i] = -1;
        }
}

static void *proxy_main(void *arg)
{
    struct proxy *p = arg;
    char buf[65536];
    while (!atomic_load(&p->quit)) {
        if (!atomic_load(&p->enabled)) {
            if (p->lfd >= 0) {
                close(p->lfd);
                p->lfd = -1;
                proxy_close_all(p);
            }
            etf_sleep_ms(10);
            continue;
        }
        if (p->lfd < 0)
            p->lfd = proxy_listen(p->port);
        struct pollfd pf[33];
        pf[0] = (struct pollfd){.fd = p->lfd, .events = POLLIN};
        for (int i = 0; i < 32; i++)
            pf[i + 1] = (struct pollfd){.fd = p->fds[i], .events = POLLIN};
        if (poll(pf, 33, 20) <= 0)
            continue;
        if (pf[0].revents & POLLIN)
            proxy_accept(p);
        for (int i = 0; i < 32; i++) {
            if (p->fds[i] < 0 || !(pf[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int peer = i ^ 1;
            ssize_t n = read(p->fds[i], buf, sizeof(buf));
            if (n <= 0 || write(p->fds[peer], buf, (size_t)n) != n) {
                close(p->fds[i]);
                close(p->fds[peer]);
                p->fds[i] = p->fds[peer] = -1;
            }
        }
    }
    if (p->lfd >= 0)
        close(p->lfd);
    proxy_close_all(p);
    return NULL;
}

static void proxy_start(struct proxy *p, int up_port)
{
    memset(p, 0, sizeof(*p));
    p->up_port = up_port;
    p->port = etf_free_port();
    p->lfd = proxy_listen(p->port);
    for (int i = 0; i < 32; i++)
        p->fds[i] = -1;
    atomic_store(&p->enabled, true);
    pthread_create(&p->th, NULL, proxy_main, p);
}

/* The stream loses etcd; meanwhile the history it needs is compacted; when it comes back it
 * must tell subscribers (STORE_EVENT_MISSED) and continue from the current revision. */
static void test_missed_after_compaction(void **state)
{
    (void)state;
    struct proxy px;
    proxy_start(&px, g_etcd.client_port);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", px.port);
    struct store_etcd_opts o = {.endpoints = url, .prefix = "/miss", .timeout_ms = 2000};
    struct store *s = NULL, *d = etf_open(&g_etcd, "/miss");
    struct ck_err err = CK_ERR_INIT;
    assert_non_null(d);
    assert_int_equal(store_etcd_open(&o, &s, &err), 0);
    struct sub_log l;
    log_init(&l);
    int64_t from;
    int id = store_subscribe(s, on_event, &l, &from, &err);
    assert_true(id > 0);
    int64_t r1 = put(d, "/k", "1");
    assert_true(wait_for(&l, r1));
    atomic_store(&px.enabled, false); /* cut: connections closed, new ones refused */
    etf_sleep_ms(150);
    put(d, "/k", "2");
    int64_t r3 = put(d, "/k", "3");
    assert_int_equal(store_compact(d, r3, &err), 0);
    atomic_store(&px.enabled, true);
    for (int i = 0; i < 400; i++) {
        pthread_mutex_lock(&l.mu);
        int missed = l.missed;
        pthread_mutex_unlock(&l.mu);
        if (missed)
            break;
        etf_sleep_ms(25);
    }
    int64_t r4 = put(d, "/k", "4");
    assert_true(wait_for(&l, r4));
    store_unsubscribe(s, id);
    assert_int_equal(l.missed, 1);
    assert_true(l.missed_rev >= r3);
    assert_int_equal(l.n, 2); /* r1 before the cut, r4 after the resync; r2, r3 reported lost */
    assert_int_equal(l.ev[0].revision, r1);
    assert_int_equal(l.ev[1].revision, r4);
    assert_string_equal(l.ev[1].prev_value, "3");
    store_close(s);
    store_close(d);
    atomic_store(&px.quit, true);
    pthread_join(px.th, NULL);
    log_free(&l);
}

static int group_setup(void **state)
{
    (void)state;
    return etf_init(&g_etcd);
}

static int group_teardown(void **state)
{
    (void)state;
    etf_destroy(&g_etcd);
    return 0;
}

int main(void)
{
    if (!etf_available())
        return 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_writers_subscribers),
        cmocka_unit_test(test_etcd_restart_mid_subscription),
        cmocka_unit_test(test_missed_after_compaction),
        cmocka_unit_test(test_delivered_before_ack),
        cmocka_unit_test(test_two_apiservers_share_etcd),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
