/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's image manager helpers: the API's default imagePullPolicy, and Go's
 * time.Duration formatting of the Pulled event ("in 313ms (313ms including waiting)"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "agent/images.h"

static void test_default_policy(void **state)
{
    (void)state;
    static const struct {
        const char *image, *policy;
    } c[] = {
        {"busybox", "Always"},
        {"busybox:latest", "Always"},
        {"busybox:1.36", "IfNotPresent"},
        {"127.0.0.1:5000/a/b", "Always"},
        {"127.0.0.1:5000/a/b:1", "IfNotPresent"},
        {"localhost:5000/a:latest", "Always"},
        {"quay.io/a/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
         "IfNotPresent"},
        {"quay.io/a/b:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
         "ef",
         "IfNotPresent"},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
        assert_string_equal(ag_image_default_policy(c[i].image), c[i].policy);
}

static void test_go_duration(void **state)
{
    (void)state;
    static const struct {
        int64_t ns;
        const char *want;
    } c[] = {
        {0, "0s"},
        {999999, "0s"}, /* truncated to milliseconds */
        {1000000, "1ms"},
        {313999999, "313ms"},
        {1000000000, "1s"},
        {1661000000, "1.661s"},
        {1500000000, "1.5s"},
        {1050000000, "1.05s"},
        {60000000000, "1m0s"},
        {123456000000, "2m3.456s"},
        {3600000000000, "1h0m0s"},
        {3725100000000, "1h2m5.1s"},
        {-5, "0s"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        ag_go_duration_ms(c[i].ns, out, sizeof(out));
        assert_string_equal(out, c[i].want);
    }
    char tiny[4];
    ag_go_duration_ms(123456000000, tiny, sizeof(tiny)); /* truncated, terminated */
    assert_true(strlen(tiny) < sizeof(tiny));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_policy),
        cmocka_unit_test(test_go_duration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
