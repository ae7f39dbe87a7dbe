/* SPDX-License-Identifier: Apache-2.0 */
/* The per-container shim: a detached process (double fork, setsid) that
 *  1. enters a private mount namespace with the cgroup2 "unified" mount hidden (crun refuses
 *     hybrid cgroups otherwise) and mounts the overlay rootfs there, so the mount vanishes
 *     with the shim and the container and never leaks into the host;
 *  2. runs `crun create` with pipes as the container's stdout/stderr, becoming the child
 *     subreaper of the container init;
 *  3. writes CRI logs from the pipes, reaps the init and records exit.json (exit code,
 *     OOM kill from memory.oom_control) before exiting. SIGUSR1 reopens the log;
 *  4. serves attach on <dir>/attach.sock (crun_int.h: framed stdout/stderr fanned out to
 *     every attached client, stdin from clients into the container's stdin pipe when the
 *     container has stdin). */
#include "runtime/crilog.h"
#include "runtime/crun_int.h"
#include "cni/cni_proc.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/banned.h"

#define SHIM_LOG_MAX_SIZE (10 << 20)
#define SHIM_LOG_FILES 3
#define SHIM_DRAIN_MS 2000

static volatile sig_atomic_t reopen_requested;

static void on_usr1(int sig)
{
    (void)sig;
    reopen_requested = 1;
}

static void sync_send(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sync_send(int fd, const char *fmt, ...)
{
    char buf[1200];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(buf) - 1)
        n = (int)sizeof(buf) - 1;
    (void)!write(fd, buf, (size_t)n);
}

/* Last meaningful line of crun's --log file, for error messages. */
static void crun_log_tail(const char *dir, char *out, size_t n)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s/crun.log", dir);
    FILE *f = fopen(p, "re");
    out[0] = 0;
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0])
            snprintf(out, n, "%s", line);
    }
    fclose(f);
}

static int setup_mounts(const struct rt_shim_args *a, char *msg, size_t n)
{
    if (unshare(CLONE_NEWNS) < 0) {
        snprintf(msg, n, "unshare(CLONE_NEWNS): %s", strerror(errno));
        return -1;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        snprintf(msg, n, "make / private: %s", strerror(errno));
        return -1;
    }
    umount2("/sys/fs/cgroup/unified", MNT_DETACH); /* absent on pure v1/v2 hosts: fine */
    char opts[8192], target[4096];
    snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s/upper,workdir=%s/work", a->lowerdir,
             a->dir, a->dir);
    snprintf(target, sizeof(target), "%s/bundle/rootfs", a->dir);
    if (mount("overlay", target, "overlay", 0, opts) < 0) {
        snprintf(msg, n, "mount overlay rootfs: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static pid_t spawn_create(const struct rt_shim_args *a, int inr, int outw, int errw)
{
    char bundle[4096], pidf[4096], logopt[4200];
    snprintf(bundle, sizeof(bundle), "%s/bundle", a->dir);
    snprintf(pidf, sizeof(pidf), "%s/init.pid", a->dir);
    snprintf(logopt, sizeof(logopt), "--log=file:%s/crun.log", a->dir);
    char rootopt[4200];
    snprintf(rootopt, sizeof(rootopt), "--root=%s", a->crun_root);
    const char *argv[] = {a->crun, rootopt, logopt, "create", "--bundle", bundle,
                          "--pid-file", pidf, a->id, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (inr >= 0)
        posix_spawn_file_actions_adddup2(&fa, inr, 0);
    else
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, outw, 1);
    posix_spawn_file_actions_adddup2(&fa, errw, 2);
    pid_t pid = -1;
    if (posix_spawnp(&pid, a->crun, &fa, NULL, (char *const *)argv, NULL) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

static pid_t read_pid_file(const char *dir, const char *name)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "re");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return (pid_t)v;
}

static void write_exit(const struct rt_shim_args *a, int status)
{
    int code = WIFEXITED(status) ? WEXITSTATUS(status)
                                 : (WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255);
    int64_t ooms = rt_cgroup_read_key("memory", a->cgroups_path, "memory.oom_control", "oom_kill");
    json_t *doc = json_pack("{s:i, s:I, s:b, s:i}", "exit_code", code, "finished_ns",
                            (json_int_t)ck_real_ns(), "oom_killed", ooms > 0, "signal",
                            WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    char p[4096];
    snprintf(p, sizeof(p), "%s/exit.json", a->dir);
    struct ck_err e = CK_ERR_INIT;
    rt_json_write(p, doc, &e);
    json_decref(doc);
}

/* ---- attach ------------------------------------------------------------------------ */

#define ATT_MAX 16
#define ATT_SNDBUF (1 << 20)
#define STDIN_PEND_MAX (256 * 1024)

struct att_client {
    int fd;
    uint8_t *in; /* a partial frame from the client */
    size_t inlen;
};

struct attach {
    int lfd;   /* listener, -1 when off */
    int stdin_w; /* the container's stdin, -1 when none */
    struct att_client c[ATT_MAX];
    uint8_t *pend; /* stdin not yet written */
    size_t plen;
};

static int attach_listen(const char *dir)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/attach.sock", dir) >=
        sizeof(sa.sun_path))
        return -1;
    unlink(sa.sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd >= 0 && (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0)) {
        close(fd);
        fd = -1;
    }
    if (fd >= 0)
        chmod(sa.sun_path, 0600);
    return fd;
}

static void att_drop(struct att_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->in);
    c->fd = -1;
    c->in = NULL;
    c->inlen = 0;
}

