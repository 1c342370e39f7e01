/*
 * Programming without the stub (see flash.h, fl_program_direct): the host
 * sets the controller up over SWD and stores the data into flash through
 * the AHB-AP, in bursts of one probe memory command each. Within a burst
 * every store after the first waits on the bus while the controller is
 * busy with the previous one (a store into busy flash stalls the AHB, which
 * the probe sees as SWD WAIT and retries), so a burst needs no BSY polling
 * of its own; after it, BSY and the error flags are checked once and the
 * burst is read back.
 *
 * Per family (store widths are the only legal ones):
 *   F1  PG, half-word stores (RM0008 3.3.3; PM0075 2.3.3: any other width is
 *       a bus error).
 *   F4  PG with PSIZE x32, word stores (RM0390 3.5.4 / RM0090 3.6.4).
 *   L0  word stores where not half-page aligned, FPRG+PROG half pages of 16
 *       words elsewhere (RM0367 3.3.4 "word programming", "half-page
 *       programming"): one tprog per 64 bytes instead of per 4.
 *   L4  PG, double words as two consecutive word stores (RM0351 3.3.7).
 */
#define _POSIX_C_SOURCE 200809L
#include "flash_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One probe memory command per burst: big enough that the flash, not USB,
 * sets the pace, small enough to report progress and failures closely. */
#define BURST 1024u

typedef struct direct_family {
    uint32_t sr, cr;       /* offsets (cr: PECR on the L0) */
    uint32_t busy, errors; /* SR bits */
    uint32_t wrp_errors;   /* of those, the ones meaning "protected" */
    uint32_t cr_program;   /* CR bits for programming (L0: half-page mode) */
    unsigned width;        /* store width */
} direct_family;

/* Error flags: F1 PGERR|WRPRTERR; F4 OPERR..RDERR; L0 WRPERR, PGAERR,
 * SIZERR, RDERR, NOTZEROERR, FWWERR (not OPTVERR, which is about option
 * loading); L4 OPERR, PROGERR..FASTERR. */
static const direct_family families[] = {
    [FL_FAMILY_F1] = {0x0C, 0x10, 1u << 0, 0x14u, 1u << 4, 1u << 0, 2},
    [FL_FAMILY_F4] = {0x0C, 0x10, 1u << 16, 0x1F2u, 1u << 4, (1u << 0) | (2u << 8), 4},
    [FL_FAMILY_L0] = {0x18, 0x04, 1u << 0, 0x32700u, 1u << 8, (1u << 10) | (1u << 3), 4},
    [FL_FAMILY_L4] = {0x10, 0x14, 1u << 16, 0x3FAu, 1u << 4, 1u << 0, 4},
};

#define L0_HALF_PAGE 64u

static uint32_t reg(const fl_target *t, uint32_t off)
{
    return t->chip->flash_regs + off;
}

/* After a burst: wait for BSY to fall, then check the flags. */
static fl_err burst_done(fl_target *t, const direct_family *f, uint32_t addr, uint32_t len)
{
    uint64_t deadline = fl_now_ms() + 1000u;
    uint32_t sr = 0;
    for (;;) {
        PD_TRY(t, pd_read32(t->probe, reg(t, f->sr), &sr));
        if (!(sr & f->busy))
            break;
        if (fl_now_ms() > deadline)
            return fl_fail(t, FL_E_TIMEOUT,
                           "programming 0x%08X+%u: flash still busy after 1 s (FLASH_SR 0x%08X); "
                           "reset the board and retry",
                           addr, len, sr);
    }
    if (!(sr & f->errors))
        return FL_OK;
    PD_TRY(t, pd_write32(t->probe, reg(t, f->sr), sr & f->errors));
    if (sr & f->wrp_errors)
        return fl_fail(t, FL_E_PROTECTED,
                       "programming 0x%08X+%u refused: FLASH_SR 0x%08X (write protection%s)", addr,
                       len, sr, t->rdp ? " or readout protection" : "; clear the WRP option bits");
    return fl_fail(t, FL_E_FLASH,
                   "programming 0x%08X+%u failed: FLASH_SR 0x%08X; the range must be erased (erase "
                   "it and retry)",
                   addr, len, sr);
}

