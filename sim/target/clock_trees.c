/*
 * The clock designs of the modelled parts, as data for clock.c (see
 * clock_tree.h). Each block names its bits as its reference manual does,
 * defines them only for its own tree, and cites where each fact is.
 *
 * Start-up and lock times are the datasheets' maximum values (DS5319
 * F103xB, DS10693 F446xx, DS10152 L053x8, DS10198 L476xx), the harder choice
 * for the host. MSI start-up is a few microseconds and depends on the range;
 * 10 us is a rounded-up figure for all ranges [U].
 *
 * The wait-state tables give the highest HCLK for each FLASH_ACR.LATENCY at
 * the voltage range the part resets to; PWR voltage scaling is not modelled.
 */
#include "clock_tree.h"

#include <stdint.h>

#define MHZ 1000000u

/* AHB prescaler, RCC_CFGR.HPRE b7:4, identical on all four (RM0008 7.3.2,
 * RM0390 6.3.3, RM0367 7.3.3, RM0351 6.4.3): 0xxx /1, 1000 /2, 1001 /4,
 * 1010 /8, 1011 /16, 1100 /64, 1101 /128, 1110 /256, 1111 /512 (no /32). */
static const uint16_t hpre_div[16] = {1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 8, 16, 64, 128, 256, 512};
/* SW b1:0 and SWS b3:2 of RCC_CFGR, also on all four (same sections). */
/* ---- STM32F10x (RM0008 7.2, 7.3.1-7.3.2; DS5319) ------------------------- */

/* RCC_CR, RM0008 7.3.1 */
#define RCC_CR_HSION  (1u << 0)
#define RCC_CR_HSIRDY (1u << 1)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_PLLON  (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
/* RCC_CFGR, RM0008 7.3.2: PLLSRC b16, PLLXTPRE b17, PLLMUL b21:18 */
#define RCC_CFGR_PLLSRC   (1u << 16)
#define RCC_CFGR_PLLXTPRE (1u << 17)
#define RCC_CFGR_PLLMUL   (0xFu << 18)

/* PLLMUL: code k -> x(k+2), 1110 and 1111 both x16. */
static const uint16_t f1_pllmul[16] = {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 16};

const sim_clock_tree sim_clock_f1 = {
    .name = "RM0008 7 (STM32F10x RCC)",
    .cr = 0x00,
    .cfgr = 0x04,
    /* Reset: HSION, HSITRIM 16 (RM0008 7.3.1); HSIRDY follows HSION. */
    .reset = {{0x00, RCC_CR_HSION | 16u << 3}},
    /* HSI 8 MHz, tsu(HSI) 2 us (DS5319 5.3.7 Table 24). */
    .hsi = {.on = RCC_CR_HSION, .rdy = RCC_CR_HSIRDY, .hz = 8 * MHZ, .tsu_ns = 2000},
    .hse_rdy = RCC_CR_HSERDY,
    .pll =
        {
            .on = RCC_CR_PLLON,
            .rdy = RCC_CR_PLLRDY,
            .lock_ns = 200000, /* tLOCK 200 us, DS5319 5.3.8 Table 26 */
            .cfg = 0x04,
            /* "written only when PLL is disabled" (RM0008 7.3.2) */
            .frozen = RCC_CFGR_PLLSRC | RCC_CFGR_PLLXTPRE | RCC_CFGR_PLLMUL,
            /* PLLSRC 0: HSI/2; 1: HSE (PLLXTPRE's /2 is moot: no HSE). */
            .src_shift = 16,
            .src_width = 1,
            .src = {SIM_CLK_HSI, SIM_CLK_HSE},
            .src_div = {2, 1},
            .n = {.shift = 18, .width = 4, .table = f1_pllmul, .min = 2, .max = 16},
            /* DS5319 Table 26: PLL input 1-25 MHz, output 16-72 MHz; no
             * separate VCO. */
            .ref_min_hz = 1 * MHZ,
            .ref_max_hz = 25 * MHZ,
            .vco_min_hz = 0,
            .vco_max_hz = UINT32_MAX,
            .out = {{.min_hz = 16 * MHZ, .max_hz = 72 * MHZ}},
        },
    /* RCC_CR b26-29 are reserved on the F103 (PLL2ON/PLL2RDY, PLL3ON/
     * PLL3RDY on the connectivity line, RM0008 8.3.1); the model has kept
     * treating them as such on/ready pairs [U]. */
    .others = {{1u << 26, 1u << 27}, {1u << 28, 1u << 29}},
    /* SW 11 is "not allowed": it never becomes ready [U]. */
    .sw_shift = 0,
    .sws_shift = 2,
    .sw_width = 2,
    .sw_src = {SIM_CLK_HSI, SIM_CLK_HSE, SIM_CLK_PLL, SIM_CLK_NONE},
    .hpre = {.shift = 4, .width = 4, .table = hpre_div, .min = 1, .max = 512},
    /* RM0008 3.3.3: 0 WS <= 24 MHz, 1 WS <= 48, 2 WS <= 72; 3-7 are
     * reserved, taken as 2 [U]. */
    .ws_count = 3,
    .ws_max_hz = {24 * MHZ, 48 * MHZ, 72 * MHZ},
};

