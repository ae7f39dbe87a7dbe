/* SPDX-License-Identifier: Apache-2.0 */
/* The zero-copy LIST path (want_iov: the engine lends the cached objects' bytes as pieces)
 * against the copying path, through api_handle on a real LMDB store: byte-identical bodies for
 * every query shape, lending only where expected, lent pieces that outlive deletes/updates of
 * their objects until released, ownership hand-over, concurrent lenders while writes go on,
 * and identical LIST cost accounting in both modes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine_harness.h"

#include <pthread.h>
#include <stdatomic.h>

#define LEND_MIN ((size_t)256 << 10) /* LEND_MIN_BYTES in src/apiserver/endpoints/read.c */
#define N_A 220                      /* ConfigMaps in ns-a (~350 KiB: a lent LIST) */
#define N_B 100                      /* ConfigMaps in ns-b (~160 KiB: copied) */
#define BIG (64u << 20)

static const char *const k_odd_strings[] = {
    "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x9a\x80",
    "quote \\\" backslash \\\\ newline \\n tab \\t ctrl \\u0001 \\u001f del \x7f",
    "</script><b>&amp;</b> \\u2028 \\u2029 \\ud83d\\ude00 slash \\/ end",
    "",
};

static int mkns(struct env *e, const char *ns)
{
    char body[256];
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", ns);
    return req(e, "POST", "/api/v1/namespaces", NULL, body, NULL);
}

/* ~1.3-1.7 KiB ConfigMap i in ns, with labels tier/grp and some escaped or non-ASCII text;
 * gen varies the data so updates change the bytes. */
static void cm_body(char *out, size_t n, const char *ns, int i, int gen)
{
    char fill[1800];
    size_t fl = 1200 + (size_t)(i * 37 % 400);
    for (size_t k = 0; k < fl; k++)
        fill[k] = (char)('a' + (k * 7 + (size_t)i + (size_t)gen) % 26);
    fill[fl] = '\0';
    snprintf(out, n,
             "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
             "\"cm-%03d%s\",\"namespace\":\"%s\",\"labels\":{\"tier\":\"%s\",\"grp\":\"g%d\"},"
             "\"annotations\":{\"note\":\"%s\"}},\"data\":{\"fill\":\"%s\",\"gen\":\"%d\","
             "\"odd\":\"%s\"}}",
             i, i % 5 == 0 ? "-with-a-rather-longer-name.x" : "", ns, i % 2 ? "odd" : "even",
             i % 4, k_odd_strings[i % 4], fill, gen, k_odd_strings[(i + 1) % 4]);
}

static void cm_path(char *out, size_t n, const char *ns, int i)
{
    snprintf(out, n, "/api/v1/namespaces/%s/configmaps/cm-%03d%s", ns, i,
             i % 5 == 0 ? "-with-a-rather-longer-name.x" : "");
}

static void fill_store(struct env *e)
{
    assert_int_equal(mkns(e, "ns-a"), 201);
    assert_int_equal(mkns(e, "ns-b"), 201);
    char body[4096];
    for (int i = 0; i < N_A + N_B; i++) {
        const char *ns = i < N_A ? "ns-a" : "ns-b";
        char path[128];
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps", ns);
        cm_body(body, sizeof(body), ns, i, 0);
        assert_int_equal(req(e, "POST", path, NULL, body, NULL), 201);
    }
}

static int setup_hist(void **state, int64_t hist)
{
    struct env *e = calloc(1, sizeof(*e));
    if (!e || env_open_hist(e, hist) < 0)
        return -1;
    fill_store(e);
    *state = e;
    return 0;
}

static int setup(void **state)
{
    return setup_hist(state, 0);
}

/* A watch history of a few events: replaced objects are not kept alive by it. */
static int setup_short_history(void **state)
{
    return setup_hist(state, 4);
}

static int teardown(void **state)
{
    env_close(*state);
    free(*state);
    return 0;
}

