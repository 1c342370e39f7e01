/*
 * The L4+ and WB1x variants of the L4-generation flash controller
 * (flash_l4p_variants.c on flash_l4.c), on the stm32l4r5zi, stm32l4r5zg,
 * stm32l4p5zg and stm32wb15cc parts, driven by real Thumb code
 * (progs/prog_l4g.c) and by the debugger. Expected values are written
 * here from the manuals and headers, never read from the model:
 *  - L4R/L4S 2 MiB (RM0432 flash organization; stm32l4r5xx.h): OPTR
 *    0xFFEFF8AA as shipped, DBANK (b22) set: two banks of 4 KiB pages,
 *    bank 2 at 0x08100000 chosen by BKER (b11), PNB 8 bits (page 255 is
 *    the last of a bank); DBANK 0 after OBL_LAUNCH: one bank of 8 KiB
 *    pages (page 255 at 0x081FE000), still programmed by 64-bit double
 *    words (8-aligned, PROGERR on a second write, PGAERR off a double-word
 *    boundary); SR.PEMPTY (b17) set on a blank part;
 *  - L4R/L4S 1 MiB: the bank mode is DB1M (b21): with DBANK cleared and
 *    DB1M set the part stays dual bank, bank 2 at 0x08080000;
 *  - L4P5/L4Q5 1 MiB: PNB 7 bits (b9:3), bank 2 at 0x08080000, page 127
 *    the last of a bank; LATENCY is 4 bits wide (b3:0);
 *  - WB10/WB15 (RM0473, stm32wb15xx.h): controller at 0x58004000, 2 KiB
 *    pages, OPTVERR after reset, the secure area from SFR.SFSA (0x94 as
 *    modelled) refused (WRPERR), the page below it erasable.
 */
#include "flash_fixture.h"

#include <string.h>

extern const unsigned char prog_l4g[];
extern const size_t prog_l4g_len;

enum {
    OP_SR = 0,
    OP_UNLOCK = 1,
    OP_ERASE = 2,
    OP_PROG_DW = 3,
    OP_OPT_PROG = 6,
    OP_OBL = 7,
    OP_CLEAR_SR = 8,
};

#define BASE_CELL  0x20001FF0u
#define FLASH_BASE 0x08000000u
#define REGS_AHB   0x40022000u
#define REGS_WB    0x58004000u

#define SR_PROGERR (1u << 3)
#define SR_WRPERR  (1u << 4)
#define SR_PGAERR  (1u << 5)
#define SR_PGSERR  (1u << 7)
#define SR_OPTVERR (1u << 15)
#define SR_BSY     (1u << 16)
#define SR_PEMPTY  (1u << 17) /* L4+: main flash read as blank at option load */
#define SR_ALL     0x0000C3FBu

#define CR_BKER     (1u << 11)
#define OPTR_DB1M   (1u << 21)
#define OPTR_DBANK  (1u << 22)
#define OPTR_L4P    0xFFEFF8AAu
#define PNB(n)      ((uint32_t)(n) << 3)
#define ACR_LATENCY 0xFu

#define CHIP(nm, kib, regs)                                                                        \
    {                                                                                              \
        .name = nm, .seed = 23, .prog = prog_l4g, .prog_len = &prog_l4g_len,                       \
        .flash_base = FLASH_BASE, .flash_size = (kib)*1024u, .erased = 0xFF,                       \
        .sr_addr = (regs) + 0x10, .sr_bsy = SR_BSY, .sr_clear = SR_ALL, .sr_ignore = 0,            \
        .sr_idle = 0,                                                                              \
    }

static const fixture_chip l4r5zi = CHIP("stm32l4r5zi", 2048, REGS_AHB);
static const fixture_chip l4r5zg = CHIP("stm32l4r5zg", 1024, REGS_AHB);
static const fixture_chip l4p5zg = CHIP("stm32l4p5zg", 1024, REGS_AHB);
static const fixture_chip wb15cc = CHIP("stm32wb15cc", 320, REGS_WB);

static uint32_t regs(fixture *f)
{
    return f->chip->sr_addr - 0x10;
}

/* call() with the controller's base in the program's cell; the SR it
 * returns without PEMPTY, a status latched at option load, not an error. */
static uint32_t g(fixture *f, uint32_t op, uint32_t a, uint32_t b, uint32_t c)
{
    wr32(f->b, BASE_CELL, regs(f));
    return call(f, op, a, b, c) & ~SR_PEMPTY;
}

/* Load the options: OBL_LAUNCH resets the chip. */
static void option_load(fixture *f)
{
    wr32(f->b, BASE_CELL, regs(f));
    call_no_return(f, OP_OBL, 0, 0, 0);
    thumb_halt(f->b);
}

static void preload(fixture *f, uint32_t addr, uint32_t len, uint8_t seed)
{
    for (uint32_t i = 0; i < len; i++)
        f->expect[addr - FLASH_BASE + i] = (uint8_t)(seed + i * 5);
    preload_expect(f, addr, len);
}

/* Erase with CR bits cr | PER and check that exactly [addr, addr + len)
 * became blank; the bytes on either side are preloaded. */