static void att_accept(struct attach *at)
{
    int fd = accept4(at->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    for (int i = 0; i < ATT_MAX; i++)
        if (at->c[i].fd < 0) {
            int sz = ATT_SNDBUF;
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
            at->c[i].fd = fd;
            at->c[i].in = malloc(RT_ATTACH_MAX_FRAME + 5);
            if (!at->c[i].in)
                att_drop(&at->c[i]);
            return;
        }
    close(fd); /* too many attached clients */
}

/* Sends a frame to every client; one that cannot take it whole is disconnected. */
static void att_broadcast(struct attach *at, int stream, const char *p, size_t n)
{
    uint8_t h[5] = {(uint8_t)stream, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
                    (uint8_t)n};
    for (int i = 0; i < ATT_MAX; i++) {
        if (at->c[i].fd < 0)
            continue;
        struct iovec v[2] = {{h, 5}, {(void *)p, n}};
        struct msghdr m = {.msg_iov = v, .msg_iovlen = 2};
        if (sendmsg(at->c[i].fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)(n + 5))
            att_drop(&at->c[i]);
    }
}

/* Reads a client's frames; stdin bytes go to the pending buffer. */
static void att_read(struct attach *at, struct att_client *c)
{
    ssize_t k = recv(c->fd, c->in + c->inlen, RT_ATTACH_MAX_FRAME + 5 - c->inlen, MSG_DONTWAIT);
    if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
        att_drop(c);
        return;
    }
    if (k < 0)
        return;
    c->inlen += (size_t)k;
    size_t off = 0;
    while (c->inlen - off >= 5) {
        uint32_t len = (uint32_t)c->in[off + 1] << 24 | (uint32_t)c->in[off + 2] << 16 |
                       (uint32_t)c->in[off + 3] << 8 | c->in[off + 4];
        if (len > RT_ATTACH_MAX_FRAME) {
            att_drop(c);
            return;
        }
        if (c->inlen - off < 5 + len)
            break;
        if (c->in[off] == 0 && at->stdin_w >= 0 && at->plen + len <= STDIN_PEND_MAX) {
            memcpy(at->pend + at->plen, c->in + off + 5, len);
            at->plen += len;
        }
        off += 5 + len;
    }
    memmove(c->in, c->in + off, c->inlen - off);
    c->inlen -= off;
}

