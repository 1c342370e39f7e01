/*
 * The STM32H5 embedded flash (sim/target/flash_h5.c) on the stm32h563zi and
 * stm32h503rb rows, driven by real Thumb code running from SRAM
 * (progs/prog_h5.c) and by the debugger. Expectations are written here from
 * RM0481 section 7, the ST SVD register descriptions and the figures of
 * docs/reference/stm32-h5-sim.md, never read from the model:
 *  - identity: DBGMCU_IDCODE at 0x44024000 (DEV_ID 0x484 / 0x474), CPUID
 *    0x410FD214, SW-DP 0x0BE12477, flash size at 0x08FFF80C, the core
 *    boots from 0x08000000 (NSBOOTADD);
 *  - the reset clock is HSI 64 MHz / HSIDIV 2 = 32 MHz with FLASH_ACR
 *    0x13; LATENCY 0 at 32 MHz (above 20 MHz at VOS3) garbles flash reads,
 *    LATENCY 1 is right; HSIDIV /1 gives 64 MHz;
 *  - NSKEYR (0x04) 0x45670123 / 0xCDEF89AB clears NSCR.LOCK (b0); a wrong
 *    key is a bus error and NSCR stays locked until reset;
 *  - a quad-word (4 x 32-bit stores) programs when complete: EOP, BSY for
 *    50 us; NSCCR clears EOP; the same quad-word again: FLASH_ECCDETR.ECCD
 *    with ADDR_ECC = its index in the bank, cells unchanged; writing ECCD
 *    clears it;
 *  - a partial quad-word waits in the buffer (WBNE) until FW programs it,
 *    the missing bytes reading 0xFF;
 *  - INCERR (another quad-word), STRBERR (a byte twice), PGSERR (no PG),
 *    each programming nothing; an error left set refuses the next
 *    quad-word with PGSERR; NSCCR clears them;
 *  - SER + SNB + STRT erases an 8 KiB sector of the bank BKSEL names in 2
 *    ms; BER + BKSEL the bank (128 x 2 ms), the other bank untouched; MER
 *    both banks;
 *  - OPTSR_CUR (0x50) PRODUCT_STATE 0xED (Open), OPTSR2_CUR (0x70) TZEN
 *    0xC3; a regression (0x9A) is OPTCHANGEERR (b23) and nothing changes,
 *    OPTSTART is refused until NSCCR clears it; Closed (0x72) refuses the
 *    debugger's flash reads;
 *  - SWAP_BANK set in OPTSR_PRG takes effect at the next reset: OPTCR b31,
 *    and bank 2's contents at 0x08000000; BKSEL still names the physical
 *    bank;
 *  - the timing oracle answers 16-byte quad-words at 50 us, 2 ms sectors,
 *    256 ms for a 1 MiB bank;
 *  - H503: 128 KiB, 8 sectors a bank: sector 7 of bank 2 at 0x0801E000,
 *    SNB 8 is PGSERR.
 */
#include "flash_fixture.h"

#include <stdlib.h>
#include <string.h>

extern const unsigned char prog_h5[];
extern const size_t prog_h5_len;

enum {
    OP_READ = 0,
    OP_WRITE = 1,
    OP_UNLOCK = 2,
    OP_ERASE = 3,
    OP_PROG_QW = 4,
    OP_STORE = 5,
    OP_FORCE = 6,
    OP_OPTIONS = 7,
};

#define US    1000ull
#define MS    1000000ull
#define FLASH 0x08000000u
#define BANK2 0x08100000u
#define KIB   1024u

#define REGS       0x40022000u
#define ACR        (REGS + 0x00)
#define OPTKEYR    (REGS + 0x0C)
#define OPTCR      (REGS + 0x1C)
#define NSSR       (REGS + 0x20)
#define NSCR       (REGS + 0x28)
#define NSCCR      (REGS + 0x30)
#define OPTSR_CUR  (REGS + 0x50)
#define OPTSR2_CUR (REGS + 0x70)
#define ECCDETR    (REGS + 0x104)
#define RCC_CR     0x44020C00u

#define KEY1    0x45670123u
#define KEY2    0xCDEF89ABu
#define OPTKEY1 0x08192A3Bu
#define OPTKEY2 0x4C5D6E7Fu

