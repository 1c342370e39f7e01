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
 * What a family needs is data in its descriptor (family.h): the CR bits
 * that make stores program and the store width (F1/F0/F3 half-words, RM0008
 * 3.3.3 and PM0075 2.3.3: any other width is a bus error; F2/F4 words with
 * PSIZE x32, RM0090 3.6.4; L4 double words as two word stores, RM0351
 * 3.3.7), and a half-page mode (L0 FPRG+PROG, 16 words per tprog, RM0367
 * 3.3.4) used for aligned runs. Error flags and their meaning come from the
 * family's flag table through fl_wait_idle.
 */
#define _POSIX_C_SOURCE 200809L
#include "flash_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

/* One probe memory command per burst: big enough that the flash, not USB,
 * sets the pace, small enough to report progress and failures closely. */
#define BURST 1024u

/* After a burst: wait for BSY to fall, then check the flags. The stores
 * already waited for each program, so 1 s is plenty. */
static fl_err burst_done(fl_target *t, uint32_t bank, uint32_t addr)
{
    return fl_wait_idle(t, bank, 1000u, "programming", addr);
}

/* Program one burst with stores of `width`, then check and read it back. */
static fl_err burst(fl_target *t, uint32_t bank, unsigned width, uint32_t addr, const uint8_t *data,
                    uint32_t len, uint8_t *back)
{
    pd_err pe = pd_mem_write_w(t->probe, width, addr, data, len);
    if (pe != PD_OK) {
        /* A refused store (bus error) may leave flags: report those first. */
        fl_err e = burst_done(t, bank, addr);
        return e ? e : fl_probe_fail(t, pe);
    }
    fl_err e = burst_done(t, bank, addr);
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

/* CR of the bank holding addr, with bits as the operation bits: the
 * family's kept bits (L0: the locks, which writing 1 would set again) as
 * read. */
static fl_err set_cr(fl_target *t, uint32_t bank, uint32_t bits)
{
    const fl_family *f = fl_family_of(t);
    uint32_t cr = 0;
    PD_TRY(t, pd_read32(t->probe, fl_reg(t, bank, f->cr), &cr));
    PD_TRY(t, pd_write32(t->probe, fl_reg(t, bank, f->cr), (cr & f->cr_keep) | bits));
    return FL_OK;
}

fl_err fl_program_direct(fl_target *t, uint32_t addr, const uint8_t *data, size_t len,
                         fl_progress_fn progress, void *user)
{
    const fl_family *f = fl_family_of(t);
    uint32_t unit = f->program_unit, base = t->chip->line->flash_base;
    if (len > t->flash_size || addr < base || addr - base > t->flash_size ||
        len > t->flash_size - (addr - base) || addr % unit || len % unit)
        return fl_fail(t, FL_E_ARG,
                       "0x%08X+%zu is outside flash or not aligned to %u bytes; nothing written",
                       addr, len, unit);
    if (len == 0)
        return FL_OK;
    if (!data)
        return fl_fail(t, FL_E_ARG, "no data; nothing written");
    if (t->rdp)
        return fl_fail(t, FL_E_PROTECTED,
                       "the chip is protected (%s): flash cannot be programmed over SWD; remove "
                       "the protection (an RDP or product-state regression, which mass-erases the "
                       "chip) first",
                       t->protection);
    if (f->store_width == 2 && !pd_get_limits(t->probe)->has_mem16)
        return fl_fail(t, FL_E_PROBE,
                       "%s programs by half-words and this probe's firmware has no 16-bit memory "
                       "access (ST-LINK/V2 before J26); update the probe firmware or use the stub",
                       t->chip->name);
    fl_err e = fl_unlock(t); /* also clears stale error flags */
    if (e)
        return e;
    uint8_t *back = malloc(BURST);
    if (!back)
        return fl_fail(t, FL_E_ARG, "out of memory");
    uint32_t done = 0, total = (uint32_t)len;
    /* The CR bits in force, per register block; ~0: not set yet. */
    uint32_t mode[2] = {~0u, ~0u};
    uint32_t bank2 = fl_reg_blocks(t) > 1 ? base + t->chip->bank2_start : UINT32_MAX;
    while (e == FL_OK && done < total) {
        uint32_t at = addr + done, n = total - done;
        uint32_t bank = at >= bank2;
        if (!bank && bank2 - at < n)
            n = bank2 - at; /* one burst, one register block */
        uint32_t bits = f->cr_program;
        if (f->half_page) {
            /* Single stores up to the next half page, half pages while
             * whole ones remain, single stores for the tail. */
            uint32_t hp = f->half_page;
            uint32_t head = (hp - (at & (hp - 1))) & (hp - 1);
            bool whole = head == 0 && n >= hp;
            n = whole ? n - n % hp : (head && head < n ? head : n);
            if (whole)
                bits = f->cr_half_page;
        }
        if (mode[bank] != bits) {
            if ((e = set_cr(t, bank, bits)) != FL_OK)
                break;
            mode[bank] = bits;
        }
        if (n > BURST)
            n = BURST;
        e = burst(t, bank, f->store_width, at, data + done, n, back);
        if (e == FL_OK) {
            done += n;
            if (progress)
                progress(user, done, total);
        }
    }
    free(back);
    /* Leave programming mode whatever happened (PG/FPRG/PROG off). */
    for (uint32_t bank = 0; bank < fl_reg_blocks(t); bank++) {
        if (e == FL_OK) {
            e = set_cr(t, bank, 0);
        } else { /* best effort: keep the first error's message */
            uint32_t cr = 0, at = fl_reg(t, bank, f->cr);
            if (pd_read32(t->probe, at, &cr) == PD_OK)
                pd_write32(t->probe, at, cr & f->cr_keep);
        }
    }
    if (e == FL_OK)
        snprintf(t->msg, sizeof t->msg, "programmed %u bytes at 0x%08X over SWD", total, addr);
    return e;
}

bool fl_can_program_direct(const fl_target *t)
{
    return t->chip && (fl_family_of(t)->store_width != 2 || pd_get_limits(t->probe)->has_mem16);
}

fl_err fl_crc32_list_direct(fl_target *t, fl_crc_item *items, size_t n)
{
    uint32_t base = t->chip->line->flash_base;
    uint8_t *buf = malloc(BURST);
    if (!buf)
        return fl_fail(t, FL_E_ARG, "out of memory");
    fl_err e = FL_OK;
    for (size_t i = 0; e == FL_OK && i < n; i++) {
        fl_crc_item *it = &items[i];
        if (it->addr < base || it->addr - base > t->flash_size ||
            it->len > t->flash_size - (it->addr - base)) {
            e = fl_fail(t, FL_E_ARG, "0x%08X+%u is outside flash", it->addr, it->len);
            break;
        }
        uLong crc = crc32(0L, Z_NULL, 0);
        for (uint32_t off = 0; off < it->len; off += BURST) {
            uint32_t k = it->len - off < BURST ? it->len - off : BURST;
            pd_err pe = pd_mem_read(t->probe, it->addr + off, buf, k);
            if (pe != PD_OK) {
                e = fl_probe_fail(t, pe);
                break;
            }
            crc = crc32(crc, buf, k);
        }
        it->crc = (uint32_t)crc;
    }
    free(buf);
    return e;
}
