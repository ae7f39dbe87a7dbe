/* SPDX-License-Identifier: Apache-2.0 */
/* Table-driven strategic merge patch cases on the real schema table: map merge and null
 * deletion, merge-key lists (containers, env, ports, volumes, conditions, ownerReferences),
 * replaced lists (tolerations, args), scalar unions (finalizers), every directive, element
 * order, schema-less merge patch, and errors. Each case also checks inputs stay unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "apiserver/registry/schema.h"

#include <stdio.h>
#include <string.h>

struct smp_case {
    const char *name;
    const char *gvk; /* "group/version/Kind" ("/v1/Pod"), or NULL for no schema */
    const char *doc;
    const char *patch;
    const char *want; /* expected result, or NULL when an error is expected */
    enum ck_reason want_reason;
};

static const struct smp_case cases[] = {
    {"map merge and null delete", "apps/v1/Deployment",
     "{'metadata':{'name':'d','labels':{'a':'1','b':'2'}}}",
     "{'metadata':{'labels':{'b':null,'c':'3'}}}",
     "{'metadata':{'name':'d','labels':{'a':'1','c':'3'}}}", 0},
    {"null for a missing key is dropped", "/v1/ConfigMap", "{'data':{'a':'1'}}",
     "{'data':{'x':null},'binaryData':null}", "{'data':{'a':'1'}}", 0},
    {"new nested value has nulls stripped", "/v1/ConfigMap", "{}",
     "{'metadata':{'labels':{'a':'1','b':null}}}", "{'metadata':{'labels':{'a':'1'}}}", 0},
    {"containers merge by name", "/v1/Pod",
     "{'spec':{'containers':[{'name':'a','image':'x'},{'name':'b','image':'y'}]}}",
     "{'spec':{'containers':[{'name':'b','image':'z'}]}}",
     "{'spec':{'containers':[{'name':'a','image':'x'},{'name':'b','image':'z'}]}}", 0},
    {"new merge-list item goes first (upstream order)", "/v1/Pod",
     "{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
     "{'spec':{'containers':[{'name':'c','image':'w'}]}}",
     "{'spec':{'containers':[{'name':'c','image':'w'},{'name':'a'},{'name':'b'}]}}", 0},
    {"$patch delete in a merge list", "/v1/Pod",
     "{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
     "{'spec':{'containers':[{'name':'a','$patch':'delete'}]}}",
     "{'spec':{'containers':[{'name':'b'}]}}", 0},
    {"$patch replace in a merge list", "/v1/Pod",
     "{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
     "{'spec':{'containers':[{'name':'z','image':'q'},{'$patch':'replace'}]}}",
     "{'spec':{'containers':[{'name':'z','image':'q'}]}}", 0},
    {"$patch replace in a map", "/v1/Pod", "{'metadata':{'labels':{'a':'1','b':'2'}}}",
     "{'metadata':{'labels':{'$patch':'replace','x':'9'}}}",
     "{'metadata':{'labels':{'x':'9'}}}", 0},
    {"$patch delete in a map", "apps/v1/Deployment",
     "{'spec':{'replicas':2,'strategy':{'type':'Recreate'}}}",
     "{'spec':{'strategy':{'$patch':'delete'}}}", "{'spec':{'replicas':2,'strategy':{}}}", 0},
    {"$patch merge in a map is the default", "/v1/Pod", "{'metadata':{'labels':{'a':'1'}}}",
     "{'metadata':{'labels':{'$patch':'merge','b':'2'}}}",
     "{'metadata':{'labels':{'a':'1','b':'2'}}}", 0},
    {"tolerations have no strategy: replaced", "/v1/Pod",
     "{'spec':{'tolerations':[{'key':'a'},{'key':'b'}]}}",
     "{'spec':{'tolerations':[{'key':'c'}]}}", "{'spec':{'tolerations':[{'key':'c'}]}}", 0},
    {"args replaced", "/v1/Pod", "{'spec':{'containers':[{'name':'a','args':['1','2']}]}}",
     "{'spec':{'containers':[{'name':'a','args':['3']}]}}",
     "{'spec':{'containers':[{'name':'a','args':['3']}]}}", 0},
    {"finalizers union", "/v1/ConfigMap", "{'metadata':{'finalizers':['a','b']}}",
     "{'metadata':{'finalizers':['b','c']}}", "{'metadata':{'finalizers':['a','b','c']}}", 0},
    {"$deleteFromPrimitiveList", "/v1/ConfigMap", "{'metadata':{'finalizers':['a','b','c']}}",
     "{'metadata':{'$deleteFromPrimitiveList/finalizers':['a','c']}}",
     "{'metadata':{'finalizers':['b']}}", 0},
    {"$setElementOrder reorders merged list", "/v1/Pod",
     "{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
     "{'spec':{'$setElementOrder/containers':[{'name':'b'},{'name':'a'}],"
     "'containers':[{'name':'a','image':'n'}]}}",
     "{'spec':{'containers':[{'name':'b'},{'name':'a','image':'n'}]}}", 0},
    {"$setElementOrder places a new item", "/v1/Pod",
     "{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
     "{'spec':{'$setElementOrder/containers':[{'name':'a'},{'name':'c'},{'name':'b'}],"
     "'containers':[{'name':'c'}]}}",
     "{'spec':{'containers':[{'name':'a'},{'name':'c'},{'name':'b'}]}}", 0},
    {"$setElementOrder without the list reorders live items", "/v1/ConfigMap",
     "{'metadata':{'finalizers':['a','b','c']}}",
     "{'metadata':{'$setElementOrder/finalizers':['c','a','b']}}",
     "{'metadata':{'finalizers':['c','a','b']}}", 0},
    {"$setElementOrder disagreeing with the patch list", "/v1/Pod",
     "{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
     "{'spec':{'$setElementOrder/containers':[{'name':'b'},{'name':'a'}],"
     "'containers':[{'name':'a'},{'name':'b'}]}}",
     NULL, CK_R_BAD_REQUEST},
    {"$retainKeys clears other keys (deployment strategy)", "apps/v1/Deployment",
     "{'spec':{'strategy':{'type':'RollingUpdate','rollingUpdate':{'maxSurge':1}}}}",
     "{'spec':{'strategy':{'$retainKeys':['type'],'type':'Recreate'}}}",
     "{'spec':{'strategy':{'type':'Recreate'}}}", 0},
    {"$retainKeys must list every patched key", "apps/v1/Deployment",
     "{'spec':{'strategy':{'type':'RollingUpdate'}}}",
     "{'spec':{'strategy':{'$retainKeys':['type'],'rollingUpdate':{'maxSurge':1}}}}", NULL,
     CK_R_INVALID},
    {"volumes: merge by name with $retainKeys", "/v1/Pod",
     "{'spec':{'volumes':[{'name':'v','emptyDir':{}},{'name':'w','emptyDir':{}}]}}",
     "{'spec':{'volumes':[{'name':'v','$retainKeys':['configMap','name'],"
     "'configMap':{'name':'cm'}}]}}",
     "{'spec':{'volumes':[{'name':'v','configMap':{'name':'cm'}},{'name':'w','emptyDir':{}}]}}",
     0},
    {"env merge nested in a container", "apps/v1/Deployment",
     "{'spec':{'template':{'spec':{'containers':[{'name':'a','env':[{'name':'X','value':'1'}]}]}}}}",
     "{'spec':{'template':{'spec':{'containers':[{'name':'a','env':[{'name':'X','value':'2'},"
     "{'name':'Y','value':'3'}]}]}}}}",
     "{'spec':{'template':{'spec':{'containers':[{'name':'a','env':[{'name':'X','value':'2'},"
     "{'name':'Y','value':'3'}]}]}}}}",
     0},
    {"ports merge by containerPort", "/v1/Pod",
     "{'spec':{'containers':[{'name':'a','ports':[{'containerPort':80,'name':'http'}]}]}}",
     "{'spec':{'containers':[{'name':'a','ports':[{'containerPort':80,'protocol':'TCP'}]}]}}",
     "{'spec':{'containers':[{'name':'a','ports':[{'containerPort':80,'name':'http',"
     "'protocol':'TCP'}]}]}}",
     0},
    {"service ports merge by port", "/v1/Service",
     "{'spec':{'ports':[{'port':80,'targetPort':8080},{'port':443}]}}",
     "{'spec':{'ports':[{'port':443,'name':'https'}]}}",
     "{'spec':{'ports':[{'port':80,'targetPort':8080},{'port':443,'name':'https'}]}}", 0},
    {"volumeMounts merge by mountPath", "/v1/Pod",
     "{'spec':{'containers':[{'name':'a','volumeMounts':[{'name':'v','mountPath':'/a'}]}]}}",
     "{'spec':{'containers':[{'name':'a','volumeMounts':[{'mountPath':'/a','readOnly':true}]}]}}",
     "{'spec':{'containers':[{'name':'a','volumeMounts':[{'name':'v','mountPath':'/a',"
     "'readOnly':true}]}]}}",
     0},
    {"node status conditions merge by type", "/v1/Node",
     "{'status':{'conditions':[{'type':'Ready','status':'False'},{'type':'DiskPressure',"
     "'status':'False'}]}}",
     "{'status':{'conditions':[{'type':'Ready','status':'True'}]}}",
     "{'status':{'conditions':[{'type':'Ready','status':'True'},{'type':'DiskPressure',"
     "'status':'False'}]}}",
     0},
    {"ownerReferences merge by uid", "apps/v1/ReplicaSet",
     "{'metadata':{'ownerReferences':[{'uid':'1','name':'a'}]}}",
     "{'metadata':{'ownerReferences':[{'uid':'1','controller':true}]}}",
     "{'metadata':{'ownerReferences':[{'uid':'1','name':'a','controller':true}]}}", 0},
    {"PDB selector has strategy replace", "policy/v1/PodDisruptionBudget",
     "{'spec':{'selector':{'matchLabels':{'a':'1'}}}}",
     "{'spec':{'selector':{'matchLabels':{'b':'2'}}}}",
     "{'spec':{'selector':{'matchLabels':{'b':'2'}}}}", 0},
    {"map-typed field values (resources.limits) merge", "/v1/Pod",
     "{'spec':{'containers':[{'name':'a','resources':{'limits':{'cpu':'1','memory':'1Gi'}}}]}}",
     "{'spec':{'containers':[{'name':'a','resources':{'limits':{'cpu':null,'memory':'2Gi'}}}]}}",
     "{'spec':{'containers':[{'name':'a','resources':{'limits':{'memory':'2Gi'}}}]}}", 0},
    {"type change replaces", "apps/v1/Deployment", "{'spec':{'replicas':1}}",
     "{'spec':{'replicas':{'x':1}}}", "{'spec':{'replicas':{'x':1}}}", 0},
    {"unknown field: maps merge, lists replace", "/v1/Pod",
     "{'spec':{'x':{'a':1,'l':[1,2]}}}", "{'spec':{'x':{'b':2,'l':[3]}}}",
     "{'spec':{'x':{'a':1,'b':2,'l':[3]}}}", 0},
    {"no schema: JSON merge patch", NULL, "{'spec':{'l':[{'name':'a'}],'m':{'a':1}}}",
     "{'spec':{'l':[{'name':'b'}],'m':{'a':null,'b':2}}}",
     "{'spec':{'l':[{'name':'b'}],'m':{'b':2}}}", 0},
    {"merge item without the merge key", "/v1/Pod", "{'spec':{'containers':[{'name':'a'}]}}",
     "{'spec':{'containers':[{'image':'x'}]}}", NULL, CK_R_BAD_REQUEST},
    {"unknown $patch value", "/v1/Pod", "{'spec':{}}", "{'spec':{'$patch':'explode'}}", NULL,
     CK_R_BAD_REQUEST},
    {"$patch merge in a list item", "/v1/Pod", "{'spec':{'containers':[{'name':'a'}]}}",
     "{'spec':{'containers':[{'name':'a','$patch':'merge'}]}}", NULL, CK_R_BAD_REQUEST},
    {"list of lists", "/v1/ConfigMap", "{'metadata':{'finalizers':['a']}}",
     "{'metadata':{'finalizers':[['b']]}}", NULL, CK_R_INVALID},
    {"mixed element types", "/v1/ConfigMap", "{'metadata':{'finalizers':['a']}}",
     "{'metadata':{'finalizers':[1]}}", NULL, CK_R_BAD_REQUEST},
    {"bad $deleteFromPrimitiveList", "/v1/ConfigMap", "{'metadata':{'finalizers':['a']}}",
     "{'metadata':{'$deleteFromPrimitiveList/finalizers':'a'}}", NULL, CK_R_BAD_REQUEST},
    {"patch must be an object", "/v1/Pod", "{}", "[1]", NULL, CK_R_BAD_REQUEST},
};

