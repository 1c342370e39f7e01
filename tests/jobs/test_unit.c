/*
 * The unit state machine over a fake target. The fake keeps a flash array
 * that obeys flash rules (programming needs erased cells, erase sets the
 * erased value) and computes CRCs from it, so every test checks what ended up
 * in flash, not only what the machine says. Faults are scripted per call.
 */
#include "unit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#define F103       0x410u
#define F103_FLASH (128u * 1024u)
#define MAX_FAULTS 16

typedef struct fault {
    const char *op; /* "stream", "crc", "connect", "identify", "peek", "mass", "finish" */
    int call;       /* 1-based call of that op to fail; 0 = every call */
    unit_err err;
    size_t after; /* stream: chunks finished before failing */
} fault;

typedef struct fake {
    const fl_chip *chip;
    uint8_t flash[F103_FLASH];
    bool programmed_over; /* a write hit cells that were not erased */
    unsigned unit_erases[128], mass_erases;
    int calls_stream, calls_crc, calls_connect, calls_identify, calls_peek, calls_mass;
    int calls_finish;
    fault faults[MAX_FAULTS];
    size_t nfaults;
    unit_err recover_result[STEP_COUNT]; /* default OK */
    unit_step recovered[64];
    size_t nrecovered;
    /* peek: a script of boards (uid strings; NULL = no board) */
    const char *peek_uids[8];
    size_t npeek;
    uint32_t uid0;
    uint64_t now, sleep_total;
    unsigned recover_cost_ms;
    int stuck_addr;       /* -1, or a byte that always reads back 0x00 (bad cell) */
    char cur_uid[25];     /* the board peek saw last ("" before any peek) */
    bool swap_after_peek; /* identify finds another board than peek saw */
    bool no_loader;       /* STEP_NO_LOADER taken: stream and crc go over SWD */
    /* The seed's fault: stream fails until cure_step is taken (STEP_COUNT:
     * no such fault). */
    unit_step cure_step;
    bool cured;
    int rdp_set;
} fake;

static unit_err scripted(fake *f, const char *op, int call, size_t *after)
{
    for (size_t i = 0; i < f->nfaults; i++) {
        fault *x = &f->faults[i];
        if (strcmp(x->op, op) == 0 && (x->call == 0 || x->call == call)) {
            if (after)
                *after = x->after;
            return x->err;
        }
    }
    return UNIT_OK;
}

static void add_fault(fake *f, const char *op, int call, unit_err e, size_t after)
{
    f->faults[f->nfaults++] = (fault){op, call, e, after};
}

static unit_err f_peek(void *d, unit_board *b)
{
    fake *f = d;
    int n = f->calls_peek++;
    unit_err e = scripted(f, "peek", n + 1, NULL);
    if (e != UNIT_OK)
        return e;
    /* Past the script, the last board in it stays on the fixture. */
    const char *uid = f->npeek == 0          ? "NEWBOARD"
                      : (size_t)n < f->npeek ? f->peek_uids[n]
                                             : f->peek_uids[f->npeek - 1];
    if (!uid)
        return UNIT_E_NO_BOARD;
    memset(b, 0, sizeof *b);
    b->chip = f->chip;
    snprintf(b->uid_hex, sizeof b->uid_hex, "%s", uid);
    snprintf(f->cur_uid, sizeof f->cur_uid, "%s", uid);
    return UNIT_OK;
}

static unit_err f_connect(void *d)
{
    fake *f = d;
    return scripted(f, "connect", ++f->calls_connect, NULL);
}

static unit_err f_identify(void *d, unit_board *b)
{
    fake *f = d;
    unit_err e = scripted(f, "identify", ++f->calls_identify, NULL);
    if (e != UNIT_OK)
        return e;
    memset(b, 0, sizeof *b);
    b->chip = f->chip;
    b->flash_size = F103_FLASH;
    b->uid[0] = f->uid0;
    if (f->cur_uid[0] && !f->swap_after_peek)
        snprintf(b->uid_hex, sizeof b->uid_hex, "%s", f->cur_uid);
    else
        snprintf(b->uid_hex, sizeof b->uid_hex, "%08X%08X%08X", 0u, 0u, f->uid0);
    b->rdp = f->rdp_set == 1;
    return UNIT_OK;
}

static uint8_t cell(const fake *f, uint32_t off)
{
    return (int)off == f->stuck_addr ? 0x00 : f->flash[off];
}

