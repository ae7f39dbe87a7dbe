/* SPDX-License-Identifier: Apache-2.0 */
/* Per-container restart backoff, as the kubelet's flowcontrol.Backoff drives CrashLoopBackOff:
 * the first restart is immediate; each later one waits initial * 2^n after the container's
 * last exit, capped at max; an entry untouched for 2 * max starts over at initial.
 * Pure and not thread-safe: each pod worker owns the backoffs of its pod. */
#ifndef CK_AGENT_BACKOFF_H
#define CK_AGENT_BACKOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AG_BACKOFF_INITIAL_NS (10LL * 1000000000)
#define AG_BACKOFF_MAX_NS (300LL * 1000000000)

struct ag_backoff_entry {
    char *key;          /* container name */
    int64_t backoff_ns; /* current window */
    int64_t last_ns;    /* when the last Next ran */
};

struct ag_backoff {
    int64_t initial_ns, max_ns;
    struct ag_backoff_entry *v;
    size_t n;
};

void ag_backoff_init(struct ag_backoff *b, int64_t initial_ns, int64_t max_ns);
void ag_backoff_release(struct ag_backoff *b);
/* IsInBackOffSince: the key has a window and now - event_ns is still inside it. */
bool ag_backoff_in_backoff_since(const struct ag_backoff *b, const char *key, int64_t event_ns,
                                 int64_t now_ns);
/* IsInBackOffSinceUpdate: the key's last Next was less than its window before now (image pulls). */
bool ag_backoff_in_backoff_since_update(const struct ag_backoff *b, const char *key,
                                        int64_t now_ns);
/* Next: records a restart caused by the event at event_ns (the container's exit), at time
 * now_ns: the window starts at initial for a new entry or one whose last update is more than
 * 2 * max before event_ns, else doubles up to max. */
void ag_backoff_next(struct ag_backoff *b, const char *key, int64_t event_ns, int64_t now_ns);
/* Get: the current window of key (0 when none). */
int64_t ag_backoff_get(const struct ag_backoff *b, const char *key);
/* Drops entries untouched for 2 * max (GC). */
void ag_backoff_gc(struct ag_backoff *b, int64_t now_ns);

#endif
