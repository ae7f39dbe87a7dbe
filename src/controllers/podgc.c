/* SPDX-License-Identifier: Apache-2.0 */
/* The pod garbage collector (pkg/controller/podgc/gc_controller.go), every 20 s:
 * - terminated pods (Succeeded or Failed) beyond --terminated-pod-gc-threshold (12500) are
 *   deleted, oldest first (by creationTimestamp);
 * - orphaned pods, bound to a node that no longer exists (seen missing twice, 40 s apart as
 *   upstream's quarantine), are force-deleted (grace 0) after a DisruptionTarget condition
 *   (reason DeletionByPodGC);
 * - unscheduled pods being deleted (no kubelet will ever finish them) are force-deleted;
 * - pods being deleted on a node tainted node.kubernetes.io/out-of-service are force-deleted. */
#include "ckube/indexer.h"
#include "controllers/cm.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/log.h"
#include "lib/strmap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

#define GC_PERIOD_NS (20LL * 1000000000LL)
#define QUARANTINE_S 40
#define DEFAULT_THRESHOLD 12500

struct pgc {
    struct cm *cm;
    struct ck_informer *nodes;
    struct wq *q; /* one key, "gc": one pass at a time */
    struct cm_workers w;
    pthread_t ticker;
    bool ticking;
    struct ck_strmap missing; /* node name -> first time seen missing (time_t as pointer) */
};

static void force_delete(struct pgc *c, const json_t *pod, const char *why, bool condition)
{
    const char *ns = k8s_obj_namespace(pod), *name = k8s_obj_name(pod);
    struct ck_err err = CK_ERR_INIT;
    if (condition) { /* upstream marks the pod before it goes */
        char now[32];
        cm_now(now);
        char *sp = ck_asprintf("/api/v1/namespaces/%s/pods/%s/status", ns, name);
        json_t *patch =
            json_pack("{s:{s:[{s:s,s:s,s:s,s:s,s:s}]}}", "status", "conditions", "type",
                      "DisruptionTarget", "status", "True", "reason", "DeletionByPodGC", "message",
                      "PodGC: node no longer exists", "lastTransitionTime", now);
        if (ck_client_patch_json(c->cm->client, sp, "application/strategic-merge-patch+json", patch,
                                 NULL, &err) < 0)
            ck_v(2, "podgc: condition on %s/%s: %s", ns, name, err.msg);
        ck_err_clear(&err);
        json_decref(patch);
        free(sp);
    }
    char *path = ck_asprintf("/api/v1/namespaces/%s/pods/%s?gracePeriodSeconds=0", ns, name);
    if (ck_client_delete(c->cm->client, path, &err) < 0 && err.reason != CK_R_NOT_FOUND)
        ck_warn("podgc: delete %s/%s: %s", ns, name, err.msg);
    else
        ck_info("podgc: deleted %s/%s (%s)", ns, name, why);
    free(path);
}

static bool out_of_service(const json_t *node)
{
    size_t i;
    json_t *t;
    json_array_foreach(k8s_jpath(node, "spec.taints"), i, t)
    {
        if (!strcmp(k8s_jpath_str(t, "key"), "node.kubernetes.io/out-of-service") &&
            !strcmp(k8s_jpath_str(t, "effect"), "NoExecute"))
            return true;
    }
    return false;
}

static int cmp_created(const void *a, const void *b)
{
    return strcmp(k8s_jpath_str(*(json_t *const *)a, "metadata.creationTimestamp"),
                  k8s_jpath_str(*(json_t *const *)b, "metadata.creationTimestamp"));
}

static void gc_terminated(struct pgc *c, json_t *pods)
{
    int64_t threshold = c->cm->terminated_pod_gc_threshold > 0 ? c->cm->terminated_pod_gc_threshold
                                                               : DEFAULT_THRESHOLD;
    size_t n = json_array_size(pods), nt = 0;
    json_t **term = ck_calloc(n + 1, sizeof(*term));
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(pods, i);
        if (k8s_pod_is_terminal(p) && !k8s_obj_deleting(p))
            term[nt++] = p;
    }
    if ((int64_t)nt > threshold) {
        qsort(term, nt, sizeof(*term), cmp_created);
        for (size_t i = 0; i < nt - (size_t)threshold && !*c->cm->stop; i++) {
            char *path = ck_asprintf("/api/v1/namespaces/%s/pods/%s", k8s_obj_namespace(term[i]),
                                     k8s_obj_name(term[i]));
            struct ck_err err = CK_ERR_INIT;
            if (ck_client_delete(c->cm->client, path, &err) < 0 && err.reason != CK_R_NOT_FOUND)
                ck_v(1, "podgc: %s: %s", path, err.msg);
            free(path);
        }
        ck_info("podgc: %zu terminated pods over the threshold of %lld deleted",
                nt - (size_t)threshold, (long long)threshold);
    }
    free(term);
}

