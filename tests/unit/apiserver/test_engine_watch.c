/* SPDX-License-Identifier: Apache-2.0 */
/* Engine WATCH tests on a real LMDB store: resume after a LIST misses and repeats nothing,
 * synthetic ADDED for the current state, selector transitions (DELETED when an object stops
 * matching), resume older than the ring via the store's event log, 410 after compaction,
 * bookmarks, timeouts, streaming list, Table events, and a concurrent writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>

#include "engine_harness.h"
#include "lib/timeutil.h"

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    if (env_open_hist(e, 8) < 0) /* a small ring so resumes also go to the store */
        return -1;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env_close(*state);
    free(*state);
    return 0;
}

static void put_cm(struct env *e, const char *name, const char *app, const char *val)
{
    char body[4096], path[160];
    snprintf(path, sizeof(path), "/api/v1/namespaces/default/configmaps/%s", name);
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\","
             "\"labels\":{\"app\":\"%s\"}},\"data\":{\"v\":\"%s\"}}",
             name, app, val);
    int st = req(e, "PUT", path, NULL, body, NULL);
    if (st == 404)
        st = req(e, "POST", "/api/v1/namespaces/default/configmaps", NULL, body, NULL);
    assert_true(st == 200 || st == 201);
}

static const char *ev_type(json_t *evs, size_t i)
{
    return jpath(json_array_get(evs, i), "type");
}

static const char *ev_name(json_t *evs, size_t i)
{
    return jpath(json_array_get(evs, i), "object.metadata.name");
}

static long long ev_rv(json_t *evs, size_t i)
{
    const char *s = jpath(json_array_get(evs, i), "object.metadata.resourceVersion");
    return s ? atoll(s) : -1;
}

static void test_resume_after_list(void **state)
{
    struct env *e = *state;
    put_cm(e, "a", "x", "1");
    put_cm(e, "b", "x", "1");
    json_t *list;
    assert_int_equal(req(e, "GET", "/api/v1/namespaces/default/configmaps", NULL, NULL, &list),
                     200);
    char rv[32], q[128];
    snprintf(rv, sizeof(rv), "%s", jpath(list, "metadata.resourceVersion"));
    json_decref(list);
    put_cm(e, "a", "x", "2");
    put_cm(e, "c", "x", "1");
    assert_int_equal(req(e, "DELETE", "/api/v1/namespaces/default/configmaps/b", NULL, NULL,
                         NULL),
                     200);
    snprintf(q, sizeof(q), "watch=1&resourceVersion=%s", rv);
    int st;
    struct api_watch *w = watch_open(e, "/api/v1/namespaces/default/configmaps", q, NULL, &st);
    assert_non_null(w);
    assert_int_equal(st, 200);
    json_t *evs = watch_events(w, NULL);
    assert_int_equal(json_array_size(evs), 3);
    assert_string_equal(ev_type(evs, 0), "MODIFIED");
    assert_string_equal(ev_name(evs, 0), "a");
    assert_string_equal(ev_type(evs, 1), "ADDED");
    assert_string_equal(ev_name(evs, 1), "c");
    assert_string_equal(ev_type(evs, 2), "DELETED");
    assert_string_equal(ev_name(evs, 2), "b");
    assert_true(ev_rv(evs, 0) > atoll(rv));
    assert_true(ev_rv(evs, 1) > ev_rv(evs, 0));
    assert_true(ev_rv(evs, 2) > ev_rv(evs, 1));
    assert_string_equal(jpath(json_array_get(evs, 0), "object.kind"), "ConfigMap");
    json_decref(evs);
    /* live events follow, nothing repeated */
    put_cm(e, "c", "x", "2");
    evs = watch_events(w, NULL);
    assert_int_equal(json_array_size(evs), 1);
    assert_string_equal(ev_type(evs, 0), "MODIFIED");
    assert_string_equal(jpath(json_array_get(evs, 0), "object.data.v"), "2");
    json_decref(evs);
    api_watch_close(w);
}

