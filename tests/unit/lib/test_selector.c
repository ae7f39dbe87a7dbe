/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for label and field selectors: grammar, canonical strings, upstream-shaped
 * errors, matching semantics (missing keys, integers), exact-match introspection, speed. */
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
#include "lib/selector.h"

#include <jansson.h>

/* ---- a tiny label set for matching ---- */
struct kvset {
    const char *kv[16]; /* key, value pairs, NULL-terminated */
};

static const char *lookup(void *ctx, const char *key, size_t *vlen)
{
    const struct kvset *s = ctx;
    for (size_t i = 0; s->kv[i]; i += 2)
        if (strcmp(s->kv[i], key) == 0) {
            *vlen = strlen(s->kv[i + 1]);
            return s->kv[i + 1];
        }
    return NULL;
}

static struct sel *parse_ok(enum sel_kind kind, const char *text)
{
    struct sel *s = NULL;
    struct ck_err err = CK_ERR_INIT;
    int rc = sel_parse(kind, text, &s, &err);
    if (rc != 0)
        fail_msg("parse of '%s' failed: %s", text, err.msg);
    assert_non_null(s);
    return s;
}

/* ---- canonical strings of valid label selectors ---- */
static const struct {
    const char *in, *canon;
    size_t nreqs;
} label_ok[] = {
    {"", "", 0},
    {"   ", "", 0},
    {"x=a", "x=a", 1},
    {"x==a", "x==a", 1},
    {"x!=a", "x!=a", 1},
    {"  x  =  a  ", "x=a", 1},
    {"x\t=\ra\n", "x=a", 1},
    {"x in (a,b)", "x in (a,b)", 1},
    {"x in (b,a,a)", "x in (a,b)", 1},
    {"x in(a)", "x in (a)", 1},
    {"x notin (a)", "x notin (a)", 1},
    {"x", "x", 1},
    {"!x", "!x", 1},
    {" ! x ", "!x", 1},
    {"x>1", "x>1", 1},
    {"x<100", "x<100", 1},
    {"b=1,a=2", "a=2,b=1", 2},
    {"x=", "x=", 1},
    {"x==", "x==", 1},
    {"x=,y", "x=,y", 2},
    {"x in ()", "x in ()", 1},
    {"x in (,a)", "x in (,a)", 1},
    {"x in (a,)", "x in (,a)", 1},
    {"x in (a,,b)", "x in (,a,b)", 1},
    {"in=a", "in=a", 1},
    {"notin", "notin", 1},
    {"x in (in,notin)", "x in (in,notin)", 1},
    {"example.com/app=web", "example.com/app=web", 1},
    {"a.b-c_d=e.f-g_h", "a.b-c_d=e.f-g_h", 1},
    {"z,y,x", "x,y,z", 3},
    {"x=a,!y,z in (1,2),w notin (3)", "w notin (3),x=a,!y,z in (1,2)", 4},
    {"k=v,k!=w", "k=v,k!=w", 2},
    {"x= ,z= ", "x=,z=", 2},
    {"\rx", "x", 1},
    {"0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
     "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)", 1},
    {"x notin (abc,def),bar,z in (),w", "bar,w,x notin (abc,def),z in ()", 4},
    {"notin=in", "notin=in", 1},
};

static void test_label_parse_ok(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(label_ok) / sizeof(label_ok[0]); i++) {
        struct sel *s = parse_ok(SEL_LABEL, label_ok[i].in);
        char *str = sel_to_string(s);
        if (strcmp(str, label_ok[i].canon) != 0)
            fail_msg("'%s': got '%s', want '%s'", label_ok[i].in, str, label_ok[i].canon);
        assert_int_equal(sel_nreqs(s), label_ok[i].nreqs);
        assert_int_equal(sel_empty(s), label_ok[i].nreqs == 0);
        /* the canonical form parses to itself */
        struct sel *again = parse_ok(SEL_LABEL, str);
        char *str2 = sel_to_string(again);
        assert_string_equal(str, str2);
        free(str2);
        sel_free(again);
        free(str);
        sel_free(s);
    }
    struct sel *s = parse_ok(SEL_LABEL, NULL);
    assert_true(sel_empty(s));
    sel_free(s);
}

