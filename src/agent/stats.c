/* SPDX-License-Identifier: Apache-2.0 */
/* The kubelet's resource usage endpoints: GET /stats/summary (the Summary API,
 * k8s.io/kubelet/pkg/apis/stats/v1alpha1: node and per-pod/per-container cpu and memory) and
 * GET /metrics/resource (upstream's resource metrics collector: node_/pod_/container_
 * cpu_usage_seconds_total and memory_working_set_bytes, container_start_time_seconds,
 * resource_scrape_error). Containers are measured through the runtime's container_stats
 * (cgroups); the node from /proc (cpu: /proc/stat, memory: /proc/meminfo). usageNanoCores is
 * the rate since the previous scrape of the same container (none on the first). */
#include "agent/kubeletsrv.h"
#include "agent/podlogic.h"
#include "lib/buf.h"
#include "lib/strmap.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/banned.h"

struct cpu_sample {
    uint64_t usage_ns;
    int64_t at_ns;
};

/* previous samples for usageNanoCores: key (container id or "node") -> cpu_sample */
static pthread_mutex_t samples_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ck_strmap samples;

/* Records a sample and returns the rate (nanocores) since the previous one, or -1. */
static int64_t nano_cores(const char *key, uint64_t usage_ns, int64_t at_ns)
{
    int64_t rate = -1;
    pthread_mutex_lock(&samples_mu);
    struct cpu_sample *s = ck_strmap_get(&samples, key, NULL);
    if (s && at_ns > s->at_ns && usage_ns >= s->usage_ns)
        rate = (int64_t)((double)(usage_ns - s->usage_ns) * 1e9 / (double)(at_ns - s->at_ns));
    if (!s) {
        if (samples.len > 4096) { /* bounded: drop everything when too many are kept */
            const char *k;
            void *v;
            for (size_t it = 0; ck_strmap_next(&samples, &it, &k, &v);)
                free(v);
            ck_strmap_release(&samples);
        }
        s = ck_calloc(1, sizeof(*s));
        ck_strmap_put(&samples, key, s);
    }
    s->usage_ns = usage_ns;
    s->at_ns = at_ns;
    pthread_mutex_unlock(&samples_mu);
    return rate;
}

struct node_usage {
    uint64_t cpu_ns;
    uint64_t mem_total, mem_usage, mem_ws, mem_avail, mem_rss;
    int64_t at_ns;
};

static void node_usage(struct node_usage *u)
{
    memset(u, 0, sizeof(*u));
    u->at_ns = ck_real_ns();
    FILE *f = fopen("/proc/stat", "re");
    char line[512];
    if (f && fgets(line, sizeof(line), f) && !strncmp(line, "cpu ", 4)) {
        unsigned long long v[8] = {0};
        sscanf(line + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &v[6], &v[7]);
        long hz = sysconf(_SC_CLK_TCK);
        /* busy time: everything but idle and iowait */
        unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
        u->cpu_ns = hz > 0 ? (uint64_t)(busy * (1000000000ULL / (unsigned long long)hz)) : 0;
    }
    if (f)
        fclose(f);
    unsigned long long total = 0, freem = 0, avail = 0, inactive_file = 0, anon = 0;
    f = fopen("/proc/meminfo", "re");
    while (f && fgets(line, sizeof(line), f)) {
        unsigned long long kb;
        char key[64];
        if (sscanf(line, "%63[^:]: %llu", key, &kb) != 2)
            continue;
        if (!strcmp(key, "MemTotal"))
            total = kb * 1024;
        else if (!strcmp(key, "MemFree"))
            freem = kb * 1024;
        else if (!strcmp(key, "MemAvailable"))
            avail = kb * 1024;
        else if (!strcmp(key, "Inactive(file)"))
            inactive_file = kb * 1024;
        else if (!strcmp(key, "AnonPages"))
            anon = kb * 1024;
    }
    if (f)
        fclose(f);
    u->mem_total = total;
    u->mem_usage = total > freem ? total - freem : 0;
    u->mem_ws = u->mem_usage > inactive_file ? u->mem_usage - inactive_file : 0;
    u->mem_avail = total > u->mem_ws ? total - u->mem_ws : 0;
    (void)avail;
    u->mem_rss = anon;
}

