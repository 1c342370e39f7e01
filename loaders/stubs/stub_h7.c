/* STM32H7 (RM0433 chapter 4 H74x/H75x, RM0468 H72x/H73x, RM0455 H7Ax/H7Bx):
 * flash words of 256 bits (H7Ax/H7Bx: 128). With PG set (and PSIZE x64
 * where there is one), 32-bit stores fill a flash word's write buffer and
 * the controller queues its write (SR.QW) once the buffer is full; a
 * partial word (only ever a tail: the host pads to the word) waits in the
 * buffer (SR.WBNE) until CR.FW forces it out, its missing bytes left
 * erased. The CR bits that differ between the variants and the word size
 * come from the control block (fl_loader_h7, filled by the host's h7
 * descriptors). Each bank has its own CR/SR/CCR, bank 2's 0x100 above bank
 * 1's (the host passes both blocks and where bank 2 starts); SR flags are
 * cleared in CCR. The watchdog is IWDG1, at 0x58004800 on the H7 (RM0433
 * memory map), not the 0x40003000 of the other families. */
#define IWDG_KR 0x58004800u
#include "stub.h"

#define CR(r)  ((r) + 0x0Cu)
#define SR(r)  ((r) + 0x10u)
#define CCR(r) ((r) + 0x14u)

#define SR_BSY    (1u << 0)
#define SR_QW     (1u << 2)
#define SR_EOP    (1u << 16)
#define SR_ERRORS 0x17EE0000u /* WRPERR..DBECCERR b17-b26 (not b20), CRCRDERR b28 */

static uint32_t regs_for(const fl_loader_ctl *ctl, uint32_t addr)
{
    return ctl->bank2_regs && addr >= ctl->bank2_addr ? ctl->bank2_regs : ctl->flash_regs;
}

static uint32_t word_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Wait until no write is queued or running in the bank (QW, BSY). */
static uint32_t wait_queue(uint32_t regs)
{
    uint32_t sr;
    while ((sr = REG32(SR(regs))) & (SR_BSY | SR_QW))
        ;
    return sr;
}

/* Program [addr, addr + len) of one bank through its registers. */
static uint32_t program_bank(fl_loader_ctl *ctl, uint32_t regs, uint32_t addr, const uint8_t *src,
                             uint32_t len)
{
    const uint32_t word = ctl->h7.word, cr = ctl->h7.cr_program;
    REG32(CCR(regs)) = SR_ERRORS | SR_EOP;
    REG32(CR(regs)) = cr;
    uint32_t st = FL_ST_OK;
    for (uint32_t i = 0; st == FL_ST_OK && i < len; i += word) {
        uint32_t n = len - i < word ? len - i : word;
        for (uint32_t w = 0; w < n; w += 4)
            REG32(addr + i + w) = word_at(src + i + w);
        /* The M7 may hold the stores in its write buffer: let them reach
         * the flash interface before FW or QW is looked at. */
        __asm__ volatile("dsb" ::: "memory");
        if (n < word)
            REG32(CR(regs)) = cr | ctl->h7.cr_fw;
        uint32_t sr = wait_queue(regs);
        if (sr & SR_ERRORS) {
            ctl->sr = sr;
            ctl->fail_addr = addr + i;
            st = FL_ST_FLASH_ERROR;
            break;
        }
        for (uint32_t w = 0; w < n; w += 4)
            if (REG32(addr + i + w) != word_at(src + i + w)) {
                ctl->fail_addr = addr + i + w;
                st = FL_ST_VERIFY;
                break;
            }
    }
    REG32(CR(regs)) = 0;
    return st;
}

/* A buffer may run from bank 1 into bank 2 (the host joins contiguous
 * chunks): each part through its own bank's registers. */
static uint32_t program_chunk(fl_loader_ctl *ctl, uint32_t addr, const uint8_t *src, uint32_t len)
{
    if ((addr & (ctl->h7.word - 1)) || (len & 3))
        return FL_ST_BAD_REQUEST;
    uint32_t first = len;
    if (ctl->bank2_regs && addr < ctl->bank2_addr && ctl->bank2_addr - addr < len)
        first = ctl->bank2_addr - addr;
    uint32_t st = program_bank(ctl, regs_for(ctl, addr), addr, src, first);
    if (st == FL_ST_OK && first < len)
        st = program_bank(ctl, ctl->bank2_regs, addr + first, src + first, len - first);
    return st;
}

/* Sector erase (RM0433 4.3, RM0455 4.3): SER (and PSIZE), SNB (the sector
 * in its bank: the low bits of unit_code; its bank is the unit's address),
 * then START. */
static uint32_t erase_unit(fl_loader_ctl *ctl, uint32_t unit_addr, uint32_t unit_code)
{
    uint32_t regs = regs_for(ctl, unit_addr);
    REG32(CCR(regs)) = SR_ERRORS | SR_EOP;
    uint32_t cr = ctl->h7.cr_erase | (unit_code & ctl->h7.snb_mask) << ctl->h7.snb_shift;
    REG32(CR(regs)) = cr;
    REG32(CR(regs)) = cr | ctl->h7.cr_start;
    uint32_t sr = wait_busy(SR(regs), SR_BSY | SR_QW);
    REG32(CR(regs)) = 0;
    if (sr & SR_ERRORS) {
        ctl->sr = sr;
        ctl->fail_addr = unit_addr;
        return FL_ST_FLASH_ERROR;
    }
    return FL_ST_OK;
}
