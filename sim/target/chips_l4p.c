/*
 * The L4+ and WB1x rows of the chip table (see chip_table.h): STM32L4Rx/
 * L4Sx (0x470), L4P5/L4Q5 (0x471) and WB10/WB15 (0x494), one row per
 * DEV_ID at its largest flash, and their part lines. Sources: the fact
 * sheet docs/reference/stm32-l-g-c-u-w-series.md sections 1 and 3.3-3.4
 * (DEV_IDs from AN2606), the CMSIS headers (cmsis_device_l4 v1.7.4
 * stm32l4r5xx.h, stm32l4p5xx.h; cmsis_device_wb stm32wb15xx.h:
 * FLASHSIZE_BASE, UID_BASE, FLASH_R_BASE / FLASH_REG_BASE, DBGMCU_BASE,
 * SRAMx_BASE/SIZE, RCC_TypeDef.CSR at 0x94, DBGMCU APB1FZR1 at +0x3C on
 * the WB) and RM0432/RM0473 memory maps as the fact sheet gives them.
 * REV_IDs are a first revision [U]; the host does not key on them.
 */
#include "board_internal.h"
#include "chip_table.h"
#include "clock_tree.h"

#include <unicorn/unicorn.h>

/* L4+: Cortex-M4F r0p1 behind a SW-DP v1 (0x2BA01477, OpenOCD
 * stm32l4x.cfg [OO]), DBGMCU at 0xE0042000 (APB1FZR1 +0x08, IWDG b12),
 * FLASH at 0x40022000 (AHB1 + 0x2000), RCC at 0x40021000 (CSR +0x94), UID
 * 0x1FFF7590, flash size 0x1FFF75E0, LSI 32 kHz, IWDG with WINR; reset on
 * MSI 4 MHz. Boot ROM 0x1FFF0000, OTP 0x1FFF7000, options 0x1FFF7800 and
 * (bank 2) 0x1FFFF800 [U: see flash_l4p_variants.c]. SRAM: SRAM1, SRAM2
 * (also at 0x10000000) and SRAM3 follow each other from 0x20000000 (the
 * headers' SRAM3_BASE right after SRAM1 + SRAM2); the 0x10000000 view is
 * a separate store here, not an alias [U]. Pages: 4 KiB in dual-bank mode
 * as shipped (the row's page_size), 8 KiB in single-bank mode. */
#define L4P_DIE                                                                                    \
    .family_name = "STM32L4+", .clock = &sim_clock_l4p, .cpuid = 0x410FC241,                       \
    .dp_idcode = 0x2BA01477, .cpu_model = UC_CPU_ARM_CORTEX_M4, .armv6m = false,                   \
    .idcode_addr = 0xE0042000, .core_hz = 4000000, .flash_base = 0x08000000, .flash_erased = 0xFF, \
    .sram_base = 0x20000000, .sram2_base = 0x10000000, .sram2_size = 64 * 1024,                    \
    .sys = {{0x1FFF0000, 0x8000}, {0x1FFFF000, 0x1000}}, .flash_size_reg = 0x1FFF75E0,             \
    .uid_addr = {0x1FFF7590, 0x1FFF7594, 0x1FFF7598}, .page_size = 4096, .flash_regs = 0x40022000, \
    .dbgmcu_cr = 0xE0042004, .dbgmcu_apb1_fz = 0xE0042008, .iwdg_freeze_bit = 1u << 12,            \
    .rcc_base = 0x40021000, .rcc_csr = 0x40021094, .lsi_hz = 32000, .iwdg_winr = true