#define KEY_REGEX "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define NAME_MSG                                                                                   \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "    \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "         \
    "validation is '" KEY_REGEX "')"
#define VALUE_MSG                                                                                  \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "    \
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "             \
    "'my_value',  or '12345', regex used for validation is '(" KEY_REGEX ")?')"
#define INT_MSG "for 'Gt', 'Lt' operators, the value must be an integer"
#define OPS "in, notin, =, ==, !=, gt, lt"

static const struct {
    const char *in, *msg;
} label_bad[] = {
    {"x=a,", "found '', expected: identifier after ','"},
    {"x=a, ", "found '', expected: identifier after ','"},
    {"x=a,,y", "found ',', expected: identifier after ','"},
    {",x", "found ',', expected: !, identifier, or 'end of string'"},
    {"=a", "found '=', expected: !, identifier, or 'end of string'"},
    {"(", "found '(', expected: !, identifier, or 'end of string'"},
    {"x in a", "unable to parse requirement: found 'a' expected: '('"},
    {"x in (a", "unable to parse requirement: found '', expected: ',' or ')'"},
    {"x in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'"},
    {"x in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"},
    {"x in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier"},
    {"x in", "unable to parse requirement: found '' expected: '('"},
    {"x y", "unable to parse requirement: found 'y', expected: " OPS},
    {"x!", "unable to parse requirement: found '!', expected: " OPS},
    {"x(", "unable to parse requirement: found '(', expected: " OPS},
    {"x=a b", "found 'b', expected: ',' or 'end of string'"},
    {"x=a=b", "found '=', expected: ',' or 'end of string'"},
    {"!x=a", "found '=', expected: ',' or 'end of string'"},
    {"!", "unable to parse requirement: found '', expected: identifier"},
    {"!=a", "found '!=', expected: !, identifier, or 'end of string'"},
    {"x=(a)", "unable to parse requirement: found '(', expected: identifier"},
    {"x==!", "unable to parse requirement: found '!', expected: identifier"},
    {"-x=a", "unable to parse requirement: <nil>: Invalid value: \"-x\": name part " NAME_MSG},
    {"x_=a", "unable to parse requirement: <nil>: Invalid value: \"x_\": name part " NAME_MSG},
    {"x=-a", "unable to parse requirement: values[0][x]: Invalid value: \"-a\": " VALUE_MSG},
    {"x in (ok,b_)", /* values are sorted before validation, as upstream's set is */
     "unable to parse requirement: values[0][x]: Invalid value: \"b_\": " VALUE_MSG},
    {"x>a", "unable to parse requirement: values[0]: Invalid value: \"a\": " INT_MSG},
    {"x<1.5", "unable to parse requirement: values[0]: Invalid value: \"1.5\": " INT_MSG},
    {"x>99999999999999999999",
     "unable to parse requirement: values[0]: Invalid value: \"99999999999999999999\": " INT_MSG},
    {"x>-1", "unable to parse requirement: values[0][x]: Invalid value: \"-1\": " VALUE_MSG},
    {"x>a_", "unable to parse requirement: [values[0]: Invalid value: \"a_\": " INT_MSG
             ", values[0][x]: Invalid value: \"a_\": " VALUE_MSG "]"},
    {"x>", "unable to parse requirement: values[0]: Invalid value: \"\": " INT_MSG},
    {"a/b/c",
     "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a valid label key " NAME_MSG
     " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"},
    {"/a", "unable to parse requirement: <nil>: Invalid value: \"/a\": prefix part must be "
           "non-empty"},
    {"a/", "unable to parse requirement: <nil>: Invalid value: \"a/\": name part must be "
           "non-empty; name part " NAME_MSG},
    {"Ex.com/a", "unable to parse requirement: <nil>: Invalid value: \"Ex.com/a\": prefix part a "
                 "lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                 "characters, '-' or '.', and must start and end with an alphanumeric character "
                 "(e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"},
    {"k=\x01", "unable to parse requirement: values[0][k]: Invalid value: \"\\x01\": " VALUE_MSG},
    {"k=\xc3\xa9",
     "unable to parse requirement: values[0][k]: Invalid value: \"\xc3\xa9\": " VALUE_MSG},
    {"k=a\"b", "unable to parse requirement: values[0][k]: Invalid value: \"a\\\"b\": " VALUE_MSG},
};

