/* SPDX-License-Identifier: Apache-2.0 */
/* resource.Quantity: a scanner with upstream's grammar, an exact value computation on a small
 * fixed-size big number (so fractions of binary suffixes round exactly as upstream's inf.Dec
 * does), the canonical text, and the arithmetic helpers. */
#include "k8s/quantity.h"

#include "lib/buf.h"

#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

#define NANO K8S_QTY_NANO
/* Upstream's maxAllowed for BinarySI: 2^63-1 units. */
#define BINARY_CAP ((__int128)INT64_MAX * NANO)
/* Significant digits kept exactly; further ones only decide the rounding (see parse_value). */
#define KEEP_DIGITS 60

/* ---- a tiny unsigned big number: 12 x 32 bits is enough for 60 digits times 2^60 ---- */

#define BN_LIMBS 12

struct bn {
    uint32_t l[BN_LIMBS]; /* little-endian */
};

static bool bn_zero(const struct bn *b)
{
    for (int i = 0; i < BN_LIMBS; i++)
        if (b->l[i])
            return false;
    return true;
}

static int bn_bits(const struct bn *b)
{
    for (int i = BN_LIMBS - 1; i >= 0; i--)
        if (b->l[i])
            return i * 32 + (32 - __builtin_clz(b->l[i]));
    return 0;
}

/* b = b * m + a. The callers keep b small enough that nothing carries out. */
static void bn_mul_add(struct bn *b, uint32_t m, uint32_t a)
{
    uint64_t carry = a;
    for (int i = 0; i < BN_LIMBS; i++) {
        uint64_t t = (uint64_t)b->l[i] * m + carry;
        b->l[i] = (uint32_t)t;
        carry = t >> 32;
    }
}

/* b = b / d; returns the remainder. */
static uint32_t bn_div(struct bn *b, uint32_t d)
{
    uint64_t rem = 0;
    for (int i = BN_LIMBS - 1; i >= 0; i--) {
        uint64_t cur = (rem << 32) | b->l[i];
        b->l[i] = (uint32_t)(cur / d);
        rem = cur % d;
    }
    return (uint32_t)rem;
}

/* Only called when bn_bits(b) <= 121. */
static __int128 bn_to_i128(const struct bn *b)
{
    __int128 v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 32) | b->l[i];
    return v;
}

/* ---- scanning ------------------------------------------------------------------------ */

/* The pieces of a quantity's text, as upstream's parseQuantityString splits it. */
struct qty_text {
    bool neg;
    const char *num; /* integer digits after leading zeros (may be empty) */
    size_t nnum;
    bool zeros;      /* leading zeros were present */
    const char *den; /* fraction digits (may be empty) */
    size_t nden;
    const char *suf; /* suffix text */
    size_t nsuf;
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int scan(const char *s, size_t n, struct qty_text *t)
{
    size_t i = 0;
    memset(t, 0, sizeof(*t));
    if (i < n && (s[i] == '-' || s[i] == '+'))
        t->neg = s[i++] == '-';
    for (; i < n && s[i] == '0'; i++)
        t->zeros = true;
    t->num = s + i;
    for (; i < n && is_digit(s[i]); i++)
        t->nnum++;
    t->den = s + i;
    if (i < n && s[i] == '.') {
        t->den = s + ++i;
        for (; i < n && is_digit(s[i]); i++)
            t->nden++;
    }
    t->suf = s + i;
    size_t start = i;
    for (; i < n && s[i] && strchr("eEinumkKMGTP", s[i]); i++)
        ;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    for (; i < n && is_digit(s[i]); i++)
        ;
    if (i != n)
        return -1;
    t->nsuf = n - start;
    return 0;
}

/* Go's strconv.ParseInt(s, 10, 64). */
static bool parse_int64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == n)
        return false;
    unsigned __int128 v = 0;
    for (; i < n; i++) {
        if (!is_digit(s[i]))
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
        if (v > (unsigned __int128)INT64_MAX + 1)
            return false;
    }
    if (!neg && v > (unsigned __int128)INT64_MAX)
        return false;
    *out = neg ? (int64_t)(-(__int128)v) : (int64_t)v;
    return true;
}

