/* SPDX-License-Identifier: Apache-2.0 */
/* `ckube bench pods`: the node agent's benchmarks (issue 12, bar 2).
 *
 * Pod start: a one-node cluster with a real agent (crun + CNI), the image present, P pods
 * (default 100) created on the node (spec.nodeName set: no scheduler in the path) at a steady
 * rate, each timed from just before its create request to the watch event that shows it
 * Running. Machine lines: bench pod_start_p50_ms, pod_start_p99_ms (goal p50 <= 150 ms).
 * By default it starts `ckube server` and `ckube agent` itself (state in a temporary dir,
 * image: a busybox rootfs directory); with --server URL [--token T] it uses that cluster and
 * its agent's node (--node, default: this host's name, as `ckube server --agent` names it).
 * With --image REF a warm-up pod pulls the image first, so the timed pods find it present.
 *
 * Hollow nodes: `ckube agent --hollow N` (default 1,000) against the same API server; once
 * every Lease has been renewed at least twice, checks that each was on time (no late or
 * failed renewal, each renewTime moved >= 18 s since the first round and is < 12 s old) and
 * reports bench hollow_node_rss_kib = (RSS of the N-node agent - RSS of a 1-node agent) /
 * (N - 1) (goal <= 200 KiB).
 *
 * Everything it makes is named ckbench-*; it deletes its pods, nodes, leases and namespace
 * (or its whole server) before it exits. Needs root for the real agent. */
#include "ckube/client.h"
#include "cmd/bench.h"
#include "cmd/cmd.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/banned.h"

#define NS "ckbench-pods"
#define SEC 1000000000LL

/* SIGINT/SIGTERM: every wait ends early and the cleanup still runs (pods deleted before the
 * agent stops, so no container outlives the bench). */
static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
    interrupted = sig;
}

struct bp {
    struct ck_client_config cc;
    struct ck_client *client;
    const char *node, *image;
    char dir[PATH_MAX], kubeconfig[PATH_MAX], server[256];
    long pods;
    double rate;
    int hollow;
    const char *agent_v; /* -v of the agent it starts (profiling) */
    /* pod start */
    int64_t *created, *running, mono_to_real;
    long nrunning;
    pthread_mutex_t mu;
    volatile int stop;
    bool made_pods; /* some create was sent: clean up */
    char rv[64];
};

/* ---- processes ------------------------------------------------------------------------- */

static pid_t spawn(const char *const *argv, const char *logpath)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        setsid(); /* a terminal's ^C reaches the bench only; it stops the children in order */
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

static void reap(pid_t pid, int secs)
{
    if (pid <= 0 || waitpid(pid, NULL, WNOHANG) != 0)
        return; /* reaped already (or now): nothing to stop */
    kill(pid, SIGTERM);
    for (int i = 0; i < secs * 10; i++) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || r < 0)
            return;
        usleep(100000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* A port free right now on 127.0.0.1 (the kernel's pick; the race with other programs until
 * the child binds it is accepted, as in the test helpers). */
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
    return port ? port : 20000 + (int)(getpid() % 20000);
}

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmRSS:", 6))
            v = atol(line + 6);
    if (f)
        fclose(f);
    return v;
}

static struct ck_client *client_for(const char *url, const char *token)
{
    struct ck_client_config cc = {.server = strdup(url),
                                  .token = token ? strdup(token) : NULL,
                                  .insecure = true,
                                  .qps = 1e6,
                                  .burst = 1000000,
                                  .timeout_ms = 30000};
    struct ck_client *c = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (ck_client_new(&cc, &c, &err) < 0)
        fprintf(stderr, "bench-pods: client %s: %s\n", url, err.msg);
    ck_client_config_release(&cc);
    return c;
}

