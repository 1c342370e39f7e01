/*
 * The clock designs of the F2, F4 (but the F446, in clock_trees.c) and F7
 * parts, as data for clock.c (see clock_tree.h). They share one RCC
 * layout (RM0033 5.3, RM0090 6.3, RM0368 6.3, RM0383 6.3, RM0401 6.3,
 * RM0402 6.3, RM0386 6.3, RM0385 5.3, RM0410 5.3, RM0431 5.3):
 *  - RCC_CR: HSION b0, HSIRDY b1, HSITRIM b7:3 (reset 16), HSERDY b17,
 *    PLLON b24, PLLRDY b25, PLLI2SON/RDY b26/b27, PLLSAION/RDY b28/b29
 *    where the part has those PLLs (not modelled: ready as soon as on);
 *  - RCC_PLLCFGR (+0x04, reset 0x24003010: M 16, N 192, P /2, Q 4): PLLM
 *    b5:0, PLLN b14:6, PLLP b17:16 (/2 /4 /6 /8), PLLSRC b22 (0 HSI,
 *    1 HSE), PLLR b30:28 on parts that have an R output; "configured only
 *    when the PLL is disabled" (writes while PLLON is set are ignored [U]);
 *  - RCC_CFGR (+0x08): SW b1:0, SWS b3:2 (00 HSI, 01 HSE, 10 PLL, 11 PLL_R
 *    where SYSCLK can take the R output, else not allowed), HPRE b7:4.
 * Limits per part are the fact sheet's (docs/reference, section 5: header
 * RCC_PLLVCO_*, RCC_PLLN_*, RCC_MAX_FREQUENCY and FLASH_SCALEx_LATENCYy
 * macros, LL UTILS_* limits). Wait states are for 2.7-3.6 V. PWR voltage
 * scaling and over-drive are not modelled: the wait-state table stops at
 * what the part reaches without over-drive (168 MHz on F42x/F43x/F469,
 * 180 MHz on F7), above which reads are wrong at any LATENCY [U], as on
 * the F446.
 *
 * HSI start-up 4 us and PLL lock 100 us are the F446's datasheet maxima
 * (DS10693 6.3.9-6.3.10); the other F2/F4/F7 datasheets were not read and
 * are taken to match [U].
 */
#include "clock_tree.h"

#include <stdint.h>

#define MHZ 1000000u

/* AHB prescaler, RCC_CFGR.HPRE b7:4 (RM0090 6.3.3): 0xxx /1, 1000 /2 ...
 * 1111 /512, no /32. */
static const uint16_t hpre_div[16] = {1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 8, 16, 64, 128, 256, 512};

#define RCC_CR_HSION      (1u << 0)
#define RCC_CR_HSIRDY     (1u << 1)
#define RCC_CR_HSERDY     (1u << 17)
#define RCC_CR_PLLON      (1u << 24)
#define RCC_CR_PLLRDY     (1u << 25)
#define RCC_CR_PLLI2SON   (1u << 26)
#define RCC_CR_PLLI2SRDY  (1u << 27)
#define RCC_CR_PLLSAION   (1u << 28)
#define RCC_CR_PLLSAIRDY  (1u << 29)
#define RCC_PLLCFGR_RESET 0x24003010u

/* Everything but the PLL, the other PLLs, SW and the wait states. */
#define F4_TREE_COMMON                                                                             \
    .cr = 0x00, .cfgr = 0x08,                                                                      \
    .reset = {{0x00, RCC_CR_HSION | 16u << 3}, {0x04, RCC_PLLCFGR_RESET}},                         \
    .hsi = {.on = RCC_CR_HSION, .rdy = RCC_CR_HSIRDY, .hz = 16 * MHZ, .tsu_ns = 4000},             \
    .hse_rdy = RCC_CR_HSERDY, .sw_shift = 0, .sws_shift = 2, .sw_width = 2,                        \
    .hpre = {.shift = 4, .width = 4, .table = hpre_div, .min = 1, .max = 512}

/* The main PLL: VCO input (after M, 2..63) ref_min..2.1 MHz, N n_min..432,
 * VCO vco_min..432 MHz, P output up to p_max; r_max != 0 adds the R output
 * (/2../7) SW can select. */
