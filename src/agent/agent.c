/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's wiring: client, nodes (one real node on crun, or N hollow ones), the pod
 * informer feeding per-pod records, the pod and node work queues with their worker threads,
 * the PLEG relisting every runtime once a second, and the health/metrics server. */
#include "agent/agent_int.h"
#include "agent/evict.h"
#include "image/image.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/banned.h"

#define SEC 1000000000LL

/* ---- pod records ----------------------------------------------------------------------- */

struct ag_pod *ag_pod_get(struct agent *ag, const char *uid)
{
    pthread_mutex_lock(&ag->mu);
    struct ag_pod *p = ck_strmap_get(&ag->pods, uid, NULL);
    pthread_mutex_unlock(&ag->mu);
    return p;
}

static void pod_free(struct ag_pod *p)
{
    free(p->uid);
    free(p->ns);
    free(p->name);
    json_decref(p->pod);
    json_decref(p->sent);
    ag_backoff_release(&p->backoff);
    ag_backoff_release(&p->pull_backoff);
    free(p->pull_err);
    ag_volumes_release(p);
    free(p->mirror_uid);
    free(p->status_uid);
    free(p->evict_msg);
    for (size_t i = 0; i < p->nwaits; i++) {
        free((char *)p->waits[i].name);
        free((char *)p->waits[i].reason);
        free((char *)p->waits[i].message);
    }
    free(p->waits);
    free(p);
}

void ag_pod_forget(struct agent *ag, struct ag_pod *p)
{
    pthread_mutex_lock(&ag->mu);
    ck_strmap_del(&ag->pods, p->uid, NULL);
    pthread_mutex_unlock(&ag->mu);
    ck_v(2, "pod %s/%s (%s): forgotten", p->ns, p->name, p->uid);
    pod_free(p);
}

/* Creates the record of uid when missing; ag->mu held. */
static struct ag_pod *pod_record(struct agent *ag, struct ag_node *n, const char *uid,
                                 const char *ns, const char *name)
{
    struct ag_pod *p = ck_strmap_get(&ag->pods, uid, NULL);
    if (p)
        return p;
    p = ck_calloc(1, sizeof(*p));
    p->uid = ck_strdup(uid);
    p->ns = ck_strdup(ns);
    p->name = ck_strdup(name);
    p->node = n;
    ag_backoff_init(&p->backoff, AG_BACKOFF_INITIAL_NS, AG_BACKOFF_MAX_NS);
    ag_backoff_init(&p->pull_backoff, AG_BACKOFF_INITIAL_NS, AG_BACKOFF_MAX_NS);
    ck_strmap_put(&ag->pods, uid, p);
    return p;
}

/* ---- static pods ------------------------------------------------------------------------ */

void ag_pod_static_put(struct agent *ag, json_t *pod)
{
    const char *uid = k8s_obj_uid(pod);
    pthread_mutex_lock(&ag->mu);
    struct ag_pod *p =
        pod_record(ag, &ag->nodes[0], uid, k8s_obj_namespace(pod), k8s_obj_name(pod));
    p->is_static = true;
    json_decref(p->pod);
    p->pod = json_incref(pod);
    p->api_gone = false;
    pthread_mutex_unlock(&ag->mu);
    wq_add(ag->podq, uid);
}

void ag_pod_static_gone(struct agent *ag, const char *uid)
{
    pthread_mutex_lock(&ag->mu);
    struct ag_pod *p = ck_strmap_get(&ag->pods, uid, NULL);
    if (p)
        p->api_gone = true;
    pthread_mutex_unlock(&ag->mu);
    if (p)
        wq_add(ag->podq, uid);
}

/* ---- informer --------------------------------------------------------------------------- */

/* Pod admission for a pod the agent has not run yet (never started: no startTime): under node
 * pressure the eviction manager may reject it, and the pod ends Failed with reason Evicted
 * and "Pod was rejected: <message>", as upstream's rejectPod reports it. */
