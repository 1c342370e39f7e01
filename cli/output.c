/*
 * The command-line conventions shared by the daemon commands: options in,
 * tables and JSON out.
 */
#include "output.h"
#include "cli.h"

#include <errno.h>
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

static const cli_optspec *find_opt(const cli_optspec *spec, const char *name, size_t len,
                                   int *index)
{
    for (int k = 0; spec && spec[k].name; k++)
        if (strlen(spec[k].name) == len && strncmp(spec[k].name, name, len) == 0) {
            *index = k;
            return &spec[k];
        }
    return NULL;
}

int cli_parse(const char *cmd, int argc, char **argv, const cli_optspec *spec, const char **vals,
              cli_opts *o, const char **pos, int maxpos, int *npos)
{
    static const cli_optspec globals[] = {{"--json", false}, {"--socket", true}, {NULL, false}};
    for (int k = 0; spec && spec[k].name; k++)
        vals[k] = NULL;
    *npos = 0;
    bool options = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!options || a[0] != '-' || strcmp(a, "-") == 0) {
            if (*npos >= maxpos) {
                fprintf(stderr, "flashline %s: unexpected argument '%s'\n", cmd, a);
                return CLI_USAGE;
            }
            pos[(*npos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options = false;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        int k = -1, g = -1;
        const cli_optspec *s = find_opt(spec, a, len, &k);
        if (!s)
            s = find_opt(globals, a, len, &g);
        if (!s) {
            fprintf(stderr, "flashline %s: unknown option '%.*s'\n", cmd, (int)len, a);
            return CLI_USAGE;
        }
        const char *v = "";
        if (s->has_arg) {
            if (eq)
                v = eq + 1;
            else if (i + 1 < argc)
                v = argv[++i];
            else {
                fprintf(stderr, "flashline %s: %s needs a value\n", cmd, s->name);
                return CLI_USAGE;
            }
        } else if (eq) {
            fprintf(stderr, "flashline %s: %s takes no value\n", cmd, s->name);
            return CLI_USAGE;
        }
        if (k >= 0)
            vals[k] = v;
        else if (g == 0)
            o->json = true;
        else
            o->socket = v;
    }
    return CLI_OK;
}

bool cli_parse_id(const char *s, long long *out)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < 1)
        return false;
    *out = v;
    return true;
}
