/* SPDX-License-Identifier: Apache-2.0 */
/* Cron schedules (robfig/cron v3 parser.go and spec.go semantics) and the CronJob
 * controller's schedule arithmetic (utils.go mostRecentScheduleTime). See cron.h. */
#include "controllers/cron.h"
#include "lib/buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define STAR (1ULL << 63)
#define CRON_MAX_STEPS 4000000L

struct cron_sched {
    uint64_t second, minute, hour, dom, month, dow;
    int64_t every; /* > 0: @every (ConstantDelaySchedule), seconds */
    struct cron_zone *zone;
};

struct bounds {
    int min, max;
    const char *const *names; /* lower-case, index = value */
};

static const char *const month_names[] = {"",    "jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};
static const struct bounds b_min = {0, 59, NULL}, b_hour = {0, 23, NULL}, b_dom = {1, 31, NULL},
                           b_month = {1, 12, month_names}, b_dow = {0, 6, dow_names};

static uint64_t bits(int min, int max, int step)
{
    uint64_t b = 0;
    if (step == 1)
        return max >= 63 ? ~0ULL >> 1 : (~(~0ULL << (max + 1))) & (~0ULL << min);
    for (int i = min; i <= max; i += step)
        b |= 1ULL << i;
    return b;
}

static uint64_t all(const struct bounds *r)
{
    return bits(r->min, r->max, 1) | STAR;
}

/* mustParseInt / parseIntOrName */
static int parse_int(const char *s, size_t n, const struct bounds *r, int *out, struct ck_err *err)
{
    char buf[64];
    if (n >= sizeof(buf))
        n = sizeof(buf) - 1;
    memcpy(buf, s, n);
    buf[n] = 0;
    if (r && r->names) {
        for (int i = 0; r->names[i]; i++) {
            if (*r->names[i] && !strcasecmp(buf, r->names[i])) {
                *out = i;
                return 0;
            }
        }
    }
    char *end;
    long v = strtol(buf, &end, 10);
    if (!*buf || *end || end == buf || v > 1000000 || v < -1000000)
        return ck_err_set(err, CK_R_INVALID,
                          "failed to parse int from %s: strconv.Atoi: parsing "
                          "\"%s\": invalid syntax",
                          buf, buf);
    if (v < 0)
        return ck_err_set(err, CK_R_INVALID, "negative number (%ld) not allowed: %s", v, buf);
    *out = (int)v;
    return 0;
}

/* getRange */
static int get_range(const char *expr, size_t n, const struct bounds *r, uint64_t *out,
                     struct ck_err *err)
{
    char e[128];
    if (n >= sizeof(e))
        return ck_err_set(err, CK_R_INVALID, "failed to parse int from %.*s", (int)n, expr);
    memcpy(e, expr, n);
    e[n] = 0;
    char *slash = strchr(e, '/');
    if (slash && strchr(slash + 1, '/'))
        return ck_err_set(err, CK_R_INVALID, "too many slashes: %s", e);
    size_t rn = slash ? (size_t)(slash - e) : n;
    const char *dash = memchr(e, '-', rn);
    if (dash && memchr(dash + 1, '-', rn - (size_t)(dash + 1 - e)))
        return ck_err_set(err, CK_R_INVALID, "too many hyphens: %.*s", (int)rn, e);
    int start, end, step = 1;
    uint64_t extra = 0;
    bool single = !dash;
    if ((rn == 1 && (e[0] == '*' || e[0] == '?'))) {
        start = r->min;
        end = r->max;
        extra = STAR;
    } else {
        size_t ln = dash ? (size_t)(dash - e) : rn;
        if (parse_int(e, ln, r, &start, err) < 0)
            return -1;
        end = start;
        if (dash && parse_int(dash + 1, rn - ln - 1, r, &end, err) < 0)
            return -1;
    }
    if (slash) {
        if (parse_int(slash + 1, strlen(slash + 1), NULL, &step, err) < 0)
            return -1;
        if (single)
            end = r->max;
        if (step > 1)
            extra = 0;
    }
    if (start < r->min)
        return ck_err_set(err, CK_R_INVALID, "beginning of range (%d) below minimum (%d): %s",
                          start, r->min, e);
    if (end > r->max)
        return ck_err_set(err, CK_R_INVALID, "end of range (%d) above maximum (%d): %s", end,
                          r->max, e);
    if (start > end)
        return ck_err_set(err, CK_R_INVALID, "beginning of range (%d) beyond end of range (%d): %s",
                          start, end, e);
    if (step == 0)
        return ck_err_set(err, CK_R_INVALID, "step of range should be a positive number: %s", e);
    *out = bits(start, end, step) | extra;
    return 0;
}

/* getField: comma-separated ranges. */
static int get_field(const char *f, const struct bounds *r, uint64_t *out, struct ck_err *err)
{
    *out = 0;
    const char *p = f;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        uint64_t b = 0;
        if (get_range(p, n, r, &b, err) < 0)
            return -1;
        *out |= b;
        if (!c)
            return 0;
        p = c + 1;
    }
}