static void erase_exactly(fixture *f, uint32_t cr, uint32_t addr, uint32_t len)
{
    uint32_t from = addr - 16, to = addr + len + 16, end = FLASH_BASE + f->chip->flash_size;
    preload(f, from, (to < end ? to : end) - from, (uint8_t)(addr >> 12));
    g(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(g(f, OP_ERASE, cr, 1, 0), 0);
    memset(f->expect + (addr - FLASH_BASE), 0xFF, len);
    check_flash(f);
}

static void program_dw(fixture *f, uint32_t addr, uint32_t lo, uint32_t hi)
{
    assert_int_equal(g(f, OP_PROG_DW, addr, lo, hi), 0);
    expect_word(f, addr, lo);
    expect_word(f, addr + 4, hi);
    check_flash(f);
}

/* ---- L4R/L4S ------------------------------------------------------------------- */

static void l4r_dual_bank_as_shipped(void **state)
{
    fixture *f = *state;
    assert_int_equal(rd32(f->b, REGS_AHB + 0x20), OPTR_L4P);
    assert_int_equal(sr(f), SR_PEMPTY); /* a blank part */
    /* bank 1 page 1, bank 2 page 5, the last page of each bank: 4 KiB */
    erase_exactly(f, PNB(1), FLASH_BASE + 0x1000, 0x1000);
    erase_exactly(f, CR_BKER | PNB(5), 0x08100000u + 5 * 0x1000, 0x1000);
    erase_exactly(f, PNB(255), 0x080FF000u, 0x1000);
    erase_exactly(f, CR_BKER | PNB(255), 0x081FF000u, 0x1000);
    program_dw(f, 0x08100000u + 5 * 0x1000, 0x11223344u, 0x55667788u);
}

static void l4r_single_bank_8k_pages_double_words(void **state)
{
    fixture *f = *state;
    assert_int_equal(g(f, OP_OPT_PROG, OPTR_L4P & ~OPTR_DBANK, 0x20, 0), 0);
    option_load(f);
    assert_int_equal(rd32(f->b, REGS_AHB + 0x20), OPTR_L4P & ~OPTR_DBANK);
    /* one bank of 8 KiB pages: page 1 at 0x08002000, page 255 the last */
    erase_exactly(f, PNB(1), FLASH_BASE + 0x2000, 0x2000);
    erase_exactly(f, PNB(255), 0x081FE000u, 0x2000);
    /* the program unit stays the 64-bit double word */
    g(f, OP_UNLOCK, 0, 0, 0);
    program_dw(f, FLASH_BASE + 0x2008, 0xCAFEF00Du, 0x0BADBEEFu);
    program_dw(f, FLASH_BASE + 0x2010, 1, 2);
    assert_int_equal(g(f, OP_PROG_DW, FLASH_BASE + 0x2008, 3, 4) & SR_PROGERR, SR_PROGERR);
    g(f, OP_CLEAR_SR, SR_ALL, 0, 0);
    assert_int_equal(g(f, OP_PROG_DW, FLASH_BASE + 0x2104, 3, 4) & SR_PGAERR, SR_PGAERR);
    g(f, OP_CLEAR_SR, SR_ALL, 0, 0);
    check_flash(f);
}

static void l4r_1m_bank_mode_is_db1m(void **state)
{
    fixture *f = *state;
    /* DBANK cleared, DB1M still set: two banks, bank 2 at 0x08080000 */
    assert_int_equal(g(f, OP_OPT_PROG, OPTR_L4P & ~OPTR_DBANK, 0x20, 0), 0);
    option_load(f);
    erase_exactly(f, CR_BKER | PNB(3), 0x08080000u + 3 * 0x1000, 0x1000);
    /* DB1M cleared: one bank of 8 KiB pages */
    assert_int_equal(g(f, OP_OPT_PROG, OPTR_L4P & ~(OPTR_DBANK | OPTR_DB1M), 0x20, 0), 0);
    option_load(f);
    erase_exactly(f, PNB(127), 0x080FE000u, 0x2000);
}

/* ---- L4P5/L4Q5 ----------------------------------------------------------------- */

static void l4p5_banks_and_latency(void **state)
{
    fixture *f = *state;
    assert_int_equal(rd32(f->b, REGS_AHB + 0x20), OPTR_L4P);
    erase_exactly(f, CR_BKER | PNB(127), 0x080FF000u, 0x1000);
    erase_exactly(f, PNB(127), 0x0807F000u, 0x1000);
    /* PNB is b9:3: bit 10 is not part of it, page 128 + 1 reads as 1 */
    erase_exactly(f, CR_BKER | PNB(129), 0x08081000u, 0x1000);
    /* LATENCY b3:0 takes 8 */
    wr32(f->b, REGS_AHB, 0x608u);
    assert_int_equal(rd32(f->b, REGS_AHB) & ACR_LATENCY, 8);
    wr32(f->b, REGS_AHB, 0x600u);
}

/* ---- WB10/WB15 ----------------------------------------------------------------- */

static void wb15_pages_and_secure_area(void **state)
{
    fixture *f = *state;
    assert_int_equal(sr(f), SR_OPTVERR);
    clear_sr(f);
    erase_exactly(f, PNB(3), FLASH_BASE + 3 * 2048, 2048);
    erase_exactly(f, PNB(0x93), FLASH_BASE + 0x93 * 2048, 2048);
    preload(f, FLASH_BASE + 0x94 * 2048, 64, 9);
    g(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(g(f, OP_ERASE, PNB(0x94), 1, 0), SR_WRPERR);
    g(f, OP_CLEAR_SR, SR_ALL, 0, 0);
    assert_int_equal(g(f, OP_PROG_DW, FLASH_BASE + 0x94 * 2048 + 64, 1, 2), SR_WRPERR);
    g(f, OP_CLEAR_SR, SR_ALL, 0, 0);
    check_flash(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(l4r_dual_bank_as_shipped, &l4r5zi),
        FIXTURE_TEST(l4r_single_bank_8k_pages_double_words, &l4r5zi),
        FIXTURE_TEST(l4r_1m_bank_mode_is_db1m, &l4r5zg),
        FIXTURE_TEST(l4p5_banks_and_latency, &l4p5zg),
        FIXTURE_TEST(wb15_pages_and_secure_area, &wb15cc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
