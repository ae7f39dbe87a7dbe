/* SPDX-License-Identifier: Apache-2.0 */
/* pods/exec, pods/attach, pods/portforward (upstream's pod/rest/subresources.go and
 * strategy.go streamLocation, with the upgrade-aware proxy and the WebSocket stream
 * translator/tunnel of k8s.io/apiserver/pkg/util/proxy):
 *   loop:   http_stream_prepare copies what the worker needs out of the request;
 *   worker: http_stream_run reads the Pod and its Node through the engine as the caller,
 *           checks the upgrade, dials the node's kubelet and performs the SPDY/3.1 upgrade
 *           there (POST /exec|attach|portForward/...);
 *   loop:   http_stream_respond relays a refusal, or answers 101 (SPDY: the kubelet's chosen
 *           version; WebSocket: the chosen subprotocol) and takes the socket over for a
 *           session thread (http_stream_sess.c, http_ws.c), off h2o's loops. */
#include "apiserver/http/http_stream.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include "apiserver/http/http_ws_chan.h"

#include <h2o/http1.h>

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/banned.h"

#define KUBELET_PORT 10250

atomic_int hs_sessions;

/* /api/v1/namespaces/NS/pods/NAME/{exec,attach,portforward} */
static bool split(const char *path, char *ns, size_t nsl, char *pod, size_t pl, enum hs_kind *k)
{
    static const char pre[] = "/api/v1/namespaces/";
    if (strncmp(path, pre, sizeof(pre) - 1))
        return false;
    const char *a = path + sizeof(pre) - 1, *b = strchr(a, '/');
    if (!b || b == a || strncmp(b, "/pods/", 6))
        return false;
    const char *c = b + 6, *d = strchr(c, '/');
    if (!d || d == c)
        return false;
    const char *sub = d + 1;
    if (!strcmp(sub, "exec"))
        *k = HS_EXEC;
    else if (!strcmp(sub, "attach"))
        *k = HS_ATTACH;
    else if (!strcmp(sub, "portforward"))
        *k = HS_PORTFORWARD;
    else
        return false;
    if ((size_t)(b - a) >= nsl || (size_t)(d - c) >= pl)
        return false;
    snprintf(ns, nsl, "%.*s", (int)(b - a), a);
    snprintf(pod, pl, "%.*s", (int)(d - c), c);
    return true;
}

bool http_stream_match(const char *path)
{
    char ns[254], pod[254];
    enum hs_kind k;
    return split(path, ns, sizeof(ns), pod, sizeof(pod), &k);
}

static bool has_token(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok);
    for (size_t i = 0; i + tl <= n; i++)
        if (!strncasecmp(v + i, tok, tl) && (i == 0 || strchr(", \t", v[i - 1])) &&
            (i + tl == n || strchr(", \t", v[i + tl])))
            return true;
    return false;
}

