/* SPDX-License-Identifier: Apache-2.0 */
/* Hollow runtime state machine, driven by an injected clock: start delay, natural exits
 * (exit N, sleep S, oom), stop with and without grace, sandbox stop/remove cascade,
 * filters, errors, IP allocation, and the per-container memory footprint at scale. */
#include "runtime/runtime.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t t_ns;

static int64_t clk(void *arg)
{
    (void)arg;
    return t_ns;
}

#define MS (1000000LL)

static struct runtime *open_rt(void)
{
    t_ns = 1000 * MS;
    struct rt_hollow_opts o = {.start_delay_ms = 100, .stop_delay_ms = 50, .clock_ns = clk,
                               .pod_cidr = "10.9.0.0/24"};
    struct ck_err e = CK_ERR_INIT;
    struct runtime *rt = rt_hollow_open(&o, &e);
    assert_non_null(rt);
    return rt;
}

static void sandbox(struct runtime *rt, const char *name, char id[RT_ID_MAX])
{
    struct rt_kv lab = {"app", name};
    struct rt_sandbox_config c = {.name = name, .namespace_ = "ns", .uid = name, .labels = &lab,
                                  .nlabels = 1};
    struct ck_err e = CK_ERR_INIT;
    assert_int_equal(rt->ops->run_pod_sandbox(rt, &c, id, &e), 0);
}

static void container(struct runtime *rt, const char *sb, const char *const *cmd,
                      char id[RT_ID_MAX])
{
    struct rt_container_config c = {.name = "c", .image = "busybox", .command = cmd,
                                    .run_as_user = -1};
    struct ck_err e = CK_ERR_INIT;
    assert_int_equal(rt->ops->create_container(rt, sb, &c, id, &e), 0);
}

static struct rt_container_status status(struct runtime *rt, const char *id)
{
    struct rt_container_status st;
    struct ck_err e = CK_ERR_INIT;
    assert_int_equal(rt->ops->container_status(rt, id, &st, &e), 0);
    rt_container_status_release(&st);
    return st;
}

static void test_lifecycle_forever(void **state)
{
    (void)state;
    struct runtime *rt = open_rt();
    char sb[RT_ID_MAX], c[RT_ID_MAX];
    struct ck_err e = CK_ERR_INIT;
    sandbox(rt, "p1", sb);
    const char *cmd[] = {"httpd", "-f", NULL};
    container(rt, sb, cmd, c);
    assert_int_equal(status(rt, c).state, RT_CONTAINER_CREATED);
    assert_int_equal(rt->ops->start_container(rt, c, &e), 0);
    assert_int_equal(rt->ops->start_container(rt, c, &e), -1); /* not twice */
    assert_int_equal(e.reason, CK_R_CONFLICT);
    t_ns += 50 * MS;
    assert_int_equal(status(rt, c).state, RT_CONTAINER_CREATED); /* still starting */
    t_ns += 60 * MS;
    struct rt_container_status st = status(rt, c);
    assert_int_equal(st.state, RT_CONTAINER_RUNNING);
    assert_int_equal(st.started_ns, 1100 * MS);
    t_ns += 3600LL * 1000 * MS;
    assert_int_equal(status(rt, c).state, RT_CONTAINER_RUNNING);
    /* graceful stop: exits 143 after stop_delay */
    assert_int_equal(rt->ops->stop_container(rt, c, 30, &e), 0);
    assert_int_equal(status(rt, c).state, RT_CONTAINER_RUNNING);
    t_ns += 50 * MS;
    st = status(rt, c);
    assert_int_equal(st.state, RT_CONTAINER_EXITED);
    assert_int_equal(st.exit_code, 143);
    assert_string_equal(st.reason, "Error");
    assert_int_equal(st.finished_ns, t_ns);
    int64_t fin = st.finished_ns;
    assert_int_equal(rt->ops->stop_container(rt, c, 0, &e), 0); /* idempotent */
    t_ns += 1000 * MS;
    assert_int_equal(status(rt, c).finished_ns, fin);
    assert_int_equal(rt->ops->remove_container(rt, c, &e), 0);
    assert_int_equal(rt->ops->container_status(rt, c, &st, &e), -1);
    assert_int_equal(e.reason, CK_R_NOT_FOUND);
    rt_close(rt);
}