static void test_label_parse_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(label_bad) / sizeof(label_bad[0]); i++) {
        struct sel *s = (struct sel *)0x1;
        struct ck_err err = CK_ERR_INIT;
        int rc = sel_parse(SEL_LABEL, label_bad[i].in, &s, &err);
        if (rc == 0)
            fail_msg("'%s' parsed but should fail", label_bad[i].in);
        assert_null(s);
        assert_int_equal(err.reason, CK_R_BAD_REQUEST);
        assert_int_equal(err.code, 400);
        if (strcmp(err.msg, label_bad[i].msg) != 0)
            fail_msg("'%s':\n got: %s\nwant: %s", label_bad[i].in, err.msg, label_bad[i].msg);
    }
}

static void test_label_lengths(void **state)
{
    (void)state;
    char key[400], text[600];
    struct ck_err err = CK_ERR_INIT;
    struct sel *s = NULL;
    memset(key, 'k', 63);
    key[63] = 0;
    snprintf(text, sizeof(text), "%s=v", key);
    s = parse_ok(SEL_LABEL, text);
    sel_free(s);
    memset(key, 'k', 64);
    key[64] = 0;
    snprintf(text, sizeof(text), "%s=v", key);
    assert_int_equal(sel_parse(SEL_LABEL, text, &s, &err), -1);
    assert_non_null(strstr(err.msg, "name part must be no more than 63 characters"));
    /* 253-byte prefix is fine, 254 is not */
    memset(key, 'a', 253);
    snprintf(key + 253, sizeof(key) - 253, "/n");
    snprintf(text, sizeof(text), "%s", key);
    s = parse_ok(SEL_LABEL, text);
    sel_free(s);
    memset(key, 'a', 254);
    snprintf(key + 254, sizeof(key) - 254, "/n");
    assert_int_equal(sel_parse(SEL_LABEL, key, &s, &err), -1);
    assert_non_null(strstr(err.msg, "prefix part must be no more than 253 characters"));
    /* values: 63 ok, 64 not */
    char val[70];
    memset(val, 'v', 63);
    val[63] = 0;
    snprintf(text, sizeof(text), "k=%s", val);
    s = parse_ok(SEL_LABEL, text);
    sel_free(s);
    snprintf(text, sizeof(text), "k=%sv", val);
    assert_int_equal(sel_parse(SEL_LABEL, text, &s, &err), -1);
    assert_non_null(strstr(err.msg, "values[0][k]: Invalid value: \""));
    assert_non_null(strstr(err.msg, "\": must be no more than 63 characters"));
}

static void test_label_validators(void **state)
{
    (void)state;
    char why[2048];
    assert_true(sel_valid_label_key("app", 3, why, sizeof(why)));
    assert_true(sel_valid_label_key("k8s.io/app-x_y.z", 16, why, sizeof(why)));
    assert_false(sel_valid_label_key("", 0, why, sizeof(why)));
    assert_string_equal(why, "name part must be non-empty; name part " NAME_MSG);
    assert_false(sel_valid_label_key("a..b/x", 6, why, sizeof(why)));
    assert_non_null(strstr(why, "prefix part a lowercase RFC 1123 subdomain"));
    assert_true(sel_valid_label_value("", 0, NULL, 0));
    assert_true(sel_valid_label_value("A-1", 3, why, sizeof(why)));
    assert_false(sel_valid_label_value("a b", 3, why, sizeof(why)));
    assert_string_equal(why, VALUE_MSG);
}

