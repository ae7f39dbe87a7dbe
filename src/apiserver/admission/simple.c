/* SPDX-License-Identifier: Apache-2.0 */
/* The small plugins: NamespaceLifecycle, DefaultTolerationSeconds, Priority,
 * DefaultStorageClass and NodeRestriction (upstream's plugin/pkg/admission/...). */
#include "apiserver/admission/admission.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

/* ---- NamespaceLifecycle ---------------------------------------------------------------- */

/* Creating in a missing namespace is answered by the engine before admission (404, as
 * upstream's); this refuses new content in a terminating namespace, and deleting the
 * namespaces upstream keeps (default, kube-system, kube-public). */
static int lifecycle_validate(struct adm_attrs *a, struct ck_err *err)
{
    if (a->op == ADM_DELETE && !a->res->group[0] && !strcmp(a->res->plural, "namespaces") &&
        (!strcmp(a->name, "default") || !strcmp(a->name, "kube-system") ||
         !strcmp(a->name, "kube-public")))
        return adm_forbidden(err, a, "this namespace may not be deleted");
    if (a->op != ADM_CREATE || !(a->res->flags & REG_NAMESPACED) || !a->ns || !*a->ns)
        return 0;
    const struct reg_resource *nsr = reg_find("", "v1", "namespaces");
    struct eng_obj *ns = nsr ? eng_cache_get(a->cache, nsr, NULL, a->ns) : NULL;
    if (!ns)
        return 0;
    bool term = ns->deleting;
    eng_obj_unref(ns);
    if (!term)
        return 0;
    adm_forbidden(err, a,
                  "unable to create new content in namespace %s because it is being terminated",
                  a->ns);
    ck_err_add_cause(err, "NamespaceTerminating", "", "namespace %s is being terminated", a->ns);
    return -1;
}

const struct adm_plugin adm_namespace_lifecycle = {
    .name = "NamespaceLifecycle", .default_on = true, .validate = lifecycle_validate};

/* ---- DefaultTolerationSeconds --------------------------------------------------------- */

static bool tolerates(json_t *tols, const char *key)
{
    for (size_t i = 0; i < json_array_size(tols); i++) {
        json_t *t = json_array_get(tols, i);
        const char *k = json_string_value(json_object_get(t, "key"));
        const char *e = json_string_value(json_object_get(t, "effect"));
        if ((!k || !*k || !strcmp(k, key)) && (!e || !*e || !strcmp(e, "NoExecute")))
            return true;
    }
    return false;
}

static int tolerations_mutate(struct adm_attrs *a, struct ck_err *err)
{
    (void)err;
    if (!adm_is_pod(a) || a->op != ADM_CREATE || !a->obj)
        return 0;
    json_t *spec = json_object_get(a->obj, "spec");
    if (!json_is_object(spec))
        return 0;
    static const char *const keys[] = {"node.kubernetes.io/not-ready",
                                       "node.kubernetes.io/unreachable"};
    json_t *tols = json_object_get(spec, "tolerations");
    for (size_t i = 0; i < 2; i++) {
        if (tolerates(tols, keys[i]))
            continue;
        if (!json_is_array(tols)) {
            tols = json_array();
            json_object_set_new(spec, "tolerations", tols);
        }
        json_array_append_new(tols, json_pack("{s:s,s:s,s:s,s:I}", "key", keys[i], "operator",
                                              "Exists", "effect", "NoExecute", "tolerationSeconds",
                                              (json_int_t)300));
    }
    return 0;
}

const struct adm_plugin adm_default_toleration_seconds = {
    .name = "DefaultTolerationSeconds", .default_on = true, .mutate = tolerations_mutate};

/* ---- Priority ------------------------------------------------------------------------- */

static const struct {
    const char *name;
    json_int_t value;
} builtin_pc[] = {{"system-node-critical", 2000001000}, {"system-cluster-critical", 2000000000}};

