/* SPDX-License-Identifier: Apache-2.0 */
/* The crun backend through struct runtime_ops with real crun, CNI and cgroups (root only;
 * skipped otherwise): a busybox "dir:" rootfs, state surviving a reopen of the handle (a
 * kubelet restart), stats from cgroup v1, live resource update, exec with a pty and with
 * stdin, exec_sync timeout, log reopen, run-as-user, and full cleanup. */
#include "runtime/runtime.h"
#include "lib/buf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], root[128], rootfs[160], image[200];
static char sb[RT_ID_MAX];
static int skipped;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

static struct runtime *open_rt(void)
{
    struct rt_crun_opts o = {.root = root};
    struct ck_err e = CK_ERR_INIT;
    struct runtime *rt = rt_crun_open(&o, &e);
    if (!rt)
        fail_msg("rt_crun_open: %s", e.msg);
    return rt;
}

static int setup(void **state)
{
    (void)state;
    if (geteuid() != 0 || sh("command -v crun >/dev/null && test -x /usr/lib/cni/bridge") != 0 ||
        access("/bin/busybox", X_OK) != 0) {
        fprintf(stderr, "SKIP: needs root, crun, CNI plugins and /bin/busybox\n");
        skipped = 1;
        return 0;
    }
    snprintf(dir, sizeof(dir), "/tmp/ck-crun-test-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(root, sizeof(root), "%s/root", dir);
    snprintf(rootfs, sizeof(rootfs), "%s/rootfs", dir);
    snprintf(image, sizeof(image), "dir:%s", rootfs);
    if (sh("set -e; r=%s; mkdir -p $r/bin $r/etc $r/tmp; cp /bin/busybox $r/bin/; "
           "for a in $(/bin/busybox --list); do [ $a = busybox ] || ln -sf busybox $r/bin/$a; done; "
           "echo 'root:x:0:0::/:/bin/sh' > $r/etc/passwd", rootfs) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (skipped)
        return 0;
    struct runtime *rt = open_rt();
    struct ck_err e = CK_ERR_INIT;
    if (sb[0])
        rt->ops->remove_pod_sandbox(rt, sb, &e);
    rt_close(rt);
    sh("grep -q '%s' /proc/mounts || rm -rf %s", dir, dir);
    return 0;
}

static void make_container(struct runtime *rt, const char *const *cmd, int64_t mem, char id[RT_ID_MAX])
{
    struct rt_container_config c = {.name = "t", .image = image, .command = cmd,
                                     .run_as_user = -1, .resources.memory_limit = mem};
    struct ck_err e = CK_ERR_INIT;
    if (rt->ops->create_container(rt, sb, &c, id, &e) < 0)
        fail_msg("create: %s", e.msg);
    assert_int_equal(rt->ops->start_container(rt, id, &e), 0);
}

static void test_crun_backend(void **state)
{
    (void)state;
    if (skipped)
        return;
    struct runtime *rt = open_rt();
    struct ck_err e = CK_ERR_INIT;
    char uid[64];
    snprintf(uid, sizeof(uid), "crun-test-%d", (int)getpid());
    struct rt_sandbox_config sc = {.name = "t", .namespace_ = "unit", .uid = uid};
    assert_int_equal(rt->ops->run_pod_sandbox(rt, &sc, sb, &e), 0);
    char c1[RT_ID_MAX];
    const char *cmd[] = {"sh", "-c", "echo started; while true; do sleep 0.2; done", NULL};
    make_container(rt, cmd, 64 << 20, c1);
    /* "restart": a new handle sees the same pod and container */
    rt_close(rt);
    rt = open_rt();
    struct rt_container_status st;
    assert_int_equal(rt->ops->container_status(rt, c1, &st, &e), 0);
    assert_int_equal(st.state, RT_CONTAINER_RUNNING);
    assert_true(st.pid > 0);
    assert_true(st.started_ns >= st.created_ns);
    rt_container_status_release(&st);
    /* stats and a live update */
    struct rt_stats s;
    assert_int_equal(rt->ops->container_stats(rt, c1, &s, &e), 0);
    assert_int_equal(s.memory_limit_bytes, 64 << 20);
    assert_true(s.memory_working_set_bytes > 0);
    assert_true(s.pids >= 1);
    struct rt_resources r = {.memory_limit = 48 << 20, .cpu_shares = 300};
    if (rt->ops->update_container_resources(rt, c1, &r, &e) < 0)
        fail_msg("update: %s", e.msg);
    assert_int_equal(rt->ops->container_stats(rt, c1, &s, &e), 0);
    assert_int_equal(s.memory_limit_bytes, 48 << 20);
    /* exec_sync timeout kills the exec */
    const char *slow[] = {"sleep", "30", NULL};
    char *out, *er;
    size_t on, en;
    int code = 0;
    assert_int_equal(rt->ops->exec_sync(rt, c1, slow, 1, &code, &out, &on, &er, &en, &e), -1);
    assert_int_equal(e.reason, CK_R_TIMEOUT);
    free(out);
    free(er);
    /* exec with stdin */
    struct rt_exec_session ses;
    const char *cat[] = {"cat", NULL};
    assert_int_equal(rt->ops->exec(rt, c1, cat, false, true, &ses, &e), 0);
    assert_int_equal(write(ses.stdin_fd, "via-stdin\n", 10), 10);
    close(ses.stdin_fd);
    ses.stdin_fd = -1;
    char buf[256];
    ssize_t k, got = 0;
    while ((k = read(ses.stdout_fd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
        got += k;
    buf[got] = 0;
    assert_string_equal(buf, "via-stdin\n");
    assert_int_equal(rt->ops->exec_wait(rt, &ses, &code, &e), 0);
    assert_int_equal(code, 0);
    /* exec with a pty: the process sees a terminal */
    const char *tty[] = {"sh", "-c", "test -t 0 && echo is-a-tty; exit 5", NULL};
    assert_int_equal(rt->ops->exec(rt, c1, tty, true, true, &ses, &e), 0);
    assert_true(ses.tty);
    got = 0;
    struct pollfd p = {ses.stdout_fd, POLLIN, 0};
    while (got < (ssize_t)sizeof(buf) - 1 && poll(&p, 1, 5000) > 0 &&
           (k = read(ses.stdout_fd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
        got += k;
    buf[got] = 0;
    assert_non_null(strstr(buf, "is-a-tty"));
    assert_int_equal(rt->ops->exec_wait(rt, &ses, &code, &e), 0);
    assert_int_equal(code, 5);
    /* log reopen after the file was moved away */
    struct rt_container_status st2;
    assert_int_equal(rt->ops->container_status(rt, c1, &st2, &e), 0);
    rt_container_status_release(&st2);
    char moved[600];
    snprintf(moved, sizeof(moved), "%s.old", st2.log_path);
    assert_int_equal(rename(st2.log_path, moved), 0);
    assert_int_equal(rt->ops->reopen_container_log(rt, c1, &e), 0);
    const char *say[] = {"sh", "-c", "echo after-reopen > /proc/1/fd/1", NULL};
    assert_int_equal(rt->ops->exec_sync(rt, c1, say, 10, &code, &out, &on, &er, &en, &e), 0);
    free(out);
    free(er);
    int found = 0;
    for (int i = 0; i < 50 && !found; i++) {
        found = sh("grep -q 'stdout F after-reopen' %s 2>/dev/null", st2.log_path) == 0;
        if (!found)
            usleep(100000);
    }
    assert_true(found);
    assert_int_equal(sh("grep -q 'stdout F started' %s", moved), 0);
    /* run as a numeric user */
    char c2[RT_ID_MAX];
    const char *idcmd[] = {"sh", "-c", "id -u; sleep 100", NULL};
    struct rt_container_config cc = {.name = "u", .image = image, .command = idcmd,
                                     .run_as_user = 1234};
    assert_int_equal(rt->ops->create_container(rt, sb, &cc, c2, &e), 0);
    assert_int_equal(rt->ops->start_container(rt, c2, &e), 0);
    const char *whoami[] = {"id", "-u", NULL};
    assert_int_equal(rt->ops->exec_sync(rt, c2, whoami, 10, &code, &out, &on, &er, &en, &e), 0);
    assert_string_equal(out, "1234\n");
    free(out);
    free(er);
    /* port-forward into the pod's netns: httpd on 127.0.0.1:8080 there, not on the host */
    char c3[RT_ID_MAX];
    const char *web[] = {"sh", "-c", "echo pf-ok > /tmp/i.html; exec httpd -f -p 127.0.0.1:8080 -h /tmp", NULL};
    make_container(rt, web, 0, c3);
    int pfd = -1, rcpf = -1;
    for (int i = 0; i < 50 && rcpf < 0; i++) {
        rcpf = rt->ops->port_forward(rt, sb, 8080, &pfd, &e);
        if (rcpf < 0)
            usleep(100000);
    }
    if (rcpf < 0)
        fail_msg("port_forward: %s", e.msg);
    const char *req = "GET /i.html HTTP/1.0\r\n\r\n";
    assert_int_equal(write(pfd, req, strlen(req)), (ssize_t)strlen(req));
    got = 0;
    while (got < (ssize_t)sizeof(buf) - 1 && (k = read(pfd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
        got += k;
    buf[got] = 0;
    close(pfd);
    assert_non_null(strstr(buf, "200"));
    assert_non_null(strstr(buf, "pf-ok"));
    assert_int_equal(rt->ops->port_forward(rt, sb, 0, &pfd, &e), -1);
    assert_int_equal(rt->ops->port_forward(rt, "ffff", 8080, &pfd, &e), -1);
    assert_int_equal(e.reason, CK_R_NOT_FOUND);
    /* list by sandbox, then tear down the pod; everything goes */
    struct rt_container_status *v;
    size_t n;
    struct rt_container_filter f = {.sandbox_id = sb, .state = -1};
    assert_int_equal(rt->ops->list_containers(rt, &f, &v, &n, &e), 0);
    assert_int_equal(n, 3);
    rt_container_list_free(v, n);
    assert_int_equal(rt->ops->remove_pod_sandbox(rt, sb, &e), 0);
    assert_int_equal(rt->ops->container_status(rt, c1, &st, &e), -1);
    assert_int_equal(e.reason, CK_R_NOT_FOUND);
    assert_int_not_equal(sh("ls -d /sys/fs/cgroup/*/kubepods/pod%s 2>/dev/null | grep -q .", uid), 0);
    assert_int_not_equal(sh("grep -q '%s' /proc/mounts", root), 0);
    sb[0] = 0;
    rt_close(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crun_backend, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
