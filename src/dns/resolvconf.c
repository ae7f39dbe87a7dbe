/* SPDX-License-Identifier: Apache-2.0 */
/* Pods' resolv.conf as upstream's kubelet composes it (pkg/kubelet/network/dns/dns.go):
 * parseResolvConf, getPodDNSType, GetPodDNS, appendDNSConfig / mergeDNSOptions and the
 * limits of formDNSConfigFitsLimits (ExpandedDNSConfig, GA: 32 searches, 2048 chars). */
#include "dns/dns.h"
#include "k8s/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define MAX_NAMESERVERS 3
#define MAX_SEARCH_PATHS 32
#define MAX_SEARCH_CHARS 2048
#define MAX_SEARCH_LEN 253 /* DNS1123SubdomainMaxLength */
#define MAX_RESOLV_BYTES (10 << 20)

static void strv_clear(struct dns_strv *s)
{
    dns_strv_release(s);
}

static bool strv_has(const struct dns_strv *s, const char *str)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], str))
            return true;
    return false;
}

/* Appends str unless already present (omitDuplicates over the appended list). */
static void strv_push_unique(struct dns_strv *s, const char *str)
{
    if (!strv_has(s, str))
        dns_strv_push(s, str);
}

void dns_resolv_release(struct dns_resolv *r)
{
    strv_clear(&r->servers);
    strv_clear(&r->searches);
    strv_clear(&r->options);
}

void dns_resolv_parse(const char *text, size_t len, struct dns_resolv *out)
{
    memset(out, 0, sizeof(*out));
    size_t pos = 0;
    while (pos < len) {
        size_t e = pos;
        while (e < len && text[e] != '\n')
            e++;
        char line[4096];
        size_t l = e - pos < sizeof(line) - 1 ? e - pos : sizeof(line) - 1;
        memcpy(line, text + pos, l);
        line[l] = '\0';
        pos = e + 1;
        char *fields[256];
        size_t nf = 0;
        for (char *p = line; *p && nf < 256;) {
            while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\f' || *p == '\v')
                p++;
            if (!*p)
                break;
            fields[nf++] = p;
            while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\f' && *p != '\v')
                p++;
            if (*p)
                *p++ = '\0';
        }
        if (!nf || fields[0][0] == '#')
            continue;
        if (!strcmp(fields[0], "nameserver") && nf >= 2) {
            dns_strv_push(&out->servers, fields[1]);
        } else if (!strcmp(fields[0], "search")) {
            strv_clear(&out->searches); /* the last line wins */
            for (size_t i = 1; i < nf; i++) {
                size_t fl = strlen(fields[i]);
                if (fl && fields[i][fl - 1] == '.')
                    fields[i][fl - 1] = '\0';
                dns_strv_push(&out->searches, fields[i]);
            }
        } else if (!strcmp(fields[0], "options")) {
            strv_clear(&out->options);
            for (size_t i = 1; i < nf; i++)
                dns_strv_push(&out->options, fields[i]);
        }
    }
}

int dns_resolv_load(const char *path, struct dns_resolv *out)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    struct ck_buf b = CK_BUF_INIT(MAX_RESOLV_BYTES);
    char tmp[4096];
    size_t k;
    while ((k = fread(tmp, 1, sizeof(tmp), f)) > 0 && ck_buf_append(&b, tmp, k) == 0)
        ;
    fclose(f);
    dns_resolv_parse(b.data ? b.data : "", b.len, out);
    ck_buf_release(&b);
    return 0;
}

static void strv_copy(struct dns_strv *dst, const struct dns_strv *src)
{
    for (size_t i = 0; src && i < src->n; i++)
        dns_strv_push(dst, src->v[i]);
}

/* mergeDNSOptions: "name[:value]" entries; pod options override by name. Upstream's order is
 * a Go map's (random); ours keeps first appearance. */
static void merge_option(struct dns_strv *opts, const char *name, const char *value)
{
    size_t nl = strlen(name);
    char *nv = value && *value ? ck_asprintf("%s:%s", name, value) : ck_strdup(name);
    for (size_t i = 0; i < opts->n; i++) {
        const char *o = opts->v[i];
        if (!strncmp(o, name, nl) && (o[nl] == '\0' || o[nl] == ':')) {
            free(opts->v[i]);
            opts->v[i] = nv;
            return;
        }
    }
    opts->v = ck_realloc(opts->v, (opts->n + 1) * sizeof(*opts->v));
    opts->v[opts->n++] = nv;
}

static void warnf(char *warn, size_t n, const char *what, const struct dns_strv *s)
{
    if (!warn || !n || *warn)
        return;
    size_t off = (size_t)snprintf(warn, n, "%s", what);
    for (size_t i = 0; i < s->n && off < n; i++)
        off += (size_t)snprintf(warn + off, n - off, "%s%s", i ? " " : "", s->v[i]);
}

static void fit_limits(struct dns_resolv *r, char *warn, size_t nwarn)
{
    if (r->servers.n > MAX_NAMESERVERS) {
        while (r->servers.n > MAX_NAMESERVERS)
            free(r->servers.v[--r->servers.n]);
        warnf(warn, nwarn,
              "Nameserver limits were exceeded, some nameservers have been omitted, the "
              "applied nameserver line is: ",
              &r->servers);
    }
    bool exceeded = false;
    struct dns_strv *s = &r->searches;
    if (s->n > MAX_SEARCH_PATHS) {
        while (s->n > MAX_SEARCH_PATHS)
            free(s->v[--s->n]);
        exceeded = true;
    }
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (strlen(s->v[i]) > MAX_SEARCH_LEN) {
            free(s->v[i]);
            exceeded = true;
            continue;
        }
        s->v[w++] = s->v[i];
    }
    s->n = w;
    size_t total = 0;
    for (size_t i = 0; i < s->n; i++)
        total += strlen(s->v[i]) + (i ? 1 : 0);
    if (total > MAX_SEARCH_CHARS) {
        size_t cut = 0;
        while (s->n > 0 && total - cut > MAX_SEARCH_CHARS) {
            cut += strlen(s->v[s->n - 1]) + 1;
            free(s->v[--s->n]);
        }
        exceeded = true;
    }
    if (exceeded)
        warnf(warn, nwarn,
              "Search Line limits were exceeded, some search paths have been omitted, the "
              "applied search line is: ",
              s);
}

