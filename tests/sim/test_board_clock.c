/*
 * The clock tree of the virtual boards (sim/target/clock.c), driven the way
 * a host flash loader drives silicon through the debug port:
 *  - each family's sequence (wait states first, oscillator/PLL on, wait for
 *    ready, SW, wait for SWS) reaches its HCLK, and code runs faster by the
 *    ratio; the way back restores the reset clock;
 *  - ready flags rise only after the datasheet start-up / lock time;
 *  - SW before the source is ready keeps SWS (and HCLK) on the old source;
 *  - PLL configuration writes while PLLON is set are ignored;
 *  - the SYSCLK source (and the PLL's input) cannot be switched off;
 *  - an out-of-spec PLL never locks;
 *  - HCLK above what FLASH_ACR.LATENCY allows garbles flash reads (debugger
 *    and core) until LATENCY is raised; each data read of flash costs
 *    LATENCY cycles;
 *  - DWT CYCCNT stays continuous across a clock change;
 *  - a system reset restores the reset clock.
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

#define RCC_F4     0x40023800u
#define RCC_OTHER  0x40021000u
#define ACR_F4     0x40023C00u
#define ACR_OTHER  0x40022000u
#define PLLON      (1u << 24)
#define PLLRDY     (1u << 25)
#define AIRCR_ADDR 0xE000ED0Cu
#define DEMCR_ADDR 0xE000EDFCu
#define DWT_CTRL   0xE0001000u
#define DWT_CYCCNT 0xE0001004u

typedef struct fam {
    const char *chip;
    uint32_t rcc, acr, cfgr, pllcfgr; /* pllcfgr 0: none */
    uint32_t reset_hz, fast_hz;
    uint64_t lock_ns; /* datasheet PLL lock time (or HSI16 start-up on L0) */
} fam;

static const fam F1 = {"stm32f103rb", RCC_OTHER, ACR_OTHER, 0x04, 0, 8000000, 64000000, 200000};
static const fam F4 = {"stm32f446re", RCC_F4, ACR_F4, 0x08, 0x04, 16000000, 168000000, 100000};
static const fam L0 = {"stm32l053r8", RCC_OTHER, ACR_OTHER, 0x0C, 0, 2097152, 16000000, 6000};
static const fam L4 = {"stm32l476rg", RCC_OTHER, ACR_OTHER, 0x08, 0x0C, 4000000, 80000000, 40000};

static sim_board *make(const fam *f)
{
    sim_board *b = NULL;
    assert_int_equal(sim_board_create(f->chip, 5, 0.0, &b), SIM_OK);
    thumb_halt(b); /* blank flash: the core locked up; park it */
    return b;
}

/* Poll addr every microsecond until (value & mask) == want, as a host
 * does; returns the virtual time it took. Fails after timeout_ns. */
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

static void set_bits(sim_board *b, uint32_t addr, uint32_t clear, uint32_t set)
{
    wr32(b, addr, (rd32(b, addr) & ~clear) | set);
}

/* Turn something on in RCC_CR and wait for its ready flag: never ready at
 * once, ready no sooner than min_ns. */
static void start_and_wait(sim_board *b, const fam *f, uint32_t on, uint32_t rdy, uint64_t min_ns)
{
    set_bits(b, f->rcc, 0, on);
    assert_false(rd32(b, f->rcc) & rdy);
    uint64_t took = wait_for(b, f->rcc, rdy, rdy, 10 * 1000 * 1000);
    assert_true(took >= min_ns);
    assert_true(took <= min_ns + 2000); /* and not much later either */
}

static void switch_to(sim_board *b, const fam *f, uint32_t sw)
{
    set_bits(b, f->rcc + f->cfgr, 3, sw);
    wait_for(b, f->rcc + f->cfgr, 0xC, sw << 2, 1000 * 1000);
}

