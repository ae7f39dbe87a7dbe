/* SPDX-License-Identifier: Apache-2.0 */
/* The service proxy: informers, the debounced sync thread, metrics (proxy.h). */
#include "proxy/proxy.h"

#include "ckube/informer.h"
#include "k8s/pod.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/timeutil.h"
#include "proxy/engine.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

#define STALE_NS (60LL * 1000000000LL) /* healthz: pending changes older than this fail it */
#define RETRY_MS 1000                  /* after a failed sync */

static const double sync_buckets[] = {0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128,
                                      0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384};
#define NB (sizeof(sync_buckets) / sizeof(sync_buckets[0]))
static struct ck_mfam m_sync =
    CK_MFAM_INIT("kubeproxy_sync_proxy_rules_duration_seconds", "SyncProxyRules latency in seconds",
                 CK_MHISTOGRAM, NULL, sync_buckets, NB);
static struct ck_mfam m_sync_full = CK_MFAM_INIT(
    "kubeproxy_sync_full_proxy_rules_duration_seconds",
    "SyncProxyRules latency in seconds for full resyncs", CK_MHISTOGRAM, NULL, sync_buckets, NB);
static struct ck_mfam m_sync_partial = CK_MFAM_INIT(
    "kubeproxy_sync_partial_proxy_rules_duration_seconds",
    "SyncProxyRules latency in seconds for partial resyncs", CK_MHISTOGRAM, NULL, sync_buckets, NB);
static struct ck_mfam m_last =
    CK_MFAM_INIT("kubeproxy_sync_proxy_rules_last_timestamp_seconds",
                 "The last time proxy rules were successfully synced", CK_MGAUGE, NULL, NULL, 0);
static struct ck_mfam m_rules =
    CK_MFAM_INIT("kubeproxy_sync_proxy_rules_nftables_total",
                 "Number of rules in the proxy's nftables table after the last successful sync",
                 CK_MGAUGE, NULL, NULL, 0);
static struct ck_mfam m_fail =
    CK_MFAM_INIT("kubeproxy_sync_proxy_rules_nftables_sync_failures_total",
                 "Number of failed nftables transactions", CK_MCOUNTER, NULL, NULL, 0);

struct proxy {
    struct proxy_opts o;
    struct px_engine *eng;
    struct ck_informer *svc_inf, *slice_inf;
    pthread_t th;
    bool th_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool kick, stop;
    atomic_llong pending_since_ns; /* first change not yet synced, 0: none */
    atomic_llong last_ok_ns;
};

