/* SPDX-License-Identifier: Apache-2.0 */
/* ckube bench: loads N pods into an API server (ours, started on a temp dir, or any server
 * given with --server/--token) and measures LIST/GET/WATCH the way operators hit them.
 * Output: a human table, then one `bench <name> <value> <unit>` line per figure; with
 * --baseline URL, the same measurements against that second server in the same run
 * (`bench baseline_<name> ...`) and the ratios. */
#include "cmd/bench.h"
#include "cmd/cmd.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

struct bench {
    char server[256];
    char auth[512]; /* "Authorization: Bearer ..." or "" */
    long pods, watchers, nodes, namespaces;
    int runs, threads;
    pid_t child; /* our own apiserver, or 0 */
    char datadir[256];
};

/* ---- HTTP helpers (raw libcurl: LIST bodies are counted, not kept) ------------------------- */

struct sink {
    size_t bytes;
    struct ck_buf keep; /* first bytes, for continue tokens and errors */
};

static size_t sink_write(char *p, size_t sz, size_t n, void *arg)
{
    struct sink *s = arg;
    s->bytes += sz * n;
    ck_buf_append(&s->keep, p,
                  sz * n < s->keep.max - s->keep.len ? sz * n : s->keep.max - s->keep.len);
    return sz * n;
}

static CURL *handle(struct bench *b, struct curl_slist **hdrs)
{
    CURL *h = curl_easy_init();
    *hdrs = curl_slist_append(NULL, "Accept: application/json");
    if (b->auth[0])
        *hdrs = curl_slist_append(*hdrs, b->auth);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 300L);
    return h;
}

/* GET path; returns status, fills *bytes and (optionally) the first `keep` bytes. */
static long get(struct bench *b, CURL *h, const char *path, struct sink *s)
{
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", b->server, path);
    s->bytes = 0;
    ck_buf_reset(&s->keep);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    if (curl_easy_perform(h) != CURLE_OK)
        return -1;
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

static long send_json(struct bench *b, CURL *h, const char *method, const char *path,
                      const char *ctype, const char *body, struct sink *s)
{
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", b->server, path);
    s->bytes = 0;
    ck_buf_reset(&s->keep);
    char ct[128];
    snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
    struct curl_slist *hd = curl_slist_append(NULL, ct);
    hd = curl_slist_append(hd, "Accept: application/json");
    if (b->auth[0])
        hd = curl_slist_append(hd, b->auth);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    CURLcode cc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hd);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    return cc == CURLE_OK ? code : -1;
}

/* ---- load ---------------------------------------------------------------------------------- */

static void pod_json(struct ck_buf *o, long i, long nodes, long namespaces)
{
    /* ~2 KiB: 10 labels, 2 containers with env and resources, spread over nodes */
    ck_buf_reset(o);
    ck_buf_appendf(o,
                   "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"pod-%ld\","
                   "\"namespace\":\"bench-%ld\",\"labels\":{",
                   i, i % namespaces);
    for (int l = 0; l < 10; l++)
        ck_buf_appendf(o, "%s\"label-%d\":\"value-%ld\"", l ? "," : "", l, (i / (l + 1)) % 100);
    ck_buf_appendf(o,
                   ",\"app\":\"app-%ld\"},\"annotations\":{\"bench.ckube.io/note\":\"%s\"}},"
                   "\"spec\":{\"nodeName\":\"node-%ld\",\"containers\":[",
                   i % 100, "padding-padding-padding-padding-padding-padding-padding-padding",
                   i % nodes);
    for (int c = 0; c < 2; c++)
        ck_buf_appendf(o,
                       "%s{\"name\":\"c%d\",\"image\":\"registry.example/app/image-%d:v1.2.3\","
                       "\"command\":[\"/bin/server\",\"--port=80%02d\",\"--verbose\"],"
                       "\"ports\":[{\"containerPort\":80%02d,\"protocol\":\"TCP\"}],"
                       "\"env\":[{\"name\":\"A\",\"value\":\"aaaaaaaaaaaaaaaa\"},{\"name\":\"B\","
                       "\"value\":\"bbbbbbbbbbbbbbbbbbbbbbb\"},{\"name\":\"C\",\"value\":"
                       "\"ccccccccccccccccc\"}],"
                       "\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"},"
                       "\"limits\":{\"cpu\":\"500m\",\"memory\":\"256Mi\"}}}",
                       c ? "," : "", c, c, c, c);
    ck_buf_appends(o, "]}}");
}

