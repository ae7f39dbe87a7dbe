/* SPDX-License-Identifier: Apache-2.0 */
/* The eviction manager (upstream pkg/kubelet/eviction eviction_manager.go): every
 * housekeeping interval (10 s) it observes the node's signals (memory.available = capacity -
 * working set of the root memory cgroup, or /proc/meminfo on cgroup v2; nodefs/imagefs
 * available bytes and free inodes by statvfs; pid.available), decides with evict_rank.c,
 * reclaims node-level resources first for disk signals (container and image GC), then evicts
 * at most one pod (pods whose disk emptyDir exceeds its sizeLimit go first, upstream's
 * localStorageEviction): its worker stops it, and the status manager reports phase Failed,
 * reason Evicted with upstream's message, the DisruptionTarget condition and an Evicted event.
 * The MemoryPressure/DiskPressure/PIDPressure conditions come from here (node.c), and new pods
 * are admitted here (ag_evict_admit: BestEffort pods are rejected under memory pressure, all
 * but critical pods under disk or PID pressure). */
#include "agent/agent_int.h"
#include "agent/evict.h"
#include "agent/volumes_int.h"
#include "k8s/pod.h"
#include "k8s/podres.h"
#include "k8s/quantity.h"
#include "k8s/taints.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "lib/banned.h"

#define SEC 1000000000LL
#define SYSTEM_CRITICAL_PRIORITY 2000000000

struct ag_evict {
    struct agent *ag;
    pthread_t th;
    pthread_mutex_t mu;
    struct ag_evict_state st; /* the thread's */
    bool cond[AG_COND_N];     /* under mu */
    int64_t interval_ns;
};

/* ---- observations ------------------------------------------------------------------------- */

static long long read_ll(const char *path)
{
    FILE *f = fopen(path, "re");
    long long v = -1;
    if (f && fscanf(f, "%lld", &v) != 1)
        v = -1;
    if (f)
        fclose(f);
    return v;
}

/* "key value" files (memory.stat) and "Key: value kB" (/proc/meminfo) */
static long long read_key(const char *path, const char *key)
{
    FILE *f = fopen(path, "re");
    char line[256];
    long long v = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, key, n) && (line[n] == ' ' || line[n] == ':')) {
            v = strtoll(line + n + 1, NULL, 10);
            break;
        }
    if (f)
        fclose(f);
    return v;
}

static void observe_fs(const char *path, struct ag_observation *bytes,
                       struct ag_observation *inodes)
{
    struct statvfs v;
    if (statvfs(path, &v) != 0 || !v.f_blocks)
        return;
    *bytes = (struct ag_observation){true, (int64_t)v.f_bavail * (int64_t)v.f_frsize,
                                     (int64_t)v.f_blocks * (int64_t)v.f_frsize};
    if (v.f_files)
        *inodes = (struct ag_observation){true, (int64_t)v.f_favail, (int64_t)v.f_files};
}

static void observe(struct agent *ag, struct ag_evict_obs *o)
{
    memset(o, 0, sizeof(*o));
    long long total = read_key("/proc/meminfo", "MemTotal");
    if (total > 0) {
        int64_t cap = total * 1024, ws;
        long long usage = read_ll("/sys/fs/cgroup/memory/memory.usage_in_bytes");
        if (usage >= 0) { /* cgroup v1: the root cgroup, as cAdvisor reads it */
            long long inactive =
                read_key("/sys/fs/cgroup/memory/memory.stat", "total_inactive_file");
            ws = usage - (inactive > 0 ? inactive : 0);
        } else { /* cgroup v2: the machine's usage */
            long long fr = read_key("/proc/meminfo", "MemFree");
            long long inactive = read_key("/proc/meminfo", "Inactive(file)");
            ws = (total - (fr > 0 ? fr : 0) - (inactive > 0 ? inactive : 0)) * 1024;
        }
        if (ws < 0)
            ws = 0;
        o->s[AG_SIG_MEMORY] = (struct ag_observation){true, cap - ws > 0 ? cap - ws : 0, cap};
    }
    observe_fs(ag->root, &o->s[AG_SIG_NODEFS], &o->s[AG_SIG_NODEFS_INODES]);
    char imgs[PATH_MAX];
    snprintf(imgs, sizeof(imgs), "%s/images", ag->root);
    observe_fs(imgs, &o->s[AG_SIG_IMAGEFS], &o->s[AG_SIG_IMAGEFS_INODES]);
    long long pid_max = read_ll("/proc/sys/kernel/pid_max");
    FILE *f = fopen("/proc/loadavg", "re");
    long long running = 0, procs = -1;
    if (f && fscanf(f, "%*s %*s %*s %lld/%lld", &running, &procs) != 2)
        procs = -1;
    if (f)
        fclose(f);
    if (pid_max > 0 && procs >= 0)
        o->s[AG_SIG_PID] = (struct ag_observation){true, pid_max - procs, pid_max};
}

