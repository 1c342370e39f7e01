/*
 * The unit state machine (see unit.h). The table below is the policy; the
 * state functions are the work; unit_run is the small engine between them.
 */
#include "unit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ---------------------------------------------------------------- */

static const char *const state_names[US_COUNT] = {
    [US_WAIT_BOARD] = "wait_board",
    [US_CONNECT] = "connect",
    [US_IDENTIFY] = "identify",
    [US_CHECK] = "check",
    [US_PLAN] = "plan",
    [US_ERASE] = "erase",
    [US_PROGRAM] = "program",
    [US_VERIFY] = "verify",
    [US_OPTIONS] = "options",
    [US_RESET_RUN] = "reset_run",
    [US_DONE] = "done",
    [US_FAILED] = "failed",
    [US_PROBE_DEAD] = "probe_dead",
    [US_INTERRUPTED] = "interrupted",
};

const char *unit_state_name(unit_state s)
{
    return (unsigned)s < US_COUNT ? state_names[s] : "?";
}

const char *unit_err_name(unit_err e)
{
    static const char *const n[] = {"ok",      "no board", "target",      "probe",    "gone",
                                    "refused", "verify",   "unsupported", "cancelled"};
    return (unsigned)e < sizeof n / sizeof n[0] ? n[e] : "?";
}

const char *unit_event_name(unit_event e)
{
    static const char *const n[UEV_COUNT] = {
        [UEV_OK] = "ok",         [UEV_NO_BOARD] = "no_board", [UEV_FAULT] = "fault",
        [UEV_PROBE] = "probe",   [UEV_REFUSED] = "refused",   [UEV_GONE] = "gone",
        [UEV_CANCEL] = "cancel",
    };
    return (unsigned)e < UEV_COUNT ? n[e] : "?";
}

const char *unit_step_name(unit_step s)
{
    static const char *const n[STEP_COUNT] = {
        [STEP_RETRY] = "clear flash error flags and retry",
        [STEP_HALT_RELOAD] = "halt with interrupts masked, freeze watchdogs, reload the loader",
        [STEP_SYSTEM_RESET] = "system reset and halt",
        [STEP_UNDER_RESET] = "connect under reset",
        [STEP_LOWER_CLOCK] = "lower the SWD clock",
        [STEP_REOPEN] = "close and reopen the probe",
        [STEP_USB_RESET] = "USB reset of the probe, found again by serial",
        [STEP_PORT_POWER] = "power-cycle the probe's hub port",
        [STEP_NO_LOADER] = "program over SWD without the loader",
    };
    return (unsigned)s < STEP_COUNT ? n[s] : "?";
}

/* ---- the policy ------------------------------------------------------------- */

#define T(a, n)                                                                                    \
    {                                                                                              \
        UA_##a, US_##n                                                                             \
    }
#define WORKING(s)                                                                                 \
    {                                                                                              \
        [UEV_OK] = T(NEXT, s), [UEV_NO_BOARD] = T(RECOVER, s), [UEV_FAULT] = T(RECOVER, s),        \
        [UEV_PROBE] = T(RECOVER, s), [UEV_REFUSED] = T(FAIL, FAILED),                              \
        [UEV_GONE] = T(INTERRUPT, INTERRUPTED), [UEV_CANCEL] = T(INTERRUPT, INTERRUPTED)           \
    }

/* Row s: what happens when state s reports each event. For the working
 * states OK goes to the next state in the line, failures climb the ladder
 * and try s again, a wrong board fails the unit. */
