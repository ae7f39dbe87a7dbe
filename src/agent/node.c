/* SPDX-License-Identifier: Apache-2.0 */
/* The node side of the agent: registration (kubelet_node_status.go registerWithAPIServer),
 * node status (nodestatus setters: capacity/allocatable, addresses, nodeInfo, the
 * MemoryPressure/DiskPressure/PIDPressure conditions of the eviction manager (evict.c) with
 * the matching NoSchedule pressure taints, and Ready) posted when it changes and at
 * least every node-status-report-frequency, and the node Lease renewed every 10 s (the
 * nodelease controller). Every action is a node-queue item "<r|s|l>/<index>". */
#include "agent/agent_int.h"
#include "agent/volumes_int.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "lib/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "lib/banned.h"

#define LEASE_NS "kube-node-lease"
#define LEASE_DURATION_S 40
#define SEC 1000000000LL

static void micro_time(int64_t ns, char out[40])
{
    time_t t = (time_t)(ns / SEC);
    struct tm tm;
    gmtime_r(&t, &tm);
    char b[24];
    strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%s.%06lldZ", b, (long long)(ns % SEC) / 1000);
}

static void enqueue(struct agent *ag, char kind, int idx, int64_t delay_ns)
{
    char key[32];
    snprintf(key, sizeof(key), "%c/%d", kind, idx);
    if (delay_ns > 0)
        wq_add_after(ag->nodeq, key, delay_ns);
    else
        wq_add(ag->nodeq, key);
}

void ag_node_schedule_all(struct agent *ag)
{
    for (int i = 0; i < ag->nnodes; i++)
        enqueue(ag, 'r', i, 0);
}

/* ---- machine facts -------------------------------------------------------------------- */

static long long meminfo_kib(const char *field)
{
    FILE *f = fopen("/proc/meminfo", "re");
    char line[256];
    long long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, field, n) && line[n] == ':') {
            v = strtoll(line + n + 1, NULL, 10);
            break;
        }
    if (f)
        fclose(f);
    return v;
}

static void read_file_line(const char *path, char *out, size_t n, const char *dflt)
{
    FILE *f = fopen(path, "re");
    snprintf(out, n, "%s", dflt);
    if (f && fgets(out, (int)n, f))
        out[strcspn(out, "\n")] = 0;
    if (f)
        fclose(f);
}

static void os_image(char *out, size_t n)
{
    FILE *f = fopen("/etc/os-release", "re");
    char line[256];
    snprintf(out, n, "Linux");
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "PRETTY_NAME=", 12))
            continue;
        char *v = line + 12;
        v[strcspn(v, "\n")] = 0;
        size_t l = strlen(v);
        if (l >= 2 && v[0] == '"' && v[l - 1] == '"')
            v[l - 1] = 0, v++;
        snprintf(out, n, "%s", v);
    }
    if (f)
        fclose(f);
}

static const char *go_arch(void)
{
    struct utsname u;
    if (uname(&u) == 0 && (!strcmp(u.machine, "aarch64") || !strcmp(u.machine, "arm64")))
        return "arm64";
    return "amd64";
}

struct machine {
    long long cpu, mem_kib, disk_kib;
};

static void machine(struct ag_node *n, struct machine *m)
{
    m->cpu = 4, m->mem_kib = 16LL << 20, m->disk_kib = 100LL << 20;
    if (n->ag->hollow)
        return;
    m->cpu = sysconf(_SC_NPROCESSORS_ONLN);
    m->mem_kib = meminfo_kib("MemTotal");
    struct statvfs vfs;
    if (statvfs(n->ag->root, &vfs) == 0)
        m->disk_kib = (long long)(vfs.f_blocks * vfs.f_frsize / 1024);
}

void ag_node_alloc_get(struct agent *ag, struct ag_node_alloc *out)
{
    struct machine m;
    machine(&ag->nodes[0], &m);
    out->cpu_milli = m.cpu * 1000;
    out->memory_bytes = (m.mem_kib - 100 * 1024) * 1024;
    out->ephemeral_bytes = m.disk_kib * 1024 / 10 * 9;
}

/* Capacity and allocatable: allocatable = capacity - the default hard eviction thresholds
 * (memory.available 100Mi, nodefs.available 10%), no reservations. */
