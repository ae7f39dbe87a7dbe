/* SPDX-License-Identifier: Apache-2.0 */
/* Typed accessors, conditions and owner references over pod/node JSON (see pod.h). */
#include "k8s/pod.h"

#include "k8s/util.h"
#include "lib/timeutil.h"

#include <string.h>
#include <time.h>

#include "lib/banned.h"

const char *k8s_obj_name(const json_t *obj)
{
    return k8s_jpath_str(obj, "metadata.name");
}

const char *k8s_obj_namespace(const json_t *obj)
{
    return k8s_jpath_str(obj, "metadata.namespace");
}

const char *k8s_obj_uid(const json_t *obj)
{
    return k8s_jpath_str(obj, "metadata.uid");
}

const char *k8s_obj_label(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(k8s_jpath(obj, "metadata.labels"), key));
}

const char *k8s_obj_annotation(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(k8s_jpath(obj, "metadata.annotations"), key));
}

bool k8s_obj_deleting(const json_t *obj)
{
    const json_t *t = k8s_jpath(obj, "metadata.deletionTimestamp");
    return t && !json_is_null(t);
}

const json_t *k8s_obj_controller_of(const json_t *obj)
{
    const json_t *refs = k8s_jpath(obj, "metadata.ownerReferences");
    for (size_t i = 0; i < k8s_jlen(refs); i++) {
        const json_t *r = json_array_get(refs, i);
        if (json_is_true(json_object_get(r, "controller")))
            return r;
    }
    return NULL;
}

bool k8s_obj_is_controlled_by(const json_t *obj, const char *owner_uid)
{
    const json_t *r = k8s_obj_controller_of(obj);
    return r && owner_uid && !strcmp(k8s_jstr(r, "uid"), owner_uid);
}

const char *k8s_pod_node_name(const json_t *pod)
{
    return k8s_jpath_str(pod, "spec.nodeName");
}

const char *k8s_pod_scheduler_name(const json_t *pod)
{
    return k8s_jpath_str(pod, "spec.schedulerName");
}

int32_t k8s_pod_priority(const json_t *pod)
{
    return (int32_t)json_integer_value(k8s_jpath(pod, "spec.priority"));
}

const char *k8s_pod_phase(const json_t *pod)
{
    return k8s_jpath_str(pod, "status.phase");
}

bool k8s_pod_is_terminal(const json_t *pod)
{
    const char *p = k8s_pod_phase(pod);
    return !strcmp(p, "Succeeded") || !strcmp(p, "Failed");
}

bool k8s_pod_is_assigned(const json_t *pod)
{
    return *k8s_pod_node_name(pod) != 0;
}

json_t *k8s_condition_get(const json_t *status, const char *type, int *index)
{
    const json_t *conds = json_object_get(status, "conditions");
    for (size_t i = 0; i < k8s_jlen(conds); i++) {
        json_t *c = json_array_get(conds, i);
        if (!strcmp(k8s_jstr(c, "type"), type)) {
            if (index)
                *index = (int)i;
            return c;
        }
    }
    if (index)
        *index = -1;
    return NULL;
}

bool k8s_condition_true(const json_t *obj, const char *type)
{
    const json_t *c = k8s_condition_get(json_object_get(obj, "status"), type, NULL);
    return c && !strcmp(k8s_jstr(c, "status"), "True");
}

bool k8s_pod_is_ready(const json_t *pod)
{
    return k8s_condition_true(pod, "Ready");
}

bool k8s_pod_is_scheduled(const json_t *pod)
{
    return k8s_condition_true(pod, "PodScheduled");
}

/* Two optional string members are equal (missing, null and "" alike). */
static bool same_str(const json_t *a, const json_t *b, const char *key)
{
    return !strcmp(k8s_jstr(a, key), k8s_jstr(b, key));
}

bool k8s_pod_update_condition(json_t *pod, const json_t *cond, const char *now)
{
    char ts[21];
    if (!now) {
        ck_time_rfc3339(time(NULL), ts);
        now = ts;
    }
    json_t *status = json_object_get(pod, "status");
    if (!json_is_object(status)) {
        status = json_object();
        json_object_set_new(pod, "status", status);
    }
    json_t *conds = json_object_get(status, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(status, "conditions", conds);
    }
    json_t *c = json_deep_copy(cond);
    json_object_set_new(c, "lastTransitionTime", json_string(now));
    int idx;
    json_t *old = k8s_condition_get(status, k8s_jstr(cond, "type"), &idx);
    if (!old) {
        json_array_append_new(conds, c);
        return true;
    }
    if (same_str(c, old, "status")) {
        json_t *ltt = json_object_get(old, "lastTransitionTime");
        if (ltt)
            json_object_set(c, "lastTransitionTime", ltt);
        else
            json_object_del(c, "lastTransitionTime");
    }
    bool equal = same_str(c, old, "status") && same_str(c, old, "reason") &&
                 same_str(c, old, "message") && same_str(c, old, "lastProbeTime") &&
                 same_str(c, old, "lastTransitionTime");
    json_array_set_new(conds, (size_t)idx, c);
    return !equal;
}

static void node_list(const json_t *node, const char *which, struct k8s_reslist *out)
{
    k8s_reslist_clear(out);
    k8s_reslist_add_json(out, json_object_get(json_object_get(node, "status"), which));
}

void k8s_node_allocatable(const json_t *node, struct k8s_reslist *out)
{
    node_list(node, "allocatable", out);
}

void k8s_node_capacity(const json_t *node, struct k8s_reslist *out)
{
    node_list(node, "capacity", out);
}

void k8s_node_allocatable_summary(const json_t *node, struct k8s_resource *r)
{
    struct k8s_reslist l = K8S_RESLIST_INIT;
    k8s_node_allocatable(node, &l);
    k8s_reslist_summary(&l, r);
    k8s_reslist_release(&l);
}

bool k8s_node_is_ready(const json_t *node)
{
    return k8s_condition_true(node, "Ready");
}

bool k8s_node_unschedulable(const json_t *node)
{
    return json_is_true(k8s_jpath(node, "spec.unschedulable"));
}
