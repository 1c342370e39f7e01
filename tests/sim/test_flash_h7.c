/*
 * The STM32H7 embedded flash (sim/target/flash_h7.c) on the stm32h743zi and
 * stm32h723zg rows, driven by real Thumb code running from DTCM
 * (progs/prog_h7.c) and by the debugger. Expectations are written here
 * from RM0433/RM0468 section 4 and DS12110, never read from the model:
 *  - identity: DBGMCU_IDCODE at 0x5C001000 (DEV_ID 0x450 / 0x483), CPUID
 *    0x411FC271, flash size at 0x1FF1E880, the core boots from 0x08000000
 *    (BOOT_ADD0), ITCM RAM at 0, AXI SRAM at 0x24000000;
 *  - KEYR1 0x45670123 / 0xCDEF89AB clears CR1.LOCK (CR reads 0x30: PSIZE
 *    x64 from reset), bank 2 stays locked; a wrong key is a bus error and
 *    the bank stays locked until reset;
 *  - a flash word (8 x 32-bit stores) programs when complete: EOP, BSY for
 *    the DS12110 x64 typical 100 us; CCR clears EOP;
 *  - the same word programmed again: DBECCERR, cells unchanged;
 *  - a partial word waits in the buffer (WBNE) until FW programs it, the
 *    missing bytes reading 0xFF;
 *  - a store into another word while one is half written: INCERR; a byte
 *    written twice: STRBERR; a store without PG: PGSERR; each programs
 *    nothing, and an error left set refuses the next word (PGSERR);
 *  - SER + SNB + START erases a 128 KiB sector of either bank in 1 s
 *    (x64 typical); BER + START a bank in 5 s, the other bank untouched;
 *  - the banks work side by side (RM0433 "Overview of FLASH operations":
 *    a program/erase on one bank while a read or another program/erase
 *    runs on the other): BER on bank 1 then on bank 2 at once ends both
 *    after 5 s, each bank's BSY its own; a read of bank 2 during a bank-1
 *    erase does not wait, a read of bank 1 waits for the erase; OPTCR.MER
 *    erases both banks in 5 s;
 *  - ECC on reads (fault SIM_FAULT_ECC_SINGLE/DOUBLE): a single error reads
 *    right and sets SNECCERR with ECC_FA = the word's index in its bank, a
 *    double error sets DBECCERR and the read is a bus error for the
 *    debugger and the core; ECC_FA keeps the first address and clears with
 *    the flags; an erase removes the error;
 *  - RDP 0xAA -> 0xBB (level 1: the debugger's flash reads fail) -> 0xAA
 *    erases both banks;
 *  - the reset clock is HSI 64 MHz with FLASH_ACR 0x37; LATENCY 0 at 64
 *    MHz (above 45 MHz at VOS3) garbles flash reads, LATENCY 1 is right;
 *  - the timing oracle answers 32-byte words at 100 us, 1 s sectors, 5 s
 *    bank erase;
 *  - H723: one bank, bank-2 registers read 0, sector 7 at 0x080E0000.
 */
#include "flash_fixture.h"

#include <stdlib.h>
#include <string.h>

extern const unsigned char prog_h7[];
extern const size_t prog_h7_len;

enum {
    OP_READ = 0,
    OP_WRITE = 1,
    OP_UNLOCK = 2,
    OP_ERASE = 3,
    OP_PROG_WORD = 4,
    OP_STORE = 5,
    OP_FORCE = 6,
    OP_OPTIONS = 7,
};

#define US    1000ull
#define MS    1000000ull
#define FLASH 0x08000000u
#define BANK2 0x08100000u
#define KIB   1024u

#define REGS        0x52002000u
#define ACR         (REGS + 0x00)
#define OPTKEYR     (REGS + 0x08)
#define CR(b)       (REGS + 0x0C + 0x100u * (b))
#define SR(b)       (REGS + 0x10 + 0x100u * (b))
#define CCR(b)      (REGS + 0x14 + 0x100u * (b))
#define OPTCR       (REGS + 0x18)
#define OPTSR_CUR   (REGS + 0x1C)
#define ECC_FA(b)   (REGS + 0x60 + 0x100u * (b))
#define SR_SNECCERR (1u << 25)

#define KEY1    0x45670123u
#define KEY2    0xCDEF89ABu
#define OPTKEY1 0x08192A3Bu
#define OPTKEY2 0x4C5D6E7Fu

