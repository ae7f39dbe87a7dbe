/* SPDX-License-Identifier: Apache-2.0 */
/* The proxy's model and ruleset generation (src/proxy/model.c, rules.c): Services and
 * EndpointSlices into service ports, upstream's endpoint choice (ready, else serving
 * terminating; Local policies), ClientIP affinity, NodePorts, no-endpoint reject/drop, the
 * base table, and partial-sync diffs between a Service's old and new bundle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "proxy/model.h"
#include "proxy/rules.h"

static const struct px_env env = {.table = "t",
                                  .service_cidr = "10.96.0.0/12",
                                  .cluster_cidr = "10.88.0.0/16",
                                  .node_ip = "192.0.2.1"};

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    assert_non_null(j);
    return j;
}

/* A Service "web" in default; extra is spliced into its spec. */
static json_t *svc(const char *extra)
{
    char b[2048];
    snprintf(b, sizeof(b),
             "{\"metadata\":{\"namespace\":\"default\",\"name\":\"web\"},\"spec\":{\"clusterIP\":"
             "\"10.96.0.20\",\"ports\":[{\"name\":\"http\",\"port\":80,\"nodePort\":30080}]%s}}",
             extra);
    return J(b);
}

/* A slice of "web" with endpoints given as JSON array text. */
static json_t *slice(const char *eps)
{
    char b[4096];
    snprintf(b, sizeof(b),
             "{\"metadata\":{\"namespace\":\"default\",\"name\":\"web-1\",\"labels\":{"
             "\"kubernetes.io/service-name\":\"web\"}},\"addressType\":\"IPv4\",\"ports\":[{"
             "\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}],\"endpoints\":%s}",
             eps);
    return J(b);
}

#define EP(ip, node, ready, serving, term)                                                         \
    "{\"addresses\":[\"" ip "\"],\"nodeName\":\"" node "\",\"conditions\":{\"ready\":" ready       \
    ",\"serving\":" serving ",\"terminating\":" term "}}"
#define READY(ip, node) EP(ip, node, "true", "true", "false")

static void build(const char *extra, const char *eps, struct px_bundle *b)
{
    json_t *s = svc(extra), *sl = slice(eps);
    struct px_svcport *p;
    size_t n = px_service_parse(s, &sl, 1, "n1", &p);
    px_bundle_build(&env, p, n, b);
    px_svcports_free(p, n);
    json_decref(s);
    json_decref(sl);
}

static const struct px_chain *chain(const struct px_bundle *b, const char *prefix)
{
    for (size_t i = 0; i < b->nchains; i++)
        if (!strncmp(b->chains[i].name, prefix, strlen(prefix)))
            return &b->chains[i];
    return NULL;
}

static const struct px_emap *emap(const struct px_bundle *b, const char *prefix)
{
    for (size_t i = 0; i < b->nemaps; i++)
        if (!strncmp(b->emaps[i].name, prefix, strlen(prefix)))
            return &b->emaps[i];
    return NULL;
}

static bool emap_has(const struct px_emap *m, const char *ip)
{
    for (size_t i = 0; m && i < m->n; i++)
        if (!strcmp(m->eps[i].ip, ip))
            return true;
    return false;
}

static const struct px_elem *elem(const struct px_bundle *b, enum px_map m)
{
    for (size_t i = 0; i < b->nelems; i++)
        if (b->elems[i].map == m)
            return &b->elems[i];
    return NULL;
}

