/* SPDX-License-Identifier: Apache-2.0 */
/* ControllerRevisions (controller_history.go): the template patch, FNV-32 hashing with the
 * probe as decimal text and SafeEncodeString, names cut to 223 bytes, NewControllerRevision's
 * labels and owner, EqualRevision, SortControllerRevisions, nextRevision and truncateHistory's
 * choice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/history.h"
#include "k8s/pod.h"
#include "k8s/util.h"

#include "ctrl_test.h"

static void test_patch(void **state)
{
    (void)state;
    json_t *set = J("{\"metadata\":{\"name\":\"web\"},\"spec\":{\"replicas\":3,\"template\":"
                    "{\"metadata\":{\"labels\":{\"app\":\"a\"}},\"spec\":{\"containers\":"
                    "[{\"name\":\"c\",\"image\":\"i<1>&\"}]}}}}");
    json_t *p = hist_template_patch(set);
    char *text = hist_data_text(p);
    assert_string_equal(text, "{\"spec\":{\"template\":{\"$patch\":\"replace\",\"metadata\":{"
                              "\"labels\":{\"app\":\"a\"}},\"spec\":{\"containers\":[{\"image\":"
                              "\"i\\u003c1\\u003e\\u0026\",\"name\":\"c\"}]}}}}");
    /* replicas is not part of the revision */
    assert_null(k8s_jpath(p, "spec.replicas"));
    free(text);
    json_decref(p);
    json_decref(set);
}

/* FNV-1 32 of the bytes, then of the probe's decimal text; SafeEncodeString of the sum. */
static uint32_t fnv1(const char *s, uint32_t h)
{
    for (; *s; s++)
        h = (h * 16777619u) ^ (uint8_t)*s;
    return h;
}

static void encode(uint32_t h, char out[16])
{
    static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
    char dec[16];
    snprintf(dec, sizeof(dec), "%u", h);
    size_t i;
    for (i = 0; dec[i]; i++)
        out[i] = alnum[(unsigned char)dec[i] % 27];
    out[i] = 0;
}

static void test_hash(void **state)
{
    (void)state;
    json_t *d = J("{\"a\":1}");
    char h[16], want[16];
    hist_hash(d, -1, h);
    encode(fnv1("{\"a\":1}", 2166136261u), want);
    assert_string_equal(h, want);
    /* FNV-1 of the empty input is the offset basis: 2166136261 */
    assert_int_equal(fnv1("", 2166136261u), 2166136261u);
    hist_hash(d, 0, h);
    encode(fnv1("0", fnv1("{\"a\":1}", 2166136261u)), want);
    assert_string_equal(h, want);
    char h2[16];
    hist_hash(d, 1, h2);
    assert_string_not_equal(h, h2);
    for (const char *p = h2; *p; p++) /* only safe characters: no vowels, no 0/1/3 */
        assert_non_null(strchr("bcdfghjklmnpqrstvwxz2456789", *p));
    json_decref(d);
}

static void test_name(void **state)
{
    (void)state;
    char *n = hist_name("web", "abc");
    assert_string_equal(n, "web-abc");
    free(n);
    char longp[300];
    memset(longp, 'x', 299);
    longp[299] = 0;
    n = hist_name(longp, "h");
    assert_int_equal(strlen(n), 223 + 2);
    free(n);
}