static void resources(struct ag_node *n, json_t *st)
{
    struct machine m;
    machine(n, &m);
    long long cpu = m.cpu, mem_kib = m.mem_kib, disk_kib = m.disk_kib;
    json_object_set_new(st, "capacity",
                        json_pack("{s:o,s:o,s:o,s:s,s:s,s:s}", "cpu", json_sprintf("%lld", cpu),
                                  "memory", json_sprintf("%lldKi", mem_kib), "ephemeral-storage",
                                  json_sprintf("%lldKi", disk_kib), "pods", "110", "hugepages-1Gi",
                                  "0", "hugepages-2Mi", "0"));
    json_object_set_new(st, "allocatable",
                        json_pack("{s:o,s:o,s:o,s:s,s:s,s:s}", "cpu", json_sprintf("%lld", cpu),
                                  "memory", json_sprintf("%lldKi", mem_kib - 100 * 1024),
                                  "ephemeral-storage",
                                  json_sprintf("%lld", disk_kib * 1024 / 10 * 9), "pods", "110",
                                  "hugepages-1Gi", "0", "hugepages-2Mi", "0"));
}

/* The pressure taints of the node lifecycle controller (TaintNodesByCondition), kept by the
 * agent itself: node.kubernetes.io/{memory,disk,pid}-pressure:NoSchedule while the matching
 * condition is True. */
static void sync_taints(struct ag_node *n)
{
    bool mp, dp, pp;
    ag_evict_conditions(n->ag, &mp, &dp, &pp);
    int bits = (mp ? 1 : 0) | (dp ? 2 : 0) | (pp ? 4 : 0);
    if (n->ag->hollow || bits == n->pressure_taints)
        return;
    static const char *const keys[] = {"node.kubernetes.io/memory-pressure",
                                       "node.kubernetes.io/disk-pressure",
                                       "node.kubernetes.io/pid-pressure"};
    char path[512];
    snprintf(path, sizeof(path), "/api/v1/nodes/%s", n->name);
    struct ck_err err = CK_ERR_INIT;
    json_t *node = NULL, *out = NULL;
    if (ck_client_get_json(n->ag->client, path, &node, &err) < 0)
        goto fail;
    json_t *spec = json_object_get(node, "spec");
    json_t *old = json_object_get(spec, "taints"), *taints = json_array();
    bool same = true;
    for (size_t i = 0; i < k8s_jlen(old); i++) {
        json_t *t = json_array_get(old, i);
        int k = -1;
        for (int j = 0; j < 3; j++)
            if (!strcmp(k8s_jstr(t, "key"), keys[j]) &&
                !strcmp(k8s_jstr(t, "effect"), "NoSchedule"))
                k = j;
        if (k < 0)
            json_array_append(taints, t);
        else
            same &= (bits >> k) & 1;
    }
    for (int j = 0; j < 3; j++) {
        if (!((bits >> j) & 1))
            continue;
        bool had = false;
        for (size_t i = 0; i < k8s_jlen(old); i++)
            had |= !strcmp(k8s_jstr(json_array_get(old, i), "key"), keys[j]);
        same &= had;
        json_array_append_new(taints,
                              json_pack("{s:s,s:s}", "key", keys[j], "effect", "NoSchedule"));
    }
    if (same) {
        json_decref(taints);
        json_decref(node);
        n->pressure_taints = bits;
        return;
    }
    if (json_array_size(taints))
        json_object_set_new(spec, "taints", taints);
    else
        json_object_del(spec, "taints"), json_decref(taints);
    if (ck_client_update_json(n->ag->client, path, node, &out, &err) < 0)
        goto fail;
    ck_info("node %s: pressure taints now%s%s%s", n->name, mp ? " memory-pressure" : "",
            dp ? " disk-pressure" : "", pp ? " pid-pressure" : "");
    n->pressure_taints = bits;
    json_decref(out);
    json_decref(node);
    return;
fail:
    ck_v(1, "node %s: updating the pressure taints: %s", n->name, err.msg);
    ck_err_clear(&err);
    json_decref(node);
}

