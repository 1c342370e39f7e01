/*
 * The clock trees of the F0, F1 (F100, F101, F102, F105/F107), F2, F3 and
 * F4 rows (sim/target/clock_trees*.c), each driven the way a host loader
 * drives silicon through the debug port, with settings written here from
 * the reference manuals' register descriptions:
 *  - LATENCY first, the PLL configured while off, PLLON, PLLRDY no sooner
 *    than the datasheet lock time, SW to the PLL, SWS follows: HCLK is the
 *    PLL's output and a loop in SRAM runs faster by the ratio;
 *  - one wait state too few at that clock garbles flash reads until
 *    LATENCY is right again;
 *  - the way back (SW to HSI, PLL off, LATENCY 0) restores the reset
 *    clock;
 *  - a PLL set outside the part's range (multiplier, VCO, or output above
 *    the part's maximum) never locks.
 */
#include "thumb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

extern const unsigned char prog_core[];
extern const size_t prog_core_len;

enum { OP_ADD, OP_LOOP, OP_LOAD };

#define RCC_F1   0x40021000u /* F0/F1/F3 RCC */
#define RCC_F4   0x40023800u /* F2/F4 RCC */
#define ACR_F1   0x40022000u
#define ACR_F4   0x40023C00u
#define PLLON    (1u << 24)
#define PLLRDY   (1u << 25)
#define F1_CFGR  0x04u
#define F1_CFGR2 0x2Cu
#define F4_PLL   0x04u
#define F4_CFGR  0x08u

/* RCC_CFGR of the F0/F1/F3: PLLSRC b16 (HSI/PREDIV b16:15 = 01), PLLMUL
 * b21:18 (code k: x(k+2); F105: 0010 x4 .. 0111 x9, 1101 x6.5). */
#define MUL(k)     ((uint32_t)(k) << 18)
#define HSI_PREDIV (1u << 15)
/* RCC_PLLCFGR of the F2/F4: PLLM b5:0, PLLN b14:6, PLLP b17:16 (/2 /4 /6
 * /8), PLLQ b27:24, PLLR b30:28. */
#define PLLCFG(m, n, p, r) ((m) | (n) << 6 | (((p) / 2 - 1) << 16) | 4u << 24 | (uint32_t)(r) << 28)

typedef struct tree_case {
    const char *chip;
    uint32_t rcc, acr, cfgr; /* RCC, FLASH_ACR, RCC_CFGR offset */
    uint32_t pll_off, pll;   /* where the PLL is set, and to what */
    uint32_t prediv;         /* RCC_CFGR2 (F0/F3), 0: left at /1 */
    uint32_t sw;             /* SW code of the PLL output used */
    uint32_t ws;             /* LATENCY the fast clock needs */
    uint32_t reset_hz, fast_hz;
    uint64_t lock_ns; /* datasheet maximum the tree takes */
    uint32_t bad;     /* a setting out of the part's range, 0: none tried */
} tree_case;

