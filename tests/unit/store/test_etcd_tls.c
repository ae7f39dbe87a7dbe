/* SPDX-License-Identifier: Apache-2.0 */
/* The etcd backend over TLS with client-certificate auth, against a real etcd started by the
 * test with certificates made by the openssl CLI: writes, reads and a subscription work with
 * the right files; a missing client certificate or CA is a clear ServiceUnavailable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../etcd/etcd_fixture.h"

static struct etf g_etcd;
static int g_events;

static void on_event(void *arg, const struct store_event *ev)
{
    (void)arg;
    if (ev->type == STORE_EVENT_PUT && !strcmp(ev->kv.key, "/k"))
        g_events++;
}

static void test_tls_roundtrip(void **state)
{
    (void)state;
    struct store *s = etf_open(&g_etcd, "/tls");
    assert_non_null(s);
    struct ck_err err = CK_ERR_INIT;
    int64_t from;
    int id = store_subscribe(s, on_event, NULL, &from, &err);
    assert_true(id > 0);
    int64_t rev;
    assert_int_equal(store_put(s, "/k", 2, "secret", 6, STORE_ABSENT, &rev, NULL, &err), 0);
    assert_int_equal(g_events, 1); /* delivered before the put returned */
    struct store_kv kv;
    bool found;
    assert_int_equal(store_get(s, "/k", 2, 0, &kv, &found, &err), 0);
    assert_true(found);
    assert_string_equal(kv.value, "secret");
    assert_int_equal(kv.mod_revision, rev);
    store_kv_release(&kv);
    struct store_events ev;
    assert_int_equal(store_events_since(s, from, 0, &ev, &err), 0);
    assert_int_equal(ev.nevents, 1);
    store_events_release(&ev);
    store_unsubscribe(s, id);
    store_close(s);
}

static void test_tls_refusals(void **state)
{
    (void)state;
    struct ck_err err = CK_ERR_INIT;
    struct store *s = NULL;
    struct store_etcd_opts o = etf_opts(&g_etcd, "/tls", 2000);
    o.cert_file = o.key_file = NULL; /* the server demands a client certificate */
    assert_int_equal(store_etcd_open(&o, &s, &err), -1);
    assert_int_equal(err.reason, CK_R_SERVICE_UNAVAILABLE);
    assert_non_null(strstr(err.msg, g_etcd.url));
    o = etf_opts(&g_etcd, "/tls", 2000);
    o.ca_file = NULL; /* the server's certificate cannot be verified */
    assert_int_equal(store_etcd_open(&o, &s, &err), -1);
    assert_int_equal(err.reason, CK_R_SERVICE_UNAVAILABLE);
}

static int group_setup(void **state)
{
    (void)state;
    if (etf_prepare(&g_etcd) < 0 || etf_make_certs(&g_etcd) < 0)
        return -1;
    return etf_start(&g_etcd);
}

static int group_teardown(void **state)
{
    (void)state;
    etf_destroy(&g_etcd);
    return 0;
}

int main(void)
{
    if (!etf_available())
        return 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_roundtrip),
        cmocka_unit_test(test_tls_refusals),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
