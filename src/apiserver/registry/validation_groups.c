/* SPDX-License-Identifier: Apache-2.0 */
/* Defaults and validation of the newer groups, with upstream's messages for the rules users
 * hit: CertificateSigningRequests (pkg/apis/certificates/validation: request PEM, signerName,
 * usages, expirationSeconds, approval conditions), events created through events.k8s.io/v1
 * (pkg/apis/core/validation/events.go), RuntimeClasses (handler), CSIDrivers, webhook
 * configurations and flow control objects (required fields and enums); the defaults of
 * pkg/apis/<group>/v1/defaults.go. */
#include "apiserver/registry/printers.h"
#include "apiserver/registry/validation.h"
#include "lib/buf.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_is_object(o) ? json_object_get(o, k) : NULL);
}

static void dflt(json_t *o, const char *k, json_t *v)
{
    if (json_is_object(o) && !json_object_get(o, k))
        json_object_set_new(o, k, v);
    else
        json_decref(v);
}

static json_t *child(json_t *o, const char *k)
{
    json_t *c = json_object_get(o, k);
    if (!json_is_object(c)) {
        c = json_object();
        json_object_set_new(o, k, c);
    }
    return c;
}

/* ---- defaults ---------------------------------------------------------------------------- */

static void default_webhooks(json_t *o, bool mutating)
{
    json_t *whs = json_object_get(o, "webhooks"), *w;
    size_t i, j;
    json_array_foreach(whs, i, w)
    {
        if (!json_is_object(w))
            continue;
        dflt(w, "failurePolicy", json_string("Fail"));
        dflt(w, "matchPolicy", json_string("Equivalent"));
        dflt(w, "namespaceSelector", json_object());
        dflt(w, "objectSelector", json_object());
        dflt(w, "timeoutSeconds", json_integer(10));
        if (mutating)
            dflt(w, "reinvocationPolicy", json_string("Never"));
        json_t *svc = json_object_get(json_object_get(w, "clientConfig"), "service"), *rule;
        if (json_is_object(svc))
            dflt(svc, "port", json_integer(443));
        json_array_foreach(json_object_get(w, "rules"), j, rule) if (json_is_object(rule))
            dflt(rule, "scope", json_string("*"));
    }
}

static void default_mwc(json_t *o)
{
    default_webhooks(o, true);
}

static void default_vwc(json_t *o)
{
    default_webhooks(o, false);
}

static void default_match_resources(json_t *mr)
{
    if (!json_is_object(mr))
        return;
    dflt(mr, "namespaceSelector", json_object());
    dflt(mr, "objectSelector", json_object());
    dflt(mr, "matchPolicy", json_string("Equivalent"));
    const char *lists[2] = {"resourceRules", "excludeResourceRules"};
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *rule;
        json_array_foreach(json_object_get(mr, lists[l]), i, rule) if (json_is_object(rule))
            dflt(rule, "scope", json_string("*"));
    }
}

static void default_vap(json_t *o)
{
    json_t *spec = child(o, "spec");
    dflt(spec, "failurePolicy", json_string("Fail"));
    json_t *mc = json_object_get(spec, "matchConstraints");
    default_match_resources(mc);
}

static void default_vapb(json_t *o)
{
    default_match_resources(json_object_get(json_object_get(o, "spec"), "matchResources"));
}

static void default_csidriver(json_t *o)
{
    json_t *spec = child(o, "spec");
    dflt(spec, "attachRequired", json_true());
    dflt(spec, "podInfoOnMount", json_false());
    dflt(spec, "storageCapacity", json_false());
    dflt(spec, "fsGroupPolicy", json_string("ReadWriteOnceWithFSType"));
    dflt(spec, "volumeLifecycleModes", json_pack("[s]", "Persistent"));
    dflt(spec, "requiresRepublish", json_false());
    dflt(spec, "seLinuxMount", json_false());
}

static void default_flowschema(json_t *o)
{
    json_t *spec = child(o, "spec");
    dflt(spec, "matchingPrecedence", json_integer(1000));
}

