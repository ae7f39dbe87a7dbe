/* SPDX-License-Identifier: Apache-2.0 */
/* Where a proxy subresource request goes, as upstream's ResourceLocation functions
 * (pkg/registry/core/{service/storage,pod,node}): the objects are read through the engine
 * (GET requests on behalf of the caller) and only addresses found in them are targets.
 *   services: a ready address of the Endpoints whose port name matches (a port number is
 *             first mapped to its Service port's name), backed by a Pod with that IP;
 *   pods:     status.podIPs[0] and the given port, else the first container port;
 *   nodes:    an address of status.addresses (InternalIP first) and the kubelet port
 *             (status.daemonEndpoints.kubeletEndpoint.Port, default 10250) over https. */
#include "apiserver/http/http_proxy.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define KUBELET_PORT 10250

bool http_proxy_split_id(const char *id, char *scheme, size_t sl, char *name, size_t nl, char *port,
                         size_t pl)
{
    const char *p[3] = {0};
    size_t len[3] = {0}, n = 0;
    const char *start = id;

    for (const char *c = id;; c++)
        if (*c == ':' || !*c) {
            if (n == 3)
                return false;
            p[n] = start;
            len[n++] = (size_t)(c - start);
            if (!*c)
                break;
            start = c + 1;
        }
    const char *sc = "", *nm = p[0], *pt = "";
    size_t scl = 0, nml = len[0], ptl = 0;
    if (n == 2) {
        pt = p[1];
        ptl = len[1];
    } else if (n == 3) {
        sc = p[0], scl = len[0], nm = p[1], nml = len[1], pt = p[2], ptl = len[2];
    }
    if (!nml || scl >= sl || nml >= nl || ptl >= pl)
        return false;
    if (scl && !((scl == 4 && !strncmp(sc, "http", 4)) || (scl == 5 && !strncmp(sc, "https", 5))))
        return false;
    snprintf(scheme, sl, "%.*s", (int)scl, sc);
    snprintf(name, nl, "%.*s", (int)nml, nm);
    snprintf(port, pl, "%.*s", (int)ptl, pt);
    return true;
}

bool http_proxy_ip_allowed(const char *ip, bool allow_loopback)
{
    unsigned char a[16];

    if (inet_pton(AF_INET, ip, a) == 1) {
        uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
        if (v == 0 || v == 0xffffffffu || (v >> 28) == 0xe) /* unspecified, broadcast, multicast */
            return false;
        if ((v >> 16) == 0xa9fe) /* 169.254/16 link-local */
            return false;
        if ((v >> 24) == 127)
            return allow_loopback;
        return true;
    }
    if (inet_pton(AF_INET6, ip, a) == 1) {
        static const unsigned char zero[16], loop[16] = {[15] = 1};
        if (!memcmp(a, zero, 16) || a[0] == 0xff) /* unspecified, multicast */
            return false;
        if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) /* fe80::/10 */
            return false;
        if (!memcmp(a, loop, 16))
            return allow_loopback;
        return true;
    }
    return false;
}

/* ---- engine reads --------------------------------------------------------------------- */

/* GETs path through the engine as the caller. Returns the parsed object, or NULL with the
 * engine's answer (a Status) moved into j->rs. */
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
    json_t *o = NULL;

    memset(&rs, 0, sizeof(rs));
    rs.body = (struct ck_buf)CK_BUF_INIT((size_t)64 << 20);
    s->ops->handle(s->eng, &rq, &rs, &w);
    if (w)
        s->ops->watch_close(w);
    if (rs.status == 200 && rs.body.len)
        o = json_loadb(rs.body.data, rs.body.len, 0, NULL);
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
    if (j->rs.status == 200) { /* not JSON: should not happen */
        struct ck_err err = CK_ERR_INIT;
        ck_err_set(&err, CK_R_INTERNAL, "Internal error occurred: unreadable %s", path);
        s->ops->write_status(&j->rs, &err);
    }
    return NULL;
}

static int fail(struct http_server *s, struct http_job *j, enum ck_reason r, const char *fmt,
                const char *arg)
{
    struct ck_err err = CK_ERR_INIT;

    ck_err_set(&err, r, fmt, arg);
    s->ops->write_status(&j->rs, &err);
    return -1;
}

static void set_target(struct http_proxy *px, const char *scheme, const char *ip, const char *port)
{
    bool v6 = strchr(ip, ':') != NULL;

    snprintf(px->scheme, sizeof(px->scheme), "%s", *scheme ? scheme : "http");
    snprintf(px->hostport, sizeof(px->hostport), "%s%s%s%s%s", v6 ? "[" : "", ip, v6 ? "]" : "",
             *port ? ":" : "", port);
}

static const char *str_at(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    return json_string_value(v);
}

/* ---- services ------------------------------------------------------------------------- */

