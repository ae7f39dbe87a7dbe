/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for node selectors and node affinity: tables from upstream's
 * component-helpers scheduling/corev1/nodeaffinity/nodeaffinity_test.go. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/affinity.h"

#include <jansson.h>

#include "k8s_test.h"

#define REQ(k, op, vals) "{\"key\":\"" k "\",\"operator\":\"" op "\",\"values\":" vals "}"
#define EXPR(...) "\"matchExpressions\":[" __VA_ARGS__ "]"
#define FIELDS(...) "\"matchFields\":[" __VA_ARGS__ "]"

/* cases from TestNodeSelectorMatch */
static void test_node_selector_match(void **state)
{
    (void)state;
    static const struct {
        const char *name, *selector, *node;
        bool invalid, want;
    } table[] = {
        {"nil node", "{\"nodeSelectorTerms\":[{" EXPR(REQ("a", "Exists", "[]")) "}]}", NULL, false,
         false},
        {"invalid field selector and label selector",
         "{\"nodeSelectorTerms\":[{" FIELDS(REQ(
             "metadata.name", "In",
             "[\"host_1\",\"host_2\"]")) "},"
                                         "{" EXPR(REQ("label_1", "In", "[\"label_1_val\"]")) "," FIELDS(
                                             REQ("metadata.name", "In",
                                                 "[\"host_1\"]")) "},"
                                                                  "{" EXPR(REQ(
                                                                      "invalid key", "In",
                                                                      "[\"label_value\"]")) "}]}",
         "{\"metadata\":{\"name\":\"host_1\"}}", true, false},
        {"node matches field selector, but not labels",
         "{\"nodeSelectorTerms\":[{" EXPR(REQ("label_1", "In", "[\"label_1_val\"]")) "," FIELDS(
             REQ("metadata.name", "In", "[\"host_1\"]")) "}]}",
         "{\"metadata\":{\"name\":\"host_1\"}}", false, false},
        {"node matches field selector and label selector",
         "{\"nodeSelectorTerms\":[{" EXPR(REQ("label_1", "In", "[\"label_1_val\"]")) "," FIELDS(
             REQ("metadata.name", "In", "[\"host_1\"]")) "}]}",
         "{\"metadata\":{\"name\":\"host_1\",\"labels\":{\"label_1\":\"label_1_val\"}}}", false,
         true},
        {"second term matches",
         "{\"nodeSelectorTerms\":[{" EXPR(REQ("label_1", "In", "[\"label_1_val\"]")) "},{" FIELDS(
             REQ("metadata.name", "In", "[\"host_1\"]")) "}]}",
         "{\"metadata\":{\"name\":\"host_1\"}}", false, true},
        /* a node without a name skips matchFields */
        {"nameless node skips matchFields",
         "{\"nodeSelectorTerms\":[{" FIELDS(REQ("metadata.name", "In", "[\"host_1\"]")) "}]}",
         "{\"metadata\":{}}", false, true},
        {"NotIn on the name",
         "{\"nodeSelectorTerms\":[{" FIELDS(REQ("metadata.name", "NotIn", "[\"host_1\"]")) "}]}",
         "{\"metadata\":{\"name\":\"host_2\"}}", false, true},
        {"other field reads empty",
         "{\"nodeSelectorTerms\":[{" FIELDS(REQ("spec.foo", "In", "[\"x\"]")) "}]}",
         "{\"metadata\":{\"name\":\"host_2\"}}", false, false},
        {"Exists on a field is invalid",
         "{\"nodeSelectorTerms\":[{" FIELDS(REQ("metadata.name", "Exists", "[]")) "}]}",
         "{\"metadata\":{\"name\":\"host_2\"}}", true, false},
    };
    for (size_t i = 0; i < N(table); i++) {
        json_t *sel = J(table[i].selector), *node = table[i].node ? J(table[i].node) : NULL;
        bool invalid = false;
        if (k8s_node_selector_match(sel, node, &invalid) != table[i].want)
            fail_msg("[%s] want %d", table[i].name, table[i].want);
        if (invalid != table[i].invalid)
            fail_msg("[%s] invalid=%d", table[i].name, invalid);
        json_decref(sel);
        json_decref(node);
    }
}

