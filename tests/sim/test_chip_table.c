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
 *    core_hz, and reads flash right;
 *  - ordering codes (prefix, any pin-count letter, flash-size letter)
 *    resolve to the flash and SRAM the datasheets give that part, on a
 *    board too; the row names keep resolving to the rows; anything else is
 *    refused, and sim_chip_known() lists what is known.
 */
#include "board_internal.h"
#include "chip_table.h"
#include "clock_tree.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
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
        assert_non_null(f->timing);
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

/* The PLL of a tree that has one. */
static void check_pll(const sim_clock_tree *t)
{
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
        /* enables in cfg stay writable (the H5's are in en_reg, frozen
         * there while PLLON is set) */
        if (!P->en_reg)
            assert_int_equal(P->frozen & o->en, 0);
    }
    assert_int_equal(P->frozen & cfg_fields, cfg_fields);
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
    /* SYSCLK-only dividers (G0/C0 HSIDIV, C0 SYSDIV) decode within limits
     * and live outside the on/ready bits */
    for (size_t k = 0; k < 2; k++) {
        const sim_clk_field *f = k ? &t->sysdiv : &t->hsi.sys_div;
        if (!f->width)
            continue;
        check_field(f);
        for (size_t i = 0; i < nb; i++)
            assert_int_equal(bits[i] & mask_of(f->shift, f->width), 0);
    }
    /* A design without a PLL (C0) names none anywhere. */
    if (!t->pll.on) {
        assert_true(!t->pll.rdy && !t->pll.out[0].max_hz);
        for (unsigned code = 0; code < 8; code++)
            assert_true(t->sw_src[code] != SIM_CLK_PLL && t->sw_src[code] != SIM_CLK_PLLR);
    }
    assert_true(!t->pll.on || (t->pll.rdy && t->pll.lock_ns));

    /* reset values: CR first, switching on the oscillator SW code 0 names */
    assert_int_equal(t->reset[0].off, t->cr);
    sim_clk_src rst = t->sw_src[0];
    assert_true(rst == SIM_CLK_HSI || rst == SIM_CLK_MSI);
    assert_true(t->reset[0].value & (rst == SIM_CLK_HSI ? t->hsi.on : t->msi.on));
    for (size_t i = 0; i < 4 && t->reset[i].value; i++)
        assert_true(t->reset[i].off % 4 == 0 && t->reset[i].off < 0x400);

    /* the PLL */
    const sim_clk_pll *P = &t->pll;
    if (P->on)
        check_pll(t);
    uint32_t sw = mask_of(t->sw_shift, t->sw_width), sws = mask_of(t->sws_shift, t->sw_width);
    assert_true(t->sw_width >= 1 && t->sw_width <= 3);
    assert_int_equal(sw & sws, 0);
    if (P->on && P->cfg == t->cfgr)
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
            /* HSI after its divider (H5 HSIDIV), HSISYS after the reset
             * HSIDIV, then SYSDIV (C0: 48 MHz / 4) */
            uint32_t cr0 = t->reset[0].value, want = t->hsi.hz;
            const sim_clk_field *dv[3] = {&t->hsi.div_field, &t->hsi.sys_div, &t->sysdiv};
            for (size_t k = 0; k < 3; k++) {
                if (!dv[k]->width)
                    continue;
                uint32_t code = (cr0 >> dv[k]->shift) & ((1u << dv[k]->width) - 1);
                want /= dv[k]->table ? dv[k]->table[code] : code * dv[k]->mul + dv[k]->add;
            }
            assert_int_equal(hz, want);
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
        /* Flash must read right at the reset clock: with no wait state on
         * most parts; the H7 resets with FLASH_ACR.LATENCY 7 (RM0433 4.9.1)
         * since 64 MHz needs one. The read-back below checks it. */
        assert_true(hz <= t->ws_max_hz[0] || t->ws_max_hz[t->ws_count - 1] >= hz);
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

/* Ordering codes: prefix, pin-count letter (any), flash-size letter. The
 * sizes expected here are the datasheets' (flash from the letter; SRAM
 * from each part's device summary, fact sheet 3), written down, not read
 * from the table. */
typedef struct code_case {
    const char *code;
    uint16_t dev_id;
    uint32_t flash_kib, sram_kib;
} code_case;

