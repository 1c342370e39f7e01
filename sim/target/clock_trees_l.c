/*
 * The clock designs of the STM32L1, L5 and U5, as data for clock.c (see
 * clock_tree.h and clock_trees.c for the conventions). Start-up and lock
 * times are datasheet maxima; wait-state tables are for the voltage range
 * the part resets to (PWR voltage scaling is not modelled).
 */
#include "clock_tree.h"

#include <stdint.h>

#define MHZ 1000000u

/* AHB prescaler RCC_CFGR.HPRE b7:4 as on the other parts (RM0038 6.3.3). */
static const uint16_t hpre_div[16] = {1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 8, 16, 64, 128, 256, 512};

/* ---- STM32L1 (RM0038 6.2, 6.3.1-6.3.3; STM32L151xB/xC/xE datasheets) ---- */

/* RCC_CR, RM0038 6.3.1 */
#define RCC_CR_HSION  (1u << 0)
#define RCC_CR_HSIRDY (1u << 1)
#define RCC_CR_MSION  (1u << 8)
#define RCC_CR_MSIRDY (1u << 9)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_PLLON  (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
/* RCC_ICSCR, RM0038 6.3.2: MSIRANGE b15:13, reset range 5 (0x0000B000
 * with the trim fields' reset values). */
#define RCC_ICSCR_RESET 0x0000B000u
/* RCC_CFGR, RM0038 6.3.3: PLLSRC b16, PLLMUL b21:18, PLLDIV b23:22 */
#define RCC_CFGR_PLLSRC (1u << 16)
#define RCC_CFGR_PLLMUL (0xFu << 18)
#define RCC_CFGR_PLLDIV (3u << 22)

/* PLLMUL: x3, x4, x6, x8, x12, x16, x24, x32, x48; the rest not allowed. */
static const uint16_t l1_pllmul[16] = {3, 4, 6, 8, 12, 16, 24, 32, 48};
/* PLLDIV: 00 not allowed, /2, /3, /4. */
static const uint16_t l1_plldiv[4] = {0, 2, 3, 4};

const sim_clock_tree sim_clock_l1 = {
    .name = "RM0038 6 (STM32L1 RCC)",
    .cr = 0x00,
    .cfgr = 0x08,
    .reset = {{0x00, RCC_CR_MSION}, {0x04, RCC_ICSCR_RESET}},
    /* HSI 16 MHz, tsu(HSI) 3.7 us max (STM32L151xC datasheet "High-speed
     * internal (HSI) RC oscillator"), rounded up to 4 us [U]. */
    .hsi = {.on = RCC_CR_HSION, .rdy = RCC_CR_HSIRDY, .hz = 16 * MHZ, .tsu_ns = 4000},
    .msi = {.on = RCC_CR_MSION, .rdy = RCC_CR_MSIRDY, .tsu_ns = 10000},
    /* RM0038 6.2.3: range k = 65.536 kHz << k for k = 0..6; 111 not
     * allowed (kept at the old range). Reset: range 5, 2.097 MHz. */
    .msi_range = {.reg = 0x04,
                  .shift = 13,
                  .width = 3,
                  .hz = {65536, 131072, 262144, 524288, 1048576, 2097152, 4194304, 0}},
    .hse_rdy = RCC_CR_HSERDY,
    .pll =
        {
            .on = RCC_CR_PLLON,
            .rdy = RCC_CR_PLLRDY,
            .lock_ns = 160000, /* tLOCK max, datasheet "PLL characteristics" [U] */
            .cfg = 0x08,
            /* "written only when PLL is disabled" (RM0038 6.3.3) */
            .frozen = RCC_CFGR_PLLSRC | RCC_CFGR_PLLMUL | RCC_CFGR_PLLDIV,
            .src_shift = 16,
            .src_width = 1,
            .src = {SIM_CLK_HSI, SIM_CLK_HSE},
            .n = {.shift = 18, .width = 4, .table = l1_pllmul, .min = 3, .max = 48},
            /* RM0038 6.2.4: input 2-24 MHz; the VCO (input x PLLMUL) at
             * most 96 MHz in range 1, 48 MHz in range 2 (the reset range,
             * the only one modelled); PLL output at most 32 MHz. */
            .ref_min_hz = 2 * MHZ,
            .ref_max_hz = 24 * MHZ,
            .vco_max_hz = 48 * MHZ,
            .out = {{.div = {.shift = 22, .width = 2, .table = l1_plldiv, .min = 2, .max = 4},
                     .max_hz = 32 * MHZ}},
        },
    /* RM0038 6.3.3: SW 00 MSI, 01 HSI, 10 HSE, 11 PLL. */
    .sw_shift = 0,
    .sws_shift = 2,
    .sw_width = 2,
    .sw_src = {SIM_CLK_MSI, SIM_CLK_HSI, SIM_CLK_HSE, SIM_CLK_PLL},
    .hpre = {.shift = 4, .width = 4, .table = hpre_div, .min = 1, .max = 512},
    /* RM0038 3.3.1 Table 13, voltage range 2 (PWR_CR.VOS reset value 10):
     * 0 WS up to 8 MHz, 1 WS up to 16 MHz; range 1 (16 / 32 MHz) needs
     * PWR_CR.VOS = 01, which the board does not model: above 16 MHz reads
     * are wrong at any LATENCY [U: stricter than silicon for a host that
     * selects range 1, as OpenOCD's stm32l1.cfg reset-init does]. HSI16
     * with LATENCY 0 is refused here as on silicon in range 2; LATENCY
     * itself needs ACC64 first (flash_l0.c). */
    .ws_count = 2,
    .ws_max_hz = {8 * MHZ, 16 * MHZ},
};

