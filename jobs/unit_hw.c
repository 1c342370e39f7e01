/*
 * unit_ops over the probe driver and the loaders. Each call maps the
 * driver's typed errors onto the state machine's error classes and keeps
 * the driver's message for the audit record.
 */
#include "unit_hw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct unit_hw {
    pd_probe *probe;
    fl_target t;
    bool identified;
    /* STEP_NO_LOADER was taken: this unit programs and checks over SWD. */
    bool no_loader;
    char msg[320];
};

/* Below this the board is not powered (or not on the fixture). */
#define MIN_TARGET_MV 1500u

unit_hw *unit_hw_create(pd_probe *probe)
{
    unit_hw *hw = calloc(1, sizeof *hw);
    if (hw)
        hw->probe = probe;
    return hw;
}

void unit_hw_destroy(unit_hw *hw)
{
    free(hw);
}

static unit_err from_pd(unit_hw *hw, pd_err e)
{
    if (e == PD_OK)
        return UNIT_OK;
    snprintf(hw->msg, sizeof hw->msg, "%s", pd_message(hw->probe));
    switch (e) {
    case PD_E_NOT_FOUND:
        return UNIT_E_GONE;
    case PD_E_NO_TARGET:
        return UNIT_E_NO_BOARD;
    case PD_E_TARGET:
        return UNIT_E_TARGET;
    case PD_E_ARG:
        return UNIT_E_REFUSED;
    default: /* timeout, gone (it may come back), USB, protocol, access, busy */
        return UNIT_E_PROBE;
    }
}

static unit_err from_fl(unit_hw *hw, fl_err e)
{
    if (e == FL_OK)
        return UNIT_OK;
    if (e == FL_E_PROBE) {
        unit_err u = from_pd(hw, hw->t.probe_err);
        snprintf(hw->msg, sizeof hw->msg, "%s", hw->t.msg);
        return u;
    }
    snprintf(hw->msg, sizeof hw->msg, "%s", hw->t.msg);
    switch (e) {
    case FL_E_UNKNOWN_CHIP:
    case FL_E_PROTECTED:
    case FL_E_ARG:
        return UNIT_E_REFUSED;
    case FL_E_VERIFY:
        return UNIT_E_VERIFY;
    default: /* flash error flag, controller timeout, loader fault */
        return UNIT_E_TARGET;
    }
}

static void fill_board(const fl_target *t, unit_board *b)
{
    b->chip = t->chip;
    b->idcode = t->idcode;
    b->flash_size = t->flash_size;
    memcpy(b->uid, t->uid, sizeof b->uid);
    snprintf(b->uid_hex, sizeof b->uid_hex, "%08X%08X%08X", t->uid[2], t->uid[1], t->uid[0]);
    b->rdp = t->rdp;
    snprintf(b->protection, sizeof b->protection, "%s", t->protection);
}

static unit_err ensure_open(unit_hw *hw)
{
    return pd_is_open(hw->probe) ? UNIT_OK : from_pd(hw, pd_open(hw->probe));
}

static unit_err hw_peek(void *d, unit_board *b)
{
    unit_hw *hw = d;
    unit_err e = ensure_open(hw);
    if (e != UNIT_OK)
        return e;
    unsigned mv = 0;
    e = from_pd(hw, pd_target_voltage(hw->probe, &mv));
    if (e != UNIT_OK)
        return e;
    if (mv < MIN_TARGET_MV) {
        snprintf(hw->msg, sizeof hw->msg, "no board: target voltage %u mV", mv);
        return UNIT_E_NO_BOARD;
    }
    /* Reads through the AHB-AP do not stop a running core: the board just
     * programmed keeps running while we look whether it is still there. */
    fl_target t;
    pd_err pe = pd_enter_swd(hw->probe);
    fl_err fe = pe == PD_OK ? fl_identify(hw->probe, &t) : FL_E_PROBE;
    if (fe != FL_OK) {
        /* Firmware that turns the SWD pins off answers only under reset. */
        pe = pd_connect_under_reset(hw->probe);
        fe = pe == PD_OK ? fl_identify(hw->probe, &t) : FL_E_PROBE;
        if (pe != PD_OK)
            return from_pd(hw, pe);
        if (fe != FL_OK) {
            hw->t = t;
            return from_fl(hw, fe);
        }
    }
    fill_board(&t, b);
    return UNIT_OK;
}

