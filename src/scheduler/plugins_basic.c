/* SPDX-License-Identifier: Apache-2.0 */
/* The small default plugins (framework/plugins): PrioritySort, SchedulingGates,
 * NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts, ImageLocality and
 * DefaultBinder. Reasons are upstream's strings. */
#include "ckube/client.h"
#include "k8s/affinity.h"
#include "k8s/pod.h"
#include "k8s/taints.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "scheduler/framework.h"
#include "scheduler/plugins.h"

#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

/* ---- PrioritySort ----------------------------------------------------------------------- */

static bool prio_less(void *self, const struct sch_pod *a, int64_t ta, const struct sch_pod *b,
                      int64_t tb)
{
    (void)self;
    if (a->priority != b->priority)
        return a->priority > b->priority;
    return ta < tb;
}

const struct sch_plugin_def sch_plugin_priority_sort = {.name = "PrioritySort", .less = prio_less};

/* ---- SchedulingGates -------------------------------------------------------------------- */

static enum sch_code gates_pre_enqueue(void *self, const struct sch_pod *p, struct sch_status *st)
{
    (void)self;
    const json_t *gates = k8s_jpath(p->obj, "spec.schedulingGates");
    if (k8s_jlen(gates) == 0)
        return SCH_OK;
    char names[SCH_REASON_LEN - 32] = "";
    size_t off = 0, i;
    const json_t *g;
    json_array_foreach(gates, i, g)
    {
        if (off < sizeof(names))
            off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", i ? " " : "",
                                    k8s_jstr(g, "name"));
    }
    return sch_status_set(st, SCH_UNRESOLVABLE, "waiting for scheduling gates: [%s]", names);
}

const struct sch_plugin_def sch_plugin_scheduling_gates = {.name = "SchedulingGates",
                                                           .pre_enqueue = gates_pre_enqueue};

/* ---- NodeUnschedulable ------------------------------------------------------------------ */

static enum sch_code unsched_filter(void *self, const void *fs, const struct sch_pod *p,
                                    const struct sch_node *n, struct sch_status *st)
{
    (void)self, (void)fs;
    if (!n->nd)
        return sch_status_set(st, SCH_UNRESOLVABLE, "node not found");
    if (!n->nd->unschedulable)
        return SCH_OK;
    json_t *taint = json_pack("{s:s,s:s}", "key", "node.kubernetes.io/unschedulable", "effect",
                              K8S_TAINT_NO_SCHEDULE);
    bool ok = k8s_tolerations_tolerate(p->tolerations, taint, false);
    json_decref(taint);
    return ok ? SCH_OK : sch_status_set(st, SCH_UNRESOLVABLE, "node(s) were unschedulable");
}

const struct sch_plugin_def sch_plugin_node_unschedulable = {.name = "NodeUnschedulable",
                                                             .filter = unsched_filter};

/* ---- NodeName --------------------------------------------------------------------------- */

static enum sch_code nodename_filter(void *self, const void *fs, const struct sch_pod *p,
                                     const struct sch_node *n, struct sch_status *st)
{
    (void)self, (void)fs;
    const char *want = p->node_name;
    if (!*want || !strcmp(want, sch_node_name(n)))
        return SCH_OK;
    return sch_status_set(st, SCH_UNRESOLVABLE, "node(s) didn't match the requested node name");
}

const struct sch_plugin_def sch_plugin_node_name = {.name = "NodeName", .filter = nodename_filter};

/* ---- TaintToleration -------------------------------------------------------------------- */

static enum sch_code taint_filter(void *self, const void *fs, const struct sch_pod *p,
                                  const struct sch_node *n, struct sch_status *st)
{
    (void)self, (void)fs;
    if (k8s_jlen(n->nd->taints) == 0)
        return SCH_OK;
    const json_t *t = k8s_find_untolerated_taint(n->nd->taints, p->tolerations,
                                                 k8s_taint_filter_no_schedule_or_execute, NULL,
                                                 false);
    if (!t)
        return SCH_OK;
    /* the released schedulers' text (1.2x-1.34); later ones print "untolerated taint(s)" */
    return sch_status_set(st, SCH_UNRESOLVABLE, "node(s) had untolerated taint {%s: %s}",
                          k8s_jstr(t, "key"), k8s_jstr(t, "value"));
}

static enum sch_code taint_pre_score(void *self, struct sch_cycle *cs, const struct sch_pod *p,
                                     const size_t *nodes, size_t n, void **ss,
                                     struct sch_status *st)
{
    (void)self, (void)cs, (void)nodes, (void)st, (void)ss;
    if (n == 0)
        return SCH_SKIP;
    (void)p;
    return SCH_OK;
}

/* countIntolerableTaintsPreferNoSchedule, with the tolerations whose effect is empty or
 * PreferNoSchedule. */
