/* SPDX-License-Identifier: Apache-2.0 */
/* cmref.c: resolveControllerRef (kind, name and uid must all match the cached owner) and the
 * get<Kind>sForPod lookup (same namespace only; empty LabelSelectors select nothing for
 * workloads and everything for PodDisruptionBudgets; ReplicationControllers' map selectors). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/cm.h"

static void put(struct ck_informer *inf, const char *ns, const char *name, const char *uid,
                const char *selector_json)
{
    json_t *o =
        json_pack("{s:{s:s,s:s,s:s}}", "metadata", "namespace", ns, "name", name, "uid", uid);
    if (selector_json)
        json_object_set_new(o, "spec",
                            json_pack("{s:o}", "selector", json_loads(selector_json, 0, NULL)));
    char key[128];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    ck_indexer_put(ck_informer_indexer(inf), key, o);
    json_decref(o);
}

static void test_resolve(void **state)
{
    (void)state;
    struct ck_informer *inf = ck_informer_new(NULL, &(struct ck_informer_opts){.path = "/x"});
    put(inf, "ns", "rs1", "u1", NULL);
    json_t *ref = json_pack("{s:s,s:s,s:s}", "kind", "ReplicaSet", "name", "rs1", "uid", "u1");
    json_t *o = cm_resolve_controller_ref(inf, "ReplicaSet", "ns", ref);
    assert_non_null(o);
    json_decref(o);
    assert_null(cm_resolve_controller_ref(inf, "ReplicaSet", "other", ref));
    assert_null(cm_resolve_controller_ref(inf, "StatefulSet", "ns", ref));
    assert_null(cm_resolve_controller_ref(inf, "ReplicaSet", "ns", NULL));
    json_object_set_new(ref, "uid", json_string("u2")); /* same name, another object */
    assert_null(cm_resolve_controller_ref(inf, "ReplicaSet", "ns", ref));
    json_decref(ref);
    ck_informer_free(inf);
}

static char *drain(struct wq *q)
{
    static char out[512];
    out[0] = '\0';
    while (wq_len(q) > 0) {
        char *k = wq_get(q);
        strncat(out, k, sizeof(out) - strlen(out) - 2);
        strncat(out, " ", sizeof(out) - strlen(out) - 1);
        wq_done(q, k);
        free(k);
    }
    return out;
}

static void test_selecting(void **state)
{
    (void)state;
    struct ck_informer *inf = ck_informer_new(NULL, &(struct ck_informer_opts){.path = "/x"});
    struct wq *q = wq_new(&(struct wq_opts){.name = "test_cmref"});
    put(inf, "ns", "a", "1", "{\"matchLabels\":{\"app\":\"web\"}}");
    put(inf, "ns", "b", "2", "{\"matchLabels\":{\"app\":\"db\"}}");
    put(inf, "ns", "empty", "3", "{}");
    put(inf, "other", "c", "4", "{\"matchLabels\":{\"app\":\"web\"}}");
    json_t *pod = json_pack("{s:{s:s,s:s,s:{s:s}}}", "metadata", "namespace", "ns", "name", "p",
                            "labels", "app", "web");
    cm_enqueue_selecting(q, inf, pod, CM_SEL_LABEL_SELECTOR);
    assert_string_equal(drain(q), "ns/a ");
    cm_enqueue_selecting(q, inf, pod, CM_SEL_LABEL_SELECTOR_ALL);
    char *got = drain(q);
    assert_true(strstr(got, "ns/a ") && strstr(got, "ns/empty ") && !strstr(got, "ns/b ") &&
                !strstr(got, "other/c"));
    json_decref(pod);

    /* ReplicationControllers: spec.selector is a plain map */
    struct ck_informer *rcs = ck_informer_new(NULL, &(struct ck_informer_opts){.path = "/y"});
    put(rcs, "ns", "rc", "5", "{\"app\":\"web\"}");
    put(rcs, "ns", "rc-empty", "6", "{}");
    pod = json_pack("{s:{s:s,s:s,s:{s:s,s:s}}}", "metadata", "namespace", "ns", "name", "p",
                    "labels", "app", "web", "tier", "x");
    cm_enqueue_selecting(q, rcs, pod, CM_SEL_MAP);
    assert_string_equal(drain(q), "ns/rc ");
    json_decref(pod);
    wq_shutdown(q);
    wq_free(q);
    ck_informer_free(inf);
    ck_informer_free(rcs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_resolve),
                                       cmocka_unit_test(test_selecting)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
