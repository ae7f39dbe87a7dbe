/* SPDX-License-Identifier: Apache-2.0 */
/* klog-shaped log lines on stderr. */
#include "lib/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

int ck_log_verbosity = 0;

static void vlog(char sev, const char *file, int line, const char *fmt, va_list ap)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    char msg[4096];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = 0;
    /* one fprintf per line keeps lines whole across threads */
    fprintf(stderr, "%c%02d%02d %02d:%02d:%02d.%06ld %7ld %s:%d] %s\n", sev, tm.tm_mon + 1,
            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec,
            (long)syscall(SYS_gettid), base, line, msg);
}

void ck_log_at(char sev, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(sev, file, line, fmt, ap);
    va_end(ap);
}

_Noreturn void ck_fatal_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog('F', file, line, fmt, ap);
    va_end(ap);
    abort();
}

bool ck_log_parse_flag(int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (strncmp(a, "--v=", 4) == 0 || strncmp(a, "-v=", 3) == 0) {
        ck_log_verbosity = atoi(strchr(a, '=') + 1);
        return true;
    }
    if ((strcmp(a, "-v") == 0 || strcmp(a, "--v") == 0) && *i + 1 < argc) {
        ck_log_verbosity = atoi(argv[++*i]);
        return true;
    }
    return false;
}
