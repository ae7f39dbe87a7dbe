/* SPDX-License-Identifier: Apache-2.0 */
/* The audit log backend and the request path's audit records (see http_audit.h). A record
 * lives from http_audit_begin to h2o's disposal of the request (a pool-shared allocation
 * whose dispose callback fires then); RequestReceived/ResponseStarted lines are built on the
 * loop (they are small), a ResponseComplete record is handed whole to the writer thread, which
 * builds its line (request and response objects included), writes and rotates the file. */
#include "apiserver/http/http_audit.h"

#include "apiserver/authz/authz.h"
#include "apiserver/http/http_int.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "lib/banned.h"

#define AUDIT_QUEUE_MAX ((size_t)256 << 20) /* bytes of queued events before dropping */
#define AUDIT_ENV_KEY "ckube.audit"

/* One request's audit state (heap; the request pool holds a pointer to it). */
struct audit_rec {
    struct http_audit *a;
    h2o_req_t *req; /* NULL once handed to the writer */
    char id[64];
    char *uri, *verb, *ua, *path;
    char *ip; /* sourceIPs, comma-separated */
    int64_t received_ns, complete_ns;
    bool have_user, forbid;
    char *reason;
    char *user, *uid, **groups; /* groups NULL-terminated */
    char *as_user, *as_uid, **as_groups;
    struct authz_attrs at;
    bool have_attrs;
    enum audit_level level;
    unsigned omit;
    bool leveled;
    char *req_obj; /* request body (JSON or protobuf) at Request+ */
    size_t req_len;
    char *resp_obj; /* response body at RequestResponse, or the error Status */
    size_t resp_len;
    bool req_pb, resp_pb; /* the bodies are protobuf */
    int code;
};

struct audit_item {
    struct audit_item *next;
    char *line; /* a ready line, or */
    size_t len;
    struct audit_rec *rec; /* a ResponseComplete record to format */
};

struct http_audit {
    struct audit_policy *pol;
    char *path; /* NULL: stdout */
    int fd;
    off_t size;
    long long max_bytes;
    int max_backup, max_age_days;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct audit_item *head, **tail;
    size_t queued;
    bool stop;
    unsigned long dropped;
    int (*decode_proto)(const void *body, size_t len, json_t **out, struct ck_err *err);
};

/* ---- flags ----------------------------------------------------------------------------- */

static const char *flag_val(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (!strncmp(argv[*i], name, n) && argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (!strcmp(argv[*i], name) && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static int int_flag(const char *name, const char *v, int *out)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < 0 || n > 1000000) {
        fprintf(stderr, "Error: invalid argument \"%s\" for \"%s\" flag\n", v, name);
        return -1;
    }
    *out = (int)n;
    return 1;
}

int http_audit_flag(int argc, char **argv, int *i, struct http_audit_opts *o)
{
    const char *v;
    if ((v = flag_val(argc, argv, i, "--audit-policy-file"))) {
        o->policy_file = v;
        return 1;
    }
    if ((v = flag_val(argc, argv, i, "--audit-log-path"))) {
        o->log_path = v;
        return 1;
    }
    if ((v = flag_val(argc, argv, i, "--audit-log-maxsize")))
        return int_flag("--audit-log-maxsize", v, &o->max_size_mb);
    if ((v = flag_val(argc, argv, i, "--audit-log-maxbackup")))
        return int_flag("--audit-log-maxbackup", v, &o->max_backup);
    if ((v = flag_val(argc, argv, i, "--audit-log-maxage")))
        return int_flag("--audit-log-maxage", v, &o->max_age_days);
    return 0;
}

/* ---- the file: rotation as lumberjack (upstream's log backend) does ------------------- */

static void split_name(const char *path, char *dir, size_t dn, char *stem, size_t sn, char *ext,
                       size_t en)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    snprintf(dir, dn, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        dot = base + strlen(base);
    snprintf(stem, sn, "%.*s", (int)(dot - base), base);
    snprintf(ext, en, "%s", dot);
}

static int name_cmp(const void *x, const void *y)
{
    return strcmp(*(char *const *)y, *(char *const *)x); /* newest (largest stamp) first */
}

/* Removes rotated files past max_backup or older than max_age_days. */
static void prune_backups(struct http_audit *a)
{
    char dir[4096], stem[1024], ext[256];
    split_name(a->path, dir, sizeof(dir), stem, sizeof(stem), ext, sizeof(ext));
    DIR *d = opendir(dir);
    if (!d)
        return;
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    size_t sl = strlen(stem), el = strlen(ext);
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l == sl + 1 + 23 + el && !strncmp(e->d_name, stem, sl) && e->d_name[sl] == '-' &&
            !strcmp(e->d_name + l - el, ext)) {
            names = ck_realloc(names, (n + 1) * sizeof(*names));
            names[n++] = ck_strdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof(*names), name_cmp);
    time_t now = time(NULL);
    for (size_t i = 0; i < n; i++) {
        char full[8192];
        snprintf(full, sizeof(full), "%s/%s", dir, names[i]);
        struct stat st;
        bool old = a->max_age_days > 0 && stat(full, &st) == 0 &&
                   now - st.st_mtime > (time_t)a->max_age_days * 86400;
        if ((a->max_backup > 0 && i >= (size_t)a->max_backup) || old)
            unlink(full);
        free(names[i]);
    }
    free(names);
}

