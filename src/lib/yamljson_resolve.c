/* SPDX-License-Identifier: Apache-2.0 */
/* go-yaml v2's (YAML 1.1) resolution of plain scalars, which sigs.k8s.io/yaml applies, and
 * Go's shortest float formatting ('g', -1): what a scalar reads back as, both when parsing
 * YAML and when choosing whether an emitted string needs quotes. */
#include "lib/yamljson_int.h"
#include "lib/buf.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

/* ---------------------------------------------------------------- scalar resolution */

static bool in_list(const char *s, size_t n, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == n && memcmp(*list, s, n) == 0)
            return true;
    return false;
}

static const char *const yes_words[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                        "True", "TRUE", "on",  "On",  "ON",  NULL};
static const char *const no_words[] = {"n",     "N",     "no",  "No",  "NO",  "false",
                                       "False", "FALSE", "off", "Off", "OFF", NULL};
static const char *const null_words[] = {"", "~", "null", "Null", "NULL", NULL};
static const char *const nan_words[] = {".nan", ".NaN", ".NAN", NULL};
static const char *const inf_words[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
static const char *const ninf_words[] = {"-.inf", "-.Inf", "-.INF", NULL};

/* The map lookup of go-yaml's resolve(); true if s is one of the fixed words. */
static bool resolve_word(const char *s, size_t n, struct resolved *r)
{
    memset(r, 0, sizeof(*r));
    /* every word is at most 6 bytes and starts with one of these (go-yaml's hint table) */
    if (n > 6 || (n > 0 && !strchr("yYnNtTfFoO~.+-<", s[0])))
        return false;
    if (in_list(s, n, yes_words) || in_list(s, n, no_words)) {
        r->kind = R_BOOL;
        r->b = in_list(s, n, yes_words);
    } else if (in_list(s, n, null_words)) {
        r->kind = R_NULL;
    } else if (in_list(s, n, nan_words)) {
        r->kind = R_FLOAT;
        r->f = NAN;
    } else if (in_list(s, n, inf_words) || in_list(s, n, ninf_words)) {
        r->kind = R_FLOAT;
        r->f = in_list(s, n, inf_words) ? INFINITY : -INFINITY;
    } else if (n == 2 && s[0] == '<' && s[1] == '<') {
        r->kind = R_MERGE;
    } else {
        return false;
    }
    return true;
}

static int digit_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

/* Go strconv.ParseUint(s, 0, 64) on the magnitude (no sign). 0 ok, -1 syntax, -2 range. */
static int go_parse_mag(const char *s, size_t n, uint64_t *out)
{
    unsigned base = 10;
    size_t i = 0;
    if (n >= 2 && s[0] == '0') {
        char c = (char)tolower((unsigned char)s[1]);
        base = c == 'x' ? 16 : c == 'o' ? 8 : c == 'b' ? 2 : 8;
        i = (c == 'x' || c == 'o' || c == 'b') ? 2 : 1;
    }
    if (i == n && !(n == 1 && s[0] == '0'))
        return n == 0 || i > 1 ? -1 : 0;
    uint64_t v = 0;
    bool range = false;
    for (; i < n; i++) {
        unsigned d = (unsigned)digit_val(s[i]);
        if (d >= base)
            return -1;
        if (v > (UINT64_MAX - d) / base)
            range = true;
        else
            v = v * base + d;
    }
    *out = v;
    return range ? -2 : 0;
}

/* yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s, size_t n)
{
    size_t i = 0, d = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    if (i < n && s[i] == '.') {
        for (i++; i < n && isdigit((unsigned char)s[i]); i++)
            d++;
        if (!d)
            return false;
    } else {
        for (; i < n && isdigit((unsigned char)s[i]); i++)
            d++;
        if (!d)
            return false;
        if (i < n && s[i] == '.')
            for (i++; i < n && isdigit((unsigned char)s[i]); i++)
                ;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        for (d = 0; i < n && isdigit((unsigned char)s[i]); i++)
            d++;
        if (!d)
            return false;
    }
    return i == n;
}

static bool parse_double(const char *s, size_t n, double *out)
{
    char tmp[1024];
    if (n >= sizeof(tmp))
        return false;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *end;
    *out = strtod(tmp, &end);
    /* Go's ParseFloat fails on overflow (a string then); underflow quietly gives 0 */
    return end == tmp + n && !isinf(*out);
}

/* Digits-and-sign scalars: int, uint (beyond int64), float. */
static bool resolve_number(const char *in, size_t n, struct resolved *r)
{
    char plain[1024];
    size_t pn = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '_')
            continue;
        if (pn + 1 >= sizeof(plain))
            return false; /* longer than any number we resolve: a string */
        plain[pn++] = in[i];
    }
    plain[pn] = 0;
    bool neg = pn && plain[0] == '-';
    size_t off = pn && (plain[0] == '-' || plain[0] == '+');
    uint64_t mag = 0;
    int rc = go_parse_mag(plain + off, pn - off, &mag);
    if (rc == 0 && (neg ? mag <= (uint64_t)INT64_MAX + 1 : mag <= (uint64_t)INT64_MAX)) {
        r->kind = R_INT;
        r->i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
        return true;
    }
    if (rc == 0 && off == 0) {
        r->kind = R_UINT;
        r->u = mag;
        return true;
    }
    if (yaml_style_float(plain, pn) && parse_double(plain, pn, &r->f)) {
        r->kind = R_FLOAT;
        return true;
    }
    if (rc == -2 || (rc == 0 && off)) { /* big integer (Go: big.Int), kept as a float */
        unsigned base = 10;
        size_t i = off;
        if (pn - off >= 2 && plain[off] == '0') {
            char c = (char)tolower((unsigned char)plain[off + 1]);
            base = c == 'x' ? 16 : c == 'o' ? 8 : c == 'b' ? 2 : 8;
            i += (c == 'x' || c == 'o' || c == 'b') ? 2 : 1;
        }
        double v = 0;
        for (; i < pn; i++)
            v = v * base + digit_val(plain[i]);
        r->kind = R_FLOAT;
        r->f = neg ? -v : v;
        return !isinf(v);
    }
    return false;
}

