/* SPDX-License-Identifier: Apache-2.0 */
/* Label and field selectors (k8s.io/apimachinery labels.Parse / fields.ParseSelector).
 * A parsed selector is immutable and may be shared across threads.
 *
 * Label grammar: comma-separated requirements: `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
 * `k notin (a,b)`, `k`, `!k`, `k>5`, `k<5`; keys are qualified names (optional DNS prefix/),
 * values are label values. Field grammar: `f=v`, `f==v`, `f!=v`, with `\` escapes. */
#ifndef CK_SELECTOR_H
#define CK_SELECTOR_H

#include "lib/err.h"

#include <stdbool.h>
#include <stddef.h>

struct sel;

enum sel_kind { SEL_LABEL, SEL_FIELD };

enum sel_op {
    SEL_OP_EQ,  /* = or == */
    SEL_OP_NEQ, /* != */
    SEL_OP_IN,
    SEL_OP_NOTIN,
    SEL_OP_EXISTS,
    SEL_OP_NOTEXISTS,
    SEL_OP_GT,
    SEL_OP_LT,
};

/* Parses text (NULL or "" = match everything). On error returns -1 with CK_R_BAD_REQUEST and
 * a message shaped like upstream's (e.g. `unable to parse requirement: ...`). */
int sel_parse(enum sel_kind kind, const char *text, struct sel **out, struct ck_err *err);
void sel_free(struct sel *s);

/* Looks a key up in the object being matched: returns its value (vlen set), or NULL if the
 * object has no such key. */
typedef const char *(*sel_lookup_fn)(void *ctx, const char *key, size_t *vlen);
/* True when every requirement holds. Labels: `!=`/`notin` hold when the key is absent,
 * `>`/`<` need an integer value. Fields: an absent field reads as "" (so `spec.nodeName=`
 * matches objects without it). Allocates nothing; NULL s matches everything. */
bool sel_matches(const struct sel *s, sel_lookup_fn lookup, void *ctx);

bool sel_empty(const struct sel *s);
size_t sel_nreqs(const struct sel *s);
const char *sel_req_key(const struct sel *s, size_t i);
enum sel_op sel_req_op(const struct sel *s, size_t i);
size_t sel_req_nvalues(const struct sel *s, size_t i);
const char *sel_req_value(const struct sel *s, size_t i, size_t j);
/* If the selector requires key to equal one value (`k=v`, `k==v`, or for labels `k in (v)`),
 * returns that value, else NULL. Used to pick an index. Borrowed: valid while s lives. */
const char *sel_required_value(const struct sel *s, const char *key);
/* Canonical text like upstream String(): labels sorted by key (stable), set values sorted,
 * `==` kept; fields in sorted term order, `==` written `=`, values re-escaped. Caller frees. */
char *sel_to_string(const struct sel *s);

/* metav1.LabelSelectorAsSelector: {"matchLabels":{k:v},"matchExpressions":[{"key","operator":
 * In|NotIn|Exists|DoesNotExist,"values"}]} as a label selector. NULL or JSON null gives a
 * selector that matches nothing (labels.Nothing(): sel_matches false, sel_empty false, string
 * ""); {} or empty lists give one that matches everything. Requirements are validated as
 * labels.NewRequirement does (e.g. `values: Invalid value: []string{}: for 'in', 'notin'
 * operators, values set can't be empty`, `"Foo" is not a valid label selector operator`);
 * errors are CK_R_BAD_REQUEST. */
struct json_t;
int sel_from_label_selector(const struct json_t *ls, struct sel **out, struct ck_err *err);
/* labels.SelectorFromValidatedSet: a map of label -> value (e.g. a ReplicationController's or
 * Service's spec.selector) as an equality selector, without validation. NULL, null or {}
 * match everything. Error (CK_R_BAD_REQUEST) only for a non-object or a non-string value. */
int sel_from_map(const struct json_t *map, struct sel **out, struct ck_err *err);
/* A sel_lookup_fn over a JSON object of string values (ctx = metadata.labels, may be NULL):
 * sel_matches(s, sel_lookup_json, labels). Non-string members count as absent. */
const char *sel_lookup_json(void *ctx, const char *key, size_t *vlen);

/* Label rules shared with object validation (upstream IsQualifiedName / IsValidLabelValue).
 * Return true when valid; otherwise false with upstream's reasons ("; "-joined, e.g.
 * "name part must be no more than 63 characters") copied into why (may be NULL). */
bool sel_valid_label_key(const char *key, size_t n, char *why, size_t whylen);
bool sel_valid_label_value(const char *val, size_t n, char *why, size_t whylen);

#endif
