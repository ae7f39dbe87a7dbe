/* SPDX-License-Identifier: Apache-2.0 */
/* Reads: GET of one object and LIST of a collection (selectors, limit/continue paging,
 * resourceVersion/resourceVersionMatch), answered from the cache, or from the store at an
 * older revision when a page must be exact at a revision the cache has moved past. Output
 * as JSON, meta.k8s.io Table or PartialObjectMetadata(List). */
#include "apiserver/endpoints/endpoints.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

/* ---- selectors ---------------------------------------------------------------------- */

int eng_parse_selectors(struct eng_req *r, struct sel **ls, struct sel **fs, struct ck_err *err)
{
    *ls = *fs = NULL;
    const char *l = eng_q(r, "labelSelector"), *f = eng_q(r, "fieldSelector");
    if (l && *l && sel_parse(SEL_LABEL, l, ls, err) < 0)
        return -1;
    if (f && *f) {
        if (sel_parse(SEL_FIELD, f, fs, err) < 0) {
            sel_free(*ls);
            *ls = NULL;
            return -1;
        }
        for (size_t i = 0; i < sel_nreqs(*fs); i++) {
            const char *k = sel_req_key(*fs, i);
            if (reg_field_index(r->res, k) < 0) {
                ck_err_set(err, CK_R_BAD_REQUEST, "field label not supported: %s", k);
                sel_free(*ls);
                sel_free(*fs);
                *ls = *fs = NULL;
                return -1;
            }
        }
    }
    return 0;
}

/* ---- representations ---------------------------------------------------------------- */

static void set_table_ct(struct eng_req *r)
{
    snprintf(r->rs->content_type, sizeof(r->rs->content_type),
             "application/json;as=Table;v=%s;g=meta.k8s.io",
             r->table_version ? r->table_version : "v1");
}

/* ---- GET ---------------------------------------------------------------------------- */

static int check_rv_not_too_new(struct eng_req *r, const char *rvs, struct ck_err *err)
{
    if (eng_wait_ready(&r->s->cache, 3000, err) < 0)
        return -1;
    if (!rvs || !*rvs) /* the latest: what the store has committed, perhaps via another server */
        return eng_wait_current(&r->s->cache, 3000, err);
    if (strcmp(rvs, "0") == 0)
        return 0;
    bool ok;
    int64_t rv = eng_parse_int(rvs, &ok);
    if (!ok || rv < 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "invalid resource version: %s", rvs);
    if (!eng_wait_rev(&r->s->cache, rv, 3000)) {
        ck_err_set(err, CK_R_TIMEOUT, "Too large resource version: %lld, current: %lld",
                   (long long)rv, (long long)eng_cur_rev(&r->s->cache));
        ck_err_add_cause(err, "ResourceVersionTooLarge", "", "Too large resource version");
        err->retry_after = 1;
        return -1;
    }
    return 0;
}

int eng_serve_get(struct eng_req *r)
{
    struct ck_err err = CK_ERR_INIT;
    if (check_rv_not_too_new(r, eng_q(r, "resourceVersion"), &err) < 0) {
        eng_reply_err(r, &err);
        return -1;
    }
    struct eng_obj *o = eng_cache_get(&r->s->cache, r->res, r->ns, r->name);
    if (!o) {
        eng_err_not_found(&err, r->res, r->name);
        eng_reply_err(r, &err);
        return -1;
    }
    struct ck_buf *b = &r->rs->body;
    ck_buf_reset(b);
    int rc = 0;
    if (r->fmt == FMT_TABLE) {
        rc |= eng_table_open(b, r->res, r->table_version, true);
        rc |= eng_table_row(b, r->res, o, eng_q(r, "includeObject"));
        rc |= ck_buf_appendf(b, "],\"metadata\":{\"resourceVersion\":\"%lld\"}}",
                             (long long)o->rv);
    } else if (r->fmt == FMT_PARTIAL) {
        rc |= eng_append_partial(b, o);
    } else {
        rc |= ck_buf_append(b, o->body, o->len);
    }
    eng_obj_unref(o);
    if (rc < 0) {
        ck_err_set(&err, CK_R_INTERNAL, "response too large");
        eng_reply_err(r, &err);
        return -1;
    }
    r->rs->status = 200;
    if (r->fmt == FMT_TABLE)
        set_table_ct(r);
    else
        snprintf(r->rs->content_type, sizeof(r->rs->content_type), "application/json");
    return 0;
}