/* The value of a counter on an agent's /metrics, or -1. */
static long metric(int port, const char *name)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    struct ck_client *c = client_for(url, NULL);
    struct ck_response r = {0};
    struct ck_err err = CK_ERR_INIT;
    long v = -1;
    if (c && ck_client_do(c, "GET", "/metrics", NULL, NULL, 0, &r, &err) == 0 && r.body.data) {
        size_t n = strlen(name);
        for (const char *p = r.body.data; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
            if (!strncmp(p, name, n) && p[n] == ' ')
                v = atol(p + n + 1);
    }
    ck_response_release(&r);
    ck_client_free(c);
    return v;
}

/* ---- cluster ----------------------------------------------------------------------------- */

static bool node_ready(struct bp *b, const char *name)
{
    char path[300];
    snprintf(path, sizeof(path), "/api/v1/nodes/%s", name);
    json_t *n = NULL;
    struct ck_err err = CK_ERR_INIT;
    bool ok = false;
    if (ck_client_get_json(b->client, path, &n, &err) == 0) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(json_object_get(n, "status"), "conditions"), i, c)
        {
            const char *t = json_string_value(json_object_get(c, "type"));
            const char *s = json_string_value(json_object_get(c, "status"));
            ok |= t && s && !strcmp(t, "Ready") && !strcmp(s, "True");
        }
    }
    json_decref(n);
    return ok;
}

static int write_kubeconfig(struct bp *b, const char *token)
{
    snprintf(b->kubeconfig, sizeof(b->kubeconfig), "%s/bench.kubeconfig", b->dir);
    FILE *f = fopen(b->kubeconfig, "w");
    if (!f)
        return -1;
    fprintf(f,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: %s\n"
            "    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n%s%s%s"
            "contexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n",
            b->server, token ? "    token: " : "    {}\n", token ? token : "", token ? "\n" : "");
    return fclose(f);
}

/* A busybox rootfs directory as the image ("dir:<abs path>"): present by construction. */
static int make_rootfs(struct bp *b, char *image, size_t n)
{
    char root[PATH_MAX], p[PATH_MAX + 32];
    snprintf(root, sizeof(root), "%s/rootfs", b->dir);
    static const char *const dirs[] = {"", "/bin", "/etc", "/tmp", "/proc", "/sys", "/dev"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
        snprintf(p, sizeof(p), "%s%s", root, dirs[i]);
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return -1;
    }
    int in = open("/bin/busybox", O_RDONLY | O_CLOEXEC);
    snprintf(p, sizeof(p), "%s/bin/busybox", root);
    int out = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    char buf[65536];
    ssize_t r = in < 0 ? -1 : 0;
    while (in >= 0 && out >= 0 && (r = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)r) != r) {
            r = -1;
            break;
        }
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    if (r < 0 || out < 0) {
        fprintf(stderr, "bench-pods: no static /bin/busybox to build the image from (apt-get "
                        "install busybox-static), or use --image REF\n");
        return -1;
    }
    static const char *const apps[] = {"sh", "sleep", "true"};
    for (size_t i = 0; i < sizeof(apps) / sizeof(*apps); i++) {
        snprintf(p, sizeof(p), "%s/bin/%s", root, apps[i]);
        if (symlink("busybox", p) < 0 && errno != EEXIST)
            return -1;
    }
    snprintf(image, n, "dir:%s", root);
    return 0;
}

/* ---- pod start --------------------------------------------------------------------------- */

static json_t *mk_pod(struct bp *b, const char *name)
{
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}},s:{s:s,s:s,s:I,s:[{s:s,s:s,s:[s,s]}]}}",
                     "apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "namespace", NS,
                     "labels", "ckbench", "pods", "spec", "nodeName", b->node, "restartPolicy",
                     "Always", "terminationGracePeriodSeconds", (json_int_t)1, "containers", "name",
                     "c", "image", b->image, "command", "sleep", "3600");
}

