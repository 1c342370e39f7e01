/*
 * The STM32L476 flash model (sim/target/flash_l4.c), driven by real Thumb
 * code (progs/prog_l4.c) on the virtual core and by the debugger, as flash
 * loaders and probes drive silicon. Every test checks effects: the whole
 * 1 MiB array against a predicted image, FLASH_SR bits, option bytes, and
 * virtual time against DS10198 Table 63.
 */
#include "flash_fixture.h"

#include <stdlib.h>
#include <string.h>

extern const unsigned char prog_l4[];
extern const size_t prog_l4_len;

/* progs/prog_l4.c op numbers */
enum {
    OP_SR = 0,
    OP_KEYS = 1,
    OP_OPTKEYS = 2,
    OP_UNLOCK = 3,
    OP_LOCK = 4,
    OP_CR = 5,
    OP_CLEAR_SR = 6,
    OP_ERASE_PAGE = 7,
    OP_MASS_ERASE = 8,
    OP_PROG_DW = 9,
    OP_WRITE = 10,
    OP_FAST_ROW = 11,
    OP_STORE8 = 12,
    OP_STORE16 = 13,
    OP_STORE_RAW = 14,
    OP_DW_PAIR = 15,
    OP_TWO_DW = 16,
    OP_OPT_PROG = 17,
    OP_OBL = 18,
    OP_READ32 = 19,
    OP_START_DW = 20,
    OP_CR_IN_BSY = 21,
};

#define FLASH_BASE 0x08000000u
#define FLASH_SIZE (1024u * 1024u)
#define BANK2      0x08080000u
#define PAGE       2048u
#define ROW        256u
#define SRAM_BUF   0x20001000u /* after the 4 KiB program */

#define REGS         0x40022000u
#define KEYR_ADDR    (REGS + 0x08)
#define OPTKEYR_ADDR (REGS + 0x0C)
#define SR_ADDR      (REGS + 0x10)
#define CR_ADDR      (REGS + 0x14)
#define OFF_OPTR     0x20u
#define OFF_WRP1AR   0x2Cu
#define OPTR_ADDR    (REGS + OFF_OPTR)
#define WRP1AR_ADDR  (REGS + OFF_WRP1AR)
#define OPT_IMAGE    0x1FFF7800u
#define OTP_BASE     0x1FFF7000u

#define KEY1 0x45670123u
#define KEY2 0xCDEF89ABu

#define SR_EOP     (1u << 0)
#define SR_OPERR   (1u << 1)
#define SR_PROGERR (1u << 3)
#define SR_WRPERR  (1u << 4)
#define SR_PGAERR  (1u << 5)
#define SR_SIZERR  (1u << 6)
#define SR_PGSERR  (1u << 7)
#define SR_MISERR  (1u << 8)
#define SR_FASTERR (1u << 9)
#define SR_OPTVERR (1u << 15)
#define SR_BSY     (1u << 16)
#define SR_ALL     0x0000C3FBu

#define CR_PG      (1u << 0)
#define CR_PER     (1u << 1)
#define CR_MER1    (1u << 2)
#define CR_MER2    (1u << 15)
#define CR_FSTPG   (1u << 18)
#define CR_EOPIE   (1u << 24)
#define CR_ERRIE   (1u << 25)
#define CR_OPTLOCK (1u << 30)
#define CR_LOCK    (1u << 31)

/* DS10198 Rev 8 Table 63, typical values. */
#define T_DW_NS         81690ull
#define T_ROW_FAST_NS   1910000ull
#define T_PAGE_ERASE_NS 22020000ull
#define T_MASS_ERASE_NS 22130000ull
/* Code, debugger and polling overhead allowed on top of an operation. */
#define SLACK_NS 300000ull

/* clear_sr() writes EOP and every error flag; SR must then read 0. */
static const fixture_chip chip = {
    .name = "stm32l476rg",
    .seed = 11,
    .prog = prog_l4,
    .prog_len = &prog_l4_len,
    .flash_base = FLASH_BASE,
    .flash_size = FLASH_SIZE,
    .erased = 0xFF,
    .sr_addr = SR_ADDR,
    .sr_bsy = SR_BSY,
    .sr_clear = SR_ALL,
    .sr_ignore = 0,
    .sr_idle = 0,
};

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

