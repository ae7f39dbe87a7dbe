/* SPDX-License-Identifier: Apache-2.0 */
/* LIST cost accounting on a real engine (LMDB store in a temp dir): keying by User-Agent
 * product and resource, scanned/returned/bytes against the real responses, the bounded table
 * under thousands of agents, the Prometheus text, and GET /debug/api/top-lists (sort, limit,
 * system:masters only, bad arguments). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apiserver/endpoints/endpoints.h"
#include "engine_harness.h"

#include <pthread.h>

static const char *const masters[] = {"system:masters", "system:authenticated", NULL};


/* One GET as user agent ua with groups; returns the status, *len = response body bytes. */
static int get_as(struct env *e, const char *path, const char *query, const char *ua,
                  const char *const *groups, json_t **out, size_t *len)
{
    struct api_request rq = {.method = "GET", .path = path, .query = query, .user_agent = ua,
                             .user = "tester", .groups = groups};
    struct api_response rs;
    api_response_init(&rs, 64 << 20);
    assert_int_equal(api_handle(e->s, &rq, &rs, NULL), API_DONE);
    if (len)
        *len = rs.body.len;
    if (out) {
        json_error_t je;
        *out = rs.body.len ? json_loadb(rs.body.data, rs.body.len, 0, &je) : NULL;
    }
    int st = rs.status;
    api_response_release(&rs);
    return st;
}

static json_t *top(struct env *e, const char *query)
{
    json_t *v = NULL;
    assert_int_equal(get_as(e, "/debug/api/top-lists", query, NULL, masters, &v, NULL), 200);
    assert_non_null(v);
    assert_string_equal(jpath(v, "kind"), "ListCostReport");
    assert_true(json_is_array(json_object_get(v, "items")));
    return v;
}

/* The report row for (agent, resource), or NULL. */
static json_t *row(json_t *report, const char *agent, const char *resource)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(report, "items"), i, it) {
        if (strcmp(jpath(it, "userAgent"), agent) == 0 &&
            strcmp(jpath(it, "resource"), resource) == 0)
            return it;
    }
    return NULL;
}

static void mkpod(struct env *e, const char *ns, const char *name, const char *app)
{
    char body[512], path[128];
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"labels\":"
             "{\"app\":\"%s\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}",
             name, app);
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods", ns);
    assert_int_equal(req(e, "POST", path, NULL, body, NULL), 201);
}

/* Requests, objects scanned/returned and bytes per (product, resource) match what was
 * actually served; other clients and resources get their own rows. */
static void test_keying_and_counts(void **state)
{
    struct env *e = *state;
    const char *kubectl = "kubectl/v1.33.0 (linux/amd64) kubernetes/abc";
    mkpod(e, "default", "a1", "x");
    mkpod(e, "default", "a2", "x");
    mkpod(e, "default", "a3", "x");
    mkpod(e, "default", "b1", "y");
    mkpod(e, "default", "b2", "y");
    assert_int_equal(req(e, "POST", "/api/v1/namespaces", NULL,
                         "{\"metadata\":{\"name\":\"other-ns\"}}", NULL), 201);
    mkpod(e, "other-ns", "c1", "x");

    size_t len, bytes = 0;
    assert_int_equal(get_as(e, "/api/v1/pods", NULL, kubectl, NULL, NULL, &len), 200);
    bytes += len;
    assert_int_equal(get_as(e, "/api/v1/namespaces/default/pods", "labelSelector=app%3Dx",
                            "kubectl/v1.30.1 (darwin/arm64) kubernetes/def", NULL, NULL, &len),
                     200);
    bytes += len;
    assert_int_equal(get_as(e, "/apis/apps/v1/deployments", NULL, kubectl, NULL, NULL, &len), 200);
    assert_int_equal(get_as(e, "/api/v1/pods", NULL, "kube-scheduler/v1.33.0", NULL, NULL, NULL),
                     200);
    /* GETs of one object and errors are not LISTs */
    assert_int_equal(get_as(e, "/api/v1/namespaces/default/pods/a1", NULL, kubectl, NULL, NULL,
                            NULL), 200);
    assert_int_equal(get_as(e, "/api/v1/pods", "labelSelector=%21%21", kubectl, NULL, NULL, NULL),
                     400);

    json_t *v = top(e, "limit=100");
    json_t *p = row(v, "kubectl", "pods");
    assert_non_null(p);
    assert_int_equal(jint(p, "requests"), 2);
    /* all 6 pods, then 5 pods of default scanned for 3 matches */
    assert_int_equal(jint(p, "objectsScanned"), 6 + 5);
    assert_int_equal(jint(p, "objectsReturned"), 6 + 3);
    assert_int_equal(jint(p, "bytes"), (json_int_t)bytes);
    double secs = json_real_value(json_object_get(p, "seconds"));
    double maxs = json_real_value(json_object_get(p, "maxSeconds"));
    assert_true(secs > 0 && maxs > 0 && maxs <= secs);
    json_t *d = row(v, "kubectl", "deployments.apps");
    assert_non_null(d);
    assert_int_equal(jint(d, "requests"), 1);
    assert_int_equal(jint(d, "objectsReturned"), 0);
    assert_true(jint(d, "bytes") > 0);
    json_t *s = row(v, "kube-scheduler", "pods");
    assert_non_null(s);
    assert_int_equal(jint(s, "requests"), 1);
    assert_int_equal(jint(s, "objectsReturned"), 6);
    assert_int_equal(json_array_size(json_object_get(v, "items")), 3);
    json_decref(v);
}

