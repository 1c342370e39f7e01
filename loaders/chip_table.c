/*
 * The chip table as data: lines (what a product line's devices share) and
 * one row per DBGMCU device id. Facts per row are from the reference
 * manuals' memory-organisation sections and the CMSIS device headers
 * (FLASHSIZE_BASE, UID_BASE, DBGMCU): RM0091 (F0) 3.2 and 3.3.1, RM0360
 * (F030/F070) 3.2; RM0008 (F101-F107) 3.3.3 tables 3-5; RM0041 (F100) 3.3.1;
 * RM0033 (F2) 2.3.3; RM0316 (F302/F303/F358/F398) 4.2.1, RM0365 (F302),
 * RM0364 (F334), RM0313 (F37x); RM0368 (F401), RM0401 (F410), RM0383
 * (F411), RM0402 (F412), RM0430 (F413), RM0090 (F405-F439) 3.3 tables 5-7,
 * RM0390 (F446), RM0386 (F469); RM0385 (F74x) 3.3.1, RM0410 (F76x) 3.3.1,
 * RM0431 (F72x) 3.3.1; RM0367 (L0), RM0351 (L4); RM0433 (H742/H743/H753)
 * and RM0468 (H72x/H73x) chapter 4, flash memory organization; RM0481
 * (H52x/H53x/H56x/H57x) and RM0492 (H503) chapter 7.
 *
 * SRAM is the smallest that any part of the row has (F101x4 4 KiB, F103x4
 * 6 KiB: the row says 4 KiB), because the loader puts its buffers and
 * stack there before it knows the part; the rest of the sizes come from the
 * chip's flash-size register at run time.
 */
#include "chips.h"
#include "family.h"

#include <stddef.h>

#define KIB  1024u
#define SRAM 0x20000000u

/* The controller families (loaders/families/). */
extern const fl_family fl_family_f0, fl_family_f1, fl_family_f4, fl_family_f7, fl_family_l0,
    fl_family_l1, fl_family_l4, fl_family_l4p, fl_family_g0, fl_family_wb, fl_family_l5,
    fl_family_u5, fl_family_h7, fl_family_h7ab, fl_family_h5, fl_family_h503;

/* ---- fast clocks ----------------------------------------------------------
 *
 * How to run the core fast for the loader, from the reset clock. Flash wait
 * states go up before the clock does and come down after it (each RM's
 * "increasing the CPU frequency" sequence); APB prescalers keep the buses
 * in spec. The reset voltage range is enough on every part (F4/F7 PWR
 * VOS resets to scale 1 or caps at 84 MHz where it resets to scale 2, L476
 * range 1, the L053 stays in range 2 at 16 MHz).
 */

/* F1 and F3, RM0008 7.3.2 / RM0316 9.4.2 and 3.3.3: PLL = HSI/2 x 16 = 64
 * MHz, 2 wait states (48-72 MHz), APB1 /2 (36 MHz max). HSI stays on:
 * flash programming needs it (RM0008 3.3.3 note). */
static const fl_clock_step clock_f1[] = {
    {0x40022000u, 0x7u, 0x2u, 0},                           /* FLASH_ACR.LATENCY = 2 */
    {0x40021004u, 0x003F0700u, (14u << 18) | (4u << 8), 0}, /* PLLMUL x16, PLLSRC HSI/2, PPRE1 /2 */
    {0x40021000u, 1u << 24, 1u << 24, 1},                   /* PLLON, wait PLLRDY */
    {0x40021004u, 0x3u, 0x2u, 2},                           /* SW = PLL, wait SWS */
    {0, 0, 0, 0},
};

/* F105/F107, RM0008 8.3.2: PLLMUL knows x4-x9 and x6.5 only: HSI/2 x 9 =
 * 36 MHz, 1 wait state (24-48 MHz), APB1 /1. */
static const fl_clock_step clock_f1cl[] = {
    {0x40022000u, 0x7u, 0x1u, 0},            /* FLASH_ACR.LATENCY = 1 */
    {0x40021004u, 0x003F0700u, 7u << 18, 0}, /* PLLMUL x9, PLLSRC HSI/2 */
    {0x40021000u, 1u << 24, 1u << 24, 1},    /* PLLON */
    {0x40021004u, 0x3u, 0x2u, 2},            /* SW = PLL */
    {0, 0, 0, 0},
};

/* F100 value line, RM0041 7.3.2: 24 MHz at most, no wait states: HSI/2
 * x 6. */
static const fl_clock_step clock_f100[] = {
    {0x40021004u, 0x003F0700u, 4u << 18, 0}, /* PLLMUL x6, PLLSRC HSI/2 */
    {0x40021000u, 1u << 24, 1u << 24, 1},    /* PLLON */
    {0x40021004u, 0x3u, 0x2u, 2},            /* SW = PLL */
    {0, 0, 0, 0},
};

/* F0, RM0091 7.4.2 and 3.5.1: HSI/2 x 12 = 48 MHz, 1 wait state. */
static const fl_clock_step clock_f0[] = {
    {0x40022000u, 0x7u, 0x1u, 0},             /* FLASH_ACR.LATENCY = 1 */
    {0x40021004u, 0x003F8700u, 10u << 18, 0}, /* PLLMUL x12, PLLSRC HSI/2, PPRE /1 */
    {0x40021000u, 1u << 24, 1u << 24, 1},     /* PLLON */
    {0x40021004u, 0x3u, 0x2u, 2},             /* SW = PLL */
    {0, 0, 0, 0},
};

/* F2, RM0033 5.3.2 and 2.3.4 table 3 (2.7-3.6 V): HSI/16 x 240 / 2 = 120
 * MHz (VCO 240 MHz, PLLN 192-432), 3 wait states, APB1 /4 (30 MHz max),
 * APB2 /2 (60 MHz max). */
static const fl_clock_step clock_f2[] = {
    {0x40023C00u, 0x7u, 0x3u, 0},                                  /* FLASH_ACR.LATENCY = 3 */
    {0x40023804u, 0x0F437FFFu, 16u | (240u << 6) | (5u << 24), 0}, /* PLLCFGR */
    {0x40023800u, 1u << 24, 1u << 24, 1},                          /* PLLON */
    {0x40023808u, 0xFCF0u, (5u << 10) | (4u << 13), 0},            /* HPRE /1, PPRE1 /4, PPRE2 /2 */
    {0x40023808u, 0x3u, 0x2u, 2},                                  /* SW = PLL */
    {0, 0, 0, 0},
};

