/* SPDX-License-Identifier: Apache-2.0 */
/* GET /containerLogs/NS/POD/CONTAINER (upstream server.go getContainerLogs, kubelet_pods.go
 * validateContainerLogStatus and kuberuntime's ReadLogs): query follow, previous, timestamps,
 * tailLines, limitBytes, sinceSeconds, sinceTime. The container's CRI log file is read with
 * rt_log_read and sent chunked; with follow the response streams until the container exits or
 * the client goes. Hollow nodes have no logs: an empty body. */
#include "agent/kubeletsrv.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "runtime/crilog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/banned.h"

struct logreq {
    char ns[256], pod[256], container[256];
    bool follow, previous, timestamps;
    bool has_tail, has_limit, has_since_s, has_since_t;
    int64_t tail, limit, since_s, since_t_ns;
};

/* Go's strconv.ParseBool. */
static int parse_bool(const char *v, bool *out)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (!strcmp(v, t[i]))
            return *out = true, 0;
        if (!strcmp(v, f[i]))
            return *out = false, 0;
    }
    return -1;
}

static int parse_int(const char *v, int64_t *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || errno)
        return -1;
    *out = n;
    return 0;
}

/* The last value of a repeated parameter wins in neither Go nor here: the first is taken. */
static int parse_query(const char *q, struct logreq *lr)
{
    char v[256];
    if (ag_http_query(q, "follow", v, sizeof(v)) && parse_bool(v, &lr->follow) < 0)
        return -1;
    if (ag_http_query(q, "previous", v, sizeof(v)) && parse_bool(v, &lr->previous) < 0)
        return -1;
    if (ag_http_query(q, "timestamps", v, sizeof(v)) && parse_bool(v, &lr->timestamps) < 0)
        return -1;
    if ((lr->has_tail = ag_http_query(q, "tailLines", v, sizeof(v))) && parse_int(v, &lr->tail) < 0)
        return -1;
    if ((lr->has_limit = ag_http_query(q, "limitBytes", v, sizeof(v))) &&
        parse_int(v, &lr->limit) < 0)
        return -1;
    if ((lr->has_since_s = ag_http_query(q, "sinceSeconds", v, sizeof(v))) &&
        parse_int(v, &lr->since_s) < 0)
        return -1;
    if ((lr->has_since_t = ag_http_query(q, "sinceTime", v, sizeof(v))) &&
        rt_log_parse_time(v, strlen(v), &lr->since_t_ns) < 0)
        return -1;
    return 0;
}

/* upstream validation.ValidatePodLogOptions; "" when valid. */
static void validate(const struct logreq *lr, char *out, size_t cap)
{
    char e[4][160];
    int n = 0;
    if (lr->has_tail && lr->tail < 0)
        snprintf(e[n++], sizeof(e[0]),
                 "tailLines: Invalid value: %lld: must be greater than or equal to 0",
                 (long long)lr->tail);
    if (lr->has_limit && lr->limit < 1)
        snprintf(e[n++], sizeof(e[0]), "limitBytes: Invalid value: %lld: must be greater than 0",
                 (long long)lr->limit);
    if (lr->has_since_s && lr->has_since_t)
        snprintf(e[n++], sizeof(e[0]),
                 "<nil>: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified");
    else if (lr->has_since_s && lr->since_s < 1)
        snprintf(e[n++], sizeof(e[0]), "sinceSeconds: Invalid value: %lld: must be greater than 0",
                 (long long)lr->since_s);
    out[0] = 0;
    if (n == 1)
        snprintf(out, cap, "%s", e[0]);
    else if (n > 1) {
        size_t o = (size_t)snprintf(out, cap, "[");
        for (int i = 0; i < n && o < cap; i++)
            o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? ", " : "", e[i]);
        if (o < cap)
            snprintf(out + o, cap - o, "]");
    }
}

/* /containerLogs/NS/POD/CONTAINER; false with a message when a part is missing. */
static bool parse_path(const char *path, struct logreq *lr, const char **missing)
{
    const char *p = path + strlen("/containerLogs/");
    char *dst[3] = {lr->ns, lr->pod, lr->container};
    static const char *const what[3] = {"podNamespace", "podID", "containerName"};
    for (int i = 0; i < 3; i++) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (!len || !ag_http_unescape(p, len, dst[i], 256)) {
            *missing = what[i];
            return false;
        }
        p += len;
        if (*p == '/')
            p++;
    }
    return true;
}

