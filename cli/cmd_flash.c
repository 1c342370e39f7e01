/*
 * flashline flash: program one board through one probe, without the daemon.
 *
 *   flashline [--json] flash [--probe SERIAL] [--erase auto|chip]
 *             [--verify crc|read|none] [--base ADDR] [--format bin|ihex|srec|elf] FILE
 *
 * Load and check the image before anything on the target changes, then run
 * the unit state machine (jobs/unit.h) once, from CONNECT, over the real
 * probe (jobs/unit_hw.h): the same engine, recovery ladder included, as the
 * daemon's slot workers. Exit 0 only when the image is in flash and verified.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "unit.h"
#include "unit_hw.h"

#include <libusb.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct flash_run {
    const cli_opts *o;
    bool tty;
    uint64_t done, total;
    /* Where the time went, state by state: the JSON report's "phases_ms". */
    unit_state state;
    double state_since, spent[US_COUNT];
} flash_run;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The unit entered state next (US_COUNT: the run is over). */
static void account(flash_run *r, unit_state next)
{
    double t = now_s();
    if (r->state_since > 0 && r->state < US_COUNT)
        r->spent[r->state] += t - r->state_since;
    r->state = next;
    r->state_since = t;
}

static void bar(flash_run *r, const char *what)
{
    if (r->o->json)
        return;
    unsigned pct = r->total ? (unsigned)(r->done * 100 / r->total) : 100;
    if (r->tty) {
        char b[41];
        unsigned fill = pct * 40 / 100;
        memset(b, '#', fill);
        memset(b + fill, '.', 40 - fill);
        b[40] = 0;
        printf("\r[%s] %3u%% %s   ", b, pct, what);
        fflush(stdout);
    } else {
        printf("%s (%u%%)\n", what, pct);
    }
}

static void on_progress(void *h, uint64_t done, uint64_t total)
{
    flash_run *r = h;
    r->done = done;
    r->total = total;
    bar(r, "programming");
}

static void on_recovery(void *h, unit_step step, bool ok)
{
    flash_run *r = h;
    if (!r->o->json)
        fprintf(stderr, "%srecovery: %s%s\n", r->tty ? "\n" : "", unit_step_name(step),
                ok ? "" : " (did not help)");
}

static void on_state(void *h, unit_state s)
{
    flash_run *r = h;
    account(r, s);
    if (!r->o->json && !r->tty && (s == US_VERIFY || s == US_RESET_RUN))
        printf("%s\n", s == US_VERIFY ? "verifying" : "reset and run");
}

static bool begin(void *h, const unit_board *b, int64_t *serial)
{
    flash_run *r = h;
    (void)serial;
    if (!r->o->json && !r->tty)
        printf("%s, %u KiB flash, UID %s\n", b->chip->name, b->flash_size / 1024, b->uid_hex);
    return true;
}

static const unit_host cli_host = {
    .on_state = on_state,
    .on_progress = on_progress,
    .on_recovery = on_recovery,
    .begin = begin,
};