#define F4_PLL(ref_min, n_min, vco_min, p_max, r_max)                                              \
    {                                                                                              \
        .on = RCC_CR_PLLON, .rdy = RCC_CR_PLLRDY, .lock_ns = 100000, .cfg = 0x04,                  \
        .frozen = 0xFFFFFFFFu, .src_shift = 22, .src_width = 1, .src = {SIM_CLK_HSI, SIM_CLK_HSE}, \
        .m = {.shift = 0, .width = 6, .mul = 1, .min = 2, .max = 63},                              \
        .n = {.shift = 6, .width = 9, .mul = 1, .min = (n_min), .max = 432},                       \
        .ref_min_hz = (ref_min), .ref_max_hz = 2100000, .vco_min_hz = (vco_min),                   \
        .vco_max_hz = 432 * MHZ,                                                                   \
        .out = {                                                                                   \
            {.div = {.shift = 16, .width = 2, .mul = 2, .add = 2, .min = 2, .max = 8},             \
             .max_hz = (p_max)},                                                                   \
            {.div = {.shift = 28, .width = 3, .mul = 1, .min = 2, .max = 7}, .max_hz = (r_max)},   \
        },                                                                                         \
    }

#define SW_PLL                                                                                     \
    {                                                                                              \
        SIM_CLK_HSI, SIM_CLK_HSE, SIM_CLK_PLL, SIM_CLK_NONE                                        \
    }
#define SW_PLLR                                                                                    \
    {                                                                                              \
        SIM_CLK_HSI, SIM_CLK_HSE, SIM_CLK_PLL, SIM_CLK_PLLR                                        \
    }

/* F205/F207/F215/F217 (RM0033 5): VCO input 0.95-2.1 MHz, VCO 192-432 MHz
 * (PLLN 192..432), 120 MHz; 0 WS <= 30 MHz, +1 per 30 MHz (LL-F2
 * UTILS_LATENCYn_FREQ). */
const sim_clock_tree sim_clock_f2 = {
    .name = "RM0033 5 (STM32F2 RCC)",
    F4_TREE_COMMON,
    .pll = F4_PLL(950000, 192, 192 * MHZ, 120 * MHZ, 0),
    .others = {{RCC_CR_PLLI2SON, RCC_CR_PLLI2SRDY}},
    .sw_src = SW_PLL,
    .ws_count = 4,
    .ws_max_hz = {30 * MHZ, 60 * MHZ, 90 * MHZ, 120 * MHZ},
};

/* F405/F407/F415/F417 (RM0090 6): VCO 100-432 MHz (PLLN 50..432), 168 MHz;
 * 30 MHz per wait state (RM0090 3.5.1 Table 10). */
const sim_clock_tree sim_clock_f40x = {
    .name = "RM0090 6 (STM32F405/F407 RCC)",
    F4_TREE_COMMON,
    .pll = F4_PLL(950000, 50, 100 * MHZ, 168 * MHZ, 0),
    .others = {{RCC_CR_PLLI2SON, RCC_CR_PLLI2SRDY}},
    .sw_src = SW_PLL,
    .ws_count = 6,
    .ws_max_hz = {30 * MHZ, 60 * MHZ, 90 * MHZ, 120 * MHZ, 150 * MHZ, 168 * MHZ},
};

/* F427/F429/F437/F439 (RM0090 6): as the F40x with PLLSAI, 180 MHz with
 * over-drive (not modelled: 168 MHz is the last wait-state step, RM0090
 * 3.5.1 Table 11). */
const sim_clock_tree sim_clock_f42x = {
    .name = "RM0090 6 (STM32F42x/F43x RCC)",
    F4_TREE_COMMON,
    .pll = F4_PLL(950000, 50, 100 * MHZ, 180 * MHZ, 0),
    .others = {{RCC_CR_PLLI2SON, RCC_CR_PLLI2SRDY}, {RCC_CR_PLLSAION, RCC_CR_PLLSAIRDY}},
    .sw_src = SW_PLL,
    .ws_count = 6,
    .ws_max_hz = {30 * MHZ, 60 * MHZ, 90 * MHZ, 120 * MHZ, 150 * MHZ, 168 * MHZ},
};

/* F469/F479 (RM0386 6): VCO 192-432 MHz (header), otherwise as the F42x;
 * PLLR feeds the DSI host only, not SYSCLK. */
const sim_clock_tree sim_clock_f469 = {
    .name = "RM0386 6 (STM32F469/F479 RCC)",
    F4_TREE_COMMON,
    .pll = F4_PLL(950000, 50, 192 * MHZ, 180 * MHZ, 0),
    .others = {{RCC_CR_PLLI2SON, RCC_CR_PLLI2SRDY}, {RCC_CR_PLLSAION, RCC_CR_PLLSAIRDY}},
    .sw_src = SW_PLL,
    .ws_count = 6,
    .ws_max_hz = {30 * MHZ, 60 * MHZ, 90 * MHZ, 120 * MHZ, 150 * MHZ, 168 * MHZ},
};

