/*
 * The L4-generation rows (sim/target/chips_l4g.c, clock_trees_l4g.c):
 *  - ordering codes resolve to the DEV_ID, flash and SRAM the datasheets
 *    give (fact sheet sections 1 and 3), with the controller at its
 *    address;
 *  - each new clock tree, driven through the debugger as a host does:
 *    LATENCY first, the PLL configured while off, PLLON, PLLRDY no sooner
 *    than the lock time, SW to the PLL, SWS follows and HCLK is the PLL's
 *    output; one wait state too few garbles flash reads; a PLL output
 *    above the part's maximum never locks. Settings from the RCC chapters:
 *    G0 RM0444 5.4.4 (HSI16 /1 x8 /2 = 64 MHz, 2 WS; x9 = 72 MHz never
 *    locks), G4 RM0440 7.4.4 (HSI16 /4 x75 /2 = 150 MHz, 4 WS in range 1
 *    normal mode; x90 = 180 MHz never locks), WB RM0434 6.4.4 (MSI 4 MHz
 *    x32 /2 = 64 MHz, 3 WS), WL RM0453 6.4.4 (MSI 4 MHz x24 /2 = 48 MHz,
 *    2 WS), U0 (MSI 4 MHz x28 /2 = 56 MHz, 2 WS [U: fact sheet limits]);
 *  - the C0 and U0 ordering codes and their identity cells (RM0490 31.1-
 *    31.2: flash size at 0x1FFF75A0; U0 headers: 0x1FFF3EA0/0x1FFF6EA0),
 *    the G0B1 at 512 KiB with 144 KiB SRAM;
 *  - the C0 clock without a PLL (RM0490 6.4.1, 4.3.2 Table 14): 12 MHz
 *    at reset (HSI48 / HSIDIV 4); HSIDIV /1 gives 48 MHz, which garbles
 *    flash at LATENCY 0 and reads right at 1; on the C071 SYSDIV /2 then
 *    gives 24 MHz, which LATENCY 0 allows again.
 */
#include "thumb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

typedef struct code_case {
    const char *code;
    uint16_t dev_id;
    uint32_t flash_kib, sram_kib, flash_regs;
} code_case;

static const code_case codes[] = {
    {"stm32g031k8", 0x466, 64, 8, 0x40022000},     {"stm32g030f6", 0x466, 32, 8, 0x40022000},
    {"stm32g051c8", 0x456, 64, 18, 0x40022000},    {"stm32g071rb", 0x460, 128, 36, 0x40022000},
    {"stm32g081rb", 0x460, 128, 36, 0x40022000},   {"stm32g431kb", 0x468, 128, 22, 0x40022000},
    {"stm32g474re", 0x469, 512, 96, 0x40022000},   {"stm32g491rc", 0x479, 256, 96, 0x40022000},
    {"stm32l412kb", 0x464, 128, 32, 0x40022000},   {"stm32l432kc", 0x435, 256, 48, 0x40022000},
    {"stm32l452re", 0x462, 512, 128, 0x40022000},  {"stm32l496zg", 0x461, 1024, 256, 0x40022000},
    {"stm32wb55rg", 0x495, 1024, 192, 0x58004000}, {"stm32wl55jc", 0x497, 256, 64, 0x58004000},
    {"stm32wle5jc", 0x497, 256, 64, 0x58004000},
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
        assert_int_equal(c->flash_regs, k->flash_regs);
        sim_board *b = NULL;
        assert_int_equal(sim_board_create(k->code, 3, 0.0, &b), SIM_OK);
        thumb_halt(b);
        uint32_t id = rd32(b, c->idcode_addr);
        assert_int_equal(id & 0xFFF, k->dev_id);
        assert_int_equal(rd32(b, 0x1FFF75E0) & 0xFFFF, k->flash_kib);
        assert_int_equal(rd32(b, k->flash_regs + 0x14), 0xC0000000u); /* CR: LOCK | OPTLOCK */
        sim_board_destroy(b);
    }
    assert_null(sim_chip_find("stm32g474rb")); /* bank-2 hole: not modelled */
    assert_null(sim_chip_find("stm32g031kb"));
}

typedef struct tree_case {
    const char *chip;
    uint32_t rcc, acr;
    uint32_t pllcfgr;   /* the PLL setting */
    uint32_t sws_shift; /* SWS position; SW is b1:0 (b2:0 on G0) */
    uint32_t sw;        /* SW code of PLLCLK / PLLRCLK */
    uint32_t ws;        /* LATENCY the fast clock needs */
    uint32_t reset_hz, fast_hz;
    uint64_t lock_ns;
    uint32_t bad; /* a PLL setting whose output is above the maximum */
} tree_case;

