/* SPDX-License-Identifier: Apache-2.0 */
/* computePodActions with probes and sidecars (computeInitContainerActions: a sidecar's startup
 * probe gates the next init container, exited sidecars restart, liveness/startup failures
 * kill and restart with upstream's messages, sidecars do not keep a finished pod alive), and
 * the generated status with probe results (started/ready, Ready/ContainersReady/Initialized
 * conditions and the phase with sidecars), and readiness gates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/podlogic.h"
#include "k8s/pod.h"
#include "k8s/util.h"

#define SEC 1000000000LL
#define T0 (1700000000LL * SEC)

static void sb_add(struct ag_pod_snapshot *s)
{
    s->sbs = realloc(s->sbs, (s->nsb + 1) * sizeof(*s->sbs));
    struct rt_sandbox_status *x = &s->sbs[s->nsb++];
    memset(x, 0, sizeof(*x));
    snprintf(x->id, sizeof(x->id), "sb0");
    snprintf(x->uid, sizeof(x->uid), "uid1");
    x->state = RT_SANDBOX_READY;
    snprintf(x->ip, sizeof(x->ip), "10.88.0.9");
    x->created_ns = T0;
}

static struct rt_container_status *ctr_add(struct ag_pod_snapshot *s, const char *name,
                                           unsigned attempt, enum rt_container_state st, int code)
{
    s->ctrs = realloc(s->ctrs, (s->nctr + 1) * sizeof(*s->ctrs));
    struct rt_container_status *c = &s->ctrs[s->nctr++];
    memset(c, 0, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s-%u", name, attempt);
    snprintf(c->sandbox_id, sizeof(c->sandbox_id), "sb0");
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->attempt = attempt;
    c->state = st;
    c->exit_code = code;
    c->created_ns = T0 + attempt * 100 * SEC;
    c->started_ns = c->created_ns + SEC;
    if (st == RT_CONTAINER_EXITED)
        c->finished_ns = c->started_ns + SEC;
    return c;
}

/* initContainers: sc (sidecar with a startup probe), setup (regular); containers: main */
static json_t *mkpod(const char *policy)
{
    json_t *pod = json_loads("{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"uid1\"},"
                             "\"spec\":{\"initContainers\":["
                             "{\"name\":\"sc\",\"image\":\"busybox\",\"restartPolicy\":\"Always\","
                             "\"startupProbe\":{\"exec\":{\"command\":[\"true\"]}}},"
                             "{\"name\":\"setup\",\"image\":\"busybox\"}],"
                             "\"containers\":[{\"name\":\"main\",\"image\":\"busybox\","
                             "\"livenessProbe\":{\"exec\":{\"command\":[\"true\"]}},"
                             "\"readinessProbe\":{\"httpGet\":{\"port\":80}},"
                             "\"startupProbe\":{\"exec\":{\"command\":[\"true\"]}}}]},"
                             "\"status\":{}}",
                             0, NULL);
    assert_non_null(pod);
    json_object_set_new(json_object_get(pod, "spec"), "restartPolicy", json_string(policy));
    return pod;
}

struct views {
    struct ag_probe_view v[2];
};

static void views_init(struct views *w)
{
    memset(w, 0, sizeof(*w));
    snprintf(w->v[0].name, sizeof(w->v[0].name), "sc");
    w->v[0].has[AG_PROBE_STARTUP] = true;
    snprintf(w->v[1].name, sizeof(w->v[1].name), "main");
    w->v[1].has[AG_PROBE_LIVENESS] = w->v[1].has[AG_PROBE_READINESS] =
        w->v[1].has[AG_PROBE_STARTUP] = true;
    for (int i = 0; i < 2; i++)
        for (int t = 0; t < AG_PROBE_NTYPES; t++)
            w->v[i].grace_s[t] = -1;
    w->v[1].res[AG_PROBE_LIVENESS] = AG_PR_SUCCESS;
    w->v[1].res[AG_PROBE_READINESS] = AG_PR_FAILURE;
}