static const unit_transition table[US_COUNT][UEV_COUNT] = {
    /* A board that is absent, half inserted, refuses SWD or is the one just
     * done: keep looking. Only the probe itself needs the ladder. */
    [US_WAIT_BOARD] = {[UEV_OK] = T(NEXT, CONNECT),
                       [UEV_NO_BOARD] = T(POLL, WAIT_BOARD),
                       [UEV_FAULT] = T(POLL, WAIT_BOARD),
                       [UEV_PROBE] = T(RECOVER, WAIT_BOARD),
                       [UEV_REFUSED] = T(POLL, WAIT_BOARD),
                       [UEV_GONE] = T(INTERRUPT, INTERRUPTED),
                       [UEV_CANCEL] = T(INTERRUPT, INTERRUPTED)},
    [US_CONNECT] = WORKING(IDENTIFY),
    [US_IDENTIFY] = WORKING(CHECK),
    [US_CHECK] = WORKING(PLAN),
    [US_PLAN] = WORKING(ERASE),
    [US_ERASE] = WORKING(PROGRAM),
    [US_PROGRAM] = WORKING(VERIFY),
    [US_VERIFY] = WORKING(OPTIONS),
    [US_OPTIONS] = WORKING(RESET_RUN),
    [US_RESET_RUN] = WORKING(DONE),
};

unit_transition unit_table(unit_state s, unit_event e)
{
    if ((unsigned)s > US_RESET_RUN || (unsigned)e >= UEV_COUNT)
        return (unit_transition){UA_INTERRUPT, US_INTERRUPTED};
    return table[s][e];
}

/* Per state: the error class's first rung for target-side trouble, and the
 * deadline for the state with all its recovery (a state still failing after
 * it gives up instead of climbing further). */
typedef struct state_info {
    unit_step target_first;
    unsigned deadline_s;
} state_info;

static const state_info info[US_COUNT] = {
    /* Before the core is halted and the loader is in, "retry" cannot help:
     * start with a reset. */
    [US_WAIT_BOARD] = {STEP_REOPEN, 60},     [US_CONNECT] = {STEP_SYSTEM_RESET, 60},
    [US_IDENTIFY] = {STEP_SYSTEM_RESET, 60}, [US_CHECK] = {STEP_RETRY, 10},
    [US_PLAN] = {STEP_RETRY, 120},           [US_ERASE] = {STEP_RETRY, 120},
    [US_PROGRAM] = {STEP_RETRY, 900},        [US_VERIFY] = {STEP_RETRY, 300},
    [US_OPTIONS] = {STEP_RETRY, 120},        [US_RESET_RUN] = {STEP_RETRY, 60},
};

/* The last rung is for a loader that cannot run: only where the loader
 * runs (the plan's CRCs, erase, program, verify) and the target, not the
 * probe, failed. */
static bool rung_applies(unit_step r, unit_state s, unit_event e)
{
    if (r != STEP_NO_LOADER)
        return true;
    return e == UEV_FAULT && (s == US_PLAN || s == US_ERASE || s == US_PROGRAM || s == US_VERIFY);
}

unit_step unit_first_step(unit_state s, unit_event e)
{
    /* A probe that timed out or vanished cannot be helped by talking to
     * the target through it. */
    if (e == UEV_PROBE)
        return STEP_REOPEN;
    return (unsigned)s < US_COUNT ? info[s].target_first : STEP_RETRY;
}

/* ---- the run ------------------------------------------------------------------ */

/* The failure the last rung taken answered, and that rung (learned: it came
 * from host->learned). */
typedef struct cure_note {
    bool open, learned;
    unit_state s;
    unit_event e;
    unit_err err;
    unit_step step;
} cure_note;

typedef struct run {
    const unit_config *cfg;
    const unit_recipe *r;
    const unit_ops *ops;
    void *d;
    const unit_host *host;
    void *h;
    unit_outcome *out;

    image *patched; /* the recipe's image with this unit's serial number */
    flash_plan *plan;
    fl_crc_item *items;
    bool *skip;
    fl_chunk *chunks; /* per unit, with erase flags */
    size_t nchunks;
    fl_chunk *flat; /* after a mass erase: joined across units */
    uint8_t *flat_data;
    size_t nflat;
    bool use_flat;
    size_t start; /* next chunk of the active list */
    uint64_t bytes_base, bytes_total;

    int attempt;
    bool attempt_open;
} run;

