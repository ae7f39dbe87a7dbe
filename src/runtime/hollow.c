/* SPDX-License-Identifier: Apache-2.0 */
/* The hollow runtime: CRI semantics without processes, for simulating many nodes in one
 * process. State is computed lazily from timestamps (no threads, no timers): a container's
 * phase at time t follows from when it was started/stopped and its behaviour (parsed from its
 * command, see runtime.h). About 200 bytes per container plus its strings. Thread-safe. */
#include "runtime/runtime.h"
#include "lib/buf.h"
#include "lib/timeutil.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

void rt_kv_free(struct rt_kv *kv, size_t n);

enum hb_kind { HB_FOREVER = 0, HB_EXIT, HB_SLEEP, HB_OOM };

struct h_ctr {
    char id[33];
    char sandbox_id[33];
    char *name, *image;
    unsigned attempt;
    unsigned char kind;
    int exit_arg;        /* HB_EXIT code */
    int64_t sleep_ns;    /* HB_SLEEP */
    int64_t created, started, stop_at;
    int stop_code;       /* 143 (TERM honoured) or 137 */
    struct rt_kv *labels;
    size_t nlabels;
    struct h_ctr *next;
};

struct h_sb {
    char id[33];
    char *name, *ns, *uid;
    unsigned attempt;
    bool ready;
    uint32_t ip;
    int64_t created;
    struct rt_kv *labels;
    size_t nlabels;
    struct h_sb *next;
};

struct rt_hollow {
    struct runtime base;
    struct rt_hollow_opts o;
    pthread_mutex_t mu;
    struct h_sb *sbs;
    struct h_ctr *ctrs;
    uint32_t net, next_host, host_max;
};

static struct rt_hollow *hol(struct runtime *rt)
{
    return (struct rt_hollow *)rt;
}

static int64_t now(struct rt_hollow *h)
{
    return h->o.clock_ns ? h->o.clock_ns(h->o.clock_arg) : ck_real_ns();
}

static struct rt_kv *kv_copy(const struct rt_kv *kv, size_t n)
{
    if (!n)
        return NULL;
    struct rt_kv *r = ck_calloc(n, sizeof(*r));
    for (size_t i = 0; i < n; i++) {
        r[i].key = ck_strdup(kv[i].key ? kv[i].key : "");
        r[i].value = ck_strdup(kv[i].value ? kv[i].value : "");
    }
    return r;
}

static struct h_sb *find_sb(struct rt_hollow *h, const char *id)
{
    for (struct h_sb *s = h->sbs; s; s = s->next)
        if (!strcmp(s->id, id))
            return s;
    return NULL;
}

static struct h_ctr *find_ctr(struct rt_hollow *h, const char *id)
{
    for (struct h_ctr *c = h->ctrs; c; c = c->next)
        if (!strcmp(c->id, id))
            return c;
    return NULL;
}

/* ---- state machine --------------------------------------------------------------------- */

/* When the container exits on its own (INT64_MAX: never), relative to running_at. */
static int64_t natural_end(const struct h_ctr *c, int64_t running_at)
{
    switch (c->kind) {
    case HB_EXIT:
    case HB_OOM: return running_at;
    case HB_SLEEP: return running_at + c->sleep_ns;
    default: return INT64_MAX;
    }
}

