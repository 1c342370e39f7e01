/*
 * The STM32L4 row of the chip table (see chip_table.h; the L0 rows are in
 * chips_l01.c). Addresses and identities are from the reference manual
 * (RM0351: memory map, DBGMCU and unique ID chapters) and the CMSIS device
 * header; the clock is the reset clock (MSI 4 MHz).
 */
#include "board_internal.h"
#include "chip_table.h"
#include "clock_tree.h"

#include <unicorn/unicorn.h>

static const sim_chip rows[] = {
    {
        .name = "stm32l476rg",
        .family_name = "STM32L4",
        .flash = &sim_flash_l4,
        .clock = &sim_clock_l4,
        .dev_id = 0x415,
        .rev_id = 0x1007, /* rev 4 */
        .idcode_addr = 0xE0042000,
        .cpuid = 0x410FC241,
        .dp_idcode = 0x2BA01477,
        .cpu_model = UC_CPU_ARM_CORTEX_M4,
        .armv6m = false,
        .core_hz = 4000000,
        .flash_base = 0x08000000,
        .flash_size = 1024 * 1024,
        .flash_erased = 0xFF,
        .sram_base = 0x20000000,
        .sram_size = 96 * 1024,
        .sram2_base = 0x10000000, /* also seen right after SRAM1 at 0x20018000 */
        .sram2_size = 32 * 1024,
        /* boot ROM 0x1FFF0000, OTP 0x1FFF7000, package 0x1FFF7500, UID
         * 0x1FFF7590, flash size 0x1FFF75E0, bank 1 options 0x1FFF7800;
         * bank 2 options 0x1FFFF800 */
        .sys = {{0x1FFF0000, 0x8000}, {0x1FFFF000, 0x1000}},
        .flash_size_reg = 0x1FFF75E0,
        .uid_addr = {0x1FFF7590, 0x1FFF7594, 0x1FFF7598},
        .page_size = 2048,
        .flash_regs = 0x40022000,
        .dbgmcu_cr = 0xE0042004,
        .dbgmcu_apb1_fz = 0xE0042008,
        .iwdg_freeze_bit = 1u << 12,
        .rcc_base = 0x40021000,
        .rcc_csr = 0x40021094,
        .lsi_hz = 32000,
        .iwdg_winr = true,
    },
};

/* One size each: the parts the simulator has modelled from the start. */
#define S(code, kib, die)                                                                          \
    {                                                                                              \
        code, kib, die, NULL                                                                       \
    }

static const sim_part_line lines[] = {
    {"stm32l476", {S('g', 96, &rows[0])}},
};

const sim_chip_series sim_series_l = {rows, sizeof rows / sizeof rows[0], lines,
                                      sizeof lines / sizeof lines[0]};