#define SR_BSY          (1u << 0)
#define SR_WBNE         (1u << 1)
#define SR_EOP          (1u << 16)
#define SR_WRPERR       (1u << 17)
#define SR_PGSERR       (1u << 18)
#define SR_STRBERR      (1u << 19)
#define SR_INCERR       (1u << 20)
#define SR_OPTCHANGEERR (1u << 23)
#define SR_ERRORS       0x00FE0000u
#define CR_LOCK         (1u << 0)
#define CR_PG           (1u << 1)
#define CR_SER          (1u << 2)
#define CR_BER          (1u << 3)
#define CR_MER          (1u << 15)
#define CR_BKSEL        (1u << 31)
#define SNB(n)          ((uint32_t)(n) << 6)
#define ECCD            (1u << 31)

static const fixture_chip h563 = {
    .name = "stm32h563zi",
    .seed = 15,
    .prog = prog_h5,
    .prog_len = &prog_h5_len,
    .flash_base = FLASH,
    .flash_size = 2048 * KIB,
    .erased = 0xFF,
    .sr_addr = NSSR,
    .sr_bsy = SR_BSY,
};

static const fixture_chip h503 = {
    .name = "stm32h503rb",
    .seed = 16,
    .prog = prog_h5,
    .prog_len = &prog_h5_len,
    .flash_base = FLASH,
    .flash_size = 128 * KIB,
    .erased = 0xFF,
    .sr_addr = NSSR,
    .sr_bsy = SR_BSY,
};

static void clear(fixture *f)
{
    wr32(f->b, NSCCR, 0x00FF0000u);
    assert_int_equal(rd32(f->b, NSSR) & (SR_ERRORS | SR_EOP), 0);
}

static void unlock(fixture *f)
{
    assert_int_equal(call(f, OP_UNLOCK, KEY1, KEY2, 0) & CR_LOCK, 0);
}

static uint32_t wait_idle(fixture *f)
{
    for (int i = 0; i < 100000 && (rd32(f->b, NSSR) & SR_BSY); i++)
        assert_int_equal(sim_board_advance(f->b, 1 * MS), SIM_OK);
    return rd32(f->b, NSSR);
}

static void expect_qw(fixture *f, uint32_t addr, uint32_t b)
{
    for (uint32_t i = 0; i < 4; i++)
        expect_word(f, addr + 4 * i, b + i);
}

static void fill_expect(fixture *f, uint32_t addr, uint32_t len)
{
    uint8_t *p = f->expect + (addr - FLASH);
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 7 + 3 + (i >> 20));
    preload_expect(f, addr, len);
}

/* ---- identity, clock ----------------------------------------------------- */

static void identity_and_boot(void **state)
{
    fixture *f = *state;
    assert_int_equal(rd32(f->b, 0x44024000u) & 0xFFFu, 0x484);
    assert_int_equal(rd32(f->b, 0xE000ED00u), 0x410FD214u);
    assert_int_equal(rd32(f->b, 0x08FFF80Cu) & 0xFFFFu, 2048);
    assert_int_equal(sim_board_dp_idcode(f->b), 0x0BE12477u);
    wr32(f->b, 0x2009FFF0u, 0x12345678u); /* SRAM3's last words: 640 KiB */
    assert_int_equal(rd32(f->b, 0x2009FFF0u), 0x12345678u);
    const uint32_t vt[2] = {0x20001000u, 0x08000101u};
    assert_int_equal(sim_board_preload(f->b, FLASH, vt, 8), SIM_OK);
    wr32(f->b, DHCSR_ADDR, DHCSR_KEY | DHCSR_C_DEBUGEN | DHCSR_C_HALT);
    wr32(f->b, 0xE000EDFCu, 1); /* DEMCR.VC_CORERESET */
    wr32(f->b, 0xE000ED0Cu, 0x05FA0004u);
    assert_int_equal(sim_board_advance(f->b, 1000), SIM_OK);
    uint32_t pc = 0, sp = 0;
    assert_int_equal(sim_board_reg_read(f->b, 15, &pc), SIM_OK);
    assert_int_equal(sim_board_reg_read(f->b, 13, &sp), SIM_OK);
    assert_int_equal(pc, 0x08000100u);
    assert_int_equal(sp, 0x20001000u);
}