/*
 * The other F10x lines share the F103's RCC (RM0008 7.3.1-7.3.2, RM0041
 * 6.3.1-6.3.2 for the value line) and differ in how fast they may run,
 * which is what the PLL's output range and the wait-state table say: F101
 * (access line) 36 MHz, F102 (USB access line) 48 MHz, F100 (value line)
 * 24 MHz [fact sheet 5: header RCC_MAX_FREQUENCY for the F100; the F101 and
 * F102 limits are their datasheets' and marked U there]. A PLL set above
 * the part's maximum never locks, as any out-of-range PLL [U]. Their
 * datasheets' HSI start-up and PLL lock maxima are taken as the F103's
 * (DS5319: 2 us, 200 us) [U]; PLL input 1-25 MHz likewise [U]. RCC_CR b26-29
 * are reserved on these lines: no other pairs.
 */

/* The F10x PLL but for its maximum output. */
#define F1_PLL(max_out_hz)                                                                         \
    {                                                                                              \
        .on = RCC_CR_PLLON, .rdy = RCC_CR_PLLRDY, .lock_ns = 200000, .cfg = 0x04,                  \
        .frozen = RCC_CFGR_PLLSRC | RCC_CFGR_PLLXTPRE | RCC_CFGR_PLLMUL, .src_shift = 16,          \
        .src_width = 1, .src = {SIM_CLK_HSI, SIM_CLK_HSE}, .src_div = {2, 1},                      \
        .n = {.shift = 18, .width = 4, .table = f1_pllmul, .min = 2, .max = 16},                   \
        .ref_min_hz = 1 * MHZ, .ref_max_hz = 25 * MHZ, .vco_min_hz = 0, .vco_max_hz = UINT32_MAX,  \
        .out = {{.min_hz = 16 * MHZ, .max_hz = (max_out_hz)}},                                     \
    }

/* Everything of an F10x tree but its PLL and wait states. */
#define F1_TREE_COMMON                                                                             \
    .cr = 0x00, .cfgr = 0x04, .reset = {{0x00, RCC_CR_HSION | 16u << 3}},                          \
    .hsi = {.on = RCC_CR_HSION, .rdy = RCC_CR_HSIRDY, .hz = 8 * MHZ, .tsu_ns = 2000},              \
    .hse_rdy = RCC_CR_HSERDY, .sw_shift = 0, .sws_shift = 2, .sw_width = 2,                        \
    .sw_src = {SIM_CLK_HSI, SIM_CLK_HSE, SIM_CLK_PLL, SIM_CLK_NONE},                               \
    .hpre = {.shift = 4, .width = 4, .table = hpre_div, .min = 1, .max = 512}

/* F100: RM0041 3.3.3 gives no LATENCY (FLASH_ACR holds HLFCYA and the
 * prefetch bits only): 24 MHz at any setting. The PLL output range of
 * DS6517 Table 30 is 16-24 MHz [U]. */
const sim_clock_tree sim_clock_f100 = {
    .name = "RM0041 6 (STM32F100 value line RCC)",
    F1_TREE_COMMON,
    .pll = F1_PLL(24 * MHZ),
    .ws_count = 1,
    .ws_max_hz = {24 * MHZ},
};

