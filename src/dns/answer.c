/* SPDX-License-Identifier: Apache-2.0 */
/* The query handler: one packet in (parsed by ldns), one packet out (built with ldns),
 * answering the cluster domain per the Kubernetes DNS spec (schema 1.1.0) the way CoreDNS's
 * kubernetes plugin does: services, headless endpoints, SRV, ExternalName CNAMEs, pod
 * records ("pods insecure"), PTR for service and endpoint IPs, NXDOMAIN / NODATA with the
 * zone's SOA in the authority section. Everything else is for the forwarder. */
#include "dns/dns_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define MAX_LABELS 8

struct ans {
    const struct dns_db *db;
    ldns_pkt *r;
    const ldns_rdf *qname; /* as asked (case kept) */
    int qtype;
};

static ldns_rr *rr_new(const ldns_rdf *owner, ldns_rr_type t)
{
    ldns_rr *rr = ldns_rr_new();
    ldns_rr_set_owner(rr, ldns_rdf_clone(owner));
    ldns_rr_set_type(rr, t);
    ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
    ldns_rr_set_ttl(rr, DNS_TTL);
    return rr;
}

static ldns_rdf *dname(const char *fqdn)
{
    return ldns_dname_new_frm_str(fqdn);
}

static void push(struct ans *a, ldns_pkt_section sec, ldns_rr *rr)
{
    if (!ldns_pkt_push_rr(a->r, sec, rr))
        ldns_rr_free(rr);
}

static bool is_v6(const char *ip)
{
    return strchr(ip, ':') != NULL;
}

/* Adds an A/AAAA record for ip when its family is the one asked (want: A or AAAA). */
static bool add_addr(struct ans *a, ldns_pkt_section sec, const ldns_rdf *owner, const char *ip,
                     int want)
{
    bool v6 = is_v6(ip);
    if ((want == LDNS_RR_TYPE_A && v6) || (want == LDNS_RR_TYPE_AAAA && !v6))
        return false;
    ldns_rdf *d = ldns_rdf_new_frm_str(v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, ip);
    if (!d)
        return false;
    ldns_rr *rr = rr_new(owner, v6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A);
    ldns_rr_push_rdf(rr, d);
    push(a, sec, rr);
    return true;
}

static void add_soa(struct ans *a, ldns_pkt_section sec)
{
    char b[600];
    snprintf(b, sizeof(b), "%s.", a->db->domain);
    ldns_rdf *zone = dname(b);
    if (!zone)
        return;
    snprintf(b, sizeof(b), "ns.dns.%s.", a->db->domain);
    ldns_rdf *mname = dname(b);
    snprintf(b, sizeof(b), "hostmaster.%s.", a->db->domain);
    ldns_rdf *rname = dname(b);
    if (!mname || !rname) { /* a domain too long for the SOA names */
        ldns_rdf_deep_free(mname);
        ldns_rdf_deep_free(rname);
        ldns_rdf_deep_free(zone);
        return;
    }
    ldns_rr *rr = rr_new(zone, LDNS_RR_TYPE_SOA);
    ldns_rdf_deep_free(zone);
    ldns_rr_push_rdf(rr, mname);
    ldns_rr_push_rdf(rr, rname);
    ldns_rr_push_rdf(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_INT32, a->db->serial));
    ldns_rr_push_rdf(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, 7200));
    ldns_rr_push_rdf(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, 1800));
    ldns_rr_push_rdf(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, 86400));
    ldns_rr_push_rdf(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, DNS_TTL));
    push(a, sec, rr);
}

static void add_name_rr(struct ans *a, const ldns_rdf *owner, ldns_rr_type t, const char *fqdn)
{
    ldns_rdf *d = dname(fqdn);
    if (!d)
        return;
    ldns_rr *rr = rr_new(owner, t);
    ldns_rr_push_rdf(rr, d);
    push(a, LDNS_SECTION_ANSWER, rr);
}

static void add_srv(struct ans *a, const ldns_rdf *owner, int weight, int port, const char *target)
{
    ldns_rdf *d = dname(target);
    if (!d)
        return;
    ldns_rr *rr = rr_new(owner, LDNS_RR_TYPE_SRV);
    ldns_rr_push_rdf(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, 0));
    ldns_rr_push_rdf(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, (uint16_t)weight));
    ldns_rr_push_rdf(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, (uint16_t)port));
    ldns_rr_push_rdf(rr, d);
    push(a, LDNS_SECTION_ANSWER, rr);
}

