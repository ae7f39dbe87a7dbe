/* SPDX-License-Identifier: Apache-2.0 */
/* The engine's entry points: api_server_new/free, api_handle (path routing, verb mapping,
 * Accept negotiation, query decoding), Status objects, /version, /openapi and
 * /debug/api/top-lists routing, metrics. */
#include "apiserver/endpoints/endpoints.h"
#include "apiserver/endpoints/flowcontrol.h" /* apf */
#include "apiserver/endpoints/eng_metrics.h"
#include "apiserver/endpoints/tokens_int.h"
#include "apiserver/encoding/openapi.h"
#include "apiserver/encoding/proto.h"
#include "apiserver/storage/watcher.h"
#include "apiserver/registry/schema.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/timeutil.h"
#include "lib/version.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/banned.h"

/* ---- small helpers ------------------------------------------------------------------ */

char *eng_rfc3339_now(char out[21])
{
    ck_time_rfc3339(time(NULL), out);
    return out;
}

int64_t eng_parse_int(const char *s, bool *ok)
{
    char *end = NULL;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    *ok = s && *s && end && *end == '\0' && errno == 0;
    return v;
}

void eng_err_not_found(struct ck_err *err, const struct reg_resource *res, const char *name)
{
    char q[128];
    reg_qualified(res, q, sizeof(q));
    ck_err_set(err, CK_R_NOT_FOUND, "%s \"%s\" not found", q, name);
    snprintf(err->kind, sizeof(err->kind), "%s", res->plural);
    snprintf(err->group, sizeof(err->group), "%s", res->group);
    snprintf(err->name, sizeof(err->name), "%s", name);
}

void api_response_init(struct api_response *rs, size_t max_body)
{
    memset(rs, 0, sizeof(*rs));
    rs->body.max = max_body ? max_body : (size_t)1 << 34;
}

void api_iov_body_release(struct api_iov_body *b)
{
    if (b->release)
        b->release(b->owner);
    memset(b, 0, sizeof(*b));
}

void api_response_release(struct api_response *rs)
{
    ck_buf_release(&rs->body);
    api_iov_body_release(&rs->lent);
    for (size_t i = 0; i < rs->nwarnings; i++)
        free(rs->warnings[i]);
    rs->nwarnings = 0;
}

void eng_add_warning(struct api_response *rs, const char *fmt, ...)
{
    if (rs->nwarnings >= API_MAX_WARNINGS)
        return;
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    rs->warnings[rs->nwarnings++] = ck_strdup(text);
}

void eng_reply(struct eng_req *r, int status, const char *body, size_t len)
{
    r->rs->status = status;
    snprintf(r->rs->content_type, sizeof(r->rs->content_type), "application/json");
    ck_buf_reset(&r->rs->body);
    if (ck_buf_append(&r->rs->body, body, len) < 0) {
        struct ck_err e = CK_ERR_INIT;
        ck_err_set(&e, CK_R_INTERNAL, "response too large");
        api_write_status(r->rs, &e);
    }
}

void api_write_status(struct api_response *rs, const struct ck_err *err)
{
    int code = err->code ? err->code : ck_reason_http(err->reason);
    json_t *o = json_object(), *d = json_object();
    json_object_set_new(o, "kind", json_string("Status"));
    json_object_set_new(o, "apiVersion", json_string("v1"));
    json_object_set_new(o, "metadata", json_object());
    json_object_set_new(o, "status", json_string("Failure"));
    json_object_set_new(o, "message", json_string(err->msg));
    json_object_set_new(o, "reason", json_string(ck_reason_str(err->reason)));
    if (err->name[0])
        json_object_set_new(d, "name", json_string(err->name));
    if (err->group[0])
        json_object_set_new(d, "group", json_string(err->group));
    if (err->kind[0])
        json_object_set_new(d, "kind", json_string(err->kind));
    if (err->ncauses) {
        json_t *cs = json_array();
        for (size_t i = 0; i < err->ncauses && i < CK_ERR_CAUSES_MAX; i++) {
            json_t *c = json_object();
            json_object_set_new(c, "reason", json_string(err->causes[i].type));
            json_object_set_new(c, "message", json_string(err->causes[i].message));
            if (err->causes[i].field[0])
                json_object_set_new(c, "field", json_string(err->causes[i].field));
            json_array_append_new(cs, c);
        }
        json_object_set_new(d, "causes", cs);
    }
    if (err->retry_after > 0)
        json_object_set_new(d, "retryAfterSeconds", json_integer(err->retry_after));
    if (json_object_size(d))
        json_object_set_new(o, "details", d);
    else
        json_decref(d);
    json_object_set_new(o, "code", json_integer(code));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    rs->status = code;
    snprintf(rs->content_type, sizeof(rs->content_type), "application/json");
    ck_buf_reset(&rs->body);
    if (s && ck_buf_appends(&rs->body, s) < 0)
        ck_buf_appends(&rs->body, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\"}");
    free(s);
}

