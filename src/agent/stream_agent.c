/* SPDX-License-Identifier: Apache-2.0 */
/* Resolves streaming requests against the agent's pods: namespace/name (and uid when given)
 * to the node's runtime, the pod's newest sandbox and the named container's running instance. */
#include "agent/agent_int.h"
#include "agent/stream_agent.h"

#include "lib/buf.h"

#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

int ag_stream_resolve(void *arg, const char *ns, const char *pod, const char *uid,
                      const char *container, struct ag_stream_target *t, struct ck_err *err)
{
    struct agent *ag = arg;
    struct ag_node *node = NULL;
    char puid[128] = "";
    pthread_mutex_lock(&ag->mu);
    const char *k;
    void *v;
    for (size_t it = 0; ck_strmap_next(&ag->pods, &it, &k, &v);) {
        struct ag_pod *p = v;
        if (!p->api_gone && !strcmp(p->ns, ns) && !strcmp(p->name, pod) &&
            (!uid || !strcmp(p->uid, uid))) {
            node = p->node;
            snprintf(puid, sizeof(puid), "%s", p->uid);
            break;
        }
    }
    pthread_mutex_unlock(&ag->mu);
    if (!node)
        return ck_err_set(err, CK_R_NOT_FOUND, "pod does not exist");
    struct ag_pod_snapshot snap = {0};
    if (ag_runtime_snapshot(node->rt, puid, &snap, err) < 0)
        return -1;
    int rc = 0;
    const struct rt_sandbox_status *sb = ag_snap_sandbox(&snap);
    const struct rt_container_status *cs = container ? ag_snap_latest(&snap, container) : NULL;
    if (!sb || sb->state != RT_SANDBOX_READY)
        rc = ck_err_set(err, CK_R_NOT_FOUND, "pod %s/%s has no running sandbox", ns, pod);
    else if (container && (!cs || cs->state != RT_CONTAINER_RUNNING))
        rc = ck_err_set(err, CK_R_NOT_FOUND, "container not found (\"%s\")", container);
    if (!rc) {
        t->rt = node->rt;
        snprintf(t->sandbox_id, sizeof(t->sandbox_id), "%s", sb->id);
        snprintf(t->container_id, sizeof(t->container_id), "%s", cs ? cs->id : "");
        snprintf(t->pod_uid, sizeof(t->pod_uid), "%s", puid);
    }
    ag_snapshot_release(&snap);
    return rc;
}
