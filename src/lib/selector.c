/* SPDX-License-Identifier: Apache-2.0 */
/* Label and field selectors: parser (labels.Parse / fields.ParseSelector) and matcher.
 * Placeholder: full implementation in progress. */
#include "lib/selector.h"
#include "lib/buf.h"

#include <stdlib.h>
#include <string.h>

struct sel {
    enum sel_kind kind;
};

int sel_parse(enum sel_kind kind, const char *text, struct sel **out, struct ck_err *err)
{
    if (text && *text)
        return ck_err_set(err, CK_R_BAD_REQUEST, "selectors not implemented yet");
    struct sel *s = ck_calloc(1, sizeof(*s));
    s->kind = kind;
    *out = s;
    return 0;
}

void sel_free(struct sel *s)
{
    free(s);
}

bool sel_matches(const struct sel *s, sel_lookup_fn lookup, void *ctx)
{
    (void)s, (void)lookup, (void)ctx;
    return true;
}

bool sel_empty(const struct sel *s)
{
    (void)s;
    return true;
}

size_t sel_nreqs(const struct sel *s)
{
    (void)s;
    return 0;
}

const char *sel_req_key(const struct sel *s, size_t i)
{
    (void)s, (void)i;
    return NULL;
}

enum sel_op sel_req_op(const struct sel *s, size_t i)
{
    (void)s, (void)i;
    return SEL_OP_EQ;
}

size_t sel_req_nvalues(const struct sel *s, size_t i)
{
    (void)s, (void)i;
    return 0;
}

const char *sel_req_value(const struct sel *s, size_t i, size_t j)
{
    (void)s, (void)i, (void)j;
    return NULL;
}

const char *sel_required_value(const struct sel *s, const char *key)
{
    (void)s, (void)key;
    return NULL;
}

char *sel_to_string(const struct sel *s)
{
    (void)s;
    return ck_strdup("");
}
