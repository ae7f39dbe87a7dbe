/* SPDX-License-Identifier: Apache-2.0 */
/* The registries file (k3s's registries.yaml, from which k3s writes containerd's hosts.toml):
 *   mirrors: {HOST: {endpoint: [URL, ...], rewrite: {REGEX: REPLACEMENT}}}   HOST "*" for
 *            every registry without an entry; rewrites change the repository path at mirrors
 *   configs: {HOST: {tls: {insecure_skip_verify, ca_file, cert_file, key_file},
 *                    auth: {username, password, auth}}}
 * img_registries_plan turns a reference into the endpoints a pull tries, in order: the
 * mirror endpoints, then the registry's own (default) endpoint, as containerd does. Endpoint
 * URLs follow k3s's normalisation: no scheme means https (http for a loopback host with a
 * port other than 443); a path other than "", "/" or "/v2" replaces "/v2" (override_path). */
#include "image/image_int.h"

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/base64.h"
#include "lib/log.h"
#include "lib/yamljson.h"
#include "lib/banned.h"

#define REGISTRIES_MAX (1u << 20) /* the file; far beyond any real one */
#define ENDPOINTS_MAX 64          /* per mirror */
#define REWRITES_MAX 64           /* per mirror */
#define REPO_MAX 4096             /* a rewritten repository path */

struct reg_cfg {
    char *host;
    bool insecure_skip_verify;
    char *ca_file, *cert_file, *key_file;
    char *username, *password;
};

struct reg_rewrite {
    char *replace; /* Go's Expand syntax: $1, ${1}, $$ */
    regex_t re;    /* POSIX extended: Go's RE2 syntax for the common patterns */
};

struct reg_mirror {
    char *host;
    char **endpoints; /* as written */
    size_t nendpoints;
    struct reg_rewrite *rewrites; /* k3s: applied to the repository path at mirror endpoints */
    size_t nrewrites;
};

struct img_registries {
    struct reg_mirror *mirrors;
    size_t nmirrors;
    struct reg_cfg *configs;
    size_t nconfigs;
};

void img_registries_free(struct img_registries *rc)
{
    if (!rc)
        return;
    for (size_t i = 0; i < rc->nmirrors; i++) {
        free(rc->mirrors[i].host);
        for (size_t j = 0; j < rc->mirrors[i].nendpoints; j++)
            free(rc->mirrors[i].endpoints[j]);
        free(rc->mirrors[i].endpoints);
        for (size_t j = 0; j < rc->mirrors[i].nrewrites; j++) {
            regfree(&rc->mirrors[i].rewrites[j].re);
            free(rc->mirrors[i].rewrites[j].replace);
        }
        free(rc->mirrors[i].rewrites);
    }
    for (size_t i = 0; i < rc->nconfigs; i++) {
        struct reg_cfg *c = &rc->configs[i];
        free(c->host);
        free(c->ca_file);
        free(c->cert_file);
        free(c->key_file);
        free(c->username);
        free(c->password);
    }
    free(rc->mirrors);
    free(rc->configs);
    free(rc);
}

/* ---- parsing ----------------------------------------------------------------------------- */

/* A string member (absent or null: *out stays NULL). */
static int opt_str(const json_t *o, const char *key, const char *where, char **out,
                   struct ck_err *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return ck_err_set(err, CK_R_BAD_REQUEST, "%s.%s: a string expected", where, key);
    free(*out);
    *out = ck_strdup(json_string_value(v));
    return 0;
}

static int parse_tls(const json_t *tls, const char *where, struct reg_cfg *c, struct ck_err *err)
{
    if (!tls || json_is_null(tls))
        return 0;
    if (!json_is_object(tls))
        return ck_err_set(err, CK_R_BAD_REQUEST, "%s: a mapping expected", where);
    const json_t *skip = json_object_get(tls, "insecure_skip_verify");
    if (skip && !json_is_null(skip) && !json_is_boolean(skip))
        return ck_err_set(err, CK_R_BAD_REQUEST, "%s.insecure_skip_verify: true or false expected",
                          where);
    c->insecure_skip_verify = json_is_true(skip);
    if (opt_str(tls, "ca_file", where, &c->ca_file, err) < 0 ||
        opt_str(tls, "cert_file", where, &c->cert_file, err) < 0 ||
        opt_str(tls, "key_file", where, &c->key_file, err) < 0)
        return -1;
    if (!c->cert_file != !c->key_file)
        return ck_err_set(err, CK_R_BAD_REQUEST, "%s: cert_file and key_file go together", where);
    return 0;
}