static void test_natural_exits(void **state)
{
    (void)state;
    struct runtime *rt = open_rt();
    char sb[RT_ID_MAX], c1[RT_ID_MAX], c2[RT_ID_MAX], c3[RT_ID_MAX], c4[RT_ID_MAX];
    struct ck_err e = CK_ERR_INIT;
    sandbox(rt, "p", sb);
    const char *ex[] = {"sh", "-c", "exit 3", NULL};
    const char *sl[] = {"sleep", "2.5", NULL};
    const char *oom[] = {"oom", NULL};
    const char *ok[] = {"exit", "0", NULL};
    container(rt, sb, ex, c1);
    container(rt, sb, sl, c2);
    container(rt, sb, oom, c3);
    container(rt, sb, ok, c4);
    const char *ids[] = {c1, c2, c3, c4};
    for (int i = 0; i < 4; i++)
        assert_int_equal(rt->ops->start_container(rt, ids[i], &e), 0);
    t_ns += 100 * MS;
    struct rt_container_status st = status(rt, c1);
    assert_int_equal(st.state, RT_CONTAINER_EXITED);
    assert_int_equal(st.exit_code, 3);
    assert_string_equal(st.reason, "Error");
    st = status(rt, c3);
    assert_int_equal(st.exit_code, 137);
    assert_string_equal(st.reason, "OOMKilled");
    st = status(rt, c4);
    assert_int_equal(st.exit_code, 0);
    assert_string_equal(st.reason, "Completed");
    assert_int_equal(status(rt, c2).state, RT_CONTAINER_RUNNING);
    t_ns += 2499 * MS;
    assert_int_equal(status(rt, c2).state, RT_CONTAINER_RUNNING);
    t_ns += 1 * MS;
    st = status(rt, c2);
    assert_int_equal(st.state, RT_CONTAINER_EXITED);
    assert_string_equal(st.reason, "Completed");
    /* filters */
    struct rt_container_filter f = {.sandbox_id = sb, .state = RT_CONTAINER_EXITED};
    struct rt_container_status *v;
    size_t n;
    assert_int_equal(rt->ops->list_containers(rt, &f, &v, &n, &e), 0);
    assert_int_equal(n, 4);
    rt_container_list_free(v, n);
    f.state = RT_CONTAINER_RUNNING;
    assert_int_equal(rt->ops->list_containers(rt, &f, &v, &n, &e), 0);
    assert_int_equal(n, 0);
    rt_container_list_free(v, n);
    /* exec on an exited container is refused */
    char *out, *er;
    size_t on, en;
    int code;
    const char *echo[] = {"echo", "hi", NULL};
    assert_int_equal(rt->ops->exec_sync(rt, c1, echo, 1, &code, &out, &on, &er, &en, &e), -1);
    rt_close(rt);
}