static unit_err f_crc_list(void *d, fl_crc_item *items, size_t n)
{
    fake *f = d;
    unit_err e = scripted(f, "crc", ++f->calls_crc, NULL);
    if (e != UNIT_OK)
        return e;
    for (size_t i = 0; i < n; i++) {
        uint32_t off = items[i].addr - f->chip->line->flash_base;
        uint8_t *tmp = malloc(items[i].len);
        for (uint32_t k = 0; k < items[i].len; k++)
            tmp[k] = cell(f, off + k);
        items[i].crc = (uint32_t)crc32(0, tmp, items[i].len);
        free(tmp);
    }
    return UNIT_OK;
}

static bool f_can_mass(void *d)
{
    (void)d;
    return true;
}

static unit_err f_mass(void *d)
{
    fake *f = d;
    unit_err e = scripted(f, "mass", ++f->calls_mass, NULL);
    if (e == UNIT_OK) {
        memset(f->flash, 0xFF, sizeof f->flash);
        f->mass_erases++;
    }
    return e;
}

static unit_err f_stream(void *d, const fl_chunk *c, size_t n, fl_progress_fn progress, void *user,
                         size_t *done)
{
    fake *f = d;
    size_t after = 0;
    /* Without the loader the failures scripted for it do not apply; a
     * fault scripted as "direct" does. */
    unit_err e = scripted(f, f->no_loader ? "direct" : "stream", ++f->calls_stream, &after);
    if (e == UNIT_OK && f->cure_step != STEP_COUNT && !f->cured)
        e = UNIT_E_TARGET;
    size_t limit = e == UNIT_OK ? n : (after < n ? after : n);
    uint32_t bytes = 0;
    for (size_t i = 0; i < limit; i++) {
        if (c[i].erase) {
            memset(f->flash + (c[i].unit.addr - f->chip->line->flash_base), 0xFF, c[i].unit.size);
            f->unit_erases[c[i].unit.index]++;
        }
        uint32_t off = c[i].addr - f->chip->line->flash_base;
        for (uint32_t k = 0; k < c[i].len; k++) {
            if (f->flash[off + k] != 0xFF)
                f->programmed_over = true;
            f->flash[off + k] = c[i].data[k];
        }
        bytes += c[i].len;
        if (progress)
            progress(user, bytes, 0);
    }
    /* A failure part-way leaves the next chunk half written. */
    if (e != UNIT_OK && limit < n && c[limit].len >= 2) {
        uint32_t off = c[limit].addr - f->chip->line->flash_base;
        if (c[limit].erase) {
            memset(f->flash + (c[limit].unit.addr - f->chip->line->flash_base), 0xFF,
                   c[limit].unit.size);
            f->unit_erases[c[limit].unit.index]++;
        }
        memcpy(f->flash + off, c[limit].data, c[limit].len / 2);
    }
    *done = limit;
    return e;
}

static unit_err f_read(void *d, uint32_t addr, uint8_t *buf, uint32_t len)
{
    fake *f = d;
    for (uint32_t k = 0; k < len; k++)
        buf[k] = cell(f, addr - f->chip->line->flash_base + k);
    return UNIT_OK;
}

static unit_err f_set_rdp(void *d, int level, const char *confirm)
{
    fake *f = d;
    (void)confirm; /* the engine's check: tests/loaders/test_options.c */
    f->rdp_set = level;
    return UNIT_OK;
}

static unit_err f_finish(void *d, bool run)
{
    fake *f = d;
    (void)run;
    return scripted(f, "finish", ++f->calls_finish, NULL);
}

static unit_err f_recover(void *d, unit_step s)
{
    fake *f = d;
    f->recovered[f->nrecovered++] = s;
    if (s == f->cure_step && f->recover_result[s] == UNIT_OK)
        f->cured = true;
    if (s == STEP_NO_LOADER && f->recover_result[s] == UNIT_OK)
        f->no_loader = true;
    f->now += f->recover_cost_ms;
    return f->recover_result[s];
}

static const char *f_message(void *d)
{
    (void)d;
    return "scripted fault";
}

static uint64_t f_now(void *d)
{
    return ((fake *)d)->now;
}

static void f_sleep(void *d, unsigned ms)
{
    fake *f = d;
    f->now += ms;
    f->sleep_total += ms;
}

static const unit_ops fake_ops = {
    .peek = f_peek,
    .connect = f_connect,
    .identify = f_identify,
    .crc_list = f_crc_list,
    .can_mass_erase = f_can_mass,
    .mass_erase = f_mass,
    .stream = f_stream,
    .read = f_read,
    .set_rdp = f_set_rdp,
    .finish = f_finish,
    .recover = f_recover,
    .message = f_message,
    .now_ms = f_now,
    .sleep_ms = f_sleep,
};