static const tree_case cases[] = {
    /* F100: HSI/2 x6 = 24 MHz, its maximum, at LATENCY 0; x7 is 28 MHz. */
    {"stm32f100rb", RCC_F1, ACR_F1, F1_CFGR, F1_CFGR, MUL(4), 0, 2, 0, 8000000, 24000000, 200000,
     MUL(5)},
    /* F101: x9 = 36 MHz (1 WS); x10 = 40 MHz is above its 36. */
    {"stm32f101rb", RCC_F1, ACR_F1, F1_CFGR, F1_CFGR, MUL(7), 0, 2, 1, 8000000, 36000000, 200000,
     MUL(8)},
    /* F102: x12 = 48 MHz (1 WS); x13 = 52 MHz. */
    {"stm32f102c6", RCC_F1, ACR_F1, F1_CFGR, F1_CFGR, MUL(10), 0, 2, 1, 8000000, 48000000, 200000,
     MUL(11)},
    /* F103 high density: x16 = 64 MHz (2 WS). */
    {"stm32f103ze", RCC_F1, ACR_F1, F1_CFGR, F1_CFGR, MUL(14), 0, 2, 2, 8000000, 64000000, 200000,
     0},
    /* F105/F107: x6.5 = 26 MHz (1 WS); code 1000 is reserved. */
    {"stm32f107vc", RCC_F1, ACR_F1, F1_CFGR, F1_CFGR, MUL(13), 0, 2, 1, 8000000, 26000000, 350000,
     MUL(8)},
    /* F0 (HSI/2 only): x12 = 48 MHz (1 WS); x13 = 52 MHz. */
    {"stm32f030r8", RCC_F1, ACR_F1, F1_CFGR, F1_CFGR, MUL(10), 0, 2, 1, 8000000, 48000000, 200000,
     MUL(11)},
    /* F0 with HSI/PREDIV: 8 MHz / 2 x12 = 48 MHz; /1 x7 = 56 MHz. */
    {"stm32f072rb", RCC_F1, ACR_F1, F1_CFGR, F1_CFGR, HSI_PREDIV | MUL(10), 1, 2, 1, 8000000,
     48000000, 200000, HSI_PREDIV | MUL(5)},
    /* F3: HSI/2 x16 = 64 MHz (2 WS). */
    {"stm32f303cc", RCC_F1, ACR_F1, F1_CFGR, F1_CFGR, MUL(14), 0, 2, 2, 8000000, 64000000, 200000,
     0},
    /* F3 with HSI/PREDIV: 8 MHz x9 = 72 MHz (2 WS); x10 = 80 MHz. */
    {"stm32f303re", RCC_F1, ACR_F1, F1_CFGR, F1_CFGR, HSI_PREDIV | MUL(7), 0, 2, 2, 8000000,
     72000000, 200000, HSI_PREDIV | MUL(8)},
    /* F2: 16/16 x240 /2 = 120 MHz (3 WS); N 150 puts the VCO under 192. */
    {"stm32f207zg", RCC_F4, ACR_F4, F4_CFGR, F4_PLL, PLLCFG(16, 240, 2, 0), 0, 2, 3, 16000000,
     120000000, 100000, PLLCFG(16, 150, 2, 0)},
    /* F405/F407: x336 /2 = 168 MHz (5 WS); N 440 is above 432. */
    {"stm32f407vg", RCC_F4, ACR_F4, F4_CFGR, F4_PLL, PLLCFG(16, 336, 2, 0), 0, 2, 5, 16000000,
     168000000, 100000, PLLCFG(16, 440, 2, 0)},
    /* F42x: 168 MHz (5 WS) without over-drive. */
    {"stm32f429zi", RCC_F4, ACR_F4, F4_CFGR, F4_PLL, PLLCFG(16, 336, 2, 0), 0, 2, 5, 16000000,
     168000000, 100000, PLLCFG(16, 400, 2, 0)},
    /* F469: as F42x; its VCO starts at 192 MHz, so N 150 never locks. */
    {"stm32f469ni", RCC_F4, ACR_F4, F4_CFGR, F4_PLL, PLLCFG(16, 336, 2, 0), 0, 2, 5, 16000000,
     168000000, 100000, PLLCFG(16, 150, 2, 0)},
    /* F401: x336 /4 = 84 MHz (2 WS); N 150 is under its 192. */
    {"stm32f401rc", RCC_F4, ACR_F4, F4_CFGR, F4_PLL, PLLCFG(16, 336, 4, 0), 0, 2, 2, 16000000,
     84000000, 100000, PLLCFG(16, 150, 2, 0)},
    /* F411: x200 /2 = 100 MHz (3 WS); x216 /2 = 108 MHz. */
    {"stm32f411ce", RCC_F4, ACR_F4, F4_CFGR, F4_PLL, PLLCFG(16, 200, 2, 0), 0, 2, 3, 16000000,
     100000000, 100000, PLLCFG(16, 216, 2, 0)},
    /* F410: 100 MHz through P. */
    {"stm32f410rb", RCC_F4, ACR_F4, F4_CFGR, F4_PLL, PLLCFG(16, 200, 2, 0), 0, 2, 3, 16000000,
     100000000, 100000, PLLCFG(16, 216, 2, 0)},
    /* F412: 100 MHz through PLL_R (SW 11), R /2; P at 108 MHz never locks. */
    {"stm32f412zg", RCC_F4, ACR_F4, F4_CFGR, F4_PLL, PLLCFG(16, 200, 4, 2), 0, 3, 3, 16000000,
     100000000, 100000, PLLCFG(16, 216, 2, 2)},
};

static sim_board *make(const tree_case *k)
{
    sim_board *b = NULL;
    assert_int_equal(sim_board_create(k->chip, 5, 0.0, &b), SIM_OK);
    thumb_halt(b); /* blank flash: the core locked up; park it */
    return b;
}

/* Poll addr every microsecond until (value & mask) == want; returns the
 * virtual time it took. */
static uint64_t wait_for(sim_board *b, uint32_t addr, uint32_t mask, uint32_t want,
                         uint64_t timeout_ns)
{
    uint64_t t0 = sim_board_now_ns(b);
    while ((rd32(b, addr) & mask) != want) {
        assert_true(sim_board_now_ns(b) - t0 < timeout_ns);
        assert_int_equal(sim_board_advance(b, 1000), SIM_OK);
    }
    return sim_board_now_ns(b) - t0;
}

static void set_latency(sim_board *b, const tree_case *k, uint32_t ws)
{
    wr32(b, k->acr, (rd32(b, k->acr) & ~7u) | ws);
}

static uint64_t loop_ns(sim_board *b, uint32_t n)
{
    uint64_t t0 = sim_board_now_ns(b);
    thumb_call(b, OP_LOOP, n, 0, 0);
    uint64_t t1 = sim_board_now_ns(b);
    thumb_call(b, OP_LOOP, 2 * n, 0, 0);
    uint64_t t2 = sim_board_now_ns(b);
    return (t2 - t1) - (t1 - t0);
}

