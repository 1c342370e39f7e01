/*
 * flashline probes: every ST-LINK on the machine and what hangs off it.
 * With a daemon running, it owns the probes: ask it (GET /v1/probes). With
 * none, or with --local, scan USB directly. A probe whose target does not
 * answer is still listed, with the reason: on a line, "no board on fixture
 * 3" is the most common answer.
 *
 * Also the operator's verbs on one probe: quarantine, release, reset.
 */
#include "cli.h"
#include "client.h"
#include "flash.h"
#include "output.h"
#include "stlink.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PROBES 64

typedef struct probe_row {
    pd_probe_info info;
    char firmware[32];
    unsigned mv;
    bool have_target;
    fl_target t;
    char problem[256];
} probe_row;

static void look(probe_row *r)
{
    pd_probe *p = NULL;
    if (pd_create(NULL, r->info.serial, &p) != PD_OK) {
        snprintf(r->problem, sizeof r->problem, "out of memory");
        return;
    }
    if (pd_open(p) != PD_OK) {
        snprintf(r->problem, sizeof r->problem, "%s", pd_message(p));
        pd_destroy(p);
        return;
    }
    const pd_version *v = pd_get_version(p);
    if (v->msd)
        snprintf(r->firmware, sizeof r->firmware, "V%uJ%uM%u", v->stlink, v->jtag, v->msd);
    else
        snprintf(r->firmware, sizeof r->firmware, "V%uJ%uS%u", v->stlink, v->jtag, v->swim);
    if (pd_get_limits(p)->has_voltage)
        pd_target_voltage(p, &r->mv);
    /* Identify without disturbing: halt only for the reads, then let the
     * target run on as it was. */
    uint32_t dhcsr = 0;
    bool was_halted = false;
    if (pd_enter_swd(p) == PD_OK && pd_dhcsr(p, &dhcsr) == PD_OK) {
        was_halted = dhcsr & PD_DHCSR_S_HALT;
        if (pd_halt(p) == PD_OK) {
            fl_err e = fl_identify(p, &r->t);
            r->have_target = e == FL_OK;
            if (e != FL_OK)
                snprintf(r->problem, sizeof r->problem, "%s", r->t.msg);
            if (!was_halted)
                pd_run(p);
        } else {
            snprintf(r->problem, sizeof r->problem, "%s", pd_message(p));
        }
    } else {
        snprintf(r->problem, sizeof r->problem, "no target: %s", pd_message(p));
    }
    pd_close(p);
    pd_destroy(p);
}

static void print_json(const probe_row *rows, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const probe_row *r = &rows[i];
        json_t *o = json_object();
        json_object_set_new(o, "kind", json_string(pd_kind_name(r->info.kind)));
        json_object_set_new(o, "serial", json_string(r->info.serial));
        json_object_set_new(o, "bus", json_integer(r->info.bus));
        json_object_set_new(o, "address", json_integer(r->info.address));
        json_object_set_new(o, "firmware", json_string(r->firmware));
        json_object_set_new(o, "target_mv", json_integer(r->mv));
        if (r->have_target) {
            char uid[32];
            snprintf(uid, sizeof uid, "%08X%08X%08X", r->t.uid[2], r->t.uid[1], r->t.uid[0]);
            json_object_set_new(o, "chip", json_string(r->t.chip->name));
            json_object_set_new(o, "dev_id", json_integer(r->t.idcode & 0xFFF));
            json_object_set_new(o, "flash_size", json_integer(r->t.flash_size));
            json_object_set_new(o, "uid", json_string(uid));
            json_object_set_new(o, "read_protected", json_boolean(r->t.rdp));
            json_object_set_new(o, "protection", json_string(r->t.protection));
        } else {
            json_object_set_new(o, "chip", json_null());
            json_object_set_new(o, "problem", json_string(r->problem));
        }
        json_array_append_new(arr, o);
    }
    json_dumpf(arr, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(arr);
}

static void print_table(const probe_row *rows, size_t n)
{
    bool tty = isatty(STDOUT_FILENO);
    if (tty)
        printf("%-5s %-24s %-10s %7s  %-34s %8s  %s\n", "KIND", "SERIAL", "FIRMWARE", "TARGET",
               "CHIP", "FLASH", "UID");
    for (size_t i = 0; i < n; i++) {
        const probe_row *r = &rows[i];
        char volts[16];
        snprintf(volts, sizeof volts, "%u.%02uV", r->mv / 1000, r->mv % 1000 / 10);
        if (r->have_target)
            printf(tty ? "%-5s %-24s %-10s %7s  %-34s %6uK  %08X%08X%08X\n"
                       : "%s %s %s %s %s %uK %08X%08X%08X\n",
                   pd_kind_name(r->info.kind), r->info.serial, r->firmware, volts, r->t.chip->name,
                   r->t.flash_size / 1024, r->t.uid[2], r->t.uid[1], r->t.uid[0]);
        else
            printf(tty ? "%-5s %-24s %-10s %7s  (%s)\n" : "%s %s %s %s (%s)\n",
                   pd_kind_name(r->info.kind), r->info.serial, r->firmware, volts, r->problem);
    }
}

