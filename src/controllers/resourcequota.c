/* SPDX-License-Identifier: Apache-2.0 */
/* The resource quota controller (pkg/controller/resourcequota, "resourcequota"): keeps each
 * ResourceQuota's status.hard equal to spec.hard and status.used to the namespace's usage of
 * every hard resource it can measure: pods (pods, count/pods, cpu, memory, requests.* and
 * limits.* of cpu, memory and ephemeral-storage, over pods not Succeeded/Failed and matching
 * the BestEffort/NotBestEffort scopes) from the shared pod informer, and the core object
 * counts (services, configmaps, secrets, persistentvolumeclaims, replicationcontrollers,
 * resourcequotas and count/<those>) by a LIST of the namespace. A quota is synced when it
 * changes, when a pod of its namespace changes, and every 5 minutes (upstream's
 * --resource-quota-sync-period), or every 10 s when it counts listed objects (upstream
 * replenishes those on their deletion through monitors this controller does not have). The API
 * server's ResourceQuota admission enforces the limits; this status is what `kubectl describe
 * quota` shows. */
#include "controllers/cm.h"
#include "k8s/pod.h"
#include "k8s/podres.h"
#include "k8s/util.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

extern struct cm_controller cm_resourcequota;

#define RQ_RESYNC_NS (300LL * 1000 * 1000 * 1000)
#define RQ_LIST_RESYNC_NS (10LL * 1000 * 1000 * 1000)

struct rqc {
    struct cm *cm;
    struct ck_informer *quotas;
    struct wq *q; /* keys: namespace/name of quotas */
    struct cm_workers w;
};

static void enqueue_quota(struct rqc *c, json_t *q)
{
    char key[512];
    snprintf(key, sizeof(key), "%s/%s", k8s_obj_namespace(q), k8s_obj_name(q));
    wq_add(c->q, key);
}

static void q_added(void *arg, json_t *q)
{
    enqueue_quota(arg, q);
}

static void q_updated(void *arg, json_t *old, json_t *cur)
{
    (void)old;
    enqueue_quota(arg, cur);
}

/* A pod changed: every quota of its namespace. */
static void pod_changed(void *arg, json_t *pod)
{
    struct rqc *c = arg;
    json_t *qs =
        ck_indexer_by_index(ck_informer_indexer(c->quotas), "namespace", k8s_obj_namespace(pod));
    for (size_t i = 0; i < json_array_size(qs); i++)
        enqueue_quota(c, json_array_get(qs, i));
    json_decref(qs);
}

static void pod_updated(void *arg, json_t *old, json_t *cur)
{
    (void)old;
    pod_changed(arg, cur);
}

static void put_q(json_t *u, const char *name, const struct k8s_quantity *q)
{
    char buf[K8S_QTY_STRLEN];
    json_object_set_new(u, name, json_string(k8s_quantity_str(q, buf)));
}

static void add_q(json_t *u, const char *name, const struct k8s_quantity *q)
{
    struct k8s_quantity a = k8s_quantity_from_int(0, K8S_QTY_DECIMAL_SI);
    json_t *cur = json_object_get(u, name);
    if (cur)
        k8s_quantity_from_json(cur, &a);
    k8s_quantity_add(&a, q);
    put_q(u, name, &a);
}

static bool scopes_match(json_t *quota, json_t *pod)
{
    json_t *scopes = k8s_jpath(quota, "spec.scopes");
    bool be = !strcmp(k8s_pod_compute_qos(pod), "BestEffort");
    for (size_t i = 0; i < json_array_size(scopes); i++) {
        const char *s = json_string_value(json_array_get(scopes, i));
        if (s && !strcmp(s, "BestEffort") && !be)
            return false;
        if (s && !strcmp(s, "NotBestEffort") && be)
            return false;
    }
    return true;
}

