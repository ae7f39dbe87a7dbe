/* SPDX-License-Identifier: Apache-2.0 */
/* JSON to YAML: drives libyaml's emitter with go-yaml v2's style choices (block style,
 * compact sequences, keys in its natural order, strings quoted only when a plain scalar would
 * read back as another type). */
#include "lib/yamljson.h"
#include "lib/yamljson_int.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lib/banned.h"

/* isBase60Float: ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$ (quoted on output). */
static bool is_base60(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    if (i >= n || !isdigit((unsigned char)s[i]))
        return false;
    while (i < n && (isdigit((unsigned char)s[i]) || s[i] == '_'))
        i++;
    int groups = 0;
    while (i < n && s[i] == ':') {
        i++;
        size_t st = i;
        while (i < n && isdigit((unsigned char)s[i]) && i - st < 2)
            i++;
        if (i == st || (i - st == 2 && s[st] > '5'))
            return false;
        groups++;
    }
    if (!groups)
        return false;
    if (i < n && s[i] == '.')
        for (i++; i < n && (isdigit((unsigned char)s[i]) || s[i] == '_'); i++)
            ;
    return i == n;
}

/* ---------------------------------------------------------------- emitter */

struct emit {
    yaml_emitter_t em;
    struct ck_buf *out;
    bool overflow;
};

static int write_handler(void *data, unsigned char *buf, size_t size)
{
    struct emit *e = data;
    if (ck_buf_append(e->out, buf, size) < 0) {
        e->overflow = true;
        return 0;
    }
    return 1;
}

static int emit_ev(struct emit *e, yaml_event_t *ev)
{
    return yaml_emitter_emit(&e->em, ev) ? 0 : -1;
}

/* Quoting as go-yaml v2 chooses it; libyaml then downgrades where a style is impossible. */
static int emit_string(struct emit *e, const char *s, size_t n)
{
    yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;
    struct resolved r = {0};
    if (memchr(s, '\n', n))
        style = YAML_LITERAL_SCALAR_STYLE;
    else if (n == 0 || (yj_resolve_plain(s, n, &r), r.kind != R_STR) || is_base60(s, n))
        style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    yaml_event_t ev;
    /* both implicit flags set, as go-yaml does: a downgraded style needs no "!" tag */
    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)n, 1, 1, style);
    return emit_ev(e, &ev);
}

static int emit_plain(struct emit *e, const char *s)
{
    yaml_event_t ev;
    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
                                 YAML_PLAIN_SCALAR_STYLE);
    return emit_ev(e, &ev);
}

static bool is_letter_rune(uint32_t r)
{
    return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r >= 0x80;
}

static bool is_digit_rune(uint32_t r)
{
    return r >= '0' && r <= '9';
}

/* Decodes s (valid UTF-8) into runes; returns the count. */
static size_t runes(const char *s, size_t n, uint32_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; k++) {
        unsigned char c = (unsigned char)s[i];
        size_t l = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        uint32_t r = l == 1 ? c : c & (0xFF >> (l + 1));
        for (size_t j = 1; j < l && i + j < n; j++)
            r = (r << 6) | ((unsigned char)s[i + j] & 0x3F);
        out[k] = r;
        i += l;
    }
    return k;
}

/* go-yaml v2 keyList.Less for string keys: a "natural" order where digit runs compare by
 * value and letters sort after other characters. */
static bool key_less(const char *a, size_t an_, const char *b, size_t bn_)
{
    uint32_t *ar = ck_malloc((an_ + 1) * sizeof(*ar)), *br = ck_malloc((bn_ + 1) * sizeof(*br));
    size_t al = runes(a, an_, ar), bl = runes(b, bn_, br);
    bool res = al < bl;
    for (size_t i = 0; i < al && i < bl; i++) {
        if (ar[i] == br[i])
            continue;
        bool la = is_letter_rune(ar[i]), lb = is_letter_rune(br[i]);
        if (la && lb) {
            res = ar[i] < br[i];
            goto done;
        }
        if (la || lb) {
            res = lb;
            goto done;
        }
        int64_t an = 0, bn = 0;
        if (ar[i] == '0' || br[i] == '0') {
            for (size_t j = i; j-- > 0 && is_digit_rune(ar[j]);)
                if (ar[j] != '0') {
                    an = 1;
                    bn = 1;
                    break;
                }
        }
        size_t ai, bi;
        /* Go's int64 arithmetic wraps; do the same without signed overflow */
        for (ai = i; ai < al && is_digit_rune(ar[ai]); ai++)
            an = (int64_t)((uint64_t)an * 10 + (ar[ai] - '0'));
        for (bi = i; bi < bl && is_digit_rune(br[bi]); bi++)
            bn = (int64_t)((uint64_t)bn * 10 + (br[bi] - '0'));
        if (an != bn)
            res = an < bn;
        else if (ai != bi)
            res = ai < bi;
        else
            res = ar[i] < br[i];
        goto done;
    }
done:
    free(ar);
    free(br);
    return res;
}