static void add(struct api_server *s, const char *ua, const char *group, const char *plural,
                size_t scanned, size_t returned, size_t bytes, int64_t ns)
{
    const struct reg_resource *res = reg_find(group, group[0] ? "v1" : "v1", plural);
    assert_non_null(res);
    struct eng_list_cost c = {.user_agent = ua, .res = res, .scanned = scanned,
                              .returned = returned, .bytes = bytes, .ns = ns};
    eng_listcost_add(s->lc, &c);
}

/* The product token: up to the first '/' or blank, unsafe bytes replaced, bounded length,
 * "unknown" when absent, a literal "other" joins the overflow bucket. */
static void test_product_token(void **state)
{
    struct env *e = *state;
    struct {
        const char *ua, *want;
    } cases[] = {
        {"kubectl/v1.33.0 (linux/amd64) kubernetes/abc", "kubectl"},
        {"kubectl.1.27/v1.27.16 (linux/amd64)", "kubectl.1.27"},
        {"Go-http-client/1.1", "Go-http-client"},
        {"curl 8.5", "curl"},
        {"  spaced/1", "spaced"},
        {"we\"ird\\ag\nent{x}=/1", "we_ird_ag_ent_x__"},
        {"", "unknown"},
        {NULL, "unknown"},
        {"/v1.0", "unknown"},
        {"other/1.0", "other"},
        {"0123456789012345678901234567890123456789012345678901234567890123456789",
         "01234567890123456789012345678901234567890123456"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        add(e->s, cases[i].ua, "", "configmaps", 1, 1, 10 + i, 1000);
    json_t *v = top(e, "limit=100&sort=requests");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_non_null(row(v, cases[i].want, "configmaps"));
    json_t *u = row(v, "unknown", "configmaps");
    assert_int_equal(jint(u, "requests"), 3);
    assert_int_equal(jint(u, "bytes"), 16 + 17 + 18);
    /* 11 user agents, 3 of them unknown: 9 rows */
    assert_int_equal(json_array_size(json_object_get(v, "items")), 9);
    json_decref(v);
}

/* Requests are conserved and the table stays bounded however many agents call. */
static void test_bounded_table(void **state)
{
    struct env *e = *state;
    enum { AGENTS = 1500 };
    for (int i = 0; i < AGENTS; i++) {
        char ua[64];
        snprintf(ua, sizeof(ua), "bot-%04d/1.0", i);
        add(e->s, ua, "", "pods", 2, 1, 100, 10);
        add(e->s, ua, "", "secrets", 2, 1, 100, 10);
        add(e->s, ua, "apps", "deployments", 2, 1, 100, 10);
    }
    json_t *v = top(e, "limit=100000&sort=requests");
    json_t *items = json_object_get(v, "items");
    size_t n = json_array_size(items), i;
    json_t *it;
    long long total = 0;
    assert_true(n <= 256 + 3);
    json_array_foreach(items, i, it)
        total += jint(it, "requests");
    assert_int_equal(total, 3 * AGENTS);
    /* first come keep their row; the rest land on (other, resource) */
    assert_non_null(row(v, "bot-0000", "pods"));
    assert_null(row(v, "bot-1499", "pods"));
    json_t *op = row(v, "other", "pods"), *od = row(v, "other", "deployments.apps");
    assert_non_null(op);
    assert_non_null(od);
    assert_true(jint(op, "requests") > AGENTS - 256);
    assert_int_equal(jint(op, "bytes"), jint(op, "requests") * 100);
    assert_int_equal(jint(op, "objectsScanned"), jint(op, "requests") * 2);
    json_decref(v);

    /* metrics: one sample per row and family, no more */
    struct ck_buf m = CK_BUF_INIT(16 << 20);
    assert_int_equal(api_metrics(e->s, &m), 0);
    size_t samples = 0;
    for (const char *p = m.data; (p = strstr(p, "\nckube_apiserver_list_cost_requests_total{"));
         p++)
        samples++;
    assert_int_equal(samples, n);
    assert_true(m.len < 512 * 1024);
    ck_buf_release(&m);
}

/* Every family has HELP and TYPE once, then well-formed labelled samples. */
static void test_metrics_text(void **state)
{
    struct env *e = *state;
    add(e->s, "kubectl/v1", "", "pods", 7, 5, 1234, 1500000000);
    add(e->s, "kubectl/v1", "", "pods", 3, 1, 66, 500000000);
    struct ck_buf m = CK_BUF_INIT(1 << 20);
    assert_int_equal(api_metrics(e->s, &m), 0);
    ck_buf_appendc(&m, '\0');
    const char *t = m.data;
    static const char *const want[] = {
        "ckube_apiserver_list_cost_requests_total{user_agent=\"kubectl\",resource=\"pods\"} 2\n",
        "ckube_apiserver_list_cost_objects_scanned_total{user_agent=\"kubectl\","
        "resource=\"pods\"} 10\n",
        "ckube_apiserver_list_cost_objects_returned_total{user_agent=\"kubectl\","
        "resource=\"pods\"} 6\n",
        "ckube_apiserver_list_cost_bytes_total{user_agent=\"kubectl\",resource=\"pods\"} 1300\n",
        "ckube_apiserver_list_cost_seconds_total{user_agent=\"kubectl\",resource=\"pods\"} "
        "2.000000000\n",
        "ckube_apiserver_list_cost_max_seconds{user_agent=\"kubectl\",resource=\"pods\"} "
        "1.500000000\n",
        "# TYPE ckube_apiserver_list_cost_requests_total counter\n",
        "# TYPE ckube_apiserver_list_cost_objects_scanned_total counter\n",
        "# TYPE ckube_apiserver_list_cost_objects_returned_total counter\n",
        "# TYPE ckube_apiserver_list_cost_bytes_total counter\n",
        "# TYPE ckube_apiserver_list_cost_seconds_total counter\n",
        "# TYPE ckube_apiserver_list_cost_max_seconds gauge\n",
        "# HELP ckube_apiserver_list_cost_bytes_total ",
        "ckube_apiserver_list_bytes_total ", /* the unlabelled counters stay */
        "ckube_apiserver_requests_total{verb=\"LIST\"} ",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const char *p = strstr(t, want[i]);
        if (!p)
            fail_msg("missing in metrics: %s\n%s", want[i], t);
        if (want[i][0] == '#')
            assert_null(strstr(p + 1, want[i])); /* once */
    }
    /* samples of a family follow its TYPE line without interruption */
    const char *ty = strstr(t, "# TYPE ckube_apiserver_list_cost_bytes_total counter\n");
    const char *next = strchr(ty, '\n') + 1;
    static const char first[] = "ckube_apiserver_list_cost_bytes_total{";
    assert_true(strncmp(next, first, sizeof(first) - 1) == 0);
    ck_buf_release(&m);
}

/* sort= picks the order (descending), limit= cuts the list. */
static void test_sort_and_limit(void **state)
{
    struct env *e = *state;
    /*            agent     scanned returned bytes    ns   (requests) */
    add(e->s, "a/1", "", "pods", 10, 1, 5000, 100);
    add(e->s, "b/1", "", "pods", 900, 1, 10, 200);
    add(e->s, "c/1", "", "pods", 20, 1, 20, 9000);
    for (int i = 0; i < 4; i++)
        add(e->s, "d/1", "", "pods", 1, 1, 1, 1);
    static const struct {
        const char *q, *first, *second;
    } cases[] = {
        {"", "a", "c"}, /* bytes by default: a 5000, c 20, b 10, d 4 */
        {"sort=bytes", "a", "c"},
        {"sort=scanned", "b", "c"},
        {"sort=seconds", "c", "b"},
        {"sort=requests", "d", "a"}, /* d 4, then ties at 1 by name */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *v = top(e, cases[i].q[0] ? cases[i].q : NULL);
        json_t *items = json_object_get(v, "items");
        assert_int_equal(json_array_size(items), 4);
        assert_string_equal(jpath(json_array_get(items, 0), "userAgent"), cases[i].first);
        assert_string_equal(jpath(json_array_get(items, 1), "userAgent"), cases[i].second);
        json_decref(v);
    }
    json_t *v = top(e, "sort=scanned&limit=2");
    json_t *items = json_object_get(v, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(jpath(json_array_get(items, 1), "userAgent"), "c");
    json_decref(v);
    /* default limit is 20 */
    for (int i = 0; i < 30; i++) {
        char ua[32];
        snprintf(ua, sizeof(ua), "z%02d/1", i);
        add(e->s, ua, "", "services", 1, 1, 1, 1);
    }
    v = top(e, NULL);
    assert_int_equal(json_array_size(json_object_get(v, "items")), 20);
    json_decref(v);
}

/* Only system:masters may read the report; bad arguments and methods are refused. */
static void test_access_and_errors(void **state)
{
    struct env *e = *state;
    json_t *v = NULL;
    static const char *const users[] = {"system:authenticated", NULL};
    assert_int_equal(get_as(e, "/debug/api/top-lists", NULL, NULL, users, &v, NULL), 403);
    assert_string_equal(jpath(v, "kind"), "Status");
    assert_string_equal(jpath(v, "reason"), "Forbidden");
    json_decref(v);
    assert_int_equal(get_as(e, "/debug/api/top-lists", NULL, NULL, NULL, NULL, NULL), 403);
    assert_int_equal(req(e, "GET", "/debug/api/top-lists", NULL, NULL, NULL), 403);
    static const char *const bad[] = {"sort=name", "limit=0", "limit=-3", "limit=x", "limit="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(get_as(e, "/debug/api/top-lists", bad[i], NULL, masters, &v, NULL), 400);
        assert_string_equal(jpath(v, "reason"), "BadRequest");
        json_decref(v);
    }
    struct api_request rq = {.method = "POST", .path = "/debug/api/top-lists", .groups = masters};
    struct api_response rs;
    api_response_init(&rs, 1 << 20);
    api_handle(e->s, &rq, &rs, NULL);
    assert_int_equal(rs.status, 405);
    api_response_release(&rs);
    /* neighbouring paths stay unknown */
    assert_int_equal(get_as(e, "/debug/api/top-lists/x", NULL, NULL, masters, NULL, NULL), 404);
    assert_int_equal(get_as(e, "/debug/api", NULL, NULL, masters, NULL, NULL), 404);
    /* an empty report is a valid one */
    v = top(e, NULL);
    assert_int_equal(json_array_size(json_object_get(v, "items")), 0);
    json_decref(v);
}

struct adder {
    struct api_server *s;
    int id;
};

static void *adder_main(void *arg)
{
    struct adder *a = arg;
    const struct reg_resource *res = reg_find("", "v1", "pods");
    char ua[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(ua, sizeof(ua), "t%d-%d/1", a->id, i % 400);
        struct eng_list_cost c = {.user_agent = ua, .res = res, .scanned = 1, .returned = 1,
                                  .bytes = 3, .ns = 1};
        eng_listcost_add(a->s->lc, &c);
    }
    return NULL;
}

/* Concurrent adders lose nothing. */
static void test_concurrent(void **state)
{
    struct env *e = *state;
    pthread_t t[4];
    struct adder a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (struct adder){e->s, i};
        assert_int_equal(pthread_create(&t[i], NULL, adder_main, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    json_t *v = top(e, "limit=1000");
    size_t i;
    json_t *it;
    long long req_total = 0, bytes = 0;
    json_array_foreach(json_object_get(v, "items"), i, it) {
        req_total += jint(it, "requests");
        bytes += jint(it, "bytes");
    }
    assert_int_equal(req_total, 4 * 5000);
    assert_int_equal(bytes, 3 * 4 * 5000);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keying_and_counts, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_product_token, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_bounded_table, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_metrics_text, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_sort_and_limit, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_access_and_errors, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent, env_setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
