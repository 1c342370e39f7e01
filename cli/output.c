/*
 * The output conventions shared by the daemon commands: tables and JSON out
 * (their command line is args.c's).
 */
#include "output.h"
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct out_table {
    size_t ncols;
    const char *const *headers;
    char **cells; /* nrows * ncols */
    size_t nrows, cap;
};

out_table *out_table_new(size_t ncols, const char *const *headers)
{
    out_table *t = calloc(1, sizeof *t);
    if (t) {
        t->ncols = ncols;
        t->headers = headers;
    }
    return t;
}

bool out_table_add(out_table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        char **c = realloc(t->cells, cap * t->ncols * sizeof *c);
        if (!c)
            return false;
        t->cells = c;
        t->cap = cap;
    }
    char **row = t->cells + t->nrows * t->ncols;
    for (size_t k = 0; k < t->ncols; k++) {
        row[k] = strdup(cells[k] ? cells[k] : "-");
        if (!row[k]) {
            while (k--)
                free(row[k]);
            return false;
        }
        for (char *p = row[k]; *p; p++)
            if (*p == '\t' || *p == '\n' || *p == '\r')
                *p = ' ';
    }
    t->nrows++;
    return true;
}

void out_table_print(const out_table *t, FILE *to, bool aligned)
{
    if (!aligned) {
        for (size_t r = 0; r < t->nrows; r++)
            for (size_t k = 0; k < t->ncols; k++)
                fprintf(to, "%s%c", t->cells[r * t->ncols + k], k + 1 < t->ncols ? '\t' : '\n');
        return;
    }
    size_t width[32] = {0};
    size_t n = t->ncols < 32 ? t->ncols : 32;
    for (size_t k = 0; k < n; k++) {
        width[k] = strlen(t->headers[k]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t w = strlen(t->cells[r * t->ncols + k]);
            if (w > width[k])
                width[k] = w;
        }
    }
    for (size_t r = 0; r <= t->nrows; r++) {
        for (size_t k = 0; k < n; k++) {
            const char *s = r == 0 ? t->headers[k] : t->cells[(r - 1) * t->ncols + k];
            /* No trailing blanks after the last column. */
            if (k + 1 < n)
                fprintf(to, "%-*s  ", (int)width[k], s);
            else
                fprintf(to, "%s\n", s);
        }
    }
}

void out_table_free(out_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

const char *out_cell(json_t *v, char *buf, size_t size)
{
    if (!v || json_is_null(v))
        return "-";
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, size, "%g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, size, "%s", json_is_true(v) ? "yes" : "no");
    else {
        char *s = json_dumps(v, JSON_COMPACT);
        snprintf(buf, size, "%s", s ? s : "?");
        free(s);
    }
    return buf;
}

void out_json(json_t *v)
{
    json_dumpf(v, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
}

bool out_tty(void)
{
    return isatty(STDOUT_FILENO);
}
