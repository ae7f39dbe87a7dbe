/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for YAML <-> JSON: YAML 1.1 scalar resolution as sigs.k8s.io/yaml (go-yaml v2),
 * tags, keys, anchors/merge keys, limits (depth, alias bombs), error positions, and the
 * go-yaml-style emitter (ordering, quoting, block styles) including round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/jsonpatch.h"
#include "lib/yamljson.h"

static char *dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

static json_t *yaml_ok(const char *y)
{
    json_t *v = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (yaml_to_json(y, strlen(y), &v, &err) != 0)
        fail_msg("yaml '%s' failed: %s", y, err.msg);
    assert_non_null(v);
    return v;
}

static const struct {
    const char *yaml, *json;
} conv[] = {
    /* YAML 1.1 booleans (go-yaml v2) */
    {"v: yes", "{\"v\":true}"},
    {"v: Yes", "{\"v\":true}"},
    {"v: YES", "{\"v\":true}"},
    {"v: y", "{\"v\":true}"},
    {"v: Y", "{\"v\":true}"},
    {"v: on", "{\"v\":true}"},
    {"v: On", "{\"v\":true}"},
    {"v: ON", "{\"v\":true}"},
    {"v: true", "{\"v\":true}"},
    {"v: True", "{\"v\":true}"},
    {"v: TRUE", "{\"v\":true}"},
    {"v: no", "{\"v\":false}"},
    {"v: n", "{\"v\":false}"},
    {"v: NO", "{\"v\":false}"},
    {"v: off", "{\"v\":false}"},
    {"v: Off", "{\"v\":false}"},
    {"v: false", "{\"v\":false}"},
    {"v: FALSE", "{\"v\":false}"},
    {"v: yEs", "{\"v\":\"yEs\"}"},
    {"v: tRue", "{\"v\":\"tRue\"}"},
    /* nulls */
    {"v: null", "{\"v\":null}"},
    {"v: Null", "{\"v\":null}"},
    {"v: NULL", "{\"v\":null}"},
    {"v: ~", "{\"v\":null}"},
    {"v:", "{\"v\":null}"},
    {"v: nil", "{\"v\":\"nil\"}"},
    {"v: nULL", "{\"v\":\"nULL\"}"},
    /* integers: Go base-0 syntax, underscores dropped */
    {"v: 12", "{\"v\":12}"},
    {"v: -12", "{\"v\":-12}"},
    {"v: +12", "{\"v\":12}"},
    {"v: 0", "{\"v\":0}"},
    {"v: 00", "{\"v\":0}"},
    {"v: 0x1F", "{\"v\":31}"},
    {"v: 0X1f", "{\"v\":31}"},
    {"v: 0o17", "{\"v\":15}"},
    {"v: 017", "{\"v\":15}"},
    {"v: 0b101", "{\"v\":5}"},
    {"v: -0b101", "{\"v\":-5}"},
    {"v: 1_000", "{\"v\":1000}"},
    {"v: 08", "{\"v\":8}"},
    {"v: -0x10", "{\"v\":-16}"},
    {"v: 9223372036854775807", "{\"v\":9223372036854775807}"},
    {"v: -9223372036854775808", "{\"v\":-9223372036854775808}"},
    /* floats; integral ones become JSON integers (Go prints them without a fraction) */
    {"v: 1.5", "{\"v\":1.5}"},
    {"v: .5", "{\"v\":0.5}"},
    {"v: -.5", "{\"v\":-0.5}"},
    {"v: +.5", "{\"v\":0.5}"},
    {"v: 1e3", "{\"v\":1000}"},
    {"v: 1.", "{\"v\":1}"},
    {"v: 1.5e-3", "{\"v\":0.0015}"},
    {"v: 1_0.5", "{\"v\":10.5}"},
    {"v: 2.0E+2", "{\"v\":200}"},
    /* strings that only look numeric-ish */
    {"v: 1e400", "{\"v\":\"1e400\"}"},
    {"v: 1e-400", "{\"v\":0}"},
    {"v: 0x1_0000_0000_0000_0000", "{\"v\":1.8446744073709552e19}"},
    {"v: 0.000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000015",
     "{\"v\":1.5000000000000001e-149}"},
    {"v: 1e", "{\"v\":\"1e\"}"},
    {"v: 0x", "{\"v\":\"0x\"}"},
    {"v: 12abc", "{\"v\":\"12abc\"}"},
    {"v: 1:20", "{\"v\":\"1:20\"}"},
    {"v: 0b2", "{\"v\":\"0b2\"}"},
    {"v: .", "{\"v\":\".\"}"},
    {"v: -x", "{\"v\":\"-x\"}"},
    {"v: +", "{\"v\":\"+\"}"},
    {"v: 1.2.3", "{\"v\":\"1.2.3\"}"},
    {"v: 2001-12-14", "{\"v\":\"2001-12-14\"}"},
    {"v: 2001-12-14T21:59:43.10Z", "{\"v\":\"2001-12-14T21:59:43.10Z\"}"},
    {"v: v1.2", "{\"v\":\"v1.2\"}"},
    /* quoting and block scalars */
    {"v: '12'", "{\"v\":\"12\"}"},
    {"v: \"true\"", "{\"v\":\"true\"}"},
    {"v: ''", "{\"v\":\"\"}"},
    {"v: \"\"", "{\"v\":\"\"}"},
    {"v: 'it''s'", "{\"v\":\"it's\"}"},
    {"v: \"a\\tb\\u00e9\"", "{\"v\":\"a\\tb\xc3\xa9\"}"},
    {"v: |\n  a\n  b\n", "{\"v\":\"a\\nb\\n\"}"},
    {"v: |-\n  a\n  b\n", "{\"v\":\"a\\nb\"}"},
    {"v: >\n  a\n  b\n", "{\"v\":\"a b\\n\"}"},
    {"v: a\n  b\n", "{\"v\":\"a b\"}"},
    {"v: h\xc3\xa9llo", "{\"v\":\"h\xc3\xa9llo\"}"},
    /* tags */
    {"v: !!str 12", "{\"v\":\"12\"}"},
    {"v: !!int '12'", "{\"v\":12}"},
    {"v: !!float 1", "{\"v\":1}"},
    {"v: !!float 1.5", "{\"v\":1.5}"},
    {"v: !!bool yes", "{\"v\":true}"},
    {"v: !!null ''", "{\"v\":null}"},
    {"v: !foo bar", "{\"v\":\"bar\"}"},
    {"v: ! 12", "{\"v\":\"12\"}"},
    {"v: !!binary aGVsbG8=", "{\"v\":\"hello\"}"},
    {"v: !!binary |\n  aGVs\n  bG8=\n", "{\"v\":\"hello\"}"},
    {"v: !!timestamp 2001-12-14", "{\"v\":\"2001-12-14\"}"},
    {"v: !!map {a: 1}", "{\"v\":{\"a\":1}}"},
    /* keys */
    {"1: a", "{\"1\":\"a\"}"},
    {"0x10: a", "{\"16\":\"a\"}"},
    {"true: a", "{\"true\":\"a\"}"},
    {"yes: a", "{\"true\":\"a\"}"},
    {"no: a", "{\"false\":\"a\"}"},
    {"1.5: a", "{\"1.5\":\"a\"}"},
    {"0.1: a", "{\"0.1\":\"a\"}"},
    {"1000000000000000000000000000000000000: a\n", "{\"1e+36\":\"a\"}"},
    {"1e+36: a\n", "{\"1e+36\":\"a\"}"},
    {"\"1e+36\": a\n", "{\"1e+36\":\"a\"}"},
    {"- t: \n", "[{\"t\":null}]"},
    {"1e6: a", "{\"1e+06\":\"a\"}"},
    {"'1': a", "{\"1\":\"a\"}"},
    {"\"on\": a", "{\"on\":\"a\"}"},
    {"y: 1\nn: 0", "{\"false\":0,\"true\":1}"},
    {"a: 1\na: 2", "{\"a\":2}"},
    /* documents */
    {"", "null"},
    {"# just a comment\n", "null"},
    {"---\n", "null"},
    {"hello", "\"hello\""},
    {"- 1\n- two\n", "[1,\"two\"]"},
    {"a: 1\n---\nb: 2\n", "{\"a\":1}"},
    {"---\na: 1\n...\n", "{\"a\":1}"},
    {"a: 1\n--- [unclosed\n", "{\"a\":1}"},
    {"{\"a\": [1, 2.5, \"x\", null, true], \"b\": {}}", "{\"a\":[1,2.5,\"x\",null,true],\"b\":{}}"},
    /* anchors, aliases, merge keys */
    {"a: &x {b: 1}\nc: *x\n", "{\"a\":{\"b\":1},\"c\":{\"b\":1}}"},
    {"a: &s hi\nb: *s\n", "{\"a\":\"hi\",\"b\":\"hi\"}"},
    {"a: &k key\n*k : v\n", "{\"a\":\"key\",\"key\":\"v\"}"},
    {"a: &x 1\nb: &x 2\nc: *x\n", "{\"a\":1,\"b\":2,\"c\":2}"},
    {"base: &b {x: 1, q: 2}\nd:\n  <<: *b\n  q: 3\n",
     "{\"base\":{\"q\":2,\"x\":1},\"d\":{\"q\":3,\"x\":1}}"},
    {"a: &a {x: 1}\nb: &b {x: 2, z: 2}\nc:\n  <<: [*a, *b]\n",
     "{\"a\":{\"x\":1},\"b\":{\"x\":2,\"z\":2},\"c\":{\"x\":1,\"z\":2}}"},
    {"a: &a {x: 1}\nc:\n  x: 0\n  <<: *a\n", "{\"a\":{\"x\":1},\"c\":{\"x\":1}}"},
    {"c:\n  !!merge <<: {m: 1}\n", "{\"c\":{\"m\":1}}"},
    {"v: <<", "{\"v\":\"<<\"}"},
    /* a Kubernetes object */
    {"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    app: web\n"
     "spec:\n  containers:\n  - name: c\n    image: nginx:1.25\n    ports:\n"
     "    - containerPort: 80\n    env:\n    - name: X\n      value: \"1\"\n",
     "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"labels\":{\"app\":\"web\"},"
     "\"name\":\"p\"},\"spec\":{\"containers\":[{\"env\":[{\"name\":\"X\",\"value\":\"1\"}],"
     "\"image\":\"nginx:1.25\",\"name\":\"c\",\"ports\":[{\"containerPort\":80}]}]}}"},
};

