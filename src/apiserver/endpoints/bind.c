/* SPDX-License-Identifier: Apache-2.0 */
/* The pods/binding fast path. A binding changes spec.nodeName and the PodScheduled condition
 * only, so instead of the general update loop (parse the cached pod, deep-copy it, mutate,
 * deep-compare, re-serialise) the new stored bytes are the cached bytes with three spans
 * edited, found by a scanner that walks JSON text without building values. The semantics are
 * the general path's (and upstream's BindingREST): 404 for a missing pod, 409 for a pod being
 * deleted, already bound or gated, uid/resourceVersion preconditions from the Binding's
 * metadata, a retry on a concurrent write, the write through the store's group commit and the
 * watch event built from the stored bytes. Anything unusual (annotations on the Binding, dry
 * run, a pod shape the splice does not know) takes the general path. */
#include "apiserver/endpoints/bind.h"
#include "apiserver/endpoints/write_int.h"
#include "lib/buf.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

/* ---- JSON text spans ------------------------------------------------------------------ */

struct span {
    size_t off, len;
};

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* Index after the string starting at s[i] == '"', or 0 when unterminated (memchr to the
 * next quote, then an odd run of backslashes before it means it is escaped). */
static size_t skip_string(const char *s, size_t n, size_t i)
{
    for (i++; i < n;) {
        const char *q = memchr(s + i, '"', n - i);
        if (!q)
            return 0;
        size_t at = (size_t)(q - s), bs = 0;
        while (at - bs > i && s[at - bs - 1] == '\\')
            bs++;
        if (bs % 2 == 0)
            return at + 1;
        i = at + 1;
    }
    return 0;
}

/* Index after the value starting at s[i] (no leading space), or 0 when malformed. Brackets
 * are counted, not matched: the bytes come from the cache (jansson's output), the scanner
 * only has to stay in bounds and terminate on anything else. */
static size_t skip_value(const char *s, size_t n, size_t i)
{
    if (i >= n)
        return 0;
    if (s[i] == '"')
        return skip_string(s, n, i);
    if (s[i] != '{' && s[i] != '[') {
        size_t j = i;
        while (j < n && s[j] != ',' && s[j] != '}' && s[j] != ']' && s[j] != ' ' && s[j] != '\n' &&
               s[j] != '\t' && s[j] != '\r' && s[j] != '"' && s[j] != '{' && s[j] != '[' &&
               s[j] != ':')
            j++;
        return j > i ? j : 0;
    }
    size_t depth = 0;
    while (i < n) {
        char c = s[i];
        if (c == '"') {
            i = skip_string(s, n, i);
            if (!i)
                return 0;
            continue;
        }
        if (c == '{' || c == '[')
            depth++;
        else if ((c == '}' || c == ']') && --depth == 0)
            return i + 1;
        i++;
    }
    return 0;
}

/* The object or array at v (s[v.off] is '{' or '['): is there nothing inside? */
static bool span_empty(const char *s, struct span v)
{
    return skip_ws(s, v.off + v.len - 1, v.off + 1) == v.off + v.len - 1;
}

static bool span_is(const char *s, struct span v, const char *lit)
{
    size_t l = strlen(lit);
    return v.len == l && memcmp(s + v.off, lit, l) == 0;
}

/* Finds members keys[0..nk) (written without escapes) of the object at obj in one walk;
 * -1 malformed, else the number found (vals[k].len == 0: keys[k] absent). */
static int members(const char *s, struct span obj, const char *const *keys, size_t nk,
                   struct span *vals)
{
    size_t n = obj.off + obj.len;
    int found = 0;
    for (size_t k = 0; k < nk; k++)
        vals[k] = (struct span){0, 0};
    if (obj.len < 2 || s[obj.off] != '{')
        return -1;
    size_t i = skip_ws(s, n, obj.off + 1);
    if (i < n && s[i] == '}')
        return 0;
    while (i < n) {
        if (s[i] != '"')
            return -1;
        size_t ke = skip_string(s, n, i);
        if (!ke)
            return -1;
        size_t hit = nk;
        for (size_t k = 0; k < nk && hit == nk; k++)
            if (ke - i - 2 == strlen(keys[k]) && memcmp(s + i + 1, keys[k], ke - i - 2) == 0 &&
                !vals[k].len)
                hit = k;
        i = skip_ws(s, n, ke);
        if (i >= n || s[i] != ':')
            return -1;
        i = skip_ws(s, n, i + 1);
        size_t ve = skip_value(s, n, i);
        if (!ve)
            return -1;
        if (hit < nk) {
            vals[hit] = (struct span){i, ve - i};
            if (++found == (int)nk)
                return found;
        }
        i = skip_ws(s, n, ve);
        if (i < n && s[i] == ',')
            i = skip_ws(s, n, i + 1);
        else
            return i + 1 == n && s[i] == '}' ? found : -1;
    }
    return -1;
}

