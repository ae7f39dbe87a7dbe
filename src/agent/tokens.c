/* SPDX-License-Identifier: Apache-2.0 */
/* The kubelet's service-account token manager (pkg/kubelet/token/token_manager.go): tokens
 * for projected serviceAccountToken sources come from TokenRequest (bound to the pod) and are
 * cached per (namespace, service account, pod uid, audience, expirationSeconds); a cached
 * token is reused until 80 % of its lifetime has passed or it is older than 24 h (minus up to
 * 10 s of jitter), then fetched again; a failed refresh keeps serving the old token while it is
 * still valid. Expired entries and those of gone pods are dropped. */
#include "agent/agent_int.h"
#include "agent/volumes_int.h"
#include "k8s/util.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

#define MAX_TTL_S (24 * 3600)
#define MAX_JITTER_S 10

struct tok_entry {
    char *key, *pod_uid, *token;
    int64_t exp;     /* status.expirationTimestamp (unix s) */
    int64_t exp_sec; /* spec.expirationSeconds of the answer */
    struct tok_entry *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct tok_entry *cache;

static void entry_free(struct tok_entry *e)
{
    free(e->key);
    free(e->pod_uid);
    if (e->token)
        memset(e->token, 0, strlen(e->token));
    free(e->token);
    free(e);
}

bool ag_tokens_needs_refresh(int64_t exp, int64_t exp_sec, int64_t now, int64_t jitter)
{
    int64_t iat = exp - exp_sec;
    if (now > iat + MAX_TTL_S - jitter)
        return true;
    return now > exp - exp_sec * 20 / 100 - jitter;
}

static bool needs_refresh(const struct tok_entry *e, int64_t now)
{
    return ag_tokens_needs_refresh(e->exp, e->exp_sec, now, (int64_t)(rand() % (MAX_JITTER_S + 1)));
}

/* mu held: drops expired entries */
static void prune(int64_t now)
{
    for (struct tok_entry **pp = &cache; *pp;) {
        if ((*pp)->exp <= now) {
            struct tok_entry *d = *pp;
            *pp = d->next;
            entry_free(d);
        } else {
            pp = &(*pp)->next;
        }
    }
}

void ag_tokens_forget_pod(const char *pod_uid)
{
    pthread_mutex_lock(&mu);
    for (struct tok_entry **pp = &cache; *pp;) {
        if (!strcmp((*pp)->pod_uid, pod_uid)) {
            struct tok_entry *d = *pp;
            *pp = d->next;
            entry_free(d);
        } else {
            pp = &(*pp)->next;
        }
    }
    pthread_mutex_unlock(&mu);
}

static int fetch(struct agent *ag, const char *ns, const char *sa, const char *pod, const char *uid,
                 const char *aud, int64_t exp_sec, struct tok_entry *into, struct ck_err *err)
{
    json_t *tr = json_pack("{s:s,s:s,s:{s:[],s:I,s:{s:s,s:s,s:s,s:s}}}", "apiVersion",
                           "authentication.k8s.io/v1", "kind", "TokenRequest", "spec", "audiences",
                           "expirationSeconds", (json_int_t)exp_sec, "boundObjectRef", "apiVersion",
                           "v1", "kind", "Pod", "name", pod, "uid", uid);
    if (aud && *aud)
        json_array_append_new(k8s_jpath(tr, "spec.audiences"), json_string(aud));
    char *path = ck_asprintf("/api/v1/namespaces/%s/serviceaccounts/%s/token", ns, sa);
    json_t *out = NULL;
    int rc = ck_client_create_json(ag->client, path, tr, &out, err);
    free(path);
    json_decref(tr);
    const char *tok = k8s_jpath_str(out, "status.token");
    const char *ts = k8s_jpath_str(out, "status.expirationTimestamp");
    time_t exp = 0;
    if (rc == 0 && (!*tok || ck_time_parse_rfc3339(ts, &exp) < 0))
        rc = ck_err_set(err, CK_R_INTERNAL, "TokenRequest answered without a token or expiry");
    if (rc == 0) {
        into->token = ck_strdup(tok);
        into->exp = (int64_t)exp;
        json_t *es = k8s_jpath(out, "spec.expirationSeconds");
        into->exp_sec = json_is_integer(es) ? json_integer_value(es) : exp_sec;
    }
    json_decref(out);
    return rc;
}

char *ag_tokens_get(struct agent *ag, const char *ns, const char *sa, const char *pod,
                    const char *uid, const char *aud, int64_t exp_sec, struct ck_err *err)
{
    char *key = ck_asprintf("%s/%s/%s/%s/%lld", ns, sa, uid, aud ? aud : "", (long long)exp_sec);
    int64_t now = (int64_t)time(NULL);
    char *have = NULL;
    bool refresh = true;
    pthread_mutex_lock(&mu);
    prune(now);
    struct tok_entry *e = cache;
    for (; e && strcmp(e->key, key); e = e->next)
        ;
    if (e) {
        have = ck_strdup(e->token);
        refresh = needs_refresh(e, now);
    }
    pthread_mutex_unlock(&mu);
    if (!refresh) {
        free(key);
        return have;
    }
    struct tok_entry fresh = {0};
    if (fetch(ag, ns, sa, pod, uid, aud, exp_sec, &fresh, err) < 0) {
        if (have) { /* upstream: keep the cached token while it is valid */
            ck_v(2, "token for %s/%s (pod %s): refresh failed, keeping the cached one: %s", ns, sa,
                 pod, err->msg);
            ck_err_clear(err);
        }
        free(key);
        return have;
    }
    free(have);
    pthread_mutex_lock(&mu);
    for (e = cache; e && strcmp(e->key, key); e = e->next)
        ;
    if (!e) {
        e = ck_calloc(1, sizeof(*e));
        e->key = key;
        e->pod_uid = ck_strdup(uid);
        e->next = cache;
        cache = e;
        key = NULL;
    } else {
        free(e->token);
    }
    e->token = fresh.token;
    e->exp = fresh.exp;
    e->exp_sec = fresh.exp_sec > 0 ? fresh.exp_sec : 1;
    char *out = ck_strdup(e->token);
    pthread_mutex_unlock(&mu);
    free(key);
    ck_v(3, "token for %s/%s (pod %s) fetched, expires in %lld s", ns, sa, pod,
         (long long)(fresh.exp - now));
    return out;
}
