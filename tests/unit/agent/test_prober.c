/* SPDX-License-Identifier: Apache-2.0 */
/* The prober: probe specs (defaults, named ports), the worker state machine (initial values
 * per type, thresholds, startup gating, onHold after a liveness failure until a new container,
 * Failure once stopped, Success on deletion, initialDelaySeconds), the result views, and real
 * httpGet / tcpSocket probes and lifecycle hooks (httpGet, sleep) against a loopback server
 * made here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/hooks.h"
#include "agent/prober.h"
#include "lib/timeutil.h"

#define SEC 1000000000LL
#define T0 (1700000000LL * SEC)

static json_t *ctr(void)
{
    return json_pack("{s:s,s:[{s:s,s:i},{s:s,s:i}]}", "name", "web", "ports", "name", "http",
                     "containerPort", 8080, "name", "admin", "containerPort", 9090);
}

static void test_spec_parse(void **state)
{
    (void)state;
    json_t *c = ctr();
    json_t *h = json_pack("{s:{s:s,s:s,s:[{s:s,s:s}]}}", "httpGet", "path", "healthz", "port",
                          "admin", "httpHeaders", "name", "X-A", "value", "1");
    struct ag_probe_spec s;
    ag_probe_spec_parse(h, c, &s);
    assert_int_equal(s.kind, AG_PH_HTTP);
    assert_int_equal(s.port, 9090);
    assert_string_equal(s.path, "/healthz");
    assert_string_equal(s.scheme, "HTTP");
    assert_int_equal(s.nheaders, 1);
    /* upstream's defaults */
    assert_int_equal(s.period_s, 10);
    assert_int_equal(s.timeout_s, 1);
    assert_int_equal(s.success_threshold, 1);
    assert_int_equal(s.failure_threshold, 3);
    assert_int_equal(s.initial_delay_s, 0);
    assert_true(s.termination_grace_s == -1);
    ag_probe_spec_release(&s);
    json_decref(h);

    h = json_pack("{s:{s:s},s:i,s:i,s:I}", "tcpSocket", "port", "nope", "periodSeconds", 2,
                  "failureThreshold", 1, "terminationGracePeriodSeconds", (json_int_t)5);
    ag_probe_spec_parse(h, c, &s);
    assert_int_equal(s.kind, AG_PH_TCP);
    assert_int_equal(s.port, 0);
    assert_string_equal(s.port_error, "couldn't find port: nope in web");
    assert_int_equal(s.period_s, 2);
    assert_true(s.termination_grace_s == 5);
    char out[256];
    assert_int_equal(ag_probe_run(NULL, "x", &s, "127.0.0.1", 1, false, out, sizeof(out)), -1);
    assert_string_equal(out, "couldn't find port: nope in web");
    ag_probe_spec_release(&s);
    json_decref(h);

    h = json_pack("{s:{s:[s,s]}}", "exec", "command", "cat", "/tmp/healthy");
    ag_probe_spec_parse(h, c, &s);
    assert_int_equal(s.kind, AG_PH_EXEC);
    assert_string_equal(s.command[1], "/tmp/healthy");
    assert_null(s.command[2]);
    ag_probe_spec_release(&s);
    json_decref(h);
    json_decref(c);
}

static struct ag_probe_spec spec_of(int success, int failure, int delay)
{
    struct ag_probe_spec s;
    memset(&s, 0, sizeof(s));
    s.kind = AG_PH_EXEC;
    s.period_s = 1;
    s.timeout_s = 1;
    s.success_threshold = success;
    s.failure_threshold = failure;
    s.initial_delay_s = delay;
    s.termination_grace_s = -1;
    return s;
}

static struct ag_probe_ctx running(const char *cid, bool started)
{
    return (struct ag_probe_ctx){.cid = cid,
                                 .running = true,
                                 .started = started,
                                 .started_real_ns = T0,
                                 .now_real_ns = T0 + 100 * SEC};
}

