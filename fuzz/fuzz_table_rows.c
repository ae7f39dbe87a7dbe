/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the Table rows kept with each object (src/apiserver/storage/represent.c): the first
 * input byte picks the resource, the next two a time offset, the rest is a stored object.
 * Checks: no crash, no leak, and the row served from the kept cells (whole, and in the pieces
 * a LIST lends) is byte for byte the row printed from the object's JSON at that time. */
#include "apiserver/registry/registry.h"
#include "apiserver/storage/storage.h"
#include "lib/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *group, *version, *plural;
} kinds[] = {
    {"", "v1", "pods"},       {"apps", "v1", "deployments"},
    {"batch", "v1", "jobs"},  {"batch", "v1", "cronjobs"},
    {"", "v1", "events"},     {"events.k8s.io", "v1", "events"},
    {"", "v1", "nodes"},      {"", "v1", "services"},
    {"", "v1", "configmaps"}, {"certificates.k8s.io", "v1", "certificatesigningrequests"},
};

static void check(const struct reg_resource *r, const struct eng_obj *o, int64_t now,
                  const char *inc)
{
    struct ck_buf a = CK_BUF_INIT(1 << 24), b = CK_BUF_INIT(1 << 24), g = CK_BUF_INIT(1 << 24);
    int ra = eng_table_row_at(&a, r, o, inc, now);
    int rb = eng_table_row_print(&b, r, o, inc, now);
    struct eng_row_span sp;
    int rg = eng_table_row_lend(&g, r, o, inc, now, &sp);
    if (ra != rb || ra != rg)
        abort();
    if (ra == 0) {
        struct ck_buf l = CK_BUF_INIT(1 << 24);
        ck_buf_append(&l, g.data, sp.cut);
        ck_buf_append(&l, o->body + sp.off, sp.len);
        ck_buf_append(&l, g.data + sp.cut, g.len - sp.cut);
        if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0 || l.len != a.len ||
            memcmp(l.data, a.data, a.len) != 0)
            abort();
        ck_buf_release(&l);
    }
    ck_buf_release(&a);
    ck_buf_release(&b);
    ck_buf_release(&g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    if (!inited) {
        reg_init();
        inited = 1;
    }
    if (size < 3 || size > 1 << 16)
        return 0;
    size_t k = data[0] % (sizeof(kinds) / sizeof(kinds[0]));
    const struct reg_resource *r = reg_find(kinds[k].group, kinds[k].version, kinds[k].plural);
    if (!r)
        return 0;
    int64_t now = 1767225600LL + (int64_t)((data[1] << 8 | data[2]) * 37) - 600;
    struct ck_err err = CK_ERR_INIT;
    struct eng_obj *o =
        eng_obj_from_store(r, "/registry/x/ns/a", 16, (const char *)data + 3, size - 3, 7, &err);
    if (!o)
        return 0;
    static const char *const incs[] = {NULL, "Object", "None", "Metadata"};
    for (size_t i = 0; i < 4; i++) {
        check(r, o, now, incs[i]);
        check(r, o, now + 86400 + (int64_t)i * 3601, incs[i]);
    }
    struct eng_obj *d = eng_obj_restamp(o, 123456789);
    check(r, d, now + 61, NULL);
    eng_obj_unref(d);
    eng_obj_unref(o);
    return 0;
}
