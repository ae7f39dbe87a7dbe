/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's cluster DNS (`--dns`, on by default for a real node): the src/dns server on the
 * node IP (port 53 or --dns-port), the Service kube-system/kube-dns at the clusterDNS VIP and
 * an EndpointSlice per node pointing at this server (so the service proxy DNATs the VIP to
 * it), kept in place by a thread; and pods' resolv.conf as upstream's kubelet composes it. */
#include "agent/agent_int.h"
#include "dns/dns.h"
#include "k8s/util.h"
#include "lib/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

#define DNS_NS "kube-system"
#define DNS_SVC "kube-dns"
#define ENSURE_PERIOD_S 30
#define ENSURE_RETRY_S 2

struct ag_dns {
    struct dns_server *srv;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    bool warned_ip;
};

static const char *cluster_dns(const struct agent *ag)
{
    return ag->o->cluster_dns && *ag->o->cluster_dns ? ag->o->cluster_dns : "10.96.0.10";
}

static const char *cluster_domain(const struct agent *ag)
{
    return ag->o->cluster_domain && *ag->o->cluster_domain ? ag->o->cluster_domain
                                                           : "cluster.local";
}

/* The Service kube-system/kube-dns (no selector); returns its uid in uid or -1. */
static int ensure_service(struct agent *ag, char *uid, size_t n, struct ck_err *err)
{
    struct ag_dns *d = ag->dns;
    const char *path = "/api/v1/namespaces/" DNS_NS "/services/" DNS_SVC;
    json_t *cur = NULL;
    char vip[64];
    snprintf(vip, sizeof(vip), "%s", cluster_dns(ag));
    char *comma = strchr(vip, ',');
    if (comma)
        *comma = '\0';
    if (ck_client_get_json(ag->client, path, &cur, err) < 0) {
        if (err->reason != CK_R_NOT_FOUND)
            return -1;
        ck_err_clear(err);
        json_t *svc = json_pack(
            "{s:s,s:s,s:{s:s,s:s,s:{s:s,s:s,s:s}},s:{s:s,s:[{s:s,s:i,s:s,s:i},{s:s,s:i,s:s,s:i}]}}",
            "apiVersion", "v1", "kind", "Service", "metadata", "name", DNS_SVC, "namespace", DNS_NS,
            "labels", "k8s-app", "kube-dns", "kubernetes.io/cluster-service", "true",
            "kubernetes.io/name", "CoreDNS", "spec", "clusterIP", vip, "ports", "name", "dns",
            "port", 53, "protocol", "UDP", "targetPort", 53, "name", "dns-tcp", "port", 53,
            "protocol", "TCP", "targetPort", 53);
        int rc = ck_client_create_json(ag->client, "/api/v1/namespaces/" DNS_NS "/services", svc,
                                       &cur, err);
        json_decref(svc);
        if (rc < 0 && err->reason != CK_R_ALREADY_EXISTS)
            return -1;
        if (rc < 0) { /* another agent made it meanwhile */
            ck_err_clear(err);
            if (ck_client_get_json(ag->client, path, &cur, err) < 0)
                return -1;
        } else {
            ck_info("dns: created Service %s/%s (clusterIP %s)", DNS_NS, DNS_SVC, vip);
        }
    }
    const char *have = k8s_jpath_str(cur, "spec.clusterIP");
    if (strcmp(have, vip) && !d->warned_ip) {
        d->warned_ip = true;
        ck_warn("dns: Service %s/%s has clusterIP %s, not the clusterDNS %s: pods will not "
                "reach the cluster DNS at the VIP",
                DNS_NS, DNS_SVC, have, vip);
    }
    snprintf(uid, n, "%s", k8s_jpath_str(cur, "metadata.uid"));
    json_decref(cur);
    return 0;
}

static json_t *wanted_slice(struct agent *ag, const char *uid, int port)
{
    const char *ip = ag->nodes[0].host_ip, *node = ag->nodes[0].name;
    char name[300];
    snprintf(name, sizeof(name), "%s-%s", DNS_SVC, node);
    json_t *s = json_pack(
        "{s:s,s:s,s:{s:s,s:s,s:{s:s,s:s},s:[{s:s,s:s,s:s,s:s}]},s:s,s:[{s:[s],s:{s:b,s:b,s:b},"
        "s:s}],s:[{s:s,s:i,s:s},{s:s,s:i,s:s}]}",
        "apiVersion", "discovery.k8s.io/v1", "kind", "EndpointSlice", "metadata", "name", name,
        "namespace", DNS_NS, "labels", "kubernetes.io/service-name", DNS_SVC,
        "endpointslice.kubernetes.io/managed-by", "ckube-agent", "ownerReferences", "apiVersion",
        "v1", "kind", "Service", "name", DNS_SVC, "uid", uid, "addressType",
        strchr(ip, ':') ? "IPv6" : "IPv4", "endpoints", "addresses", ip, "conditions", "ready", 1,
        "serving", 1, "terminating", 0, "nodeName", node, "ports", "name", "dns", "port", port,
        "protocol", "UDP", "name", "dns-tcp", "port", port, "protocol", "TCP");
    return s;
}

