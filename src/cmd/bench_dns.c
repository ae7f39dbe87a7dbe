/* SPDX-License-Identifier: Apache-2.0 */
/* `ckube bench dns [--services N] [--threads T] [--seconds S] [--server URL [--token T]]`:
 * cluster DNS throughput. By default it starts `ckube server` (plain HTTP on loopback, a
 * temporary data dir) as a child, creates N Services (1,000) through the client library,
 * runs the DNS server (src/dns) in process on 127.0.0.1 fed by its informers, and has T
 * client threads (4) each keep one A query for a random existing Service in flight for S
 * seconds (5). Prints
 *   bench dns_qps <v> qps        answered queries per second (all NOERROR with one A record)
 *   bench dns_p99_us <v> us      99th percentile round trip */
#include "ckube/client.h"
#include "cmd/bench.h"
#include "cmd/cmd.h"
#include "dns/dns.h"
#include "lib/timeutil.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/banned.h"

#define NS "default"
#define MAX_SAMPLES (1 << 21)

struct bd {
    int nsvc, nthreads, seconds, port;
    uint8_t **q; /* one query per service, wire format */
    size_t *qlen;
};

struct bd_thread {
    struct bd *b;
    pthread_t th;
    unsigned seed;
    long ok, bad, lost;
    uint32_t *lat_us;
    size_t nlat;
};