static void test_sandbox_cascade(void **state)
{
    (void)state;
    struct runtime *rt = open_rt();
    char sb1[RT_ID_MAX], sb2[RT_ID_MAX], c1[RT_ID_MAX], c2[RT_ID_MAX];
    struct ck_err e = CK_ERR_INIT;
    sandbox(rt, "a", sb1);
    sandbox(rt, "b", sb2);
    struct rt_sandbox_status s1, s2;
    assert_int_equal(rt->ops->pod_sandbox_status(rt, sb1, &s1, &e), 0);
    assert_int_equal(rt->ops->pod_sandbox_status(rt, sb2, &s2, &e), 0);
    assert_string_equal(s1.ip, "10.9.0.2");
    assert_string_equal(s2.ip, "10.9.0.3");
    assert_int_equal(s1.nlabels, 1);
    assert_string_equal(s1.labels[0].value, "a");
    rt_sandbox_status_release(&s1);
    rt_sandbox_status_release(&s2);
    const char *cmd[] = {"nginx", NULL};
    container(rt, sb1, cmd, c1);
    container(rt, sb2, cmd, c2);
    assert_int_equal(rt->ops->start_container(rt, c1, &e), 0);
    assert_int_equal(rt->ops->start_container(rt, c2, &e), 0);
    t_ns += 200 * MS;
    char *out, *er;
    size_t on, en;
    int code;
    const char *echo[] = {"echo", "hi", "there", NULL};
    assert_int_equal(rt->ops->exec_sync(rt, c1, echo, 1, &code, &out, &on, &er, &en, &e), 0);
    assert_string_equal(out, "hi there\n");
    assert_int_equal(code, 0);
    free(out);
    free(er);
    assert_int_equal(rt->ops->stop_pod_sandbox(rt, sb1, &e), 0);
    assert_int_equal(rt->ops->pod_sandbox_status(rt, sb1, &s1, &e), 0);
    assert_int_equal(s1.state, RT_SANDBOX_NOTREADY);
    rt_sandbox_status_release(&s1);
    t_ns += 50 * MS;
    struct rt_container_status st = status(rt, c1);
    assert_int_equal(st.state, RT_CONTAINER_EXITED);
    assert_int_equal(st.exit_code, 137);
    assert_int_equal(status(rt, c2).state, RT_CONTAINER_RUNNING);
    /* no new containers in a stopped sandbox */
    struct rt_container_config cc = {.name = "x", .image = "i", .command = cmd, .run_as_user = -1};
    char c3[RT_ID_MAX];
    assert_int_equal(rt->ops->create_container(rt, sb1, &cc, c3, &e), -1);
    assert_int_equal(e.reason, CK_R_CONFLICT);
    assert_int_equal(rt->ops->create_container(rt, "nope", &cc, c3, &e), -1);
    assert_int_equal(e.reason, CK_R_NOT_FOUND);
    assert_int_equal(rt->ops->remove_pod_sandbox(rt, sb1, &e), 0);
    assert_int_equal(rt->ops->container_status(rt, c1, &st, &e), -1);
    assert_int_equal(rt->ops->remove_pod_sandbox(rt, sb1, &e), 0); /* idempotent */
    struct rt_sandbox_status *v;
    size_t n;
    assert_int_equal(rt->ops->list_pod_sandboxes(rt, &v, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, sb2);
    rt_sandbox_list_free(v, n);
    struct rt_exec_session sess;
    assert_int_equal(rt->ops->exec(rt, c2, cmd, false, false, &sess, &e), -1);
    int pfd;
    assert_int_equal(rt->ops->port_forward(rt, sb2, 80, &pfd, &e), -1);
    assert_int_equal(e.reason, CK_R_METHOD_NOT_ALLOWED);
    rt_close(rt);
    struct rt_hollow_opts bad = {.pod_cidr = "10.0.0.0/33"};
    assert_null(rt_hollow_open(&bad, &e));
    assert_int_equal(e.reason, CK_R_INVALID);
}

static void test_memory_footprint(void **state)
{
    (void)state;
    struct runtime *rt = open_rt();
    char sb[RT_ID_MAX], c[RT_ID_MAX];
    struct ck_err e = CK_ERR_INIT;
    sandbox(rt, "big", sb);
    const char *cmd[] = {"pause", NULL};
    struct mallinfo2 before = mallinfo2();
    for (int i = 0; i < 5000; i++) {
        container(rt, sb, cmd, c);
        assert_int_equal(rt->ops->start_container(rt, c, &e), 0);
    }
    struct mallinfo2 after = mallinfo2();
    size_t per = (after.uordblks - before.uordblks) / 5000;
    fprintf(stderr, "hollow: %zu bytes per container\n", per);
    assert_true(per < 512);
    rt_close(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle_forever),
        cmocka_unit_test(test_natural_exits),
        cmocka_unit_test(test_sandbox_cascade),
        cmocka_unit_test(test_memory_footprint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