static void reset_clock_and_wait_states(void **state)
{
    fixture *f = *state;
    assert_int_equal(sim_board_hclk_hz(f->b), 32000000u);
    assert_int_equal(rd32(f->b, ACR), 0x13u);
    assert_int_equal(rd32(f->b, RCC_CR) & 0x18u, 0x08u); /* HSIDIV /2 */
    fill_expect(f, FLASH, 64);
    uint32_t v = 0;
    wr32(f->b, ACR, 0x00); /* 0 WS: up to 20 MHz at VOS3 */
    assert_int_equal(sim_board_mem_read(f->b, FLASH, &v, 4, 4, NULL), SIM_OK);
    assert_int_not_equal(v, 0x18110A03u);
    wr32(f->b, ACR, 0x01);
    assert_int_equal(sim_board_mem_read(f->b, FLASH, &v, 4, 4, NULL), SIM_OK);
    assert_int_equal(v, 0x18110A03u);
    /* HSIDIV /1: 64 MHz, which 1 WS (40 MHz) no longer covers */
    wr32(f->b, RCC_CR, rd32(f->b, RCC_CR) & ~0x18u);
    assert_int_equal(sim_board_hclk_hz(f->b), 64000000u);
    assert_int_equal(sim_board_mem_read(f->b, FLASH, &v, 4, 4, NULL), SIM_OK);
    assert_int_not_equal(v, 0x18110A03u);
    wr32(f->b, ACR, 0x04);
    assert_int_equal(sim_board_mem_read(f->b, FLASH, &v, 4, 4, NULL), SIM_OK);
    assert_int_equal(v, 0x18110A03u);
}

/* ---- keys ---------------------------------------------------------------- */

static void keys(void **state)
{
    fixture *f = *state;
    assert_int_equal(rd32(f->b, NSCR), CR_LOCK);
    call_faults(f, OP_UNLOCK, KEY2, KEY1, 0);
    thumb_halt(f->b);
    call_faults(f, OP_UNLOCK, KEY1, KEY2, 0);
    thumb_halt(f->b);
    assert_true(rd32(f->b, NSCR) & CR_LOCK);
    nrst_pulse(f);
    thumb_halt(f->b);
    thumb_load(f->b, prog_h5, prog_h5_len);
    unlock(f);
    assert_int_equal(rd32(f->b, NSCR), 0);
}

/* ---- programming ----------------------------------------------------------- */

static void program_quad_word_once(void **state)
{
    fixture *f = *state;
    unlock(f);
    uint32_t s = 0;
    uint64_t ns = timed(f, OP_PROG_QW, FLASH + 0x40, 0x11110000u, 0, &s);
    assert_int_equal(s & SR_ERRORS, 0);
    assert_true(s & SR_EOP);
    assert_true(ns >= 50 * US && ns < 60 * US);
    expect_qw(f, FLASH + 0x40, 0x11110000u);
    check_flash(f);
    clear(f);
    assert_int_equal(rd32(f->b, ECCDETR), 0);

    /* the same quad-word again: double ECC error, cells unchanged */
    call(f, OP_PROG_QW, FLASH + 0x40, 0x22220000u, 0);
    assert_int_equal(rd32(f->b, ECCDETR), ECCD | 4u);
    check_flash(f);
    wr32(f->b, ECCDETR, ECCD);
    assert_int_equal(rd32(f->b, ECCDETR), 0);
    clear(f);
    /* in bank 2: BK_ECC (b22), the index within the bank */
    call(f, OP_PROG_QW, BANK2 + 0x20, 7, 0);
    call(f, OP_PROG_QW, BANK2 + 0x20, 8, 0);
    assert_int_equal(rd32(f->b, ECCDETR), ECCD | (1u << 22) | 2u);
    expect_qw(f, BANK2 + 0x20, 7);
    check_flash(f);
}

static void partial_quad_word_and_fw(void **state)
{
    fixture *f = *state;
    unlock(f);
    call(f, OP_WRITE, NSCR, CR_PG, 0);
    uint32_t s = call(f, OP_STORE, BANK2 + 0x104, 0xA5A5A5A5u, 4);
    assert_true(s & SR_WBNE);
    assert_int_equal(s & (SR_EOP | SR_ERRORS), 0);
    check_flash(f);
    s = call(f, OP_FORCE, 0, 0, 0);
    assert_true(s & SR_EOP);
    assert_int_equal(s & (SR_WBNE | SR_ERRORS), 0);
    expect_word(f, BANK2 + 0x104, 0xA5A5A5A5u);
    check_flash(f);
}