static int on_pod_event(void *arg, json_t *ev)
{
    struct bp *b = arg;
    int64_t now = ck_mono_ns();
    json_t *o = json_object_get(ev, "object");
    const char *name = json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));
    const char *phase = json_string_value(json_object_get(json_object_get(o, "status"), "phase"));
    long idx = -1;
    if (name && !strncmp(name, "ckbench-pod-", 12))
        idx = atol(name + 12);
    if (idx < 0 || idx >= b->pods || !phase || strcmp(phase, "Running"))
        return 0;
    pthread_mutex_lock(&b->mu);
    if (!b->running[idx]) {
        b->running[idx] = now;
        b->nrunning++;
    }
    bool all = b->nrunning >= b->pods;
    pthread_mutex_unlock(&b->mu);
    return all ? 1 : 0;
}

static bool all_running(struct bp *b)
{
    pthread_mutex_lock(&b->mu);
    bool all = b->nrunning >= b->pods;
    pthread_mutex_unlock(&b->mu);
    return all;
}

/* Watches from b->rv until every pod is Running or b->stop. A stream the server ends early
 * (or that breaks) is resumed from a fresh LIST, whose Running pods count as seen then. */
static void *watch_thread(void *arg)
{
    struct bp *b = arg;
    struct ck_client *wc = client_for(b->server, b->cc.token);
    for (int round = 0; wc && round < 100 && !b->stop && !all_running(b); round++) {
        char path[256];
        struct ck_err err = CK_ERR_INIT;
        if (round > 0) {
            json_t *list = NULL, *p;
            size_t i;
            if (ck_client_get_json(wc,
                                   "/api/v1/namespaces/" NS "/pods?labelSelector=ckbench%3Dpods",
                                   &list, &err) < 0) {
                ck_err_clear(&err);
                usleep(200000);
                continue;
            }
            json_array_foreach(json_object_get(list, "items"), i, p)
            {
                json_t *ev = json_pack("{s:s,s:O}", "type", "MODIFIED", "object", p);
                on_pod_event(b, ev);
                json_decref(ev);
            }
            snprintf(b->rv, sizeof(b->rv), "%s",
                     json_string_value(
                         json_object_get(json_object_get(list, "metadata"), "resourceVersion")));
            json_decref(list);
        }
        snprintf(path, sizeof(path),
                 "/api/v1/namespaces/" NS "/pods?watch=1&labelSelector=ckbench%%3Dpods"
                 "&resourceVersion=%s&allowWatchBookmarks=false",
                 b->rv);
        if (ck_client_watch(wc, path, 60000, on_pod_event, b, &b->stop, &err) < 0) {
            fprintf(stderr, "bench-pods: watch: %s (resuming)\n", err.msg);
            usleep(200000);
        }
    }
    ck_client_free(wc);
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Deletes this bench's pods and waits until the agent has removed them (final delete). */
static long delete_pods(struct bp *b, int timeout_s)
{
    json_t *list = NULL;
    struct ck_err err = CK_ERR_INIT;
    long left = -1;
    int fails = 0;
    for (int t = 0; t <= timeout_s * 5; t++) {
        if (ck_client_get_json(b->client,
                               "/api/v1/namespaces/" NS "/pods?labelSelector=ckbench%3Dpods", &list,
                               &err) < 0) {
            if (++fails == 3) { /* the server is gone (each try retried ~3 s): nothing to clean */
                fprintf(stderr, "bench-pods: cleanup: %s\n", err.msg);
                return -1;
            }
            ck_err_clear(&err);
            usleep(200000);
            continue;
        }
        fails = 0;
        json_t *items = json_object_get(list, "items"), *p;
        size_t i;
        left = (long)json_array_size(items);
        json_array_foreach(items, i, p)
        {
            json_t *md = json_object_get(p, "metadata");
            if (json_object_get(md, "deletionTimestamp"))
                continue;
            char path[300];
            snprintf(path, sizeof(path), "/api/v1/namespaces/" NS "/pods/%s",
                     json_string_value(json_object_get(md, "name")));
            ck_client_delete(b->client, path, &err);
            ck_err_clear(&err);
        }
        json_decref(list);
        list = NULL;
        if (left == 0)
            return 0;
        usleep(200000);
    }
    return left;
}

/* Creates the namespace (AlreadyExists is fine) and, with --image, runs one warm-up pod so
 * the image is present. Returns 0 or -1. */
static int prepare(struct bp *b)
{
    struct ck_err err = CK_ERR_INIT;
    json_t *ns = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata",
                           "name", NS);
    if (ck_client_create_json(b->client, "/api/v1/namespaces", ns, NULL, &err) < 0 &&
        err.code != 409) {
        fprintf(stderr, "bench-pods: namespace: %s\n", err.msg);
        json_decref(ns);
        return -1;
    }
    json_decref(ns);
    ck_err_clear(&err);
    for (int i = 0; i < 100; i++) { /* the namespace's default service account */
        if (ck_client_get_json(b->client, "/api/v1/namespaces/" NS "/serviceaccounts/default", NULL,
                               &err) == 0)
            break;
        ck_err_clear(&err);
        usleep(100000);
    }
    b->made_pods = true;
    if (strncmp(b->image, "dir:", 4)) {
        json_t *p = mk_pod(b, "ckbench-warmup");
        int rc = ck_client_create_json(b->client, "/api/v1/namespaces/" NS "/pods", p, NULL, &err);
        json_decref(p);
        bool running = false;
        for (int t = 0; rc == 0 && t < 1200 && !running && !interrupted; t++) {
            json_t *o = NULL;
            if (ck_client_get_json(b->client, "/api/v1/namespaces/" NS "/pods/ckbench-warmup", &o,
                                   &err) == 0) {
                const char *ph =
                    json_string_value(json_object_get(json_object_get(o, "status"), "phase"));
                running = ph && !strcmp(ph, "Running");
            }
            ck_err_clear(&err);
            json_decref(o);
            usleep(100000);
        }
        delete_pods(b, 60);
        if (!running) {
            fprintf(stderr, "bench-pods: warm-up pod with %s never ran\n", b->image);
            return -1;
        }
    }
    return 0;
}