static void test_parse(void **state)
{
    (void)state;
    json_t *s = J("{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},\"spec\":{\"type\":"
                  "\"NodePort\",\"clusterIP\":\"10.96.0.9\",\"ports\":[{\"port\":53,\"protocol\":"
                  "\"UDP\",\"name\":\"dns\"},{\"port\":53,\"name\":\"dns-tcp\",\"nodePort\":"
                  "30053},{\"port\":1,\"protocol\":\"ICMP\"}]}}");
    struct px_svcport *p;
    size_t n = px_service_parse(s, NULL, 0, "n1", &p);
    assert_int_equal(n, 2); /* the unknown protocol is skipped */
    assert_string_equal(p[0].proto, "udp");
    assert_string_equal(p[1].proto, "tcp");
    assert_int_equal(p[1].node_port, 30053);
    assert_string_equal(p[1].port_name, "dns-tcp");
    px_svcports_free(p, n);
    json_decref(s);
    /* headless, ExternalName and IPv6 Services have nothing to proxy */
    s = J("{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},\"spec\":{\"clusterIP\":\"None\","
          "\"ports\":[{\"port\":80}]}}");
    assert_int_equal(px_service_parse(s, NULL, 0, "n1", &p), 0);
    json_decref(s);
    s = J("{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},\"spec\":{\"clusterIP\":\"fd00::1\","
          "\"ports\":[{\"port\":80}]}}");
    assert_int_equal(px_service_parse(s, NULL, 0, "n1", &p), 0);
    json_decref(s);
    /* a ClusterIP Service has no NodePort even when the field is there */
    s = svc("");
    json_t *sl = slice("[" READY("10.88.0.5", "n1") "," READY("10.88.0.5", "n1") "]");
    n = px_service_parse(s, &sl, 1, "n1", &p);
    assert_int_equal(n, 1);
    assert_int_equal(p[0].node_port, 0);
    assert_int_equal(p[0].neps, 1); /* duplicates collapse */
    assert_true(p[0].eps[0].local);
    assert_int_equal(p[0].eps[0].port, 8080);
    px_svcports_free(p, n);
    json_decref(s);
    json_decref(sl);
}

static void test_no_endpoints(void **state)
{
    (void)state;
    struct px_bundle b;
    build("", "[]", &b);
    assert_int_equal(b.nchains, 0);
    const struct px_elem *e = elem(&b, PX_MAP_NOEP_SERVICES);
    assert_non_null(e);
    assert_string_equal(e->key, "10.96.0.20 . tcp . 80");
    assert_string_equal(e->val, "goto reject-chain");
    assert_non_null(elem(&b, PX_SET_CLUSTER_IPS));
    assert_null(elem(&b, PX_MAP_SERVICE_IPS));
    px_bundle_release(&b);
    /* not ready and not serving: still no endpoint */
    build("", "[" EP("10.88.0.5", "n1", "false", "false", "false") "]", &b);
    assert_non_null(elem(&b, PX_MAP_NOEP_SERVICES));
    px_bundle_release(&b);
}

static void test_cluster_ip(void **state)
{
    (void)state;
    struct px_bundle b;
    build(
        "",
        "[" READY("10.88.0.5", "n1") "," READY("10.88.0.6", "n2") "," READY("10.88.0.7", "n2") "]",
        &b);
    const struct px_chain *c = chain(&b, "service-");
    assert_non_null(c);
    assert_int_equal(b.nchains, 1);
    /* off-cluster sources are masqueraded; a uniform draw through the endpoint map */
    assert_non_null(strstr(c->rules, "ip daddr 10.96.0.20 tcp dport 80 ip saddr != 10.88.0.0/16 "
                                     "meta mark set meta mark | 0x00004000\n"));
    const struct px_emap *m = emap(&b, "endpoints-");
    assert_non_null(m);
    assert_int_equal(b.nemaps, 1);
    assert_string_equal(m->name + strlen("endpoints-"), c->name + strlen("service-"));
    assert_int_equal(m->slot, 0);
    assert_non_null(strstr(c->rules, "\nmeta l4proto tcp dnat ip to numgen random mod 65536 offset "
                                     "0 map @endpoints-0\n"));
    assert_int_equal(c->nrules, 2);
    assert_int_equal(m->n, 3);
    assert_string_equal(m->eps[0].ip, "10.88.0.5");
    assert_string_equal(m->eps[2].ip, "10.88.0.7");
    assert_int_equal(m->eps[1].port, 8080);
    const struct px_elem *e = elem(&b, PX_MAP_SERVICE_IPS);
    assert_non_null(e);
    char want[300];
    snprintf(want, sizeof(want), "goto %s", c->name);
    assert_string_equal(e->val, want);
    assert_null(elem(&b, PX_MAP_NOEP_SERVICES));
    assert_null(elem(&b, PX_MAP_SERVICE_NODEPORTS)); /* type ClusterIP */
    px_bundle_release(&b);
}

