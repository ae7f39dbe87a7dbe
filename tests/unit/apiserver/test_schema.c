/* SPDX-License-Identifier: Apache-2.0 */
/* The schema table: invariants over every type (refs resolve, merge keys imply the merge
 * strategy, map lists name their keys, root kinds are unique), lookups, and unknown-field
 * paths in the upstream strict-decoding format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "apiserver/registry/schema.h"

#include <stdio.h>
#include <string.h>

static json_t *parse(const char *s)
{
    char buf[4096];
    size_t n = strlen(s);
    assert_true(n < sizeof(buf));
    for (size_t i = 0; i <= n; i++)
        buf[i] = s[i] == '\'' ? '"' : s[i];
    json_error_t je;
    json_t *v = json_loads(buf, 0, &je);
    if (!v)
        fail_msg("bad test JSON %s: %s", s, je.text);
    return v;
}

static void test_table_invariants(void **state)
{
    (void)state;
    size_t n = schema_type_count(), roots = 0;
    assert_true(n > 150);
    for (size_t i = 0; i < n; i++) {
        const struct schema_type *t = schema_type_at(i);
        assert_non_null(t->name);
        assert_true(strncmp(t->name, "io.k8s.", 7) == 0);
        assert_ptr_equal(schema_lookup_name(t->name), t);
        if (t->kind == SCHEMA_T_SCALAR)
            assert_non_null(t->scalar_type);
        if (t->gvk_kind) {
            roots++;
            assert_ptr_equal(schema_lookup_kind(t->group, t->version, t->gvk_kind), t);
        }
        for (size_t j = 0; j < t->nfields; j++) {
            const struct schema_field *f = &t->fields[j];
            assert_true(f->name[0] != '\0');
            assert_ptr_equal(schema_field_find(t, f->name), f);
            if (f->prim == SCHEMA_P_REF)
                assert_non_null(f->ref);
            if (f->merge_key && !(f->strategy & SCHEMA_PS_MERGE))
                fail_msg("%s.%s: merge key without merge strategy", t->name, f->name);
            if (f->list_type && strcmp(f->list_type, "map") == 0 && !f->map_keys)
                fail_msg("%s.%s: list-type map without keys", t->name, f->name);
            if (f->enum_values && f->prim != SCHEMA_P_STRING)
                fail_msg("%s.%s: enum on a non-string", t->name, f->name);
            if ((f->list_type || f->merge_key) && f->coll != SCHEMA_C_LIST)
                fail_msg("%s.%s: list metadata on a non-list", t->name, f->name);
            for (size_t k = j + 1; k < t->nfields; k++)
                if (strcmp(f->name, t->fields[k].name) == 0)
                    fail_msg("%s: duplicate field %s", t->name, f->name);
        }
    }
    assert_true(roots >= 25);
}

static void test_lookups(void **state)
{
    (void)state;
    const struct schema_type *d = schema_lookup_kind("apps", "v1", "Deployment");
    assert_non_null(d);
    assert_string_equal(d->name, "io.k8s.api.apps.v1.Deployment");
    assert_string_equal(d->resource, "deployments");
    assert_true(d->namespaced);
    assert_non_null(schema_lookup_kind("", "v1", "Pod"));
    assert_non_null(schema_lookup_kind(NULL, "v1", "Namespace"));
    assert_false(schema_lookup_kind("", "v1", "Namespace")->namespaced);
    assert_non_null(schema_lookup_kind("events.k8s.io", "v1", "Event"));
    assert_ptr_not_equal(schema_lookup_kind("events.k8s.io", "v1", "Event"),
                         schema_lookup_kind("", "v1", "Event"));
    assert_null(schema_lookup_kind("apps", "v2", "Deployment"));
    assert_null(schema_lookup_kind("example.com", "v1", "Widget"));
    assert_null(schema_lookup_kind("apps", NULL, "Deployment"));

    const struct schema_type *ps = schema_lookup_name("io.k8s.api.core.v1.PodSpec");
    const struct schema_field *c = schema_field_find(ps, "containers");
    assert_non_null(c);
    assert_int_equal(c->coll, SCHEMA_C_LIST);
    assert_string_equal(c->merge_key, "name");
    assert_true(c->required);
    assert_string_equal(c->ref->name, "io.k8s.api.core.v1.Container");
    const struct schema_field *tol = schema_field_find(ps, "tolerations");
    assert_null(tol->merge_key);
    assert_int_equal(tol->strategy, 0);
    const struct schema_field *vol = schema_field_find(ps, "volumes");
    assert_int_equal(vol->strategy, SCHEMA_PS_MERGE | SCHEMA_PS_RETAINKEYS);
    const struct schema_type *sp = schema_lookup_name("io.k8s.api.core.v1.ServiceSpec");
    assert_string_equal(schema_field_find(sp, "ports")->map_keys, "port,protocol");
    const struct schema_type *ds = schema_lookup_name("io.k8s.api.apps.v1.DeploymentSpec");
    assert_int_equal(schema_field_find(ds, "strategy")->strategy, SCHEMA_PS_RETAINKEYS);
    assert_null(schema_field_find(ds, "nope"));
    /* ephemeral containers carry every container field plus their own */
    const struct schema_type *ec = schema_lookup_name("io.k8s.api.core.v1.EphemeralContainer");
    assert_non_null(schema_field_find(ec, "volumeMounts"));
    assert_non_null(schema_field_find(ec, "targetContainerName"));
}

struct uf_case {
    const char *gvk_group, *gvk_version, *gvk_kind;
    const char *obj;
    const char *want; /* JSON array of paths */
};

