/* SPDX-License-Identifier: Apache-2.0 */
/* Table printers of the newer groups, as upstream's pkg/printers/internalversion/printers.go:
 * certificatesigningrequests, runtimeclasses, csidrivers, csinodes, volumeattachments,
 * csistoragecapacities, flowschemas, prioritylevelconfigurations, validatingadmissionpolicies
 * and their bindings, componentstatuses. */
#include "apiserver/registry/printers.h"
#include "lib/buf.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static void add_bool(json_t *row, const json_t *v, bool dflt)
{
    json_array_append_new(row, json_boolean(json_is_boolean(v) ? json_is_true(v) : dflt));
}

/* Strings of an array joined with ",", or none when empty; new string. */
static char *join(const json_t *arr, const char *key, const char *none)
{
    struct ck_buf b = CK_BUF_INIT(1 << 16);
    ck_buf_appends(&b, "");
    for (size_t i = 0; json_is_array(arr) && i < json_array_size(arr); i++) {
        const json_t *e = json_array_get(arr, i);
        const char *s = key ? printer_jstr(e, key) : json_string_value(e);
        ck_buf_appendf(&b, "%s%s", b.len ? "," : "", s ? s : "");
    }
    if (b.len == 0)
        ck_buf_appends(&b, none);
    return ck_buf_detach(&b, NULL);
}

/* ---- certificates.k8s.io ---- */

static const struct printer_col csr_cols[] = {
    PRINTER_COL_NAME,
    PRINTER_COL_AGE,
    {"SignerName", "string", "", "Signer requested for the certificate.", 0},
    {"Requestor", "string", "", "Name of the user that created the request.", 0},
    {"RequestedDuration", "string", "", "Requested validity of the certificate.", 0},
    {"Condition", "string", "", "Approval and issuance state of the request.", 0},
};

static void csr_cells(const json_t *o, int64_t now, json_t *row)
{
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_age(row, o, now);
    printer_add_str(row, printer_jstr(o, "spec.signerName"));
    printer_add_str(row, printer_jstr(o, "spec.username"));
    const json_t *exp = printer_jget(o, "spec");
    exp = exp ? json_object_get(exp, "expirationSeconds") : NULL;
    if (json_is_integer(exp)) {
        char d[16];
        ck_time_age((int64_t)json_integer_value(exp), d);
        printer_add_str(row, d);
    } else {
        printer_add_str(row, "<none>");
    }
    bool approved = false, denied = false, failed = false;
    const json_t *conds = printer_jget(o, "status");
    conds = conds ? json_object_get(conds, "conditions") : NULL;
    for (size_t i = 0; json_is_array(conds) && i < json_array_size(conds); i++) {
        const char *t = printer_jstr(json_array_get(conds, i), "type");
        approved |= strcmp(t, "Approved") == 0;
        denied |= strcmp(t, "Denied") == 0;
        failed |= strcmp(t, "Failed") == 0;
    }
    char st[64];
    snprintf(st, sizeof(st), "%s%s%s",
             denied     ? "Denied"
             : approved ? "Approved"
                        : "Pending",
             failed ? ",Failed" : "", *printer_jstr(o, "status.certificate") ? ",Issued" : "");
    printer_add_str(row, st);
}

/* ---- node.k8s.io ---- */

static const struct printer_col rc_cols[] = {
    PRINTER_COL_NAME,
    {"Handler", "string", "", "CRI handler of the runtime class.", 0},
    PRINTER_COL_AGE,
};

static void rc_cells(const json_t *o, int64_t now, json_t *row)
{
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_str(row, printer_jstr(o, "handler"));
    printer_add_age(row, o, now);
}

/* ---- storage.k8s.io ---- */

static const struct printer_col csidriver_cols[] = {
    PRINTER_COL_NAME,
    {"AttachRequired", "boolean", "", "Whether the driver needs an attach operation.", 0},
    {"PodInfoOnMount", "boolean", "", "Whether pod information is passed on mount.", 0},
    {"StorageCapacity", "boolean", "", "Whether the driver reports storage capacity.", 0},
    {"TokenRequests", "string", "", "Audiences of the tokens passed on mount.", 0},
    {"RequiresRepublish", "boolean", "", "Whether NodePublishVolume is called periodically.", 0},
    {"Modes", "string", "", "Volume lifecycle modes supported.", 0},
    PRINTER_COL_AGE,
};

static void csidriver_cells(const json_t *o, int64_t now, json_t *row)
{
    const json_t *spec = printer_jget(o, "spec");
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    add_bool(row, spec ? json_object_get(spec, "attachRequired") : NULL, true);
    add_bool(row, spec ? json_object_get(spec, "podInfoOnMount") : NULL, false);
    add_bool(row, spec ? json_object_get(spec, "storageCapacity") : NULL, false);
    printer_add_owned(
        row, join(spec ? json_object_get(spec, "tokenRequests") : NULL, "audience", "<unset>"));
    add_bool(row, spec ? json_object_get(spec, "requiresRepublish") : NULL, false);
    printer_add_owned(
        row, join(spec ? json_object_get(spec, "volumeLifecycleModes") : NULL, NULL, "<none>"));
    printer_add_age(row, o, now);
}

