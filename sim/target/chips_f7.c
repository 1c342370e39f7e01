/*
 * The STM32F7 rows of the chip table and their part lines (see
 * chip_table.h). Sources: RM0385 (F74x/F75x), RM0410 (F76x/F77x), RM0431
 * (F72x/F73x): memory map, DBGMCU and device electronic signature
 * chapters; the CMSIS F7 device headers (FLASHSIZE_BASE, UID_BASE,
 * FLASH_OTP_BASE, FLASHITCM_BASE, DBGMCU_BASE, RAMDTCM_BASE, SRAMx_BASE);
 * SRAM per part and the facts per DEV_ID from the fact sheet
 * (docs/reference/stm32-f-series.md, sections 1-3, 5 and 7).
 */
#include "board_internal.h"
#include "chip_table.h"
#include "clock_tree.h"

#include <unicorn/unicorn.h>

/*
 * What every F7 die shares: a Cortex-M7 behind a SW-DP 0x5BA02477 (fact
 * sheet 1.1); DBGMCU_IDCODE at 0xE0042000, freeze bits in DBGMCU_APB1_FZ
 * (DBG_IWDG_STOP b12); flash at 0x08000000 (erased 0xFF) on AXIM and again
 * at 0x00200000 on ITCM (FLASHITCM_BASE), its interface at 0x40023C00;
 * SRAM from 0x20000000: DTCM, then SRAM1 and SRAM2, one contiguous block
 * (fact sheet 3.6); RCC at 0x40023800 with RCC_CSR at +0x74; LSI 32 kHz;
 * HSI 16 MHz at reset (fact sheet 5). The IWDG has its window register
 * (CMSIS F7 IWDG_TypeDef WINR). The ITCM RAM at 0x00000000 and the boot
 * ROM (0x1FF00000 on AXIM, 0x00100000 on ITCM, fact sheet 7 [U]) are not
 * mapped: reads there fault, stricter than silicon.
 */
#define F7_DIE                                                                                     \
    .family_name = "STM32F7", .idcode_addr = 0xE0042000, .dp_idcode = 0x5BA02477,                  \
    .cpu_model = UC_CPU_ARM_CORTEX_M7, .armv6m = false, .core_hz = 16000000,                       \
    .flash_base = 0x08000000, .itcm_flash_base = 0x00200000, .flash_erased = 0xFF,                 \
    .sram_base = 0x20000000, .flash_regs = 0x40023C00, .dbgmcu_cr = 0xE0042004,                    \
    .dbgmcu_apb1_fz = 0xE0042008, .iwdg_freeze_bit = 1u << 12, .rcc_base = 0x40023800,             \
    .rcc_csr = 0x40023874, .lsi_hz = 32000, .iwdg_winr = true, .clock = &sim_clock_f7

/* F74x/F75x and F76x/F77x: OTP 0x1FF0F000-0x1FF0F41F, UID 0x1FF0F420,
 * flash size 0x1FF0F442 (RM0385 41.1, RM0410 45.1; fact sheet 2) in one
 * 4 KiB block; the option bytes' image at 0x1FFF0000 (fact sheet 7, [U]
 * there). */
#define F7_SYS_0F                                                                                  \
    .sys = {{0x1FF0F000, 0x1000}, {0x1FFF0000, 0x1000}}, .flash_size_reg = 0x1FF0F442,             \
    .uid_addr = {0x1FF0F420, 0x1FF0F424, 0x1FF0F428}