/* ---- host --------------------------------------------------------------------- */

typedef struct host {
    unit_state states[64];
    size_t nstates;
    int begins;
    bool refuse_begin;
    int64_t next_serial;
    int attempts_begun, attempts_ended_ok, attempts_ended_failed;
    int cancel_after_states; /* 0 = never */
    int cancel_after_steps;  /* 0 = never */
    int steps;
    uint64_t last_progress;
    /* Adaptive recovery: what the host remembers, -1 for nothing (mem_on:
     * the host offers learned/on_cured at all), and what it was told. */
    bool mem_on;
    int mem[US_COUNT][UEV_COUNT];
    int cured_reports, forgot_reports;
    unit_step last_cure;
    unit_err last_err;
} host;

static void h_state(void *p, unit_state s)
{
    host *h = p;
    if (h->nstates < 64)
        h->states[h->nstates++] = s;
}

static void h_progress(void *p, uint64_t done, uint64_t total)
{
    (void)total;
    ((host *)p)->last_progress = done;
}

static void h_att_begin(void *p, int n, unit_state s)
{
    (void)s;
    host *h = p;
    h->attempts_begun++;
    assert_int_equal(n, h->attempts_begun);
}

static void h_att_end(void *p, int n, bool ok, unit_state s, const char *err)
{
    (void)s;
    host *h = p;
    assert_int_equal(n, h->attempts_begun);
    if (ok)
        h->attempts_ended_ok++;
    else {
        h->attempts_ended_failed++;
        assert_non_null(err);
    }
}

static bool h_begin(void *p, const unit_board *b, int64_t *serial)
{
    host *h = p;
    assert_non_null(b->chip);
    h->begins++;
    *serial = h->next_serial++;
    return !h->refuse_begin;
}

static void h_recovery(void *p, unit_step step, bool ok)
{
    (void)step;
    (void)ok;
    ((host *)p)->steps++;
}

static int h_learned(void *p, unit_state s, unit_event e, unit_err err)
{
    host *h = p;
    (void)err;
    return h->mem_on ? h->mem[s][e] : -1;
}

static void h_cured(void *p, unit_state s, unit_event e, unit_err err, unit_step step, bool cured)
{
    host *h = p;
    h->last_err = err;
    if (cured) {
        h->mem[s][e] = (int)step;
        h->cured_reports++;
        h->last_cure = step;
    } else {
        assert_int_equal(h->mem[s][e], (int)step);
        h->mem[s][e] = -1;
        h->forgot_reports++;
    }
}

static bool h_cancelled(void *p)
{
    host *h = p;
    return (h->cancel_after_states && (int)h->nstates >= h->cancel_after_states) ||
           (h->cancel_after_steps && h->steps >= h->cancel_after_steps);
}

static const unit_host test_host = {
    .on_state = h_state,
    .on_progress = h_progress,
    .on_attempt_begin = h_att_begin,
    .on_attempt_end = h_att_end,
    .on_recovery = h_recovery,
    .begin = h_begin,
    .cancelled = h_cancelled,
    .learned = h_learned,
    .on_cured = h_cured,
};

/* ---- fixtures ------------------------------------------------------------------ */

typedef struct world {
    fake f;
    host h;
    image *img;
    unit_recipe r;
    unit_config cfg;
    unit_outcome out;
} world;

static image *make_image(uint32_t addr, uint32_t len, uint8_t seed)
{
    uint8_t *buf = malloc(len);
    for (uint32_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seed + i * 7u + (i >> 8));
    image *img = NULL;
    char msg[128];
    assert_int_equal(image_load_mem(buf, len, IMAGE_FMT_BIN, addr, &img, msg, sizeof msg), IMG_OK);
    free(buf);
    return img;
}

static world *new_world(uint32_t len)
{
    world *w = calloc(1, sizeof *w);
    w->f.chip = fl_chip_by_dev_id(F103);
    assert_non_null(w->f.chip);
    memset(w->f.flash, 0xFF, sizeof w->f.flash);
    w->f.stuck_addr = -1;
    w->f.rdp_set = -1;
    w->f.uid0 = 0x1234;
    w->f.cure_step = STEP_COUNT;
    for (int s = 0; s < US_COUNT; s++)
        for (int e = 0; e < UEV_COUNT; e++)
            w->h.mem[s][e] = -1;
    w->img = make_image(0x08000000u, len, 3);
    w->r = (unit_recipe){.img = w->img,
                         .chip = "stm32f103rb",
                         .erase = PLAN_ERASE_AUTO,
                         .verify = UNIT_VERIFY_CRC,
                         .rdp = -1,
                         .reset_run = true};
    w->cfg = (unit_config){.start = US_CONNECT, .poll_ms = 100, .retries = 1};
    w->h.next_serial = 100;
    return w;
}

