/* SPDX-License-Identifier: Apache-2.0 */
/* The DNS query handler against a database fed with Service / EndpointSlice JSON: ClusterIP
 * A/AAAA, SRV (named ports only), headless endpoints (readiness, publishNotReadyAddresses,
 * hostnames), ExternalName CNAME, pod records, PTR, NXDOMAIN vs NODATA with the SOA, name
 * case, forwarding verdicts, malformed packets, truncation. Packets are built and read with
 * ldns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dns/dns.h"

#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct dns_db *db;

static void add_json(const char *kind, const char *text)
{
    json_error_t e;
    json_t *o = json_loads(text, 0, &e);
    assert_non_null(o);
    if (!strcmp(kind, "svc"))
        dns_db_service_set(db, o);
    else
        dns_db_slice_set(db, o);
    json_decref(o);
}

static int setup(void **state)
{
    (void)state;
    db = dns_db_new("cluster.local");
    add_json("svc", "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{"
                    "\"clusterIP\":\"10.96.0.20\",\"clusterIPs\":[\"10.96.0.20\",\"fd00::20\"],"
                    "\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\"},"
                    "{\"port\":81}]}}");
    add_json("svc", "{\"metadata\":{\"name\":\"db\",\"namespace\":\"prod\"},\"spec\":{"
                    "\"clusterIP\":\"None\",\"ports\":[{\"name\":\"pg\",\"port\":5432}]}}");
    add_json("eps", "{\"metadata\":{\"name\":\"db-abc\",\"namespace\":\"prod\",\"labels\":{"
                    "\"kubernetes.io/service-name\":\"db\"}},\"addressType\":\"IPv4\","
                    "\"endpoints\":[{\"addresses\":[\"10.244.0.5\"],\"hostname\":\"db-0\","
                    "\"conditions\":{\"ready\":true}},{\"addresses\":[\"10.244.0.6\"],"
                    "\"conditions\":{\"ready\":true}},{\"addresses\":[\"10.244.0.7\"],"
                    "\"conditions\":{\"ready\":false}}],"
                    "\"ports\":[{\"name\":\"pg\",\"port\":15432,\"protocol\":\"TCP\"}]}");
    add_json("svc", "{\"metadata\":{\"name\":\"ext\",\"namespace\":\"default\"},\"spec\":{"
                    "\"type\":\"ExternalName\",\"externalName\":\"example.org\"}}");
    add_json("svc", "{\"metadata\":{\"name\":\"pnr\",\"namespace\":\"default\"},\"spec\":{"
                    "\"clusterIP\":\"None\",\"publishNotReadyAddresses\":true}}");
    add_json("eps", "{\"metadata\":{\"name\":\"pnr-1\",\"namespace\":\"default\",\"labels\":{"
                    "\"kubernetes.io/service-name\":\"pnr\"}},\"addressType\":\"IPv4\","
                    "\"endpoints\":[{\"addresses\":[\"10.244.1.9\"],\"conditions\":{"
                    "\"ready\":false}}]}");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dns_db_free(db);
    return 0;
}

struct res {
    enum dns_verdict v;
    int rcode;
    bool aa, tc;
    char answer[4096]; /* answer RRs, one per line, ldns presentation format */
    char authority[1024];
    char additional[2048];
};

static void section(ldns_rr_list *l, char *out, size_t n)
{
    size_t off = 0;
    out[0] = '\0';
    for (size_t i = 0; l && i < ldns_rr_list_rr_count(l) && off < n; i++) {
        char *s = ldns_rr2str(ldns_rr_list_rr(l, i));
        off += (size_t)snprintf(out + off, n - off, "%s", s);
        free(s);
    }
}

