/* SPDX-License-Identifier: Apache-2.0 */
/* The etcd backend's watch side: events_since (a bounded watch from after+1 read until the
 * revision current at the call) and subscriptions (one background watch stream feeding every
 * subscriber in revision order, resuming after stream loss from the last delivered revision). */
#include "store/etcd_int.h"

#include "lib/log.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

/* A watch stream in progress: newline-delimited JSON messages handed to on_msg. */
struct wctx {
    struct et_store *s;
    struct ck_buf buf;
    /* returns 0 to continue, 1 when done, -1 on error (err filled) */
    int (*on_msg)(struct wctx *w, json_t *result);
    void *arg;
    bool done;
    int64_t compact_rev; /* from a canceled watch */
    struct ck_err err;
};

static int handle_line(struct wctx *w, const char *p, size_t n)
{
    json_error_t je;
    json_t *j = json_loadb(p, n, 0, &je);
    if (!j) {
        ck_err_set(&w->err, CK_R_CORRUPT, "etcd watch: unreadable message: %s", je.text);
        return -1;
    }
    json_t *res = json_object_get(j, "result");
    int rc;
    if (!json_is_object(res)) {
        const char *m = json_string_value(json_object_get(j, "message"));
        if (!m)
            m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
        rc = et_map_error(m ? m : "watch failed", "watch", &w->err);
    } else {
        et_saw_revision(w->s, et_json_int(json_object_get(res, "header"), "revision"));
        rc = w->on_msg(w, res);
    }
    json_decref(j);
    return rc;
}

static size_t stream_cb(char *p, size_t sz, size_t n, void *arg)
{
    struct wctx *w = arg;
    if (w->done || ck_buf_append(&w->buf, p, sz * n) < 0)
        return 0;
    size_t off = 0;
    char *nl;
    while (!w->done && (nl = memchr(w->buf.data + off, '\n', w->buf.len - off))) {
        size_t len = (size_t)(nl - (w->buf.data + off));
        int rc = len ? handle_line(w, w->buf.data + off, len) : 0;
        off += len + 1;
        if (rc != 0)
            w->done = true;
        if (rc < 0)
            return 0;
    }
    memmove(w->buf.data, w->buf.data + off, w->buf.len - off);
    w->buf.len -= off;
    w->buf.data[w->buf.len] = 0;
    return sz * n;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs one watch request on endpoint ep until on_msg says done, an error, *stop, or
 * timeout_ms (0 = none). Returns 0 when on_msg finished it, -1 otherwise (w->err filled). */
static int run_watch(struct wctx *w, CURLM *m, size_t ep, const struct ck_buf *req, int timeout_ms,
                     atomic_bool *stop)
{
    struct et_store *s = w->s;
    CURL *c = et_easy_new(s, ep, "/v3/watch");
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_multi_add_handle(m, c);
    int64_t deadline = timeout_ms ? now_ms() + timeout_ms : 0;
    int running = 1;
    CURLcode cc = CURLE_OK;
    bool timed_out = false, stopped = false;
    while (running) {
        curl_multi_perform(m, &running);
        if (!running || w->done)
            break;
        if (stop && atomic_load(stop)) {
            stopped = true;
            break;
        }
        if (deadline && now_ms() >= deadline) {
            timed_out = true;
            break;
        }
        curl_multi_poll(m, NULL, 0, 200, NULL);
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left)))
        if (msg->msg == CURLMSG_DONE)
            cc = msg->data.result;
    curl_multi_remove_handle(m, c);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    if (w->done)
        return w->err.reason ? -1 : 0;
    if (stopped)
        return ck_err_set(&w->err, CK_R_SERVICE_UNAVAILABLE, "etcd watch: store closing");
    if (timed_out)
        return ck_err_set(&w->err, CK_R_SERVICE_UNAVAILABLE,
                          "etcd watch on %s: no complete answer within %d ms", s->endpoints[ep],
                          timeout_ms);
    return ck_err_set(&w->err, CK_R_SERVICE_UNAVAILABLE, "etcd watch on %s: stream ended: %s",
                      s->endpoints[ep], cc ? curl_easy_strerror(cc) : "closed by server");
}