/* One LIST's outcome, whichever way it came. */
struct got {
    int status;
    char ctype[96];
    size_t niov, lent_len;
    struct ck_buf bytes; /* the body, or the lent pieces concatenated */
};

static void got_release(struct got *g)
{
    ck_buf_release(&g->bytes);
}

/* Checks the lent pieces' shape (head, object, ",", object, ..., "]}"; a Table's pieces are
 * its own: only their sum is checked) and concatenates them. */
static void take_pieces(const struct api_iov_body *b, struct ck_buf *out, bool list_shape)
{
    size_t sum = 0;
    assert_true(b->niov >= 2);
    assert_non_null(b->release);
    for (size_t i = 0; i < b->niov; i++) {
        const struct api_iov *v = &b->iov[i];
        assert_non_null(v->base);
        sum += v->len;
        assert_int_equal(ck_buf_append(out, v->base, v->len), 0);
    }
    assert_int_equal(sum, b->len);
    if (!list_shape)
        return;
    assert_true(b->niov % 2 == 1 || b->niov == 2);
    for (size_t i = 0; i < b->niov; i++) {
        const struct api_iov *v = &b->iov[i];
        if (i == 0 || i == b->niov - 1)
            continue;
        if (i % 2 == 0) {
            assert_int_equal(v->len, 1);
            assert_int_equal(v->base[0], ',');
        } else {
            assert_true(v->len > 2 && v->base[0] == '{' && v->base[v->len - 1] == '}');
        }
    }
    assert_int_equal(sum, b->len);
    assert_true(b->iov[0].len > 0 && b->iov[0].base[0] == '{');
    assert_int_equal(b->iov[b->niov - 1].len, 2);
    assert_memory_equal(b->iov[b->niov - 1].base, "]}", 2);
}

static void fetch(struct env *e, const char *path, const char *query, const char *accept,
                  const char *ua, bool iov, size_t max, struct got *g)
{
    struct api_request rq = {.method = "GET", .path = path, .query = query, .accept = accept,
                             .user_agent = ua, .user = "test"};
    struct api_response rs;
    api_response_init(&rs, max);
    rs.want_iov = iov;
    struct api_watch *w = NULL;
    assert_int_equal(api_handle(e->s, &rq, &rs, &w), API_DONE);
    assert_null(w);
    memset(g, 0, sizeof(*g));
    g->bytes = (struct ck_buf)CK_BUF_INIT(BIG);
    g->status = rs.status;
    snprintf(g->ctype, sizeof(g->ctype), "%s", rs.content_type);
    g->niov = rs.lent.niov;
    g->lent_len = rs.lent.len;
    if (rs.lent.niov) {
        assert_true(iov); /* never lent to a caller that did not ask */
        assert_int_equal(rs.body.len, 0);
        take_pieces(&rs.lent, &g->bytes, !strstr(rs.content_type, "as=Table"));
    } else {
        assert_int_equal(rs.lent.len, 0);
        assert_int_equal(ck_buf_append(&g->bytes, rs.body.data ? rs.body.data : "", rs.body.len),
                         0);
    }
    api_response_release(&rs);
    assert_int_equal(rs.lent.niov, 0);
    assert_null(rs.lent.release);
}

enum expect { NOT_LENT = 0, LENT = 1, BY_SIZE = 2 };

/* A Table's Age cells follow the clock: dropped before two Tables are compared. */
static char *table_without_age(const struct ck_buf *b)
{
    json_error_t je;
    json_t *v = json_loadb(b->data, b->len, 0, &je);
    assert_non_null(v);
    json_t *cols = json_object_get(v, "columnDefinitions"), *rows = json_object_get(v, "rows");
    size_t age = SIZE_MAX, i;
    json_t *it;
    json_array_foreach(cols, i, it)
        if (strcmp(json_string_value(json_object_get(it, "name")), "Age") == 0)
            age = i;
    assert_true(age != SIZE_MAX);
    json_array_foreach(rows, i, it)
        assert_int_equal(json_array_remove(json_object_get(it, "cells"), age), 0);
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(v);
    assert_non_null(s);
    return s;
}