/* ---- matching ---- */
static const struct kvset objs[] = {
    {{"app", "web", "tier", "fe", "n", "5", "e", "", NULL}},
    {{"app", "db", "n", "-3", NULL}},
    {{NULL}},
    {{"app", "web", "n", "x", "example.com/role", "edge", NULL}},
};

static const struct {
    const char *sel;
    const char *want; /* one char per object in objs: 1 = matches */
} label_match[] = {
    {"", "1111"},
    {"app=web", "1001"},
    {"app==web", "1001"},
    {"app!=web", "0110"},
    {"app in (db,web)", "1101"},
    {"app in (db)", "0100"},
    {"app notin (web)", "0110"},
    {"app notin (web,db)", "0010"},
    {"app", "1101"},
    {"!app", "0010"},
    {"missing!=x", "1111"},
    {"missing notin (x)", "1111"},
    {"missing", "0000"},
    {"n>4", "1000"},
    {"n>5", "0000"},
    {"n<6", "1100"},
    {"n<0", "0100"},
    {"missing>1", "0000"},
    {"app=web,tier=fe", "1000"},
    {"app=web,tier=be", "0000"},
    {"e=", "1000"},
    {"e", "1000"},
    {"e in ()", "1000"},
    {"tier=", "0000"},
    {"example.com/role=edge", "0001"},
    {"app=web,!tier", "0001"},
    /* long value lists (searched by bisection) */
    {"app in (a,b,c,d,e,f,g,h,i,j,k,web,z)", "1001"},
    {"app in (a,b,c,d,e,f,g,h,i,j,k,l,z)", "0000"},
    {"app in (a,b,c,d,e,f,g,h,i,j,k,db,z,zz,zzz)", "0100"},
    {"app notin (a,b,c,d,e,f,g,h,i,j,k,web,z)", "0110"},
    {"e in (a,b,c,d,e,f,g,h,i,j,k,web,z,)", "1000"},
};

static void test_label_match(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(label_match) / sizeof(label_match[0]); i++) {
        struct sel *s = parse_ok(SEL_LABEL, label_match[i].sel);
        for (size_t j = 0; j < sizeof(objs) / sizeof(objs[0]); j++) {
            bool want = label_match[i].want[j] == '1';
            bool got = sel_matches(s, lookup, (void *)&objs[j]);
            if (got != want)
                fail_msg("'%s' on object %zu: got %d want %d", label_match[i].sel, j, got, want);
        }
        sel_free(s);
    }
    assert_true(sel_matches(NULL, lookup, (void *)&objs[0]));
}

static void test_label_accessors(void **state)
{
    (void)state;
    struct sel *s = parse_ok(SEL_LABEL, "z in (b,a),!y,x>7,w");
    assert_int_equal(sel_nreqs(s), 4);
    assert_string_equal(sel_req_key(s, 0), "w");
    assert_int_equal(sel_req_op(s, 0), SEL_OP_EXISTS);
    assert_int_equal(sel_req_nvalues(s, 0), 0);
    assert_string_equal(sel_req_key(s, 1), "x");
    assert_int_equal(sel_req_op(s, 1), SEL_OP_GT);
    assert_string_equal(sel_req_value(s, 1, 0), "7");
    assert_int_equal(sel_req_op(s, 2), SEL_OP_NOTEXISTS);
    assert_int_equal(sel_req_op(s, 3), SEL_OP_IN);
    assert_int_equal(sel_req_nvalues(s, 3), 2);
    assert_string_equal(sel_req_value(s, 3, 0), "a");
    assert_string_equal(sel_req_value(s, 3, 1), "b");
    assert_null(sel_req_value(s, 3, 2));
    assert_null(sel_req_key(s, 4));
    assert_null(sel_required_value(s, "z"));
    sel_free(s);

    s = parse_ok(SEL_LABEL, "a=1,b in (2),c!=3,d==4,e in (5,6),f=");
    assert_string_equal(sel_required_value(s, "a"), "1");
    assert_string_equal(sel_required_value(s, "b"), "2");
    assert_null(sel_required_value(s, "c"));
    assert_string_equal(sel_required_value(s, "d"), "4");
    assert_null(sel_required_value(s, "e"));
    assert_string_equal(sel_required_value(s, "f"), "");
    assert_null(sel_required_value(s, "zz"));
    assert_int_equal(sel_req_op(s, 3), SEL_OP_EQ);
    sel_free(s);
}