/* Converts one etcd Event; -1 when its key lies outside our prefix. */
static int event_from_json(struct et_store *s, json_t *e, struct store_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    const char *t = json_string_value(json_object_get(e, "type"));
    ev->type = t && !strcmp(t, "DELETE") ? STORE_EVENT_DELETE : STORE_EVENT_PUT;
    if (et_kv_from_json(s, json_object_get(e, "kv"), &ev->kv) < 0)
        return -1;
    ev->revision = ev->kv.mod_revision;
    json_t *p = json_object_get(e, "prev_kv");
    if (json_is_object(p) && et_kv_from_json(s, p, &ev->prev) == 0)
        ev->has_prev = true;
    return 0;
}

static void event_release(struct store_event *ev)
{
    store_kv_release(&ev->kv);
    store_kv_release(&ev->prev);
}

/* A canceled watch: compaction (the usual cause) or something else. */
static int on_cancel(struct wctx *w, json_t *res)
{
    int64_t comp = et_json_int(res, "compact_revision");
    if (comp > 0) {
        w->compact_rev = comp;
        et_saw_compacted(w->s, comp);
        ck_err_set(&w->err, CK_R_COMPACTED, "%s (compacted %lld)", ET_COMPACTED_MSG,
                   (long long)comp);
        return -1;
    }
    const char *why = json_string_value(json_object_get(res, "cancel_reason"));
    ck_err_set(&w->err, CK_R_INTERNAL, "etcd watch canceled: %s", why ? why : "no reason given");
    return -1;
}

/* ---- events_since ---- */

struct since_ctx {
    int64_t until; /* the revision current at the call */
    int64_t limit;
    int64_t last_rev;
    struct store_events *res;
    size_t cap;
};

static int since_msg(struct wctx *w, json_t *res)
{
    struct since_ctx *sc = w->arg;
    if (json_is_true(json_object_get(res, "canceled")))
        return on_cancel(w, res);
    json_t *evs = json_object_get(res, "events");
    for (size_t i = 0; i < json_array_size(evs); i++) {
        json_t *e = json_array_get(evs, i);
        int64_t rev = et_json_int(json_object_get(e, "kv"), "mod_revision");
        if (rev > sc->until)
            return 1;
        if (sc->limit && (int64_t)sc->res->nevents >= sc->limit && rev != sc->last_rev) {
            sc->res->more = true;
            return 1;
        }
        sc->last_rev = rev;
        struct store_event ev;
        if (event_from_json(w->s, e, &ev) < 0)
            continue; /* another tenant's key */
        if (sc->res->nevents == sc->cap) {
            sc->cap = sc->cap ? sc->cap * 2 : 64;
            sc->res->events = ck_realloc(sc->res->events, sc->cap * sizeof(ev));
        }
        sc->res->events[sc->res->nevents++] = ev;
    }
    /* etcd never splits one revision across watch responses */
    return sc->last_rev >= sc->until ? 1 : 0;
}

int et_events_since(struct store *base, int64_t after, int64_t limit, struct store_events *res,
                    struct ck_err *err)
{
    struct et_store *s = (struct et_store *)base;
    memset(res, 0, sizeof(*res));
    if (after < 0 || limit < 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "store: events_since: negative argument");
    int64_t comp = atomic_load(&s->compacted_rev), cur;
    if (after < comp)
        return ck_err_set(err, CK_R_COMPACTED, "%s (requested events after %lld, compacted %lld)",
                          ET_COMPACTED_MSG, (long long)after, (long long)comp);
    if (et_fetch_revision(s, &cur, err) < 0)
        return -1;
    res->revision = cur;
    if (after >= cur)
        return 0;
    /* The whole keyspace: every revision has at least one event there, so the event at cur
     * tells us we have caught up. Other tenants' keys are dropped. */
    struct ck_buf req = CK_BUF_INIT(1024);
    ck_buf_appendf(&req,
                   "{\"create_request\":{\"key\":\"AA==\",\"range_end\":\"AA==\","
                   "\"start_revision\":\"%lld\",\"prev_kv\":true}}",
                   (long long)after + 1);
    struct since_ctx sc = {.until = cur, .limit = limit, .res = res};
    struct wctx w = {.s = s, .buf = CK_BUF_INIT(ET_BODY_MAX), .on_msg = since_msg, .arg = &sc};
    CURLM *m = curl_multi_init();
    int rc = run_watch(&w, m, atomic_load(&s->good_ep), &req, s->timeout_ms, NULL);
    curl_multi_cleanup(m);
    ck_buf_release(&req);
    ck_buf_release(&w.buf);
    if (rc < 0) {
        if (err)
            *err = w.err;
        store_events_release(res);
        return -1;
    }
    res->revision = cur;
    return 0;
}