struct http_stream *http_stream_prepare(struct http_server *s, h2o_req_t *req, const char *path)
{
    struct http_stream *st = ck_calloc(1, sizeof(*st));
    st->srv = s;
    st->kube.fd = st->cli.fd = -1;
    split(path, st->ns, sizeof(st->ns), st->pod, sizeof(st->pod), &st->kind);
    st->h2 = req->version >= 0x200;
    st->get = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"));
    st->post = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"));
    if (req->query_at != SIZE_MAX)
        st->query =
            ck_strndup(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
    bool upg_ws = false, upg_spdy = false;
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];
        const char *v = h->value.base;
        size_t vl = h->value.len;
        if (h2o_lcstris(h->name->base, h->name->len, H2O_STRLIT("upgrade"))) {
            upg_ws |= has_token(v, vl, "websocket");
            upg_spdy |= has_token(v, vl, "SPDY/3.1");
        } else if (h2o_lcstris(h->name->base, h->name->len, H2O_STRLIT("connection"))) {
            st->conn_upgrade |= has_token(v, vl, "upgrade");
        } else if (h2o_lcstris(h->name->base, h->name->len, H2O_STRLIT("sec-websocket-key"))) {
            snprintf(st->ws_key, sizeof(st->ws_key), "%.*s", (int)(vl < 63 ? vl : 63), v);
        } else if (h2o_lcstris(h->name->base, h->name->len, H2O_STRLIT("sec-websocket-protocol"))) {
            char *old = st->ws_protos;
            st->ws_protos = ck_asprintf("%s%s%.*s", old ? old : "", old ? "," : "", (int)vl, v);
            free(old);
        } else if (h2o_lcstris(h->name->base, h->name->len,
                               H2O_STRLIT("x-stream-protocol-version"))) {
            /* one line per value, or comma-joined */
            size_t a = 0;
            while (a < vl && st->nxspv < 16) {
                size_t b = a;
                while (b < vl && v[b] != ',')
                    b++;
                size_t x = a, y = b;
                while (x < y && (v[x] == ' ' || v[x] == '\t'))
                    x++;
                while (y > x && (v[y - 1] == ' ' || v[y - 1] == '\t'))
                    y--;
                if (y > x && y - x < 64)
                    st->xspv[st->nxspv++] = ck_strndup(v + x, y - x);
                a = b + 1;
            }
        }
    }
    /* h2o keeps Upgrade out of the header list: req->upgrade is set when Connection carried
     * the upgrade token */
    if (req->upgrade.base) {
        st->conn_upgrade = true;
        upg_ws |= has_token(req->upgrade.base, req->upgrade.len, "websocket");
        upg_spdy |= has_token(req->upgrade.base, req->upgrade.len, "SPDY/3.1");
    }
    if (!st->h2 && st->conn_upgrade)
        st->mode = upg_ws ? HS_MODE_WS : upg_spdy ? HS_MODE_SPDY : HS_MODE_NONE;
    return st;
}

void http_stream_free(struct http_stream *st)
{
    if (!st)
        return;
    free(st->query);
    free(st->ws_protos);
    for (int i = 0; i < st->nxspv; i++)
        free(st->xspv[i]);
    for (int i = 0; i < st->ncmd; i++)
        free(st->cmd[i]);
    hs_io_close(&st->kube);
    hs_io_close(&st->cli);
    hs_resp_release(&st->kresp);
    free(st);
}

/* ---- worker: parameters, target, kubelet ---------------------------------------------- */

static int fail(struct http_server *s, struct http_job *j, enum ck_reason r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct http_server *s, struct http_job *j, enum ck_reason r, const char *fmt, ...)
{
    struct ck_err err = CK_ERR_INIT;
    char m[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof(m), fmt, ap);
    va_end(ap);
    ck_err_set(&err, r, "%s", m);
    s->ops->write_status(&j->rs, &err);
    return -1;
}

/* GET through the engine as the caller; NULL with the engine's Status in j->rs. */
static json_t *engine_get(struct http_server *s, struct http_job *j, const char *path)
{
    struct api_request rq = {.method = "GET",
                             .path = path,
                             .accept = "application/json",
                             .user_agent = j->rq.user_agent,
                             .user = j->rq.user,
                             .groups = j->rq.groups,
                             .body = "",
                             .body_len = 0};
    struct api_response rs;
    struct api_watch *w = NULL;
    memset(&rs, 0, sizeof(rs));
    rs.body = (struct ck_buf)CK_BUF_INIT((size_t)16 << 20);
    s->ops->handle(s->eng, &rq, &rs, &w);
    if (w)
        s->ops->watch_close(w);
    json_t *o =
        rs.status == 200 && rs.body.len ? json_loadb(rs.body.data, rs.body.len, 0, NULL) : NULL;
    if (o) {
        ck_buf_release(&rs.body);
        for (size_t i = 0; i < rs.nwarnings && i < API_MAX_WARNINGS; i++)
            free(rs.warnings[i]);
        return o;
    }
    ck_buf_release(&j->rs.body);
    for (size_t i = 0; i < j->rs.nwarnings && i < API_MAX_WARNINGS; i++)
        free(j->rs.warnings[i]);
    j->rs = rs;
    if (j->rs.status == 200) {
        ck_buf_release(&j->rs.body);
        j->rs.body = (struct ck_buf)CK_BUF_INIT((size_t)1 << 20);
        fail(s, j, CK_R_INTERNAL, "Internal error occurred: unreadable %s", path);
    }
    return NULL;
}

