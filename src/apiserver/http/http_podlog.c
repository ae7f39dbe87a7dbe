/* SPDX-License-Identifier: Apache-2.0 */
/* The pods/log subresource (upstream pkg/registry/core/pod/rest/log.go, pod.LogLocation and
 * genericrest.LocationStreamer): GET /api/v1/namespaces/NS/pods/NAME/log with container,
 * follow, previous, timestamps, sinceSeconds, sinceTime, tailLines, limitBytes and
 * insecureSkipTLSVerifyBackend. The options are validated (422 as ValidatePodLogOptions), the
 * Pod and its Node are read through the engine as the caller, the container is defaulted or
 * checked (400), and the kubelet's /containerLogs is fetched over TLS with the API server's
 * kubelet client certificate (http_opts.kubelet_client_*); its body is streamed to the client
 * as it arrives (follow streams until the kubelet ends it or the client goes). A kubelet error
 * becomes a Status as upstream's GenericHttpResponseChecker makes it (400: BadRequest with the
 * kubelet's text). A pod without a node has no logs yet: 204 as upstream.
 *
 * One thread per request talks to the engine and the kubelet (libcurl) and appends to a
 * locked buffer; the loop thread polls that buffer on its 100 ms timer and after each send
 * completes, so nothing crosses threads but the buffer. The state is freed by whichever of the
 * two (request pool, thread) lets go last. HTTP/1.1 bodies carry their own chunked framing
 * as watches do (http_watch.c explains why). */
#include "apiserver/http/http_podlog.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <curl/curl.h>
#include <errno.h>
#include <sys/socket.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/banned.h"

#define PODLOG_MAX_STREAMS 512
#define PODLOG_BUF_HIGH ((size_t)4 << 20) /* the thread waits while this much is unsent */
#define PODLOG_ERR_BODY 50000             /* upstream's maxReadLength for error bodies */

static atomic_int podlog_streams;

struct podlog {
    h2o_generator_t super;
    struct http_server *srv;
    struct http_loop *lp;
    h2o_timeout_entry_t tick;
    /* inputs (owned copies) */
    char ns[254], name[254], path[600];
    char *query, *user, **groups, *ua;
    /* shared with the thread, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;       /* the request and the thread */
    bool ready;     /* status/ctype/err are set */
    bool ended;     /* the thread is done: nothing more will be appended */
    bool cancelled; /* the client left or the server stops */
    int status;     /* 200 (stream), 204, or an error with body = Status */
    char ctype[64];
    struct ck_buf pending;
    /* loop side */
    h2o_req_t *req; /* NULL once the request pool is disposed */
    struct ck_buf sending;
    bool started, inflight, finished, framed;
    int midx, ticks;
    int64_t t0;
    char chunk_head[24];
};

static void podlog_unref(struct podlog *pl)
{
    pthread_mutex_lock(&pl->mu);
    int left = --pl->refs;
    pthread_mutex_unlock(&pl->mu);
    if (left)
        return;
    free(pl->query);
    free(pl->user);
    free(pl->ua);
    for (size_t i = 0; pl->groups && pl->groups[i]; i++)
        free(pl->groups[i]);
    free(pl->groups);
    ck_buf_release(&pl->pending);
    ck_buf_release(&pl->sending);
    pthread_mutex_destroy(&pl->mu);
    pthread_cond_destroy(&pl->cv);
    free(pl);
    atomic_fetch_sub(&podlog_streams, 1);
}

/* ---- path ------------------------------------------------------------------------------- */

bool http_podlog_match(const char *path, const char *method, size_t mlen)
{
    const char *p = path;
    if (mlen != 3 || strncmp(method, "GET", 3) || strncmp(p, "/api/v1/namespaces/", 19))
        return false;
    p += 19;
    const char *e = strchr(p, '/');
    if (!e || e == p || strncmp(e, "/pods/", 6))
        return false;
    p = e + 6;
    e = strchr(p, '/');
    return e && e != p && !strcmp(e, "/log");
}

/* ---- the thread: options, pod, node, kubelet ------------------------------------------- */

struct opts {
    char container[254];
    bool follow, previous, timestamps, insecure;
    bool has_tail, has_limit, has_since_s, has_since_t;
    long long tail, limit, since_s;
    char since_t[64];
};

