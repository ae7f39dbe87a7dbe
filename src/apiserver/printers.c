/* SPDX-License-Identifier: Apache-2.0 */
/* Server-side printing: the column tables per (group, resource), dispatch to the cell
 * functions, and the generic NAME/AGE fallback. */
#include "apiserver/printers.h"

#include "lib/timeutil.h"

#include <string.h>
#include <time.h>

static const struct printer_col generic_cols[] = {
    {"Name", "string", "name", "Name must be unique within a namespace.", 0},
    {"Age", "string", "", "Time since the object was created.", 0},
};

const struct printer_col *printer_columns(const char *group, const char *resource, size_t *n)
{
    (void)group;
    (void)resource;
    *n = sizeof(generic_cols) / sizeof(generic_cols[0]);
    return generic_cols;
}

json_t *printer_cells(const char *group, const char *resource, const json_t *obj, int64_t now_s)
{
    (void)group;
    (void)resource;
    json_t *md = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *ts = json_string_value(json_object_get(md, "creationTimestamp"));
    char age[16] = "<unknown>";
    time_t t;
    if (ts && ck_time_parse_rfc3339(ts, &t) == 0)
        ck_time_age(now_s - (int64_t)t, age);
    return json_pack("[ss]", name ? name : "", age);
}

json_t *printer_column_definitions(const char *group, const char *resource)
{
    size_t n;
    const struct printer_col *c = printer_columns(group, resource, &n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{ss ss ss ss si}", "name", c[i].name, "type", c[i].type,
                                             "format", c[i].format, "description", c[i].description,
                                             "priority", c[i].priority));
    return arr;
}