static int hexv(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static char *unescape(const char *s, size_t n)
{
    char *o = ck_malloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexv(s[i + 1]) >= 0 && hexv(s[i + 2]) >= 0) {
            o[k++] = (char)(hexv(s[i + 1]) << 4 | hexv(s[i + 2]));
            i += 2;
        } else {
            o[k++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    o[k] = 0;
    return o;
}

/* strconv.ParseBool */
static int parse_bool(const char *v)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (int i = 0; i < 6; i++) {
        if (!strcmp(v, t[i]))
            return 1;
        if (!strcmp(v, f[i]))
            return 0;
    }
    return -1;
}

static int parse_params(struct http_server *s, struct http_job *j, struct http_stream *st)
{
    const char *q = st->query;
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        char *k = unescape(q, eq ? (size_t)(eq - q) : len);
        char *v = eq ? unescape(eq + 1, len - (size_t)(eq + 1 - q)) : ck_strdup("");
        bool *flag = !strcmp(k, "stdin")    ? &st->in
                     : !strcmp(k, "stdout") ? &st->out
                     : !strcmp(k, "stderr") ? &st->err
                     : !strcmp(k, "tty")    ? &st->tty
                                            : NULL;
        int rc = 0;
        if (flag && st->kind != HS_PORTFORWARD) {
            int b = parse_bool(v);
            if (b < 0)
                rc = fail(s, j, CK_R_BAD_REQUEST,
                          "strconv.ParseBool: parsing \"%s\": invalid syntax", v);
            *flag = b > 0;
        } else if (!strcmp(k, "container") && st->kind != HS_PORTFORWARD) {
            snprintf(st->container, sizeof(st->container), "%s", v);
        } else if (!strcmp(k, "command") && st->kind == HS_EXEC) {
            if (st->ncmd < HS_MAX_CMD)
                st->cmd[st->ncmd++] = v, v = NULL;
        } else if (!strcmp(k, "ports") && st->kind == HS_PORTFORWARD) {
            size_t o = strlen(st->ports);
            snprintf(st->ports + o, sizeof(st->ports) - o, "%s%s", o ? "," : "", v);
        }
        free(k);
        free(v);
        if (rc < 0)
            return -1;
        q = amp ? amp + 1 : NULL;
    }
    return 0;
}

/* streamLocation: the pod's node and the container. */
static int locate(struct http_server *s, struct http_job *j, struct http_stream *st)
{
    char *path = ck_asprintf("/api/v1/namespaces/%s/pods/%s", st->ns, st->pod);
    json_t *pod = engine_get(s, j, path);
    free(path);
    if (!pod)
        return -1;
    json_t *spec = json_object_get(pod, "spec");
    const char *node = json_string_value(json_object_get(spec, "nodeName"));
    int rc = 0;
    if (st->kind != HS_PORTFORWARD) {
        json_t *cs = json_object_get(spec, "containers"), *c;
        size_t i;
        bool found = false;
        if (!st->container[0]) {
            if (json_array_size(cs) == 1) {
                const char *n = json_string_value(json_object_get(json_array_get(cs, 0), "name"));
                snprintf(st->container, sizeof(st->container), "%s", n ? n : "");
            } else {
                struct ck_buf names = CK_BUF_INIT(64 * 1024), init = CK_BUF_INIT(64 * 1024);
                json_array_foreach(cs, i, c) ck_buf_appendf(
                    &names, "%s%s", i ? " " : "", json_string_value(json_object_get(c, "name")));
                json_array_foreach(json_object_get(spec, "initContainers"), i, c) ck_buf_appendf(
                    &init, "%s%s", i ? " " : "", json_string_value(json_object_get(c, "name")));
                if (!json_array_size(cs))
                    rc = fail(s, j, CK_R_BAD_REQUEST,
                              "a container name must be specified for pod %s", st->pod);
                else if (init.len)
                    rc = fail(s, j, CK_R_BAD_REQUEST,
                              "a container name must be specified for pod %s, choose one of: "
                              "[%s] or one of the init containers: [%s]",
                              st->pod, names.data, init.data);
                else
                    rc = fail(s, j, CK_R_BAD_REQUEST,
                              "a container name must be specified for pod %s, choose one of: "
                              "[%s]",
                              st->pod, names.data);
                ck_buf_release(&names);
                ck_buf_release(&init);
            }
        } else {
            static const char *const lists[] = {"containers", "initContainers",
                                                "ephemeralContainers"};
            for (int l = 0; l < 3 && !found; l++)
                json_array_foreach(json_object_get(spec, lists[l]), i, c)
                {
                    const char *n = json_string_value(json_object_get(c, "name"));
                    found |= n && !strcmp(n, st->container);
                }
            if (!found)
                rc = fail(s, j, CK_R_BAD_REQUEST, "container %s is not valid for pod %s",
                          st->container, st->pod);
        }
    }
    if (!rc && (!node || !*node))
        rc = fail(s, j, CK_R_BAD_REQUEST, "pod %s does not have a host assigned", st->pod);
    if (rc) {
        json_decref(pod);
        return -1;
    }
    path = ck_asprintf("/api/v1/nodes/%s", node);
    json_decref(pod);
    json_t *n = engine_get(s, j, path);
    free(path);
    if (!n)
        return -1;
    static const char *const pref[] = {"InternalIP", "Hostname", "InternalDNS", "ExternalDNS",
                                       "ExternalIP"};
    json_t *status = json_object_get(n, "status"), *a;
    const char *host = NULL;
    size_t i;
    for (int p = 0; p < 5 && !host; p++)
        json_array_foreach(json_object_get(status, "addresses"), i, a)
        {
            const char *t = json_string_value(json_object_get(a, "type"));
            if (!host && t && !strcmp(t, pref[p]))
                host = json_string_value(json_object_get(a, "address"));
        }
    json_int_t kp = json_integer_value(json_object_get(
        json_object_get(json_object_get(status, "daemonEndpoints"), "kubeletEndpoint"), "Port"));
    if (host)
        snprintf(st->host, sizeof(st->host), "%s", host);
    st->port = kp > 0 && kp < 65536 ? (int)kp : KUBELET_PORT;
    json_decref(n);
    if (!host)
        return fail(s, j, CK_R_INTERNAL, "Internal error occurred: no preferred addresses found");
    return 0;
}