static int open_log(struct http_audit *a, struct ck_err *err)
{
    a->fd = open(a->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (a->fd < 0)
        return ck_err_sys(err, errno, "opening the audit log %s", a->path);
    struct stat st;
    a->size = fstat(a->fd, &st) == 0 ? st.st_size : 0;
    return 0;
}

static void rotate(struct http_audit *a)
{
    char dir[4096], stem[1024], ext[256], to[8192], stamp[32];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H-%M-%S", &tm);
    split_name(a->path, dir, sizeof(dir), stem, sizeof(stem), ext, sizeof(ext));
    snprintf(to, sizeof(to), "%s/%s-%s.%03ld%s", dir, stem, stamp, ts.tv_nsec / 1000000, ext);
    close(a->fd);
    if (rename(a->path, to) < 0)
        ck_error("audit: rotating %s to %s: %s", a->path, to, strerror(errno));
    struct ck_err err = CK_ERR_INIT;
    if (open_log(a, &err) < 0)
        ck_error("audit: %s", err.msg);
    prune_backups(a);
}

static void write_line(struct http_audit *a, const char *line, size_t len)
{
    int fd = a->path ? a->fd : STDOUT_FILENO;
    if (fd < 0)
        return;
    if (a->path && a->max_bytes > 0 && a->size > 0 && a->size + (off_t)len + 1 > a->max_bytes) {
        rotate(a);
        fd = a->fd;
        if (fd < 0)
            return;
    }
    struct iovec v[2] = {{(void *)line, len}, {(void *)"\n", 1}};
    ssize_t w = writev(fd, v, 2);
    if (w < 0)
        ck_error("audit: writing the audit log: %s", strerror(errno));
    else
        a->size += w;
}

/* ---- event lines ------------------------------------------------------------------------- */

static json_t *user_json(const char *name, const char *uid, char **groups)
{
    json_t *u = json_object();
    if (name)
        json_object_set_new(u, "username", json_string(name));
    if (uid && *uid)
        json_object_set_new(u, "uid", json_string(uid));
    if (groups && groups[0]) {
        json_t *g = json_array();
        for (size_t i = 0; groups[i]; i++)
            json_array_append_new(g, json_string(groups[i]));
        json_object_set_new(u, "groups", g);
    }
    return u;
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v && *v)
        json_object_set_new(o, k, json_string(v));
}

static json_t *object_ref(const struct audit_rec *r)
{
    json_t *o = json_object();
    set_str(o, "resource", r->at.resource);
    set_str(o, "namespace", r->at.ns);
    set_str(o, "name", r->at.name);
    set_str(o, "apiGroup", r->at.group);
    set_str(o, "apiVersion", r->at.version);
    set_str(o, "subresource", r->at.subresource);
    return o;
}

static void stamp(int64_t ns, char out[40])
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char d[24];
    strftime(d, sizeof(d), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%s.%06ldZ", d, (long)(ns % 1000000000 / 1000));
}

static const char *stage_name(unsigned st)
{
    return st == AUDIT_STAGE_RECEIVED  ? "RequestReceived"
           : st == AUDIT_STAGE_STARTED ? "ResponseStarted"
           : st == AUDIT_STAGE_PANIC   ? "Panic"
                                       : "ResponseComplete";
}

