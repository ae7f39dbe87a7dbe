/* SPDX-License-Identifier: Apache-2.0 */
/* crun backend: exec (sync and streaming, with or without a pty), log reopen, cgroup v1
 * stats and live resource updates. */
#include "runtime/crun_int.h"
#include "cni/cni_proc.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/banned.h"

#define EXEC_OUT_MAX (16 << 20)
#define EXEC_ARGV_MAX 256

/* Checks the container is running; returns its "user" ("uid:gid", malloc'd) or NULL. */
static char *running_user(struct rt_crun *c, const char *id, struct ck_err *err)
{
    struct rt_container_status st;
    if (rt_crun_container_status(&c->base, id, &st, err) < 0)
        return NULL;
    enum rt_container_state s = st.state;
    rt_container_status_release(&st);
    if (s != RT_CONTAINER_RUNNING) {
        ck_err_set(err, CK_R_CONFLICT, "container %s is not running (%s)", id,
                   rt_container_state_str(s));
        return NULL;
    }
    ck_autofree char *p = ck_asprintf("%s/containers/%s/container.json", c->root, id);
    json_t *doc = rt_json_read(p, err);
    if (!doc)
        return NULL;
    const char *u = json_string_value(json_object_get(doc, "user"));
    char *r = ck_asprintf("--user=%s", u ? u : "0:0");
    json_decref(doc);
    return r;
}

/* argv for `crun --root R exec [-t] [-i] id cmd...`; caller frees the array only. */
static const char **exec_argv(struct rt_crun *c, const char *id, const char *const *cmd,
                              bool tty, const char *useropt, char *rootopt, size_t rootsz)
{
    size_t n = 0;
    while (cmd[n] && n < EXEC_ARGV_MAX)
        n++;
    const char **v = ck_calloc(n + 8, sizeof(char *));
    size_t k = 0;
    snprintf(rootopt, rootsz, "--root=%s/crun", c->root);
    v[k++] = c->crun;
    v[k++] = rootopt;
    v[k++] = "exec";
    v[k++] = useropt;
    if (tty)
        v[k++] = "-t";
    v[k++] = id;
    for (size_t i = 0; i < n; i++)
        v[k++] = cmd[i];
    v[k] = NULL;
    return v;
}

int rt_crun_exec_sync(struct runtime *rt, const char *id, const char *const *argv, int timeout_s,
                      int *exit_code, char **out, size_t *out_len, char **errout,
                      size_t *errout_len, struct ck_err *err)
{
    struct rt_crun *c = crun_of(rt);
    if (!argv || !argv[0])
        return ck_err_set(err, CK_R_INVALID, "exec: empty command");
    ck_autofree char *user = running_user(c, id, err);
    if (!user)
        return -1;
    char rootopt[4200];
    const char **v = exec_argv(c, id, argv, false, user, rootopt, sizeof(rootopt));
    struct ck_buf o = CK_BUF_INIT(EXEC_OUT_MAX), e = CK_BUF_INIT(EXEC_OUT_MAX);
    int st = 0;
    int rc = cni_spawn_capture(v, NULL, NULL, 0, timeout_s > 0 ? timeout_s * 1000 : 0, &o, &e,
                               &st, err);
    free(v);
    if (rc == 0)
        *exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    *out = ck_buf_detach(&o, out_len);
    *errout = ck_buf_detach(&e, errout_len);
    return rc < 0 ? ck_err_wrap(err, "exec in %s", id) : 0;
}

static int exec_pipes(const char **v, bool want_stdin, struct rt_exec_session *s,
                      struct ck_err *err)
{
    int in[2] = {-1, -1}, out[2], er[2];
    if ((want_stdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0)
        return ck_err_sys(err, errno, "pipe");
    if (pipe2(er, O_CLOEXEC) < 0) {
        close(out[0]);
        close(out[1]);
        return ck_err_sys(err, errno, "pipe");
    }
    pid_t pid = fork();
    if (pid == 0) {
        if (want_stdin)
            dup2(in[0], 0);
        else
            dup2(open("/dev/null", O_RDONLY), 0);
        dup2(out[1], 1);
        dup2(er[1], 2);
        signal(SIGPIPE, SIG_DFL);
        execvp(v[0], (char *const *)v);
        _exit(127);
    }
    if (want_stdin)
        close(in[0]);
    close(out[1]);
    close(er[1]);
    if (pid < 0)
        return ck_err_sys(err, errno, "fork");
    s->pid = pid;
    s->stdin_fd = want_stdin ? in[1] : -1;
    s->stdout_fd = out[0];
    s->stderr_fd = er[0];
    s->tty = false;
    return 0;
}

/* Receives one fd (SCM_RIGHTS) from a connected unix socket; -1 when none came. */
static int recv_fd(int sock)
{
    char data[256];
    struct iovec iov = {data, sizeof(data)};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                       .msg_controllen = sizeof(u.buf)};
    if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) <= 0)
        return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            memcpy(&fd, CMSG_DATA(c), sizeof(fd));
            return fd;
        }
    return -1;
}