/* F405-F439, F446, F469 and F7, RM0090 6.3.2 / RM0390 6.3.2 / RM0385 5.3.2
 * and the flash latency tables (5 wait states at 150-168 MHz, 2.7-3.6 V,
 * on all of them): HSI/8 x 168 / 2 = 168 MHz (VCO input 2 MHz, VCO 336
 * MHz), APB1 /4 (42 MHz), APB2 /2 (84 MHz). PLLR (b30:28) keeps its reset
 * value 2 where it exists and is reserved with that value elsewhere. */
static const fl_clock_step clock_f4[] = {
    {0x40023C00u, 0xFu, 0x5u, 0}, /* FLASH_ACR.LATENCY = 5 */
    {0x40023804u, 0x7F437FFFu, 8u | (168u << 6) | (7u << 24) | (2u << 28), 0}, /* PLLCFGR */
    {0x40023800u, 1u << 24, 1u << 24, 1},                                      /* PLLON */
    {0x40023808u, 0xFCF0u, (5u << 10) | (4u << 13), 0}, /* HPRE /1, PPRE1 /4, PPRE2 /2 */
    {0x40023808u, 0x3u, 0x2u, 2},                       /* SW = PLL */
    {0, 0, 0, 0},
};

/* F401, F410, F411, F412, F413 (84-100 MHz parts, RM0368 6.3.2 and 3.4
 * table 6): HSI/16 x 336 / 4 = 84 MHz (VCO 336 MHz: the F401 takes PLLN
 * 192-432 only), 2 wait states, APB1 /2 (42 MHz). */
static const fl_clock_step clock_f4_84[] = {
    {0x40023C00u, 0xFu, 0x2u, 0},                                               /* LATENCY = 2 */
    {0x40023804u, 0x0F437FFFu, 16u | (336u << 6) | (1u << 16) | (7u << 24), 0}, /* PLLCFGR */
    {0x40023800u, 1u << 24, 1u << 24, 1},                                       /* PLLON */
    {0x40023808u, 0xFCF0u, 4u << 10, 0}, /* HPRE /1, PPRE1 /2, PPRE2 /1 */
    {0x40023808u, 0x3u, 0x2u, 2},        /* SW = PLL */
    {0, 0, 0, 0},
};

/* L053, RM0367 7.3.1 and 3.3.1 table 13: HSI16 as SYSCLK, 1 wait state
 * (range 2 allows 16 MHz with one). */
static const fl_clock_step clock_l0[] = {
    {0x40022000u, 0x1u, 0x1u, 0},  /* FLASH_ACR.LATENCY = 1 */
    {0x40021000u, 0x1u, 0x1u, 2},  /* HSI16ON, wait HSI16RDYF */
    {0x4002100Cu, 0xF0u, 0x0u, 0}, /* HPRE /1 */
    {0x4002100Cu, 0x3u, 0x1u, 2},  /* SW = HSI16 */
    {0, 0, 0, 0},
};

/* L476, RM0351 6.4.4 and 3.3.3 table 11 (range 1): PLL = HSI16 x 10 / 2 =
 * 80 MHz (VCO 160 MHz), 4 wait states. */
static const fl_clock_step clock_l4[] = {
    {0x40022000u, 0x7u, 0x4u, 0},       /* FLASH_ACR.LATENCY = 4 */
    {0x40021000u, 1u << 8, 1u << 8, 2}, /* HSION, wait HSIRDY */
    {0x4002100Cu, 0x07007F73u, 2u | (10u << 8) | (1u << 24),
     0},                                  /* PLLCFGR: HSI16, M 1, N 10, R 2, REN */
    {0x40021000u, 1u << 24, 1u << 24, 1}, /* PLLON, wait PLLRDY */
    {0x40021008u, 0x3FF0u, 0x0u, 0},      /* HPRE, PPRE1, PPRE2 /1 */
    {0x40021008u, 0x3u, 0x3u, 2},         /* SW = PLL */
    {0, 0, 0, 0},
};

/* ---- lines ------------------------------------------------------------------
 * The watchdog freeze is DBG_IWDG_STOP: DBGMCU_CR b8 on the F1 (RM0008
 * 31.16.3), DBGMCU_APB1_FZ b12 elsewhere (at 0x40015808 on the Cortex-M0
 * and M0+ parts, RM0091 32.9.4, RM0367 27.9.5; 0xE0042008 on the others).
 */

#define LINE_F1(clock, hz)                                                                         \
    .name = "STM32F1", .id = "f1", .family = &fl_family_f1, .idcode_addr = 0xE0042000u,            \
    .flash_base = 0x08000000u, .flash_regs = 0x40022000u, .flash_size_reg = 0x1FFFF7E0u,           \
    .uid_addr = {0x1FFFF7E8u, 0x1FFFF7ECu, 0x1FFFF7F0u}, .wdg_freeze_reg = 0xE0042004u,            \
    .wdg_freeze_bit = 1u << 8, .fast_clock = (clock), .fast_clock_hz = (hz),                       \
    .rcc_cfgr = 0x40021004u

static const fl_line line_f1 = {LINE_F1(clock_f1, 64000000)};
static const fl_line line_f1cl = {LINE_F1(clock_f1cl, 36000000)};
static const fl_line line_f100 = {LINE_F1(clock_f100, 24000000)};

static const fl_line line_f0 = {
    .name = "STM32F0",
    .id = "f0",
    .family = &fl_family_f0,
    .idcode_addr = 0x40015800u,
    .flash_base = 0x08000000u,
    .flash_regs = 0x40022000u,
    .flash_size_reg = 0x1FFFF7CCu,
    .uid_addr = {0x1FFFF7ACu, 0x1FFFF7B0u, 0x1FFFF7B4u},
    .wdg_freeze_reg = 0x40015808u,
    .wdg_freeze_bit = 1u << 12,
    .dbg_clock_reg = 0x40021018u, /* RCC_APB2ENR.DBGMCUEN b22 (RM0091 7.4.7) */
    .dbg_clock_bit = 1u << 22,
    .fast_clock = clock_f0,
    .fast_clock_hz = 48000000,
    .rcc_cfgr = 0x40021004u,
};

