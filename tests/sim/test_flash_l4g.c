/*
 * The L4-generation flash variants (sim/target/flash_l4.c with the data of
 * flash_l4_variants.c) on the G071, G474, WB55 and WL55 rows, driven by
 * real Thumb code (progs/prog_l4g.c) and by the debugger. Expected values
 * are written here from the manuals and headers, never read from the
 * model:
 *  - reset state: CR LOCK|OPTLOCK, factory OPTR (G0x1 0xFFFFFEAA, G4
 *    0xFFEFF8AA), the controller at 0x58004000 on WB/WL;
 *  - EMPTY (RM0444 FLASH_ACR, RM0461 3.3.2 empty check): set on a blank
 *    part, still set after programming 0x08000000 and a system reset,
 *    cleared by OBL_LAUNCH (option load), set again by the next load after
 *    page 0 is erased; software may clear it, and a system reset keeps that;
 *  - CFGBSY (RM0444 SR.CFGBSY) from the first word of a double word; a
 *    half double word followed by clearing PG is PGSERR and ends CFGBSY;
 *  - a double word programmed twice: PROGERR, the array keeps the first
 *    value; error flags left set: PGSERR on the next program; flags clear
 *    by writing 1; an unaligned first word: PGAERR;
 *  - G4 category 3 (RM0440 3.3.1, 3.3.6): DBANK 1 as shipped, bank 2 at
 *    0x08040000 with BKER and 2 KiB pages; DBANK 0 after OBL_LAUNCH: one
 *    bank of 4 KiB pages, and MER1 alone is PGSERR;
 *  - WB (RM0434): OPTVERR after every reset (ES0394); pages at and above
 *    SFR.SFSA (0xF4 as modelled) cannot be erased or programmed by CPU1
 *    (WRPERR), a bank erase with a secure area is refused; pages are 4 KiB;
 *  - WL: a 2 KiB page erase through 0x58004000;
 *  - G0B1 (RM0444 3.3.1, 3.7.4 FLASH_SR, 3.7.5 FLASH_CR): DUAL_BANK (OPTR
 *    b21) set as shipped [U]: two banks of 128 pages of 2 KiB, bank 2 from
 *    0x08040000; a page erase with BKER (b13) erases page PNB of bank 2
 *    and only it, and while it runs SR shows BSY2 (b17) with CFGBSY but not
 *    BSY1; a bank-2 page number past the bank's 128 pages is PGSERR and
 *    erases nothing; MER2 (b15) alone erases bank 2 and leaves bank 1;
 *    with DUAL_BANK cleared and loaded, one bank of 256 pages: PNB 200
 *    erases 0x08064000 without BKER.
 */
#include "flash_fixture.h"

#include <stdlib.h>
#include <string.h>

extern const unsigned char prog_l4g[];
extern const size_t prog_l4g_len;

enum {
    OP_SR = 0,
    OP_UNLOCK = 1,
    OP_ERASE = 2,
    OP_PROG_DW = 3,
    OP_HALF_DW = 4,
    OP_HALF_CLR = 5,
    OP_OPT_PROG = 6,
    OP_OBL = 7,
    OP_CLEAR_SR = 8,
    OP_READ32 = 9,
    OP_WRITE_REG = 10,
};

#define BASE_CELL  0x20001FF0u
#define FLASH_BASE 0x08000000u
#define REGS_AHB   0x40022000u
#define REGS_WB    0x58004000u

#define SR_EOP     (1u << 0)
#define SR_PROGERR (1u << 3)
#define SR_WRPERR  (1u << 4)
#define SR_PGAERR  (1u << 5)
#define SR_SIZERR  (1u << 6)
#define SR_PGSERR  (1u << 7)
#define SR_OPTVERR (1u << 15)
#define SR_BSY     (1u << 16)
#define SR_CFGBSY  (1u << 18)
#define SR_ALL     0x0000C3FBu