/* auth: username + password, or auth (base64 "user:password", as in a docker config). */
static int parse_auth(const json_t *a, const char *where, struct reg_cfg *c, struct ck_err *err)
{
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_object(a))
        return ck_err_set(err, CK_R_BAD_REQUEST, "%s: a mapping expected", where);
    char *b64 = NULL;
    if (opt_str(a, "username", where, &c->username, err) < 0 ||
        opt_str(a, "password", where, &c->password, err) < 0 ||
        opt_str(a, "auth", where, &b64, err) < 0)
        return -1;
    if (b64 && *b64) {
        size_t n = 0;
        char *dec = ck_base64_decode(b64, strlen(b64), &n);
        char *colon = dec ? memchr(dec, ':', n) : NULL;
        free(b64);
        if (!colon || memchr(dec, 0, n)) {
            free(dec);
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "%s.auth: base64 of \"username:password\" expected", where);
        }
        free(c->username);
        free(c->password);
        c->username = ck_strndup(dec, (size_t)(colon - dec));
        c->password = ck_strndup(colon + 1, n - (size_t)(colon - dec) - 1);
        free(dec);
    } else {
        free(b64);
    }
    if (json_object_get(a, "identitytoken") || json_object_get(a, "identity_token"))
        ck_warn("registries file: %s: identity tokens are not supported; ignored", where);
    return 0;
}

static int parse_configs(const json_t *cfgs, struct img_registries *rc, struct ck_err *err)
{
    if (!cfgs || json_is_null(cfgs))
        return 0;
    if (!json_is_object(cfgs))
        return ck_err_set(err, CK_R_BAD_REQUEST, "configs: a mapping of registry hosts expected");
    rc->configs = ck_calloc(json_object_size(cfgs) + 1, sizeof(*rc->configs));
    const char *host;
    const json_t *v;
    json_object_foreach((json_t *)cfgs, host, v)
    {
        struct reg_cfg *c = &rc->configs[rc->nconfigs++];
        c->host = ck_strdup(host);
        char where[300];
        if (!json_is_object(v) && !json_is_null(v))
            return ck_err_set(err, CK_R_BAD_REQUEST, "configs[\"%.200s\"]: a mapping expected",
                              host);
        snprintf(where, sizeof(where), "configs[\"%.200s\"].tls", host);
        if (parse_tls(json_object_get(v, "tls"), where, c, err) < 0)
            return -1;
        snprintf(where, sizeof(where), "configs[\"%.200s\"].auth", host);
        if (parse_auth(json_object_get(v, "auth"), where, c, err) < 0)
            return -1;
    }
    return 0;
}

/* rewrite: {PATTERN: REPLACEMENT, ...}, tried in file order. */
static int parse_rewrites(const json_t *rw, struct reg_mirror *m, struct ck_err *err)
{
    if (!rw || json_is_null(rw))
        return 0;
    if (!json_is_object(rw) || json_object_size(rw) > REWRITES_MAX)
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "mirrors[\"%.200s\"].rewrite: a mapping of at most %d patterns expected",
                          m->host, REWRITES_MAX);
    m->rewrites = ck_calloc(json_object_size(rw) + 1, sizeof(*m->rewrites));
    const char *pat;
    const json_t *v;
    json_object_foreach((json_t *)rw, pat, v)
    {
        if (!json_is_string(v))
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "mirrors[\"%.200s\"].rewrite[\"%.200s\"]: a string expected", m->host,
                              pat);
        struct reg_rewrite *w = &m->rewrites[m->nrewrites];
        if (strlen(pat) > 1024 || regcomp(&w->re, pat, REG_EXTENDED) != 0)
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "mirrors[\"%.200s\"].rewrite: invalid pattern \"%.200s\"", m->host,
                              pat);
        w->replace = ck_strdup(json_string_value(v));
        m->nrewrites++;
    }
    return 0;
}

