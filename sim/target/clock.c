/*
 * The clock tree, as far as it decides how fast the core runs and whether
 * flash reads are still right: RCC_CR oscillator and PLL enables with their
 * start-up times, the PLL configuration, RCC_CFGR SW/SWS/HPRE, and the
 * flash wait states (FLASH_ACR.LATENCY) against HCLK.
 *
 * Sources: RM0008 (F1) 7.2 and 7.3.1-7.3.2, 3.3.3; RM0390 (F446) 6.2,
 * 6.3.1-6.3.3, 3.4.1; RM0367 (L0x3) 7.2, 7.3.1-7.3.4, 3.3.1; RM0351 (L476)
 * 6.2, 6.4.1-6.4.4, 3.3.3. Start-up and lock times are the datasheets'
 * maximum values (DS5319 F103xB, DS10693 F446xx, DS10152 L053x8, DS10198
 * L476xx), the harder choice for the host.
 *
 * What the host sees, in virtual time:
 *  - an oscillator or PLL that is switched on reports ready only after its
 *    start-up or lock time; switching it off clears ready at once;
 *  - SWS keeps the old source until the one SW selects is ready, then
 *    switches (RM0008 7.2.6: "the switch happens when the source is ready");
 *    HCLK = SYSCLK(SWS) / HPRE sets the core's cycle time;
 *  - the source in use as SYSCLK, the one selected to become it, and the
 *    PLL's input while either is the PLL cannot be switched off; PLL
 *    configuration writes while PLLON is set are ignored;
 *  - a PLL configured out of its datasheet range never locks [U];
 *  - with HCLK above what LATENCY allows, every read of main flash (data,
 *    instruction fetch, debugger) returns wrong bytes.
 * HSE is not fitted on any board: HSERDY never sets. The other PLLs and
 * oscillators (PLLI2S, PLLSAI, LSE, HSI48) keep the old simplification:
 * ready as soon as they are switched on; none of them can feed SYSCLK.
 */
#include "board_state.h"

#include <string.h>

#define MHZ 1000000ull

/* RCC_CR bits per family (RM0008 7.3.1, RM0390 6.3.1, RM0367 7.3.1,
 * RM0351 6.4.1). */
#define CR_HSEON  (1u << 16)
#define CR_HSERDY (1u << 17)
#define CR_PLLON  (1u << 24)
#define CR_PLLRDY (1u << 25)

#define F_HSION  (1u << 0) /* F1/F4 */
#define F_HSIRDY (1u << 1)

#define L0_HSI16ON    (1u << 0)
#define L0_HSI16RDYF  (1u << 2)
#define L0_HSI16DIVEN (1u << 3)
#define L0_HSI16DIVF  (1u << 4)
#define L0_MSION      (1u << 8)
#define L0_MSIRDY     (1u << 9)

#define L4_MSION    (1u << 0)
#define L4_MSIRDY   (1u << 1)
#define L4_MSIRGSEL (1u << 3)
#define L4_MSIRANGE (0xFu << 4)
#define L4_HSION    (1u << 8)
#define L4_HSIRDY   (1u << 10)

#define L4_PLLREN (1u << 24)
/* L4 PLLCFGR bits that may change while the PLL runs: the output enables
 * PLLPEN, PLLQEN, PLLREN (RM0351 6.4.4). */
#define L4_PLL_ENABLES ((1u << 16) | (1u << 20) | (1u << 24))

#define CFGR_SW   0x3u
#define CFGR_SWS  0xCu
#define CFGR_HPRE 0xF0u

/* The sources SW can select. */
enum clk_src { SRC_NONE, SRC_HSI, SRC_MSI, SRC_HSE, SRC_PLL, SRC_PLLR };

/* ---- per-family facts ---------------------------------------------------------- */

static uint32_t cfgr_off(const sim_board *b)
{
    switch (b->chip->family) {
    case SIM_FAMILY_F1:
        return 0x04;
    case SIM_FAMILY_L0:
        return 0x0C;
    default:
        return 0x08;
    }
}

