/* SPDX-License-Identifier: Apache-2.0 */
/* Printers for core/v1 resources (pods, nodes, namespaces, services, endpoints, configmaps,
 * secrets, serviceaccounts, events, resourcequotas, podtemplates, replicationcontrollers)
 * and coordination leases: columns and cells as upstream's internalversion printers. */
#include "apiserver/registry/printers.h"

#include "lib/buf.h"
#include "lib/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


static bool jtrue(const json_t *obj, const char *path)
{
    return json_is_true(printer_jget(obj, path));
}

/* Parsed RFC 3339 time or 0 when absent. */
static time_t jtime(const json_t *obj, const char *path)
{
    time_t t;
    const char *s = printer_jstr(obj, path);
    if (!*s || ck_time_parse_rfc3339(s, &t) != 0)
        return 0;
    return t;
}

/* ---- pods ---------------------------------------------------------------------------- */

static const struct printer_col pod_cols[] = {
    PRINTER_COL_NAME,
    {"Ready", "string", "", "Ready containers out of all containers.", 0},
    {"Status", "string", "", "Aggregate status of the containers in the pod.", 0},
    {"Restarts", "string", "", "Container restarts, and how long ago the last one was.", 0},
    PRINTER_COL_AGE,
    {"IP", "string", "", "IP address of the pod.", 1},
    {"Node", "string", "", "Node the pod is bound to.", 1},
    {"Nominated Node", "string", "", "Node nominated by preemption.", 1},
    {"Readiness Gates", "string", "", "Readiness gates that are true out of all gates.", 1},
};

struct pod_sum {
    long long restarts;
    time_t last_restart;
    int ready, total;
    char reason[160];
};

static bool has_condition(const json_t *pod, const char *type)
{
    json_t *conds = printer_jget(pod, "status.conditions");
    for (size_t i = 0; i < printer_jsize(conds); i++) {
        json_t *c = json_array_get(conds, i);
        if (!strcmp(printer_jstr(c, "type"), type))
            return !strcmp(printer_jstr(c, "status"), "True");
    }
    return false;
}

static bool init_restartable(const json_t *pod, const char *name)
{
    json_t *ics = printer_jget(pod, "spec.initContainers");
    for (size_t i = 0; i < printer_jsize(ics); i++) {
        json_t *c = json_array_get(ics, i);
        if (!strcmp(printer_jstr(c, "name"), name))
            return !strcmp(printer_jstr(c, "restartPolicy"), "Always");
    }
    return false;
}

static void note_restart(const json_t *cs, time_t *last)
{
    time_t t = jtime(cs, "lastState.terminated.finishedAt");
    if (t > *last)
        *last = t;
}

/* Init containers; returns true while the pod is still initializing. */
static bool pod_init_status(const json_t *pod, struct pod_sum *s, long long *rrestarts, time_t *rlast)
{
    json_t *st = printer_jget(pod, "status.initContainerStatuses");
    size_t nspec = printer_jsize(printer_jget(pod, "spec.initContainers"));
    for (size_t i = 0; i < printer_jsize(st); i++) {
        json_t *c = json_array_get(st, i);
        bool restartable = init_restartable(pod, printer_jstr(c, "name"));
        s->restarts += printer_jint(c, "restartCount", 0);
        note_restart(c, &s->last_restart);
        if (restartable) {
            *rrestarts += printer_jint(c, "restartCount", 0);
            note_restart(c, rlast);
        }
        json_t *term = printer_jget(c, "state.terminated");
        const char *wreason = printer_jstr(c, "state.waiting.reason");
        if (term && printer_jint(term, "exitCode", 0) == 0)
            continue;
        if (restartable && jtrue(c, "started")) {
            if (jtrue(c, "ready"))
                s->ready++;
            continue;
        }
        if (term) {
            const char *r = printer_jstr(term, "reason");
            if (*r)
                snprintf(s->reason, sizeof(s->reason), "Init:%s", r);
            else if (printer_jint(term, "signal", 0))
                snprintf(s->reason, sizeof(s->reason), "Init:Signal:%lld", printer_jint(term, "signal", 0));
            else
                snprintf(s->reason, sizeof(s->reason), "Init:ExitCode:%lld", printer_jint(term, "exitCode", 0));
        } else if (*wreason && strcmp(wreason, "PodInitializing") != 0) {
            snprintf(s->reason, sizeof(s->reason), "Init:%s", wreason);
        } else {
            snprintf(s->reason, sizeof(s->reason), "Init:%zu/%zu", i, nspec);
        }
        return true;
    }
    return false;
}