/* The global default PriorityClass (the lowest value among several, as upstream), or NULL. */
static json_t *global_default(struct adm_attrs *a)
{
    json_t *all = adm_list(a, "scheduling.k8s.io", "v1", "priorityclasses", NULL), *best = NULL;
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *pc = json_array_get(all, i);
        if (!json_is_true(json_object_get(pc, "globalDefault")))
            continue;
        if (!best || json_integer_value(json_object_get(pc, "value")) <
                         json_integer_value(json_object_get(best, "value")))
            best = pc;
    }
    json_incref(best);
    json_decref(all);
    return best;
}

static int priority_mutate(struct adm_attrs *a, struct ck_err *err)
{
    if (!adm_is_pod(a) || a->op != ADM_CREATE || !a->obj)
        return 0;
    json_t *spec = json_object_get(a->obj, "spec");
    if (!json_is_object(spec))
        return 0;
    const char *name = json_string_value(json_object_get(spec, "priorityClassName"));
    json_int_t value = 0;
    const char *preempt = NULL;
    json_t *pc = NULL;
    if (!name || !*name) {
        pc = global_default(a);
        if (!pc)
            return 0; /* priority 0 (already defaulted) */
        json_object_set(spec, "priorityClassName",
                        json_object_get(json_object_get(pc, "metadata"), "name"));
        json_object_del(spec, "priority"); /* the default's value replaces the defaulted 0 */
    } else {
        pc = adm_get(a, "scheduling.k8s.io", "v1", "priorityclasses", NULL, name);
        if (!pc) {
            for (size_t i = 0; i < 2; i++)
                if (!strcmp(builtin_pc[i].name, name))
                    pc = json_pack("{s:I}", "value", builtin_pc[i].value);
        }
        if (!pc)
            return adm_forbidden(err, a, "no PriorityClass with name %s was found", name);
    }
    value = json_integer_value(json_object_get(pc, "value"));
    preempt = json_string_value(json_object_get(pc, "preemptionPolicy"));
    json_t *given = json_object_get(spec, "priority");
    if (json_is_integer(given) && json_integer_value(given) != value) {
        json_decref(pc);
        return adm_forbidden(err, a,
                             "the integer value of priority (%lld) must not be provided in pod "
                             "spec; priority admission controller computed %lld from the given "
                             "PriorityClass name",
                             (long long)json_integer_value(given), (long long)value);
    }
    json_object_set_new(spec, "priority", json_integer(value));
    json_object_set_new(spec, "preemptionPolicy",
                        json_string(preempt ? preempt : "PreemptLowerPriority"));
    json_decref(pc);
    return 0;
}

const struct adm_plugin adm_priority = {
    .name = "Priority", .default_on = true, .mutate = priority_mutate};

/* ---- DefaultStorageClass -------------------------------------------------------------- */

static int storageclass_mutate(struct adm_attrs *a, struct ck_err *err)
{
    (void)err;
    if (a->op != ADM_CREATE || a->res->group[0] ||
        strcmp(a->res->plural, "persistentvolumeclaims") || (a->sub && *a->sub) || !a->obj)
        return 0;
    json_t *spec = json_object_get(a->obj, "spec");
    if (!json_is_object(spec) || json_object_get(spec, "storageClassName"))
        return 0;
    json_t *all = adm_list(a, "storage.k8s.io", "v1", "storageclasses", NULL), *best = NULL;
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *sc = json_array_get(all, i);
        json_t *md = json_object_get(sc, "metadata");
        const char *d = json_string_value(json_object_get(
            json_object_get(md, "annotations"), "storageclass.kubernetes.io/is-default-class"));
        if (!d || strcmp(d, "true"))
            continue;
        /* several defaults: the newest (RFC 3339 text orders by time), then by name */
        const char *ts = json_string_value(json_object_get(md, "creationTimestamp"));
        const char *bts = best ? json_string_value(json_object_get(
                                     json_object_get(best, "metadata"), "creationTimestamp"))
                               : NULL;
        if (!best || strcmp(ts ? ts : "", bts ? bts : "") > 0)
            best = sc;
    }
    if (best)
        json_object_set(spec, "storageClassName",
                        json_object_get(json_object_get(best, "metadata"), "name"));
    json_decref(all);
    return 0;
}

