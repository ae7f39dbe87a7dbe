/* SPDX-License-Identifier: Apache-2.0 */
/* The REST client's internals shared by rest.c and batch.c. */
#ifndef CK_CLIENT_REST_INT_H
#define CK_CLIENT_REST_INT_H

#include "ckube/client.h"
#include "ckube/wq.h"

#include <curl/curl.h>
#include <pthread.h>

#define POOL_MAX 32

struct ck_client {
    struct ck_client_config cfg;
    pthread_mutex_t mu;
    CURL *pool[POOL_MAX];
    size_t npool;
    struct wq_rate_limiter *throttle;
    struct curl_slist *base_headers;
    char *ua;
};

/* The options every request gets: URL, method, headers, user agent, HTTP/2 over TLS, TLS
 * material, timeouts for connecting, keepalive, gzip. */
void ck_rest_prepare(struct ck_client *c, CURL *h, const char *method, const char *url,
                     struct curl_slist *headers);
/* err from a non-2xx answer (its Status when there is one); returns -1. */
int ck_rest_status_error(int code, const struct ck_buf *body, struct ck_err *err);

#endif