/* The additional A/AAAA records of an SRV target. */
static void add_target_addr(struct ans *a, const char *target, const char *ip)
{
    ldns_rdf *t = dname(target);
    if (!t)
        return;
    add_addr(a, LDNS_SECTION_ADDITIONAL, t, ip, is_v6(ip) ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A);
    ldns_rdf_deep_free(t);
}

static bool want_addr(int qtype)
{
    return qtype == LDNS_RR_TYPE_A || qtype == LDNS_RR_TYPE_AAAA;
}

/* Every visible (address, endpoint, slice) of a service, deduplicated by address. */
typedef void (*ep_fn)(struct ans *a, const struct dns_svc *svc, const struct dns_slice *sl,
                      const struct dns_ep *ep, const char *addr, void *arg);

static size_t each_ep(struct ans *a, const struct dns_svc *svc, ep_fn fn, void *arg)
{
    const struct dns_group *g = dns_db_group(a->db, svc->ns, svc->name);
    size_t n = 0;
    for (size_t i = 0; g && i < g->n; i++) {
        const struct dns_slice *sl = g->v[i];
        for (size_t j = 0; j < sl->neps; j++) {
            const struct dns_ep *ep = &sl->eps[j];
            if (!dns_ep_visible(svc, ep))
                continue;
            for (size_t k = 0; k < ep->addrs.n; k++) {
                bool dup = false; /* the same address in an earlier slice */
                for (size_t pi = 0; pi < i && !dup; pi++)
                    for (size_t pj = 0; pj < g->v[pi]->neps && !dup; pj++)
                        for (size_t pk = 0; pk < g->v[pi]->eps[pj].addrs.n && !dup; pk++)
                            dup = !strcmp(g->v[pi]->eps[pj].addrs.v[pk], ep->addrs.v[k]);
                if (dup)
                    continue;
                fn(a, svc, sl, ep, ep->addrs.v[k], arg);
                n++;
            }
        }
    }
    return n;
}

struct ep_ctx {
    const char *label;        /* endpoint queries: the wanted label */
    const char *port, *proto; /* SRV: the port name and protocol wanted (NULL: every named) */
    int count, added;
    char svcname[600];
};

static void ep_addr_cb(struct ans *a, const struct dns_svc *svc, const struct dns_slice *sl,
                       const struct dns_ep *ep, const char *addr, void *arg)
{
    (void)svc;
    (void)sl;
    struct ep_ctx *c = arg;
    if (c->label) {
        char l[300];
        dns_ep_label(ep, addr, l, sizeof(l));
        if (strcmp(l, c->label))
            return;
    }
    c->count++;
    if (want_addr(a->qtype) && add_addr(a, LDNS_SECTION_ANSWER, a->qname, addr, a->qtype))
        c->added++;
}

static bool port_match(const struct dns_port *p, const struct ep_ctx *c)
{
    if (!*p->name)
        return false; /* SRV records exist for named ports only */
    return (!c->port || !strcmp(p->name, c->port)) && (!c->proto || !strcmp(p->proto, c->proto));
}

static void ep_srv_count(struct ans *a, const struct dns_svc *svc, const struct dns_slice *sl,
                         const struct dns_ep *ep, const char *addr, void *arg)
{
    (void)a, (void)svc, (void)ep, (void)addr;
    struct ep_ctx *c = arg;
    for (size_t i = 0; i < sl->nports; i++)
        if (port_match(&sl->ports[i], c))
            c->count++;
}

static void ep_srv_cb(struct ans *a, const struct dns_svc *svc, const struct dns_slice *sl,
                      const struct dns_ep *ep, const char *addr, void *arg)
{
    (void)svc;
    struct ep_ctx *c = arg;
    char l[300], target[1024];
    dns_ep_label(ep, addr, l, sizeof(l));
    snprintf(target, sizeof(target), "%s.%s", l, c->svcname);
    int weight = c->count > 0 ? 100 / c->count : 100;
    for (size_t i = 0; i < sl->nports; i++) {
        if (!port_match(&sl->ports[i], c))
            continue;
        add_srv(a, a->qname, weight ? weight : 1, sl->ports[i].port, target);
        add_target_addr(a, target, addr);
        c->added++;
    }
}

