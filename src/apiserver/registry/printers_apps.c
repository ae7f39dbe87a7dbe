/* SPDX-License-Identifier: Apache-2.0 */
/* Printers for workloads (deployments, replicasets, daemonsets, statefulsets, jobs, cronjobs,
 * controllerrevisions) and the other non-core groups (endpointslices, poddisruptionbudgets,
 * ingresses, networkpolicies, role bindings, priority and storage classes, webhooks). */
#include "apiserver/registry/printers.h"

#include "lib/buf.h"
#include "lib/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COL_CONTAINERS {"Containers", "string", "", "Names of each container in the template.", 1}
#define COL_IMAGES {"Images", "string", "", "Images referenced by each container in the template.", 1}
#define COL_SELECTOR {"Selector", "string", "", "Label query over the pods it manages.", 1}

/* Containers and images of the pod template at path (a PodTemplateSpec). */
static void add_containers(json_t *row, const json_t *o, const char *tmpl_spec_path)
{
    char *names, *images;
    printer_containers(printer_jget(o, tmpl_spec_path), &names, &images);
    printer_add_owned(row, names);
    printer_add_owned(row, images);
}

/* metav1.FormatLabelSelector: "<none>" for an empty or absent selector. */
static void add_selector_or_none(json_t *row, const json_t *sel)
{
    char *s = printer_format_selector(sel);
    if (!*s) {
        free(s);
        s = ck_strdup("<none>");
    }
    printer_add_owned(row, s);
}

static const char *bool_str(const json_t *v)
{
    if (!json_is_boolean(v))
        return "<unset>";
    return json_is_true(v) ? "True" : "False";
}

/* IntOrString as String(): integer digits or the string itself; NULL when absent. */
static char *int_or_string(const json_t *v)
{
    if (json_is_integer(v))
        return ck_asprintf("%lld", (long long)json_integer_value(v));
    if (json_is_string(v))
        return ck_strdup(json_string_value(v));
    return NULL;
}

/* ---- deployments, replicasets, daemonsets, statefulsets ------------------------------- */

static const struct printer_col deploy_cols[] = {
    PRINTER_COL_NAME,
    {"Ready", "string", "", "Ready replicas out of desired replicas.", 0},
    {"Up-to-date", "string", "", "Replicas updated to the latest template.", 0},
    {"Available", "string", "", "Replicas available for at least minReadySeconds.", 0},
    PRINTER_COL_AGE, COL_CONTAINERS, COL_IMAGES, COL_SELECTOR,
};

static void deploy_cells(const json_t *o, int64_t now, json_t *row)
{
    char buf[64];
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    snprintf(buf, sizeof(buf), "%lld/%lld", printer_jint(o, "status.readyReplicas", 0),
             printer_jint(o, "spec.replicas", 1));
    printer_add_str(row, buf);
    printer_add_int(row, printer_jint(o, "status.updatedReplicas", 0));
    printer_add_int(row, printer_jint(o, "status.availableReplicas", 0));
    printer_add_age(row, o, now);
    add_containers(row, o, "spec.template.spec");
    printer_add_owned(row, printer_format_selector(printer_jget(o, "spec.selector")));
}

static const struct printer_col rs_cols[] = {
    PRINTER_COL_NAME,
    {"Desired", "integer", "", "Desired number of replicas.", 0},
    {"Current", "integer", "", "Most recently observed number of replicas.", 0},
    {"Ready", "integer", "", "Number of ready replicas.", 0},
    PRINTER_COL_AGE, COL_CONTAINERS, COL_IMAGES, COL_SELECTOR,
};

static void rs_cells(const json_t *o, int64_t now, json_t *row)
{
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_int(row, printer_jint(o, "spec.replicas", 1));
    printer_add_int(row, printer_jint(o, "status.replicas", 0));
    printer_add_int(row, printer_jint(o, "status.readyReplicas", 0));
    printer_add_age(row, o, now);
    add_containers(row, o, "spec.template.spec");
    add_selector_or_none(row, printer_jget(o, "spec.selector"));
}