/* Cases are written with single quotes for readability. */
static json_t *parse(const char *s)
{
    char buf[4096];
    size_t n = strlen(s);
    assert_true(n < sizeof(buf));
    for (size_t i = 0; i <= n; i++)
        buf[i] = s[i] == '\'' ? '"' : s[i];
    json_error_t je;
    json_t *v = json_loads(buf, JSON_DECODE_ANY, &je);
    if (!v)
        fail_msg("bad test JSON %s: %s", s, je.text);
    return v;
}

static const struct schema_type *type_of(const char *gvk)
{
    if (!gvk)
        return NULL;
    char g[64], v[16], k[64];
    const char *s1 = strchr(gvk, '/'), *s2 = strrchr(gvk, '/');
    snprintf(g, sizeof(g), "%.*s", (int)(s1 - gvk), gvk);
    snprintf(v, sizeof(v), "%.*s", (int)(s2 - s1 - 1), s1 + 1);
    snprintf(k, sizeof(k), "%s", s2 + 1);
    const struct schema_type *t = schema_lookup_kind(g, v, k);
    assert_non_null(t);
    return t;
}

static void run_case(const struct smp_case *c)
{
    const struct schema_type *t = type_of(c->gvk);
    json_t *doc = parse(c->doc), *patch = parse(c->patch);
    json_t *doc0 = json_deep_copy(doc), *patch0 = json_deep_copy(patch);
    json_t *out = NULL;
    struct ck_err err = CK_ERR_INIT;
    int rc = schema_smp_apply(t, doc, patch, &out, &err);
    if (c->want) {
        if (rc != 0)
            fail_msg("%s: unexpected error %s", c->name, err.msg);
        json_t *want = parse(c->want);
        if (!json_equal(out, want)) {
            char *got = json_dumps(out, JSON_SORT_KEYS);
            fail_msg("%s: got %s", c->name, got);
        }
        json_decref(want);
        json_decref(out);
    } else {
        if (rc == 0) {
            char *got = json_dumps(out, JSON_SORT_KEYS);
            fail_msg("%s: expected an error, got %s", c->name, got);
        }
        assert_null(out);
        assert_int_equal(err.reason, c->want_reason);
        assert_true(err.msg[0] != '\0');
    }
    if (!json_equal(doc, doc0) || !json_equal(patch, patch0))
        fail_msg("%s: an input was modified", c->name);
    json_decref(doc);
    json_decref(patch);
    json_decref(doc0);
    json_decref(patch0);
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);
}

