/* SPDX-License-Identifier: Apache-2.0 */
/* DELETE with propagationPolicy Foreground / Orphan / Background and the deprecated
 * orphanDependents, as upstream's generic registry store does it: the object stays with
 * deletionTimestamp, deletionGracePeriodSeconds 0 and the finalizer foregroundDeletion or
 * orphan (for the garbage collector), per-resource default policies, second DELETEs that
 * change the finalizers, namespaces, pods, dry run and deletecollection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine_harness.h"

#include "lib/banned.h"

#define NS "/api/v1/namespaces/default"

static int mkcm(struct env *e, const char *name, const char *fins)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\"%s%s%s},"
             "\"data\":{\"a\":\"b\"}}",
             name, fins ? ",\"finalizers\":" : "", fins ? fins : "", "");
    return req(e, "POST", NS "/configmaps", NULL, body, NULL);
}

static int mkdeploy(struct env *e, const char *name)
{
    char body[768];
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"%s\"},"
             "\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},\"template\":{"
             "\"metadata\":{\"labels\":{\"app\":\"%s\"}},\"spec\":{\"containers\":[{\"name\":"
             "\"c\",\"image\":\"nginx\"}]}}}}",
             name, name, name);
    return req(e, "POST", "/apis/apps/v1/namespaces/default/deployments", NULL, body, NULL);
}

/* The object's metadata.finalizers joined with ',' ("" when none). */
static const char *fins(json_t *v)
{
    static char buf[256];
    buf[0] = 0;
    json_t *a = json_object_get(json_object_get(v, "metadata"), "finalizers");
    size_t i;
    json_t *f;
    json_array_foreach(a, i, f)
    {
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? "," : "", json_string_value(f));
    }
    return buf;
}

/* GETs path; returns its finalizers, or "<gone>" on 404. */
static const char *get_fins(struct env *e, const char *path)
{
    static char buf[256];
    json_t *v = NULL;
    int st = req(e, "GET", path, NULL, NULL, &v);
    snprintf(buf, sizeof(buf), "%s", st == 404 ? "<gone>" : fins(v));
    json_decref(v);
    return buf;
}

static void test_foreground_then_orphan_then_background(void **state)
{
    struct env *e = *state;
    json_t *v;
    const char *p = NS "/configmaps/fg";
    assert_int_equal(mkcm(e, "fg", NULL), 201);
    assert_int_equal(req(e, "DELETE", p, "propagationPolicy=Foreground", NULL, &v), 200);
    assert_string_equal(jpath(v, "kind"), "ConfigMap");
    assert_string_equal(fins(v), "foregroundDeletion");
    assert_non_null(jpath(v, "metadata.deletionTimestamp"));
    assert_int_equal(jint(v, "metadata.deletionGracePeriodSeconds"), 0);
    char ts[32];
    snprintf(ts, sizeof(ts), "%s", jpath(v, "metadata.deletionTimestamp"));
    json_decref(v);
    assert_string_equal(get_fins(e, p), "foregroundDeletion");

    /* a second DELETE with another policy swaps the GC finalizer, keeps the timestamp */
    assert_int_equal(req(e, "DELETE", p, NULL, "{\"propagationPolicy\":\"Orphan\"}", &v), 200);
    assert_string_equal(fins(v), "orphan");
    assert_string_equal(jpath(v, "metadata.deletionTimestamp"), ts);
    json_decref(v);

    /* the same policy again: no change, no write */
    assert_int_equal(req(e, "GET", p, NULL, NULL, &v), 200);
    char rv[32];
    snprintf(rv, sizeof(rv), "%s", jpath(v, "metadata.resourceVersion"));
    json_decref(v);
    assert_int_equal(req(e, "DELETE", p, "propagationPolicy=Orphan", NULL, &v), 200);
    assert_string_equal(jpath(v, "metadata.resourceVersion"), rv);
    json_decref(v);

    /* Background drops the GC finalizer: nothing is left, the object goes */
    assert_int_equal(req(e, "DELETE", p, "propagationPolicy=Background", NULL, &v), 200);
    assert_string_equal(jpath(v, "kind"), "Status");
    json_decref(v);
    assert_string_equal(get_fins(e, p), "<gone>");
}