/* The host sequences of the loader (see the brief in docs/simulator.md). */
static void go_fast(sim_board *b, const fam *f)
{
    if (f == &F1) {
        set_bits(b, f->acr, 7, 2);
        wr32(b, f->rcc + 0x04, 14u << 18 | 4u << 8); /* HSI/2 x16, PPRE1 /2 */
        start_and_wait(b, f, PLLON, PLLRDY, f->lock_ns);
        switch_to(b, f, 2);
    } else if (f == &F4) {
        set_bits(b, f->acr, 0xF, 5);
        wr32(b, f->rcc + 0x04, 8u | 168u << 6 | 0u << 16 | 7u << 24 | 2u << 28);
        start_and_wait(b, f, PLLON, PLLRDY, f->lock_ns);
        wr32(b, f->rcc + 0x08, 5u << 10 | 4u << 13 | 2u); /* PPRE1 /4, PPRE2 /2, PLL */
        wait_for(b, f->rcc + 0x08, 0xC, 2u << 2, 1000 * 1000);
    } else if (f == &L0) {
        set_bits(b, f->acr, 0, 1);
        start_and_wait(b, f, 1u << 0, 1u << 2, f->lock_ns); /* HSI16ON, HSI16RDYF */
        switch_to(b, f, 1);
    } else {
        set_bits(b, f->acr, 7, 4);
        start_and_wait(b, f, 1u << 8, 1u << 10, 1200); /* HSION, HSIRDY */
        wr32(b, f->rcc + 0x0C, 2u | 0u << 4 | 10u << 8 | 0u << 25 | 1u << 24);
        start_and_wait(b, f, PLLON, PLLRDY, f->lock_ns);
        switch_to(b, f, 3);
    }
}

static void go_back(sim_board *b, const fam *f)
{
    switch_to(b, f, 0);
    if (f == &L0) {
        set_bits(b, f->rcc, 1u << 0, 0);
    } else {
        set_bits(b, f->rcc, PLLON, 0);
        assert_false(rd32(b, f->rcc) & PLLRDY);
    }
    wr32(b, f->rcc + f->cfgr, 0);
    if (f == &F4)
        wr32(b, f->rcc + 0x04, 0x24003010u);
    if (f == &L4)
        wr32(b, f->rcc + 0x0C, 0x00001000u);
    set_bits(b, f->acr, 0xF, 0);
}

/* Virtual time that n more turns of a loop in SRAM take. */
static uint64_t loop_ns(sim_board *b, uint32_t n)
{
    uint64_t t0 = sim_board_now_ns(b);
    thumb_call(b, OP_LOOP, n, 0, 0);
    uint64_t t1 = sim_board_now_ns(b);
    thumb_call(b, OP_LOOP, 2 * n, 0, 0);
    uint64_t t2 = sim_board_now_ns(b);
    return (t2 - t1) - (t1 - t0); /* the fixed costs cancel */
}

static void host_sequence_reaches_the_clock(const fam *f)
{
    sim_board *b = make(f);
    thumb_load(b, prog_core, prog_core_len);
    assert_int_equal(sim_board_hclk_hz(b), f->reset_hz);
    uint64_t slow = loop_ns(b, 20000);
    go_fast(b, f);
    assert_int_equal(sim_board_hclk_hz(b), f->fast_hz);
    uint64_t fast = loop_ns(b, 20000);
    /* The loop shrinks by the clock ratio (to 1 %). */
    double want = (double)slow * f->reset_hz / f->fast_hz;
    assert_true((double)fast > want * 0.99 && (double)fast < want * 1.01);
    go_back(b, f);
    assert_int_equal(sim_board_hclk_hz(b), f->reset_hz);
    uint64_t again = loop_ns(b, 20000);
    assert_true(again > slow * 99 / 100 && again < slow * 101 / 100);
    sim_board_destroy(b);
}

static void f1_reaches_64_mhz(void **state)
{
    (void)state;
    host_sequence_reaches_the_clock(&F1);
}

static void f446_reaches_168_mhz(void **state)
{
    (void)state;
    host_sequence_reaches_the_clock(&F4);
}

static void l0_reaches_16_mhz(void **state)
{
    (void)state;
    host_sequence_reaches_the_clock(&L0);
}

static void l4_reaches_80_mhz(void **state)
{
    (void)state;
    host_sequence_reaches_the_clock(&L4);
}

static void sw_before_ready_keeps_the_old_source(void **state)
{
    (void)state;
    sim_board *b = make(&F4);
    set_bits(b, F4.acr, 0xF, 5);
    wr32(b, F4.rcc + 0x04, 8u | 168u << 6 | 7u << 24 | 2u << 28);
    set_bits(b, F4.rcc, 0, PLLON);
    wr32(b, F4.rcc + 0x08, 2u); /* SW = PLL while the PLL is still locking */
    assert_int_equal(rd32(b, F4.rcc + 0x08) & 0xF, 2u); /* SW 2, SWS 0 */
    assert_int_equal(sim_board_hclk_hz(b), 16000000u);
    assert_int_equal(sim_board_advance(b, 50000), SIM_OK);
    assert_int_equal(rd32(b, F4.rcc + 0x08) & 0xC, 0u);
    /* The switch happens when the PLL is ready, not before. */
    uint64_t took = wait_for(b, F4.rcc + 0x08, 0xC, 2u << 2, 1000000);
    assert_true(took > 0 && took <= 51000);
    assert_true(rd32(b, F4.rcc) & PLLRDY);
    assert_int_equal(sim_board_hclk_hz(b), 168000000u);

    /* HSE is not fitted: selecting it never switches. */
    wr32(b, F4.rcc, rd32(b, F4.rcc) | 1u << 16);
    wr32(b, F4.rcc + 0x08, 1u);
    assert_int_equal(sim_board_advance(b, 10 * 1000 * 1000), SIM_OK);
    assert_false(rd32(b, F4.rcc) & (1u << 17));
    assert_int_equal(rd32(b, F4.rcc + 0x08) & 0xC, 2u << 2);
    assert_int_equal(sim_board_hclk_hz(b), 168000000u);
    sim_board_destroy(b);
}

