/* SPDX-License-Identifier: Apache-2.0 */
/* Server-side apply on the real schema table: FieldsV1 encoding (f:, k:, v:, "."), field sets
 * of configurations (list maps, sets, atomic lists and maps, deduced types), two managers on
 * different containers of one pod, removal of fields a manager stops applying (kept when
 * another manager owns them), conflicts and force, Update ownership moves, entry order,
 * the client-side apply upgrade for "kubectl", and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "apiserver/endpoints/apply.h"
#include "apiserver/endpoints/apply_int.h"
#include "apiserver/registry/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* JSON with single quotes (no quote characters inside strings). */
static json_t *J(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t je;
    json_t *v = json_loads(d, 0, &je);
    if (!v)
        fail_msg("bad test JSON: %s: %s", je.text, s);
    free(d);
    return v;
}

static char *dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

static void assert_json(const json_t *got, const char *want)
{
    json_t *w = J(want);
    if (!json_equal((json_t *)got, w)) {
        char *g = dump(got), *x = dump(w);
        fail_msg("got  %s\nwant %s", g, x);
    }
    json_decref(w);
}

static const struct reg_resource *pods(void)
{
    const struct reg_resource *r = reg_find("", "v1", "pods");
    assert_non_null(r);
    return r;
}

static struct ty pod_type(void)
{
    return ty_root(schema_lookup_kind("", "v1", "Pod"));
}

static json_t *fields_of(struct ty t, const char *obj)
{
    json_t *v = J(obj);
    struct fp_set *s = NULL;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(typed_field_set(t, v, true, &s, &err), 0);
    json_t *j = fp_set_to_json(s);
    fp_set_free(s);
    json_decref(v);
    return j;
}

static void test_fieldsv1_roundtrip(void **state)
{
    (void)state;
    const char *in = "{\"f:metadata\":{\"f:labels\":{\".\":{},\"f:app\":{}}},\"f:spec\":{"
                     "\"f:containers\":{\"k:{\\\"name\\\":\\\"b\\\"}\":{\".\":{},\"f:image\":{}},"
                     "\"k:{\\\"name\\\":\\\"a\\\"}\":{\".\":{},\"f:name\":{}}},"
                     "\"f:finalizers\":{\"v:\\\"x\\\"\":{}}}}";
    json_error_t je;
    json_t *j = json_loads(in, 0, &je);
    struct fp_set *s = fp_set_from_json(j);
    assert_non_null(s);
    json_t *out = fp_set_to_json(s);
    char *o = dump(out);
    /* children sorted: k:{"name":"a"} before k:{"name":"b"}; "." first */
    assert_string_equal(
        o, "{\"f:metadata\":{\"f:labels\":{\".\":{},\"f:app\":{}}},\"f:spec\":{\"f:containers\":"
           "{\"k:{\\\"name\\\":\\\"a\\\"}\":{\".\":{},\"f:name\":{}},\"k:{\\\"name\\\":\\\"b\\\"}"
           "\":{\".\":{},\"f:image\":{}}},\"f:finalizers\":{\"v:\\\"x\\\"\":{}}}}");
    free(o);
    json_decref(out);
    fp_set_free(s);
    json_decref(j);
    /* malformed */
    j = J("{'x:y':{}}");
    assert_null(fp_set_from_json(j));
    json_decref(j);
}

