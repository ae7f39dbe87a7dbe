/* SPDX-License-Identifier: Apache-2.0 */
/* The CSR signing controller (pkg/controller/certificates/signer, "csrsigning"): signs
 * approved CSRs for kubernetes.io/kube-apiserver-client-kubelet,
 * kubernetes.io/kube-apiserver-client and kubernetes.io/kubelet-serving with the cluster CA
 * (--cluster-signing-cert-file / --cluster-signing-key-file; without them the controller
 * stays idle, as upstream skips its signers). A request that fails its signer's checks gets
 * a Failed condition (reason SignerValidationFailure); a signed one gets status.certificate
 * (the PEM certificate), valid for --cluster-signing-duration (default 1 year) or
 * spec.expirationSeconds when shorter (never under 10 minutes). */
#include "controllers/cm.h"
#include "controllers/csrutil.h"
#include "lib/log.h"

#include <openssl/err.h>
#include <stdatomic.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

extern struct cm_controller cm_csrsigning;

#define CSR_PATH "/apis/certificates.k8s.io/v1/certificatesigningrequests"
#define DEFAULT_TTL_S (365LL * 24 * 3600)

struct csrsc {
    struct cm *cm;
    struct ck_informer *csrs;
    struct wq *q;
    struct cm_workers w;
    X509 *ca;
    EVP_PKEY *key;
    atomic_bool ready; /* ca and key loaded (set once, by run) */
};

static bool served_signer(const char *s)
{
    return s && (!strcmp(s, CSR_SIGNER_KUBELET_CLIENT) || !strcmp(s, CSR_SIGNER_APISERVER_CLIENT) ||
                 !strcmp(s, CSR_SIGNER_KUBELET_SERVING));
}

static bool wants_signing(const json_t *csr)
{
    const char *cert =
        json_string_value(json_object_get(json_object_get(csr, "status"), "certificate"));
    const char *signer =
        json_string_value(json_object_get(json_object_get(csr, "spec"), "signerName"));
    return served_signer(signer) && csr_has_condition(csr, "Approved") &&
           !csr_has_condition(csr, "Failed") && !(cert && *cert);
}

static void csr_event(void *arg, json_t *csr)
{
    struct csrsc *c = arg;
    if (atomic_load(&c->ready) && wants_signing(csr))
        cm_enqueue_obj(c->q, csr);
}

static void csr_updated(void *arg, json_t *old, json_t *cur)
{
    (void)old;
    csr_event(arg, cur);
}

static int update_status(struct csrsc *c, json_t *obj, const char *name)
{
    char *path = ck_asprintf(CSR_PATH "/%s/status", name);
    struct ck_err err = CK_ERR_INIT;
    int rc = ck_client_update_json(c->cm->client, path, obj, NULL, &err);
    free(path);
    if (rc < 0 && err.reason != CK_R_NOT_FOUND) {
        ck_warn("csrsigning: updating the status of csr %s: %s", name, err.msg);
        return -1;
    }
    return 0;
}

static json_t *status_of(json_t *obj)
{
    json_t *st = json_object_get(obj, "status");
    if (!json_is_object(st)) {
        st = json_object();
        json_object_set_new(obj, "status", st);
    }
    return st;
}

static int fail(struct csrsc *c, const json_t *csr, const char *name, const char *why)
{
    json_t *obj = json_deep_copy(csr);
    json_t *st = status_of(obj);
    json_t *conds = json_object_get(st, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(st, "conditions", conds);
    }
    char now[32];
    cm_now(now);
    json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "Failed", "status",
                                           "True", "reason", "SignerValidationFailure", "message",
                                           why, "lastUpdateTime", now));
    int rc = update_status(c, obj, name);
    json_decref(obj);
    ck_info("csrsigning: %s failed its signer's checks: %s", name, why);
    return rc;
}