static bool getnum(const char *s, size_t n, size_t *i, int maxd, int *v)
{
    int d = 0;
    *v = 0;
    while (*i < n && d < maxd && isdigit((unsigned char)s[*i])) {
        *v = *v * 10 + (s[*i] - '0');
        (*i)++;
        d++;
    }
    return d > 0;
}

/* go-yaml's parseTimestamp: the layouts "2006-1-2T15:4:5.999999999Z07:00" (also 't'),
 * "2006-1-2 15:4:5.999999999" and "2006-1-2". */
static bool is_timestamp(const char *s, size_t n)
{
    size_t i = 0;
    int y, mo, d, h, mi, se;
    if (n < 5 || !getnum(s, n, &i, 4, &y) || i != 4 || s[i++] != '-')
        return false;
    if (!getnum(s, n, &i, 2, &mo) || i >= n || s[i++] != '-' || !getnum(s, n, &i, 2, &d))
        return false;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        return false;
    if (i == n)
        return true;
    char sep = s[i++];
    if (sep != 'T' && sep != 't' && sep != ' ')
        return false;
    if (!getnum(s, n, &i, 2, &h) || i >= n || s[i++] != ':' || !getnum(s, n, &i, 2, &mi) ||
        i >= n || s[i++] != ':' || !getnum(s, n, &i, 2, &se))
        return false;
    if (h > 23 || mi > 59 || se > 59)
        return false;
    if (i < n && s[i] == '.') {
        int f;
        i++;
        if (!getnum(s, n, &i, 9, &f))
            return false;
    }
    if (sep == ' ')
        return i == n;
    if (i < n && s[i] == 'Z')
        return i + 1 == n;
    int zh, zm;
    if (i >= n || (s[i] != '+' && s[i] != '-'))
        return false;
    i++;
    size_t st = i;
    if (!getnum(s, n, &i, 2, &zh) || i - st != 2 || i >= n || s[i++] != ':')
        return false;
    st = i;
    return getnum(s, n, &i, 2, &zm) && i - st == 2 && i == n;
}

/* go-yaml v2 resolve() for an untagged plain scalar. */
void yj_resolve_plain(const char *s, size_t n, struct resolved *r)
{
    if (resolve_word(s, n, r))
        return;
    char c = s[0];
    if (c == '.') {
        if (n > 1 && yaml_style_float(s, n) && parse_double(s, n, &r->f))
            r->kind = R_FLOAT;
        return;
    }
    if (c == '+' || c == '-' || isdigit((unsigned char)c)) {
        if (is_timestamp(s, n)) {
            r->kind = R_TIMESTAMP;
            return;
        }
        resolve_number(s, n, r);
    }
}

/* ---------------------------------------------------------------- number formatting */

/* Shortest digits of f that read back as the same value at the given precision
 * (17 digits for float64, 9 for float32); returns the decimal exponent. */
static int shortest_digits(double f, bool f32, char *digits, size_t cap)
{
    char tmp[64];
    int maxp = f32 ? 9 : 17;
    for (int p = 1; p <= maxp; p++) {
        snprintf(tmp, sizeof(tmp), "%.*e", p - 1, f);
        double back = strtod(tmp, NULL);
        if (f32 ? (float)back == (float)f : back == f)
            break;
    }
    /* tmp: d[.ddd]e±XX */
    size_t w = 0;
    const char *e = strchr(tmp, 'e');
    for (const char *c = tmp; c < e && w + 1 < cap; c++)
        if (isdigit((unsigned char)*c))
            digits[w++] = *c;
    while (w > 1 && digits[w - 1] == '0')
        w--;
    digits[w] = 0;
    return atoi(e + 1);
}

/* Go strconv.FormatFloat(f, 'g', -1, 32 or 64). */
void yj_format_go_g(double f, bool f32, char *out, size_t cap)
{
    if (isnan(f) || isinf(f)) {
        snprintf(out, cap, "%s", isnan(f) ? ".nan" : f > 0 ? ".inf" : "-.inf");
        return;
    }
    if (f == 0) {
        snprintf(out, cap, "%s", signbit(f) ? "-0" : "0");
        return;
    }
    char d[32];
    int exp = shortest_digits(fabs(f), f32, d, sizeof(d));
    size_t nd = strlen(d);
    const char *sign = f < 0 ? "-" : "";
    if (exp < -4 || exp >= 6) {
        snprintf(out, cap, "%s%c%s%s%se%c%02d", sign, d[0], nd > 1 ? "." : "", d + 1, "",
                 exp < 0 ? '-' : '+', abs(exp));
        return;
    }
    struct ck_buf b = CK_BUF_INIT(cap - 1);
    ck_buf_appends(&b, sign);
    if (exp < 0) {
        ck_buf_appends(&b, "0.");
        for (int i = -1; i > exp; i--)
            ck_buf_appendc(&b, '0');
        ck_buf_appends(&b, d);
    } else {
        for (int i = 0; i <= exp || (size_t)i < nd; i++) {
            if (i == exp + 1)
                ck_buf_appendc(&b, '.');
            ck_buf_appendc(&b, (size_t)i < nd ? d[i] : '0');
        }
    }
    snprintf(out, cap, "%s", b.data ? b.data : "0");
    ck_buf_release(&b);
}
