/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the CronJob controller's schedule and time-zone parsers (src/controllers/
 * cron.c, cron_tz.c). First byte picks the input: 0 a cron spec (parsed, then Next and
 * mostRecentScheduleTime from a few instants, checking Next moves forward), 1 a POSIX TZ string,
 * anything else the bytes of a TZif file (offsets and local/date round trips at a spread of
 * instants must stay within a week or two of UTC, the most a POSIX rule allows). */
#include "controllers/cron.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const int64_t instants[] = {-2208988800LL, 0,          951782400,    1704067200,
                                   1710054000,    1730611800, 2147483647LL, 2540246400LL,
                                   4102444800LL};

static void probe_zone(const struct cron_zone *z)
{
    for (size_t i = 0; i < sizeof(instants) / sizeof(instants[0]); i++) {
        int64_t s, e;
        int off = cron_zone_offset(z, instants[i], &s, &e);
        if (off < -169 * 3600 || off > 169 * 3600)
            abort();
        struct cron_tm tm;
        cron_local(z, instants[i], &tm);
        int64_t back = cron_date(z, tm.year, tm.mon, tm.mday, tm.hour, tm.min, tm.sec);
        int64_t d = back - instants[i];
        if (d < -15 * 86400 || d > 15 * 86400)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    struct ck_err err = CK_ERR_INIT;
    if (data[0] == 0 || data[0] == 1) {
        char *s = malloc(size);
        memcpy(s, data + 1, size - 1);
        s[size - 1] = 0;
        if (data[0] == 0) {
            struct cron_sched *sc = NULL;
            if (cron_parse(s, NULL, &sc, &err) == 0) {
                for (size_t i = 1; i < 5; i++) {
                    int64_t n = cron_next(sc, instants[i]);
                    if (n && n <= instants[i])
                        abort();
                }
                int64_t recent;
                enum cron_missed m;
                cron_most_recent(sc, instants[3], instants[3] + 86400 * 3, -1, &recent, &m, &err);
                cron_sched_free(sc);
            }
        } else {
            struct cron_zone *z = NULL;
            if (cron_zone_from_posix(s, &z, &err) == 0) {
                probe_zone(z);
                cron_zone_free(z);
            }
        }
        free(s);
        return 0;
    }
    struct cron_zone *z = NULL;
    if (cron_zone_from_tzif(data + 1, size - 1, &z, &err) == 0) {
        probe_zone(z);
        cron_zone_free(z);
    }
    return 0;
}