static void assert_same_bytes(const struct got *c, const struct got *l)
{
    if (strstr(c->ctype, "as=Table")) {
        char *a = table_without_age(&c->bytes), *b = table_without_age(&l->bytes);
        assert_string_equal(a, b);
        free(a);
        free(b);
        return;
    }
    assert_int_equal(l->bytes.len, c->bytes.len);
    assert_memory_equal(l->bytes.data, c->bytes.data, c->bytes.len);
}

/* Fetches path?query both ways; asserts identical status, type and bytes, a JSON body with
 * the same resourceVersion, and lending exactly as expected. Returns the items (copy mode). */
static json_t *same(struct env *e, const char *path, const char *query, const char *accept,
                    enum expect want)
{
    struct got c, l;
    fetch(e, path, query, accept, NULL, false, BIG, &c);
    fetch(e, path, query, accept, NULL, true, BIG, &l);
    assert_int_equal(c.niov, 0);
    assert_int_equal(l.status, c.status);
    assert_string_equal(l.ctype, c.ctype);
    assert_same_bytes(&c, &l);
    bool json = strcmp(c.ctype, "application/json") == 0;
    bool table = strstr(c.ctype, "as=Table") != NULL; /* Tables lend the objects' bytes too */
    bool big = c.bytes.len >= LEND_MIN;
    if (want == BY_SIZE)
        want = (json || table) && c.status == 200 && big ? LENT : NOT_LENT;
    if (want == LENT) {
        assert_true(big);
        assert_true(l.niov > 0);
        assert_int_equal(l.lent_len, c.bytes.len);
    } else {
        assert_int_equal(l.niov, 0);
    }
    json_t *items = NULL;
    if (strncmp(c.ctype, "application/json", 16) == 0) {
        json_error_t je;
        json_t *vc = json_loadb(c.bytes.data, c.bytes.len, 0, &je);
        json_t *vl = json_loadb(l.bytes.data, l.bytes.len, 0, &je);
        assert_non_null(vc);
        assert_non_null(vl);
        if (c.status == 200) {
            assert_non_null(jpath(vc, "metadata.resourceVersion"));
            assert_string_equal(jpath(vc, "metadata.resourceVersion"),
                                jpath(vl, "metadata.resourceVersion"));
        }
        if (l.niov && !table)
            assert_int_equal(l.niov, 2 * json_array_size(json_object_get(vl, "items")) + 1);
        items = json_incref(json_object_get(vc, json_object_get(vc, "rows") ? "rows" : "items"));
        json_decref(vc);
        json_decref(vl);
    }
    got_release(&c);
    got_release(&l);
    return items;
}

static size_t same_n(struct env *e, const char *path, const char *query, const char *accept,
                     enum expect want)
{
    json_t *items = same(e, path, query, accept, want);
    size_t n = json_array_size(items);
    json_decref(items);
    return n;
}