/* ---- continue tokens ---------------------------------------------------------------- */

static char *encode_continue(int64_t rv, const char *start)
{
    json_t *o = json_object();
    json_object_set_new(o, "v", json_string("meta.k8s.io/v1"));
    json_object_set_new(o, "rv", json_integer(rv));
    size_t sl = strlen(start);
    char *st = ck_malloc(sl + 2);
    memcpy(st, start, sl);
    st[sl] = '\0';
    json_object_set_new(o, "start", json_stringn(st, sl + 1)); /* lastKey + "\x00" */
    free(st);
    char *js = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    size_t jl = strlen(js);
    char *out = ck_malloc(4 * ((jl + 2) / 3) + 1);
    int n = EVP_EncodeBlock((unsigned char *)out, (unsigned char *)js, (int)jl);
    free(js);
    /* URL-safe alphabet without padding (upstream: base64.RawURLEncoding) */
    while (n > 0 && out[n - 1] == '=')
        n--;
    for (int i = 0; i < n; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    out[n] = '\0';
    return out;
}

/* Decodes a continue token into (rv, start suffix); *excl is set when start ends in NUL. */
static int decode_continue(const char *tok, int64_t *rv, char **start, struct ck_err *err)
{
    size_t tl = strlen(tok);
    char *pad = ck_malloc(tl + 4);
    memcpy(pad, tok, tl);
    size_t pl = tl;
    while (pl % 4)
        pad[pl++] = '=';
    pad[pl] = '\0';
    for (size_t i = 0; i < pl; i++) { /* accept URL-safe alphabet too */
        if (pad[i] == '-')
            pad[i] = '+';
        else if (pad[i] == '_')
            pad[i] = '/';
    }
    unsigned char *raw = ck_malloc(pl + 1);
    int n = pl ? EVP_DecodeBlock(raw, (unsigned char *)pad, (int)pl) : -1;
    free(pad);
    json_t *o = NULL;
    if (n > 0) {
        while (n > 0 && raw[n - 1] == '\0')
            n--; /* EVP_DecodeBlock keeps padding bytes as zeros */
        json_error_t je;
        o = json_loadb((char *)raw, (size_t)n, JSON_ALLOW_NUL, &je);
    }
    free(raw);
    json_t *jrv = json_object_get(o, "rv"), *js = json_object_get(o, "start");
    const char *v = json_string_value(json_object_get(o, "v"));
    if (!o || !v || strcmp(v, "meta.k8s.io/v1") || !json_is_integer(jrv) ||
        json_integer_value(jrv) <= 0 || !json_is_string(js)) {
        json_decref(o);
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "continue key is not valid: incorrect encoded start resourceVersion "
                          "(version meta.k8s.io/v1)");
    }
    *rv = json_integer_value(jrv);
    size_t sl = json_string_length(js);
    const char *sv = json_string_value(js);
    if (sl && sv[sl - 1] == '\0')
        sl--;
    if (memchr(sv, '\0', sl) || strstr(sv, "..") || sv[0] == '/') {
        json_decref(o);
        return ck_err_set(err, CK_R_BAD_REQUEST, "continue key is not valid: invalid start");
    }
    *start = ck_strndup(sv, sl);
    json_decref(o);
    return 0;
}

/* ---- LIST --------------------------------------------------------------------------- */

struct list_plan {
    int64_t rv;      /* the list's revision; 0 = current */
    bool exact;      /* must be exactly rv */
    int64_t limit;   /* 0 = all */
    char *start;     /* continue: suffix after the prefix, exclusive */
    struct sel *ls, *fs;
    const char *ns;
};

struct list_out {
    struct eng_obj **items;
    size_t n, cap;
    int64_t rv;
    char *cont;       /* continue token or NULL */
    int64_t remaining; /* -1 unknown */
    size_t scanned;   /* objects examined (LIST cost accounting) */
};

