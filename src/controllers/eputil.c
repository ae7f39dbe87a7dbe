/* SPDX-License-Identifier: Apache-2.0 */
/* The Endpoints and EndpointSlice controllers' shared rules (see eputil.h). */
#include "controllers/eputil.h"
#include "ckube/indexer.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/err.h"
#include "lib/selector.h"

#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

bool ep_pod_eligible(const json_t *pod, bool include_terminating)
{
    if (!ep_pod_ipv4(pod))
        return false;
    const char *phase = k8s_pod_phase(pod);
    const char *rp = k8s_jpath_str(pod, "spec.restartPolicy");
    if (!strcmp(rp, "Never") && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
        return false;
    if (!strcmp(rp, "OnFailure") && !strcmp(phase, "Succeeded"))
        return false;
    return include_terminating || !k8s_obj_deleting(pod);
}

static const char *protocol_of(const json_t *o)
{
    const char *p = k8s_jpath_str(o, "protocol");
    return *p ? p : "TCP";
}

int ep_find_port(const json_t *pod, const json_t *sp)
{
    const json_t *tp = json_object_get(sp, "targetPort");
    if (json_is_integer(tp))
        return (int)json_integer_value(tp);
    if (!json_is_string(tp) || !*json_string_value(tp)) {
        const json_t *p = json_object_get(sp, "port");
        return json_is_integer(p) ? (int)json_integer_value(p) : -1;
    }
    const char *name = json_string_value(tp);
    const char *proto = protocol_of(sp);
    size_t i, j;
    json_t *c, *cp;
    json_array_foreach(k8s_jpath(pod, "spec.containers"), i, c)
    {
        json_array_foreach(json_object_get(c, "ports"), j, cp)
        {
            if (!strcmp(k8s_jpath_str(cp, "name"), name) && !strcmp(protocol_of(cp), proto) &&
                json_is_integer(json_object_get(cp, "containerPort")))
                return (int)json_integer_value(json_object_get(cp, "containerPort"));
        }
    }
    return -1;
}

const char *ep_hostname(const json_t *pod, const json_t *svc)
{
    const char *h = k8s_jpath_str(pod, "spec.hostname");
    const char *sub = k8s_jpath_str(pod, "spec.subdomain");
    if (*h && *sub && !strcmp(sub, k8s_obj_name(svc)) &&
        !strcmp(k8s_obj_namespace(pod), k8s_obj_namespace(svc)))
        return h;
    return NULL;
}

bool ep_service_selector(const json_t *svc, struct sel **out)
{
    *out = NULL;
    const json_t *s = k8s_jpath(svc, "spec.selector");
    if (!json_is_object(s) || !json_object_size(s) ||
        !strcmp(k8s_jpath_str(svc, "spec.type"), "ExternalName"))
        return false;
    struct ck_err err = CK_ERR_INIT;
    return sel_from_map(s, out, &err) == 0;
}

const char *ep_pod_ipv4(const json_t *pod)
{
    const char *ip = k8s_jpath_str(pod, "status.podIP");
    if (*ip && !strchr(ip, ':'))
        return ip;
    size_t i;
    json_t *p;
    json_array_foreach(k8s_jpath(pod, "status.podIPs"), i, p)
    {
        const char *s = k8s_jpath_str(p, "ip");
        if (*s && !strchr(s, ':'))
            return s;
    }
    return NULL;
}

static void index_namespace(const json_t *obj, ck_index_emit_fn emit, void *ctx)
{
    const char *ns = k8s_obj_namespace(obj);
    if (*ns)
        emit(ctx, ns);
}

void ep_sort_array(json_t *arr, int (*cmp)(const void *, const void *))
{
    size_t n = json_array_size(arr);
    if (n < 2)
        return;
    json_t **v = ck_calloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    qsort(v, n, sizeof(*v), cmp);
    json_array_clear(arr);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, v[i]);
    free(v);
}

/* Every Service of the pod's namespace whose selector matches the pod's labels. */
static void enqueue_services(struct ep_base *b, const json_t *pod)
{
    json_t *svcs =
        ck_indexer_by_index(ck_informer_indexer(b->svcs), "namespace", k8s_obj_namespace(pod));
    size_t i;
    json_t *svc;
    json_array_foreach(svcs, i, svc)
    {
        struct sel *s = NULL;
        if (ep_service_selector(svc, &s) &&
            sel_matches(s, sel_lookup_json, k8s_jpath(pod, "metadata.labels")))
            cm_enqueue_obj(b->q, svc);
        sel_free(s);
    }
    json_decref(svcs);
}

static void svc_added(void *arg, json_t *obj)
{
    cm_enqueue_obj(((struct ep_base *)arg)->q, obj);
}

static void svc_updated(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    svc_added(arg, obj);
}

static void pod_added(void *arg, json_t *obj)
{
    enqueue_services(arg, obj);
}

static void pod_updated(void *arg, json_t *old, json_t *obj)
{
    enqueue_services(arg, obj);
    if (old && !json_equal(k8s_jpath(old, "metadata.labels"), k8s_jpath(obj, "metadata.labels")))
        enqueue_services(arg, old);
}

void ep_base_init(struct ep_base *b, struct cm *cm, const char *queue_name)
{
    b->cm = cm;
    b->svcs = ck_informer_factory_get(cm->factory, "/api/v1/services");
    b->q = wq_new(&(struct wq_opts){.name = queue_name});
    ck_indexer_add_index(ck_informer_indexer(b->svcs), "namespace", index_namespace);
    ck_indexer_add_index(ck_informer_indexer(cm->pods), "namespace", index_namespace);
    ck_informer_add_handlers(b->svcs,
                             &(struct ck_informer_handlers){svc_added, svc_updated, svc_added, b});
    ck_informer_add_handlers(cm->pods,
                             &(struct ck_informer_handlers){pod_added, pod_updated, pod_added, b});
}
