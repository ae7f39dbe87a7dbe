/* SPDX-License-Identifier: Apache-2.0 */
/* default/kubernetes: the Service (first address of the service range, https 443 -> the
 * secure port), and its Endpoints and EndpointSlice as upstream's lease endpoint reconciler
 * keeps them. Every API server on the store renews a lease key
 * (/registry/core/masterleases/<ip>:<port>, the time it was renewed) every 10 s; a lease
 * not renewed for 15 s is dropped; the Endpoints list every live server's address (one subset
 * per port, addresses sorted), so every server computes the same object and none flaps the
 * others' work. The Endpoints carry endpointslice.kubernetes.io/skip-mirror=true and the
 * EndpointSlice kubernetes.io/service-name=kubernetes, as upstream's EndpointsAdapter writes
 * them. A server that stops removes its lease and its address. The address is
 * --advertise-address, else the bind address, else (bind 0.0.0.0) the default-route
 * interface's, as kube-apiserver chooses it. */
#include "apiserver/endpoints/alloc_int.h"
#include "apiserver/endpoints/write_int.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

#define LEASE_TTL_MS 15000
#define RECONCILE_MS 10000
#define REPAIR_EVERY 18 /* reconciles: the allocation repair every 3 minutes */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- internal writes ---------------------------------------------------------------- */

static int set_fields(struct eng_req *r, struct eng_upd *u, json_t *cur, json_t **out,
                      struct ck_err *err)
{
    (void)r;
    (void)err;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)u->ctx, k, v)
    {
        if (strcmp(k, "labels") == 0)
            json_object_set(eng_md(cur), "labels", v);
        else
            json_object_set(cur, k, v);
    }
    *out = cur;
    return 0;
}

/* Creates or updates default/<name> of res so that it has want's top-level fields (and
 * "labels": metadata.labels). */
static void upsert(struct api_server *s, const struct reg_resource *res, const char *name,
                   json_t *want)
{
    struct ck_err err = CK_ERR_INIT;
    struct eng_obj *o = eng_cache_get(&s->cache, res, "default", name);
    if (!o) {
        json_t *body = json_deep_copy(want);
        json_t *labels = json_object_get(body, "labels");
        json_object_set_new(body, "metadata", json_pack("{s:s}", "name", name));
        if (labels)
            json_object_set(eng_md(body), "labels", labels);
        json_object_del(body, "labels");
        json_object_set_new(body, "apiVersion", json_string(res->api_version));
        json_object_set_new(body, "kind", json_string(res->kind));
        if (eng_internal_create(s, res, "default", body, &err) < 0)
            ck_warn("kubernetes service: creating %s: %s", res->plural, err.msg);
        json_decref(body);
        return;
    }
    json_t *cur = eng_obj_json(o);
    eng_obj_unref(o);
    bool same = cur != NULL;
    const char *k;
    json_t *v;
    json_object_foreach(want, k, v)
    {
        json_t *c = strcmp(k, "labels") == 0
                        ? json_object_get(json_object_get(cur, "metadata"), "labels")
                        : json_object_get(cur, k);
        if (!c || !json_equal(c, v))
            same = false;
    }
    json_decref(cur);
    if (same)
        return;
    struct api_request rq = {.method = "PUT"};
    struct api_response rs;
    api_response_init(&rs, 1 << 20);
    struct eng_req r;
    memset(&r, 0, sizeof(r));
    r.s = s;
    r.rq = &rq;
    r.rs = &rs;
    r.res = res;
    r.ns = "default";
    r.name = (char *)name;
    struct eng_upd u = {.internal = true, .mutate = set_fields, .ctx = want};
    if (eng_update(&r, &u, false, &err) < 0)
        ck_warn("kubernetes service: updating %s: %s", res->plural, err.msg);
    eng_upd_release(&u);
    api_response_release(&rs);
}

/* ---- leases ------------------------------------------------------------------------- */

struct lease {
    char ip[16];
    int port;
};

static int lease_cmp(const void *a, const void *b)
{
    const struct lease *x = a, *y = b;
    if (x->port != y->port)
        return x->port < y->port ? -1 : 1;
    return strcmp(x->ip, y->ip);
}

/* Renews (or, leaving, drops) this server's lease; returns the live leases, sorted, or
 * (size_t)-1 when leaving and the store does not answer. */
