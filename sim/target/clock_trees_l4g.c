/*
 * The clock designs of the G0, G4, WB and WL rows, as data for clock.c (see
 * clock_tree.h); the L41x/L43x/L45x/L49x rows share the L476's RCC
 * (sim_clock_l4, clock_trees.c). Bit positions are the CMSIS headers'
 * (stm32g071xx.h, stm32g474xx.h, stm32wb55xx.h, stm32wl55xx.h: RCC_CR_*,
 * RCC_CFGR_*, RCC_PLLCFGR_*); ranges and wait states are the reference
 * manuals' RCC and flash chapters. Start-up and lock times are datasheet
 * maxima where read; where not, a rounded-up figure marked [U] (the harder
 * choice for the host).
 */
#include "clock_tree.h"

#include <stdint.h>

#define MHZ 1000000u

/* AHB prescaler HPRE: 0xxx /1, 1000 /2 ... 1111 /512 (no /32), as on every
 * family here (RM0444 5.4.3, RM0440 7.4.3, RM0434 6.4.3, RM0453 6.4.3). */
static const uint16_t hpre_div[16] = {1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 8, 16, 64, 128, 256, 512};

/* MSI ranges 0-11 of the WB and WL (RM0434 6.4.1, RM0453 6.4.1): 100 kHz to
 * 48 MHz; 12-15 are reserved: such a write keeps the old range [U]. */
#define MSI_RANGES                                                                                 \
    {                                                                                              \
        100000, 200000, 400000, 800000, 1 * MHZ, 2 * MHZ, 4 * MHZ, 8 * MHZ, 16 * MHZ, 24 * MHZ,    \
            32 * MHZ, 48 * MHZ                                                                     \
    }

/* ---- STM32G0 (RM0444 5.2, 5.4.1-5.4.4; DS12232 STM32G071) ------------------ */

/* RCC_CR.HSIDIV b13:11: 000 /1 ... 111 /128, powers of two (RM0444 5.4.1). */
static const uint16_t hsidiv[8] = {1, 2, 4, 8, 16, 32, 64, 128};

#define RCC_CR_HSION       (1u << 8)
#define RCC_CR_HSIRDY      (1u << 10)
#define RCC_CR_HSERDY      (1u << 17)
#define RCC_CR_PLLON       (1u << 24)
#define RCC_CR_PLLRDY      (1u << 25)
#define RCC_PLLCFGR_PLLPEN (1u << 16)
#define RCC_PLLCFGR_PLLQEN (1u << 24)
#define RCC_PLLCFGR_PLLREN (1u << 28)
#define RCC_PLLCFGR_RESET  0x00001000u /* PLLN 16, no source */

