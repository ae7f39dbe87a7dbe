/* SPDX-License-Identifier: Apache-2.0 */
/* `ckube bench scheduler`: Node objects
 * with capacity, pods with requests, then the time until every pod is bound. Workload 1: plain
 * pods; workload 2: 20% of the pods carry a zone topology spread constraint (half of them) or
 * a hostname pod anti-affinity (the other half). By default it starts its own API server and
 * runs the scheduler in this process (pods created first, then the scheduler is started and
 * timed until the last binding); with --server URL [--token T] --external it only creates the
 * objects and times the bindings made by whatever scheduler runs there (from the first create
 * to the last pod seen bound, by a watch on the round's pods). --no-events turns the
 * in-process scheduler's Events off (to measure what they cost the API server);
 * --workload basic|spread runs one workload only; --timeout S bounds each workload's wait
 * (default 600). Machine lines: bench sched_pods_per_s,
 * sched_p99_ms, sched_spread_pods_per_s. */
#include "ckube/client.h"
#include "ckube/informer.h"
#include "cmd/bench.h"
#include "cmd/cmd.h"
#include "lib/log.h"
#include "lib/strmap.h"
#include "lib/timeutil.h"
#include "scheduler/sched.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/banned.h"

struct bs {
    struct ck_client *client;
    bool no_events;
    int bind_workers; /* 0: the scheduler's default */
    long timeout_s;   /* how long a workload may wait for its bindings */
    char run[24];     /* external: "<pid>-", so reruns against one cluster do not collide */
    long nodes, pods, threads;
    int spread_pct;
    const char *ns;
    int round;
};

struct range {
    struct bs *b;
    long from, to;
    int kind; /* 0 nodes, 1 pods */
    long errors;
};

static json_t *mk_node(long i)
{
    char name[64], zone[32];
    snprintf(name, sizeof(name), "bench-node-%ld", i);
    snprintf(zone, sizeof(zone), "zone-%ld", i % 10);
    return json_pack(
        "{s:s,s:s,s:{s:s,s:{s:s,s:s}},s:{s:{s:s,s:s,s:s},s:{s:s,s:s,s:s},s:[{s:s,s:s}]}}",
        "apiVersion", "v1", "kind", "Node", "metadata", "name", name, "labels",
        "kubernetes.io/hostname", name, "topology.kubernetes.io/zone", zone, "status", "capacity",
        "cpu", "32", "memory", "256Gi", "pods", "110", "allocatable", "cpu", "32", "memory",
        "256Gi", "pods", "110", "conditions", "type", "Ready", "status", "True");
}

static json_t *mk_pod(struct bs *b, long i)
{
    char name[96], group[64];
    snprintf(name, sizeof(name), "sched-%s%d-%ld", b->run, b->round, i);
    char round[40];
    snprintf(round, sizeof(round), "%s%d", b->run, b->round);
    json_t *pod = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}},s:{s:[{s:s,s:s,s:{s:{s:s,s:s}}}]}}",
                            "apiVersion", "v1", "kind", "Pod", "metadata", "name", name,
                            "namespace", b->ns, "labels", "ckube-bench-round", round, "spec",
                            "containers", "name", "c", "image", "registry.k8s.io/pause:3.10",
                            "resources", "requests", "cpu", "100m", "memory", "128Mi");
    long special = b->spread_pct ? 100 / b->spread_pct : 0;
    if (special && i % special == 0) {
        json_t *labels = json_object_get(json_object_get(pod, "metadata"), "labels");
        json_t *spec = json_object_get(pod, "spec");
        snprintf(group, sizeof(group), "g-%s%d-%ld", b->run, b->round, (i / special) % 20);
        json_object_set_new(labels, "app", json_string(group));
        if ((i / special) % 2 == 0) {
            json_object_set_new(spec, "topologySpreadConstraints",
                                json_pack("[{s:i,s:s,s:s,s:{s:{s:s}}}]", "maxSkew", 1,
                                          "topologyKey", "topology.kubernetes.io/zone",
                                          "whenUnsatisfiable", "DoNotSchedule", "labelSelector",
                                          "matchLabels", "app", group));
        } else {
            json_object_set_new(spec, "affinity",
                                json_pack("{s:{s:[{s:{s:{s:s}},s:s}]}}", "podAntiAffinity",
                                          "requiredDuringSchedulingIgnoredDuringExecution",
                                          "labelSelector", "matchLabels", "app", group,
                                          "topologyKey", "kubernetes.io/hostname"));
        }
    }
    return pod;
}