static void test_affinity(void **state)
{
    (void)state;
    struct px_bundle b;
    build(",\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":{\"clientIP\":{"
          "\"timeoutSeconds\":60}}",
          "[" READY("10.88.0.5", "n1") "," READY("10.88.0.6", "n2") "]", &b);
    assert_int_equal(b.nsets, 2);
    assert_int_equal(b.sets[0].timeout_s, 60);
    assert_non_null(strstr(b.sets[0].name, "affinity-"));
    const struct px_chain *c = chain(&b, "service-");
    char want[600];
    /* a known client goes back to its endpoint (and refreshes its entry) before any random pick */
    snprintf(want, sizeof(want), "ip saddr @%s update @%s { ip saddr } meta l4proto tcp dnat to ",
             b.sets[0].name, b.sets[0].name);
    const char *hit = strstr(c->rules, want), *pick = strstr(c->rules, "numgen");
    assert_non_null(hit);
    assert_non_null(pick);
    assert_true(hit < pick);
    snprintf(want, sizeof(want), "update @%s { ip saddr } meta l4proto tcp dnat to",
             b.sets[1].name);
    assert_non_null(strstr(pick, want));
    px_bundle_release(&b);
    /* the default timeout is upstream's 10800 s */
    build(",\"sessionAffinity\":\"ClientIP\"", "[" READY("10.88.0.5", "n1") "]", &b);
    assert_int_equal(b.sets[0].timeout_s, 10800);
    px_bundle_release(&b);
}

static void test_local_policies(void **state)
{
    (void)state;
    struct px_bundle b;
    /* externalTrafficPolicy Local: the NodePort goes to local endpoints, source kept */
    build(",\"type\":\"NodePort\",\"externalTrafficPolicy\":\"Local\"",
          "[" READY("10.88.0.5", "n1") "," READY("10.88.0.6", "n2") "]", &b);
    const struct px_chain *ext = chain(&b, "external-"), *lo = chain(&b, "local-"),
                          *cl = chain(&b, "service-");
    assert_non_null(ext);
    assert_non_null(lo);
    assert_non_null(cl);
    const struct px_emap *lm = emap(&b, "local-endpoints-"), *cm = emap(&b, "endpoints-");
    assert_non_null(strstr(lo->rules, "map @endpoints-"));
    assert_non_null(strstr(cl->rules, "map @endpoints-"));
    assert_true(emap_has(lm, "10.88.0.5"));
    assert_false(emap_has(lm, "10.88.0.6"));
    assert_true(emap_has(cm, "10.88.0.6")); /* the ClusterIP still uses all */
    assert_int_equal(cm->n, 2);
    assert_null(strstr(ext->rules, "mark set meta mark | 0x00004000\ngoto"));
    assert_non_null(strstr(ext->rules, "fib saddr type local jump mark-for-masquerade\n"));
    char want[300];
    snprintf(want, sizeof(want), "goto %s\n", lo->name);
    assert_non_null(strstr(ext->rules, want));
    const struct px_elem *np = elem(&b, PX_MAP_SERVICE_NODEPORTS);
    assert_non_null(np);
    assert_string_equal(np->key, "tcp . 30080");
    px_bundle_release(&b);
    /* ... and no local endpoint: the NodePort drops, the ClusterIP works */
    build(",\"type\":\"NodePort\",\"externalTrafficPolicy\":\"Local\"",
          "[" READY("10.88.0.6", "n2") "]", &b);
    const struct px_elem *e = elem(&b, PX_MAP_NOEP_NODEPORTS);
    assert_non_null(e);
    assert_string_equal(e->val, "drop");
    assert_non_null(elem(&b, PX_MAP_SERVICE_IPS));
    px_bundle_release(&b);
    /* Cluster policy: external traffic is masqueraded and goes to every endpoint */
    build(",\"type\":\"NodePort\"", "[" READY("10.88.0.6", "n2") "]", &b);
    ext = chain(&b, "external-");
    assert_non_null(ext);
    assert_non_null(strstr(ext->rules, "jump mark-for-masquerade\ngoto service-"));
    px_bundle_release(&b);
    /* internalTrafficPolicy Local without a local endpoint: the ClusterIP drops */
    build(",\"internalTrafficPolicy\":\"Local\"", "[" READY("10.88.0.6", "n2") "]", &b);
    e = elem(&b, PX_MAP_NOEP_SERVICES);
    assert_non_null(e);
    assert_string_equal(e->val, "drop");
    assert_int_equal(b.nchains, 0);
    px_bundle_release(&b);
    build(",\"internalTrafficPolicy\":\"Local\"",
          "[" READY("10.88.0.5", "n1") "," READY("10.88.0.6", "n2") "]", &b);
    lo = chain(&b, "local-");
    assert_non_null(lo);
    assert_int_equal(emap(&b, "local-endpoints-")->n, 1);
    assert_false(emap_has(emap(&b, "local-endpoints-"), "10.88.0.6"));
    e = elem(&b, PX_MAP_SERVICE_IPS);
    snprintf(want, sizeof(want), "goto %s", lo->name);
    assert_string_equal(e->val, want);
    px_bundle_release(&b);
}

static void test_terminating_fallback(void **state)
{
    (void)state;
    struct px_bundle b;
    /* only terminating endpoints: the serving ones are used, the others never */
    build("",
          "[" EP("10.88.0.5", "n1", "false", "true", "true") "," EP("10.88.0.6", "n1", "false",
                                                                    "false", "true") "]",
          &b);
    assert_non_null(chain(&b, "service-"));
    assert_true(emap_has(emap(&b, "endpoints-"), "10.88.0.5"));
    assert_false(emap_has(emap(&b, "endpoints-"), "10.88.0.6"));
    px_bundle_release(&b);
    /* a ready endpoint wins over serving terminating ones */
    build("", "[" EP("10.88.0.5", "n1", "false", "true", "true") "," READY("10.88.0.7", "n2") "]",
          &b);
    assert_false(emap_has(emap(&b, "endpoints-"), "10.88.0.5"));
    assert_true(emap_has(emap(&b, "endpoints-"), "10.88.0.7"));
    px_bundle_release(&b);
}

static void test_partial_diff(void **state)
{
    (void)state;
    struct px_bundle a, b, empty = PX_BUNDLE_INIT;
    build("", "[" READY("10.88.0.5", "n1") "," READY("10.88.0.6", "n2") "]", &a);
    build("", "[" READY("10.88.0.5", "n1") "]", &b);
    struct ck_buf del = CK_BUF_INIT(1 << 20), add = CK_BUF_INIT(1 << 20);
    /* the same bundle twice: nothing to do */
    assert_true(px_bundle_equal(&a, &a));
    px_emit_diff_del(&env, &a, &a, &del);
    px_emit_diff_add(&env, &a, &a, &add);
    assert_int_equal(del.len + add.len, 0);
    /* one endpoint gone: only the endpoint map's elements change (no rule, no verdict) */
    assert_false(px_bundle_equal(&a, &b));
    assert_true(px_bundle_elems_only(&a, &b));
    assert_false(px_emap_equal(&a.emaps[0], &b.emaps[0]));
    px_emit_diff_del(&env, &a, &b, &del);
    px_emit_diff_add(&env, &a, &b, &add);
    char want[400];
    assert_string_equal(del.data, "delete element ip t endpoints-0 { 0-32767, 32768-65535 }\n");
    assert_string_equal(add.data, "add element ip t endpoints-0 { 0-65535 : 10.88.0.5 . 8080 }\n");
    ck_buf_reset(&del);
    ck_buf_reset(&add);
    /* ... and back: two halves */
    px_emit_diff_add(&env, &b, &a, &add);
    assert_string_equal(add.data, "add element ip t endpoints-0 { 0-32767 : 10.88.0.5 . 8080, "
                                  "32768-65535 : 10.88.0.6 . 8080 }\n");
    ck_buf_reset(&del);
    ck_buf_reset(&add);
    /* the Service deleted: its elements, then its chain */
    px_emit_diff_del(&env, &b, &empty, &del);
    px_emit_diff_add(&env, &b, &empty, &add);
    assert_int_equal(add.len, 0);
    assert_non_null(strstr(del.data, "delete element ip t cluster-ips { 10.96.0.20 }\n"));
    assert_non_null(
        strstr(del.data, "delete element ip t service-ips { 10.96.0.20 . tcp . 80 }\n"));
    snprintf(want, sizeof(want), "delete chain ip t %s\n", b.chains[0].name);
    const char *dc = strstr(del.data, want), *de = strstr(del.data, "delete element");
    assert_non_null(dc);
    assert_true(de < dc); /* references go before the chain */
    assert_non_null(strstr(del.data, "delete element ip t endpoints-0 { 0-65535 }\n"));
    ck_buf_reset(&del);
    /* created: endpoint map, chain, rules, then the map element pointing at it */
    px_emit_diff_add(&env, &empty, &b, &add);
    const char *am =
                   strstr(add.data, "add element ip t endpoints-0 { 0-65535 : 10.88.0.5 . 8080 }"),
               *ac = strstr(add.data, "add chain ip t service-"),
               *ar = strstr(add.data, "add rule ip t service-"),
               *ae =
                   strstr(add.data, "add element ip t service-ips { 10.96.0.20 . tcp . 80 : goto");
    assert_non_null(ac);
    assert_non_null(ar);
    assert_non_null(ae);
    assert_non_null(am);
    assert_true(am < ac && ac < ar && ar < ae);
    ck_buf_reset(&add);
    /* the last endpoint gone: service-ips element out, no-endpoint element (reject) in */
    struct px_bundle none;
    build("", "[]", &none);
    assert_false(px_bundle_elems_only(&b, &none));
    px_emit_diff_del(&env, &b, &none, &del);
    px_emit_diff_add(&env, &b, &none, &add);
    assert_non_null(strstr(del.data, "delete element ip t service-ips"));
    assert_null(strstr(del.data, "cluster-ips")); /* unchanged */
    assert_non_null(strstr(add.data,
                           "add element ip t no-endpoint-services { 10.96.0.20 . tcp . 80 : goto "
                           "reject-chain }\n"));
    ck_buf_release(&del);
    ck_buf_release(&add);
    px_bundle_release(&a);
    px_bundle_release(&b);
    px_bundle_release(&none);
}

static void test_multi_port(void **state)
{
    (void)state;
    /* two ports of one Service: one cluster-ips element (deleting it twice would fail the
     * whole transaction), one service-ips element each */
    json_t *s = J("{\"metadata\":{\"namespace\":\"kube-system\",\"name\":\"dns\"},\"spec\":{"
                  "\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"name\":\"dns\",\"port\":53,"
                  "\"protocol\":\"UDP\"},{\"name\":\"dns-tcp\",\"port\":53}]}}");
    struct px_svcport *p;
    size_t n = px_service_parse(s, NULL, 0, "n1", &p);
    assert_int_equal(n, 2);
    struct px_bundle b, empty = PX_BUNDLE_INIT;
    px_bundle_build(&env, p, n, &b);
    size_t cips = 0, noep = 0;
    for (size_t i = 0; i < b.nelems; i++) {
        cips += b.elems[i].map == PX_SET_CLUSTER_IPS;
        noep += b.elems[i].map == PX_MAP_NOEP_SERVICES;
    }
    assert_int_equal(cips, 1);
    assert_int_equal(noep, 2);
    struct ck_buf del = CK_BUF_INIT(1 << 20);
    px_emit_diff_del(&env, &b, &empty, &del);
    const char *first = strstr(del.data, "delete element ip t cluster-ips");
    assert_non_null(first);
    assert_null(strstr(first + 1, "delete element ip t cluster-ips"));
    ck_buf_release(&del);
    px_bundle_release(&b);
    px_svcports_free(p, n);
    json_decref(s);
}

/* The endpoint intervals cover 0..65535 exactly, in order, with sizes differing by at most one
 * (the draw is uniform up to that). */
static void test_split(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 1000; n++) {
        uint32_t next = 0, min = UINT32_MAX, max = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t lo, hi;
            px_split(n, i, &lo, &hi);
            assert_int_equal(lo, next);
            assert_true(hi >= lo);
            next = hi + 1;
            min = hi - lo + 1 < min ? hi - lo + 1 : min;
            max = hi - lo + 1 > max ? hi - lo + 1 : max;
        }
        assert_int_equal(next, PX_EP_RANGE);
        assert_true(max - min <= 1);
    }
    uint32_t lo, hi;
    px_split(10, 9, &lo, &hi);
    assert_int_equal(lo, 58982);
    assert_int_equal(hi, 65535);
}