/* Program one burst with stores of `width`, then check and read it back. */
static fl_err burst(fl_target *t, const direct_family *f, unsigned width, uint32_t addr,
                    const uint8_t *data, uint32_t len, uint8_t *back)
{
    pd_err pe = pd_mem_write_w(t->probe, width, addr, data, len);
    if (pe != PD_OK) {
        /* A refused store (bus error) may leave flags: report those first. */
        fl_err e = burst_done(t, f, addr, len);
        return e ? e : fl_probe_fail(t, pe);
    }
    fl_err e = burst_done(t, f, addr, len);
    if (e)
        return e;
    PD_TRY(t, pd_mem_read(t->probe, addr, back, len));
    for (uint32_t i = 0; i < len; i++)
        if (back[i] != data[i])
            return fl_fail(
                t, FL_E_VERIFY,
                "flash at 0x%08X reads 0x%02X after programming 0x%02X (not erased, or a "
                "worn cell); erase and retry, then reject the board",
                addr + i, back[i], data[i]);
    return FL_OK;
}

static fl_err set_cr(fl_target *t, const direct_family *f, uint32_t bits, uint32_t keep)
{
    uint32_t cr = 0;
    PD_TRY(t, pd_read32(t->probe, reg(t, f->cr), &cr));
    PD_TRY(t, pd_write32(t->probe, reg(t, f->cr), (cr & keep) | bits));
    return FL_OK;
}

fl_err fl_program_direct(fl_target *t, uint32_t addr, const uint8_t *data, size_t len,
                         fl_progress_fn progress, void *user)
{
    const fl_chip *ch = t->chip;
    uint32_t unit = ch->program_unit;
    if (len > t->flash_size || addr < ch->flash_base || addr - ch->flash_base > t->flash_size ||
        len > t->flash_size - (addr - ch->flash_base) || addr % unit || len % unit)
        return fl_fail(t, FL_E_ARG,
                       "0x%08X+%zu is outside flash or not aligned to %u bytes; nothing written",
                       addr, len, unit);
    if (len == 0)
        return FL_OK;
    if (len && !data)
        return fl_fail(t, FL_E_ARG, "no data; nothing written");
    if (t->rdp)
        return fl_fail(
            t, FL_E_PROTECTED,
            "readout protection is on: flash cannot be programmed over SWD; set RDP level "
            "0 (which mass-erases the chip) first");
    const direct_family *f = &families[ch->family];
    if (f->width == 2 && !pd_get_limits(t->probe)->has_mem16)
        return fl_fail(t, FL_E_PROBE,
                       "%s programs by half-words and this probe's firmware has no 16-bit memory "
                       "access (ST-LINK/V2 before J26); update the probe firmware or use the stub",
                       ch->name);
    fl_err e = fl_unlock(t); /* also clears stale error flags */
    if (e)
        return e;
    uint8_t *back = malloc(BURST);
    if (!back)
        return fl_fail(t, FL_E_ARG, "out of memory");
    /* L0: the operation bits live in PECR next to the lock bits, which must
     * be written as read (writing 1 would relock). */
    uint32_t keep = ch->family == FL_FAMILY_L0 ? 0x7u : 0;
    uint32_t done = 0, total = (uint32_t)len;
    bool half_pages = false;
    if (ch->family != FL_FAMILY_L0)
        e = set_cr(t, f, f->cr_program, keep);
    while (e == FL_OK && done < total) {
        uint32_t at = addr + done, n = total - done;
        if (ch->family == FL_FAMILY_L0) {
            /* Word programming up to the next half page, half pages while
             * 64 bytes remain, words for the tail. */
            uint32_t head = (L0_HALF_PAGE - (at & (L0_HALF_PAGE - 1))) & (L0_HALF_PAGE - 1);
            bool hp = head == 0 && n >= L0_HALF_PAGE;
            n = hp ? n - n % L0_HALF_PAGE : (head && head < n ? head : n);
            if (hp != half_pages || done == 0) {
                e = set_cr(t, f, hp ? f->cr_program : 0, keep);
                half_pages = hp;
                if (e)
                    break;
            }
        }
        if (n > BURST)
            n = BURST;
        e = burst(t, f, f->width, at, data + done, n, back);
        if (e == FL_OK) {
            done += n;
            if (progress)
                progress(user, done, total);
        }
    }
    free(back);
    /* Leave programming mode whatever happened (PG/FPRG/PROG off). */
    uint32_t cr = 0;
    pd_err pe = pd_read32(t->probe, reg(t, f->cr), &cr);
    if (pe == PD_OK)
        pe = pd_write32(t->probe, reg(t, f->cr), cr & keep);
    if (e == FL_OK && pe != PD_OK)
        return fl_probe_fail(t, pe);
    if (e == FL_OK)
        snprintf(t->msg, sizeof t->msg, "programmed %u bytes at 0x%08X over SWD", total, addr);
    return e;
}
