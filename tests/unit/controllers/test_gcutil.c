/* SPDX-License-Identifier: Apache-2.0 */
/* Garbage collector decisions: the cases of garbagecollector.go attemptToDeleteItem that
 * upstream's TestGarbageCollectorSync/TestAttemptToDeleteItem and the foreground/orphan e2e
 * tests exercise: a solid owner keeps the item (dropping dangling and waiting refs), no
 * solid owner deletes it with the propagation its finalizers ask for, and an owner waiting
 * in foreground makes an item with dependents go in foreground. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "controllers/gcutil.h"

static void test_decide(void **state)
{
    (void)state;
    static const struct {
        int solid, dangling, waiting;
        bool deps, orphan, fg;
        enum gc_action want;
        const char *policy;
    } cases[] = {
        {1, 0, 0, false, false, false, GC_KEEP, NULL},
        {2, 0, 0, true, true, true, GC_KEEP, NULL},
        {1, 1, 0, false, false, false, GC_REMOVE_REFS, NULL}, /* dangling ref to a gone owner */
        {1, 0, 1, true, false, false, GC_REMOVE_REFS, NULL},  /* waiting owner, solid other */
        {0, 1, 0, false, false, false, GC_DELETE, "Background"},
        {0, 2, 0, true, false, false, GC_DELETE, "Background"},
        {0, 1, 0, true, true, false, GC_DELETE, "Orphan"},
        {0, 1, 0, true, false, true, GC_DELETE, "Foreground"},
        {0, 0, 1, true, false, false, GC_DELETE, "Foreground"},  /* owner waits, item has deps */
        {0, 0, 1, false, false, false, GC_DELETE, "Background"}, /* owner waits, no deps */
        {0, 0, 1, false, true, false, GC_DELETE, "Orphan"},
        {0, 1, 1, true, true, false, GC_DELETE, "Foreground"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *policy = "unset";
        enum gc_action a = gc_decide(cases[i].solid, cases[i].dangling, cases[i].waiting,
                                     cases[i].deps, cases[i].orphan, cases[i].fg, &policy);
        assert_int_equal(a, cases[i].want);
        if (cases[i].policy)
            assert_string_equal(policy, cases[i].policy);
        else
            assert_null(policy);
    }
}

/* The metadata monitors keep only what the graph reads. */
static void test_trim(void **state)
{
    (void)state;
    json_t *o = json_loads(
        "{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"data\":{\"k\":\"big\"},"
        "\"metadata\":{\"name\":\"c\",\"namespace\":\"n\",\"uid\":\"u\","
        "\"resourceVersion\":\"7\",\"labels\":{\"a\":\"b\"},\"annotations\":{\"x\":\"y\"},"
        "\"managedFields\":[{}],\"ownerReferences\":[{\"uid\":\"o\"}],"
        "\"deletionTimestamp\":\"2026-01-01T00:00:00Z\",\"finalizers\":[\"orphan\"]}}",
        0, NULL);
    assert_non_null(o);
    gc_trim_meta(o);
    json_t *want = json_loads(
        "{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"c\","
        "\"namespace\":\"n\",\"uid\":\"u\",\"resourceVersion\":\"7\","
        "\"ownerReferences\":[{\"uid\":\"o\"}],\"deletionTimestamp\":\"2026-01-01T00:00:00Z\","
        "\"finalizers\":[\"orphan\"]}}",
        0, NULL);
    assert_true(json_equal(o, want));
    json_decref(want);
    json_decref(o);
    json_t *a = json_pack("[i]", 1);
    gc_trim_meta(a); /* not an object: left alone */
    assert_int_equal(json_array_size(a), 1);
    json_decref(a);
    o = json_pack("{s:i,s:s}", "metadata", 3, "spec", "x");
    gc_trim_meta(o);
    assert_int_equal(json_object_size(o), 1);
    json_decref(o);
}

static void test_ignored_and_items(void **state)
{
    (void)state;
    assert_true(gc_ignored("", "events"));
    assert_true(gc_ignored("events.k8s.io", "events"));
    assert_false(gc_ignored("example.com", "events"));
    assert_false(gc_ignored("", "configmaps"));
    char id[32];
    const char *key = gc_split_item("apps/v1/deployments|ns/d", id, sizeof(id));
    assert_non_null(key);
    assert_string_equal(id, "apps/v1/deployments");
    assert_string_equal(key, "ns/d");
    key = gc_split_item("v1/nodes|n1", id, sizeof(id));
    assert_string_equal(id, "v1/nodes");
    assert_string_equal(key, "n1");
    assert_null(gc_split_item("v1/nodes", id, sizeof(id)));
    assert_null(gc_split_item("|x", id, sizeof(id)));
    assert_null(gc_split_item("v1/nodes|", id, sizeof(id)));
    assert_null(gc_split_item("averyveryverylongidentifier/v1/things|x", id, sizeof(id)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_decide), cmocka_unit_test(test_trim),
                                       cmocka_unit_test(test_ignored_and_items)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
