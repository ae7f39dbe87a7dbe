/* SPDX-License-Identifier: Apache-2.0 */
/* Selection and representations of cached objects shared by LIST and WATCH: namespace and
 * selector matching, PartialObjectMetadata, and meta.k8s.io Table pieces (printer cells). */
#include "apiserver/registry/printers.h"
#include "apiserver/storage/storage.h"
#include "lib/timeutil.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

bool eng_obj_matches(const struct eng_obj *o, const char *ns, const struct sel *ls,
                     const struct sel *fs)
{
    if (ns && strcmp(o->ns, ns) != 0)
        return false;
    if (ls && !sel_matches(ls, eng_obj_label, (void *)o))
        return false;
    if (fs && !sel_matches(fs, eng_obj_field, (void *)o))
        return false;
    return true;
}

/* ---- representations ---------------------------------------------------------------- */

/* Skips the JSON string starting at body[i] (a '"'); returns the index after it. */
static size_t skip_string(const char *b, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (b[i] == '\\')
            i++;
        else if (b[i] == '"')
            return i + 1;
    }
    return n;
}

/* Skips the JSON value starting at body[i]; returns the index after it. Objects are stored
 * as valid JSON, so only strings and nesting need care. */
static size_t skip_value(const char *b, size_t n, size_t i)
{
    if (i < n && b[i] == '"')
        return skip_string(b, n, i);
    if (i < n && (b[i] == '{' || b[i] == '[')) {
        int depth = 0;
        for (; i < n; i++) {
            char c = b[i];
            if (c == '"') {
                i = skip_string(b, n, i) - 1;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if ((c == '}' || c == ']') && --depth == 0) {
                return i + 1;
            }
        }
        return n;
    }
    while (i < n && b[i] != ',' && b[i] != '}' && b[i] != ']')
        i++;
    return i;
}

/* The bytes of the top-level "metadata" value of a stored object, without parsing it (a
 * Table row's PartialObjectMetadata is exactly those bytes); false when absent. */
static bool metadata_span(const struct eng_obj *o, size_t *off, size_t *len)
{
    const char *b = o->body;
    size_t n = o->len, i = 0;
    while (i < n && b[i] != '{')
        i++;
    for (i++; i < n;) {
        while (i < n && (b[i] == ' ' || b[i] == ',' || b[i] == '\n'))
            i++;
        if (i >= n || b[i] != '"')
            return false;
        size_t k = i, ke = skip_string(b, n, i);
        i = ke;
        while (i < n && (b[i] == ' ' || b[i] == ':'))
            i++;
        size_t ve = skip_value(b, n, i);
        if (ke - k == 10 && !memcmp(b + k, "\"metadata\"", 10)) {
            *off = i;
            *len = ve - i;
            return ve > i;
        }
        i = ve;
    }
    return false;
}

static int append_metadata(struct ck_buf *out, const struct eng_obj *o)
{
    size_t off, len;
    if (metadata_span(o, &off, &len))
        return ck_buf_append(out, o->body + off, len);
    json_t *j = eng_obj_json(o);
    json_t *md = json_object_get(j, "metadata");
    char *s = md ? json_dumps(md, JSON_COMPACT) : NULL;
    int rc = ck_buf_appends(out, s ? s : "{}");
    free(s);
    json_decref(j);
    return rc;
}

int eng_append_partial(struct ck_buf *out, const struct eng_obj *o)
{
    int rc = ck_buf_appends(out, "{\"kind\":\"PartialObjectMetadata\","
                                 "\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":");
    rc |= append_metadata(out, o);
    rc |= ck_buf_appendc(out, '}');
    return rc;
}

int eng_table_open(struct ck_buf *out, const struct reg_resource *res, const char *tv,
                   bool with_columns)
{
    int rc = ck_buf_appendf(out, "{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/%s\",",
                            tv ? tv : "v1");
    if (with_columns) {
        json_t *cols = printer_column_definitions(res->group, res->plural);
        char *s = cols ? json_dumps(cols, JSON_COMPACT) : NULL;
        rc |= ck_buf_appendf(out, "\"columnDefinitions\":%s,",
                             s ? s
                               : "[{\"name\":\"Name\",\"type\":\"string\",\"format\":"
                                 "\"name\",\"description\":\"Name\",\"priority\":0}]");
        free(s);
        json_decref(cols);
    } else {
        rc |= ck_buf_appends(out, "\"columnDefinitions\":null,");
    }
    rc |= ck_buf_appends(out, "\"rows\":[");
    return rc;
}

/* A Table row's cells kept with the object, so that a Table LIST copies bytes instead of parsing
 * and printing each object (about 100 us a row). The row is printed once per object version,
 * as a template (printer_cells_template): when the object is built from stored bytes (it is
 * parsed then anyway), or else on its first Table request. Cells that count time ("5m", the
 * "20s" of "3 (20s ago)") are left out and kept as slots: the time they count from and where
 * they go; a request renders each slot with ck_time_age and copies the rest. The row never
 * changes once set (set before the object is shared, or by one compare-and-swap), so readers
 * take no lock. Objects whose strings contain the template's marker are printed every time. */
struct eng_row {
    uint32_t len;            /* bytes of cells, the durations left out */
    uint32_t md_off, md_len; /* the object's metadata bytes in its body (md_len 0: not found) */
    uint16_t nslots;         /* durations, by offset */
    char data[];             /* nslots int64_t bases, nslots uint32_t offsets, then the cells */
};

#define ROW_MAX_SLOTS 16
/* PRINTER_AGE_MARK as json_dumps escapes it; a marker is MARK_JSON, a letter, MARK_JSON. */
static const char MARK_JSON[] = "\\u0001";
#define MARK_LEN (sizeof(MARK_JSON) - 1)

static inline int64_t row_base(const struct eng_row *r, size_t i)
{
    int64_t v;
    memcpy(&v, r->data + i * sizeof(v), sizeof(v));
    return v;
}

static inline uint32_t row_off(const struct eng_row *r, size_t i)
{
    uint32_t v;
    memcpy(&v, r->data + r->nslots * sizeof(int64_t) + i * sizeof(v), sizeof(v));
    return v;
}

static inline const char *row_cells(const struct eng_row *r)
{
    return r->data + r->nslots * (sizeof(int64_t) + sizeof(uint32_t));
}

static size_t row_size(const struct eng_row *r)
{
    return sizeof(*r) + r->nslots * (sizeof(int64_t) + sizeof(uint32_t)) + r->len;
}

void eng_obj_row_release(struct eng_obj *o)
{
    free(atomic_load_explicit(&o->row, memory_order_relaxed));
}

/* A template is printable for o only when no string of it can contain the marker. */
static bool row_templatable(const struct eng_obj *o)
{
    return !memmem(o->body, o->len, MARK_JSON, MARK_LEN);
}

/* The row of o (parsed as j), or NULL when it cannot be kept (marker in the object, more
 * durations than marked, a huge row). */
static struct eng_row *row_build(const struct eng_obj *o, const json_t *j)
{
    if (!row_templatable(o))
        return NULL;
    json_t *cells = printer_cells_template(o->res->group, o->res->plural, j, (int64_t)time(NULL));
    const struct printer_age_note *ages;
    size_t nages = printer_cells_ages(&ages);
    char *cs = nages <= PRINTER_MAX_AGES ? json_dumps(cells, JSON_COMPACT) : NULL;
    json_decref(cells);
    if (!cs)
        return NULL;
    size_t n = strlen(cs), w = 0, ns = 0;
    int64_t base[ROW_MAX_SLOTS];
    uint32_t off[ROW_MAX_SLOTS];
    const char *p = cs, *end = cs + n, *q;
    bool ok = n < UINT32_MAX;
    while (ok && (q = memmem(p, (size_t)(end - p), MARK_JSON, MARK_LEN))) {
        /* the cells are compacted in place: each marker is cut out and becomes a slot */
        ok = ns < ROW_MAX_SLOTS && (size_t)(end - q) >= 2 * MARK_LEN + 1 && q[MARK_LEN] >= 'A' &&
             (size_t)(q[MARK_LEN] - 'A') < nages &&
             memcmp(q + MARK_LEN + 1, MARK_JSON, MARK_LEN) == 0;
        if (!ok)
            break;
        memmove(cs + w, p, (size_t)(q - p));
        w += (size_t)(q - p);
        base[ns] = ages[q[MARK_LEN] - 'A'].base_s;
        off[ns++] = (uint32_t)w;
        p = q + 2 * MARK_LEN + 1;
    }
    if (!ok) {
        free(cs);
        return NULL;
    }
    memmove(cs + w, p, (size_t)(end - p));
    w += (size_t)(end - p);
    struct eng_row *r = ck_malloc(sizeof(*r) + ns * (sizeof(int64_t) + sizeof(uint32_t)) + w);
    r->len = (uint32_t)w;
    r->nslots = (uint16_t)ns;
    size_t md_off = 0, md_len = 0;
    if (!metadata_span(o, &md_off, &md_len) || md_off > UINT32_MAX || md_len > UINT32_MAX)
        md_off = md_len = 0;
    r->md_off = (uint32_t)md_off;
    r->md_len = (uint32_t)md_len;
    memcpy(r->data, base, ns * sizeof(int64_t));
    memcpy(r->data + ns * sizeof(int64_t), off, ns * sizeof(uint32_t));
    memcpy((char *)row_cells(r), cs, w);
    free(cs);
    return r;
}

void eng_obj_row_init(struct eng_obj *o, const json_t *j)
{
    atomic_store_explicit(&o->row, row_build(o, j), memory_order_release);
}

void eng_obj_row_copy(struct eng_obj *dst, const struct eng_obj *src)
{
    const struct eng_row *r = atomic_load_explicit(&src->row, memory_order_acquire);
    if (!r)
        return;
    struct eng_row *c = ck_malloc(row_size(r));
    memcpy(c, r, row_size(r));
    size_t md_off = 0, md_len = 0; /* the metadata holds the resourceVersion, which changed */
    if (!metadata_span(dst, &md_off, &md_len) || md_off > UINT32_MAX || md_len > UINT32_MAX)
        md_off = md_len = 0;
    c->md_off = (uint32_t)md_off;
    c->md_len = (uint32_t)md_len;
    atomic_store_explicit(&dst->row, c, memory_order_release);
}

/* The kept row of o, built now from its bytes when it has none; NULL when it cannot be kept. */
static const struct eng_row *row_get(struct eng_obj *o)
{
    struct eng_row *r = atomic_load_explicit(&o->row, memory_order_acquire);
    if (r || !row_templatable(o))
        return r;
    json_t *j = eng_obj_json(o);
    r = j ? row_build(o, j) : NULL;
    json_decref(j);
    if (!r)
        return NULL;
    struct eng_row *expected = NULL;
    if (!atomic_compare_exchange_strong_explicit(&o->row, &expected, r, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        free(r); /* another request kept the same row first */
        r = expected;
    }
    return r;
}

/* ck_time_age(d), remembering the last answer: the rows of a LIST mostly share their ages. */
static size_t age_text(int64_t d, char out[16])
{
    static _Thread_local int64_t last_d = INT64_MIN;
    static _Thread_local char last[16];
    static _Thread_local size_t last_len;
    if (d != last_d) {
        ck_time_age(d, last);
        last_len = strlen(last);
        last_d = d;
    }
    memcpy(out, last, sizeof(last));
    return last_len;
}

/* Appends r's cells with every slot rendered at now. */
static int append_row(struct ck_buf *out, const struct eng_row *r, int64_t now)
{
    char *dst = ck_buf_reserve(out, r->len + (size_t)r->nslots * 16);
    if (!dst)
        return -1;
    const char *cells = row_cells(r);
    size_t at = 0;
    for (size_t i = 0; i < r->nslots; i++) {
        size_t o = row_off(r, i);
        memcpy(dst, cells + at, o - at);
        dst += o - at;
        char text[16];
        size_t tl = age_text(now - row_base(r, i), text);
        memcpy(dst, text, tl);
        dst += tl;
        at = o;
    }
    memcpy(dst, cells + at, r->len - at);
    dst += r->len - at;
    out->len = (size_t)(dst - out->data);
    out->data[out->len] = '\0';
    return 0;
}

#define APPEND_LIT(out, s) ck_buf_append((out), (s), sizeof(s) - 1)

/* The cells printed from o's JSON at now, without the kept row. */
static int append_printed_cells(struct ck_buf *out, const struct reg_resource *res,
                                const struct eng_obj *o, int64_t now)
{
    json_t *j = eng_obj_json(o);
    if (!j)
        return -1;
    json_t *cells = printer_cells(res->group, res->plural, j, now);
    json_decref(j);
    if (!cells) {
        cells = json_array();
        json_array_append_new(cells, json_string(o->name));
    }
    char *cs = json_dumps(cells, JSON_COMPACT);
    json_decref(cells);
    int rc = ck_buf_appends(out, cs ? cs : "[]");
    free(cs);
    return rc;
}

/* The object part of a row after its cells, in three pieces: what goes before the object's own
 * bytes (appended to out), those bytes (o->body[*off, *off + *len), *len 0: none) and what
 * follows them (*tail). */
static int row_object_parts(struct ck_buf *out, const struct eng_obj *o, const char *include,
                            const struct eng_row *r, size_t *off, size_t *len, const char **tail)
{
    int rc = 0;
    *off = *len = 0;
    if (include && strcmp(include, "None") == 0) {
        rc |= APPEND_LIT(out, ",\"object\":null}");
        *tail = "";
    } else if (include && strcmp(include, "Object") == 0) {
        rc |= APPEND_LIT(out, ",\"object\":");
        *len = o->len;
        *tail = "}";
    } else {
        rc |= APPEND_LIT(out, ",\"object\":{\"kind\":\"PartialObjectMetadata\","
                              "\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":");
        if (r && r->md_len) {
            *off = r->md_off;
            *len = r->md_len;
        } else {
            rc |= append_metadata(out, o);
        }
        *tail = "}}";
    }
    return rc;
}

static int append_row_object(struct ck_buf *out, const struct eng_obj *o, const char *include,
                             const struct eng_row *r)
{
    size_t off, len;
    const char *tail;
    int rc = row_object_parts(out, o, include, r, &off, &len, &tail);
    rc |= ck_buf_append(out, o->body + off, len);
    rc |= ck_buf_appends(out, tail);
    return rc;
}

/* The cells of o's row at now: kept (and its row returned) or printed. */
static int append_cells(struct ck_buf *out, const struct reg_resource *res, const struct eng_obj *o,
                        int64_t now, const struct eng_row **r)
{
    *r = row_get((struct eng_obj *)o); /* only its row may be set */
    int rc = APPEND_LIT(out, "{\"cells\":");
    if (*r)
        return rc | append_row(out, *r, now);
    return append_printed_cells(out, res, o, now) < 0 ? -1 : rc;
}

int eng_table_row_lend(struct ck_buf *out, const struct reg_resource *res, const struct eng_obj *o,
                       const char *include, int64_t now, struct eng_row_span *sp)
{
    const struct eng_row *r;
    const char *tail;
    if (append_cells(out, res, o, now, &r) < 0)
        return -1;
    int rc = row_object_parts(out, o, include, r, &sp->off, &sp->len, &tail);
    sp->cut = out->len;
    rc |= ck_buf_appends(out, tail);
    return rc;
}

int eng_table_row(struct ck_buf *out, const struct reg_resource *res, const struct eng_obj *o,
                  const char *include)
{
    return eng_table_row_at(out, res, o, include, (int64_t)time(NULL));
}

int eng_table_row_at(struct ck_buf *out, const struct reg_resource *res, const struct eng_obj *o,
                     const char *include, int64_t now)
{
    const struct eng_row *r;
    if (append_cells(out, res, o, now, &r) < 0)
        return -1;
    return append_row_object(out, o, include, r);
}

int eng_table_row_print(struct ck_buf *out, const struct reg_resource *res, const struct eng_obj *o,
                        const char *include, int64_t now)
{
    int rc = APPEND_LIT(out, "{\"cells\":");
    if (append_printed_cells(out, res, o, now) < 0)
        return -1;
    rc |= append_row_object(out, o, include, NULL);
    return rc;
}
