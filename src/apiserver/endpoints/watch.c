/* SPDX-License-Identifier: Apache-2.0 */
/* WATCH requests: query options (resourceVersion, resourceVersionMatch, sendInitialEvents,
 * allowWatchBookmarks, timeoutSeconds, selectors, the legacy /watch/.../name form), then a
 * watcher of the cache started at the right point (storage/watcher.c streams it). */
#include "apiserver/endpoints/endpoints.h"
#include "apiserver/storage/watcher.h"
#include "lib/timeutil.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static int watch_invalid(struct ck_err *err, const char *field, const char *msg)
{
    ck_err_set(err, CK_R_INVALID, "ListOptions.meta.k8s.io \"\" is invalid: %s: Forbidden: %s",
               field, msg);
    snprintf(err->kind, sizeof(err->kind), "ListOptions");
    snprintf(err->group, sizeof(err->group), "meta.k8s.io");
    ck_err_add_cause(err, "FieldValueForbidden", field, "Forbidden: %s", msg);
    return -1;
}

static int parse_watch_opts(struct eng_req *r, struct api_watch *w, int64_t *rv, bool *has_rv,
                            bool *initial, struct ck_err *err)
{
    const char *rvs = eng_q(r, "resourceVersion"), *rvm = eng_q(r, "resourceVersionMatch");
    const char *sie = eng_q(r, "sendInitialEvents"), *to = eng_q(r, "timeoutSeconds");
    bool ok;
    *initial = eng_qbool(r, "sendInitialEvents");
    w->bookmarks = eng_qbool(r, "allowWatchBookmarks");
    if (rvm && *rvm && !(sie && *sie))
        return watch_invalid(err, "resourceVersionMatch",
                             "resourceVersionMatch is forbidden for watch unless "
                             "sendInitialEvents is provided");
    if (sie && *sie && (!rvm || strcmp(rvm, "NotOlderThan") != 0))
        return watch_invalid(err, "resourceVersionMatch",
                             "sendInitialEvents requires setting resourceVersionMatch to "
                             "NotOlderThan");
    if (*initial && !w->bookmarks)
        return watch_invalid(err, "allowWatchBookmarks",
                             "allowWatchBookmarks must be set to true when sendInitialEvents is "
                             "specified");
    *has_rv = rvs && *rvs && strcmp(rvs, "0") != 0;
    *rv = 0;
    if (*has_rv) {
        *rv = eng_parse_int(rvs, &ok);
        if (!ok || *rv < 0)
            return ck_err_set(err, CK_R_BAD_REQUEST, "invalid resource version: %s", rvs);
    }
    int64_t now = ck_mono_ms();
    if (to && *to) {
        int64_t t = eng_parse_int(to, &ok);
        if (!ok || t < 0)
            return ck_err_set(err, CK_R_BAD_REQUEST, "invalid timeoutSeconds: %s", to);
        w->deadline_ms = t > 0 ? now + t * 1000 : 0;
    }
    if (!w->deadline_ms) {
        unsigned char b[2] = {0, 0};
        RAND_bytes(b, 2);
        w->deadline_ms = now + (1800 + (b[0] << 8 | b[1]) % 1800) * 1000LL;
    }
    w->last_bm_ms = now;
    return 0;
}

enum api_result eng_serve_watch(struct eng_req *r, struct api_watch **out)
{
    struct ck_err err = CK_ERR_INIT;
    if (r->fmt == FMT_YAML) {
        ck_err_set(&err, CK_R_NOT_ACCEPTABLE,
                   "only the following media types are accepted: "
                   "application/json, "
                   "application/json;stream=watch");
        eng_reply_err(r, &err);
        return API_DONE;
    }
    struct eng_cache *c = &r->s->cache;
    struct api_watch *w = eng_watch_new(c, r->res);
    w->ns = r->ns ? ck_strdup(r->ns) : NULL;
    w->fmt = r->fmt;
    w->tv = r->table_version;
    const char *inc = eng_q(r, "includeObject");
    w->include = inc ? ck_strdup(inc) : NULL;
    int64_t rv = 0;
    bool has_rv = false, initial = false;
    int rc = eng_parse_selectors(r, &w->ls, &w->fs, &err);
    if (rc == 0)
        rc = parse_watch_opts(r, w, &rv, &has_rv, &initial, &err);
    if (rc == 0 && r->name) {
        /* legacy /watch/.../name form: a watch on one object */
        struct sel *ns = NULL;
        char *fsel = ck_asprintf("metadata.name=%s", r->name);
        if (!w->fs && sel_parse(SEL_FIELD, fsel, &ns, &err) == 0)
            w->fs = ns;
        free(fsel);
    }
    if (rc == 0 && (initial || !has_rv)) {
        if (initial && has_rv && !eng_wait_rev(c, rv, 3000)) {
            ck_err_set(&err, CK_R_TIMEOUT, "Too large resource version: %lld, current: %lld",
                       (long long)rv, (long long)eng_cur_rev(c));
            ck_err_add_cause(&err, "ResourceVersionTooLarge", "", "Too large resource version");
            err.retry_after = 1;
            rc = -1;
        } else {
            eng_watch_start_current(w, initial);
        }
    } else if (rc == 0 && rv > eng_cur_rev(c) && !eng_wait_rev(c, rv, 3000)) {
        /* a resourceVersion from the future: wait a little for it, then 504 (upstream) */
        ck_err_set(&err, CK_R_TIMEOUT, "Too large resource version: %lld, current: %lld",
                   (long long)rv, (long long)eng_cur_rev(c));
        ck_err_add_cause(&err, "ResourceVersionTooLarge", "", "Too large resource version");
        err.retry_after = 1;
        rc = -1;
    } else if (rc == 0) {
        w->min_rev = rv;
        int t = eng_watch_start_from(w, rv, &err);
        if (t == 1) {
            char msg[128];
            snprintf(msg, sizeof(msg), "too old resource version: %lld (%lld)", (long long)rv,
                     (long long)store_compacted_revision(c->st));
            eng_watch_end_expired(w, msg);
        } else if (t < 0) {
            rc = -1;
        }
    }
    if (rc < 0) {
        eng_watch_free(w);
        eng_reply_err(r, &err);
        return API_DONE;
    }
    r->rs->status = 200;
    snprintf(r->rs->content_type, sizeof(r->rs->content_type), "application/json");
    *out = w;
    return API_WATCH;
}
