/*
 * The STM32F103 flash controller model (sim/target/flash_f1.c), driven by
 * real Thumb code (progs/prog_f1.c) on the virtual core and by the
 * debugger, as flash loaders and probes drive silicon. Every test checks
 * effects: the whole flash array against a predicted image, FLASH_SR bits,
 * and virtual time against DS5319 Table 28.
 */
#include "flash_fixture.h"

#include <string.h>

extern const unsigned char prog_f1[];
extern const size_t prog_f1_len;

/* progs/prog_f1.c op numbers */
enum {
    OP_READ_REG = 0,
    OP_WRITE_REG = 1,
    OP_UNLOCK = 2,
    OP_OPT_UNLOCK = 3,
    OP_LOCK = 4,
    OP_ERASE_PAGE = 5,
    OP_MASS_ERASE = 6,
    OP_PROGRAM = 7,
    OP_PROGRAM_BUF = 8,
    OP_STORE = 9,
    OP_PROGRAM_PAIR = 10,
    OP_OPT_ERASE = 11,
    OP_OPT_PROGRAM = 12,
    OP_ERASE_THEN_CR = 13,
};

#define FLASH_BASE 0x08000000u
#define FLASH_SIZE (128u * 1024u)
#define PAGE       1024u
#define SRAM_BUF   0x20001000u /* after the 4 KiB program */

#define REGS     0x40022000u
#define KEYR     (REGS + 0x04)
#define OFF_SR   0x0Cu
#define OFF_CR   0x10u
#define SR_ADDR  (REGS + OFF_SR)
#define CR_ADDR  (REGS + OFF_CR)
#define OBR_ADDR (REGS + 0x1C)
#define WRPR     (REGS + 0x20)
#define OPT_BASE 0x1FFFF800u

#define KEY1 0x45670123u
#define KEY2 0xCDEF89ABu

#define SR_BSY      (1u << 0)
#define SR_PGERR    (1u << 2)
#define SR_WRPRTERR (1u << 4)
#define SR_EOP      (1u << 5)
#define CR_PG       (1u << 0)
#define CR_PER      (1u << 1)
#define CR_STRT     (1u << 6)
#define CR_LOCK     (1u << 7)
#define CR_OPTWRE   (1u << 9)
#define OBR_RDPRT   (1u << 1)

/* DS5319 Table 28: tprog typ 52.5 us; tERASE/tME 20-40 ms (model: 30 ms). */
#define T_PROG_NS  52500u
#define T_ERASE_NS 30000000u

static const fixture_chip chip = {
    .name = "stm32f103rb",
    .seed = 1,
    .prog = prog_f1,
    .prog_len = &prog_f1_len,
    .flash_base = FLASH_BASE,
    .flash_size = FLASH_SIZE,
    .erased = 0xFF,
    .sr_addr = SR_ADDR,
    .sr_bsy = SR_BSY,
};

static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 7 + seed) ^ (i >> 8));
}

/* Preload the whole array with a non-erased pattern, as an old firmware. */
static void preload_all(fixture *f)
{
    fill_pattern(f->expect, FLASH_SIZE, 3);
    preload_expect(f, FLASH_BASE, FLASH_SIZE);
}

static void unlock(fixture *f)
{
    assert_int_equal(call(f, OP_UNLOCK, KEY1, KEY2, 0) & CR_LOCK, 0);
}

/* An operation started between t0 and t1 lasts dur (busy_for) and ends with
 * EOP. */
static void check_busy_for(fixture *f, uint64_t t0, uint64_t t1, uint64_t dur)
{
    uint32_t s = busy_for(f, t0, t1, dur);
    assert_false(s & SR_BSY);
    assert_true(s & SR_EOP); /* F1: EOP whatever EOPIE says */
}

/* ---- tests ------------------------------------------------------------------ */

