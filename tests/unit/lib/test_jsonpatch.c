/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for RFC 6902 JSON Patch and RFC 6901 pointers: every operation, the RFC's
 * corner cases, error reasons and messages, input immutability and resource limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/jsonpatch.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
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
} ok_cases[] = {
    /* add */
    {"{}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":1}]", "{\"a\":1}"},
    {"{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":2}]", "{\"a\":2}"},
    {"{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/1\",\"value\":9}]", "{\"a\":[1,9,2]}"},
    {"{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":9}]", "{\"a\":[1,2,9]}"},
    {"{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/-\",\"value\":9}]", "{\"a\":[1,2,9]}"},
    {"{\"a\":[]}", "[{\"op\":\"add\",\"path\":\"/a/0\",\"value\":{\"b\":[null]}}]",
     "{\"a\":[{\"b\":[null]}]}"},
    {"{\"a\":1}", "[{\"op\":\"add\",\"path\":\"\",\"value\":[1]}]", "[1]"},
    {"{}", "[{\"op\":\"add\",\"path\":\"/\",\"value\":1}]", "{\"\":1}"},
    {"{}", "[{\"op\":\"add\",\"path\":\"/a~1b\",\"value\":1}]", "{\"a/b\":1}"},
    {"{}", "[{\"op\":\"add\",\"path\":\"/m~0n\",\"value\":1}]", "{\"m~n\":1}"},
    {"{}", "[{\"op\":\"add\",\"path\":\"/~01\",\"value\":1}]", "{\"~1\":1}"},
    {"{\"a\":{\"0\":1}}", "[{\"op\":\"add\",\"path\":\"/a/01\",\"value\":2}]",
     "{\"a\":{\"0\":1,\"01\":2}}"},
    {"[1]", "[{\"op\":\"add\",\"path\":\"/0\",\"value\":0}]", "[0,1]"},
    {"{}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":null}]", "{\"a\":null}"},
    /* remove */
    {"{\"a\":1,\"b\":2}", "[{\"op\":\"remove\",\"path\":\"/a\"}]", "{\"b\":2}"},
    {"{\"a\":[1,2,3]}", "[{\"op\":\"remove\",\"path\":\"/a/1\"}]", "{\"a\":[1,3]}"},
    {"{\"a\":{\"b\":{\"c\":1}}}", "[{\"op\":\"remove\",\"path\":\"/a/b/c\"}]",
     "{\"a\":{\"b\":{}}}"},
    /* replace */
    {"{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":\"x\"}]", "{\"a\":\"x\"}"},
    {"{\"a\":[1,2]}", "[{\"op\":\"replace\",\"path\":\"/a/0\",\"value\":5}]", "{\"a\":[5,2]}"},
    {"{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":{\"b\":2}}]", "{\"b\":2}"},
    {"{\"a\":null}", "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":3}]", "{\"a\":3}"},
    /* move */
    {"{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/b\"}]", "{\"b\":1}"},
    {"{\"a\":[1,2,3]}", "[{\"op\":\"move\",\"from\":\"/a/0\",\"path\":\"/a/2\"}]",
     "{\"a\":[2,3,1]}"},
    {"{\"a\":[1,2,3]}", "[{\"op\":\"move\",\"from\":\"/a/2\",\"path\":\"/a/0\"}]",
     "{\"a\":[3,1,2]}"},
    {"{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]",
     "{\"a\":{\"b\":1}}"},
    {"{\"a\":{\"b\":1},\"c\":{}}", "[{\"op\":\"move\",\"from\":\"/a/b\",\"path\":\"/c/d\"}]",
     "{\"a\":{},\"c\":{\"d\":1}}"},
    {"{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"\"}]", "{\"b\":1}"},
    /* copy */
    {"{\"a\":{\"b\":[1]}}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c\"}]",
     "{\"a\":{\"b\":[1]},\"c\":{\"b\":[1]}}"},
    {"{\"a\":{\"b\":1}}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/a/c\"}]",
     "{\"a\":{\"b\":1,\"c\":{\"b\":1}}}"},
    {"{\"a\":[1]}", "[{\"op\":\"copy\",\"from\":\"/a/0\",\"path\":\"/a/-\"}]", "{\"a\":[1,1]}"},
    /* copies are independent: changing the copy leaves the source */
    {"{\"a\":{\"b\":1}}",
     "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c\"},"
     "{\"op\":\"replace\",\"path\":\"/c/b\",\"value\":2}]",
     "{\"a\":{\"b\":1},\"c\":{\"b\":2}}"},
    /* test */
    {"{\"a\":[1,{\"b\":\"x\"}]}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":[1,{\"b\":\"x\"}]}]",
     "{\"a\":[1,{\"b\":\"x\"}]}"},
    {"{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":1.0}]", "{\"a\":1}"},
    {"{\"a\":{\"x\":1,\"y\":2}}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":{\"y\":2,\"x\":1}}]",
     "{\"a\":{\"x\":1,\"y\":2}}"},
    {"{\"a\":null}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":null}]", "{\"a\":null}"},
    {"{\"\":0}", "[{\"op\":\"test\",\"path\":\"/\",\"value\":0}]", "{\"\":0}"},
    {"{\"a\":1}", "[{\"op\":\"test\",\"path\":\"\",\"value\":{\"a\":1}}]", "{\"a\":1}"},
    /* sequences, extra members ignored */
    {"{\"n\":0}",
     "[{\"op\":\"replace\",\"path\":\"/n\",\"value\":1,\"extra\":true},"
     "{\"op\":\"test\",\"path\":\"/n\",\"value\":1},"
     "{\"op\":\"add\",\"path\":\"/l\",\"value\":[]},"
     "{\"op\":\"add\",\"path\":\"/l/-\",\"value\":\"a\"},"
     "{\"op\":\"add\",\"path\":\"/l/0\",\"value\":\"b\"},"
     "{\"op\":\"remove\",\"path\":\"/n\"}]",
     "{\"l\":[\"b\",\"a\"]}"},
    {"{\"a\":1}", "[]", "{\"a\":1}"},
    /* Kubernetes-typical */
    {"{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"replicas\":1}}",
     "[{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":3},"
     "{\"op\":\"add\",\"path\":\"/metadata/labels/example.com~1tier\",\"value\":\"fe\"}]",
     "{\"metadata\":{\"labels\":{\"app\":\"web\",\"example.com/tier\":\"fe\"}},"
     "\"spec\":{\"replicas\":3}}"},
};

