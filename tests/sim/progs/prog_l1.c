/*
 * Thumb test program for the STM32L1 NVM (flash_l0.c's L1 variants,
 * test_flash_l1.c): prog_l0.c's operations with the L1's register base
 * (0x40023C00), 32-word half pages, ACC64 and PARALLBANK. Runs from SRAM
 * like a flash loader; no globals. The op numbers are mirrored in
 * test_flash_l1.c.
 */
#define FLASH_REGS 0x40023C00u
#define ACR        REG(0x00)
#define PECR       REG(0x04)
#define PEKEYR     REG(0x0C)
#define PRGKEYR    REG(0x10)
#define OPTKEYR    REG(0x14)
#define SR         REG(0x18)

#define PECR_PELOCK     (1u << 0)
#define PECR_PRGLOCK    (1u << 1)
#define PECR_OPTLOCK    (1u << 2)
#define PECR_PROG       (1u << 3)
#define PECR_ERASE      (1u << 9)
#define PECR_FPRG       (1u << 10)
#define PECR_PARALLBANK (1u << 15)
#define PECR_OBL_LAUNCH (1u << 18)
#define HP_WORDS        32u
#define SR_BSY          (1u << 0)
#define SR_ERRORS       0x00002F00u /* WRPERR PGAERR SIZERR OPTVERR RDERR */

#include "prog_flash.h"

enum {
    OP_SR = 0,          /* return SR */
    OP_PEKEYS = 1,      /* PEKEYR <- a, b; return PECR */
    OP_PRGKEYS = 2,     /* PRGKEYR <- a, b; return PECR */
    OP_OPTKEYS = 3,     /* OPTKEYR <- a, b; return PECR */
    OP_UNLOCK = 4,      /* unlock PECR and program memory; return PECR */
    OP_LOCK = 5,        /* PRGLOCK, then PELOCK; return PECR */
    OP_PECR = 6,        /* PECR <- a; return PECR */
    OP_CLEAR_SR = 7,    /* SR <- a; return SR */
    OP_ERASE_PAGE = 8,  /* erase the page holding a; return SR */
    OP_PROG_WORD = 9,   /* word b at a; return SR */
    OP_HALF_PAGE = 10,  /* 16 words from b to a; c: 0 incrementing, 1 same address,
                           2 the 9th word outside the half page; return SR */
    OP_WRITE = 11,      /* c bytes from b to a (words and half pages); return SR */
    OP_STORE8 = 12,     /* byte b at a; return SR */
    OP_STORE16 = 13,    /* half-word b at a; return SR */
    OP_TWO_WORDS = 14,  /* word b at a and at once word c at a+4; return SR | BSY-seen << 31 */
    OP_EE_WRITE = 15,   /* unlock PECR, store b at a with size c; return SR */
    OP_OPT_WRITE = 16,  /* unlock PECR and options, word b at a; return SR */
    OP_OBL = 17,        /* unlock options, OBL_LAUNCH (the chip resets) */
    OP_READ32 = 18,     /* return *a */
    OP_START_WORD = 19, /* word b at a, no wait; return SR */
    OP_OPT_OBL = 20,    /* unlock options, word b at a, OBL_LAUNCH without
                           waiting for BSY (as OpenOCD's stm32lx mass_erase) */
    OP_ACR = 21,        /* ACR <- a; return ACR */
    OP_PAR_ERASE = 22,  /* PARALLBANK erase of the pages holding a and b; return SR */
    OP_PAR_HALF = 23    /* PARALLBANK half pages: 32 words from c to a, the next
                           32 to b; return SR */
};

static void unlock_pe(void)
{
    unlock_if(&PECR, PECR_PELOCK, &PEKEYR, 0x89ABCDEFu, 0x02030405u);
}

static void unlock_prg(void)
{
    unlock_pe();
    unlock_if(&PECR, PECR_PRGLOCK, &PRGKEYR, 0x8C9DAEBFu, 0x13141516u);
}

static void unlock_opt(void)
{
    unlock_pe();
    unlock_if(&PECR, PECR_OPTLOCK, &OPTKEYR, 0xFBEAD9C8u, 0x24252627u);
}

static uint32_t half_page(uint32_t dst, uint32_t src, uint32_t mode)
{
    volatile uint32_t *d = (volatile uint32_t *)dst;
    const volatile uint32_t *s = (const volatile uint32_t *)src;
    PECR |= PECR_FPRG;
    PECR |= PECR_PROG;
    for (uint32_t i = 0; i < HP_WORDS; i++) {
        if (mode == 1)
            d[0] = s[i]; /* as HAL_FLASHEx_HalfPageProgram does */
        else if (mode == 2 && i == 8)
            d[i + HP_WORDS] = s[i]; /* outside the half page */
        else
            d[i] = s[i];
    }
    wait_bsy();
    PECR &= ~(PECR_PROG | PECR_FPRG);
    return SR;
}