static unit_err hw_connect(void *d)
{
    unit_hw *hw = d;
    hw->no_loader = false; /* a new unit tries the loader again */
    unit_err e = ensure_open(hw);
    if (e == UNIT_OK)
        e = from_pd(hw, pd_enter_swd(hw->probe));
    if (e == UNIT_OK)
        e = from_pd(hw, pd_halt(hw->probe));
    return e;
}

static unit_err identify_unlock(unit_hw *hw)
{
    fl_err fe = fl_identify(hw->probe, &hw->t);
    if (fe == FL_OK && !hw->t.rdp)
        fe = fl_unlock(&hw->t);
    /* A clock that will not rise only makes the loader slower; a link
     * that fails meanwhile is a real error. */
    if (fe == FL_OK && !hw->t.rdp && fl_clock_raise(&hw->t) == FL_E_PROBE)
        fe = FL_E_PROBE;
    hw->identified = fe == FL_OK;
    /* A part whose SRAM cannot hold the loader is programmed over SWD from
     * the start, not after a ladder of rungs that cannot help. */
    if (fe == FL_OK && !fl_loader_fits(&hw->t))
        hw->no_loader = true;
    return from_fl(hw, fe);
}

static unit_err hw_identify(void *d, unit_board *b)
{
    unit_hw *hw = d;
    unit_err e = identify_unlock(hw);
    if (e == UNIT_OK || hw->t.chip)
        fill_board(&hw->t, b);
    return e;
}

static unit_err hw_crc_list(void *d, fl_crc_item *items, size_t n)
{
    unit_hw *hw = d;
    return from_fl(hw, hw->no_loader ? fl_crc32_list_direct(&hw->t, items, n)
                                     : fl_crc32_list(&hw->t, items, n));
}

static bool hw_can_mass_erase(void *d)
{
    unit_hw *hw = d;
    return fl_can_mass_erase(&hw->t);
}

static unit_err hw_mass_erase(void *d)
{
    unit_hw *hw = d;
    return from_fl(hw, fl_mass_erase(&hw->t));
}

/* Progress of one direct write, as bytes of the whole stream. */
typedef struct direct_progress {
    fl_progress_fn fn;
    void *user;
    uint32_t before, total;
} direct_progress;

static void on_direct_progress(void *p, uint32_t done, uint32_t total)
{
    (void)total;
    direct_progress *dp = p;
    if (dp->fn)
        dp->fn(dp->user, dp->before + done, dp->total);
}

/* The stream's work without the stub: erase each unit, program its bytes
 * over SWD, chunk by chunk (loaders/direct.c). */
static fl_err stream_direct(unit_hw *hw, const fl_chunk *chunks, size_t n, fl_progress_fn progress,
                            void *user, size_t *done)
{
    direct_progress dp = {progress, user, 0, 0};
    for (size_t i = 0; i < n; i++)
        dp.total += chunks[i].len;
    for (size_t i = 0; i < n; i++) {
        const fl_chunk *c = &chunks[i];
        fl_err e = c->erase ? fl_erase_unit(&hw->t, c->unit.index) : FL_OK;
        if (e == FL_OK && c->len)
            e = fl_program_direct(&hw->t, c->addr, c->data, c->len, on_direct_progress, &dp);
        if (e != FL_OK)
            return e;
        dp.before += c->len;
        *done = i + 1;
    }
    return FL_OK;
}

static unit_err hw_stream(void *d, const fl_chunk *chunks, size_t n, fl_progress_fn progress,
                          void *user, size_t *done)
{
    unit_hw *hw = d;
    *done = 0;
    if (hw->no_loader)
        return from_fl(hw, stream_direct(hw, chunks, n, progress, user, done));
    return from_fl(hw, fl_stream(&hw->t, chunks, n, progress, user, done));
}

static unit_err hw_read(void *d, uint32_t addr, uint8_t *buf, uint32_t len)
{
    unit_hw *hw = d;
    return from_pd(hw, pd_mem_read(hw->probe, addr, buf, len));
}

static unit_err hw_set_rdp(void *d, int level, const char *confirm)
{
    unit_hw *hw = d;
    /* fl_options_set_rdp writes nothing when the level is already in force
     * (option bytes wear out) and re-attaches after the option reload. */
    return from_fl(hw, fl_options_set_rdp(&hw->t, level, confirm));
}

