/* SPDX-License-Identifier: Apache-2.0 */
/* The pure part of the prober: probe specs and the worker state machine (see prober.h). */
#include "agent/prober.h"
#include "k8s/util.h"
#include "lib/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define SEC 1000000000LL

const char *ag_probe_type_name(enum ag_probe_type t)
{
    return t == AG_PROBE_LIVENESS ? "Liveness" : t == AG_PROBE_READINESS ? "Readiness" : "Startup";
}

const char *ag_probe_field(enum ag_probe_type t)
{
    return t == AG_PROBE_LIVENESS    ? "livenessProbe"
           : t == AG_PROBE_READINESS ? "readinessProbe"
                                     : "startupProbe";
}

static int int_field(const json_t *h, const char *key, int dflt, int min)
{
    json_t *v = json_object_get(h, key);
    if (!json_is_integer(v))
        return dflt;
    long long x = json_integer_value(v);
    if (x < min)
        return min;
    if (x > 1000000)
        return 1000000;
    return (int)x;
}

/* probe.ResolveContainerPort: an int, a numeric string, or the name of a container port. */
static void resolve_port(const json_t *port, const json_t *c, struct ag_probe_spec *s)
{
    long long v = 0;
    if (json_is_integer(port)) {
        v = json_integer_value(port);
    } else if (json_is_string(port)) {
        const char *name = json_string_value(port);
        char *end = NULL;
        long long n = strtoll(name, &end, 10);
        if (*name && end && !*end) {
            v = n;
        } else {
            const json_t *ports = json_object_get(c, "ports");
            bool found = false;
            for (size_t i = 0; i < k8s_jlen(ports) && !found; i++) {
                const json_t *p = json_array_get(ports, i);
                if (!strcmp(k8s_jstr(p, "name"), name)) {
                    v = json_integer_value(json_object_get(p, "containerPort"));
                    found = true;
                }
            }
            if (!found) {
                s->port_error =
                    ck_asprintf("couldn't find port: %s in %s", name, k8s_jstr(c, "name"));
                return;
            }
        }
    }
    if (v <= 0 || v > 65535) {
        s->port_error = ck_asprintf("invalid port number: %lld", v);
        return;
    }
    s->port = (int)v;
}

void ag_probe_spec_parse(const json_t *h, const json_t *c, struct ag_probe_spec *s)
{
    memset(s, 0, sizeof(*s));
    s->initial_delay_s = int_field(h, "initialDelaySeconds", 0, 0);
    s->period_s = int_field(h, "periodSeconds", 10, 1);
    s->timeout_s = int_field(h, "timeoutSeconds", 1, 1);
    s->success_threshold = int_field(h, "successThreshold", 1, 1);
    s->failure_threshold = int_field(h, "failureThreshold", 3, 1);
    json_t *g = json_object_get(h, "terminationGracePeriodSeconds");
    s->termination_grace_s = json_is_integer(g) ? json_integer_value(g) : -1;
    const json_t *ex = json_object_get(h, "exec");
    const json_t *hg = json_object_get(h, "httpGet");
    const json_t *tc = json_object_get(h, "tcpSocket");
    if (json_is_object(ex)) {
        s->kind = AG_PH_EXEC;
        const json_t *cmd = json_object_get(ex, "command");
        s->command = ck_calloc(k8s_jlen(cmd) + 1, sizeof(char *));
        for (size_t i = 0; i < k8s_jlen(cmd); i++) {
            const char *a = json_string_value(json_array_get(cmd, i));
            s->command[i] = ck_strdup(a ? a : "");
        }
    } else if (json_is_object(hg)) {
        s->kind = AG_PH_HTTP;
        s->scheme = ck_strdup(*k8s_jstr(hg, "scheme") ? k8s_jstr(hg, "scheme") : "HTTP");
        s->host = ck_strdup(k8s_jstr(hg, "host"));
        const char *path = k8s_jstr(hg, "path");
        s->path = *path == '/' ? ck_strdup(path) : ck_asprintf("/%s", path);
        resolve_port(json_object_get(hg, "port"), c, s);
        const json_t *hs = json_object_get(hg, "httpHeaders");
        s->headers = ck_calloc(k8s_jlen(hs) + 1, sizeof(*s->headers));
        for (size_t i = 0; i < k8s_jlen(hs); i++) {
            const json_t *e = json_array_get(hs, i);
            if (!*k8s_jstr(e, "name"))
                continue;
            s->headers[s->nheaders].name = ck_strdup(k8s_jstr(e, "name"));
            s->headers[s->nheaders++].value = ck_strdup(k8s_jstr(e, "value"));
        }
    } else if (json_is_object(tc)) {
        s->kind = AG_PH_TCP;
        s->host = ck_strdup(k8s_jstr(tc, "host"));
        resolve_port(json_object_get(tc, "port"), c, s);
    } else if (json_is_object(json_object_get(h, "grpc"))) {
        s->kind = AG_PH_GRPC;
        resolve_port(k8s_jpath(h, "grpc.port"), c, s);
    }
}

