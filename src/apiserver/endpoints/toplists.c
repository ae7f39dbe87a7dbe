/* SPDX-License-Identifier: Apache-2.0 */
/* GET /debug/api/top-lists (system:masters only): the LIST cost report, costliest
 * (User-Agent product, resource) pairs first (storage/listcost.c keeps the counters). */
#include "apiserver/endpoints/endpoints.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static bool in_group(const struct api_request *rq, const char *g)
{
    for (size_t i = 0; rq->groups && rq->groups[i]; i++)
        if (strcmp(rq->groups[i], g) == 0)
            return true;
    return false;
}

/* Checks method, caller and query; fills *f and *limit. */
static int top_lists_args(struct eng_req *r, enum eng_lc_sort *f, long long *limit,
                          struct ck_err *err)
{
    const char *m = r->rq->method ? r->rq->method : "GET";
    if (strcmp(m, "GET") != 0)
        return ck_err_set(err, CK_R_METHOD_NOT_ALLOWED,
                          "the server does not allow this method on the requested resource");
    if (!in_group(r->rq, "system:masters"))
        return ck_err_set(err, CK_R_FORBIDDEN,
                          "forbidden: User \"%s\" cannot get path \"/debug/api/top-lists\"",
                          r->rq->user ? r->rq->user : "");
    const char *s = eng_q(r, "sort");
    if (!s || !*s || strcmp(s, "bytes") == 0)
        *f = ENG_LC_BYTES;
    else if (strcmp(s, "scanned") == 0)
        *f = ENG_LC_SCANNED;
    else if (strcmp(s, "seconds") == 0)
        *f = ENG_LC_SECONDS;
    else if (strcmp(s, "requests") == 0)
        *f = ENG_LC_REQUESTS;
    else
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "invalid sort \"%.64s\": must be bytes, scanned, seconds or requests", s);
    const char *l = eng_q(r, "limit");
    bool ok = true;
    *limit = l ? eng_parse_int(l, &ok) : 20;
    if (!ok || *limit < 1)
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "invalid limit \"%.64s\": must be a positive "
                          "integer",
                          l ? l : "");
    return 0;
}

int eng_serve_top_lists(struct eng_req *r)
{
    struct ck_err err = CK_ERR_INIT;
    enum eng_lc_sort f = ENG_LC_BYTES;
    long long limit = 20;
    if (top_lists_args(r, &f, &limit, &err) < 0) {
        eng_reply_err(r, &err);
        return -1;
    }
    json_t *items = eng_listcost_top(r->s->lc, f, limit);
    json_t *o = json_pack("{s:s,s:s,s:o}", "kind", "ListCostReport", "sort",
                          f == ENG_LC_BYTES     ? "bytes"
                          : f == ENG_LC_SCANNED ? "scanned"
                          : f == ENG_LC_SECONDS ? "seconds"
                                                : "requests",
                          "items", items);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    eng_reply(r, 200, s ? s : "{}", s ? strlen(s) : 2);
    free(s);
    return 0;
}