#define PLLCFG(src, m, n, r, rbits) ((src) | ((m)-1) << 4 | (n) << 8 | (rbits))
/* G0/WB/WL: PLLR b31:29 = r-1, PLLREN b28; G4: PLLR b26:25 = r/2-1, PLLREN b24 */
#define R_G0(r) ((uint32_t)((r)-1) << 29 | 1u << 28)
#define R_G4(r) ((uint32_t)((r) / 2 - 1) << 25 | 1u << 24)

static const tree_case trees[] = {
    {"stm32g071rb", 0x40021000, 0x40022000, PLLCFG(2, 1, 8, 2, R_G0(2)), 3, 2, 2, 16000000,
     64000000, 40000, PLLCFG(2, 1, 9, 2, R_G0(2))},
    {"stm32g474re", 0x40021000, 0x40022000, PLLCFG(2, 4, 75, 2, R_G4(2)), 2, 3, 4, 16000000,
     150000000, 40000, PLLCFG(2, 4, 90, 2, R_G4(2))},
    {"stm32wb55rg", 0x58000000, 0x58004000, PLLCFG(1, 1, 32, 2, R_G0(2)), 2, 3, 3, 4000000,
     64000000, 40000, PLLCFG(1, 1, 34, 2, R_G0(2))},
    {"stm32wl55jc", 0x58000000, 0x58004000, PLLCFG(1, 1, 24, 2, R_G0(2)), 2, 3, 2, 4000000,
     48000000, 40000, PLLCFG(1, 1, 26, 2, R_G0(2))},
    /* U0: MSI 4 MHz x28 /2 = 56 MHz, 2 WS; x32 /2 = 64 MHz never locks */
    {"stm32u083rc", 0x40021000, 0x40022000, PLLCFG(1, 1, 28, 2, R_G0(2)), 3, 3, 2, 4000000,
     56000000, 40000, PLLCFG(1, 1, 32, 2, R_G0(2))},
};

#define PLLON  (1u << 24)
#define PLLRDY (1u << 25)
#define CFGR   0x08u
#define PLLC   0x0Cu

static uint64_t wait_for(sim_board *b, uint32_t addr, uint32_t mask, uint32_t want)
{
    uint64_t t0 = sim_board_now_ns(b);
    while ((rd32(b, addr) & mask) != want) {
        assert_true(sim_board_now_ns(b) - t0 < 10000000);
        assert_int_equal(sim_board_advance(b, 1000), SIM_OK);
    }
    return sim_board_now_ns(b) - t0;
}

static void one_tree(const tree_case *k)
{
    sim_board *b = NULL;
    assert_int_equal(sim_board_create(k->chip, 5, 0.0, &b), SIM_OK);
    thumb_halt(b);
    const sim_chip *c = sim_board_chip(b);
    const uint32_t word = 0x5AC3E1F0u;
    assert_int_equal(sim_board_preload(b, c->flash_base + 0x1000, &word, 4), SIM_OK);
    assert_int_equal(sim_board_hclk_hz(b), k->reset_hz);
    uint32_t swm = k->sws_shift == 3 ? 7u : 3u;
    wr32(b, k->acr, (rd32(b, k->acr) & ~0xFu) | k->ws);
    wr32(b, k->rcc + PLLC, k->pllcfgr);
    wr32(b, k->rcc, rd32(b, k->rcc) | PLLON);
    assert_false(rd32(b, k->rcc) & PLLRDY);
    uint64_t took = wait_for(b, k->rcc, PLLRDY, PLLRDY);
    assert_true(took >= k->lock_ns && took <= k->lock_ns + 20000);
    wr32(b, k->rcc + CFGR, (rd32(b, k->rcc + CFGR) & ~swm) | k->sw);
    wait_for(b, k->rcc + CFGR, swm << k->sws_shift, k->sw << k->sws_shift);
    assert_int_equal(sim_board_hclk_hz(b), k->fast_hz);
    assert_int_equal(rd32(b, c->flash_base + 0x1000), word);
    /* one wait state too few */
    wr32(b, k->acr, (rd32(b, k->acr) & ~0xFu) | (k->ws - 1));
    assert_int_not_equal(rd32(b, c->flash_base + 0x1000), word);
    wr32(b, k->acr, (rd32(b, k->acr) & ~0xFu) | k->ws);
    assert_int_equal(rd32(b, c->flash_base + 0x1000), word);
    /* back to the reset clock, PLL off; then out of range: never locks */
    uint32_t back = k->reset_hz == 16000000 && k->sws_shift == 2 ? 1 : 0; /* G4: HSI16 is 01 */
    wr32(b, k->rcc + CFGR, (rd32(b, k->rcc + CFGR) & ~swm) | back);
    wait_for(b, k->rcc + CFGR, swm << k->sws_shift, back << k->sws_shift);
    wr32(b, k->rcc, rd32(b, k->rcc) & ~PLLON);
    assert_int_equal(sim_board_hclk_hz(b), k->reset_hz);
    wr32(b, k->rcc + PLLC, k->bad);
    wr32(b, k->rcc, rd32(b, k->rcc) | PLLON);
    assert_int_equal(sim_board_advance(b, 2000000), SIM_OK);
    assert_false(rd32(b, k->rcc) & PLLRDY);
    sim_board_destroy(b);
}

