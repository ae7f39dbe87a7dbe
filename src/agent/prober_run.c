/* SPDX-License-Identifier: Apache-2.0 */
/* Running one probe or lifecycle handler now, bounded by its timeout (pkg/probe/exec, http,
 * tcp): exec through the runtime's exec_sync, httpGet with libcurl to the pod IP (User-Agent
 * kube-probe/<major>.<minor>, 2xx-3xx success, redirects not followed), tcpSocket with a
 * non-blocking connect. Output texts follow Go's error strings where the test suites of
 * upstream users look at them ("HTTP probe failed with statuscode: 500", "dial tcp ...:
 * connect: connection refused"). */
#include "agent/prober.h"
#include "lib/buf.h"
#include "lib/version.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/banned.h"

#define BODY_MAX 10240

struct body {
    size_t n;
};

static size_t discard(char *p, size_t sz, size_t nm, void *arg)
{
    (void)p;
    struct body *b = arg;
    b->n += sz * nm;
    return b->n > BODY_MAX ? 0 : sz * nm; /* upstream reads at most 10 KiB of the body */
}

static void host_port(const struct ag_probe_spec *s, const char *pod_ip, char *out, size_t n)
{
    const char *h = s->host && *s->host ? s->host : pod_ip;
    if (strchr(h, ':'))
        snprintf(out, n, "[%s]:%d", h, s->port);
    else
        snprintf(out, n, "%s:%d", h, s->port);
}

static int run_http(const struct ag_probe_spec *s, const char *pod_ip, int timeout_s,
                    bool any_status, char *out, size_t outn)
{
    char hp[300], url[2048];
    host_port(s, pod_ip, hp, sizeof(hp));
    bool https = !strcasecmp(s->scheme ? s->scheme : "HTTP", "HTTPS");
    snprintf(url, sizeof(url), "%s://%s%s", https ? "https" : "http", hp, s->path ? s->path : "/");
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(out, outn, "curl_easy_init failed");
        return -1;
    }
    struct curl_slist *hl = NULL;
    bool ua = false, accept = false;
    char line[1024];
    for (size_t i = 0; i < s->nheaders; i++) {
        if (!strcasecmp(s->headers[i].name, "User-Agent"))
            ua = true;
        if (!strcasecmp(s->headers[i].name, "Accept"))
            accept = true;
        if (!strcasecmp(s->headers[i].name, "Host")) {
            snprintf(line, sizeof(line), "Host: %s", s->headers[i].value);
        } else if (!*s->headers[i].value) {
            snprintf(line, sizeof(line), "%s;", s->headers[i].name); /* curl: empty value */
        } else {
            snprintf(line, sizeof(line), "%s: %s", s->headers[i].name, s->headers[i].value);
        }
        hl = curl_slist_append(hl, line);
    }
    if (!ua)
        hl = curl_slist_append(hl, "User-Agent: kube-probe/" CK_KUBE_MAJOR "." CK_KUBE_MINOR);
    if (!accept)
        hl = curl_slist_append(hl, "Accept: */*");
    struct body b = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_s * 1000);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_s * 1000);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L); /* upstream: InsecureSkipVerify */
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    if (rc == CURLE_WRITE_ERROR && code)
        rc = CURLE_OK; /* the body was longer than we read */
    if (rc != CURLE_OK) {
        if (rc == CURLE_OPERATION_TIMEDOUT)
            snprintf(out, outn,
                     "Get \"%s\": context deadline exceeded (Client.Timeout exceeded while "
                     "awaiting headers)",
                     url);
        else if (rc == CURLE_COULDNT_CONNECT)
            snprintf(out, outn, "Get \"%s\": dial tcp %s: connect: connection refused", url, hp);
        else
            snprintf(out, outn, "Get \"%s\": %s", url, curl_easy_strerror(rc));
        return AG_PR_FAILURE;
    }
    if (any_status || (code >= 200 && code < 400))
        return AG_PR_SUCCESS;
    snprintf(out, outn, "HTTP probe failed with statuscode: %ld", code);
    return AG_PR_FAILURE;
}

