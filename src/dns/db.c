/* SPDX-License-Identifier: Apache-2.0 */
/* The cluster DNS record database: Services and EndpointSlices reduced to what DNS answers
 * need, indexed by ns/name, with a service -> slices index and per-namespace counts. Writers
 * (the informer threads) take the write lock; queries take the read lock. */
#include "dns/dns_int.h"
#include "k8s/util.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

void dns_strv_push(struct dns_strv *s, const char *str)
{
    s->v = ck_realloc(s->v, (s->n + 1) * sizeof(*s->v));
    s->v[s->n++] = ck_strdup(str);
}

void dns_strv_release(struct dns_strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static char *lower_dup(const char *s)
{
    char *d = ck_strdup(s);
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

struct dns_db *dns_db_new(const char *domain)
{
    struct dns_db *db = ck_calloc(1, sizeof(*db));
    db->domain = lower_dup(domain && *domain ? domain : "cluster.local");
    size_t n = strlen(db->domain);
    while (n > 0 && db->domain[n - 1] == '.')
        db->domain[--n] = '\0';
    pthread_rwlock_init(&db->lk, NULL);
    db->serial = (uint32_t)time(NULL);
    return db;
}

const char *dns_db_domain(const struct dns_db *db)
{
    return db->domain;
}

static void ports_free(struct dns_port *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(p[i].name);
    free(p);
}

static struct dns_port *ports_parse(const json_t *arr, size_t *n)
{
    *n = k8s_jlen(arr);
    struct dns_port *p = ck_calloc(*n ? *n : 1, sizeof(*p));
    for (size_t i = 0; i < *n; i++) {
        const json_t *e = json_array_get(arr, i);
        p[i].name = lower_dup(k8s_jpath_str(e, "name"));
        const char *proto = *k8s_jpath_str(e, "protocol") ? k8s_jpath_str(e, "protocol") : "TCP";
        snprintf(p[i].proto, sizeof(p[i].proto), "%s", proto);
        for (char *c = p[i].proto; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        p[i].port = (int)json_integer_value(json_object_get(e, "port"));
    }
    return p;
}

static void svc_free(struct dns_svc *s)
{
    if (!s)
        return;
    free(s->ns);
    free(s->name);
    dns_strv_release(&s->ips);
    free(s->external);
    ports_free(s->ports, s->nports);
    free(s);
}

static void slice_free(struct dns_slice *s)
{
    if (!s)
        return;
    free(s->key);
    free(s->svc_key);
    for (size_t i = 0; i < s->neps; i++) {
        dns_strv_release(&s->eps[i].addrs);
        free(s->eps[i].hostname);
    }
    free(s->eps);
    ports_free(s->ports, s->nports);
    free(s);
}

static bool obj_key(const json_t *o, char *key, size_t n)
{
    const char *ns = k8s_jpath_str(o, "metadata.namespace");
    const char *name = k8s_jpath_str(o, "metadata.name");
    if (!*name)
        return false;
    snprintf(key, n, "%s/%s", *ns ? ns : "default", name);
    return true;
}

static void nsref_add(struct dns_db *db, const char *ns, int d)
{
    uintptr_t c = (uintptr_t)ck_strmap_get(&db->nsref, ns, NULL);
    if (d < 0 && c <= 1)
        ck_strmap_del(&db->nsref, ns, NULL);
    else
        ck_strmap_put(&db->nsref, ns, (void *)(c + (uintptr_t)(d > 0 ? 1 : -1)));
}

static struct dns_svc *svc_parse(const json_t *o)
{
    struct dns_svc *s = ck_calloc(1, sizeof(*s));
    const char *ns = k8s_jpath_str(o, "metadata.namespace");
    s->ns = lower_dup(*ns ? ns : "default");
    s->name = lower_dup(k8s_jpath_str(o, "metadata.name"));
    const char *type = k8s_jpath_str(o, "spec.type");
    const char *cip = k8s_jpath_str(o, "spec.clusterIP");
    if (!strcmp(type, "ExternalName")) {
        s->kind = DNS_SVC_EXTERNAL;
        const char *ext = k8s_jpath_str(o, "spec.externalName");
        size_t l = strlen(ext);
        s->external = l && ext[l - 1] == '.' ? lower_dup(ext) : ck_asprintf("%s.", ext);
    } else if (!strcmp(cip, "None")) {
        s->kind = DNS_SVC_HEADLESS;
    } else {
        s->kind = DNS_SVC_CLUSTERIP;
        const json_t *ips = k8s_jpath(o, "spec.clusterIPs");
        for (size_t i = 0; i < k8s_jlen(ips); i++) {
            const char *ip = json_string_value(json_array_get(ips, i));
            if (ip && *ip && strcmp(ip, "None"))
                dns_strv_push(&s->ips, ip);
        }
        if (!s->ips.n && *cip)
            dns_strv_push(&s->ips, cip);
    }
    s->ports = ports_parse(k8s_jpath(o, "spec.ports"), &s->nports);
    s->publish_not_ready = json_is_true(k8s_jpath(o, "spec.publishNotReadyAddresses"));
    return s;
}

void dns_db_service_set(struct dns_db *db, const json_t *svc)
{
    char key[512];
    if (!obj_key(svc, key, sizeof(key)))
        return;
    struct dns_svc *s = svc_parse(svc);
    for (char *c = key; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    pthread_rwlock_wrlock(&db->lk);
    struct dns_svc *old = ck_strmap_put(&db->svcs, key, s);
    if (!old)
        nsref_add(db, s->ns, 1);
    db->serial = (uint32_t)time(NULL);
    pthread_rwlock_unlock(&db->lk);
    svc_free(old);
}

void dns_db_service_del(struct dns_db *db, const json_t *svc)
{
    char key[512];
    if (!obj_key(svc, key, sizeof(key)))
        return;
    for (char *c = key; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    pthread_rwlock_wrlock(&db->lk);
    struct dns_svc *old = ck_strmap_del(&db->svcs, key, NULL);
    if (old)
        nsref_add(db, old->ns, -1);
    db->serial = (uint32_t)time(NULL);
    pthread_rwlock_unlock(&db->lk);
    svc_free(old);
}

static struct dns_slice *slice_parse(const json_t *o, const char *key)
{
    struct dns_slice *s = ck_calloc(1, sizeof(*s));
    s->key = ck_strdup(key);
    const char *svc = json_string_value(
        json_object_get(k8s_jpath(o, "metadata.labels"), "kubernetes.io/service-name"));
    const char *ns = k8s_jpath_str(o, "metadata.namespace");
    if (svc && *svc) {
        s->svc_key = ck_asprintf("%s/%s", *ns ? ns : "default", svc);
        for (char *c = s->svc_key; *c; c++)
            *c = (char)tolower((unsigned char)*c);
    }
    bool fqdn = !strcmp(k8s_jpath_str(o, "addressType"), "FQDN");
    const json_t *eps = k8s_jpath(o, "endpoints");
    s->eps = ck_calloc(k8s_jlen(eps) ? k8s_jlen(eps) : 1, sizeof(*s->eps));
    for (size_t i = 0; i < k8s_jlen(eps) && !fqdn; i++) {
        const json_t *e = json_array_get(eps, i);
        struct dns_ep *ep = &s->eps[s->neps++];
        const json_t *addrs = json_object_get(e, "addresses");
        for (size_t j = 0; j < k8s_jlen(addrs); j++)
            if (json_string_value(json_array_get(addrs, j)))
                dns_strv_push(&ep->addrs, json_string_value(json_array_get(addrs, j)));
        const char *h = k8s_jpath_str(e, "hostname");
        ep->hostname = *h ? lower_dup(h) : NULL;
        const json_t *ready = k8s_jpath(e, "conditions.ready");
        ep->ready = !ready || json_is_true(ready);
    }
    s->ports = ports_parse(k8s_jpath(o, "ports"), &s->nports);
    return s;
}

static void group_remove(struct dns_db *db, struct dns_slice *s)
{
    if (!s || !s->svc_key)
        return;
    struct dns_group *g = ck_strmap_get(&db->groups, s->svc_key, NULL);
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++)
        if (g->v[i] == s) {
            g->v[i] = g->v[--g->n];
            break;
        }
    if (!g->n) {
        ck_strmap_del(&db->groups, s->svc_key, NULL);
        free(g->v);
        free(g);
    }
}

static void group_add(struct dns_db *db, struct dns_slice *s)
{
    if (!s->svc_key)
        return;
    struct dns_group *g = ck_strmap_get(&db->groups, s->svc_key, NULL);
    if (!g) {
        g = ck_calloc(1, sizeof(*g));
        ck_strmap_put(&db->groups, s->svc_key, g);
    }
    g->v = ck_realloc(g->v, (g->n + 1) * sizeof(*g->v));
    g->v[g->n++] = s;
}

void dns_db_slice_set(struct dns_db *db, const json_t *slice)
{
    char key[512];
    if (!obj_key(slice, key, sizeof(key)))
        return;
    struct dns_slice *s = slice_parse(slice, key);
    pthread_rwlock_wrlock(&db->lk);
    struct dns_slice *old = ck_strmap_put(&db->slices, key, s);
    group_remove(db, old);
    group_add(db, s);
    db->serial = (uint32_t)time(NULL);
    pthread_rwlock_unlock(&db->lk);
    slice_free(old);
}

void dns_db_slice_del(struct dns_db *db, const json_t *slice)
{
    char key[512];
    if (!obj_key(slice, key, sizeof(key)))
        return;
    pthread_rwlock_wrlock(&db->lk);
    struct dns_slice *old = ck_strmap_del(&db->slices, key, NULL);
    group_remove(db, old);
    db->serial = (uint32_t)time(NULL);
    pthread_rwlock_unlock(&db->lk);
    slice_free(old);
}

size_t dns_db_nservices(struct dns_db *db)
{
    pthread_rwlock_rdlock(&db->lk);
    size_t n = db->svcs.len;
    pthread_rwlock_unlock(&db->lk);
    return n;
}

void dns_db_free(struct dns_db *db)
{
    if (!db)
        return;
    const char *k;
    void *v;
    for (size_t i = 0; ck_strmap_next(&db->svcs, &i, &k, &v);)
        svc_free(v);
    for (size_t i = 0; ck_strmap_next(&db->slices, &i, &k, &v);)
        slice_free(v);
    for (size_t i = 0; ck_strmap_next(&db->groups, &i, &k, &v);) {
        free(((struct dns_group *)v)->v);
        free(v);
    }
    ck_strmap_release(&db->svcs);
    ck_strmap_release(&db->slices);
    ck_strmap_release(&db->groups);
    ck_strmap_release(&db->nsref);
    pthread_rwlock_destroy(&db->lk);
    free(db->domain);
    free(db);
}

const struct dns_svc *dns_db_svc(const struct dns_db *db, const char *ns, const char *name)
{
    char key[512];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    return ck_strmap_get(&db->svcs, key, NULL);
}

const struct dns_group *dns_db_group(const struct dns_db *db, const char *ns, const char *name)
{
    char key[512];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    return ck_strmap_get(&db->groups, key, NULL);
}

bool dns_db_ns_exists(const struct dns_db *db, const char *ns)
{
    bool found = false;
    ck_strmap_get(&db->nsref, ns, &found);
    return found;
}

bool dns_ep_visible(const struct dns_svc *svc, const struct dns_ep *ep)
{
    return ep->ready || (svc && svc->publish_not_ready);
}

void dns_ep_label(const struct dns_ep *ep, const char *addr, char *out, size_t n)
{
    if (ep->hostname) {
        snprintf(out, n, "%s", ep->hostname);
        return;
    }
    snprintf(out, n, "%s", addr);
    for (char *c = out; *c; c++)
        if (*c == '.' || *c == ':')
            *c = '-';
        else
            *c = (char)tolower((unsigned char)*c);
}
