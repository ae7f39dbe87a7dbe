/* SPDX-License-Identifier: Apache-2.0 */
/* Registry tests: lookups by (group, version, plural) and by store key, unique key prefixes,
 * selectable fields, and that discovery (legacy and aggregated) lists every registry row once
 * with upstream's short names, categories and scope. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apiserver/registry/registry.h"
#include "engine_harness.h"

static void test_lookups(void **state)
{
    (void)state;
    size_t n = reg_count();
    assert_true(n >= 24);
    for (size_t i = 0; i < n; i++) {
        const struct reg_resource *r = reg_at(i);
        assert_ptr_equal(reg_find(r->group, r->version, r->plural), r);
        char key[256];
        snprintf(key, sizeof(key), "%s%s", r->key_prefix,
                 (r->flags & REG_NAMESPACED) ? "ns/name" : "name");
        assert_ptr_equal(reg_find_key(key, strlen(key)), r);
        assert_int_equal(reg_field_index(r, "metadata.name"), 0);
        assert_int_equal(reg_field_index(r, "metadata.namespace"), 1);
        assert_int_equal(reg_field_index(r, "no.such.field"), -1);
        assert_true(reg_has_group_version(r->group, r->version));
        for (size_t j = 0; j < n; j++)
            if (j != i)
                assert_string_not_equal(r->key_prefix, reg_at(j)->key_prefix);
    }
    const struct reg_resource *pods = reg_find("", "v1", "pods");
    assert_non_null(pods);
    assert_true(reg_field_index(pods, "spec.nodeName") >= 2);
    assert_int_equal(reg_field_index(pods, "spec.host"), reg_field_index(pods, "spec.nodeName"));
    assert_null(reg_find("apps", "v1", "pods"));
    assert_null(reg_find_key("/registry/core/podsx/a", 21));
}

static json_t *find_res(json_t *resources, const char *key, const char *name)
{
    size_t i;
    json_t *it;
    json_array_foreach(resources, i, it)
    {
        if (strcmp(json_string_value(json_object_get(it, key)), name) == 0)
            return it;
    }
    return NULL;
}

static void test_discovery_covers_registry(void **state)
{
    (void)state;
    struct env e;
    assert_int_equal(env_open(&e), 0);
    json_t *core, *apis;
    const char *acc = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
    assert_int_equal(reqx(&e, "GET", "/api", NULL, NULL, acc, NULL, &core, NULL), 200);
    assert_int_equal(reqx(&e, "GET", "/apis", NULL, NULL, acc, NULL, &apis, NULL), 200);
    size_t total = 0;
    json_t *lists[2] = {core, apis};
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *g;
        json_array_foreach(json_object_get(lists[l], "items"), i, g)
        {
            json_t *v = json_array_get(json_object_get(g, "versions"), 0);
            total += json_array_size(json_object_get(v, "resources"));
        }
    }
    assert_int_equal(total, reg_count());
    json_t *cv = json_array_get(json_object_get(json_array_get(json_object_get(core, "items"),
                                                               0),
                                                "versions"),
                                0);
    json_t *svc = find_res(json_object_get(cv, "resources"), "resource", "services");
    assert_non_null(svc);
    assert_string_equal(json_string_value(json_array_get(json_object_get(svc, "shortNames"), 0)),
                        "svc");
    assert_string_equal(json_string_value(json_array_get(json_object_get(svc, "categories"), 0)),
                        "all");
    json_t *ns = find_res(json_object_get(cv, "resources"), "resource", "namespaces");
    assert_string_equal(json_string_value(json_object_get(ns, "scope")), "Cluster");
    size_t vi;
    json_t *vb;
    json_array_foreach(json_object_get(ns, "verbs"), vi, vb)
        assert_string_not_equal(json_string_value(vb), "deletecollection");
    assert_int_equal(json_array_size(json_object_get(ns, "verbs")), 7);
    json_decref(core);
    json_decref(apis);

    /* legacy: /api/v1 has pods/status and pods/binding, with storageVersionHash on pods */
    json_t *v1;
    assert_int_equal(req(&e, "GET", "/api/v1", NULL, NULL, &v1), 200);
    json_t *res = json_object_get(v1, "resources");
    json_t *pods = find_res(res, "name", "pods");
    assert_non_null(pods);
    assert_int_equal(strlen(json_string_value(json_object_get(pods, "storageVersionHash"))), 12);
    assert_non_null(find_res(res, "name", "pods/status"));
    json_t *b = find_res(res, "name", "pods/binding");
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "kind")), "Binding");
    json_decref(v1);
    json_t *gl;
    assert_int_equal(req(&e, "GET", "/apis", NULL, NULL, &gl), 200);
    assert_string_equal(jpath(gl, "kind"), "APIGroupList");
    assert_non_null(find_res(json_object_get(gl, "groups"), "name", "apps"));
    json_decref(gl);
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_discovery_covers_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
