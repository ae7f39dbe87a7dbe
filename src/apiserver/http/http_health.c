/* SPDX-License-Identifier: Apache-2.0 */
/* /healthz, /livez and /readyz with upstream's named checks (k8s.io/apiserver healthz):
 * `?verbose` lists "[+]name ok" lines, `?exclude=name` skips a check, `/readyz/<check>`
 * answers one check. The storage check ("etcd", "etcd-readiness") reads one key through the
 * engine on a thread of its own every second, so a health request never blocks its loop on
 * an unreachable etcd. Livez leaves the storage out: an etcd outage makes the API server
 * unready, never a restart candidate. */
#include "apiserver/http/http_int.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

#define IN_HEALTHZ 1u
#define IN_LIVEZ 2u
#define IN_READYZ 4u
#define IN_ALL (IN_HEALTHZ | IN_LIVEZ | IN_READYZ)

enum check_kind { CK_OK, CK_STORE, CK_SHUTDOWN };

struct check {
    const char *name;
    unsigned in;
    enum check_kind kind;
};

/* In upstream's order: ping, log, storage, informers, post-start hooks, shutdown. */
static const struct check checks[] = {
    {"ping", IN_ALL, CK_OK},
    {"log", IN_ALL, CK_OK},
    {"etcd", IN_HEALTHZ | IN_READYZ, CK_STORE},
    {"etcd-readiness", IN_READYZ, CK_STORE},
    {"informer-sync", IN_READYZ, CK_OK}, /* the engine's cache loads before we listen */
    {"poststarthook/bootstrap-controller", IN_ALL, CK_OK}, /* namespaces, kubernetes Service */
    {"shutdown", IN_READYZ, CK_SHUTDOWN},
};
#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

static void store_check(struct http_server *s)
{
    char why[256] = "";
    int rc = s->ops->store_check ? s->ops->store_check(s->eng, why, sizeof(why)) : 0;
    pthread_mutex_lock(&s->health.mu);
    if (rc < 0 && (s->health.store_ok || !s->health.checked))
        ck_warn("storage health check failed: %s", why);
    s->health.store_ok = rc == 0;
    s->health.checked = true;
    snprintf(s->health.why, sizeof(s->health.why), "%s", why);
    pthread_mutex_unlock(&s->health.mu);
}

static void *health_main(void *arg)
{
    struct http_server *s = arg;
    pthread_mutex_lock(&s->health.mu);
    while (!s->health.stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&s->health.cv, &s->health.mu, &ts);
        if (s->health.stop)
            break;
        pthread_mutex_unlock(&s->health.mu);
        store_check(s);
        pthread_mutex_lock(&s->health.mu);
    }
    pthread_mutex_unlock(&s->health.mu);
    return NULL;
}

int http_health_start(struct http_server *s, struct ck_err *err)
{
    pthread_mutex_init(&s->health.mu, NULL);
    pthread_cond_init(&s->health.cv, NULL);
    s->health.stop = false;
    store_check(s); /* the first answer is known before the listeners open */
    int rc = pthread_create(&s->health.tid, NULL, health_main, s);
    if (rc)
        return ck_err_sys(err, rc, "starting the health check thread");
    s->health.running = true;
    return 0;
}

void http_health_stop(struct http_server *s)
{
    if (!s->health.running)
        return;
    pthread_mutex_lock(&s->health.mu);
    s->health.stop = true;
    pthread_cond_broadcast(&s->health.cv);
    pthread_mutex_unlock(&s->health.mu);
    pthread_join(s->health.tid, NULL);
    s->health.running = false;
}

