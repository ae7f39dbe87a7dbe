/* SPDX-License-Identifier: Apache-2.0 */
/* Internals of the proxy subresources (pods/proxy, services/proxy, nodes/proxy), shared by
 * http_proxy.c (request, upstream exchange, response) and http_proxy_target.c (where to). */
#ifndef CK_APISERVER_HTTP_PROXY_H
#define CK_APISERVER_HTTP_PROXY_H

#include "apiserver/http/http_int.h"

#include <curl/curl.h>

enum http_proxy_kind { HTTP_PROXY_SERVICE, HTTP_PROXY_POD, HTTP_PROXY_NODE };

struct http_proxy_hdr {
    char *name, *value;
};

struct http_proxy {
    enum http_proxy_kind kind;
    char *ns;     /* NULL for nodes */
    char *id;     /* [scheme:]name[:port] */
    char *tail;   /* decoded path after ".../proxy" ("" or "/...") */
    char *prefix; /* decoded ".../proxy" (upstream's PathPrepend for Location rewriting) */
    char *raw_path, *authority, *method, *peer;
    bool allow_loopback;
    struct curl_slist *hdrs; /* request headers to forward */
    /* where to (http_proxy_target.c) */
    char scheme[8];
    char hostport[300]; /* "ip:port", "[v6]:port" or a bare host */
    bool insecure_tls;
    /* the answer */
    bool proxied; /* status/resp/body hold the upstream response (else j->rs holds a Status) */
    char *redirect;
    int status;
    size_t nresp;
    struct http_proxy_hdr *resp;
    struct ck_buf body;
};

/* Splits a decoded path into kind, namespace, id, tail and prefix; false if not a proxy path. */
bool http_proxy_parse_path(const char *path, struct http_proxy *px);

/* upstream's utilnet.SplitSchemeNamePort: "name", "name:port" or "scheme:name:port" with
 * scheme "", "http" or "https" and a non-empty name. Buffers are NUL-terminated. */
bool http_proxy_split_id(const char *id, char *scheme, size_t sl, char *name, size_t nl, char *port,
                         size_t pl);

/* May the proxy reach this literal IP? Refuses unspecified, loopback (unless allow_loopback),
 * link-local, multicast and broadcast addresses (upstream: pods need a global unicast IP,
 * nodes a proxyable one, endpoints may not be special). Non-IP strings are refused. */
bool http_proxy_ip_allowed(const char *ip, bool allow_loopback);

/* Worker thread: fills px->scheme/hostport, or j->rs with the error Status; 0 or -1. */
int http_proxy_resolve(struct http_server *s, struct http_job *j);

#endif
