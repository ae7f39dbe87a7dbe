/* SPDX-License-Identifier: Apache-2.0 */
/* ckube dns: the cluster DNS server on its own (what the agent runs inside itself), fed by
 * informers on Services and EndpointSlices. Flags: --kubeconfig K, --bind ADDR:PORT (default
 * 0.0.0.0:53; port 0 picks a free one), --cluster-domain D (cluster.local), --resolv-conf F
 * (upstream resolvers, /etc/resolv.conf), --upstream IP[:PORT] (repeatable, instead),
 * --healthz-port P (/healthz, /readyz and /metrics on 127.0.0.1:P, default 8080, -1 none). */
#include "ckube/client.h"
#include "cmd/cmd.h"
#include "dns/dns.h"
#include "lib/compsrv.h"
#include "lib/log.h"

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
    fprintf(stderr, "usage: ckube dns [--kubeconfig K] [--bind ADDR:PORT] [--cluster-domain D]\n"
                    "                 [--resolv-conf FILE | --upstream IP[:PORT]...] "
                    "[--healthz-port P]\n");
    return 2;
}

static int ready_check(void *arg, char *why, size_t n)
{
    if (dns_server_synced(arg))
        return 0;
    snprintf(why, n, "informers not synced");
    return -1;
}

static void metrics(void *arg, struct ck_buf *out)
{
    (void)arg;
    dns_server_metrics(out);
}

/* "ADDR:PORT", "[V6]:PORT" or "ADDR" into addr and *port. */
static int split_bind(const char *v, char *addr, size_t n, int *port)
{
    const char *colon = strrchr(v, ':');
    if (v[0] == '[') {
        const char *e = strchr(v, ']');
        if (!e)
            return -1;
        snprintf(addr, n, "%.*s", (int)(e - v - 1), v + 1);
        if (e[1] == ':')
            *port = atoi(e + 2);
        return 0;
    }
    if (colon && colon == strchr(v, ':')) {
        snprintf(addr, n, "%.*s", (int)(colon - v), v);
        *port = atoi(colon + 1);
    } else {
        snprintf(addr, n, "%s", v);
    }
    return 0;
}

static int cmd_dns(int argc, char **argv)
{
    const char *kubeconfig = NULL, *domain = "cluster.local", *resolv = NULL, *v;
    const char *ups[8] = {0};
    int nup = 0, hport = 8080, port = 53;
    char addr[128] = "0.0.0.0";
    for (int i = 1; i < argc; i++) {
        if ((v = ck_flag_value(argc, argv, &i, "--kubeconfig")))
            kubeconfig = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--bind"))) {
            if (split_bind(v, addr, sizeof(addr), &port) < 0)
                return usage();
        } else if ((v = ck_flag_value(argc, argv, &i, "--cluster-domain")))
            domain = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--resolv-conf")))
            resolv = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--upstream"))) {
            if (nup < 7)
                ups[nup++] = v;
        } else if ((v = ck_flag_value(argc, argv, &i, "--healthz-port")))
            hport = atoi(v);
        else if (!ck_log_parse_flag(argc, argv, &i))
            return usage();
    }
    struct ck_err err = CK_ERR_INIT;
    struct ck_client_config cc;
    struct ck_client *client = NULL;
    if (ck_config_from_kubeconfig(kubeconfig, NULL, &cc, &err) < 0)
        return fprintf(stderr, "dns: %s\n", err.msg), 1;
    if (cc.qps == 0)
        cc.qps = 50;
    if (cc.burst == 0)
        cc.burst = 100;
    if (ck_client_new(&cc, &client, &err) < 0)
        return fprintf(stderr, "dns: %s\n", err.msg), 1;
    ck_client_config_release(&cc);
    struct dns_server *s = NULL;
    struct dns_server_opts o = {.client = client,
                                .domain = domain,
                                .addr = addr,
                                .port = port,
                                .resolv_conf = resolv,
                                .upstreams = nup ? ups : NULL};
    if (dns_server_start(&o, &s, &err) < 0)
        return fprintf(stderr, "dns: %s\n", err.msg), ck_client_free(client), 1;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    struct ck_compsrv *hs = NULL;
    int hbound = -1;
    if (hport >= 0) {
        static const struct ck_hcheck checks[] = {{"informer-sync", ready_check}};
        struct ck_compsrv_opts co = {
            .port = hport, .metrics = metrics, .checks = checks, .nchecks = 1, .arg = s};
        hbound = ck_compsrv_start(&co, &hs, &err);
        if (hbound < 0) {
            fprintf(stderr, "dns: healthz: %s\n", err.msg);
            dns_server_stop(s);
            ck_client_free(client);
            return 1;
        }
    }
    if (!dns_server_wait_synced(s, 60000))
        ck_warn("dns: informers not synced after 60 s; serving what is known");
    printf("dns: serving %s on %s:%d, healthz port %d\n", domain, addr, dns_server_port(s), hbound);
    fflush(stdout);
    while (!stopping)
        usleep(100000);
    ck_compsrv_stop(hs);
    dns_server_stop(s);
    ck_client_free(client);
    return 0;
}

CK_CMD(dns, "dns", cmd_dns, "cluster DNS: answers <svc>.<ns>.svc.<domain> from the API");