#define SR_BSY      (1u << 0)
#define SR_WBNE     (1u << 1)
#define SR_QW       (1u << 2)
#define SR_EOP      (1u << 16)
#define SR_WRPERR   (1u << 17)
#define SR_PGSERR   (1u << 18)
#define SR_STRBERR  (1u << 19)
#define SR_INCERR   (1u << 21)
#define SR_DBECCERR (1u << 26)
#define SR_ERRORS   0x07EE0000u
#define CR_LOCK     (1u << 0)
#define CR_PG       (1u << 1)
#define CR_SER      (1u << 2)
#define CR_BER      (1u << 3)
#define CR_X64      (3u << 4)
#define SNB(n)      ((uint32_t)(n) << 8)
#define CCR_ALL     0x0FEF0000u

static const fixture_chip h743 = {
    .name = "stm32h743zi",
    .seed = 7,
    .prog = prog_h7,
    .prog_len = &prog_h7_len,
    .flash_base = FLASH,
    .flash_size = 2048 * KIB,
    .erased = 0xFF,
    .sr_addr = REGS + 0x10,
    .sr_bsy = SR_BSY,
    .sr_clear = 0,
    .sr_ignore = 0,
    .sr_idle = 0,
};

static const fixture_chip h723 = {
    .name = "stm32h723zg",
    .seed = 8,
    .prog = prog_h7,
    .prog_len = &prog_h7_len,
    .flash_base = FLASH,
    .flash_size = 1024 * KIB,
    .erased = 0xFF,
    .sr_addr = REGS + 0x10,
    .sr_bsy = SR_BSY,
};

static void clear(fixture *f, unsigned bank)
{
    wr32(f->b, CCR(bank), CCR_ALL);
    assert_int_equal(rd32(f->b, SR(bank)) & (SR_ERRORS | SR_EOP), 0);
}

static void unlock(fixture *f, unsigned bank)
{
    assert_int_equal(call(f, OP_UNLOCK, KEY1, KEY2, bank) & CR_LOCK, 0);
}

static uint32_t wait_idle(fixture *f, unsigned bank)
{
    for (int i = 0; i < 100000 && (rd32(f->b, SR(bank)) & (SR_BSY | SR_QW)); i++)
        assert_int_equal(sim_board_advance(f->b, 1 * MS), SIM_OK);
    return rd32(f->b, SR(bank));
}

/* The 8 words b, b + 1, ... at addr, expected. */
static void expect_flash_word(fixture *f, uint32_t addr, uint32_t b)
{
    for (uint32_t i = 0; i < 8; i++)
        expect_word(f, addr + 4 * i, b + i);
}

static void fill_expect(fixture *f, uint32_t addr, uint32_t len)
{
    uint8_t *p = f->expect + (addr - FLASH);
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 7 + 3);
    preload_expect(f, addr, len);
}

/* ---- identity, memory map, clock ------------------------------------------ */

static void identity_and_memory_map(void **state)
{
    fixture *f = *state;
    assert_int_equal(rd32(f->b, 0x5C001000u) & 0xFFFu, 0x450);
    assert_int_equal(rd32(f->b, 0xE000ED00u), 0x411FC271u);
    assert_int_equal(rd32(f->b, 0x1FF1E880u) & 0xFFFFu, 2048);
    assert_int_equal(sim_board_dp_idcode(f->b), 0x6BA02477u);
    /* ITCM, AXI SRAM, SRAM1 and SRAM4 are RAM */
    const uint32_t ram[] = {0x00000000u, 0x24000000u, 0x30000000u, 0x38000000u};
    for (size_t i = 0; i < 4; i++) {
        wr32(f->b, ram[i] + 0x10, 0xC0DE0000u + (uint32_t)i);
        assert_int_equal(rd32(f->b, ram[i] + 0x10), 0xC0DE0000u + (uint32_t)i);
    }
    /* the core boots from BOOT_ADD0 = 0x08000000: SP and PC from there */
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
    assert_int_equal(sim_board_hclk_hz(f->b), 64000000u);
    assert_int_equal(rd32(f->b, ACR), 0x37u);
    fill_expect(f, FLASH, 64);
    uint32_t v = 0;
    wr32(f->b, ACR, 0x00); /* 0 WS: up to 45 MHz at VOS3 */
    assert_int_equal(sim_board_mem_read(f->b, FLASH, &v, 4, 4, NULL), SIM_OK);
    assert_int_not_equal(v, 0x18110A03u);
    wr32(f->b, ACR, 0x01);
    assert_int_equal(sim_board_mem_read(f->b, FLASH, &v, 4, 4, NULL), SIM_OK);
    assert_int_equal(v, 0x18110A03u);
}

