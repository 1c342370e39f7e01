/*
 * Thumb test program for the STM32L4 flash model (test_flash_l4.c). Runs from
 * SRAM like a flash loader; no globals. prog_main(op, a, b, c) performs one
 * operation and returns what the test needs, usually FLASH_SR. The op
 * numbers are mirrored in test_flash_l4.c.
 */
#define FLASH_REGS 0x40022000u
#define KEYR       REG(0x08)
#define OPTKEYR    REG(0x0C)
#define SR         REG(0x10)
#define CR         REG(0x14)

#define CR_PG         (1u << 0)
#define CR_PER        (1u << 1)
#define CR_MER1       (1u << 2)
#define CR_PNB_MASK   (0xFFu << 3)
#define CR_BKER       (1u << 11)
#define CR_MER2       (1u << 15)
#define CR_STRT       (1u << 16)
#define CR_OPTSTRT    (1u << 17)
#define CR_FSTPG      (1u << 18)
#define CR_OBL_LAUNCH (1u << 27)
#define CR_OPTLOCK    (1u << 30)
#define CR_LOCK       (1u << 31)
#define SR_BSY        (1u << 16)
#define SR_ERRORS     0x000003FAu /* OPERR PROGERR WRPERR PGAERR SIZERR PGSERR MISERR FASTERR */

#include "prog_flash.h"

enum {
    OP_SR = 0,         /* return SR */
    OP_KEYS = 1,       /* KEYR <- a, b; return CR */
    OP_OPTKEYS = 2,    /* OPTKEYR <- a, b; return CR */
    OP_UNLOCK = 3,     /* unlock CR if locked; return CR */
    OP_LOCK = 4,       /* CR |= LOCK; return CR */
    OP_CR = 5,         /* CR <- a; return CR */
    OP_CLEAR_SR = 6,   /* SR <- a; return SR */
    OP_ERASE_PAGE = 7, /* erase page b of bank a (0/1); return SR */
    OP_MASS_ERASE = 8, /* CR |= a (MER1/MER2), STRT; return SR */
    OP_PROG_DW = 9,    /* double word (b, c) at a; return SR */
    OP_WRITE = 10,     /* c bytes from b to a by double words; return SR */
    OP_FAST_ROW = 11,  /* fast-program the row at a from b; c = delay before dw 16 */
    OP_STORE8 = 12,    /* PG; byte b at a; return SR */
    OP_STORE16 = 13,   /* PG; half-word b at a; return SR */
    OP_STORE_RAW = 14, /* word b at a, CR untouched; return SR */
    OP_DW_PAIR = 15,   /* PG; word b at a, word b at c; return SR */
    OP_TWO_DW = 16,    /* PG; dw (b,b) at a, at once dw (c,c) at a+8; return SR | BSY << 31 */
    OP_OPT_PROG = 17,  /* unlock options; option register at offset b <- a; OPTSTRT */
    OP_OBL = 18,       /* unlock options; OBL_LAUNCH (the chip resets) */
    OP_READ32 = 19,    /* return *a */
    OP_START_DW = 20,  /* PG; dw (b, c) at a; no wait; return SR */
    OP_CR_IN_BSY = 21, /* PG; dw (b, c) at a; clear PG at once (stalls); return SR */
};

static void unlock(void)
{
    unlock_if(&CR, CR_LOCK, &KEYR, 0x45670123u, 0xCDEF89ABu);
}

static void unlock_opt(void)
{
    unlock();
    unlock_if(&CR, CR_OPTLOCK, &OPTKEYR, 0x08192A3Bu, 0x4C5D6E7Fu);
}

static void delay(uint32_t n)
{
    for (volatile uint32_t i = 0; i < n; i++)
        ;
}

static uint32_t write_buf(uint32_t dst, uint32_t src, uint32_t n)
{
    volatile uint32_t *d = (volatile uint32_t *)dst;
    const volatile uint32_t *s = (const volatile uint32_t *)src;
    CR |= CR_PG;
    for (uint32_t i = 0; i < n / 4; i += 2) {
        d[i] = s[i];
        d[i + 1] = s[i + 1];
        wait_bsy();
        if (SR & SR_ERRORS)
            break;
    }
    CR &= ~CR_PG;
    return SR;
}