static struct res ask_wire(const uint8_t *w, size_t len, size_t max_udp)
{
    struct res r = {0};
    struct dns_reply rep;
    r.v = dns_answer(db, w, len, max_udp, &rep);
    if (r.v != DNS_ANSWERED)
        return r;
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, rep.wire, rep.len), LDNS_STATUS_OK);
    r.rcode = ldns_pkt_get_rcode(p);
    assert_int_equal(r.rcode, rep.rcode);
    r.aa = ldns_pkt_aa(p);
    r.tc = ldns_pkt_tc(p);
    assert_true(ldns_pkt_qr(p));
    section(ldns_pkt_answer(p), r.answer, sizeof(r.answer));
    section(ldns_pkt_authority(p), r.authority, sizeof(r.authority));
    section(ldns_pkt_additional(p), r.additional, sizeof(r.additional));
    ldns_pkt_free(p);
    free(rep.wire);
    return r;
}

static struct res ask(const char *name, ldns_rr_type t)
{
    ldns_pkt *q = NULL;
    assert_int_equal(ldns_pkt_query_new_frm_str(&q, name, t, LDNS_RR_CLASS_IN, LDNS_RD),
                     LDNS_STATUS_OK);
    ldns_pkt_set_id(q, 4242);
    uint8_t *w = NULL;
    size_t len = 0;
    assert_int_equal(ldns_pkt2wire(&w, q, &len), LDNS_STATUS_OK);
    struct res r = ask_wire(w, len, 512);
    free(w);
    ldns_pkt_free(q);
    return r;
}

static void test_clusterip(void **state)
{
    (void)state;
    struct res r = ask("web.default.svc.cluster.local.", LDNS_RR_TYPE_A);
    assert_int_equal(r.v, DNS_ANSWERED);
    assert_int_equal(r.rcode, LDNS_RCODE_NOERROR);
    assert_true(r.aa);
    assert_non_null(strstr(r.answer, "web.default.svc.cluster.local.\t5\tIN\tA\t10.96.0.20"));
    assert_null(strstr(r.answer, "fd00"));
    r = ask("web.default.svc.cluster.local.", LDNS_RR_TYPE_AAAA);
    assert_non_null(strstr(r.answer, "AAAA\tfd00::20"));
    /* case is kept in the answer, ignored in the match */
    r = ask("WEB.Default.SVC.cluster.LOCAL.", LDNS_RR_TYPE_A);
    assert_non_null(strstr(r.answer, "WEB.Default.SVC.cluster.LOCAL.\t5\tIN\tA\t10.96.0.20"));
    /* NODATA: the name exists, no TXT */
    r = ask("web.default.svc.cluster.local.", LDNS_RR_TYPE_TXT);
    assert_int_equal(r.rcode, LDNS_RCODE_NOERROR);
    assert_string_equal(r.answer, "");
    assert_non_null(strstr(r.authority, "cluster.local.\t5\tIN\tSOA\tns.dns.cluster.local. "
                                        "hostmaster.cluster.local."));
}

static void test_srv(void **state)
{
    (void)state;
    struct res r = ask("_http._tcp.web.default.svc.cluster.local.", LDNS_RR_TYPE_SRV);
    assert_int_equal(r.rcode, LDNS_RCODE_NOERROR);
    assert_non_null(strstr(r.answer, "SRV\t0 100 80 web.default.svc.cluster.local."));
    assert_non_null(strstr(r.additional, "web.default.svc.cluster.local.\t5\tIN\tA\t10.96.0.20"));
    /* unnamed port 81 has no SRV record; the bare service name lists the named ones */
    r = ask("web.default.svc.cluster.local.", LDNS_RR_TYPE_SRV);
    assert_non_null(strstr(r.answer, " 80 web."));
    assert_null(strstr(r.answer, " 81 "));
    r = ask("_http._udp.web.default.svc.cluster.local.", LDNS_RR_TYPE_SRV);
    assert_int_equal(r.rcode, LDNS_RCODE_NXDOMAIN);
    r = ask("_tcp.web.default.svc.cluster.local.", LDNS_RR_TYPE_A);
    assert_int_equal(r.rcode, LDNS_RCODE_NOERROR); /* empty non-terminal */
    assert_string_equal(r.answer, "");
    /* headless: one record per ready endpoint, the slice's port, hostname or dashed IP */
    r = ask("_pg._tcp.db.prod.svc.cluster.local.", LDNS_RR_TYPE_SRV);
    assert_non_null(strstr(r.answer, " 15432 db-0.db.prod.svc.cluster.local."));
    assert_non_null(strstr(r.answer, " 15432 10-244-0-6.db.prod.svc.cluster.local."));
    assert_null(strstr(r.answer, "10-244-0-7"));
    assert_non_null(strstr(r.additional, "db-0.db.prod.svc.cluster.local.\t5\tIN\tA\t10.244.0.5"));
}

