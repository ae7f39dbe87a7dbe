/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the group-commit write path under many concurrent writers: subscribers see
 * every event exactly once in revision order (compared with events_since), registration is
 * atomic with its from_revision, unsubscribe stops delivery, and every acknowledged write is
 * readable with its revision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store_test_util.h"

#include <pthread.h>
#include <stdatomic.h>

#define NWRITERS 32
#define NPUTS 250

struct seen {
    int64_t revision;
    int type;
    char key[32];
    char value[32];
    bool has_prev;
    char prev_value[32];
};

struct sub_log {
    pthread_mutex_t mu;
    struct seen *ev;
    size_t n, cap;
    bool out_of_order;
};

static void on_event(void *arg, const struct store_event *ev)
{
    struct sub_log *l = arg;
    pthread_mutex_lock(&l->mu);
    if (l->n && ev->revision < l->ev[l->n - 1].revision)
        l->out_of_order = true;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->ev = realloc(l->ev, l->cap * sizeof(*l->ev));
    }
    struct seen *s = &l->ev[l->n++];
    memset(s, 0, sizeof(*s));
    s->revision = ev->revision;
    s->type = ev->type;
    snprintf(s->key, sizeof(s->key), "%s", ev->kv.key);
    snprintf(s->value, sizeof(s->value), "%s", (const char *)ev->kv.value);
    s->has_prev = ev->has_prev;
    if (ev->has_prev)
        snprintf(s->prev_value, sizeof(s->prev_value), "%s", (const char *)ev->prev.value);
    pthread_mutex_unlock(&l->mu);
}

struct writer {
    struct store *s;
    int id;
    int64_t revs[NPUTS];
    int failures;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct ck_err err = CK_ERR_INIT;
    for (int i = 0; i < NPUTS; i++) {
        char key[32], val[32], key2[32];
        snprintf(key, sizeof(key), "/w%02d/k%d", w->id, i % 8);
        snprintf(val, sizeof(val), "%d-%d", w->id, i);
        snprintf(key2, sizeof(key2), "/w%02d/tmp", w->id);
        if (i % 10 == 9) { /* a two-op txn: one revision, two events */
            struct store_op ops[] = {{STORE_OP_PUT, key, strlen(key), val, strlen(val)},
                                     {STORE_OP_PUT, key2, strlen(key2), val, strlen(val)}};
            struct store_txn t = {NULL, 0, ops, 2};
            struct store_txn_result res;
            if (store_txn(w->s, &t, &res, &err) < 0 || !res.succeeded)
                w->failures++;
            w->revs[i] = res.revision;
            store_txn_result_release(&res);
        } else if (store_put(w->s, key, strlen(key), val, strlen(val), STORE_ANY, &w->revs[i], NULL,
                             &err) < 0) {
            w->failures++;
        }
    }
    return NULL;
}

static void wait_for(struct sub_log *l, size_t n)
{
    for (;;) {
        pthread_mutex_lock(&l->mu);
        size_t have = l->n;
        pthread_mutex_unlock(&l->mu);
        if (have >= n)
            return;
        usleep(500);
    }
}

/* The subscriber's log must equal events_since(from) event for event (first n of them). */
static void compare_with_log(struct store *s, struct sub_log *l, int64_t from)
{
    struct ck_err err = CK_ERR_INIT;
    struct store_events evs;
    assert_int_equal(store_events_since(s, from, 0, &evs, &err), 0);
    assert_true(l->n <= evs.nevents);
    for (size_t i = 0; i < l->n; i++) {
        const struct store_event *e = &evs.events[i];
        assert_int_equal(l->ev[i].revision, e->revision);
        assert_int_equal(l->ev[i].type, e->type);
        assert_string_equal(l->ev[i].key, e->kv.key);
        assert_string_equal(l->ev[i].value, e->kv.value);
        assert_int_equal(l->ev[i].has_prev, e->has_prev);
        if (e->has_prev)
            assert_string_equal(l->ev[i].prev_value, e->prev.value);
    }
    store_events_release(&evs);
}

