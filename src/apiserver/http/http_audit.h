/* SPDX-License-Identifier: Apache-2.0 */
/* The audit log, as upstream's k8s.io/apiserver/pkg/audit with the log backend: a Policy
 * (audit.k8s.io/v1: rules matched in order on users, userGroups, verbs, resources,
 * namespaces and nonResourceURLs give a level None/Metadata/Request/RequestResponse and
 * omitted stages), events (audit.k8s.io/v1 Event) written one JSON line each by a writer
 * thread to a file (or stdout) that rotates at --audit-log-maxsize MiB keeping
 * --audit-log-maxbackup files for --audit-log-maxage days.
 *
 * The request path: http_audit_begin when a request arrives (sets the Audit-Id response
 * header), http_audit_user once the caller is known, http_audit_forbid on a 403 from the
 * authorizer, http_audit_job when the engine's answer is back on the loop; ResponseComplete
 * is written when h2o disposes of the request. Loop threads never touch the disk. */
#ifndef CK_APISERVER_HTTP_AUDIT_H
#define CK_APISERVER_HTTP_AUDIT_H

#include "lib/err.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>

enum audit_level { AUDIT_NONE = 0, AUDIT_METADATA, AUDIT_REQUEST, AUDIT_REQUEST_RESPONSE };

/* stage bits */
#define AUDIT_STAGE_RECEIVED 1u
#define AUDIT_STAGE_STARTED 2u
#define AUDIT_STAGE_COMPLETE 4u
#define AUDIT_STAGE_PANIC 8u

struct audit_policy;

/* What a rule is matched against (strings may be NULL = ""). */
struct audit_attrs {
    const char *user;
    const char *const *groups; /* NULL-terminated or NULL */
    const char *verb;
    bool resource_request;
    const char *group, *resource, *subresource, *ns, *name;
    const char *path; /* non-resource requests */
};

/* Parses a Policy (YAML or JSON; audit.k8s.io/v1 or v1beta1). Errors: CK_R_BAD_REQUEST with
 * the field named. */
int audit_policy_parse(const char *text, size_t len, struct audit_policy **out, struct ck_err *err);
int audit_policy_load(const char *path, struct audit_policy **out, struct ck_err *err);
void audit_policy_free(struct audit_policy *p);
/* The level of the first matching rule (AUDIT_NONE when none matches) and the stages it
 * omits (the policy's and the rule's). */
enum audit_level audit_policy_eval(const struct audit_policy *p, const struct audit_attrs *a,
                                   unsigned *omit_stages);
const char *audit_level_name(enum audit_level l);

/* ---- the backend ---------------------------------------------------------------------- */

struct http_audit_opts {
    const char *policy_file; /* --audit-policy-file; NULL: no auditing */
    const char *log_path;    /* --audit-log-path; "-" = stdout; NULL: no auditing */
    int max_size_mb;         /* --audit-log-maxsize: rotate past it; 0 = never */
    int max_backup;          /* --audit-log-maxbackup: rotated files kept; 0 = all */
    int max_age_days;        /* --audit-log-maxage: rotated files older are removed; 0 = kept */
    /* Decodes a Kubernetes protobuf body (the engine's proto_decode) so requestObject and
     * responseObject are JSON as upstream logs them; NULL: protobuf bodies are left out. */
    int (*decode_proto)(const void *body, size_t len, json_t **out, struct ck_err *err);
};

struct http_audit;

/* Parses one --audit-* flag at argv[*i] (either "--f v" or "--f=v") into o; returns 1 when
 * consumed, 0 when argv[*i] is no audit flag, -1 on a bad value (message on stderr). */
int http_audit_flag(int argc, char **argv, int *i, struct http_audit_opts *o);
/* Loads the policy, opens the log and starts the writer thread. *out is NULL (no auditing)
 * when the policy file or log path is unset. */
int http_audit_new(const struct http_audit_opts *o, struct http_audit **out, struct ck_err *err);
/* Writes what is queued, stops the writer, closes the log. NULL is a no-op. Call after the
 * HTTP server is stopped. */
void http_audit_free(struct http_audit *a);
/* Events dropped because the writer fell behind (its queue is capped). */
unsigned long http_audit_dropped(const struct http_audit *a);
/* Queues one ready line (without its newline; taken over) for the writer. */
void http_audit_enqueue(struct http_audit *a, char *line, size_t len);

/* ---- the request path (loop thread; a = the server's, NULL when auditing is off) -------- */

struct st_h2o_req_t;
struct http_job;
struct authn_user;

/* Starts req's audit record: the Audit-ID (the request's Audit-ID header, or a new UUID) is
 * set as the Audit-Id response header whether or not a is NULL. */
void http_audit_begin(struct http_audit *a, struct st_h2o_req_t *req);
/* The authenticated caller (NULL: none) and the impersonated one (NULL: none); decoded path.
 * Writes RequestReceived unless omitted. */
void http_audit_user(struct st_h2o_req_t *req, const char *path, const struct authn_user *who,
                     const struct authn_user *as);
/* The authorizer refused (authorization.k8s.io/decision "forbid"). */
void http_audit_forbid(struct st_h2o_req_t *req, const char *reason);
/* The engine's answer for j is back (before it is sent): keeps the response object at
 * RequestResponse, and writes ResponseStarted for a watch. */
void http_audit_job(struct st_h2o_req_t *req, const struct http_job *j, bool watch);

#endif
