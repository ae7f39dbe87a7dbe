/* SPDX-License-Identifier: Apache-2.0 */
/* OpenAPI documents: v2 and every v3 group-version document parse as JSON, every $ref
 * resolves inside its document, root kinds carry x-kubernetes-group-version-kind, patch
 * metadata is published, and every served kind has a PATCH operation with the GVK extension
 * and the fieldValidation query parameter (what kubectl's validation probe looks for). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "apiserver/encoding/openapi.h"
#include "apiserver/registry/schema.h"

#include <stdio.h>
#include <string.h>

static json_t *load_buf(struct ck_buf *b)
{
    json_error_t je;
    json_t *v = json_loadb(b->data, b->len, 0, &je);
    if (!v)
        fail_msg("document is not JSON: %s at %d", je.text, je.position);
    return v;
}

/* Every "$ref" in v must name a member of defs (prefix stripped). */
static void check_refs(const json_t *v, const json_t *defs, const char *prefix, size_t *count)
{
    if (json_is_object(v)) {
        const char *k;
        const json_t *e;
        json_object_foreach((json_t *)v, k, e) {
            if (strcmp(k, "$ref") == 0) {
                const char *r = json_string_value(e);
                assert_non_null(r);
                if (strncmp(r, prefix, strlen(prefix)) != 0 ||
                    !json_object_get(defs, r + strlen(prefix)))
                    fail_msg("dangling $ref %s", r);
                (*count)++;
            } else {
                check_refs(e, defs, prefix, count);
            }
        }
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e)
            check_refs(e, defs, prefix, count);
    }
}

static bool gvk_is(const json_t *g, const char *group, const char *version, const char *kind)
{
    return json_is_object(g) && strcmp(json_string_value(json_object_get(g, "group")), group) == 0 &&
           strcmp(json_string_value(json_object_get(g, "version")), version) == 0 &&
           strcmp(json_string_value(json_object_get(g, "kind")), kind) == 0;
}

static void test_v2(void **state)
{
    (void)state;
    struct ck_buf b = CK_BUF_INIT(32 << 20);
    assert_int_equal(schema_openapi_v2(&b), 0);
    json_t *doc = load_buf(&b);
    assert_string_equal(json_string_value(json_object_get(doc, "swagger")), "2.0");
    json_t *defs = json_object_get(doc, "definitions");
    assert_int_equal(json_object_size(defs), schema_type_count());
    size_t nref = 0;
    check_refs(doc, defs, "#/definitions/", &nref);
    assert_true(nref > 300);

    json_t *dep = json_object_get(defs, "io.k8s.api.apps.v1.Deployment");
    assert_non_null(dep);
    json_t *g = json_array_get(json_object_get(dep, "x-kubernetes-group-version-kind"), 0);
    assert_true(gvk_is(g, "apps", "v1", "Deployment"));
    assert_non_null(json_object_get(defs, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));

    json_t *ps = json_object_get(json_object_get(defs, "io.k8s.api.core.v1.PodSpec"),
                                 "properties");
    json_t *c = json_object_get(ps, "containers");
    assert_string_equal(json_string_value(json_object_get(c, "x-kubernetes-patch-merge-key")),
                        "name");
    assert_string_equal(json_string_value(json_object_get(c, "x-kubernetes-patch-strategy")),
                        "merge");
    assert_string_equal(json_string_value(json_object_get(c, "type")), "array");
    json_t *v = json_object_get(ps, "volumes");
    assert_string_equal(json_string_value(json_object_get(v, "x-kubernetes-patch-strategy")),
                        "merge,retainKeys");
    json_t *req = json_object_get(json_object_get(defs, "io.k8s.api.core.v1.PodSpec"), "required");
    assert_string_equal(json_string_value(json_array_get(req, 0)), "containers");
    json_t *sp = json_object_get(json_object_get(json_object_get(defs,
                                                  "io.k8s.api.core.v1.ServiceSpec"),
                                                  "properties"), "ports");
    json_t *mk = json_object_get(sp, "x-kubernetes-list-map-keys");
    assert_int_equal(json_array_size(mk), 2);
    assert_string_equal(json_string_value(json_array_get(mk, 1)), "protocol");
    json_t *ios = json_object_get(defs, "io.k8s.apimachinery.pkg.util.intstr.IntOrString");
    assert_string_equal(json_string_value(json_object_get(ios, "format")), "int-or-string");

    json_t *p = json_object_get(json_object_get(doc, "paths"),
                                "/apis/apps/v1/namespaces/{namespace}/deployments/{name}");
    json_t *patch = json_object_get(p, "patch");
    assert_non_null(patch);
    assert_true(gvk_is(json_object_get(patch, "x-kubernetes-group-version-kind"), "apps", "v1",
                       "Deployment"));
    json_decref(doc);
    ck_buf_release(&b);
}