/* F401 (RM0368 6): VCO 192-432 MHz (PLLN 192..432), 84 MHz; 0 WS <= 30,
 * 1 <= 60, 2 <= 84 MHz (header FLASH_SCALEx_LATENCYy_FREQ). */
const sim_clock_tree sim_clock_f401 = {
    .name = "RM0368 6 (STM32F401 RCC)",
    F4_TREE_COMMON,
    .pll = F4_PLL(950000, 192, 192 * MHZ, 84 * MHZ, 0),
    .others = {{RCC_CR_PLLI2SON, RCC_CR_PLLI2SRDY}},
    .sw_src = SW_PLL,
    .ws_count = 3,
    .ws_max_hz = {30 * MHZ, 60 * MHZ, 84 * MHZ},
};

/* F411 (RM0383 6): VCO 100-432 MHz (PLLN 50..432), 100 MHz; 0 WS <= 30,
 * 1 <= 64, 2 <= 90, 3 <= 100 MHz (header FLASH_SCALE1_LATENCYn_FREQ). */
const sim_clock_tree sim_clock_f411 = {
    .name = "RM0383 6 (STM32F411 RCC)",
    F4_TREE_COMMON,
    .pll = F4_PLL(950000, 50, 100 * MHZ, 100 * MHZ, 0),
    .others = {{RCC_CR_PLLI2SON, RCC_CR_PLLI2SRDY}},
    .sw_src = SW_PLL,
    .ws_count = 4,
    .ws_max_hz = {30 * MHZ, 64 * MHZ, 90 * MHZ, 100 * MHZ},
};

/* F412 (RM0402 6) and F413/F423 (RM0430 6): the F411's limits, and SW 11
 * takes PLL_R (RCC_CFGR SW, PLLCFGR PLLR b30:28 /2../7). */
const sim_clock_tree sim_clock_f412 = {
    .name = "RM0402 6 (STM32F412/F413 RCC)",
    F4_TREE_COMMON,
    .pll = F4_PLL(950000, 50, 100 * MHZ, 100 * MHZ, 100 * MHZ),
    .others = {{RCC_CR_PLLI2SON, RCC_CR_PLLI2SRDY}},
    .sw_src = SW_PLLR,
    .ws_count = 4,
    .ws_max_hz = {30 * MHZ, 64 * MHZ, 90 * MHZ, 100 * MHZ},
};

/* F410 (RM0401 6): as the F412, without PLLI2S (RCC_CR b27:26 reserved). */
const sim_clock_tree sim_clock_f410 = {
    .name = "RM0401 6 (STM32F410 RCC)",
    F4_TREE_COMMON,
    .pll = F4_PLL(950000, 50, 100 * MHZ, 100 * MHZ, 100 * MHZ),
    .sw_src = SW_PLLR,
    .ws_count = 4,
    .ws_max_hz = {30 * MHZ, 64 * MHZ, 90 * MHZ, 100 * MHZ},
};

/* F7 (RM0385 5, RM0410 5, RM0431 5): VCO input 0.95-2.1 MHz, VCO 100-432
 * MHz, PLLN 50..432, 216 MHz with over-drive; 30 MHz per wait state up to
 * 7 WS at 216 MHz (LL-F7 UTILS_SCALE1_LATENCYn_FREQ), FLASH_ACR.LATENCY
 * b3:0. Without
 * over-drive (not modelled) 180 MHz is the last step [U]. PLLR (F76x/F77x)
 * feeds the DSI host and SAI only, not SYSCLK. */
const sim_clock_tree sim_clock_f7 = {
    .name = "RM0385 5 (STM32F7 RCC)",
    F4_TREE_COMMON,
    .pll = F4_PLL(950000, 50, 100 * MHZ, 216 * MHZ, 0),
    .others = {{RCC_CR_PLLI2SON, RCC_CR_PLLI2SRDY}, {RCC_CR_PLLSAION, RCC_CR_PLLSAIRDY}},
    .sw_src = SW_PLL,
    .ws_count = 6,
    .ws_max_hz = {30 * MHZ, 60 * MHZ, 90 * MHZ, 120 * MHZ, 150 * MHZ, 180 * MHZ},
};
