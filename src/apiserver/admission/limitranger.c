/* SPDX-License-Identifier: Apache-2.0 */
/* LimitRanger (plugin/pkg/admission/limitranger): a pod created in a namespace with
 * LimitRanges gets each Container item's default limits and defaultRequest requests where
 * its containers set none (noted in the kubernetes.io/limit-ranger annotation), then every
 * Container and Pod item's min, max and maxLimitRequestRatio are enforced with upstream's
 * messages. */
#include "apiserver/admission/admission.h"

#include "k8s/quantity.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static json_t *res_obj(json_t *c, const char *which)
{
    json_t *r = json_object_get(c, "resources");
    if (!json_is_object(r)) {
        r = json_object();
        json_object_set_new(c, "resources", r);
    }
    json_t *l = json_object_get(r, which);
    if (!json_is_object(l)) {
        l = json_object();
        json_object_set_new(r, which, l);
    }
    return l;
}

/* Appends the sorted names of keys to out, ", "-joined. */
static void join_sorted(json_t *names, char *out, size_t n)
{
    size_t cnt = json_array_size(names);
    const char *v[64];
    size_t k = 0;
    for (size_t i = 0; i < cnt && k < 64; i++)
        v[k++] = json_string_value(json_array_get(names, i));
    for (size_t i = 1; i < k; i++)
        for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
            const char *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    size_t len = strlen(out);
    for (size_t i = 0; i < k && len < n; i++)
        len += (size_t)snprintf(out + len, n - len, "%s%s", i ? ", " : "", v[i]);
}

void adm_limits_default(json_t *ranges, json_t *pod)
{
    json_t *spec = json_object_get(pod, "spec");
    json_t *dlim = json_object(), *dreq = json_object();
    for (size_t i = 0; i < json_array_size(ranges); i++) {
        json_t *items =
            json_object_get(json_object_get(json_array_get(ranges, i), "spec"), "limits");
        for (size_t j = 0; j < json_array_size(items); j++) {
            json_t *it = json_array_get(items, j);
            const char *t = json_string_value(json_object_get(it, "type"));
            if (!t || strcmp(t, "Container"))
                continue;
            json_object_update_missing(dlim, json_object_get(it, "default"));
            json_object_update_missing(dreq, json_object_get(it, "defaultRequest"));
        }
    }
    if (!json_object_size(dlim) && !json_object_size(dreq)) {
        json_decref(dlim);
        json_decref(dreq);
        return;
    }
    char note[2048] = "";
    static const char *const lists[] = {"containers", "initContainers"};
    static const char *const types[] = {"container", "init container"};
    for (size_t l = 0; l < 2; l++) {
        json_t *cs = json_object_get(spec, lists[l]);
        for (size_t i = 0; i < json_array_size(cs); i++) {
            json_t *c = json_array_get(cs, i);
            const char *cn = json_string_value(json_object_get(c, "name"));
            json_t *set_l = json_array(), *set_r = json_array();
            const char *k;
            json_t *v;
            json_object_foreach(dlim, k, v)
            {
                json_t *lim = res_obj(c, "limits");
                if (!json_object_get(lim, k)) {
                    json_object_set(lim, k, v);
                    json_array_append_new(set_l, json_string(k));
                }
            }
            json_object_foreach(dreq, k, v)
            {
                json_t *req = res_obj(c, "requests");
                if (!json_object_get(req, k)) {
                    json_object_set(req, k, v);
                    json_array_append_new(set_r, json_string(k));
                }
            }
            if (json_array_size(set_r)) {
                size_t len = strlen(note);
                snprintf(note + len, sizeof(note) - len, "%s", len ? "; " : "");
                join_sorted(set_r, note, sizeof(note));
                len = strlen(note);
                snprintf(note + len, sizeof(note) - len, " request for %s %s", types[l],
                         cn ? cn : "");
            }
            if (json_array_size(set_l)) {
                size_t len = strlen(note);
                snprintf(note + len, sizeof(note) - len, "%s", len ? "; " : "");
                join_sorted(set_l, note, sizeof(note));
                len = strlen(note);
                snprintf(note + len, sizeof(note) - len, " limit for %s %s", types[l],
                         cn ? cn : "");
            }
            json_decref(set_l);
            json_decref(set_r);
        }
    }
    if (note[0]) {
        json_t *md = json_object_get(pod, "metadata");
        json_t *ann = json_object_get(md, "annotations");
        if (!json_is_object(ann)) {
            ann = json_object();
            json_object_set_new(md, "annotations", ann);
        }
        char v[2200];
        snprintf(v, sizeof(v), "LimitRanger plugin set: %s", note);
        json_object_set_new(ann, "kubernetes.io/limit-ranger", json_string(v));
    }
    json_decref(dlim);
    json_decref(dreq);
}

