/*
 * The STM32H5 rows of the chip table and their part lines (see
 * chip_table.h). Sources: RM0481 (H56x/H57x, H52x/H53x) and RM0492 (H503):
 * memory map, embedded flash (section 7), RCC, DBGMCU, device electronic
 * signature; the CMSIS headers stm32h563xx.h / stm32h503xx.h (FLASH_R_BASE_NS,
 * DBGMCU_BASE, UID_BASE, FLASHSIZE_BASE, RCC_BASE_NS, IWDG_BASE_NS) and the ST
 * SVD files (DBGMCU, RCC_RSR); OpenOCD's target/stm32h5x.cfg (after 0.12)
 * for the SW-DP IDCODE and the access ports. Facts and doubts:
 * docs/reference/stm32-h5-sim.md.
 */
#include "board_internal.h"
#include "chip_table.h"
#include "clock_tree.h"

#include <unicorn/unicorn.h>

/* RCC_RSR (RCC + 0xF4): RMVF b23, PINRSTF b26, BORRSTF b27 (the power-on
 * flag: the H5 has no PORRSTF), SFTRSTF b28, IWDGRSTF b29. */
static const struct sim_rst_bits h5_rsr = {1u << 23, 1u << 26, 1u << 27, 1u << 28, 1u << 29};

/*
 * What every H5 die shares: a Cortex-M33 (CPUID 0x410FD214, r0p4 [U: the
 * CMSIS header says __CM33_REV 0]) behind a SW-DP DPv2 0x0BE12477 (as
 * OpenOCD's stm32h5x.cfg expects; JTAG 0x0BA04477, RM0481 "JTAG debug
 * port"). The system AHB-AP is AP1; AP0 is the debug APB-AP, where the
 * DBGMCU appears at 0xE0044000 (mem_ap, below; the probe serves AP0's
 * view). DBGMCU_IDCODE at 0x44024000 as the core and the AHB-AP see it,
 * DBGMCU_CR +0x04, DBGMCU_APB1LFZR +0x08 with DBG_IWDG_STOP b12; flash at
 * 0x08000000 (erased 0xFF), its non-secure interface at 0x40022000; the
 * core boots from NSBOOTADD (factory 0x08000000): no flash alias at 0 [U:
 * the code region at 0 is not mapped here]; SRAM1/2/3 contiguous from
 * 0x20000000; the UID at 0x08FFF800 and the flash size (KiB) at 0x08FFF80C
 * in the 4 KiB after OTP (0x08FFF000, 2 KiB, not programmable here); RCC
 * at 0x44020C00 with RCC_RSR at +0xF4; IWDG at 0x40003000 with its window
 * register; LSI 32 kHz; HSI 64 MHz divided by 2 at reset (32 MHz, see
 * clock_trees_h5.c).
 */
#define H5_DIE                                                                                     \
    .family_name = "STM32H5", .flash = &sim_flash_h5, .clock = &sim_clock_h5,                      \
    .idcode_addr = 0x44024000, .cpuid = 0x410FD214, .dp_idcode = 0x0BE12477,                       \
    .cpu_model = UC_CPU_ARM_CORTEX_M33, .armv6m = false, .core_hz = 32000000,                      \
    .flash_base = 0x08000000, .flash_erased = 0xFF, .page_size = 8 * 1024,                         \
    .sram_base = 0x20000000, .sys = {{0x08FFF000, 0x1000}}, .flash_size_reg = 0x08FFF80C,          \
    .uid_addr = {0x08FFF800, 0x08FFF804, 0x08FFF808}, .flash_regs = 0x40022000,                    \
    .dbgmcu_cr = 0x44024004, .dbgmcu_apb1_fz = 0x44024008, .iwdg_freeze_bit = 1u << 12,            \
    .rcc_base = 0x44020C00, .rcc_csr = 0x44020CF4, .lsi_hz = 32000, .iwdg_winr = true,             \
    .boot_base = 0x08000000, .rst_bits = &h5_rsr, .mem_ap = 1, .apb_dbgmcu = 0xE0044000

/* REV_ID [U: the host does not key on it]: 0x1001 (rev Z) on all three. */
static const sim_chip rows[] = {
    /* 0x484 H562/H563/H573: 2 MiB in two banks of 128 x 8 KiB sectors
     * (bank 2 from 0x08100000; at 1 MiB from 0x08080000); SRAM1 256 KiB +
     * SRAM2 64 KiB + SRAM3 320 KiB = 640 KiB. */
    {H5_DIE, .name = "stm32h563zi", .dev_id = 0x484, .rev_id = 0x1001, .flash_size = 2048 * 1024,
     .sram_size = 640 * 1024},
    /* 0x474 H503: 128 KiB in two banks of 8 x 8 KiB sectors; SRAM1 16 KiB
     * + SRAM2 16 KiB (RM0492 memory map). */
    {H5_DIE, .name = "stm32h503rb", .dev_id = 0x474, .rev_id = 0x1001, .flash_size = 128 * 1024,
     .sram_size = 32 * 1024},
    /* 0x478 H523/H533: 512 KiB in two banks of 32 x 8 KiB sectors; SRAM
     * 272 KiB (SRAM1 128 + SRAM2 80 + SRAM3 64 [U: datasheet summary as
     * remembered]). */
    {H5_DIE, .name = "stm32h533re", .dev_id = 0x478, .rev_id = 0x1001, .flash_size = 512 * 1024,
     .sram_size = 272 * 1024},
};

#define S(code, kib, die)                                                                          \
    {                                                                                              \
        code, kib, &rows[die], NULL                                                                \
    }

/* Sizes: the parts' ordering information (H562/H563 xG 1 MiB and xI 2 MiB,
 * H573 xI, H503 xB, H523/H533 xE) [U: H562 and H523 sizes not checked
 * against their datasheets]. */
static const sim_part_line lines[] = {
    {"stm32h562", {S('g', 640, 0), S('i', 640, 0)}},
    {"stm32h563", {S('g', 640, 0), S('i', 640, 0)}},
    {"stm32h573", {S('i', 640, 0)}},
    {"stm32h503", {S('b', 32, 1)}},
    {"stm32h523", {S('e', 272, 2)}},
    {"stm32h533", {S('e', 272, 2)}},
};

const sim_chip_series sim_series_h5 = {rows, sizeof rows / sizeof rows[0], lines,
                                       sizeof lines / sizeof lines[0]};
