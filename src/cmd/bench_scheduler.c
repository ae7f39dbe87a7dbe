/* SPDX-License-Identifier: Apache-2.0 */
/* `ckube bench scheduler`: Node objects
 * with capacity, pods with requests, then the time until every pod is bound. Workload 1: plain
 * pods; workload 2: 20% of the pods carry a zone topology spread constraint (half of them) or
 * a hostname pod anti-affinity (the other half). By default it starts its own API server and
 * runs the scheduler in this process (pods created first, then the scheduler is started and
 * timed until the last binding); with --server URL [--token T] --external it only creates the
 * objects and times the bindings made by whatever scheduler runs there (from the first create
 * to the last pod seen bound). Machine lines: bench sched_pods_per_s, sched_p99_ms,
 * sched_spread_pods_per_s. */
#include "ckube/client.h"
#include "cmd/bench.h"
#include "cmd/cmd.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "scheduler/sched.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/banned.h"

struct bs {
    struct ck_client *client;
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
    char name[64], group[32];
    snprintf(name, sizeof(name), "sched-%d-%ld", b->round, i);
    json_t *pod =
        json_pack("{s:s,s:s,s:{s:s,s:s,s:{}},s:{s:[{s:s,s:s,s:{s:{s:s,s:s}}}]}}", "apiVersion",
                  "v1", "kind", "Pod", "metadata", "name", name, "namespace", b->ns, "labels",
                  "spec", "containers", "name", "c", "image", "registry.k8s.io/pause:3.10",
                  "resources", "requests", "cpu", "100m", "memory", "128Mi");
    long special = b->spread_pct ? 100 / b->spread_pct : 0;
    if (special && i % special == 0) {
        json_t *labels = json_object_get(json_object_get(pod, "metadata"), "labels");
        json_t *spec = json_object_get(pod, "spec");
        snprintf(group, sizeof(group), "g-%d-%ld", b->round, (i / special) % 20);
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

/* Pods of this round bound, by LIST. */
static long count_bound(struct bs *b)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods", b->ns);
    json_t *list = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (ck_client_get_json(b->client, path, &list, &err) < 0)
        return -1;
    long n = 0;
    size_t i;
    json_t *p;
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "sched-%d-", b->round);
    json_array_foreach(json_object_get(list, "items"), i, p)
    {
        const char *name =
            json_string_value(json_object_get(json_object_get(p, "metadata"), "name"));
        const char *node =
            json_string_value(json_object_get(json_object_get(p, "spec"), "nodeName"));
        n += name && !strncmp(name, prefix, strlen(prefix)) && node && *node;
    }
    json_decref(list);
    return n;
}

/* One workload; returns pods/s (and the p99 attempt latency in ms, in-process only). */
static double workload(struct bs *b, bool external, double *p99)
{
    *p99 = -1;
    if (external) {
        int64_t t0 = ck_mono_ns();
        create_all(b, 1, b->pods);
        long bound = 0;
        for (int i = 0; i < 6000 && bound < b->pods; i++) {
            usleep(100000);
            bound = count_bound(b);
        }
        double s = (double)(ck_mono_ns() - t0) / 1e9;
        return bound >= b->pods ? (double)b->pods / s : 0;
    }
    long errs = create_all(b, 1, b->pods);
    if (errs)
        fprintf(stderr, "bench-scheduler: %ld pod creates failed\n", errs);
    struct ck_err err = CK_ERR_INIT;
    struct sch_opts o = {.client = b->client};
    struct sch_sched *s = sch_sched_new(&o, &err);
    if (!s || sch_sched_start_informers(s, 120000, &err) < 0) {
        fprintf(stderr, "bench-scheduler: %s\n", err.msg);
        sch_sched_free(s);
        return 0;
    }
    int64_t t0 = ck_mono_ns();
    sch_sched_run(s);
    struct sch_counters c = {0};
    while (ck_mono_ns() - t0 < 600000000000LL) {
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

static pid_t start_apiserver(char *url, size_t urllen, char *dir, size_t dirlen)
{
    snprintf(dir, dirlen, "/tmp/ckube-bench-sched.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    int port = 20000 + (int)(getpid() % 20000);
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
                    "                             [--server URL [--token T] --external]\n");
    return 2;
}

int cmd_bench_scheduler(int argc, char **argv)
{
    struct bs b = {.nodes = 5000, .pods = 10000, .threads = 16, .spread_pct = 20, .ns = "default"};
    const char *server = NULL, *token = NULL, *v;
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
        else if (!strcmp(argv[i], "--external"))
            external = true;
        else if (!ck_log_parse_flag(argc, argv, &i))
            return usage();
    }
    if (b.nodes < 1 || b.pods < 1 || b.threads < 1 || (external && !server))
        return usage();
    char url[256], dir[256] = "";
    pid_t child = 0;
    if (!server) {
        child = start_apiserver(url, sizeof(url), dir, sizeof(dir));
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
    for (int i = 0; i < 200; i++) {
        struct ck_err e2 = CK_ERR_INIT;
        if (ck_client_do(b.client, "GET", "/readyz", NULL, NULL, 0, NULL, &e2) == 0)
            break;
        usleep(50000);
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
    double p99, p99b;
    double basic = workload(&b, external, &p99);
    b.spread_pct = 20;
    b.round = 2;
    double spread = workload(&b, external, &p99b);
    printf("\nbench sched_pods_per_s %.1f 1/s\n", basic);
    printf("bench sched_p99_ms %.2f ms\n", p99);
    printf("bench sched_spread_pods_per_s %.1f 1/s\n", spread);
    rc = basic > 0 && spread > 0 ? 0 : 1;
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
