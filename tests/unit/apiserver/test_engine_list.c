/* SPDX-License-Identifier: Apache-2.0 */
/* Engine LIST tests on a real LMDB store: label/field selectors, paging consistency while
 * writes continue (every page at the first page's revision), continue token validation and
 * expiry (410 after compaction), resourceVersion/resourceVersionMatch, deletecollection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine_harness.h"


static void mkcm(struct env *e, const char *ns, const char *name, const char *label)
{
    char body[512], path[128];
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\","
             "\"labels\":{\"app\":\"%s\"}},\"data\":{\"v\":\"0\"}}",
             name, label);
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps", ns);
    assert_int_equal(req(e, "POST", path, NULL, body, NULL), 201);
}

static size_t count_items(struct env *e, const char *path, const char *query, int *status)
{
    json_t *v = NULL;
    *status = req(e, "GET", path, query, NULL, &v);
    size_t n = json_array_size(json_object_get(v, "items"));
    json_decref(v);
    return n;
}

static void test_selectors(void **state)
{
    struct env *e = *state;
    int st;
    for (int i = 0; i < 6; i++) {
        char name[32];
        snprintf(name, sizeof(name), "cm%d", i);
        mkcm(e, "default", name, i % 2 ? "odd" : "even");
    }
    mkcm(e, "kube-system", "sys", "even");
    assert_int_equal(count_items(e, "/api/v1/namespaces/default/configmaps", NULL, &st), 6);
    assert_int_equal(count_items(e, "/api/v1/configmaps", NULL, &st), 7);
    assert_int_equal(count_items(e, "/api/v1/namespaces/default/configmaps",
                                 "labelSelector=app%3Deven", &st),
                     3);
    assert_int_equal(count_items(e, "/api/v1/configmaps", "labelSelector=app+in+(even)", &st), 4);
    assert_int_equal(count_items(e, "/api/v1/configmaps", "labelSelector=app!%3Deven", &st), 3);
    assert_int_equal(count_items(e, "/api/v1/configmaps",
                                 "fieldSelector=metadata.namespace%3Dkube-system", &st),
                     1);
    assert_int_equal(count_items(e, "/api/v1/configmaps", "fieldSelector=metadata.name%3Dcm3",
                                 &st),
                     1);
    json_t *v;
    assert_int_equal(req(e, "GET", "/api/v1/configmaps", "fieldSelector=spec.foo%3Dx", NULL, &v),
                     400);
    assert_string_equal(jpath(v, "message"), "field label not supported: spec.foo");
    json_decref(v);
    assert_int_equal(req(e, "GET", "/api/v1/configmaps", "labelSelector=a+in+b", NULL, &v), 400);
    json_decref(v);

    /* pods by node (binding) and unscheduled */
    const char *pod = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\"},"
                      "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}";
    for (int i = 0; i < 4; i++) {
        char body[256], name[16];
        snprintf(name, sizeof(name), "p%d", i);
        snprintf(body, sizeof(body), pod, name);
        assert_int_equal(req(e, "POST", "/api/v1/namespaces/default/pods", NULL, body, NULL),
                         201);
    }
    const char *bind = "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":"
                       "\"p1\"},\"target\":{\"name\":\"node-a\"}}";
    assert_int_equal(req(e, "POST", "/api/v1/namespaces/default/pods/p1/binding", NULL, bind,
                         NULL),
                     201);
    assert_int_equal(count_items(e, "/api/v1/pods", "fieldSelector=spec.nodeName%3Dnode-a", &st),
                     1);
    assert_int_equal(count_items(e, "/api/v1/pods", "fieldSelector=spec.nodeName%3D", &st), 3);
    assert_int_equal(count_items(e, "/api/v1/pods",
                                 "fieldSelector=status.phase!%3DSucceeded,status.phase!%3DFailed",
                                 &st),
                     4);
    assert_int_equal(count_items(e, "/api/v1/pods", "fieldSelector=spec.host%3Dnode-a", &st), 1);
    /* the node index follows deletes, and combines with namespace and label filters */
    assert_int_equal(count_items(e, "/api/v1/pods",
                                 "fieldSelector=spec.nodeName%3Dnode-a,metadata.namespace%3Ddefault",
                                 &st),
                     1);
    assert_int_equal(count_items(e, "/api/v1/namespaces/kube-system/pods",
                                 "fieldSelector=spec.nodeName%3Dnode-a", &st),
                     0);
    assert_int_equal(count_items(e, "/api/v1/pods", "fieldSelector=spec.nodeName%3Dnode-zz", &st),
                     0);
    assert_int_equal(st, 200);
    assert_int_equal(req(e, "DELETE", "/api/v1/namespaces/default/pods/p1", "gracePeriodSeconds=0",
                         NULL, NULL),
                     200);
    assert_int_equal(count_items(e, "/api/v1/pods", "fieldSelector=spec.nodeName%3Dnode-a", &st),
                     0);
    assert_int_equal(count_items(e, "/api/v1/pods", "fieldSelector=spec.nodeName%3D", &st), 3);
    assert_int_equal(count_items(e, "/api/v1/configmaps",
                                 "fieldSelector=metadata.namespace%3Ddefault&labelSelector=app%3Dodd",
                                 &st),
                     3);
}