static int sync_key(void *arg, const char *key)
{
    struct csrsc *c = arg;
    json_t *csr = ck_indexer_get(ck_informer_indexer(c->csrs), key);
    char why[512];
    int rc = 0;

    if (!csr || !atomic_load(&c->ready) || !wants_signing(csr))
        goto out;
    const json_t *spec = json_object_get(csr, "spec");
    const char *signer = json_string_value(json_object_get(spec, "signerName"));
    const json_t *usages = json_object_get(spec, "usages");
    X509_REQ *req = csr_parse_obj(csr, why, sizeof(why));
    if (!req) {
        ck_warn("csrsigning: unable to parse csr %s: %s", key, why);
        goto out;
    }
    if (csr_check_for_signer(signer, req, usages, why, sizeof(why)) < 0) {
        rc = fail(c, csr, key, why);
        X509_REQ_free(req);
        goto out;
    }
    int64_t ttl = csr_duration(c->cm->csr_signing_duration_s > 0 ? c->cm->csr_signing_duration_s
                                                                 : DEFAULT_TTL_S,
                               json_object_get(spec, "expirationSeconds"));
    char *pem = csr_sign(req, c->ca, c->key, usages, ttl, time(NULL), why, sizeof(why));
    X509_REQ_free(req);
    if (!pem) {
        ck_warn("csrsigning: error auto signing csr %s: %s", key, why);
        rc = -1;
        goto out;
    }
    size_t n = strlen(pem);
    char *b64 = ck_malloc(4 * (n / 3 + 1) + 1);
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)pem, (int)n);
    json_t *obj = json_deep_copy(csr);
    json_object_set_new(status_of(obj), "certificate", json_string(b64));
    rc = update_status(c, obj, key);
    if (rc == 0)
        ck_info("csrsigning: signed %s (%s, %lld s)", key, signer, (long long)ttl);
    json_decref(obj);
    free(b64);
    free(pem);
out:
    json_decref(csr);
    return rc;
}

/* The CA pair from the flags; false (and a log line) when unset or unreadable. */
static bool load_ca(struct csrsc *c)
{
    const char *cf = c->cm->csr_signing_cert, *kf = c->cm->csr_signing_key;
    if (!cf || !kf) {
        ck_info("csrsigning: skipping the CSR signers: no --cluster-signing-cert-file / "
                "--cluster-signing-key-file");
        return false;
    }
    FILE *f = fopen(cf, "r");
    if (f) {
        c->ca = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    if ((f = fopen(kf, "r"))) {
        c->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
    }
    ERR_clear_error();
    if (!c->ca || !c->key || X509_check_private_key(c->ca, c->key) != 1) {
        ck_error("csrsigning: cannot load the signing pair %s / %s", cf, kf);
        X509_free(c->ca);
        EVP_PKEY_free(c->key);
        c->ca = NULL;
        c->key = NULL;
        return false;
    }
    return true;
}

static int sc_init(struct cm *cm, void **state)
{
    struct csrsc *c = ck_calloc(1, sizeof(*c));
    c->cm = cm;
    c->csrs = ck_informer_factory_get(cm->factory, CSR_PATH);
    c->q = wq_new(&(struct wq_opts){.name = "csrsigning"});
    ck_informer_add_handlers(c->csrs,
                             &(struct ck_informer_handlers){csr_event, csr_updated, NULL, c});
    *state = c;
    return 0;
}

static void sc_run(void *state)
{
    struct csrsc *c = state;
    if (!load_ca(c))
        return;
    atomic_store(&c->ready, true);
    /* the informer's first adds came before the CA was there */
    json_t *all = ck_indexer_list(ck_informer_indexer(c->csrs));
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o) csr_event(c, o);
    json_decref(all);
    c->w = (struct cm_workers){.q = c->q, .sync = sync_key, .arg = c, .ctrl = &cm_csrsigning};
    cm_workers_start(&c->w, c->cm->workers);
}

static void sc_stop(void *state)
{
    struct csrsc *c = state;
    wq_shutdown(c->q);
    cm_workers_join(&c->w);
}

static void sc_free(void *state)
{
    struct csrsc *c = state;
    wq_free(c->q);
    X509_free(c->ca);
    EVP_PKEY_free(c->key);
    free(c);
}

struct cm_controller cm_csrsigning = {.name = "csrsigning",
                                      .alias = "certificatesigningrequest-signing-controller",
                                      .init = sc_init,
                                      .run = sc_run,
                                      .stop = sc_stop,
                                      .free = sc_free};
