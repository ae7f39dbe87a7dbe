/* SPDX-License-Identifier: Apache-2.0 */
/* CNI client tests: result parsing/validation, conflist parsing, and running real plugin
 * chains (a script plugin for error/ordering checks; the Debian bridge+host-local+portmap
 * plugins in a real netns when root). */
#include "cni/cni.h"
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

static int parse(const char *s, struct cni_result *r, struct ck_err *e)
{
    return cni_result_parse(s, strlen(s), r, e);
}

static void test_result_v1(void **state)
{
    (void)state;
    struct cni_result r;
    struct ck_err e = CK_ERR_INIT;
    const char *s = "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"ckube0\",\"mac\":\"aa:bb:cc:dd:ee:ff\"},"
                    "{\"name\":\"eth0\",\"sandbox\":\"/run/netns/x\"}],"
                    "\"ips\":[{\"address\":\"10.88.0.7/16\",\"gateway\":\"10.88.0.1\",\"interface\":1},"
                    "{\"address\":\"fd00::7/64\"}],"
                    "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.88.0.1\"}],\"dns\":{}}";
    assert_int_equal(parse(s, &r, &e), 0);
    assert_string_equal(r.cni_version, "1.0.0");
    assert_int_equal(r.nifaces, 2);
    assert_string_equal(r.ifaces[1].sandbox, "/run/netns/x");
    assert_int_equal(r.nips, 2);
    assert_int_equal(r.ips[0].iface, 1);
    assert_int_equal(r.ips[0].family, 4);
    assert_int_equal(r.ips[1].family, 6);
    assert_int_equal(r.ips[1].iface, -1);
    assert_int_equal(r.nroutes, 1);
    char ip[64];
    cni_result_first_ip(&r, 4, ip, sizeof(ip));
    assert_string_equal(ip, "10.88.0.7");
    cni_result_first_ip(&r, 6, ip, sizeof(ip));
    assert_string_equal(ip, "fd00::7");
}

static void test_result_v04(void **state)
{
    (void)state;
    struct cni_result r;
    struct ck_err e = CK_ERR_INIT;
    assert_int_equal(parse("{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\",\"address\":\"10.0.0.2/24\"}]}",
                           &r, &e), 0);
    assert_int_equal(r.nips, 1);
    assert_int_equal(parse("{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"6\",\"address\":\"10.0.0.2/24\"}]}",
                           &r, &e), -1);
    assert_non_null(strstr(e.msg, "version"));
}

static void test_result_invalid(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "[]",
        "{",
        "{\"ips\":[]}",                                                       /* no cniVersion */
        "{\"cniVersion\":1}",
        "{\"cniVersion\":\"1.0.0\",\"ips\":{}}",
        "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.2\"}]}",    /* no prefix */
        "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.2/33\"}]}",
        "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"300.0.0.2/8\"}]}",
        "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.2/8\",\"interface\":0}]}",
        "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.2/8\",\"gateway\":\"x\"}]}",
        "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"mac\":\"aa\"}]}",
        "{\"cniVersion\":\"1.0.0\",\"routes\":[{\"gw\":\"10.0.0.1\"}]}",
        "{\"cniVersion\":\"1.0.0\",\"dns\":[]}",
        "{\"cniVersion\":\"1.0.0\",\"cniVersion\":\"0.4.0\"}",               /* duplicate key */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cni_result r;
        struct ck_err e = CK_ERR_INIT;
        assert_int_equal(cni_result_parse(bad[i], strlen(bad[i]), &r, &e), -1);
        assert_int_equal(e.reason, CK_R_BAD_REQUEST);
        assert_true(e.msg[0] != 0);
    }
}

static void test_result_error_object(void **state)
{
    (void)state;
    struct cni_result r;
    struct ck_err e = CK_ERR_INIT;
    assert_int_equal(parse("{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"invalid network config\","
                           "\"details\":\"bad subnet\"}", &r, &e), -1);
    assert_non_null(strstr(e.msg, "error 7"));
    assert_non_null(strstr(e.msg, "invalid network config"));
    assert_non_null(strstr(e.msg, "bad subnet"));
    assert_int_equal(e.reason, CK_R_INTERNAL);
    assert_int_equal(parse("{\"code\":11,\"msg\":\"later\"}", &r, &e), -1);
    assert_int_equal(e.reason, CK_R_SERVICE_UNAVAILABLE);
}

