/* SPDX-License-Identifier: Apache-2.0 */
/* ck_base64_decode: RFC 4648 vectors, optional padding, whitespace, binary bytes, and
 * rejection of what is not base64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/base64.h"

#include <stdlib.h>
#include <string.h>

static void check(const char *in, const char *want, size_t want_len)
{
    size_t n = 0;
    char *out = ck_base64_decode(in, strlen(in), &n);
    assert_non_null(out);
    assert_int_equal(n, want_len);
    assert_memory_equal(out, want, want_len);
    assert_int_equal(out[n], '\0');
    free(out);
}

static void test_vectors(void **state)
{
    (void)state;
    check("", "", 0);
    check("Zg==", "f", 1);
    check("Zm8=", "fo", 2);
    check("Zm9v", "foo", 3);
    check("Zm9vYg==", "foob", 4);
    check("Zm9vYmE=", "fooba", 5);
    check("Zm9vYmFy", "foobar", 6);
    check("Zm9vYg", "foob", 4);               /* padding optional */
    check("Zm9v\nYmFy\r\n", "foobar", 6);     /* wrapped lines */
    check("AP8A/w==", "\x00\xff\x00\xff", 4); /* binary, / and + alphabet */
    check("+/+/", "\xfb\xff\xbf", 3);
}

static void test_invalid(void **state)
{
    (void)state;
    const char *bad[] = {"Zm9v!", "Zm-v", "Zm9v_", "Zg==Zg", "é"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n;
        assert_null(ck_base64_decode(bad[i], strlen(bad[i]), &n));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