static int hexv(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static void qdecode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (s[i] == '%' && i + 2 < n && hexv(s[i + 1]) >= 0 && hexv(s[i + 2]) >= 0) {
            out[o++] = (char)(hexv(s[i + 1]) << 4 | hexv(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    out[o] = 0;
}

/* Go's strconv.ParseBool */
static int pbool(const char *v, bool *out)
{
    if (!strcmp(v, "1") || !strcasecmp(v, "t") || !strcmp(v, "true") || !strcmp(v, "TRUE") ||
        !strcmp(v, "True"))
        return *out = true, 0;
    if (!strcmp(v, "0") || !strcasecmp(v, "f") || !strcmp(v, "false") || !strcmp(v, "FALSE") ||
        !strcmp(v, "False"))
        return *out = false, 0;
    return -1;
}

static int pint(const char *v, long long *out)
{
    char *end;
    if (!*v)
        return -1;
    *out = strtoll(v, &end, 10);
    return *end ? -1 : 0;
}

/* Parses the query; -1 with a 400 message. */
static int parse_opts(const char *q, struct opts *o, struct ck_err *err)
{
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        char key[64], val[512];
        qdecode(q, eq ? (size_t)(eq - q) : len, key, sizeof(key));
        if (eq)
            qdecode(eq + 1, len - (size_t)(eq + 1 - q), val, sizeof(val));
        else
            val[0] = 0;
        int rc = 0;
        if (!strcmp(key, "container"))
            snprintf(o->container, sizeof(o->container), "%s", val);
        else if (!strcmp(key, "follow"))
            rc = pbool(val, &o->follow);
        else if (!strcmp(key, "previous"))
            rc = pbool(val, &o->previous);
        else if (!strcmp(key, "timestamps"))
            rc = pbool(val, &o->timestamps);
        else if (!strcmp(key, "insecureSkipTLSVerifyBackend"))
            rc = pbool(val, &o->insecure);
        else if (!strcmp(key, "tailLines"))
            rc = (o->has_tail = true, pint(val, &o->tail));
        else if (!strcmp(key, "limitBytes"))
            rc = (o->has_limit = true, pint(val, &o->limit));
        else if (!strcmp(key, "sinceSeconds"))
            rc = (o->has_since_s = true, pint(val, &o->since_s));
        else if (!strcmp(key, "sinceTime")) {
            time_t t;
            o->has_since_t = true;
            snprintf(o->since_t, sizeof(o->since_t), "%s", val);
            rc = ck_time_parse_rfc3339(val, &t);
        }
        if (rc < 0)
            return ck_err_set(err, CK_R_BAD_REQUEST, "invalid value \"%s\" for parameter %s", val,
                              key);
        q = amp ? amp + 1 : NULL;
    }
    return 0;
}

/* ValidatePodLogOptions -> NewInvalid(PodLogOptions, name, errs) */
static int validate_opts(const struct opts *o, const char *name, struct ck_err *err)
{
    char e[4][200];
    int n = 0;
    if (o->has_tail && o->tail < 0)
        snprintf(e[n++], sizeof(e[0]),
                 "tailLines: Invalid value: %lld: must be greater than or equal to 0", o->tail);
    if (o->has_limit && o->limit < 1)
        snprintf(e[n++], sizeof(e[0]), "limitBytes: Invalid value: %lld: must be greater than 0",
                 o->limit);
    if (o->has_since_s && o->has_since_t)
        snprintf(e[n++], sizeof(e[0]),
                 "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified");
    else if (o->has_since_s && o->since_s < 1)
        snprintf(e[n++], sizeof(e[0]), "sinceSeconds: Invalid value: %lld: must be greater than 0",
                 o->since_s);
    if (!n)
        return 0;
    char msg[1024];
    size_t off = (size_t)snprintf(msg, sizeof(msg), "PodLogOptions \"%s\" is invalid: %s", name,
                                  n > 1 ? "[" : "");
    for (int i = 0; i < n && off < sizeof(msg); i++)
        off += (size_t)snprintf(msg + off, sizeof(msg) - off, "%s%s", i ? ", " : "", e[i]);
    if (n > 1 && off < sizeof(msg))
        snprintf(msg + off, sizeof(msg) - off, "]");
    ck_err_set(err, CK_R_INVALID, "%s", msg);
    snprintf(err->kind, sizeof(err->kind), "PodLogOptions");
    snprintf(err->name, sizeof(err->name), "%s", name);
    return -1;
}

/* GET through the engine as the caller: the object, or NULL with the engine's Status in rs. */
static json_t *engine_get(struct podlog *pl, const char *path, struct api_response *rs)
{
    struct api_request rq = {.method = "GET",
                             .path = path,
                             .accept = "application/json",
                             .user_agent = pl->ua,
                             .user = pl->user,
                             .groups = (const char *const *)pl->groups,
                             .body = "",
                             .body_len = 0};
    struct api_watch *w = NULL;
    ck_buf_reset(&rs->body);
    pl->srv->ops->handle(pl->srv->eng, &rq, rs, &w);
    if (w)
        pl->srv->ops->watch_close(w);
    json_t *o =
        rs->status == 200 && rs->body.len ? json_loadb(rs->body.data, rs->body.len, 0, NULL) : NULL;
    if (!o && rs->status == 200) {
        struct ck_err err = CK_ERR_INIT;
        ck_err_set(&err, CK_R_INTERNAL, "Internal error occurred: unreadable %s", path);
        pl->srv->ops->write_status(rs, &err);
    }
    return o;
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* upstream validateContainer; -1 with a 400. */
static int pick_container(const json_t *pod, const char *name, struct opts *o, struct ck_err *err)
{
    const json_t *spec = json_object_get(pod, "spec");
    const json_t *cs = json_object_get(spec, "containers");
    const json_t *ics = json_object_get(spec, "initContainers");
    const json_t *ecs = json_object_get(spec, "ephemeralContainers");
    if (o->container[0]) {
        const json_t *lists[3] = {cs, ics, ecs};
        for (int l = 0; l < 3; l++)
            for (size_t i = 0; i < json_array_size(lists[l]); i++)
                if (!strcmp(jstr(json_array_get(lists[l], i), "name"), o->container))
                    return 0;
        return ck_err_set(err, CK_R_BAD_REQUEST, "container %s is not valid for pod %s",
                          o->container, name);
    }
    if (json_array_size(cs) == 1) {
        snprintf(o->container, sizeof(o->container), "%s", jstr(json_array_get(cs, 0), "name"));
        return 0;
    }
    if (!json_array_size(cs))
        return ck_err_set(err, CK_R_BAD_REQUEST, "a container name must be specified for pod %s",
                          name);
    struct ck_buf b = CK_BUF_INIT(CK_ERR_MSG_MAX - 1);
    const json_t *lists[3] = {cs, ics, ecs};
    static const char *const intro[3] = {
        "", " or one of the init containers: ", " or one of the ephemeral containers: "};
    ck_buf_appendf(&b, "a container name must be specified for pod %s, choose one of: ", name);
    for (int l = 0; l < 3; l++) {
        if (!json_array_size(lists[l]))
            continue;
        ck_buf_appendf(&b, "%s[", intro[l]);
        for (size_t i = 0; i < json_array_size(lists[l]); i++)
            ck_buf_appendf(&b, "%s%s", i ? " " : "", jstr(json_array_get(lists[l], i), "name"));
        ck_buf_appends(&b, "]");
    }
    ck_err_set(err, CK_R_BAD_REQUEST, "%s", b.data ? b.data : "");
    ck_buf_release(&b);
    return -1;
}

/* The node's address (InternalIP first: node names need not resolve) and kubelet port. */
static int node_target(const json_t *node, char *host, size_t cap, int *port)
{
    const json_t *st = json_object_get(node, "status");
    const json_t *addrs = json_object_get(st, "addresses");
    static const char *const pref[] = {"InternalIP", "Hostname", "InternalDNS", "ExternalIP",
                                       "ExternalDNS"};
    host[0] = 0;
    for (size_t p = 0; p < 5 && !host[0]; p++)
        for (size_t i = 0; i < json_array_size(addrs) && !host[0]; i++) {
            const json_t *a = json_array_get(addrs, i);
            if (!strcmp(jstr(a, "type"), pref[p]) && *jstr(a, "address"))
                snprintf(host, cap, "%s", jstr(a, "address"));
        }
    json_int_t pt = json_integer_value(json_object_get(
        json_object_get(json_object_get(st, "daemonEndpoints"), "kubeletEndpoint"), "Port"));
    *port = pt > 0 && pt < 65536 ? (int)pt : 10250;
    return host[0] ? 0 : -1;
}

/* ---- the kubelet exchange ---------------------------------------------------------------- */

struct xfer {
    struct podlog *pl;
    CURL *c;
    long code;
    struct ck_buf errbody;
};

/* Appends to pending (waiting while the loop is behind); false when the stream is over. */
static bool push(struct podlog *pl, const char *data, size_t len)
{
    pthread_mutex_lock(&pl->mu);
    while (!pl->cancelled && pl->pending.len > PODLOG_BUF_HIGH) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&pl->cv, &pl->mu, &ts);
    }
    bool ok = !pl->cancelled && ck_buf_append(&pl->pending, data, len) == 0;
    pthread_mutex_unlock(&pl->mu);
    return ok;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    if (!x->code)
        curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &x->code);
    if (x->code < 200 || x->code > 206) { /* an error: keep its text for the Status */
        size_t room = PODLOG_ERR_BODY - x->errbody.len;
        ck_buf_append(&x->errbody, data, len < room ? len : room);
        return len;
    }
    pthread_mutex_lock(&x->pl->mu);
    if (!x->pl->ready) {
        x->pl->status = 200;
        x->pl->ready = true;
    }
    pthread_mutex_unlock(&x->pl->mu);
    return push(x->pl, data, len) ? len : 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    /* the end of a 200's head: the client gets its headers now, even before any log line */
    if (len == 2 && data[0] == '\r') {
        long code = 0;
        curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &code);
        if (code == 200) {
            x->code = code;
            pthread_mutex_lock(&x->pl->mu);
            if (!x->pl->ready) {
                x->pl->status = 200;
                x->pl->ready = true;
            }
            pthread_mutex_unlock(&x->pl->mu);
        }
    }
    return len;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    struct podlog *pl = arg;
    (void)a, (void)b, (void)c, (void)d;
    pthread_mutex_lock(&pl->mu);
    bool stop = pl->cancelled;
    pthread_mutex_unlock(&pl->mu);
    return stop || atomic_load(&pl->srv->stopping) ? 1 : 0;
}