struct loader {
    struct bench *b;
    long next; /* shared counter */
    long errors;
    char last_err[256];
};

static void *load_thread(void *arg)
{
    struct loader *L = arg;
    struct bench *b = L->b;
    struct curl_slist *hd;
    CURL *h = handle(b, &hd);
    struct sink s = {0, CK_BUF_INIT(4096)};
    struct ck_buf body = CK_BUF_INIT(1 << 16);
    char path[128];
    for (;;) {
        long i = __atomic_fetch_add(&L->next, 1, __ATOMIC_SEQ_CST);
        if (i >= b->pods)
            break;
        pod_json(&body, i, b->nodes, b->namespaces);
        snprintf(path, sizeof(path), "/api/v1/namespaces/bench-%ld/pods", i % b->namespaces);
        long code = send_json(b, h, "POST", path, "application/json", body.data, &s);
        if (code != 201 && code != 409) {
            if (__atomic_fetch_add(&L->errors, 1, __ATOMIC_SEQ_CST) == 0)
                snprintf(L->last_err, sizeof(L->last_err), "HTTP %ld: %.200s", code,
                         s.keep.data ? s.keep.data : "");
        }
    }
    ck_buf_release(&body);
    ck_buf_release(&s.keep);
    curl_easy_cleanup(h);
    curl_slist_free_all(hd);
    return NULL;
}