static void test_variants(void **state)
{
    struct env *e = *state;
    const char *all = "/api/v1/configmaps", *a = "/api/v1/namespaces/ns-a/configmaps",
               *b = "/api/v1/namespaces/ns-b/configmaps";
    size_t n_all = same_n(e, all, NULL, NULL, LENT);
    assert_true(n_all >= N_A + N_B);
    assert_int_equal(same_n(e, a, NULL, NULL, LENT), N_A);
    assert_int_equal(same_n(e, b, NULL, NULL, NOT_LENT), N_B); /* below the threshold */
    assert_int_equal(same_n(e, a, "resourceVersion=0", NULL, LENT), N_A);
    assert_int_equal(same_n(e, all, "labelSelector=grp+in+(g0,g1,g2)", NULL, LENT),
                     (N_A + N_B) * 3 / 4);
    assert_int_equal(same_n(e, all, "labelSelector=tier%3Dodd", NULL, BY_SIZE), (N_A + N_B) / 2);
    assert_int_equal(same_n(e, all, "labelSelector=grp%3Dg3", NULL, NOT_LENT), (N_A + N_B) / 4);
    assert_int_equal(same_n(e, all, "fieldSelector=metadata.namespace%3Dns-a", NULL, LENT), N_A);
    assert_int_equal(same_n(e, all, "fieldSelector=metadata.name!%3Dcm-001", NULL, LENT),
                     n_all - 1);
    assert_int_equal(same_n(e, all, "fieldSelector=metadata.name%3Dcm-001", NULL, NOT_LENT), 1);
    assert_int_equal(same_n(e, all, "labelSelector=nomatch%3Dx", NULL, NOT_LENT), 0); /* empty */
    assert_int_equal(same_n(e, "/api/v1/namespaces/nowhere/configmaps", NULL, NULL, NOT_LENT), 0);
    assert_int_equal(same_n(e, a, "limit=500", NULL, LENT), N_A);
    /* JSON asked for in the ways clients do: lent */
    assert_int_equal(same_n(e, a, NULL, "application/json", LENT), N_A);
    assert_int_equal(same_n(e, a, NULL, "application/json, */*", LENT), N_A);
    assert_int_equal(same_n(e, a, NULL, "application/vnd.kubernetes.protobuf;q=0.5, application/json",
                            LENT),
                     N_A);
    /* ?pretty=true (upstream indents; a reformatted body must not be lent) */
    struct got pr;
    fetch(e, a, "pretty=true", NULL, NULL, false, BIG, &pr);
    bool indented = memchr(pr.bytes.data, '\n', pr.bytes.len) != NULL;
    got_release(&pr);
    assert_int_equal(same_n(e, a, "pretty=true", NULL, indented ? NOT_LENT : LENT), N_A);
    /* Tables: the rows' objects (metadata, or the whole object) lent when the answer is big,
     * identical either way */
    assert_int_equal(same_n(e, a, NULL, "application/json;as=Table;v=v1;g=meta.k8s.io", BY_SIZE),
                     N_A);
    assert_int_equal(same_n(e, a, "includeObject=Object",
                            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
                            BY_SIZE),
                     N_A);
    /* other renderings: never lent, still identical */
    assert_int_equal(same_n(e, a, NULL,
                            "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
                            NOT_LENT),
                     N_A);
    json_decref(same(e, a, NULL, "application/yaml", NOT_LENT));
    json_decref(same(e, a, NULL, "text/html", NOT_LENT)); /* 406 */
    json_decref(same(e, a, "labelSelector=a+in+b", NULL, NOT_LENT)); /* 400 */
    json_decref(same(e, a, "resourceVersion=999999999&resourceVersionMatch=NotOlderThan", NULL,
                     NOT_LENT)); /* 504 too new */
    struct got g;
    fetch(e, a, NULL, "application/yaml", NULL, true, BIG, &g);
    assert_string_equal(g.ctype, "application/yaml");
    assert_true(g.bytes.len > LEND_MIN);
    got_release(&g);
}

/* limit+continue: every page identical both ways (continue tokens included), pages above the
 * threshold lent, and the pages together are the whole LIST. */