static void test_yaml_to_json(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(conv) / sizeof(conv[0]); i++) {
        json_t *v = yaml_ok(conv[i].yaml);
        char *got = dump(v);
        if (strcmp(got, conv[i].json) != 0)
            fail_msg("yaml %zu '%s':\n got %s\nwant %s", i, conv[i].yaml, got, conv[i].json);
        free(got);
        json_decref(v);
    }
}

static void test_special_numbers(void **state)
{
    (void)state;
    json_t *v = yaml_ok("v: 9223372036854775808\nw: 18446744073709551615\nx: 1e400x\n"
                        "yy: 123456789012345678901234567890\nzz: 6.02e+23\n");
    assert_true(json_is_real(json_object_get(v, "v")));
    assert_true(json_real_value(json_object_get(v, "v")) == 9223372036854775808.0);
    assert_true(json_real_value(json_object_get(v, "w")) == 18446744073709551615.0);
    assert_true(json_is_string(json_object_get(v, "x")));
    assert_true(json_real_value(json_object_get(v, "yy")) > 1.2e29);
    assert_true(json_real_value(json_object_get(v, "zz")) == 6.02e23);
    json_decref(v);
    /* the alias shares nothing with its anchor */
    v = yaml_ok("a: &x {b: 1}\nc: *x\n");
    assert_ptr_not_equal(json_object_get(v, "a"), json_object_get(v, "c"));
    json_decref(v);
    /* embedded NUL survives */
    v = yaml_ok("v: \"a\\0b\"");
    assert_int_equal(json_string_length(json_object_get(v, "v")), 3);
    json_decref(v);
}

