/* SPDX-License-Identifier: Apache-2.0 */
/* pods/binding: the splice (bind.c) on pod shapes, compared with the same change made on the
 * parsed pod; and the endpoint on a real LMDB store: 201, 409 for a bound, deleting or gated
 * pod (upstream's messages), uid/resourceVersion preconditions, 404, the general path
 * (annotations, dry run), and the watch event equal to a GET. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apiserver/endpoints/bind.h"
#include "engine_harness.h"

#define NOW "2026-12-07T20:00:00Z"

/* The expected result of a binding, built with jansson from the parsed pod. */
static json_t *expected(const char *body, const char *node)
{
    json_error_t je;
    json_t *p = json_loads(body, 0, &je);
    json_t *spec = json_object_get(p, "spec");
    json_object_set_new(spec, "nodeName", json_string(node));
    json_t *st = json_object_get(p, "status");
    if (!json_is_object(st)) {
        st = json_object();
        json_object_set_new(p, "status", st);
    }
    json_t *conds = json_object_get(st, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(st, "conditions", conds);
    }
    size_t i, at = json_array_size(conds);
    json_t *c;
    const char *ltt = NOW;
    json_array_foreach(conds, i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "type")), "PodScheduled") == 0) {
            if (strcmp(json_string_value(json_object_get(c, "status")), "True") == 0)
                ltt = json_string_value(json_object_get(c, "lastTransitionTime"));
            at = i;
            break;
        }
    }
    json_t *nc = json_pack("{s:s,s:s,s:n,s:s}", "type", "PodScheduled", "status", "True",
                           "lastProbeTime", "lastTransitionTime", ltt);
    if (at < json_array_size(conds))
        json_array_set_new(conds, at, nc);
    else
        json_array_append_new(conds, nc);
    return p;
}

static void check_splice_x(const char *body, const char *node, bool exact)
{
    char *out = NULL, *bound = NULL, nj[128];
    size_t len = 0;
    snprintf(nj, sizeof(nj), "\"%s\"", node);
    assert_int_equal(eng_bind_splice(body, strlen(body), 0, 0, nj, NOW, &out, &len, &bound),
                     ENG_BS_OK);
    assert_null(bound);
    json_error_t je;
    json_t *got = json_loadb(out, len, 0, &je);
    assert_non_null(got);
    json_t *want = expected(body, node);
    if (!json_equal(got, want)) {
        char *w = json_dumps(want, JSON_COMPACT);
        fprintf(stderr, "got  %.*s\nwant %s\n", (int)len, out, w);
        free(w);
        fail();
    }
    /* the same bytes jansson would write (order kept, compact) */
    char *w = json_dumps(want, JSON_COMPACT);
    if (exact)
        assert_string_equal(out, w);
    free(w);
    json_decref(got);
    json_decref(want);
    free(out);
}

static void check_splice(const char *body, const char *node)
{
    check_splice_x(body, node, true);
}

static void test_splice_shapes(void **state)
{
    (void)state;
    check_splice("{\"metadata\":{\"name\":\"a\"},\"spec\":{}}", "n1");
    check_splice("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"containers\":[]}}", "n1");
    check_splice("{\"spec\":{\"nodeName\":\"\",\"x\":1}}", "node-2");
    check_splice("{\"spec\":{\"x\":{\"nodeName\":\"nested\"}},\"status\":{}}", "n");
    check_splice("{\"spec\":{\"schedulingGates\":[]},\"status\":{\"phase\":\"Pending\"}}", "n");
    check_splice("{\"spec\":{},\"status\":{\"conditions\":[]}}", "n");
    check_splice("{\"spec\":{},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":"
                 "\"False\"},{\"type\":\"PodScheduled\",\"status\":\"False\",\"reason\":"
                 "\"Unschedulable\",\"message\":\"0/3 nodes \\\"are\\\" available\"},{\"type\":"
                 "\"X\",\"status\":\"True\"}]}}",
                 "n");
    check_splice("{\"spec\":{},\"status\":{\"conditions\":[{\"type\":\"PodScheduled\",\"status\":"
                 "\"True\",\"lastProbeTime\":null,\"lastTransitionTime\":"
                 "\"2020-01-01T00:00:00Z\"}]}}",
                 "n");
    check_splice("{\"spec\":{\"a\":\"}]\\\\\",\"b\":[{}]},\"status\":{\"c\":\"{\"}}", "n");
    check_splice_x(" { \"spec\" : { \"k\" : [ 1 , 2 ] } , \"status\" : { } } ", "n", false);
}