static void test_conflist_parse(void **state)
{
    (void)state;
    struct cni_net *n = NULL;
    struct ck_err e = CK_ERR_INIT;
    char *def = cni_default_conflist(NULL);
    assert_int_equal(cni_net_parse(def, strlen(def), &n, &e), 0);
    assert_string_equal(cni_net_name(n), "ckube");
    assert_int_equal(cni_net_nplugins(n), 2);
    assert_string_equal(cni_net_plugin_type(n, 0), "bridge");
    assert_string_equal(cni_net_plugin_type(n, 1), "portmap");
    assert_non_null(strstr(def, "\"gateway\": \"10.88.0.1\""));
    cni_net_free(n);
    free(def);
    /* single .conf is wrapped */
    const char *conf = "{\"cniVersion\":\"0.4.0\",\"name\":\"n1\",\"type\":\"loopback\"}";
    assert_int_equal(cni_net_parse(conf, strlen(conf), &n, &e), 0);
    assert_int_equal(cni_net_nplugins(n), 1);
    cni_net_free(n);
    static const char *bad[] = {
        "{\"cniVersion\":\"1.0.0\",\"plugins\":[{\"type\":\"bridge\"}]}",        /* no name */
        "{\"name\":\"x\",\"plugins\":[{\"type\":\"bridge\"}]}",                  /* no version */
        "{\"name\":\"x\",\"cniVersion\":\"1.0.0\",\"plugins\":[]}",
        "{\"name\":\"x\",\"cniVersion\":\"1.0.0\",\"plugins\":[{}]}",
        "{\"name\":\"x\",\"cniVersion\":\"1.0.0\",\"plugins\":[{\"type\":\"../../bin/sh\"}]}",
        "{\"name\":\"x y\",\"cniVersion\":\"1.0.0\",\"plugins\":[{\"type\":\"a\"}]}",
        "not json",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(cni_net_parse(bad[i], strlen(bad[i]), &n, &e), -1);
        assert_null(n);
        assert_int_equal(e.reason, CK_R_BAD_REQUEST);
    }
    assert_int_equal(cni_net_load_file("/nonexistent/x.conflist", &n, &e), -1);
    assert_non_null(strstr(e.msg, "/nonexistent/x.conflist"));
}

static char tmpdir[128];

static void write_file(const char *path, const char *s, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(s, f);
    fclose(f);
    chmod(path, mode);
}