/* ---- subscriptions ---- */

/* Delivers ev to every subscriber; sub_mu held. */
static void deliver(struct et_store *s, const struct store_event *ev)
{
    for (size_t i = 0; i < s->nsubs; i++)
        s->subs[i].fn(s->subs[i].arg, ev);
}

static int sub_msg(struct wctx *w, json_t *res)
{
    struct et_store *s = w->s;
    if (json_is_true(json_object_get(res, "canceled")))
        return on_cancel(w, res);
    if (json_is_true(json_object_get(res, "created")))
        return 0;
    json_t *evs = json_object_get(res, "events");
    size_t n = json_array_size(evs);
    pthread_mutex_lock(&s->sub_mu);
    int64_t floor_rev = s->pos; /* one response may hold several events of one revision */
    for (size_t i = 0; i < n; i++) {
        struct store_event ev;
        if (event_from_json(s, json_array_get(evs, i), &ev) < 0)
            continue;
        if (ev.revision > floor_rev)
            deliver(s, &ev);
        if (ev.revision > s->pos)
            s->pos = ev.revision;
        event_release(&ev);
    }
    if (n == 0) { /* progress notification: every event up to header.revision was sent */
        int64_t rev = et_json_int(json_object_get(res, "header"), "revision");
        if (rev > s->pos)
            s->pos = rev;
    }
    pthread_cond_broadcast(&s->sub_cv);
    pthread_mutex_unlock(&s->sub_mu);
    return 0;
}

/* After the stream found its resume point compacted: tell subscribers they missed events and
 * resume from the current revision. */
static void report_missed(struct et_store *s)
{
    int64_t cur = 0;
    struct ck_err err = CK_ERR_INIT;
    while (!atomic_load(&s->stop) && et_fetch_revision(s, &cur, &err) < 0) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&s->stop))
        return;
    pthread_mutex_lock(&s->sub_mu);
    static char empty_key[1], empty_val[1]; /* "" rather than NULL for careless consumers */
    struct store_event ev = {.type = STORE_EVENT_MISSED, .revision = cur};
    ev.kv.key = empty_key;
    ev.kv.value = empty_val;
    ck_warn("store: etcd watch resume point %lld was compacted; subscribers resync at %lld",
            (long long)s->pos, (long long)cur);
    deliver(s, &ev);
    s->pos = cur;
    pthread_cond_broadcast(&s->sub_cv);
    pthread_mutex_unlock(&s->sub_mu);
}

static void *stream_main(void *arg)
{
    struct et_store *s = arg;
    CURLM *m = s->stream_multi;
    size_t ep = atomic_load(&s->good_ep);
    int backoff_ms = 50;
    while (!atomic_load(&s->stop)) {
        pthread_mutex_lock(&s->sub_mu);
        int64_t start = s->pos + 1;
        pthread_mutex_unlock(&s->sub_mu);
        struct ck_buf req = CK_BUF_INIT(4096);
        ck_buf_appends(&req, "{\"create_request\":{");
        et_json_key(s, &req, "key", "", 0);
        ck_buf_appendc(&req, ',');
        et_json_range_end(s, &req, "", 0);
        ck_buf_appendf(&req,
                       ",\"start_revision\":\"%lld\",\"prev_kv\":true,"
                       "\"progress_notify\":true}}",
                       (long long)start);
        struct wctx w = {.s = s, .buf = CK_BUF_INIT(ET_BODY_MAX), .on_msg = sub_msg};
        int64_t t0 = now_ms();
        run_watch(&w, m, ep, &req, 0, &s->stop);
        ck_buf_release(&req);
        ck_buf_release(&w.buf);
        if (atomic_load(&s->stop))
            break;
        if (w.err.reason == CK_R_COMPACTED) {
            report_missed(s);
            continue;
        }
        ck_v(1, "store: etcd watch stream lost (%s); resuming after %lld", w.err.msg,
             (long long)start - 1);
        ep = (ep + 1) % et_endpoint_count(s);
        backoff_ms = now_ms() - t0 > 5000 ? 50 : (backoff_ms * 2 > 2000 ? 2000 : backoff_ms * 2);
        curl_multi_poll(m, NULL, 0, backoff_ms, NULL); /* woken early by close */
    }
    return NULL;
}