static void test_apply_ok(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
        json_t *doc = J(ok_cases[i].doc), *patch = J(ok_cases[i].patch), *out = NULL;
        char *before_doc = dump(doc), *before_patch = dump(patch);
        struct ck_err err = CK_ERR_INIT;
        if (jsonpatch_apply(doc, patch, &out, &err) != 0)
            fail_msg("case %zu (%s) failed: %s", i, ok_cases[i].patch, err.msg);
        json_t *want = J(ok_cases[i].want);
        char *got = dump(out), *w = dump(want);
        if (strcmp(got, w) != 0)
            fail_msg("case %zu: got %s want %s", i, got, w);
        /* inputs untouched */
        char *after_doc = dump(doc), *after_patch = dump(patch);
        assert_string_equal(before_doc, after_doc);
        assert_string_equal(before_patch, after_patch);
        free(got), free(w), free(before_doc), free(before_patch), free(after_doc),
            free(after_patch);
        json_decref(doc), json_decref(patch), json_decref(out), json_decref(want);
    }
}

static const struct {
    const char *doc, *patch;
    enum ck_reason reason;
    const char *msg; /* substring */
} bad_cases[] = {
    /* malformed patches: 400 */
    {"{}", "{}", CK_R_BAD_REQUEST, "cannot unmarshal object into Go value of type jsonpatch.Patch"},
    {"{}", "\"x\"", CK_R_BAD_REQUEST, "cannot unmarshal string"},
    {"{}", "[1]", CK_R_BAD_REQUEST, "jsonpatch.Operation"},
    {"{}", "[{\"path\":\"/a\"}]", CK_R_BAD_REQUEST, "Unexpected kind: unknown"},
    {"{}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", CK_R_BAD_REQUEST, "Unexpected kind: frob"},
    {"{}", "[{\"op\":7,\"path\":\"/a\"}]", CK_R_BAD_REQUEST, "Unexpected kind: unknown"},
    {"{}", "[{\"op\":\"add\",\"value\":1}]", CK_R_BAD_REQUEST, "missing path field"},
    {"{}", "[{\"op\":\"add\",\"path\":5,\"value\":1}]", CK_R_BAD_REQUEST, "path must be a string"},
    {"{}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]", CK_R_BAD_REQUEST,
     "invalid JSON pointer in path: \"a\""},
    {"{}", "[{\"op\":\"add\",\"path\":\"/a~2\",\"value\":1}]", CK_R_BAD_REQUEST,
     "invalid JSON pointer"},
    {"{}", "[{\"op\":\"add\",\"path\":\"/a~\",\"value\":1}]", CK_R_BAD_REQUEST,
     "invalid JSON pointer"},
    {"{}", "[{\"op\":\"add\",\"path\":\"/a\"}]", CK_R_BAD_REQUEST, "missing value field"},
    {"{}", "[{\"op\":\"replace\",\"path\":\"/a\"}]", CK_R_BAD_REQUEST, "missing value field"},
    {"{}", "[{\"op\":\"test\",\"path\":\"/a\"}]", CK_R_BAD_REQUEST, "missing value field"},
    {"{}", "[{\"op\":\"move\",\"path\":\"/a\"}]", CK_R_BAD_REQUEST, "missing from field"},
    {"{}", "[{\"op\":\"copy\",\"path\":\"/a\",\"from\":\"x\"}]", CK_R_BAD_REQUEST,
     "invalid JSON pointer in from"},
    /* a malformed op late in the patch is still a 400, before any work */
    {"{}", "[{\"op\":\"test\",\"path\":\"/zz\",\"value\":1},{\"op\":\"bogus\"}]", CK_R_BAD_REQUEST,
     "Unexpected kind: bogus"},
    /* operations that do not apply: 422 */
    {"{}", "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":1}]", CK_R_INVALID,
     "add operation does not apply: doc is missing path: \"/a/b\""},
    {"{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":1}]", CK_R_INVALID,
     "doc is missing path"},
    {"{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":1}]", CK_R_INVALID,
     "Unable to access invalid index: 2"},
    {"{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/01\",\"value\":1}]", CK_R_INVALID,
     "invalid index: 01"},
    {"{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/-1\",\"value\":1}]", CK_R_INVALID,
     "invalid index: -1"},
    {"{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/x\",\"value\":1}]", CK_R_INVALID,
     "invalid index: x"},
    {"{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/\",\"value\":1}]", CK_R_INVALID,
     "invalid index"},
    {"{}", "[{\"op\":\"remove\",\"path\":\"/a\"}]", CK_R_INVALID,
     "remove operation does not apply: doc is missing path: \"/a\""},
    {"{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/1\"}]", CK_R_INVALID, "missing path"},
    {"{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/-\"}]", CK_R_INVALID, "missing path"},
    {"{\"a\":[1,2]}", "[{\"op\":\"remove\",\"path\":\"/a/00\"}]", CK_R_INVALID, "missing path"},
    {"{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"\"}]", CK_R_INVALID, "cannot remove the root"},
    {"{}", "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":1}]", CK_R_INVALID,
     "replace operation does not apply: doc is missing key: /a"},
    {"{\"a\":[]}", "[{\"op\":\"replace\",\"path\":\"/a/0\",\"value\":1}]", CK_R_INVALID,
     "doc is missing key: /a/0"},
    {"{}", "[{\"op\":\"move\",\"from\":\"/x\",\"path\":\"/a\"}]", CK_R_INVALID,
     "move operation does not apply: doc is missing from path: /x"},
    {"{\"a\":{}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b\"}]", CK_R_INVALID,
     "is inside from /a"},
    {"{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/b/c\"}]", CK_R_INVALID,
     "doc is missing path: \"/b/c\""},
    {"{}", "[{\"op\":\"copy\",\"from\":\"/x\",\"path\":\"/a\"}]", CK_R_INVALID,
     "copy operation does not apply: doc is missing from path: /x"},
    {"{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":2}]", CK_R_INVALID,
     "testing value /a failed: test failed"},
    {"{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":\"1\"}]", CK_R_INVALID,
     "test failed"},
    {"{\"a\":[1,2]}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":[2,1]}]", CK_R_INVALID,
     "test failed"},
    {"{\"a\":{\"x\":1}}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":{\"x\":1,\"y\":null}}]",
     CK_R_INVALID, "test failed"},
    {"{\"a\":null}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":false}]", CK_R_INVALID,
     "test failed"},
    {"{}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":null}]", CK_R_INVALID,
     "test operation does not apply: is missing path: /a"},
    /* a later failure discards the earlier operations (atomicity is the caller's view) */
    {"{\"a\":1}",
     "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":2},{\"op\":\"test\",\"path\":\"/a\","
     "\"value\":1}]",
     CK_R_INVALID, "test failed"},
};