static void admit(struct agent *ag, struct ag_node *n, const json_t *pod)
{
    if (*k8s_jpath_str(pod, "status.startTime") || k8s_pod_is_terminal(pod) ||
        k8s_obj_deleting(pod))
        return;
    char *why = ag_evict_admit(ag, pod);
    if (!why)
        return;
    ck_info("pod %s/%s: failed to admit: %s", k8s_obj_namespace(pod), k8s_obj_name(pod), why);
    ag_event_obj(ag, n, k8s_obj_namespace(pod), k8s_obj_name(pod), k8s_obj_uid(pod), NULL, false,
                 true, "Evicted", why);
    pthread_mutex_lock(&ag->mu);
    struct ag_pod *p = ck_strmap_get(&ag->pods, k8s_obj_uid(pod), NULL);
    if (p && !p->evict_msg)
        p->evict_msg = ck_asprintf("Pod was rejected: %s", why);
    pthread_mutex_unlock(&ag->mu);
    free(why);
}

static void on_pod(void *arg, json_t *obj)
{
    struct agent *ag = arg;
    if (ag_static_is_mirror(obj)) { /* mirror pods show static pods; they are not run */
        ag_static_kick(ag);
        return;
    }
    struct ag_node *n = ck_strmap_get(&ag->node_by_name, k8s_pod_node_name(obj), NULL);
    const char *uid = k8s_obj_uid(obj);
    if (!n || !*uid)
        return;
    pthread_mutex_lock(&ag->mu);
    bool fresh = !ck_strmap_get(&ag->pods, uid, NULL);
    struct ag_pod *p = pod_record(ag, n, uid, k8s_obj_namespace(obj), k8s_obj_name(obj));
    json_decref(p->pod);
    p->pod = json_incref(obj);
    p->api_gone = false;
    pthread_mutex_unlock(&ag->mu);
    if (fresh)
        admit(ag, n, obj);
    wq_add(ag->podq, uid);
}

static bool same_member(const json_t *a, const json_t *b, const char *path)
{
    const json_t *x = k8s_jpath(a, path), *y = k8s_jpath(b, path);
    return (!x && !y) || (x && y && json_equal((json_t *)x, (json_t *)y));
}

/* Upstream's pod config ignores updates that only touch the status (the agent's own patches):
 * they refresh the stored object without a sync. */
static void on_pod_update(void *arg, json_t *old, json_t *obj)
{
    struct agent *ag = arg;
    static const char *const keys[] = {"spec",
                                       "metadata.deletionTimestamp",
                                       "metadata.deletionGracePeriodSeconds",
                                       "metadata.labels",
                                       "metadata.annotations",
                                       "metadata.uid"};
    bool changed = ag_static_is_mirror(obj);
    for (size_t i = 0; i < sizeof(keys) / sizeof(*keys) && !changed; i++)
        changed = !same_member(old, obj, keys[i]);
    if (changed) {
        on_pod(arg, obj);
        return;
    }
    pthread_mutex_lock(&ag->mu);
    struct ag_pod *p = ck_strmap_get(&ag->pods, k8s_obj_uid(obj), NULL);
    if (p) {
        json_decref(p->pod);
        p->pod = json_incref(obj);
    }
    pthread_mutex_unlock(&ag->mu);
    if (!p)
        on_pod(arg, obj);
}

static void on_pod_delete(void *arg, json_t *obj)
{
    struct agent *ag = arg;
    if (ag_static_is_mirror(obj)) {
        ag_static_kick(ag);
        return;
    }
    const char *uid = k8s_obj_uid(obj);
    pthread_mutex_lock(&ag->mu);
    struct ag_pod *p = ck_strmap_get(&ag->pods, uid, NULL);
    if (p)
        p->api_gone = true;
    pthread_mutex_unlock(&ag->mu);
    if (p)
        wq_add(ag->podq, uid);
}

/* ---- workers --------------------------------------------------------------------------- */

