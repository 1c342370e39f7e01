/*
 * Thumb test program for the L4-generation flash variants
 * (test_flash_l4g.c): G0, G4, WB, WL. The controller's base is not fixed
 * (0x40022000, or 0x58004000 on WB/WL): the test leaves it in the word at
 * BASE_CELL before each call. Runs from SRAM like a flash loader; no
 * globals. The op numbers are mirrored in test_flash_l4g.c.
 */
#define BASE_CELL  0x20001FF0u
#define FLASH_REGS (*(volatile uint32_t *)BASE_CELL)
#define KEYR       REG(0x08)
#define OPTKEYR    REG(0x0C)
#define SR         REG(0x10)
#define CR         REG(0x14)

#define CR_PG         (1u << 0)
#define CR_PER        (1u << 1)
#define CR_STRT       (1u << 16)
#define CR_OPTSTRT    (1u << 17)
#define CR_OBL_LAUNCH (1u << 27)
#define CR_OPTLOCK    (1u << 30)
#define CR_LOCK       (1u << 31)
#define SR_BSY        (1u << 16)
#define SR_CFGBSY     (1u << 18) /* reads 0 where the variant has none */

#include "prog_flash.h"

enum {
    OP_SR = 0,        /* return SR */
    OP_UNLOCK = 1,    /* unlock CR if locked; return CR */
    OP_ERASE = 2,     /* CR <- a (PNB/BKER/MERx bits) | PER if b; STRT; wait; return SR */
    OP_PROG_DW = 3,   /* PG; double word (b, c) at a; wait; return SR */
    OP_HALF_DW = 4,   /* PG; word b at a; return SR as seen then (CFGBSY) */
    OP_HALF_CLR = 5,  /* PG; word b at a; clear PG; return SR */
    OP_OPT_PROG = 6,  /* unlock options; option register at offset b <- a; OPTSTRT */
    OP_OBL = 7,       /* unlock options; OBL_LAUNCH (the chip resets) */
    OP_CLEAR_SR = 8,  /* SR <- a; return SR */
    OP_READ32 = 9,    /* return *a */
    OP_WRITE_REG = 10 /* register at offset a <- b; return it */
};

static void unlock(void)
{
    unlock_if(&CR, CR_LOCK, &KEYR, 0x45670123u, 0xCDEF89ABu);
}

/* BSY, then CFGBSY, as HAL FLASH_WaitForLastOperation does. */
static uint32_t wait_all(void)
{
    wait_bsy();
    uint32_t sr;
    while ((sr = SR) & SR_CFGBSY)
        ;
    return sr;
}

__attribute__((optimize("no-jump-tables"))) uint32_t prog_main(uint32_t op, uint32_t a, uint32_t b,
                                                               uint32_t c)
{
    volatile uint32_t *pa = (volatile uint32_t *)a;
    if (op == OP_SR)
        return SR;
    if (op == OP_UNLOCK) {
        unlock();
        return CR;
    }
    if (op == OP_ERASE) {
        wait_all();
        CR = a | (b ? CR_PER : 0);
        CR |= CR_STRT;
        uint32_t sr = wait_all();
        CR = 0;
        return sr;
    }
    if (op == OP_PROG_DW) {
        CR |= CR_PG;
        pa[0] = b;
        pa[1] = c;
        uint32_t sr = wait_all();
        CR &= ~CR_PG;
        return sr;
    }
    if (op == OP_HALF_DW) {
        CR |= CR_PG;
        pa[0] = b;
        return SR;
    }
    if (op == OP_HALF_CLR) {
        CR |= CR_PG;
        pa[0] = b;
        CR &= ~CR_PG;
        return SR;
    }
    if (op == OP_OPT_PROG) {
        unlock();
        unlock_if(&CR, CR_OPTLOCK, &OPTKEYR, 0x08192A3Bu, 0x4C5D6E7Fu);
        REG(b) = a;
        CR |= CR_OPTSTRT;
        return wait_all();
    }
    if (op == OP_OBL) {
        unlock();
        unlock_if(&CR, CR_OPTLOCK, &OPTKEYR, 0x08192A3Bu, 0x4C5D6E7Fu);
        CR |= CR_OBL_LAUNCH;
        return 0xDEADDEADu; /* not reached: the chip resets */
    }
    if (op == OP_CLEAR_SR)
        return write_reg(&SR, a);
    if (op == OP_READ32)
        return *pa;
    if (op == OP_WRITE_REG)
        return write_reg(&REG(a), b);
    return 0xFFFFFFFFu;
}