static void *create_range(void *arg)
{
    struct range *r = arg;
    char path[256];
    for (long i = r->from; i < r->to; i++) {
        json_t *o = r->kind == 0 ? mk_node(i) : mk_pod(r->b, i);
        struct ck_err err = CK_ERR_INIT;
        if (r->kind == 0) {
            json_t *status = json_pack("{s:O}", "status", json_object_get(o, "status"));
            snprintf(path, sizeof(path), "/api/v1/nodes/bench-node-%ld/status", i);
            if (ck_client_create_json(r->b->client, "/api/v1/nodes", o, NULL, &err) < 0 ||
                ck_client_patch_json(r->b->client, path, "application/merge-patch+json", status,
                                     NULL, &err) < 0)
                r->errors++;
            json_decref(status);
        } else {
            snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods", r->b->ns);
            if (ck_client_create_json(r->b->client, path, o, NULL, &err) < 0)
                r->errors++;
        }
        if (err.msg[0] && r->errors == 1)
            fprintf(stderr, "bench-scheduler: create: %s\n", err.msg);
        json_decref(o);
    }
    return NULL;
}

static long create_all(struct bs *b, int kind, long n)
{
    long t = b->threads;
    pthread_t *th = calloc((size_t)t, sizeof(pthread_t));
    struct range *r = calloc((size_t)t, sizeof(struct range));
    for (long k = 0; k < t; k++) {
        r[k] = (struct range){b, n * k / t, n * (k + 1) / t, kind, 0};
        pthread_create(&th[k], NULL, create_range, &r[k]);
    }
    long errors = 0;
    for (long k = 0; k < t; k++) {
        pthread_join(th[k], NULL);
        errors += r[k].errors;
    }
    free(th);
    free(r);
    return errors;
}

/* Pods of this round seen bound by a watch (external mode). */
struct bound_watch {
    struct ck_strmap seen; /* pod names counted (the informer's thread only) */
    atomic_long n;
};

static void bw_check(void *arg, json_t *pod)
{
    struct bound_watch *w = arg;
    const char *name = json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
    const char *node = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
    if (name && node && *node && !ck_strmap_get(&w->seen, name, NULL)) {
        ck_strmap_put(&w->seen, name, (void *)1);
        atomic_fetch_add(&w->n, 1);
    }
}

static void bw_update(void *arg, json_t *old, json_t *pod)
{
    (void)old;
    bw_check(arg, pod);
}

