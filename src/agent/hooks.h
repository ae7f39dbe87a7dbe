/* SPDX-License-Identifier: Apache-2.0 */
/* Container lifecycle hooks (pkg/kubelet/lifecycle/handlers.go): postStart and preStop
 * handlers with exec, httpGet (any HTTP response succeeds; only a transport error fails) or
 * sleep, with upstream's failure messages. */
#ifndef CK_AGENT_HOOKS_H
#define CK_AGENT_HOOKS_H

#include "runtime/runtime.h"

#include <jansson.h>
#include <stddef.h>

/* Runs handler h (lifecycle.postStart / lifecycle.preStop) of container c in pod, running as
 * container cid, bounded by timeout_s (sleep is cut short there too). Returns 0, or -1 with
 * upstream's message ("Exec lifecycle hook ([cmd]) for Container \"c\" in Pod \"p_ns(uid)\"
 * failed - error: ..., message: \"...\"") in msg. */
int ag_hook_run(struct runtime *rt, const char *cid, const json_t *pod, const json_t *c,
                const json_t *h, const char *pod_ip, int timeout_s, char *msg, size_t msgn);

#endif
