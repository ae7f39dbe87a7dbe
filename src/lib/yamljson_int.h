/* SPDX-License-Identifier: Apache-2.0 */
/* Internals of YAML <-> JSON shared by yamljson.c (YAML to JSON), yamljson_emit.c (JSON to
 * YAML) and yamljson_resolve.c (go-yaml v2's plain-scalar resolution and Go's float
 * formatting). Not for use outside src/lib. */
#ifndef CK_LIB_YAMLJSON_INT_H
#define CK_LIB_YAMLJSON_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rkind { R_STR, R_NULL, R_BOOL, R_INT, R_UINT, R_FLOAT, R_MERGE, R_TIMESTAMP };

struct resolved {
    enum rkind kind;
    bool b;
    int64_t i;
    uint64_t u;
    double f;
};

/* Resolves a plain (untagged, unquoted) scalar as go-yaml v2's resolve() does: fixed words
 * (booleans, nulls, .nan/.inf, `<<`), numbers in Go base-0 syntax, timestamps; anything else
 * is R_STR. */
void yj_resolve_plain(const char *s, size_t n, struct resolved *r);
/* Go strconv.FormatFloat(f, 'g', -1, 32 or 64); NaN and infinities as .nan, .inf, -.inf. */
void yj_format_go_g(double f, bool f32, char *out, size_t cap);

#endif
