/* SPDX-License-Identifier: Apache-2.0 */
/* Selection and representations of cached objects shared by LIST and WATCH: namespace and
 * selector matching, PartialObjectMetadata, and meta.k8s.io Table pieces (printer cells). */
#include "apiserver/registry/printers.h"
#include "apiserver/storage/storage.h"
#include "lib/timeutil.h"

#include <pthread.h>
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

/* A Table row's cells as JSON, kept with the object so that a LIST of unchanged objects copies
 * bytes instead of parsing and printing each object (about 100 us a row before). Cells that
 * count time ("5m", "3 (20s ago)") are re-rendered from the time they count from, in place:
 * each is a slot, found in the JSON as the whole cell ("5m") or inside "(5m ago)". When a
 * duration's text is not unique in the row (two cells saying "5m"), the row is kept only until
 * the first of its durations would print differently. The cache is replaced under a striped
 * lock while other readers may be copying it. */
struct row_slot {
    int64_t base_s; /* what the duration counts from */
    uint32_t off;   /* of its text in cells */
    uint32_t len;
};

struct eng_row {
    int64_t from_s, until_s; /* valid in [from_s, until_s) (wall-clock seconds) */
    size_t len, nslots;
    size_t md_off, md_len; /* the object's metadata bytes in its body (md_len 0: not found) */
    struct row_slot slots[PRINTER_MAX_AGES];
    char cells[];
};

#define ROW_STRIPES 64
static pthread_mutex_t row_mu[ROW_STRIPES] = {[0 ... ROW_STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER};

static pthread_mutex_t *row_lock(const struct eng_obj *o)
{
    return &row_mu[((uintptr_t)o >> 6) % ROW_STRIPES];
}

void eng_obj_row_release(struct eng_obj *o)
{
    free(atomic_load(&o->row));
}

/* Copies r's cells with every slot re-rendered at now. */
static int append_row(struct ck_buf *out, const struct eng_row *r, int64_t now)
{
    int rc = 0;
    size_t at = 0;
    for (size_t i = 0; i < r->nslots; i++) {
        const struct row_slot *sl = &r->slots[i];
        char text[16];
        ck_time_age(now - sl->base_s, text);
        rc |= ck_buf_append(out, r->cells + at, sl->off - at);
        rc |= ck_buf_appends(out, text);
        at = sl->off + sl->len;
    }
    rc |= ck_buf_append(out, r->cells + at, r->len - at);
    return rc;
}

/* Appends the cached cells when still valid at now (and gives the metadata span); false
 * otherwise. */
static bool append_cached_cells(struct ck_buf *out, struct eng_obj *o, int64_t now, int *rc,
                                size_t *md_off, size_t *md_len)
{
    if (!atomic_load_explicit(&o->row, memory_order_acquire))
        return false;
    pthread_mutex_t *mu = row_lock(o);
    pthread_mutex_lock(mu);
    struct eng_row *r = atomic_load(&o->row);
    bool hit = r && now >= r->from_s && now < r->until_s; /* the clock may step back */
    if (hit) {
        *rc |= append_row(out, r, now);
        *md_off = r->md_off;
        *md_len = r->md_len;
    }
    pthread_mutex_unlock(mu);
    return hit;
}

/* Where text occurs in cs as a whole cell or as "(text ago)": its offset, or -1 when it does
 * not occur exactly once. */
static long find_slot(const char *cs, const char *text)
{
    char pat[2][40];
    snprintf(pat[0], sizeof(pat[0]), "\"%s\"", text);
    snprintf(pat[1], sizeof(pat[1]), "(%s ago)", text);
    long found = -1;
    int count = 0;
    for (int k = 0; k < 2; k++)
        for (const char *p = strstr(cs, pat[k]); p; p = strstr(p + 1, pat[k])) {
            count++;
            found = (long)(p - cs) + 1;
        }
    return count == 1 ? found : -1;
}

static int cmp_slot(const void *a, const void *b)
{
    const struct row_slot *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

static void store_cells(struct eng_obj *o, const char *cs, size_t len, int64_t now)
{
    struct eng_row *r = ck_malloc(sizeof(*r) + len);
    r->from_s = INT64_MIN;
    r->until_s = INT64_MAX;
    r->len = len;
    r->nslots = 0;
    r->md_off = r->md_len = 0;
    if (!metadata_span(o, &r->md_off, &r->md_len))
        r->md_len = 0;
    memcpy(r->cells, cs, len);
    const struct printer_age_note *ages;
    size_t n = printer_cells_ages(&ages);
    bool slots_ok = n <= PRINTER_MAX_AGES;
    for (size_t i = 0; slots_ok && i < n; i++) {
        for (size_t j = 0; j < i; j++)
            slots_ok = slots_ok && strcmp(ages[i].text, ages[j].text) != 0;
        long off = slots_ok ? find_slot(cs, ages[i].text) : -1;
        slots_ok = slots_ok && off >= 0;
        if (slots_ok)
            r->slots[r->nslots++] = (struct row_slot){.base_s = ages[i].base_s,
                                                      .off = (uint32_t)off,
                                                      .len = (uint32_t)strlen(ages[i].text)};
    }
    if (!slots_ok) { /* not re-renderable: keep it while it reads the same */
        r->nslots = 0;
        r->from_s = now;
        int64_t valid = printer_cells_valid_s();
        r->until_s = valid == INT64_MAX ? INT64_MAX : now + valid;
    }
    qsort(r->slots, r->nslots, sizeof(r->slots[0]), cmp_slot);
    pthread_mutex_t *mu = row_lock(o);
    pthread_mutex_lock(mu);
    struct eng_row *old = atomic_exchange(&o->row, r);
    pthread_mutex_unlock(mu);
    free(old);
}

int eng_table_row(struct ck_buf *out, const struct reg_resource *res, const struct eng_obj *o,
                  const char *include)
{
    return eng_table_row_at(out, res, o, include, (int64_t)time(NULL));
}

int eng_table_row_at(struct ck_buf *out, const struct reg_resource *res, const struct eng_obj *o,
                     const char *include, int64_t now)
{
    struct eng_obj *mo = (struct eng_obj *)o;    /* only its row cache changes */
    int rc = ck_buf_appends(out, "{\"cells\":"); /* appends, not %s: no vsnprintf per row */
    size_t md_off = 0, md_len = 0;
    if (!append_cached_cells(out, mo, now, &rc, &md_off, &md_len)) {
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
        rc |= ck_buf_appends(out, cs ? cs : "[]");
        if (cs && strlen(cs) < UINT32_MAX)
            store_cells(mo, cs, strlen(cs), now);
        free(cs);
    }
    if (include && strcmp(include, "None") == 0) {
        rc |= ck_buf_appends(out, ",\"object\":null");
    } else if (include && strcmp(include, "Object") == 0) {
        rc |= ck_buf_appends(out, ",\"object\":");
        rc |= ck_buf_append(out, o->body, o->len);
    } else {
        rc |= ck_buf_appends(out, ",\"object\":{\"kind\":\"PartialObjectMetadata\","
                                  "\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":");
        if (md_len)
            rc |= ck_buf_append(out, o->body + md_off, md_len);
        else
            rc |= append_metadata(out, o);
        rc |= ck_buf_appendc(out, '}');
    }
    rc |= ck_buf_appendc(out, '}');
    return rc;
}