static void test_sidecar_gates_and_restarts(void **state)
{
    (void)state;
    json_t *pod = mkpod("Always");
    struct ag_pod_snapshot s = {0};
    struct views w;
    views_init(&w);
    struct ag_actions a;
    ag_compute_actions_probed(pod, &s, w.v, 2, &a); /* new pod: the sidecar first */
    assert_true(a.create_sandbox);
    assert_int_equal(a.nstart, 1);
    assert_true(a.start[0].init);
    assert_true(a.start[0].sidecar);
    assert_int_equal(a.start[0].index, 0);
    ag_actions_release(&a);

    sb_add(&s);
    ctr_add(&s, "sc", 0, RT_CONTAINER_RUNNING, 0);
    ag_compute_actions_probed(pod, &s, w.v, 2, &a); /* startup probe not passed: wait */
    assert_int_equal(a.nstart, 0);
    assert_int_equal(a.nkill, 0);
    assert_false(a.kill_pod);
    ag_actions_release(&a);

    w.v[0].res[AG_PROBE_STARTUP] = AG_PR_SUCCESS;
    ag_compute_actions_probed(pod, &s, w.v, 2, &a); /* started: the next init container */
    assert_int_equal(a.nstart, 1);
    assert_true(a.start[0].init);
    assert_false(a.start[0].sidecar);
    assert_int_equal(a.start[0].index, 1);
    ag_actions_release(&a);

    ctr_add(&s, "setup", 0, RT_CONTAINER_RUNNING, 0);
    ag_compute_actions_probed(pod, &s, w.v, 2, &a); /* setup runs: wait */
    assert_int_equal(a.nstart, 0);
    ag_actions_release(&a);

    s.ctrs[1].state = RT_CONTAINER_EXITED;
    ag_compute_actions_probed(pod, &s, w.v, 2, &a); /* initialized: the main container */
    assert_int_equal(a.nstart, 1);
    assert_false(a.start[0].init);
    assert_int_equal(a.start[0].index, 0);
    ag_actions_release(&a);

    ctr_add(&s, "main", 0, RT_CONTAINER_RUNNING, 0);
    ag_compute_actions_probed(pod, &s, w.v, 2, &a); /* all running: nothing to do */
    assert_int_equal(a.nstart, 0);
    assert_int_equal(a.nkill, 0);
    ag_actions_release(&a);

    /* the sidecar exits while main runs: only it restarts, the regular init does not rerun */
    s.ctrs[0].state = RT_CONTAINER_EXITED;
    ag_compute_actions_probed(pod, &s, w.v, 2, &a);
    assert_int_equal(a.nstart, 1);
    assert_true(a.start[0].init);
    assert_int_equal(a.start[0].index, 0);
    assert_int_equal(a.start[0].attempt, 1);
    ag_actions_release(&a);
    s.ctrs[0].state = RT_CONTAINER_RUNNING;

    /* main fails liveness: killed with upstream's message and restarted */
    w.v[1].res[AG_PROBE_LIVENESS] = AG_PR_FAILURE;
    w.v[1].grace_s[AG_PROBE_LIVENESS] = 7;
    ag_compute_actions_probed(pod, &s, w.v, 2, &a);
    assert_int_equal(a.nkill, 1);
    assert_string_equal(a.kill[0], "main-0");
    assert_string_equal(a.kill_note[0].message,
                        "Container main failed liveness probe, will be restarted");
    assert_int_equal(a.kill_note[0].probe, AG_PROBE_LIVENESS);
    assert_int_equal(a.nstart, 1);
    assert_false(a.start[0].init);
    assert_int_equal(a.start[0].attempt, 1);
    assert_false(a.kill_pod);
    ag_actions_release(&a);

    /* under Never: killed, not restarted; with nothing left the pod ends (sidecar too) */
    json_object_set_new(json_object_get(pod, "spec"), "restartPolicy", json_string("Never"));
    ag_compute_actions_probed(pod, &s, w.v, 2, &a);
    assert_int_equal(a.nkill, 1);
    assert_string_equal(a.kill_note[0].message, "Container main failed liveness probe");
    assert_int_equal(a.nstart, 0);
    assert_true(a.kill_pod);
    assert_true(a.terminal);
    ag_actions_release(&a);

    /* main completed under Never while the sidecar runs: the pod is done */
    w.v[1].res[AG_PROBE_LIVENESS] = AG_PR_SUCCESS;
    s.ctrs[2].state = RT_CONTAINER_EXITED;
    ag_compute_actions_probed(pod, &s, w.v, 2, &a);
    assert_int_equal(a.nstart, 0);
    assert_true(a.kill_pod);
    assert_true(a.terminal);
    ag_actions_release(&a);

    /* a sidecar failing its startup probe is killed and restarted */
    json_object_set_new(json_object_get(pod, "spec"), "restartPolicy", json_string("Always"));
    s.ctrs[2].state = RT_CONTAINER_RUNNING;
    w.v[0].res[AG_PROBE_STARTUP] = AG_PR_FAILURE;
    ag_compute_actions_probed(pod, &s, w.v, 2, &a);
    assert_int_equal(a.nkill, 1);
    assert_string_equal(a.kill[0], "sc-0");
    assert_string_equal(a.kill_note[0].message, "Init container sc failed startup probe");
    assert_true(a.kill_note[0].init);
    assert_int_equal(a.nstart, 1);
    assert_true(a.start[0].init);
    assert_int_equal(a.start[0].index, 0);
    ag_actions_release(&a);

    /* a running sidecar is not a container "not in the spec" */
    w.v[0].res[AG_PROBE_STARTUP] = AG_PR_SUCCESS;
    ag_compute_actions_probed(pod, &s, w.v, 2, &a);
    assert_int_equal(a.nkill, 0);
    ag_actions_release(&a);
    ag_snapshot_release(&s);
    json_decref(pod);
}