static void compute(struct rt_hollow *h, const struct h_ctr *c, int64_t t,
                    struct rt_container_status *st)
{
    st->created_ns = c->created;
    if (!c->started) {
        st->state = c->stop_at && t >= c->stop_at ? RT_CONTAINER_EXITED : RT_CONTAINER_CREATED;
        if (st->state == RT_CONTAINER_EXITED) {
            st->exit_code = 137;
            st->finished_ns = c->stop_at;
            snprintf(st->reason, sizeof(st->reason), "Error");
        }
        return;
    }
    int64_t running_at = c->started + h->o.start_delay_ms * 1000000;
    int64_t end = natural_end(c, running_at);
    int code = c->kind == HB_EXIT ? c->exit_arg : c->kind == HB_OOM ? 137 : 0;
    const char *reason = c->kind == HB_OOM ? "OOMKilled" : code == 0 ? "Completed" : "Error";
    if (c->stop_at) {
        int64_t kill_end = c->stop_at + h->o.stop_delay_ms * 1000000;
        if (kill_end < running_at)
            kill_end = running_at;
        if (kill_end < end) {
            end = kill_end;
            code = c->stop_code;
            reason = "Error";
        }
    }
    if (t < running_at) {
        st->state = RT_CONTAINER_CREATED;
        return;
    }
    st->started_ns = running_at;
    if (t < end) {
        st->state = RT_CONTAINER_RUNNING;
        st->pid = 1;
        return;
    }
    st->state = RT_CONTAINER_EXITED;
    st->finished_ns = end;
    st->exit_code = code;
    snprintf(st->reason, sizeof(st->reason), "%s", reason);
}

static void parse_behaviour(struct h_ctr *c, const struct rt_container_config *cc)
{
    const char *w[4] = {0};
    size_t n = 0;
    for (const char *const *p = cc->command; p && *p && n < 4; p++)
        w[n++] = *p;
    for (const char *const *p = cc->args; p && *p && n < 4; p++)
        w[n++] = *p;
    /* tolerate "/bin/sh -c 'exit 3'" style by looking at the last words */
    for (size_t i = 0; i < n; i++) {
        const char *s = w[i];
        if (!strncmp(s, "exit ", 5) || (!strcmp(s, "exit") && i + 1 < n)) {
            c->kind = HB_EXIT;
            c->exit_arg = atoi(s[4] ? s + 5 : w[i + 1]) & 255;
            return;
        }
        if (!strncmp(s, "sleep ", 6) || (!strcmp(s, "sleep") && i + 1 < n)) {
            c->kind = HB_SLEEP;
            c->sleep_ns = (int64_t)(strtod(s[5] ? s + 6 : w[i + 1], NULL) * 1e9);
            return;
        }
        if (!strcmp(s, "oom")) {
            c->kind = HB_OOM;
            return;
        }
    }
    c->kind = HB_FOREVER;
}

/* ---- sandboxes --------------------------------------------------------------------------- */

static int h_run_sb(struct runtime *rt, const struct rt_sandbox_config *cfg, char id[RT_ID_MAX],
                    struct ck_err *err)
{
    struct rt_hollow *h = hol(rt);
    if (!cfg->name || !*cfg->name || !cfg->uid || !*cfg->uid)
        return ck_err_set(err, CK_R_INVALID, "sandbox config: name and uid are required");
    struct h_sb *s = ck_calloc(1, sizeof(*s));
    rt_new_id(id);
    snprintf(s->id, sizeof(s->id), "%s", id);
    s->name = ck_strdup(cfg->name);
    s->ns = ck_strdup(cfg->namespace_ ? cfg->namespace_ : "default");
    s->uid = ck_strdup(cfg->uid);
    s->attempt = cfg->attempt;
    s->ready = true;
    s->labels = kv_copy(cfg->labels, cfg->nlabels);
    s->nlabels = cfg->nlabels;
    pthread_mutex_lock(&h->mu);
    if (h->next_host > h->host_max)
        h->next_host = 2;
    s->ip = cfg->host_network ? 0 : h->net + h->next_host++;
    s->created = now(h);
    s->next = h->sbs;
    h->sbs = s;
    pthread_mutex_unlock(&h->mu);
    return 0;
}

static void stop_ctr_locked(struct rt_hollow *h, struct h_ctr *c, int timeout_s)
{
    if (c->stop_at)
        return;
    c->stop_at = now(h);
    c->stop_code = timeout_s > 0 ? 143 : 137;
}