static const struct printer_col csinode_cols[] = {
    PRINTER_COL_NAME,
    {"Drivers", "integer", "", "Drivers indicates the number of CSI drivers registered on the node",
     0},
    PRINTER_COL_AGE,
};

static void csinode_cells(const json_t *o, int64_t now, json_t *row)
{
    const json_t *spec = printer_jget(o, "spec");
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_int(row, (long long)printer_jsize(spec ? json_object_get(spec, "drivers") : NULL));
    printer_add_age(row, o, now);
}

static const struct printer_col va_cols[] = {
    PRINTER_COL_NAME,
    {"Attacher", "string", "", "Driver that attaches the volume.", 0},
    {"PV", "string", "", "Persistent volume attached.", 0},
    {"Node", "string", "", "Node the volume is attached to.", 0},
    {"Attached", "boolean", "", "Whether the volume is attached.", 0},
    PRINTER_COL_AGE,
};

static void va_cells(const json_t *o, int64_t now, json_t *row)
{
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_str(row, printer_jstr(o, "spec.attacher"));
    printer_add_str(row, printer_jstr(o, "spec.source.persistentVolumeName"));
    printer_add_str(row, printer_jstr(o, "spec.nodeName"));
    const json_t *st = printer_jget(o, "status");
    add_bool(row, st ? json_object_get(st, "attached") : NULL, false);
    printer_add_age(row, o, now);
}

static const struct printer_col csc_cols[] = {
    PRINTER_COL_NAME,
    {"StorageClassName", "string", "", "Storage class the capacity applies to.", 0},
    {"Capacity", "string", "", "Available capacity.", 0},
};

static void csc_cells(const json_t *o, int64_t now, json_t *row)
{
    (void)now;
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_str(row, printer_jstr(o, "storageClassName"));
    const json_t *c = json_object_get(o, "capacity");
    if (json_is_string(c))
        printer_add_str(row, json_string_value(c));
    else if (json_is_integer(c))
        printer_add_owned(row, ck_asprintf("%lld", (long long)json_integer_value(c)));
    else
        printer_add_str(row, "<unset>");
}

/* ---- flowcontrol.apiserver.k8s.io ---- */

static const struct printer_col fs_cols[] = {
    PRINTER_COL_NAME,
    {"PriorityLevel", "string", "", "Priority level of the matching requests.", 0},
    {"MatchingPrecedence", "string", "", "Lower values match first.", 0},
    {"DistinguisherMethod", "string", "", "How flows are distinguished.", 0},
    PRINTER_COL_AGE,
    {"MissingPL", "string", "", "references a broken or non-existent PriorityLevelConfiguration",
     0},
};

static void fs_cells(const json_t *o, int64_t now, json_t *row)
{
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_str(row, printer_jstr(o, "spec.priorityLevelConfiguration.name"));
    printer_add_int(row, printer_jint(o, "spec.matchingPrecedence", 0));
    const char *dm = printer_jstr(o, "spec.distinguisherMethod.type");
    printer_add_str(row, printer_jget(o, "spec.distinguisherMethod") ? dm : "*");
    printer_add_age(row, o, now);
    const char *missing = "?";
    const json_t *st = printer_jget(o, "status");
    const json_t *conds = st ? json_object_get(st, "conditions") : NULL;
    for (size_t i = 0; json_is_array(conds) && i < json_array_size(conds); i++) {
        const json_t *c = json_array_get(conds, i);
        if (strcmp(printer_jstr(c, "type"), "Dangling") == 0) {
            missing = printer_jstr(c, "status");
            break;
        }
    }
    printer_add_str(row, missing);
}

static const struct printer_col plc_cols[] = {
    PRINTER_COL_NAME,
    {"Type", "string", "", "Limited or Exempt.", 0},
    {"NominalConcurrencyShares", "string", "", "Share of the server's concurrency.", 0},
    {"Queues", "string", "", "Number of queues.", 0},
    {"HandSize", "string", "", "Shuffle-sharding hand size.", 0},
    {"QueueLengthLimit", "string", "", "Maximum requests waiting in a queue.", 0},
    PRINTER_COL_AGE,
};

static void plc_cells(const json_t *o, int64_t now, json_t *row)
{
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_str(row, printer_jstr(o, "spec.type"));
    const json_t *lim = printer_jget(o, "spec.limited");
    if (lim)
        printer_add_int(row, printer_jint(lim, "nominalConcurrencyShares", 0));
    else
        printer_add_str(row, "<none>");
    const json_t *q = lim ? printer_jget(lim, "limitResponse.queuing") : NULL;
    if (q) {
        printer_add_int(row, printer_jint(q, "queues", 0));
        printer_add_int(row, printer_jint(q, "handSize", 0));
        printer_add_int(row, printer_jint(q, "queueLengthLimit", 0));
    } else {
        for (int i = 0; i < 3; i++)
            printer_add_str(row, "<none>");
    }
    printer_add_age(row, o, now);
}

