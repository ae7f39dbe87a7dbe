/* SPDX-License-Identifier: Apache-2.0 */
/* Requests of the newer groups that the generic verbs do not cover: core/v1
 * componentstatuses (computed on each read, as upstream's pkg/registry/core/componentstatus:
 * the store as etcd-0, the scheduler and controller-manager probed on their secure ports) and
 * certificates.k8s.io CertificateSigningRequests (the requesting user recorded on create, the
 * /approval subresource that only changes status.conditions). */
#include "apiserver/endpoints/endpoints.h"
#include "apiserver/endpoints/write_int.h"
#include "apiserver/registry/printers.h"
#include "apiserver/registry/schema.h"
#include "lib/jsonpatch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/banned.h"

/* ---- componentstatuses ------------------------------------------------------------------- */

/* TCP reachability of 127.0.0.1:port within 300 ms; errno-like text in why on failure. */
static bool reachable(int port, char *why, size_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, n, "socket: %s", strerror(errno));
        return false;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof(a)), e = errno;
    if (rc < 0 && e == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (poll(&p, 1, 300) == 1) {
            socklen_t l = sizeof(e);
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
            rc = e ? -1 : 0;
        } else {
            e = ETIMEDOUT;
        }
    }
    close(fd);
    if (rc == 0)
        return true;
    snprintf(why, n, "%s", e == ECONNREFUSED ? "connection refused" : "i/o timeout");
    return false;
}

static json_t *component(const char *name, int port)
{
    json_t *c = json_pack("{s:s}", "type", "Healthy");
    char why[64];
    if (port == 0 || reachable(port, why, sizeof(why))) {
        json_object_set_new(c, "status", json_string("True"));
        json_object_set_new(c, "message", json_string("ok"));
    } else {
        /* upstream: the probe's error, status Unknown (printed Unhealthy) */
        char e[256];
        snprintf(e, sizeof(e),
                 "Get \"https://127.0.0.1:%d/healthz\": dial tcp 127.0.0.1:%d: connect: %s", port,
                 port, why);
        json_object_set_new(c, "status", json_string("Unknown"));
        json_object_set_new(c, "error", json_string(e));
    }
    return json_pack("{s:s,s:s,s:{s:s},s:[o]}", "kind", "ComponentStatus", "apiVersion", "v1",
                     "metadata", "name", name, "conditions", c);
}

static const struct {
    const char *name;
    int port; /* 0: the store itself */
} components[] = {{"scheduler", 10259}, {"controller-manager", 10257}, {"etcd-0", 0}};

static json_t *table_of(struct eng_req *r, json_t **items, size_t n)
{
    json_t *t = json_pack("{s:s,s:s,s:{s:s},s:o,s:[]}", "kind", "Table", "apiVersion",
                          r->table_version && strcmp(r->table_version, "v1beta1") == 0
                              ? "meta.k8s.io/v1beta1"
                              : "meta.k8s.io/v1",
                          "metadata", "resourceVersion", "", "columnDefinitions",
                          printer_column_definitions("", "componentstatuses"), "rows");
    const char *inc = eng_q(r, "includeObject");
    for (size_t i = 0; i < n; i++) {
        json_t *row = json_pack("{s:o}", "cells",
                                printer_cells("", "componentstatuses", items[i], time(NULL)));
        if (inc && strcmp(inc, "Object") == 0)
            json_object_set(row, "object", items[i]);
        else if (!inc || strcmp(inc, "None") != 0)
            json_object_set_new(row, "object",
                                json_pack("{s:s,s:s,s:O}", "kind", "PartialObjectMetadata",
                                          "apiVersion", "meta.k8s.io/v1", "metadata",
                                          json_object_get(items[i], "metadata")));
        json_array_append_new(json_object_get(t, "rows"), row);
    }
    return t;
}

static void reply_json(struct eng_req *r, json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    eng_reply(r, 200, s ? s : "{}", s ? strlen(s) : 2);
    free(s);
    if (r->fmt == FMT_TABLE)
        snprintf(r->rs->content_type, sizeof(r->rs->content_type),
                 "application/json;as=Table;v=%s;g=meta.k8s.io",
                 r->table_version ? r->table_version : "v1");
}

