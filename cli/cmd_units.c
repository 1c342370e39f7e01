/*
 * flashline units | unit | export: the audit log. `unit` answers the
 * question a line gets asked months later ("what happened to the board
 * with this UID?") as a timeline of every attempt and recovery step.
 */
#include "cli.h"
#include "client.h"
#include "output.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The unit filters of GET /v1/units and /v1/export (which has all but the
 * last two), in query order. */
enum {
    F_UID,
    F_SERIAL,
    F_JOB,
    F_PROBE,
    F_RESULT,
    F_SINCE,
    F_UNTIL,
    F_EXPORT,
    F_LIMIT = F_EXPORT,
    F_OFFSET,
    F_N
};
static const char *const filter_keys[F_N] = {"uid",   "serial", "job",   "probe", "result",
                                             "since", "until",  "limit", "offset"};

/* Checks what the client can check, then appends the first n filters to
 * path. */
static int add_filters(const char *cmd, const char **v, int n_filters, char *path, size_t size)
{
    static const char *const results[] = {"in_flight", "ok", "failed", "interrupted"};
    long long n;
    if (v[F_JOB] && !cli_parse_id(v[F_JOB], &n)) {
        fprintf(stderr, "flashline %s: --job is a job id, not '%s'\n", cmd, v[F_JOB]);
        return CLI_USAGE;
    }
    if (n_filters > F_LIMIT && v[F_LIMIT] && (!cli_parse_id(v[F_LIMIT], &n) || n > 10000)) {
        fprintf(stderr, "flashline %s: --limit is 1..10000, not '%s'\n", cmd, v[F_LIMIT]);
        return CLI_USAGE;
    }
    if (n_filters > F_OFFSET && v[F_OFFSET] && strcmp(v[F_OFFSET], "0") != 0 &&
        !cli_parse_id(v[F_OFFSET], &n)) {
        fprintf(stderr, "flashline %s: --offset is a number, not '%s'\n", cmd, v[F_OFFSET]);
        return CLI_USAGE;
    }
    if (v[F_RESULT]) {
        bool known = false;
        for (int k = 0; k < 4; k++)
            known |= strcmp(v[F_RESULT], results[k]) == 0;
        if (!known) {
            fprintf(stderr,
                    "flashline %s: --result is in_flight, ok, failed or interrupted, not '%s'\n",
                    cmd, v[F_RESULT]);
            return CLI_USAGE;
        }
    }
    for (int k = 0; k < n_filters; k++)
        if (v[k] && !cl_query_add(path, size, filter_keys[k], v[k])) {
            fprintf(stderr, "flashline %s: filters too long\n", cmd);
            return CLI_USAGE;
        }
    return CLI_OK;
}

static int print_units(json_t *units)
{
    static const char *const head[] = {"ID",       "JOB",     "PROBE",  "UID",
                                       "CHIP",     "SERIAL",  "RESULT", "ATTEMPTS",
                                       "RECOVERY", "STARTED", "ERROR"};
    static const char *const keys[] = {
        "id",     "job",      "probe",          "uid",        "chip", "serial_number",
        "result", "attempts", "recovery_steps", "started_at", "error"};
    out_table *t = out_table_new(11, head);
    if (!t)
        return CLI_FAILED;
    size_t i;
    json_t *u;
    json_array_foreach(units, i, u)
    {
        char b[11][64];
        const char *row[11];
        for (int k = 0; k < 11; k++)
            row[k] = out_cell(json_object_get(u, keys[k]), b[k], sizeof b[k]);
        if (!out_table_add(t, row)) {
            out_table_free(t);
            return CLI_FAILED;
        }
    }
    out_table_print(t, stdout, out_tty());
    out_table_free(t);
    return CLI_OK;
}

#define UNIT_FILTER_SPEC                                                                           \
    [F_UID] = {"--uid", true}, [F_SERIAL] = {"--serial", true}, [F_JOB] = {"--job", true},         \
    [F_PROBE] = {"--probe", true}, [F_RESULT] = {"--result", true}, [F_SINCE] = {"--since", true}, \
    [F_UNTIL] = {"--until", true}

int cmd_units(const cli_opts *global, int argc, char **argv)
{
    static const cli_optspec spec[] = {UNIT_FILTER_SPEC, [F_LIMIT] = {"--limit", true},
                                       [F_OFFSET] = {"--offset", true}, [F_N] = {NULL, false}};
    cli_opts o = *global;
    const char *v[F_N], *pos[1];
    int npos;
    int code = cli_parse("units", argc, argv, spec, v, &o, pos, 0, &npos);
    char path[1024] = "/v1/units";
    if (code == CLI_OK)
        code = add_filters("units", v, F_N, path, sizeof path);
    if (code != CLI_OK)
        return code;
    json_t *r = NULL;
    code = cl_call(&o, "units", "GET", path, NULL, &r);
    if (code != CLI_OK)
        return code;
    json_t *units = json_object_get(r, "units");
    if (o.json)
        out_json(r);
    else if (!json_is_array(units)) {
        fprintf(stderr, "flashline units: unexpected answer from flashlined: no \"units\" list\n");
        code = CLI_FAILED;
    } else
        code = print_units(units);
    json_decref(r);
    return code;
}