/* <svc>.<ns>.svc, or _<port>._<proto>.<svc>.<ns>.svc when port is set. */
static int answer_service(struct ans *a, const struct dns_svc *svc, const char *port,
                          const char *proto)
{
    struct ep_ctx c = {.port = port, .proto = proto};
    snprintf(c.svcname, sizeof(c.svcname), "%s.%s.svc.%s.", svc->name, svc->ns, a->db->domain);
    if (svc->kind == DNS_SVC_EXTERNAL) {
        if (port)
            return LDNS_RCODE_NXDOMAIN;
        add_name_rr(a, a->qname, LDNS_RR_TYPE_CNAME, svc->external);
        return LDNS_RCODE_NOERROR;
    }
    if (svc->kind == DNS_SVC_HEADLESS) {
        /* as CoreDNS: a headless service without a visible endpoint is NXDOMAIN */
        struct ep_ctx probe = {0};
        struct ans quiet = *a;
        quiet.qtype = 0;
        each_ep(&quiet, svc, ep_addr_cb, &probe);
        if (!probe.count)
            return LDNS_RCODE_NXDOMAIN;
    }
    if (port) { /* the SRV name exists when a port matches */
        bool any = false;
        if (svc->kind == DNS_SVC_CLUSTERIP) {
            for (size_t i = 0; i < svc->nports; i++)
                any = any || port_match(&svc->ports[i], &c);
        } else {
            each_ep(a, svc, ep_srv_count, &c);
            any = c.count > 0;
        }
        if (!any)
            return LDNS_RCODE_NXDOMAIN;
    }
    if (want_addr(a->qtype) && !port) {
        if (svc->kind == DNS_SVC_CLUSTERIP)
            for (size_t i = 0; i < svc->ips.n; i++)
                add_addr(a, LDNS_SECTION_ANSWER, a->qname, svc->ips.v[i], a->qtype);
        else
            each_ep(a, svc, ep_addr_cb, &c);
    } else if (a->qtype == LDNS_RR_TYPE_SRV) {
        if (svc->kind == DNS_SVC_CLUSTERIP) {
            int n = 0;
            for (size_t i = 0; i < svc->nports; i++)
                n += port_match(&svc->ports[i], &c);
            for (size_t i = 0; i < svc->nports; i++) {
                if (!port_match(&svc->ports[i], &c))
                    continue;
                add_srv(a, a->qname, n ? 100 / n : 100, svc->ports[i].port, c.svcname);
                for (size_t k = 0; k < svc->ips.n; k++)
                    add_target_addr(a, c.svcname, svc->ips.v[k]);
            }
        } else {
            c.count = 0;
            each_ep(a, svc, ep_srv_count, &c);
            each_ep(a, svc, ep_srv_cb, &c);
        }
    }
    return LDNS_RCODE_NOERROR;
}

/* <label>.<svc>.<ns>.svc: an endpoint by hostname (or dashed address). */
static int answer_endpoint(struct ans *a, const struct dns_svc *svc, const char *label)
{
    if (svc->kind == DNS_SVC_EXTERNAL)
        return LDNS_RCODE_NXDOMAIN;
    struct ep_ctx c = {.label = label};
    each_ep(a, svc, ep_addr_cb, &c);
    return c.count ? LDNS_RCODE_NOERROR : LDNS_RCODE_NXDOMAIN;
}

/* <a-b-c-d>.<ns>.pod */
static int answer_pod(struct ans *a, const char *label)
{
    char ip[64];
    unsigned char bin[16];
    if (strlen(label) >= sizeof(ip))
        return LDNS_RCODE_NXDOMAIN;
    bool ok = false;
    for (int v6 = 0; v6 < 2 && !ok; v6++) { /* 10-1-2-3, then fd00--1 */
        snprintf(ip, sizeof(ip), "%s", label);
        for (char *c = ip; *c; c++)
            if (*c == '-')
                *c = v6 ? ':' : '.';
        ok = inet_pton(v6 ? AF_INET6 : AF_INET, ip, bin) == 1;
    }
    if (!ok)
        return LDNS_RCODE_NXDOMAIN;
    if (want_addr(a->qtype))
        add_addr(a, LDNS_SECTION_ANSWER, a->qname, ip, a->qtype);
    return LDNS_RCODE_NOERROR;
}