static const code_case codes[] = {
    {"stm32f030f4", 0x444, 16, 4},
    {"stm32f030r8", 0x440, 64, 8},
    {"stm32f030cc", 0x442, 256, 32},
    {"stm32f042k6", 0x445, 32, 6},
    {"stm32f072rb", 0x448, 128, 16},
    {"stm32f100c8", 0x420, 64, 8},
    {"stm32f100ze", 0x428, 512, 32},
    {"stm32f101c6", 0x412, 32, 6},
    {"stm32f102cb", 0x410, 128, 16},
    {"stm32f103c8", 0x410, 64, 20},
    {"stm32f103rb", 0x410, 128, 20},
    {"stm32f103ze", 0x414, 512, 64},
    {"stm32f103vc", 0x414, 256, 48},
    {"stm32f103zg", 0x430, 1024, 96},
    {"stm32f105rc", 0x418, 256, 64},
    {"stm32f107vb", 0x418, 128, 64},
    {"stm32f205rb", 0x411, 128, 64},
    {"stm32f207zg", 0x411, 1024, 128},
    {"stm32f302c8", 0x439, 64, 16},
    {"stm32f303vc", 0x422, 256, 40},
    {"stm32f303k8", 0x438, 64, 12},
    {"stm32f303ze", 0x446, 512, 64},
    {"stm32f373cc", 0x432, 256, 32},
    {"stm32f401cc", 0x423, 256, 64},
    {"stm32f401re", 0x433, 512, 96},
    {"stm32f405rg", 0x413, 1024, 128},
    {"stm32f407vg", 0x413, 1024, 128},
    {"stm32f407ve", 0x413, 512, 128},
    {"stm32f410rb", 0x458, 128, 32},
    {"stm32f411ce", 0x431, 512, 128},
    {"stm32f412ze", 0x441, 512, 256},
    {"stm32f429zi", 0x419, 2048, 192},
    {"stm32f429zg", 0x419, 1024, 192},
    {"stm32f446rc", 0x421, 256, 128},
    {"stm32f469ni", 0x434, 2048, 320},
    {"stm32l053r8", 0x417, 64, 8},
    {"stm32l476rg", 0x415, 1024, 96},
    {"stm32f413zh", 0x463, 1536, 320},
    {"stm32f413rg", 0x463, 1024, 320},
    {"stm32f423zh", 0x463, 1536, 320},
    {"stm32f746zg", 0x449, 1024, 320},
    {"stm32f745ve", 0x449, 512, 320},
    {"stm32f750z8", 0x449, 64, 320},
    {"stm32f767zi", 0x451, 2048, 512},
    {"stm32f769ng", 0x451, 1024, 512},
    {"stm32f779ai", 0x451, 2048, 512},
    {"stm32f722ze", 0x452, 512, 256},
    {"stm32f723vc", 0x452, 256, 256},
    {"stm32f730r8", 0x452, 64, 256},
    {"stm32f733ve", 0x452, 512, 256},
    /* L4+ (SRAM1 + SRAM2 + SRAM3), WB1x (SRAM1 only: SRAM2a/b are not
     * mapped), L1 cat 2 "-A" */
    {"stm32l4r5zi", 0x470, 2048, 640},
    {"stm32l4r9vg", 0x470, 1024, 640},
    {"stm32l4s7zi", 0x470, 2048, 640},
    {"stm32l4p5ze", 0x471, 512, 320},
    {"stm32l4p5zg", 0x471, 1024, 320},
    {"stm32l4q5cg", 0x471, 1024, 320},
    {"stm32wb15cc", 0x494, 320, 12},
    {"stm32wb10cc", 0x494, 320, 12},
    {"stm32l151cba", 0x429, 128, 32},
    {"STM32L152RBA", 0x429, 128, 32},
    /* H5 (DS14258 H562/H563/H573, DS14539 H503, DS14540 H523/H533 [U]) */
    {"stm32h563zi", 0x484, 2048, 640},
    {"stm32h563vg", 0x484, 1024, 640},
    {"stm32h573ii", 0x484, 2048, 640},
    {"stm32h503rb", 0x474, 128, 32},
    {"stm32h523ve", 0x478, 512, 272},
    {"stm32h533re", 0x478, 512, 272},
};