static int load(struct bench *b, double *creates_per_s)
{
    struct curl_slist *hd;
    CURL *h = handle(b, &hd);
    struct sink s = {0, CK_BUF_INIT(4096)};
    char body[256];
    for (long n = 0; n < b->namespaces; n++) {
        snprintf(body, sizeof(body),
                 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
                 "\"metadata\":{\"name\":\"bench-%ld\"}}",
                 n);
        send_json(b, h, "POST", "/api/v1/namespaces", "application/json", body, &s);
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(hd);
    ck_buf_release(&s.keep);
    struct loader L = {b, 0, 0, ""};
    pthread_t *t = ck_calloc((size_t)b->threads, sizeof(*t));
    int64_t t0 = ck_mono_ns();
    for (int i = 0; i < b->threads; i++)
        pthread_create(&t[i], NULL, load_thread, &L);
    for (int i = 0; i < b->threads; i++)
        pthread_join(t[i], NULL);
    double secs = (double)(ck_mono_ns() - t0) / 1e9;
    free(t);
    *creates_per_s = (double)b->pods / secs;
    if (L.errors) {
        fprintf(stderr, "bench: %ld creates failed, first: %s\n", L.errors, L.last_err);
        return L.errors * 100 > b->pods ? -1 : 0;
    }
    return 0;
}

/* ---- measurements -------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median ms of `runs` GETs of path; *bytes gets the response size. */
static double time_get(struct bench *b, CURL *h, const char *path, size_t *bytes)
{
    struct sink s = {0, CK_BUF_INIT(512)};
    double v[16];
    int n = b->runs > 16 ? 16 : b->runs;
    for (int i = 0; i < n; i++) {
        int64_t t0 = ck_mono_ns();
        long code = get(b, h, path, &s);
        v[i] = (double)(ck_mono_ns() - t0) / 1e6;
        if (code != 200)
            fprintf(stderr, "bench: GET %s: HTTP %ld %.200s\n", path, code,
                    s.keep.data ? s.keep.data : "");
    }
    if (bytes)
        *bytes = s.bytes;
    ck_buf_release(&s.keep);
    return median(v, n);
}

/* Pages through all pods with limit=500; returns total ms (median of runs). */
static double time_paged(struct bench *b, CURL *h, long *items_pages)
{
    double v[16];
    int n = b->runs > 16 ? 16 : b->runs;
    for (int r = 0; r < n; r++) {
        char path[4096] = "/api/v1/pods?limit=500";
        struct sink s = {0, CK_BUF_INIT(1 << 20)};
        int64_t t0 = ck_mono_ns();
        long pages = 0;
        for (;;) {
            if (get(b, h, path, &s) != 200)
                break;
            pages++;
            /* the continue token sits in metadata, before items */
            const char *c = s.keep.data ? strstr(s.keep.data, "\"continue\":\"") : NULL;
            if (!c)
                break;
            c += 12;
            const char *e = strchr(c, '"');
            if (!e || e == c)
                break;
            snprintf(path, sizeof(path), "/api/v1/pods?limit=500&continue=%.*s", (int)(e - c), c);
        }
        v[r] = (double)(ck_mono_ns() - t0) / 1e6;
        *items_pages = pages;
        ck_buf_release(&s.keep);
    }
    return median(v, n);
}

/* ---- watch fan-out ------------------------------------------------------------------------- */

struct watcher {
    char tail[64]; /* last bytes seen, to match a marker split across chunks */
    size_t tlen;
    int64_t seen_ns; /* when the current marker arrived */
    const char *marker;
};

static size_t watch_write(char *p, size_t sz, size_t n, void *arg)
{
    struct watcher *w = arg;
    size_t len = sz * n;
    if (w->marker && !w->seen_ns) {
        char buf[256];
        size_t take = len < sizeof(buf) - w->tlen - 1 ? len : sizeof(buf) - w->tlen - 1;
        memcpy(buf, w->tail, w->tlen);
        /* the marker is near the end of the event: look at the last bytes of the chunk too */
        memcpy(buf + w->tlen, p + len - take, take);
        buf[w->tlen + take] = 0;
        if (strstr(buf, w->marker) || memmem(p, len, w->marker, strlen(w->marker)))
            w->seen_ns = ck_mono_ns();
    }
    size_t keep = len < 32 ? len : 32;
    memcpy(w->tail, p + len - keep, keep);
    w->tlen = keep;
    return len;
}

struct fanout {
    struct bench *b;
    CURLM *multi;
    volatile int stop;
};

static void *fanout_loop(void *arg)
{
    struct fanout *f = arg;
    while (!f->stop) {
        int running;
        curl_multi_perform(f->multi, &running);
        curl_multi_poll(f->multi, NULL, 0, 20, NULL);
    }
    return NULL;
}

static int fanout(struct bench *b, double *p50, double *p99)
{
    long W = b->watchers;
    struct watcher *ws = ck_calloc((size_t)W, sizeof(*ws));
    CURL **hs = ck_calloc((size_t)W, sizeof(*hs));
    struct curl_slist *hd;
    CURL *ctl = handle(b, &hd);
    struct sink s = {0, CK_BUF_INIT(1 << 16)};
    get(b, ctl, "/api/v1/namespaces/bench-0/pods?limit=1", &s);
    char rv[32] = "0";
    const char *r = s.keep.data ? strstr(s.keep.data, "\"resourceVersion\":\"") : NULL;
    if (r)
        snprintf(rv, sizeof(rv), "%.*s", (int)strcspn(r + 19, "\""), r + 19);
    struct fanout f = {b, curl_multi_init(), 0};
    curl_multi_setopt(f.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)W + 8);
    char url[512];
    snprintf(url, sizeof(url), "%s/api/v1/namespaces/bench-0/pods?watch=1&resourceVersion=%s",
             b->server, rv);
    for (long i = 0; i < W; i++) {
        hs[i] = curl_easy_init();
        curl_easy_setopt(hs[i], CURLOPT_URL, url);
        curl_easy_setopt(hs[i], CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(hs[i], CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(hs[i], CURLOPT_SSL_VERIFYHOST, 0L);
        curl_easy_setopt(hs[i], CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(hs[i], CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(hs[i], CURLOPT_WRITEFUNCTION, watch_write);
        curl_easy_setopt(hs[i], CURLOPT_WRITEDATA, &ws[i]);
        curl_multi_add_handle(f.multi, hs[i]);
    }
    pthread_t t;
    pthread_create(&t, NULL, fanout_loop, &f);
    sleep(W > 200 ? 3 : 1); /* let every watch connect */
    double *lat = ck_calloc((size_t)(W * b->runs), sizeof(*lat));
    long nlat = 0, missed = 0;
    char marker[64], body[256];
    for (int round = 0; round < b->runs; round++) {
        snprintf(marker, sizeof(marker), "fanout-%d-%ld", round, (long)getpid());
        for (long i = 0; i < W; i++) {
            __atomic_store_n(&ws[i].seen_ns, 0, __ATOMIC_SEQ_CST);
            ws[i].marker = marker;
        }
        snprintf(body, sizeof(body),
                 "{\"metadata\":{\"annotations\":{\"bench.ckube.io/fanout\":\"%s\"}}}", marker);
        int64_t t0 = ck_mono_ns();
        send_json(b, ctl, "PATCH", "/api/v1/namespaces/bench-0/pods/pod-0",
                  "application/merge-patch+json", body, &s);
        int64_t deadline = t0 + 10 * 1000000000LL;
        for (;;) {
            long done = 0;
            for (long i = 0; i < W; i++)
                done += __atomic_load_n(&ws[i].seen_ns, __ATOMIC_SEQ_CST) != 0;
            if (done == W || ck_mono_ns() > deadline)
                break;
            usleep(1000);
        }
        for (long i = 0; i < W; i++) {
            int64_t seen = __atomic_load_n(&ws[i].seen_ns, __ATOMIC_SEQ_CST);
            if (seen)
                lat[nlat++] = (double)(seen - t0) / 1e6;
            else
                missed++;
        }
    }
    f.stop = 1;
    pthread_join(t, NULL);
    for (long i = 0; i < W; i++) {
        curl_multi_remove_handle(f.multi, hs[i]);
        curl_easy_cleanup(hs[i]);
    }
    curl_multi_cleanup(f.multi);
    curl_easy_cleanup(ctl);
    curl_slist_free_all(hd);
    ck_buf_release(&s.keep);
    qsort(lat, (size_t)nlat, sizeof(*lat), cmp_double);
    *p50 = nlat ? lat[nlat / 2] : -1;
    *p99 = nlat ? lat[(nlat * 99) / 100 < nlat ? (nlat * 99) / 100 : nlat - 1] : -1;
    if (missed)
        fprintf(stderr, "bench: %ld watcher deliveries missed (10 s timeout)\n", missed);
    free(lat);
    free(ws);
    free(hs);
    return missed ? -1 : 0;
}

/* ---- our own server ------------------------------------------------------------------------ */

static long rss_bytes(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

static int start_server(struct bench *b)
{
    snprintf(b->datadir, sizeof(b->datadir), "/tmp/ckube-bench.XXXXXX");
    if (!mkdtemp(b->datadir))
        return -1;
    int port = 20000 + (int)(getpid() % 20000);
    snprintf(b->server, sizeof(b->server), "http://127.0.0.1:%d", port);
    char portarg[16];
    snprintf(portarg, sizeof(portarg), "%d", port);
    b->child = fork();
    if (b->child == 0) {
        char logp[300];
        snprintf(logp, sizeof(logp), "%s/apiserver.log", b->datadir);
        if (!freopen(logp, "w", stderr))
            _exit(127);
        execl("/proc/self/exe", "ckube", "apiserver", "--data-dir", b->datadir, "--secure-port",
              "0", "--insecure-port", portarg, (char *)NULL);
        _exit(127);
    }
    struct curl_slist *hd;
    CURL *h = handle(b, &hd);
    struct sink s = {0, CK_BUF_INIT(256)};
    long code = 0;
    for (int i = 0; i < 200 && code != 200; i++) {
        usleep(50000);
        code = get(b, h, "/readyz", &s);
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(hd);
    ck_buf_release(&s.keep);
    return code == 200 ? 0 : -1;
}

static void stop_server(struct bench *b)
{
    if (b->child <= 0)
        return;
    kill(b->child, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(b->child, NULL, WNOHANG) == b->child)
            goto removed;
        usleep(50000);
    }
    kill(b->child, SIGKILL);
    waitpid(b->child, NULL, 0);
removed:;
    char cmd[320];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b->datadir);
    if (system(cmd) != 0)
        ck_warn("bench: could not remove %s", b->datadir);
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ---- main ---------------------------------------------------------------------------------- */

struct figure {
    const char *name;
    double value;
    const char *unit;
    const char *what;
    int lower_is_better; /* -1: a size, not compared with the baseline */
};

/* The table and the machine lines; with a baseline (the same measurements against another
 * API server in the same run), the ratios too. */
static void report(const struct figure *f, size_t n, const struct figure *base,
                   const char *base_url)
{
    printf("\n%-26s %14s %-6s  %s\n", "figure", "value", "unit", "what");
    for (size_t i = 0; i < n; i++)
        printf("%-26s %14.2f %-6s  %s\n", f[i].name, f[i].value, f[i].unit, f[i].what);
    printf("\n");
    for (size_t i = 0; i < n; i++)
        printf("bench %s %.3f %s\n", f[i].name, f[i].value, f[i].unit);
    if (!base)
        return;
    printf("\nbaseline %s, same run:\n", base_url);
    for (size_t i = 0; i < n; i++)
        printf("bench baseline_%s %.3f %s\n", base[i].name, base[i].value, base[i].unit);
    printf("\nckube vs baseline %s:\n", base_url);
    for (size_t i = 0; i < n; i++) {
        if (f[i].lower_is_better < 0 || base[i].value <= 0 || f[i].value <= 0)
            continue;
        double ratio =
            f[i].lower_is_better ? base[i].value / f[i].value : f[i].value / base[i].value;
        printf("  %-24s ckube %.2f vs baseline %.2f %s: %.1fx %s\n", f[i].name, f[i].value,
               base[i].value, f[i].unit, ratio, ratio >= 1 ? "better" : "worse");
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: ckube bench [--pods N] [--watchers W] [--runs R] [--threads T]\n"
                    "                   [--server URL [--token T]]\n"
                    "                   [--baseline URL [--baseline-token T]]\n"
                    "  --baseline: the same measurements against a second API server (for\n"
                    "  example kube-apiserver on etcd), then the ratios\n");
    return 2;
}

#define NFIG 20

/* Loads b->pods pods into b->server and measures; fills f[NFIG]. */
static int measure(struct bench *b, struct figure *f)
{
    printf(
        "bench: %ld pods over %ld nodes in %ld namespaces, %ld watchers, median of %d, server %s\n",
        b->pods, b->nodes, b->namespaces, b->watchers, b->runs, b->server);
    fflush(stdout);
    long rss_before = b->child ? rss_bytes(b->child) : -1;
    double creates;
    int rc = load(b, &creates);
    long rss_after = b->child ? rss_bytes(b->child) : -1;
    struct curl_slist *hd;
    CURL *h = handle(b, &hd);
    size_t all_bytes = 0, sz = 0;
    char sel[256];
    double all_norv = time_get(b, h, "/api/v1/pods", &all_bytes);
    double all_rv0 = time_get(b, h, "/api/v1/pods?resourceVersion=0", &sz);
    snprintf(sel, sizeof(sel), "/api/v1/pods?fieldSelector=spec.nodeName%%3Dnode-%ld",
             b->nodes / 2);
    double node_norv = time_get(b, h, sel, &sz);
    snprintf(sel, sizeof(sel),
             "/api/v1/pods?fieldSelector=spec.nodeName%%3Dnode-%ld&resourceVersion=0",
             b->nodes / 2);
    double node_rv0 = time_get(b, h, sel, &sz);
    double label = time_get(b, h, "/api/v1/pods?labelSelector=app%3Dapp-7", &sz);
    long pages = 0;
    double paged = time_paged(b, h, &pages);
    snprintf(sel, sizeof(sel), "/api/v1/namespaces/bench-%ld/pods", b->namespaces / 2);
    double ns = time_get(b, h, sel, &sz);
    double one = time_get(b, h, "/api/v1/namespaces/bench-0/pods/pod-0", &sz);
    curl_easy_cleanup(h);
    curl_slist_free_all(hd);
    /* kubectl get pods: a Table of every pod, first (rows printed) and then from the cells
     * kept with each object */
    h = handle(b, &hd);
    curl_slist_free_all(hd);
    hd = curl_slist_append(NULL, "Accept: application/json;as=Table;v=v1;g=meta.k8s.io");
    if (b->auth[0])
        hd = curl_slist_append(hd, b->auth);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    int runs = b->runs;
    b->runs = 1;
    double table_first = time_get(b, h, "/api/v1/pods", &sz);
    b->runs = runs;
    double table = time_get(b, h, "/api/v1/pods", &sz);
    curl_easy_cleanup(h);
    curl_slist_free_all(hd);
    double p50 = -1, p99 = -1;
    if (b->watchers > 0 && fanout(b, &p50, &p99) < 0)
        rc = -1;
    long rss_end = b->child ? rss_bytes(b->child) : -1;
    const struct figure all[] = {
        {"creates_per_s", creates, "1/s", "concurrent pod creates", 0},
        {"list_all_norv_ms", all_norv, "ms", "LIST all pods, no resourceVersion", 1},
        {"list_all_rv0_ms", all_rv0, "ms", "LIST all pods, resourceVersion=0", 1},
        {"list_all_mb_per_s", (double)all_bytes / 1e6 / (all_norv / 1000), "MB/s",
         "full LIST throughput", 0},
        {"list_node_norv_ms", node_norv, "ms", "LIST fieldSelector=spec.nodeName, no RV", 1},
        {"list_node_rv0_ms", node_rv0, "ms", "LIST fieldSelector=spec.nodeName, RV=0", 1},
        {"list_label_ms", label, "ms", "LIST labelSelector app=app-7 (1%)", 1},
        {"list_paged_500_total_ms", paged, "ms", "all pages of limit=500", 1},
        {"list_ns_ms", ns, "ms", "LIST one namespace (1000 pods)", 1},
        {"get_one_ms", one, "ms", "GET one pod", 1},
        {"table_list_first_us_per_row", table_first * 1000 / (double)b->pods, "us",
         "LIST all pods as a Table, first time, per row", 1},
        {"table_list_us_per_row", table * 1000 / (double)b->pods, "us",
         "LIST all pods as a Table again, per row", 1},
        /* issue 19's bar: the first Table LIST after every pod was written */
        {"list_table_us_per_row", table_first * 1000 / (double)b->pods, "us",
         "kubectl get pods -A (Table) after the writes, per row", 1},
        {"watch_fanout_p50_ms", p50, "ms", "update -> delivered to all watchers, p50", 1},
        {"watch_fanout_p99_ms", p99, "ms", "update -> delivered to all watchers, p99", 1},
        {"rss_before_load_bytes", (double)rss_before, "B", "server RSS before load", 1},
        {"rss_after_load_bytes", (double)rss_after, "B", "server RSS after load", 1},
        {"rss_after_watch_bytes", (double)rss_end, "B", "server RSS at the end", 1},
        {"stored_json_bytes", (double)all_bytes, "B", "bytes of the full pod LIST", -1},
        {"list_paged_pages", (double)pages, "pages", "pages seen by the paged LIST", -1},
    };
    _Static_assert(sizeof(all) / sizeof(all[0]) == NFIG, "NFIG");
    memcpy(f, all, sizeof(all));
    return rc;
}

static int cmd_bench(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "scheduler"))
        return cmd_bench_scheduler(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "pods"))
        return cmd_bench_pods(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "exec"))
        return cmd_bench_exec(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "controllers"))
        return cmd_bench_controllers(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "proxy"))
        return cmd_bench_proxy(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "dns"))
        return cmd_bench_dns(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "apf"))
        return cmd_bench_apf(argc - 1, argv + 1);
    struct bench b = {.pods = 100000, .watchers = 1000, .runs = 5, .threads = 32};
    const char *server = NULL, *token = NULL, *baseline = NULL, *baseline_token = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--pods") && v)
            b.pods = atol(argv[++i]);
        else if (!strcmp(a, "--watchers") && v)
            b.watchers = atol(argv[++i]);
        else if (!strcmp(a, "--runs") && v)
            b.runs = atoi(argv[++i]);
        else if (!strcmp(a, "--threads") && v)
            b.threads = atoi(argv[++i]);
        else if (!strcmp(a, "--server") && v)
            server = argv[++i];
        else if (!strcmp(a, "--token") && v)
            token = argv[++i];
        else if (!strcmp(a, "--baseline") && v)
            baseline = argv[++i];
        else if (!strcmp(a, "--baseline-token") && v)
            baseline_token = argv[++i];
        else if (!ck_log_parse_flag(argc, argv, &i))
            return usage();
    }
    if (b.pods < 1 || b.runs < 1 || b.threads < 1 || b.watchers < 0)
        return usage();
    b.nodes = b.pods / 25 > 0 ? b.pods / 25 : 1;
    b.namespaces = b.pods / 1000 > 0 ? b.pods / 1000 : 1;
    raise_nofile();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (token)
        snprintf(b.auth, sizeof(b.auth), "Authorization: Bearer %s", token);
    if (server) {
        snprintf(b.server, sizeof(b.server), "%s", server);
    } else if (start_server(&b) < 0) {
        fprintf(stderr, "bench: could not start ckube apiserver (log in %s)\n", b.datadir);
        stop_server(&b);
        return 1;
    }
    struct figure f[NFIG], base[NFIG];
    int rc = measure(&b, f);
    stop_server(&b);
    if (baseline) {
        struct bench bb = b;
        bb.child = 0;
        snprintf(bb.server, sizeof(bb.server), "%s", baseline);
        bb.auth[0] = 0;
        if (baseline_token)
            snprintf(bb.auth, sizeof(bb.auth), "Authorization: Bearer %s", baseline_token);
        if (measure(&bb, base) < 0)
            rc = -1;
    }
    report(f, NFIG, baseline ? base : NULL, baseline);
    curl_global_cleanup();
    return rc < 0 ? 1 : 0;
}

CK_CMD(bench, "bench", cmd_bench, "load pods into an API server and measure LIST/GET/WATCH");