static int resolve_cluster(struct ans *a, char **lab, int n)
{
    /* lab[0] is the leftmost label; n == 0 is the zone apex */
    if (n == 0) {
        char b[600];
        snprintf(b, sizeof(b), "ns.dns.%s.", a->db->domain);
        if (a->qtype == LDNS_RR_TYPE_SOA)
            add_soa(a, LDNS_SECTION_ANSWER);
        else if (a->qtype == LDNS_RR_TYPE_NS)
            add_name_rr(a, a->qname, LDNS_RR_TYPE_NS, b);
        return LDNS_RCODE_NOERROR;
    }
    const char *top = lab[n - 1];
    if (n == 1 && !strcmp(top, "dns-version")) {
        if (a->qtype == LDNS_RR_TYPE_TXT) {
            ldns_rr *rr = rr_new(a->qname, LDNS_RR_TYPE_TXT);
            ldns_rr_push_rdf(rr, ldns_rdf_new_frm_str(LDNS_RDF_TYPE_STR, DNS_SCHEMA_VERSION));
            push(a, LDNS_SECTION_ANSWER, rr);
        }
        return LDNS_RCODE_NOERROR;
    }
    if (!strcmp(top, "pod")) {
        if (n == 1)
            return LDNS_RCODE_NOERROR;
        if (n == 2)
            return LDNS_RCODE_NOERROR; /* any namespace (pods insecure) */
        return n == 3 ? answer_pod(a, lab[0]) : LDNS_RCODE_NXDOMAIN;
    }
    if (strcmp(top, "svc"))
        return LDNS_RCODE_NXDOMAIN;
    if (n == 1)
        return LDNS_RCODE_NOERROR;
    const char *ns = lab[n - 2];
    if (n == 2)
        return dns_db_ns_exists(a->db, ns) ? LDNS_RCODE_NOERROR : LDNS_RCODE_NXDOMAIN;
    const struct dns_svc *svc = dns_db_svc(a->db, ns, lab[n - 3]);
    if (!svc)
        return LDNS_RCODE_NXDOMAIN;
    if (n == 3)
        return answer_service(a, svc, NULL, NULL);
    if (n == 4 && lab[0][0] != '_')
        return answer_endpoint(a, svc, lab[0]);
    if (n == 4) { /* _<proto>.<svc>...: an empty non-terminal when a port has that protocol */
        struct ans probe = *a;
        probe.qtype = 0;
        struct ep_ctx c = {.proto = lab[0] + 1};
        bool any = false;
        for (size_t i = 0; i < svc->nports; i++)
            any = any || port_match(&svc->ports[i], &c);
        if (!any && svc->kind == DNS_SVC_HEADLESS) {
            each_ep(&probe, svc, ep_srv_count, &c);
            any = c.count > 0;
        }
        return any ? LDNS_RCODE_NOERROR : LDNS_RCODE_NXDOMAIN;
    }
    if (n == 5 && lab[0][0] == '_' && lab[1][0] == '_')
        return answer_service(a, svc, lab[0] + 1, lab[1] + 1);
    return LDNS_RCODE_NXDOMAIN;
}

/* ---- PTR ----------------------------------------------------------------------------- */

/* The address of a reverse name ("4.3.2.1.in-addr.arpa", 32 nibbles ".ip6.arpa"). */
static int reverse_addr(const char *name, unsigned char bin[16])
{
    size_t l = strlen(name);
    const char *v4s = ".in-addr.arpa", *v6s = ".ip6.arpa";
    char ip[80];
    if (l > strlen(v4s) && !strcmp(name + l - strlen(v4s), v4s)) {
        unsigned o[4];
        char tail[2];
        if (sscanf(name, "%3u.%3u.%3u.%3u.in-addr.arp%1s", &o[0], &o[1], &o[2], &o[3], tail) != 5 ||
            strspn(name, "0123456789.") != l - strlen(v4s) + 1)
            return 0;
        snprintf(ip, sizeof(ip), "%u.%u.%u.%u", o[3], o[2], o[1], o[0]);
        return inet_pton(AF_INET, ip, bin) == 1 ? AF_INET : 0;
    }
    if (l == 64 + strlen(v6s) - 1 && !strcmp(name + l - strlen(v6s), v6s)) {
        for (int i = 0; i < 32; i++) {
            char c = name[2 * i];
            if (!isxdigit((unsigned char)c) || name[2 * i + 1] != '.')
                return 0;
            int nib = isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
            int pos = 31 - i; /* nibble index from the left */
            if (pos % 2 == 0)
                bin[pos / 2] = (unsigned char)((bin[pos / 2] & 0x0f) | (nib << 4));
            else
                bin[pos / 2] = (unsigned char)((bin[pos / 2] & 0xf0) | nib);
        }
        return AF_INET6;
    }
    return 0;
}

