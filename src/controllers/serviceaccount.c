/* SPDX-License-Identifier: Apache-2.0 */
/* The service-account controller (pkg/controller/serviceaccount, "serviceaccount"): every
 * active namespace has a ServiceAccount named default, created when the namespace appears and
 * again when it is deleted. A namespace that is terminating refuses the create; that is not an
 * error. */
#include "controllers/cm.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

extern struct cm_controller cm_serviceaccount;

static const char *const MANAGED[] = {"default"}; /* upstream's ServiceAccountsControllerOptions */

struct sac {
    struct cm *cm;
    struct ck_informer *nss, *sas;
    struct wq *q; /* keys: namespace names */
    struct cm_workers w;
};

static void ns_added(void *arg, json_t *ns)
{
    struct sac *c = arg;
    wq_add(c->q, k8s_obj_name(ns));
}

static void ns_updated(void *arg, json_t *old, json_t *cur)
{
    (void)old;
    ns_added(arg, cur);
}

static void sa_deleted(void *arg, json_t *sa)
{
    struct sac *c = arg;
    for (size_t i = 0; i < sizeof(MANAGED) / sizeof(MANAGED[0]); i++)
        if (!strcmp(k8s_obj_name(sa), MANAGED[i]))
            wq_add(c->q, k8s_obj_namespace(sa));
}

static int sync_ns(void *arg, const char *name)
{
    struct sac *c = arg;
    json_t *ns = ck_indexer_get(ck_informer_indexer(c->nss), name);
    const char *phase = json_string_value(k8s_jpath(ns, "status.phase"));
    int rc = 0;
    /* upstream skips namespaces that are not Active (terminating ones refuse creates) */
    if (!ns || (phase && strcmp(phase, "Active")) || k8s_obj_deleting(ns))
        goto out;
    for (size_t i = 0; i < sizeof(MANAGED) / sizeof(MANAGED[0]); i++) {
        json_t *have = cm_get(c->sas, name, MANAGED[i]);
        if (have) {
            json_decref(have);
            continue;
        }
        char *path = ck_asprintf("/api/v1/namespaces/%s/serviceaccounts", name);
        json_t *sa = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "ServiceAccount",
                               "metadata", "name", MANAGED[i]);
        struct ck_err err = CK_ERR_INIT;
        if (ck_client_create_json(c->cm->client, path, sa, NULL, &err) < 0) {
            bool terminating = err.reason == CK_R_FORBIDDEN && strstr(err.msg, "terminat");
            if (err.reason != CK_R_ALREADY_EXISTS && !terminating && err.reason != CK_R_NOT_FOUND) {
                ck_warn("serviceaccount: creating %s/%s: %s", name, MANAGED[i], err.msg);
                rc = -1;
            }
            ck_err_clear(&err);
        } else {
            ck_v(2, "serviceaccount: created %s/%s", name, MANAGED[i]);
        }
        json_decref(sa);
        free(path);
    }
out:
    json_decref(ns);
    return rc;
}

static int sa_init(struct cm *cm, void **state)
{
    struct sac *c = ck_calloc(1, sizeof(*c));
    c->cm = cm;
    c->nss = ck_informer_factory_get(cm->factory, "/api/v1/namespaces");
    c->sas = ck_informer_factory_get(cm->factory, "/api/v1/serviceaccounts");
    c->q = wq_new(&(struct wq_opts){.name = "serviceaccount"});
    ck_informer_add_handlers(c->nss, &(struct ck_informer_handlers){ns_added, ns_updated, NULL, c});
    ck_informer_add_handlers(c->sas, &(struct ck_informer_handlers){NULL, NULL, sa_deleted, c});
    *state = c;
    return 0;
}

static void sa_run(void *state)
{
    struct sac *c = state;
    c->w = (struct cm_workers){.q = c->q, .sync = sync_ns, .arg = c, .ctrl = &cm_serviceaccount};
    cm_workers_start(&c->w, c->cm->workers);
}

static void sa_stop(void *state)
{
    struct sac *c = state;
    wq_shutdown(c->q);
    cm_workers_join(&c->w);
}

static void sa_free(void *state)
{
    struct sac *c = state;
    wq_free(c->q);
    free(c);
}

struct cm_controller cm_serviceaccount = {.name = "serviceaccount",
                                          .alias = "serviceaccount-controller",
                                          .init = sa_init,
                                          .run = sa_run,
                                          .stop = sa_stop,
                                          .free = sa_free};