/* A full kubectl-apply style patch on a realistic Deployment. */
static void test_apply_style_patch(void **state)
{
    (void)state;
    const struct schema_type *t = type_of("apps/v1/Deployment");
    json_t *doc = parse(
        "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','annotations':"
        "{'k':'v'}},'spec':{'replicas':1,'selector':{'matchLabels':{'app':'web'}},"
        "'strategy':{'type':'RollingUpdate','rollingUpdate':{'maxSurge':'25%'}},"
        "'template':{'metadata':{'labels':{'app':'web'}},'spec':{'containers':[{'name':'web',"
        "'image':'nginx:1','ports':[{'containerPort':80}]},{'name':'side','image':'busybox'}]}}}}");
    json_t *patch = parse(
        "{'metadata':{'annotations':{'k':null}},'spec':{'replicas':3,'strategy':{'$retainKeys':"
        "['type'],'type':'Recreate'},'template':{'spec':{'$setElementOrder/containers':"
        "[{'name':'web'}],'containers':[{'name':'web','image':'nginx:2'},{'name':'side',"
        "'$patch':'delete'}]}}}}");
    json_t *out = NULL;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(schema_smp_apply(t, doc, patch, &out, &err), 0);
    json_t *spec = json_object_get(out, "spec");
    json_t *cs = json_object_get(json_object_get(json_object_get(spec, "template"), "spec"),
                                 "containers");
    assert_int_equal(json_array_size(cs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(cs, 0), "image")),
                        "nginx:2");
    assert_non_null(json_object_get(json_array_get(cs, 0), "ports"));
    assert_int_equal(json_integer_value(json_object_get(spec, "replicas")), 3);
    assert_null(json_object_get(json_object_get(spec, "strategy"), "rollingUpdate"));
    assert_int_equal(json_object_size(json_object_get(json_object_get(out, "metadata"),
                                                      "annotations")),
                     0);
    json_decref(out);
    json_decref(doc);
    json_decref(patch);
}