static void test_field_sets(void **state)
{
    (void)state;
    struct ty pod = pod_type();
    /* declared struct fields with content are not members; map entries, list items are */
    json_t *f = fields_of(pod, "{'metadata':{'labels':{'app':'x'},'finalizers':['a']},"
                               "'spec':{'containers':[{'name':'c','image':'i','ports':"
                               "[{'containerPort':80}],'args':['x']}],'nodeSelector':{'a':'b'},"
                               "'securityContext':{}}}");
    assert_json(f, "{'f:metadata':{'f:labels':{'f:app':{}},'f:finalizers':{'v:\\'a\\'':{}}},"
                   "'f:spec':{'f:containers':{'k:{\\'name\\':\\'c\\'}':{'.':{},'f:args':{},"
                   "'f:image':{},'f:name':{},'f:ports':{'k:{\\'containerPort\\':80,\\'protocol\\':"
                   "\\'TCP\\'}':{'.':{},'f:containerPort':{}}}}},'f:nodeSelector':{},"
                   "'f:securityContext':{}}}");
    json_decref(f);
    /* deduced (no schema): maps granular, lists atomic */
    f = fields_of(ty_root(NULL), "{'spec':{'a':[1,2],'b':{'c':1}}}");
    assert_json(f, "{'f:spec':{'.':{},'f:a':{},'f:b':{'.':{},'f:c':{}}}}");
    json_decref(f);
    /* a list-map item without its key */
    json_t *v = J("{'spec':{'containers':[{'image':'x'}]}}");
    struct fp_set *s = NULL;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(typed_field_set(pod, v, true, &s, &err), -1);
    assert_int_equal(err.reason, CK_R_INTERNAL);
    assert_non_null(strstr(err.msg, "omits key field \"name\""));
    json_decref(v);
}

static void test_path_string(void **state)
{
    (void)state;
    struct fp_pe p[4];
    fp_pe_field(&p[0], "spec");
    fp_pe_field(&p[1], "ports");
    fp_pe_key(&p[2], J("{'protocol':'TCP','port':80}"));
    fp_pe_field(&p[3], "targetPort");
    struct ck_buf b = CK_BUF_INIT(4096);
    fp_path_string(&b, p, 4);
    assert_string_equal(b.data, ".spec.ports[port=80,protocol=\"TCP\"].targetPort");
    assert_string_equal(p[2].ser, "k:{\"port\":80,\"protocol\":\"TCP\"}");
    ck_buf_release(&b);
    for (int i = 0; i < 4; i++)
        fp_pe_release(&p[i]);
}

static json_t *apply(json_t *cur, const char *cfg, const char *mgr, bool force, int want_rc,
                     struct ck_err *err)
{
    json_t *c = J(cfg), *out = NULL;
    int rc = eng_apply_sub(pods(), NULL, cur, c, mgr, force, &out, err);
    json_decref(c);
    if (rc != want_rc)
        fail_msg("apply by %s: rc %d (%s)", mgr, rc, err->msg);
    return out;
}

static json_t *entry_of(json_t *obj, const char *manager, const char *op)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "managedFields"), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "manager")), manager) == 0 &&
            strcmp(json_string_value(json_object_get(e, "operation")), op) == 0)
            return e;
    }
    return NULL;
}

#define POD(body)                                                                                  \
    "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'d'},'spec':{" body "}}"

static void test_two_managers_and_removal(void **state)
{
    (void)state;
    struct ck_err err = CK_ERR_INIT;
    json_t *o1 = apply(NULL,
                       POD("'containers':[{'name':'a','image':'ia','env':[{'name':'E',"
                           "'value':'1'}]}]"),
                       "a", false, 0, &err);
    json_t *ea = entry_of(o1, "a", "Apply");
    assert_non_null(ea);
    assert_non_null(json_object_get(ea, "time"));
    assert_json(json_object_get(ea, "fieldsV1"),
                "{'f:spec':{'f:containers':{'k:{\\'name\\':\\'a\\'}':{'.':{},'f:env':{"
                "'k:{\\'name\\':\\'E\\'}':{'.':{},'f:name':{},'f:value':{}}},'f:image':{},"
                "'f:name':{}}}}}");
    /* b applies another container: both stay, live items first, then the new ones */
    json_t *o2 = apply(o1, POD("'containers':[{'name':'b','image':'ib'}]"), "b", false, 0, &err);
    json_t *cs = json_object_get(json_object_get(o2, "spec"), "containers");
    assert_int_equal(json_array_size(cs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(cs, 1), "name")), "b");
    assert_non_null(entry_of(o2, "a", "Apply"));
    assert_non_null(entry_of(o2, "b", "Apply"));
    /* a stops applying env: removed; b co-owns a's image (same value) */
    json_t *o3 =
        apply(o2, POD("'containers':[{'name':'b','image':'ib'},{'name':'a','image':'ia'}]"), "b",
              false, 0, &err);
    json_t *o4 = apply(o3, POD("'containers':[{'name':'a'}]"), "a", false, 0, &err);
    json_t *ca = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(o4, "spec"), "containers"), i,
                       c) if (strcmp(json_string_value(json_object_get(c, "name")), "a") == 0) ca =
        c;
    assert_non_null(ca);
    assert_null(json_object_get(ca, "env")); /* nobody else owned it */
    assert_string_equal(json_string_value(json_object_get(ca, "image")), "ia"); /* b does */
    /* b stops applying container a: a still owns the item (name) so it stays */
    json_t *o5 = apply(o4, POD("'containers':[{'name':'b','image':'ib'}]"), "b", false, 0, &err);
    assert_int_equal(json_array_size(json_object_get(json_object_get(o5, "spec"), "containers")),
                     2);
    json_decref(o1);
    json_decref(o2);
    json_decref(o3);
    json_decref(o4);
    json_decref(o5);
}

