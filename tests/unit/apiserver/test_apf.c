/* SPDX-License-Identifier: Apache-2.0 */
/* The fair-queuing core of API Priority and Fairness (http/http_apf.c): shuffle-sharding
 * hands, nominal seats, LIST widths, seat accounting, queue selection, fairness between
 * flows, queue limits, Reject levels, expiry and reset (gone) requests. */
#include "apiserver/http/http_apf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_deal_distinct_in_range(void **state)
{
    (void)state;
    for (uint64_t h = 0; h < 5000; h++) {
        int hand[APF_MAX_HAND];
        uint64_t hash = h * 0x9E3779B97F4A7C15ULL;
        apf_deal(hash, 128, 6, hand);
        for (int i = 0; i < 6; i++) {
            assert_true(hand[i] >= 0 && hand[i] < 128);
            for (int j = 0; j < i; j++)
                assert_int_not_equal(hand[i], hand[j]);
        }
    }
}

static void test_deal_known_values(void **state)
{
    (void)state;
    int hand[APF_MAX_HAND];
    /* hash 0: every remainder 0, cards 0,1,2,... (each bumped past the earlier ones) */
    apf_deal(0, 8, 4, hand);
    assert_int_equal(hand[0], 0);
    assert_int_equal(hand[1], 1);
    assert_int_equal(hand[2], 2);
    assert_int_equal(hand[3], 3);
    /* hash 7 on deck 8: first card 7, the rest from 0 */
    apf_deal(7, 8, 2, hand);
    assert_int_equal(hand[0], 7);
    assert_int_equal(hand[1], 0);
    /* deterministic: the same hash deals the same hand */
    int a[APF_MAX_HAND], b[APF_MAX_HAND];
    apf_deal(123456789, 64, 6, a);
    apf_deal(123456789, 64, 6, b);
    assert_memory_equal(a, b, 6 * sizeof(int));
    /* a hand bigger than the deck is the deck */
    apf_deal(99, 3, 6, hand);
    assert_true(hand[0] != hand[1] && hand[1] != hand[2] && hand[0] != hand[2]);
}

static void test_nominal_and_seats(void **state)
{
    (void)state;
    /* upstream's sums: 30+40+10+40+100+20+5 = 245 shares over 600 seats */
    assert_int_equal(apf_nominal_cl(600, 20, 245), 49);
    assert_int_equal(apf_nominal_cl(600, 5, 245), 13);
    assert_int_equal(apf_nominal_cl(32, 100, 245), 14);
    assert_int_equal(apf_nominal_cl(32, 10, 245), 2);
    assert_int_equal(apf_nominal_cl(32, 0, 245), 1);
    /* LIST: 100 objects a seat, at most min(10, ceil(15% of the limit)) */
    assert_int_equal(apf_seats(-1, 49), 1);
    assert_int_equal(apf_seats(0, 49), 1);
    assert_int_equal(apf_seats(250, 49), 3);
    assert_int_equal(apf_seats(20000, 49), 8);
    assert_int_equal(apf_seats(20000, 600), 10);
    assert_int_equal(apf_seats(20000, 3), 1);
}

static struct apf_item *item(int width)
{
    struct apf_item *it = calloc(1, sizeof(*it));
    it->width = width;
    return it;
}

static void test_seat_accounting(void **state)
{
    (void)state;
    struct apf_level l;
    apf_level_init(&l, "t", 4, 16, 4, 10, false);
    struct apf_item *a = item(3), *b = item(2), *c = item(1);
    assert_int_equal(apf_level_admit(&l, a, 1, 0), APF_RUN);
    assert_int_equal(l.seats_in_use, 3);
    assert_int_equal(apf_level_admit(&l, b, 2, 0), APF_QUEUED); /* 3 + 2 > 4 */
    /* once something waits, a request that would fit queues too (no overtaking) */
    assert_int_equal(apf_level_admit(&l, c, 3, 0), APF_QUEUED);
    assert_int_equal(l.waiting, 2);
    assert_null(apf_level_next(&l));
    apf_level_done(&l, a);
    assert_int_equal(l.seats_in_use, 0);
    struct apf_item *n1 = apf_level_next(&l), *n2 = apf_level_next(&l);
    assert_non_null(n1);
    assert_non_null(n2);
    assert_int_equal(l.seats_in_use, 3);
    assert_null(apf_level_next(&l));
    apf_level_done(&l, n1);
    apf_level_done(&l, n2);
    assert_int_equal(l.seats_in_use, 0);
    /* a request wider than the whole limit runs when the level is idle */
    struct apf_item *wide = item(9);
    assert_int_equal(apf_level_admit(&l, wide, 4, 0), APF_RUN);
    apf_level_done(&l, wide);
    apf_level_release(&l);
    free(a);
    free(b);
    free(c);
    free(wide);
}