static int bench_pod_start(struct bp *b)
{
    struct ck_err err = CK_ERR_INIT;
    if (prepare(b) < 0)
        return -1;
    json_t *list = NULL;
    if (ck_client_get_json(b->client, "/api/v1/namespaces/" NS "/pods?limit=1", &list, &err) < 0) {
        fprintf(stderr, "bench-pods: list: %s\n", err.msg);
        return -1;
    }
    snprintf(
        b->rv, sizeof(b->rv), "%s",
        json_string_value(json_object_get(json_object_get(list, "metadata"), "resourceVersion")));
    json_decref(list);
    b->created = calloc((size_t)b->pods, sizeof(int64_t));
    b->running = calloc((size_t)b->pods, sizeof(int64_t));
    pthread_t th;
    pthread_create(&th, NULL, watch_thread, b);
    usleep(200000); /* the watch is open before the first create */
    int64_t t0 = ck_mono_ns();
    b->mono_to_real = ck_real_ns() - t0;
    long errors = 0;
    for (long i = 0; i < b->pods && !interrupted; i++) {
        if (b->rate > 0) {
            int64_t due = t0 + (int64_t)((double)i * 1e9 / b->rate), now = ck_mono_ns();
            if (due > now)
                usleep((useconds_t)((due - now) / 1000));
        }
        char name[64];
        snprintf(name, sizeof(name), "ckbench-pod-%ld", i);
        json_t *p = mk_pod(b, name);
        b->created[i] = ck_mono_ns();
        if (ck_client_create_json(b->client, "/api/v1/namespaces/" NS "/pods", p, NULL, &err) < 0) {
            if (!errors++)
                fprintf(stderr, "bench-pods: create %s: %s\n", name, err.msg);
            ck_err_clear(&err);
            b->created[i] = 0;
        }
        json_decref(p);
    }
    int64_t limit = ck_mono_ns() + (60 + b->pods / 2) * SEC;
    long seen = 0;
    while (ck_mono_ns() < limit && !interrupted) {
        pthread_mutex_lock(&b->mu);
        seen = b->nrunning;
        pthread_mutex_unlock(&b->mu);
        if (seen >= b->pods - errors)
            break;
        usleep(50000);
    }
    b->stop = 1;
    pthread_join(th, NULL);
    int64_t *lat = calloc((size_t)b->pods + 1, sizeof(int64_t));
    long n = 0;
    for (long i = 0; i < b->pods; i++)
        if (b->created[i] && b->running[i])
            lat[n++] = b->running[i] - b->created[i];
    if (getenv("CKBENCH_KEEP")) { /* per pod, wall clock: to line up with the agent's log */
        char tp[PATH_MAX + 16];
        snprintf(tp, sizeof(tp), "%s/pods.tsv", b->dir);
        FILE *f = fopen(tp, "w");
        for (long i = 0; f && i < b->pods; i++)
            fprintf(f, "ckbench-pod-%ld\t%.6f\t%.6f\n", i,
                    (double)(b->created[i] + b->mono_to_real) / 1e9,
                    b->running[i] ? (double)(b->running[i] + b->mono_to_real) / 1e9 : 0.0);
        if (f)
            fclose(f);
    }
    qsort(lat, (size_t)n, sizeof(int64_t), cmp_i64);
    double secs = (double)(ck_mono_ns() - t0) / 1e9;
    printf("  %ld pods created (%ld errors) at %s, %ld Running after %.1f s\n", b->pods, errors,
           b->rate > 0 ? "a steady rate" : "full speed", n, secs);
    int rc = -1;
    if (n > 0) {
        /* nearest rank */
        double p50 = (double)lat[(size_t)((n - 1) * 50 / 100)] / 1e6;
        double p99 = (double)lat[(size_t)((n * 99 + 99) / 100 - 1)] / 1e6;
        printf("  create -> Running (watch): min %.1f ms, p50 %.1f ms, p90 %.1f ms, max %.1f ms\n",
               (double)lat[0] / 1e6, p50, (double)lat[(size_t)((n - 1) * 90 / 100)] / 1e6,
               (double)lat[n - 1] / 1e6);
        printf("bench pod_start_p50_ms %.1f ms\n", p50);
        printf("bench pod_start_p99_ms %.1f ms\n", p99);
        printf("  goal p50 <= 150 ms: %s\n", p50 <= 150 ? "met" : "NOT met");
        rc = n == b->pods ? 0 : -1;
    }
    fflush(stdout);
    free(lat);
    long left = delete_pods(b, 120);
    if (left != 0)
        fprintf(stderr, "bench-pods: %ld pods not deleted\n", left);
    return left == 0 ? rc : -1;
}