/* F101: 0 WS up to 24 MHz (RM0008 3.3.3), 1 WS up to the 36 MHz maximum. */
const sim_clock_tree sim_clock_f101 = {
    .name = "RM0008 7 (STM32F101 RCC, 36 MHz)",
    F1_TREE_COMMON,
    .pll = F1_PLL(36 * MHZ),
    .ws_count = 2,
    .ws_max_hz = {24 * MHZ, 36 * MHZ},
};

/* F102: 0 WS up to 24 MHz, 1 WS up to its 48 MHz maximum. */
const sim_clock_tree sim_clock_f102 = {
    .name = "RM0008 7 (STM32F102 RCC, 48 MHz)",
    F1_TREE_COMMON,
    .pll = F1_PLL(48 * MHZ),
    .ws_count = 2,
    .ws_max_hz = {24 * MHZ, 48 * MHZ},
};

/* ---- STM32F105/F107 connectivity line (RM0008 8.2, 8.3.1-8.3.2) ----------- */

/* RCC_CR b26-29, RM0008 8.3.1: PLL2 and PLL3 (not modelled: ready as soon
 * as on; they cannot feed SYSCLK but through PREDIV1, i.e. in place of
 * HSE, which no board has). */
#define RCC_CR_PLL2ON  (1u << 26)
#define RCC_CR_PLL2RDY (1u << 27)
#define RCC_CR_PLL3ON  (1u << 28)
#define RCC_CR_PLL3RDY (1u << 29)

/* PLLMUL, RM0008 8.3.2: 0010 x4 ... 0111 x9, 1101 x6.5; the other codes
 * are reserved. In halves (n_den 2). */
static const uint16_t f105_pllmul[16] = {0, 0, 8, 10, 12, 14, 16, 18, 0, 0, 0, 0, 0, 13, 0, 0};

const sim_clock_tree sim_clock_f105 = {
    .name = "RM0008 8 (STM32F105/F107 connectivity line RCC)",
    F1_TREE_COMMON,
    .pll =
        {
            .on = RCC_CR_PLLON,
            .rdy = RCC_CR_PLLRDY,
            /* DS6014 Table 26 "PLL characteristics" as remembered: lock
             * 350 us maximum, input 3-12 MHz, output 18-72 MHz [U]. */
            .lock_ns = 350000,
            .cfg = 0x04,
            .frozen = RCC_CFGR_PLLSRC | RCC_CFGR_PLLMUL,
            /* PLLSRC 0: HSI/2; 1: PREDIV1 (HSE or PLL2, neither running). */
            .src_shift = 16,
            .src_width = 1,
            .src = {SIM_CLK_HSI, SIM_CLK_HSE},
            .src_div = {2, 1},
            .n = {.shift = 18, .width = 4, .table = f105_pllmul, .min = 8, .max = 18},
            .n_den = 2,
            .ref_min_hz = 3 * MHZ,
            .ref_max_hz = 12 * MHZ,
            .vco_min_hz = 0,
            .vco_max_hz = UINT32_MAX,
            .out = {{.min_hz = 18 * MHZ, .max_hz = 72 * MHZ}},
        },
    .others = {{RCC_CR_PLL2ON, RCC_CR_PLL2RDY}, {RCC_CR_PLL3ON, RCC_CR_PLL3RDY}},
    /* RM0008 3.3.3, as the F103 */
    .ws_count = 3,
    .ws_max_hz = {24 * MHZ, 48 * MHZ, 72 * MHZ},
};

#undef RCC_CR_PLL2ON
#undef RCC_CR_PLL2RDY
#undef RCC_CR_PLL3ON
#undef RCC_CR_PLL3RDY
#undef F1_PLL
#undef F1_TREE_COMMON
#undef RCC_CR_HSION
#undef RCC_CR_HSIRDY
#undef RCC_CR_HSERDY
#undef RCC_CR_PLLON
#undef RCC_CR_PLLRDY
#undef RCC_CFGR_PLLSRC
#undef RCC_CFGR_PLLXTPRE
#undef RCC_CFGR_PLLMUL

/* ---- STM32F446 (RM0390 6.2, 6.3.1-6.3.3; DS10693) ------------------------- */