static void new_image(world *w, uint8_t seed)
{
    uint32_t len = (uint32_t)(image_end_address(w->img) - 0x08000000u);
    image_free(w->img);
    w->img = make_image(0x08000000u, len, seed);
    w->r.img = w->img;
}

static void free_world(world *w)
{
    image_free(w->img);
    free(w);
}

static void go(world *w)
{
    /* each run numbers its attempts from 1 */
    w->h.attempts_begun = w->h.attempts_ended_ok = w->h.attempts_ended_failed = 0;
    w->h.nstates = 0;
    unit_run(&w->cfg, &w->r, &fake_ops, &w->f, &test_host, &w->h, &w->out);
}

static void assert_flash_holds(const world *w, const image *img)
{
    image_segment s;
    for (size_t i = 0; image_segment_get(img, i, &s); i++)
        assert_memory_equal(w->f.flash + (s.address - 0x08000000u), s.data, s.length);
    assert_false(w->f.programmed_over);
}

/* ---- tests ---------------------------------------------------------------------- */

static void happy_path_visits_every_state_in_order(void **state)
{
    (void)state;
    world *w = new_world(5000);
    go(w);
    assert_int_equal(w->out.final, US_DONE);
    const unit_state want[] = {US_CONNECT, US_IDENTIFY, US_CHECK,   US_PLAN,      US_ERASE,
                               US_PROGRAM, US_VERIFY,   US_OPTIONS, US_RESET_RUN, US_DONE};
    assert_int_equal(w->h.nstates, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < w->h.nstates; i++)
        assert_int_equal(w->h.states[i], want[i]);
    assert_flash_holds(w, w->img);
    assert_int_equal(w->out.units_written, 5); /* 5000 bytes over 1 KiB pages */
    assert_int_equal(w->out.attempts, 1);
    assert_int_equal(w->h.attempts_ended_ok, 1);
    assert_int_equal(w->h.begins, 1);
    assert_int_equal(w->out.nsteps, 0);
    assert_int_equal(w->f.calls_finish, 1);
    assert_int_equal(w->h.last_progress, 5000);
    free_world(w);
}

static void unchanged_board_is_skipped_and_one_change_rewrites_one_unit(void **state)
{
    (void)state;
    world *w = new_world(8192);
    go(w);
    assert_int_equal(w->out.units_written, 8);
    go(w);
    assert_int_equal(w->out.final, US_DONE);
    assert_int_equal(w->out.units_written, 0);
    assert_int_equal(w->out.units_skipped, 8);
    w->f.flash[3000] ^= 0x5A; /* someone changed one byte of unit 2 */
    unsigned before = w->f.unit_erases[2];
    go(w);
    assert_int_equal(w->out.units_written, 1);
    assert_int_equal(w->f.unit_erases[2], before + 1);
    assert_flash_holds(w, w->img);
    free_world(w);
}

static void loader_failure_retries_and_resumes_from_the_failed_unit(void **state)
{
    (void)state;
    world *w = new_world(8192);
    add_fault(&w->f, "stream", 1, UNIT_E_TARGET, 3); /* 3 units done, the 4th half written */
    go(w);
    assert_int_equal(w->out.final, US_DONE);
    assert_int_equal(w->out.nsteps, 1);
    assert_int_equal(w->out.steps[0], STEP_RETRY);
    assert_int_equal(w->out.attempts, 2);
    assert_int_equal(w->h.attempts_ended_failed, 1);
    /* Units 0-2 were written once; unit 3 was erased again. */
    assert_int_equal(w->f.unit_erases[0], 1);
    assert_int_equal(w->f.unit_erases[2], 1);
    assert_int_equal(w->f.unit_erases[3], 2);
    assert_flash_holds(w, w->img);
    free_world(w);
}

/* The seed's fault, cured only by a reopen: the first unit climbs the
 * ladder to it; the next tries it first (2 attempts); when it stops curing
 * it is forgotten, the ladder climbs again and the new cure is kept. */
