/* SPDX-License-Identifier: Apache-2.0 */
/* `ckube bench exec`: streaming through the API server (issue 13, bar 3).
 *
 * Starts `ckube server` and `ckube agent` (crun + CNI: needs root) in a temporary dir, runs one
 * pod from a busybox rootfs directory, then measures through the API server's plain port:
 *   bench exec_roundtrip_ms     p50 of `exec true` over WebSocket v5.channel.k8s.io, from the
 *                               upgrade request to the close frame after the exit Status;
 *   bench portforward_mb_per_s  MiB/s of one forwarded connection (SPDY portforward.k8s.io)
 *                               downloading a --mib MiB file (default 256) from busybox httpd
 *                               in the pod (HTTP headers included in the count).
 * Everything lives in the temporary dir and is removed (pod deleted, processes stopped). */
#include "ckube/client.h"
#include "cmd/bench.h"
#include "cmd/cmd.h"
#include "lib/timeutil.h"
#include "stream/spdy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/banned.h"

#define POD "ckbench-exec"

static pid_t spawn(const char *const *argv, const char *logpath)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(0);
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv("/proc/self/exe", (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static void stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, NULL, WNOHANG) != 0)
            return;
        usleep(100000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct timeval tv = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static bool send_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        b += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads an HTTP head; the bytes after it go to extra (*nextra). Returns the status or -1. */
static int read_head(int fd, uint8_t *extra, size_t cap, size_t *nextra)
{
    char buf[8192];
    size_t n = 0;
    while (n < sizeof(buf) - 1) {
        ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
        if (r <= 0)
            return -1;
        n += (size_t)r;
        buf[n] = 0;
        char *e = strstr(buf, "\r\n\r\n");
        if (e) {
            size_t hl = (size_t)(e + 4 - buf);
            *nextra = n - hl < cap ? n - hl : cap;
            memcpy(extra, buf + hl, *nextra);
            int st = -1;
            sscanf(buf, "HTTP/1.1 %d", &st);
            return st;
        }
    }
    return -1;
}

/* One WebSocket v5 exec of `true`: milliseconds until the server's close frame, or -1. */
static double ws_exec_true(int port)
{
    int64_t t0 = ck_mono_ns();
    int fd = dial(port);
    if (fd < 0)
        return -1;
    const char req[] = "GET /api/v1/namespaces/default/pods/" POD "/exec?command=true&container=c&"
                       "stderr=true&stdout=true HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                       "Sec-WebSocket-Key: Y2t1YmUtYmVuY2gtZXhlYw==\r\n"
                       "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n";
    uint8_t buf[65536];
    size_t have = 0;
    double ms = -1;
    if (!send_all(fd, req, sizeof(req) - 1) || read_head(fd, buf, sizeof(buf), &have) != 101)
        goto out;
    for (;;) { /* frames until the close (opcode 8) */
        while (have >= 2) {
            size_t len = buf[1] & 0x7f, off = 2;
            if (len == 126) {
                if (have < 4)
                    break;
                len = (size_t)buf[2] << 8 | buf[3];
                off = 4;
            } else if (len == 127) {
                goto out; /* not expected for this command */
            }
            if (have < off + len)
                break;
            if ((buf[0] & 0x0f) == 8) {
                ms = (double)(ck_mono_ns() - t0) / 1e6;
                /* echo the close, masked (client frames are) */
                const uint8_t close_frame[] = {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8};
                send_all(fd, close_frame, sizeof(close_frame));
                goto out;
            }
            memmove(buf, buf + off + len, have - off - len);
            have -= off + len;
        }
        ssize_t r = recv(fd, buf + have, sizeof(buf) - have, 0);
        if (r <= 0)
            goto out;
        have += (size_t)r;
    }
out:
    close(fd);
    return ms;
}

struct pf_state {
    uint32_t data_id;
    uint64_t bytes;
    bool fin;
};

static void pf_event(void *arg, struct spdy_session *s, const struct spdy_event *ev)
{
    (void)s;
    struct pf_state *p = arg;
    if (ev->stream_id != p->data_id)
        return;
    if (ev->type == SPDY_DATA)
        p->bytes += ev->len;
    if ((ev->flags & SPDY_FLAG_FIN) || ev->type == SPDY_RST_STREAM)
        p->fin = true;
}

static bool flush_out(int fd, struct spdy_session *sp)
{
    size_t n;
    const uint8_t *p = spdy_out_peek(sp, &n);
    if (n && !send_all(fd, p, n))
        return false;
    spdy_out_consume(sp, n);
    return true;
}

/* Downloads /big over one forwarded connection to pod port 9000; MiB/s, or -1. */
static double portforward_rate(int port, uint64_t *got)
{
    int fd = dial(port);
    if (fd < 0)
        return -1;
    const char req[] = "POST /api/v1/namespaces/default/pods/" POD "/portforward HTTP/1.1\r\n"
                       "Host: 127.0.0.1\r\nContent-Length: 0\r\nConnection: Upgrade\r\n"
                       "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n";
    uint8_t *buf = malloc(1 << 20);
    size_t have = 0;
    double rate = -1;
    struct pf_state st = {0};
    struct spdy_session *sp = spdy_session_new(
        &(struct spdy_session_opts){.server = false, .max_frame = 1 << 20}, pf_event, &st);
    struct ck_err err = CK_ERR_INIT;
    if (!buf || !sp || !send_all(fd, req, sizeof(req) - 1) ||
        read_head(fd, buf, 1 << 20, &have) != 101)
        goto out;
    struct spdy_hdr eh[3] = {{"streamtype", "error", 5},
                             {"port", "9000", 4},
                             {"requestid", "0", 1}},
                    dh[3] = {{"streamtype", "data", 4}, {"port", "9000", 4}, {"requestid", "0", 1}};
    uint32_t eid;
    if (spdy_send_syn_stream(sp, &eid, eh, 3, 0, &err) < 0 ||
        spdy_send_syn_stream(sp, &st.data_id, dh, 3, 0, &err) < 0)
        goto out;
    spdy_send_data(sp, eid, NULL, 0, true);
    static const char get[] = "GET /big HTTP/1.0\r\n\r\n"; /* busybox httpd in the pod */
    spdy_send_data(sp, st.data_id, get, sizeof(get) - 1, false);
    if (!flush_out(fd, sp) || (have && spdy_session_feed(sp, buf, have, &err) < 0))
        goto out;
    int64_t t0 = ck_mono_ns();
    while (!st.fin) {
        ssize_t r = recv(fd, buf, 1 << 20, 0);
        if (r <= 0 || spdy_session_feed(sp, buf, (size_t)r, &err) < 0 || !flush_out(fd, sp))
            break;
    }
    double secs = (double)(ck_mono_ns() - t0) / 1e9;
    *got = st.bytes;
    if (st.fin && st.bytes && secs > 0)
        rate = (double)st.bytes / (1024.0 * 1024.0) / secs;
out:
    if (sp)
        spdy_session_free(sp);
    free(buf);
    close(fd);
    return rate;
}

static int make_rootfs(const char *dir, char *image, size_t n)
{
    char root[PATH_MAX], p[PATH_MAX + 32];
    snprintf(root, sizeof(root), "%s/rootfs", dir);
    static const char *const dirs[] = {"", "/bin", "/etc", "/tmp", "/proc", "/sys", "/dev"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
        snprintf(p, sizeof(p), "%s%s", root, dirs[i]);
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return -1;
    }
    snprintf(p, sizeof(p), "%s/bin/busybox", root);
    int in = open("/bin/busybox", O_RDONLY | O_CLOEXEC);
    int out = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    char buf[65536];
    ssize_t r = in < 0 || out < 0 ? -1 : 0;
    while (r >= 0 && (r = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)r) != r)
            r = -1;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    if (r < 0) {
        fprintf(stderr, "bench-exec: needs a static /bin/busybox (busybox-static)\n");
        return -1;
    }
    static const char *const apps[] = {"sh", "sleep", "true", "httpd", "head", "cat"};
    for (size_t i = 0; i < sizeof(apps) / sizeof(*apps); i++) {
        snprintf(p, sizeof(p), "%s/bin/%s", root, apps[i]);
        if (symlink("busybox", p) < 0 && errno != EEXIST)
            return -1;
    }
    snprintf(image, n, "dir:%s", root);
    return 0;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static bool pod_running(struct ck_client *c)
{
    json_t *p = NULL;
    struct ck_err err = CK_ERR_INIT;
    bool ok = ck_client_get_json(c, "/api/v1/namespaces/default/pods/" POD, &p, &err) == 0 &&
              json_string_value(json_object_get(json_object_get(p, "status"), "phase")) &&
              !strcmp(json_string_value(json_object_get(json_object_get(p, "status"), "phase")),
                      "Running");
    json_decref(p);
    return ok;
}

int cmd_bench_exec(int argc, char **argv)
{
    int runs = 50;
    long mib = 256;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = ck_flag_value(argc, argv, &i, "--runs")))
            runs = atoi(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--mib")))
            mib = atol(v);
        else {
            fprintf(stderr, "usage: ckube bench exec [--runs N] [--mib M]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > 10000 || mib < 1 || mib > 65536) {
        fprintf(stderr, "bench-exec: bad --runs or --mib\n");
        return 2;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "bench-exec: needs root (crun, CNI): skipped\n");
        return 0;
    }
    char dir[] = "/tmp/ckbench-exec.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("bench-exec: mkdtemp");
        return 1;
    }
    int sport = free_port(), pport = free_port(), kport = free_port(), rc = 1;
    char sp[16], pp[16], kp[16], data[PATH_MAX], logp[PATH_MAX], kc[PATH_MAX], root[PATH_MAX];
    snprintf(sp, sizeof(sp), "%d", sport);
    snprintf(pp, sizeof(pp), "%d", pport);
    snprintf(kp, sizeof(kp), "%d", kport);
    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(kc, sizeof(kc), "%s/data/kubeconfig.yaml", dir);
    snprintf(root, sizeof(root), "%s/agent", dir);
    snprintf(logp, sizeof(logp), "%s/server.log", dir);
    const char *sargv[] = {"ckube", "server",          "--data-dir", data, "--secure-port",
                           sp,      "--insecure-port", pp,           NULL};
    pid_t srv = spawn(sargv, logp), agent = 0;
    struct ck_client *c = NULL;
    char url[64], image[PATH_MAX + 8], node[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", pport);
    snprintf(node, sizeof(node), "ckbench-exec-%d", (int)getpid());
    struct ck_client_config cc = {
        .server = strdup(url), .qps = 1e6, .burst = 1000000, .timeout_ms = 30000};
    struct ck_err err = CK_ERR_INIT;
    if (ck_client_new(&cc, &c, &err) < 0)
        goto out;
    bool up = false;
    for (int i = 0; i < 600 && !up; i++) {
        up = access(kc, R_OK) == 0 &&
             ck_client_do(c, "GET", "/readyz", NULL, NULL, 0, NULL, &err) == 0;
        if (!up)
            usleep(100000);
    }
    if (!up || make_rootfs(dir, image, sizeof(image)) < 0) {
        fprintf(stderr, "bench-exec: server not ready (%s)\n", dir);
        goto out;
    }
    snprintf(logp, sizeof(logp), "%s/agent.log", dir);
    const char *aargv[] = {"ckube",  "agent", "--kubeconfig",   kc,   "--node-name", node,
                           "--root", root,    "--healthz-port", "-1", "--port",      kp,
                           NULL};
    agent = spawn(aargv, logp);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "head -c %ld /dev/zero > /tmp/big && exec httpd -f -p 9000 -h /tmp",
             mib << 20);
    json_t *pod = json_pack(
        "{s:s,s:s,s:{s:s},s:{s:s,s:I,s:[{s:s,s:s,s:[s,s]},{s:s,s:s,s:[s,s,s]}]}}", "apiVersion",
        "v1", "kind", "Pod", "metadata", "name", POD, "spec", "nodeName", node,
        "terminationGracePeriodSeconds", (json_int_t)1, "containers", "name", "c", "image", image,
        "command", "sleep", "36000", "name", "src", "image", image, "command", "sh", "-c", cmd);
    bool created = false;
    for (int i = 0; i < 300 && !created; i++) { /* until the agent registered its node */
        created = ck_client_create_json(c, "/api/v1/namespaces/default/pods", pod, NULL, &err) == 0;
        if (!created)
            usleep(100000);
    }
    json_decref(pod);
    bool running = false;
    for (int i = 0; created && i < 600 && !(running = pod_running(c)); i++)
        usleep(100000);
    if (!running) {
        fprintf(stderr, "bench-exec: pod not Running (%s)\n", dir);
        goto cleanup;
    }
    usleep(1000000); /* the file written, httpd listening */
    double *ms = calloc((size_t)runs, sizeof(double));
    int ok = 0;
    ws_exec_true(pport); /* warm-up */
    for (int i = 0; i < runs; i++) {
        double m = ws_exec_true(pport);
        if (m >= 0)
            ms[ok++] = m;
    }
    if (ok) {
        qsort(ms, (size_t)ok, sizeof(double), cmpd);
        printf("exec: %d/%d round trips of `exec true` over WebSocket v5\n", ok, runs);
        printf("bench exec_roundtrip_ms %.2f ms\n", ms[ok / 2]);
    }
    free(ms);
    uint64_t got = 0;
    double rate = portforward_rate(pport, &got);
    if (rate > 0) {
        printf("port-forward: %.1f MiB read through one forwarded connection\n",
               (double)got / 1048576.0);
        printf("bench portforward_mb_per_s %.1f MB/s\n", rate);
    }
    fflush(stdout);
    rc = ok && rate > 0 ? 0 : 1;
cleanup:
    ck_client_do(c, "DELETE", "/api/v1/namespaces/default/pods/" POD "?gracePeriodSeconds=0", NULL,
                 NULL, 0, NULL, &err);
    for (int i = 0; i < 300; i++) {
        struct ck_err e2 = CK_ERR_INIT;
        if (ck_client_get_json(c, "/api/v1/namespaces/default/pods/" POD, NULL, &e2) < 0 &&
            e2.reason == CK_R_NOT_FOUND)
            break;
        usleep(100000);
    }
out:
    stop(agent);
    stop(srv);
    if (c)
        ck_client_free(c);
    ck_client_config_release(&cc);
    if (rc == 0) {
        char *rm = ck_asprintf("rm -rf --one-file-system '%s'", dir);
        if (system(rm) != 0)
            fprintf(stderr, "bench-exec: could not remove %s\n", dir);
        free(rm);
    }
    return rc;
}