/* The PATCH operation of the kind's item path, as kubectl's query-param verifier finds it. */
static const json_t *find_patch_op(const json_t *paths, const char *group, const char *version,
                                   const char *kind)
{
    const char *k;
    const json_t *p;
    json_object_foreach((json_t *)paths, k, p) {
        const json_t *op = json_object_get(p, "patch");
        if (op && gvk_is(json_object_get(op, "x-kubernetes-group-version-kind"), group, version,
                         kind))
            return op;
    }
    return NULL;
}

static bool has_query_param(const json_t *op, const char *name)
{
    size_t i;
    const json_t *prm;
    json_array_foreach(json_object_get(op, "parameters"), i, prm)
        if (strcmp(json_string_value(json_object_get(prm, "name")), name) == 0 &&
            strcmp(json_string_value(json_object_get(prm, "in")), "query") == 0)
            return true;
    return false;
}

static void check_gv_doc(const char *group, const char *version, const char *url)
{
    struct ck_buf b = CK_BUF_INIT(32 << 20);
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(schema_openapi_v3_gv(group, version, &b, &err), 0);
    json_t *doc = load_buf(&b);
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.0.0");
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    size_t nref = 0;
    check_refs(doc, schemas, "#/components/schemas/", &nref);
    assert_true(nref > 10);
    size_t kinds = 0;
    for (size_t i = 0; i < schema_type_count(); i++) {
        const struct schema_type *t = schema_type_at(i);
        if (!t->resource || strcmp(t->group, group) != 0 || strcmp(t->version, version) != 0)
            continue;
        kinds++;
        assert_non_null(json_object_get(schemas, t->name));
        const json_t *op = find_patch_op(json_object_get(doc, "paths"), group, version,
                                         t->gvk_kind);
        if (!op)
            fail_msg("%s: no PATCH operation for %s", url, t->gvk_kind);
        assert_true(has_query_param(op, "fieldValidation"));
        json_t *content = json_object_get(json_object_get(op, "requestBody"), "content");
        assert_non_null(json_object_get(content, "application/strategic-merge-patch+json"));
    }
    assert_true(kinds > 0);
    json_decref(doc);
    ck_buf_release(&b);
}

static void test_v3(void **state)
{
    (void)state;
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    assert_int_equal(schema_openapi_v3_index(&b), 0);
    json_t *idx = load_buf(&b);
    json_t *paths = json_object_get(idx, "paths");
    assert_non_null(json_object_get(paths, "api/v1"));
    assert_non_null(json_object_get(paths, "apis/apps/v1"));
    assert_non_null(json_object_get(paths, "apis/batch/v1"));
    /* served (HPA v1, stored as v2), so listed as upstream lists it */
    assert_non_null(json_object_get(paths, "apis/autoscaling/v1"));
    /* every served group-version has its document (the index once stopped at 16) */
    assert_non_null(json_object_get(paths, "apis/flowcontrol.apiserver.k8s.io/v1"));
    assert_non_null(json_object_get(paths, "apis/certificates.k8s.io/v1"));
    assert_non_null(json_object_get(paths, "apis/storage.k8s.io/v1"));
    const char *k;
    json_t *e;
    json_object_foreach(paths, k, e) {
        const char *url = json_string_value(json_object_get(e, "serverRelativeURL"));
        char want[200];
        snprintf(want, sizeof(want), "/openapi/v3/%s?hash=", k);
        assert_true(strncmp(url, want, strlen(want)) == 0);
        assert_int_equal(strlen(url + strlen(want)), 32);
        char group[64] = "", version[16];
        if (strncmp(k, "api/", 4) == 0)
            snprintf(version, sizeof(version), "%s", k + 4);
        else
            assert_int_equal(sscanf(k, "apis/%63[^/]/%15s", group, version), 2);
        check_gv_doc(group, version, url);
    }
    json_decref(idx);
    ck_buf_release(&b);

    /* the Deployment schema of the apps/v1 document, as kubectl explain reads it */
    struct ck_buf d = CK_BUF_INIT(32 << 20);
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(schema_openapi_v3_gv("apps", "v1", &d, &err), 0);
    json_t *doc = load_buf(&d);
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    json_t *dep = json_object_get(schemas, "io.k8s.api.apps.v1.Deployment");
    assert_true(gvk_is(json_array_get(json_object_get(dep, "x-kubernetes-group-version-kind"), 0),
                       "apps", "v1", "Deployment"));
    json_t *strat = json_object_get(json_object_get(json_object_get(schemas,
                                                    "io.k8s.api.apps.v1.DeploymentSpec"),
                                                    "properties"), "strategy");
    assert_string_equal(json_string_value(json_object_get(json_array_get(
                            json_object_get(strat, "allOf"), 0), "$ref")),
                        "#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy");
    assert_non_null(json_object_get(strat, "description"));
    json_t *ru = json_object_get(json_object_get(json_object_get(schemas,
                                                 "io.k8s.api.apps.v1.RollingUpdateDeployment"),
                                                 "properties"), "maxSurge");
    assert_non_null(ru);
    assert_null(json_object_get(schemas, "io.k8s.api.batch.v1.Job")); /* other group */
    json_t *st = json_object_get(json_object_get(json_object_get(schemas,
                                                 "io.k8s.api.apps.v1.DeploymentStrategy"),
                                                 "properties"), "type");
    json_t *en = json_object_get(st, "enum");
    assert_int_equal(json_array_size(en), 2);
    assert_string_equal(json_string_value(json_array_get(en, 0)), "Recreate");
    assert_string_equal(json_string_value(json_array_get(en, 1)), "RollingUpdate");
    json_decref(doc);
    ck_buf_release(&d);
}

