/* SPDX-License-Identifier: Apache-2.0 */
/* ckube controller-manager: kube-controller-manager's workload controllers (replicaset,
 * deployment, garbagecollector) over shared informers, leader-elected on the Lease
 * kube-system/kube-controller-manager, with /healthz and /metrics on a local port.
 *   --kubeconfig K  --controllers '*,-foo'  --leader-elect[=true|false]  --id ID
 *   --bind-address A (127.0.0.1)  --secure-port P (10257; plain HTTP; 0 = any free port)
 *   --concurrent-syncs N (workers per controller, 5)  --kube-api-qps Q (200)
 *   --kube-api-burst B (400) */
#include "ckube/client.h"
#include "ckube/leader.h"
#include "cmd/cmd.h"
#include "controllers/csrutil.h" /* joinapi: --cluster-signing-duration */
#include "controllers/manager.h"
#include "lib/log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/banned.h"

static volatile int stopping;
static void on_signal(int sig)
{
    stopping = sig;
}

static void started(void *arg)
{
    ck_info("controller-manager: started leading");
    cm_manager_start(arg);
}

static void lost(void *arg)
{
    (void)arg;
    if (!stopping)
        ck_warn("controller-manager: leaderelection lost");
    stopping = stopping ? stopping : 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: ckube controller-manager [--kubeconfig K] [--controllers LIST] "
                    "[--leader-elect[=true|false]] [--id ID] [--bind-address A] [--secure-port P] "
                    "[--concurrent-syncs N] [--kube-api-qps Q] [--kube-api-burst B]\n"
                    "       [--node-monitor-grace-period SECONDS (40)] "
                    "[--terminated-pod-gc-threshold N (12500)]\n"
                    "       [--allocate-node-cidrs[=true|false]] [--cluster-cidr CIDR] "
                    "[--node-cidr-mask-size N (24)]\n"
                    "       [--cluster-signing-cert-file F --cluster-signing-key-file F] "
                    "[--cluster-signing-duration D (8760h)]\n"
                    "       [--root-ca-file F (default: the kubeconfig's CA)]\n");
    return 2;
}

