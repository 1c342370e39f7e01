/*
 * The STM32H7A3/H7B3/H7B0 embedded flash (sim/target/flash_h7.c, variants
 * sim_h7_var_h7a3/h7b0) on the stm32h7a3zi row and the stm32h7b0vb part,
 * driven by real Thumb code running from DTCM (progs/prog_h7ab.c) and by
 * the debugger. Expectations are written here from RM0455 section 4 (and
 * the part's SVD for the reset values), never read from the model:
 *  - identity: DBGMCU_IDCODE at 0x5C001000 (DEV_ID 0x480), the flash size
 *    at 0x08FFF80C (2048 KiB), AXI SRAM 1 MiB from 0x24000000;
 *  - FLASH_CR resets to LOCK alone (no PSIZE); KEYR1 opens CR1;
 *  - a 128-bit flash word (4 x 32-bit stores) programs when complete: EOP,
 *    BSY for the figure the oracle gives; the same word again: DBECCERR,
 *    cells unchanged; a partial word waits (WBNE) until FW (b4) programs
 *    it, the rest reading 0xFF;
 *  - SER + SSN (b12:6) + START (b5) erases an 8 KiB sector of either bank
 *    (sector 127 of bank 2 is the last 8 KiB of flash), its neighbours
 *    untouched; SSN bits that do not exist are not sectors;
 *  - the reset clock is HSI 64 MHz with FLASH_ACR 0x13; LATENCY 1 at 64
 *    MHz (above 44 MHz at VOS3) garbles flash reads, LATENCY 2 is right;
 *  - the timing oracle answers 16-byte flash words and 8 KiB sectors;
 *  - H7B0xB: one bank of 16 sectors, 128 KiB, bank-2 registers read 0.
 */
#include "flash_fixture.h"

#include <stdlib.h>
#include <string.h>

extern const unsigned char prog_h7ab[];
extern const size_t prog_h7ab_len;

enum {
    OP_READ = 0,
    OP_UNLOCK = 2,
    OP_ERASE = 3,
    OP_PROG_WORD = 4,
    OP_STORE = 5,
    OP_FORCE = 6,
};

#define FLASH 0x08000000u
#define BANK2 0x08100000u
#define KIB   1024u

#define REGS   0x52002000u
#define ACR    (REGS + 0x00)
#define CR(b)  (REGS + 0x0C + 0x100u * (b))
#define SR(b)  (REGS + 0x10 + 0x100u * (b))
#define CCR(b) (REGS + 0x14 + 0x100u * (b))

#define KEY1 0x45670123u
#define KEY2 0xCDEF89ABu

#define SR_BSY      (1u << 0)
#define SR_WBNE     (1u << 1)
#define SR_EOP      (1u << 16)
#define SR_DBECCERR (1u << 26)
#define SR_ERRORS   0x1FEE0000u
#define CR_LOCK     (1u << 0)
#define CR_PG       (1u << 1)
#define CR_SER      (1u << 2)
#define SSN(n)      ((uint32_t)(n) << 6)
#define CCR_ALL     0x1FEF0000u

static const fixture_chip h7a3 = {
    .name = "stm32h7a3zi",
    .seed = 9,
    .prog = prog_h7ab,
    .prog_len = &prog_h7ab_len,
    .flash_base = FLASH,
    .flash_size = 2048 * KIB,
    .erased = 0xFF,
    .sr_addr = REGS + 0x10,
    .sr_bsy = SR_BSY,
};

static const fixture_chip h7b0 = {
    .name = "stm32h7b0vb",
    .seed = 10,
    .prog = prog_h7ab,
    .prog_len = &prog_h7ab_len,
    .flash_base = FLASH,
    .flash_size = 128 * KIB,
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
    for (int i = 0; i < 100000 && (rd32(f->b, SR(bank)) & SR_BSY); i++)
        assert_int_equal(sim_board_advance(f->b, 100000), SIM_OK);
    return rd32(f->b, SR(bank));
}

static void fill_expect(fixture *f, uint32_t addr, uint32_t len)
{
    uint8_t *p = f->expect + (addr - FLASH);
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 7 + 3);
    preload_expect(f, addr, len);
}

static void identity_and_reset_values(void **state)
{
    fixture *f = *state;
    assert_int_equal(rd32(f->b, 0x5C001000u) & 0xFFFu, 0x480);
    assert_int_equal(rd32(f->b, 0x08FFF80Cu) & 0xFFFFu, 2048);
    wr32(f->b, 0x24000000u + 1020 * KIB, 0xC0DE0001u);
    assert_int_equal(rd32(f->b, 0x24000000u + 1020 * KIB), 0xC0DE0001u);
    assert_int_equal(rd32(f->b, CR(0)), CR_LOCK);
    assert_int_equal(rd32(f->b, CR(1)), CR_LOCK);
    unlock(f, 0);
    assert_int_equal(rd32(f->b, CR(0)), 0);
    /* clock: HSI 64 MHz, ACR 0x13; 1 WS is too few at VOS3, 2 is right */
    assert_int_equal(sim_board_hclk_hz(f->b), 64000000u);
    assert_int_equal(rd32(f->b, ACR), 0x13u);
    fill_expect(f, FLASH, 64);
    uint32_t v = 0;
    wr32(f->b, ACR, 0x01);
    assert_int_equal(sim_board_mem_read(f->b, FLASH, &v, 4, 4, NULL), SIM_OK);
    assert_int_not_equal(v, 0x18110A03u);
    wr32(f->b, ACR, 0x02);
    assert_int_equal(sim_board_mem_read(f->b, FLASH, &v, 4, 4, NULL), SIM_OK);
    assert_int_equal(v, 0x18110A03u);
}