static void *pod_worker(void *arg)
{
    struct agent *ag = arg;
    char *uid;
    while ((uid = wq_get(ag->podq)) != NULL) {
        int64_t again = ag_pod_sync(ag, uid);
        if (again > 0)
            wq_add_after(ag->podq, uid, again);
        wq_done(ag->podq, uid);
        free(uid);
    }
    return NULL;
}

static void *node_worker(void *arg)
{
    struct agent *ag = arg;
    char *key;
    while ((key = wq_get(ag->nodeq)) != NULL) {
        ag_node_handle(ag, key);
        wq_done(ag->nodeq, key);
        free(key);
    }
    return NULL;
}

/* ---- PLEG ------------------------------------------------------------------------------ */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

/* One relist of a node's runtime: pods whose containers changed get a sync; pods the
 * runtime has but the API does not (deleted while the agent was down) become orphans. */
static void relist(struct agent *ag, struct ag_node *n)
{
    struct rt_sandbox_status *sbs = NULL;
    struct rt_container_status *cs = NULL;
    size_t nsb = 0, nc = 0;
    struct ck_err err = CK_ERR_INIT;
    if (n->rt->ops->list_pod_sandboxes(n->rt, &sbs, &nsb, &err) < 0 ||
        n->rt->ops->list_containers(n->rt, NULL, &cs, &nc, &err) < 0) {
        ck_warn("PLEG %s: relist: %s", n->name, err.msg);
        ck_err_clear(&err);
        rt_sandbox_list_free(sbs, nsb);
        return;
    }
    struct ck_strmap now = CK_STRMAP_INIT;
    for (size_t i = 0; i < nsb; i++) {
        uint64_t h = (uintptr_t)ck_strmap_get(&now, sbs[i].uid, NULL);
        if (!h)
            h = 1469598103934665603ULL;
        h = fnv(h, sbs[i].id, strlen(sbs[i].id));
        h = fnv(h, &sbs[i].state, sizeof(sbs[i].state));
        for (size_t j = 0; j < nc; j++) {
            if (strcmp(cs[j].sandbox_id, sbs[i].id))
                continue;
            h = fnv(h, cs[j].id, strlen(cs[j].id));
            h = fnv(h, &cs[j].state, sizeof(cs[j].state));
        }
        ck_strmap_put(&now, sbs[i].uid, (void *)(uintptr_t)(h | 1));
    }
    const char *k;
    void *v;
    for (size_t it = 0; ck_strmap_next(&now, &it, &k, &v);) {
        if (ck_strmap_get(&n->pleg, k, NULL) == v)
            continue;
        atomic_fetch_add(&ag->m.pleg_events, 1);
        pthread_mutex_lock(&ag->mu);
        struct ag_pod *p = ck_strmap_get(&ag->pods, k, NULL);
        if (!p) { /* an orphan: clean it up */
            for (size_t i = 0; i < nsb; i++)
                if (!strcmp(sbs[i].uid, k)) {
                    p = pod_record(ag, n, k, sbs[i].namespace_, sbs[i].name);
                    p->api_gone = true;
                    ck_info("PLEG %s: pod %s/%s (%s) is not in the API: cleaning up", n->name,
                            sbs[i].namespace_, sbs[i].name, k);
                    break;
                }
        }
        pthread_mutex_unlock(&ag->mu);
        wq_add(ag->podq, k);
    }
    for (size_t it = 0; ck_strmap_next(&n->pleg, &it, &k, &v);)
        if (!ck_strmap_get(&now, k, NULL))
            wq_add(ag->podq, k);
    ck_strmap_release(&n->pleg);
    n->pleg = now;
    rt_sandbox_list_free(sbs, nsb);
    rt_container_list_free(cs, nc);
}

struct pleg_ctx {
    struct agent *ag;
    pthread_t th;
};