static const fl_line line_f3 = {
    .name = "STM32F3",
    .id = "f3",
    .family = &fl_family_f0,
    .idcode_addr = 0xE0042000u,
    .flash_base = 0x08000000u,
    .flash_regs = 0x40022000u,
    .flash_size_reg = 0x1FFFF7CCu,
    .uid_addr = {0x1FFFF7ACu, 0x1FFFF7B0u, 0x1FFFF7B4u},
    .wdg_freeze_reg = 0xE0042008u,
    .wdg_freeze_bit = 1u << 12,
    .fast_clock = clock_f1,
    .fast_clock_hz = 64000000,
    .rcc_cfgr = 0x40021004u,
};

/* F2 and F4 share the identity registers (RM0033 32.2, RM0090 39.1). */
#define LINE_F24(nm, ident, clock, hz)                                                             \
    .name = (nm), .id = (ident), .family = &fl_family_f4, .idcode_addr = 0xE0042000u,              \
    .flash_base = 0x08000000u, .flash_regs = 0x40023C00u, .flash_size_reg = 0x1FFF7A22u,           \
    .uid_addr = {0x1FFF7A10u, 0x1FFF7A14u, 0x1FFF7A18u}, .wdg_freeze_reg = 0xE0042008u,            \
    .wdg_freeze_bit = 1u << 12, .fast_clock = (clock), .fast_clock_hz = (hz),                      \
    .rcc_cfgr = 0x40023808u

static const fl_line line_f2 = {LINE_F24("STM32F2", "f2", clock_f2, 120000000)};
static const fl_line line_f4 = {LINE_F24("STM32F4", "f4", clock_f4, 168000000)};
static const fl_line line_f4_84 = {LINE_F24("STM32F4", "f4", clock_f4_84, 84000000)};

/* F7: the identity registers moved, and apart on F72x/F73x (RM0385 41.1,
 * RM0410 45.1, RM0431 41.1). */
#define LINE_F7(fsize, uid)                                                                        \
    .name = "STM32F7", .id = "f7", .family = &fl_family_f7, .idcode_addr = 0xE0042000u,            \
    .flash_base = 0x08000000u, .flash_regs = 0x40023C00u, .flash_size_reg = (fsize),               \
    .uid_addr = {(uid), (uid) + 4u, (uid) + 8u}, .wdg_freeze_reg = 0xE0042008u,                    \
    .wdg_freeze_bit = 1u << 12, .fast_clock = clock_f4, .fast_clock_hz = 168000000,                \
    .rcc_cfgr = 0x40023808u

static const fl_line line_f7 = {LINE_F7(0x1FF0F442u, 0x1FF0F420u)};
static const fl_line line_f72x = {LINE_F7(0x1FF07A22u, 0x1FF07A10u)};

static const fl_line line_l0 = {
    .name = "STM32L0",
    .id = "l0",
    .family = &fl_family_l0,
    .idcode_addr = 0x40015800u,
    .flash_base = 0x08000000u,
    .flash_regs = 0x40022000u,
    .flash_size_reg = 0x1FF8007Cu,
    .uid_addr = {0x1FF80050u, 0x1FF80054u, 0x1FF80064u}, /* not contiguous (RM0367 28.2) */
    .wdg_freeze_reg = 0x40015808u,
    .wdg_freeze_bit = 1u << 12,
    .dbg_clock_reg = 0x40021034u, /* RCC_APB2ENR.DBGEN b22 (RM0367 7.3.13) */
    .dbg_clock_bit = 1u << 22,
    .fast_clock = clock_l0,
    .fast_clock_hz = 16000000,
    .rcc_cfgr = 0x4002100Cu,
};

static const fl_line line_l4 = {
    .name = "STM32L4",
    .id = "l4",
    .family = &fl_family_l4,
    .idcode_addr = 0xE0042000u,
    .flash_base = 0x08000000u,
    .flash_regs = 0x40022000u,
    .flash_size_reg = 0x1FFF75E0u,
    .uid_addr = {0x1FFF7590u, 0x1FFF7594u, 0x1FFF7598u},
    .wdg_freeze_reg = 0xE0042008u,
    .wdg_freeze_bit = 1u << 12,
    .fast_clock = clock_l4,
    .fast_clock_hz = 80000000,
    .rcc_cfgr = 0x40021008u,
};

/* The L4 generation and the other low-power lines. L4, L4+ and G4 take the
 * L476's fast clock (HSI16 x 10 / 2 = 80 MHz, 4 wait states: within every
 * one's range 1 limits, RM0394/RM0432/RM0440 "Read access latency"); the
 * others have none yet and run the loader on their reset clock (HSI16 or
 * MSI 4 MHz), slower for CRCs but right. Identity addresses: the fact sheet
 * docs/reference/stm32-l-g-c-u-w-series.md section 2 (CMSIS FLASHSIZE_BASE,
 * UID_BASE, FLASH_R_BASE, DBGMCU_BASE). Watchdog freeze: DBG_IWDG_STOP b12
 * of DBG_APB_FZ1 (G0 RM0444 40.9.4, C0, U0), DBGMCU_APB1FZR1 (G4, L4,
 * L4+, L5, U5), DBGMCU_C1APB1FZR1 at +0x3C (WB RM0434 38.12, WL). */
/* uid3: the third word's offset from the first (8, or 0x14 on L0/L1). */
#define LINE_LOW(nm, ident, fam, idcode, regs, fsize, uid, uid3, fz)                               \
    .name = (nm), .id = (ident), .family = &(fam), .idcode_addr = (idcode),                        \
    .flash_base = 0x08000000u, .flash_regs = (regs), .flash_size_reg = (fsize),                    \
    .uid_addr = {(uid), (uid) + 4u, (uid) + (uid3)}, .wdg_freeze_reg = (fz),                       \
    .wdg_freeze_bit = 1u << 12

/* RCC_APBENR1.DBGEN b27 (RM0444 5.4.15, RM0490), RCC_DBGCFGR.DBGEN b0 (U0),
 * RCC_APB2ENR.DBGEN b22 (L0, RM0367 7.3.13): the fact sheet's section 8. */
