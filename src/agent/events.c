/* SPDX-License-Identifier: Apache-2.0 */
/* Pod events with upstream's reasons (Pulling, Pulled, Created, Started, Killing, BackOff,
 * FailedMount, Failed, Unhealthy, FailedPostStartHook, FailedPreStopHook): core/v1 Events
 * named "<pod>.<hex ns>" with source kubelet/<node>.
 * The same (reason, message) for a pod is posted at most once a minute, a stand-in for the
 * recorder's aggregation; failures are logged and dropped, never retried. */
#include "agent/agent_int.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

#define SEC 1000000000LL
#define DEDUP_NS (60 * SEC)

static uint64_t hash2(const char *a, const char *b)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *s = a; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (const char *s = b; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* true when this (reason, message) was posted for the pod within the last minute */
static bool recently(struct ag_pod *p, uint64_t h, int64_t now)
{
    for (size_t i = 0; i < AG_EVENT_MEMORY; i++)
        if (p->ev_hash[i] == h && now - p->ev_time[i] < DEDUP_NS)
            return true;
    size_t slot = p->ev_next++ % AG_EVENT_MEMORY;
    p->ev_hash[slot] = h;
    p->ev_time[slot] = now;
    return false;
}

void ag_event_obj(struct agent *ag, const struct ag_node *node, const char *ns, const char *pod,
                  const char *uid, const char *container, bool init, bool warning,
                  const char *reason, const char *msg)
{
    char now[32], micro[40], name[512], fp[300] = "";
    int64_t real = ck_real_ns();
    ag_time_str(real, now);
    time_t t = (time_t)(real / SEC);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(micro, 24, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(micro + strlen(micro), sizeof(micro) - strlen(micro), ".%06lldZ",
             (long long)(real % SEC) / 1000);
    snprintf(name, sizeof(name), "%.200s.%llx", pod, (unsigned long long)real);
    if (container)
        snprintf(fp, sizeof(fp), "spec.%s{%.200s}", init ? "initContainers" : "containers",
                 container);
    json_t *ev = json_pack(
        "{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:s,s:s,s:s},s:s,s:s,s:{s:s,s:s},s:s,s:s,s:i,s:s,"
        "s:s,s:s,s:s}",
        "apiVersion", "v1", "kind", "Event", "metadata", "name", name, "namespace", ns,
        "involvedObject", "apiVersion", "v1", "kind", "Pod", "namespace", ns, "name", pod, "uid",
        uid, "reason", reason, "message", msg, "source", "component", "kubelet", "host", node->name,
        "firstTimestamp", now, "lastTimestamp", now, "count", 1, "type",
        warning ? "Warning" : "Normal", "eventTime", micro, "reportingComponent", "kubelet",
        "reportingInstance", node->name);
    if (!ev)
        return;
    if (container)
        json_object_set_new(json_object_get(ev, "involvedObject"), "fieldPath", json_string(fp));
    json_object_del(ev, "eventTime"); /* core/v1 events from the legacy recorder carry none */
    char path[512];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events", ns);
    struct ck_err err = CK_ERR_INIT;
    if (ck_client_create_json(ag->client, path, ev, NULL, &err) < 0)
        ck_v(2, "event %s for %s/%s dropped: %s", reason, ns, pod, err.msg);
    ck_err_clear(&err);
    json_decref(ev);
}

/* whether container is one of the pod's init containers */
static bool is_init(struct agent *ag, struct ag_pod *p, const char *container)
{
    bool init = false;
    pthread_mutex_lock(&ag->mu);
    const json_t *inits = json_object_get(json_object_get(p->pod, "spec"), "initContainers");
    for (size_t i = 0; i < json_array_size(inits) && !init; i++) {
        const char *n = json_string_value(json_object_get(json_array_get(inits, i), "name"));
        init = n && !strcmp(n, container);
    }
    pthread_mutex_unlock(&ag->mu);
    return init;
}

void ag_event(struct agent *ag, struct ag_pod *p, const char *container, bool warning,
              const char *reason, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (recently(p, hash2(reason, msg), ck_mono_ns()))
        return;
    ag_event_obj(ag, p->node, p->ns, p->name, p->uid, container,
                 container && is_init(ag, p, container), warning, reason, msg);
}
