/* SPDX-License-Identifier: Apache-2.0 */
/* The CronJob controller (pkg/controller/cronjob/cronjob_controllerv2.go, utils.go): creates
 * a Job named <cronjob>-<scheduled minutes since the epoch> at each activation of the
 * schedule (robfig/cron semantics with TZ=/CRON_TZ= or spec.timeZone, see cron.c), honours
 * suspend, startingDeadlineSeconds (and the "too many missed start times" rule),
 * concurrencyPolicy Allow/Forbid/Replace, keeps status.active / lastScheduleTime /
 * lastSuccessfulTime, deletes finished Jobs beyond the history limits, and requeues itself for
 * the next activation. */
#include "controllers/cm.h"
#include "controllers/cron.h"
#include "controllers/jobevent.h"
#include "controllers/jobutil.h"
#include "ckube/indexer.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

#define CJ_PATH "/apis/batch/v1/cronjobs"
#define JOBS_PATH "/apis/batch/v1/jobs"
#define CJ_SCHEDULED_ANNOTATION "batch.kubernetes.io/cronjob-scheduled-timestamp"
#define NEXT_DELTA_NS (100LL * 1000000LL) /* nextScheduleDelta */
#define EV(cj, warn, reason, ...)                                                                  \
    jc_event(c->cm->client, cj, "CronJob", "cronjob-controller", warn, reason, __VA_ARGS__)

struct cjc {
    struct cm *cm;
    struct ck_informer *cjs, *jobs;
    struct wq *q;
    struct cron_zone *local;
    struct cm_workers w;
};

/* ---- handlers ---------------------------------------------------------------------------- */

static json_t *owner_of(struct cjc *c, const json_t *job)
{
    const json_t *ref = k8s_obj_controller_of(job);
    if (!ref || strcmp(k8s_jstr(ref, "kind"), "CronJob"))
        return NULL;
    json_t *cj = cm_get(c->cjs, k8s_obj_namespace(job), k8s_jstr(ref, "name"));
    if (cj && strcmp(k8s_obj_uid(cj), k8s_jstr(ref, "uid"))) {
        json_decref(cj);
        return NULL;
    }
    return cj;
}

static void job_event(void *arg, json_t *job)
{
    struct cjc *c = arg;
    json_t *cj = owner_of(c, job);
    if (cj)
        cm_enqueue_obj(c->q, cj);
    json_decref(cj);
}

static void job_updated(void *arg, json_t *old, json_t *cur)
{
    struct cjc *c = arg;
    job_event(c, cur);
    const json_t *o = k8s_obj_controller_of(old), *n = k8s_obj_controller_of(cur);
    if (o && (!n || strcmp(k8s_jstr(o, "uid"), k8s_jstr(n, "uid"))))
        job_event(c, old);
}

static void cj_added(void *arg, json_t *cj)
{
    cm_enqueue_obj(((struct cjc *)arg)->q, cj);
}

static void cj_updated(void *arg, json_t *old, json_t *cur)
{
    (void)old;
    cj_added(arg, cur);
}

/* ---- helpers ----------------------------------------------------------------------------- */

static bool active_has(const json_t *cj, const char *uid)
{
    size_t i;
    json_t *r;
    json_array_foreach(k8s_jpath(cj, "status.active"), i, r)
    {
        if (!strcmp(k8s_jstr(r, "uid"), uid))
            return true;
    }
    return false;
}

static bool active_remove(json_t *cj, const char *uid)
{
    json_t *a = k8s_jpath(cj, "status.active");
    for (size_t i = 0; i < json_array_size(a); i++) {
        if (!strcmp(k8s_jstr(json_array_get(a, i), "uid"), uid)) {
            json_array_remove(a, i);
            return true;
        }
    }
    return false;
}

static json_t *status_of(json_t *cj)
{
    json_t *st = json_object_get(cj, "status");
    if (!json_is_object(st)) {
        st = json_object();
        json_object_set_new(cj, "status", st);
    }
    return st;
}

static void rfc3339(int64_t t, char out[32])
{
    char b[21];
    ck_time_rfc3339((time_t)t, b);
    snprintf(out, 32, "%s", b);
}