static bool same_addr(int af, const unsigned char *bin, const char *ip)
{
    unsigned char b[16];
    if (inet_pton(af, ip, b) != 1)
        return false;
    return !memcmp(b, bin, af == AF_INET ? 4 : 16);
}

/* Whether the PTR was found (and answered). */
static bool answer_ptr(struct ans *a, const char *name)
{
    unsigned char bin[16] = {0};
    int af = reverse_addr(name, bin);
    if (!af)
        return false;
    const struct dns_db *db = a->db;
    const char *k;
    void *v;
    char target[1024];
    for (size_t i = 0; ck_strmap_next(&db->svcs, &i, &k, &v);) {
        const struct dns_svc *s = v;
        for (size_t j = 0; s->kind == DNS_SVC_CLUSTERIP && j < s->ips.n; j++)
            if (same_addr(af, bin, s->ips.v[j])) {
                snprintf(target, sizeof(target), "%s.%s.svc.%s.", s->name, s->ns, db->domain);
                if (a->qtype == LDNS_RR_TYPE_PTR)
                    add_name_rr(a, a->qname, LDNS_RR_TYPE_PTR, target);
                return true;
            }
    }
    for (size_t i = 0; ck_strmap_next(&db->slices, &i, &k, &v);) {
        const struct dns_slice *sl = v;
        if (!sl->svc_key)
            continue;
        const struct dns_svc *s = ck_strmap_get(&db->svcs, sl->svc_key, NULL);
        if (!s || s->kind == DNS_SVC_EXTERNAL)
            continue;
        for (size_t j = 0; j < sl->neps; j++)
            for (size_t m = 0; m < sl->eps[j].addrs.n; m++) {
                if (!dns_ep_visible(s, &sl->eps[j]) || !same_addr(af, bin, sl->eps[j].addrs.v[m]))
                    continue;
                char l[300];
                dns_ep_label(&sl->eps[j], sl->eps[j].addrs.v[m], l, sizeof(l));
                snprintf(target, sizeof(target), "%s.%s.%s.svc.%s.", l, s->name, s->ns, db->domain);
                if (a->qtype == LDNS_RR_TYPE_PTR)
                    add_name_rr(a, a->qname, LDNS_RR_TYPE_PTR, target);
                return true;
            }
    }
    return false;
}

/* ---- packets ------------------------------------------------------------------------- */

static ldns_pkt *reply_for(const ldns_pkt *q)
{
    ldns_pkt *r = ldns_pkt_new();
    ldns_pkt_set_id(r, ldns_pkt_id(q));
    ldns_pkt_set_qr(r, true);
    ldns_pkt_set_opcode(r, ldns_pkt_get_opcode(q));
    ldns_pkt_set_rd(r, ldns_pkt_rd(q));
    ldns_pkt_set_cd(r, ldns_pkt_cd(q));
    ldns_pkt_set_ra(r, true);
    ldns_rr_list *ql = ldns_pkt_question(q);
    for (size_t i = 0; ql && i < ldns_rr_list_rr_count(ql); i++)
        ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, ldns_rr_clone(ldns_rr_list_rr(ql, i)));
    if (ldns_pkt_edns(q))
        ldns_pkt_set_edns_udp_size(r, 1232);
    return r;
}

static void clear_section(ldns_pkt *r, ldns_pkt_section s)
{
    if (s == LDNS_SECTION_ANSWER) {
        ldns_rr_list_deep_free(ldns_pkt_answer(r));
        ldns_pkt_set_answer(r, ldns_rr_list_new());
        ldns_pkt_set_ancount(r, 0);
    } else if (s == LDNS_SECTION_AUTHORITY) {
        ldns_rr_list_deep_free(ldns_pkt_authority(r));
        ldns_pkt_set_authority(r, ldns_rr_list_new());
        ldns_pkt_set_nscount(r, 0);
    } else {
        ldns_rr_list_deep_free(ldns_pkt_additional(r));
        ldns_pkt_set_additional(r, ldns_rr_list_new());
        ldns_pkt_set_arcount(r, 0);
    }
}

