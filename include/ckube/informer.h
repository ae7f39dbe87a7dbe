/* SPDX-License-Identifier: Apache-2.0 */
/* Informers (client-go's reflector + DeltaFIFO + indexer + handlers):
 * - the reflector LISTs (resourceVersion=0), then WATCHes from the list's resourceVersion with
 *   bookmarks; on 410 Gone/Expired it relists; on a dropped stream it resumes from the last
 *   resourceVersion it saw; failures back off with jitter (800 ms doubling to 30 s);
 * - deltas flow through a DeltaFIFO into the indexer, then to every registered handler;
 * - a shared factory keeps one informer per resource path for every user. */
#ifndef CKUBE_INFORMER_H
#define CKUBE_INFORMER_H

#include "ckube/client.h"
#include "ckube/indexer.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct ck_informer;

/* Handlers run on the informer's processing thread, one event at a time. Objects are
 * borrowed for the call (json_incref to keep them). */
struct ck_informer_handlers {
    void (*on_add)(void *arg, json_t *obj);
    void (*on_update)(void *arg, json_t *old_obj, json_t *new_obj);
    /* obj is the last known state (possibly stale if the deletion was inferred by a relist) */
    void (*on_delete)(void *arg, json_t *obj);
    void *arg;
};

struct ck_informer_opts {
    const char *path;           /* collection path: "/api/v1/pods", "/apis/apps/v1/namespaces/x/deployments" */
    const char *label_selector; /* optional */
    const char *field_selector; /* optional */
    int64_t resync_ms;          /* 0 = no periodic resync */
    int watch_timeout_s;        /* server-side timeoutSeconds per watch; 0 = random 300..600 */
    /* optional (client-go's SetTransform): edits each listed or watched object in place before
     * it is stored or handed to handlers, e.g. to keep only its metadata */
    void (*transform)(json_t *obj);
};

struct ck_informer *ck_informer_new(struct ck_client *c, const struct ck_informer_opts *o);
/* Handlers added before start see every object as an add; handlers added later are not
 * replayed (add them before starting). */
void ck_informer_add_handlers(struct ck_informer *inf, const struct ck_informer_handlers *h);
/* The informer's indexer (namespace index built in); valid until ck_informer_free. */
struct ck_indexer *ck_informer_indexer(struct ck_informer *inf);
int ck_informer_start(struct ck_informer *inf);
bool ck_informer_has_synced(struct ck_informer *inf);
/* Waits until synced or timeout_ms passes; returns has_synced. */
bool ck_informer_wait_synced(struct ck_informer *inf, int timeout_ms);
/* The resourceVersion the reflector last saw ("" before the first list). Caller frees. */
char *ck_informer_last_rv(struct ck_informer *inf);
/* Test/diagnostic hook: drop the current watch connection (the reflector resumes). */
void ck_informer_drop_watch(struct ck_informer *inf);
/* Test hook: while paused the reflector holds no watch (it resumes from the last
 * resourceVersion when unpaused, which forces a 410 if the server's history moved past it). */
void ck_informer_pause(struct ck_informer *inf, bool paused);
/* Counters for tests and metrics. */
struct ck_informer_stats {
    long lists, watches, relists_410, events;
};
void ck_informer_stats(struct ck_informer *inf, struct ck_informer_stats *out);
void ck_informer_stop(struct ck_informer *inf);
/* Asks inf to stop without waiting (its watch notices within about a second); a later
 * ck_informer_stop or ck_informer_free joins it. To stop several informers, signal them all
 * first so their watches end together. */
void ck_informer_signal_stop(struct ck_informer *inf);
void ck_informer_free(struct ck_informer *inf);

/* Shared informer factory: one informer per path, shared by every caller. */
struct ck_informer_factory;
struct ck_informer_factory *ck_informer_factory_new(struct ck_client *c, int64_t resync_ms);
/* Returns the shared informer for path (created on first use; owned by the factory). */
struct ck_informer *ck_informer_factory_get(struct ck_informer_factory *f, const char *path);
/* Starts every informer not yet started. */
void ck_informer_factory_start(struct ck_informer_factory *f);
bool ck_informer_factory_wait_synced(struct ck_informer_factory *f, int timeout_ms);
void ck_informer_factory_free(struct ck_informer_factory *f);

#endif
