/*
 * The STM32F1 rows of the chip table and their part lines (see
 * chip_table.h). Sources: RM0008 (F101/F102/F103/F105/F107) and RM0041
 * (F100 value line): memory map (section 3.3.1 / 3.1), DBGMCU (31.6 /
 * 28.6), device electronic signature (30 / 29); the CMSIS device headers
 * (FLASHSIZE_BASE, UID_BASE, OB_BASE, DBGMCU_BASE); SRAM per part and the
 * facts per DEV_ID from the fact sheet (docs/reference/stm32-f-series.md,
 * sections 1-3 and 7).
 */
#include "board_internal.h"
#include "chip_table.h"
#include "clock_tree.h"

#include <unicorn/unicorn.h>

/*
 * What every F10x die shares: Cortex-M3 r1p1 (CPUID 0x411FC231) behind a
 * SW-DP 0x1BA01477; DBGMCU_IDCODE at 0xE0042000 and the freeze bits in
 * DBGMCU_CR (DBG_IWDG_STOP b8); flash at 0x08000000 (erased 0xFF), its
 * FPEC at 0x40022000; SRAM at 0x20000000; flash size at 0x1FFFF7E0, UID
 * at 0x1FFFF7E8; RCC at 0x40021000 with RCC_CSR at +0x24; LSI 40 kHz; HSI
 * 8 MHz at reset. The IWDG has no window register.
 */
#define F1_DIE                                                                                     \
    .family_name = "STM32F1", .idcode_addr = 0xE0042000, .cpuid = 0x411FC231,                      \
    .dp_idcode = 0x1BA01477, .cpu_model = UC_CPU_ARM_CORTEX_M3, .armv6m = false,                   \
    .core_hz = 8000000, .flash_base = 0x08000000, .flash_erased = 0xFF, .sram_base = 0x20000000,   \
    .flash_size_reg = 0x1FFFF7E0, .uid_addr = {0x1FFFF7E8, 0x1FFFF7EC, 0x1FFFF7F0},                \
    .flash_regs = 0x40022000, .dbgmcu_cr = 0xE0042004, .dbgmcu_apb1_fz = 0xE0042004,               \
    .iwdg_freeze_bit = 1u << 8, .rcc_base = 0x40021000, .rcc_csr = 0x40021024, .lsi_hz = 40000

/* Boot ROM 0x1FFFF000 (2 KiB), flash size, UID and option bytes
 * (0x1FFFF800): one 4 KiB block, on every F10x but XL and connectivity. */
#define F1_SYS .sys = {{0x1FFFF000, 0x1000}}

/* REV_ID: the first revision of each die (RM0008 31.6.1, RM0041 28.6.1 as
 * remembered; the host does not key on it) [U], but for the F103xB's rev Y
 * the simulator has always answered. */