/* A tty exec: crun allocates the pty inside the container and hands its master over
 * --console-socket, so resizes (TIOCSWINSZ on the master) reach the process directly. */
static int exec_console(const char **v, struct rt_exec_session *s, struct ck_err *err)
{
    char dir[] = "/tmp/ckexec.XXXXXX";
    if (!mkdtemp(dir))
        return ck_err_sys(err, errno, "mkdtemp");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/console", dir);
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0) {
        int e = errno;
        if (l >= 0)
            close(l);
        rmdir(dir);
        return ck_err_sys(err, e, "console socket");
    }
    /* v: crun, --root, exec, --user, -t, ...: the option goes right after "exec" */
    size_t n = 0;
    while (v[n])
        n++;
    const char **w = ck_calloc(n + 2, sizeof(char *));
    char *opt = ck_asprintf("--console-socket=%s", sa.sun_path);
    for (size_t i = 0, k = 0; i <= n; i++) {
        w[k++] = v[i];
        if (i == 2)
            w[k++] = opt;
    }
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        setsid();
        signal(SIGPIPE, SIG_DFL);
        execvp(w[0], (char *const *)w);
        _exit(127);
    }
    free(w);
    free(opt);
    int master = -1;
    if (pid > 0) {
        struct pollfd pf = {l, POLLIN, 0};
        for (int i = 0; i < 100 && master < 0; i++) {
            if (poll(&pf, 1, 100) > 0) {
                int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
                if (c >= 0) {
                    master = recv_fd(c);
                    close(c);
                }
                break;
            }
            if (waitpid(pid, NULL, WNOHANG) == pid) {
                pid = -2; /* crun failed before handing the console over */
                break;
            }
        }
    }
    close(l);
    unlink(sa.sun_path);
    rmdir(dir);
    if (master < 0) {
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        return ck_err_set(err, CK_R_INTERNAL, "exec: crun did not hand over the console");
    }
    s->pid = pid;
    s->stdin_fd = master;
    s->stdout_fd = master;
    s->stderr_fd = -1;
    s->tty = true;
    return 0;
}

int rt_crun_exec(struct runtime *rt, const char *id, const char *const *argv, bool tty,
                 bool want_stdin, struct rt_exec_session *s, struct ck_err *err)
{
    struct rt_crun *c = crun_of(rt);
    s->priv = NULL; /* an exec session has no relay (exec_wait tells them apart by it) */
    if (!argv || !argv[0])
        return ck_err_set(err, CK_R_INVALID, "exec: empty command");
    ck_autofree char *user = running_user(c, id, err);
    if (!user)
        return -1;
    char rootopt[4200];
    const char **v = exec_argv(c, id, argv, tty, user, rootopt, sizeof(rootopt));
    int rc = tty ? exec_console(v, s, err) : exec_pipes(v, want_stdin, s, err);
    free(v);
    return rc;
}

/* ---- attach: a relay thread between the shim's framed socket and plain pipes ---------- */

struct att_relay {
    pthread_t th;
    int sock;     /* the shim's attach socket */
    int out_w, err_w; /* the session reads the other ends */
    int in_r;     /* the session writes the other end, -1 without stdin */
};

