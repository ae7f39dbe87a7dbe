/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the SPDY/3.1 session (frame parser, stream table, header decompression, flow
 * control): the input is fed to a server session in chunks whose sizes come from the first
 * byte; the event callback replies to streams and writes data so output paths run too. */
#include "stream/spdy.h"

#include <stdint.h>
#include <stdlib.h>

#include "lib/banned.h"

static void on_ev(void *arg, struct spdy_session *s, const struct spdy_event *ev)
{
    (void)arg;
    struct ck_err err = CK_ERR_INIT;
    if (ev->type == SPDY_SYN_STREAM) {
        struct spdy_hdr h = {(char *)"streamtype", (char *)"stdout", 6};
        spdy_send_syn_reply(s, ev->stream_id, &h, 1, 0, &err);
        spdy_send_data(s, ev->stream_id, "x", 1, false);
    } else if (ev->type == SPDY_DATA && ev->len) {
        spdy_send_data(s, ev->stream_id, ev->data, ev->len, ev->flags & SPDY_FLAG_FIN);
        spdy_stream_consumed(s, ev->stream_id, ev->len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)(data[0] & 0x3f) + 1;
    struct spdy_session_opts o = {.server = true,
                                  .max_streams = 8,
                                  .max_frame = 4096,
                                  .max_out = 8192,
                                  .flow_control = data[0] & 0x40};
    struct spdy_session *s = spdy_session_new(&o, on_ev, NULL);
    struct ck_err err = CK_ERR_INIT;
    for (size_t off = 1; off < size; off += step) {
        size_t n = size - off < step ? size - off : step;
        if (spdy_session_feed(s, data + off, n, &err) < 0)
            break;
        if (data[0] & 0x80) {
            size_t pend;
            spdy_out_peek(s, &pend);
            spdy_out_consume(s, pend);
        }
    }
    spdy_session_free(s);
    return 0;
}
