/* SPDX-License-Identifier: Apache-2.0 */
/* Clocks and Kubernetes time formats. */
#ifndef CK_TIMEUTIL_H
#define CK_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds / milliseconds. */
int64_t ck_mono_ns(void);
int64_t ck_mono_ms(void);
/* CLOCK_REALTIME in nanoseconds. */
int64_t ck_real_ns(void);
/* "2026-11-23T08:59:01Z" (metav1.Time); out must hold 21 bytes. */
void ck_time_rfc3339(time_t t, char out[21]);
/* "2026-11-23T08:59:01.123456789Z" (RFC3339Nano, trailing zeros kept); out must hold 31 bytes. */
void ck_time_rfc3339nano(int64_t real_ns, char out[31]);
/* Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm)"; returns 0 and sets *t, or -1. */
int ck_time_parse_rfc3339(const char *s, time_t *t);
/* Human age as kubectl prints it: "5s", "3m12s", "2d4h", ...; out must hold 16 bytes. */
void ck_time_age(int64_t seconds, char out[16]);

#endif