static void pod_container_status(const json_t *pod, struct pod_sum *s)
{
    json_t *st = printer_jget(pod, "status.containerStatuses");
    bool running = false;
    for (size_t k = printer_jsize(st); k-- > 0;) {
        json_t *c = json_array_get(st, k);
        s->restarts += printer_jint(c, "restartCount", 0);
        note_restart(c, &s->last_restart);
        const char *wreason = printer_jstr(c, "state.waiting.reason");
        json_t *term = printer_jget(c, "state.terminated");
        if (*wreason) {
            snprintf(s->reason, sizeof(s->reason), "%s", wreason);
        } else if (term && *printer_jstr(term, "reason")) {
            snprintf(s->reason, sizeof(s->reason), "%s", printer_jstr(term, "reason"));
        } else if (term) {
            if (printer_jint(term, "signal", 0))
                snprintf(s->reason, sizeof(s->reason), "Signal:%lld", printer_jint(term, "signal", 0));
            else
                snprintf(s->reason, sizeof(s->reason), "ExitCode:%lld", printer_jint(term, "exitCode", 0));
        } else if (jtrue(c, "ready") && printer_jget(c, "state.running")) {
            running = true;
            s->ready++;
        }
    }
    if (!strcmp(s->reason, "Completed") && running)
        snprintf(s->reason, sizeof(s->reason), "%s", has_condition(pod, "Ready") ? "Running" : "NotReady");
}

static void pod_summarize(const json_t *pod, struct pod_sum *s)
{
    memset(s, 0, sizeof(*s));
    const char *phase = printer_jstr(pod, "status.phase");
    const char *sreason = printer_jstr(pod, "status.reason");
    snprintf(s->reason, sizeof(s->reason), "%s", *sreason ? sreason : phase);
    json_t *conds = printer_jget(pod, "status.conditions");
    for (size_t i = 0; i < printer_jsize(conds); i++) {
        json_t *c = json_array_get(conds, i);
        if (!strcmp(printer_jstr(c, "type"), "PodScheduled") &&
            !strcmp(printer_jstr(c, "reason"), "SchedulingGated"))
            snprintf(s->reason, sizeof(s->reason), "SchedulingGated");
    }
    s->total = (int)printer_jsize(printer_jget(pod, "spec.containers"));
    json_t *ics = printer_jget(pod, "spec.initContainers");
    for (size_t i = 0; i < printer_jsize(ics); i++)
        if (!strcmp(printer_jstr(json_array_get(ics, i), "restartPolicy"), "Always"))
            s->total++;
    long long rrestarts = 0;
    time_t rlast = 0;
    bool initializing = pod_init_status(pod, s, &rrestarts, &rlast);
    if (!initializing || has_condition(pod, "Initialized")) {
        s->restarts = rrestarts;
        s->last_restart = rlast;
        pod_container_status(pod, s);
    }
    bool deleting = *printer_jstr(pod, "metadata.deletionTimestamp") != 0;
    bool terminal = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
    if (deleting && !strcmp(sreason, "NodeLost"))
        snprintf(s->reason, sizeof(s->reason), "Unknown");
    else if (deleting && !terminal)
        snprintf(s->reason, sizeof(s->reason), "Terminating");
}

static void pod_gates(const json_t *pod, char out[32])
{
    json_t *gates = printer_jget(pod, "spec.readinessGates");
    size_t n = printer_jsize(gates), ok = 0;
    if (n == 0) {
        snprintf(out, 32, "<none>");
        return;
    }
    json_t *conds = printer_jget(pod, "status.conditions");
    for (size_t i = 0; i < n; i++) {
        const char *type = printer_jstr(json_array_get(gates, i), "conditionType");
        for (size_t j = 0; j < printer_jsize(conds); j++) {
            json_t *c = json_array_get(conds, j);
            if (!strcmp(printer_jstr(c, "type"), type)) {
                ok += !strcmp(printer_jstr(c, "status"), "True");
                break;
            }
        }
    }
    snprintf(out, 32, "%zu/%zu", ok, n);
}

static const char *or_none(const char *s)
{
    return *s ? s : "<none>";
}

