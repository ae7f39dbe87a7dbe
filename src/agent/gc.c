/* SPDX-License-Identifier: Apache-2.0 */
/* Garbage collection (upstream kuberuntime_gc.go and images/image_gc_manager.go):
 * - containers, every minute: dead containers of a pod beyond MaxPerPodContainer=1 per
 *   container name are removed, oldest first (MinAge 0); not-ready sandboxes without
 *   containers that are not their pod's newest are removed too. Pods being worked on
 *   (terminating) and pods the agent does not know are left to their workers;
 * - images, every 5 minutes: when the image filesystem's usage reaches
 *   --image-gc-high-threshold (85%), unused images (no container, running or dead, uses
 *   them) older than --minimum-image-ttl-duration (2m) are removed, least recently used first,
 *   until usage is back to --image-gc-low-threshold (80%). */
#include "agent/agent_int.h"
#include "image/image.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "lib/banned.h"

#define SEC 1000000000LL
#define CONTAINER_GC_PERIOD_NS (60 * SEC)

struct ag_gc {
    struct agent *ag;
    pthread_t th;
    pthread_mutex_t mu; /* one collection at a time (the thread, the eviction manager) */
};

static const char *label(const struct rt_kv *l, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(l[i].key, key))
            return l[i].value;
    return "";
}

/* The pod is known and in its SYNC state: its dead containers are ours to collect. */
static bool pod_collectable(struct agent *ag, const char *uid)
{
    pthread_mutex_lock(&ag->mu);
    struct ag_pod *p = ck_strmap_get(&ag->pods, uid, NULL);
    bool ok = p && !p->api_gone && p->state == AG_POD_SYNC;
    pthread_mutex_unlock(&ag->mu);
    return ok;
}

static int gc_node_containers(struct agent *ag, struct runtime *rt)
{
    struct rt_container_status *cs = NULL;
    struct rt_sandbox_status *sbs = NULL;
    size_t nc = 0, nsb = 0;
    int removed = 0;
    struct ck_err err = CK_ERR_INIT;
    if (rt->ops->list_containers(rt, NULL, &cs, &nc, &err) < 0 ||
        rt->ops->list_pod_sandboxes(rt, &sbs, &nsb, &err) < 0) {
        ck_v(1, "container GC: %s", err.msg);
        ck_err_clear(&err);
        rt_container_list_free(cs, nc);
        return 0;
    }
    bool *gone = ck_calloc(nc + 1, sizeof(*gone));
    for (size_t i = 0; i < nc; i++) {
        if (cs[i].state == RT_CONTAINER_RUNNING || cs[i].state == RT_CONTAINER_CREATED || gone[i])
            continue;
        const char *uid = label(cs[i].labels, cs[i].nlabels, AG_LABEL_POD_UID);
        if (!*uid || !pod_collectable(ag, uid))
            continue;
        /* the dead instances of this (pod, container), newest kept */
        size_t newest = i;
        for (size_t j = 0; j < nc; j++) {
            if (cs[j].state == RT_CONTAINER_RUNNING || cs[j].state == RT_CONTAINER_CREATED ||
                strcmp(cs[j].name, cs[i].name) ||
                strcmp(label(cs[j].labels, cs[j].nlabels, AG_LABEL_POD_UID), uid))
                continue;
            if (cs[j].created_ns > cs[newest].created_ns)
                newest = j;
        }
        for (size_t j = 0; j < nc; j++) {
            if (j == newest || gone[j] || cs[j].state == RT_CONTAINER_RUNNING ||
                cs[j].state == RT_CONTAINER_CREATED || strcmp(cs[j].name, cs[i].name) ||
                strcmp(label(cs[j].labels, cs[j].nlabels, AG_LABEL_POD_UID), uid))
                continue;
            gone[j] = true;
            if (rt->ops->remove_container(rt, cs[j].id, &err) == 0) {
                removed++;
                ck_v(2, "container GC: removed dead container %s (%s) of pod %s", cs[j].name,
                     cs[j].id, uid);
            }
            ck_err_clear(&err);
        }
        gone[newest] = true;
    }
    /* not-ready sandboxes without containers, other than their pod's newest */
    for (size_t i = 0; i < nsb; i++) {
        if (sbs[i].state == RT_SANDBOX_READY || !pod_collectable(ag, sbs[i].uid))
            continue;
        bool newer = false, used = false;
        for (size_t j = 0; j < nsb; j++)
            newer |= j != i && !strcmp(sbs[j].uid, sbs[i].uid) &&
                     (sbs[j].attempt > sbs[i].attempt ||
                      (sbs[j].attempt == sbs[i].attempt && sbs[j].created_ns > sbs[i].created_ns));
        for (size_t j = 0; j < nc; j++)
            used |= !gone[j] && !strcmp(cs[j].sandbox_id, sbs[i].id);
        if (!newer || used)
            continue;
        if (rt->ops->remove_pod_sandbox(rt, sbs[i].id, &err) == 0)
            ck_v(2, "container GC: removed sandbox %s of pod %s", sbs[i].id, sbs[i].uid);
        ck_err_clear(&err);
    }
    free(gone);
    rt_container_list_free(cs, nc);
    rt_sandbox_list_free(sbs, nsb);
    return removed;
}

int ag_gc_containers(struct agent *ag)
{
    if (ag->hollow || !ag->gc)
        return 0;
    pthread_mutex_lock(&ag->gc->mu);
    int n = 0;
    for (int i = 0; i < ag->nnodes; i++)
        n += gc_node_containers(ag, ag->nodes[i].rt);
    pthread_mutex_unlock(&ag->gc->mu);
    return n;
}