/* cases from TestPreferredSchedulingTermsScore */
static void test_preferred_score(void **state)
{
    (void)state;
    static const struct {
        const char *name, *terms, *node;
        bool invalid;
        int64_t want;
    } table[] = {
        {"invalid field selector and label selector",
         "[{\"weight\":1,\"preference\":{" FIELDS(REQ(
             "metadata.name", "In",
             "[\"host_1\",\"host_2\"]")) "}},"
                                         "{\"weight\":1,\"preference\":"
                                         "{" EXPR(REQ("label_1", "In", "[\"label_1_val\"]")) "," FIELDS(
                                             REQ("metadata.name", "In",
                                                 "[\"host_1\"]")) "}},"
                                                                  "{\"weight"
                                                                  "\":1,"
                                                                  "\"prefere"
                                                                  "nce\":"
                                                                  "{" EXPR(REQ("inval"
                                                                               "id "
                                                                               "key",
                                                                               "In",
                                                                               "[\"la"
                                                                               "bel_"
                                                                               "value"
                                                                               "\"]")) "}}]",
         "{\"metadata\":{\"name\":\"host_1\",\"labels\":{\"label_1\":\"label_1_val\"}}}", true, 1},
        {"invalid field selector but no weight, error not reported",
         "[{\"weight\":0,\"preference\":{" FIELDS(
             REQ("metadata.name", "In", "[\"host_1\",\"host_2\"]")) "}}]",
         "{\"metadata\":{\"name\":\"host_1\"}}", false, 0},
        {"first and third term match",
         "[{\"weight\":5,\"preference\":{" FIELDS(
             REQ("metadata.name", "In",
                 "[\"host_1\"]")) "}},"
                                  "{\"weight\":7,\"preference\":{" EXPR(REQ(
                                      "unknown_label", "In",
                                      "[\"unknown_label_val\"]")) "}},"
                                                                  "{\"weight\":11,\"preference\":"
                                                                  "{" EXPR(REQ(
                                                                      "label_1", "In",
                                                                      "[\"label_1_val\"]")) "}}]",
         "{\"metadata\":{\"name\":\"host_1\",\"labels\":{\"label_1\":\"label_1_val\"}}}", false,
         16},
    };
    for (size_t i = 0; i < N(table); i++) {
        json_t *terms = J(table[i].terms), *node = J(table[i].node);
        bool invalid = false;
        int64_t s = k8s_preferred_terms_score(terms, node, &invalid);
        if (invalid != table[i].invalid)
            fail_msg("[%s] invalid=%d", table[i].name, invalid);
        if (s != table[i].want)
            fail_msg("[%s] score %lld, want %lld", table[i].name, (long long)s,
                     (long long)table[i].want);
        json_decref(terms);
        json_decref(node);
    }
}

/* cases from TestNodeSelectorRequirementsAsSelector and labels.NewRequirement's checks */
static void test_requirements(void **state)
{
    (void)state;
    static const struct {
        const char *req, *labels;
        int want;
    } table[] = {
        {REQ("foo", "In", "[\"bar\",\"baz\"]"), "{\"foo\":\"baz\"}", 1},
        {REQ("foo", "In", "[\"bar\",\"baz\"]"), "{\"foo\":\"qux\"}", 0},
        {REQ("foo", "Exists", "[\"bar\",\"baz\"]"), "{\"foo\":\"bar\"}", -1},
        {REQ("foo", "Gt", "[\"1\"]"), "{\"foo\":\"2\"}", 1},
        {REQ("foo", "Gt", "[\"1\"]"), "{\"foo\":\"1\"}", 0},
        {REQ("bar", "Lt", "[\"7\"]"), "{\"bar\":\"6\"}", 1},
        {REQ("bar", "Lt", "[\"7\"]"), "{}", 0},
        {REQ("baz", "invalid", "[\"5\"]"), "{\"baz\":\"5\"}", -1},
        {REQ("foo", "In", "[]"), "{\"foo\":\"\"}", -1},
        {REQ("foo", "NotIn", "[\"a\"]"), "{}", 1},
        {REQ("foo", "DoesNotExist", "[]"), "{}", 1},
        {REQ("foo", "DoesNotExist", "[]"), "{\"foo\":\"\"}", 0},
        {REQ("foo", "Gt", "[\"1\",\"2\"]"), "{\"foo\":\"5\"}", -1},
        {REQ("foo", "Gt", "[\"x\"]"), "{\"foo\":\"5\"}", -1},
        {REQ("foo", "Gt", "[\"1\"]"), "{\"foo\":\"x\"}", 0},
        /* "-1" is not a valid label value, so a negative Gt/Lt bound is always invalid */
        {REQ("foo", "Gt", "[\"-1\"]"), "{\"foo\":\"0\"}", -1},
        {REQ("foo", "Gt", "[\"1\"]"), "{\"foo\":\"+5\"}", 1},
        {REQ("foo", "In", "[\"bad value!\"]"), "{\"foo\":\"x\"}", -1},
        {REQ("foo", "In", "[1]"), "{\"foo\":\"1\"}", -1},
    };
    for (size_t i = 0; i < N(table); i++) {
        json_t *req = J(table[i].req), *labels = J(table[i].labels);
        int r = k8s_node_selector_requirement_match(req, labels);
        if (r != table[i].want)
            fail_msg("%s on %s: %d, want %d", table[i].req, table[i].labels, r, table[i].want);
        json_decref(req);
        json_decref(labels);
    }
}