static void serve_componentstatuses(struct eng_req *r, const char *m)
{
    struct ck_err err = CK_ERR_INIT;
    if (strcmp(m, "GET") != 0 || r->sub || r->watch || eng_qbool(r, "watch")) {
        ck_err_set(&err, CK_R_METHOD_NOT_ALLOWED,
                   "the server does not allow this method on the requested resource");
        eng_reply_err(r, &err);
        return;
    }
    eng_add_warning(r->rs, "v1 ComponentStatus is deprecated in v1.19+");
    size_t n = sizeof(components) / sizeof(components[0]);
    json_t *items[3];
    if (r->name) {
        size_t i = 0;
        while (i < n && strcmp(components[i].name, r->name) != 0)
            i++;
        if (i == n) { /* upstream answers a plain error: 500 */
            ck_err_set(&err, CK_R_INTERNAL, "Internal error occurred: Component not found: %s",
                       r->name);
            eng_reply_err(r, &err);
            return;
        }
        items[0] = component(components[i].name, components[i].port);
        reply_json(r, r->fmt == FMT_TABLE ? table_of(r, items, 1) : json_incref(items[0]));
        json_decref(items[0]);
        return;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = component(components[i].name, components[i].port);
    json_t *out;
    if (r->fmt == FMT_TABLE) {
        out = table_of(r, items, n);
    } else {
        out = json_pack("{s:s,s:s,s:{},s:[]}", "kind", "ComponentStatusList", "apiVersion", "v1",
                        "metadata", "items");
        for (size_t i = 0; i < n; i++)
            json_array_append(json_object_get(out, "items"), items[i]);
    }
    for (size_t i = 0; i < n; i++)
        json_decref(items[i]);
    reply_json(r, out);
}

/* ---- certificatesigningrequests ------------------------------------------------------------ */

/* The requesting user, recorded on create as upstream's PrepareForCreate does. */
static int csr_create(struct eng_req *r)
{
    struct ck_err err = CK_ERR_INIT;
    json_t *obj = NULL;
    int mode = eng_field_validation(r, &err);
    if (mode < 0 || eng_decode_req(r->rq, mode, r->rs, &obj, &err) < 0) {
        eng_reply_err(r, &err);
        return 1;
    }
    json_t *spec = json_object_get(obj, "spec");
    if (json_is_object(spec)) {
        json_t *groups = json_array();
        for (size_t i = 0; r->rq->groups && r->rq->groups[i]; i++)
            json_array_append_new(groups, json_string(r->rq->groups[i]));
        json_object_set_new(spec, "username", json_string(r->rq->user ? r->rq->user : ""));
        json_object_del(spec, "uid");
        json_object_del(spec, "extra");
        json_object_set_new(spec, "groups", groups);
    }
    json_object_set_new(obj, "status", json_object());
    eng_conv_set_body(r, obj);
    json_decref(obj);
    return 0;
}

struct approval {
    json_t *body;  /* PUT: the new object */
    json_t *patch; /* PATCH */
    int ptype;     /* 1 json, 2 merge, 3 strategic */
};

static bool same_str(json_t *a, json_t *b, const char *k)
{
    const char *x = json_string_value(json_object_get(a, k));
    const char *y = json_string_value(json_object_get(b, k));
    return x && y && strcmp(x, y) == 0;
}

/* Only status.conditions change; missing timestamps are filled (populateConditionTimestamps). */
static int mutate_approval(struct eng_req *r, struct eng_upd *u, json_t *cur, json_t **out,
                           struct ck_err *err)
{
    struct approval *a = u->ctx;
    json_t *nw = NULL;
    if (a->body) {
        nw = json_incref(a->body);
    } else {
        int rc;
        if (a->ptype == 1) {
            rc = jsonpatch_apply(cur, a->patch, &nw, err);
        } else if (a->ptype == 3) {
            const struct schema_type *t =
                schema_lookup_kind(r->res->group, r->res->version, r->res->kind);
            rc = schema_smp_apply(t, cur, a->patch, &nw, err);
        } else {
            rc = mergepatch_apply(cur, a->patch, &nw, err);
        }
        if (rc < 0) {
            json_decref(cur);
            return -1;
        }
    }
    const char *rv = eng_md_str(nw, "resourceVersion");
    u->client_rv = a->body && rv && *rv;
    json_t *old = json_object_get(json_object_get(cur, "status"), "conditions");
    json_t *conds = json_object_get(json_object_get(nw, "status"), "conditions");
    conds = json_is_array(conds) ? json_deep_copy(conds) : json_array();
    char now[21];
    eng_rfc3339_now(now);
    size_t i, j;
    json_t *c, *o;
    json_array_foreach(conds, i, c)
    {
        if (!json_is_object(c))
            continue;
        if (!json_string_value(json_object_get(c, "lastUpdateTime")))
            json_object_set_new(c, "lastUpdateTime", json_string(now));
        if (json_string_value(json_object_get(c, "lastTransitionTime")))
            continue;
        json_t *lt = NULL;
        json_array_foreach(old, j, o)
        {
            if (same_str(o, c, "type") && same_str(o, c, "status") &&
                json_string_value(json_object_get(o, "lastTransitionTime"))) {
                lt = json_object_get(o, "lastTransitionTime");
                break;
            }
        }
        json_object_set_new(c, "lastTransitionTime", lt ? json_incref(lt) : json_string(now));
    }
    json_t *st = json_object_get(cur, "status");
    if (!json_is_object(st)) {
        st = json_object();
        json_object_set_new(cur, "status", st);
    }
    json_object_set_new(st, "conditions", conds);
    if (u->client_rv)
        json_object_set_new(eng_md(cur), "resourceVersion", json_string(rv));
    json_decref(nw);
    *out = cur;
    return 0;
}

static void serve_approval(struct eng_req *r, const char *m)
{
    struct ck_err err = CK_ERR_INIT;
    if (strcmp(m, "GET") == 0) {
        eng_serve_get(r);
        return;
    }
    struct approval a = {0};
    int rc = 0, bad = 0;
    bool dry = eng_dry_run(r, &err, &bad);
    if (bad < 0) {
        rc = -1;
    } else if (strcmp(m, "PUT") == 0) {
        rc = eng_decode_req(r->rq, ENG_FV_IGNORE, r->rs, &a.body, &err);
        if (rc == 0)
            rc = eng_check_gvk(r->res, a.body, r->res->kind, r->res->api_version, &err);
    } else if (strcmp(m, "PATCH") == 0) {
        const char *ct = r->rq->content_type ? r->rq->content_type : "";
        a.ptype = strncasecmp(ct, "application/json-patch+json", 27) == 0              ? 1
                  : strncasecmp(ct, "application/merge-patch+json", 28) == 0           ? 2
                  : strncasecmp(ct, "application/strategic-merge-patch+json", 38) == 0 ? 3
                                                                                       : 0;
        if (!a.ptype)
            rc = ck_err_set(&err, CK_R_UNSUPPORTED_MEDIA,
                            "the body of the request was in an unknown format - accepted media "
                            "types include: application/json-patch+json, "
                            "application/merge-patch+json, "
                            "application/strategic-merge-patch+json");
        else
            rc = eng_decode_json(r->rq->body ? r->rq->body : "", r->rq->body_len, ENG_FV_IGNORE,
                                 &a.patch, NULL, &err);
    } else {
        rc = ck_err_set(&err, CK_R_METHOD_NOT_ALLOWED,
                        "the server does not allow this method on the requested resource");
    }
    if (rc < 0) {
        json_decref(a.body);
        json_decref(a.patch);
        eng_reply_err(r, &err);
        return;
    }
    /* written like a status update: validation sees the old object (approval rules) */
    struct eng_upd u = {.sub = "status", .dry = dry, .mutate = mutate_approval, .ctx = &a};
    eng_update(r, &u, true, &err);
    eng_upd_release(&u);
    json_decref(a.body);
    json_decref(a.patch);
}

int eng_groups_serve(struct eng_req *r)
{
    const char *m = r->rq->method ? r->rq->method : "GET";
    if (r->res->flags & REG_COMPUTED) {
        serve_componentstatuses(r, m);
        return 1;
    }
    if (!(r->res->flags & REG_APPROVAL))
        return 0;
    if (r->sub && strcmp(r->sub, "approval") == 0) {
        serve_approval(r, m);
        return 1;
    }
    if (!r->sub && !r->name && strcmp(m, "POST") == 0)
        return csr_create(r);
    return 0;
}