/* RCC_PLLCFGR offset, or 0 where the PLL is configured in RCC_CFGR. */
static uint32_t pllcfgr_off(const sim_board *b)
{
    switch (b->chip->family) {
    case SIM_FAMILY_F4:
        return 0x04;
    case SIM_FAMILY_L4:
        return 0x0C;
    default:
        return 0;
    }
}

/* The PLL configuration bits of RCC_CFGR on F1 (PLLSRC, PLLXTPRE, PLLMUL,
 * RM0008 7.3.2) and L0 (PLLSRC, PLLMUL, PLLDIV, RM0367 7.3.3). */
static uint32_t cfgr_pll_bits(const sim_board *b)
{
    switch (b->chip->family) {
    case SIM_FAMILY_F1:
        return 0x003F0000u;
    case SIM_FAMILY_L0:
        return 0x00FD0000u;
    default:
        return 0;
    }
}

static uint32_t hsi_on_bit(const sim_board *b)
{
    switch (b->chip->family) {
    case SIM_FAMILY_L0:
        return L0_HSI16ON;
    case SIM_FAMILY_L4:
        return L4_HSION;
    default:
        return F_HSION;
    }
}

static uint32_t hsi_rdy_bit(const sim_board *b)
{
    switch (b->chip->family) {
    case SIM_FAMILY_L0:
        return L0_HSI16RDYF;
    case SIM_FAMILY_L4:
        return L4_HSIRDY;
    default:
        return F_HSIRDY;
    }
}

static uint32_t msi_on_bit(const sim_board *b)
{
    switch (b->chip->family) {
    case SIM_FAMILY_L0:
        return L0_MSION;
    case SIM_FAMILY_L4:
        return L4_MSION;
    default:
        return 0;
    }
}

static uint32_t msi_rdy_bit(const sim_board *b)
{
    switch (b->chip->family) {
    case SIM_FAMILY_L0:
        return L0_MSIRDY;
    case SIM_FAMILY_L4:
        return L4_MSIRDY;
    default:
        return 0;
    }
}

/* Start-up times, datasheet maximum:
 *  F1  tsu(HSI) 2 us, tLOCK 200 us (DS5319 5.3.7, 5.3.8 Tables 24, 26);
 *  F4  tsu(HSI) 4 us, tLOCK 100 us (DS10693 6.3.9, 6.3.10);
 *  L0  tsu(HSI16) 6 us, tLOCK 160 us (DS10152 6.3.7, 6.3.8);
 *  L4  tsu(HSI16) 1.2 us, tLOCK 40 us (DS10198 6.3.8, 6.3.9).
 * MSI start-up is a few microseconds and depends on the range; 10 us
 * is a rounded-up figure for all ranges [U]. */
static uint64_t tsu_ps(const sim_board *b, enum clk_src s)
{
    switch (b->chip->family) {
    case SIM_FAMILY_F1:
        return s == SRC_PLL ? 200 * PS_PER_US : 2 * PS_PER_US;
    case SIM_FAMILY_F4:
        return s == SRC_PLL ? 100 * PS_PER_US : 4 * PS_PER_US;
    case SIM_FAMILY_L0:
        return s == SRC_PLL ? 160 * PS_PER_US : s == SRC_MSI ? 10 * PS_PER_US : 6 * PS_PER_US;
    case SIM_FAMILY_L4:
        return s == SRC_PLL ? 40 * PS_PER_US : s == SRC_MSI ? 10 * PS_PER_US : 1200 * PS_PER_NS;
    }
    return 0;
}

/* SW / SWS encoding (RM0008 7.3.2, RM0390 6.3.3, RM0367 7.3.3, RM0351
 * 6.4.3). F1 code 3 is "not allowed": it never becomes ready [U]. */
static enum clk_src src_of(const sim_board *b, unsigned code)
{
    static const enum clk_src f1[4] = {SRC_HSI, SRC_HSE, SRC_PLL, SRC_NONE};
    static const enum clk_src f4[4] = {SRC_HSI, SRC_HSE, SRC_PLL, SRC_PLLR};
    static const enum clk_src l[4] = {SRC_MSI, SRC_HSI, SRC_HSE, SRC_PLL};
    switch (b->chip->family) {
    case SIM_FAMILY_F1:
        return f1[code & 3];
    case SIM_FAMILY_F4:
        return f4[code & 3];
    default:
        return l[code & 3];
    }
}

