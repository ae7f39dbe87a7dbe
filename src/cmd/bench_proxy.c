/* SPDX-License-Identifier: Apache-2.0 */
/* `ckube bench proxy [--services N] [--endpoints M] [--runs R]`: the service proxy's sync
 * engine (src/proxy) on N Services x M endpoints (default 10,000 x 10), written into a real
 * nftables table inside a private network namespace (a child process after
 * unshare(CLONE_NEWNET); needs root, skipped with a message otherwise). Prints
 *   bench proxy_full_sync_ms <v> ms          the first, whole-table sync
 *   bench proxy_one_endpoint_sync_ms <v> ms  median partial sync after one endpoint turned
 *                                            unready (goal <= 50 ms at 10k x 10): from the
 *                                            EndpointSlice's hand-off to the engine until the
 *                                            kernel acknowledged the transaction
 *   bench proxy_rules <n> rules              rules in the table */
#include "cmd/bench.h"
#include "cmd/cmd.h"
#include "lib/timeutil.h"
#include "proxy/engine.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/banned.h"

static json_t *service(int i)
{
    char name[32], ip[32];
    snprintf(name, sizeof(name), "svc-%d", i);
    snprintf(ip, sizeof(ip), "10.%d.%d.%d", 96 + (i >> 16), (i >> 8) & 255, i & 255);
    json_t *s =
        json_pack("{s:{s:s, s:s}, s:{s:s, s:s, s:[{s:s, s:s, s:i, s:i}]}}", "metadata", "namespace",
                  "bench", "name", name, "spec", "type", "ClusterIP", "clusterIP", ip, "ports",
                  "name", "http", "protocol", "TCP", "port", 80, "targetPort", 8080);
    if (i < 2000) { /* NodePorts: the default range holds 2,768 */
        json_object_set_new(json_object_get(s, "spec"), "type", json_string("NodePort"));
        json_object_set_new(json_array_get(json_object_get(json_object_get(s, "spec"), "ports"), 0),
                            "nodePort", json_integer(30000 + i));
    }
    return s;
}

static json_t *slice(int i, int m, int unready)
{
    char name[40], svc[32];
    snprintf(svc, sizeof(svc), "svc-%d", i);
    snprintf(name, sizeof(name), "svc-%d-abcde", i);
    json_t *eps = json_array();
    for (int k = 0; k < m; k++) {
        char ip[32];
        int n = i * m + k;
        snprintf(ip, sizeof(ip), "10.%d.%d.%d", 128 + (n >> 16), (n >> 8) & 255, n & 255);
        json_array_append_new(eps, json_pack("{s:[s], s:{s:b, s:b, s:b}, s:s}", "addresses", ip,
                                             "conditions", "ready", k != unready, "serving",
                                             k != unready, "terminating", 0, "nodeName",
                                             k % 2 ? "bench-node" : "other"));
    }
    return json_pack("{s:{s:s, s:s, s:{s:s}}, s:s, s:o, s:[{s:s, s:s, s:i}]}", "metadata",
                     "namespace", "bench", "name", name, "labels", "kubernetes.io/service-name",
                     svc, "addressType", "IPv4", "endpoints", eps, "ports", "name", "http",
                     "protocol", "TCP", "port", 8080);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int run(int nsvc, int neps, int runs)
{
    if (unshare(CLONE_NEWNET) < 0) {
        perror("bench proxy: unshare(CLONE_NEWNET)");
        return 1;
    }
    struct px_env env = {.table = "ckube-bench-proxy",
                         .service_cidr = "10.96.0.0/12",
                         .cluster_cidr = "10.128.0.0/9",
                         .node_ip = "192.0.2.10"};
    struct px_engine *e = px_engine_new(&env, "bench-node");
    if (!e)
        return fprintf(stderr, "bench proxy: no libnftables context\n"), 1;
    int64_t t0 = ck_mono_ns();
    for (int i = 0; i < nsvc; i++) {
        char name[32], sl[40];
        snprintf(name, sizeof(name), "svc-%d", i);
        snprintf(sl, sizeof(sl), "svc-%d-abcde", i);
        json_t *s = service(i), *es = slice(i, neps, -1);
        px_engine_set_service(e, "bench", name, s);
        px_engine_set_slice(e, "bench", sl, es);
        json_decref(s);
        json_decref(es);
    }
    double gen_ms = (double)(ck_mono_ns() - t0) / 1e6;
    struct px_sync_result r;
    struct ck_err err = CK_ERR_INIT;
    if (px_engine_sync(e, &r, &err) < 0) {
        fprintf(stderr, "bench proxy: full sync: %s\n", err.msg);
        px_engine_free(e);
        return 1;
    }
    printf("bench: %d services x %d endpoints (objects built in %.0f ms), script %.1f MiB\n", nsvc,
           neps, gen_ms, (double)r.script_len / (1 << 20));
    printf("bench proxy_full_sync_ms %.1f ms\n", r.seconds * 1e3);
    double *t = calloc((size_t)runs, sizeof(double));
    int rc = 0, elem_syncs = 0;
    for (int k = 0; k < runs && !rc; k++) {
        int i = (k * 7919) % nsvc;
        char sl[40];
        snprintf(sl, sizeof(sl), "svc-%d-abcde", i);
        json_t *es = slice(i, neps, k % neps);
        int64_t s0 = ck_mono_ns(); /* the informer's hand-off is part of a sync's cost */
        px_engine_set_slice(e, "bench", sl, es);
        json_decref(es);
        if (px_engine_sync(e, &r, &err) < 0 || r.full || r.services != 1) {
            fprintf(stderr, "bench proxy: partial sync: %s (full %d, services %zu)\n", err.msg,
                    r.full, r.services);
            rc = 1;
        }
        t[k] = (double)(ck_mono_ns() - s0) / 1e6;
        elem_syncs += r.elements;
    }
    if (!rc) {
        qsort(t, (size_t)runs, sizeof(double), cmp_d);
        printf("bench proxy_one_endpoint_sync_ms %.1f ms\n", t[runs / 2]);
        printf("bench proxy_one_endpoint_sync_max_ms %.1f ms\n", t[runs - 1]);
        printf("bench proxy_rules %zu rules\n", px_engine_nrules(e));
        printf("bench: %d of %d endpoint syncs were element-only netlink batches\n", elem_syncs,
               runs);
    }
    free(t);
    px_engine_cleanup(e, &err);
    px_engine_free(e);
    fflush(stdout);
    return rc;
}

int cmd_bench_proxy(int argc, char **argv)
{
    int nsvc = 10000, neps = 10, runs = 21;
    const char *v;
    for (int i = 1; i < argc; i++) {
        if ((v = ck_flag_value(argc, argv, &i, "--services")))
            nsvc = atoi(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--endpoints")))
            neps = atoi(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--runs")))
            runs = atoi(v);
        else
            return fprintf(stderr, "usage: ckube bench proxy [--services N] [--endpoints M] "
                                   "[--runs R]\n"),
                   2;
    }
    if (nsvc < 1 || nsvc > 60000 || neps < 1 || neps > 1000 || runs < 1 || runs > 1000)
        return fprintf(stderr, "bench proxy: out of range\n"), 2;
    if (geteuid() != 0) {
        printf("bench proxy: skipped (needs root for a private network namespace)\n");
        return 0;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return perror("bench proxy: fork"), 1;
    if (pid == 0)
        _exit(run(nsvc, neps, runs));
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
