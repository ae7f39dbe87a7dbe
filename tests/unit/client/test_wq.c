/* SPDX-License-Identifier: Apache-2.0 */
/* Work queue and rate limiter tests: exact backoff sequences, token bucket reservations with
 * an injected clock, dedup while processing, delayed adds, shutdown drains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckube/wq.h"
#include "lib/timeutil.h"

#define MS 1000000LL
#define SEC 1000000000LL

struct fake_clock {
    int64_t now;
};

static int64_t fake_now(void *arg)
{
    return __atomic_load_n(&((struct fake_clock *)arg)->now, __ATOMIC_SEQ_CST);
}

static void fake_step(struct fake_clock *c, int64_t d)
{
    __atomic_add_fetch(&c->now, d, __ATOMIC_SEQ_CST);
}

static void test_exponential_sequence(void **state)
{
    (void)state;
    struct wq_rate_limiter *l = wq_limiter_exponential(5 * MS, 1000 * SEC);
    int64_t want = 5 * MS;
    for (int i = 0; i < 30; i++) {
        int64_t got = l->ops->when(l, "a");
        int64_t expect = want > 1000 * SEC ? 1000 * SEC : want;
        assert_int_equal(got, expect);
        want *= 2;
    }
    assert_int_equal(l->ops->num_requeues(l, "a"), 30);
    /* saturates and never overflows */
    for (int i = 0; i < 100; i++)
        assert_int_equal(l->ops->when(l, "a"), 1000 * SEC);
    /* other items are independent */
    assert_int_equal(l->ops->when(l, "b"), 5 * MS);
    l->ops->forget(l, "a");
    assert_int_equal(l->ops->num_requeues(l, "a"), 0);
    assert_int_equal(l->ops->when(l, "a"), 5 * MS);
    assert_int_equal(l->ops->when(l, "a"), 10 * MS);
    wq_limiter_free(l);
}

static void test_bucket_reservations(void **state)
{
    (void)state;
    struct fake_clock fc = {1000 * SEC};
    struct ck_clock clk = {fake_now, &fc};
    struct wq_rate_limiter *l = wq_limiter_bucket(10, 100, &clk);
    for (int i = 0; i < 100; i++) /* the burst is free */
        assert_int_equal(l->ops->when(l, "x"), 0);
    /* then each further token is reserved 100 ms after the previous one */
    assert_int_equal(l->ops->when(l, "x"), 100 * MS);
    assert_int_equal(l->ops->when(l, "x"), 200 * MS);
    assert_int_equal(l->ops->when(l, "x"), 300 * MS);
    fake_step(&fc, 300 * MS); /* 3 tokens refilled, 3 owed: next is 100 ms out again */
    assert_int_equal(l->ops->when(l, "x"), 100 * MS);
    fake_step(&fc, 60 * SEC); /* refill saturates at burst */
    for (int i = 0; i < 100; i++)
        assert_int_equal(l->ops->when(l, "y"), 0);
    assert_int_equal(l->ops->when(l, "y"), 100 * MS);
    assert_int_equal(l->ops->num_requeues(l, "y"), 0);
    wq_limiter_free(l);
}

static void test_default_limiter_max_of(void **state)
{
    (void)state;
    struct fake_clock fc = {5 * SEC};
    struct ck_clock clk = {fake_now, &fc};
    struct wq_rate_limiter *l = wq_limiter_default(&clk);
    /* per-item backoff dominates while the bucket has tokens */
    assert_int_equal(l->ops->when(l, "one"), 5 * MS);
    assert_int_equal(l->ops->when(l, "one"), 10 * MS);
    assert_int_equal(l->ops->when(l, "one"), 20 * MS);
    assert_int_equal(l->ops->num_requeues(l, "one"), 3);
    l->ops->forget(l, "one");
    assert_int_equal(l->ops->num_requeues(l, "one"), 0);
    /* drain the bucket (97 tokens left) with distinct items: then the bucket dominates */
    for (int i = 0; i < 97; i++) {
        char k[16];
        snprintf(k, sizeof(k), "i%d", i);
        assert_int_equal(l->ops->when(l, k), 5 * MS);
    }
    assert_int_equal(l->ops->when(l, "late"), 100 * MS);
    wq_limiter_free(l);
}

static void test_dedup_and_requeue_while_processing(void **state)
{
    (void)state;
    struct wq *q = wq_new(NULL);
    wq_add(q, "a");
    wq_add(q, "b");
    wq_add(q, "a");
    assert_int_equal(wq_len(q), 2);
    char *it = wq_get(q);
    assert_string_equal(it, "a");
    /* added while processing: not handed out twice, queued again on done */
    wq_add(q, "a");
    wq_add(q, "a");
    assert_int_equal(wq_len(q), 1);
    char *b = wq_get(q);
    assert_string_equal(b, "b");
    assert_int_equal(wq_len(q), 0);
    wq_done(q, it);
    assert_int_equal(wq_len(q), 1);
    char *again = wq_get(q);
    assert_string_equal(again, "a");
    wq_done(q, again);
    wq_done(q, b);
    assert_int_equal(wq_len(q), 0);
    free(it);
    free(b);
    free(again);
    wq_free(q);
}