static void pll_configuration_is_locked_while_on(void **state)
{
    (void)state;
    sim_board *b = make(&F4);
    uint32_t cfg = 8u | 168u << 6 | 7u << 24 | 2u << 28;
    wr32(b, F4.rcc + 0x04, cfg);
    set_bits(b, F4.rcc, 0, PLLON);
    wr32(b, F4.rcc + 0x04, 8u | 100u << 6 | 7u << 24 | 2u << 28);
    assert_int_equal(rd32(b, F4.rcc + 0x04), cfg);
    sim_board_destroy(b);

    /* F1 keeps the PLL fields of CFGR; the rest of CFGR still takes the
     * write. */
    b = make(&F1);
    wr32(b, F1.rcc + 0x04, 14u << 18);
    set_bits(b, F1.rcc, 0, PLLON);
    wr32(b, F1.rcc + 0x04, 6u << 18 | 4u << 8);
    assert_int_equal(rd32(b, F1.rcc + 0x04), 14u << 18 | 4u << 8);
    sim_board_destroy(b);
}

static void sysclk_sources_cannot_be_switched_off(void **state)
{
    (void)state;
    sim_board *b = make(&L4);
    /* MSI is SYSCLK after reset. */
    set_bits(b, L4.rcc, 1u << 0, 0);
    assert_true(rd32(b, L4.rcc) & (1u << 0));
    go_fast(b, &L4);
    /* The PLL is SYSCLK and HSI16 feeds it: neither goes off. */
    set_bits(b, L4.rcc, PLLON | 1u << 8, 0);
    uint32_t cr = rd32(b, L4.rcc);
    assert_true(cr & PLLON && cr & PLLRDY && cr & (1u << 8) && cr & (1u << 10));
    /* MSI is no longer needed: it may go, and its ready flag with it. */
    set_bits(b, L4.rcc, 1u << 0, 0);
    assert_false(rd32(b, L4.rcc) & 3u);
    assert_int_equal(sim_board_hclk_hz(b), 80000000u);
    sim_board_destroy(b);
}

static void out_of_spec_pll_never_locks(void **state)
{
    (void)state;
    /* F1: HSI/2 x2 = 8 MHz, below the 16 MHz minimum output. */
    sim_board *b = make(&F1);
    wr32(b, F1.rcc + 0x04, 0u << 18);
    set_bits(b, F1.rcc, 0, PLLON);
    assert_int_equal(sim_board_advance(b, 2000000), SIM_OK);
    assert_false(rd32(b, F1.rcc) & PLLRDY);
    sim_board_destroy(b);

    /* F446: M = 4 puts 4 MHz into the VCO (1-2 MHz allowed). */
    b = make(&F4);
    wr32(b, F4.rcc + 0x04, 4u | 168u << 6 | 7u << 24 | 2u << 28);
    set_bits(b, F4.rcc, 0, PLLON);
    assert_int_equal(sim_board_advance(b, 2000000), SIM_OK);
    assert_false(rd32(b, F4.rcc) & PLLRDY);
    /* and SW = PLL then never switches */
    wr32(b, F4.rcc + 0x08, 2u);
    assert_int_equal(sim_board_advance(b, 2000000), SIM_OK);
    assert_int_equal(rd32(b, F4.rcc + 0x08) & 0xC, 0u);
    assert_int_equal(sim_board_hclk_hz(b), 16000000u);
    sim_board_destroy(b);

    /* L0: HSI16 x4 = 64 MHz VCO, above 48 MHz in range 2. */
    b = make(&L0);
    start_and_wait(b, &L0, 1u << 0, 1u << 2, L0.lock_ns);
    wr32(b, L0.rcc + 0x0C, 1u << 18 | 1u << 22);
    set_bits(b, L0.rcc, 0, PLLON);
    assert_int_equal(sim_board_advance(b, 2000000), SIM_OK);
    assert_false(rd32(b, L0.rcc) & PLLRDY);
    sim_board_destroy(b);

    /* L4: HSI16 x12 /2 = 96 MHz, above the 80 MHz PLLR maximum. */
    b = make(&L4);
    start_and_wait(b, &L4, 1u << 8, 1u << 10, 1200);
    wr32(b, L4.rcc + 0x0C, 2u | 12u << 8 | 1u << 24);
    set_bits(b, L4.rcc, 0, PLLON);
    assert_int_equal(sim_board_advance(b, 2000000), SIM_OK);
    assert_false(rd32(b, L4.rcc) & PLLRDY);
    sim_board_destroy(b);
}