static void test_splice_refusals(void **state)
{
    (void)state;
    char *out = NULL, *bound = NULL;
    size_t len;
    const char *b = "{\"spec\":{\"nodeName\":\"n\\u0031\"}}";
    assert_int_equal(eng_bind_splice(b, strlen(b), 0, 0, "\"x\"", NOW, &out, &len, &bound),
                     ENG_BS_BOUND);
    assert_string_equal(bound, "n1");
    free(bound);
    b = "{\"spec\":{\"schedulingGates\":[{\"name\":\"g\"}]}}";
    assert_int_equal(eng_bind_splice(b, strlen(b), 0, 0, "\"x\"", NOW, &out, &len, &bound),
                     ENG_BS_GATED);
    const char *bad[] = {"",
                         "[]",
                         "{",
                         "{\"spec\":[]}",
                         "{\"metadata\":{}}",
                         "{\"spec\":{}} x",
                         "{\"spec\":{\"nodeName\":5}}",
                         "{\"spec\":{},\"status\":[]}",
                         "{\"spec\":{},\"status\":{\"conditions\":[1]}}",
                         "{\"spec\":{\"a\":\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            eng_bind_splice(bad[i], strlen(bad[i]), 0, 0, "\"x\"", NOW, &out, &len, &bound),
            ENG_BS_FALLBACK);
        assert_null(out);
    }
    /* the cut (a cached object's resourceVersion) goes away */
    b = "{\"metadata\":{\"resourceVersion\":\"12\",\"name\":\"a\"},\"spec\":{}}";
    const char *rv = strstr(b, "\"resourceVersion\"");
    assert_int_equal(
        eng_bind_splice(b, strlen(b), (size_t)(rv - b), 23, "\"x\"", NOW, &out, &len, &bound),
        ENG_BS_OK);
    assert_string_equal(out,
                        "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"nodeName\":\"x\"},"
                        "\"status\":{\"conditions\":[{\"type\":\"PodScheduled\",\"status\":"
                        "\"True\",\"lastProbeTime\":null,\"lastTransitionTime\":\"" NOW "\"}]}}");
    free(out);
}

/* ---- the endpoint --------------------------------------------------------------------- */

#define PODS "/api/v1/namespaces/default/pods"

static void mkpod(struct env *e, const char *name, const char *extra_spec, const char *extra_md)
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\"%s},\"spec\":"
             "{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]%s}}",
             name, extra_md ? extra_md : "", extra_spec ? extra_spec : "");
    assert_int_equal(req(e, "POST", PODS, NULL, body, NULL), 201);
}

static int bind(struct env *e, const char *pod, const char *node, const char *md_extra,
                const char *query, json_t **out)
{
    char body[1024], path[256];
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":\"%s\"%s},"
             "\"target\":{\"kind\":\"Node\",\"name\":\"%s\"}}",
             pod, md_extra ? md_extra : "", node);
    snprintf(path, sizeof(path), PODS "/%s/binding", pod);
    return req(e, "POST", path, query, body, out);
}

static json_t *get_pod(struct env *e, const char *name)
{
    char path[256];
    json_t *v = NULL;
    snprintf(path, sizeof(path), PODS "/%s", name);
    assert_int_equal(req(e, "GET", path, NULL, NULL, &v), 200);
    return v;
}

static void expect_msg(json_t *v, const char *msg)
{
    if (strcmp(jpath(v, "message"), msg) != 0) {
        fprintf(stderr, "message %s\nwanted  %s\n", jpath(v, "message"), msg);
        fail();
    }
}

static json_t *scheduled_cond(json_t *pod)
{
    json_t *conds = json_object_get(json_object_get(pod, "status"), "conditions"), *c;
    size_t i;
    json_array_foreach(conds, i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "type")), "PodScheduled") == 0)
            return c;
    }
    return NULL;
}