static void test_headless(void **state)
{
    (void)state;
    struct res r = ask("db.prod.svc.cluster.local.", LDNS_RR_TYPE_A);
    assert_int_equal(r.rcode, LDNS_RCODE_NOERROR);
    assert_non_null(strstr(r.answer, "A\t10.244.0.5"));
    assert_non_null(strstr(r.answer, "A\t10.244.0.6"));
    assert_null(strstr(r.answer, "10.244.0.7")); /* not ready */
    r = ask("db-0.db.prod.svc.cluster.local.", LDNS_RR_TYPE_A);
    assert_string_equal(r.answer, "db-0.db.prod.svc.cluster.local.\t5\tIN\tA\t10.244.0.5\n");
    r = ask("10-244-0-6.db.prod.svc.cluster.local.", LDNS_RR_TYPE_A);
    assert_non_null(strstr(r.answer, "A\t10.244.0.6"));
    r = ask("db-9.db.prod.svc.cluster.local.", LDNS_RR_TYPE_A);
    assert_int_equal(r.rcode, LDNS_RCODE_NXDOMAIN);
    /* publishNotReadyAddresses */
    r = ask("pnr.default.svc.cluster.local.", LDNS_RR_TYPE_A);
    assert_non_null(strstr(r.answer, "A\t10.244.1.9"));
    /* the endpoint goes ready -> not ready: the answer follows */
    add_json("eps", "{\"metadata\":{\"name\":\"db-abc\",\"namespace\":\"prod\",\"labels\":{"
                    "\"kubernetes.io/service-name\":\"db\"}},\"addressType\":\"IPv4\","
                    "\"endpoints\":[{\"addresses\":[\"10.244.0.5\"],\"hostname\":\"db-0\","
                    "\"conditions\":{\"ready\":false}}]}");
    r = ask("db.prod.svc.cluster.local.", LDNS_RR_TYPE_A);
    assert_string_equal(r.answer, "");
    assert_int_equal(r.rcode, LDNS_RCODE_NXDOMAIN); /* CoreDNS: no endpoint, no name */
    assert_non_null(strstr(r.authority, "SOA"));
    teardown(NULL);
    setup(NULL);
}