static unit_err hw_finish(void *d, bool run)
{
    unit_hw *hw = d;
    unit_err e = from_fl(hw, fl_lock(&hw->t));
    if (e != UNIT_OK)
        return e;
    /* A reset brings the reset clock back; a board left halted gets it
     * from us. */
    return run ? from_pd(hw, pd_reset(hw->probe, false)) : from_fl(hw, fl_clock_restore(&hw->t));
}

static unit_err attach(unit_hw *hw, bool under_reset)
{
    unit_err e =
        from_pd(hw, under_reset ? pd_connect_under_reset(hw->probe) : pd_enter_swd(hw->probe));
    if (e == UNIT_OK && !under_reset)
        e = from_pd(hw, pd_halt(hw->probe));
    return e == UNIT_OK ? identify_unlock(hw) : e;
}

static unit_err hw_recover(void *d, unit_step step)
{
    unit_hw *hw = d;
    switch (step) {
    case STEP_RETRY:
        return hw->identified ? from_fl(hw, fl_unlock(&hw->t)) : attach(hw, false);
    case STEP_HALT_RELOAD: {
        unit_err e = from_pd(hw, pd_halt(hw->probe));
        if (e == UNIT_OK && hw->identified) {
            hw->t.stub_loaded = false;
            return from_fl(hw, fl_unlock(&hw->t));
        }
        return e == UNIT_OK ? identify_unlock(hw) : e;
    }
    case STEP_SYSTEM_RESET: {
        unit_err e = from_pd(hw, pd_reset(hw->probe, true));
        return e == UNIT_OK ? attach(hw, false) : e;
    }
    case STEP_UNDER_RESET:
        return attach(hw, true);
    case STEP_LOWER_CLOCK: {
        /* Only the clock: SWD_SET_FREQ takes effect in debug mode (the
         * driver sends it at once), so this rung does not also reopen the
         * probe, and a cure is credited to the rung that did it (the seed's
         * fault is cured by the reopen, one rung up). */
        unsigned khz = pd_swd_clock(hw->probe);
        unit_err e = from_pd(hw, pd_set_swd_clock(hw->probe, khz > 400 ? khz / 4 : 100, NULL));
        return e == UNIT_OK ? attach(hw, false) : e;
    }
    case STEP_REOPEN: {
        unit_err e = from_pd(hw, pd_reopen(hw->probe));
        return e == UNIT_OK ? attach(hw, false) : e;
    }
    case STEP_USB_RESET: {
        unit_err e = from_pd(hw, pd_usb_reset(hw->probe));
        return e == UNIT_OK ? attach(hw, false) : e;
    }
    case STEP_NO_LOADER: {
        /* From a clean core (system reset, halted): nothing of the failed
         * loader runs on. */
        unit_err e = from_pd(hw, pd_reset(hw->probe, true));
        if (e == UNIT_OK)
            e = attach(hw, false);
        if (e != UNIT_OK)
            return e;
        if (!fl_can_program_direct(&hw->t)) {
            snprintf(hw->msg, sizeof hw->msg,
                     "%s takes half-word stores only, which this probe's firmware cannot make; "
                     "update the ST-LINK firmware",
                     hw->t.chip->name);
            return UNIT_E_UNSUPPORTED;
        }
        hw->no_loader = true;
        return UNIT_OK;
    }
    case STEP_PORT_POWER: {
        pd_err pe = pd_port_power_cycle(hw->probe);
        if (pe == PD_E_UNSUPPORTED)
            return UNIT_E_UNSUPPORTED; /* a ganged hub: the step is not there to take */
        unit_err e = from_pd(hw, pe);
        return e == UNIT_OK ? attach(hw, false) : e;
    }
    default:
        return UNIT_E_UNSUPPORTED;
    }
}

static const char *hw_message(void *d)
{
    unit_hw *hw = d;
    return hw->msg;
}

static uint64_t hw_now_ms(void *d)
{
    (void)d;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void hw_sleep_ms(void *d, unsigned ms)
{
    (void)d;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

const unit_ops unit_hw_ops = {
    .peek = hw_peek,
    .connect = hw_connect,
    .identify = hw_identify,
    .crc_list = hw_crc_list,
    .can_mass_erase = hw_can_mass_erase,
    .mass_erase = hw_mass_erase,
    .stream = hw_stream,
    .read = hw_read,
    .set_rdp = hw_set_rdp,
    .finish = hw_finish,
    .recover = hw_recover,
    .message = hw_message,
    .now_ms = hw_now_ms,
    .sleep_ms = hw_sleep_ms,
};
