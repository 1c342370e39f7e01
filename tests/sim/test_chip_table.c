/*
 * The chip table as data (sim/target/chips.c, clock_trees.c): every row
 * walked by sim_chip_at() has a flash-controller model and a clock tree,
 * and the tree is consistent with itself and with the row:
 *  - names are unique and sim_chip_find() finds each row;
 *  - the flash model has every operation;
 *  - RCC_CR bits of the tree do not overlap; each oscillator, the PLL and
 *    every SW code name something the tree has;
 *  - the PLL's configuration fields are frozen while PLLON is set, its
 *    output enables and SW are not, and its ranges are ordered;
 *  - field tables decode within their limits, HPRE to powers of two;
 *  - the wait-state table increases, and LATENCY 0 allows the reset clock;
 *  - a fresh board runs at the reset oscillator, close to the row's
 *    core_hz, and reads flash right.
 */
#include "board_internal.h"
#include "clock_tree.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

static size_t count_rows(void)
{
    size_t n = 0;
    while (sim_chip_at(n))
        n++;
    return n;
}

static uint32_t mask_of(unsigned shift, unsigned width)
{
    return width ? ((1u << width) - 1) << shift : 0;
}

static void rows_are_unique_and_found(void **state)
{
    (void)state;
    size_t n = count_rows();
    assert_true(n >= 4);
    for (size_t i = 0; i < n; i++) {
        const sim_chip *c = sim_chip_at(i);
        assert_non_null(c->name);
        assert_non_null(c->family_name);
        assert_ptr_equal(sim_chip_find(c->name), c);
        for (size_t j = i + 1; j < n; j++)
            assert_string_not_equal(c->name, sim_chip_at(j)->name);
    }
    assert_null(sim_chip_find("stm32nothing"));
}

static void every_row_has_a_flash_model(void **state)
{
    (void)state;
    for (size_t i = 0; sim_chip_at(i); i++) {
        const flash_ctrl_ops *f = sim_chip_at(i)->flash;
        assert_non_null(f);
        assert_true(f->state_size > 0);
        assert_non_null(f->factory);
        assert_non_null(f->reset);
        assert_non_null(f->reg_read);
        assert_non_null(f->reg_write);
        assert_non_null(f->mem_write);
        assert_non_null(f->read_protected);
        assert_non_null(f->inject_stale_errors);
        assert_non_null(f->inject_rdp1);
        assert_non_null(f->latency);
    }
}

/* Every bit in bits[] is a single bit (or 0 = absent) and no two share. */
static void distinct_bits(const uint32_t *bits, size_t n)
{
    uint32_t seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (!bits[i])
            continue;
        assert_int_equal(bits[i] & (bits[i] - 1), 0);
        assert_int_equal(seen & bits[i], 0);
        seen |= bits[i];
    }
}

static void check_field(const sim_clk_field *f)
{
    if (!f->width)
        return;
    assert_true(f->min <= f->max);
    assert_true(f->shift + f->width <= 32);
    if (!f->table)
        return;
    for (unsigned code = 0; code < (1u << f->width); code++) {
        uint16_t v = f->table[code];
        assert_true(v == 0 || (v >= f->min && v <= f->max));
    }
}

static bool is_oscillator(sim_clk_src s)
{
    return s == SIM_CLK_HSI || s == SIM_CLK_MSI || s == SIM_CLK_HSE || s == SIM_CLK_NONE;
}