static void test_external_pod_misc(void **state)
{
    (void)state;
    struct res r = ask("ext.default.svc.cluster.local.", LDNS_RR_TYPE_A);
    assert_non_null(strstr(r.answer, "CNAME\texample.org."));
    r = ask("10-244-3-4.default.pod.cluster.local.", LDNS_RR_TYPE_A);
    assert_non_null(strstr(r.answer, "A\t10.244.3.4"));
    r = ask("fd00--5.default.pod.cluster.local.", LDNS_RR_TYPE_AAAA);
    assert_non_null(strstr(r.answer, "AAAA\tfd00::5"));
    r = ask("not-an-ip.default.pod.cluster.local.", LDNS_RR_TYPE_A);
    assert_int_equal(r.rcode, LDNS_RCODE_NXDOMAIN);
    r = ask("dns-version.cluster.local.", LDNS_RR_TYPE_TXT);
    assert_non_null(strstr(r.answer, "TXT\t\"1.1.0\""));
    r = ask("nope.default.svc.cluster.local.", LDNS_RR_TYPE_A);
    assert_int_equal(r.rcode, LDNS_RCODE_NXDOMAIN);
    assert_non_null(strstr(r.authority, "SOA"));
    r = ask("default.svc.cluster.local.", LDNS_RR_TYPE_A);
    assert_int_equal(r.rcode, LDNS_RCODE_NOERROR);
    r = ask("nons.svc.cluster.local.", LDNS_RR_TYPE_A);
    assert_int_equal(r.rcode, LDNS_RCODE_NXDOMAIN);
    r = ask("cluster.local.", LDNS_RR_TYPE_SOA);
    assert_non_null(strstr(r.answer, "SOA"));
    r = ask("a.b.c.d.e.f.g.h.i.svc.cluster.local.", LDNS_RR_TYPE_A);
    assert_int_equal(r.rcode, LDNS_RCODE_NXDOMAIN);
    r = ask("xcluster.local.", LDNS_RR_TYPE_A);
    assert_int_equal(r.v, DNS_FORWARD);
    r = ask("example.com.", LDNS_RR_TYPE_A);
    assert_int_equal(r.v, DNS_FORWARD);
}

static void test_ptr(void **state)
{
    (void)state;
    struct res r = ask("20.0.96.10.in-addr.arpa.", LDNS_RR_TYPE_PTR);
    assert_int_equal(r.v, DNS_ANSWERED);
    assert_non_null(strstr(r.answer, "PTR\tweb.default.svc.cluster.local."));
    r = ask("5.0.244.10.in-addr.arpa.", LDNS_RR_TYPE_PTR);
    assert_non_null(strstr(r.answer, "PTR\tdb-0.db.prod.svc.cluster.local."));
    r = ask("0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.",
            LDNS_RR_TYPE_PTR);
    assert_non_null(strstr(r.answer, "PTR\tweb.default.svc.cluster.local."));
    r = ask("9.9.9.9.in-addr.arpa.", LDNS_RR_TYPE_PTR);
    assert_int_equal(r.v, DNS_FORWARD);
}

static void test_bad_packets(void **state)
{
    (void)state;
    uint8_t junk[40] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    struct res r = ask_wire(junk, sizeof(junk), 512);
    assert_int_equal(r.v, DNS_ANSWERED);
    assert_int_equal(r.rcode, LDNS_RCODE_FORMERR);
    r = ask_wire(junk, 5, 512);
    assert_int_equal(r.v, DNS_DROP);
    junk[2] = 0x81; /* a response: never answered */
    r = ask_wire(junk, sizeof(junk), 512);
    assert_int_equal(r.v, DNS_DROP);
    /* an empty question section */
    uint8_t noq[12] = {0x12, 0x34, 0x01, 0x00};
    r = ask_wire(noq, sizeof(noq), 512);
    assert_int_equal(r.rcode, LDNS_RCODE_FORMERR);
    /* opcode STATUS */
    ldns_pkt *q = NULL;
    ldns_pkt_query_new_frm_str(&q, "web.default.svc.cluster.local.", LDNS_RR_TYPE_A,
                               LDNS_RR_CLASS_IN, 0);
    ldns_pkt_set_opcode(q, LDNS_PACKET_STATUS);
    uint8_t *w = NULL;
    size_t len = 0;
    ldns_pkt2wire(&w, q, &len);
    r = ask_wire(w, len, 512);
    assert_int_equal(r.rcode, LDNS_RCODE_NOTIMPL);
    free(w);
    ldns_pkt_free(q);
}

