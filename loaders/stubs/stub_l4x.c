/* The L4 generation of flash interfaces (RM0351 3.3.7 for the L4; the G0,
 * G4, L4+, WB, WL, C0, U0, L5 and U5 manuals describe the same sequence,
 * and the H5's, RM0481 7.3, with its quad words, SER/SNB/BKSEL sectors
 * and flags cleared in NSCCR):
 * standard programming, PG set, the program unit as consecutive word
 * stores (64-bit double word with ECC, 128-bit quad word on the U5: the
 * last store starts the write), wait for BSY (and CFGBSY where there is
 * one), check the error flags. Where the registers and bits are differs by
 * family and comes from the host in the control block (loader_abi.h), so
 * that one stub serves them all. Uncleared flags would make every
 * operation fail with PGSERR, so they are cleared first. */
#include "stub.h"

#define SR(c) ((c)->flash_regs + (c)->l4.sr_off)
#define CR(c) ((c)->flash_regs + (c)->l4.cr_off)
/* SR, or the clear register where SR is read-only (H5 NSCCR). */
#define SR_CLEAR(c)                                                                                \
    ((c)->flash_regs + ((c)->l4.sr_clear_off ? (c)->l4.sr_clear_off : (c)->l4.sr_off))

static uint32_t word_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t program_chunk(fl_loader_ctl *ctl, uint32_t addr, const uint8_t *src, uint32_t len)
{
    uint32_t unit = ctl->l4.prog_unit;
    if (unit < 8 || (addr & (unit - 1)) || (len & (unit - 1)))
        return FL_ST_BAD_REQUEST;
    REG32(SR_CLEAR(ctl)) = ctl->l4.sr_errors | ctl->l4.sr_eop;
    REG32(CR(ctl)) |= ctl->l4.cr_pg;
    uint32_t st = FL_ST_OK;
    for (uint32_t i = 0; i < len; i += unit) {
        for (uint32_t w = 0; w < unit; w += 4)
            REG32(addr + i + w) = word_at(src + i + w);
        uint32_t sr = wait_written(SR(ctl), ctl->l4.sr_busy, ctl->l4.sr_errors, addr + i);
        if (sr & ctl->l4.sr_errors) {
            ctl->sr = sr;
            ctl->fail_addr = addr + i;
            st = FL_ST_FLASH_ERROR;
            break;
        }
        for (uint32_t w = 0; w < unit; w += 4)
            if (REG32(addr + i + w) != word_at(src + i + w)) {
                ctl->fail_addr = addr + i + w;
                st = FL_ST_VERIFY;
                break;
            }
        if (st != FL_ST_OK)
            break;
    }
    REG32(CR(ctl)) &= ~ctl->l4.cr_pg;
    return st;
}

/* RM0351 3.3.6: PER, PNB (the page in its bank), the bank bit, STRT.
 * unit_code is the page number | bank << 8 (loader_abi.h). */
static uint32_t erase_unit(fl_loader_ctl *ctl, uint32_t unit_addr, uint32_t unit_code)
{
    REG32(SR_CLEAR(ctl)) = ctl->l4.sr_errors | ctl->l4.sr_eop;
    uint32_t cr = ctl->l4.cr_per | ((unit_code & 0xFFu) << ctl->l4.pnb_shift) |
                  (((unit_code >> 8) & 1u) ? ctl->l4.cr_bker : 0);
    REG32(CR(ctl)) = cr;
    REG32(CR(ctl)) = cr | ctl->l4.cr_strt;
    uint32_t sr = wait_busy(SR(ctl), ctl->l4.sr_busy);
    REG32(CR(ctl)) = 0;
    if (sr & ctl->l4.sr_errors) {
        ctl->sr = sr;
        ctl->fail_addr = unit_addr;
        return FL_ST_FLASH_ERROR;
    }
    return FL_ST_OK;
}