#define DBGEN_G0 .dbg_clock_reg = 0x4002103Cu, .dbg_clock_bit = 1u << 27
#define DBGEN_U0 .dbg_clock_reg = 0x40021050u, .dbg_clock_bit = 1u << 0
#define DBGEN_L0 .dbg_clock_reg = 0x40021034u, .dbg_clock_bit = 1u << 22
static const fl_line line_g0 = {LINE_LOW("STM32G0", "g0", fl_family_g0, 0x40015800u, 0x40022000u,
                                         0x1FFF75E0u, 0x1FFF7590u, 8u, 0x40015808u),
                                DBGEN_G0};
static const fl_line line_c0 = {LINE_LOW("STM32C0", "c0", fl_family_g0, 0x40015800u, 0x40022000u,
                                         0x1FFF75A0u, 0x1FFF7550u, 8u, 0x40015808u),
                                DBGEN_G0};
static const fl_line line_u031 = {LINE_LOW("STM32U0", "u0", fl_family_g0, 0x40015800u, 0x40022000u,
                                           0x1FFF3EA0u, 0x1FFF3E50u, 8u, 0x40015808u),
                                  DBGEN_U0};
static const fl_line line_u073 = {LINE_LOW("STM32U0", "u0", fl_family_g0, 0x40015800u, 0x40022000u,
                                           0x1FFF6EA0u, 0x1FFF6E50u, 8u, 0x40015808u),
                                  DBGEN_U0};
static const fl_line line_g4 = {LINE_LOW("STM32G4", "g4", fl_family_l4p, 0xE0042000u, 0x40022000u,
                                         0x1FFF75E0u, 0x1FFF7590u, 8u, 0xE0042008u),
                                .fast_clock = clock_l4, .fast_clock_hz = 80000000,
                                .rcc_cfgr = 0x40021008u};
static const fl_line line_l4x = {LINE_LOW("STM32L4", "l4", fl_family_l4, 0xE0042000u, 0x40022000u,
                                          0x1FFF75E0u, 0x1FFF7590u, 8u, 0xE0042008u),
                                 .fast_clock = clock_l4, .fast_clock_hz = 80000000,
                                 .rcc_cfgr = 0x40021008u};
static const fl_line line_l4p = {LINE_LOW("STM32L4", "l4", fl_family_l4p, 0xE0042000u, 0x40022000u,
                                          0x1FFF75E0u, 0x1FFF7590u, 8u, 0xE0042008u),
                                 .fast_clock = clock_l4, .fast_clock_hz = 80000000,
                                 .rcc_cfgr = 0x40021008u};
static const fl_line line_wb = {LINE_LOW("STM32WB", "wb", fl_family_wb, 0xE0042000u, 0x58004000u,
                                         0x1FFF75E0u, 0x1FFF7590u, 8u, 0xE004203Cu)};
static const fl_line line_wl = {LINE_LOW("STM32WL", "wl", fl_family_wb, 0xE0042000u, 0x58004000u,
                                         0x1FFF75E0u, 0x1FFF7590u, 8u, 0xE004203Cu)};
static const fl_line line_l5 = {LINE_LOW("STM32L5", "l5", fl_family_l5, 0xE0044000u, 0x40022000u,
                                         0x0BFA05E0u, 0x0BFA0590u, 8u, 0xE0044008u)};
static const fl_line line_u5 = {LINE_LOW("STM32U5", "u5", fl_family_u5, 0xE0044000u, 0x40022000u,
                                         0x0BFA07A0u, 0x0BFA0700u, 8u, 0xE0044008u)};
/* L0/L1: the unique ID's third word is at +0x14 (RM0367 28.2, RM0038
 * 31.2). */
static const fl_line line_l0x = {LINE_LOW("STM32L0", "l0", fl_family_l0, 0x40015800u, 0x40022000u,
                                          0x1FF8007Cu, 0x1FF80050u, 0x14u, 0x40015808u),
                                 DBGEN_L0};
static const fl_line line_l1_12 = {LINE_LOW("STM32L1", "l1", fl_family_l1, 0xE0042000u, 0x40023C00u,
                                            0x1FF8004Cu, 0x1FF80050u, 0x14u, 0xE0042008u)};
static const fl_line line_l1_36 = {LINE_LOW("STM32L1", "l1", fl_family_l1, 0xE0042000u, 0x40023C00u,
                                            0x1FF800CCu, 0x1FF800D0u, 0x14u, 0xE0042008u)};

/* H7 (H742/H743/H753: RM0433; H72x/H73x: RM0468): DBGMCU on the AHB at
 * 0x5C001000 (not the PPB: fl_identify tries both for a Cortex-M7), its
 * debug clocks D1DBGCKEN b21 and D3DBGCKEN b22 of DBGMCU_CR, and IWDG1's
 * freeze WDGLSD1 b18 of DBGMCU_APB4FZ1 (RM0433 DBGMCU chapter; OpenOCD's
 * stm32h7x.cfg sets the same bits); flash size and unique ID in system
 * memory (CMSIS FLASHSIZE_BASE, UID_BASE). No fast clock: the loader runs
 * on the reset clock, HSI at 64 MHz, which is fast already, and raising it
 * on an H7 means the PWR voltage scaling and the flash's WRHIGHFREQ too. */
static const fl_line line_h7 = {
    .name = "STM32H7",
    .id = "h7",
    .family = &fl_family_h7,
    .idcode_addr = 0x5C001000u,
    .flash_base = 0x08000000u,
    .flash_regs = 0x52002000u,
    .flash_size_reg = 0x1FF1E880u,
    .uid_addr = {0x1FF1E800u, 0x1FF1E804u, 0x1FF1E808u},
    .wdg_freeze_reg = 0x5C001054u,
    .wdg_freeze_bit = 1u << 18,
    .dbg_clock_reg = 0x5C001004u,
    .dbg_clock_bit = (1u << 21) | (1u << 22),
};

/* H7Ax/H7Bx (RM0455): the H7's DBGMCU and IWDG1 freeze, flash size and
 * unique ID in the flash's system area instead (CMSIS FLASHSIZE_BASE
 * 0x08FFF80C, as OpenOCD's fsize_addr; UID_BASE 0x08FFF800). */