static int h_stop_sb(struct runtime *rt, const char *id, struct ck_err *err)
{
    struct rt_hollow *h = hol(rt);
    pthread_mutex_lock(&h->mu);
    struct h_sb *s = find_sb(h, id);
    if (s) {
        s->ready = false;
        for (struct h_ctr *c = h->ctrs; c; c = c->next)
            if (!strcmp(c->sandbox_id, id))
                stop_ctr_locked(h, c, 0);
    }
    pthread_mutex_unlock(&h->mu);
    return s ? 0 : ck_err_set(err, CK_R_NOT_FOUND, "pod sandbox %.80s not found", id);
}

static void free_ctr(struct h_ctr *c)
{
    free(c->name);
    free(c->image);
    rt_kv_free(c->labels, c->nlabels);
    free(c);
}

static int h_remove_sb(struct runtime *rt, const char *id, struct ck_err *err)
{
    (void)err;
    struct rt_hollow *h = hol(rt);
    pthread_mutex_lock(&h->mu);
    for (struct h_ctr **pc = &h->ctrs; *pc;) {
        if (!strcmp((*pc)->sandbox_id, id)) {
            struct h_ctr *dead = *pc;
            *pc = dead->next;
            free_ctr(dead);
        } else {
            pc = &(*pc)->next;
        }
    }
    for (struct h_sb **ps = &h->sbs; *ps; ps = &(*ps)->next) {
        if (!strcmp((*ps)->id, id)) {
            struct h_sb *dead = *ps;
            *ps = dead->next;
            free(dead->name);
            free(dead->ns);
            free(dead->uid);
            rt_kv_free(dead->labels, dead->nlabels);
            free(dead);
            break;
        }
    }
    pthread_mutex_unlock(&h->mu);
    return 0; /* idempotent */
}

static void sb_status(const struct h_sb *s, struct rt_sandbox_status *st)
{
    memset(st, 0, sizeof(*st));
    snprintf(st->id, sizeof(st->id), "%s", s->id);
    snprintf(st->name, sizeof(st->name), "%s", s->name);
    snprintf(st->namespace_, sizeof(st->namespace_), "%s", s->ns);
    snprintf(st->uid, sizeof(st->uid), "%s", s->uid);
    st->attempt = s->attempt;
    st->state = s->ready ? RT_SANDBOX_READY : RT_SANDBOX_NOTREADY;
    struct in_addr a = {htonl(s->ip)};
    if (s->ip)
        inet_ntop(AF_INET, &a, st->ip, sizeof(st->ip));
    st->created_ns = s->created;
    st->labels = kv_copy(s->labels, s->nlabels);
    st->nlabels = s->nlabels;
}

static int h_sb_status(struct runtime *rt, const char *id, struct rt_sandbox_status *st,
                       struct ck_err *err)
{
    struct rt_hollow *h = hol(rt);
    pthread_mutex_lock(&h->mu);
    struct h_sb *s = find_sb(h, id);
    if (s)
        sb_status(s, st);
    pthread_mutex_unlock(&h->mu);
    return s ? 0 : ck_err_set(err, CK_R_NOT_FOUND, "pod sandbox %.80s not found", id);
}

static int h_list_sb(struct runtime *rt, struct rt_sandbox_status **out, size_t *n,
                     struct ck_err *err)
{
    (void)err;
    struct rt_hollow *h = hol(rt);
    pthread_mutex_lock(&h->mu);
    size_t k = 0;
    for (struct h_sb *s = h->sbs; s; s = s->next)
        k++;
    *out = ck_calloc(k ? k : 1, sizeof(**out));
    *n = 0;
    for (struct h_sb *s = h->sbs; s; s = s->next)
        sb_status(s, &(*out)[(*n)++]);
    pthread_mutex_unlock(&h->mu);
    return 0;
}

/* ---- containers -------------------------------------------------------------------------- */

