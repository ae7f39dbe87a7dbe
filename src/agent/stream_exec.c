/* SPDX-License-Identifier: Apache-2.0 */
/* remotecommand over SPDY (exec, and attach through the runtime's attach hook): wait for the
 * expected streams (error + the requested stdin/stdout/stderr + resize for a tty from v3), start
 * the process, copy bytes both ways with back-pressure (the process is not read faster than the
 * client drains; the socket is not read while stdin is backed up), then write the Status (v4) or
 * error text (v1-v3) on the error stream, FIN the outputs, reset the rest and GOAWAY. A client that
 * goes away gets its process killed. */
#include "agent/stream_int.h"

#include "lib/buf.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lib/banned.h"

enum { ST_ERROR, ST_STDIN, ST_STDOUT, ST_STDERR, ST_RESIZE, ST_N };
static const char *const stream_names[ST_N] = {"error", "stdin", "stdout", "stderr", "resize"};

#define STDIN_MAX (256 * 1024)
#define STDIN_READ_LIMIT (128 * 1024)

struct rc {
    struct ag_sconn *c;
    const struct ag_sreq *r;
    int version;
    uint32_t sid[ST_N];
    int expected, got;
    struct ck_buf in;     /* stdin not yet written to the process */
    struct ck_buf resize; /* partial JSON */
    bool stdin_eof;
    int winfd; /* the pty for resizes, -1 */
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void apply_resizes(struct rc *x)
{
    if (!x->resize.len || x->winfd < 0)
        return; /* kept until the process (and its tty) exists */
    size_t off = 0;
    while (off < x->resize.len) {
        while (off < x->resize.len && strchr(" \t\r\n", x->resize.data[off]))
            off++;
        if (off == x->resize.len)
            break;
        json_error_t je;
        json_t *o =
            json_loadb(x->resize.data + off, x->resize.len - off, JSON_DISABLE_EOF_CHECK, &je);
        if (!o)
            break; /* incomplete: wait for more */
        off += (size_t)je.position;
        json_t *w = json_object_get(o, "Width"), *h = json_object_get(o, "Height");
        if (x->winfd >= 0 && json_is_integer(w) && json_is_integer(h)) {
            struct winsize ws = {.ws_row = (unsigned short)json_integer_value(h),
                                 .ws_col = (unsigned short)json_integer_value(w)};
            ioctl(x->winfd, TIOCSWINSZ, &ws);
        }
        json_decref(o);
    }
    memmove(x->resize.data, x->resize.data + off, x->resize.len - off);
    x->resize.len -= off;
}

static void on_event(void *ctx, const struct spdy_event *ev)
{
    struct rc *x = ctx;
    struct spdy_session *sp = x->c->sp;
    if (ev->type == SPDY_SYN_STREAM) {
        struct ck_err err = CK_ERR_INIT;
        spdy_send_syn_reply(sp, ev->stream_id, NULL, 0, 0, &err);
        const char *t = spdy_headers_get(ev->headers, "streamtype");
        for (int i = 0; t && i < ST_N; i++)
            if (!strcmp(t, stream_names[i]) && !x->sid[i]) {
                x->sid[i] = ev->stream_id;
                x->got++;
            }
        return;
    }
    bool fin = ev->flags & SPDY_FLAG_FIN;
    if (ev->type == SPDY_DATA && ev->stream_id == x->sid[ST_STDIN]) {
        if (ck_buf_append(&x->in, ev->data, ev->len) < 0)
            spdy_send_rst(sp, ev->stream_id, SPDY_RST_FLOW_CONTROL_ERROR);
        if (fin)
            x->stdin_eof = true;
    } else if (ev->type == SPDY_DATA && ev->stream_id == x->sid[ST_RESIZE]) {
        if (ck_buf_append(&x->resize, ev->data, ev->len) < 0)
            ck_buf_reset(&x->resize);
        apply_resizes(x);
    } else if (ev->type == SPDY_RST_STREAM && ev->stream_id == x->sid[ST_STDIN]) {
        x->stdin_eof = true;
    }
}

static void status_json(struct ck_buf *b, int exit_code, const char *errmsg,
                        const struct ag_sreq *r)
{
    if (errmsg) {
        ck_buf_appends(b, "{\"metadata\":{},\"status\":\"Failure\",\"message\":");
        char m[2048];
        snprintf(m, sizeof(m), "Internal error occurred: error executing command in container: %s",
                 errmsg);
        ck_buf_append_json_str(b, m, strlen(m));
        ck_buf_appends(b, ",\"reason\":\"InternalError\",\"details\":{\"causes\":[{\"message\":");
        ck_buf_append_json_str(b, errmsg, strlen(errmsg));
        ck_buf_appends(b, "}]},\"code\":500}");
        return;
    }
    if (!exit_code) {
        ck_buf_appends(b, "{\"metadata\":{},\"status\":\"Success\"}");
        return;
    }
    /* as containerd's streaming exec error, wrapped by the kubelet */
    struct ck_buf cmd = CK_BUF_INIT(4096);
    for (int i = 0; i < r->argc; i++)
        ck_buf_appendf(&cmd, "%s%s", i ? " " : "", r->argv[i]);
    char m[4200];
    snprintf(
        m, sizeof(m),
        "command terminated with non-zero exit code: error executing command [%s], exit code %d",
        cmd.data ? cmd.data : "", exit_code);
    ck_buf_release(&cmd);
    ck_buf_appends(b, "{\"metadata\":{},\"status\":\"Failure\",\"message\":");
    ck_buf_append_json_str(b, m, strlen(m));
    ck_buf_appendf(b,
                   ",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":"
                   "\"ExitCode\",\"message\":\"%d\"}]}}",
                   exit_code);
}

/* Writes the outcome, closes every stream and the session. */
static void finish(struct rc *x, int exit_code, const char *errmsg)
{
    struct spdy_session *sp = x->c->sp;
    struct ck_buf b = CK_BUF_INIT(16384);
    if (x->version >= 4)
        status_json(&b, exit_code, errmsg, x->r);
    else if (errmsg)
        ck_buf_appends(&b, errmsg);
    else if (exit_code)
        ck_buf_appendf(&b, "command terminated with non-zero exit code: exit code %d", exit_code);
    if (x->sid[ST_ERROR] && !spdy_stream_local_fin(sp, x->sid[ST_ERROR]))
        spdy_send_data(sp, x->sid[ST_ERROR], b.data ? b.data : "", b.len, true);
    ck_buf_release(&b);
    for (int i = 0; i < ST_N; i++) {
        uint32_t id = x->sid[i];
        if (!id || !spdy_stream_open(sp, id))
            continue;
        if ((i == ST_STDOUT || i == ST_STDERR) && !spdy_stream_local_fin(sp, id))
            spdy_send_data(sp, id, NULL, 0, true);
        else
            spdy_send_rst(sp, id, SPDY_RST_CANCEL);
    }
    spdy_send_goaway(sp, SPDY_GOAWAY_OK);
    ag_sconn_flush(x->c, 10000);
}

/* Reads what the client can take from fd into stream id (0: discard). Returns false at EOF. */
static bool pump_out(struct rc *x, int fd, uint32_t id)
{
    char buf[32768];
    size_t cap = sizeof(buf);
    if (id) {
        size_t room = spdy_send_capacity(x->c->sp, id);
        if (!room)
            return true;
        cap = room < cap ? room : cap;
    }
    ssize_t n = read(fd, buf, cap);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return true;
    if (n <= 0)
        return false; /* EOF, or EIO from a pty whose process left */
    if (id)
        spdy_send_data(x->c->sp, id, buf, (size_t)n, false);
    return true;
}

/* The runtime's exec process and everything below it (the command runs as a child of
 * crun exec inside the container; killing crun alone would leave it running). */
static void kill_session(struct rt_exec_session *es)
{
    if (es->pid <= 0)
        return;
    pid_t tree[256];
    int n = 0, i = 0;
    tree[n++] = es->pid;
    kill(es->pid, SIGSTOP); /* no new children while the tree is collected */
    while (i < n && n < 256) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)tree[i], (int)tree[i]);
        i++;
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        long c;
        while (n < 256 && fscanf(f, "%ld", &c) == 1) {
            kill((pid_t)c, SIGSTOP);
            tree[n++] = (pid_t)c;
        }
        fclose(f);
    }
    for (int k = n - 1; k >= 0; k--)
        kill(tree[k], SIGKILL);
    kill(-es->pid, SIGKILL); /* a tty session leads its own group */
}