static const fl_line line_h7ab = {
    .name = "STM32H7",
    .id = "h7",
    .family = &fl_family_h7ab,
    .idcode_addr = 0x5C001000u,
    .flash_base = 0x08000000u,
    .flash_regs = 0x52002000u,
    .flash_size_reg = 0x08FFF80Cu,
    .uid_addr = {0x08FFF800u, 0x08FFF804u, 0x08FFF808u},
    .wdg_freeze_reg = 0x5C001054u,
    .wdg_freeze_bit = 1u << 18,
    .dbg_clock_reg = 0x5C001004u,
    .dbg_clock_bit = (1u << 21) | (1u << 22),
};
/* H5 (H52x/H53x/H56x/H57x: RM0481; H503: RM0492): a Cortex-M33 whose
 * DBGMCU sits at 0x44024000 as the core sees it (CMSIS DBGMCU_BASE; the
 * debug APB behind AP0 shows it at 0xE0044000), DBG_IWDG_STOP b12 of
 * DBGMCU_APB1FZR1 at +0x08; flash size and unique ID at 0x08FFF80C and
 * 0x08FFF800 (CMSIS FLASHSIZE_BASE, UID_BASE); FLASH's non-secure
 * registers at 0x40022000. No fast clock: the loader runs on the reset
 * clock (HSI, 64 MHz through RCC_CR.HSIDIV: CMSIS SystemCoreClockUpdate;
 * /2 at reset [U]); raising it means the PWR voltage scaling and
 * FLASH_ACR.WRHIGHFREQ too. The H503 has no TrustZone and no EDATA
 * (loaders/families/h5.c). */
static const fl_line line_h5 = {LINE_LOW("STM32H5", "h5", fl_family_h5, 0x44024000u, 0x40022000u,
                                         0x08FFF80Cu, 0x08FFF800u, 8u, 0x44024008u)};
static const fl_line line_h503 = {LINE_LOW("STM32H5", "h5", fl_family_h503, 0x44024000u,
                                           0x40022000u, 0x08FFF80Cu, 0x08FFF800u, 8u, 0x44024008u)};

/* ---- devices ------------------------------------------------------------------ */

/* Erase units: pages of one size, or the F2/F4/F7 sector runs. */
#define PAGES(n)                                                                                   \
    {                                                                                              \
        {                                                                                          \
            0, (n)                                                                                 \
        }                                                                                          \
    }
#define SECTORS_16_64_128                                                                          \
    {                                                                                              \
        {4, 16 * KIB}, {1, 64 * KIB},                                                              \
        {                                                                                          \
            0, 128 * KIB                                                                           \
        }                                                                                          \
    }
#define SECTORS_32_128_256                                                                         \
    {                                                                                              \
        {4, 32 * KIB}, {1, 128 * KIB},                                                             \
        {                                                                                          \
            0, 256 * KIB                                                                           \
        }                                                                                          \
    }

#define ROW(id, nm, ln, prefixes, flash_kib, unit_runs, sram_kib)                                  \
    .dev_id = (id), .name = (nm), .line = &(ln), .parts = (prefixes),                              \
    .flash_size_max = (flash_kib)*KIB, .units = unit_runs, .sram_base = SRAM,                      \
    .sram_size = (sram_kib)*KIB

/* The dual-bank layouts an option bit selects (fl_chip.alt): not rows of
 * their own, the device id is the same. F42x/F469 with DB1M: two banks of
 * 4x16, 64, 3x128 KiB on 1 MiB (RM0090 3.3 table 7); F76x with nDBANK =
 * 0: two banks of 4x16, 64, 7x128 KiB, bank 2 at the middle of flash
 * (RM0410 3.3.1 table 5). Bank 2's sectors are coded from 0x10 on both. */
static const fl_chip f42x_db1m = {ROW(0x419, "STM32F42x/F43x", line_f4,
                                      "stm32f427;stm32f429;stm32f437;stm32f439", 2048,
                                      SECTORS_16_64_128, 192),
                                  .banks = 2};
static const fl_chip f469_db1m = {
    ROW(0x434, "STM32F469/F479", line_f4, "stm32f469;stm32f479", 2048, SECTORS_16_64_128, 320),
    .banks = 2};
static const fl_chip f76x_dual = {ROW(0x451, "STM32F76x/F77x", line_f7,
                                      "stm32f765;stm32f767;stm32f768;stm32f769;stm32f777;"
                                      "stm32f778;stm32f779",
                                      2048, SECTORS_16_64_128, 512),
                                  .banks = 2};

/* The other bank layouts an option selects on the L4 generation and
 * L5/U5 (fl_chip.alt; the fact sheet's sections 3.1-3.9): L47x/L49x below
 * 1 MiB with DUALBANK = 1 (two banks at half the flash); L4+ and G4
 * category 3 with DBANK = 0 (one bank of 8 or 4 KiB pages); G0B/G0C with
 * DUAL_BANK = 1; L5 with DBANK = 0 (one bank of 4 KiB pages); U5 below
 * its largest size with DUALBANK = 1. */
static const fl_chip l476_dual = {ROW(0x415, "STM32L47x/L48x", line_l4,
                                      "stm32l471;stm32l475;stm32l476;stm32l485;stm32l486", 1024,
                                      PAGES(2048), 96),
                                  .banks = 2};
static const fl_chip l496_dual = {
    ROW(0x461, "STM32L49x/L4Ax", line_l4x, "stm32l496;stm32l4a6", 1024, PAGES(2048), 256),
    .banks = 2};
static const fl_chip l4r_single = {
    ROW(0x470, "STM32L4Rx/L4Sx", line_l4p,
        "stm32l4r5;stm32l4r7;stm32l4r9;stm32l4s5;stm32l4s7;stm32l4s9", 2048, PAGES(8192), 640)};
static const fl_chip l4p5_single = {
    ROW(0x471, "STM32L4P5/L4Q5", line_l4p, "stm32l4p5;stm32l4q5", 1024, PAGES(8192), 320)};
