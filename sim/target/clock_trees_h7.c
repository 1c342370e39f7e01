/*
 * The STM32H7 clock designs as data for clock.c (see clock_tree.h): the
 * H742/H743/H750/H753 (RM0433 section 8, RCC) and the H723/H725/H730/H733
 * (RM0468 section 8). Both have the same registers for what the engine
 * models:
 *  - RCC_CR (+0x00, RM0433 8.7.2): HSION b0, HSIRDY b2, HSIDIV b4:3
 *    (reset /1: 64 MHz), HSIDIVF b5, CSION b7 / CSIRDY b8, HSI48ON b12 /
 *    HSI48RDY b13, D1CKRDY b14, D2CKRDY b15, HSEON b16, HSERDY b17,
 *    PLL1ON b24 / PLL1RDY b25, PLL2ON b26 / PLL2RDY b27, PLL3ON b28 /
 *    PLL3RDY b29; reset: HSION, HSIDIVF, D1CKRDY, D2CKRDY set [U: the
 *    domain-ready bits are storage here, set at reset];
 *  - RCC_CFGR (+0x10, 8.7.7): SW b2:0, SWS b5:3 (000 HSI, 001 CSI, 010 HSE,
 *    011 PLL1 p output);
 *  - RCC_D1CFGR (+0x18, 8.7.8): HPRE b3:0 (0xxx /1, 1000 /2 ... 1111 /512),
 *    the AXI/AHB clock (rcc_hclk3) that the flash interface runs on;
 *    D1CPRE b11:8 (the core's own prescaler) is not modelled: the core runs
 *    at HCLK here, slower than silicon with HPRE > 1 [U];
 *  - RCC_PLLCKSELR (+0x28, 8.7.11, reset 0x02020200): PLLSRC b1:0 (00 HSI,
 *    01 CSI, 10 HSE, 11 none), DIVM1 b9:4 (0: prescaler off, 1..63);
 *  - RCC_PLL1DIVR (+0x30, 8.7.13, reset 0x01010280): DIVN1 b8:0 (N = code
 *    + 1, 4..512), DIVP1 b15:9 (P = code + 1; the manual allows only even P
 *    on PLL1: odd codes are not refused here [U]);
 *  - RCC_PLLCFGR (+0x2C, reset 0x01FF0000) holds DIVP1EN b16 (set at
 *    reset): not read by the engine, the P output counts as enabled [U].
 * CSI and HSE never become ready as SYSCLK sources (CSI: not modelled,
 * stricter than silicon [U]; HSE: not fitted). PLL2/PLL3/HSI48 are ready
 * as soon as they are on.
 *
 * PLL1 in the wide VCO range (PLL1VCOSEL = 0, reset): reference after
 * DIVM1 2-16 MHz, VCO 192-836 MHz (DS12110 PLL characteristics [U]). PWR
 * voltage scaling is not modelled: the trees are for the voltage range
 * the parts reset to (VOS3), whose wait-state table (FLASH_ACR LATENCY
 * b3:0 against the AXI clock) is the last word: a host that raises VOS to
 * run faster sees reads fail where silicon would not [U], as on the L1,
 * L5 and U5. HSI start-up 12 us and PLL lock 150 us are datasheet maxima
 * [U: DS12110 figures as remembered, not re-read].
 */
#include "clock_tree.h"

#include <stdint.h>

#define MHZ 1000000u

/* RCC_D1CFGR.HPRE b3:0 (RM0433 8.7.8): 0xxx /1, 1000 /2 ... 1111 /512. */
static const uint16_t hpre_div[16] = {1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 8, 16, 64, 128, 256, 512};

#define RCC_CR_HSION    (1u << 0)
#define RCC_CR_HSIRDY   (1u << 2)
#define RCC_CR_HSIDIVF  (1u << 5)
#define RCC_CR_HSI48ON  (1u << 12)
#define RCC_CR_HSI48RDY (1u << 13)
#define RCC_CR_D1CKRDY  (1u << 14)
#define RCC_CR_D2CKRDY  (1u << 15)
#define RCC_CR_HSERDY   (1u << 17)
#define RCC_CR_PLL1ON   (1u << 24)
#define RCC_CR_PLL1RDY  (1u << 25)
#define RCC_CR_PLL2ON   (1u << 26)
#define RCC_CR_PLL2RDY  (1u << 27)
#define RCC_CR_PLL3ON   (1u << 28)
#define RCC_CR_PLL3RDY  (1u << 29)
#define RCC_CFGR        0x10
#define RCC_D1CFGR      0x18
#define RCC_PLLCKSELR   0x28
#define RCC_PLLCFGR     0x2C
#define RCC_PLL1DIVR    0x30
#define PLLCKSELR_RESET 0x02020200u
#define PLLCFGR_RESET   0x01FF0000u
#define PLL1DIVR_RESET  0x01010280u

/* RM0433, RM0468 and RM0455 share this layout; p_max is the PLL1 P output
 * limit at the reset voltage range, the VCO (wide range) and DIVN1 limits
 * are the design's. */
