/*
 * The STM32F0 and STM32F3 rows of the chip table and their part lines
 * (see chip_table.h). Sources: RM0091 and RM0360 (F0), RM0316, RM0365,
 * RM0366, RM0364, RM0313 (F3): memory maps, DBGMCU and device electronic
 * signature chapters; the CMSIS device headers (FLASHSIZE_BASE, UID_BASE,
 * OB_BASE, DBGMCU_BASE); SRAM per part, system-memory addresses and the
 * facts per DEV_ID from the fact sheet (docs/reference/stm32-f-series.md,
 * sections 1-3 and 7).
 */
#include "board_internal.h"
#include "chip_table.h"
#include "clock_tree.h"

#include <unicorn/unicorn.h>

/*
 * What every F0/F3 die shares: flash at 0x08000000 (erased 0xFF), its FPEC
 * at 0x40022000; SRAM at 0x20000000; flash size at 0x1FFFF7CC, UID at
 * 0x1FFFF7AC; option bytes at 0x1FFFF800; RCC at 0x40021000 with RCC_CSR
 * at +0x24; LSI 40 kHz; HSI 8 MHz at reset; the IWDG has a window register
 * (IWDG_WINR). DBGMCU freezes the IWDG with DBG_IWDG_STOP, b12 of
 * DBGMCU_APB1_FZ.
 */
#define F0F3_DIE                                                                                   \
    .flash_base = 0x08000000, .flash_erased = 0xFF, .sram_base = 0x20000000,                       \
    .flash_size_reg = 0x1FFFF7CC, .uid_addr = {0x1FFFF7AC, 0x1FFFF7B0, 0x1FFFF7B4},                \
    .flash_regs = 0x40022000, .iwdg_freeze_bit = 1u << 12, .rcc_base = 0x40021000,                 \
    .rcc_csr = 0x40021024, .lsi_hz = 40000, .iwdg_winr = true, .core_hz = 8000000

/* F0: Cortex-M0 r0p0 (CPUID 0x410CC200, header __CM0_REV [U on silicon])
 * behind a SW-DP 0x0BB11477; DBGMCU on the APB at 0x40015800 (IDCODE), CR
 * +4, APB1_FZ +8; the F0 flash controller (options load at power-on and
 * OBL_LAUNCH). */
#define F0_CORE                                                                                    \
    .family_name = "STM32F0", .flash = &sim_flash_f0, .idcode_addr = 0x40015800,                   \
    .cpuid = 0x410CC200, .dp_idcode = 0x0BB11477, .cpu_model = UC_CPU_ARM_CORTEX_M0,               \
    .armv6m = true, .dbgmcu_cr = 0x40015804, .dbgmcu_apb1_fz = 0x40015808

/* F3: Cortex-M4F r0p1 (CPUID 0x410FC241) behind a SW-DP 0x2BA01477;
 * DBGMCU at 0xE0042000; 2 KiB pages; options load at every reset. */
#define F3_CORE                                                                                    \
    .family_name = "STM32F3", .flash = &sim_flash_f3, .idcode_addr = 0xE0042000,                   \
    .cpuid = 0x410FC241, .dp_idcode = 0x2BA01477, .cpu_model = UC_CPU_ARM_CORTEX_M4,               \
    .armv6m = false, .dbgmcu_cr = 0xE0042004, .dbgmcu_apb1_fz = 0xE0042008, .page_size = 2048

/* System memory (boot ROM) up to the option bytes, in 4 KiB blocks (fact
 * sheet 7, after stlink's table; [U] at RM): 0x1FFFEC00 (3 KiB) on 0x444
 * and 0x440; 0x1FFFC800 (12 KiB) on 0x448; 0x1FFFD800 (8 KiB) on 0x442 and
 * the F3. For 0x445 the sheet has two candidates (0x1FFFEC00 and
 * 0x1FFFC400), and for the F3's 0x422/0x432 two (0x1FFFF000, 0x1FFFD800):
 * the block covers both [U]. */
#define SYS_EC00 .sys = {{0x1FFFE000, 0x2000}}
#define SYS_C000 .sys = {{0x1FFFC000, 0x4000}}
#define SYS_D000 .sys = {{0x1FFFD000, 0x3000}}

/* REV_ID: 0x1000 for every die (the first revision; not read in the RMs,
 * the host does not key on it) [U]. CCM SRAM (F303/F328/F334/F358/F398 at
 * 0x10000000) is not mapped [U]: stricter than silicon. */