/* ---- candidates --------------------------------------------------------------------------- */

/* A pod considered for eviction. The record itself is not kept: its worker may forget it
 * while the round runs; the pod object (a reference) and the facts copied under agent.mu are. */
struct cand_info {
    json_t *pod;
    bool is_static;
    json_t *ctr_usage; /* container name -> working set bytes */
};

static _Thread_local int64_t du_total;
static int du_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)path, (void)flag, (void)f;
    du_total += (int64_t)st->st_blocks * 512;
    return 0;
}

static int64_t du(const char *path)
{
    du_total = 0;
    nftw(path, du_one, 16, FTW_PHYS | FTW_MOUNT);
    return du_total;
}

static size_t candidates(struct agent *ag, struct ag_node *n, bool need_disk,
                         struct cand_info **info, struct ag_evict_cand **cands)
{
    size_t cnt = 0, cap = 0;
    *info = NULL;
    *cands = NULL;
    pthread_mutex_lock(&ag->mu);
    const char *k;
    void *v;
    for (size_t it = 0; ck_strmap_next(&ag->pods, &it, &k, &v);) {
        struct ag_pod *p = v;
        if (p->node != n || p->api_gone || !p->pod || p->evict_msg || p->state != AG_POD_SYNC ||
            k8s_pod_is_terminal(p->pod) || k8s_obj_deleting(p->pod))
            continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            *info = ck_realloc(*info, cap * sizeof(**info));
            *cands = ck_realloc(*cands, cap * sizeof(**cands));
        }
        (*info)[cnt] = (struct cand_info){json_incref(p->pod), p->is_static, json_object()};
        cnt++;
    }
    pthread_mutex_unlock(&ag->mu);
    struct rt_container_status *cs = NULL;
    size_t nc = 0;
    struct ck_err err = CK_ERR_INIT;
    if (n->rt->ops->list_containers(n->rt, NULL, &cs, &nc, &err) < 0)
        ck_err_clear(&err);
    for (size_t i = 0; i < cnt; i++) {
        struct cand_info *ci = &(*info)[i];
        int64_t mem = 0;
        for (size_t j = 0; j < nc; j++) {
            const char *uid = NULL;
            for (size_t l = 0; l < cs[j].nlabels; l++)
                if (!strcmp(cs[j].labels[l].key, AG_LABEL_POD_UID))
                    uid = cs[j].labels[l].value;
            if (!uid || strcmp(uid, k8s_obj_uid(ci->pod)) || cs[j].state != RT_CONTAINER_RUNNING)
                continue;
            struct rt_stats st;
            if (n->rt->ops->container_stats(n->rt, cs[j].id, &st, &err) < 0) {
                ck_err_clear(&err);
                continue;
            }
            mem += (int64_t)st.memory_working_set_bytes;
            json_object_set_new(ci->ctr_usage, cs[j].name,
                                json_integer((json_int_t)st.memory_working_set_bytes));
        }
        struct k8s_reslist req = K8S_RESLIST_INIT;
        k8s_pod_requests(ci->pod, NULL, &req);
        int64_t disk = 0;
        if (need_disk) { /* du only when a disk signal may rank pods */
            char path[PATH_MAX];
            snprintf(path, sizeof(path), "%s/volumes/%s", ag->root, k8s_obj_uid(ci->pod));
            disk = du(path);
            snprintf(path, sizeof(path), "%s/pods/%s_%s_%s", ag->root, k8s_obj_namespace(ci->pod),
                     k8s_obj_name(ci->pod), k8s_obj_uid(ci->pod));
            disk += du(path);
        }
        int32_t prio = k8s_pod_priority(ci->pod);
        (*cands)[i] = (struct ag_evict_cand){k8s_obj_uid(ci->pod),
                                             prio,
                                             ci->is_static || prio >= SYSTEM_CRITICAL_PRIORITY,
                                             mem,
                                             k8s_reslist_value(&req, "memory"),
                                             disk,
                                             k8s_reslist_value(&req, "ephemeral-storage")};
        k8s_reslist_release(&req);
    }
    rt_container_list_free(cs, nc);
    return cnt;
}

static void qty_str(int64_t v, bool binary, char out[K8S_QTY_STRLEN])
{
    struct k8s_quantity q =
        k8s_quantity_from_int(v, binary ? K8S_QTY_BINARY_SI : K8S_QTY_DECIMAL_SI);
    k8s_quantity_str(&q, out);
}