/* ---- keys -------------------------------------------------------------------- */

static void keys_per_bank(void **state)
{
    fixture *f = *state;
    assert_int_equal(rd32(f->b, CR(0)), CR_LOCK | CR_X64);
    unlock(f, 0);
    assert_int_equal(rd32(f->b, CR(0)), CR_X64);
    assert_int_equal(rd32(f->b, CR(1)), CR_LOCK | CR_X64);
    /* a wrong key on bank 2: bus error, locked until reset */
    call_faults(f, OP_UNLOCK, KEY2, KEY1, 1);
    thumb_halt(f->b);
    call_faults(f, OP_UNLOCK, KEY1, KEY2, 1);
    thumb_halt(f->b);
    assert_true(rd32(f->b, CR(1)) & CR_LOCK);
    nrst_pulse(f);
    thumb_halt(f->b);
    thumb_load(f->b, prog_h7, prog_h7_len);
    unlock(f, 1);
    assert_int_equal(rd32(f->b, CR(1)), CR_X64);
}

/* ---- programming --------------------------------------------------------------- */

static void program_word_once(void **state)
{
    fixture *f = *state;
    unlock(f, 0);
    uint32_t s = 0;
    uint64_t ns = timed(f, OP_PROG_WORD, FLASH + 0x40, 0x11110000u, 0, &s);
    assert_int_equal(s & SR_ERRORS, 0);
    assert_true(s & SR_EOP);
    assert_true(ns >= 100 * US && ns < 110 * US);
    expect_flash_word(f, FLASH + 0x40, 0x11110000u);
    check_flash(f);
    clear(f, 0);

    /* the same word again: the ECC no longer matches, cells unchanged */
    s = call(f, OP_PROG_WORD, FLASH + 0x40, 0x22220000u, 0);
    assert_true(s & SR_DBECCERR);
    check_flash(f);
    clear(f, 0);

    /* a word programmed with all ones is written too */
    s = call(f, OP_PROG_WORD, FLASH + 0x60, 0xFFFFFFF0u, 0);
    assert_int_equal(s & SR_ERRORS, 0);
    expect_flash_word(f, FLASH + 0x60, 0xFFFFFFF0u);
    clear(f, 0);
    assert_true(call(f, OP_PROG_WORD, FLASH + 0x60, 0, 0) & SR_DBECCERR);
    check_flash(f);
}

static void partial_word_and_fw(void **state)
{
    fixture *f = *state;
    unlock(f, 1);
    call(f, OP_WRITE, CR(1), CR_PG | CR_X64, 0);
    uint32_t s = call(f, OP_STORE, BANK2 + 0x104, 0xA5A5A5A5u, 4);
    assert_true(s & SR_WBNE);
    assert_int_equal(s & (SR_EOP | SR_ERRORS), 0);
    check_flash(f); /* nothing yet */
    s = call(f, OP_FORCE, 0, 0, 1);
    assert_true(s & SR_EOP);
    assert_int_equal(s & (SR_WBNE | SR_ERRORS), 0);
    expect_word(f, BANK2 + 0x104, 0xA5A5A5A5u);
    check_flash(f);
}

static void write_buffer_errors(void **state)
{
    fixture *f = *state;
    unlock(f, 0);
    call(f, OP_WRITE, CR(0), CR_PG | CR_X64, 0);
    /* another flash word before the first is complete: INCERR */
    call(f, OP_STORE, FLASH + 0x200, 1, 4);
    assert_true(call(f, OP_STORE, FLASH + 0x220, 2, 4) & SR_INCERR);
    clear(f, 0);
    /* an error left set refuses the next word */
    wr32(f->b, CCR(0), 0);
    call(f, OP_STORE, FLASH + 0x300, 1, 1);
    assert_true(call(f, OP_STORE, FLASH + 0x300, 2, 1) & SR_STRBERR); /* the same byte twice */
    assert_true(call(f, OP_PROG_WORD, FLASH + 0x400, 5, 0) & SR_PGSERR);
    check_flash(f);
    clear(f, 0);
    /* without PG: PGSERR */
    call(f, OP_WRITE, CR(0), CR_X64, 0);
    assert_true(call(f, OP_STORE, FLASH + 0x500, 1, 4) & SR_PGSERR);
    check_flash(f);
    clear(f, 0);
    /* after clearing, the word programs */
    assert_int_equal(call(f, OP_PROG_WORD, FLASH + 0x400, 5, 0) & SR_ERRORS, 0);
    expect_flash_word(f, FLASH + 0x400, 5);
    check_flash(f);
}

