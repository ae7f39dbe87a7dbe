/* SPDX-License-Identifier: Apache-2.0 */
/* The root CA publisher (pkg/controller/certificates/rootcacertpublisher,
 * "root-ca-cert-publisher"): every namespace has the ConfigMap kube-root-ca.crt holding the
 * cluster CA (--root-ca-file, default the CA of the controller manager's kubeconfig) under
 * ca.crt, with upstream's description annotation; it is recreated when deleted and put back
 * when its data is changed. */
#include "controllers/cm.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

extern struct cm_controller cm_rootcacert;

#define CM_NAME "kube-root-ca.crt"
#define DESCRIPTION                                                                                \
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal "      \
    "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "      \
    "guaranteed across distributions of Kubernetes clusters."

struct rcc {
    struct cm *cm;
    struct ck_informer *nss, *cms;
    struct wq *q; /* keys: namespace names */
    struct cm_workers w;
};

static void ns_event(void *arg, json_t *ns)
{
    struct rcc *c = arg;
    wq_add(c->q, k8s_obj_name(ns));
}

static void ns_updated(void *arg, json_t *old, json_t *cur)
{
    (void)old;
    ns_event(arg, cur);
}

static void cm_event(void *arg, json_t *o)
{
    struct rcc *c = arg;
    if (!strcmp(k8s_obj_name(o), CM_NAME))
        wq_add(c->q, k8s_obj_namespace(o));
}

static void cm_updated(void *arg, json_t *old, json_t *cur)
{
    (void)old;
    cm_event(arg, cur);
}

static int sync_ns(void *arg, const char *name)
{
    struct rcc *c = arg;
    const char *ca = c->cm->root_ca_pem;
    json_t *ns = ck_indexer_get(ck_informer_indexer(c->nss), name);
    json_t *have = ns ? cm_get(c->cms, name, CM_NAME) : NULL;
    int rc = 0;
    const char *phase = json_string_value(k8s_jpath(ns, "status.phase"));
    if (!ns || !ca || k8s_obj_deleting(ns) || (phase && strcmp(phase, "Active")))
        goto out;
    struct ck_err err = CK_ERR_INIT;
    if (!have) {
        char *path = ck_asprintf("/api/v1/namespaces/%s/configmaps", name);
        json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:{s:s}}", "apiVersion", "v1", "kind",
                                "ConfigMap", "metadata", "name", CM_NAME, "annotations",
                                "kubernetes.io/description", DESCRIPTION, "data", "ca.crt", ca);
        if (ck_client_create_json(c->cm->client, path, obj, NULL, &err) < 0 &&
            err.reason != CK_R_ALREADY_EXISTS && err.reason != CK_R_FORBIDDEN &&
            err.reason != CK_R_NOT_FOUND) {
            ck_warn("root-ca-cert-publisher: creating %s/%s: %s", name, CM_NAME, err.msg);
            rc = -1;
        }
        ck_err_clear(&err);
        json_decref(obj);
        free(path);
        goto out;
    }
    /* (keys with dots: no dotted-path lookups here) */
    const json_t *data_obj = json_object_get(have, "data");
    const char *data = json_string_value(json_object_get(data_obj, "ca.crt"));
    const char *desc = json_string_value(
        json_object_get(json_object_get(json_object_get(have, "metadata"), "annotations"),
                        "kubernetes.io/description"));
    if (data && !strcmp(data, ca) && json_object_size(data_obj) == 1 && desc &&
        !strcmp(desc, DESCRIPTION))
        goto out;
    /* upstream replaces the data and sets the annotation, keeping everything else */
    json_t *upd = json_deep_copy(have);
    json_object_set_new(upd, "data", json_pack("{s:s}", "ca.crt", ca));
    json_t *md = json_object_get(upd, "metadata");
    json_t *ann = json_object_get(md, "annotations");
    if (!json_is_object(ann))
        json_object_set_new(md, "annotations", ann = json_object());
    json_object_set_new(ann, "kubernetes.io/description", json_string(DESCRIPTION));
    char *path = ck_asprintf("/api/v1/namespaces/%s/configmaps/%s", name, CM_NAME);
    if (ck_client_update_json(c->cm->client, path, upd, NULL, &err) < 0 &&
        err.reason != CK_R_NOT_FOUND) {
        if (err.reason != CK_R_CONFLICT)
            ck_warn("root-ca-cert-publisher: updating %s/%s: %s", name, CM_NAME, err.msg);
        rc = -1;
    }
    ck_err_clear(&err);
    free(path);
    json_decref(upd);
out:
    json_decref(have);
    json_decref(ns);
    return rc;
}

static int rcc_init(struct cm *cm, void **state)
{
    struct rcc *c = ck_calloc(1, sizeof(*c));
    c->cm = cm;
    c->nss = ck_informer_factory_get(cm->factory, "/api/v1/namespaces");
    c->cms = ck_informer_factory_get(cm->factory, "/api/v1/configmaps");
    c->q = wq_new(&(struct wq_opts){.name = "root_ca_cert_publisher"});
    ck_informer_add_handlers(c->nss, &(struct ck_informer_handlers){ns_event, ns_updated, NULL, c});
    ck_informer_add_handlers(c->cms, &(struct ck_informer_handlers){NULL, cm_updated, cm_event, c});
    *state = c;
    return 0;
}

static void rcc_run(void *state)
{
    if (!((struct rcc *)state)->cm->root_ca_pem) /* set after init, before run */
        ck_info("root-ca-cert-publisher: no root CA (--root-ca-file, or the kubeconfig's CA): "
                "kube-root-ca.crt is not published");
    struct rcc *c = state;
    c->w = (struct cm_workers){.q = c->q, .sync = sync_ns, .arg = c, .ctrl = &cm_rootcacert};
    cm_workers_start(&c->w, c->cm->workers);
}

static void rcc_stop(void *state)
{
    struct rcc *c = state;
    wq_shutdown(c->q);
    cm_workers_join(&c->w);
}

static void rcc_free(void *state)
{
    struct rcc *c = state;
    wq_free(c->q);
    free(c);
}

struct cm_controller cm_rootcacert = {.name = "root-ca-cert-publisher",
                                      .alias = "root-ca-certificate-publisher-controller",
                                      .init = rcc_init,
                                      .run = rcc_run,
                                      .stop = rcc_stop,
                                      .free = rcc_free};
