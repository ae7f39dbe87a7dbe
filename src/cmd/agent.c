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
    fprintf(
        stderr,
        "usage: ckube agent [--kubeconfig K] [--node-name N] [--root DIR] [--node-ip IP]\n"
        "                   [--cni-conf FILE] [--hollow N] [--healthz-port P (0: 10248, -1: "
        "off)]\n"
        "                   [--healthz-bind-address A] [--workers N] [--port P]\n"
        "                   [--tls-cert-file F --tls-private-key-file F] [--client-ca-file F]\n"
        "                   [--proxy[=false]] [--dns[=false]] [--service-cluster-ip-range CIDR]\n"
        "                   [--cluster-cidr CIDR] [--cluster-dns IP] [--cluster-domain D]\n"
        "                   [--dns-port P (cluster DNS on the node IP, default 53)]\n"
        "                   [--server URL --token ID.SECRET [--ca-cert-hash sha256:HEX]]\n"
        "                   [--registry-config FILE (default /etc/ckube/registries.yaml)]\n"
        "                   [-v N]\n"
        "  --port: the kubelet server (HTTPS: logs, exec, stats, ...; default 10250, 0: an\n"
        "  ephemeral port, -1: off); the Node reports the port it got. Without\n"
        "  --tls-cert-file a self-signed certificate is made in <root>/pki. --client-ca-file:\n"
        "  clients must present a certificate signed by it (default: the kubeconfig's CA);\n"
        "  the kubeconfig's own bearer token is also accepted\n");
    return 2;
}

/* A Go duration of whole seconds ("20s", "5m", "1m30s", "1h") or plain seconds. */
static int duration_s(const char *v)
{
    long total = 0, cur = 0;
    for (const char *c = v; *c; c++) {
        if (*c >= '0' && *c <= '9')
            cur = cur * 10 + (*c - '0');
        else if (*c == 'h')
            total += cur * 3600, cur = 0;
        else if (*c == 'm')
            total += cur * 60, cur = 0;
        else if (*c == 's')
            total += cur, cur = 0;
    }
    return (int)(total + cur);
}

static int cmd_agent(int argc, char **argv)
{
    struct agent_opts o = {.port = AGENT_PORT_DEFAULT};
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
        else if ((v = ck_flag_value(argc, argv, &i, "--port")))
            o.port = atoi(v) < 0 ? AGENT_PORT_OFF : atoi(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--tls-cert-file")))
            o.tls_cert_file = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--tls-private-key-file")))
            o.tls_key_file = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--client-ca-file")))
            o.client_ca_file = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--node-status-update-frequency")))
            o.status_update_s = atoi(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--pod-manifest-path")))
            o.pod_manifest_path = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--file-check-frequency")))
            o.file_check_frequency_s = duration_s(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--eviction-hard")))
            o.eviction_hard = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--eviction-minimum-reclaim")))
            o.eviction_minimum_reclaim = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--eviction-pressure-transition-period")))
            o.eviction_pressure_transition_s = duration_s(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--eviction-monitoring-interval")))
            o.eviction_interval_s = duration_s(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--image-gc-high-threshold")))
            o.image_gc_high_percent = atoi(v) ? atoi(v) : -1;
        else if ((v = ck_flag_value(argc, argv, &i, "--image-gc-low-threshold")))
            o.image_gc_low_percent = atoi(v) ? atoi(v) : -1;
        else if ((v = ck_flag_value(argc, argv, &i, "--minimum-image-ttl-duration")))
            o.minimum_image_ttl_s = duration_s(v) ? duration_s(v) : -1;
        else if ((v = ck_flag_value(argc, argv, &i, "--image-gc-period")))
            o.image_gc_period_s = duration_s(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--registry-config")))
            o.registry_config = v; /* image: mirrors, TLS, credentials (registries.yaml) */
        /* service networking */
        else if (!strcmp(argv[i], "--proxy") || !strcmp(argv[i], "--proxy=true"))
            o.proxy = 1;
        else if (!strcmp(argv[i], "--proxy=false"))
            o.proxy = -1;
        else if ((v = ck_flag_value(argc, argv, &i, "--service-cluster-ip-range")))
            o.service_cidr = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--cluster-cidr")))
            o.cluster_cidr = v;
        else if (!strcmp(argv[i], "--dns") || !strcmp(argv[i], "--dns=true"))
            o.dns = 1;
        else if (!strcmp(argv[i], "--dns=false"))
            o.dns = -1;
        else if ((v = ck_flag_value(argc, argv, &i, "--cluster-dns")))
            o.cluster_dns = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--cluster-domain")))
            o.cluster_domain = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--dns-port")))
            o.dns_port = atoi(v);
        /* join */
        else if ((v = ck_flag_value(argc, argv, &i, "--server")))
            o.join_server = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--token")))
            o.join_token = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--ca-cert-hash")))
            o.join_ca_hash = v;
        else if (!ck_log_parse_flag(argc, argv, &i))
            return usage();
    }
    if (o.hollow < 0 || o.port > 65535 || (!o.tls_cert_file != !o.tls_key_file) ||
        (!o.join_server != !o.join_token))
        return usage();
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    return agent_run(&o, &stopping);
}

CK_CMD(agent, "agent", cmd_agent, "run the node agent (kubelet), or N hollow nodes");