/* ---- images ------------------------------------------------------------------------------- */

static int cmp_last_used(const void *a, const void *b)
{
    const struct img_info *x = a, *y = b;
    return x->last_used < y->last_used ? -1 : x->last_used > y->last_used;
}

static int64_t free_images(struct agent *ag, int64_t bytes)
{
    struct img_info *imgs = NULL;
    size_t n = 0;
    struct ck_err err = CK_ERR_INIT;
    if (img_list(ag->images, &imgs, &n, &err) < 0) {
        ck_warn("image GC: %s", err.msg);
        ck_err_clear(&err);
        return 0;
    }
    struct rt_container_status *cs = NULL;
    size_t nc = 0;
    struct runtime *rt = ag->nodes[0].rt;
    if (rt->ops->list_containers(rt, NULL, &cs, &nc, &err) < 0) {
        ck_warn("image GC: list containers: %s", err.msg); /* nothing is known unused */
        ck_err_clear(&err);
        img_info_free(imgs, n);
        return 0;
    }
    qsort(imgs, n, sizeof(*imgs), cmp_last_used);
    int ttl = ag->o->minimum_image_ttl_s;
    int64_t min_age = ttl < 0 ? 0 : ttl > 0 ? ttl : 120, now = (int64_t)time(NULL), freed = 0;
    for (size_t i = 0; i < n && freed < bytes; i++) {
        bool used = false;
        for (size_t j = 0; j < nc && !used; j++) {
            char id[IMG_ID_MAX] = "";
            used = !strcmp(cs[j].image_id, imgs[i].id) ||
                   (img_resolve(ag->images, cs[j].image, id, &err) == 0 && !strcmp(id, imgs[i].id));
            ck_err_clear(&err);
        }
        if (used || now - imgs[i].created < min_age || now - imgs[i].last_used < min_age)
            continue;
        if (img_remove(ag->images, imgs[i].id, &err) == 0) {
            freed += imgs[i].size;
            ck_info("image GC: removed image %s (%s, %lld bytes)", imgs[i].id,
                    imgs[i].ntags ? imgs[i].repo_tags[0] : "<none>", (long long)imgs[i].size);
        } else {
            ck_warn("image GC: remove %s: %s", imgs[i].id, err.msg);
        }
        ck_err_clear(&err);
    }
    rt_container_list_free(cs, nc);
    img_info_free(imgs, n);
    return freed;
}

int64_t ag_gc_images(struct agent *ag, int64_t bytes)
{
    if (ag->hollow || !ag->images || !ag->gc || bytes <= 0)
        return 0;
    pthread_mutex_lock(&ag->gc->mu);
    int64_t f = free_images(ag, bytes);
    pthread_mutex_unlock(&ag->gc->mu);
    return f;
}

static void image_gc(struct agent *ag)
{
    int high = ag->o->image_gc_high_percent, low = ag->o->image_gc_low_percent;
    high = high < 0 ? 0 : high ? high : 85;
    low = low < 0 ? 0 : low ? low : 80;
    if (high >= 100)
        return; /* disabled */
    struct statvfs v;
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", img_store_root(ag->images));
    if (statvfs(dir, &v) != 0 || !v.f_blocks)
        return;
    int64_t cap = (int64_t)v.f_blocks * (int64_t)v.f_frsize;
    int64_t avail = (int64_t)v.f_bavail * (int64_t)v.f_frsize;
    int usage = 100 - (int)(avail * 100 / cap);
    if (usage < high)
        return;
    int64_t want = cap * (100 - low) / 100 - avail;
    ck_info("image GC: disk usage %d%% is over the high threshold %d%%: trying to free %lld "
            "bytes down to the low threshold %d%%",
            usage, high, (long long)want, low);
    int64_t freed = ag_gc_images(ag, want);
    if (freed < want)
        ck_warn("image GC: failed to garbage collect required amount of images. Attempted to "
                "free %lld bytes, but only found %lld bytes eligible to free.",
                (long long)want, (long long)freed);
}

static void *gc_thread(void *arg)
{
    struct ag_gc *g = arg;
    struct agent *ag = g->ag;
    int per = ag->o->image_gc_period_s;
    int64_t image_every = (int64_t)(per > 0 ? per : 300) * SEC;
    int64_t start = ck_mono_ns(), next_ctr = start + CONTAINER_GC_PERIOD_NS,
            next_img = start + image_every;
    while (!*ag->stop) {
        usleep(200000);
        int64_t now = ck_mono_ns();
        if (!ck_informer_has_synced(ag->pod_inf))
            continue;
        if (now >= next_ctr) {
            ag_gc_containers(ag);
            next_ctr = now + CONTAINER_GC_PERIOD_NS;
        }
        if (now >= next_img) {
            image_gc(ag);
            next_img = now + image_every;
        }
    }
    return NULL;
}

int ag_gc_start(struct agent *ag)
{
    if (ag->hollow)
        return 0;
    struct ag_gc *g = ck_calloc(1, sizeof(*g));
    g->ag = ag;
    pthread_mutex_init(&g->mu, NULL);
    ag->gc = g;
    if (pthread_create(&g->th, NULL, gc_thread, g) != 0) {
        ag->gc = NULL;
        pthread_mutex_destroy(&g->mu);
        free(g);
        return -1;
    }
    return 0;
}

void ag_gc_stop(struct agent *ag)
{
    struct ag_gc *g = ag->gc;
    if (!g)
        return;
    pthread_join(g->th, NULL);
    ag->gc = NULL;
    pthread_mutex_destroy(&g->mu);
    free(g);
}