/* A JSON value from body bytes (protobuf when pb), or NULL when they are no object/array. */
static json_t *body_json(const struct http_audit *a, const char *b, size_t n, bool pb)
{
    if (!b || !n)
        return NULL;
    json_t *v = NULL;
    if (pb) {
        struct ck_err err = CK_ERR_INIT;
        if (!a->decode_proto || a->decode_proto(b, n, &v, &err) < 0)
            return NULL;
    } else {
        v = json_loadb(b, n, 0, NULL);
    }
    if (v && !json_is_object(v) && !json_is_array(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

static json_t *response_status(const struct audit_rec *r)
{
    json_t *s = json_object();
    json_object_set_new(s, "metadata", json_object());
    if (r->code >= 400 || r->code < 200) {
        json_t *st = r->code >= 400 ? body_json(r->a, r->resp_obj, r->resp_len, r->resp_pb) : NULL;
        const char *kind = json_string_value(json_object_get(st, "kind"));
        if (kind && !strcmp(kind, "Status")) {
            json_object_set(s, "status", json_object_get(st, "status"));
            set_str(s, "message", json_string_value(json_object_get(st, "message")));
            set_str(s, "reason", json_string_value(json_object_get(st, "reason")));
            json_t *det = json_object_get(st, "details");
            if (det)
                json_object_set(s, "details", det);
        } else if (r->code >= 400) {
            json_object_set_new(s, "status", json_string("Failure"));
        }
        json_decref(st);
    }
    json_object_set_new(s, "code", json_integer(r->code));
    return s;
}

static char *event_line(const struct audit_rec *r, unsigned stage, int64_t now_ns, size_t *len)
{
    char ts[40];
    json_t *e = json_object();
    json_object_set_new(e, "kind", json_string("Event"));
    json_object_set_new(e, "apiVersion", json_string("audit.k8s.io/v1"));
    json_object_set_new(e, "level", json_string(audit_level_name(r->level)));
    json_object_set_new(e, "auditID", json_string(r->id));
    json_object_set_new(e, "stage", json_string(stage_name(stage)));
    json_object_set_new(e, "requestURI", json_string(r->uri));
    json_object_set_new(e, "verb", json_string(r->verb));
    json_object_set_new(e, "user", user_json(r->user, r->uid, r->groups));
    if (r->as_user)
        json_object_set_new(e, "impersonatedUser", user_json(r->as_user, r->as_uid, r->as_groups));
    json_t *ips = json_array();
    for (const char *p = r->ip; *p;) {
        size_t n = strcspn(p, ",");
        json_array_append_new(ips, json_stringn(p, n));
        p += n + (p[n] == ',');
    }
    json_object_set_new(e, "sourceIPs", ips);
    set_str(e, "userAgent", r->ua);
    if (r->have_attrs && r->at.resource_request)
        json_object_set_new(e, "objectRef", object_ref(r));
    if (stage != AUDIT_STAGE_RECEIVED)
        json_object_set_new(e, "responseStatus", response_status(r));
    if (stage == AUDIT_STAGE_COMPLETE && r->level >= AUDIT_REQUEST) {
        json_t *o = body_json(r->a, r->req_obj, r->req_len, r->req_pb);
        if (o)
            json_object_set_new(e, "requestObject", o);
    }
    if (stage == AUDIT_STAGE_COMPLETE && r->level >= AUDIT_REQUEST_RESPONSE && r->code < 400) {
        json_t *o = body_json(r->a, r->resp_obj, r->resp_len, r->resp_pb);
        if (o)
            json_object_set_new(e, "responseObject", o);
    }
    stamp(r->received_ns, ts);
    json_object_set_new(e, "requestReceivedTimestamp", json_string(ts));
    stamp(now_ns, ts);
    json_object_set_new(e, "stageTimestamp", json_string(ts));
    if (r->have_user) {
        json_t *an = json_object();
        json_object_set_new(an, "authorization.k8s.io/decision",
                            json_string(r->forbid ? "forbid" : "allow"));
        json_object_set_new(an, "authorization.k8s.io/reason",
                            json_string(r->reason ? r->reason : ""));
        json_object_set_new(e, "annotations", an);
    }
    char *s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(e);
    *len = s ? strlen(s) : 0;
    return s;
}

/* ---- records ----------------------------------------------------------------------------- */

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static char **strv_dup(char **v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    char **o = ck_calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        o[i] = ck_strdup(v[i]);
    return o;
}

static void rec_free(struct audit_rec *r)
{
    free(r->uri);
    free(r->verb);
    free(r->ua);
    free(r->ip);
    free(r->path);
    free(r->reason);
    free(r->user);
    free(r->uid);
    strv_free(r->groups);
    free(r->as_user);
    free(r->as_uid);
    strv_free(r->as_groups);
    if (r->have_attrs)
        authz_attrs_release(&r->at);
    free(r->req_obj);
    free(r->resp_obj);
    free(r);
}

/* The level of r (evaluated once the caller is known). */
static enum audit_level rec_level(struct audit_rec *r)
{
    if (r->leveled)
        return r->level;
    /* upstream's WithAudit runs after authentication and before impersonation: the policy
     * sees the authenticated user */
    struct audit_attrs aa = {.user = r->user, .groups = (const char *const *)r->groups};
    if (r->have_attrs) {
        aa.verb = r->at.verb;
        aa.resource_request = r->at.resource_request;
        aa.group = r->at.group;
        aa.resource = r->at.resource;
        aa.subresource = r->at.subresource;
        aa.ns = r->at.ns;
        aa.name = r->at.name;
        aa.path = r->at.path;
    } else {
        aa.verb = r->verb;
        aa.path = r->path;
    }
    r->level = audit_policy_eval(r->a->pol, &aa, &r->omit);
    r->leveled = true;
    return r->level;
}

static void queue_item(struct http_audit *a, struct audit_item *it, size_t weight)
{
    pthread_mutex_lock(&a->mu);
    if (a->queued + weight > AUDIT_QUEUE_MAX) {
        a->dropped++;
        pthread_mutex_unlock(&a->mu);
        if (it->rec)
            rec_free(it->rec);
        free(it->line);
        free(it);
        return;
    }
    a->queued += weight;
    *a->tail = it;
    a->tail = &it->next;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

void http_audit_enqueue(struct http_audit *a, char *line, size_t len)
{
    struct audit_item *it = ck_calloc(1, sizeof(*it));
    it->line = line;
    it->len = len;
    queue_item(a, it, len + 1);
}

static void emit_now(struct audit_rec *r, unsigned stage)
{
    if (rec_level(r) == AUDIT_NONE || (r->omit & stage))
        return;
    size_t len;
    char *line = event_line(r, stage, ck_real_ns(), &len);
    if (line)
        http_audit_enqueue(r->a, line, len);
}

static void rec_dispose(void *p)
{
    struct audit_rec *r = *(struct audit_rec **)p;
    if (!r)
        return;
    if (r->a && r->req && rec_level(r) != AUDIT_NONE && !(r->omit & AUDIT_STAGE_COMPLETE)) {
        if (!r->code)
            r->code = r->req->res.status;
        r->complete_ns = ck_real_ns();
        r->req = NULL;
        struct audit_item *it = ck_calloc(1, sizeof(*it));
        it->rec = r;
        queue_item(r->a, it, 1024 + r->req_len + r->resp_len);
        return;
    }
    rec_free(r);
}

static struct audit_rec *rec_of(h2o_req_t *req)
{
    for (size_t i = 0; i + 1 < req->env.size; i += 2)
        if (h2o_memis(req->env.entries[i].base, req->env.entries[i].len, H2O_STRLIT(AUDIT_ENV_KEY)))
            return (struct audit_rec *)(void *)req->env.entries[i + 1].base;
    return NULL;
}

static void new_audit_id(char out[64])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        memset(b, 0, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 64, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static char *peer_ip(h2o_req_t *req)
{
    struct sockaddr_storage ss;
    char buf[INET6_ADDRSTRLEN] = "";
    socklen_t n = req->conn->callbacks->get_peername
                      ? req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss)
                      : 0;
    if (n && ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, sizeof(buf));
    else if (n && ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, buf, sizeof(buf));
    return ck_strdup(buf);
}

/* upstream's utilnet.SourceIPs: X-Forwarded-For's addresses, X-Real-Ip, then the peer, each
 * once, comma-separated. */
static char *source_ips(h2o_req_t *req)
{
    struct ck_buf b = CK_BUF_INIT(4096);
    static const char *const hdrs[] = {"x-forwarded-for", "x-real-ip"};
    char *peer = peer_ip(req);
    for (int h = 0; h < 3; h++) {
        const char *v = peer;
        size_t vl = strlen(peer);
        if (h < 2) {
            ssize_t i = h2o_find_header_by_str(&req->headers, hdrs[h], strlen(hdrs[h]), -1);
            if (i < 0)
                continue;
            v = req->headers.entries[i].value.base;
            vl = req->headers.entries[i].value.len;
        }
        for (size_t off = 0; off < vl;) {
            size_t n = 0;
            while (off + n < vl && v[off + n] != ',')
                n++;
            char ip[INET6_ADDRSTRLEN + 1];
            const char *t = v + off;
            size_t tl = n;
            while (tl && (*t == ' ' || *t == '\t'))
                t++, tl--;
            while (tl && (t[tl - 1] == ' ' || t[tl - 1] == '\t'))
                tl--;
            off += n + 1;
            unsigned char bin[16];
            if (!tl || tl >= sizeof(ip))
                continue;
            memcpy(ip, t, tl);
            ip[tl] = 0;
            if (inet_pton(AF_INET, ip, bin) != 1 && inet_pton(AF_INET6, ip, bin) != 1)
                continue;
            bool dup = false;
            for (const char *p = b.data; p && *p && !dup;) {
                size_t m = strcspn(p, ",");
                dup = m == tl && !memcmp(p, ip, tl);
                p += m + (p[m] == ',');
            }
            if (!dup && (!b.len || ck_buf_appendc(&b, ',') == 0))
                ck_buf_appends(&b, ip);
        }
    }
    free(peer);
    size_t n;
    return ck_buf_detach(&b, &n);
}

void http_audit_begin(struct http_audit *a, h2o_req_t *req)
{
    char id[64];
    static const h2o_iovec_t hdr = {H2O_STRLIT("audit-id")};
    ssize_t i = h2o_find_header_by_str(&req->headers, hdr.base, hdr.len, -1);
    if (i >= 0 && req->headers.entries[i].value.len > 0 && req->headers.entries[i].value.len < 64)
        snprintf(id, sizeof(id), "%.*s", (int)req->headers.entries[i].value.len,
                 req->headers.entries[i].value.base);
    else
        new_audit_id(id);
    h2o_iovec_t v = h2o_strdup(&req->pool, id, SIZE_MAX);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("audit-id"), 0, NULL, v.base,
                          v.len);
    if (!a)
        return;
    struct audit_rec *r = ck_calloc(1, sizeof(*r));
    r->a = a;
    r->req = req;
    memcpy(r->id, id, sizeof(id));
    r->received_ns = ck_real_ns();
    r->uri = ck_strndup(req->path.base, req->path.len);
    r->verb = ck_strndup(req->method.base, req->method.len);
    for (char *p = r->verb; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    ssize_t u = h2o_find_header(&req->headers, H2O_TOKEN_USER_AGENT, -1);
    if (u >= 0)
        r->ua = ck_strndup(req->headers.entries[u].value.base, req->headers.entries[u].value.len);
    r->ip = source_ips(req);
    struct audit_rec **slot = h2o_mem_alloc_shared(&req->pool, sizeof(*slot), rec_dispose);
    *slot = r;
    h2o_vector_reserve(&req->pool, &req->env, req->env.size + 2);
    req->env.entries[req->env.size++] = h2o_iovec_init(H2O_STRLIT(AUDIT_ENV_KEY));
    req->env.entries[req->env.size++] = h2o_iovec_init((char *)r, 0);
}

void http_audit_user(h2o_req_t *req, const char *path, const struct authn_user *who,
                     const struct authn_user *as)
{
    struct audit_rec *r = rec_of(req);
    if (!r)
        return;
    if (who) {
        r->have_user = true;
        r->user = ck_strdup(who->name);
        r->uid = who->uid ? ck_strdup(who->uid) : NULL;
        r->groups = strv_dup(who->groups);
    }
    if (as) {
        r->as_user = ck_strdup(as->name);
        r->as_uid = as->uid ? ck_strdup(as->uid) : NULL;
        r->as_groups = strv_dup(as->groups);
    }
    r->path = ck_strdup(path);
    char *query = req->query_at != SIZE_MAX ? ck_strndup(req->path.base + req->query_at + 1,
                                                         req->path.len - req->query_at - 1)
                                            : NULL;
    char *method = ck_strndup(req->method.base, req->method.len);
    authz_attrs_from_request(method, path, query, &r->at);
    r->have_attrs = true;
    free(r->verb);
    r->verb = ck_strdup(r->at.verb);
    free(method);
    free(query);
    ssize_t ct = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    r->req_pb = ct >= 0 &&
                h2o_strstr(req->headers.entries[ct].value.base, req->headers.entries[ct].value.len,
                           H2O_STRLIT("protobuf")) != SIZE_MAX;
    if (rec_level(r) >= AUDIT_REQUEST && req->entity.len) {
        r->req_obj = ck_malloc(req->entity.len + 1); /* protobuf may hold NULs */
        memcpy(r->req_obj, req->entity.base, req->entity.len);
        r->req_obj[req->entity.len] = 0;
        r->req_len = req->entity.len;
    }
    if (r->level >= AUDIT_METADATA && req->entity.len && !strcmp(r->at.verb, "create") &&
        !*r->at.name) { /* upstream completes objectRef from the created object */
        json_t *o = body_json(r->a, req->entity.base, req->entity.len, r->req_pb);
        const char *n = json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));
        if (n) {
            free(r->at.name);
            r->at.name = ck_strdup(n);
        }
        json_decref(o);
    }
    emit_now(r, AUDIT_STAGE_RECEIVED);
}

void http_audit_forbid(h2o_req_t *req, const char *reason)
{
    struct audit_rec *r = rec_of(req);
    if (!r)
        return;
    r->forbid = true;
    free(r->reason);
    r->reason = reason ? ck_strdup(reason) : NULL;
}

void http_audit_job(h2o_req_t *req, const struct http_job *j, bool watch)
{
    struct audit_rec *r = rec_of(req);
    if (!r || rec_level(r) == AUDIT_NONE)
        return;
    r->code = j->rs.status;
    if (watch) {
        emit_now(r, AUDIT_STAGE_STARTED);
        return;
    }
    bool keep = r->level >= AUDIT_REQUEST_RESPONSE || j->rs.status >= 400;
    r->resp_pb = strstr(j->rs.content_type, "protobuf") != NULL;
    if (!keep || (!r->resp_pb && strstr(j->rs.content_type, "json") == NULL))
        return;
    struct ck_buf b = CK_BUF_INIT((size_t)64 << 20);
    if (j->rs.lent.niov) {
        for (size_t i = 0; i < j->rs.lent.niov; i++)
            if (ck_buf_append(&b, j->rs.lent.iov[i].base, j->rs.lent.iov[i].len) < 0)
                break;
    } else {
        ck_buf_append(&b, j->rs.body.data ? j->rs.body.data : "", j->rs.body.len);
    }
    free(r->resp_obj);
    r->resp_obj = ck_buf_detach(&b, &r->resp_len);
}

/* ---- the writer ---------------------------------------------------------------------------- */

static void *writer_main(void *arg)
{
    struct http_audit *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (!a->head && !a->stop)
            pthread_cond_wait(&a->cv, &a->mu);
        struct audit_item *it = a->head;
        if (!it)
            break;
        a->head = NULL;
        a->tail = &a->head;
        a->queued = 0;
        pthread_mutex_unlock(&a->mu);
        while (it) {
            struct audit_item *next = it->next;
            if (it->rec) {
                size_t len;
                char *line = event_line(it->rec, AUDIT_STAGE_COMPLETE, it->rec->complete_ns, &len);
                if (line)
                    write_line(a, line, len);
                free(line);
                rec_free(it->rec);
            } else {
                write_line(a, it->line, it->len);
                free(it->line);
            }
            free(it);
            it = next;
        }
        pthread_mutex_lock(&a->mu);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

int http_audit_new(const struct http_audit_opts *o, struct http_audit **out, struct ck_err *err)
{
    *out = NULL;
    if (!o->policy_file || !o->log_path)
        return 0;
    struct http_audit *a = ck_calloc(1, sizeof(*a));
    a->fd = -1;
    if (audit_policy_load(o->policy_file, &a->pol, err) < 0) {
        free(a);
        return -1;
    }
    a->path = strcmp(o->log_path, "-") ? ck_strdup(o->log_path) : NULL;
    a->max_bytes = (long long)o->max_size_mb << 20;
    a->max_backup = o->max_backup;
    a->max_age_days = o->max_age_days;
    a->decode_proto = o->decode_proto;
    if (a->path && open_log(a, err) < 0) {
        audit_policy_free(a->pol);
        free(a->path);
        free(a);
        return -1;
    }
    a->tail = &a->head;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    int rc = pthread_create(&a->th, NULL, writer_main, a);
    if (rc) {
        if (a->fd >= 0)
            close(a->fd);
        audit_policy_free(a->pol);
        free(a->path);
        free(a);
        return ck_err_sys(err, rc, "starting the audit log writer");
    }
    *out = a;
    return 0;
}

void http_audit_free(struct http_audit *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->th, NULL);
    if (a->fd >= 0)
        close(a->fd);
    if (a->dropped)
        ck_warn("audit: %lu events were dropped (the writer fell behind)", a->dropped);
    audit_policy_free(a->pol);
    free(a->path);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a);
}

unsigned long http_audit_dropped(const struct http_audit *a)
{
    return a ? a->dropped : 0;
}