struct snap {
    char names[64][32];
    char rvs[64][24];
    size_t n;
};

static void collect(json_t *list, struct snap *s)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(list, "items"), i, it)
    {
        snprintf(s->names[s->n], 32, "%s", jpath(it, "metadata.name"));
        snprintf(s->rvs[s->n], 24, "%s", jpath(it, "metadata.resourceVersion"));
        s->n++;
    }
}

/* The value of one sample in the engine's /metrics text, or -1. */
static long long metric(struct env *e, const char *sample)
{
    struct ck_buf m = CK_BUF_INIT(1 << 20);
    assert_int_equal(api_metrics(e->s, &m), 0);
    const char *p = strstr(m.data, sample);
    long long v = p ? atoll(p + strlen(sample)) : -1;
    ck_buf_release(&m);
    return v;
}

#define SNAP_PAGES "ckube_apiserver_list_exact_pages_total{source=\"snapshot\"} "
#define STORE_PAGES "ckube_apiserver_list_exact_pages_total{source=\"store\"} "

static void test_paging_consistent(void **state)
{
    struct env *e = *state;
    for (int i = 0; i < 30; i++) {
        char name[32];
        snprintf(name, sizeof(name), "c%02d", i);
        mkcm(e, "default", name, "x");
    }
    json_t *full;
    assert_int_equal(req(e, "GET", "/api/v1/namespaces/default/configmaps", NULL, NULL, &full),
                     200);
    struct snap want = {0}, got = {0};
    collect(full, &want);
    char listrv[24];
    snprintf(listrv, sizeof(listrv), "%s", jpath(full, "metadata.resourceVersion"));
    json_decref(full);
    assert_int_equal(want.n, 30);

    json_t *page;
    assert_int_equal(req(e, "GET", "/api/v1/namespaces/default/configmaps", "limit=10", NULL,
                         &page),
                     200);
    assert_string_equal(jpath(page, "metadata.resourceVersion"), listrv);
    assert_int_equal(jint(page, "metadata.remainingItemCount"), 20);
    collect(page, &got);
    char tok[512];
    snprintf(tok, sizeof(tok), "%s", jpath(page, "metadata.continue"));
    json_decref(page);
    /* writes between pages: modify, delete and add objects in the not-yet-read range */
    assert_int_equal(req(e, "PATCH", "/api/v1/namespaces/default/configmaps/c15", NULL,
                         "{\"data\":{\"v\":\"1\"}}", NULL),
                     200);
    assert_int_equal(req(e, "DELETE", "/api/v1/namespaces/default/configmaps/c20", NULL, NULL,
                         NULL),
                     200);
    mkcm(e, "default", "c25a", "x");
    long long snap0 = metric(e, SNAP_PAGES), store0 = metric(e, STORE_PAGES);
    int pages = 0;
    while (tok[0]) {
        pages++;
        char q[700];
        snprintf(q, sizeof(q), "limit=10&continue=%s", tok);
        assert_int_equal(req(e, "GET", "/api/v1/namespaces/default/configmaps", q, NULL, &page),
                         200);
        assert_string_equal(jpath(page, "metadata.resourceVersion"), listrv);
        collect(page, &got);
        const char *c = jpath(page, "metadata.continue");
        snprintf(tok, sizeof(tok), "%s", c ? c : "");
        json_decref(page);
    }
    assert_int_equal(got.n, want.n);
    for (size_t i = 0; i < want.n; i++) {
        assert_string_equal(got.names[i], want.names[i]);
        assert_string_equal(got.rvs[i], want.rvs[i]);
    }
    /* the later pages came from the in-memory snapshot the first page left, not the store */
    assert_int_equal(pages, 2);
    assert_int_equal(metric(e, SNAP_PAGES), snap0 + pages);
    assert_int_equal(metric(e, STORE_PAGES), store0);
    /* exact list at the old revision shows the old state; the current one the new */
    char q[128];
    snprintf(q, sizeof(q), "resourceVersion=%s&resourceVersionMatch=Exact", listrv);
    int st;
    assert_int_equal(count_items(e, "/api/v1/namespaces/default/configmaps", q, &st), 30);
    assert_int_equal(st, 200);
    assert_int_equal(count_items(e, "/api/v1/namespaces/default/configmaps", NULL, &st), 30);
    snprintf(q, sizeof(q), "resourceVersion=%s&resourceVersionMatch=NotOlderThan", listrv);
    json_t *v;
    assert_int_equal(req(e, "GET", "/api/v1/namespaces/default/configmaps", q, NULL, &v), 200);
    assert_true(atoll(jpath(v, "metadata.resourceVersion")) > atoll(listrv));
    json_decref(v);
}