/* ---- erase ------------------------------------------------------------------------ */

static void sector_erase_each_bank(void **state)
{
    fixture *f = *state;
    fill_expect(f, FLASH, 2048 * KIB);
    unlock(f, 0);
    unlock(f, 1);
    const struct {
        unsigned bank, snb;
        uint32_t addr;
    } cases[] = {{0, 1, FLASH + 0x20000}, {1, 7, BANK2 + 0xE0000}, {1, 0, BANK2}};
    for (size_t i = 0; i < 3; i++) {
        uint64_t t0 = sim_board_now_ns(f->b);
        call(f, OP_ERASE, CR_SER | SNB(cases[i].snb) | CR_X64, 0, cases[i].bank);
        uint64_t t1 = sim_board_now_ns(f->b);
        f->chip = &(fixture_chip){.sr_addr = SR(cases[i].bank),
                                  .sr_bsy = SR_BSY,
                                  .flash_size = 2048 * KIB,
                                  .flash_base = FLASH};
        uint32_t s = busy_for(f, t0, t1, 1000 * MS); /* DS12110: 1 s at x64 */
        f->chip = &h743;
        assert_int_equal(s & SR_ERRORS, 0);
        assert_true(s & SR_EOP);
        memset(f->expect + (cases[i].addr - FLASH), 0xFF, 128 * KIB);
        check_flash(f);
        clear(f, cases[i].bank);
    }
    /* the word erased can be programmed again */
    assert_int_equal(call(f, OP_PROG_WORD, FLASH + 0x20000, 9, 0) & SR_ERRORS, 0);
    expect_flash_word(f, FLASH + 0x20000, 9);
    check_flash(f);
}

static void bank_erase(void **state)
{
    fixture *f = *state;
    fill_expect(f, FLASH, 2048 * KIB);
    unlock(f, 1);
    uint64_t t0 = sim_board_now_ns(f->b);
    call(f, OP_ERASE, CR_BER | CR_X64, 0, 1);
    uint64_t t1 = sim_board_now_ns(f->b);
    assert_true(rd32(f->b, SR(1)) & SR_QW);
    assert_int_equal(rd32(f->b, SR(0)) & SR_BSY, 0);
    f->chip = &(fixture_chip){.sr_addr = SR(1), .sr_bsy = SR_BSY};
    uint32_t s = busy_for(f, t0, t1, 5000 * MS); /* DS12110: 5 s at x64 */
    f->chip = &h743;
    assert_true(s & SR_EOP);
    memset(f->expect + 1024 * KIB, 0xFF, 1024 * KIB);
    check_flash(f);
}

