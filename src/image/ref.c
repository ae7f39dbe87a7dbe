/* SPDX-License-Identifier: Apache-2.0 */
/* Image references: parsing and docker.io normalisation, following the grammar of
 * distribution/reference (domain/path[:tag][@digest]). Only sha256 digests are accepted. */
#include "image/image_int.h"

#include <ctype.h>
#include <string.h>

#include "lib/banned.h"

#define REF_NAME_MAX 255
#define REF_TAG_MAX 128

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)* */
static bool path_component_ok(const char *p, size_t n)
{
    size_t i = 0;
    if (n == 0 || !is_lower_alnum(p[0]) || !is_lower_alnum(p[n - 1]))
        return false;
    while (i < n) {
        if (is_lower_alnum(p[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && !is_lower_alnum(p[j]))
            j++;
        size_t sl = j - i;
        bool ok = (sl == 1 && (p[i] == '.' || p[i] == '_' || p[i] == '-')) ||
                  (sl == 2 && p[i] == '_' && p[i + 1] == '_');
        if (!ok) {
            ok = true;
            for (size_t k = i; k < j; k++)
                ok = ok && p[k] == '-';
        }
        if (!ok)
            return false;
        i = j;
    }
    return true;
}

static bool path_ok(const char *p)
{
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (!path_component_ok(p, n))
            return false;
        if (!slash)
            return true;
        p = slash + 1;
    }
}

/* host[:port] where host is dot-separated [A-Za-z0-9-] labels, or [ipv6]. */
static bool domain_ok(const char *d)
{
    const char *port = NULL;
    if (d[0] == '[') {
        const char *e = strchr(d, ']');
        if (!e || e == d + 1)
            return false;
        for (const char *q = d + 1; q < e; q++)
            if (!isxdigit((unsigned char)*q) && *q != ':')
                return false;
        if (e[1] == 0)
            return true;
        if (e[1] != ':')
            return false;
        port = e + 2;
    } else {
        const char *colon = strchr(d, ':');
        size_t hl = colon ? (size_t)(colon - d) : strlen(d);
        if (hl == 0)
            return false;
        size_t lab = 0;
        for (size_t i = 0; i < hl; i++) {
            char c = d[i];
            if (c == '.') {
                if (lab == 0 || d[i - 1] == '-')
                    return false;
                lab = 0;
            } else if (isalnum((unsigned char)c) || (c == '-' && lab > 0)) {
                lab++;
            } else {
                return false;
            }
        }
        if (lab == 0 || d[hl - 1] == '-')
            return false;
        if (!colon)
            return true;
        port = colon + 1;
    }
    if (!*port || strlen(port) > 5)
        return false;
    for (const char *q = port; *q; q++)
        if (!isdigit((unsigned char)*q))
            return false;
    return true;
}

static bool tag_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > REF_TAG_MAX)
        return false;
    if (!(isalnum((unsigned char)t[0]) || t[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
            return false;
    return true;
}

/* Splits name into domain and path with docker's rule. Takes ownership of nothing. */
static void split_domain(const char *name, struct img_ref *r)
{
    const char *slash = strchr(name, '/');
    bool has_domain = false;
    if (slash) {
        size_t n = (size_t)(slash - name);
        has_domain = memchr(name, '.', n) || memchr(name, ':', n) ||
                     (n == 9 && memcmp(name, "localhost", 9) == 0);
        for (size_t i = 0; i < n && !has_domain; i++)
            if (isupper((unsigned char)name[i]))
                has_domain = true;
    }
    if (has_domain) {
        r->domain = ck_strndup(name, (size_t)(slash - name));
        r->path = ck_strdup(slash + 1);
    } else {
        r->domain = ck_strdup("docker.io");
        r->path = ck_strdup(name);
    }
    if (strcmp(r->domain, "index.docker.io") == 0) {
        free(r->domain);
        r->domain = ck_strdup("docker.io");
    }
    if (strcmp(r->domain, "docker.io") == 0 && !strchr(r->path, '/')) {
        char *p = ck_asprintf("library/%s", r->path);
        free(r->path);
        r->path = p;
    }
}

static int parse_fail(struct img_ref *r, struct ck_err *err, const char *s, const char *why)
{
    img_ref_release(r);
    return ck_err_set(err, CK_R_BAD_REQUEST, "invalid image reference \"%.200s\": %s", s, why);
}

int img_ref_parse(const char *s, struct img_ref *r, struct ck_err *err)
{
    memset(r, 0, sizeof(*r));
    if (!s || !*s)
        return parse_fail(r, err, "", "empty");
    if (strlen(s) > 1024)
        return parse_fail(r, err, s, "too long");
    ck_autofree char *name = ck_strdup(s);
    char *at = strchr(name, '@');
    if (at) {
        *at = 0;
        if (!img_digest_valid(at + 1))
            return parse_fail(r, err, s, "digest must be sha256:<64 lower-case hex>");
        r->digest = ck_strdup(at + 1);
    }
    char *lastslash = strrchr(name, '/');
    char *colon = strrchr(lastslash ? lastslash : name, ':');
    if (colon) {
        *colon = 0;
        if (!tag_ok(colon + 1))
            return parse_fail(r, err, s, "invalid tag");
        r->tag = ck_strdup(colon + 1);
    }
    if (!*name)
        return parse_fail(r, err, s, "empty repository name");
    split_domain(name, r);
    if (!domain_ok(r->domain))
        return parse_fail(r, err, s, "invalid registry host");
    if (!path_ok(r->path))
        return parse_fail(r, err, s,
                          "repository name must be lower-case [a-z0-9] components "
                          "separated by '/', '.', '_', '__' or '-'");
    if (strlen(r->domain) + 1 + strlen(r->path) > REF_NAME_MAX)
        return parse_fail(r, err, s, "repository name longer than 255 characters");
    if (!r->tag && !r->digest)
        r->tag = ck_strdup("latest");
    return 0;
}

void img_ref_release(struct img_ref *r)
{
    free(r->domain);
    free(r->path);
    free(r->tag);
    free(r->digest);
    memset(r, 0, sizeof(*r));
}

char *img_ref_name(const struct img_ref *r)
{
    return ck_asprintf("%s/%s", r->domain, r->path);
}

char *img_ref_string(const struct img_ref *r)
{
    if (r->tag)
        return ck_asprintf("%s/%s:%s", r->domain, r->path, r->tag);
    return ck_asprintf("%s/%s@%s", r->domain, r->path, r->digest ? r->digest : "");
}

const char *img_ref_host(const struct img_ref *r)
{
    return strcmp(r->domain, "docker.io") == 0 ? "registry-1.docker.io" : r->domain;
}

bool img_host_is_loopback(const char *host)
{
    size_t n = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":");
    if (n == 9 && strncmp(host, "localhost", 9) == 0)
        return true;
    if (n == 5 && strncmp(host, "[::1]", 5) == 0)
        return true;
    return n >= 4 && strncmp(host, "127.", 4) == 0;
}
