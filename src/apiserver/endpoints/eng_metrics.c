/* SPDX-License-Identifier: Apache-2.0 */
/* Upstream's API server families that the engine can tell at scrape time
 * (apiserver_storage_objects, apiserver_registered_watchers, apiserver_longrunning_requests,
 * apiserver_watch_events_total) and the storage health check behind /readyz/etcd. The
 * per-request families are recorded by the front end (http/http_metrics.c) from the
 * api_reqinfo that api_handle fills. */
#include "apiserver/endpoints/endpoints.h"
#include "apiserver/endpoints/eng_metrics.h"
#include "apiserver/storage/watcher.h"
#include "lib/metrics.h"

#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

/* "pods", "deployments.apps": upstream's group-resource string. */
static void group_resource(const struct reg_resource *r, char *out, size_t n)
{
    snprintf(out, n, "%s%s%s", r->plural, r->group[0] ? "." : "", r->group);
}

/* Upstream's storage, watcher and long-running families (values taken from the cache at
 * scrape time). */
int eng_upstream_metrics(struct api_server *s, struct ck_buf *out)
{
    static const char *const l_res[] = {"resource", NULL};
    static const char *const l_gvk[] = {"group", "version", "kind", NULL};
    static const char *const l_lr[] = {"verb",        "group", "version",   "resource",
                                       "subresource", "scope", "component", NULL};
    static struct ck_mfam objects =
        CK_MFAM_INIT("apiserver_storage_objects",
                     "Number of stored objects at the time of last check split by kind.", CK_MGAUGE,
                     l_res, NULL, 0);
    static struct ck_mfam watchers = CK_MFAM_INIT(
        "apiserver_registered_watchers",
        "Number of currently registered watchers for a given resources", CK_MGAUGE, l_gvk, NULL, 0);
    static struct ck_mfam longrunning = CK_MFAM_INIT(
        "apiserver_longrunning_requests",
        "Gauge of all active long-running apiserver requests broken out by verb, group, "
        "version, resource, scope and component. Not all requests are tracked this way.",
        CK_MGAUGE, l_lr, NULL, 0);
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    char gr[160];
    int rc = 0;

    pthread_mutex_lock(&mu); /* one scrape at a time rebuilds these gauges */
    ck_mfam_reset(&objects);
    ck_mfam_reset(&watchers);
    ck_mfam_reset(&longrunning);
    pthread_rwlock_rdlock(&s->cache.mu);
    for (size_t i = 0; i < reg_count(); i++) {
        const struct reg_resource *r = reg_at(i);
        if ((r->flags & REG_VIRTUAL) || (size_t)r->idx >= s->cache.ntables)
            continue;
        group_resource(r, gr, sizeof(gr));
        const char *v[] = {gr};
        ck_mfam_set(&objects, v, (double)s->cache.tables[r->idx].n);
    }
    for (struct api_watch *w = s->cache.watchers; w; w = w->next) {
        const struct reg_resource *r = w->view ? w->view : w->res;
        const char *g[] = {r->group, r->version, r->kind};
        ck_mfam_add(&watchers, g, 1);
        const char *l[] = {"WATCH",    r->group, r->version,
                           r->plural,  "",       w->ns ? "namespace" : "cluster",
                           "apiserver"};
        ck_mfam_add(&longrunning, l, 1);
    }
    pthread_rwlock_unlock(&s->cache.mu);
    rc |= ck_mfam_render(&objects, out);
    rc |= ck_mfam_render(&watchers, out);
    rc |= ck_mfam_render(&longrunning, out);
    pthread_mutex_unlock(&mu);
    rc |= ck_metrics_header(out, "apiserver_watch_events_total",
                            "Number of events sent in watch clients", "counter");
    rc |= ck_buf_appendf(out,
                         "apiserver_watch_events_total{group=\"\",version=\"\",kind=\"\"} %lld\n",
                         (long long)atomic_load(&s->cache.watch_events));
    return rc;
}

int api_store_check(struct api_server *s, char *why, size_t n)
{
    static const char key[] = "/registry/health";
    struct store_kv kv;
    bool found = false;
    struct ck_err e = CK_ERR_INIT;
    memset(&kv, 0, sizeof(kv));
    if (store_get(s->cache.st, key, sizeof(key) - 1, 0, &kv, &found, &e) < 0) {
        snprintf(why, n, "%s", e.msg);
        return -1;
    }
    store_kv_release(&kv);
    return 0;
}
