/* SPDX-License-Identifier: Apache-2.0 */
/* Service allocation: spec.clusterIP(s) from the service CIDR (first address reserved for
 * default/kubernetes) and spec.ports[].nodePort from 30000-32767, computed against the
 * services in the cache under s->alloc_mu; and the bootstrap default/kubernetes Service and
 * Endpoints. */
#include "apiserver/endpoints/endpoints.h"
#include "apiserver/endpoints/write_int.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define NODEPORT_MIN 30000
#define NODEPORT_MAX 32767

int eng_alloc_init(struct api_server *s, struct ck_err *err)
{
    const char *cidr = s->cache.opts.service_cidr ? s->cache.opts.service_cidr : "10.96.0.0/12";
    char ip[64];
    const char *slash = strchr(cidr, '/');
    int bits = slash ? atoi(slash + 1) : -1;
    snprintf(ip, sizeof(ip), "%.*s", slash ? (int)(slash - cidr) : 0, cidr);
    struct in_addr a;
    if (!slash || bits < 8 || bits > 30 || inet_pton(AF_INET, ip, &a) != 1)
        return ck_err_set(err, CK_R_BAD_REQUEST, "invalid service CIDR %s (IPv4 a.b.c.d/8-30)",
                          cidr);
    uint32_t mask = bits ? ~0u << (32 - bits) : 0;
    s->svc_base = ntohl(a.s_addr) & mask;
    s->svc_size = (uint32_t)1 << (32 - bits);
    return 0;
}

static void ip_text(uint32_t v, char out[16])
{
    struct in_addr a = {.s_addr = htonl(v)};
    inet_ntop(AF_INET, &a, out, 16);
}

/* Marks used IPs/ports of every service except the one at skip_key. */
static void collect_used(struct api_server *s, const char *skip_key, uint8_t *ips, uint8_t *ports)
{
    const struct reg_resource *svc = reg_find("", "v1", "services");
    int fip = reg_field_index(svc, "spec.clusterIP"), ftype = reg_field_index(svc, "spec.type");
    pthread_rwlock_rdlock(&s->cache.mu);
    struct eng_cursor cur;
    eng_table_first(&s->cache.tables[svc->idx], &cur);
    for (struct eng_obj *o; (o = eng_cursor_obj(&cur)); eng_cursor_next(&cur)) {
        if (skip_key && strcmp(o->key, skip_key) == 0)
            continue;
        struct in_addr a;
        if (inet_pton(AF_INET, o->fields[fip], &a) == 1) {
            uint32_t v = ntohl(a.s_addr);
            if (v >= s->svc_base && v - s->svc_base < s->svc_size)
                ips[v - s->svc_base] = 1;
        }
        if (strcmp(o->fields[ftype], "NodePort") && strcmp(o->fields[ftype], "LoadBalancer"))
            continue;
        json_t *j = eng_obj_json(o);
        size_t k;
        json_t *p;
        json_array_foreach(json_object_get(json_object_get(j, "spec"), "ports"), k, p)
        {
            json_int_t np = json_integer_value(json_object_get(p, "nodePort"));
            if (np >= NODEPORT_MIN && np <= NODEPORT_MAX)
                ports[np - NODEPORT_MIN] = 1;
        }
        json_decref(j);
    }
    pthread_rwlock_unlock(&s->cache.mu);
}

static int alloc_ip(struct api_server *s, json_t *spec, const char *name, const uint8_t *ips,
                    const struct reg_resource *res, struct ck_err *err)
{
    const char *want = json_string_value(json_object_get(spec, "clusterIP"));
    char txt[16], d[256];
    if (want && strcmp(want, "None") == 0) {
        json_object_set_new(spec, "clusterIPs", json_pack("[s]", "None"));
        return 0;
    }
    if (want && *want) {
        struct in_addr a;
        uint32_t v = 0;
        if (inet_pton(AF_INET, want, &a) == 1)
            v = ntohl(a.s_addr);
        if (!v || v < s->svc_base || v - s->svc_base >= s->svc_size) {
            snprintf(d, sizeof(d), "Invalid value: \"%s\": provided IP is not in the valid range",
                     want);
            eng_invalid(err, res, name, "spec.clusterIPs", "FieldValueInvalid", d);
            return -1;
        }
        if (ips[v - s->svc_base]) {
            snprintf(d, sizeof(d), "Invalid value: \"%s\": provided IP is already allocated",
                     want);
            eng_invalid(err, res, name, "spec.clusterIPs", "FieldValueInvalid", d);
            return -1;
        }
        json_object_set_new(spec, "clusterIPs", json_pack("[s]", want));
        return 0;
    }
    /* .0 is the network, .1 belongs to default/kubernetes, the last is broadcast */
    for (uint32_t i = 2; i + 1 < s->svc_size; i++) {
        if (ips[i])
            continue;
        ip_text(s->svc_base + i, txt);
        json_object_set_new(spec, "clusterIP", json_string(txt));
        json_object_set_new(spec, "clusterIPs", json_pack("[s]", txt));
        return 0;
    }
    return ck_err_set(err, CK_R_INTERNAL, "failed to allocate a serviceIP: range is full");
}