static void append_escaped(struct ck_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            ck_buf_appendc(b, (char)*p);
        else
            ck_buf_appendf(b, "%%%02X", *p);
    }
}

/* The kubelet URL (strategy.go streamLocation / PortForwardLocation). */
static char *kubelet_target(const struct http_stream *st)
{
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    static const char *const kinds[] = {"/exec/", "/attach/", "/portForward/"};
    ck_buf_appends(&b, kinds[st->kind]);
    append_escaped(&b, st->ns);
    ck_buf_appendc(&b, '/');
    append_escaped(&b, st->pod);
    if (st->kind == HS_PORTFORWARD) {
        if (st->ports[0]) {
            ck_buf_appends(&b, "?port=");
            append_escaped(&b, st->ports);
        }
    } else {
        ck_buf_appendc(&b, '/');
        append_escaped(&b, st->container);
        char sep = '?';
        for (int i = 0; i < st->ncmd; i++) {
            ck_buf_appendf(&b, "%ccommand=", sep);
            append_escaped(&b, st->cmd[i]);
            sep = '&';
        }
        const bool f[4] = {st->in, st->out, st->err, st->tty};
        static const char *const names[4] = {"input", "output", "error", "tty"};
        for (int i = 0; i < 4; i++)
            if (f[i]) {
                ck_buf_appendf(&b, "%c%s=1", sep, names[i]);
                sep = '&';
            }
    }
    size_t n;
    return ck_buf_detach(&b, &n);
}