static const char *str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "-";
}

/* A timeline line: the time in a fixed-width column, then what happened. */
static void at(FILE *to, json_t *obj, const char *key, int indent, const char *what)
{
    fprintf(to, "  %-24s  %*s%s\n", str(obj, key), indent, "", what);
}

void cli_unit_timeline(json_t *u, FILE *to)
{
    char b[6][64], line[1024];
    fprintf(to, "unit %s: %s (uid %s, chip %s, serial number %s, job %s, probe %s)\n",
            out_cell(json_object_get(u, "id"), b[0], sizeof b[0]), str(u, "result"), str(u, "uid"),
            str(u, "chip"), out_cell(json_object_get(u, "serial_number"), b[1], sizeof b[1]),
            out_cell(json_object_get(u, "job"), b[2], sizeof b[2]), str(u, "probe"));
    at(to, u, "started_at", 0, "unit started");
    size_t i, k;
    json_t *a, *step;
    json_array_foreach(json_object_get(u, "attempts"), i, a)
    {
        const char *n = out_cell(json_object_get(a, "n"), b[3], sizeof b[3]);
        snprintf(line, sizeof line, "attempt %s started", n);
        at(to, a, "started_at", 0, line);
        char end[1100];
        const char *result = str(a, "result");
        json_t *err = json_object_get(a, "error");
        if (strcmp(result, "in_flight") == 0)
            snprintf(end, sizeof end, "attempt %s in flight (%s)", n, str(a, "state"));
        else if (json_is_string(err))
            snprintf(end, sizeof end, "attempt %s %s in %s: %s", n, result, str(a, "state"),
                     json_string_value(err));
        else
            snprintf(end, sizeof end, "attempt %s %s", n, result);
        /* An attempt's recovery steps are taken after it failed, before the
         * next one starts: in time order, the end comes first. The times
         * are ISO 8601 in UTC, so they compare as strings. */
        const char *fin = json_string_value(json_object_get(a, "finished_at"));
        bool ended = false;
        json_array_foreach(json_object_get(a, "recovery"), k, step)
        {
            if (!ended && fin && strcmp(str(step, "at"), fin) >= 0) {
                at(to, a, "finished_at", 0, end);
                ended = true;
            }
            json_t *ok = json_object_get(step, "ok");
            snprintf(line, sizeof line, "recovery: %s (%s)", str(step, "step"),
                     json_is_true(ok)    ? "ok"
                     : json_is_false(ok) ? "did not help"
                                         : "-");
            at(to, step, "at", 2, line);
        }
        if (!ended)
            at(to, a, "finished_at", 0, end);
    }
    json_t *err = json_object_get(u, "error");
    if (json_is_string(err))
        snprintf(line, sizeof line, "unit %s: %s", str(u, "result"), json_string_value(err));
    else
        snprintf(line, sizeof line, "unit %s", str(u, "result"));
    at(to, u, "finished_at", 0, line);
    /* Who changed its job, or its probe while it ran: an audit asks "did
     * anyone pause or quarantine here?" as often as "what failed?". */
    json_t *acts = json_object_get(u, "actions");
    if (json_array_size(acts))
        fprintf(to, "who did what:\n");
    json_array_foreach(acts, i, a)
    {
        json_t *tgt = json_object_get(a, "target");
        const char *why =
            json_string_value(json_object_get(json_object_get(a, "detail"), "reason"));
        snprintf(line, sizeof line, "%s: %s %s %s%s%s%s", str(a, "actor"), str(a, "verb"),
                 str(tgt, "kind"), str(tgt, "id"), why ? " (" : "", why ? why : "", why ? ")" : "");
        at(to, a, "at", 0, line);
    }
}

static int unit_detail(cli_opts *o, json_int_t id, json_t **out)
{
    char path[64];
    snprintf(path, sizeof path, "/v1/units/%" JSON_INTEGER_FORMAT, id);
    return cl_call(o, "unit", "GET", path, NULL, out);
}