static bool spec_has(const json_t *pod, const char *name)
{
    static const char *const lists[] = {"spec.containers", "spec.initContainers",
                                        "spec.ephemeralContainers"};
    for (size_t l = 0; l < 3; l++) {
        const json_t *a = k8s_jpath(pod, lists[l]);
        for (size_t i = 0; i < k8s_jlen(a); i++)
            if (!strcmp(k8s_jstr(json_array_get(a, i), "name"), name))
                return true;
    }
    return false;
}

static const json_t *status_of(const json_t *pod, const char *name)
{
    static const char *const lists[] = {"status.containerStatuses", "status.initContainerStatuses",
                                        "status.ephemeralContainerStatuses"};
    for (size_t l = 0; l < 3; l++) {
        const json_t *a = k8s_jpath(pod, lists[l]);
        for (size_t i = 0; i < k8s_jlen(a); i++)
            if (!strcmp(k8s_jstr(json_array_get(a, i), "name"), name))
                return json_array_get(a, i);
    }
    return NULL;
}

/* upstream validateContainerLogStatus: the runtime id to read, or -1 with the message. */
static int container_id(const json_t *pod, const struct logreq *lr, char *id, size_t cap, char *msg,
                        size_t mcap)
{
    const char *c = lr->container, *pn = k8s_obj_name(pod);
    const json_t *cs = status_of(pod, c);
    if (!cs) {
        snprintf(msg, mcap, "container \"%s\" in pod \"%s\" is not available", c, pn);
        return -1;
    }
    const json_t *last = k8s_jpath(cs, "lastState.terminated");
    const json_t *waiting = k8s_jpath(cs, "state.waiting"),
                 *running = k8s_jpath(cs, "state.running");
    const json_t *term = k8s_jpath(cs, "state.terminated");
    const char *cid = NULL;
    if (lr->previous) {
        if (!last || !*k8s_jstr(last, "containerID")) {
            snprintf(msg, mcap, "previous terminated container \"%s\" in pod \"%s\" not found", c,
                     pn);
            return -1;
        }
        cid = k8s_jstr(last, "containerID");
    } else if (running) {
        cid = k8s_jstr(cs, "containerID");
    } else if (term) {
        cid = *k8s_jstr(term, "containerID") ? k8s_jstr(term, "containerID") : NULL;
        if (!cid && last && *k8s_jstr(last, "containerID"))
            cid = k8s_jstr(last, "containerID");
        if (!cid) {
            snprintf(msg, mcap, "container \"%s\" in pod \"%s\" is terminated", c, pn);
            return -1;
        }
    } else if (last && *k8s_jstr(last, "containerID")) {
        cid = k8s_jstr(last, "containerID");
    } else if (waiting) {
        const char *reason = k8s_jstr(waiting, "reason");
        if (!strcmp(reason, "ErrImagePull"))
            snprintf(msg, mcap,
                     "container \"%s\" in pod \"%s\" is waiting to start: image can't be pulled", c,
                     pn);
        else if (!strcmp(reason, "ImagePullBackOff"))
            snprintf(msg, mcap,
                     "container \"%s\" in pod \"%s\" is waiting to start: trying and failing to "
                     "pull image",
                     c, pn);
        else
            snprintf(msg, mcap, "container \"%s\" in pod \"%s\" is waiting to start: %s", c, pn,
                     reason);
        return -1;
    } else {
        snprintf(msg, mcap, "container \"%s\" in pod \"%s\" is waiting to start - no logs yet", c,
                 pn);
        return -1;
    }
    const char *sep = strstr(cid, "://");
    snprintf(id, cap, "%s", sep ? sep + 3 : cid);
    return 0;
}

struct follow {
    struct ag_http_conn *c;
    struct runtime *rt;
    const char *id;
    int64_t next_check_ns;
    bool running;
};

static int sink(void *arg, const char *data, size_t len)
{
    struct follow *f = arg;
    char head[24];
    int n = snprintf(head, sizeof(head), "%zx\r\n", len);
    if (ag_http_write(f->c, head, (size_t)n) < 0 || ag_http_write(f->c, data, len) < 0 ||
        ag_http_write(f->c, "\r\n", 2) < 0)
        return -1;
    return 0;
}

