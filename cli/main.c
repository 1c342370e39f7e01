/*
 * flashline: the client. `flashline probes` lists the probes on this
 * machine and what is connected to each; `flashline flash` programs one
 * board without the daemon.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static int usage(FILE *to)
{
    fprintf(to, "usage: flashline [--json] COMMAND [ARGS]\n"
                "commands:\n"
                "  probes    every ST-LINK: kind, serial, firmware, target voltage, chip,\n"
                "            flash size, unique ID\n"
                "  flash     program one board: flash [--probe SERIAL] [--erase auto|chip]\n"
                "            [--verify crc|read|none] [--base ADDR] [--format F] FILE\n");
    return to == stdout ? CLI_OK : CLI_USAGE;
}

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
    if (strcmp(cmd, "probes") == 0)
        return cmd_probes(&o, argc - i, argv + i);
    if (strcmp(cmd, "flash") == 0)
        return cmd_flash(&o, argc - i, argv + i);
    fprintf(stderr, "flashline: unknown command '%s'\n", cmd);
    return usage(stderr);
}