static void write_buffer_errors(void **state)
{
    fixture *f = *state;
    unlock(f);
    call(f, OP_WRITE, NSCR, CR_PG, 0);
    call(f, OP_STORE, FLASH + 0x200, 1, 4);
    assert_true(call(f, OP_STORE, FLASH + 0x210, 2, 4) & SR_INCERR);
    clear(f);
    call(f, OP_STORE, FLASH + 0x300, 1, 1);
    assert_true(call(f, OP_STORE, FLASH + 0x300, 2, 1) & SR_STRBERR);
    assert_true(call(f, OP_PROG_QW, FLASH + 0x400, 5, 0) & SR_PGSERR); /* error left set */
    check_flash(f);
    clear(f);
    call(f, OP_WRITE, NSCR, 0, 0);
    assert_true(call(f, OP_STORE, FLASH + 0x500, 1, 4) & SR_PGSERR); /* no PG */
    check_flash(f);
    clear(f);
    assert_int_equal(call(f, OP_PROG_QW, FLASH + 0x400, 5, 0) & SR_ERRORS, 0);
    expect_qw(f, FLASH + 0x400, 5);
    check_flash(f);
}

/* ---- erase ------------------------------------------------------------------- */

static void sector_erase_per_bank(void **state)
{
    fixture *f = *state;
    fill_expect(f, FLASH, 2048 * KIB);
    unlock(f);
    const struct {
        uint32_t cr, addr;
    } cases[] = {{CR_SER | SNB(1), FLASH + 0x2000},
                 {CR_SER | SNB(127) | CR_BKSEL, BANK2 + 0xFE000},
                 {CR_SER | SNB(0) | CR_BKSEL, BANK2}};
    for (size_t i = 0; i < 3; i++) {
        uint64_t t0 = sim_board_now_ns(f->b);
        call(f, OP_ERASE, cases[i].cr, 0, 0);
        uint64_t t1 = sim_board_now_ns(f->b);
        uint32_t s = busy_for(f, t0, t1, 2 * MS);
        assert_int_equal(s & SR_ERRORS, 0);
        assert_true(s & SR_EOP);
        memset(f->expect + (cases[i].addr - FLASH), 0xFF, 8 * KIB);
        check_flash(f);
        clear(f);
    }
    /* SER with BER: PGSERR, nothing erased */
    assert_true(call(f, OP_ERASE, CR_SER | CR_BER, 0, 0) & SR_PGSERR);
    check_flash(f);
    clear(f);
    /* the erased quad-word programs again */
    assert_int_equal(call(f, OP_PROG_QW, FLASH + 0x2000, 9, 0) & SR_ERRORS, 0);
    expect_qw(f, FLASH + 0x2000, 9);
    check_flash(f);
}

static void bank_and_mass_erase(void **state)
{
    fixture *f = *state;
    fill_expect(f, FLASH, 2048 * KIB);
    unlock(f);
    uint64_t t0 = sim_board_now_ns(f->b);
    call(f, OP_ERASE, CR_BER | CR_BKSEL, 0, 0);
    uint64_t t1 = sim_board_now_ns(f->b);
    uint32_t s = busy_for(f, t0, t1, 256 * MS);
    assert_true(s & SR_EOP);
    memset(f->expect + 1024 * KIB, 0xFF, 1024 * KIB);
    check_flash(f);
    clear(f);
    call(f, OP_ERASE, CR_MER, 0, 0);
    assert_true(wait_idle(f) & SR_EOP);
    memset(f->expect, 0xFF, 2048 * KIB);
    check_flash(f);
}

/* ---- options ------------------------------------------------------------------ */

static void opt_unlock(fixture *f)
{
    wr32(f->b, OPTKEYR, OPTKEY1);
    wr32(f->b, OPTKEYR, OPTKEY2);
    assert_int_equal(rd32(f->b, OPTCR) & 1u, 0);
}