static void pod_cells(const json_t *pod, int64_t now, json_t *row)
{
    struct pod_sum s;
    pod_summarize(pod, &s);
    char buf[64], age[16], gates[32];
    printer_add_str(row, printer_jstr(pod, "metadata.name"));
    snprintf(buf, sizeof(buf), "%d/%d", s.ready, s.total);
    printer_add_str(row, buf);
    printer_add_str(row, s.reason);
    if (s.restarts != 0 && s.last_restart != 0) {
        printer_age_text(now, now - (int64_t)s.last_restart, age);
        snprintf(buf, sizeof(buf), "%lld (%s ago)", s.restarts, age);
    } else {
        snprintf(buf, sizeof(buf), "%lld", s.restarts);
    }
    printer_add_str(row, buf);
    printer_add_age(row, pod, now);
    json_t *ips = printer_jget(pod, "status.podIPs");
    const char *ip = printer_jsize(ips) ? printer_jstr(json_array_get(ips, 0), "ip") : printer_jstr(pod, "status.podIP");
    printer_add_str(row, or_none(ip));
    printer_add_str(row, or_none(printer_jstr(pod, "spec.nodeName")));
    printer_add_str(row, or_none(printer_jstr(pod, "status.nominatedNodeName")));
    pod_gates(pod, gates);
    printer_add_str(row, gates);
}

/* ---- pod templates, replication controllers ------------------------------------------- */

static const struct printer_col podtemplate_cols[] = {
    PRINTER_COL_NAME,
    {"Containers", "string", "", "Names of each container in the template.", 0},
    {"Images", "string", "", "Images referenced by each container in the template.", 0},
    {"Pod Labels", "string", "", "Labels of the pod template.", 0},
};

static void podtemplate_cells(const json_t *o, int64_t now, json_t *row)
{
    (void)now;
    char *names, *images;
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_containers(printer_jget(o, "template.spec"), &names, &images);
    printer_add_owned(row, names);
    printer_add_owned(row, images);
    printer_add_owned(row, printer_format_labels(printer_jget(o, "template.metadata.labels")));
}

static const struct printer_col rc_cols[] = {
    PRINTER_COL_NAME,
    {"Desired", "integer", "", "Desired number of replicas.", 0},
    {"Current", "integer", "", "Most recently observed number of replicas.", 0},
    {"Ready", "integer", "", "Number of ready replicas.", 0},
    PRINTER_COL_AGE,
    {"Containers", "string", "", "Names of each container in the template.", 1},
    {"Images", "string", "", "Images referenced by each container in the template.", 1},
    {"Selector", "string", "", "Label query over the pods the controller manages.", 1},
};

static void rc_cells(const json_t *o, int64_t now, json_t *row)
{
    char *names, *images;
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_int(row, printer_jint(o, "spec.replicas", 1));
    printer_add_int(row, printer_jint(o, "status.replicas", 0));
    printer_add_int(row, printer_jint(o, "status.readyReplicas", 0));
    printer_add_age(row, o, now);
    printer_containers(printer_jget(o, "spec.template.spec"), &names, &images);
    printer_add_owned(row, names);
    printer_add_owned(row, images);
    printer_add_owned(row, printer_format_labels(printer_jget(o, "spec.selector")));
}

/* ---- nodes --------------------------------------------------------------------------- */

static const struct printer_col node_cols[] = {
    PRINTER_COL_NAME,
    {"Status", "string", "", "The status of the node.", 0},
    {"Roles", "string", "", "The roles of the node.", 0},
    PRINTER_COL_AGE,
    {"Version", "string", "", "Kubelet version reported by the node.", 0},
    {"Internal-IP", "string", "", "First InternalIP address of the node.", 1},
    {"External-IP", "string", "", "First ExternalIP address of the node.", 1},
    {"OS-Image", "string", "", "OS image reported by the node.", 1},
    {"Kernel-Version", "string", "", "Kernel version reported by the node.", 1},
    {"Container-Runtime", "string", "", "Container runtime version reported by the node.", 1},
};

static const char *node_address(const json_t *node, const char *type)
{
    json_t *addrs = printer_jget(node, "status.addresses");
    for (size_t i = 0; i < printer_jsize(addrs); i++) {
        json_t *a = json_array_get(addrs, i);
        if (!strcmp(printer_jstr(a, "type"), type))
            return printer_jstr(a, "address");
    }
    return "<none>";
}

