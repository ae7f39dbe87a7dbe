/* SPDX-License-Identifier: Apache-2.0 */
/* StatefulSet validation: containers may mount a volume named after one of the
 * volumeClaimTemplates (the controller gives each pod a persistentVolumeClaim volume per
 * template), a mount of an unknown volume is still rejected, and the check goes through the
 * engine (POST 201 / 422) as well as validation_validate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apiserver/registry/validation.h"
#include "engine_harness.h"

#include "lib/banned.h"

/* A StatefulSet "db" whose container mounts `mount`, with claim templates `claims` (a JSON
 * array) and pod volumes `vols` (a JSON array). */
static char *sts(const char *mount, const char *claims, const char *vols)
{
    static char buf[2048];
    snprintf(buf, sizeof(buf),
             "{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{\"name\":\"db\"},"
             "\"spec\":{\"serviceName\":\"db\",\"selector\":{\"matchLabels\":{\"app\":\"db\"}},"
             "\"template\":{\"metadata\":{\"labels\":{\"app\":\"db\"}},\"spec\":{\"volumes\":%s,"
             "\"containers\":[{\"name\":\"c\",\"image\":\"postgres\",\"volumeMounts\":[{\"name\":"
             "\"%s\",\"mountPath\":\"/var/lib/data\"}]}]}},\"volumeClaimTemplates\":%s}}",
             vols, mount, claims);
    return buf;
}

#define CLAIM(n)                                                                                   \
    "{\"metadata\":{\"name\":\"" n "\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],"            \
    "\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}"

/* Defaults and validates; returns the message ("" when valid). */
static const char *validate(const char *text)
{
    static char msg[1024];
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    if (!o)
        fail_msg("bad test json: %s: %s", je.text, text);
    validation_default("apps", "statefulsets", o);
    struct ck_err err = CK_ERR_INIT;
    int rc = validation_validate("apps", "statefulsets", "StatefulSet", o, NULL, &err);
    snprintf(msg, sizeof(msg), "%s", rc == 0 ? "" : err.msg);
    json_decref(o);
    return msg;
}

static void test_mount_of_claim_template_is_valid(void **state)
{
    (void)state;
    assert_string_equal(validate(sts("data", "[" CLAIM("data") "]", "[]")), "");
    /* with other volumes too, and a second template */
    assert_string_equal(validate(sts("logs", "[" CLAIM("data") "," CLAIM("logs") "]",
                                     "[{\"name\":\"cfg\",\"emptyDir\":{}}]")),
                        "");
    /* a pod volume of the same name as a template is not a duplicate */
    assert_string_equal(
        validate(sts("data", "[" CLAIM("data") "]", "[{\"name\":\"data\",\"emptyDir\":{}}]")), "");
}

static void test_unknown_mount_is_rejected(void **state)
{
    (void)state;
    assert_string_equal(
        validate(sts("nope", "[" CLAIM("data") "]", "[]")),
        "StatefulSet.apps \"db\" is invalid: "
        "spec.template.spec.containers[0].volumeMounts[0].name: Not found: \"nope\"");
    assert_string_equal(
        validate(sts("data", "[]", "[]")),
        "StatefulSet.apps \"db\" is invalid: "
        "spec.template.spec.containers[0].volumeMounts[0].name: Not found: \"data\"");
}

static void test_engine_create(void **state)
{
    struct env *e = *state;
    json_t *v = NULL;
    const char *path = "/apis/apps/v1/namespaces/default/statefulsets";
    assert_int_equal(req(e, "POST", path, NULL, sts("data", "[" CLAIM("data") "]", "[]"), &v), 201);
    /* the stored object is what the client sent: no volume was added to the template */
    assert_int_equal(
        json_array_size(json_object_get(
            json_object_get(json_object_get(json_object_get(v, "spec"), "template"), "spec"),
            "volumes")),
        0);
    json_decref(v);
    v = NULL;
    const char *bad = sts("nope", "[" CLAIM("data") "]", "[]");
    char body[2048];
    snprintf(body, sizeof(body), "%s", bad);
    char *n = strstr(body, "\"name\":\"db\"");
    assert_non_null(n);
    memcpy(n, "\"name\":\"dc\"", 11);
    assert_int_equal(req(e, "POST", path, NULL, body, &v), 422);
    assert_string_equal(jpath(v, "reason"), "Invalid");
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mount_of_claim_template_is_valid),
        cmocka_unit_test(test_unknown_mount_is_rejected),
        cmocka_unit_test_setup_teardown(test_engine_create, env_setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
