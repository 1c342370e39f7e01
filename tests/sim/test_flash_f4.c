/*
 * The STM32F446 flash interface model (sim/target/flash_f4.c), driven by
 * real Thumb code (progs/prog_f4.c) on the virtual core and by the
 * debugger, as flash loaders and probes drive silicon. Every test checks
 * effects: the whole 512 KiB array against a predicted image, FLASH_SR
 * bits, and virtual time against the DS10693 flash programming table.
 */
#include "flash_fixture.h"

#include <string.h>

extern const unsigned char prog_f4[];
extern const size_t prog_f4_len;

/* progs/prog_f4.c op numbers and flags */
enum {
    OP_READ_REG = 0,
    OP_WRITE_REG = 1,
    OP_UNLOCK = 2,
    OP_OPT_UNLOCK = 3,
    OP_LOCK = 4,
    OP_ERASE_SECTOR = 5,
    OP_MASS_ERASE = 6,
    OP_PROGRAM = 7,
    OP_PROGRAM_BUF = 8,
    OP_STORE = 9,
    OP_PROGRAM_PAIR = 10,
    OP_ERASE_THEN_CR = 11,
    OP_OPTCR = 12,
    OP_PROGRAM64 = 13,
};
#define F_WAIT  1u
#define F_EOPIE 2u
#define F_ERRIE 4u
#define X8      0u
#define X16     1u
#define X32     2u
#define X64     3u
/* OP_PROGRAM's c: store width, PSIZE, flags */
#define PGM(width, psize, flags) ((width) | (psize) << 4 | (flags) << 8)

#define FLASH_BASE 0x08000000u
#define FLASH_SIZE (512u * 1024u)
#define SRAM_BUF   0x20001000u

#define REGS       0x40023C00u
#define KEYR       (REGS + 0x04)
#define OPTKEYR    (REGS + 0x08)
#define OFF_SR     0x0Cu
#define OFF_CR     0x10u
#define SR_ADDR    (REGS + OFF_SR)
#define CR_ADDR    (REGS + OFF_CR)
#define OPTCR_ADDR (REGS + 0x14)
#define OPT_BASE   0x1FFFC000u
#define OTP_BASE   0x1FFF7800u
#define OTP_LOCK   0x1FFF7A00u

#define KEY1    0x45670123u
#define KEY2    0xCDEF89ABu
#define OPTKEY1 0x08192A3Bu
#define OPTKEY2 0x4C5D6E7Fu

#define SR_EOP        (1u << 0)
#define SR_OPERR      (1u << 1)
#define SR_WRPERR     (1u << 4)
#define SR_PGAERR     (1u << 5)
#define SR_PGPERR     (1u << 6)
#define SR_PGSERR     (1u << 7)
#define SR_BSY        (1u << 16)
#define CR_PG         (1u << 0)
#define CR_SER        (1u << 1)
#define CR_MER        (1u << 2)
#define CR_STRT       (1u << 16)
#define CR_LOCK       (1u << 31)
#define OPTCR_OPTLOCK (1u << 0)
#define OPTCR_OPTSTRT (1u << 1)

/* DS10693 "Flash memory programming", typical values. */
#define MS         1000000ull
#define T_PROG_NS  16000ull
#define T_MASS_X8  (8000 * MS)
#define T_MASS_X32 (4000 * MS)

static const uint32_t sector_off[8] = {0x00000, 0x04000, 0x08000, 0x0C000,
                                       0x10000, 0x20000, 0x40000, 0x60000};
static const uint32_t sector_len[8] = {0x4000,  0x4000,  0x4000,  0x4000,
                                       0x10000, 0x20000, 0x20000, 0x20000};

/* clear_sr() writes all ones; SR must then read 0 but for BSY. */
static const fixture_chip chip = {
    .name = "stm32f446re",
    .seed = 1,
    .prog = prog_f4,
    .prog_len = &prog_f4_len,
    .flash_base = FLASH_BASE,
    .flash_size = FLASH_SIZE,
    .erased = 0xFF,
    .sr_addr = SR_ADDR,
    .sr_bsy = SR_BSY,
    .sr_clear = 0xFFFFFFFFu,
    .sr_ignore = SR_BSY,
    .sr_idle = 0,
};

