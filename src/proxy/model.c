/* SPDX-License-Identifier: Apache-2.0 */
/* Services and EndpointSlices into struct px_svcport (model.h). */
#include "proxy/model.h"

#include "k8s/util.h"
#include "lib/buf.h"

#include <arpa/inet.h>
#include <string.h>

#include "lib/banned.h"

#define LABEL_SVC "kubernetes.io/service-name"
#define AFFINITY_DEFAULT_S 10800 /* upstream's DefaultClientIPServiceAffinitySeconds */

static const char *proto_name(const char *p)
{
    if (!*p || !strcmp(p, "TCP"))
        return "tcp";
    if (!strcmp(p, "UDP"))
        return "udp";
    if (!strcmp(p, "SCTP"))
        return "sctp";
    return NULL;
}

static bool ipv4(const char *s)
{
    struct in_addr a;
    return s && strlen(s) < 16 && inet_pton(AF_INET, s, &a) == 1;
}

static bool cond(const json_t *conds, const char *key, bool dflt)
{
    const json_t *v = json_object_get(conds, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* The port of slice matching (name, proto), or 0. */
static int slice_port(const json_t *slice, const char *name, const char *proto)
{
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(slice, "ports"), i, p)
    {
        const char *pn = k8s_jstr(p, "name"), *pp = proto_name(k8s_jstr(p, "protocol"));
        json_int_t port = json_integer_value(json_object_get(p, "port"));
        if (!strcmp(pn, name) && pp && !strcmp(pp, proto) && port > 0 && port < 65536)
            return (int)port;
    }
    return 0;
}

static void add_eps(struct px_svcport *sp, const json_t *slice, const char *node)
{
    int port = slice_port(slice, sp->port_name, sp->proto);
    if (!port)
        return;
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(slice, "endpoints"), i, e)
    {
        const char *ip = json_string_value(json_array_get(json_object_get(e, "addresses"), 0));
        if (!ipv4(ip))
            continue;
        bool dup = false;
        for (size_t k = 0; k < sp->neps && !dup; k++)
            dup = sp->eps[k].port == port && !strcmp(sp->eps[k].ip, ip);
        if (dup)
            continue;
        const json_t *c = json_object_get(e, "conditions");
        struct px_ep ep = {.port = port};
        snprintf(ep.ip, sizeof(ep.ip), "%s", ip);
        ep.ready = cond(c, "ready", true);
        ep.serving = cond(c, "serving", true);
        ep.terminating = cond(c, "terminating", false);
        const char *nn = k8s_jstr(e, "nodeName");
        ep.local = *nn && node && !strcmp(nn, node);
        sp->eps = ck_realloc(sp->eps, (sp->neps + 1) * sizeof(*sp->eps));
        sp->eps[sp->neps++] = ep;
    }
}

static bool slice_of(const json_t *slice, const char *ns, const char *name)
{
    const char *at = k8s_jstr(slice, "addressType");
    return !strcmp(k8s_jpath_str(slice, "metadata.namespace"), ns) &&
           !strcmp(
               k8s_jstr(json_object_get(json_object_get(slice, "metadata"), "labels"), LABEL_SVC),
               name) &&
           (!*at || !strcmp(at, "IPv4"));
}

size_t px_service_parse(const json_t *svc, json_t *const *slices, size_t nslices, const char *node,
                        struct px_svcport **out)
{
    *out = NULL;
    const json_t *spec = json_object_get(svc, "spec");
    const char *type = k8s_jstr(spec, "type");
    const char *cip = k8s_jstr(spec, "clusterIP");
    if (!strcmp(type, "ExternalName") || !ipv4(cip))
        return 0; /* headless ("None"), unallocated or IPv6: nothing to proxy */
    const char *ns = k8s_jpath_str(svc, "metadata.namespace");
    const char *name = k8s_jpath_str(svc, "metadata.name");
    bool ext = !strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer");
    bool etp_local = ext && !strcmp(k8s_jstr(spec, "externalTrafficPolicy"), "Local");
    bool itp_local = !strcmp(k8s_jstr(spec, "internalTrafficPolicy"), "Local");
    int affinity = 0;
    if (!strcmp(k8s_jstr(spec, "sessionAffinity"), "ClientIP")) {
        json_t *t = k8s_jpath(spec, "sessionAffinityConfig.clientIP.timeoutSeconds");
        affinity = json_is_integer(t) && json_integer_value(t) > 0 && json_integer_value(t) <= 86400
                       ? (int)json_integer_value(t)
                       : AFFINITY_DEFAULT_S;
    }
    const json_t *ports = json_object_get(spec, "ports");
    size_t n = 0;
    struct px_svcport *a = ck_calloc(json_array_size(ports) + 1, sizeof(*a));
    size_t i;
    const json_t *p;
    json_array_foreach(ports, i, p)
    {
        const char *proto = proto_name(k8s_jstr(p, "protocol"));
        json_int_t port = json_integer_value(json_object_get(p, "port"));
        json_int_t np = json_integer_value(json_object_get(p, "nodePort"));
        if (!proto || port <= 0 || port > 65535)
            continue;
        struct px_svcport *sp = &a[n++];
        sp->ns = ck_strdup(ns);
        sp->name = ck_strdup(name);
        sp->port_name = ck_strdup(k8s_jstr(p, "name"));
        sp->proto = proto;
        snprintf(sp->cluster_ip, sizeof(sp->cluster_ip), "%s", cip);
        sp->port = (int)port;
        sp->node_port = ext && np > 0 && np < 65536 ? (int)np : 0;
        sp->etp_local = etp_local;
        sp->itp_local = itp_local;
        sp->affinity_s = affinity;
        for (size_t k = 0; k < nslices; k++)
            if (slice_of(slices[k], ns, name))
                add_eps(sp, slices[k], node);
    }
    if (!n) {
        free(a);
        return 0;
    }
    *out = a;
    return n;
}

void px_svcport_release(struct px_svcport *sp)
{
    free(sp->ns);
    free(sp->name);
    free(sp->port_name);
    free(sp->eps);
    memset(sp, 0, sizeof(*sp));
}

void px_svcports_free(struct px_svcport *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        px_svcport_release(&a[i]);
    free(a);
}

size_t px_pick(const struct px_svcport *sp, bool local_only, const struct px_ep ***out)
{
    const struct px_ep **r = ck_calloc(sp->neps + 1, sizeof(*r));
    size_t n = 0;
    for (size_t i = 0; i < sp->neps; i++)
        if (sp->eps[i].ready && (!local_only || sp->eps[i].local))
            r[n++] = &sp->eps[i];
    if (!n) /* upstream: fall back to serving terminating endpoints */
        for (size_t i = 0; i < sp->neps; i++)
            if (sp->eps[i].serving && sp->eps[i].terminating && (!local_only || sp->eps[i].local))
                r[n++] = &sp->eps[i];
    *out = r;
    return n;
}
