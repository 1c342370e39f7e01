/*
 * The STM32H7 rows of the chip table and their part lines (see
 * chip_table.h). Sources: RM0433 (H742/H743/H750/H753) and RM0468
 * (H723/H725/H730/H733/H735): memory map (2.3), embedded flash (4), RCC
 * reset register RCC_RSR (8.7.x), DBGMCU (60.5 / 63.5), device electronic
 * signature (61 / 64); the CMSIS H7 device headers (FLASH_R_BASE,
 * DBGMCU_BASE, UID_BASE, FLASHSIZE_BASE, D1_ITCMRAM_BASE, D1_DTCMRAM_BASE,
 * D1_AXISRAM_BASE, D2_AHBSRAM_BASE, D3_SRAM_BASE, IWDG1_BASE, RCC_BASE);
 * the facts per DEV_ID from the fact sheet (docs/reference/stm32-h7-sim.md).
 */
#include "board_internal.h"
#include "chip_table.h"
#include "clock_tree.h"

#include <unicorn/unicorn.h>

/* RCC_RSR (RCC + 0xD0, RM0433 8.7.x): RMVF b16, PINRSTF b22, PORRSTF b23,
 * SFTRSTF b24, IWDG1RSTF b26. */
static const struct sim_rst_bits h7_rsr = {1u << 16, 1u << 22, 1u << 23, 1u << 24, 1u << 26};

/*
 * What every H7 die shares: a Cortex-M7 behind a SW-DP 0x6BA02477 (DPv2;
 * OpenOCD's target/stm32h7x.cfg expects it); DBGMCU_IDCODE at 0x5C001000
 * as the core and the AHB-AP see it (the debug APB view at 0xE00E1000,
 * AP2, is not modelled), DBGMCU_CR at +0x04, the IWDG1 freeze
 * DBG_IWDG1 b18 of DBGMCU_APB4FZ1 at +0x54; flash at 0x08000000 (erased
 * 0xFF), its interface at 0x52002000; the core boots from BOOT_ADD0
 * (factory 0x08000000): no flash alias at 0, ITCM RAM there instead;
 * DTCM from 0x20000000 (the test programs and the host tools' loaders run
 * there: the Cortex-M7 fetches instructions from both TCMs, Cortex-M7 TRM
 * 5.1); system memory 0x1FF00000-0x1FF1FFFF with the UID at 0x1FF1E800 and
 * the flash size at 0x1FF1E880 (reads 0xFF elsewhere: the boot ROM's code
 * is not modelled); RCC at 0x58024400 with RCC_RSR at +0xD0; IWDG1 at
 * 0x58004800 with its window register; LSI 32 kHz; HSI 64 MHz at reset.
 */
#define H7_COMMON                                                                                  \
    .family_name = "STM32H7", .idcode_addr = 0x5C001000, .dp_idcode = 0x6BA02477,                  \
    .cpu_model = UC_CPU_ARM_CORTEX_M7, .armv6m = false, .core_hz = 64000000,                       \
    .flash_base = 0x08000000, .flash_erased = 0xFF, .sram_base = 0x20000000,                       \
    .sram_size = 128 * 1024, .flash_regs = 0x52002000, .dbgmcu_cr = 0x5C001004,                    \
    .dbgmcu_apb1_fz = 0x5C001054, .iwdg_freeze_bit = 1u << 18, .rcc_base = 0x58024400,             \
    .rcc_csr = 0x580244D0, .lsi_hz = 32000, .iwdg_winr = true, .iwdg_base = 0x58004800,            \
    .boot_base = 0x08000000, .rst_bits = &h7_rsr
#define H7_DIE                                                                                     \
    H7_COMMON, .page_size = 128 * 1024, .sys = {{0x1FF00000, 0x20000}},                            \
               .flash_size_reg = 0x1FF1E880, .uid_addr = {0x1FF1E800, 0x1FF1E804, 0x1FF1E808}

/*
 * The H7A3/H7B3/H7B0 die (RM0455; DS13195): as above, but 8 KiB sectors,
 * the UID at 0x08FFF800 and the flash size at 0x08FFF80C (RM0455 61.1/61.2,
 * a read-only block of its own, the CMSIS header's UID_BASE and
 * FLASHSIZE_BASE [U: from the H7A3 header as remembered; the same cells
 * as the H5's]), system memory 0x1FF00000 (128 KiB [U]). RCC_RSR at +0xD0
 * [U: RM0455 not read on this point].
 */
#define H7AB_DIE                                                                                   \
    H7_COMMON, .page_size = 8 * 1024, .sys = {{0x1FF00000, 0x20000}, {0x08FFF000, 0x1000}},        \
               .flash_size_reg = 0x08FFF80C, .uid_addr = {0x08FFF800, 0x08FFF804, 0x08FFF808}

/* REV_ID: revision V (0x2003) on H743, Z (0x1001) on H723 [U: the host
 * does not key on it]. CPUID 0x411FC271: Cortex-M7 r1p1 (fact sheet 1c,
 * header __CM7_REV 0x0101 [U]). */