/* One running container of a pod. */
struct ctr_usage {
    char id[RT_ID_MAX];
    char name[256];
    int64_t started_ns;
    struct rt_stats st;
    bool ok;
};

struct pod_usage {
    char uid[128], ns[256], name[256];
    int64_t started_ns;
    struct ctr_usage *c;
    size_t n;
};

static const char *label(const struct rt_container_status *s, const char *key)
{
    for (size_t i = 0; i < s->nlabels; i++)
        if (!strcmp(s->labels[i].key, key))
            return s->labels[i].value;
    return "";
}

/* The running containers of every pod the agent knows, measured. */
static size_t collect(struct agent *ag, struct pod_usage **out)
{
    struct pod_usage *pods = NULL;
    size_t np = 0;
    pthread_mutex_lock(&ag->mu);
    size_t it = 0;
    const char *k;
    void *v;
    while (ck_strmap_next(&ag->pods, &it, &k, &v)) {
        struct ag_pod *p = v;
        pods = ck_realloc(pods, (np + 1) * sizeof(*pods));
        memset(&pods[np], 0, sizeof(*pods));
        snprintf(pods[np].uid, sizeof(pods[np].uid), "%s", p->uid);
        snprintf(pods[np].ns, sizeof(pods[np].ns), "%s", p->ns);
        snprintf(pods[np].name, sizeof(pods[np].name), "%s", p->name);
        np++;
    }
    pthread_mutex_unlock(&ag->mu);
    for (int ni = 0; ni < ag->nnodes; ni++) {
        struct runtime *rt = ag->nodes[ni].rt;
        struct rt_container_status *cs = NULL;
        struct rt_sandbox_status *sbs = NULL;
        size_t nc = 0, nsb = 0;
        struct ck_err err = CK_ERR_INIT;
        struct rt_container_filter f = {.sandbox_id = NULL, .state = RT_CONTAINER_RUNNING};
        if (rt->ops->list_containers(rt, &f, &cs, &nc, &err) < 0)
            continue;
        if (rt->ops->list_pod_sandboxes(rt, &sbs, &nsb, &err) < 0)
            nsb = 0;
        for (size_t i = 0; i < nc; i++) {
            const char *uid = label(&cs[i], AG_LABEL_POD_UID);
            struct pod_usage *pu = NULL;
            for (size_t j = 0; j < np && !pu; j++)
                if (!strcmp(pods[j].uid, uid))
                    pu = &pods[j];
            if (!pu)
                continue;
            pu->c = ck_realloc(pu->c, (pu->n + 1) * sizeof(*pu->c));
            struct ctr_usage *cu = &pu->c[pu->n++];
            memset(cu, 0, sizeof(*cu));
            snprintf(cu->id, sizeof(cu->id), "%s", cs[i].id);
            snprintf(cu->name, sizeof(cu->name), "%s", label(&cs[i], AG_LABEL_CONTAINER_NAME));
            cu->started_ns = cs[i].started_ns;
            cu->ok = rt->ops->container_stats(rt, cs[i].id, &cu->st, &err) == 0;
            ck_err_clear(&err);
            for (size_t j = 0; j < nsb; j++)
                if (!strcmp(sbs[j].id, cs[i].sandbox_id) &&
                    (!pu->started_ns || sbs[j].created_ns > pu->started_ns))
                    pu->started_ns = sbs[j].created_ns;
        }
        rt_container_list_free(cs, nc);
        rt_sandbox_list_free(sbs, nsb);
    }
    *out = pods;
    return np;
}

static void release(struct pod_usage *pods, size_t np)
{
    for (size_t i = 0; i < np; i++)
        free(pods[i].c);
    free(pods);
}

static void rfc3339(int64_t ns, char out[31])
{
    char t[21];
    ck_time_rfc3339((time_t)(ns / 1000000000LL), t);
    snprintf(out, 31, "%s", t);
}

static json_t *cpu_json(const char *key, uint64_t usage_ns, int64_t at_ns)
{
    char t[31];
    rfc3339(at_ns, t);
    json_t *c = json_pack("{s:s, s:I}", "time", t, "usageCoreNanoSeconds", (json_int_t)usage_ns);
    int64_t rate = nano_cores(key, usage_ns, at_ns);
    if (rate >= 0)
        json_object_set_new(c, "usageNanoCores", json_integer(rate));
    return c;
}