/* Sorted, de-duplicated roles from node-role.kubernetes.io/<role> and kubernetes.io/role. */
static char *node_roles(const json_t *node)
{
    json_t *labels = printer_jget(node, "metadata.labels");
    size_t n = 0, cap = printer_jsize(labels) + 1;
    const char **roles = ck_calloc(cap, sizeof(*roles));
    const char *k;
    json_t *v;
    static const char prefix[] = "node-role.kubernetes.io/";
    if (json_is_object(labels)) {
        json_object_foreach(labels, k, v) {
            const char *val = json_string_value(v) ?: "";
            if (!strncmp(k, prefix, sizeof(prefix) - 1) && k[sizeof(prefix) - 1])
                roles[n++] = k + sizeof(prefix) - 1;
            else if (!strcmp(k, "kubernetes.io/role") && *val)
                roles[n++] = val;
        }
    }
    qsort(roles, n, sizeof(*roles), printer_cmp_cstr);
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && !strcmp(roles[i], roles[i - 1]))
            continue;
        ck_buf_appendf(&b, "%s%s", out++ ? "," : "", roles[i]);
    }
    if (out == 0)
        ck_buf_appends(&b, "<none>");
    free(roles);
    return ck_buf_detach(&b, NULL);
}

static void node_cells(const json_t *node, int64_t now, json_t *row)
{
    char status[64] = "Unknown";
    json_t *conds = printer_jget(node, "status.conditions");
    for (size_t i = 0; i < printer_jsize(conds); i++) {
        json_t *c = json_array_get(conds, i);
        if (!strcmp(printer_jstr(c, "type"), "Ready"))
            snprintf(status, sizeof(status), "%s",
                     !strcmp(printer_jstr(c, "status"), "True") ? "Ready" : "NotReady");
    }
    if (jtrue(node, "spec.unschedulable"))
        strncat(status, ",SchedulingDisabled", sizeof(status) - strlen(status) - 1);
    printer_add_str(row, printer_jstr(node, "metadata.name"));
    printer_add_str(row, status);
    printer_add_owned(row, node_roles(node));
    printer_add_age(row, node, now);
    printer_add_str(row, printer_jstr(node, "status.nodeInfo.kubeletVersion"));
    printer_add_str(row, node_address(node, "InternalIP"));
    printer_add_str(row, node_address(node, "ExternalIP"));
    static const char *const info[] = {"status.nodeInfo.osImage", "status.nodeInfo.kernelVersion",
                                       "status.nodeInfo.containerRuntimeVersion"};
    for (size_t i = 0; i < 3; i++) {
        const char *s = printer_jstr(node, info[i]);
        printer_add_str(row, *s ? s : "<unknown>");
    }
}

/* ---- namespaces, configmaps, secrets, serviceaccounts, leases ------------------------- */

static const struct printer_col ns_cols[] = {
    PRINTER_COL_NAME,
    {"Status", "string", "", "The status of the namespace.", 0},
    PRINTER_COL_AGE,
};

static void ns_cells(const json_t *o, int64_t now, json_t *row)
{
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_str(row, printer_jstr(o, "status.phase"));
    printer_add_age(row, o, now);
}

static const struct printer_col cm_cols[] = {
    PRINTER_COL_NAME,
    {"Data", "string", "", "Number of data and binaryData keys.", 0},
    PRINTER_COL_AGE,
};

static void cm_cells(const json_t *o, int64_t now, json_t *row)
{
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_int(row, (long long)(printer_jsize(json_object_get(o, "data")) + printer_jsize(json_object_get(o, "binaryData"))));
    printer_add_age(row, o, now);
}

static const struct printer_col secret_cols[] = {
    PRINTER_COL_NAME,
    {"Type", "string", "", "Type of the secret.", 0},
    {"Data", "string", "", "Number of data keys.", 0},
    PRINTER_COL_AGE,
};

static void secret_cells(const json_t *o, int64_t now, json_t *row)
{
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_str(row, printer_jstr(o, "type"));
    printer_add_int(row, (long long)printer_jsize(json_object_get(o, "data")));
    printer_add_age(row, o, now);
}

static const struct printer_col sa_cols[] = {
    PRINTER_COL_NAME,
    {"Secrets", "string", "", "Number of secrets referenced by the service account.", 0},
    PRINTER_COL_AGE,
};

static void sa_cells(const json_t *o, int64_t now, json_t *row)
{
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_int(row, (long long)printer_jsize(json_object_get(o, "secrets")));
    printer_add_age(row, o, now);
}

static const struct printer_col lease_cols[] = {
    PRINTER_COL_NAME,
    {"Holder", "string", "", "Identity of the current holder of the lease.", 0},
    PRINTER_COL_AGE,
};

static void lease_cells(const json_t *o, int64_t now, json_t *row)
{
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_str(row, printer_jstr(o, "spec.holderIdentity"));
    printer_add_age(row, o, now);
}

