/* SPDX-License-Identifier: Apache-2.0 */
/* The ClusterRole aggregation controller (pkg/controller/clusterroleaggregation,
 * "clusterrole-aggregation"): a ClusterRole with an aggregationRule gets, as its rules, the
 * rules of every other ClusterRole its selectors match (each selector's roles in name order,
 * duplicates dropped), rewritten whenever any ClusterRole changes. This is how admin, edit and
 * view pick up the rules of roles labelled aggregate-to-*, CRD authors' roles included. */
#include "controllers/cm.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/log.h"
#include "lib/selector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

extern struct cm_controller cm_clusterroleaggregation;

#define CR_PATH "/apis/rbac.authorization.k8s.io/v1/clusterroles"

struct cra {
    struct cm *cm;
    struct ck_informer *crs;
    struct wq *q; /* keys: names of ClusterRoles with an aggregationRule */
    struct cm_workers w;
};

/* Any change can change what an aggregated role should hold: queue every aggregating role. */
static void enqueue_all(struct cra *c)
{
    json_t *all = ck_indexer_list(ck_informer_indexer(c->crs));
    size_t i;
    json_t *r;
    json_array_foreach(all, i, r) if (json_object_get(r, "aggregationRule"))
        wq_add(c->q, k8s_obj_name(r));
    json_decref(all);
}

static void on_add(void *arg, json_t *o)
{
    (void)o;
    enqueue_all(arg);
}

static void on_update(void *arg, json_t *old, json_t *cur)
{
    (void)old;
    (void)cur;
    enqueue_all(arg);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(k8s_obj_name(*(json_t *const *)a), k8s_obj_name(*(json_t *const *)b));
}

static bool rule_in(const json_t *rules, const json_t *rule)
{
    size_t i;
    const json_t *r;
    json_array_foreach(rules, i, r) if (json_equal((json_t *)r, (json_t *)rule)) return true;
    return false;
}

/* The rules the role should hold, or NULL when a selector is invalid (logged). */
static json_t *aggregated_rules(struct cra *c, const json_t *role)
{
    json_t *all = ck_indexer_list(ck_informer_indexer(c->crs));
    size_t n = json_array_size(all);
    json_t **sorted = ck_calloc(n ? n : 1, sizeof(*sorted));
    for (size_t i = 0; i < n; i++)
        sorted[i] = json_array_get(all, i);
    qsort(sorted, n, sizeof(*sorted), by_name);
    json_t *out = json_array();
    size_t s;
    const json_t *ls;
    json_array_foreach(k8s_jpath((json_t *)role, "aggregationRule.clusterRoleSelectors"), s, ls)
    {
        struct sel *sel = NULL;
        struct ck_err err = CK_ERR_INIT;
        if (sel_from_label_selector(ls, &sel, &err) < 0) {
            ck_warn("clusterrole-aggregation: %s: %s", k8s_obj_name(role), err.msg);
            json_decref(out);
            out = NULL;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (!strcmp(k8s_obj_name(sorted[i]), k8s_obj_name(role)) ||
                !sel_matches(sel, sel_lookup_json, k8s_jpath(sorted[i], "metadata.labels")))
                continue;
            size_t j;
            json_t *rule;
            json_array_foreach(json_object_get(sorted[i], "rules"), j, rule) if (!rule_in(out, rule))
                json_array_append(out, rule);
        }
        sel_free(sel);
    }
    free(sorted);
    json_decref(all);
    return out;
}

static int sync_role(void *arg, const char *name)
{
    struct cra *c = arg;
    json_t *role = ck_indexer_get(ck_informer_indexer(c->crs), name);
    int rc = 0;
    if (!role || !json_object_get(role, "aggregationRule"))
        goto out;
    json_t *want = aggregated_rules(c, role);
    json_t *none = json_array(), *have = json_object_get(role, "rules");
    if (want && !json_equal(want, have ? have : none)) {
        json_t *upd = json_deep_copy(role);
        json_object_set(upd, "rules", want);
        char *path = ck_asprintf("%s/%s", CR_PATH, name);
        struct ck_err err = CK_ERR_INIT;
        if (ck_client_update_json(c->cm->client, path, upd, NULL, &err) < 0) {
            if (err.reason != CK_R_NOT_FOUND) { /* a conflict: retried from the newer role */
                ck_v(2, "clusterrole-aggregation: updating %s: %s", name, err.msg);
                rc = -1;
            }
            ck_err_clear(&err);
        } else {
            ck_v(2, "clusterrole-aggregation: %s now holds %zu rules", name,
                 json_array_size(want));
        }
        free(path);
        json_decref(upd);
    }
    json_decref(want);
    json_decref(none);
out:
    json_decref(role);
    return rc;
}

static int cra_init(struct cm *cm, void **state)
{
    struct cra *c = ck_calloc(1, sizeof(*c));
    c->cm = cm;
    c->crs = ck_informer_factory_get(cm->factory, CR_PATH);
    c->q = wq_new(&(struct wq_opts){.name = "clusterrole-aggregation"});
    ck_informer_add_handlers(c->crs, &(struct ck_informer_handlers){on_add, on_update, on_add, c});
    *state = c;
    return 0;
}

static void cra_run(void *state)
{
    struct cra *c = state;
    c->w = (struct cm_workers){
        .q = c->q, .sync = sync_role, .arg = c, .ctrl = &cm_clusterroleaggregation};
    cm_workers_start(&c->w, c->cm->workers);
}

static void cra_stop(void *state)
{
    struct cra *c = state;
    wq_shutdown(c->q);
    cm_workers_join(&c->w);
}

static void cra_free(void *state)
{
    struct cra *c = state;
    wq_free(c->q);
    free(c);
}

struct cm_controller cm_clusterroleaggregation = {.name = "clusterrole-aggregation",
                                                  .alias = "clusterrole-aggregation-controller",
                                                  .init = cra_init,
                                                  .run = cra_run,
                                                  .stop = cra_stop,
                                                  .free = cra_free};
