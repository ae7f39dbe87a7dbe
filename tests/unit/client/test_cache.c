/* SPDX-License-Identifier: Apache-2.0 */
/* Indexer and DeltaFIFO tests: index maintenance on update/delete/replace, delta compression,
 * relist deletions (final state unknown), resync, has_synced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckube/deltafifo.h"
#include "ckube/indexer.h"

static json_t *pod(const char *ns, const char *name, const char *node, const char *rv)
{
    return json_pack("{s:{s:s,s:s,s:s},s:{s:s}}", "metadata", "namespace", ns, "name", name,
                     "resourceVersion", rv, "spec", "nodeName", node);
}

static void by_node(const json_t *obj, ck_index_emit_fn emit, void *ctx)
{
    const char *n = json_string_value(json_object_get(json_object_get(obj, "spec"), "nodeName"));
    if (n && *n)
        emit(ctx, n);
}

static char *keys_str(json_t *arr)
{
    char *s = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return s;
}

static void assert_keys(json_t *arr, const char *want)
{
    char *s = keys_str(arr);
    assert_string_equal(s, want);
    free(s);
}

static void test_meta_key(void **state)
{
    (void)state;
    json_t *p = pod("ns1", "a", "n1", "1");
    char *k = ck_meta_namespace_key(p);
    assert_string_equal(k, "ns1/a");
    free(k);
    json_t *node = json_pack("{s:{s:s}}", "metadata", "name", "node-1");
    k = ck_meta_namespace_key(node);
    assert_string_equal(k, "node-1");
    free(k);
    json_t *bad = json_pack("{s:{}}", "metadata");
    assert_null(ck_meta_namespace_key(bad));
    json_decref(p);
    json_decref(node);
    json_decref(bad);
}

static void test_indexer_updates(void **state)
{
    (void)state;
    struct ck_indexer *ix = ck_indexer_new();
    assert_int_equal(ck_indexer_add_index(ix, "namespace", ck_index_by_namespace), 0);
    assert_int_equal(ck_indexer_add_index(ix, "namespace", ck_index_by_namespace), -1);
    const char *specs[][3] = {{"a", "x", "n1"}, {"a", "y", "n2"}, {"b", "z", "n1"}};
    for (size_t i = 0; i < 3; i++) {
        json_t *p = pod(specs[i][0], specs[i][1], specs[i][2], "1");
        char *k = ck_meta_namespace_key(p);
        ck_indexer_put(ix, k, p);
        free(k);
        json_decref(p);
    }
    /* an index added later covers existing objects */
    assert_int_equal(ck_indexer_add_index(ix, "node", by_node), 0);
    assert_keys(ck_indexer_index_keys(ix, "node", "n1"), "[\"a/x\",\"b/z\"]");
    assert_keys(ck_indexer_index_keys(ix, "namespace", "a"), "[\"a/x\",\"a/y\"]");
    /* moving a pod to another node moves it between index values */
    json_t *moved = pod("a", "x", "n2", "2");
    ck_indexer_put(ix, "a/x", moved);
    json_decref(moved);
    assert_keys(ck_indexer_index_keys(ix, "node", "n1"), "[\"b/z\"]");
    assert_keys(ck_indexer_index_keys(ix, "node", "n2"), "[\"a/x\",\"a/y\"]");
    json_t *got = ck_indexer_get(ix, "a/x");
    assert_string_equal(json_string_value(json_object_get(json_object_get(got, "metadata"),
                                                          "resourceVersion")),
                        "2");
    json_decref(got);
    json_t *objs = ck_indexer_by_index(ix, "node", "n2");
    assert_int_equal(json_array_size(objs), 2);
    json_decref(objs);
    assert_true(ck_indexer_delete(ix, "a/y"));
    assert_false(ck_indexer_delete(ix, "a/y"));
    assert_keys(ck_indexer_index_keys(ix, "node", "n2"), "[\"a/x\"]");
    assert_null(ck_indexer_index_keys(ix, "nope", "x"));
    assert_int_equal(ck_indexer_len(ix), 2);
    /* replace drops what is not in the new set, and its index entries */
    json_t *items = json_object();
    json_object_set_new(items, "c/w", pod("c", "w", "n3", "5"));
    ck_indexer_replace(ix, items);
    json_decref(items);
    assert_keys(ck_indexer_keys(ix), "[\"c/w\"]");
    assert_keys(ck_indexer_index_keys(ix, "node", "n2"), "[]");
    assert_keys(ck_indexer_index_keys(ix, "namespace", "c"), "[\"c/w\"]");
    ck_indexer_free(ix);
}

struct popped {
    char key[64];
    int types[16];
    bool dfsu[16];
    char rv[16][8];
    size_t n;
};

