/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's local health server (the kubelet's healthz port, 10248 by default): plain
 * HTTP/1.1 on one thread, GET /healthz, /livez, /readyz (upstream's named checks, ?verbose,
 * ?exclude=, /<endpoint>/<check>) and GET /metrics (text 0.0.4, or OpenMetrics when asked). */
#include "agent/agent_int.h"
#include "ckube/wq.h"
#include "lib/buf.h"
#include "lib/healthz.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/banned.h"

struct ag_httpd {
    struct agent *ag;
    int fd, port;
    volatile int stop;
    pthread_t th;
};

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    long v = 0;
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmRSS:", 6))
            v = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

/* The kubelet's families that the agent can tell: kubelet_node_name, kubelet_running_pods
 * (pods whose reported phase is Running). */
static void upstream_metrics(struct agent *ag, struct ck_buf *b)
{
    size_t running = 0, it = 0;
    const char *k;
    void *v;
    pthread_mutex_lock(&ag->mu);
    while (ck_strmap_next(&ag->pods, &it, &k, &v)) {
        struct ag_pod *p = v;
        const char *ph = p->pod ? json_string_value(json_object_get(
                                      json_object_get(p->pod, "status"), "phase"))
                                : NULL;
        if (!p->api_gone && ph && !strcmp(ph, "Running"))
            running++;
    }
    pthread_mutex_unlock(&ag->mu);
    ck_metrics_header(b, "kubelet_node_name", "The node's name. The count is always 1.", "gauge");
    for (int i = 0; i < ag->nnodes; i++) {
        ck_buf_appends(b, "kubelet_node_name{node=\"");
        ck_metrics_escape(b, ag->nodes[i].name);
        ck_buf_appends(b, "\"} 1\n");
    }
    ck_metrics_header(b, "kubelet_running_pods",
                      "Number of pods that have a running pod sandbox", "gauge");
    ck_buf_appendf(b, "kubelet_running_pods %zu\n", running);
}

void ag_httpd_metrics(struct agent *ag, struct ck_buf *b)
{
    struct ag_metrics *m = &ag->m;
    pthread_mutex_lock(&ag->mu);
    size_t npods = ag->pods.len;
    pthread_mutex_unlock(&ag->mu);
#define C(name, help, v)                                                                           \
    ck_buf_appendf(b, "# HELP %s %s\n# TYPE %s counter\n%s %ld\n", name, help, name, name,         \
                   (long)atomic_load(&v))
#define G(name, help, v)                                                                           \
    ck_buf_appendf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %ld\n", name, help, name, name, (long)(v))
    G("ckube_agent_nodes", "Nodes served by this process.", ag->nnodes);
    G("ckube_agent_pods", "Pods known to the pod workers.", npods);
    G("ckube_agent_resident_memory_kib", "Resident set size of the process.", rss_kib());
    C("ckube_agent_pod_syncs_total", "Pod worker syncs.", m->pod_syncs);
    C("ckube_agent_pod_sync_errors_total", "Pod worker syncs that failed.", m->pod_sync_errors);
    C("ckube_agent_pod_status_patches_total", "pods/status patches sent.", m->status_patches);
    C("ckube_agent_pod_status_patch_errors_total", "pods/status patches that failed.",
      m->status_patch_errors);
    C("ckube_agent_containers_started_total", "Containers started.", m->containers_started);
    C("ckube_agent_pod_final_deletes_total", "Final pod deletions (grace 0).", m->final_deletes);
    C("ckube_agent_node_status_posts_total", "Node status updates posted.", m->node_status_posts);
    C("ckube_agent_node_status_errors_total", "Node status updates that failed.",
      m->node_status_errors);
    C("ckube_agent_lease_renewals_total", "Node Lease renewals.", m->lease_renews);
    C("ckube_agent_lease_errors_total", "Node Lease renewals that failed.", m->lease_errors);
    C("ckube_agent_lease_late_total", "Lease renewals started more than 2 s after they were due.",
      m->lease_late);
    C("ckube_agent_pleg_relists_total", "PLEG relists (all nodes).", m->pleg_relists);
    C("ckube_agent_pleg_events_total", "Pods the PLEG saw change.", m->pleg_events);
    long relists = atomic_load(&m->pleg_relists);
    /* seconds, not microseconds: promtool rejects abbreviated units in names */
    ck_metrics_header(b, "ckube_agent_pleg_relist_avg_seconds",
                      "Mean PLEG relist duration (all nodes).", "gauge");
    ck_buf_appendf(b, "ckube_agent_pleg_relist_avg_seconds %.9f\n",
                   relists ? (double)atomic_load(&m->pleg_relist_ns_total) / relists / 1e9 : 0);
    ck_metrics_header(b, "ckube_agent_pleg_relist_max_seconds", "Longest PLEG relist (all nodes).",
                      "gauge");
    ck_buf_appendf(b, "ckube_agent_pleg_relist_max_seconds %.9f\n",
                   (double)atomic_load(&m->pleg_relist_ns_max) / 1e9);
#undef C
#undef G
    upstream_metrics(ag, b);
    ag_lifecycle_metrics(ag, b); /* kubelet_pod_start_duration_seconds, prober_probe_total */
    ck_metrics_process(b);
    wq_metrics(b);
}