static void program_word(void **state)
{
    fixture *f = *state;
    sim_flash_timing t;
    assert_int_equal(sim_board_flash_timing(f->b, FLASH + 0x8, 32, &t), SIM_OK);
    assert_int_equal(t.unit_bytes, 16);
    assert_int_equal(t.units, 3);
    assert_int_equal(t.erase_units, 1);
    assert_int_equal(t.program_ns, 3 * (t.program_ns / 3));
    uint64_t word_ns = t.program_ns / 3;

    unlock(f, 0);
    uint32_t s = 0;
    uint64_t ns = timed(f, OP_PROG_WORD, FLASH + 0x30, 0x11110000u, 0, &s);
    assert_int_equal(s & SR_ERRORS, 0);
    assert_true(s & SR_EOP);
    assert_true(ns >= word_ns && ns < word_ns + 10000);
    for (uint32_t i = 0; i < 4; i++)
        expect_word(f, FLASH + 0x30 + 4 * i, 0x11110000u + i);
    check_flash(f);
    clear(f, 0);
    /* the word after it is another flash word: programs on its own */
    assert_int_equal(call(f, OP_PROG_WORD, FLASH + 0x40, 7, 0) & SR_ERRORS, 0);
    for (uint32_t i = 0; i < 4; i++)
        expect_word(f, FLASH + 0x40 + 4 * i, 7 + i);
    clear(f, 0);
    /* the same word again: DBECCERR, cells unchanged */
    assert_true(call(f, OP_PROG_WORD, FLASH + 0x30, 0x22220000u, 0) & SR_DBECCERR);
    check_flash(f);
    clear(f, 0);
    /* a partial word in bank 2 waits until FW (b4) */
    unlock(f, 1);
    wr32(f->b, CR(1), CR_PG);
    s = call(f, OP_STORE, BANK2 + 0x204, 0xA5A5A5A5u, 4);
    assert_true(s & SR_WBNE);
    check_flash(f);
    s = call(f, OP_FORCE, 0, 0, 1);
    assert_true(s & SR_EOP);
    assert_int_equal(s & (SR_WBNE | SR_ERRORS), 0);
    expect_word(f, BANK2 + 0x204, 0xA5A5A5A5u);
    check_flash(f);
}

static void sector_erase_each_bank(void **state)
{
    fixture *f = *state;
    fill_expect(f, FLASH, 2048 * KIB);
    unlock(f, 0);
    unlock(f, 1);
    sim_flash_timing t;
    assert_int_equal(sim_board_flash_timing(f->b, FLASH, 8 * KIB, &t), SIM_OK);
    assert_int_equal(t.erase_units, 1);
    const struct {
        unsigned bank, ssn;
        uint32_t addr;
    } cases[] = {{0, 3, FLASH + 3 * 8 * KIB}, {1, 127, BANK2 + 1016 * KIB}, {1, 0, BANK2}};
    for (size_t i = 0; i < 3; i++) {
        uint64_t t0 = sim_board_now_ns(f->b);
        call(f, OP_ERASE, CR_SER | SSN(cases[i].ssn), 0, cases[i].bank);
        uint64_t t1 = sim_board_now_ns(f->b);
        f->chip = &(fixture_chip){.sr_addr = SR(cases[i].bank), .sr_bsy = SR_BSY};
        uint32_t s = busy_for(f, t0, t1, t.erase_ns);
        f->chip = &h7a3;
        assert_int_equal(s & SR_ERRORS, 0);
        assert_true(s & SR_EOP);
        memset(f->expect + (cases[i].addr - FLASH), 0xFF, 8 * KIB);
        check_flash(f);
        clear(f, cases[i].bank);
    }
    /* the erased word programs again */
    assert_int_equal(call(f, OP_PROG_WORD, BANK2, 9, 0) & SR_ERRORS, 0);
    for (uint32_t i = 0; i < 4; i++)
        expect_word(f, BANK2 + 4 * i, 9 + i);
    check_flash(f);
}

static void h7b0_one_bank(void **state)
{
    fixture *f = *state;
    assert_int_equal(rd32(f->b, 0x5C001000u) & 0xFFFu, 0x480);
    assert_int_equal(rd32(f->b, 0x08FFF80Cu) & 0xFFFFu, 128);
    assert_int_equal(rd32(f->b, CR(1)), 0);
    fill_expect(f, FLASH, 128 * KIB);
    unlock(f, 0);
    call(f, OP_ERASE, CR_SER | SSN(15), 0, 0);
    assert_true(wait_idle(f, 0) & SR_EOP);
    memset(f->expect + 120 * KIB, 0xFF, 8 * KIB);
    check_flash(f);
    clear(f, 0);
    /* sector 16 does not exist: nothing erased, an error */
    call(f, OP_ERASE, CR_SER | SSN(16), 0, 0);
    assert_true(wait_idle(f, 0) & SR_ERRORS);
    check_flash(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(identity_and_reset_values, &h7a3),
        FIXTURE_TEST(program_word, &h7a3),
        FIXTURE_TEST(sector_erase_each_bank, &h7a3),
        FIXTURE_TEST(h7b0_one_bank, &h7b0),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
