/*
 * The STM32L053 NVM model (sim/target/flash_l0.c), driven by real Thumb code
 * (progs/prog_l0.c) on the virtual Cortex-M0+ and by the debugger, as flash
 * loaders and probes drive silicon. Every test checks effects: the whole
 * flash array against a predicted image, FLASH_SR bits, data EEPROM and
 * option bytes, and virtual time against tprog from the STM32L053 datasheet.
 */
#include "flash_fixture.h"

#include <string.h>

extern const unsigned char prog_l0[];
extern const size_t prog_l0_len;

/* progs/prog_l0.c op numbers */
enum {
    OP_SR = 0,
    OP_PEKEYS = 1,
    OP_PRGKEYS = 2,
    OP_OPTKEYS = 3,
    OP_UNLOCK = 4,
    OP_LOCK = 5,
    OP_PECR = 6,
    OP_CLEAR_SR = 7,
    OP_ERASE_PAGE = 8,
    OP_PROG_WORD = 9,
    OP_HALF_PAGE = 10,
    OP_WRITE = 11,
    OP_STORE8 = 12,
    OP_STORE16 = 13,
    OP_TWO_WORDS = 14,
    OP_EE_WRITE = 15,
    OP_OPT_WRITE = 16,
    OP_OBL = 17,
    OP_READ32 = 18,
    OP_START_WORD = 19,
    OP_OPT_OBL = 20,
};

#define FLASH_BASE 0x08000000u
#define FLASH_SIZE (64u * 1024u)
#define PAGE       128u
#define EE_BASE    0x08080000u
#define EE_SIZE    2048u
#define SRAM_BUF   0x20001000u /* after the program, below the stack */

#define REGS         0x40022000u
#define PECR_ADDR    (REGS + 0x04)
#define PEKEYR_ADDR  (REGS + 0x0C)
#define PRGKEYR_ADDR (REGS + 0x10)
#define SR_ADDR      (REGS + 0x18)
#define OPTR_ADDR    (REGS + 0x1C)
#define WRPR_ADDR    (REGS + 0x20)
#define OPT_RDP      0x1FF80000u
#define OPT_USER     0x1FF80004u
#define OPT_WRP1     0x1FF80008u

#define PEKEY1  0x89ABCDEFu
#define PEKEY2  0x02030405u
#define PRGKEY1 0x8C9DAEBFu
#define PRGKEY2 0x13141516u

#define PECR_LOCKS    0x7u
#define PECR_OPTLOCK  0x4u
#define PECR_PROG     (1u << 3)
#define PECR_ERASE    (1u << 9)
#define SR_BSY        (1u << 0)
#define SR_EOP        (1u << 1)
#define SR_READY      (1u << 3)
#define SR_IDLE       0x0Cu /* READY | ENDHV */
#define SR_WRPERR     (1u << 8)
#define SR_PGAERR     (1u << 9)
#define SR_SIZERR     (1u << 10)
#define SR_OPTVERR    (1u << 11)
#define SR_NOTZEROERR (1u << 16)
#define SR_ALL        0x00032F02u /* EOP and every error flag */

/* tprog, STM32L053x6/x8 datasheet "Flash memory and data EEPROM
 * characteristics": 3.2 ms typ for a word, a half page or a page erase. */
#define T_PROG_NS 3200000ull
/* Code, debugger and polling overhead allowed on top of one operation. */
#define SLACK_NS 400000ull

/* Erased L0 flash reads 0x00. clear_sr() writes EOP and every error flag;
 * SR must then read READY | ENDHV. */
static const fixture_chip chip = {
    .name = "stm32l053r8",
    .seed = 7,
    .prog = prog_l0,
    .prog_len = &prog_l0_len,
    .flash_base = FLASH_BASE,
    .flash_size = FLASH_SIZE,
    .erased = 0x00,
    .sr_addr = SR_ADDR,
    .sr_bsy = SR_BSY,
    .sr_clear = SR_ALL,
    .sr_ignore = 0,
    .sr_idle = SR_IDLE,
};