static const struct {
    const char *yaml, *msg;
} bad[] = {
    {"v: .inf", "json: unsupported value: +Inf"},
    {"v: -.Inf", "json: unsupported value: -Inf"},
    {"v: .nan", "json: unsupported value: NaN"},
    {"v: !!int abc", "cannot decode !!str `abc` as a !!int"},
    {"v: !!bool 1", "cannot decode !!int `1` as a !!bool"},
    {"v: !!null x", "cannot decode !!str `x` as a !!null"},
    {"v: !!binary '@@'", "invalid base64"},
    {"~: a", "unsupported map key of type: <nil>"},
    {"? [a]\n: b\n", "invalid map key"},
    {"? {a: 1}\n: b\n", "invalid map key"},
    {"a: *nope", "unknown anchor 'nope' referenced"},
    {"a: &a [*a]", "unknown anchor 'a' referenced"},
    {"c:\n  <<: 5\n", "map merge requires map or sequence of maps as the value"},
    {"c:\n  <<: [{a: 1}, 2]\n", "map merge requires map or sequence of maps"},
    {"a: b: c", "line 1, column 5: mapping values are not allowed in this context"},
    {"a:\n  - b\n  c: d\n", "line 3"},
    {"key: [1, 2", "did not find expected"},
    {"a:\n\tb: 1\n", "line 2"},
    {"v: \xff", "invalid leading UTF-8 octet"},
    {"v: \"\\ud800\"", "invalid Unicode character escape code"},
    {"a: 'unterminated", "found unexpected end of stream"},
    {"- a\nb: c\n", "line 2"},
};

