/*
 * The clock designs of the F0 and F3 parts, as data for clock.c (see
 * clock_tree.h). Both keep the F1's RCC layout (RM0091 7.4.1-7.4.2 and
 * 7.4.12, RM0360 6.4, RM0316 9.4.1-9.4.2 and 9.4.13):
 *  - RCC_CR: HSION b0, HSIRDY b1, HSITRIM b7:3 (reset 16), HSERDY b17,
 *    PLLON b24, PLLRDY b25;
 *  - RCC_CFGR (+0x04): SW b1:0, SWS b3:2, HPRE b7:4, PLLSRC b16 (b16:15 on
 *    the parts that can divide HSI by PREDIV), PLLXTPRE b17, PLLMUL b21:18
 *    (code k: x(k+2), 1111 x16);
 *  - RCC_CFGR2 (+0x2C): PREDIV b3:0, /1../16, on the PLL's HSE input and,
 *    where selectable, on HSI ("HSI/PREDIV"); written only while the PLL is
 *    off.
 * PLLSRC 00 is HSI/2 everywhere; HSI/PREDIV exists on F030xC, F04x, F070,
 * F07x, F09x and F302xD/E, F303xD/E, F398 (header
 * RCC_CFGR_PLLSRC_HSI_PREDIV, fact sheet 5).
 * SW 11 selects HSI48 on the F04x/F07x/F09x: not modelled, such a switch
 * never completes [U: stricter than silicon]; elsewhere it is not allowed.
 *
 * Limits are the fact sheet's (section 5: HAL IS_RCC_PLL_MUL,
 * IS_RCC_PREDIV, LL UTILS_PLL_OUTPUT_MIN/MAX and UTILS_LATENCYn_FREQ): F0
 * PLL output 16-48 MHz, 48 MHz, 1 wait state above 24 MHz (LATENCY is one
 * bit); F3 output up to 72 MHz, 0 WS <= 24, 1 <= 48, 2 <= 72 MHz. The
 * F0/F3 datasheets' oscillator tables were not read: HSI start-up 2 us,
 * PLL lock 200 us, PLL input 1-24 MHz and F3 output minimum 16 MHz are the
 * F103's figures (DS5319) taken for them [U].
 */
#include "clock_tree.h"

#include <stdint.h>

#define MHZ 1000000u

/* RCC_CFGR.HPRE b7:4, as on the F1. */
static const uint16_t hpre_div[16] = {1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 8, 16, 64, 128, 256, 512};
/* PLLMUL: code k -> x(k+2), 1111 x16. */
static const uint16_t pllmul[16] = {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 16};

#define RCC_CR_HSION      (1u << 0)
#define RCC_CR_HSIRDY     (1u << 1)
#define RCC_CR_HSERDY     (1u << 17)
#define RCC_CR_PLLON      (1u << 24)
#define RCC_CR_PLLRDY     (1u << 25)
#define RCC_CFGR_PLLSRC   (3u << 15) /* b16:15; b15 reserved on the others */
#define RCC_CFGR_PLLXTPRE (1u << 17)
#define RCC_CFGR_PLLMUL   (0xFu << 18)
#define RCC_CFGR2         0x2Cu

/* Everything but the PLL and the wait states. */
#define F0F3_TREE_COMMON                                                                           \
    .cr = 0x00, .cfgr = 0x04, .reset = {{0x00, RCC_CR_HSION | 16u << 3}},                          \
    .hsi = {.on = RCC_CR_HSION, .rdy = RCC_CR_HSIRDY, .hz = 8 * MHZ, .tsu_ns = 2000},              \
    .hse_rdy = RCC_CR_HSERDY, .sw_shift = 0, .sws_shift = 2, .sw_width = 2,                        \
    .sw_src = {SIM_CLK_HSI, SIM_CLK_HSE, SIM_CLK_PLL, SIM_CLK_NONE},                               \
    .hpre = {.shift = 4, .width = 4, .table = hpre_div, .min = 1, .max = 512}

/* The PLL whose HSI input is HSI/2 only: PLLSRC b16 (0 HSI/2, 1
 * HSE/PREDIV). */
