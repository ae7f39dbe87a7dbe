/* SPDX-License-Identifier: Apache-2.0 */
/* The CSR approving controller (pkg/controller/certificates/approver, "csrapproving"):
 * auto-approves kubelet client certificates. A pending CSR for signer
 * kubernetes.io/kube-apiserver-client-kubelet whose request passes ValidateKubeletClientCSR
 * (O exactly system:nodes, CN system:node:<name>, no SANs, usages digital signature [+ key
 * encipherment] + client auth) is recognised as "selfnodeclient" when the requester is the
 * node itself (spec.username == CN), else as "nodeclient"; it is approved with reason
 * AutoApproved and upstream's message when the requester may create
 * certificatesigningrequests/<that subresource>.
 *
 * STOPGAP until RBAC and SubjectAccessReview (issue 17): that check is the grant of
 * kubeadm's default bindings, read from spec.groups: nodeclient for system:bootstrappers,
 * selfnodeclient for system:nodes, both for system:masters. */
#include "controllers/cm.h"
#include "controllers/csrutil.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

extern struct cm_controller cm_csrapproving;

#define CSR_PATH "/apis/certificates.k8s.io/v1/certificatesigningrequests"

struct csrac {
    struct cm *cm;
    struct ck_informer *csrs;
    struct wq *q;
    struct cm_workers w;
};

static bool requester_in(const json_t *csr, const char *group)
{
    json_t *g = json_object_get(json_object_get(csr, "spec"), "groups");
    size_t i;
    json_t *v;
    json_array_foreach(g, i, v) if (json_is_string(v) &&
                                    !strcmp(json_string_value(v), group)) return true;
    return false;
}

/* STOPGAP SubjectAccessReview for create certificatesigningrequests/<sub>. */
static bool may_create(const json_t *csr, const char *sub)
{
    if (requester_in(csr, "system:masters"))
        return true;
    if (!strcmp(sub, "nodeclient"))
        return requester_in(csr, "system:bootstrappers");
    return requester_in(csr, "system:nodes");
}

static void csr_event(void *arg, json_t *csr)
{
    struct csrac *c = arg;
    if (!csr_has_condition(csr, "Approved") && !csr_has_condition(csr, "Denied"))
        cm_enqueue_obj(c->q, csr);
}

static void csr_updated(void *arg, json_t *old, json_t *cur)
{
    (void)old;
    csr_event(arg, cur);
}

static int approve(struct csrac *c, const json_t *csr, const char *name, const char *msg)
{
    json_t *obj = json_deep_copy(csr);
    json_t *st = json_object_get(obj, "status");
    if (!json_is_object(st)) {
        st = json_object();
        json_object_set_new(obj, "status", st);
    }
    json_t *conds = json_object_get(st, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(st, "conditions", conds);
    }
    char now[32];
    cm_now(now);
    json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "Approved", "status",
                                           "True", "reason", "AutoApproved", "message", msg,
                                           "lastUpdateTime", now));
    char *path = ck_asprintf(CSR_PATH "/%s/approval", name);
    struct ck_err err = CK_ERR_INIT;
    int rc = ck_client_update_json(c->cm->client, path, obj, NULL, &err);
    free(path);
    json_decref(obj);
    if (rc < 0) {
        if (err.reason == CK_R_NOT_FOUND)
            return 0;
        ck_warn("csrapproving: error updating approval for csr %s: %s", name, err.msg);
        return -1;
    }
    ck_info("csrapproving: approved %s: %s", name, msg);
    return 0;
}

static int sync_key(void *arg, const char *key)
{
    struct csrac *c = arg;
    json_t *csr = ck_indexer_get(ck_informer_indexer(c->csrs), key);
    int rc = 0;
    char why[256];

    if (!csr)
        return 0;
    const char *cert =
        json_string_value(json_object_get(json_object_get(csr, "status"), "certificate"));
    if ((cert && *cert) || csr_has_condition(csr, "Approved") || csr_has_condition(csr, "Denied"))
        goto out;
    const json_t *spec = json_object_get(csr, "spec");
    const char *signer = json_string_value(json_object_get(spec, "signerName"));
    if (!signer || strcmp(signer, CSR_SIGNER_KUBELET_CLIENT) != 0)
        goto out; /* neither recognizer applies */
    X509_REQ *req = csr_parse_obj(csr, why, sizeof(why));
    if (!req) {
        /* upstream retries with backoff; a request that does not parse never will */
        ck_warn("csrapproving: unable to parse csr %s: %s", key, why);
        goto out;
    }
    struct csr_subject s;
    csr_subject_of(req, &s);
    X509_REQ_free(req);
    if (csr_validate_kubelet_client(&s, json_object_get(spec, "usages"), why, sizeof(why)) < 0) {
        ck_v(2, "csrapproving: %s is not a kubelet client csr: %s", key, why);
        csr_subject_release(&s);
        goto out;
    }
    const char *user = json_string_value(json_object_get(spec, "username"));
    bool self = user && !strcmp(user, s.cn);
    csr_subject_release(&s);
    if (self && may_create(csr, "selfnodeclient"))
        rc = approve(c, csr, key,
                     "Auto approving self kubelet client certificate after SubjectAccessReview.");
    else if (may_create(csr, "nodeclient"))
        rc = approve(c, csr, key,
                     "Auto approving kubelet client certificate after SubjectAccessReview.");
    else
        ck_v(2,
             "csrapproving: recognized csr %s as [%s] but subject access review was not "
             "approved",
             key, self ? "selfnodeclient nodeclient" : "nodeclient");
out:
    json_decref(csr);
    return rc;
}

static int ac_init(struct cm *cm, void **state)
{
    struct csrac *c = ck_calloc(1, sizeof(*c));
    c->cm = cm;
    c->csrs = ck_informer_factory_get(cm->factory, CSR_PATH);
    c->q = wq_new(&(struct wq_opts){.name = "csrapproving"});
    ck_informer_add_handlers(c->csrs,
                             &(struct ck_informer_handlers){csr_event, csr_updated, NULL, c});
    *state = c;
    return 0;
}

static void ac_run(void *state)
{
    struct csrac *c = state;
    c->w = (struct cm_workers){.q = c->q, .sync = sync_key, .arg = c, .ctrl = &cm_csrapproving};
    cm_workers_start(&c->w, c->cm->workers);
}

static void ac_stop(void *state)
{
    struct csrac *c = state;
    wq_shutdown(c->q);
    cm_workers_join(&c->w);
}

static void ac_free(void *state)
{
    struct csrac *c = state;
    wq_free(c->q);
    free(c);
}

struct cm_controller cm_csrapproving = {.name = "csrapproving",
                                        .alias = "certificatesigningrequest-approving-controller",
                                        .init = ac_init,
                                        .run = ac_run,
                                        .stop = ac_stop,
                                        .free = ac_free};