/* A script plugin that logs its invocations and echoes prevResult-derived results. */
static void test_chain_script(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/ck-cni-test-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    char path[256], log[256], cache[256];
    snprintf(log, sizeof(log), "%s/calls", tmpdir);
    snprintf(cache, sizeof(cache), "%s/cache", tmpdir);
    char *script = ck_asprintf(
        "#!/bin/sh\nin=$(cat)\necho \"$CNI_COMMAND $0 $CNI_IFNAME $CNI_CONTAINERID\" >> %s\n"
        "case \"$in\" in *'\"fail\":true'*) echo '{\"code\":100,\"msg\":\"told to fail\"}'; exit 1;; esac\n"
        "case \"$in\" in *prevResult*) echo \"$in\" | grep -q '10.1.2.3/24' || { echo '{\"code\":9,\"msg\":\"no prev\"}'; exit 1; };; esac\n"
        "echo '{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.2.3/24\"}]}'\n", log);
    snprintf(path, sizeof(path), "%s/pa", tmpdir);
    write_file(path, script, 0755);
    snprintf(path, sizeof(path), "%s/pb", tmpdir);
    write_file(path, script, 0755);
    free(script);
    const char *conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"t\",\"plugins\":[{\"type\":\"pa\"},{\"type\":\"pb\"}]}";
    struct cni_net *n;
    struct ck_err e = CK_ERR_INIT;
    assert_int_equal(cni_net_parse(conf, strlen(conf), &n, &e), 0);
    struct cni_ctx ctx = {.plugin_dirs = tmpdir, .cache_dir = cache, .timeout_ms = 5000};
    struct cni_attachment a = {.container_id = "c1", .netns = "/nonexistent", .ifname = "eth0"};
    struct cni_result r;
    assert_int_equal(cni_add(&ctx, n, &a, &r, &e), 0);
    assert_int_equal(r.nips, 1);
    struct cni_result c;
    assert_int_equal(cni_cached_result(&ctx, "t", "c1", "eth0", &c, &e), 0);
    assert_string_equal(c.ips[0].address, "10.1.2.3/24");
    assert_int_equal(cni_check(&ctx, n, &a, &e), 0);
    /* DEL with a NULL net works from the cache? needs the name: use n; then idempotent */
    assert_int_equal(cni_del(&ctx, n, &a, &e), 0);
    assert_int_equal(cni_cached_result(&ctx, "t", "c1", "eth0", &c, &e), -1);
    assert_int_equal(cni_del(&ctx, n, &a, &e), 0);
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    char lines[8][256];
    int k = 0;
    while (k < 8 && fgets(lines[k], sizeof(lines[k]), f))
        k++;
    fclose(f);
    /* ADD pa, ADD pb, CHECK pa, CHECK pb, DEL pb, DEL pa, DEL pb, DEL pa */
    assert_int_equal(k, 8);
    assert_non_null(strstr(lines[0], "ADD") && strstr(lines[0], "/pa"));
    assert_non_null(strstr(lines[1], "ADD") && strstr(lines[1], "/pb"));
    assert_non_null(strstr(lines[4], "DEL") && strstr(lines[4], "/pb"));
    assert_non_null(strstr(lines[5], "DEL") && strstr(lines[5], "/pa"));
    cni_net_free(n);

    /* a failing second plugin: clear error, and a DEL is run for cleanup */
    const char *conf2 = "{\"cniVersion\":\"1.0.0\",\"name\":\"t2\",\"plugins\":[{\"type\":\"pa\"},{\"type\":\"pb\",\"fail\":true}]}";
    assert_int_equal(cni_net_parse(conf2, strlen(conf2), &n, &e), 0);
    assert_int_equal(cni_add(&ctx, n, &a, &r, &e), -1);
    assert_non_null(strstr(e.msg, "told to fail"));
    assert_non_null(strstr(e.msg, "pb"));
    assert_int_equal(cni_cached_result(&ctx, "t2", "c1", "eth0", &c, &e), -1);
    cni_net_free(n);
    /* missing plugin */
    const char *conf3 = "{\"cniVersion\":\"1.0.0\",\"name\":\"t3\",\"plugins\":[{\"type\":\"nope\"}]}";
    assert_int_equal(cni_net_parse(conf3, strlen(conf3), &n, &e), 0);
    assert_int_equal(cni_add(&ctx, n, &a, &r, &e), -1);
    assert_non_null(strstr(e.msg, "failed to find plugin \"nope\""));
    cni_net_free(n);
    char *cmd = ck_asprintf("rm -rf %s", tmpdir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

/* Real Debian plugins in a real netns (root only). */
static char real_ns[64], real_dir[64];

static int real_teardown(void **state)
{
    (void)state;
    char cmd[256];
    if (real_ns[0]) {
        snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null; ip link del cktest0 2>/dev/null",
                 real_ns);
        (void)!system(cmd);
    }
    if (real_dir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", real_dir);
        (void)!system(cmd);
    }
    return 0;
}

static void test_chain_real(void **state)
{
    (void)state;
    if (geteuid() != 0 || access("/usr/lib/cni/bridge", X_OK) != 0) {
        fprintf(stderr, "SKIP: needs root and /usr/lib/cni/bridge\n");
        return;
    }
    char name[64];
    snprintf(name, sizeof(name), "ckcnitest%d", (int)getpid());
    snprintf(real_ns, sizeof(real_ns), "%s", name);
    char *cmd = ck_asprintf("ip netns add %s", name);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    char dir[] = "/tmp/ck-cni-real-XXXXXX";
    assert_non_null(mkdtemp(dir));
    snprintf(real_dir, sizeof(real_dir), "%s", dir);
    struct cni_default_opts o = {.name = "cktest", .bridge = "cktest0", .subnet = "10.213.0.0/24",
                                 .data_dir = dir};
    char *conf = cni_default_conflist(&o);
    struct cni_net *n;
    struct ck_err e = CK_ERR_INIT;
    assert_int_equal(cni_net_parse(conf, strlen(conf), &n, &e), 0);
    free(conf);
    char ns[128];
    snprintf(ns, sizeof(ns), "/run/netns/%s", name);
    struct cni_ctx ctx = {.cache_dir = dir};
    struct cni_port_mapping pm = {.host_port = 18989, .container_port = 80};
    struct cni_attachment a = {.container_id = name, .netns = ns, .ifname = "eth0", .ports = &pm,
                               .nports = 1, .pod_name = "p", .pod_namespace = "default"};
    assert_int_equal(cni_loopback(&ctx, name, ns, true, &e), 0);
    struct cni_result r;
    int rc = cni_add(&ctx, n, &a, &r, &e);
    if (rc < 0)
        fprintf(stderr, "cni_add: %s\n", e.msg);
    assert_int_equal(rc, 0);
    char ip[64];
    cni_result_first_ip(&r, 4, ip, sizeof(ip));
    assert_int_equal(strncmp(ip, "10.213.0.", 9), 0);
    /* No CHECK here: portmap 1.1.1 fails CHECK on hosts without ip6tables nat chains (an
     * upstream plugin bug); CHECK is covered by test_chain_script. */
    cmd = ck_asprintf("ip netns exec %s ip -4 addr show eth0 | grep -q %s", name, ip);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    /* DEL without the net (restart case): from cache, by name */
    assert_int_equal(cni_del(&ctx, n, &a, &e), 0);
    assert_int_equal(cni_del(&ctx, n, &a, &e), 0);
    cmd = ck_asprintf("ip netns exec %s ip link show eth0 >/dev/null 2>&1", name);
    assert_int_not_equal(system(cmd), 0);
    free(cmd);
    cni_net_free(n);
    cmd = ck_asprintf("ip netns del %s; ip link del cktest0 2>/dev/null; rm -rf %s", name, dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_result_v1),         cmocka_unit_test(test_result_v04),
        cmocka_unit_test(test_result_invalid),    cmocka_unit_test(test_result_error_object),
        cmocka_unit_test(test_conflist_parse),    cmocka_unit_test(test_chain_script),
        cmocka_unit_test_teardown(test_chain_real, real_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