static void fill_buf(fixture *f, uint32_t *w, unsigned n, uint32_t seed)
{
    for (unsigned i = 0; i < n; i++)
        w[i] = seed * 0x9E3779B1u + i * 0x01010101u;
    assert_int_equal(sim_board_preload(f->b, SRAM_BUF, w, 4 * n), SIM_OK);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_reset_state(void **state)
{
    fixture *f = *state;
    assert_int_equal(rd32(f->b, CR_ADDR), CR_LOCK | CR_OPTLOCK);
    assert_int_equal(sr(f), 0);
    /* factory options: level 0, dual bank, nBOOT1 */
    assert_int_equal(rd32(f->b, OPTR_ADDR), 0xFFEFF8AAu);
    assert_int_equal(rd32(f->b, WRP1AR_ADDR), 0xFF00FFFFu);
    assert_int_equal(rd32(f->b, OPT_IMAGE), 0xFFEFF8AAu);
    assert_int_equal(rd32(f->b, OPT_IMAGE + 4), 0x00100755u);
    check_flash(f);
}

static void test_unlock_program_erase(void **state)
{
    fixture *f = *state;
    assert_int_equal(call(f, OP_UNLOCK, 0, 0, 0), CR_OPTLOCK);
    /* first and last double word of bank 1 pages 3..5 and bank 2 pages 3..4 */
    static const uint32_t pages[] = {FLASH_BASE + 3 * PAGE, FLASH_BASE + 4 * PAGE,
                                     FLASH_BASE + 5 * PAGE, BANK2 + 3 * PAGE, BANK2 + 4 * PAGE};
    for (unsigned i = 0; i < 5; i++) {
        uint32_t a = pages[i];
        /* no EOPIE: a successful program leaves SR at 0 (no EOP) */
        assert_int_equal(call(f, OP_PROG_DW, a, 0x11110000u + i, 0x22220000u + i), 0);
        assert_int_equal(call(f, OP_PROG_DW, a + PAGE - 8, 0x33330000u + i, 0x44440000u + i), 0);
        expect_dw(f, a, 0x11110000u + i, 0x22220000u + i);
        expect_dw(f, a + PAGE - 8, 0x33330000u + i, 0x44440000u + i);
    }
    check_flash(f);
    assert_int_equal(call(f, OP_READ32, BANK2 + 3 * PAGE + 4, 0, 0), 0x22220003u);
    /* bank 1 page 4: its neighbours keep their data */
    assert_int_equal(call(f, OP_ERASE_PAGE, 0, 4, 0), 0);
    memset(f->expect + 4 * PAGE, 0xFF, PAGE);
    check_flash(f);
    /* bank 2 page 3 (BKER=1, PNB=3) is 0x08081800, not bank 1 page 3 */
    assert_int_equal(call(f, OP_ERASE_PAGE, 1, 3, 0), 0);
    memset(f->expect + (BANK2 - FLASH_BASE) + 3 * PAGE, 0xFF, PAGE);
    check_flash(f);
    assert_int_equal(call(f, OP_LOCK, 0, 0, 0) & (CR_LOCK | CR_OPTLOCK), CR_LOCK | CR_OPTLOCK);
}

static void test_eop_and_operr_need_enables(void **state)
{
    fixture *f = *state;
    call(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(call(f, OP_PROG_DW, FLASH_BASE, 1, 2), 0);
    call(f, OP_CR, CR_EOPIE, 0, 0);
    assert_int_equal(call(f, OP_PROG_DW, FLASH_BASE + 8, 3, 4), SR_EOP);
    expect_dw(f, FLASH_BASE, 1, 2);
    expect_dw(f, FLASH_BASE + 8, 3, 4);
    clear_sr(f);
    /* an error without ERRIE: no OPERR; with ERRIE: OPERR */
    assert_int_equal(call(f, OP_STORE8, FLASH_BASE + 16, 0x12, 0), SR_SIZERR);
    clear_sr(f);
    call(f, OP_CR, CR_EOPIE | CR_ERRIE, 0, 0);
    assert_int_equal(call(f, OP_STORE8, FLASH_BASE + 16, 0x12, 0), SR_SIZERR | SR_OPERR);
    check_flash(f);
}

static void test_double_word_twice(void **state)
{
    fixture *f = *state;
    uint32_t a = FLASH_BASE + 0x10000;
    call(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(call(f, OP_PROG_DW, a, 0x12345678u, 0x9ABCDEF0u), 0);
    expect_dw(f, a, 0x12345678u, 0x9ABCDEF0u);
    /* a second program of the same double word, even with only 1 -> 0
     * changes: PROGERR (ECC), content unchanged */
    assert_int_equal(call(f, OP_PROG_DW, a, 0x12345670u, 0x9ABCDEF0u), SR_PROGERR);
    check_flash(f);
    /* the uncleared PROGERR makes the next, valid program fail: PGSERR */
    assert_int_equal(call(f, OP_PROG_DW, a + 8, 1, 1), SR_PROGERR | SR_PGSERR);
    check_flash(f);
    assert_int_equal(call(f, OP_CLEAR_SR, SR_PROGERR | SR_PGSERR, 0, 0), 0);
    assert_int_equal(call(f, OP_PROG_DW, a + 8, 1, 1), 0);
    expect_dw(f, a + 8, 1, 1);
    /* all-zero data is allowed over a programmed double word */
    assert_int_equal(call(f, OP_PROG_DW, a, 0, 0), 0);
    expect_dw(f, a, 0, 0);
    check_flash(f);
}

static void test_wrong_size(void **state)
{
    fixture *f = *state;
    call(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(call(f, OP_STORE8, FLASH_BASE + 0x100, 0x00, 0), SR_SIZERR);
    clear_sr(f);
    assert_int_equal(call(f, OP_STORE16, FLASH_BASE + 0x102, 0x0000, 0), SR_SIZERR);
    check_flash(f);
}

static void test_alignment(void **state)
{
    fixture *f = *state;
    call(f, OP_UNLOCK, 0, 0, 0);
    /* first word not 8-aligned: PGAERR; the next store then meets the
     * uncleared flag: PGSERR */
    assert_int_equal(call(f, OP_DW_PAIR, FLASH_BASE + 0x204, 0, FLASH_BASE + 0x208),
                     SR_PGAERR | SR_PGSERR);
    check_flash(f);
    clear_sr(f);
    /* second word in another double word */
    assert_int_equal(call(f, OP_DW_PAIR, FLASH_BASE + 0x200, 0, FLASH_BASE + 0x208), SR_PGAERR);
    check_flash(f);
}

static void test_sequence_errors(void **state)
{
    fixture *f = *state;
    /* locked: PG cannot be set, a store is a sequence error */
    call(f, OP_CR, CR_PG, 0, 0);
    assert_int_equal(rd32(f->b, CR_ADDR), CR_LOCK | CR_OPTLOCK);
    assert_int_equal(call(f, OP_PROG_DW, FLASH_BASE, 0, 0), SR_PGSERR);
    check_flash(f);
    clear_sr(f);
    /* unlocked but PG clear */
    call(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(call(f, OP_STORE_RAW, FLASH_BASE + 0x300, 0x0, 0), SR_PGSERR);
    clear_sr(f);
    /* PG together with PER */
    call(f, OP_CR, CR_PER, 0, 0);
    assert_int_equal(call(f, OP_PROG_DW, FLASH_BASE + 0x300, 0, 0), SR_PGSERR);
    check_flash(f);
}

static void test_stale_flags_block_next_operation(void **state)
{
    fixture *f = *state;
    preload(f, FLASH_BASE + 7 * PAGE, 64, 0x30);
    assert_int_equal(sim_board_inject(f->b, SIM_FAULT_STALE_FLASH_ERRORS, 0), SIM_OK);
    assert_int_equal(sr(f), SR_PROGERR | SR_PGSERR | SR_PGAERR);
    call(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(call(f, OP_PROG_DW, FLASH_BASE, 5, 6), SR_PROGERR | SR_PGSERR | SR_PGAERR);
    assert_int_equal(call(f, OP_ERASE_PAGE, 0, 7, 0), SR_PROGERR | SR_PGSERR | SR_PGAERR);
    check_flash(f); /* nothing programmed, nothing erased */
    /* a zero write clears nothing; a byte store clears only its lane */
    wr32(f->b, SR_ADDR, 0);
    uint8_t b0 = SR_PGAERR;
    assert_int_equal(sim_board_mem_write(f->b, SR_ADDR, &b0, 1, 1, NULL), SIM_OK);
    assert_int_equal(sr(f), SR_PROGERR | SR_PGSERR);
    clear_sr(f);
    assert_int_equal(call(f, OP_ERASE_PAGE, 0, 7, 0), 0);
    memset(f->expect + 7 * PAGE, 0xFF, PAGE);
    assert_int_equal(call(f, OP_PROG_DW, FLASH_BASE, 5, 6), 0);
    expect_dw(f, FLASH_BASE, 5, 6);
    check_flash(f);
}

static void test_wrong_key_locks_until_reset(void **state)
{
    fixture *f = *state;
    assert_int_equal(sim_board_write32(f->b, KEYR_ADDR, KEY1), SIM_OK);
    assert_int_equal(sim_board_write32(f->b, KEYR_ADDR, KEY1), SIM_E_BUS);
    assert_int_equal(sim_board_write32(f->b, KEYR_ADDR, KEY1), SIM_E_BUS);
    assert_int_equal(rd32(f->b, CR_ADDR), CR_LOCK | CR_OPTLOCK);
    nrst_pulse(f);
    /* from the core: bus error, HardFault, CR stays locked */
    call_no_return(f, OP_KEYS, KEY1, 0x11111111u, 0);
    call_no_return(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(rd32(f->b, CR_ADDR), CR_LOCK | CR_OPTLOCK);
    nrst_pulse(f);
    /* OPTKEYR before KEYR is out of turn */
    call_no_return(f, OP_OPTKEYS, 0x08192A3Bu, 0x4C5D6E7Fu, 0);
    assert_int_equal(rd32(f->b, CR_ADDR), CR_LOCK | CR_OPTLOCK);
    nrst_pulse(f);
    assert_int_equal(call(f, OP_UNLOCK, 0, 0, 0), CR_OPTLOCK);
    /* keys written while unlocked: bus error and locked again */
    call_no_return(f, OP_KEYS, KEY1, KEY2, 0);
    assert_int_equal(rd32(f->b, CR_ADDR), CR_LOCK | CR_OPTLOCK);
    nrst_pulse(f);
    assert_int_equal(call(f, OP_UNLOCK, 0, 0, 0), CR_OPTLOCK);
    assert_int_equal(call(f, OP_PROG_DW, FLASH_BASE + 0x40, 7, 8), 0);
    expect_dw(f, FLASH_BASE + 0x40, 7, 8);
    check_flash(f);
}

static void test_busy_durations(void **state)
{
    fixture *f = *state;
    uint32_t r;
    call(f, OP_UNLOCK, 0, 0, 0);
    call(f, OP_CR, CR_EOPIE, 0, 0);
    /* double word: BSY for 81.69 us from the second store */
    uint64_t t0 = sim_board_now_ns(f->b);
    r = call(f, OP_START_DW, FLASH_BASE + 0x800, 0xAAAA5555u, 0x5555AAAAu);
    uint64_t t1 = sim_board_now_ns(f->b);
    assert_int_equal(r, SR_BSY);
    advance_to(f, t0 + T_DW_NS - 500);
    assert_int_equal(sr(f), SR_BSY);
    advance_to(f, t1 + T_DW_NS + 500);
    assert_int_equal(sr(f), SR_EOP);
    expect_dw(f, FLASH_BASE + 0x800, 0xAAAA5555u, 0x5555AAAAu);
    check_flash(f);
    clear_sr(f);
    call(f, OP_CR, CR_EOPIE, 0, 0); /* PG off */
    /* page erase: 22.02 ms */
    uint64_t dt = timed(f, OP_ERASE_PAGE, 0, 1, 0, &r);
    assert_int_equal(r, SR_EOP);
    assert_true(dt >= T_PAGE_ERASE_NS && dt < T_PAGE_ERASE_NS + SLACK_NS);
    memset(f->expect + PAGE, 0xFF, PAGE);
    check_flash(f);
    clear_sr(f);
    /* bank 2 erase: 22.13 ms; bank 1 keeps its data */
    preload(f, BANK2 + 0x1234 * 8, 64, 0x55);
    dt = timed(f, OP_MASS_ERASE, CR_MER2, 0, 0, &r);
    assert_int_equal(r, SR_EOP);
    assert_true(dt >= T_MASS_ERASE_NS && dt < T_MASS_ERASE_NS + SLACK_NS);
    memset(f->expect + (BANK2 - FLASH_BASE), 0xFF, FLASH_SIZE / 2);
    check_flash(f);
}

static void test_write_during_busy(void **state)
{
    fixture *f = *state;
    uint32_t r;
    call(f, OP_UNLOCK, 0, 0, 0);
    /* the second double word's first store waits for the first program */
    uint64_t dt = timed(f, OP_TWO_DW, FLASH_BASE + 0x900, 0x01010101u, 0x02020202u, &r);
    assert_true(r & (1u << 31)); /* BSY was seen between them */
    assert_int_equal(r & ~(1u << 31), 0);
    assert_true(dt >= 2 * T_DW_NS);
    expect_dw(f, FLASH_BASE + 0x900, 0x01010101u, 0x01010101u);
    expect_dw(f, FLASH_BASE + 0x908, 0x02020202u, 0x02020202u);
    check_flash(f);
    /* a CR write while BSY stalls the bus until the end: the program reads
     * SR right after it and BSY is already gone */
    dt = timed(f, OP_CR_IN_BSY, FLASH_BASE + 0x910, 0x03030303u, 0x04040404u, &r);
    assert_int_equal(r, 0);
    assert_true(dt >= T_DW_NS);
    assert_int_equal(rd32(f->b, CR_ADDR) & CR_PG, 0);
    expect_dw(f, FLASH_BASE + 0x910, 0x03030303u, 0x04040404u);
    check_flash(f);
}

static void test_fast_programming(void **state)
{
    fixture *f = *state;
    uint32_t r, w[64];
    call(f, OP_UNLOCK, 0, 0, 0);
    fill_buf(f, w, 64, 1);
    /* blank from the factory, but not mass-erased: PGSERR */
    assert_int_equal(call(f, OP_FAST_ROW, FLASH_BASE + 0x800, SRAM_BUF, 0) & ~SR_FASTERR,
                     SR_PGSERR);
    check_flash(f);
    clear_sr(f);
    assert_int_equal(call(f, OP_MASS_ERASE, CR_MER1, 0, 0), 0);
    call(f, OP_CR, CR_EOPIE, 0, 0);
    /* one row, 32 double words back to back: 1.91 ms in all */
    uint64_t dt = timed(f, OP_FAST_ROW, FLASH_BASE + 0x800, SRAM_BUF, 0, &r);
    assert_int_equal(r, SR_EOP);
    assert_true(dt >= T_ROW_FAST_NS && dt < T_ROW_FAST_NS + SLACK_NS);
    memcpy(f->expect + 0x800, w, ROW);
    check_flash(f);
    clear_sr(f);
    /* the next row too */
    fill_buf(f, w, 64, 2);
    assert_int_equal(call(f, OP_FAST_ROW, FLASH_BASE + 0x900, SRAM_BUF, 0), SR_EOP);
    memcpy(f->expect + 0x900, w, ROW);
    check_flash(f);
    clear_sr(f);
    /* a pause of more than ~20 us before double word 16: MISERR + FASTERR;
     * the first 16 double words stay written, the rest never arrives */
    fill_buf(f, w, 64, 3);
    r = call(f, OP_FAST_ROW, FLASH_BASE + 0xA00, SRAM_BUF, 200);
    assert_int_equal(r & (SR_MISERR | SR_FASTERR | SR_EOP), SR_MISERR | SR_FASTERR);
    memcpy(f->expect + 0xA00, w, ROW / 2);
    check_flash(f);
    clear_sr(f);
    /* a row that does not start on a row boundary */
    assert_int_equal(call(f, OP_FAST_ROW, FLASH_BASE + 0xB08, SRAM_BUF, 0) &
                         (SR_PGAERR | SR_FASTERR),
                     SR_PGAERR | SR_FASTERR);
    check_flash(f);
    clear_sr(f);
    /* bank 2 was not mass-erased */
    assert_int_equal(call(f, OP_FAST_ROW, BANK2, SRAM_BUF, 0) & ~SR_FASTERR, SR_PGSERR);
    check_flash(f);
}

static void test_program_buffer_across_banks(void **state)
{
    fixture *f = *state;
    uint32_t w[250], r;
    call(f, OP_UNLOCK, 0, 0, 0);
    fill_buf(f, w, 250, 9);
    uint32_t dst = BANK2 - 0x200;
    uint64_t dt = timed(f, OP_WRITE, dst, SRAM_BUF, sizeof w, &r);
    assert_int_equal(r, 0);
    assert_true(dt >= 125 * T_DW_NS);
    memcpy(f->expect + (dst - FLASH_BASE), w, sizeof w);
    check_flash(f);
}

static void test_rdp1_blocks_debugger(void **state)
{
    fixture *f = *state;
    uint32_t r;
    preload(f, FLASH_BASE + 0x100, 256, 1);
    preload(f, BANK2 + 0x100, 256, 2);
    assert_int_equal(sim_board_inject(f->b, SIM_FAULT_RDP1, 0), SIM_OK);
    thumb_load(f->b, prog_l4, prog_l4_len); /* SRAM lost its content */
    assert_int_equal(rd32(f->b, OPTR_ADDR) & 0xFF, 0xBB);
    uint32_t v = 0;
    assert_int_equal(sim_board_mem_read(f->b, FLASH_BASE + 0x100, &v, 4, 4, NULL), SIM_E_BUS);
    /* program and erase refused while the debugger is attached */
    call(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(call(f, OP_PROG_DW, FLASH_BASE + 0x1000, 0, 1), SR_WRPERR);
    clear_sr(f);
    assert_int_equal(call(f, OP_ERASE_PAGE, 0, 0, 0), SR_WRPERR);
    clear_sr(f);
    check_flash(f);
    /* back to level 0: OPTSTRT mass-erases both banks */
    uint64_t dt = timed(f, OP_OPT_PROG, 0xFFEFF8AAu, OFF_OPTR, 0, &r);
    assert_int_equal(r, 0);
    assert_true(dt >= T_MASS_ERASE_NS + T_PAGE_ERASE_NS);
    memset(f->expect, 0xFF, FLASH_SIZE);
    check_flash(f);
    assert_int_equal(rd32(f->b, OPT_IMAGE), 0xFFEFF8AAu);
    assert_int_equal(rd32(f->b, OPT_IMAGE + 4), 0x00100755u);
    /* OBL_LAUNCH loads it (and resets the chip) */
    call_no_return(f, OP_OBL, 0, 0, 0);
    assert_int_equal(rd32(f->b, OPTR_ADDR), 0xFFEFF8AAu);
    assert_int_equal(sim_board_mem_read(f->b, FLASH_BASE + 0x100, &v, 4, 4, NULL), SIM_OK);
    assert_int_equal(v, 0xFFFFFFFFu);
}

static void test_write_protection(void **state)
{
    fixture *f = *state;
    preload(f, FLASH_BASE + 2 * PAGE, 32, 3);
    preload(f, BANK2 + 2 * PAGE, 32, 4);
    /* WRP1A = pages 2..3 of bank 1 */
    assert_int_equal(call(f, OP_OPT_PROG, 0x00030002u, OFF_WRP1AR, 0), 0);
    assert_int_equal(rd32(f->b, WRP1AR_ADDR), 0xFF03FF02u);
    call_no_return(f, OP_OBL, 0, 0, 0);
    assert_int_equal(rd32(f->b, WRP1AR_ADDR), 0xFF03FF02u);
    call(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(call(f, OP_ERASE_PAGE, 0, 2, 0), SR_WRPERR);
    clear_sr(f);
    assert_int_equal(call(f, OP_PROG_DW, FLASH_BASE + 3 * PAGE, 0, 0), SR_WRPERR);
    clear_sr(f);
    /* a bank erase with a protected area inside erases nothing */
    assert_int_equal(call(f, OP_MASS_ERASE, CR_MER1, 0, 0), SR_WRPERR);
    clear_sr(f);
    check_flash(f);
    /* page 4 of bank 1 and page 2 of bank 2 are free */
    assert_int_equal(call(f, OP_PROG_DW, FLASH_BASE + 4 * PAGE, 9, 9), 0);
    expect_dw(f, FLASH_BASE + 4 * PAGE, 9, 9);
    assert_int_equal(call(f, OP_ERASE_PAGE, 1, 2, 0), 0);
    memset(f->expect + (BANK2 - FLASH_BASE) + 2 * PAGE, 0xFF, PAGE);
    check_flash(f);
}

static void test_bad_cell_reports_success(void **state)
{
    fixture *f = *state;
    assert_int_equal(sim_board_inject(f->b, SIM_FAULT_BAD_CELL, FLASH_BASE + 0x2004), SIM_OK);
    call(f, OP_UNLOCK, 0, 0, 0);
    call(f, OP_CR, CR_EOPIE, 0, 0);
    assert_int_equal(call(f, OP_PROG_DW, FLASH_BASE + 0x2000, 0x12121212u, 0x34343434u), SR_EOP);
    expect_dw(f, FLASH_BASE + 0x2000, 0x12121212u, 0xFFFFFFFFu);
    check_flash(f);
}

static void test_reset_during_erase(void **state)
{
    fixture *f = *state;
    preload(f, FLASH_BASE + 9 * PAGE, PAGE, 0x77);
    call(f, OP_UNLOCK, 0, 0, 0);
    /* start a page erase and return at once */
    call(f, OP_CR, CR_PER | (9u << 3) | (1u << 16), 0, 0);
    assert_true(sr(f) & SR_BSY);
    nrst_pulse(f);
    const uint8_t *fl = sim_board_flash(f->b) + 9 * PAGE;
    uint8_t *erased = malloc(PAGE);
    assert_non_null(erased);
    memset(erased, 0xFF, PAGE);
    assert_memory_not_equal(fl, erased, PAGE);
    assert_memory_not_equal(fl, f->expect + 9 * PAGE, PAGE);
    free(erased);
    memcpy(f->expect + 9 * PAGE, fl, PAGE);
    check_flash(f);
    assert_int_equal(rd32(f->b, CR_ADDR), CR_LOCK | CR_OPTLOCK);
}

static void test_otp_programs_once(void **state)
{
    fixture *f = *state;
    call(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(rd32(f->b, OTP_BASE + 0x10), 0xFFFFFFFFu);
    assert_int_equal(call(f, OP_PROG_DW, OTP_BASE + 0x10, 0x4F545031u, 0x00000001u), 0);
    assert_int_equal(rd32(f->b, OTP_BASE + 0x10), 0x4F545031u);
    assert_int_equal(rd32(f->b, OTP_BASE + 0x14), 0x00000001u);
    /* no erase exists for OTP: a second program is PROGERR */
    assert_int_equal(call(f, OP_PROG_DW, OTP_BASE + 0x10, 0x4F545030u, 0), SR_PROGERR);
    assert_int_equal(rd32(f->b, OTP_BASE + 0x10), 0x4F545031u);
    check_flash(f);
}

static void test_corrupt_options_load_as_level1(void **state)
{
    fixture *f = *state;
    /* OPTR double word whose complement does not match */
    const uint32_t bad[2] = {0xFFEFF8AAu, 0xFFFFFFFFu};
    assert_int_equal(sim_board_preload(f->b, OPT_IMAGE, bad, 8), SIM_OK);
    sim_board_power(f->b, false);
    sim_board_power(f->b, true);
    assert_int_equal(sr(f), SR_OPTVERR);
    assert_int_equal(rd32(f->b, OPTR_ADDR) & 0xFF, 0xFF); /* level 1 */
    uint32_t v = 0;
    assert_int_equal(sim_board_mem_read(f->b, FLASH_BASE, &v, 4, 4, NULL), SIM_E_BUS);
    wr32(f->b, SR_ADDR, SR_OPTVERR);
    assert_int_equal(sr(f), 0);
    nrst_pulse(f);
    assert_int_equal(sr(f), SR_OPTVERR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(test_reset_state, &chip),
        FIXTURE_TEST(test_unlock_program_erase, &chip),
        FIXTURE_TEST(test_eop_and_operr_need_enables, &chip),
        FIXTURE_TEST(test_double_word_twice, &chip),
        FIXTURE_TEST(test_wrong_size, &chip),
        FIXTURE_TEST(test_alignment, &chip),
        FIXTURE_TEST(test_sequence_errors, &chip),
        FIXTURE_TEST(test_stale_flags_block_next_operation, &chip),
        FIXTURE_TEST(test_wrong_key_locks_until_reset, &chip),
        FIXTURE_TEST(test_busy_durations, &chip),
        FIXTURE_TEST(test_write_during_busy, &chip),
        FIXTURE_TEST(test_fast_programming, &chip),
        FIXTURE_TEST(test_program_buffer_across_banks, &chip),
        FIXTURE_TEST(test_rdp1_blocks_debugger, &chip),
        FIXTURE_TEST(test_write_protection, &chip),
        FIXTURE_TEST(test_bad_cell_reports_success, &chip),
        FIXTURE_TEST(test_reset_during_erase, &chip),
        FIXTURE_TEST(test_otp_programs_once, &chip),
        FIXTURE_TEST(test_corrupt_options_load_as_level1, &chip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