static void default_plc(json_t *o)
{
    json_t *spec = json_object_get(o, "spec");
    json_t *lim = json_object_get(spec, "limited");
    if (json_is_object(lim)) {
        dflt(lim, "nominalConcurrencyShares", json_integer(30));
        dflt(lim, "lendablePercent", json_integer(0));
        json_t *lr = child(lim, "limitResponse");
        json_t *q = json_object_get(lr, "queuing");
        if (json_is_object(q)) {
            dflt(q, "queues", json_integer(64));
            dflt(q, "handSize", json_integer(8));
            dflt(q, "queueLengthLimit", json_integer(50));
        }
    }
    json_t *ex = json_object_get(spec, "exempt");
    if (json_is_object(ex)) {
        dflt(ex, "nominalConcurrencyShares", json_integer(0));
        dflt(ex, "lendablePercent", json_integer(0));
    }
}

void validation_default_groups(const char *group, const char *resource, json_t *obj)
{
    static const struct {
        const char *group, *resource;
        void (*fn)(json_t *o);
    } d[] = {
        {"admissionregistration.k8s.io", "mutatingwebhookconfigurations", default_mwc},
        {"admissionregistration.k8s.io", "validatingwebhookconfigurations", default_vwc},
        {"admissionregistration.k8s.io", "validatingadmissionpolicies", default_vap},
        {"admissionregistration.k8s.io", "validatingadmissionpolicybindings", default_vapb},
        {"storage.k8s.io", "csidrivers", default_csidriver},
        {"flowcontrol.apiserver.k8s.io", "flowschemas", default_flowschema},
        {"flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations", default_plc},
    };
    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
        if (!strcmp(d[i].group, group) && !strcmp(d[i].resource, resource))
            d[i].fn(obj);
}

/* ---- certificatesigningrequests --------------------------------------------------------- */

/* NULL when request (base64 of a PEM CSR) parses and its signature verifies, else why. */
static const char *csr_request_error(const char *b64)
{
    size_t n = strlen(b64);
    unsigned char *der = malloc(n / 4 * 3 + 4);
    if (!der)
        abort();
    int len = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)n);
    const char *why = NULL;
    if (len < 0 || !memmem(der, (size_t)len, "-----BEGIN CERTIFICATE REQUEST-----", 35)) {
        why = "PEM block type must be CERTIFICATE REQUEST";
    } else {
        BIO *bio = BIO_new_mem_buf(der, len);
        X509_REQ *req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
        if (!req) {
            why = "x509: malformed certificate request";
        } else {
            EVP_PKEY *k = X509_REQ_get0_pubkey(req);
            if (!k || X509_REQ_verify(req, k) != 1)
                why = "x509: signature verification failure";
            X509_REQ_free(req);
        }
        BIO_free(bio);
    }
    free(der);
    return why;
}

static bool has_cond(const json_t *conds, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(conds, i,
                       c) if (str(c, "type") && strcmp(str(c, "type"), type) == 0) return true;
    return false;
}

static void csr_conditions(struct vld *v, const json_t *obj, const json_t *old)
{
    const json_t *conds = printer_jget(obj, "status");
    conds = conds ? json_object_get(conds, "conditions") : NULL;
    bool approved = false, denied = false;
    size_t i, j;
    json_t *c;
    char f[96];
    json_array_foreach(conds, i, c)
    {
        const char *t = str(c, "type"), *s = str(c, "status");
        if (!t || !*t) {
            snprintf(f, sizeof(f), "status.conditions[%zu].type", i);
            vld_required(v, f, "");
            continue;
        }
        bool dup = false;
        for (j = 0; j < i; j++)
            dup |= str(json_array_get(conds, j), "type") &&
                   strcmp(str(json_array_get(conds, j), "type"), t) == 0;
        if (dup) {
            snprintf(f, sizeof(f), "status.conditions[%zu].type", i);
            vld_duplicate_str(v, f, t);
        }
        bool ad = strcmp(t, "Approved") == 0 || strcmp(t, "Denied") == 0;
        approved |= strcmp(t, "Approved") == 0;
        denied |= strcmp(t, "Denied") == 0;
        snprintf(f, sizeof(f), "status.conditions[%zu].status", i);
        if (!s || !*s) {
            vld_required(v, f, "");
        } else if (ad && strcmp(s, "True") != 0) {
            static const char *const only_true[] = {"True"};
            vld_not_supported(v, f, s, only_true, 1);
        } else if (strcmp(s, "True") && strcmp(s, "False") && strcmp(s, "Unknown")) {
            static const char *const tfu[] = {"False", "True", "Unknown"};
            vld_not_supported(v, f, s, tfu, 3);
        }
        if (approved && denied && ad) {
            snprintf(f, sizeof(f), "status.conditions[%zu].type", i);
            vld_invalid_str(v, f, t, "Approved and Denied conditions are mutually exclusive");
        }
    }
    const json_t *oc = printer_jget(old, "status");
    oc = oc ? json_object_get(oc, "conditions") : NULL;
    static const char *const sticky[] = {"Approved", "Denied", "Failed"};
    for (i = 0; old && i < 3; i++) {
        if (has_cond(oc, sticky[i]) && !has_cond(conds, sticky[i])) {
            char d[96];
            snprintf(d, sizeof(d), "updates may not remove a condition of type \"%s\"", sticky[i]);
            vld_forbidden(v, "status.conditions", d);
        }
    }
}