/* Fetches the logs from the kubelet; fills err for the Status when nothing was streamed. */
static int fetch(struct podlog *pl, const char *host, int port, const struct opts *o,
                 struct ck_err *err)
{
    struct ck_buf url = CK_BUF_INIT(1 << 16);
    bool v6 = strchr(host, ':') != NULL;
    char *ens = curl_easy_escape(NULL, pl->ns, 0), *epod = curl_easy_escape(NULL, pl->name, 0),
         *ectr = curl_easy_escape(NULL, o->container, 0);
    ck_buf_appendf(&url, "https://%s%s%s:%d/containerLogs/%s/%s/%s", v6 ? "[" : "", host,
                   v6 ? "]" : "", port, ens, epod, ectr);
    curl_free(ens);
    curl_free(epod);
    curl_free(ectr);
    char sep = '?';
#define ADDQ(fmt, ...) (ck_buf_appendf(&url, "%c" fmt, sep, __VA_ARGS__), sep = '&')
    if (o->follow)
        ADDQ("%s", "follow=true");
    if (o->previous)
        ADDQ("%s", "previous=true");
    if (o->timestamps)
        ADDQ("%s", "timestamps=true");
    if (o->has_since_s)
        ADDQ("sinceSeconds=%lld", o->since_s);
    if (o->has_since_t) {
        char *e = curl_easy_escape(NULL, o->since_t, 0);
        ADDQ("sinceTime=%s", e);
        curl_free(e);
    }
    if (o->has_tail)
        ADDQ("tailLines=%lld", o->tail);
    if (o->has_limit)
        ADDQ("limitBytes=%lld", o->limit);
#undef ADDQ
    const struct http_opts *so = &pl->srv->o;
    struct xfer x = {.pl = pl, .errbody = CK_BUF_INIT(PODLOG_ERR_BODY + 1)};
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *c = curl_easy_init();
    x.c = c;
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* upstream: PreventRedirects */
    if (so->kubelet_client_cert && so->kubelet_client_key) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, so->kubelet_client_cert);
        curl_easy_setopt(c, CURLOPT_SSLKEY, so->kubelet_client_key);
    }
    if (so->kubelet_ca && !o->insecure) {
        curl_easy_setopt(c, CURLOPT_CAINFO, so->kubelet_ca);
    } else { /* upstream: no CA (or insecureSkipTLSVerifyBackend) = no verification */
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, pl);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 65536L);
    ck_v(4, "pods/log %s/%s -> %s", pl->ns, pl->name, url.data);
    CURLcode rc = curl_easy_perform(c);
    if (!x.code)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x.code);
    curl_easy_cleanup(c);
    int ret = 0;
    if (x.code >= 200 && x.code <= 206) {
        ret = 0; /* streamed (a cut transfer just ends the body, as upstream's copy does) */
    } else if (rc != CURLE_OK && !x.code) {
        ck_err_set(err, CK_R_NONE, "Get \"%s\": %s", url.data,
                   *errbuf ? errbuf : curl_easy_strerror(rc));
        err->code = 500;
        ret = -1;
    } else {
        const char *text = x.errbody.data ? x.errbody.data : "";
        size_t tl = strlen(text);
        while (tl && (text[tl - 1] == '\n' || text[tl - 1] == '\r'))
            tl--;
        if (x.code == 400)
            ck_err_set(err, CK_R_BAD_REQUEST, "%.*s", (int)tl, text);
        else if (x.code == 500)
            ck_err_set(err, CK_R_INTERNAL, "Internal error occurred: %.*s", (int)tl, text);
        else {
            /* NewGenericServerResponse */
            enum ck_reason r = x.code == 401   ? CK_R_UNAUTHORIZED
                               : x.code == 403 ? CK_R_FORBIDDEN
                               : x.code == 404 ? CK_R_NOT_FOUND
                               : x.code == 503 ? CK_R_SERVICE_UNAVAILABLE
                                               : CK_R_INTERNAL;
            if (tl)
                ck_err_set(err, r, "%.*s", (int)tl, text);
            else
                ck_err_set(err, r,
                           "the server responded with the status code %ld but did not return more "
                           "information",
                           x.code);
            err->code = (int)x.code;
            snprintf(err->kind, sizeof(err->kind), "pods/log");
            snprintf(err->name, sizeof(err->name), "%s", pl->name);
        }
        ret = -1;
    }
    ck_buf_release(&x.errbody);
    ck_buf_release(&url);
    return ret;
}