static json_t *mem_json(int64_t at_ns, uint64_t usage, uint64_t ws, uint64_t limit, uint64_t rss)
{
    char t[31];
    rfc3339(at_ns, t);
    json_t *m = json_pack("{s:s, s:I, s:I, s:I}", "time", t, "usageBytes", (json_int_t)usage,
                          "workingSetBytes", (json_int_t)ws, "rssBytes", (json_int_t)rss);
    if (limit)
        json_object_set_new(m, "availableBytes",
                            json_integer((json_int_t)(limit > ws ? limit - ws : 0)));
    return m;
}

void ag_stats_summary(struct agent *ag, struct ck_buf *b)
{
    struct node_usage nu;
    struct pod_usage *pods;
    size_t np = collect(ag, &pods);
    node_usage(&nu);
    char start[31];
    rfc3339(ck_real_ns() - (ck_mono_ns() - ag->started_ns), start);
    json_t *node =
        json_pack("{s:s, s:[], s:s, s:o, s:o}", "nodeName", ag->nodes[0].name, "systemContainers",
                  "startTime", start, "cpu", cpu_json("node", nu.cpu_ns, nu.at_ns), "memory",
                  mem_json(nu.at_ns, nu.mem_usage, nu.mem_ws, nu.mem_total, nu.mem_rss));
    json_t *jp = json_array();
    for (size_t i = 0; i < np; i++) {
        struct pod_usage *pu = &pods[i];
        json_t *ctrs = json_array();
        uint64_t cpu = 0, mu = 0, mws = 0, rss = 0;
        int64_t at = ck_real_ns();
        for (size_t j = 0; j < pu->n; j++) {
            struct ctr_usage *cu = &pu->c[j];
            if (!cu->ok)
                continue;
            char cs[31];
            rfc3339(cu->started_ns, cs);
            json_array_append_new(
                ctrs,
                json_pack("{s:s, s:s, s:o, s:o}", "name", cu->name, "startTime", cs, "cpu",
                          cpu_json(cu->id, cu->st.cpu_usage_ns, cu->st.timestamp_ns), "memory",
                          mem_json(cu->st.timestamp_ns, cu->st.memory_usage_bytes,
                                   cu->st.memory_working_set_bytes, cu->st.memory_limit_bytes, 0)));
            cpu += cu->st.cpu_usage_ns;
            mu += cu->st.memory_usage_bytes;
            mws += cu->st.memory_working_set_bytes;
            at = cu->st.timestamp_ns;
        }
        char ps[31], key[160];
        rfc3339(pu->started_ns ? pu->started_ns : at, ps);
        snprintf(key, sizeof(key), "pod/%s", pu->uid);
        json_array_append_new(
            jp, json_pack("{s:{s:s, s:s, s:s}, s:s, s:o, s:o, s:o}", "podRef", "name", pu->name,
                          "namespace", pu->ns, "uid", pu->uid, "startTime", ps, "containers", ctrs,
                          "cpu", cpu_json(key, cpu, at), "memory", mem_json(at, mu, mws, 0, rss)));
    }
    release(pods, np);
    json_t *sum = json_pack("{s:o, s:o}", "node", node, "pods", jp);
    char *s = json_dumps(sum, JSON_INDENT(2));
    json_decref(sum);
    ck_buf_appends(b, s);
    free(s);
}

static void esc(struct ck_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            ck_buf_appendc(b, '\\');
        if (*s == '\n')
            ck_buf_appends(b, "\\n");
        else
            ck_buf_appendc(b, *s);
    }
}