/* ---- hollow nodes --------------------------------------------------------------------------- */

static pid_t run_hollow(struct bp *b, int n, const char *prefix, int port)
{
    char nn[16], pa[16], logp[PATH_MAX + 32];
    snprintf(nn, sizeof(nn), "%d", n);
    snprintf(pa, sizeof(pa), "%d", port);
    snprintf(logp, sizeof(logp), "%s/%s.log", b->dir, prefix);
    const char *argv[] = {"ckube", "agent",       "--kubeconfig", b->kubeconfig,    "--hollow",
                          nn,      "--node-name", prefix,         "--healthz-port", pa,
                          NULL};
    return spawn(argv, logp);
}

/* Waits until the agent (pid, port) has counted at least want lease writes; false on
 * timeout or when the agent exited. */
static bool wait_renewals(pid_t pid, int port, long want, int timeout_s)
{
    for (int64_t end = ck_mono_ns() + timeout_s * SEC; ck_mono_ns() < end && !interrupted;) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            fprintf(stderr, "bench-pods: hollow agent %d exited\n", (int)pid);
            return false;
        }
        if (metric(port, "ckube_agent_lease_renewals_total") >= want)
            return true;
        usleep(250000);
    }
    return false;
}

/* renewTime (seconds) of every Lease named <prefix>-*, into t[idx]; returns how many. */
static long lease_times(struct bp *b, const char *prefix, time_t *t, int n)
{
    json_t *list = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (ck_client_get_json(b->client,
                           "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", &list,
                           &err) < 0)
        return -1;
    size_t plen = strlen(prefix), i;
    long found = 0;
    json_t *l;
    json_array_foreach(json_object_get(list, "items"), i, l)
    {
        const char *name =
            json_string_value(json_object_get(json_object_get(l, "metadata"), "name"));
        const char *rt =
            json_string_value(json_object_get(json_object_get(l, "spec"), "renewTime"));
        if (!name || strncmp(name, prefix, plen) || name[plen] != '-' || !rt)
            continue;
        int idx = atoi(name + plen + 1);
        if (idx >= 0 && idx < n && ck_time_parse_rfc3339(rt, &t[idx]) == 0)
            found++;
    }
    json_decref(list);
    return found;
}