static int parse_mirrors(const json_t *ms, struct img_registries *rc, struct ck_err *err)
{
    if (!ms || json_is_null(ms))
        return 0;
    if (!json_is_object(ms))
        return ck_err_set(err, CK_R_BAD_REQUEST, "mirrors: a mapping of registry hosts expected");
    rc->mirrors = ck_calloc(json_object_size(ms) + 1, sizeof(*rc->mirrors));
    const char *host;
    const json_t *v;
    json_object_foreach((json_t *)ms, host, v)
    {
        struct reg_mirror *m = &rc->mirrors[rc->nmirrors++];
        m->host = ck_strdup(host);
        const json_t *eps = json_object_get(v, "endpoint");
        if (!json_is_object(v) && !json_is_null(v))
            return ck_err_set(err, CK_R_BAD_REQUEST, "mirrors[\"%.200s\"]: a mapping expected",
                              host);
        if (eps && !json_is_null(eps) && !json_is_array(eps))
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "mirrors[\"%.200s\"].endpoint: a list of URLs expected", host);
        if (json_array_size(eps) > ENDPOINTS_MAX)
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "mirrors[\"%.200s\"].endpoint: more than %d endpoints", host,
                              ENDPOINTS_MAX);
        m->endpoints = ck_calloc(json_array_size(eps) + 1, sizeof(char *));
        for (size_t i = 0; i < json_array_size(eps); i++) {
            const char *s = json_string_value(json_array_get(eps, i));
            if (!s)
                return ck_err_set(err, CK_R_BAD_REQUEST,
                                  "mirrors[\"%.200s\"].endpoint[%zu]: a string expected", host, i);
            m->endpoints[m->nendpoints++] = ck_strdup(s);
        }
        if (parse_rewrites(json_object_get(v, "rewrite"), m, err) < 0)
            return -1;
    }
    return 0;
}

int img_registries_parse(const char *text, size_t len, struct img_registries **out,
                         struct ck_err *err)
{
    *out = NULL;
    if (len > REGISTRIES_MAX)
        return ck_err_set(err, CK_R_TOO_LARGE, "registries file larger than %u bytes",
                          REGISTRIES_MAX);
    json_t *j = NULL;
    if (yaml_to_json(text, len, &j, err) < 0)
        return -1;
    struct img_registries *rc = ck_calloc(1, sizeof(*rc));
    int rc_ = 0;
    if (j && !json_is_null(j) && !json_is_object(j))
        rc_ = ck_err_set(err, CK_R_BAD_REQUEST, "registries file: a mapping expected");
    if (rc_ == 0)
        rc_ = parse_mirrors(json_object_get(j, "mirrors"), rc, err);
    if (rc_ == 0)
        rc_ = parse_configs(json_object_get(j, "configs"), rc, err);
    json_decref(j);
    if (rc_ < 0) {
        img_registries_free(rc);
        return -1;
    }
    *out = rc;
    return 0;
}

int img_registries_load(const char *path, bool must_exist, struct img_registries **out,
                        struct ck_err *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT && !must_exist)
            return 0;
        return ck_err_sys(err, errno, "registries file %s", path);
    }
    struct ck_buf b = CK_BUF_INIT(REGISTRIES_MAX);
    char chunk[8192];
    ssize_t n;
    int rc = 0;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        if (ck_buf_append(&b, chunk, (size_t)n) < 0) {
            rc = ck_err_set(err, CK_R_TOO_LARGE, "registries file %s: larger than %u bytes", path,
                            REGISTRIES_MAX);
            break;
        }
    if (n < 0 && rc == 0)
        rc = ck_err_sys(err, errno, "read %s", path);
    close(fd);
    if (rc == 0 && img_registries_parse(b.data ? b.data : "", b.len, out, err) < 0)
        rc = ck_err_wrap(err, "registries file %s", path);
    ck_buf_release(&b);
    return rc;
}

/* ---- endpoints --------------------------------------------------------------------------- */

/* containerd's DefaultHost: docker.io is served by registry-1.docker.io. */
static const char *default_host(const char *h)
{
    return strcmp(h, "docker.io") == 0 ? "registry-1.docker.io" : h;
}

