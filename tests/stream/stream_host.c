/* SPDX-License-Identifier: Apache-2.0 */
/* Test host for the agent's streaming server: runs ag_stream_start with a local runtime whose
 * exec forks the command on this machine (pipes, or a pty for tty, like the crun backend) and
 * whose port_forward dials 127.0.0.1. Prints "port N", serves until stdin closes, then stops
 * the server and prints "active N". Pod default/p1 (container c1) exists; others are 404. */
#include "agent/streaming.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/banned.h"

static int l_exec(struct runtime *rt, const char *id, const char *const *argv, bool tty,
                  bool want_stdin, struct rt_exec_session *s, struct ck_err *err)
{
    (void)rt, (void)id;
    int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1}, master = -1, slave = -1;
    if (tty ? openpty(&master, &slave, NULL, NULL, NULL) < 0
            : ((want_stdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
               pipe2(er, O_CLOEXEC) < 0))
        return ck_err_sys(err, errno, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        if (tty) {
            setsid();
            ioctl(slave, TIOCSCTTY, 0);
            dup2(slave, 0), dup2(slave, 1), dup2(slave, 2);
        } else {
            setpgid(0, 0); /* so that the server's kill of the group reaches grandchildren */
            dup2(want_stdin ? in[0] : open("/dev/null", O_RDONLY), 0);
            dup2(out[1], 1), dup2(er[1], 2);
        }
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (tty) {
        close(slave);
        fcntl(master, F_SETFD, FD_CLOEXEC);
        *s = (struct rt_exec_session){pid, master, master, -1, true, NULL};
    } else {
        if (want_stdin)
            close(in[0]);
        close(out[1]), close(er[1]);
        *s = (struct rt_exec_session){pid, want_stdin ? in[1] : -1, out[0], er[0], false, NULL};
    }
    return 0;
}

static int l_exec_wait(struct runtime *rt, struct rt_exec_session *s, int *code, struct ck_err *err)
{
    (void)rt;
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
        return ck_err_sys(err, errno, "wait");
    *code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return 0;
}

static int l_pf(struct runtime *rt, const char *sb, int port, int *fd, struct ck_err *err)
{
    (void)rt, (void)sb;
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(s);
        return ck_err_sys(err, errno, "dial 127.0.0.1:%d", port);
    }
    *fd = s;
    return 0;
}

static const struct runtime_ops local_ops = {
    .name = "local", .version = 1, .exec = l_exec, .exec_wait = l_exec_wait, .port_forward = l_pf};
static struct runtime local_rt = {&local_ops};

static int resolve(void *arg, const char *ns, const char *pod, const char *uid,
                   const char *container, struct ag_stream_target *t, struct ck_err *err)
{
    (void)arg, (void)uid;
    if (strcmp(ns, "default") || strcmp(pod, "p1") || (container && strcmp(container, "c1")))
        return ck_err_set(err, CK_R_NOT_FOUND, "pod does not exist");
    t->rt = &local_rt;
    snprintf(t->container_id, sizeof(t->container_id), "c1id");
    snprintf(t->sandbox_id, sizeof(t->sandbox_id), "sb1");
    snprintf(t->pod_uid, sizeof(t->pod_uid), "uid1");
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    struct ck_err err = CK_ERR_INIT;
    int idle = argc > 1 ? atoi(argv[1]) : 0;
    struct ag_stream_server *s = ag_stream_start(
        &(struct ag_stream_opts){
            .bind = "127.0.0.1", .resolve = resolve, .idle_timeout_s = idle, .stream_timeout_s = 5},
        &err);
    if (!s) {
        fprintf(stderr, "start: %s\n", err.msg);
        return 1;
    }
    printf("port %d\n", ag_stream_port(s));
    fflush(stdout);
    char buf[64];
    while (fgets(buf, sizeof(buf), stdin))
        if (!strncmp(buf, "active", 6)) {
            printf("active %d\n", ag_stream_active(s));
            fflush(stdout);
        }
    ag_stream_stop(s);
    printf("stopped\n");
    return 0;
}
