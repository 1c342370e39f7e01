/*
 * The clock tree, as far as it decides how fast the core runs and whether
 * flash reads are still right: RCC_CR oscillator and PLL enables with their
 * start-up times, the PLL configuration, RCC_CFGR SW/SWS/HPRE, and the
 * flash wait states (FLASH_ACR.LATENCY) against HCLK.
 *
 * This file is one engine for every part: what differs between clock
 * designs (register offsets, bits, field decodings, limits, times, the
 * wait-state table) is data in the chip row's sim_clock_tree
 * (clock_tree.h, instances and their sources in clock_trees.c). The rules
 * below hold on every modelled part (RM0008 7.2-7.3, RM0390 6.2-6.3, RM0367
 * 7.2-7.3, RM0351 6.2-6.4).
 *
 * What the host sees, in virtual time:
 *  - an oscillator or PLL that is switched on reports ready only after its
 *    start-up or lock time; switching it off clears ready at once;
 *  - SWS keeps the old source until the one SW selects is ready, then
 *    switches (RM0008 7.2.6: "the switch happens when the source is ready");
 *    HCLK = SYSCLK(SWS) / HPRE sets the core's cycle time;
 *  - the source in use as SYSCLK, the one selected to become it, and the
 *    PLL's input while either is the PLL cannot be switched off; PLL
 *    configuration writes while PLLON is set are ignored (the tree says
 *    which bits stay writable);
 *  - a PLL configured out of its datasheet range never locks [U];
 *  - with HCLK above what LATENCY allows, every read of main flash (data,
 *    instruction fetch, debugger) returns wrong bytes.
 * HSE is not fitted on any board: HSERDY never sets. The other PLLs and
 * oscillators (PLLI2S, PLLSAI, LSE, HSI48) keep the old simplification:
 * ready as soon as they are switched on; none of them can feed SYSCLK.
 */
#include "board_state.h"
#include "clock_tree.h"

#include <string.h>

/* ---- the tree and its fields ---------------------------------------------------- */

static const sim_clock_tree *tree(const sim_board *b)
{
    return b->chip->clock;
}

static uint32_t code_of(uint32_t reg, unsigned shift, unsigned width)
{
    return width ? (reg >> shift) & ((1u << width) - 1) : 0;
}

static uint32_t field_mask(unsigned shift, unsigned width)
{
    return ((1u << width) - 1) << shift;
}

/* What a field's code stands for; 1 for a field the design lacks. */
static uint32_t field_value(const sim_clk_field *f, uint32_t reg)
{
    if (!f->width)
        return 1;
    uint32_t code = code_of(reg, f->shift, f->width);
    return f->table ? f->table[code] : code * f->mul + f->add;
}

static bool field_allowed(const sim_clk_field *f, uint32_t value)
{
    return !f->width || (value && value >= f->min && value <= f->max);
}

static uint32_t cr(const sim_board *b)
{
    return b->rcc[tree(b)->cr / 4];
}

static uint32_t cfgr(const sim_board *b)
{
    return b->rcc[tree(b)->cfgr / 4];
}

static unsigned sw_code(const sim_board *b)
{
    const sim_clock_tree *t = tree(b);
    return code_of(cfgr(b), t->sw_shift, t->sw_width);
}

static sim_clk_src src_of(const sim_board *b, unsigned code)
{
    return tree(b)->sw_src[code & 7];
}

/* Start-up (oscillators) or lock (PLL) time. */
static uint64_t tsu_ps(const sim_board *b, sim_clk_src s)
{
    const sim_clock_tree *t = tree(b);
    switch (s) {
    case SIM_CLK_HSI:
        return t->hsi.tsu_ns * PS_PER_NS;
    case SIM_CLK_MSI:
        return t->msi.tsu_ns * PS_PER_NS;
    case SIM_CLK_PLL:
        return t->pll.lock_ns * PS_PER_NS;
    default:
        return 0;
    }
}

/* ---- frequencies --------------------------------------------------------------- */