static void att_write_stdin(struct attach *at)
{
    if (at->stdin_w < 0 || !at->plen)
        return;
    ssize_t w = write(at->stdin_w, at->pend, at->plen);
    if (w > 0) {
        memmove(at->pend, at->pend + w, at->plen - (size_t)w);
        at->plen -= (size_t)w;
    } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        at->plen = 0; /* the process closed its stdin */
    }
}

static void att_close(struct attach *at)
{
    for (int i = 0; i < ATT_MAX; i++)
        att_drop(&at->c[i]);
    if (at->lfd >= 0)
        close(at->lfd);
    if (at->stdin_w >= 0)
        close(at->stdin_w);
    free(at->pend);
}

/* Pumps the pipes into the log until both reach EOF (or the drain deadline after exit). */
static void shim_loop(const struct rt_shim_args *a, pid_t init, int fds[2],
                      struct rt_log_writer *w, struct attach *at)
{
    int status = 0;
    bool exited = false;
    int64_t drain_deadline = 0;
    struct ck_err e = CK_ERR_INIT;
    while (fds[0] >= 0 || fds[1] >= 0 || !exited) {
        struct pollfd p[4 + ATT_MAX] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0},
                                        {at->lfd, POLLIN, 0},
                                        {at->plen ? at->stdin_w : -1, POLLOUT, 0}};
        for (int i = 0; i < ATT_MAX; i++)
            p[4 + i] = (struct pollfd){at->plen < STDIN_PEND_MAX / 2 ? at->c[i].fd : -1, POLLIN,
                                       0};
        int r = poll(p, 4 + ATT_MAX, exited ? 50 : 200);
        if (r > 0 && (p[2].revents & POLLIN))
            att_accept(at);
        if (r > 0 && (p[3].revents & (POLLOUT | POLLERR | POLLHUP)))
            att_write_stdin(at);
        for (int i = 0; r > 0 && i < ATT_MAX; i++)
            if (at->c[i].fd >= 0 && p[4 + i].fd == at->c[i].fd &&
                (p[4 + i].revents & (POLLIN | POLLHUP | POLLERR)))
                att_read(at, &at->c[i]);
        if (reopen_requested) {
            reopen_requested = 0;
            rt_log_reopen(w, &e);
        }
        for (int i = 0; r > 0 && i < 2; i++) {
            if (fds[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[32768];
            ssize_t k = read(fds[i], buf, sizeof(buf));
            if (k > 0) {
                rt_log_write(w, (enum rt_log_stream)i, buf, (size_t)k, &e);
                att_broadcast(at, i + 1, buf, (size_t)k);
            } else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
                rt_log_flush(w, (enum rt_log_stream)i, &e);
                close(fds[i]);
                fds[i] = -1;
            }
        }
        pid_t got;
        int st;
        while ((got = waitpid(-1, &st, WNOHANG)) > 0)
            if (got == init && !exited) {
                exited = true;
                status = st;
                drain_deadline = ck_mono_ms() + SHIM_DRAIN_MS;
            }
        if (got < 0 && errno == ECHILD && !exited) { /* init not our child: poll for it */
            if (kill(init, 0) < 0 && errno == ESRCH) {
                exited = true;
                status = 255 << 8;
                drain_deadline = ck_mono_ms() + SHIM_DRAIN_MS;
            }
        }
        if (exited && ck_mono_ms() > drain_deadline)
            break;
    }
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0) {
            rt_log_flush(w, (enum rt_log_stream)i, &e);
            close(fds[i]);
        }
    write_exit(a, status);
    att_close(at); /* attached clients see EOF once exit.json is there */
}

static void redirect_stdio(const char *dir)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    char p[4096];
    snprintf(p, sizeof(p), "%s/shim.log", dir);
    int log = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    dup2(null, 0);
    dup2(null, 1);
    dup2(log >= 0 ? log : null, 2);
    if (null > 2)
        close(null);
    if (log > 2)
        close(log);
}

