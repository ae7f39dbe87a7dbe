/* SPDX-License-Identifier: Apache-2.0 */
/* klog-like logging: I/W/E/F lines on stderr, and V(n) lines when -v=N is at least n, or when
 * a --vmodule=pattern=N rule for the source file allows it. Format (klog's text):
 * "I1123 08:59:01.123456   1234 file.c:42] message"; with --logging-format=json one JSON
 * object per line as component-base's JSON format: {"ts":<unix seconds>,"caller":"file.c:42",
 * "msg":"...","v":N} ("err" instead of "v" for errors, "level" for warnings). Thread-safe. */
#ifndef CK_LOG_H
#define CK_LOG_H

#include <stdbool.h>

extern int ck_log_verbosity;

void ck_log_at(char sev, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Parses "-v=N", "--v=N", "-v N", "--vmodule=p1=N,p2=M" (patterns match the source file name
 * without its extension, `*` and `?` globs, as klog's) and "--logging-format=text|json"
 * flags; returns true if argv[*i] was one (advancing *i). */
bool ck_log_parse_flag(int argc, char **argv, int *i);
/* Whether a V(level) line from file is logged (the global level, then --vmodule rules). */
bool ck_log_v_on(int level, const char *file);

#define ck_info(...) ck_log_at('I', __FILE__, __LINE__, __VA_ARGS__)
#define ck_warn(...) ck_log_at('W', __FILE__, __LINE__, __VA_ARGS__)
#define ck_error(...) ck_log_at('E', __FILE__, __LINE__, __VA_ARGS__)
#define ck_v(n, ...)                                                                               \
    do {                                                                                           \
        if (ck_log_verbosity >= (n) || ck_log_v_on((n), __FILE__))                                 \
            ck_log_at('I', __FILE__, __LINE__, __VA_ARGS__);                                       \
    } while (0)

/* Aborts with file and line: for impossible states and allocation failure. */
_Noreturn void ck_fatal_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define ck_fatal(...) ck_fatal_at(__FILE__, __LINE__, __VA_ARGS__)

#endif