/* ---- field selectors ---- */
static const struct {
    const char *in, *canon;
} field_ok[] = {
    {"", ""},
    {"a=b", "a=b"},
    {"a==b", "a=b"},
    {"a!=b", "a!=b"},
    {"b=1,a=2", "a=2,b=1"},
    {"a=b\\,c", "a=b\\,c"},
    {"a=b\\=c", "a=b\\=c"},
    {"a=b\\\\c", "a=b\\\\c"},
    {"a=b,,c=d,", "a=b,c=d"},
    {"spec.nodeName=", "spec.nodeName="},
    {"status.phase!=Succeeded,status.phase!=Failed",
     "status.phase!=Failed,status.phase!=Succeeded"},
    {"a b=c d", "a b=c d"},
    {"x=a||y\\=b", "x=a||y\\=b"},
    {"x=a\\=\\=b", "x=a\\=\\=b"},
    {"\xed\x95\xa8=\xec\x88\x98,\xeb\xaa\xa9=\xeb\xa1\x9d",
     "\xeb\xaa\xa9=\xeb\xa1\x9d,\xed\x95\xa8=\xec\x88\x98"},
    {"=v", "=v"},
};

static void test_field_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(field_ok) / sizeof(field_ok[0]); i++) {
        struct sel *s = parse_ok(SEL_FIELD, field_ok[i].in);
        char *str = sel_to_string(s);
        if (strcmp(str, field_ok[i].canon) != 0)
            fail_msg("'%s': got '%s', want '%s'", field_ok[i].in, str, field_ok[i].canon);
        free(str);
        sel_free(s);
    }
    struct sel *s = parse_ok(SEL_FIELD, "x=a\\,b\\=c\\\\d");
    assert_string_equal(sel_req_value(s, 0, 0), "a,b=c\\d");
    assert_string_equal(sel_req_key(s, 0), "x");
    sel_free(s);
}

static const struct {
    const char *in, *msg;
} field_bad[] = {
    {"abc", "invalid selector: 'abc'; can't understand 'abc'"},
    {"a=b,abc", "invalid selector: 'a=b,abc'; can't understand 'abc'"},
    {"a in (b)", "invalid selector: 'a in (b)'; can't understand 'a in (b)'"},
    {"a>1", "invalid selector: 'a>1'; can't understand 'a>1'"},
    {"a=b=c", "invalid field selector: unescaped character in value: 61"},
    {"x==a==b", "invalid field selector: unescaped character in value: 61"},
    {"x=a,b", "invalid selector: 'x=a,b'; can't understand 'b'"},
    {"x", "invalid selector: 'x'; can't understand 'x'"},
    {"k=\\a\\b\\", "invalid field selector: invalid escape sequence: \\a"},
    {"a=b\\x", "invalid field selector: invalid escape sequence: \\x"},
    {"a=b\\", "invalid field selector: invalid escape sequence: \\"},
    {"a=\\\xc3\xa9", "invalid field selector: invalid escape sequence: \\\xc3\xa9"},
};

