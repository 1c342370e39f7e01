/*
 * The STM32F2 and STM32F4 rows of the chip table and their part lines
 * (see chip_table.h). Sources: RM0033 (F2), RM0090 (F405/F407/F42x),
 * RM0368 (F401), RM0383 (F411), RM0390 (F446), RM0430 (F413/F423): memory map, DBGMCU and
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
    .idcode_addr = 0xE0042000, .dp_idcode = 0x2BA01477, .armv6m = false, .core_hz = 16000000,      \
    .flash_base = 0x08000000, .flash_erased = 0xFF, .sram_base = 0x20000000,                       \
    .flash_size_reg = 0x1FFF7A22, .uid_addr = {0x1FFF7A10, 0x1FFF7A14, 0x1FFF7A18},                \
    .page_size = 16 * 1024, .flash_regs = 0x40023C00, .dbgmcu_cr = 0xE0042004,                     \
    .dbgmcu_apb1_fz = 0xE0042008, .iwdg_freeze_bit = 1u << 12, .rcc_base = 0x40023800,             \
    .rcc_csr = 0x40023874, .lsi_hz = 32000

/* The core of every F4 die. */
#define F4_M4 .family_name = "STM32F4", .cpuid = 0x410FC241, .cpu_model = UC_CPU_ARM_CORTEX_M4

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
        F4_M4,
        .flash = &sim_flash_f4,
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
        F4_M4,
        .flash = &sim_flash_f4,
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
        F4_M4,
        .flash = &sim_flash_f4,
        F4_SYS,
        .name = "stm32f411re",
        .clock = &sim_clock_f411,
        .dev_id = 0x431,
        .rev_id = 0x1000,
        .flash_size = 512 * 1024,
        .sram_size = 128 * 1024,
    },
    /* 0x423 F401xB/xC */
    {
        F4_DIE,
        F4_M4,
        .flash = &sim_flash_f4,
        F4_SYS,
        .name = "stm32f401rc",
        .clock = &sim_clock_f401,
        .dev_id = 0x423,
        .rev_id = 0x1000,
        .flash_size = 256 * 1024,
        .sram_size = 64 * 1024,
    },
    /* 0x458 F410 */
    {
        F4_DIE,
        F4_M4,
        .flash = &sim_flash_f4,
        F4_SYS,
        .name = "stm32f410rb",
        .clock = &sim_clock_f410,
        .dev_id = 0x458,
        .rev_id = 0x1000,
        .flash_size = 128 * 1024,
        .sram_size = 32 * 1024,
    },
    /* 0x441 F412 */
    {
        F4_DIE,
        F4_M4,
        F4_SYS,
        .name = "stm32f412zg",
        .flash = &sim_flash_f412,
        .clock = &sim_clock_f412,
        .dev_id = 0x441,
        .rev_id = 0x1000,
        .flash_size = 1024 * 1024,
        .sram_size = 256 * 1024,
    },
    /* 0x413 F405/F407/F415/F417: SRAM1 112 KiB + SRAM2 16 KiB at 0x2001C000,
     * one 128 KiB block */
    {
        F4_DIE,
        F4_M4,
        F4_SYS,
        .name = "stm32f407vg",
        .flash = &sim_flash_f2,
        .clock = &sim_clock_f40x,
        .dev_id = 0x413,
        .rev_id = 0x1000,
        .flash_size = 1024 * 1024,
        .sram_size = 128 * 1024,
    },
    /* 0x419 F427/F429/F437/F439: two banks at 2 MiB; SRAM1, SRAM2, SRAM3
     * (0x20020000) one 192 KiB block; bank 2's option image at 0x1FFEC000
     * (fact sheet 7, [U] there) */
    {
        F4_DIE,
        F4_M4,
        .sys = {{0x1FFF0000, 0x8000}, {0x1FFFC000, 0x1000}, {0x1FFEC000, 0x1000}},
        .name = "stm32f429zi",
        .flash = &sim_flash_f4_db,
        .clock = &sim_clock_f42x,
        .dev_id = 0x419,
        .rev_id = 0x1000,
        .flash_size = 2048 * 1024,
        .sram_size = 192 * 1024,
    },
    /* 0x434 F469/F479: as 0x419; SRAM 160 + 32 + 128 KiB in one block */
    {
        F4_DIE,
        F4_M4,
        .sys = {{0x1FFF0000, 0x8000}, {0x1FFFC000, 0x1000}, {0x1FFEC000, 0x1000}},
        .name = "stm32f469ni",
        .flash = &sim_flash_f4_db,
        .clock = &sim_clock_f469,
        .dev_id = 0x434,
        .rev_id = 0x1000,
        .flash_size = 2048 * 1024,
        .sram_size = 320 * 1024,
    },
    /* 0x411 F205/F207/F215/F217: Cortex-M3 r2p0 (CPUID 0x412FC230 [U],
     * fact sheet 1.1); SRAM1 112 KiB + SRAM2 16 KiB; otherwise as the F4 */
    {
        F4_DIE,
        F4_SYS,
        .name = "stm32f207zg",
        .family_name = "STM32F2",
        .flash = &sim_flash_f2,
        .clock = &sim_clock_f2,
        .dev_id = 0x411,
        .rev_id = 0x2000, /* rev B */
        .cpuid = 0x412FC230,
        .cpu_model = UC_CPU_ARM_CORTEX_M3,
        .flash_size = 1024 * 1024,
        .sram_size = 128 * 1024,
    },
    /* 0x463 F413/F423: SRAM1 256 KiB + SRAM2 64 KiB at 0x20040000, one
     * 320 KiB block (fact sheet 3.5); 1.5 MiB in 16 sectors */
    {
        F4_DIE,
        F4_M4,
        F4_SYS,
        .name = "stm32f413zh",
        .flash = &sim_flash_f413,
        .clock = &sim_clock_f412,
        .dev_id = 0x463,
        .rev_id = 0x1000,
        .flash_size = 1536 * 1024,
        .sram_size = 320 * 1024,
    },
};

