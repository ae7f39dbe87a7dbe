/* SPDX-License-Identifier: Apache-2.0 */
/* OCI config.json generation: golden comparisons (tests/unit/runtime/golden/<name>.json; set
 * CKUBE_UPDATE_GOLDEN=1 to rewrite them after a deliberate change) plus targeted checks,
 * and image user resolution against real passwd/group files. */
#include "runtime/oci_spec.h"
#include "lib/buf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void check_golden(json_t *got, const char *name)
{
    const char *src = getenv("CKUBE_SRC");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/unit/runtime/golden/%s", src ? src : ".", name);
    if (getenv("CKUBE_UPDATE_GOLDEN")) {
        assert_int_equal(json_dump_file(got, path, JSON_INDENT(2) | JSON_SORT_KEYS), 0);
        return;
    }
    json_error_t je;
    json_t *want = json_load_file(path, 0, &je);
    if (!want)
        fail_msg("golden %s: %s", path, je.text);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_INDENT(2) | JSON_SORT_KEYS);
        fprintf(stderr, "generated config differs from %s:\n%s\n", path, g);
        free(g);
        json_decref(want);
        fail();
    }
    json_decref(want);
}

static void test_basic_golden(void **state)
{
    (void)state;
    const char *argv[] = {"httpd", "-f", "-p", "8080", NULL};
    const char *env[] = {"PATH=/bin", "A=b", NULL};
    struct rt_resources res = {.cpu_shares = 512, .cpu_quota = 50000, .memory_limit = 33554432,
                               .pids_limit = 64};
    struct rt_mount m[] = {{"/srv/data", "/data", true}, {"/srv/rw", "/rw", false}};
    struct rt_oci_input in = {.argv = argv, .env = env, .cwd = "/www", .uid = 1000, .gid = 1000,
                              .hostname = "web", .rootfs = "/r/containers/c1/bundle/rootfs",
                              .netns_path = "/run/netns/ckube-p1",
                              .cgroups_path = "/kubepods/podu1/c1", .res = &res,
                              .hosts_file = "/r/sandboxes/p1/hosts",
                              .resolv_file = "/r/sandboxes/p1/resolv.conf",
                              .hostname_file = "/r/sandboxes/p1/hostname", .mounts = m,
                              .nmounts = 2};
    json_t *spec = rt_oci_spec(&in);
    check_golden(spec, "config_basic.json");
    /* targeted checks that do not depend on the golden file */
    json_t *lx = json_object_get(spec, "linux");
    assert_string_equal(json_string_value(json_object_get(lx, "cgroupsPath")), "/kubepods/podu1/c1");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(lx, "resources"), "memory"), "limit")),
                     33554432);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(lx, "resources"), "cpu"), "period")),
                     100000);
    json_t *caps = json_object_get(json_object_get(json_object_get(spec, "process"), "capabilities"), "bounding");
    assert_int_equal(json_array_size(caps), 14);
    bool has_sys_admin = false;
    size_t i;
    json_t *it;
    json_array_foreach(caps, i, it) has_sys_admin |= !strcmp(json_string_value(it), "CAP_SYS_ADMIN");
    assert_false(has_sys_admin);
    json_t *ns = json_object_get(lx, "namespaces");
    json_t *net = json_array_get(ns, json_array_size(ns) - 1);
    assert_string_equal(json_string_value(json_object_get(net, "path")), "/run/netns/ckube-p1");
    assert_true(json_array_size(json_object_get(lx, "maskedPaths")) > 5);
    json_decref(spec);
}

