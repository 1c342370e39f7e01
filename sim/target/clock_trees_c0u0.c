/*
 * The clock designs of the C0 and U0 rows, as data for clock.c (see
 * clock_tree.h).
 *
 * C0 (RM0490 Rev 5 6.4.1 RCC_CR, 6.4.3 RCC_CFGR, 4.3.2 Table 14): no PLL.
 * SYSCLK is HSISYS = HSI48 / HSIDIV (reset /4: 12 MHz), or HSE (never
 * fitted here), or HSIUSB48 on the C071 (not modelled: SW code 010 never
 * switches); the C051, C071 and C091/C092 then divide it by SYSDIV (CR
 * b4:2, /1 .. /8), which the C011/C031 do not have. Flash: 0 wait states
 * up to 24 MHz, 1 up to 48 MHz; there is no voltage scaling.
 *
 * U0 (RM0503; stm32u083xx.h RCC_CR_*, RCC_CFGR_*, RCC_PLLCFGR_* for the
 * bit positions): reset on MSI 4 MHz; MSI ranges, HSI16 and one PLL with
 * an R output, in the L4 manner. The limits are the fact sheet's (section
 * 6: HAL-U0 IS_RCC_PLL* and LL-U0 UTILS_* figures) [U: RM0503 and the
 * datasheets' tables not read]; the wait states are range 1's, which the
 * part is taken to reset to [U].
 *
 * Start-up and lock times are datasheet maxima where read; where not, a
 * rounded-up figure marked [U] (the harder choice for the host).
 */
#include "clock_tree.h"

#include <stdint.h>

#define MHZ 1000000u

/* AHB prescaler HPRE: 0xxx /1, 1000 /2 ... 1111 /512 (no /32): RM0490
 * 6.4.3 (CFGR b11:8), and the same on the U0 (b11:8 per stm32u083xx.h). */
static const uint16_t hpre_div[16] = {1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 8, 16, 64, 128, 256, 512};

/* ---- STM32C0 (RM0490 Rev 5 chapter 6) ----------------------------------------- */

#define RCC_CR_SYSDIV_SHIFT 2 /* b4:2, C051/C071/C09x only */
#define RCC_CR_HSIKERDIV_3  (2u << 5)
#define RCC_CR_HSION        (1u << 8)
#define RCC_CR_HSIRDY       (1u << 10)
#define RCC_CR_HSIDIV_SHIFT 11
#define RCC_CR_HSIDIV_4     (2u << RCC_CR_HSIDIV_SHIFT)
#define RCC_CR_HSERDY       (1u << 17)
#define RCC_CR_HSIUSB48ON   (1u << 22) /* C071 */
#define RCC_CR_HSIUSB48RDY  (1u << 23)

/* HSIDIV b13:11: 000 /1, 001 /2, 010 /4 (reset) ... 111 /128. */
static const uint16_t c0_hsidiv[8] = {1, 2, 4, 8, 16, 32, 64, 128};

/* What every C0 shares. RCC_CR resets to 0x00001540: HSION, HSIRDY,
 * HSIKERDIV /3, HSIDIV /4 (RM0490 6.4.1; HSIRDY is the engine's to
 * report). tsu(HSI48) taken as 5 us [U: the C0 datasheets' HSI48 table not
 * read]. SW b2:0 / SWS b5:3: 000 HSISYS, 001 HSE, 010 HSIUSB48 (C071),
 * 011 LSI, 100 LSE (LSI, LSE and HSIUSB48 as SYSCLK not modelled: never
 * ready [U]). */
#define C0_TREE                                                                                    \
    .cr = 0x00, .cfgr = 0x08,                                                                      \
    .reset = {{0x00, RCC_CR_HSION | RCC_CR_HSIDIV_4 | RCC_CR_HSIKERDIV_3}},                        \
    .hsi = {.on = RCC_CR_HSION,                                                                    \
            .rdy = RCC_CR_HSIRDY,                                                                  \
            .hz = 48 * MHZ,                                                                        \
            .tsu_ns = 5000,                                                                        \
            .sys_div = {.shift = RCC_CR_HSIDIV_SHIFT,                                              \
                        .width = 3,                                                                \
                        .table = c0_hsidiv,                                                        \
                        .min = 1,                                                                  \
                        .max = 128}},                                                              \
    .hse_rdy = RCC_CR_HSERDY, .others = {{RCC_CR_HSIUSB48ON, RCC_CR_HSIUSB48RDY}}, .sw_shift = 0,  \
    .sws_shift = 3, .sw_width = 3, .sw_src = {SIM_CLK_HSI, SIM_CLK_HSE},                           \
    .hpre = {.shift = 8, .width = 4, .table = hpre_div, .min = 1, .max = 512}, .ws_count = 2,      \
    .ws_max_hz = {24 * MHZ, 48 * MHZ}

/* C011, C031: no SYSDIV. */
const sim_clock_tree sim_clock_c0 = {
    .name = "RM0490 6 (STM32C0 RCC, C011/C031)",
    C0_TREE,
};

