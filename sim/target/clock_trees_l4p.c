/*
 * The clock design of the L4+ rows (STM32L4R/L4S 0x470, L4P5/L4Q5 0x471;
 * RM0432 RCC chapter and flash read-access table), as data for clock.c
 * (see clock_tree.h). The RCC is the L476's (sim_clock_l4, RM0351 6) with
 * a 4-bit PLLM (stm32l4r5xx.h / stm32l4p5xx.h RCC_PLLCFGR_PLLM_Msk 0xF0)
 * and, through the flash, a 4-bit LATENCY (flash_l4p_variants.c).
 *
 * What is modelled is what the reset leaves and a host raises without
 * touching PWR: MSI 4 MHz, range 1 with R1MODE = 1 (PWR_CR5 b8, "normal
 * mode", its reset value), where SYSCLK may reach 80 MHz. The boost mode
 * (R1MODE = 0, up to 120 MHz) needs PWR_CR5, which this engine does not
 * read: a PLL output above 80 MHz is refused even after R1MODE is
 * cleared, stricter than silicon [U]. The flash loader's setting (HSI16 x
 * 10 / 2 = 80 MHz with LATENCY 4) is inside the modelled range.
 *
 * Sources for each figure are named at its field; datasheet figures are
 * DS12023 (STM32L4R5xx), not read: the L476's (DS10198) are taken and
 * marked [U].
 */
#include "clock_tree.h"

#include <stdint.h>

#define MHZ 1000000u

/* AHB prescaler HPRE: 0xxx /1, 1000 /2 ... 1111 /512 (no /32). */
static const uint16_t hpre_div[16] = {1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 8, 16, 64, 128, 256, 512};

/* RCC_CR (stm32l4r5xx.h RCC_CR_*_Pos) */
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
/* RCC_ICSCR reset: HSITRIM 0x40 on the L4+ (stm32l4r5xx.h RCC_ICSCR_HSITRIM
 * b30:24) [U: reset value]; only stored. */
#define RCC_ICSCR_RESET 0x40000000u
/* RCC_PLLCFGR: PLLSRC b1:0, PLLM b7:4, PLLN b14:8, PLLPEN b16, PLLQEN b20,
 * PLLREN b24, PLLR b26:25, PLLPDIV b31:27. Reset: PLLN 16, no source. */
#define RCC_PLLCFGR_PLLPEN (1u << 16)
#define RCC_PLLCFGR_PLLQEN (1u << 20)
#define RCC_PLLCFGR_PLLREN (1u << 24)
#define RCC_PLLCFGR_RESET  0x00001000u
/* RCC_CSR MSISRANGE b11:8, reset 6 (4 MHz). */
#define RCC_CSR_MSISRANGE_4MHZ (6u << 8)

const sim_clock_tree sim_clock_l4p = {
    .name = "RM0432 6 (STM32L4+ RCC)",
    .cr = 0x00,
    .cfgr = 0x08,
    .csr_fixed = RCC_CSR_MSISRANGE_4MHZ,
    /* Reset: MSION, MSIRANGE 6 (4 MHz). */
    .reset = {{0x00, RCC_CR_MSION | 6u << 4}, {0x04, RCC_ICSCR_RESET}, {0x0C, RCC_PLLCFGR_RESET}},
    /* tsu(HSI16) and tsu(MSI) as the L476 (DS10198 6.3.8) [U: DS12023]. */
    .hsi = {.on = RCC_CR_HSION, .rdy = RCC_CR_HSIRDY, .hz = 16 * MHZ, .tsu_ns = 1200},
    .msi = {.on = RCC_CR_MSION, .rdy = RCC_CR_MSIRDY, .tsu_ns = 10000},
    /* MSIRANGE b7:4 once MSIRGSEL is set, else CSR.MSISRANGE (kept at 6);
     * ranges 0-11 from 100 kHz to 48 MHz, 12-15 reserved (a write keeps
     * the old range [U]). */
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
            .lock_ns = 40000, /* tLOCK 40 us as DS10198 6.3.9 [U: DS12023] */
            .cfg = 0x0C,
            /* configured only while off (writes then ignored [U]); the
             * output enables may change at any time */
            .frozen = ~(RCC_PLLCFGR_PLLPEN | RCC_PLLCFGR_PLLQEN | RCC_PLLCFGR_PLLREN),
            .src_shift = 0,
            .src_width = 2,
            .src = {SIM_CLK_NONE, SIM_CLK_MSI, SIM_CLK_HSI, SIM_CLK_HSE},
            /* PLLM /1../16 (4 bits on the L4+), PLLN 8..86 as on the L4
             * (fact sheet section 6: "as L4") [U: RM0432 range not read;
             * the narrower one]. */
            .m = {.shift = 4, .width = 4, .mul = 1, .add = 1, .min = 1, .max = 16},
            .n = {.shift = 8, .width = 7, .mul = 1, .min = 8, .max = 86},
            /* VCO input 4-16 MHz, output 64-344 MHz (as RM0351 6.4.4) [U]. */
            .ref_min_hz = 4 * MHZ,
            .ref_max_hz = 16 * MHZ,
            .vco_min_hz = 64 * MHZ,
            .vco_max_hz = 344 * MHZ,
            /* PLLCLK = R output /2 /4 /6 /8 with PLLREN; 80 MHz in range 1
             * normal mode (R1MODE = 1, the reset value); the boost mode's
             * 120 MHz is not modelled (see the header). */
            .out = {{.div = {.shift = 25, .width = 2, .mul = 2, .add = 2, .min = 2, .max = 8},
                     .en = RCC_PLLCFGR_PLLREN,
                     .max_hz = 80 * MHZ}},
        },
    /* PLLSAI1 and PLLSAI2: ready as soon as on (not modelled). */
    .others = {{RCC_CR_PLLSAI1ON, RCC_CR_PLLSAI1RDY}, {RCC_CR_PLLSAI2ON, RCC_CR_PLLSAI2RDY}},
    /* SW 00 MSI, 01 HSI16, 10 HSE, 11 PLL. */
    .sw_shift = 0,
    .sws_shift = 2,
    .sw_width = 2,
    .sw_src = {SIM_CLK_MSI, SIM_CLK_HSI, SIM_CLK_HSE, SIM_CLK_PLL},
    .hpre = {.shift = 4, .width = 4, .table = hpre_div, .min = 1, .max = 512},
    /* Range 1 at R1MODE = 1: HAL/LL-L4's L4+ branch (fact sheet section
     * 6) allows 20 MHz per wait state, as in boost mode; whether RM0432's
     * table gives normal mode a column of its own was not read [U]. The
     * L476's 16 MHz per wait state is taken: never easier than silicon
     * (a host at 80 MHz needs LATENCY 4 either way). */
    .ws_count = 5,
    .ws_max_hz = {16 * MHZ, 32 * MHZ, 48 * MHZ, 64 * MHZ, 80 * MHZ},
};