#define CR_MER1    (1u << 2)
#define CR_BKER_G4 (1u << 11)
#define CR_PER     (1u << 1)
#define CR_BKER_G0 (1u << 13)
#define CR_STRT    (1u << 16)
#define SR_BSY2    (1u << 17)
#define CR_MER2    (1u << 15)
#define CR_LOCK    (1u << 31)
#define CR_OPTLOCK (1u << 30)
#define ACR_EMPTY  (1u << 16)
#define PNB(n)     ((uint32_t)(n) << 3)

#define CHIP(nm, kib, regs)                                                                        \
    {                                                                                              \
        .name = nm, .seed = 21, .prog = prog_l4g, .prog_len = &prog_l4g_len,                       \
        .flash_base = FLASH_BASE, .flash_size = (kib)*1024u, .erased = 0xFF,                       \
        .sr_addr = (regs) + 0x10, .sr_bsy = SR_BSY, .sr_clear = SR_ALL, .sr_ignore = 0,            \
        .sr_idle = 0,                                                                              \
    }

static const fixture_chip g071 = CHIP("stm32g071rb", 128, REGS_AHB);
static const fixture_chip g474 = CHIP("stm32g474re", 512, REGS_AHB);
static const fixture_chip wb55 = CHIP("stm32wb55rg", 1024, REGS_WB);
static const fixture_chip wl55 = CHIP("stm32wl55jc", 256, REGS_WB);
static const fixture_chip g0b1 = CHIP("stm32g0b1re", 512, REGS_AHB);

static uint32_t regs(fixture *f)
{
    return f->chip->sr_addr - 0x10;
}

/* call() with the controller's base in the program's cell. */
static uint32_t g(fixture *f, uint32_t op, uint32_t a, uint32_t b, uint32_t c)
{
    wr32(f->b, BASE_CELL, regs(f));
    return call(f, op, a, b, c);
}

static void g_no_return(fixture *f, uint32_t op)
{
    wr32(f->b, BASE_CELL, regs(f));
    call_no_return(f, op, 0, 0, 0);
}

static void expect_dw(fixture *f, uint32_t addr, uint32_t lo, uint32_t hi)
{
    expect_word(f, addr, lo);
    expect_word(f, addr + 4, hi);
}

static void preload(fixture *f, uint32_t addr, uint32_t len, uint8_t seed)
{
    for (uint32_t i = 0; i < len; i++)
        f->expect[addr - FLASH_BASE + i] = (uint8_t)(seed + i * 7);
    preload_expect(f, addr, len);
}

static uint32_t acr(fixture *f)
{
    return rd32(f->b, regs(f));
}

/* ---- G0 ---------------------------------------------------------------------- */

static void g0_reset_state(void **state)
{
    fixture *f = *state;
    assert_int_equal(rd32(f->b, REGS_AHB + 0x14), CR_LOCK | CR_OPTLOCK);
    assert_int_equal(sr(f), 0);
    assert_int_equal(rd32(f->b, REGS_AHB + 0x20), 0xFFFFFEAAu);
    assert_true(acr(f) & ACR_EMPTY);
}