/* evictionMessage */
static char *message(const struct ag_threshold *t, const struct ag_observation *ob,
                     const struct cand_info *ci)
{
    struct ck_buf b = CK_BUF_INIT(1 << 14);
    bool binary = t->sig == AG_SIG_MEMORY || t->sig == AG_SIG_NODEFS || t->sig == AG_SIG_IMAGEFS;
    char thr[K8S_QTY_STRLEN], avail[K8S_QTY_STRLEN];
    if (t->percent > 0)
        qty_str(ag_threshold_value(t, ob->capacity), binary, thr);
    else
        snprintf(thr, sizeof(thr), "%s", t->text);
    qty_str(ob->available, binary, avail);
    ck_buf_appendf(&b, "The node was low on resource: %s. ", ag_signal_resource(t->sig));
    ck_buf_appendf(&b, "Threshold quantity: %s, available: %s. ", thr, avail);
    if (t->sig == AG_SIG_MEMORY) {
        const json_t *cs = k8s_jpath(ci->pod, "spec.containers");
        for (size_t i = 0; i < k8s_jlen(cs); i++) {
            const json_t *c = json_array_get(cs, i);
            json_t *u = json_object_get(ci->ctr_usage, k8s_jstr(c, "name"));
            if (!u)
                continue;
            const json_t *rq = k8s_jpath(c, "resources.requests.memory");
            struct k8s_quantity q = {0};
            if (rq)
                k8s_quantity_from_json(rq, &q);
            int64_t req = rq ? k8s_quantity_value(&q) : 0;
            if (json_integer_value(u) <= req)
                continue;
            char used[K8S_QTY_STRLEN], rs[K8S_QTY_STRLEN] = "0";
            qty_str(json_integer_value(u), true, used);
            if (rq)
                k8s_quantity_str(&q, rs);
            ck_buf_appendf(&b, "Container %s was using %s, which exceeds its request of %s. ",
                           k8s_jstr(c, "name"), used, rs);
        }
    }
    return ck_buf_detach(&b, NULL);
}

/* ---- the loop ----------------------------------------------------------------------------- */

static void evict_pod(struct agent *ag, const json_t *pod, const char *msg)
{
    const char *uid = k8s_obj_uid(pod);
    pthread_mutex_lock(&ag->mu);
    struct ag_pod *p = ck_strmap_get(&ag->pods, uid, NULL);
    bool now = p && !p->evict_msg && !p->api_gone;
    if (now)
        p->evict_msg = ck_strdup(msg);
    struct ag_node *n = p ? p->node : NULL;
    pthread_mutex_unlock(&ag->mu);
    if (!now)
        return; /* gone or evicted meanwhile */
    ck_info("eviction manager: evicting pod %s/%s: %s", k8s_obj_namespace(pod), k8s_obj_name(pod),
            msg);
    ag_event_obj(ag, n, k8s_obj_namespace(pod), k8s_obj_name(pod), uid, NULL, false, true,
                 "Evicted", msg);
    wq_add(ag->podq, uid);
}

/* localStorageEviction for emptyDir volumes on disk: a pod whose emptyDir holds more than its
 * sizeLimit is evicted (upstream's emptyDirMessageFmt). Returns the number evicted. */
static int local_storage_eviction(struct agent *ag, struct cand_info *info, size_t cnt)
{
    int evicted = 0;
    for (size_t i = 0; i < cnt; i++) {
        const json_t *vols = k8s_jpath(info[i].pod, "spec.volumes");
        for (size_t v = 0; v < k8s_jlen(vols); v++) {
            const json_t *vol = json_array_get(vols, v), *ed = json_object_get(vol, "emptyDir");
            const json_t *sl = json_object_get(ed, "sizeLimit");
            struct k8s_quantity q;
            const char *name = k8s_jstr(vol, "name");
            if (!sl || !strcmp(k8s_jstr(ed, "medium"), "Memory") || strchr(name, '/') ||
                k8s_quantity_from_json(sl, &q) < 0)
                continue;
            char path[PATH_MAX];
            snprintf(path, sizeof(path), "%s/volumes/%s/%s", ag->root, k8s_obj_uid(info[i].pod),
                     name);
            if (du(path) <= k8s_quantity_value(&q))
                continue;
            char lim[K8S_QTY_STRLEN];
            k8s_quantity_str(&q, lim);
            char *qn = NULL, *ql = NULL;
            ag_go_quote(name, &qn);
            ag_go_quote(lim, &ql);
            char *msg = ck_asprintf("Usage of EmptyDir volume %s exceeds the limit %s. ", qn, ql);
            evict_pod(ag, info[i].pod, msg);
            free(msg);
            free(qn);
            free(ql);
            evicted++;
            break;
        }
    }
    return evicted;
}