static const sim_chip rows[] = {
    /* 0x470 L4R/L4S: 2 MiB; SRAM1 192 + SRAM2 64 + SRAM3 384 KiB */
    {
        L4P_DIE,
        .name = "stm32l4r5zi",
        .flash = &sim_flash_l4r,
        .dev_id = 0x470,
        .rev_id = 0x1000,
        .flash_size = 2048 * 1024,
        .sram_size = 640 * 1024,
    },
    /* 0x471 L4P5/L4Q5: 1 MiB; SRAM1 128 + SRAM2 64 + SRAM3 128 KiB */
    {
        L4P_DIE,
        .name = "stm32l4p5zg",
        .flash = &sim_flash_l4p5,
        .dev_id = 0x471,
        .rev_id = 0x1000,
        .flash_size = 1024 * 1024,
        .sram_size = 320 * 1024,
    },
    /* 0x494 WB10/WB15 CPU1: the WB55 die's debug and bus layout (SW-DP v2
     * 0x6BA02477 [OO stm32wbx.cfg], FLASH at 0x58004000, RCC at 0x58000000,
     * DBGMCU APB1FZR1 at 0xE004203C); 320 KiB of 2 KiB pages; SRAM1 12 KiB
     * at 0x20000000 (SRAM2a 32 KiB at 0x20030000 and SRAM2b 4 KiB at
     * 0x20038000, shared with CPU2, are not mapped [U]: 48 KiB in all, as
     * DS13258 says); options at 0x1FFF7800. The clock is the WB55's tree
     * (RM0473 RCC not read [U]; the host leaves the WB on MSI 4 MHz). */
    {
        .family_name = "STM32WB",
        .name = "stm32wb15cc",
        .flash = &sim_flash_wb1x,
        .clock = &sim_clock_wb,
        .dev_id = 0x494,
        .rev_id = 0x2001,
        .cpuid = 0x410FC241,
        .dp_idcode = 0x6BA02477,
        .cpu_model = UC_CPU_ARM_CORTEX_M4,
        .armv6m = false,
        .idcode_addr = 0xE0042000,
        .core_hz = 4000000,
        .flash_base = 0x08000000,
        .flash_size = 320 * 1024,
        .flash_erased = 0xFF,
        .page_size = 2048,
        .sram_base = 0x20000000,
        .sram_size = 12 * 1024,
        .sys = {{0x1FFF0000, 0x8000}},
        .flash_size_reg = 0x1FFF75E0,
        .uid_addr = {0x1FFF7590, 0x1FFF7594, 0x1FFF7598},
        .flash_regs = 0x58004000,
        .dbgmcu_cr = 0xE0042004,
        .dbgmcu_apb1_fz = 0xE004203C,
        .iwdg_freeze_bit = 1u << 12,
        .rcc_base = 0x58000000,
        .rcc_csr = 0x58000094,
        .lsi_hz = 32000,
        .iwdg_winr = true,
    },
};

#define S(code, kib, die)                                                                          \
    {                                                                                              \
        code, kib, &rows[die], NULL                                                                \
    }
/* A size whose bank option is another bit than the die's largest part. */
#define SV(code, kib, die, var)                                                                    \
    {                                                                                              \
        code, kib, &rows[die], &(var)                                                              \
    }

/* Ordering codes per line (fact sheet section 1; SRAM per the headers'
 * SRAM1 + SRAM2 + SRAM3, the same on every size of a die). 1 MiB L4R/L4S
 * and 512 KiB L4P5 parts select the bank mode with OPTR b21 (DB1M). The
 * L4P5xC (256 KiB) is [U] in the fact sheet and left out. */
static const sim_part_line lines[] = {
    {"stm32l4r5", {SV('g', 640, 0, sim_flash_l4r_1m), S('i', 640, 0)}},
    {"stm32l4r7", {SV('g', 640, 0, sim_flash_l4r_1m), S('i', 640, 0)}},
    {"stm32l4r9", {SV('g', 640, 0, sim_flash_l4r_1m), S('i', 640, 0)}},
    {"stm32l4s5", {S('i', 640, 0)}},
    {"stm32l4s7", {S('i', 640, 0)}},
    {"stm32l4s9", {S('i', 640, 0)}},
    {"stm32l4p5", {SV('e', 320, 1, sim_flash_l4p5_512k), S('g', 320, 1)}},
    {"stm32l4q5", {S('g', 320, 1)}},
    {"stm32wb10", {S('c', 12, 2)}},
    {"stm32wb15", {S('c', 12, 2)}},
};

const sim_chip_series sim_series_l4p = {rows, sizeof rows / sizeof rows[0], lines,
                                        sizeof lines / sizeof lines[0]};