/* time.ParseDuration, whole seconds kept (robfig's Every rounds down, at least 1 s). */
static int parse_duration(const char *s, int64_t *out)
{
    const char *p = s;
    double total = 0;
    bool neg = false;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (!strcmp(p, "0")) {
        *out = 0;
        return 0;
    }
    if (!*p)
        return -1;
    while (*p) {
        if (!isdigit((unsigned char)*p) && *p != '.')
            return -1;
        char *end;
        double v = strtod(p, &end);
        if (end == p)
            return -1;
        p = end;
        static const struct {
            const char *u;
            double s;
        } units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"ms", 1e-3},
                     {"s", 1},     {"m", 60},    {"h", 3600}};
        size_t best = 0, bl = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t l = strlen(units[i].u);
            if (!strncmp(p, units[i].u, l) && l > bl) {
                best = i;
                bl = l;
            }
        }
        if (!bl)
            return -1;
        total += v * units[best].s;
        if (total > 9.2e9)
            return -1;
        p += bl;
    }
    *out = (int64_t)(neg ? -total : total);
    return 0;
}

static int descriptor(const char *spec, struct cron_sched *s, struct ck_err *err)
{
    uint64_t one = 1;
    s->second = one;
    s->minute = one;
    s->hour = one;
    s->dom = all(&b_dom);
    s->month = all(&b_month);
    s->dow = all(&b_dow);
    if (!strcmp(spec, "@yearly") || !strcmp(spec, "@annually")) {
        s->dom = one << 1;
        s->month = one << 1;
    } else if (!strcmp(spec, "@monthly")) {
        s->dom = one << 1;
    } else if (!strcmp(spec, "@weekly")) {
        s->dow = one;
    } else if (!strcmp(spec, "@daily") || !strcmp(spec, "@midnight")) {
    } else if (!strcmp(spec, "@hourly")) {
        s->hour = all(&b_hour);
    } else if (!strncmp(spec, "@every ", 7)) {
        int64_t d;
        if (parse_duration(spec + 7, &d) < 0)
            return ck_err_set(err, CK_R_INVALID,
                              "failed to parse duration %s: time: invalid duration \"%s\"", spec,
                              spec + 7);
        s->every = d < 1 ? 1 : d;
    } else {
        return ck_err_set(err, CK_R_INVALID, "unrecognized descriptor: %s", spec);
    }
    return 0;
}

void cron_sched_free(struct cron_sched *s)
{
    if (!s)
        return;
    cron_zone_free(s->zone);
    free(s);
}

int cron_parse(const char *spec, const struct cron_zone *local, struct cron_sched **out,
               struct ck_err *err)
{
    *out = NULL;
    if (!spec || !*spec)
        return ck_err_set(err, CK_R_INVALID, "empty spec string");
    struct cron_sched *s = ck_calloc(1, sizeof(*s));
    char *work = ck_strdup(spec);
    char *p = work;
    if (!strncmp(p, "TZ=", 3) || !strncmp(p, "CRON_TZ=", 8)) {
        char *sp = strchr(p, ' ');
        char *eq = strchr(p, '=');
        if (!sp) {
            ck_err_set(err, CK_R_INVALID, "provided bad location %s: unknown time zone %s", eq + 1,
                       eq + 1);
            goto fail;
        }
        *sp = 0;
        if (cron_zone_load(eq + 1, &s->zone, err) < 0) {
            ck_err_set(err, CK_R_INVALID, "provided bad location %s: unknown time zone %s", eq + 1,
                       eq + 1);
            goto fail;
        }
        p = sp + 1;
    } else if (local) {
        s->zone = cron_zone_copy(local);
    } else if (cron_zone_load("UTC", &s->zone, err) < 0) {
        goto fail;
    }
    while (isspace((unsigned char)*p))
        p++;
    size_t l = strlen(p);
    while (l && isspace((unsigned char)p[l - 1]))
        p[--l] = 0;
    if (*p == '@') {
        if (descriptor(p, s, err) < 0)
            goto fail;
    } else {
        char *fields[6];
        int n = 0;
        for (char *save = NULL, *t = strtok_r(p, " \t\n\r\v\f", &save); t;
             t = strtok_r(NULL, " \t\n\r\v\f", &save)) {
            if (n < 6)
                fields[n] = t;
            n++;
        }
        if (n != 5) {
            struct ck_buf b = CK_BUF_INIT(4096);
            for (int i = 0; i < n && i < 6; i++)
                ck_buf_appendf(&b, "%s%s", i ? " " : "", fields[i]);
            ck_err_set(err, CK_R_INVALID, "expected exactly 5 fields, found %d: [%s]", n,
                       b.len ? b.data : "");
            ck_buf_release(&b);
            goto fail;
        }
        s->second = 1;
        if (get_field(fields[0], &b_min, &s->minute, err) < 0 ||
            get_field(fields[1], &b_hour, &s->hour, err) < 0 ||
            get_field(fields[2], &b_dom, &s->dom, err) < 0 ||
            get_field(fields[3], &b_month, &s->month, err) < 0 ||
            get_field(fields[4], &b_dow, &s->dow, err) < 0)
            goto fail;
    }
    free(work);
    *out = s;
    return 0;
fail:
    free(work);
    cron_sched_free(s);
    return -1;
}

