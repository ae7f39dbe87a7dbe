/* SPDX-License-Identifier: Apache-2.0 */
/* The small HTTP server every component but the API server runs on a local port (scheduler,
 * controller manager): /metrics (text 0.0.4, or OpenMetrics when the Accept header asks) and
 * /healthz, /livez, /readyz with named checks (lib/healthz.h). One thread, one request per
 * connection, HTTP/1.x, nothing else. */
#ifndef CK_LIB_COMPSRV_H
#define CK_LIB_COMPSRV_H

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/healthz.h"

#include <stddef.h>

struct ck_compsrv;

struct ck_compsrv_opts {
    const char *addr; /* numeric IPv4; NULL = 127.0.0.1 */
    int port;         /* 0 = any free port */
    /* Appends the component's own families (process_* is added by the server). */
    void (*metrics)(void *arg, struct ck_buf *out);
    const struct ck_hcheck *checks; /* passed the same arg */
    size_t nchecks;
    void *arg;
};

/* Listens and serves on a thread; returns the bound port, or -1 with err set. */
int ck_compsrv_start(const struct ck_compsrv_opts *o, struct ck_compsrv **out, struct ck_err *err);
/* Stops the thread and closes the socket (NULL is fine). */
void ck_compsrv_stop(struct ck_compsrv *s);

#endif