/* RCC_CR, RM0390 6.3.1 */
#define RCC_CR_HSION     (1u << 0)
#define RCC_CR_HSIRDY    (1u << 1)
#define RCC_CR_HSERDY    (1u << 17)
#define RCC_CR_PLLON     (1u << 24)
#define RCC_CR_PLLRDY    (1u << 25)
#define RCC_CR_PLLI2SON  (1u << 26)
#define RCC_CR_PLLI2SRDY (1u << 27)
#define RCC_CR_PLLSAION  (1u << 28)
#define RCC_CR_PLLSAIRDY (1u << 29)
/* RCC_PLLCFGR, RM0390 6.3.2: PLLM b5:0, PLLN b14:6, PLLP b17:16, PLLSRC
 * b22, PLLQ b27:24, PLLR b30:28. Reset 0x24003010. */
#define RCC_PLLCFGR_RESET 0x24003010u

const sim_clock_tree sim_clock_f446 = {
    .name = "RM0390 6 (STM32F446 RCC)",
    .cr = 0x00,
    .cfgr = 0x08,
    .reset = {{0x00, RCC_CR_HSION | 16u << 3}, {0x04, RCC_PLLCFGR_RESET}},
    /* HSI 16 MHz, tsu(HSI) 4 us (DS10693 6.3.9). */
    .hsi = {.on = RCC_CR_HSION, .rdy = RCC_CR_HSIRDY, .hz = 16 * MHZ, .tsu_ns = 4000},
    .hse_rdy = RCC_CR_HSERDY,
    .pll =
        {
            .on = RCC_CR_PLLON,
            .rdy = RCC_CR_PLLRDY,
            .lock_ns = 100000, /* tLOCK 100 us, DS10693 6.3.10 */
            .cfg = 0x04,
            /* "configured only when the PLL is disabled": writes while
             * PLLON is set are ignored [U]. */
            .frozen = 0xFFFFFFFFu,
            .src_shift = 22,
            .src_width = 1,
            .src = {SIM_CLK_HSI, SIM_CLK_HSE},
            .m = {.shift = 0, .width = 6, .mul = 1, .min = 2, .max = 63},
            .n = {.shift = 6, .width = 9, .mul = 1, .min = 50, .max = 432},
            /* RM0390 6.3.2: VCO input 1-2 MHz, VCO output 100-432 MHz,
             * PLL outputs <= 180 MHz. */
            .ref_min_hz = 1 * MHZ,
            .ref_max_hz = 2 * MHZ,
            .vco_min_hz = 100 * MHZ,
            .vco_max_hz = 432 * MHZ,
            .out =
                {
                    /* PLLP b17:16: /2, /4, /6, /8 */
                    {.div = {.shift = 16, .width = 2, .mul = 2, .add = 2, .min = 2, .max = 8},
                     .max_hz = 180 * MHZ},
                    /* PLLR b30:28: /2../7 (0, 1 not allowed); SW = 11 */
                    {.div = {.shift = 28, .width = 3, .mul = 1, .min = 2, .max = 7},
                     .max_hz = 180 * MHZ},
                },
        },
    /* PLLI2S and PLLSAI are not modelled: ready as soon as on. */
    .others = {{RCC_CR_PLLI2SON, RCC_CR_PLLI2SRDY}, {RCC_CR_PLLSAION, RCC_CR_PLLSAIRDY}},
    /* RM0390 6.3.3: SW 00 HSI, 01 HSE, 10 PLL_P, 11 PLL_R. */
    .sw_shift = 0,
    .sws_shift = 2,
    .sw_width = 2,
    .sw_src = {SIM_CLK_HSI, SIM_CLK_HSE, SIM_CLK_PLL, SIM_CLK_PLLR},
    .hpre = {.shift = 4, .width = 4, .table = hpre_div, .min = 1, .max = 512},
    /* RM0390 3.4.1 Table 5 at 2.7-3.6 V: 30 MHz per wait state. Above
     * 168 MHz the core needs over-drive (RM0390 5.1.4), which is not
     * modelled: HCLK above 168 MHz is too fast at any LATENCY [U]. */
    .ws_count = 6,
    .ws_max_hz = {30 * MHZ, 60 * MHZ, 90 * MHZ, 120 * MHZ, 150 * MHZ, 168 * MHZ},
};