static const sim_chip rows[] = {
    /* 0x450 H742/H743/H750/H753: 2 MiB in two banks of 8 x 128 KiB
     * sectors; ITCM 64 KiB at 0, DTCM 128 KiB, AXI SRAM 512 KiB at
     * 0x24000000, SRAM1/2/3 128 + 128 + 32 KiB from 0x30000000, SRAM4 64
     * KiB at 0x38000000 (RM0433 2.3.2 memory map). Backup SRAM
     * (0x38800000) is not mapped. */
    {
        H7_DIE,
        .name = "stm32h743zi",
        .flash = &sim_flash_h743,
        .clock = &sim_clock_h743,
        .dev_id = 0x450,
        .rev_id = 0x2003,
        .cpuid = 0x411FC271,
        .flash_size = 2048 * 1024,
        .ram = {{0x00000000, 64 * 1024},
                {0x24000000, 512 * 1024},
                {0x30000000, 288 * 1024},
                {0x38000000, 64 * 1024}},
    },
    /* 0x483 H723/H725/H730/H733/H735: 1 MiB, one bank of 8 x 128 KiB
     * sectors; with TCM_AXI_SHARED at its factory value ITCM 64 KiB and AXI
     * SRAM 128 + 192 = 320 KiB; SRAM1/2 16 + 16 KiB from 0x30000000, SRAM4
     * 16 KiB at 0x38000000 (RM0468 2.3.2 [U: sizes from DS13313's summary
     * as remembered]). */
    {
        H7_DIE,
        .name = "stm32h723zg",
        .flash = &sim_flash_h723,
        .clock = &sim_clock_h723,
        .dev_id = 0x483,
        .rev_id = 0x1001,
        .cpuid = 0x411FC271,
        .flash_size = 1024 * 1024,
        .ram = {{0x00000000, 64 * 1024},
                {0x24000000, 320 * 1024},
                {0x30000000, 32 * 1024},
                {0x38000000, 16 * 1024}},
    },
    /* 0x480 H7A3/H7B3/H7B0: 2 MiB in two banks of 128 x 8 KiB sectors,
     * 128-bit flash words; ITCM 64 KiB at 0, DTCM 128 KiB, AXI SRAM1-3
     * 256 + 384 + 384 KiB from 0x24000000 (1 MiB), AHB SRAM1/2 64 + 64 KiB
     * from 0x30000000, SRD SRAM 32 KiB at 0x38000000 (DS13195 memory
     * summary "1.4 Mbytes of RAM"; addresses RM0455 2.3 [U: sub-block
     * boundaries not re-read]). CPUID 0x411FC272 (Cortex-M7 r1p2 [U]);
     * REV_ID 0x1003 [U]. */
    {
        H7AB_DIE,
        .name = "stm32h7a3zi",
        .flash = &sim_flash_h7a3,
        .clock = &sim_clock_h7a3,
        .dev_id = 0x480,
        .rev_id = 0x1003,
        .cpuid = 0x411FC272,
        .flash_size = 2048 * 1024,
        .ram = {{0x00000000, 64 * 1024},
                {0x24000000, 1024 * 1024},
                {0x30000000, 128 * 1024},
                {0x38000000, 32 * 1024}},
    },
};

#define H743 (&rows[0])
#define H723 (&rows[1])
#define H7A3 (&rows[2])
#define S(code, kib, die)                                                                          \
    {                                                                                              \
        code, kib, die, NULL                                                                       \
    }

/* Sizes: the parts' ordering information. The 1 MiB H742/H743/H753 (xG)
 * put bank 2 at 0x08100000 too, leaving a hole after bank 1: the board's
 * flash is one block, so those sizes are not offered. The H750xB (128
 * KiB) is one sector in bank 1 (sim_flash_h750). SRAM: the DTCM from
 * 0x20000000 (the other blocks are the row's). */
static const sim_part_line lines[] = {
    {"stm32h742", {S('i', 128, H743)}},
    {"stm32h743", {S('i', 128, H743)}},
    {"stm32h753", {S('i', 128, H743)}},
    {"stm32h750", {{'b', 128, H743, &sim_flash_h750}}},
    {"stm32h723", {{'e', 128, H723, NULL}, S('g', 128, H723)}},
    {"stm32h725", {{'e', 128, H723, NULL}, S('g', 128, H723)}},
    {"stm32h730", {S('b', 128, H723)}},
    {"stm32h733", {S('g', 128, H723)}},
    {"stm32h735", {S('g', 128, H723)}},
    /* H7A3/H7B3 xI (2 MiB); the xG (1 MiB) has bank 2 at 0x08100000 too
     * (a hole, as the H743xG); H7B0xB: 128 KiB, one bank of 16 sectors
     * (sim_flash_h7b0). */
    {"stm32h7a3", {S('i', 128, H7A3)}},
    {"stm32h7b3", {S('i', 128, H7A3)}},
    {"stm32h7b0", {{'b', 128, H7A3, &sim_flash_h7b0}}},
};

const sim_chip_series sim_series_h7 = {rows, sizeof rows / sizeof rows[0], lines,
                                       sizeof lines / sizeof lines[0]};
