/* SPDX-License-Identifier: Apache-2.0 */
/* Cron schedules as the CronJob controller reads them (robfig/cron v3 ParseStandard and
 * SpecSchedule.Next, which kube-controller-manager uses) with time zones from the system tz
 * database: TZif files (RFC 8536, versions 1-4) plus their POSIX TZ footer for instants past
 * the last transition, evaluated the way Go's time package does (zoneinfo.go lookup, tzset,
 * time.Date's resolution of skipped and repeated local times). Everything is pure and
 * thread-safe: a zone is an immutable value, no process-wide TZ is touched.
 * Times are seconds since the Unix epoch. */
#ifndef CK_CONTROLLERS_CRON_H
#define CK_CONTROLLERS_CRON_H

#include "lib/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- zones ---- */
struct cron_zone;
/* time.LoadLocation: "" and "UTC" are UTC; "Local" is $TZ or /etc/localtime; otherwise a
 * name under $ZONEINFO or /usr/share/zoneinfo ("America/New_York"). */
int cron_zone_load(const char *name, struct cron_zone **out, struct ck_err *err);
/* A zone from the bytes of a TZif file (untrusted input). */
int cron_zone_from_tzif(const unsigned char *buf, size_t len, struct cron_zone **out,
                        struct ck_err *err);
/* A zone from a POSIX TZ string alone ("EST5EDT,M3.2.0,M11.1.0"). */
int cron_zone_from_posix(const char *tz, struct cron_zone **out, struct ck_err *err);
void cron_zone_free(struct cron_zone *z);
struct cron_zone *cron_zone_copy(const struct cron_zone *z);
/* Location.lookup: the UTC offset in seconds at t and the period [*start, *end) it holds
 * (both optional). */
int cron_zone_offset(const struct cron_zone *z, int64_t t, int64_t *start, int64_t *end);

/* ---- civil time ---- */
struct cron_tm {
    int64_t year;
    int mon, mday, hour, min, sec, wday; /* mon 1-12, wday 0 = Sunday */
};
int64_t cron_days_from_civil(int64_t y, int m, int d);
/* The local fields of t in z. */
void cron_local(const struct cron_zone *z, int64_t t, struct cron_tm *out);
/* time.Date: normalises out-of-range fields and resolves local time to an instant. */
int64_t cron_date(const struct cron_zone *z, int64_t year, int64_t mon, int64_t day, int64_t hour,
                  int64_t min, int64_t sec);

/* ---- schedules ---- */
struct cron_sched;
/* cron.ParseStandard: 5 fields or a descriptor (@hourly, @every 1h30m, ...), with an optional
 * TZ=/CRON_TZ= prefix; local is the zone used without one (borrowed, NULL = UTC; the schedule
 * keeps a copy). The error message is robfig's. */
int cron_parse(const char *spec, const struct cron_zone *local, struct cron_sched **out,
               struct ck_err *err);
void cron_sched_free(struct cron_sched *s);
/* Schedule.Next: the first activation strictly after t, or 0 when none within 5 years. */
int64_t cron_next(const struct cron_sched *s, int64_t t);

/* ---- the CronJob controller's schedule arithmetic (pkg/controller/cronjob/utils.go) ---- */
enum cron_missed { CRON_NONE_MISSED = 0, CRON_FEW_MISSED, CRON_MANY_MISSED };
/* mostRecentScheduleTime: earliest is the last schedule time or the creation time; with
 * deadline_s >= 0 nothing older than now - deadline_s counts. *recent gets the most recent
 * activation <= now, or 0 when none is due. Returns -1 (err) for a schedule whose two next
 * activations are less than a second apart (an impossible date). */
int cron_most_recent(const struct cron_sched *s, int64_t earliest, int64_t now, int64_t deadline_s,
                     int64_t *recent, enum cron_missed *missed, struct ck_err *err);

#endif
