/* SPDX-License-Identifier: Apache-2.0 */
/* The bootstrap token cleaner (pkg/controller/bootstrap/tokencleaner.go, "tokencleaner"):
 * bootstrap-token Secrets (type bootstrap.kubernetes.io/token) in kube-system are deleted
 * once their data.expiration has passed (an unparseable expiration counts as passed, as
 * upstream's GetExpiration); one that has not yet expired is looked at again when it does.
 * The delete carries the Secret's uid as a precondition. */
#include "controllers/cm.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/base64.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

extern struct cm_controller cm_tokencleaner;

#define TC_NS "kube-system"
#define TC_TYPE "bootstrap.kubernetes.io/token"

struct tcc {
    struct cm *cm;
    struct ck_informer *secrets;
    struct wq *q; /* keys: secret names in kube-system */
    struct cm_workers w;
};

static void sec_added(void *arg, json_t *s)
{
    struct tcc *c = arg;
    const char *type = json_string_value(json_object_get(s, "type"));
    if (type && !strcmp(type, TC_TYPE))
        wq_add(c->q, k8s_obj_name(s));
}

static void sec_updated(void *arg, json_t *old, json_t *cur)
{
    (void)old;
    sec_added(arg, cur);
}

/* Seconds left before the Secret's expiration; <= 0 once expired (or unparseable);
 * INT64_MAX when it has none. */
static int64_t ttl_left(const json_t *sec, time_t now)
{
    const char *b64 =
        json_string_value(json_object_get(json_object_get(sec, "data"), "expiration"));
    if (!b64)
        return INT64_MAX;
    size_t n = 0;
    char *exp = ck_base64_decode(b64, strlen(b64), &n);
    if (!exp || !n) {
        free(exp);
        return exp ? INT64_MAX : 0; /* "" is no expiration; not base64 is unparseable */
    }
    time_t t;
    int64_t left = ck_time_parse_rfc3339(exp, &t) < 0 ? 0 : (int64_t)t - (int64_t)now;
    if (left <= 0)
        ck_v(3, "tokencleaner: expiration %s of %s passed or unparseable", exp, k8s_obj_name(sec));
    free(exp);
    return left;
}

static int sync_secret(void *arg, const char *name)
{
    struct tcc *c = arg;
    json_t *sec = cm_get(c->secrets, TC_NS, name);
    const char *type = json_string_value(json_object_get(sec, "type"));
    int rc = 0;
    if (!sec || !type || strcmp(type, TC_TYPE) || k8s_obj_deleting(sec))
        goto out;
    int64_t left = ttl_left(sec, time(NULL));
    if (left == INT64_MAX)
        goto out;
    if (left > 0) {
        wq_add_after(c->q, name, left * 1000000000LL);
        goto out;
    }
    ck_v(2, "tokencleaner: deleting expired secret %s/%s", TC_NS, name);
    char *path = ck_asprintf("/api/v1/namespaces/%s/secrets/%s", TC_NS, name);
    json_t *opts = json_pack("{s:s,s:s,s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
                             "preconditions", "uid", k8s_obj_uid(sec));
    char *body = json_dumps(opts, JSON_COMPACT);
    struct ck_err err = CK_ERR_INIT;
    if (ck_client_do(c->cm->client, "DELETE", path, "application/json", body, strlen(body), NULL,
                     &err) < 0 &&
        err.reason != CK_R_NOT_FOUND && err.reason != CK_R_CONFLICT) {
        ck_warn("tokencleaner: deleting %s/%s: %s", TC_NS, name, err.msg);
        rc = -1;
    }
    ck_err_clear(&err);
    free(body);
    json_decref(opts);
    free(path);
out:
    json_decref(sec);
    return rc;
}

static int tc_init(struct cm *cm, void **state)
{
    struct tcc *c = ck_calloc(1, sizeof(*c));
    c->cm = cm;
    c->secrets = ck_informer_factory_get(cm->factory, "/api/v1/namespaces/" TC_NS "/secrets");
    c->q = wq_new(&(struct wq_opts){.name = "token_cleaner"});
    ck_informer_add_handlers(c->secrets,
                             &(struct ck_informer_handlers){sec_added, sec_updated, NULL, c});
    *state = c;
    return 0;
}

static void tc_run(void *state)
{
    struct tcc *c = state;
    c->w = (struct cm_workers){.q = c->q, .sync = sync_secret, .arg = c, .ctrl = &cm_tokencleaner};
    cm_workers_start(&c->w, 1);
}

static void tc_stop(void *state)
{
    struct tcc *c = state;
    wq_shutdown(c->q);
    cm_workers_join(&c->w);
}

static void tc_free(void *state)
{
    struct tcc *c = state;
    wq_free(c->q);
    free(c);
}

struct cm_controller cm_tokencleaner = {.name = "tokencleaner",
                                        .alias = "token-cleaner-controller",
                                        .init = tc_init,
                                        .run = tc_run,
                                        .stop = tc_stop,
                                        .free = tc_free};