static void test_apply_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        json_t *doc = J(bad_cases[i].doc), *patch = J(bad_cases[i].patch);
        json_t *out = (json_t *)0x1;
        char *before = dump(doc);
        struct ck_err err = CK_ERR_INIT;
        if (jsonpatch_apply(doc, patch, &out, &err) == 0)
            fail_msg("case %zu (%s) should fail", i, bad_cases[i].patch);
        assert_null(out);
        if (err.reason != bad_cases[i].reason || !strstr(err.msg, bad_cases[i].msg))
            fail_msg("case %zu (%s): reason %s msg '%s', want %s '%s'", i, bad_cases[i].patch,
                     ck_reason_str(err.reason), err.msg, ck_reason_str(bad_cases[i].reason),
                     bad_cases[i].msg);
        char *after = dump(doc);
        assert_string_equal(before, after);
        free(before), free(after);
        json_decref(doc), json_decref(patch);
    }
}

static void test_op_limit(void **state)
{
    (void)state;
    json_t *doc = J("{\"n\":0}");
    for (int count = JSONPATCH_MAX_OPS; count <= JSONPATCH_MAX_OPS + 1; count++) {
        json_t *patch = json_array();
        for (int i = 0; i < count; i++)
            json_array_append_new(patch, J("{\"op\":\"test\",\"path\":\"/n\",\"value\":0}"));
        json_t *out = NULL;
        struct ck_err err = CK_ERR_INIT;
        int rc = jsonpatch_apply(doc, patch, &out, &err);
        if (count == JSONPATCH_MAX_OPS) {
            assert_int_equal(rc, 0);
            json_decref(out);
        } else {
            assert_int_equal(rc, -1);
            assert_int_equal(err.reason, CK_R_TOO_LARGE);
            assert_int_equal(err.code, 413);
            assert_string_equal(
                err.msg, "The allowed maximum operations in a JSON patch is 10000, got 10001");
        }
        json_decref(patch);
    }
    json_decref(doc);
}