/* A flash loader: words up to a half-page boundary, half pages, words. */
static uint32_t write_buf(uint32_t dst, uint32_t src, uint32_t n)
{
    while (n >= 4) {
        if ((dst & (4 * HP_WORDS - 1)) == 0 && n >= 4 * HP_WORDS) {
            half_page(dst, src, 0);
            dst += 4 * HP_WORDS;
            src += 4 * HP_WORDS;
            n -= 4 * HP_WORDS;
        } else {
            *(volatile uint32_t *)dst = *(const volatile uint32_t *)src;
            wait_bsy();
            dst += 4;
            src += 4;
            n -= 4;
        }
        if (SR & SR_ERRORS)
            break;
    }
    return SR;
}

__attribute__((optimize("no-jump-tables"))) uint32_t prog_main(uint32_t op, uint32_t a, uint32_t b,
                                                               uint32_t c)
{
    volatile uint32_t *pa = (volatile uint32_t *)a;
    if (op == OP_SR)
        return SR;
    if (op == OP_PEKEYS)
        return write_keys(&PEKEYR, a, b, &PECR);
    if (op == OP_PRGKEYS)
        return write_keys(&PRGKEYR, a, b, &PECR);
    if (op == OP_OPTKEYS)
        return write_keys(&OPTKEYR, a, b, &PECR);
    if (op == OP_UNLOCK) {
        unlock_prg();
        return PECR;
    }
    if (op == OP_LOCK) {
        PECR |= PECR_PRGLOCK;
        PECR |= PECR_PELOCK;
        return PECR;
    }
    if (op == OP_PECR)
        return write_reg(&PECR, a);
    if (op == OP_CLEAR_SR)
        return write_reg(&SR, a);
    if (op == OP_ERASE_PAGE) {
        PECR |= PECR_ERASE;
        PECR |= PECR_PROG;
        *pa = 0;
        wait_bsy();
        PECR &= ~(PECR_PROG | PECR_ERASE);
        return SR;
    }
    if (op == OP_PROG_WORD) {
        *pa = b;
        wait_bsy();
        return SR;
    }
    if (op == OP_HALF_PAGE)
        return half_page(a, b, c);
    if (op == OP_WRITE)
        return write_buf(a, b, c);
    if (op == OP_STORE8 || op == OP_STORE16) {
        store(a, b, op == OP_STORE8 ? 1 : 2);
        wait_bsy();
        return SR;
    }
    if (op == OP_TWO_WORDS) {
        pa[0] = b;
        uint32_t seen = SR & SR_BSY;
        pa[1] = c; /* the array is busy: this store waits on the bus */
        wait_bsy();
        return SR | seen << 31;
    }
    if (op == OP_EE_WRITE) {
        unlock_pe();
        store(a, b, c);
        wait_bsy();
        return SR;
    }
    if (op == OP_OPT_WRITE) {
        unlock_opt();
        *pa = b;
        wait_bsy();
        return SR;
    }
    if (op == OP_OBL) {
        unlock_opt();
        PECR |= PECR_OBL_LAUNCH;
        return 0xDEADDEADu; /* not reached: the chip resets */
    }
    if (op == OP_READ32)
        return *pa;
    if (op == OP_OPT_OBL) {
        unlock_opt();
        *pa = b;
        PECR |= PECR_OBL_LAUNCH; /* written while BSY */
        return 0xDEADDEADu;      /* not reached: the chip resets */
    }
    if (op == OP_ACR)
        return write_reg(&ACR, a);
    if (op == OP_PAR_ERASE) {
        PECR |= PECR_PARALLBANK;
        PECR |= PECR_ERASE;
        PECR |= PECR_PROG;
        *pa = 0;
        *(volatile uint32_t *)b = 0;
        wait_bsy();
        PECR &= ~(PECR_PROG | PECR_ERASE | PECR_PARALLBANK);
        return SR;
    }
    if (op == OP_PAR_HALF) {
        const volatile uint32_t *s = (const volatile uint32_t *)c;
        PECR |= PECR_PARALLBANK;
        PECR |= PECR_FPRG;
        PECR |= PECR_PROG;
        for (uint32_t i = 0; i < HP_WORDS; i++)
            pa[i] = s[i];
        for (uint32_t i = 0; i < HP_WORDS; i++)
            ((volatile uint32_t *)b)[i] = s[HP_WORDS + i];
        wait_bsy();
        PECR &= ~(PECR_PROG | PECR_FPRG | PECR_PARALLBANK);
        return SR;
    }
    if (op == OP_START_WORD) {
        *pa = b;
        return SR;
    }
    return 0xFFFFFFFFu;
}