static void test_initial_values_and_thresholds(void **state)
{
    (void)state;
    struct ag_probe_spec s = spec_of(2, 3, 0);
    struct ag_probe_sm r, l, su;
    ag_probe_sm_init(&r, AG_PROBE_READINESS);
    ag_probe_sm_init(&l, AG_PROBE_LIVENESS);
    ag_probe_sm_init(&su, AG_PROBE_STARTUP);
    struct ag_probe_ctx ctx = running("c1", true);
    bool ch;
    assert_int_equal(ag_probe_sm_before(&r, &s, &ctx, &ch), AG_PROBE_RUN);
    assert_true(ch); /* a new container: the initial value is published */
    assert_int_equal(r.result, AG_PR_FAILURE);
    assert_int_equal(ag_probe_sm_before(&l, &s, &ctx, &ch), AG_PROBE_RUN);
    assert_int_equal(l.result, AG_PR_SUCCESS);
    ctx.started = false;
    assert_int_equal(ag_probe_sm_before(&su, &s, &ctx, &ch), AG_PROBE_RUN);
    assert_int_equal(su.result, AG_PR_UNKNOWN);

    /* readiness: successThreshold 2 */
    assert_false(ag_probe_sm_record(&r, &s, AG_PR_SUCCESS));
    assert_int_equal(r.result, AG_PR_FAILURE);
    assert_true(ag_probe_sm_record(&r, &s, AG_PR_SUCCESS));
    assert_int_equal(r.result, AG_PR_SUCCESS);
    assert_false(ag_probe_sm_record(&r, &s, AG_PR_SUCCESS));
    /* failureThreshold 3, and a success in between starts the count over */
    assert_false(ag_probe_sm_record(&r, &s, AG_PR_FAILURE));
    assert_false(ag_probe_sm_record(&r, &s, AG_PR_FAILURE));
    assert_false(ag_probe_sm_record(&r, &s, AG_PR_SUCCESS));
    assert_false(ag_probe_sm_record(&r, &s, AG_PR_FAILURE));
    assert_false(ag_probe_sm_record(&r, &s, AG_PR_FAILURE));
    assert_int_equal(r.result, AG_PR_SUCCESS);
    assert_true(ag_probe_sm_record(&r, &s, AG_PR_FAILURE));
    assert_int_equal(r.result, AG_PR_FAILURE);
    /* readiness keeps probing after a failure (no hold) */
    ctx.started = true;
    assert_int_equal(ag_probe_sm_before(&r, &s, &ctx, &ch), AG_PROBE_RUN);
    assert_false(ch);
}

static void test_liveness_hold_until_new_container(void **state)
{
    (void)state;
    struct ag_probe_spec s = spec_of(1, 2, 0);
    struct ag_probe_sm l;
    ag_probe_sm_init(&l, AG_PROBE_LIVENESS);
    struct ag_probe_ctx ctx = running("c1", true);
    bool ch;
    assert_int_equal(ag_probe_sm_before(&l, &s, &ctx, &ch), AG_PROBE_RUN);
    assert_false(ag_probe_sm_record(&l, &s, AG_PR_FAILURE));
    assert_true(ag_probe_sm_record(&l, &s, AG_PR_FAILURE));
    assert_int_equal(l.result, AG_PR_FAILURE);
    assert_true(l.on_hold);
    /* on hold: no more probes of this container */
    assert_int_equal(ag_probe_sm_before(&l, &s, &ctx, &ch), AG_PROBE_SKIP);
    assert_false(ag_probe_sm_record(&l, &s, AG_PR_SUCCESS));
    assert_int_equal(l.result, AG_PR_FAILURE);
    /* the restarted container: Success again and probing resumes */
    ctx.cid = "c2";
    assert_int_equal(ag_probe_sm_before(&l, &s, &ctx, &ch), AG_PROBE_RUN);
    assert_true(ch);
    assert_int_equal(l.result, AG_PR_SUCCESS);
    assert_string_equal(l.cid, "c2");
    /* one failure is below the threshold of 2 (the run counter started over) */
    assert_false(ag_probe_sm_record(&l, &s, AG_PR_FAILURE));
    assert_int_equal(l.result, AG_PR_SUCCESS);
}