static void test_background_and_no_policy_remove_at_once(void **state)
{
    struct env *e = *state;
    json_t *v;
    assert_int_equal(mkcm(e, "bg", NULL), 201);
    assert_int_equal(
        req(e, "DELETE", NS "/configmaps/bg", "propagationPolicy=Background", NULL, &v), 200);
    assert_string_equal(jpath(v, "kind"), "Status");
    json_decref(v);
    assert_string_equal(get_fins(e, NS "/configmaps/bg"), "<gone>");
    /* apps/v1: DeleteDependents by default (background): removed at once */
    assert_int_equal(mkdeploy(e, "d"), 201);
    assert_int_equal(
        req(e, "DELETE", "/apis/apps/v1/namespaces/default/deployments/d", NULL, NULL, NULL), 200);
    assert_string_equal(get_fins(e, "/apis/apps/v1/namespaces/default/deployments/d"), "<gone>");
}

static void test_orphan_keeps_other_finalizers_and_bumps_generation(void **state)
{
    struct env *e = *state;
    json_t *v;
    const char *p = "/apis/apps/v1/namespaces/default/deployments/o";
    assert_int_equal(mkdeploy(e, "o"), 201);
    assert_int_equal(req(e, "GET", p, NULL, NULL, &v), 200);
    json_int_t gen = jint(v, "metadata.generation");
    json_decref(v);
    assert_int_equal(req(e, "DELETE", p, NULL,
                         "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\","
                         "\"propagationPolicy\":\"Orphan\"}",
                         &v),
                     200);
    assert_string_equal(fins(v), "orphan");
    assert_int_equal(jint(v, "metadata.generation"), gen + 1);
    json_decref(v);

    assert_int_equal(mkcm(e, "keep", "[\"example.com/hold\"]"), 201);
    assert_int_equal(
        req(e, "DELETE", NS "/configmaps/keep", "propagationPolicy=Foreground", NULL, &v), 200);
    assert_string_equal(fins(v), "example.com/hold,foregroundDeletion");
    json_decref(v);
    /* Background on a deleting object with another finalizer: GC finalizer removed, stays */
    assert_int_equal(
        req(e, "DELETE", NS "/configmaps/keep", "propagationPolicy=Background", NULL, &v), 200);
    assert_string_equal(fins(v), "example.com/hold");
    json_decref(v);
    /* the garbage collector's part: dropping the last finalizer removes the object */
    assert_int_equal(
        req(e, "PATCH", NS "/configmaps/keep", NULL, "{\"metadata\":{\"finalizers\":null}}", &v),
        200);
    json_decref(v);
    assert_string_equal(get_fins(e, NS "/configmaps/keep"), "<gone>");
}

static void test_orphan_dependents(void **state)
{
    struct env *e = *state;
    json_t *v;
    assert_int_equal(mkcm(e, "t", NULL), 201);
    assert_int_equal(req(e, "DELETE", NS "/configmaps/t", "orphanDependents=true", NULL, &v), 200);
    assert_string_equal(fins(v), "orphan");
    json_decref(v);
    /* orphanDependents=false: neither orphan nor foreground (upstream's generic store: only
     * namespaces read it as foreground); the orphan finalizer goes, and with it the object */
    assert_int_equal(req(e, "DELETE", NS "/configmaps/t", "orphanDependents=false", NULL, &v), 200);
    assert_string_equal(jpath(v, "kind"), "Status");
    json_decref(v);
    assert_string_equal(get_fins(e, NS "/configmaps/t"), "<gone>");
    /* 202 Accepted when orphanDependents=false leaves the object in place (other finalizer) */
    assert_int_equal(mkcm(e, "f", "[\"example.com/hold\"]"), 201);
    assert_int_equal(req(e, "DELETE", NS "/configmaps/f", NULL, "{\"orphanDependents\":false}", &v),
                     202);
    assert_string_equal(fins(v), "example.com/hold");
    assert_non_null(jpath(v, "metadata.deletionTimestamp"));
    json_decref(v);
}

