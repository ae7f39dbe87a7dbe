/* SPDX-License-Identifier: Apache-2.0 */
/* Server-side printing (meta.k8s.io/v1 Table): the same columns as upstream's
 * pkg/printers/internalversion for every built-in resource, and a generic fallback
 * (NAME, AGE / CREATED AT) for the rest. */
#ifndef CK_PRINTERS_H
#define CK_PRINTERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct printer_col {
    const char *name;   /* "NAME", "READY", ... */
    const char *type;   /* "string", "integer", "number", "boolean", "date" */
    const char *format; /* "name" for the NAME column, "" otherwise */
    const char *description;
    int priority; /* 0 = default output, 1 = -o wide */
};

/* Columns for (group, resource), e.g. ("", "pods"); never NULL (generic fallback).
 * Names are upstream's spelling ("Name", "Ready", "Port(s)", "Nominated Node"): kubectl
 * upper-cases them itself. Built-in groups without a dedicated printer get upstream's
 * default convertor (Name, "Created At" of type date, an RFC 3339 cell); any other group
 * (custom resources) gets Name + Age (a human duration cell). */
const struct printer_col *printer_columns(const char *group, const char *resource, size_t *n);

/* Cells for one object as a new JSON array matching printer_columns() order. now_s is the
 * wall clock (seconds) for AGE columns. Always the full (wide) row, as upstream's
 * apiserver generates it; priority-1 columns are simply hidden by kubectl without -o wide.
 * Never NULL: missing fields print as upstream prints them ("<none>", "<unknown>", 0). */
json_t *printer_cells(const char *group, const char *resource, const json_t *obj, int64_t now_s);

/* The same cells with every clock-relative duration ("5m", the "20s" of "3 (20s ago)") printed
 * as a marker instead: PRINTER_AGE_MARK, 'A' + k, PRINTER_AGE_MARK for the k-th duration
 * printed (k < PRINTER_MAX_AGES; printer_cells_ages gives what each counts from). Everything
 * else in the row does not depend on the clock, so the template can be kept with an object
 * and the row rendered at any later time by putting ck_time_age(now - base) in each marker's
 * place. Only meaningful when no string in obj contains PRINTER_AGE_MARK. */
#define PRINTER_AGE_MARK '\x01'
json_t *printer_cells_template(const char *group, const char *resource, const json_t *obj,
                               int64_t now_s);
/* A clock-relative duration d seconds before now_s into out (16 bytes), as ck_time_age prints
 * it (or its marker while printing a template); noted for printer_cells_ages. Printers print
 * every duration that counts from the clock through this. */
void printer_age_text(int64_t now_s, int64_t d, char out[16]);
/* The clock-relative durations the last printer_cells(_template) call on this thread printed,
 * in the order printed: the time they count from and their text (valid until the next call).
 * A count above PRINTER_MAX_AGES means more were printed than kept (and marked). */
#define PRINTER_MAX_AGES 8
struct printer_age_note {
    int64_t base_s;
    char text[16];
};
size_t printer_cells_ages(const struct printer_age_note **out);

/* The columnDefinitions array of a Table for (group, resource); new reference. */
json_t *printer_column_definitions(const char *group, const char *resource);

/* Row conditions of upstream's pod printer: for a pod in phase Succeeded/Failed a new array
 * [{"type":"Completed","status":"True","reason":<phase>,"message":...}], else NULL. */
json_t *printer_row_conditions(const char *group, const char *resource, const json_t *obj);

/* --- JSON helpers shared by printers*.c, validation*.c and defaults*.c ---------------- */

/* Walks a dotted path of object keys ("spec.template.spec"); NULL when any step is missing
 * or not an object. */
json_t *printer_jget(const json_t *obj, const char *path);
/* String at path, or "" (never NULL). */
const char *printer_jstr(const json_t *obj, const char *path);
/* Integer at path (real values truncated), or dflt when absent / not a number. */
long long printer_jint(const json_t *obj, const char *path, long long dflt);
/* Human age of an RFC 3339 timestamp ("5m", "3d4h"), "<unknown>" when ts is NULL/empty or
 * unparsable; out must hold 16 bytes. */
void printer_age(const char *ts, int64_t now_s, char out[16]);

/* --- internal: one printer per (group, resource), defined in printers_core.c and
 * printers_apps.c. cells appends every column's cell to row. */
struct printer_def {
    const char *group;
    const char *resource;
    const struct printer_col *cols;
    size_t ncols;
    void (*cells)(const json_t *obj, int64_t now_s, json_t *row);
};
extern const struct printer_def printer_defs_core[];
extern const size_t printer_defs_core_n;
extern const struct printer_def printer_defs_apps[];
extern const size_t printer_defs_apps_n;
extern const struct printer_def printer_defs_groups[]; /* printers_groups.c */
extern const size_t printer_defs_groups_n;

/* Appends a JSON string / integer cell to row. */
void printer_add_str(json_t *row, const char *s);
/* printer_add_str, then free(s). */
void printer_add_owned(json_t *row, char *s);
/* Element count of an array or object; 0 for anything else. */
size_t printer_jsize(const json_t *v);
/* qsort comparator for an array of C strings. */
int printer_cmp_cstr(const void *a, const void *b);
void printer_add_int(json_t *row, long long v);
/* Appends the age of metadata.creationTimestamp. */
void printer_add_age(json_t *row, const json_t *obj, int64_t now_s);
/* labels.FormatLabels: "a=b,c=d" with keys sorted, "<none>" when empty; new string. */
char *printer_format_labels(const json_t *map);
/* A LabelSelector as upstream's selector String(): "a=b,env in (x,y),!k"; "" when empty
 * or absent; new string. */
char *printer_format_selector(const json_t *sel);
/* Container names and images joined by ","; new strings. */
void printer_containers(const json_t *podspec, char **names, char **images);

/* Shared column definitions of the printer tables (printers_*.c). */
#define PRINTER_COL_NAME                                                                           \
    {                                                                                              \
        "Name", "string", "name", "Name of the object, unique within its namespace.", 0            \
    }
#define PRINTER_COL_AGE                                                                            \
    {                                                                                              \
        "Age", "string", "", "Time since the object was created.", 0                               \
    }
#define PRINTER_NCOLS(a) (sizeof(a) / sizeof((a)[0]))

#endif