static void a_learned_cure_is_tried_first_and_forgotten_when_it_fails(void **state)
{
    (void)state;
    world *w = new_world(4096);
    w->h.mem_on = true;
    w->f.cure_step = STEP_REOPEN;
    go(w);
    assert_int_equal(w->out.final, US_DONE);
    const unit_step climb[] = {STEP_RETRY,        STEP_RETRY,       STEP_HALT_RELOAD,
                               STEP_SYSTEM_RESET, STEP_UNDER_RESET, STEP_LOWER_CLOCK,
                               STEP_REOPEN};
    assert_int_equal(w->out.nsteps, sizeof climb / sizeof climb[0]);
    for (size_t i = 0; i < w->out.nsteps; i++)
        assert_int_equal(w->out.steps[i], climb[i]);
    assert_int_equal(w->h.cured_reports, 1);
    assert_int_equal(w->h.last_cure, STEP_REOPEN);
    assert_int_equal(w->h.last_err, UNIT_E_TARGET);
    assert_int_equal(w->h.mem[US_PROGRAM][UEV_FAULT], STEP_REOPEN);

    /* The next unit on this probe (a new image, so that nothing is
     * skipped): the remembered rung first. */
    w->f.cured = false;
    new_image(w, 4);
    go(w);
    assert_int_equal(w->out.final, US_DONE);
    assert_int_equal(w->out.attempts, 2);
    assert_int_equal(w->out.nsteps, 1);
    assert_int_equal(w->out.steps[0], STEP_REOPEN);
    assert_int_equal(w->h.cured_reports, 2);
    assert_flash_holds(w, w->img);

    /* Now only a USB reset helps: the reopen is tried, fails to cure, is
     * forgotten, and the ladder from its first rung finds the new cure. */
    w->f.cured = false;
    w->f.cure_step = STEP_USB_RESET;
    new_image(w, 5);
    go(w);
    assert_int_equal(w->out.final, US_DONE);
    assert_int_equal(w->out.steps[0], STEP_REOPEN);
    assert_int_equal(w->out.steps[1], STEP_RETRY);
    assert_int_equal(w->out.steps[w->out.nsteps - 1], STEP_USB_RESET);
    assert_int_equal(w->h.forgot_reports, 1);
    assert_int_equal(w->h.mem[US_PROGRAM][UEV_FAULT], STEP_USB_RESET);
    free_world(w);
}

static void probe_failure_starts_at_the_probe_rungs(void **state)
{
    (void)state;
    world *w = new_world(4096);
    add_fault(&w->f, "stream", 1, UNIT_E_PROBE, 0);
    w->f.recover_result[STEP_REOPEN] = UNIT_E_PROBE; /* a hung probe: reopen fails too */
    go(w);
    assert_int_equal(w->out.final, US_DONE);
    assert_int_equal(w->out.nsteps, 2);
    assert_int_equal(w->out.steps[0], STEP_REOPEN);
    assert_false(w->out.step_ok[0]);
    assert_int_equal(w->out.steps[1], STEP_USB_RESET);
    assert_true(w->out.step_ok[1]);
    assert_flash_holds(w, w->img);
    free_world(w);
}

static void ladder_climbs_in_order_and_gives_up_with_a_message(void **state)
{
    (void)state;
    world *w = new_world(4096);
    add_fault(&w->f, "stream", 0, UNIT_E_TARGET, 0); /* loader-fail always */
    add_fault(&w->f, "direct", 0, UNIT_E_TARGET, 0); /* and over SWD too */
    go(w);
    assert_int_equal(w->out.final, US_FAILED);
    assert_int_equal(w->out.failed_in, US_PROGRAM);
    /* retry twice (budget 1), then every rung once */
    const unit_step want[] = {
        STEP_RETRY,       STEP_RETRY,  STEP_HALT_RELOAD, STEP_SYSTEM_RESET, STEP_UNDER_RESET,
        STEP_LOWER_CLOCK, STEP_REOPEN, STEP_USB_RESET,   STEP_PORT_POWER,   STEP_NO_LOADER};
    assert_int_equal(w->out.nsteps, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < w->out.nsteps; i++)
        assert_int_equal(w->out.steps[i], want[i]);
    assert_non_null(strstr(w->out.error, "programming"));
    assert_non_null(strstr(w->out.error, "recovery ladder exhausted"));
    assert_int_equal(w->f.calls_finish, 0);
    free_world(w);
}

/* A loader that never runs is the last rung's case: the unit is
 * programmed and checked over SWD, and ends verified. */
static void a_loader_that_cannot_run_ends_over_swd(void **state)
{
    (void)state;
    world *w = new_world(4096);
    add_fault(&w->f, "stream", 0, UNIT_E_TARGET, 0); /* loader-fail always */
    go(w);
    assert_int_equal(w->out.final, US_DONE);
    assert_int_equal(w->out.steps[w->out.nsteps - 1], STEP_NO_LOADER);
    assert_true(w->out.step_ok[w->out.nsteps - 1]);
    assert_flash_holds(w, w->img);
    free_world(w);
}

