/* SPDX-License-Identifier: Apache-2.0 */
/* Defaulting of built-in objects in place: upstream's SetDefaults_* for core/v1, apps/v1,
 * batch/v1 and a few others, plus what the always-on pod admission plugins add
 * (DefaultTolerationSeconds, ServiceAccount name, Priority) and the create-time status the
 * strategies set (pod phase/qosClass, namespace phase/finalizers). */
#include "apiserver/registry/printers.h"
#include "apiserver/registry/validation.h"

#include <stdlib.h>
#include <string.h>

/* Sets obj[key] = v (stolen) unless obj already has key; drops v otherwise. */
static void dflt(json_t *obj, const char *key, json_t *v)
{
    if (json_is_object(obj) && !json_object_get(obj, key))
        json_object_set_new(obj, key, v);
    else
        json_decref(v);
}

/* obj[key] as an object, created when absent; NULL when obj is not an object or key holds a
 * non-object. */
static json_t *child(json_t *obj, const char *key)
{
    if (!json_is_object(obj))
        return NULL;
    json_t *c = json_object_get(obj, key);
    if (!c) {
        c = json_object();
        json_object_set_new(obj, key, c);
    }
    return json_is_object(c) ? c : NULL;
}

static size_t arr_n(const json_t *a)
{
    return json_is_array(a) ? json_array_size(a) : 0;
}

/* imagePullPolicy: Always for ":latest" or no tag (digests excepted), else IfNotPresent. */
static const char *pull_policy(const char *image)
{
    if (!*image || strchr(image, '@')) /* unparsable or digest: no "latest" tag */
        return "IfNotPresent";
    const char *slash = strrchr(image, '/');
    const char *colon = strrchr(slash ? slash : image, ':');
    if (!colon || !strcmp(colon + 1, "latest"))
        return "Always";
    return "IfNotPresent";
}

static void default_probe(json_t *p)
{
    if (!json_is_object(p))
        return;
    dflt(p, "timeoutSeconds", json_integer(1));
    dflt(p, "periodSeconds", json_integer(10));
    dflt(p, "successThreshold", json_integer(1));
    dflt(p, "failureThreshold", json_integer(3));
    json_t *h = json_object_get(p, "httpGet");
    if (json_is_object(h)) {
        dflt(h, "path", json_string("/"));
        dflt(h, "scheme", json_string("HTTP"));
    }
}

/* Rewrites every quantity of a ResourceList object in canonical form ("1000m" -> "1"), as
 * upstream's serializer does; unparsable values are left for validation to reject. */
static void canon_list(json_t *list)
{
    const char *k;
    json_t *v;
    if (!json_is_object(list))
        return;
    json_object_foreach(list, k, v) {
        char *c = validation_quantity_canonical(v);
        if (c && !(json_is_string(v) && !strcmp(json_string_value(v), c)))
            json_object_set_new(list, k, json_string(c));
        free(c);
    }
}

static void canon_at(json_t *obj, const char *path)
{
    canon_list(printer_jget(obj, path));
}

/* Copies limits into requests for resources with a limit but no request. */
static void default_requests(json_t *c)
{
    json_t *res = json_object_get(c, "resources");
    json_t *lim = json_object_get(res, "limits");
    if (!json_is_object(lim) || json_object_size(lim) == 0)
        return;
    json_t *req = child(res, "requests");
    const char *k;
    json_t *v;
    json_object_foreach(lim, k, v)
        dflt(req, k, json_deep_copy(v));
}

static void default_container(json_t *c, bool host_network)
{
    if (!json_is_object(c))
        return;
    dflt(c, "terminationMessagePath", json_string("/dev/termination-log"));
    dflt(c, "terminationMessagePolicy", json_string("File"));
    dflt(c, "imagePullPolicy", json_string(pull_policy(printer_jstr(c, "image"))));
    dflt(c, "resources", json_object());
    canon_at(c, "resources.limits");
    canon_at(c, "resources.requests");
    json_t *ports = json_object_get(c, "ports");
    for (size_t i = 0; i < arr_n(ports); i++) {
        json_t *p = json_array_get(ports, i);
        dflt(p, "protocol", json_string("TCP"));
        if (host_network && json_is_object(p) && json_object_get(p, "containerPort"))
            dflt(p, "hostPort", json_deep_copy(json_object_get(p, "containerPort")));
    }
    default_probe(json_object_get(c, "livenessProbe"));
    default_probe(json_object_get(c, "readinessProbe"));
    default_probe(json_object_get(c, "startupProbe"));
    json_t *env = json_object_get(c, "env");
    for (size_t i = 0; i < arr_n(env); i++) {
        json_t *fr = printer_jget(json_array_get(env, i), "valueFrom.fieldRef");
        if (json_is_object(fr))
            dflt(fr, "apiVersion", json_string("v1"));
    }
}

