/* SPDX-License-Identifier: Apache-2.0 */
/* The pods/binding fast path: a binding changes only spec.nodeName and the PodScheduled
 * condition, so the new stored bytes are spliced from the cached object's bytes (no parse,
 * copy, compare or re-serialisation of the whole pod), with every semantic of the general
 * update path kept (bind.c). */
#ifndef CK_APISERVER_BIND_H
#define CK_APISERVER_BIND_H

#include "apiserver/endpoints/endpoints.h"

#include <stdbool.h>
#include <stddef.h>

enum eng_bind_splice_rc {
    ENG_BS_OK = 0,       /* *out holds the new stored bytes */
    ENG_BS_FALLBACK = 1, /* a shape the splice does not handle: use the general path */
    ENG_BS_BOUND = 2,    /* spec.nodeName is set already (*bound_to: its value, malloc'd) */
    ENG_BS_GATED = 3,    /* spec.schedulingGates is not empty */
};

/* Splices a binding into body[0..len), a pod's JSON object text: spec.nodeName set to
 * node_json (a JSON string literal, quotes included) and the PodScheduled condition set to
 * True in place (its lastTransitionTime kept when it was True already, else now, an RFC 3339
 * time), appended when absent. The member [cut_off, cut_off+cut_len) is removed on the way
 * (the resourceVersion of cached bytes; cut_len 0: none). Any JSON text is safe to pass. */
int eng_bind_splice(const char *body, size_t len, size_t cut_off, size_t cut_len,
                    const char *node_json, const char *now, char **out, size_t *out_len,
                    char **bound_to);

/* Binds r's pod by splicing when it can: 1 answered (r->rs holds the reply; err the error
 * it answered with), 0 use the general path (nothing done). uid/rv: the Binding's
 * preconditions (NULL or "": none). */
int eng_bind_fast(struct eng_req *r, const char *node, const char *uid, const char *rv,
                  struct ck_err *err);

/* Bindings the fast path wrote since the process started (tests). */
long long eng_bind_fast_count(void);

/* The conflict a binding answers with (upstream wraps the pod's state in pods/binding). */
void eng_bind_conflict(struct ck_err *err, const char *pod, const char *why_fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