static void every_tree_speeds_up_and_needs_its_wait_states(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof trees / sizeof trees[0]; i++) {
        print_message("%s\n", trees[i].chip);
        one_tree(&trees[i]);
    }
}

typedef struct c0u0_case {
    const char *code;
    uint16_t dev_id;
    uint32_t flash_kib, sram_kib, fsize_reg;
} c0u0_case;

static const c0u0_case c0u0_codes[] = {
    {"stm32c011f4", 0x443, 16, 6, 0x1FFF75A0},    {"stm32c011f6", 0x443, 32, 6, 0x1FFF75A0},
    {"stm32c031c6", 0x453, 32, 12, 0x1FFF75A0},   {"stm32c051c8", 0x44C, 64, 12, 0x1FFF75A0},
    {"stm32c071rb", 0x493, 128, 24, 0x1FFF75A0},  {"stm32c091rc", 0x44D, 256, 36, 0x1FFF75A0},
    {"stm32c092cb", 0x44D, 128, 30, 0x1FFF75A0},  {"stm32u031k6", 0x459, 32, 12, 0x1FFF3EA0},
    {"stm32u073rb", 0x489, 128, 40, 0x1FFF6EA0},  {"stm32u083rc", 0x489, 256, 40, 0x1FFF6EA0},
    {"stm32g0b1re", 0x467, 512, 144, 0x1FFF75E0}, {"stm32g0c1ve", 0x467, 512, 144, 0x1FFF75E0},
};

static void c0u0_codes_resolve(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof c0u0_codes / sizeof c0u0_codes[0]; i++) {
        const c0u0_case *k = &c0u0_codes[i];
        const sim_chip *c = sim_chip_find(k->code);
        if (!c)
            fail_msg("%s not found", k->code);
        assert_int_equal(c->dev_id, k->dev_id);
        assert_int_equal(c->flash_size, k->flash_kib * 1024);
        assert_int_equal(c->sram_size, k->sram_kib * 1024);
        sim_board *b = NULL;
        assert_int_equal(sim_board_create(k->code, 3, 0.0, &b), SIM_OK);
        thumb_halt(b);
        assert_int_equal(rd32(b, 0x40015800) & 0xFFF, k->dev_id);
        assert_int_equal(rd32(b, k->fsize_reg) & 0xFFFF, k->flash_kib);
        assert_int_equal(rd32(b, 0x40022014), 0xC0000000u);
        sim_board_destroy(b);
    }
    assert_null(sim_chip_find("stm32c051c6")); /* not confirmed */
}

#define C0_HSIDIV(k) ((uint32_t)(k) << 11)
#define C0_SYSDIV(k) ((uint32_t)(k) << 2)

static void c0_clock_without_pll(void **state)
{
    (void)state;
    sim_board *b = NULL;
    assert_int_equal(sim_board_create("stm32c071rb", 5, 0.0, &b), SIM_OK);
    thumb_halt(b);
    const uint32_t word = 0x5AC3E1F0u, rcc = 0x40021000, acr = 0x40022000;
    assert_int_equal(sim_board_preload(b, 0x08001000, &word, 4), SIM_OK);
    assert_int_equal(sim_board_hclk_hz(b), 12000000);
    assert_int_equal(rd32(b, rcc) & (7u << 11), C0_HSIDIV(2));
    wr32(b, rcc, (rd32(b, rcc) & ~(7u << 11)) | C0_HSIDIV(0));
    assert_int_equal(sim_board_hclk_hz(b), 48000000);
    assert_int_not_equal(rd32(b, 0x08001000), word);
    wr32(b, acr, (rd32(b, acr) & ~7u) | 1);
    assert_int_equal(rd32(b, 0x08001000), word);
    wr32(b, rcc, rd32(b, rcc) | C0_SYSDIV(1));
    assert_int_equal(sim_board_hclk_hz(b), 24000000);
    wr32(b, acr, rd32(b, acr) & ~7u);
    assert_int_equal(rd32(b, 0x08001000), word);
    sim_board_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ordering_codes_resolve),
        cmocka_unit_test(every_tree_speeds_up_and_needs_its_wait_states),
        cmocka_unit_test(c0u0_codes_resolve),
        cmocka_unit_test(c0_clock_without_pll),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
