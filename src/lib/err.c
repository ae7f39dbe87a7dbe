/* SPDX-License-Identifier: Apache-2.0 */
/* struct ck_err helpers and the reason -> (StatusReason, HTTP code) table. */
#include "lib/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int code;
} reasons[] = {
    [CK_R_NONE] = {"", 200},
    [CK_R_BAD_REQUEST] = {"BadRequest", 400},
    [CK_R_UNAUTHORIZED] = {"Unauthorized", 401},
    [CK_R_FORBIDDEN] = {"Forbidden", 403},
    [CK_R_NOT_FOUND] = {"NotFound", 404},
    [CK_R_METHOD_NOT_ALLOWED] = {"MethodNotAllowed", 405},
    [CK_R_NOT_ACCEPTABLE] = {"NotAcceptable", 406},
    [CK_R_ALREADY_EXISTS] = {"AlreadyExists", 409},
    [CK_R_CONFLICT] = {"Conflict", 409},
    [CK_R_GONE] = {"Gone", 410},
    [CK_R_EXPIRED] = {"Expired", 410},
    [CK_R_TOO_LARGE] = {"RequestEntityTooLarge", 413},
    [CK_R_UNSUPPORTED_MEDIA] = {"UnsupportedMediaType", 415},
    [CK_R_INVALID] = {"Invalid", 422},
    [CK_R_TOO_MANY_REQUESTS] = {"TooManyRequests", 429},
    [CK_R_INTERNAL] = {"InternalError", 500},
    [CK_R_SERVICE_UNAVAILABLE] = {"ServiceUnavailable", 503},
    [CK_R_TIMEOUT] = {"Timeout", 504},
    [CK_R_IO] = {"InternalError", 500},
    [CK_R_CORRUPT] = {"InternalError", 500},
    [CK_R_COMPACTED] = {"Expired", 410},
};

const char *ck_reason_str(enum ck_reason r)
{
    if ((size_t)r >= sizeof(reasons) / sizeof(reasons[0]))
        return "InternalError";
    return reasons[r].name;
}

int ck_reason_http(enum ck_reason r)
{
    if ((size_t)r >= sizeof(reasons) / sizeof(reasons[0]))
        return 500;
    return reasons[r].code;
}

static void vset(struct ck_err *err, enum ck_reason reason, const char *fmt, va_list ap)
{
    memset(err, 0, offsetof(struct ck_err, causes));
    err->reason = reason;
    err->code = ck_reason_http(reason);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int ck_err_set(struct ck_err *err, enum ck_reason reason, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vset(err, reason, fmt, ap);
    va_end(ap);
    return -1;
}

int ck_err_sys(struct ck_err *err, int errnum, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vset(err, CK_R_IO, fmt, ap);
    va_end(ap);
    size_t n = strlen(err->msg);
    char ebuf[128];
    const char *es = strerror_r(errnum, ebuf, sizeof(ebuf));
    snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", es);
    return -1;
}

int ck_err_wrap(struct ck_err *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char prefix[CK_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    char old[CK_ERR_MSG_MAX];
    memcpy(old, err->msg, sizeof(old));
    snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
    return -1;
}

void ck_err_add_cause(struct ck_err *err, const char *type, const char *field, const char *fmt, ...)
{
    if (!err || err->ncauses >= CK_ERR_CAUSES_MAX)
        return;
    struct ck_err_cause *c = &err->causes[err->ncauses++];
    snprintf(c->type, sizeof(c->type), "%s", type ? type : "");
    snprintf(c->field, sizeof(c->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof(c->message), fmt, ap);
    va_end(ap);
}

void ck_err_clear(struct ck_err *err)
{
    if (err)
        memset(err, 0, offsetof(struct ck_err, causes));
}