/* ---- frequencies --------------------------------------------------------------- */

static uint32_t cr(const sim_board *b)
{
    return b->rcc[0];
}

static uint32_t cfgr(const sim_board *b)
{
    return b->rcc[cfgr_off(b) / 4];
}

static uint64_t msi_hz(const sim_board *b)
{
    if (b->chip->family == SIM_FAMILY_L0) {
        /* RM0367 7.3.2: ICSCR.MSIRANGE b15:13, 65.536 kHz << range. */
        return 65536ull << ((b->rcc[1] >> 13) & 7);
    }
    /* RM0351 6.4.1: CR.MSIRANGE b7:4 once MSIRGSEL is set, else
     * CSR.MSISRANGE (kept at its reset value 6, 4 MHz, in this model). */
    static const uint32_t khz[16] = {100,   200,   400,   800,   1000, 2000, 4000, 8000,
                                     16000, 24000, 32000, 48000, 0,    0,    0,    0};
    unsigned range = (cr(b) & L4_MSIRGSEL) ? (cr(b) & L4_MSIRANGE) >> 4 : 6;
    return khz[range] * 1000ull;
}

static uint64_t hsi_hz(const sim_board *b)
{
    switch (b->chip->family) {
    case SIM_FAMILY_F1:
        return 8 * MHZ;
    case SIM_FAMILY_L0:
        /* RM0367 7.2.2: HSI16DIVEN divides HSI16 by 4 for SYSCLK and the
         * PLL. */
        return (cr(b) & L0_HSI16DIVEN) ? 4 * MHZ : 16 * MHZ;
    default:
        return 16 * MHZ;
    }
}

/* One PLL setting, as the configuration registers say now. */
typedef struct pll_cfg {
    enum clk_src input; /* SRC_NONE: no input selected */
    uint64_t out_hz;    /* the output SW selects with "PLL" */
    uint64_t r_hz;      /* F446 PLL_R output (SW = 3), else 0 */
    bool in_spec;       /* will lock */
    bool r_in_spec;
} pll_cfg;

static bool in_range(uint64_t v, uint64_t lo, uint64_t hi)
{
    return v >= lo && v <= hi;
}

static uint64_t input_hz(const sim_board *b, enum clk_src s)
{
    switch (s) {
    case SRC_HSI:
        return hsi_hz(b);
    case SRC_MSI:
        return msi_hz(b);
    default:
        return 0; /* HSE not fitted */
    }
}