static void test_startup_gates_other_probes(void **state)
{
    (void)state;
    struct ag_probe_spec s = spec_of(1, 3, 0);
    struct ag_probe_sm l, su;
    ag_probe_sm_init(&l, AG_PROBE_LIVENESS);
    ag_probe_sm_init(&su, AG_PROBE_STARTUP);
    struct ag_probe_ctx ctx = running("c1", false);
    bool ch;
    assert_int_equal(ag_probe_sm_before(&l, &s, &ctx, &ch), AG_PROBE_SKIP); /* not started */
    assert_int_equal(ag_probe_sm_before(&su, &s, &ctx, &ch), AG_PROBE_RUN);
    assert_true(ag_probe_sm_record(&su, &s, AG_PR_SUCCESS));
    ctx.started = true;
    assert_int_equal(ag_probe_sm_before(&su, &s, &ctx, &ch), AG_PROBE_SKIP); /* done */
    assert_int_equal(ag_probe_sm_before(&l, &s, &ctx, &ch), AG_PROBE_RUN);
    /* a startup failure (threshold 3) holds like liveness */
    struct ag_probe_sm su2;
    ag_probe_sm_init(&su2, AG_PROBE_STARTUP);
    ctx.started = false;
    ctx.cid = "c2";
    assert_int_equal(ag_probe_sm_before(&su2, &s, &ctx, &ch), AG_PROBE_RUN);
    assert_false(ag_probe_sm_record(&su2, &s, AG_PR_FAILURE));
    assert_false(ag_probe_sm_record(&su2, &s, AG_PR_FAILURE));
    assert_true(ag_probe_sm_record(&su2, &s, AG_PR_FAILURE));
    assert_true(su2.on_hold);
    assert_int_equal(ag_probe_sm_before(&su2, &s, &ctx, &ch), AG_PROBE_SKIP);
}

static void test_delay_stop_and_deletion(void **state)
{
    (void)state;
    struct ag_probe_spec s = spec_of(1, 1, 30);
    struct ag_probe_sm r;
    ag_probe_sm_init(&r, AG_PROBE_READINESS);
    struct ag_probe_ctx ctx = running("c1", true);
    ctx.now_real_ns = T0 + 29 * SEC;
    bool ch;
    assert_int_equal(ag_probe_sm_before(&r, &s, &ctx, &ch), AG_PROBE_SKIP); /* initial delay */
    ctx.now_real_ns = T0 + 30 * SEC;
    assert_int_equal(ag_probe_sm_before(&r, &s, &ctx, &ch), AG_PROBE_RUN);
    assert_true(ag_probe_sm_record(&r, &s, AG_PR_SUCCESS));
    /* the container stops: Failure; under Never a terminated container ends the worker */
    ctx.running = false;
    ctx.terminated = true;
    assert_int_equal(ag_probe_sm_before(&r, &s, &ctx, &ch), AG_PROBE_SKIP);
    assert_true(ch);
    assert_int_equal(r.result, AG_PR_FAILURE);
    ctx.restart_never = true;
    assert_int_equal(ag_probe_sm_before(&r, &s, &ctx, &ch), AG_PROBE_STOP);
    /* no container yet: nothing happens */
    struct ag_probe_sm l;
    ag_probe_sm_init(&l, AG_PROBE_LIVENESS);
    struct ag_probe_ctx none = {.cid = ""};
    assert_int_equal(ag_probe_sm_before(&l, &s, &none, &ch), AG_PROBE_SKIP);
    assert_false(ch);
    /* deletion: liveness publishes Success and stops */
    ctx = running("c1", true);
    ctx.deleting = true;
    l.result = AG_PR_FAILURE;
    snprintf(l.cid, sizeof(l.cid), "c1");
    assert_int_equal(ag_probe_sm_before(&l, &s, &ctx, &ch), AG_PROBE_STOP);
    assert_true(ch);
    assert_int_equal(l.result, AG_PR_SUCCESS);
    assert_int_equal(ag_probe_sm_before(&l, &s, &ctx, &ch), AG_PROBE_STOP);
}

