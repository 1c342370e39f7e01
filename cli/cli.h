/*
 * cli/: the `flashline` command. Each subcommand is one file with one
 * entry point; they share the output conventions below (tables on a
 * terminal, plain lines otherwise, --json for scripts) and exit codes that
 * scripts can rely on.
 */
#ifndef FLASHLINE_CLI_H
#define FLASHLINE_CLI_H

#include <stdbool.h>

/* Exit codes (also in README). */
enum {
    CLI_OK = 0,
    CLI_FAILED = 1,    /* the operation failed (see the message) */
    CLI_USAGE = 2,     /* bad command line */
    CLI_NO_PROBE = 3,  /* no probe, or not the one asked for */
    CLI_NO_TARGET = 4, /* the probe answers, the target does not */
    CLI_BAD_IMAGE = 5, /* the image is malformed or does not fit the chip */
};

typedef struct cli_opts {
    bool json;
} cli_opts;

int cmd_probes(const cli_opts *o, int argc, char **argv);
int cmd_flash(const cli_opts *o, int argc, char **argv);

#endif
