/* SPDX-License-Identifier: Apache-2.0 */
/* `ckube bench apf`: API Priority and Fairness under load (issue 17, bar 2). An API server of
 * our own with 20,000 pods; 100 clients LIST all of them in a loop as one user that is not in
 * system:masters (a client certificate, CN apf-bench-lister, O apf-bench: the global-default
 * flow), while a node identity (system:node:apf-bench-node in system:nodes) renews its Lease
 * every 100 ms. Each phase runs over HTTP/1.1, then over HTTP/2. Prints the renewal latency
 * percentiles and the LIST throughput; `bench apf_lease_p99_ms` is the worse phase's p99
 * (goal: <= 100 ms). */
#include "cmd/bench.h"
#include "lib/buf.h"
#include "lib/certs.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/banned.h"

struct ba {
    long pods;
    int listers, seconds;
    char dir[128];
    int sport, pport;
    pid_t child;
    char lister_crt[256], lister_key[256], node_crt[256], node_key[256];
    atomic_bool stop;
    atomic_long lists_ok, lists_429, lists_err;
    atomic_llong bytes;
    bool h2;
    double lat[4096];
    int nlat, lease_err;
};

static int ba_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static pid_t ba_spawn(struct ba *b)
{
    char sp[16], pp[16], log[256];
    snprintf(sp, sizeof(sp), "%d", b->sport);
    snprintf(pp, sizeof(pp), "%d", b->pport);
    snprintf(log, sizeof(log), "%s/apiserver.log", b->dir);
    const char *argv[] = {"ckube", "apiserver",       "--data-dir", b->dir, "--secure-port",
                          sp,      "--insecure-port", pp,           NULL};
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(0);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv("/proc/self/exe", (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static size_t count_write(char *p, size_t sz, size_t n, void *arg)
{
    (void)p;
    if (arg)
        atomic_fetch_add((atomic_llong *)arg, (long long)(sz * n));
    return sz * n;
}

static size_t keep_write(char *p, size_t sz, size_t n, void *arg)
{
    ck_buf_append(arg, p, sz * n);
    return sz * n;
}

/* A request to the plain port (setup) or, with cert, the secure port. Returns the status. */
static long ba_req(struct ba *b, CURL *h, const char *cert, const char *key, const char *method,
                   const char *path, const char *body, struct ck_buf *out)
{
    char url[512];
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    (void)key; /* the handle carries the identity (ba_handle) */
    snprintf(url, sizeof(url), cert ? "https://127.0.0.1:%d%s" : "http://127.0.0.1:%d%s",
             cert ? b->sport : b->pport, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    if (!body)
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, out ? keep_write : count_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    if (out)
        ck_buf_reset(out);
    CURLcode cc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    curl_slist_free_all(hd);
    return cc == CURLE_OK ? code : -1;
}

static CURL *ba_handle(struct ba *b, const char *cert, const char *key)
{
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    if (cert) {
        char ca[256];
        snprintf(ca, sizeof(ca), "%s/ca.crt", b->dir);
        curl_easy_setopt(h, CURLOPT_SSLCERT, cert);
        curl_easy_setopt(h, CURLOPT_SSLKEY, key);
        curl_easy_setopt(h, CURLOPT_CAINFO, ca);
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                         b->h2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1);
    }
    return h;
}

struct loader {
    struct ba *b;
    atomic_long next, errors;
};

static void *load_main(void *arg)
{
    struct loader *L = arg;
    CURL *h = ba_handle(L->b, NULL, NULL);
    struct ck_buf body = CK_BUF_INIT(1 << 16);
    for (;;) {
        long i = atomic_fetch_add(&L->next, 1);
        if (i >= L->b->pods)
            break;
        ck_buf_reset(&body);
        ck_buf_appendf(&body,
                       "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p-%ld\","
                       "\"labels\":{\"app\":\"a-%ld\",\"tier\":\"t-%ld\"},\"annotations\":{"
                       "\"note\":\"padding-padding-padding-padding-padding-padding\"}},"
                       "\"spec\":{\"nodeName\":\"node-%ld\",\"containers\":[{\"name\":\"c\","
                       "\"image\":\"registry.example/app/image:v1.2.3\",\"command\":[\"/bin/"
                       "server\",\"--port=8080\"],\"env\":[{\"name\":\"A\",\"value\":\"aaaaaaa"
                       "aaaaaaaaaa\"}],\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":"
                       "\"128Mi\"}}}]}}",
                       i, i % 50, i % 7, i % 100);
        if (ba_req(L->b, h, NULL, NULL, "POST", "/api/v1/namespaces/bench-apf/pods", body.data,
                   NULL) != 201)
            atomic_fetch_add(&L->errors, 1);
    }
    ck_buf_release(&body);
    curl_easy_cleanup(h);
    return NULL;
}

static int abort_on_stop(void *arg, curl_off_t a, curl_off_t b2, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b2, (void)c, (void)d;
    return atomic_load(&((struct ba *)arg)->stop) ? 1 : 0;
}

static void *lister_main(void *arg)
{
    struct ba *b = arg;
    CURL *h = ba_handle(b, b->lister_crt, b->lister_key);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, abort_on_stop);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, b);
    while (!atomic_load(&b->stop)) {
        char url[256];
        snprintf(url, sizeof(url), "https://127.0.0.1:%d/api/v1/pods", b->sport);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_write);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b->bytes);
        CURLcode cc = curl_easy_perform(h);
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        if (atomic_load(&b->stop))
            break;
        if (cc == CURLE_OK && code == 200)
            atomic_fetch_add(&b->lists_ok, 1);
        else if (cc == CURLE_OK && code == 429)
            atomic_fetch_add(&b->lists_429, 1);
        else
            atomic_fetch_add(&b->lists_err, 1);
    }
    curl_easy_cleanup(h);
    return NULL;
}

