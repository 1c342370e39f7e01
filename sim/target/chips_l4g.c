/*
 * The L4-generation rows of the chip table beyond the L476 (chips_l.c):
 * STM32L41x-L4Ax, G0, G4, WB and WL, one row per DEV_ID at its largest
 * flash, and their part lines (see chip_table.h). Sources: the fact sheet
 * docs/reference/stm32-l-g-c-u-w-series.md section 1 (DEV_IDs, lines,
 * sizes, addresses from the CMSIS headers: DBGMCU_BASE/DBG_BASE,
 * FLASHSIZE_BASE, UID_BASE, FLASH_R_BASE/FLASH_REG_BASE, SRAMx_SIZE), the
 * reference manuals' memory maps (RM0394, RM0351, RM0444, RM0440, RM0434,
 * RM0453) and the datasheets' device summaries for SRAM per part.
 * REV_IDs are the first revision of each die [U]; the host does not key on
 * them.
 */
#include "board_internal.h"
#include "chip_table.h"
#include "clock_tree.h"

#include <unicorn/unicorn.h>

/* Cortex-M4F r0p1 behind a SW-DP v1 (0x2BA01477), DBGMCU at 0xE0042000
 * (freeze in APB1FZR1 b12), FLASH at 0x40022000, RCC at 0x40021000, UID at
 * 0x1FFF7590, flash size at 0x1FFF75E0, LSI 32 kHz, IWDG with WINR: the L4
 * and G4 dies (RM0351/RM0394 memory map, DBGMCU and device electronic
 * signature chapters; RM0440 likewise). */
#define M4_DIE                                                                                     \
    .cpuid = 0x410FC241, .dp_idcode = 0x2BA01477, .cpu_model = UC_CPU_ARM_CORTEX_M4,               \
    .armv6m = false, .idcode_addr = 0xE0042000, .flash_base = 0x08000000, .flash_erased = 0xFF,    \
    .sram_base = 0x20000000, .flash_size_reg = 0x1FFF75E0,                                         \
    .uid_addr = {0x1FFF7590, 0x1FFF7594, 0x1FFF7598}, .page_size = 2048, .flash_regs = 0x40022000, \
    .dbgmcu_cr = 0xE0042004, .dbgmcu_apb1_fz = 0xE0042008, .iwdg_freeze_bit = 1u << 12,            \
    .rcc_base = 0x40021000, .rcc_csr = 0x40021094, .lsi_hz = 32000, .iwdg_winr = true

/* L4: reset on MSI 4 MHz; SRAM2 at 0x10000000, also right after SRAM1;
 * boot ROM 0x1FFF0000, OTP 0x1FFF7000, UID/flash size 0x1FFF75xx, options
 * 0x1FFF7800 (and bank 2's at 0x1FFFF800 on the dual-bank dies). */
#define L4_DIE                                                                                     \
    M4_DIE, .family_name = "STM32L4", .clock = &sim_clock_l4, .core_hz = 4000000,                  \
            .sram2_base = 0x10000000

/* G4: reset on HSI16; CCM SRAM at 0x10000000, also right after SRAM2. */
#define G4_DIE                                                                                     \
    M4_DIE, .family_name = "STM32G4", .clock = &sim_clock_g4, .core_hz = 16000000,                 \
            .sram2_base = 0x10000000, .sys = {{0x1FFF0000, 0x8000}, {0x1FFFF000, 0x1000}}

/* G0: Cortex-M0+ (CPUID r0p0 per stm32g0xx headers) behind a SW-DP
 * 0x0BC11477; DBG at 0x40015800 (DBG_APB_FZ1 0x40015808, IWDG b12); RCC_CSR
 * at RCC + 0x60; reset on HSISYS 16 MHz (RM0444 2.2, 5.4.1, 40). */
#define G0_DIE                                                                                     \
    .family_name = "STM32G0", .clock = &sim_clock_g0, .cpuid = 0x410CC600,                         \
    .dp_idcode = 0x0BC11477, .cpu_model = UC_CPU_ARM_CORTEX_M0, .armv6m = true,                    \
    .idcode_addr = 0x40015800, .core_hz = 16000000, .flash_base = 0x08000000,                      \
    .flash_erased = 0xFF, .sram_base = 0x20000000, .sys = {{0x1FFF0000, 0x8000}},                  \
    .flash_size_reg = 0x1FFF75E0, .uid_addr = {0x1FFF7590, 0x1FFF7594, 0x1FFF7598},                \
    .page_size = 2048, .flash_regs = 0x40022000, .dbgmcu_cr = 0x40015804,                          \
    .dbgmcu_apb1_fz = 0x40015808, .iwdg_freeze_bit = 1u << 12, .rcc_base = 0x40021000,             \
    .rcc_csr = 0x40021060, .lsi_hz = 32000, .iwdg_winr = true

/* WB/WL CPU1: Cortex-M4 behind a SW-DP v2 (0x6BA02477); FLASH at
 * 0x58004000, RCC at 0x58000000 (RCC_CSR +0x94); DBGMCU at 0xE0042000 with
 * CPU1's APB1FZR1 at 0xE004203C (RM0434 38, RM0453 38); reset on MSI 4 MHz. */