#define AFF(terms)                                                                                 \
    "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"          \
    "{\"nodeSelectorTerms\":" terms "}}}"

/* cases from TestPodMatchesNodeSelectorAndAffinityTerms */
static void test_pod_matches_node(void **state)
{
    (void)state;
    static const struct {
        const char *name, *spec, *labels, *node_name;
        bool want;
    } table[] = {
        {"no selector", "{}", NULL, "", true},
        {"missing labels", "{\"nodeSelector\":{\"foo\":\"bar\"}}", NULL, "", false},
        {"same labels", "{\"nodeSelector\":{\"foo\":\"bar\"}}", "{\"foo\":\"bar\"}", "", true},
        {"node labels are superset", "{\"nodeSelector\":{\"foo\":\"bar\"}}",
         "{\"foo\":\"bar\",\"baz\":\"blah\"}", "", true},
        {"node labels are subset", "{\"nodeSelector\":{\"foo\":\"bar\",\"baz\":\"blah\"}}",
         "{\"foo\":\"bar\"}", "", false},
        {"In matches", "{" AFF("[{" EXPR(REQ("foo", "In", "[\"bar\",\"value2\"]")) "}]") "}",
         "{\"foo\":\"bar\"}", "", true},
        {"Gt matches", "{" AFF("[{" EXPR(REQ("kernel-version", "Gt", "[\"0204\"]")) "}]") "}",
         "{\"kernel-version\":\"0206\"}", "", true},
        {"NotIn matches",
         "{" AFF("[{" EXPR(REQ("mem-type", "NotIn", "[\"DDR\",\"DDR2\"]")) "}]") "}",
         "{\"mem-type\":\"DDR3\"}", "", true},
        {"Exists matches", "{" AFF("[{" EXPR("{\"key\":\"GPU\",\"operator\":\"Exists\"}") "}]") "}",
         "{\"GPU\":\"NVIDIA-GRID-K1\"}", "", true},
        {"affinity does not match labels",
         "{" AFF("[{" EXPR(REQ("foo", "In", "[\"value1\",\"value2\"]")) "}]") "}",
         "{\"foo\":\"bar\"}", "", false},
        {"nil terms", "{" AFF("null") "}", "{\"foo\":\"bar\"}", "", false},
        {"empty terms", "{" AFF("[]") "}", "{\"foo\":\"bar\"}", "", false},
        {"empty matchExpressions", "{" AFF("[{" EXPR() "}]") "}", "{\"foo\":\"bar\"}", "", false},
        {"no affinity", "{}", "{\"foo\":\"bar\"}", "", true},
        {"affinity without a node selector",
         "{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":null}"
         "}}",
         "{\"foo\":\"bar\"}", "", true},
        {"ANDed expressions match",
         "{" AFF("[{" EXPR("{\"key\":\"GPU\",\"operator\":\"Exists\"}," REQ(
             "GPU", "NotIn", "[\"AMD\",\"INTER\"]")) "}]") "}",
         "{\"GPU\":\"NVIDIA-GRID-K1\"}", "", true},
        {"ANDed expressions do not match",
         "{" AFF("[{" EXPR("{\"key\":\"GPU\",\"operator\":\"Exists\"}," REQ(
             "GPU", "In", "[\"AMD\",\"INTER\"]")) "}]") "}",
         "{\"GPU\":\"NVIDIA-GRID-K1\"}", "", false},
        {"ORed terms",
         "{" AFF("[{" EXPR(REQ("foo", "In", "[\"bar\",\"value2\"]")) "},{" EXPR(
             REQ("diffkey", "In", "[\"wrong\",\"value2\"]")) "}]") "}",
         "{\"foo\":\"bar\"}", "", true},
        {"affinity and nodeSelector both satisfied",
         "{\"nodeSelector\":{\"foo\":\"bar\"}," AFF(
             "[{" EXPR("{\"key\":\"foo\",\"operator\":\"Exists\"}") "}]") "}",
         "{\"foo\":\"bar\"}", "", true},
        {"affinity matches but nodeSelector does not",
         "{\"nodeSelector\":{\"foo\":\"bar\"}," AFF(
             "[{" EXPR("{\"key\":\"foo\",\"operator\":\"Exists\"}") "}]") "}",
         "{\"foo\":\"barrrrrr\"}", "", false},
        {"invalid value in affinity term",
         "{" AFF("[{" EXPR(REQ("foo", "NotIn", "[\"invalid value: ___@#$%^\"]")) "}]") "}",
         "{\"foo\":\"bar\"}", "", false},
        {"matchFields In matches",
         "{" AFF("[{" FIELDS(REQ("metadata.name", "In", "[\"node_1\"]")) "}]") "}", NULL, "node_1",
         true},
        {"matchFields In does not match",
         "{" AFF("[{" FIELDS(REQ("metadata.name", "In", "[\"node_1\"]")) "}]") "}", NULL, "node_2",
         false},
        {"two terms: fields miss, expressions match",
         "{" AFF("[{" FIELDS(REQ("metadata.name", "In", "[\"node_1\"]")) "},{" EXPR(
             REQ("foo", "In", "[\"bar\"]")) "}]") "}",
         "{\"foo\":\"bar\"}", "node_2", true},
        {"one term: fields miss, expressions match",
         "{" AFF("[{" FIELDS(REQ("metadata.name", "In", "[\"node_1\"]")) "," EXPR(
             REQ("foo", "In", "[\"bar\"]")) "}]") "}",
         "{\"foo\":\"bar\"}", "node_2", false},
        {"one term: both match",
         "{" AFF("[{" FIELDS(REQ("metadata.name", "In", "[\"node_1\"]")) "," EXPR(
             REQ("foo", "In", "[\"bar\"]")) "}]") "}",
         "{\"foo\":\"bar\"}", "node_1", true},
        {"two terms: neither matches",
         "{" AFF("[{" FIELDS(REQ("metadata.name", "In", "[\"node_1\"]")) "},{" EXPR(
             REQ("foo", "In", "[\"not-match-to-bar\"]")) "}]") "}",
         "{\"foo\":\"bar\"}", "node_2", false},
    };
    for (size_t i = 0; i < N(table); i++) {
        json_t *pod = json_pack("{s:o}", "spec", J(table[i].spec));
        json_t *md = json_pack("{s:s}", "name", table[i].node_name);
        if (table[i].labels)
            json_object_set_new(md, "labels", J(table[i].labels));
        json_t *node = json_pack("{s:o}", "metadata", md);
        if (k8s_pod_matches_node(pod, node, NULL) != table[i].want)
            fail_msg("[%s] want %d", table[i].name, table[i].want);
        json_decref(pod);
        json_decref(node);
    }
}