static bool day_matches(const struct cron_sched *s, const struct cron_tm *t)
{
    bool dom = (1ULL << t->mday) & s->dom, dow = (1ULL << t->wday) & s->dow;
    if ((s->dom & STAR) || (s->dow & STAR))
        return dom && dow;
    return dom || dow;
}

int64_t cron_next(const struct cron_sched *s, int64_t t)
{
    if (s->every > 0)
        return t + s->every;
    const struct cron_zone *z = s->zone;
    t += 1;
    bool added = false;
    struct cron_tm tm;
    cron_local(z, t, &tm);
    int64_t year_limit = tm.year + 5;
    /* a bound on the steps, for zones whose local clock does not advance with time */
    long steps = 0;
wrap:
    cron_local(z, t, &tm);
    if (tm.year > year_limit)
        return 0;
    while (!((1ULL << tm.mon) & s->month)) {
        if (++steps > CRON_MAX_STEPS)
            return 0;
        if (!added) {
            added = true;
            t = cron_date(z, tm.year, tm.mon, 1, 0, 0, 0);
            cron_local(z, t, &tm);
        }
        t = cron_date(z, tm.year, tm.mon + 1, tm.mday, tm.hour, tm.min, tm.sec);
        cron_local(z, t, &tm);
        if (tm.mon == 1)
            goto wrap;
    }
    while (!day_matches(s, &tm)) {
        if (++steps > CRON_MAX_STEPS)
            return 0;
        if (!added) {
            added = true;
            t = cron_date(z, tm.year, tm.mon, tm.mday, 0, 0, 0);
            cron_local(z, t, &tm);
        }
        t = cron_date(z, tm.year, tm.mon, tm.mday + 1, tm.hour, tm.min, tm.sec);
        cron_local(z, t, &tm);
        /* the hour is no longer midnight because of DST: 23 -> next day, 1 -> back */
        if (tm.hour != 0) {
            if (tm.hour > 12)
                t += (int64_t)(24 - tm.hour) * 3600;
            else
                t -= (int64_t)tm.hour * 3600;
            cron_local(z, t, &tm);
        }
        if (tm.mday == 1)
            goto wrap;
    }
    while (!((1ULL << tm.hour) & s->hour)) {
        if (++steps > CRON_MAX_STEPS)
            return 0;
        if (!added) {
            added = true;
            t = cron_date(z, tm.year, tm.mon, tm.mday, tm.hour, 0, 0);
            cron_local(z, t, &tm);
        }
        t += 3600;
        cron_local(z, t, &tm);
        if (tm.hour == 0)
            goto wrap;
    }
    while (!((1ULL << tm.min) & s->minute)) {
        if (++steps > CRON_MAX_STEPS)
            return 0;
        if (!added) {
            added = true;
            t -= ((t % 60) + 60) % 60;
            cron_local(z, t, &tm);
        }
        t += 60;
        cron_local(z, t, &tm);
        if (tm.min == 0)
            goto wrap;
    }
    while (!((1ULL << tm.sec) & s->second)) {
        if (++steps > CRON_MAX_STEPS)
            return 0;
        if (!added)
            added = true;
        t += 1;
        cron_local(z, t, &tm);
        if (tm.sec == 0)
            goto wrap;
    }
    return t;
}

int cron_most_recent(const struct cron_sched *s, int64_t earliest, int64_t now, int64_t deadline_s,
                     int64_t *recent, enum cron_missed *missed, struct ck_err *err)
{
    *recent = 0;
    *missed = CRON_NONE_MISSED;
    if (deadline_s >= 0 && now - deadline_s > earliest)
        earliest = now - deadline_s;
    int64_t t1 = cron_next(s, earliest);
    if (t1 && now < t1)
        return 0;
    int64_t t2 = t1 ? cron_next(s, t1) : 0;
    if (t2 && now < t2) {
        *recent = t1;
        return 0;
    }
    int64_t between = t2 - t1;
    if (!t1 || !t2 || between < 1)
        return ck_err_set(err, CK_R_INVALID,
                          "time difference between two schedules is less than 1 second");
    int64_t elapsed = now - t1;
    int64_t nmissed = elapsed / between + 1;
    int64_t t = t1 + (nmissed - 2) * between;
    int64_t most = 0;
    for (int64_t n = cron_next(s, t); n && n <= now; n = cron_next(s, n))
        most = n;
    if (nmissed > 100)
        *missed = CRON_MANY_MISSED;
    else if (nmissed > 1)
        *missed = CRON_FEW_MISSED;
    *recent = most;
    return 0;
}