static int h_create(struct runtime *rt, const char *sandbox_id, const struct rt_container_config *cc,
                    char id[RT_ID_MAX], struct ck_err *err)
{
    struct rt_hollow *h = hol(rt);
    if (!cc->name || !*cc->name || !cc->image || !*cc->image)
        return ck_err_set(err, CK_R_INVALID, "container config: name and image are required");
    pthread_mutex_lock(&h->mu);
    struct h_sb *s = find_sb(h, sandbox_id);
    if (!s || !s->ready) {
        pthread_mutex_unlock(&h->mu);
        return s ? ck_err_set(err, CK_R_CONFLICT, "pod sandbox %s is not ready", sandbox_id)
                 : ck_err_set(err, CK_R_NOT_FOUND, "pod sandbox %.80s not found", sandbox_id);
    }
    struct h_ctr *c = ck_calloc(1, sizeof(*c));
    rt_new_id(id);
    snprintf(c->id, sizeof(c->id), "%s", id);
    snprintf(c->sandbox_id, sizeof(c->sandbox_id), "%s", sandbox_id);
    c->name = ck_strdup(cc->name);
    c->image = ck_strdup(cc->image);
    c->attempt = cc->attempt;
    c->labels = kv_copy(cc->labels, cc->nlabels);
    c->nlabels = cc->nlabels;
    parse_behaviour(c, cc);
    c->created = now(h);
    c->next = h->ctrs;
    h->ctrs = c;
    pthread_mutex_unlock(&h->mu);
    return 0;
}

static int h_start(struct runtime *rt, const char *id, struct ck_err *err)
{
    struct rt_hollow *h = hol(rt);
    pthread_mutex_lock(&h->mu);
    struct h_ctr *c = find_ctr(h, id);
    int rc = 0;
    if (!c)
        rc = ck_err_set(err, CK_R_NOT_FOUND, "container %.80s not found", id);
    else if (c->started || c->stop_at)
        rc = ck_err_set(err, CK_R_CONFLICT, "container %s is not in CREATED state", id);
    else
        c->started = now(h);
    pthread_mutex_unlock(&h->mu);
    return rc;
}

static int h_stop(struct runtime *rt, const char *id, int timeout_s, struct ck_err *err)
{
    struct rt_hollow *h = hol(rt);
    pthread_mutex_lock(&h->mu);
    struct h_ctr *c = find_ctr(h, id);
    if (c)
        stop_ctr_locked(h, c, timeout_s);
    pthread_mutex_unlock(&h->mu);
    return c ? 0 : ck_err_set(err, CK_R_NOT_FOUND, "container %.80s not found", id);
}

static int h_remove(struct runtime *rt, const char *id, struct ck_err *err)
{
    (void)err;
    struct rt_hollow *h = hol(rt);
    pthread_mutex_lock(&h->mu);
    for (struct h_ctr **pc = &h->ctrs; *pc; pc = &(*pc)->next) {
        if (!strcmp((*pc)->id, id)) {
            struct h_ctr *dead = *pc;
            *pc = dead->next;
            free_ctr(dead);
            break;
        }
    }
    pthread_mutex_unlock(&h->mu);
    return 0;
}

static void ctr_status(struct rt_hollow *h, const struct h_ctr *c, int64_t t,
                       struct rt_container_status *st)
{
    memset(st, 0, sizeof(*st));
    snprintf(st->id, sizeof(st->id), "%s", c->id);
    snprintf(st->sandbox_id, sizeof(st->sandbox_id), "%s", c->sandbox_id);
    snprintf(st->name, sizeof(st->name), "%s", c->name);
    snprintf(st->image, sizeof(st->image), "%s", c->image);
    snprintf(st->image_id, sizeof(st->image_id), "sha256:hollow");
    st->attempt = c->attempt;
    compute(h, c, t, st);
    st->labels = kv_copy(c->labels, c->nlabels);
    st->nlabels = c->nlabels;
}

