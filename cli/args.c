/*
 * The command line of every `flashline` command: getopt_long over each
 * command's option table, and each command's usage text (one table, so that
 * `flashline --help` and `flashline COMMAND --help` cannot disagree).
 */
#define _GNU_SOURCE /* getopt_long */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* ---- usage ------------------------------------------------------------------ */

typedef struct command_help {
    const char *group;   /* heading in `flashline --help`; NULL: same as the previous */
    const char *name;    /* "units" */
    const char *args;    /* after the name: options and operands */
    const char *summary; /* one line for `flashline --help` */
    const char *details; /* more for `flashline COMMAND --help`, or NULL */
    bool daemon;         /* talks to flashlined: --socket applies */
} command_help;

#define UNIT_FILTERS                                                                               \
    "[--uid U] [--serial N] [--job ID] [--probe S] [--result R]\n"                                 \
    "        [--since T] [--until T]"

static const command_help helps[] = {
    {"jobs on the daemon", "submit",
     "IMAGE --chip NAME|--family NAME [--count N | --continuous]\n"
     "        [--serial ADDR:FORMAT[:START[:STEP][:WIDTH]] [--series NAME]]\n"
     "        [--probes S1,S2]\n"
     "        [--erase auto|chip] [--verify crc|read|none] [--rdp 0|1 [--confirm WORD]]\n"
     "        [--no-run]\n"
     "        [--name TEXT] [--base ADDR] [--format bin|ihex|srec|elf] [--wait]",
     "upload IMAGE and start a job; prints the job id",
     "--chip takes an ordering code (stm32f103rb), --family a line (f1); `flashline\n"
     "chips` lists both. One unit unless --count or --continuous. FORMAT of --serial is u32le,\n"
     "ascii-dec or ascii-hex (WIDTH 4, or 8 for ASCII; STEP 1). Serial numbers\n"
     "come from a station-wide series (--series, default ADDR/FORMAT): without\n"
     "START the job continues it; a START already handed out is refused. --wait\n"
     "follows the job and succeeds only if it is done with no failed unit.",
     true},
    {NULL, "jobs", "", "every job, newest first", NULL, true},
    {NULL, "job", "ID", "one job in full", NULL, true},
    {NULL, "pause", "ID", "stop starting new units of job ID (units in flight finish)", NULL, true},
    {NULL, "resume", "ID", "resume a paused job", NULL, true},
    {NULL, "cancel", "ID", "end job ID (units in flight finish)", NULL, true},
    {"probes", "probes", "[--local]", "every ST-LINK and its state",
     "Scans USB directly when no daemon runs, or with --local.", true},
    {NULL, "quarantine", "SERIAL --reason TEXT", "take a probe out of service", NULL, true},
    {NULL, "release", "SERIAL", "put a quarantined probe back in service", NULL, true},
    {NULL, "reset", "SERIAL", "reset a probe (USB re-enumeration)", NULL, true},
    {"audit log", "units", UNIT_FILTERS " [--limit N] [--offset N]",
     "the units programmed, newest first",
     "T is an ISO 8601 time (2026-11-25T15:40:00Z, 2026-11-25T16:40:00+01:00,\n"
     "2026-11-25) or ms since the epoch; R is in_flight, ok, failed or interrupted.",
     true},
    {NULL, "unit", "UID | --id ID", "every attempt and recovery step of a unit", NULL, true},
    {NULL, "export", "[--format csv|jsonl] " UNIT_FILTERS "\n        [--output FILE]",
     "the audit log as CSV or JSON lines", "The filters are those of `flashline units --help`.",
     true},
    {NULL, "events", "", "follow the daemon's events until Ctrl-C", NULL, true},
    {NULL, "watch", "", "a live dashboard of the probes, jobs and events", NULL, true},
    {NULL, "chips", "", "the chips and families Flashline programs (--json: as JSON)",
     "One row per device id: family, ordering-code prefixes, flash and SRAM.", false},
    {"without the daemon", "flash",
     "[--probe SERIAL] [--erase auto|chip] [--verify crc|read|none]\n"
     "        [--base ADDR] [--format bin|ihex|srec|elf] FILE",
     "program one board", "The first probe found unless --probe.", false},
};

static const command_help *find_help(const char *cmd)
{
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++)
        if (strcmp(helps[i].name, cmd) == 0)
            return &helps[i];
    return NULL;
}

bool cli_command_usage(const char *cmd, FILE *to)
{
    const command_help *h = find_help(cmd);
    if (!h)
        return false;
    fprintf(to, "usage: flashline %s%s%s\n\n%s%s\n", h->name, *h->args ? " " : "", h->args,
            h->summary, h->summary[0] ? "." : "");
    if (h->details)
        fprintf(to, "%s\n", h->details);
    fprintf(to, "\n--json prints JSON for scripts.\n");
    if (h->daemon)
        fprintf(to, "--socket PATH (or FLASHLINE_SOCKET) is the daemon's socket, "
                    "default " CLI_DEFAULT_SOCKET ".\n");
    return true;
}