/* One workload; returns pods/s (and the p99 attempt latency in ms, in-process only). */
static double workload(struct bs *b, bool external, double *p99)
{
    *p99 = -1;
    if (external) {
        /* watch this round's pods (by label) before creating them */
        char path[256], sel[64];
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods", b->ns);
        snprintf(sel, sizeof(sel), "ckube-bench-round=%s%d", b->run, b->round);
        struct bound_watch w = {.seen = CK_STRMAP_INIT};
        atomic_init(&w.n, 0);
        struct ck_informer *inf = ck_informer_new(
            b->client, &(struct ck_informer_opts){.path = path, .label_selector = sel});
        ck_informer_add_handlers(inf,
                                 &(struct ck_informer_handlers){bw_check, bw_update, NULL, &w});
        ck_informer_start(inf);
        ck_informer_wait_synced(inf, 60000);
        int64_t t0 = ck_mono_ns();
        long errs = create_all(b, 1, b->pods);
        long bound = 0;
        for (long i = 0; i < b->timeout_s * 1000 && bound < b->pods - errs; i++) {
            usleep(1000);
            bound = atomic_load(&w.n);
        }
        double s = (double)(ck_mono_ns() - t0) / 1e9;
        printf("  round %d: %ld of %ld pods bound by the cluster's scheduler in %.3f s (%ld "
               "create errors)\n",
               b->round, bound, b->pods, s, errs);
        fflush(stdout);
        ck_informer_stop(inf);
        ck_informer_free(inf);
        ck_strmap_release(&w.seen);
        return bound >= b->pods - errs && bound > 0 ? (double)bound / s : 0;
    }
    long errs = create_all(b, 1, b->pods);
    if (errs)
        fprintf(stderr, "bench-scheduler: %ld pod creates failed\n", errs);
    struct ck_err err = CK_ERR_INIT;
    struct sch_opts o = {
        .client = b->client, .no_events = b->no_events, .bind_workers = b->bind_workers};
    struct sch_sched *s = sch_sched_new(&o, &err);
    if (!s || sch_sched_start_informers(s, 120000, &err) < 0) {
        fprintf(stderr, "bench-scheduler: %s\n", err.msg);
        sch_sched_free(s);
        return 0;
    }
    printf("  round %d: %ld pods created, scheduler synced; scheduling\n", b->round, b->pods);
    fflush(stdout);
    int64_t t0 = ck_mono_ns();
    sch_sched_run(s);
    struct sch_counters c = {0};
    while (ck_mono_ns() - t0 < b->timeout_s * 1000000000LL) {
        sch_sched_counters(s, &c);
        if (c.bound >= b->pods - errs)
            break;
        usleep(1000);
    }
    double secs = (double)(ck_mono_ns() - t0) / 1e9;
    *p99 = sch_sched_latency_ms(s, 0.99);
    printf("  round %d: %ld bound in %.3f s (attempts %ld: %ld scheduled, %ld unschedulable, %ld "
           "errors; bind errors %ld)\n",
           b->round, c.bound, secs, c.attempts, c.scheduled, c.unschedulable, c.errors,
           c.bind_errors);
    fflush(stdout);
    sch_sched_free(s);
    return c.bound >= b->pods - errs ? (double)c.bound / secs : 0;
}