static void test_yaml_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *v = (json_t *)0x1;
        struct ck_err err = CK_ERR_INIT;
        if (yaml_to_json(bad[i].yaml, strlen(bad[i].yaml), &v, &err) == 0) {
            char *d = dump(v);
            fail_msg("yaml '%s' should fail, got %s", bad[i].yaml, d);
        }
        assert_null(v);
        assert_int_equal(err.reason, CK_R_BAD_REQUEST);
        assert_non_null(strstr(err.msg, "error converting YAML to JSON: yaml: line "));
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("yaml '%s': message '%s' lacks '%s'", bad[i].yaml, err.msg, bad[i].msg);
    }
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void test_limits(void **state)
{
    (void)state;
    struct ck_err err = CK_ERR_INIT;
    json_t *v = NULL;
    /* billion laughs: 10^9 leaves from 100 lines */
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    ck_buf_appends(&b, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 10; i++) {
        ck_buf_appendf(&b, "a%d: &a%d [", i, i);
        for (int j = 0; j < 10; j++)
            ck_buf_appendf(&b, "%s*a%d", j ? ", " : "", i - 1);
        ck_buf_appends(&b, "]\n");
    }
    assert_int_equal(yaml_to_json(b.data, b.len, &v, &err), -1);
    assert_non_null(strstr(err.msg, "document contains excessive aliasing"));
    ck_buf_release(&b);

    /* flow and block nesting beyond the depth limit */
    char *deep = malloc(5001);
    memset(deep, '[', 5000);
    deep[5000] = 0;
    assert_int_equal(yaml_to_json(deep, 5000, &v, &err), -1);
    assert_non_null(strstr(err.msg, "exceeded max depth of 1000"));
    free(deep);
    struct ck_buf blk = CK_BUF_INIT(1 << 24);
    for (int i = 0; i < 1100; i++)
        ck_buf_appendf(&blk, "%*sk:\n", i, "");
    assert_int_equal(yaml_to_json(blk.data, blk.len, &v, &err), -1);
    assert_non_null(strstr(err.msg, "exceeded max depth"));
    ck_buf_release(&blk);
    /* at the limit is fine */
    deep = malloc(2 * 1000 + 1);
    memset(deep, '[', 1000);
    memset(deep + 1000, ']', 1000);
    deep[2000] = 0;
    assert_int_equal(yaml_to_json(deep, 2000, &v, &err), 0);
    json_decref(v);
    free(deep);
    /* many anchors and aliases: lookups stay cheap */
    struct ck_buf many = CK_BUF_INIT(16 << 20);
    for (int i = 0; i < 50000; i++)
        ck_buf_appendf(&many, "a%d: &x%d v%d\n", i, i, i);
    for (int i = 0; i < 50000; i++)
        ck_buf_appendf(&many, "b%d: *x%d\n", i, i / 2);
    double t0 = now_ms();
    assert_int_equal(yaml_to_json(many.data, many.len, &v, &err), 0);
    double t1 = now_ms();
    assert_string_equal(json_string_value(json_object_get(v, "b49999")), "v24999");
    printf("yaml (CPU time): 50000 anchors + 50000 aliases in %.1f ms\n", t1 - t0);
    assert_true(t1 - t0 < 20000);
    json_decref(v);
    ck_buf_release(&many);
    /* input size */
    assert_int_equal(yaml_to_json("a", (size_t)YAML_MAX_INPUT + 1, &v, &err), -1);
    assert_int_equal(err.reason, CK_R_TOO_LARGE);
    /* NULL text of length 0 is an empty stream; err may be NULL */
    assert_int_equal(yaml_to_json(NULL, 0, &v, &err), 0);
    assert_true(json_is_null(v));
    json_decref(v);
    assert_int_equal(yaml_to_json("a: [", 4, &v, NULL), -1);
    assert_null(v);
    /* an explicit length is honoured (no NUL needed) */
    assert_int_equal(yaml_to_json("a: 1xyz", 4, &v, &err), 0);
    char *d = dump(v);
    assert_string_equal(d, "{\"a\":1}");
    free(d);
    json_decref(v);
}