static int record(void *arg, const char *key, const struct ck_delta *d, size_t n)
{
    struct popped *p = arg;
    snprintf(p->key, sizeof(p->key), "%s", key);
    p->n = n;
    for (size_t i = 0; i < n && i < 16; i++) {
        p->types[i] = d[i].type;
        p->dfsu[i] = d[i].final_state_unknown;
        const char *rv = json_string_value(
            json_object_get(json_object_get(d[i].obj, "metadata"), "resourceVersion"));
        snprintf(p->rv[i], sizeof(p->rv[i]), "%s", rv ? rv : "");
    }
    return 0;
}

static void test_fifo_accumulates_and_compresses(void **state)
{
    (void)state;
    struct ck_deltafifo *f = ck_deltafifo_new(NULL);
    json_t *a1 = pod("ns", "a", "n", "1"), *a2 = pod("ns", "a", "n", "2");
    json_t *b1 = pod("ns", "b", "n", "3");
    ck_deltafifo_add(f, a1);
    ck_deltafifo_add(f, b1);
    ck_deltafifo_update(f, a2);
    ck_deltafifo_delete(f, a2);
    ck_deltafifo_delete(f, a2); /* a second deletion collapses into the first */
    assert_int_equal(ck_deltafifo_len(f), 2);
    struct popped p;
    assert_int_equal(ck_deltafifo_pop(f, record, &p), 0);
    assert_string_equal(p.key, "ns/a");
    assert_int_equal(p.n, 3);
    assert_int_equal(p.types[0], CK_DELTA_ADDED);
    assert_string_equal(p.rv[0], "1");
    assert_int_equal(p.types[1], CK_DELTA_UPDATED);
    assert_int_equal(p.types[2], CK_DELTA_DELETED);
    assert_int_equal(ck_deltafifo_pop(f, record, &p), 0);
    assert_string_equal(p.key, "ns/b");
    assert_int_equal(p.n, 1);
    /* deleting something never seen (no known store, not queued) is a no-op */
    json_t *c = pod("ns", "c", "n", "9");
    ck_deltafifo_delete(f, c);
    assert_int_equal(ck_deltafifo_len(f), 0);
    assert_int_equal(ck_deltafifo_pop_timeout(f, 10, record, &p), 0);
    ck_deltafifo_close(f);
    assert_int_equal(ck_deltafifo_pop(f, record, &p), -1);
    json_decref(a1);
    json_decref(a2);
    json_decref(b1);
    json_decref(c);
    ck_deltafifo_free(f);
}

static void test_fifo_replace_with_known(void **state)
{
    (void)state;
    struct ck_indexer *known = ck_indexer_new();
    json_t *old = pod("ns", "gone", "n", "4"), *kept = pod("ns", "kept", "n", "5");
    ck_indexer_put(known, "ns/gone", old);
    ck_indexer_put(known, "ns/kept", kept);
    struct ck_deltafifo *f = ck_deltafifo_new(known);
    assert_false(ck_deltafifo_has_synced(f));
    json_t *items = json_array();
    json_array_append_new(items, pod("ns", "kept", "n", "6"));
    json_array_append_new(items, pod("ns", "new", "n", "7"));
    ck_deltafifo_replace(f, items);
    json_decref(items);
    assert_int_equal(ck_deltafifo_len(f), 3);
    assert_false(ck_deltafifo_has_synced(f));
    struct popped p;
    int seen_gone = 0;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ck_deltafifo_pop(f, record, &p), 0);
        assert_int_equal(p.n, 1);
        if (!strcmp(p.key, "ns/gone")) {
            seen_gone = 1;
            assert_int_equal(p.types[0], CK_DELTA_DELETED);
            assert_true(p.dfsu[0]);
            assert_string_equal(p.rv[0], "4"); /* the last known state */
        } else {
            assert_int_equal(p.types[0], CK_DELTA_REPLACED);
        }
        if (i < 2)
            assert_false(ck_deltafifo_has_synced(f));
    }
    assert_true(seen_gone);
    assert_true(ck_deltafifo_has_synced(f));
    /* resync queues Sync for known objects without pending deltas only */
    json_t *k2 = pod("ns", "kept", "n", "8");
    ck_deltafifo_update(f, k2);
    ck_deltafifo_resync(f);
    assert_int_equal(ck_deltafifo_len(f), 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ck_deltafifo_pop(f, record, &p), 0);
        assert_int_equal(p.n, 1);
        if (!strcmp(p.key, "ns/kept"))
            assert_int_equal(p.types[0], CK_DELTA_UPDATED);
        else
            assert_int_equal(p.types[0], CK_DELTA_SYNC);
    }
    json_decref(k2);
    json_decref(old);
    json_decref(kept);
    ck_deltafifo_free(f);
    ck_indexer_free(known);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_meta_key),
        cmocka_unit_test(test_indexer_updates),
        cmocka_unit_test(test_fifo_accumulates_and_compresses),
        cmocka_unit_test(test_fifo_replace_with_known),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