/* An endpoint's IP changing, or one more endpoint: elements only; a new NodePort: structure. */
static void test_elems_only(void **state)
{
    (void)state;
    struct px_bundle a, b, c;
    build("", "[" READY("10.88.0.5", "n1") "," READY("10.88.0.6", "n2") "]", &a);
    build("", "[" READY("10.88.0.5", "n1") "," READY("10.88.0.9", "n2") "]", &b);
    assert_true(px_bundle_elems_only(&a, &b));
    assert_false(px_bundle_equal(&a, &b));
    px_bundle_release(&b);
    build("", "[" READY("10.88.0.6", "n2") "," READY("10.88.0.5", "n1") "]", &b);
    assert_true(px_bundle_equal(&a, &b)); /* order in the slice does not matter */
    px_bundle_release(&b);
    build(",\"type\":\"NodePort\"", "[" READY("10.88.0.5", "n1") "]", &c);
    assert_false(px_bundle_elems_only(&a, &c));
    assert_false(px_bundle_elems_only(&a, NULL));
    px_bundle_release(&c);
    /* affinity keeps rules per endpoint: its endpoint changes are rule changes */
    build(",\"sessionAffinity\":\"ClientIP\"", "[" READY("10.88.0.5", "n1") "]", &b);
    build(",\"sessionAffinity\":\"ClientIP\"",
          "[" READY("10.88.0.5", "n1") "," READY("10.88.0.6", "n2") "]", &c);
    assert_int_equal(b.nemaps, 0);
    assert_false(px_bundle_elems_only(&b, &c));
    px_bundle_release(&b);
    px_bundle_release(&c);
    px_bundle_release(&a);
}

