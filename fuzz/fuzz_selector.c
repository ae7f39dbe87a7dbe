/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: label and field selector parsing, matching and canonical strings.
 * First byte picks the kind (bit 0: field; bit 1: the rest is a JSON metav1.LabelSelector);
 * the rest is the selector text. Checks that the canonical string re-parses to itself
 * (labels) or reaches a fixed point (fields). */
#include "lib/selector.h"

#include <jansson.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *lookup(void *ctx, const char *key, size_t *vlen)
{
    (void)ctx;
    static const char *const kv[] = {"app", "web", "n", "5", "e", "", "a/b", "x", NULL};
    for (size_t i = 0; kv[i]; i += 2)
        if (strcmp(kv[i], key) == 0) {
            *vlen = strlen(kv[i + 1]);
            return kv[i + 1];
        }
    return NULL;
}

static char *canon(enum sel_kind kind, const char *text)
{
    struct sel *s = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (sel_parse(kind, text, &s, &err) < 0)
        return NULL;
    char *str = sel_to_string(s);
    sel_free(s);
    return str;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    if (data[0] & 2) {
        json_error_t je;
        json_t *ls = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, &je);
        if (!ls)
            return 0;
        struct sel *s = NULL;
        struct ck_err err = CK_ERR_INIT;
        if (sel_from_label_selector(ls, &s, &err) == 0) {
            (void)sel_matches(s, sel_lookup_json, json_object_get(ls, "matchLabels"));
            char *c1 = sel_to_string(s);
            free(c1);
            sel_free(s);
        }
        if (sel_from_map(ls, &s, &err) == 0)
            sel_free(s);
        json_decref(ls);
        return 0;
    }
    enum sel_kind kind = data[0] & 1 ? SEL_FIELD : SEL_LABEL;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    struct sel *s = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (sel_parse(kind, text, &s, &err) == 0) {
        (void)sel_matches(s, lookup, NULL);
        for (size_t i = 0; i < sel_nreqs(s); i++) {
            (void)sel_req_key(s, i);
            (void)sel_req_op(s, i);
            for (size_t j = 0; j < sel_req_nvalues(s, i); j++)
                (void)sel_req_value(s, i, j);
            (void)sel_required_value(s, sel_req_key(s, i));
        }
        char *c1 = sel_to_string(s);
        char *c2 = canon(kind, c1);
        if (!c2)
            abort(); /* the canonical form must parse */
        if (kind == SEL_LABEL && strcmp(c1, c2) != 0)
            abort();
        if (kind == SEL_FIELD) {
            char *c3 = canon(kind, c2);
            if (!c3 || strcmp(c2, c3) != 0)
                abort();
            free(c3);
        }
        free(c1);
        free(c2);
        sel_free(s);
    } else if (err.reason != CK_R_BAD_REQUEST || !err.msg[0]) {
        abort();
    }
    free(text);
    return 0;
}
