/* SPDX-License-Identifier: Apache-2.0 */
/* The engine answering in protobuf (application/vnd.kubernetes.protobuf): GET, LIST (plain
 * and lent bodies), Status errors, create with a protobuf body, Accept q-values and the
 * formats upstream never serves as protobuf (Table), and watch streams in upstream's
 * length-delimited WatchEvent frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apiserver/encoding/proto.h"
#include "engine_harness.h"

#define PB "application/vnd.kubernetes.protobuf"

struct resp {
    int status;
    char ctype[96];
    struct ck_buf body;
};

static void call(struct env *e, const char *method, const char *path, const char *query,
                 const char *ctype, const char *accept, const char *body, size_t blen,
                 bool want_iov, struct resp *out)
{
    static const char *const masters[] = {"system:masters", NULL}; /* RBAC escalation checks */
    struct api_request rq = {.method = method,
                             .path = path,
                             .query = query,
                             .content_type = ctype,
                             .accept = accept,
                             .user = "test",
                             .groups = masters,
                             .body = body,
                             .body_len = blen};
    struct api_response rs;
    api_response_init(&rs, 64 << 20);
    rs.want_iov = want_iov;
    struct api_watch *w = NULL;
    assert_int_equal(api_handle(e->s, &rq, &rs, &w), API_DONE);
    out->status = rs.status;
    snprintf(out->ctype, sizeof(out->ctype), "%s", rs.content_type);
    out->body = (struct ck_buf)CK_BUF_INIT(64 << 20);
    if (rs.lent.niov)
        for (size_t i = 0; i < rs.lent.niov; i++)
            ck_buf_append(&out->body, rs.lent.iov[i].base, rs.lent.iov[i].len);
    else
        ck_buf_append(&out->body, rs.body.data ? rs.body.data : "", rs.body.len);
    api_response_release(&rs);
}

/* Decodes a protobuf response body; fails the test if it is not one. */
static json_t *pb_body(struct resp *r)
{
    assert_string_equal(r->ctype, PB);
    assert_true(r->body.len > 4);
    assert_memory_equal(r->body.data, "k8s\0", 4);
    json_t *o = NULL;
    struct ck_err e = CK_ERR_INIT;
    if (proto_decode(r->body.data, r->body.len, &o, &e) < 0)
        fail_msg("response does not decode: %s", e.msg);
    return o;
}

static void put_cm(struct env *e, const char *name, const char *v)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\"},"
             "\"data\":{\"v\":\"%s\"}}",
             name, v);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/namespaces/default/configmaps/%s", name);
    int st = req(e, "PUT", path, NULL, body, NULL);
    if (st == 404)
        st = req(e, "POST", "/api/v1/namespaces/default/configmaps", NULL, body, NULL);
    assert_true(st == 200 || st == 201);
}

static void test_get_list_status(void **state)
{
    struct env *e = *state;
    put_cm(e, "one", "1");
    put_cm(e, "two", "2");
    struct resp r;
    /* GET: the same object as the JSON answer */
    call(e, "GET", "/api/v1/namespaces/default/configmaps/one", NULL, NULL, PB, NULL, 0, false, &r);
    assert_int_equal(r.status, 200);
    json_t *pb = pb_body(&r);
    ck_buf_release(&r.body);
    json_t *js = NULL;
    assert_int_equal(req(e, "GET", "/api/v1/namespaces/default/configmaps/one", NULL, NULL, &js),
                     200);
    if (!json_equal(pb, js)) {
        char *a = json_dumps(pb, JSON_SORT_KEYS), *b = json_dumps(js, JSON_SORT_KEYS);
        fail_msg("protobuf GET %s\n     JSON GET %s", a, b);
    }
    json_decref(pb);
    json_decref(js);
    /* LIST, as a plain and as a lent body */
    for (int lent = 0; lent < 2; lent++) {
        call(e, "GET", "/api/v1/namespaces/default/configmaps", NULL, NULL, PB ", application/json",
             NULL, 0, lent, &r);
        assert_int_equal(r.status, 200);
        json_t *l = pb_body(&r);
        ck_buf_release(&r.body);
        assert_string_equal(jpath(l, "kind"), "ConfigMapList");
        assert_string_equal(jpath(l, "apiVersion"), "v1");
        assert_int_equal(json_array_size(json_object_get(l, "items")), 2);
        assert_string_equal(jpath(json_array_get(json_object_get(l, "items"), 1), "data.v"), "2");
        assert_non_null(jpath(l, "metadata.resourceVersion"));
        json_decref(l);
    }
    /* errors are Status objects in protobuf too */
    call(e, "GET", "/api/v1/namespaces/default/configmaps/nope", NULL, NULL, PB, NULL, 0, false,
         &r);
    assert_int_equal(r.status, 404);
    json_t *st = pb_body(&r);
    ck_buf_release(&r.body);
    assert_string_equal(jpath(st, "kind"), "Status");
    assert_string_equal(jpath(st, "reason"), "NotFound");
    assert_int_equal(jint(st, "code"), 404);
    assert_string_equal(jpath(st, "details.name"), "nope");
    json_decref(st);
}

