/* SPDX-License-Identifier: Apache-2.0 */
/* Docker Registry HTTP API v2 client (libcurl): manifests with the full Accept list, blobs
 * streamed into a hashing sink, redirects followed, Bearer-token and Basic auth challenges
 * answered once per client. One client = one repository; not shared between threads. */
#include "image/image_int.h"

#include <ctype.h>
#include <errno.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"
#include "lib/banned.h"

#define ERRBODY_MAX (64u << 10)
#define TOKEN_MAX (1u << 20)

struct img_reg {
    CURL *h;
    char *base; /* "https://host/v2/<path>" */
    char *path;
    char *user, *pass;
    char *authz; /* "Authorization: ..." once a challenge was answered */
    bool insecure_skip_verify;
    bool tls_refused; /* an https handshake failed because the peer does not speak TLS */
    char *ca_file;
    char *cert_file, *key_file; /* TLS client identity */
    long timeout_s;
};

/* One HTTP exchange. Body goes to buf or sink, only for a 2xx final response. */
struct resp {
    long status;
    char ctype[256];
    char www_auth[1024];
    char digest[IMG_ID_MAX]; /* Docker-Content-Digest */
    bool head;
    struct ck_buf *buf;
    struct img_sink *sink;
    struct ck_buf errbody;
    bool overflow;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void copy_hdr_value(char *dst, size_t cap, const char *v, size_t n)
{
    while (n && isspace((unsigned char)*v))
        v++, n--;
    while (n && isspace((unsigned char)v[n - 1]))
        n--;
    snprintf(dst, cap, "%.*s", (int)n, v);
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
    struct resp *r = ud;
    size_t n = sz * nm;
    if (n > 5 && strncmp(p, "HTTP/", 5) == 0) {
        const char *sp = memchr(p, ' ', n);
        r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        r->ctype[0] = r->www_auth[0] = r->digest[0] = 0;
    } else if (n > 13 && strncasecmp(p, "content-type:", 13) == 0) {
        copy_hdr_value(r->ctype, sizeof(r->ctype), p + 13, n - 13);
    } else if (n > 17 && strncasecmp(p, "www-authenticate:", 17) == 0 && !r->www_auth[0]) {
        copy_hdr_value(r->www_auth, sizeof(r->www_auth), p + 17, n - 17);
    } else if (n > 22 && strncasecmp(p, "docker-content-digest:", 22) == 0) {
        copy_hdr_value(r->digest, sizeof(r->digest), p + 22, n - 22);
        if (!img_digest_valid(r->digest))
            r->digest[0] = 0;
    }
    return n;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    struct resp *r = ud;
    size_t n = sz * nm;
    if (r->status < 200 || r->status > 299) {
        (void)ck_buf_append(&r->errbody, p, n); /* best effort, capped */
        return n;
    }
    if (r->buf && ck_buf_append(r->buf, p, n) < 0) {
        r->overflow = true;
        return 0;
    }
    if (r->sink && img_sink_write(r->sink, p, n) < 0) {
        r->overflow = true;
        return 0;
    }
    return n;
}

static void set_common(struct img_reg *g, struct resp *r, const char *url, bool bulk)
{
    curl_easy_reset(g->h);
    curl_easy_setopt(g->h, CURLOPT_URL, url);
    curl_easy_setopt(g->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(g->h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(g->h, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(g->h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(g->h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(g->h, CURLOPT_USERAGENT, "ckube/0.1 (image)");
    curl_easy_setopt(g->h, CURLOPT_CONNECTTIMEOUT, g->timeout_s < 30 ? g->timeout_s : 30L);
    if (bulk) { /* a blob may take long: abort only when it stalls */
        curl_easy_setopt(g->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(g->h, CURLOPT_LOW_SPEED_TIME, g->timeout_s);
    } else {
        curl_easy_setopt(g->h, CURLOPT_TIMEOUT, g->timeout_s);
    }
    if (g->insecure_skip_verify) {
        curl_easy_setopt(g->h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(g->h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (g->ca_file)
        curl_easy_setopt(g->h, CURLOPT_CAINFO, g->ca_file);
    if (g->cert_file && g->key_file) {
        curl_easy_setopt(g->h, CURLOPT_SSLCERT, g->cert_file);
        curl_easy_setopt(g->h, CURLOPT_SSLKEY, g->key_file);
    }
    if (r->head)
        curl_easy_setopt(g->h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(g->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(g->h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(g->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(g->h, CURLOPT_WRITEDATA, r);
}

static int curl_fail(CURLcode c, const char *url, const struct resp *r, struct ck_err *err)
{
    enum ck_reason why = CK_R_SERVICE_UNAVAILABLE;
    if (c == CURLE_OPERATION_TIMEDOUT)
        why = CK_R_TIMEOUT;
    else if (c == CURLE_WRITE_ERROR && r->overflow)
        return ck_err_set(err, CK_R_TOO_LARGE, "GET %s: response larger than expected", url);
    else if (c == CURLE_URL_MALFORMAT || c == CURLE_UNSUPPORTED_PROTOCOL)
        why = CK_R_BAD_REQUEST;
    bool unreachable = c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST ||
                       c == CURLE_COULDNT_RESOLVE_PROXY;
    return ck_err_set(err, why, "%s: GET %s: %s",
                      unreachable ? "registry unreachable" : "registry request failed", url,
                      curl_easy_strerror(c));
}

/* Registry error bodies: {"errors":[{"code":"MANIFEST_UNKNOWN","message":"..."}]}. */
static void describe_errbody(const struct ck_buf *b, char *out, size_t cap)
{
    out[0] = 0;
    json_t *j = b->len ? json_loadb(b->data, b->len, 0, NULL) : NULL;
    json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
    const char *code = json_string_value(json_object_get(e0, "code"));
    const char *msg = json_string_value(json_object_get(e0, "message"));
    if (code || msg)
        snprintf(out, cap, ": %s%s%s", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
    json_decref(j);
}

static int status_fail(const struct resp *r, const char *what, struct ck_err *err)
{
    char detail[512];
    describe_errbody(&r->errbody, detail, sizeof(detail));
    enum ck_reason why = CK_R_INTERNAL;
    switch (r->status) {
    case 400:
        why = CK_R_BAD_REQUEST;
        break;
    case 401:
        why = CK_R_UNAUTHORIZED;
        break;
    case 403:
        why = CK_R_FORBIDDEN;
        break;
    case 404:
        why = CK_R_NOT_FOUND;
        break;
    case 429:
        why = CK_R_TOO_MANY_REQUESTS;
        break;
    default:
        if (r->status >= 500)
            why = CK_R_SERVICE_UNAVAILABLE;
    }
    if (why == CK_R_NOT_FOUND)
        return ck_err_set(err, why, "%s not found (HTTP 404)%s", what, detail);
    return ck_err_set(err, why, "%s: registry answered HTTP %ld%s", what, r->status, detail);
}

static char *param_value(const char *hdr, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = hdr; (p = strcasestr(p, key)) != NULL; p += kl) {
        bool start = p == hdr || p[-1] == ' ' || p[-1] == ',';
        if (!start || p[kl] != '=')
            continue;
        const char *v = p + kl + 1;
        if (*v == '"') {
            const char *e = strchr(v + 1, '"');
            return e ? ck_strndup(v + 1, (size_t)(e - v - 1)) : NULL;
        }
        return ck_strndup(v, strcspn(v, ", "));
    }
    return NULL;
}

int img_auth_parse(const char *hdr, char **scheme, char **realm, char **service, char **scope)
{
    *scheme = *realm = *service = *scope = NULL;
    if (!hdr)
        return -1;
    while (isspace((unsigned char)*hdr))
        hdr++;
    size_t n = strcspn(hdr, " ");
    if (n == 0 || n > 32)
        return -1;
    *scheme = ck_strndup(hdr, n);
    const char *params = hdr + n;
    *realm = param_value(params, "realm");
    *service = param_value(params, "service");
    *scope = param_value(params, "scope");
    return 0;
}

static int perform(struct img_reg *g, const char *url, const char *accept, struct resp *r,
                   bool bulk, struct ck_err *err);

/* GET realm?service=&scope= (with basic creds if any) -> "Authorization: Bearer <token>". */
static int fetch_token(struct img_reg *g, const char *realm, const char *service, const char *scope,
                       struct ck_err *err)
{
    struct ck_buf url = CK_BUF_INIT(8192), body = CK_BUF_INIT(TOKEN_MAX);
    ck_buf_appends(&url, realm);
    char sep = strchr(realm, '?') ? '&' : '?';
    ck_autofree char *def_scope = ck_asprintf("repository:%s:pull", g->path);
    const char *kv[2][2] = {{"service", service}, {"scope", scope ? scope : def_scope}};
    for (int i = 0; i < 2; i++) {
        if (!kv[i][1])
            continue;
        char *e = curl_easy_escape(g->h, kv[i][1], 0);
        ck_buf_appendf(&url, "%c%s=%s", sep, kv[i][0], e ? e : "");
        curl_free(e);
        sep = '&';
    }
    struct resp r = {.buf = &body, .errbody = CK_BUF_INIT(ERRBODY_MAX)};
    char *expired = g->authz; /* an old token must not stop Basic credentials going out */
    g->authz = NULL;
    int rc = perform(g, url.data, "application/json", &r, false, err);
    g->authz = expired;
    if (rc == 0 && (r.status < 200 || r.status > 299))
        rc = status_fail(&r, "registry token", err);
    json_t *j = rc == 0 ? json_loadb(body.data ? body.data : "", body.len, 0, NULL) : NULL;
    const char *tok = json_string_value(json_object_get(j, "token"));
    if (!tok)
        tok = json_string_value(json_object_get(j, "access_token"));
    if (rc == 0 && !tok)
        rc = ck_err_set(err, CK_R_UNAUTHORIZED, "registry token response has no token");
    if (rc == 0) {
        free(g->authz);
        g->authz = ck_asprintf("Authorization: Bearer %s", tok);
    }
    json_decref(j);
    ck_buf_release(&url);
    ck_buf_release(&body);
    ck_buf_release(&r.errbody);
    return rc;
}

/* Answers a 401 challenge; -1 with CK_R_UNAUTHORIZED when it cannot be answered. */
static int answer_challenge(struct img_reg *g, const char *hdr, struct ck_err *err)
{
    char *scheme, *realm, *service, *scope;
    int rc;
    if (img_auth_parse(hdr, &scheme, &realm, &service, &scope) < 0)
        return ck_err_set(err, CK_R_UNAUTHORIZED, "registry requires authentication");
    if (strcasecmp(scheme, "bearer") == 0 && realm) {
        rc = fetch_token(g, realm, service, scope, err);
    } else if (strcasecmp(scheme, "basic") == 0 && g->user) {
        free(g->authz);
        g->authz = NULL; /* curl sends basic credentials itself from now on */
        rc = 0;
    } else {
        rc = ck_err_set(err, CK_R_UNAUTHORIZED, "registry requires %s authentication%s", scheme,
                        g->user ? "" : " and no credentials were given");
    }
    free(scheme);
    free(realm);
    free(service);
    free(scope);
    return rc;
}

/* True when url has base's scheme://host[:port] (credentials never go elsewhere). */
static bool same_origin(const char *url, const char *base)
{
    const char *sep = strstr(base, "://");
    if (!sep)
        return false;
    size_t n = (size_t)(sep + 3 - base) + strcspn(sep + 3, "/");
    return strncmp(url, base, n) == 0 && (url[n] == '/' || url[n] == 0);
}

static int perform(struct img_reg *g, const char *url, const char *accept, struct resp *r,
                   bool bulk, struct ck_err *err)
{
    set_common(g, r, url, bulk);
    struct curl_slist *hl = NULL;
    char acc[512];
    snprintf(acc, sizeof(acc), "Accept: %s", accept);
    hl = curl_slist_append(hl, acc);
    if (g->authz && same_origin(url, g->base))
        hl = curl_slist_append(hl, g->authz);
    curl_easy_setopt(g->h, CURLOPT_HTTPHEADER, hl);
    if (g->user && !g->authz) {
        curl_easy_setopt(g->h, CURLOPT_USERNAME, g->user);
        curl_easy_setopt(g->h, CURLOPT_PASSWORD, g->pass ? g->pass : "");
        curl_easy_setopt(g->h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    }
    CURLcode c = curl_easy_perform(g->h);
    curl_slist_free_all(hl);
    curl_easy_setopt(g->h, CURLOPT_HTTPHEADER, NULL);
    ck_v(4, "image: %s %s -> %d/%ld", r->head ? "HEAD" : "GET", url, (int)c, r->status);
    if (c == CURLE_SSL_CONNECT_ERROR)
        g->tls_refused = true;
    return c == CURLE_OK ? 0 : curl_fail(c, url, r, err);
}

/* GET with one retry after answering an auth challenge. */
static int get(struct img_reg *g, const char *url, const char *accept, struct resp *r, bool bulk,
               const char *what, struct ck_err *err)
{
    for (int attempt = 0;; attempt++) {
        if (perform(g, url, accept, r, bulk, err) < 0)
            return -1;
        if (r->status == 401 && attempt == 0 && r->www_auth[0]) {
            if (answer_challenge(g, r->www_auth, err) < 0)
                return -1;
            ck_buf_reset(&r->errbody);
            continue;
        }
        if (r->status < 200 || r->status > 299)
            return status_fail(r, what, err);
        return 0;
    }
}

static int reg_manifest(void *ctx, const char *reference, struct ck_buf *body, char **ctype,
                        struct ck_err *err)
{
    struct img_reg *g = ctx;
    ck_autofree char *url = ck_asprintf("%s/manifests/%s", g->base, reference);
    ck_autofree char *what = ck_asprintf("manifest %s:%s", g->path, reference);
    struct resp r = {.buf = body, .errbody = CK_BUF_INIT(ERRBODY_MAX)};
    int rc = get(g, url, img_accept_manifests, &r, false, what, err);
    if (rc == 0 && r.overflow)
        rc = ck_err_set(err, CK_R_TOO_LARGE, "%s larger than %u bytes", what, IMG_MANIFEST_MAX);
    *ctype = rc == 0 && r.ctype[0] ? ck_strdup(r.ctype) : NULL;
    ck_buf_release(&r.errbody);
    return rc;
}

int img_reg_head(struct img_reg *g, const char *reference, char digest[IMG_ID_MAX],
                 enum img_mt *kind, struct ck_err *err)
{
    ck_autofree char *url = ck_asprintf("%s/manifests/%s", g->base, reference);
    ck_autofree char *what = ck_asprintf("manifest %s:%s", g->path, reference);
    struct resp r = {.head = true, .errbody = CK_BUF_INIT(ERRBODY_MAX)};
    int rc = get(g, url, img_accept_manifests, &r, false, what, err);
    digest[0] = 0;
    *kind = IMG_MT_UNKNOWN;
    if (rc == 0) {
        memcpy(digest, r.digest, IMG_ID_MAX);
        r.ctype[strcspn(r.ctype, "; ")] = 0; /* drop parameters */
        *kind = img_media_type_kind(r.ctype);
    }
    ck_buf_release(&r.errbody);
    return rc;
}

static int reg_blob(void *ctx, const char *digest, struct img_sink *k, struct ck_err *err)
{
    struct img_reg *g = ctx;
    ck_autofree char *url = ck_asprintf("%s/blobs/%s", g->base, digest);
    ck_autofree char *what = ck_asprintf("blob %s@%s", g->path, digest);
    struct resp r = {.sink = k, .errbody = CK_BUF_INIT(ERRBODY_MAX)};
    int rc = get(g, url, "application/octet-stream, */*", &r, true, what, err);
    if (rc < 0 && r.overflow && k->failed_errno != EFBIG)
        rc = ck_err_sys(err, k->failed_errno, "writing %s", what);
    else if (rc < 0 && r.overflow)
        rc = ck_err_set(err, CK_R_CORRUPT, "%s is larger than its descriptor says", what);
    ck_buf_release(&r.errbody);
    return rc;
}

int img_reg_new(const struct img_endpoint *ep, const struct img_pull_opts *o, struct img_reg **out,
                struct ck_err *err)
{
    pthread_once(&curl_once, curl_init_once);
    struct img_reg *g = ck_calloc(1, sizeof(*g));
    g->h = curl_easy_init();
    if (!g->h) {
        free(g);
        return ck_err_set(err, CK_R_INTERNAL, "curl_easy_init failed");
    }
    g->base = ck_asprintf("%s/%s", ep->base, ep->path);
    g->path = ck_strdup(ep->path);
    g->user = ep->username ? ck_strdup(ep->username) : NULL;
    g->pass = ep->password ? ck_strdup(ep->password) : NULL;
    g->insecure_skip_verify = ep->insecure_skip_verify;
    g->ca_file = ep->ca_file ? ck_strdup(ep->ca_file) : NULL;
    g->cert_file = ep->cert_file ? ck_strdup(ep->cert_file) : NULL;
    g->key_file = ep->key_file ? ck_strdup(ep->key_file) : NULL;
    g->timeout_s = o && o->timeout_s > 0 ? o->timeout_s : 300;
    *out = g;
    return 0;
}

void img_reg_free(struct img_reg *g)
{
    if (!g)
        return;
    curl_easy_cleanup(g->h);
    free(g->base);
    free(g->path);
    free(g->user);
    free(g->pass);
    free(g->authz);
    free(g->ca_file);
    free(g->cert_file);
    free(g->key_file);
    free(g);
}

bool img_reg_tls_refused(const struct img_reg *g)
{
    return g && g->tls_refused;
}

void img_reg_source(struct img_reg *g, struct img_source *src)
{
    src->manifest = reg_manifest;
    src->blob = reg_blob;
    src->ctx = g;
    src->synthetic = false;
}