const struct adm_plugin adm_default_storage_class = {
    .name = "DefaultStorageClass", .default_on = true, .mutate = storageclass_mutate};

/* ---- NodeRestriction ------------------------------------------------------------------ */

/* The node name of a node identity (system:node:<n> in system:nodes), or NULL. */
static const char *node_name(const struct adm_attrs *a)
{
    if (!a->user || strncmp(a->user, "system:node:", 12) != 0 || !a->user[12])
        return NULL;
    for (size_t i = 0; a->groups && a->groups[i]; i++)
        if (!strcmp(a->groups[i], "system:nodes"))
            return a->user + 12;
    return NULL;
}

static const char *obj_node(json_t *pod)
{
    const char *n = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
    return n ? n : "";
}

static int noderestriction_validate(struct adm_attrs *a, struct ck_err *err)
{
    const char *node = node_name(a);
    if (!node || a->res->group[0])
        return 0;
    const char *sub = a->sub ? a->sub : "";
    if (!strcmp(a->res->plural, "pods")) {
        json_t *pod = a->old ? a->old : a->obj;
        if (!*sub && a->op == ADM_CREATE) {
            json_t *ann = json_object_get(json_object_get(a->obj, "metadata"), "annotations");
            if (!json_object_get(ann, "kubernetes.io/config.mirror"))
                return adm_forbidden(err, a,
                                     "pod does not have \"kubernetes.io/config.mirror\" "
                                     "annotation, node \"%s\" can only create mirror pods",
                                     node);
            if (strcmp(obj_node(a->obj), node))
                return adm_forbidden(err, a,
                                     "node \"%s\" can only create pods with spec.nodeName set to "
                                     "itself",
                                     node);
            return 0;
        }
        if (!*sub && a->op == ADM_DELETE) {
            if (strcmp(obj_node(pod), node))
                return adm_forbidden(err, a,
                                     "node \"%s\" can only delete pods with spec.nodeName set to "
                                     "itself",
                                     node);
            return 0;
        }
        if (!*sub)
            return adm_forbidden(err, a,
                                 "unexpected operation %s, node \"%s\" can only create and "
                                 "delete mirror pods",
                                 a->op == ADM_UPDATE ? "UPDATE" : "CONNECT", node);
        if (!strcmp(sub, "status") && strcmp(obj_node(pod), node))
            return adm_forbidden(err, a,
                                 "node \"%s\" can only update pod status for pods with "
                                 "spec.nodeName set to itself",
                                 node);
        if (!strcmp(sub, "eviction") && strcmp(obj_node(pod), node))
            return adm_forbidden(
                err, a, "node \"%s\" can only evict pods with spec.nodeName set to itself", node);
        return 0;
    }
    if (!strcmp(a->res->plural, "nodes")) {
        if (strcmp(a->name ? a->name : "", node))
            return adm_forbidden(err, a, "node \"%s\" is not allowed to modify node \"%s\"", node,
                                 a->name ? a->name : "");
        if (a->op == ADM_CREATE || a->op == ADM_UPDATE) {
            /* labels under node-restriction.kubernetes.io/ are the administrator's */
            json_t *nl = json_object_get(json_object_get(a->obj, "metadata"), "labels");
            json_t *ol =
                a->old ? json_object_get(json_object_get(a->old, "metadata"), "labels") : NULL;
            const char *k;
            json_t *v;
            json_object_foreach(nl, k, v)
            {
                if (!strstr(k, "node-restriction.kubernetes.io/"))
                    continue;
                if (!json_equal(v, json_object_get(ol, k)))
                    return adm_forbidden(err, a, "is not allowed to modify labels: %s", k);
            }
            json_object_foreach(ol, k, v)
            {
                if (strstr(k, "node-restriction.kubernetes.io/") && !json_object_get(nl, k))
                    return adm_forbidden(err, a, "is not allowed to modify labels: %s", k);
            }
        }
    }
    return 0;
}

const struct adm_plugin adm_node_restriction = {
    .name = "NodeRestriction", .default_on = false, .validate = noderestriction_validate};
