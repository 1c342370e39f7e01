/*
 * Flash-interface probes for test_flash_f7.c: each op drives the STM32F7
 * flash interface (RM0385/RM0410/RM0431 section 3) from the virtual core,
 * as a flash loader running from SRAM does, and returns FLASH_SR (or what
 * the op says). Long operations are started here and waited for by the
 * host. The op numbers are repeated in test_flash_f7.c.
 */
#define FLASH_REGS 0x40023C00u
#define ACR        REG(0x00)
#define KEYR       REG(0x04)
#define OPTKEYR    REG(0x08)
#define SR         REG(0x0C)
#define CR         REG(0x10)
#define OPTCR      REG(0x14)
#define OPTCR1     REG(0x18)

#define SR_BSY     (1u << 16)
#define CR_PG      (1u << 0)
#define CR_STRT    (1u << 16)
#define OPTCR_STRT (1u << 1)

#include "prog_flash.h"

enum {
    OP_READ = 0,       /* return the word at a */
    OP_WRITE = 1,      /* word b to a; return the word at a */
    OP_UNLOCK = 2,     /* KEYR = a, KEYR = b; return CR */
    OP_OPT_UNLOCK = 3, /* OPTKEYR = a, OPTKEYR = b; return OPTCR */
    OP_ERASE = 4,      /* CR = a, then CR = a | STRT; return SR (not waited) */
    OP_PROGRAM = 5,    /* CR = PG | PSIZE c, store b (width 1 << c) at a, wait,
                        * CR = 0; return SR */
    OP_STORE = 6,      /* store b (c bytes) at a, CR untouched; return SR */
    OP_OPTIONS = 7,    /* OPTCR1 = b, OPTCR = a, OPTCR = a | OPTSTRT; return
                        * SR (not waited) */
};

uint32_t prog_main(uint32_t op, uint32_t a, uint32_t b, uint32_t c)
{
    if (op == OP_READ)
        return *(volatile uint32_t *)a;
    if (op == OP_WRITE)
        return write_reg((reg32 *)a, b);
    if (op == OP_UNLOCK)
        return write_keys(&KEYR, a, b, &CR);
    if (op == OP_OPT_UNLOCK)
        return write_keys(&OPTKEYR, a, b, &OPTCR);
    if (op == OP_ERASE) {
        CR = a;
        CR = a | CR_STRT;
        return SR;
    }
    if (op == OP_PROGRAM) {
        CR = CR_PG | c << 8;
        store(a, b, 1u << c);
        uint32_t sr = wait_bsy();
        CR = 0;
        return sr;
    }
    if (op == OP_STORE) {
        store(a, b, c);
        return SR;
    }
    if (op == OP_OPTIONS) {
        OPTCR1 = b;
        OPTCR = a;
        OPTCR = a | OPTCR_STRT;
        return SR;
    }
    return 0xFFFFFFFFu;
}
