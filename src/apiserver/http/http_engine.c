/* SPDX-License-Identifier: Apache-2.0 */
/* http_api_engine: the front end's engine seam bound to the real API engine (api.h). */
#include "apiserver/http/http.h"

#include "lib/banned.h"

static enum api_result engine_handle(void *eng, const struct api_request *rq,
                                     struct api_response *rs, struct api_watch **w)
{
    return api_handle(eng, rq, rs, w);
}

static int engine_metrics(void *eng, struct ck_buf *out)
{
    return api_metrics(eng, out);
}

static int engine_store_check(void *eng, char *why, size_t n)
{
    return api_store_check(eng, why, n);
}

static bool engine_authorize(void *eng, const struct rbac_attrs *a, char *reason, size_t n)
{
    return api_authorize(eng, a, reason, n);
}

static int engine_authn_token(void *eng, const char *tok, size_t len, struct authn_user *u)
{
    return api_authn_token(eng, tok, len, u);
}

static int engine_flowcontrol(void *eng, const struct rbac_attrs *a, struct api_fc_class *out)
{
    return api_flowcontrol_classify(eng, a, out); /* apf */
}

const struct http_api_ops http_api_engine = {
    .handle = engine_handle,
    .watch_set_notify = api_watch_set_notify,
    .watch_drain = api_watch_drain,
    .watch_tick = api_watch_tick,
    .watch_close = api_watch_close,
    .metrics = engine_metrics,
    .store_check = engine_store_check,
    .write_status = api_write_status,
    .authorize = engine_authorize,
    .authn_token = engine_authn_token,
    .flowcontrol = engine_flowcontrol, /* apf */
};