/* ---- emitter ---- */
static const struct {
    const char *json, *yaml;
} emit[] = {
    {"{\"a\":1,\"b\":\"x\"}", "a: 1\nb: x\n"},
    {"{\"b\":1,\"a\":2}", "a: 2\nb: 1\n"},
    {"{\"a10\":1,\"a9\":2,\"a1\":3,\"B\":4,\"_x\":5}", "_x: 5\nB: 4\na1: 3\na9: 2\na10: 1\n"},
    {"{\"l\":[1,\"two\",{\"k\":\"v\",\"j\":null}]}", "l:\n- 1\n- two\n- j: null\n  k: v\n"},
    {"{\"e\":{},\"f\":[]}", "e: {}\nf: []\n"},
    {"{\"m\":{\"n\":{\"o\":true,\"p\":false}}}", "m:\n  \"n\":\n    o: true\n    p: false\n"},
    {"[[1,2],[]]", "- - 1\n  - 2\n- []\n"},
    {"{\"s\":\"true\"}", "s: \"true\"\n"},
    {"{\"s\":\"1\"}", "s: \"1\"\n"},
    {"{\"s\":\"null\"}", "s: \"null\"\n"},
    {"{\"s\":\"~\"}", "s: \"~\"\n"},
    {"{\"s\":\"\"}", "s: \"\"\n"},
    {"{\"s\":\"1:20\"}", "s: \"1:20\"\n"},
    {"{\"s\":\"2024-05-01T10:00:00Z\"}", "s: \"2024-05-01T10:00:00Z\"\n"},
    {"{\"s\":\"yes\"}", "s: \"yes\"\n"},
    {"{\"s\":\"0x1F\"}", "s: \"0x1F\"\n"},
    {"{\"s\":\"1e3\"}", "s: \"1e3\"\n"},
    {"{\"s\":\"<<\"}", "s: \"<<\"\n"},
    {"{\"s\":\"a: b\"}", "s: 'a: b'\n"},
    {"{\"s\":\"- x\"}", "s: '- x'\n"},
    {"{\"s\":\" lead\"}", "s: ' lead'\n"},
    {"{\"s\":\"#c\"}", "s: '#c'\n"},
    {"{\"s\":\"nginx:1.25\"}", "s: nginx:1.25\n"},
    {"{\"s\":\"h\\u00e9\"}", "s: h\xc3\xa9\n"},
    {"{\"s\":\"multi\\nline\"}", "s: |-\n  multi\n  line\n"},
    {"{\"s\":\"x\\n\"}", "s: |\n  x\n"},
    {"{\"on\":1,\"y\":2}", "\"on\": 1\n\"y\": 2\n"},
    {"{\"1e+36\":\"a\"}", "\"1e+36\": a\n"},
    {"{\"1\":\"a\"}", "\"1\": a\n"},
    {"{\"t\":null}", "t: null\n"},
    {"[{\"t\":\"a\"},{\"t\":{\"b\":1,\"c\":2}}]", "- t: a\n- t:\n    b: 1\n    c: 2\n"},
    {"{\"f\":1.5,\"g\":1000000.0,\"h\":0.0001,\"i\":0.00001,\"j\":-3,\"k\":123456.0}",
     "f: 1.5\ng: 1e+06\nh: 0.0001\ni: 1e-05\nj: -3\nk: 123456\n"},
    {"\"x\"", "x\n"},
    {"[1,2]", "- 1\n- 2\n"},
    {"null", "null\n"},
};