static void test_unlock_erase_program(void **state)
{
    fixture *f = *state;
    /* Reset state (RM0008 3.4): CR locked, SR clear. */
    assert_int_equal(rd32(f->b, CR_ADDR), CR_LOCK);
    assert_int_equal(sr(f), 0);
    preload_all(f);
    unlock(f);

    /* Page erase of page 5 through an address inside it. */
    uint32_t page5 = FLASH_BASE + 5 * PAGE;
    assert_int_equal(call(f, OP_ERASE_PAGE, page5 + 0x2A4, 1, 0), SR_EOP);
    memset(f->expect + 5 * PAGE, 0xFF, PAGE);
    check_flash(f);
    wr32(f->b, SR_ADDR, SR_EOP); /* w1c */
    assert_int_equal(sr(f), 0);

    /* Program 300 bytes from an SRAM buffer, half-word by half-word. */
    uint8_t data[300];
    fill_pattern(data, sizeof data, 99);
    assert_int_equal(sim_board_mem_write(f->b, SRAM_BUF, data, sizeof data, 4, NULL), SIM_OK);
    assert_int_equal(call(f, OP_PROGRAM_BUF, page5 + 0x10, SRAM_BUF, sizeof data), SR_EOP);
    memcpy(f->expect + 5 * PAGE + 0x10, data, sizeof data);
    check_flash(f);

    /* The debugger reads back what the array holds. */
    uint8_t back[sizeof data];
    assert_int_equal(sim_board_mem_read(f->b, page5 + 0x10, back, sizeof back, 4, NULL), SIM_OK);
    assert_memory_equal(back, data, sizeof data);

    /* Relock: CR.LOCK set by software, PG no longer takes. */
    assert_true(call(f, OP_LOCK, 0, 0, 0) & CR_LOCK);
    assert_int_equal(call(f, OP_WRITE_REG, OFF_CR, CR_PG, 0), CR_LOCK);
}

static void test_program_not_erased(void **state)
{
    fixture *f = *state;
    unlock(f);
    uint32_t a = FLASH_BASE + 0x800;
    assert_int_equal(call(f, OP_PROGRAM, a, 0x1234, 2), SR_EOP);
    f->expect[0x800] = 0x34;
    f->expect[0x801] = 0x12;
    wr32(f->b, SR_ADDR, SR_EOP);

    /* Target not 0xFFFF: skipped, PGERR, no EOP (RM0091 3.2.2). Even a
     * value that only clears bits is refused. */
    assert_int_equal(call(f, OP_PROGRAM, a, 0x1230, 2), SR_PGERR);
    check_flash(f);

    /* PGERR latches across a later successful program... */
    assert_int_equal(call(f, OP_PROGRAM, a + 2, 0xBEEF, 2), SR_PGERR | SR_EOP);
    f->expect[0x802] = 0xEF;
    f->expect[0x803] = 0xBE;
    check_flash(f);

    /* ...and clears only where a 1 is written. */
    wr32(f->b, SR_ADDR, SR_EOP);
    assert_int_equal(sr(f), SR_PGERR);
    wr32(f->b, SR_ADDR, SR_PGERR);
    assert_int_equal(sr(f), 0);

    /* 0x0000 is always accepted, without PGERR. */
    assert_int_equal(call(f, OP_PROGRAM, a, 0x0000, 2), SR_EOP);
    f->expect[0x800] = 0;
    f->expect[0x801] = 0;
    check_flash(f);
}

static void test_wrong_width_is_bus_error(void **state)
{
    fixture *f = *state;
    unlock(f);
    uint32_t a = FLASH_BASE + 0x1000;

    /* A word store with PG set: bus error, the core faults (no BKPT). */
    call_faults(f, OP_PROGRAM, a, 0x11223344, 4);
    check_flash(f);
    thumb_halt(f->b);
    assert_int_equal(sr(f) & (SR_PGERR | SR_EOP), 0);

    /* A byte store too. */
    call_faults(f, OP_PROGRAM, a, 0x55, 1);
    check_flash(f);
    thumb_halt(f->b);

    /* The debugger's AHB-AP gets the same answer, and the half-word it is
     * allowed programs (CR is still unlocked with PG set). */
    assert_int_equal(rd32(f->b, CR_ADDR) & (CR_LOCK | CR_PG), CR_PG);
    uint32_t w = 0xA5A5A5A5, fault = 0;
    assert_int_equal(sim_board_mem_write(f->b, a, &w, 4, 4, &fault), SIM_E_BUS);
    assert_int_equal(fault, a);
    uint8_t byte = 0x5A;
    assert_int_equal(sim_board_mem_write(f->b, a + 1, &byte, 1, 1, NULL), SIM_E_BUS);
    check_flash(f);
    uint16_t h = 0xC0DE;
    assert_int_equal(sim_board_mem_write(f->b, a, &h, 2, 2, NULL), SIM_OK);
    f->expect[0x1000] = 0xDE;
    f->expect[0x1001] = 0xC0;
    advance_to(f, sim_board_now_ns(f->b) + T_PROG_NS);
    assert_int_equal(sr(f), SR_EOP);
    check_flash(f);
}