/* ---- admissionregistration.k8s.io policies ---- */

static const struct printer_col vap_cols[] = {
    PRINTER_COL_NAME,
    {"Validations", "integer", "", "Number of validations of the policy.", 0},
    {"ParamKind", "string", "", "Kind of the parameter resource.", 0},
    PRINTER_COL_AGE,
};

static void vap_cells(const json_t *o, int64_t now, json_t *row)
{
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    const json_t *spec = printer_jget(o, "spec");
    printer_add_int(row,
                    (long long)printer_jsize(spec ? json_object_get(spec, "validations") : NULL));
    if (printer_jget(o, "spec.paramKind"))
        printer_add_owned(row, ck_asprintf("%s/%s", printer_jstr(o, "spec.paramKind.apiVersion"),
                                           printer_jstr(o, "spec.paramKind.kind")));
    else
        printer_add_str(row, "<unset>");
    printer_add_age(row, o, now);
}

static const struct printer_col vapb_cols[] = {
    PRINTER_COL_NAME,
    {"PolicyName", "string", "", "Name of the bound policy.", 0},
    {"ParamRef", "string", "", "Parameter resource of the binding.", 0},
    PRINTER_COL_AGE,
};

static void vapb_cells(const json_t *o, int64_t now, json_t *row)
{
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_str(row, printer_jstr(o, "spec.policyName"));
    const json_t *pr = printer_jget(o, "spec.paramRef");
    if (!pr) {
        printer_add_str(row, "<unset>");
    } else if (*printer_jstr(pr, "name")) {
        const char *ns = printer_jstr(pr, "namespace");
        printer_add_owned(row, ck_asprintf("%s/%s", *ns ? ns : "*", printer_jstr(pr, "name")));
    } else if (json_object_get(pr, "selector")) {
        printer_add_owned(row, printer_format_selector(json_object_get(pr, "selector")));
    } else {
        printer_add_str(row, "<unset>");
    }
    printer_add_age(row, o, now);
}

/* ---- core/v1 componentstatuses ---- */

static const struct printer_col cs_cols[] = {
    PRINTER_COL_NAME,
    {"Status", "string", "", "Status of the component conditions", 0},
    {"Message", "string", "", "Message of the component conditions", 0},
    {"Error", "string", "", "Error of the component conditions", 0},
};

static void cs_cells(const json_t *o, int64_t now, json_t *row)
{
    (void)now;
    const char *status = "Unknown", *msg = "", *err = "";
    const json_t *conds = json_object_get(o, "conditions");
    for (size_t i = 0; json_is_array(conds) && i < json_array_size(conds); i++) {
        const json_t *c = json_array_get(conds, i);
        if (strcmp(printer_jstr(c, "type"), "Healthy") == 0) {
            status = strcmp(printer_jstr(c, "status"), "True") == 0 ? "Healthy" : "Unhealthy";
            msg = printer_jstr(c, "message");
            err = printer_jstr(c, "error");
            break;
        }
    }
    printer_add_str(row, printer_jstr(o, "metadata.name"));
    printer_add_str(row, status);
    printer_add_str(row, msg);
    printer_add_str(row, err);
}

#define DEF(g, r, cols, fn)                                                                        \
    {                                                                                              \
        g, r, cols, PRINTER_NCOLS(cols), fn                                                        \
    }

const struct printer_def printer_defs_groups[] = {
    DEF("certificates.k8s.io", "certificatesigningrequests", csr_cols, csr_cells),
    DEF("node.k8s.io", "runtimeclasses", rc_cols, rc_cells),
    DEF("storage.k8s.io", "csidrivers", csidriver_cols, csidriver_cells),
    DEF("storage.k8s.io", "csinodes", csinode_cols, csinode_cells),
    DEF("storage.k8s.io", "volumeattachments", va_cols, va_cells),
    DEF("storage.k8s.io", "csistoragecapacities", csc_cols, csc_cells),
    DEF("flowcontrol.apiserver.k8s.io", "flowschemas", fs_cols, fs_cells),
    DEF("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations", plc_cols, plc_cells),
    DEF("admissionregistration.k8s.io", "validatingadmissionpolicies", vap_cols, vap_cells),
    DEF("admissionregistration.k8s.io", "validatingadmissionpolicybindings", vapb_cols, vapb_cells),
    DEF("", "componentstatuses", cs_cols, cs_cells),
};

const size_t printer_defs_groups_n = PRINTER_NCOLS(printer_defs_groups);