static const struct uf_case uf_cases[] = {
    {"apps", "v1", "Deployment",
     "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'x','labels':{'any':'1'},"
     "'annotations':{'k/x':'y'}},'spec':{'replicas':1,'selector':{'matchLabels':{'a':'b'}},"
     "'template':{'metadata':{'labels':{'a':'b'}},'spec':{'containers':[{'name':'c',"
     "'image':'i','resources':{'limits':{'cpu':'1'}}}]}}}}",
     "[]"},
    {"apps", "v1", "Deployment",
     "{'spec':{'foo':1,'strategy':{'type':'Recreate','bar':{}},'template':{'spec':{"
     "'containers':[{'name':'a'},{'name':'b','imagex':'i','env':[{'name':'E','valuex':'1'}]}]}}}}",
     "['.spec.foo','.spec.strategy.bar','.spec.template.spec.containers[1].imagex',"
     "'.spec.template.spec.containers[1].env[0].valuex']"},
    {"", "v1", "ConfigMap", "{'metadata':{'name':'c','namex':1},'data':{'any':'x'},'extra':true}",
     "['.metadata.namex','.extra']"},
    {"", "v1", "Pod",
     "{'spec':{'containers':[{'name':'a','livenessProbe':{'httpGet':{'port':80,'paths':'/'}}}],"
     "'nodeSelector':{'x':'y'},'affinity':{'nodeAffinity':{'requiredDuringScheduling"
     "IgnoredDuringExecution':{'nodeSelectorTerms':[{'matchExpressions':[{'key':'k',"
     "'operator':'In','values':['v'],'weight':1}]}]}}}}}",
     "['.spec.containers[0].livenessProbe.httpGet.paths',"
     "'.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
     "nodeSelectorTerms[0].matchExpressions[0].weight']"},
    {"apps", "v1", "ControllerRevision", "{'data':{'anything':{'goes':[1]}},'revision':1}", "[]"},
    {"", "v1", "Node", "{'status':{'daemonEndpoints':{'kubeletEndpoint':{'Port':10250,'port':1}}}}",
     "['.status.daemonEndpoints.kubeletEndpoint.port']"},
};

static void test_unknown_fields(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(uf_cases) / sizeof(uf_cases[0]); i++) {
        const struct uf_case *c = &uf_cases[i];
        const struct schema_type *t = schema_lookup_kind(c->gvk_group, c->gvk_version, c->gvk_kind);
        assert_non_null(t);
        json_t *obj = parse(c->obj), *want = parse(c->want), *got = json_array();
        size_t n = schema_unknown_fields(t, obj, got);
        assert_int_equal(n, json_array_size(got));
        /* order follows object iteration; compare as sets */
        assert_int_equal(json_array_size(got), json_array_size(want));
        size_t k;
        json_t *w;
        json_array_foreach(want, k, w) {
            bool found = false;
            for (size_t j = 0; j < json_array_size(got); j++)
                found |= json_equal(json_array_get(got, j), w);
            if (!found) {
                char *g = json_dumps(got, 0);
                fail_msg("case %zu: missing %s in %s", i, json_string_value(w), g);
            }
        }
        json_decref(obj);
        json_decref(want);
        json_decref(got);
    }
}

static void test_unknown_fields_edges(void **state)
{
    (void)state;
    json_t *paths = json_array(), *obj = parse("{'spec':{'x':1}}");
    assert_int_equal(schema_unknown_fields(NULL, obj, paths), 0); /* CRDs: no schema */
    const struct schema_type *pod = schema_lookup_kind("", "v1", "Pod");
    json_t *s = json_string("x");
    assert_int_equal(schema_unknown_fields(pod, s, paths), 0);
    assert_int_equal(schema_unknown_fields(pod, obj, NULL), 0);
    /* wrong JSON types are the decoder's business, not unknown fields */
    json_t *odd = parse("{'spec':{'containers':{'name':'a'},'volumes':[1,'x']}}");
    assert_int_equal(schema_unknown_fields(pod, odd, paths), 0);
    assert_int_equal(json_array_size(paths), 0);
    json_decref(odd);
    json_decref(s);
    json_decref(obj);
    json_decref(paths);
}

static void test_sorted_order_and_prune(void **state)
{
    (void)state;
    const struct schema_type *t = schema_lookup_kind("apps", "v1", "Deployment");
    json_t *obj = parse("{'spec':{'template':{'spec':{'containers':[{'name':'a','zz':1,'aa':2}]}},"
                        "'bogus':1,'replicas':3},'kind':'Deployment','extra':{'x':1}}");
    json_t *paths = json_array();
    assert_int_equal(schema_unknown_fields(t, obj, paths), 4);
    const char *want[] = {".extra", ".spec.bogus", ".spec.template.spec.containers[0].aa",
                          ".spec.template.spec.containers[0].zz"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(json_string_value(json_array_get(paths, i)), want[i]);
    assert_int_equal(schema_prune_unknown(t, obj), 4);
    json_t *want_obj = parse("{'spec':{'template':{'spec':{'containers':[{'name':'a'}]}},"
                             "'replicas':3},'kind':'Deployment'}");
    assert_true(json_equal(obj, want_obj));
    json_t *again = json_array();
    assert_int_equal(schema_unknown_fields(t, obj, again), 0);
    assert_int_equal(schema_prune_unknown(NULL, obj), 0);
    json_decref(again);
    json_decref(want_obj);
    json_decref(paths);
    json_decref(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_invariants),
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_unknown_fields),
        cmocka_unit_test(test_unknown_fields_edges),
        cmocka_unit_test(test_sorted_order_and_prune),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