static void out_add(struct list_out *o, struct eng_obj *ob)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 64;
        o->items = ck_realloc(o->items, o->cap * sizeof(*o->items));
    }
    o->items[o->n++] = ob;
}

static void out_release(struct list_out *o)
{
    for (size_t i = 0; i < o->n; i++)
        eng_obj_unref(o->items[i]);
    free(o->items);
    free(o->cont);
}

static void list_prefix(const struct eng_req *r, const struct list_plan *p, struct ck_buf *pre)
{
    ck_buf_appends(pre, r->res->key_prefix);
    if (p->ns) {
        ck_buf_appends(pre, p->ns);
        ck_buf_appendc(pre, '/');
    }
}

/* Lists from a table (the cache's, s->cache.mu held for reading, or a private snapshot). */
static void list_table(struct eng_req *r, const struct eng_table *t, const struct list_plan *p,
                       const char *pre, struct list_out *out)
{
    if (r->res->index_field >= 0 && p->fs && t == &r->s->cache.tables[r->res->idx]) {
        /* e.g. the kubelet's spec.nodeName=<node>: walk that node's pods only */
        const char *v = sel_required_value(p->fs, reg_field_name(r->res, r->res->index_field));
        if (!v && strcmp(r->res->plural, "pods") == 0)
            v = sel_required_value(p->fs, "spec.host");
        const struct eng_table *sub = v ? eng_index_lookup(&r->s->cache, r->res, v) : NULL;
        if (sub)
            t = sub;
    }
    size_t pl = strlen(pre);
    struct eng_cursor cur;
    if (p->start) {
        struct ck_buf k = CK_BUF_INIT(1 << 16);
        ck_buf_appends(&k, pre);
        ck_buf_appends(&k, p->start);
        eng_table_seek(t, k.data ? k.data : pre, true, &cur);
        ck_buf_release(&k);
    } else {
        eng_table_seek(t, pre, false, &cur);
    }
    const char *last = NULL;
    struct eng_obj *o;
    for (; (o = eng_cursor_obj(&cur)) && strncmp(o->key, pre, pl) == 0; eng_cursor_next(&cur)) {
        if (p->limit > 0 && (int64_t)out->n >= p->limit)
            break;
        out->scanned++;
        if (!eng_obj_matches(o, NULL, p->ls, p->fs))
            continue;
        out_add(out, eng_obj_ref(o));
        last = o->key;
    }
    if (o && strncmp(o->key, pre, pl) == 0 && last) {
        out->cont = encode_continue(out->rv, last + pl);
        if (!p->ls && !p->fs) {
            int64_t rem = 0;
            for (; (o = eng_cursor_obj(&cur)) && strncmp(o->key, pre, pl) == 0;
                 eng_cursor_next(&cur))
                rem++;
            out->remaining = rem;
        }
    }
}

/* Lists from the store at an exact revision (pages of a list the cache has moved past). */
static int list_store(struct eng_req *r, const struct list_plan *p, const char *pre,
                      struct list_out *out, struct ck_err *err)
{
    size_t pl = strlen(pre);
    struct ck_buf start = CK_BUF_INIT(1 << 16);
    if (p->start) {
        ck_buf_appends(&start, pre);
        ck_buf_appends(&start, p->start);
        ck_buf_appendc(&start, '\0'); /* exclusive: the smallest key after the last one */
    }
    const char *last = NULL;
    char *lastbuf = NULL;
    bool more = true;
    while (more && (p->limit <= 0 || (int64_t)out->n < p->limit)) {
        struct store_range_req rq = {.prefix = pre, .prefix_len = pl,
                                     .start = start.len ? start.data : NULL,
                                     .start_len = start.len, .revision = p->rv, .limit = 256};
        struct store_range_result res;
        memset(&res, 0, sizeof(res));
        if (store_range(r->s->cache.st, &rq, &res, err) < 0) {
            free(lastbuf);
            ck_buf_release(&start);
            return -1;
        }
        more = res.more;
        size_t k = 0;
        for (; k < res.nkvs && (p->limit <= 0 || (int64_t)out->n < p->limit); k++) {
            struct store_kv *kv = &res.kvs[k];
            struct eng_obj *o = eng_obj_from_store(r->res, kv->key, kv->key_len, kv->value,
                                                   kv->value_len, kv->mod_revision, NULL);
            free(lastbuf);
            lastbuf = ck_strdup(kv->key);
            last = lastbuf;
            out->scanned++;
            if (!o)
                continue;
            if (eng_obj_matches(o, NULL, p->ls, p->fs))
                out_add(out, o);
            else
                eng_obj_unref(o);
        }
        if (k < res.nkvs)
            more = true;
        ck_buf_reset(&start);
        if (last) {
            ck_buf_appends(&start, last);
            ck_buf_appendc(&start, '\0');
        }
        store_range_result_release(&res);
    }
    if (more && last)
        out->cont = encode_continue(out->rv, last + pl);
    free(lastbuf);
    ck_buf_release(&start);
    return 0;
}

