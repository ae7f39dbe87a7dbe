/* SPDX-License-Identifier: Apache-2.0 */
/* Internals of server-side apply, shared by apply_set.c (field paths and sets, FieldsV1),
 * apply_typed.c (typed walks over JSON values: field sets, comparison, merge, removal) and
 * apply.c (managers, the apply/update algorithms, conflicts, managedFields encoding).
 * The model is sigs.k8s.io/structured-merge-diff v4: a set of paths is a tree whose nodes are
 * path elements (f: field, k: list-map key, v: set value, i: index); a node is a "member" when
 * the path itself is in the set, and may have children. */
#ifndef CK_APISERVER_APPLY_INT_H
#define CK_APISERVER_APPLY_INT_H

#include "apiserver/registry/schema.h"
#include "lib/buf.h"
#include "lib/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Kinds in the total order upstream sorts path elements by. */
enum fp_kind { FP_FIELD = 0, FP_KEY, FP_VALUE, FP_INDEX };

struct fp_pe {
    enum fp_kind kind;
    char *ser; /* "f:name", "k:{...}", "v:...", "i:3" (owned); FP_FIELD's name is ser + 2 */
    json_t *v; /* FP_KEY: object of the key fields; FP_VALUE: the value (owned ref) */
    long index;
};

struct fp_set;
struct fp_node {
    struct fp_pe pe;
    bool member;
    struct fp_set *child; /* NULL or non-empty */
};
struct fp_set {
    size_t n, cap;
    struct fp_node *v; /* sorted by pe */
};

/* Path elements. fp_pe_field/fp_pe_value copy their input; fp_pe_key takes the object. */
void fp_pe_field(struct fp_pe *pe, const char *name);
void fp_pe_key(struct fp_pe *pe, json_t *fields);
void fp_pe_value(struct fp_pe *pe, json_t *v);
void fp_pe_copy(struct fp_pe *dst, const struct fp_pe *src);
void fp_pe_release(struct fp_pe *pe);
int fp_pe_cmp(const struct fp_pe *a, const struct fp_pe *b);
/* Upstream's value ordering: numbers < strings < bools < lists < maps < null. */
int fp_value_cmp(const json_t *a, const json_t *b);
/* An object's keys in byte order (malloc'd array of borrowed names; *n set). */
const char **fp_sorted_keys(const json_t *o, size_t *n);
/* Parses "f:x", "k:{...}", "v:...", "i:N"; -1 when malformed. */
int fp_pe_parse(struct fp_pe *pe, const char *s);
/* Appends v as Go's encoding/json writes it (compact, sorted keys, <>& escaped). */
void fp_go_json(struct ck_buf *b, const json_t *v);
/* Appends the upstream string form of a path: .spec.containers[name="c"].image */
void fp_path_string(struct ck_buf *b, const struct fp_pe *path, size_t n);

struct fp_set *fp_set_new(void);
void fp_set_free(struct fp_set *s);
struct fp_set *fp_set_copy(const struct fp_set *s);
bool fp_set_empty(const struct fp_set *s);
void fp_set_insert(struct fp_set *s, const struct fp_pe *path, size_t n);
bool fp_set_has(const struct fp_set *s, const struct fp_pe *path, size_t n);
/* The children of pe (borrowed) or NULL. */
const struct fp_set *fp_set_prefix(const struct fp_set *s, const struct fp_pe *pe);
/* New sets. diff removes members only (Set.Difference); rdiff also drops every path under a
 * member of b (Set.RecursiveDifference). */
struct fp_set *fp_set_union(const struct fp_set *a, const struct fp_set *b);
struct fp_set *fp_set_inter(const struct fp_set *a, const struct fp_set *b);
struct fp_set *fp_set_diff(const struct fp_set *a, const struct fp_set *b);
struct fp_set *fp_set_rdiff(const struct fp_set *a, const struct fp_set *b);
/* Replaces *a with op(*a, b). */
void fp_set_diff_in(struct fp_set **a, const struct fp_set *b);
void fp_set_union_in(struct fp_set **a, const struct fp_set *b);
/* Calls fn for every member path, in upstream's Iterate order (a node's members, then its
 * children). */
void fp_set_iterate(const struct fp_set *s, void (*fn)(const struct fp_pe *, size_t, void *),
                    void *ud);
/* FieldsV1 encoding, as upstream serialises it ("." for a member that has children). */
json_t *fp_set_to_json(const struct fp_set *s);
/* Parses FieldsV1; NULL when malformed. */
struct fp_set *fp_set_from_json(const json_t *j);

/* ---- typed walks (apply_typed.c) ---- */

/* A position in an object: st is the struct type there (NULL for scalars), f the field whose
 * value (or, with TY_ELEM, one element of whose list/map) is there; TY_DEDUCED: no schema. */
#define TY_ELEM 1u
#define TY_DEDUCED 2u
struct ty {
    const struct schema_type *st;
    const struct schema_field *f;
    unsigned flags;
};

/* The root type of a kind (deduced when t is NULL). */
struct ty ty_root(const struct schema_type *t);

/* ToFieldSet: every field path cfg sets. strict: list items without their keys are errors
 * (CK_R_INTERNAL, upstream's wording); otherwise they are skipped. */
int typed_field_set(struct ty t, const json_t *v, bool strict, struct fp_set **out,
                    struct ck_err *err);
/* Compare: paths added, modified and removed going from a to b (a, b may be NULL). */
struct typed_cmp {
    struct fp_set *added, *modified, *removed;
};
void typed_compare(struct ty t, const json_t *a, const json_t *b, struct typed_cmp *c);
void typed_cmp_release(struct typed_cmp *c);
/* Merge: b merged into a by the schema (b wins on leaves, list maps/sets merge by key).
 * *out is new (never NULL on success). */
int typed_merge(struct ty t, const json_t *a, const json_t *b, json_t **out, struct ck_err *err);
/* RemoveItems: a copy of v without the paths in s (a member removes its whole subtree). */
json_t *typed_remove(struct ty t, const json_t *v, const struct fp_set *s);
/* EnsureNamedFieldsAreMembers: s with every declared struct field that has children made a
 * member too. New set. */
struct fp_set *typed_named_members(struct ty t, const struct fp_set *s);

#endif
