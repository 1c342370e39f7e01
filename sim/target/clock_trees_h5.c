/*
 * The STM32H5 clock design as data for clock.c (see clock_tree.h): RM0481
 * (H56x/H57x, H52x/H53x) and RM0492 (H503) chapter "Reset and clock control
 * (RCC)", register names and positions as in the ST SVD files and the CMSIS
 * header stm32h563xx.h (RCC_BASE_NS 0x44020C00):
 *  - RCC_CR (+0x00): HSION b0, HSIRDY b1, HSIKERON b2, HSIDIV b4:3 (00 /1
 *    64 MHz, 01 /2 32 MHz, 10 /4, 11 /8), HSIDIVF b5, CSION b8 / CSIRDY b9,
 *    HSI48ON b12 / HSI48RDY b13, HSEON b16 / HSERDY b17, PLL1ON b24 /
 *    PLL1RDY b25, PLL2ON b26 / PLL2RDY b27, PLL3ON b28 / PLL3RDY b29.
 *    HSIDIV divides hsi_ck for SYSCLK and the PLLs alike and cannot change
 *    while an enabled PLL uses the HSI. Reset: HSION, HSIDIV = 01, HSIDIVF:
 *    the part starts at 32 MHz [U: Zephyr's H5 SoC start-up and the RM text
 *    quoted in public code say "HSIDIV = 2 ... default after reset"; the SVD
 *    reset value 0x23 and the HAL's "HSI (64 MHz)" comment say /1. The
 *    slower clock is taken: a host that assumes 64 MHz times out sooner];
 *  - RCC_CFGR1 (+0x1C): SW b2:0, SWS b5:3 (000 HSI, 001 CSI, 010 HSE, 011
 *    PLL1 pll1_p_ck);
 *  - RCC_CFGR2 (+0x20): HPRE b3:0 (0xxx /1, 1000 /2 ... 1111 /512);
 *  - RCC_PLL1CFGR (+0x28, reset 0): PLL1SRC b1:0 (00 none, 01 HSI, 10 CSI,
 *    11 HSE), PLL1RGE b3:2, PLL1FRACEN b4, PLL1VCOSEL b5, DIVM1 b13:8 (0:
 *    prescaler off, 1..63), PLL1PEN b16 (P output enable; written only
 *    while PLL1 is off), PLL1QEN b17, PLL1REN b18;
 *  - RCC_PLL1DIVR (+0x34, reset 0x01010280): PLL1N b8:0 (N = code + 1),
 *    PLL1P b15:9 (P = code + 1, "odd division factors are not allowed"),
 *    PLL1Q b22:16, PLL1R b30:24; written only while PLL1 is off.
 * PLL1 with PLL1VCOSEL = 0 (wide range, reset): reference after DIVM1 1-16
 * MHz, VCO 128-560 MHz (the SVD's PLL1FRACR description). CSI and HSE never
 * become ready as SYSCLK sources (CSI not modelled [U], HSE not fitted);
 * PLL2/PLL3/HSI48 are ready as soon as they are on. The fractional part
 * (PLL1FRACR) is not read.
 *
 * PWR voltage scaling is not modelled: the tree is for VOS3, the range the
 * parts reset to (PWR_VOSCR.VOS = 00), which limits SYSCLK to 100 MHz [U:
 * DS14258 general operating conditions as remembered]. Wait states at VOS3
 * (RM0481 "FLASH recommended number of wait states and programming delay",
 * FLASH_ACR LATENCY b3:0 against HCLK) [U: table as remembered]: 0 WS <= 20
 * MHz, 1 <= 40, 2 <= 60, 3 <= 80, 4 <= 100. A host that raises VOS to run
 * faster sees flash reads fail where silicon would not [U], as on the L1,
 * L5, U5 and H7. HSI start-up 12 us and PLL lock 50 us are taken as
 * maxima [U: datasheet figures not read].
 */
#include "clock_tree.h"

#include <stdint.h>

#define MHZ 1000000u

#define RCC_CR_HSION     (1u << 0)
#define RCC_CR_HSIRDY    (1u << 1)
#define RCC_CR_HSIDIV_2  (1u << 3)
#define RCC_CR_HSIDIVF   (1u << 5)
#define RCC_CR_HSI48ON   (1u << 12)
#define RCC_CR_HSI48RDY  (1u << 13)
#define RCC_CR_HSERDY    (1u << 17)
#define RCC_CR_PLL1ON    (1u << 24)
#define RCC_CR_PLL1RDY   (1u << 25)
#define RCC_CR_PLL2ON    (1u << 26)
#define RCC_CR_PLL2RDY   (1u << 27)
#define RCC_CR_PLL3ON    (1u << 28)
#define RCC_CR_PLL3RDY   (1u << 29)
#define RCC_CFGR1        0x1C
#define RCC_CFGR2        0x20
#define RCC_PLL1CFGR     0x28
#define RCC_PLL1DIVR     0x34
#define RCC_PLL2DIVR     0x3C
#define RCC_PLL3DIVR     0x44
#define PLLxDIVR_RESET   0x01010280u
#define PLL1CFGR_PLL1PEN (1u << 16)

