/*
 * The STM32L0 and STM32L1 rows of the chip table (see chip_table.h): every
 * L0 category (DEV_ID 0x457, 0x425, 0x417, 0x447) and every L1 category
 * (0x416, 0x429, 0x427, 0x436, 0x437).
 *
 * Addresses and identities: RM0377/RM0367 (L0) and RM0038 (L1) memory maps,
 * DBGMCU and unique-ID chapters, the CMSIS headers (FLASHSIZE_BASE, UID_BASE,
 * FLASH_R_BASE, DBGMCU_BASE, FLASH_EEPROM_BASE/END, SRAM sizes of the IAR
 * templates). Flash, SRAM and data EEPROM per part: the datasheets' device
 * summary tables. Clocks: the reset clock is MSI range 5, 2.097 MHz.
 * The STM32L010 value line (smaller data EEPROM on the same dies) and the
 * L1 "-A"/"-X" suffixes beyond the rows named here are not modelled.
 */
#include "board_internal.h"
#include "chip_table.h"
#include "clock_tree.h"

#include <unicorn/unicorn.h>

/* What every L0 shares: Cortex-M0+ (CPUID r0p1 as silicon reports it [U]),
 * SW-DP 0x0BC11477, DBGMCU on the APB at 0x40015800 (APB1_FZ DBG_IWDG_STOP
 * b12), RCC at 0x40021000 (CSR +0x50), NVM at 0x40022000, boot ROM at
 * 0x1FF00000, info block at 0x1FF80000 (options; UID +0x50, +0x54, +0x64;
 * flash size +0x7C), data EEPROM at 0x08080000, LSI 38 kHz. */
#define L0_COMMON                                                                                  \
    .family_name = "STM32L0", .clock = &sim_clock_l0, .idcode_addr = 0x40015800,                   \
    .cpuid = 0x410CC601, .dp_idcode = 0x0BC11477, .cpu_model = UC_CPU_ARM_CORTEX_M0,               \
    .armv6m = true, .core_hz = 2097000, .flash_base = 0x08000000, .flash_erased = 0x00,            \
    .sram_base = 0x20000000, .sys = {{0x1FF00000, 0x1000}, {0x1FF80000, 0x1000}},                  \
    .flash_size_reg = 0x1FF8007C, .uid_addr = {0x1FF80050, 0x1FF80054, 0x1FF80064},                \
    .page_size = 128, .eeprom_base = 0x08080000, .flash_regs = 0x40022000,                         \
    .dbgmcu_cr = 0x40015804, .dbgmcu_apb1_fz = 0x40015808, .iwdg_freeze_bit = 1u << 12,            \
    .rcc_base = 0x40021000, .rcc_csr = 0x40021050, .lsi_hz = 38000, .iwdg_winr = true

/* What every L1 shares: Cortex-M3 r2p0 (CMSIS __CM3_REV [U on silicon]),
 * SW-DP 0x2BA01477, DBGMCU at 0xE0042000 (APB1_FZ DBG_IWDG_STOP b12), RCC
 * at 0x40023800 (CSR +0x34), NVM at 0x40023C00 (RM0038 2.3 memory map), info
 * block at 0x1FF80000, data EEPROM at 0x08080000, LSI 37 kHz (datasheet
 * "LSI oscillator characteristics", typ). The L1 IWDG has no WINR. */
#define L1_COMMON                                                                                  \
    .family_name = "STM32L1", .clock = &sim_clock_l1, .idcode_addr = 0xE0042000,                   \
    .cpuid = 0x412FC230, .dp_idcode = 0x2BA01477, .cpu_model = UC_CPU_ARM_CORTEX_M3,               \
    .armv6m = false, .core_hz = 2097000, .flash_base = 0x08000000, .flash_erased = 0x00,           \
    .sram_base = 0x20000000, .page_size = 256, .eeprom_base = 0x08080000,                          \
    .flash_regs = 0x40023C00, .dbgmcu_cr = 0xE0042004, .dbgmcu_apb1_fz = 0xE0042008,               \
    .iwdg_freeze_bit = 1u << 12, .rcc_base = 0x40023800, .rcc_csr = 0x40023834, .lsi_hz = 37000,   \
    .iwdg_winr = false
