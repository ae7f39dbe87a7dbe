/* SPDX-License-Identifier: Apache-2.0 */
/* Server-side printing (meta.k8s.io/v1 Table): the same columns as upstream's
 * pkg/printers/internalversion for every built-in resource, and a generic fallback
 * (NAME, AGE / CREATED AT) for the rest. */
#ifndef CK_PRINTERS_H
#define CK_PRINTERS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct printer_col {
    const char *name;        /* "NAME", "READY", ... */
    const char *type;        /* "string", "integer", "number", "boolean", "date" */
    const char *format;      /* "name" for the NAME column, "" otherwise */
    const char *description;
    int priority;            /* 0 = default output, 1 = -o wide */
};

/* Columns for (group, resource), e.g. ("", "pods"); never NULL (generic fallback). */
const struct printer_col *printer_columns(const char *group, const char *resource, size_t *n);

/* Cells for one object as a new JSON array matching printer_columns() order. now_s is the
 * wall clock (seconds) for AGE columns. */
json_t *printer_cells(const char *group, const char *resource, const json_t *obj, int64_t now_s);

/* The columnDefinitions array of a Table for (group, resource); new reference. */
json_t *printer_column_definitions(const char *group, const char *resource);

#endif