/* An op that must fault (call_faults), the core halted again after. */
static void call_faults_halt(fixture *f, uint32_t op, uint32_t a, uint32_t b, uint32_t c)
{
    call_faults(f, op, a, b, c);
    thumb_halt(f->b);
}

static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 13 + seed) ^ (i >> 9));
}

static void preload_all(fixture *f)
{
    fill_pattern(f->expect, FLASH_SIZE, 5);
    preload_expect(f, FLASH_BASE, FLASH_SIZE);
}

static void unlock(fixture *f)
{
    assert_int_equal(call(f, OP_UNLOCK, KEY1, KEY2, 0), 0);
}

/* Let virtual time pass (core halted at its BKPT) until BSY falls: long
 * erases are waited for from the host, as OpenOCD does, instead of by a
 * polling loop on the emulated core. Returns SR. */
static uint32_t wait_idle(fixture *f)
{
    uint32_t s;
    while ((s = sr(f)) & SR_BSY)
        assert_int_equal(sim_board_advance(f->b, 1000000), SIM_OK);
    return s;
}

/* Sector erase started by the core, waited for by the host; returns SR. */
static uint32_t erase(fixture *f, unsigned sector, unsigned psize)
{
    call(f, OP_ERASE_SECTOR, sector, psize, 0);
    return wait_idle(f);
}

/* An operation started between t0 and t1 lasts dur (busy_for). EOP stays 0
 * without EOPIE (RM0090 3.9.5). */