static void test_create_role(void **state)
{
    struct env *e = *state;
    json_t *role =
        json_pack("{s:s,s:s,s:{s:s},s:[{s:[s,s],s:[s],s:[s]}]}", "apiVersion",
                  "rbac.authorization.k8s.io/v1", "kind", "Role", "metadata", "name", "reader",
                  "rules", "verbs", "get", "list", "apiGroups", "", "resources", "pods");
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(proto_encode(role, &b, &err), 0);
    struct resp r;
    call(e, "POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles", NULL, PB, PB,
         b.data, b.len, false, &r);
    assert_int_equal(r.status, 201);
    json_t *got = pb_body(&r);
    ck_buf_release(&r.body);
    assert_string_equal(jpath(got, "kind"), "Role");
    assert_string_equal(jpath(got, "metadata.namespace"), "default");
    json_t *rule = json_array_get(json_object_get(got, "rules"), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(rule, "apiGroups"), 0)),
                        "");
    assert_string_equal(json_string_value(json_array_get(json_object_get(rule, "verbs"), 1)),
                        "list");
    json_decref(got);
    /* stored as JSON, readable as JSON */
    json_t *js = NULL;
    assert_int_equal(req(e, "GET",
                         "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/reader", NULL,
                         NULL, &js),
                     200);
    json_t *res = json_object_get(json_array_get(json_object_get(js, "rules"), 0), "resources");
    assert_string_equal(json_string_value(json_array_get(res, 0)), "pods");
    json_decref(js);
    ck_buf_release(&b);
    json_decref(role);
}

static void test_negotiation(void **state)
{
    struct env *e = *state;
    put_cm(e, "n", "1");
    const char *path = "/api/v1/namespaces/default/configmaps/n";
    struct resp r;
    /* q-values rank the ranges, not their order */
    call(e, "GET", path, NULL, NULL, "application/json;q=0.5, " PB, NULL, 0, false, &r);
    assert_string_equal(r.ctype, PB);
    ck_buf_release(&r.body);
    call(e, "GET", path, NULL, NULL, PB ";q=0.1, application/json", NULL, 0, false, &r);
    assert_string_equal(r.ctype, "application/json");
    ck_buf_release(&r.body);
    call(e, "GET", path, NULL, NULL, PB ";q=0, application/json;q=0.2", NULL, 0, false, &r);
    assert_string_equal(r.ctype, "application/json");
    ck_buf_release(&r.body);
    /* no Table in protobuf: a client asking only for that gets 406 */
    call(e, "GET", path, NULL, NULL, PB ";as=Table;g=meta.k8s.io;v=v1", NULL, 0, false, &r);
    assert_int_equal(r.status, 406);
    ck_buf_release(&r.body);
    /* ... and the JSON Table when it lists both */
    call(e, "GET", path, NULL, NULL,
         PB ";as=Table;g=meta.k8s.io;v=v1, application/json;as=Table;g=meta.k8s.io;v=v1", NULL, 0,
         false, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.ctype, "application/json"));
    ck_buf_release(&r.body);
    /* PartialObjectMetadataList is served in protobuf (as upstream's metadata client asks) */
    call(e, "GET", "/api/v1/namespaces/default/configmaps", NULL, NULL,
         PB ";as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json", NULL, 0, false,
         &r);
    assert_int_equal(r.status, 200);
    json_t *l = pb_body(&r);
    ck_buf_release(&r.body);
    assert_string_equal(jpath(l, "kind"), "PartialObjectMetadataList");
    assert_string_equal(jpath(l, "apiVersion"), "meta.k8s.io/v1");
    assert_string_equal(jpath(json_array_get(json_object_get(l, "items"), 0), "metadata.name"),
                        "n");
    assert_null(json_object_get(json_array_get(json_object_get(l, "items"), 0), "data"));
    json_decref(l);
}

