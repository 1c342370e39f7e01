/*
 * What the flash test programs (prog_f1.c, prog_f4.c, prog_l0.c,
 * prog_l4.c) do alike when they poke their flash controller from the
 * virtual core. A program defines FLASH_REGS (the controller's register
 * base), SR (REG() of its status register) and SR_BSY before including
 * this. Which registers and bits an op touches stays in the program.
 *
 * No globals: the programs are copied to SRAM without .data/.bss set-up.
 */
#ifndef FLASHLINE_TESTS_SIM_PROGS_PROG_FLASH_H
#define FLASHLINE_TESTS_SIM_PROGS_PROG_FLASH_H

#include <stdint.h>

uint32_t prog_main(uint32_t op, uint32_t a, uint32_t b, uint32_t c);

typedef volatile uint32_t reg32;

/* The controller register at byte offset off. */
#define REG(off) (*(reg32 *)(FLASH_REGS + (off)))

/* Poll SR until BSY falls; returns the SR value that showed it clear. */
static inline uint32_t wait_bsy(void)
{
    uint32_t sr;
    while ((sr = SR) & SR_BSY)
        ;
    return sr;
}

/* One store of width bytes (1, 2, else 4) of value at addr. */
static inline void store(uint32_t addr, uint32_t value, uint32_t width)
{
    if (width == 1)
        *(volatile uint8_t *)addr = (uint8_t)value;
    else if (width == 2)
        *(volatile uint16_t *)addr = (uint16_t)value;
    else
        *(volatile uint32_t *)addr = value;
}

/* *reg = v; returns what *reg reads back. */
static inline uint32_t write_reg(reg32 *reg, uint32_t v)
{
    *reg = v;
    return *reg;
}

/* *reg |= bits; returns what *reg reads back. */
static inline uint32_t set_bits(reg32 *reg, uint32_t bits)
{
    *reg |= bits;
    return *reg;
}

/* Two writes into a key register, whatever they are; returns what *ret
 * reads after them. */
static inline uint32_t write_keys(reg32 *keyr, uint32_t k1, uint32_t k2, reg32 *ret)
{
    *keyr = k1;
    *keyr = k2;
    return *ret;
}

/* The keys, as a loader writes them: only while *ctl shows lock set. */
static inline void unlock_if(reg32 *ctl, uint32_t lock, reg32 *keyr, uint32_t k1, uint32_t k2)
{
    if (*ctl & lock) {
        *keyr = k1;
        *keyr = k2;
    }
}

#endif
