/* STM32F2/F4/F7 (RM0390 3.5.4 "Programming", RM0410 3.3.7): PSIZE x32 (needs 2.7-3.6 V, which
 * the host checks), PG set, word stores, wait for BSY, check the error flags. */
#include "stub.h"

#define SR(c)         ((c)->flash_regs + 0x0Cu)
#define CR(c)         ((c)->flash_regs + 0x10u)
#define SR_EOP        (1u << 0)
#define SR_ERRORS     0x1F2u /* OPERR WRPERR PGAERR PGPERR PGSERR RDERR */
#define SR_BSY        (1u << 16)
#define CR_PG         (1u << 0)
#define CR_PSIZE_MASK (3u << 8)
#define CR_PSIZE_X32  (2u << 8)

static uint32_t program_chunk(fl_loader_ctl *ctl, uint32_t addr, const uint8_t *src, uint32_t len)
{
    if ((addr & 3) || (len & 3))
        return FL_ST_BAD_REQUEST;
    REG32(SR(ctl)) = SR_ERRORS | SR_EOP;
    REG32(CR(ctl)) = (REG32(CR(ctl)) & ~CR_PSIZE_MASK) | CR_PSIZE_X32 | CR_PG;
    uint32_t st = FL_ST_OK;
    for (uint32_t i = 0; i < len; i += 4) {
        uint32_t v = (uint32_t)src[i] | (uint32_t)src[i + 1] << 8 | (uint32_t)src[i + 2] << 16 |
                     (uint32_t)src[i + 3] << 24;
        REG32(addr + i) = v;
        /* The F7's Cortex-M7 may hold the store in its write buffer; make
         * it reach the flash before BSY is looked at (RM0410 3.3.7 note,
         * as ST's HAL does after every flash store). Free on the M3/M4. */
        __asm__ volatile("dsb" ::: "memory");
        uint32_t sr = wait_written(SR(ctl), SR_BSY, SR_ERRORS, addr + i);
        if (sr & SR_ERRORS) {
            ctl->sr = sr;
            ctl->fail_addr = addr + i;
            st = FL_ST_FLASH_ERROR;
            break;
        }
        if (REG32(addr + i) != v) {
            ctl->fail_addr = addr + i;
            st = FL_ST_VERIFY;
            break;
        }
    }
    REG32(CR(ctl)) &= ~CR_PG;
    return st;
}

/* RM0390 3.6.3: SER, SNB, PSIZE x32 (the erase parallelism), STRT. SNB is
 * the sector number with bit 4 set for bank 2 on dual-bank parts (RM0090
 * 3.9.8), as the host codes it. */
static uint32_t erase_unit(fl_loader_ctl *ctl, uint32_t unit_addr, uint32_t unit_code)
{
    REG32(SR(ctl)) = SR_ERRORS | SR_EOP;
    uint32_t cr = (1u << 1) | ((unit_code & 0x1Fu) << 3) | CR_PSIZE_X32;
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