void vld_csr(struct vld *v, const json_t *obj, const json_t *old)
{
    const json_t *spec = json_object_get(obj, "spec");
    const char *req = str(spec, "request");
    if (!old) {
        const char *why =
            req && *req ? csr_request_error(req) : "PEM block type must be CERTIFICATE REQUEST";
        if (why)
            vld_invalid_repr(v, "spec.request", "[]byte{...}", why);
        if (!str(spec, "signerName") || !*str(spec, "signerName"))
            vld_required(v, "spec.signerName", "");
        const json_t *us = json_object_get(spec, "usages");
        if (json_array_size(us) == 0)
            vld_required(v, "spec.usages", "usages must be provided");
        const json_t *exp = json_object_get(spec, "expirationSeconds");
        if (json_is_integer(exp) && json_integer_value(exp) < 600)
            vld_invalid_int(v, "spec.expirationSeconds", (long long)json_integer_value(exp),
                            "may not specify a duration less than 600 seconds (10 minutes)");
    }
    csr_conditions(v, obj, old);
}

/* ---- events created through events.k8s.io/v1 (on the core/v1 form) ---------------------- */

void vld_event_v1(struct vld *v, const json_t *obj, const json_t *old)
{
    if (old)
        return;
    const char *ns = printer_jstr(obj, "metadata.namespace");
    const char *ions = printer_jstr(obj, "involvedObject.namespace");
    if (!*ions && strcmp(ns, "default") && strcmp(ns, "kube-system"))
        vld_invalid_str(v, "involvedObject.namespace", ions, "does not match event.namespace");
    static const struct {
        const char *field, *path;
        size_t max;
    } req[] = {{"reportingController", "reportingComponent", 0},
               {"reportingInstance", "reportingInstance", 128},
               {"action", "action", 128},
               {"reason", "reason", 128}};
    for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
        const char *s = printer_jstr(obj, req[i].path);
        if (!*s) {
            vld_required(v, req[i].field, "");
        } else if (req[i].max && strlen(s) > req[i].max) {
            char d[64];
            snprintf(d, sizeof(d), "can have at most %zu characters", req[i].max);
            vld_invalid_str(v, req[i].field, "", d);
        }
        if (i == 0 && *s)
            vld_qualified_name(v, "reportingController", s, s);
    }
    if (strlen(printer_jstr(obj, "message")) > 1024)
        vld_invalid_str(v, "message", "", "can have at most 1024 characters");
    json_t *et = json_object_get(obj, "eventTime");
    if (!json_is_string(et) || !*json_string_value(et))
        vld_required(v, "eventTime", "");
    const char *t = printer_jstr(obj, "type");
    if (strcmp(t, "Normal") && strcmp(t, "Warning")) {
        char d[160];
        snprintf(d, sizeof(d), "has invalid value: %s", t);
        vld_invalid_str(v, "type", "", d);
    }
    static const char *const unset[] = {"firstTimestamp", "lastTimestamp"};
    for (size_t i = 0; i < 2; i++)
        if (json_is_string(json_object_get(obj, unset[i])))
            vld_invalid_str(v, unset[i], "", "needs to be unset");
    if (json_integer_value(json_object_get(obj, "count")) != 0)
        vld_invalid_str(v, "count", "", "needs to be unset");
    const json_t *src = json_object_get(obj, "source");
    if (*printer_jstr(src, "component") || *printer_jstr(src, "host"))
        vld_invalid_str(v, "source", "", "needs to be unset");
}