/* 0 when the check passes; else -1 with why filled. */
static int run_check(struct http_server *s, const struct check *c, char *why, size_t n)
{
    int rc = 0;
    switch (c->kind) {
    case CK_STORE:
        pthread_mutex_lock(&s->health.mu);
        if (s->health.running && !s->health.store_ok) {
            snprintf(why, n, "%s", s->health.why);
            rc = -1;
        }
        pthread_mutex_unlock(&s->health.mu);
        return rc;
    case CK_SHUTDOWN:
        if (atomic_load(&s->stopping)) {
            snprintf(why, n, "process is shutting down");
            return -1;
        }
        return 0;
    default:
        return 0;
    }
}

/* The decoded values of every exclude= parameter, as a NUL-separated list in ex. */
static size_t excludes(const char *q, size_t qlen, char *ex, size_t cap, const char **v, size_t nv)
{
    size_t n = 0, used = 0, i = 0;
    while (i < qlen && n < nv) {
        size_t j = i;
        while (j < qlen && q[j] != '&')
            j++;
        if (j - i > 8 && !memcmp(q + i, "exclude=", 8) && used < cap) {
            long len = http_path_decode(q + i + 8, j - i - 8, ex + used, cap - used);
            if (len >= 0) {
                v[n++] = ex + used;
                used += (size_t)len + 1;
            }
        }
        i = j + 1;
    }
    return n;
}

int http_health_render(struct http_server *s, enum http_route r, const char *one, const char *q,
                       size_t qlen, struct ck_buf *out)
{
    unsigned in = r == HTTP_ROUTE_HEALTHZ ? IN_HEALTHZ
                  : r == HTTP_ROUTE_LIVEZ ? IN_LIVEZ
                                          : IN_READYZ;
    const char *kind = r == HTTP_ROUTE_HEALTHZ ? "healthz"
                       : r == HTTP_ROUTE_LIVEZ ? "livez"
                                               : "readyz";
    char why[256], exbuf[1024];
    const char *ex[16];
    bool used[16] = {false};
    size_t nex = excludes(q, qlen, exbuf, sizeof(exbuf), ex, 16);
    bool failed = false;
    struct ck_buf verbose = CK_BUF_INIT(1 << 16);

    if (one) {
        for (size_t i = 0; i < NCHECKS; i++)
            if ((checks[i].in & in) && !strcmp(one, checks[i].name)) {
                if (run_check(s, &checks[i], why, sizeof(why)) < 0) {
                    ck_buf_appendf(out, "internal server error: %s\n", why);
                    return 500;
                }
                ck_buf_appends(out, "ok");
                return 200;
            }
        return 404;
    }
    for (size_t i = 0; i < NCHECKS; i++) {
        const struct check *c = &checks[i];
        bool skip = false;
        if (!(c->in & in))
            continue;
        for (size_t k = 0; k < nex; k++)
            if (!strcmp(ex[k], c->name))
                skip = used[k] = true;
        if (skip) {
            ck_buf_appendf(&verbose, "[+]%s excluded: ok\n", c->name);
        } else if (run_check(s, c, why, sizeof(why)) < 0) {
            failed = true;
            ck_buf_appendf(&verbose, "[-]%s failed: reason withheld\n", c->name);
        } else {
            ck_buf_appendf(&verbose, "[+]%s ok\n", c->name);
        }
    }
    bool first = true;
    for (size_t k = 0; k < nex; k++)
        if (!used[k]) {
            ck_buf_appendf(&verbose, "%s\"%s\"",
                           first ? "warn: some health checks cannot be excluded: no matches for "
                                 : " ",
                           ex[k]);
            first = false;
        }
    if (!first)
        ck_buf_appendc(&verbose, '\n');
    if (failed) {
        ck_buf_append(out, verbose.data, verbose.len);
        ck_buf_appendf(out, "%s check failed\n", kind);
        ck_v(2, "%s check failed", kind);
    } else if (http_query_has(q, qlen, "verbose")) {
        ck_buf_append(out, verbose.data, verbose.len);
        ck_buf_appendf(out, "%s check passed\n", kind);
    } else {
        ck_buf_appends(out, "ok");
    }
    ck_buf_release(&verbose);
    return failed ? 500 : 200;
}