static void evict_one(struct ag_evict *e, struct ag_node *n, const struct ag_evict_obs *o)
{
    struct agent *ag = e->ag;
    struct cand_info *info;
    struct ag_evict_cand *cands;
    bool need_disk = false; /* a disk threshold met now, or still reclaiming */
    for (size_t i = 0; i < e->st.nt; i++) {
        const struct ag_threshold *t = &e->st.t[i];
        const struct ag_observation *ob = &o->s[t->sig];
        if (t->sig != AG_SIG_MEMORY && t->sig != AG_SIG_PID &&
            (e->st.met[i] || (ob->have && ob->available < ag_threshold_value(t, ob->capacity))))
            need_disk = true;
    }
    size_t cnt = candidates(ag, n, need_disk, &info, &cands);
    struct ag_evict_decision d;
    ag_evict_sync(&e->st, o, ck_mono_ns(), cands, cnt, &d);
    bool changed = false;
    pthread_mutex_lock(&e->mu);
    for (int c = 0; c < AG_COND_N; c++) {
        changed |= e->cond[c] != e->st.cond[c];
        e->cond[c] = e->st.cond[c];
    }
    pthread_mutex_unlock(&e->mu);
    if (changed)
        wq_add(ag->nodeq, "s/0"); /* post the node conditions now */
    if (local_storage_eviction(ag, info, cnt) > 0)
        d.threshold = -1; /* this round's evictions are done */
    if (d.threshold >= 0) {
        const struct ag_threshold *t = &e->st.t[d.threshold];
        const struct ag_observation *ob = &o->s[t->sig];
        ck_info("eviction manager: attempting to reclaim %s (%s available %lld, threshold %s)",
                ag_signal_resource(t->sig), ag_signal_name(t->sig), (long long)ob->available,
                t->text);
        bool reclaimed = false;
        if (t->sig != AG_SIG_MEMORY && t->sig != AG_SIG_PID) { /* node-level reclaim first */
            int64_t want = ag_threshold_value(t, ob->capacity) - ob->available;
            if (t->sig == AG_SIG_NODEFS || t->sig == AG_SIG_NODEFS_INODES)
                ag_gc_containers(ag);
            if (t->sig != AG_SIG_NODEFS_INODES && t->sig != AG_SIG_IMAGEFS_INODES)
                reclaimed = want > 0 && ag_gc_images(ag, want) >= want;
        }
        if (!reclaimed && d.victim >= 0) {
            struct cand_info *ci = NULL;
            for (size_t i = 0; i < cnt; i++)
                if (!strcmp(k8s_obj_uid(info[i].pod), cands[d.victim].uid))
                    ci = &info[i];
            char *msg = ci ? message(t, ob, ci) : NULL;
            if (ci)
                evict_pod(ag, ci->pod, msg);
            free(msg);
        } else if (!reclaimed) {
            ck_info("eviction manager: no pod to evict for %s", ag_signal_name(t->sig));
        }
    }
    for (size_t i = 0; i < cnt; i++) {
        json_decref(info[i].pod);
        json_decref(info[i].ctr_usage);
    }
    free(info);
    free(cands);
}

static void *evict_thread(void *arg)
{
    struct ag_evict *e = arg;
    struct agent *ag = e->ag;
    while (!*ag->stop && !ck_informer_has_synced(ag->pod_inf))
        usleep(100000);
    int64_t next = ck_mono_ns();
    while (!*ag->stop) {
        if (ck_mono_ns() >= next) {
            struct ag_evict_obs o;
            observe(ag, &o);
            evict_one(e, &ag->nodes[0], &o);
            next = ck_mono_ns() + e->interval_ns;
        }
        usleep(100000);
    }
    return NULL;
}

