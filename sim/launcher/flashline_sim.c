/*
 * flashline-sim: the virtual production line.
 *
 *   flashline-sim run [--probe KIND:CHIP[:SERIAL]]... [--line FILE] [--speed F]
 *                     [--seed N] [--control PATH] [--hub ppps|ganged]
 *                     [-- COMMAND [ARGS...]]
 *   flashline-sim ctl --control PATH VERB [ARGS...]
 *
 * `run` builds virtual ST-LINK probes (KIND v2, v2-1, v3) on a virtual USB
 * bus, each wired to a fresh virtual board (CHIP stm32f103rb, stm32f446re,
 * stm32l053r8, stm32l476rg), runs COMMAND under it and exits with COMMAND's
 * status. Without COMMAND it prints the probes and stays up until SIGINT or
 * SIGTERM, so a daemon and its clients can run against it (they need the
 * printed UMOCKDEV_DIR and LD_PRELOAD). The probes sit on one hub (--hub:
 * ppps, the default, switches each port's power through the port's sysfs
 * "disable" attribute; ganged cannot, see sim/usb/vbus.h). `ctl` sends one verb to a running
 * line's control socket (see sim/usb/vbus.h for the verbs).
 */
#define _GNU_SOURCE
#include "vbus.h"

#include "board.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define PRELOAD   "libumockdev-preload.so.0"
#define MAX_SPECS 32

typedef struct probe_spec {
    stlink_kind kind;
    char chip[24];
    char serial[25];
    bool has_serial;
} probe_spec;

typedef struct options {
    probe_spec specs[MAX_SPECS];
    int nspecs;
    double speed;
    unsigned long long seed;
    const char *control;
    vbus_hub hub;
    char **command;
} options;

static const char usage_text[] =
    "usage: flashline-sim run [--probe KIND:CHIP[:SERIAL]]... [--line FILE] [--speed F]\n"
    "                         [--seed N] [--control PATH] [--hub ppps|ganged]\n"
    "                         [-- COMMAND [ARGS...]]\n"
    "       flashline-sim ctl --control PATH VERB [ARGS...]\n"
    "KIND: v2, v2-1, v3; CHIP: stm32f103rb, stm32f446re, stm32l053r8, stm32l476rg\n"
    "run runs COMMAND on the virtual line, or prints the line and waits for SIGINT\n"
    "or SIGTERM; ctl sends VERB to a running line's --control socket.\n";

/* A bad command line: 2, the usage on stderr. --help: 0, on stdout. */
static int usage(bool asked)
{
    fputs(usage_text, asked ? stdout : stderr);
    return asked ? 0 : 2;
}

/* getopt_long's refusal of the word at argv[optind - 1] as one line. */
static void refusal(int c, char **argv, const struct option *opts, char *err, size_t errlen)
{
    const char *arg = argv[optind - 1];
    int len = (int)strcspn(arg, "=");
    if (c == ':') {
        snprintf(err, errlen, "%.*s needs a value", len, arg);
        return;
    }
    for (const struct option *o = opts; optopt && strncmp(arg, "--", 2) == 0 && o->name; o++)
        if (o->val == optopt) {
            snprintf(err, errlen, "--%s takes no value", o->name);
            return;
        }
    if (optopt && strncmp(arg, "--", 2) != 0)
        snprintf(err, errlen, "unknown option '-%c'; see flashline-sim --help", optopt);
    else
        snprintf(err, errlen, "unknown option '%.*s'; see flashline-sim --help", len, arg);
}

/* Parse "KIND:CHIP[:SERIAL]" (or the same separated by blanks) into spec. */
static int parse_spec(const char *text, probe_spec *spec, char *err, size_t errlen)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *c = buf; *c; c++)
        if (*c == ' ' || *c == '\t')
            *c = ':';
    char *save = NULL;
    char *kind = strtok_r(buf, ":", &save);
    char *chip = strtok_r(NULL, ":", &save);
    char *serial = strtok_r(NULL, ":", &save);
    char *extra = strtok_r(NULL, ":", &save);
    if (!kind || !chip || extra) {
        snprintf(err, errlen, "'%s' is not KIND:CHIP[:SERIAL]", text);
        return -1;
    }
    if (strcmp(kind, "v2") == 0)
        spec->kind = STLINK_V2;
    else if (strcmp(kind, "v2-1") == 0)
        spec->kind = STLINK_V2_1;
    else if (strcmp(kind, "v3") == 0)
        spec->kind = STLINK_V3;
    else {
        snprintf(err, errlen, "unknown probe kind '%s' (v2, v2-1, v3)", kind);
        return -1;
    }
    snprintf(spec->chip, sizeof spec->chip, "%s", chip);
    spec->has_serial = serial != NULL;
    if (serial) {
        if (strlen(serial) != 24 || strspn(serial, "0123456789abcdefABCDEF") != 24) {
            snprintf(err, errlen, "serial '%s' is not 24 hex digits", serial);
            return -1;
        }
        snprintf(spec->serial, sizeof spec->serial, "%s", serial);
    }
    return 0;
}