static void test_invalid_options(void **state)
{
    struct env *e = *state;
    json_t *v;
    assert_int_equal(mkcm(e, "x", NULL), 201);
    assert_int_equal(req(e, "DELETE", NS "/configmaps/x", "propagationPolicy=Sometimes", NULL, &v),
                     422);
    assert_string_equal(jpath(v, "reason"), "Invalid");
    assert_string_equal(jpath(v, "message"),
                        "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: "
                        "Unsupported value: \"Sometimes\": supported values: \"Foreground\", "
                        "\"Background\", \"Orphan\", \"nil\"");
    json_decref(v);
    assert_int_equal(req(e, "DELETE", NS "/configmaps/x", NULL,
                         "{\"orphanDependents\":true,\"propagationPolicy\":\"Foreground\"}", &v),
                     422);
    assert_string_equal(jpath(v, "message"),
                        "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Invalid "
                        "value: \"Foreground\": orphanDependents and deletionPropagation cannot "
                        "be both set");
    json_decref(v);
    assert_int_equal(req(e, "DELETE", NS "/configmaps/x", "orphanDependents=maybe", NULL, NULL),
                     400);
    /* nothing happened to the object */
    assert_int_equal(req(e, "GET", NS "/configmaps/x", NULL, NULL, &v), 200);
    assert_null(jpath(v, "metadata.deletionTimestamp"));
    json_decref(v);
}

static void test_default_policies(void **state)
{
    struct env *e = *state;
    json_t *v;
    /* batch/v1 Jobs and v1 ReplicationControllers orphan by default */
    const char *job = "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":"
                      "\"j\"},\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\","
                      "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}}";
    assert_int_equal(req(e, "POST", "/apis/batch/v1/namespaces/default/jobs", NULL, job, NULL),
                     201);
    assert_int_equal(req(e, "DELETE", "/apis/batch/v1/namespaces/default/jobs/j", NULL, NULL, &v),
                     200);
    assert_string_equal(fins(v), "orphan");
    json_decref(v);
    /* ... unless the client asks for Background (kubectl's default) */
    assert_int_equal(req(e, "DELETE", "/apis/batch/v1/namespaces/default/jobs/j",
                         "propagationPolicy=Background", NULL, NULL),
                     200);
    assert_string_equal(get_fins(e, "/apis/batch/v1/namespaces/default/jobs/j"), "<gone>");
    const char *rc = "{\"apiVersion\":\"v1\",\"kind\":\"ReplicationController\",\"metadata\":{"
                     "\"name\":\"rc\"},\"spec\":{\"selector\":{\"app\":\"a\"},\"template\":{"
                     "\"metadata\":{\"labels\":{\"app\":\"a\"}},\"spec\":{\"containers\":[{"
                     "\"name\":\"c\",\"image\":\"nginx\"}]}}}}";
    assert_int_equal(req(e, "POST", NS "/replicationcontrollers", NULL, rc, NULL), 201);
    assert_int_equal(req(e, "DELETE", NS "/replicationcontrollers/rc", NULL, NULL, &v), 200);
    assert_string_equal(fins(v), "orphan");
    json_decref(v);
    /* events never take GC finalizers (Unsupported) */
    const char *ev = "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"ev\"},"
                     "\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"p\",\"namespace\":"
                     "\"default\"},\"reason\":\"R\",\"message\":\"m\",\"type\":\"Normal\"}";
    assert_int_equal(req(e, "POST", NS "/events", NULL, ev, NULL), 201);
    assert_int_equal(req(e, "DELETE", NS "/events/ev", "propagationPolicy=Foreground", NULL, NULL),
                     200);
    assert_string_equal(get_fins(e, NS "/events/ev"), "<gone>");
}

