/* SPDX-License-Identifier: Apache-2.0 */
/* `ckube bench controllers`: the controller manager at work with the scheduler and hollow
 * nodes. By default it starts `ckube server --agent-hollow N --scheduler --controllers` on a
 * temporary data dir (plain HTTP on loopback); with --server URL [--token T] it uses a running
 * cluster that already has nodes, a scheduler and a controller manager.
 *  1. a Deployment of --replicas (1,000) pods: from the create to status.readyReplicas equal to
 *     it: `bench deploy_1000_ready_s`;
 *  2. a Deployment of --gc-pods (10,000) pods, once all are Ready: from a DELETE with
 *     propagationPolicy Foreground to the Deployment gone (the garbage collector deletes the
 *     ReplicaSet's pods first, then the ReplicaSet, then the Deployment): `bench
 *     gc_cascade_10k_s`. Both runs are bounded by --timeout (seconds, default 300). */
#include "ckube/client.h"
#include "cmd/bench.h"
#include "cmd/cmd.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/banned.h"

#define NS "default"

struct bc {
    struct ck_client *client;
    long nodes, replicas, gc_pods;
    int timeout_s;
};

static pid_t start_cluster(const struct bc *b, char *url, size_t urllen, char *dir, size_t dirlen)
{
    snprintf(dir, dirlen, "/tmp/ckube-bench-ctrl.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    int port = 20000 + (int)(getpid() % 20000);
    snprintf(url, urllen, "http://127.0.0.1:%d", port);
    char portarg[16], hollow[24], data[300];
    snprintf(portarg, sizeof(portarg), "%d", port);
    snprintf(hollow, sizeof(hollow), "%ld", b->nodes);
    snprintf(data, sizeof(data), "%s/data", dir);
    pid_t pid = fork();
    if (pid == 0) {
        char logp[300];
        snprintf(logp, sizeof(logp), "%s/server.log", dir);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (!freopen(logp, "w", stderr) || !freopen("/dev/null", "w", stdout))
            _exit(127);
        execl("/proc/self/exe", "ckube", "server", "--data-dir", data, "--secure-port", "0",
              "--insecure-port", portarg, "--agent-hollow", hollow, "--scheduler", "--controllers",
              (char *)NULL);
        _exit(127);
    }
    return pid;
}

static long ready_nodes(struct bc *b)
{
    json_t *l = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (ck_client_get_json(b->client, "/api/v1/nodes", &l, &err) < 0)
        return -1;
    long n = 0;
    size_t i, j;
    json_t *node, *c;
    json_array_foreach(json_object_get(l, "items"), i, node)
    {
        json_array_foreach(json_object_get(json_object_get(node, "status"), "conditions"), j, c)
        {
            const char *t = json_string_value(json_object_get(c, "type"));
            const char *s = json_string_value(json_object_get(c, "status"));
            if (t && s && !strcmp(t, "Ready") && !strcmp(s, "True"))
                n++;
        }
    }
    json_decref(l);
    return n;
}

static int create_deployment(struct bc *b, const char *name, long replicas)
{
    json_t *d =
        json_pack("{s:s,s:s,s:{s:s},s:{s:I,s:{s:{s:s}},s:{s:{s:{s:s}},s:{s:[{s:s,s:s}],s:I}}}}",
                  "apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name", name, "spec",
                  "replicas", (json_int_t)replicas, "selector", "matchLabels", "app", name,
                  "template", "metadata", "labels", "app", name, "spec", "containers", "name", "c",
                  "image", "busybox", "terminationGracePeriodSeconds", (json_int_t)0);
    struct ck_err err = CK_ERR_INIT;
    int rc = ck_client_create_json(b->client, "/apis/apps/v1/namespaces/" NS "/deployments", d,
                                   NULL, &err);
    if (rc < 0)
        fprintf(stderr, "bench-controllers: create deployment %s: %s\n", name, err.msg);
    json_decref(d);
    return rc;
}

/* -1: gone; else status.readyReplicas. */
static long ready_replicas(struct bc *b, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "/apis/apps/v1/namespaces/" NS "/deployments/%s", name);
    json_t *d = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (ck_client_get_json(b->client, path, &d, &err) < 0)
        return err.reason == CK_R_NOT_FOUND ? -1 : 0;
    long r =
        (long)json_integer_value(json_object_get(json_object_get(d, "status"), "readyReplicas"));
    json_decref(d);
    return r;
}

/* Seconds until the Deployment has want ready replicas (-1 on timeout). */
static double wait_ready(struct bc *b, const char *name, long want)
{
    int64_t t0 = ck_mono_ns(), deadline = t0 + (int64_t)b->timeout_s * 1000000000LL;
    long last = -2;
    int64_t last_print = t0;
    while (ck_mono_ns() < deadline) {
        long r = ready_replicas(b, name);
        if (r >= want)
            return (double)(ck_mono_ns() - t0) / 1e9;
        if (r != last && ck_mono_ns() - last_print > 5000000000LL) {
            printf("  %s: %ld/%ld ready after %.1f s\n", name, r, want,
                   (double)(ck_mono_ns() - t0) / 1e9);
            fflush(stdout);
            last_print = ck_mono_ns();
        }
        last = r;
        usleep(20000);
    }
    fprintf(stderr, "bench-controllers: %s: %ld/%ld ready after %d s\n", name, last, want,
            b->timeout_s);
    return -1;
}

static long count_pods(struct bc *b, const char *app)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/namespaces/" NS "/pods?labelSelector=app%%3D%s", app);
    json_t *l = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (ck_client_get_json(b->client, path, &l, &err) < 0)
        return -1;
    long n = (long)json_array_size(json_object_get(l, "items"));
    json_decref(l);
    return n;
}