static void default_volume(json_t *v)
{
    if (!json_is_object(v))
        return;
    static const char *const with_mode[] = {"secret", "configMap", "downwardAPI", "projected"};
    bool has_source = false;
    const char *k;
    json_t *val;
    json_object_foreach(v, k, val)
        if (strcmp(k, "name") != 0)
            has_source = true;
    if (!has_source)
        json_object_set_new(v, "emptyDir", json_object());
    for (size_t i = 0; i < sizeof(with_mode) / sizeof(with_mode[0]); i++) {
        json_t *src = json_object_get(v, with_mode[i]);
        if (json_is_object(src))
            dflt(src, "defaultMode", json_integer(0644));
    }
    json_t *ed = json_object_get(v, "emptyDir");
    json_t *sl = json_object_get(ed, "sizeLimit");
    char *c = sl ? validation_quantity_canonical(sl) : NULL;
    if (c)
        json_object_set_new(ed, "sizeLimit", json_string(c));
    free(c);
    json_t *hp = json_object_get(v, "hostPath");
    if (json_is_object(hp))
        dflt(hp, "type", json_string(""));
}

/* SetDefaults_PodSpec and the per-container / per-volume defaults. */
static void default_podspec(json_t *spec)
{
    if (!json_is_object(spec))
        return;
    dflt(spec, "restartPolicy", json_string("Always"));
    dflt(spec, "dnsPolicy", json_string("ClusterFirst"));
    dflt(spec, "schedulerName", json_string("default-scheduler"));
    dflt(spec, "terminationGracePeriodSeconds", json_integer(30));
    dflt(spec, "securityContext", json_object());
    dflt(spec, "enableServiceLinks", json_true());
    bool hostnet = json_is_true(json_object_get(spec, "hostNetwork"));
    static const char *const lists[] = {"initContainers", "containers", "ephemeralContainers"};
    for (size_t l = 0; l < 3; l++) {
        json_t *cs = json_object_get(spec, lists[l]);
        for (size_t i = 0; i < arr_n(cs); i++)
            default_container(json_array_get(cs, i), hostnet);
    }
    json_t *vols = json_object_get(spec, "volumes");
    for (size_t i = 0; i < arr_n(vols); i++)
        default_volume(json_array_get(vols, i));
}

/* A PodTemplateSpec: template metadata always serializes with creationTimestamp null. */
static void default_template(json_t *tmpl)
{
    if (!json_is_object(tmpl))
        return;
    dflt(child(tmpl, "metadata"), "creationTimestamp", json_null());
    default_podspec(child(tmpl, "spec"));
}

static bool has_toleration(json_t *tols, const char *key)
{
    for (size_t i = 0; i < arr_n(tols); i++) {
        json_t *t = json_array_get(tols, i);
        const char *k = printer_jstr(t, "key"), *eff = printer_jstr(t, "effect");
        if ((!*k && !strcmp(printer_jstr(t, "operator"), "Exists")) ||
            (!strcmp(k, key) && (!*eff || !strcmp(eff, "NoExecute"))))
            return true;
    }
    return false;
}

