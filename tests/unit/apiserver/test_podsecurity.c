/* SPDX-License-Identifier: Apache-2.0 */
/* PodSecurity admission (admission/podsecurity.c): the baseline and restricted levels, the
 * check order and upstream's aggregated texts. Expected strings are upstream's
 * (pod-security-admission policy/check_*.go formats). */
#include "apiserver/admission/admission.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static json_t *spec_of(const char *json)
{
    json_error_t je;
    json_t *s = json_loads(json, 0, &je);
    if (!s)
        fail_msg("bad test JSON: %s", je.text);
    return s;
}

static bool eval(const char *level, const char *spec_json, char *out, size_t n)
{
    json_t *spec = spec_of(spec_json);
    bool ok = adm_psa_evaluate(level, NULL, spec, out, n);
    json_decref(spec);
    return ok;
}

#define GOOD_CONTAINER                                                                             \
    "{\"name\":\"c\",\"image\":\"busybox\",\"securityContext\":{"                                  \
    "\"allowPrivilegeEscalation\":false,\"capabilities\":{\"drop\":[\"ALL\"]},"                    \
    "\"runAsNonRoot\":true,\"seccompProfile\":{\"type\":\"RuntimeDefault\"}}}"

static void test_privileged_level_allows_all(void **state)
{
    (void)state;
    char out[2048];
    assert_true(eval("privileged",
                     "{\"hostNetwork\":true,\"containers\":[{\"name\":\"c\",\"securityContext\":"
                     "{\"privileged\":true}}]}",
                     out, sizeof(out)));
    assert_string_equal(out, "");
}

static void test_restricted_privileged_pod(void **state)
{
    (void)state;
    char out[2048];
    assert_false(eval("restricted",
                      "{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\","
                      "\"securityContext\":{\"privileged\":true}}]}",
                      out, sizeof(out)));
    assert_string_equal(
        out, "privileged (container \"c\" must not set securityContext.privileged=true), "
             "allowPrivilegeEscalation != false (container \"c\" must set "
             "securityContext.allowPrivilegeEscalation=false), unrestricted capabilities "
             "(container \"c\" must set securityContext.capabilities.drop=[\"ALL\"]), "
             "runAsNonRoot != true (pod or container \"c\" must set "
             "securityContext.runAsNonRoot=true), seccompProfile (pod or container \"c\" must "
             "set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")");
}

static void test_baseline_privileged_pod(void **state)
{
    (void)state;
    char out[2048];
    assert_false(eval("baseline",
                      "{\"containers\":[{\"name\":\"a\",\"securityContext\":{\"privileged\":true}},"
                      "{\"name\":\"b\",\"securityContext\":{\"privileged\":true}}]}",
                      out, sizeof(out)));
    assert_string_equal(
        out, "privileged (containers \"a\", \"b\" must not set securityContext.privileged=true)");
    /* the restricted-only checks do not apply at baseline */
    assert_true(
        eval("baseline", "{\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}", out, sizeof(out)));
}

static void test_restricted_good_pod(void **state)
{
    (void)state;
    char out[2048];
    assert_true(eval("restricted", "{\"containers\":[" GOOD_CONTAINER "]}", out, sizeof(out)));
    /* pod-level runAsNonRoot and seccomp cover the containers */
    assert_true(eval("restricted",
                     "{\"securityContext\":{\"runAsNonRoot\":true,\"seccompProfile\":{\"type\":"
                     "\"Localhost\",\"localhostProfile\":\"p\"}},\"containers\":[{\"name\":\"c\","
                     "\"securityContext\":{\"allowPrivilegeEscalation\":false,\"capabilities\":"
                     "{\"drop\":[\"ALL\"],\"add\":[\"NET_BIND_SERVICE\"]}}}],\"volumes\":[{"
                     "\"name\":\"v\",\"emptyDir\":{}},{\"name\":\"p\",\"projected\":{}}]}",
                     out, sizeof(out)));
}