static int alloc_ports(json_t *spec, const char *name, uint8_t *ports,
                       const struct reg_resource *res, struct ck_err *err)
{
    size_t k;
    json_t *p;
    json_array_foreach(json_object_get(spec, "ports"), k, p)
    {
        json_int_t np = json_integer_value(json_object_get(p, "nodePort"));
        char f[64], d[200];
        snprintf(f, sizeof(f), "spec.ports[%zu].nodePort", k);
        if (np) {
            if (np < NODEPORT_MIN || np > NODEPORT_MAX) {
                snprintf(d, sizeof(d),
                         "Invalid value: %lld: provided port is not in the valid range. The "
                         "range of valid ports is %d-%d",
                         (long long)np, NODEPORT_MIN, NODEPORT_MAX);
                eng_invalid(err, res, name, f, "FieldValueInvalid", d);
                return -1;
            }
            if (ports[np - NODEPORT_MIN]) {
                snprintf(d, sizeof(d), "Invalid value: %lld: provided port is already allocated",
                         (long long)np);
                eng_invalid(err, res, name, f, "FieldValueInvalid", d);
                return -1;
            }
            ports[np - NODEPORT_MIN] = 1;
            continue;
        }
        int got = -1;
        for (int i = 0; i <= NODEPORT_MAX - NODEPORT_MIN; i++) {
            if (!ports[i]) {
                got = i;
                break;
            }
        }
        if (got < 0)
            return ck_err_set(err, CK_R_INTERNAL, "failed to allocate a nodePort: range is full");
        ports[got] = 1;
        json_object_set_new(p, "nodePort", json_integer(NODEPORT_MIN + got));
    }
    return 0;
}

int eng_service_alloc(struct api_server *s, const struct reg_resource *res, json_t *svc,
                      const char *skip_key, struct ck_err *err)
{
    json_t *spec = json_object_get(svc, "spec");
    if (!json_is_object(spec))
        return 0;
    const char *type = json_string_value(json_object_get(spec, "type"));
    if (type && strcmp(type, "ExternalName") == 0)
        return 0;
    const char *name = eng_md_str(svc, "name");
    uint8_t *ips = ck_calloc(s->svc_size, 1);
    uint8_t *ports = ck_calloc(NODEPORT_MAX - NODEPORT_MIN + 1, 1);
    collect_used(s, skip_key, ips, ports);
    int rc = 0;
    const char *cur = json_string_value(json_object_get(spec, "clusterIP"));
    if (!skip_key || !cur || !*cur)
        rc = alloc_ip(s, spec, name, ips, res, err);
    if (rc == 0 && type && (strcmp(type, "NodePort") == 0 || strcmp(type, "LoadBalancer") == 0))
        rc = alloc_ports(spec, name, ports, res, err);
    free(ips);
    free(ports);
    return rc;
}

/* default/kubernetes: ClusterIP .1, port 443 -> the API server (and its Endpoints when the
 * external host is a concrete IPv4 address). */
int eng_bootstrap_kubernetes_service(struct api_server *s, struct ck_err *err)
{
    const struct reg_resource *svc = reg_find("", "v1", "services");
    struct eng_obj *o = eng_cache_get(&s->cache, svc, "default", "kubernetes");
    if (o) {
        eng_obj_unref(o);
        return 0;
    }
    char ip[16], host[64] = "";
    int port = 6443;
    ip_text(s->svc_base + 1, ip);
    const char *eh = s->cache.opts.external_host;
    if (eh) {
        const char *colon = strrchr(eh, ':');
        if (colon && !strchr(colon + 1, ']') && strchr(eh, ':') == colon) {
            port = atoi(colon + 1) > 0 ? atoi(colon + 1) : 6443;
            snprintf(host, sizeof(host), "%.*s", (int)(colon - eh), eh);
        } else {
            snprintf(host, sizeof(host), "%s", eh);
        }
    }
    json_t *body = json_pack("{s:s,s:s,s:{s:s,s:{s:s,s:s}},s:{s:s,s:s,s:[s],s:s,s:[{s:s,s:i,s:s,"
                             "s:i}]}}",
                             "apiVersion", "v1", "kind", "Service", "metadata", "name",
                             "kubernetes", "labels", "component", "apiserver", "provider",
                             "kubernetes", "spec", "type", "ClusterIP", "clusterIP", ip,
                             "clusterIPs", ip, "sessionAffinity", "None", "ports", "name",
                             "https", "port", 443, "protocol", "TCP", "targetPort", port);
    int rc = eng_internal_create(s, svc, "default", body, err);
    json_decref(body);
    struct in_addr a;
    if (rc < 0 || inet_pton(AF_INET, host, &a) != 1 || a.s_addr == 0)
        return rc;
    const struct reg_resource *epr = reg_find("", "v1", "endpoints");
    json_t *ep = json_pack("{s:s,s:s,s:{s:s},s:[{s:[{s:s}],s:[{s:s,s:i,s:s}]}]}", "apiVersion",
                           "v1", "kind", "Endpoints", "metadata", "name", "kubernetes",
                           "subsets", "addresses", "ip", host, "ports", "name", "https", "port",
                           port, "protocol", "TCP");
    rc = eng_internal_create(s, epr, "default", ep, err);
    json_decref(ep);
    return rc;
}
