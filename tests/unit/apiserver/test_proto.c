/* SPDX-License-Identifier: Apache-2.0 */
/* Protobuf body decoding, on real bodies captured from kubectl 1.33 (tests/data/proto/, one
 * per typed `kubectl create` command), plus hand-built malformed inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/encoding/proto.h"
#include "apiserver/encoding/proto_int.h"
#include "apiserver/registry/registry.h"

static char filebuf[1 << 16];

static size_t read_file(const char *name)
{
    const char *src = getenv("CKUBE_SRC");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/data/proto/%s", src ? src : ".", name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(filebuf, 1, sizeof(filebuf), f);
    fclose(f);
    return n;
}

static json_t *decode_file(const char *name)
{
    const char *src = getenv("CKUBE_SRC");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/data/proto/%s", src ? src : ".", name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    json_t *o = NULL;
    struct ck_err e = CK_ERR_INIT;
    if (proto_decode(buf, n, &o, &e) < 0)
        fail_msg("%s: %s", name, e.msg);
    return o;
}

/* Dotted path with [i] indexes: "spec.template.spec.containers[0].image". */
static json_t *path_get(json_t *o, const char *path)
{
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s", path);
    json_t *cur = o;
    for (char *save = NULL, *tok = strtok_r(tmp, ".", &save); tok && cur;
         tok = strtok_r(NULL, ".", &save)) {
        char *br = strchr(tok, '[');
        if (br)
            *br = 0;
        cur = json_object_get(cur, tok);
        if (br)
            cur = json_array_get(cur, (size_t)atoi(br + 1));
    }
    return cur;
}

static const char *path_str(json_t *o, const char *path)
{
    return json_string_value(path_get(o, path));
}

