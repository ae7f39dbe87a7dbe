/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: API Priority and Fairness. A JSON input {"rules": FlowSchema spec.rules,
 * "user", "groups", "verb", "group", "resource", "subresource", "ns", "path", "ops": [...]}:
 * the rules are matched against the request (endpoints/flowcontrol.c, any shape or type), and
 * "ops" (numbers) drive the fair-queuing core (http/http_apf.c) through admissions of varying
 * widths and flows, dispatches, completions, resets and expiries, checking its invariants:
 * seats never negative nor (but for one oversize request on an idle level) over the limit,
 * the waiting count equal to what the queues hold, every admitted request dispatched once. */
#include "apiserver/authz/rbac.h"
#include "apiserver/endpoints/flowcontrol.h"
#include "apiserver/http/http_apf.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXI 256

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void drive_core(json_t *ops)
{
    struct apf_level l;
    struct apf_item items[MAXI], *exec[MAXI];
    int nitems = 0, nexec = 0, waiting = 0;
    size_t i;
    json_t *v;

    apf_level_init(&l, "fuzz", 1 + (int)(json_array_size(ops) % 7),
                   1 + (int)(json_array_size(ops) % 5), 3, 1 + (int)(json_array_size(ops) % 4),
                   false);
    json_array_foreach(ops, i, v)
    {
        uint64_t x = (uint64_t)json_integer_value(v);
        unsigned op = (unsigned)(x & 7);
        if (op <= 2 && nitems < MAXI) { /* admit */
            struct apf_item *it = &items[nitems++];
            memset(it, 0, sizeof(*it));
            it->width = 1 + (int)((x >> 3) % 12);
            enum apf_verdict r = apf_level_admit(&l, it, x >> 7, (int64_t)i);
            if (r == APF_RUN)
                exec[nexec++] = it;
            else if (r == APF_QUEUED)
                waiting++;
        } else if (op == 3) { /* dispatch */
            struct apf_item *it = apf_level_next(&l);
            if (it) {
                waiting--;
                if (!it->gone)
                    exec[nexec++] = it;
            }
        } else if (op == 4 && nexec) { /* one finishes */
            int k = (int)((x >> 3) % nexec);
            apf_level_done(&l, exec[k]);
            exec[k] = exec[--nexec];
        } else if (op == 5 && nitems) { /* a reset: marks one (queued or not) gone */
            struct apf_item *it = &items[(x >> 3) % nitems];
            if (it->queue >= 0 && it->next != it)
                it->gone = true;
        } else if (op == 6) {
            if (apf_level_expire(&l, (int64_t)(x >> 4)))
                waiting--;
        }
        if (l.seats_in_use < 0 || l.waiting != waiting || l.waiting < 0)
            abort();
        int used = 0;
        for (int k = 0; k < nexec; k++)
            used += exec[k]->width;
        if (used != l.seats_in_use)
            abort();
        if (l.seats_in_use > l.cl && nexec > 1) {
            /* over the limit only through one oversize request admitted while idle */
            int big = 0;
            for (int k = 0; k < nexec; k++)
                big += exec[k]->width > l.cl;
            if (!big)
                abort();
        }
    }
    apf_level_release(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return 0;
    }
    const char *groups[9] = {0};
    size_t i, n = 0;
    json_t *g;
    json_array_foreach(json_object_get(doc, "groups"), i, g)
    {
        if (n < 8 && json_is_string(g))
            groups[n++] = json_string_value(g);
    }
    struct rbac_attrs a = {.user = str(doc, "user"),
                           .groups = groups,
                           .verb = str(doc, "verb") ? str(doc, "verb") : "get",
                           .resource_request = str(doc, "resource") != NULL,
                           .api_group = str(doc, "group"),
                           .resource = str(doc, "resource"),
                           .subresource = str(doc, "subresource"),
                           .ns = str(doc, "ns"),
                           .name = str(doc, "name"),
                           .path = str(doc, "path")};
    (void)eng_fc_rules_match(json_object_get(doc, "rules"), &a);
    json_t *ops = json_object_get(doc, "ops");
    if (json_is_array(ops) && json_array_size(ops) <= 4096)
        drive_core(ops);
    int hand[APF_MAX_HAND];
    json_int_t h = json_integer_value(json_object_get(doc, "hash"));
    apf_deal((uint64_t)h, 1 + (int)((uint64_t)h % 200), 1 + (int)((uint64_t)h % 15), hand);
    (void)apf_seats(h, (int)((uint64_t)h % 1000));
    json_decref(doc);
    return 0;
}