static const char *rv_of(const struct ck_buf *o, char *out, size_t n)
{
    const char *p = o->data ? strstr(o->data, "\"resourceVersion\":\"") : NULL;
    out[0] = '\0';
    if (p) {
        p += strlen("\"resourceVersion\":\"");
        size_t k = strcspn(p, "\"");
        snprintf(out, n, "%.*s", (int)(k < n ? k : n - 1), p);
    }
    return out;
}

/* Renews the node's Lease every 100 ms (PUT with the last resourceVersion, as the kubelet). */
static void *lease_main(void *arg)
{
    struct ba *b = arg;
    CURL *h = ba_handle(b, b->node_crt, b->node_key);
    struct ck_buf out = CK_BUF_INIT(1 << 20), body = CK_BUF_INIT(4096);
    char rv[64] = "";
    const char *path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/"
                       "apf-bench-node";
    ba_req(b, h, b->node_crt, b->node_key, "GET", path, NULL, &out);
    rv_of(&out, rv, sizeof(rv));
    while (!atomic_load(&b->stop) && b->nlat < (int)(sizeof(b->lat) / sizeof(b->lat[0]))) {
        int64_t t0 = ck_mono_ns();
        struct timespec ts;
        char now[64];
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(now, sizeof(now), "%lld.%06ld", (long long)ts.tv_sec, ts.tv_nsec / 1000);
        ck_buf_reset(&body);
        ck_buf_appendf(&body,
                       "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
                       "\"metadata\":{\"name\":\"apf-bench-node\",\"namespace\":"
                       "\"kube-node-lease\",\"resourceVersion\":\"%s\",\"annotations\":{"
                       "\"bench\":\"%s\"}},\"spec\":{\"holderIdentity\":\"apf-bench-node\","
                       "\"leaseDurationSeconds\":40}}",
                       rv, now);
        long code = ba_req(b, h, b->node_crt, b->node_key, "PUT", path, body.data, &out);
        double ms = (double)(ck_mono_ns() - t0) / 1e6;
        if (code == 200) {
            b->lat[b->nlat++] = ms;
            rv_of(&out, rv, sizeof(rv));
        } else {
            b->lease_err++;
            if (b->lease_err <= 3)
                fprintf(stderr, "bench apf: lease renewal: HTTP %ld %.200s\n", code,
                        out.data ? out.data : "");
            ba_req(b, h, b->node_crt, b->node_key, "GET", path, NULL, &out);
            rv_of(&out, rv, sizeof(rv));
        }
        int64_t left = 100 - (int64_t)ms;
        if (left > 0)
            usleep((useconds_t)left * 1000);
    }
    ck_buf_release(&out);
    ck_buf_release(&body);
    curl_easy_cleanup(h);
    return NULL;
}

static int cmp_d(const void *x, const void *y)
{
    double a = *(const double *)x, c = *(const double *)y;
    return a < c ? -1 : a > c;
}