static void one_tree(const tree_case *k)
{
    sim_board *b = make(k);
    const sim_chip *c = sim_board_chip(b);
    const uint32_t word = 0x5AC3E1F0u;
    assert_int_equal(sim_board_preload(b, c->flash_base + 0x1000, &word, 4), SIM_OK);
    thumb_load(b, prog_core, prog_core_len);
    assert_int_equal(sim_board_hclk_hz(b), k->reset_hz);
    uint64_t slow = loop_ns(b, 20000);

    /* Up: LATENCY, the PLL while off, PLLON, PLLRDY, SW, SWS. */
    set_latency(b, k, k->ws);
    if (k->prediv)
        wr32(b, k->rcc + F1_CFGR2, k->prediv);
    wr32(b, k->rcc + k->pll_off, k->pll);
    wr32(b, k->rcc, rd32(b, k->rcc) | PLLON);
    assert_false(rd32(b, k->rcc) & PLLRDY);
    uint64_t took = wait_for(b, k->rcc, PLLRDY, PLLRDY, 10 * 1000 * 1000);
    assert_true(took >= k->lock_ns && took <= k->lock_ns + 2000);
    wr32(b, k->rcc + k->cfgr, (rd32(b, k->rcc + k->cfgr) & ~3u) | k->sw);
    wait_for(b, k->rcc + k->cfgr, 0xC, k->sw << 2, 1000 * 1000);
    assert_int_equal(sim_board_hclk_hz(b), k->fast_hz);
    uint64_t fast = loop_ns(b, 20000);
    double want = (double)slow * k->reset_hz / k->fast_hz;
    assert_true((double)fast > want * 0.99 && (double)fast < want * 1.01);
    assert_int_equal(rd32(b, c->flash_base + 0x1000), word);

    /* One wait state too few: wrong reads, right again with LATENCY. */
    if (k->ws) {
        set_latency(b, k, k->ws - 1);
        assert_int_not_equal(rd32(b, c->flash_base + 0x1000), word);
        assert_int_not_equal(thumb_call(b, OP_LOAD, c->flash_base + 0x1000, 0, 0), word);
        set_latency(b, k, k->ws);
        assert_int_equal(rd32(b, c->flash_base + 0x1000), word);
    }

    /* Back: SW to HSI, PLL off, LATENCY 0. */
    wr32(b, k->rcc + k->cfgr, rd32(b, k->rcc + k->cfgr) & ~3u);
    wait_for(b, k->rcc + k->cfgr, 0xC, 0, 1000 * 1000);
    wr32(b, k->rcc, rd32(b, k->rcc) & ~PLLON);
    assert_false(rd32(b, k->rcc) & PLLRDY);
    set_latency(b, k, 0);
    assert_int_equal(sim_board_hclk_hz(b), k->reset_hz);
    assert_int_equal(rd32(b, c->flash_base + 0x1000), word);

    /* Out of range: never locks, and SW to it never switches. */
    if (k->bad) {
        if (k->prediv)
            wr32(b, k->rcc + F1_CFGR2, 0);
        wr32(b, k->rcc + k->pll_off, k->bad);
        wr32(b, k->rcc, rd32(b, k->rcc) | PLLON);
        assert_int_equal(sim_board_advance(b, 2000000), SIM_OK);
        assert_false(rd32(b, k->rcc) & PLLRDY);
        wr32(b, k->rcc + k->cfgr, (rd32(b, k->rcc + k->cfgr) & ~3u) | k->sw);
        assert_int_equal(sim_board_advance(b, 1000000), SIM_OK);
        assert_int_equal(rd32(b, k->rcc + k->cfgr) & 0xC, 0);
        assert_int_equal(sim_board_hclk_hz(b), k->reset_hz);
    }
    sim_board_destroy(b);
}

static void every_tree_speeds_up_and_needs_its_wait_states(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("%s\n", cases[i].chip);
        one_tree(&cases[i]);
    }
}

/* PREDIV (RCC_CFGR2) cannot change while the PLL is on (RM0091 7.4.12). */
static void prediv_is_frozen_while_the_pll_runs(void **state)
{
    (void)state;
    const tree_case *k = &cases[6];
    assert_string_equal(k->chip, "stm32f072rb");
    sim_board *b = make(k);
    wr32(b, k->rcc + F1_CFGR2, 1);
    wr32(b, k->rcc + F1_CFGR, k->pll);
    wr32(b, k->rcc, rd32(b, k->rcc) | PLLON);
    wr32(b, k->rcc + F1_CFGR2, 0);
    assert_int_equal(rd32(b, k->rcc + F1_CFGR2) & 0xF, 1);
    wr32(b, k->rcc, rd32(b, k->rcc) & ~PLLON);
    wr32(b, k->rcc + F1_CFGR2, 0);
    assert_int_equal(rd32(b, k->rcc + F1_CFGR2) & 0xF, 0);
    sim_board_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_tree_speeds_up_and_needs_its_wait_states),
        cmocka_unit_test(prediv_is_frozen_while_the_pll_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
