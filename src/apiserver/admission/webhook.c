/* SPDX-License-Identifier: Apache-2.0 */
/* MutatingAdmissionWebhook and ValidatingAdmissionWebhook (upstream's
 * k8s.io/apiserver/pkg/admission/plugin/webhook): the configurations are read from the cache
 * (sorted by name, webhooks in their order); a webhook is called when a rule matches the
 * request (operations, apiGroups, apiVersions, resources with subresources, scope) and its
 * namespaceSelector and objectSelector match. The call is an AdmissionReview v1 POST over
 * HTTPS (libcurl; caBundle as the trust roots; `url`, or a service reference reached through
 * the service's endpoints while TLS checks the name <svc>.<ns>.svc), bounded by
 * timeoutSeconds (default 10). A refusal answers upstream's `admission webhook "<name>" denied
 * the request: <message>`; a failed call refuses the request (failurePolicy Fail, the
 * default) or is skipped (Ignore). A mutating webhook's JSONPatch is applied to the object.
 * Reinvocation is not done. Calls block the engine's worker thread, as upstream's do. */
#include "apiserver/admission/admission.h"

#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/jsonpatch.h"
#include "lib/log.h"
#include "lib/selector.h"

#include <curl/curl.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static const char *const op_names[] = {"CREATE", "UPDATE", "DELETE", "CONNECT"};

/* ---- matching --------------------------------------------------------------------------- */

static bool str_in(json_t *arr, const char *s)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *v = json_string_value(json_array_get(arr, i));
        if (v && (strcmp(v, "*") == 0 || strcmp(v, s) == 0))
            return true;
    }
    return false;
}

/* "pods", "pods/status", "*", "* /status", "pods/ *" against resource and subresource. */
static bool resource_in(json_t *arr, const char *res, const char *sub)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *v = json_string_value(json_array_get(arr, i));
        if (!v)
            continue;
        if (strcmp(v, "*/*") == 0)
            return true;
        const char *slash = strchr(v, '/');
        size_t rl = slash ? (size_t)(slash - v) : strlen(v);
        bool rok = (rl == 1 && v[0] == '*') || (rl == strlen(res) && strncmp(v, res, rl) == 0);
        if (!rok)
            continue;
        if (!slash) {
            if (!*sub)
                return true;
            continue;
        }
        if (strcmp(slash + 1, "*") == 0 || strcmp(slash + 1, sub) == 0)
            return true;
    }
    return false;
}

static bool rule_matches(json_t *rule, const struct adm_attrs *a, bool equivalent)
{
    if (!str_in(json_object_get(rule, "operations"), op_names[a->op]))
        return false;
    if (!str_in(json_object_get(rule, "apiGroups"), a->res->group))
        return false;
    /* Equivalent (the default): another version of the same resource matches too; ckube
     * serves one storage version per resource, so the group and resource decide */
    if (!equivalent && !str_in(json_object_get(rule, "apiVersions"), a->res->version))
        return false;
    if (!resource_in(json_object_get(rule, "resources"), a->res->plural, a->sub ? a->sub : ""))
        return false;
    const char *scope = json_string_value(json_object_get(rule, "scope"));
    if (scope && strcmp(scope, "*") != 0) {
        bool nsd = (a->res->flags & REG_NAMESPACED) != 0;
        if (strcmp(scope, "Namespaced") == 0 && !nsd)
            return false;
        if (strcmp(scope, "Cluster") == 0 && nsd)
            return false;
    }
    return true;
}

static bool selector_matches(json_t *sel_json, json_t *labels)
{
    if (!sel_json || json_is_null(sel_json))
        return true;
    struct sel *s = NULL;
    struct ck_err e = CK_ERR_INIT;
    if (sel_from_label_selector(sel_json, &s, &e) < 0)
        return false;
    bool m = sel_matches(s, sel_lookup_json, labels);
    sel_free(s);
    return m;
}

static json_t *labels_of(json_t *obj)
{
    return json_object_get(json_object_get(obj, "metadata"), "labels");
}