static json_t *status_of(json_t *pod, struct ag_pod_snapshot *s, const struct views *w)
{
    struct ag_status_input in = {pod,           s,     NULL,           0,    "crun",
                                 "192.168.1.5", false, T0 + 500 * SEC, w->v, 2};
    return ag_pod_status(&in);
}

static json_t *cond(json_t *st, const char *type)
{
    return k8s_condition_get(st, type, NULL);
}

static void test_status_with_probes(void **state)
{
    (void)state;
    json_t *pod = mkpod("Always");
    struct ag_pod_snapshot s = {0};
    struct views w;
    views_init(&w);
    sb_add(&s);
    ctr_add(&s, "sc", 0, RT_CONTAINER_RUNNING, 0);
    /* the sidecar runs but has not started: Pending, not initialized */
    json_t *st = status_of(pod, &s, &w);
    assert_string_equal(k8s_jstr(st, "phase"), "Pending");
    json_t *sc = json_array_get(json_object_get(st, "initContainerStatuses"), 0);
    assert_string_equal(k8s_jstr(sc, "name"), "sc");
    assert_false(json_is_true(json_object_get(sc, "started")));
    assert_false(json_is_true(json_object_get(sc, "ready")));
    assert_string_equal(k8s_jstr(cond(st, "Initialized"), "message"),
                        "containers with incomplete status: [sc setup]");
    json_decref(st);

    w.v[0].res[AG_PROBE_STARTUP] = AG_PR_SUCCESS;
    ctr_add(&s, "setup", 0, RT_CONTAINER_EXITED, 0);
    ctr_add(&s, "main", 0, RT_CONTAINER_RUNNING, 0);
    /* main started its startup probe? not yet: started false, ready false */
    st = status_of(pod, &s, &w);
    assert_string_equal(k8s_jstr(st, "phase"), "Running");
    sc = json_array_get(json_object_get(st, "initContainerStatuses"), 0);
    assert_true(json_is_true(json_object_get(sc, "started")));
    assert_true(json_is_true(json_object_get(sc, "ready"))); /* no readiness probe */
    json_t *setup = json_array_get(json_object_get(st, "initContainerStatuses"), 1);
    assert_true(json_is_true(json_object_get(setup, "ready"))); /* completed init container */
    json_t *m = json_array_get(json_object_get(st, "containerStatuses"), 0);
    assert_false(json_is_true(json_object_get(m, "started")));
    assert_false(json_is_true(json_object_get(m, "ready")));
    assert_string_equal(k8s_jstr(cond(st, "Initialized"), "status"), "True");
    assert_string_equal(k8s_jstr(cond(st, "ContainersReady"), "status"), "False");
    assert_string_equal(k8s_jstr(cond(st, "Ready"), "message"),
                        "containers with unready status: [main]");
    json_decref(st);

    /* started, readiness still failing */
    w.v[1].res[AG_PROBE_STARTUP] = AG_PR_SUCCESS;
    st = status_of(pod, &s, &w);
    m = json_array_get(json_object_get(st, "containerStatuses"), 0);
    assert_true(json_is_true(json_object_get(m, "started")));
    assert_false(json_is_true(json_object_get(m, "ready")));
    assert_string_equal(k8s_jstr(cond(st, "Ready"), "status"), "False");
    json_decref(st);

    /* readiness passes: Ready */
    w.v[1].res[AG_PROBE_READINESS] = AG_PR_SUCCESS;
    st = status_of(pod, &s, &w);
    m = json_array_get(json_object_get(st, "containerStatuses"), 0);
    assert_true(json_is_true(json_object_get(m, "ready")));
    assert_string_equal(k8s_jstr(cond(st, "Ready"), "status"), "True");
    assert_string_equal(k8s_jstr(cond(st, "ContainersReady"), "status"), "True");
    json_decref(st);

    /* readiness fails again: Ready flips back; an unready sidecar is listed too */
    w.v[1].res[AG_PROBE_READINESS] = AG_PR_FAILURE;
    w.v[0].has[AG_PROBE_READINESS] = true;
    w.v[0].res[AG_PROBE_READINESS] = AG_PR_FAILURE;
    st = status_of(pod, &s, &w);
    assert_string_equal(k8s_jstr(cond(st, "Ready"), "status"), "False");
    assert_string_equal(k8s_jstr(cond(st, "ContainersReady"), "message"),
                        "containers with unready status: [sc main]");
    assert_string_equal(k8s_jstr(st, "phase"), "Running");
    json_decref(st);
    ag_snapshot_release(&s);
    json_decref(pod);
}