static int h_status(struct runtime *rt, const char *id, struct rt_container_status *st,
                    struct ck_err *err)
{
    struct rt_hollow *h = hol(rt);
    pthread_mutex_lock(&h->mu);
    struct h_ctr *c = find_ctr(h, id);
    if (c)
        ctr_status(h, c, now(h), st);
    pthread_mutex_unlock(&h->mu);
    return c ? 0 : ck_err_set(err, CK_R_NOT_FOUND, "container %.80s not found", id);
}

static int h_list(struct runtime *rt, const struct rt_container_filter *f,
                  struct rt_container_status **out, size_t *n, struct ck_err *err)
{
    (void)err;
    struct rt_hollow *h = hol(rt);
    pthread_mutex_lock(&h->mu);
    size_t k = 0;
    for (struct h_ctr *c = h->ctrs; c; c = c->next)
        k++;
    *out = ck_calloc(k ? k : 1, sizeof(**out));
    *n = 0;
    int64_t t = now(h);
    for (struct h_ctr *c = h->ctrs; c; c = c->next) {
        if (f && f->sandbox_id && strcmp(f->sandbox_id, c->sandbox_id))
            continue;
        struct rt_container_status *st = &(*out)[*n];
        ctr_status(h, c, t, st);
        if (f && f->state >= 0 && (int)st->state != f->state) {
            rt_container_status_release(st);
            continue;
        }
        (*n)++;
    }
    pthread_mutex_unlock(&h->mu);
    return 0;
}

static int h_exec_sync(struct runtime *rt, const char *id, const char *const *argv, int timeout_s,
                       int *exit_code, char **out, size_t *out_len, char **errout,
                       size_t *errout_len, struct ck_err *err)
{
    (void)timeout_s;
    struct rt_container_status st;
    if (h_status(rt, id, &st, err) < 0)
        return -1;
    rt_container_status_release(&st);
    if (st.state != RT_CONTAINER_RUNNING)
        return ck_err_set(err, CK_R_CONFLICT, "container %s is not running", id);
    if (!argv || !argv[0])
        return ck_err_set(err, CK_R_INVALID, "exec: empty command");
    struct ck_buf o = CK_BUF_INIT(1 << 20);
    *exit_code = 0;
    if (!strcmp(argv[0], "echo")) {
        for (size_t i = 1; argv[i]; i++)
            ck_buf_appendf(&o, "%s%s", i > 1 ? " " : "", argv[i]);
        ck_buf_appendc(&o, '\n');
    } else if (!strcmp(argv[0], "exit") && argv[1]) {
        *exit_code = atoi(argv[1]) & 255;
    } else if (!strcmp(argv[0], "false")) {
        *exit_code = 1;
    }
    *out = ck_buf_detach(&o, out_len);
    *errout = ck_strdup("");
    *errout_len = 0;
    return 0;
}

static int h_exec(struct runtime *rt, const char *id, const char *const *argv, bool tty,
                  bool want_stdin, struct rt_exec_session *s, struct ck_err *err)
{
    (void)rt, (void)argv, (void)tty, (void)want_stdin, (void)s;
    return ck_err_set(err, CK_R_METHOD_NOT_ALLOWED,
                      "streaming exec is not supported by the hollow runtime (container %.80s)", id);
}

static int h_exec_wait(struct runtime *rt, struct rt_exec_session *s, int *exit_code,
                       struct ck_err *err)
{
    (void)rt, (void)s, (void)exit_code;
    return ck_err_set(err, CK_R_METHOD_NOT_ALLOWED, "no streaming exec in the hollow runtime");
}

static int h_reopen(struct runtime *rt, const char *id, struct ck_err *err)
{
    struct rt_container_status st;
    if (h_status(rt, id, &st, err) < 0)
        return -1;
    rt_container_status_release(&st);
    return 0;
}