static void test_privileged_golden(void **state)
{
    (void)state;
    const char *argv[] = {"sh", NULL};
    struct rt_oci_input in = {.argv = argv, .hostname = "h", .rootfs = "/rootfs",
                              .privileged = true};
    json_t *spec = rt_oci_spec(&in);
    check_golden(spec, "config_privileged.json");
    json_t *lx = json_object_get(spec, "linux");
    assert_null(json_object_get(lx, "maskedPaths"));
    assert_null(json_object_get(lx, "cgroupsPath"));
    json_t *caps = json_object_get(json_object_get(json_object_get(spec, "process"), "capabilities"), "effective");
    assert_true(json_array_size(caps) > 30);
    /* no netns path: a fresh network namespace */
    json_t *ns = json_object_get(lx, "namespaces");
    assert_null(json_object_get(json_array_get(ns, json_array_size(ns) - 1), "path"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(spec, "process"), "cwd")), "/");
    json_decref(spec);
}

static void test_host_network(void **state)
{
    (void)state;
    const char *argv[] = {"sh", NULL};
    struct rt_oci_input in = {.argv = argv, .hostname = "ignored", .rootfs = "/rootfs",
                              .host_network = true};
    json_t *spec = rt_oci_spec(&in);
    json_t *ns = json_object_get(json_object_get(spec, "linux"), "namespaces");
    size_t i;
    json_t *it;
    json_array_foreach(ns, i, it) {
        const char *t = json_string_value(json_object_get(it, "type"));
        assert_string_not_equal(t, "network");
        assert_string_not_equal(t, "uts");
    }
    assert_int_equal(json_array_size(ns), 3);
    assert_null(json_object_get(spec, "hostname")); /* crun rejects a hostname without UTS ns */
    json_decref(spec);
}

static void test_resolve_user(void **state)
{
    (void)state;
    char lower[] = "/tmp/ck-oci-user-XXXXXX";
    assert_non_null(mkdtemp(lower));
    char upper[128], p[256];
    snprintf(upper, sizeof(upper), "%s-up", lower);
    mkdir(upper, 0755);
    snprintf(p, sizeof(p), "%s/etc", lower);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/etc", upper);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/etc/passwd", lower);
    FILE *f = fopen(p, "w");
    fputs("root:x:0:0:root:/root:/bin/sh\nwww:x:33:34::/var/www:/bin/false\n", f);
    fclose(f);
    snprintf(p, sizeof(p), "%s/etc/passwd", upper); /* the top layer shadows the lower */
    f = fopen(p, "w");
    fputs("root:x:0:0:root:/root:/bin/sh\nwww:x:70:71::/var/www:/bin/false\n", f);
    fclose(f);
    snprintf(p, sizeof(p), "%s/etc/group", lower);
    f = fopen(p, "w");
    fputs("root:x:0:\nstaff:x:50:www\n", f);
    fclose(f);
    char *layers[] = {lower, upper};
    uint32_t uid, gid;
    struct ck_err e = CK_ERR_INIT;
    assert_int_equal(rt_resolve_user("", layers, 2, &uid, &gid, &e), 0);
    assert_int_equal(uid, 0);
    assert_int_equal(rt_resolve_user("1234:55", layers, 2, &uid, &gid, &e), 0);
    assert_int_equal(uid, 1234);
    assert_int_equal(gid, 55);
    assert_int_equal(rt_resolve_user("www", layers, 2, &uid, &gid, &e), 0);
    assert_int_equal(uid, 70);
    assert_int_equal(gid, 71);
    assert_int_equal(rt_resolve_user("www:staff", layers, 2, &uid, &gid, &e), 0);
    assert_int_equal(uid, 70);
    assert_int_equal(gid, 50);
    assert_int_equal(rt_resolve_user("www", layers, 1, &uid, &gid, &e), 0);
    assert_int_equal(uid, 33);
    assert_int_equal(rt_resolve_user("nobody", layers, 2, &uid, &gid, &e), -1);
    assert_int_equal(e.reason, CK_R_INVALID);
    assert_non_null(strstr(e.msg, "nobody"));
    assert_int_equal(rt_resolve_user("www:nogroup", layers, 2, &uid, &gid, &e), -1);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s %s", lower, upper);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_golden),
        cmocka_unit_test(test_privileged_golden),
        cmocka_unit_test(test_host_network),
        cmocka_unit_test(test_resolve_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