/* Upstream's suffixer.interpret: power of ten, power of two and format. */
static bool interpret(const char *s, size_t n, int32_t *e10, int *e2, enum k8s_qty_format *fmt)
{
    static const struct {
        const char *s;
        int e10, e2;
    } tab[] = {
        {"", 0, 0},    {"n", -9, 0},  {"u", -6, 0},  {"m", -3, 0},  {"k", 3, 0},   {"M", 6, 0},
        {"G", 9, 0},   {"T", 12, 0},  {"P", 15, 0},  {"E", 18, 0},  {"Ki", 0, 10}, {"Mi", 0, 20},
        {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60},
    };
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
        if (strlen(tab[i].s) == n && !memcmp(tab[i].s, s, n)) {
            *e10 = tab[i].e10;
            *e2 = tab[i].e2;
            *fmt = tab[i].e2 ? K8S_QTY_BINARY_SI : K8S_QTY_DECIMAL_SI;
            return true;
        }
    int64_t e;
    if (n > 1 && (s[0] == 'e' || s[0] == 'E') && parse_int64(s + 1, n - 1, &e)) {
        *e10 = (int32_t)(uint32_t)(uint64_t)e; /* upstream narrows with int32() */
        *e2 = 0;
        *fmt = K8S_QTY_DECIMAL_EXP;
        return true;
    }
    return false;
}

/* |value| in nano-units, rounded up: digits * 10^(e10) * 2^e2, exact up to KEEP_DIGITS
 * significant digits; digits past those only make the result round up. */
static __int128 parse_value(const struct qty_text *t, int32_t e10, int e2)
{
    struct bn b = {{0}};
    int kept = 0;
    int64_t p = (int64_t)e10 + 9;
    bool sticky = false;
    for (size_t i = 0; i < t->nnum + t->nden; i++) {
        bool frac = i >= t->nnum;
        char c = frac ? t->den[i - t->nnum] : t->num[i];
        if (kept < KEEP_DIGITS) {
            bn_mul_add(&b, 10, (uint32_t)(c - '0'));
            kept += kept > 0 || c != '0';
            p -= frac;
        } else {
            sticky |= c != '0';
            p += !frac;
        }
    }
    for (int i = 0; i < e2; i += 10)
        bn_mul_add(&b, 1024, 0);
    for (; p > 0 && !bn_zero(&b) && bn_bits(&b) <= 121; p--)
        bn_mul_add(&b, 10, 0);
    if (p > 0 && !bn_zero(&b))
        return K8S_QTY_MAX;
    for (; p < 0 && !bn_zero(&b); p++)
        sticky |= bn_div(&b, 10) != 0;
    if (bn_bits(&b) > 121)
        return K8S_QTY_MAX;
    __int128 v = bn_to_i128(&b) + sticky;
    return v > K8S_QTY_MAX ? K8S_QTY_MAX : v;
}

/* Would upstream's ParseQuantity keep the caller's text as its String()? (its fast path) */
static bool keeps_text(const struct qty_text *t, int32_t e10, int e2, enum k8s_qty_format fmt)
{
    size_t nnum = t->nnum ? t->nnum : 1;
    if (fmt != K8S_QTY_BINARY_SI) {
        if (nnum + t->nden > 18)
            return false;
        int64_t scale = (int64_t)e10 - (int64_t)t->nden;
        if (scale < -9 || scale % 3 != 0)
            return false;
        /* shifted = num + den; num is "0" when empty */
        char last[3];
        size_t n = nnum + t->nden;
        if (!t->nnum)
            return false; /* shifted starts with '0' */
        for (size_t k = 0; k < 3 && k < n; k++) {
            size_t idx = n - 1 - k;
            last[k] = idx < t->nnum ? t->num[idx] : t->den[idx - t->nnum];
        }
        return !(n >= 3 && last[0] == '0' && last[1] == '0' && last[2] == '0');
    }
    if (t->nden)
        return false;
    if (15 - (int)nnum - e2 * 3 / 10 - 1 < 0)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < t->nnum; i++)
        v = v * 10 + (t->num[i] - '0');
    if (v > (INT64_MAX >> e2))
        return false;
    return (v & 7) != 0;
}