static void test_json_to_yaml(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(emit) / sizeof(emit[0]); i++) {
        json_error_t e;
        json_t *v = json_loads(emit[i].json, JSON_DECODE_ANY, &e);
        assert_non_null(v);
        struct ck_buf out = CK_BUF_INIT(1 << 20);
        assert_int_equal(json_to_yaml(v, &out), 0);
        if (strcmp(out.data, emit[i].yaml) != 0)
            fail_msg("emit %zu %s:\n got [%s]\nwant [%s]", i, emit[i].json, out.data, emit[i].yaml);
        /* and it reads back as the same JSON */
        json_t *back = yaml_ok(out.data);
        if (!jsonpatch_equal(v, back)) {
            char *d = dump(back);
            fail_msg("round trip %zu: %s -> %s", i, emit[i].json, d);
        }
        json_decref(back);
        ck_buf_release(&out);
        json_decref(v);
    }
}

static void test_round_trip_strings(void **state)
{
    (void)state;
    /* strings that must survive JSON -> YAML -> JSON unchanged */
    static const char *const strs[] = {
        "",     "true",  "True",   "y",     "n",         "NO",           "off",  "null",  "~",
        "0",    "-0",    "+1",     "1_000", "0o7",       "0b1",          "1e5",  ".5",    "1.",
        ".inf", "-.Inf", ".NaN",   "1:2",   "2001-1-1",  "<<",           "a: b", "a #b",  "#",
        "- a",  "-",     "?",      ":",     "[x]",       "{y}",          "*a",   "&b",    "!t",
        "%p",   "@q",    "`r",     "'s'",   "\"t\"",     " u",           "v ",   "a\tb",  "x\ny",
        "x\n",  "\n",    "  \n a", "tab\t", "h\xc3\xa9", "\xe2\x9c\x93", "a\\b", "|",     ">",
        "---",  "...",   "a,b",    "0x_1",  "1__2",      "12e",          "-.",   "+.5e3",
    };
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        json_t *v = json_pack("{s:s,s:[s]}", "k", strs[i], "l", strs[i]);
        json_object_set_new(v, strs[i], json_integer(1)); /* as a key too */
        struct ck_buf out = CK_BUF_INIT(1 << 16);
        assert_int_equal(json_to_yaml(v, &out), 0);
        json_t *back = yaml_ok(out.data);
        if (!jsonpatch_equal(v, back)) {
            char *d = dump(back);
            fail_msg("string [%s] did not round trip:\n%s-> %s", strs[i], out.data, d);
        }
        json_decref(back);
        ck_buf_release(&out);
        json_decref(v);
    }
}

