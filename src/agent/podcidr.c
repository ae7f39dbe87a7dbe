/* SPDX-License-Identifier: Apache-2.0 */
/* The node's pod CIDR (node IPAM): a real node without --cni-conf that joined a cluster
 * (--server) or was told the pod network (--cluster-cidr) waits, bounded, for the node IPAM
 * controller to set its Node's spec.podCIDR, then runs pods on the default bridge with that
 * subnet: <root>/cni/podcidr.conflist, host-local IPAM state in <root>/cni/ipam (agents in
 * different network namespaces of one host must not share it), without the bridge plugin's
 * ipMasq (routes.c masquerades traffic leaving the pod network, not pod-to-pod traffic
 * between nodes, as Kubernetes' network model wants). Without a podCIDR in time
 * the runtime's default bridge (10.88.0.0/16) stays. Called before the pod informer starts,
 * so no pod runs on the runtime being replaced. */
#include "agent/agent_int.h"
#include "cni/cni.h"
#include "k8s/util.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/banned.h"

#define PODCIDR_WAIT_S 60

static int write_file(const char *path, const char *data, struct ck_err *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    if (!f)
        return ck_err_sys(err, errno, "create %s", tmp);
    bool ok = fputs(data, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return ck_err_sys(err, e, "write %s", path);
    }
    return 0;
}

/* The Node's spec.podCIDR ("" while none); -1 when the Node cannot be read. */
static int node_pod_cidr(struct agent *ag, char *out, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "/api/v1/nodes/%s", ag->nodes[0].name);
    json_t *node = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (ck_client_get_json(ag->client, path, &node, &err) < 0) {
        ck_v(2, "podCIDR: node %s: %s", ag->nodes[0].name, err.msg);
        ck_err_clear(&err);
        return -1;
    }
    snprintf(out, n, "%s", k8s_jpath_str(node, "spec.podCIDR"));
    json_decref(node);
    return 0;
}

int ag_podcidr_apply(struct agent *ag)
{
    const struct agent_opts *o = ag->o;
    if (ag->hollow || (o->cni_conf && *o->cni_conf) ||
        !((o->join_server && *o->join_server) || (o->cluster_cidr && *o->cluster_cidr)))
        return 0;
    char cidr[64] = "";
    int64_t until = ck_mono_ns() + PODCIDR_WAIT_S * 1000000000LL;
    bool said = false;
    while (!*ag->stop && ck_mono_ns() < until) {
        if (node_pod_cidr(ag, cidr, sizeof(cidr)) == 0 && *cidr)
            break;
        if (!said)
            ck_info("agent: waiting for node %s to get a podCIDR", ag->nodes[0].name);
        said = true;
        usleep(250000);
    }
    if (!*cidr || !strchr(cidr, '.')) {
        ck_warn("agent: node %s has no IPv4 podCIDR after %d s: pods use the default bridge",
                ag->nodes[0].name, PODCIDR_WAIT_S);
        return 0;
    }
    char dir[4096], conf[4200], ipam[4200];
    snprintf(dir, sizeof(dir), "%s/cni", ag->root);
    snprintf(conf, sizeof(conf), "%s/podcidr.conflist", dir);
    snprintf(ipam, sizeof(ipam), "%s/ipam", dir);
    mkdir(dir, 0700);
    mkdir(ipam, 0700);
    /* no bridge ipMasq: routes.c masquerades only what leaves the pod network */
    struct cni_default_opts co = {.subnet = cidr, .data_dir = ipam, .no_ip_masq = true};
    char *json = cni_default_conflist(&co);
    struct ck_err err = CK_ERR_INIT;
    int rc = write_file(conf, json, &err);
    free(json);
    char rtroot[4096];
    snprintf(rtroot, sizeof(rtroot), "%s/runtime", ag->root);
    struct rt_crun_opts ro = {.root = rtroot, .cni_conflist = conf};
    struct runtime *rt = rc == 0 ? rt_crun_open(&ro, &err) : NULL;
    if (!rt) {
        ck_warn("agent: podCIDR %s: %s: pods use the default bridge", cidr, err.msg);
        ck_err_clear(&err);
        return -1;
    }
    struct runtime *old = ag->nodes[0].rt;
    ag->nodes[0].rt = rt;
    rt_close(old);
    snprintf(ag->pod_cidr, sizeof(ag->pod_cidr), "%s", cidr);
    ck_info("agent: node %s: pods get addresses from podCIDR %s", ag->nodes[0].name, cidr);
    return 0;
}
