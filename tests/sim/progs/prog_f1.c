/*
 * Flash-controller probes for test_flash_f1.c: each op drives the STM32F103
 * FPEC (RM0008 3.3) from the virtual core, as a flash loader running from
 * SRAM does, and returns FLASH_SR (or what the op says). The op numbers are
 * repeated in test_flash_f1.c.
 */
#define FLASH_REGS 0x40022000u
#define KEYR       REG(0x04)
#define OPTKEYR    REG(0x08)
#define SR         REG(0x0C)
#define CR         REG(0x10)
#define AR         REG(0x14)

#define SR_BSY      (1u << 0)
#define SR_PGERR    (1u << 2)
#define SR_WRPRTERR (1u << 4)

#define CR_PG    (1u << 0)
#define CR_PER   (1u << 1)
#define CR_MER   (1u << 2)
#define CR_OPTPG (1u << 4)
#define CR_OPTER (1u << 5)
#define CR_STRT  (1u << 6)
#define CR_LOCK  (1u << 7)
#define CR_OPS   (CR_PG | CR_PER | CR_MER | CR_OPTPG | CR_OPTER)

#include "prog_flash.h"

enum {
    OP_READ_REG = 0,       /* return FLASH[a] */
    OP_WRITE_REG = 1,      /* FLASH[a] = b; return FLASH[a] */
    OP_UNLOCK = 2,         /* KEYR = a, KEYR = b; return CR */
    OP_OPT_UNLOCK = 3,     /* OPTKEYR = a, OPTKEYR = b; return CR */
    OP_LOCK = 4,           /* CR |= LOCK; return CR */
    OP_ERASE_PAGE = 5,     /* page erase at a; wait for BSY unless b == 0 */
    OP_MASS_ERASE = 6,     /* mass erase; wait for BSY unless a == 0 */
    OP_PROGRAM = 7,        /* PG, store b (c bytes wide) at a, wait */
    OP_PROGRAM_BUF = 8,    /* PG, c bytes from SRAM b to flash a, half-words */
    OP_STORE = 9,          /* store b (c bytes) at a, CR untouched */
    OP_PROGRAM_PAIR = 10,  /* PG, two half-words back to back, then wait */
    OP_OPT_ERASE = 11,     /* OPTER + STRT, wait */
    OP_OPT_PROGRAM = 12,   /* OPTPG, half-word b at a, wait */
    OP_ERASE_THEN_CR = 13, /* start a page erase at a, write CR = b at once;
                            * return CR as read right after */
};

static uint32_t finish(void)
{
    uint32_t sr = wait_bsy();
    CR &= ~CR_OPS;
    return sr;
}

static uint32_t program_buf(uint32_t dst, uint32_t src, uint32_t len)
{
    uint32_t sr = 0;
    CR |= CR_PG;
    for (uint32_t i = 0; i < len; i += 2) {
        *(volatile uint16_t *)(dst + i) = *(volatile uint16_t *)(src + i);
        sr = wait_bsy();
        if (sr & (SR_PGERR | SR_WRPRTERR))
            break;
    }
    CR &= ~CR_OPS;
    return sr;
}

uint32_t prog_main(uint32_t op, uint32_t a, uint32_t b, uint32_t c)
{
    if (op == OP_READ_REG)
        return REG(a);
    if (op == OP_WRITE_REG)
        return write_reg(&REG(a), b);
    if (op == OP_UNLOCK)
        return write_keys(&KEYR, a, b, &CR);
    if (op == OP_OPT_UNLOCK)
        return write_keys(&OPTKEYR, a, b, &CR);
    if (op == OP_LOCK)
        return set_bits(&CR, CR_LOCK);
    if (op == OP_ERASE_PAGE) {
        CR |= CR_PER;
        AR = a;
        CR |= CR_STRT;
        return b ? finish() : SR;
    }
    if (op == OP_MASS_ERASE) {
        CR |= CR_MER;
        CR |= CR_STRT;
        return a ? finish() : SR;
    }
    if (op == OP_PROGRAM) {
        CR |= CR_PG;
        store(a, b, c);
        return finish();
    }
    if (op == OP_PROGRAM_BUF)
        return program_buf(a, b, c);
    if (op == OP_STORE) {
        store(a, b, c);
        return SR;
    }
    if (op == OP_PROGRAM_PAIR) {
        CR |= CR_PG;
        *(volatile uint16_t *)a = (uint16_t)b;
        *(volatile uint16_t *)(a + 2) = (uint16_t)(b >> 16);
        return finish();
    }
    if (op == OP_OPT_ERASE) {
        CR |= CR_OPTER;
        CR |= CR_STRT;
        return finish();
    }
    if (op == OP_OPT_PROGRAM) {
        CR |= CR_OPTPG;
        *(volatile uint16_t *)a = (uint16_t)b;
        return finish();
    }
    if (op == OP_ERASE_THEN_CR) {
        CR |= CR_PER;
        AR = a;
        CR |= CR_STRT;
        CR = b;
        return CR;
    }
    return 0xFFFFFFFFu;
}