static void test_locked_controller_refuses(void **state)
{
    fixture *f = *state;
    preload_all(f);
    uint32_t a = FLASH_BASE + 7 * PAGE;
    memset(f->expect + 7 * PAGE, 0xFF, PAGE);
    preload_expect(f, a, PAGE);

    /* CR is not writable while locked: PG, PER, STRT do not stick. */
    assert_int_equal(call(f, OP_WRITE_REG, OFF_CR, CR_PG, 0), CR_LOCK);
    /* A half-word store with the FPEC locked changes nothing [U: no flag]. */
    assert_int_equal(call(f, OP_STORE, a, 0x1234, 2), 0);
    /* An erase request does nothing either. */
    assert_int_equal(call(f, OP_ERASE_PAGE, a - PAGE, 1, 0), 0);
    check_flash(f);
    assert_int_equal(rd32(f->b, CR_ADDR), CR_LOCK);

    /* Unlocked, then relocked by software: refused again. */
    unlock(f);
    assert_true(call(f, OP_LOCK, 0, 0, 0) & CR_LOCK);
    assert_int_equal(call(f, OP_PROGRAM, a, 0x1234, 2), 0);
    check_flash(f);
}

static void test_wrong_key_locks_until_reset(void **state)
{
    fixture *f = *state;
    /* Wrong KEY2: bus error on the second write (RM0091 3.2.2). */
    call_faults(f, OP_UNLOCK, KEY1, 0x12345678, 0);
    thumb_halt(f->b);
    assert_true(rd32(f->b, CR_ADDR) & CR_LOCK);
    /* Locked up until reset: even the right keys are refused now. */
    assert_int_equal(sim_board_write32(f->b, KEYR, KEY1), SIM_E_BUS);
    call_faults(f, OP_UNLOCK, KEY1, KEY2, 0);
    thumb_halt(f->b);
    assert_true(rd32(f->b, CR_ADDR) & CR_LOCK);

    /* A system reset (NRST) frees it. */
    nrst_pulse(f);
    unlock(f);

    /* Wrong KEY1: bus error on the first write. */
    nrst_pulse(f);
    call_faults(f, OP_UNLOCK, 0x45670124, KEY2, 0);
    thumb_halt(f->b);
    assert_true(rd32(f->b, CR_ADDR) & CR_LOCK);

    /* The keys written again while unlocked are harmless on the F1 (OpenOCD
     * does that between option erase and program). */
    nrst_pulse(f);
    unlock(f);
    unlock(f);
    assert_int_equal(call(f, OP_PROGRAM, FLASH_BASE, 0x4321, 2), SR_EOP);
    f->expect[0] = 0x21;
    f->expect[1] = 0x43;
    check_flash(f);
}

static void test_write_during_busy(void **state)
{
    fixture *f = *state;
    unlock(f);
    /* Two half-word stores back to back: the second waits on the bus for
     * the first program to end, then programs too. */
    uint32_t a = FLASH_BASE + 0x4000;
    uint64_t t0 = sim_board_now_ns(f->b);
    assert_int_equal(call(f, OP_PROGRAM_PAIR, a, 0xBBBBAAAA, 0), SR_EOP);
    uint64_t t1 = sim_board_now_ns(f->b);
    assert_true(t1 - t0 >= 2 * T_PROG_NS);
    assert_true(t1 - t0 < 2 * T_PROG_NS + 200000);
    memcpy(f->expect + 0x4000, "\xAA\xAA\xBB\xBB", 4);
    check_flash(f);
    wr32(f->b, SR_ADDR, SR_EOP);

    /* A CR write while BSY is not taken (RM0091 3.2.2 "registers are not
     * accessible in write mode when BSY is set"): PER and STRT stay. */
    uint32_t cr = call(f, OP_ERASE_THEN_CR, a, 0, 0);
    assert_int_equal(cr & (CR_PER | CR_STRT), CR_PER | CR_STRT);
    assert_true(sr(f) & SR_BSY);

    /* A debugger read of the busy array stalls until the erase is over. */
    uint64_t r0 = sim_board_now_ns(f->b);
    uint32_t v = 0;
    assert_int_equal(sim_board_read32(f->b, a, &v), SIM_OK);
    assert_int_equal(v, 0xFFFFFFFFu);
    assert_true(sim_board_now_ns(f->b) - r0 > T_ERASE_NS - 200000);
    assert_false(sr(f) & SR_BSY);
    assert_int_equal(sr(f), SR_EOP);
    assert_false(rd32(f->b, CR_ADDR) & CR_STRT);
    memset(f->expect + 0x4000, 0xFF, PAGE);
    check_flash(f);
}