/* RCC_CR.HSIDIV b4:3 */
static const uint16_t hsi_div[4] = {1, 2, 4, 8};
/* RCC_CFGR2.HPRE b3:0: 0xxx /1, 1000 /2 ... 1111 /512 */
static const uint16_t hpre_div[16] = {1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 8, 16, 64, 128, 256, 512};

/* RCC_PLL1DIVR.PLL1P b15:9: divider code + 1, odd dividers not allowed
 * (0 here: such a PLL never locks), so 1 (/2), 3 (/4) ... 127 (/128). */
#define P2(c)  ((c) % 2 ? (c) + 1 : 0)
#define P8(c)  P2(c), P2(c + 1), P2(c + 2), P2(c + 3), P2(c + 4), P2(c + 5), P2(c + 6), P2(c + 7)
#define P32(c) P8(c), P8(c + 8), P8(c + 16), P8(c + 24)
static const uint16_t pll1_p[128] = {P32(0), P32(32), P32(64), P32(96)};
#undef P2
#undef P8
#undef P32

const sim_clock_tree sim_clock_h5 = {
    .name = "RM0481 (STM32H5 RCC)",
    .cr = 0x00,
    .cfgr = RCC_CFGR1,
    .reset = {{0x00, RCC_CR_HSION | RCC_CR_HSIDIV_2 | RCC_CR_HSIDIVF},
              {RCC_PLL1DIVR, PLLxDIVR_RESET},
              {RCC_PLL2DIVR, PLLxDIVR_RESET},
              {RCC_PLL3DIVR, PLLxDIVR_RESET}},
    .hsi = {.on = RCC_CR_HSION,
            .rdy = RCC_CR_HSIRDY,
            .hz = 64 * MHZ,
            .tsu_ns = 12000,
            .div_field = {.shift = 3, .width = 2, .table = hsi_div, .min = 1, .max = 8}},
    .hse_rdy = RCC_CR_HSERDY,
    .pll =
        {
            .on = RCC_CR_PLL1ON,
            .rdy = RCC_CR_PLL1RDY,
            .lock_ns = 50000,
            .cfg = RCC_PLL1DIVR,
            .frozen = 0xFFFFFFFFu,
            .src_reg = RCC_PLL1CFGR,
            .src_shift = 0,
            .src_width = 2,
            .src = {SIM_CLK_NONE, SIM_CLK_HSI, SIM_CLK_NONE, SIM_CLK_HSE},
            .m = {.shift = 8, .width = 6, .mul = 1, .min = 1, .max = 63},
            .m_reg = RCC_PLL1CFGR,
            .en_reg = RCC_PLL1CFGR,
            .n = {.shift = 0, .width = 9, .mul = 1, .add = 1, .min = 4, .max = 512},
            .ref_min_hz = 1 * MHZ,
            .ref_max_hz = 16 * MHZ,
            .vco_min_hz = 128 * MHZ,
            .vco_max_hz = 560 * MHZ,
            .out = {{.div = {.shift = 9, .width = 7, .table = pll1_p, .min = 2, .max = 128},
                     .en = PLL1CFGR_PLL1PEN,
                     .max_hz = 100 * MHZ}},
        },
    .others = {{RCC_CR_PLL2ON, RCC_CR_PLL2RDY},
               {RCC_CR_PLL3ON, RCC_CR_PLL3RDY},
               {RCC_CR_HSI48ON, RCC_CR_HSI48RDY}},
    .sw_shift = 0,
    .sws_shift = 3,
    .sw_width = 3,
    .sw_src = {SIM_CLK_HSI, SIM_CLK_NONE, SIM_CLK_HSE, SIM_CLK_PLL},
    .hpre = {.shift = 0, .width = 4, .table = hpre_div, .min = 1, .max = 512},
    .hpre_reg = RCC_CFGR2,
    .ws_count = 5,
    .ws_max_hz = {20 * MHZ, 40 * MHZ, 60 * MHZ, 80 * MHZ, 100 * MHZ},
};