void eng_reply_err(struct eng_req *r, const struct ck_err *err)
{
    atomic_fetch_add(&r->s->m.errors, 1);
    api_write_status(r->rs, err);
}

/* ---- query strings ------------------------------------------------------------------ */

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes in place (percent escapes, '+' = space); returns the new end. */
static char *url_decode(char *s, char *end)
{
    char *w = s;
    for (char *p = s; p < end; p++) {
        if (*p == '+') {
            *w++ = ' ';
        } else if (*p == '%' && end - p >= 3 && hexv(p[1]) >= 0 && hexv(p[2]) >= 0) {
            *w++ = (char)(hexv(p[1]) * 16 + hexv(p[2]));
            p += 2;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    return w;
}

static void parse_query(struct eng_query *q, const char *query)
{
    memset(q, 0, sizeof(*q));
    if (!query || !*query)
        return;
    size_t l = strlen(query);
    q->raw = ck_malloc(l * 2 + 4);
    char *out = q->raw;
    const char *p = query;
    while (*p && q->n < 64) {
        const char *amp = strchr(p, '&');
        const char *e = amp ? amp : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(e - p));
        const char *ke = eq ? eq : e;
        if (ke > p) {
            memcpy(out, p, (size_t)(ke - p));
            q->k[q->n] = out;
            out = url_decode(out, out + (ke - p)) + 1;
            size_t vl = eq ? (size_t)(e - eq - 1) : 0;
            memcpy(out, eq ? eq + 1 : "", vl);
            q->v[q->n] = out;
            out = url_decode(out, out + vl) + 1;
            q->n++;
        }
        p = amp ? amp + 1 : e;
    }
}

const char *eng_q(const struct eng_req *r, const char *key)
{
    for (size_t i = 0; i < r->q.n; i++)
        if (strcmp(r->q.k[i], key) == 0)
            return r->q.v[i];
    return NULL;
}

bool eng_qbool(const struct eng_req *r, const char *key)
{
    const char *v = eng_q(r, key);
    return v && strcmp(v, "0") != 0 && strcasecmp(v, "false") != 0;
}

/* ---- Accept negotiation ------------------------------------------------------------- */

static bool param(const char *entry, size_t len, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    const char *p = entry, *end = entry + len;
    while ((p = memchr(p, ';', (size_t)(end - p))) != NULL) {
        p++;
        while (p < end && *p == ' ')
            p++;
        if ((size_t)(end - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == '=') {
            const char *v = p + nl + 1, *ve = v;
            while (ve < end && *ve != ';' && *ve != ' ')
                ve++;
            snprintf(out, n, "%.*s", (int)(ve - v), v);
            return true;
        }
    }
    return false;
}

/* One media range of an Accept header, with its q-value. */
struct accept_range {
    const char *p;
    size_t len;
    double q;
    int specific; /* 2: type/subtype, 1: a subtype wildcard, 0: any type */
};

static int by_preference(const void *a, const void *b)
{
    const struct accept_range *x = a, *y = b;
    if (x->q != y->q)
        return x->q > y->q ? -1 : 1;
    if (x->specific != y->specific)
        return y->specific - x->specific;
    return x->p < y->p ? -1 : x->p > y->p; /* stable: header order */
}

/* Splits Accept into its ranges, most preferred first (q-value, then specificity, then
 * header order, as upstream's goautoneg); ranges with q=0 are dropped. */
static size_t accept_ranges(const char *a, struct accept_range *out, size_t max)
{
    size_t n = 0;
    for (const char *p = a; *p && n < max;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char qs[16] = "";
        double q = param(p, len, "q", qs, sizeof(qs)) ? strtod(qs, NULL) : 1.0;
        if (q > 0) {
            int spec = p[0] == '*' ? 0 : (memchr(p, '*', len) ? 1 : 2);
            out[n++] = (struct accept_range){p, len, q, spec};
        }
        p += len;
    }
    qsort(out, n, sizeof(*out), by_preference);
    return n;
}

/* Picks the response format from Accept. disc: /api or /apis root. table: resource
 * endpoints (which also serve protobuf: *proto is set, the body is converted at the end of
 * api_handle; upstream offers no protobuf for Table). */
static int negotiate(struct eng_req *r, bool disc, bool table, bool *proto, struct ck_err *err)
{
    const char *a = r->rq->accept;
    r->fmt = FMT_JSON;
    *proto = false;
    if (!a || !*a)
        return 0;
    struct accept_range rg[32];
    size_t nrg = accept_ranges(a, rg, sizeof(rg) / sizeof(rg[0]));
    for (size_t i = 0; i < nrg; i++) {
        const char *p = rg[i].p;
        size_t len = rg[i].len;
        size_t tl = 0;
        while (tl < len && p[tl] != ';' && p[tl] != ' ')
            tl++;
        char as[64] = "", g[64] = "", v[32] = "", prof[32] = "";
        param(p, len, "as", as, sizeof(as));
        param(p, len, "g", g, sizeof(g));
        param(p, len, "v", v, sizeof(v));
        bool has_prof = param(p, len, "profile", prof, sizeof(prof));
        bool json = (tl == 16 && strncasecmp(p, "application/json", 16) == 0);
        bool any = (tl == 3 && strncmp(p, "*/*", 3) == 0) ||
                   (tl == 13 && strncasecmp(p, "application/*", 13) == 0);
        bool yaml = (tl == 16 && strncasecmp(p, "application/yaml", 16) == 0);
        bool pb = tl == strlen(PROTO_CONTENT_TYPE) && strncasecmp(p, PROTO_CONTENT_TYPE, tl) == 0;
        if ((json || any) && !as[0] && !has_prof)
            return 0;
        if (yaml && !as[0] && !r->watch) {
            r->fmt = FMT_YAML;
            return 0;
        }
        if (pb && table && !as[0] && !has_prof) {
            *proto = true;
            return 0;
        }
        if (json && !has_prof && disc && strcmp(as, "APIGroupDiscoveryList") == 0 &&
            strcmp(g, "apidiscovery.k8s.io") == 0 &&
            (strcmp(v, "v2") == 0 || strcmp(v, "v2beta1") == 0)) {
            r->fmt = strcmp(v, "v2") == 0 ? FMT_DISC_V2 : FMT_DISC_V2BETA1;
            return 0;
        }
        if ((json || pb) && table && strcmp(g, "meta.k8s.io") == 0 &&
            (strcmp(v, "v1") == 0 || strcmp(v, "v1beta1") == 0)) {
            r->table_version = strcmp(v, "v1") == 0 ? "v1" : "v1beta1";
            if (json && strcmp(as, "Table") == 0) {
                r->fmt = FMT_TABLE;
                return 0;
            }
            /* upstream serves PartialObjectMetadata in every format, protobuf included */
            if (strcmp(as, "PartialObjectMetadata") == 0 ||
                strcmp(as, "PartialObjectMetadataList") == 0) {
                r->fmt = FMT_PARTIAL;
                *proto = pb;
                return 0;
            }
        }
    }
    return ck_err_set(err, CK_R_NOT_ACCEPTABLE,
                      "only the following media types are accepted: application/json, "
                      "application/yaml, application/vnd.kubernetes.protobuf, "
                      "application/json;as=Table;v=v1;g=meta.k8s.io");
}

/* ---- routing ------------------------------------------------------------------------ */

#define MAX_SEGS 12

static size_t split_path(char *p, const char **segs)
{
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(p, "/", &save); t && n < MAX_SEGS; t = strtok_r(NULL, "/", &save))
        segs[n++] = t;
    return n;
}

static void not_found(struct eng_req *r)
{
    struct ck_err e = CK_ERR_INIT;
    ck_err_set(&e, CK_R_NOT_FOUND, "the server could not find the requested resource");
    eng_reply_err(r, &e);
}

static void method_not_allowed(struct eng_req *r)
{
    struct ck_err e = CK_ERR_INIT;
    ck_err_set(&e, CK_R_METHOD_NOT_ALLOWED, "the server does not allow this method on the "
                                            "requested resource");
    eng_reply_err(r, &e);
}

static void serve_version(struct eng_req *r)
{
    char body[512];
    int n = snprintf(body, sizeof(body),
                     "{\"major\":\"%s\",\"minor\":\"%s\",\"gitVersion\":\"%s\","
                     "\"gitCommit\":\"ckube\",\"gitTreeState\":\"clean\","
                     "\"buildDate\":\"2026-11-23T00:00:00Z\",\"goVersion\":\"none\","
                     "\"compiler\":\"gcc\",\"platform\":\"linux/amd64\"}",
                     CK_KUBE_MAJOR, CK_KUBE_MINOR, CK_KUBE_GIT_VERSION);
    eng_reply(r, 200, body, (size_t)n);
}

static void serve_openapi(struct eng_req *r, const char **segs, size_t n)
{
    struct ck_err e = CK_ERR_INIT;
    struct ck_buf *b = &r->rs->body;
    int rc;
    ck_buf_reset(b);
    static const char pb[] = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
    bool want_pb = r->rq->accept && strstr(r->rq->accept, pb) &&
                   (!strstr(r->rq->accept, "application/json") ||
                    strstr(r->rq->accept, pb) < strstr(r->rq->accept, "application/json"));
    if (n == 2 && strcmp(segs[1], "v2") == 0 && want_pb) {
        rc = schema_openapi_v2_pb(b);
        if (rc == 0 && b->len) {
            r->rs->status = 200;
            /* upstream answers with a '.' for the '@' (Go's mime parser rejects '@') */
            snprintf(r->rs->content_type, sizeof(r->rs->content_type),
                     "application/com.github.proto-openapi.spec.v2.v1.0+protobuf");
            return;
        }
        ck_buf_reset(b);
        rc = schema_openapi_v2(b);
    } else if (n == 2 && strcmp(segs[1], "v2") == 0) {
        rc = schema_openapi_v2(b);
        if (rc < 0)
            ck_err_set(&e, CK_R_NOT_FOUND, "the server could not find the requested resource");
    } else if (n == 2 && strcmp(segs[1], "v3") == 0) {
        rc = schema_openapi_v3_index(b);
        if (rc < 0)
            ck_err_set(&e, CK_R_NOT_FOUND, "the server could not find the requested resource");
    } else if (n == 4 && strcmp(segs[1], "v3") == 0 && strcmp(segs[2], "api") == 0) {
        rc = schema_openapi_v3_gv("", segs[3], b, &e);
    } else if (n == 5 && strcmp(segs[1], "v3") == 0 && strcmp(segs[2], "apis") == 0) {
        rc = schema_openapi_v3_gv(segs[3], segs[4], b, &e);
    } else {
        rc = ck_err_set(&e, CK_R_NOT_FOUND, "the server could not find the requested resource");
    }
    if (rc < 0 || b->len == 0) {
        if (e.reason == CK_R_NONE)
            ck_err_set(&e, CK_R_NOT_FOUND, "the server could not find the requested resource");
        eng_reply_err(r, &e);
        return;
    }
    r->rs->status = 200;
    snprintf(r->rs->content_type, sizeof(r->rs->content_type), "application/json");
}

enum { VERB_GET, VERB_LIST, VERB_WATCH, VERB_CREATE, VERB_UPDATE, VERB_PATCH, VERB_DELETE,
       VERB_DELETECOLLECTION };

/* Splits the resource part of a path (after the group/version) into res/ns/name/sub. */
static int parse_resource_path(struct eng_req *r, const char *group, const char *version,
                               const char **s, size_t n)
{
    const char *rname = NULL, *ns = NULL, *name = NULL, *sub = NULL;
    if (n >= 1 && strcmp(s[0], "watch") == 0) {
        r->watch = true;
        s++;
        n--;
    }
    if (n == 0 || n > 5)
        return -1;
    if (strcmp(s[0], "namespaces") == 0 && n >= 3 &&
        !(n == 3 && (strcmp(s[2], "status") == 0 || strcmp(s[2], "finalize") == 0))) {
        ns = s[1];
        rname = s[2];
        name = n >= 4 ? s[3] : NULL;
        sub = n == 5 ? s[4] : NULL;
    } else {
        if (n > 3)
            return -1;
        rname = s[0];
        name = n >= 2 ? s[1] : NULL;
        sub = n == 3 ? s[2] : NULL;
    }
    r->res = reg_find(group, version, rname);
    if (!r->res)
        return -1;
    bool nsd = r->res->flags & REG_NAMESPACED;
    if (!nsd && ns)
        return -1;
    if (nsd && name && !ns)
        return -1;
    r->ns = ns ? ck_strdup(ns) : NULL;
    r->name = name ? ck_strdup(name) : NULL;
    r->sub = sub ? ck_strdup(sub) : NULL;
    return 0;
}

static bool sub_allowed(const struct reg_resource *res, const char *sub)
{
    if (strcmp(sub, "status") == 0)
        return res->flags & REG_STATUS;
    if (strcmp(sub, "scale") == 0)
        return res->flags & REG_SCALE;
    if (strcmp(sub, "binding") == 0)
        return res->flags & REG_BINDING;
    if (strcmp(sub, "eviction") == 0)
        return res->flags & REG_EVICTION;
    if (strcmp(sub, "ephemeralcontainers") == 0)
        return res->flags & REG_EPHEMERAL;
    if (strcmp(sub, "finalize") == 0)
        return res->flags & REG_FINALIZE;
    if (strcmp(sub, "token") == 0) /* satoken: serviceaccounts/token */
        return !res->group[0] && !strcmp(res->plural, "serviceaccounts");
    return false;
}

static enum api_result dispatch_sub(struct eng_req *r, const char *m)
{
    const char *sub = r->sub;
    if (!sub_allowed(r->res, sub)) {
        not_found(r);
        return API_DONE;
    }
    if (strcmp(sub, "binding") == 0) {
        if (strcmp(m, "POST"))
            method_not_allowed(r);
        else
            eng_serve_binding(r);
        return API_DONE;
    }
    if (strcmp(sub, "eviction") == 0) {
        if (strcmp(m, "POST"))
            method_not_allowed(r);
        else
            eng_serve_eviction(r);
        return API_DONE;
    }
    if (strcmp(sub, "scale") == 0) {
        if (strcmp(m, "GET") && strcmp(m, "PUT") && strcmp(m, "PATCH"))
            method_not_allowed(r);
        else
            eng_serve_scale(r);
        return API_DONE;
    }
    if (strcmp(sub, "finalize") == 0) {
        if (strcmp(m, "PUT"))
            method_not_allowed(r);
        else
            eng_serve_update(r);
        return API_DONE;
    }
    if (strcmp(sub, "token") == 0) { /* satoken: tokenrequest.c */
        if (strcmp(m, "POST"))
            method_not_allowed(r);
        else
            eng_serve_token_request(r);
        return API_DONE;
    }
    if (strcmp(m, "GET") == 0)
        eng_serve_get(r);
    else if (strcmp(m, "PUT") == 0)
        eng_serve_update(r);
    else if (strcmp(m, "PATCH") == 0)
        eng_serve_patch(r);
    else
        method_not_allowed(r);
    return API_DONE;
}

static int pick_verb(struct eng_req *r, const char *m)
{
    bool item = r->name != NULL;
    if (strcmp(m, "GET") == 0) {
        if (r->watch || eng_qbool(r, "watch"))
            return VERB_WATCH;
        return item ? VERB_GET : VERB_LIST;
    }
    if (strcmp(m, "POST") == 0 && !item)
        return VERB_CREATE;
    if (strcmp(m, "PUT") == 0 && item)
        return VERB_UPDATE;
    if (strcmp(m, "PATCH") == 0 && item)
        return VERB_PATCH;
    if (strcmp(m, "DELETE") == 0)
        return item ? VERB_DELETE : VERB_DELETECOLLECTION;
    return -1;
}

static const unsigned verb_bits[] = {REG_GET,    REG_LIST,  REG_WATCH,  REG_CREATE,
                                     REG_UPDATE, REG_PATCH, REG_DELETE, REG_DELETECOLLECTION};

static enum api_result dispatch_resource(struct eng_req *r, struct api_watch **w, bool *proto)
{
    const char *m = r->rq->method ? r->rq->method : "GET";
    struct ck_err e = CK_ERR_INIT;
    if (negotiate(r, false, true, proto, &e) < 0) {
        eng_reply_err(r, &e);
        return API_DONE;
    }
    if (eng_conv_begin(r)) /* convert.c: served versions, computed resources, approval */
        return API_DONE;
    if (r->sub)
        return dispatch_sub(r, m);
    int verb = pick_verb(r, m);
    if (verb < 0 || !(r->res->verbs & verb_bits[verb]) || (r->watch && verb != VERB_WATCH)) {
        method_not_allowed(r);
        return API_DONE;
    }
    atomic_fetch_add(&r->s->m.requests[verb], 1);
    switch (verb) {
    case VERB_GET:
        eng_serve_get(r);
        break;
    case VERB_LIST:
        eng_serve_list(r);
        break;
    case VERB_WATCH:
        return eng_serve_watch(r, w);
    case VERB_CREATE:
        if ((r->res->flags & REG_VIRTUAL) && !strcmp(r->res->plural, "tokenreviews"))
            eng_serve_token_review(r); /* satoken: tokenreview.c */
        else if (r->res->flags & REG_VIRTUAL)
            eng_serve_review(r);
        else
            eng_serve_create(r);
        break;
    case VERB_UPDATE:
        eng_serve_update(r);
        break;
    case VERB_PATCH:
        eng_serve_patch(r);
        break;
    case VERB_DELETE:
        eng_serve_delete(r);
        break;
    default:
        eng_serve_deletecollection(r);
        break;
    }
    return API_DONE;
}

static enum api_result route(struct eng_req *r, const char **segs, size_t n,
                             struct api_watch **w, bool *proto)
{
    struct ck_err e = CK_ERR_INIT;
    if (n == 1 && strcmp(segs[0], "version") == 0) {
        serve_version(r);
        return API_DONE;
    }
    if (n >= 1 && strcmp(segs[0], "openapi") == 0) {
        serve_openapi(r, segs, n);
        return API_DONE;
    }
    if (n == 3 && strcmp(segs[0], "debug") == 0 && strcmp(segs[1], "api") == 0 &&
        strcmp(segs[2], "top-lists") == 0) {
        eng_serve_top_lists(r);
        return API_DONE;
    }
    if (n >= 2 && (!strcmp(segs[0], ".well-known") || !strcmp(segs[0], "openid")) &&
        eng_serve_oidc(r, segs, n)) /* satoken: the issuer's OIDC documents */
        return API_DONE;
    bool api = n >= 1 && strcmp(segs[0], "api") == 0;
    bool apis = n >= 1 && strcmp(segs[0], "apis") == 0;
    if (!api && !apis) {
        not_found(r);
        return API_DONE;
    }
    size_t gvlen = api ? 2 : 3;
    if (n <= gvlen) {
        const char *m = r->rq->method ? r->rq->method : "GET";
        if (strcmp(m, "GET") != 0) {
            method_not_allowed(r);
            return API_DONE;
        }
        bool unused;
        if (negotiate(r, n == 1, false, &unused, &e) < 0) {
            eng_reply_err(r, &e);
            return API_DONE;
        }
        if (!eng_serve_discovery(r, segs, n))
            not_found(r);
        return API_DONE;
    }
    const char *group = api ? "" : segs[1];
    const char *version = api ? segs[1] : segs[2];
    snprintf(r->rs->info.group, sizeof(r->rs->info.group), "%s", group);
    snprintf(r->rs->info.version, sizeof(r->rs->info.version), "%s", version);
    if ((api && strcmp(version, "v1") != 0) ||
        parse_resource_path(r, group, version, segs + gvlen, n - gvlen) < 0) {
        not_found(r);
        return API_DONE;
    }
    return dispatch_resource(r, w, proto);
}

static void to_yaml(struct api_response *rs);
static void to_proto(struct api_response *rs);

/* Upstream's RequestInfo as metric labels (apiserver_request_total and friends). */
static void fill_reqinfo(struct eng_req *r)
{
    static const char *const verbs[] = {"GET",   "LIST",  "WATCH",  "CREATE",
                                        "UPDATE", "PATCH", "DELETE", "DELETECOLLECTION"};
    static const char *const http_verbs[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
                                             "OPTIONS"};
    struct api_reqinfo *in = &r->rs->info;
    const char *m = r->rq->method ? r->rq->method : "GET";
    const char *ct = r->rq->content_type ? r->rq->content_type : "";
    const char *dry = eng_q(r, "dryRun");
    in->dry_run = dry && *dry;
    if (!r->res) {
        in->is_resource = false;
        in->verb = "other"; /* bounded: upstream reports unknown methods as "other" */
        for (size_t i = 0; i < sizeof(http_verbs) / sizeof(http_verbs[0]); i++)
            if (!strcmp(m, http_verbs[i]))
                in->verb = !strcmp(m, "HEAD") ? "GET" : http_verbs[i];
        in->scope = "";
        in->group[0] = in->version[0] = '\0';
        return;
    }
    in->is_resource = true;
    snprintf(in->resource, sizeof(in->resource), "%s", r->res->plural);
    snprintf(in->subresource, sizeof(in->subresource), "%s", r->sub ? r->sub : "");
    in->scope = r->ns ? "namespace" : r->name ? "resource" : "cluster";
    int v = r->sub ? -1 : pick_verb(r, m);
    if (v >= 0)
        in->verb = verbs[v];
    else if (r->sub && (!strcmp(r->sub, "exec") || !strcmp(r->sub, "attach") ||
                        !strcmp(r->sub, "portforward") || !strcmp(r->sub, "proxy")))
        in->verb = "CONNECT";
    else if (!strcmp(m, "GET") || !strcmp(m, "HEAD"))
        in->verb = "GET";
    else if (!strcmp(m, "PUT"))
        in->verb = "UPDATE";
    else if (!strcmp(m, "POST"))
        in->verb = "CREATE";
    else if (!strcmp(m, "DELETE"))
        in->verb = "DELETE";
    else if (!strcmp(m, "PATCH"))
        in->verb = "PATCH";
    else
        in->verb = "other";
    if (!strcmp(in->verb, "PATCH") && !strncmp(ct, "application/apply-patch", 23))
        in->verb = "APPLY";
}

enum api_result api_handle(struct api_server *s, const struct api_request *rq,
                           struct api_response *rs, struct api_watch **w)
{
    struct eng_req r;
    memset(&r, 0, sizeof(r));
    r.s = s;
    r.rq = rq;
    r.rs = rs;
    if (w)
        *w = NULL;
    parse_query(&r.q, rq->query);
    char *path = ck_strdup(rq->path ? rq->path : "/");
    const char *segs[MAX_SEGS];
    size_t n = split_path(path, segs);
    enum api_result res;
    bool proto = false;
    if (rq->body_len > (size_t)s->cache.opts.max_body) {
        struct ck_err e = CK_ERR_INIT;
        ck_err_set(&e, CK_R_TOO_LARGE, "the request body is too large (limit %lld bytes)",
                   (long long)s->cache.opts.max_body);
        eng_reply_err(&r, &e);
        res = API_DONE;
    } else {
        res = route(&r, segs, n, w, &proto);
    }
    fill_reqinfo(&r); /* before eng_conv_end, which may free a computed r.res */
    eng_conv_end(&r, res == API_WATCH && w ? *w : NULL); /* convert.c: back to the served version */
    if (res == API_DONE && r.fmt == FMT_YAML && rs->status < 300)
        to_yaml(rs);
    if (res == API_DONE && proto)
        to_proto(rs);
    if (res == API_WATCH && proto && w && *w) {
        (*w)->reframe = proto_encode_watch_event;
        snprintf(rs->content_type, sizeof(rs->content_type), "%s;stream=watch",
                 PROTO_CONTENT_TYPE);
    }
    free(path);
    free(r.q.raw);
    free(r.ns);
    free(r.name);
    free(r.sub);
    return res;
}

#include "lib/yamljson.h"

static void to_yaml(struct api_response *rs)
{
    json_error_t je;
    json_t *v = json_loadb(rs->body.data ? rs->body.data : "", rs->body.len, 0, &je);
    if (!v)
        return;
    struct ck_buf y = CK_BUF_INIT(rs->body.max);
    if (json_to_yaml(v, &y) == 0 && y.len > 0) {
        ck_buf_release(&rs->body);
        rs->body = y;
        snprintf(rs->content_type, sizeof(rs->content_type), "application/yaml");
    } else {
        ck_buf_release(&y);
    }
    json_decref(v);
}

/* The JSON response (body or lent pieces) as protobuf; kept as JSON when its kind has no
 * protobuf message (the client listed application/json as a fallback, as client-go does). */
static void to_proto(struct api_response *rs)
{
    struct ck_buf j = CK_BUF_INIT(rs->body.max);
    const char *data = rs->body.data ? rs->body.data : "";
    size_t len = rs->body.len;
    if (rs->lent.niov) {
        for (size_t i = 0; i < rs->lent.niov; i++)
            if (ck_buf_append(&j, rs->lent.iov[i].base, rs->lent.iov[i].len) < 0) {
                ck_buf_release(&j);
                return;
            }
        data = j.data;
        len = j.len;
    }
    json_error_t je;
    json_t *v = json_loadb(data, len, 0, &je);
    struct ck_buf pb = CK_BUF_INIT(rs->body.max);
    struct ck_err e = CK_ERR_INIT;
    if (v && proto_encode(v, &pb, &e) == 0) {
        ck_buf_release(&rs->body);
        rs->body = pb;
        api_iov_body_release(&rs->lent);
        snprintf(rs->content_type, sizeof(rs->content_type), "%s", PROTO_CONTENT_TYPE);
    } else {
        ck_buf_release(&pb);
    }
    json_decref(v);
    ck_buf_release(&j);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

int api_server_new(struct store *st, const struct api_opts *o, struct api_server **out,
                   struct ck_err *err)
{
    *out = NULL;
    if (!st)
        return ck_err_set(err, CK_R_INTERNAL, "api_server_new: no store");
    struct api_server *s = ck_calloc(1, sizeof(*s));
    struct api_opts opts = o ? *o : (struct api_opts){0};
    if (opts.watch_history <= 0)
        opts.watch_history = 10000;
    if (opts.max_body <= 0)
        opts.max_body = 3 * 1024 * 1024;
    eng_cache_init(&s->cache, st, &opts);
    pthread_mutex_init(&s->alloc_mu, NULL);
    s->lc = eng_listcost_new();
    eng_rbac_init(s);
    s->always_allow = opts.authorization_mode && !strcmp(opts.authorization_mode, "AlwaysAllow");
    eng_discovery_init(s);
    if (eng_tokens_init(s, err) < 0 || /* satoken: tokenauth.c */
        eng_alloc_init(s, err) < 0 || eng_cache_load(&s->cache, err) < 0 ||
        eng_bootstrap_namespaces(s, err) < 0 || eng_bootstrap_kubernetes_service(s, err) < 0 ||
        eng_flowcontrol_bootstrap(s, err) < 0 || /* apf */
        eng_bootstrap_rbac(s, err) < 0 ||
        eng_compactor_start(&s->cache, err) < 0) {
        api_server_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void api_server_free(struct api_server *s)
{
    if (!s)
        return;
    eng_alloc_stop(s); /* the endpoint reconciler of default/kubernetes */
    eng_cache_destroy(&s->cache);
    eng_flowcontrol_free(s); /* apf */
    pthread_mutex_destroy(&s->alloc_mu);
    eng_listcost_free(s->lc);
    eng_tokens_free(s); /* satoken */
    eng_rbac_free(s);
    free(s);
}

int api_metrics(struct api_server *s, struct ck_buf *out)
{
    static const char *const names[] = {"GET",   "LIST",  "WATCH",  "CREATE",
                                        "UPDATE", "PATCH", "DELETE", "DELETECOLLECTION"};
    int rc = ck_metrics_header(out, "ckube_apiserver_requests_total",
                               "Resource requests the engine dispatched, by verb.", "counter");
    for (size_t i = 0; i < 8; i++)
        rc |= ck_buf_appendf(out, "ckube_apiserver_requests_total{verb=\"%s\"} %lld\n", names[i],
                             (long long)atomic_load(&s->m.requests[i]));
    rc |= ck_metrics_header(out, "ckube_apiserver_errors_total",
                            "Requests the engine answered with an error Status.", "counter");
    rc |= ck_buf_appendf(out, "ckube_apiserver_errors_total %lld\n",
                         (long long)atomic_load(&s->m.errors));
    rc |= ck_metrics_header(out, "ckube_apiserver_list_items_total",
                            "Items returned by LIST requests.", "counter");
    rc |= ck_buf_appendf(out, "ckube_apiserver_list_items_total %lld\n",
                         (long long)atomic_load(&s->m.list_items));
    rc |= ck_metrics_header(out, "ckube_apiserver_list_bytes_total",
                            "Response bytes of LIST requests.", "counter");
    rc |= ck_buf_appendf(out, "ckube_apiserver_list_bytes_total %lld\n",
                         (long long)atomic_load(&s->m.list_bytes));
    rc |= ck_metrics_header(out, "ckube_apiserver_watch_events_total",
                            "Events queued to watchers.", "counter");
    rc |= ck_buf_appendf(out, "ckube_apiserver_watch_events_total %lld\n",
                         (long long)atomic_load(&s->cache.watch_events));
    rc |= ck_buf_appendf(out,
                         "# HELP ckube_apiserver_list_exact_pages_total LIST pages served at an "
                         "exact revision, by source.\n"
                         "# TYPE ckube_apiserver_list_exact_pages_total counter\n"
                         "ckube_apiserver_list_exact_pages_total{source=\"snapshot\"} %lld\n"
                         "ckube_apiserver_list_exact_pages_total{source=\"store\"} %lld\n",
                         (long long)atomic_load(&s->m.list_pages_snapshot),
                         (long long)atomic_load(&s->m.list_pages_store));
    rc |= ck_metrics_header(out, "ckube_apiserver_current_revision",
                            "Latest store revision applied to the cache.", "gauge");
    rc |= ck_buf_appendf(out, "ckube_apiserver_current_revision %lld\n",
                         (long long)eng_cur_rev(&s->cache));
    rc |= eng_listcost_metrics(s->lc, out);
    rc |= eng_upstream_metrics(s, out);
    rc |= store_metrics(out);
    return rc < 0 ? -1 : 0;
}
