/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: arbitrary bytes as a request body through api_handle (create, update and
 * every patch type, JSON and YAML, strict field validation) on a real LMDB store in a temp
 * dir. The first byte picks the verb and content type; the rest is the body. */
#include "apiserver/api.h"
#include "store/store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct store *st;
static struct api_server *srv;

static void fuzz_init(void)
{
    char dir[] = "/tmp/ck-fuzz-json-body-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    struct store_lmdb_opts o = {.dir = dir, .no_sync = true, .map_size = (size_t)1 << 30};
    struct ck_err err = CK_ERR_INIT;
    if (store_lmdb_open(&o, &st, &err) < 0 || api_server_new(st, NULL, &srv, &err) < 0) {
        fprintf(stderr, "fuzz init: %s\n", err.msg);
        abort();
    }
    static const char seed[] = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
                               "\"p\",\"labels\":{\"a\":\"b\"}},\"spec\":{\"containers\":[{"
                               "\"name\":\"c\",\"image\":\"i\"}]}}";
    struct api_request rq = {.method = "POST", .path = "/api/v1/namespaces/default/pods",
                             .content_type = "application/json", .body = seed,
                             .body_len = sizeof(seed) - 1};
    struct api_response rs;
    api_response_init(&rs, 1 << 20);
    api_handle(srv, &rq, &rs, NULL);
    api_response_release(&rs);
}

struct op {
    const char *method, *path, *query, *ctype;
};

static const struct op ops[] = {
    {"POST", "/api/v1/namespaces/default/configmaps", NULL, "application/json"},
    {"POST", "/api/v1/namespaces/default/pods", "fieldValidation=Strict", "application/json"},
    {"POST", "/apis/apps/v1/namespaces/default/deployments", "dryRun=All", "application/json"},
    {"POST", "/api/v1/namespaces/default/configmaps", NULL, "application/yaml"},
    {"PUT", "/api/v1/namespaces/default/pods/p", NULL, "application/json"},
    {"PUT", "/api/v1/namespaces/default/pods/p/status", NULL, "application/json"},
    {"PATCH", "/api/v1/namespaces/default/pods/p", "dryRun=All", "application/merge-patch+json"},
    {"PATCH", "/api/v1/namespaces/default/pods/p", "dryRun=All", "application/json-patch+json"},
    {"PATCH", "/api/v1/namespaces/default/pods/p", "dryRun=All",
     "application/strategic-merge-patch+json"},
    {"PATCH", "/api/v1/namespaces/default/pods/p", "fieldManager=f&dryRun=All",
     "application/apply-patch+yaml"},
    {"DELETE", "/api/v1/namespaces/default/configmaps/nope", NULL, "application/json"},
    {"POST", "/api/v1/namespaces/default/pods/p/binding", "dryRun=All", "application/json"},
    {"PUT", "/apis/apps/v1/namespaces/default/deployments/d/scale", NULL, "application/json"},
    {"GET", "/api/v1/namespaces/default/pods", NULL, NULL},
    {"POST", "/api/v1/namespaces/default/pods/p/eviction", "dryRun=All", "application/json"},
    {"POST", "/api/v1/namespaces/default/services", "dryRun=All", "application/json"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv)
        fuzz_init();
    if (size < 1)
        return 0;
    const struct op *op = &ops[data[0] % (sizeof(ops) / sizeof(ops[0]))];
    char *body = malloc(size);
    memcpy(body, data + 1, size - 1);
    struct api_request rq = {.method = op->method, .path = op->path, .query = op->query,
                             .content_type = op->ctype, .body = body, .body_len = size - 1};
    if (strcmp(op->method, "GET") == 0) {
        /* selectors and paging parameters from the fuzz input instead of a body */
        char *q = malloc(size + 32);
        memcpy(q, data + 1, size - 1);
        q[size - 1] = '\0';
        rq.query = q;
        rq.body = NULL;
        rq.body_len = 0;
        struct api_response rs;
        api_response_init(&rs, 1 << 22);
        struct api_watch *w = NULL;
        if (api_handle(srv, &rq, &rs, &w) == API_WATCH) {
            struct ck_buf b = CK_BUF_INIT(1 << 22);
            api_watch_drain(w, &b);
            ck_buf_release(&b);
            api_watch_close(w);
        }
        api_response_release(&rs);
        free(q);
        free(body);
        return 0;
    }
    struct api_response rs;
    api_response_init(&rs, 1 << 22);
    api_handle(srv, &rq, &rs, NULL);
    if (rs.status < 100 || rs.status > 599)
        abort();
    api_response_release(&rs);
    free(body);
    return 0;
}
