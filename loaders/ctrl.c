/*
 * What the engines and the family files share about driving a flash
 * controller over SWD (family.h): register addresses per bank, the one
 * busy-wait, error flags into typed errors and advice, the error
 * conventions (flash_internal.h) and the clock of the host.
 */
#define _POSIX_C_SOURCE 200809L
#include "family.h"
#include "flash_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Past the controller's worst case, the link adds its own slowness: every
 * poll is a USB round trip and a stalled AHB keeps the probe WAITing. */
#define LINK_SLACK_MS 1000u
/* Polls run back to back for this long, then 1 ms apart: a mass erase
 * takes seconds and the USB bus is shared with the other probes. */
#define FAST_POLL_MS 5u

fl_err fl_fail(fl_target *t, fl_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->msg, sizeof t->msg, fmt, ap);
    va_end(ap);
    return e;
}

/* A probe call failed: keep its error and message. */
fl_err fl_probe_fail(fl_target *t, pd_err e)
{
    t->probe_err = e;
    return fl_fail(t, FL_E_PROBE, "%s", pd_message(t->probe));
}

uint64_t fl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void fl_sleep_ms(unsigned ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

const fl_family *fl_family_of(const fl_target *t)
{
    return t->chip->line->family;
}

uint32_t fl_reg_blocks(const fl_target *t)
{
    return t->chip->bank2_regs ? 2 : 1;
}

uint32_t fl_bank_of(const fl_target *t, uint32_t addr)
{
    const fl_chip *c = t->chip;
    return c->bank2_regs && addr - c->line->flash_base >= c->bank2_start;
}

uint32_t fl_reg(const fl_target *t, uint32_t bank, uint32_t off)
{
    return t->chip->line->flash_regs + (bank ? t->chip->bank2_regs : 0) + off;
}

fl_err fl_flags_describe(const fl_target *t, uint32_t sr, char *buf, size_t n)
{
    fl_err e = FL_OK;
    size_t used = 0;
    if (n)
        buf[0] = '\0';
    for (const fl_flag *f = fl_family_of(t)->sr_flags; f && f->bit; f++) {
        if (!(sr & f->bit))
            continue;
        if (e != FL_E_PROTECTED)
            e = f->err;
        int k = snprintf(buf + used, n - used, "%s%s: %s", used ? "; " : "", f->name, f->advice);
        if (k < 0 || (size_t)k >= n - used)
            break;
        used += (size_t)k;
    }
    return e;
}

fl_err fl_reg_bit(fl_target *t, uint32_t off, uint32_t mask, bool want, bool *on)
{
    uint32_t v = 0;
    PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, off), &v));
    *on = ((v & mask) != 0) == want;
    return FL_OK;
}

uint32_t fl_sr_clear_reg(const fl_target *t, uint32_t bank)
{
    const fl_family *f = fl_family_of(t);
    return fl_reg(t, bank, f->sr_clear ? f->sr_clear : f->sr);
}

uint32_t fl_sr_errors(const fl_family *f)
{
    uint32_t m = 0;
    for (const fl_flag *g = f->sr_flags; g && g->bit; g++)
        m |= g->bit;
    return m;
}

fl_err fl_wait_idle(fl_target *t, uint32_t bank, uint32_t timeout_ms, const char *what,
                    uint32_t addr)
{
    const fl_family *f = fl_family_of(t);
    uint32_t sr_addr = fl_reg(t, bank, f->sr);
    uint64_t start = fl_now_ms(), deadline = start + timeout_ms + LINK_SLACK_MS;
    uint32_t sr = 0;
    for (;;) {
        PD_TRY(t, pd_read32(t->probe, sr_addr, &sr));
        if (!(sr & f->sr_busy))
            break;
        uint64_t now = fl_now_ms();
        if (now > deadline)
            return fl_fail(t, FL_E_TIMEOUT,
                           "%s at 0x%08X: flash still busy after %u ms (FLASH_SR 0x%08X); "
                           "power-cycle the board and retry",
                           what, addr, (unsigned)(now - start), sr);
        if (now - start > FAST_POLL_MS)
            fl_sleep_ms(1);
    }
    uint32_t errors = sr & fl_sr_errors(f);
    if (errors) {
        PD_TRY(t, pd_write32(t->probe, fl_sr_clear_reg(t, bank), errors | (sr & f->sr_eop)));
        char why[200];
        fl_err e = fl_flags_describe(t, errors, why, sizeof why);
        if (t->rdp)
            e = FL_E_PROTECTED;
        return fl_fail(t, e, "%s at 0x%08X failed: FLASH_SR 0x%08X (%s)%s%s%s", what, addr, sr, why,
                       t->rdp ? "; the chip is protected (" : "", t->rdp ? t->protection : "",
                       t->rdp ? "): remove the protection (an RDP or product-state regression, "
                                "which mass-erases the chip)"
                              : "");
    }
    if (sr & f->sr_eop)
        PD_TRY(t, pd_write32(t->probe, fl_sr_clear_reg(t, bank), f->sr_eop));
    return FL_OK;
}

fl_err fl_ctrl_start(fl_target *t, uint32_t bank, uint32_t cr, uint32_t start)
{
    const fl_family *f = fl_family_of(t);
    uint32_t cr_addr = fl_reg(t, bank, f->cr), keep = 0;
    if (f->cr_keep)
        PD_TRY(t, pd_read32(t->probe, cr_addr, &keep));
    keep &= f->cr_keep;
    PD_TRY(t, pd_write32(t->probe, cr_addr, keep | cr));
    if (start)
        PD_TRY(t, pd_write32(t->probe, cr_addr, keep | cr | start));
    return FL_OK;
}

fl_err fl_ctrl_finish(fl_target *t, uint32_t bank, uint32_t timeout_ms, const char *what,
                      uint32_t addr)
{
    const fl_family *f = fl_family_of(t);
    uint32_t cr_addr = fl_reg(t, bank, f->cr), keep = 0;
    fl_err e = fl_wait_idle(t, bank, timeout_ms, what, addr);
    /* Operation bits off whatever happened: a PER or SER left set turns
     * the next program into an error. */
    if (f->cr_keep)
        PD_TRY(t, pd_read32(t->probe, cr_addr, &keep));
    PD_TRY(t, pd_write32(t->probe, cr_addr, keep & f->cr_keep));
    return e;
}

fl_err fl_ctrl_run(fl_target *t, uint32_t bank, uint32_t cr, uint32_t start, uint32_t timeout_ms,
                   const char *what, uint32_t addr)
{
    fl_err e = fl_ctrl_start(t, bank, cr, start);
    return e ? e : fl_ctrl_finish(t, bank, timeout_ms, what, addr);
}
