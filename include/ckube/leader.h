/* SPDX-License-Identifier: Apache-2.0 */
/* Leader election on a coordination.k8s.io/v1 Lease (client-go's leaderelection): the holder
 * renews every retry period; a candidate takes over once it has seen no change of the lease
 * for a whole lease duration (measured on its own clock, so clock skew between machines does
 * not matter); a leader that cannot renew within the renew deadline steps down. */
#ifndef CKUBE_LEADER_H
#define CKUBE_LEADER_H

#include "ckube/client.h"

#include <stdbool.h>

struct ck_leader_opts {
    const char *lease_namespace; /* e.g. "kube-system" */
    const char *lease_name;      /* e.g. "kube-controller-manager" */
    const char *identity;        /* unique per candidate (hostname_pid) */
    int lease_duration_ms;       /* 0 = 15000 */
    int renew_deadline_ms;       /* 0 = 10000 */
    int retry_period_ms;         /* 0 = 2000 */
    /* Called on the electing thread; must return quickly (start workers, don't run them). */
    void (*on_started_leading)(void *arg);
    void (*on_stopped_leading)(void *arg);
    void (*on_new_leader)(void *arg, const char *identity); /* optional */
    void *arg;
};

/* Campaigns until elected, then renews until leadership is lost or *stop is set. Returns 0
 * after stepping down (on_stopped_leading has been called if it ever led), -1 on a
 * configuration error. When *stop is set while leading, the lease is released (holder
 * cleared) so that another candidate can take over at once. */
int ck_leader_run(struct ck_client *c, const struct ck_leader_opts *o, volatile int *stop,
                  struct ck_err *err);

#endif