static void test_bind_and_watch(void **state)
{
    struct env *e = *state;
    json_t *v = NULL;
    mkpod(e, "w", NULL, ",\"labels\":{\"app\":\"w\"}");
    json_t *before = get_pod(e, "w");
    char q[128];
    snprintf(q, sizeof(q), "watch=1&resourceVersion=%s", jpath(before, "metadata.resourceVersion"));
    int st;
    struct api_watch *w = watch_open(e, PODS, q, NULL, &st);
    assert_non_null(w);
    long long fast = eng_bind_fast_count(), hits = eng_hint_hits();
    assert_int_equal(bind(e, "w", "n1", NULL, NULL, &v), 201);
    assert_int_equal(eng_bind_fast_count(), fast + 1); /* the splice, not the general path */
    assert_int_equal(eng_hint_hits(), hits + 1);       /* the cache derived, did not parse */
    assert_string_equal(jpath(v, "kind"), "Status");
    assert_string_equal(jpath(v, "status"), "Success");
    assert_int_equal(jint(v, "code"), 201);
    json_decref(v);
    json_t *after = get_pod(e, "w");
    assert_string_equal(jpath(after, "spec.nodeName"), "n1");
    json_t *c = scheduled_cond(after);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "status")), "True");
    assert_true(json_is_null(json_object_get(c, "lastProbeTime")));
    assert_non_null(json_string_value(json_object_get(c, "lastTransitionTime")));
    assert_int_not_equal(
        strcmp(jpath(after, "metadata.resourceVersion"), jpath(before, "metadata.resourceVersion")),
        0);
    assert_string_equal(jpath(after, "metadata.uid"), jpath(before, "metadata.uid"));
    /* the watch event's object is what a GET returns */
    json_t *evs = watch_events(w, NULL);
    assert_int_equal(json_array_size(evs), 1);
    json_t *ev = json_array_get(evs, 0);
    assert_string_equal(jpath(ev, "type"), "MODIFIED");
    assert_true(json_equal(json_object_get(ev, "object"), after));
    json_decref(evs);
    api_watch_close(w);
    /* the fieldSelector index and the labels follow the derived object */
    assert_int_equal(req(e, "GET", PODS, "fieldSelector=spec.nodeName%3Dn1", NULL, &v), 200);
    assert_int_equal(json_array_size(json_object_get(v, "items")), 1);
    json_decref(v);
    assert_int_equal(
        req(e, "GET", PODS, "labelSelector=app%3Dw&fieldSelector=spec.nodeName%3Dn1", NULL, &v),
        200);
    assert_int_equal(json_array_size(json_object_get(v, "items")), 1);
    json_decref(v);
    assert_int_equal(req(e, "GET", PODS, "fieldSelector=spec.nodeName%3D", NULL, &v), 200);
    assert_int_equal(json_array_size(json_object_get(v, "items")), 0);
    json_decref(v);
    /* what a restart parses from the store is what the cache derived */
    env_stop(e);
    assert_int_equal(env_start(e), 0);
    json_t *reloaded = get_pod(e, "w");
    assert_true(json_equal(reloaded, after));
    json_decref(reloaded);
    json_decref(before);
    json_decref(after);
}

static void test_bind_conflicts(void **state)
{
    struct env *e = *state;
    json_t *v = NULL;
    mkpod(e, "b", NULL, NULL);
    assert_int_equal(bind(e, "b", "n1", NULL, NULL, NULL), 201);
    json_t *was = get_pod(e, "b");
    assert_int_equal(bind(e, "b", "n2", NULL, NULL, &v), 409);
    expect_msg(v, "Operation cannot be fulfilled on pods/binding \"b\": pod b is already "
                  "assigned to node \"n1\"");
    assert_string_equal(jpath(v, "reason"), "Conflict");
    assert_string_equal(jpath(v, "details.kind"), "pods/binding");
    assert_string_equal(jpath(v, "details.name"), "b");
    json_decref(v);
    json_t *now = get_pod(e, "b");
    assert_true(json_equal(was, now)); /* nothing written */
    json_decref(was);
    json_decref(now);

    /* gated */
    mkpod(e, "g", ",\"schedulingGates\":[{\"name\":\"example.com/gate\"}]", NULL);
    assert_int_equal(bind(e, "g", "n1", NULL, NULL, &v), 409);
    expect_msg(v, "Operation cannot be fulfilled on pods/binding \"g\": pod g has non-empty "
                  ".spec.schedulingGates");
    json_decref(v);

    /* being deleted (a finalizer keeps it) */
    mkpod(e, "d", NULL, ",\"finalizers\":[\"example.com/keep\"]");
    assert_int_equal(req(e, "DELETE", PODS "/d", NULL, NULL, NULL), 200);
    assert_int_equal(bind(e, "d", "n1", NULL, NULL, &v), 409);
    expect_msg(v, "Operation cannot be fulfilled on pods/binding \"d\": pod d is being deleted, "
                  "cannot be assigned to a host");
    json_decref(v);

    /* missing */
    assert_int_equal(bind(e, "nope", "n1", NULL, NULL, &v), 404);
    expect_msg(v, "pods \"nope\" not found");
    json_decref(v);

    /* name mismatch, no target */
    assert_int_equal(req(e, "POST", PODS "/b/binding", NULL,
                         "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":"
                         "\"other\"},\"target\":{\"name\":\"n1\"}}",
                         &v),
                     400);
    json_decref(v);
    mkpod(e, "t", NULL, NULL);
    assert_int_equal(req(e, "POST", PODS "/t/binding", NULL,
                         "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":"
                         "\"t\"},\"target\":{}}",
                         &v),
                     422);
    json_decref(v);
}

