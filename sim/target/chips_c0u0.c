/*
 * The C0, U0 and G0B/G0C rows of the chip table, one row per DEV_ID at its
 * largest flash, and their part lines (see chip_table.h).
 *
 * Sources:
 * - C0: RM0490 Rev 5: 2.3 Table 8 (SRAM per device: C011 6 KiB, C031 and
 *   C051 12 KiB, C071 24 KiB, C092 30 KiB, C091 36 KiB), 4.2 (flash: up to
 *   32 KiB C011/C031, 64 KiB C051, 128 KiB C071, 256 KiB C091/C092; one
 *   bank of 2 KiB pages), 4.3.1 Tables 10-13 (pages, system memory 6/12/
 *   28/16 KiB from 0x1FFF0000, OTP 0x1FFF7000, engineering bytes
 *   0x1FFF7500, option bytes 0x1FFF7800), 30.10.1 (DEV_IDs, DBG_IDCODE at
 *   0x40015800), 30.5.3 (SW-DP 0x0BC11477), 31.1-31.2 (UID 0x1FFF7550,
 *   flash size 0x1FFF75A0); the CMSIS headers stm32c0{11,31,71}xx.h
 *   (CPUID r0p0, RCC CSR2 at RCC + 0x60). The ordering-code sizes: the fact
 *   sheet's section 1 (C011/C031 x4/x6, C071 x8/xB) and the C091/C092
 *   datasheet's device summary (xB/xC); the C051 only at its RM size,
 *   64 KiB (x8): its smaller size was not confirmed.
 * - U0: the CMSIS headers stm32u031xx.h/stm32u083xx.h (FLASHSIZE_BASE,
 *   UID_BASE, SRAM1_SIZE_MAX, BKPSRAM2_BASE, DBGMCU_BASE, RCC CSR at
 *   +0x94) and the fact sheet (DEV_IDs from AN2606; SW-DP 0x6BA02477 from
 *   OpenOCD's stm32u0x.cfg [U]); RM0503 itself was not read.
 * - G0B/G0C: RM0444 3.3.1 and the fact sheet (0x467, 512 KiB, two banks,
 *   144 KiB SRAM: DS13565 "144 KB SRAM (128 KB with HW parity check)";
 *   system memory 0x1FFF0000-0x1FFF6FFF and 0x1FFF8000-0x1FFFEFFF).
 * REV_IDs are the first revision of each die [U]; the host does not key on
 * them. SRAM per smaller part is the die's where no datasheet was read [U].
 */
#include "board_internal.h"
#include "chip_table.h"
#include "clock_tree.h"

#include <unicorn/unicorn.h>

/* Cortex-M0+ r0p0 (the C0/U0/G0 headers' __CM0PLUS_REV) with DBG at
 * 0x40015800 (DBG_CR +4, APB freeze +8 with IWDG b12), FLASH at
 * 0x40022000, RCC at 0x40021000, 2 KiB pages, LSI 32 kHz, IWDG with WINR,
 * main flash at 0x08000000 erased to 0xFF, SRAM at 0x20000000. */
#define M0P_DIE                                                                                    \
    .cpuid = 0x410CC600, .cpu_model = UC_CPU_ARM_CORTEX_M0, .armv6m = true,                        \
    .idcode_addr = 0x40015800, .flash_base = 0x08000000, .flash_erased = 0xFF,                     \
    .sram_base = 0x20000000, .page_size = 2048, .flash_regs = 0x40022000, .dbgmcu_cr = 0x40015804, \
    .dbgmcu_apb1_fz = 0x40015808, .iwdg_freeze_bit = 1u << 12, .rcc_base = 0x40021000,             \
    .lsi_hz = 32000, .iwdg_winr = true

/* C0: SW-DP 0x0BC11477, UID 0x1FFF7550, flash size 0x1FFF75A0, RCC_CSR2
 * (reset flags) at RCC + 0x60, reset on HSISYS = HSI48 / 4 = 12 MHz
 * (RM0490 4.3.2: "HCLK ... automatically set to 12 MHz"). The information
 * block 0x1FFF0000-0x1FFF7FFF holds system memory, OTP, engineering bytes
 * and the option bytes. */
#define C0_DIE                                                                                     \
    M0P_DIE, .family_name = "STM32C0", .dp_idcode = 0x0BC11477, .core_hz = 12000000,               \
             .sys = {{0x1FFF0000, 0x8000}}, .flash_size_reg = 0x1FFF75A0,                          \
             .uid_addr = {0x1FFF7550, 0x1FFF7554, 0x1FFF7558}, .rcc_csr = 0x40021060

/* U0: SW-DP v2 0x6BA02477 [U: OpenOCD], RCC_CSR at RCC + 0x94, reset on
 * MSI 4 MHz; information block taken as 0x1FFF0000-0x1FFF7FFF (system
 * memory, OTP at 0x1FFF6800, the identity cells; options [U]). */
#define U0_DIE                                                                                     \
    M0P_DIE, .family_name = "STM32U0", .dp_idcode = 0x6BA02477, .core_hz = 4000000,                \
             .sys = {{0x1FFF0000, 0x8000}}, .rcc_csr = 0x40021094, .flash = &sim_flash_u0,         \
             .clock = &sim_clock_u0