static int delete_deployment(struct bc *b, const char *name, const char *policy)
{
    char path[256];
    snprintf(path, sizeof(path),
             "/apis/apps/v1/namespaces/" NS "/deployments/%s?propagationPolicy=%s", name, policy);
    struct ck_err err = CK_ERR_INIT;
    if (ck_client_do(b->client, "DELETE", path, NULL, NULL, 0, NULL, &err) < 0) {
        fprintf(stderr, "bench-controllers: delete %s: %s\n", name, err.msg);
        return -1;
    }
    return 0;
}

/* Seconds until the Deployment is gone (-1 on timeout). */
static double wait_gone(struct bc *b, const char *name)
{
    int64_t t0 = ck_mono_ns(), deadline = t0 + (int64_t)b->timeout_s * 1000000000LL;
    while (ck_mono_ns() < deadline) {
        if (ready_replicas(b, name) == -1)
            return (double)(ck_mono_ns() - t0) / 1e9;
        usleep(20000);
    }
    fprintf(stderr, "bench-controllers: %s still there after %d s (%ld pods left)\n", name,
            b->timeout_s, count_pods(b, name));
    return -1;
}

static int usage(void)
{
    fprintf(stderr, "usage: ckube bench controllers [--nodes N] [--replicas R] [--gc-pods P]\n"
                    "                               [--timeout S] [--server URL [--token T]]\n");
    return 2;
}

int cmd_bench_controllers(int argc, char **argv)
{
    struct bc b = {.nodes = 100, .replicas = 1000, .gc_pods = 10000, .timeout_s = 300};
    const char *server = NULL, *token = NULL, *v;
    for (int i = 1; i < argc; i++) {
        if ((v = ck_flag_value(argc, argv, &i, "--nodes")))
            b.nodes = atol(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--replicas")))
            b.replicas = atol(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--gc-pods")))
            b.gc_pods = atol(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--timeout")))
            b.timeout_s = atoi(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--server")))
            server = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--token")))
            token = v;
        else if (!ck_log_parse_flag(argc, argv, &i))
            return usage();
    }
    if (b.nodes < 1 || b.replicas < 1 || b.gc_pods < 0 || b.timeout_s < 1)
        return usage();
    char url[256], dir[256] = "";
    pid_t child = 0;
    if (!server) {
        if ((child = start_cluster(&b, url, sizeof(url), dir, sizeof(dir))) < 0) {
            fprintf(stderr, "bench-controllers: cannot start the cluster\n");
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
    double ready_s = -1, gc_s = -1;
    if (ck_client_new(&cc, &b.client, &err) < 0) {
        fprintf(stderr, "bench-controllers: %s\n", err.msg);
        goto out;
    }
    printf("bench-controllers: %ld hollow nodes, Deployment of %ld, cascade of %ld, server %s\n",
           b.nodes, b.replicas, b.gc_pods, server);
    fflush(stdout);
    int64_t t0 = ck_mono_ns();
    long nodes = 0;
    while (ck_mono_ns() - t0 < 120 * 1000000000LL && (nodes = ready_nodes(&b)) < b.nodes)
        usleep(100000);
    if (nodes < b.nodes) {
        fprintf(stderr, "bench-controllers: only %ld/%ld nodes Ready\n", nodes, b.nodes);
        goto out;
    }
    printf("  %ld nodes Ready after %.1f s\n", nodes, (double)(ck_mono_ns() - t0) / 1e9);
    if (create_deployment(&b, "bench-ready", b.replicas) < 0)
        goto out;
    ready_s = wait_ready(&b, "bench-ready", b.replicas);
    printf("  Deployment of %ld: all Ready in %.2f s\n", b.replicas, ready_s);
    fflush(stdout);
    if (delete_deployment(&b, "bench-ready", "Background") < 0 || wait_gone(&b, "bench-ready") < 0)
        goto out;
    for (int i = 0; i < b.timeout_s * 10 && count_pods(&b, "bench-ready") != 0; i++)
        usleep(100000);
    if (b.gc_pods > 0) {
        if (create_deployment(&b, "bench-gc", b.gc_pods) < 0)
            goto out;
        double up = wait_ready(&b, "bench-gc", b.gc_pods);
        printf("  Deployment of %ld: all Ready in %.2f s\n", b.gc_pods, up);
        fflush(stdout);
        if (up < 0 || delete_deployment(&b, "bench-gc", "Foreground") < 0)
            goto out;
        gc_s = wait_gone(&b, "bench-gc");
        printf("  foreground delete of %ld pods: %.2f s\n", b.gc_pods, gc_s);
    }
    printf("\n");
    if (ready_s >= 0)
        printf("bench deploy_1000_ready_s %.2f s\n", ready_s);
    if (gc_s >= 0)
        printf("bench gc_cascade_10k_s %.2f s\n", gc_s);
    rc = ready_s >= 0 && (b.gc_pods == 0 || gc_s >= 0) ? 0 : 1;
out:
    fflush(stdout);
    ck_client_free(b.client);
    ck_client_config_release(&cc);
    if (child > 0) {
        kill(child, SIGTERM);
        waitpid(child, NULL, 0);
        if (rc == 0) {
            char cmd[320];
            snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
            if (system(cmd) != 0)
                ck_warn("bench-controllers: could not remove %s", dir);
        } else {
            fprintf(stderr, "bench-controllers: logs kept in %s\n", dir);
        }
    }
    return rc;
}