static void test_error_flags_latch(void **state)
{
    fixture *f = *state;
    assert_int_equal(sim_board_inject(f->b, SIM_FAULT_STALE_FLASH_ERRORS, 0), SIM_OK);
    assert_int_equal(sr(f), SR_PGERR | SR_WRPRTERR);
    /* They survive a successful operation (PGERR is only a warning on the
     * F1: the program itself proceeds). */
    unlock(f);
    assert_int_equal(call(f, OP_PROGRAM, FLASH_BASE + 2, 0x0102, 2),
                     SR_PGERR | SR_WRPRTERR | SR_EOP);
    f->expect[2] = 0x02;
    f->expect[3] = 0x01;
    check_flash(f);
    /* Writing 0 clears nothing; a byte store clears only its lane. */
    wr32(f->b, SR_ADDR, 0);
    assert_int_equal(sr(f), SR_PGERR | SR_WRPRTERR | SR_EOP);
    uint8_t one = SR_WRPRTERR;
    assert_int_equal(sim_board_mem_write(f->b, SR_ADDR, &one, 1, 1, NULL), SIM_OK);
    assert_int_equal(sr(f), SR_PGERR | SR_EOP);
    assert_int_equal(call(f, OP_WRITE_REG, OFF_SR, SR_PGERR | SR_EOP, 0), 0);
}

static void test_erase_granularity(void **state)
{
    fixture *f = *state;
    preload_all(f);
    unlock(f);
    /* Page 10 by its first byte, page 20 by its last: only those. */
    assert_int_equal(call(f, OP_ERASE_PAGE, FLASH_BASE + 10 * PAGE, 1, 0), SR_EOP);
    memset(f->expect + 10 * PAGE, 0xFF, PAGE);
    check_flash(f);
    assert_int_equal(call(f, OP_ERASE_PAGE, FLASH_BASE + 21 * PAGE - 1, 1, 0), SR_EOP);
    memset(f->expect + 20 * PAGE, 0xFF, PAGE);
    check_flash(f);
    /* The last page. */
    assert_int_equal(call(f, OP_ERASE_PAGE, FLASH_BASE + FLASH_SIZE - 2, 1, 0), SR_EOP);
    memset(f->expect + FLASH_SIZE - PAGE, 0xFF, PAGE);
    check_flash(f);

    /* Mass erase: all of main flash, the option bytes untouched. */
    uint8_t opt_before[16], opt_after[16];
    assert_int_equal(sim_board_mem_read(f->b, OPT_BASE, opt_before, 16, 4, NULL), SIM_OK);
    assert_int_equal(call(f, OP_MASS_ERASE, 1, 0, 0), SR_EOP);
    memset(f->expect, 0xFF, FLASH_SIZE);
    check_flash(f);
    assert_int_equal(sim_board_mem_read(f->b, OPT_BASE, opt_after, 16, 4, NULL), SIM_OK);
    assert_memory_equal(opt_before, opt_after, 16);
}

static void test_busy_durations(void **state)
{
    fixture *f = *state;
    unlock(f);

    /* Page erase: 30 ms (DS5319 Table 28, 20-40 ms). */
    uint64_t t0 = sim_board_now_ns(f->b);
    assert_true(call(f, OP_ERASE_PAGE, FLASH_BASE + 3 * PAGE, 0, 0) & SR_BSY);
    uint64_t t1 = sim_board_now_ns(f->b);
    check_busy_for(f, t0, t1, T_ERASE_NS);
    wr32(f->b, SR_ADDR, SR_EOP);

    /* Mass erase: 30 ms (tME 20-40 ms). */
    t0 = sim_board_now_ns(f->b);
    assert_true(call(f, OP_MASS_ERASE, 0, 0, 0) & SR_BSY);
    t1 = sim_board_now_ns(f->b);
    check_busy_for(f, t0, t1, T_ERASE_NS);
    wr32(f->b, SR_ADDR, SR_EOP);

    /* Half-word program: 52.5 us (tprog typ), from the debugger. */
    call(f, OP_WRITE_REG, OFF_CR, CR_PG, 0);
    uint16_t h = 0x7E57;
    t0 = sim_board_now_ns(f->b);
    assert_int_equal(sim_board_mem_write(f->b, FLASH_BASE + 0x40, &h, 2, 2, NULL), SIM_OK);
    t1 = sim_board_now_ns(f->b);
    check_busy_for(f, t0, t1, T_PROG_NS);
    f->expect[0x40] = 0x57;
    f->expect[0x41] = 0x7E;
    check_flash(f);

    /* From the core, a program op including its BSY poll lasts the program
     * time plus a few instructions. */
    t0 = sim_board_now_ns(f->b);
    assert_int_equal(call(f, OP_PROGRAM, FLASH_BASE + 0x42, 0x0001, 2), SR_EOP);
    t1 = sim_board_now_ns(f->b);
    assert_in_range(t1 - t0, T_PROG_NS, T_PROG_NS + 100000);
}

