/* SPDX-License-Identifier: Apache-2.0 */
/* Static pod manifests: YAML and JSON, upstream's defaults (name-<node>, namespace, nodeName,
 * config.hash = uid, config.source, the NoExecute toleration, phase Pending), the uid as a
 * stable hash of content, node and file, bad manifests refused, and the mirror pod. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "agent/static.h"
#include "k8s/util.h"

static const char *yaml = "apiVersion: v1\n"
                          "kind: Pod\n"
                          "metadata:\n"
                          "  name: web\n"
                          "  labels: {app: web}\n"
                          "spec:\n"
                          "  containers:\n"
                          "  - name: c\n"
                          "    image: busybox\n";

static json_t *parse(const char *text, const char *path, const char *node)
{
    struct ck_err err = CK_ERR_INIT;
    json_t *p = ag_static_parse(text, strlen(text), path, node, "2026-01-01T00:00:00Z", &err);
    ck_err_clear(&err);
    return p;
}

static void test_defaults(void **state)
{
    (void)state;
    json_t *p = parse(yaml, "/etc/m/web.yaml", "node1");
    assert_non_null(p);
    assert_string_equal(k8s_jpath_str(p, "metadata.name"), "web-node1");
    assert_string_equal(k8s_jpath_str(p, "metadata.namespace"), "default");
    assert_string_equal(k8s_jpath_str(p, "spec.nodeName"), "node1");
    const char *uid = k8s_jpath_str(p, "metadata.uid");
    assert_int_equal(strlen(uid), 32);
    json_t *ann = k8s_jpath(p, "metadata.annotations");
    assert_string_equal(k8s_jstr(ann, AG_CONFIG_HASH), uid);
    assert_string_equal(k8s_jstr(ann, AG_CONFIG_SOURCE), "file");
    assert_string_equal(k8s_jstr(ann, AG_CONFIG_SEEN), "2026-01-01T00:00:00Z");
    json_t *tol = k8s_jpath(p, "spec.tolerations");
    assert_int_equal(json_array_size(tol), 1);
    assert_string_equal(k8s_jstr(json_array_get(tol, 0), "operator"), "Exists");
    assert_string_equal(k8s_jstr(json_array_get(tol, 0), "effect"), "NoExecute");
    assert_string_equal(k8s_jpath_str(p, "status.phase"), "Pending");
    assert_string_equal(k8s_jpath_str(p, "metadata.labels.app"), "web");
    json_decref(p);
}

static void test_hash(void **state)
{
    (void)state;
    json_t *a = parse(yaml, "/etc/m/web.yaml", "node1");
    json_t *same = parse(yaml, "/etc/m/web.yaml", "node1");
    json_t *other_node = parse(yaml, "/etc/m/web.yaml", "node2");
    json_t *other_file = parse(yaml, "/etc/m/web2.yaml", "node1");
    const char *json = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\","
                       "\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
                       "\"image\":\"busybox\"}]}}";
    json_t *as_json = parse(json, "/etc/m/web.yaml", "node1");
    json_t *changed = parse("apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {app: web}}\n"
                            "spec: {containers: [{name: c, image: busybox:2}]}\n",
                            "/etc/m/web.yaml", "node1");
    assert_non_null(a);
    assert_non_null(as_json);
    const char *u = k8s_jpath_str(a, "metadata.uid");
    assert_string_equal(u, k8s_jpath_str(same, "metadata.uid"));
    assert_string_equal(u, k8s_jpath_str(as_json, "metadata.uid")); /* same content */
    assert_string_not_equal(u, k8s_jpath_str(other_node, "metadata.uid"));
    assert_string_not_equal(u, k8s_jpath_str(other_file, "metadata.uid"));
    assert_string_not_equal(u, k8s_jpath_str(changed, "metadata.uid"));
    /* an explicit uid and namespace are kept */
    json_t *given = parse("kind: Pod\nmetadata: {name: x, namespace: kube-system, uid: abc}\n"
                          "spec: {containers: []}\n",
                          "/f", "n");
    assert_string_equal(k8s_jpath_str(given, "metadata.uid"), "abc");
    assert_string_equal(k8s_jpath_str(given, "metadata.namespace"), "kube-system");
    assert_string_equal(k8s_jstr(k8s_jpath(given, "metadata.annotations"), AG_CONFIG_HASH), "abc");
    json_decref(given);
    json_decref(a);
    json_decref(same);
    json_decref(other_node);
    json_decref(other_file);
    json_decref(as_json);
    json_decref(changed);
}

static void test_bad_manifests(void **state)
{
    (void)state;
    assert_null(parse("kind: Service\nmetadata: {name: x}\nspec: {}\n", "/f", "n"));
    assert_null(parse("kind: Pod\nspec: {}\n", "/f", "n"));
    assert_null(parse("kind: Pod\nmetadata: {name: x}\n", "/f", "n"));
    assert_null(parse("kind: Pod\nmetadata: [\n", "/f", "n"));
    assert_null(parse("", "/f", "n"));
    assert_null(parse("[1,2]", "/f", "n"));
}

static void test_mirror(void **state)
{
    (void)state;
    json_t *p = parse(yaml, "/etc/m/web.yaml", "node1");
    json_t *m = ag_static_mirror(p, "node1", "node-uid");
    assert_null(k8s_jpath(m, "metadata.uid"));
    assert_null(json_object_get(m, "status"));
    json_t *ann = k8s_jpath(m, "metadata.annotations");
    assert_string_equal(k8s_jstr(ann, AG_CONFIG_MIRROR), k8s_jpath_str(p, "metadata.uid"));
    assert_string_equal(k8s_jstr(ann, AG_CONFIG_SOURCE), "file");
    json_t *own = json_array_get(k8s_jpath(m, "metadata.ownerReferences"), 0);
    assert_string_equal(k8s_jstr(own, "kind"), "Node");
    assert_string_equal(k8s_jstr(own, "name"), "node1");
    assert_string_equal(k8s_jstr(own, "uid"), "node-uid");
    json_decref(m);
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_bad_manifests),
        cmocka_unit_test(test_mirror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