/* Ends the request with an error Status (or a bodiless 204 when err is NULL). */
static void finish_error(struct podlog *pl, const struct ck_err *err, struct api_response *rs)
{
    pthread_mutex_lock(&pl->mu);
    if (err) {
        pl->srv->ops->write_status(rs, err);
        pl->status = rs->status;
        snprintf(pl->ctype, sizeof(pl->ctype), "%s", rs->content_type);
        ck_buf_reset(&pl->pending);
        ck_buf_append(&pl->pending, rs->body.data ? rs->body.data : "", rs->body.len);
    } else if (!pl->status) {
        pl->status = 204;
    }
    pl->ready = true;
    pthread_mutex_unlock(&pl->mu);
}

static void *podlog_thread(void *arg)
{
    struct podlog *pl = arg;
    struct ck_err err = CK_ERR_INIT;
    struct api_response rs;
    struct opts o = {0};
    char path[600], host[256];
    int port = 0;
    json_t *pod = NULL, *node = NULL;

    memset(&rs, 0, sizeof(rs));
    rs.body = (struct ck_buf)CK_BUF_INIT((size_t)64 << 20);
    if (parse_opts(pl->query, &o, &err) < 0 || validate_opts(&o, pl->name, &err) < 0) {
        finish_error(pl, &err, &rs);
        goto out;
    }
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", pl->ns, pl->name);
    if (!(pod = engine_get(pl, path, &rs))) { /* the engine's Status as it is */
        pthread_mutex_lock(&pl->mu);
        pl->status = rs.status;
        snprintf(pl->ctype, sizeof(pl->ctype), "%s", rs.content_type);
        ck_buf_append(&pl->pending, rs.body.data ? rs.body.data : "", rs.body.len);
        pl->ready = true;
        pthread_mutex_unlock(&pl->mu);
        goto out;
    }
    if (pick_container(pod, pl->name, &o, &err) < 0) {
        finish_error(pl, &err, &rs);
        goto out;
    }
    const char *node_name = jstr(json_object_get(pod, "spec"), "nodeName");
    if (!*node_name) { /* not scheduled: no location, no content (upstream) */
        finish_error(pl, NULL, &rs);
        goto out;
    }
    snprintf(path, sizeof(path), "/api/v1/nodes/%s", node_name);
    if (!(node = engine_get(pl, path, &rs))) {
        pthread_mutex_lock(&pl->mu);
        pl->status = rs.status;
        snprintf(pl->ctype, sizeof(pl->ctype), "%s", rs.content_type);
        ck_buf_append(&pl->pending, rs.body.data ? rs.body.data : "", rs.body.len);
        pl->ready = true;
        pthread_mutex_unlock(&pl->mu);
        goto out;
    }
    if (node_target(node, host, sizeof(host), &port) < 0) {
        ck_err_set(&err, CK_R_NONE, "no preferred addresses found; known addresses: []");
        err.code = 500;
        finish_error(pl, &err, &rs);
        goto out;
    }
    if (fetch(pl, host, port, &o, &err) < 0)
        finish_error(pl, &err, &rs);
out:
    json_decref(pod);
    json_decref(node);
    ck_buf_release(&rs.body);
    for (size_t i = 0; i < rs.nwarnings && i < API_MAX_WARNINGS; i++)
        free(rs.warnings[i]);
    pthread_mutex_lock(&pl->mu);
    if (!pl->ready) {
        pl->status = 200;
        pl->ready = true;
    }
    pl->ended = true;
    pthread_mutex_unlock(&pl->mu);
    podlog_unref(pl);
    return NULL;
}