/* Sum of a resource over containers (Pod items); absent when no container sets it. */
static bool pod_sum(json_t *spec, const char *which, const char *res, struct k8s_quantity *out)
{
    bool any = false;
    *out = k8s_quantity_from_int(0, K8S_QTY_DECIMAL_SI);
    json_t *cs = json_object_get(spec, "containers");
    for (size_t i = 0; i < json_array_size(cs); i++) {
        json_t *q = json_object_get(
            json_object_get(json_object_get(json_array_get(cs, i), "resources"), which), res);
        struct k8s_quantity v;
        if (q && k8s_quantity_from_json(q, &v) == 0) {
            k8s_quantity_add(out, &v);
            any = true;
        }
    }
    return any;
}

struct errs {
    char *out;
    size_t n, len;
    int count;
};

static void add_err(struct errs *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_err(struct errs *e, const char *fmt, ...)
{
    if (e->len + 1 >= e->n)
        return;
    if (e->count++)
        e->len += (size_t)snprintf(e->out + e->len, e->n - e->len, ", ");
    if (e->len + 1 >= e->n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(e->out + e->len, e->n - e->len, fmt, ap);
    va_end(ap);
    if (w > 0)
        e->len = e->len + (size_t)w < e->n ? e->len + (size_t)w : e->n - 1;
}

static void qstr(const json_t *q, char out[K8S_QTY_STRLEN])
{
    const char *s = json_string_value(q);
    if (s) {
        snprintf(out, K8S_QTY_STRLEN, "%s", s);
        return;
    }
    struct k8s_quantity v;
    if (k8s_quantity_from_json(q, &v) == 0)
        k8s_quantity_str(&v, out);
    else
        snprintf(out, K8S_QTY_STRLEN, "?");
}

/* One item's constraints on one subject (a container's or the pod's request and limit). */
static void check_item(json_t *it, int kind, const char *type, bool has_req,
                       struct k8s_quantity *req, bool has_lim, struct k8s_quantity *lim,
                       const char *res, struct errs *e)
{
    char es[K8S_QTY_STRLEN], rs[K8S_QTY_STRLEN], ls[K8S_QTY_STRLEN];
    if (has_req)
        k8s_quantity_str(req, rs);
    if (has_lim)
        k8s_quantity_str(lim, ls);
    json_t *q;
    struct k8s_quantity enf;
    if (kind == 0 && (q = json_object_get(json_object_get(it, "min"), res)) &&
        k8s_quantity_from_json(q, &enf) == 0) {
        qstr(q, es);
        if (!has_req)
            add_err(e, "minimum %s usage per %s is %s.  No request is specified", res, type, es);
        else if (k8s_quantity_cmp(req, &enf) < 0)
            add_err(e, "minimum %s usage per %s is %s, but request is %s", res, type, es, rs);
        else if (has_lim && k8s_quantity_cmp(lim, &enf) < 0)
            add_err(e, "minimum %s usage per %s is %s, but limit is %s", res, type, es, ls);
    }
    if (kind == 1 && (q = json_object_get(json_object_get(it, "max"), res)) &&
        k8s_quantity_from_json(q, &enf) == 0) {
        qstr(q, es);
        if (!has_lim)
            add_err(e, "maximum %s usage per %s is %s. No limit is specified", res, type, es);
        else if (k8s_quantity_cmp(lim, &enf) > 0)
            add_err(e, "maximum %s usage per %s is %s, but limit is %s", res, type, es, ls);
        else if (has_req && k8s_quantity_cmp(req, &enf) > 0)
            add_err(e, "maximum %s usage per %s is %s, but request is %s", res, type, es, rs);
    }
    if (kind == 2 && (q = json_object_get(json_object_get(it, "maxLimitRequestRatio"), res)) &&
        k8s_quantity_from_json(q, &enf) == 0) {
        qstr(q, es);
        if (!has_req || k8s_quantity_is_zero(req)) {
            add_err(e,
                    "%s max limit to request ratio per %s is %s, but no request is specified "
                    "or request is 0",
                    res, type, es);
        } else if (has_lim) {
            double ratio = (double)k8s_quantity_milli(lim) / (double)k8s_quantity_milli(req);
            if (ratio > (double)k8s_quantity_milli(&enf) / 1000.0)
                add_err(e, "%s max limit to request ratio per %s is %s, but provided ratio is %f",
                        res, type, es, ratio);
        }
    }
}

int adm_limits_check(json_t *ranges, json_t *pod, char *msg, size_t n)
{
    struct errs e = {msg, n, 0, 0};
    if (n)
        msg[0] = '\0';
    json_t *spec = json_object_get(pod, "spec");
    for (size_t i = 0; i < json_array_size(ranges); i++) {
        json_t *items =
            json_object_get(json_object_get(json_array_get(ranges, i), "spec"), "limits");
        for (size_t j = 0; j < json_array_size(items); j++) {
            json_t *it = json_array_get(items, j);
            const char *t = json_string_value(json_object_get(it, "type"));
            if (!t || (strcmp(t, "Container") && strcmp(t, "Pod")))
                continue;
            /* upstream's order: per container (or the pod), min, then max, then the ratio */
            static const char *const kinds[] = {"min", "max", "maxLimitRequestRatio"};
            if (!strcmp(t, "Pod")) {
                for (int k = 0; k < 3; k++) {
                    const char *res;
                    json_t *unused;
                    json_object_foreach(json_object_get(it, kinds[k]), res, unused)
                    {
                        struct k8s_quantity rq, lm;
                        bool hr = pod_sum(spec, "requests", res, &rq);
                        bool hl = pod_sum(spec, "limits", res, &lm);
                        check_item(it, k, "Pod", hr, &rq, hl, &lm, res, &e);
                    }
                }
                continue;
            }
            static const char *const lists[] = {"initContainers", "containers"};
            for (size_t l = 0; l < 2; l++) {
                json_t *cs = json_object_get(spec, lists[l]);
                for (size_t c = 0; c < json_array_size(cs); c++) {
                    json_t *r = json_object_get(json_array_get(cs, c), "resources");
                    for (int k = 0; k < 3; k++) {
                        const char *res;
                        json_t *unused;
                        json_object_foreach(json_object_get(it, kinds[k]), res, unused)
                        {
                            struct k8s_quantity rq, lm;
                            json_t *qr = json_object_get(json_object_get(r, "requests"), res);
                            json_t *ql = json_object_get(json_object_get(r, "limits"), res);
                            bool hr = qr && k8s_quantity_from_json(qr, &rq) == 0;
                            bool hl = ql && k8s_quantity_from_json(ql, &lm) == 0;
                            check_item(it, k, "Container", hr, &rq, hl, &lm, res, &e);
                        }
                    }
                }
            }
        }
    }
    if (e.count > 1 && n > 2) {
        /* utilerrors.NewAggregate of several: "[a, b]" */
        size_t l = strlen(msg);
        if (l + 3 < n) {
            memmove(msg + 1, msg, l + 1);
            msg[0] = '[';
            msg[l + 1] = ']';
            msg[l + 2] = '\0';
        }
    }
    return e.count ? -1 : 0;
}

static int lr_mutate(struct adm_attrs *a, struct ck_err *err)
{
    (void)err;
    if (!adm_is_pod(a) || a->op != ADM_CREATE || !a->obj || !a->ns)
        return 0;
    json_t *ranges = adm_list(a, "", "v1", "limitranges", a->ns);
    if (json_array_size(ranges))
        adm_limits_default(ranges, a->obj);
    json_decref(ranges);
    return 0;
}

static int lr_validate(struct adm_attrs *a, struct ck_err *err)
{
    if (!adm_is_pod(a) || (a->op != ADM_CREATE && a->op != ADM_UPDATE) || !a->obj || !a->ns)
        return 0;
    json_t *ranges = adm_list(a, "", "v1", "limitranges", a->ns);
    int rc = 0;
    if (json_array_size(ranges)) {
        char msg[2048];
        if (adm_limits_check(ranges, a->obj, msg, sizeof(msg)) < 0)
            rc = adm_forbidden(err, a, "%s", msg);
    }
    json_decref(ranges);
    return rc;
}

const struct adm_plugin adm_limit_ranger = {
    .name = "LimitRanger", .default_on = true, .mutate = lr_mutate, .validate = lr_validate};