void cli_commands_list(FILE *to)
{
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++) {
        if (helps[i].group)
            fprintf(to, "%s%s:\n", i ? "\n" : "", helps[i].group);
        fprintf(to, "  %-11s %s\n", helps[i].name, helps[i].summary);
    }
}

/* ---- options ---------------------------------------------------------------- */

/* getopt_long's values for the options every command shares; a command's
 * own option k is OPT_SPEC + k. */
enum { OPT_JSON = 0x100, OPT_SOCKET, OPT_SPEC };

/* "--bogus=1" -> "--bogus" into buf. */
static const char *option_word(const char *arg, char *buf, size_t size)
{
    snprintf(buf, size, "%.*s", (int)strcspn(arg, "="), arg);
    return buf;
}

/* Why getopt_long refused argv[at]: an unknown or ambiguous name, or a
 * value given to a flag. */
static int refuse(const char *cmd, const struct option *lo, const char *arg, int optopt_)
{
    char word[64];
    if (optopt_ != 0 && strncmp(arg, "--", 2) == 0) {
        /* A long option known by its value: given "=VALUE" as a flag. */
        for (const struct option *p = lo; p->name; p++)
            if (p->val == optopt_)
                fprintf(stderr, "flashline %s: --%s takes no value\n", cmd, p->name);
        return CLI_USAGE;
    }
    if (optopt_ != 0) {
        fprintf(stderr, "flashline %s: unknown option '-%c'; see flashline %s --help\n", cmd,
                optopt_, cmd);
        return CLI_USAGE;
    }
    option_word(arg, word, sizeof word);
    int matches = 0;
    size_t len = strlen(word) > 2 ? strlen(word) - 2 : 0;
    for (const struct option *p = lo; p->name && len; p++)
        matches += strncmp(p->name, word + 2, len) == 0;
    fprintf(stderr, "flashline %s: %s option '%s'; see flashline %s --help\n", cmd,
            matches > 1 ? "ambiguous" : "unknown", word, cmd);
    return CLI_USAGE;
}

int cli_parse(const char *cmd, int argc, char **argv, const cli_optspec *spec, const char **vals,
              cli_opts *o, const char **pos, int maxpos, int *npos)
{
    size_t n = 0;
    while (spec && spec[n].name)
        n++;
    struct option *lo = calloc(n + 4, sizeof *lo);
    if (!lo) {
        fprintf(stderr, "flashline %s: out of memory\n", cmd);
        return CLI_FAILED;
    }
    for (size_t k = 0; k < n; k++) {
        /* The tables spell options as users do, "--chip". */
        lo[k] = (struct option){spec[k].name + 2, spec[k].has_arg ? required_argument : no_argument,
                                NULL, OPT_SPEC + (int)k};
        vals[k] = NULL;
    }
    lo[n] = (struct option){"json", no_argument, NULL, OPT_JSON};
    lo[n + 1] = (struct option){"socket", required_argument, NULL, OPT_SOCKET};
    lo[n + 2] = (struct option){"help", no_argument, NULL, 'h'};
    *npos = 0;
    /* getopt's state is libc's: start over for this argv (0 also resets
     * its scan of a half-read "-xyz"). Messages are ours ("-:h": operands
     * come back in order as 1, a missing value as ':'). */
    optind = 0;
    opterr = 0;
    int c, code = CLI_OK;
    const char *extra = NULL; /* the first operand too many; --help still wins over it */
    while (code == CLI_OK && (c = getopt_long(argc, argv, "-:h", lo, NULL)) != -1) {
        if (c == 1) {
            if (*npos < maxpos)
                pos[(*npos)++] = optarg;
            else if (!extra)
                extra = optarg;
        } else if (c == 'h') {
            cli_command_usage(cmd, stdout);
            code = CLI_HELP;
        } else if (c == ':') {
            char word[64];
            fprintf(stderr, "flashline %s: %s needs a value\n", cmd,
                    option_word(argv[optind - 1], word, sizeof word));
            code = CLI_USAGE;
        } else if (c == '?') {
            code = refuse(cmd, lo, argv[optind - 1], optopt);
        } else if (c == OPT_JSON) {
            o->json = true;
        } else if (c == OPT_SOCKET) {
            o->socket = optarg;
        } else {
            vals[c - OPT_SPEC] = optarg ? optarg : ""; /* the last one given wins */
        }
    }
    /* After "--" every word is an operand. */
    for (int i = optind; code == CLI_OK && i < argc; i++) {
        if (*npos < maxpos)
            pos[(*npos)++] = argv[i];
        else if (!extra)
            extra = argv[i];
    }
    if (code == CLI_OK && extra) {
        fprintf(stderr, "flashline %s: unexpected argument '%s'; see flashline %s --help\n", cmd,
                extra, cmd);
        code = CLI_USAGE;
    }
    free(lo);
    return code;
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