static atomic_uint rr; /* spreads picks like upstream's random start */

/* upstream's isValidAddress: the address must name a Pod of this namespace that has the IP. */
static bool endpoint_ok(struct http_server *s, struct http_job *j, json_t *addr, const char *ip)
{
    struct http_proxy *px = j->px;
    json_t *ref = json_object_get(addr, "targetRef"), *pod, *ips;
    const char *kind = str_at(ref, "kind", NULL), *ns = str_at(ref, "namespace", NULL);
    const char *name = str_at(ref, "name", NULL);
    struct api_response keep = j->rs;
    bool ok = false;
    size_t i;
    json_t *v;

    if (!http_proxy_ip_allowed(ip, px->allow_loopback) || !ref || !name ||
        (kind && strcmp(kind, "Pod")) || !ns || strcmp(ns, px->ns))
        return false;
    char *path = ck_asprintf("/api/v1/namespaces/%s/pods/%s", px->ns, name);
    memset(&j->rs.body, 0, sizeof(j->rs.body));
    j->rs.body = (struct ck_buf)CK_BUF_INIT((size_t)1 << 20);
    pod = engine_get(s, j, path);
    free(path);
    if (pod) {
        ips = json_object_get(json_object_get(pod, "status"), "podIPs");
        json_array_foreach(ips, i, v) ok |=
            str_at(v, "ip", NULL) && !strcmp(str_at(v, "ip", NULL), ip);
        if (!json_array_size(ips) && str_at(pod, "status", "podIP"))
            ok = !strcmp(str_at(pod, "status", "podIP"), ip);
        json_decref(pod);
    } else {
        ck_buf_release(&j->rs.body);
        for (size_t k = 0; k < j->rs.nwarnings && k < API_MAX_WARNINGS; k++)
            free(j->rs.warnings[k]);
    }
    j->rs = keep;
    if (!ok)
        ck_warn("proxy: endpoint address %s of %s/%s is not a pod IP, skipped", ip, px->ns, px->id);
    return ok;
}

static int service_port_name(struct http_server *s, struct http_job *j, const char *name,
                             char *port, size_t pl)
{
    char *end, *path;
    long num = strtol(port, &end, 10);
    json_t *svc, *p;
    size_t i;

    if (!*port || *end)
        return 0;
    path = ck_asprintf("/api/v1/namespaces/%s/services/%s", j->px->ns, name);
    svc = engine_get(s, j, path);
    free(path);
    if (!svc)
        return -1;
    json_array_foreach(json_object_get(json_object_get(svc, "spec"), "ports"), i, p)
    {
        if (json_integer_value(json_object_get(p, "port")) == num) {
            snprintf(port, pl, "%s", str_at(p, "name", NULL) ? str_at(p, "name", NULL) : "");
            json_decref(svc);
            return 0;
        }
    }
    json_decref(svc);
    char msg[512];
    snprintf(msg, sizeof(msg), "no service port %ld found for service \"%s\"", num, name);
    return fail(s, j, CK_R_SERVICE_UNAVAILABLE, "%s", msg);
}

static int resolve_service(struct http_server *s, struct http_job *j, const char *scheme,
                           const char *name, char *port, size_t pl)
{
    json_t *eps, *subsets, *ss, *addrs, *ports, *pt;
    size_t nss, i, k;
    char *path;
    unsigned seed = atomic_fetch_add(&rr, 1);

    if (service_port_name(s, j, name, port, pl) < 0)
        return -1;
    path = ck_asprintf("/api/v1/namespaces/%s/endpoints/%s", j->px->ns, name);
    eps = engine_get(s, j, path);
    free(path);
    if (!eps)
        return -1;
    subsets = json_object_get(eps, "subsets");
    if (!(nss = json_array_size(subsets))) {
        json_decref(eps);
        return fail(s, j, CK_R_SERVICE_UNAVAILABLE, "no endpoints available for service \"%s\"",
                    name);
    }
    for (size_t si = 0; si < nss; si++) {
        ss = json_array_get(subsets, (seed + si) % nss);
        addrs = json_object_get(ss, "addresses");
        ports = json_object_get(ss, "ports");
        if (!json_array_size(addrs))
            continue;
        json_array_foreach(ports, i, pt)
        {
            const char *pn = str_at(pt, "name", NULL);
            if (strcmp(pn ? pn : "", port))
                continue;
            for (k = 0; k < json_array_size(addrs); k++) {
                json_t *a = json_array_get(addrs, (seed + k) % json_array_size(addrs));
                const char *ip = str_at(a, "ip", NULL);
                char num[16];
                if (!ip || !endpoint_ok(s, j, a, ip))
                    continue;
                snprintf(num, sizeof(num), "%lld",
                         (long long)json_integer_value(json_object_get(pt, "port")));
                set_target(j->px, scheme, ip, num);
                json_decref(eps);
                return 0;
            }
        }
    }
    json_decref(eps);
    return fail(s, j, CK_R_SERVICE_UNAVAILABLE, "no endpoints available for service \"%s\"",
                j->px->id);
}