static void banks_side_by_side(void **state)
{
    fixture *f = *state;
    fill_expect(f, FLASH, 2048 * KIB);
    unlock(f, 0);
    unlock(f, 1);
    uint64_t t0 = sim_board_now_ns(f->b);
    call(f, OP_ERASE, CR_BER | CR_X64, 0, 0);
    call(f, OP_ERASE, CR_BER | CR_X64, 0, 1);
    uint64_t t1 = sim_board_now_ns(f->b);
    assert_true(t1 - t0 < 1 * MS); /* bank 2's START did not wait for bank 1 */
    assert_true(rd32(f->b, SR(0)) & SR_BSY);
    assert_true(rd32(f->b, SR(1)) & SR_BSY);
    advance_to(f, t0 + 5000 * MS - 1 * MS);
    assert_true(rd32(f->b, SR(0)) & SR_BSY);
    assert_true(rd32(f->b, SR(1)) & SR_BSY);
    advance_to(f, t1 + 5000 * MS);
    assert_true(rd32(f->b, SR(0)) & SR_EOP);
    assert_true(rd32(f->b, SR(1)) & SR_EOP);
    assert_int_equal((rd32(f->b, SR(0)) | rd32(f->b, SR(1))) & SR_BSY, 0);
    memset(f->expect, 0xFF, 2048 * KIB);
    check_flash(f);
    clear(f, 0);
    clear(f, 1);

    /* read-while-write: bank 2 reads at once while bank 1 erases a
     * sector, bank 1 waits for it */
    fill_expect(f, BANK2, 64);
    call(f, OP_ERASE, CR_SER | SNB(2) | CR_X64, 0, 0);
    uint64_t t2 = sim_board_now_ns(f->b);
    uint32_t v = 0;
    assert_int_equal(sim_board_mem_read(f->b, BANK2, &v, 4, 4, NULL), SIM_OK);
    assert_int_equal(v, 0x18110A03u);
    assert_true(sim_board_now_ns(f->b) - t2 < 1 * MS);
    assert_int_equal(sim_board_mem_read(f->b, FLASH + 0x40000, &v, 4, 4, NULL), SIM_OK);
    assert_true(sim_board_now_ns(f->b) >= t2 + 1000 * MS - 1 * MS);
    clear(f, 0);

    /* OPTCR.MER: both banks side by side, 5 s */
    fill_expect(f, FLASH, 2048 * KIB);
    wr32(f->b, OPTKEYR, OPTKEY1);
    wr32(f->b, OPTKEYR, OPTKEY2);
    uint64_t t3 = sim_board_now_ns(f->b);
    wr32(f->b, OPTCR, 1u << 4);
    assert_true(rd32(f->b, SR(0)) & SR_BSY);
    assert_true(rd32(f->b, SR(1)) & SR_BSY);
    advance_to(f, t3 + 5000 * MS + 1 * MS);
    assert_int_equal((rd32(f->b, SR(0)) | rd32(f->b, SR(1))) & SR_BSY, 0);
    memset(f->expect, 0xFF, 2048 * KIB);
    check_flash(f);
}

static void ecc_errors_on_read(void **state)
{
    fixture *f = *state;
    fill_expect(f, FLASH, 2048 * KIB);
    assert_int_equal(sim_board_inject(f->b, SIM_FAULT_ECC_SINGLE, FLASH + 0x104), SIM_OK);
    assert_int_equal(sim_board_inject(f->b, SIM_FAULT_ECC_DOUBLE, BANK2 + 0x40), SIM_OK);
    assert_int_equal(sim_board_inject(f->b, SIM_FAULT_ECC_DOUBLE, FLASH + 0x200), SIM_OK);
    uint32_t v = 0;
    /* single: corrected, flagged, the word's index in bank 1 */
    assert_int_equal(sim_board_mem_read(f->b, FLASH + 0x100, &v, 4, 4, NULL), SIM_OK);
    assert_int_equal(v, 0x18110A03u);
    assert_true(rd32(f->b, SR(0)) & SR_SNECCERR);
    assert_int_equal(rd32(f->b, ECC_FA(0)), 0x100 / 32);
    /* double in bank 1: flagged, ECC_FA keeps the first address */
    assert_int_equal(sim_board_mem_read(f->b, FLASH + 0x200, &v, 4, 4, NULL), SIM_E_BUS);
    assert_true(rd32(f->b, SR(0)) & SR_DBECCERR);
    assert_int_equal(rd32(f->b, ECC_FA(0)), 0x100 / 32);
    clear(f, 0);
    assert_int_equal(rd32(f->b, ECC_FA(0)), 0);
    /* double in bank 2: a bus error for the debugger and for the core */
    assert_int_equal(sim_board_mem_read(f->b, BANK2 + 0x44, &v, 4, 4, NULL), SIM_E_BUS);
    assert_true(rd32(f->b, SR(1)) & SR_DBECCERR);
    assert_int_equal(rd32(f->b, ECC_FA(1)), 0x40 / 32);
    clear(f, 1);
    call_faults(f, OP_READ, BANK2 + 0x48, 0, 0);
    thumb_halt(f->b);
    assert_true(rd32(f->b, SR(1)) & SR_DBECCERR);
    clear(f, 1);
    /* the rest of the array reads without errors */
    thumb_load(f->b, prog_h7, prog_h7_len);
    assert_int_equal(call(f, OP_READ, BANK2 + 0x60, 0, 0), 0xB8B1AAA3u);
    assert_int_equal(rd32(f->b, SR(1)) & SR_ERRORS, 0);
    /* an erase of the sector removes the error */
    unlock(f, 1);
    call(f, OP_ERASE, CR_SER | SNB(0) | CR_X64, 0, 1);
    wait_idle(f, 1);
    clear(f, 1);
    assert_int_equal(sim_board_mem_read(f->b, BANK2 + 0x40, &v, 4, 4, NULL), SIM_OK);
    assert_int_equal(v, 0xFFFFFFFFu);
    assert_int_equal(rd32(f->b, SR(1)) & SR_ERRORS, 0);
    memset(f->expect + 1024 * KIB, 0xFF, 128 * KIB);
    check_flash(f);
}

