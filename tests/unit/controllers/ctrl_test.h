/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the tests of src/controllers: N() and J(). Include after cmocka.h. */
#ifndef CK_TESTS_CTRL_TEST_H
#define CK_TESTS_CTRL_TEST_H

#include <jansson.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static inline json_t *J(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad JSON in test: %s (%s)", s, e.text);
    return v;
}

#endif
