/* SPDX-License-Identifier: Apache-2.0 */
/* LimitRanger defaults and constraints (admission/limitranger.c) and ResourceQuota's usage
 * arithmetic (admission/quota.c), with upstream's messages. */
#include "apiserver/admission/admission.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static json_t *js(const char *s)
{
    json_error_t je;
    json_t *v = json_loads(s, 0, &je);
    if (!v)
        fail_msg("bad test JSON: %s", je.text);
    return v;
}

static const char *str_at(json_t *o, const char *a, const char *b, const char *c)
{
    return json_string_value(json_object_get(json_object_get(json_object_get(o, a), b), c));
}

static void test_limit_defaults(void **state)
{
    (void)state;
    json_t *ranges =
        js("[{\"spec\":{\"limits\":[{\"type\":\"Container\",\"default\":{\"cpu\":"
           "\"500m\",\"memory\":\"256Mi\"},\"defaultRequest\":{\"cpu\":\"100m\"}}]}}]");
    json_t *pod = js("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"a\"},"
                     "{\"name\":\"b\",\"resources\":{\"limits\":{\"cpu\":\"1\"}}}]}}");
    adm_limits_default(ranges, pod);
    json_t *cs = json_object_get(json_object_get(pod, "spec"), "containers");
    json_t *a = json_array_get(cs, 0), *b = json_array_get(cs, 1);
    assert_string_equal(str_at(a, "resources", "limits", "cpu"), "500m");
    assert_string_equal(str_at(a, "resources", "limits", "memory"), "256Mi");
    assert_string_equal(str_at(a, "resources", "requests", "cpu"), "100m");
    assert_string_equal(str_at(b, "resources", "limits", "cpu"), "1"); /* kept */
    assert_string_equal(str_at(b, "resources", "limits", "memory"), "256Mi");
    assert_string_equal(str_at(pod, "metadata", "annotations", "kubernetes.io/limit-ranger"),
                        "LimitRanger plugin set: cpu request for container a; cpu, memory limit "
                        "for container a; cpu request for container b; memory limit for "
                        "container b");
    json_decref(pod);
    json_decref(ranges);
}

static void test_limit_constraints(void **state)
{
    (void)state;
    char msg[1024];
    json_t *ranges = js("[{\"spec\":{\"limits\":[{\"type\":\"Container\",\"max\":{\"cpu\":\"1\"},"
                        "\"min\":{\"memory\":\"10Mi\"}}]}}]");
    json_t *ok = js("{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":{"
                    "\"cpu\":\"500m\"},\"requests\":{\"memory\":\"20Mi\"}}}]}}");
    assert_int_equal(adm_limits_check(ranges, ok, msg, sizeof(msg)), 0);
    json_t *big = js("{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":{"
                     "\"cpu\":\"2\"},\"requests\":{\"memory\":\"20Mi\"}}}]}}");
    assert_int_equal(adm_limits_check(ranges, big, msg, sizeof(msg)), -1);
    assert_string_equal(msg, "maximum cpu usage per Container is 1, but limit is 2");
    json_t *two = js("{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":{"
                     "\"cpu\":\"2\"},\"requests\":{\"memory\":\"1Mi\"}}}]}}");
    assert_int_equal(adm_limits_check(ranges, two, msg, sizeof(msg)), -1);
    assert_string_equal(msg, "[minimum memory usage per Container is 10Mi, but request is 1Mi, "
                             "maximum cpu usage per Container is 1, but limit is 2]");
    json_t *ratio = js("[{\"spec\":{\"limits\":[{\"type\":\"Pod\",\"maxLimitRequestRatio\":{"
                       "\"cpu\":\"2\"}}]}}]");
    json_t *r3 = js("{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":{"
                    "\"cpu\":\"300m\"},\"requests\":{\"cpu\":\"100m\"}}}]}}");
    assert_int_equal(adm_limits_check(ratio, r3, msg, sizeof(msg)), -1);
    assert_string_equal(msg, "cpu max limit to request ratio per Pod is 2, but provided ratio is "
                             "3.000000");
    json_decref(r3);
    json_decref(ratio);
    json_decref(two);
    json_decref(big);
    json_decref(ok);
    json_decref(ranges);
}

static void test_quota_usage_and_check(void **state)
{
    (void)state;
    json_t *pod = js("{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{"
                     "\"cpu\":\"250m\",\"memory\":\"64Mi\"},\"limits\":{\"cpu\":\"500m\"}}},{"
                     "\"name\":\"b\",\"resources\":{\"requests\":{\"cpu\":\"250m\"}}}]}}");
    json_t *u = adm_quota_pod_usage(pod);
    assert_string_equal(json_string_value(json_object_get(u, "pods")), "1");
    assert_string_equal(json_string_value(json_object_get(u, "requests.cpu")), "500m");
    assert_string_equal(json_string_value(json_object_get(u, "cpu")), "500m");
    assert_string_equal(json_string_value(json_object_get(u, "requests.memory")), "64Mi");
    assert_string_equal(json_string_value(json_object_get(u, "limits.cpu")), "500m");
    char msg[1024];
    json_t *hard = js("{\"pods\":\"1\",\"requests.cpu\":\"1\"}");
    json_t *used0 = js("{}");
    assert_int_equal(adm_quota_check("q", hard, used0, u, msg, sizeof(msg)), 0);
    json_t *used1 = js("{\"pods\":\"1\",\"requests.cpu\":\"600m\"}");
    assert_int_equal(adm_quota_check("q", hard, used1, u, msg, sizeof(msg)), -1);
    assert_string_equal(msg, "exceeded quota: q, requested: pods=1,requests.cpu=500m, used: "
                             "pods=1,requests.cpu=600m, limited: pods=1,requests.cpu=1");
    json_decref(used1);
    json_decref(used0);
    json_decref(hard);
    json_decref(u);
    json_decref(pod);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_defaults),
        cmocka_unit_test(test_limit_constraints),
        cmocka_unit_test(test_quota_usage_and_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