static void too_few_wait_states_garble_flash_reads(void **state)
{
    (void)state;
    sim_board *b = make(&L4);
    const sim_chip *c = sim_board_chip(b);
    uint8_t pattern[256], got[256];
    for (unsigned i = 0; i < sizeof pattern; i++)
        pattern[i] = (uint8_t)(i * 37 + 11);
    assert_int_equal(sim_board_preload(b, c->flash_base + 0x1000, pattern, sizeof pattern), SIM_OK);
    thumb_load(b, prog_core, prog_core_len);
    uint32_t word = 0;
    memcpy(&word, pattern, 4);

    /* 80 MHz with LATENCY 0 (the wrong order: clock first). */
    go_fast(b, &L4);
    wr32(b, L4.acr, rd32(b, L4.acr) & ~7u);
    assert_int_equal(sim_board_mem_read(b, c->flash_base + 0x1000, got, sizeof got, 4, NULL),
                     SIM_OK);
    for (unsigned i = 0; i < sizeof got; i++)
        assert_int_not_equal(got[i], pattern[i]);
    assert_int_not_equal(thumb_call(b, OP_LOAD, c->flash_base + 0x1000, 0, 0), word);
    assert_int_not_equal(thumb_call(b, OP_LOAD, 0x1000, 0, 0), word); /* boot alias */
    /* LATENCY 3 allows 64 MHz only: still wrong. */
    set_bits(b, L4.acr, 7, 3);
    assert_int_not_equal(rd32(b, c->flash_base + 0x1000), word);
    /* LATENCY 4: right again, for both masters. */
    set_bits(b, L4.acr, 7, 4);
    assert_int_equal(sim_board_mem_read(b, c->flash_base + 0x1000, got, sizeof got, 4, NULL),
                     SIM_OK);
    assert_memory_equal(got, pattern, sizeof got);
    assert_int_equal(thumb_call(b, OP_LOAD, c->flash_base + 0x1000, 0, 0), word);
    /* Lowering the clock before LATENCY (the RM order down) stays legal. */
    switch_to(b, &L4, 0);
    assert_int_equal(rd32(b, c->flash_base + 0x1000), word);
    set_bits(b, L4.acr, 7, 0);
    assert_int_equal(rd32(b, c->flash_base + 0x1000), word);
    sim_board_destroy(b);

    /* F1 at 64 MHz with 1 wait state (48 MHz) reads wrong too. */
    b = make(&F1);
    c = sim_board_chip(b);
    assert_int_equal(sim_board_preload(b, c->flash_base + 0x400, pattern, 4), SIM_OK);
    go_fast(b, &F1);
    assert_int_equal(rd32(b, c->flash_base + 0x400), word);
    set_bits(b, F1.acr, 7, 1);
    assert_int_not_equal(rd32(b, c->flash_base + 0x400), word);
    set_bits(b, F1.acr, 7, 2);
    assert_int_equal(rd32(b, c->flash_base + 0x400), word);
    sim_board_destroy(b);
}

static void flash_programmed_while_overclocked_reads_right_later(void **state)
{
    (void)state;
    /* The garbled view follows the array: bytes that change while the
     * clock is too fast read right once the clock is lowered. L0 in range
     * 2: the PLL at 24 MHz (HSI16 x3 /2) is too fast at any LATENCY; HSI16
     * at 0 WS is tolerated [U] (OpenOCD's stm32l0.cfg runs it so). */
    sim_board *b = make(&L0);
    const sim_chip *c = sim_board_chip(b);
    uint32_t v = 0x12345678u;
    start_and_wait(b, &L0, 1u << 0, 1u << 2, L0.lock_ns);
    switch_to(b, &L0, 1);
    assert_int_equal(sim_board_hclk_hz(b), 16000000u);
    assert_int_equal(sim_board_preload(b, c->flash_base + 0x80, &v, 4), SIM_OK);
    assert_int_equal(rd32(b, c->flash_base + 0x80), v);
    set_bits(b, L0.acr, 0, 1);
    wr32(b, L0.rcc + 0x0C, 1u | 0u << 18 | 1u << 22); /* PLL x3 /2 */
    start_and_wait(b, &L0, PLLON, PLLRDY, 160000);
    switch_to(b, &L0, 3);
    assert_int_equal(sim_board_hclk_hz(b), 24000000u);
    v = 0x0BADF00Du;
    assert_int_equal(sim_board_preload(b, c->flash_base + 0x80, &v, 4), SIM_OK);
    assert_int_not_equal(rd32(b, c->flash_base + 0x80), v);
    switch_to(b, &L0, 1);
    assert_int_equal(rd32(b, c->flash_base + 0x80), v);
    sim_board_destroy(b);
}