/* The USB scan without a daemon. */
static int local_scan(const cli_opts *o)
{
    probe_row *rows = calloc(MAX_PROBES, sizeof *rows);
    pd_probe_info *infos = calloc(MAX_PROBES, sizeof *infos);
    if (!rows || !infos) {
        free(rows);
        free(infos);
        fprintf(stderr, "flashline probes: out of memory\n");
        return CLI_FAILED;
    }
    size_t count = 0;
    char msg[256] = "";
    if (pd_enumerate(NULL, infos, MAX_PROBES, &count, msg, sizeof msg) != PD_OK) {
        fprintf(stderr, "flashline probes: %s\n", msg);
        free(rows);
        free(infos);
        return CLI_FAILED;
    }
    if (count > MAX_PROBES)
        count = MAX_PROBES;
    for (size_t i = 0; i < count; i++) {
        rows[i].info = infos[i];
        look(&rows[i]);
    }
    if (o->json)
        print_json(rows, count);
    else
        print_table(rows, count);
    free(rows);
    free(infos);
    if (count == 0) {
        if (!o->json)
            fprintf(stderr, "flashline probes: no ST-LINK found (check the cable and the udev "
                            "rules in deploy/)\n");
        return CLI_NO_PROBE;
    }
    return CLI_OK;
}

static int print_daemon_probes(json_t *probes)
{
    static const char *const head[] = {"SERIAL",   "KIND",        "STATE",
                                       "JOB",      "UNIT",        "CHIP",
                                       "PROGRESS", "LAST RESULT", "QUARANTINE REASON"};
    static const char *const keys[] = {"serial",   "kind",        "state",
                                       "job",      "unit",        "chip",
                                       "progress", "last_result", "quarantine_reason"};
    out_table *t = out_table_new(9, head);
    if (!t)
        return CLI_FAILED;
    size_t i;
    json_t *p;
    json_array_foreach(probes, i, p)
    {
        char b[9][64];
        const char *row[9];
        for (int k = 0; k < 9; k++)
            row[k] = out_cell(json_object_get(p, keys[k]), b[k], sizeof b[k]);
        if (json_is_integer(json_object_get(p, "progress")))
            snprintf(b[6], sizeof b[6], "%" JSON_INTEGER_FORMAT "%%",
                     json_integer_value(json_object_get(p, "progress")));
        if (!out_table_add(t, row)) {
            out_table_free(t);
            return CLI_FAILED;
        }
    }
    out_table_print(t, stdout, out_tty());
    out_table_free(t);
    return CLI_OK;
}

int cmd_probes(const cli_opts *global, int argc, char **argv)
{
    static const cli_optspec spec[] = {{"--local", false}, {NULL, false}};
    cli_opts o = *global;
    const char *v[1], *pos[1];
    int npos;
    int code = cli_parse("probes", argc, argv, spec, v, &o, pos, 0, &npos);
    if (code != CLI_OK)
        return code;
    if (v[0])
        return local_scan(&o);
    const char *socket = cli_socket(&o);
    cl_request req = {.socket = socket, .method = "GET", .path = "/v1/probes"};
    cl_response resp;
    cl_err e = cl_perform(&req, &resp);
    if (e == CL_NO_DAEMON) {
        /* Nobody owns the probes: looking at them directly disturbs no one. */
        cl_response_free(&resp);
        fprintf(stderr, "flashline: no daemon at %s; scanning USB directly\n", socket);
        return local_scan(&o);
    }
    json_t *probes = json_object_get(resp.json, "probes");
    if (e == CL_OK && !json_is_array(probes)) {
        e = CL_BAD_REPLY;
        snprintf(resp.message, sizeof resp.message, "no \"probes\" list");
    }
    code = cl_report("probes", socket, e, &resp);
    if (code == CLI_OK) {
        if (o.json)
            out_json(resp.json);
        else
            code = print_daemon_probes(probes);
        if (code == CLI_OK && json_array_size(probes) == 0) {
            if (!o.json)
                fprintf(stderr, "flashline probes: flashlined sees no ST-LINK\n");
            code = CLI_NO_PROBE;
        }
    }
    cl_response_free(&resp);
    return code;
}

/* POST /v1/probes/SERIAL/ACTION, then the probe's new state. */
static int probe_action(const cli_opts *global, const char *cmd, int argc, char **argv)
{
    static const cli_optspec spec[] = {{"--reason", true}, {NULL, false}};
    bool quarantine = strcmp(cmd, "quarantine") == 0;
    cli_opts o = *global;
    const char *v[1], *pos[1];
    int npos;
    int code = cli_parse(cmd, argc, argv, quarantine ? spec : NULL, v, &o, pos, 1, &npos);
    if (code != CLI_OK)
        return code;
    if (npos != 1 || (quarantine && (!v[0] || !*v[0]))) {
        fprintf(stderr, "flashline %s: expected %s SERIAL%s\n", cmd, cmd,
                quarantine ? " --reason TEXT" : "");
        return CLI_USAGE;
    }
    char serial[256], path[512];
    if (!cl_escape(pos[0], serial, sizeof serial)) {
        fprintf(stderr, "flashline %s: serial too long\n", cmd);
        return CLI_USAGE;
    }
    snprintf(path, sizeof path, "/v1/probes/%s/%s", serial, cmd);
    json_t *body = quarantine ? json_pack("{s:s}", "reason", v[0]) : NULL;
    json_t *probe = NULL;
    code = cl_call(&o, cmd, "POST", path, body, &probe);
    json_decref(body);
    if (code != CLI_OK)
        return code;
    if (o.json) {
        out_json(probe);
    } else {
        char b[2][256];
        json_t *reason = json_object_get(probe, "quarantine_reason");
        printf("probe %s: %s%s%s\n", pos[0], out_cell(json_object_get(probe, "state"), b[0], 256),
               json_is_string(reason) ? ": " : "",
               json_is_string(reason) ? out_cell(reason, b[1], 256) : "");
    }
    json_decref(probe);
    return CLI_OK;
}

int cmd_quarantine(const cli_opts *o, int argc, char **argv)
{
    return probe_action(o, "quarantine", argc, argv);
}

int cmd_release(const cli_opts *o, int argc, char **argv)
{
    return probe_action(o, "release", argc, argv);
}

int cmd_reset(const cli_opts *o, int argc, char **argv)
{
    return probe_action(o, "reset", argc, argv);
}
