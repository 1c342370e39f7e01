/*
 * The STM32L5 and STM32U5 rows of the chip table (see chip_table.h): the
 * Cortex-M33 parts with the TrustZone-layout flash interface (flash_l5.c).
 *
 * Addresses: CMSIS stm32l552xx.h / stm32u575xx.h (FLASH_R_BASE_NS,
 * DBGMCU_BASE 0xE0044000, FLASHSIZE_BASE, UID_BASE, RCC_BASE_NS), RM0438 /
 * RM0456 memory maps. CPUID: Cortex-M33 r0p0 per the headers' __CM33_REV
 * [U on silicon]; SW-DP DPv2 0x0BE12477 (the value OpenOCD's
 * stm32x5x_common.cfg expects). The core executes as a Cortex-M33 without
 * the secure state being modelled: the debugger is non-secure.
 * Reset clock MSI 4 MHz on both.
 */
#include "board_internal.h"
#include "chip_table.h"
#include "clock_tree.h"

#include <unicorn/unicorn.h>

/* system memory 0x0BF90000 (32 KiB); OTP 0x0BFA0000, UID and flash size in
 * the same 4 KiB */
#define M33_COMMON                                                                                 \
    .idcode_addr = 0xE0044000, .cpuid = 0x410FD210, .dp_idcode = 0x0BE12477,                       \
    .cpu_model = UC_CPU_ARM_CORTEX_M33, .armv6m = false, .core_hz = 4000000,                       \
    .flash_base = 0x08000000, .flash_erased = 0xFF, .sram_base = 0x20000000,                       \
    .sys = {{0x0BF90000, 0x8000}, {0x0BFA0000, 0x1000}}, .flash_regs = 0x40022000,                 \
    .dbgmcu_cr = 0xE0044004, .dbgmcu_apb1_fz = 0xE0044008, .iwdg_freeze_bit = 1u << 12,            \
    .lsi_hz = 32000, .iwdg_winr = true

static const sim_chip rows[] = {
    /* L552/L562 (0x472): 512 KiB, SRAM1 192 KiB + SRAM2 64 KiB contiguous;
     * flash size 0x0BFA05E0, UID 0x0BFA0590; 2 KiB pages (DBANK = 1). RCC
     * 0x40021000, CSR +0x94. */
    {M33_COMMON, .name = "stm32l552ze", .family_name = "STM32L5", .flash = &sim_flash_l5,
     .clock = &sim_clock_l5, .dev_id = 0x472, .rev_id = 0x2000, .flash_size = 512 * 1024,
     .sram_size = 256 * 1024, .flash_size_reg = 0x0BFA05E0,
     .uid_addr = {0x0BFA0590, 0x0BFA0594, 0x0BFA0598}, .page_size = 2048, .rcc_base = 0x40021000,
     .rcc_csr = 0x40021094},
#define U5_ROW(nm, id, fkib, skib)                                                                 \
    {                                                                                              \
        M33_COMMON,                                                                                \
            .name = nm, .family_name = "STM32U5", .flash = &sim_flash_u5, .clock = &sim_clock_u5,  \
            .dev_id = id, .rev_id = 0x1000, .flash_size = (fkib)*1024, .sram_size = (skib)*1024,   \
            .flash_size_reg = 0x0BFA07A0, .uid_addr = {0x0BFA0700, 0x0BFA0704, 0x0BFA0708},        \
            .page_size = 8192, .rcc_base = 0x46020C00, .rcc_csr = 0x46020CF4                       \
    }
    /* U5 (RM0456): 8 KiB pages, two banks; RCC at 0x46020C00, CSR +0xF4.
     * SRAM contiguous from 0x20000000: U535/545 192 + 64 KiB; U575/585
     * 192 + 64 + 512 KiB; U59x/5Ax 768 + 64 + 832 + 832 KiB; U5Fx/5Gx
     * 3008 KiB (IAR templates) */
    U5_ROW("stm32u545re", 0x455, 512, 256),
    U5_ROW("stm32u585zi", 0x482, 2048, 768),
    U5_ROW("stm32u5a5zj", 0x481, 4096, 2496),
    U5_ROW("stm32u5g9zj", 0x476, 4096, 3008),
};

#define S(code, kib, die)                                                                          \
    {                                                                                              \
        code, kib, &rows[die], NULL                                                                \
    }

static const sim_part_line lines[] = {
    {"stm32l552", {S('c', 256, 0), S('e', 256, 0)}},
    {"stm32l562", {S('e', 256, 0)}},
    {"stm32u535", {S('b', 256, 1), S('c', 256, 1), S('e', 256, 1)}},
    {"stm32u545", {S('e', 256, 1)}},
    {"stm32u575", {S('g', 768, 2), S('i', 768, 2)}},
    {"stm32u585", {S('i', 768, 2)}},
    {"stm32u595", {S('i', 2496, 3), S('j', 2496, 3)}},
    {"stm32u599", {S('i', 2496, 3), S('j', 2496, 3)}},
    {"stm32u5a5", {S('j', 2496, 3)}},
    {"stm32u5a9", {S('j', 2496, 3)}},
    {"stm32u5f7", {S('j', 3008, 4)}},
    {"stm32u5f9", {S('j', 3008, 4)}},
    {"stm32u5g7", {S('j', 3008, 4)}},
    {"stm32u5g9", {S('j', 3008, 4)}},
};

const sim_chip_series sim_series_l5u5 = {rows, sizeof rows / sizeof rows[0], lines,
                                         sizeof lines / sizeof lines[0]};
