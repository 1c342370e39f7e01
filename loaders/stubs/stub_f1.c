/* STM32F1 FPEC (RM0008 3.3.3 "Main Flash memory programming"): PG set,
 * one half-word store at a time, wait for BSY, check PGERR/WRPRTERR. */
#include "stub.h"

/* The register block that serves addr: XL-density parts have one per
 * bank (RM0008 3.3.3), the host says where bank 2 starts. */
static uint32_t regs_for(const fl_loader_ctl *c, uint32_t addr)
{
    return c->bank2_regs && addr >= c->bank2_addr ? c->bank2_regs : c->flash_regs;
}

#define SR(r)       ((r) + 0x0Cu)
#define CR(r)       ((r) + 0x10u)
#define AR(r)       ((r) + 0x14u)
#define SR_BSY      (1u << 0)
#define SR_PGERR    (1u << 2)
#define SR_WRPRTERR (1u << 4)
#define SR_EOP      (1u << 5)
#define CR_PG       (1u << 0)

/* Program len bytes at addr, all in the bank that regs serves. */
static uint32_t program_run(fl_loader_ctl *ctl, uint32_t regs, uint32_t addr, const uint8_t *src,
                            uint32_t len)
{
    /* Stale flags from a crashed run would hide this run's result. */
    REG32(SR(regs)) = SR_PGERR | SR_WRPRTERR | SR_EOP;
    REG32(CR(regs)) |= CR_PG;
    uint32_t st = FL_ST_OK;
    for (uint32_t i = 0; i < len; i += 2) {
        uint16_t v = (uint16_t)(src[i] | src[i + 1] << 8);
        REG16(addr + i) = v;
        uint32_t sr = wait_written(SR(regs), SR_BSY, SR_PGERR | SR_WRPRTERR, addr + i);
        if (sr & (SR_PGERR | SR_WRPRTERR)) {
            ctl->sr = sr;
            ctl->fail_addr = addr + i;
            st = FL_ST_FLASH_ERROR;
            break;
        }
        if (REG16(addr + i) != v) {
            ctl->fail_addr = addr + i;
            st = FL_ST_VERIFY;
            break;
        }
    }
    REG32(CR(regs)) &= ~CR_PG;
    return st;
}

static uint32_t program_chunk(fl_loader_ctl *ctl, uint32_t addr, const uint8_t *src, uint32_t len)
{
    if ((addr & 1) || (len & 1))
        return FL_ST_BAD_REQUEST;
    /* A buffer may run across the bank boundary: each part through its
     * own block. */
    uint32_t head = len;
    if (ctl->bank2_regs && addr < ctl->bank2_addr && ctl->bank2_addr - addr < len)
        head = ctl->bank2_addr - addr;
    uint32_t st = program_run(ctl, regs_for(ctl, addr), addr, src, head);
    if (st == FL_ST_OK && head < len)
        st = program_run(ctl, ctl->bank2_regs, addr + head, src + head, len - head);
    return st;
}

/* RM0008 3.3.4: PER, AR = any address in the page, STRT. */
static uint32_t erase_unit(fl_loader_ctl *ctl, uint32_t unit_addr, uint32_t unit_code)
{
    (void)unit_code;
    uint32_t regs = regs_for(ctl, unit_addr);
    REG32(SR(regs)) = SR_PGERR | SR_WRPRTERR | SR_EOP;
    REG32(CR(regs)) = 1u << 1; /* PER */
    REG32(AR(regs)) = unit_addr;
    REG32(CR(regs)) = (1u << 1) | (1u << 6); /* PER | STRT */
    uint32_t sr = wait_busy(SR(regs), SR_BSY);
    REG32(CR(regs)) = 0;
    if (sr & (SR_PGERR | SR_WRPRTERR)) {
        ctl->sr = sr;
        ctl->fail_addr = unit_addr;
        return FL_ST_FLASH_ERROR;
    }
    return FL_ST_OK;
}
