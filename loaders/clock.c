/*
 * Running the core fast while the loader works. Every chip leaves reset on
 * a slow internal oscillator (F1 8 MHz, F4 16 MHz, L0 2.1 MHz, L4 4 MHz),
 * and the stubs' CRC passes and buffer loops are bound by the core: on an
 * L476 at 4 MHz one CRC of 1 MiB takes about 3 s of the chip's time. The
 * chip row says how to go faster (fl_clock_step, the chip line in chips.c); this file runs
 * those steps over SWD and undoes them.
 *
 * The clock is raised only from the reset configuration (RCC_CFGR.SWS = 0):
 * a core that firmware already clocked is left as its firmware set it,
 * flash wait states included. A step that does not read back as expected
 * (a PLL that does not lock) is undone with the steps before it, and the
 * loader goes on at the reset clock.
 */
#include "flash_internal.h"

#include <string.h>

/* Oscillators start and PLLs lock within a few hundred microseconds
 * (datasheets: tLOCK <= 200 us); the link makes each poll ~1 ms anyway. */
#define STEP_WAIT_MS 50u

static uint32_t masked_shift(uint32_t v, uint32_t mask, uint8_t shift)
{
    return (v >> shift) & mask;
}

/* The RCC and FLASH_ACR words as last read, so that a step on a register
 * a step before it read needs no second read: every command is a USB round
 * trip (~2 ms on a full-speed probe). Status bits in a cached value are
 * read-only, and none of these registers has bits cleared by writing 1. */
typedef struct reg_cache {
    uint32_t addr[FL_CLOCK_STEPS_MAX + 1], val[FL_CLOCK_STEPS_MAX + 1];
    size_t n;
} reg_cache;

static void remember(reg_cache *rc, uint32_t addr, uint32_t v)
{
    for (size_t i = 0; i < rc->n; i++)
        if (rc->addr[i] == addr) {
            rc->val[i] = v;
            return;
        }
    if (rc->n < FL_CLOCK_STEPS_MAX + 1) {
        rc->addr[rc->n] = addr;
        rc->val[rc->n++] = v;
    }
}

static fl_err read_reg(fl_target *t, reg_cache *rc, uint32_t addr, uint32_t *v)
{
    PD_TRY(t, pd_read32(t->probe, addr, v));
    remember(rc, addr, *v);
    return FL_OK;
}

static fl_err cached(fl_target *t, reg_cache *rc, uint32_t addr, uint32_t *v)
{
    for (size_t i = 0; i < rc->n; i++)
        if (rc->addr[i] == addr) {
            *v = rc->val[i];
            return FL_OK;
        }
    return read_reg(t, rc, addr, v);
}

/* Write one step's bits and wait for them to take; *was (may be NULL)
 * gets the bits they replaced. */
static fl_err set_bits(fl_target *t, reg_cache *rc, const fl_clock_step *s, uint32_t bits,
                       uint32_t *was)
{
    uint32_t v = 0;
    fl_err e = cached(t, rc, s->addr, &v);
    if (e)
        return e;
    if (was)
        *was = v & s->mask;
    v = (v & ~s->mask) | (bits & s->mask);
    PD_TRY(t, pd_write32(t->probe, s->addr, v));
    remember(rc, s->addr, v);
    uint64_t deadline = fl_now_ms() + STEP_WAIT_MS;
    for (;;) {
        if ((e = read_reg(t, rc, s->addr, &v)) != FL_OK)
            return e;
        if (masked_shift(v, s->mask, s->ready_shift) == (bits & s->mask))
            return FL_OK;
        if (fl_now_ms() > deadline)
            return fl_fail(t, FL_E_TIMEOUT,
                           "clock set-up: 0x%08X reads 0x%08X, not ready after %u ms", s->addr, v,
                           STEP_WAIT_MS);
    }
}

/* Undo steps [0, n) in reverse order. */
static fl_err undo(fl_target *t, size_t n)
{
    reg_cache rc = {.n = 0};
    fl_err first = FL_OK;
    while (n-- > 0) {
        fl_err e = set_bits(t, &rc, &t->chip->line->fast_clock[n], t->clock_saved[n], NULL);
        if (e == FL_E_PROBE)
            return e;
        if (e != FL_OK && first == FL_OK)
            first = e;
    }
    return first;
}

/* Steps in the chip row's recipe (t->clock_saved has room for
 * FL_CLOCK_STEPS_MAX; loaders.test_chips checks every row fits). */
static size_t step_count(const fl_line *c)
{
    size_t n = 0;
    while (n < FL_CLOCK_STEPS_MAX && c->fast_clock[n].mask)
        n++;
    return n;
}

fl_err fl_clock_raise(fl_target *t)
{
    const fl_line *c = t->chip ? t->chip->line : NULL;
    if (!c || !c->fast_clock || t->clock_raised)
        return FL_OK;
    reg_cache rc = {.n = 0};
    uint32_t cfgr = 0;
    fl_err pe = read_reg(t, &rc, c->rcc_cfgr, &cfgr);
    if (pe)
        return pe;
    if (cfgr & 0xCu)
        return FL_OK; /* firmware's clock: leave it */
    for (size_t n = 0, steps = step_count(c); n < steps; n++) {
        const fl_clock_step *s = &c->fast_clock[n];
        t->clock_saved[n] = 0;
        fl_err e = set_bits(t, &rc, s, s->value, &t->clock_saved[n]);
        if (e != FL_OK) {
            char why[sizeof t->msg];
            memcpy(why, t->msg, sizeof why);
            fl_err u = undo(t, n + 1);
            if (u == FL_E_PROBE)
                return u;
            return fl_fail(t, e, "%s; the loader runs at the reset clock", why);
        }
    }
    t->clock_raised = true;
    return FL_OK;
}

fl_err fl_clock_restore(fl_target *t)
{
    if (!t->clock_raised)
        return FL_OK;
    fl_err e = undo(t, step_count(t->chip->line));
    if (e == FL_OK)
        t->clock_raised = false;
    return e;
}