static size_t live_leases(struct api_server *s, bool leaving, struct lease **out)
{
    struct eng_svcalloc *sa = s->sa;
    struct store *st = s->cache.st;
    struct ck_err err = CK_ERR_INIT;
    int64_t now = wall_ms();
    size_t klen = strlen(sa->lease_key);
    if (leaving) {
        /* a store that does not answer: the lease expires by itself (bounded shutdown) */
        if (store_delete(st, sa->lease_key, klen, STORE_ANY, NULL, NULL, &err) < 0 &&
            err.reason != CK_R_NOT_FOUND) {
            *out = NULL;
            return (size_t)-1;
        }
    } else {
        char v[160];
        int n = snprintf(v, sizeof(v), "{\"ip\":\"%s\",\"port\":%d,\"renewTime\":%lld}", sa->host,
                         sa->port, (long long)now);
        if (store_put(st, sa->lease_key, klen, v, (size_t)n, STORE_ANY, NULL, NULL, &err) < 0)
            ck_warn("kubernetes service: renewing the lease %s: %s", sa->lease_key, err.msg);
    }
    struct store_range_req rq = {.prefix = ENG_KEY_LEASES, .prefix_len = strlen(ENG_KEY_LEASES)};
    struct store_range_result res;
    memset(&res, 0, sizeof(res));
    *out = NULL;
    ck_err_clear(&err);
    if (store_range(st, &rq, &res, &err) < 0) {
        ck_warn("kubernetes service: listing leases: %s", err.msg);
        return 0;
    }
    struct lease *v = ck_calloc(res.nkvs + 1, sizeof(*v));
    size_t n = 0;
    for (size_t i = 0; i < res.nkvs; i++) {
        const struct store_kv *kv = &res.kvs[i];
        json_t *j = json_loadb(kv->value, kv->value_len, 0, NULL);
        const char *ip = json_string_value(json_object_get(j, "ip"));
        json_int_t port = json_integer_value(json_object_get(j, "port"));
        json_int_t at = json_integer_value(json_object_get(j, "renewTime"));
        uint32_t a;
        bool self = kv->key_len == klen && memcmp(kv->key, sa->lease_key, klen) == 0;
        if (!ip || !svc_ip_parse(ip, &a) || port <= 0 || port > 65535 ||
            (!self && now - at > LEASE_TTL_MS)) {
            /* expired (its server is gone): dropped unless renewed meanwhile */
            struct store_cmp c = {kv->key, kv->key_len, kv->mod_revision};
            struct store_op op = {STORE_OP_DELETE, kv->key, kv->key_len, NULL, 0};
            struct store_txn t = {&c, 1, &op, 1};
            struct store_txn_result tr;
            memset(&tr, 0, sizeof(tr));
            struct ck_err e2 = CK_ERR_INIT;
            store_txn(st, &t, &tr, &e2);
            store_txn_result_release(&tr);
        } else if (!(leaving && self)) {
            snprintf(v[n].ip, sizeof(v[n].ip), "%s", ip);
            v[n++].port = (int)port;
        }
        json_decref(j);
    }
    store_range_result_release(&res);
    qsort(v, n, sizeof(*v), lease_cmp);
    *out = v;
    return n;
}

static void reconcile(struct api_server *s, bool leaving)
{
    struct eng_svcalloc *sa = s->sa;
    if (!sa->host[0])
        return;
    struct lease *l = NULL;
    size_t n = live_leases(s, leaving, &l);
    if (n == (size_t)-1)
        return;
    /* Endpoints: one subset per port, its addresses sorted */
    json_t *subsets = json_array();
    for (size_t i = 0; i < n;) {
        json_t *addrs = json_array();
        size_t j = i;
        for (; j < n && l[j].port == l[i].port; j++)
            json_array_append_new(addrs, json_pack("{s:s}", "ip", l[j].ip));
        json_array_append_new(subsets,
                              json_pack("{s:o,s:[{s:s,s:i,s:s}]}", "addresses", addrs, "ports",
                                        "name", "https", "port", l[i].port, "protocol", "TCP"));
        i = j;
    }
    json_t *ep = json_pack("{s:{s:s},s:o}", "labels", "endpointslice.kubernetes.io/skip-mirror",
                           "true", "subsets", subsets);
    upsert(s, reg_find("", "v1", "endpoints"), "kubernetes", ep);
    json_decref(ep);
    /* EndpointSlice: the first port's servers (all of them when they share the port) */
    json_t *eps = json_array();
    for (size_t i = 0; i < n && l[i].port == l[0].port; i++)
        json_array_append_new(
            eps, json_pack("{s:[s],s:{s:b}}", "addresses", l[i].ip, "conditions", "ready", 1));
    int port = n ? l[0].port : sa->port;
    json_t *sl =
        json_pack("{s:{s:s},s:s,s:o,s:[{s:s,s:i,s:s}]}", "labels", "kubernetes.io/service-name",
                  "kubernetes", "addressType", "IPv4", "endpoints", eps, "ports", "name", "https",
                  "port", port, "protocol", "TCP");
    const struct reg_resource *slr = reg_find("discovery.k8s.io", "v1", "endpointslices");
    if (slr)
        upsert(s, slr, "kubernetes", sl);
    json_decref(sl);
    free(l);
}