static const struct printer_col ds_cols[] = {
    PRINTER_COL_NAME,
    {"Desired", "integer", "", "Nodes that should run the daemon pod.", 0},
    {"Current", "integer", "", "Nodes running at least one daemon pod.", 0},
    {"Ready", "integer", "", "Nodes with a ready daemon pod.", 0},
    {"Up-to-date", "integer", "", "Nodes running the updated daemon pod.", 0},
    {"Available", "integer", "", "Nodes with an available daemon pod.", 0},
    {"Node Selector", "string", "", "Node selector of the pod template.", 0},
    PRINTER_COL_AGE, COL_CONTAINERS, COL_IMAGES, COL_SELECTOR,
};

static void ds_cells(const json_t *o, int64_t now, json_t *row)
{
    static const char *const f[] = {"status.desiredNumberScheduled", "status.currentNumberScheduled",
                                    "status.numberReady", "status.updatedNumberScheduled",
                                    "status.numberAvailable"};
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    for (size_t i = 0; i < PRINTER_NCOLS(f); i++)
        printer_add_int(row, printer_jint(o, f[i], 0));
    printer_add_owned(row, printer_format_labels(printer_jget(o, "spec.template.spec.nodeSelector")));
    printer_add_age(row, o, now);
    add_containers(row, o, "spec.template.spec");
    add_selector_or_none(row, printer_jget(o, "spec.selector"));
}

static const struct printer_col sts_cols[] = {
    PRINTER_COL_NAME,
    {"Ready", "string", "", "Ready replicas out of desired replicas.", 0},
    PRINTER_COL_AGE, COL_CONTAINERS, COL_IMAGES,
};

static void sts_cells(const json_t *o, int64_t now, json_t *row)
{
    char buf[64];
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    snprintf(buf, sizeof(buf), "%lld/%lld", printer_jint(o, "status.readyReplicas", 0),
             printer_jint(o, "spec.replicas", 1));
    printer_add_str(row, buf);
    printer_add_age(row, o, now);
    add_containers(row, o, "spec.template.spec");
}

static const struct printer_col cr_cols[] = {
    PRINTER_COL_NAME,
    {"Controller", "string", "", "Controller of the revision (kind.group/name).", 0},
    {"Revision", "string", "", "Revision number.", 0},
    PRINTER_COL_AGE,
};