/* ---- services, endpoints ------------------------------------------------------------- */

static const struct printer_col svc_cols[] = {
    PRINTER_COL_NAME,
    {"Type", "string", "", "How the service is exposed.", 0},
    {"Cluster-IP", "string", "", "Cluster IP of the service.", 0},
    {"External-IP", "string", "", "External or load-balancer addresses.", 0},
    {"Port(s)", "string", "", "Exposed ports (port[:nodePort]/protocol).", 0},
    PRINTER_COL_AGE,
    {"Selector", "string", "", "Labels of the pods the service routes to.", 1},
};

static char *svc_lb_ips(const json_t *svc)
{
    json_t *ing = printer_jget(svc, "status.loadBalancer.ingress");
    size_t n = 0;
    const char **v = ck_calloc(printer_jsize(ing) + 1, sizeof(*v));
    for (size_t i = 0; i < printer_jsize(ing); i++) {
        json_t *e = json_array_get(ing, i);
        const char *s = *printer_jstr(e, "ip") ? printer_jstr(e, "ip") : printer_jstr(e, "hostname");
        if (*s)
            v[n++] = s;
    }
    qsort(v, n, sizeof(*v), printer_cmp_cstr);
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    size_t out = 0;
    for (size_t i = 0; i < n; i++)
        if (!i || strcmp(v[i], v[i - 1]))
            ck_buf_appendf(&b, "%s%s", out++ ? "," : "", v[i]);
    free(v);
    return ck_buf_detach(&b, NULL);
}

static void join_strings(struct ck_buf *b, const json_t *arr, bool comma_first)
{
    for (size_t i = 0; i < printer_jsize(arr); i++)
        ck_buf_appendf(b, "%s%s", (i || comma_first) ? "," : "", json_string_value(json_array_get(arr, i)) ?: "");
}

static char *svc_external_ip(const json_t *svc)
{
    const char *type = printer_jstr(svc, "spec.type");
    json_t *ext = printer_jget(svc, "spec.externalIPs");
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    if (!strcmp(type, "ClusterIP") || !strcmp(type, "NodePort")) {
        if (printer_jsize(ext))
            join_strings(&b, ext, false);
        else
            ck_buf_appends(&b, "<none>");
    } else if (!strcmp(type, "LoadBalancer")) {
        char *lb = svc_lb_ips(svc);
        ck_buf_appends(&b, lb);
        if (printer_jsize(ext))
            join_strings(&b, ext, *lb != 0);
        else if (!*lb)
            ck_buf_appends(&b, "<pending>");
        free(lb);
    } else if (!strcmp(type, "ExternalName")) {
        ck_buf_appends(&b, printer_jstr(svc, "spec.externalName"));
    } else {
        ck_buf_appends(&b, "<unknown>");
    }
    return ck_buf_detach(&b, NULL);
}

static char *svc_ports(const json_t *svc)
{
    json_t *ports = printer_jget(svc, "spec.ports");
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    for (size_t i = 0; i < printer_jsize(ports); i++) {
        json_t *p = json_array_get(ports, i);
        long long np = printer_jint(p, "nodePort", 0);
        ck_buf_appendf(&b, "%s%lld", i ? "," : "", printer_jint(p, "port", 0));
        if (np > 0)
            ck_buf_appendf(&b, ":%lld", np);
        ck_buf_appendf(&b, "/%s", printer_jstr(p, "protocol"));
    }
    if (b.len == 0)
        ck_buf_appends(&b, "<none>");
    return ck_buf_detach(&b, NULL);
}

static void svc_cells(const json_t *svc, int64_t now, json_t *row)
{
    printer_add_str(row, printer_jstr(svc, "metadata.name"));
    printer_add_str(row, printer_jstr(svc, "spec.type"));
    json_t *ips = printer_jget(svc, "spec.clusterIPs");
    const char *ip = printer_jsize(ips) ? json_string_value(json_array_get(ips, 0)) : printer_jstr(svc, "spec.clusterIP");
    printer_add_str(row, ip && *ip ? ip : "<none>");
    printer_add_owned(row, svc_external_ip(svc));
    printer_add_owned(row, svc_ports(svc));
    printer_add_age(row, svc, now);
    printer_add_owned(row, printer_format_labels(printer_jget(svc, "spec.selector")));
}

static const struct printer_col ep_cols[] = {
    PRINTER_COL_NAME,
    {"Endpoints", "string", "", "Ready addresses and ports (first three).", 0},
    PRINTER_COL_AGE,
};