static int run_tcp(const struct ag_probe_spec *s, const char *pod_ip, int timeout_s, char *out,
                   size_t outn)
{
    char hp[300], port[16];
    host_port(s, pod_ip, hp, sizeof(hp));
    snprintf(port, sizeof(port), "%d", s->port);
    const char *h = s->host && *s->host ? s->host : pod_ip;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(h, port, &hints, &ai) != 0 || !ai) {
        snprintf(out, outn, "dial tcp %s: lookup %s: no such host", hp, h);
        return AG_PR_FAILURE;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc = fd < 0 ? -1 : connect(fd, ai->ai_addr, ai->ai_addrlen);
    int e = rc < 0 ? errno : 0;
    freeaddrinfo(ai);
    if (fd >= 0 && rc < 0 && e == EINPROGRESS) {
        struct pollfd p = {fd, POLLOUT, 0};
        int pr = poll(&p, 1, timeout_s * 1000);
        if (pr == 0) {
            e = ETIMEDOUT;
        } else {
            socklen_t l = sizeof(e);
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0)
                e = errno;
        }
    }
    if (fd >= 0)
        close(fd);
    if (fd < 0)
        e = errno;
    if (!e)
        return AG_PR_SUCCESS;
    if (e == ETIMEDOUT)
        snprintf(out, outn, "dial tcp %s: i/o timeout", hp);
    else if (e == ECONNREFUSED)
        snprintf(out, outn, "dial tcp %s: connect: connection refused", hp);
    else
        snprintf(out, outn, "dial tcp %s: connect: %s", hp, strerror(e));
    return AG_PR_FAILURE;
}

static int run_exec(struct runtime *rt, const char *cid, const struct ag_probe_spec *s,
                    int timeout_s, char *out, size_t outn)
{
    if (!s->command || !s->command[0]) {
        snprintf(out, outn, "exec: empty command");
        return -1;
    }
    int code = 0;
    char *o = NULL, *e = NULL;
    size_t ol = 0, el = 0;
    struct ck_err err = CK_ERR_INIT;
    int rc = rt->ops->exec_sync(rt, cid, (const char *const *)s->command, timeout_s, &code, &o, &ol,
                                &e, &el, &err);
    if (rc < 0) {
        int ret = -1;
        if (err.reason == CK_R_TIMEOUT) {
            struct ck_buf b = CK_BUF_INIT(4096);
            for (size_t i = 0; s->command[i]; i++)
                ck_buf_appendf(&b, "%s%s", i ? " " : "", s->command[i]);
            snprintf(out, outn, "command \"%s\" timed out", b.data ? b.data : "");
            ck_buf_release(&b);
            ret = AG_PR_FAILURE;
        } else {
            snprintf(out, outn, "%s", err.msg);
        }
        ck_err_clear(&err);
        free(o);
        free(e);
        return ret;
    }
    /* CombinedOutput: stdout then stderr */
    snprintf(out, outn, "%s%s", o ? o : "", e ? e : "");
    free(o);
    free(e);
    return code == 0 ? AG_PR_SUCCESS : AG_PR_FAILURE;
}

int ag_probe_run(struct runtime *rt, const char *cid, const struct ag_probe_spec *s,
                 const char *pod_ip, int timeout_s, bool any_status, char *out, size_t outn)
{
    out[0] = 0;
    if (timeout_s < 1)
        timeout_s = 1;
    if ((s->kind == AG_PH_HTTP || s->kind == AG_PH_TCP || s->kind == AG_PH_GRPC) && !s->port) {
        snprintf(out, outn, "%s", s->port_error ? s->port_error : "no port");
        return -1;
    }
    switch (s->kind) {
    case AG_PH_EXEC:
        return run_exec(rt, cid, s, timeout_s, out, outn);
    case AG_PH_HTTP:
        if (!(s->host && *s->host) && !(pod_ip && *pod_ip)) {
            snprintf(out, outn, "the pod has no IP");
            return -1;
        }
        return run_http(s, pod_ip ? pod_ip : "", timeout_s, any_status, out, outn);
    case AG_PH_TCP:
        if (!(s->host && *s->host) && !(pod_ip && *pod_ip)) {
            snprintf(out, outn, "the pod has no IP");
            return -1;
        }
        return run_tcp(s, pod_ip ? pod_ip : "", timeout_s, out, outn);
    case AG_PH_GRPC:
        snprintf(out, outn, "grpc probes are not supported by this node");
        return -1;
    default:
        snprintf(out, outn, "missing probe handler");
        return -1;
    }
}