/* readiness gates (generatePodReadinessGatesCondition): Ready needs ContainersReady and every
 * gate's condition True; the gate conditions, owned by other writers, are kept */
static void test_readiness_gates(void **state)
{
    (void)state;
    json_t *pod = json_loads("{\"metadata\":{\"name\":\"g\",\"namespace\":\"ns\",\"uid\":\"u\"},"
                             "\"spec\":{\"readinessGates\":[{\"conditionType\":\"lb/ok\"},"
                             "{\"conditionType\":\"x/y\"}],"
                             "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]},"
                             "\"status\":{\"conditions\":[{\"type\":\"lb/ok\","
                             "\"status\":\"False\"}]}}",
                             0, NULL);
    assert_non_null(pod);
    struct ag_pod_snapshot s = {0};
    sb_add(&s);
    ctr_add(&s, "c", 0, RT_CONTAINER_RUNNING, 0);
    struct ag_status_input in = {pod,           &s,    NULL,           0,    "crun",
                                 "192.168.1.5", false, T0 + 500 * SEC, NULL, 0};
    json_t *st = ag_pod_status(&in);
    assert_string_equal(k8s_jstr(cond(st, "ContainersReady"), "status"), "True");
    assert_string_equal(k8s_jstr(cond(st, "Ready"), "status"), "False");
    assert_string_equal(k8s_jstr(cond(st, "Ready"), "reason"), "ReadinessGatesNotReady");
    assert_string_equal(k8s_jstr(cond(st, "Ready"), "message"),
                        "the status of pod readiness gate \"lb/ok\" is not \"True\", but False, "
                        "corresponding condition of pod readiness gate \"x/y\" does not exist.");
    assert_non_null(cond(st, "lb/ok")); /* kept */
    json_decref(st);
    json_object_set_new(json_object_get(pod, "status"), "conditions",
                        json_pack("[{s:s,s:s},{s:s,s:s}]", "type", "lb/ok", "status", "True",
                                  "type", "x/y", "status", "True"));
    st = ag_pod_status(&in);
    assert_string_equal(k8s_jstr(cond(st, "Ready"), "status"), "True");
    assert_null(json_object_get(cond(st, "Ready"), "reason"));
    json_decref(st);
    ag_snapshot_release(&s);
    json_decref(pod);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sidecar_gates_and_restarts),
        cmocka_unit_test(test_status_with_probes),
        cmocka_unit_test(test_readiness_gates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
