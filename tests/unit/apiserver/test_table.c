/* SPDX-License-Identifier: Apache-2.0 */
/* The copy-on-write chunked tables (src/apiserver/storage/table.c) against a plain sorted-array
 * model: random puts/replaces/deletes across chunk splits and empty chunks, seeks (inclusive
 * and exclusive), and snapshots that must keep exactly their moment's contents while the
 * table goes on changing, with every object reference accounted for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apiserver/storage/storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS 2000

static const struct reg_resource *cm_res(void)
{
    reg_init();
    return reg_find("", "v1", "configmaps");
}

static struct eng_obj *mkobj(const struct reg_resource *r, int k, int64_t rv)
{
    char key[128], body[256];
    int kl = snprintf(key, sizeof(key), "/registry/core/configmaps/ns/k%05d", k);
    int bl = snprintf(body, sizeof(body),
                      "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                      "\"k%05d\",\"namespace\":\"ns\",\"labels\":{\"rv\":\"%lld\"}}}",
                      k, (long long)rv);
    struct eng_obj *o = eng_obj_from_store(r, key, (size_t)kl, body, (size_t)bl, rv, NULL);
    assert_non_null(o);
    return o;
}

/* model: model[k] = the object at key k, or NULL */
static void check_equal(const struct eng_table *t, struct eng_obj *const *model)
{
    struct eng_cursor cur;
    eng_table_first(t, &cur);
    size_t n = 0;
    for (int k = 0; k < NKEYS; k++) {
        if (!model[k])
            continue;
        struct eng_obj *o = eng_cursor_obj(&cur);
        assert_non_null(o);
        assert_ptr_equal(o, model[k]);
        eng_cursor_next(&cur);
        n++;
    }
    assert_null(eng_cursor_obj(&cur));
    assert_int_equal(t->n, n);
    for (size_t c = 0; c < t->nc; c++) {
        assert_true(t->c[c]->n > 0);
        assert_true(t->c[c]->n <= ENG_CHUNK);
    }
}

static void test_model(void **state)
{
    (void)state;
    const struct reg_resource *r = cm_res();
    struct eng_table t;
    memset(&t, 0, sizeof(t));
    struct eng_obj **model = calloc(NKEYS, sizeof(*model));
    struct eng_obj **snapmodel[4];
    struct eng_table snaps[4];
    int nsnaps = 0;
    srand(42);
    for (int step = 0; step < 20000; step++) {
        int k = rand() % NKEYS;
        if (rand() % 3) { /* put or replace */
            struct eng_obj *o = mkobj(r, k, step + 1);
            struct eng_obj *old = eng_table_put(&t, o);
            assert_ptr_equal(old, model[k]);
            eng_obj_unref(old); /* the reference passed to us */
            model[k] = o;
        } else {
            char key[128];
            snprintf(key, sizeof(key), "/registry/core/configmaps/ns/k%05d", k);
            struct eng_obj *old = eng_table_del(&t, key);
            assert_ptr_equal(old, model[k]);
            eng_obj_unref(old);
            model[k] = NULL;
        }
        if (step % 5000 == 4999 && nsnaps < 4) {
            eng_table_snapshot(&t, &snaps[nsnaps]);
            snapmodel[nsnaps] = calloc(NKEYS, sizeof(struct eng_obj *));
            memcpy(snapmodel[nsnaps], model, NKEYS * sizeof(*model));
            nsnaps++;
        }
    }
    check_equal(&t, model);
    for (int i = 0; i < nsnaps; i++) { /* later writes never reached a snapshot */
        check_equal(&snaps[i], snapmodel[i]);
        eng_table_release(&snaps[i]);
        free(snapmodel[i]);
    }
    check_equal(&t, model); /* releasing snapshots leaves the table whole */
    eng_table_release(&t);
    free(model);
}

static void test_seek(void **state)
{
    (void)state;
    const struct reg_resource *r = cm_res();
    struct eng_table t;
    memset(&t, 0, sizeof(t));
    for (int k = 0; k < 1000; k += 2)
        assert_null(eng_table_put(&t, mkobj(r, k, 1)));
    assert_true(t.nc > 1000 / 2 / ENG_CHUNK);
    struct eng_cursor cur;
    char key[128];
    for (int k = 0; k < 1002; k++) {
        snprintf(key, sizeof(key), "/registry/core/configmaps/ns/k%05d", k);
        for (int excl = 0; excl < 2; excl++) {
            eng_table_seek(&t, key, excl, &cur);
            int want = k % 2 ? k + 1 : (excl ? k + 2 : k);
            struct eng_obj *o = eng_cursor_obj(&cur);
            if (want >= 1000) {
                assert_null(o);
            } else {
                char wk[128];
                snprintf(wk, sizeof(wk), "/registry/core/configmaps/ns/k%05d", want);
                assert_non_null(o);
                assert_string_equal(o->key, wk);
            }
        }
        struct eng_obj *f = eng_table_find(&t, key);
        assert_true(k % 2 == 0 && k < 1000 ? f != NULL : f == NULL);
    }
    eng_table_seek(&t, "/registry/core/configmaps/", false, &cur);
    assert_string_equal(eng_cursor_obj(&cur)->name, "k00000");
    eng_table_release(&t);
}

/* A snapshot shares chunks: objects stay alive (and unchanged) after the table dropped
 * them, and each object's reference count returns to 1 once only the caller holds it. */
static void test_snapshot_refs(void **state)
{
    (void)state;
    const struct reg_resource *r = cm_res();
    struct eng_table t, snap;
    memset(&t, 0, sizeof(t));
    struct eng_obj *keep[300];
    for (int k = 0; k < 300; k++) {
        keep[k] = mkobj(r, k, 1);
        eng_table_put(&t, eng_obj_ref(keep[k]));
    }
    eng_table_snapshot(&t, &snap);
    for (int k = 0; k < 300; k++)
        eng_obj_unref(eng_table_del(&t, keep[k]->key));
    assert_int_equal(t.n, 0);
    assert_int_equal(t.nc, 0);
    assert_int_equal(snap.n, 300);
    for (int k = 0; k < 300; k++)
        assert_int_equal(atomic_load(&keep[k]->refs), 2); /* ours + the snapshot's chunk */
    eng_table_release(&snap);
    for (int k = 0; k < 300; k++) {
        assert_int_equal(atomic_load(&keep[k]->refs), 1);
        eng_obj_unref(keep[k]);
    }
    eng_table_release(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_seek),
        cmocka_unit_test(test_snapshot_refs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
