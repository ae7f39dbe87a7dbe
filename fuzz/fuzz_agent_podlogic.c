/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the agent's pod lifecycle logic over an arbitrary pod object (JSON after
 * the first 9 bytes). Every container's probes and lifecycle handlers go through the probe
 * spec parser (named ports, headers, thresholds); the first byte sets the sandbox and probe
 * results, the next 8 the runtime state of the containers (by position over init containers
 * then containers). computePodActions and the status generator must hold their invariants:
 * start indexes inside the spec, one kill note per kill, a known phase, and no crash. */
#include "agent/podlogic.h"
#include "agent/prober.h"
#include "k8s/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSLOT 8

static void parse_all(const json_t *c)
{
    static const char *const fields[] = {"livenessProbe", "readinessProbe", "startupProbe"};
    for (size_t i = 0; i < 3; i++) {
        struct ag_probe_spec s;
        ag_probe_spec_parse(json_object_get(c, fields[i]), c, &s);
        if (s.period_s < 1 || s.timeout_s < 1 || s.success_threshold < 1 ||
            s.failure_threshold < 1 || s.port < 0 || s.port > 65535 ||
            ((s.kind == AG_PH_HTTP || s.kind == AG_PH_TCP) && !s.port && !s.port_error))
            abort();
        ag_probe_spec_release(&s);
    }
    static const char *const hooks[] = {"lifecycle.postStart", "lifecycle.preStop"};
    for (size_t i = 0; i < 2; i++) {
        struct ag_probe_spec s;
        ag_probe_spec_parse(k8s_jpath(c, hooks[i]), c, &s);
        ag_probe_spec_release(&s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 + NSLOT)
        return 0;
    json_t *pod = json_loadb((const char *)data + 1 + NSLOT, size - 1 - NSLOT, 0, NULL);
    if (!json_is_object(pod)) {
        json_decref(pod);
        return 0;
    }
    uint8_t mode = data[0];
    const json_t *lists[2] = {k8s_jpath(pod, "spec.initContainers"),
                              k8s_jpath(pod, "spec.containers")};
    struct ag_pod_snapshot snap = {0};
    struct ag_probe_view views[NSLOT];
    size_t nv = 0, slot = 0;
    if (mode & 1) {
        snap.sbs = calloc(1, sizeof(*snap.sbs));
        snap.nsb = 1;
        snap.sbs[0].state = (mode & 2) ? RT_SANDBOX_READY : RT_SANDBOX_NOTREADY;
        snprintf(snap.sbs[0].id, sizeof(snap.sbs[0].id), "sb");
        snprintf(snap.sbs[0].ip, sizeof(snap.sbs[0].ip), "10.0.0.1");
    }
    snap.ctrs = calloc(NSLOT, sizeof(*snap.ctrs));
    for (int l = 0; l < 2; l++) {
        for (size_t i = 0; i < k8s_jlen(lists[l]); i++) {
            const json_t *c = json_array_get(lists[l], i);
            parse_all(c);
            const char *name = k8s_jstr(c, "name");
            if (slot >= NSLOT)
                continue;
            uint8_t b = data[1 + slot++];
            if (b & 0x80)
                continue; /* never ran */
            struct rt_container_status *st = &snap.ctrs[snap.nctr++];
            snprintf(st->id, sizeof(st->id), "c%zu", slot);
            snprintf(st->sandbox_id, sizeof(st->sandbox_id), "sb");
            snprintf(st->name, sizeof(st->name), "%s", name);
            st->state = (enum rt_container_state)(b & 3);
            st->exit_code = (b >> 2) & 3;
            st->attempt = (b >> 4) & 7;
            st->started_ns = 1;
            struct ag_probe_view *v = &views[nv++];
            memset(v, 0, sizeof(*v));
            snprintf(v->name, sizeof(v->name), "%s", name);
            for (int t = 0; t < AG_PROBE_NTYPES; t++) {
                v->has[t] = json_is_object(json_object_get(c, ag_probe_field(t)));
                v->res[t] = (enum ag_probe_result)((mode >> (2 + 2 * t)) % 3);
                v->grace_s[t] = -1;
            }
        }
    }
    struct ag_actions a;
    ag_compute_actions_probed(pod, &snap, views, nv, &a);
    for (size_t i = 0; i < a.nstart; i++)
        if (a.start[i].index < 0 ||
            (size_t)a.start[i].index >= k8s_jlen(lists[a.start[i].init ? 0 : 1]))
            abort();
    if (a.nkill && !a.kill_note)
        abort();
    ag_actions_release(&a);
    struct ag_status_input in = {
        pod,   &snap, NULL, 0, "crun", "192.168.0.1", (mode & 0x80) != 0, 1000000000LL * 1700000000,
        views, nv};
    json_t *st = ag_pod_status(&in);
    const char *ph = k8s_jstr(st, "phase");
    if (strcmp(ph, "Pending") && strcmp(ph, "Running") && strcmp(ph, "Succeeded") &&
        strcmp(ph, "Failed"))
        abort();
    json_decref(st);
    ag_snapshot_release(&snap);
    json_decref(pod);
    return 0;
}
