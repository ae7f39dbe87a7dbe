/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the kubelet server's files: kubeletsrv.c (listener, TLS, authn, routing),
 * logs.c (/containerLogs) and stats.c (/stats/summary, /metrics/resource). */
#ifndef CK_AGENT_KUBELETSRV_H
#define CK_AGENT_KUBELETSRV_H

#include "agent/agent_int.h"
#include "agent/streaming.h"

/* Writes a complete response (Content-Length framing, Connection: close). */
void ag_http_respond(struct ag_http_conn *c, int code, const char *ctype, const char *body,
                     size_t len);
/* A plain-text error as upstream's restful WriteError: the message and a newline. */
void ag_http_error(struct ag_http_conn *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *ag_http_reason(int code);

/* The value of query parameter name (percent-decoded) into out; false when absent. */
bool ag_http_query(const char *query, const char *name, char *out, size_t cap);
/* Percent-decodes s[0..n) into out; false on a bad escape or an encoded NUL. */
bool ag_http_unescape(const char *s, size_t n, char *out, size_t cap);

#endif
