/* SPDX-License-Identifier: Apache-2.0 */
/* Cron schedules (robfig/cron v3 parser_test.go / spec_test.go cases and the DST behaviour of
 * SpecSchedule.Next), time zones from the system tz database and POSIX TZ rules (Go's
 * zoneinfo tzset), and the CronJob controller's missed-schedule arithmetic (utils_test.go
 * TestMostRecentScheduleTime). Expected instants were computed independently (Python
 * zoneinfo). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/cron.h"

#include "ctrl_test.h"

static int64_t next_of(const char *spec, int64_t t)
{
    struct cron_sched *s = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (cron_parse(spec, NULL, &s, &err) < 0)
        fail_msg("parse %s: %s", spec, err.msg);
    int64_t n = cron_next(s, t);
    cron_sched_free(s);
    return n;
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *msg;
    } bad[] = {
        {"", "empty spec string"},
        {"* * * *", "expected exactly 5 fields, found 4: [* * * *]"},
        {"* * * * * *", "expected exactly 5 fields, found 6"},
        {"60 * * * *", "end of range (60) above maximum (59): 60"},
        {"* 5-2 * * *", "beginning of range (5) beyond end of range (2): 5-2"},
        {"* * 0 * *", "beginning of range (0) below minimum (1): 0"},
        {"*/0 * * * *", "step of range should be a positive number: */0"},
        {"1-2-3 * * * *", "too many hyphens: 1-2-3"},
        {"*/2/3 * * * *", "too many slashes: */2/3"},
        {"x * * * *", "failed to parse int from x"},
        {"* * * * 7", "end of range (7) above maximum (6): 7"},
        {"@fortnightly", "unrecognized descriptor: @fortnightly"},
        {"@every fast", "failed to parse duration @every fast"},
        {"TZ=Nowhere/Atlantis 0 * * * *", "provided bad location Nowhere/Atlantis"},
        {"TZ=../../etc/passwd 0 * * * *", "provided bad location"},
    };
    for (size_t i = 0; i < N(bad); i++) {
        struct cron_sched *s = NULL;
        struct ck_err err = CK_ERR_INIT;
        if (cron_parse(bad[i].spec, NULL, &s, &err) == 0)
            fail_msg("%s parsed", bad[i].spec);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("%s: got %s, want %s", bad[i].spec, err.msg, bad[i].msg);
        assert_null(s);
    }
    const char *good[] = {"*/5 * * * *", "0 0 1 jan *",         "0 9 * * mon-fri",
                          "@hourly",     "@every 1h30m",        "CRON_TZ=Europe/Berlin 0 3 * * *",
                          "? * * * ?",   "0,15,30-40/5 * * * *"};
    for (size_t i = 0; i < N(good); i++) {
        struct cron_sched *s = NULL;
        struct ck_err err = CK_ERR_INIT;
        if (cron_parse(good[i], NULL, &s, &err) < 0)
            fail_msg("%s: %s", good[i], err.msg);
        cron_sched_free(s);
    }
}

static void test_next_utc(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        int64_t from, want;
    } cases[] = {
        {"*/15 * * * *", 1704067620, 1704068100}, /* 00:07 -> 00:15 */
        {"0 9 * * 1-5", 1704535200, 1704704400},  /* Saturday -> Monday 09:00 */
        {"@hourly", 1704105000, 1704106800},      /* 10:30 -> 11:00 */
        {"*/1 * * * *", 1704068100, 1704068160},  /* exactly on a boundary: next minute */
        {"0 0 29 2 *", 1709208000, 1835395200},   /* leap day -> the next one, 2028 */
        {"0 0 1 jun *", 1717149600, 1717200000},  /* month names */
        {"TZ=Asia/Tokyo 0 9 * * *", 1706713199, 1706745600},
        {"@every 90s", 1704067620, 1704067710},
        {"0 0 30 2 *", 1704067620, 0}, /* never: 0 */
        /* day-of-month OR day-of-week when both are restricted: the 13th or any Friday */
        {"0 0 13 * 5", 1704067620, 1704412800}, /* 2024-01-05 is a Friday */
    };
    for (size_t i = 0; i < N(cases); i++) {
        int64_t got = next_of(cases[i].spec, cases[i].from);
        if (got != cases[i].want)
            fail_msg("%s from %lld: got %lld, want %lld", cases[i].spec, (long long)cases[i].from,
                     (long long)got, (long long)cases[i].want);
    }
}

