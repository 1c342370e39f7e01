/*
 * flashline flash: program one board through one probe, without the daemon.
 *
 *   flashline [--json] flash [--probe SERIAL] [--erase auto|chip]
 *             [--verify crc|read|none] [--base ADDR] [--format bin|ihex|srec|elf] FILE
 *
 * Load and check the image before anything on the target changes; connect,
 * identify, plan; per erase unit: skip it when its CRC on the target already
 * matches, else erase and program it through the stub; verify; reset and
 * run. When a step fails, climb the recovery ladder of ARCHITECTURE.md as
 * far as needed and go on from the unit that failed. Exit 0 only when the
 * image is in flash and verified.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "flash.h"
#include "plan.h"
#include "stlink.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_STEPS_TAKEN 32

typedef enum verify_mode { VERIFY_CRC, VERIFY_READ, VERIFY_NONE } verify_mode;

typedef struct flash_run {
    const cli_opts *o;
    pd_probe *probe;
    fl_target t;
    const flash_plan *plan;
    bool tty;
    /* what happened, for the report */
    const char *steps_taken[MAX_STEPS_TAKEN];
    size_t nsteps;
    uint32_t units_skipped, units_written;
    uint64_t bytes_programmed, bytes_total;
    char error[512];
} flash_run;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void note(flash_run *r, const char *step)
{
    if (r->nsteps < MAX_STEPS_TAKEN)
        r->steps_taken[r->nsteps++] = step;
    if (!r->o->json)
        fprintf(stderr, "%srecovery: %s\n", r->tty ? "\n" : "", step);
}