static void *pleg_thread(void *arg)
{
    struct agent *ag = arg;
    while (!*ag->stop && !ck_informer_has_synced(ag->pod_inf))
        usleep(100000);
    while (!*ag->stop) {
        int64_t t0 = ck_mono_ns();
        for (int i = 0; i < ag->nnodes && !*ag->stop; i++)
            relist(ag, &ag->nodes[i]);
        int64_t d = ck_mono_ns() - t0;
        atomic_fetch_add(&ag->m.pleg_relists, 1);
        atomic_fetch_add(&ag->m.pleg_relist_ns_total, d);
        if (d > atomic_load(&ag->m.pleg_relist_ns_max))
            atomic_store(&ag->m.pleg_relist_ns_max, d);
        for (int64_t left = SEC - d; left > 0 && !*ag->stop; left -= SEC / 10)
            usleep(left > SEC / 10 ? 100000 : (useconds_t)(left / 1000));
    }
    return NULL;
}

/* ---- setup ------------------------------------------------------------------------------ */

static void first_ipv4(char *out, size_t n)
{
    struct ifaddrs *ifa = NULL;
    snprintf(out, n, "127.0.0.1");
    if (getifaddrs(&ifa) < 0)
        return;
    for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK) ||
            !(i->ifa_flags & IFF_UP) || !strncmp(i->ifa_name, "ckube", 5) ||
            !strncmp(i->ifa_name, "veth", 4) || !strncmp(i->ifa_name, "cni", 3))
            continue;
        inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out, (socklen_t)n);
        break;
    }
    freeifaddrs(ifa);
}

static char *default_node_name(void)
{
    char h[256];
    if (gethostname(h, sizeof(h)) != 0)
        snprintf(h, sizeof(h), "localhost");
    h[sizeof(h) - 1] = 0;
    for (char *c = h; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return ck_strdup(h);
}

static void mkdirs(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *c = tmp + 1; *c; c++)
        if (*c == '/') {
            *c = 0;
            mkdir(tmp, 0755);
            *c = '/';
        }
    mkdir(tmp, 0755);
}

static int open_nodes(struct agent *ag, struct ck_err *err)
{
    const struct agent_opts *o = ag->o;
    ag->nnodes = ag->hollow ? o->hollow : 1;
    ag->nodes = ck_calloc((size_t)ag->nnodes, sizeof(*ag->nodes));
    char *base = o->node_name && *o->node_name ? ck_strdup(o->node_name)
                 : ag->hollow                  ? ck_strdup("hollow-node")
                                               : default_node_name();
    for (int i = 0; i < ag->nnodes; i++) {
        struct ag_node *n = &ag->nodes[i];
        n->ag = ag;
        n->index = i;
        n->pressure_taints = -1;
        n->name = ag->hollow ? ck_asprintf("%s-%d", base, i) : ck_strdup(base);
        if (ag->hollow) {
            char cidr[32];
            snprintf(cidr, sizeof(cidr), "10.%d.%d.0/24", 128 + i / 256, i % 256);
            struct rt_hollow_opts ho = {.pod_cidr = cidr};
            n->rt = rt_hollow_open(&ho, err);
            snprintf(n->host_ip, sizeof(n->host_ip), "100.64.%d.%d", i / 250, i % 250 + 1);
        } else {
            char rtroot[4096];
            snprintf(rtroot, sizeof(rtroot), "%s/runtime", ag->root);
            struct rt_crun_opts co = {.root = rtroot, .cni_conflist = o->cni_conf};
            n->rt = rt_crun_open(&co, err);
            if (o->node_ip && *o->node_ip)
                snprintf(n->host_ip, sizeof(n->host_ip), "%s", o->node_ip);
            else
                first_ipv4(n->host_ip, sizeof(n->host_ip));
        }
        if (!n->rt) {
            free(base);
            return ck_err_wrap(err, "node %s: runtime", n->name);
        }
        ck_strmap_put(&ag->node_by_name, n->name, n);
    }
    free(base);
    return 0;
}

static void free_nodes(struct agent *ag)
{
    for (int i = 0; i < ag->nnodes; i++) {
        struct ag_node *n = &ag->nodes[i];
        rt_close(n->rt);
        free(n->name);
        free(n->uid);
        json_decref(n->reported);
        json_decref(n->lease);
        ck_strmap_release(&n->pleg);
    }
    free(ag->nodes);
    ck_strmap_release(&ag->node_by_name);
}