static void test_truncation(void **state)
{
    (void)state;
    /* a headless service with 60 endpoints: > 512 bytes over UDP sets TC */
    char buf[8192];
    size_t off = (size_t)snprintf(buf, sizeof(buf),
                                  "{\"metadata\":{\"name\":\"big-1\",\"namespace\":\"default\","
                                  "\"labels\":{\"kubernetes.io/service-name\":\"big\"}},"
                                  "\"addressType\":\"IPv4\",\"endpoints\":[");
    for (int i = 0; i < 60; i++)
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s{\"addresses\":[\"10.9.0.%d\"]}",
                                i ? "," : "", i + 1);
    snprintf(buf + off, sizeof(buf) - off, "]}");
    add_json("svc", "{\"metadata\":{\"name\":\"big\",\"namespace\":\"default\"},\"spec\":{"
                    "\"clusterIP\":\"None\"}}");
    add_json("eps", buf);
    struct res r = ask("big.default.svc.cluster.local.", LDNS_RR_TYPE_A);
    assert_true(r.tc);
    assert_string_equal(r.answer, "");
    ldns_pkt *q = NULL;
    ldns_pkt_query_new_frm_str(&q, "big.default.svc.cluster.local.", LDNS_RR_TYPE_A,
                               LDNS_RR_CLASS_IN, 0);
    uint8_t *w = NULL;
    size_t len = 0;
    ldns_pkt2wire(&w, q, &len);
    r = ask_wire(w, len, 0); /* TCP: no limit */
    assert_false(r.tc);
    assert_non_null(strstr(r.answer, "10.9.0.60"));
    free(w);
    ldns_pkt_free(q);
    json_t *del = json_pack("{s:{s:s,s:s}}", "metadata", "name", "big", "namespace", "default");
    dns_db_service_del(db, del);
    json_decref(del);
    r = ask("big.default.svc.cluster.local.", LDNS_RR_TYPE_A);
    assert_int_equal(r.rcode, LDNS_RCODE_NXDOMAIN);
}

static void test_edns_and_long_domain(void **state)
{
    (void)state;
    ldns_pkt *q = NULL;
    ldns_pkt_query_new_frm_str(&q, "web.default.svc.cluster.local.", LDNS_RR_TYPE_A,
                               LDNS_RR_CLASS_IN, LDNS_RD);
    ldns_pkt_set_edns_udp_size(q, 4096);
    uint8_t *w = NULL;
    size_t len = 0;
    assert_int_equal(ldns_pkt2wire(&w, q, &len), LDNS_STATUS_OK);
    struct dns_reply rep;
    assert_int_equal(dns_answer(db, w, len, 512, &rep), DNS_ANSWERED);
    ldns_pkt *r = NULL;
    assert_int_equal(ldns_wire2pkt(&r, rep.wire, rep.len), LDNS_STATUS_OK);
    assert_true(ldns_pkt_edns(r)); /* an OPT record answers an OPT record */
    assert_int_equal(ldns_pkt_edns_udp_size(r), 1232);
    ldns_pkt_free(r);
    free(rep.wire);
    free(w);
    ldns_pkt_free(q);
    /* a cluster domain too long for ns.dns.<domain>: answers without an SOA, no crash */
    char dom[300];
    memset(dom, 'a', sizeof(dom));
    for (int i = 63; i < 250; i += 64)
        dom[i] = '.';
    dom[250] = '\0';
    struct dns_db *keep = db;
    db = dns_db_new(dom);
    char name[400];
    snprintf(name, sizeof(name), "x.%s.", dom);
    struct res x = ask(name, LDNS_RR_TYPE_A);
    assert_int_equal(x.v, DNS_ANSWERED);
    assert_int_equal(x.rcode, LDNS_RCODE_NXDOMAIN);
    assert_string_equal(x.authority, "");
    dns_db_free(db);
    db = keep;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clusterip),  cmocka_unit_test(test_srv),
        cmocka_unit_test(test_headless),   cmocka_unit_test(test_external_pod_misc),
        cmocka_unit_test(test_ptr),        cmocka_unit_test(test_bad_packets),
        cmocka_unit_test(test_truncation), cmocka_unit_test(test_edns_and_long_domain),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