void http_stream_run(struct http_server *s, struct http_job *j)
{
    struct http_stream *st = j->st;
    st->tls = (struct hs_tls){s->o.kubelet_client_cert, s->o.kubelet_client_key, s->o.kubelet_ca};
    if (parse_params(s, j, st) < 0 || locate(s, j, st) < 0)
        return;
    if (!st->get && !st->post) {
        fail(s, j, CK_R_METHOD_NOT_ALLOWED,
             "the server does not allow this method on the "
             "requested resource");
        return;
    }
    if (st->mode == HS_MODE_NONE) {
        fail(s, j, CK_R_BAD_REQUEST, "Upgrade request required");
        return;
    }
    if (st->kind == HS_EXEC && !st->ncmd) {
        fail(s, j, CK_R_BAD_REQUEST, "you must specify at least one command for the container");
        return;
    }
    if (st->kind != HS_PORTFORWARD) {
        if (st->tty)
            st->err = false; /* upstream drops stderr with a tty */
        if (!st->in && !st->out && !st->err) {
            fail(s, j, CK_R_BAD_REQUEST, "you must specify at least 1 of stdin, stdout, stderr");
            return;
        }
    }
    /* what to offer the kubelet */
    struct ck_buf h = CK_BUF_INIT(64 * 1024);
    ck_buf_appends(&h, "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n");
    if (st->mode == HS_MODE_WS) {
        if (st->kind == HS_PORTFORWARD) {
            /* streamtunnel.go: SPDY/3.1+<proto> offered; strip the prefix */
            int n = 0;
            for (char *save = NULL, *t = st->ws_protos ? strtok_r(st->ws_protos, ",", &save) : NULL;
                 t; t = strtok_r(NULL, ",", &save)) {
                while (*t == ' ')
                    t++;
                size_t tl = strcspn(t, " ");
                if (tl > 9 && !strncasecmp(t, "SPDY/3.1+", 9)) {
                    ck_buf_appendf(&h, "X-Stream-Protocol-Version: %.*s\r\n", (int)tl - 9, t + 9);
                    n++;
                }
            }
            if (!n) {
                ck_buf_release(&h);
                fail(s, j, CK_R_BAD_REQUEST,
                     "unable to upgrade: no tunneling spdy protocols provided");
                return;
            }
            st->tunnel = true;
        } else {
            int v = ws_chan_negotiate(st->ws_protos ? st->ws_protos : "", st->client_proto,
                                      sizeof(st->client_proto));
            if (v < 0) {
                ck_buf_release(&h);
                /* what golang.org/x/net/websocket answers on a subprotocol mismatch */
                fail(s, j, CK_R_FORBIDDEN,
                     "unable to upgrade: unsupported websocket protocol "
                     "requested");
                return;
            }
            st->ws_variant = v;
            ck_buf_appends(&h, "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n");
        }
        if (!st->ws_key[0]) {
            ck_buf_release(&h);
            fail(s, j, CK_R_BAD_REQUEST,
                 "websocket: not a websocket handshake: "
                 "'Sec-WebSocket-Key' header is missing or blank");
            return;
        }
    } else {
        for (int i = 0; i < st->nxspv; i++)
            ck_buf_appendf(&h, "X-Stream-Protocol-Version: %s\r\n", st->xspv[i]);
    }
    char *target = kubelet_target(st), msg[1024];
    int rc = hs_kubelet_upgrade(st->host, st->port, &st->tls, "POST", target, h.data ? h.data : "",
                                &st->kube, &st->kresp, msg, sizeof(msg));
    ck_v(4, "streaming: %s:%d POST %s -> %d", st->host, st->port, target,
         rc < 0 ? -1 : st->kresp.status);
    free(target);
    ck_buf_release(&h);
    if (rc < 0) {
        fail(s, j, CK_R_INTERNAL, "error dialing backend: %s", msg);
        return;
    }
    if (st->kresp.status != 101)
        return; /* relayed as it is (upgradeaware.go) */
    if (!st->kresp.conn_upgrade || !st->kresp.upgrade_spdy) {
        hs_io_close(&st->kube);
        hs_resp_release(&st->kresp);
        fail(s, j, CK_R_INTERNAL,
             "Internal error occurred: unable to upgrade: missing upgrade "
             "headers in response");
        return;
    }
    if (st->mode == HS_MODE_SPDY) {
        snprintf(st->client_proto, sizeof(st->client_proto), "%s", st->kresp.proto);
    } else if (st->tunnel) {
        snprintf(st->client_proto, sizeof(st->client_proto), "SPDY/3.1+%s", st->kresp.proto);
    } else if (strcmp(st->kresp.proto, "v4.channel.k8s.io")) {
        hs_io_close(&st->kube);
        hs_resp_release(&st->kresp);
        fail(s, j, CK_R_INTERNAL, "Internal error occurred: the kubelet did not accept %s",
             "v4.channel.k8s.io");
        return;
    }
    st->ok = true;
}

/* ---- loop: the answer and the take-over ----------------------------------------------- */