int ag_evict_start(struct agent *ag, struct ck_err *err)
{
    if (ag->hollow)
        return 0;
    struct ag_evict *e = ck_calloc(1, sizeof(*e));
    e->ag = ag;
    pthread_mutex_init(&e->mu, NULL);
    if (ag_evict_parse(ag->o->eviction_hard, e->st.t, &e->st.nt, err) < 0 ||
        ag_evict_parse_reclaim(ag->o->eviction_minimum_reclaim, e->st.t, e->st.nt, err) < 0) {
        pthread_mutex_destroy(&e->mu);
        free(e);
        return ck_err_wrap(err, "--eviction-hard / --eviction-minimum-reclaim");
    }
    int tp = ag->o->eviction_pressure_transition_s;
    e->st.transition_ns = (int64_t)(tp > 0 ? tp : 300) * SEC;
    int iv = ag->o->eviction_interval_s;
    e->interval_ns = (int64_t)(iv > 0 ? iv : 10) * SEC;
    if (pthread_create(&e->th, NULL, evict_thread, e) != 0) {
        pthread_mutex_destroy(&e->mu);
        free(e);
        return ck_err_set(err, CK_R_INTERNAL, "eviction manager: cannot start a thread");
    }
    ag->evict = e;
    for (size_t i = 0; i < e->st.nt; i++)
        ck_v(1, "eviction manager: hard threshold %s<%s", ag_signal_name(e->st.t[i].sig),
             e->st.t[i].text);
    return 0;
}

void ag_evict_stop(struct agent *ag)
{
    struct ag_evict *e = ag->evict;
    if (!e)
        return;
    pthread_join(e->th, NULL);
    pthread_mutex_destroy(&e->mu);
    free(e);
    ag->evict = NULL;
}

int ag_evict_grace(struct agent *ag, struct ag_pod *p, int grace)
{
    return ag_evict_pending(ag, p) && grace > 2 ? 2 : grace;
}

bool ag_evict_pending(struct agent *ag, struct ag_pod *p)
{
    pthread_mutex_lock(&ag->mu);
    bool r = p->evict_msg != NULL;
    pthread_mutex_unlock(&ag->mu);
    return r;
}

void ag_evict_status(struct agent *ag, struct ag_pod *p, json_t *st)
{
    if (p->state == AG_POD_SYNC)
        return; /* reported once the worker has stopped it (the worker's own field) */
    pthread_mutex_lock(&ag->mu);
    char *msg = p->evict_msg ? ck_strdup(p->evict_msg) : NULL;
    pthread_mutex_unlock(&ag->mu);
    if (!msg)
        return;
    json_object_set_new(st, "phase", json_string("Failed"));
    json_object_set_new(st, "reason", json_string("Evicted"));
    json_object_set_new(st, "message", json_string(msg));
    if (!strncmp(msg, "Pod was rejected: ", 18)) { /* an admission failure, not a disruption */
        free(msg);
        return;
    }
    json_t *conds = json_object_get(st, "conditions");
    if (!json_is_array(conds))
        json_object_set_new(st, "conditions", conds = json_array());
    bool have = false;
    for (size_t i = 0; i < json_array_size(conds); i++)
        have |= !strcmp(k8s_jstr(json_array_get(conds, i), "type"), "DisruptionTarget");
    if (!have) {
        char now[32];
        ag_time_str(ck_real_ns(), now);
        json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "DisruptionTarget",
                                               "status", "True", "lastTransitionTime", now,
                                               "reason", "TerminationByKubelet", "message", msg));
    }
    free(msg);
}

char *ag_evict_admit(struct agent *ag, const json_t *pod)
{
    bool mp, dp, pp;
    ag_evict_conditions(ag, &mp, &dp, &pp);
    if (!mp && !dp && !pp)
        return NULL;
    if (k8s_pod_priority(pod) >= SYSTEM_CRITICAL_PRIORITY)
        return NULL; /* critical pods are admitted under pressure */
    if (mp && !dp && !pp) {
        if (strcmp(k8s_pod_compute_qos(pod), "BestEffort"))
            return NULL;
        json_t *taint = json_pack("{s:s,s:s}", "key", "node.kubernetes.io/memory-pressure",
                                  "effect", "NoSchedule");
        bool tolerated = k8s_tolerations_tolerate(k8s_jpath(pod, "spec.tolerations"), taint, false);
        json_decref(taint);
        if (tolerated)
            return NULL;
    }
    /* nodeConditionMessageFmt with Go's rendering of the condition list */
    return ck_asprintf("The node had condition: [%s%s%s%s%s]. ", mp ? "MemoryPressure" : "",
                       mp && (dp || pp) ? " " : "", dp ? "DiskPressure" : "", dp && pp ? " " : "",
                       pp ? "PIDPressure" : "");
}

void ag_evict_conditions(struct agent *ag, bool *memory, bool *disk, bool *pid)
{
    *memory = *disk = *pid = false;
    struct ag_evict *e = ag->evict;
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    *memory = e->cond[AG_COND_MEMORY];
    *disk = e->cond[AG_COND_DISK];
    *pid = e->cond[AG_COND_PID];
    pthread_mutex_unlock(&e->mu);
}