static bool write_all_fd(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static void *relay_main(void *arg)
{
    struct att_relay *r = arg;
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    uint8_t *buf = ck_malloc(RT_ATTACH_MAX_FRAME + 5), in[32768 + 5];
    size_t have = 0;
    for (;;) {
        struct pollfd pf[2] = {{r->sock, POLLIN, 0}, {r->in_r, POLLIN, 0}};
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t k = recv(r->sock, buf + have, RT_ATTACH_MAX_FRAME + 5 - have, 0);
            if (k <= 0)
                break; /* the container exited (or the session shut us down) */
            have += (size_t)k;
            size_t off = 0;
            bool bad = false;
            while (have - off >= 5) {
                uint32_t len = (uint32_t)buf[off + 1] << 24 | (uint32_t)buf[off + 2] << 16 |
                               (uint32_t)buf[off + 3] << 8 | buf[off + 4];
                if (len > RT_ATTACH_MAX_FRAME) {
                    bad = true;
                    break;
                }
                if (have - off < 5 + len)
                    break;
                int fd = buf[off] == 1 ? r->out_w : buf[off] == 2 ? r->err_w : -1;
                if (fd >= 0 && !write_all_fd(fd, buf + off + 5, len))
                    bad = true; /* the session closed its end */
                off += 5 + len;
            }
            if (bad)
                break;
            memmove(buf, buf + off, have - off);
            have -= off;
        }
        if (r->in_r >= 0 && (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t k = read(r->in_r, in + 5, sizeof(in) - 5);
            if (k <= 0) {
                close(r->in_r); /* stdin closed: the container's stdin stays open */
                r->in_r = -1;
                continue;
            }
            in[0] = 0;
            in[1] = (uint8_t)(k >> 24);
            in[2] = (uint8_t)(k >> 16);
            in[3] = (uint8_t)(k >> 8);
            in[4] = (uint8_t)k;
            size_t n = (size_t)k + 5, off = 0;
            while (off < n) {
                ssize_t w = send(r->sock, in + off, n - off, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0)
                    break;
                off += (size_t)w;
            }
        }
    }
    free(buf);
    close(r->out_w);
    close(r->err_w);
    r->out_w = r->err_w = -1;
    return NULL;
}

int rt_crun_attach(struct runtime *rt, const char *id, bool want_stdin, struct rt_exec_session *s,
                   struct ck_err *err)
{
    struct rt_crun *c = crun_of(rt);
    ck_autofree char *user = running_user(c, id, err);
    if (!user)
        return -1;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/containers/%s/attach.sock",
                         c->root, id) >= sizeof(sa.sun_path))
        return ck_err_set(err, CK_R_INTERNAL, "attach: socket path too long");
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        if (sock >= 0)
            close(sock);
        return ck_err_sys(err, e, "attach to container %s", id);
    }
    int out[2], er[2], in[2] = {-1, -1};
    if (pipe2(out, O_CLOEXEC) < 0)
        goto fail;
    if (pipe2(er, O_CLOEXEC) < 0) {
        close(out[0]);
        close(out[1]);
        goto fail;
    }
    if (want_stdin && pipe2(in, O_CLOEXEC) < 0) {
        close(out[0]);
        close(out[1]);
        close(er[0]);
        close(er[1]);
        goto fail;
    }
    struct att_relay *r = ck_calloc(1, sizeof(*r));
    *r = (struct att_relay){.sock = sock, .out_w = out[1], .err_w = er[1], .in_r = in[0]};
    if (pthread_create(&r->th, NULL, relay_main, r) != 0) {
        close(out[0]);
        close(out[1]);
        close(er[0]);
        close(er[1]);
        if (in[0] >= 0) {
            close(in[0]);
            close(in[1]);
        }
        free(r);
        goto fail;
    }
    s->pid = -1;
    s->stdin_fd = in[1];
    s->stdout_fd = out[0];
    s->stderr_fd = er[0];
    s->tty = false;
    s->priv = r;
    return 0;
fail:
    close(sock);
    return ck_err_sys(err, errno, "attach pipes");
}

static void attach_end(struct rt_exec_session *s)
{
    struct att_relay *r = s->priv;
    if (s->stdin_fd >= 0)
        close(s->stdin_fd);
    if (s->stdout_fd >= 0)
        close(s->stdout_fd); /* the relay's writes fail: it ends */
    if (s->stderr_fd >= 0)
        close(s->stderr_fd);
    shutdown(r->sock, SHUT_RDWR); /* wakes its poll */
    pthread_join(r->th, NULL);
    close(r->sock);
    if (r->in_r >= 0)
        close(r->in_r);
    free(r);
    s->priv = NULL;
    s->stdin_fd = s->stdout_fd = s->stderr_fd = -1;
}

int rt_crun_exec_wait(struct runtime *rt, struct rt_exec_session *s, int *exit_code,
                      struct ck_err *err)
{
    (void)rt;
    if (s->priv) {
        attach_end(s);
        *exit_code = 0;
        return 0;
    }
    if (s->stdin_fd >= 0 && s->stdin_fd != s->stdout_fd)
        close(s->stdin_fd);
    int st = 0;
    pid_t r;
    while ((r = waitpid(s->pid, &st, 0)) < 0 && errno == EINTR)
        ;
    if (s->stdout_fd >= 0)
        close(s->stdout_fd);
    if (s->stderr_fd >= 0)
        close(s->stderr_fd);
    s->stdin_fd = s->stdout_fd = s->stderr_fd = -1;
    if (r < 0)
        return ck_err_sys(err, errno, "wait exec");
    *exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return 0;
}