/* While idle: the client is still there and the container still runs (checked every 0.5 s). */
static bool alive(void *arg)
{
    struct follow *f = arg;
    if (ag_http_gone(f->c))
        return false;
    int64_t now = ck_mono_ns();
    if (now >= f->next_check_ns) {
        struct rt_container_status st;
        struct ck_err err = CK_ERR_INIT;
        bool ok = f->rt->ops->container_status(f->rt, f->id, &st, &err) == 0;
        f->running = ok && st.state == RT_CONTAINER_RUNNING;
        if (ok)
            rt_container_status_release(&st);
        f->next_check_ns = now + 500 * 1000000LL;
    }
    return f->running;
}

void ag_logs_serve(struct agent *ag, struct ag_http_conn *c, const struct ag_http_req *r)
{
    struct logreq lr = {0};
    const char *missing = NULL;
    char msg[1024];

    if (!parse_path(r->path, &lr, &missing)) {
        ag_http_error(c, 400, "{\"message\": \"Missing %s.\"}", missing);
        return;
    }
    if (parse_query(r->query, &lr) < 0) {
        ag_http_error(c, 400, "Unable to decode query.");
        return;
    }
    validate(&lr, msg, sizeof(msg));
    if (msg[0]) {
        ag_http_error(c, 422, "invalid request: %s", msg);
        return;
    }
    json_t *pod = NULL;
    struct runtime *rt = NULL;
    pthread_mutex_lock(&ag->mu);
    size_t it = 0;
    const char *k;
    void *v;
    while (ck_strmap_next(&ag->pods, &it, &k, &v)) {
        struct ag_pod *p = v;
        if (p->pod && !strcmp(p->ns, lr.ns) && !strcmp(p->name, lr.pod) && (!pod || !p->api_gone)) {
            json_decref(pod);
            pod = json_deep_copy(p->pod);
            rt = p->node->rt;
        }
    }
    pthread_mutex_unlock(&ag->mu);
    if (!pod) {
        ag_http_error(c, 404, "pod \"%s\" does not exist", lr.pod);
        return;
    }
    if (!spec_has(pod, lr.container)) {
        ag_http_error(c, 404, "container \"%s\" not found in pod \"%s\"", lr.container, lr.pod);
        json_decref(pod);
        return;
    }
    static const char ok_head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                  "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    if (ag->hollow) { /* simulated containers write nothing */
        json_decref(pod);
        if (ag_http_write(c, ok_head, sizeof(ok_head) - 1) == 0)
            ag_http_write(c, "0\r\n\r\n", 5);
        return;
    }
    char id[RT_ID_MAX + 64];
    int rc = container_id(pod, &lr, id, sizeof(id), msg, sizeof(msg));
    json_decref(pod);
    if (rc < 0) {
        ag_http_error(c, 400, "%s", msg);
        return;
    }
    struct rt_container_status st;
    struct ck_err err = CK_ERR_INIT;
    if (rt->ops->container_status(rt, id, &st, &err) < 0) {
        ag_http_error(c, 400, "failed to get container status \"%s\": %s", id, err.msg);
        return;
    }
    char path[sizeof(st.log_path)];
    snprintf(path, sizeof(path), "%s", st.log_path);
    bool running = st.state == RT_CONTAINER_RUNNING;
    rt_container_status_release(&st);
    struct rt_log_read_opts o = {.tail_lines = lr.has_tail ? lr.tail : -1,
                                 .limit_bytes = lr.has_limit ? lr.limit : 0,
                                 .timestamps = lr.timestamps,
                                 .follow = lr.follow && running};
    if (lr.has_since_t)
        o.since_ns = lr.since_t_ns;
    else if (lr.has_since_s)
        o.since_ns = ck_real_ns() - lr.since_s * 1000000000LL;
    if (ag_http_write(c, ok_head, sizeof(ok_head) - 1) < 0)
        return;
    struct follow f = {.c = c, .rt = rt, .id = id, .running = true};
    if (rt_log_read(path, &o, sink, alive, &f, &err) < 0)
        ck_v(2, "containerLogs %s/%s/%s: %s", lr.ns, lr.pod, lr.container, err.msg);
    ag_http_write(c, "0\r\n\r\n", 5);
}
