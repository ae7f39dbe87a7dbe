/* SPDX-License-Identifier: Apache-2.0 */
/* klog-shaped log lines on stderr. */
#include "lib/log.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

int ck_log_verbosity = 0;

static bool log_json;

/* --vmodule rules; set once from the command line, before threads start */
#define MAX_VMODULE 16
static struct {
    char pattern[64];
    int level;
} vmodule[MAX_VMODULE];
static int nvmodule;

static void set_vmodule(const char *spec)
{
    nvmodule = 0;
    while (*spec && nvmodule < MAX_VMODULE) {
        const char *comma = strchr(spec, ','), *end = comma ? comma : spec + strlen(spec);
        const char *eq = memchr(spec, '=', (size_t)(end - spec));
        if (eq && eq > spec && (size_t)(eq - spec) < sizeof(vmodule[0].pattern)) {
            memcpy(vmodule[nvmodule].pattern, spec, (size_t)(eq - spec));
            vmodule[nvmodule].pattern[eq - spec] = 0;
            vmodule[nvmodule].level = atoi(eq + 1);
            nvmodule++;
        }
        spec = comma ? comma + 1 : end;
    }
}

bool ck_log_v_on(int level, const char *file)
{
    if (!nvmodule)
        return false;
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    char name[128];
    snprintf(name, sizeof(name), "%s", base);
    char *dot = strrchr(name, '.');
    if (dot)
        *dot = 0;
    for (int i = 0; i < nvmodule; i++)
        if (fnmatch(vmodule[i].pattern, name, 0) == 0)
            return vmodule[i].level >= level; /* the first matching rule decides */
    return false;
}

/* msg as a JSON string body (quotes, backslashes and control bytes escaped). */
static void json_escape(char *out, size_t n, const char *msg)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)msg; *p && o + 7 < n; p++) {
        if (*p == '"' || *p == '\\') {
            out[o++] = '\\';
            out[o++] = (char)*p;
        } else if (*p < 0x20) {
            o += (size_t)snprintf(out + o, n - o, "\\u%04x", *p);
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o] = 0;
}

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
    if (log_json) {
        char esc[8192];
        json_escape(esc, sizeof(esc), msg);
        const char *tail = sev == 'E' || sev == 'F' ? "\"err\":null"
                           : sev == 'W'              ? "\"level\":\"warning\""
                                                     : "\"v\":0";
        fprintf(stderr, "{\"ts\":%ld.%06ld,\"caller\":\"%s:%d\",\"msg\":\"%s\",%s}\n",
                (long)tv.tv_sec, (long)tv.tv_usec, base, line, esc, tail);
        return;
    }
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
    if (strncmp(a, "--vmodule=", 10) == 0 || strncmp(a, "-vmodule=", 9) == 0) {
        set_vmodule(strchr(a, '=') + 1);
        return true;
    }
    if (strncmp(a, "--logging-format=", 17) == 0) {
        log_json = strcmp(a + 17, "json") == 0;
        return true;
    }
    return false;
}
