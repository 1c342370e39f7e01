/* STM32L4 (RM0351 3.3.7 "Flash main memory programming sequences"):
 * standard programming, PG set, two word stores per double word (the ECC
 * unit is 64 bits: the second store starts the write), wait for BSY, check
 * the error flags. Uncleared flags would make every operation fail with
 * PGSERR, so they are cleared first. */
#include "stub.h"

#define SR(c)  ((c)->flash_regs + 0x10u)
#define CR(c)  ((c)->flash_regs + 0x14u)
#define SR_EOP (1u << 0)
#define SR_ERRORS                                                                                  \
    0xC3FAu /* OPERR PROGERR WRPERR PGAERR SIZERR PGSERR MISERR FASTERR RDERR OPTVERR */
#define SR_BSY (1u << 16)
#define CR_PG  (1u << 0)

static uint32_t program_chunk(fl_loader_ctl *ctl, uint32_t addr, const uint8_t *src, uint32_t len)
{
    if ((addr & 7) || (len & 7))
        return FL_ST_BAD_REQUEST;
    REG32(SR(ctl)) = SR_ERRORS | SR_EOP;
    REG32(CR(ctl)) |= CR_PG;
    uint32_t st = FL_ST_OK;
    for (uint32_t i = 0; i < len; i += 8) {
        uint32_t lo = (uint32_t)src[i] | (uint32_t)src[i + 1] << 8 | (uint32_t)src[i + 2] << 16 |
                      (uint32_t)src[i + 3] << 24;
        uint32_t hi = (uint32_t)src[i + 4] | (uint32_t)src[i + 5] << 8 |
                      (uint32_t)src[i + 6] << 16 | (uint32_t)src[i + 7] << 24;
        REG32(addr + i) = lo;
        REG32(addr + i + 4) = hi;
        uint32_t sr = wait_written(SR(ctl), SR_BSY, SR_ERRORS, addr + i);
        if (sr & SR_ERRORS) {
            ctl->sr = sr;
            ctl->fail_addr = addr + i;
            st = FL_ST_FLASH_ERROR;
            break;
        }
        if (REG32(addr + i) != lo || REG32(addr + i + 4) != hi) {
            ctl->fail_addr = addr + i;
            st = FL_ST_VERIFY;
            break;
        }
    }
    REG32(CR(ctl)) &= ~CR_PG;
    return st;
}

/* RM0351 3.3.6: PER, PNB (page in its bank), BKER, STRT. */
static uint32_t erase_unit(fl_loader_ctl *ctl, uint32_t unit_addr, uint32_t unit_code)
{
    REG32(SR(ctl)) = SR_ERRORS | SR_EOP;
    uint32_t cr = (1u << 1) | ((unit_code & 0xFFu) << 3) | (((unit_code >> 8) & 1u) << 11);
    REG32(CR(ctl)) = cr;
    REG32(CR(ctl)) = cr | (1u << 16); /* STRT */
    uint32_t sr = wait_busy(SR(ctl), SR_BSY);
    REG32(CR(ctl)) = 0;
    if (sr & SR_ERRORS) {
        ctl->sr = sr;
        ctl->fail_addr = unit_addr;
        return FL_ST_FLASH_ERROR;
    }
    return FL_ST_OK;
}
