/* SPDX-License-Identifier: Apache-2.0 */
/* Upstream's /healthz, /livez, /readyz protocol (k8s.io/apiserver/pkg/server/healthz) for the
 * small component servers (scheduler, agent): named checks, `?verbose`, `?exclude=`, and
 * `/<endpoint>/<check>`. The API server has its own (src/apiserver/http/http_health.c). */
#ifndef CK_LIB_HEALTHZ_H
#define CK_LIB_HEALTHZ_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>

struct ck_hcheck {
    const char *name;
    /* 0 when healthy, else -1 with why filled; NULL = always healthy */
    int (*fn)(void *arg, char *why, size_t n);
};

/* Answers path (with its query, e.g. "/readyz/ping?verbose") if it is /healthz, /livez or
 * /readyz or one of their checks: fills out and returns the status (200, 500, 404 for an
 * unknown check); returns 0 when path is not a health path. */
int ck_healthz_serve(const char *path_and_query, const struct ck_hcheck *checks, size_t n,
                     void *arg, struct ck_buf *out);

#endif