static void test_new(void **state)
{
    (void)state;
    json_t *set = J("{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\",\"uid\":\"u1\","
                    "\"annotations\":{\"kubernetes.io/change-cause\":\"x\"}}}");
    json_t *data = J("{\"spec\":{\"template\":{\"$patch\":\"replace\"}}}");
    json_t *labels = J("{\"app\":\"a\"}");
    json_t *r = hist_new(set, "apps/v1", "StatefulSet", labels, data, 3, 0);
    char h[16];
    hist_hash(data, 0, h);
    char want[64];
    snprintf(want, sizeof(want), "web-%s", h);
    assert_string_equal(k8s_obj_name(r), want);
    assert_string_equal(k8s_obj_label(r, HIST_HASH_LABEL), h);
    assert_string_equal(k8s_obj_label(r, "app"), "a");
    assert_string_equal(k8s_obj_annotation(r, "kubernetes.io/change-cause"), "x");
    assert_int_equal(json_integer_value(json_object_get(r, "revision")), 3);
    assert_true(k8s_obj_is_controlled_by(r, "u1"));
    /* a different collision count renames it */
    json_t *r2 = hist_new(set, "apps/v1", "StatefulSet", labels, data, 3, 1);
    assert_string_not_equal(k8s_obj_name(r), k8s_obj_name(r2));
    assert_true(hist_equal(r, r));
    /* the hash labels differ but do not parse as numbers: data decides */
    assert_true(hist_equal(r, r2));
    json_t *other = J("{\"spec\":{\"template\":{\"spec\":{}}}}");
    json_t *r3 = hist_new(set, "apps/v1", "StatefulSet", labels, other, 3, 0);
    assert_false(hist_equal(r, r3));
    assert_false(hist_equal(r, NULL));
    assert_true(hist_equal(NULL, NULL));
    json_t *n1 = J("{\"metadata\":{\"labels\":{\"controller.kubernetes.io/hash\":\"12\"}},"
                   "\"data\":{\"a\":1}}");
    json_t *n2 = J("{\"metadata\":{\"labels\":{\"controller.kubernetes.io/hash\":\"13\"}},"
                   "\"data\":{\"a\":1}}");
    assert_false(hist_equal(n1, n2)); /* numeric hashes that differ */
    json_decref(n1);
    json_decref(n2);
    json_decref(r);
    json_decref(r2);
    json_decref(r3);
    json_decref(other);
    json_decref(set);
    json_decref(data);
    json_decref(labels);
}

static json_t *rev(const char *name, int r, const char *ts)
{
    return json_pack("{s:{s:s,s:s},s:i}", "metadata", "name", name, "creationTimestamp", ts,
                     "revision", r);
}

static void test_sort_next_truncate(void **state)
{
    (void)state;
    json_t *revs = json_array();
    json_array_append_new(revs, rev("c", 3, "2024-01-01T00:00:00Z"));
    json_array_append_new(revs, rev("b", 1, "2024-01-02T00:00:00Z"));
    json_array_append_new(revs, rev("a", 1, "2024-01-02T00:00:00Z"));
    json_array_append_new(revs, rev("z", 1, "2024-01-01T00:00:00Z"));
    json_array_append_new(revs, rev("d", 2, "2024-01-01T00:00:00Z"));
    hist_sort(revs);
    const char *order[] = {"z", "a", "b", "d", "c"};
    for (size_t i = 0; i < N(order); i++)
        assert_string_equal(k8s_obj_name(json_array_get(revs, i)), order[i]);
    assert_int_equal(hist_next_revision(revs), 4);
    json_t *empty = json_array();
    assert_int_equal(hist_next_revision(empty), 1);
    json_decref(empty);
    /* live: c (update) and a (a pod's); of z, b, d keep the newest 1 -> delete z, b */
    const char *live[] = {"c", "a", "", NULL};
    json_t *del = hist_to_truncate(revs, live, 1);
    assert_int_equal(json_array_size(del), 2);
    assert_string_equal(k8s_obj_name(json_array_get(del, 0)), "z");
    assert_string_equal(k8s_obj_name(json_array_get(del, 1)), "b");
    json_decref(del);
    del = hist_to_truncate(revs, live, 10);
    assert_int_equal(json_array_size(del), 0);
    json_decref(del);
    del = hist_to_truncate(revs, live, 0);
    assert_int_equal(json_array_size(del), 3);
    json_decref(del);
    json_decref(revs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patch),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_name),
        cmocka_unit_test(test_new),
        cmocka_unit_test(test_sort_next_truncate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