/* ---- options ------------------------------------------------------------------------ */

static void options(fixture *f, uint32_t optsr)
{
    assert_true(rd32(f->b, OPTCR) & 1u); /* OPTLOCK */
    wr32(f->b, OPTKEYR, OPTKEY1);
    wr32(f->b, OPTKEYR, OPTKEY2);
    assert_int_equal(rd32(f->b, OPTCR) & 1u, 0);
    call(f, OP_OPTIONS, optsr, 0, 0);
    for (int i = 0; i < 100000 && (rd32(f->b, OPTSR_CUR) & 1u); i++)
        assert_int_equal(sim_board_advance(f->b, 1 * MS), SIM_OK);
    wr32(f->b, OPTCR, 1u); /* OPTLOCK again */
}

static void rdp_0_1_0_mass_erases(void **state)
{
    fixture *f = *state;
    fill_expect(f, FLASH, 2048 * KIB);
    uint32_t cur = rd32(f->b, OPTSR_CUR);
    assert_int_equal(cur & 0xFF00u, 0xAA00u);
    options(f, (cur & ~0xFF00u) | 0xBB00u);
    assert_int_equal(rd32(f->b, OPTSR_CUR) & 0xFF00u, 0xBB00u);
    check_flash(f); /* level 1 alone erases nothing */
    uint32_t v = 0;
    assert_int_equal(sim_board_mem_read(f->b, FLASH, &v, 4, 4, NULL), SIM_E_BUS);
    options(f, cur);
    assert_int_equal(rd32(f->b, OPTSR_CUR) & 0xFF00u, 0xAA00u);
    memset(f->expect, 0xFF, 2048 * KIB);
    check_flash(f);
    assert_int_equal(sim_board_mem_read(f->b, FLASH, &v, 4, 4, NULL), SIM_OK);
    assert_int_equal(v, 0xFFFFFFFFu);
}

/* ---- timing oracle and H723 ------------------------------------------------------------ */

static void timing_oracle(void **state)
{
    fixture *f = *state;
    sim_flash_timing t;
    assert_int_equal(sim_board_flash_timing(f->b, FLASH + 0x10, 64, &t), SIM_OK);
    assert_int_equal(t.unit_bytes, 32);
    assert_int_equal(t.units, 3);
    assert_int_equal(t.program_ns, 300 * US);
    assert_int_equal(t.erase_units, 1);
    assert_int_equal(t.erase_ns, 1000 * MS);
    assert_int_equal(t.mass_ns, 5000 * MS);
    assert_string_equal(t.mode, "x64");
}

static void h723_one_bank(void **state)
{
    fixture *f = *state;
    assert_int_equal(rd32(f->b, 0x5C001000u) & 0xFFFu, 0x483);
    assert_int_equal(rd32(f->b, 0x1FF1E880u) & 0xFFFFu, 1024);
    assert_int_equal(rd32(f->b, CR(1)), 0);
    fill_expect(f, FLASH, 1024 * KIB);
    unlock(f, 0);
    call(f, OP_ERASE, CR_SER | SNB(7) | CR_X64, 0, 0);
    assert_true(wait_idle(f, 0) & SR_EOP);
    memset(f->expect + 0xE0000, 0xFF, 128 * KIB);
    check_flash(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(identity_and_memory_map, &h743),
        FIXTURE_TEST(reset_clock_and_wait_states, &h743),
        FIXTURE_TEST(keys_per_bank, &h743),
        FIXTURE_TEST(program_word_once, &h743),
        FIXTURE_TEST(partial_word_and_fw, &h743),
        FIXTURE_TEST(write_buffer_errors, &h743),
        FIXTURE_TEST(sector_erase_each_bank, &h743),
        FIXTURE_TEST(bank_erase, &h743),
        FIXTURE_TEST(banks_side_by_side, &h743),
        FIXTURE_TEST(ecc_errors_on_read, &h743),
        FIXTURE_TEST(rdp_0_1_0_mass_erases, &h743),
        FIXTURE_TEST(timing_oracle, &h743),
        FIXTURE_TEST(h723_one_bank, &h723),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