static void condition(json_t *conds, const json_t *old, const char *type, bool on,
                      const char *reason, const char *msg, const char *now)
{
    const char *status = on ? "True" : "False";
    const char *ltt = now;
    for (size_t i = 0; i < k8s_jlen(old); i++) {
        json_t *c = json_array_get(old, i);
        if (!strcmp(k8s_jstr(c, "type"), type) && !strcmp(k8s_jstr(c, "status"), status) &&
            *k8s_jstr(c, "lastTransitionTime"))
            ltt = k8s_jstr(c, "lastTransitionTime");
    }
    json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", type, "status",
                                           status, "lastHeartbeatTime", now, "lastTransitionTime",
                                           ltt, "reason", reason, "message", msg));
}

json_t *ag_node_status(struct ag_node *n, const json_t *old_status, int64_t now_real_ns)
{
    char now[32];
    ag_time_str(now_real_ns, now);
    json_t *st = json_object();
    resources(n, st);
    const json_t *old = json_object_get(old_status, "conditions");
    json_t *conds = json_array();
    bool mp, dp, pp;
    ag_evict_conditions(n->ag, &mp, &dp, &pp); /* the eviction manager's observations */
    condition(conds, old, "MemoryPressure", mp,
              mp ? "KubeletHasInsufficientMemory" : "KubeletHasSufficientMemory",
              mp ? "kubelet has insufficient memory available"
                 : "kubelet has sufficient memory available",
              now);
    condition(conds, old, "DiskPressure", dp,
              dp ? "KubeletHasDiskPressure" : "KubeletHasNoDiskPressure",
              dp ? "kubelet has disk pressure" : "kubelet has no disk pressure", now);
    condition(
        conds, old, "PIDPressure", pp, pp ? "KubeletHasInsufficientPID" : "KubeletHasSufficientPID",
        pp ? "kubelet has insufficient PID available" : "kubelet has sufficient PID available",
        now);
    condition(conds, old, "Ready", true, "KubeletReady", "kubelet is posting ready status", now);
    json_object_set_new(st, "conditions", conds);
    char host[256];
    if (n->ag->hollow || gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "%s", n->name);
    json_object_set_new(st, "addresses",
                        json_pack("[{s:s,s:s},{s:s,s:s}]", "type", "InternalIP", "address",
                                  n->host_ip, "type", "Hostname", "address", n->name));
    json_object_set_new(st, "daemonEndpoints",
                        json_pack("{s:{s:i}}", "kubeletEndpoint", "Port",
                                  n->ag->kubelet_port ? n->ag->kubelet_port : 10250)); /* kubesrv */
    char machine[128], boot[128], kernel[128], osimg[128];
    struct utsname u;
    if (n->ag->hollow) {
        snprintf(machine, sizeof(machine), "hollow-%s", n->name);
        snprintf(boot, sizeof(boot), "hollow");
        snprintf(kernel, sizeof(kernel), "hollow");
        snprintf(osimg, sizeof(osimg), "hollow");
    } else {
        read_file_line("/etc/machine-id", machine, sizeof(machine), "");
        read_file_line("/proc/sys/kernel/random/boot_id", boot, sizeof(boot), "");
        snprintf(kernel, sizeof(kernel), "%s", uname(&u) == 0 ? u.release : "");
        os_image(osimg, sizeof(osimg));
    }
    json_object_set_new(st, "nodeInfo",
                        json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:s}", "machineID", machine,
                                  "systemUUID", machine, "bootID", boot, "kernelVersion", kernel,
                                  "osImage", osimg, "containerRuntimeVersion",
                                  json_sprintf("%s://%s", n->ag->runtime_name, CK_VERSION),
                                  "kubeletVersion", CK_KUBE_GIT_VERSION, "kubeProxyVersion",
                                  CK_KUBE_GIT_VERSION, "operatingSystem", "linux", "architecture",
                                  go_arch()));
    (void)host;
    return st;
}

/* The status without heartbeat times, for change detection. */
static json_t *strip_heartbeats(const json_t *st)
{
    json_t *c = json_deep_copy(st);
    json_t *conds = json_object_get(c, "conditions");
    for (size_t i = 0; i < k8s_jlen(conds); i++)
        json_object_del(json_array_get(conds, i), "lastHeartbeatTime");
    return c;
}

/* ---- registration --------------------------------------------------------------------- */