static void test_pod_preferred_score(void **state)
{
    (void)state;
    json_t *pod =
        J("{\"spec\":{\"affinity\":{\"nodeAffinity\":{\"preferredDuringSchedulingIgnored"
          "DuringExecution\":[{\"weight\":3,\"preference\":{" EXPR(REQ(
              "zone", "In", "[\"a\"]")) "}},"
                                        "{\"weight\":4,\"preference\":{" EXPR(
                                            "{\"key\":\"ssd\",\"operator\":\"Exists\"}") "}}]}}}}");
    json_t *n1 = J("{\"metadata\":{\"name\":\"n1\",\"labels\":{\"zone\":\"a\",\"ssd\":\"1\"}}}");
    json_t *n2 = J("{\"metadata\":{\"name\":\"n2\",\"labels\":{\"zone\":\"b\"}}}");
    bool invalid = false;
    assert_int_equal(k8s_pod_preferred_score(pod, n1, &invalid), 7);
    assert_int_equal(k8s_pod_preferred_score(pod, n2, &invalid), 0);
    assert_false(invalid);
    json_decref(pod);
    json_decref(n1);
    json_decref(n2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_selector_match), cmocka_unit_test(test_preferred_score),
        cmocka_unit_test(test_requirements),        cmocka_unit_test(test_pod_matches_node),
        cmocka_unit_test(test_pod_preferred_score),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
