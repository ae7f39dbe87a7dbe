/* SPDX-License-Identifier: Apache-2.0 */
/* `ckube agent`: the node agent (kubelet); see src/agent/agent.h and docs/agent.md. */
#include "agent/agent.h"
#include "cmd/cmd.h"
#include "lib/log.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static volatile int stopping;
static void on_signal(int sig)
{
    stopping = sig;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: ckube agent [--kubeconfig K] [--node-name N] [--root DIR] [--node-ip IP]\n"
            "                   [--cni-conf FILE] [--hollow N] [--healthz-port P (0: 10248, -1: "
            "off)]\n"
            "                   [--healthz-bind-address A] [--workers N] [-v N]\n");
    return 2;
}

static int cmd_agent(int argc, char **argv)
{
    struct agent_opts o = {0};
    const char *v;
    for (int i = 1; i < argc; i++) {
        if ((v = ck_flag_value(argc, argv, &i, "--kubeconfig")))
            o.kubeconfig = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--node-name")) ||
                 (v = ck_flag_value(argc, argv, &i, "--hostname-override")))
            o.node_name = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--root")) ||
                 (v = ck_flag_value(argc, argv, &i, "--root-dir")))
            o.root = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--node-ip")))
            o.node_ip = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--cni-conf")))
            o.cni_conf = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--hollow")))
            o.hollow = atoi(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--healthz-port")))
            o.healthz_port = atoi(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--healthz-bind-address")))
            o.healthz_bind = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--workers")))
            o.workers = atoi(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--node-status-update-frequency")))
            o.status_update_s = atoi(v);
        else if (!ck_log_parse_flag(argc, argv, &i))
            return usage();
    }
    if (o.hollow < 0)
        return usage();
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    return agent_run(&o, &stopping);
}

CK_CMD(agent, "agent", cmd_agent, "run the node agent (kubelet), or N hollow nodes");