#undef RCC_CR_HSION
#undef RCC_CR_HSIRDY
#undef RCC_CR_HSERDY
#undef RCC_CR_PLLON
#undef RCC_CR_PLLRDY
#undef RCC_CR_PLLI2SON
#undef RCC_CR_PLLI2SRDY
#undef RCC_CR_PLLSAION
#undef RCC_CR_PLLSAIRDY
#undef RCC_PLLCFGR_RESET

/* ---- STM32L0x3 (RM0367 7.2, 7.3.1-7.3.3; DS10152) ------------------------- */

/* RCC_CR, RM0367 7.3.1 */
#define RCC_CR_HSI16ON    (1u << 0)
#define RCC_CR_HSI16RDYF  (1u << 2)
#define RCC_CR_HSI16DIVEN (1u << 3)
#define RCC_CR_HSI16DIVF  (1u << 4)
#define RCC_CR_MSION      (1u << 8)
#define RCC_CR_MSIRDY     (1u << 9)
#define RCC_CR_HSERDY     (1u << 17)
#define RCC_CR_PLLON      (1u << 24)
#define RCC_CR_PLLRDY     (1u << 25)
/* RCC_ICSCR, RM0367 7.3.2: MSIRANGE b15:13; reset MSIRANGE 5, HSI16TRIM
 * 16. */
#define RCC_ICSCR_RESET 0x0000B000u
/* RCC_CFGR, RM0367 7.3.3: PLLSRC b16, PLLMUL b21:18, PLLDIV b23:22 */
#define RCC_CFGR_PLLSRC (1u << 16)
#define RCC_CFGR_PLLMUL (0xFu << 18)
#define RCC_CFGR_PLLDIV (3u << 22)

/* PLLMUL: x3, x4, x6, x8, x12, x16, x24, x32, x48; the rest not allowed. */
static const uint16_t l0_pllmul[16] = {3, 4, 6, 8, 12, 16, 24, 32, 48};
/* PLLDIV: 00 not allowed, /2, /3, /4. */
static const uint16_t l0_plldiv[4] = {0, 2, 3, 4};

const sim_clock_tree sim_clock_l0 = {
    .name = "RM0367 7 (STM32L0x3 RCC)",
    .cr = 0x00,
    .cfgr = 0x0C,
    .reset = {{0x00, RCC_CR_MSION}, {0x04, RCC_ICSCR_RESET}},
    /* HSI16, tsu(HSI16) 6 us (DS10152 6.3.7); HSI16DIVEN divides it by 4
     * for SYSCLK and the PLL (RM0367 7.2.2). */
    .hsi = {.on = RCC_CR_HSI16ON,
            .rdy = RCC_CR_HSI16RDYF,
            .hz = 16 * MHZ,
            .tsu_ns = 6000,
            .div_bit = RCC_CR_HSI16DIVEN,
            .div = 4},
    .msi = {.on = RCC_CR_MSION, .rdy = RCC_CR_MSIRDY, .tsu_ns = 10000},
    /* RM0367 7.3.2: ICSCR.MSIRANGE, range k = 65.536 kHz << k. Range 7
     * ("111: not allowed") runs at what the formula gives, 8.389 MHz [U]. */
    .msi_range = {.reg = 0x04,
                  .shift = 13,
                  .width = 3,
                  .hz = {65536, 131072, 262144, 524288, 1048576, 2097152, 4194304, 8388608}},
    .hse_rdy = RCC_CR_HSERDY,
    .pll =
        {
            .on = RCC_CR_PLLON,
            .rdy = RCC_CR_PLLRDY,
            .lock_ns = 160000, /* tLOCK 160 us, DS10152 6.3.8 */
            .cfg = 0x0C,
            /* "written only when PLL is disabled" (RM0367 7.3.3) */
            .frozen = RCC_CFGR_PLLSRC | RCC_CFGR_PLLMUL | RCC_CFGR_PLLDIV,
            .src_shift = 16,
            .src_width = 1,
            .src = {SIM_CLK_HSI, SIM_CLK_HSE},
            .n = {.shift = 18, .width = 4, .table = l0_pllmul, .min = 3, .max = 48},
            /* RM0367 7.2.4: input 2-24 MHz; the VCO (input x PLLMUL) must
             * not exceed 48 MHz in voltage range 2, the only range
             * modelled; output <= 32 MHz. */
            .ref_min_hz = 2 * MHZ,
            .ref_max_hz = 24 * MHZ,
            .vco_min_hz = 0,
            .vco_max_hz = 48 * MHZ,
            .out = {{.div = {.shift = 22, .width = 2, .table = l0_plldiv, .min = 2, .max = 4},
                     .max_hz = 32 * MHZ}},
        },
    /* HSI16DIVF follows HSI16DIVEN at once. */
    .others = {{RCC_CR_HSI16DIVEN, RCC_CR_HSI16DIVF}},
    /* RM0367 7.3.3: SW 00 MSI, 01 HSI16, 10 HSE, 11 PLL. */
    .sw_shift = 0,
    .sws_shift = 2,
    .sw_width = 2,
    .sw_src = {SIM_CLK_MSI, SIM_CLK_HSI, SIM_CLK_HSE, SIM_CLK_PLL},
    .hpre = {.shift = 4, .width = 4, .table = hpre_div, .min = 1, .max = 512},
    /* Voltage range 2 (PWR_CR.VOS reset value), RM0367 3.3.1 Table 13:
     * 0 WS <= 8 MHz, 1 WS <= 16 MHz. The model lets 0 WS go up to 16 MHz
     * too [U]: OpenOCD's stm32l0.cfg reset-init switches to HSI16 without
     * touching LATENCY, and real boards program and verify that way; a
     * model stricter than the silicon in the field would fail that
     * unmodified program. Above 16 MHz (PLL) reads are wrong at any
     * LATENCY, since range 2 is the only range modelled. */
    .ws_count = 1,
    .ws_max_hz = {16 * MHZ},
};

