/* SPDX-License-Identifier: Apache-2.0 */
/* ckube proxy: kube-proxy's nftables mode on its own (src/proxy). Flags: --kubeconfig K,
 * --hostname-override N (default: the host name), --node-ip A (default: the Node's
 * InternalIP, else the first non-loopback IPv4 address), --cluster-cidr C,
 * --service-cluster-ip-range C (default 10.96.0.0/12), --nft-table NAME (default
 * ckube-proxy), --masquerade-all, --min-sync-period MS (default 100), --sync-period S (full
 * resync, default 3600), --keep-rules (leave the table on exit, as kube-proxy does),
 * --healthz-port P (default 10256) and --metrics-port P (default 10249), both on 127.0.0.1
 * and each serving /healthz and /metrics; -1 turns one off. */
#include "ckube/client.h"
#include "cmd/cmd.h"
#include "k8s/util.h"
#include "lib/compsrv.h"
#include "lib/log.h"
#include "proxy/proxy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <net/if.h>
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

static int usage(void)
{
    fprintf(stderr,
            "usage: ckube proxy [--kubeconfig K] [--hostname-override N] [--node-ip A]\n"
            "                   [--cluster-cidr C] [--service-cluster-ip-range C]\n"
            "                   [--nft-table NAME] [--masquerade-all] [--min-sync-period MS]\n"
            "                   [--sync-period S] [--keep-rules] [--healthz-port P]\n"
            "                   [--metrics-port P]\n");
    return 2;
}

static void metrics(void *arg, struct ck_buf *out)
{
    proxy_metrics(arg, out);
}

/* The Node's InternalIP, else the first non-loopback IPv4 address. */
static void node_ip(struct ck_client *c, const char *node, char *out, size_t n)
{
    char path[400];
    json_t *obj = NULL;
    struct ck_err err = CK_ERR_INIT;
    snprintf(out, n, "127.0.0.1");
    snprintf(path, sizeof(path), "/api/v1/nodes/%s", node);
    if (ck_client_get_json(c, path, &obj, &err) == 0) {
        size_t i;
        json_t *a;
        json_array_foreach(k8s_jpath(obj, "status.addresses"), i, a)
        {
            if (!strcmp(k8s_jstr(a, "type"), "InternalIP") &&
                !strchr(k8s_jstr(a, "address"), ':')) {
                snprintf(out, n, "%s", k8s_jstr(a, "address"));
                json_decref(obj);
                return;
            }
        }
        json_decref(obj);
    }
    struct ifaddrs *ifa = NULL;
    if (getifaddrs(&ifa) < 0)
        return;
    for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && !(i->ifa_flags & IFF_LOOPBACK) &&
            (i->ifa_flags & IFF_UP)) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out, (socklen_t)n);
            break;
        }
    freeifaddrs(ifa);
}

static int serve(int port, struct proxy *p, struct ck_compsrv **out, struct ck_err *err)
{
    static const struct ck_hcheck checks[] = {{"sync", proxy_healthz}};
    struct ck_compsrv_opts co = {
        .port = port, .metrics = metrics, .checks = checks, .nchecks = 1, .arg = p};
    return port < 0 ? 0 : ck_compsrv_start(&co, out, err);
}

static int cmd_proxy(int argc, char **argv)
{
    const char *kubeconfig = NULL, *v;
    char host[256] = "", ip[64] = "";
    struct proxy_opts po = {0};
    int hport = 10256, mport = 10249;
    for (int i = 1; i < argc; i++) {
        if ((v = ck_flag_value(argc, argv, &i, "--kubeconfig")))
            kubeconfig = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--hostname-override")))
            snprintf(host, sizeof(host), "%s", v);
        else if ((v = ck_flag_value(argc, argv, &i, "--node-ip")))
            snprintf(ip, sizeof(ip), "%s", v);
        else if ((v = ck_flag_value(argc, argv, &i, "--cluster-cidr")))
            po.cluster_cidr = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--service-cluster-ip-range")))
            po.service_cidr = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--nft-table")))
            po.table = v;
        else if (!strcmp(argv[i], "--masquerade-all"))
            po.masquerade_all = true;
        else if ((v = ck_flag_value(argc, argv, &i, "--min-sync-period")))
            po.min_sync_ms = atoi(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--sync-period")))
            po.full_sync_s = atoi(v);
        else if (!strcmp(argv[i], "--keep-rules"))
            po.keep_rules = true;
        else if ((v = ck_flag_value(argc, argv, &i, "--healthz-port")))
            hport = atoi(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--metrics-port")))
            mport = atoi(v);
        else if (!ck_log_parse_flag(argc, argv, &i))
            return usage();
    }
    if (!host[0]) {
        if (gethostname(host, sizeof(host) - 1) != 0)
            snprintf(host, sizeof(host), "localhost");
        for (char *c = host; *c; c++)
            *c = (char)tolower((unsigned char)*c);
    }
    struct ck_err err = CK_ERR_INIT;
    struct ck_client_config cc;
    struct ck_client *client = NULL;
    if (ck_config_from_kubeconfig(kubeconfig, NULL, &cc, &err) < 0)
        return fprintf(stderr, "proxy: %s\n", err.msg), 1;
    if (cc.qps == 0)
        cc.qps = 50;
    if (cc.burst == 0)
        cc.burst = 100;
    if (ck_client_new(&cc, &client, &err) < 0)
        return fprintf(stderr, "proxy: %s\n", err.msg), 1;
    ck_client_config_release(&cc);
    if (!ip[0])
        node_ip(client, host, ip, sizeof(ip));
    po.client = client;
    po.node_name = host;
    po.node_ip = ip;
    struct proxy *p = NULL;
    if (proxy_start(&po, &p, &err) < 0)
        return fprintf(stderr, "proxy: %s\n", err.msg), ck_client_free(client), 1;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    struct ck_compsrv *hs = NULL, *ms = NULL;
    int hb = serve(hport, p, &hs, &err), mb = hb < 0 ? -1 : serve(mport, p, &ms, &err);
    if (hb < 0 || mb < 0) {
        fprintf(stderr, "proxy: healthz/metrics: %s\n", err.msg);
        ck_compsrv_stop(hs);
        proxy_stop(p);
        ck_client_free(client);
        return 1;
    }
    printf("proxy: node %s (%s), healthz port %d, metrics port %d\n", host, ip, hb, mb);
    fflush(stdout);
    while (!stopping)
        usleep(100000);
    ck_compsrv_stop(ms);
    ck_compsrv_stop(hs);
    proxy_stop(p);
    ck_client_free(client);
    return 0;
}

CK_CMD(proxy, "proxy", cmd_proxy, "kube-proxy (nftables mode): Service VIPs and NodePorts");
