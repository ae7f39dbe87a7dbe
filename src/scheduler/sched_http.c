/* SPDX-License-Identifier: Apache-2.0 */
/* /healthz, /livez, /readyz (upstream's named checks) and /metrics on a local port, served by
 * the shared component server (lib/compsrv.h). */
#include "ckube/wq.h"
#include "lib/compsrv.h"
#include "lib/healthz.h"
#include "scheduler/sched_int.h"

#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

static int check_shutdown(void *arg, char *why, size_t n)
{
    struct sch_sched *s = arg;
    if (s->stop) {
        snprintf(why, n, "process is shutting down");
        return -1;
    }
    return 0;
}

/* kube-scheduler's checks (leader election is reported by the Lease, not here). */
static const struct ck_hcheck checks[] = {
    {"ping", NULL}, {"log", NULL}, {"informer-sync", NULL}, {"shutdown", check_shutdown}};

static void metrics(void *arg, struct ck_buf *out)
{
    sch_sched_metrics(arg, out);
    wq_metrics(out);
}

int sch_http_start(struct sch_sched *s, const char *addr, int port, struct ck_err *err)
{
    struct ck_compsrv_opts o = {.addr = addr,
                                .port = port,
                                .metrics = metrics,
                                .checks = checks,
                                .nchecks = sizeof(checks) / sizeof(checks[0]),
                                .arg = s};
    ck_compsrv_stop(s->http);
    s->http = NULL;
    return ck_compsrv_start(&o, &s->http, err);
}