#define WBL_DIE                                                                                    \
    .cpuid = 0x410FC241, .dp_idcode = 0x6BA02477, .cpu_model = UC_CPU_ARM_CORTEX_M4,               \
    .armv6m = false, .idcode_addr = 0xE0042000, .core_hz = 4000000, .flash_base = 0x08000000,      \
    .flash_erased = 0xFF, .sram_base = 0x20000000, .flash_size_reg = 0x1FFF75E0,                   \
    .uid_addr = {0x1FFF7590, 0x1FFF7594, 0x1FFF7598}, .flash_regs = 0x58004000,                    \
    .dbgmcu_cr = 0xE0042004, .dbgmcu_apb1_fz = 0xE004203C, .iwdg_freeze_bit = 1u << 12,            \
    .rcc_base = 0x58000000, .rcc_csr = 0x58000094, .lsi_hz = 32000, .iwdg_winr = true

static const sim_chip rows[] = {
    /* 0x464 L41x/L42x: 128 KiB, SRAM1 32 KiB + SRAM2 8 KiB */
    {
        L4_DIE,
        .name = "stm32l412rb",
        .flash = &sim_flash_l41x,
        .dev_id = 0x464,
        .rev_id = 0x1000,
        .flash_size = 128 * 1024,
        .sram_size = 32 * 1024,
        .sram2_size = 8 * 1024,
        .sys = {{0x1FFF0000, 0x8000}},
    },
    /* 0x435 L43x/L44x: 256 KiB, SRAM1 48 KiB + SRAM2 16 KiB */
    {
        L4_DIE,
        .name = "stm32l433rc",
        .flash = &sim_flash_l43x,
        .dev_id = 0x435,
        .rev_id = 0x1000,
        .flash_size = 256 * 1024,
        .sram_size = 48 * 1024,
        .sram2_size = 16 * 1024,
        .sys = {{0x1FFF0000, 0x8000}},
    },
    /* 0x462 L45x/L46x: 512 KiB, SRAM1 128 KiB + SRAM2 32 KiB */
    {
        L4_DIE,
        .name = "stm32l452re",
        .flash = &sim_flash_l45x,
        .dev_id = 0x462,
        .rev_id = 0x1000,
        .flash_size = 512 * 1024,
        .sram_size = 128 * 1024,
        .sram2_size = 32 * 1024,
        .sys = {{0x1FFF0000, 0x8000}},
    },
    /* 0x461 L49x/L4Ax: 1 MiB in two banks, SRAM1 256 KiB + SRAM2 64 KiB */
    {
        L4_DIE,
        .name = "stm32l496zg",
        .flash = &sim_flash_l4,
        .dev_id = 0x461,
        .rev_id = 0x1000,
        .flash_size = 1024 * 1024,
        .sram_size = 256 * 1024,
        .sram2_size = 64 * 1024,
        .sys = {{0x1FFF0000, 0x8000}, {0x1FFFF000, 0x1000}},
    },
    /* 0x466 G03x/G04x: 64 KiB, 8 KiB */
    {
        G0_DIE,
        .name = "stm32g031k8",
        .flash = &sim_flash_g0,
        .dev_id = 0x466,
        .rev_id = 0x1000,
        .flash_size = 64 * 1024,
        .sram_size = 8 * 1024,
    },
    /* 0x456 G05x/G06x: 64 KiB, 18 KiB */
    {
        G0_DIE,
        .name = "stm32g051k8",
        .flash = &sim_flash_g0,
        .dev_id = 0x456,
        .rev_id = 0x1000,
        .flash_size = 64 * 1024,
        .sram_size = 18 * 1024,
    },
    /* 0x460 G07x/G08x: 128 KiB, 36 KiB */
    {
        G0_DIE,
        .name = "stm32g071rb",
        .flash = &sim_flash_g07x,
        .dev_id = 0x460,
        .rev_id = 0x1000,
        .flash_size = 128 * 1024,
        .sram_size = 36 * 1024,
    },
    /* 0x468 G4 category 2: 128 KiB; SRAM1 16 + SRAM2 6 KiB, CCM 10 KiB */
    {
        G4_DIE,
        .name = "stm32g431rb",
        .flash = &sim_flash_g4c2,
        .dev_id = 0x468,
        .rev_id = 0x1000,
        .flash_size = 128 * 1024,
        .sram_size = 22 * 1024,
        .sram2_size = 10 * 1024,
    },
    /* 0x469 G4 category 3: 512 KiB (two banks of 2 KiB pages as shipped,
     * DBANK 1); SRAM1 80 + SRAM2 16 KiB, CCM 32 KiB */
    {
        G4_DIE,
        .name = "stm32g474re",
        .flash = &sim_flash_g4c3,
        .dev_id = 0x469,
        .rev_id = 0x1000,
        .flash_size = 512 * 1024,
        .sram_size = 96 * 1024,
        .sram2_size = 32 * 1024,
    },
    /* 0x479 G4 category 4: 512 KiB; SRAM1 80 + SRAM2 16 KiB, CCM 16 KiB */
    {
        G4_DIE,
        .name = "stm32g491re",
        .flash = &sim_flash_g4c4,
        .dev_id = 0x479,
        .rev_id = 0x1000,
        .flash_size = 512 * 1024,
        .sram_size = 96 * 1024,
        .sram2_size = 16 * 1024,
    },
    /* 0x495 WB55/WB35: 1 MiB of 4 KiB pages; SRAM1 192 KiB (SRAM2a/b,
     * partly CPU2's, not mapped [U]); options at 0x1FFF8000 */
    {
        WBL_DIE,
        .name = "stm32wb55rg",
        .family_name = "STM32WB",
        .flash = &sim_flash_wb,
        .clock = &sim_clock_wb,
        .dev_id = 0x495,
        .rev_id = 0x2001,
        .flash_size = 1024 * 1024,
        .sram_size = 192 * 1024,
        .page_size = 4096,
        .sys = {{0x1FFF0000, 0x9000}},
    },
    /* 0x497 WLE5/WL55: 256 KiB; SRAM1 32 + SRAM2 32 KiB */
    {
        WBL_DIE,
        .name = "stm32wl55jc",
        .family_name = "STM32WL",
        .flash = &sim_flash_wl,
        .clock = &sim_clock_wl,
        .dev_id = 0x497,
        .rev_id = 0x1001,
        .flash_size = 256 * 1024,
        .sram_size = 64 * 1024,
        .page_size = 2048,
        .sys = {{0x1FFF0000, 0x8000}},
    },
};

