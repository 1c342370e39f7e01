/* STM32L0/L1 NVM (RM0367 3.3.4, RM0038 3.3.4): half-page programming
 * (FPRG + PROG, 16 words into one 64-byte half page on the L0, 32 words on
 * the L1, one tprog for all of them) where a chunk is
 * half-page aligned, single words elsewhere. While the 16 words are being
 * loaded nothing may read flash, which is why this runs from SRAM with
 * interrupts masked. */
#include "stub.h"

#define PECR(c)   ((c)->flash_regs + 0x04u)
#define SR(c)     ((c)->flash_regs + 0x18u)
#define PECR_PROG (1u << 3)
#define PECR_FPRG (1u << 10)
#define SR_BSY    (1u << 0)
#define SR_EOP    (1u << 1)
#define SR_ERRORS 0x32F00u /* WRPERR PGAERR SIZERR OPTVERR RDERR NOTZEROERR FWWERR */

static uint32_t wait_and_check(fl_loader_ctl *ctl, uint32_t addr)
{
    uint32_t sr = wait_written(SR(ctl), SR_BSY, SR_ERRORS, addr);
    if (sr & SR_ERRORS) {
        ctl->sr = sr;
        ctl->fail_addr = addr;
        return FL_ST_FLASH_ERROR;
    }
    REG32(SR(ctl)) = SR_EOP;
    return FL_ST_OK;
}

static uint32_t word_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t program_chunk(fl_loader_ctl *ctl, uint32_t addr, const uint8_t *src, uint32_t len)
{
    if ((addr & 3) || (len & 3))
        return FL_ST_BAD_REQUEST;
    REG32(SR(ctl)) = SR_ERRORS | SR_EOP;
    /* L0: 16 words (RM0367 3.3.4), L1: 32 words (RM0038 3.3.4). */
    uint32_t hp = ctl->half_page ? ctl->half_page : 64u;
    uint32_t i = 0, st = FL_ST_OK;
    while (st == FL_ST_OK && i < len) {
        uint32_t a = addr + i;
        if ((a & (hp - 1)) == 0 && len - i >= hp) {
            REG32(PECR(ctl)) |= PECR_FPRG | PECR_PROG;
            for (uint32_t w = 0; w < hp; w += 4)
                REG32(a + w) = word_at(src + i + w);
            st = wait_and_check(ctl, a);
            REG32(PECR(ctl)) &= ~(PECR_FPRG | PECR_PROG);
            i += hp;
        } else {
            REG32(a) = word_at(src + i);
            st = wait_and_check(ctl, a);
            i += 4;
        }
    }
    for (uint32_t k = 0; st == FL_ST_OK && k < len; k += 4)
        if (REG32(addr + k) != word_at(src + k)) {
            ctl->fail_addr = addr + k;
            st = FL_ST_VERIFY;
        }
    return st;
}

/* RM0367 3.3.4: ERASE and PROG in PECR, then a write of 0 into the page. */
static uint32_t erase_unit(fl_loader_ctl *ctl, uint32_t unit_addr, uint32_t unit_code)
{
    (void)unit_code;
    REG32(SR(ctl)) = SR_ERRORS | SR_EOP;
    REG32(PECR(ctl)) |= (1u << 9) | PECR_PROG;
    REG32(unit_addr) = 0;
    uint32_t st = wait_and_check(ctl, unit_addr);
    REG32(PECR(ctl)) &= ~((1u << 9) | PECR_PROG);
    return st;
}