/* Doubling a value by copying it into itself must stop at the copy budget, fast. */
static void test_copy_bomb(void **state)
{
    (void)state;
    json_t *doc = J("{\"a\":[\"0123456789abcdef0123456789abcdef\"]}");
    json_t *patch = json_array();
    for (int i = 0; i < 200; i++) {
        json_array_append_new(patch, J("{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/a/-\"}"));
    }
    json_t *out = NULL;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(jsonpatch_apply(doc, patch, &out, &err), -1);
    assert_int_equal(err.reason, CK_R_INVALID);
    assert_non_null(strstr(err.msg, "accumulated size increase of copy"));
    json_decref(patch);
    json_decref(doc);
}

/* Nesting by repeated self-copies is capped by depth, not by the stack. */
static void test_depth_bomb(void **state)
{
    (void)state;
    json_t *doc = J("{\"a\":{}}");
    json_t *patch = json_array();
    /* each op nests the whole doc one level deeper: /a -> /a/a ... */
    for (int i = 0; i < 3000; i++)
        json_array_append_new(patch, J("{\"op\":\"copy\",\"from\":\"\",\"path\":\"/a\"}"));
    json_t *out = NULL;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(jsonpatch_apply(doc, patch, &out, &err), -1);
    assert_int_equal(err.reason, CK_R_INVALID);
    assert_non_null(strstr(err.msg, "nesting exceeds"));
    json_decref(patch);

    /* a value nested deeper than the limit is refused */
    json_t *deep = json_object(), *cur = deep;
    for (int i = 0; i < JSONPATCH_MAX_DEPTH + 5; i++) {
        json_t *n = json_object();
        json_object_set_new(cur, "x", n);
        cur = n;
    }
    patch = json_array();
    json_t *op = J("{\"op\":\"add\",\"path\":\"/b\"}");
    json_object_set_new(op, "value", deep);
    json_array_append_new(patch, op);
    assert_int_equal(jsonpatch_apply(doc, patch, &out, &err), -1);
    assert_int_equal(err.reason, CK_R_INVALID);
    json_decref(patch);
    json_decref(doc);
}

/* A pointer with 200000 tokens costs memory in proportion to its length, not its square. */
static void test_long_pointer(void **state)
{
    (void)state;
    struct ck_buf b = CK_BUF_INIT(4 << 20);
    for (int i = 0; i < 200000; i++)
        ck_buf_appends(&b, "/x");
    json_t *doc = J("{\"x\":{\"x\":1}}");
    json_t *patch = json_pack("[{s:s,s:s,s:i}]", "op", "add", "path", b.data, "value", 1);
    json_t *out = NULL;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(jsonpatch_apply(doc, patch, &out, &err), -1);
    assert_int_equal(err.reason, CK_R_INVALID);
    /* deeper than the nesting limit, so refused before the lookup */
    assert_non_null(strstr(err.msg, "nesting exceeds"));
    assert_null(jsonpointer_get(doc, b.data));
    json_decref(patch);
    patch = json_pack("[{s:s,s:s}]", "op", "remove", "path", b.data);
    assert_int_equal(jsonpatch_apply(doc, patch, &out, &err), -1);
    assert_non_null(strstr(err.msg, "remove operation does not apply: doc is missing path"));
    json_decref(patch);
    json_decref(doc);
    ck_buf_release(&b);
}