#undef RCC_CR_HSI16ON
#undef RCC_CR_HSI16RDYF
#undef RCC_CR_HSI16DIVEN
#undef RCC_CR_HSI16DIVF
#undef RCC_CR_MSION
#undef RCC_CR_MSIRDY
#undef RCC_CR_HSERDY
#undef RCC_CR_PLLON
#undef RCC_CR_PLLRDY
#undef RCC_ICSCR_RESET
#undef RCC_CFGR_PLLSRC
#undef RCC_CFGR_PLLMUL
#undef RCC_CFGR_PLLDIV

/* ---- STM32L476 (RM0351 6.2, 6.4.1-6.4.4, 6.4.29; DS10198) ----------------- */

/* RCC_CR, RM0351 6.4.1 */
#define RCC_CR_MSION      (1u << 0)
#define RCC_CR_MSIRDY     (1u << 1)
#define RCC_CR_MSIRGSEL   (1u << 3)
#define RCC_CR_HSION      (1u << 8)
#define RCC_CR_HSIRDY     (1u << 10)
#define RCC_CR_HSERDY     (1u << 17)
#define RCC_CR_PLLON      (1u << 24)
#define RCC_CR_PLLRDY     (1u << 25)
#define RCC_CR_PLLSAI1ON  (1u << 26)
#define RCC_CR_PLLSAI1RDY (1u << 27)
#define RCC_CR_PLLSAI2ON  (1u << 28)
#define RCC_CR_PLLSAI2RDY (1u << 29)
/* RCC_ICSCR, RM0351 6.4.2: reset HSITRIM 16. */
#define RCC_ICSCR_RESET 0x10000000u
/* RCC_PLLCFGR, RM0351 6.4.4: PLLSRC b1:0, PLLM b6:4, PLLN b14:8, PLLPEN
 * b16, PLLQEN b20, PLLREN b24, PLLR b26:25. Reset: PLLN 16, no source. */
#define RCC_PLLCFGR_PLLPEN (1u << 16)
#define RCC_PLLCFGR_PLLQEN (1u << 20)
#define RCC_PLLCFGR_PLLREN (1u << 24)
#define RCC_PLLCFGR_RESET  0x00001000u
/* RCC_CSR, RM0351 6.4.29: MSISRANGE b11:8, reset value 6 (4 MHz). */
#define RCC_CSR_MSISRANGE_4MHZ (6u << 8)

