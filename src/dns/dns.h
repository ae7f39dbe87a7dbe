/* SPDX-License-Identifier: Apache-2.0 */
/* Cluster DNS (the Kubernetes DNS spec, CoreDNS's kubernetes plugin behaviour): a record
 * database fed by Services and EndpointSlices, a query handler that parses and builds every
 * packet with libldns, and a UDP/TCP server that forwards names outside the cluster domain
 * to the host's upstream resolvers. Also the kubelet's composition of pods' resolv.conf
 * (pkg/kubelet/network/dns/dns.go), which the agent uses when it creates a sandbox. */
#ifndef CK_DNS_H
#define CK_DNS_H

#include "ckube/client.h"
#include "lib/buf.h"
#include "lib/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_TTL 5                  /* seconds, CoreDNS's default for kubernetes records */
#define DNS_SCHEMA_VERSION "1.1.0" /* dns-version.<domain> TXT */

/* ---- record database (db.c) ---------------------------------------------------------- */
struct dns_db;
/* domain: the cluster domain ("cluster.local"; a trailing dot is ignored). */
struct dns_db *dns_db_new(const char *domain);
void dns_db_free(struct dns_db *db);
const char *dns_db_domain(const struct dns_db *db); /* lowercase, no trailing dot */
/* Adds or replaces a Service / an EndpointSlice (core/v1 and discovery.k8s.io/v1 JSON). */
void dns_db_service_set(struct dns_db *db, const json_t *svc);
void dns_db_service_del(struct dns_db *db, const json_t *svc);
void dns_db_slice_set(struct dns_db *db, const json_t *slice);
void dns_db_slice_del(struct dns_db *db, const json_t *slice);
size_t dns_db_nservices(struct dns_db *db);

/* ---- queries (answer.c) ------------------------------------------------------------- */
enum dns_verdict {
    DNS_ANSWERED, /* out holds the reply */
    DNS_FORWARD,  /* not ours: send the query to an upstream resolver */
    DNS_DROP,     /* not a query (a response, or shorter than a header): no reply */
};

struct dns_reply {
    uint8_t *wire; /* malloc'd (free with free()) */
    size_t len;
    int rcode;      /* LDNS_RCODE_* of the reply */
    int qtype;      /* the question's type, 0 when there was none */
    bool truncated; /* TC set (UDP size exceeded) */
};

/* Answers one query packet. max_udp: the UDP payload limit (0 for TCP: no limit); the
 * client's EDNS0 size raises it. */
enum dns_verdict dns_answer(struct dns_db *db, const uint8_t *q, size_t qlen, size_t max_udp,
                            struct dns_reply *out);
/* A reply with rcode (SERVFAIL when forwarding failed) and the query's question; -1 if the
 * query cannot be parsed at all. */
int dns_error_reply(const uint8_t *q, size_t qlen, int rcode, struct dns_reply *out);
/* The question type of a packet, or -1. */
int dns_query_type(const uint8_t *q, size_t qlen);
const char *dns_type_name(int qtype);  /* "A", "AAAA", ... "other" (bounded set for metrics) */
const char *dns_rcode_name(int rcode); /* "NOERROR", "NXDOMAIN", ... */

/* ---- resolv.conf (resolvconf.c) ------------------------------------------------------ */
struct dns_strv {
    char **v;
    size_t n;
};
struct dns_resolv {
    struct dns_strv servers, searches, options;
};
void dns_strv_push(struct dns_strv *s, const char *str);
void dns_strv_release(struct dns_strv *s);
/* upstream parseResolvConf: nameserver lines accumulate, the last search/options line wins,
 * searches lose a trailing dot. */
void dns_resolv_parse(const char *text, size_t len, struct dns_resolv *out);
/* Reads and parses a file (a missing file gives an empty config and -1). */
int dns_resolv_load(const char *path, struct dns_resolv *out);
void dns_resolv_release(struct dns_resolv *r);

struct dns_pod_params {
    const struct dns_resolv *host; /* the node's resolv.conf (NULL: none, as --resolv-conf="") */
    const char *cluster_dns;       /* comma-separated IPs; NULL or "": not configured */
    const char *cluster_domain;    /* NULL or "": none */
};
/* upstream GetPodDNS: the pod's nameservers, searches and options by dnsPolicy, hostNetwork
 * and spec.dnsConfig, cut to the limits (3 nameservers, 32 searches, 2048 chars). warn
 * (optional) receives the DNSConfigForming / MissingClusterDNS message, "" when none. */
void dns_pod_config(const json_t *pod, const struct dns_pod_params *p, struct dns_resolv *out,
                    char *warn, size_t nwarn);
/* The resolv.conf text of a config (as the runtime writes it). */
void dns_resolv_format(const struct dns_resolv *r, struct ck_buf *out);

/* ---- server (server.c) --------------------------------------------------------------- */
struct dns_server;
struct dns_server_opts {
    struct ck_client *client;     /* informers on Services and EndpointSlices; NULL: db only */
    struct dns_db *db;            /* NULL: the server makes its own (needs domain) */
    const char *domain;           /* default cluster.local */
    const char *addr;             /* numeric IPv4/IPv6 to bind, default 0.0.0.0 */
    int port;                     /* 0: any free port (UDP and TCP share it) */
    const char *resolv_conf;      /* upstream resolvers, default /etc/resolv.conf */
    const char *const *upstreams; /* instead of resolv_conf: "IP" or "IP:PORT" (NULL-ended) */
    int udp_threads;              /* 0: 2 */
    int forward_timeout_ms;       /* per upstream try, 0: 2000 */
};
int dns_server_start(const struct dns_server_opts *o, struct dns_server **out, struct ck_err *err);
int dns_server_port(const struct dns_server *s);
struct dns_db *dns_server_db(struct dns_server *s);
/* Whether both informers listed (always true without a client). */
bool dns_server_synced(struct dns_server *s);
bool dns_server_wait_synced(struct dns_server *s, int timeout_ms);
/* Prometheus families: ckube_dns_requests_total{proto,type}, ckube_dns_responses_total
 * {rcode}, ckube_dns_request_duration_seconds, ckube_dns_forward_* (process-wide). */
void dns_server_metrics(struct ck_buf *out);
void dns_server_stop(struct dns_server *s);

#endif