static int list_invalid(struct ck_err *err, const char *field, const char *msg)
{
    ck_err_set(err, CK_R_INVALID, "ListOptions.meta.k8s.io \"\" is invalid: %s: %s", field, msg);
    snprintf(err->kind, sizeof(err->kind), "ListOptions");
    snprintf(err->group, sizeof(err->group), "meta.k8s.io");
    ck_err_add_cause(err, "FieldValueForbidden", field, "%s", msg);
    return -1;
}

/* Works out which revision and mode a LIST needs from its query parameters. */
static int plan_list(struct eng_req *r, struct list_plan *p, struct ck_err *err)
{
    const char *rvs = eng_q(r, "resourceVersion"), *rvm = eng_q(r, "resourceVersionMatch");
    const char *lim = eng_q(r, "limit"), *cont = eng_q(r, "continue");
    bool ok;
    if (rvs && !*rvs)
        rvs = NULL;
    if (rvm && !*rvm)
        rvm = NULL;
    if (cont && !*cont)
        cont = NULL;
    if (lim && *lim) {
        p->limit = eng_parse_int(lim, &ok);
        if (!ok || p->limit < 0)
            return ck_err_set(err, CK_R_BAD_REQUEST, "invalid limit: %s", lim);
    }
    if (rvm) {
        if (!rvs)
            return list_invalid(err, "resourceVersionMatch",
                                "resourceVersionMatch is forbidden unless resourceVersion is "
                                "provided");
        if (cont)
            return list_invalid(err, "resourceVersionMatch",
                                "resourceVersionMatch is forbidden when continue is provided");
        if (strcmp(rvm, "Exact") && strcmp(rvm, "NotOlderThan"))
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: "
                              "Unsupported value: \"%s\": supported values: \"Exact\", "
                              "\"NotOlderThan\"",
                              rvm);
        if (strcmp(rvm, "Exact") == 0 && strcmp(rvs, "0") == 0)
            return list_invalid(err, "resourceVersionMatch",
                                "resourceVersionMatch \"exact\" is forbidden for resourceVersion "
                                "\"0\"");
    }
    if (!cont && !rvs && eng_wait_current(&r->s->cache, 3000, err) < 0)
        return -1; /* unset: a consistent read at the store's latest revision */
    if (eng_wait_ready(&r->s->cache, 3000, err) < 0)
        return -1; /* set: still never from the tables a relist is replacing */
    if (cont) {
        if (rvs && strcmp(rvs, "0") != 0)
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "specifying resource version is not allowed when using continue");
        if (decode_continue(cont, &p->rv, &p->start, err) < 0)
            return -1;
        p->exact = true;
        return 0;
    }
    if (rvs && strcmp(rvs, "0") != 0) {
        int64_t v = eng_parse_int(rvs, &ok);
        if (!ok || v < 0)
            return ck_err_set(err, CK_R_BAD_REQUEST, "invalid resource version: %s", rvs);
        bool exact = (rvm && strcmp(rvm, "Exact") == 0) || (!rvm && p->limit > 0);
        if (exact) {
            p->rv = v;
            p->exact = true;
        } else if (check_rv_not_too_new(r, rvs, err) < 0) {
            return -1;
        }
    }
    if (rvs && strcmp(rvs, "0") == 0 && !rvm)
        p->limit = 0; /* upstream's cache serves RV=0 lists whole */
    return 0;
}