static int slot3(void *ctx, const char *name)
{
    (void)ctx;
    return strncmp(name, "endpoints-", 10) ? -1 : 35;
}

/* A slot's elements sit at slot * 65536 in map endpoints-<slot / 16>; without a free slot a
 * service port gets one DNAT rule per endpoint. */
static void test_slots(void **state)
{
    (void)state;
    struct px_env e = env;
    e.slot = slot3;
    json_t *s = svc(",\"internalTrafficPolicy\":\"Local\""),
           *sl = slice("[" READY("10.88.0.5", "n1") "," READY("10.88.0.6", "n1") "]");
    struct px_svcport *p;
    size_t n = px_service_parse(s, &sl, 1, "n1", &p);
    struct px_bundle b, empty = PX_BUNDLE_INIT;
    px_bundle_build(&e, p, n, &b);
    assert_int_equal(b.nemaps, 0); /* local-endpoints-...: no slot */
    const struct px_chain *lo = chain(&b, "local-");
    assert_non_null(strstr(lo->rules, "numgen random mod 2 == 0 meta l4proto tcp dnat to "
                                      "10.88.0.5:8080\n"));
    px_bundle_release(&b);
    px_svcports_free(p, n);
    json_decref(s);
    s = svc("");
    n = px_service_parse(s, &sl, 1, "n1", &p);
    px_bundle_build(&e, p, n, &b);
    assert_int_equal(b.nemaps, 1);
    assert_int_equal(b.emaps[0].slot, 35);
    assert_non_null(strstr(chain(&b, "service-")->rules,
                           "dnat ip to numgen random mod 65536 offset 2293760 map @endpoints-2\n"));
    struct ck_buf add = CK_BUF_INIT(1 << 20);
    px_emit_diff_add(&e, &empty, &b, &add);
    assert_non_null(strstr(add.data, "add element ip t endpoints-2 { 2293760-2326527 : 10.88.0.5 . "
                                     "8080, 2326528-2359295 : 10.88.0.6 . 8080 }\n"));
    ck_buf_reset(&add);
    px_emit_shard(&e, true, 2, &add);
    px_emit_shard(&e, false, 2, &add);
    assert_string_equal(add.data, "add map ip t endpoints-2 { typeof numgen random mod 65536 : ip "
                                  "daddr . tcp dport; flags interval; }\ndelete map ip t "
                                  "endpoints-2\n");
    ck_buf_release(&add);
    px_bundle_release(&b);
    px_svcports_free(p, n);
    json_decref(s);
    json_decref(sl);
}