static pll_cfg pll_config(const sim_board *b)
{
    pll_cfg p = {SRC_NONE, 0, 0, false, false};
    uint32_t c = cfgr(b);
    switch (b->chip->family) {
    case SIM_FAMILY_F1: {
        /* RM0008 7.3.2: PLLSRC b16 (0 = HSI/2), PLLMUL b21:18, code k ->
         * x(k+2), 15 -> x16. DS5319 Table 26: input 1-25 MHz, output
         * 16-72 MHz. */
        p.input = (c & (1u << 16)) ? SRC_HSE : SRC_HSI;
        uint64_t in = p.input == SRC_HSI ? hsi_hz(b) / 2 : input_hz(b, p.input);
        unsigned k = (c >> 18) & 0xF;
        p.out_hz = in * (k == 15 ? 16 : k + 2);
        p.in_spec = in_range(in, 1 * MHZ, 25 * MHZ) && in_range(p.out_hz, 16 * MHZ, 72 * MHZ);
        break;
    }
    case SIM_FAMILY_F4: {
        /* RM0390 6.3.2: PLLM b5:0 (2..63), PLLN b14:6 (50..432), PLLP
         * b17:16 (/2,/4,/6,/8), PLLSRC b22 (0 = HSI), PLLR b30:28 (2..7);
         * VCO input 1-2 MHz, VCO output 100-432 MHz, outputs <= 180 MHz. */
        uint32_t v = b->rcc[1];
        p.input = (v & (1u << 22)) ? SRC_HSE : SRC_HSI;
        unsigned m = v & 0x3F, n = (v >> 6) & 0x1FF, pdiv = 2 * (((v >> 16) & 3) + 1);
        unsigned r = (v >> 28) & 7;
        uint64_t in = m ? input_hz(b, p.input) / m : 0;
        uint64_t vco = in * n;
        p.out_hz = vco / pdiv;
        p.r_hz = r ? vco / r : 0;
        p.in_spec = m >= 2 && in_range(n, 50, 432) && in_range(in, 1 * MHZ, 2 * MHZ) &&
                    in_range(vco, 100 * MHZ, 432 * MHZ) && p.out_hz <= 180 * MHZ;
        p.r_in_spec = p.in_spec && r >= 2 && p.r_hz <= 180 * MHZ;
        break;
    }
    case SIM_FAMILY_L0: {
        /* RM0367 7.2.4, 7.3.3: PLLSRC b16 (0 = HSI16), PLLMUL b21:18,
         * PLLDIV b23:22 (/2,/3,/4; 00 not allowed). Input 2-24 MHz; the VCO
         * (input x PLLMUL) must not exceed 48 MHz in voltage range 2, which
         * is the only range modelled; output <= 32 MHz. */
        static const unsigned mul[16] = {3, 4, 6, 8, 12, 16, 24, 32, 48, 0, 0, 0, 0, 0, 0, 0};
        p.input = (c & (1u << 16)) ? SRC_HSE : SRC_HSI;
        uint64_t in = input_hz(b, p.input);
        unsigned ml = mul[(c >> 18) & 0xF], div = (c >> 22) & 3;
        uint64_t vco = in * ml;
        p.out_hz = div ? vco / (div + 1) : 0;
        p.in_spec =
            ml && div && in_range(in, 2 * MHZ, 24 * MHZ) && vco <= 48 * MHZ && p.out_hz <= 32 * MHZ;
        break;
    }
    case SIM_FAMILY_L4: {
        /* RM0351 6.4.4: PLLSRC b1:0 (00 none, 01 MSI, 10 HSI16, 11 HSE),
         * PLLM b6:4 (/1../8), PLLN b14:8 (8..86), PLLR b26:25 (/2,/4,/6,/8);
         * VCO input 4-16 MHz, VCO output 64-344 MHz, PLLR output <= 80 MHz
         * (RM0351 6.2.5; DS10198 Table 48). */
        static const enum clk_src srcs[4] = {SRC_NONE, SRC_MSI, SRC_HSI, SRC_HSE};
        uint32_t v = b->rcc[3];
        p.input = srcs[v & 3];
        unsigned m = ((v >> 4) & 7) + 1, n = (v >> 8) & 0x7F, r = 2 * (((v >> 25) & 3) + 1);
        uint64_t in = input_hz(b, p.input) / m;
        uint64_t vco = in * n;
        p.out_hz = vco / r;
        p.in_spec = p.input != SRC_NONE && in_range(n, 8, 86) && in_range(in, 4 * MHZ, 16 * MHZ) &&
                    in_range(vco, 64 * MHZ, 344 * MHZ) && p.out_hz <= 80 * MHZ;
        break;
    }
    }
    return p;
}

static uint64_t src_hz(const sim_board *b, enum clk_src s)
{
    switch (s) {
    case SRC_PLL:
        return pll_config(b).out_hz;
    case SRC_PLLR:
        return pll_config(b).r_hz;
    default:
        return input_hz(b, s);
    }
}

/* ---- readiness ------------------------------------------------------------------- */

static uint64_t max64(uint64_t a, uint64_t c)
{
    return a > c ? a : c;
}

/* When the PLL locks (or locked); UINT64_MAX when it is off, has no running
 * input, or is configured out of spec ([U]: such a PLL never locks). */
