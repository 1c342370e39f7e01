/*
 * flashline: the client. Most commands talk to the daemon flashlined over
 * its socket (docs/api.md); `flashline flash` programs one board without
 * it, and `flashline probes` scans USB itself when no daemon runs.
 */
#include "cli.h"
#include "watch.h"

#include <stdio.h>
#include <string.h>

static int usage(FILE *to)
{
    fprintf(to, "usage: flashline [--json] [--socket PATH] COMMAND [ARGS]\n"
                "\n"
                "jobs on the daemon:\n"
                "  submit IMAGE --chip NAME|--family f1|f4|l0|l4 [--count N | --continuous]\n"
                "         [--serial ADDR:FORMAT:START[:STEP][:WIDTH]] [--probes S1,S2]\n"
                "         [--erase auto|chip] [--verify crc|read|none] [--rdp 0|1] [--no-run]\n"
                "         [--name TEXT] [--base ADDR] [--format bin|ihex|srec|elf] [--wait]\n"
                "            upload IMAGE and start a job (one unit unless --count or\n"
                "            --continuous); prints the job id. FORMAT of --serial is u32le,\n"
                "            ascii-dec or ascii-hex (WIDTH 4, or 8 for ASCII; STEP 1).\n"
                "            --wait follows the job and succeeds only if it is done with\n"
                "            no failed unit\n"
                "  jobs                          every job, newest first\n"
                "  job ID                        one job in full\n"
                "  pause ID | resume ID | cancel ID\n"
                "\n"
                "probes:\n"
                "  probes [--local]              every ST-LINK and its state; scans USB\n"
                "                                directly when no daemon runs (or --local)\n"
                "  quarantine SERIAL --reason TEXT | release SERIAL | reset SERIAL\n"
                "\n"
                "audit log:\n"
                "  units [--uid U] [--serial N] [--job ID] [--probe S] [--result R]\n"
                "        [--since T] [--until T] [--limit N] [--offset N]\n"
                "  unit UID | unit --id ID       every attempt and recovery step of a unit\n"
                "  export [--format csv|jsonl] [unit filters as above] [--output FILE]\n"
                "  events                        follow the daemon's events until Ctrl-C\n"
                "  watch                         a live dashboard of the probes, jobs and events\n"
                "\n"
                "without the daemon:\n"
                "  flash [--probe SERIAL] [--erase auto|chip] [--verify crc|read|none]\n"
                "        [--base ADDR] [--format F] FILE     program one board\n"
                "\n"
                "--json prints JSON for scripts; --socket (or FLASHLINE_SOCKET) is the\n"
                "daemon's socket, default " CLI_DEFAULT_SOCKET ". Both may also follow\n"
                "a daemon command.\n"
                "\n"
                "exit codes: 0 ok, 1 failed, 2 bad command line, 3 no probe, 4 no answer\n"
                "from the target, 5 bad image, 6 daemon unreachable, 7 request refused by\n"
                "the daemon, 8 not found\n");
    return to == stdout ? CLI_OK : CLI_USAGE;
}

typedef int (*command_fn)(const cli_opts *o, int argc, char **argv);

static const struct {
    const char *name;
    command_fn run;
} commands[] = {
    {"submit", cmd_submit},   {"jobs", cmd_jobs},
    {"job", cmd_job},         {"pause", cmd_pause},
    {"resume", cmd_resume},   {"cancel", cmd_cancel},
    {"probes", cmd_probes},   {"quarantine", cmd_quarantine},
    {"release", cmd_release}, {"reset", cmd_reset},
    {"units", cmd_units},     {"unit", cmd_unit},
    {"export", cmd_export},   {"events", cmd_events},
    {"flash", cmd_flash},     {"watch", cmd_watch},
};

int main(int argc, char **argv)
{
    /* Progress and recovery lines go to stdout and stderr: keep their order
     * when both are piped into one log. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    cli_opts o = {0};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--json") == 0)
            o.json = true;
        else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
            o.socket = argv[++i];
        else if (strncmp(argv[i], "--socket=", 9) == 0)
            o.socket = argv[i] + 9;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage(stdout);
        else {
            fprintf(stderr, "flashline: unknown option '%s'\n", argv[i]);
            return usage(stderr);
        }
    }
    if (i >= argc)
        return usage(stderr);
    const char *cmd = argv[i];
    if (strcmp(cmd, "help") == 0)
        return usage(stdout);
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (strcmp(cmd, commands[k].name) == 0)
            return commands[k].run(&o, argc - i, argv + i);
    fprintf(stderr, "flashline: unknown command '%s'\n", cmd);
    return usage(stderr);
}