static void test_full(void **state)
{
    (void)state;
    struct px_bundle a;
    build(",\"type\":\"NodePort\"", "[" READY("10.88.0.5", "n1") "]", &a);
    struct px_bundle *all[] = {&a};
    struct ck_buf s = CK_BUF_INIT(1 << 20);
    size_t rules = px_emit_full(&env, all, 1, &s);
    assert_true(rules > px_bundle_nrules(&a));
    /* replaced in one transaction: created (so the delete cannot fail), deleted, written */
    assert_true(!strncmp(s.data, "add table ip t\ndelete table ip t\ntable ip t {\n", 45));
    assert_non_null(strstr(s.data, "ip daddr 10.96.0.0/12 reject"));
    assert_non_null(strstr(s.data, "ip daddr @cluster-ips reject"));
    assert_non_null(strstr(s.data, "ct status dnat ip saddr 10.88.0.0/16 ip daddr 10.88.0.0/16 "
                                   "jump mark-for-masquerade"));
    assert_non_null(strstr(s.data, "add element ip t nodeport-ips { 192.0.2.1 }\n"));
    assert_non_null(strstr(s.data, "add element ip t service-nodeports { tcp . 30080 : goto "
                                   "external-"));
    assert_non_null(strstr(s.data, "\tmap endpoints-0 { typeof numgen random mod 65536 : ip daddr "
                                   ". tcp dport; flags interval; }\n"));
    assert_non_null(
        strstr(s.data, "add element ip t endpoints-0 { 0-65535 : 10.88.0.5 . 8080 }\n"));
    ck_buf_release(&s);
    px_bundle_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),          cmocka_unit_test(test_no_endpoints),
        cmocka_unit_test(test_cluster_ip),     cmocka_unit_test(test_affinity),
        cmocka_unit_test(test_local_policies), cmocka_unit_test(test_terminating_fallback),
        cmocka_unit_test(test_partial_diff),   cmocka_unit_test(test_multi_port),
        cmocka_unit_test(test_full),           cmocka_unit_test(test_split),
        cmocka_unit_test(test_elems_only),     cmocka_unit_test(test_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