/* Pod usage of the namespace into used. */
static void pod_usage(struct rqc *c, json_t *quota, const char *ns, json_t *used)
{
    json_t *pods = ck_indexer_by_index(ck_informer_indexer(c->cm->pods), "namespace", ns);
    struct k8s_quantity zero = k8s_quantity_from_int(0, K8S_QTY_DECIMAL_SI),
                        one = k8s_quantity_from_int(1, K8S_QTY_DECIMAL_SI);
    put_q(used, "pods", &zero);
    put_q(used, "count/pods", &zero);
    for (size_t i = 0; i < json_array_size(pods); i++) {
        json_t *p = json_array_get(pods, i);
        const char *ph = json_string_value(k8s_jpath(p, "status.phase"));
        if ((ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"))) || !scopes_match(quota, p))
            continue;
        add_q(used, "pods", &one);
        add_q(used, "count/pods", &one);
        struct k8s_reslist req = K8S_RESLIST_INIT, lim = K8S_RESLIST_INIT;
        k8s_pod_requests(p, NULL, &req);
        k8s_pod_limits(p, NULL, &lim);
        static const char *const names[] = {"cpu", "memory", "ephemeral-storage"};
        for (size_t k = 0; k < 3; k++) {
            char key[64];
            const struct k8s_quantity *q = k8s_reslist_get(&req, names[k]);
            if (q) {
                snprintf(key, sizeof(key), "requests.%s", names[k]);
                add_q(used, key, q);
                add_q(used, names[k], q);
            }
            if ((q = k8s_reslist_get(&lim, names[k]))) {
                snprintf(key, sizeof(key), "limits.%s", names[k]);
                add_q(used, key, q);
            }
        }
        k8s_reslist_release(&req);
        k8s_reslist_release(&lim);
    }
    json_decref(pods);
}

static const char *const counted[] = {
    "services",       "configmaps", "secrets", "persistentvolumeclaims", "replicationcontrollers",
    "resourcequotas", NULL};

/* The core resource a hard key counts ("services", "count/secrets"), or NULL. */
static const char *count_of(const char *key)
{
    const char *r = strncmp(key, "count/", 6) == 0 ? key + 6 : key;
    for (size_t i = 0; counted[i]; i++)
        if (!strcmp(r, counted[i]))
            return counted[i];
    return NULL;
}

static int sync_quota(void *arg, const char *key)
{
    struct rqc *c = arg;
    char ns[256];
    const char *slash = strchr(key, '/');
    if (!slash)
        return 0;
    snprintf(ns, sizeof(ns), "%.*s", (int)(slash - key), key);
    json_t *quota = cm_get(c->quotas, ns, slash + 1);
    if (!quota)
        return 0;
    json_t *hard = k8s_jpath(quota, "spec.hard");
    json_t *all = json_object(), *used = json_object();
    bool need_pods = false;
    int rc = 0;
    const char *k;
    json_t *v;
    json_object_foreach(hard, k, v)
    {
        const char *r = count_of(k);
        if (!r) {
            need_pods = true;
            continue;
        }
        json_t *list = NULL;
        struct ck_err err = CK_ERR_INIT;
        char *path = ck_asprintf("/api/v1/namespaces/%s/%s", ns, r);
        if (ck_client_get_json(c->cm->client, path, &list, &err) < 0) {
            ck_warn("resourcequota: listing %s: %s", path, err.msg);
            rc = -1;
        } else {
            struct k8s_quantity n = k8s_quantity_from_int(
                (int64_t)json_array_size(json_object_get(list, "items")), K8S_QTY_DECIMAL_SI);
            put_q(all, k, &n);
        }
        json_decref(list);
        free(path);
    }
    if (need_pods)
        pod_usage(c, quota, ns, all);
    /* used: exactly the hard keys that were measured */
    json_object_foreach(hard, k, v)
    {
        json_t *u = json_object_get(all, k);
        if (u)
            json_object_set(used, k, u);
        else if (!count_of(k) && (strstr(k, "cpu") || strstr(k, "memory") ||
                                  strstr(k, "ephemeral-storage") || strstr(k, "pods")))
            json_object_set_new(used, k, json_string("0"));
    }
    json_t *st = json_object_get(quota, "status");
    if (rc == 0 && (!json_equal(json_object_get(st, "hard"), hard) ||
                    !json_equal(json_object_get(st, "used"), used))) {
        json_t *nq = json_deep_copy(quota);
        json_object_set_new(nq, "status", json_pack("{s:O,s:O}", "hard", hard, "used", used));
        char *path =
            ck_asprintf("/api/v1/namespaces/%s/resourcequotas/%s/status", ns, k8s_obj_name(quota));
        struct ck_err err = CK_ERR_INIT;
        if (ck_client_update_json(c->cm->client, path, nq, NULL, &err) < 0 &&
            err.reason != CK_R_NOT_FOUND) {
            ck_v(2, "resourcequota: updating %s: %s", key, err.msg);
            rc = -1;
        }
        free(path);
        json_decref(nq);
    }
    json_decref(all);
    json_decref(used);
    /* upstream's periodic full resync; objects counted by a LIST have no watch here (upstream
     * replenishes on their deletion), so such a quota is looked at again after 10 s */
    bool lists = false;
    json_object_foreach(hard, k, v) if (count_of(k)) lists = true;
    wq_add_after(c->q, key, lists ? RQ_LIST_RESYNC_NS : RQ_RESYNC_NS);
    json_decref(quota);
    return rc;
}

static int rq_init(struct cm *cm, void **state)
{
    struct rqc *c = ck_calloc(1, sizeof(*c));
    c->cm = cm;
    c->quotas = ck_informer_factory_get(cm->factory, "/api/v1/resourcequotas");
    c->q = wq_new(&(struct wq_opts){.name = "resourcequota"});
    ck_informer_add_handlers(c->quotas,
                             &(struct ck_informer_handlers){q_added, q_updated, NULL, c});
    ck_informer_add_handlers(
        cm->pods, &(struct ck_informer_handlers){pod_changed, pod_updated, pod_changed, c});
    *state = c;
    return 0;
}

static void rq_run(void *state)
{
    struct rqc *c = state;
    c->w = (struct cm_workers){.q = c->q, .sync = sync_quota, .arg = c, .ctrl = &cm_resourcequota};
    cm_workers_start(&c->w, c->cm->workers);
}

static void rq_stop(void *state)
{
    struct rqc *c = state;
    wq_shutdown(c->q);
    cm_workers_join(&c->w);
}

static void rq_free(void *state)
{
    struct rqc *c = state;
    wq_free(c->q);
    free(c);
}

struct cm_controller cm_resourcequota = {.name = "resourcequota",
                                         .alias = "resourcequota-controller",
                                         .init = rq_init,
                                         .run = rq_run,
                                         .stop = rq_stop,
                                         .free = rq_free};
