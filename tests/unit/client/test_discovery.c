/* SPDX-License-Identifier: Apache-2.0 */
/* Discovery documents: APIResourceList parsing (subresources skipped, verbs, namespaced, the
 * core group), the deletable filter, kind and resource lookup by group, and REST paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "ckube/discovery.h"

static const char *apps =
    "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":\"apps/v1\","
    "\"resources\":["
    "{\"name\":\"deployments\",\"singularName\":\"deployment\",\"namespaced\":true,"
    "\"kind\":\"Deployment\",\"verbs\":[\"create\",\"delete\",\"deletecollection\",\"get\","
    "\"list\",\"patch\",\"update\",\"watch\"],\"shortNames\":[\"deploy\"]},"
    "{\"name\":\"deployments/scale\",\"group\":\"autoscaling\",\"version\":\"v1\","
    "\"namespaced\":true,\"kind\":\"Scale\",\"verbs\":[\"get\",\"patch\",\"update\"]},"
    "{\"name\":\"deployments/status\",\"namespaced\":true,\"kind\":\"Deployment\","
    "\"verbs\":[\"get\",\"patch\",\"update\"]},"
    "{\"name\":\"controllerrevisions\",\"namespaced\":true,\"kind\":\"ControllerRevision\","
    "\"verbs\":[\"create\",\"delete\",\"get\",\"list\",\"watch\",\"frobnicate\"]}]}";

static const char *core =
    "{\"kind\":\"APIResourceList\",\"groupVersion\":\"v1\",\"resources\":["
    "{\"name\":\"bindings\",\"namespaced\":true,\"kind\":\"Binding\",\"verbs\":[\"create\"]},"
    "{\"name\":\"nodes\",\"namespaced\":false,\"kind\":\"Node\",\"verbs\":[\"create\","
    "\"delete\",\"get\",\"list\",\"watch\"]},"
    "{\"name\":\"configmaps\",\"namespaced\":true,\"kind\":\"ConfigMap\",\"verbs\":[\"delete\","
    "\"get\",\"list\",\"watch\"]},"
    "{\"name\":\"\",\"kind\":\"Bad\",\"verbs\":[]},{\"kind\":\"NoName\"},7,"
    "{\"name\":\"x y\",\"kind\":\"Space\",\"verbs\":[]}]}";

static void parse(const char *text, const char *gv, struct ck_api_resources *out, int want)
{
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(ck_discovery_parse_list(doc, gv, out), want);
    json_decref(doc);
}

static void test_parse(void **state)
{
    (void)state;
    struct ck_api_resources r = {0};
    parse(apps, "ignored/v9", &r, 2);
    parse(core, "v1", &r, 3);
    assert_int_equal(r.n, 5);
    assert_string_equal(r.v[0].group, "apps");
    assert_string_equal(r.v[0].version, "v1");
    assert_string_equal(r.v[0].api_version, "apps/v1");
    assert_string_equal(r.v[0].resource, "deployments");
    assert_string_equal(r.v[0].kind, "Deployment");
    assert_true(r.v[0].namespaced);
    assert_int_equal(r.v[0].verbs, 0xff);
    assert_int_equal(r.v[1].verbs,
                     CK_VERB_CREATE | CK_VERB_DELETE | CK_VERB_GET | CK_VERB_LIST | CK_VERB_WATCH);
    assert_string_equal(r.v[2].api_version, "v1");
    assert_string_equal(r.v[2].group, "");
    assert_false(r.v[3].namespaced);

    const struct ck_api_resource *n = ck_discovery_find_kind(&r, "", "Node");
    assert_non_null(n);
    assert_string_equal(n->resource, "nodes");
    assert_null(ck_discovery_find_kind(&r, "apps", "Node"));
    assert_null(ck_discovery_find_kind(&r, "", "Scale"));
    assert_non_null(ck_discovery_find_resource(&r, "apps", "controllerrevisions"));

    char *p = ck_api_resource_path(n, "ignored", "n1");
    assert_string_equal(p, "/api/v1/nodes/n1");
    free(p);
    p = ck_api_resource_path(&r.v[0], "ns", "d");
    assert_string_equal(p, "/apis/apps/v1/namespaces/ns/deployments/d");
    free(p);
    p = ck_api_resource_path(&r.v[0], NULL, NULL);
    assert_string_equal(p, "/apis/apps/v1/deployments");
    free(p);

    ck_discovery_filter(&r, CK_VERB_LIST | CK_VERB_WATCH | CK_VERB_DELETE);
    assert_int_equal(r.n, 4); /* bindings go */
    assert_null(ck_discovery_find_kind(&r, "", "Binding"));
    ck_api_resources_release(&r);
    assert_int_equal(r.n, 0);
}

static void test_bad_docs(void **state)
{
    (void)state;
    struct ck_api_resources r = {0};
    parse("[]", "v1", &r, -1);
    parse("{\"resources\":{}}", "v1", &r, -1);
    parse("{\"resources\":[]}", "", &r, -1);
    parse("{\"groupVersion\":\"a/b/c\",\"resources\":[]}", NULL, &r, -1);
    parse("{\"groupVersion\":\"/v1\",\"resources\":[]}", NULL, &r, -1);
    parse("{\"resources\":[{\"name\":\"a\",\"kind\":\"A\",\"group\":5}]}", "g/v1", &r, 1);
    assert_string_equal(r.v[0].group, "g");
    parse("{\"resources\":[{\"name\":\"a\",\"kind\":\"A\",\"group\":\"x/y\"}]}", "g/v1", &r, 0);
    ck_api_resources_release(&r);

    char g[8];
    ck_api_version_group("apps/v1", g, sizeof(g));
    assert_string_equal(g, "apps");
    ck_api_version_group("v1", g, sizeof(g));
    assert_string_equal(g, "");
    ck_api_version_group("averyverylonggroup.io/v1", g, sizeof(g));
    assert_string_equal(g, "averyve");
    ck_api_version_group(NULL, g, sizeof(g));
    assert_string_equal(g, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_parse),
                                       cmocka_unit_test(test_bad_docs)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