struct kv {
    const char *k;
    size_t n;
    json_t *v;
};

/* Stable merge sort: the natural order need not be transitive in corner cases, so no
 * qsort (which may misbehave with such comparators). */
static void sort_kv(struct kv *a, struct kv *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_kv(a, tmp, h);
    sort_kv(a + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = key_less(a[j].k, a[j].n, a[i].k, a[i].n) ? a[j++] : a[i++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof(*a));
}

static int emit_value(struct emit *e, const json_t *v, size_t depth);

static int emit_object(struct emit *e, const json_t *v, size_t depth)
{
    yaml_event_t ev;
    size_t n = json_object_size(v);
    yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                        n ? YAML_BLOCK_MAPPING_STYLE : YAML_FLOW_MAPPING_STYLE);
    if (emit_ev(e, &ev) < 0)
        return -1;
    struct kv *items = ck_calloc(n ? n : 1, sizeof(*items));
    size_t i = 0;
    const char *k;
    size_t kl;
    json_t *m;
    json_object_keylen_foreach((json_t *)v, k, kl, m) items[i++] = (struct kv){k, kl, m};
    struct kv *tmp = ck_calloc(n ? n : 1, sizeof(*tmp));
    sort_kv(items, tmp, n);
    free(tmp);
    int rc = 0;
    for (i = 0; i < n && rc == 0; i++) {
        rc = emit_string(e, items[i].k, items[i].n);
        if (rc == 0)
            rc = emit_value(e, items[i].v, depth + 1);
    }
    free(items);
    if (rc < 0)
        return -1;
    yaml_mapping_end_event_initialize(&ev);
    return emit_ev(e, &ev);
}

static int emit_array(struct emit *e, const json_t *v, size_t depth)
{
    yaml_event_t ev;
    size_t n = json_array_size(v);
    yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                         n ? YAML_BLOCK_SEQUENCE_STYLE : YAML_FLOW_SEQUENCE_STYLE);
    if (emit_ev(e, &ev) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (emit_value(e, json_array_get(v, i), depth + 1) < 0)
            return -1;
    yaml_sequence_end_event_initialize(&ev);
    return emit_ev(e, &ev);
}

static int emit_value(struct emit *e, const json_t *v, size_t depth)
{
    char tmp[64];
    if (depth > YAML_MAX_DEPTH)
        return -1;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return emit_object(e, v, depth);
    case JSON_ARRAY:
        return emit_array(e, v, depth);
    case JSON_STRING:
        return emit_string(e, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return emit_plain(e, tmp);
    case JSON_REAL:
        yj_format_go_g(json_real_value(v), false, tmp, sizeof(tmp));
        return emit_plain(e, tmp);
    case JSON_TRUE:
        return emit_plain(e, "true");
    case JSON_FALSE:
        return emit_plain(e, "false");
    default:
        return emit_plain(e, "null");
    }
}

int json_to_yaml(const json_t *v, struct ck_buf *out)
{
    if (!v || !out)
        return -1;
    struct emit e = {.out = out};
    if (!yaml_emitter_initialize(&e.em))
        return -1;
    yaml_emitter_set_output(&e.em, write_handler, &e);
    yaml_emitter_set_unicode(&e.em, 1);
    yaml_emitter_set_width(&e.em, -1);
    yaml_emitter_set_indent(&e.em, 2);
    size_t start = out->len;
    yaml_event_t ev;
    int rc = 0;
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    rc = emit_ev(&e, &ev);
    if (rc == 0) {
        yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
        rc = emit_ev(&e, &ev);
    }
    if (rc == 0)
        rc = emit_value(&e, v, 0);
    if (rc == 0) {
        yaml_document_end_event_initialize(&ev, 1);
        rc = emit_ev(&e, &ev);
    }
    if (rc == 0) {
        yaml_stream_end_event_initialize(&ev);
        rc = emit_ev(&e, &ev);
    }
    if (rc == 0 && !yaml_emitter_flush(&e.em))
        rc = -1;
    yaml_emitter_delete(&e.em);
    if (rc < 0 || e.overflow) {
        out->len = start;
        if (out->data)
            out->data[start] = 0;
        return -1;
    }
    return 0;
}