static bool webhook_matches(struct adm_attrs *a, json_t *wh)
{
    json_t *rules = json_object_get(wh, "rules");
    const char *mp = json_string_value(json_object_get(wh, "matchPolicy"));
    bool equivalent = !mp || strcmp(mp, "Exact") != 0;
    bool any = false;
    for (size_t i = 0; i < json_array_size(rules) && !any; i++)
        any = rule_matches(json_array_get(rules, i), a, equivalent);
    if (!any)
        return false;
    /* objectSelector: the new or the old object's labels */
    json_t *os = json_object_get(wh, "objectSelector");
    if (os && !json_is_null(os)) {
        bool m = (a->obj && selector_matches(os, labels_of(a->obj))) ||
                 (a->old && selector_matches(os, labels_of(a->old)));
        if (!m)
            return false;
    }
    json_t *nsel = json_object_get(wh, "namespaceSelector");
    if (!nsel || json_is_null(nsel))
        return true;
    if (!a->res->group[0] && strcmp(a->res->plural, "namespaces") == 0)
        return selector_matches(nsel, labels_of(a->obj ? a->obj : a->old));
    if (!(a->res->flags & REG_NAMESPACED) || !a->ns || !*a->ns)
        return true;
    json_t *ns = adm_get(a, "", "v1", "namespaces", NULL, a->ns);
    bool m = selector_matches(nsel, labels_of(ns));
    json_decref(ns);
    return m;
}

/* ---- the call --------------------------------------------------------------------------- */

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    struct ck_buf *b = arg;
    return ck_buf_append(b, p, sz * n) < 0 ? 0 : sz * n;
}

