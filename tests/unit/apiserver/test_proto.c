/* SPDX-License-Identifier: Apache-2.0 */
/* Protobuf body decoding, on real bodies captured from kubectl 1.33 (tests/data/proto/, one
 * per typed `kubectl create` command), plus hand-built malformed inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/encoding/proto.h"

static json_t *decode_file(const char *name)
{
    const char *src = getenv("CKUBE_SRC");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/data/proto/%s", src ? src : ".", name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    json_t *o = NULL;
    struct ck_err e = CK_ERR_INIT;
    if (proto_decode(buf, n, &o, &e) < 0)
        fail_msg("%s: %s", name, e.msg);
    return o;
}

/* Dotted path with [i] indexes: "spec.template.spec.containers[0].image". */
static json_t *path_get(json_t *o, const char *path)
{
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s", path);
    json_t *cur = o;
    for (char *save = NULL, *tok = strtok_r(tmp, ".", &save); tok && cur;
         tok = strtok_r(NULL, ".", &save)) {
        char *br = strchr(tok, '[');
        if (br)
            *br = 0;
        cur = json_object_get(cur, tok);
        if (br)
            cur = json_array_get(cur, (size_t)atoi(br + 1));
    }
    return cur;
}

static const char *path_str(json_t *o, const char *path)
{
    return json_string_value(path_get(o, path));
}

static long long path_int(json_t *o, const char *path)
{
    json_t *v = path_get(o, path);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static void test_configmap_and_secret(void **state)
{
    (void)state;
    json_t *cm = decode_file("configmaps.pb");
    assert_string_equal(path_str(cm, "kind"), "ConfigMap");
    assert_string_equal(path_str(cm, "apiVersion"), "v1");
    assert_string_equal(path_str(cm, "metadata.name"), "cm1");
    assert_string_equal(path_str(cm, "data.a"), "1");
    assert_string_equal(path_str(cm, "data.empty"), ""); /* map values keep empty strings */
    assert_null(json_object_get(json_object_get(cm, "metadata"), "namespace")); /* "" omitted */
    json_decref(cm);
    json_t *s = decode_file("secrets.pb");
    assert_string_equal(path_str(s, "data.user"), "YWRtaW4="); /* bytes -> base64 */
    assert_string_equal(path_str(s, "data.pw"), "cEBzcw==");
    json_decref(s);
}

static void test_deployment(void **state)
{
    (void)state;
    json_t *d = decode_file("deployments.pb");
    assert_string_equal(path_str(d, "apiVersion"), "apps/v1");
    assert_int_equal(path_int(d, "spec.replicas"), 3);
    assert_string_equal(path_str(d, "spec.selector.matchLabels.app"), "web");
    assert_string_equal(path_str(d, "spec.template.metadata.labels.app"), "web");
    assert_string_equal(path_str(d, "spec.template.spec.containers[0].image"), "nginx:1.25");
    assert_string_equal(path_str(d, "spec.template.spec.containers[0].name"), "nginx");
    assert_int_equal(path_int(d, "spec.template.spec.containers[0].ports[0].containerPort"), 8080);
    /* Go's JSON for the same object: empty structs stay, zero scalars go */
    assert_true(json_is_object(json_object_get(json_object_get(d, "spec"), "strategy")));
    assert_null(json_object_get(json_object_get(d, "spec"), "paused"));
    assert_null(json_object_get(json_object_get(d, "metadata"), "creationTimestamp"));
    json_decref(d);
}

static void test_batch_service_policy(void **state)
{
    (void)state;
    json_t *j = decode_file("jobs.pb");
    assert_string_equal(path_str(j, "spec.template.spec.restartPolicy"), "Never");
    assert_string_equal(path_str(j, "spec.template.spec.containers[0].command[2]"), "echo hi");
    json_decref(j);
    json_t *cj = decode_file("cronjobs.pb");
    assert_string_equal(path_str(cj, "spec.schedule"), "*/5 * * * *");
    assert_string_equal(path_str(cj, "spec.jobTemplate.spec.template.spec.restartPolicy"),
                        "OnFailure");
    json_decref(cj);
    json_t *svc = decode_file("services.pb");
    assert_string_equal(path_str(svc, "spec.type"), "NodePort");
    assert_int_equal(path_int(svc, "spec.ports[0].port"), 80);
    assert_int_equal(path_int(svc, "spec.ports[0].targetPort"), 8080); /* IntOrString int */
    json_decref(svc);
    json_t *pdb = decode_file("poddisruptionbudgets.pb");
    assert_string_equal(path_str(pdb, "apiVersion"), "policy/v1");
    assert_int_equal(path_int(pdb, "spec.minAvailable"), 1);
    json_decref(pdb);
    json_t *q = decode_file("resourcequotas.pb");
    assert_string_equal(path_str(q, "spec.hard.pods"), "10"); /* Quantity -> string */
    assert_non_null(json_object_get(json_object_get(json_object_get(q, "spec"), "hard"),
                                    "requests.cpu"));
    json_decref(q);
    json_t *ns = decode_file("namespaces.pb");
    assert_string_equal(path_str(ns, "metadata.name"), "pbns");
    json_decref(ns);
    json_t *sa = decode_file("serviceaccounts.pb");
    assert_string_equal(path_str(sa, "kind"), "ServiceAccount");
    json_decref(sa);
}

static void expect_error(const void *buf, size_t n, enum ck_reason r)
{
    json_t *o = NULL;
    struct ck_err e = CK_ERR_INIT;
    assert_int_equal(proto_decode(buf, n, &o, &e), -1);
    assert_null(o);
    assert_int_equal(e.reason, r);
}

static void test_malformed(void **state)
{
    (void)state;
    expect_error("", 0, CK_R_BAD_REQUEST);
    expect_error("{\"kind\":\"x\"}", 12, CK_R_BAD_REQUEST);          /* no magic */
    expect_error("k8s\0\x0a\x05", 6, CK_R_BAD_REQUEST);              /* truncated typeMeta */
    expect_error("k8s\0\x0a\x02\x12\x00", 8, CK_R_BAD_REQUEST);      /* typeMeta without kind */
    /* kind without a schema here */
    static const char nokind[] = "k8s\0\x0a\x06\x12\x04Nope\x12\x00";
    expect_error(nokind, sizeof(nokind) - 1, CK_R_UNSUPPORTED_MEDIA);
    /* ConfigMap whose metadata length runs past the end */
    static const char trunc[] = "k8s\0\x0a\x0b\x12\x09"
                                "ConfigMap\x12\x04\x0a\x09\x0a\x01";
    expect_error(trunc, sizeof(trunc) - 1, CK_R_BAD_REQUEST);
    /* invalid UTF-8 in a string field */
    static const char utf[] = "k8s\0\x0a\x0b\x12\x09"
                              "ConfigMap\x12\x05\x0a\x03\x0a\x01\xff";
    expect_error(utf, sizeof(utf) - 1, CK_R_BAD_REQUEST);
    assert_true(proto_is_content_type("application/vnd.kubernetes.protobuf"));
    assert_true(proto_is_content_type("application/vnd.kubernetes.protobuf;stream=watch"));
    assert_false(proto_is_content_type("application/json"));
    assert_false(proto_is_content_type(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configmap_and_secret),
        cmocka_unit_test(test_deployment),
        cmocka_unit_test(test_batch_service_policy),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