static _Noreturn void shim_main(const struct rt_shim_args *a, int syncfd)
{
    char msg[1024];
    redirect_stdio(a->dir);
    for (int fd = 3; fd < 4096; fd++) /* nothing of the caller's (sockets, locks) stays open */
        if (fd != syncfd)
            close(fd);
    /* forked from an arbitrary thread of the caller: reset what it may have changed, and
     * outlive the caller being stopped (the container must not depend on it) */
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGUSR1, on_usr1);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (setup_mounts(a, msg, sizeof(msg)) < 0) {
        sync_send(syncfd, "E %s", msg);
        _exit(1);
    }
    struct rt_log_writer w;
    struct ck_err e = CK_ERR_INIT;
    if (rt_log_open(&w, a->log_path, SHIM_LOG_MAX_SIZE, SHIM_LOG_FILES, &e) < 0) {
        sync_send(syncfd, "E %s", e.msg);
        _exit(1);
    }
    int out[2], er[2], in[2] = {-1, -1};
    if ((a->stdin_ && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
        pipe2(er, O_CLOEXEC) < 0) {
        sync_send(syncfd, "E pipe: %s", strerror(errno));
        _exit(1);
    }
    int64_t t0 = ck_mono_ns();
    pid_t crun = spawn_create(a, in[0], out[1], er[1]);
    close(out[1]);
    close(er[1]);
    if (in[0] >= 0)
        close(in[0]);
    struct attach at = {.lfd = attach_listen(a->dir), .stdin_w = in[1]};
    for (int i = 0; i < ATT_MAX; i++)
        at.c[i].fd = -1;
    if (in[1] >= 0) {
        fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
        at.pend = malloc(STDIN_PEND_MAX);
        if (!at.pend) {
            close(in[1]);
            at.stdin_w = -1;
        }
    }
    int st = 0;
    if (crun < 0 || waitpid(crun, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        crun_log_tail(a->dir, msg, sizeof(msg));
        sync_send(syncfd, "E crun create: %s", msg[0] ? msg : "failed");
        _exit(1);
    }
    pid_t init = read_pid_file(a->dir, "init.pid");
    fprintf(stderr, "crun create took %.1f ms\n", (double)(ck_mono_ns() - t0) / 1e6);
    sync_send(syncfd, "OK %d %d", (int)getpid(), (int)init);
    close(syncfd);
    int fds[2] = {out[0], er[0]};
    shim_loop(a, init, fds, &w, &at);
    rt_log_close(&w);
    _exit(0);
}

int rt_shim_launch(const struct rt_shim_args *a, pid_t *shim_pid, pid_t *init_pid,
                   struct ck_err *err)
{
    int sp[2];
    if (pipe2(sp, O_CLOEXEC) < 0)
        return ck_err_sys(err, errno, "pipe");
    pid_t mid = fork();
    if (mid < 0) {
        close(sp[0]);
        close(sp[1]);
        return ck_err_sys(err, errno, "fork shim");
    }
    if (mid == 0) {
        close(sp[0]);
        setsid();
        pid_t s = fork();
        if (s != 0)
            _exit(s < 0 ? 1 : 0);
        shim_main(a, sp[1]);
    }
    close(sp[1]);
    int st;
    while (waitpid(mid, &st, 0) < 0 && errno == EINTR)
        ;
    char buf[1200];
    size_t len = 0;
    ssize_t k;
    while (len < sizeof(buf) - 1 && (k = read(sp[0], buf + len, sizeof(buf) - 1 - len)) != 0) {
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            break;
        len += (size_t)k;
    }
    close(sp[0]);
    buf[len] = 0;
    int sp_pid = 0, ip = 0;
    if (len > 3 && !strncmp(buf, "OK ", 3) && sscanf(buf + 3, "%d %d", &sp_pid, &ip) == 2 &&
        ip > 0) {
        *shim_pid = sp_pid;
        *init_pid = ip;
        return 0;
    }
    if (len > 2 && buf[0] == 'E')
        return ck_err_set(err, CK_R_INTERNAL, "%s", buf + 2);
    return ck_err_set(err, CK_R_INTERNAL, "container shim died during create");
}
