/* SPDX-License-Identifier: Apache-2.0 */
/* Selection and representations of cached objects shared by LIST and WATCH: namespace and
 * selector matching, PartialObjectMetadata, and meta.k8s.io Table pieces (printer cells). */
#include "apiserver/registry/printers.h"
#include "apiserver/storage/storage.h"

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

static int append_metadata(struct ck_buf *out, const struct eng_obj *o)
{
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

int eng_table_row(struct ck_buf *out, const struct reg_resource *res, const struct eng_obj *o,
                  const char *include)
{
    json_t *j = eng_obj_json(o);
    if (!j)
        return -1;
    json_t *cells = printer_cells(res->group, res->plural, j, (int64_t)time(NULL));
    if (!cells) {
        cells = json_array();
        json_array_append_new(cells, json_string(o->name));
    }
    char *cs = json_dumps(cells, JSON_COMPACT);
    json_decref(cells);
    int rc = ck_buf_appends(out, "{\"cells\":"); /* appends, not %s: no vsnprintf per row */
    rc |= ck_buf_appends(out, cs ? cs : "[]");
    free(cs);
    if (include && strcmp(include, "None") == 0) {
        rc |= ck_buf_appends(out, ",\"object\":null");
    } else if (include && strcmp(include, "Object") == 0) {
        rc |= ck_buf_appends(out, ",\"object\":");
        rc |= ck_buf_append(out, o->body, o->len);
    } else {
        json_t *md = json_object_get(j, "metadata");
        char *ms = md ? json_dumps(md, JSON_COMPACT) : NULL;
        rc |= ck_buf_appends(out, ",\"object\":{\"kind\":\"PartialObjectMetadata\","
                                  "\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":");
        rc |= ck_buf_appends(out, ms ? ms : "{}");
        rc |= ck_buf_appendc(out, '}');
        free(ms);
    }
    rc |= ck_buf_appendc(out, '}');
    json_decref(j);
    return rc;
}
