/* SPDX-License-Identifier: Apache-2.0 */
/* crun backend: exec (sync and streaming, with or without a pty), log reopen, cgroup v1
 * stats and live resource updates. */
#include "runtime/crun_int.h"
#include "cni/cni_proc.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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

static int exec_pty(const char **v, struct rt_exec_session *s, struct ck_err *err)
{
    int master, slave;
    if (openpty(&master, &slave, NULL, NULL, NULL) < 0)
        return ck_err_sys(err, errno, "openpty");
    fcntl(master, F_SETFD, FD_CLOEXEC);
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        ioctl(slave, TIOCSCTTY, 0);
        dup2(slave, 0);
        dup2(slave, 1);
        dup2(slave, 2);
        if (slave > 2)
            close(slave);
        signal(SIGPIPE, SIG_DFL);
        execvp(v[0], (char *const *)v);
        _exit(127);
    }
    close(slave);
    if (pid < 0) {
        close(master);
        return ck_err_sys(err, errno, "fork");
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
    if (!argv || !argv[0])
        return ck_err_set(err, CK_R_INVALID, "exec: empty command");
    ck_autofree char *user = running_user(c, id, err);
    if (!user)
        return -1;
    char rootopt[4200];
    const char **v = exec_argv(c, id, argv, tty, user, rootopt, sizeof(rootopt));
    int rc = tty ? exec_pty(v, s, err) : exec_pipes(v, want_stdin, s, err);
    free(v);
    return rc;
}

int rt_crun_exec_wait(struct runtime *rt, struct rt_exec_session *s, int *exit_code,
                      struct ck_err *err)
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