static json_t *node_object(struct ag_node *n)
{
    const char *arch = go_arch();
    json_t *node = json_pack(
        "{s:s,s:s,s:{s:s,s:{s:s,s:s,s:s,s:s,s:s},s:{s:s,s:s}},s:{}}", "apiVersion", "v1", "kind",
        "Node", "metadata", "name", n->name, "labels", "beta.kubernetes.io/arch", arch,
        "beta.kubernetes.io/os", "linux", "kubernetes.io/arch", arch, "kubernetes.io/hostname",
        n->name, "kubernetes.io/os", "linux", "annotations", "node.alpha.kubernetes.io/ttl", "0",
        "volumes.kubernetes.io/controller-managed-attach-detach", "true", "spec");
    json_object_set_new(node, "status", ag_node_status(n, NULL, ck_real_ns()));
    return node;
}

static int do_register(struct ag_node *n)
{
    struct agent *ag = n->ag;
    struct ck_err err = CK_ERR_INIT;
    json_t *obj = node_object(n), *out = NULL;
    int rc = ck_client_create_json(ag->client, "/api/v1/nodes", obj, &out, &err);
    json_decref(obj);
    if (rc < 0 && err.reason == CK_R_ALREADY_EXISTS) {
        char path[512];
        snprintf(path, sizeof(path), "/api/v1/nodes/%s", n->name);
        ck_err_clear(&err);
        rc = ck_client_get_json(ag->client, path, &out, &err);
    }
    if (rc < 0) {
        ck_warn("node %s: unable to register with the API server: %s", n->name, err.msg);
        ck_err_clear(&err);
        return -1;
    }
    free(n->uid);
    n->uid = ck_strdup(k8s_obj_uid(out));
    json_decref(out);
    n->registered = true;
    ck_v(1, "node %s registered (uid %s)", n->name, n->uid);
    return 0;
}

/* ---- status ---------------------------------------------------------------------------- */

static int post_status(struct ag_node *n, bool force)
{
    struct agent *ag = n->ag;
    int64_t now_mono = ck_mono_ns();
    json_t *st = ag_node_status(n, n->reported, ck_real_ns());
    json_t *cmp = strip_heartbeats(st);
    int64_t report = (int64_t)(ag->o->status_report_s > 0 ? ag->o->status_report_s : 300) * SEC;
    if (!force && n->reported && json_equal(cmp, n->reported) &&
        now_mono - n->last_report_ns < report) {
        json_decref(st);
        json_decref(cmp);
        return 0;
    }
    char path[512];
    snprintf(path, sizeof(path), "/api/v1/nodes/%s/status", n->name);
    json_t *patch = json_pack("{s:o}", "status", st);
    struct ck_err err = CK_ERR_INIT;
    int rc =
        ck_client_patch_json(ag->client, path, "application/merge-patch+json", patch, NULL, &err);
    json_decref(patch);
    if (rc < 0) {
        atomic_fetch_add(&ag->m.node_status_errors, 1);
        ck_warn("node %s: error updating node status: %s", n->name, err.msg);
        if (err.reason == CK_R_NOT_FOUND)
            n->registered = false; /* deleted behind our back: register again */
        ck_err_clear(&err);
        json_decref(cmp);
        return -1;
    }
    atomic_fetch_add(&ag->m.node_status_posts, 1);
    json_decref(n->reported);
    n->reported = cmp;
    n->last_report_ns = now_mono;
    return 0;
}

/* ---- lease ----------------------------------------------------------------------------- */

static json_t *new_lease(struct ag_node *n, const char *renew)
{
    json_t *l = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:i,s:s}}", "apiVersion",
                          "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", n->name,
                          "namespace", LEASE_NS, "spec", "holderIdentity", n->name,
                          "leaseDurationSeconds", LEASE_DURATION_S, "renewTime", renew);
    if (n->uid)
        json_object_set_new(json_object_get(l, "metadata"), "ownerReferences",
                            json_pack("[{s:s,s:s,s:s,s:s}]", "apiVersion", "v1", "kind", "Node",
                                      "name", n->name, "uid", n->uid));
    return l;
}