/* Deletes the Nodes and Leases named <prefix>-<i> that a hollow agent registered. */
static void delete_hollow(struct bp *b, const char *prefix, int n)
{
    for (int i = 0; i < n; i++) {
        char path[300];
        struct ck_err err = CK_ERR_INIT;
        snprintf(path, sizeof(path), "/api/v1/nodes/%s-%d", prefix, i);
        ck_client_delete(b->client, path, &err);
        ck_err_clear(&err);
        snprintf(path, sizeof(path),
                 "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%s-%d", prefix, i);
        ck_client_delete(b->client, path, &err);
        ck_err_clear(&err);
    }
}

static int bench_hollow(struct bp *b)
{
    int n = b->hollow, rc = -1;
    char one[64], many[64];
    snprintf(one, sizeof(one), "ckbench-h1-%d", (int)getpid());
    snprintf(many, sizeof(many), "ckbench-hollow-%d", (int)getpid());
    time_t *first = calloc((size_t)n, sizeof(time_t)), *last = calloc((size_t)n, sizeof(time_t));
    printf("hollow nodes: %d in one agent, vs a 1-node agent\n", n);
    fflush(stdout);
    int p1 = free_port();
    pid_t a1 = run_hollow(b, 1, one, p1);
    pid_t an = 0;
    if (!wait_renewals(a1, p1, 1, 30)) {
        fprintf(stderr, "bench-pods: the 1-node hollow agent never wrote its lease\n");
        goto out;
    }
    sleep(2);
    long base = rss_kib(a1);
    int pn = free_port();
    if (pn == p1)
        pn++;
    int64_t t0 = ck_mono_ns();
    an = run_hollow(b, n, many, pn);
    if (!wait_renewals(an, pn, n, 120)) {
        fprintf(stderr, "bench-pods: %d hollow nodes did not all write a lease in 120 s\n", n);
        goto out;
    }
    printf("  %d nodes registered with a lease after %.1f s\n", n,
           (double)(ck_mono_ns() - t0) / 1e9);
    fflush(stdout);
    long got = lease_times(b, many, first, n);
    /* the first write creates the lease; two renewals more for every node */
    bool twice = wait_renewals(an, pn, 3L * n, 45);
    sleep(1);
    long late = metric(pn, "ckube_agent_lease_late_total");
    long errors = metric(pn, "ckube_agent_lease_errors_total");
    long renewals = metric(pn, "ckube_agent_lease_renewals_total");
    long rss = rss_kib(an);
    time_t now = time(NULL);
    long got2 = lease_times(b, many, last, n);
    long moved = 0, fresh = 0;
    for (int i = 0; i < n; i++) {
        moved += last[i] - first[i] >= 18;
        fresh += now - last[i] < 12;
    }
    double per = (double)(rss - base) / (n > 1 ? n - 1 : 1);
    printf("  lease writes %ld (>= %d wanted), late %ld, errors %ld; %ld of %d leases renewed "
           "twice, %ld younger than 12 s\n",
           renewals, 3 * n, late, errors, moved, n, fresh);
    printf("  agent RSS %ld KiB with %d nodes, %ld KiB with 1\n", rss, n, base);
    printf("bench hollow_node_rss_kib %.1f KiB\n", per);
    printf("  goal <= 200 KiB per hollow node: %s\n", per <= 200 ? "met" : "NOT met");
    fflush(stdout);
    if (got != n || got2 != n || !twice || late != 0 || errors != 0 || moved != n || fresh != n)
        fprintf(stderr, "bench-pods: hollow leases not all renewed on time (see above)\n");
    else
        rc = 0;
out:
    reap(an, 30);
    reap(a1, 10);
    delete_hollow(b, many, n);
    delete_hollow(b, one, 1);
    free(first);
    free(last);
    return rc;
}