static void test_bind_preconditions(void **state)
{
    struct env *e = *state;
    json_t *v = NULL;
    char md[256], want[512];
    mkpod(e, "p", NULL, NULL);
    json_t *p = get_pod(e, "p");
    const char *uid = jpath(p, "metadata.uid"), *rv = jpath(p, "metadata.resourceVersion");
    assert_int_equal(bind(e, "p", "n1", ",\"uid\":\"not-the-uid\"", NULL, &v), 409);
    snprintf(want, sizeof(want),
             "Operation cannot be fulfilled on pods \"p\": StorageError: invalid object, Code: "
             "4, Key: /registry/pods/default/p, ResourceVersion: 0, AdditionalErrorMsg: "
             "Precondition failed: UID in precondition: not-the-uid, UID in object meta: %s",
             uid);
    expect_msg(v, want);
    assert_string_equal(jpath(v, "details.kind"), "pods");
    json_decref(v);
    assert_int_equal(bind(e, "p", "n1", ",\"resourceVersion\":\"1\"", NULL, &v), 409);
    snprintf(want, sizeof(want),
             "Operation cannot be fulfilled on pods \"p\": StorageError: invalid object, Code: "
             "4, Key: /registry/pods/default/p, ResourceVersion: 0, AdditionalErrorMsg: "
             "Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in "
             "object meta: %s",
             rv);
    expect_msg(v, want);
    json_decref(v);
    json_t *same = get_pod(e, "p");
    assert_null(jpath(same, "spec.nodeName"));
    json_decref(same);
    snprintf(md, sizeof(md), ",\"uid\":\"%s\",\"resourceVersion\":\"%s\"", uid, rv);
    assert_int_equal(bind(e, "p", "n1", md, NULL, NULL), 201);
    json_decref(p);
    p = get_pod(e, "p");
    assert_string_equal(jpath(p, "spec.nodeName"), "n1");
    json_decref(p);
}

static void test_bind_general_path(void **state)
{
    struct env *e = *state;
    json_t *v = NULL;
    /* dry run: answered, nothing written */
    long long fast = eng_bind_fast_count();
    mkpod(e, "dry", NULL, NULL);
    json_t *was = get_pod(e, "dry");
    assert_int_equal(bind(e, "dry", "n1", NULL, "dryRun=All", NULL), 201);
    json_t *now = get_pod(e, "dry");
    assert_true(json_equal(was, now));
    json_decref(was);
    json_decref(now);
    /* annotations merge into the pod's */
    mkpod(e, "ann", NULL, ",\"annotations\":{\"keep\":\"1\"}");
    assert_int_equal(bind(e, "ann", "n1", ",\"annotations\":{\"added\":\"2\"}", NULL, NULL), 201);
    json_t *p = get_pod(e, "ann");
    assert_string_equal(jpath(p, "spec.nodeName"), "n1");
    assert_string_equal(jpath(p, "metadata.annotations.keep"), "1");
    assert_string_equal(jpath(p, "metadata.annotations.added"), "2");
    assert_non_null(scheduled_cond(p));
    json_decref(p);
    assert_int_equal(eng_bind_fast_count(), fast); /* both took the general path */
    assert_int_equal(bind(e, "ann", "n2", ",\"annotations\":{\"x\":\"y\"}", NULL, &v), 409);
    expect_msg(v, "Operation cannot be fulfilled on pods/binding \"ann\": pod ann is already "
                  "assigned to node \"n1\"");
    json_decref(v);
    /* a PodScheduled=False condition (as the scheduler writes) is replaced in place */
    mkpod(e, "u", NULL, NULL);
    assert_int_equal(req(e, "PATCH", PODS "/u/status", NULL,
                         "{\"status\":{\"conditions\":[{\"type\":\"PodScheduled\",\"status\":"
                         "\"False\",\"reason\":\"Unschedulable\",\"message\":\"no\"},{\"type\":"
                         "\"Other\",\"status\":\"True\"}]}}",
                         NULL),
                     200);
    assert_int_equal(bind(e, "u", "n3", NULL, NULL, NULL), 201);
    p = get_pod(e, "u");
    json_t *conds = json_object_get(json_object_get(p, "status"), "conditions");
    assert_int_equal(json_array_size(conds), 2);
    json_t *c0 = json_array_get(conds, 0);
    assert_string_equal(json_string_value(json_object_get(c0, "type")), "PodScheduled");
    assert_string_equal(json_string_value(json_object_get(c0, "status")), "True");
    assert_null(json_object_get(c0, "reason"));
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_splice_shapes),
        cmocka_unit_test(test_splice_refusals),
        cmocka_unit_test_setup_teardown(test_bind_and_watch, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_bind_conflicts, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_bind_preconditions, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_bind_general_path, env_setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