static int renew_lease(struct ag_node *n)
{
    struct agent *ag = n->ag;
    char path[512], renew[40];
    struct ck_err err = CK_ERR_INIT;
    snprintf(path, sizeof(path), "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", LEASE_NS,
             n->name);
    micro_time(ck_real_ns(), renew);
    json_t *out = NULL;
    int rc;
    if (!n->lease) { /* ensure it exists: GET, else CREATE */
        rc = ck_client_get_json(ag->client, path, &n->lease, &err);
        if (rc < 0 && err.reason == CK_R_NOT_FOUND) {
            ck_err_clear(&err);
            json_t *l = new_lease(n, renew);
            char coll[256];
            snprintf(coll, sizeof(coll), "/apis/coordination.k8s.io/v1/namespaces/%s/leases",
                     LEASE_NS);
            rc = ck_client_create_json(ag->client, coll, l, &out, &err);
            json_decref(l);
            if (rc == 0) {
                n->lease = out;
                atomic_fetch_add(&ag->m.lease_renews, 1);
                return 0;
            }
        }
        if (rc < 0)
            goto fail;
    }
    json_t *l = json_deep_copy(n->lease);
    json_t *spec = json_object_get(l, "spec");
    if (!spec)
        json_object_set_new(l, "spec", spec = json_object());
    json_object_set_new(spec, "holderIdentity", json_string(n->name));
    json_object_set_new(spec, "leaseDurationSeconds", json_integer(LEASE_DURATION_S));
    json_object_set_new(spec, "renewTime", json_string(renew));
    json_t *md = json_object_get(l, "metadata");
    if (n->uid && !json_object_get(md, "ownerReferences"))
        json_object_set_new(md, "ownerReferences",
                            json_pack("[{s:s,s:s,s:s,s:s}]", "apiVersion", "v1", "kind", "Node",
                                      "name", n->name, "uid", n->uid));
    rc = ck_client_update_json(ag->client, path, l, &out, &err);
    json_decref(l);
    if (rc < 0)
        goto fail;
    json_decref(n->lease);
    n->lease = out;
    atomic_fetch_add(&ag->m.lease_renews, 1);
    return 0;
fail:
    atomic_fetch_add(&ag->m.lease_errors, 1);
    ck_v(1, "node %s: failed to update lease: %s", n->name, err.msg);
    ck_err_clear(&err);
    json_decref(n->lease); /* re-read it next time (conflict, deleted, server restarted) */
    n->lease = NULL;
    return -1;
}

/* ---- the node queue -------------------------------------------------------------------- */

void ag_node_handle(struct agent *ag, const char *key)
{
    int idx = atoi(key + 2);
    if (idx < 0 || idx >= ag->nnodes)
        return;
    struct ag_node *n = &ag->nodes[idx];
    int64_t upd = (int64_t)(ag->o->status_update_s > 0 ? ag->o->status_update_s : 10) * SEC;
    int64_t lease_every = (int64_t)(ag->o->lease_renew_s > 0 ? ag->o->lease_renew_s : 10) * SEC;
    switch (key[0]) {
    case 'r':
        if (do_register(n) < 0) {
            enqueue(ag, 'r', idx, 2 * SEC);
            return;
        }
        post_status(n, true);
        sync_taints(n);
        enqueue(ag, 's', idx, upd);
        if (!n->lease_started) { /* the first lease is not a renewal: not counted late */
            n->lease_started = true;
            enqueue(ag, 'l', idx, 0);
        }
        return;
    case 's':
        if (!n->registered) {
            enqueue(ag, 'r', idx, 0);
            return;
        }
        if (post_status(n, false) == 0)
            sync_taints(n);
        enqueue(ag, 's', idx, upd);
        return;
    case 'l': {
        int64_t now = ck_mono_ns();
        if (n->lease_due_ns && now - n->lease_due_ns > 2 * SEC)
            atomic_fetch_add(&ag->m.lease_late, 1);
        if (renew_lease(n) < 0) {
            /* upstream retries with a backoff from 200 ms doubling to 7 s */
            n->lease_backoff_ns = n->lease_backoff_ns ? n->lease_backoff_ns * 2 : SEC / 5;
            if (n->lease_backoff_ns > 7 * SEC)
                n->lease_backoff_ns = 7 * SEC;
            n->lease_due_ns = now + n->lease_backoff_ns;
            enqueue(ag, 'l', idx, n->lease_backoff_ns);
            return;
        }
        n->lease_backoff_ns = 0;
        /* JitterUntil(renewInterval, 0.04) */
        int64_t d =
            lease_every + (int64_t)((double)lease_every * 0.04 * (rand() / (RAND_MAX + 1.0)));
        n->lease_due_ns = now + d;
        enqueue(ag, 'l', idx, d);
        return;
    }
    default:
        return;
    }
}