const sim_clock_tree sim_clock_g0 = {
    .name = "RM0444 5 (STM32G0 RCC)",
    .cr = 0x00,
    .cfgr = 0x08,
    /* Reset: HSION (HSISYS = HSI16 / HSIDIV, HSIDIV 000 = /1), RM0444 5.4.1. */
    .reset = {{0x00, RCC_CR_HSION}, {0x0C, RCC_PLLCFGR_RESET}},
    /* tsu(HSI16) taken as 5 us [U: DS12232 table not read]. HSIDIV (CR
     * b13:11, /1 /2 ... /128) divides HSISYS only; the PLL takes HSI16. */
    .hsi = {.on = RCC_CR_HSION,
            .rdy = RCC_CR_HSIRDY,
            .hz = 16 * MHZ,
            .tsu_ns = 5000,
            .sys_div = {.shift = 11, .width = 3, .table = hsidiv, .min = 1, .max = 128}},
    .hse_rdy = RCC_CR_HSERDY,
    .pll =
        {
            .on = RCC_CR_PLLON,
            .rdy = RCC_CR_PLLRDY,
            .lock_ns = 40000, /* tLOCK 40 us max [U] */
            .cfg = 0x0C,
            /* PLLCFGR is written only while the PLL is off, except the output
             * enables (RM0444 5.4.4) [U: writes ignored]. */
            .frozen = ~(RCC_PLLCFGR_PLLPEN | RCC_PLLCFGR_PLLQEN | RCC_PLLCFGR_PLLREN),
            /* PLLSRC b1:0: 00 none, 01 reserved, 10 HSI16, 11 HSE. */
            .src_shift = 0,
            .src_width = 2,
            .src = {SIM_CLK_NONE, SIM_CLK_NONE, SIM_CLK_HSI, SIM_CLK_HSE},
            .m = {.shift = 4, .width = 3, .mul = 1, .add = 1, .min = 1, .max = 8},
            .n = {.shift = 8, .width = 7, .mul = 1, .min = 8, .max = 86},
            /* RM0444 5.2.4: VCO input 2.66-16 MHz, VCO output 64-344 MHz
             * [U: the datasheet's 96 MHz floor not read]. */
            .ref_min_hz = 2660000,
            .ref_max_hz = 16 * MHZ,
            .vco_min_hz = 64 * MHZ,
            .vco_max_hz = 344 * MHZ,
            /* PLLRCLK: PLLR b31:29, code k = /(k+1), 000 reserved; 64 MHz
             * at most; only with PLLREN. */
            .out = {{.div = {.shift = 29, .width = 3, .mul = 1, .add = 1, .min = 2, .max = 8},
                     .en = RCC_PLLCFGR_PLLREN,
                     .max_hz = 64 * MHZ}},
        },
    /* SW b2:0, SWS b5:3 (RM0444 5.4.3): 000 HSISYS, 001 HSE, 010 PLLRCLK,
     * 011 LSI, 100 LSE (LSI/LSE as SYSCLK not modelled: never ready [U]). */
    .sw_shift = 0,
    .sws_shift = 3,
    .sw_width = 3,
    .sw_src = {SIM_CLK_HSI, SIM_CLK_HSE, SIM_CLK_PLL},
    .hpre = {.shift = 8, .width = 4, .table = hpre_div, .min = 1, .max = 512},
    /* Range 1 (reset), RM0444 3.3.4: 0 WS up to 24 MHz, 1 WS 48, 2 WS 64. */
    .ws_count = 3,
    .ws_max_hz = {24 * MHZ, 48 * MHZ, 64 * MHZ},
};

#undef RCC_PLLCFGR_PLLPEN
#undef RCC_PLLCFGR_PLLQEN
#undef RCC_PLLCFGR_PLLREN

/* ---- STM32G4 (RM0440 7.2, 7.4.1-7.4.4, 5.3.3; DS12288 STM32G474) ----------- */

/* RCC_PLLCFGR, RM0440 7.4.4: PLLSRC b1:0, PLLM b7:4, PLLN b14:8, PLLPEN
 * b16, PLLQEN b20, PLLREN b24, PLLR b26:25. */
#define RCC_PLLCFGR_PLLPEN (1u << 16)
#define RCC_PLLCFGR_PLLQEN (1u << 20)
#define RCC_PLLCFGR_PLLREN (1u << 24)