static void test_resume_beyond_ring(void **state)
{
    struct env *e = *state;
    put_cm(e, "r", "x", "0");
    int64_t start = store_current_revision(e->st);
    for (int i = 1; i <= 20; i++) { /* ring holds 8: older events come from the store */
        char v[8];
        snprintf(v, sizeof(v), "%d", i);
        put_cm(e, "r", "x", v);
    }
    char q[128];
    snprintf(q, sizeof(q), "watch=true&resourceVersion=%lld", (long long)start);
    int st;
    struct api_watch *w = watch_open(e, "/api/v1/namespaces/default/configmaps", q, NULL, &st);
    assert_non_null(w);
    json_t *evs = watch_events(w, NULL);
    assert_int_equal(json_array_size(evs), 20);
    for (size_t i = 0; i < 20; i++) {
        char v[8];
        snprintf(v, sizeof(v), "%zu", i + 1);
        assert_string_equal(jpath(json_array_get(evs, i), "object.data.v"), v);
        if (i)
            assert_true(ev_rv(evs, i) > ev_rv(evs, i - 1));
    }
    json_decref(evs);
    api_watch_close(w);
    /* after compaction, the same resume point is too old */
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(store_compact(e->st, store_current_revision(e->st), &err), 0);
    w = watch_open(e, "/api/v1/namespaces/default/configmaps", q, NULL, &st);
    assert_non_null(w);
    int ended = 0;
    evs = watch_events(w, &ended);
    assert_int_equal(ended, 1);
    assert_int_equal(json_array_size(evs), 1);
    assert_string_equal(ev_type(evs, 0), "ERROR");
    assert_int_equal(jint(json_array_get(evs, 0), "object.code"), 410);
    assert_string_equal(jpath(json_array_get(evs, 0), "object.reason"), "Expired");
    assert_non_null(strstr(jpath(json_array_get(evs, 0), "object.message"),
                           "too old resource version"));
    json_decref(evs);
    api_watch_close(w);
}

static void test_initial_state_and_selector(void **state)
{
    struct env *e = *state;
    put_cm(e, "s1", "web", "1");
    put_cm(e, "s2", "db", "1");
    int st;
    struct api_watch *w = watch_open(e, "/api/v1/namespaces/default/configmaps",
                                     "watch=1&labelSelector=app%3Dweb", NULL, &st);
    assert_non_null(w);
    json_t *evs = watch_events(w, NULL);
    assert_int_equal(json_array_size(evs), 1);
    assert_string_equal(ev_type(evs, 0), "ADDED");
    assert_string_equal(ev_name(evs, 0), "s1");
    json_decref(evs);
    put_cm(e, "s1", "db", "2"); /* stops matching */
    put_cm(e, "s2", "web", "2"); /* starts matching */
    put_cm(e, "s2", "web", "3");
    evs = watch_events(w, NULL);
    assert_int_equal(json_array_size(evs), 3);
    assert_string_equal(ev_type(evs, 0), "DELETED");
    assert_string_equal(ev_name(evs, 0), "s1");
    /* DELETED carries the last matching state stamped with the change's RV */
    json_t *labels = json_object_get(json_object_get(json_object_get(json_array_get(evs, 0),
                                                                      "object"),
                                                     "metadata"),
                                     "labels");
    assert_string_equal(json_string_value(json_object_get(labels, "app")), "web");
    assert_string_equal(ev_type(evs, 1), "ADDED");
    assert_string_equal(ev_name(evs, 1), "s2");
    assert_string_equal(ev_type(evs, 2), "MODIFIED");
    assert_true(ev_rv(evs, 1) > ev_rv(evs, 0));
    json_decref(evs);
    api_watch_close(w);

    /* single-object watch by field selector, as kubectl delete --wait does */
    w = watch_open(e, "/api/v1/namespaces/default/configmaps",
                   "watch=1&fieldSelector=metadata.name%3Ds2&resourceVersion=0", NULL, &st);
    assert_non_null(w);
    json_decref(watch_events(w, NULL));
    assert_int_equal(req(e, "DELETE", "/api/v1/namespaces/default/configmaps/s1", NULL, NULL,
                         NULL),
                     200);
    assert_int_equal(req(e, "DELETE", "/api/v1/namespaces/default/configmaps/s2", NULL, NULL,
                         NULL),
                     200);
    evs = watch_events(w, NULL);
    assert_int_equal(json_array_size(evs), 1);
    assert_string_equal(ev_type(evs, 0), "DELETED");
    assert_string_equal(ev_name(evs, 0), "s2");
    json_decref(evs);
    api_watch_close(w);
}

