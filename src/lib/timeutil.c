/* SPDX-License-Identifier: Apache-2.0 */
/* Clocks and Kubernetes time formats. */
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t ck_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t ck_mono_ms(void)
{
    return ck_mono_ns() / 1000000;
}

int64_t ck_real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void ck_time_rfc3339(time_t t, char out[21])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 21, "%04d-%02d-%02dT%02d:%02d:%02dZ", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100);
}

void ck_time_rfc3339nano(int64_t real_ns, char out[31])
{
    time_t s = (time_t)(real_ns / 1000000000);
    long ns = (long)(real_ns % 1000000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, 31, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, ns % 1000000000L);
}

int ck_time_parse_rfc3339(const char *s, time_t *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return -1;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return -1;
        off = (hh * 3600L + mm * 60L) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    *t = timegm(&tm) - off;
    return 0;
}

void ck_time_age(int64_t d, char out[16])
{
    /* Mirrors the shape of apimachinery's HumanDuration. */
    if (d < 0)
        d = 0;
    if (d < 120) {
        snprintf(out, 16, "%llds", (long long)d);
    } else if (d < 600) {
        long long m = d / 60, s = d % 60;
        if (s)
            snprintf(out, 16, "%lldm%llds", m, s);
        else
            snprintf(out, 16, "%lldm", m);
    } else if (d < 3 * 3600) {
        snprintf(out, 16, "%lldm", (long long)(d / 60));
    } else if (d < 8 * 3600) {
        long long h = d / 3600, m = (d % 3600) / 60;
        if (m)
            snprintf(out, 16, "%lldh%lldm", h, m);
        else
            snprintf(out, 16, "%lldh", h);
    } else if (d < 48 * 3600) {
        snprintf(out, 16, "%lldh", (long long)(d / 3600));
    } else if (d < 8 * 86400) {
        long long days = d / 86400, h = (d % 86400) / 3600;
        if (h)
            snprintf(out, 16, "%lldd%lldh", days, h);
        else
            snprintf(out, 16, "%lldd", days);
    } else if (d < 2 * 365 * 86400LL) {
        snprintf(out, 16, "%lldd", (long long)(d / 86400));
    } else if (d < 8 * 365 * 86400LL) {
        long long y = d / (365 * 86400LL), days = (d % (365 * 86400LL)) / 86400;
        if (days)
            snprintf(out, 16, "%lldy%lldd", y, days);
        else
            snprintf(out, 16, "%lldy", y);
    } else {
        snprintf(out, 16, "%lldy", (long long)(d / (365 * 86400LL)));
    }
}
