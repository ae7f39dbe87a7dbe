/* SPDX-License-Identifier: Apache-2.0 */
/* Integration: an informer on pods converges to the server's state after N creates/updates/
 * deletes, with a forced watch disconnect in the middle and a forced 410 (the informer is
 * paused while more writes than the server's watch history happen, then resumes from its old
 * resourceVersion after the server compacted its history). Usage:
 * informer_converge SERVER_URL OPS HISTORY_WRITES [PAUSE_MS] */
#include "ckube/client.h"
#include "ckube/informer.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NS "informer-it"
#define POOL 150

static struct ck_client *cl;

static int fail(const char *what, const struct ck_err *e)
{
    fprintf(stderr, "FAIL: %s: %s\n", what, e ? e->msg : "");
    exit(1);
}

static json_t *pod(const char *name)
{
    return json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:{s:[{s:s,s:s}]}}", "apiVersion", "v1", "kind",
                     "Pod", "metadata", "name", name, "labels", "gen", "g0", "spec", "containers",
                     "name", "c", "image", "busybox");
}

static void set_gen(json_t *p, int gen)
{
    char g[16];
    snprintf(g, sizeof(g), "g%d", gen);
    json_object_set_new(json_object_get(json_object_get(p, "metadata"), "labels"), "gen",
                        json_string(g));
}

/* One random operation on a pool of pod names: create if absent, else update or delete. */
static void random_op(unsigned *seed, int i)
{
    char name[32], path[256];
    snprintf(name, sizeof(name), "p%d", rand_r(seed) % POOL);
    snprintf(path, sizeof(path), "/api/v1/namespaces/" NS "/pods/%s", name);
    struct ck_err e = CK_ERR_INIT;
    json_t *cur = NULL;
    if (ck_client_get_json(cl, path, &cur, &e) < 0) {
        if (e.reason != CK_R_NOT_FOUND)
            fail("get", &e);
        json_t *p = pod(name);
        set_gen(p, i);
        if (ck_client_create_json(cl, "/api/v1/namespaces/" NS "/pods", p, NULL, &e) < 0)
            fail("create", &e);
        json_decref(p);
        return;
    }
    if (rand_r(seed) % 3 == 0) {
        if (ck_client_delete(cl, path, &e) < 0 && e.reason != CK_R_NOT_FOUND)
            fail("delete", &e);
    } else {
        set_gen(cur, i);
        if (ck_client_update_json(cl, path, cur, NULL, &e) < 0 && e.reason != CK_R_CONFLICT)
            fail("update", &e);
    }
    json_decref(cur);
}

/* "name=rv,..." of the server's pods (sorted by name as the server returns them). */
static char *server_state(void)
{
    json_t *list = NULL;
    struct ck_err e = CK_ERR_INIT;
    if (ck_client_get_json(cl, "/api/v1/namespaces/" NS "/pods", &list, &e) < 0)
        fail("list", &e);
    struct ck_buf b = CK_BUF_INIT(1 << 24);
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(list, "items"), i, it) {
        json_t *md = json_object_get(it, "metadata");
        ck_buf_appendf(&b, "%s/%s=%s,", NS, json_string_value(json_object_get(md, "name")),
                       json_string_value(json_object_get(md, "resourceVersion")));
    }
    json_decref(list);
    return ck_buf_detach(&b, NULL);
}

static char *informer_state(struct ck_informer *inf)
{
    json_t *keys = ck_indexer_keys(ck_informer_indexer(inf));
    struct ck_buf b = CK_BUF_INIT(1 << 24);
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        json_t *o = ck_indexer_get(ck_informer_indexer(inf), json_string_value(k));
        ck_buf_appendf(&b, "%s=%s,", json_string_value(k),
                       json_string_value(json_object_get(json_object_get(o, "metadata"),
                                                         "resourceVersion")));
        json_decref(o);
    }
    json_decref(keys);
    return ck_buf_detach(&b, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return fprintf(stderr, "usage: %s SERVER OPS HISTORY_WRITES\n", argv[0]), 2;
    int ops = atoi(argv[2]), history = atoi(argv[3]);
    int pause_ms = argc > 4 ? atoi(argv[4]) : 0; /* long enough for the server to compact */
    if (getenv("CKUBE_V"))
        ck_log_verbosity = atoi(getenv("CKUBE_V"));
    struct ck_client_config cfg = {.server = argv[1], .qps = 5000, .burst = 5000};
    struct ck_err e = CK_ERR_INIT;
    if (ck_client_new(&cfg, &cl, &e) < 0)
        fail("client", &e);
    json_t *ns = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                           "metadata", "name", NS);
    if (ck_client_create_json(cl, "/api/v1/namespaces", ns, NULL, &e) < 0 &&
        e.reason != CK_R_ALREADY_EXISTS)
        fail("create namespace", &e);
    json_decref(ns);
    struct ck_informer *inf = ck_informer_new(
        cl, &(struct ck_informer_opts){.path = "/api/v1/namespaces/" NS "/pods"});
    ck_informer_start(inf);
    if (!ck_informer_wait_synced(inf, 10000))
        fail("informer did not sync", NULL);
    unsigned seed = 42;
    for (int i = 0; i < ops; i++) {
        if (i == ops / 3) {
            ck_informer_drop_watch(inf); /* forced disconnect: must resume, not relist */
        }
        if (i == 2 * ops / 3) { /* forced 410: more writes than the history while away */
            ck_informer_pause(inf, true);
            usleep(200000);
            for (int j = 0; j < history; j++)
                random_op(&seed, i);
            usleep((useconds_t)pause_ms * 1000);
            ck_informer_pause(inf, false);
        }
        random_op(&seed, i);
    }
    char *want = server_state(), *got = NULL;
    for (int t = 0; t < 200; t++) { /* converge within 10 s */
        free(got);
        got = informer_state(inf);
        if (!strcmp(want, got))
            break;
        usleep(50000);
    }
    struct ck_informer_stats st;
    ck_informer_stats(inf, &st);
    printf("lists=%ld watches=%ld relists_410=%ld events=%ld objects=%zu\n", st.lists, st.watches,
           st.relists_410, st.events, ck_indexer_len(ck_informer_indexer(inf)));
    int rc = 0;
    if (strcmp(want, got)) {
        fprintf(stderr, "FAIL: informer did not converge\nserver:   %.400s\ninformer: %.400s\n",
                want, got);
        rc = 1;
    }
    if (st.watches < 3) /* initial, after the drop, after the pause */
        fprintf(stderr, "FAIL: expected >= 3 watches, got %ld\n", st.watches), rc = 1;
    if (history > 0 && st.relists_410 < 1)
        fprintf(stderr, "FAIL: expected a relist after 410\n"), rc = 1;
    if (st.lists < 2 && history > 0)
        fprintf(stderr, "FAIL: expected >= 2 lists\n"), rc = 1;
    free(want);
    free(got);
    ck_informer_free(inf);
    ck_client_free(cl);
    printf("%s\n", rc ? "FAILED" : "OK");
    return rc;
}