#define S(code, kib, die)                                                                          \
    {                                                                                              \
        code, kib, die, NULL                                                                       \
    }

/* SRAM per part: the datasheets' device summaries (SRAM1 + SRAM2 on the
 * L4; SRAM1 + SRAM2 + CCM alias on the G4 is the die's). G47x/G48x are
 * listed at 512 KiB only: their smaller parts leave a hole before bank 2,
 * not modelled. */
static const sim_part_line lines[] = {
    {"stm32l412", {S('8', 32, &rows[0]), S('b', 32, &rows[0])}},
    {"stm32l422", {S('b', 32, &rows[0])}},
    {"stm32l431", {S('b', 48, &rows[1]), S('c', 48, &rows[1])}},
    {"stm32l432", {S('b', 48, &rows[1]), S('c', 48, &rows[1])}},
    {"stm32l433", {S('b', 48, &rows[1]), S('c', 48, &rows[1])}},
    {"stm32l442", {S('c', 48, &rows[1])}},
    {"stm32l443", {S('c', 48, &rows[1])}},
    {"stm32l451", {S('c', 128, &rows[2]), S('e', 128, &rows[2])}},
    {"stm32l452", {S('c', 128, &rows[2]), S('e', 128, &rows[2])}},
    {"stm32l462", {S('e', 128, &rows[2])}},
    {"stm32l496", {S('g', 256, &rows[3])}},
    {"stm32l4a6", {S('g', 256, &rows[3])}},
    {"stm32g030", {S('6', 8, &rows[4]), S('8', 8, &rows[4])}},
    {"stm32g031", {S('4', 8, &rows[4]), S('6', 8, &rows[4]), S('8', 8, &rows[4])}},
    {"stm32g041", {S('6', 8, &rows[4]), S('8', 8, &rows[4])}},
    {"stm32g050", {S('6', 18, &rows[5]), S('8', 18, &rows[5])}},
    {"stm32g051", {S('6', 18, &rows[5]), S('8', 18, &rows[5])}},
    {"stm32g061", {S('6', 18, &rows[5]), S('8', 18, &rows[5])}},
    {"stm32g070", {S('b', 36, &rows[6])}},
    {"stm32g071", {S('8', 36, &rows[6]), S('b', 36, &rows[6])}},
    {"stm32g081", {S('b', 36, &rows[6])}},
    {"stm32g431", {S('6', 22, &rows[7]), S('8', 22, &rows[7]), S('b', 22, &rows[7])}},
    {"stm32g441", {S('b', 22, &rows[7])}},
    {"stm32g471", {S('e', 96, &rows[8])}},
    {"stm32g473", {S('e', 96, &rows[8])}},
    {"stm32g474", {S('e', 96, &rows[8])}},
    {"stm32g483", {S('e', 96, &rows[8])}},
    {"stm32g484", {S('e', 96, &rows[8])}},
    {"stm32g491", {S('c', 96, &rows[9]), S('e', 96, &rows[9])}},
    {"stm32g4a1", {S('e', 96, &rows[9])}},
    {"stm32wb55", {S('g', 192, &rows[10])}},
    {"stm32wl55", {S('c', 64, &rows[11])}},
    {"stm32wl54", {S('c', 64, &rows[11])}},
    {"stm32wle5", {S('c', 64, &rows[11])}},
    {"stm32wle4", {S('c', 64, &rows[11])}},
};

const sim_chip_series sim_series_l4g = {rows, sizeof rows / sizeof rows[0], lines,
                                        sizeof lines / sizeof lines[0]};