/* Deep nesting is refused cleanly instead of recursing without bound. */
static void test_deep_nesting(void **state)
{
    (void)state;
    const struct schema_type *t = type_of("/v1/Pod");
    json_t *patch = json_object(), *cur = patch;
    for (int i = 0; i < 1000; i++) {
        json_t *n = json_object();
        json_object_set_new(cur, "x", n);
        cur = n;
    }
    json_t *doc = json_deep_copy(patch), *out = NULL;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(schema_smp_apply(t, doc, patch, &out, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    json_decref(doc);
    json_decref(patch);
}

/* Big merge lists stay fast (hashed indexes, not quadratic scans): 50k finalizers and 20k
 * containers merged with patches of the same size. */
static void test_large_lists(void **state)
{
    (void)state;
    const struct schema_type *cm = type_of("/v1/ConfigMap");
    json_t *doc = json_pack("{s:{s:[]}}", "metadata", "finalizers");
    json_t *patch = json_pack("{s:{s:[],s:[]}}", "metadata", "finalizers",
                              "$deleteFromPrimitiveList/finalizers");
    json_t *df = json_object_get(json_object_get(doc, "metadata"), "finalizers");
    json_t *pf = json_object_get(json_object_get(patch, "metadata"), "finalizers");
    json_t *pd = json_object_get(json_object_get(patch, "metadata"),
                                 "$deleteFromPrimitiveList/finalizers");
    char b[32];
    for (int i = 0; i < 50000; i++) {
        snprintf(b, sizeof(b), "f%d", i);
        json_array_append_new(df, json_string(b));
        snprintf(b, sizeof(b), "f%d", i + 25000);
        json_array_append_new(pf, json_string(b));
        if (i % 2 == 0) {
            snprintf(b, sizeof(b), "f%d", i);
            json_array_append_new(pd, json_string(b));
        }
    }
    json_t *out = NULL;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(schema_smp_apply(cm, doc, patch, &out, &err), 0);
    /* 75000 distinct values, minus the 12500 even ones below 25000 deleted first */
    assert_int_equal(json_array_size(json_object_get(json_object_get(out, "metadata"),
                                                     "finalizers")),
                     75000 - 12500);
    json_decref(out);
    json_decref(doc);
    json_decref(patch);

    const struct schema_type *pod = type_of("/v1/Pod");
    doc = json_pack("{s:{s:[]}}", "spec", "containers");
    patch = json_pack("{s:{s:[]}}", "spec", "containers");
    json_t *dc = json_object_get(json_object_get(doc, "spec"), "containers");
    json_t *pc = json_object_get(json_object_get(patch, "spec"), "containers");
    for (int i = 0; i < 20000; i++) {
        snprintf(b, sizeof(b), "c%d", i);
        json_array_append_new(dc, json_pack("{s:s,s:s}", "name", b, "image", "old"));
        snprintf(b, sizeof(b), "c%d", 20000 - i);
        json_array_append_new(pc, json_pack("{s:s,s:s}", "name", b, "image", "new"));
    }
    assert_int_equal(schema_smp_apply(pod, doc, patch, &out, &err), 0);
    json_t *cs = json_object_get(json_object_get(out, "spec"), "containers");
    assert_int_equal(json_array_size(cs), 20001);
    /* patch order for patch items: c20000 (new, first), then the server-only c0 placed
     * before c19999 because it precedes it in the live list, then c19999 ... c1 */
    assert_string_equal(json_string_value(json_object_get(json_array_get(cs, 0), "name")),
                        "c20000");
    assert_string_equal(json_string_value(json_object_get(json_array_get(cs, 1), "name")), "c0");
    assert_string_equal(json_string_value(json_object_get(json_array_get(cs, 1), "image")),
                        "old");
    assert_string_equal(json_string_value(json_object_get(json_array_get(cs, 2), "name")),
                        "c19999");
    assert_string_equal(json_string_value(json_object_get(json_array_get(cs, 2), "image")),
                        "new");
    assert_string_equal(json_string_value(json_object_get(json_array_get(cs, 20000), "name")),
                        "c1");
    json_decref(out);
    json_decref(doc);
    json_decref(patch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_apply_style_patch),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_large_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