static void test_option_bytes_and_write_protection(void **state)
{
    fixture *f = *state;
    /* Factory options: unprotected, nothing write-protected. */
    assert_int_equal(rd32(f->b, OBR_ADDR), 0x03FFFFFCu);
    assert_int_equal(rd32(f->b, WRPR), 0xFFFFFFFFu);
    uint8_t img[16];
    assert_int_equal(sim_board_mem_read(f->b, OPT_BASE, img, 16, 4, NULL), SIM_OK);
    assert_int_equal(img[0], 0xA5);
    assert_int_equal(img[1], 0x5A);

    preload_all(f);
    unlock(f);
    /* OPTWRE needs OPTKEYR keys after the KEYR unlock. */
    assert_false(call(f, OP_READ_REG, OFF_CR, 0, 0) & CR_OPTWRE);
    assert_true(call(f, OP_OPT_UNLOCK, KEY1, KEY2, 0) & CR_OPTWRE);

    assert_int_equal(call(f, OP_OPT_ERASE, 0, 0, 0), SR_EOP);
    assert_int_equal(sim_board_mem_read(f->b, OPT_BASE, img, 16, 4, NULL), SIM_OK);
    for (int i = 0; i < 16; i++)
        assert_int_equal(img[i], 0xFF);
    /* RDP back to 0xA5: the chip was not protected, so no mass erase. The
     * hardware writes the complement itself. */
    assert_int_equal(call(f, OP_OPT_PROGRAM, OPT_BASE, 0x00A5, 0), SR_EOP);
    check_flash(f);
    /* WRP0 = 0xFE: pages 0-3 protected from the next reset on. */
    assert_int_equal(call(f, OP_OPT_PROGRAM, OPT_BASE + 8, 0xFFFE, 0), SR_EOP);
    assert_int_equal(sim_board_mem_read(f->b, OPT_BASE, img, 16, 4, NULL), SIM_OK);
    assert_int_equal(img[0], 0xA5);
    assert_int_equal(img[1], 0x5A);
    assert_int_equal(img[8], 0xFE);
    assert_int_equal(img[9], 0x01);
    /* Programming an option half-word that is not erased: WRPRTERR. */
    assert_int_equal(call(f, OP_OPT_PROGRAM, OPT_BASE + 8, 0x0000, 0), SR_EOP | SR_WRPRTERR);
    wr32(f->b, SR_ADDR, SR_EOP | SR_WRPRTERR);
    /* Not loaded yet: WRPR still the old value (no OBL_LAUNCH on the F1). */
    assert_int_equal(rd32(f->b, WRPR), 0xFFFFFFFFu);

    nrst_pulse(f);
    assert_int_equal(rd32(f->b, WRPR), 0xFFFFFFFEu);
    /* The erased USER/DATA bytes load as 0xFF, RDP as unprotected. */
    assert_int_equal(rd32(f->b, OBR_ADDR), 0x03FFFFFCu);
    unlock(f);
    /* Page 2 is protected: erase and program skipped with WRPRTERR. */
    assert_int_equal(call(f, OP_ERASE_PAGE, FLASH_BASE + 2 * PAGE, 1, 0), SR_WRPRTERR);
    wr32(f->b, SR_ADDR, SR_WRPRTERR);
    assert_int_equal(call(f, OP_ERASE_PAGE, FLASH_BASE + 4 * PAGE, 1, 0), SR_EOP);
    memset(f->expect + 4 * PAGE, 0xFF, PAGE);
    assert_int_equal(call(f, OP_PROGRAM, FLASH_BASE + 3 * PAGE, 0x0000, 2), SR_EOP | SR_WRPRTERR);
    wr32(f->b, SR_ADDR, SR_EOP | SR_WRPRTERR);
    /* Mass erase over a protected page is refused as a whole [U]. */
    assert_int_equal(call(f, OP_MASS_ERASE, 1, 0, 0), SR_WRPRTERR);
    check_flash(f);
}