static int ensure_slice(struct agent *ag, const char *uid, struct ck_err *err)
{
    int port = dns_server_port(ag->dns->srv);
    json_t *want = wanted_slice(ag, uid, port), *cur = NULL;
    char path[512];
    snprintf(path, sizeof(path), "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/%s",
             DNS_NS, k8s_jpath_str(want, "metadata.name"));
    int rc = 0;
    if (ck_client_get_json(ag->client, path, &cur, err) < 0) {
        if (err->reason != CK_R_NOT_FOUND) {
            json_decref(want);
            return -1;
        }
        ck_err_clear(err);
        rc = ck_client_create_json(ag->client,
                                   "/apis/discovery.k8s.io/v1/namespaces/" DNS_NS "/endpointslices",
                                   want, NULL, err);
        if (rc == 0)
            ck_info("dns: created EndpointSlice %s/%s (%s port %d)", DNS_NS,
                    k8s_jpath_str(want, "metadata.name"), ag->nodes[0].host_ip, port);
    } else if (!json_equal(json_object_get(cur, "endpoints"), json_object_get(want, "endpoints")) ||
               !json_equal(json_object_get(cur, "ports"), json_object_get(want, "ports")) ||
               strcmp(k8s_jpath_str(cur, "metadata.ownerReferences.0.uid"), uid)) {
        json_object_set(json_object_get(want, "metadata"), "resourceVersion",
                        json_object_get(json_object_get(cur, "metadata"), "resourceVersion"));
        rc = ck_client_update_json(ag->client, path, want, NULL, err);
        if (rc == 0)
            ck_info("dns: updated EndpointSlice %s/%s", DNS_NS,
                    k8s_jpath_str(want, "metadata.name"));
    }
    json_decref(cur);
    json_decref(want);
    return rc;
}

static void *ensure_main(void *arg)
{
    struct agent *ag = arg;
    struct ag_dns *d = ag->dns;
    pthread_mutex_lock(&d->mu);
    while (!d->stop) {
        pthread_mutex_unlock(&d->mu);
        struct ck_err err = CK_ERR_INIT;
        char uid[128] = "";
        int rc = ensure_service(ag, uid, sizeof(uid), &err);
        if (rc == 0)
            rc = ensure_slice(ag, uid, &err);
        if (rc < 0)
            ck_v(1, "dns: kube-dns Service/EndpointSlice: %s (retrying)", err.msg);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += rc < 0 ? ENSURE_RETRY_S : ENSURE_PERIOD_S;
        pthread_mutex_lock(&d->mu);
        while (!d->stop && pthread_cond_timedwait(&d->cv, &d->mu, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

int ag_dns_start(struct agent *ag, struct ck_err *err)
{
    const struct agent_opts *o = ag->o;
    if (!(o->dns > 0 || (o->dns == 0 && !ag->hollow)))
        return 0;
    struct ag_dns *d = ck_calloc(1, sizeof(*d));
    struct dns_server_opts so = {.client = ag->client,
                                 .domain = cluster_domain(ag),
                                 .addr = ag->nodes[0].host_ip,
                                 .port = o->dns_port > 0 ? o->dns_port : 53};
    if (dns_server_start(&so, &d->srv, err) < 0) {
        free(d);
        return -1;
    }
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    ag->dns = d;
    pthread_create(&d->th, NULL, ensure_main, ag);
    return 0;
}

void ag_dns_stop(struct agent *ag)
{
    struct ag_dns *d = ag->dns;
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->stop = true;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->th, NULL);
    dns_server_stop(d->srv);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    free(d);
    ag->dns = NULL;
}

/* ---- pods' resolv.conf --------------------------------------------------------------- */

struct ag_dns_conf {
    struct dns_resolv r;
    const char **servers, **searches, **options; /* NULL-terminated views of r */
};

static const char **view(const struct dns_strv *s)
{
    const char **v = ck_calloc(s->n + 1, sizeof(*v));
    for (size_t i = 0; i < s->n; i++)
        v[i] = s->v[i];
    return v;
}

/* The node's resolv.conf (kubelet --resolv-conf); where /etc/resolv.conf only names
 * systemd-resolved's stub (unreachable from a pod's netns), its upstream list instead, as
 * kubeadm configures the kubelet. */
static void host_resolv(struct dns_resolv *r)
{
    dns_resolv_load("/etc/resolv.conf", r);
    bool stub = r->servers.n > 0;
    for (size_t i = 0; i < r->servers.n; i++)
        stub = stub && !strcmp(r->servers.v[i], "127.0.0.53");
    struct dns_resolv alt;
    if (stub && dns_resolv_load("/run/systemd/resolve/resolv.conf", &alt) == 0) {
        dns_resolv_release(r);
        *r = alt;
    }
}

struct ag_dns_conf *ag_dns_sandbox(struct agent *ag, struct ag_pod *p, const json_t *pod,
                                   struct rt_sandbox_config *sc)
{
    if (ag->hollow)
        return NULL;
    struct dns_resolv host;
    host_resolv(&host);
    struct ag_dns_conf *c = ck_calloc(1, sizeof(*c));
    struct dns_pod_params pp = {
        .host = &host, .cluster_dns = cluster_dns(ag), .cluster_domain = cluster_domain(ag)};
    char warn[2600];
    dns_pod_config(pod, &pp, &c->r, warn, sizeof(warn));
    dns_resolv_release(&host);
    if (*warn)
        ag_event(ag, p, NULL, true,
                 strstr(warn, "ClusterDNS") ? "MissingClusterDNS" : "DNSConfigForming", "%s", warn);
    c->servers = view(&c->r.servers);
    c->searches = view(&c->r.searches);
    c->options = view(&c->r.options);
    sc->dns_servers = c->servers; /* non-NULL even when empty: write exactly this */
    sc->dns_searches = c->searches;
    sc->dns_options = c->options;
    return c;
}

void ag_dns_sandbox_done(struct ag_dns_conf *c)
{
    if (!c)
        return;
    free(c->servers);
    free(c->searches);
    free(c->options);
    dns_resolv_release(&c->r);
    free(c);
}