const sim_clock_tree sim_clock_l4 = {
    .name = "RM0351 6 (STM32L476 RCC)",
    .cr = 0x00,
    .cfgr = 0x08,
    .csr_fixed = RCC_CSR_MSISRANGE_4MHZ,
    /* Reset: MSION, MSIRANGE 6 (4 MHz), RM0351 6.4.1. */
    .reset = {{0x00, RCC_CR_MSION | 6u << 4}, {0x04, RCC_ICSCR_RESET}, {0x0C, RCC_PLLCFGR_RESET}},
    /* HSI16, tsu(HSI16) 1.2 us (DS10198 6.3.8). */
    .hsi = {.on = RCC_CR_HSION, .rdy = RCC_CR_HSIRDY, .hz = 16 * MHZ, .tsu_ns = 1200},
    .msi = {.on = RCC_CR_MSION, .rdy = RCC_CR_MSIRDY, .tsu_ns = 10000},
    /* RM0351 6.4.1: CR.MSIRANGE b7:4 once MSIRGSEL is set ("cannot be
     * cleared by software"), else CSR.MSISRANGE (kept at its reset value 6,
     * 4 MHz, in this model). Ranges 12-15 are reserved: such a write keeps
     * the old range [U]. */
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
            .lock_ns = 40000, /* tLOCK 40 us, DS10198 6.3.9 */
            .cfg = 0x0C,
            /* Configure "only when the PLL is disabled" (writes while PLLON
             * is set are ignored [U]); the output enables PLLPEN, PLLQEN,
             * PLLREN may change at any time. */
            .frozen = ~(RCC_PLLCFGR_PLLPEN | RCC_PLLCFGR_PLLQEN | RCC_PLLCFGR_PLLREN),
            .src_shift = 0,
            .src_width = 2,
            .src = {SIM_CLK_NONE, SIM_CLK_MSI, SIM_CLK_HSI, SIM_CLK_HSE},
            .m = {.shift = 4, .width = 3, .mul = 1, .add = 1, .min = 1, .max = 8},
            .n = {.shift = 8, .width = 7, .mul = 1, .min = 8, .max = 86},
            /* RM0351 6.4.4: VCO input 4-16 MHz, VCO output 64-344 MHz. */
            .ref_min_hz = 4 * MHZ,
            .ref_max_hz = 16 * MHZ,
            .vco_min_hz = 64 * MHZ,
            .vco_max_hz = 344 * MHZ,
            /* PLLCLK is the R output, /2 /4 /6 /8, only with PLLREN (the
             * PLL locks without it, but SW cannot switch to it [U]);
             * <= 80 MHz (RM0351 6.2.5; DS10198 Table 48). PLLREN cannot be
             * cleared while the PLL is SYSCLK [U]. */
            .out = {{.div = {.shift = 25, .width = 2, .mul = 2, .add = 2, .min = 2, .max = 8},
                     .en = RCC_PLLCFGR_PLLREN,
                     .max_hz = 80 * MHZ}},
        },
    /* PLLSAI1 and PLLSAI2 are not modelled: ready as soon as on. */
    .others = {{RCC_CR_PLLSAI1ON, RCC_CR_PLLSAI1RDY}, {RCC_CR_PLLSAI2ON, RCC_CR_PLLSAI2RDY}},
    /* RM0351 6.4.3: SW 00 MSI, 01 HSI16, 10 HSE, 11 PLL. */
    .sw_shift = 0,
    .sws_shift = 2,
    .sw_width = 2,
    .sw_src = {SIM_CLK_MSI, SIM_CLK_HSI, SIM_CLK_HSE, SIM_CLK_PLL},
    .hpre = {.shift = 4, .width = 4, .table = hpre_div, .min = 1, .max = 512},
    /* Range 1 (reset value), RM0351 3.3.3 Table 9: 16 MHz per wait state
     * up to 4 WS at 80 MHz. */
    .ws_count = 5,
    .ws_max_hz = {16 * MHZ, 32 * MHZ, 48 * MHZ, 64 * MHZ, 80 * MHZ},
};