int cmd_unit(const cli_opts *global, int argc, char **argv)
{
    static const cli_optspec spec[] = {{"--id", true}, {NULL, false}};
    cli_opts o = *global;
    const char *v[1], *pos[1];
    int npos;
    int code = cli_parse("unit", argc, argv, spec, v, &o, pos, 1, &npos);
    if (code != CLI_OK)
        return code;
    long long id = 0;
    if ((npos == 1) == (v[0] != NULL) || (v[0] && !cli_parse_id(v[0], &id))) {
        fprintf(stderr, "flashline unit: expected UID or --id ID\n");
        return CLI_USAGE;
    }
    json_t *details = json_array();
    if (v[0]) {
        json_t *d = NULL;
        code = unit_detail(&o, id, &d);
        if (code == CLI_OK)
            json_array_append_new(details, d);
    } else {
        char path[256] = "/v1/units";
        json_t *r = NULL;
        if (!cl_query_add(path, sizeof path, "uid", pos[0]) ||
            !cl_query_add(path, sizeof path, "limit", "10000")) {
            fprintf(stderr, "flashline unit: UID too long\n");
            json_decref(details);
            return CLI_USAGE;
        }
        code = cl_call(&o, "unit", "GET", path, NULL, &r);
        size_t i;
        json_t *u;
        json_array_foreach(json_object_get(r, "units"), i, u)
        {
            json_t *d = NULL;
            if (code == CLI_OK)
                code = unit_detail(&o, json_integer_value(json_object_get(u, "id")), &d);
            if (code == CLI_OK)
                json_array_append_new(details, d);
        }
        json_decref(r);
        if (code == CLI_OK && json_array_size(details) == 0) {
            fprintf(stderr, "flashline unit: no unit with UID %s\n", pos[0]);
            code = CLI_NOT_FOUND;
        }
    }
    if (code == CLI_OK) {
        if (o.json && v[0])
            out_json(json_array_get(details, 0));
        else if (o.json) {
            json_t *all = json_pack("{s:O}", "units", details);
            out_json(all);
            json_decref(all);
        } else {
            size_t i;
            json_t *d;
            json_array_foreach(details, i, d)
            {
                if (i)
                    fputc('\n', stdout);
                cli_unit_timeline(d, stdout);
            }
        }
    }
    json_decref(details);
    return code;
}

static bool to_file(const char *data, size_t n, void *ctx)
{
    return fwrite(data, 1, n, ctx) == n;
}

int cmd_export(const cli_opts *global, int argc, char **argv)
{
    enum { X_FORMAT = F_EXPORT, X_OUTPUT, X_N };
    static const cli_optspec spec[] = {UNIT_FILTER_SPEC, [X_FORMAT] = {"--format", true},
                                       [X_OUTPUT] = {"--output", true}, [X_N] = {NULL, false}};
    cli_opts o = *global;
    const char *v[X_N], *pos[1];
    int npos;
    int code = cli_parse("export", argc, argv, spec, v, &o, pos, 0, &npos);
    if (code != CLI_OK)
        return code;
    const char *format = v[X_FORMAT] ? v[X_FORMAT] : "csv";
    if (strcmp(format, "csv") != 0 && strcmp(format, "jsonl") != 0) {
        fprintf(stderr, "flashline export: --format is csv or jsonl, not '%s'\n", format);
        return CLI_USAGE;
    }
    char path[1024] = "/v1/export";
    cl_query_add(path, sizeof path, "format", format);
    code = add_filters("export", v, F_EXPORT, path, sizeof path);
    if (code != CLI_OK)
        return code;
    /* Into FILE.part, renamed when complete: a failed export never leaves
     * a file that looks whole. */
    char part[4096];
    FILE *f = stdout;
    if (v[X_OUTPUT]) {
        if ((size_t)snprintf(part, sizeof part, "%s.part", v[X_OUTPUT]) >= sizeof part) {
            fprintf(stderr, "flashline export: --output path too long\n");
            return CLI_USAGE;
        }
        f = fopen(part, "wb");
        if (!f) {
            fprintf(stderr, "flashline export: %s: %s\n", part, strerror(errno));
            return CLI_FAILED;
        }
    }
    const char *socket = cli_socket(&o);
    cl_request req = {
        .socket = socket, .method = "GET", .path = path, .sink = to_file, .sink_ctx = f};
    cl_response resp;
    cl_err e = cl_perform(&req, &resp);
    code = cl_report("export", socket, e, &resp);
    cl_response_free(&resp);
    if (f != stdout) {
        if (fclose(f) != 0 && code == CLI_OK) {
            fprintf(stderr, "flashline export: %s: %s\n", part, strerror(errno));
            code = CLI_FAILED;
        }
        if (code == CLI_OK && rename(part, v[X_OUTPUT]) != 0) {
            fprintf(stderr, "flashline export: %s: %s\n", v[X_OUTPUT], strerror(errno));
            code = CLI_FAILED;
        }
        if (code != CLI_OK)
            remove(part);
    } else if (fflush(stdout) != 0 && code == CLI_OK) {
        fprintf(stderr, "flashline export: stdout: %s\n", strerror(errno));
        code = CLI_FAILED;
    }
    return code;
}