static int run_list(struct eng_req *r, struct list_plan *p, struct list_out *out,
                    struct ck_err *err)
{
    struct ck_buf pre = CK_BUF_INIT(4096);
    list_prefix(r, p, &pre);
    out->remaining = -1;
    if (p->exact && p->rv > eng_cur_rev(&r->s->cache) && !eng_wait_rev(&r->s->cache, p->rv, 3000)) {
        ck_buf_release(&pre);
        ck_err_set(err, CK_R_TIMEOUT, "Too large resource version: %lld, current: %lld",
                   (long long)p->rv, (long long)eng_cur_rev(&r->s->cache));
        ck_err_add_cause(err, "ResourceVersionTooLarge", "", "Too large resource version");
        err->retry_after = 1;
        return -1;
    }
    pthread_rwlock_rdlock(&r->s->cache.mu);
    struct eng_table *t = &r->s->cache.tables[r->res->idx];
    bool mem = !p->exact || t->last_rev <= p->rv;
    if (mem) {
        out->rv = p->exact ? p->rv : r->s->cache.rev;
        list_table(r, t, p, pre.data, out);
        if (out->cont)
            eng_snap_put(&r->s->cache, r->res, out->rv); /* the next pages read this state */
    }
    pthread_rwlock_unlock(&r->s->cache.mu);
    struct eng_table snap;
    if (!mem && p->exact && eng_snap_get(&r->s->cache, r->res, p->rv, &snap)) {
        mem = true; /* a continue page of a LIST whose first page was served from memory */
        atomic_fetch_add(&r->s->m.list_pages_snapshot, 1);
        out->rv = p->rv;
        list_table(r, &snap, p, pre.data, out);
        eng_table_release(&snap);
    }
    int rc = 0;
    if (!mem) {
        atomic_fetch_add(&r->s->m.list_pages_store, 1);
        out->rv = p->rv;
        rc = list_store(r, p, pre.data, out, err);
        if (rc < 0 && err->reason == CK_R_COMPACTED) {
            if (p->start)
                ck_err_set(err, CK_R_EXPIRED,
                           "The provided continue parameter is too old to display a consistent "
                           "list result. You can start a new list without the continue "
                           "parameter, or use the continue token in this response to retrieve "
                           "the remainder of the results. Continuing with the provided token "
                           "results in an inconsistent list - objects that were created, "
                           "modified, or deleted between the time the first chunk was returned "
                           "and now may show up in the list.");
            else
                ck_err_set(err, CK_R_EXPIRED,
                           "The resourceVersion for the provided list is too old.");
        }
    }
    ck_buf_release(&pre);
    return rc;
}

static int write_list_meta(struct ck_buf *b, const struct list_out *out)
{
    int rc = ck_buf_appendf(b, "\"metadata\":{\"resourceVersion\":\"%lld\"", (long long)out->rv);
    if (out->cont)
        rc |= ck_buf_appendf(b, ",\"continue\":\"%s\"", out->cont);
    if (out->cont && out->remaining >= 0)
        rc |= ck_buf_appendf(b, ",\"remainingItemCount\":%lld", (long long)out->remaining);
    rc |= ck_buf_appendc(b, '}');
    return rc;
}

/* A JSON LIST lent to the front end: the items' cached bytes are written as they are, with
 * only the envelope and the separating commas around them (no copy of the objects). */
struct lent_list {
    struct eng_obj **items;
    size_t n;
    char *head;
    struct api_iov iov[];
};

static void lent_list_release(void *p)
{
    struct lent_list *l = p;
    for (size_t i = 0; i < l->n; i++)
        eng_obj_unref(l->items[i]);
    free(l->items);
    free(l->head);
    free(l);
}

/* Below this a LIST is copied into one buffer: fewer pieces for the writer to walk. */
#define LEND_MIN_BYTES ((size_t)256 << 10)