static int64_t taint_score(void *self, const void *ss, const struct sch_pod *p,
                           const struct sch_node *n)
{
    (void)self, (void)ss;
    int64_t count = 0;
    size_t i, j;
    const json_t *t, *tol;
    json_array_foreach(n->nd->taints, i, t)
    {
        if (strcmp(k8s_jstr(t, "effect"), K8S_TAINT_PREFER_NO_SCHEDULE))
            continue;
        bool tolerated = false;
        json_array_foreach(p->tolerations, j, tol)
        {
            const char *e = k8s_jstr(tol, "effect");
            if ((!*e || !strcmp(e, K8S_TAINT_PREFER_NO_SCHEDULE)) &&
                k8s_toleration_tolerates(tol, t, false)) {
                tolerated = true;
                break;
            }
        }
        count += !tolerated;
    }
    return count;
}

static void taint_normalize(void *self, const void *ss, const struct sch_pod *p,
                            struct sch_node_score *s, size_t n)
{
    (void)self, (void)ss, (void)p;
    sch_default_normalize(SCH_MAX_NODE_SCORE, true, s, n);
}

const struct sch_plugin_def sch_plugin_taint_toleration = {
    .name = "TaintToleration",
    .default_weight = 3,
    .filter = taint_filter,
    .pre_score = taint_pre_score,
    .score = taint_score,
    .normalize = taint_normalize,
};

/* ---- NodeAffinity ----------------------------------------------------------------------- */

struct nodeaff {
    json_t *added_required; /* NodeSelector, or NULL */
    json_t *added_preferred;
};

static void *nodeaff_create(const json_t *args, struct sch_handle *h, char *err, size_t errlen)
{
    (void)h, (void)err, (void)errlen;
    struct nodeaff *a = ck_calloc(1, sizeof(*a));
    const json_t *added = json_object_get(args, "addedAffinity");
    a->added_required =
        json_incref(json_object_get(added, "requiredDuringSchedulingIgnoredDuringExecution"));
    a->added_preferred =
        json_incref(json_object_get(added, "preferredDuringSchedulingIgnoredDuringExecution"));
    return a;
}

static void nodeaff_destroy(void *self)
{
    struct nodeaff *a = self;
    json_decref(a->added_required);
    json_decref(a->added_preferred);
    free(a);
}

static enum sch_code nodeaff_pre_filter(void *self, struct sch_cycle *cs, const struct sch_pod *p,
                                        void **fs, struct sch_status *st)
{
    (void)cs, (void)fs, (void)st;
    struct nodeaff *a = self;
    const json_t *spec = json_object_get(p->obj, "spec");
    bool has =
        json_object_size(json_object_get(spec, "nodeSelector")) > 0 ||
        k8s_jpath(p->obj,
                  "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution");
    return has || a->added_required ? SCH_OK : SCH_SKIP;
}

static enum sch_code nodeaff_filter(void *self, const void *fs, const struct sch_pod *p,
                                    const struct sch_node *n, struct sch_status *st)
{
    (void)fs;
    struct nodeaff *a = self;
    if (a->added_required && !k8s_node_selector_match(a->added_required, n->nd->obj, NULL))
        return sch_status_set(st, SCH_UNRESOLVABLE,
                              "node(s) didn't match scheduler-enforced node affinity");
    if (!k8s_pod_matches_node(p->obj, n->nd->obj, NULL))
        return sch_status_set(st, SCH_UNRESOLVABLE,
                              "node(s) didn't match Pod's node affinity/selector");
    return SCH_OK;
}

static enum sch_code nodeaff_pre_score(void *self, struct sch_cycle *cs, const struct sch_pod *p,
                                       const size_t *nodes, size_t n, void **ss,
                                       struct sch_status *st)
{
    (void)cs, (void)nodes, (void)n, (void)ss, (void)st;
    struct nodeaff *a = self;
    const json_t *pref = k8s_jpath(
        p->obj, "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution");
    return k8s_jlen(pref) || k8s_jlen(a->added_preferred) ? SCH_OK : SCH_SKIP;
}

static int64_t nodeaff_score(void *self, const void *ss, const struct sch_pod *p,
                             const struct sch_node *n)
{
    (void)ss;
    struct nodeaff *a = self;
    int64_t s = k8s_pod_preferred_score(p->obj, n->nd->obj, NULL);
    if (a->added_preferred)
        s += k8s_preferred_terms_score(a->added_preferred, n->nd->obj, NULL);
    return s;
}

static void nodeaff_normalize(void *self, const void *ss, const struct sch_pod *p,
                              struct sch_node_score *s, size_t n)
{
    (void)self, (void)ss, (void)p;
    sch_default_normalize(SCH_MAX_NODE_SCORE, false, s, n);
}

const struct sch_plugin_def sch_plugin_node_affinity = {
    .name = "NodeAffinity",
    .default_weight = 2,
    .create = nodeaff_create,
    .destroy = nodeaff_destroy,
    .pre_filter = nodeaff_pre_filter,
    .filter = nodeaff_filter,
    .pre_score = nodeaff_pre_score,
    .score = nodeaff_score,
    .normalize = nodeaff_normalize,
};

/* ---- NodePorts -------------------------------------------------------------------------- */