static void set_error(run *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(run *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->out->error, sizeof x->out->error, fmt, ap);
    va_end(ap);
}

/* A recovery step found the probe gone from the bus: the unit is
 * interrupted (redone on its board when the probe is back). */
static void set_gone(run *x)
{
    set_error(x, "the probe left the USB bus: %s",
              x->ops->message ? x->ops->message(x->d) : "not found by serial");
}

static unit_event event_of(unit_err e)
{
    switch (e) {
    case UNIT_OK:
        return UEV_OK;
    case UNIT_E_NO_BOARD:
        return UEV_NO_BOARD;
    case UNIT_E_TARGET:
    case UNIT_E_UNSUPPORTED:
        return UEV_FAULT;
    case UNIT_E_PROBE:
        return UEV_PROBE;
    case UNIT_E_GONE:
        return UEV_GONE;
    case UNIT_E_CANCELLED:
        return UEV_CANCEL;
    case UNIT_E_REFUSED:
    case UNIT_E_VERIFY:
        return UEV_REFUSED;
    }
    return UEV_FAULT;
}

/* The driver's message for a failed call, as the unit's error. */
static unit_err failed(run *x, unit_err e, const char *what)
{
    const char *m = x->ops->message ? x->ops->message(x->d) : "";
    set_error(x, "%s: %s", what, m && *m ? m : unit_err_name(e));
    return e;
}

static void free_work(run *x)
{
    image_free(x->patched);
    plan_free(x->plan);
    free(x->items);
    free(x->skip);
    free(x->chunks);
    free(x->flat);
    free(x->flat_data);
    x->patched = NULL;
    x->plan = NULL;
    x->items = NULL;
    x->skip = NULL;
    x->chunks = x->flat = NULL;
    x->flat_data = NULL;
    x->nchunks = x->nflat = x->start = 0;
    x->use_flat = false;
}

/* ---- the states ----------------------------------------------------------------- */

static unit_err st_wait_board(run *x)
{
    unit_board b = {0};
    unit_err e = x->ops->peek(x->d, &b);
    if (e != UNIT_OK)
        return e;
    if (x->cfg->last_uid && strcmp(b.uid_hex, x->cfg->last_uid) == 0)
        return UNIT_E_NO_BOARD; /* still the board we did: wait for the next */
    /* The UID is three separate word reads: a board changed between them
     * (a fixture closing, pogo pins seating) gives a UID that belongs to no
     * board, and a unit recorded under it could never be redone on its
     * board. A new board counts once two looks at it agree. */
    unit_board again = {0};
    e = x->ops->peek(x->d, &again);
    if (e != UNIT_OK)
        return e;
    if (strcmp(again.uid_hex, b.uid_hex) != 0)
        return UNIT_E_NO_BOARD; /* still settling: look again next poll */
    /* A new board on the fixture is a unit from here on: every attempt,
     * also one that never gets through CONNECT, goes into its record. */
    x->out->board = b;
    if (!x->host->begin(x->h, &b, &x->out->serial)) {
        set_error(x, "the job wants no more units");
        return UNIT_E_CANCELLED;
    }
    x->out->begun = true;
    x->out->has_serial = x->r->serial != NULL;
    return UNIT_OK;
}

static unit_err st_connect(run *x)
{
    unit_err e = x->ops->connect(x->d);
    return e == UNIT_OK ? e : failed(x, e, "cannot connect to the target");
}