static void cr_cells(const json_t *o, int64_t now, json_t *row)
{
    json_t *refs = printer_jget(o, "metadata.ownerReferences");
    char *ctrl = NULL;
    for (size_t i = 0; i < printer_jsize(refs) && !ctrl; i++) {
        json_t *r = json_array_get(refs, i);
        if (!json_is_true(json_object_get(r, "controller")))
            continue;
        const char *av = printer_jstr(r, "apiVersion"), *slash = strchr(av, '/');
        const char *kind = printer_jstr(r, "kind");
        if (slash)
            ctrl = ck_asprintf("%s.%.*s/%s", kind, (int)(slash - av), av, printer_jstr(r, "name"));
        else if (*kind)
            ctrl = ck_asprintf("%s/%s", kind, printer_jstr(r, "name"));
        else
            ctrl = ck_strdup(printer_jstr(r, "name"));
        for (char *p = ctrl; *p && *p != '/'; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_owned(row, ctrl ? ctrl : ck_strdup("<none>"));
    printer_add_int(row, printer_jint(o, "revision", 0));
    printer_add_age(row, o, now);
}

/* ---- jobs, cronjobs ------------------------------------------------------------------ */

static const struct printer_col job_cols[] = {
    PRINTER_COL_NAME,
    {"Status", "string", "", "Status of the job.", 0},
    {"Completions", "string", "", "Succeeded pods out of desired completions.", 0},
    {"Duration", "string", "", "Time required to complete the job.", 0},
    PRINTER_COL_AGE, COL_CONTAINERS, COL_IMAGES, COL_SELECTOR,
};

static bool job_condition(const json_t *job, const char *type)
{
    json_t *conds = printer_jget(job, "status.conditions");
    for (size_t i = 0; i < printer_jsize(conds); i++) {
        json_t *c = json_array_get(conds, i);
        if (!strcmp(printer_jstr(c, "type"), type))
            return !strcmp(printer_jstr(c, "status"), "True");
    }
    return false;
}

static const char *job_status(const json_t *job)
{
    if (job_condition(job, "Complete"))
        return "Complete";
    if (job_condition(job, "Failed"))
        return "Failed";
    if (*printer_jstr(job, "metadata.deletionTimestamp"))
        return "Terminating";
    if (job_condition(job, "Suspended"))
        return "Suspended";
    if (job_condition(job, "FailureTarget"))
        return "FailureTarget";
    return "Running";
}

static void job_cells(const json_t *o, int64_t now, json_t *row)
{
    char comp[64], dur[16] = "";
    long long succeeded = printer_jint(o, "status.succeeded", 0);
    json_t *completions = printer_jget(o, "spec.completions");
    long long par = printer_jint(o, "spec.parallelism", 0);
    if (json_is_integer(completions))
        snprintf(comp, sizeof(comp), "%lld/%lld", succeeded, (long long)json_integer_value(completions));
    else if (par > 1)
        snprintf(comp, sizeof(comp), "%lld/1 of %lld", succeeded, par);
    else
        snprintf(comp, sizeof(comp), "%lld/1", succeeded);
    time_t start, end;
    if (ck_time_parse_rfc3339(printer_jstr(o, "status.startTime"), &start) == 0) {
        if (ck_time_parse_rfc3339(printer_jstr(o, "status.completionTime"), &end) == 0)
            ck_time_age((int64_t)(end - start), dur);
        else {
            printer_age_text(now, now - (int64_t)start, dur);
        }
    }
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_str(row, job_status(o));
    printer_add_str(row, comp);
    printer_add_str(row, dur);
    printer_add_age(row, o, now);
    add_containers(row, o, "spec.template.spec");
    add_selector_or_none(row, printer_jget(o, "spec.selector"));
}

static const struct printer_col cronjob_cols[] = {
    PRINTER_COL_NAME,
    {"Schedule", "string", "", "Cron schedule.", 0},
    {"Timezone", "string", "", "Time zone of the schedule.", 0},
    {"Suspend", "boolean", "", "Whether new runs are suspended.", 0},
    {"Active", "integer", "", "Number of running jobs.", 0},
    {"Last Schedule", "string", "", "Time since the job was last scheduled.", 0},
    PRINTER_COL_AGE, COL_CONTAINERS, COL_IMAGES, COL_SELECTOR,
};

static void cronjob_cells(const json_t *o, int64_t now, json_t *row)
{
    char last[16] = "<none>";
    const char *ls = printer_jstr(o, "status.lastScheduleTime");
    if (*ls)
        printer_age(ls, now, last);
    const char *tz = printer_jstr(o, "spec.timeZone");
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_str(row, printer_jstr(o, "spec.schedule"));
    printer_add_str(row, printer_jget(o, "spec.timeZone") ? tz : "<none>");
    printer_add_str(row, bool_str(printer_jget(o, "spec.suspend")));
    printer_add_int(row, (long long)printer_jsize(printer_jget(o, "status.active")));
    printer_add_str(row, last);
    printer_add_age(row, o, now);
    add_containers(row, o, "spec.jobTemplate.spec.template.spec");
    add_selector_or_none(row, printer_jget(o, "spec.jobTemplate.spec.selector"));
}

/* ---- endpointslices, pdbs ------------------------------------------------------------ */

static const struct printer_col eps_cols[] = {
    PRINTER_COL_NAME,
    {"AddressType", "string", "", "Type of the addresses (IPv4, IPv6, FQDN).", 0},
    {"Ports", "string", "", "Ports of the slice (first three).", 0},
    {"Endpoints", "string", "", "Endpoint addresses (first three).", 0},
    PRINTER_COL_AGE,
};

/* listWithMoreString: first three items, " + N more...", "<unset>" when empty. */
static void list_more(struct ck_buf *b, size_t count)
{
    if (count > 3)
        ck_buf_appendf(b, " + %zu more...", count - 3);
    else if (b->len == 0)
        ck_buf_appends(b, "<unset>");
}

static void eps_cells(const json_t *o, int64_t now, json_t *row)
{
    struct ck_buf pb = CK_BUF_INIT(1 << 20), eb = CK_BUF_INIT(1 << 20);
    json_t *ports = json_object_get(o, "ports"), *eps = json_object_get(o, "endpoints");
    size_t count = 0;
    for (size_t i = 0; i < printer_jsize(ports); i++, count++) {
        if (count >= 3)
            continue;
        json_t *p = json_array_get(ports, i);
        if (json_is_integer(json_object_get(p, "port")))
            ck_buf_appendf(&pb, "%s%lld", count ? "," : "", printer_jint(p, "port", 0));
        else if (json_is_string(json_object_get(p, "name")))
            ck_buf_appendf(&pb, "%s%s", count ? "," : "", printer_jstr(p, "name"));
        else
            ck_buf_appendf(&pb, "%s*", count ? "," : "");
    }
    list_more(&pb, count);
    count = 0;
    for (size_t i = 0; i < printer_jsize(eps); i++) {
        json_t *addrs = json_object_get(json_array_get(eps, i), "addresses");
        for (size_t a = 0; a < printer_jsize(addrs); a++, count++)
            if (count < 3)
                ck_buf_appendf(&eb, "%s%s", count ? "," : "", json_string_value(json_array_get(addrs, a)) ?: "");
    }
    list_more(&eb, count);
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_str(row, printer_jstr(o, "addressType"));
    printer_add_owned(row, ck_buf_detach(&pb, NULL));
    printer_add_owned(row, ck_buf_detach(&eb, NULL));
    printer_add_age(row, o, now);
}

static const struct printer_col pdb_cols[] = {
    PRINTER_COL_NAME,
    {"Min Available", "string", "", "The minimum number of pods that must be available.", 0},
    {"Max Unavailable", "string", "", "The maximum number of pods that may be unavailable.", 0},
    {"Allowed Disruptions", "integer", "", "Pods that may be disrupted right now.", 0},
    PRINTER_COL_AGE,
};

static void pdb_cells(const json_t *o, int64_t now, json_t *row)
{
    char *min = int_or_string(printer_jget(o, "spec.minAvailable"));
    char *max = int_or_string(printer_jget(o, "spec.maxUnavailable"));
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_owned(row, min ? min : ck_strdup("N/A"));
    printer_add_owned(row, max ? max : ck_strdup("N/A"));
    printer_add_int(row, printer_jint(o, "status.disruptionsAllowed", 0));
    printer_add_age(row, o, now);
}

/* ---- networking ---------------------------------------------------------------------- */

static const struct printer_col ing_cols[] = {
    PRINTER_COL_NAME,
    {"Class", "string", "", "IngressClass of the ingress.", 0},
    {"Hosts", "string", "", "Hosts the rules match.", 0},
    {"Address", "string", "", "Load-balancer addresses.", 0},
    {"Ports", "string", "", "Ports served (80, and 443 with TLS).", 0},
    PRINTER_COL_AGE,
};

static char *ing_address(const json_t *o)
{
    json_t *ing = printer_jget(o, "status.loadBalancer.ingress");
    const char **v = ck_calloc(printer_jsize(ing) + 1, sizeof(*v));
    size_t n = 0, out = 0;
    for (size_t i = 0; i < printer_jsize(ing); i++) {
        json_t *e = json_array_get(ing, i);
        const char *s = *printer_jstr(e, "ip") ? printer_jstr(e, "ip") : printer_jstr(e, "hostname");
        if (*s)
            v[n++] = s;
    }
    qsort(v, n, sizeof(*v), printer_cmp_cstr);
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    for (size_t i = 0; i < n; i++)
        if (!i || strcmp(v[i], v[i - 1]))
            ck_buf_appendf(&b, "%s%s", out++ ? "," : "", v[i]);
    free(v);
    return ck_buf_detach(&b, NULL);
}

static void ing_cells(const json_t *o, int64_t now, json_t *row)
{
    json_t *rules = printer_jget(o, "spec.rules");
    struct ck_buf hb = CK_BUF_INIT(1 << 20);
    size_t listed = 0;
    bool more = false;
    for (size_t i = 0; i < printer_jsize(rules); i++) {
        if (listed == 3)
            more = true;
        const char *h = printer_jstr(json_array_get(rules, i), "host");
        if (!more && *h)
            ck_buf_appendf(&hb, "%s%s", listed++ ? "," : "", h);
    }
    if (listed == 0)
        ck_buf_appends(&hb, "*");
    else if (more)
        ck_buf_appendf(&hb, " + %zu more...", printer_jsize(rules) - 3);
    const char *cls = printer_jstr(o, "spec.ingressClassName");
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_str(row, printer_jget(o, "spec.ingressClassName") ? cls : "<none>");
    printer_add_owned(row, ck_buf_detach(&hb, NULL));
    printer_add_owned(row, ing_address(o));
    printer_add_str(row, printer_jsize(printer_jget(o, "spec.tls")) ? "80, 443" : "80");
    printer_add_age(row, o, now);
}

static const struct printer_col ingclass_cols[] = {
    PRINTER_COL_NAME,
    {"Controller", "string", "", "Controller responsible for the class.", 0},
    {"Parameters", "string", "", "Reference to a resource with more parameters.", 0},
    PRINTER_COL_AGE,
};

static void ingclass_cells(const json_t *o, int64_t now, json_t *row)
{
    json_t *p = printer_jget(o, "spec.parameters");
    char *params;
    if (json_is_object(p)) {
        json_t *g = json_object_get(p, "apiGroup");
        params = json_is_string(g) ? ck_asprintf("%s.%s/%s", printer_jstr(p, "kind"), json_string_value(g),
                                                 printer_jstr(p, "name"))
                                   : ck_asprintf("%s/%s", printer_jstr(p, "kind"), printer_jstr(p, "name"));
    } else {
        params = ck_strdup("<none>");
    }
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_str(row, printer_jstr(o, "spec.controller"));
    printer_add_owned(row, params);
    printer_add_age(row, o, now);
}

static const struct printer_col netpol_cols[] = {
    PRINTER_COL_NAME,
    {"Pod-Selector", "string", "", "Pods the policy applies to.", 0},
    PRINTER_COL_AGE,
};

static void netpol_cells(const json_t *o, int64_t now, json_t *row)
{
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    add_selector_or_none(row, printer_jget(o, "spec.podSelector"));
    printer_add_age(row, o, now);
}

/* ---- rbac, scheduling, storage, admission -------------------------------------------- */

static const struct printer_col rb_cols[] = {
    PRINTER_COL_NAME,
    {"Role", "string", "", "Referenced role (kind/name).", 0},
    PRINTER_COL_AGE,
    {"Users", "string", "", "Users in the binding.", 1},
    {"Groups", "string", "", "Groups in the binding.", 1},
    {"ServiceAccounts", "string", "", "Service accounts in the binding (namespace:name).", 1},
};

static void rb_cells(const json_t *o, int64_t now, json_t *row)
{
    struct ck_buf b[3] = {CK_BUF_INIT(1 << 20), CK_BUF_INIT(1 << 20), CK_BUF_INIT(1 << 20)};
    json_t *subs = json_object_get(o, "subjects");
    for (size_t i = 0; i < printer_jsize(subs); i++) {
        json_t *s = json_array_get(subs, i);
        const char *kind = printer_jstr(s, "kind");
        int k = !strcmp(kind, "User") ? 0 : !strcmp(kind, "Group") ? 1 : !strcmp(kind, "ServiceAccount") ? 2 : -1;
        if (k < 0)
            continue;
        ck_buf_appends(&b[k], b[k].len ? ", " : "");
        if (k == 2)
            ck_buf_appendf(&b[k], "%s:%s", printer_jstr(s, "namespace"), printer_jstr(s, "name"));
        else
            ck_buf_appends(&b[k], printer_jstr(s, "name"));
    }
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_owned(row, ck_asprintf("%s/%s", printer_jstr(o, "roleRef.kind"), printer_jstr(o, "roleRef.name")));
    printer_add_age(row, o, now);
    for (int k = 0; k < 3; k++)
        printer_add_owned(row, ck_buf_detach(&b[k], NULL));
}

static const struct printer_col pc_cols[] = {
    PRINTER_COL_NAME,
    {"Value", "integer", "", "Priority value.", 0},
    {"Global-Default", "boolean", "", "Whether this is the default priority class.", 0},
    PRINTER_COL_AGE,
    {"PreemptionPolicy", "string", "", "Preemption policy of the class.", 1},
};

static void pc_cells(const json_t *o, int64_t now, json_t *row)
{
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_int(row, printer_jint(o, "value", 0));
    json_array_append_new(row, json_boolean(json_is_true(json_object_get(o, "globalDefault"))));
    printer_add_age(row, o, now);
    printer_add_str(row, printer_jstr(o, "preemptionPolicy"));
}

static const struct printer_col sc_cols[] = {
    PRINTER_COL_NAME,
    {"Provisioner", "string", "", "Volume plugin that provisions volumes.", 0},
    {"ReclaimPolicy", "string", "", "Reclaim policy of provisioned volumes.", 0},
    {"VolumeBindingMode", "string", "", "When volumes are bound.", 0},
    {"AllowVolumeExpansion", "string", "", "Whether volumes may be expanded.", 0},
    PRINTER_COL_AGE,
};

static void sc_cells(const json_t *o, int64_t now, json_t *row)
{
    json_t *ann = printer_jget(o, "metadata.annotations");
    const char *def = json_string_value(json_object_get(ann, "storageclass.kubernetes.io/is-default-class"));
    if (!def)
        def = json_string_value(json_object_get(ann, "storageclass.beta.kubernetes.io/is-default-class"));
    const char *name = printer_jstr(o, "metadata.name");
    const char *rp = printer_jstr(o, "reclaimPolicy"), *vbm = printer_jstr(o, "volumeBindingMode");
    printer_add_owned(row, def && !strcmp(def, "true") ? ck_asprintf("%s (default)", name) : ck_strdup(name));
    printer_add_str(row, printer_jstr(o, "provisioner"));
    printer_add_str(row, *rp ? rp : "Delete");
    printer_add_str(row, *vbm ? vbm : "Immediate");
    json_array_append_new(row, json_boolean(json_is_true(json_object_get(o, "allowVolumeExpansion"))));
    printer_add_age(row, o, now);
}

static const struct printer_col wh_cols[] = {
    PRINTER_COL_NAME,
    {"Webhooks", "integer", "", "Number of webhooks in the configuration.", 0},
    PRINTER_COL_AGE,
};

static void wh_cells(const json_t *o, int64_t now, json_t *row)
{
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_int(row, (long long)printer_jsize(json_object_get(o, "webhooks")));
    printer_add_age(row, o, now);
}

/* ---- horizontal pod autoscalers ----------------------------------------------------- */

static const struct printer_col hpa_cols[] = {
    PRINTER_COL_NAME,
    {"Reference", "string", "", "Target of the autoscaler (kind/name).", 0},
    {"Targets", "string", "", "Current and target metric values.", 0},
    {"MinPods", "string", "", "Lower replica limit.", 0},
    {"MaxPods", "string", "", "Upper replica limit.", 0},
    {"Replicas", "string", "", "Current number of replicas.", 0},
    PRINTER_COL_AGE,
};

/* One Resource / ContainerResource metric as "cpu: 10%/50%" or "memory: 1Gi/2Gi". */
static void hpa_resource(struct ck_buf *b, const json_t *spec_src, const json_t *cur_src)
{
    const char *name = printer_jstr(spec_src, "name");
    json_t *tgt = json_object_get(spec_src, "target");
    if (json_object_get(tgt, "averageValue")) {
        const char *cur = printer_jstr(cur_src, "current.averageValue");
        ck_buf_appendf(b, "%s: %s/%s", name, *cur ? cur : "<unknown>", printer_jstr(tgt, "averageValue"));
        return;
    }
    json_t *cu = printer_jget(cur_src, "current.averageUtilization");
    json_t *tu = json_object_get(tgt, "averageUtilization");
    char c[32] = "<unknown>", t[32] = "<auto>";
    if (json_is_integer(cu))
        snprintf(c, sizeof(c), "%lld%%", (long long)json_integer_value(cu));
    if (json_is_integer(tu))
        snprintf(t, sizeof(t), "%lld%%", (long long)json_integer_value(tu));
    ck_buf_appendf(b, "%s: %s/%s", name, c, t);
}

static char *hpa_targets(const json_t *o)
{
    json_t *specs = printer_jget(o, "spec.metrics"), *stats = printer_jget(o, "status.currentMetrics");
    struct ck_buf b = CK_BUF_INIT(4096);
    json_t *v1 = printer_jget(o, "spec.targetCPUUtilizationPercentage");
    if (json_is_integer(v1) && printer_jsize(specs) == 0) { /* autoscaling/v1 */
        json_t *cu = printer_jget(o, "status.currentCPUUtilizationPercentage");
        char c[32] = "<unknown>";
        if (json_is_integer(cu))
            snprintf(c, sizeof(c), "%lld%%", (long long)json_integer_value(cu));
        ck_buf_appendf(&b, "cpu: %s/%lld%%", c, (long long)json_integer_value(v1));
        return ck_buf_detach(&b, NULL);
    }
    size_t n = printer_jsize(specs);
    if (n == 0)
        return ck_strdup("<none>");
    for (size_t i = 0; i < n && i < 2; i++) {
        json_t *sp = json_array_get(specs, i), *st = json_array_get(stats, i);
        const char *type = printer_jstr(sp, "type");
        ck_buf_appends(&b, i ? ", " : "");
        if (!strcmp(type, "Resource"))
            hpa_resource(&b, json_object_get(sp, "resource"), json_object_get(st, "resource"));
        else if (!strcmp(type, "ContainerResource"))
            hpa_resource(&b, json_object_get(sp, "containerResource"), json_object_get(st, "containerResource"));
        else if (!strcmp(type, "Pods")) {
            const char *cur = printer_jstr(st, "pods.current.averageValue");
            ck_buf_appendf(&b, "%s/%s", *cur ? cur : "<unknown>", printer_jstr(sp, "pods.target.averageValue"));
        } else
            ck_buf_appends(&b, "<unknown type>");
    }
    if (n > 2)
        ck_buf_appendf(&b, " + %zu more...", n - 2);
    return ck_buf_detach(&b, NULL);
}

static void hpa_cells(const json_t *o, int64_t now, json_t *row)
{
    json_t *min = printer_jget(o, "spec.minReplicas");
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_owned(row, ck_asprintf("%s/%s", printer_jstr(o, "spec.scaleTargetRef.kind"),
                               printer_jstr(o, "spec.scaleTargetRef.name")));
    printer_add_owned(row, hpa_targets(o));
    printer_add_owned(row, json_is_integer(min) ? ck_asprintf("%lld", (long long)json_integer_value(min)) : ck_strdup("<unset>"));
    printer_add_int(row, printer_jint(o, "spec.maxReplicas", 0));
    printer_add_int(row, printer_jint(o, "status.currentReplicas", 0));
    printer_add_age(row, o, now);
}

#define DEF(g, r, cols, fn) {g, r, cols, PRINTER_NCOLS(cols), fn}

const struct printer_def printer_defs_apps[] = {
    DEF("apps", "deployments", deploy_cols, deploy_cells),
    DEF("apps", "replicasets", rs_cols, rs_cells),
    DEF("apps", "daemonsets", ds_cols, ds_cells),
    DEF("apps", "statefulsets", sts_cols, sts_cells),
    DEF("apps", "controllerrevisions", cr_cols, cr_cells),
    DEF("batch", "jobs", job_cols, job_cells),
    DEF("batch", "cronjobs", cronjob_cols, cronjob_cells),
    DEF("discovery.k8s.io", "endpointslices", eps_cols, eps_cells),
    DEF("policy", "poddisruptionbudgets", pdb_cols, pdb_cells),
    DEF("autoscaling", "horizontalpodautoscalers", hpa_cols, hpa_cells),
    DEF("networking.k8s.io", "ingresses", ing_cols, ing_cells),
    DEF("networking.k8s.io", "networkpolicies", netpol_cols, netpol_cells),
    DEF("networking.k8s.io", "ingressclasses", ingclass_cols, ingclass_cells),
    DEF("rbac.authorization.k8s.io", "rolebindings", rb_cols, rb_cells),
    DEF("rbac.authorization.k8s.io", "clusterrolebindings", rb_cols, rb_cells),
    DEF("scheduling.k8s.io", "priorityclasses", pc_cols, pc_cells),
    DEF("storage.k8s.io", "storageclasses", sc_cols, sc_cells),
    DEF("admissionregistration.k8s.io", "mutatingwebhookconfigurations", wh_cols, wh_cells),
    DEF("admissionregistration.k8s.io", "validatingwebhookconfigurations", wh_cols, wh_cells),
};
const size_t printer_defs_apps_n = PRINTER_NCOLS(printer_defs_apps);
