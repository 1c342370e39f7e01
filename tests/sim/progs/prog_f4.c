/*
 * Flash-interface probes for test_flash_f4.c: each op drives the STM32F446
 * flash interface (RM0390 3) from the virtual core, as a flash loader
 * running from SRAM does, and returns FLASH_SR (or what the op says). The
 * op numbers are repeated in test_flash_f4.c.
 */
#define FLASH_REGS 0x40023C00u
#define KEYR       REG(0x04)
#define OPTKEYR    REG(0x08)
#define SR         REG(0x0C)
#define CR         REG(0x10)
#define OPTCR      REG(0x14)

#define SR_BSY    (1u << 16)
#define SR_ERRORS 0xF2u /* PGSERR, PGPERR, PGAERR, WRPERR, OPERR */

#define CR_PG      (1u << 0)
#define CR_SER     (1u << 1)
#define CR_MER     (1u << 2)
#define CR_STRT    (1u << 16)
#define CR_EOPIE   (1u << 24)
#define CR_ERRIE   (1u << 25)
#define CR_LOCK    (1u << 31)
#define CR_OPS     (CR_PG | CR_SER | CR_MER | (0x1Fu << 3) | (3u << 8) | CR_EOPIE | CR_ERRIE)
#define OPTCR_STRT (1u << 1)

#include "prog_flash.h"

/* Flags in the op arguments */
#define F_WAIT  1u /* wait for BSY to fall */
#define F_EOPIE 2u /* set EOPIE for the operation */
#define F_ERRIE 4u /* set ERRIE for the operation */

enum {
    OP_READ_REG = 0,       /* return FLASH[a] */
    OP_WRITE_REG = 1,      /* FLASH[a] = b; return FLASH[a] */
    OP_UNLOCK = 2,         /* KEYR = a, KEYR = b; return CR */
    OP_OPT_UNLOCK = 3,     /* OPTKEYR = a, OPTKEYR = b; return OPTCR */
    OP_LOCK = 4,           /* CR |= LOCK; return CR */
    OP_ERASE_SECTOR = 5,   /* sector a, PSIZE b, flags c */
    OP_MASS_ERASE = 6,     /* PSIZE a, flags c */
    OP_PROGRAM = 7,        /* store b at a; c = width | PSIZE << 4 | flags << 8 */
    OP_PROGRAM_BUF = 8,    /* c & 0xFFFFFF bytes from SRAM b to flash a, PSIZE c >> 24 */
    OP_STORE = 9,          /* store b (c bytes) at a, CR untouched */
    OP_PROGRAM_PAIR = 10,  /* x32: words b and c at a, a + 4 back to back */
    OP_ERASE_THEN_CR = 11, /* start erase of sector a (PSIZE b), write CR = c
                            * at once; return SR as read right after */
    OP_OPTCR = 12,         /* OPTCR = a; b: set OPTSTRT; c: wait */
    OP_PROGRAM64 = 13,     /* x64: word b at a, word c at a + 4 */
};

static uint32_t irq_bits(uint32_t flags)
{
    return ((flags & F_EOPIE) ? CR_EOPIE : 0) | ((flags & F_ERRIE) ? CR_ERRIE : 0);
}

static uint32_t finish(uint32_t flags)
{
    uint32_t sr = (flags & F_WAIT) ? wait_bsy() : SR;
    if (flags & F_WAIT)
        CR &= ~CR_OPS;
    return sr;
}

static uint32_t program_buf(uint32_t dst, uint32_t src, uint32_t len, uint32_t psize)
{
    uint32_t width = psize == 3 ? 4 : 1u << psize;
    uint32_t sr = 0;
    CR = (CR & ~CR_OPS) | CR_PG | psize << 8;
    for (uint32_t i = 0; i < len; i += width) {
        uint32_t v = width == 1   ? *(volatile uint8_t *)(src + i)
                     : width == 2 ? *(volatile uint16_t *)(src + i)
                                  : *(volatile uint32_t *)(src + i);
        store(dst + i, v, width);
        if (psize == 3 && !(i & 4))
            continue; /* a double word programs on its second word */
        sr = wait_bsy();
        if (sr & SR_ERRORS)
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
        return write_keys(&OPTKEYR, a, b, &OPTCR);
    if (op == OP_LOCK)
        return set_bits(&CR, CR_LOCK);
    if (op == OP_ERASE_SECTOR) {
        CR = (CR & ~CR_OPS) | CR_SER | a << 3 | b << 8 | irq_bits(c);
        CR |= CR_STRT;
        return finish(c);
    }
    if (op == OP_MASS_ERASE) {
        CR = (CR & ~CR_OPS) | CR_MER | a << 8 | irq_bits(c);
        CR |= CR_STRT;
        return finish(c);
    }
    if (op == OP_PROGRAM) {
        uint32_t flags = c >> 8;
        CR = (CR & ~CR_OPS) | CR_PG | ((c >> 4) & 3) << 8 | irq_bits(flags);
        store(a, b, c & 0xF);
        return finish(flags | F_WAIT);
    }
    if (op == OP_PROGRAM_BUF)
        return program_buf(a, b, c & 0xFFFFFFu, c >> 24);
    if (op == OP_STORE) {
        store(a, b, c);
        return SR;
    }
    if (op == OP_PROGRAM_PAIR) {
        CR = (CR & ~CR_OPS) | CR_PG | 2u << 8;
        *(volatile uint32_t *)a = b;
        *(volatile uint32_t *)(a + 4) = c;
        return finish(F_WAIT);
    }
    if (op == OP_ERASE_THEN_CR) {
        CR = (CR & ~CR_OPS) | CR_SER | a << 3 | b << 8;
        CR |= CR_STRT;
        CR = c;
        return SR;
    }
    if (op == OP_OPTCR) {
        OPTCR = a;
        if (b)
            OPTCR = a | OPTCR_STRT;
        return c ? wait_bsy() : SR;
    }
    if (op == OP_PROGRAM64) {
        CR = (CR & ~CR_OPS) | CR_PG | 3u << 8;
        *(volatile uint32_t *)a = b;
        *(volatile uint32_t *)(a + 4) = c;
        return finish(F_WAIT);
    }
    return 0xFFFFFFFFu;
}