/* RFC 3339 of t in zone z ("2024-01-01T09:00:00+09:00"; "Z" for UTC). */
static void rfc3339_in(const struct cron_zone *z, int64_t t, char out[40])
{
    struct cron_tm tm;
    cron_local(z, t, &tm);
    int off = cron_zone_offset(z, t, NULL, NULL);
    if (!off) {
        snprintf(out, 40, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)tm.year, tm.mon, tm.mday,
                 tm.hour, tm.min, tm.sec);
        return;
    }
    int a = off < 0 ? -off : off;
    snprintf(out, 40, "%04lld-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", (long long)tm.year, tm.mon,
             tm.mday, tm.hour, tm.min, tm.sec, off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

/* Go's time.RFC1123Z in UTC: "Mon, 02 Jan 2006 15:04:05 +0000". */
static void rfc1123z(int64_t t, char out[64])
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mons[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct cron_tm tm;
    struct cron_zone *utc = NULL;
    struct ck_err err = CK_ERR_INIT;
    cron_zone_load("UTC", &utc, &err);
    cron_local(utc, t, &tm);
    cron_zone_free(utc);
    snprintf(out, 64, "%s, %02d %s %04lld %02d:%02d:%02d +0000", days[tm.wday], tm.mday,
             mons[tm.mon - 1], (long long)tm.year, tm.hour, tm.min, tm.sec);
}

static int delete_job(struct cjc *c, json_t *cj, const json_t *job)
{
    char *path = ck_asprintf("/apis/batch/v1/namespaces/%s/jobs/%s?propagationPolicy=Background",
                             k8s_obj_namespace(job), k8s_obj_name(job));
    struct ck_err err = CK_ERR_INIT;
    int rc = ck_client_delete(c->cm->client, path, &err);
    free(path);
    if (rc < 0 && err.reason != CK_R_NOT_FOUND) {
        ck_warn("cronjob %s: deleting job %s: %s", k8s_obj_name(cj), k8s_obj_name(job), err.msg);
        return -1;
    }
    active_remove(cj, k8s_obj_uid(job));
    EV(cj, false, "SuccessfulDelete", "Deleted job %s", k8s_obj_name(job));
    return 0;
}

static int by_start(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int64_t sx = cm_jtime_ns(x, "status.startTime"), sy = cm_jtime_ns(y, "status.startTime");
    if (!sx != !sy)
        return sx ? -1 : 1; /* no start time sorts last */
    if (sx != sy)
        return sx < sy ? -1 : 1;
    return strcmp(k8s_obj_name(x), k8s_obj_name(y));
}

/* removeOldestJobs */
static bool remove_oldest(struct cjc *c, json_t *cj, json_t *jobs, int64_t keep)
{
    int64_t n = (int64_t)json_array_size(jobs) - keep;
    if (n <= 0)
        return false;
    size_t len = json_array_size(jobs);
    json_t **v = ck_calloc(len, sizeof(*v));
    for (size_t i = 0; i < len; i++)
        v[i] = json_array_get(jobs, i);
    qsort(v, len, sizeof(*v), by_start);
    bool changed = false;
    for (int64_t i = 0; i < n; i++)
        if (delete_job(c, cj, v[i]) == 0)
            changed = true;
    free(v);
    return changed;
}

/* cleanupFinishedJobs */
static bool cleanup_finished(struct cjc *c, json_t *cj, const json_t *jobs)
{
    json_t *sl = k8s_jpath(cj, "spec.successfulJobsHistoryLimit");
    json_t *fl = k8s_jpath(cj, "spec.failedJobsHistoryLimit");
    if (!json_is_integer(sl) && !json_is_integer(fl))
        return false;
    json_t *ok = json_array(), *bad = json_array();
    size_t i;
    json_t *j;
    json_array_foreach(jobs, i, j)
    {
        if (job_true_condition(j, "Complete"))
            json_array_append(ok, j);
        else if (job_true_condition(j, "Failed"))
            json_array_append(bad, j);
    }
    bool changed = false;
    if (json_is_integer(sl) && remove_oldest(c, cj, ok, json_integer_value(sl)))
        changed = true;
    if (json_is_integer(fl) && remove_oldest(c, cj, bad, json_integer_value(fl)))
        changed = true;
    json_decref(ok);
    json_decref(bad);
    return changed;
}

/* formatSchedule + cron.ParseStandard */
static int parse_schedule(struct cjc *c, const json_t *cj, struct cron_sched **s,
                          struct ck_err *err)
{
    const char *spec = k8s_jpath_str(cj, "spec.schedule");
    json_t *tz = k8s_jpath(cj, "spec.timeZone");
    if (!strstr(spec, "TZ") && json_is_string(tz)) {
        char *full = ck_asprintf("TZ=%s %s", json_string_value(tz), spec);
        int rc = cron_parse(full, c->local, s, err);
        free(full);
        return rc;
    }
    return cron_parse(spec, c->local, s, err);
}

/* nextScheduleTimeDuration: when to look again (ns from now), or -1. */
static int64_t next_duration(const json_t *cj, const struct cron_sched *s, int64_t now)
{
    int64_t earliest = cm_jtime_ns(cj, "status.lastScheduleTime") / 1000000000LL;
    if (!earliest)
        earliest = cm_jtime_ns(cj, "metadata.creationTimestamp") / 1000000000LL;
    int64_t recent;
    enum cron_missed missed;
    struct ck_err err = CK_ERR_INIT;
    if (cron_most_recent(s, earliest, now, -1, &recent, &missed, &err) < 0)
        return -1;
    int64_t next = cron_next(s, recent ? recent : earliest);
    if (!next)
        return -1;
    int64_t d = next * 1000000000LL + NEXT_DELTA_NS - ck_real_ns();
    return d > 0 ? d : 0;
}

/* getJobFromTemplate2 */
static json_t *job_from_template(struct cjc *c, const json_t *cj, int64_t scheduled)
{
    json_t *jt = k8s_jpath(cj, "spec.jobTemplate");
    json_t *labels = json_deep_copy(k8s_jpath(jt, "metadata.labels"));
    json_t *ann = json_deep_copy(k8s_jpath(jt, "metadata.annotations"));
    if (!json_is_object(labels)) {
        json_decref(labels);
        labels = json_object();
    }
    if (!json_is_object(ann)) {
        json_decref(ann);
        ann = json_object();
    }
    struct cron_zone *z = NULL;
    struct ck_err err = CK_ERR_INIT;
    json_t *tz = k8s_jpath(cj, "spec.timeZone");
    if (cron_zone_load(json_is_string(tz) ? json_string_value(tz) : "", &z, &err) == 0) {
        char ts[40];
        rfc3339_in(z, scheduled, ts);
        json_object_set_new(ann, CJ_SCHEDULED_ANNOTATION, json_string(ts));
        cron_zone_free(z);
    }
    char *name = ck_asprintf("%s-%lld", k8s_obj_name(cj), (long long)(scheduled / 60));
    json_t *spec = json_deep_copy(k8s_jpath(jt, "spec"));
    if (!json_is_object(spec)) {
        json_decref(spec);
        spec = json_object();
    }
    json_t *job =
        json_pack("{s:s,s:s,s:{s:s,s:o,s:o,s:[o]},s:o}", "apiVersion", "batch/v1", "kind", "Job",
                  "metadata", "name", name, "labels", labels, "annotations", ann, "ownerReferences",
                  cm_controller_ref(cj, "batch/v1", "CronJob"), "spec", spec);
    free(name);
    (void)c;
    return job;
}

static json_t *job_ref(const json_t *job)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "Job", "namespace",
                     k8s_obj_namespace(job), "name", k8s_obj_name(job), "uid", k8s_obj_uid(job),
                     "apiVersion", "batch/v1", "resourceVersion",
                     k8s_jpath_str(job, "metadata.resourceVersion"));
}

