/* SPDX-License-Identifier: Apache-2.0 */
/* src/dns internals: the record database's types, read by answer.c under the db's read
 * lock. */
#ifndef CK_DNS_INT_H
#define CK_DNS_INT_H

#include "dns/dns.h"
#include "lib/strmap.h"

#include <pthread.h>

enum dns_svc_kind { DNS_SVC_CLUSTERIP, DNS_SVC_HEADLESS, DNS_SVC_EXTERNAL };

struct dns_port {
    char *name;    /* "" when unnamed */
    char proto[8]; /* lowercase: tcp, udp, sctp */
    int port;
};

struct dns_svc {
    char *ns, *name;
    enum dns_svc_kind kind;
    struct dns_strv ips; /* clusterIPs (ClusterIP kind) */
    char *external;      /* externalName (with its trailing dot) */
    struct dns_port *ports;
    size_t nports;
    bool publish_not_ready;
};

struct dns_ep {
    struct dns_strv addrs;
    char *hostname; /* NULL when none */
    bool ready;     /* conditions.ready (unset counts as ready) */
};

struct dns_slice {
    char *key;     /* ns/name of the slice */
    char *svc_key; /* ns/service-name, NULL when the slice has no service label */
    struct dns_ep *eps;
    size_t neps;
    struct dns_port *ports;
    size_t nports;
};

struct dns_group { /* the slices of one service */
    struct dns_slice **v;
    size_t n;
};

struct dns_db {
    char *domain;
    pthread_rwlock_t lk;
    struct ck_strmap svcs;   /* ns/name -> dns_svc* */
    struct ck_strmap slices; /* ns/name -> dns_slice* */
    struct ck_strmap groups; /* ns/service -> dns_group* */
    struct ck_strmap nsref;  /* namespace -> (uintptr_t) number of services in it */
    uint32_t serial;         /* SOA serial: unix time of the last change */
};

/* Under the read lock. */
const struct dns_svc *dns_db_svc(const struct dns_db *db, const char *ns, const char *name);
const struct dns_group *dns_db_group(const struct dns_db *db, const char *ns, const char *name);
bool dns_db_ns_exists(const struct dns_db *db, const char *ns);
/* Whether the endpoint's addresses answer for its service (ready, or publishNotReady). */
bool dns_ep_visible(const struct dns_svc *svc, const struct dns_ep *ep);
/* The endpoint's DNS label: its hostname, else the address with '.'/':' as '-'. */
void dns_ep_label(const struct dns_ep *ep, const char *addr, char *out, size_t n);

#endif