static uint32_t fast_row(uint32_t dst, uint32_t src, uint32_t gap)
{
    volatile uint32_t *d = (volatile uint32_t *)dst;
    const volatile uint32_t *s = (const volatile uint32_t *)src;
    CR |= CR_FSTPG;
    for (uint32_t i = 0; i < 64; i += 2) {
        if (i == 32 && gap)
            delay(gap);
        d[i] = s[i];
        d[i + 1] = s[i + 1];
    }
    wait_bsy();
    CR &= ~CR_FSTPG;
    return SR;
}

__attribute__((optimize("no-jump-tables"))) uint32_t prog_main(uint32_t op, uint32_t a, uint32_t b,
                                                               uint32_t c)
{
    volatile uint32_t *pa = (volatile uint32_t *)a;
    if (op == OP_SR)
        return SR;
    if (op == OP_KEYS)
        return write_keys(&KEYR, a, b, &CR);
    if (op == OP_OPTKEYS)
        return write_keys(&OPTKEYR, a, b, &CR);
    if (op == OP_UNLOCK) {
        unlock();
        return CR;
    }
    if (op == OP_LOCK)
        return set_bits(&CR, CR_LOCK);
    if (op == OP_CR)
        return write_reg(&CR, a);
    if (op == OP_CLEAR_SR)
        return write_reg(&SR, a);
    if (op == OP_ERASE_PAGE) {
        wait_bsy();
        uint32_t cr = CR & ~(CR_PNB_MASK | CR_BKER);
        CR = cr | CR_PER | (b << 3 & CR_PNB_MASK) | (a ? CR_BKER : 0);
        CR |= CR_STRT;
        wait_bsy();
        CR &= ~CR_PER;
        return SR;
    }
    if (op == OP_MASS_ERASE) {
        wait_bsy();
        CR |= a & (CR_MER1 | CR_MER2);
        CR |= CR_STRT;
        wait_bsy();
        CR &= ~(CR_MER1 | CR_MER2);
        return SR;
    }
    if (op == OP_PROG_DW) {
        CR |= CR_PG;
        pa[0] = b;
        pa[1] = c;
        wait_bsy();
        CR &= ~CR_PG;
        return SR;
    }
    if (op == OP_WRITE)
        return write_buf(a, b, c);
    if (op == OP_FAST_ROW)
        return fast_row(a, b, c);
    if (op == OP_STORE8 || op == OP_STORE16) {
        CR |= CR_PG;
        store(a, b, op == OP_STORE8 ? 1 : 2);
        wait_bsy();
        CR &= ~CR_PG;
        return SR;
    }
    if (op == OP_STORE_RAW) {
        *pa = b;
        wait_bsy();
        return SR;
    }
    if (op == OP_DW_PAIR) {
        CR |= CR_PG;
        *pa = b;
        *(volatile uint32_t *)c = b;
        wait_bsy();
        CR &= ~CR_PG;
        return SR;
    }
    if (op == OP_TWO_DW) {
        CR |= CR_PG;
        pa[0] = b;
        pa[1] = b;
        uint32_t seen = SR & SR_BSY;
        pa[2] = c; /* the array is busy: this store waits on the bus */
        pa[3] = c;
        wait_bsy();
        CR &= ~CR_PG;
        return SR | (seen ? 1u << 31 : 0);
    }
    if (op == OP_OPT_PROG) {
        unlock_opt();
        REG(b) = a;
        CR |= CR_OPTSTRT;
        wait_bsy();
        return SR;
    }
    if (op == OP_OBL) {
        unlock_opt();
        CR |= CR_OBL_LAUNCH;
        return 0xDEADDEADu; /* not reached: the chip resets */
    }
    if (op == OP_READ32)
        return *pa;
    if (op == OP_START_DW) {
        CR |= CR_PG;
        pa[0] = b;
        pa[1] = c;
        return SR;
    }
    if (op == OP_CR_IN_BSY) {
        CR |= CR_PG;
        pa[0] = b;
        pa[1] = c;
        CR &= ~CR_PG; /* written while BSY: the bus stalls until the end */
        return SR;
    }
    return 0xFFFFFFFFu;
}