/* A loopback port nobody listens on now (the kernel's pick). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static pid_t start_apiserver(char *url, size_t urllen, char *dir, size_t dirlen)
{
    snprintf(dir, dirlen, "/tmp/ckube-bench-sched.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    int port = free_port();
    if (port < 0)
        return -1;
    snprintf(url, urllen, "http://127.0.0.1:%d", port);
    char portarg[16];
    snprintf(portarg, sizeof(portarg), "%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        char logp[300];
        snprintf(logp, sizeof(logp), "%s/apiserver.log", dir);
        if (!freopen(logp, "w", stderr))
            _exit(127);
        execl("/proc/self/exe", "ckube", "apiserver", "--data-dir", dir, "--secure-port", "0",
              "--insecure-port", portarg, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int usage(void)
{
    fprintf(stderr, "usage: ckube bench scheduler [--nodes N] [--pods P] [--threads T]\n"
                    "                             [--workload basic|spread|both] [--no-events]\n"
                    "                             [--timeout SECONDS] [--namespace NS]\n"
                    "                             [--bind-workers N]\n"
                    "                             [--server URL [--token T] --external]\n");
    return 2;
}

int cmd_bench_scheduler(int argc, char **argv)
{
    struct bs b = {.nodes = 5000,
                   .pods = 10000,
                   .threads = 16,
                   .spread_pct = 20,
                   .ns = "default",
                   .timeout_s = 600};
    const char *server = NULL, *token = NULL, *v, *only = "both";
    bool external = false;
    for (int i = 1; i < argc; i++) {
        if ((v = ck_flag_value(argc, argv, &i, "--nodes")))
            b.nodes = atol(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--pods")))
            b.pods = atol(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--threads")))
            b.threads = atol(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--server")))
            server = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--token")))
            token = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--workload")))
            only = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--namespace")))
            b.ns = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--timeout")))
            b.timeout_s = atol(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--bind-workers")))
            b.bind_workers = atoi(v);
        else if (!strcmp(argv[i], "--no-events"))
            b.no_events = true;
        else if (!strcmp(argv[i], "--external"))
            external = true;
        else if (!ck_log_parse_flag(argc, argv, &i))
            return usage();
    }
    bool run_basic = !strcmp(only, "both") || !strcmp(only, "basic");
    bool run_spread = !strcmp(only, "both") || !strcmp(only, "spread");
    if (b.nodes < 1 || b.pods < 1 || b.threads < 1 || b.timeout_s < 1 || (external && !server) ||
        (!run_basic && !run_spread))
        return usage();
    if (external)
        snprintf(b.run, sizeof(b.run), "%d-", (int)getpid());
    char url[256] = "", dir[256] = "";
    pid_t child = 0;
    if (!server) {
        child = start_apiserver(url, sizeof(url), dir, sizeof(dir));
        if (child < 0) {
            fprintf(stderr, "bench-scheduler: cannot start an API server\n");
            if (*dir)
                rmdir(dir);
            return 1;
        }
        server = url;
    }
    struct ck_client_config cc = {.server = strdup(server),
                                  .token = token ? strdup(token) : NULL,
                                  .insecure = true,
                                  .qps = 1e6,
                                  .burst = 1000000,
                                  .timeout_ms = 60000};
    struct ck_err err = CK_ERR_INIT;
    int rc = 1;
    if (ck_client_new(&cc, &b.client, &err) < 0) {
        fprintf(stderr, "bench-scheduler: %s\n", err.msg);
        goto out;
    }
    bool ready = false;
    for (int i = 0; i < 400 && !ready; i++) {
        struct ck_err e2 = CK_ERR_INIT;
        ready = ck_client_do(b.client, "GET", "/readyz", NULL, NULL, 0, NULL, &e2) == 0;
        if (!ready)
            usleep(50000);
    }
    if (!ready) {
        fprintf(stderr, "bench-scheduler: %s is not ready after 20 s\n", server);
        goto out;
    }
    printf("bench-scheduler: %ld nodes, %ld pods per workload, server %s%s\n", b.nodes, b.pods,
           server, external ? " (external scheduler)" : "");
    fflush(stdout);
    int64_t t0 = ck_mono_ns();
    long errs = create_all(&b, 0, b.nodes);
    printf("  %ld nodes created in %.2f s (%ld errors)\n", b.nodes,
           (double)(ck_mono_ns() - t0) / 1e9, errs);
    fflush(stdout);
    b.spread_pct = 0;
    b.round = 1;
    double p99 = -1, p99b = -1, basic = -1, spread = -1;
    if (run_basic)
        basic = workload(&b, external, &p99);
    b.spread_pct = 20;
    b.round = 2;
    if (run_spread)
        spread = workload(&b, external, &p99b);
    printf("\n");
    if (run_basic) {
        printf("bench sched_pods_per_s %.1f 1/s\n", basic);
        printf("bench sched_p99_ms %.2f ms\n", p99);
    }
    if (run_spread)
        printf("bench sched_spread_pods_per_s %.1f 1/s\n", spread);
    rc = basic != 0 && spread != 0 ? 0 : 1;
out:
    ck_client_free(b.client);
    ck_client_config_release(&cc);
    if (child > 0) {
        kill(child, SIGTERM);
        waitpid(child, NULL, 0);
        char cmd[320];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            ck_warn("bench-scheduler: could not remove %s", dir);
    }
    return rc;
}
