/* SPDX-License-Identifier: Apache-2.0 */
/* Asynchronous requests for high-rate writers (the scheduler's bindings and Events): one
 * thread drives every request in flight: HTTP/2 streams multiplexed over a connection for
 * https (negotiated by ALPN), a few HTTP/1.1 keep-alive connections for plain http (ckube's
 * API server does not keep an HTTP/2 connection without TLS past its first request). Each
 * request gets what
 * ck_client_do gives it: the client's headers, TLS material, timeout and throttle (a throttled
 * request is started later; the caller does not wait), 429 retried after Retry-After or a
 * backoff, 5xx and transport failures retried for GET/HEAD only, errors decoded from the
 * response's Status. */
#ifndef CKUBE_BATCH_H
#define CKUBE_BATCH_H

#include "ckube/client.h"

struct ck_batch;

/* Runs on the batch's thread once the request finished: rc 0 for a 2xx answer (err is then
 * NULL), else -1 with err filled. resp->body holds the answer. It must not block on the
 * batch; it may submit further requests. */
typedef void (*ck_batch_fn)(void *arg, int rc, const struct ck_response *resp,
                            const struct ck_err *err);

/* max_inflight bounds the requests on the wire at once (0 and at most 256; over plain http
 * each is a keep-alive connection of its own); more wait in order. */
struct ck_batch *ck_batch_new(struct ck_client *c, int max_inflight);
/* Queues a request (path includes the query; body copied; content_type may be NULL).
 * Returns 0, or -1 once the batch is being freed (fn is then not called). */
int ck_batch_submit(struct ck_batch *b, const char *method, const char *path,
                    const char *content_type, const void *body, size_t body_len, ck_batch_fn fn,
                    void *arg);
/* Requests queued or on the wire. */
size_t ck_batch_pending(struct ck_batch *b);
/* Finishes every queued request (each callback runs), then frees the batch. */
void ck_batch_free(struct ck_batch *b);

#endif