/* syncCronJob: *requeue_ns gets when to look again (-1: not). */
static int sync_cronjob(struct cjc *c, json_t *cj, const json_t *jobs, bool *update,
                        int64_t *requeue_ns)
{
    *requeue_ns = -1;
    const char *ns = k8s_obj_namespace(cj);
    int64_t now = ck_real_ns() / 1000000000LL;
    json_t *st = status_of(cj);
    size_t i;
    json_t *j;
    json_array_foreach(jobs, i, j)
    {
        bool found = active_has(cj, k8s_obj_uid(j));
        bool finished = job_is_finished(j);
        if (!found && !finished) {
            /* the cache may lag our own status update: ask the API server */
            char *path =
                ck_asprintf("/apis/batch/v1/namespaces/%s/cronjobs/%s", ns, k8s_obj_name(cj));
            json_t *fresh = NULL;
            struct ck_err err = CK_ERR_INIT;
            if (ck_client_get_json(c->cm->client, path, &fresh, &err) == 0 &&
                !strcmp(k8s_obj_uid(fresh), k8s_obj_uid(cj)) && active_has(fresh, k8s_obj_uid(j))) {
                json_object_update(cj, fresh);
                st = status_of(cj);
            } else {
                EV(cj, true, "UnexpectedJob",
                   "Saw a job that the controller did not create or forgot: %s", k8s_obj_name(j));
            }
            json_decref(fresh);
            free(path);
        } else if (found && finished) {
            active_remove(cj, k8s_obj_uid(j));
            EV(cj, false, "SawCompletedJob", "Saw completed job: %s, condition: %s",
               k8s_obj_name(j), job_true_condition(j, "Complete") ? "Complete" : "Failed");
            *update = true;
        } else if (finished) {
            int64_t ct = cm_jtime_ns(j, "status.completionTime");
            if (ct && ct > cm_jtime_ns(st, "lastSuccessfulTime")) {
                json_object_set(st, "lastSuccessfulTime", k8s_jpath(j, "status.completionTime"));
                *update = true;
            }
        }
    }
    /* active entries whose Job is gone */
    json_t *act = json_object_get(st, "active");
    for (size_t k = 0; k < json_array_size(act);) {
        json_t *r = json_array_get(act, k);
        bool child = false;
        json_array_foreach(jobs, i, j)
        {
            if (!strcmp(k8s_obj_uid(j), k8s_jstr(r, "uid")))
                child = true;
        }
        if (child) {
            k++;
            continue;
        }
        char *path = ck_asprintf("/apis/batch/v1/namespaces/%s/jobs/%s", ns, k8s_jstr(r, "name"));
        struct ck_err err = CK_ERR_INIT;
        int rc = ck_client_get_json(c->cm->client, path, NULL, &err);
        free(path);
        if (rc < 0 && err.reason == CK_R_NOT_FOUND) {
            EV(cj, false, "MissingJob", "Active job went missing: %s", k8s_jstr(r, "name"));
            json_array_remove(act, k);
            *update = true;
            continue;
        }
        if (rc < 0)
            return -1;
        k++;
    }
    if (k8s_obj_deleting(cj))
        return 0;
    json_t *tz = k8s_jpath(cj, "spec.timeZone");
    struct ck_err err = CK_ERR_INIT;
    if (json_is_string(tz)) {
        struct cron_zone *z = NULL;
        if (cron_zone_load(json_string_value(tz), &z, &err) < 0) {
            EV(cj, true, "UnknownTimeZone", "invalid timeZone: \"%s\": %s", json_string_value(tz),
               err.msg);
            return 0;
        }
        cron_zone_free(z);
    }
    if (json_is_true(k8s_jpath(cj, "spec.suspend")))
        return 0;
    struct cron_sched *s = NULL;
    if (strstr(k8s_jpath_str(cj, "spec.schedule"), "TZ"))
        EV(cj, true, "UnsupportedSchedule",
           "CRON_TZ or TZ used in schedule \"%s\" is not officially supported, see "
           "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details",
           k8s_jpath_str(cj, "spec.schedule"));
    if (parse_schedule(c, cj, &s, &err) < 0) {
        EV(cj, true, "UnparseableSchedule", "unparseable schedule: \"%s\" : %s",
           k8s_jpath_str(cj, "spec.schedule"), err.msg);
        return 0;
    }
    int64_t earliest = cm_jtime_ns(cj, "status.lastScheduleTime") / 1000000000LL;
    if (!earliest)
        earliest = cm_jtime_ns(cj, "metadata.creationTimestamp") / 1000000000LL;
    int64_t deadline = cm_jint(cj, "spec.startingDeadlineSeconds", -1);
    int64_t sched;
    enum cron_missed missed;
    if (cron_most_recent(s, earliest, now, deadline, &sched, &missed, &err) < 0) {
        EV(cj, true, "InvalidSchedule", "invalid schedule: %s : %s",
           k8s_jpath_str(cj, "spec.schedule"), err.msg);
        cron_sched_free(s);
        return 0;
    }
    if (missed == CRON_MANY_MISSED && sched && sched <= now)
        EV(cj, true, "TooManyMissedTimes",
           "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check "
           "clock skew");
    int rc = 0;
    if (!sched || sched > now)
        goto requeue;
    if (deadline >= 0 && sched + deadline < now) {
        char when[64];
        rfc1123z(sched, when);
        EV(cj, true, "MissSchedule", "Missed scheduled time to start a job: %s", when);
        goto requeue;
    }
    char jname[300];
    snprintf(jname, sizeof(jname), "%s-%lld", k8s_obj_name(cj), (long long)(sched / 60));
    bool processed = cm_jtime_ns(st, "lastScheduleTime") == sched * 1000000000LL;
    json_array_foreach(json_object_get(st, "active"), i, j)
    {
        if (!strcmp(k8s_jstr(j, "name"), jname))
            processed = true;
    }
    if (processed)
        goto requeue;
    const char *policy = k8s_jpath_str(cj, "spec.concurrencyPolicy");
    if (!strcmp(policy, "Forbid") && json_array_size(json_object_get(st, "active"))) {
        EV(cj, false, "JobAlreadyActive",
           "Not starting job because prior execution is running and concurrency policy is Forbid");
        goto requeue;
    }
    if (!strcmp(policy, "Replace")) {
        json_t *copy = json_deep_copy(json_object_get(st, "active"));
        json_array_foreach(copy, i, j)
        {
            json_t *job = cm_get(c->jobs, k8s_jstr(j, "namespace"), k8s_jstr(j, "name"));
            json_t *target = job ? job : json_incref(j);
            if (delete_job(c, cj, target) < 0)
                rc = -1;
            json_decref(target);
            *update = true;
        }
        json_decref(copy);
        if (rc < 0)
            goto out;
    }
    json_t *req = job_from_template(c, cj, sched);
    char *coll = ck_asprintf("/apis/batch/v1/namespaces/%s/jobs", ns);
    json_t *created = NULL;
    int crc = ck_client_create_json(c->cm->client, coll, req, &created, &err);
    free(coll);
    json_decref(req);
    if (crc < 0 && err.reason == CK_R_ALREADY_EXISTS) {
        json_decref(created);
        created = cm_get(c->jobs, ns, jname);
        if (!created) {
            char *path = ck_asprintf("/apis/batch/v1/namespaces/%s/jobs/%s", ns, jname);
            struct ck_err e2 = CK_ERR_INIT;
            if (ck_client_get_json(c->cm->client, path, &created, &e2) < 0)
                created = NULL;
            free(path);
        }
        if (!created || !k8s_obj_is_controlled_by(created, k8s_obj_uid(cj))) {
            json_decref(created);
            rc = created ? 0 : -1;
            goto out;
        }
        ck_info("cronjob %s/%s: job %s already exists", ns, k8s_obj_name(cj), jname);
    } else if (crc < 0) {
        if (!(err.reason == CK_R_FORBIDDEN && strstr(err.msg, "being terminated")))
            EV(cj, true, "FailedCreate", "Error creating job: %s", err.msg);
        json_decref(created);
        rc = -1;
        goto out;
    } else {
        ck_info("cronjob %s/%s: created job %s", ns, k8s_obj_name(cj), jname);
        EV(cj, false, "SuccessfulCreate", "Created job %s", jname);
    }
    act = json_object_get(st, "active");
    if (!json_is_array(act)) {
        act = json_array();
        json_object_set_new(st, "active", act);
    }
    if (!active_has(cj, k8s_obj_uid(created)))
        json_array_append_new(act, job_ref(created));
    json_decref(created);
    char ts[32];
    rfc3339(sched, ts);
    json_object_set_new(st, "lastScheduleTime", json_string(ts));
    *update = true;
requeue : {
    /* the status as it will be after this sync decides the next wake-up */
    *requeue_ns = next_duration(cj, s, now);
}
out:
    cron_sched_free(s);
    return rc;
}

