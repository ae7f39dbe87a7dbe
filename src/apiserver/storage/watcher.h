/* SPDX-License-Identifier: Apache-2.0 */
/* One watch stream in the cache: a bounded queue of shared, once-serialised events filtered
 * by namespace and selectors (ADDED/DELETED when an object starts/stops matching), its start
 * state, bookmarks and timeout. Handlers (endpoints/watch.c) parse the request, fill the
 * options and start it with one of the eng_watch_start_* calls; the HTTP front end drains it
 * through api.h. */
#ifndef CK_APISERVER_WATCHER_H
#define CK_APISERVER_WATCHER_H

#include "apiserver/storage/storage.h"

struct api_watch {
    struct eng_cache *s; /* NULL once the cache is gone */
    struct api_watch *next, *prev;
    pthread_mutex_t mu;
    const struct reg_resource *res;
    char *ns;
    struct sel *ls, *fs;
    enum eng_fmt fmt;
    const char *tv;
    char *include;
    bool bookmarks, cols_sent;
    int64_t min_rev; /* deliver only events with revision > min_rev */
    int64_t last_rv; /* latest revision this watcher has passed */
    int64_t deadline_ms, last_bm_ms;
    struct eng_event **q;
    size_t qhead, qlen, qcap;
    struct eng_obj **init;
    size_t ninit;
    bool init_bookmark; /* send the initial-events-end bookmark after init */
    int64_t init_rv;
    bool bm_pending;
    bool ended;
    /* Set for another wire format (protobuf): api_watch_drain passes each JSON event line
     * through it, which appends the event's frame to out (storage cannot include encoding/;
     * the handler that negotiated the format sets it before the first drain). */
    int (*reframe)(const char *line, size_t len, struct ck_buf *out, struct ck_err *err);
    char *final_line; /* ERROR event to send before ending */
    void (*notify)(void *arg);
    void *narg;
    /* A served version other than the stored one (endpoints/convert.c): bookmarks name it
     * and JSON object bodies go through convert; NULL = as stored. */
    const struct reg_resource *view;
    int (*convert)(const struct reg_resource *view, const char *body, size_t len,
                   struct ck_buf *out);
};

/* A new watcher of res on cache s (options filled by the caller before it starts). */
struct api_watch *eng_watch_new(struct eng_cache *s, const struct reg_resource *res);
/* Frees a watcher that never started, or that api_watch_close unlinked. */
void eng_watch_free(struct api_watch *w);
/* Starts w at the cache's current state: every matching object as a synthetic ADDED, then
 * the initial-events-end bookmark when init_bookmark is set. */
void eng_watch_start_current(struct api_watch *w, bool init_bookmark);
/* Starts w after revision rv: the store's event log (rv, X] then the ring (X, ...]. Returns
 * 0, 1 when rv is compacted away, or -1 with err set. */
int eng_watch_start_from(struct api_watch *w, int64_t rv, struct ck_err *err);
/* Ends w (not yet started) with a 410 Expired ERROR event carrying msg. */
void eng_watch_end_expired(struct api_watch *w, const char *msg);

#endif
