/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's pure logic: CrashLoopBackOff windows (flowcontrol.Backoff), computePodActions
 * decisions (sandbox, init order, restart policies), getPhase and the generated status
 * (conditions with upstream's reasons and messages, container states, restartCount). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/backoff.h"
#include "agent/podlogic.h"
#include "k8s/pod.h"
#include "k8s/util.h"

#define SEC 1000000000LL
#define T0 (1700000000LL * SEC)

/* ---- backoff --------------------------------------------------------------------------- */

static void test_backoff_doubling_and_cap(void **state)
{
    (void)state;
    struct ag_backoff b;
    ag_backoff_init(&b, AG_BACKOFF_INITIAL_NS, AG_BACKOFF_MAX_NS);
    int64_t now = T0;
    /* first exit: no entry, so the first restart is immediate */
    assert_false(ag_backoff_in_backoff_since(&b, "c", now, now));
    ag_backoff_next(&b, "c", now, now);
    int64_t want[] = {10, 20, 40, 80, 160, 300, 300};
    assert_int_equal(ag_backoff_get(&b, "c"), want[0] * SEC);
    for (size_t i = 1; i < sizeof(want) / sizeof(*want); i++) {
        int64_t exit_at = now + 1 * SEC;
        int64_t w = ag_backoff_get(&b, "c");
        assert_true(ag_backoff_in_backoff_since(&b, "c", exit_at, exit_at + w - 1));
        assert_false(ag_backoff_in_backoff_since(&b, "c", exit_at, exit_at + w));
        now = exit_at + w;
        ag_backoff_next(&b, "c", exit_at, now);
        assert_int_equal(ag_backoff_get(&b, "c"), want[i] * SEC);
    }
    /* an exit more than 2 * max after the last restart starts over at 10 s */
    int64_t late = now + 2 * AG_BACKOFF_MAX_NS + SEC;
    assert_false(ag_backoff_in_backoff_since(&b, "c", late, late));
    ag_backoff_next(&b, "c", late, late);
    assert_int_equal(ag_backoff_get(&b, "c"), 10 * SEC);
    /* image pulls: IsInBackOffSinceUpdate counts from the last Next */
    assert_false(ag_backoff_in_backoff_since_update(&b, "img", late));
    ag_backoff_next(&b, "img", late, late);
    assert_true(ag_backoff_in_backoff_since_update(&b, "img", late + 10 * SEC - 1));
    assert_false(ag_backoff_in_backoff_since_update(&b, "img", late + 10 * SEC));
    ag_backoff_next(&b, "img", late + 10 * SEC, late + 10 * SEC);
    assert_true(ag_backoff_in_backoff_since_update(&b, "img", late + 29 * SEC));
    assert_false(ag_backoff_in_backoff_since_update(&b, "img", late + 30 * SEC));
    /* keys are independent; gc drops stale entries */
    assert_int_equal(ag_backoff_get(&b, "other"), 0);
    ag_backoff_next(&b, "other", T0, T0);
    ag_backoff_gc(&b, late + 1);
    assert_int_equal(ag_backoff_get(&b, "other"), 0);
    assert_int_equal(ag_backoff_get(&b, "c"), 10 * SEC);
    ag_backoff_release(&b);
}

/* ---- snapshots ------------------------------------------------------------------------- */

struct snapb {
    struct ag_pod_snapshot s;
};

static void sb_add(struct ag_pod_snapshot *s, unsigned attempt, bool ready, const char *ip)
{
    s->sbs = realloc(s->sbs, (s->nsb + 1) * sizeof(*s->sbs));
    struct rt_sandbox_status *x = &s->sbs[s->nsb++];
    memset(x, 0, sizeof(*x));
    snprintf(x->id, sizeof(x->id), "sb%u", attempt);
    snprintf(x->uid, sizeof(x->uid), "uid1");
    x->attempt = attempt;
    x->state = ready ? RT_SANDBOX_READY : RT_SANDBOX_NOTREADY;
    snprintf(x->ip, sizeof(x->ip), "%s", ip ? ip : "");
    x->created_ns = T0 + attempt;
}

static void ctr_add(struct ag_pod_snapshot *s, const char *name, unsigned attempt,
                    enum rt_container_state st, int exit_code)
{
    s->ctrs = realloc(s->ctrs, (s->nctr + 1) * sizeof(*s->ctrs));
    struct rt_container_status *c = &s->ctrs[s->nctr++];
    memset(c, 0, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s-%u", name, attempt);
    snprintf(c->sandbox_id, sizeof(c->sandbox_id), "sb0");
    snprintf(c->name, sizeof(c->name), "%s", name);
    snprintf(c->image_id, sizeof(c->image_id), "sha256:abc");
    c->attempt = attempt;
    c->state = st;
    c->exit_code = exit_code;
    c->created_ns = T0 + attempt * 100 * SEC;
    c->started_ns = c->created_ns + SEC;
    if (st == RT_CONTAINER_EXITED) {
        c->finished_ns = c->started_ns + SEC;
        snprintf(c->reason, sizeof(c->reason), "%s", exit_code ? "Error" : "Completed");
    }
}

static json_t *mkpod(const char *policy, int ninit, int nctr)
{
    json_t *pod = json_pack("{s:{s:s,s:s,s:s},s:{s:s,s:[],s:[]},s:{}}", "metadata", "name", "p",
                            "namespace", "ns", "uid", "uid1", "spec", "restartPolicy", policy,
                            "initContainers", "containers", "status");
    char n[16];
    for (int i = 0; i < ninit; i++) {
        snprintf(n, sizeof(n), "init%d", i);
        json_array_append_new(k8s_jpath(pod, "spec.initContainers"),
                              json_pack("{s:s,s:s}", "name", n, "image", "busybox"));
    }
    for (int i = 0; i < nctr; i++) {
        snprintf(n, sizeof(n), "c%d", i);
        json_array_append_new(k8s_jpath(pod, "spec.containers"),
                              json_pack("{s:s,s:s}", "name", n, "image", "busybox"));
    }
    if (!ninit)
        json_object_del(json_object_get(pod, "spec"), "initContainers");
    return pod;
}

/* ---- computePodActions ----------------------------------------------------------------- */

static void test_actions_new_pod(void **state)
{
    (void)state;
    json_t *pod = mkpod("Always", 0, 2);
    struct ag_pod_snapshot s = {0};
    struct ag_actions a;
    ag_compute_actions(pod, &s, &a);
    assert_true(a.create_sandbox);
    assert_int_equal(a.sandbox_attempt, 0);
    assert_int_equal(a.nstart, 2);
    assert_false(a.start[0].init);
    assert_int_equal(a.start[1].index, 1);
    assert_false(a.terminal);
    ag_actions_release(&a);
    json_decref(pod);
}

static void test_actions_init_in_order(void **state)
{
    (void)state;
    json_t *pod = mkpod("Always", 2, 1);
    struct ag_pod_snapshot s = {0};
    struct ag_actions a;
    ag_compute_actions(pod, &s, &a); /* no sandbox: the first init container only */
    assert_true(a.create_sandbox);
    assert_int_equal(a.nstart, 1);
    assert_true(a.start[0].init);
    assert_int_equal(a.start[0].index, 0);
    ag_actions_release(&a);
    sb_add(&s, 0, true, "10.0.0.2");
    ctr_add(&s, "init0", 0, RT_CONTAINER_RUNNING, 0);
    ag_compute_actions(pod, &s, &a); /* init0 running: wait */
    assert_false(a.create_sandbox);
    assert_int_equal(a.nstart, 0);
    assert_false(a.kill_pod);
    ag_actions_release(&a);
    s.ctrs[0].state = RT_CONTAINER_EXITED;
    ag_compute_actions(pod, &s, &a); /* init0 done: init1 */
    assert_int_equal(a.nstart, 1);
    assert_true(a.start[0].init);
    assert_int_equal(a.start[0].index, 1);
    ag_actions_release(&a);
    ctr_add(&s, "init1", 0, RT_CONTAINER_EXITED, 1);
    ag_compute_actions(pod, &s, &a); /* init1 failed under Always: restart it, attempt 1 */
    assert_int_equal(a.nstart, 1);
    assert_int_equal(a.start[0].index, 1);
    assert_int_equal(a.start[0].attempt, 1);
    ag_actions_release(&a);
    json_object_set_new(json_object_get(pod, "spec"), "restartPolicy", json_string("Never"));
    ag_compute_actions(pod, &s, &a); /* under Never the pod fails */
    assert_int_equal(a.nstart, 0);
    assert_true(a.kill_pod);
    assert_true(a.terminal);
    ag_actions_release(&a);
    json_object_set_new(json_object_get(pod, "spec"), "restartPolicy", json_string("Always"));
    s.ctrs[1].exit_code = 0;
    ag_compute_actions(pod, &s, &a); /* all init done: the regular container */
    assert_int_equal(a.nstart, 1);
    assert_false(a.start[0].init);
    ag_actions_release(&a);
    ag_snapshot_release(&s);
    json_decref(pod);
}

static void test_actions_restart_policies(void **state)
{
    (void)state;
    const char *pol[] = {"Always", "OnFailure", "Never"};
    /* exit 0 / exit 1: restart? */
    bool want0[] = {true, false, false}, want1[] = {true, true, false};
    for (int i = 0; i < 3; i++) {
        for (int code = 0; code <= 1; code++) {
            json_t *pod = mkpod(pol[i], 0, 1);
            struct ag_pod_snapshot s = {0};
            sb_add(&s, 0, true, "10.0.0.2");
            ctr_add(&s, "c0", 3, RT_CONTAINER_EXITED, code);
            struct ag_actions a;
            ag_compute_actions(pod, &s, &a);
            bool want = code ? want1[i] : want0[i];
            assert_int_equal(a.nstart, want ? 1 : 0);
            if (want)
                assert_int_equal(a.start[0].attempt, 4);
            assert_int_equal(a.terminal, !want);
            assert_int_equal(a.kill_pod, !want);
            ag_actions_release(&a);
            ag_snapshot_release(&s);
            json_decref(pod);
        }
    }
    /* a running container is kept; an unknown one is killed and restarted */
    json_t *pod = mkpod("Never", 0, 2);
    struct ag_pod_snapshot s = {0};
    sb_add(&s, 0, true, NULL);
    ctr_add(&s, "c0", 0, RT_CONTAINER_RUNNING, 0);
    ctr_add(&s, "c1", 0, RT_CONTAINER_UNKNOWN, 0);
    ctr_add(&s, "gone", 0, RT_CONTAINER_RUNNING, 0);
    struct ag_actions a;
    ag_compute_actions(pod, &s, &a);
    assert_int_equal(a.nstart, 1);
    assert_int_equal(a.start[0].index, 1);
    assert_int_equal(a.nkill, 2);
    assert_string_equal(a.kill[0], "c1-0");
    assert_string_equal(a.kill[1], "gone-0");
    ag_actions_release(&a);
    /* a dead sandbox under Never after the containers ran: no new sandbox, terminal */
    s.sbs[0].state = RT_SANDBOX_NOTREADY;
    ag_compute_actions(pod, &s, &a);
    assert_false(a.create_sandbox);
    assert_true(a.terminal);
    ag_actions_release(&a);
    json_object_set_new(json_object_get(pod, "spec"), "restartPolicy", json_string("Always"));
    ag_compute_actions(pod, &s, &a); /* under Always: a new sandbox, attempt 1, all containers */
    assert_true(a.create_sandbox);
    assert_true(a.kill_pod);
    assert_int_equal(a.sandbox_attempt, 1);
    assert_int_equal(a.nstart, 2);
    assert_int_equal(a.start[0].attempt, 1);
    ag_actions_release(&a);
    ag_snapshot_release(&s);
    json_decref(pod);
}

/* ---- status ---------------------------------------------------------------------------- */

static json_t *status_of(json_t *pod, struct ag_pod_snapshot *s, const struct ag_wait_reason *w,
                         size_t nw, bool terminal)
{
    struct ag_status_input in = {pod,  s, w, nw, "crun", "192.168.1.5", terminal, T0 + 500 * SEC,
                                 NULL, 0};
    return ag_pod_status(&in);
}

static json_t *cond(json_t *st, const char *type)
{
    return k8s_condition_get(st, type, NULL);
}

static void test_status_pending_and_running(void **state)
{
    (void)state;
    json_t *pod = mkpod("Always", 1, 2);
    struct ag_pod_snapshot s = {0};
    json_t *st = status_of(pod, &s, NULL, 0, false);
    assert_string_equal(k8s_jstr(st, "phase"), "Pending");
    assert_string_equal(k8s_jstr(cond(st, "Initialized"), "status"), "False");
    assert_string_equal(k8s_jstr(cond(st, "Initialized"), "reason"), "ContainersNotInitialized");
    assert_string_equal(k8s_jstr(cond(st, "Initialized"), "message"),
                        "containers with incomplete status: [init0]");
    assert_string_equal(k8s_jstr(cond(st, "Ready"), "message"),
                        "containers with unready status: [c0 c1]");
    assert_string_equal(k8s_jstr(cond(st, "PodReadyToStartContainers"), "status"), "False");
    assert_string_equal(k8s_jstr(cond(st, "PodScheduled"), "status"), "True");
    assert_string_equal(k8s_jpath_str(json_array_get(json_object_get(st, "containerStatuses"), 0),
                                      "state.waiting.reason"),
                        "PodInitializing");
    assert_string_equal(k8s_jstr(st, "qosClass"), "BestEffort");
    assert_string_equal(k8s_jstr(st, "hostIP"), "192.168.1.5");
    assert_null(json_object_get(st, "podIP"));
    /* conditions come in upstream's order */
    const char *order[] = {"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                           "PodScheduled"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(k8s_jstr(json_array_get(json_object_get(st, "conditions"), i), "type"),
                            order[i]);
    json_decref(st);

    sb_add(&s, 0, true, "10.88.0.7");
    ctr_add(&s, "init0", 0, RT_CONTAINER_EXITED, 0);
    ctr_add(&s, "c0", 0, RT_CONTAINER_RUNNING, 0);
    ctr_add(&s, "c1", 0, RT_CONTAINER_RUNNING, 0);
    st = status_of(pod, &s, NULL, 0, false);
    assert_string_equal(k8s_jstr(st, "phase"), "Running");
    assert_string_equal(k8s_jstr(st, "podIP"), "10.88.0.7");
    assert_string_equal(k8s_jstr(cond(st, "Ready"), "status"), "True");
    assert_null(json_object_get(cond(st, "Ready"), "reason"));
    assert_string_equal(k8s_jstr(cond(st, "Initialized"), "status"), "True");
    json_t *c0 = json_array_get(json_object_get(st, "containerStatuses"), 0);
    assert_string_equal(k8s_jstr(c0, "name"), "c0");
    assert_true(json_is_true(json_object_get(c0, "ready")));
    assert_string_equal(k8s_jstr(c0, "containerID"), "crun://c0-0");
    assert_non_null(k8s_jpath(c0, "state.running.startedAt"));
    json_t *i0 = json_array_get(json_object_get(st, "initContainerStatuses"), 0);
    assert_string_equal(k8s_jpath_str(i0, "state.terminated.reason"), "Completed");
    json_decref(st);
    ag_snapshot_release(&s);
    json_decref(pod);
}

static void test_status_crashloop_and_terminal(void **state)
{
    (void)state;
    json_t *pod = mkpod("Always", 0, 1);
    struct ag_pod_snapshot s = {0};
    sb_add(&s, 0, true, "10.88.0.7");
    ctr_add(&s, "c0", 0, RT_CONTAINER_EXITED, 2);
    ctr_add(&s, "c0", 1, RT_CONTAINER_EXITED, 3);
    struct ag_wait_reason w = {"c0", "CrashLoopBackOff", "back-off 10s restarting failed"};
    json_t *st = status_of(pod, &s, &w, 1, false);
    json_t *c0 = json_array_get(json_object_get(st, "containerStatuses"), 0);
    assert_string_equal(k8s_jpath_str(c0, "state.waiting.reason"), "CrashLoopBackOff");
    assert_int_equal(json_integer_value(k8s_jpath(c0, "lastState.terminated.exitCode")), 3);
    assert_int_equal(json_integer_value(json_object_get(c0, "restartCount")), 1);
    assert_string_equal(k8s_jstr(st, "phase"), "Running"); /* Always: restarting */
    json_decref(st);
    /* without a wait reason: terminated now, the previous instance as lastState */
    st = status_of(pod, &s, NULL, 0, false);
    c0 = json_array_get(json_object_get(st, "containerStatuses"), 0);
    assert_int_equal(json_integer_value(k8s_jpath(c0, "state.terminated.exitCode")), 3);
    assert_int_equal(json_integer_value(k8s_jpath(c0, "lastState.terminated.exitCode")), 2);
    json_decref(st);
    /* restartPolicy Never, exit 7: Failed; PodFailed on Ready */
    json_t *pn = mkpod("Never", 0, 1);
    struct ag_pod_snapshot s2 = {0};
    sb_add(&s2, 0, true, "10.88.0.8");
    ctr_add(&s2, "c0", 0, RT_CONTAINER_EXITED, 7);
    st = status_of(pn, &s2, NULL, 0, true);
    assert_string_equal(k8s_jstr(st, "phase"), "Failed");
    assert_string_equal(k8s_jstr(cond(st, "Ready"), "reason"), "PodFailed");
    c0 = json_array_get(json_object_get(st, "containerStatuses"), 0);
    assert_int_equal(json_integer_value(k8s_jpath(c0, "state.terminated.exitCode")), 7);
    /* a terminal phase is final even if the runtime forgets the containers */
    json_object_set(pn, "status", st);
    json_decref(st);
    struct ag_pod_snapshot empty = {0};
    st = status_of(pn, &empty, NULL, 0, false);
    assert_string_equal(k8s_jstr(st, "phase"), "Failed");
    c0 = json_array_get(json_object_get(st, "containerStatuses"), 0);
    assert_int_equal(json_integer_value(k8s_jpath(c0, "state.terminated.exitCode")), 7);
    assert_string_equal(k8s_jstr(st, "podIP"), "10.88.0.8");
    json_decref(st);
    /* exit 0 under OnFailure: Succeeded, PodCompleted */
    json_t *po = mkpod("OnFailure", 0, 1);
    s2.ctrs[0].exit_code = 0;
    st = status_of(po, &s2, NULL, 0, false);
    assert_string_equal(k8s_jstr(st, "phase"), "Succeeded");
    assert_string_equal(k8s_jstr(cond(st, "ContainersReady"), "reason"), "PodCompleted");
    json_decref(st);
    ag_snapshot_release(&s);
    ag_snapshot_release(&s2);
    json_decref(pod);
    json_decref(pn);
    json_decref(po);
}

static void test_status_transition_times_kept(void **state)
{
    (void)state;
    json_t *pod = mkpod("Always", 0, 1);
    struct ag_pod_snapshot s = {0};
    sb_add(&s, 0, true, "10.88.0.7");
    ctr_add(&s, "c0", 0, RT_CONTAINER_RUNNING, 0);
    json_t *st = status_of(pod, &s, NULL, 0, false);
    json_object_set(pod, "status", st);
    struct ag_status_input in = {pod,           &s,    NULL,           0,    "crun",
                                 "192.168.1.5", false, T0 + 900 * SEC, NULL, 0};
    json_t *again = ag_pod_status(&in);
    assert_true(json_equal(st, again)); /* nothing changed: no patch */
    json_decref(again);
    json_decref(st);
    ag_snapshot_release(&s);
    json_decref(pod);
}

static void test_phase_table(void **state)
{
    (void)state;
    json_t *spec = json_pack("{s:s,s:[{s:s},{s:s}]}", "restartPolicy", "Never", "containers",
                             "name", "a", "name", "b");
    json_t *run = json_pack("[{s:s,s:{s:{}}},{s:s,s:{s:{s:i}}}]", "name", "a", "state", "running",
                            "name", "b", "state", "terminated", "exitCode", 0);
    assert_string_equal(ag_pod_phase(spec, NULL, run, false), "Running");
    json_t *done =
        json_pack("[{s:s,s:{s:{s:i}}},{s:s,s:{s:{s:i}}}]", "name", "a", "state", "terminated",
                  "exitCode", 0, "name", "b", "state", "terminated", "exitCode", 1);
    assert_string_equal(ag_pod_phase(spec, NULL, done, false), "Failed");
    json_object_set_new(spec, "restartPolicy", json_string("Always"));
    assert_string_equal(ag_pod_phase(spec, NULL, done, false), "Running");
    assert_string_equal(ag_pod_phase(spec, NULL, done, true), "Failed");
    json_t *wait = json_pack("[{s:s,s:{s:{}}}]", "name", "a", "state", "waiting");
    assert_string_equal(ag_pod_phase(spec, NULL, wait, false), "Pending");
    json_decref(spec);
    json_decref(run);
    json_decref(done);
    json_decref(wait);
}

static void test_grace(void **state)
{
    (void)state;
    json_t *pod = json_pack("{s:{},s:{}}", "metadata", "spec");
    assert_int_equal(ag_pod_grace(pod), 30);
    json_object_set_new(json_object_get(pod, "spec"), "terminationGracePeriodSeconds",
                        json_integer(5));
    assert_int_equal(ag_pod_grace(pod), 5);
    json_object_set_new(json_object_get(pod, "metadata"), "deletionGracePeriodSeconds",
                        json_integer(0));
    assert_int_equal(ag_pod_grace(pod), 2); /* minimumGracePeriodInSeconds */
    json_decref(pod);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubling_and_cap),
        cmocka_unit_test(test_actions_new_pod),
        cmocka_unit_test(test_actions_init_in_order),
        cmocka_unit_test(test_actions_restart_policies),
        cmocka_unit_test(test_status_pending_and_running),
        cmocka_unit_test(test_status_crashloop_and_terminal),
        cmocka_unit_test(test_status_transition_times_kept),
        cmocka_unit_test(test_phase_table),
        cmocka_unit_test(test_grace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