static void test_views(void **state)
{
    (void)state;
    struct ag_probe_view v[2];
    memset(v, 0, sizeof(v));
    snprintf(v[0].name, sizeof(v[0].name), "a");
    snprintf(v[1].name, sizeof(v[1].name), "b");
    v[1].has[AG_PROBE_STARTUP] = true;
    v[1].has[AG_PROBE_READINESS] = true;
    assert_null(ag_probe_view_find(v, 2, "c"));
    const struct ag_probe_view *a = ag_probe_view_find(v, 2, "a"),
                               *b = ag_probe_view_find(v, 2, "b");
    /* no probes: running = started = ready */
    assert_true(ag_probe_view_started(a, true));
    assert_true(ag_probe_view_ready(a, true));
    assert_false(ag_probe_view_ready(a, false));
    assert_false(ag_probe_view_started(b, true)); /* startup unknown */
    v[1].res[AG_PROBE_STARTUP] = AG_PR_SUCCESS;
    assert_true(ag_probe_view_started(b, true));
    assert_false(ag_probe_view_ready(b, true)); /* readiness not yet Success */
    v[1].res[AG_PROBE_READINESS] = AG_PR_SUCCESS;
    assert_true(ag_probe_view_ready(b, true));
    assert_false(ag_probe_view_ready(b, false));
}

/* ---- real probes against a loopback server --------------------------------------------- */

struct srv {
    int fd;
    int port;
    int status; /* HTTP status to answer; 0: accept and close */
    char req[4096];
};

static void *serve_one(void *arg)
{
    struct srv *s = arg;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    if (s->status) {
        size_t n = 0;
        while (n < sizeof(s->req) - 1) {
            ssize_t r = read(c, s->req + n, sizeof(s->req) - 1 - n);
            if (r <= 0)
                break;
            n += (size_t)r;
            s->req[n] = 0;
            if (strstr(s->req, "\r\n\r\n"))
                break;
        }
        char resp[128];
        int len =
            snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: 2\r\n\r\nok", s->status);
        if (write(c, resp, (size_t)len) < 0)
            s->status = -1;
    }
    close(c);
    return NULL;
}

static void srv_open(struct srv *s, int status)
{
    memset(s, 0, sizeof(*s));
    s->status = status;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, 4), 0);
    socklen_t l = sizeof(a);
    getsockname(s->fd, (struct sockaddr *)&a, &l);
    s->port = ntohs(a.sin_port);
}

static void test_http_and_tcp_probes(void **state)
{
    (void)state;
    char out[512];
    for (int k = 0; k < 2; k++) {
        struct srv s;
        srv_open(&s, k ? 500 : 200);
        pthread_t th;
        pthread_create(&th, NULL, serve_one, &s);
        json_t *c = json_pack("{s:s,s:[{s:s,s:i}]}", "name", "web", "ports", "name", "http",
                              "containerPort", s.port);
        json_t *h = json_pack("{s:{s:s,s:s,s:[{s:s,s:s}]}}", "httpGet", "path", "/ready", "port",
                              "http", "httpHeaders", "name", "X-Probe", "value", "yes");
        struct ag_probe_spec sp;
        ag_probe_spec_parse(h, c, &sp);
        int r = ag_probe_run(NULL, "", &sp, "127.0.0.1", 2, false, out, sizeof(out));
        pthread_join(th, NULL);
        if (k == 0) {
            assert_int_equal(r, AG_PR_SUCCESS);
            assert_non_null(strstr(s.req, "GET /ready HTTP/1.1\r\n"));
            assert_non_null(strstr(s.req, "\r\nUser-Agent: kube-probe/1."));
            assert_non_null(strstr(s.req, "\r\nX-Probe: yes\r\n"));
        } else {
            assert_int_equal(r, AG_PR_FAILURE);
            assert_string_equal(out, "HTTP probe failed with statuscode: 500");
            /* a hook takes any response */
            close(s.fd);
            srv_open(&s, 500);
            pthread_create(&th, NULL, serve_one, &s);
            sp.port = s.port;
            assert_int_equal(ag_probe_run(NULL, "", &sp, "127.0.0.1", 2, true, out, sizeof(out)),
                             AG_PR_SUCCESS);
            pthread_join(th, NULL);
        }
        /* tcpSocket to the same listener (still bound, nobody accepting: the kernel does) */
        json_t *t = json_pack("{s:{s:i}}", "tcpSocket", "port", s.port);
        struct ag_probe_spec ts;
        ag_probe_spec_parse(t, c, &ts);
        assert_int_equal(ag_probe_run(NULL, "", &ts, "127.0.0.1", 1, false, out, sizeof(out)),
                         AG_PR_SUCCESS);
        close(s.fd);
        /* closed: connection refused, with Go's wording */
        assert_int_equal(ag_probe_run(NULL, "", &ts, "127.0.0.1", 1, false, out, sizeof(out)),
                         AG_PR_FAILURE);
        char want[128];
        snprintf(want, sizeof(want), "dial tcp 127.0.0.1:%d: connect: connection refused", s.port);
        assert_string_equal(out, want);
        assert_int_equal(ag_probe_run(NULL, "", &sp, "127.0.0.1", 1, false, out, sizeof(out)),
                         AG_PR_FAILURE);
        assert_non_null(strstr(out, "connect: connection refused"));
        ag_probe_spec_release(&ts);
        ag_probe_spec_release(&sp);
        json_decref(t);
        json_decref(h);
        json_decref(c);
    }
}