int rt_crun_reopen_log(struct runtime *rt, const char *id, struct ck_err *err)
{
    struct rt_crun *c = crun_of(rt);
    if (!rt_valid_id(id))
        return ck_err_set(err, CK_R_NOT_FOUND, "container %.80s not found", id);
    ck_autofree char *p = ck_asprintf("%s/containers/%s/container.json", c->root, id);
    json_t *doc = rt_json_read(p, err);
    if (!doc)
        return -1;
    pid_t shim = (pid_t)json_integer_value(json_object_get(doc, "shim_pid"));
    json_decref(doc);
    if (shim <= 0 || kill(shim, SIGUSR1) < 0)
        return ck_err_set(err, CK_R_CONFLICT, "container %s is not running", id);
    return 0;
}

static char *cgpath_of(struct rt_crun *c, const char *id, struct ck_err *err)
{
    if (!rt_valid_id(id)) {
        ck_err_set(err, CK_R_NOT_FOUND, "container %.80s not found", id);
        return NULL;
    }
    ck_autofree char *p = ck_asprintf("%s/containers/%s/container.json", c->root, id);
    json_t *doc = rt_json_read(p, err);
    if (!doc)
        return NULL;
    const char *cg = json_string_value(json_object_get(doc, "cgroups_path"));
    char *r = cg ? ck_strdup(cg) : NULL;
    json_decref(doc);
    if (!r)
        ck_err_set(err, CK_R_CORRUPT, "container %s has no cgroups path", id);
    return r;
}

int rt_crun_stats(struct runtime *rt, const char *id, struct rt_stats *st, struct ck_err *err)
{
    struct rt_crun *c = crun_of(rt);
    ck_autofree char *cg = cgpath_of(c, id, err);
    if (!cg)
        return -1;
    memset(st, 0, sizeof(*st));
    st->timestamp_ns = ck_real_ns();
    int64_t cpu = rt_cgroup_read_int("cpuacct", cg, "cpuacct.usage");
    int64_t usage = rt_cgroup_read_int("memory", cg, "memory.usage_in_bytes");
    if (cpu < 0 && usage < 0)
        return ck_err_set(err, CK_R_NOT_FOUND, "container %s has no cgroup (not running)", id);
    int64_t inactive = rt_cgroup_read_key("memory", cg, "memory.stat", "total_inactive_file");
    int64_t limit = rt_cgroup_read_int("memory", cg, "memory.limit_in_bytes");
    int64_t pids = rt_cgroup_read_int("pids", cg, "pids.current");
    st->cpu_usage_ns = cpu > 0 ? (uint64_t)cpu : 0;
    st->memory_usage_bytes = usage > 0 ? (uint64_t)usage : 0;
    st->memory_working_set_bytes =
        usage > 0 ? (uint64_t)(inactive > 0 && inactive < usage ? usage - inactive : usage) : 0;
    /* the v1 "unlimited" value is a page-rounded LLONG_MAX */
    st->memory_limit_bytes = limit > 0 && limit < ((int64_t)1 << 62) ? (uint64_t)limit : 0;
    st->pids = pids > 0 ? (uint64_t)pids : 0;
    return 0;
}

int rt_crun_update(struct runtime *rt, const char *id, const struct rt_resources *r,
                   struct ck_err *err)
{
    struct rt_crun *c = crun_of(rt);
    ck_autofree char *user = running_user(c, id, err);
    if (!user)
        return -1;
    json_t *res = json_object();
    if (r->memory_limit > 0)
        json_object_set_new(res, "memory", json_pack("{s:I, s:I}", "limit",
                                                     (json_int_t)r->memory_limit, "swap",
                                                     (json_int_t)r->memory_limit));
    json_t *cpu = json_object();
    if (r->cpu_shares > 0)
        json_object_set_new(cpu, "shares", json_integer(r->cpu_shares));
    if (r->cpu_quota > 0) {
        json_object_set_new(cpu, "quota", json_integer(r->cpu_quota));
        json_object_set_new(cpu, "period", json_integer(r->cpu_period > 0 ? r->cpu_period : 100000));
    }
    json_object_set_new(res, "cpu", cpu);
    if (r->pids_limit > 0)
        json_object_set_new(res, "pids", json_pack("{s:I}", "limit", (json_int_t)r->pids_limit));
    ck_autofree char *p = ck_asprintf("%s/containers/%s/resources.json", c->root, id);
    int rc = rt_json_write(p, res, err);
    json_decref(res);
    if (rc < 0)
        return -1;
    ck_autofree char *opt = ck_asprintf("--resources=%s", p);
    const char *args[] = {"update", opt, id, NULL};
    rc = rt_crun_cmd(c, args, 60000, NULL, err);
    unlink(p);
    return rc < 0 ? ck_err_wrap(err, "update resources of %s", id) : 0;
}
