/* SPDX-License-Identifier: Apache-2.0 */
/* Lease-based leader election. */
#include "ckube/leader.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct elector {
    struct ck_client *c;
    const struct ck_leader_opts *o;
    int lease_ms, renew_ms, retry_ms;
    char path[512], coll[512];
    /* last observed lease record and when (local monotonic ms) it last changed */
    char observed_holder[256];
    char observed_renew[64];
    int64_t observed_at;
    bool leading;
    char reported_leader[256];
};

static void micro_now(char out[40])
{
    int64_t ns = ck_real_ns();
    char full[31];
    ck_time_rfc3339nano(ns, full);
    /* MicroTime: microsecond precision "2026-11-23T09:00:00.123456Z" */
    snprintf(out, 40, "%.26sZ", full);
}

static json_t *lease_spec(struct elector *e, int transitions, const char *acquire)
{
    char now[40];
    micro_now(now);
    return json_pack("{s:s,s:i,s:s,s:s,s:i}", "holderIdentity", e->o->identity,
                     "leaseDurationSeconds", (e->lease_ms + 999) / 1000, "acquireTime",
                     acquire ? acquire : now, "renewTime", now, "leaseTransitions", transitions);
}

static void observe(struct elector *e, const char *holder, const char *renew)
{
    if (strcmp(holder, e->observed_holder) || strcmp(renew, e->observed_renew)) {
        snprintf(e->observed_holder, sizeof(e->observed_holder), "%s", holder);
        snprintf(e->observed_renew, sizeof(e->observed_renew), "%s", renew);
        e->observed_at = ck_mono_ms();
    }
    if (strcmp(holder, e->reported_leader) && *holder) {
        snprintf(e->reported_leader, sizeof(e->reported_leader), "%s", holder);
        if (e->o->on_new_leader)
            e->o->on_new_leader(e->o->arg, holder);
    }
}

/* One attempt to acquire or renew; true if we hold the lease afterwards. */
static bool try_acquire_or_renew(struct elector *e)
{
    struct ck_err err = CK_ERR_INIT;
    json_t *lease = NULL;
    bool ok = false;
    if (ck_client_get_json(e->c, e->path, &lease, &err) < 0) {
        if (err.reason != CK_R_NOT_FOUND) {
            ck_v(2, "leader: get %s: %s", e->path, err.msg);
            return false;
        }
        json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:s},s:o}", "apiVersion", "coordination.k8s.io/v1",
                                "kind", "Lease", "metadata", "name", e->o->lease_name, "namespace",
                                e->o->lease_namespace, "spec", lease_spec(e, 0, NULL));
        ok = ck_client_create_json(e->c, e->coll, obj, NULL, &err) == 0;
        if (!ok)
            ck_v(2, "leader: create %s: %s", e->path, err.msg);
        json_decref(obj);
        if (ok)
            observe(e, e->o->identity, "created");
        return ok;
    }
    json_t *spec = json_object_get(lease, "spec");
    const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
    const char *renew = json_string_value(json_object_get(spec, "renewTime"));
    holder = holder ? holder : "";
    observe(e, holder, renew ? renew : "");
    bool mine = !strcmp(holder, e->o->identity);
    bool expired = ck_mono_ms() >= e->observed_at + e->lease_ms;
    if (!mine && *holder && !expired) {
        json_decref(lease);
        return false;
    }
    int transitions = (int)json_integer_value(json_object_get(spec, "leaseTransitions"));
    const char *acq = json_string_value(json_object_get(spec, "acquireTime"));
    json_t *nspec = lease_spec(e, mine ? transitions : transitions + 1, mine ? acq : NULL);
    json_object_set_new(lease, "spec", nspec);
    /* PUT carries the resourceVersion we read: a concurrent change gives 409 */
    ok = ck_client_update_json(e->c, e->path, lease, NULL, &err) == 0;
    if (!ok)
        ck_v(2, "leader: update %s: %s", e->path, err.msg);
    else
        observe(e, e->o->identity, json_string_value(json_object_get(nspec, "renewTime")));
    json_decref(lease);
    return ok;
}

static void release(struct elector *e)
{
    struct ck_err err = CK_ERR_INIT;
    json_t *lease = NULL;
    if (ck_client_get_json(e->c, e->path, &lease, &err) < 0)
        return;
    json_t *spec = json_object_get(lease, "spec");
    const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
    if (holder && !strcmp(holder, e->o->identity)) {
        json_object_set_new(spec, "holderIdentity", json_string(""));
        json_object_set_new(spec, "leaseDurationSeconds", json_integer(1));
        ck_client_update_json(e->c, e->path, lease, NULL, &err);
    }
    json_decref(lease);
}

static void sleep_ms(struct elector *e, int ms, volatile int *stop)
{
    (void)e;
    int jit = ms / 5 ? rand() % (ms / 5) : 0; /* jitter like wait.JitterUntil(…, 1.2) */
    for (int t = 0; t < ms + jit && !(stop && *stop); t += 20) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int ck_leader_run(struct ck_client *c, const struct ck_leader_opts *o, volatile int *stop,
                  struct ck_err *err)
{
    if (!o->lease_namespace || !o->lease_name || !o->identity || !*o->identity)
        return ck_err_set(err, CK_R_BAD_REQUEST, "leader election needs a lease and an identity");
    struct elector e = {.c = c, .o = o};
    e.lease_ms = o->lease_duration_ms > 0 ? o->lease_duration_ms : 15000;
    e.renew_ms = o->renew_deadline_ms > 0 ? o->renew_deadline_ms : 10000;
    e.retry_ms = o->retry_period_ms > 0 ? o->retry_period_ms : 2000;
    if (e.lease_ms <= e.renew_ms || e.renew_ms <= e.retry_ms)
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "leader election: need lease duration > renew deadline > retry period");
    snprintf(e.coll, sizeof(e.coll), "/apis/coordination.k8s.io/v1/namespaces/%s/leases",
             o->lease_namespace);
    snprintf(e.path, sizeof(e.path), "%s/%s", e.coll, o->lease_name);
    /* campaign */
    while (!(stop && *stop)) {
        if (try_acquire_or_renew(&e))
            break;
        sleep_ms(&e, e.retry_ms, stop);
    }
    if (stop && *stop)
        return 0;
    ck_info("leader: %s acquired lease %s/%s", o->identity, o->lease_namespace, o->lease_name);
    e.leading = true;
    if (o->on_started_leading)
        o->on_started_leading(o->arg);
    /* renew until the deadline passes without a successful renewal */
    int64_t last_renew = ck_mono_ms();
    while (!(stop && *stop)) {
        sleep_ms(&e, e.retry_ms, stop);
        if (stop && *stop)
            break;
        if (try_acquire_or_renew(&e)) {
            last_renew = ck_mono_ms();
        } else if (ck_mono_ms() - last_renew > e.renew_ms) {
            ck_warn("leader: %s failed to renew lease %s/%s within %d ms", o->identity,
                    o->lease_namespace, o->lease_name, e.renew_ms);
            break;
        }
    }
    if (stop && *stop)
        release(&e);
    ck_info("leader: %s stopped leading", o->identity);
    if (o->on_stopped_leading)
        o->on_stopped_leading(o->arg);
    return 0;
}
