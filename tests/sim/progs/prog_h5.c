/*
 * Flash-interface probes for test_flash_h5.c: each op drives the STM32H5
 * embedded flash (RM0481 section 7, non-secure registers) from the virtual
 * core, as a flash loader running from SRAM does. The op numbers are
 * repeated in test_flash_h5.c.
 */
#define FLASH_REGS 0x40022000u
#define NSKEYR     REG(0x04)
#define OPTCR      REG(0x1C)
#define SR         REG(0x20)
#define NSCR       REG(0x28)
#define OPTSR_PRG  REG(0x54)
#define OPTSR2_PRG REG(0x74)

#define SR_BSY         (1u << 0)
#define SR_WBNE        (1u << 1)
#define CR_PG          (1u << 1)
#define CR_FW          (1u << 4)
#define CR_STRT        (1u << 5)
#define OPTCR_OPTSTART (1u << 1)

#include "prog_flash.h"

enum {
    OP_READ = 0,    /* return the word at a */
    OP_WRITE = 1,   /* word b to register a; return it read back */
    OP_UNLOCK = 2,  /* NSKEYR = a, NSKEYR = b; return NSCR */
    OP_ERASE = 3,   /* NSCR = a, then NSCR = a | STRT; return NSSR, not waited */
    OP_PROG_QW = 4, /* NSCR = PG, the 4 words b, b + 1, ... at a, wait while
                     * BSY, NSCR = 0; return NSSR */
    OP_STORE = 5,   /* store b (c bytes) at a; return NSSR */
    OP_FORCE = 6,   /* NSCR |= FW, wait while BSY; return NSSR */
    OP_OPTIONS = 7, /* OPTSR_PRG = a, OPTSR2_PRG = b, OPTCR |= OPTSTART, wait
                     * while BSY; return NSSR */
};

uint32_t prog_main(uint32_t op, uint32_t a, uint32_t b, uint32_t c)
{
    if (op == OP_READ)
        return *(volatile uint32_t *)a;
    if (op == OP_WRITE)
        return write_reg((reg32 *)a, b);
    if (op == OP_UNLOCK)
        return write_keys(&NSKEYR, a, b, &NSCR);
    if (op == OP_ERASE) {
        NSCR = a;
        NSCR = a | CR_STRT;
        return SR;
    }
    if (op == OP_PROG_QW) {
        NSCR = CR_PG;
        for (uint32_t i = 0; i < 4; i++)
            *(volatile uint32_t *)(a + 4 * i) = b + i;
        uint32_t sr = wait_bsy();
        NSCR = 0;
        return sr;
    }
    if (op == OP_STORE) {
        store(a, b, c);
        return SR;
    }
    if (op == OP_FORCE) {
        NSCR |= CR_FW;
        return wait_bsy();
    }
    if (op == OP_OPTIONS) {
        OPTSR_PRG = a;
        OPTSR2_PRG = b;
        OPTCR |= OPTCR_OPTSTART;
        return wait_bsy();
    }
    return 0xFFFFFFFFu;
}