static void check_tree(const sim_chip *c)
{
    const sim_clock_tree *t = c->clock;
    assert_non_null(t);
    assert_non_null(t->name);
    assert_int_equal(t->cr % 4, 0);
    assert_int_equal(t->cfgr % 4, 0);
    assert_true(t->cfgr != t->cr && t->cfgr < 0x400);
    assert_true(c->rcc_csr >= c->rcc_base && c->rcc_csr < c->rcc_base + 0x400);

    /* RCC_CR bits */
    uint32_t bits[16] = {t->hsi.on, t->hsi.rdy, t->msi.on, t->msi.rdy,
                         t->pll.on, t->pll.rdy, t->hse_rdy};
    size_t nb = 7;
    for (size_t i = 0; i < 3 && t->others[i].on; i++) {
        bits[nb++] = t->others[i].on;
        bits[nb++] = t->others[i].rdy;
    }
    distinct_bits(bits, nb);
    assert_true(t->hsi.on && t->hsi.rdy && t->hsi.hz && t->hsi.tsu_ns);
    assert_true(!t->hsi.div_bit || t->hsi.div > 1);
    if (t->msi.on) {
        const sim_clk_msi_range *r = &t->msi_range;
        assert_true(t->msi.rdy && t->msi.tsu_ns);
        assert_int_equal(r->reg % 4, 0);
        assert_true(r->width && r->width <= 4);
        assert_int_equal(r->sel & mask_of(r->shift, r->width), 0);
        assert_true(r->hz[r->unsel_range & 15] != 0 || !r->sel);
    }
    assert_true(t->pll.on && t->pll.rdy && t->pll.lock_ns);

    /* reset values: CR first, switching on the oscillator SW code 0 names */
    assert_int_equal(t->reset[0].off, t->cr);
    sim_clk_src rst = t->sw_src[0];
    assert_true(rst == SIM_CLK_HSI || rst == SIM_CLK_MSI);
    assert_true(t->reset[0].value & (rst == SIM_CLK_HSI ? t->hsi.on : t->msi.on));
    for (size_t i = 0; i < 4 && t->reset[i].value; i++)
        assert_true(t->reset[i].off % 4 == 0 && t->reset[i].off < 0x400);

    /* the PLL */
    const sim_clk_pll *P = &t->pll;
    assert_true(P->cfg != t->cr && P->cfg % 4 == 0 && P->cfg < 0x400);
    check_field(&P->m);
    check_field(&P->n);
    /* M may live in a register of its own (m_reg): the engine freezes it
     * there. */
    uint32_t cfg_fields = mask_of(P->src_shift, P->src_width) | mask_of(P->n.shift, P->n.width);
    if (!P->m_reg)
        cfg_fields |= mask_of(P->m.shift, P->m.width);
    else
        assert_true(P->m_reg != t->cr && P->m_reg != P->cfg && P->m_reg % 4 == 0);
    assert_true(P->n_den == 0 || P->n.table); /* fractions only through a table */
    for (unsigned code = 0; code < (1u << P->src_width); code++)
        assert_true(is_oscillator(P->src[code]));
    assert_true(P->ref_min_hz <= P->ref_max_hz && P->ref_max_hz > 0);
    assert_true(P->vco_min_hz <= P->vco_max_hz && P->vco_max_hz > 0);
    assert_true(P->out[0].max_hz > 0);
    for (unsigned k = 0; k < 2; k++) {
        const sim_clk_pll_out *o = &P->out[k];
        if (!o->max_hz)
            continue;
        check_field(&o->div);
        assert_true(o->min_hz <= o->max_hz);
        cfg_fields |= mask_of(o->div.shift, o->div.width);
        assert_int_equal(P->frozen & o->en, 0); /* enables stay writable */
    }
    assert_int_equal(P->frozen & cfg_fields, cfg_fields);
    uint32_t sw = mask_of(t->sw_shift, t->sw_width), sws = mask_of(t->sws_shift, t->sw_width);
    assert_true(t->sw_width >= 1 && t->sw_width <= 3);
    assert_int_equal(sw & sws, 0);
    if (P->cfg == t->cfgr)
        assert_int_equal(P->frozen & (sw | sws | mask_of(t->hpre.shift, t->hpre.width)), 0);

    /* SW codes name what the tree has */
    for (unsigned code = 0; code < (1u << t->sw_width); code++) {
        sim_clk_src s = t->sw_src[code];
        assert_true(s != SIM_CLK_MSI || t->msi.on);
        assert_true(s != SIM_CLK_PLLR || P->out[1].max_hz);
    }

    /* HPRE: a power-of-two divider for every code */
    check_field(&t->hpre);
    assert_true(t->hpre.width > 0);
    for (unsigned code = 0; code < (1u << t->hpre.width); code++) {
        uint32_t d = t->hpre.table ? t->hpre.table[code] : code * t->hpre.mul + t->hpre.add;
        assert_true(d >= 1 && (d & (d - 1)) == 0);
    }

    /* wait states: more wait states never allow less */
    assert_true(t->ws_count >= 1 && t->ws_count <= SIM_CLK_WS_MAX);
    for (unsigned i = 1; i < t->ws_count; i++)
        assert_true(t->ws_max_hz[i] > t->ws_max_hz[i - 1]);
}

static void every_row_has_a_consistent_clock_tree(void **state)
{
    (void)state;
    for (size_t i = 0; sim_chip_at(i); i++)
        check_tree(sim_chip_at(i));
}

/* A board fresh from reset runs at the reset oscillator, which LATENCY 0
 * allows, and the row's core_hz says about the same. */
static void reset_clock_matches_the_tree(void **state)
{
    (void)state;
    for (size_t i = 0; sim_chip_at(i); i++) {
        const sim_chip *c = sim_chip_at(i);
        const sim_clock_tree *t = c->clock;
        sim_board *b = NULL;
        assert_int_equal(sim_board_create(c->name, 9, 0.0, &b), SIM_OK);
        uint32_t hz = sim_board_hclk_hz(b);
        if (t->sw_src[0] == SIM_CLK_HSI) {
            assert_int_equal(hz, t->hsi.hz);
        } else {
            const sim_clk_msi_range *r = &t->msi_range;
            uint32_t v = 0;
            for (size_t k = 0; k < 4 && t->reset[k].value; k++)
                if (t->reset[k].off == r->reg)
                    v = t->reset[k].value;
            unsigned range =
                r->sel && !(v & r->sel) ? r->unsel_range : (v >> r->shift) & ((1u << r->width) - 1);
            assert_int_equal(hz, r->hz[range]);
        }
        assert_true(hz <= t->ws_max_hz[0]);
        uint64_t diff = hz > c->core_hz ? hz - c->core_hz : c->core_hz - hz;
        assert_true(diff * 100 <= hz);
        const uint8_t word[4] = {0x12, 0x34, 0x56, 0x78};
        uint8_t back[4] = {0};
        assert_int_equal(sim_board_preload(b, c->flash_base + 0x100, word, 4), SIM_OK);
        assert_int_equal(sim_board_mem_read(b, c->flash_base + 0x100, back, 4, 4, NULL), SIM_OK);
        assert_memory_equal(back, word, 4);
        sim_board_destroy(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_are_unique_and_found),
        cmocka_unit_test(every_row_has_a_flash_model),
        cmocka_unit_test(every_row_has_a_consistent_clock_tree),
        cmocka_unit_test(reset_clock_matches_the_tree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