static void check_busy_for(fixture *f, uint64_t t0, uint64_t t1, uint64_t dur)
{
    assert_int_equal(busy_for(f, t0, t1, dur), 0);
    assert_false(rd32(f->b, CR_ADDR) & CR_STRT);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_unlock_erase_program(void **state)
{
    fixture *f = *state;
    /* Reset values (RM0390 3.8): CR locked, OPTCR as loaded from the
     * factory option bytes, locked. */
    assert_int_equal(rd32(f->b, CR_ADDR), CR_LOCK);
    assert_int_equal(sr(f), 0);
    assert_int_equal(rd32(f->b, OPTCR_ADDR), 0x0FFFAAEDu);
    preload_all(f);
    unlock(f);

    /* Sector 2 (0x08008000, 16 KiB) at x32. No EOP: EOPIE is 0. */
    assert_int_equal(erase(f, 2, X32), 0);
    memset(f->expect + sector_off[2], 0xFF, sector_len[2]);
    check_flash(f);

    /* 512 bytes at x32, 64 at x8, 64 at x16 from an SRAM buffer. */
    uint8_t data[512];
    fill_pattern(data, sizeof data, 77);
    assert_int_equal(sim_board_mem_write(f->b, SRAM_BUF, data, sizeof data, 4, NULL), SIM_OK);
    assert_int_equal(call(f, OP_PROGRAM_BUF, FLASH_BASE + 0x8000, SRAM_BUF, 512 | X32 << 24), 0);
    memcpy(f->expect + 0x8000, data, 512);
    assert_int_equal(call(f, OP_PROGRAM_BUF, FLASH_BASE + 0x8400, SRAM_BUF, 64 | X8 << 24), 0);
    memcpy(f->expect + 0x8400, data, 64);
    assert_int_equal(call(f, OP_PROGRAM_BUF, FLASH_BASE + 0x8800, SRAM_BUF, 64 | X16 << 24), 0);
    memcpy(f->expect + 0x8800, data, 64);
    /* x64: a double word as two word stores. */
    assert_int_equal(call(f, OP_PROGRAM64, FLASH_BASE + 0x8C08, 0x33221100, 0x77665544), 0);
    expect_word(f, FLASH_BASE + 0x8C08, 0x33221100);
    expect_word(f, FLASH_BASE + 0x8C0C, 0x77665544);
    check_flash(f);

    /* With EOPIE the end of operation is flagged. */
    assert_int_equal(call(f, OP_PROGRAM, FLASH_BASE + 0x8C20, 0xCAFEF00D, PGM(4, X32, F_EOPIE)),
                     SR_EOP);
    expect_word(f, FLASH_BASE + 0x8C20, 0xCAFEF00D);
    check_flash(f);

    assert_true(call(f, OP_LOCK, 0, 0, 0) & CR_LOCK);
    assert_int_equal(call(f, OP_WRITE_REG, OFF_CR, CR_PG, 0), CR_LOCK);
}

static void test_reprogram_ands(void **state)
{
    fixture *f = *state;
    unlock(f);
    uint32_t a = FLASH_BASE + 0x20000;
    assert_int_equal(call(f, OP_PROGRAM, a, 0xFFFF00FF, PGM(4, X32, 0)), 0);
    /* No "not erased" check: the cells keep old AND new, no flag. */
    assert_int_equal(call(f, OP_PROGRAM, a, 0x0F0F0F0F, PGM(4, X32, 0)), 0);
    expect_word(f, FLASH_BASE + 0x20000, 0x0F0F000F);
    /* Byte-wise too, at x8. */
    assert_int_equal(call(f, OP_PROGRAM, a + 5, 0xF0, PGM(1, X8, 0)), 0);
    assert_int_equal(call(f, OP_PROGRAM, a + 5, 0x3C, PGM(1, X8, 0)), 0);
    f->expect[0x20005] = 0x30;
    check_flash(f);
}

static void test_parallelism_and_alignment_errors(void **state)
{
    fixture *f = *state;
    unlock(f);
    uint32_t a = FLASH_BASE + 0x40000;
    /* Store width != PSIZE: not written, PGPERR (RM0090 3.6.4). */
    assert_int_equal(call(f, OP_PROGRAM, a, 0x00, PGM(1, X32, 0)), SR_PGPERR);
    check_flash(f);
    clear_sr(f);
    assert_int_equal(call(f, OP_PROGRAM, a, 0x0000, PGM(2, X8, 0)), SR_PGPERR);
    assert_int_equal(call(f, OP_PROGRAM, a, 0x00000000, PGM(4, X16, 0)), SR_PGPERR);
    check_flash(f);
    /* PGPERR latches across a good program; OPERR joins when ERRIE = 1. */
    assert_int_equal(call(f, OP_PROGRAM, a + 16, 0x12345678, PGM(4, X32, 0)), SR_PGPERR);
    expect_word(f, FLASH_BASE + 0x40010, 0x12345678);
    check_flash(f);
    clear_sr(f);
    assert_int_equal(call(f, OP_PROGRAM, a, 0x00, PGM(1, X16, F_ERRIE)), SR_PGPERR | SR_OPERR);
    clear_sr(f);

    /* A double word starting in the last word of a 128-bit row would cross
     * it: PGAERR, nothing written. */
    assert_int_equal(call(f, OP_PROGRAM64, a + 0x2C, 0, 0), SR_PGAERR);
    check_flash(f);
    clear_sr(f);

    /* The debugger's stores get the same flags, never a bus error. */
    wr32(f->b, CR_ADDR, CR_PG | X8 << 8);
    wr32(f->b, a + 0x40, 0);
    assert_int_equal(sr(f), SR_PGPERR);
    check_flash(f);
}

static void test_store_without_pg(void **state)
{
    fixture *f = *state;
    unlock(f);
    uint32_t a = FLASH_BASE + 0x100;
    /* PG = 0: PGSERR; the reset PSIZE (x8) makes a word store PGPERR too,
     * as seen on an F411 bench. */
    assert_int_equal(call(f, OP_STORE, a, 0, 4), SR_PGSERR | SR_PGPERR);
    clear_sr(f);
    assert_int_equal(call(f, OP_WRITE_REG, OFF_CR, X32 << 8, 0), X32 << 8);
    assert_int_equal(call(f, OP_STORE, a, 0, 4), SR_PGSERR);
    check_flash(f);
}

static void test_locked_controller_refuses(void **state)
{
    fixture *f = *state;
    preload_all(f);
    /* CR is not writable while locked. */
    assert_int_equal(call(f, OP_WRITE_REG, OFF_CR, CR_PG | X32 << 8, 0), CR_LOCK);
    /* A store into locked flash: PGSERR (with PGPERR: PSIZE is x8). */
    assert_int_equal(call(f, OP_STORE, FLASH_BASE + 0x4000, 0, 4), SR_PGSERR | SR_PGPERR);
    clear_sr(f);
    assert_int_equal(call(f, OP_STORE, FLASH_BASE + 0x4000, 0, 1), SR_PGSERR);
    clear_sr(f);
    /* An erase request does nothing. */
    assert_int_equal(erase(f, 1, X32), 0);
    check_flash(f);
    /* From the debugger too: a flag, not a bus error. */
    uint32_t z = 0;
    assert_int_equal(sim_board_mem_write(f->b, FLASH_BASE + 8, &z, 1, 1, NULL), SIM_OK);
    assert_int_equal(sr(f), SR_PGSERR);
    check_flash(f);
}

static void test_wrong_key_locks_until_reset(void **state)
{
    fixture *f = *state;
    call_faults_halt(f, OP_UNLOCK, KEY1, KEY1, 0);
    assert_int_equal(rd32(f->b, CR_ADDR), CR_LOCK);
    assert_int_equal(sim_board_write32(f->b, KEYR, KEY1), SIM_E_BUS);
    call_faults_halt(f, OP_UNLOCK, KEY1, KEY2, 0);
    assert_int_equal(rd32(f->b, CR_ADDR), CR_LOCK);

    nrst_pulse(f);
    unlock(f);
    /* Writing the keys again while unlocked is a wrong sequence on the F4
     * (OpenOCD's stm32f2x checks LOCK first for that reason). */
    call_faults_halt(f, OP_UNLOCK, KEY1, KEY2, 0);
    assert_int_equal(rd32(f->b, CR_ADDR), CR_LOCK);

    /* OPTKEYR: the same rule for OPTLOCK. */
    nrst_pulse(f);
    call_faults_halt(f, OP_OPT_UNLOCK, 0x08192A3C, OPTKEY2, 0);
    assert_true(rd32(f->b, OPTCR_ADDR) & OPTCR_OPTLOCK);
    assert_int_equal(sim_board_write32(f->b, OPTKEYR, OPTKEY1), SIM_E_BUS);
    nrst_pulse(f);
    assert_false(call(f, OP_OPT_UNLOCK, OPTKEY1, OPTKEY2, 0) & OPTCR_OPTLOCK);
    unlock(f);
}

static void test_write_during_busy(void **state)
{
    fixture *f = *state;
    unlock(f);
    /* Two word stores back to back: the second waits for the first. */
    uint32_t a = FLASH_BASE + 0x60000;
    uint64_t t0 = sim_board_now_ns(f->b);
    assert_int_equal(call(f, OP_PROGRAM_PAIR, a, 0x11111111, 0x22222222), 0);
    uint64_t t1 = sim_board_now_ns(f->b);
    assert_in_range(t1 - t0, 2 * T_PROG_NS, 2 * T_PROG_NS + 100000);
    expect_word(f, FLASH_BASE + 0x60000, 0x11111111);
    expect_word(f, FLASH_BASE + 0x60004, 0x22222222);
    check_flash(f);

    /* A CR write while BSY stalls the bus until the erase ends (RM0090
     * 3.6.1), then takes effect: the SR read right after sees BSY = 0. */
    preload_all(f);
    t0 = sim_board_now_ns(f->b);
    uint32_t s = call(f, OP_ERASE_THEN_CR, 1, X32, CR_PG | X32 << 8);
    t1 = sim_board_now_ns(f->b);
    assert_int_equal(s, 0);
    assert_in_range(t1 - t0, 250 * MS, 250 * MS + 100000);
    assert_int_equal(rd32(f->b, CR_ADDR), CR_PG | X32 << 8);
    memset(f->expect + sector_off[1], 0xFF, sector_len[1]);
    check_flash(f);

    /* The debugger reading the busy array waits too. */
    assert_true(call(f, OP_ERASE_SECTOR, 3, X32, 0) & SR_BSY);
    uint64_t r0 = sim_board_now_ns(f->b);
    uint32_t v = 0;
    assert_int_equal(sim_board_read32(f->b, FLASH_BASE + sector_off[3], &v), SIM_OK);
    assert_int_equal(v, 0xFFFFFFFFu);
    assert_true(sim_board_now_ns(f->b) - r0 > 250 * MS - 200000);
    assert_int_equal(sr(f), 0);
    memset(f->expect + sector_off[3], 0xFF, sector_len[3]);
    check_flash(f);
}

static void test_error_flags_latch(void **state)
{
    fixture *f = *state;
    assert_int_equal(sim_board_inject(f->b, SIM_FAULT_STALE_FLASH_ERRORS, 0), SIM_OK);
    const uint32_t stale = SR_PGSERR | SR_PGPERR | SR_PGAERR;
    assert_int_equal(sr(f), stale);
    unlock(f);
    /* A good program still runs (RM0090 names no such block on the F4 [U])
     * and leaves the stale flags where they were. */
    assert_int_equal(call(f, OP_PROGRAM, FLASH_BASE + 0x44, 0xA1B2C3D4, PGM(4, X32, 0)), stale);
    expect_word(f, FLASH_BASE + 0x44, 0xA1B2C3D4);
    check_flash(f);
    /* Writing 0 clears nothing; each 1 clears its flag only. */
    wr32(f->b, SR_ADDR, 0);
    assert_int_equal(sr(f), stale);
    wr32(f->b, SR_ADDR, SR_PGAERR);
    assert_int_equal(sr(f), SR_PGSERR | SR_PGPERR);
    uint8_t lane = (uint8_t)(SR_PGSERR | SR_PGPERR);
    assert_int_equal(sim_board_mem_write(f->b, SR_ADDR, &lane, 1, 1, NULL), SIM_OK);
    assert_int_equal(sr(f), 0);
}

static void test_erase_granularity(void **state)
{
    fixture *f = *state;
    preload_all(f);
    unlock(f);
    const unsigned order[3] = {0, 4, 7};
    for (unsigned i = 0; i < 3; i++) {
        unsigned n = order[i];
        assert_int_equal(erase(f, n, X32), 0);
        memset(f->expect + sector_off[n], 0xFF, sector_len[n]);
        check_flash(f);
    }
    /* Invalid sector number and MER together with SER: WRPERR, nothing
     * erased (RM0090 3.7.4). */
    assert_int_equal(call(f, OP_ERASE_SECTOR, 8, X32, F_WAIT), SR_WRPERR);
    clear_sr(f);
    call(f, OP_WRITE_REG, OFF_CR, CR_MER | CR_SER | 5u << 3 | X32 << 8 | CR_STRT, 0);
    assert_int_equal(sr(f), SR_WRPERR);
    clear_sr(f);
    /* STRT with neither MER nor SER: nothing, no flag. */
    call(f, OP_WRITE_REG, OFF_CR, X32 << 8 | CR_STRT, 0);
    assert_int_equal(sr(f), 0);
    check_flash(f);

    /* Mass erase at x32: 4 s, the whole array, options untouched. */
    uint64_t t0 = sim_board_now_ns(f->b);
    assert_true(call(f, OP_MASS_ERASE, X32, 0, 0) & SR_BSY);
    uint64_t t1 = sim_board_now_ns(f->b);
    check_busy_for(f, t0, t1, T_MASS_X32);
    memset(f->expect, 0xFF, FLASH_SIZE);
    check_flash(f);
    assert_int_equal(rd32(f->b, OPTCR_ADDR), 0x0FFFAAEDu);
}

static void test_busy_durations(void **state)
{
    fixture *f = *state;
    unlock(f);
    /* Sector erase by size and parallelism (DS10693). */
    const struct {
        unsigned sector, psize;
        uint64_t ms;
    } cases[] = {
        {0, X8, 400},  {1, X16, 300},  {2, X32, 250},  {4, X32, 550},
        {4, X8, 1200}, {5, X32, 1000}, {6, X16, 1300}, {7, X8, 2000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t t0 = sim_board_now_ns(f->b);
        assert_true(call(f, OP_ERASE_SECTOR, cases[i].sector, cases[i].psize, 0) & SR_BSY);
        uint64_t t1 = sim_board_now_ns(f->b);
        check_busy_for(f, t0, t1, cases[i].ms * MS);
    }
    /* Word program: 16 us, from the debugger. */
    wr32(f->b, CR_ADDR, CR_PG | X32 << 8);
    uint64_t t0 = sim_board_now_ns(f->b);
    wr32(f->b, FLASH_BASE + 0x50000, 0x5A5A5A5A);
    uint64_t t1 = sim_board_now_ns(f->b);
    check_busy_for(f, t0, t1, T_PROG_NS);
    expect_word(f, FLASH_BASE + 0x50000, 0x5A5A5A5A);
    check_flash(f);
}

static void test_rdp1_and_regression(void **state)
{
    fixture *f = *state;
    preload_all(f);
    assert_int_equal(sim_board_inject(f->b, SIM_FAULT_RDP1, 0), SIM_OK);
    uint32_t optcr = rd32(f->b, OPTCR_ADDR);
    assert_int_equal((optcr >> 8) & 0xFF, 0x55);
    /* The debugger cannot read main flash; options and OTP read fine. */
    uint32_t v = 0;
    assert_int_equal(sim_board_read32(f->b, FLASH_BASE + 0x1000, &v), SIM_E_BUS);
    assert_int_equal(sim_board_read32(f->b, OPT_BASE, &v), SIM_OK);

    /* Program and erase are refused while the debugger is attached, even
     * where nWRP = 1 (RM0090 3.7.4 note). */
    thumb_load(f->b, prog_f4, prog_f4_len);
    unlock(f);
    assert_int_equal(call(f, OP_ERASE_SECTOR, 3, X32, F_WAIT), SR_WRPERR);
    assert_int_equal(call(f, OP_PROGRAM, FLASH_BASE + 0xC000, 0, PGM(4, X32, 0)), SR_WRPERR);
    assert_int_equal(call(f, OP_MASS_ERASE, X32, 0, F_WAIT), SR_WRPERR);
    check_flash(f);
    clear_sr(f);

    /* Level 1 -> 0: OPTCR RDP = 0xAA, OPTSTRT. The main array is mass-erased
     * during the option change: user configuration sector (16 KiB figure at
     * the current PSIZE, x8) + mass erase at x8. */
    assert_false(call(f, OP_OPT_UNLOCK, OPTKEY1, OPTKEY2, 0) & OPTCR_OPTLOCK);
    uint32_t level0 = (optcr & ~0xFF03u) | 0xAA00u;
    uint64_t t0 = sim_board_now_ns(f->b);
    assert_true(call(f, OP_OPTCR, level0, 1, 0) & SR_BSY);
    uint64_t t1 = sim_board_now_ns(f->b);
    check_busy_for(f, t0, t1, 400 * MS + T_MASS_X8);
    memset(f->expect, 0xFF, FLASH_SIZE);
    check_flash(f);
    uint8_t img[2];
    assert_int_equal(sim_board_mem_read(f->b, OPT_BASE, img, 2, 2, NULL), SIM_OK);
    assert_int_equal(img[1], 0xAA);
    /* Still level 1 until the options load at reset. */
    assert_int_equal(sim_board_read32(f->b, FLASH_BASE, &v), SIM_E_BUS);
    nrst_pulse(f);
    assert_int_equal(rd32(f->b, OPTCR_ADDR), 0x0FFFAAEDu);
    assert_int_equal(sim_board_read32(f->b, FLASH_BASE + 0x1000, &v), SIM_OK);
    assert_int_equal(v, 0xFFFFFFFFu);
}

static void test_sector_write_protection(void **state)
{
    fixture *f = *state;
    preload_all(f);
    assert_false(call(f, OP_OPT_UNLOCK, OPTKEY1, OPTKEY2, 0) & OPTCR_OPTLOCK);
    /* nWRP1 = 0 protects sector 1, at once (no reset needed). */
    uint32_t optcr = 0x0FFFAAECu & ~(1u << 17);
    call(f, OP_OPTCR, optcr, 1, 0);
    assert_int_equal(wait_idle(f), 0);
    assert_int_equal(rd32(f->b, OPTCR_ADDR), optcr);
    unlock(f);
    assert_int_equal(call(f, OP_ERASE_SECTOR, 1, X32, F_WAIT), SR_WRPERR);
    assert_int_equal(call(f, OP_PROGRAM, FLASH_BASE + 0x4000, 0, PGM(4, X32, 0)), SR_WRPERR);
    /* A mass erase cannot run with a protected sector. */
    assert_int_equal(call(f, OP_MASS_ERASE, X32, 0, F_WAIT), SR_WRPERR);
    check_flash(f);
    clear_sr(f);
    /* Its neighbours are not protected. */
    assert_int_equal(erase(f, 2, X32), 0);
    memset(f->expect + sector_off[2], 0xFF, sector_len[2]);
    check_flash(f);
    /* It survives a reset (the image holds it), and can be lifted. */
    nrst_pulse(f);
    assert_int_equal(rd32(f->b, OPTCR_ADDR), optcr | OPTCR_OPTLOCK);
    assert_false(call(f, OP_OPT_UNLOCK, OPTKEY1, OPTKEY2, 0) & OPTCR_OPTLOCK);
    call(f, OP_OPTCR, 0x0FFFAAECu, 1, 0);
    assert_int_equal(wait_idle(f), 0);
    unlock(f);
    assert_int_equal(erase(f, 1, X32), 0);
    memset(f->expect + sector_off[1], 0xFF, sector_len[1]);
    check_flash(f);
}

static void test_otp_and_system_memory(void **state)
{
    fixture *f = *state;
    unlock(f);
    /* OTP programs like flash (RM0090 3.8) and is never erased. */
    assert_int_equal(call(f, OP_PROGRAM, OTP_BASE + 4, 0x89ABCDEF, PGM(4, X32, 0)), 0);
    assert_int_equal(call(f, OP_PROGRAM, OTP_BASE + 4, 0xF0FFFFFF, PGM(4, X32, 0)), 0);
    assert_int_equal(rd32(f->b, OTP_BASE + 4), 0x80ABCDEFu);
    /* Lock block 0 (lock byte 0x00): block 0 takes no more writes. */
    assert_int_equal(call(f, OP_PROGRAM, OTP_LOCK, 0x00, PGM(1, X8, 0)), 0);
    assert_int_equal(call(f, OP_PROGRAM, OTP_BASE + 8, 0, PGM(4, X32, 0)), SR_WRPERR);
    assert_int_equal(rd32(f->b, OTP_BASE + 8), 0xFFFFFFFFu);
    clear_sr(f);
    assert_int_equal(call(f, OP_PROGRAM, OTP_BASE + 32, 0x01020304, PGM(4, X32, 0)), 0);
    assert_int_equal(rd32(f->b, OTP_BASE + 32), 0x01020304u);

    /* System memory and the option sector are never programmed by a
     * store: WRPERR with PG, PGSERR without (RM0090 3.7.4); no bus error. */
    uint32_t rom = rd32(f->b, 0x1FFF0000);
    assert_int_equal(call(f, OP_PROGRAM, 0x1FFF0000, 0, PGM(4, X32, 0)), SR_WRPERR);
    assert_int_equal(rd32(f->b, 0x1FFF0000), rom);
    clear_sr(f);
    assert_int_equal(call(f, OP_STORE, OPT_BASE, 0, 4), SR_PGSERR);
    assert_int_equal(rd32(f->b, OPTCR_ADDR), 0x0FFFAAEDu);
    check_flash(f);
}

static void test_bad_cell_takes_no_write(void **state)
{
    fixture *f = *state;
    uint32_t a = FLASH_BASE + 0x7000;
    assert_int_equal(sim_board_inject(f->b, SIM_FAULT_BAD_CELL, a + 2), SIM_OK);
    unlock(f);
    /* Success reported (EOP with EOPIE, no error), old content kept. */
    assert_int_equal(call(f, OP_PROGRAM, a, 0x00000000, PGM(4, X32, F_EOPIE)), SR_EOP);
    assert_int_equal(call(f, OP_PROGRAM, a + 4, 0x00000000, PGM(4, X32, F_EOPIE)), SR_EOP);
    expect_word(f, FLASH_BASE + 0x7004, 0);
    check_flash(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(test_unlock_erase_program, &chip),
        FIXTURE_TEST(test_reprogram_ands, &chip),
        FIXTURE_TEST(test_parallelism_and_alignment_errors, &chip),
        FIXTURE_TEST(test_store_without_pg, &chip),
        FIXTURE_TEST(test_locked_controller_refuses, &chip),
        FIXTURE_TEST(test_wrong_key_locks_until_reset, &chip),
        FIXTURE_TEST(test_write_during_busy, &chip),
        FIXTURE_TEST(test_error_flags_latch, &chip),
        FIXTURE_TEST(test_erase_granularity, &chip),
        FIXTURE_TEST(test_busy_durations, &chip),
        FIXTURE_TEST(test_rdp1_and_regression, &chip),
        FIXTURE_TEST(test_sector_write_protection, &chip),
        FIXTURE_TEST(test_otp_and_system_memory, &chip),
        FIXTURE_TEST(test_bad_cell_takes_no_write, &chip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