static unsigned msi_range(const sim_board *b)
{
    const sim_clk_msi_range *r = &tree(b)->msi_range;
    uint32_t v = b->rcc[r->reg / 4];
    if (r->sel && !(v & r->sel))
        return r->unsel_range;
    return code_of(v, r->shift, r->width);
}

static uint64_t msi_hz(const sim_board *b)
{
    return tree(b)->msi.on ? tree(b)->msi_range.hz[msi_range(b) & 15] : 0;
}

static uint64_t hsi_hz(const sim_board *b)
{
    const sim_clk_osc *o = &tree(b)->hsi;
    uint64_t hz = o->div_bit && (cr(b) & o->div_bit) ? o->hz / o->div : o->hz;
    uint32_t d = field_value(&o->div_field, cr(b)); /* 1 where there is none */
    return d ? hz / d : 0;
}

/* One PLL setting, as the configuration registers say now. */
typedef struct pll_cfg {
    sim_clk_src input; /* SIM_CLK_NONE: no input selected */
    uint64_t out_hz;   /* the output SW selects with "PLL" */
    uint64_t r_hz;     /* the second selectable output (F446 PLL_R), or 0 */
    bool in_spec;      /* will lock */
    bool r_in_spec;
} pll_cfg;

static bool in_range(uint64_t v, uint64_t lo, uint64_t hi)
{
    return v >= lo && v <= hi;
}

static uint64_t input_hz(const sim_board *b, sim_clk_src s)
{
    switch (s) {
    case SIM_CLK_HSI:
        return hsi_hz(b);
    case SIM_CLK_MSI:
        return msi_hz(b);
    default:
        return 0; /* HSE not fitted */
    }
}

/* input / src_div / M = VCO input, x N = VCO, / out divider = output; each
 * stage within its datasheet range, or the PLL never locks. An output
 * needs the PLL in range and its own divider and frequency in range. */
static pll_cfg pll_config(const sim_board *b)
{
    const sim_clk_pll *P = &tree(b)->pll;
    pll_cfg p = {SIM_CLK_NONE, 0, 0, false, false};
    uint32_t v = b->rcc[P->cfg / 4];
    uint32_t sv = P->src_reg ? b->rcc[P->src_reg / 4] : v;
    unsigned sc = code_of(sv, P->src_shift, P->src_width);
    p.input = P->src[sc];
    uint32_t sdiv = P->src_div[sc] ? P->src_div[sc] : 1;
    bool skip_m = (P->src_skip_m >> sc) & 1;
    uint32_t mv = P->m_reg ? b->rcc[P->m_reg / 4] : v;
    uint32_t m = skip_m ? 1 : field_value(&P->m, mv), n = field_value(&P->n, v);
    uint64_t ref = m ? input_hz(b, p.input) / sdiv / m : 0;
    uint64_t vco = ref * n / (P->n_den ? P->n_den : 1);
    bool ok = p.input != SIM_CLK_NONE && (skip_m || field_allowed(&P->m, m)) &&
              field_allowed(&P->n, n) && in_range(ref, P->ref_min_hz, P->ref_max_hz) &&
              in_range(vco, P->vco_min_hz, P->vco_max_hz);
    uint64_t hz[2] = {0, 0};
    bool spec[2] = {false, false};
    for (unsigned k = 0; k < 2; k++) {
        const sim_clk_pll_out *o = &P->out[k];
        if (!o->max_hz)
            break;
        uint32_t d = field_value(&o->div, v);
        hz[k] = d ? vco / d : 0;
        ok = ok && field_allowed(&o->div, d) && in_range(hz[k], o->min_hz, o->max_hz);
        spec[k] = ok;
    }
    p.out_hz = hz[0];
    p.r_hz = hz[1];
    p.in_spec = spec[0];
    p.r_in_spec = spec[1];
    return p;
}