static void test_v3_errors_and_cache(void **state)
{
    (void)state;
    struct ck_buf b = CK_BUF_INIT(32 << 20);
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(schema_openapi_v3_gv("example.com", "v1", &b, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    assert_int_equal(b.len, 0);
    ck_err_clear(&err);
    assert_int_equal(schema_openapi_v3_gv("", "v2", &b, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    /* a too-small buffer is an error, not a truncated document */
    struct ck_buf small = CK_BUF_INIT(1024);
    ck_err_clear(&err);
    assert_int_equal(schema_openapi_v3_gv("", "v1", &small, &err), -1);
    assert_int_equal(small.len, 0);
    /* cached bytes are identical between calls */
    struct ck_buf a1 = CK_BUF_INIT(32 << 20), a2 = CK_BUF_INIT(32 << 20);
    assert_int_equal(schema_openapi_v2(&a1), 0);
    assert_int_equal(schema_openapi_v2(&a2), 0);
    assert_int_equal(a1.len, a2.len);
    assert_memory_equal(a1.data, a2.data, a1.len);
    ck_buf_release(&a1);
    ck_buf_release(&a2);
    ck_buf_release(&small);
    ck_buf_release(&b);
}

/* Minimal protobuf reader for the checks below. */
static uint64_t rd_varint(const unsigned char **p, const unsigned char *end)
{
    uint64_t v = 0;
    for (int sh = 0; *p < end && sh < 64; sh += 7) {
        unsigned char c = *(*p)++;
        v |= (uint64_t)(c & 0x7f) << sh;
        if (!(c & 0x80))
            return v;
    }
    fail_msg("truncated varint");
    return 0;
}

/* Walks one message: every field must be a varint or a length-delimited value that fits.
 * Counts occurrences of field `want` and returns the last one's payload in *val. */
static size_t pb_fields(const unsigned char *p, size_t n, unsigned want, const unsigned char **val,
                        size_t *vlen)
{
    const unsigned char *end = p + n;
    size_t count = 0;
    while (p < end) {
        uint64_t key = rd_varint(&p, end);
        unsigned wt = (unsigned)(key & 7), field = (unsigned)(key >> 3);
        if (wt == 0) {
            rd_varint(&p, end);
            continue;
        }
        assert_int_equal(wt, 2);
        uint64_t len = rd_varint(&p, end);
        assert_true(len <= (uint64_t)(end - p));
        if (field == want) {
            count++;
            *val = p;
            *vlen = (size_t)len;
        }
        p += len;
    }
    return count;
}

static void test_v2_protobuf(void **state)
{
    (void)state;
    struct ck_buf b = CK_BUF_INIT(32 << 20);
    assert_int_equal(schema_openapi_v2_pb(&b), 0);
    const unsigned char *v;
    size_t vl;
    const unsigned char *doc = (const unsigned char *)b.data;
    assert_int_equal(pb_fields(doc, b.len, 1, &v, &vl), 1); /* swagger */
    assert_int_equal(vl, 3);
    assert_memory_equal(v, "2.0", 3);
    assert_int_equal(pb_fields(doc, b.len, 9, &v, &vl), 1); /* definitions */
    const unsigned char *defs = v;
    size_t dl = vl;
    assert_int_equal(pb_fields(defs, dl, 1, &v, &vl), schema_type_count());
    assert_int_equal(pb_fields(doc, b.len, 8, &v, &vl), 1); /* paths */
    const unsigned char *paths = v;
    size_t pl = vl;
    size_t served = 0;
    for (size_t i = 0; i < schema_type_count(); i++)
        served += schema_type_at(i)->resource ? 1 : 0;
    assert_int_equal(pb_fields(paths, pl, 2, &v, &vl), 2 * served);
    /* the GVK extension travels as YAML text inside the Deployment schema */
    const char *needle = "io.k8s.api.apps.v1.Deployment";
    assert_non_null(memmem(b.data, b.len, needle, strlen(needle)));
    assert_non_null(memmem(b.data, b.len, "x-kubernetes-group-version-kind", 31));
    const char *gvk = "{\"group\":\"apps\",\"kind\":\"Deployment\"";
    assert_non_null(memmem(b.data, b.len, gvk, strlen(gvk)));
    ck_buf_release(&b);
    struct ck_buf small = CK_BUF_INIT(100);
    assert_int_equal(schema_openapi_v2_pb(&small), -1);
    ck_buf_release(&small);
}

static void test_crds(void **state)
{
    (void)state;
    json_t *sch = json_loads("{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":"
                             "\"object\",\"properties\":{\"cronSpec\":{\"type\":\"string\"},"
                             "\"replicas\":{\"type\":\"integer\"}}},\"metadata\":{\"type\":"
                             "\"object\"}}}",
                             0, NULL);
    assert_non_null(sch);
    struct schema_crd_kind kinds[] = {
        {"stable.example.com", "v1", "CronTab", "crontabs", true, sch},
        {"stable.example.com", "v2", "CronTab", "crontabs", true, NULL},
        {"apps", "v1", "Intruder", "intruders", true, NULL}, /* built-in GV: ignored */
    };
    schema_openapi_set_crds(kinds, 3);
    json_decref(sch); /* copied */
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    assert_int_equal(schema_openapi_v3_index(&b), 0);
    json_t *idx = load_buf(&b);
    json_t *paths = json_object_get(idx, "paths");
    assert_non_null(json_object_get(paths, "apis/stable.example.com/v1"));
    assert_non_null(json_object_get(paths, "apis/stable.example.com/v2"));
    assert_non_null(json_object_get(paths, "apis/apps/v1"));
    json_decref(idx);
    ck_buf_release(&b);

    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(schema_openapi_v3_gv("stable.example.com", "v1", &b, &err), 0);
    json_t *doc = load_buf(&b);
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    size_t nref = 0;
    check_refs(doc, schemas, "#/components/schemas/", &nref);
    json_t *ct = json_object_get(schemas, "com.example.stable.v1.CronTab");
    assert_non_null(ct);
    assert_true(gvk_is(json_array_get(json_object_get(ct, "x-kubernetes-group-version-kind"), 0),
                       "stable.example.com", "v1", "CronTab"));
    json_t *props = json_object_get(ct, "properties");
    assert_non_null(json_object_get(json_object_get(json_object_get(props, "spec"), "properties"),
                                    "cronSpec"));
    assert_non_null(json_object_get(json_object_get(props, "metadata"), "allOf"));
    const json_t *op = find_patch_op(json_object_get(doc, "paths"), "stable.example.com", "v1",
                                     "CronTab");
    assert_non_null(op);
    assert_true(has_query_param(op, "fieldValidation"));
    json_t *content = json_object_get(json_object_get(op, "requestBody"), "content");
    assert_non_null(json_object_get(content, "application/merge-patch+json"));
    assert_null(json_object_get(content, "application/strategic-merge-patch+json"));
    assert_non_null(json_object_get(json_object_get(doc, "paths"),
                                    "/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"));
    json_decref(doc);
    ck_buf_release(&b);
    /* the built-in apps/v1 document is untouched */
    assert_int_equal(schema_openapi_v3_gv("apps", "v1", &b, &err), 0);
    assert_null(memmem(b.data, b.len, "Intruder", 8));
    ck_buf_release(&b);

    schema_openapi_set_crds(NULL, 0);
    assert_int_equal(schema_openapi_v3_gv("stable.example.com", "v1", &b, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    assert_int_equal(schema_openapi_v3_index(&b), 0);
    assert_null(memmem(b.data, b.len, "stable.example.com", 18));
    ck_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2),
        cmocka_unit_test(test_v3),
        cmocka_unit_test(test_v3_errors_and_cache),
        cmocka_unit_test(test_v2_protobuf),
        cmocka_unit_test(test_crds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
