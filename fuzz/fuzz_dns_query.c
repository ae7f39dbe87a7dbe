/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: arbitrary packets into the cluster DNS query handler (src/dns/answer.c)
 * over a database holding ClusterIP, headless (with endpoints and hostnames), ExternalName and
 * dual-stack services. Every reply must parse back with ldns, carry the query's id and fit the
 * UDP limit when one applies; the error-reply path and the question-type probe run on the
 * same bytes. */
#include "dns/dns.h"

#include <ldns/ldns.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct dns_db *db;

static void add(const char *text, bool svc)
{
    json_t *o = json_loads(text, 0, NULL);
    if (!o)
        abort();
    if (svc)
        dns_db_service_set(db, o);
    else
        dns_db_slice_set(db, o);
    json_decref(o);
}

static void init(void)
{
    db = dns_db_new("cluster.local");
    add("{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"clusterIPs\":"
        "[\"10.96.0.20\",\"fd00::20\"],\"ports\":[{\"name\":\"http\",\"port\":80}]}}",
        true);
    add("{\"metadata\":{\"name\":\"db\",\"namespace\":\"prod\"},\"spec\":{\"clusterIP\":\"None\","
        "\"ports\":[{\"name\":\"pg\",\"port\":5432}]}}",
        true);
    add("{\"metadata\":{\"name\":\"db-1\",\"namespace\":\"prod\",\"labels\":{\"kubernetes.io/"
        "service-name\":\"db\"}},\"endpoints\":[{\"addresses\":[\"10.244.0.5\"],\"hostname\":"
        "\"db-0\"},{\"addresses\":[\"10.244.0.6\"]},{\"addresses\":[\"fd00::6\"]}],\"ports\":"
        "[{\"name\":\"pg\",\"port\":15432}]}",
        false);
    add("{\"metadata\":{\"name\":\"ext\",\"namespace\":\"default\"},\"spec\":{\"type\":"
        "\"ExternalName\",\"externalName\":\"example.org\"}}",
        true);
}

static void check(const uint8_t *q, size_t n, const struct dns_reply *r, size_t limit)
{
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, r->wire, r->len) != LDNS_STATUS_OK)
        abort();
    if (n >= 2 && ldns_pkt_id(p) != (uint16_t)(q[0] << 8 | q[1]))
        abort();
    if (!ldns_pkt_qr(p) || (limit && r->len > limit && !r->truncated))
        abort();
    ldns_pkt_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!db)
        init();
    if (size > 65535)
        return 0;
    for (int tcp = 0; tcp < 2; tcp++) {
        struct dns_reply r;
        size_t limit = tcp ? 0 : 512;
        enum dns_verdict v = dns_answer(db, data, size, limit, &r);
        if (v == DNS_ANSWERED) {
            check(data, size, &r, limit ? 4096 : 0);
            free(r.wire);
        } else if (r.wire) {
            abort(); /* nothing to send, nothing allocated */
        }
    }
    struct dns_reply e;
    if (dns_error_reply(data, size, LDNS_RCODE_SERVFAIL, &e) == 0) {
        check(data, size, &e, 0);
        free(e.wire);
    }
    (void)dns_query_type(data, size);
    return 0;
}