static void *session_main(void *p)
{
    struct http_stream *st = p;
    if (st->mode == HS_MODE_SPDY)
        hs_session_splice(st);
    else if (st->tunnel)
        hs_session_tunnel(st);
    else
        hs_session_channels(st);
    atomic_fetch_sub(&hs_sessions, 1);
    return NULL;
}

/* The SSL object of an exported h2o socket: the second member of h2o 2.2's
 * struct st_h2o_socket_ssl_t (after the SSL_CTX pointer). */
struct h2o22_ssl_head {
    SSL_CTX *ctx;
    SSL *ossl;
};

static void on_upgraded(void *arg, h2o_socket_t *sock, size_t reqsize)
{
    struct http_stream *st = arg;
    if (!sock) {
        atomic_fetch_sub(&hs_sessions, 1);
        http_stream_free(st);
        return;
    }
    h2o_buffer_consume(&sock->input, reqsize);
    h2o_socket_export_t info;
    if (h2o_socket_export(sock, &info) < 0) {
        atomic_fetch_sub(&hs_sessions, 1);
        http_stream_free(st);
        return;
    }
    st->cli.fd = dup(info.fd);
    if (info.ssl) {
        struct h2o22_ssl_head *hd = (struct h2o22_ssl_head *)info.ssl;
        st->cli.ssl = hd->ossl;
        hd->ossl = NULL;
        SSL_set_fd(st->cli.ssl, st->cli.fd); /* replaces h2o's buffer BIOs */
        SSL_set_mode(st->cli.ssl,
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    }
    if (info.input && info.input->size) {
        st->cli.pre = ck_malloc(info.input->size);
        memcpy(st->cli.pre, info.input->bytes, info.input->size);
        st->cli.pre_len = info.input->size;
    }
    h2o_socket_dispose_export(&info);
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 512 * 1024);
    if (st->cli.fd < 0 || pthread_create(&th, &at, session_main, st) != 0) {
        atomic_fetch_sub(&hs_sessions, 1);
        http_stream_free(st);
    }
    pthread_attr_destroy(&at);
}

static void add_header(h2o_req_t *req, const char *name, const char *value)
{
    h2o_iovec_t v = h2o_strdup(&req->pool, value, SIZE_MAX);
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 1, NULL, v.base,
                          v.len);
}

void http_stream_respond(h2o_req_t *req, struct http_job *j)
{
    struct http_stream *st = j->st;
    if (!st->ok && st->kresp.status) { /* the kubelet's refusal, verbatim */
        if (st->kresp.ctype[0])
            add_header(req, "content-type", st->kresp.ctype);
        size_t n = st->kresp.body_len;
        char *b = st->kresp.body;
        st->kresp.body = NULL;
        http_respond_bytes(
            req, st->kresp.status >= 200 && st->kresp.status < 600 ? st->kresp.status : 502, b, n);
        return;
    }
    if (!st->ok) {
        http_respond(req, &j->rs);
        return;
    }
    if (atomic_fetch_add(&hs_sessions, 1) >= HS_MAX_SESSIONS) {
        atomic_fetch_sub(&hs_sessions, 1);
        struct ck_err err = CK_ERR_INIT;
        ck_err_set(&err, CK_R_TOO_MANY_REQUESTS, "too many streaming sessions");
        ck_buf_reset(&j->rs.body);
        st->srv->ops->write_status(&j->rs, &err);
        http_respond(req, &j->rs);
        return;
    }
    req->res.status = 101;
    req->res.reason = "Switching Protocols";
    req->res.content_length = SIZE_MAX;
    if (st->mode == HS_MODE_SPDY) {
        add_header(req, "upgrade", "SPDY/3.1");
        add_header(req, "x-stream-protocol-version", st->client_proto);
    } else {
        char acc[64];
        hs_ws_accept_key(st->ws_key, acc, sizeof(acc));
        add_header(req, "upgrade", "websocket");
        add_header(req, "sec-websocket-accept", acc);
        if (st->client_proto[0])
            add_header(req, "sec-websocket-protocol", st->client_proto);
    }
    j->st = NULL; /* on_upgraded owns it now */
    h2o_http1_upgrade(req, NULL, 0, on_upgraded, st);
}