static void test_field_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(field_bad) / sizeof(field_bad[0]); i++) {
        struct sel *s = NULL;
        struct ck_err err = CK_ERR_INIT;
        assert_int_equal(sel_parse(SEL_FIELD, field_bad[i].in, &s, &err), -1);
        assert_null(s);
        assert_int_equal(err.reason, CK_R_BAD_REQUEST);
        if (strcmp(err.msg, field_bad[i].msg) != 0)
            fail_msg("'%s':\n got: %s\nwant: %s", field_bad[i].in, err.msg, field_bad[i].msg);
    }
}

static void test_field_match(void **state)
{
    (void)state;
    struct kvset pod = {{"metadata.name", "p1", "spec.nodeName", "n1", "status.phase", "Running",
                         "a", "x,y", "complex", "=value\\,\\", NULL}};
    struct kvset pending = {{"metadata.name", "p2", "status.phase", "Pending", NULL}};
    static const struct {
        const char *sel;
        bool pod, pending;
    } cases[] = {
        {"metadata.name=p1", true, false},
        {"metadata.name==p2", false, true},
        {"spec.nodeName=", false, true}, /* a missing field reads as "" */
        {"spec.nodeName!=", true, false},
        {"spec.nodeName!=n1", false, true},
        {"status.phase!=Succeeded,status.phase!=Failed", true, true},
        {"status.phase=Running,metadata.name=p1", true, false},
        {"a=x\\,y", true, false},
        {"complex=\\=value\\\\\\,\\\\", true, false},
        {"", true, true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sel *s = parse_ok(SEL_FIELD, cases[i].sel);
        assert_int_equal(sel_matches(s, lookup, &pod), cases[i].pod);
        assert_int_equal(sel_matches(s, lookup, &pending), cases[i].pending);
        sel_free(s);
    }
    struct sel *s = parse_ok(SEL_FIELD, "b!=1,metadata.name=x,spec.nodeName==n");
    assert_string_equal(sel_required_value(s, "metadata.name"), "x");
    assert_string_equal(sel_required_value(s, "spec.nodeName"), "n");
    assert_null(sel_required_value(s, "b"));
    assert_int_equal(sel_req_op(s, 0), SEL_OP_NEQ);
    sel_free(s);
}

/* ---- speed: one selector over 100k label sets, no allocation per match ---- */
static void test_match_speed(void **state)
{
    (void)state;
    enum { N = 100000 };
    static struct kvset sets[N];
    static char vals[N][16];
    for (size_t i = 0; i < N; i++) {
        snprintf(vals[i], sizeof(vals[i]), "%zu", i % 10);
        struct kvset k = {{"app", i % 3 ? "web" : "db", "shard", vals[i], "tier", "fe", NULL}};
        sets[i] = k;
    }
    struct sel *s = parse_ok(SEL_LABEL, "app in (web,api),shard notin (0,1),tier,!gone,shard<9");
    struct timespec a, b;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    size_t hits = 0;
    for (size_t i = 0; i < N; i++)
        hits += sel_matches(s, lookup, &sets[i]);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    /* expected count computed independently */
    size_t want = 0;
    for (size_t i = 0; i < N; i++)
        want += (i % 3 != 0) && (i % 10 >= 2) && (i % 10 < 9);
    assert_int_equal(hits, want);
    double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    printf("selector (CPU time): 100000 matches of a 5-requirement selector in %.2f ms\n", ms);
    sel_free(s);
}

/* ---- long inputs stay near-linear and correctly ordered ---- */
static void test_long_selectors(void **state)
{
    (void)state;
    enum { N = 50000 };
    struct ck_buf b = CK_BUF_INIT(4 << 20);
    for (int i = N - 1; i >= 0; i--)
        ck_buf_appendf(&b, "%sk%05d=v", i == N - 1 ? "" : ",", i);
    struct timespec a, c;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    struct sel *s = parse_ok(SEL_LABEL, b.data);
    assert_int_equal(sel_nreqs(s), N);
    assert_string_equal(sel_req_key(s, 0), "k00000");
    assert_string_equal(sel_req_key(s, N - 1), "k49999");
    sel_free(s);
    s = parse_ok(SEL_FIELD, b.data);
    assert_int_equal(sel_nreqs(s), N);
    assert_string_equal(sel_req_key(s, 0), "k00000");
    sel_free(s);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
    double ms = (double)(c.tv_sec - a.tv_sec) * 1e3 + (double)(c.tv_nsec - a.tv_nsec) / 1e6;
    printf("selector (CPU time): two %d-requirement selectors parsed in %.1f ms\n", N, ms);
    ck_buf_release(&b);
    /* 50000 invalid values: the error is built in bounded time and size */
    ck_buf_appends(&b, "k in (");
    for (int i = 0; i < N; i++)
        ck_buf_appendf(&b, "%s-bad%d", i ? "," : "", i);
    ck_buf_appends(&b, ")");
    struct ck_err err = CK_ERR_INIT;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    assert_int_equal(sel_parse(SEL_LABEL, b.data, &s, &err), -1);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
    ms = (double)(c.tv_sec - a.tv_sec) * 1e3 + (double)(c.tv_nsec - a.tv_nsec) / 1e6;
    assert_non_null(
        strstr(err.msg, "unable to parse requirement: [values[0][k]: Invalid value: \"-bad0\""));
    printf("selector (CPU time): 50000 invalid values rejected in %.1f ms\n", ms);
    ck_buf_release(&b);
}

/* ---- structured selectors (metav1.LabelSelector, plain maps) ---- */
static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad JSON %s: %s", text, e.text);
    return v;
}

