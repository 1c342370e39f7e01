/*
 * flashline: the client. Most commands talk to the daemon flashlined over
 * its socket (docs/api.md); `flashline flash` programs one board without
 * it, and `flashline probes` scans USB itself when no daemon runs.
 */
#define _GNU_SOURCE /* getopt_long */
#include "cli.h"
#include "watch.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int usage(FILE *to)
{
    fprintf(to, "usage: flashline [--json] [--socket PATH] COMMAND [ARGS]\n\n");
    cli_commands_list(to);
    fprintf(to, "\n"
                "flashline COMMAND --help shows a command's arguments and options.\n"
                "--json prints JSON for scripts; --socket (or FLASHLINE_SOCKET) is the\n"
                "daemon's socket, default " CLI_DEFAULT_SOCKET ". Both may also follow\n"
                "a command.\n"
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
    {"chips", cmd_chips},
};

int main(int argc, char **argv)
{
    /* Progress and recovery lines go to stdout and stderr: keep their order
     * when both are piped into one log. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    cli_opts o = {0};
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"socket", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* '+': the options before COMMAND only; the command reads its own. */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        if (c == 'j') {
            o.json = true;
        } else if (c == 's') {
            o.socket = optarg;
        } else if (c == 'h') {
            return usage(stdout);
        } else if (c == ':') {
            fprintf(stderr, "flashline: %s needs a value\n", argv[optind - 1]);
            return CLI_USAGE;
        } else {
            const char *arg =
                optopt && strncmp(argv[optind - 1], "--", 2) != 0 ? NULL : argv[optind - 1];
            if (arg)
                fprintf(stderr, "flashline: unknown option '%.*s'; see flashline --help\n",
                        (int)strcspn(arg, "="), arg);
            else
                fprintf(stderr, "flashline: unknown option '-%c'; see flashline --help\n", optopt);
            return CLI_USAGE;
        }
    }
    if (optind >= argc)
        return usage(stderr);
    const char *cmd = argv[optind];
    if (strcmp(cmd, "help") == 0) {
        /* "flashline help COMMAND" is "flashline COMMAND --help". */
        if (optind + 1 >= argc)
            return usage(stdout);
        if (cli_command_usage(argv[optind + 1], stdout))
            return CLI_OK;
        cmd = argv[optind + 1];
        fprintf(stderr, "flashline: unknown command '%s'; flashline --help lists them\n", cmd);
        return CLI_USAGE;
    }
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
        if (strcmp(cmd, commands[k].name) == 0) {
            int code = commands[k].run(&o, argc - optind, argv + optind);
            return code == CLI_HELP ? CLI_OK : code;
        }
    }
    fprintf(stderr, "flashline: unknown command '%s'; flashline --help lists them\n", cmd);
    return CLI_USAGE;
}