void ag_probe_spec_release(struct ag_probe_spec *s)
{
    for (size_t i = 0; s->command && s->command[i]; i++)
        free(s->command[i]);
    free(s->command);
    free(s->scheme);
    free(s->host);
    free(s->path);
    free(s->port_error);
    for (size_t i = 0; i < s->nheaders; i++) {
        free(s->headers[i].name);
        free(s->headers[i].value);
    }
    free(s->headers);
    memset(s, 0, sizeof(*s));
}

/* ---- worker state machine ---------------------------------------------------------------- */

static enum ag_probe_result initial_value(enum ag_probe_type t)
{
    return t == AG_PROBE_READINESS  ? AG_PR_FAILURE
           : t == AG_PROBE_LIVENESS ? AG_PR_SUCCESS
                                    : AG_PR_UNKNOWN;
}

void ag_probe_sm_init(struct ag_probe_sm *sm, enum ag_probe_type t)
{
    memset(sm, 0, sizeof(*sm));
    sm->type = t;
    sm->result = initial_value(t);
}

void ag_probe_sm_new_container(struct ag_probe_sm *sm, const char *cid)
{
    snprintf(sm->cid, sizeof(sm->cid), "%s", cid);
    sm->result = initial_value(sm->type);
    sm->last = AG_PR_UNKNOWN;
    sm->run = 0;
    sm->on_hold = false;
}

static bool publish(struct ag_probe_sm *sm, enum ag_probe_result r)
{
    bool changed = sm->result != r;
    sm->result = r;
    return changed;
}

enum ag_probe_step ag_probe_sm_before(struct ag_probe_sm *sm, const struct ag_probe_spec *spec,
                                      const struct ag_probe_ctx *ctx, bool *changed)
{
    *changed = false;
    if (sm->stopped)
        return AG_PROBE_STOP;
    if (!ctx->cid || !*ctx->cid)
        return AG_PROBE_SKIP; /* the container has not been created yet */
    if (strcmp(sm->cid, ctx->cid)) {
        ag_probe_sm_new_container(sm, ctx->cid);
        *changed = true;
    }
    if (!ctx->running) {
        *changed |= publish(sm, AG_PR_FAILURE);
        /* abort if the container will not be restarted */
        if (ctx->terminated && ctx->restart_never) {
            sm->stopped = true;
            return AG_PROBE_STOP;
        }
        return AG_PROBE_SKIP;
    }
    if (ctx->deleting && (sm->type == AG_PROBE_LIVENESS || sm->type == AG_PROBE_STARTUP)) {
        /* graceful shutdown of the pod: a last Success keeps the shutdown quiet */
        *changed |= publish(sm, AG_PR_SUCCESS);
        sm->stopped = true;
        return AG_PROBE_STOP;
    }
    if (sm->on_hold)
        return AG_PROBE_SKIP;
    if (ctx->started) {
        if (sm->type == AG_PROBE_STARTUP)
            return AG_PROBE_SKIP; /* stop probing for startup once the container started */
    } else if (sm->type != AG_PROBE_STARTUP) {
        return AG_PROBE_SKIP; /* other probes wait for the startup probe */
    }
    if (ctx->now_real_ns - ctx->started_real_ns < (int64_t)spec->initial_delay_s * SEC)
        return AG_PROBE_SKIP;
    return AG_PROBE_RUN;
}

bool ag_probe_sm_record(struct ag_probe_sm *sm, const struct ag_probe_spec *spec,
                        enum ag_probe_result r)
{
    if (sm->stopped || sm->on_hold)
        return false;
    if (sm->last == r) {
        sm->run++;
    } else {
        sm->last = r;
        sm->run = 1;
    }
    if ((r == AG_PR_FAILURE && sm->run < spec->failure_threshold) ||
        (r == AG_PR_SUCCESS && sm->run < spec->success_threshold))
        return false; /* below the threshold: the published result stays */
    bool changed = publish(sm, r);
    if ((sm->type == AG_PROBE_LIVENESS || sm->type == AG_PROBE_STARTUP) && r == AG_PR_FAILURE) {
        /* the container will be restarted: stop probing until a new container id */
        sm->on_hold = true;
        sm->run = 0;
    }
    return changed;
}

/* ---- views ------------------------------------------------------------------------------- */

const struct ag_probe_view *ag_probe_view_find(const struct ag_probe_view *v, size_t n,
                                               const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].name, name))
            return &v[i];
    return NULL;
}

bool ag_probe_view_started(const struct ag_probe_view *v, bool running)
{
    if (!running)
        return false;
    return !v || !v->has[AG_PROBE_STARTUP] || v->res[AG_PROBE_STARTUP] == AG_PR_SUCCESS;
}

bool ag_probe_view_ready(const struct ag_probe_view *v, bool running)
{
    if (!ag_probe_view_started(v, running))
        return false;
    return !v || !v->has[AG_PROBE_READINESS] || v->res[AG_PROBE_READINESS] == AG_PR_SUCCESS;
}