const sim_clock_tree sim_clock_g4 = {
    .name = "RM0440 7 (STM32G4 RCC)",
    .cr = 0x00,
    .cfgr = 0x08,
    /* Reset: HSION; CFGR SW = SWS = 01 (HSI16), RM0440 7.4.1, 7.4.3. */
    .reset = {{0x00, RCC_CR_HSION}, {0x08, 0x5}, {0x0C, RCC_PLLCFGR_RESET}},
    .hsi = {.on = RCC_CR_HSION, .rdy = RCC_CR_HSIRDY, .hz = 16 * MHZ, .tsu_ns = 5000}, /* [U] */
    .hse_rdy = RCC_CR_HSERDY,
    .pll =
        {
            .on = RCC_CR_PLLON,
            .rdy = RCC_CR_PLLRDY,
            .lock_ns = 40000, /* tLOCK 40 us max [U] */
            .cfg = 0x0C,
            .frozen = ~(RCC_PLLCFGR_PLLPEN | RCC_PLLCFGR_PLLQEN | RCC_PLLCFGR_PLLREN),
            .src_shift = 0,
            .src_width = 2,
            .src = {SIM_CLK_NONE, SIM_CLK_NONE, SIM_CLK_HSI, SIM_CLK_HSE},
            .m = {.shift = 4, .width = 4, .mul = 1, .add = 1, .min = 1, .max = 16},
            .n = {.shift = 8, .width = 7, .mul = 1, .min = 8, .max = 127},
            /* VCO input 2.66-16 MHz, output 64-344 MHz (fact sheet 6:
             * RM0440 7.2.4 and HAL-G4 IS_RCC_PLL* limits). */
            .ref_min_hz = 2660000,
            .ref_max_hz = 16 * MHZ,
            .vco_min_hz = 64 * MHZ,
            .vco_max_hz = 344 * MHZ,
            /* PLLR /2 /4 /6 /8, at most 170 MHz (DS12288 PLL characteristics). */
            .out = {{.div = {.shift = 25, .width = 2, .mul = 2, .add = 2, .min = 2, .max = 8},
                     .en = RCC_PLLCFGR_PLLREN,
                     .max_hz = 170 * MHZ}},
        },
    /* SW b1:0, SWS b3:2: 01 HSI16, 10 HSE, 11 PLL; 00 is reserved and
     * taken as HSI16 here [U]. */
    .sw_shift = 0,
    .sws_shift = 2,
    .sw_width = 2,
    .sw_src = {SIM_CLK_HSI, SIM_CLK_HSI, SIM_CLK_HSE, SIM_CLK_PLL},
    .hpre = {.shift = 4, .width = 4, .table = hpre_div, .min = 1, .max = 512},
    /* Range 1 normal mode (R1MODE = 1 at reset), RM0440 5.3.3 Table 29: 30
     * MHz per wait state up to 150 MHz; 170 MHz needs boost mode, which is
     * not modelled: 170 MHz is never read right. */
    .ws_count = 5,
    .ws_max_hz = {30 * MHZ, 60 * MHZ, 90 * MHZ, 120 * MHZ, 150 * MHZ},
};

#undef RCC_PLLCFGR_PLLPEN
#undef RCC_PLLCFGR_PLLQEN
#undef RCC_PLLCFGR_PLLREN

/* ---- STM32WB (RM0434 6.2, 6.4; 3.3.4) and STM32WL (RM0453 6.2, 6.4; 3.3.4) - */

#define RCC_CR_MSION       (1u << 0)
#define RCC_CR_MSIRDY      (1u << 1)
#define RCC_CR_MSIRGSEL    (1u << 3) /* WL only */
#define RCC_CR_PLLSAI1ON   (1u << 26)
#define RCC_CR_PLLSAI1RDY  (1u << 27)
#define RCC_PLLCFGR_PLLPEN (1u << 16)
#define RCC_PLLCFGR_PLLQEN (1u << 24)
#define RCC_PLLCFGR_PLLREN (1u << 28)
/* PLLCFGR reset value (RM0434 6.4.4): PLLR /2, PLLQ /2, PLLP /2, PLLN 16. */
#define RCC_PLLCFGR_WB_RESET 0x22041000u

/* The PLL of the WB and WL: PLLSRC b1:0 (none, MSI, HSI16, HSE), PLLM b6:4,
 * PLLN b14:8 (6-127 [U: lower bound]), PLLR b31:29 (/(k+1), 000
 * reserved); VCO input 2.66-16 MHz, output 96-344 MHz. */
#define WBL_PLL(rmax)                                                                              \
    {                                                                                              \
        .on = RCC_CR_PLLON, .rdy = RCC_CR_PLLRDY, .lock_ns = 40000, .cfg = 0x0C,                   \
        .frozen = ~(RCC_PLLCFGR_PLLPEN | RCC_PLLCFGR_PLLQEN | RCC_PLLCFGR_PLLREN), .src_shift = 0, \
        .src_width = 2, .src = {SIM_CLK_NONE, SIM_CLK_MSI, SIM_CLK_HSI, SIM_CLK_HSE},              \
        .m = {.shift = 4, .width = 3, .mul = 1, .add = 1, .min = 1, .max = 8},                     \
        .n = {.shift = 8, .width = 7, .mul = 1, .min = 6, .max = 127}, .ref_min_hz = 2660000,      \
        .ref_max_hz = 16 * MHZ, .vco_min_hz = 96 * MHZ, .vco_max_hz = 344 * MHZ,                   \
        .out = {{.div = {.shift = 29, .width = 3, .mul = 1, .add = 1, .min = 2, .max = 8},         \
                 .en = RCC_PLLCFGR_PLLREN,                                                         \
                 .max_hz = (rmax)}},                                                               \
    }