static void test_existing_gc_finalizer_decides(void **state)
{
    struct env *e = *state;
    json_t *v;
    /* a foregroundDeletion finalizer set by the client is kept when no policy is given */
    assert_int_equal(mkcm(e, "pre", "[\"foregroundDeletion\"]"), 201);
    assert_int_equal(req(e, "DELETE", NS "/configmaps/pre", NULL, NULL, &v), 200);
    assert_string_equal(fins(v), "foregroundDeletion");
    assert_non_null(jpath(v, "metadata.deletionTimestamp"));
    json_decref(v);
}

static void test_pods(void **state)
{
    struct env *e = *state;
    json_t *v;
    const char *pod = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\"},"
                      "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}";
    char body[256];
    /* unbound pod: not graceful; the GC finalizer keeps it with grace 0 */
    snprintf(body, sizeof(body), pod, "u");
    assert_int_equal(req(e, "POST", NS "/pods", NULL, body, NULL), 201);
    assert_int_equal(req(e, "DELETE", NS "/pods/u", "propagationPolicy=Foreground", NULL, &v), 200);
    assert_string_equal(jpath(v, "kind"), "Pod");
    assert_string_equal(fins(v), "foregroundDeletion");
    assert_int_equal(jint(v, "metadata.deletionGracePeriodSeconds"), 0);
    json_decref(v);
    /* bound pod: graceful (30 s) plus the finalizer */
    snprintf(body, sizeof(body), pod, "b");
    assert_int_equal(req(e, "POST", NS "/pods", NULL, body, NULL), 201);
    assert_int_equal(req(e, "POST", NS "/pods/b/binding", NULL,
                         "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":"
                         "\"b\"},\"target\":{\"kind\":\"Node\",\"name\":\"n1\"}}",
                         NULL),
                     201);
    assert_int_equal(req(e, "DELETE", NS "/pods/b", "propagationPolicy=Orphan", NULL, &v), 200);
    assert_string_equal(fins(v), "orphan");
    assert_int_equal(jint(v, "metadata.deletionGracePeriodSeconds"), 30);
    json_decref(v);
    /* a graceful deletion is pending: its finalizers are not updated by another DELETE */
    assert_int_equal(req(e, "DELETE", NS "/pods/b", "propagationPolicy=Background", NULL, &v), 200);
    assert_string_equal(fins(v), "orphan");
    json_decref(v);
    /* the kubelet's grace-0 delete: finalizers still hold it, now with grace 0 */
    assert_int_equal(req(e, "DELETE", NS "/pods/b", "gracePeriodSeconds=0", NULL, &v), 200);
    assert_string_equal(fins(v), "orphan");
    assert_int_equal(jint(v, "metadata.deletionGracePeriodSeconds"), 0);
    json_decref(v);
    assert_string_equal(get_fins(e, NS "/pods/b"), "orphan");
}