static unit_err st_identify(run *x)
{
    unit_board seen = x->out->board;
    unit_err e = x->ops->identify(x->d, &x->out->board);
    if (e != UNIT_OK)
        return failed(x, e, "cannot identify the target");
    /* The unit was opened for the board seen while waiting: if another one
     * is there now, it was swapped under us and this unit is not its. */
    if (x->out->begun && seen.uid_hex[0] && strcmp(seen.uid_hex, x->out->board.uid_hex) != 0) {
        set_error(x, "the board on the fixture changed (UID %s, then %s): unit abandoned",
                  seen.uid_hex, x->out->board.uid_hex);
        x->out->board = seen;
        return UNIT_E_GONE;
    }
    return UNIT_OK;
}

static bool chip_matches(const unit_recipe *r, const unit_board *b, char *why, size_t n)
{
    if (r->chip && !fl_chip_matches_part(b->chip, b->flash_size, r->chip, why, n))
        return false;
    if (r->family && !fl_chip_matches_family(b->chip, r->family)) {
        snprintf(why, n, "the board is a %s, not of family %s", b->chip->name, r->family);
        return false;
    }
    return true;
}

static unit_err st_check(run *x)
{
    unit_outcome *o = x->out;
    const unit_board *b = &o->board;
    /* The unit exists from here on, whatever the check says, so that a
     * wrong board is in the audit log too. */
    if (!o->begun) {
        if (!x->host->begin(x->h, b, &o->serial)) {
            set_error(x, "the job wants no more units");
            return UNIT_E_CANCELLED;
        }
        o->begun = true;
        o->has_serial = x->r->serial != NULL;
    }
    char why[160];
    if (!chip_matches(x->r, b, why, sizeof why)) {
        set_error(x, "wrong board: %s; put the right board on the fixture", why);
        return UNIT_E_REFUSED;
    }
    if (b->rdp) {
        set_error(x,
                  "the board is read protected (%s): its flash cannot be programmed until the "
                  "protection is removed, which erases it",
                  b->protection[0] ? b->protection : "RDP level 1");
        return UNIT_E_REFUSED;
    }
    return UNIT_OK;
}

static unit_err st_plan(run *x)
{
    const unit_recipe *r = x->r;
    unit_outcome *o = x->out;
    free_work(x);
    char msg[256];
    const image *img = r->img;
    if (r->serial) {
        uint8_t bytes[SERIAL_MAX_WIDTH];
        if (!serial_encode(r->serial, o->serial, bytes, o->serial_text, sizeof o->serial_text, msg,
                           sizeof msg)) {
            set_error(x, "%s", msg);
            return UNIT_E_REFUSED;
        }
        if (image_patch(img, r->serial->addr, bytes, r->serial->width, &x->patched, msg,
                        sizeof msg) != IMG_OK) {
            set_error(x, "serial number: %s", msg);
            return UNIT_E_REFUSED;
        }
        img = x->patched;
    }
    if (plan_build(img, o->board.chip, o->board.flash_size, r->erase, &x->plan, msg, sizeof msg) !=
        IMG_OK) {
        set_error(x, "%s", msg);
        return UNIT_E_REFUSED;
    }
    size_t n = plan_step_count(x->plan), nchunks = 0;
    x->items = calloc(n ? n : 1, sizeof *x->items);
    x->skip = calloc(n ? n : 1, sizeof *x->skip);
    for (size_t i = 0; i < n; i++) {
        const plan_step *s = plan_step_at(x->plan, i);
        if (x->items)
            x->items[i] = (fl_crc_item){s->unit.addr, s->unit.size, 0};
        nchunks += s->nranges ? s->nranges : 1;
    }
    x->chunks = calloc(nchunks ? nchunks : 1, sizeof *x->chunks);
    if (!x->items || !x->skip || !x->chunks) {
        set_error(x, "out of memory planning the unit");
        return UNIT_E_REFUSED;
    }
    /* Units whose CRC on the target already matches are left alone. */
    if (r->erase == PLAN_ERASE_AUTO) {
        unit_err e = x->ops->crc_list(x->d, x->items, n);
        if (e != UNIT_OK)
            return failed(x, e, "reading the CRCs of the erase units");
        for (size_t i = 0; i < n; i++)
            x->skip[i] = x->items[i].crc == plan_step_at(x->plan, i)->crc;
    }
    o->units_written = o->units_skipped = 0;
    x->bytes_total = 0;
    for (size_t i = 0; i < n; i++) {
        const plan_step *s = plan_step_at(x->plan, i);
        if (x->skip[i]) {
            o->units_skipped++;
            continue;
        }
        o->units_written++;
        if (s->nranges == 0) /* a unit the image leaves empty (chip erase) */
            x->chunks[x->nchunks++] =
                (fl_chunk){.addr = s->unit.addr, .erase = true, .unit = s->unit};
        for (size_t k = 0; k < s->nranges; k++) {
            const plan_range *g = &s->ranges[k];
            x->chunks[x->nchunks++] = (fl_chunk){.addr = g->addr,
                                                 .data = s->content + (g->addr - s->unit.addr),
                                                 .len = g->len,
                                                 .erase = k == 0,
                                                 .unit = s->unit};
            x->bytes_total += g->len;
        }
    }
    return UNIT_OK;
}