static void new_uid(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        memset(b, 0x5a, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static json_t *review_request(struct adm_attrs *a, const char *uid)
{
    json_t *rq = json_object();
    json_object_set_new(rq, "uid", json_string(uid));
    json_t *k = json_pack("{s:s,s:s,s:s}", "group", a->res->group, "version", a->res->version,
                          "kind", a->res->kind);
    json_t *r = json_pack("{s:s,s:s,s:s}", "group", a->res->group, "version", a->res->version,
                          "resource", a->res->plural);
    json_object_set(rq, "kind", k);
    json_object_set(rq, "resource", r);
    json_object_set_new(rq, "requestKind", k);
    json_object_set_new(rq, "requestResource", r);
    if (a->sub && *a->sub) {
        json_object_set_new(rq, "subResource", json_string(a->sub));
        json_object_set_new(rq, "requestSubResource", json_string(a->sub));
    }
    if (a->name && *a->name)
        json_object_set_new(rq, "name", json_string(a->name));
    if (a->ns && *a->ns)
        json_object_set_new(rq, "namespace", json_string(a->ns));
    json_object_set_new(rq, "operation", json_string(op_names[a->op]));
    json_t *ui = json_pack("{s:s}", "username", a->user ? a->user : "");
    if (a->uid && *a->uid)
        json_object_set_new(ui, "uid", json_string(a->uid));
    if (a->groups) {
        json_t *g = json_array();
        for (size_t i = 0; a->groups[i]; i++)
            json_array_append_new(g, json_string(a->groups[i]));
        json_object_set_new(ui, "groups", g);
    }
    json_object_set_new(rq, "userInfo", ui);
    json_object_set(rq, "object", a->obj ? a->obj : json_null());
    json_object_set(rq, "oldObject", a->old ? a->old : json_null());
    json_object_set_new(rq, "dryRun", json_boolean(a->dry));
    static const char *const opts[] = {"CreateOptions", "UpdateOptions", "DeleteOptions", ""};
    if (a->op != ADM_CONNECT)
        json_object_set_new(
            rq, "options",
            json_pack("{s:s,s:s}", "kind", opts[a->op], "apiVersion", "meta.k8s.io/v1"));
    return json_pack("{s:s,s:s,s:o}", "kind", "AdmissionReview", "apiVersion",
                     "admission.k8s.io/v1", "request", rq);
}

/* The URL to POST to and, for a service reference, the connect-to override
 * ("host:port:ip:targetPort"). 0, or -1 with why. */
static int resolve_target(struct adm_attrs *a, json_t *cc, char *url, size_t un, char *conn,
                          size_t cn, char *why, size_t wn)
{
    conn[0] = '\0';
    const char *u = json_string_value(json_object_get(cc, "url"));
    if (u) {
        snprintf(url, un, "%s", u);
        return 0;
    }
    json_t *svc = json_object_get(cc, "service");
    const char *sns = json_string_value(json_object_get(svc, "namespace"));
    const char *sname = json_string_value(json_object_get(svc, "name"));
    const char *path = json_string_value(json_object_get(svc, "path"));
    json_int_t port = json_integer_value(json_object_get(svc, "port"));
    if (!port)
        port = 443;
    if (!sns || !sname) {
        snprintf(why, wn, "webhook has no url or service reference");
        return -1;
    }
    snprintf(url, un, "https://%s.%s.svc:%lld%s", sname, sns, (long long)port, path ? path : "");
    json_t *s = adm_get(a, "", "v1", "services", sns, sname);
    if (!s) {
        snprintf(why, wn, "service \"%s/%s\" not found", sns, sname);
        return -1;
    }
    /* the service port's name and targetPort */
    json_t *ports = json_object_get(json_object_get(s, "spec"), "ports");
    const char *pname = "";
    json_int_t target = port;
    for (size_t i = 0; i < json_array_size(ports); i++) {
        json_t *p = json_array_get(ports, i);
        if (json_integer_value(json_object_get(p, "port")) != port)
            continue;
        pname = json_string_value(json_object_get(p, "name"));
        pname = pname ? pname : "";
        json_t *tp = json_object_get(p, "targetPort");
        if (json_is_integer(tp))
            target = json_integer_value(tp);
        break;
    }
    json_t *ep = adm_get(a, "", "v1", "endpoints", sns, sname);
    const char *ip = NULL;
    json_int_t epport = target;
    json_t *subsets = json_object_get(ep, "subsets");
    for (size_t i = 0; i < json_array_size(subsets) && !ip; i++) {
        json_t *ss = json_array_get(subsets, i);
        json_t *addrs = json_object_get(ss, "addresses");
        if (!json_array_size(addrs))
            continue;
        json_t *eps = json_object_get(ss, "ports");
        for (size_t j = 0; j < json_array_size(eps); j++) {
            json_t *p = json_array_get(eps, j);
            const char *n = json_string_value(json_object_get(p, "name"));
            if (json_array_size(eps) == 1 || strcmp(n ? n : "", pname) == 0) {
                epport = json_integer_value(json_object_get(p, "port"));
                ip = json_string_value(json_object_get(json_array_get(addrs, 0), "ip"));
                break;
            }
        }
    }
    int rc = 0;
    if (ip) {
        snprintf(conn, cn, "%s.%s.svc:%lld:%s:%lld", sname, sns, (long long)port, ip,
                 (long long)epport);
    } else {
        /* no ready endpoint: the ClusterIP, as upstream's default service resolver */
        const char *cip =
            json_string_value(json_object_get(json_object_get(s, "spec"), "clusterIP"));
        if (cip && *cip && strcmp(cip, "None") != 0) {
            snprintf(conn, cn, "%s.%s.svc:%lld:%s:%lld", sname, sns, (long long)port, cip,
                     (long long)port);
        } else {
            snprintf(why, wn, "service \"%s/%s\" has no endpoints", sns, sname);
            rc = -1;
        }
    }
    json_decref(ep);
    json_decref(s);
    return rc;
}

/* POSTs the review; *resp gets the parsed AdmissionReview. 0, or -1 with why (a call
 * failure, as upstream's "failed to call webhook: ..."). */
static int call(struct adm_attrs *a, json_t *wh, json_t *review, json_t **resp, char *why,
                size_t wn)
{
    json_t *cc = json_object_get(wh, "clientConfig");
    char url[1200], conn[600], full[1300];
    *resp = NULL;
    if (resolve_target(a, cc, url, sizeof(url), conn, sizeof(conn), why, wn) < 0)
        return -1;
    json_int_t to = json_integer_value(json_object_get(wh, "timeoutSeconds"));
    if (to <= 0 || to > 30)
        to = 10;
    snprintf(full, sizeof(full), "%s%stimeout=%llds", url, strchr(url, '?') ? "&" : "?",
             (long long)to);
    char *body = json_dumps(review, JSON_COMPACT);
    CURL *c = curl_easy_init();
    if (!c || !body) {
        free(body);
        if (c)
            curl_easy_cleanup(c);
        snprintf(why, wn, "out of memory");
        return -1;
    }
    struct ck_buf out = CK_BUF_INIT(16 << 20);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Accept: application/json");
    struct curl_slist *ct = conn[0] ? curl_slist_append(NULL, conn) : NULL;
    char *ca = NULL;
    size_t calen = 0;
    const char *cab = json_string_value(json_object_get(cc, "caBundle"));
    if (cab && *cab)
        ca = ck_base64_decode(cab, strlen(cab), &calen);
    curl_easy_setopt(c, CURLOPT_URL, full);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)to * 1000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    if (ct)
        curl_easy_setopt(c, CURLOPT_CONNECT_TO, ct);
    if (ca) {
        struct curl_blob blob = {.data = ca, .len = calen, .flags = CURL_BLOB_COPY};
        curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
    }
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    CURLcode cr = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    int rc = 0;
    if (cr != CURLE_OK) {
        snprintf(why, wn, "failed to call webhook: Post \"%s\": %s", full,
                 cr == CURLE_OPERATION_TIMEDOUT ? "context deadline exceeded"
                 : ebuf[0]                      ? ebuf
                                                : curl_easy_strerror(cr));
        rc = -1;
    } else if (code < 200 || code >= 300) {
        snprintf(why, wn,
                 "received invalid webhook response: the server responded with status "
                 "code %ld",
                 code);
        rc = -1;
    } else {
        json_error_t je;
        *resp = json_loadb(out.data ? out.data : "", out.len, 0, &je);
        if (!json_is_object(*resp)) {
            json_decref(*resp);
            *resp = NULL;
            snprintf(why, wn, "received invalid webhook response: %s", je.text);
            rc = -1;
        }
    }
    free(ca);
    curl_slist_free_all(ct);
    curl_slist_free_all(h);
    ck_buf_release(&out);
    curl_easy_cleanup(c);
    free(body);
    return rc;
}

/* The denial as upstream's webhookerrors.ToStatusErr. */
static int denied(struct ck_err *err, const char *name, json_t *status)
{
    const char *msg = json_string_value(json_object_get(status, "message"));
    const char *reason = json_string_value(json_object_get(status, "reason"));
    json_int_t code = json_integer_value(json_object_get(status, "code"));
    if (msg && *msg)
        ck_err_set(err, CK_R_FORBIDDEN, "admission webhook \"%s\" denied the request: %s", name,
                   msg);
    else if (reason && *reason)
        ck_err_set(err, CK_R_FORBIDDEN, "admission webhook \"%s\" denied the request: %s", name,
                   reason);
    else
        ck_err_set(err, CK_R_FORBIDDEN,
                   "admission webhook \"%s\" denied the request without explanation", name);
    if (code >= 400 && code < 600)
        err->code = (int)code;
    return -1;
}

/* One webhook: -1 with err to refuse, 0 to go on. */
static int run_one(struct adm_attrs *a, json_t *wh, bool mutating, struct ck_err *err)
{
    const char *name = json_string_value(json_object_get(wh, "name"));
    name = name ? name : "";
    const char *fp = json_string_value(json_object_get(wh, "failurePolicy"));
    bool ignore = fp && strcmp(fp, "Ignore") == 0;
    if (a->dry) {
        const char *se = json_string_value(json_object_get(wh, "sideEffects"));
        if (!se || (strcmp(se, "None") != 0 && strcmp(se, "NoneOnDryRun") != 0))
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "admission webhook \"%s\" does not support dry run", name);
    }
    char uid[37], why[2048] = "";
    new_uid(uid);
    json_t *review = review_request(a, uid), *resp = NULL;
    int rc = call(a, wh, review, &resp, why, sizeof(why));
    json_decref(review);
    json_t *r = json_object_get(resp, "response");
    if (rc == 0 && !json_is_object(r)) {
        snprintf(why, sizeof(why), "received invalid webhook response: response is nil");
        rc = -1;
    }
    if (rc == 0) {
        const char *ruid = json_string_value(json_object_get(r, "uid"));
        if (!ruid || strcmp(ruid, uid) != 0) {
            snprintf(why, sizeof(why), "expected response.uid=\"%s\", got \"%s\"", uid,
                     ruid ? ruid : "");
            rc = -1;
        }
    }
    if (rc < 0) {
        json_decref(resp);
        if (ignore) {
            ck_warn("failed calling webhook, failing open %s: %s", name, why);
            return 0;
        }
        ck_err_set(err, CK_R_INTERNAL, "Internal error occurred: failed calling webhook \"%s\": %s",
                   name, why);
        return -1;
    }
    json_t *warns = json_object_get(r, "warnings");
    for (size_t i = 0; i < json_array_size(warns); i++)
        if (json_string_value(json_array_get(warns, i)))
            adm_warn(a, "%s", json_string_value(json_array_get(warns, i)));
    if (!json_is_true(json_object_get(r, "allowed"))) {
        denied(err, name, json_object_get(r, "status"));
        json_decref(resp);
        return -1;
    }
    const char *patch = json_string_value(json_object_get(r, "patch"));
    if (mutating && patch && *patch && a->obj) {
        const char *pt = json_string_value(json_object_get(r, "patchType"));
        size_t plen = 0;
        char *raw = ck_base64_decode(patch, strlen(patch), &plen);
        json_t *pj = raw ? json_loadb(raw, plen, 0, NULL) : NULL;
        json_t *patched = NULL;
        struct ck_err pe = CK_ERR_INIT;
        free(raw);
        if (!pt || strcmp(pt, "JSONPatch") != 0 || !pj ||
            jsonpatch_apply(a->obj, pj, &patched, &pe) < 0 || !json_is_object(patched)) {
            json_decref(pj);
            json_decref(patched);
            json_decref(resp);
            if (ignore)
                return 0;
            return ck_err_set(err, CK_R_INTERNAL,
                              "Internal error occurred: admission webhook \"%s\" returned an "
                              "invalid patch: %s",
                              name, pe.msg[0] ? pe.msg : "unsupported patch type");
        }
        json_object_clear(a->obj);
        json_object_update(a->obj, patched);
        json_decref(patched);
        json_decref(pj);
    }
    json_decref(resp);
    return 0;
}

