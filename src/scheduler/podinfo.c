/* SPDX-License-Identifier: Apache-2.0 */
/* PodInfo (framework/types.go NewPodInfo, AffinityTerm.Matches) and statuses. */
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "scheduler/types.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

enum sch_code sch_status_set(struct sch_status *st, enum sch_code code, const char *fmt, ...)
{
    if (!st)
        return code;
    st->code = code;
    if (st->nreasons < SCH_MAX_REASONS) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(st->reasons[st->nreasons++], SCH_REASON_LEN, fmt, ap);
        va_end(ap);
    }
    return code;
}

void sch_status_reset(struct sch_status *st)
{
    st->code = SCH_OK;
    st->plugin = -1;
    st->nreasons = 0;
}

void sch_status_message(const struct sch_status *st, char *out, size_t n)
{
    size_t off = 0;
    out[0] = '\0';
    for (int i = 0; i < st->nreasons && off < n; i++)
        off += (size_t)snprintf(out + off, n - off, "%s%s", i ? ", " : "", st->reasons[i]);
}

/* ---- affinity terms --------------------------------------------------------------------- */

struct sel *sch_selector_with_keys(const json_t *ls, const json_t *match_keys,
                                   const json_t *mismatch_keys, const json_t *labels)
{
    if (!ls || json_is_null(ls))
        return NULL;
    json_t *copy = json_deep_copy(ls);
    const json_t *lists[2] = {match_keys, mismatch_keys};
    for (int k = 0; k < 2; k++) {
        size_t i;
        const json_t *key;
        json_array_foreach(lists[k], i, key)
        {
            const char *v = json_string_value(json_object_get(labels, json_string_value(key)));
            if (!v)
                continue;
            json_t *exprs = json_object_get(copy, "matchExpressions");
            if (!json_is_array(exprs)) {
                exprs = json_array();
                json_object_set_new(copy, "matchExpressions", exprs);
            }
            json_array_append_new(exprs, json_pack("{s:O,s:s,s:[s]}", "key", key, "operator",
                                                   k == 0 ? "In" : "NotIn", "values", v));
        }
    }
    struct sel *s = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (sel_from_label_selector(copy, &s, &err) < 0)
        s = NULL;
    json_decref(copy);
    return s;
}

static void term_parse(struct sch_term *t, const json_t *term, const struct sch_pod *owner,
                       int32_t weight)
{
    memset(t, 0, sizeof(*t));
    t->weight = weight;
    t->topology_key = k8s_jstr(term, "topologyKey");
    t->sel = sch_selector_with_keys(json_object_get(term, "labelSelector"),
                                    json_object_get(term, "matchLabelKeys"),
                                    json_object_get(term, "mismatchLabelKeys"), owner->labels);
    const json_t *nss = json_object_get(term, "namespaceSelector");
    if (nss && !json_is_null(nss)) {
        struct ck_err err = CK_ERR_INIT;
        if (sel_from_label_selector(nss, &t->ns_sel, &err) < 0)
            t->ns_sel = NULL, t->sel = (sel_free(t->sel), NULL);
    }
    const json_t *list = json_object_get(term, "namespaces");
    size_t n = k8s_jlen(list);
    if (n == 0 && !t->ns_sel)
        n = 1;
    t->namespaces = ck_calloc(n ? n : 1, sizeof(char *));
    if (k8s_jlen(list) == 0 && !t->ns_sel) {
        t->namespaces[t->nns++] = ck_strdup(owner->ns);
    } else {
        size_t i;
        const json_t *v;
        json_array_foreach(list, i, v)
        {
            if (json_is_string(v))
                t->namespaces[t->nns++] = ck_strdup(json_string_value(v));
        }
    }
}

static void term_release(struct sch_term *t)
{
    sel_free(t->sel);
    sel_free(t->ns_sel);
    for (size_t i = 0; i < t->nns; i++)
        free(t->namespaces[i]);
    free(t->namespaces);
}

static void terms_parse(const json_t *arr, bool weighted, const struct sch_pod *owner,
                        struct sch_term **out, size_t *n)
{
    size_t len = k8s_jlen(arr);
    *out = NULL;
    *n = 0;
    if (!len)
        return;
    *out = ck_calloc(len, sizeof(struct sch_term));
    size_t i;
    const json_t *item;
    json_array_foreach(arr, i, item)
    {
        if (weighted) {
            json_int_t w = json_integer_value(json_object_get(item, "weight"));
            term_parse(&(*out)[(*n)++], json_object_get(item, "podAffinityTerm"), owner,
                       (int32_t)w);
        } else {
            term_parse(&(*out)[(*n)++], item, owner, 0);
        }
    }
}

bool sch_term_matches(const struct sch_term *t, const struct sch_pod *p,
                      const struct sch_nslookup *nl)
{
    if (!t->sel)
        return false;
    bool ns_ok = false;
    for (size_t i = 0; i < t->nns && !ns_ok; i++)
        ns_ok = !strcmp(t->namespaces[i], p->ns);
    if (!ns_ok && t->ns_sel) {
        if (sel_empty(t->ns_sel))
            ns_ok = true;
        else if (nl && nl->labels)
            ns_ok = sel_matches(t->ns_sel, sel_lookup_json, (void *)nl->labels(nl->arg, p->ns));
    }
    return ns_ok && sel_matches(t->sel, sel_lookup_json, (void *)p->labels);
}

/* ---- pods ------------------------------------------------------------------------------- */

