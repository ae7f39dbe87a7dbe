/* SPDX-License-Identifier: Apache-2.0 */
/* Test harness for the API engine tests: a real LMDB store in a temp dir, an engine on it,
 * and a one-call request helper that returns the status and the parsed JSON body. */
#ifndef CK_TEST_ENGINE_HARNESS_H
#define CK_TEST_ENGINE_HARNESS_H

#include "apiserver/api.h"
#include "store/store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct env {
    char dir[128];
    struct store *st;
    struct api_server *s;
    int64_t watch_history;
    int compact_interval_s;
    char ctype[96];
    size_t nwarn;
    char warn[4][512];
};

static inline int env_start(struct env *e)
{
    struct store_lmdb_opts o = {.dir = e->dir, .no_sync = true};
    struct ck_err err = CK_ERR_INIT;
    if (store_lmdb_open(&o, &e->st, &err) < 0) {
        fprintf(stderr, "store_lmdb_open: %s\n", err.msg);
        return -1;
    }
    struct api_opts ao = {.watch_history = e->watch_history,
                          .compact_interval_s = e->compact_interval_s};
    if (api_server_new(e->st, &ao, &e->s, &err) < 0) {
        fprintf(stderr, "api_server_new: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static inline int env_open_hist(struct env *e, int64_t hist)
{
    memset(e, 0, sizeof(*e));
    e->watch_history = hist;
    snprintf(e->dir, sizeof(e->dir), "/tmp/ck-engine-test-XXXXXX");
    if (!mkdtemp(e->dir))
        return -1;
    return env_start(e);
}

static inline int env_open(struct env *e)
{
    return env_open_hist(e, 0);
}

static inline void env_stop(struct env *e)
{
    api_server_free(e->s);
    e->s = NULL;
    if (e->st)
        store_close(e->st);
    e->st = NULL;
}

static inline void env_close(struct env *e)
{
    env_stop(e);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", e->dir);
}

/* cmocka setup/teardown: a fresh engine on a temp store per test. */
static inline int env_setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    if (!e || env_open(e) < 0) {
        free(e);
        return -1;
    }
    *state = e;
    return 0;
}

static inline int env_teardown(void **state)
{
    env_close(*state);
    free(*state);
    return 0;
}

/* Full request: returns the HTTP status; *out (optional) = parsed body or NULL. */
static inline int reqx(struct env *e, const char *method, const char *path, const char *query,
                       const char *ctype, const char *accept, const char *body, json_t **out,
                       struct ck_buf *raw)
{
    struct api_request rq = {.method = method, .path = path, .query = query,
                             .content_type = ctype, .accept = accept, .user = "test",
                             .body = body, .body_len = body ? strlen(body) : 0};
    struct api_response rs;
    api_response_init(&rs, 64 << 20);
    struct api_watch *w = NULL;
    enum api_result r = api_handle(e->s, &rq, &rs, &w);
    if (r == API_WATCH)
        api_watch_close(w);
    snprintf(e->ctype, sizeof(e->ctype), "%s", rs.content_type);
    e->nwarn = rs.nwarnings;
    for (size_t i = 0; i < rs.nwarnings && i < 4; i++)
        snprintf(e->warn[i], sizeof(e->warn[i]), "%s", rs.warnings[i]);
    if (out) {
        json_error_t je;
        *out = rs.body.len ? json_loadb(rs.body.data, rs.body.len, 0, &je) : NULL;
    }
    if (raw) {
        ck_buf_reset(raw);
        ck_buf_append(raw, rs.body.data ? rs.body.data : "", rs.body.len);
    }
    int st = rs.status;
    api_response_release(&rs);
    return st;
}

static inline int req(struct env *e, const char *method, const char *path, const char *query,
                      const char *body, json_t **out)
{
    const char *ct = NULL;
    if (body && strcmp(method, "PATCH") == 0)
        ct = "application/merge-patch+json";
    else if (body)
        ct = "application/json";
    return reqx(e, method, path, query, ct, NULL, body, out, NULL);
}

/* Opens a watch; returns the stream or NULL (status in *status). */
static inline struct api_watch *watch_open(struct env *e, const char *path, const char *query,
                                           const char *accept, int *status)
{
    struct api_request rq = {.method = "GET", .path = path, .query = query, .accept = accept};
    struct api_response rs;
    api_response_init(&rs, 1 << 20);
    struct api_watch *w = NULL;
    enum api_result r = api_handle(e->s, &rq, &rs, &w);
    *status = rs.status;
    api_response_release(&rs);
    return r == API_WATCH ? w : NULL;
}

/* Drains a watch into a JSON array of events. */
static inline json_t *watch_events(struct api_watch *w, int *ended)
{
    struct ck_buf b = CK_BUF_INIT(64 << 20);
    int rc = api_watch_drain(w, &b);
    if (ended)
        *ended = rc;
    json_t *arr = json_array();
    const char *p = b.data ? b.data : "";
    while (*p) {
        const char *nl = strchr(p, '\n');
        if (!nl)
            break;
        json_error_t je;
        json_t *v = json_loadb(p, (size_t)(nl - p), 0, &je);
        json_array_append_new(arr, v ? v : json_string("<bad line>"));
        p = nl + 1;
    }
    ck_buf_release(&b);
    return arr;
}

static inline const char *jpath(json_t *v, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    char *save = NULL;
    json_t *cur = v;
    for (char *t = strtok_r(buf, ".", &save); t && cur; t = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, t);
    return json_string_value(cur);
}

static inline json_int_t jint(json_t *v, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    char *save = NULL;
    json_t *cur = v;
    for (char *t = strtok_r(buf, ".", &save); t && cur; t = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, t);
    return json_is_integer(cur) ? json_integer_value(cur) : -999;
}

#endif