/* ---- watch frames ------------------------------------------------------------------------ */

static uint64_t varint(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;
    for (int s = 0; *p < end && s < 64; s += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80))
            return v;
    }
    fail_msg("bad varint");
    return 0;
}

/* A bare WatchEvent{type=1, object=2{raw=1}} -> {"type":..., "object": decoded raw}. */
static json_t *watch_event(const uint8_t *p, const uint8_t *end)
{
    json_t *ev = json_object();
    while (p < end) {
        uint64_t tag = varint(&p, end);
        assert_int_equal(tag & 7, 2);
        uint64_t n = varint(&p, end);
        assert_true(n <= (uint64_t)(end - p));
        if (tag >> 3 == 1) {
            json_object_set_new(ev, "type", json_stringn((const char *)p, n));
        } else if (tag >> 3 == 2) {
            const uint8_t *q = p, *qe = p + n;
            assert_int_equal(varint(&q, qe), (1 << 3) | 2); /* RawExtension.raw */
            uint64_t rn = varint(&q, qe);
            assert_int_equal(rn, (uint64_t)(qe - q));
            json_t *o = NULL;
            struct ck_err err = CK_ERR_INIT;
            if (proto_decode(q, rn, &o, &err) < 0)
                fail_msg("event object: %s", err.msg);
            json_object_set_new(ev, "object", o);
        }
        p += n;
    }
    return ev;
}

/* Splits a drained stream into its length-delimited frames. */
static json_t *frames(struct api_watch *w)
{
    struct ck_buf b = CK_BUF_INIT(64 << 20);
    api_watch_drain(w, &b);
    json_t *arr = json_array();
    const uint8_t *p = (const uint8_t *)b.data, *end = p + b.len;
    while (p < end) {
        assert_true(end - p >= 4);
        size_t n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
        p += 4;
        assert_true(n <= (size_t)(end - p));
        json_array_append_new(arr, watch_event(p, p + n));
        p += n;
    }
    ck_buf_release(&b);
    return arr;
}

static void test_watch(void **state)
{
    struct env *e = *state;
    put_cm(e, "w1", "a");
    struct api_request rq = {.method = "GET",
                             .path = "/api/v1/namespaces/default/configmaps",
                             .query = "watch=1&sendInitialEvents=true&resourceVersionMatch="
                                      "NotOlderThan&allowWatchBookmarks=true",
                             .accept = PB ";stream=watch, application/json;stream=watch"};
    struct api_response rs;
    api_response_init(&rs, 1 << 20);
    struct api_watch *w = NULL;
    assert_int_equal(api_handle(e->s, &rq, &rs, &w), API_WATCH);
    assert_int_equal(rs.status, 200);
    assert_string_equal(rs.content_type, PB ";stream=watch");
    api_response_release(&rs);
    put_cm(e, "w1", "b");
    json_t *evs = frames(w);
    assert_int_equal(json_array_size(evs), 3);
    assert_string_equal(jpath(json_array_get(evs, 0), "type"), "ADDED");
    assert_string_equal(jpath(json_array_get(evs, 0), "object.kind"), "ConfigMap");
    assert_string_equal(jpath(json_array_get(evs, 0), "object.data.v"), "a");
    assert_string_equal(jpath(json_array_get(evs, 1), "type"), "BOOKMARK");
    json_t *ann = json_object_get(
        json_object_get(json_object_get(json_array_get(evs, 1), "object"), "metadata"),
        "annotations");
    assert_string_equal(json_string_value(json_object_get(ann, "k8s.io/initial-events-end")),
                        "true");
    assert_string_equal(jpath(json_array_get(evs, 2), "type"), "MODIFIED");
    assert_string_equal(jpath(json_array_get(evs, 2), "object.data.v"), "b");
    json_decref(evs);
    api_watch_close(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_list_status, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_create_role, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_negotiation, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_watch, env_setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