static void test_continue_errors(void **state)
{
    struct env *e = *state;
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof(name), "k%d", i);
        mkcm(e, "default", name, "x");
    }
    json_t *v;
    assert_int_equal(req(e, "GET", "/api/v1/namespaces/default/configmaps", "limit=2", NULL, &v),
                     200);
    char tok[512];
    snprintf(tok, sizeof(tok), "%s", jpath(v, "metadata.continue"));
    json_decref(v);
    assert_true(strlen(tok) > 0);
    const char *bad[] = {"continue=!!!", "continue=e30", "continue=bm90anNvbg",
                         "continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6LTEsInN0YXJ0IjoiIn0"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(req(e, "GET", "/api/v1/namespaces/default/configmaps", bad[i], NULL, &v),
                         400);
        assert_string_equal(jpath(v, "reason"), "BadRequest");
        json_decref(v);
    }
    char q[700];
    snprintf(q, sizeof(q), "continue=%s&resourceVersion=5", tok);
    assert_int_equal(req(e, "GET", "/api/v1/namespaces/default/configmaps", q, NULL, NULL), 400);
    assert_int_equal(req(e, "GET", "/api/v1/namespaces/default/configmaps",
                         "resourceVersionMatch=Exact", NULL, &v),
                     422);
    json_decref(v);
    assert_int_equal(req(e, "GET", "/api/v1/namespaces/default/configmaps",
                         "resourceVersion=0&resourceVersionMatch=Exact", NULL, NULL),
                     422);
    /* a write after the token, then compaction past the token's revision: 410 Expired */
    mkcm(e, "default", "k9", "x");
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(store_compact(e->st, store_current_revision(e->st), &err), 0);
    snprintf(q, sizeof(q), "limit=2&continue=%s", tok);
    assert_int_equal(req(e, "GET", "/api/v1/namespaces/default/configmaps", q, NULL, &v), 410);
    assert_string_equal(jpath(v, "reason"), "Expired");
    json_decref(v);
}

static void test_deletecollection(void **state)
{
    struct env *e = *state;
    for (int i = 0; i < 6; i++) {
        char name[32];
        snprintf(name, sizeof(name), "d%d", i);
        mkcm(e, "default", name, i < 4 ? "gone" : "keep");
    }
    json_t *v;
    assert_int_equal(req(e, "DELETE", "/api/v1/namespaces/default/configmaps",
                         "labelSelector=app%3Dgone", NULL, &v),
                     200);
    assert_string_equal(jpath(v, "kind"), "ConfigMapList");
    assert_int_equal(json_array_size(json_object_get(v, "items")), 4);
    json_decref(v);
    int st;
    assert_int_equal(count_items(e, "/api/v1/namespaces/default/configmaps", NULL, &st), 2);
}

static void test_partial_metadata_list(void **state)
{
    struct env *e = *state;
    mkcm(e, "default", "pm", "x");
    json_t *v;
    assert_int_equal(reqx(e, "GET", "/api/v1/namespaces/default/configmaps", NULL, NULL,
                          "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
                          NULL, &v, NULL),
                     200);
    assert_string_equal(jpath(v, "kind"), "PartialObjectMetadataList");
    json_t *it = json_array_get(json_object_get(v, "items"), 0);
    assert_string_equal(jpath(it, "metadata.name"), "pm");
    assert_null(json_object_get(it, "data"));
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_selectors, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_paging_consistent, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_continue_errors, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_deletecollection, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_partial_metadata_list, env_setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