static void test_label_selector_json(void **state)
{
    (void)state;
    static const struct {
        const char *ls, *canon;
        const char *labels; /* object to match */
        bool match;
    } ok[] = {
        {"{\"matchLabels\":{\"b\":\"2\",\"a\":\"1\"}}", "a=1,b=2", "{\"a\":\"1\",\"b\":\"2\"}",
         true},
        {"{\"matchLabels\":{\"a\":\"1\"}}", "a=1", "{\"a\":\"2\"}", false},
        {"{}", "", "{}", true},
        {"{\"matchLabels\":{},\"matchExpressions\":[]}", "", "{\"x\":\"y\"}", true},
        {"{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"prod\","
         "\"dev\",\"dev\"]}]}",
         "env in (dev,dev,prod)", "{\"env\":\"dev\"}", true},
        {"{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"NotIn\",\"values\":[\"prod\"]}]}",
         "env notin (prod)", "{}", true},
        {"{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"Exists\"}]}", "env", "{}", false},
        {"{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"DoesNotExist\",\"values\":[]}]}",
         "!env", "{}", true},
        {"{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"tier\","
         "\"operator\":\"In\",\"values\":[\"fe\"]}]}",
         "app=web,tier in (fe)", "{\"app\":\"web\",\"tier\":\"fe\"}", true},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        json_t *ls = J(ok[i].ls), *labels = J(ok[i].labels);
        struct sel *s = NULL;
        struct ck_err err = CK_ERR_INIT;
        if (sel_from_label_selector(ls, &s, &err) != 0)
            fail_msg("%s: %s", ok[i].ls, err.msg);
        char *str = sel_to_string(s);
        assert_string_equal(str, ok[i].canon);
        assert_int_equal(sel_matches(s, sel_lookup_json, labels), ok[i].match);
        free(str);
        sel_free(s);
        json_decref(ls), json_decref(labels);
    }
    /* nil selector: matches nothing, not empty */
    struct sel *s = NULL;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(sel_from_label_selector(NULL, &s, &err), 0);
    assert_false(sel_empty(s));
    assert_false(sel_matches(s, sel_lookup_json, NULL));
    sel_free(s);
    json_t *null = json_null();
    assert_int_equal(sel_from_label_selector(null, &s, &err), 0);
    assert_false(sel_matches(s, sel_lookup_json, NULL));
    sel_free(s);

    static const struct {
        const char *ls, *msg;
    } bad[] = {
        {"{\"matchExpressions\":[{\"key\":\"k\",\"operator\":\"In\",\"values\":[]}]}",
         "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be "
         "empty"},
        {"{\"matchExpressions\":[{\"key\":\"k\",\"operator\":\"Exists\",\"values\":[\"a\"]}]}",
         "values: Invalid value: []string{\"a\"}: values set must be empty for exists and does "
         "not exist"},
        {"{\"matchExpressions\":[{\"key\":\"k\",\"operator\":\"Foo\"}]}",
         "\"Foo\" is not a valid label selector operator"},
        {"{\"matchExpressions\":[{\"key\":\"-k\",\"operator\":\"Exists\"}]}",
         "key: Invalid value: \"-k\": name part " NAME_MSG},
        {"{\"matchLabels\":{\"k\":\"-v\"}}", "values[0][k]: Invalid value: \"-v\": " VALUE_MSG},
        {"{\"matchLabels\":{\"k\":1}}", "matchLabels[k]: value must be a string"},
        {"{\"matchLabels\":[]}", "matchLabels must be an object and matchExpressions an array"},
        {"[]", "a label selector must be an object"},
        {"{\"matchExpressions\":[{\"operator\":\"In\"}]}",
         "matchExpressions[0].key: must be a string"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *ls = J(bad[i].ls);
        s = (struct sel *)0x1;
        ck_err_clear(&err);
        assert_int_equal(sel_from_label_selector(ls, &s, &err), -1);
        assert_null(s);
        assert_int_equal(err.reason, CK_R_BAD_REQUEST);
        if (strcmp(err.msg, bad[i].msg) != 0)
            fail_msg("%s:\n got: %s\nwant: %s", bad[i].ls, err.msg, bad[i].msg);
        json_decref(ls);
    }
}

static void test_selector_from_map(void **state)
{
    (void)state;
    json_t *m = J("{\"tier\":\"fe\",\"app\":\"web\"}");
    json_t *yes = J("{\"app\":\"web\",\"tier\":\"fe\",\"x\":\"y\"}"), *no = J("{\"app\":\"web\"}");
    struct sel *s = NULL;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(sel_from_map(m, &s, &err), 0);
    char *str = sel_to_string(s);
    assert_string_equal(str, "app=web,tier=fe");
    free(str);
    assert_true(sel_matches(s, sel_lookup_json, yes));
    assert_false(sel_matches(s, sel_lookup_json, no));
    assert_string_equal(sel_required_value(s, "app"), "web");
    sel_free(s);
    assert_int_equal(sel_from_map(NULL, &s, &err), 0);
    assert_true(sel_empty(s));
    assert_true(sel_matches(s, sel_lookup_json, no));
    sel_free(s);
    json_t *arr = J("[1]");
    assert_int_equal(sel_from_map(arr, &s, &err), -1);
    json_decref(arr), json_decref(m), json_decref(yes), json_decref(no);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_parse_ok),      cmocka_unit_test(test_label_parse_errors),
        cmocka_unit_test(test_label_lengths),       cmocka_unit_test(test_label_validators),
        cmocka_unit_test(test_label_match),         cmocka_unit_test(test_label_accessors),
        cmocka_unit_test(test_field_parse),         cmocka_unit_test(test_field_errors),
        cmocka_unit_test(test_field_match),         cmocka_unit_test(test_match_speed),
        cmocka_unit_test(test_label_selector_json), cmocka_unit_test(test_selector_from_map),
        cmocka_unit_test(test_long_selectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