static void a_probe_beyond_help_is_quarantined(void **state)
{
    (void)state;
    world *w = new_world(4096);
    add_fault(&w->f, "stream", 0, UNIT_E_PROBE, 0);
    go(w);
    assert_int_equal(w->out.final, US_PROBE_DEAD);
    assert_int_equal(w->out.steps[0], STEP_REOPEN);
    free_world(w);
}

static void wrong_chip_fails_the_unit_and_leaves_flash_alone(void **state)
{
    (void)state;
    world *w = new_world(4096);
    w->r.chip = "stm32l476rg";
    go(w);
    assert_int_equal(w->out.final, US_FAILED);
    assert_int_equal(w->out.failed_in, US_CHECK);
    assert_true(w->out.begun);
    assert_non_null(strstr(w->out.error, "wrong board"));
    assert_int_equal(w->f.calls_stream, 0);
    assert_int_equal(w->f.flash[0], 0xFF);
    free_world(w);
}

static void family_match_is_enough(void **state)
{
    (void)state;
    world *w = new_world(2048);
    w->r.chip = NULL;
    w->r.family = "f1";
    go(w);
    assert_int_equal(w->out.final, US_DONE);
    free_world(w);
}

static void waits_for_a_new_board(void **state)
{
    (void)state;
    world *w = new_world(2048);
    w->cfg.start = US_WAIT_BOARD;
    w->cfg.last_uid = "OLD";
    w->f.peek_uids[0] = NULL;
    w->f.peek_uids[1] = "OLD";
    w->f.peek_uids[2] = NULL;
    w->f.peek_uids[3] = "NEW";
    w->f.npeek = 4;
    go(w);
    assert_int_equal(w->out.final, US_DONE);
    assert_int_equal(w->f.calls_peek, 5); /* NEW twice: seen, then confirmed */
    assert_int_equal(w->f.sleep_total, 300);
    assert_int_equal(w->h.states[0], US_WAIT_BOARD);
    assert_int_equal(w->h.states[1], US_CONNECT);
    assert_int_equal(w->h.attempts_begun, 1); /* waiting is not an attempt */
    assert_int_equal(w->h.begins, 1);         /* the unit opens when the board is seen */
    assert_string_equal(w->out.board.uid_hex, "NEW");
    free_world(w);
}

static void a_board_swapped_after_it_was_seen_abandons_the_unit(void **state)
{
    (void)state;
    world *w = new_world(2048);
    w->cfg.start = US_WAIT_BOARD;
    w->f.peek_uids[0] = "SEENFIRST";
    w->f.npeek = 1;
    w->f.swap_after_peek = true;
    go(w);
    assert_int_equal(w->out.final, US_INTERRUPTED);
    assert_true(w->out.begun);
    assert_string_equal(w->out.board.uid_hex, "SEENFIRST");
    assert_non_null(strstr(w->out.error, "changed"));
    assert_int_equal(w->f.calls_stream, 0);
    free_world(w);
}

/* The operator put a new board on between the UID's word reads: the first
 * look sees half of each, a UID no board has. */
static void a_torn_uid_read_opens_no_unit(void **state)
{
    (void)state;
    world *w = new_world(2048);
    w->cfg.start = US_WAIT_BOARD;
    w->cfg.last_uid = "AAAA0000AAAA";
    w->f.peek_uids[0] = "AAAA0000AAAA";
    w->f.peek_uids[1] = "BBBB0000AAAA"; /* torn */
    w->f.peek_uids[2] = "BBBB0000BBBB";
    w->f.npeek = 3;
    go(w);
    assert_int_equal(w->out.final, US_DONE);
    assert_int_equal(w->h.begins, 1);
    assert_string_equal(w->out.board.uid_hex, "BBBB0000BBBB");
    /* old; torn, then the whole new UID: not the same twice, so wait a
     * poll; then the new one twice. */
    assert_int_equal(w->f.calls_peek, 5);
    assert_int_equal(w->f.sleep_total, 200);
    free_world(w);
}

static void waiting_gives_up_at_its_deadline(void **state)
{
    (void)state;
    world *w = new_world(2048);
    w->cfg.start = US_WAIT_BOARD;
    w->cfg.wait_deadline_ms = 500;
    w->f.npeek = 8; /* all NULL: never a board */
    go(w);
    assert_int_equal(w->out.final, US_INTERRUPTED);
    assert_false(w->out.begun);
    assert_int_equal(w->f.calls_connect, 0);
    free_world(w);
}