static uint64_t pll_lock_at(const sim_board *b)
{
    if (b->clk.pll_on_at == UINT64_MAX)
        return UINT64_MAX;
    pll_cfg p = pll_config(b);
    if (!p.in_spec)
        return UINT64_MAX;
    uint64_t in = p.input == SRC_HSI   ? b->clk.hsi_ready_at
                  : p.input == SRC_MSI ? b->clk.msi_ready_at
                                       : UINT64_MAX; /* none, or HSE not fitted */
    if (in == UINT64_MAX)
        return UINT64_MAX;
    return max64(b->clk.pll_on_at, in) + tsu_ps(b, SRC_PLL);
}

/* When s is (or will be) ready to be SYSCLK; UINT64_MAX when it is off or
 * never will be. */
static uint64_t ready_at(const sim_board *b, enum clk_src s)
{
    switch (s) {
    case SRC_HSI:
        return b->clk.hsi_ready_at;
    case SRC_MSI:
        return b->clk.msi_ready_at;
    case SRC_PLL:
        /* RM0351 6.4.4: without PLLREN the PLLCLK output is off; SW cannot
         * switch to it [U: the switch waits, as for a PLL not locked]. */
        if (b->chip->family == SIM_FAMILY_L4 && !(b->rcc[3] & L4_PLLREN))
            return UINT64_MAX;
        return pll_lock_at(b);
    case SRC_PLLR:
        return pll_config(b).r_in_spec ? pll_lock_at(b) : UINT64_MAX;
    default:
        return UINT64_MAX; /* HSE not fitted; F1 SW = 3 */
    }
}

/* The ready flag: for the PLL, PLLRDY tells lock whatever PLLREN says. */
static bool ready(const sim_board *b, enum clk_src s)
{
    return b->now_ps >= (s == SRC_PLL ? pll_lock_at(b) : ready_at(b, s));
}

/* Is s needed for SYSCLK: the source in use, the one SW selects, or the
 * PLL's input while either of those is the PLL (RM0008 7.3.1 HSION/PLLON:
 * "cannot be reset if ... used directly or indirectly as system clock or
 * is selected to become the system clock"). */
static bool needed(const sim_board *b, enum clk_src s)
{
    enum clk_src used = src_of(b, b->clk.sws), sel = src_of(b, cfgr(b) & CFGR_SW);
    bool pll = used == SRC_PLL || used == SRC_PLLR || sel == SRC_PLL || sel == SRC_PLLR;
    if (s == SRC_PLL)
        return pll;
    return used == s || sel == s || (pll && pll_config(b).input == s);
}

/* ---- HCLK and flash wait states --------------------------------------------------- */

static uint64_t hclk_hz(const sim_board *b)
{
    /* HPRE b7:4: 0xxx /1, 1000 /2, 1001 /4, 1010 /8, 1011 /16, 1100 /64,
     * 1101 /128, 1110 /256, 1111 /512 (no /32). */
    static const unsigned shift[8] = {1, 2, 3, 4, 6, 7, 8, 9};
    unsigned hpre = (cfgr(b) & CFGR_HPRE) >> 4;
    uint64_t sys = src_hz(b, src_of(b, b->clk.sws));
    return (hpre & 8) ? sys >> shift[hpre & 7] : sys;
}

/* Highest HCLK that LATENCY wait states allow at the reset supply/voltage
 * range:
 *  F1: RM0008 3.3.3: 0 WS <= 24 MHz, 1 WS <= 48, 2 WS <= 72 (3-7 are
 *      reserved; taken as 2 [U]).
 *  F446 at 2.7-3.6 V: RM0390 3.4.1 Table 5: 30 MHz per wait state. Above
 *      168 MHz the core needs over-drive (RM0390 5.1.4), which is not
 *      modelled: HCLK above 168 MHz counts as too fast at any LATENCY [U].
 *  L0 in voltage range 2 (PWR_CR.VOS reset value; PWR is not modelled):
 *      RM0367 3.3.1 Table 13: 0 WS <= 8 MHz, 1 WS <= 16 MHz. The model
 *      lets 0 WS go up to 16 MHz too [U]: OpenOCD's stm32l0.cfg reset-init
 *      switches to HSI16 without touching LATENCY, and real boards program
 *      and verify that way; a model stricter than the silicon in the field
 *      would fail that unmodified program. Above 16 MHz (PLL) reads are
 *      wrong at any LATENCY, since range 2 is the only range modelled.
 *  L4 in range 1 (reset value): RM0351 3.3.3 Table 9: 16 MHz per wait
 *      state up to 4 WS at 80 MHz. */
