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

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_decide)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
