/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's service proxy hook (`--proxy`): runs src/proxy inside the agent of a real node
 * (or of hollow ones with --proxy). The table is named by $CKUBE_PROXY_NFT_TABLE (default
 * ckube-proxy), so tests that run several agents on one machine keep theirs apart; it is
 * removed when the agent stops. The pod network defaults to the default CNI bridge's subnet
 * when the agent uses that bridge and no --cluster-cidr was given. */
#include "agent/agent_int.h"
#include "lib/log.h"
#include "proxy/proxy.h"

#include <stdlib.h>

#include "lib/banned.h"

#define DEFAULT_POD_CIDR "10.88.0.0/16" /* cni_default_conflist's subnet */

int ag_proxy_start(struct agent *ag, struct ck_err *err)
{
    const struct agent_opts *o = ag->o;
    if (o->proxy < 0 || (o->proxy == 0 && ag->hollow))
        return 0;
    const char *table = getenv("CKUBE_PROXY_NFT_TABLE");
    struct proxy_opts po = {
        .client = ag->client,
        .node_name = ag->nodes[0].name,
        .node_ip = ag->hollow ? NULL : ag->nodes[0].host_ip,
        .service_cidr = o->service_cidr,
        .cluster_cidr = o->cluster_cidr ? o->cluster_cidr
                        : !o->cni_conf  ? DEFAULT_POD_CIDR
                                        : NULL,
        .table = table && *table ? table : NULL,
    };
    struct proxy *p;
    if (proxy_start(&po, &p, err) < 0) {
        if (o->proxy > 0)
            return -1;
        ck_warn("agent: service proxy off: %s", err->msg); /* e.g. no nftables (not root) */
        ck_err_clear(err);
        return 0;
    }
    ag->proxy = (struct ag_proxy *)p;
    return 0;
}

void ag_proxy_stop(struct agent *ag)
{
    proxy_stop((struct proxy *)ag->proxy);
    ag->proxy = NULL;
}
