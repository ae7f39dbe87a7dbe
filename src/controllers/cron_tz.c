/* SPDX-License-Identifier: Apache-2.0 */
/* Time zones for cron schedules: TZif parsing, POSIX TZ rules and civil-time arithmetic,
 * with Go's semantics (see cron.h). Untrusted input (a TZif file, a TZ string) is bounds-
 * checked everywhere; fuzz/fuzz_cron.c exercises it. */
#include "controllers/cron.h"
#include "lib/buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define ALPHA INT64_MIN
#define OMEGA INT64_MAX
#define DAY 86400

enum rule_kind { RULE_JULIAN, RULE_DOY, RULE_MWD };
struct rule {
    enum rule_kind kind;
    int day, week, mon;
    int32_t time; /* seconds after local midnight */
};

struct posix {
    int32_t std_off, dst_off; /* seconds east of UTC */
    bool has_dst;
    struct rule start, end;
};

struct zt {
    int32_t off;
    bool dst;
};

struct cron_zone {
    int64_t *tx;
    unsigned char *txi;
    size_t ntx;
    struct zt *types;
    size_t ntypes;
    bool has_posix;
    struct posix px;
};

/* ---- civil time (days since 1970-01-01 <-> proleptic Gregorian dates) ------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t cron_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in(int m, int64_t y)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

/* ---- POSIX TZ strings (Go's tzset, tzsetName, tzsetOffset, tzsetRule) ------------------- */

static bool tz_name(const char **s)
{
    const char *p = *s;
    if (*p == '<') {
        const char *e = strchr(p, '>');
        if (!e)
            return false;
        *s = e + 1;
        return true;
    }
    size_t i = 0;
    while (p[i] && !isdigit((unsigned char)p[i]) && p[i] != ',' && p[i] != '-' && p[i] != '+')
        i++;
    if (i < 3)
        return false;
    *s = p + i;
    return true;
}

/* [+-]hh[:mm[:ss]] as seconds; hours up to 24*7 (rule times may exceed a day). */
static bool tz_offset(const char **s, int32_t *out)
{
    const char *p = *s;
    int sign = 1;
    if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
    }
    int32_t parts[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        if (k > 0) {
            if (*p != ':')
                break;
            p++;
        }
        if (!isdigit((unsigned char)*p))
            return false;
        int32_t v = 0;
        while (isdigit((unsigned char)*p) && v < 1000)
            v = v * 10 + (*p++ - '0');
        if ((k == 0 && v > 24 * 7) || (k > 0 && v > 59))
            return false;
        parts[k] = v;
    }
    *out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
    *s = p;
    return true;
}

static bool tz_num(const char **s, int *out, int max)
{
    const char *p = *s;
    if (!isdigit((unsigned char)*p))
        return false;
    int v = 0;
    while (isdigit((unsigned char)*p)) {
        v = v * 10 + (*p++ - '0');
        if (v > max)
            return false;
    }
    *out = v;
    *s = p;
    return true;
}

static bool tz_rule(const char **s, struct rule *r)
{
    const char *p = *s;
    memset(r, 0, sizeof(*r));
    if (*p == 'J') {
        p++;
        r->kind = RULE_JULIAN;
        if (!tz_num(&p, &r->day, 365) || r->day < 1)
            return false;
    } else if (*p == 'M') {
        p++;
        r->kind = RULE_MWD;
        if (!tz_num(&p, &r->mon, 12) || r->mon < 1 || *p++ != '.' || !tz_num(&p, &r->week, 5) ||
            r->week < 1 || *p++ != '.' || !tz_num(&p, &r->day, 6))
            return false;
    } else {
        r->kind = RULE_DOY;
        if (!tz_num(&p, &r->day, 365))
            return false;
    }
    r->time = 7200;
    if (*p == '/') {
        p++;
        if (!tz_offset(&p, &r->time))
            return false;
    }
    *s = p;
    return true;
}