static int lend_list(struct eng_req *r, struct list_out *out, const struct ck_buf *head)
{
    static const char comma[] = ",", tail[] = "]}";
    size_t total = head->len + 2;
    for (size_t i = 0; i < out->n; i++)
        total += out->items[i]->len + (i ? 1 : 0);
    if (total < LEND_MIN_BYTES || total > r->rs->body.max)
        return 0;
    size_t niov = out->n ? 2 * out->n + 1 : 2;
    struct lent_list *l = ck_malloc(sizeof(*l) + niov * sizeof(struct api_iov));
    size_t k = 0;
    l->head = ck_strndup(head->data, head->len);
    l->iov[k++] = (struct api_iov){l->head, head->len};
    for (size_t i = 0; i < out->n; i++) {
        if (i)
            l->iov[k++] = (struct api_iov){comma, 1};
        l->iov[k++] = (struct api_iov){out->items[i]->body, out->items[i]->len};
    }
    l->iov[k++] = (struct api_iov){tail, 2};
    l->items = out->items; /* the references move to the lent body */
    l->n = out->n;
    out->items = NULL;
    out->n = out->cap = 0;
    r->rs->lent = (struct api_iov_body){l->iov, k, total, lent_list_release, l};
    return 1;
}

/* A Table LIST: the rows' cells and framing are written into one buffer, and the objects' own
 * bytes in them (their metadata, by default) are lent from the cache like a JSON LIST's
 * items when the answer is big, else copied in. */
static int write_table(struct eng_req *r, struct list_out *out)
{
    struct ck_buf g = CK_BUF_INIT(r->rs->body.max);
    struct eng_row_span *sp = ck_calloc(out->n + 1, sizeof(*sp));
    const char *inc = eng_q(r, "includeObject");
    int64_t now = (int64_t)time(NULL);
    int rc = eng_table_open(&g, r->res, r->table_version, true);
    size_t total = 0, nlent = 0;
    for (size_t i = 0; i < out->n && rc == 0; i++) {
        if (i)
            rc |= ck_buf_appendc(&g, ',');
        rc |= eng_table_row_lend(&g, r->res, out->items[i], inc, now, &sp[i]);
        total += sp[i].len;
        nlent += sp[i].len > 0;
    }
    rc |= ck_buf_appends(&g, "],");
    rc |= write_list_meta(&g, out);
    rc |= ck_buf_appendc(&g, '}');
    total += g.len;
    set_table_ct(r);
    r->rs->status = 200;
    if (rc < 0 || total > r->rs->body.max) {
        ck_buf_release(&g);
        free(sp);
        return -1;
    }
    struct ck_buf *b = &r->rs->body;
    ck_buf_reset(b);
    if (r->rs->want_iov && total >= LEND_MIN_BYTES) {
        size_t niov = 2 * nlent + 1, k = 0, at = 0, glen = g.len;
        struct lent_list *l = ck_malloc(sizeof(*l) + niov * sizeof(struct api_iov));
        l->head = ck_buf_detach(&g, NULL);
        for (size_t i = 0; i < out->n; i++) {
            if (!sp[i].len)
                continue;
            l->iov[k++] = (struct api_iov){l->head + at, sp[i].cut - at};
            l->iov[k++] = (struct api_iov){out->items[i]->body + sp[i].off, sp[i].len};
            at = sp[i].cut;
        }
        l->iov[k++] = (struct api_iov){l->head + at, glen - at};
        l->items = out->items; /* the references move to the lent body */
        l->n = out->n;
        out->items = NULL;
        out->n = out->cap = 0;
        r->rs->lent = (struct api_iov_body){l->iov, k, total, lent_list_release, l};
        free(sp);
        return 0;
    }
    char *dst = ck_buf_reserve(b, total);
    size_t at = 0;
    for (size_t i = 0; dst && i < out->n; i++) {
        if (!sp[i].len)
            continue;
        memcpy(dst, g.data + at, sp[i].cut - at);
        dst += sp[i].cut - at;
        memcpy(dst, out->items[i]->body + sp[i].off, sp[i].len);
        dst += sp[i].len;
        at = sp[i].cut;
    }
    if (dst) {
        memcpy(dst, g.data + at, g.len - at);
        b->len = total;
        b->data[b->len] = '\0';
    }
    ck_buf_release(&g);
    free(sp);
    return dst ? 0 : -1;
}