static void g0_empty_is_latched_at_option_load(void **state)
{
    fixture *f = *state;
    g(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(g(f, OP_PROG_DW, FLASH_BASE, 0x20002000u, 0x08000101u), 0);
    expect_dw(f, FLASH_BASE, 0x20002000u, 0x08000101u);
    check_flash(f);
    /* programmed, but the latch still says empty, also after a reset */
    assert_true(acr(f) & ACR_EMPTY);
    nrst_pulse(f);
    thumb_halt(f->b);
    assert_true(acr(f) & ACR_EMPTY);
    /* the option load samples the first word again */
    g_no_return(f, OP_OBL);
    thumb_halt(f->b);
    assert_false(acr(f) & ACR_EMPTY);
    /* page 0 erased: empty again at the next load, not before */
    g(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(g(f, OP_ERASE, PNB(0), 1, 0), 0);
    memset(f->expect, 0xFF, 8);
    check_flash(f);
    assert_false(acr(f) & ACR_EMPTY);
    g_no_return(f, OP_OBL);
    thumb_halt(f->b);
    assert_true(acr(f) & ACR_EMPTY);
    /* software may clear it; a system reset keeps what software wrote */
    wr32(f->b, REGS_AHB, acr(f) & ~ACR_EMPTY);
    assert_false(acr(f) & ACR_EMPTY);
    nrst_pulse(f);
    thumb_halt(f->b);
    assert_false(acr(f) & ACR_EMPTY);
}

static void g0_cfgbsy_and_half_double_word(void **state)
{
    fixture *f = *state;
    g(f, OP_UNLOCK, 0, 0, 0);
    /* first word: CFGBSY until the second arrives */
    assert_int_equal(g(f, OP_HALF_DW, FLASH_BASE + 0x100, 0x11111111u, 0), SR_CFGBSY);
    assert_int_equal(sr(f), SR_CFGBSY);
    wr32(f->b, FLASH_BASE + 0x104, 0x22222222u);
    expect_dw(f, FLASH_BASE + 0x100, 0x11111111u, 0x22222222u);
    /* programming: BSY and CFGBSY for the double word's 85 us, then none */
    assert_int_equal(sr(f), SR_BSY | SR_CFGBSY);
    assert_int_equal(sim_board_advance(f->b, 200000), SIM_OK);
    assert_int_equal(sr(f), 0);
    check_flash(f);
    /* a first word, then PG cleared: sequence error, CFGBSY ends */
    wr32(f->b, REGS_AHB + 0x14, 0);
    assert_int_equal(g(f, OP_HALF_CLR, FLASH_BASE + 0x200, 0x33333333u, 0), SR_PGSERR);
    check_flash(f);
    clear_sr(f);
}

static void g0_program_errors(void **state)
{
    fixture *f = *state;
    preload(f, FLASH_BASE + 0x800, 16, 5);
    g(f, OP_UNLOCK, 0, 0, 0);
    /* written once only: PROGERR, the cells keep their value */
    assert_int_equal(g(f, OP_PROG_DW, FLASH_BASE + 0x800, 0x12345678u, 0x9ABCDEF0u), SR_PROGERR);
    check_flash(f);
    /* left set: the next program fails with PGSERR and writes nothing */
    assert_int_equal(g(f, OP_PROG_DW, FLASH_BASE + 0x1000, 1, 2), SR_PROGERR | SR_PGSERR);
    check_flash(f);
    /* cleared by writing 1: programming works again */
    assert_int_equal(g(f, OP_CLEAR_SR, SR_PROGERR | SR_PGSERR, 0, 0), 0);
    assert_int_equal(g(f, OP_PROG_DW, FLASH_BASE + 0x1000, 1, 2), 0);
    expect_dw(f, FLASH_BASE + 0x1000, 1, 2);
    check_flash(f);
    /* an unaligned first word: PGAERR */
    g(f, OP_CLEAR_SR, SR_ALL, 0, 0);
    assert_int_equal(g(f, OP_PROG_DW, FLASH_BASE + 0x1804, 1, 2) & SR_PGAERR, SR_PGAERR);
    check_flash(f);
}

/* ---- G4 category 3 ------------------------------------------------------------- */

static void g4_dual_then_single_bank(void **state)
{
    fixture *f = *state;
    assert_int_equal(rd32(f->b, REGS_AHB + 0x20), 0xFFEFF8AAu); /* DBANK 1 */
    preload(f, 0x08040000u + 3 * 2048, 64, 9);
    preload(f, FLASH_BASE + 3 * 2048, 64, 10);
    g(f, OP_UNLOCK, 0, 0, 0);
    /* bank 2 page 3: 0x08041800, 2 KiB */
    assert_int_equal(g(f, OP_ERASE, CR_BKER_G4 | PNB(3), 1, 0), 0);
    memset(f->expect + 0x40000 + 3 * 2048, 0xFF, 2048);
    check_flash(f);
    /* DBANK 0: one bank of 4 KiB pages once loaded */
    assert_int_equal(g(f, OP_OPT_PROG, 0xFFAFF8AAu, 0x20, 0), 0);
    g_no_return(f, OP_OBL);
    thumb_halt(f->b);
    assert_int_equal(rd32(f->b, REGS_AHB + 0x20), 0xFFAFF8AAu);
    preload(f, FLASH_BASE + 4096, 4096, 11);
    g(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(g(f, OP_ERASE, PNB(1), 1, 0), 0);
    memset(f->expect + 4096, 0xFF, 4096);
    check_flash(f);
    /* MER1 alone with one bank: PGSERR, nothing erased */
    assert_int_equal(g(f, OP_ERASE, CR_MER1, 0, 0), SR_PGSERR);
    check_flash(f);
    g(f, OP_CLEAR_SR, SR_ALL, 0, 0);
    assert_int_equal(g(f, OP_ERASE, CR_MER1 | CR_MER2, 0, 0), 0);
    memset(f->expect, 0xFF, 512 * 1024);
    check_flash(f);
}

/* ---- WB55 ---------------------------------------------------------------------- */

static void wb_secure_area_and_optverr(void **state)
{
    fixture *f = *state;
    assert_int_equal(rd32(f->b, REGS_WB + 0x14), CR_LOCK | CR_OPTLOCK);
    /* OPTVERR after reset (ES0394): set until cleared, and again at reset */
    assert_int_equal(sr(f), SR_OPTVERR);
    clear_sr(f);
    nrst_pulse(f);
    thumb_halt(f->b);
    assert_int_equal(sr(f), SR_OPTVERR);
    clear_sr(f);
    assert_true(acr(f) & ACR_EMPTY);
    /* 4 KiB pages: page 2 is 0x08002000-0x08002FFF */
    preload(f, FLASH_BASE + 0x2000, 0x1000, 3);
    preload(f, FLASH_BASE + 0xF4000, 64, 4);
    g(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(g(f, OP_ERASE, PNB(2), 1, 0), 0);
    memset(f->expect + 0x2000, 0xFF, 0x1000);
    check_flash(f);
    /* page 0xF4 and above belong to CPU2 */
    assert_int_equal(g(f, OP_ERASE, PNB(0xF4), 1, 0), SR_WRPERR);
    g(f, OP_CLEAR_SR, SR_ALL, 0, 0);
    assert_int_equal(g(f, OP_PROG_DW, 0x080F5000u, 1, 2), SR_WRPERR);
    g(f, OP_CLEAR_SR, SR_ALL, 0, 0);
    assert_int_equal(g(f, OP_ERASE, CR_MER1, 0, 0), SR_WRPERR);
    g(f, OP_CLEAR_SR, SR_ALL, 0, 0);
    check_flash(f);
    /* below it, programming works; CFGBSY is gone once done */
    assert_int_equal(g(f, OP_PROG_DW, 0x080F3FF8u, 5, 6), 0);
    expect_dw(f, 0x080F3FF8u, 5, 6);
    check_flash(f);
}

/* ---- WL55 ---------------------------------------------------------------------- */

static void wl_page_erase(void **state)
{
    fixture *f = *state;
    assert_int_equal(sr(f), 0);
    assert_int_equal(rd32(f->b, REGS_WB + 0x20), 0x3FEFF0AAu);
    preload(f, FLASH_BASE + 5 * 2048, 2048 + 16, 7);
    g(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(g(f, OP_ERASE, PNB(5), 1, 0), 0);
    memset(f->expect + 5 * 2048, 0xFF, 2048);
    check_flash(f);
    assert_int_equal(g(f, OP_PROG_DW, FLASH_BASE + 5 * 2048, 7, 8), 0);
    expect_dw(f, FLASH_BASE + 5 * 2048, 7, 8);
    check_flash(f);
}

/* ---- G0B1 (two banks) ------------------------------------------------------------ */

static void g0b_bank2_erase_with_bker_and_bsy2(void **state)
{
    fixture *f = *state;
    const uint32_t bank2 = 0x08040000u;
    assert_int_equal(rd32(f->b, REGS_AHB + 0x20), 0xFFFFFEAAu); /* DUAL_BANK b21 set */
    preload(f, FLASH_BASE + 3 * 2048, 64, 1);
    preload(f, bank2 + 3 * 2048, 2048 + 64, 2);
    preload(f, bank2 + 127 * 2048, 64, 3);
    g(f, OP_UNLOCK, 0, 0, 0);
    /* start a bank-2 page erase and look at SR while it runs */
    uint32_t cr = CR_PER | CR_BKER_G0 | PNB(3);
    g(f, OP_WRITE_REG, 0x14, cr, 0);
    g(f, OP_WRITE_REG, 0x14, cr | CR_STRT, 0);
    assert_int_equal(g(f, OP_SR, 0, 0, 0) & (SR_BSY | SR_BSY2 | SR_CFGBSY), SR_BSY2 | SR_CFGBSY);
    /* a CR write waits for the end; STRT with nothing selected does nothing */
    assert_int_equal(g(f, OP_ERASE, 0, 0, 0), 0);
    assert_int_equal(g(f, OP_SR, 0, 0, 0), 0);
    memset(f->expect + 0x40000 + 3 * 2048, 0xFF, 2048);
    check_flash(f);
    /* page 128 of bank 2 does not exist */
    assert_int_equal(g(f, OP_ERASE, CR_BKER_G0 | PNB(128), 1, 0), SR_PGSERR);
    check_flash(f);
    g(f, OP_CLEAR_SR, SR_ALL, 0, 0);
    /* MER2 alone: bank 2 only, shown by BSY2 */
    g(f, OP_WRITE_REG, 0x14, CR_MER2, 0);
    g(f, OP_WRITE_REG, 0x14, CR_MER2 | CR_STRT, 0);
    assert_int_equal(g(f, OP_SR, 0, 0, 0) & (SR_BSY | SR_BSY2), SR_BSY2);
    assert_int_equal(g(f, OP_ERASE, 0, 0, 0), 0);
    memset(f->expect + 0x40000, 0xFF, 0x40000);
    check_flash(f);
    /* DUAL_BANK 0 once loaded: one bank of 256 pages */
    assert_int_equal(g(f, OP_OPT_PROG, 0xFFDFFEAAu, 0x20, 0), 0);
    g_no_return(f, OP_OBL);
    thumb_halt(f->b);
    assert_int_equal(rd32(f->b, REGS_AHB + 0x20), 0xFFDFFEAAu);
    preload(f, FLASH_BASE + 200 * 2048, 2048 + 16, 4);
    g(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(g(f, OP_ERASE, PNB(200), 1, 0), 0);
    memset(f->expect + 200 * 2048, 0xFF, 2048);
    check_flash(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(g0_reset_state, &g071),
        FIXTURE_TEST(g0_empty_is_latched_at_option_load, &g071),
        FIXTURE_TEST(g0_cfgbsy_and_half_double_word, &g071),
        FIXTURE_TEST(g0_program_errors, &g071),
        FIXTURE_TEST(g4_dual_then_single_bank, &g474),
        FIXTURE_TEST(wb_secure_area_and_optverr, &wb55),
        FIXTURE_TEST(g0b_bank2_erase_with_bker_and_bsy2, &g0b1),
        FIXTURE_TEST(wl_page_erase, &wl55),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
