/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's service-account token manager (agent/tokens.c): upstream's refresh rule. A
 * token is kept until 80 % of its lifetime has passed, or until it is 24 h old for long-lived
 * tokens, each moved earlier by the jitter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/volumes_int.h"

#define T0 1767226200 /* issued at */

static void test_short_token(void **state)
{
    (void)state;
    int64_t exp = T0 + 3600;
    assert_false(ag_tokens_needs_refresh(exp, 3600, T0, 0));
    assert_false(ag_tokens_needs_refresh(exp, 3600, T0 + 2880, 0)); /* exactly 80 % */
    assert_true(ag_tokens_needs_refresh(exp, 3600, T0 + 2881, 0));
    assert_true(ag_tokens_needs_refresh(exp, 3600, T0 + 2875, 10)); /* jitter: earlier */
    assert_false(ag_tokens_needs_refresh(exp, 3600, T0 + 2869, 10));
    assert_true(ag_tokens_needs_refresh(exp, 3600, exp + 1, 0));
}

static void test_long_token(void **state)
{
    (void)state;
    /* a two-day token is refreshed once it is 24 h old, long before 80 % */
    int64_t life = 2 * 24 * 3600, exp = T0 + life;
    assert_false(ag_tokens_needs_refresh(exp, life, T0 + 24 * 3600, 0));
    assert_true(ag_tokens_needs_refresh(exp, life, T0 + 24 * 3600 + 1, 0));
    assert_true(ag_tokens_needs_refresh(exp, life, T0 + 24 * 3600 - 5, 10));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_token),
        cmocka_unit_test(test_long_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
