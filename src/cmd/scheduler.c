/* SPDX-License-Identifier: Apache-2.0 */
/* ckube scheduler: kube-scheduler over the client library (src/scheduler). Flags:
 * --kubeconfig K, --config FILE (KubeSchedulerConfiguration v1), --leader-elect[=true|false]
 * (Lease kube-system/kube-scheduler), --bind-address A and --secure-port/--port P for
 * /healthz and /metrics (default 127.0.0.1:10259), --parallelism N. */
#include "ckube/client.h"
#include "ckube/leader.h"
#include "cmd/cmd.h"
#include "k8s/util.h"
#include "lib/log.h"
#include "scheduler/sched.h"

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
    ck_info("started leading");
    sch_sched_run(arg);
}

static void stopped(void *arg)
{
    (void)arg;
    ck_info("stopped leading");
    stopping = 1;
}

static int usage(void)
{
    fprintf(
        stderr,
        "usage: ckube scheduler [--kubeconfig K] [--config FILE] [--leader-elect[=true|false]]\n"
        "                       [--bind-address A] [--port P] [--parallelism N]\n");
    return 2;
}

static int cmd_scheduler(int argc, char **argv)
{
    const char *kubeconfig = NULL, *config = NULL, *addr = "127.0.0.1", *v;
    int leader = -1, port = 10259, par = 0;
    for (int i = 1; i < argc; i++) {
        if ((v = ck_flag_value(argc, argv, &i, "--kubeconfig")))
            kubeconfig = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--config")))
            config = v;
        else if (!strcmp(argv[i], "--leader-elect"))
            leader = 1;
        else if (!strncmp(argv[i], "--leader-elect=", 15))
            leader = strcmp(argv[i] + 15, "false") != 0;
        else if ((v = ck_flag_value(argc, argv, &i, "--bind-address")))
            addr = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--port")) ||
                 (v = ck_flag_value(argc, argv, &i, "--secure-port")))
            port = atoi(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--parallelism")))
            par = atoi(v);
        else if (!ck_log_parse_flag(argc, argv, &i))
            return usage();
    }
    struct ck_err err = CK_ERR_INIT;
    json_t *cfg = NULL;
    if (config && sch_config_load(config, &cfg, &err) < 0)
        return fprintf(stderr, "scheduler: %s\n", err.msg), 1;
    if (!kubeconfig && cfg && *k8s_jpath_str(cfg, "clientConnection.kubeconfig"))
        kubeconfig = k8s_jpath_str(cfg, "clientConnection.kubeconfig");
    if (leader < 0) {
        json_t *le = k8s_jpath(cfg, "leaderElection.leaderElect");
        leader = le ? json_is_true(le) : 1; /* upstream default: true */
    }
    struct ck_client_config cc;
    struct ck_client *client = NULL;
    if (ck_config_from_kubeconfig(kubeconfig, NULL, &cc, &err) < 0)
        return fprintf(stderr, "scheduler: %s\n", err.msg), 1;
    if (cc.qps == 0)
        cc.qps = 100000; /* the scheduler paces itself; bindings must not queue client-side */
    if (cc.burst == 0)
        cc.burst = 100000;
    if (ck_client_new(&cc, &client, &err) < 0)
        return fprintf(stderr, "scheduler: %s\n", err.msg), 1;
    ck_client_config_release(&cc);
    struct sch_opts o = {.client = client, .config = cfg, .parallelism = par};
    struct sch_sched *s = sch_sched_new(&o, &err);
    if (!s)
        return fprintf(stderr, "scheduler: %s\n", err.msg), 1;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    int bound = port >= 0 ? sch_http_start(s, addr, port, &err) : 0;
    if (bound < 0)
        return fprintf(stderr, "scheduler: %s\n", err.msg), 1;
    if (sch_sched_start_informers(s, 60000, &err) < 0)
        return fprintf(stderr, "scheduler: %s\n", err.msg), 1;
    printf("scheduler: serving /healthz and /metrics on %s:%d\n", addr, bound);
    fflush(stdout);
    if (leader) {
        char id[300], host[256] = "ckube";
        gethostname(host, sizeof(host) - 1);
        snprintf(id, sizeof(id), "%s_%d", host, (int)getpid());
        const char *ns = k8s_jpath_str(cfg, "leaderElection.resourceNamespace");
        const char *name = k8s_jpath_str(cfg, "leaderElection.resourceName");
        struct ck_leader_opts lo = {.lease_namespace = *ns ? ns : "kube-system",
                                    .lease_name = *name ? name : "kube-scheduler",
                                    .identity = id,
                                    .on_started_leading = started,
                                    .on_stopped_leading = stopped,
                                    .arg = s};
        ck_leader_run(client, &lo, &stopping, &err);
    } else {
        sch_sched_run(s);
    }
    while (!stopping)
        usleep(100000);
    sch_sched_free(s);
    ck_client_free(client);
    json_decref(cfg);
    return 0;
}

CK_CMD(scheduler, "scheduler", cmd_scheduler, "kube-scheduler: assigns pending pods to nodes");