static const struct reg_cfg *config_for(const struct img_registries *rc, const char *registry)
{
    const struct reg_cfg *star = NULL;
    for (int pass = 0; rc && pass < 2; pass++) {
        const char *want = pass == 0 ? default_host(registry) : registry;
        for (size_t i = 0; i < rc->nconfigs; i++)
            if (!strcmp(rc->configs[i].host, want))
                return &rc->configs[i];
    }
    for (size_t i = 0; rc && i < rc->nconfigs; i++)
        if (!strcmp(rc->configs[i].host, "*"))
            star = &rc->configs[i];
    return star;
}

static bool hostport_ok(const char *h, size_t n)
{
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)h[i];
        if (ch <= ' ' || ch >= 127 || strchr("@?#\\\"'", ch))
            return false;
    }
    return true;
}

/* Parses endpoint URL s into ep->base, ep->registry and ep->http. -1 if it is no URL. */
static int parse_endpoint(const char *s, struct img_endpoint *ep)
{
    const char *scheme = NULL, *rest = s;
    size_t slen = 0;
    const char *sep = strstr(s, "://");
    if (sep) {
        scheme = s;
        slen = (size_t)(sep - s);
        rest = sep + 3;
        if (!((slen == 4 && !strncasecmp(s, "http", 4)) ||
              (slen == 5 && !strncasecmp(s, "https", 5))))
            return -1;
    }
    size_t hn = strcspn(rest, "/");
    if (!hostport_ok(rest, hn))
        return -1;
    char *host = ck_strndup(rest, hn);
    const char *path = rest + hn;
    size_t pn = strlen(path);
    while (pn && path[pn - 1] == '/')
        pn--;
    for (size_t i = 0; i < pn; i++)
        if ((unsigned char)path[i] <= ' ' || strchr("?#", path[i])) {
            free(host);
            return -1;
        }
    const char *colon = host[0] == '[' ? strstr(host, "]:") : strrchr(host, ':');
    const char *port = colon ? colon + (host[0] == '[' ? 2 : 1) : "";
    if (scheme)
        ep->http = slen == 4;
    else /* containerd: a loopback host on a port other than 443 defaults to http */
        ep->http = img_host_is_loopback(host) && *port && strcmp(port, "443") != 0;
    bool std_path = pn == 0 || (pn == 3 && !strncmp(path, "/v2", 3));
    ep->base = ck_asprintf("%s://%s%.*s", ep->http ? "http" : "https", default_host(host),
                           std_path ? 3 : (int)pn, std_path ? "/v2" : path);
    ep->registry = strcmp(host, "registry-1.docker.io") == 0 ? ck_strdup("docker.io") : host;
    if (ep->registry != host)
        free(host);
    return 0;
}

static void apply_config(struct img_endpoint *ep, const struct reg_cfg *c)
{
    if (!c)
        return;
    ep->insecure_skip_verify = c->insecure_skip_verify;
    ep->ca_file = c->ca_file ? ck_strdup(c->ca_file) : NULL;
    ep->cert_file = c->cert_file ? ck_strdup(c->cert_file) : NULL;
    ep->key_file = c->key_file ? ck_strdup(c->key_file) : NULL;
    ep->username = c->username ? ck_strdup(c->username) : NULL;
    ep->password = c->password ? ck_strdup(c->password) : NULL;
}

static void endpoint_release(struct img_endpoint *ep)
{
    free(ep->base);
    free(ep->registry);
    free(ep->path);
    free(ep->ca_file);
    free(ep->cert_file);
    free(ep->key_file);
    free(ep->username);
    free(ep->password);
    memset(ep, 0, sizeof(*ep));
}

void img_endpoints_free(struct img_endpoint *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        endpoint_release(&v[i]);
    free(v);
}

/* Appends replace to out, $N / ${N} expanded from the match (Go's Regexp.Expand; other $
 * forms expand to nothing, $$ is a $). */