/* ---- the loop side ----------------------------------------------------------------------- */

static void send_sending(struct podlog *pl, h2o_send_state_t state)
{
    static const char term[] = "\r\n0\r\n\r\n";
    h2o_iovec_t iov[3];
    size_t n = 0, len = pl->sending.len;
    h2o_req_t *req = pl->req;

    if (!pl->framed) {
        iov[0] = h2o_iovec_init(pl->sending.data, len);
        h2o_send(req, iov, len ? 1 : 0, state);
        return;
    }
    req->bytes_sent += len;
    if (len) {
        int k = snprintf(pl->chunk_head, sizeof(pl->chunk_head), "%zx\r\n", len);
        iov[n++] = h2o_iovec_init(pl->chunk_head, (size_t)k);
        iov[n++] = h2o_iovec_init(pl->sending.data, len);
        iov[n++] = h2o_iovec_init(term, state == H2O_SEND_STATE_FINAL ? 7 : 2);
    } else if (state == H2O_SEND_STATE_FINAL) {
        iov[n++] = h2o_iovec_init(term + 2, 5);
    }
    h2o_send(req, iov, n, state);
}

static void flush(struct podlog *pl)
{
    if (!pl->req || pl->inflight || pl->finished)
        return;
    pthread_mutex_lock(&pl->mu);
    bool ended = pl->ended;
    if (pl->pending.len == 0 && !ended) {
        pthread_mutex_unlock(&pl->mu);
        return;
    }
    struct ck_buf tmp = pl->sending;
    pl->sending = pl->pending;
    pl->pending = tmp;
    ck_buf_reset(&pl->pending);
    pthread_cond_signal(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
    pl->inflight = true;
    pl->finished = ended;
    send_sending(pl, ended ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void on_proceed(h2o_generator_t *self, h2o_req_t *req)
{
    struct podlog *pl = H2O_STRUCT_FROM_MEMBER(struct podlog, super, self);
    (void)req;
    pl->inflight = false;
    ck_buf_reset(&pl->sending);
    flush(pl);
}

static void on_stop(h2o_generator_t *self, h2o_req_t *req)
{
    struct podlog *pl = H2O_STRUCT_FROM_MEMBER(struct podlog, super, self);
    (void)req;
    pthread_mutex_lock(&pl->mu);
    pl->cancelled = true;
    pthread_cond_signal(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
}

/* The thread's verdict: an error answer, a 204, or the start of the streamed body. */
static void start(struct podlog *pl)
{
    h2o_req_t *req = pl->req;
    struct http_server *s = pl->srv;
    pthread_mutex_lock(&pl->mu);
    int status = pl->status;
    char ctype[64];
    snprintf(ctype, sizeof(ctype), "%s", pl->ctype[0] ? pl->ctype : "text/plain");
    pl->started = true;
    if (status != 200) { /* the whole answer is in pending; the thread is done with it */
        size_t len;
        char *body = ck_buf_detach(&pl->pending, &len);
        pthread_mutex_unlock(&pl->mu);
        h2o_iovec_t v = h2o_strdup(&req->pool, ctype, SIZE_MAX);
        if (status != 204)
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, v.base,
                           v.len);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                       H2O_STRLIT("no-cache, private"));
        pl->finished = true;
        http_metrics_observe(&s->m, pl->midx, status, ck_mono_ns() - pl->t0, true);
        http_metrics_request(NULL, pl->path, status, ck_mono_ns() - pl->t0, len);
        atomic_fetch_sub(&s->m.in_flight, 1);
        http_respond_bytes(req, status, status == 204 ? (free(body), NULL) : body,
                           status == 204 ? 0 : len);
        return;
    }
    pthread_mutex_unlock(&pl->mu);
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/plain"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-cache, private"));
    if (req->version >= 0x101 && req->version < 0x200) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_TRANSFER_ENCODING, NULL,
                       H2O_STRLIT("chunked"));
        req->bytes_counted_by_ostream = 1;
        pl->framed = true;
    } else if (req->version < 0x101) {
        req->http1_is_persistent = 0;
    }
    http_metrics_observe(&s->m, pl->midx, 200, ck_mono_ns() - pl->t0, true);
    http_metrics_request(NULL, pl->path, 200, ck_mono_ns() - pl->t0, 0);
    atomic_fetch_sub(&s->m.in_flight, 1);
    h2o_start_response(req, &pl->super);
    pl->inflight = true; /* the headers at once; proceed then sends what arrived */
    send_sending(pl, H2O_SEND_STATE_IN_PROGRESS);
}