static void *reconciler(void *arg)
{
    struct api_server *s = arg;
    struct eng_svcalloc *sa = s->sa;
    unsigned rounds = 0;
    pthread_mutex_lock(&sa->mu);
    while (!sa->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += RECONCILE_MS / 1000;
        while (!sa->stop && pthread_cond_timedwait(&sa->cv, &sa->mu, &ts) != ETIMEDOUT)
            ;
        if (sa->stop)
            break;
        pthread_mutex_unlock(&sa->mu);
        reconcile(s, false);
        if (++rounds % REPAIR_EVERY == 0)
            eng_alloc_repair(s);
        pthread_mutex_lock(&sa->mu);
    }
    pthread_mutex_unlock(&sa->mu);
    return NULL;
}

/* The IPv4 address of the interface of the default route (upstream's ChooseHostInterface),
 * else of the first other up, non-loopback interface; false when there is none. */
static bool default_route_ipv4(char out[16])
{
    char ifname[IF_NAMESIZE + 1] = "", line[256];
    FILE *f = fopen("/proc/net/route", "re");
    while (f && fgets(line, sizeof(line), f)) {
        char name[64];
        unsigned long dst;
        if (sscanf(line, "%63s %lx", name, &dst) == 2 && dst == 0 && strlen(name) <= IF_NAMESIZE) {
            snprintf(ifname, sizeof(ifname), "%s", name);
            break;
        }
    }
    if (f)
        fclose(f);
    struct ifaddrs *ifs = NULL, *fallback = NULL, *pick = NULL;
    if (getifaddrs(&ifs) < 0)
        return false;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
            (i->ifa_flags & IFF_LOOPBACK))
            continue;
        if (ifname[0] && strcmp(i->ifa_name, ifname) == 0 && !pick)
            pick = i;
        if (!fallback)
            fallback = i;
    }
    if (!pick)
        pick = fallback;
    bool ok = pick && inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)pick->ifa_addr)->sin_addr,
                                out, 16);
    freeifaddrs(ifs);
    return ok;
}

/* "ip[:port]" of the external host, or the advertise address: IPv4 only (else no
 * endpoints, as before). */
static void own_address(struct api_server *s)
{
    struct eng_svcalloc *sa = s->sa;
    const char *eh = s->cache.opts.external_host;
    char host[64] = "";
    sa->port = 6443;
    if (eh) {
        const char *colon = strrchr(eh, ':');
        if (colon && strchr(eh, ':') == colon) {
            sa->port = atoi(colon + 1) > 0 ? atoi(colon + 1) : 6443;
            snprintf(host, sizeof(host), "%.*s", (int)(colon - eh), eh);
        } else {
            snprintf(host, sizeof(host), "%s", eh);
        }
    }
    const char *adv = s->cache.opts.advertise_address;
    char auto_ip[16];
    if (adv && *adv)
        snprintf(host, sizeof(host), "%s", adv);
    else if (adv && default_route_ipv4(auto_ip))
        snprintf(host, sizeof(host), "%s", auto_ip);
    uint32_t a;
    if (svc_ip_parse(host, &a) && a != 0)
        snprintf(sa->host, sizeof(sa->host), "%s", host);
    snprintf(sa->lease_key, sizeof(sa->lease_key), ENG_KEY_LEASES "%s:%d", sa->host, sa->port);
}

int eng_bootstrap_kubernetes_service(struct api_server *s, struct ck_err *err)
{
    struct eng_svcalloc *sa = s->sa;
    own_address(s);
    eng_alloc_repair(s);
    const struct reg_resource *svc = reg_find("", "v1", "services");
    struct eng_obj *o = eng_cache_get(&s->cache, svc, "default", "kubernetes");
    if (o) {
        eng_obj_unref(o);
    } else {
        char ip[16];
        svc_ip_text(sa->ips.first, ip);
        json_t *body = json_pack(
            "{s:s,s:s,s:{s:s,s:{s:s,s:s}},s:{s:s,s:s,s:[s],s:s,s:[{s:s,s:i,s:s,s:i}]}}",
            "apiVersion", "v1", "kind", "Service", "metadata", "name", "kubernetes", "labels",
            "component", "apiserver", "provider", "kubernetes", "spec", "type", "ClusterIP",
            "clusterIP", ip, "clusterIPs", ip, "sessionAffinity", "None", "ports", "name", "https",
            "port", 443, "protocol", "TCP", "targetPort", sa->port);
        int rc = eng_internal_create(s, svc, "default", body, err);
        json_decref(body);
        if (rc < 0)
            return rc;
    }
    if (!sa->host[0])
        return 0;
    reconcile(s, false);
    sa->started = pthread_create(&sa->th, NULL, reconciler, s) == 0;
    return 0;
}

void eng_alloc_stop(struct api_server *s)
{
    struct eng_svcalloc *sa = s->sa;
    if (!sa)
        return;
    if (sa->started) {
        pthread_mutex_lock(&sa->mu);
        sa->stop = true;
        pthread_cond_broadcast(&sa->cv);
        pthread_mutex_unlock(&sa->mu);
        pthread_join(sa->th, NULL);
        reconcile(s, true); /* this server's address leaves the endpoints */
    }
    pthread_mutex_destroy(&sa->mu);
    pthread_cond_destroy(&sa->cv);
    free(sa);
    s->sa = NULL;
}