static void expand(struct ck_buf *out, const char *replace, const char *subj, const regmatch_t *g,
                   size_t ng)
{
    for (const char *c = replace; *c; c++) {
        if (*c != '$') {
            ck_buf_append(out, c, 1);
            continue;
        }
        if (c[1] == '$') {
            ck_buf_append(out, "$", 1);
            c++;
            continue;
        }
        bool brace = c[1] == '{';
        const char *d = c + 1 + brace;
        size_t name =
            brace ? strcspn(d, "}")
                  : strspn(d, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
        size_t k = strspn(d, "0123456789");
        if (k == name && k > 0 && k < 4) {
            size_t idx = (size_t)atoi(d);
            if (idx < ng && g[idx].rm_so >= 0)
                ck_buf_append(out, subj + g[idx].rm_so, (size_t)(g[idx].rm_eo - g[idx].rm_so));
        }
        c = d + name - 1 + (brace && d[name] == '}');
    }
}

/* k3s's rewrite: the first pattern that changes path gives the path used at the mirror
 * (every match replaced, as Go's ReplaceAllString); NULL when none applies. */
static char *rewrite_path(const struct reg_mirror *m, const char *path)
{
    for (size_t i = 0; m && i < m->nrewrites; i++) {
        struct ck_buf out = CK_BUF_INIT(REPO_MAX);
        regmatch_t g[10];
        const char *p = path;
        bool hit = false;
        int flags = 0;
        while (*p || !hit) {
            if (regexec(&m->rewrites[i].re, p, 10, g, flags) != 0)
                break;
            hit = true;
            ck_buf_append(&out, p, (size_t)g[0].rm_so);
            expand(&out, m->rewrites[i].replace, p, g, 10);
            if (g[0].rm_eo == g[0].rm_so) { /* an empty match: step one character */
                if (!p[g[0].rm_eo])
                    break;
                ck_buf_append(&out, p + g[0].rm_eo, 1);
                p += g[0].rm_eo + 1;
            } else {
                p += g[0].rm_eo;
            }
            flags = REG_NOTBOL;
        }
        if (hit)
            ck_buf_append(&out, p, strlen(p));
        char *res = hit && out.data ? ck_strdup(out.data) : NULL;
        ck_buf_release(&out);
        if (res && *res && strcmp(res, path) != 0)
            return res;
        free(res);
    }
    return NULL;
}

static const struct reg_mirror *mirror_for(const struct img_registries *rc, const char *domain)
{
    const struct reg_mirror *star = NULL;
    for (size_t i = 0; rc && i < rc->nmirrors; i++) {
        if (!strcmp(rc->mirrors[i].host, domain))
            return &rc->mirrors[i];
        if (!strcmp(rc->mirrors[i].host, "*"))
            star = &rc->mirrors[i];
    }
    return star;
}

int img_registries_plan(const struct img_registries *rc, const struct img_ref *r,
                        struct img_endpoint **out, size_t *n, struct ck_err *err)
{
    (void)err;
    const struct reg_mirror *m = mirror_for(rc, r->domain);
    size_t cap = (m ? m->nendpoints : 0) + 1, k = 0;
    struct img_endpoint *v = ck_calloc(cap, sizeof(*v));
    struct img_endpoint def = {0};
    def.base = ck_asprintf("https://%s/v2", default_host(r->domain));
    def.registry = ck_strdup(r->domain);
    def.is_default = true;
    for (size_t i = 0; m && i < m->nendpoints; i++) {
        struct img_endpoint ep = {0};
        if (parse_endpoint(m->endpoints[i], &ep) < 0) {
            ck_warn("registries file: ignoring invalid endpoint URL %s for %s", m->endpoints[i],
                    m->host);
            continue;
        }
        bool dup = false;
        for (size_t j = 0; j < k && !dup; j++)
            dup = !strcmp(v[j].base, ep.base);
        bool is_def = !strcmp(ep.base, def.base);
        if (dup || (is_def && i + 1 < m->nendpoints)) {
            /* a duplicate, or the default endpoint listed early: it is tried last anyway */
            endpoint_release(&ep);
            continue;
        }
        if (is_def) { /* the last endpoint is the default one: it takes its place */
            endpoint_release(&def);
            ep.is_default = true;
            free(ep.registry);
            ep.registry = ck_strdup(r->domain);
            def = ep;
            continue;
        }
        apply_config(&ep, config_for(rc, ep.registry));
        ep.path = rewrite_path(m, r->path);
        if (!ep.path)
            ep.path = ck_strdup(r->path);
        v[k++] = ep;
    }
    apply_config(&def, config_for(rc, def.registry));
    def.path = ck_strdup(r->path);
    v[k++] = def;
    *out = v;
    *n = k;
    return 0;
}
