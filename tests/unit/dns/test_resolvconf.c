/* SPDX-License-Identifier: Apache-2.0 */
/* Pods' resolv.conf as upstream's kubelet composes it: parseResolvConf, ClusterFirst,
 * ClusterFirstWithHostNet, hostNetwork fallback, Default, None + dnsConfig merge, missing
 * clusterDNS, and the nameserver / search limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dns/dns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *host_text = "# comment\n"
                               "nameserver 10.0.0.2\n"
                               "search old.example\n"
                               "search corp.example. lab.example\n"
                               "nameserver 10.0.0.3\n"
                               "options timeout:2 attempts:3\n"
                               "nameserver\n";

static char out_text[8192];

static const char *compose(const char *pod_json, const char *cluster_dns, bool with_host,
                           char *warn, size_t nwarn)
{
    struct dns_resolv host, r;
    dns_resolv_parse(host_text, strlen(host_text), &host);
    json_error_t e;
    json_t *pod = json_loads(pod_json, 0, &e);
    assert_non_null(pod);
    struct dns_pod_params p = {.host = with_host ? &host : NULL,
                               .cluster_dns = cluster_dns,
                               .cluster_domain = "cluster.local"};
    dns_pod_config(pod, &p, &r, warn, nwarn);
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    dns_resolv_format(&r, &b);
    snprintf(out_text, sizeof(out_text), "%s", b.data ? b.data : "");
    ck_buf_release(&b);
    dns_resolv_release(&r);
    dns_resolv_release(&host);
    json_decref(pod);
    return out_text;
}

static void test_parse(void **state)
{
    (void)state;
    struct dns_resolv r;
    dns_resolv_parse(host_text, strlen(host_text), &r);
    assert_int_equal(r.servers.n, 2);
    assert_string_equal(r.servers.v[1], "10.0.0.3");
    assert_int_equal(r.searches.n, 2); /* the last line wins, trailing dot dropped */
    assert_string_equal(r.searches.v[0], "corp.example");
    assert_int_equal(r.options.n, 2);
    dns_resolv_release(&r);
}

static void test_cluster_first(void **state)
{
    (void)state;
    char warn[512];
    const char *t = compose("{\"metadata\":{\"namespace\":\"team\"},\"spec\":{\"dnsPolicy\":"
                            "\"ClusterFirst\"}}",
                            "10.96.0.10", true, warn, sizeof(warn));
    assert_string_equal(t, "nameserver 10.96.0.10\n"
                           "search team.svc.cluster.local svc.cluster.local cluster.local "
                           "corp.example lab.example\n"
                           "options ndots:5\n");
    assert_string_equal(warn, "");
    /* hostNetwork + ClusterFirst: the host's config */
    t = compose("{\"metadata\":{\"namespace\":\"team\"},\"spec\":{\"dnsPolicy\":\"ClusterFirst\","
                "\"hostNetwork\":true}}",
                "10.96.0.10", true, NULL, 0);
    assert_string_equal(t, "nameserver 10.0.0.2\nnameserver 10.0.0.3\n"
                           "search corp.example lab.example\noptions timeout:2 attempts:3\n");
    /* ClusterFirstWithHostNet keeps the cluster DNS */
    t = compose("{\"metadata\":{\"namespace\":\"team\"},\"spec\":{\"dnsPolicy\":"
                "\"ClusterFirstWithHostNet\",\"hostNetwork\":true}}",
                "10.96.0.10", true, NULL, 0);
    assert_non_null(strstr(t, "nameserver 10.96.0.10\n"));
    /* no clusterDNS: Default, with the MissingClusterDNS message */
    t = compose("{\"metadata\":{\"namespace\":\"team\"},\"spec\":{}}", "", true, warn,
                sizeof(warn));
    assert_non_null(strstr(t, "nameserver 10.0.0.2\n"));
    assert_non_null(strstr(warn, "does not have ClusterDNS IP configured"));
}

static void test_default_and_none(void **state)
{
    (void)state;
    const char *t = compose("{\"spec\":{\"dnsPolicy\":\"Default\"}}", "10.96.0.10", true, NULL, 0);
    assert_string_equal(t, "nameserver 10.0.0.2\nnameserver 10.0.0.3\n"
                           "search corp.example lab.example\noptions timeout:2 attempts:3\n");
    t = compose("{\"spec\":{\"dnsPolicy\":\"Default\"}}", "10.96.0.10", false, NULL, 0);
    assert_string_equal(t, "nameserver 127.0.0.1\nsearch .\n");
    t = compose("{\"spec\":{\"dnsPolicy\":\"None\",\"dnsConfig\":{\"nameservers\":[\"1.1.1.1\","
                "\"1.1.1.1\"],\"searches\":[\"a.example\"],\"options\":[{\"name\":\"ndots\","
                "\"value\":\"2\"},{\"name\":\"edns0\"}]}}}",
                "10.96.0.10", true, NULL, 0);
    assert_string_equal(t, "nameserver 1.1.1.1\nsearch a.example\noptions ndots:2 edns0\n");
    t = compose("{\"spec\":{\"dnsPolicy\":\"None\"}}", "10.96.0.10", true, NULL, 0);
    assert_string_equal(t, "");
    /* ClusterFirst + dnsConfig: appended, options merged by name */
    t = compose("{\"metadata\":{\"namespace\":\"a\"},\"spec\":{\"dnsConfig\":{\"nameservers\":"
                "[\"10.96.0.10\",\"8.8.8.8\"],\"searches\":[\"cluster.local\",\"x.y\"],"
                "\"options\":[{\"name\":\"ndots\",\"value\":\"1\"},{\"name\":\"rotate\"}]}}}",
                "10.96.0.10", true, NULL, 0);
    assert_string_equal(t, "nameserver 10.96.0.10\nnameserver 8.8.8.8\n"
                           "search a.svc.cluster.local svc.cluster.local cluster.local "
                           "corp.example lab.example x.y\noptions ndots:1 rotate\n");
}

static void test_limits(void **state)
{
    (void)state;
    char warn[4096], pod[8192];
    size_t off = (size_t)snprintf(pod, sizeof(pod),
                                  "{\"spec\":{\"dnsPolicy\":\"None\",\"dnsConfig\":{"
                                  "\"nameservers\":[\"1.0.0.1\",\"1.0.0.2\",\"1.0.0.3\","
                                  "\"1.0.0.4\"],\"searches\":[");
    for (int i = 0; i < 40; i++)
        off += (size_t)snprintf(pod + off, sizeof(pod) - off, "%s\"s%d.example\"", i ? "," : "", i);
    snprintf(pod + off, sizeof(pod) - off, "]}}}");
    const char *t = compose(pod, "10.96.0.10", true, warn, sizeof(warn));
    assert_null(strstr(t, "1.0.0.4"));
    assert_non_null(strstr(t, "1.0.0.3"));
    assert_non_null(strstr(t, " s31.example\n"));
    assert_null(strstr(t, "s32.example"));
    assert_non_null(strstr(warn, "Nameserver limits were exceeded"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_cluster_first),
        cmocka_unit_test(test_default_and_none),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