static void test_host_namespaces_ports_paths(void **state)
{
    (void)state;
    char out[2048];
    assert_false(eval("baseline",
                      "{\"hostNetwork\":true,\"hostIPC\":true,\"containers\":[{\"name\":\"c\","
                      "\"ports\":[{\"containerPort\":80,\"hostPort\":8080},{\"containerPort\":"
                      "81,\"hostPort\":10081}]}],\"volumes\":[{\"name\":\"h\",\"hostPath\":{"
                      "\"path\":\"/\"}}]}",
                      out, sizeof(out)));
    assert_string_equal(out, "host namespaces (hostNetwork=true, hostIPC=true), hostPath volumes "
                             "(volume \"h\"), hostPort (container \"c\" uses hostPorts 10081, "
                             "8080)");
    /* restricted: hostPath is reported by restricted volume types instead */
    assert_false(eval("restricted",
                      "{\"containers\":[" GOOD_CONTAINER "],\"volumes\":[{\"name\":\"h\","
                      "\"hostPath\":{\"path\":\"/\"}},{\"name\":\"n\",\"nfs\":{}}]}",
                      out, sizeof(out)));
    assert_string_equal(out, "restricted volume types (volumes \"h\", \"n\" use restricted volume "
                             "types \"hostPath\", \"nfs\")");
}

static void test_capabilities(void **state)
{
    (void)state;
    char out[2048];
    assert_false(eval("baseline",
                      "{\"containers\":[{\"name\":\"c\",\"securityContext\":{\"capabilities\":{"
                      "\"add\":[\"SYS_ADMIN\",\"NET_RAW\",\"CHOWN\"]}}}]}",
                      out, sizeof(out)));
    assert_string_equal(out, "non-default capabilities (container \"c\" must not include "
                             "\"NET_RAW\", \"SYS_ADMIN\" in securityContext.capabilities.add)");
    assert_false(eval("restricted",
                      "{\"securityContext\":{\"runAsNonRoot\":true,\"seccompProfile\":{\"type\":"
                      "\"RuntimeDefault\"}},\"containers\":[{\"name\":\"c\",\"securityContext\":"
                      "{\"allowPrivilegeEscalation\":false,\"capabilities\":{\"drop\":[\"ALL\"],"
                      "\"add\":[\"CHOWN\"]}}}]}",
                      out, sizeof(out)));
    assert_string_equal(out, "unrestricted capabilities (container \"c\" must not include "
                             "\"CHOWN\" in securityContext.capabilities.add)");
}

static void test_explicit_bad_values(void **state)
{
    (void)state;
    char out[2048];
    assert_false(eval("restricted",
                      "{\"securityContext\":{\"runAsNonRoot\":false,\"runAsUser\":0,"
                      "\"seccompProfile\":{\"type\":\"Unconfined\"},\"sysctls\":[{\"name\":"
                      "\"kernel.msgmax\",\"value\":\"1\"},{\"name\":\"net.ipv4.tcp_syncookies\","
                      "\"value\":\"1\"}]},\"containers\":[{\"name\":\"c\",\"securityContext\":{"
                      "\"allowPrivilegeEscalation\":false,\"capabilities\":{\"drop\":[\"ALL\"]},"
                      "\"procMount\":\"Unmasked\"}}]}",
                      out, sizeof(out)));
    assert_string_equal(out,
                        "procMount (container \"c\" must not set securityContext.procMount to "
                        "\"Unmasked\"), forbidden sysctls (kernel.msgmax), runAsNonRoot != true "
                        "(pod must not set securityContext.runAsNonRoot=false), runAsUser=0 (pod "
                        "must not set runAsUser=0), seccompProfile (pod must not set "
                        "securityContext.seccompProfile.type to \"Unconfined\")");
}

static void test_init_and_ephemeral_containers(void **state)
{
    (void)state;
    char out[2048];
    assert_false(eval("baseline",
                      "{\"initContainers\":[{\"name\":\"i\",\"securityContext\":{\"privileged\":"
                      "true}}],\"containers\":[{\"name\":\"c\"}],\"ephemeralContainers\":[{"
                      "\"name\":\"e\",\"securityContext\":{\"privileged\":true}}]}",
                      out, sizeof(out)));
    assert_string_equal(
        out, "privileged (containers \"i\", \"e\" must not set securityContext.privileged=true)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_privileged_level_allows_all),
        cmocka_unit_test(test_restricted_privileged_pod),
        cmocka_unit_test(test_baseline_privileged_pod),
        cmocka_unit_test(test_restricted_good_pod),
        cmocka_unit_test(test_host_namespaces_ports_paths),
        cmocka_unit_test(test_capabilities),
        cmocka_unit_test(test_explicit_bad_values),
        cmocka_unit_test(test_init_and_ephemeral_containers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