static void test_rdp1(void **state)
{
    fixture *f = *state;
    preload_all(f);
    /* RDP byte 0x00 in the options; the board power-cycles to load it. */
    assert_int_equal(sim_board_inject(f->b, SIM_FAULT_RDP1, 0), SIM_OK);
    assert_true(rd32(f->b, OBR_ADDR) & OBR_RDPRT);
    /* The debugger cannot read main flash, but can read the options. */
    uint32_t v = 0;
    assert_int_equal(sim_board_read32(f->b, FLASH_BASE + 0x100, &v), SIM_E_BUS);
    assert_int_equal(sim_board_read32(f->b, OPT_BASE, &v), SIM_OK);
    assert_int_equal(v & 0xFFFF, 0xFF00);

    /* Power-on lost SRAM: load the program again. With the debugger
     * attached, program and erase of main flash are refused. */
    thumb_load(f->b, prog_f1, prog_f1_len);
    unlock(f);
    assert_int_equal(call(f, OP_ERASE_PAGE, FLASH_BASE + 9 * PAGE, 1, 0), SR_WRPRTERR);
    assert_int_equal(call(f, OP_PROGRAM, FLASH_BASE + 9 * PAGE, 0x0000, 2), SR_WRPRTERR);
    assert_int_equal(call(f, OP_MASS_ERASE, 1, 0, 0), SR_WRPRTERR);
    check_flash(f);
    wr32(f->b, SR_ADDR, SR_WRPRTERR);

    /* Unprotect: erase the options, write RDP = 0xA5. The FPEC mass-erases
     * main flash before it writes the byte: 30 ms + 52.5 us. */
    assert_true(call(f, OP_OPT_UNLOCK, KEY1, KEY2, 0) & CR_OPTWRE);
    assert_int_equal(call(f, OP_OPT_ERASE, 0, 0, 0), SR_EOP);
    uint64_t t0 = sim_board_now_ns(f->b);
    assert_int_equal(call(f, OP_OPT_PROGRAM, OPT_BASE, 0x00A5, 0), SR_EOP);
    uint64_t t1 = sim_board_now_ns(f->b);
    assert_in_range(t1 - t0, T_ERASE_NS + T_PROG_NS, T_ERASE_NS + T_PROG_NS + 200000);
    memset(f->expect, 0xFF, FLASH_SIZE);
    check_flash(f);
    /* Still protected until the options load at reset. */
    assert_int_equal(sim_board_read32(f->b, FLASH_BASE, &v), SIM_E_BUS);
    nrst_pulse(f);
    assert_false(rd32(f->b, OBR_ADDR) & OBR_RDPRT);
    assert_int_equal(sim_board_read32(f->b, FLASH_BASE + 0x100, &v), SIM_OK);
    assert_int_equal(v, 0xFFFFFFFFu);
}

static void test_bad_cell_takes_no_write(void **state)
{
    fixture *f = *state;
    uint32_t a = FLASH_BASE + 0x3000;
    assert_int_equal(sim_board_inject(f->b, SIM_FAULT_BAD_CELL, a + 1), SIM_OK);
    unlock(f);
    /* The controller reports success; the cell keeps its old content. */
    assert_int_equal(call(f, OP_PROGRAM, a, 0x1234, 2), SR_EOP);
    assert_int_equal(call(f, OP_PROGRAM, a + 2, 0x5678, 2), SR_EOP);
    f->expect[0x3002] = 0x78;
    f->expect[0x3003] = 0x56;
    check_flash(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(test_unlock_erase_program, &chip),
        FIXTURE_TEST(test_program_not_erased, &chip),
        FIXTURE_TEST(test_wrong_width_is_bus_error, &chip),
        FIXTURE_TEST(test_locked_controller_refuses, &chip),
        FIXTURE_TEST(test_wrong_key_locks_until_reset, &chip),
        FIXTURE_TEST(test_write_during_busy, &chip),
        FIXTURE_TEST(test_error_flags_latch, &chip),
        FIXTURE_TEST(test_erase_granularity, &chip),
        FIXTURE_TEST(test_busy_durations, &chip),
        FIXTURE_TEST(test_option_bytes_and_write_protection, &chip),
        FIXTURE_TEST(test_rdp1, &chip),
        FIXTURE_TEST(test_bad_cell_takes_no_write, &chip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