static pid_t start_server(char *url, size_t urllen, char *dir, size_t dirlen)
{
    snprintf(dir, dirlen, "/tmp/ckube-bench-dns.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    int port = 20000 + (int)((getpid() * 7) % 20000);
    snprintf(url, urllen, "http://127.0.0.1:%d", port);
    char portarg[16], data[300];
    snprintf(portarg, sizeof(portarg), "%d", port);
    snprintf(data, sizeof(data), "%s/data", dir);
    pid_t pid = fork();
    if (pid == 0) {
        char logp[300];
        snprintf(logp, sizeof(logp), "%s/server.log", dir);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (!freopen(logp, "w", stderr) || !freopen("/dev/null", "w", stdout))
            _exit(127);
        execl("/proc/self/exe", "ckube", "server", "--data-dir", data, "--secure-port", "0",
              "--insecure-port", portarg, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int create_services(struct ck_client *c, int n)
{
    for (int i = 0; i < n; i++) {
        char name[40];
        snprintf(name, sizeof(name), "bench-dns-%d", i);
        json_t *s =
            json_pack("{s:s,s:s,s:{s:s},s:{s:[{s:s,s:i}]}}", "apiVersion", "v1", "kind", "Service",
                      "metadata", "name", name, "spec", "ports", "name", "http", "port", 80);
        struct ck_err err = CK_ERR_INIT;
        int rc = ck_client_create_json(c, "/api/v1/namespaces/" NS "/services", s, NULL, &err);
        json_decref(s);
        if (rc < 0 && err.reason != CK_R_ALREADY_EXISTS) {
            fprintf(stderr, "bench dns: create service %s: %s\n", name, err.msg);
            return -1;
        }
    }
    return 0;
}

static void *client_main(void *arg)
{
    struct bd_thread *t = arg;
    struct bd *b = t->b;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)b->port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    struct timeval tv = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("bench dns: client socket");
        return NULL;
    }
    int64_t end = ck_mono_ns() + (int64_t)b->seconds * 1000000000LL;
    uint8_t resp[2048];
    uint16_t id = (uint16_t)t->seed;
    while (ck_mono_ns() < end) {
        int k = (int)(rand_r(&t->seed) % (unsigned)b->nsvc);
        uint8_t q[512];
        size_t ql = b->qlen[k];
        memcpy(q, b->q[k], ql);
        id++;
        q[0] = (uint8_t)(id >> 8);
        q[1] = (uint8_t)id;
        int64_t t0 = ck_mono_ns();
        if (send(fd, q, ql, 0) != (ssize_t)ql) {
            t->lost++;
            continue;
        }
        ssize_t n;
        do
            n = recv(fd, resp, sizeof(resp), 0);
        while (n >= 2 && LDNS_ID_WIRE(resp) != id); /* a late answer to a lost query */
        if (n < 0) {
            t->lost++;
            continue;
        }
        int64_t dt = ck_mono_ns() - t0;
        ldns_pkt *p = NULL;
        bool good = ldns_wire2pkt(&p, resp, (size_t)n) == LDNS_STATUS_OK &&
                    ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR && ldns_pkt_ancount(p) == 1;
        ldns_pkt_free(p);
        if (!good) {
            t->bad++;
            continue;
        }
        t->ok++;
        if (t->nlat < MAX_SAMPLES)
            t->lat_us[t->nlat++] = (uint32_t)(dt / 1000);
    }
    close(fd);
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int usage(void)
{
    fprintf(stderr, "usage: ckube bench dns [--services N] [--threads T] [--seconds S]\n"
                    "                       [--server URL [--token T]]\n");
    return 2;
}

static int measure(struct bd *b, struct dns_server *srv)
{
    b->port = dns_server_port(srv);
    b->q = ck_calloc((size_t)b->nsvc, sizeof(*b->q));
    b->qlen = ck_calloc((size_t)b->nsvc, sizeof(*b->qlen));
    for (int i = 0; i < b->nsvc; i++) {
        char name[128];
        snprintf(name, sizeof(name), "bench-dns-%d." NS ".svc.cluster.local.", i);
        ldns_pkt *p = NULL;
        ldns_pkt_query_new_frm_str(&p, name, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD);
        ldns_pkt2wire(&b->q[i], p, &b->qlen[i]);
        ldns_pkt_free(p);
    }
    struct bd_thread *t = ck_calloc((size_t)b->nthreads, sizeof(*t));
    for (int i = 0; i < b->nthreads; i++) {
        t[i].b = b;
        t[i].seed = (unsigned)(i * 7919 + 1);
        t[i].lat_us = ck_malloc(MAX_SAMPLES * sizeof(uint32_t));
        pthread_create(&t[i].th, NULL, client_main, &t[i]);
    }
    long ok = 0, bad = 0, lost = 0;
    size_t nlat = 0;
    for (int i = 0; i < b->nthreads; i++) {
        pthread_join(t[i].th, NULL);
        ok += t[i].ok, bad += t[i].bad, lost += t[i].lost;
        nlat += t[i].nlat;
    }
    uint32_t *all = ck_malloc((nlat ? nlat : 1) * sizeof(*all));
    size_t off = 0;
    for (int i = 0; i < b->nthreads; i++) {
        memcpy(all + off, t[i].lat_us, t[i].nlat * sizeof(*all));
        off += t[i].nlat;
        free(t[i].lat_us);
    }
    qsort(all, nlat, sizeof(*all), cmp_u32);
    double qps = (double)ok / b->seconds;
    uint32_t p50 = nlat ? all[nlat / 2] : 0, p99 = nlat ? all[nlat * 99 / 100] : 0;
    printf("  %ld answered, %ld wrong, %ld lost in %d s; p50 %u us, p99 %u us\n", ok, bad, lost,
           b->seconds, p50, p99);
    printf("bench dns_qps %.0f qps\n", qps);
    printf("bench dns_p99_us %u us\n", p99);
    fflush(stdout);
    for (int i = 0; i < b->nsvc; i++)
        free(b->q[i]);
    free(b->q);
    free(b->qlen);
    free(all);
    free(t);
    return ok > 0 && bad == 0 ? 0 : 1;
}

int cmd_bench_dns(int argc, char **argv)
{
    struct bd b = {.nsvc = 1000, .nthreads = 4, .seconds = 5};
    const char *server = NULL, *token = NULL, *v;
    for (int i = 1; i < argc; i++) {
        if ((v = ck_flag_value(argc, argv, &i, "--services")))
            b.nsvc = atoi(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--threads")))
            b.nthreads = atoi(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--seconds")))
            b.seconds = atoi(v);
        else if ((v = ck_flag_value(argc, argv, &i, "--server")))
            server = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--token")))
            token = v;
        else
            return usage();
    }
    if (b.nsvc < 1 || b.nthreads < 1 || b.nthreads > 256 || b.seconds < 1)
        return usage();
    char url[256], dir[256] = "";
    pid_t child = 0;
    if (!server) {
        if ((child = start_server(url, sizeof(url), dir, sizeof(dir))) < 0)
            return fprintf(stderr, "bench dns: cannot start the server\n"), 1;
        server = url;
    }
    struct ck_client_config cc = {.server = ck_strdup(server),
                                  .token = token ? ck_strdup(token) : NULL,
                                  .insecure = true,
                                  .qps = 1e6,
                                  .burst = 1000000,
                                  .timeout_ms = 30000};
    struct ck_client *c = NULL;
    struct dns_server *srv = NULL;
    struct ck_err err = CK_ERR_INIT;
    int rc = 1;
    if (ck_client_new(&cc, &c, &err) < 0) {
        fprintf(stderr, "bench dns: %s\n", err.msg);
        goto out;
    }
    int64_t t0 = ck_mono_ns();
    json_t *ping = NULL;
    while (ck_client_get_json(c, "/api/v1/namespaces/" NS, &ping, &err) < 0 &&
           ck_mono_ns() - t0 < 60 * 1000000000LL) {
        ck_err_clear(&err);
        usleep(100000);
    }
    json_decref(ping);
    printf("bench-dns: %d Services, %d client threads, %d s, server %s\n", b.nsvc, b.nthreads,
           b.seconds, server);
    fflush(stdout);
    t0 = ck_mono_ns();
    if (create_services(c, b.nsvc) < 0)
        goto out;
    printf("  %d Services created in %.1f s\n", b.nsvc, (double)(ck_mono_ns() - t0) / 1e9);
    struct dns_server_opts so = {
        .client = c, .addr = "127.0.0.1", .upstreams = (const char *[]){NULL}, .udp_threads = 2};
    if (dns_server_start(&so, &srv, &err) < 0) {
        fprintf(stderr, "bench dns: %s\n", err.msg);
        goto out;
    }
    t0 = ck_mono_ns();
    while (dns_db_nservices(dns_server_db(srv)) < (size_t)b.nsvc &&
           ck_mono_ns() - t0 < 60 * 1000000000LL)
        usleep(20000);
    if (dns_db_nservices(dns_server_db(srv)) < (size_t)b.nsvc) {
        fprintf(stderr, "bench dns: the DNS server knows %zu of %d Services after 60 s\n",
                dns_db_nservices(dns_server_db(srv)), b.nsvc);
        goto out;
    }
    printf("  DNS server synced in %.2f s, port %d\n", (double)(ck_mono_ns() - t0) / 1e9,
           dns_server_port(srv));
    fflush(stdout);
    rc = measure(&b, srv);
out:
    dns_server_stop(srv);
    ck_client_free(c);
    ck_client_config_release(&cc);
    if (child > 0) {
        kill(child, SIGTERM);
        waitpid(child, NULL, 0);
        if (*dir) {
            char cmd[400];
            snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
            if (system(cmd) != 0)
                fprintf(stderr, "bench dns: could not remove %s\n", dir);
        }
    }
    return rc;
}