static void cancel_interrupts_between_states(void **state)
{
    (void)state;
    world *w = new_world(4096);
    w->h.cancel_after_states = 4; /* after CHECK was entered */
    go(w);
    assert_int_equal(w->out.final, US_INTERRUPTED);
    assert_int_equal(w->f.calls_stream, 0);
    free_world(w);
}

/* The daemon drains while a probe that stopped answering is being recovered
 * during the wait for a board: the ladder stops after the step under way. */
static void cancel_stops_a_ladder_while_waiting(void **state)
{
    (void)state;
    world *w = new_world(2048);
    w->cfg.start = US_WAIT_BOARD;
    add_fault(&w->f, "peek", 0, UNIT_E_PROBE, 0);
    for (int i = 0; i < STEP_COUNT; i++)
        w->f.recover_result[i] = UNIT_E_PROBE; /* nothing helps */
    w->h.cancel_after_steps = 1;
    go(w);
    assert_int_equal(w->out.final, US_INTERRUPTED);
    assert_false(w->out.begun);
    assert_int_equal(w->f.nrecovered, 1);
    assert_non_null(strstr(w->out.error, "cancelled"));
    free_world(w);
}

static void probe_that_left_the_bus_interrupts_the_unit(void **state)
{
    (void)state;
    world *w = new_world(4096);
    add_fault(&w->f, "stream", 0, UNIT_E_PROBE, 0);
    w->f.recover_result[STEP_REOPEN] = UNIT_E_GONE;
    go(w);
    assert_int_equal(w->out.final, US_INTERRUPTED);
    assert_int_equal(w->out.nsteps, 1);
    assert_non_null(strstr(w->out.error, "left the USB bus"));
    free_world(w);
}

static void job_that_wants_no_more_units_stops_before_writing(void **state)
{
    (void)state;
    world *w = new_world(4096);
    w->h.refuse_begin = true;
    go(w);
    assert_int_equal(w->out.final, US_INTERRUPTED);
    assert_false(w->out.begun);
    assert_int_equal(w->f.calls_stream, 0);
    free_world(w);
}

static void serial_number_lands_in_flash(void **state)
{
    (void)state;
    world *w = new_world(8192);
    serial_spec s = {
        .addr = 0x08001FF0u, .width = 8, .format = SERIAL_ASCII_DEC, .start = 0, .step = 1};
    w->r.serial = &s;
    w->h.next_serial = 4711;
    go(w);
    assert_int_equal(w->out.final, US_DONE);
    assert_true(w->out.has_serial);
    assert_int_equal(w->out.serial, 4711);
    assert_string_equal(w->out.serial_text, "00004711");
    assert_memory_equal(w->f.flash + 0x1FF0, "00004711", 8);
    /* the image itself is still there around it */
    image_segment seg;
    assert_true(image_segment_get(w->img, 0, &seg));
    assert_memory_equal(w->f.flash, seg.data, 0x1FF0);
    assert_memory_equal(w->f.flash + 0x1FF8, seg.data + 0x1FF8, 8);
    free_world(w);
}

static void bad_cell_fails_verify(void **state)
{
    (void)state;
    world *w = new_world(4096);
    w->f.stuck_addr = 1234;
    go(w);
    assert_int_equal(w->out.final, US_FAILED);
    assert_int_equal(w->out.failed_in, US_VERIFY);
    assert_non_null(strstr(w->out.error, "verify failed"));
    assert_int_equal(w->f.calls_finish, 0); /* not reset into half-right firmware */
    free_world(w);
}

static void read_back_verify_also_finds_the_bad_cell(void **state)
{
    (void)state;
    world *w = new_world(4096);
    w->r.verify = UNIT_VERIFY_READ;
    w->f.stuck_addr = 77;
    go(w);
    assert_int_equal(w->out.final, US_FAILED);
    assert_int_equal(w->out.failed_in, US_VERIFY);
    free_world(w);
}

static void full_image_mass_erases_and_recovers_mid_stream(void **state)
{
    (void)state;
    world *w = new_world(F103_FLASH);
    /* The joined list after a mass erase has one chunk per contiguous
     * range: fail it part-way. */
    add_fault(&w->f, "stream", 1, UNIT_E_TARGET, 0);
    go(w);
    assert_int_equal(w->out.final, US_DONE);
    assert_true(w->out.mass_erased);
    assert_int_equal(w->f.mass_erases, 1);
    assert_flash_holds(w, w->img);
    free_world(w);
}