char *sch_normalize_image(const char *image)
{
    const char *slash = strrchr(image, '/');
    const char *last = slash ? slash + 1 : image;
    if (strchr(last, ':') || strchr(image, '@'))
        return ck_strdup(image);
    return ck_asprintf("%s:latest", image);
}

static void add_ports(struct sch_pod *p, const json_t *containers)
{
    size_t i, j;
    const json_t *c, *port;
    json_array_foreach(containers, i, c)
    {
        json_array_foreach(json_object_get(c, "ports"), j, port)
        {
            json_int_t hp = json_integer_value(json_object_get(port, "hostPort"));
            if (hp <= 0)
                continue;
            p->ports = ck_realloc(p->ports, (p->nports + 1) * sizeof(*p->ports));
            struct sch_port *sp = &p->ports[p->nports++];
            const char *ip = k8s_jstr(port, "hostIP"), *proto = k8s_jstr(port, "protocol");
            snprintf(sp->ip, sizeof(sp->ip), "%s", *ip ? ip : "0.0.0.0");
            snprintf(sp->proto, sizeof(sp->proto), "%s", *proto ? proto : "TCP");
            sp->port = (int32_t)hp;
        }
    }
}

static void add_images(struct sch_pod *p, const json_t *containers)
{
    size_t i;
    const json_t *c;
    json_array_foreach(containers, i, c)
    {
        const char *img = k8s_jstr(c, "image");
        if (!*img)
            continue;
        p->images = ck_realloc(p->images, (p->nimages + 1) * sizeof(char *));
        p->images[p->nimages++] = sch_normalize_image(img);
    }
}

struct sch_pod *sch_pod_new(json_t *obj)
{
    struct sch_pod *p = ck_calloc(1, sizeof(*p));
    atomic_init(&p->refs, 1);
    p->obj = json_incref(obj);
    p->name = k8s_obj_name(obj);
    p->ns = k8s_obj_namespace(obj);
    p->uid = k8s_obj_uid(obj);
    p->key = ck_asprintf("%s/%s", p->ns, p->name);
    p->labels = k8s_jpath(obj, "metadata.labels");
    p->tolerations = k8s_jpath(obj, "spec.tolerations");
    p->priority = k8s_pod_priority(obj);
    p->deleting = k8s_obj_deleting(obj);
    k8s_pod_scheduling_requests(obj, &p->req, &p->nonzero);
    struct k8s_reslist all = K8S_RESLIST_INIT;
    k8s_pod_requests(obj, NULL, &all);
    for (size_t i = 0; i < all.n; i++) {
        const char *n = all.v[i].name;
        if (strcmp(n, K8S_RES_CPU) && strcmp(n, K8S_RES_MEMORY) &&
            strcmp(n, K8S_RES_EPHEMERAL_STORAGE) && strcmp(n, K8S_RES_PODS) &&
            !k8s_quantity_is_zero(&all.v[i].q))
            k8s_reslist_set(&p->scalar, n, &all.v[i].q);
    }
    k8s_reslist_release(&all);
    const json_t *spec = json_object_get(obj, "spec");
    add_ports(p, json_object_get(spec, "containers"));
    add_ports(p, json_object_get(spec, "initContainers"));
    add_images(p, json_object_get(spec, "initContainers"));
    add_images(p, json_object_get(spec, "containers"));
    const json_t *aff = json_object_get(json_object_get(spec, "affinity"), "podAffinity");
    const json_t *anti = json_object_get(json_object_get(spec, "affinity"), "podAntiAffinity");
    terms_parse(json_object_get(aff, "requiredDuringSchedulingIgnoredDuringExecution"), false, p,
                &p->req_aff, &p->nreq_aff);
    terms_parse(json_object_get(anti, "requiredDuringSchedulingIgnoredDuringExecution"), false, p,
                &p->req_anti, &p->nreq_anti);
    terms_parse(json_object_get(aff, "preferredDuringSchedulingIgnoredDuringExecution"), true, p,
                &p->pref_aff, &p->npref_aff);
    terms_parse(json_object_get(anti, "preferredDuringSchedulingIgnoredDuringExecution"), true, p,
                &p->pref_anti, &p->npref_anti);
    p->has_aff = aff || anti;
    p->node_name = k8s_pod_node_name(obj);
    p->node_constraints =
        json_object_size(json_object_get(spec, "nodeSelector")) > 0 ||
        k8s_jpath(obj, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution");
    p->score_aff = p->nreq_aff || p->npref_aff || p->npref_anti;
    return p;
}

struct sch_pod *sch_pod_ref(struct sch_pod *p)
{
    atomic_fetch_add(&p->refs, 1);
    return p;
}

void sch_pod_unref(struct sch_pod *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    struct sch_term *arrs[4] = {p->req_aff, p->req_anti, p->pref_aff, p->pref_anti};
    size_t ns[4] = {p->nreq_aff, p->nreq_anti, p->npref_aff, p->npref_anti};
    for (int k = 0; k < 4; k++) {
        for (size_t i = 0; i < ns[k]; i++)
            term_release(&arrs[k][i]);
        free(arrs[k]);
    }
    for (size_t i = 0; i < p->nimages; i++)
        free(p->images[i]);
    free(p->images);
    free(p->ports);
    k8s_reslist_release(&p->scalar);
    free(p->key);
    json_decref(p->obj);
    free(p);
}

bool sch_pod_has_affinity(const struct sch_pod *p)
{
    return p->has_aff;
}

bool sch_pod_has_required_anti(const struct sch_pod *p)
{
    return p->nreq_anti > 0;
}