static int to_wire(ldns_pkt *r, size_t limit, struct dns_reply *out)
{
    uint8_t *w = NULL;
    size_t len = 0;
    if (ldns_pkt2wire(&w, r, &len) != LDNS_STATUS_OK)
        return -1;
    if (limit && len > limit && ldns_pkt_arcount(r)) {
        free(w);
        clear_section(r, LDNS_SECTION_ADDITIONAL); /* first drop the glue */
        if (ldns_pkt2wire(&w, r, &len) != LDNS_STATUS_OK)
            return -1;
    }
    if (limit && len > limit) {
        free(w);
        clear_section(r, LDNS_SECTION_ANSWER);
        clear_section(r, LDNS_SECTION_AUTHORITY);
        ldns_pkt_set_tc(r, true);
        out->truncated = true;
        if (ldns_pkt2wire(&w, r, &len) != LDNS_STATUS_OK)
            return -1;
    }
    out->wire = w;
    out->len = len;
    out->rcode = ldns_pkt_get_rcode(r);
    return 0;
}

int dns_error_reply(const uint8_t *q, size_t qlen, int rcode, struct dns_reply *out)
{
    memset(out, 0, sizeof(*out));
    if (qlen < LDNS_HEADER_SIZE)
        return -1;
    ldns_pkt *qp = NULL, *r;
    if (ldns_wire2pkt(&qp, q, qlen) == LDNS_STATUS_OK) {
        r = reply_for(qp);
        if (ldns_pkt_qdcount(qp) == 1)
            out->qtype = ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(qp), 0));
        ldns_pkt_free(qp);
    } else { /* header fields only */
        r = ldns_pkt_new();
        ldns_pkt_set_id(r, LDNS_ID_WIRE(q));
        ldns_pkt_set_qr(r, true);
        ldns_pkt_set_opcode(r, (ldns_pkt_opcode)LDNS_OPCODE_WIRE(q));
        ldns_pkt_set_rd(r, LDNS_RD_WIRE(q) != 0);
    }
    ldns_pkt_set_rcode(r, (uint8_t)rcode);
    int rc = to_wire(r, 0, out);
    ldns_pkt_free(r);
    return rc;
}

int dns_query_type(const uint8_t *q, size_t qlen)
{
    ldns_pkt *qp = NULL;
    if (qlen < LDNS_HEADER_SIZE || ldns_wire2pkt(&qp, q, qlen) != LDNS_STATUS_OK)
        return -1;
    int t = ldns_pkt_qdcount(qp) == 1
                ? (int)ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(qp), 0))
                : -1;
    ldns_pkt_free(qp);
    return t;
}

/* The question name in lowercase without its trailing dot; false when unusable. */
static bool qname_str(const ldns_rdf *qn, char *out, size_t n)
{
    char *s = ldns_rdf2str(qn);
    if (!s)
        return false;
    size_t l = strlen(s);
    bool ok = l < n;
    if (ok) {
        while (l > 0 && s[l - 1] == '.')
            l--;
        for (size_t i = 0; i < l; i++)
            out[i] = (char)tolower((unsigned char)s[i]);
        out[l] = '\0';
    }
    free(s);
    return ok;
}

static int split_labels(char *rel, char **lab)
{
    int n = 0;
    if (!*rel)
        return 0;
    for (char *p = rel;;) {
        if (n == MAX_LABELS)
            return -1;
        lab[n++] = p;
        char *dot = strchr(p, '.');
        if (!dot)
            break;
        *dot = '\0';
        p = dot + 1;
    }
    return n;
}