/* After a mass erase nothing is left to erase unit by unit: join ranges
 * that touch across units, so that each stub buffer is filled whole. */
static void flatten(run *x)
{
    const unit_board *b = &x->out->board;
    x->flat = calloc(x->nchunks ? x->nchunks : 1, sizeof *x->flat);
    x->flat_data = malloc(b->flash_size);
    if (!x->flat || !x->flat_data)
        return; /* the per-unit list works too, only slower */
    size_t m = 0;
    for (size_t i = 0; i < x->nchunks; i++) {
        fl_chunk c = x->chunks[i];
        uint32_t off = c.addr - b->chip->line->flash_base;
        if (c.len)
            memcpy(x->flat_data + off, c.data, c.len);
        c.data = x->flat_data + off;
        c.erase = false;
        if (m > 0 && x->flat[m - 1].addr + x->flat[m - 1].len == c.addr)
            x->flat[m - 1].len += c.len;
        else if (c.len)
            x->flat[m++] = c;
    }
    x->nflat = m;
    x->use_flat = true;
}

static unit_err st_erase(run *x)
{
    unit_outcome *o = x->out;
    const unit_board *b = &o->board;
    o->mass_erased = false;
    x->use_flat = false;
    x->start = 0;
    if (o->units_written == 0 || o->units_written != fl_chip_unit_count(b->chip, b->flash_size) ||
        !x->ops->can_mass_erase(x->d))
        return UNIT_OK; /* the stream erases unit by unit */
    /* Every unit rewritten: one mass erase beats erasing them one by one
     * (F1: 30 ms against 128 x 30 ms). */
    unit_err e = x->ops->mass_erase(x->d);
    if (e != UNIT_OK)
        return failed(x, e, "mass erase");
    o->mass_erased = true;
    flatten(x);
    return UNIT_OK;
}

static void on_progress(void *user, uint32_t done, uint32_t total)
{
    run *x = user;
    (void)total;
    x->out->bytes_programmed = x->bytes_base + done;
    if (x->host->on_progress)
        x->host->on_progress(x->h, x->out->bytes_programmed, x->bytes_total);
}

/* A stream that failed part-way goes on from the erase unit that failed,
 * erasing it again first: it may be half programmed. From the joined list
 * (after a mass erase) that means going back to the per-unit list. */
static void resume_point(run *x, size_t done)
{
    const fl_chunk *list = x->use_flat ? x->flat : x->chunks;
    size_t n = x->use_flat ? x->nflat : x->nchunks;
    x->start += done;
    if (x->start >= n)
        return;
    uint32_t addr = list[x->start].addr;
    if (x->use_flat) {
        size_t i = 0;
        while (i + 1 < x->nchunks && x->chunks[i + 1].addr <= addr)
            i++;
        x->use_flat = false;
        /* Every later unit may hold bytes of the failed joined chunk. */
        for (size_t k = i; k < x->nchunks; k++)
            x->chunks[k].erase = k == i || x->chunks[k].unit.index != x->chunks[k - 1].unit.index;
        x->start = i;
    }
    uint32_t unit = x->chunks[x->start].unit.index;
    while (x->start > 0 && x->chunks[x->start - 1].unit.index == unit)
        x->start--;
    x->chunks[x->start].erase = true;
}