int agent_run(const struct agent_opts *o, volatile int *stop)
{
    struct agent ag_storage = {0}, *ag = &ag_storage;
    struct ck_err err = CK_ERR_INIT;
    struct ck_client_config cfg = {0};
    int rc = 1;
    struct ag_threshold thr[AG_EVICT_MAX_THRESHOLDS];
    size_t nthr = 0;
    struct agent_opts joined_opts; /* join.c: o with the kubeconfig the join wrote */
    char *joined_path = NULL;
    if (ag_evict_parse(o->eviction_hard, thr, &nthr, &err) < 0 ||
        ag_evict_parse_reclaim(o->eviction_minimum_reclaim, thr, nthr, &err) < 0) {
        ck_error("agent: --eviction-hard / --eviction-minimum-reclaim: %s", err.msg);
        ck_err_clear(&err);
        return 1;
    }
    ag->o = o;
    ag->stop = stop;
    ag->hollow = o->hollow > 0;
    ag->runtime_name = ag->hollow ? "hollow" : "crun";
    ag->root = ck_strdup(o->root && *o->root ? o->root : "/var/lib/ckube/agent");
    ag->started_ns = ck_mono_ns();
    pthread_mutex_init(&ag->mu, NULL);
    if (o->client_config) {
        rc = ck_client_new(o->client_config, &ag->client, &err) < 0;
    } else {
        char *joined = NULL; /* join.c: the node's own kubeconfig after a bootstrap join */
        if (o->join_server && !(joined = ag_join(o, ag->root, &err)))
            rc = 1;
        else
            rc = ck_config_from_kubeconfig(joined ? joined : o->kubeconfig, NULL, &cfg, &err) < 0;
        if (!rc) {
            int nn = ag->hollow ? o->hollow : 1;
            cfg.qps = 50.0 * nn; /* the kubelet's kube-api-qps/burst, per node */
            cfg.burst = 100 * nn;
            rc = ck_client_new(&cfg, &ag->client, &err) < 0;
        }
        if (!rc && joined) { /* join.c: the rest of the agent (kubelet server) reads it too */
            joined_opts = *o;
            joined_opts.kubeconfig = joined_path = joined;
            ag->o = &joined_opts;
            ag_join_renew_start(ag, joined); /* join.c: client certificate rotation */
        } else {
            free(joined);
        }
        ck_client_config_release(&cfg);
    }
    if (rc) {
        ck_error("agent: %s", err.msg);
        free(ag->root);
        return 1;
    }
    rc = 1;
    if (!ag->hollow) {
        mkdirs(ag->root);
        char pods[4096], imgs[4096];
        snprintf(pods, sizeof(pods), "%s/pods", ag->root);
        mkdirs(pods);
        snprintf(imgs, sizeof(imgs), "%s/images", ag->root);
        if (img_store_open(imgs, &ag->images, &err) < 0) {
            ck_error("agent: image store: %s", err.msg);
            goto out;
        }
    }
    if (open_nodes(ag, &err) < 0) {
        ck_error("agent: %s", err.msg);
        goto out;
    }
    ag->podq = wq_new(
        &(struct wq_opts){.name = "pods", .limiter = wq_limiter_exponential(SEC / 100, 10 * SEC)});
    ag->nodeq = wq_new(
        &(struct wq_opts){.name = "nodes", .limiter = wq_limiter_exponential(SEC / 5, 7 * SEC)});
    char fs[512];
    if (ag->hollow)
        snprintf(fs, sizeof(fs), "spec.nodeName!=");
    else
        snprintf(fs, sizeof(fs), "spec.nodeName=%s", ag->nodes[0].name);
    ag->pod_inf = ck_informer_new(
        ag->client, &(struct ck_informer_opts){.path = "/api/v1/pods", .field_selector = fs});
    ck_informer_add_handlers(
        ag->pod_inf, &(struct ck_informer_handlers){on_pod, on_pod_update, on_pod_delete, ag});
    ag_prober_start(ag);
    int npw = o->workers > 0 ? o->workers : ag->hollow ? 8 : 4;
    int nnw = ag->hollow ? 8 : 2;
    pthread_t *pw = ck_calloc((size_t)npw, sizeof(*pw)), *nw = ck_calloc((size_t)nnw, sizeof(*nw));
    for (int i = 0; i < npw; i++)
        pthread_create(&pw[i], NULL, pod_worker, ag);
    for (int i = 0; i < nnw; i++)
        pthread_create(&nw[i], NULL, node_worker, ag);
    /* kubesrv: the kubelet server listens before the Node posts its port */
    struct ag_kubesrv *ks = ag_kubesrv_start(ag, &err);
    if (!ks && o->port != AGENT_PORT_OFF) {
        ck_warn("agent: kubelet server: %s", err.msg);
        ck_err_clear(&err);
    }
    ag_node_schedule_all(ag);
    ag_podcidr_apply(ag); /* podcidr.c, routes.c: the pod network of a multi-node cluster */
    if (ag_routes_start(ag, &err) < 0) {
        ck_warn("agent: routes: %s", err.msg);
        ck_err_clear(&err);
    }
    /* the proxy's rules (VIPs no Service holds are rejected) are in before any pod starts */
    if (ag_proxy_start(ag, &err) < 0 || ag_dns_start(ag, &err) < 0) {
        ck_warn("agent: %s", err.msg);
        ck_err_clear(&err);
    }
    ck_informer_start(ag->pod_inf);
    if (ag_static_start(ag, &err) < 0 || ag_evict_start(ag, &err) < 0) {
        ck_warn("agent: %s", err.msg);
        ck_err_clear(&err);
    }
    ag_gc_start(ag);
    pthread_t pleg;
    pthread_create(&pleg, NULL, pleg_thread, ag);
    struct ag_httpd *hd = NULL;
    if (o->healthz_port >= 0) {
        hd = ag_httpd_start(ag, o->healthz_bind ? o->healthz_bind : "127.0.0.1",
                            o->healthz_port ? o->healthz_port : 10248, &err);
        if (!hd) {
            ck_warn("agent: healthz server: %s", err.msg);
            ck_err_clear(&err);
        }
    }
    ck_info("agent: %d node(s) (%s runtime), first %s, ip %s, healthz port %d", ag->nnodes,
            ag->runtime_name, ag->nodes[0].name, ag->nodes[0].host_ip, hd ? ag_httpd_port(hd) : -1);
    while (!*stop)
        usleep(100000);
    ck_info("agent: shutting down");
    ag_httpd_stop(hd);
    ag_dns_stop(ag);
    ag_proxy_stop(ag);
    ag_routes_stop(ag);
    ag_join_renew_stop(ag);
    ag_kubesrv_stop(ks); /* kubesrv */
    pthread_join(pleg, NULL);
    ck_informer_stop(ag->pod_inf);
    wq_shutdown(ag->podq);
    wq_shutdown(ag->nodeq);
    for (int i = 0; i < npw; i++)
        pthread_join(pw[i], NULL);
    ag_prober_stop(ag);
    for (int i = 0; i < nnw; i++)
        pthread_join(nw[i], NULL);
    free(pw);
    free(nw);
    ag_static_stop(ag); /* their threads use the queues, the informer and the workers' data */
    ag_evict_stop(ag);
    ag_gc_stop(ag);
    ck_informer_free(ag->pod_inf);
    wq_free(ag->podq);
    wq_free(ag->nodeq);
    const char *k;
    void *v;
    for (size_t it = 0; ck_strmap_next(&ag->pods, &it, &k, &v);)
        pod_free(v);
    ck_strmap_release(&ag->pods);
    rc = 0;
out:
    free_nodes(ag);
    if (ag->images)
        img_store_close(ag->images);
    ck_client_free(ag->client);
    free(ag->root);
    free(joined_path);
    pthread_mutex_destroy(&ag->mu);
    return rc;
}