/* h2o 2.2's HTTP/1.1 connection starts with these two members (lib/core/http1.c; the same
 * reach as http_watch.c's): a departed HTTP/1.1 client is only seen on the next write, so an
 * idle follow peeks at the socket every few seconds. */
struct http1_conn_head {
    h2o_conn_t super;
    h2o_socket_t *sock;
};

static bool http1_client_gone(h2o_req_t *req)
{
    struct http1_conn_head *c = (struct http1_conn_head *)req->conn;
    char b;
    int fd;
    if (req->version >= 0x200 || !c->sock || (fd = h2o_socket_get_fd(c->sock)) < 0)
        return false;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        return true;
    if (n < 0)
        return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    return req->scheme == &H2O_URL_SCHEME_HTTPS;
}

static void on_tick(h2o_timeout_entry_t *e)
{
    struct podlog *pl = H2O_STRUCT_FROM_MEMBER(struct podlog, tick, e);
    if (!pl->req || pl->finished)
        return;
    if (atomic_load(&pl->srv->stopping)) {
        pthread_mutex_lock(&pl->mu);
        pl->cancelled = true;
        pthread_cond_signal(&pl->cv);
        pthread_mutex_unlock(&pl->mu);
    }
    if (!pl->started) {
        pthread_mutex_lock(&pl->mu);
        bool ready = pl->ready;
        pthread_mutex_unlock(&pl->mu);
        if (ready)
            start(pl);
    } else {
        flush(pl);
        if (pl->req && !pl->finished && !pl->inflight && ++pl->ticks % 30 == 0 &&
            http1_client_gone(pl->req)) {
            on_stop(&pl->super, pl->req);
            pl->finished = true;
            h2o_send(pl->req, NULL, 0, H2O_SEND_STATE_ERROR);
            return;
        }
    }
    if (pl->req && !pl->finished)
        h2o_timeout_link(pl->lp->loop, &pl->lp->ctx.hundred_ms_timeout, &pl->tick);
}