static void test_bookmarks_timeout_streaming(void **state)
{
    struct env *e = *state;
    put_cm(e, "b1", "x", "1");
    int st;
    struct api_watch *w = watch_open(e, "/api/v1/namespaces/default/configmaps",
                                     "watch=1&allowWatchBookmarks=true&timeoutSeconds=100", NULL,
                                     &st);
    assert_non_null(w);
    json_decref(watch_events(w, NULL));
    int64_t now = ck_mono_ms();
    api_watch_tick(w, now + 61000);
    int ended = 0;
    json_t *evs = watch_events(w, &ended);
    assert_int_equal(ended, 0);
    assert_int_equal(json_array_size(evs), 1);
    assert_string_equal(ev_type(evs, 0), "BOOKMARK");
    assert_true(ev_rv(evs, 0) >= store_current_revision(e->st));
    json_decref(evs);
    api_watch_tick(w, now + 101000);
    evs = watch_events(w, &ended);
    assert_int_equal(ended, 1);
    assert_int_equal(json_array_size(evs), 0);
    json_decref(evs);
    api_watch_close(w);

    /* streaming list */
    w = watch_open(e, "/api/v1/namespaces/default/configmaps", "watch=1&sendInitialEvents=true",
                   NULL, &st);
    assert_null(w);
    assert_int_equal(st, 422);
    w = watch_open(e, "/api/v1/namespaces/default/configmaps",
                   "watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&"
                   "allowWatchBookmarks=true",
                   NULL, &st);
    assert_non_null(w);
    evs = watch_events(w, NULL);
    assert_int_equal(json_array_size(evs), 2);
    assert_string_equal(ev_type(evs, 0), "ADDED");
    assert_string_equal(ev_type(evs, 1), "BOOKMARK");
    json_t *ann = json_object_get(json_object_get(json_object_get(json_array_get(evs, 1),
                                                                  "object"),
                                                  "metadata"),
                                  "annotations");
    assert_string_equal(json_string_value(json_object_get(ann, "k8s.io/initial-events-end")),
                        "true");
    json_decref(evs);
    api_watch_close(w);
}

static void test_table_watch(void **state)
{
    struct env *e = *state;
    put_cm(e, "t1", "x", "1");
    int st;
    struct api_watch *w = watch_open(e, "/api/v1/namespaces/default/configmaps", "watch=1",
                                     "application/json;as=Table;v=v1;g=meta.k8s.io", &st);
    assert_non_null(w);
    put_cm(e, "t1", "x", "2");
    json_t *evs = watch_events(w, NULL);
    assert_int_equal(json_array_size(evs), 2);
    json_t *o0 = json_object_get(json_array_get(evs, 0), "object");
    json_t *o1 = json_object_get(json_array_get(evs, 1), "object");
    assert_string_equal(jpath(o0, "kind"), "Table");
    assert_true(json_array_size(json_object_get(o0, "columnDefinitions")) > 0);
    assert_true(json_is_null(json_object_get(o1, "columnDefinitions")));
    assert_int_equal(json_array_size(json_object_get(o1, "rows")), 1);
    json_decref(evs);
    api_watch_close(w);
}

struct writer {
    struct env *e;
    int n;
};

static void *writer_main(void *arg)
{
    struct writer *wr = arg;
    for (int i = 0; i < wr->n; i++) {
        char v[16];
        snprintf(v, sizeof(v), "%d", i);
        put_cm(wr->e, "hot", "x", v);
    }
    return NULL;
}

static void test_concurrent_writer(void **state)
{
    struct env *e = *state;
    put_cm(e, "hot", "x", "start");
    char q[64];
    snprintf(q, sizeof(q), "watch=1&resourceVersion=%lld",
             (long long)store_current_revision(e->st));
    int st;
    struct api_watch *w = watch_open(e, "/api/v1/namespaces/default/configmaps", q, NULL, &st);
    assert_non_null(w);
    struct writer wr = {e, 200};
    pthread_t t;
    pthread_create(&t, NULL, writer_main, &wr);
    size_t total = 0;
    long long last = 0;
    for (int spin = 0; spin < 4000 && total < 200; spin++) {
        json_t *evs = watch_events(w, NULL);
        for (size_t i = 0; i < json_array_size(evs); i++) {
            assert_true(ev_rv(evs, i) > last);
            last = ev_rv(evs, i);
            char v[16];
            snprintf(v, sizeof(v), "%zu", total);
            assert_string_equal(jpath(json_array_get(evs, i), "object.data.v"), v);
            total++;
        }
        json_decref(evs);
        if (total < 200)
            usleep(1000);
    }
    pthread_join(t, NULL);
    json_t *evs = watch_events(w, NULL);
    total += json_array_size(evs);
    json_decref(evs);
    assert_int_equal(total, 200);
    api_watch_close(w);
}

static void count_notify(void *arg)
{
    (*(int *)arg)++;
}