static uint64_t flash_limit_hz(const sim_board *b, unsigned latency)
{
    uint64_t ws = latency;
    switch (b->chip->family) {
    case SIM_FAMILY_F1:
        return (ws > 2 ? 3 : ws + 1) * 24 * MHZ;
    case SIM_FAMILY_F4:
        return ws >= 5 ? 168 * MHZ : (ws + 1) * 30 * MHZ;
    case SIM_FAMILY_L0:
        return 16 * MHZ;
    case SIM_FAMILY_L4:
        return ws >= 4 ? 80 * MHZ : (ws + 1) * 16 * MHZ;
    }
    return 0;
}

/* What an over-clocked flash gives instead of byte off: deterministic and
 * never the right byte (the pattern is never 0). */
static uint8_t garble(uint32_t off)
{
    return (uint8_t)(0xA5u ^ ((off >> 2) & 0x0Fu));
}

void clock_view_sync(sim_board *b, uint32_t off, uint32_t len)
{
    uint32_t size = b->chip->flash_size;
    if (off >= size)
        return;
    if (len > size - off)
        len = size - off;
    if (!b->clk.overclocked) {
        memcpy(b->flash_view + off, b->flash + off, len);
        return;
    }
    for (uint32_t i = off; i < off + len; i++)
        b->flash_view[i] = b->flash[i] ^ garble(i);
}

void clock_update(sim_board *b)
{
    uint64_t hz = hclk_hz(b);
    if (hz == 0) /* cannot happen: SWS only ever names a running source */
        hz = b->chip->core_hz;
    b->clk.hclk_hz = hz;
    uint64_t cycle = (1000000000000ull + hz / 2) / hz;
    if (cycle != b->cycle_ps) {
        /* SysTick keeps its count; DWT CYCCNT keeps its value and counts on
         * at the new rate (rebased in modular arithmetic). */
        systick_snapshot(b);
        uint64_t cyc = (b->now_ps - b->dwt_cyc_base_ps) / b->cycle_ps;
        b->dwt_cyc_base_ps = b->now_ps - cyc * cycle;
        b->cycle_ps = cycle;
        b->stop_at_ps = 0; /* SysTick's next event moved: recompute */
    }
    b->clk.latency = b->fops->latency(b, b->fstate);
    bool over = hz > flash_limit_hz(b, b->clk.latency);
    if (over != b->clk.overclocked) {
        b->clk.overclocked = over;
        /* Rebuild the core's view of the array; code translated from the
         * old bytes must go before the core runs on. */
        sim_flash_changed(b, b->chip->flash_base, b->chip->flash_size);
        b->stop_at_ps = 0;
    }
}

void sim_clock_changed(sim_board *b)
{
    clock_update(b);
}

uint32_t sim_board_hclk_hz(const sim_board *b)
{
    return (uint32_t)b->clk.hclk_hz;
}

/* ---- switching --------------------------------------------------------------------- */

/* When SWS will follow SW; UINT64_MAX if it already has or never will. */
uint64_t clock_next_event(const sim_board *b)
{
    unsigned sw = cfgr(b) & CFGR_SW;
    if (sw == b->clk.sws || !b->powered)
        return UINT64_MAX;
    uint64_t t = ready_at(b, src_of(b, sw));
    return t == UINT64_MAX ? t : max64(t, b->clk.sw_at);
}

void clock_service(sim_board *b)
{
    if (b->now_ps >= clock_next_event(b)) {
        b->clk.sws = cfgr(b) & CFGR_SW;
        clock_update(b);
    }
}

/* ---- registers --------------------------------------------------------------------- */