#undef RCC_CR_HSION
#undef RCC_CR_HSIRDY
#undef RCC_CR_MSION
#undef RCC_CR_MSIRDY
#undef RCC_CR_HSERDY
#undef RCC_CR_PLLON
#undef RCC_CR_PLLRDY
#undef RCC_ICSCR_RESET
#undef RCC_CFGR_PLLSRC
#undef RCC_CFGR_PLLMUL
#undef RCC_CFGR_PLLDIV

/* ---- STM32L5 (RM0438 9.2, 9.8.1-9.8.4) ------------------------------------ */

/* RCC_CR, RM0438 9.8.1: the L4 layout */
#define RCC_CR_MSION     (1u << 0)
#define RCC_CR_MSIRDY    (1u << 1)
#define RCC_CR_MSIRGSEL  (1u << 3)
#define RCC_CR_HSION     (1u << 8)
#define RCC_CR_HSIRDY    (1u << 10)
#define RCC_CR_HSERDY    (1u << 17)
#define RCC_CR_PLLON     (1u << 24)
#define RCC_CR_PLLRDY    (1u << 25)
#define RCC_CR_PLLSAI1ON (1u << 26)
#define RCC_CR_PLL1RDY   (1u << 27)
#define RCC_CR_PLLSAI2ON (1u << 28)
#define RCC_CR_PLL2RDY   (1u << 29)
/* RCC_PLLCFGR, RM0438 9.8.4: PLLSRC b1:0, PLLM b7:4, PLLN b14:8, PLLPEN
 * b16, PLLQEN b20, PLLREN b24, PLLR b26:25; reset PLLN 16. */
#define RCC_PLLCFGR_PLLPEN (1u << 16)
#define RCC_PLLCFGR_PLLQEN (1u << 20)
#define RCC_PLLCFGR_PLLREN (1u << 24)