static void test_conflict_and_force(void **state)
{
    (void)state;
    struct ck_err err = CK_ERR_INIT;
    json_t *o1 = apply(NULL, POD("'containers':[{'name':'a','image':'ia'}],'hostname':'h'"), "a",
                       false, 0, &err);
    json_t *none =
        apply(o1, POD("'containers':[{'name':'a','image':'other'}]"), "b", false, -1, &err);
    assert_null(none);
    assert_int_equal(err.reason, CK_R_CONFLICT);
    assert_string_equal(err.msg, "Apply failed with 1 conflict: conflict with \"a\": "
                                 ".spec.containers[name=\"a\"].image");
    assert_int_equal(err.ncauses, 1);
    assert_string_equal(err.causes[0].type, "FieldManagerConflict");
    assert_string_equal(err.causes[0].field, ".spec.containers[name=\"a\"].image");
    assert_string_equal(err.causes[0].message, "conflict with \"a\"");
    /* two conflicts: the multi-line form */
    struct ck_err e2 = CK_ERR_INIT;
    apply(o1, POD("'containers':[{'name':'a','image':'x'}],'hostname':'k'"), "b", false, -1, &e2);
    assert_string_equal(e2.msg, "Apply failed with 2 conflicts: conflicts with \"a\":\n"
                                "- .spec.hostname\n- .spec.containers[name=\"a\"].image");
    /* force: b takes the image, a keeps the rest */
    json_t *o2 = apply(o1, POD("'containers':[{'name':'a','image':'other'}]"), "b", true, 0, &err);
    json_t *fa = json_object_get(entry_of(o2, "a", "Apply"), "fieldsV1");
    assert_json(fa, "{'f:spec':{'f:containers':{'k:{\\'name\\':\\'a\\'}':{'.':{},'f:name':{}}},"
                    "'f:hostname':{}}}");
    json_decref(o1);
    json_decref(o2);
}

static void test_update_moves_ownership(void **state)
{
    (void)state;
    struct ck_err err = CK_ERR_INIT;
    json_t *o1 = apply(NULL, POD("'containers':[{'name':'a','image':'ia'}],'hostname':'h'"), "a",
                       false, 0, &err);
    json_t *o2 = json_deep_copy(o1);
    json_t *c0 = json_array_get(json_object_get(json_object_get(o2, "spec"), "containers"), 0);
    json_object_set_new(c0, "image", json_string("edited"));
    json_object_set_new(json_object_get(o2, "metadata"), "labels", J("{'x':'y'}"));
    eng_track_update(pods(), o1, o2, "kubectl-edit", NULL);
    json_t *ed = entry_of(o2, "kubectl-edit", "Update");
    assert_non_null(ed);
    assert_string_equal(json_string_value(json_object_get(ed, "apiVersion")), "v1");
    assert_json(json_object_get(ed, "fieldsV1"),
                "{'f:metadata':{'f:labels':{'.':{},'f:x':{}}},'f:spec':{'f:containers':{"
                "'k:{\\'name\\':\\'a\\'}':{'f:image':{}}}}}");
    /* Apply entries sort before Update entries */
    json_t *mf = json_object_get(json_object_get(o2, "metadata"), "managedFields");
    assert_string_equal(json_string_value(json_object_get(json_array_get(mf, 0), "operation")),
                        "Apply");
    /* a re-applying its old image now conflicts with the editor, named with its version */
    apply(o2, POD("'containers':[{'name':'a','image':'ia'}],'hostname':'h'"), "a", false, -1, &err);
    assert_non_null(strstr(err.msg, "conflict with \"kubectl-edit\" using v1: "));
    /* a create owns what it sets, without "." on the structs every pod has */
    json_t *nw = J(POD("'containers':[{'name':'c','image':'i'}]"));
    eng_track_update(pods(), NULL, nw, "kubectl-run", NULL);
    assert_json(json_object_get(entry_of(nw, "kubectl-run", "Update"), "fieldsV1"),
                "{'f:spec':{'f:containers':{'k:{\\'name\\':\\'c\\'}':{'.':{},'f:image':{},"
                "'f:name':{}}}}}");
    json_decref(nw);
    json_decref(o1);
    json_decref(o2);
}

