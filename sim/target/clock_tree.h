/*
 * One clock design of the RCC, as data: where its registers are, which bits
 * switch and report each oscillator and the PLL, how the PLL fields decode
 * and which settings lock, how SW/SWS and HPRE decode, and how fast flash
 * may be read at each FLASH_ACR.LATENCY. clock.c is one engine over this
 * description; a chip row (board.h) points at the tree its part has, and
 * clock_trees.c holds one const instance per design with its sources.
 *
 * Only what decides HCLK and whether flash reads are right is described:
 * SYSCLK's candidates (HSI, MSI, HSE, the main PLL), HPRE and the wait
 * states. Anything else in RCC is plain storage.
 */
#ifndef FLASHLINE_SIM_TARGET_CLOCK_TREE_H
#define FLASHLINE_SIM_TARGET_CLOCK_TREE_H

#include <stdint.h>

/* The clocks RCC_CFGR.SW can name (the engine's own names). */
typedef enum sim_clk_src {
    SIM_CLK_NONE, /* "not allowed" code, or no PLL input selected */
    SIM_CLK_HSI,  /* HSI (F1/F4) or HSI16 (L0/L4) */
    SIM_CLK_MSI,
    SIM_CLK_HSE,  /* never fitted on the virtual boards: never ready */
    SIM_CLK_PLL,  /* the PLL output SW calls "PLL" (out[0]) */
    SIM_CLK_PLLR, /* a second selectable PLL output (F446 PLL_R, out[1]) */
} sim_clk_src;

/*
 * A register field and what its code means: table[code] when a table is
 * given (0 = a code the manual does not allow), else code * mul + add. A
 * field of width 0 does not exist and decodes to 1. The decoded value is
 * allowed within [min, max]; a PLL set outside never locks.
 */
typedef struct sim_clk_field {
    uint8_t shift, width;
    const uint16_t *table;
    uint16_t mul, add;
    uint16_t min, max;
} sim_clk_field;

/* An oscillator that can feed SYSCLK. on == 0: the chip has none. */
typedef struct sim_clk_osc {
    uint32_t on, rdy; /* RCC_CR enable and ready bits */
    uint32_t hz;      /* nominal frequency (MSI: see msi below) */
    uint32_t tsu_ns;  /* start-up time, datasheet maximum */
    /* HSI only: a RCC_CR bit that divides it for SYSCLK and the PLL
     * (L0 HSI16DIVEN, /4), or 0. */
    uint32_t div_bit;
    uint32_t div;
    /* HSI only: a RCC_CR field dividing it for SYSCLK alone, not for the
     * PLL (G0 and C0 HSIDIV: HSISYS = HSI / HSIDIV); width 0: none. */
    sim_clk_field sys_div;
    /* HSI only: a RCC_CR field dividing it for SYSCLK and the PLLs alike
     * (H5 HSIDIV b4:3, /1 /2 /4 /8); width 0: none. The field keeps its
     * value while an enabled PLL takes the HSI (RM0481 RCC_CR). */
    sim_clk_field div_field;
} sim_clk_osc;

/* The MSI's frequency ranges. */
typedef struct sim_clk_msi_range {
    uint32_t reg;         /* RCC offset of the register holding the range */
    uint32_t sel;         /* bit there that selects it (software cannot clear
                             it); 0: the field is always used */
    uint8_t shift, width; /* the range field */
    uint8_t unsel_range;  /* the range used while sel is clear */
    /* range -> Hz; 0 = reserved: a write of it keeps the old range */
    uint32_t hz[16];
} sim_clk_msi_range;

/* One PLL output that SW can select. */
typedef struct sim_clk_pll_out {
    sim_clk_field div; /* output divider */
    uint32_t en;       /* output enable bit in the PLL configuration
                          register, 0 = always enabled */
    uint32_t min_hz, max_hz;
} sim_clk_pll_out;

/* The main PLL: input -> / src_div -> / M (VCO input) -> x N (VCO) -> / out. */
typedef struct sim_clk_pll {
    uint32_t on, rdy; /* RCC_CR PLLON, PLLRDY */
    uint32_t lock_ns; /* lock time, datasheet maximum */
    uint32_t cfg;     /* RCC offset of its configuration (CFGR or PLLCFGR) */
    /* bits of cfg that writes cannot change while PLLON is set */
    uint32_t frozen;
    uint8_t src_shift, src_width;
    sim_clk_src src[4]; /* PLLSRC code -> input */
    uint8_t src_div[4]; /* fixed divider on that input (F1 HSI/2), 0 = 1 */
    /* PLLSRC codes (bit k for code k) whose input does not pass M (F0 HSI/2
     * beside HSI/PREDIV) */
    uint8_t src_skip_m;
    sim_clk_field m, n; /* input divider, VCO multiplier */
    /* RCC offset of the register holding M when it is not cfg (F0/F3
     * CFGR2.PREDIV), 0 = cfg; M there is frozen while PLLON is set too */
    uint32_t m_reg;
    /* RCC offset of the register holding PLLSRC when it is not cfg (H7
     * RCC_PLLCKSELR, frozen there while PLLON is set too), 0 = cfg */
    uint32_t src_reg;
    /* RCC offset of the register holding the output enable bits when it
     * is not cfg (H5 RCC_PLL1CFGR.PLL1PEN), 0 = cfg; frozen there too
     * while PLLON is set */
    uint32_t en_reg;
    /* N's decoded values count in 1/n_den (F105 PLLMUL x6.5), 0 = 1 */
    uint16_t n_den;
    uint32_t ref_min_hz; /* the VCO input, after M */
    uint32_t ref_max_hz;
    uint32_t vco_min_hz, vco_max_hz;
    sim_clk_pll_out out[2];
} sim_clk_pll;