static double pct(double *v, int n, double p)
{
    if (n <= 0)
        return -1;
    qsort(v, (size_t)n, sizeof(*v), cmp_d);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

struct phase_out {
    double p50, p99, max, lists_per_s, mib_per_s;
    long ok, r429, err;
    int renewals, lease_err;
};

static void run_phase(struct ba *b, bool h2, struct phase_out *o)
{
    pthread_t *t = ck_calloc((size_t)b->listers, sizeof(*t)), lt;
    b->h2 = h2;
    atomic_store(&b->stop, false);
    atomic_store(&b->lists_ok, 0);
    atomic_store(&b->lists_429, 0);
    atomic_store(&b->lists_err, 0);
    atomic_store(&b->bytes, 0);
    b->nlat = b->lease_err = 0;
    for (int i = 0; i < b->listers; i++)
        pthread_create(&t[i], NULL, lister_main, b);
    sleep(2); /* the listers' queues fill up first */
    int64_t t0 = ck_mono_ns();
    long ok0 = atomic_load(&b->lists_ok);
    long long by0 = atomic_load(&b->bytes);
    pthread_create(&lt, NULL, lease_main, b);
    sleep((unsigned)b->seconds);
    double secs = (double)(ck_mono_ns() - t0) / 1e9;
    long ok = atomic_load(&b->lists_ok) - ok0;
    long long by = atomic_load(&b->bytes) - by0;
    atomic_store(&b->stop, true);
    pthread_join(lt, NULL);
    for (int i = 0; i < b->listers; i++)
        pthread_join(t[i], NULL);
    free(t);
    o->renewals = b->nlat;
    o->lease_err = b->lease_err;
    o->p50 = pct(b->lat, b->nlat, 0.50);
    o->p99 = pct(b->lat, b->nlat, 0.99);
    o->max = b->nlat ? b->lat[b->nlat - 1] : -1;
    o->ok = ok;
    o->r429 = atomic_load(&b->lists_429);
    o->err = atomic_load(&b->lists_err);
    o->lists_per_s = (double)ok / secs;
    o->mib_per_s = (double)by / secs / (1 << 20);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    remove(p);
    return 0;
}

static int setup(struct ba *b)
{
    char ca[256], cak[256], url_ready[64];
    struct ck_err err = CK_ERR_INIT;
    CURL *h;
    struct ck_buf out = CK_BUF_INIT(1 << 16);

    (void)url_ready;
    b->sport = ba_free_port();
    b->pport = ba_free_port();
    if (!b->sport || !b->pport)
        return fprintf(stderr, "bench apf: no free port\n"), -1;
    b->child = ba_spawn(b);
    h = ba_handle(b, NULL, NULL);
    bool ready = false;
    for (int i = 0; i < 300 && !ready; i++) {
        ready = ba_req(b, h, NULL, NULL, "GET", "/readyz", NULL, &out) == 200;
        if (!ready)
            usleep(100000);
    }
    if (!ready) {
        curl_easy_cleanup(h);
        ck_buf_release(&out);
        return fprintf(stderr, "bench apf: the API server did not become ready (see %s)\n", b->dir),
               -1;
    }
    snprintf(ca, sizeof(ca), "%s/ca.crt", b->dir);
    snprintf(cak, sizeof(cak), "%s/ca.key", b->dir);
    snprintf(b->lister_crt, sizeof(b->lister_crt), "%s/lister.crt", b->dir);
    snprintf(b->lister_key, sizeof(b->lister_key), "%s/lister.key", b->dir);
    snprintf(b->node_crt, sizeof(b->node_crt), "%s/node.crt", b->dir);
    snprintf(b->node_key, sizeof(b->node_key), "%s/node.key", b->dir);
    struct ck_cert_req lr = {.kind = CK_CERT_CLIENT, .cn = "apf-bench-lister", .org = "apf-bench"};
    struct ck_cert_req nr = {
        .kind = CK_CERT_CLIENT, .cn = "system:node:apf-bench-node", .org = "system:nodes"};
    if (ck_cert_generate(&lr, ca, cak, b->lister_crt, b->lister_key, &err) < 0 ||
        ck_cert_generate(&nr, ca, cak, b->node_crt, b->node_key, &err) < 0) {
        curl_easy_cleanup(h);
        ck_buf_release(&out);
        return fprintf(stderr, "bench apf: client certificates: %s\n", err.msg), -1;
    }
    ba_req(b, h, NULL, NULL, "POST", "/api/v1/namespaces",
           "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"bench-apf\"}}",
           NULL);
    /* with RBAC on the request path the lister needs read access (view) */
    ba_req(b, h, NULL, NULL, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
           "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRoleBinding\","
           "\"metadata\":{\"name\":\"apf-bench-view\"},\"roleRef\":{\"apiGroup\":"
           "\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"view\"},"
           "\"subjects\":[{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"User\","
           "\"name\":\"apf-bench-lister\"}]}",
           NULL);
    ba_req(b, h, NULL, NULL, "POST",
           "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
           "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":"
           "\"apf-bench-node\"},\"spec\":{\"holderIdentity\":\"apf-bench-node\","
           "\"leaseDurationSeconds\":40}}",
           NULL);
    curl_easy_cleanup(h);
    ck_buf_release(&out);
    struct loader L = {.b = b};
    pthread_t t[8];
    int64_t t0 = ck_mono_ns();
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, load_main, &L);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    printf("loaded %ld pods in %.1f s (%ld failed)\n", b->pods, (double)(ck_mono_ns() - t0) / 1e9,
           atomic_load(&L.errors));
    return atomic_load(&L.errors) * 100 > b->pods ? -1 : 0;
}