static int parse_n(const char *s, size_t n, struct k8s_quantity *q, bool *keep)
{
    struct qty_text t;
    int32_t e10;
    int e2;
    enum k8s_qty_format fmt;
    if (n == 0 || scan(s, n, &t) < 0 || !interpret(t.suf, t.nsuf, &e10, &e2, &fmt))
        return -1;
    if (!t.zeros && !t.nnum && !t.nden)
        return -1; /* no digit at all: see the header */
    if (keep)
        *keep = (n == 1 && s[0] == '0') || keeps_text(&t, e10, e2, fmt);
    __int128 v = parse_value(&t, e10, e2);
    if (fmt == K8S_QTY_BINARY_SI && v > BINARY_CAP)
        v = BINARY_CAP;
    if (fmt == K8S_QTY_BINARY_SI && v > 0 && v < NANO)
        fmt = K8S_QTY_DECIMAL_SI;
    q->nano = t.neg ? -v : v;
    q->format = fmt;
    return 0;
}

int k8s_quantity_parse(const char *s, struct k8s_quantity *q)
{
    return s ? parse_n(s, strlen(s), q, NULL) : -1;
}

static bool go_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int k8s_quantity_from_json(const json_t *v, struct k8s_quantity *q)
{
    if (json_is_integer(v)) {
        q->nano = (__int128)json_integer_value(v) * NANO;
        q->format = K8S_QTY_DECIMAL_SI;
        return 0;
    }
    if (json_is_real(v)) {
        char buf[400];
        snprintf(buf, sizeof(buf), "%.9f", json_real_value(v));
        return k8s_quantity_parse(buf, q);
    }
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    while (n && go_space((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && go_space((unsigned char)s[n - 1]))
        n--;
    return parse_n(s, n, q, NULL);
}

/* ---- canonical text ------------------------------------------------------------------ */

static size_t put_u128(char *out, unsigned __int128 v)
{
    char tmp[48];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v > 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

char *k8s_quantity_str(const struct k8s_quantity *q, char out[K8S_QTY_STRLEN])
{
    __int128 v = q->nano;
    size_t n = 0;
    if (v == 0) {
        memcpy(out, "0", 2);
        return out;
    }
    if (v < 0)
        out[n++] = '-';
    unsigned __int128 m = (unsigned __int128)(v < 0 ? -v : v);
    enum k8s_qty_format fmt = q->format;
    if (fmt == K8S_QTY_BINARY_SI && (m < 1024 * (unsigned __int128)NANO || m % NANO != 0))
        fmt = K8S_QTY_DECIMAL_SI;
    const char *suffix = "";
    char expbuf[16];
    if (fmt == K8S_QTY_BINARY_SI) {
        static const char *const bin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
        int e = 0;
        m /= NANO;
        for (; e < 6 && m % 1024 == 0; e++)
            m /= 1024;
        suffix = bin[e];
    } else {
        static const char *const dec[] = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};
        int e = -9;
        for (; m % 1000 == 0 && (fmt == K8S_QTY_DECIMAL_EXP || e < 18); e += 3)
            m /= 1000;
        if (fmt == K8S_QTY_DECIMAL_SI) {
            suffix = dec[(e + 9) / 3];
        } else if (e != 0) {
            snprintf(expbuf, sizeof(expbuf), "e%d", e);
            suffix = expbuf;
        }
    }
    n += put_u128(out + n, m);
    size_t sl = strlen(suffix);
    memcpy(out + n, suffix, sl + 1);
    return out;
}

char *k8s_quantity_format(const struct k8s_quantity *q)
{
    char buf[K8S_QTY_STRLEN];
    return ck_strdup(k8s_quantity_str(q, buf));
}

char *k8s_quantity_canonical(const char *s)
{
    struct k8s_quantity q;
    if (k8s_quantity_parse(s, &q) < 0)
        return NULL;
    return k8s_quantity_format(&q);
}

char *k8s_quantity_roundtrip(const char *s)
{
    struct k8s_quantity q;
    bool keep = false;
    if (!s || parse_n(s, strlen(s), &q, &keep) < 0)
        return NULL;
    return keep ? ck_strdup(s) : k8s_quantity_format(&q);
}

/* ---- arithmetic ---------------------------------------------------------------------- */

int k8s_quantity_cmp(const struct k8s_quantity *a, const struct k8s_quantity *b)
{
    return a->nano < b->nano ? -1 : a->nano > b->nano ? 1 : 0;
}

bool k8s_quantity_is_zero(const struct k8s_quantity *q)
{
    return q->nano == 0;
}

static __int128 clamp(__int128 v)
{
    return v > K8S_QTY_MAX ? K8S_QTY_MAX : v < -K8S_QTY_MAX ? -K8S_QTY_MAX : v;
}

void k8s_quantity_add(struct k8s_quantity *a, const struct k8s_quantity *b)
{
    if (a->nano == 0)
        a->format = b->format;
    a->nano = clamp(a->nano + b->nano); /* both within 2^120: no int128 overflow */
}

void k8s_quantity_sub(struct k8s_quantity *a, const struct k8s_quantity *b)
{
    if (a->nano == 0)
        a->format = b->format;
    a->nano = clamp(a->nano - b->nano);
}

static int64_t scaled(__int128 nano, __int128 unit)
{
    __int128 v = nano / unit;
    if (nano % unit)
        v += nano < 0 ? -1 : 1;
    return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : (int64_t)v;
}

int64_t k8s_quantity_value(const struct k8s_quantity *q)
{
    return scaled(q->nano, NANO);
}

int64_t k8s_quantity_milli(const struct k8s_quantity *q)
{
    return scaled(q->nano, 1000000);
}

struct k8s_quantity k8s_quantity_from_int(int64_t v, enum k8s_qty_format format)
{
    struct k8s_quantity q = {(__int128)v * NANO, format};
    return q;
}

struct k8s_quantity k8s_quantity_from_milli(int64_t v, enum k8s_qty_format format)
{
    struct k8s_quantity q = {(__int128)v * 1000000, format};
    return q;
}

/* ---- drop-in helpers ------------------------------------------------------------------ */

int k8s_quantity_nano_json(const json_t *q, __int128 *nano)
{
    struct k8s_quantity v;
    if (k8s_quantity_from_json(q, &v) < 0)
        return -1;
    *nano = v.nano;
    return 0;
}

int k8s_quantity_nano(const char *s, __int128 *nano)
{
    struct k8s_quantity v;
    if (k8s_quantity_parse(s, &v) < 0)
        return -1;
    *nano = v.nano;
    return 0;
}

char *k8s_quantity_canonical_json(const json_t *q)
{
    struct k8s_quantity v;
    if (k8s_quantity_from_json(q, &v) < 0)
        return NULL;
    return k8s_quantity_format(&v);
}

int k8s_quantity_cmp_json(const json_t *a, const json_t *b, int *cmp)
{
    struct k8s_quantity x, y;
    if (k8s_quantity_from_json(a, &x) < 0 || k8s_quantity_from_json(b, &y) < 0)
        return -1;
    *cmp = k8s_quantity_cmp(&x, &y);
    return 0;
}

int k8s_quantity_cmp_str(const char *a, const char *b, int *cmp)
{
    struct k8s_quantity x, y;
    if (k8s_quantity_parse(a, &x) < 0 || k8s_quantity_parse(b, &y) < 0)
        return -1;
    *cmp = k8s_quantity_cmp(&x, &y);
    return 0;
}