static long long path_int(json_t *o, const char *path)
{
    json_t *v = path_get(o, path);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static void test_configmap_and_secret(void **state)
{
    (void)state;
    json_t *cm = decode_file("configmaps.pb");
    assert_string_equal(path_str(cm, "kind"), "ConfigMap");
    assert_string_equal(path_str(cm, "apiVersion"), "v1");
    assert_string_equal(path_str(cm, "metadata.name"), "cm1");
    assert_string_equal(path_str(cm, "data.a"), "1");
    assert_string_equal(path_str(cm, "data.empty"), ""); /* map values keep empty strings */
    assert_null(json_object_get(json_object_get(cm, "metadata"), "namespace")); /* "" omitted */
    json_decref(cm);
    json_t *s = decode_file("secrets.pb");
    assert_string_equal(path_str(s, "data.user"), "YWRtaW4="); /* bytes -> base64 */
    assert_string_equal(path_str(s, "data.pw"), "cEBzcw==");
    json_decref(s);
}

static void test_deployment(void **state)
{
    (void)state;
    json_t *d = decode_file("deployments.pb");
    assert_string_equal(path_str(d, "apiVersion"), "apps/v1");
    assert_int_equal(path_int(d, "spec.replicas"), 3);
    assert_string_equal(path_str(d, "spec.selector.matchLabels.app"), "web");
    assert_string_equal(path_str(d, "spec.template.metadata.labels.app"), "web");
    assert_string_equal(path_str(d, "spec.template.spec.containers[0].image"), "nginx:1.25");
    assert_string_equal(path_str(d, "spec.template.spec.containers[0].name"), "nginx");
    assert_int_equal(path_int(d, "spec.template.spec.containers[0].ports[0].containerPort"), 8080);
    /* Go's JSON for the same object: empty structs stay, zero scalars go */
    assert_true(json_is_object(json_object_get(json_object_get(d, "spec"), "strategy")));
    assert_null(json_object_get(json_object_get(d, "spec"), "paused"));
    assert_null(json_object_get(json_object_get(d, "metadata"), "creationTimestamp"));
    json_decref(d);
}

static void test_batch_service_policy(void **state)
{
    (void)state;
    json_t *j = decode_file("jobs.pb");
    assert_string_equal(path_str(j, "spec.template.spec.restartPolicy"), "Never");
    assert_string_equal(path_str(j, "spec.template.spec.containers[0].command[2]"), "echo hi");
    json_decref(j);
    json_t *cj = decode_file("cronjobs.pb");
    assert_string_equal(path_str(cj, "spec.schedule"), "*/5 * * * *");
    assert_string_equal(path_str(cj, "spec.jobTemplate.spec.template.spec.restartPolicy"),
                        "OnFailure");
    json_decref(cj);
    json_t *svc = decode_file("services.pb");
    assert_string_equal(path_str(svc, "spec.type"), "NodePort");
    assert_int_equal(path_int(svc, "spec.ports[0].port"), 80);
    assert_int_equal(path_int(svc, "spec.ports[0].targetPort"), 8080); /* IntOrString int */
    json_decref(svc);
    json_t *pdb = decode_file("poddisruptionbudgets.pb");
    assert_string_equal(path_str(pdb, "apiVersion"), "policy/v1");
    assert_int_equal(path_int(pdb, "spec.minAvailable"), 1);
    json_decref(pdb);
    json_t *q = decode_file("resourcequotas.pb");
    assert_string_equal(path_str(q, "spec.hard.pods"), "10"); /* Quantity -> string */
    assert_non_null(json_object_get(json_object_get(json_object_get(q, "spec"), "hard"),
                                    "requests.cpu"));
    json_decref(q);
    json_t *ns = decode_file("namespaces.pb");
    assert_string_equal(path_str(ns, "metadata.name"), "pbns");
    json_decref(ns);
    json_t *sa = decode_file("serviceaccounts.pb");
    assert_string_equal(path_str(sa, "kind"), "ServiceAccount");
    json_decref(sa);
}

static void expect_error(const void *buf, size_t n, enum ck_reason r)
{
    json_t *o = NULL;
    struct ck_err e = CK_ERR_INIT;
    assert_int_equal(proto_decode(buf, n, &o, &e), -1);
    assert_null(o);
    assert_int_equal(e.reason, r);
}

static void test_malformed(void **state)
{
    (void)state;
    expect_error("", 0, CK_R_BAD_REQUEST);
    expect_error("{\"kind\":\"x\"}", 12, CK_R_BAD_REQUEST);          /* no magic */
    expect_error("k8s\0\x0a\x05", 6, CK_R_BAD_REQUEST);              /* truncated typeMeta */
    expect_error("k8s\0\x0a\x02\x12\x00", 8, CK_R_BAD_REQUEST);      /* typeMeta without kind */
    /* kind without a schema here */
    static const char nokind[] = "k8s\0\x0a\x06\x12\x04Nope\x12\x00";
    expect_error(nokind, sizeof(nokind) - 1, CK_R_UNSUPPORTED_MEDIA);
    /* ConfigMap whose metadata length runs past the end */
    static const char trunc[] = "k8s\0\x0a\x0b\x12\x09"
                                "ConfigMap\x12\x04\x0a\x09\x0a\x01";
    expect_error(trunc, sizeof(trunc) - 1, CK_R_BAD_REQUEST);
    /* invalid UTF-8 in a string field */
    static const char utf[] = "k8s\0\x0a\x0b\x12\x09"
                              "ConfigMap\x12\x05\x0a\x03\x0a\x01\xff";
    expect_error(utf, sizeof(utf) - 1, CK_R_BAD_REQUEST);
    assert_true(proto_is_content_type("application/vnd.kubernetes.protobuf"));
    assert_true(proto_is_content_type("application/vnd.kubernetes.protobuf;stream=watch"));
    assert_false(proto_is_content_type("application/json"));
    assert_false(proto_is_content_type(NULL));
}

/* kubectl's bodies are Go's Marshal output: decoding then encoding must give them back byte
 * for byte (zero non-pointer fields are written again, map keys sorted, field order). */
static void test_reencode_captured(void **state)
{
    (void)state;
    static const char *const files[] = {"configmaps.pb", "cronjobs.pb", "deployments.pb",
                                        "jobs.pb", "namespaces.pb", "poddisruptionbudgets.pb",
                                        "resourcequotas.pb", "secrets.pb", "serviceaccounts.pb",
                                        "services.pb"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t n = read_file(files[i]);
        json_t *o = NULL;
        struct ck_err e = CK_ERR_INIT;
        if (proto_decode(filebuf, n, &o, &e) < 0)
            fail_msg("%s: %s", files[i], e.msg);
        struct ck_buf b = CK_BUF_INIT(1 << 20);
        assert_int_equal(proto_encode(o, &b, &e), 0);
        if (b.len != n || memcmp(b.data, filebuf, n) != 0) {
            size_t at = 0;
            while (at < n && at < b.len && b.data[at] == filebuf[at])
                at++;
            fail_msg("%s: re-encoded %zu bytes, kubectl sent %zu; first difference at %zu",
                     files[i], b.len, n, at);
        }
        ck_buf_release(&b);
        json_decref(o);
    }
}

/* ---- a representative object per kind, from the schema ------------------------------------ */

static json_t *sample_msg(const struct pb_msg *m, int depth);

/* What Go's JSON shows for a zero value of a non-pointer field (NULL: nothing). */
static json_t *zero_form(const struct pb_type *t, int depth)
{
    switch (t->kind) {
    case PB_QUANTITY: return json_string("0");
    case PB_INTORSTRING: return json_integer(0);
    case PB_DURATION: return json_string("0s");
    case PB_MSG: {
        if (!t->msg || depth > 64)
            return NULL;
        json_t *o = json_object();
        for (size_t i = 0; i < t->msg->nfields; i++) {
            const struct pb_field *f = &t->msg->fields[i];
            if (f->ptr || f->repeated || f->map)
                continue;
            json_t *v = zero_form(&f->val, depth + 1);
            if (f->inline_ && json_is_object(v)) {
                json_object_update(o, v);
                json_decref(v);
            } else if (v) {
                json_object_set_new(o, f->name, v);
            }
        }
        return o;
    }
    default: return NULL;
    }
}

/* A non-zero value of type t (so that nothing is dropped as a Go zero value on the way back). */
static json_t *sample_value(const struct pb_type *t, uint32_t num, int depth)
{
    char s[32];
    switch (t->kind) {
    case PB_STRING: snprintf(s, sizeof(s), "s%u", num); return json_string(s);
    case PB_INT32: return json_integer(-(json_int_t)num - 1); /* negative: 10-byte varints */
    case PB_INT64: return json_integer((json_int_t)num * 10000000000LL);
    case PB_BOOL: return json_true();
    case PB_DOUBLE: return json_real(num + 0.5);
    case PB_FLOAT: return json_real(num + 0.25);
    case PB_BYTES: return json_string("aGk="); /* "hi" */
    case PB_TIME: return json_string("2024-01-02T03:04:05Z");
    case PB_MICROTIME: return json_string("2024-01-02T03:04:05.123456Z");
    case PB_QUANTITY: return json_string(num % 2 ? "100m" : "1Gi");
    case PB_INTORSTRING: return num % 2 ? json_integer(num) : json_string("25%");
    case PB_DURATION: return json_string("1m30s");
    case PB_RAWJSON: return json_pack("{s:i,s:[s]}", "a", 1, "b", "c");
    case PB_STRLIST: return json_pack("[s,s]", "x", "y");
    case PB_MSG: return t->msg && depth < 7 ? sample_msg(t->msg, depth + 1) : zero_form(t, depth);
    }
    return NULL;
}

static json_t *sample_msg(const struct pb_msg *m, int depth)
{
    json_t *o = json_object();
    for (size_t i = 0; i < m->nfields; i++) {
        const struct pb_field *f = &m->fields[i];
        json_t *v = sample_value(&f->val, f->num, depth);
        if (!v || (json_object_size(v) == 0 && json_is_object(v) && (f->ptr || f->repeated ||
                                                                     f->map))) {
            json_decref(v); /* a zero pointer / element would come back as {} or not at all */
            continue;
        }
        if (f->inline_ && json_is_object(v)) {
            json_object_update(o, v);
            json_decref(v);
        } else if (f->map) {
            json_t *k = json_object();
            json_object_set_new(k, f->key.kind == PB_STRING ? "k1" : "7", v);
            json_object_set_new(o, f->name, k);
        } else if (f->repeated) {
            json_t *a = json_array();
            json_array_append_new(a, v);
            json_object_set_new(o, f->name, a);
        } else {
            json_object_set_new(o, f->name, v);
        }
    }
    return o;
}

/* JSON -> protobuf (envelope) -> JSON must give the object back. */
static void round_trip(const char *api_version, const char *kind)
{
    const struct pb_msg *m = pb_msg_for_kind(api_version, kind);
    if (!m)
        fail_msg("no protobuf message for %s, Kind=%s", api_version, kind);
    json_t *o = sample_msg(m, 0);
    json_object_set_new(o, "apiVersion", json_string(api_version));
    json_object_set_new(o, "kind", json_string(kind));
    struct ck_buf b = CK_BUF_INIT(64 << 20);
    struct ck_err e = CK_ERR_INIT;
    assert_int_equal(proto_encode(o, &b, &e), 0);
    assert_memory_equal(b.data, "k8s\0", 4);
    json_t *back = NULL;
    if (proto_decode(b.data, b.len, &back, &e) < 0)
        fail_msg("%s %s: %s", api_version, kind, e.msg);
    if (!json_equal(o, back)) {
        char *x = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
        char *y = json_dumps(back, JSON_SORT_KEYS | JSON_COMPACT);
        size_t at = 0;
        while (x[at] && x[at] == y[at])
            at++;
        fail_msg("%s %s differs at %zu:\n sent %.300s\n  got %.300s", api_version, kind, at,
                 x + (at > 80 ? at - 80 : 0), y + (at > 80 ? at - 80 : 0));
    }
    /* and the bytes are a fixed point */
    struct ck_buf b2 = CK_BUF_INIT(64 << 20);
    assert_int_equal(proto_encode(back, &b2, &e), 0);
    assert_int_equal(b2.len, b.len);
    assert_memory_equal(b2.data, b.data, b.len);
    ck_buf_release(&b2);
    json_decref(back);
    ck_buf_release(&b);
    json_decref(o);
}

static void test_round_trip_registry(void **state)
{
    (void)state;
    size_t n = reg_count();
    assert_true(n > 30);
    for (size_t i = 0; i < n; i++) {
        const struct reg_resource *r = reg_at(i);
        round_trip(r->api_version, r->kind);
        if (!(r->flags & REG_VIRTUAL)) /* reviews have no List kind upstream */
            round_trip(r->api_version, r->list_kind);
    }
}

/* Kinds being added to the registry, subresource and option kinds, meta kinds. */
static void test_round_trip_more(void **state)
{
    (void)state;
    static const char *const kinds[][2] = {
        {"autoscaling/v1", "HorizontalPodAutoscaler"}, {"autoscaling/v1", "Scale"},
        {"autoscaling/v2", "HorizontalPodAutoscalerList"},
        {"certificates.k8s.io/v1", "CertificateSigningRequest"},
        {"admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"},
        {"admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"},
        {"admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"},
        {"admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"},
        {"node.k8s.io/v1", "RuntimeClass"}, {"storage.k8s.io/v1", "CSIDriver"},
        {"storage.k8s.io/v1", "CSINode"}, {"storage.k8s.io/v1", "VolumeAttachment"},
        {"storage.k8s.io/v1", "CSIStorageCapacity"},
        {"flowcontrol.apiserver.k8s.io/v1", "FlowSchema"},
        {"flowcontrol.apiserver.k8s.io/v1", "PriorityLevelConfiguration"},
        {"flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema"},
        {"flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfiguration"},
        {"events.k8s.io/v1", "Event"}, {"authentication.k8s.io/v1beta1", "SelfSubjectReview"},
        {"authentication.k8s.io/v1", "TokenReview"}, {"authentication.k8s.io/v1", "TokenRequest"},
        {"authorization.k8s.io/v1", "SelfSubjectRulesReview"},
        {"v1", "ComponentStatus"}, {"v1", "Status"}, {"v1", "DeleteOptions"},
        {"v1", "WatchEvent"}, {"v1", "Binding"}, {"policy/v1", "Eviction"},
        {"meta.k8s.io/v1", "PartialObjectMetadata"},
        {"meta.k8s.io/v1", "PartialObjectMetadataList"}, {"apps/v1", "ControllerRevision"},
    };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        round_trip(kinds[i][0], kinds[i][1]);
    /* core/v1 Event and events.k8s.io/v1 Event are different messages */
    assert_ptr_not_equal(pb_msg_for_kind("v1", "Event"), pb_msg_for_kind("events.k8s.io/v1", "Event"));
    /* upstream serves no Table as protobuf: there is no message for it */
    assert_null(pb_msg_for_kind("meta.k8s.io/v1", "Table"));
    assert_false(proto_has_kind("example.com/v1", "Widget"));
}

/* Hand-checked bytes: a ConfigMap as Go's Marshal writes it. */
static void test_encode_bytes(void **state)
{
    (void)state;
    json_t *cm = json_pack("{s:s,s:s,s:{s:s},s:{s:s,s:s}}", "apiVersion", "v1", "kind",
                           "ConfigMap", "metadata", "name", "a", "data", "z", "1", "b", "");
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    struct ck_err e = CK_ERR_INIT;
    assert_int_equal(proto_encode_message("v1.ConfigMap", cm, &b, &e), 0);
    /* metadata: name "a", then every non-pointer field of ObjectMeta as its zero value (the
     * zero creationTimestamp as an empty message); pointers, maps and slices left out */
    static const char want_md[] = "\x0a\x11\x0a\x01" "a" "\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00"
                                  "\x38\x00\x42\x00";
    /* data: entries sorted by key ("b" before "z"), empty values kept */
    static const char want_data[] = "\x12\x05\x0a\x01" "b" "\x12\x00"
                                    "\x12\x06\x0a\x01" "z" "\x12\x01" "1";
    assert_int_equal(b.len, sizeof(want_md) - 1 + sizeof(want_data) - 1);
    assert_memory_equal(b.data, want_md, sizeof(want_md) - 1);
    assert_memory_equal(b.data + sizeof(want_md) - 1, want_data, sizeof(want_data) - 1);
    ck_buf_release(&b);
    json_decref(cm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configmap_and_secret),
        cmocka_unit_test(test_deployment),
        cmocka_unit_test(test_batch_service_policy),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_reencode_captured),
        cmocka_unit_test(test_round_trip_registry),
        cmocka_unit_test(test_round_trip_more),
        cmocka_unit_test(test_encode_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