static void run(struct rc *x, const struct ag_stream_target *t)
{
    struct ag_sconn *c = x->c;
    struct rt_exec_session es = {.pid = -1, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
    struct ck_err err = CK_ERR_INIT;
    if (strcmp(x->r->kind, "exec")) {
        if (!t->rt->ops->attach ||
            t->rt->ops->attach(t->rt, t->container_id, x->r->in, &es, &err) < 0) {
            finish(x, 0, t->rt->ops->attach ? err.msg : "attach is not supported by this runtime");
            return;
        }
    } else if (!t->rt->ops->exec ||
               t->rt->ops->exec(t->rt, t->container_id, (const char *const *)x->r->argv, x->r->tty,
                                x->r->in, &es, &err) < 0) {
        finish(x, 0, t->rt->ops->exec ? err.msg : "exec is not supported by this runtime");
        return;
    }
    x->winfd = es.tty ? es.stdout_fd : -1;
    apply_resizes(x);
    int outfd = es.stdout_fd, errfd = es.stderr_fd, infd = es.stdin_fd;
    if (infd >= 0)
        fcntl(infd, F_SETFL, fcntl(infd, F_GETFL) | O_NONBLOCK);
    if (outfd >= 0)
        fcntl(outfd, F_SETFL, fcntl(outfd, F_GETFL) | O_NONBLOCK);
    if (errfd >= 0)
        fcntl(errfd, F_SETFL, fcntl(errfd, F_GETFL) | O_NONBLOCK);
    bool out_open = outfd >= 0, err_open = errfd >= 0;
    while (out_open || err_open) {
        if (c->dead || ag_sconn_idle(c) || atomic_load(&c->srv->stop)) {
            kill_session(&es);
            break;
        }
        struct pollfd pf[3];
        int n = 0, io = -1, ie = -1, ii = -1;
        if (out_open && (!x->sid[ST_STDOUT] || spdy_send_capacity(c->sp, x->sid[ST_STDOUT]))) {
            io = n;
            pf[n++] = (struct pollfd){outfd, POLLIN, 0};
        }
        if (err_open && (!x->sid[ST_STDERR] || spdy_send_capacity(c->sp, x->sid[ST_STDERR]))) {
            ie = n;
            pf[n++] = (struct pollfd){errfd, POLLIN, 0};
        }
        if (infd >= 0 && x->in.len) {
            ii = n;
            pf[n++] = (struct pollfd){infd, POLLOUT, 0};
        }
        ag_sconn_poll(c, pf, n, x->in.len < STDIN_READ_LIMIT, 200);
        if (io >= 0 && (pf[io].revents & (POLLIN | POLLHUP | POLLERR)))
            out_open = pump_out(x, outfd, x->r->out ? x->sid[ST_STDOUT] : 0);
        if (ie >= 0 && (pf[ie].revents & (POLLIN | POLLHUP | POLLERR)))
            err_open = pump_out(x, errfd, x->r->err ? x->sid[ST_STDERR] : 0);
        if (!out_open && x->sid[ST_STDOUT] && !spdy_stream_local_fin(c->sp, x->sid[ST_STDOUT]))
            spdy_send_data(c->sp, x->sid[ST_STDOUT], NULL, 0, true);
        if (ii >= 0 && (pf[ii].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = write(infd, x->in.data, x->in.len);
            if (w > 0) {
                memmove(x->in.data, x->in.data + w, x->in.len - (size_t)w);
                x->in.len -= (size_t)w;
            } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                x->in.len = 0; /* the process closed its stdin */
            }
        }
        if (x->stdin_eof && !x->in.len && infd >= 0 && !es.tty) {
            close(infd);
            infd = es.stdin_fd = -1;
        }
    }
    int code = 0;
    if (t->rt->ops->exec_wait(t->rt, &es, &code, &err) < 0) {
        finish(x, 0, err.msg);
        return;
    }
    if (!c->dead)
        finish(x, code, NULL);
}

void ag_stream_exec(struct ag_sconn *c, const struct ag_sreq *r, const struct ag_stream_target *t,
                    int version)
{
    struct rc x = {.c = c, .r = r, .version = version, .winfd = -1};
    x.in = (struct ck_buf)CK_BUF_INIT(STDIN_MAX);
    x.resize = (struct ck_buf)CK_BUF_INIT(4096);
    x.expected = 1 + r->in + r->out + r->err + (r->tty && version >= 3);
    struct ag_shandler h = {on_event, &x};
    c->sp = spdy_session_new(&(struct spdy_session_opts){.server = true, .max_frame = 64 * 1024},
                             ag_sconn_event, &h);
    int64_t deadline =
        mono_ns() +
        (int64_t)(c->srv->o.stream_timeout_s ? c->srv->o.stream_timeout_s : 30) * 1000000000LL;
    while (x.got < x.expected && !c->dead && !atomic_load(&c->srv->stop) && mono_ns() < deadline)
        ag_sconn_poll(c, NULL, 0, true, 200);
    if (x.got >= x.expected && !c->dead)
        run(&x, t);
    else if (!c->dead)
        ck_v(1, "streaming: timed out waiting for client to create streams");
    spdy_session_free(c->sp);
    c->sp = NULL;
    ck_buf_release(&x.in);
    ck_buf_release(&x.resize);
}