static void test_subscribe_concurrent_writers(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct ck_err err = CK_ERR_INIT;
    struct store *s = tu_open(dir, true, &err);
    assert_non_null(s);
    tu_put(s, "/pre", "x");
    struct sub_log a = {.mu = PTHREAD_MUTEX_INITIALIZER}, b = {.mu = PTHREAD_MUTEX_INITIALIZER};
    int64_t from_a, from_b;
    int ida = store_subscribe(s, on_event, &a, &from_a, &err);
    assert_true(ida > 0);
    assert_int_equal(from_a, store_current_revision(s));
    static struct writer w[NWRITERS];
    pthread_t th[NWRITERS];
    for (int i = 0; i < NWRITERS; i++) {
        w[i] = (struct writer){.s = s, .id = i};
        pthread_create(&th[i], NULL, writer_main, &w[i]);
    }
    /* join the stream while writers run, then leave it while they still run */
    wait_for(&a, 1000);
    int idb = store_subscribe(s, on_event, &b, &from_b, &err);
    assert_true(idb > ida);
    wait_for(&a, 4000);
    store_unsubscribe(s, idb);
    pthread_mutex_lock(&b.mu);
    size_t b_at_unsub = b.n;
    pthread_mutex_unlock(&b.mu);
    for (int i = 0; i < NWRITERS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(b.n, b_at_unsub); /* nothing after unsubscribe returned */
    assert_false(a.out_of_order);
    assert_false(b.out_of_order);
    /* every write acked, each writer's revisions increase, all revisions distinct */
    int64_t total = 0;
    for (int i = 0; i < NWRITERS; i++) {
        assert_int_equal(w[i].failures, 0);
        for (int j = 1; j < NPUTS; j++)
            assert_true(w[i].revs[j] > w[i].revs[j - 1]);
        total += NPUTS;
    }
    assert_int_equal(store_current_revision(s), from_a + total);
    size_t want_events = (size_t)total + NWRITERS * (NPUTS / 10);
    assert_int_equal(a.n, want_events);
    compare_with_log(s, &a, from_a);
    assert_true(b.n > 0);
    compare_with_log(s, &b, from_b);
    /* each acked revision is readable at that revision with the written value */
    for (int i = 0; i < NWRITERS; i += 7) {
        char key[32], val[32];
        snprintf(key, sizeof(key), "/w%02d/k%d", i, 3);
        snprintf(val, sizeof(val), "%d-%d", i, 3);
        struct store_kv kv;
        bool found;
        assert_int_equal(store_get(s, key, strlen(key), w[i].revs[3], &kv, &found, &err), 0);
        assert_true(found);
        assert_string_equal(kv.value, val);
        assert_int_equal(kv.mod_revision, w[i].revs[3]);
        store_kv_release(&kv);
    }
    store_unsubscribe(s, ida);
    store_close(s);
    free(a.ev);
    free(b.ev);
    tu_rmrf(dir);
    free(dir);
}

/* Durable (fsync) writers still all commit, and concurrent conflicting creates have one winner. */
struct racer {
    struct store *s;
    atomic_int *winners;
    atomic_int *exists;
};

static void *racer_main(void *arg)
{
    struct racer *r = arg;
    struct ck_err err = CK_ERR_INIT;
    for (int i = 0; i < 20; i++) {
        char key[16];
        snprintf(key, sizeof(key), "/race/%d", i);
        int64_t rev;
        if (store_put(r->s, key, strlen(key), "v", 1, STORE_ABSENT, &rev, NULL, &err) == 0)
            atomic_fetch_add(r->winners, 1);
        else if (err.reason == CK_R_ALREADY_EXISTS)
            atomic_fetch_add(r->exists, 1);
    }
    return NULL;
}

static void test_create_race_durable(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct ck_err err = CK_ERR_INIT;
    struct store *s = tu_open(dir, false, &err);
    assert_non_null(s);
    atomic_int winners = 0, exists = 0;
    struct racer r = {s, &winners, &exists};
    pthread_t th[16];
    for (int i = 0; i < 16; i++)
        pthread_create(&th[i], NULL, racer_main, &r);
    for (int i = 0; i < 16; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&winners), 20);
    assert_int_equal(atomic_load(&exists), 15 * 20);
    assert_int_equal(store_current_revision(s), 1 + 20);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* MVCC under compaction: a range at revision R returns the same answer every time until R
 * is compacted, and then fails with CK_R_COMPACTED, while writers and a compactor run. */
struct mvcc_ctx {
    struct store *s;
    atomic_bool stop;
    atomic_int mismatches, compacted_seen, reads;
};

static void *mvcc_writer(void *arg)
{
    struct mvcc_ctx *c = arg;
    for (int i = 0; !atomic_load(&c->stop); i++) {
        char key[32], val[32];
        snprintf(key, sizeof(key), "/m/%d", i % 40);
        snprintf(val, sizeof(val), "v%d", i);
        if (i % 13 == 12) {
            struct ck_err err = CK_ERR_INIT;
            int64_t rev;
            store_delete(c->s, key, strlen(key), STORE_ANY, &rev, NULL, &err);
        } else {
            tu_put(c->s, key, val);
        }
    }
    return NULL;
}

static void *mvcc_compactor(void *arg)
{
    struct mvcc_ctx *c = arg;
    while (!atomic_load(&c->stop)) {
        struct ck_err err = CK_ERR_INIT;
        int64_t target = store_current_revision(c->s) - 30;
        if (target > store_compacted_revision(c->s))
            store_compact(c->s, target, &err);
        usleep(2000);
    }
    return NULL;
}

static bool same_range(const struct store_range_result *a, const struct store_range_result *b)
{
    if (a->nkvs != b->nkvs || a->count != b->count)
        return false;
    for (size_t i = 0; i < a->nkvs; i++)
        if (strcmp(a->kvs[i].key, b->kvs[i].key) || strcmp(a->kvs[i].value, b->kvs[i].value) ||
            a->kvs[i].mod_revision != b->kvs[i].mod_revision ||
            a->kvs[i].version != b->kvs[i].version)
            return false;
    return true;
}

static void *mvcc_reader(void *arg)
{
    struct mvcc_ctx *c = arg;
    while (!atomic_load(&c->stop)) {
        struct ck_err err = CK_ERR_INIT;
        struct store_range_req r = {.prefix = "/m/", .prefix_len = 3};
        r.revision = store_current_revision(c->s);
        struct store_range_result first, again;
        if (store_range(c->s, &r, &first, &err) < 0)
            continue; /* compacted already: pick a newer revision */
        for (;;) {
            if (store_range(c->s, &r, &again, &err) < 0) {
                if (err.reason != CK_R_COMPACTED)
                    atomic_fetch_add(&c->mismatches, 1);
                atomic_fetch_add(&c->compacted_seen, 1);
                break;
            }
            atomic_fetch_add(&c->reads, 1);
            bool same = same_range(&first, &again);
            store_range_result_release(&again);
            if (!same) {
                atomic_fetch_add(&c->mismatches, 1);
                break;
            }
            if (atomic_load(&c->stop))
                break;
        }
        store_range_result_release(&first);
    }
    return NULL;
}

static void test_mvcc_reads_during_compaction(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct ck_err err = CK_ERR_INIT;
    struct mvcc_ctx c = {.s = tu_open(dir, true, &err)};
    assert_non_null(c.s);
    pthread_t th[6];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, mvcc_writer, &c);
    pthread_create(&th[3], NULL, mvcc_compactor, &c);
    pthread_create(&th[4], NULL, mvcc_reader, &c);
    pthread_create(&th[5], NULL, mvcc_reader, &c);
    for (int waited = 0; waited < 10000 && atomic_load(&c.compacted_seen) < 20; waited += 10)
        usleep(10000);
    atomic_store(&c.stop, true);
    for (int i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&c.mismatches), 0);
    assert_true(atomic_load(&c.compacted_seen) >= 20);
    assert_true(atomic_load(&c.reads) > 0);
    store_close(c.s);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subscribe_concurrent_writers),
        cmocka_unit_test(test_create_race_durable),
        cmocka_unit_test(test_mvcc_reads_during_compaction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