static int write_list(struct eng_req *r, struct list_out *out)
{
    struct ck_buf *b = &r->rs->body;
    ck_buf_reset(b);
    int rc = 0;
    if (r->fmt == FMT_TABLE) {
        return write_table(r, out);
    } else {
        if (r->fmt == FMT_PARTIAL)
            rc |= ck_buf_appends(b, "{\"kind\":\"PartialObjectMetadataList\","
                                    "\"apiVersion\":\"meta.k8s.io/v1\",");
        else
            rc |= ck_buf_appendf(b, "{\"kind\":\"%s\",\"apiVersion\":\"%s\",",
                                 r->res->list_kind, r->res->api_version);
        rc |= write_list_meta(b, out);
        rc |= ck_buf_appends(b, ",\"items\":[");
        snprintf(r->rs->content_type, sizeof(r->rs->content_type), "application/json");
        r->rs->status = 200;
        if (rc == 0 && r->fmt == FMT_JSON && r->rs->want_iov && lend_list(r, out, b)) {
            ck_buf_reset(b);
            return 0;
        }
        for (size_t i = 0; i < out->n && rc == 0; i++) {
            if (i)
                rc |= ck_buf_appendc(b, ',');
            if (r->fmt == FMT_PARTIAL)
                rc |= eng_append_partial(b, out->items[i]);
            else
                rc |= ck_buf_append(b, out->items[i]->body, out->items[i]->len);
        }
        rc |= ck_buf_appends(b, "]}");
        snprintf(r->rs->content_type, sizeof(r->rs->content_type), "application/json");
    }
    r->rs->status = 200;
    return rc < 0 ? -1 : 0;
}

int eng_list_collect(struct eng_req *r, struct eng_obj ***items, size_t *n, int64_t *rv,
                     struct ck_err *err)
{
    struct list_plan p;
    memset(&p, 0, sizeof(p));
    p.ns = r->ns;
    struct list_out out;
    memset(&out, 0, sizeof(out));
    if (eng_parse_selectors(r, &p.ls, &p.fs, err) < 0)
        return -1;
    int rc = run_list(r, &p, &out, err);
    sel_free(p.ls);
    sel_free(p.fs);
    free(out.cont);
    *items = out.items;
    *n = out.n;
    *rv = out.rv;
    return rc;
}

int eng_serve_list(struct eng_req *r)
{
    int64_t t0 = ck_mono_ns();
    struct ck_err err = CK_ERR_INIT;
    struct list_plan p;
    memset(&p, 0, sizeof(p));
    p.ns = r->ns;
    struct list_out out;
    memset(&out, 0, sizeof(out));
    int rc = eng_parse_selectors(r, &p.ls, &p.fs, &err);
    if (rc == 0 && !p.ns && p.fs)
        p.ns = sel_required_value(p.fs, "metadata.namespace"); /* use the key range */
    if (rc == 0)
        rc = plan_list(r, &p, &err);
    if (rc == 0)
        rc = run_list(r, &p, &out, &err);
    size_t returned = out.n; /* write_list may lend the items away */
    if (rc == 0 && write_list(r, &out) < 0)
        rc = ck_err_set(&err, CK_R_INTERNAL, "list response too large");
    if (rc < 0)
        eng_reply_err(r, &err);
    else {
        size_t bytes = r->rs->lent.niov ? r->rs->lent.len : r->rs->body.len;
        atomic_fetch_add(&r->s->m.list_items, (long long)returned);
        atomic_fetch_add(&r->s->m.list_bytes, (long long)bytes);
        struct eng_list_cost c = {.user_agent = r->rq->user_agent, .res = r->res,
                                  .scanned = out.scanned, .returned = returned,
                                  .bytes = bytes, .ns = ck_mono_ns() - t0};
        eng_listcost_add(r->s->lc, &c);
    }
    sel_free(p.ls);
    sel_free(p.fs);
    free(p.start);
    out_release(&out);
    return rc;
}