static void test_pages(void **state)
{
    struct env *e = *state;
    json_t *full = same(e, "/api/v1/configmaps", NULL, NULL, LENT);
    size_t total = json_array_size(full), seen = 0, lent_pages = 0;
    char q[1024] = "limit=200";
    for (int page = 0; page < 10; page++) {
        struct got c, l;
        fetch(e, "/api/v1/configmaps", q, NULL, NULL, false, BIG, &c);
        fetch(e, "/api/v1/configmaps", q, NULL, NULL, true, BIG, &l);
        assert_int_equal(c.status, 200);
        assert_int_equal(l.bytes.len, c.bytes.len);
        assert_memory_equal(l.bytes.data, c.bytes.data, c.bytes.len);
        assert_int_equal(l.niov > 0, c.bytes.len >= LEND_MIN);
        lent_pages += l.niov > 0;
        json_error_t je;
        json_t *v = json_loadb(l.bytes.data, l.bytes.len, 0, &je);
        assert_non_null(v);
        json_t *items = json_object_get(v, "items");
        for (size_t i = 0; i < json_array_size(items); i++, seen++)
            assert_string_equal(jpath(json_array_get(items, i), "metadata.name"),
                                jpath(json_array_get(full, seen), "metadata.name"));
        const char *cont = jpath(v, "metadata.continue");
        if (cont)
            snprintf(q, sizeof(q), "limit=200&continue=%s", cont);
        json_decref(v);
        got_release(&c);
        got_release(&l);
        if (!cont)
            break;
    }
    assert_int_equal(seen, total);
    assert_true(lent_pages >= 1);
    json_decref(full);
}

static void update_cm(struct env *e, const char *ns, int i, int gen)
{
    char body[4096], path[160];
    cm_body(body, sizeof(body), ns, i, gen);
    cm_path(path, sizeof(path), ns, i);
    assert_int_equal(req(e, "PUT", path, NULL, body, NULL), 200);
}

/* A LIST at an older exact resourceVersion is built from the store, not the cache: lent the
 * same way, with the old bytes. */
static void test_old_rv_from_store(void **state)
{
    struct env *e = *state;
    const char *a = "/api/v1/namespaces/ns-a/configmaps";
    struct got before;
    fetch(e, a, NULL, NULL, NULL, false, BIG, &before);
    json_error_t je;
    json_t *v = json_loadb(before.bytes.data, before.bytes.len, 0, &je);
    assert_non_null(v);
    char q[256], rv[32];
    snprintf(rv, sizeof(rv), "%s", jpath(v, "metadata.resourceVersion"));
    snprintf(q, sizeof(q), "resourceVersion=%s&resourceVersionMatch=Exact", rv);
    json_decref(v);
    for (int i = 0; i < N_A; i += 3)
        update_cm(e, "ns-a", i, 1);
    assert_int_equal(same_n(e, a, q, NULL, LENT), N_A);
    struct got old;
    fetch(e, a, q, NULL, NULL, true, BIG, &old);
    assert_true(old.niov > 0);
    assert_int_equal(old.bytes.len, before.bytes.len);
    assert_memory_equal(old.bytes.data, before.bytes.data, before.bytes.len);
    got_release(&old);
    snprintf(q, sizeof(q), "resourceVersion=%s&limit=180", rv); /* exact with a limit */
    assert_int_equal(same_n(e, a, q, NULL, LENT), 180);
    got_release(&before);
}

/* A body ceiling smaller than the LIST: both ways give the same error, nothing is lent. */
static void test_small_ceiling(void **state)
{
    struct env *e = *state;
    struct got c, l;
    fetch(e, "/api/v1/namespaces/ns-a/configmaps", NULL, NULL, NULL, false, 300 << 10, &c);
    fetch(e, "/api/v1/namespaces/ns-a/configmaps", NULL, NULL, NULL, true, 300 << 10, &l);
    assert_true(c.status >= 400);
    assert_int_equal(l.status, c.status);
    assert_int_equal(l.niov, 0);
    assert_int_equal(l.bytes.len, c.bytes.len);
    assert_memory_equal(l.bytes.data, c.bytes.data, c.bytes.len);
    got_release(&c);
    got_release(&l);
}