static int sync_gc(void *arg, const char *key)
{
    (void)key;
    struct pgc *c = arg;
    json_t *pods = ck_indexer_list(ck_informer_indexer(c->cm->pods));
    gc_terminated(c, pods);
    time_t now = time(NULL);
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        const char *node = k8s_pod_node_name(p);
        if (!*node) {
            if (k8s_obj_deleting(p))
                force_delete(c, p, "unscheduled and terminating", false);
            continue;
        }
        json_t *n = ck_indexer_get(ck_informer_indexer(c->nodes), node);
        if (n) {
            if (k8s_obj_deleting(p) && out_of_service(n))
                force_delete(c, p, "terminating on an out-of-service node", false);
            json_decref(n);
            continue;
        }
        /* the node is missing: confirm with the API server, then wait out the quarantine */
        bool found;
        void *first = ck_strmap_get(&c->missing, node, &found);
        if (!found) {
            char *np = ck_asprintf("/api/v1/nodes/%s", node);
            struct ck_err err = CK_ERR_INIT;
            json_t *live = NULL;
            bool gone = ck_client_get_json(c->cm->client, np, &live, &err) < 0 &&
                        err.reason == CK_R_NOT_FOUND;
            json_decref(live);
            free(np);
            if (gone)
                ck_strmap_put(&c->missing, node, (void *)(intptr_t)now);
            continue;
        }
        if (now - (time_t)(intptr_t)first >= QUARANTINE_S)
            force_delete(c, p, "its node no longer exists", true);
    }
    /* forget nodes that came back or have no pods left */
    size_t it = 0;
    const char *k;
    void *v;
    char **drop = NULL;
    size_t nd = 0;
    while (ck_strmap_next(&c->missing, &it, &k, &v)) {
        json_t *n = ck_indexer_get(ck_informer_indexer(c->nodes), k);
        if (n || now - (time_t)(intptr_t)v > 10 * QUARANTINE_S) {
            drop = ck_realloc(drop, (nd + 1) * sizeof(*drop));
            drop[nd++] = ck_strdup(k);
        }
        json_decref(n);
    }
    for (size_t d = 0; d < nd; d++) {
        ck_strmap_del(&c->missing, drop[d], NULL);
        free(drop[d]);
    }
    free(drop);
    json_decref(pods);
    return 0;
}

static void *tick_main(void *arg)
{
    struct pgc *c = arg;
    while (!*c->cm->stop && !wq_shutting_down(c->q)) {
        wq_add(c->q, "gc");
        for (int k = 0; k < 100 && !*c->cm->stop && !wq_shutting_down(c->q); k++)
            nanosleep(&(struct timespec){0, GC_PERIOD_NS / 100}, NULL);
    }
    return NULL;
}

static int pgc_init(struct cm *cm, void **state)
{
    struct pgc *c = ck_calloc(1, sizeof(*c));
    c->cm = cm;
    c->nodes = ck_informer_factory_get(cm->factory, "/api/v1/nodes");
    c->q = wq_new(&(struct wq_opts){.name = "pod_garbage_collector"});
    *state = c;
    return 0;
}

static void pgc_run(void *state)
{
    struct pgc *c = state;
    c->w = (struct cm_workers){.q = c->q, .sync = sync_gc, .arg = c, .ctrl = &cm_podgc};
    cm_workers_start(&c->w, 1); /* one pass at a time */
    c->ticking = pthread_create(&c->ticker, NULL, tick_main, c) == 0;
}

static void pgc_stop(void *state)
{
    struct pgc *c = state;
    wq_shutdown(c->q);
    if (c->ticking)
        pthread_join(c->ticker, NULL);
    cm_workers_join(&c->w);
}

static void pgc_free(void *state)
{
    struct pgc *c = state;
    wq_free(c->q);
    ck_strmap_release(&c->missing);
    free(c);
}

struct cm_controller cm_podgc = {.name = "podgc",
                                 .alias = "pod-garbage-collector-controller",
                                 .init = pgc_init,
                                 .run = pgc_run,
                                 .stop = pgc_stop,
                                 .free = pgc_free};