int validation_event_v1_create(const json_t *core_event, struct ck_err *err)
{
    if (*printer_jstr(core_event, "metadata.name"))
        return validation_validate("events.k8s.io", "events", "Event", core_event, NULL, err);
    /* generateName: the name is made later; check with a stand-in of the final shape */
    json_t *c = json_deep_copy(core_event);
    json_t *md = json_object_get(c, "metadata");
    if (json_is_object(md)) {
        char *nm = ck_asprintf("%sxxxxx", printer_jstr(core_event, "metadata.generateName"));
        json_object_set_new(md, "name", json_string(nm));
        free(nm);
    }
    int rc = validation_validate("events.k8s.io", "events", "Event", c, NULL, err);
    json_decref(c);
    return rc;
}

/* ---- runtimeclasses, csidrivers, webhooks, flow control ---------------------------------- */

void vld_runtimeclass(struct vld *v, const json_t *obj, const json_t *old)
{
    const char *h = str(obj, "handler");
    if (!h || !*h)
        vld_required(v, "handler", "");
    else
        vld_dns1123_label(v, "handler", h);
    if (old && str(old, "handler") && h && strcmp(h, str(old, "handler")) != 0)
        vld_invalid_str(v, "handler", h, "field is immutable");
}

void vld_csidriver(struct vld *v, const json_t *obj, const json_t *old)
{
    (void)old;
    const json_t *modes = json_object_get(json_object_get(obj, "spec"), "volumeLifecycleModes");
    size_t i;
    json_t *m;
    json_array_foreach(modes, i, m)
    {
        const char *s = json_string_value(m) ? json_string_value(m) : "";
        if (strcmp(s, "Persistent") && strcmp(s, "Ephemeral")) {
            static const char *const ok[] = {"Ephemeral", "Persistent"};
            char f[64];
            snprintf(f, sizeof(f), "spec.volumeLifecycleModes[%zu]", i);
            vld_not_supported(v, f, s, ok, 2);
        }
    }
}

static void webhooks(struct vld *v, const json_t *obj)
{
    size_t i;
    json_t *w;
    char f[96];
    json_array_foreach(json_object_get(obj, "webhooks"), i, w)
    {
        const char *n = str(w, "name");
        snprintf(f, sizeof(f), "webhooks[%zu].name", i);
        if (!n || !*n)
            vld_required(v, f, "");
        const char *se = str(w, "sideEffects");
        snprintf(f, sizeof(f), "webhooks[%zu].sideEffects", i);
        static const char *const se_ok[] = {"None", "NoneOnDryRun"};
        if (!se || !*se)
            vld_required(v, f, "");
        else if (strcmp(se, "None") && strcmp(se, "NoneOnDryRun"))
            vld_not_supported(v, f, se, se_ok, 2);
        snprintf(f, sizeof(f), "webhooks[%zu].admissionReviewVersions", i);
        if (json_array_size(json_object_get(w, "admissionReviewVersions")) == 0)
            vld_required(v, f, "must specify one of v1, v1beta1");
        const json_t *cc = json_object_get(w, "clientConfig");
        bool url = str(cc, "url") != NULL, svc = json_is_object(json_object_get(cc, "service"));
        snprintf(f, sizeof(f), "webhooks[%zu].clientConfig", i);
        if (url == svc)
            vld_required(v, f, "exactly one of url or service is required");
    }
}

void vld_webhookconfig(struct vld *v, const json_t *obj, const json_t *old)
{
    (void)old;
    webhooks(v, obj);
}

void vld_flowschema(struct vld *v, const json_t *obj, const json_t *old)
{
    (void)old;
    if (!*printer_jstr(obj, "spec.priorityLevelConfiguration.name"))
        vld_required(v, "spec.priorityLevelConfiguration.name", "must reference a priority level");
    long long mp = printer_jint(obj, "spec.matchingPrecedence", 1000);
    if (mp <= 0 || mp > 10000)
        vld_invalid_int(v, "spec.matchingPrecedence", mp, "must be between 1 and 10000, inclusive");
}

void vld_prioritylevel(struct vld *v, const json_t *obj, const json_t *old)
{
    (void)old;
    const char *t = printer_jstr(obj, "spec.type");
    static const char *const types[] = {"Exempt", "Limited"};
    if (!*t)
        vld_required(v, "spec.type", "must not be empty");
    else if (strcmp(t, "Exempt") && strcmp(t, "Limited"))
        vld_not_supported(v, "spec.type", t, types, 2);
    else if (strcmp(t, "Limited") == 0 && !printer_jget(obj, "spec.limited"))
        vld_required(v, "spec.limited", "must not be empty when type is Limited");
}