static int add_spec(options *o, const char *text, char *err, size_t errlen)
{
    if (o->nspecs >= MAX_SPECS) {
        snprintf(err, errlen, "too many probes (at most %d)", MAX_SPECS);
        return -1;
    }
    return parse_spec(text, &o->specs[o->nspecs++], err, errlen);
}

static int read_line_file(options *o, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read line file %s: %s", path, strerror(errno));
        return -1;
    }
    char line[256], why[160];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *s = line + strspn(line, " \t\r\n");
        s[strcspn(s, "\r\n")] = 0;
        for (char *e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
            e[-1] = 0;
        if (!*s)
            continue;
        if (add_spec(o, s, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

/* argv[0] is "run". 1: --help was asked for. */
static int parse_run(int argc, char **argv, options *o, char *err, size_t errlen)
{
    o->speed = 0.0;
    o->seed = 1;
    o->hub = VBUS_HUB_PPPS;
    enum { O_PROBE = 0x100, O_LINE, O_SPEED, O_SEED, O_CONTROL, O_HUB };
    static const struct option opts[] = {
        {"probe", required_argument, NULL, O_PROBE},
        {"line", required_argument, NULL, O_LINE},
        {"speed", required_argument, NULL, O_SPEED},
        {"seed", required_argument, NULL, O_SEED},
        {"control", required_argument, NULL, O_CONTROL},
        {"hub", required_argument, NULL, O_HUB},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* '+': the first word that is not an option ends them, so COMMAND's
     * own arguments are never read here (and argv, which ensure_preload
     * executes again, is not reordered). */
    optind = 0;
    opterr = 0;
    int c;
    const char *last_value = NULL;
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        const char *val = optarg;
        last_value = optarg;
        char *end = NULL;
        switch (c) {
        case 'h':
            return 1;
        case O_PROBE:
            if (add_spec(o, val, err, errlen) != 0)
                return -1;
            break;
        case O_LINE:
            if (read_line_file(o, val, err, errlen) != 0)
                return -1;
            break;
        case O_SPEED:
            o->speed = strtod(val, &end);
            if (!*val || *end || o->speed < 0) {
                snprintf(err, errlen, "--speed '%s' is not a number >= 0", val);
                return -1;
            }
            break;
        case O_SEED:
            errno = 0;
            o->seed = strtoull(val, &end, 0);
            if (!*val || *end || errno) {
                snprintf(err, errlen, "--seed '%s' is not a number", val);
                return -1;
            }
            break;
        case O_HUB:
            if (strcmp(val, "ppps") == 0) {
                o->hub = VBUS_HUB_PPPS;
            } else if (strcmp(val, "ganged") == 0) {
                o->hub = VBUS_HUB_GANGED;
            } else {
                snprintf(err, errlen, "--hub '%s' is not ppps or ganged", val);
                return -1;
            }
            break;
        case O_CONTROL:
            o->control = val;
            break;
        default:
            refusal(c, argv, opts, err, errlen);
            return -1;
        }
    }
    /* The command follows "--" (not a "--" that was an option's value): a
     * stray word is a mistake, not a program to run. */
    if (optind < argc) {
        if (optind < 2 || strcmp(argv[optind - 1], "--") != 0 || argv[optind - 1] == last_value) {
            snprintf(err, errlen, "unexpected argument '%s'; put the command after --",
                     argv[optind]);
            return -1;
        }
        o->command = argv + optind;
    }
    return 0;
}

/* The fast usbfs transport (sim/usb/fastpath), preloaded in front of
 * umockdev's: FLASHLINE_USBFAST names it or "off" disables it; otherwise
 * the build tree's copy, then the installed one. */
static const char *usbfast_library(void)
{
    const char *env = getenv("FLASHLINE_USBFAST");
    if (env)
        return strcmp(env, "off") == 0 ? NULL : env;
    if (access(FLASHLINE_USBFAST_BUILD, R_OK) == 0)
        return FLASHLINE_USBFAST_BUILD;
    if (access(FLASHLINE_USBFAST_INSTALLED, R_OK) == 0)
        return FLASHLINE_USBFAST_INSTALLED;
    return NULL;
}

/* The testbed only sees its own uevents when this process runs under the
 * preload (pitfalls.md), so re-execute under it once. */
static void ensure_preload(char **argv)
{
    const char *pre = getenv("LD_PRELOAD");
    if (pre && strstr(pre, "libumockdev-preload") && !getenv("UMOCKDEV_DIR"))
        return;
    if (getenv("FLASHLINE_SIM_REEXEC")) {
        fprintf(stderr, "flashline-sim: cannot run under %s (nested virtual line?)\n", PRELOAD);
        exit(1);
    }
    char value[4096];
    const char *fast = usbfast_library();
    snprintf(value, sizeof value, "%s%s%s%s%s", fast ? fast : "", fast ? ":" : "", PRELOAD,
             pre ? ":" : "", pre ? pre : "");
    setenv("LD_PRELOAD", value, 1);
    unsetenv("UMOCKDEV_DIR");
    setenv("FLASHLINE_SIM_REEXEC", "1", 1);
    /* Sanitizer builds: their runtime must come first unless told not to
     * check; the preload only carries syscall wrappers. */
    const char *asan = getenv("ASAN_OPTIONS");
    char aopt[1024];
    snprintf(aopt, sizeof aopt, "%s%sverify_asan_link_order=0", asan ? asan : "", asan ? ":" : "");
    setenv("ASAN_OPTIONS", aopt, 1);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "flashline-sim: cannot re-execute under %s: %s\n", PRELOAD, strerror(errno));
    exit(1);
}

/* ---- control socket ------------------------------------------------------------ */

typedef struct control {
    vbus *bus;
    int fd;
    pthread_t thread;
} control;

static void *control_loop(void *arg)
{
    control *c = arg;
    for (;;) {
        int fd = accept(c->fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        char line[512];
        size_t got = 0;
        while (got + 1 < sizeof line) {
            ssize_t r = read(fd, line + got, sizeof line - 1 - got);
            if (r <= 0)
                break;
            got += (size_t)r;
            if (memchr(line, '\n', got))
                break;
        }
        line[got] = 0;
        line[strcspn(line, "\r\n")] = 0;
        char reply[2048], out[2100];
        int rc = vbus_control(c->bus, line, reply, sizeof reply);
        int n = snprintf(out, sizeof out, "%s%s\n", rc == 0 ? "" : "error: ", reply);
        if (write(fd, out, (size_t)n) < 0)
            perror("flashline-sim: control reply");
        close(fd);
    }
}

static int control_start(control *c, vbus *bus, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) {
        snprintf(err, errlen, "control path too long: %s", path);
        return -1;
    }
    strcpy(addr.sun_path, path);
    c->bus = bus;
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unlink(path);
    if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(c->fd, 8) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
        return -1;
    }
    if (pthread_create(&c->thread, NULL, control_loop, c) != 0) {
        snprintf(err, errlen, "cannot start the control thread");
        return -1;
    }
    pthread_detach(c->thread);
    return 0;
}

/* argv[0] is "ctl". */
static int ctl_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"control", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    char err[160];
    /* '+': the verb and its arguments ("swap-board S --fault F") are the
     * line's to read, not ours. */
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        if (c == 'h')
            return usage(true);
        if (c == 'c') {
            path = optarg;
            continue;
        }
        refusal(c, argv, opts, err, sizeof err);
        fprintf(stderr, "flashline-sim ctl: %s\n", err);
        return 2;
    }
    if (!path || optind >= argc) {
        fprintf(stderr, "flashline-sim ctl: expected --control PATH VERB [ARGS...]\n");
        return 2;
    }
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    char line[512];
    size_t off = 0;
    for (int i = optind; i < argc && off < sizeof line; i++) {
        /* Quote each word: the server splits like a shell. */
        off += (size_t)snprintf(line + off, sizeof line - off, "%s'%s'", i > optind ? " " : "",
                                argv[i]);
    }
    if (off >= sizeof line - 1) {
        fprintf(stderr, "flashline-sim ctl: command too long\n");
        return 2;
    }
    line[off++] = '\n';
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        fprintf(stderr, "flashline-sim ctl: cannot reach %s: %s (is the line running?)\n", path,
                strerror(errno));
        return 1;
    }
    if (write(fd, line, off) != (ssize_t)off) {
        fprintf(stderr, "flashline-sim ctl: write failed\n");
        return 1;
    }
    char reply[2200];
    size_t got = 0;
    ssize_t r;
    while (got + 1 < sizeof reply && (r = read(fd, reply + got, sizeof reply - 1 - got)) > 0)
        got += (size_t)r;
    reply[got] = 0;
    close(fd);
    fputs(reply, strncmp(reply, "error: ", 7) == 0 ? stderr : stdout);
    return strncmp(reply, "error: ", 7) == 0 ? 1 : 0;
}