#define H7_TREE(p_max) H7_TREE_PLL(p_max, 192 * MHZ, 836 * MHZ, 4, 512)
#define H7_TREE_PLL(p_max, vco_min, vco_max, n_min, n_max)                                         \
    .cr = 0x00, .cfgr = RCC_CFGR,                                                                  \
    .reset = {{0x00, RCC_CR_HSION | RCC_CR_HSIDIVF | RCC_CR_D1CKRDY | RCC_CR_D2CKRDY},             \
              {RCC_PLLCKSELR, PLLCKSELR_RESET},                                                    \
              {RCC_PLLCFGR, PLLCFGR_RESET},                                                        \
              {RCC_PLL1DIVR, PLL1DIVR_RESET}},                                                     \
    .hsi = {.on = RCC_CR_HSION, .rdy = RCC_CR_HSIRDY, .hz = 64 * MHZ, .tsu_ns = 12000},            \
    .hse_rdy = RCC_CR_HSERDY,                                                                      \
    .pll =                                                                                         \
        {                                                                                          \
            .on = RCC_CR_PLL1ON,                                                                   \
            .rdy = RCC_CR_PLL1RDY,                                                                 \
            .lock_ns = 150000,                                                                     \
            .cfg = RCC_PLL1DIVR,                                                                   \
            .frozen = 0xFFFFFFFFu,                                                                 \
            .src_reg = RCC_PLLCKSELR,                                                              \
            .src_shift = 0,                                                                        \
            .src_width = 2,                                                                        \
            .src = {SIM_CLK_HSI, SIM_CLK_NONE, SIM_CLK_HSE, SIM_CLK_NONE},                         \
            .m = {.shift = 4, .width = 6, .mul = 1, .min = 1, .max = 63},                          \
            .m_reg = RCC_PLLCKSELR,                                                                \
            .n = {.shift = 0, .width = 9, .mul = 1, .add = 1, .min = (n_min), .max = (n_max)},     \
            .ref_min_hz = 2 * MHZ,                                                                 \
            .ref_max_hz = 16 * MHZ,                                                                \
            .vco_min_hz = (vco_min),                                                               \
            .vco_max_hz = (vco_max),                                                               \
            .out = {{.div = {.shift = 9, .width = 7, .mul = 1, .add = 1, .min = 2, .max = 128},    \
                     .max_hz = (p_max)}},                                                          \
    },                                                                                             \
    .others = {{RCC_CR_PLL2ON, RCC_CR_PLL2RDY},                                                    \
               {RCC_CR_PLL3ON, RCC_CR_PLL3RDY},                                                    \
               {RCC_CR_HSI48ON, RCC_CR_HSI48RDY}},                                                 \
    .sw_shift = 0, .sws_shift = 3, .sw_width = 3,                                                  \
    .sw_src = {SIM_CLK_HSI, SIM_CLK_NONE, SIM_CLK_HSE, SIM_CLK_PLL},                               \
    .hpre = {.shift = 0, .width = 4, .table = hpre_div, .min = 1, .max = 512},                     \
    .hpre_reg = RCC_D1CFGR

/* H742/H743/H750/H753 (RM0433 8; DS12110): at VOS3 the CPU clock reaches
 * 200 MHz; wait states against the AXI clock at VOS3 (RM0433 4.3.8 Table
 * 17 "FLASH recommended number of wait states and programming delay"):
 * 0 WS <= 45 MHz, 1 <= 90, 2 <= 135, 3 <= 180, 4 <= 225. */
const sim_clock_tree sim_clock_h743 = {
    .name = "RM0433 8 (STM32H742/H743/H750/H753 RCC)",
    H7_TREE(200 * MHZ),
    .ws_count = 5,
    .ws_max_hz = {45 * MHZ, 90 * MHZ, 135 * MHZ, 180 * MHZ, 225 * MHZ},
};

/* H723/H725/H730/H733/H735 (RM0468 8; DS13313): at VOS3 the CPU clock
 * reaches 170 MHz [U]; wait states at VOS3 (RM0468 4.3.8 Table 16): 0 WS
 * <= 35 MHz, 1 <= 70 (as a device-id keyed test table for 0x483 states
 * them, docs/reference/stm32-h7-sim.md), 2 <= 85 [U]. */
const sim_clock_tree sim_clock_h723 = {
    .name = "RM0468 8 (STM32H72x/H73x RCC)",
    H7_TREE(170 * MHZ),
    .ws_count = 3,
    .ws_max_hz = {35 * MHZ, 70 * MHZ, 85 * MHZ},
};

/* H7A3/H7B3/H7B0 (RM0455 8: RCC_CDCFGR1 at +0x18 holds HPRE b3:0 as
 * D1CFGR does; PLLCKSELR, PLL1DIVR and RCC_CR as above [U: offsets and
 * reset values taken to match RM0433]). PLL1 wide VCO 128-560 MHz, DIVN1
 * 8..420; at VOS3 the system clock reaches 88 MHz; wait states at VOS3
 * (RM0455 4.3.8): 0 WS <= 22 MHz, 1 <= 44, 2 <= 66, 3 <= 88 (the limits
 * of ST's LL driver for the two-domain parts, stm32h7xx_ll_utils.c
 * UTILS_SCALE3_LATENCYn_FREQ; HSI 64 MHz needs 2 WS, FLASH_ACR resets to
 * LATENCY 3). */
const sim_clock_tree sim_clock_h7a3 = {
    .name = "RM0455 8 (STM32H7A3/H7B3/H7B0 RCC)",
    H7_TREE_PLL(88 * MHZ, 128 * MHZ, 560 * MHZ, 8, 420),
    .ws_count = 4,
    .ws_max_hz = {22 * MHZ, 44 * MHZ, 66 * MHZ, 88 * MHZ},
};