const sim_clock_tree sim_clock_wb = {
    .name = "RM0434 6 (STM32WB RCC)",
    .cr = 0x00,
    .cfgr = 0x08,
    /* Reset: MSION, MSIRANGE 6 (4 MHz), RM0434 6.4.1. */
    .reset = {{0x00, RCC_CR_MSION | 6u << 4}, {0x0C, RCC_PLLCFGR_WB_RESET}},
    .hsi = {.on = RCC_CR_HSION, .rdy = RCC_CR_HSIRDY, .hz = 16 * MHZ, .tsu_ns = 5000}, /* [U] */
    .msi = {.on = RCC_CR_MSION, .rdy = RCC_CR_MSIRDY, .tsu_ns = 10000},                /* [U] */
    /* The WB has no MSIRGSEL: CR.MSIRANGE is always used (RM0434 6.4.1). */
    .msi_range = {.reg = 0x00, .sel = 0, .shift = 4, .width = 4, .hz = MSI_RANGES},
    .hse_rdy = RCC_CR_HSERDY,
    .pll = WBL_PLL(64 * MHZ), /* CPU1 at most 64 MHz */
    .others = {{RCC_CR_PLLSAI1ON, RCC_CR_PLLSAI1RDY}},
    .sw_shift = 0,
    .sws_shift = 2,
    .sw_width = 2,
    .sw_src = {SIM_CLK_MSI, SIM_CLK_HSI, SIM_CLK_HSE, SIM_CLK_PLL},
    .hpre = {.shift = 4, .width = 4, .table = hpre_div, .min = 1, .max = 512},
    /* Range 1 (reset), RM0434 3.3.4: 0 WS up to 18 MHz, 1 WS 36, 2 WS 54,
     * 3 WS 64. */
    .ws_count = 4,
    .ws_max_hz = {18 * MHZ, 36 * MHZ, 54 * MHZ, 64 * MHZ},
};

/* RCC_CSR, RM0453 6.4.?: MSISRANGE b11:8, reset 6 (4 MHz), as the L4. */
#define RCC_CSR_MSISRANGE_4MHZ (6u << 8)

const sim_clock_tree sim_clock_wl = {
    .name = "RM0453 6 (STM32WL RCC)",
    .cr = 0x00,
    .cfgr = 0x08,
    .csr_fixed = RCC_CSR_MSISRANGE_4MHZ,
    .reset = {{0x00, RCC_CR_MSION | 6u << 4}, {0x0C, RCC_PLLCFGR_WB_RESET}},
    .hsi = {.on = RCC_CR_HSION, .rdy = RCC_CR_HSIRDY, .hz = 16 * MHZ, .tsu_ns = 5000}, /* [U] */
    .msi = {.on = RCC_CR_MSION, .rdy = RCC_CR_MSIRDY, .tsu_ns = 10000},                /* [U] */
    /* CR.MSIRANGE once MSIRGSEL is set, else CSR.MSISRANGE (kept at 6). */
    .msi_range = {.reg = 0x00,
                  .sel = RCC_CR_MSIRGSEL,
                  .shift = 4,
                  .width = 4,
                  .unsel_range = 6,
                  .hz = MSI_RANGES},
    .hse_rdy = RCC_CR_HSERDY,
    .pll = WBL_PLL(48 * MHZ), /* 48 MHz at most */
    .sw_shift = 0,
    .sws_shift = 2,
    .sw_width = 2,
    .sw_src = {SIM_CLK_MSI, SIM_CLK_HSI, SIM_CLK_HSE, SIM_CLK_PLL},
    .hpre = {.shift = 4, .width = 4, .table = hpre_div, .min = 1, .max = 512},
    /* Range 1 (reset), RM0453 3.3.4: 0 WS up to 18 MHz, 1 WS 36, 2 WS 48. */
    .ws_count = 3,
    .ws_max_hz = {18 * MHZ, 36 * MHZ, 48 * MHZ},
};