static void fill_buf(fixture *f, uint32_t *w, unsigned n, uint32_t seed)
{
    for (unsigned i = 0; i < n; i++)
        w[i] = seed * 0x9E3779B1u + i * 0x01010101u + 1;
    assert_int_equal(sim_board_preload(f->b, SRAM_BUF, w, 4 * n), SIM_OK);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_reset_state(void **state)
{
    fixture *f = *state;
    assert_int_equal(rd32(f->b, PECR_ADDR), PECR_LOCKS);
    assert_int_equal(sr(f), SR_IDLE);
    /* factory options: level 0, software watchdog, nBOOT1 = 1 */
    assert_int_equal(rd32(f->b, OPTR_ADDR), 0x807000AAu);
    assert_int_equal(rd32(f->b, WRPR_ADDR), 0);
    assert_int_equal(rd32(f->b, OPT_RDP), 0xFF5500AAu);
    assert_int_equal(rd32(f->b, OPT_USER), 0x7F8F8070u);
    check_flash(f);
    assert_int_equal(rd32(f->b, EE_BASE), 0);
}

static void test_unlock_program_erase(void **state)
{
    fixture *f = *state;
    assert_int_equal(call(f, OP_UNLOCK, 0, 0, 0), PECR_OPTLOCK);
    /* one word in each of pages 1..3, first and last word of the page */
    for (uint32_t page = 1; page <= 3; page++) {
        uint32_t a = FLASH_BASE + page * PAGE;
        assert_int_equal(call(f, OP_PROG_WORD, a, 0xA5000000u | page, 0), SR_IDLE | SR_EOP);
        clear_sr(f);
        assert_int_equal(call(f, OP_PROG_WORD, a + PAGE - 4, 0x5A000000u | page, 0),
                         SR_IDLE | SR_EOP);
        clear_sr(f);
        expect_word(f, a, 0xA5000000u | page);
        expect_word(f, a + PAGE - 4, 0x5A000000u | page);
    }
    check_flash(f);
    /* CPU reads see the programmed word */
    assert_int_equal(call(f, OP_READ32, FLASH_BASE + PAGE, 0, 0), 0xA5000001u);
    /* page erase: ERASE+PROG, store into the page (not its first word) */
    assert_int_equal(call(f, OP_ERASE_PAGE, FLASH_BASE + 2 * PAGE + 0x40, 0, 0), SR_IDLE | SR_EOP);
    memset(f->expect + 2 * PAGE, 0, PAGE);
    check_flash(f); /* pages 1 and 3 untouched */
    assert_int_equal(call(f, OP_LOCK, 0, 0, 0), PECR_LOCKS);
}

static void test_half_page(void **state)
{
    fixture *f = *state;
    uint32_t w[16];
    call(f, OP_UNLOCK, 0, 0, 0);
    /* incrementing addresses (OpenOCD, st-flash loaders) */
    fill_buf(f, w, 16, 1);
    uint64_t t0 = sim_board_now_ns(f->b);
    assert_int_equal(call(f, OP_HALF_PAGE, FLASH_BASE + 0x400, SRAM_BUF, 0), SR_IDLE | SR_EOP);
    uint64_t dt = sim_board_now_ns(f->b) - t0;
    /* the 16 words cost one tprog, not sixteen */
    assert_true(dt >= T_PROG_NS);
    assert_true(dt < T_PROG_NS + SLACK_NS);
    for (unsigned i = 0; i < 16; i++)
        expect_word(f, FLASH_BASE + 0x400 + 4 * i, w[i]);
    check_flash(f);
    clear_sr(f);
    /* all 16 stores to the first address, as HAL_FLASHEx_HalfPageProgram */
    fill_buf(f, w, 16, 2);
    assert_int_equal(call(f, OP_HALF_PAGE, FLASH_BASE + 0x440, SRAM_BUF, 1), SR_IDLE | SR_EOP);
    for (unsigned i = 0; i < 16; i++)
        expect_word(f, FLASH_BASE + 0x440 + 4 * i, w[i]);
    check_flash(f);
}

static void test_program_buffer(void **state)
{
    fixture *f = *state;
    uint32_t w[75]; /* 300 bytes starting mid half page */
    call(f, OP_UNLOCK, 0, 0, 0);
    fill_buf(f, w, 75, 3);
    uint32_t dst = FLASH_BASE + 0x824;
    assert_int_equal(call(f, OP_WRITE, dst, SRAM_BUF, sizeof w) & ~SR_EOP, SR_IDLE);
    for (unsigned i = 0; i < 75; i++)
        expect_word(f, dst + 4 * i, w[i]);
    check_flash(f);
}

static void test_reprogram_not_erased(void **state)
{
    fixture *f = *state;
    uint32_t a = FLASH_BASE + 0x1000;
    call(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(call(f, OP_PROG_WORD, a, 0x0000FF00u, 0), SR_IDLE | SR_EOP);
    clear_sr(f);
    expect_word(f, a, 0x0000FF00u);
    /* a second program without erase: NOTZEROERR, dropped, no EOP */
    assert_int_equal(call(f, OP_PROG_WORD, a, 0x00FF0000u, 0), SR_IDLE | SR_NOTZEROERR);
    check_flash(f);
    /* even writing zeros over it is refused */
    assert_int_equal(call(f, OP_PROG_WORD, a, 0, 0), SR_IDLE | SR_NOTZEROERR);
    check_flash(f);
    /* the flag latches until cleared with a 1 */
    wr32(f->b, SR_ADDR, 0);
    assert_int_equal(sr(f), SR_IDLE | SR_NOTZEROERR);
    assert_int_equal(call(f, OP_CLEAR_SR, SR_NOTZEROERR, 0, 0), SR_IDLE);
    /* a half page over a partly programmed one: nothing of it is written */
    uint32_t w[16];
    fill_buf(f, w, 16, 4);
    assert_int_equal(call(f, OP_HALF_PAGE, FLASH_BASE + 0x1000, SRAM_BUF, 0),
                     SR_IDLE | SR_NOTZEROERR);
    check_flash(f);
    clear_sr(f);
    /* after an erase the same word takes a program */
    call(f, OP_ERASE_PAGE, a, 0, 0);
    clear_sr(f);
    assert_int_equal(call(f, OP_PROG_WORD, a, 0x00FF0000u, 0), SR_IDLE | SR_EOP);
    expect_word(f, a, 0x00FF0000u);
    check_flash(f);
}

static void test_wrong_size(void **state)
{
    fixture *f = *state;
    call(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(call(f, OP_STORE8, FLASH_BASE + 0x200, 0x5A, 0), SR_IDLE | SR_SIZERR);
    clear_sr(f);
    assert_int_equal(call(f, OP_STORE16, FLASH_BASE + 0x202, 0x5A5A, 0), SR_IDLE | SR_SIZERR);
    check_flash(f);
    /* the debugger's byte writes get the same answer */
    uint8_t one = 0x77;
    clear_sr(f);
    assert_int_equal(sim_board_mem_write(f->b, FLASH_BASE + 0x204, &one, 1, 1, NULL), SIM_OK);
    assert_int_equal(sr(f), SR_IDLE | SR_SIZERR);
    check_flash(f);
}

static void test_half_page_alignment(void **state)
{
    fixture *f = *state;
    uint32_t w[16];
    call(f, OP_UNLOCK, 0, 0, 0);
    fill_buf(f, w, 16, 5);
    /* first word not 64-byte aligned */
    assert_int_equal(call(f, OP_HALF_PAGE, FLASH_BASE + 0x604, SRAM_BUF, 0) & ~SR_EOP,
                     SR_IDLE | SR_PGAERR);
    check_flash(f);
    clear_sr(f);
    /* 9th word outside the half page: the whole half page is abandoned */
    assert_int_equal(call(f, OP_HALF_PAGE, FLASH_BASE + 0x640, SRAM_BUF, 2) & ~SR_EOP,
                     SR_IDLE | SR_PGAERR);
    check_flash(f);
}

static void test_locked_refuses(void **state)
{
    fixture *f = *state;
    /* everything locked */
    assert_int_equal(call(f, OP_PROG_WORD, FLASH_BASE + 0x300, 0x11111111u, 0),
                     SR_IDLE | SR_WRPERR);
    clear_sr(f);
    /* PECR unlocked but program memory still locked: WRPERR */
    assert_int_equal(call(f, OP_PEKEYS, PEKEY1, PEKEY2, 0), PECR_LOCKS & ~1u);
    assert_int_equal(call(f, OP_PROG_WORD, FLASH_BASE + 0x300, 0x11111111u, 0),
                     SR_IDLE | SR_WRPERR);
    check_flash(f);
    clear_sr(f);
    /* ... and page erase too, even with ERASE+PROG selected */
    f->expect[0x380] = 0x42;
    preload_expect(f, FLASH_BASE + 0x380, 1);
    assert_int_equal(call(f, OP_ERASE_PAGE, FLASH_BASE + 0x380, 0, 0), SR_IDLE | SR_WRPERR);
    check_flash(f);
    clear_sr(f);
    /* while data EEPROM only needs PELOCK clear */
    assert_int_equal(call(f, OP_EE_WRITE, EE_BASE + 8, 0xCAFEF00Du, 4), SR_IDLE | SR_EOP);
    assert_int_equal(rd32(f->b, EE_BASE + 8), 0xCAFEF00Du);
    /* setting PELOCK (read-modify-write, as OpenOCD and st-flash do) clears
     * the operation bits and locks everything */
    wr32(f->b, PECR_ADDR, PECR_ERASE | PECR_PROG);
    assert_int_equal(rd32(f->b, PECR_ADDR), PECR_ERASE | PECR_PROG | 0x6u);
    wr32(f->b, PECR_ADDR, PECR_ERASE | PECR_PROG | PECR_LOCKS);
    assert_int_equal(rd32(f->b, PECR_ADDR), PECR_LOCKS);
    /* writing zeros does not unlock */
    wr32(f->b, PECR_ADDR, 0);
    assert_int_equal(rd32(f->b, PECR_ADDR), PECR_LOCKS);
}

static void test_wrong_key_locks_until_reset(void **state)
{
    fixture *f = *state;
    /* the debugger's wrong key is answered with a bus error ... */
    assert_int_equal(sim_board_write32(f->b, PEKEYR_ADDR, PEKEY1), SIM_OK);
    assert_int_equal(sim_board_write32(f->b, PEKEYR_ADDR, 0x12345678u), SIM_E_BUS);
    /* ... and from then on even the right keys are */
    assert_int_equal(sim_board_write32(f->b, PEKEYR_ADDR, PEKEY1), SIM_E_BUS);
    assert_int_equal(rd32(f->b, PECR_ADDR), PECR_LOCKS);
    nrst_pulse(f);
    /* the core's wrong key faults the core (bus error -> HardFault) */
    call_no_return(f, OP_PEKEYS, 0xDEADBEEFu, PEKEY2, 0);
    assert_int_equal(rd32(f->b, PECR_ADDR), PECR_LOCKS);
    call_no_return(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(rd32(f->b, PECR_ADDR), PECR_LOCKS);
    nrst_pulse(f);
    /* PRGKEYR before PECR is unlocked is out of turn */
    call_no_return(f, OP_PRGKEYS, PRGKEY1, PRGKEY2, 0);
    assert_int_equal(rd32(f->b, PECR_ADDR), PECR_LOCKS);
    nrst_pulse(f);
    /* after reset the sequence works */
    assert_int_equal(call(f, OP_UNLOCK, 0, 0, 0), PECR_OPTLOCK);
    /* a third write to PEKEYR once unlocked is a bus error and relocks */
    call_no_return(f, OP_PEKEYS, PEKEY1, PEKEY2, 0);
    assert_int_equal(rd32(f->b, PECR_ADDR), PECR_LOCKS);
    nrst_pulse(f);
    assert_int_equal(call(f, OP_UNLOCK, 0, 0, 0), PECR_OPTLOCK);
    assert_int_equal(call(f, OP_PROG_WORD, FLASH_BASE, 0x01020304u, 0), SR_IDLE | SR_EOP);
    expect_word(f, FLASH_BASE, 0x01020304u);
    check_flash(f);
}

static void test_busy_duration(void **state)
{
    fixture *f = *state;
    call(f, OP_UNLOCK, 0, 0, 0);
    /* word program: BSY for tprog from the store on */
    uint64_t t0 = sim_board_now_ns(f->b);
    uint32_t r = call(f, OP_START_WORD, FLASH_BASE + 0x2000, 0x0BADCAFEu, 0);
    uint64_t t1 = sim_board_now_ns(f->b);
    assert_int_equal(r, SR_READY | SR_BSY); /* ENDHV low: high voltage on */
    advance_to(f, t0 + T_PROG_NS - 1000);
    assert_int_equal(sr(f) & (SR_BSY | SR_EOP), SR_BSY);
    advance_to(f, t1 + T_PROG_NS + 1000);
    assert_int_equal(sr(f), SR_IDLE | SR_EOP);
    expect_word(f, FLASH_BASE + 0x2000, 0x0BADCAFEu);
    check_flash(f);
    clear_sr(f);
    /* page erase: one tprog */
    t0 = sim_board_now_ns(f->b);
    call(f, OP_ERASE_PAGE, FLASH_BASE + 0x2000, 0, 0);
    uint64_t dt = sim_board_now_ns(f->b) - t0;
    assert_true(dt >= T_PROG_NS && dt < T_PROG_NS + SLACK_NS);
    memset(f->expect + 0x2000, 0, 4);
    check_flash(f);
    /* sixteen single words take sixteen tprog */
    uint32_t w[16];
    fill_buf(f, w, 16, 6);
    t0 = sim_board_now_ns(f->b);
    call(f, OP_WRITE, FLASH_BASE + 0x2004, SRAM_BUF, sizeof w);
    dt = sim_board_now_ns(f->b) - t0;
    assert_true(dt >= 16 * T_PROG_NS && dt < 16 * T_PROG_NS + SLACK_NS);
    for (unsigned i = 0; i < 16; i++)
        expect_word(f, FLASH_BASE + 0x2004 + 4 * i, w[i]);
    check_flash(f);
}

static void test_write_during_busy(void **state)
{
    fixture *f = *state;
    call(f, OP_UNLOCK, 0, 0, 0);
    /* the core's second store waits on the bus for the first program */
    uint64_t t0 = sim_board_now_ns(f->b);
    uint32_t r = call(f, OP_TWO_WORDS, FLASH_BASE + 0x3000, 0x11112222u, 0x33334444u);
    uint64_t dt = sim_board_now_ns(f->b) - t0;
    assert_true(r & (1u << 31)); /* BSY was seen between the stores */
    assert_int_equal(r & ~(1u << 31), SR_IDLE | SR_EOP);
    assert_true(dt >= 2 * T_PROG_NS && dt < 2 * T_PROG_NS + SLACK_NS);
    expect_word(f, FLASH_BASE + 0x3000, 0x11112222u);
    expect_word(f, FLASH_BASE + 0x3004, 0x33334444u);
    check_flash(f);
    /* a debugger store into the busy array stalls the same way */
    clear_sr(f);
    t0 = sim_board_now_ns(f->b);
    call(f, OP_START_WORD, FLASH_BASE + 0x3008, 0x55556666u, 0);
    wr32(f->b, FLASH_BASE + 0x300C, 0x77778888u);
    assert_true(sim_board_now_ns(f->b) - t0 >= T_PROG_NS);
    assert_true(sr(f) & SR_BSY); /* the second program has started */
    advance_to(f, sim_board_now_ns(f->b) + T_PROG_NS);
    assert_int_equal(sr(f), SR_IDLE | SR_EOP);
    expect_word(f, FLASH_BASE + 0x3008, 0x55556666u);
    expect_word(f, FLASH_BASE + 0x300C, 0x77778888u);
    check_flash(f);
}

static void test_error_flags_latch(void **state)
{
    fixture *f = *state;
    assert_int_equal(sim_board_inject(f->b, SIM_FAULT_STALE_FLASH_ERRORS, 0), SIM_OK);
    assert_int_equal(sr(f), SR_IDLE | SR_PGAERR | SR_SIZERR);
    /* an operation does not clear them */
    call(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(call(f, OP_PROG_WORD, FLASH_BASE + 0x40, 0x1234u, 0),
                     SR_IDLE | SR_EOP | SR_PGAERR | SR_SIZERR);
    expect_word(f, FLASH_BASE + 0x40, 0x1234u);
    check_flash(f);
    /* writing zeros clears nothing */
    wr32(f->b, SR_ADDR, 0);
    assert_int_equal(sr(f) & (SR_PGAERR | SR_SIZERR), SR_PGAERR | SR_SIZERR);
    /* a byte store into SR's second byte clears only the 1s it carries:
     * 0x04 in byte 1 is SIZERR (bit 10) */
    uint8_t b1 = 0x04;
    assert_int_equal(sim_board_mem_write(f->b, SR_ADDR + 1, &b1, 1, 1, NULL), SIM_OK);
    assert_int_equal(sr(f), SR_IDLE | SR_EOP | SR_PGAERR);
    assert_int_equal(call(f, OP_CLEAR_SR, SR_PGAERR | SR_EOP, 0, 0), SR_IDLE);
}

static void test_data_eeprom(void **state)
{
    fixture *f = *state;
    /* locked: WRPERR, nothing written */
    wr32(f->b, EE_BASE, 0x12345678u);
    assert_int_equal(sr(f), SR_IDLE | SR_WRPERR);
    assert_int_equal(rd32(f->b, EE_BASE), 0);
    clear_sr(f);
    /* a byte into a zero word: one tprog */
    uint64_t t0 = sim_board_now_ns(f->b);
    assert_int_equal(call(f, OP_EE_WRITE, EE_BASE + 1, 0x5A, 1), SR_IDLE | SR_EOP);
    uint64_t dt = sim_board_now_ns(f->b) - t0;
    assert_true(dt >= T_PROG_NS && dt < T_PROG_NS + SLACK_NS);
    assert_int_equal(rd32(f->b, EE_BASE), 0x00005A00u);
    clear_sr(f);
    /* a word over a non-zero word just replaces it (erase + program) */
    t0 = sim_board_now_ns(f->b);
    assert_int_equal(call(f, OP_EE_WRITE, EE_BASE, 0x11223344u, 4), SR_IDLE | SR_EOP);
    dt = sim_board_now_ns(f->b) - t0;
    assert_true(dt >= 2 * T_PROG_NS && dt < 2 * T_PROG_NS + SLACK_NS);
    assert_int_equal(rd32(f->b, EE_BASE), 0x11223344u);
    clear_sr(f);
    assert_int_equal(call(f, OP_EE_WRITE, EE_BASE + 2, 0xBEEF, 2), SR_IDLE | SR_EOP);
    assert_int_equal(rd32(f->b, EE_BASE), 0xBEEF3344u);
    /* program memory untouched by all this */
    check_flash(f);
}

static void test_rdp1_blocks_debugger(void **state)
{
    fixture *f = *state;
    for (unsigned i = 0; i < 256; i++)
        f->expect[0x100 + i] = (uint8_t)(i + 1);
    preload_expect(f, FLASH_BASE + 0x100, 256);
    const uint32_t ee = 0xA1B2C3D4u;
    assert_int_equal(sim_board_preload(f->b, EE_BASE + 16, &ee, 4), SIM_OK);
    /* the fault writes level 1 and powers the board up with it */
    assert_int_equal(sim_board_inject(f->b, SIM_FAULT_RDP1, 0), SIM_OK);
    thumb_load(f->b, prog_l0, prog_l0_len); /* SRAM lost its content */
    assert_int_equal(rd32(f->b, OPTR_ADDR) & 0xFF, 0xBB);
    uint32_t v = 0;
    assert_int_equal(sim_board_mem_read(f->b, FLASH_BASE + 0x100, &v, 4, 4, NULL), SIM_E_BUS);
    /* with the debugger attached, program and EEPROM writes are refused */
    call(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(call(f, OP_PROG_WORD, FLASH_BASE + 0x800, 0x1u, 0), SR_IDLE | SR_WRPERR);
    clear_sr(f);
    assert_int_equal(call(f, OP_EE_WRITE, EE_BASE, 0x1u, 4), SR_IDLE | SR_WRPERR);
    check_flash(f);
    clear_sr(f);
    /* back to level 0: the option write mass-erases flash and EEPROM */
    assert_int_equal(call(f, OP_OPT_WRITE, OPT_RDP, 0xFF5500AAu, 0) & ~SR_EOP, SR_IDLE);
    memset(f->expect, 0, FLASH_SIZE);
    check_flash(f);
    assert_int_equal(rd32(f->b, OPT_RDP), 0xFF5500AAu);
    assert_int_equal(rd32(f->b, OPTR_ADDR) & 0xFF, 0xBB); /* not loaded yet */
    /* OBL_LAUNCH reloads the options and resets the chip */
    call_no_return(f, OP_OBL, 0, 0, 0);
    assert_int_equal(rd32(f->b, OPTR_ADDR) & 0xFF, 0xAA);
    assert_int_equal(sim_board_mem_read(f->b, FLASH_BASE + 0x100, &v, 4, 4, NULL), SIM_OK);
    assert_int_equal(v, 0);
    assert_int_equal(rd32(f->b, EE_BASE + 16), 0);
}

static void test_write_protection(void **state)
{
    fixture *f = *state;
    /* protect sector 1 (0x08001000-0x08001FFF) */
    assert_int_equal(call(f, OP_OPT_WRITE, OPT_WRP1, 0xFFFD0002u, 0) & ~SR_EOP, SR_IDLE);
    assert_int_equal(rd32(f->b, WRPR_ADDR), 0); /* in force after the load */
    call_no_return(f, OP_OBL, 0, 0, 0);
    assert_int_equal(rd32(f->b, WRPR_ADDR), 2);
    thumb_load(f->b, prog_l0, prog_l0_len);
    call(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(call(f, OP_PROG_WORD, FLASH_BASE + 0x1000, 0x1u, 0), SR_IDLE | SR_WRPERR);
    clear_sr(f);
    assert_int_equal(call(f, OP_PROG_WORD, FLASH_BASE + 0x1FFC, 0x1u, 0), SR_IDLE | SR_WRPERR);
    clear_sr(f);
    uint32_t w[16];
    fill_buf(f, w, 16, 7);
    assert_int_equal(call(f, OP_HALF_PAGE, FLASH_BASE + 0x1040, SRAM_BUF, 0), SR_IDLE | SR_WRPERR);
    check_flash(f);
    clear_sr(f);
    /* neighbours are free */
    assert_int_equal(call(f, OP_PROG_WORD, FLASH_BASE + 0x0FFC, 0x2u, 0), SR_IDLE | SR_EOP);
    clear_sr(f);
    assert_int_equal(call(f, OP_PROG_WORD, FLASH_BASE + 0x2000, 0x3u, 0), SR_IDLE | SR_EOP);
    expect_word(f, FLASH_BASE + 0x0FFC, 0x2u);
    expect_word(f, FLASH_BASE + 0x2000, 0x3u);
    check_flash(f);
}

static void test_bad_cell_reports_success(void **state)
{
    fixture *f = *state;
    assert_int_equal(sim_board_inject(f->b, SIM_FAULT_BAD_CELL, FLASH_BASE + 0x504), SIM_OK);
    call(f, OP_UNLOCK, 0, 0, 0);
    uint32_t w[16];
    fill_buf(f, w, 16, 8);
    /* the controller reports success; only a verify sees the missing word */
    assert_int_equal(call(f, OP_HALF_PAGE, FLASH_BASE + 0x500, SRAM_BUF, 0), SR_IDLE | SR_EOP);
    for (unsigned i = 0; i < 16; i++)
        if (i != 1)
            expect_word(f, FLASH_BASE + 0x500 + 4 * i, w[i]);
    check_flash(f);
}

static void test_reset_during_erase(void **state)
{
    fixture *f = *state;
    memset(f->expect + 0x700, 0xC3, PAGE);
    preload_expect(f, FLASH_BASE + 0x700, PAGE);
    call(f, OP_UNLOCK, 0, 0, 0);
    call(f, OP_PECR, PECR_ERASE | PECR_PROG, 0, 0);
    assert_true(call(f, OP_START_WORD, FLASH_BASE + 0x700, 0, 0) & SR_BSY);
    /* NRST in the middle of the erase: the page is neither old nor erased */
    nrst_pulse(f);
    const uint8_t *fl = sim_board_flash(f->b) + 0x700;
    static const uint8_t zero[PAGE];
    assert_memory_not_equal(fl, zero, PAGE);
    assert_memory_not_equal(fl, f->expect + 0x700, PAGE);
    /* the rest of the array is untouched */
    memcpy(f->expect + 0x700, fl, PAGE);
    check_flash(f);
    assert_int_equal(rd32(f->b, PECR_ADDR), PECR_LOCKS);
}

static void test_corrupt_options_load_as_level1(void **state)
{
    fixture *f = *state;
    /* an RDP word whose complement does not match (here: erased to 0) */
    const uint32_t erased = 0;
    assert_int_equal(sim_board_preload(f->b, OPT_RDP, &erased, 4), SIM_OK);
    assert_int_equal(rd32(f->b, OPTR_ADDR) & 0xFF, 0xAA); /* loads at power-on only */
    sim_board_power(f->b, false);
    sim_board_power(f->b, true);
    assert_int_equal(sr(f), SR_IDLE | SR_OPTVERR);
    assert_int_equal(rd32(f->b, OPTR_ADDR) & 0xFF, 0x00); /* level 1 */
    uint32_t v = 0;
    assert_int_equal(sim_board_mem_read(f->b, FLASH_BASE, &v, 4, 4, NULL), SIM_E_BUS);
    /* OPTVERR clears, and comes back with every reset while it stays bad */
    wr32(f->b, SR_ADDR, SR_OPTVERR);
    assert_int_equal(sr(f), SR_IDLE);
    nrst_pulse(f);
    assert_int_equal(sr(f), SR_IDLE | SR_OPTVERR);
}

/* OpenOCD's "stm32lx mass_erase": RDP level 1 (0xFFFF0000) and OBL_LAUNCH
 * without waiting, then level 0 (0xFF5500AA) and OBL_LAUNCH. */
static void test_openocd_style_mass_erase(void **state)
{
    fixture *f = *state;
    for (unsigned i = 0; i < FLASH_SIZE; i += 4096)
        f->expect[i + 8] = (uint8_t)(i >> 12 | 0x80);
    preload_expect(f, FLASH_BASE, FLASH_SIZE);
    const uint32_t ee = 0x600DF00Du;
    assert_int_equal(sim_board_preload(f->b, EE_BASE + EE_SIZE - 4, &ee, 4), SIM_OK);
    /* the PECR write waits for the option write: the reset loads level 1 */
    uint64_t t0 = sim_board_now_ns(f->b);
    call_no_return(f, OP_OPT_OBL, OPT_RDP, 0xFFFF0000u, 0);
    assert_true(sim_board_now_ns(f->b) - t0 >= 2 * T_PROG_NS);
    assert_int_equal(rd32(f->b, OPTR_ADDR) & 0xFF, 0x00);
    check_flash(f); /* level 1 alone erases nothing */
    call_no_return(f, OP_OPT_OBL, OPT_RDP, 0xFF5500AAu, 0);
    assert_int_equal(rd32(f->b, OPTR_ADDR) & 0xFF, 0xAA);
    memset(f->expect, 0, FLASH_SIZE);
    check_flash(f);
    assert_int_equal(rd32(f->b, EE_BASE + EE_SIZE - 4), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(test_reset_state, &chip),
        FIXTURE_TEST(test_unlock_program_erase, &chip),
        FIXTURE_TEST(test_half_page, &chip),
        FIXTURE_TEST(test_program_buffer, &chip),
        FIXTURE_TEST(test_reprogram_not_erased, &chip),
        FIXTURE_TEST(test_wrong_size, &chip),
        FIXTURE_TEST(test_half_page_alignment, &chip),
        FIXTURE_TEST(test_locked_refuses, &chip),
        FIXTURE_TEST(test_wrong_key_locks_until_reset, &chip),
        FIXTURE_TEST(test_busy_duration, &chip),
        FIXTURE_TEST(test_write_during_busy, &chip),
        FIXTURE_TEST(test_error_flags_latch, &chip),
        FIXTURE_TEST(test_data_eeprom, &chip),
        FIXTURE_TEST(test_rdp1_blocks_debugger, &chip),
        FIXTURE_TEST(test_write_protection, &chip),
        FIXTURE_TEST(test_bad_cell_reports_success, &chip),
        FIXTURE_TEST(test_reset_during_erase, &chip),
        FIXTURE_TEST(test_corrupt_options_load_as_level1, &chip),
        FIXTURE_TEST(test_openocd_style_mass_erase, &chip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
