/*
 * The chip table as data, split per series (chips_<series>.c), and the
 * ordering codes that name its parts (chips.c resolves them).
 *
 * A row (sim_chip) describes one die: one DEV_ID with its core, addresses,
 * registers and models, at the largest flash size of that DEV_ID. Its name
 * is an ordering code of that largest part, and sim_chip_at() walks the
 * rows.
 *
 * A part line is what ST's ordering codes share before the pin-count
 * letter: "stm32f407" in STM32F407VGT6. The code goes on with a pin-count
 * letter (c, r, v, z, ...: any of them, it changes nothing here) and the
 * flash-size letter (3 8 KiB, 4 16 KiB, 6 32 KiB, 8 64 KiB, b 128 KiB,
 * z 192 KiB, c 256 KiB, d 384 KiB, e 512 KiB, f 768 KiB, g 1 MiB, h 1.5 MiB,
 * i 2 MiB, j 4 MiB; the datasheets' "ordering information" tables). A line lists the size
 * letters it is sold with, each with its SRAM (the datasheet's device
 * summary table) and the row of the die behind it. sim_chip_find() turns
 * "stm32f407vg" into that row with the flash and SRAM of the code.
 */
#ifndef FLASHLINE_SIM_TARGET_CHIP_TABLE_H
#define FLASHLINE_SIM_TARGET_CHIP_TABLE_H

#include "board.h"

#define SIM_PART_SIZES 10

typedef struct sim_part_size {
    char code;           /* flash-size letter (lower case); 0 ends the list */
    uint16_t sram_kib;   /* SRAM from sram_base on this part */
    const sim_chip *die; /* the row of its DEV_ID */
    /* the flash controller variant of this size when it is not the die's
     * (the one-bank F42x/F469 below 2 MiB), NULL: the die's */
    const struct flash_ctrl_ops *flash;
} sim_part_size;

typedef struct sim_part_line {
    /* "stm32f407"; a line whose codes carry a suffix after the size
     * letter names it after a dash: "stm32l152-a" is stm32l152rba (the L1
     * "-A" parts, ST's STM32L152RBT6A) */
    const char *prefix;
    sim_part_size size[SIM_PART_SIZES];
} sim_part_line;

/* One series file's rows and lines. */
typedef struct sim_chip_series {
    const sim_chip *rows;
    size_t nrows;
    const sim_part_line *lines;
    size_t nlines;
} sim_chip_series;

extern const sim_chip_series sim_series_f0f3;
extern const sim_chip_series sim_series_f1;
extern const sim_chip_series sim_series_f4;
extern const sim_chip_series sim_series_f7;
extern const sim_chip_series sim_series_l;
extern const sim_chip_series sim_series_l4g;
extern const sim_chip_series sim_series_l4p;
extern const sim_chip_series sim_series_l01;
extern const sim_chip_series sim_series_l5u5;
extern const sim_chip_series sim_series_c0u0;
extern const sim_chip_series sim_series_h7;
extern const sim_chip_series sim_series_h5;

/* Flash KiB of a flash-size letter, 0 if it is not one. */
uint32_t sim_flash_kib_of(char code);

#endif
