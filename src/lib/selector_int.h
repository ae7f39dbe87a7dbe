/* SPDX-License-Identifier: Apache-2.0 */
/* Internals of the selector shared by selector.c (the label and field text parsers),
 * selector_req.c (label rules and building requirements), selector_match.c (matching,
 * accessors, String()) and selector_json.c (LabelSelector and label-map selectors). Not for
 * use outside src/lib. */
#ifndef CK_LIB_SELECTOR_INT_H
#define CK_LIB_SELECTOR_INT_H

#include "lib/buf.h"
#include "lib/selector.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sel_val {
    const char *s;
    size_t n;
};

struct sel_req {
    char *key;
    size_t klen;
    enum sel_op op;
    bool dbl; /* written as `==` (kept for String()) */
    size_t nvals;
    struct sel_val *vals; /* sorted, unique; strings live in pool */
    int64_t num;          /* the integer of `>`/`<` */
    char *pool;
};

struct sel {
    enum sel_kind kind;
    bool nothing; /* labels.Nothing(): matches no object */
    size_t nreqs;
    struct sel_req *reqs;
};

/* A growable list of borrowed values (sel_vlist_add; the caller frees v). */
struct vlist {
    struct sel_val *v;
    size_t n, cap;
};

/* Label rules: append upstream's reasons ("; "-joined) when k or v is not a valid label key
 * (IsQualifiedName) or value (IsValidLabelValue); append nothing when valid. */
void sel_label_key_reasons(const char *k, size_t n, struct ck_buf *b);
void sel_label_value_reasons(const char *v, size_t n, struct ck_buf *b);
/* Go strconv.ParseInt(s, 10, 64). */
bool sel_parse_int64(const char *s, size_t n, int64_t *out);

void sel_vlist_add(struct vlist *l, const char *s, size_t n);
/* qsort comparator of two struct sel_val: bytewise, then shorter first. */
int sel_val_cmp(const void *a, const void *b);
/* Go's %q of a string: printable text as is, other bytes escaped. */
void sel_append_go_quoted(struct ck_buf *b, const char *s, size_t n);
/* Appends one field error "path: Invalid value: \"v\": detail" to an aggregate of *count. */
void sel_agg_add(struct ck_buf *agg, size_t *count, const char *path, const struct sel_val *v,
                 const char *detail);

/* Appends a new zeroed requirement slot to s->reqs (*cap is its capacity); the caller fills
 * it and then counts it in s->nreqs. */
struct sel_req *sel_reqs_push(struct sel *s, size_t *cap);
/* Fills r with copies of the key and values (one allocation, r->pool). */
void sel_req_fill(struct sel_req *r, const char *key, size_t klen, enum sel_op op, bool dbl,
                  const struct vlist *vals, int64_t num);
/* Stable sort of s->reqs by key (equal keys keep their written order). */
void sel_sort_reqs(struct sel *s);

#endif