static void test_fifo_order(void **state)
{
    (void)state;
    struct wq *q = wq_new(NULL);
    char k[16];
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        wq_add(q, k);
    }
    for (int i = 0; i < 1000; i++) {
        char *it = wq_get(q);
        snprintf(k, sizeof(k), "k%d", i);
        assert_string_equal(it, k);
        wq_done(q, it);
        free(it);
    }
    wq_free(q);
}

static void test_add_after_fake_clock(void **state)
{
    (void)state;
    struct fake_clock fc = {10 * SEC};
    struct ck_clock clk = {fake_now, &fc};
    struct wq_opts o = {.name = "t", .clock = &clk};
    struct wq *q = wq_new(&o);
    wq_add_after(q, "late", 50 * MS);
    wq_add_after(q, "later", 80 * MS);
    wq_add_after(q, "late", 500 * MS); /* the earlier time wins */
    bool shut;
    assert_null(wq_get_timeout(q, 20 * MS, &shut));
    assert_false(shut);
    fake_step(&fc, 60 * MS);
    char *it = wq_get_timeout(q, 2 * SEC, &shut);
    assert_non_null(it);
    assert_string_equal(it, "late");
    assert_null(wq_get_timeout(q, 20 * MS, &shut));
    fake_step(&fc, 30 * MS);
    char *it2 = wq_get_timeout(q, 2 * SEC, &shut);
    assert_non_null(it2);
    assert_string_equal(it2, "later");
    wq_done(q, it);
    wq_done(q, it2);
    free(it);
    free(it2);
    wq_free(q);
}

static void test_rate_limited_requeue(void **state)
{
    (void)state;
    struct fake_clock fc = {10 * SEC};
    struct ck_clock clk = {fake_now, &fc};
    struct wq_opts o = {.clock = &clk, .limiter = wq_limiter_exponential(100 * MS, 10 * SEC)};
    struct wq *q = wq_new(&o);
    wq_add_rate_limited(q, "x"); /* 100 ms */
    bool shut;
    assert_null(wq_get_timeout(q, 20 * MS, &shut));
    fake_step(&fc, 100 * MS);
    char *it = wq_get_timeout(q, 2 * SEC, &shut);
    assert_non_null(it);
    assert_int_equal(wq_num_requeues(q, "x"), 1);
    wq_add_rate_limited(q, "x"); /* 200 ms, queued again after done */
    wq_done(q, it);
    free(it);
    fake_step(&fc, 150 * MS);
    assert_null(wq_get_timeout(q, 20 * MS, &shut));
    fake_step(&fc, 50 * MS);
    it = wq_get_timeout(q, 2 * SEC, &shut);
    assert_non_null(it);
    wq_forget(q, "x");
    assert_int_equal(wq_num_requeues(q, "x"), 0);
    wq_done(q, it);
    free(it);
    wq_free(q);
}

struct drain_ctx {
    struct wq *q;
    int processed;
};

static void *slow_worker(void *arg)
{
    struct drain_ctx *c = arg;
    char *it;
    while ((it = wq_get(c->q)) != NULL) {
        usleep(2000);
        __atomic_add_fetch(&c->processed, 1, __ATOMIC_SEQ_CST);
        wq_done(c->q, it);
        free(it);
    }
    return NULL;
}

static void test_shutdown_drains(void **state)
{
    (void)state;
    struct wq *q = wq_new(NULL);
    char k[16];
    for (int i = 0; i < 50; i++) {
        snprintf(k, sizeof(k), "d%d", i);
        wq_add(q, k);
    }
    struct drain_ctx c = {q, 0};
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, slow_worker, &c);
    usleep(5000);
    wq_shutdown_with_drain(q);
    assert_true(wq_shutting_down(q));
    wq_add(q, "ignored");
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    /* everything queued before shutdown was handed out and finished; nothing after */
    assert_int_equal(c.processed, 50);
    assert_int_equal(wq_len(q), 0);
    wq_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exponential_sequence),
        cmocka_unit_test(test_bucket_reservations),
        cmocka_unit_test(test_default_limiter_max_of),
        cmocka_unit_test(test_dedup_and_requeue_while_processing),
        cmocka_unit_test(test_fifo_order),
        cmocka_unit_test(test_add_after_fake_clock),
        cmocka_unit_test(test_rate_limited_requeue),
        cmocka_unit_test(test_shutdown_drains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