static enum sch_code ports_pre_filter(void *self, struct sch_cycle *cs, const struct sch_pod *p,
                                      void **fs, struct sch_status *st)
{
    (void)self, (void)cs, (void)fs, (void)st;
    return p->nports ? SCH_OK : SCH_SKIP;
}

/* HostPortInfo.CheckConflict: 0.0.0.0 conflicts with every address of the same
 * protocol/port; a specific address conflicts with itself and 0.0.0.0. */
bool sch_ports_conflict(const struct sch_port *used, size_t n, const struct sch_port *want)
{
    bool any = !strcmp(want->ip, "0.0.0.0");
    for (size_t i = 0; i < n; i++) {
        if (used[i].port != want->port || strcmp(used[i].proto, want->proto))
            continue;
        if (any || !strcmp(used[i].ip, "0.0.0.0") || !strcmp(used[i].ip, want->ip))
            return true;
    }
    return false;
}

static enum sch_code ports_filter(void *self, const void *fs, const struct sch_pod *p,
                                  const struct sch_node *n, struct sch_status *st)
{
    (void)self, (void)fs;
    for (size_t i = 0; i < p->nports; i++)
        if (sch_ports_conflict(n->ports, n->nports, &p->ports[i]))
            return sch_status_set(st, SCH_UNSCHEDULABLE,
                                  "node(s) didn't have free ports for the requested pod ports");
    return SCH_OK;
}

const struct sch_plugin_def sch_plugin_node_ports = {
    .name = "NodePorts", .pre_filter = ports_pre_filter, .filter = ports_filter};

/* ---- ImageLocality ---------------------------------------------------------------------- */

#define MB (1024LL * 1024)

struct imgstate {
    size_t total_nodes;
    const struct ck_strmap *counts;
};

static enum sch_code img_pre_score(void *self, struct sch_cycle *cs, const struct sch_pod *p,
                                   const size_t *nodes, size_t n, void **ss, struct sch_status *st)
{
    (void)self, (void)nodes, (void)n, (void)st;
    if (!p->nimages || cs->snap->image_nodes.len == 0)
        return SCH_SKIP;
    struct imgstate *s = ck_malloc(sizeof(*s));
    s->total_nodes = cs->snap->n;
    s->counts = &cs->snap->image_nodes;
    *ss = s;
    return SCH_OK;
}

int64_t sch_image_score(int64_t sum, size_t ncontainers)
{
    int64_t min = 23 * MB, max = 1000 * MB * (int64_t)ncontainers;
    if (sum < min)
        sum = min;
    else if (sum > max)
        sum = max;
    return max > min ? SCH_MAX_NODE_SCORE * (sum - min) / (max - min) : 0;
}

static int64_t img_score(void *self, const void *ss, const struct sch_pod *p,
                         const struct sch_node *n)
{
    (void)self;
    const struct imgstate *s = ss;
    int64_t sum = 0;
    for (size_t i = 0; i < p->nimages; i++) {
        for (size_t j = 0; j < n->nd->nimages; j++) {
            if (strcmp(n->nd->images[j].name, p->images[i]))
                continue;
            uintptr_t c = (uintptr_t)ck_strmap_get(s->counts, p->images[i], NULL);
            sum += (int64_t)((double)n->nd->images[j].size * ((double)c / (double)s->total_nodes));
            break;
        }
    }
    return sch_image_score(sum, p->nimages);
}

const struct sch_plugin_def sch_plugin_image_locality = {
    .name = "ImageLocality",
    .default_weight = 1,
    .free_state = free,
    .pre_score = img_pre_score,
    .score = img_score,
};

/* ---- DefaultBinder ---------------------------------------------------------------------- */

static void *binder_create(const json_t *args, struct sch_handle *h, char *err, size_t errlen)
{
    (void)args, (void)err, (void)errlen;
    return h ? (void *)h : (void *)1;
}

static enum sch_code binder_bind(void *self, const struct sch_pod *p, const char *node,
                                 struct sch_status *st)
{
    struct sch_handle *h = self == (void *)1 ? NULL : self;
    if (!h || !h->client)
        return sch_status_set(st, SCH_ERROR, "no client");
    json_t *b = sch_binding(p, node);
    char *path = sch_binding_path(p);
    struct ck_err err = CK_ERR_INIT;
    int rc = ck_client_create_json(h->client, path, b, NULL, &err);
    free(path);
    json_decref(b);
    if (rc < 0)
        return sch_status_set(st, SCH_ERROR, "%s", err.msg);
    return SCH_OK;
}

json_t *sch_binding(const struct sch_pod *p, const char *node)
{
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:{s:s,s:s}}", "apiVersion", "v1", "kind",
                     "Binding", "metadata", "name", p->name, "namespace", p->ns, "uid", p->uid,
                     "target", "kind", "Node", "name", node);
}

char *sch_binding_path(const struct sch_pod *p)
{
    return ck_asprintf("/api/v1/namespaces/%s/pods/%s/binding", p->ns, p->name);
}

const struct sch_plugin_def sch_plugin_default_binder = {
    .name = "DefaultBinder", .create = binder_create, .bind = binder_bind};