static uint64_t src_hz(const sim_board *b, sim_clk_src s)
{
    switch (s) {
    case SIM_CLK_PLL:
        return pll_config(b).out_hz;
    case SIM_CLK_PLLR:
        return pll_config(b).r_hz;
    case SIM_CLK_HSI: {
        /* HSISYS: the HSI after its SYSCLK-only divider (G0/C0 HSIDIV) */
        uint32_t d = field_value(&tree(b)->hsi.sys_div, cr(b));
        return d ? hsi_hz(b) / d : 0;
    }
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
    uint64_t in = p.input == SIM_CLK_HSI   ? b->clk.hsi_ready_at
                  : p.input == SIM_CLK_MSI ? b->clk.msi_ready_at
                                           : UINT64_MAX; /* none, or HSE not fitted */
    if (in == UINT64_MAX)
        return UINT64_MAX;
    return max64(b->clk.pll_on_at, in) + tsu_ps(b, SIM_CLK_PLL);
}

/* Is PLL output k enabled (an output without an enable bit always is)? A
 * disabled output is off; SW cannot switch to it [U: the switch waits, as
 * for a PLL not locked]. */
static bool pll_out_enabled(const sim_board *b, unsigned k)
{
    const sim_clk_pll *P = &tree(b)->pll;
    return !P->out[k].en || (b->rcc[(P->en_reg ? P->en_reg : P->cfg) / 4] & P->out[k].en);
}

/* When s is (or will be) ready to be SYSCLK; UINT64_MAX when it is off or
 * never will be. */
static uint64_t ready_at(const sim_board *b, sim_clk_src s)
{
    switch (s) {
    case SIM_CLK_HSI:
        return b->clk.hsi_ready_at;
    case SIM_CLK_MSI:
        return b->clk.msi_ready_at;
    case SIM_CLK_PLL:
        return pll_out_enabled(b, 0) ? pll_lock_at(b) : UINT64_MAX;
    case SIM_CLK_PLLR:
        return pll_out_enabled(b, 1) && pll_config(b).r_in_spec ? pll_lock_at(b) : UINT64_MAX;
    default:
        return UINT64_MAX; /* HSE not fitted; a code that is not allowed */
    }
}

/* The ready flag: for the PLL, PLLRDY tells lock whatever its output
 * enables say. */
static bool ready(const sim_board *b, sim_clk_src s)
{
    return b->now_ps >= (s == SIM_CLK_PLL ? pll_lock_at(b) : ready_at(b, s));
}

/* Is s needed for SYSCLK: the source in use, the one SW selects, or the
 * PLL's input while either of those is the PLL (RM0008 7.3.1 HSION/PLLON:
 * "cannot be reset if ... used directly or indirectly as system clock or
 * is selected to become the system clock"). */
static bool needed(const sim_board *b, sim_clk_src s)
{
    sim_clk_src used = src_of(b, b->clk.sws), sel = src_of(b, sw_code(b));
    bool pll =
        used == SIM_CLK_PLL || used == SIM_CLK_PLLR || sel == SIM_CLK_PLL || sel == SIM_CLK_PLLR;
    if (s == SIM_CLK_PLL)
        return pll;
    return used == s || sel == s || (pll && pll_config(b).input == s);
}

/* ---- HCLK and flash wait states --------------------------------------------------- */

static uint64_t hclk_hz(const sim_board *b)
{
    uint64_t sys = src_hz(b, src_of(b, b->clk.sws));
    const sim_clock_tree *t = tree(b);
    uint32_t sysdiv = field_value(&t->sysdiv, cr(b)); /* 1 where there is none */
    if (sysdiv)
        sys /= sysdiv;
    uint32_t div = field_value(&t->hpre, t->hpre_reg ? b->rcc[t->hpre_reg / 4] : cfgr(b));
    return div ? sys / div : sys;
}

/* Highest HCLK that LATENCY wait states allow (the tree's table; a LATENCY
 * past its end counts as its last entry). */
static uint64_t flash_limit_hz(const sim_board *b, unsigned latency)
{
    const sim_clock_tree *t = tree(b);
    if (!t->ws_count)
        return UINT64_MAX;
    return t->ws_max_hz[latency < t->ws_count ? latency : t->ws_count - 1u];
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
    unsigned sw = sw_code(b);
    if (sw == b->clk.sws || !b->powered)
        return UINT64_MAX;
    uint64_t t = ready_at(b, src_of(b, sw));
    return t == UINT64_MAX ? t : max64(t, b->clk.sw_at);
}

void clock_service(sim_board *b)
{
    if (b->now_ps >= clock_next_event(b)) {
        b->clk.sws = sw_code(b);
        clock_update(b);
    }
}

/* ---- registers --------------------------------------------------------------------- */

/* Reset values from the tree; the oscillators they switch on are running
 * (SW and SWS reset to code 0, the reset oscillator). */
void rcc_reset(sim_board *b)
{
    const sim_clock_tree *t = tree(b);
    for (size_t i = 0; i < sizeof b->rcc / sizeof b->rcc[0]; i++)
        b->rcc[i] = 0;
    struct sim_clock *k = &b->clk;
    k->hsi_ready_at = k->msi_ready_at = k->pll_on_at = UINT64_MAX;
    k->sws = 0;
    k->sw_at = b->now_ps;
    for (size_t i = 0; i < sizeof t->reset / sizeof t->reset[0] && t->reset[i].value; i++)
        b->rcc[(t->reset[i].off / 4) & 0xFF] = t->reset[i].value;
    if (t->hsi.on && (cr(b) & t->hsi.on))
        k->hsi_ready_at = b->now_ps;
    if (t->msi.on && (cr(b) & t->msi.on))
        k->msi_ready_at = b->now_ps;
    clock_update(b);
}

static uint32_t ready_bits(const sim_board *b)
{
    const sim_clock_tree *t = tree(b);
    uint32_t v = 0;
    if (ready(b, SIM_CLK_HSI))
        v |= t->hsi.rdy;
    if (t->msi.rdy && ready(b, SIM_CLK_MSI))
        v |= t->msi.rdy;
    if (ready(b, SIM_CLK_PLL))
        v |= t->pll.rdy;
    for (const sim_clk_pair *p = t->others; p < t->others + 3 && p->on; p++)
        if (cr(b) & p->on)
            v |= p->rdy;
    return v;
}

static uint32_t all_ready_bits(const sim_board *b)
{
    const sim_clock_tree *t = tree(b);
    uint32_t v = t->hsi.rdy | t->msi.rdy | t->pll.rdy | t->hse_rdy;
    for (const sim_clk_pair *p = t->others; p < t->others + 3 && p->on; p++)
        v |= p->rdy;
    return v;
}

uint32_t rcc_read(sim_board *b, uint32_t off)
{
    const sim_clock_tree *t = tree(b);
    clock_service(b);
    uint32_t v = b->rcc[(off / 4) & 0xFF];
    if (off == t->cr)
        v = (v & ~all_ready_bits(b)) | ready_bits(b);
    if (off == t->cfgr) {
        uint32_t sws = field_mask(t->sws_shift, t->sw_width);
        v = (v & ~sws) | b->clk.sws << t->sws_shift;
    }
    return v;
}

/* One oscillator enable bit: refuse to clear it while SYSCLK needs it;
 * start its start-up time when it goes on. Returns the bit as it stands. */
static uint32_t osc_enable(sim_board *b, sim_clk_src s, uint32_t bit, uint32_t old, uint32_t v,
                           uint64_t *at)
{
    if (!bit)
        return 0;
    bool was = old & bit, now_on = v & bit;
    if (was && !now_on && needed(b, s))
        return bit; /* refused */
    if (!was && now_on)
        *at = b->now_ps + (s == SIM_CLK_PLL ? 0 : tsu_ps(b, s));
    if (!now_on)
        *at = UINT64_MAX;
    return now_on ? bit : 0;
}

/* RCC_CR: the enables SYSCLK needs stay on, ready flags are read-only. */
static uint32_t cr_write(sim_board *b, uint32_t old, uint32_t v)
{
    const sim_clock_tree *t = tree(b);
    struct sim_clock *k = &b->clk;
    uint32_t keep = t->hsi.on | t->msi.on | t->pll.on;
    uint32_t on = osc_enable(b, SIM_CLK_HSI, t->hsi.on, old, v, &k->hsi_ready_at) |
                  osc_enable(b, SIM_CLK_MSI, t->msi.on, old, v, &k->msi_ready_at) |
                  osc_enable(b, SIM_CLK_PLL, t->pll.on, old, v, &k->pll_on_at);
    return (v & ~keep & ~all_ready_bits(b)) | on;
}

/* The MSI range field: it "must NOT be modified when MSI is ON and NOT
 * ready" (RM0351 6.4.1; such a write is ignored here [U], on L0's ICSCR as
 * well); the select bit cannot be cleared by software; a reserved range
 * keeps the old one [U]. cr_before is RCC_CR before this write. */
static uint32_t msi_range_write(sim_board *b, uint32_t cr_before, uint32_t old, uint32_t v)
{
    const sim_clk_msi_range *r = &tree(b)->msi_range;
    uint32_t field = field_mask(r->shift, r->width);
    if ((cr_before & tree(b)->msi.on) && !ready(b, SIM_CLK_MSI))
        v = (v & ~field) | (old & field);
    v |= old & r->sel;
    if (!r->hz[code_of(v, r->shift, r->width) & 15])
        v = (v & ~field) | (old & field);
    return v;
}

void rcc_write(sim_board *b, uint32_t off, uint32_t value, uint32_t mask)
{
    const sim_clock_tree *t = tree(b);
    const sim_clk_pll *P = &t->pll;
    clock_service(b);
    uint32_t idx = (off / 4) & 0xFF;
    uint32_t old = b->rcc[idx];
    uint32_t v = (old & ~mask) | (value & mask);
    uint32_t cr_before = cr(b);
    bool pll_on = cr_before & P->on;
    if (off == t->cr) {
        uint32_t d = field_mask(t->hsi.div_field.shift, t->hsi.div_field.width);
        if (d && pll_on && pll_config(b).input == SIM_CLK_HSI)
            v = (v & ~d) | (old & d); /* HSIDIV "cannot be changed if the HSI
                                       * is selected as reference clock for
                                       * an enabled PLL" (RM0481 RCC_CR) */
        v = cr_write(b, old, v);
    }
    if (P->en_reg && off == P->en_reg && pll_on) {
        /* H5 PLL1PEN "can be written only when the PLL1 is disabled"
         * (RM0481 RCC_PLL1CFGR) */
        uint32_t e = P->out[0].en | P->out[1].en;
        v = (v & ~e) | (old & e);
    }
    if (off == P->cfg && pll_on) {
        /* PLL configuration "can be written only when PLL is disabled"
         * (RM0008 7.3.2, RM0367 7.3.3; RM0390 6.3.2, RM0351 6.4.4). An
         * output enable stays set while SYSCLK needs the PLL [U]. */
        v = (v & ~P->frozen) | (old & P->frozen);
        if (needed(b, SIM_CLK_PLL))
            v |= old & (P->out[0].en | P->out[1].en);
    }
    if (P->m_reg && off == P->m_reg && pll_on) {
        /* PREDIV likewise "can be written only when the PLL is disabled"
         * (RM0091 7.4.12) */
        uint32_t m = field_mask(P->m.shift, P->m.width);
        v = (v & ~m) | (old & m);
    }
    if (P->src_reg && off == P->src_reg && pll_on) {
        /* H7 PLLSRC and DIVM1 "can be written only when the PLL is
         * disabled" (RM0433 8.7.11 RCC_PLLCKSELR) */
        uint32_t m = field_mask(P->src_shift, P->src_width);
        v = (v & ~m) | (old & m);
    }
    if (off == t->cfgr) {
        /* SWS is read-only; a new SW starts the switch. */
        uint32_t sws = field_mask(t->sws_shift, t->sw_width);
        uint32_t sw = field_mask(t->sw_shift, t->sw_width);
        v = (v & ~sws) | (old & sws);
        if ((v & sw) != (old & sw))
            b->clk.sw_at = b->now_ps;
    }
    if (t->msi.on && off == t->msi_range.reg)
        v = msi_range_write(b, cr_before, old, v);
    b->rcc[idx] = v;
    clock_update(b);
    clock_service(b);
}