static const fl_chip g47x_single = {ROW(0x469, "STM32G47x/G48x (category 3)", line_g4,
                                        "stm32g471;stm32g473;stm32g474;stm32g483;stm32g484", 512,
                                        PAGES(4096), 96)};
static const fl_chip g0b_dual = {
    ROW(0x467, "STM32G0Bx/G0Cx", line_g0, "stm32g0b0;stm32g0b1;stm32g0c1", 512, PAGES(2048), 128),
    .banks = 2};
static const fl_chip l5_single = {
    ROW(0x472, "STM32L55x/L56x", line_l5, "stm32l552;stm32l562", 512, PAGES(4096), 256)};
static const fl_chip u535_dual = {
    ROW(0x455, "STM32U535/U545", line_u5, "stm32u535;stm32u545", 512, PAGES(8192), 256),
    .banks = 2};
static const fl_chip u575_dual = {
    ROW(0x482, "STM32U575/U585", line_u5, "stm32u575;stm32u585", 2048, PAGES(8192), 768),
    .banks = 2};
static const fl_chip u59x_dual = {ROW(0x481, "STM32U59x/U5Ax", line_u5,
                                      "stm32u595;stm32u599;stm32u5a5;stm32u5a9", 4096, PAGES(8192),
                                      2496),
                                  .banks = 2};
static const fl_chip u5fx_dual = {ROW(0x476, "STM32U5Fx/U5Gx", line_u5,
                                      "stm32u5f7;stm32u5f9;stm32u5g7;stm32u5g9", 4096, PAGES(8192),
                                      3008),
                                  .banks = 2};