static const sim_chip rows[] = {
    /* 0x410 medium density, 1 KiB pages */
    {
        F1_DIE,
        F1_SYS,
        .flash = &sim_flash_f1,
        .name = "stm32f103rb",
        .clock = &sim_clock_f1,
        .dev_id = 0x410,
        .rev_id = 0x2003, /* rev Y */
        .flash_size = 128 * 1024,
        .sram_size = 20 * 1024,
        .page_size = 1024,
    },
    {
        F1_DIE,
        F1_SYS,
        .flash = &sim_flash_f1,
        .name = "stm32f101rb",
        .clock = &sim_clock_f101,
        .dev_id = 0x410,
        .rev_id = 0x2003,
        .flash_size = 128 * 1024,
        .sram_size = 16 * 1024,
        .page_size = 1024,
    },
    {
        F1_DIE,
        F1_SYS,
        .flash = &sim_flash_f1,
        .name = "stm32f102rb",
        .clock = &sim_clock_f102,
        .dev_id = 0x410,
        .rev_id = 0x2003,
        .flash_size = 128 * 1024,
        .sram_size = 16 * 1024,
        .page_size = 1024,
    },
    /* 0x412 low density, 1 KiB pages */
    {
        F1_DIE,
        F1_SYS,
        .flash = &sim_flash_f1,
        .name = "stm32f103r6",
        .clock = &sim_clock_f1,
        .dev_id = 0x412,
        .rev_id = 0x1000,
        .flash_size = 32 * 1024,
        .sram_size = 10 * 1024,
        .page_size = 1024,
    },
    {
        F1_DIE,
        F1_SYS,
        .flash = &sim_flash_f1,
        .name = "stm32f101r6",
        .clock = &sim_clock_f101,
        .dev_id = 0x412,
        .rev_id = 0x1000,
        .flash_size = 32 * 1024,
        .sram_size = 6 * 1024,
        .page_size = 1024,
    },
    {
        F1_DIE,
        F1_SYS,
        .flash = &sim_flash_f1,
        .name = "stm32f102r6",
        .clock = &sim_clock_f102,
        .dev_id = 0x412,
        .rev_id = 0x1000,
        .flash_size = 32 * 1024,
        .sram_size = 6 * 1024,
        .page_size = 1024,
    },
    /* 0x420 value line low/medium density, 1 KiB pages (RM0041) */
    {
        F1_DIE,
        F1_SYS,
        .flash = &sim_flash_f1,
        .name = "stm32f100rb",
        .clock = &sim_clock_f100,
        .dev_id = 0x420,
        .rev_id = 0x1000,
        .flash_size = 128 * 1024,
        .sram_size = 8 * 1024,
        .page_size = 1024,
    },
    /* 0x414 high density, 2 KiB pages */
    {
        F1_DIE,
        F1_SYS,
        .flash = &sim_flash_f1,
        .name = "stm32f103re",
        .clock = &sim_clock_f1,
        .dev_id = 0x414,
        .rev_id = 0x1000,
        .flash_size = 512 * 1024,
        .sram_size = 64 * 1024,
        .page_size = 2048,
    },
    {
        F1_DIE,
        F1_SYS,
        .flash = &sim_flash_f1,
        .name = "stm32f101re",
        .clock = &sim_clock_f101,
        .dev_id = 0x414,
        .rev_id = 0x1000,
        .flash_size = 512 * 1024,
        .sram_size = 48 * 1024,
        .page_size = 2048,
    },
    /* 0x430 XL density, 2 KiB pages, bank 2 from 512 KiB (RM0008 3.3.3);
     * boot ROM 0x1FFFE000 (6 KiB) */
    {
        F1_DIE,
        .sys = {{0x1FFFE000, 0x2000}},
        .flash = &sim_flash_f1_xl,
        .name = "stm32f103rg",
        .clock = &sim_clock_f1,
        .dev_id = 0x430,
        .rev_id = 0x1000,
        .flash_size = 1024 * 1024,
        .sram_size = 96 * 1024,
        .page_size = 2048,
    },
    {
        F1_DIE,
        .sys = {{0x1FFFE000, 0x2000}},
        .flash = &sim_flash_f1_xl,
        .name = "stm32f101rg",
        .clock = &sim_clock_f101,
        .dev_id = 0x430,
        .rev_id = 0x1000,
        .flash_size = 1024 * 1024,
        .sram_size = 80 * 1024,
        .page_size = 2048,
    },
    /* 0x418 connectivity line, 2 KiB pages; boot ROM 0x1FFFB000 (18 KiB) */
    {
        F1_DIE,
        .sys = {{0x1FFFB000, 0x5000}},
        .flash = &sim_flash_f1,
        .name = "stm32f107vc",
        .clock = &sim_clock_f105,
        .dev_id = 0x418,
        .rev_id = 0x1000,
        .flash_size = 256 * 1024,
        .sram_size = 64 * 1024,
        .page_size = 2048,
    },
    /* 0x428 value line high density, 2 KiB pages (RM0041) */
    {
        F1_DIE,
        F1_SYS,
        .flash = &sim_flash_f1,
        .name = "stm32f100re",
        .clock = &sim_clock_f100,
        .dev_id = 0x428,
        .rev_id = 0x1000,
        .flash_size = 512 * 1024,
        .sram_size = 32 * 1024,
        .page_size = 2048,
    },
};

#define F103B  (&rows[0])
#define F101B  (&rows[1])
#define F102B  (&rows[2])
#define F103_6 (&rows[3])
#define F101_6 (&rows[4])
#define F102_6 (&rows[5])
#define F100B  (&rows[6])
#define F103E  (&rows[7])
#define F101E  (&rows[8])
#define F103G  (&rows[9])
#define F101G  (&rows[10])
#define F105   (&rows[11])
#define F100E  (&rows[12])

/* Sizes and SRAM: fact sheet 3.2 (linker templates for the largest part of
 * each header, datasheets for the smaller ones [U there]). */
#define S(code, kib, die)                                                                          \
    {                                                                                              \
        code, kib, die, NULL                                                                       \
    }

static const sim_part_line lines[] = {
    {"stm32f100",
     {S('4', 4, F100B), S('6', 4, F100B), S('8', 8, F100B), S('b', 8, F100B), S('c', 24, F100E),
      S('d', 32, F100E), S('e', 32, F100E)}},
    {"stm32f101",
     {S('4', 4, F101_6), S('6', 6, F101_6), S('8', 10, F101B), S('b', 16, F101B), S('c', 32, F101E),
      S('d', 48, F101E), S('e', 48, F101E), S('f', 80, F101G), S('g', 80, F101G)}},
    {"stm32f102", {S('4', 4, F102_6), S('6', 6, F102_6), S('8', 10, F102B), S('b', 16, F102B)}},
    {"stm32f103",
     {S('4', 6, F103_6), S('6', 10, F103_6), S('8', 20, F103B), S('b', 20, F103B),
      S('c', 48, F103E), S('d', 64, F103E), S('e', 64, F103E), S('f', 96, F103G),
      S('g', 96, F103G)}},
    {"stm32f105", {S('8', 64, F105), S('b', 64, F105), S('c', 64, F105)}},
    {"stm32f107", {S('b', 64, F105), S('c', 64, F105)}},
};

const sim_chip_series sim_series_f1 = {rows, sizeof rows / sizeof rows[0], lines,
                                       sizeof lines / sizeof lines[0]};