/* One member: -1 malformed, 0 absent, 1 found (*val its value). */
static int member(const char *s, struct span obj, const char *key, struct span *val)
{
    int rc = members(s, obj, &key, 1, val);
    return rc < 0 ? -1 : rc;
}

/* ---- the splice ----------------------------------------------------------------------- */

struct edit {
    size_t off, del;
    char *ins; /* malloc'd */
};

struct edits {
    struct edit e[4];
    size_t n;
};

static void edit_add(struct edits *es, size_t off, size_t del, char *ins)
{
    es->e[es->n++] = (struct edit){off, del, ins};
}

static void edits_free(struct edits *es)
{
    for (size_t i = 0; i < es->n; i++)
        free(es->e[i].ins);
    es->n = 0;
}

static int by_off(const void *a, const void *b)
{
    const struct edit *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* "lastTransitionTime" of the condition to write: the old one's when it was True already. */
static char *condition(const char *s, struct span old, bool have_old, const char *now)
{
    static const char *const keys[] = {"status", "lastTransitionTime"};
    struct span v[2], ltt = {0, 0};
    if (have_old && members(s, old, keys, 2, v) >= 0 && v[0].len && v[1].len)
        ltt = v[1];
    if (ltt.len && span_is(s, v[0], "\"True\"") && s[ltt.off] == '"')
        return ck_asprintf("{\"type\":\"PodScheduled\",\"status\":\"True\",\"lastProbeTime\":"
                           "null,\"lastTransitionTime\":%.*s}",
                           (int)ltt.len, s + ltt.off);
    return ck_asprintf("{\"type\":\"PodScheduled\",\"status\":\"True\",\"lastProbeTime\":null,"
                       "\"lastTransitionTime\":\"%s\"}",
                       now);
}

/* The conditions edit: PodScheduled replaced in place, or appended. */
static int conditions_edit(const char *s, struct span arr, const char *now, struct edits *es)
{
    size_t n = arr.off + arr.len - 1, i = skip_ws(s, n, arr.off + 1);
    while (i < n) {
        size_t e = skip_value(s, n, i);
        if (!e || s[i] != '{')
            return ENG_BS_FALLBACK;
        struct span c = {i, e - i}, t;
        int m = member(s, c, "type", &t);
        if (m < 0)
            return ENG_BS_FALLBACK;
        if (m == 1 && span_is(s, t, "\"PodScheduled\"")) {
            edit_add(es, c.off, c.len, condition(s, c, true, now));
            return ENG_BS_OK;
        }
        i = skip_ws(s, n, e);
        if (i < n && s[i] != ',')
            return ENG_BS_FALLBACK;
        i = skip_ws(s, n, i + 1);
    }
    char *c = condition(s, arr, false, now);
    edit_add(es, n, 0, ck_asprintf("%s%s", span_empty(s, arr) ? "" : ",", c));
    free(c);
    return ENG_BS_OK;
}

static int status_edit(const char *s, struct span top, const char *now, struct edits *es)
{
    struct span st, conds;
    int m = member(s, top, "status", &st);
    if (m < 0)
        return ENG_BS_FALLBACK;
    char *c = condition(s, top, false, now);
    if (m == 0 || span_is(s, st, "null")) {
        if (m == 0)
            edit_add(es, top.off + top.len - 1, 0,
                     ck_asprintf("%s\"status\":{\"conditions\":[%s]}",
                                 span_empty(s, top) ? "" : ",", c));
        else
            edit_add(es, st.off, st.len, ck_asprintf("{\"conditions\":[%s]}", c));
        free(c);
        return ENG_BS_OK;
    }
    if (s[st.off] != '{' || (m = member(s, st, "conditions", &conds)) < 0) {
        free(c);
        return ENG_BS_FALLBACK;
    }
    if (m == 0 || span_is(s, conds, "null")) {
        if (m == 0)
            edit_add(es, st.off + st.len - 1, 0,
                     ck_asprintf("%s\"conditions\":[%s]", span_empty(s, st) ? "" : ",", c));
        else
            edit_add(es, conds.off, conds.len, ck_asprintf("[%s]", c));
        free(c);
        return ENG_BS_OK;
    }
    free(c);
    if (s[conds.off] != '[')
        return ENG_BS_FALLBACK;
    return conditions_edit(s, conds, now, es);
}

static int spec_edit(const char *s, struct span top, const char *node_json, struct edits *es,
                     char **bound_to)
{
    static const char *const keys[] = {"nodeName", "schedulingGates"};
    struct span spec, v[2];
    if (member(s, top, "spec", &spec) != 1 || s[spec.off] != '{' ||
        members(s, spec, keys, 2, v) < 0)
        return ENG_BS_FALLBACK;
    struct span nn = v[0], gates = v[1];
    int m = nn.len ? 1 : 0;
    if (m == 1 && !span_is(s, nn, "\"\"") && !span_is(s, nn, "null")) {
        if (s[nn.off] != '"')
            return ENG_BS_FALLBACK;
        json_error_t je;
        json_t *str = json_loadb(s + nn.off, nn.len, JSON_DECODE_ANY, &je);
        if (!json_is_string(str)) {
            json_decref(str);
            return ENG_BS_FALLBACK;
        }
        *bound_to = ck_strdup(json_string_value(str));
        json_decref(str);
        return ENG_BS_BOUND;
    }
    if (gates.len && !span_is(s, gates, "null") && (s[gates.off] != '[' || !span_empty(s, gates)))
        return ENG_BS_GATED;
    if (m == 1)
        edit_add(es, nn.off, nn.len, ck_strdup(node_json));
    else
        edit_add(es, spec.off + spec.len - 1, 0,
                 ck_asprintf("%s\"nodeName\":%s", span_empty(s, spec) ? "" : ",", node_json));
    return ENG_BS_OK;
}

int eng_bind_splice(const char *body, size_t len, size_t cut_off, size_t cut_len,
                    const char *node_json, const char *now, char **out, size_t *out_len,
                    char **bound_to)
{
    *out = NULL;
    *out_len = 0;
    *bound_to = NULL;
    /* the object's end is its last byte: the member walks check the structure between */
    size_t i = skip_ws(body, len, 0), e = len;
    while (e > i && (body[e - 1] == ' ' || body[e - 1] == '\n' || body[e - 1] == '\t' ||
                     body[e - 1] == '\r'))
        e--;
    if (e - i < 2 || body[i] != '{' || body[e - 1] != '}' || cut_off + cut_len > len)
        return ENG_BS_FALLBACK;
    struct span top = {i, e - i};
    struct edits es = {.n = 0};
    if (cut_len)
        edit_add(&es, cut_off, cut_len, ck_strdup(""));
    int rc = spec_edit(body, top, node_json, &es, bound_to);
    if (rc == ENG_BS_OK)
        rc = status_edit(body, top, now, &es);
    if (rc != ENG_BS_OK) {
        edits_free(&es);
        return rc;
    }
    qsort(es.e, es.n, sizeof(es.e[0]), by_off);
    for (size_t k = 1; k < es.n; k++) /* overlapping edits: a shape not understood */
        if (es.e[k - 1].off + es.e[k - 1].del > es.e[k].off) {
            edits_free(&es);
            return ENG_BS_FALLBACK;
        }
    struct ck_buf b = CK_BUF_INIT((size_t)1 << 31);
    size_t at = 0;
    int brc = 0;
    for (size_t k = 0; k < es.n; k++) {
        brc |= ck_buf_append(&b, body + at, es.e[k].off - at);
        brc |= ck_buf_appends(&b, es.e[k].ins);
        at = es.e[k].off + es.e[k].del;
    }
    brc |= ck_buf_append(&b, body + at, len - at);
    edits_free(&es);
    if (brc < 0) {
        ck_buf_release(&b);
        return ENG_BS_FALLBACK;
    }
    *out = ck_buf_detach(&b, out_len);
    return ENG_BS_OK;
}

/* ---- the handler ---------------------------------------------------------------------- */

void eng_bind_conflict(struct ck_err *err, const char *pod, const char *why_fmt, ...)
{
    char why[600];
    va_list ap;
    va_start(ap, why_fmt);
    vsnprintf(why, sizeof(why), why_fmt, ap);
    va_end(ap);
    ck_err_set(err, CK_R_CONFLICT, "Operation cannot be fulfilled on pods/binding \"%s\": %s", pod,
               why);
    snprintf(err->kind, sizeof(err->kind), "pods/binding");
    err->group[0] = '\0';
    snprintf(err->name, sizeof(err->name), "%s", pod);
}

/* upstream's storage.Preconditions.Check, as InterpretUpdateError turns it into a 409 */
static int precondition(struct eng_req *r, const struct eng_obj *o, const char *uid, const char *rv,
                        struct ck_err *err)
{
    char cur[24], why[400];
    snprintf(cur, sizeof(cur), "%" PRId64, o->rv);
    if (uid && *uid && strcmp(uid, o->uid) != 0)
        snprintf(why, sizeof(why), "UID in precondition: %s, UID in object meta: %s", uid, o->uid);
    else if (rv && *rv && strcmp(rv, cur) != 0)
        snprintf(why, sizeof(why),
                 "ResourceVersion in precondition: %s, ResourceVersion in object meta: %s", rv,
                 cur);
    else
        return 0;
    char full[600];
    snprintf(full, sizeof(full),
             "StorageError: invalid object, Code: 4, Key: /registry/pods/%s/%s, "
             "ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: %s",
             r->ns ? r->ns : "", r->name, why);
    eng_conflict(err, r->res, r->name, full);
    return -1;
}

static const char bind_ok[] = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                              "\"status\":\"Success\",\"code\":201}";

enum { TRY_DONE, TRY_RETRY, TRY_FALLBACK, TRY_FAIL };

static int bind_once(struct eng_req *r, const char *node, const char *node_json, const char *uid,
                     const char *rv, struct ck_err *err)
{
    struct eng_obj *o = eng_cache_get(&r->s->cache, r->res, r->ns, r->name);
    if (!o) {
        eng_err_not_found(err, r->res, r->name);
        return TRY_FAIL;
    }
    int st = TRY_FAIL;
    char *val = NULL, *bound = NULL;
    size_t vlen = 0;
    static const char rvkey[] = "\"resourceVersion\":\"";
    size_t kl = sizeof(rvkey) - 1;
    if (precondition(r, o, uid, rv, err) < 0)
        goto out;
    if (o->deleting) {
        eng_bind_conflict(err, r->name, "pod %s is being deleted, cannot be assigned to a host",
                          r->name);
        goto out;
    }
    size_t end = o->rv_off + o->rv_len + 1; /* after the closing quote */
    if (o->rv_off < kl || end > o->len || memcmp(o->body + o->rv_off - kl, rvkey, kl) != 0 ||
        o->body[end - 1] != '"') {
        st = TRY_FALLBACK;
        goto out;
    }
    if (end < o->len && o->body[end] == ',')
        end++;
    char now[21];
    int rc = eng_bind_splice(o->body, o->len, o->rv_off - kl, end - (o->rv_off - kl), node_json,
                             eng_rfc3339_now(now), &val, &vlen, &bound);
    if (rc == ENG_BS_FALLBACK) {
        st = TRY_FALLBACK;
        goto out;
    }
    if (rc == ENG_BS_BOUND) {
        eng_bind_conflict(err, r->name, "pod %s is already assigned to node \"%s\"", r->name,
                          bound);
        goto out;
    }
    if (rc == ENG_BS_GATED) {
        eng_bind_conflict(err, r->name, "pod %s has non-empty .spec.schedulingGates", r->name);
        goto out;
    }
    int64_t rev = 0;
    /* the cache derives the new object from o instead of parsing val */
    struct eng_put_hint h = {.key = o->key,
                             .key_len = o->key_len,
                             .val = val,
                             .len = vlen,
                             .base_rv = o->rv,
                             .field = reg_field_index(r->res, "spec.nodeName"),
                             .fval = node};
    eng_hint_add(&r->s->cache, &h);
    int prc = store_put(r->s->cache.st, o->key, o->key_len, val, vlen, o->rv, &rev, NULL, err);
    eng_hint_del(&r->s->cache, &h);
    if (prc < 0) {
        if (err->reason == CK_R_CONFLICT || err->reason == CK_R_NOT_FOUND) {
            err->reason = CK_R_NONE; /* the next try sets it again if it fails */
            st = TRY_RETRY;          /* written meanwhile: read again, check again */
        }
        goto out;
    }
    st = TRY_DONE;
out:
    free(val);
    free(bound);
    eng_obj_unref(o);
    return st;
}

static atomic_llong fast_binds;

long long eng_bind_fast_count(void)
{
    return atomic_load(&fast_binds);
}

int eng_bind_fast(struct eng_req *r, const char *node, const char *uid, const char *rv,
                  struct ck_err *err)
{
    json_t *js = json_string(node);
    char *node_json = js ? json_dumps(js, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(js);
    if (!node_json)
        return 0;
    int st = TRY_RETRY;
    for (int i = 0; i < 32 && st == TRY_RETRY; i++)
        st = bind_once(r, node, node_json, uid, rv, err);
    free(node_json);
    if (st == TRY_FALLBACK)
        return 0;
    if (st == TRY_RETRY)
        eng_conflict(err, r->res, r->name, ENG_MODIFIED_MSG);
    if (st == TRY_DONE) {
        atomic_fetch_add(&fast_binds, 1);
        eng_reply(r, 201, bind_ok, sizeof(bind_ok) - 1);
    } else {
        eng_reply_err(r, err);
    }
    return 1;
}