static const sim_chip rows[] = {
    /* 0x444 F030x4/x6, F031, F038: 1 KiB pages */
    {F0F3_DIE, F0_CORE, SYS_EC00, .name = "stm32f031k6", .clock = &sim_clock_f0, .dev_id = 0x444,
     .rev_id = 0x1000, .flash_size = 32 * 1024, .sram_size = 4 * 1024, .page_size = 1024},
    /* 0x445 F042, F048, F070x6: 1 KiB pages */
    {F0F3_DIE, F0_CORE, SYS_C000, .name = "stm32f042k6", .clock = &sim_clock_f0_prediv,
     .dev_id = 0x445, .rev_id = 0x1000, .flash_size = 32 * 1024, .sram_size = 6 * 1024,
     .page_size = 1024},
    /* 0x440 F030x8, F051, F058: 1 KiB pages */
    {F0F3_DIE, F0_CORE, SYS_EC00, .name = "stm32f051r8", .clock = &sim_clock_f0, .dev_id = 0x440,
     .rev_id = 0x1000, .flash_size = 64 * 1024, .sram_size = 8 * 1024, .page_size = 1024},
    /* 0x448 F070xB, F071, F072, F078: 2 KiB pages */
    {F0F3_DIE, F0_CORE, SYS_C000, .name = "stm32f072rb", .clock = &sim_clock_f0_prediv,
     .dev_id = 0x448, .rev_id = 0x1000, .flash_size = 128 * 1024, .sram_size = 16 * 1024,
     .page_size = 2048},
    /* 0x442 F030xC, F091, F098: 2 KiB pages */
    {F0F3_DIE, F0_CORE, SYS_D000, .name = "stm32f091rc", .clock = &sim_clock_f0_prediv,
     .dev_id = 0x442, .rev_id = 0x1000, .flash_size = 256 * 1024, .sram_size = 32 * 1024,
     .page_size = 2048},
    /* 0x439 F301, F302x6/x8, F318 */
    {F0F3_DIE, F3_CORE, SYS_D000, .name = "stm32f302r8", .clock = &sim_clock_f3, .dev_id = 0x439,
     .rev_id = 0x1000, .flash_size = 64 * 1024, .sram_size = 16 * 1024},
    /* 0x422 F302xB/xC, F303xB/xC, F358 */
    {F0F3_DIE, F3_CORE, SYS_D000, .name = "stm32f303rc", .clock = &sim_clock_f3, .dev_id = 0x422,
     .rev_id = 0x1000, .flash_size = 256 * 1024, .sram_size = 40 * 1024},
    /* 0x438 F303x6/x8, F328, F334 */
    {F0F3_DIE, F3_CORE, SYS_D000, .name = "stm32f334r8", .clock = &sim_clock_f3, .dev_id = 0x438,
     .rev_id = 0x1000, .flash_size = 64 * 1024, .sram_size = 12 * 1024},
    /* 0x446 F302xD/xE, F303xD/xE, F398 */
    {F0F3_DIE, F3_CORE, SYS_D000, .name = "stm32f303re", .clock = &sim_clock_f3_prediv,
     .dev_id = 0x446, .rev_id = 0x1000, .flash_size = 512 * 1024, .sram_size = 64 * 1024},
    /* 0x432 F373, F378 */
    {F0F3_DIE, F3_CORE, SYS_D000, .name = "stm32f373rc", .clock = &sim_clock_f3, .dev_id = 0x432,
     .rev_id = 0x1000, .flash_size = 256 * 1024, .sram_size = 32 * 1024},
};

#define F0_444 (&rows[0])
#define F0_445 (&rows[1])
#define F0_440 (&rows[2])
#define F0_448 (&rows[3])
#define F0_442 (&rows[4])
#define F3_439 (&rows[5])
#define F3_422 (&rows[6])
#define F3_438 (&rows[7])
#define F3_446 (&rows[8])
#define F3_432 (&rows[9])

/* A size of a line: its letter, SRAM KiB and die. */
#define S(code, kib, die)                                                                          \
    {                                                                                              \
        code, kib, die, NULL                                                                       \
    }

/* Sizes and SRAM: fact sheet 3.1 and 3.4 ([U] where it says so: F030x4,
 * F051x4, F301x6, F303xB, F373x8/xB). */
static const sim_part_line lines[] = {
    {"stm32f030", {S('4', 4, F0_444), S('6', 4, F0_444), S('8', 8, F0_440), S('c', 32, F0_442)}},
    {"stm32f031", {S('4', 4, F0_444), S('6', 4, F0_444)}},
    {"stm32f038", {S('6', 4, F0_444)}},
    {"stm32f042", {S('4', 6, F0_445), S('6', 6, F0_445)}},
    {"stm32f048", {S('6', 6, F0_445)}},
    {"stm32f051", {S('4', 8, F0_440), S('6', 8, F0_440), S('8', 8, F0_440)}},
    {"stm32f058", {S('8', 8, F0_440)}},
    {"stm32f070", {S('6', 6, F0_445), S('b', 16, F0_448)}},
    {"stm32f071", {S('8', 16, F0_448), S('b', 16, F0_448)}},
    {"stm32f072", {S('8', 16, F0_448), S('b', 16, F0_448)}},
    {"stm32f078", {S('b', 16, F0_448)}},
    {"stm32f091", {S('b', 32, F0_442), S('c', 32, F0_442)}},
    {"stm32f098", {S('c', 32, F0_442)}},
    {"stm32f301", {S('6', 16, F3_439), S('8', 16, F3_439)}},
    {"stm32f302",
     {S('6', 16, F3_439), S('8', 16, F3_439), S('b', 32, F3_422), S('c', 40, F3_422),
      S('d', 64, F3_446), S('e', 64, F3_446)}},
    {"stm32f303",
     {S('6', 12, F3_438), S('8', 12, F3_438), S('b', 40, F3_422), S('c', 40, F3_422),
      S('d', 64, F3_446), S('e', 64, F3_446)}},
    {"stm32f318", {S('8', 16, F3_439)}},
    {"stm32f328", {S('8', 12, F3_438)}},
    {"stm32f334", {S('4', 12, F3_438), S('6', 12, F3_438), S('8', 12, F3_438)}},
    {"stm32f358", {S('c', 40, F3_422)}},
    {"stm32f373", {S('8', 16, F3_432), S('b', 24, F3_432), S('c', 32, F3_432)}},
    {"stm32f378", {S('c', 32, F3_432)}},
    {"stm32f398", {S('e', 64, F3_446)}},
};

const sim_chip_series sim_series_f0f3 = {rows, sizeof rows / sizeof rows[0], lines,
                                         sizeof lines / sizeof lines[0]};
