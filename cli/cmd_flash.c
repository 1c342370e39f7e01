/*
 * flashline flash: program one board through one probe, without the daemon.
 *
 *   flashline [--json] flash [--probe SERIAL] [--erase auto|chip]
 *             [--verify crc|read|none] [--base ADDR] [--format bin|ihex|srec|elf] FILE
 *
 * Load and check the image before anything on the target changes; connect,
 * identify, plan; read the CRC of every touched erase unit in one stub run
 * and skip those that already match; erase (one mass erase when every unit
 * is rewritten) and program the rest in one double-buffered stub run;
 * verify; reset and run. When a step fails, climb the recovery ladder of
 * ARCHITECTURE.md as far as needed and go on from the unit that failed.
 * Exit 0 only when the image is in flash and verified.
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
    bool tty;
    /* what happened, for the report */
    const char *steps_taken[MAX_STEPS_TAKEN];
    size_t nsteps;
    uint32_t units_skipped, units_written;
    bool mass_erased;
    uint64_t bytes_programmed, bytes_total, bytes_base;
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

/* ---- the work ------------------------------------------------------------------- */

static void on_progress(void *user, uint32_t done, uint32_t total)
{
    flash_run *r = user;
    (void)total;
    r->bytes_programmed = r->bytes_base + done;
    bar(r, "programming");
}

/* Run f until it works or the ladder is exhausted. f reports its own
 * progress; it is simply run again after each recovery step. */
typedef fl_err (*work_fn)(flash_run *r, void *arg);

static fl_err with_recovery(flash_run *r, work_fn f, void *arg)
{
    fl_err e = f(r, arg);
    for (int level = first_level(r, e);
         e != FL_OK && e != FL_E_ARG && e != FL_E_VERIFY && level < LADDER_TOP; level++) {
        if (recover(r, level))
            e = f(r, arg);
    }
    return e;
}

/* CRCs of every touched unit, in one stub run. */
typedef struct crc_job {
    fl_crc_item *items;
    size_t n;
} crc_job;

static fl_err run_crcs(flash_run *r, void *arg)
{
    crc_job *j = arg;
    return fl_crc32_list(&r->t, j->items, j->n);
}

static fl_err run_mass_erase(flash_run *r, void *arg)
{
    (void)arg;
    return fl_mass_erase(&r->t);
}

/* The erase-and-program stream, resumed from the unit that failed. */
typedef struct stream_job {
    fl_chunk *chunks;
    size_t n, start;
} stream_job;