static void test_drain_chunks(void **state)
{
    struct env *e = *state;
    char big[2100];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (int i = 0; i < 2500; i++) {
        char name[32];
        snprintf(name, sizeof(name), "big%04d", i);
        put_cm(e, name, "x", big);
    }
    int st, notified = 0;
    struct api_watch *w = watch_open(e, "/api/v1/namespaces/default/configmaps", "watch=1", NULL,
                                     &st);
    assert_non_null(w);
    api_watch_set_notify(w, count_notify, &notified);
    assert_int_equal(notified, 1);
    size_t total = 0, drains = 0;
    char last[32] = "";
    while (total < 2500 && drains < 10) {
        json_t *evs = watch_events(w, NULL);
        drains++;
        for (size_t i = 0; i < json_array_size(evs); i++) {
            assert_string_equal(ev_type(evs, i), "ADDED");
            assert_true(strcmp(ev_name(evs, i), last) > 0); /* key order, nothing repeated */
            snprintf(last, sizeof(last), "%s", ev_name(evs, i));
            total++;
        }
        json_decref(evs);
    }
    assert_int_equal(total, 2500);
    assert_true(drains >= 2);    /* ~5.3 MB does not fit one 4 MiB chunk */
    assert_true(notified >= 2); /* the partial drain asked to be called again */
    /* an event larger than the caller's buffer ends the watch with an ERROR */
    put_cm(e, "big0000", "y", big);
    struct ck_buf small = CK_BUF_INIT(1000);
    int ended = api_watch_drain(w, &small);
    assert_int_equal(ended, 1);
    assert_non_null(strstr(small.data, "\"type\":\"ERROR\""));
    ck_buf_release(&small);
    api_watch_close(w);
}

static void test_periodic_compaction(void **state)
{
    struct env *e = *state;
    env_stop(e);
    e->compact_interval_s = 1;
    assert_int_equal(env_start(e), 0);
    put_cm(e, "cmp", "x", "1");
    int64_t first = store_current_revision(e->st);
    put_cm(e, "cmp", "x", "2");
    /* tick 1 records the revision, tick 2 compacts to it */
    for (int i = 0; i < 50 && store_compacted_revision(e->st) < first; i++)
        usleep(100 * 1000);
    assert_true(store_compacted_revision(e->st) >= first);
    char q[96];
    snprintf(q, sizeof(q), "resourceVersion=%lld&resourceVersionMatch=Exact", (long long)first - 1);
    json_t *v;
    assert_int_equal(req(e, "GET", "/api/v1/namespaces/default/configmaps", q, NULL, &v), 410);
    assert_string_equal(jpath(v, "reason"), "Expired");
    json_decref(v);
    int st, ended = 0;
    struct api_watch *w = watch_open(e, "/api/v1/namespaces/default/configmaps", "watch=1",
                                     NULL, &st);
    assert_non_null(w);
    env_stop(e); /* the server is gone: the stream must still drain and close cleanly */
    json_t *evs = watch_events(w, &ended);
    assert_int_equal(ended, 1);
    json_decref(evs);
    api_watch_close(w);
    e->compact_interval_s = 0;
    assert_int_equal(env_start(e), 0);
}

/* Boolean query parameters as upstream decodes them (runtime.Convert_Slice_string_To_bool):
 * python's client sends watch=True; only absent, "0" and "false" (any case) are false. */
static void test_query_bools(void **state)
{
    struct env *e = *state;
    put_cm(e, "qb", "x", "1");
    static const char *const yes[] = {"watch=True", "watch=TRUE", "watch=1", "watch=t", "watch="};
    static const char *const no[] = {"watch=false", "watch=False", "watch=FALSE", "watch=0"};
    int st;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        struct api_watch *w = watch_open(e, "/api/v1/namespaces/default/configmaps", yes[i],
                                         NULL, &st);
        if (!w)
            fail_msg("%s: no watch (status %d)", yes[i], st);
        json_t *evs = watch_events(w, NULL);
        assert_int_equal(json_array_size(evs), 1);
        assert_string_equal(ev_type(evs, 0), "ADDED");
        json_decref(evs);
        api_watch_close(w);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        json_t *list = NULL;
        assert_int_equal(
            req(e, "GET", "/api/v1/namespaces/default/configmaps", no[i], NULL, &list), 200);
        if (!jpath(list, "kind") || strcmp(jpath(list, "kind"), "ConfigMapList") != 0)
            fail_msg("%s: not a list", no[i]);
        json_decref(list);
    }
    /* allowWatchBookmarks=True asks for bookmarks as "true" does */
    struct api_watch *w =
        watch_open(e, "/api/v1/namespaces/default/configmaps",
                   "watch=1&allowWatchBookmarks=True&sendInitialEvents=True&"
                   "resourceVersionMatch=NotOlderThan",
                   NULL, &st);
    assert_non_null(w);
    json_t *evs = watch_events(w, NULL);
    assert_int_equal(json_array_size(evs), 2);
    assert_string_equal(ev_type(evs, 1), "BOOKMARK");
    json_decref(evs);
    api_watch_close(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resume_after_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_beyond_ring, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initial_state_and_selector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bookmarks_timeout_streaming, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_watch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_periodic_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_bools, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