static int parse_posix(const char *s, struct posix *px)
{
    memset(px, 0, sizeof(*px));
    int32_t off;
    if (!tz_name(&s) || !tz_offset(&s, &off))
        return -1;
    px->std_off = -off;
    if (!*s || *s == ',')
        return 0;
    if (!tz_name(&s))
        return -1;
    if (!*s || *s == ',') {
        px->dst_off = px->std_off + 3600;
    } else {
        if (!tz_offset(&s, &off))
            return -1;
        px->dst_off = -off;
    }
    px->has_dst = true;
    const char *rules = *s ? s : ",M3.2.0,M11.1.0";
    if (*rules != ',' && *rules != ';')
        return -1;
    rules++;
    if (!tz_rule(&rules, &px->start) || *rules++ != ',' || !tz_rule(&rules, &px->end) || *rules)
        return -1;
    return 0;
}

/* tzruleTime: seconds after the start of (UTC) year at which the rule fires. */
static int64_t rule_time(int64_t year, const struct rule *r, int32_t off)
{
    int64_t s = 0;
    switch (r->kind) {
    case RULE_JULIAN:
        s = (int64_t)(r->day - 1) * DAY;
        if (is_leap(year) && r->day >= 60)
            s += DAY;
        break;
    case RULE_DOY:
        s = (int64_t)r->day * DAY;
        break;
    case RULE_MWD: {
        int64_t first = cron_days_from_civil(year, r->mon, 1);
        int dow = (int)(((first % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
        int d = r->day - dow;
        if (d < 0)
            d += 7;
        for (int i = 1; i < r->week; i++) {
            if (d + 7 >= days_in(r->mon, year))
                break;
            d += 7;
        }
        s = (first + d - cron_days_from_civil(year, 1, 1)) * DAY;
        break;
    }
    }
    return s + r->time - off;
}

/* tzset: the offset at sec from the rule, with the period's bounds. */
static void posix_lookup(const struct posix *px, int64_t last_tx, int64_t sec, int32_t *off,
                         int64_t *start, int64_t *end)
{
    if (!px->has_dst) {
        *off = px->std_off;
        *start = last_tx;
        *end = OMEGA;
        return;
    }
    int64_t days = floor_div(sec, DAY), y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    int64_t ystart = cron_days_from_civil(y, 1, 1) * DAY;
    int64_t ysec = sec - ystart;
    int64_t s = rule_time(y, &px->start, px->std_off);
    int64_t e = rule_time(y, &px->end, px->dst_off);
    int32_t std = px->std_off, dst = px->dst_off;
    if (e < s) {
        int64_t t = s;
        s = e;
        e = t;
        int32_t o = std;
        std = dst;
        dst = o;
    }
    if (ysec < s) {
        *off = std;
        *start = ystart;
        *end = s + ystart;
    } else if (ysec >= e) {
        *off = std;
        *start = e + ystart;
        *end = ystart + 365LL * DAY;
    } else {
        *off = dst;
        *start = s + ystart;
        *end = e + ystart;
    }
}

/* ---- zones -------------------------------------------------------------------------------- */

void cron_zone_free(struct cron_zone *z)
{
    if (!z)
        return;
    free(z->tx);
    free(z->txi);
    free(z->types);
    free(z);
}

static struct cron_zone *utc_zone(void)
{
    struct cron_zone *z = ck_calloc(1, sizeof(*z));
    z->types = ck_calloc(1, sizeof(*z->types));
    z->ntypes = 1;
    return z;
}

int cron_zone_from_posix(const char *tz, struct cron_zone **out, struct ck_err *err)
{
    struct posix px;
    if (!tz || parse_posix(tz, &px) < 0)
        return ck_err_set(err, CK_R_INVALID, "invalid TZ string %s", tz ? tz : "");
    struct cron_zone *z = utc_zone();
    z->types[0].off = px.std_off;
    z->has_posix = true;
    z->px = px;
    *out = z;
    return 0;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

int cron_zone_from_tzif(const unsigned char *buf, size_t len, struct cron_zone **out,
                        struct ck_err *err)
{
    if (len < 44 || memcmp(buf, "TZif", 4))
        return ck_err_set(err, CK_R_INVALID, "not a TZif file");
    unsigned char ver = buf[4];
    size_t pos = 0;
    int tsize = 4;
    for (int pass = 0; pass < 2; pass++) {
        if (len - pos < 44 || memcmp(buf + pos, "TZif", 4))
            return ck_err_set(err, CK_R_INVALID, "bad TZif header");
        const unsigned char *h = buf + pos + 20;
        uint32_t isut = be32(h), isstd = be32(h + 4), leap = be32(h + 8), timecnt = be32(h + 12),
                 typecnt = be32(h + 16), charcnt = be32(h + 20);
        if (timecnt > 100000 || typecnt > 256 || typecnt == 0 || charcnt > 100000 ||
            leap > 100000 || isut > 256 || isstd > 256)
            return ck_err_set(err, CK_R_INVALID, "bad TZif counts");
        uint64_t body = (uint64_t)timecnt * (uint64_t)tsize + timecnt + typecnt * 6ULL + charcnt +
                        leap * (uint64_t)(tsize + 4) + isstd + isut;
        pos += 44;
        if (body > len - pos)
            return ck_err_set(err, CK_R_INVALID, "truncated TZif data");
        if (pass == 0 && ver >= '2') {
            pos += (size_t)body;
            tsize = 8;
            continue;
        }
        const unsigned char *p = buf + pos;
        struct cron_zone *z = ck_calloc(1, sizeof(*z));
        z->ntx = timecnt;
        z->tx = ck_calloc(timecnt + 1, sizeof(int64_t));
        z->txi = ck_calloc(timecnt + 1, 1);
        for (uint32_t i = 0; i < timecnt; i++, p += tsize)
            z->tx[i] = tsize == 8 ? be64(p) : (int64_t)(int32_t)be32(p);
        for (uint32_t i = 0; i < timecnt; i++) {
            z->txi[i] = *p++;
            if (z->txi[i] >= typecnt) {
                cron_zone_free(z);
                return ck_err_set(err, CK_R_INVALID, "bad TZif transition type");
            }
        }
        z->ntypes = typecnt;
        z->types = ck_calloc(typecnt, sizeof(*z->types));
        for (uint32_t i = 0; i < typecnt; i++, p += 6) {
            z->types[i].off = (int32_t)be32(p);
            if (z->types[i].off < -93600 || z->types[i].off > 93600) { /* RFC 8536: +-26 h */
                cron_zone_free(z);
                return ck_err_set(err, CK_R_INVALID, "bad TZif UT offset");
            }
            z->types[i].dst = p[4] != 0;
        }
        pos += (size_t)body;
        /* the footer: "\n<TZ string>\n" */
        if (tsize == 8 && pos < len && buf[pos] == '\n') {
            const unsigned char *e = memchr(buf + pos + 1, '\n', len - pos - 1);
            if (e && e - (buf + pos + 1) > 0 && e - (buf + pos + 1) < 256) {
                char tz[256];
                size_t n = (size_t)(e - (buf + pos + 1));
                memcpy(tz, buf + pos + 1, n);
                tz[n] = 0;
                if (!memchr(tz, 0, n) && parse_posix(tz, &z->px) == 0)
                    z->has_posix = true;
            }
        }
        *out = z;
        return 0;
    }
    return ck_err_set(err, CK_R_INVALID, "bad TZif file");
}

static bool valid_zone_name(const char *n)
{
    if (!*n || *n == '/' || strlen(n) > 200 || strstr(n, ".."))
        return false;
    for (const char *p = n; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_+-.", *p))
            return false;
    return true;
}

static int load_file(const char *path, struct cron_zone **out, struct ck_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ck_err_set(err, CK_R_NOT_FOUND, "unknown time zone");
    unsigned char *buf = ck_malloc(1 << 20);
    size_t n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    int rc = cron_zone_from_tzif(buf, n, out, err);
    free(buf);
    return rc;
}

int cron_zone_load(const char *name, struct cron_zone **out, struct ck_err *err)
{
    if (!name || !*name || !strcmp(name, "UTC")) {
        *out = utc_zone();
        return 0;
    }
    if (!strcmp(name, "Local")) {
        const char *tz = getenv("TZ");
        if (tz && *tz) {
            if (*tz == ':')
                tz++;
            if (cron_zone_load(tz, out, err) == 0)
                return 0;
            if (*tz == '/' && load_file(tz, out, err) == 0)
                return 0;
        }
        if (load_file("/etc/localtime", out, err) == 0)
            return 0;
        *out = utc_zone();
        return 0;
    }
    if (!valid_zone_name(name))
        return ck_err_set(err, CK_R_INVALID, "unknown time zone %s", name);
    const char *dirs[] = {getenv("ZONEINFO"), "/usr/share/zoneinfo", "/usr/share/lib/zoneinfo",
                          "/usr/lib/locale/TZ", "/etc/zoneinfo"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        if (!dirs[i] || !*dirs[i])
            continue;
        char *path = ck_asprintf("%s/%s", dirs[i], name);
        int rc = load_file(path, out, err);
        free(path);
        if (rc == 0)
            return 0;
    }
    return ck_err_set(err, CK_R_NOT_FOUND, "unknown time zone %s", name);
}

int cron_zone_offset(const struct cron_zone *z, int64_t t, int64_t *startp, int64_t *endp)
{
    int32_t off;
    int64_t start, end;
    if (!z->ntx || t < z->tx[0]) {
        size_t first = 0;
        if (z->ntx && z->types[z->txi[0]].dst)
            for (size_t i = 0; i < z->ntypes; i++)
                if (!z->types[i].dst) {
                    first = i;
                    break;
                }
        off = z->types[first].off;
        start = ALPHA;
        end = z->ntx ? z->tx[0] : OMEGA;
        if (!z->ntx && z->has_posix)
            posix_lookup(&z->px, ALPHA, t, &off, &start, &end);
    } else {
        size_t lo = 0, hi = z->ntx;
        end = OMEGA;
        while (hi - lo > 1) {
            size_t m = (lo + hi) / 2;
            if (t < z->tx[m]) {
                end = z->tx[m];
                hi = m;
            } else {
                lo = m;
            }
        }
        off = z->types[z->txi[lo]].off;
        start = z->tx[lo];
        if (lo == z->ntx - 1 && z->has_posix)
            posix_lookup(&z->px, start, t, &off, &start, &end);
    }
    if (startp)
        *startp = start;
    if (endp)
        *endp = end;
    return off;
}

void cron_local(const struct cron_zone *z, int64_t t, struct cron_tm *o)
{
    int64_t l = t + cron_zone_offset(z, t, NULL, NULL);
    int64_t days = floor_div(l, DAY), secs = l - days * DAY;
    civil_from_days(days, &o->year, &o->mon, &o->mday);
    o->hour = (int)(secs / 3600);
    o->min = (int)(secs / 60 % 60);
    o->sec = (int)(secs % 60);
    o->wday = (int)(((days % 7) + 11) % 7);
}

int64_t cron_date(const struct cron_zone *z, int64_t year, int64_t mon, int64_t day, int64_t hour,
                  int64_t min, int64_t sec)
{
    int64_t m0 = mon - 1;
    year += floor_div(m0, 12);
    m0 -= floor_div(m0, 12) * 12;
    int64_t lsec =
        (cron_days_from_civil(year, (int)m0 + 1, 1) + day - 1) * DAY + hour * 3600 + min * 60 + sec;
    int64_t start, end;
    int32_t off = cron_zone_offset(z, lsec, &start, &end);
    if (off != 0) {
        int64_t utc = lsec - off;
        if (utc < start || utc >= end)
            off = cron_zone_offset(z, utc, NULL, NULL);
        lsec -= off;
    }
    return lsec;
}

struct cron_zone *cron_zone_copy(const struct cron_zone *z)
{
    struct cron_zone *c = ck_calloc(1, sizeof(*c));
    *c = *z;
    c->tx = ck_calloc(z->ntx + 1, sizeof(int64_t));
    c->txi = ck_calloc(z->ntx + 1, 1);
    if (z->ntx) {
        memcpy(c->tx, z->tx, z->ntx * sizeof(int64_t));
        memcpy(c->txi, z->txi, z->ntx);
    }
    c->types = ck_calloc(z->ntypes, sizeof(*z->types));
    memcpy(c->types, z->types, z->ntypes * sizeof(*z->types));
    return c;
}