static fl_err run_stream(flash_run *r, void *arg)
{
    stream_job *j = arg;
    size_t done = 0;
    r->bytes_base = 0;
    for (size_t i = 0; i < j->start; i++)
        r->bytes_base += j->chunks[i].len;
    fl_err e = fl_stream(&r->t, j->chunks + j->start, j->n - j->start, on_progress, r, &done);
    j->start += done;
    /* A unit is redone whole, from a fresh erase of it (also after a mass
     * erase: the failed unit may be half programmed). */
    if (e != FL_OK && j->start < j->n) {
        uint32_t unit = j->chunks[j->start].unit.index;
        while (j->start > 0 && j->chunks[j->start - 1].unit.index == unit)
            j->start--;
        j->chunks[j->start].erase = true;
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
    json_object_set_new(o, "mass_erase", json_boolean(r->mass_erased));
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
    r.bytes_total = plan_program_bytes(plan);
    if (!o->json && !r.tty)
        printf("%s, %u KiB flash; image %u bytes in %zu units\n", r.t.chip->name,
               r.t.flash_size / 1024, image_size_bytes(img), plan_step_count(plan));
    size_t nsteps = plan_step_count(plan);
    fl_crc_item *items = calloc(nsteps ? nsteps : 1, sizeof *items);
    bool *skip = calloc(nsteps ? nsteps : 1, sizeof *skip);
    fl_chunk *chunks = NULL;
    uint8_t *flat = NULL; /* after a mass erase: the image laid out flat */
    size_t nchunks = 0;
    for (size_t i = 0; i < nsteps; i++) {
        const plan_step *s = plan_step_at(plan, i);
        items[i] = (fl_crc_item){s->unit.addr, s->unit.size, 0};
        nchunks += s->nranges ? s->nranges : 1;
    }
    chunks = calloc(nchunks ? nchunks : 1, sizeof *chunks);
    if (!items || !skip || !chunks) {
        snprintf(r.error, sizeof r.error, "out of memory");
        code = fail_with(&r, img, t0, CLI_FAILED);
        goto done;
    }
    /* Units whose CRC on the target already matches are left alone. */
    crc_job crcs = {items, nsteps};
    if (erase == PLAN_ERASE_AUTO) {
        e = with_recovery(&r, run_crcs, &crcs);
        if (e != FL_OK) {
            snprintf(r.error, sizeof r.error, "reading unit CRCs: %s", r.t.msg);
            code = fail_with(&r, img, t0, CLI_FAILED);
            goto done;
        }
        for (size_t i = 0; i < nsteps; i++)
            skip[i] = items[i].crc == plan_step_at(plan, i)->crc;
    }
    nchunks = 0;
    for (size_t i = 0; i < nsteps; i++) {
        const plan_step *s = plan_step_at(plan, i);
        if (skip[i]) {
            r.units_skipped++;
            continue;
        }
        r.units_written++;
        if (s->nranges == 0) /* chip erase: a unit the image leaves empty */
            chunks[nchunks++] = (fl_chunk){.addr = s->unit.addr, .erase = true, .unit = s->unit};
        for (size_t k = 0; k < s->nranges; k++) {
            const plan_range *g = &s->ranges[k];
            chunks[nchunks++] = (fl_chunk){.addr = g->addr,
                                           .data = s->content + (g->addr - s->unit.addr),
                                           .len = g->len,
                                           .erase = k == 0,
                                           .unit = s->unit};
        }
    }
    r.bytes_total = 0;
    for (size_t i = 0; i < nchunks; i++)
        r.bytes_total += chunks[i].len;
    /* Every unit to be rewritten: one mass erase beats erasing them one by
     * one (F1: 30 ms against 128 x 30 ms). */
    if (r.units_written > 0 && r.units_written == fl_chip_unit_count(r.t.chip, r.t.flash_size) &&
        fl_can_mass_erase(&r.t)) {
        e = with_recovery(&r, run_mass_erase, NULL);
        if (e != FL_OK) {
            snprintf(r.error, sizeof r.error, "mass erase: %s", r.t.msg);
            code = fail_with(&r, img, t0, CLI_FAILED);
            goto done;
        }
        r.mass_erased = true;
        /* Nothing left to erase unit by unit: join the ranges that touch
         * across units, so that each stub buffer is filled whole. */
        flat = malloc(r.t.flash_size);
        if (flat) {
            size_t m = 0;
            for (size_t i = 0; i < nchunks; i++) {
                fl_chunk c = chunks[i];
                uint32_t off = c.addr - r.t.chip->flash_base;
                if (c.len)
                    memcpy(flat + off, c.data, c.len);
                c.data = flat + off;
                c.erase = false;
                if (m > 0 && chunks[m - 1].addr + chunks[m - 1].len == c.addr)
                    chunks[m - 1].len += c.len;
                else if (c.len)
                    chunks[m++] = c;
            }
            nchunks = m;
        } else {
            for (size_t i = 0; i < nchunks; i++)
                chunks[i].erase = false;
        }
    }
    stream_job job = {chunks, nchunks, 0};
    e = with_recovery(&r, run_stream, &job);
    if (e != FL_OK) {
        snprintf(r.error, sizeof r.error, "%s%s", r.t.msg,
                 r.nsteps ? " (the recovery steps above were tried)" : "");
        code = fail_with(&r, img, t0, CLI_FAILED);
        goto done;
    }
    /* Verify every unit the image touches, written or skipped. */
    if (verify == VERIFY_CRC) {
        e = with_recovery(&r, run_crcs, &crcs);
        for (size_t i = 0; e == FL_OK && i < nsteps; i++) {
            const plan_step *s = plan_step_at(plan, i);
            if (s->touched && items[i].crc != s->crc) {
                snprintf(r.t.msg, sizeof r.t.msg,
                         "verify failed: CRC of 0x%08X+%u is 0x%08X, expected 0x%08X", s->unit.addr,
                         s->unit.size, items[i].crc, s->crc);
                e = FL_E_VERIFY;
            }
        }
    } else if (verify == VERIFY_READ) {
        for (size_t i = 0; e == FL_OK && i < nsteps; i++) {
            const plan_step *s = plan_step_at(plan, i);
            uint8_t *back = s->touched ? malloc(s->unit.size) : NULL;
            if (!s->touched)
                continue;
            if (!back || pd_mem_read(r.probe, s->unit.addr, back, s->unit.size) != PD_OK) {
                snprintf(r.t.msg, sizeof r.t.msg, "read-back failed: %s", pd_message(r.probe));
                e = FL_E_PROBE;
            } else if (memcmp(back, s->content, s->unit.size) != 0) {
                snprintf(r.t.msg, sizeof r.t.msg, "verify failed in 0x%08X+%u", s->unit.addr,
                         s->unit.size);
                e = FL_E_VERIFY;
            }
            free(back);
        }
    }
    if (e != FL_OK) {
        snprintf(r.error, sizeof r.error, "%s", r.t.msg);
        code = fail_with(&r, img, t0, CLI_FAILED);
        goto done;
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
done:
    free(flat);
    free(items);
    free(skip);
    free(chunks);
out:
    plan_free(plan);
    pd_destroy(r.probe);
    image_free(img);
    return code;
}
