/* SPDX-License-Identifier: Apache-2.0 */
/* Shared internals of the write path (write.c, update.c, delete.c, subres.c): decoding,
 * field validation modes, error builders and the optimistic-concurrency update loop. */
#ifndef CK_APISERVER_WRITE_INT_H
#define CK_APISERVER_WRITE_INT_H

#include "apiserver/endpoints/endpoints.h"

enum { ENG_FV_IGNORE = 0, ENG_FV_WARN = 1, ENG_FV_STRICT = 2 };

void eng_uuid(char out[37]);
json_t *eng_md(json_t *obj); /* metadata object, created if missing (borrowed) */
const char *eng_md_str(json_t *obj, const char *key);
/* dryRun=All → true; another value → *bad = -1 with err set. */
bool eng_dry_run(struct eng_req *r, struct ck_err *err, int *bad);
/* fieldValidation mode, or -1 with err set. */
int eng_field_validation(struct eng_req *r, struct ck_err *err);
int eng_decode_json(const char *body, size_t len, int mode, json_t **out,
                    struct api_response *rs, struct ck_err *err);
int eng_decode_req(const struct api_request *rq, int mode, struct api_response *rs,
                   json_t **out, struct ck_err *err);
int eng_check_unknown(struct eng_req *r, int mode, const struct reg_resource *res, json_t *obj,
                      struct ck_err *err);
int eng_check_gvk(const struct reg_resource *res, json_t *obj, const char *kind, const char *av,
                  struct ck_err *err);
int eng_check_name(const struct reg_resource *res, const char *name, struct ck_err *err);
bool eng_dns_label(const char *s, bool letter_first);
bool eng_dns_subdomain(const char *s);
void eng_conflict(struct ck_err *err, const struct reg_resource *res, const char *name,
                  const char *why);
void eng_invalid(struct ck_err *err, const struct reg_resource *res, const char *name,
                 const char *field, const char *type, const char *detail);
void eng_reply_obj(struct eng_req *r, int status, const char *val, size_t len, int64_t rv);
void eng_namespace_defaults(json_t *obj);
int eng_create_obj(struct eng_req *r, json_t *obj, bool dry, struct ck_err *err);
/* The admission chain (admission/admission.h) for r: its mutating phase, or with validate
 * its validating one. op: enum adm_op; sub: subresource or NULL; old: current object or NULL. */
int eng_admit(struct eng_req *r, bool validate, int op, json_t *obj, json_t *old, bool dry,
              const char *sub, struct ck_err *err);

#define ENG_MODIFIED_MSG                                                                           \
    "the object has been modified; please apply your changes to the latest version and try again"

/* One read-modify-write of the object r names, retried on write races. */
struct eng_upd {
    const char *sub; /* NULL (main resource), "status" or "finalize" */
    bool internal;   /* the engine's own change: no strategy copy-back, no validation */
    bool dry;
    bool client_rv;  /* set by mutate: the new object's resourceVersion is a precondition */
    bool apply;      /* server-side apply: managedFields are maintained by eng_apply */
    /* Builds the desired object from the current one (cur is a private copy it may keep). */
    int (*mutate)(struct eng_req *r, struct eng_upd *u, json_t *cur, json_t **out,
                  struct ck_err *err);
    void *ctx;
    /* results */
    bool deleted;   /* finalizers emptied on a deleting object: it was removed */
    bool unchanged; /* nothing to write */
    int64_t rev;    /* revision of the write (0 = none) */
    int64_t dry_rv; /* dry run: the current object's resourceVersion, for the response */
    char *val;      /* resulting stored bytes (malloc'd) */
    size_t len;
};

/* Runs the update and writes the object (200) or the error into r->rs when reply is set. */
int eng_update(struct eng_req *r, struct eng_upd *u, bool reply, struct ck_err *err);
void eng_upd_release(struct eng_upd *u);

/* delete.c: removes (or marks) one object; used by DELETE, deletecollection and namespace
 * cleanup. out (optional) gets the bytes to return. */
struct eng_del_opts {
    bool dry;
    bool has_grace;
    int64_t grace;
    const char *pre_uid, *pre_rv;
    bool no_ns_finish;
};
int eng_delete_one(struct eng_req *r, const struct eng_del_opts *o, struct ck_buf *out,
                   bool *gone, struct ck_err *err);
void eng_ns_maybe_finish(struct api_server *s, const char *ns);

#endif