/* The kubelet's healthz checks: ping, log, syncloop (the agent's loop is alive while this
 * thread serves). */
static const struct ck_hcheck checks[] = {{"ping", NULL}, {"log", NULL}, {"syncloop", NULL}};

int ag_httpd_health(struct agent *ag, const char *target, struct ck_buf *b)
{
    return ck_healthz_serve(target, checks, 3, ag, b);
}

static void serve(struct ag_httpd *h, int c)
{
    char req[2048];
    size_t n = 0;
    struct pollfd pfd = {c, POLLIN, 0};
    while (n < sizeof(req) - 1 && poll(&pfd, 1, 2000) > 0) {
        ssize_t r = read(c, req + n, sizeof(req) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        req[n] = 0;
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    req[n] = 0;
    struct ck_buf body = CK_BUF_INIT(1 << 22);
    int code = 200;
    const char *ctype = "text/plain; charset=utf-8";
    char target[600] = "";
    if (!strncmp(req, "GET ", 4))
        sscanf(req + 4, "%599s", target);
    if (!strcmp(target, "/metrics")) {
        struct ck_buf text = CK_BUF_INIT(1 << 22);
        const char *acc = strcasestr(req, "\r\naccept:");
        const char *eol = acc ? strstr(acc + 2, "\r\n") : NULL;
        ag_httpd_metrics(h->ag, &text);
        if (acc && eol && ck_metrics_wants_openmetrics(acc, (size_t)(eol - acc))) {
            ck_metrics_to_openmetrics(text.data ? text.data : "", text.len, &body);
            ctype = CK_METRICS_OM_CTYPE;
        } else {
            ck_buf_append(&body, text.data ? text.data : "", text.len);
            ctype = CK_METRICS_TEXT_CTYPE;
        }
        ck_buf_release(&text);
    } else if (!target[0] || !(code = ck_healthz_serve(target, checks, 3, h->ag, &body))) {
        code = 404;
        ck_buf_appends(&body, "404 page not found\n");
    }
    struct ck_buf out = CK_BUF_INIT(1 << 23);
    ck_buf_appendf(&out,
                   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   code, code == 200 ? "OK" : code == 404 ? "Not Found" : "Internal Server Error", ctype,
                   body.len);
    ck_buf_append(&out, body.data, body.len);
    for (size_t off = 0; off < out.len;) {
        ssize_t w = write(c, out.data + off, out.len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    ck_buf_release(&out);
    ck_buf_release(&body);
}

static void *loop(void *arg)
{
    struct ag_httpd *h = arg;
    while (!h->stop) {
        struct pollfd pfd = {h->fd, POLLIN, 0};
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        int c = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        serve(h, c);
        close(c);
    }
    return NULL;
}

struct ag_httpd *ag_httpd_start(struct agent *ag, const char *bind_addr, int port,
                                struct ck_err *err)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1) {
        ck_err_set(err, CK_R_BAD_REQUEST, "bad bind address %s", bind_addr);
        return NULL;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
        ck_err_sys(err, errno, "listen %s:%d", bind_addr, port);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    socklen_t sl = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    struct ag_httpd *h = ck_calloc(1, sizeof(*h));
    h->ag = ag;
    h->fd = fd;
    h->port = ntohs(sa.sin_port);
    pthread_create(&h->th, NULL, loop, h);
    return h; /* the streaming routes are served by the kubelet server (kubeletsrv.c) */
}

int ag_httpd_port(const struct ag_httpd *h)
{
    return h ? h->port : -1;
}

void ag_httpd_stop(struct ag_httpd *h)
{
    if (!h)
        return;
    h->stop = 1;
    pthread_join(h->th, NULL);
    close(h->fd);
    free(h);
}
