/* SPDX-License-Identifier: Apache-2.0 */
/* Scale-test helper: holds N watch streams open against one API server with libcurl multi
 * (plain HTTP/1.1, TLS + HTTP/1.1, TLS + HTTP/2 with streams multiplexed over a few
 * connections, or TLS + HTTP/2 with one connection per watch) and answers line commands on stdin so a driver (idle_watchers.py) can measure
 * the server while the watches idle: `expect MARKER`, `status`, `quit`. */
#include <curl/curl.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MARK_MAX 64
#define RAMP_BATCH 50

struct watcher {
    CURL *h;
    bool got_200; /* status line 200 seen */
    bool done;    /* transfer ended (EOF or error) */
    bool seen;    /* the current marker appeared in the body */
    size_t tail_len;
    char tail[MARK_MAX]; /* last bytes of the body, for a marker split across reads */
    unsigned long bytes;
};

static char marker[MARK_MAX];
static size_t marker_len;

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(void)
{
    fprintf(stderr, "usage: watch_clients --base URL --mode h1|h1tls|h2|h2conn --count N\n"
                    "       [--token T] [--cacert FILE] [--ramp-ms MS] PATH...\n"
                    "  --ramp-ms: start %d transfers every MS ms instead of all at once\n",
            RAMP_BATCH);
    exit(2);
}

/* Looks for the marker in tail+data, then keeps the last marker_len-1 bytes as the tail. */
static void scan(struct watcher *w, const char *data, size_t n)
{
    char buf[2 * MARK_MAX];
    size_t keep = marker_len - 1, head, blen;

    if (!marker_len || w->seen)
        return;
    head = n < keep ? n : keep;
    memcpy(buf, w->tail, w->tail_len);
    memcpy(buf + w->tail_len, data, head);
    blen = w->tail_len + head;
    if (memmem(buf, blen, marker, marker_len) || memmem(data, n, marker, marker_len)) {
        w->seen = true;
        return;
    }
    if (n >= keep) {
        memcpy(w->tail, data + n - keep, keep);
        w->tail_len = keep;
    } else { /* head == n: buf holds tail + all of data */
        size_t drop = blen > keep ? blen - keep : 0;
        memcpy(w->tail, buf + drop, blen - drop);
        w->tail_len = blen - drop;
    }
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct watcher *w = arg;
    size_t n = size * nmemb;

    w->bytes += n;
    scan(w, data, n);
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    struct watcher *w = arg;
    size_t n = size * nmemb;

    if (n > 12 && memcmp(data, "HTTP/", 5) == 0) {
        const char *sp = memchr(data, ' ', n);
        if (sp && (size_t)(sp - data) + 4 <= n && memcmp(sp + 1, "200", 3) == 0)
            w->got_200 = true;
    }
    return n;
}

static void status(struct watcher *ws, int n)
{
    int running = 0, done = 0, hdr = 0, seen = 0, h2 = 0;
    unsigned long bytes = 0;

    for (int i = 0; i < n; i++) {
        long ver = 0;
        curl_easy_getinfo(ws[i].h, CURLINFO_HTTP_VERSION, &ver);
        h2 += ver == CURL_HTTP_VERSION_2_0;
        done += ws[i].done;
        running += !ws[i].done;
        hdr += ws[i].got_200;
        seen += ws[i].seen;
        bytes += ws[i].bytes;
    }
    printf("status running=%d done=%d headers=%d seen=%d h2=%d bytes=%lu\n", running, done, hdr,
           seen, h2, bytes);
    fflush(stdout);
}

/* Runs one stdin line; returns 1 on quit. */
static int command(char *line, struct watcher *ws, int n)
{
    if (strncmp(line, "expect ", 7) == 0) {
        marker_len = strlen(line + 7);
        if (marker_len == 0 || marker_len >= MARK_MAX) {
            fprintf(stderr, "watch_clients: bad marker\n");
            marker_len = 0;
            return 0;
        }
        memcpy(marker, line + 7, marker_len);
        for (int i = 0; i < n; i++) {
            ws[i].seen = false;
            ws[i].tail_len = 0;
        }
        printf("ok\n");
        fflush(stdout);
    } else if (strcmp(line, "status") == 0) {
        status(ws, n);
    } else if (strcmp(line, "quit") == 0) {
        return 1;
    } else {
        fprintf(stderr, "watch_clients: unknown command '%s'\n", line);
    }
    return 0;
}

/* Reads what stdin has; returns 1 on quit or EOF. */
static int read_stdin(struct watcher *ws, int n)
{
    static char in[4096];
    static size_t len;
    ssize_t r = read(0, in + len, sizeof(in) - 1 - len);
    char *nl;

    if (r <= 0)
        return r < 0 && errno == EINTR ? 0 : 1;
    len += (size_t)r;
    in[len] = '\0';
    while ((nl = memchr(in, '\n', len))) {
        *nl = '\0';
        if (command(in, ws, n))
            return 1;
        len -= (size_t)(nl + 1 - in);
        memmove(in, nl + 1, len);
    }
    if (len == sizeof(in) - 1)
        len = 0; /* overlong line: drop it */
    return 0;
}

