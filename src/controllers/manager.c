/* SPDX-License-Identifier: Apache-2.0 */
/* The controller manager's runtime: creates the shared informers, initialises the enabled
 * controllers, starts them once the caches have synced, serves /healthz and /metrics. The
 * command (src/cmd/controller_manager.c) owns flags and leader election. */
#include "controllers/manager.h"
#include "ckube/wq.h"
#include "lib/buf.h"
#include "lib/compsrv.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

struct cm_manager {
    struct cm cm;
    struct cm_controller *on[CM_MAX_CTRL];
    void *state[CM_MAX_CTRL];
    int n;
    atomic_int leading, running;
    pthread_t starter;
    bool started;
    struct ck_compsrv *http; /* /metrics and health, or NULL */
};

struct cm_manager *cm_manager_new(struct ck_client *client, const char *controllers, int workers,
                                  volatile int *stop)
{
    struct cm_manager *m = ck_calloc(1, sizeof(*m));
    m->cm.client = client;
    m->cm.stop = stop;
    m->cm.workers = workers > 0 ? workers : 5;
    m->cm.factory = ck_informer_factory_new(client, 0);
    cm_init_informers(&m->cm);
    for (struct cm_controller **c = cm_controllers(); *c; c++) {
        if (!(*c)->init || !cm_controller_enabled(controllers, *c) || m->n >= CM_MAX_CTRL)
            continue;
        if ((*c)->init(&m->cm, &m->state[m->n]) < 0) {
            ck_warn("controller %s: init failed", (*c)->name);
            continue;
        }
        m->on[m->n++] = *c;
        ck_info("controller-manager: %s enabled", (*c)->name);
    }
    return m;
}

struct cm *cm_manager_cm(struct cm_manager *m)
{
    return &m->cm;
}

static void *starter_main(void *arg)
{
    struct cm_manager *m = arg;
    while (!*m->cm.stop && !ck_informer_factory_wait_synced(m->cm.factory, 500))
        ;
    if (*m->cm.stop)
        return NULL;
    for (int i = 0; i < m->n; i++)
        m->on[i]->run(m->state[i]);
    atomic_store(&m->running, 1);
    ck_info("controller-manager: caches synced, %d controllers running", m->n);
    return NULL;
}

void cm_manager_start(struct cm_manager *m)
{
    if (m->started)
        return;
    m->started = true;
    atomic_store(&m->leading, 1);
    ck_informer_factory_start(m->cm.factory);
    pthread_create(&m->starter, NULL, starter_main, m);
}

void cm_manager_free(struct cm_manager *m)
{
    if (!m)
        return;
    ck_compsrv_stop(m->http);
    if (m->started)
        pthread_join(m->starter, NULL);
    if (atomic_load(&m->running))
        for (int i = 0; i < m->n; i++)
            m->on[i]->stop(m->state[i]);
    ck_informer_factory_free(m->cm.factory);
    for (int i = 0; i < m->n; i++)
        m->on[i]->free(m->state[i]);
    free(m);
}

void cm_manager_metrics(struct cm_manager *m, struct ck_buf *out)
{
    ck_buf_appendf(out, "# HELP ckube_controller_manager_leader 1 while this instance leads.\n"
                        "# TYPE ckube_controller_manager_leader gauge\n");
    ck_buf_appendf(out, "ckube_controller_manager_leader %d\n", atomic_load(&m->leading));
    ck_buf_appendf(out, "# HELP ckube_controller_syncs_total Syncs of one key, by controller.\n"
                        "# TYPE ckube_controller_syncs_total counter\n");
    for (int i = 0; i < m->n; i++)
        ck_buf_appendf(out, "ckube_controller_syncs_total{controller=\"%s\"} %ld\n", m->on[i]->name,
                       atomic_load(&m->on[i]->syncs));
    ck_buf_appendf(out, "# HELP ckube_controller_sync_errors_total Syncs that failed and were "
                        "requeued, by controller.\n"
                        "# TYPE ckube_controller_sync_errors_total counter\n");
    for (int i = 0; i < m->n; i++)
        ck_buf_appendf(out, "ckube_controller_sync_errors_total{controller=\"%s\"} %ld\n",
                       m->on[i]->name, atomic_load(&m->on[i]->errors));
    struct ck_informer *infs[] = {m->cm.pods, m->cm.rss, m->cm.deps, m->cm.rcs};
    const char *names[] = {"pods", "replicasets", "deployments", "replicationcontrollers"};
    ck_buf_appendf(out, "# HELP ckube_informer_objects Objects in a shared informer's cache.\n"
                        "# TYPE ckube_informer_objects gauge\n");
    for (int i = 0; i < 4; i++)
        ck_buf_appendf(out, "ckube_informer_objects{resource=\"%s\"} %zu\n", names[i],
                       ck_indexer_len(ck_informer_indexer(infs[i])));
}

static int check_informers(void *arg, char *why, size_t n)
{
    struct cm_manager *m = arg;
    if (atomic_load(&m->leading) && !atomic_load(&m->running)) {
        snprintf(why, n, "informers not synced");
        return -1;
    }
    return 0;
}

/* kube-controller-manager's checks (leader election shows in the Lease). */
static const struct ck_hcheck checks[] = {
    {"ping", NULL}, {"log", NULL}, {"informer-sync", check_informers}};

static void metrics(void *arg, struct ck_buf *out)
{
    cm_manager_metrics(arg, out);
    wq_metrics(out);
}

int cm_manager_serve(struct cm_manager *m, const char *addr, int port, struct ck_err *err)
{
    struct ck_compsrv_opts o = {.addr = addr,
                                .port = port,
                                .metrics = metrics,
                                .checks = checks,
                                .nchecks = sizeof(checks) / sizeof(checks[0]),
                                .arg = m};
    ck_compsrv_stop(m->http);
    m->http = NULL;
    return ck_compsrv_start(&o, &m->http, err);
}