/* ---- run ----------------------------------------------------------------------- */

static int run_command(char **command)
{
    pid_t pid;
    int rc = posix_spawnp(&pid, command[0], NULL, NULL, command, environ);
    if (rc != 0) {
        fprintf(stderr, "flashline-sim: cannot run %s: %s\n", command[0], strerror(rc));
        return 127;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return 127;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

static int run_main(int argc, char **argv)
{
    static options o;
    char err[256];
    int parsed = parse_run(argc - 1, argv + 1, &o, err, sizeof err);
    if (parsed > 0)
        return usage(true);
    if (parsed < 0) {
        fprintf(stderr, "flashline-sim: %s\n", err);
        return 2;
    }
    for (int i = 0; i < o.nspecs; i++)
        for (int j = 0; j < i; j++)
            if (o.specs[i].has_serial && o.specs[j].has_serial &&
                strcasecmp(o.specs[i].serial, o.specs[j].serial) == 0) {
                fprintf(stderr, "flashline-sim: duplicate serial %s\n", o.specs[i].serial);
                return 2;
            }
    for (int i = 0; i < o.nspecs; i++)
        if (!sim_chip_find(o.specs[i].chip)) {
            /* The known chips are the ordering codes of the chip table. */
            char known[4096];
            sim_chip_known(known, sizeof known);
            fprintf(stderr,
                    "flashline-sim: unknown chip '%s'; modelled parts, x being any "
                    "pin-count letter: %s\n",
                    o.specs[i].chip, known);
            return 2;
        }
    ensure_preload(argv);
    /* Every usbfs ioctl is a socket round trip to umockdev's thread, and the
     * preload yields with usleep(0) after each: with the default 50 us timer
     * slack those sleeps dominate. Threads and children inherit this. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

    /* Block the signals we wait for before any thread starts. */
    sigset_t wait_set;
    sigemptyset(&wait_set);
    sigaddset(&wait_set, SIGINT);
    sigaddset(&wait_set, SIGTERM);
    if (!o.command)
        pthread_sigmask(SIG_BLOCK, &wait_set, NULL);

    vbus *bus = vbus_new(o.speed, o.seed, o.hub, err, sizeof err);
    if (!bus) {
        fprintf(stderr, "flashline-sim: %s\n", err);
        return 1;
    }
    for (int i = 0; i < o.nspecs; i++) {
        probe_spec *s = &o.specs[i];
        if (vbus_add_probe(bus, s->kind, s->chip, s->has_serial ? s->serial : NULL, NULL, err,
                           sizeof err) != 0) {
            fprintf(stderr, "flashline-sim: %s\n", err);
            vbus_free(bus);
            return 2;
        }
    }
    control ctl;
    if (o.control && control_start(&ctl, bus, o.control, err, sizeof err) != 0) {
        fprintf(stderr, "flashline-sim: %s\n", err);
        vbus_free(bus);
        return 1;
    }
    int rc = 0;
    if (o.command) {
        rc = run_command(o.command);
    } else {
        for (size_t i = 0; i < vbus_probe_count(bus); i++) {
            char d[160];
            vbus_describe(bus, i, d, sizeof d);
            printf("probe %s\n", d);
        }
        printf("UMOCKDEV_DIR=%s\nLD_PRELOAD=%s\nready\n", vbus_root(bus), getenv("LD_PRELOAD"));
        fflush(stdout);
        int sig = 0;
        sigwait(&wait_set, &sig);
    }
    if (o.control)
        unlink(o.control);
    vbus_free(bus);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(false);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return usage(true);
    if (strcmp(argv[1], "run") == 0)
        return run_main(argc, argv);
    if (strcmp(argv[1], "ctl") == 0)
        return ctl_main(argc - 1, argv + 1);
    fprintf(stderr, "flashline-sim: unknown command '%s'; see flashline-sim --help\n", argv[1]);
    return 2;
}