/* Cat 1 and 2: 4 KiB boot ROM; flash size at 0x1FF8004C, UID 0x1FF80050
 * (+0, +4, +0x14). Cat 3 to 6: 8 KiB boot ROM; flash size 0x1FF800CC, UID
 * 0x1FF800D0 (RM0038 31.1, 31.2). */
#define L1_SMALL_INFO                                                                              \
    .sys = {{0x1FF00000, 0x1000}, {0x1FF80000, 0x1000}}, .flash_size_reg = 0x1FF8004C,             \
    .uid_addr = {0x1FF80050, 0x1FF80054, 0x1FF80064}
#define L1_LARGE_INFO                                                                              \
    .sys = {{0x1FF00000, 0x2000}, {0x1FF80000, 0x1000}}, .flash_size_reg = 0x1FF800CC,             \
    .uid_addr = {0x1FF800D0, 0x1FF800D4, 0x1FF800E4}

static const sim_chip rows[] = {
    /* L0 category 1 (L011/L021): 16 KiB, 2 KiB SRAM, 512 B data EEPROM */
    {L0_COMMON, .name = "stm32l011k4", .flash = &sim_flash_l0, .dev_id = 0x457, .rev_id = 0x1000,
     .flash_size = 16 * 1024, .sram_size = 2 * 1024, .eeprom_size = 512},
    /* L0 category 2 (L031/L041): 32 KiB, 8 KiB SRAM, 1 KiB data EEPROM */
    {L0_COMMON, .name = "stm32l031k6", .flash = &sim_flash_l0, .dev_id = 0x425, .rev_id = 0x1000,
     .flash_size = 32 * 1024, .sram_size = 8 * 1024, .eeprom_size = 1024},
    /* L0 category 3 (L05x/L06x): 64 KiB, 8 KiB SRAM, 2 KiB data EEPROM
     * (RM0367, the first L0 row, unchanged) */
    {L0_COMMON, .name = "stm32l053r8", .flash = &sim_flash_l0, .dev_id = 0x417, .rev_id = 0x1000,
     .flash_size = 64 * 1024, .sram_size = 8 * 1024, .eeprom_size = 2048},
    /* L0 category 5 (L07x/L08x): 192 KiB in two banks, 20 KiB SRAM, 6 KiB
     * data EEPROM in two banks */
    {L0_COMMON, .name = "stm32l073rz", .flash = &sim_flash_l0_cat5, .dev_id = 0x447,
     .rev_id = 0x1000, .flash_size = 192 * 1024, .sram_size = 20 * 1024, .eeprom_size = 6144},

    /* L1 category 1 (L151/L152 x6/x8/xB): 128 KiB, 16 KiB SRAM, 4 KiB EEPROM */
    {L1_COMMON, L1_SMALL_INFO, .name = "stm32l152rb", .flash = &sim_flash_l1_cat1, .dev_id = 0x416,
     .rev_id = 0x1000, .flash_size = 128 * 1024, .sram_size = 16 * 1024, .eeprom_size = 4096},
    /* L1 category 3 (xC): 256 KiB, 32 KiB SRAM, 8 KiB EEPROM */
    {L1_COMMON, L1_LARGE_INFO, .name = "stm32l152rc", .flash = &sim_flash_l1_cat3, .dev_id = 0x427,
     .rev_id = 0x1018, .flash_size = 256 * 1024, .sram_size = 32 * 1024, .eeprom_size = 8192},
    /* L1 category 4 (xD): 384 KiB in two banks of 192 KiB, 48 KiB SRAM,
     * 12 KiB EEPROM; the flash-size cell holds a code (0 = 384 KiB) */
    {L1_COMMON, L1_LARGE_INFO, .name = "stm32l152vd", .flash = &sim_flash_l1_cat4, .dev_id = 0x436,
     .rev_id = 0x1008, .flash_size = 384 * 1024, .sram_size = 48 * 1024, .eeprom_size = 12288},
    /* L1 category 5 (xE): 512 KiB in two banks of 256 KiB, 80 KiB SRAM,
     * 16 KiB EEPROM */
    {L1_COMMON, L1_LARGE_INFO, .name = "stm32l152re", .flash = &sim_flash_l1_cat5, .dev_id = 0x437,
     .rev_id = 0x1000, .flash_size = 512 * 1024, .sram_size = 80 * 1024, .eeprom_size = 16384},
    /* (Last, so that the part lines' row indices stay put.) L1 category 2 (0x429, the "-A" parts,
     * ordering codes such as STM32L152RBT6A): 128 KiB, 32 KiB SRAM (IAR template of the L151xBA
     * [LK]), 4 KiB EEPROM; cat 1's info block, but only the low byte of
     * the flash-size cell is valid (RM0038 31.1.1 note, HAL-L1 FLASH_SIZE
     * [U: RM text through the fact sheet]). Named by its ordering code
     * without package and temperature letters and the dash: "stm32l152rba";
     * its lines are "stm32l151-a" and "stm32l152-a". */
    {L1_COMMON, L1_SMALL_INFO, .name = "stm32l152rba", .flash = &sim_flash_l1_cat2, .dev_id = 0x429,
     .rev_id = 0x1018, .flash_size = 128 * 1024, .sram_size = 32 * 1024, .eeprom_size = 4096},
};