const fl_chip fl_chip_rows[] = {
    /* F0 (RM0091, RM0360) */
    {ROW(0x444, "STM32F03x", line_f0, "stm32f030;stm32f031;stm32f038", 32, PAGES(1024), 4)},
    {ROW(0x445, "STM32F04x/F070x6", line_f0, "stm32f042;stm32f048;stm32f070", 32, PAGES(1024), 6)},
    {ROW(0x440, "STM32F05x/F030x8", line_f0, "stm32f030;stm32f051;stm32f058", 64, PAGES(1024), 8)},
    {ROW(0x448, "STM32F07x", line_f0, "stm32f070;stm32f071;stm32f072;stm32f078", 128, PAGES(2048),
         16)},
    {ROW(0x442, "STM32F09x/F030xC", line_f0, "stm32f030;stm32f091;stm32f098", 256, PAGES(2048),
         32)},
    /* F1 (RM0008, RM0041) */
    {ROW(0x412, "STM32F10x low density", line_f1, "stm32f101;stm32f102;stm32f103", 32, PAGES(1024),
         4)},
    {ROW(0x410, "STM32F10x medium density", line_f1, "stm32f101;stm32f102;stm32f103", 128,
         PAGES(1024), 10)},
    {ROW(0x414, "STM32F10x high density", line_f1, "stm32f101;stm32f103", 512, PAGES(2048), 32)},
    {ROW(0x430, "STM32F10x XL density", line_f1, "stm32f101;stm32f103", 1024, PAGES(2048), 80),
     .bank2_regs = 0x40, .bank2_start = 512 * KIB},
    {ROW(0x418, "STM32F105/F107 (connectivity line)", line_f1cl, "stm32f105;stm32f107", 256,
         PAGES(2048), 64)},
    {ROW(0x420, "STM32F100 low/medium density (value line)", line_f100, "stm32f100", 128,
         PAGES(1024), 4)},
    {ROW(0x428, "STM32F100 high density (value line)", line_f100, "stm32f100", 512, PAGES(2048),
         24)},
    /* F2 (RM0033) */
    {ROW(0x411, "STM32F20x/F21x", line_f2, "stm32f205;stm32f207;stm32f215;stm32f217", 1024,
         SECTORS_16_64_128, 64)},
    /* F3 (RM0316, RM0365, RM0364, RM0313) */
    {ROW(0x439, "STM32F301/F302x6-8/F318", line_f3, "stm32f301;stm32f302;stm32f318", 64,
         PAGES(2048), 16)},
    {ROW(0x422, "STM32F302xB-C/F303xB-C/F358", line_f3, "stm32f302;stm32f303;stm32f358", 256,
         PAGES(2048), 32)},
    {ROW(0x438, "STM32F303x6-8/F328/F334", line_f3, "stm32f303;stm32f328;stm32f334", 64,
         PAGES(2048), 12)},
    {ROW(0x446, "STM32F302xD-E/F303xD-E/F398", line_f3, "stm32f302;stm32f303;stm32f398", 512,
         PAGES(2048), 64)},
    {ROW(0x432, "STM32F37x", line_f3, "stm32f373;stm32f378", 256, PAGES(2048), 16)},
    /* F4 */
    {ROW(0x423, "STM32F401xB/C", line_f4_84, "stm32f401", 256, SECTORS_16_64_128, 64)},
    {ROW(0x433, "STM32F401xD/E", line_f4_84, "stm32f401", 512, SECTORS_16_64_128, 96)},
    {ROW(0x413, "STM32F405/F407/F415/F417", line_f4, "stm32f405;stm32f407;stm32f415;stm32f417",
         1024, SECTORS_16_64_128, 128)},
    {ROW(0x458, "STM32F410", line_f4_84, "stm32f410", 128, SECTORS_16_64_128, 32)},
    {ROW(0x431, "STM32F411", line_f4_84, "stm32f411", 512, SECTORS_16_64_128, 128)},
    {ROW(0x441, "STM32F412", line_f4_84, "stm32f412", 1024, SECTORS_16_64_128, 256)},
    {ROW(0x463, "STM32F413/F423", line_f4_84, "stm32f413;stm32f423", 1536, SECTORS_16_64_128, 320)},
    /* 2 MiB parts are dual bank, bank 2's sectors numbered from 0x10
     * (RM0090 3.9.8); 1 MiB parts single bank (DB1M = 0, the default). */
    {ROW(0x419, "STM32F42x/F43x", line_f4, "stm32f427;stm32f429;stm32f437;stm32f439", 2048,
         SECTORS_16_64_128, 192),
     .banks = 2, .dual_from = 2048 * KIB, .alt = &f42x_db1m},
    {ROW(0x421, "STM32F446", line_f4, "stm32f446", 512, SECTORS_16_64_128, 128)},
    {ROW(0x434, "STM32F469/F479", line_f4, "stm32f469;stm32f479", 2048, SECTORS_16_64_128, 320),
     .banks = 2, .dual_from = 2048 * KIB, .alt = &f469_db1m},
    /* F7 (nDBANK = 1, the factory setting: single bank; else .alt) */
    {ROW(0x449, "STM32F74x/F75x", line_f7, "stm32f745;stm32f746;stm32f750;stm32f756", 1024,
         SECTORS_32_128_256, 320)},
    {ROW(0x451, "STM32F76x/F77x", line_f7,
         "stm32f765;stm32f767;stm32f768;stm32f769;stm32f777;stm32f778;stm32f779", 2048,
         SECTORS_32_128_256, 512),
     .alt = &f76x_dual},
    {ROW(0x452, "STM32F72x/F73x", line_f72x, "stm32f722;stm32f723;stm32f730;stm32f732;stm32f733",
         512, SECTORS_16_64_128, 256)},
    /* L0: categories 1, 2, 3, 5 (RM0377, RM0367, RM0376) */
    {ROW(0x457, "STM32L01x/L02x (category 1)", line_l0x, "stm32l010;stm32l011;stm32l021", 16,
         PAGES(128), 2)},
    {ROW(0x425, "STM32L03x/L04x (category 2)", line_l0x, "stm32l010;stm32l031;stm32l041", 32,
         PAGES(128), 8)},
    {ROW(0x417, "STM32L05x/L06x (category 3)", line_l0,
         "stm32l010;stm32l051;stm32l052;stm32l053;stm32l062;stm32l063", 64, PAGES(128), 8)},
    {ROW(0x447, "STM32L07x/L08x (category 5)", line_l0x,
         "stm32l010;stm32l071;stm32l072;stm32l073;stm32l081;stm32l082;stm32l083", 192, PAGES(128),
         20),
     .banks = 2, .dual_from = 128 * KIB},
    /* L1: categories 1-6 (RM0038 3.2): 256-byte pages; cat 4 and 5 dual
     * bank at half the flash. The xD-X parts (384 KiB on 0x437, bank 2 at
     * 0x08040000 after a hole) are not covered: the layout model has no
     * holes. */
    {ROW(0x416, "STM32L1xx (category 1)", line_l1_12, "stm32l100;stm32l151;stm32l152", 128,
         PAGES(256), 4)},
    {ROW(0x429, "STM32L1xx (category 2)", line_l1_12, "stm32l100;stm32l151;stm32l152", 128,
         PAGES(256), 16),
     .fsize_mask = 0xFF},
    {ROW(0x427, "STM32L1xx (category 3)", line_l1_36, "stm32l100;stm32l151;stm32l152;stm32l162",
         256, PAGES(256), 16)},
    {ROW(0x436, "STM32L1xx (category 4)", line_l1_36, "stm32l151;stm32l152;stm32l162", 384,
         PAGES(256), 32),
     .banks = 2, .dual_from = 384 * KIB, .fsize_kib = {384, 256}},
    {ROW(0x437, "STM32L1xx (category 5/6)", line_l1_36, "stm32l151;stm32l152;stm32l162", 512,
         PAGES(256), 80),
     .banks = 2, .dual_from = 512 * KIB},
    /* L4, L4+ (RM0394, RM0351, RM0432) */
    /* SRAM: SRAM1 only (its SRAM2 is also mapped above it on these parts
     * by the fact sheet, not in the simulator's reading: the smaller). */
    {ROW(0x464, "STM32L41x/L42x", line_l4x, "stm32l412;stm32l422", 128, PAGES(2048), 32)},
    {ROW(0x435, "STM32L43x/L44x", line_l4x, "stm32l431;stm32l432;stm32l433;stm32l442;stm32l443",
         256, PAGES(2048), 48)},
    {ROW(0x462, "STM32L45x/L46x", line_l4x, "stm32l451;stm32l452;stm32l462", 512, PAGES(2048),
         128)},
    {ROW(0x415, "STM32L47x/L48x", line_l4, "stm32l471;stm32l475;stm32l476;stm32l485;stm32l486",
         1024, PAGES(2048), 96),
     .banks = 2, .dual_from = 1024 * KIB, .alt = &l476_dual},
    {ROW(0x461, "STM32L49x/L4Ax", line_l4x, "stm32l496;stm32l4a6", 1024, PAGES(2048), 256),
     .banks = 2, .dual_from = 1024 * KIB, .alt = &l496_dual},
    {ROW(0x470, "STM32L4Rx/L4Sx", line_l4p,
         "stm32l4r5;stm32l4r7;stm32l4r9;stm32l4s5;stm32l4s7;stm32l4s9", 2048, PAGES(4096), 640),
     .banks = 2, .alt = &l4r_single},
    {ROW(0x471, "STM32L4P5/L4Q5", line_l4p, "stm32l4p5;stm32l4q5", 1024, PAGES(4096), 320),
     .banks = 2, .alt = &l4p5_single},
    /* G0 (RM0444, RM0454), C0 (RM0490), U0 (RM0503) */
    {ROW(0x466, "STM32G03x/G04x", line_g0, "stm32g030;stm32g031;stm32g041", 64, PAGES(2048), 8)},
    {ROW(0x456, "STM32G05x/G06x", line_g0, "stm32g050;stm32g051;stm32g061", 64, PAGES(2048), 16)},
    {ROW(0x460, "STM32G07x/G08x", line_g0, "stm32g070;stm32g071;stm32g081", 128, PAGES(2048), 32)},
    {ROW(0x467, "STM32G0Bx/G0Cx", line_g0, "stm32g0b0;stm32g0b1;stm32g0c1", 512, PAGES(2048), 128),
     .alt = &g0b_dual},
    {ROW(0x443, "STM32C011", line_c0, "stm32c011", 32, PAGES(2048), 6)},
    {ROW(0x453, "STM32C031", line_c0, "stm32c031", 32, PAGES(2048), 12)},
    {ROW(0x44C, "STM32C051", line_c0, "stm32c051", 64, PAGES(2048), 12)},
    {ROW(0x493, "STM32C071", line_c0, "stm32c071", 128, PAGES(2048), 24)},
    {ROW(0x44D, "STM32C091/C092", line_c0, "stm32c091;stm32c092", 256, PAGES(2048), 30)},
    {ROW(0x459, "STM32U031", line_u031, "stm32u031", 64, PAGES(2048), 8)},
    {ROW(0x489, "STM32U073/U083", line_u073, "stm32u073;stm32u083", 256, PAGES(2048), 32)},
    /* G4 (RM0440): category 3 is two banks of 2 KiB pages (DBANK = 1, the
     * factory value) at 512 KiB; smaller category-3 parts put bank 2 at
     * 0x08040000 after a hole, which the layout model cannot describe. */
    {ROW(0x468, "STM32G431/G441 (category 2)", line_g4, "stm32g431;stm32g441", 128, PAGES(2048),
         22)},
    {ROW(0x469, "STM32G47x/G48x (category 3)", line_g4,
         "stm32g471;stm32g473;stm32g474;stm32g483;stm32g484", 512, PAGES(2048), 96),
     .banks = 2, .alt = &g47x_single},
    {ROW(0x479, "STM32G491/G4A1 (category 4)", line_g4, "stm32g491;stm32g4a1", 512, PAGES(2048),
         96)},
    /* WB (RM0434, RM0473), WL (RM0453, RM0461) */
    {ROW(0x495, "STM32WB5x/WB3x", line_wb, "stm32wb55;stm32wb35;stm32wb50;stm32wb30;stm32wb5m",
         1024, PAGES(4096), 32)},
    {ROW(0x494, "STM32WB1x", line_wb, "stm32wb10;stm32wb15;stm32wb1m", 320, PAGES(2048), 12)},
    {ROW(0x497, "STM32WLx", line_wl, "stm32wle5;stm32wle4;stm32wl55;stm32wl54;stm32wl5m", 256,
         PAGES(2048), 20)},
    /* L5 (RM0438), U5 (RM0456): TrustZone off only (loaders/families/l5.c) */
    {ROW(0x472, "STM32L55x/L56x", line_l5, "stm32l552;stm32l562", 512, PAGES(2048), 256),
     .banks = 2, .alt = &l5_single},
    {ROW(0x455, "STM32U535/U545", line_u5, "stm32u535;stm32u545", 512, PAGES(8192), 256),
     .banks = 2, .dual_from = 512 * KIB, .alt = &u535_dual},
    {ROW(0x482, "STM32U575/U585", line_u5, "stm32u575;stm32u585", 2048, PAGES(8192), 768),
     .banks = 2, .dual_from = 2048 * KIB, .alt = &u575_dual},
    {ROW(0x481, "STM32U59x/U5Ax", line_u5, "stm32u595;stm32u599;stm32u5a5;stm32u5a9", 4096,
         PAGES(8192), 2496),
     .banks = 2, .dual_from = 4096 * KIB, .alt = &u59x_dual},
    {ROW(0x476, "STM32U5Fx/U5Gx", line_u5, "stm32u5f7;stm32u5f9;stm32u5g7;stm32u5g9", 4096,
         PAGES(8192), 3008),
     .banks = 2, .dual_from = 4096 * KIB, .alt = &u5fx_dual},
    /* H7 (RM0433, RM0468): 128 KiB sectors, 8 per bank. H742/H743/H753
     * with 2 MiB are two banks, bank 2 at 0x08100000 with its register
     * block 0x100 above bank 1's; the 1 MiB parts keep bank 2 there too,
     * after a gap (bank2_at), and are refused, as the 128 KiB H750 (one
     * sector, not a bank of each). The dual-core H745/H747/H755/H757
     * share the id but are not listed: their M4 may write flash too.
     * H72x/H73x are one bank. SRAM: the 128 KiB DTCM at 0x20000000,
     * where the loader runs (loaders/families/h7.c). */
    {ROW(0x450, "STM32H742/H743/H753", line_h7, "stm32h742;stm32h743;stm32h753", 2048,
         PAGES(128 * KIB), 128),
     .banks = 2, .bank2_at = 1024 * KIB, .bank2_regs = 0x100, .bank2_start = 1024 * KIB},
    {ROW(0x483, "STM32H72x/H73x", line_h7, "stm32h723;stm32h725;stm32h730;stm32h733;stm32h735",
         1024, PAGES(128 * KIB), 128)},
    /* H7A3/H7B3 (RM0455): 2 MiB in two banks of 128 x 8 KiB, bank 2 at
     * 0x08100000 with its registers 0x100 above bank 1's, as on the H74x;
     * the 1 MiB H7A3xG keeps bank 2 there after a gap and is refused; the
     * 128 KiB H7B0xB is bank 1 alone (16 sectors: dual_from). SRAM: the
     * 128 KiB DTCM at 0x20000000. */
    {ROW(0x480, "STM32H7A3/H7B0/H7B3", line_h7ab, "stm32h7a3;stm32h7b0;stm32h7b3", 2048,
         PAGES(8 * KIB), 128),
     .banks = 2, .dual_from = 256 * KIB, .bank2_at = 1024 * KIB, .bank2_regs = 0x100,
     .bank2_start = 1024 * KIB},
    /* H5 (RM0481, RM0492): 8 KiB sectors in two banks of half the flash
     * each on every size (CMSIS FLASH_BANK_SIZE = FLASH_SIZE >> 1),
     * numbered per bank (SNB, BKSEL for bank 2). SRAM: SRAM1 alone (256,
     * 128 and 16 KiB), which has no ECC to trip over in uninitialised
     * words. TrustZone on is refused (loaders/families/h5.c). */
    {ROW(0x484, "STM32H56x/H57x", line_h5, "stm32h562;stm32h563;stm32h573", 2048, PAGES(8 * KIB),
         256),
     .banks = 2},
    {ROW(0x478, "STM32H52x/H53x", line_h5, "stm32h523;stm32h533", 512, PAGES(8 * KIB), 128),
     .banks = 2},
    {ROW(0x474, "STM32H503", line_h503, "stm32h503", 128, PAGES(8 * KIB), 16), .banks = 2},
};

const size_t fl_chip_nrows = sizeof fl_chip_rows / sizeof fl_chip_rows[0];