static void test_namespaces(void **state)
{
    struct env *e = *state;
    json_t *v;
    assert_int_equal(req(e, "POST", "/api/v1/namespaces", NULL,
                         "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
                         "\"keep\"}}",
                         NULL),
                     201);
    assert_int_equal(
        req(e, "DELETE", "/api/v1/namespaces/keep", "propagationPolicy=Orphan", NULL, &v), 200);
    assert_string_equal(jpath(v, "status.phase"), "Terminating");
    assert_string_equal(fins(v), "orphan");
    json_decref(v);
    /* empty: spec.finalizers are done, the orphan finalizer holds it for the GC */
    assert_int_equal(req(e, "GET", "/api/v1/namespaces/keep", NULL, NULL, &v), 200);
    assert_int_equal(json_array_size(json_object_get(json_object_get(v, "spec"), "finalizers")), 0);
    assert_string_equal(fins(v), "orphan");
    json_decref(v);

    /* orphanDependents=false on a namespace means foreground */
    assert_int_equal(req(e, "POST", "/api/v1/namespaces", NULL,
                         "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
                         "\"fg\"}}",
                         NULL),
                     201);
    assert_int_equal(req(e, "DELETE", "/api/v1/namespaces/fg", "orphanDependents=false", NULL, &v),
                     202);
    assert_string_equal(fins(v), "foregroundDeletion");
    json_decref(v);

    /* a plain delete: its contents go in the background, even a Job (default Orphan) */
    assert_int_equal(req(e, "POST", "/api/v1/namespaces", NULL,
                         "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
                         "\"gone\"}}",
                         NULL),
                     201);
    const char *job = "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":"
                      "\"j\"},\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\","
                      "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}}";
    assert_int_equal(req(e, "POST", "/apis/batch/v1/namespaces/gone/jobs", NULL, job, NULL), 201);
    assert_int_equal(req(e, "DELETE", "/api/v1/namespaces/gone", NULL, NULL, NULL), 200);
    assert_string_equal(get_fins(e, "/apis/batch/v1/namespaces/gone/jobs/j"), "<gone>");
    assert_string_equal(get_fins(e, "/api/v1/namespaces/gone"), "<gone>");
}

static void test_dry_run_and_collection(void **state)
{
    struct env *e = *state;
    json_t *v;
    assert_int_equal(mkcm(e, "dry", NULL), 201);
    assert_int_equal(
        req(e, "DELETE", NS "/configmaps/dry", "propagationPolicy=Foreground&dryRun=All", NULL, &v),
        200);
    assert_string_equal(fins(v), "foregroundDeletion");
    json_decref(v);
    assert_string_equal(get_fins(e, NS "/configmaps/dry"), "");

    assert_int_equal(mkcm(e, "c1", NULL), 201);
    assert_int_equal(mkcm(e, "c2", NULL), 201);
    assert_int_equal(req(e, "DELETE", NS "/configmaps", "propagationPolicy=Foreground", NULL, &v),
                     200);
    assert_int_equal(json_array_size(json_object_get(v, "items")), 3);
    json_decref(v);
    assert_string_equal(get_fins(e, NS "/configmaps/c1"), "foregroundDeletion");
    assert_string_equal(get_fins(e, NS "/configmaps/c2"), "foregroundDeletion");
    assert_string_equal(get_fins(e, NS "/configmaps/dry"), "foregroundDeletion");
}

static void test_watch_sees_modified_not_deleted(void **state)
{
    struct env *e = *state;
    int st;
    assert_int_equal(mkcm(e, "w", NULL), 201);
    json_t *v;
    assert_int_equal(req(e, "GET", NS "/configmaps/w", NULL, NULL, &v), 200);
    char q[96];
    snprintf(q, sizeof(q), "watch=true&resourceVersion=%s", jpath(v, "metadata.resourceVersion"));
    json_decref(v);
    struct api_watch *w = watch_open(e, NS "/configmaps", q, NULL, &st);
    assert_non_null(w);
    assert_int_equal(req(e, "DELETE", NS "/configmaps/w", "propagationPolicy=Orphan", NULL, NULL),
                     200);
    json_t *evs = watch_events(w, NULL);
    assert_int_equal(json_array_size(evs), 1);
    assert_string_equal(jpath(json_array_get(evs, 0), "type"), "MODIFIED");
    assert_string_equal(fins(json_object_get(json_array_get(evs, 0), "object")), "orphan");
    json_decref(evs);
    api_watch_close(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_foreground_then_orphan_then_background, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_background_and_no_policy_remove_at_once, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_orphan_keeps_other_finalizers_and_bumps_generation,
                                        env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_orphan_dependents, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_options, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_default_policies, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_existing_gc_finalizer_decides, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_pods, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_namespaces, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_dry_run_and_collection, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_watch_sees_modified_not_deleted, env_setup,
                                        env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