static void test_next_dst(void **state)
{
    (void)state;
    /* spring forward in New York: 02:30 does not exist on 2024-03-10 and is skipped */
    assert_int_equal(next_of("TZ=America/New_York 30 2 * * *", 1710046800), 1710138600);
    /* fall back: 01:30 happens twice on 2024-11-03 and robfig fires both times */
    int64_t a = next_of("TZ=America/New_York 30 1 * * *", 1730606400);
    assert_int_equal(a, 1730611800);
    int64_t b = next_of("TZ=America/New_York 30 1 * * *", a);
    assert_int_equal(b, 1730615400);
    assert_int_equal(next_of("TZ=America/New_York 30 1 * * *", b), 1730701800);
    /* the same through spec.timeZone-style local zones */
    struct cron_zone *ny = NULL;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(cron_zone_load("America/New_York", &ny, &err), 0);
    struct cron_sched *s = NULL;
    assert_int_equal(cron_parse("30 2 * * *", ny, &s, &err), 0);
    assert_int_equal(cron_next(s, 1710046800), 1710138600);
    cron_sched_free(s);
    cron_zone_free(ny);
}

static void test_zones(void **state)
{
    (void)state;
    struct cron_zone *z = NULL;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(cron_zone_load("America/New_York", &z, &err), 0);
    assert_int_equal(cron_zone_offset(z, 1704067200, NULL, NULL), -18000);     /* January */
    assert_int_equal(cron_zone_offset(z, 1719792000, NULL, NULL), -14400);     /* July */
    assert_int_equal(cron_zone_offset(z, 1710054000 - 1, NULL, NULL), -18000); /* just before */
    assert_int_equal(cron_zone_offset(z, 1710054000, NULL, NULL), -14400);     /* the switch */
    assert_int_equal(cron_zone_offset(z, 2540246400, NULL, NULL), -14400);     /* 2050: footer */
    assert_int_equal(cron_zone_offset(z, 2524608000, NULL, NULL), -18000);
    struct cron_tm tm;
    cron_local(z, 1710138600, &tm);
    assert_int_equal(tm.year, 2024);
    assert_int_equal(tm.mon, 3);
    assert_int_equal(tm.mday, 11);
    assert_int_equal(tm.hour, 2);
    assert_int_equal(tm.min, 30);
    assert_int_equal(tm.wday, 1);
    /* time.Date of a skipped local time: Go takes the offset after the gap, which lands
     * before it (01:30 EST) */
    assert_int_equal(cron_date(z, 2024, 3, 10, 2, 30, 0), 1710052200);
    /* a repeated local time resolves to its first (daylight) instance */
    assert_int_equal(cron_date(z, 2024, 11, 3, 1, 30, 0), 1730611800);
    /* normalisation: month 13 is January of the next year, day 0 the last of the month */
    assert_int_equal(cron_date(z, 2023, 13, 1, 0, 0, 0), cron_date(z, 2024, 1, 1, 0, 0, 0));
    assert_int_equal(cron_date(z, 2024, 3, 0, 0, 0, 0), cron_date(z, 2024, 2, 29, 0, 0, 0));
    cron_zone_free(z);

    assert_int_equal(cron_zone_from_posix("EST5EDT,M3.2.0,M11.1.0", &z, &err), 0);
    assert_int_equal(cron_zone_offset(z, 1704067200, NULL, NULL), -18000);
    assert_int_equal(cron_zone_offset(z, 1710054000, NULL, NULL), -14400);
    cron_zone_free(z);
    /* southern hemisphere: daylight time spans the new year */
    assert_int_equal(cron_zone_from_posix("AEST-10AEDT,M10.1.0,M4.1.0/3", &z, &err), 0);
    assert_int_equal(cron_zone_offset(z, 1705276800, NULL, NULL), 39600);
    assert_int_equal(cron_zone_offset(z, 1718409600, NULL, NULL), 36000);
    cron_zone_free(z);
    assert_int_equal(cron_zone_from_posix("<+0330>-3:30", &z, &err), 0);
    assert_int_equal(cron_zone_offset(z, 1705276800, NULL, NULL), 12600);
    cron_zone_free(z);
    assert_int_equal(cron_zone_from_posix("X", &z, &err), -1);
    assert_int_equal(cron_zone_load("UTC", &z, &err), 0);
    assert_int_equal(cron_zone_offset(z, 1705276800, NULL, NULL), 0);
    cron_zone_free(z);
    /* garbage is not a zone */
    static const unsigned char junk[] = "TZif2 not really a zone file at all, no...........";
    assert_int_equal(cron_zone_from_tzif(junk, sizeof(junk), &z, &err), -1);
}