static void data_reads_of_flash_cost_the_wait_states(void **state)
{
    (void)state;
    sim_board *b = make(&L4);
    const sim_chip *c = sim_board_chip(b);
    thumb_load(b, prog_core, prog_core_len);
    uint64_t t0 = sim_board_now_ns(b);
    thumb_call(b, OP_LOAD, c->sram_base + 0x1000, 0, 0);
    uint64_t sram = sim_board_now_ns(b) - t0;
    t0 = sim_board_now_ns(b);
    thumb_call(b, OP_LOAD, c->flash_base, 0, 0);
    uint64_t flash0 = sim_board_now_ns(b) - t0;
    set_bits(b, L4.acr, 7, 4);
    t0 = sim_board_now_ns(b);
    thumb_call(b, OP_LOAD, c->flash_base, 0, 0);
    uint64_t flash4 = sim_board_now_ns(b) - t0;
    assert_int_equal(flash0, sram);
    assert_int_equal(flash4 - flash0, 4 * 250); /* 4 cycles at 4 MHz */
    sim_board_destroy(b);
}

static void cyccnt_stays_continuous(void **state)
{
    (void)state;
    sim_board *b = make(&L4);
    wr32(b, DEMCR_ADDR, 1u << 24); /* TRCENA */
    wr32(b, DWT_CTRL, rd32(b, DWT_CTRL) | 1u);
    assert_int_equal(sim_board_advance(b, 1000000), SIM_OK);
    uint32_t before = rd32(b, DWT_CYCCNT);
    assert_true(before >= 3990 && before <= 4010); /* 1 ms at 4 MHz */
    go_fast(b, &L4);
    uint32_t mid = rd32(b, DWT_CYCCNT);
    assert_true(mid >= before);
    assert_int_equal(sim_board_advance(b, 1000000), SIM_OK);
    uint32_t after = rd32(b, DWT_CYCCNT);
    assert_true(after - mid >= 79990 && after - mid <= 80010); /* 1 ms at 80 MHz */
    sim_board_destroy(b);
}

static void system_reset_restores_the_reset_clock(void **state)
{
    (void)state;
    const fam *fams[4] = {&F1, &F4, &L0, &L4};
    for (int i = 0; i < 4; i++) {
        const fam *f = fams[i];
        sim_board *b = make(f);
        go_fast(b, f);
        wr32(b, AIRCR_ADDR, 0x05FA0004u); /* SYSRESETREQ */
        assert_int_equal(sim_board_advance(b, 1000), SIM_OK);
        assert_int_equal(sim_board_hclk_hz(b), f->reset_hz);
        assert_int_equal(rd32(b, f->rcc + f->cfgr) & 0xF, 0u);
        assert_false(rd32(b, f->rcc) & PLLON);
        assert_int_equal(rd32(b, f->acr) & 0xF, 0u);
        go_fast(b, f);
        sim_board_power(b, false);
        sim_board_power(b, true);
        assert_int_equal(sim_board_hclk_hz(b), f->reset_hz);
        sim_board_destroy(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(f1_reaches_64_mhz),
        cmocka_unit_test(f446_reaches_168_mhz),
        cmocka_unit_test(l0_reaches_16_mhz),
        cmocka_unit_test(l4_reaches_80_mhz),
        cmocka_unit_test(sw_before_ready_keeps_the_old_source),
        cmocka_unit_test(pll_configuration_is_locked_while_on),
        cmocka_unit_test(sysclk_sources_cannot_be_switched_off),
        cmocka_unit_test(out_of_spec_pll_never_locks),
        cmocka_unit_test(too_few_wait_states_garble_flash_reads),
        cmocka_unit_test(flash_programmed_while_overclocked_reads_right_later),
        cmocka_unit_test(data_reads_of_flash_cost_the_wait_states),
        cmocka_unit_test(cyccnt_stays_continuous),
        cmocka_unit_test(system_reset_restores_the_reset_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