#define S(code, kib, die)                                                                          \
    {                                                                                              \
        code, kib, &rows[die], NULL                                                                \
    }

/* Ordering codes per line: size letter, SRAM KiB (datasheet device
 * summaries), die. */
static const sim_part_line lines[] = {
    {"stm32l011", {S('3', 2, 0), S('4', 2, 0)}},
    {"stm32l021", {S('4', 2, 0)}},
    {"stm32l031", {S('4', 8, 1), S('6', 8, 1)}},
    {"stm32l041", {S('6', 8, 1)}},
    {"stm32l051", {S('6', 8, 2), S('8', 8, 2)}},
    {"stm32l052", {S('6', 8, 2), S('8', 8, 2)}},
    {"stm32l053", {S('6', 8, 2), S('8', 8, 2)}},
    {"stm32l062", {S('8', 8, 2)}},
    {"stm32l063", {S('8', 8, 2)}},
    {"stm32l071", {S('8', 20, 3), S('b', 20, 3), S('z', 20, 3)}},
    {"stm32l072", {S('8', 20, 3), S('b', 20, 3), S('z', 20, 3)}},
    {"stm32l073", {S('8', 20, 3), S('b', 20, 3), S('z', 20, 3)}},
    {"stm32l081", {S('b', 20, 3), S('z', 20, 3)}},
    {"stm32l082", {S('b', 20, 3), S('z', 20, 3)}},
    {"stm32l083", {S('8', 20, 3), S('b', 20, 3), S('z', 20, 3)}},
    /* L1 cat 1 (the codes without "-A"): x6/x8 10 KiB SRAM, xB 16 KiB */
    {"stm32l151",
     {S('6', 10, 4), S('8', 10, 4), S('b', 16, 4), S('c', 32, 5), S('d', 48, 6), S('e', 80, 7)}},
    {"stm32l152",
     {S('6', 10, 4), S('8', 10, 4), S('b', 16, 4), S('c', 32, 5), S('d', 48, 6), S('e', 80, 7)}},
    {"stm32l162", {S('c', 32, 5), S('d', 48, 6), S('e', 80, 7)}},
    /* L1 cat 2, the "-A" parts (fact sheet 3.11: L151/L152xBA 32 KiB
     * [LK]); the x6-A/x8-A SRAM is not in the fact sheet: xB only. */
    {"stm32l151-a", {S('b', 32, 8)}},
    {"stm32l152-a", {S('b', 32, 8)}},
};

const sim_chip_series sim_series_l01 = {rows, sizeof rows / sizeof rows[0], lines,
                                        sizeof lines / sizeof lines[0]};