static void report_json(const flash_run *r, const unit_outcome *u, const char *serial,
                        const image *img, double secs)
{
    json_t *o = json_object();
    char sha[65];
    image_sha256_hex(img, sha);
    json_object_set_new(o, "result", json_string(u->final == US_DONE ? "ok" : "failed"));
    json_object_set_new(o, "serial", json_string(serial));
    if (u->board.chip) {
        json_object_set_new(o, "chip", json_string(u->board.chip->name));
        json_object_set_new(o, "uid", json_string(u->board.uid_hex));
    }
    json_object_set_new(o, "image_sha256", json_string(sha));
    json_object_set_new(o, "units_written", json_integer(u->units_written));
    json_object_set_new(o, "units_skipped", json_integer(u->units_skipped));
    json_object_set_new(o, "mass_erase", json_boolean(u->mass_erased));
    json_object_set_new(o, "bytes_programmed", json_integer((json_int_t)u->bytes_programmed));
    json_object_set_new(o, "attempts", json_integer(u->attempts));
    json_object_set_new(o, "seconds", json_real(secs));
    json_t *steps = json_array();
    for (size_t i = 0; i < u->nsteps; i++)
        json_array_append_new(steps, json_string(unit_step_name(u->steps[i])));
    json_object_set_new(o, "recovery", steps);
    json_t *phases = json_object();
    for (int st = 0; st < US_COUNT; st++)
        if (r->spent[st] > 0)
            json_object_set_new(phases, unit_state_name((unit_state)st),
                                json_real((double)(int64_t)(r->spent[st] * 1e4) / 10.0));
    json_object_set_new(o, "phases_ms", phases);
    if (u->final != US_DONE) {
        json_object_set_new(o, "failed_in", json_string(unit_state_name(u->failed_in)));
        json_object_set_new(o, "error", json_string(u->error));
    }
    json_dumpf(o, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(o);
}

/* Scripts tell these apart (cli.h): the probe, the target, the image. */
static int exit_code(const unit_outcome *u)
{
    switch (u->final) {
    case US_DONE:
        return CLI_OK;
    case US_INTERRUPTED:
        return CLI_NO_PROBE;
    case US_PROBE_DEAD:
        return u->failed_in <= US_CONNECT ? CLI_NO_PROBE : CLI_FAILED;
    default:
        if (u->failed_in <= US_IDENTIFY)
            return CLI_NO_TARGET;
        if (u->failed_in == US_PLAN && u->err == UNIT_E_REFUSED)
            return CLI_BAD_IMAGE; /* the image does not fit this chip */
        return CLI_FAILED;
    }
}

/* --erase, --verify and --format: the value's index in names, or -1. */
static int choice(const char *value, const char *const *names, int n)
{
    for (int k = 0; k < n; k++)
        if (strcmp(value, names[k]) == 0)
            return k;
    return -1;
}

static int bad_value(const char *opt, const char *value, const char *want)
{
    fprintf(stderr, "flashline flash: %s '%s' is not %s; see flashline flash --help\n", opt, value,
            want);
    return CLI_USAGE;
}

int cmd_flash(const cli_opts *global, int argc, char **argv)
{
    enum { F_PROBE, F_ERASE, F_VERIFY, F_BASE, F_FORMAT, F_N };
    static const cli_optspec spec[] = {
        [F_PROBE] = {"--probe", true},   [F_ERASE] = {"--erase", true},
        [F_VERIFY] = {"--verify", true}, [F_BASE] = {"--base", true},
        [F_FORMAT] = {"--format", true}, [F_N] = {NULL, false},
    };
    static const char *const erases[] = {"auto", "chip"},
                             *const verifies[] = {"crc", "read", "none"},
                             *const formats[] = {"bin", "ihex", "srec", "elf"};
    static const plan_erase erase_of[] = {PLAN_ERASE_AUTO, PLAN_ERASE_CHIP};
    static const unit_verify verify_of[] = {UNIT_VERIFY_CRC, UNIT_VERIFY_READ, UNIT_VERIFY_NONE};
    static const image_format format_of[] = {IMAGE_FMT_BIN, IMAGE_FMT_IHEX, IMAGE_FMT_SREC,
                                             IMAGE_FMT_ELF};
    cli_opts opts = *global;
    const cli_opts *o = &opts;
    const char *v[F_N], *pos[1];
    int npos;
    int code = cli_parse("flash", argc, argv, spec, v, &opts, pos, 1, &npos);
    if (code != CLI_OK)
        return code;
    if (npos != 1) {
        fprintf(stderr, "flashline flash: which image? flash [options] FILE; see flashline flash "
                        "--help\n");
        return CLI_USAGE;
    }
    const char *serial = v[F_PROBE], *file = pos[0];
    plan_erase erase = PLAN_ERASE_AUTO;
    unit_verify verify = UNIT_VERIFY_CRC;
    image_format fmt = IMAGE_FMT_AUTO;
    uint32_t base = 0x08000000u;
    int k;
    if (v[F_ERASE]) {
        if ((k = choice(v[F_ERASE], erases, 2)) < 0)
            return bad_value("--erase", v[F_ERASE], "auto or chip");
        erase = erase_of[k];
    }
    if (v[F_VERIFY]) {
        if ((k = choice(v[F_VERIFY], verifies, 3)) < 0)
            return bad_value("--verify", v[F_VERIFY], "crc, read or none");
        verify = verify_of[k];
    }
    if (v[F_FORMAT]) {
        if ((k = choice(v[F_FORMAT], formats, 4)) < 0)
            return bad_value("--format", v[F_FORMAT], "bin, ihex, srec or elf");
        fmt = format_of[k];
    }
    if (v[F_BASE]) {
        char *end = NULL;
        errno = 0;
        unsigned long long b = strtoull(v[F_BASE], &end, 0);
        if (!*v[F_BASE] || *end || errno || b > 0xFFFFFFFFull)
            return bad_value("--base", v[F_BASE], "an address (0x08000000)");
        base = (uint32_t)b;
    }

    flash_run r = {.o = o, .tty = isatty(STDOUT_FILENO) && !o->json};
    double t0 = now_s();
    /* The image is read and checked before anything on the target changes. */
    image *img = NULL;
    char msg[256];
    if (image_load_file(file, fmt, base, &img, msg, sizeof msg) != IMG_OK) {
        fprintf(stderr, "flashline flash: %s: %s\n", file, msg);
        return CLI_BAD_IMAGE;
    }
    /* One libusb context for the search and the handle: each libusb_init
     * walks the whole bus again. */
    libusb_context *usb = NULL;
    if (libusb_init(&usb) != 0) {
        fprintf(stderr, "flashline flash: libusb_init failed; is /dev/bus/usb there?\n");
        image_free(img);
        return CLI_NO_PROBE;
    }
    char chosen[PD_SERIAL_LEN + 1];
    if (!serial) {
        pd_probe_info infos[2];
        size_t n = 0;
        if (pd_enumerate(usb, infos, 2, &n, msg, sizeof msg) != PD_OK || n != 1) {
            fprintf(stderr, "flashline flash: %s\n",
                    n == 0 ? "no ST-LINK found" : "several probes: say which with --probe SERIAL");
            image_free(img);
            libusb_exit(usb);
            return CLI_NO_PROBE;
        }
        memcpy(chosen, infos[0].serial, sizeof chosen);
        serial = chosen;
    }
    pd_probe *probe = NULL;
    unit_hw *hw = NULL;
    pd_err pe = pd_create(usb, serial, &probe);
    if (pe == PD_E_ARG) {
        fprintf(stderr,
                "flashline flash: --probe %s is not a probe serial (24 hex digits, as "
                "`flashline probes` lists them)\n",
                serial);
        image_free(img);
        libusb_exit(usb);
        return CLI_USAGE;
    }
    if (pe != PD_OK || !(hw = unit_hw_create(probe))) {
        fprintf(stderr, "flashline flash: out of memory\n");
        pd_destroy(probe);
        image_free(img);
        libusb_exit(usb);
        return CLI_FAILED;
    }
    unit_recipe recipe = {
        .img = img, .erase = erase, .verify = verify, .rdp = -1, .reset_run = true};
    unit_config cfg = {.start = US_CONNECT, .retries = 1};
    unit_outcome *u = calloc(1, sizeof *u);
    code = CLI_FAILED;
    if (u) {
        account(&r, US_CONNECT);
        unit_run(&cfg, &recipe, &unit_hw_ops, hw, &cli_host, &r, u);
        account(&r, US_COUNT);
        code = exit_code(u);
        double secs = now_s() - t0;
        if (o->json)
            report_json(&r, u, serial, img, secs);
        else if (u->final == US_DONE)
            printf("%sdone: %u units written, %u unchanged and skipped, %llu bytes, %.2f s%s\n",
                   r.tty ? "\n" : "", u->units_written, u->units_skipped,
                   (unsigned long long)u->bytes_programmed, secs,
                   u->nsteps ? " (after recovery)" : "");
        else
            fprintf(stderr, "%sflashline flash: %s\n", r.tty ? "\n" : "", u->error);
    }
    free(u);
    unit_hw_destroy(hw);
    pd_destroy(probe);
    libusb_exit(usb);
    image_free(img);
    return code;
}
