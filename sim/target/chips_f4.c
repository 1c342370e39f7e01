/*
 * The STM32F2 and STM32F4 rows of the chip table and their part lines
 * (see chip_table.h). Sources: RM0033 (F2), RM0090 (F405/F407/F42x),
 * RM0368 (F401), RM0383 (F411), RM0390 (F446): memory map, DBGMCU and
 * device electronic signature chapters; the CMSIS device headers
 * (FLASHSIZE_BASE, UID_BASE, FLASH_OTP_BASE, DBGMCU_BASE); SRAM per part
 * and the facts per DEV_ID from the fact sheet
 * (docs/reference/stm32-f-series.md, sections 1-3 and 7).
 */
#include "board_internal.h"
#include "chip_table.h"
#include "clock_tree.h"

#include <unicorn/unicorn.h>

/*
 * What every F4 die shares: Cortex-M4F r0p1 (CPUID 0x410FC241, RM0090
 * 38.6.3) behind a SW-DP 0x2BA01477; DBGMCU_IDCODE at 0xE0042000, freeze
 * bits in DBGMCU_APB1_FZ (DBG_IWDG_STOP b12); flash at 0x08000000 (erased
 * 0xFF), its interface at 0x40023C00, smallest sector 16 KiB; SRAM at
 * 0x20000000; UID at 0x1FFF7A10, flash size at 0x1FFF7A22 (RM0090 39.1-
 * 39.2); RCC at 0x40023800 with RCC_CSR at +0x74; LSI 32 kHz; HSI 16 MHz
 * at reset. The IWDG has no window register. CCM data RAM (0x10000000 on
 * F405/F407/F42x/F469) is not mapped [U]: stricter than silicon.
 */
#define F4_DIE                                                                                     \
    .family_name = "STM32F4", .flash = &sim_flash_f4, .idcode_addr = 0xE0042000,                   \
    .cpuid = 0x410FC241, .dp_idcode = 0x2BA01477, .cpu_model = UC_CPU_ARM_CORTEX_M4,               \
    .armv6m = false, .core_hz = 16000000, .flash_base = 0x08000000, .flash_erased = 0xFF,          \
    .sram_base = 0x20000000, .flash_size_reg = 0x1FFF7A22,                                         \
    .uid_addr = {0x1FFF7A10, 0x1FFF7A14, 0x1FFF7A18}, .page_size = 16 * 1024,                      \
    .flash_regs = 0x40023C00, .dbgmcu_cr = 0xE0042004, .dbgmcu_apb1_fz = 0xE0042008,               \
    .iwdg_freeze_bit = 1u << 12, .rcc_base = 0x40023800, .rcc_csr = 0x40023874, .lsi_hz = 32000

/* Boot ROM 0x1FFF0000 (30 KiB), OTP 0x1FFF7800-0x1FFF7A0F, UID, flash size
 * (one 32 KiB block); the option bytes' image at 0x1FFFC000 (fact sheet 7;
 * the image address is [U] there). */
#define F4_SYS .sys = {{0x1FFF0000, 0x8000}, {0x1FFFC000, 0x1000}}

/* REV_ID: the first revision of each die (RM DBGMCU_IDCODE sections as
 * remembered; the host does not key on it) [U]. */
static const sim_chip rows[] = {
    /* 0x421 F446 */
    {
        F4_DIE,
        F4_SYS,
        .name = "stm32f446re",
        .clock = &sim_clock_f446,
        .dev_id = 0x421,
        .rev_id = 0x1000,
        .flash_size = 512 * 1024,
        .sram_size = 128 * 1024,
    },
    /* 0x433 F401xD/xE */
    {
        F4_DIE,
        F4_SYS,
        .name = "stm32f401re",
        .clock = &sim_clock_f401,
        .dev_id = 0x433,
        .rev_id = 0x1000,
        .flash_size = 512 * 1024,
        .sram_size = 96 * 1024,
    },
    /* 0x431 F411 */
    {
        F4_DIE,
        F4_SYS,
        .name = "stm32f411re",
        .clock = &sim_clock_f411,
        .dev_id = 0x431,
        .rev_id = 0x1000,
        .flash_size = 512 * 1024,
        .sram_size = 128 * 1024,
    },
};

#define F446  (&rows[0])
#define F401E (&rows[1])
#define F411  (&rows[2])

/* Sizes and SRAM: fact sheet 3.5. */
static const sim_part_line lines[] = {
    {"stm32f401", {{'e', 96, F401E}}},
    {"stm32f411", {{'e', 128, F411}}},
    {"stm32f446", {{'e', 128, F446}}},
};

const sim_chip_series sim_series_f4 = {rows, sizeof rows / sizeof rows[0], lines,
                                       sizeof lines / sizeof lines[0]};
