/* SPDX-License-Identifier: Apache-2.0 */
/* The etcd backend's transport: unary JSON calls to etcd's gRPC-JSON gateway over libcurl
 * (a small pool of easy handles keeps connections alive), endpoint failover, error mapping,
 * base64 and KeyValue conversion. */
#include "store/etcd_int.h"

#include "lib/log.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

size_t et_endpoint_count(struct et_store *s)
{
    return s->nendpoints;
}

void *et_easy_new(struct et_store *s, size_t ep, const char *path)
{
    pthread_once(&curl_once, curl_init_once);
    CURL *c = curl_easy_init();
    if (!c)
        abort();
    char *url = ck_asprintf("%s%s", s->endpoints[ep % s->nendpoints], path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    free(url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(s->timeout_ms < 2000 ? s->timeout_ms : 2000));
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    if (s->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
    if (s->cert_file)
        curl_easy_setopt(c, CURLOPT_SSLCERT, s->cert_file);
    if (s->key_file)
        curl_easy_setopt(c, CURLOPT_SSLKEY, s->key_file);
    return c;
}

static size_t body_cb(char *p, size_t sz, size_t n, void *arg)
{
    struct ck_buf *b = arg;
    if (ck_buf_append(b, p, sz * n) < 0)
        return 0; /* aborts the transfer */
    return sz * n;
}

int et_map_error(const char *msg, const char *what, struct ck_err *err)
{
    enum ck_reason r = CK_R_INTERNAL;
    if (strstr(msg, "required revision has been compacted"))
        r = CK_R_COMPACTED;
    else if (strstr(msg, "future revision"))
        r = CK_R_TIMEOUT;
    else if (strstr(msg, "too large") || strstr(msg, "larger than max"))
        r = CK_R_TOO_LARGE;
    else if (strstr(msg, "too many operations") || strstr(msg, "duplicate key") ||
             strstr(msg, "key is not provided") || strstr(msg, "invalid"))
        r = CK_R_BAD_REQUEST;
    else if (strstr(msg, "no leader") || strstr(msg, "timed out") || strstr(msg, "stopped") ||
             strstr(msg, "unavailable") || strstr(msg, "not capable"))
        r = CK_R_SERVICE_UNAVAILABLE;
    return ck_err_set(err, r, "etcd %s: %s", what, msg);
}

static CURL *pool_get(struct et_store *s, size_t ep, const char *path)
{
    CURL *c = NULL;
    pthread_mutex_lock(&s->pool_mu);
    if (s->npool)
        c = s->pool[--s->npool];
    pthread_mutex_unlock(&s->pool_mu);
    if (!c)
        return et_easy_new(s, ep, path);
    char *url = ck_asprintf("%s%s", s->endpoints[ep % s->nendpoints], path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    free(url);
    return c;
}

static void pool_put(struct et_store *s, CURL *c)
{
    pthread_mutex_lock(&s->pool_mu);
    if (s->npool < sizeof(s->pool) / sizeof(s->pool[0])) {
        s->pool[s->npool++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&s->pool_mu);
    if (c)
        curl_easy_cleanup(c);
}

/* One POST to one endpoint. Returns the curl code; *status and resp filled. */
static CURLcode post_once(struct et_store *s, size_t ep, const char *path,
                          const struct ck_buf *body, struct ck_buf *resp, long *status)
{
    CURL *c = pool_get(s, ep, path);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data ? body->data : "{}");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body->data ? body->len : 2));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms);
    CURLcode cc = curl_easy_perform(c);
    *status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdr);
    if (cc == CURLE_OK)
        pool_put(s, c);
    else
        curl_easy_cleanup(c);
    return cc;
}

static bool not_sent(CURLcode cc)
{
    return cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
           cc == CURLE_SSL_CONNECT_ERROR;
}

int et_call(struct et_store *s, const char *path, const struct ck_buf *body, json_t **out,
            struct ck_err *err)
{
    *out = NULL;
    struct ck_buf resp = CK_BUF_INIT(ET_BODY_MAX);
    size_t first = atomic_load(&s->good_ep);
    CURLcode cc = CURLE_OK;
    long status = 0;
    size_t ep = first;
    /* Fail over only when the request surely did not reach etcd (a write is not repeated). */
    for (size_t i = 0; i < s->nendpoints; i++) {
        ep = (first + i) % s->nendpoints;
        ck_buf_reset(&resp);
        cc = post_once(s, ep, path, body, &resp, &status);
        if (!not_sent(cc))
            break;
    }
    if (cc != CURLE_OK) {
        ck_buf_release(&resp);
        return ck_err_set(err, CK_R_SERVICE_UNAVAILABLE, "etcd %s: %s unreachable: %s", path,
                          s->endpoints[ep], curl_easy_strerror(cc));
    }
    atomic_store(&s->good_ep, ep);
    json_error_t je;
    json_t *j = json_loadb(resp.data ? resp.data : "", resp.len, 0, &je);
    ck_buf_release(&resp);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return ck_err_set(err, status >= 500 ? CK_R_SERVICE_UNAVAILABLE : CK_R_CORRUPT,
                          "etcd %s: HTTP %ld with an unreadable body", path, status);
    }
    json_t *e = json_object_get(j, "error");
    if (e || status != 200) {
        const char *m = json_string_value(e ? e : json_object_get(j, "message"));
        int rc = et_map_error(m ? m : "unknown error", path, err);
        json_decref(j);
        return rc;
    }
    et_saw_revision(s, et_json_int(json_object_get(j, "header"), "revision"));
    *out = j;
    return 0;
}

/* ---- revisions ---- */

void et_saw_revision(struct et_store *s, int64_t rev)
{
    long long cur = atomic_load(&s->cur_rev);
    while (rev > cur && !atomic_compare_exchange_weak(&s->cur_rev, &cur, rev))
        ;
}