void dns_pod_config(const json_t *pod, const struct dns_pod_params *p, struct dns_resolv *out,
                    char *warn, size_t nwarn)
{
    memset(out, 0, sizeof(*out));
    if (warn && nwarn)
        warn[0] = '\0';
    if (p->host) {
        strv_copy(&out->servers, &p->host->servers);
        strv_copy(&out->searches, &p->host->searches);
        strv_copy(&out->options, &p->host->options);
    }
    const char *policy = k8s_jpath_str(pod, "spec.dnsPolicy");
    bool host_net = json_is_true(k8s_jpath(pod, "spec.hostNetwork"));
    enum { CLUSTER, HOST, NONE } type = CLUSTER;
    if (!strcmp(policy, "None"))
        type = NONE;
    else if (!strcmp(policy, "Default") || (!strcmp(policy, "ClusterFirst") && host_net))
        type = HOST;
    if (type == NONE) {
        dns_resolv_release(out);
    } else if (type == CLUSTER && p->cluster_dns && *p->cluster_dns) {
        strv_clear(&out->servers);
        char *list = ck_strdup(p->cluster_dns), *save = NULL;
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
            if (*t)
                dns_strv_push(&out->servers, t);
        free(list);
        const char *dom = p->cluster_domain;
        if (dom && *dom) {
            struct dns_strv s = {0};
            const char *ns = k8s_jpath_str(pod, "metadata.namespace");
            char *a = ck_asprintf("%s.svc.%s", *ns ? ns : "default", dom);
            char *b = ck_asprintf("svc.%s", dom);
            strv_push_unique(&s, a);
            strv_push_unique(&s, b);
            strv_push_unique(&s, dom);
            free(a);
            free(b);
            for (size_t i = 0; i < out->searches.n; i++)
                strv_push_unique(&s, out->searches.v[i]);
            strv_clear(&out->searches);
            out->searches = s;
        }
        strv_clear(&out->options);
        dns_strv_push(&out->options, "ndots:5");
    } else {
        if (type == CLUSTER && warn && nwarn)
            snprintf(warn, nwarn,
                     "kubelet does not have ClusterDNS IP configured and cannot create Pod "
                     "using \"ClusterFirst\" policy. Falling back to \"Default\" policy.");
        if (!p->host) { /* --resolv-conf="": the local resolver, no search */
            dns_strv_push(&out->servers, "127.0.0.1");
            dns_strv_push(&out->searches, ".");
        }
    }
    const json_t *dc = k8s_jpath(pod, "spec.dnsConfig");
    if (json_is_object(dc)) {
        const json_t *a = json_object_get(dc, "nameservers");
        for (size_t i = 0; i < k8s_jlen(a); i++)
            if (json_string_value(json_array_get(a, i)))
                strv_push_unique(&out->servers, json_string_value(json_array_get(a, i)));
        a = json_object_get(dc, "searches");
        for (size_t i = 0; i < k8s_jlen(a); i++)
            if (json_string_value(json_array_get(a, i)))
                strv_push_unique(&out->searches, json_string_value(json_array_get(a, i)));
        /* existing duplicates are folded too (omitDuplicates over the whole list) */
        struct dns_strv u = {0};
        for (size_t i = 0; i < out->servers.n; i++)
            strv_push_unique(&u, out->servers.v[i]);
        strv_clear(&out->servers);
        out->servers = u;
        memset(&u, 0, sizeof(u));
        for (size_t i = 0; i < out->searches.n; i++)
            strv_push_unique(&u, out->searches.v[i]);
        strv_clear(&out->searches);
        out->searches = u;
        /* mergeDNSOptions re-reads the existing ones as name:value */
        struct dns_strv o = {0};
        for (size_t i = 0; i < out->options.n; i++) {
            char *c = ck_strdup(out->options.v[i]), *colon = strchr(c, ':');
            if (colon)
                *colon++ = '\0';
            merge_option(&o, c, colon ? colon : "");
            free(c);
        }
        a = json_object_get(dc, "options");
        for (size_t i = 0; i < k8s_jlen(a); i++) {
            const json_t *op = json_array_get(a, i);
            const char *name = json_string_value(json_object_get(op, "name"));
            if (name)
                merge_option(&o, name, json_string_value(json_object_get(op, "value")));
        }
        strv_clear(&out->options);
        out->options = o;
    }
    fit_limits(out, warn, nwarn);
}

void dns_resolv_format(const struct dns_resolv *r, struct ck_buf *out)
{
    for (size_t i = 0; i < r->servers.n; i++)
        ck_buf_appendf(out, "nameserver %s\n", r->servers.v[i]);
    if (r->searches.n) {
        ck_buf_appends(out, "search");
        for (size_t i = 0; i < r->searches.n; i++)
            ck_buf_appendf(out, " %s", r->searches.v[i]);
        ck_buf_appendc(out, '\n');
    }
    if (r->options.n) {
        ck_buf_appends(out, "options");
        for (size_t i = 0; i < r->options.n; i++)
            ck_buf_appendf(out, " %s", r->options.v[i]);
        ck_buf_appendc(out, '\n');
    }
}