static void test_null_arguments(void **state)
{
    (void)state;
    json_t *doc = J("{}"), *patch = J("[]"), *out = (json_t *)0x1;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(jsonpatch_apply(doc, NULL, &out, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    assert_null(out);
    ck_err_clear(&err);
    assert_int_equal(jsonpatch_apply(NULL, patch, &out, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    assert_int_equal(jsonpatch_apply(doc, patch, &out, NULL), 0); /* err may be NULL */
    json_decref(out);
    json_t *bad = J("{}");
    assert_int_equal(jsonpatch_apply(doc, bad, &out, NULL), -1);
    assert_false(jsonpatch_equal(NULL, doc));
    assert_true(jsonpatch_equal(NULL, NULL));
    json_decref(bad), json_decref(doc), json_decref(patch);
}

static void test_pointer_get(void **state)
{
    (void)state;
    /* RFC 6901 section 5 document */
    json_t *doc = J("{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"c%d\":2,\"e^f\":3,"
                    "\"g|h\":4,\"i\\\\j\":5,\"k\\\"l\":6,\" \":7,\"m~n\":8}");
    static const struct {
        const char *ptr;
        const char *want;
    } cases[] = {
        {"", NULL},
        {"/foo", "[\"bar\",\"baz\"]"},
        {"/foo/0", "\"bar\""},
        {"/", "0"},
        {"/a~1b", "1"},
        {"/c%d", "2"},
        {"/e^f", "3"},
        {"/g|h", "4"},
        {"/i\\j", "5"},
        {"/k\"l", "6"},
        {"/ ", "7"},
        {"/m~0n", "8"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *v = jsonpointer_get(doc, cases[i].ptr);
        assert_non_null(v);
        if (!cases[i].want) {
            assert_ptr_equal(v, doc);
            continue;
        }
        char *got = dump(v);
        assert_string_equal(got, cases[i].want);
        free(got);
    }
    assert_null(jsonpointer_get(doc, "/foo/2"));
    assert_null(jsonpointer_get(doc, "/foo/01"));
    assert_null(jsonpointer_get(doc, "/foo/-"));
    assert_null(jsonpointer_get(doc, "/nope"));
    assert_null(jsonpointer_get(doc, "foo"));
    assert_null(jsonpointer_get(doc, "/m~2n"));
    assert_null(jsonpointer_get(doc, "/foo/0/x"));
    assert_null(jsonpointer_get(NULL, "/foo"));
    json_decref(doc);
}

static void test_equal_and_depth(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        bool eq;
    } cases[] = {
        {"1", "1.0", true},
        {"1", "2", false},
        {"0.5", "0.5", true},
        {"\"a\"", "\"a\"", true},
        {"\"a\"", "\"b\"", false},
        {"null", "false", false},
        {"[1,[2]]", "[1,[2.0]]", true},
        {"[1]", "[1,1]", false},
        {"{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}", true},
        {"{\"a\":1}", "{\"a\":1,\"b\":1}", false},
        {"{\"a\":1}", "{\"b\":1}", false},
        {"true", "true", true},
        {"\"a\\u0000b\"", "\"a\\u0000c\"", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *a = J(cases[i].a), *b = J(cases[i].b);
        if (jsonpatch_equal(a, b) != cases[i].eq || jsonpatch_equal(b, a) != cases[i].eq)
            fail_msg("equal(%s, %s) != %d", cases[i].a, cases[i].b, cases[i].eq);
        json_decref(a), json_decref(b);
    }
    json_t *v = J("{\"a\":[{\"b\":1}],\"c\":2}");
    assert_int_equal(jsonpatch_depth(v, 100), 3);
    assert_true(jsonpatch_depth(v, 1) > 1);
    json_decref(v);
    v = J("7");
    assert_int_equal(jsonpatch_depth(v, 100), 0);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply_ok),        cmocka_unit_test(test_apply_errors),
        cmocka_unit_test(test_op_limit),        cmocka_unit_test(test_copy_bomb),
        cmocka_unit_test(test_depth_bomb),      cmocka_unit_test(test_pointer_get),
        cmocka_unit_test(test_equal_and_depth), cmocka_unit_test(test_long_pointer),
        cmocka_unit_test(test_null_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