static void state_deadline_stops_the_ladder(void **state)
{
    (void)state;
    world *w = new_world(4096);
    add_fault(&w->f, "stream", 0, UNIT_E_TARGET, 0);
    w->f.recover_cost_ms = 400u * 1000u; /* every step takes 400 s */
    go(w);
    assert_int_equal(w->out.final, US_FAILED);
    assert_non_null(strstr(w->out.error, "deadline"));
    assert_true(w->out.nsteps < 9);
    free_world(w);
}

static void rdp_option_is_applied_after_verify(void **state)
{
    (void)state;
    world *w = new_world(4096);
    w->r.rdp = 1;
    go(w);
    assert_int_equal(w->out.final, US_DONE);
    assert_int_equal(w->f.rdp_set, 1);
    free_world(w);
}

static void connect_failure_climbs_from_reset(void **state)
{
    (void)state;
    world *w = new_world(4096);
    add_fault(&w->f, "connect", 1, UNIT_E_NO_BOARD, 0);
    w->f.recover_result[STEP_SYSTEM_RESET] = UNIT_E_TARGET; /* SWD only under reset */
    go(w);
    assert_int_equal(w->out.final, US_DONE);
    assert_int_equal(w->out.nsteps, 2);
    assert_int_equal(w->out.steps[0], STEP_SYSTEM_RESET);
    assert_int_equal(w->out.steps[1], STEP_UNDER_RESET);
    free_world(w);
}

static void table_sends_refusals_to_failed_and_gone_to_interrupted(void **state)
{
    (void)state;
    for (unit_state s = US_CONNECT; s <= US_RESET_RUN; s++) {
        assert_int_equal(unit_table(s, UEV_REFUSED).action, UA_FAIL);
        assert_int_equal(unit_table(s, UEV_GONE).next, US_INTERRUPTED);
        assert_int_equal(unit_table(s, UEV_CANCEL).next, US_INTERRUPTED);
        assert_int_equal(unit_table(s, UEV_FAULT).action, UA_RECOVER);
        assert_int_equal(unit_table(s, UEV_OK).next, s + 1);
        assert_int_equal(unit_first_step(s, UEV_PROBE), STEP_REOPEN);
    }
    assert_int_equal(unit_table(US_WAIT_BOARD, UEV_NO_BOARD).action, UA_POLL);
    assert_int_equal(unit_table(US_DONE, UEV_OK).action, UA_INTERRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(happy_path_visits_every_state_in_order),
        cmocka_unit_test(unchanged_board_is_skipped_and_one_change_rewrites_one_unit),
        cmocka_unit_test(loader_failure_retries_and_resumes_from_the_failed_unit),
        cmocka_unit_test(probe_failure_starts_at_the_probe_rungs),
        cmocka_unit_test(a_learned_cure_is_tried_first_and_forgotten_when_it_fails),
        cmocka_unit_test(ladder_climbs_in_order_and_gives_up_with_a_message),
        cmocka_unit_test(a_loader_that_cannot_run_ends_over_swd),
        cmocka_unit_test(a_probe_beyond_help_is_quarantined),
        cmocka_unit_test(wrong_chip_fails_the_unit_and_leaves_flash_alone),
        cmocka_unit_test(family_match_is_enough),
        cmocka_unit_test(waits_for_a_new_board),
        cmocka_unit_test(a_torn_uid_read_opens_no_unit),
        cmocka_unit_test(waiting_gives_up_at_its_deadline),
        cmocka_unit_test(a_board_swapped_after_it_was_seen_abandons_the_unit),
        cmocka_unit_test(cancel_interrupts_between_states),
        cmocka_unit_test(cancel_stops_a_ladder_while_waiting),
        cmocka_unit_test(probe_that_left_the_bus_interrupts_the_unit),
        cmocka_unit_test(job_that_wants_no_more_units_stops_before_writing),
        cmocka_unit_test(serial_number_lands_in_flash),
        cmocka_unit_test(bad_cell_fails_verify),
        cmocka_unit_test(read_back_verify_also_finds_the_bad_cell),
        cmocka_unit_test(full_image_mass_erases_and_recovers_mid_stream),
        cmocka_unit_test(state_deadline_stops_the_ladder),
        cmocka_unit_test(rdp_option_is_applied_after_verify),
        cmocka_unit_test(connect_failure_climbs_from_reset),
        cmocka_unit_test(table_sends_refusals_to_failed_and_gone_to_interrupted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