static int h_stats(struct runtime *rt, const char *id, struct rt_stats *out, struct ck_err *err)
{
    struct rt_container_status st;
    if (h_status(rt, id, &st, err) < 0)
        return -1;
    rt_container_status_release(&st);
    memset(out, 0, sizeof(*out));
    out->timestamp_ns = now(hol(rt));
    if (st.state == RT_CONTAINER_RUNNING) { /* a small, steady fake workload */
        out->cpu_usage_ns = (uint64_t)(out->timestamp_ns - st.started_ns) / 100;
        out->memory_usage_bytes = 4u << 20;
        out->memory_working_set_bytes = 3u << 20;
        out->pids = 1;
    }
    return 0;
}

static int h_update(struct runtime *rt, const char *id, const struct rt_resources *r,
                    struct ck_err *err)
{
    (void)r;
    return h_reopen(rt, id, err);
}

static int h_attach(struct runtime *rt, const char *id, bool want_stdin,
                    struct rt_exec_session *s, struct ck_err *err)
{
    (void)rt;
    (void)want_stdin;
    (void)s;
    return ck_err_set(err, CK_R_INVALID, "attach to %s: hollow containers have no stdio", id);
}

static int h_port_forward(struct runtime *rt, const char *sandbox_id, int port, int *fd,
                          struct ck_err *err)
{
    (void)rt, (void)port, (void)fd;
    return ck_err_set(err, CK_R_METHOD_NOT_ALLOWED,
                      "port-forward is not supported by the hollow runtime (pod %.80s)", sandbox_id);
}

static void h_close(struct runtime *rt)
{
    struct rt_hollow *h = hol(rt);
    while (h->sbs)
        h_remove_sb(rt, h->sbs->id, NULL);
    while (h->ctrs) {
        struct h_ctr *c = h->ctrs;
        h->ctrs = c->next;
        free_ctr(c);
    }
    pthread_mutex_destroy(&h->mu);
    free(h);
}

const struct runtime_ops runtime_hollow_ops = {
    .name = "hollow",
    .version = 1,
    .run_pod_sandbox = h_run_sb,
    .stop_pod_sandbox = h_stop_sb,
    .remove_pod_sandbox = h_remove_sb,
    .pod_sandbox_status = h_sb_status,
    .list_pod_sandboxes = h_list_sb,
    .create_container = h_create,
    .start_container = h_start,
    .stop_container = h_stop,
    .remove_container = h_remove,
    .container_status = h_status,
    .list_containers = h_list,
    .exec_sync = h_exec_sync,
    .exec = h_exec,
    .exec_wait = h_exec_wait,
    .attach = h_attach,
    .reopen_container_log = h_reopen,
    .container_stats = h_stats,
    .update_container_resources = h_update,
    .close = h_close,
    .port_forward = h_port_forward,
};

struct runtime *rt_hollow_open(const struct rt_hollow_opts *o, struct ck_err *err)
{
    struct rt_hollow *h = ck_calloc(1, sizeof(*h));
    if (o)
        h->o = *o;
    const char *cidr = o && o->pod_cidr ? o->pod_cidr : "10.244.0.0/16";
    char net[48];
    snprintf(net, sizeof(net), "%.*s", (int)strcspn(cidr, "/"), cidr);
    const char *slash = strchr(cidr, '/');
    int plen = slash ? atoi(slash + 1) : -1;
    struct in_addr a;
    if (inet_pton(AF_INET, net, &a) != 1 || plen < 8 || plen > 30) {
        free(h);
        ck_err_set(err, CK_R_INVALID, "hollow runtime: pod_cidr %s is not an IPv4 /8../30", cidr);
        return NULL;
    }
    h->base.ops = &runtime_hollow_ops;
    pthread_mutex_init(&h->mu, NULL);
    h->net = ntohl(a.s_addr) & ~((1u << (32 - plen)) - 1);
    h->next_host = 2;
    h->host_max = (1u << (32 - plen)) - 2;
    return &h->base;
}