/* DefaultTolerationSeconds admission: 300 s for not-ready and unreachable. */
static void default_tolerations(json_t *spec)
{
    static const char *const keys[] = {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"};
    json_t *tols = json_object_get(spec, "tolerations");
    if (tols && !json_is_array(tols))
        return;
    for (size_t i = 0; i < 2; i++) {
        if (has_toleration(tols, keys[i]))
            continue;
        if (!tols) {
            tols = json_array();
            json_object_set_new(spec, "tolerations", tols);
        }
        json_array_append_new(tols, json_pack("{ss ss ss sI}", "key", keys[i], "operator", "Exists",
                                              "effect", "NoExecute", "tolerationSeconds", (json_int_t)300));
    }
}

static void default_pod(json_t *pod)
{
    json_t *spec = child(pod, "spec");
    default_podspec(spec);
    if (!spec)
        return;
    /* SetDefaults_Pod, not SetDefaults_PodSpec: templates keep requests unset */
    static const char *const lists[] = {"containers", "initContainers"};
    for (size_t l = 0; l < 2; l++) {
        json_t *cs = json_object_get(spec, lists[l]);
        for (size_t i = 0; i < arr_n(cs); i++)
            if (json_is_object(json_array_get(cs, i)))
                default_requests(json_array_get(cs, i));
    }
    default_tolerations(spec);
    const char *sa = printer_jstr(spec, "serviceAccountName");
    if (!*sa)
        sa = printer_jstr(spec, "serviceAccount");
    if (!*sa)
        sa = "default";
    dflt(spec, "serviceAccountName", json_string(sa));
    dflt(spec, "serviceAccount", json_string(sa));
    if (!json_object_get(spec, "priorityClassName"))
        dflt(spec, "priority", json_integer(0));
    dflt(spec, "preemptionPolicy", json_string("PreemptLowerPriority"));
    json_t *status = child(pod, "status");
    dflt(status, "phase", json_string("Pending"));
    dflt(status, "qosClass", json_string(validation_pod_qos(spec)));
}

/* ---- workloads ------------------------------------------------------------------------ */

static void default_deployment(json_t *d)
{
    json_t *spec = child(d, "spec");
    if (!spec)
        return;
    dflt(spec, "replicas", json_integer(1));
    json_t *st = child(spec, "strategy");
    dflt(st, "type", json_string("RollingUpdate"));
    if (st && !strcmp(printer_jstr(st, "type"), "RollingUpdate")) {
        json_t *ru = child(st, "rollingUpdate");
        dflt(ru, "maxUnavailable", json_string("25%"));
        dflt(ru, "maxSurge", json_string("25%"));
    }
    dflt(spec, "revisionHistoryLimit", json_integer(10));
    dflt(spec, "progressDeadlineSeconds", json_integer(600));
    default_template(json_object_get(spec, "template"));
}

static void default_replicaset(json_t *o)
{
    json_t *spec = child(o, "spec");
    dflt(spec, "replicas", json_integer(1));
    default_template(json_object_get(spec, "template"));
}

static void default_daemonset(json_t *o)
{
    json_t *spec = child(o, "spec");
    if (!spec)
        return;
    json_t *st = child(spec, "updateStrategy");
    dflt(st, "type", json_string("RollingUpdate"));
    if (st && !strcmp(printer_jstr(st, "type"), "RollingUpdate")) {
        json_t *ru = child(st, "rollingUpdate");
        dflt(ru, "maxUnavailable", json_integer(1));
        dflt(ru, "maxSurge", json_integer(0));
    }
    dflt(spec, "revisionHistoryLimit", json_integer(10));
    default_template(json_object_get(spec, "template"));
}

static void default_statefulset(json_t *o)
{
    json_t *spec = child(o, "spec");
    if (!spec)
        return;
    dflt(spec, "replicas", json_integer(1));
    dflt(spec, "podManagementPolicy", json_string("OrderedReady"));
    json_t *st = child(spec, "updateStrategy");
    dflt(st, "type", json_string("RollingUpdate"));
    if (st && !strcmp(printer_jstr(st, "type"), "RollingUpdate"))
        dflt(child(st, "rollingUpdate"), "partition", json_integer(0));
    dflt(spec, "revisionHistoryLimit", json_integer(10));
    json_t *pvc = child(spec, "persistentVolumeClaimRetentionPolicy");
    dflt(pvc, "whenDeleted", json_string("Retain"));
    dflt(pvc, "whenScaled", json_string("Retain"));
    json_t *vcts = json_object_get(spec, "volumeClaimTemplates");
    for (size_t i = 0; i < arr_n(vcts); i++) {
        json_t *vs = json_object_get(json_array_get(vcts, i), "spec");
        dflt(vs, "volumeMode", json_string("Filesystem"));
    }
    default_template(json_object_get(spec, "template"));
}

/* The selector and labels upstream's job strategy generates from the uid (create only,
 * when manualSelector is not true and a uid is known). */
static void job_generate_selector(json_t *job, json_t *spec)
{
    const char *uid = printer_jstr(job, "metadata.uid");
    const char *name = printer_jstr(job, "metadata.name");
    if (!*uid || json_is_true(json_object_get(spec, "manualSelector")) || json_object_get(spec, "selector"))
        return;
    json_object_set_new(spec, "selector",
                        json_pack("{s{ss}}", "matchLabels", "batch.kubernetes.io/controller-uid", uid));
    json_t *labels = child(child(child(spec, "template"), "metadata"), "labels");
    dflt(labels, "batch.kubernetes.io/controller-uid", json_string(uid));
    dflt(labels, "batch.kubernetes.io/job-name", json_string(name));
    dflt(labels, "controller-uid", json_string(uid));
    dflt(labels, "job-name", json_string(name));
}

static void default_job(json_t *job)
{
    json_t *spec = child(job, "spec");
    if (!spec)
        return;
    if (!json_object_get(spec, "completions") && !json_object_get(spec, "parallelism"))
        json_object_set_new(spec, "completions", json_integer(1));
    dflt(spec, "parallelism", json_integer(1));
    dflt(spec, "backoffLimit", json_integer(json_object_get(spec, "backoffLimitPerIndex") ? 2147483647 : 6));
    dflt(spec, "completionMode", json_string("NonIndexed"));
    dflt(spec, "suspend", json_false());
    dflt(spec, "podReplacementPolicy",
         json_string(json_object_get(spec, "podFailurePolicy") ? "Failed" : "TerminatingOrFailed"));
    job_generate_selector(job, spec);
    json_t *tmpl_labels = printer_jget(spec, "template.metadata.labels");
    json_t *md = child(job, "metadata");
    if (json_is_object(tmpl_labels) && md && json_object_size(json_object_get(md, "labels")) == 0)
        json_object_set_new(md, "labels", json_deep_copy(tmpl_labels));
    default_template(json_object_get(spec, "template"));
}

static void default_cronjob(json_t *cj)
{
    json_t *spec = child(cj, "spec");
    if (!spec)
        return;
    dflt(spec, "concurrencyPolicy", json_string("Allow"));
    dflt(spec, "suspend", json_false());
    dflt(spec, "successfulJobsHistoryLimit", json_integer(3));
    dflt(spec, "failedJobsHistoryLimit", json_integer(1));
    json_t *jt = child(spec, "jobTemplate");
    dflt(child(jt, "metadata"), "creationTimestamp", json_null());
    default_template(json_object_get(json_object_get(jt, "spec"), "template"));
}

/* ---- core, non-pod ------------------------------------------------------------------- */

static void default_service(json_t *svc)
{
    json_t *spec = child(svc, "spec");
    if (!spec)
        return;
    dflt(spec, "type", json_string("ClusterIP"));
    dflt(spec, "sessionAffinity", json_string("None"));
    if (!strcmp(printer_jstr(spec, "sessionAffinity"), "ClientIP"))
        dflt(child(child(spec, "sessionAffinityConfig"), "clientIP"), "timeoutSeconds", json_integer(10800));
    const char *type = printer_jstr(spec, "type");
    json_t *ports = json_object_get(spec, "ports");
    for (size_t i = 0; i < arr_n(ports); i++) {
        json_t *p = json_array_get(ports, i);
        dflt(p, "protocol", json_string("TCP"));
        json_t *tp = json_object_get(p, "targetPort");
        if ((json_is_integer(tp) && json_integer_value(tp) == 0) || (json_is_string(tp) && !*json_string_value(tp)))
            json_object_del(p, "targetPort"); /* 0 and "" mean unset */
        if (json_is_object(p) && json_object_get(p, "port"))
            dflt(p, "targetPort", json_deep_copy(json_object_get(p, "port")));
    }
    if (!strcmp(type, "ExternalName"))
        return;
    dflt(spec, "internalTrafficPolicy", json_string("Cluster"));
    if (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer"))
        dflt(spec, "externalTrafficPolicy", json_string("Cluster"));
    if (!strcmp(type, "LoadBalancer"))
        dflt(spec, "allocateLoadBalancerNodePorts", json_true());
    dflt(spec, "ipFamilyPolicy", json_string("SingleStack"));
    if (!json_object_get(spec, "ipFamilies")) {
        const char *ip = printer_jstr(spec, "clusterIP");
        json_object_set_new(spec, "ipFamilies", json_pack("[s]", strchr(ip, ':') ? "IPv6" : "IPv4"));
    }
}

static void default_namespace(json_t *ns)
{
    dflt(child(ns, "spec"), "finalizers", json_pack("[s]", "kubernetes"));
    dflt(child(ns, "status"), "phase", json_string("Active"));
}

static void default_ports_protocol(json_t *ports)
{
    for (size_t i = 0; i < arr_n(ports); i++)
        dflt(json_array_get(ports, i), "protocol", json_string("TCP"));
}

static void default_endpoints(json_t *ep)
{
    json_t *subsets = json_object_get(ep, "subsets");
    for (size_t i = 0; i < arr_n(subsets); i++)
        default_ports_protocol(json_object_get(json_array_get(subsets, i), "ports"));
}

static void default_bindings(json_t *rb)
{
    json_t *subs = json_object_get(rb, "subjects");
    for (size_t i = 0; i < arr_n(subs); i++) {
        json_t *s = json_array_get(subs, i);
        const char *kind = printer_jstr(s, "kind");
        if (!strcmp(kind, "User") || !strcmp(kind, "Group"))
            dflt(s, "apiGroup", json_string("rbac.authorization.k8s.io"));
    }
}

static void default_quota(json_t *o)
{
    canon_at(o, "spec.hard");
    canon_at(o, "status.hard");
    canon_at(o, "status.used");
}

static void default_limitrange(json_t *o)
{
    static const char *const keys[] = {"max", "min", "default", "defaultRequest", "maxLimitRequestRatio"};
    json_t *limits = printer_jget(o, "spec.limits");
    for (size_t i = 0; i < arr_n(limits); i++)
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
            canon_list(json_object_get(json_array_get(limits, i), keys[k]));
}

/* SetDefaults_NodeStatus: allocatable defaults to capacity. */
static void default_node(json_t *o)
{
    json_t *st = json_object_get(o, "status");
    canon_at(st, "capacity");
    canon_at(st, "allocatable");
    json_t *cap = json_object_get(st, "capacity");
    if (json_is_object(cap) && !json_object_get(st, "allocatable"))
        json_object_set_new(st, "allocatable", json_deep_copy(cap));
}

static void default_pvc(json_t *pvc)
{
    canon_at(pvc, "spec.resources.requests");
    canon_at(pvc, "spec.resources.limits");
    canon_at(pvc, "status.capacity");
    dflt(child(pvc, "spec"), "volumeMode", json_string("Filesystem"));
    dflt(child(pvc, "status"), "phase", json_string("Pending"));
}

static void default_pv(json_t *pv)
{
    json_t *spec = child(pv, "spec");
    canon_at(spec, "capacity");
    dflt(spec, "persistentVolumeReclaimPolicy", json_string("Retain"));
    dflt(spec, "volumeMode", json_string("Filesystem"));
    dflt(child(pv, "status"), "phase", json_string("Pending"));
}

struct defaulter {
    const char *group, *resource;
    void (*fn)(json_t *obj);
};

static void default_podtemplate(json_t *o)
{
    default_template(json_object_get(o, "template"));
}

static void default_rc(json_t *o)
{
    json_t *spec = child(o, "spec");
    dflt(spec, "replicas", json_integer(1));
    default_template(json_object_get(spec, "template"));
}

static char *base64(const char *s, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((n + 2) / 3 * 4 + 1);
    size_t o = 0;
    if (!out)
        abort();
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)s[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)s[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = 0;
    return out;
}

/* stringData is write-only: upstream's conversion merges it into data (base64), winning
 * over data entries of the same key. */
static void default_secret(json_t *o)
{
    dflt(o, "type", json_string("Opaque"));
    json_t *sd = json_object_get(o, "stringData");
    if (!json_is_object(sd))
        return;
    json_t *data = child(o, "data");
    const char *k;
    json_t *v;
    json_object_foreach(sd, k, v) {
        const char *s = json_string_value(v);
        if (!s || !data)
            continue;
        char *enc = base64(s, json_string_length(v));
        json_object_set_new(data, k, json_string(enc));
        free(enc);
    }
    json_object_del(o, "stringData");
}

static void default_slice(json_t *o)
{
    default_ports_protocol(json_object_get(o, "ports"));
}

/* One HPAScalingRules object: fills what upstream's behavior defaults fill. */
static void default_scaling_rules(json_t *behavior, const char *dir, bool up)
{
    json_t *r = json_object_get(behavior, dir);
    if (!r) {
        r = json_object();
        json_object_set_new(behavior, dir, r);
    }
    if (!json_is_object(r))
        return;
    dflt(r, "stabilizationWindowSeconds", json_integer(up ? 0 : 300));
    dflt(r, "selectPolicy", json_string("Max"));
    if (up)
        dflt(r, "policies", json_pack("[{ss si si} {ss si si}]", "type", "Pods", "value", 4, "periodSeconds", 15,
                                      "type", "Percent", "value", 100, "periodSeconds", 15));
    else
        dflt(r, "policies", json_pack("[{ss si si}]", "type", "Percent", "value", 100, "periodSeconds", 15));
}

/* autoscaling/v2: minReplicas 1, a CPU 80% metric when none, behavior rules when given. */
static void default_hpa(json_t *o)
{
    json_t *spec = child(o, "spec");
    if (!spec)
        return;
    dflt(spec, "minReplicas", json_integer(1));
    if (!json_object_get(spec, "metrics") && !json_object_get(spec, "targetCPUUtilizationPercentage"))
        json_object_set_new(spec, "metrics",
                            json_pack("[{ss s{ss s{ss si}}}]", "type", "Resource", "resource", "name", "cpu", "target",
                                      "type", "Utilization", "averageUtilization", 80));
    json_t *beh = json_object_get(spec, "behavior");
    if (json_is_object(beh)) {
        default_scaling_rules(beh, "scaleUp", true);
        default_scaling_rules(beh, "scaleDown", false);
    }
}

static void default_storageclass(json_t *o)
{
    dflt(o, "reclaimPolicy", json_string("Delete"));
    dflt(o, "volumeBindingMode", json_string("Immediate"));
}

static void default_priorityclass(json_t *o)
{
    dflt(o, "preemptionPolicy", json_string("PreemptLowerPriority"));
}

static const struct defaulter defaulters[] = {
    {"", "pods", default_pod},
    {"", "podtemplates", default_podtemplate},
    {"", "replicationcontrollers", default_rc},
    {"", "services", default_service},
    {"", "namespaces", default_namespace},
    {"", "secrets", default_secret},
    {"", "endpoints", default_endpoints},
    {"", "resourcequotas", default_quota},
    {"", "limitranges", default_limitrange},
    {"", "nodes", default_node},
    {"", "persistentvolumeclaims", default_pvc},
    {"", "persistentvolumes", default_pv},
    {"apps", "deployments", default_deployment},
    {"apps", "replicasets", default_replicaset},
    {"apps", "daemonsets", default_daemonset},
    {"apps", "statefulsets", default_statefulset},
    {"batch", "jobs", default_job},
    {"batch", "cronjobs", default_cronjob},
    {"discovery.k8s.io", "endpointslices", default_slice},
    {"rbac.authorization.k8s.io", "rolebindings", default_bindings},
    {"rbac.authorization.k8s.io", "clusterrolebindings", default_bindings},
    {"autoscaling", "horizontalpodautoscalers", default_hpa},
    {"storage.k8s.io", "storageclasses", default_storageclass},
    {"scheduling.k8s.io", "priorityclasses", default_priorityclass},
};

void validation_default(const char *group, const char *resource, json_t *obj)
{
    if (!json_is_object(obj) || !resource)
        return;
    if (!group)
        group = "";
    validation_default_groups(group, resource, obj);
    for (size_t i = 0; i < sizeof(defaulters) / sizeof(defaulters[0]); i++)
        if (!strcmp(defaulters[i].group, group) && !strcmp(defaulters[i].resource, resource)) {
            defaulters[i].fn(obj);
            return;
        }
}
