/* SPDX-License-Identifier: Apache-2.0 */
/* The controller manager as a library (what `ckube controller-manager` and `ckube server`
 * call): new (informers + enabled controllers), start (when elected), serve (/healthz,
 * /metrics), free (after *stop is set). */
#ifndef CK_CONTROLLERS_MANAGER_H
#define CK_CONTROLLERS_MANAGER_H

#include "controllers/cm.h"
#include "lib/buf.h"
#include "lib/err.h"

struct cm_manager;

/* controllers: upstream's --controllers list ("*", "name", "-name"), NULL = "*". workers:
 * workers per controller (0 = 5). */
struct cm_manager *cm_manager_new(struct ck_client *client, const char *controllers, int workers,
                                  volatile int *stop);
/* The shared state, for options the controllers read while they run (node_grace_s). */
struct cm *cm_manager_cm(struct cm_manager *m);
/* Starts the informers, then the controllers once every cache has synced (returns at once). */
void cm_manager_start(struct cm_manager *m);
/* Serves /healthz and /metrics on addr:port (0 = any free port); returns the port or -1. */
int cm_manager_serve(struct cm_manager *m, const char *addr, int port, struct ck_err *err);
void cm_manager_metrics(struct cm_manager *m, struct ck_buf *out);
/* Stops the controllers and informers (set *stop first) and frees. */
void cm_manager_free(struct cm_manager *m);

#endif
