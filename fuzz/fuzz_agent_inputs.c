/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the node agent's parsers of user input (src/agent). The first byte picks:
 * 0 an --eviction-hard spec then (after a NUL) an --eviction-minimum-reclaim spec, each parsed
 * thresholds checked (signal in range, value not negative) and a synchronize round run on them
 * with fake observations; 1 a static pod manifest (its result must be a Pod named
 * "<name>-node" with a 32-hex uid or the one given, and a mirror pod must derive from it);
 * anything else a downward API fieldPath and a resourceFieldRef against a fixed pod. */
#include "agent/evict.h"
#include "agent/static.h"
#include "agent/volumes_int.h"
#include "k8s/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *pod_json =
    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"uid\":\"u\",\"labels\":{\"a\":\"b\"},"
    "\"annotations\":{\"x\":\"\\u0001\\\"\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
    "\"resources\":{\"limits\":{\"cpu\":\"3\",\"memory\":\"1Gi\"}}}]}}";

static void evict(const char *hard, const char *reclaim)
{
    struct ag_evict_state s;
    memset(&s, 0, sizeof(s));
    struct ck_err err = CK_ERR_INIT;
    if (ag_evict_parse(hard, s.t, &s.nt, &err) < 0) {
        ck_err_clear(&err);
        return;
    }
    if (s.nt > AG_EVICT_MAX_THRESHOLDS)
        abort();
    if (ag_evict_parse_reclaim(reclaim, s.t, s.nt, &err) < 0)
        ck_err_clear(&err);
    for (size_t i = 0; i < s.nt; i++)
        if (s.t[i].sig >= AG_SIG_N || s.t[i].quantity < 0 || s.t[i].percent < 0 ||
            s.t[i].percent > 1)
            abort();
    struct ag_evict_obs o;
    memset(&o, 0, sizeof(o));
    for (int i = 0; i < AG_SIG_N; i++)
        o.s[i] = (struct ag_observation){true, 1000, 1 << 30};
    struct ag_evict_cand c[2] = {{"a", 0, false, 10, 0, 10, 0}, {"b", 1, true, 20, 5, 0, 0}};
    struct ag_evict_decision d;
    s.transition_ns = 1;
    ag_evict_sync(&s, &o, 5, c, 2, &d);
    if (d.threshold >= (int)s.nt || d.victim >= 2 || (d.victim >= 0 && c[d.victim].critical))
        abort();
}

static void manifest(const char *text, size_t len)
{
    struct ck_err err = CK_ERR_INIT;
    json_t *p = ag_static_parse(text, len, "/m/f.yaml", "node", "2026-01-01T00:00:00Z", &err);
    if (!p) {
        ck_err_clear(&err);
        return;
    }
    const char *name = k8s_jpath_str(p, "metadata.name");
    size_t nl = strlen(name);
    if (nl < 5 || strcmp(name + nl - 5, "-node") || !*k8s_jpath_str(p, "metadata.uid") ||
        !*k8s_jpath_str(p, "metadata.namespace"))
        abort();
    json_t *m = ag_static_mirror(p, "node", "nuid");
    if (!m || k8s_jpath(m, "metadata.uid"))
        abort();
    json_decref(m);
    json_decref(p);
}

static void downward(const char *s)
{
    json_t *pod = json_loads(pod_json, 0, NULL);
    char *out = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (ag_dapi_field(pod, s, true, "1.2.3.4", "5.6.7.8", &out, &err) < 0)
        ck_err_clear(&err);
    free(out);
    out = NULL;
    json_t *ref = json_pack("{s:s,s:s}", "resource", s, "divisor", s);
    struct ag_node_alloc na = {1000, 1 << 30, 1 << 30};
    if (ref && ag_dapi_resource(pod, "c", ref, &na, &out, &err) < 0)
        ck_err_clear(&err);
    free(out);
    json_decref(ref);
    json_decref(pod);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16384)
        return 0;
    char *s = malloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = 0;
    if (data[0] == 0) {
        size_t l = strlen(s);
        evict(s, l + 1 < size - 1 ? s + l + 1 : NULL);
    } else if (data[0] == 1) {
        manifest(s, size - 1);
    } else {
        downward(s);
    }
    free(s);
    return 0;
}