static void ordering_codes_resolve(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const code_case *k = &codes[i];
        const sim_chip *c = sim_chip_find(k->code);
        if (!c)
            fail_msg("%s not found", k->code);
        assert_int_equal(c->dev_id, k->dev_id);
        assert_int_equal(c->flash_size, k->flash_kib * 1024);
        assert_int_equal(c->sram_size, k->sram_kib * 1024);
        /* the pin-count letter changes nothing, upper case is the same */
        char other[16], upper[16];
        strcpy(other, k->code);
        size_t m = strlen(other); /* past the size letter (a suffix may follow) */
        while (m > 2 && !sim_flash_kib_of((char)tolower((unsigned char)other[m - 1])))
            m--;
        other[m - 2] = other[m - 2] == 'z' ? 'c' : 'z';
        const sim_chip *o = sim_chip_find(other);
        assert_non_null(o);
        assert_int_equal(o->flash_size, c->flash_size);
        assert_int_equal(o->sram_size, c->sram_size);
        assert_ptr_equal(o->flash, c->flash);
        for (size_t j = 0; j <= strlen(k->code); j++)
            upper[j] =
                (char)(k->code[j] >= 'a' && k->code[j] <= 'z' ? k->code[j] - 32 : k->code[j]);
        assert_non_null(sim_chip_find(upper));
        assert_int_equal(sim_chip_find(upper)->flash_size, c->flash_size);
        /* and a board of it has that flash size in its flash-size cell */
        sim_board *b = NULL;
        assert_int_equal(sim_board_create(k->code, 3, 0.0, &b), SIM_OK);
        uint32_t v = 0;
        assert_int_equal(sim_board_read32(b, c->flash_size_reg & ~3u, &v), SIM_OK);
        /* on L1 category 2 only the low byte is valid (RM0038 flash size
         * register note for DEV_ID 0x429) */
        uint32_t valid = k->dev_id == 0x429 ? 0xFF : 0xFFFF;
        assert_int_equal((v >> (8 * (c->flash_size_reg & 3))) & valid, k->flash_kib & valid);
        uint8_t word[4] = {1, 2, 3, 4};
        assert_int_equal(sim_board_mem_write(b, c->sram_base + c->sram_size - 4, word, 4, 4, NULL),
                         SIM_OK);
        sim_board_destroy(b);
    }
    /* The four names the simulator always had are its rows, unchanged. */
    const char *old[4] = {"stm32f103rb", "stm32f446re", "stm32l053r8", "stm32l476rg"};
    for (size_t i = 0; i < 4; i++) {
        const sim_chip *c = sim_chip_find(old[i]);
        assert_non_null(c);
        assert_string_equal(c->name, old[i]);
        bool is_row = false;
        for (size_t r = 0; sim_chip_at(r); r++)
            is_row |= sim_chip_at(r) == c;
        assert_true(is_row);
    }
}

static void unknown_codes_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {"stm32f103",     "stm32f103r",   "stm32f103rz",   "stm32f103ri",
                         "stm32f103dbx",  "stm32f407v",   "stm32f407vc",   "stm32f999rb",
                         "stm32f103lb",   "stm32f030k8x", "stm32f102re",   "",
                         "stm32f429zgt6", "stm32f410r6",  "stm32f446re\n", "xstm32f103rb"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (sim_chip_find(bad[i]))
            fail_msg("'%s' should be unknown", bad[i]);
    assert_null(sim_chip_find(NULL));
    /* The list of what is known names every line with its sizes. */
    size_t n = sim_chip_known(NULL, 0);
    assert_true(n > 100);
    char *buf = malloc(n + 1);
    assert_non_null(buf);
    assert_int_equal(sim_chip_known(buf, n + 1), n);
    assert_int_equal(strlen(buf), n);
    assert_non_null(strstr(buf, "stm32f103x4/x6/x8/xb/xc/xd/xe/xf/xg"));
    assert_non_null(strstr(buf, "stm32f407xe/xg"));
    assert_non_null(strstr(buf, "stm32l476xg"));
    char small[8];
    assert_int_equal(sim_chip_known(small, sizeof small), n); /* truncated */
    assert_int_equal(strlen(small), sizeof small - 1);
    free(buf);
}

/* Every (line, size) resolves to its die's row with only name, flash size,
 * SRAM (and a one-bank controller) changed, and each row's own name
 * resolves to itself with the size its code implies. */
static void parts_are_their_dies(void **state)
{
    (void)state;
    for (size_t i = 0; sim_chip_at(i); i++) {
        const sim_chip *r = sim_chip_at(i);
        size_t n = strlen(r->name);
        /* the pin letter is the one before the size letter, which a line's
         * suffix ("stm32l152rba") may follow */
        while (n > 2 && !sim_flash_kib_of(r->name[n - 1]))
            n--;
        char generic[24];
        strcpy(generic, r->name);
        generic[n - 2] = 'x';
        const sim_chip *p = sim_chip_find(generic);
        if (!p)
            fail_msg("%s: no part %s", r->name, generic);
        assert_int_equal(p->flash_size, r->flash_size);
        assert_int_equal(p->sram_size, r->sram_size);
        assert_ptr_equal(p->flash, r->flash);
        assert_ptr_equal(p->clock, r->clock);
        assert_int_equal(p->dev_id, r->dev_id);
        assert_int_equal(p->cpuid, r->cpuid);
        assert_int_equal(p->page_size, r->page_size);
        assert_int_equal(p->sys[0].base, r->sys[0].base);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_are_unique_and_found),
        cmocka_unit_test(every_row_has_a_flash_model),
        cmocka_unit_test(every_row_has_a_consistent_clock_tree),
        cmocka_unit_test(reset_clock_matches_the_tree),
        cmocka_unit_test(ordering_codes_resolve),
        cmocka_unit_test(unknown_codes_are_refused),
        cmocka_unit_test(parts_are_their_dies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