static void on_dispose(void *p)
{
    struct podlog *pl = *(struct podlog **)p;
    pl->req = NULL;
    if (h2o_timeout_is_linked(&pl->tick))
        h2o_timeout_unlink(&pl->tick);
    if (!pl->started)
        atomic_fetch_sub(&pl->srv->m.in_flight, 1);
    pthread_mutex_lock(&pl->mu);
    pl->cancelled = true;
    pthread_cond_signal(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
    podlog_unref(pl);
}

bool http_podlog_begin(struct http_loop *lp, h2o_req_t *req, const char *path,
                       const struct authn_user *u, int midx, int64_t t0)
{
    if (atomic_fetch_add(&podlog_streams, 1) >= PODLOG_MAX_STREAMS) {
        atomic_fetch_sub(&podlog_streams, 1);
        struct api_response rs;
        struct ck_err err = CK_ERR_INIT;
        memset(&rs, 0, sizeof(rs));
        rs.body = (struct ck_buf)CK_BUF_INIT(1 << 20);
        ck_err_set(&err, CK_R_TOO_MANY_REQUESTS, "too many requests, please try again later");
        err.retry_after = 1;
        lp->srv->ops->write_status(&rs, &err);
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("retry-after"), 0, NULL,
                              H2O_STRLIT("1"));
        http_metrics_observe(&lp->srv->m, midx, rs.status, ck_mono_ns() - t0, true);
        http_metrics_request(NULL, path, rs.status, ck_mono_ns() - t0, rs.body.len);
        atomic_fetch_sub(&lp->srv->m.in_flight, 1);
        http_respond(req, &rs);
        return true;
    }
    struct podlog *pl = ck_calloc(1, sizeof(*pl));
    snprintf(pl->path, sizeof(pl->path), "%s", path);
    const char *p = path + 19, *e = strchr(p, '/');
    snprintf(pl->ns, sizeof(pl->ns), "%.*s", (int)(e - p), p);
    p = e + 6;
    e = strchr(p, '/');
    snprintf(pl->name, sizeof(pl->name), "%.*s", (int)(e - p), p);
    pl->srv = lp->srv;
    pl->lp = lp;
    pl->req = req;
    pl->midx = midx;
    pl->t0 = t0;
    pl->refs = 2;
    pthread_mutex_init(&pl->mu, NULL);
    pthread_cond_init(&pl->cv, NULL);
    pl->pending = (struct ck_buf)CK_BUF_INIT((size_t)256 << 20);
    pl->sending = (struct ck_buf)CK_BUF_INIT((size_t)256 << 20);
    pl->query = req->query_at != SIZE_MAX ? ck_strndup(req->path.base + req->query_at + 1,
                                                       req->path.len - req->query_at - 1)
                                          : ck_strdup("");
    pl->user = ck_strdup(u->name);
    size_t ng = 0;
    while (u->groups && u->groups[ng])
        ng++;
    pl->groups = ck_calloc(ng + 1, sizeof(char *));
    for (size_t i = 0; i < ng; i++)
        pl->groups[i] = ck_strdup(u->groups[i]);
    ssize_t ui = h2o_find_header(&req->headers, H2O_TOKEN_USER_AGENT, -1);
    if (ui >= 0)
        pl->ua =
            ck_strndup(req->headers.entries[ui].value.base, req->headers.entries[ui].value.len);
    pl->super.proceed = on_proceed;
    pl->super.stop = on_stop;
    struct podlog **holder = h2o_mem_alloc_shared(&req->pool, sizeof(*holder), on_dispose);
    *holder = pl;
    pl->tick.cb = on_tick;
    h2o_timeout_link(lp->loop, &lp->ctx.hundred_ms_timeout, &pl->tick);
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &at, podlog_thread, pl) != 0) {
        pthread_mutex_lock(&pl->mu);
        pl->status = 503;
        pl->ended = pl->ready = true;
        pthread_mutex_unlock(&pl->mu);
        podlog_unref(pl);
    }
    pthread_attr_destroy(&at);
    return true;
}