static int cmd_controller_manager(int argc, char **argv)
{
    const char *kubeconfig = NULL, *controllers = NULL, *id = NULL, *addr = "127.0.0.1", *v;
    int leader_elect = 1, port = 10257, workers = 5, burst = 400, node_grace = 40;
    long gc_threshold = 12500;
    const char *cluster_cidr = NULL; /* nodeipam */
    int allocate_cidrs = 0, node_cidr_mask = 24;
    double qps = 200;
    const char *sign_cert = NULL, *sign_key = NULL; /* joinapi: csrsigning */
    int64_t sign_ttl = 0;
    const char *root_ca_file = NULL; /* satoken: root-ca-cert-publisher */
    char *root_ca = NULL;
    for (int i = 1; i < argc; i++) {
        if ((v = ck_flag_value(argc, argv, &i, "--kubeconfig")))
            kubeconfig = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--controllers")))
            controllers = v;
        else if (!strcmp(argv[i], "--leader-elect") || !strcmp(argv[i], "--leader-elect=true"))
            leader_elect = 1;
        else if (!strcmp(argv[i], "--leader-elect=false"))
            leader_elect = 0;
        else if ((v = ck_flag_value(argc, argv, &i, "--id")))
            id = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--bind-address")))
            addr = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--secure-port")))
            port = atoi(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--concurrent-syncs")))
            workers = atoi(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--terminated-pod-gc-threshold")))
            gc_threshold = atol(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--node-monitor-grace-period")))
            node_grace = atoi(v); /* seconds; "40s" reads as 40 too */
        else if (!strcmp(argv[i], "--allocate-node-cidrs") ||
                 !strcmp(argv[i], "--allocate-node-cidrs=true"))
            allocate_cidrs = 1;
        else if (!strcmp(argv[i], "--allocate-node-cidrs=false"))
            allocate_cidrs = 0;
        else if ((v = ck_flag_value(argc, argv, &i, "--cluster-cidr")))
            cluster_cidr = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--node-cidr-mask-size")))
            node_cidr_mask = atoi(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--cluster-signing-cert-file")))
            sign_cert = v; /* joinapi: csrsigning */
        else if ((v = ck_flag_value(argc, argv, &i, "--cluster-signing-key-file")))
            sign_key = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--cluster-signing-duration")))
            sign_ttl = csr_parse_duration(v); /* < 0: refused below */
        else if ((v = ck_flag_value(argc, argv, &i, "--root-ca-file")))
            root_ca_file = v; /* satoken */
        else if ((v = ck_flag_value(argc, argv, &i, "--kube-api-qps")))
            qps = atof(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--kube-api-burst")))
            burst = atoi(v);
        else if (!ck_log_parse_flag(argc, argv, &i))
            return usage();
    }
    if (sign_ttl < 0) /* joinapi */
        return usage();
    struct ck_err err = CK_ERR_INIT;
    struct ck_client_config cfg;
    struct ck_client *client = NULL;
    if (ck_config_from_kubeconfig(kubeconfig, NULL, &cfg, &err) < 0)
        return fprintf(stderr, "controller-manager: %s\n", err.msg), 1;
    cfg.qps = qps;
    cfg.burst = burst;
    if (ck_client_new(&cfg, &client, &err) < 0)
        return fprintf(stderr, "controller-manager: %s\n", err.msg), 1;
    /* satoken: kube-root-ca.crt carries --root-ca-file, else the kubeconfig's CA (upstream) */
    const char *ca_path = root_ca_file ? root_ca_file : cfg.ca_data ? NULL : cfg.ca_file;
    if (ca_path) {
        FILE *fp = fopen(ca_path, "r");
        char chunk[4096];
        size_t got, len = 0;
        while (fp && (got = fread(chunk, 1, sizeof(chunk), fp)) > 0 && len < (1 << 20)) {
            root_ca = realloc(root_ca, len + got + 1);
            memcpy(root_ca + len, chunk, got);
            len += got;
            root_ca[len] = 0;
        }
        if (fp)
            fclose(fp);
        else if (root_ca_file)
            return fprintf(stderr, "controller-manager: --root-ca-file %s: %s\n", root_ca_file,
                           strerror(errno)),
                   1;
    } else if (cfg.ca_data) {
        root_ca = strdup(cfg.ca_data);
    }
    ck_client_config_release(&cfg);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    struct cm_manager *m = cm_manager_new(client, controllers, workers, &stopping);
    cm_manager_cm(m)->node_grace_s = node_grace > 0 ? node_grace : 40;
    cm_manager_cm(m)->terminated_pod_gc_threshold = gc_threshold > 0 ? gc_threshold : 12500;
    cm_manager_cm(m)->csr_signing_cert = sign_cert; /* joinapi */
    cm_manager_cm(m)->csr_signing_key = sign_key;
    cm_manager_cm(m)->csr_signing_duration_s = sign_ttl;
    cm_manager_cm(m)->root_ca_pem = root_ca; /* satoken; freed below */
    if (allocate_cidrs && !cluster_cidr) {
        fprintf(stderr, "controller-manager: --allocate-node-cidrs needs --cluster-cidr\n");
        cm_manager_free(m);
        ck_client_free(client);
        return 1;
    }
    cm_manager_cm(m)->allocate_node_cidrs = allocate_cidrs;
    cm_manager_cm(m)->cluster_cidr = cluster_cidr;
    cm_manager_cm(m)->node_cidr_mask = node_cidr_mask;
    int bound = cm_manager_serve(m, addr, port, &err);
    if (bound < 0) {
        fprintf(stderr, "controller-manager: %s\n", err.msg);
        cm_manager_free(m);
        ck_client_free(client);
        return 1;
    }
    printf("controller-manager: serving /healthz and /metrics on %s:%d\n", addr, bound);
    fflush(stdout);
    char ident[300];
    if (!id) {
        char host[256] = "localhost";
        gethostname(host, sizeof(host) - 1);
        snprintf(ident, sizeof(ident), "%s_%d", host, (int)getpid());
        id = ident;
    }
    struct ck_leader_opts lo = {.lease_namespace = "kube-system",
                                .lease_name = "kube-controller-manager",
                                .identity = id,
                                .on_started_leading = started,
                                .on_stopped_leading = lost,
                                .arg = m};
    if (leader_elect) {
        if (ck_leader_run(client, &lo, &stopping, &err) < 0)
            fprintf(stderr, "controller-manager: leader election: %s\n", err.msg);
        stopping = stopping ? stopping : 1;
    } else {
        cm_manager_start(m);
    }
    while (!stopping)
        usleep(100000);
    cm_manager_free(m);
    ck_client_free(client);
    free(root_ca); /* satoken */
    return 0;
}

CK_CMD(controller_manager, "controller-manager", cmd_controller_manager,
       "kube-controller-manager: workload, garbage-collector, namespace, endpoint, node and CSR controllers");