static void ep_add(struct ck_buf *b, size_t *listed, bool *more, const char *ip, long long port)
{
    if (*listed == 3) {
        *more = true;
        return;
    }
    bool v6 = strchr(ip, ':') != NULL;
    if (port < 0)
        ck_buf_appendf(b, "%s%s", *listed ? "," : "", ip);
    else
        ck_buf_appendf(b, "%s%s%s%s:%lld", *listed ? "," : "", v6 ? "[" : "", ip, v6 ? "]" : "", port);
    (*listed)++;
}

static char *format_endpoints(const json_t *ep)
{
    json_t *subsets = json_object_get(ep, "subsets");
    if (printer_jsize(subsets) == 0)
        return ck_strdup("<none>");
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    size_t listed = 0, count = 0;
    bool more = false;
    for (size_t i = 0; i < printer_jsize(subsets); i++) {
        json_t *ss = json_array_get(subsets, i);
        json_t *addrs = json_object_get(ss, "addresses"), *ports = json_object_get(ss, "ports");
        if (printer_jsize(ports) == 0) {
            count += printer_jsize(addrs);
            for (size_t a = 0; a < printer_jsize(addrs) && !more; a++)
                ep_add(&b, &listed, &more, printer_jstr(json_array_get(addrs, a), "ip"), -1);
            continue;
        }
        for (size_t p = 0; p < printer_jsize(ports); p++) {
            count += printer_jsize(addrs);
            long long port = printer_jint(json_array_get(ports, p), "port", 0);
            for (size_t a = 0; a < printer_jsize(addrs) && !more; a++)
                ep_add(&b, &listed, &more, printer_jstr(json_array_get(addrs, a), "ip"), port);
        }
    }
    if (more)
        ck_buf_appendf(&b, " + %zu more...", count - 3);
    return ck_buf_detach(&b, NULL);
}

static void ep_cells(const json_t *o, int64_t now, json_t *row)
{
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_owned(row, format_endpoints(o));
    printer_add_age(row, o, now);
}

/* ---- events (core/v1 and events.k8s.io/v1 share one printer upstream) ---------------- */

static const struct printer_col event_cols[] = {
    {"Last Seen", "string", "", "Time since the event was last observed.", 0},
    {"Type", "string", "", "Type of the event (Normal, Warning).", 0},
    {"Reason", "string", "", "Short machine-readable reason.", 0},
    {"Object", "string", "", "Object the event is about (kind/name).", 0},
    {"Subobject", "string", "", "Field path within the object.", 1},
    {"Source", "string", "", "Component (and host) that reported the event.", 1},
    {"Message", "string", "", "Human-readable description.", 0},
    {"First Seen", "string", "", "Time since the event was first observed.", 1},
    {"Count", "string", "", "Number of occurrences.", 1},
    {"Name", "string", "name", "Name of the event object.", 1},
};

/* Field names of one event flavour. */
struct event_fields {
    const char *first, *last, *count, *involved, *message, *component, *host;
};

static const struct event_fields core_event = {"firstTimestamp", "lastTimestamp", "count", "involvedObject",
                                               "message", "source.component", "source.host"};
static const struct event_fields new_event = {"deprecatedFirstTimestamp", "deprecatedLastTimestamp",
                                              "deprecatedCount", "regarding", "note",
                                              "deprecatedSource.component", "deprecatedSource.host"};

static char *trim_dup(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return ck_strndup(s, n);
}

