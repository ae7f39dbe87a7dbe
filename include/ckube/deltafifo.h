/* SPDX-License-Identifier: Apache-2.0 */
/* DeltaFIFO (client-go): a queue of object keys, each carrying the ordered list of changes
 * (deltas) seen since it was last popped. A key is queued once however many deltas pile up;
 * two consecutive deletions collapse into one. Replace (a relist) emits Replaced deltas and,
 * for keys the consumer knows that vanished, Deleted deltas marked final-state-unknown. */
#ifndef CKUBE_DELTAFIFO_H
#define CKUBE_DELTAFIFO_H

#include "ckube/indexer.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum ck_delta_type {
    CK_DELTA_ADDED = 1,
    CK_DELTA_UPDATED,
    CK_DELTA_DELETED,
    CK_DELTA_REPLACED,
    CK_DELTA_SYNC,
};

struct ck_delta {
    enum ck_delta_type type;
    json_t *obj;              /* borrowed for the duration of the process callback */
    bool final_state_unknown; /* a deletion inferred by a relist: obj is the last known state */
};

struct ck_deltafifo;

/* known: the consumer's indexer (what it has seen), used by replace and resync; may be NULL.
 * Not owned. */
struct ck_deltafifo *ck_deltafifo_new(struct ck_indexer *known);
void ck_deltafifo_free(struct ck_deltafifo *f);

/* Each returns -1 if obj has no key (no metadata.name). obj is referenced, not copied. */
int ck_deltafifo_add(struct ck_deltafifo *f, json_t *obj);
int ck_deltafifo_update(struct ck_deltafifo *f, json_t *obj);
int ck_deltafifo_delete(struct ck_deltafifo *f, json_t *obj);
/* items: a JSON array of the complete current state (from a LIST). */
int ck_deltafifo_replace(struct ck_deltafifo *f, const json_t *items);
/* Queues a Sync delta for every known object that has no pending deltas. */
int ck_deltafifo_resync(struct ck_deltafifo *f);

/* Waits for a key and calls process with its deltas, oldest first (the fifo's lock is NOT
 * held during the call). Returns process's return value, or -1 once the fifo is closed and
 * empty. */
typedef int (*ck_delta_process_fn)(void *arg, const char *key, const struct ck_delta *d, size_t n);
int ck_deltafifo_pop(struct ck_deltafifo *f, ck_delta_process_fn process, void *arg);
/* Like pop, but returns 0 without calling process when nothing came within timeout_ms. */
int ck_deltafifo_pop_timeout(struct ck_deltafifo *f, int timeout_ms, ck_delta_process_fn process,
                             void *arg);

/* True once the first replace (or add/update/delete) happened and every item it queued has
 * been popped. */
bool ck_deltafifo_has_synced(struct ck_deltafifo *f);
size_t ck_deltafifo_len(struct ck_deltafifo *f);
void ck_deltafifo_close(struct ck_deltafifo *f);

#endif