/* ---- pods and nodes ------------------------------------------------------------------- */

static int resolve_pod(struct http_server *s, struct http_job *j, const char *scheme,
                       const char *name, char *port, size_t pl)
{
    char *path = ck_asprintf("/api/v1/namespaces/%s/pods/%s", j->px->ns, name);
    json_t *pod = engine_get(s, j, path), *c, *ips;
    const char *ip;
    size_t i;

    free(path);
    if (!pod)
        return -1;
    if (!*port)
        json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, c)
        {
            json_t *p0 = json_array_get(json_object_get(c, "ports"), 0);
            if (p0) {
                snprintf(port, pl, "%lld",
                         (long long)json_integer_value(json_object_get(p0, "containerPort")));
                break;
            }
        }
    ips = json_object_get(json_object_get(pod, "status"), "podIPs");
    ip = json_array_size(ips) ? str_at(json_array_get(ips, 0), "ip", NULL)
                              : str_at(pod, "status", "podIP");
    if (!ip || !http_proxy_ip_allowed(ip, j->px->allow_loopback)) {
        json_decref(pod);
        return fail(s, j, CK_R_BAD_REQUEST, "%s", "address not allowed");
    }
    set_target(j->px, scheme, ip, port);
    json_decref(pod);
    return 0;
}

/* upstream's isProxyableHostname: every address the name resolves to must be proxyable. */
static bool host_allowed(const char *host, bool allow_loopback)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    char buf[INET6_ADDRSTRLEN];
    bool ok = true;

    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return false;
    for (struct addrinfo *a = res; a && ok; a = a->ai_next) {
        const void *p = a->ai_family == AF_INET
                            ? (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr
                            : (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
        ok = inet_ntop(a->ai_family, p, buf, sizeof(buf)) &&
             http_proxy_ip_allowed(buf, allow_loopback);
    }
    freeaddrinfo(res);
    return ok;
}

static int resolve_node(struct http_server *s, struct http_job *j, const char *scheme,
                        const char *name, const char *port)
{
    static const char *const pref[] = {"InternalIP", "Hostname", "InternalDNS", "ExternalDNS",
                                       "ExternalIP"};
    char *path = ck_asprintf("/api/v1/nodes/%s", name), kport[16];
    json_t *node = engine_get(s, j, path), *addrs, *a;
    const char *host = NULL;
    long long kp;
    size_t i;

    free(path);
    if (!node)
        return -1;
    addrs = json_object_get(json_object_get(node, "status"), "addresses");
    for (size_t p = 0; p < 5 && !host; p++)
        json_array_foreach(addrs, i, a) if (!host && str_at(a, "type", NULL) &&
                                            !strcmp(str_at(a, "type", NULL), pref[p])) host =
            str_at(a, "address", NULL);
    if (!host) {
        json_decref(node);
        return fail(s, j, CK_R_INTERNAL, "%s",
                    "Internal error occurred: no preferred addresses found");
    }
    if (!host_allowed(host, j->px->allow_loopback)) {
        json_decref(node);
        return fail(s, j, CK_R_BAD_REQUEST, "%s", "address not allowed");
    }
    kp = json_integer_value(json_object_get(
        json_object_get(json_object_get(json_object_get(node, "status"), "daemonEndpoints"),
                        "kubeletEndpoint"),
        "Port"));
    snprintf(kport, sizeof(kport), "%lld", kp > 0 ? kp : (long long)KUBELET_PORT);
    if (!*port || !strcmp(port, kport)) {
        set_target(j->px, "https", host, kport);
        j->px->insecure_tls = true; /* no --kubelet-certificate-authority: not verified */
    } else {
        set_target(j->px, scheme, host, port);
    }
    json_decref(node);
    return 0;
}

int http_proxy_resolve(struct http_server *s, struct http_job *j)
{
    struct http_proxy *px = j->px;
    static const char *const what[] = {"service", "pod", "node"};
    char scheme[8], name[256], port[64];

    if (!http_proxy_split_id(px->id, scheme, sizeof(scheme), name, sizeof(name), port,
                             sizeof(port))) {
        char msg[512];
        snprintf(msg, sizeof(msg), "invalid %s request \"%s\"", what[px->kind], px->id);
        return fail(s, j, CK_R_BAD_REQUEST, "%s", msg);
    }
    if (px->kind == HTTP_PROXY_SERVICE)
        return resolve_service(s, j, scheme, name, port, sizeof(port));
    if (px->kind == HTTP_PROXY_POD)
        return resolve_pod(s, j, scheme, name, port, sizeof(port));
    return resolve_node(s, j, scheme, name, port);
}