const sim_clock_tree sim_clock_l5 = {
    .name = "RM0438 9 (STM32L5 RCC)",
    .cr = 0x00,
    .cfgr = 0x08,
    .csr_fixed = 6u << 8, /* RCC_CSR.MSISRANGE 6, 4 MHz */
    .reset = {{0x00, RCC_CR_MSION | 6u << 4}, {0x04, 0x40000000u}, {0x0C, 0x00001000u}},
    .hsi = {.on = RCC_CR_HSION, .rdy = RCC_CR_HSIRDY, .hz = 16 * MHZ, .tsu_ns = 1200},
    .msi = {.on = RCC_CR_MSION, .rdy = RCC_CR_MSIRDY, .tsu_ns = 10000},
    .msi_range = {.reg = 0x00,
                  .sel = RCC_CR_MSIRGSEL,
                  .shift = 4,
                  .width = 4,
                  .unsel_range = 6,
                  .hz = {100000, 200000, 400000, 800000, 1 * MHZ, 2 * MHZ, 4 * MHZ, 8 * MHZ,
                         16 * MHZ, 24 * MHZ, 32 * MHZ, 48 * MHZ}},
    .hse_rdy = RCC_CR_HSERDY,
    .pll =
        {
            .on = RCC_CR_PLLON,
            .rdy = RCC_CR_PLLRDY,
            .lock_ns = 40000, /* tLOCK [U: the L4 figure] */
            .cfg = 0x0C,
            .frozen = ~(RCC_PLLCFGR_PLLPEN | RCC_PLLCFGR_PLLQEN | RCC_PLLCFGR_PLLREN),
            .src_shift = 0,
            .src_width = 2,
            .src = {SIM_CLK_NONE, SIM_CLK_MSI, SIM_CLK_HSI, SIM_CLK_HSE},
            .m = {.shift = 4, .width = 4, .mul = 1, .add = 1, .min = 1, .max = 16},
            .n = {.shift = 8, .width = 7, .mul = 1, .min = 8, .max = 86},
            /* RM0438 9.4.4: VCO input 4-16 MHz, output 64-344 MHz; PLLCLK
             * (R) at most 110 MHz (range 0). */
            .ref_min_hz = 4 * MHZ,
            .ref_max_hz = 16 * MHZ,
            .vco_min_hz = 64 * MHZ,
            .vco_max_hz = 344 * MHZ,
            .out = {{.div = {.shift = 25, .width = 2, .mul = 2, .add = 2, .min = 2, .max = 8},
                     .en = RCC_PLLCFGR_PLLREN,
                     .max_hz = 110 * MHZ}},
        },
    .others = {{RCC_CR_PLLSAI1ON, RCC_CR_PLL1RDY}, {RCC_CR_PLLSAI2ON, RCC_CR_PLL2RDY}},
    .sw_shift = 0,
    .sws_shift = 2,
    .sw_width = 2,
    .sw_src = {SIM_CLK_MSI, SIM_CLK_HSI, SIM_CLK_HSE, SIM_CLK_PLL},
    .hpre = {.shift = 4, .width = 4, .table = hpre_div, .min = 1, .max = 512},
    /* Voltage range 2, PWR_CR1.VOS after reset (RM0438 6.3.3 Table 32
     * [U: figures]): 0 WS up to 8 MHz, 1 up to 16 MHz, 2 up to 26 MHz;
     * ranges 0/1 (up to 110 / 80 MHz) need VOS, not modelled. */
    .ws_count = 3,
    .ws_max_hz = {8 * MHZ, 16 * MHZ, 26 * MHZ},
};

#undef RCC_CR_MSION
#undef RCC_CR_MSIRDY
#undef RCC_CR_MSIRGSEL
#undef RCC_CR_HSION
#undef RCC_CR_HSIRDY
#undef RCC_CR_HSERDY
#undef RCC_CR_PLLON
#undef RCC_CR_PLLRDY
#undef RCC_CR_PLLSAI1ON
#undef RCC_CR_PLL1RDY
#undef RCC_CR_PLLSAI2ON
#undef RCC_CR_PLL2RDY
#undef RCC_PLLCFGR_PLLPEN
#undef RCC_PLLCFGR_PLLQEN
#undef RCC_PLLCFGR_PLLREN

/* ---- STM32U5 (RM0456 11.4, 11.8.1-11.8.8) ---------------------------------- */

/* RCC_CR, RM0456 11.8.1 */
#define RCC_CR_MSISON  (1u << 0)
#define RCC_CR_MSISRDY (1u << 2)
#define RCC_CR_HSION   (1u << 8)
#define RCC_CR_HSIRDY  (1u << 10)
#define RCC_CR_HSERDY  (1u << 17)
#define RCC_CR_PLL1ON  (1u << 24)
#define RCC_CR_PLL1RDY (1u << 25)
#define RCC_CR_PLL2ON  (1u << 26)
#define RCC_CR_PLL2RDY (1u << 27)
#define RCC_CR_PLL3ON  (1u << 28)
#define RCC_CR_PLL3RDY (1u << 29)
/* RCC_ICSCR1 (0x08), RM0456 11.8.2: MSIRGSEL b23, MSISRANGE b31:28;
 * RCC_CSR.MSISSRANGE (used while MSIRGSEL = 0) resets to 4 MHz. */
#define RCC_ICSCR1_MSIRGSEL (1u << 23)
/* RCC_PLL1CFGR (0x28), RM0456 11.8.8: PLL1SRC b1:0, PLL1M b11:8, PLL1PEN
 * b16, PLL1QEN b17, PLL1REN b18. */
#define RCC_PLL1CFGR_PENS (7u << 16)