int cmd_bench_apf(int argc, char **argv)
{
    struct ba *b = ck_calloc(1, sizeof(*b));
    struct phase_out ph[2];
    bool keep = false;
    int rc = 1;

    b->pods = 20000;
    b->listers = 100;
    b->seconds = 15;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--pods") && v)
            b->pods = atol(argv[++i]);
        else if (!strcmp(argv[i], "--listers") && v)
            b->listers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && v)
            b->seconds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--keep"))
            keep = true;
        else {
            fprintf(stderr, "usage: ckube bench apf [--pods N] [--listers N] [--seconds S] "
                            "[--keep]\n");
            free(b);
            return 2;
        }
    }
    if (b->pods < 1 || b->listers < 1 || b->seconds < 1) {
        free(b);
        return 2;
    }
    snprintf(b->dir, sizeof(b->dir), "/tmp/ckube-bench-apf-XXXXXX");
    if (!mkdtemp(b->dir)) {
        free(b);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (setup(b) == 0) {
        run_phase(b, false, &ph[0]);
        run_phase(b, true, &ph[1]);
        printf("\nAPI Priority and Fairness: %d clients LIST %ld pods as one user while a node "
               "renews its Lease every 100 ms (%d s a phase)\n",
               b->listers, b->pods, b->seconds);
        printf("%-9s %10s %10s %10s %10s %10s %8s %8s %9s\n", "transport", "renewals", "p50 ms",
               "p99 ms", "max ms", "LIST/s", "MiB/s", "429s", "errors");
        for (int i = 0; i < 2; i++)
            printf("%-9s %10d %10.1f %10.1f %10.1f %10.2f %8.0f %8ld %9ld\n",
                   i ? "HTTP/2" : "HTTP/1.1", ph[i].renewals, ph[i].p50, ph[i].p99, ph[i].max,
                   ph[i].lists_per_s, ph[i].mib_per_s, ph[i].r429, ph[i].err + ph[i].lease_err);
        double worst = ph[0].p99 > ph[1].p99 ? ph[0].p99 : ph[1].p99;
        printf("bench apf_lease_p99_ms %.1f ms\n", worst);
        printf("bench apf_h1_lease_p99_ms %.1f ms\n", ph[0].p99);
        printf("bench apf_h2_lease_p99_ms %.1f ms\n", ph[1].p99);
        printf("bench apf_h1_list_per_s %.2f lists/s\n", ph[0].lists_per_s);
        printf("bench apf_h2_list_per_s %.2f lists/s\n", ph[1].lists_per_s);
        printf("bench apf_list_429 %ld requests\n", ph[0].r429 + ph[1].r429);
        rc = ph[0].renewals > 0 && ph[1].renewals > 0 ? 0 : 1;
    }
    if (b->child > 0) {
        kill(b->child, SIGTERM);
        for (int i = 0; i < 150 && waitpid(b->child, NULL, WNOHANG) == 0; i++)
            usleep(100000);
        if (waitpid(b->child, NULL, WNOHANG) == 0) {
            kill(b->child, SIGKILL);
            waitpid(b->child, NULL, 0);
        }
    }
    if (!keep)
        nftw(b->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    else
        printf("data dir kept: %s\n", b->dir);
    curl_global_cleanup();
    free(b);
    return rc;
}
