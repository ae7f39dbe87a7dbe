/* SPDX-License-Identifier: Apache-2.0 */
/* The pods/log subresource, streamed from the kubelet (http_podlog.c). */
#ifndef CK_APISERVER_HTTP_PODLOG_H
#define CK_APISERVER_HTTP_PODLOG_H

#include "apiserver/http/http_int.h"

/* True for GET /api/v1/namespaces/NS/pods/NAME/log (decoded path). */
bool http_podlog_match(const char *path, const char *method, size_t mlen);
/* Loop thread: takes the request over (answers it later from the loop, or at once with 429
 * when too many log streams are open); always true. */
bool http_podlog_begin(struct http_loop *lp, h2o_req_t *req, const char *path,
                       const struct authn_user *u, int midx, int64_t t0);

#endif