static void bar(flash_run *r, const char *what)
{
    if (r->o->json)
        return;
    uint64_t done = r->bytes_programmed;
    unsigned pct = r->bytes_total ? (unsigned)(done * 100 / r->bytes_total) : 100;
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

/* ---- connecting, and the recovery ladder ------------------------------------- */

/* Enter SWD, halt, identify, unlock: the state every unit starts from. */
static fl_err attach(flash_run *r, bool under_reset)
{
    pd_err e = under_reset ? pd_connect_under_reset(r->probe) : pd_enter_swd(r->probe);
    if (e == PD_OK && !under_reset)
        e = pd_halt(r->probe);
    if (e != PD_OK) {
        r->t.probe_err = e;
        snprintf(r->t.msg, sizeof r->t.msg, "%s", pd_message(r->probe));
        return FL_E_PROBE;
    }
    fl_err fe = fl_identify(r->probe, &r->t);
    return fe ? fe : fl_unlock(&r->t);
}

/* The ladder, cheapest first (ARCHITECTURE.md "One unit, end to end" 4).
 * Returns true when the step left the target attached and unlocked. */
static bool recover(flash_run *r, int level)
{
    switch (level) {
    case 0:
        note(r, "clear flash error flags and retry the chunk");
        return fl_unlock(&r->t) == FL_OK;
    case 1:
        note(r, "halt with interrupts masked, freeze watchdogs, reload the loader");
        return pd_halt(r->probe) == PD_OK && fl_unlock(&r->t) == FL_OK;
    case 2:
        note(r, "system reset and halt");
        return pd_reset(r->probe, true) == PD_OK && attach(r, false) == FL_OK;
    case 3:
        note(r, "connect under reset");
        return attach(r, true) == FL_OK;
    case 4: {
        unsigned khz = pd_swd_clock(r->probe);
        note(r, "lower the SWD clock");
        return pd_set_swd_clock(r->probe, khz > 200 ? khz / 4 : 100, NULL) == PD_OK &&
               pd_reopen(r->probe) == PD_OK && attach(r, false) == FL_OK;
    }
    case 5:
        note(r, "close and reopen the probe");
        return pd_reopen(r->probe) == PD_OK && attach(r, false) == FL_OK;
    case 6:
        note(r, "USB reset of the probe, found again by serial");
        return pd_usb_reset(r->probe) == PD_OK && attach(r, false) == FL_OK;
    default:
        return false;
    }
}

#define LADDER_TOP 7

/* A timed-out or vanished probe cannot be helped by talking to the target:
 * start the ladder at the probe-level steps. */
static int first_level(const flash_run *r, fl_err e)
{
    if (e == FL_E_PROBE && (r->t.probe_err == PD_E_TIMEOUT || r->t.probe_err == PD_E_GONE ||
                            r->t.probe_err == PD_E_USB || r->t.probe_err == PD_E_PROTOCOL))
        return 5;
    return 0;
}

/* ---- one unit ----------------------------------------------------------------- */

static fl_err do_unit(flash_run *r, const plan_step *s, bool skip_unchanged)
{
    if (skip_unchanged) {
        uint32_t crc = 0;
        fl_err e = fl_crc32(&r->t, s->unit.addr, s->unit.size, &crc);
        if (e)
            return e;
        if (crc == s->crc) {
            r->units_skipped++;
            for (size_t k = 0; k < s->nranges; k++)
                r->bytes_programmed += s->ranges[k].len;
            return FL_OK;
        }
    }
    fl_err e = fl_erase_unit(&r->t, s->unit.index);
    for (size_t k = 0; e == FL_OK && k < s->nranges; k++) {
        const plan_range *g = &s->ranges[k];
        e = fl_program(&r->t, g->addr, s->content + (g->addr - s->unit.addr), g->len, NULL, NULL);
        if (e == FL_OK)
            r->bytes_programmed += g->len;
    }
    if (e == FL_OK)
        r->units_written++;
    return e;
}

static fl_err verify_unit(flash_run *r, const plan_step *s, verify_mode v)
{
    if (v == VERIFY_NONE || !s->touched)
        return FL_OK;
    if (v == VERIFY_CRC) {
        uint32_t crc = 0;
        fl_err e = fl_crc32(&r->t, s->unit.addr, s->unit.size, &crc);
        if (e == FL_OK && crc != s->crc) {
            snprintf(r->t.msg, sizeof r->t.msg,
                     "verify failed: CRC of 0x%08X+%u is 0x%08X, expected 0x%08X", s->unit.addr,
                     s->unit.size, crc, s->crc);
            return FL_E_VERIFY;
        }
        return e;
    }
    uint8_t *back = malloc(s->unit.size);
    if (!back)
        return FL_E_ARG;
    pd_err pe = pd_mem_read(r->probe, s->unit.addr, back, s->unit.size);
    fl_err e = FL_OK;
    if (pe != PD_OK) {
        r->t.probe_err = pe;
        snprintf(r->t.msg, sizeof r->t.msg, "%s", pd_message(r->probe));
        e = FL_E_PROBE;
    } else {
        for (uint32_t i = 0; i < s->unit.size; i++)
            if (back[i] != s->content[i]) {
                snprintf(r->t.msg, sizeof r->t.msg,
                         "verify failed at 0x%08X: read 0x%02X, expected 0x%02X", s->unit.addr + i,
                         back[i], s->content[i]);
                e = FL_E_VERIFY;
                break;
            }
    }
    free(back);
    return e;
}

/* Run f on a unit, climbing the ladder until it works or the ladder ends. */
static fl_err with_recovery(flash_run *r, const plan_step *s, bool skip, verify_mode v,
                            bool verifying)
{
    fl_err e = verifying ? verify_unit(r, s, v) : do_unit(r, s, skip);
    for (int level = first_level(r, e); e != FL_OK && e != FL_E_ARG && level < LADDER_TOP;
         level++) {
        if (e == FL_E_VERIFY && !verifying)
            break; /* a cell that does not take a write: no ladder fixes that */
        if (!recover(r, level))
            continue;
        e = verifying ? verify_unit(r, s, v) : do_unit(r, s, skip);
    }
    return e;
}

/* ---- the command -------------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr, "usage: flashline [--json] flash [--probe SERIAL] [--erase auto|chip] "
                    "[--verify crc|read|none] [--base ADDR] [--format bin|ihex|srec|elf] FILE\n");
    return CLI_USAGE;
}

static void report_json(const flash_run *r, const image *img, const char *result, double secs)
{
    json_t *o = json_object();
    char sha[65], uid[32];
    image_sha256_hex(img, sha);
    json_object_set_new(o, "result", json_string(result));
    json_object_set_new(o, "serial", json_string(pd_serial(r->probe)));
    if (r->t.chip) {
        snprintf(uid, sizeof uid, "%08X%08X%08X", r->t.uid[2], r->t.uid[1], r->t.uid[0]);
        json_object_set_new(o, "chip", json_string(r->t.chip->name));
        json_object_set_new(o, "uid", json_string(uid));
    }
    json_object_set_new(o, "image_sha256", json_string(sha));
    json_object_set_new(o, "units_written", json_integer(r->units_written));
    json_object_set_new(o, "units_skipped", json_integer(r->units_skipped));
    json_object_set_new(o, "bytes_programmed", json_integer((json_int_t)r->bytes_programmed));
    json_object_set_new(o, "seconds", json_real(secs));
    json_t *steps = json_array();
    for (size_t i = 0; i < r->nsteps; i++)
        json_array_append_new(steps, json_string(r->steps_taken[i]));
    json_object_set_new(o, "recovery", steps);
    if (r->error[0])
        json_object_set_new(o, "error", json_string(r->error));
    json_dumpf(o, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(o);
}

static int fail_with(flash_run *r, const image *img, double t0, int code)
{
    if (r->o->json)
        report_json(r, img, "failed", now_s() - t0);
    else
        fprintf(stderr, "%sflashline flash: %s\n", r->tty ? "\n" : "", r->error);
    return code;
}

int cmd_flash(const cli_opts *o, int argc, char **argv)
{
    const char *serial = NULL, *file = NULL;
    plan_erase erase = PLAN_ERASE_AUTO;
    verify_mode verify = VERIFY_CRC;
    image_format fmt = IMAGE_FMT_AUTO;
    uint32_t base = 0x08000000u;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-') {
            if (file)
                return usage();
            file = a;
            continue;
        }
        if (!v)
            return usage();
        i++;
        if (strcmp(a, "--probe") == 0)
            serial = v;
        else if (strcmp(a, "--erase") == 0 && (!strcmp(v, "auto") || !strcmp(v, "chip")))
            erase = strcmp(v, "chip") == 0 ? PLAN_ERASE_CHIP : PLAN_ERASE_AUTO;
        else if (strcmp(a, "--verify") == 0 && !strcmp(v, "crc"))
            verify = VERIFY_CRC;
        else if (strcmp(a, "--verify") == 0 && !strcmp(v, "read"))
            verify = VERIFY_READ;
        else if (strcmp(a, "--verify") == 0 && !strcmp(v, "none"))
            verify = VERIFY_NONE;
        else if (strcmp(a, "--base") == 0) {
            char *end = NULL;
            unsigned long b = strtoul(v, &end, 0);
            if (*end || b > 0xFFFFFFFFul) {
                fprintf(stderr, "flashline flash: --base '%s' is not an address\n", v);
                return CLI_USAGE;
            }
            base = (uint32_t)b;
        } else if (strcmp(a, "--format") == 0) {
            static const char *const names[] = {"bin", "ihex", "srec", "elf"};
            static const image_format fmts[] = {IMAGE_FMT_BIN, IMAGE_FMT_IHEX, IMAGE_FMT_SREC,
                                                IMAGE_FMT_ELF};
            fmt = IMAGE_FMT_AUTO;
            for (int k = 0; k < 4; k++)
                if (strcmp(v, names[k]) == 0)
                    fmt = fmts[k];
            if (fmt == IMAGE_FMT_AUTO)
                return usage();
        } else
            return usage();
    }
    if (!file)
        return usage();

    flash_run r = {.o = o, .tty = isatty(STDOUT_FILENO) && !o->json};
    double t0 = now_s();
    /* The image is read and checked before anything on the target changes. */
    image *img = NULL;
    char msg[256];
    if (image_load_file(file, fmt, base, &img, msg, sizeof msg) != IMG_OK) {
        fprintf(stderr, "flashline flash: %s: %s\n", file, msg);
        return CLI_BAD_IMAGE;
    }
    char chosen[PD_SERIAL_LEN + 1];
    if (!serial) {
        pd_probe_info infos[2];
        size_t n = 0;
        if (pd_enumerate(NULL, infos, 2, &n, msg, sizeof msg) != PD_OK || n != 1) {
            fprintf(stderr, "flashline flash: %s\n",
                    n == 0 ? "no ST-LINK found" : "several probes: say which with --probe SERIAL");
            image_free(img);
            return CLI_NO_PROBE;
        }
        memcpy(chosen, infos[0].serial, sizeof chosen);
        serial = chosen;
    }
    if (pd_create(NULL, serial, &r.probe) != PD_OK) {
        image_free(img);
        return CLI_FAILED;
    }
    int code = CLI_OK;
    flash_plan *plan = NULL;
    pd_err pe = pd_open(r.probe);
    if (pe == PD_E_TIMEOUT || pe == PD_E_PROTOCOL) {
        /* Hung probe firmware answers nothing until a USB reset. */
        note(&r, "USB reset of the probe, found again by serial");
        pe = pd_usb_reset(r.probe);
    }
    if (pe != PD_OK) {
        snprintf(r.error, sizeof r.error, "%s", pd_message(r.probe));
        code = fail_with(&r, img, t0, CLI_NO_PROBE);
        goto out;
    }
    fl_err e = attach(&r, false);
    for (int level = 2; e != FL_OK && e != FL_E_UNKNOWN_CHIP && level < LADDER_TOP; level++)
        if (recover(&r, level))
            e = FL_OK;
    if (e != FL_OK) {
        snprintf(r.error, sizeof r.error, "cannot connect to the target: %s", r.t.msg);
        code = fail_with(&r, img, t0, CLI_NO_TARGET);
        goto out;
    }
    if (plan_build(img, r.t.chip, r.t.flash_size, erase, &plan, msg, sizeof msg) != IMG_OK) {
        snprintf(r.error, sizeof r.error, "%s", msg);
        code = fail_with(&r, img, t0, CLI_BAD_IMAGE);
        goto out;
    }
    r.plan = plan;
    r.bytes_total = plan_program_bytes(plan);
    if (!o->json && !r.tty)
        printf("%s, %u KiB flash; image %u bytes in %zu units\n", r.t.chip->name,
               r.t.flash_size / 1024, image_size_bytes(img), plan_step_count(plan));
    for (size_t i = 0; i < plan_step_count(plan); i++) {
        const plan_step *s = plan_step_at(plan, i);
        char what[96];
        snprintf(what, sizeof what, "unit %u at 0x%08X", s->unit.index, s->unit.addr);
        e = with_recovery(&r, s, erase == PLAN_ERASE_AUTO, verify, false);
        if (e == FL_OK)
            e = with_recovery(&r, s, false, verify, true);
        if (e != FL_OK) {
            snprintf(r.error, sizeof r.error, "%s: %s%s%s", what, r.t.msg,
                     r.nsteps ? "; recovery tried: " : "", r.nsteps ? "see above" : "");
            code = fail_with(&r, img, t0, CLI_FAILED);
            goto out;
        }
        bar(&r, what);
    }
    fl_lock(&r.t);
    pd_reset(r.probe, false); /* run the new firmware */
    if (o->json) {
        report_json(&r, img, "ok", now_s() - t0);
    } else {
        printf("%sdone: %u units written, %u unchanged and skipped, %llu bytes, %.2f s%s\n",
               r.tty ? "\n" : "", r.units_written, r.units_skipped,
               (unsigned long long)r.bytes_programmed, now_s() - t0,
               r.nsteps ? " (after recovery)" : "");
    }
out:
    plan_free(plan);
    pd_destroy(r.probe);
    image_free(img);
    return code;
}
