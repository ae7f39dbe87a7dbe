/* SPDX-License-Identifier: Apache-2.0 */
/* The front end's pure request helpers: percent-decoding, bearer tokens, constant-time token
 * comparison, routing of health/metrics paths, query parameter lookup, method indexes. */
#include "apiserver/http/http.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static void test_path_decode(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(http_path_decode("/api/v1/a%2Fb", 13, out, sizeof(out)), 11);
    assert_string_equal(out, "/api/v1/a/b");
    assert_int_equal(http_path_decode("/x%7e%7E", 8, out, sizeof(out)), 4);
    assert_string_equal(out, "/x~~");
    assert_int_equal(http_path_decode("/plain", 6, out, sizeof(out)), 6);
    assert_string_equal(out, "/plain");
    /* malformed or truncated escapes, and encoded NUL, are refused */
    assert_int_equal(http_path_decode("/a%zz", 5, out, sizeof(out)), -1);
    assert_int_equal(http_path_decode("/a%4", 4, out, sizeof(out)), -1);
    assert_int_equal(http_path_decode("/a%", 3, out, sizeof(out)), -1);
    assert_int_equal(http_path_decode("/a%00b", 6, out, sizeof(out)), -1);
    /* the length is honoured, not the NUL terminator */
    assert_int_equal(http_path_decode("/abc%41", 4, out, sizeof(out)), 4);
    assert_string_equal(out, "/abc");
    /* output too small */
    assert_int_equal(http_path_decode("/abcdef", 7, out, 7), -1);
}

static void test_bearer(void **state)
{
    const char *t;
    size_t n;

    (void)state;
    assert_int_equal(http_bearer_token("Bearer abc", 10, &t, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(t, "abc", 3);
    assert_int_equal(http_bearer_token("  bearer\t tok-1  ", 17, &t, &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(t, "tok-1", 5);
    assert_int_equal(http_bearer_token("Basic abc", 9, &t, &n), -1);
    assert_int_equal(http_bearer_token("Bearer", 6, &t, &n), -1);
    assert_int_equal(http_bearer_token("Bearer   ", 9, &t, &n), -1);
    assert_int_equal(http_bearer_token("Bearerabc", 9, &t, &n), -1);
    assert_int_equal(http_bearer_token("", 0, &t, &n), -1);
}

static void test_token_equal(void **state)
{
    (void)state;
    assert_true(http_token_equal("secret", 6, "secret"));
    assert_false(http_token_equal("secreT", 6, "secret"));
    assert_false(http_token_equal("secre", 5, "secret"));
    assert_false(http_token_equal("secrets", 7, "secret"));
    assert_false(http_token_equal("", 0, ""));
    assert_false(http_token_equal("secret", 0, "secret"));
}

static void test_routes(void **state)
{
    const char *check;

    (void)state;
    assert_int_equal(http_route_of("/healthz", &check), HTTP_ROUTE_HEALTHZ);
    assert_null(check);
    assert_int_equal(http_route_of("/livez/ping", &check), HTTP_ROUTE_LIVEZ);
    assert_string_equal(check, "ping");
    assert_int_equal(http_route_of("/readyz/", &check), HTTP_ROUTE_READYZ);
    assert_null(check);
    assert_int_equal(http_route_of("/metrics", &check), HTTP_ROUTE_METRICS);
    assert_int_equal(http_route_of("/healthzz", &check), HTTP_ROUTE_API);
    assert_int_equal(http_route_of("/metrics/x", &check), HTTP_ROUTE_API);
    assert_int_equal(http_route_of("/api/v1/pods", &check), HTTP_ROUTE_API);
}

static void test_query_and_methods(void **state)
{
    const char *q = "watch=1&verbose&limit=5";

    (void)state;
    assert_true(http_query_has(q, strlen(q), "verbose"));
    assert_true(http_query_has(q, strlen(q), "watch"));
    assert_true(http_query_has(q, strlen(q), "limit"));
    assert_false(http_query_has(q, strlen(q), "verb"));
    assert_false(http_query_has(q, strlen(q), "limits"));
    assert_false(http_query_has("", 0, "verbose"));
    assert_int_equal(http_method_index("PATCH", 5), 4);
    assert_string_equal(http_method_name(http_method_index("DELETE", 6)), "DELETE");
    assert_string_equal(http_method_name(http_method_index("BREW", 4)), "OTHER");
    assert_string_equal(http_method_name(http_method_index("GETX", 4)), "OTHER");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_decode),      cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_token_equal),      cmocka_unit_test(test_routes),
        cmocka_unit_test(test_query_and_methods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