static void test_emit_limits(void **state)
{
    (void)state;
    json_t *v = json_pack("{s:s}", "key", "a fairly long value that will not fit");
    struct ck_buf small = CK_BUF_INIT(10);
    ck_buf_appends(&small, "pre");
    assert_int_equal(json_to_yaml(v, &small), -1);
    assert_string_equal(small.data, "pre"); /* nothing appended */
    ck_buf_release(&small);
    json_decref(v);

    json_t *deep = json_array(), *cur = deep;
    for (int i = 0; i < YAML_MAX_DEPTH + 5; i++) {
        json_t *n = json_array();
        json_array_append_new(cur, n);
        cur = n;
    }
    struct ck_buf out = CK_BUF_INIT(1 << 24);
    assert_int_equal(json_to_yaml(deep, &out), -1);
    assert_int_equal(out.len, 0);
    ck_buf_release(&out);
    json_decref(deep);
    assert_int_equal(json_to_yaml(NULL, &out), -1);
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *dups, *json;
    } cases[] = {
        {"a: 1\nb: 2\na: 3\n", "line 3: key \"a\" already set in map", "{\"a\":3,\"b\":2}"},
        {"a: 1\nb: 2\n", "", "{\"a\":1,\"b\":2}"},
        {"m:\n  x: 1\n  x: 2\np:\n  x: 3\n", "line 3: key \"x\" already set in map",
         "{\"m\":{\"x\":2},\"p\":{\"x\":3}}"},
        {"1: a\n'1': b\n0x1: c\n",
         "line 2: key \"1\" already set in map\nline 3: key \"1\" already set in map",
         "{\"1\":\"c\"}"},
        {"base: &b {x: 1}\nd:\n  <<: *b\n  x: 2\n", "", "{\"base\":{\"x\":1},\"d\":{\"x\":2}}"},
        {"- {a: 1, a: 2}\n- {a: 1}\n", "line 1: key \"a\" already set in map",
         "[{\"a\":2},{\"a\":1}]"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ck_buf d = CK_BUF_INIT(4096);
        json_t *v = NULL;
        struct ck_err err = CK_ERR_INIT;
        assert_int_equal(yaml_to_json_dups(cases[i].yaml, strlen(cases[i].yaml), &v, &d, &err), 0);
        if (strcmp(d.data ? d.data : "", cases[i].dups) != 0)
            fail_msg("case %zu: dups [%s] want [%s]", i, d.data ? d.data : "", cases[i].dups);
        char *got = dump(v);
        assert_string_equal(got, cases[i].json);
        free(got);
        json_decref(v);
        ck_buf_release(&d);
    }
    /* errors still release everything */
    struct ck_buf d = CK_BUF_INIT(4096);
    json_t *v = NULL;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(yaml_to_json_dups("a: {x: 1, x: 2, y: [", 20, &v, &d, &err), -1);
    ck_buf_release(&d);
}

/* Throughput on a ~1 MiB manifest list; checks the content, prints the speed. */
static void test_speed(void **state)
{
    (void)state;
    struct ck_buf y = CK_BUF_INIT(8 << 20);
    ck_buf_appends(&y, "items:\n");
    int n = 0;
    while (y.len < (1 << 20)) {
        ck_buf_appendf(&y,
                       "- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: pod-%d\n"
                       "    labels: {app: web, idx: \"%d\"}\n  spec:\n    containers:\n"
                       "    - name: c\n      image: nginx:1.25\n      args: [--port, \"80\"]\n"
                       "      resources: {limits: {cpu: 500m, memory: 128Mi}}\n",
                       n, n);
        n++;
    }
    json_t *v = NULL;
    struct ck_err err = CK_ERR_INIT;
    double t0 = now_ms();
    assert_int_equal(yaml_to_json(y.data, y.len, &v, &err), 0);
    double t1 = now_ms();
    json_t *items = json_object_get(v, "items");
    assert_int_equal(json_array_size(items), (size_t)n);
    json_t *last = json_array_get(items, (size_t)n - 1);
    char want_idx[16];
    snprintf(want_idx, sizeof(want_idx), "%d", n - 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(last, "metadata"), "labels"), "idx")),
                        want_idx);
    struct ck_buf out = CK_BUF_INIT(64 << 20);
    double t2 = now_ms();
    assert_int_equal(json_to_yaml(v, &out), 0);
    double t3 = now_ms();
    assert_true(out.len > y.len / 2);
    printf("yaml (CPU time): parse %.1f MiB/s (%zu bytes, %d pods in %.1f ms); emit %.1f MiB/s "
           "(%.1f ms)\n",
           (double)y.len / 1048576.0 / ((t1 - t0) / 1e3), y.len, n, t1 - t0,
           (double)out.len / 1048576.0 / ((t3 - t2) / 1e3), t3 - t2);
    ck_buf_release(&out);
    ck_buf_release(&y);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_to_json),   cmocka_unit_test(test_special_numbers),
        cmocka_unit_test(test_yaml_errors),    cmocka_unit_test(test_limits),
        cmocka_unit_test(test_json_to_yaml),   cmocka_unit_test(test_round_trip_strings),
        cmocka_unit_test(test_emit_limits),    cmocka_unit_test(test_speed),
        cmocka_unit_test(test_duplicate_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
