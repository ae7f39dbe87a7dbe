/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes defaulting, validation and server-side printing of built-in objects. The first input
 * byte picks the resource; the rest is a JSON object, optionally followed by "\n---\n" and
 * the "old" object of an update. The raw text also goes through the cron and quantity
 * parsers. Checks: no crash, no leak, defaulting idempotent, cells match the column count. */
#include "apiserver/registry/printers.h"
#include "apiserver/registry/validation.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *group, *resource, *kind;
} kinds[] = {
    {"", "pods", "Pod"}, {"apps", "deployments", "Deployment"}, {"", "services", "Service"},
    {"batch", "jobs", "Job"}, {"batch", "cronjobs", "CronJob"}, {"", "configmaps", "ConfigMap"},
    {"", "secrets", "Secret"}, {"apps", "statefulsets", "StatefulSet"}, {"apps", "daemonsets", "DaemonSet"},
    {"apps", "replicasets", "ReplicaSet"}, {"", "nodes", "Node"}, {"", "namespaces", "Namespace"},
    {"coordination.k8s.io", "leases", "Lease"}, {"", "events", "Event"}, {"", "endpoints", "Endpoints"},
    {"discovery.k8s.io", "endpointslices", "EndpointSlice"}, {"", "resourcequotas", "ResourceQuota"},
    {"", "limitranges", "LimitRange"}, {"policy", "poddisruptionbudgets", "PodDisruptionBudget"},
    {"example.com", "widgets", "Widget"},
};

static void run_one(size_t k, json_t *obj, json_t *old)
{
    struct ck_err err = CK_ERR_INIT;
    validation_default(kinds[k].group, kinds[k].resource, obj);
    json_t *again = json_deep_copy(obj);
    validation_default(kinds[k].group, kinds[k].resource, again);
    if (!json_equal(obj, again))
        abort(); /* defaulting must be idempotent */
    json_decref(again);
    if (old)
        validation_default(kinds[k].group, kinds[k].resource, old);
    (void)validation_validate(kinds[k].group, kinds[k].resource, kinds[k].kind, obj, old, &err);
    json_t *cells = printer_cells(kinds[k].group, kinds[k].resource, obj, 1767226200);
    size_t n;
    printer_columns(kinds[k].group, kinds[k].resource, &n);
    if (!cells || json_array_size(cells) != n)
        abort();
    json_decref(cells);
    json_decref(printer_row_conditions(kinds[k].group, kinds[k].resource, obj));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 16)
        return 0;
    size_t k = data[0] % (sizeof(kinds) / sizeof(kinds[0]));
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    char msg[256];
    (void)validation_cron_ok(text, msg, sizeof(msg));
    json_t *qs = json_string(text);
    if (qs) {
        char *c = validation_quantity_canonical(qs);
        free(c);
        json_decref(qs);
    }
    char *sep = strstr(text, "\n---\n");
    if (sep)
        *sep = 0;
    json_t *obj = json_loads(text, JSON_DECODE_ANY, NULL);
    json_t *old = sep ? json_loads(sep + 5, JSON_DECODE_ANY, NULL) : NULL;
    if (obj)
        run_one(k, obj, old);
    json_decref(obj);
    json_decref(old);
    free(text);
    return 0;
}