/* Lent pieces keep the old bytes while their objects are updated and deleted, until release. */
static void test_lent_outlives_objects(void **state)
{
    struct env *e = *state;
    const char *a = "/api/v1/namespaces/ns-a/configmaps";
    struct got want;
    fetch(e, a, NULL, NULL, NULL, false, BIG, &want);
    struct api_request rq = {.method = "GET", .path = a, .user = "test"};
    struct api_response rs;
    api_response_init(&rs, BIG);
    rs.want_iov = true;
    assert_int_equal(api_handle(e->s, &rq, &rs, NULL), API_DONE);
    assert_int_equal(rs.status, 200);
    assert_true(rs.lent.niov > 0);
    for (int i = 0; i < N_A; i += 2)
        update_cm(e, "ns-a", i, 7);
    for (int i = 0; i < N_A; i++) {
        char path[160];
        cm_path(path, sizeof(path), "ns-a", i);
        assert_int_equal(req(e, "DELETE", path, NULL, NULL, NULL), 200);
    }
    assert_int_equal(same_n(e, a, NULL, NULL, NOT_LENT), 0);
    /* churn the allocator so freed object memory would be reused */
    for (int i = 0; i < N_A; i++) {
        char body[4096], path[64];
        snprintf(path, sizeof(path), "/api/v1/namespaces/ns-a/configmaps");
        cm_body(body, sizeof(body), "ns-a", i, 9);
        assert_int_equal(req(e, "POST", path, NULL, body, NULL), 201);
    }
    struct ck_buf got = CK_BUF_INIT(BIG);
    take_pieces(&rs.lent, &got, true);
    assert_int_equal(got.len, want.bytes.len);
    assert_memory_equal(got.data, want.bytes.data, got.len);
    api_response_release(&rs);
    assert_int_equal(rs.lent.niov, 0);
    ck_buf_release(&got);
    got_release(&want);
}

/* The front end's way: take the lent body over, release the response, read, then release. */
static void test_take_over(void **state)
{
    struct env *e = *state;
    struct got want;
    fetch(e, "/api/v1/configmaps", NULL, NULL, NULL, false, BIG, &want);
    struct api_request rq = {.method = "GET", .path = "/api/v1/configmaps", .user = "test"};
    struct api_response rs;
    api_response_init(&rs, BIG);
    rs.want_iov = true;
    assert_int_equal(api_handle(e->s, &rq, &rs, NULL), API_DONE);
    struct api_iov_body mine = rs.lent;
    memset(&rs.lent, 0, sizeof(rs.lent));
    api_response_release(&rs);
    struct ck_buf got = CK_BUF_INIT(BIG);
    take_pieces(&mine, &got, true);
    assert_int_equal(got.len, want.bytes.len);
    assert_memory_equal(got.data, want.bytes.data, got.len);
    api_iov_body_release(&mine);
    assert_int_equal(mine.niov, 0);
    assert_null(mine.release);
    api_iov_body_release(&mine); /* a released body releases nothing twice */
    ck_buf_release(&got);
    got_release(&want);
}

struct lister {
    struct env *e;
    atomic_int *stop;
    int lists, lent, bad;
};

/* Repeated lent LISTs of ns-a while the main thread writes: every one a complete JSON list. */
static void *lister_main(void *arg)
{
    struct lister *ls = arg;
    while (!atomic_load(ls->stop) || ls->lists < 3) {
        struct api_request rq = {.method = "GET", .path = "/api/v1/namespaces/ns-a/configmaps",
                                 .user = "test"};
        struct api_response rs;
        api_response_init(&rs, BIG);
        rs.want_iov = true;
        api_handle(ls->e->s, &rq, &rs, NULL);
        int status = rs.status;
        struct ck_buf b = CK_BUF_INIT(BIG);
        for (size_t i = 0; i < rs.lent.niov; i++)
            ck_buf_append(&b, rs.lent.iov[i].base, rs.lent.iov[i].len);
        if (!rs.lent.niov)
            ck_buf_append(&b, rs.body.data ? rs.body.data : "", rs.body.len);
        ls->lent += rs.lent.niov > 0;
        usleep(1000); /* hold the pieces while writes land */
        api_response_release(&rs);
        json_error_t je;
        json_t *v = json_loadb(b.data ? b.data : "", b.len, 0, &je);
        json_t *items = json_object_get(v, "items");
        if (!v || status != 200 || !json_is_array(items) || json_array_size(items) < 100)
            ls->bad++;
        json_decref(v);
        ck_buf_release(&b);
        ls->lists++;
    }
    return NULL;
}