#define F446  (&rows[0])
#define F401E (&rows[1])
#define F411  (&rows[2])
#define F401C (&rows[3])
#define F410  (&rows[4])
#define F412  (&rows[5])
#define F40X  (&rows[6])
#define F42X  (&rows[7])
#define F469  (&rows[8])
#define F2    (&rows[9])
#define F413  (&rows[10])
/* A size of a line, and one of the F42x/F469 below 2 MiB, which are one
 * bank (RM0090 3.3). */
#define S(code, kib, die)                                                                          \
    {                                                                                              \
        code, kib, die, NULL                                                                       \
    }
#define S1(code, kib, die)                                                                         \
    {                                                                                              \
        code, kib, die, &sim_flash_f42x                                                            \
    }

/* Sizes and SRAM: fact sheet 3.3 and 3.5 (F205xB 64 KiB and F205xC
 * 96 KiB there are [U]). */
static const sim_part_line lines[] = {
    {"stm32f205",
     {S('b', 64, F2), S('c', 96, F2), S('e', 128, F2), S('f', 128, F2), S('g', 128, F2)}},
    {"stm32f207", {S('c', 128, F2), S('e', 128, F2), S('f', 128, F2), S('g', 128, F2)}},
    {"stm32f215", {S('e', 128, F2), S('g', 128, F2)}},
    {"stm32f217", {S('e', 128, F2), S('g', 128, F2)}},
    {"stm32f401", {S('b', 64, F401C), S('c', 64, F401C), S('d', 96, F401E), S('e', 96, F401E)}},
    {"stm32f405", {S('e', 128, F40X), S('g', 128, F40X)}},
    {"stm32f407", {S('e', 128, F40X), S('g', 128, F40X)}},
    {"stm32f410", {S('8', 32, F410), S('b', 32, F410)}},
    {"stm32f411", {S('c', 128, F411), S('e', 128, F411)}},
    {"stm32f412", {S('e', 256, F412), S('g', 256, F412)}},
    {"stm32f413", {S('g', 320, F413), S('h', 320, F413)}},
    {"stm32f415", {S('g', 128, F40X)}},
    {"stm32f417", {S('e', 128, F40X), S('g', 128, F40X)}},
    {"stm32f423", {S('h', 320, F413)}},
    {"stm32f427", {S1('g', 192, F42X), S('i', 192, F42X)}},
    {"stm32f429", {S1('e', 192, F42X), S1('g', 192, F42X), S('i', 192, F42X)}},
    {"stm32f437", {S1('g', 192, F42X), S('i', 192, F42X)}},
    {"stm32f439", {S1('g', 192, F42X), S('i', 192, F42X)}},
    {"stm32f446", {S('c', 128, F446), S('e', 128, F446)}},
    {"stm32f469", {S1('e', 320, F469), S1('g', 320, F469), S('i', 320, F469)}},
    {"stm32f479", {S1('g', 320, F469), S('i', 320, F469)}},
};

const sim_chip_series sim_series_f4 = {rows, sizeof rows / sizeof rows[0], lines,
                                       sizeof lines / sizeof lines[0]};