static void product_state(void **state)
{
    fixture *f = *state;
    fill_expect(f, FLASH, 64);
    uint32_t cur = rd32(f->b, OPTSR_CUR), cur2 = rd32(f->b, OPTSR2_CUR);
    assert_int_equal(cur & 0xFF00u, 0xED00u);
    assert_int_equal(cur2 >> 24, 0xC3u);
    opt_unlock(f);
    /* a regression without debug authentication: refused */
    uint32_t s = call(f, OP_OPTIONS, (cur & ~0xFF00u) | 0x9A00u, cur2, 0);
    assert_true(s & SR_OPTCHANGEERR);
    assert_int_equal(rd32(f->b, OPTSR_CUR), cur);
    /* refused while OPTCHANGEERR is set, even a valid change */
    call(f, OP_OPTIONS, (cur & ~0xFF00u) | 0x7200u, cur2, 0);
    assert_int_equal(rd32(f->b, OPTSR_CUR), cur);
    clear(f);
    /* Closed: the debugger reads no flash */
    s = call(f, OP_OPTIONS, (cur & ~0xFF00u) | 0x7200u, cur2, 0);
    assert_int_equal(s & SR_ERRORS, 0);
    assert_int_equal(rd32(f->b, OPTSR_CUR) & 0xFF00u, 0x7200u);
    uint32_t v = 0;
    assert_int_equal(sim_board_mem_read(f->b, FLASH, &v, 4, 4, NULL), SIM_E_BUS);
}

static void swap_bank_at_reset(void **state)
{
    fixture *f = *state;
    unlock(f);
    call(f, OP_PROG_QW, FLASH, 0x10, 0);
    call(f, OP_PROG_QW, BANK2, 0x20, 0);
    clear(f);
    opt_unlock(f);
    uint32_t cur = rd32(f->b, OPTSR_CUR);
    assert_int_equal(call(f, OP_OPTIONS, cur | (1u << 31), rd32(f->b, OPTSR2_CUR), 0) & SR_ERRORS,
                     0);
    assert_int_equal(rd32(f->b, OPTCR) & (1u << 31), 0); /* not before a reset */
    assert_int_equal(rd32(f->b, FLASH), 0x10);
    nrst_pulse(f);
    thumb_halt(f->b);
    thumb_load(f->b, prog_h5, prog_h5_len);
    assert_true(rd32(f->b, OPTCR) & (1u << 31));
    assert_int_equal(rd32(f->b, FLASH), 0x20);
    assert_int_equal(rd32(f->b, BANK2), 0x10);
    /* BKSEL = 0 is the physical bank 1, now at 0x08100000 */
    unlock(f);
    call(f, OP_ERASE, CR_SER | SNB(0), 0, 0);
    wait_idle(f);
    assert_int_equal(rd32(f->b, BANK2), 0xFFFFFFFFu);
    assert_int_equal(rd32(f->b, FLASH), 0x20);
}

/* ---- timing oracle and the H503 ------------------------------------------------ */

static void timing_oracle(void **state)
{
    fixture *f = *state;
    sim_flash_timing t;
    assert_int_equal(sim_board_flash_timing(f->b, FLASH + 0x08, 32, &t), SIM_OK);
    assert_int_equal(t.unit_bytes, 16);
    assert_int_equal(t.units, 3);
    assert_int_equal(t.program_ns, 150 * US);
    assert_int_equal(t.erase_units, 1);
    assert_int_equal(t.erase_ns, 2 * MS);
    assert_int_equal(t.mass_ns, 256 * MS);
    assert_string_equal(t.mode, "quad-word");
}

static void h503_small_banks(void **state)
{
    fixture *f = *state;
    assert_int_equal(rd32(f->b, 0x44024000u) & 0xFFFu, 0x474);
    assert_int_equal(rd32(f->b, 0x08FFF80Cu) & 0xFFFFu, 128);
    fill_expect(f, FLASH, 128 * KIB);
    unlock(f);
    call(f, OP_ERASE, CR_SER | SNB(7) | CR_BKSEL, 0, 0);
    assert_true(wait_idle(f) & SR_EOP);
    memset(f->expect + 0x1E000, 0xFF, 8 * KIB);
    check_flash(f);
    clear(f);
    assert_true(call(f, OP_ERASE, CR_SER | SNB(8), 0, 0) & SR_PGSERR);
    check_flash(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(identity_and_boot, &h563),
        FIXTURE_TEST(reset_clock_and_wait_states, &h563),
        FIXTURE_TEST(keys, &h563),
        FIXTURE_TEST(program_quad_word_once, &h563),
        FIXTURE_TEST(partial_quad_word_and_fw, &h563),
        FIXTURE_TEST(write_buffer_errors, &h563),
        FIXTURE_TEST(sector_erase_per_bank, &h563),
        FIXTURE_TEST(bank_and_mass_erase, &h563),
        FIXTURE_TEST(product_state, &h563),
        FIXTURE_TEST(swap_bank_at_reset, &h563),
        FIXTURE_TEST(timing_oracle, &h563),
        FIXTURE_TEST(h503_small_banks, &h503),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