/* The last lines of dir/name on stderr (a failed run removes its dir). */
static void log_tail(const char *dir, const char *name)
{
    char p[PATH_MAX + 32], buf[2048];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    if (!f)
        return;
    if (fseek(f, -(long)sizeof(buf) + 1, SEEK_END) != 0)
        rewind(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    fprintf(stderr, "bench-pods: end of %s:\n%s\n", name, buf);
}

static int usage(void)
{
    fprintf(stderr,
            "usage: ckube bench pods [--pods N] [--rate PODS_PER_S (0: all at once)]\n"
            "                        [--image REF] [--hollow N (0: skip)] [--no-pods]\n"
            "                        [--server URL [--token T] [--node NAME]] [--agent-v N]\n"
            "CKBENCH_KEEP=1 keeps the state dir (logs, pods.tsv: per pod create and Running "
            "times)\n");
    return 2;
}

int cmd_bench_pods(int argc, char **argv)
{
    struct bp b = {.pods = 100, .rate = 10, .hollow = 1000};
    const char *server = NULL, *token = NULL, *v;
    bool pods = true;
    char host[256] = "", image[PATH_MAX + 8] = "";
    for (int i = 1; i < argc; i++) {
        if ((v = ck_flag_value(argc, argv, &i, "--pods")))
            b.pods = atol(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--rate")))
            b.rate = atof(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--image")))
            b.image = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--hollow")))
            b.hollow = atoi(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--server")))
            server = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--token")))
            token = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--node")))
            b.node = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--agent-v")))
            b.agent_v = v;
        else if (!strcmp(argv[i], "--no-pods"))
            pods = false;
        else if (!ck_log_parse_flag(argc, argv, &i))
            return usage();
    }
    if (b.pods < 1 || b.hollow < 0 || b.rate < 0)
        return usage();
    pthread_mutex_init(&b.mu, NULL);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    snprintf(b.dir, sizeof(b.dir), "/tmp/ckbench-pods.XXXXXX");
    if (!mkdtemp(b.dir)) {
        perror("bench-pods: mkdtemp");
        return 1;
    }
    pid_t srv = 0, agent = 0;
    char agent_node[64];
    int rc = 1;
    if (!server) {
        int port = free_port();
        char portarg[16], data[PATH_MAX + 8], logp[PATH_MAX + 16];
        snprintf(portarg, sizeof(portarg), "%d", port);
        snprintf(data, sizeof(data), "%s/data", b.dir);
        snprintf(logp, sizeof(logp), "%s/server.log", b.dir);
        const char *sargv[] = {"ckube", "server",          "--data-dir", data, "--secure-port",
                               "0",     "--insecure-port", portarg,      NULL};
        srv = spawn(sargv, logp);
        snprintf(b.server, sizeof(b.server), "http://127.0.0.1:%d", port);
    } else {
        snprintf(b.server, sizeof(b.server), "%s", server);
    }
    b.cc.token = token ? strdup(token) : NULL;
    if (!(b.client = client_for(b.server, token)) || write_kubeconfig(&b, token) != 0)
        goto out;
    bool up = false;
    for (int64_t end = ck_mono_ns() + 60 * SEC; !up && ck_mono_ns() < end && !interrupted;) {
        struct ck_err e2 = CK_ERR_INIT;
        if (!(up = ck_client_do(b.client, "GET", "/readyz", NULL, NULL, 0, NULL, &e2) == 0)) {
            if (srv > 0 && waitpid(srv, NULL, WNOHANG) == srv) {
                srv = 0;
                break;
            }
            usleep(100000);
        }
    }
    if (!up) {
        fprintf(stderr, "bench-pods: the API server at %s is not ready\n", b.server);
        goto out;
    }
    printf("bench-pods: server %s%s, state in %s\n", b.server, server ? "" : " (started here)",
           b.dir);
    fflush(stdout);
    if (pods) {
        if (!server) {
            snprintf(agent_node, sizeof(agent_node), "ckbench-node-%d", (int)getpid());
            b.node = agent_node;
            char root[PATH_MAX + 8], logp[PATH_MAX + 16];
            snprintf(root, sizeof(root), "%s/agent", b.dir);
            snprintf(logp, sizeof(logp), "%s/agent.log", b.dir);
            const char *aargv[] = {"ckube",
                                   "agent",
                                   "--kubeconfig",
                                   b.kubeconfig,
                                   "--node-name",
                                   agent_node,
                                   "--root",
                                   root,
                                   "--healthz-port",
                                   "-1",
                                   b.agent_v ? "-v" : NULL,
                                   b.agent_v,
                                   NULL};
            agent = spawn(aargv, logp);
        } else if (!b.node) {
            gethostname(host, sizeof(host) - 1);
            b.node = host;
        }
        if (!b.image) {
            if (make_rootfs(&b, image, sizeof(image)) < 0)
                goto out;
            b.image = image;
        }
        bool ready = false;
        for (int64_t end = ck_mono_ns() + 60 * SEC;
             !(ready = node_ready(&b, b.node)) && ck_mono_ns() < end && !interrupted;) {
            if (agent > 0 && waitpid(agent, NULL, WNOHANG) == agent) {
                agent = 0;
                break;
            }
            usleep(100000);
        }
        if (!ready) {
            fprintf(stderr, "bench-pods: node %s is not Ready\n", b.node);
            goto out;
        }
        printf("pod start: %ld pods on node %s, image %s, %.0f pods/s\n", b.pods, b.node, b.image,
               b.rate);
        fflush(stdout);
        if (bench_pod_start(&b) < 0)
            goto out;
    }
    if (b.hollow > 0 && !interrupted && bench_hollow(&b) < 0)
        goto out;
    rc = interrupted ? 1 : 0;
out:
    if (b.client && b.made_pods)
        delete_pods(&b, 60);
    if (b.client && server) {
        struct ck_err e2 = CK_ERR_INIT;
        ck_client_delete(b.client, "/api/v1/namespaces/" NS, &e2);
    }
    reap(agent, 30);
    reap(srv, 20);
    ck_client_free(b.client);
    free(b.created);
    free(b.running);
    free(b.cc.token);
    if (rc != 0) {
        log_tail(b.dir, "server.log");
        log_tail(b.dir, "agent.log");
    }
    if (!getenv("CKBENCH_KEEP")) { /* CKBENCH_KEEP=1 keeps the logs and state */
        char cmd[PATH_MAX + 32];
        snprintf(cmd, sizeof(cmd), "rm -rf --one-file-system '%s'", b.dir);
        if (system(cmd) != 0)
            ck_warn("bench-pods: could not remove %s", b.dir);
    } else {
        fprintf(stderr, "bench-pods: logs and state kept in %s\n", b.dir);
    }
    return rc;
}