static const sim_chip rows[] = {
    /* 0x443 C011: 32 KiB (16 pages), 6 KiB */
    {
        C0_DIE,
        .name = "stm32c011f6",
        .flash = &sim_flash_c011,
        .clock = &sim_clock_c0,
        .dev_id = 0x443,
        .rev_id = 0x1000,
        .flash_size = 32 * 1024,
        .sram_size = 6 * 1024,
    },
    /* 0x453 C031: 32 KiB, 12 KiB */
    {
        C0_DIE,
        .name = "stm32c031c6",
        .flash = &sim_flash_c031,
        .clock = &sim_clock_c0,
        .dev_id = 0x453,
        .rev_id = 0x1000,
        .flash_size = 32 * 1024,
        .sram_size = 12 * 1024,
    },
    /* 0x44C C051: 64 KiB (32 pages), 12 KiB */
    {
        C0_DIE,
        .name = "stm32c051c8",
        .flash = &sim_flash_c0_rm,
        .clock = &sim_clock_c0_sysdiv,
        .dev_id = 0x44C,
        .rev_id = 0x1000,
        .flash_size = 64 * 1024,
        .sram_size = 12 * 1024,
    },
    /* 0x493 C071: 128 KiB (64 pages), 24 KiB */
    {
        C0_DIE,
        .name = "stm32c071rb",
        .flash = &sim_flash_c071,
        .clock = &sim_clock_c0_sysdiv,
        .dev_id = 0x493,
        .rev_id = 0x1000,
        .flash_size = 128 * 1024,
        .sram_size = 24 * 1024,
    },
    /* 0x44D C091/C092: 256 KiB (128 pages), 36 KiB (C091) */
    {
        C0_DIE,
        .name = "stm32c091rc",
        .flash = &sim_flash_c0_rm,
        .clock = &sim_clock_c0_sysdiv,
        .dev_id = 0x44D,
        .rev_id = 0x1000,
        .flash_size = 256 * 1024,
        .sram_size = 36 * 1024,
    },
    /* 0x459 U031: 64 KiB; SRAM1 8 KiB + the 4 KiB backup SRAM right after
     * it (BKPSRAM2_BASE 0x20002000) */
    {
        U0_DIE,
        .name = "stm32u031r8",
        .dev_id = 0x459,
        .rev_id = 0x1000,
        .flash_size = 64 * 1024,
        .sram_size = 12 * 1024,
        .flash_size_reg = 0x1FFF3EA0,
        .uid_addr = {0x1FFF3E50, 0x1FFF3E54, 0x1FFF3E58},
    },
    /* 0x489 U073/U083: 256 KiB; SRAM1 32 KiB + 8 KiB backup SRAM at
     * 0x20008000 */
    {
        U0_DIE,
        .name = "stm32u083rc",
        .dev_id = 0x489,
        .rev_id = 0x1000,
        .flash_size = 256 * 1024,
        .sram_size = 40 * 1024,
        .flash_size_reg = 0x1FFF6EA0,
        .uid_addr = {0x1FFF6E50, 0x1FFF6E54, 0x1FFF6E58},
    },
    /* 0x467 G0B0/G0B1/G0C1: 512 KiB in two banks of 256 KiB (DUAL_BANK as
     * shipped), 144 KiB SRAM; the G0 die otherwise (SW-DP 0x0BC11477, UID
     * 0x1FFF7590, flash size 0x1FFF75E0, RCC_CSR at +0x60, HSISYS 16 MHz;
     * RM0444 2.2, 5.4.1, 40), with both system-memory halves. */
    {
        M0P_DIE,
        .name = "stm32g0b1re",
        .family_name = "STM32G0",
        .flash = &sim_flash_g0b,
        .clock = &sim_clock_g0,
        .dp_idcode = 0x0BC11477,
        .core_hz = 16000000,
        .sys = {{0x1FFF0000, 0x8000}, {0x1FFF8000, 0x7000}},
        .flash_size_reg = 0x1FFF75E0,
        .uid_addr = {0x1FFF7590, 0x1FFF7594, 0x1FFF7598},
        .rcc_csr = 0x40021060,
        .dev_id = 0x467,
        .rev_id = 0x1000,
        .flash_size = 512 * 1024,
        .sram_size = 144 * 1024,
    },
};

#define S(code, kib, die)                                                                          \
    {                                                                                              \
        code, kib, die, NULL                                                                       \
    }

/* SRAM per part: RM0490 Table 8 for the C0 lines; the dies' for U0 and
 * G0B/G0C [U: per-part datasheet tables not read]. */
static const sim_part_line lines[] = {
    {"stm32c011", {S('4', 6, &rows[0]), S('6', 6, &rows[0])}},
    {"stm32c031", {S('4', 12, &rows[1]), S('6', 12, &rows[1])}},
    {"stm32c051", {S('8', 12, &rows[2])}},
    {"stm32c071", {S('8', 24, &rows[3]), S('b', 24, &rows[3])}},
    {"stm32c091", {S('b', 36, &rows[4]), S('c', 36, &rows[4])}},
    {"stm32c092", {S('b', 30, &rows[4]), S('c', 30, &rows[4])}},
    {"stm32u031", {S('4', 12, &rows[5]), S('6', 12, &rows[5]), S('8', 12, &rows[5])}},
    {"stm32u073", {S('8', 40, &rows[6]), S('b', 40, &rows[6]), S('c', 40, &rows[6])}},
    {"stm32u083", {S('c', 40, &rows[6])}},
    {"stm32g0b0", {S('e', 144, &rows[7])}},
    {"stm32g0b1", {S('b', 144, &rows[7]), S('c', 144, &rows[7]), S('e', 144, &rows[7])}},
    {"stm32g0c1", {S('c', 144, &rows[7]), S('e', 144, &rows[7])}},
};

const sim_chip_series sim_series_c0u0 = {rows, sizeof rows / sizeof rows[0], lines,
                                         sizeof lines / sizeof lines[0]};