/* REV_ID: the first revision (the host does not key on it) [U]. */
static const sim_chip rows[] = {
    /* 0x449 F745/F746/F750/F756: Cortex-M7 r0p1 (CPUID 0x410FC271 [U],
     * fact sheet 1.1); DTCM 64 KiB + SRAM1 240 KiB + SRAM2 16 KiB = 320
     * KiB; 4 x 32 KiB, 128 KiB, 3 x 256 KiB sectors at 1 MiB */
    {
        F7_DIE,
        F7_SYS_0F,
        .name = "stm32f746zg",
        .flash = &sim_flash_f7,
        .dev_id = 0x449,
        .rev_id = 0x1000,
        .cpuid = 0x410FC271,
        .flash_size = 1024 * 1024,
        .page_size = 32 * 1024,
        .sram_size = 320 * 1024,
    },
    /* 0x451 F765/F767/F768/F769/F777/F778/F779: Cortex-M7 r1p0 (CPUID
     * 0x411FC270 [U]); DTCM 128 KiB + SRAM1 368 KiB + SRAM2 16 KiB = 512
     * KiB; single bank (nDBANK = 1, factory) 4 x 32 KiB, 128 KiB, 7 x 256
     * KiB at 2 MiB, so the smallest sector is 32 KiB until the options
     * choose two banks of 16 KiB-sector layout */
    {
        F7_DIE,
        F7_SYS_0F,
        .name = "stm32f767zi",
        .flash = &sim_flash_f7_76x,
        .dev_id = 0x451,
        .rev_id = 0x1000,
        .cpuid = 0x411FC270,
        .flash_size = 2048 * 1024,
        .page_size = 32 * 1024,
        .sram_size = 512 * 1024,
    },
    /* 0x452 F722/F723/F730/F732/F733: Cortex-M7 r1p0 (CPUID 0x411FC270
     * [U]); DTCM 64 KiB + SRAM1 176 KiB + SRAM2 16 KiB = 256 KiB; OTP
     * 0x1FF07800-0x1FF07A0F, UID 0x1FF07A10, flash size 0x1FF07A22 (CMSIS
     * F72x headers, fact sheet 2) in one 4 KiB block; 4 x 16 KiB, 64 KiB,
     * 3 x 128 KiB sectors at 512 KiB */
    {
        F7_DIE,
        .sys = {{0x1FF07000, 0x1000}, {0x1FFF0000, 0x1000}},
        .flash_size_reg = 0x1FF07A22,
        .uid_addr = {0x1FF07A10, 0x1FF07A14, 0x1FF07A18},
        .name = "stm32f722ze",
        .flash = &sim_flash_f7_72x,
        .dev_id = 0x452,
        .rev_id = 0x1000,
        .cpuid = 0x411FC270,
        .flash_size = 512 * 1024,
        .page_size = 16 * 1024,
        .sram_size = 256 * 1024,
    },
};

#define F74X (&rows[0])
#define F76X (&rows[1])
#define F72X (&rows[2])
#define S(code, kib, die)                                                                          \
    {                                                                                              \
        code, kib, die, NULL                                                                       \
    }

/* Sizes and SRAM: fact sheet 1 (DEV_ID table) and 3.6. F750 and F730
 * (value lines, 64 KiB: 2 x 32 KiB and 4 x 16 KiB sectors) have their
 * die's SRAM. The F768/F778 (WLCSP only) and F777/F779 are taken as xI
 * only, F732/F733 as xE only, F756 as xG only [U: datasheet ordering
 * tables not read; a code outside them is refused]. */
static const sim_part_line lines[] = {
    {"stm32f745", {S('e', 320, F74X), S('g', 320, F74X)}},
    {"stm32f746", {S('e', 320, F74X), S('g', 320, F74X)}},
    {"stm32f750", {S('8', 320, F74X)}},
    {"stm32f756", {S('g', 320, F74X)}},
    {"stm32f765", {S('g', 512, F76X), S('i', 512, F76X)}},
    {"stm32f767", {S('g', 512, F76X), S('i', 512, F76X)}},
    {"stm32f768", {S('i', 512, F76X)}},
    {"stm32f769", {S('g', 512, F76X), S('i', 512, F76X)}},
    {"stm32f777", {S('i', 512, F76X)}},
    {"stm32f778", {S('i', 512, F76X)}},
    {"stm32f779", {S('i', 512, F76X)}},
    {"stm32f722", {S('c', 256, F72X), S('e', 256, F72X)}},
    {"stm32f723", {S('c', 256, F72X), S('e', 256, F72X)}},
    {"stm32f730", {S('8', 256, F72X)}},
    {"stm32f732", {S('e', 256, F72X)}},
    {"stm32f733", {S('e', 256, F72X)}},
};

const sim_chip_series sim_series_f7 = {rows, sizeof rows / sizeof rows[0], lines,
                                       sizeof lines / sizeof lines[0]};