static void test_concurrent_writes(void **state)
{
    struct env *e = *state;
    atomic_int stop = 0;
    struct lister ls[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        ls[i] = (struct lister){.e = e, .stop = &stop};
        assert_int_equal(pthread_create(&th[i], NULL, lister_main, &ls[i]), 0);
    }
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N_A; i += 4)
            update_cm(e, "ns-a", i, round + 1);
        for (int i = 1; i < 40; i += 4) {
            char path[160];
            cm_path(path, sizeof(path), "ns-a", i + round);
            int st = req(e, "DELETE", path, NULL, NULL, NULL);
            assert_true(st == 200 || st == 404);
        }
    }
    atomic_store(&stop, 1);
    int lists = 0, lent = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ls[i].bad, 0);
        lists += ls[i].lists;
        lent += ls[i].lent;
    }
    assert_true(lists >= 9);
    assert_true(lent >= 1);
    json_decref(same(e, "/api/v1/namespaces/ns-a/configmaps", NULL, NULL, LENT));
}

static long long metric(const char *text, const char *family, const char *ua)
{
    char key[256];
    snprintf(key, sizeof(key), "\n%s{user_agent=\"%s\",resource=\"configmaps\"} ", family, ua);
    const char *p = strstr(text, key);
    return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* The same LISTs charged to agent "copier" (copied) and "lender" (lent) cost the same. */
static void test_cost_accounting(void **state)
{
    struct env *e = *state;
    static const char *const qs[] = {NULL, "labelSelector=grp+in+(g0,g1,g2)", "limit=200",
                                     "labelSelector=nomatch%3Dx", "resourceVersion=0"};
    size_t bytes = 0, lent = 0, items = 0;
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        struct got c, l;
        fetch(e, "/api/v1/configmaps", qs[i], NULL, "copier/1.0 (test)", false, BIG, &c);
        fetch(e, "/api/v1/configmaps", qs[i], NULL, "lender/1.0 (test)", true, BIG, &l);
        assert_int_equal(l.bytes.len, c.bytes.len);
        bytes += c.bytes.len;
        lent += l.niov > 0;
        json_error_t je;
        json_t *v = json_loadb(c.bytes.data, c.bytes.len, 0, &je);
        items += json_array_size(json_object_get(v, "items"));
        json_decref(v);
        got_release(&c);
        got_release(&l);
    }
    assert_true(lent >= 3);
    struct ck_buf m = CK_BUF_INIT(16 << 20);
    assert_int_equal(api_metrics(e->s, &m), 0);
    assert_int_equal(ck_buf_appendc(&m, '\0'), 0);
    static const char *const fams[] = {
        "ckube_apiserver_list_cost_requests_total",
        "ckube_apiserver_list_cost_objects_scanned_total",
        "ckube_apiserver_list_cost_objects_returned_total",
        "ckube_apiserver_list_cost_bytes_total",
    };
    for (size_t f = 0; f < 4; f++) {
        long long cv = metric(m.data, fams[f], "copier"), lv = metric(m.data, fams[f], "lender");
        assert_true(cv >= 0);
        assert_int_equal(lv, cv);
    }
    assert_int_equal(metric(m.data, fams[0], "lender"), 5);
    assert_int_equal(metric(m.data, fams[3], "lender"), (long long)bytes);
    assert_int_equal(metric(m.data, fams[2], "lender"), (long long)items);
    assert_true(items >= 2 * (N_A + N_B) + 200);
    ck_buf_release(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_variants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_rv_from_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_ceiling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lent_outlives_objects, setup_short_history,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_take_over, setup_short_history, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writes, setup_short_history, teardown),
        cmocka_unit_test_setup_teardown(test_cost_accounting, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