void et_saw_compacted(struct et_store *s, int64_t rev)
{
    long long cur = atomic_load(&s->compacted_rev);
    while (rev > cur && !atomic_compare_exchange_weak(&s->compacted_rev, &cur, rev))
        ;
}

static int readable_at(struct et_store *s, int64_t rev, bool *ok, struct ck_err *err)
{
    struct ck_buf b = CK_BUF_INIT(4096);
    ck_buf_appends(&b, "{");
    et_json_key(s, &b, "key", "", 0);
    ck_buf_appendf(&b, ",\"count_only\":true,\"revision\":\"%lld\"}", (long long)rev);
    json_t *j;
    struct ck_err e2 = CK_ERR_INIT;
    int rc = et_call(s, "/v3/kv/range", &b, &j, &e2);
    ck_buf_release(&b);
    if (rc == 0) {
        json_decref(j);
        *ok = true;
        return 0;
    }
    if (e2.reason == CK_R_COMPACTED) {
        *ok = false;
        return 0;
    }
    if (err)
        *err = e2;
    return -1;
}

int et_probe_compacted(struct et_store *s, struct ck_err *err)
{
    int64_t lo = 1, hi = atomic_load(&s->cur_rev);
    bool ok;
    if (readable_at(s, 1, &ok, err) < 0)
        return -1;
    if (ok)
        return 0;
    /* invariant: lo unreadable, hi readable (the current revision always is) */
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (readable_at(s, mid, &ok, err) < 0)
            return -1;
        if (ok)
            hi = mid;
        else
            lo = mid;
    }
    et_saw_compacted(s, hi);
    return 0;
}

/* ---- base64 and keys ---- */

static const char b64tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int et_b64_append(struct ck_buf *b, const void *p, size_t n)
{
    const unsigned char *in = p;
    char *o = ck_buf_reserve(b, (n + 2) / 3 * 4 + 1);
    if (!o)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        o[k++] = b64tab[(v >> 18) & 63];
        o[k++] = b64tab[(v >> 12) & 63];
        o[k++] = i + 1 < n ? b64tab[(v >> 6) & 63] : '=';
        o[k++] = i + 2 < n ? b64tab[v & 63] : '=';
    }
    b->len += k;
    b->data[b->len] = 0;
    return 0;
}

static int b64val(char c)
{
    const char *p = c ? strchr(b64tab, c) : NULL;
    return p ? (int)(p - b64tab) : -1;
}

int et_b64_decode(const char *in, char **out, size_t *out_len)
{
    size_t n = strlen(in);
    while (n && in[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return -1;
    char *o = ck_malloc(n / 4 * 3 + 3);
    size_t k = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(in[i]);
        if (v < 0) {
            free(o);
            return -1;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (char)((acc >> bits) & 0xff);
        }
    }
    o[k] = 0;
    *out = o;
    *out_len = k;
    return 0;
}

int et_json_key(struct et_store *s, struct ck_buf *b, const char *name, const char *key,
                size_t key_len)
{
    char tmp[ET_PREFIX_MAX + ET_KEY_MAX + 1];
    memcpy(tmp, s->prefix, s->prefix_len);
    memcpy(tmp + s->prefix_len, key, key_len);
    int rc = ck_buf_appendf(b, "\"%s\":\"", name);
    rc |= et_b64_append(b, tmp, s->prefix_len + key_len);
    rc |= ck_buf_appendc(b, '"');
    return rc ? -1 : 0;
}

int et_json_range_end(struct et_store *s, struct ck_buf *b, const char *key, size_t key_len)
{
    char tmp[ET_PREFIX_MAX + ET_KEY_MAX + 1];
    size_t n = s->prefix_len + key_len;
    memcpy(tmp, s->prefix, s->prefix_len);
    memcpy(tmp + s->prefix_len, key, key_len);
    while (n > 0 && (unsigned char)tmp[n - 1] == 0xff)
        n--;
    if (n == 0)
        return ck_buf_appends(b, "\"range_end\":\"AA==\"");
    tmp[n - 1] = (char)((unsigned char)tmp[n - 1] + 1);
    int rc = ck_buf_appends(b, "\"range_end\":\"");
    rc |= et_b64_append(b, tmp, n);
    rc |= ck_buf_appendc(b, '"');
    return rc ? -1 : 0;
}

int64_t et_json_int(json_t *obj, const char *name)
{
    json_t *v = obj ? json_object_get(obj, name) : NULL;
    if (json_is_integer(v))
        return json_integer_value(v);
    const char *str = json_string_value(v);
    return str ? strtoll(str, NULL, 10) : 0;
}

int et_kv_from_json(struct et_store *s, json_t *o, struct store_kv *kv)
{
    memset(kv, 0, sizeof(*kv));
    const char *k64 = json_string_value(json_object_get(o, "key"));
    const char *v64 = json_string_value(json_object_get(o, "value"));
    char *key, *val;
    size_t klen, vlen;
    if (!k64 || et_b64_decode(k64, &key, &klen) < 0)
        return -1;
    if (klen <= s->prefix_len || memcmp(key, s->prefix, s->prefix_len) != 0) {
        free(key);
        return -1;
    }
    if (et_b64_decode(v64 ? v64 : "", &val, &vlen) < 0) {
        free(key);
        return -1;
    }
    memmove(key, key + s->prefix_len, klen - s->prefix_len + 1);
    kv->key = key;
    kv->key_len = klen - s->prefix_len;
    kv->value = val;
    kv->value_len = vlen;
    kv->create_revision = et_json_int(o, "create_revision");
    kv->mod_revision = et_json_int(o, "mod_revision");
    kv->version = et_json_int(o, "version");
    return 0;
}