#define PLL_HSI2(max_out)                                                                          \
    {                                                                                              \
        .on = RCC_CR_PLLON, .rdy = RCC_CR_PLLRDY, .lock_ns = 200000, .cfg = 0x04,                  \
        .frozen = RCC_CFGR_PLLSRC | RCC_CFGR_PLLXTPRE | RCC_CFGR_PLLMUL, .src_shift = 16,          \
        .src_width = 1, .src = {SIM_CLK_HSI, SIM_CLK_HSE}, .src_div = {2, 1}, .src_skip_m = 1,     \
        .m = {.shift = 0, .width = 4, .mul = 1, .add = 1, .min = 1, .max = 16},                    \
        .m_reg = RCC_CFGR2, .n = {.shift = 18, .width = 4, .table = pllmul, .min = 2, .max = 16},  \
        .ref_min_hz = 1 * MHZ, .ref_max_hz = 24 * MHZ, .vco_min_hz = 0, .vco_max_hz = UINT32_MAX,  \
        .out = {{.min_hz = 16 * MHZ, .max_hz = (max_out)}},                                        \
    }

/* PLLSRC b16:15: 00 HSI/2, 01 HSI/PREDIV, 10 HSE/PREDIV, 11 HSI48/PREDIV
 * (not modelled: never locks [U]). */
#define PLL_PREDIV(max_out)                                                                        \
    {                                                                                              \
        .on = RCC_CR_PLLON, .rdy = RCC_CR_PLLRDY, .lock_ns = 200000, .cfg = 0x04,                  \
        .frozen = RCC_CFGR_PLLSRC | RCC_CFGR_PLLXTPRE | RCC_CFGR_PLLMUL, .src_shift = 15,          \
        .src_width = 2, .src = {SIM_CLK_HSI, SIM_CLK_HSI, SIM_CLK_HSE, SIM_CLK_NONE},              \
        .src_div = {2, 1, 1, 1}, .src_skip_m = 1,                                                  \
        .m = {.shift = 0, .width = 4, .mul = 1, .add = 1, .min = 1, .max = 16},                    \
        .m_reg = RCC_CFGR2, .n = {.shift = 18, .width = 4, .table = pllmul, .min = 2, .max = 16},  \
        .ref_min_hz = 1 * MHZ, .ref_max_hz = 24 * MHZ, .vco_min_hz = 0, .vco_max_hz = UINT32_MAX,  \
        .out = {{.min_hz = 16 * MHZ, .max_hz = (max_out)}},                                        \
    }

/* F030x4/x6/x8, F031, F038, F051, F058 (RM0091 7, RM0360 6). */
const sim_clock_tree sim_clock_f0 = {
    .name = "RM0091 7 (STM32F0 RCC, HSI/2 PLL input)",
    F0F3_TREE_COMMON,
    .pll = PLL_HSI2(48 * MHZ),
    .ws_count = 2,
    .ws_max_hz = {24 * MHZ, 48 * MHZ},
};

/* F030xC, F04x, F070, F07x, F09x (RM0091 7, RM0360 6). */
const sim_clock_tree sim_clock_f0_prediv = {
    .name = "RM0091 7 (STM32F0 RCC, HSI/PREDIV PLL input)",
    F0F3_TREE_COMMON,
    .pll = PLL_PREDIV(48 * MHZ),
    .ws_count = 2,
    .ws_max_hz = {24 * MHZ, 48 * MHZ},
};

/* F301/F302/F303/F318/F328/F334/F358/F373/F378 (RM0316 9, RM0365 8,
 * RM0364 8, RM0313 7). */
const sim_clock_tree sim_clock_f3 = {
    .name = "RM0316 9 (STM32F3 RCC, HSI/2 PLL input)",
    F0F3_TREE_COMMON,
    .pll = PLL_HSI2(72 * MHZ),
    .ws_count = 3,
    .ws_max_hz = {24 * MHZ, 48 * MHZ, 72 * MHZ},
};

/* F302xD/E, F303xD/E, F398 (RM0316 9). */
const sim_clock_tree sim_clock_f3_prediv = {
    .name = "RM0316 9 (STM32F3 RCC, HSI/PREDIV PLL input)",
    F0F3_TREE_COMMON,
    .pll = PLL_PREDIV(72 * MHZ),
    .ws_count = 3,
    .ws_max_hz = {24 * MHZ, 48 * MHZ, 72 * MHZ},
};
