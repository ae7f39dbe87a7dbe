/* SPDX-License-Identifier: Apache-2.0 */
/* The proxy's sync engine, without informers (the proxy feeds it from its informers, `ckube
 * bench proxy` from generated objects): the Services and EndpointSlices last seen, the
 * Services changed since the last sync, each Service's applied bundle, and the nftables
 * context. A sync is one nft transaction: the whole table (the first sync, after a failure,
 * and every full_sync period) or only the changed Services' chains and map elements; when only
 * endpoint maps' elements changed, one netlink batch without libnftables (nl.h).
 * set_* may be called from any thread; px_engine_sync from one thread at a time. */
#ifndef CK_PROXY_ENGINE_H
#define CK_PROXY_ENGINE_H

#include "lib/err.h"
#include "proxy/rules.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct px_engine;

/* env's strings are copied; node: this node's name (endpoint locality). NULL when libnftables
 * gives no context. */
struct px_engine *px_engine_new(const struct px_env *env, const char *node);
void px_engine_free(struct px_engine *e);

/* A Service (or NULL: deleted) under key "ns/name"; obj is kept by reference. */
void px_engine_set_service(struct px_engine *e, const char *ns, const char *name, json_t *obj);
/* An EndpointSlice (or NULL: deleted) under key "ns/name". */
void px_engine_set_slice(struct px_engine *e, const char *ns, const char *name, json_t *obj);
/* Whether a sync has something to do (changes, or a full sync owed). */
bool px_engine_pending(struct px_engine *e);
/* The next sync rewrites the whole table. */
void px_engine_want_full(struct px_engine *e);

struct px_sync_result {
    bool full;         /* a whole-table sync */
    bool elements;     /* endpoint-map elements only, as one netlink batch (nl.h) */
    size_t services;   /* Services whose rules changed */
    size_t rules;      /* rules in the table after the sync */
    size_t script_len; /* bytes of nft script */
    double seconds;
};

/* Applies what changed; on failure the next sync is a full one. */
int px_engine_sync(struct px_engine *e, struct px_sync_result *res, struct ck_err *err);
/* Removes the table. */
int px_engine_cleanup(struct px_engine *e, struct ck_err *err);
/* Rules in the table after the last successful sync. */
size_t px_engine_nrules(struct px_engine *e);
/* `nft list table` of the engine's table into out. */
int px_engine_list(struct px_engine *e, struct ck_buf *out, struct ck_err *err);

#endif