static int cmp_name(const void *x, const void *y)
{
    json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    const char *na = json_string_value(json_object_get(json_object_get(a, "metadata"), "name"));
    const char *nb = json_string_value(json_object_get(json_object_get(b, "metadata"), "name"));
    return strcmp(na ? na : "", nb ? nb : "");
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int run_all(struct adm_attrs *a, const char *plural, bool mutating, struct ck_err *err)
{
    if (!strcmp(a->res->group, "admissionregistration.k8s.io"))
        return 0; /* webhook configurations are never sent to webhooks */
    json_t *cfgs = adm_list(a, "admissionregistration.k8s.io", "v1", plural, NULL);
    size_t n = json_array_size(cfgs);
    if (!n) {
        json_decref(cfgs);
        return 0;
    }
    pthread_once(&curl_once, curl_init);
    json_t **v = calloc(n, sizeof(*v));
    for (size_t i = 0; v && i < n; i++)
        v[i] = json_array_get(cfgs, i);
    if (v)
        qsort(v, n, sizeof(*v), cmp_name);
    int rc = 0;
    for (size_t i = 0; v && i < n && rc == 0; i++) {
        json_t *whs = json_object_get(v[i], "webhooks");
        for (size_t j = 0; j < json_array_size(whs) && rc == 0; j++) {
            json_t *wh = json_array_get(whs, j);
            if (webhook_matches(a, wh))
                rc = run_one(a, wh, mutating, err);
        }
    }
    free(v);
    json_decref(cfgs);
    return rc;
}

static int mutating(struct adm_attrs *a, struct ck_err *err)
{
    return run_all(a, "mutatingwebhookconfigurations", true, err);
}

static int validating(struct adm_attrs *a, struct ck_err *err)
{
    return run_all(a, "validatingwebhookconfigurations", false, err);
}

const struct adm_plugin adm_mutating_webhook = {
    .name = "MutatingAdmissionWebhook", .default_on = true, .mutate = mutating};
const struct adm_plugin adm_validating_webhook = {
    .name = "ValidatingAdmissionWebhook", .default_on = true, .validate = validating};