static unit_err st_program(run *x)
{
    const fl_chunk *list = x->use_flat ? x->flat : x->chunks;
    size_t n = x->use_flat ? x->nflat : x->nchunks;
    x->bytes_base = 0;
    for (size_t i = 0; i < x->start; i++)
        x->bytes_base += list[i].len;
    if (x->start >= n)
        return UNIT_OK;
    size_t done = 0;
    unit_err e = x->ops->stream(x->d, list + x->start, n - x->start, on_progress, x, &done);
    if (e == UNIT_OK) {
        x->start = n;
        return UNIT_OK;
    }
    resume_point(x, done);
    return failed(x, e, "programming");
}

static unit_err st_verify(run *x)
{
    size_t n = plan_step_count(x->plan);
    if (x->r->verify == UNIT_VERIFY_CRC) {
        unit_err e = x->ops->crc_list(x->d, x->items, n);
        if (e != UNIT_OK)
            return failed(x, e, "reading CRCs to verify");
        for (size_t i = 0; i < n; i++) {
            const plan_step *s = plan_step_at(x->plan, i);
            if (s->touched && x->items[i].crc != s->crc) {
                set_error(x, "verify failed: CRC of 0x%08X+%u is 0x%08X, expected 0x%08X",
                          s->unit.addr, s->unit.size, x->items[i].crc, s->crc);
                return UNIT_E_VERIFY;
            }
        }
    } else if (x->r->verify == UNIT_VERIFY_READ) {
        for (size_t i = 0; i < n; i++) {
            const plan_step *s = plan_step_at(x->plan, i);
            if (!s->touched)
                continue;
            uint8_t *back = malloc(s->unit.size);
            if (!back) {
                set_error(x, "out of memory reading back");
                return UNIT_E_REFUSED;
            }
            unit_err e = x->ops->read(x->d, s->unit.addr, back, s->unit.size);
            bool same = e == UNIT_OK && memcmp(back, s->content, s->unit.size) == 0;
            free(back);
            if (e != UNIT_OK)
                return failed(x, e, "reading back to verify");
            if (!same) {
                set_error(x, "verify failed: flash in 0x%08X+%u differs from the image",
                          s->unit.addr, s->unit.size);
                return UNIT_E_VERIFY;
            }
        }
    }
    return UNIT_OK;
}

static unit_err st_options(run *x)
{
    if (x->r->rdp < 0)
        return UNIT_OK;
    unit_err e = x->ops->set_rdp(x->d, x->r->rdp, x->r->confirm);
    return e == UNIT_OK ? e : failed(x, e, "setting the read protection level");
}

static unit_err st_reset_run(run *x)
{
    unit_err e = x->ops->finish(x->d, x->r->reset_run);
    return e == UNIT_OK ? e : failed(x, e, "reset and run");
}

typedef unit_err (*state_fn)(run *x);
static const state_fn work[US_COUNT] = {
    [US_WAIT_BOARD] = st_wait_board, [US_CONNECT] = st_connect, [US_IDENTIFY] = st_identify,
    [US_CHECK] = st_check,           [US_PLAN] = st_plan,       [US_ERASE] = st_erase,
    [US_PROGRAM] = st_program,       [US_VERIFY] = st_verify,   [US_OPTIONS] = st_options,
    [US_RESET_RUN] = st_reset_run,
};

/* ---- the engine ------------------------------------------------------------------ */

