/* SPDX-License-Identifier: Apache-2.0 */
/* Lifecycle hooks (see hooks.h). */
#include "agent/hooks.h"
#include "agent/prober.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

#define SEC 1000000000LL

/* format.Pod: name_namespace(uid) */
static void fmt_pod(const json_t *pod, char *out, size_t n)
{
    snprintf(out, n, "%s_%s(%s)", k8s_jpath_str(pod, "metadata.name"),
             k8s_jpath_str(pod, "metadata.namespace"), k8s_jpath_str(pod, "metadata.uid"));
}

/* Sleeps s seconds, at most timeout_s. */
static void sleep_bounded(long long s, int timeout_s)
{
    int64_t ns = (s < timeout_s ? s : timeout_s) * SEC;
    if (ns <= 0)
        return;
    struct timespec ts = {(time_t)(ns / SEC), (long)(ns % SEC)};
    while (nanosleep(&ts, &ts) < 0)
        ;
}

/* An exec handler: RunInContainer (stdout then stderr) with the remote runtime's error for a
 * non-zero exit ("command 'a b' exited with 1: <stderr>"). */
static int run_exec(struct runtime *rt, const char *cid, const struct ag_probe_spec *s,
                    int timeout_s, const char *name, const char *pf, char *msg, size_t msgn)
{
    struct ck_buf cmd = CK_BUF_INIT(4096), q = CK_BUF_INIT(1 << 16);
    for (size_t i = 0; s->command && s->command[i]; i++)
        ck_buf_appendf(&cmd, "%s%s", i ? " " : "", s->command[i]);
    const char *cs = cmd.data ? cmd.data : "";
    int code = 0, rc = 0;
    char *o = NULL, *e = NULL, errs[1200];
    size_t ol = 0, el = 0;
    struct ck_err err = CK_ERR_INIT;
    if (!s->command || !s->command[0]) {
        snprintf(errs, sizeof(errs), "empty command");
        rc = -1;
    } else if (rt->ops->exec_sync(rt, cid, (const char *const *)s->command, timeout_s, &code, &o,
                                  &ol, &e, &el, &err) < 0) {
        snprintf(errs, sizeof(errs), "%s", err.msg);
        rc = -1;
    } else if (code != 0) {
        snprintf(errs, sizeof(errs), "command '%s' exited with %d: %.900s", cs, code, e ? e : "");
        rc = -1;
    }
    if (rc < 0) {
        struct ck_buf out = CK_BUF_INIT(1 << 16);
        ck_buf_appendf(&out, "%s%s", o ? o : "", e ? e : "");
        ck_buf_append_json_str(&q, out.data ? out.data : "", out.len);
        ck_buf_release(&out);
        snprintf(msg, msgn,
                 "Exec lifecycle hook ([%s]) for Container \"%s\" in Pod \"%s\" failed - error: "
                 "%s, message: %s",
                 cs, name, pf, errs, q.data ? q.data : "\"\"");
    }
    ck_err_clear(&err);
    free(o);
    free(e);
    ck_buf_release(&cmd);
    ck_buf_release(&q);
    return rc;
}

int ag_hook_run(struct runtime *rt, const char *cid, const json_t *pod, const json_t *c,
                const json_t *h, const char *pod_ip, int timeout_s, char *msg, size_t msgn)
{
    msg[0] = 0;
    char pf[600];
    fmt_pod(pod, pf, sizeof(pf));
    const char *name = k8s_jstr(c, "name");
    if (json_is_object(json_object_get(h, "sleep"))) {
        sleep_bounded(json_integer_value(k8s_jpath(h, "sleep.seconds")), timeout_s);
        return 0;
    }
    struct ag_probe_spec s;
    ag_probe_spec_parse(h, c, &s);
    char out[1024];
    int rc = 0;
    if (s.kind == AG_PH_EXEC) {
        rc = run_exec(rt, cid, &s, timeout_s, name, pf, msg, msgn);
    } else if (s.kind == AG_PH_HTTP) {
        int r = ag_probe_run(rt, cid, &s, pod_ip, timeout_s, true, out, sizeof(out));
        if (r != AG_PR_SUCCESS) {
            snprintf(msg, msgn,
                     "HTTP lifecycle hook (%s) for Container \"%s\" in Pod \"%s\" failed - "
                     "error: %s",
                     k8s_jpath_str(h, "httpGet.path"), name, pf, out);
            rc = -1;
        }
    } else if (s.kind == AG_PH_TCP) {
        /* deprecated and never run by upstream's handler runner */
        snprintf(msg, msgn, "invalid handler: tcpSocket is not supported for lifecycle hooks");
        rc = -1;
    } else {
        snprintf(msg, msgn, "invalid handler: %s", "no exec, httpGet or sleep");
        rc = -1;
    }
    ag_probe_spec_release(&s);
    return rc;
}
