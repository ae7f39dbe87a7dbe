/* SPDX-License-Identifier: Apache-2.0 */
/* Request attributes from method, path and query, as k8s.io/apiserver's RequestInfoFactory
 * (pkg/endpoints/request/requestinfo.go). */
#include "apiserver/authz/authz.h"
#include "lib/buf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/banned.h"

#define MAX_PARTS 16

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The first value of query parameter name, percent- and '+'-decoded (malloc'd), or NULL. */
static char *query_value(const char *q, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = q; p && *p;) {
        const char *e = strchr(p, '&');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > nl && !strncmp(p, name, nl) && p[nl] == '=') {
            char *out = ck_malloc(len - nl);
            size_t o = 0;
            for (size_t i = nl + 1; i < len; i++) {
                int h, l;
                if (p[i] == '%' && i + 2 < len && (h = hexval(p[i + 1])) >= 0 &&
                    (l = hexval(p[i + 2])) >= 0) {
                    out[o++] = (char)(h * 16 + l);
                    i += 2;
                } else {
                    out[o++] = p[i] == '+' ? ' ' : p[i];
                }
            }
            out[o] = '\0';
            return out;
        }
        p = e ? e + 1 : NULL;
    }
    return NULL;
}

static bool truthy(const char *v)
{
    return v && (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcmp(v, "t"));
}

/* fieldSelector requiring metadata.name exactly (one term "metadata.name=x" or "==x"). */
static char *name_from_selector(const char *q)
{
    char *fs = query_value(q, "fieldSelector");
    char *name = NULL;
    if (!fs)
        return NULL;
    static const char key[] = "metadata.name";
    const char *p = fs;
    while (*p == ' ')
        p++;
    if (!strncmp(p, key, sizeof(key) - 1)) {
        p += sizeof(key) - 1;
        while (*p == ' ')
            p++;
        if (p[0] == '=' && p[1] == '=')
            p += 2;
        else if (p[0] == '=')
            p += 1;
        else
            p = NULL;
        if (p) {
            while (*p == ' ')
                p++;
            size_t n = strcspn(p, ", ");
            /* IsValidPathSegmentName: not ".", "..", no '/' or '%' */
            if (n && p[n] == '\0' && strcmp(p, ".") && strcmp(p, "..") && !strpbrk(p, "/%"))
                name = ck_strndup(p, n);
        }
    }
    free(fs);
    return name;
}

static void set(char **dst, const char *s, size_t n)
{
    free(*dst);
    *dst = ck_strndup(s, n);
}

void authz_attrs_from_request(const char *method, const char *path, const char *query,
                              struct authz_attrs *a)
{
    const char *part[MAX_PARTS];
    size_t plen[MAX_PARTS], n = 0;

    memset(a, 0, sizeof(*a));
    a->path = ck_strdup(path);
    a->group = ck_strdup("");
    a->version = ck_strdup("");
    a->resource = ck_strdup("");
    a->subresource = ck_strdup("");
    a->ns = ck_strdup("");
    a->name = ck_strdup("");
    a->verb = ck_strdup(method);
    for (char *c = a->verb; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    /* splitPath: trim '/' on both ends, split on '/' */
    for (const char *p = path; *p && n < MAX_PARTS;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        part[n] = p;
        plen[n++] = len;
        p += len;
    }
#define IS(i, s) (plen[i] == strlen(s) && !strncmp(part[i], s, plen[i]))
    size_t i = 0;
    if (n < 3 || !(IS(0, "api") || IS(0, "apis")))
        return; /* a non-resource request */
    bool groupless = IS(0, "api");
    i = 1;
    if (!groupless) {
        if (n - i < 3)
            return;
        set(&a->group, part[i], plen[i]);
        i++;
    }
    a->resource_request = true;
    set(&a->version, part[i], plen[i]);
    i++;
    const char *verb = NULL;
    if (IS(i, "watch") || IS(i, "proxy")) {
        if (n - i < 2) {
            free(a->verb);
            a->verb = ck_strndup(part[i], plen[i]);
            return; /* upstream: an error, which it answers as a 500 */
        }
        verb = IS(i, "watch") ? "watch" : "proxy";
        i++;
    } else if (!strcmp(method, "POST")) {
        verb = "create";
    } else if (!strcmp(method, "GET") || !strcmp(method, "HEAD")) {
        verb = "get";
    } else if (!strcmp(method, "PUT")) {
        verb = "update";
    } else if (!strcmp(method, "PATCH")) {
        verb = "patch";
    } else if (!strcmp(method, "DELETE")) {
        verb = "delete";
    } else {
        verb = "";
    }
    free(a->verb);
    a->verb = ck_strdup(verb);
    if (IS(i, "namespaces")) {
        if (n - i > 1) {
            set(&a->ns, part[i + 1], plen[i + 1]);
            if (n - i > 2 && !IS(i + 2, "status") && !IS(i + 2, "finalize"))
                i += 2;
        }
    }
    size_t np = n - i;
    if (np >= 3 && strcmp(a->verb, "proxy") != 0)
        set(&a->subresource, part[i + 2], plen[i + 2]);
    if (np >= 2)
        set(&a->name, part[i + 1], plen[i + 1]);
    if (np >= 1)
        set(&a->resource, part[i], plen[i]);
#undef IS
    if (!*a->name && !strcmp(a->verb, "get")) {
        char *w = query ? query_value(query, "watch") : NULL;
        free(a->verb);
        a->verb = ck_strdup(truthy(w) ? "watch" : "list");
        free(w);
        char *nm = query ? name_from_selector(query) : NULL;
        if (nm) {
            free(a->name);
            a->name = nm;
        }
    }
    if (!*a->name && !strcmp(a->verb, "delete")) {
        free(a->verb);
        a->verb = ck_strdup("deletecollection");
    }
}

void authz_attrs_release(struct authz_attrs *a)
{
    free(a->verb);
    free(a->path);
    free(a->group);
    free(a->version);
    free(a->resource);
    free(a->subresource);
    free(a->ns);
    free(a->name);
    memset(a, 0, sizeof(*a));
}

struct rbac_attrs authz_rbac_attrs(const struct authz_attrs *a, const char *user,
                                   const char *const *groups)
{
    return (struct rbac_attrs){.user = user,
                               .groups = groups,
                               .verb = a->verb,
                               .resource_request = a->resource_request,
                               .api_group = a->group,
                               .resource = a->resource,
                               .subresource = a->subresource,
                               .ns = a->ns,
                               .name = a->name,
                               .path = a->path};
}