void ag_stats_resource_metrics(struct agent *ag, struct ck_buf *b)
{
    struct node_usage nu;
    struct pod_usage *pods;
    size_t np = collect(ag, &pods);
    node_usage(&nu);
    long long ms = (long long)(nu.at_ns / 1000000);
#define HDR(name, help, type)                                                                      \
    ck_buf_appendf(b, "# HELP %s [STABLE] %s\n# TYPE %s %s\n", name, help, name, type)
    HDR("container_cpu_usage_seconds_total",
        "Cumulative cpu time consumed by the container in core-seconds", "counter");
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < pods[i].n; j++) {
            struct ctr_usage *c = &pods[i].c[j];
            if (!c->ok)
                continue;
            ck_buf_appends(b, "container_cpu_usage_seconds_total{container=\"");
            esc(b, c->name);
            ck_buf_appends(b, "\",namespace=\"");
            esc(b, pods[i].ns);
            ck_buf_appends(b, "\",pod=\"");
            esc(b, pods[i].name);
            ck_buf_appendf(b, "\"} %.9f %lld\n", (double)c->st.cpu_usage_ns / 1e9,
                           (long long)(c->st.timestamp_ns / 1000000));
        }
    HDR("container_memory_working_set_bytes", "Current working set of the container in bytes",
        "gauge");
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < pods[i].n; j++) {
            struct ctr_usage *c = &pods[i].c[j];
            if (!c->ok)
                continue;
            ck_buf_appends(b, "container_memory_working_set_bytes{container=\"");
            esc(b, c->name);
            ck_buf_appends(b, "\",namespace=\"");
            esc(b, pods[i].ns);
            ck_buf_appends(b, "\",pod=\"");
            esc(b, pods[i].name);
            ck_buf_appendf(b, "\"} %llu %lld\n", (unsigned long long)c->st.memory_working_set_bytes,
                           (long long)(c->st.timestamp_ns / 1000000));
        }
    HDR("container_start_time_seconds", "Start time of the container since unix epoch in seconds",
        "gauge");
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < pods[i].n; j++) {
            struct ctr_usage *c = &pods[i].c[j];
            ck_buf_appends(b, "container_start_time_seconds{container=\"");
            esc(b, c->name);
            ck_buf_appends(b, "\",namespace=\"");
            esc(b, pods[i].ns);
            ck_buf_appends(b, "\",pod=\"");
            esc(b, pods[i].name);
            ck_buf_appendf(b, "\"} %.9f %lld\n", (double)c->started_ns / 1e9, ms);
        }
    HDR("node_cpu_usage_seconds_total", "Cumulative cpu time consumed by the node in core-seconds",
        "counter");
    ck_buf_appendf(b, "node_cpu_usage_seconds_total %.9f %lld\n", (double)nu.cpu_ns / 1e9, ms);
    HDR("node_memory_working_set_bytes", "Current working set of the node in bytes", "gauge");
    ck_buf_appendf(b, "node_memory_working_set_bytes %llu %lld\n", (unsigned long long)nu.mem_ws,
                   ms);
    HDR("pod_cpu_usage_seconds_total", "Cumulative cpu time consumed by the pod in core-seconds",
        "counter");
    for (size_t i = 0; i < np; i++) {
        uint64_t cpu = 0;
        for (size_t j = 0; j < pods[i].n; j++)
            cpu += pods[i].c[j].ok ? pods[i].c[j].st.cpu_usage_ns : 0;
        ck_buf_appends(b, "pod_cpu_usage_seconds_total{namespace=\"");
        esc(b, pods[i].ns);
        ck_buf_appends(b, "\",pod=\"");
        esc(b, pods[i].name);
        ck_buf_appendf(b, "\"} %.9f %lld\n", (double)cpu / 1e9, ms);
    }
    HDR("pod_memory_working_set_bytes", "Current working set of the pod in bytes", "gauge");
    for (size_t i = 0; i < np; i++) {
        uint64_t ws = 0;
        for (size_t j = 0; j < pods[i].n; j++)
            ws += pods[i].c[j].ok ? pods[i].c[j].st.memory_working_set_bytes : 0;
        ck_buf_appends(b, "pod_memory_working_set_bytes{namespace=\"");
        esc(b, pods[i].ns);
        ck_buf_appends(b, "\",pod=\"");
        esc(b, pods[i].name);
        ck_buf_appendf(b, "\"} %llu %lld\n", (unsigned long long)ws, ms);
    }
    HDR("resource_scrape_error",
        "1 if there was an error while getting container metrics, 0 otherwise", "gauge");
    ck_buf_appends(b, "resource_scrape_error 0\n");
#undef HDR
    release(pods, np);
}