int et_subscribe(struct store *base, store_watch_fn fn, void *arg, int64_t *from,
                 struct ck_err *err)
{
    struct et_store *s = (struct et_store *)base;
    if (!fn)
        return ck_err_set(err, CK_R_BAD_REQUEST, "store subscribe: no callback");
    pthread_mutex_lock(&s->sub_mu);
    if (!s->stream_running) {
        int64_t cur;
        if (et_fetch_revision(s, &cur, err) < 0) {
            pthread_mutex_unlock(&s->sub_mu);
            return -1;
        }
        s->pos = cur;
        s->stream_multi = curl_multi_init();
        if (pthread_create(&s->stream_thread, NULL, stream_main, s) != 0) {
            curl_multi_cleanup(s->stream_multi);
            s->stream_multi = NULL;
            pthread_mutex_unlock(&s->sub_mu);
            return ck_err_set(err, CK_R_INTERNAL, "store subscribe: cannot start watch thread");
        }
        s->stream_running = true;
    }
    if (s->nsubs == s->subs_cap) {
        s->subs_cap = s->subs_cap ? s->subs_cap * 2 : 8;
        s->subs = ck_realloc(s->subs, s->subs_cap * sizeof(*s->subs));
    }
    int id = ++s->next_sub_id;
    s->subs[s->nsubs++] = (struct et_sub){id, fn, arg};
    if (from)
        *from = s->pos;
    pthread_mutex_unlock(&s->sub_mu);
    return id;
}

void et_unsubscribe(struct store *base, int id)
{
    struct et_store *s = (struct et_store *)base;
    pthread_mutex_lock(&s->sub_mu);
    for (size_t i = 0; i < s->nsubs; i++) {
        if (s->subs[i].id == id) {
            memmove(&s->subs[i], &s->subs[i + 1], (s->nsubs - i - 1) * sizeof(s->subs[0]));
            s->nsubs--;
            break;
        }
    }
    pthread_mutex_unlock(&s->sub_mu);
}

void et_wait_delivered(struct et_store *s, int64_t rev)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += s->timeout_ms / 1000;
    dl.tv_nsec += (long)(s->timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->sub_mu);
    int rc = 0;
    while (s->stream_running && s->nsubs && s->pos < rev && !atomic_load(&s->stop) && rc == 0)
        rc = pthread_cond_timedwait(&s->sub_cv, &s->sub_mu, &dl);
    if (rc)
        ck_warn("store: etcd write at revision %lld not yet delivered to subscribers after %d ms",
                (long long)rev, s->timeout_ms);
    pthread_mutex_unlock(&s->sub_mu);
}

void et_watch_shutdown(struct et_store *s)
{
    atomic_store(&s->stop, true);
    pthread_mutex_lock(&s->sub_mu);
    pthread_cond_broadcast(&s->sub_cv);
    pthread_mutex_unlock(&s->sub_mu);
    if (s->stream_running) {
        curl_multi_wakeup(s->stream_multi);
        pthread_join(s->stream_thread, NULL);
        curl_multi_cleanup(s->stream_multi);
        s->stream_multi = NULL;
        s->stream_running = false;
    }
    free(s->subs);
    s->subs = NULL;
    s->nsubs = s->subs_cap = 0;
}