static void test_queue_selection_and_limit(void **state)
{
    (void)state;
    struct apf_level l;
    apf_level_init(&l, "t", 1, 8, 2, 2, false);
    struct apf_item *busy = item(1);
    assert_int_equal(apf_level_admit(&l, busy, 0, 0), APF_RUN);
    int hand[APF_MAX_HAND];
    uint64_t h = 4242;
    apf_deal(h, 8, 2, hand);
    struct apf_item *it[5];
    for (int i = 0; i < 5; i++)
        it[i] = item(1);
    /* the flow's two queues fill alternately (shortest first), then both are full */
    assert_int_equal(apf_level_admit(&l, it[0], h, 0), APF_QUEUED);
    assert_int_equal(it[0]->queue, hand[0]);
    assert_int_equal(apf_level_admit(&l, it[1], h, 0), APF_QUEUED);
    assert_int_equal(it[1]->queue, hand[1]);
    assert_int_equal(apf_level_admit(&l, it[2], h, 0), APF_QUEUED);
    assert_int_equal(apf_level_admit(&l, it[3], h, 0), APF_QUEUED);
    assert_int_equal(apf_level_admit(&l, it[4], h, 0), APF_REJECT_QUEUE_FULL);
    struct apf_item *cur = busy;
    for (int i = 0; i < 4; i++) {
        apf_level_done(&l, cur);
        assert_non_null(cur = apf_level_next(&l));
        assert_null(apf_level_next(&l)); /* one seat: one at a time */
    }
    apf_level_done(&l, cur);
    assert_int_equal(l.seats_in_use, 0);
    assert_int_equal(l.waiting, 0);
    apf_level_release(&l);
    free(busy);
    for (int i = 0; i < 5; i++)
        free(it[i]);
}

/* A flow with a deep backlog of wide requests does not starve a light flow: the light one's
 * request runs next, before the heavy flow's queued ones. */
static void test_fairness_between_flows(void **state)
{
    (void)state;
    struct apf_level l;
    apf_level_init(&l, "t", 2, 64, 1, 100, false);
    uint64_t heavy = 1, light = 2; /* hand size 1: queue = hash % 64 */
    struct apf_item *run = item(2), *hv[20], *lt = item(1);
    assert_int_equal(apf_level_admit(&l, run, heavy, 0), APF_RUN);
    for (int i = 0; i < 20; i++) {
        hv[i] = item(2);
        assert_int_equal(apf_level_admit(&l, hv[i], heavy, 0), APF_QUEUED);
    }
    /* the heavy queue is served once before the light request arrives */
    apf_level_done(&l, run);
    struct apf_item *x = apf_level_next(&l);
    assert_ptr_equal(x, hv[0]);
    assert_int_equal(apf_level_admit(&l, lt, light, 0), APF_QUEUED);
    apf_level_done(&l, x);
    assert_ptr_equal(apf_level_next(&l), lt);
    apf_level_done(&l, lt);
    assert_ptr_equal(apf_level_next(&l), hv[1]);
    apf_level_done(&l, hv[1]);
    apf_level_release(&l);
    free(run);
    free(lt);
    for (int i = 0; i < 20; i++)
        free(hv[i]);
}

static void test_reject_gone_expire(void **state)
{
    (void)state;
    struct apf_level l;
    apf_level_init(&l, "catch-all", 1, 1, 1, 10, true);
    struct apf_item *a = item(1), *b = item(1);
    assert_int_equal(apf_level_admit(&l, a, 5, 0), APF_RUN);
    assert_int_equal(apf_level_admit(&l, b, 5, 0), APF_REJECT_CL);
    apf_level_done(&l, a);
    apf_level_release(&l);

    apf_level_init(&l, "q", 1, 4, 2, 10, false);
    struct apf_item *c = item(1), *d = item(1), *e = item(1);
    assert_int_equal(apf_level_admit(&l, a, 5, 0), APF_RUN);
    assert_int_equal(apf_level_admit(&l, c, 5, 100), APF_QUEUED);
    assert_int_equal(apf_level_admit(&l, d, 6, 200), APF_QUEUED);
    assert_int_equal(apf_level_admit(&l, e, 7, 300), APF_QUEUED);
    /* a reset stream's request leaves at once, charged nothing */
    d->gone = true;
    assert_ptr_equal(apf_level_next(&l), d);
    assert_int_equal(l.seats_in_use, 1);
    /* the oldest waiting past the deadline expires first */
    assert_ptr_equal(apf_level_expire(&l, 150), c);
    assert_null(apf_level_expire(&l, 150));
    assert_int_equal(l.waiting, 1);
    apf_level_done(&l, a);
    assert_ptr_equal(apf_level_next(&l), e);
    apf_level_done(&l, e);
    assert_int_equal(l.seats_in_use, 0);
    apf_level_release(&l);
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deal_distinct_in_range),
        cmocka_unit_test(test_deal_known_values),
        cmocka_unit_test(test_nominal_and_seats),
        cmocka_unit_test(test_seat_accounting),
        cmocka_unit_test(test_queue_selection_and_limit),
        cmocka_unit_test(test_fairness_between_flows),
        cmocka_unit_test(test_reject_gone_expire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
