/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for RFC 7386 JSON Merge Patch: the RFC's appendix cases, Kubernetes-shaped
 * objects, create/apply round trips, immutability of inputs and depth limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonpatch.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad test JSON '%s': %s", text, e.text);
    return v;
}

static char *dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

static const struct {
    const char *doc, *patch, *want;
} apply_cases[] = {
    /* RFC 7386 appendix A, in order */
    {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
    {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
    {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
    {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
    {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
    {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
    {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
    {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
    {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
    {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
    {"{\"a\":\"foo\"}", "null", "null"},
    {"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
    {"{\"e\":null}", "{\"a\":1}", "{\"a\":1,\"e\":null}"},
    {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
    {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
    /* more */
    {"{\"a\":1}", "{}", "{\"a\":1}"},
    {"{\"a\":{\"b\":1,\"c\":2}}", "{\"a\":{\"b\":null}}", "{\"a\":{\"c\":2}}"},
    {"{\"a\":1}", "{\"a\":{\"b\":null,\"c\":{\"d\":null,\"e\":1}}}", "{\"a\":{\"c\":{\"e\":1}}}"},
    {"{\"x\":null}", "{\"x\":null}", "{}"},
    {"\"s\"", "{\"a\":1}", "{\"a\":1}"},
    {"{\"metadata\":{\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"d\"},"
     "\"spec\":{\"replicas\":1,\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\"}]}}}}",
     "{\"metadata\":{\"labels\":{\"tier\":null,\"new\":\"x\"}},\"spec\":{\"replicas\":3}}",
     "{\"metadata\":{\"labels\":{\"app\":\"web\",\"new\":\"x\"},\"name\":\"d\"},"
     "\"spec\":{\"replicas\":3,\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\"}]}}}}"},
};

static void test_apply(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(apply_cases) / sizeof(apply_cases[0]); i++) {
        json_t *doc = J(apply_cases[i].doc), *patch = J(apply_cases[i].patch), *out = NULL;
        char *bd = dump(doc), *bp = dump(patch);
        struct ck_err err = CK_ERR_INIT;
        if (mergepatch_apply(doc, patch, &out, &err) != 0)
            fail_msg("case %zu failed: %s", i, err.msg);
        char *got = dump(out);
        json_t *want = J(apply_cases[i].want);
        char *w = dump(want);
        if (strcmp(got, w) != 0)
            fail_msg("case %zu: %s + %s = %s, want %s", i, apply_cases[i].doc, apply_cases[i].patch,
                     got, w);
        char *ad = dump(doc), *ap = dump(patch);
        assert_string_equal(bd, ad);
        assert_string_equal(bp, ap);
        /* the result shares nothing mutable with the inputs */
        if (json_is_object(out) && json_object_size(out)) {
            json_object_clear(out);
            char *ad2 = dump(doc), *ap2 = dump(patch);
            assert_string_equal(bd, ad2);
            assert_string_equal(bp, ap2);
            free(ad2), free(ap2);
        }
        free(bd), free(bp), free(got), free(w), free(ad), free(ap);
        json_decref(doc), json_decref(patch), json_decref(out), json_decref(want);
    }
}

static const struct {
    const char *orig, *mod, *want;
} create_cases[] = {
    {"{\"a\":1}", "{\"a\":1}", "{}"},
    {"{}", "{}", "{}"},
    {"{\"a\":1}", "{\"a\":2}", "{\"a\":2}"},
    {"{\"a\":1}", "{}", "{\"a\":null}"},
    {"{}", "{\"a\":{\"b\":[1]}}", "{\"a\":{\"b\":[1]}}"},
    {"{\"a\":{\"b\":1,\"c\":2}}", "{\"a\":{\"b\":1,\"c\":3}}", "{\"a\":{\"c\":3}}"},
    {"{\"a\":{\"b\":1}}", "{\"a\":{}}", "{\"a\":{\"b\":null}}"},
    {"{\"a\":{\"b\":1}}", "{\"a\":5}", "{\"a\":5}"},
    {"{\"a\":5}", "{\"a\":{\"b\":1}}", "{\"a\":{\"b\":1}}"},
    {"{\"a\":[1,2]}", "{\"a\":[1,2]}", "{}"},
    {"{\"a\":[1,2]}", "{\"a\":[2,1]}", "{\"a\":[2,1]}"},
    {"{\"a\":1}", "{\"a\":1.0}", "{}"},
    {"{\"a\":1}", "[1]", "[1]"},
    {"[1]", "{\"a\":1}", "{\"a\":1}"},
    {"{\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":\"1\"}},\"spec\":{\"r\":1}}",
     "{\"metadata\":{\"name\":\"x\",\"labels\":{\"b\":\"2\"}},\"spec\":{\"r\":1}}",
     "{\"metadata\":{\"labels\":{\"a\":null,\"b\":\"2\"}}}"},
};

static void test_create_and_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(create_cases) / sizeof(create_cases[0]); i++) {
        json_t *orig = J(create_cases[i].orig), *mod = J(create_cases[i].mod);
        json_t *p = mergepatch_create(orig, mod);
        assert_non_null(p);
        char *got = dump(p);
        json_t *want = J(create_cases[i].want);
        char *w = dump(want);
        if (strcmp(got, w) != 0)
            fail_msg("create case %zu: got %s want %s", i, got, w);
        /* applying the created patch to orig gives modified */
        json_t *out = NULL;
        struct ck_err err = CK_ERR_INIT;
        assert_int_equal(mergepatch_apply(orig, p, &out, &err), 0);
        if (!jsonpatch_equal(out, mod)) {
            char *o = dump(out);
            fail_msg("round trip %zu: got %s want %s", i, o, create_cases[i].mod);
        }
        free(got), free(w);
        json_decref(out), json_decref(p), json_decref(want), json_decref(orig), json_decref(mod);
    }
    assert_null(mergepatch_create(NULL, NULL));
}

static void test_depth_limit(void **state)
{
    (void)state;
    json_t *deep = json_object(), *cur = deep;
    for (int i = 0; i < JSONPATCH_MAX_DEPTH + 2; i++) {
        json_t *n = json_object();
        json_object_set_new(cur, "x", n);
        cur = n;
    }
    json_t *doc = J("{}"), *out = NULL;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(mergepatch_apply(doc, deep, &out, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "merge patch nesting exceeds"));
    assert_null(out);
    ck_err_clear(&err);
    assert_int_equal(mergepatch_apply(deep, doc, &out, &err), -1);
    assert_non_null(strstr(err.msg, "document nesting exceeds"));
    assert_int_equal(mergepatch_apply(doc, NULL, &out, &err), -1);
    json_decref(deep);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_create_and_round_trip),
        cmocka_unit_test(test_depth_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
