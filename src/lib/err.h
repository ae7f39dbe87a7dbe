/* SPDX-License-Identifier: Apache-2.0 */
/* Errors as values: a caller-owned struct ck_err filled by the failing callee.
 * Convention: fallible functions return 0 (or a count) on success and a negative value on
 * failure, having filled *err with a Kubernetes reason, an HTTP code and a message.
 * Nothing is allocated on the failure path. */
#ifndef CK_ERR_H
#define CK_ERR_H

#include <stdbool.h>
#include <stddef.h>

/* Kubernetes StatusReason values (plus a few internal ones that map onto them). */
enum ck_reason {
    CK_R_NONE = 0,
    CK_R_BAD_REQUEST,        /* 400 BadRequest */
    CK_R_UNAUTHORIZED,       /* 401 Unauthorized */
    CK_R_FORBIDDEN,          /* 403 Forbidden */
    CK_R_NOT_FOUND,          /* 404 NotFound */
    CK_R_METHOD_NOT_ALLOWED, /* 405 MethodNotAllowed */
    CK_R_NOT_ACCEPTABLE,     /* 406 NotAcceptable */
    CK_R_ALREADY_EXISTS,     /* 409 AlreadyExists */
    CK_R_CONFLICT,           /* 409 Conflict */
    CK_R_GONE,               /* 410 Gone (watch too old) */
    CK_R_EXPIRED,            /* 410 Expired (continue token / compacted revision) */
    CK_R_TOO_LARGE,          /* 413 RequestEntityTooLarge */
    CK_R_UNSUPPORTED_MEDIA,  /* 415 UnsupportedMediaType */
    CK_R_INVALID,            /* 422 Invalid (with causes) */
    CK_R_TOO_MANY_REQUESTS,  /* 429 TooManyRequests */
    CK_R_INTERNAL,           /* 500 InternalError */
    CK_R_SERVICE_UNAVAILABLE,/* 503 ServiceUnavailable */
    CK_R_TIMEOUT,            /* 504 Timeout */
    CK_R_IO,                 /* 500: an I/O failure (disk, network) */
    CK_R_CORRUPT,            /* 500: on-disk or wire data failed validation */
    CK_R_COMPACTED,          /* 410 Expired: a store revision older than the history window */
};

#define CK_ERR_MSG_MAX 4096
#define CK_ERR_CAUSES_MAX 16

/* One entry of Status.details.causes (Kubernetes CauseType strings such as "FieldValueInvalid"). */
struct ck_err_cause {
    char type[40];
    char field[160];
    char message[1024];
};

struct ck_err {
    enum ck_reason reason;
    int code;                  /* HTTP status code derived from reason unless set explicitly */
    char msg[CK_ERR_MSG_MAX];
    /* Status.details, optional */
    char kind[64];             /* details.kind, e.g. "pods" */
    char group[64];            /* details.group */
    char name[256];            /* details.name */
    int retry_after;           /* details.retryAfterSeconds, 0 if unset */
    size_t ncauses;
    struct ck_err_cause causes[CK_ERR_CAUSES_MAX];
};

/* An empty error. It initialises what ck_err_* and the readers of an unset error look at
 * (reason, code, the strings' first bytes, retry_after, ncauses) and leaves the message and
 * cause buffers as they are: zeroing the whole 24 KiB struct at every declaration was a
 * measurable share of a request's cost. causes[] are valid up to ncauses only, as before.
 * Usable wherever an expression is (`struct ck_err e = CK_ERR_INIT;`, `*err = CK_ERR_INIT;`),
 * not in a static initialiser. */
static inline struct ck_err ck_err_init_value(void)
{
    struct ck_err e;
    e.reason = CK_R_NONE;
    e.code = 0;
    e.msg[0] = '\0';
    e.kind[0] = '\0';
    e.group[0] = '\0';
    e.name[0] = '\0';
    e.retry_after = 0;
    e.ncauses = 0;
    return e;
}
#define CK_ERR_INIT ck_err_init_value()

/* Fills err (when non-NULL) and returns -1. */
int ck_err_set(struct ck_err *err, enum ck_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like ck_err_set, with errno's text appended (": <strerror>"). */
int ck_err_sys(struct ck_err *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefixes context to an already-filled message, keeping reason and code; returns -1. */
int ck_err_wrap(struct ck_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds a details.cause (silently dropped past CK_ERR_CAUSES_MAX). */
void ck_err_add_cause(struct ck_err *err, const char *type, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ck_err_clear(struct ck_err *err);

/* "NotFound", "Conflict", ... ("" for CK_R_NONE). */
const char *ck_reason_str(enum ck_reason r);
int ck_reason_http(enum ck_reason r);

#endif