/* C051, C071, C091/C092: SYSDIV b4:2, code k = /(k+1), reset /1. */
const sim_clock_tree sim_clock_c0_sysdiv = {
    .name = "RM0490 6 (STM32C0 RCC, SYSDIV)",
    C0_TREE,
    .sysdiv = {.shift = RCC_CR_SYSDIV_SHIFT, .width = 3, .mul = 1, .add = 1, .min = 1, .max = 8},
};

#undef RCC_CR_HSION
#undef RCC_CR_HSIRDY
#undef RCC_CR_HSERDY

/* ---- STM32U0 (RM0503 chapter 6; stm32u083xx.h) -------------------------------- */

#define RCC_CR_MSION       (1u << 0)
#define RCC_CR_MSIRDY      (1u << 1)
#define RCC_CR_HSION       (1u << 8)
#define RCC_CR_HSIRDY      (1u << 10)
#define RCC_CR_HSERDY      (1u << 17)
#define RCC_CR_PLLON       (1u << 24)
#define RCC_CR_PLLRDY      (1u << 25)
#define RCC_PLLCFGR_PLLPEN (1u << 16)
#define RCC_PLLCFGR_PLLQEN (1u << 24)
#define RCC_PLLCFGR_PLLREN (1u << 28)
#define RCC_PLLCFGR_RESET  0x00001000u /* PLLN 16, no source [U] */

const sim_clock_tree sim_clock_u0 = {
    .name = "RM0503 6 (STM32U0 RCC)",
    .cr = 0x00,
    .cfgr = 0x08,
    /* Reset: MSION, MSIRANGE 6 = 4 MHz (the fact sheet: SystemCoreClock
     * 4 MHz in the CMSIS system file) [U: RCC_CR reset value not read]. */
    .reset = {{0x00, RCC_CR_MSION | 6u << 4}, {0x0C, RCC_PLLCFGR_RESET}},
    .hsi = {.on = RCC_CR_HSION, .rdy = RCC_CR_HSIRDY, .hz = 16 * MHZ, .tsu_ns = 5000}, /* [U] */
    .msi = {.on = RCC_CR_MSION, .rdy = RCC_CR_MSIRDY, .tsu_ns = 10000},                /* [U] */
    /* MSIRANGE CR b7:4 (the header has no MSISRANGE in RCC_CSR: the CR
     * field is always used [U]); ranges 0-11 100 kHz .. 48 MHz as the
     * L4, 12-15 reserved: such a write keeps the old range [U]. */
    .msi_range = {.reg = 0x00,
                  .sel = 0,
                  .shift = 4,
                  .width = 4,
                  .hz = {100000, 200000, 400000, 800000, 1 * MHZ, 2 * MHZ, 4 * MHZ, 8 * MHZ,
                         16 * MHZ, 24 * MHZ, 32 * MHZ, 48 * MHZ}},
    .hse_rdy = RCC_CR_HSERDY,
    .pll =
        {
            .on = RCC_CR_PLLON,
            .rdy = RCC_CR_PLLRDY,
            .lock_ns = 40000, /* [U] */
            .cfg = 0x0C,
            .frozen = ~(RCC_PLLCFGR_PLLPEN | RCC_PLLCFGR_PLLQEN | RCC_PLLCFGR_PLLREN),
            /* PLLSRC b1:0: none, MSI, HSI16, HSE. */
            .src_shift = 0,
            .src_width = 2,
            .src = {SIM_CLK_NONE, SIM_CLK_MSI, SIM_CLK_HSI, SIM_CLK_HSE},
            .m = {.shift = 4, .width = 3, .mul = 1, .add = 1, .min = 1, .max = 8},
            .n = {.shift = 8, .width = 7, .mul = 1, .min = 4, .max = 127},
            /* VCO input 4-16 MHz, output 96-344 MHz (fact sheet 6, HAL-U0) [U]. */
            .ref_min_hz = 4 * MHZ,
            .ref_max_hz = 16 * MHZ,
            .vco_min_hz = 96 * MHZ,
            .vco_max_hz = 344 * MHZ,
            /* PLLR b31:29, code k = /(k+1), 000 reserved; 56 MHz at most. */
            .out = {{.div = {.shift = 29, .width = 3, .mul = 1, .add = 1, .min = 2, .max = 8},
                     .en = RCC_PLLCFGR_PLLREN,
                     .max_hz = 56 * MHZ}},
        },
    /* SW b2:0, SWS b5:3: 000 MSI, 001 HSI16, 010 HSE, 011 PLLRCLK (100 LSI,
     * 101 LSE not modelled) [U: codes as the L4's]. */
    .sw_shift = 0,
    .sws_shift = 3,
    .sw_width = 3,
    .sw_src = {SIM_CLK_MSI, SIM_CLK_HSI, SIM_CLK_HSE, SIM_CLK_PLL},
    .hpre = {.shift = 8, .width = 4, .table = hpre_div, .min = 1, .max = 512},
    /* Range 1: 0 WS up to 24 MHz, 1 WS 48, 2 WS 56 (fact sheet 6, LL-U0). */
    .ws_count = 3,
    .ws_max_hz = {24 * MHZ, 48 * MHZ, 56 * MHZ},
};