/* An RCC_CR on/ready pair outside the model: ready as soon as it is on. */
typedef struct sim_clk_pair {
    uint32_t on, rdy;
} sim_clk_pair;

#define SIM_CLK_WS_MAX 16

typedef struct sim_clock_tree {
    const char *name;   /* the manual section it follows, for messages */
    uint32_t cr, cfgr;  /* RCC offsets */
    uint32_t csr_fixed; /* RCC_CSR (sim_chip.rcc_csr) bits this model keeps
                           at their reset value (L4 MSISRANGE) */
    struct {
        uint32_t off, value;
    } reset[4]; /* reset values of RCC registers other than 0; value 0
                   ends the list */

    sim_clk_osc hsi, msi;
    sim_clk_msi_range msi_range;
    uint32_t hse_rdy; /* HSERDY: never set, HSE is not fitted */
    sim_clk_pll pll;
    sim_clk_pair others[3]; /* on == 0 ends the list */

    /* RCC_CFGR SW (written) and SWS (read) fields, and the code -> clock
     * map they share */
    uint8_t sw_shift, sws_shift, sw_width;
    sim_clk_src sw_src[8];
    sim_clk_field hpre; /* AHB prescaler: code -> divider of SYSCLK */
    /* A RCC_CR field dividing SYSCLK after the SW switch, before HPRE (C0
     * SYSDIV); width 0: none. */
    sim_clk_field sysdiv;
    uint32_t hpre_reg; /* RCC offset holding HPRE when not cfgr (H7
                          RCC_D1CFGR), 0 = cfgr */

    /* Highest HCLK that LATENCY = i wait states allows at the reset voltage
     * range; a LATENCY beyond the table gets the last entry. */
    uint8_t ws_count;
    uint32_t ws_max_hz[SIM_CLK_WS_MAX];
} sim_clock_tree;

extern const sim_clock_tree sim_clock_f1; /* F101/F102/F103 at 72 MHz: F103 */
extern const sim_clock_tree sim_clock_f100;
extern const sim_clock_tree sim_clock_f101;
extern const sim_clock_tree sim_clock_f102;
extern const sim_clock_tree sim_clock_f105;
extern const sim_clock_tree sim_clock_f446;
/* clock_trees_f0f3.c */
extern const sim_clock_tree sim_clock_f0;
extern const sim_clock_tree sim_clock_f0_prediv;
extern const sim_clock_tree sim_clock_f3;
extern const sim_clock_tree sim_clock_f3_prediv;
/* clock_trees_f4.c */
extern const sim_clock_tree sim_clock_f2;
extern const sim_clock_tree sim_clock_f40x;
extern const sim_clock_tree sim_clock_f42x;
extern const sim_clock_tree sim_clock_f469;
extern const sim_clock_tree sim_clock_f401;
extern const sim_clock_tree sim_clock_f411;
extern const sim_clock_tree sim_clock_f412;
extern const sim_clock_tree sim_clock_f410;
extern const sim_clock_tree sim_clock_f7;
extern const sim_clock_tree sim_clock_l0;
extern const sim_clock_tree sim_clock_l4;
extern const sim_clock_tree sim_clock_l4p; /* L4R/L4S/L4P5/L4Q5 (clock_trees_l4p.c) */
/* clock_trees_l4g.c */
extern const sim_clock_tree sim_clock_g0;
extern const sim_clock_tree sim_clock_g4;
extern const sim_clock_tree sim_clock_wb;
extern const sim_clock_tree sim_clock_wl;
/* clock_trees_c0u0.c */
extern const sim_clock_tree sim_clock_c0;
extern const sim_clock_tree sim_clock_c0_sysdiv;
extern const sim_clock_tree sim_clock_u0;
/* clock_trees_l.c */
extern const sim_clock_tree sim_clock_l1;
extern const sim_clock_tree sim_clock_l5;
extern const sim_clock_tree sim_clock_u5;
/* clock_trees_h7.c */
extern const sim_clock_tree sim_clock_h743;
extern const sim_clock_tree sim_clock_h723;
extern const sim_clock_tree sim_clock_h7a3;
/* clock_trees_h5.c */
extern const sim_clock_tree sim_clock_h5;

#endif
