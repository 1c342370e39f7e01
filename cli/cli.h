/*
 * cli/: the `flashline` command. Each subcommand is one file with one
 * entry point; they share the output conventions below (tables on a
 * terminal, plain lines otherwise, --json for scripts) and exit codes that
 * scripts can rely on.
 */
#ifndef FLASHLINE_CLI_H
#define FLASHLINE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes (also in README and the usage text). */
enum {
    CLI_OK = 0,
    CLI_FAILED = 1,      /* the operation failed (see the message) */
    CLI_USAGE = 2,       /* bad command line */
    CLI_NO_PROBE = 3,    /* no probe, or not the one asked for */
    CLI_NO_TARGET = 4,   /* the probe answers, the target does not */
    CLI_BAD_IMAGE = 5,   /* the image is malformed or does not fit the chip */
    CLI_UNREACHABLE = 6, /* no daemon on the socket (missing, refused, not allowed) */
    CLI_REFUSED = 7,     /* the daemon refused the request (a 4xx other than 404) */
    CLI_NOT_FOUND = 8,   /* the daemon has no such job, unit, image or probe (404) */
    /* Not an exit code: cli_parse printed the command's --help; the command
     * stops there and main() exits 0. */
    CLI_HELP = -1,
};

#define CLI_DEFAULT_SOCKET "/run/flashline/api.sock"

typedef struct cli_opts {
    bool json;
    /* --socket, or NULL: then FLASHLINE_SOCKET, then CLI_DEFAULT_SOCKET
     * (see cli_socket). */
    const char *socket;
} cli_opts;

/* The daemon's socket path this invocation talks to. */
const char *cli_socket(const cli_opts *o);

/* One option a subcommand accepts: "--name" with or without a value. */
typedef struct cli_optspec {
    const char *name;
    bool has_arg;
} cli_optspec;

/*
 * Parses argv[1..argc) of subcommand `cmd` with getopt_long: options in
 * `spec` (terminated by a NULL name; "--opt VALUE" or "--opt=VALUE", or an
 * unambiguous prefix; the last one given wins) land in vals[k] (the value,
 * or "" for a flag; NULL when absent), the global options --json and
 * --socket PATH update *o, the rest go to pos[] (at most maxpos) in order.
 * "--" ends the options. --help (-h) prints the command's usage on stdout
 * and returns CLI_HELP. On a bad command line it says why on stderr, an
 * unknown option with a pointer to `flashline CMD --help`, and returns
 * CLI_USAGE.
 */
int cli_parse(const char *cmd, int argc, char **argv, const cli_optspec *spec, const char **vals,
              cli_opts *o, const char **pos, int maxpos, int *npos);

/* `cmd`'s usage, what it does and its options, on to; false for an unknown
 * command. */
bool cli_command_usage(const char *cmd, FILE *to);
/* Every command with one line on what it does, grouped. */
void cli_commands_list(FILE *to);

/* A decimal id (1..INT64_MAX) from the command line; false if it is not one. */
bool cli_parse_id(const char *s, long long *out);

/*
 * The pure pieces of `submit`, exposed for tests/cli/test_client.c.
 */
typedef struct json_t json_t;

/* "ADDR:FORMAT:START[:STEP][:WIDTH]" as the recipe's "serial" object. On a
 * bad spec: CLI_USAGE with the reason in err. */
int cli_serial_spec(const char *spec, json_t **out, char *err, size_t errsize);

typedef struct submit_args {
    const char *image_path;
    const char *format; /* auto | bin | ihex | srec | elf */
    char base[16];      /* "0x08000000", or "" when not given */
    bool wait;
    json_t *recipe; /* the POST /v1/jobs body but for "image" */
} submit_args;

/* Reads submit's command line into *a (whose recipe the caller releases
 * with json_decref). On a bad one, says why on stderr and returns
 * CLI_USAGE. */
int cli_submit_parse(int argc, char **argv, cli_opts *o, submit_args *a);

/* One unit's detail (GET /v1/units/ID) as a timeline of its attempts and
 * recovery steps. */
void cli_unit_timeline(json_t *unit, FILE *to);

int cmd_probes(const cli_opts *o, int argc, char **argv);
int cmd_flash(const cli_opts *o, int argc, char **argv);
int cmd_chips(const cli_opts *o, int argc, char **argv);
int cmd_quarantine(const cli_opts *o, int argc, char **argv);
int cmd_release(const cli_opts *o, int argc, char **argv);
int cmd_reset(const cli_opts *o, int argc, char **argv);
int cmd_submit(const cli_opts *o, int argc, char **argv);
int cmd_jobs(const cli_opts *o, int argc, char **argv);
int cmd_job(const cli_opts *o, int argc, char **argv);
int cmd_pause(const cli_opts *o, int argc, char **argv);
int cmd_resume(const cli_opts *o, int argc, char **argv);
int cmd_cancel(const cli_opts *o, int argc, char **argv);
int cmd_units(const cli_opts *o, int argc, char **argv);
int cmd_unit(const cli_opts *o, int argc, char **argv);
int cmd_export(const cli_opts *o, int argc, char **argv);
int cmd_events(const cli_opts *o, int argc, char **argv);

#endif