static void attempt_begin(run *x, unit_state s)
{
    if (x->attempt_open)
        return;
    x->attempt++;
    x->attempt_open = true;
    x->out->attempts = x->attempt;
    if (x->host->on_attempt_begin)
        x->host->on_attempt_begin(x->h, x->attempt, s);
}

static void attempt_end(run *x, bool ok, unit_state s)
{
    if (!x->attempt_open)
        return;
    x->attempt_open = false;
    if (x->host->on_attempt_end)
        x->host->on_attempt_end(x->h, x->attempt, ok, s, ok ? NULL : x->out->error);
}

static void record_step(run *x, unit_step step, bool ok)
{
    unit_outcome *o = x->out;
    if (o->nsteps < UNIT_MAX_STEPS) {
        o->steps[o->nsteps] = step;
        o->step_ok[o->nsteps++] = ok;
    }
    if (x->host->on_recovery)
        x->host->on_recovery(x->h, step, ok);
}

static void enter(run *x, unit_state s)
{
    if (x->host->on_state)
        x->host->on_state(x->h, s);
}

void unit_run(const unit_config *cfg, const unit_recipe *r, const unit_ops *ops, void *d,
              const unit_host *host, void *h, unit_outcome *out)
{
    memset(out, 0, sizeof *out);
    run x = {.cfg = cfg, .r = r, .ops = ops, .d = d, .host = host, .h = h, .out = out};
    unit_state s = cfg->start;
    /* Ladder position for the current run of failures of one state. */
    int rung = -1;
    unsigned retries_left = cfg->retries;
    /* The failure the last rung taken answered, and that rung: reported as
     * the cure when the state then succeeds (adaptive recovery). */
    cure_note cure = {0};
    bool learned_tried = false;
    uint64_t state_t0 = ops->now_ms(d), wait_t0 = state_t0;
    unit_event last_fail = UEV_FAULT;

    enter(&x, s);
    while (s <= US_RESET_RUN) {
        unit_err e = host->cancelled && host->cancelled(h) ? UNIT_E_CANCELLED : UNIT_OK;
        if (e == UNIT_OK && s != US_WAIT_BOARD)
            attempt_begin(&x, s);
        if (e == UNIT_OK)
            e = work[s](&x);
        if (e == UNIT_E_CANCELLED && !out->error[0])
            set_error(&x, "cancelled");
        unit_event ev = event_of(e);
        if (e != UNIT_OK && s != US_WAIT_BOARD)
            out->err = e;
        unit_transition t = unit_table(s, ev);
        uint64_t now = ops->now_ms(d);
        switch (t.action) {
        case UA_NEXT:
            if (t.next != s) {
                if (cure.open && host->on_cured)
                    host->on_cured(h, cure.s, cure.e, cure.err, cure.step, true);
                cure.open = false;
                learned_tried = false;
                rung = -1;
                retries_left = cfg->retries;
                state_t0 = now;
            }
            s = t.next;
            if (s <= US_RESET_RUN)
                enter(&x, s);
            continue;
        case UA_POLL:
            if (cfg->wait_deadline_ms && now - wait_t0 >= cfg->wait_deadline_ms) {
                set_error(&x, "no new board on the fixture within %llu s",
                          (unsigned long long)(cfg->wait_deadline_ms / 1000));
                s = US_INTERRUPTED;
                break;
            }
            ops->sleep_ms(d, cfg->poll_ms ? cfg->poll_ms : 200);
            s = t.next;
            continue;
        case UA_RECOVER: {
            last_fail = ev;
            if (s != US_WAIT_BOARD)
                attempt_end(&x, false, s);
            out->failed_in = s;
            /* A remembered cure that did not cure this time is forgotten,
             * and the ladder starts from its first rung. */
            if (cure.open && cure.learned) {
                if (host->on_cured)
                    host->on_cured(h, cure.s, cure.e, cure.err, cure.step, false);
                rung = -1;
            }
            cure.open = false;
            /* First the rung that cured this failure last time. */
            int hint =
                !learned_tried && rung < 0 && host->learned ? host->learned(h, s, ev, e) : -1;
            if (hint >= 0 && hint < STEP_COUNT && rung_applies((unit_step)hint, s, ev)) {
                learned_tried = true;
                unit_err le = ops->recover(d, (unit_step)hint);
                if (le != UNIT_E_UNSUPPORTED)
                    record_step(&x, (unit_step)hint, le == UNIT_OK);
                if (le == UNIT_OK) {
                    cure = (cure_note){true, true, s, ev, e, (unit_step)hint};
                    continue; /* s again */
                }
                if (le == UNIT_E_GONE) {
                    set_gone(&x);
                    s = US_INTERRUPTED;
                    break;
                }
                if (host->on_cured)
                    host->on_cured(h, s, ev, e, (unit_step)hint, false);
            }
            if (rung < 0)
                rung = (int)unit_first_step(s, ev);
            else if (rung == STEP_RETRY && retries_left > 0)
                retries_left--;
            else
                rung++;
            /* A probe-side failure skips the target rungs still ahead. */
            if (ev == UEV_PROBE && rung < STEP_REOPEN)
                rung = STEP_REOPEN;
            bool over_time = now - state_t0 > (uint64_t)info[s].deadline_s * 1000u;
            unit_err re = UNIT_E_UNSUPPORTED;
            while (rung < STEP_COUNT && !over_time) {
                /* A drain or an unplug stops a wait for a board at once,
                 * also one that is recovering the probe (host->cancelled
                 * says no once a unit has begun): a ladder can take tens of
                 * seconds, and a unit not begun loses nothing. */
                if (host->cancelled && host->cancelled(h)) {
                    re = UNIT_E_CANCELLED;
                    break;
                }
                if (!rung_applies((unit_step)rung, s, ev)) {
                    rung++;
                    continue;
                }
                if (rung == STEP_RETRY)
                    ops->sleep_ms(d, 20u << (cfg->retries - retries_left));
                re = ops->recover(d, (unit_step)rung);
                if (re != UNIT_E_UNSUPPORTED)
                    record_step(&x, (unit_step)rung, re == UNIT_OK);
                if (re == UNIT_OK || re == UNIT_E_GONE)
                    break;
                rung++;
            }
            if (re == UNIT_OK) {
                cure = (cure_note){true, false, s, ev, e, (unit_step)rung};
                continue; /* s again */
            }
            if (re == UNIT_E_CANCELLED) {
                set_error(&x, "cancelled while recovering the probe");
                s = US_INTERRUPTED;
                break;
            }
            if (re == UNIT_E_GONE) {
                set_gone(&x);
                s = US_INTERRUPTED;
                break;
            }
            char why[sizeof out->error];
            snprintf(why, sizeof why, "%s", out->error);
            set_error(&x, "%s (%s; %zu recovery steps tried)", why,
                      over_time ? "the state ran past its deadline" : "recovery ladder exhausted",
                      out->nsteps);
            s = last_fail == UEV_PROBE ? US_PROBE_DEAD : US_FAILED;
            break;
        }
        case UA_FAIL:
            out->failed_in = s;
            attempt_end(&x, false, s);
            s = US_FAILED;
            break;
        case UA_QUARANTINE:
            out->failed_in = s;
            attempt_end(&x, false, s);
            s = US_PROBE_DEAD;
            break;
        case UA_INTERRUPT:
            out->failed_in = s;
            attempt_end(&x, false, s);
            s = US_INTERRUPTED;
            break;
        }
        break;
    }
    if (s == US_DONE) {
        out->error[0] = '\0';
        out->err = UNIT_OK;
        attempt_end(&x, true, US_RESET_RUN);
    } else {
        attempt_end(&x, false, out->failed_in);
    }
    out->final = s;
    enter(&x, s);
    free_work(&x);
}
