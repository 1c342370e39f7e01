/*
 * What every daemon command shares for its output: rows (aligned columns
 * under a header on a terminal, tab-separated lines without one for
 * scripts) or the daemon's JSON.
 */
#ifndef FLASHLINE_OUTPUT_H
#define FLASHLINE_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct out_table out_table;

/* A table of ncols columns; headers are not copied. NULL when out of memory. */
out_table *out_table_new(size_t ncols, const char *const *headers);
/* Adds a row (cells copied; tabs and newlines become spaces so that a row
 * stays one line). */
bool out_table_add(out_table *t, const char *const *cells);
void out_table_print(const out_table *t, FILE *to, bool aligned);
void out_table_free(out_table *t);

/* A JSON value as a table cell: strings as they are, null or missing as
 * "-", numbers in decimal, booleans as yes/no. */
const char *out_cell(json_t *v, char *buf, size_t size);
/* The daemon's JSON, indented, on stdout. */
void out_json(json_t *v);
/* Whether stdout is a terminal (then tables are aligned). */
bool out_tty(void);

#endif
