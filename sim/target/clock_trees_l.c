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