void rcc_reset(sim_board *b)
{
    for (size_t i = 0; i < sizeof b->rcc / sizeof b->rcc[0]; i++)
        b->rcc[i] = 0;
    struct sim_clock *k = &b->clk;
    k->hsi_ready_at = k->msi_ready_at = k->pll_on_at = UINT64_MAX;
    k->sws = 0;
    k->sw_at = b->now_ps;
    /* Reset values: RM0008 7.3.1, RM0390 6.3.1-6.3.2, RM0367 7.3.1-7.3.2,
     * RM0351 6.4.1-6.4.2, 6.4.4. The reset oscillator is running. */
    switch (b->chip->family) {
    case SIM_FAMILY_L0:
        b->rcc[0] = L0_MSION;
        b->rcc[1] = 0x0000B000u; /* ICSCR: MSIRANGE 5 (2.097 MHz), HSI16TRIM 16 */
        k->msi_ready_at = b->now_ps;
        break;
    case SIM_FAMILY_L4:
        b->rcc[0] = 0x00000061u; /* MSION, MSIRANGE 6 (4 MHz) */
        b->rcc[1] = 0x10000000u; /* ICSCR: HSITRIM 16 */
        b->rcc[3] = 0x00001000u; /* PLLCFGR: PLLN 16, no source */
        k->msi_ready_at = b->now_ps;
        break;
    case SIM_FAMILY_F4:
        b->rcc[0] = 0x00000081u; /* HSION, HSITRIM 16 */
        b->rcc[1] = 0x24003010u; /* PLLCFGR: M 16, N 192, P /2, Q 4, R 2 */
        k->hsi_ready_at = b->now_ps;
        break;
    case SIM_FAMILY_F1:
        b->rcc[0] = 0x00000081u;
        k->hsi_ready_at = b->now_ps;
        break;
    }
    clock_update(b);
}

/* RCC_CR on/ready pairs that are not part of the model: ready as soon as
 * they are on (PLLI2S, PLLSAI on F4/L4; HSI16DIVF on L0 follows DIVEN). */
typedef struct rcc_pair {
    uint32_t on, ready;
} rcc_pair;

static const rcc_pair *other_pairs(const sim_board *b)
{
    static const rcc_pair f[] = {{1u << 26, 1u << 27}, {1u << 28, 1u << 29}, {0, 0}};
    static const rcc_pair l0[] = {{L0_HSI16DIVEN, L0_HSI16DIVF}, {0, 0}};
    return b->chip->family == SIM_FAMILY_L0 ? l0 : f;
}

static uint32_t ready_bits(const sim_board *b)
{
    uint32_t v = 0;
    if (ready(b, SRC_HSI))
        v |= hsi_rdy_bit(b);
    if (msi_rdy_bit(b) && ready(b, SRC_MSI))
        v |= msi_rdy_bit(b);
    if (ready(b, SRC_PLL))
        v |= CR_PLLRDY;
    for (const rcc_pair *p = other_pairs(b); p->on; p++)
        if (cr(b) & p->on)
            v |= p->ready;
    return v;
}

static uint32_t all_ready_bits(const sim_board *b)
{
    uint32_t v = hsi_rdy_bit(b) | msi_rdy_bit(b) | CR_PLLRDY | CR_HSERDY;
    for (const rcc_pair *p = other_pairs(b); p->on; p++)
        v |= p->ready;
    return v;
}

uint32_t rcc_read(sim_board *b, uint32_t off)
{
    clock_service(b);
    uint32_t v = b->rcc[(off / 4) & 0xFF];
    if (off == 0)
        v = (v & ~all_ready_bits(b)) | ready_bits(b);
    if (off == cfgr_off(b))
        v = (v & ~CFGR_SWS) | b->clk.sws << 2;
    return v;
}

/* One oscillator enable bit: refuse to clear it while SYSCLK needs it;
 * start its start-up time when it goes on. Returns the bit as it stands. */
