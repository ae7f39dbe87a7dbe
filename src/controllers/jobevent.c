/* SPDX-License-Identifier: Apache-2.0 */
/* Events of the batch controllers: see jobevent.h. */
#include "controllers/jobevent.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

void jc_event(struct ck_client *client, const json_t *obj, const char *kind, const char *component,
              bool warning, const char *reason, const char *fmt, ...)
{
    char msg[1024], now[21], name[320], path[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int64_t real = ck_real_ns();
    ck_time_rfc3339((time_t)(real / 1000000000LL), now);
    const char *ns = k8s_obj_namespace(obj);
    snprintf(name, sizeof(name), "%.200s.%llx", k8s_obj_name(obj), (unsigned long long)real);
    json_t *ev = json_pack(
        "{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:s,s:s,s:s,s:s},s:s,s:s,s:{s:s},s:s,s:s,s:i,s:s,s:s}",
        "apiVersion", "v1", "kind", "Event", "metadata", "name", name, "namespace", ns,
        "involvedObject", "apiVersion", "batch/v1", "kind", kind, "namespace", ns, "name",
        k8s_obj_name(obj), "uid", k8s_obj_uid(obj), "resourceVersion",
        k8s_jpath_str(obj, "metadata.resourceVersion"), "reason", reason, "message", msg, "source",
        "component", component, "firstTimestamp", now, "lastTimestamp", now, "count", 1, "type",
        warning ? "Warning" : "Normal", "reportingComponent", component);
    if (!ev)
        return;
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events", ns);
    struct ck_err err = CK_ERR_INIT;
    if (ck_client_create_json(client, path, ev, NULL, &err) < 0)
        ck_v(2, "event %s for %s/%s dropped: %s", reason, ns, k8s_obj_name(obj), err.msg);
    ck_err_clear(&err);
    json_decref(ev);
}