static void test_most_recent(void **state)
{
    (void)state;
    struct cron_sched *s = NULL;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(cron_parse("*/1 * * * *", NULL, &s, &err), 0);
    int64_t t0 = 1704067200; /* 2024-01-01 00:00:00 */
    int64_t recent;
    enum cron_missed m;
    /* nothing due yet */
    assert_int_equal(cron_most_recent(s, t0, t0 + 30, -1, &recent, &m, &err), 0);
    assert_int_equal(recent, 0);
    assert_int_equal(m, CRON_NONE_MISSED);
    /* exactly one due */
    assert_int_equal(cron_most_recent(s, t0, t0 + 90, -1, &recent, &m, &err), 0);
    assert_int_equal(recent, t0 + 60);
    assert_int_equal(m, CRON_NONE_MISSED);
    /* five missed: the most recent is 00:05 */
    assert_int_equal(cron_most_recent(s, t0, t0 + 330, -1, &recent, &m, &err), 0);
    assert_int_equal(recent, t0 + 300);
    assert_int_equal(m, CRON_FEW_MISSED);
    /* more than 100 missed */
    assert_int_equal(cron_most_recent(s, t0, t0 + 200 * 60 + 5, -1, &recent, &m, &err), 0);
    assert_int_equal(recent, t0 + 200 * 60);
    assert_int_equal(m, CRON_MANY_MISSED);
    /* startingDeadlineSeconds 120 bounds how far back it looks: no longer "many" */
    assert_int_equal(cron_most_recent(s, t0, t0 + 200 * 60 + 5, 120, &recent, &m, &err), 0);
    assert_int_equal(recent, t0 + 200 * 60);
    assert_int_equal(m, CRON_FEW_MISSED);
    cron_sched_free(s);
    /* an irregular schedule: 30 6-16/4 * * 1-5 */
    assert_int_equal(cron_parse("30 6-16/4 * * 1-5", NULL, &s, &err), 0);
    /* from Monday 2024-01-01 00:00 to 15:00: 06:30, 10:30, 14:30 -> 14:30 */
    assert_int_equal(cron_most_recent(s, t0, t0 + 15 * 3600, -1, &recent, &m, &err), 0);
    assert_int_equal(recent, t0 + 14 * 3600 + 1800);
    cron_sched_free(s);
    /* an impossible date is an error */
    assert_int_equal(cron_parse("59 23 31 2 *", NULL, &s, &err), 0);
    assert_int_equal(cron_most_recent(s, t0, t0 + 86400 * 400, -1, &recent, &m, &err), -1);
    assert_non_null(strstr(err.msg, "less than 1 second"));
    cron_sched_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_next_utc),
        cmocka_unit_test(test_next_dst),     cmocka_unit_test(test_zones),
        cmocka_unit_test(test_most_recent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
