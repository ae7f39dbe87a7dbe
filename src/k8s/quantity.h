/* SPDX-License-Identifier: Apache-2.0 */
/* resource.Quantity (k8s.io/apimachinery/pkg/api/resource): parsing, the canonical text form,
 * comparison, arithmetic and the Value()/MilliValue() accessors.
 *
 * A quantity is held as a signed count of nano-units (10^-9) plus the format its text used.
 * Parsing rounds up (away from zero) to the nano-unit as upstream does; BinarySI values are
 * capped at 2^63-1 units as upstream does; any value beyond +/- 2^120 nano-units (about
 * 1.3e27 units, far past anything a cluster holds) saturates at K8S_QTY_MAX. Every function
 * here is pure and thread-safe. */
#ifndef CK_K8S_QUANTITY_H
#define CK_K8S_QUANTITY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define K8S_QTY_MAX ((__int128)1 << 120)
#define K8S_QTY_NANO ((__int128)1000000000)
/* Room for any canonical text k8s_quantity_str writes (sign, 37 digits, suffix, NUL). */
#define K8S_QTY_STRLEN 64

/* The suffix family a quantity was written with; it decides the canonical suffix. */
enum k8s_qty_format {
    K8S_QTY_DECIMAL_SI,  /* "", n, u, m, k, M, G, T, P, E */
    K8S_QTY_BINARY_SI,   /* Ki, Mi, Gi, Ti, Pi, Ei */
    K8S_QTY_DECIMAL_EXP, /* e3, E-6, ... */
};

struct k8s_quantity {
    __int128 nano; /* value * 10^9, in [-K8S_QTY_MAX, K8S_QTY_MAX] */
    enum k8s_qty_format format;
};

/* Parses upstream's grammar `[+-]digits[.digits](suffix)`: decimal SI suffixes, binary SI
 * suffixes, and decimal exponents `e<int>`/`E<int>`. Returns 0 and fills *q, or -1 when the
 * text does not parse (nothing written). No whitespace is allowed. One deliberate difference
 * from upstream: text without any digit (".", "+", "m", "Ki") is rejected here, while
 * upstream reads it as zero; the API server has always rejected it. */
int k8s_quantity_parse(const char *s, struct k8s_quantity *q);

/* A JSON value as the API server decodes it: a string (surrounding ASCII whitespace trimmed,
 * as upstream's UnmarshalJSON does), an integer (DecimalSI), or a real (its "%.9f" text).
 * Returns 0, or -1 for anything else or a bad string. */
int k8s_quantity_from_json(const json_t *v, struct k8s_quantity *q);

/* Canonical text as upstream's CanonicalizeBytes: the largest suffix of the quantity's format
 * that keeps an integer mantissa ("1000m" -> "1", "0.5" -> "500m", "1536Mi" -> "1536Mi",
 * "1e4" -> "10e3", "1.5Gi" -> "1536Mi", "0.5Ki" -> "512"). BinarySI values that are below
 * 1024 or not whole numbers print as DecimalSI. Zero prints "0". Writes into out and returns
 * out. (Upstream prints no suffix at all for DecimalSI values of 1000E and more; this prints
 * "1000E", "10000E", ... so the text keeps its value.) */
char *k8s_quantity_str(const struct k8s_quantity *q, char out[K8S_QTY_STRLEN]);
/* Same, as a new string the caller frees. */
char *k8s_quantity_format(const struct k8s_quantity *q);

/* Canonical text of a string, or NULL when it does not parse. Caller frees. */
char *k8s_quantity_canonical(const char *s);

/* What upstream's String() (and so the JSON it serves back) gives right after parsing s:
 * upstream keeps the caller's text verbatim when its fast path judges it canonical, which
 * also keeps a leading '+', leading zeros, "E" exponents and "e0" ("+1" -> "+1",
 * "1200e0" -> "1200e0", "1E3" -> "1E3"); otherwise the canonical text. NULL when s does not
 * parse. Caller frees. */
char *k8s_quantity_roundtrip(const char *s);

/* <0, 0, >0 as a < b, a == b, a > b. */
int k8s_quantity_cmp(const struct k8s_quantity *a, const struct k8s_quantity *b);
bool k8s_quantity_is_zero(const struct k8s_quantity *q);

/* a += b / a -= b, saturating at +/- K8S_QTY_MAX. As upstream's Add/Sub, a zero a takes b's
 * format. */
void k8s_quantity_add(struct k8s_quantity *a, const struct k8s_quantity *b);
void k8s_quantity_sub(struct k8s_quantity *a, const struct k8s_quantity *b);

/* Value(): whole units rounded away from zero (1.1 -> 2, -1.1 -> -2); MilliValue(): the same in
 * thousandths. Both saturate at INT64_MIN/INT64_MAX. */
int64_t k8s_quantity_value(const struct k8s_quantity *q);
int64_t k8s_quantity_milli(const struct k8s_quantity *q);

/* NewQuantity(v, format) / NewMilliQuantity(v, format). */
struct k8s_quantity k8s_quantity_from_int(int64_t v, enum k8s_qty_format format);
struct k8s_quantity k8s_quantity_from_milli(int64_t v, enum k8s_qty_format format);

/* ---- drop-in helpers with the API server's historical signatures ------------------------ */

/* The value of a JSON quantity (k8s_quantity_from_json) in nano-units; 0, or -1 if bad. */
int k8s_quantity_nano_json(const json_t *q, __int128 *nano);
/* The value of a string quantity in nano-units; 0, or -1 if bad. */
int k8s_quantity_nano(const char *s, __int128 *nano);
/* Canonical text of a JSON quantity; new string, or NULL when q does not parse. */
char *k8s_quantity_canonical_json(const json_t *q);
/* Compares two JSON / two string quantities: 0 and *cmp (<0, 0, >0), or -1 if either is bad. */
int k8s_quantity_cmp_json(const json_t *a, const json_t *b, int *cmp);
int k8s_quantity_cmp_str(const char *a, const char *b, int *cmp);

#endif