static void test_client_side_upgrade(void **state)
{
    (void)state;
    struct ck_err err = CK_ERR_INIT;
    /* created by kubectl apply (client-side): an Update entry and the annotation */
    json_t *live = J(POD("'containers':[{'name':'a','image':'v1'}]"));
    json_t *ann = json_object();
    json_object_set_new(ann, "kubectl.kubernetes.io/last-applied-configuration",
                        json_string("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{"
                                    "\"name\":\"p\",\"namespace\":\"d\"},\"spec\":{\"containers\":"
                                    "[{\"name\":\"a\",\"image\":\"v1\"}]}}\n"));
    json_object_set_new(json_object_get(live, "metadata"), "annotations", ann);
    eng_track_update(pods(), NULL, live, "kubectl-client-side-apply", NULL);
    /* another applier than kubectl conflicts */
    apply(live, POD("'containers':[{'name':'a','image':'v2'}]"), "other", false, -1, &err);
    assert_non_null(strstr(err.msg, "conflict with \"kubectl-client-side-apply\" using v1"));
    /* kubectl's server-side apply takes over what the annotation explains */
    json_t *o =
        apply(live, POD("'containers':[{'name':'a','image':'v2'}]"), "kubectl", false, 0, &err);
    json_t *c0 = json_array_get(json_object_get(json_object_get(o, "spec"), "containers"), 0);
    assert_string_equal(json_string_value(json_object_get(c0, "image")), "v2");
    const char *la = json_string_value(
        json_object_get(json_object_get(json_object_get(o, "metadata"), "annotations"),
                        "kubectl.kubernetes.io/last-applied-configuration"));
    assert_string_equal(la, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
                            "\"namespace\":\"d\"},\"spec\":{\"containers\":[{\"image\":\"v2\","
                            "\"name\":\"a\"}]}}\n");
    json_decref(o);
    /* a field another writer changed since is still a conflict */
    json_t *edited = json_deep_copy(live);
    c0 = json_array_get(json_object_get(json_object_get(edited, "spec"), "containers"), 0);
    json_object_set_new(c0, "image", json_string("hot"));
    eng_track_update(pods(), live, edited, "kubectl-edit", NULL);
    apply(edited, POD("'containers':[{'name':'a','image':'v2'}]"), "kubectl", false, -1, &err);
    assert_non_null(strstr(err.msg, "conflict with \"kubectl-edit\""));
    json_decref(edited);
    json_decref(live);
}

static void test_managed_fields_in_config(void **state)
{
    (void)state;
    struct ck_err err = CK_ERR_INIT;
    apply(NULL, "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','managedFields':[]}}", "a",
          false, -1, &err);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    assert_string_equal(err.msg, "metadata.managedFields must be nil");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fieldsv1_roundtrip),  cmocka_unit_test(test_field_sets),
        cmocka_unit_test(test_path_string),         cmocka_unit_test(test_two_managers_and_removal),
        cmocka_unit_test(test_conflict_and_force),  cmocka_unit_test(test_update_moves_ownership),
        cmocka_unit_test(test_client_side_upgrade), cmocka_unit_test(test_managed_fields_in_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