static void kick(struct proxy *p)
{
    long long zero = 0;
    atomic_compare_exchange_strong(&p->pending_since_ns, &zero, ck_mono_ns());
    pthread_mutex_lock(&p->mu);
    p->kick = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void on_svc(void *arg, json_t *obj)
{
    struct proxy *p = arg;
    px_engine_set_service(p->eng, k8s_obj_namespace(obj), k8s_obj_name(obj), obj);
    kick(p);
}

static void on_svc_update(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    on_svc(arg, obj);
}

static void on_svc_delete(void *arg, json_t *obj)
{
    struct proxy *p = arg;
    px_engine_set_service(p->eng, k8s_obj_namespace(obj), k8s_obj_name(obj), NULL);
    kick(p);
}

static void on_slice(void *arg, json_t *obj)
{
    struct proxy *p = arg;
    px_engine_set_slice(p->eng, k8s_obj_namespace(obj), k8s_obj_name(obj), obj);
    kick(p);
}

static void on_slice_update(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    on_slice(arg, obj);
}

static void on_slice_delete(void *arg, json_t *obj)
{
    struct proxy *p = arg;
    px_engine_set_slice(p->eng, k8s_obj_namespace(obj), k8s_obj_name(obj), NULL);
    kick(p);
}

static int sync_once(struct proxy *p, struct ck_err *err)
{
    int64_t since = atomic_exchange(&p->pending_since_ns, 0);
    struct px_sync_result r;
    int rc = px_engine_sync(p->eng, &r, err);
    ck_mfam_observe(&m_sync, NULL, r.seconds);
    ck_mfam_observe(r.full ? &m_sync_full : &m_sync_partial, NULL, r.seconds);
    if (rc < 0) {
        ck_mfam_add(&m_fail, NULL, 1);
        if (since) { /* still pending */
            long long zero = 0;
            atomic_compare_exchange_strong(&p->pending_since_ns, &zero, since);
        }
        return -1;
    }
    atomic_store(&p->last_ok_ns, ck_mono_ns());
    ck_mfam_set(&m_last, NULL, (double)time(NULL));
    ck_mfam_set(&m_rules, NULL, (double)r.rules);
    ck_v(r.full ? 2 : 4, "proxy: %s sync of %zu service(s), %zu rules, %zu bytes, %.1f ms",
         r.full       ? "full"
         : r.elements ? "element-only"
                      : "partial",
         r.services, r.rules, r.script_len, r.seconds * 1e3);
    return 0;
}

static void *sync_thread(void *arg)
{
    struct proxy *p = arg;
    int min_ms = p->o.min_sync_ms > 0 ? p->o.min_sync_ms : 100;
    int64_t full_ns = (int64_t)(p->o.full_sync_s > 0 ? p->o.full_sync_s : 3600) * 1000000000LL;
    int64_t last_sync = ck_mono_ns(), last_full = last_sync, retry_at = 0;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        int64_t now = ck_mono_ns();
        bool due_full = now - last_full >= full_ns;
        bool ready = (p->kick || due_full || retry_at) && now - last_sync >= min_ms * 1000000LL &&
                     (!retry_at || now >= retry_at);
        if (!ready) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 50 * 1000000L; /* re-check the debounce / full-sync clocks */
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
            continue;
        }
        p->kick = false;
        pthread_mutex_unlock(&p->mu);
        if (due_full) {
            px_engine_want_full(p->eng);
            last_full = now;
        }
        struct ck_err err = CK_ERR_INIT;
        last_sync = ck_mono_ns();
        if (sync_once(p, &err) < 0) {
            ck_error("proxy: sync failed (next one rewrites the table): %s", err.msg);
            retry_at = ck_mono_ns() + RETRY_MS * 1000000LL;
        } else {
            retry_at = 0;
        }
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int proxy_start(const struct proxy_opts *o, struct proxy **out, struct ck_err *err)
{
    *out = NULL;
    struct px_env env = {.table = o->table ? o->table : "ckube-proxy",
                         .service_cidr = o->service_cidr ? o->service_cidr : "10.96.0.0/12",
                         .cluster_cidr = o->cluster_cidr,
                         .node_ip = o->node_ip,
                         .masquerade_all = o->masquerade_all};
    struct proxy *p = ck_calloc(1, sizeof(*p));
    p->o = *o;
    p->eng = px_engine_new(&env, o->node_name);
    if (!p->eng) {
        free(p);
        return ck_err_set(err, CK_R_INTERNAL, "proxy: no libnftables context");
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    /* the base table first: VIPs no Service holds are rejected before any pod starts */
    if (sync_once(p, err) < 0) {
        ck_err_wrap(err, "proxy: table %s", env.table);
        px_engine_free(p->eng);
        free(p);
        return -1;
    }
    p->svc_inf = ck_informer_new(o->client, &(struct ck_informer_opts){.path = "/api/v1/services"});
    p->slice_inf = ck_informer_new(
        o->client, &(struct ck_informer_opts){.path = "/apis/discovery.k8s.io/v1/endpointslices"});
    ck_informer_add_handlers(
        p->svc_inf, &(struct ck_informer_handlers){on_svc, on_svc_update, on_svc_delete, p});
    ck_informer_add_handlers(p->slice_inf, &(struct ck_informer_handlers){on_slice, on_slice_update,
                                                                          on_slice_delete, p});
    ck_informer_start(p->svc_inf);
    ck_informer_start(p->slice_inf);
    int wait = o->sync_wait_ms > 0 ? o->sync_wait_ms : 10000;
    int64_t t0 = ck_mono_ms();
    bool ok = ck_informer_wait_synced(p->svc_inf, wait);
    int left = wait - (int)(ck_mono_ms() - t0);
    ok = ck_informer_wait_synced(p->slice_inf, left > 0 ? left : 1) && ok;
    if (!ok)
        ck_warn("proxy: informers not synced after %d ms; syncing what is known", wait);
    struct ck_err e2 = CK_ERR_INIT;
    px_engine_want_full(p->eng);
    if (sync_once(p, &e2) < 0)
        ck_error("proxy: first sync: %s", e2.msg);
    p->th_started = pthread_create(&p->th, NULL, sync_thread, p) == 0;
    ck_info("proxy: nftables table ip %s, service CIDR %s, cluster CIDR %s, node %s (%s)",
            env.table, env.service_cidr, env.cluster_cidr ? env.cluster_cidr : "(none)",
            o->node_name ? o->node_name : "?", o->node_ip ? o->node_ip : "no NodePorts");
    *out = p;
    return 0;
}

void proxy_stop(struct proxy *p)
{
    if (!p)
        return;
    if (p->th_started) {
        pthread_mutex_lock(&p->mu);
        p->stop = true;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->th, NULL);
    }
    ck_informer_stop(p->svc_inf);
    ck_informer_stop(p->slice_inf);
    if (!p->o.keep_rules) {
        struct ck_err err = CK_ERR_INIT;
        if (px_engine_cleanup(p->eng, &err) < 0)
            ck_warn("proxy: removing the table: %s", err.msg);
    }
    ck_informer_free(p->svc_inf);
    ck_informer_free(p->slice_inf);
    px_engine_free(p->eng);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void proxy_metrics(struct proxy *p, struct ck_buf *out)
{
    (void)p;
    ck_mfam_render(&m_sync, out);
    ck_mfam_render(&m_sync_full, out);
    ck_mfam_render(&m_sync_partial, out);
    ck_mfam_render(&m_last, out);
    ck_mfam_render(&m_rules, out);
    ck_mfam_render(&m_fail, out);
}

int proxy_healthz(void *arg, char *why, size_t n)
{
    struct proxy *p = arg;
    int64_t since = atomic_load(&p->pending_since_ns);
    if (since && ck_mono_ns() - since > STALE_NS) {
        snprintf(why, n, "changes pending for %lld s without a successful sync",
                 (long long)((ck_mono_ns() - since) / 1000000000LL));
        return -1;
    }
    return 0;
}