static uint32_t osc_enable(sim_board *b, enum clk_src s, uint32_t bit, uint32_t old, uint32_t v,
                           uint64_t *at)
{
    if (!bit)
        return 0;
    bool was = old & bit, now_on = v & bit;
    if (was && !now_on && needed(b, s))
        return bit; /* refused */
    if (!was && now_on)
        *at = b->now_ps + (s == SRC_PLL ? 0 : tsu_ps(b, s));
    if (!now_on)
        *at = UINT64_MAX;
    return now_on ? bit : 0;
}

static void cr_write(sim_board *b, uint32_t v)
{
    struct sim_clock *k = &b->clk;
    uint32_t old = cr(b);
    uint32_t hsi = hsi_on_bit(b), msi = msi_on_bit(b);
    uint32_t keep = hsi | msi | CR_PLLON;
    uint32_t on = osc_enable(b, SRC_HSI, hsi, old, v, &k->hsi_ready_at) |
                  osc_enable(b, SRC_MSI, msi, old, v, &k->msi_ready_at) |
                  osc_enable(b, SRC_PLL, CR_PLLON, old, v, &k->pll_on_at);
    v = (v & ~keep & ~all_ready_bits(b)) | on;
    if (b->chip->family == SIM_FAMILY_L4) {
        /* RM0351 6.4.1: MSIRANGE "must NOT be modified when MSI is ON and
         * NOT ready" (ignored here [U]); MSIRGSEL cannot be cleared by
         * software. */
        if ((old & L4_MSION) && !ready(b, SRC_MSI))
            v = (v & ~L4_MSIRANGE) | (old & L4_MSIRANGE);
        v |= old & L4_MSIRGSEL;
        unsigned range = (v & L4_MSIRANGE) >> 4;
        if (range > 11) /* reserved ranges: keep the old one [U] */
            v = (v & ~L4_MSIRANGE) | (old & L4_MSIRANGE);
    }
    b->rcc[0] = v;
}

void rcc_write(sim_board *b, uint32_t off, uint32_t value, uint32_t mask)
{
    clock_service(b);
    uint32_t idx = (off / 4) & 0xFF;
    uint32_t old = b->rcc[idx];
    uint32_t v = (old & ~mask) | (value & mask);
    bool pll_on = cr(b) & CR_PLLON;
    if (off == 0) {
        cr_write(b, v);
    } else if (off == cfgr_off(b)) {
        /* PLL configuration bits "can be written only when PLL is
         * disabled" (RM0008 7.3.2; RM0367 7.3.3). SWS is read-only. */
        uint32_t pll_bits = cfgr_pll_bits(b);
        if (pll_on)
            v = (v & ~pll_bits) | (old & pll_bits);
        v = (v & ~CFGR_SWS) | (old & CFGR_SWS);
        if ((v & CFGR_SW) != (old & CFGR_SW))
            b->clk.sw_at = b->now_ps;
        b->rcc[idx] = v;
    } else if (off == pllcfgr_off(b)) {
        /* RM0390 6.3.2 / RM0351 6.4.4: configure "only when the PLL is
         * disabled"; writes while PLLON is set are ignored [U]. The L4
         * output enables may change at any time, but PLLREN cannot be
         * cleared while the PLL is SYSCLK [U]. */
        uint32_t movable = b->chip->family == SIM_FAMILY_L4 ? L4_PLL_ENABLES : 0;
        if (pll_on)
            v = (v & movable) | (old & ~movable);
        if (b->chip->family == SIM_FAMILY_L4 && needed(b, SRC_PLL) && (cr(b) & CR_PLLON))
            v |= old & L4_PLLREN;
        b->rcc[idx] = v;
    } else if (b->chip->family == SIM_FAMILY_L0 && off == 0x04) {
        /* ICSCR: MSIRANGE b15:13 is the only writable field that matters;
         * as on L4, it is kept while MSI is on but not ready [U]. */
        if ((cr(b) & L0_MSION) && !ready(b, SRC_MSI))
            v = (v & ~0xE000u) | (old & 0xE000u);
        b->rcc[idx] = v;
    } else {
        b->rcc[idx] = v;
    }
    clock_update(b);
    clock_service(b);
}