enum dns_verdict dns_answer(struct dns_db *db, const uint8_t *q, size_t qlen, size_t max_udp,
                            struct dns_reply *out)
{
    memset(out, 0, sizeof(*out));
    if (qlen < LDNS_HEADER_SIZE || LDNS_QR_WIRE(q))
        return DNS_DROP;
    ldns_pkt *qp = NULL;
    if (ldns_wire2pkt(&qp, q, qlen) != LDNS_STATUS_OK)
        return dns_error_reply(q, qlen, LDNS_RCODE_FORMERR, out) == 0 ? DNS_ANSWERED : DNS_DROP;
    ldns_pkt *r = reply_for(qp);
    enum dns_verdict verdict = DNS_ANSWERED;
    size_t limit = 0;
    if (max_udp) {
        limit = max_udp;
        if (ldns_pkt_edns(qp) && ldns_pkt_edns_udp_size(qp) > limit)
            limit = ldns_pkt_edns_udp_size(qp) < 4096 ? ldns_pkt_edns_udp_size(qp) : 4096;
    }
    if (ldns_pkt_get_opcode(qp) != LDNS_PACKET_QUERY) {
        ldns_pkt_set_rcode(r, LDNS_RCODE_NOTIMPL);
    } else if (ldns_pkt_qdcount(qp) != 1 || !ldns_pkt_question(qp) ||
               ldns_rr_list_rr_count(ldns_pkt_question(qp)) != 1) {
        ldns_pkt_set_rcode(r, LDNS_RCODE_FORMERR);
    } else {
        const ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(qp), 0);
        struct ans a = {
            .db = db, .r = r, .qname = ldns_rr_owner(qrr), .qtype = (int)ldns_rr_get_type(qrr)};
        out->qtype = a.qtype;
        char name[1100];
        const char *dom = db->domain;
        size_t dl = strlen(dom);
        if (!qname_str(a.qname, name, sizeof(name))) {
            ldns_pkt_set_rcode(r, LDNS_RCODE_FORMERR);
        } else if (ldns_rr_get_class(qrr) != LDNS_RR_CLASS_IN) {
            ldns_pkt_set_rcode(r, LDNS_RCODE_REFUSED);
        } else {
            size_t nl = strlen(name);
            bool in_zone =
                nl >= dl && !strcmp(name + nl - dl, dom) && (nl == dl || name[nl - dl - 1] == '.');
            pthread_rwlock_rdlock(&db->lk);
            if (in_zone) {
                name[nl == dl ? 0 : nl - dl - 1] = '\0';
                char *lab[MAX_LABELS];
                int n = split_labels(name, lab);
                int rcode = n < 0 ? LDNS_RCODE_NXDOMAIN : resolve_cluster(&a, lab, n);
                ldns_pkt_set_aa(r, true);
                ldns_pkt_set_rcode(r, (uint8_t)rcode);
                if (rcode == LDNS_RCODE_NXDOMAIN || ldns_pkt_ancount(r) == 0)
                    add_soa(&a, LDNS_SECTION_AUTHORITY);
            } else if (answer_ptr(&a, name)) {
                ldns_pkt_set_aa(r, true);
                if (ldns_pkt_ancount(r) == 0)
                    add_soa(&a, LDNS_SECTION_AUTHORITY);
            } else {
                verdict = DNS_FORWARD;
            }
            pthread_rwlock_unlock(&db->lk);
        }
    }
    if (verdict == DNS_ANSWERED && to_wire(r, limit, out) < 0)
        verdict = DNS_DROP;
    ldns_pkt_free(r);
    ldns_pkt_free(qp);
    return verdict;
}

const char *dns_type_name(int t)
{
    switch (t) {
    case LDNS_RR_TYPE_A:
        return "A";
    case LDNS_RR_TYPE_AAAA:
        return "AAAA";
    case LDNS_RR_TYPE_SRV:
        return "SRV";
    case LDNS_RR_TYPE_PTR:
        return "PTR";
    case LDNS_RR_TYPE_CNAME:
        return "CNAME";
    case LDNS_RR_TYPE_TXT:
        return "TXT";
    case LDNS_RR_TYPE_SOA:
        return "SOA";
    case LDNS_RR_TYPE_NS:
        return "NS";
    case LDNS_RR_TYPE_MX:
        return "MX";
    case LDNS_RR_TYPE_ANY:
        return "ANY";
    default:
        return "other";
    }
}

const char *dns_rcode_name(int rc)
{
    switch (rc) {
    case LDNS_RCODE_NOERROR:
        return "NOERROR";
    case LDNS_RCODE_FORMERR:
        return "FORMERR";
    case LDNS_RCODE_SERVFAIL:
        return "SERVFAIL";
    case LDNS_RCODE_NXDOMAIN:
        return "NXDOMAIN";
    case LDNS_RCODE_NOTIMPL:
        return "NOTIMP";
    case LDNS_RCODE_REFUSED:
        return "REFUSED";
    default:
        return "other";
    }
}