static void event_cells_with(const json_t *ev, int64_t now, json_t *row, const struct event_fields *f)
{
    char first[16], last[16];
    const char *ft = printer_jstr(ev, f->first);
    printer_age(*ft ? ft : printer_jstr(ev, "eventTime"), now, first);
    const char *lt = printer_jstr(ev, f->last);
    if (*lt)
        printer_age(lt, now, last);
    else
        memcpy(last, first, sizeof(last));
    long long count = printer_jint(ev, f->count, 0);
    json_t *series = json_object_get(ev, "series");
    if (json_is_object(series)) {
        printer_age(printer_jstr(series, "lastObservedTime"), now, last);
        count = printer_jint(series, "count", 0);
    } else if (count == 0) {
        count = 1;
    }
    json_t *inv = json_object_get(ev, f->involved);
    char *kind = ck_strdup(printer_jstr(inv, "kind"));
    for (char *p = kind; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    const char *iname = printer_jstr(inv, "name");
    char *target = *iname ? ck_asprintf("%s/%s", kind, iname) : ck_strdup(kind);
    free(kind);
    const char *comp = printer_jstr(ev, f->component), *host = printer_jstr(ev, f->host);
    if (!*comp)
        comp = printer_jstr(ev, "reportingController");
    if (!*host)
        host = printer_jstr(ev, "reportingInstance");
    printer_add_str(row, last);
    printer_add_str(row, printer_jstr(ev, "type"));
    printer_add_str(row, printer_jstr(ev, "reason"));
    printer_add_owned(row, target);
    printer_add_str(row, printer_jstr(inv, "fieldPath"));
    printer_add_owned(row, *host ? ck_asprintf("%s, %s", comp, host) : ck_strdup(comp));
    printer_add_owned(row, trim_dup(printer_jstr(ev, f->message)));
    printer_add_str(row, first);
    printer_add_int(row, count);
    printer_add_str(row, printer_jstr(ev, "metadata.name"));
}

static void event_cells(const json_t *ev, int64_t now, json_t *row)
{
    event_cells_with(ev, now, row, &core_event);
}

static void new_event_cells(const json_t *ev, int64_t now, json_t *row)
{
    event_cells_with(ev, now, row, &new_event);
}

/* ---- resource quotas ----------------------------------------------------------------- */

static const struct printer_col rq_cols[] = {
    PRINTER_COL_NAME,
    {"Request", "string", "", "Used/hard of every quota except limits.*.", 0},
    {"Limit", "string", "", "Used/hard of limits.* quotas.", 0},
    PRINTER_COL_AGE,
};

static void rq_cells(const json_t *o, int64_t now, json_t *row)
{
    json_t *hard = printer_jget(o, "status.hard"), *used = printer_jget(o, "status.used");
    size_t n = printer_jsize(hard), i = 0;
    const char **keys = ck_calloc(n + 1, sizeof(*keys));
    const char *k;
    json_t *v;
    if (json_is_object(hard)) {
        json_object_foreach(hard, k, v) {
            (void)v;
            keys[i++] = k;
        }
    }
    qsort(keys, n, sizeof(*keys), printer_cmp_cstr);
    struct ck_buf req = CK_BUF_INIT(1 << 20), lim = CK_BUF_INIT(1 << 20);
    for (i = 0; i < n; i++) {
        struct ck_buf *b = !strncmp(keys[i], "limits.", 7) ? &lim : &req;
        const char *u = json_string_value(json_object_get(used, keys[i]));
        ck_buf_appendf(b, "%s%s: %s/%s", b->len ? ", " : "", keys[i], u ? u : "0",
                       json_string_value(json_object_get(hard, keys[i])) ?: "0");
    }
    free(keys);
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_owned(row, ck_buf_detach(&req, NULL));
    printer_add_owned(row, ck_buf_detach(&lim, NULL));
    printer_add_age(row, o, now);
}

/* ---- persistent volumes and claims ------------------------------------------------- */

static const struct printer_col pv_cols[] = {
    PRINTER_COL_NAME,
    {"Capacity", "string", "", "Storage capacity of the volume.", 0},
    {"Access Modes", "string", "", "Access modes (RWO, ROX, RWX, RWOP).", 0},
    {"Reclaim Policy", "string", "", "What happens to the volume when released.", 0},
    {"Status", "string", "", "Phase of the volume.", 0},
    {"Claim", "string", "", "Claim bound to the volume (namespace/name).", 0},
    {"StorageClass", "string", "", "StorageClass of the pv.", 0},
    {"VolumeAttributesClass", "string", "", "VolumeAttributesClass of the pv.", 0},
    {"Reason", "string", "", "Reason for the phase.", 0},
    PRINTER_COL_AGE,
    {"VolumeMode", "string", "", "Filesystem or Block.", 1},
};

static const struct printer_col pvc_cols[] = {
    PRINTER_COL_NAME,
    {"Status", "string", "", "Phase of the claim.", 0},
    {"Volume", "string", "", "Volume bound to the claim.", 0},
    {"Capacity", "string", "", "Capacity of the bound volume.", 0},
    {"Access Modes", "string", "", "Access modes of the bound volume.", 0},
    {"StorageClass", "string", "", "StorageClass of the pvc.", 0},
    {"VolumeAttributesClass", "string", "", "VolumeAttributesClass of the pvc.", 0},
    PRINTER_COL_AGE,
    {"VolumeMode", "string", "", "Filesystem or Block.", 1},
};

static bool has_mode(const json_t *modes, const char *m)
{
    for (size_t i = 0; i < printer_jsize(modes); i++)
        if (!strcmp(json_string_value(json_array_get(modes, i)) ?: "", m))
            return true;
    return false;
}

static char *access_modes(const json_t *modes)
{
    static const char *const full[] = {"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"};
    static const char *const abbr[] = {"RWO", "ROX", "RWX", "RWOP"};
    struct ck_buf b = CK_BUF_INIT(256);
    for (size_t i = 0; i < 4; i++)
        if (has_mode(modes, full[i]))
            ck_buf_appendf(&b, "%s%s", b.len ? "," : "", abbr[i]);
    return ck_buf_detach(&b, NULL);
}

static const char *storage_class(const json_t *o)
{
    json_t *ann = printer_jget(o, "metadata.annotations");
    const char *beta = json_string_value(json_object_get(ann, "volume.beta.kubernetes.io/storage-class"));
    if (beta)
        return beta;
    return printer_jstr(o, "spec.storageClassName");
}

static const char *unset_or(const json_t *o, const char *path)
{
    json_t *v = printer_jget(o, path);
    return json_is_string(v) ? json_string_value(v) : "<unset>";
}

static void pv_cells(const json_t *o, int64_t now, json_t *row)
{
    const char *cap = printer_jstr(o, "spec.capacity.storage");
    const char *phase = *printer_jstr(o, "metadata.deletionTimestamp") ? "Terminating" : printer_jstr(o, "status.phase");
    json_t *claim = printer_jget(o, "spec.claimRef");
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_str(row, *cap ? cap : "0");
    printer_add_owned(row, access_modes(printer_jget(o, "spec.accessModes")));
    printer_add_str(row, printer_jstr(o, "spec.persistentVolumeReclaimPolicy"));
    printer_add_str(row, phase);
    printer_add_owned(row, claim ? ck_asprintf("%s/%s", printer_jstr(claim, "namespace"), printer_jstr(claim, "name"))
                         : ck_strdup(""));
    printer_add_str(row, storage_class(o));
    printer_add_str(row, unset_or(o, "spec.volumeAttributesClassName"));
    printer_add_str(row, printer_jstr(o, "status.reason"));
    printer_add_age(row, o, now);
    printer_add_str(row, unset_or(o, "spec.volumeMode"));
}

static void pvc_cells(const json_t *o, int64_t now, json_t *row)
{
    const char *phase = *printer_jstr(o, "metadata.deletionTimestamp") ? "Terminating" : printer_jstr(o, "status.phase");
    const char *vol = printer_jstr(o, "spec.volumeName");
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_str(row, phase);
    printer_add_str(row, vol);
    if (*vol) {
        const char *cap = printer_jstr(o, "status.capacity.storage");
        printer_add_str(row, *cap ? cap : "0");
        printer_add_owned(row, access_modes(printer_jget(o, "status.accessModes")));
    } else {
        printer_add_str(row, "");
        printer_add_str(row, "");
    }
    printer_add_str(row, storage_class(o));
    printer_add_str(row, unset_or(o, "spec.volumeAttributesClassName"));
    printer_add_age(row, o, now);
    printer_add_str(row, unset_or(o, "spec.volumeMode"));
}

#define DEF(g, r, cols, fn) {g, r, cols, PRINTER_NCOLS(cols), fn}

const struct printer_def printer_defs_core[] = {
    DEF("", "pods", pod_cols, pod_cells),
    DEF("", "podtemplates", podtemplate_cols, podtemplate_cells),
    DEF("", "replicationcontrollers", rc_cols, rc_cells),
    DEF("", "nodes", node_cols, node_cells),
    DEF("", "namespaces", ns_cols, ns_cells),
    DEF("", "configmaps", cm_cols, cm_cells),
    DEF("", "secrets", secret_cols, secret_cells),
    DEF("", "serviceaccounts", sa_cols, sa_cells),
    DEF("", "services", svc_cols, svc_cells),
    DEF("", "endpoints", ep_cols, ep_cells),
    DEF("", "events", event_cols, event_cells),
    DEF("events.k8s.io", "events", event_cols, new_event_cells),
    DEF("", "resourcequotas", rq_cols, rq_cells),
    DEF("", "persistentvolumes", pv_cols, pv_cells),
    DEF("", "persistentvolumeclaims", pvc_cols, pvc_cells),
    DEF("coordination.k8s.io", "leases", lease_cols, lease_cells),
};
const size_t printer_defs_core_n = PRINTER_NCOLS(printer_defs_core);