/* See .hpre below. */
static const uint16_t u5_no_hpre[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

const sim_clock_tree sim_clock_u5 = {
    .name = "RM0456 11 (STM32U5 RCC)",
    .cr = 0x00,
    .cfgr = 0x1C, /* RCC_CFGR1: SW b1:0, SWS b3:2 */
    .reset = {{0x00, RCC_CR_MSISON}, {0x08, 0x44000000u}},
    .hsi = {.on = RCC_CR_HSION, .rdy = RCC_CR_HSIRDY, .hz = 16 * MHZ, .tsu_ns = 4000},
    .msi = {.on = RCC_CR_MSISON, .rdy = RCC_CR_MSISRDY, .tsu_ns = 10000},
    /* MSIS ranges (RM0456 11.4.4): 0 48 MHz, 1 24, 2 16, 3 12, 4 4, 5 2,
     * 6 1.33, 7 1, 8 3.072, 9 1.536, 10 1.024, 11 0.768, 12 0.4, 13 0.2,
     * 14 0.133, 15 0.1. */
    .msi_range = {.reg = 0x08,
                  .sel = RCC_ICSCR1_MSIRGSEL,
                  .shift = 28,
                  .width = 4,
                  .unsel_range = 4,
                  .hz = {48 * MHZ, 24 * MHZ, 16 * MHZ, 12 * MHZ, 4 * MHZ, 2 * MHZ, 1330000, 1 * MHZ,
                         3072000, 1536000, 1024000, 768000, 400000, 200000, 133000, 100000}},
    .hse_rdy = RCC_CR_HSERDY,
    /*
     * PLL1: source and M are in RCC_PLL1CFGR, but N and R live in
     * RCC_PLL1DIVR (0x34), a register the engine cannot combine with them;
     * N is left out, so the VCO never reaches its 128 MHz minimum and PLL1
     * never locks [U: unfinished; a host that relies on PLL1 fails here, the
     * harder side]. Reaching more than 55 MHz would also need the EPOD
     * booster (PWR_VOSR.BOOSTEN, RM0456 10.5.4), not modelled.
     */
    .pll =
        {
            .on = RCC_CR_PLL1ON,
            .rdy = RCC_CR_PLL1RDY,
            .lock_ns = 40000, /* [U] */
            .cfg = 0x28,
            .frozen = ~RCC_PLL1CFGR_PENS,
            .src_shift = 0,
            .src_width = 2,
            .src = {SIM_CLK_NONE, SIM_CLK_MSI, SIM_CLK_HSI, SIM_CLK_HSE},
            .m = {.shift = 8, .width = 4, .mul = 1, .add = 1, .min = 1, .max = 16},
            .ref_min_hz = 4 * MHZ,
            .ref_max_hz = 16 * MHZ,
            .vco_min_hz = 128 * MHZ,
            .vco_max_hz = 544 * MHZ,
            .out = {{.en = 1u << 18, .max_hz = 160 * MHZ}},
        },
    .others = {{RCC_CR_PLL2ON, RCC_CR_PLL2RDY}, {RCC_CR_PLL3ON, RCC_CR_PLL3RDY}},
    .sw_shift = 0,
    .sws_shift = 2,
    .sw_width = 2,
    .sw_src = {SIM_CLK_MSI, SIM_CLK_HSI, SIM_CLK_HSE, SIM_CLK_PLL},
    /* HPRE is in RCC_CFGR2, which the engine does not read: the field
     * named here is CFGR1 b15:12 (reserved, always 0) decoding to /1, so
     * HCLK = SYSCLK, the stricter side for the wait states [U]. */
    .hpre = {.shift = 12, .width = 4, .table = u5_no_hpre, .min = 1, .max = 1},
    /* Voltage range 4 after reset (PWR_VOSR.VOS, RM0456 7.3.3 Table 54
     * [U: figures]): 0 WS up to 12 MHz, 1 up to 25 MHz. */
    .ws_count = 2,
    .ws_max_hz = {12 * MHZ, 25 * MHZ},
};

#undef RCC_CR_MSISON
#undef RCC_CR_MSISRDY
#undef RCC_CR_HSION
#undef RCC_CR_HSIRDY
#undef RCC_CR_HSERDY
#undef RCC_CR_PLL1ON
#undef RCC_CR_PLL1RDY
#undef RCC_CR_PLL2ON
#undef RCC_CR_PLL2RDY
#undef RCC_CR_PLL3ON
#undef RCC_CR_PLL3RDY
#undef RCC_ICSCR1_MSIRGSEL
#undef RCC_PLL1CFGR_PENS
