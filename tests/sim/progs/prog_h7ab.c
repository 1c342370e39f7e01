/*
 * Flash-interface probes for test_flash_h7ab.c: each op drives the
 * STM32H7A3/H7B3/H7B0 embedded flash (RM0455 section 4) from the virtual
 * core, as a flash loader running from DTCM does. FLASH_CR has no PSIZE
 * here and FW (b4), START (b5), SSN (b12:6) sit lower than on the H743;
 * the flash word is 128 bits. c (or the address) picks the bank: its
 * registers are at +0x100 for bank 2. The op numbers are repeated in
 * test_flash_h7ab.c.
 */
#define FLASH_REGS      0x52002000u
#define BANK2           0x08100000u
#define BREG(bank, off) REG((bank)*0x100u + (off))
#define KEYR(b)         BREG(b, 0x04)
#define CR(b)           BREG(b, 0x0C)
#define SR              BREG(0, 0x10)
#define SRB(b)          BREG(b, 0x10)

#define SR_BSY   (1u << 0)
#define SR_QW    (1u << 2)
#define CR_PG    (1u << 1)
#define CR_FW    (1u << 4)
#define CR_START (1u << 5)

#include "prog_flash.h"

enum {
    OP_READ = 0,      /* return the word at a */
    OP_UNLOCK = 2,    /* KEYR(c) = a, KEYR(c) = b; return CR(c) */
    OP_ERASE = 3,     /* CR(c) = a, then CR(c) = a | START; return SR(c), not waited */
    OP_PROG_WORD = 4, /* CR = PG, the 4 words b, b + 1, ... at a, wait while QW,
                       * CR = 0; return SR */
    OP_STORE = 5,     /* store b (c bytes) at a; return SR of a's bank */
    OP_FORCE = 6,     /* CR(c) |= FW, wait while QW; return SR(c) */
};

static uint32_t bank_of(uint32_t addr)
{
    return addr >= BANK2 ? 1 : 0;
}

static uint32_t wait_qw(uint32_t bank)
{
    uint32_t sr;
    while ((sr = SRB(bank)) & (SR_QW | SR_BSY))
        ;
    return sr;
}

uint32_t prog_main(uint32_t op, uint32_t a, uint32_t b, uint32_t c)
{
    if (op == OP_READ)
        return *(volatile uint32_t *)a;
    if (op == OP_UNLOCK)
        return write_keys(&KEYR(c), a, b, &CR(c));
    if (op == OP_ERASE) {
        CR(c) = a;
        CR(c) = a | CR_START;
        return SRB(c);
    }
    if (op == OP_PROG_WORD) {
        uint32_t k = bank_of(a);
        CR(k) = CR_PG;
        for (uint32_t i = 0; i < 4; i++)
            *(volatile uint32_t *)(a + 4 * i) = b + i;
        uint32_t sr = wait_qw(k);
        CR(k) = 0;
        return sr;
    }
    if (op == OP_STORE) {
        store(a, b, c);
        return SRB(bank_of(a));
    }
    if (op == OP_FORCE) {
        CR(c) |= CR_FW;
        return wait_qw(c);
    }
    return 0xFFFFFFFFu;
}