/* lifecycle hooks: httpGet takes any response, a transport error gives upstream's message;
 * sleep is cut at the timeout */
static void test_hooks(void **state)
{
    (void)state;
    json_t *pod =
        json_pack("{s:{s:s,s:s,s:s}}", "metadata", "name", "p", "namespace", "ns", "uid", "u1");
    json_t *c = json_pack("{s:s}", "name", "web");
    struct srv s;
    srv_open(&s, 503);
    pthread_t th;
    pthread_create(&th, NULL, serve_one, &s);
    json_t *h = json_pack("{s:{s:s,s:s,s:i}}", "httpGet", "host", "127.0.0.1", "path", "/hook",
                          "port", s.port);
    char msg[1024];
    assert_int_equal(ag_hook_run(NULL, "", pod, c, h, "", 2, msg, sizeof(msg)), 0);
    pthread_join(th, NULL);
    assert_non_null(strstr(s.req, "GET /hook HTTP/1.1\r\n"));
    close(s.fd);
    assert_int_equal(ag_hook_run(NULL, "", pod, c, h, "", 1, msg, sizeof(msg)), -1);
    char want[512];
    snprintf(want, sizeof(want),
             "HTTP lifecycle hook (/hook) for Container \"web\" in Pod \"p_ns(u1)\" failed - "
             "error: Get \"http://127.0.0.1:%d/hook\": dial tcp 127.0.0.1:%d: connect: "
             "connection refused",
             s.port, s.port);
    assert_string_equal(msg, want);
    json_decref(h);
    h = json_pack("{s:{s:i}}", "sleep", "seconds", 30);
    int64_t t0 = ck_mono_ns();
    assert_int_equal(ag_hook_run(NULL, "", pod, c, h, "", 1, msg, sizeof(msg)), 0);
    int64_t took = ck_mono_ns() - t0;
    assert_true(took >= SEC - SEC / 100 && took < 3 * SEC);
    json_decref(h);
    h = json_pack("{s:{s:i}}", "tcpSocket", "port", 80);
    assert_int_equal(ag_hook_run(NULL, "", pod, c, h, "", 1, msg, sizeof(msg)), -1);
    json_decref(h);
    json_decref(c);
    json_decref(pod);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_parse),
        cmocka_unit_test(test_initial_values_and_thresholds),
        cmocka_unit_test(test_liveness_hold_until_new_container),
        cmocka_unit_test(test_startup_gates_other_probes),
        cmocka_unit_test(test_delay_stop_and_deletion),
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_http_and_tcp_probes),
        cmocka_unit_test(test_hooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
