/*
 * flashline jobs | job ID | pause ID | resume ID | cancel ID: the daemon's
 * jobs, one job in full, and the three things an operator does to one.
 */
#include "cli.h"
#include "client.h"
#include "output.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* "12/50", or "12/cont" for a continuous job (no count). */
static const char *ok_of_count(json_t *job, char *buf, size_t size)
{
    json_t *count = json_object_get(job, "count");
    char c[32];
    snprintf(buf, size, "%" JSON_INTEGER_FORMAT "/%s",
             json_integer_value(json_object_get(job, "ok")),
             json_is_integer(count) ? out_cell(count, c, sizeof c) : "cont");
    return buf;
}

static int print_jobs(json_t *jobs)
{
    static const char *const head[] = {"ID",     "NAME",        "STATE",     "CHIP",   "OK/COUNT",
                                       "FAILED", "INTERRUPTED", "IN FLIGHT", "CREATED"};
    out_table *t = out_table_new(9, head);
    if (!t)
        return CLI_FAILED;
    size_t i;
    json_t *j;
    json_array_foreach(jobs, i, j)
    {
        char b[9][64];
        json_t *chip = json_object_get(j, "chip");
        if (!json_is_string(chip))
            chip = json_object_get(j, "family");
        const char *row[9] = {
            out_cell(json_object_get(j, "id"), b[0], sizeof b[0]),
            out_cell(json_object_get(j, "name"), b[1], sizeof b[1]),
            out_cell(json_object_get(j, "state"), b[2], sizeof b[2]),
            out_cell(chip, b[3], sizeof b[3]),
            ok_of_count(j, b[4], sizeof b[4]),
            out_cell(json_object_get(j, "failed"), b[5], sizeof b[5]),
            out_cell(json_object_get(j, "interrupted"), b[6], sizeof b[6]),
            out_cell(json_object_get(j, "in_flight"), b[7], sizeof b[7]),
            out_cell(json_object_get(j, "created_at"), b[8], sizeof b[8]),
        };
        if (!out_table_add(t, row)) {
            out_table_free(t);
            return CLI_FAILED;
        }
    }
    out_table_print(t, stdout, out_tty());
    out_table_free(t);
    return CLI_OK;
}

int cmd_jobs(const cli_opts *global, int argc, char **argv)
{
    cli_opts o = *global;
    const char *pos[1];
    int npos;
    int code = cli_parse("jobs", argc, argv, NULL, NULL, &o, pos, 0, &npos);
    if (code != CLI_OK)
        return code;
    json_t *r = NULL;
    code = cl_call(&o, "jobs", "GET", "/v1/jobs", NULL, &r);
    if (code != CLI_OK)
        return code;
    json_t *jobs = json_object_get(r, "jobs");
    if (o.json)
        out_json(r);
    else if (!json_is_array(jobs)) {
        fprintf(stderr, "flashline jobs: unexpected answer from flashlined: no \"jobs\" list\n");
        code = CLI_FAILED;
    } else
        code = print_jobs(jobs);
    json_decref(r);
    return code;
}

/* An object as "key: value" lines, in the daemon's order, so that fields
 * added to the contract later show up without a client change. */
static void print_fields(json_t *obj)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        char b[256];
        printf("%-18s %s\n", key, out_cell(v, b, sizeof b));
    }
}

/* One job: GET, or POST to one of its actions. */
static int one_job(const cli_opts *global, const char *cmd, const char *action, int argc,
                   char **argv)
{
    cli_opts o = *global;
    const char *pos[1];
    int npos;
    int code = cli_parse(cmd, argc, argv, NULL, NULL, &o, pos, 1, &npos);
    if (code != CLI_OK)
        return code;
    long long id;
    if (npos != 1 || !cli_parse_id(pos[0], &id)) {
        fprintf(stderr, "flashline %s: expected a job id: %s ID\n", cmd, cmd);
        return CLI_USAGE;
    }
    char path[64];
    snprintf(path, sizeof path, "/v1/jobs/%lld%s%s", id, action ? "/" : "", action ? action : "");
    json_t *job = NULL;
    code = cl_call(&o, cmd, action ? "POST" : "GET", path, NULL, &job);
    if (code != CLI_OK)
        return code;
    if (o.json)
        out_json(job);
    else if (action) {
        char b[64];
        printf("job %lld: %s\n", id, out_cell(json_object_get(job, "state"), b, sizeof b));
    } else
        print_fields(job);
    json_decref(job);
    return CLI_OK;
}

int cmd_job(const cli_opts *o, int argc, char **argv)
{
    return one_job(o, "job", NULL, argc, argv);
}

int cmd_pause(const cli_opts *o, int argc, char **argv)
{
    return one_job(o, "pause", "pause", argc, argv);
}

int cmd_resume(const cli_opts *o, int argc, char **argv)
{
    return one_job(o, "resume", "resume", argc, argv);
}

int cmd_cancel(const cli_opts *o, int argc, char **argv)
{
    return one_job(o, "cancel", "cancel", argc, argv);
}
