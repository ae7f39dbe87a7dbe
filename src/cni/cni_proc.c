/* SPDX-License-Identifier: Apache-2.0 */
/* cni_spawn_capture: run a program with given stdin bytes, collect stdout/stderr into
 * capped buffers, with a timeout (SIGKILL on expiry). Used for CNI plugins and, by the
 * runtime, for the crun CLI. posix_spawn keeps it safe in threaded callers. */
#include "cni/cni_proc.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/banned.h"

extern char **environ;

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static int spawn_with_pipes(const char *const *argv, char *const *envp, int fds[3],
                            pid_t *pid, struct ck_err *err)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0) {
        int e = errno;
        close_fd(&in[0]), close_fd(&in[1]), close_fd(&out[0]), close_fd(&out[1]);
        close_fd(&er[0]), close_fd(&er[1]);
        return ck_err_sys(err, e, "pipe");
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, er[1], 2);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&at, &none);
    sigset_t def;
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawnp(pid, argv[0], &fa, &at, (char *const *)argv, envp ? envp : environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close_fd(&in[0]), close_fd(&out[1]), close_fd(&er[1]);
    if (rc != 0) {
        close_fd(&in[1]), close_fd(&out[0]), close_fd(&er[0]);
        return ck_err_sys(err, rc, "exec %s", argv[0]);
    }
    fds[0] = in[1];
    fds[1] = out[0];
    fds[2] = er[0];
    for (int i = 0; i < 3; i++)
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    return 0;
}

/* One poll round: feed stdin, drain stdout/stderr. Returns <0 on buffer overflow. */
static int pump(int fds[3], const char *in, size_t inlen, size_t *inoff, struct ck_buf *bufs[2],
                int wait_ms)
{
    struct pollfd p[3];
    for (int i = 0; i < 3; i++) {
        p[i].fd = fds[i];
        p[i].events = i == 0 ? POLLOUT : POLLIN;
        p[i].revents = 0;
    }
    if (poll(p, 3, wait_ms) <= 0)
        return 0;
    if (fds[0] >= 0 && (p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
        ssize_t w = inlen > *inoff ? write(fds[0], in + *inoff, inlen - *inoff) : 0;
        if (w > 0)
            *inoff += (size_t)w;
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            *inoff = inlen;
        if (*inoff >= inlen)
            close_fd(&fds[0]);
    }
    for (int i = 1; i < 3; i++) {
        if (fds[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        char tmp[16384];
        ssize_t r = read(fds[i], tmp, sizeof(tmp));
        if (r > 0 && ck_buf_append(bufs[i - 1], tmp, (size_t)r) < 0)
            return -1;
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
            close_fd(&fds[i]);
    }
    return 0;
}

int cni_spawn_capture(const char *const *argv, char *const *envp, const char *in, size_t inlen,
                      int timeout_ms, struct ck_buf *out, struct ck_buf *errout, int *status,
                      struct ck_err *err)
{
    int fds[3];
    pid_t pid;
    if (spawn_with_pipes(argv, envp, fds, &pid, err) < 0)
        return -1;
    if (inlen == 0)
        close_fd(&fds[0]);
    struct ck_buf *bufs[2] = {out, errout};
    size_t inoff = 0;
    int64_t deadline = timeout_ms > 0 ? ck_mono_ms() + timeout_ms : 0;
    int rc = 0;
    while (fds[1] >= 0 || fds[2] >= 0 || fds[0] >= 0) {
        int wait_ms = 200;
        if (deadline) {
            int64_t left = deadline - ck_mono_ms();
            if (left <= 0) {
                rc = ck_err_set(err, CK_R_TIMEOUT, "%s: timed out after %d ms", argv[0],
                                timeout_ms);
                break;
            }
            wait_ms = left < 200 ? (int)left : 200;
        }
        if (pump(fds, in, inlen, &inoff, bufs, wait_ms) < 0) {
            rc = ck_err_set(err, CK_R_TOO_LARGE, "%s: output too large", argv[0]);
            break;
        }
    }
    for (int i = 0; i < 3; i++)
        close_fd(&fds[i]);
    if (rc < 0)
        kill(pid, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    *status = st;
    return rc;
}

const char *cni_status_str(int status, char *buf, size_t n)
{
    if (WIFEXITED(status))
        snprintf(buf, n, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, n, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, n, "status 0x%x", status);
    return buf;
}