static CURL *make_handle(struct watcher *w, const char *url, const char *mode,
                         struct curl_slist *hdrs, const char *cacert)
{
    CURL *h = curl_easy_init();

    if (!h)
        return NULL;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, w);
    curl_easy_setopt(h, CURLOPT_PRIVATE, w);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    if (hdrs)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (cacert)
        curl_easy_setopt(h, CURLOPT_CAINFO, cacert);
    if (strcmp(mode, "h2") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
        curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
    } else if (strcmp(mode, "h2conn") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    }
    return h;
}

static void reap(CURLM *m)
{
    CURLMsg *msg;
    int left;
    static int reported;

    while ((msg = curl_multi_info_read(m, &left))) {
        struct watcher *w = NULL;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&w);
        if (w)
            w->done = true;
        if (reported++ < 5)
            fprintf(stderr, "watch_clients: a watch ended: %s\n",
                    curl_easy_strerror(msg->data.result));
    }
}

struct opts {
    const char *base, *mode, *token, *cacert;
    int count;
    int ramp_ms; /* 0: start every transfer at once; else RAMP_BATCH every ramp_ms */
    int npaths;
    char **paths;
};

static void parse_args(int argc, char **argv, struct opts *o)
{
    int i = 1;

    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--base") == 0)
            o->base = argv[i + 1];
        else if (strcmp(argv[i], "--mode") == 0)
            o->mode = argv[i + 1];
        else if (strcmp(argv[i], "--token") == 0)
            o->token = argv[i + 1];
        else if (strcmp(argv[i], "--cacert") == 0)
            o->cacert = argv[i + 1];
        else if (strcmp(argv[i], "--count") == 0)
            o->count = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--ramp-ms") == 0)
            o->ramp_ms = atoi(argv[i + 1]);
        else
            usage();
    }
    o->paths = argv + i;
    o->npaths = argc - i;
    if (!o->base || !o->mode || o->count <= 0 || o->npaths <= 0 || o->ramp_ms < 0)
        usage();
    if (strcmp(o->mode, "h1") && strcmp(o->mode, "h1tls") && strcmp(o->mode, "h2") &&
        strcmp(o->mode, "h2conn"))
        usage();
}

int main(int argc, char **argv)
{
    struct opts o = {0};
    struct curl_slist *hdrs = NULL;
    struct watcher *ws;
    CURLM *m;
    int quit = 0, running = 0, added = 0;
    long long next_add = 0;

    parse_args(argc, argv, &o);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    if (o.token) {
        char auth[512];
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o.token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    m = curl_multi_init();
    /* h2conn: HTTP/2 without multiplexing, one connection per watch (many kubectl -w) */
    curl_multi_setopt(m, CURLMOPT_PIPELINING,
                      strcmp(o.mode, "h2") == 0 ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING);
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)o.count + 16);
    /* HTTP/2: all transfers start at once, before the first connection is known to
     * multiplex, so without a cap curl would open one connection each. Cap the connections
     * at the number the server's 100 streams per connection needs; the rest wait and are
     * multiplexed, which is what client-go's transport ends up with. */
    if (strcmp(o.mode, "h2") == 0)
        curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)(o.count + 99) / 100);
    ws = calloc((size_t)o.count, sizeof(*ws));
    if (!ws || !m)
        return 1;
    for (int i = 0; i < o.count; i++) {
        char url[2048];
        snprintf(url, sizeof(url), "%s%s", o.base, o.paths[i % o.npaths]);
        ws[i].h = make_handle(&ws[i], url, o.mode, hdrs, o.cacert);
        if (!ws[i].h) {
            fprintf(stderr, "watch_clients: cannot make transfer %d\n", i);
            return 1;
        }
    }
    while (!quit) {
        struct curl_waitfd in = {.fd = 0, .events = CURL_WAIT_POLLIN};
        int nfds = 0;

        if (added < o.count && (o.ramp_ms == 0 || now_ms() >= next_add)) {
            int end = o.ramp_ms ? added + RAMP_BATCH : o.count;
            for (; added < end && added < o.count; added++) {
                if (curl_multi_add_handle(m, ws[added].h) != CURLM_OK) {
                    fprintf(stderr, "watch_clients: cannot add transfer %d\n", added);
                    return 1;
                }
            }
            next_add = now_ms() + o.ramp_ms;
            if (added == o.count) {
                printf("ready\n");
                fflush(stdout);
            }
        }
        curl_multi_perform(m, &running);
        reap(m);
        if (curl_multi_poll(m, &in, 1, added < o.count ? o.ramp_ms : 1000, &nfds) != CURLM_OK)
            break;
        if (in.revents)
            quit = read_stdin(ws, added);
    }
    for (int i = 0; i < o.count; i++) {
        curl_multi_remove_handle(m, ws[i].h);
        curl_easy_cleanup(ws[i].h);
    }
    curl_multi_cleanup(m);
    curl_slist_free_all(hdrs);
    free(ws);
    curl_global_cleanup();
    printf("bye\n");
    fflush(stdout);
    return 0;
}