static int sync_key(void *arg, const char *key)
{
    struct cjc *c = arg;
    const char *slash = strchr(key, '/');
    if (!slash)
        return 0;
    char *ns = ck_strndup(key, (size_t)(slash - key));
    json_t *cached = cm_get(c->cjs, ns, slash + 1);
    if (!cached) {
        free(ns);
        return 0;
    }
    json_t *owned =
        ck_indexer_by_index(ck_informer_indexer(c->jobs), "owner-uid", k8s_obj_uid(cached));
    json_t *jobs = json_array();
    size_t i;
    json_t *j;
    json_array_foreach(owned, i, j)
    {
        if (k8s_obj_is_controlled_by(j, k8s_obj_uid(cached)) && !strcmp(k8s_obj_namespace(j), ns))
            json_array_append(jobs, j);
    }
    json_decref(owned);
    json_t *cj = json_deep_copy(cached);
    bool update = false;
    int64_t requeue = -1;
    int rc = sync_cronjob(c, cj, jobs, &update, &requeue);
    if (cleanup_finished(c, cj, jobs))
        update = true;
    json_t *act = k8s_jpath(cj, "status.active");
    if (act && json_array_size(act) == 0)
        json_object_del(json_object_get(cj, "status"), "active"); /* omitempty */
    if (update &&
        !cm_status_equal(json_object_get(cached, "status"), json_object_get(cj, "status"))) {
        char *path =
            ck_asprintf("/apis/batch/v1/namespaces/%s/cronjobs/%s/status", ns, k8s_obj_name(cj));
        struct ck_err err = CK_ERR_INIT;
        if (ck_client_update_json(c->cm->client, path, cj, NULL, &err) < 0 &&
            err.reason != CK_R_NOT_FOUND) {
            if (err.reason != CK_R_CONFLICT)
                ck_warn("cronjob %s status: %s", key, err.msg);
            rc = -1;
        }
        free(path);
    }
    if (requeue >= 0)
        wq_add_after(c->q, key, requeue);
    json_decref(cj);
    json_decref(jobs);
    json_decref(cached);
    free(ns);
    return rc;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static int cj_init(struct cm *cm, void **state)
{
    struct cjc *c = ck_calloc(1, sizeof(*c));
    c->cm = cm;
    c->cjs = ck_informer_factory_get(cm->factory, CJ_PATH);
    c->jobs = ck_informer_factory_get(cm->factory, JOBS_PATH);
    ck_indexer_add_index(ck_informer_indexer(c->jobs), "owner-uid", cm_index_owner_uid);
    struct ck_err err = CK_ERR_INIT;
    if (cron_zone_load("Local", &c->local, &err) < 0)
        cron_zone_load("UTC", &c->local, &err);
    c->q = wq_new(&(struct wq_opts){.name = "cronjob"});
    ck_informer_add_handlers(c->cjs,
                             &(struct ck_informer_handlers){cj_added, cj_updated, cj_added, c});
    ck_informer_add_handlers(c->jobs,
                             &(struct ck_informer_handlers){job_event, job_updated, job_event, c});
    *state = c;
    return 0;
}

static void cj_run(void *state)
{
    struct cjc *c = state;
    c->w = (struct cm_workers){.q = c->q, .sync = sync_key, .arg = c, .ctrl = &cm_cronjob};
    cm_workers_start(&c->w, c->cm->workers);
}

static void cj_stop(void *state)
{
    struct cjc *c = state;
    wq_shutdown(c->q);
    cm_workers_join(&c->w);
}

static void cj_free(void *state)
{
    struct cjc *c = state;
    wq_free(c->q);
    cron_zone_free(c->local);
    free(c);
}

struct cm_controller cm_cronjob = {.name = "cronjob",
                                   .alias = "cronjob-controller",
                                   .init = cj_init,
                                   .run = cj_run,
                                   .stop = cj_stop,
                                   .free = cj_free};
