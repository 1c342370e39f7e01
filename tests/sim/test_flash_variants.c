/*
 * The flash-controller variants that have no chip row yet, on test rows
 * made from a modelled part's row (sim_board_create_row), driven through
 * the debugger as a probe drives silicon. What each test expects is
 * written here from the reference manuals, never read from the model:
 *  - F10x XL density (RM0008 3.3, 3.4): bank 2's KEYR2/SR2/CR2/AR2 lock,
 *    program and erase bank 2 alone; MER in CR and CR2 erase one bank each;
 *    BSY shows in the bank that works; WRPR bits cover 4 KiB (2 pages of
 *    2 KiB); a one-bank F103 has nothing at 0x44-0x54;
 *  - F0/F3 (RM0091 3.5, RM0316 4.5): OBR with RDPRT b2:1 and USER b15:8;
 *    OBL_LAUNCH loads new option bytes with a system reset; level 1 shows
 *    as 01, level 2 as 11 and then refuses option changes; level 1 -> 0
 *    mass-erases;
 *  - F42x/F43x dual bank (RM0090 3.3, 3.9): SNB[4] selects bank 2 and
 *    codes 12-15 are refused; MER and MER1 erase one bank each; OPTCR1's
 *    nWRP protects bank 2's sectors; a sector erase takes its datasheet
 *    time; the F446 has neither OPTCR1 nor MER1;
 *  - F413/F423: 16 sectors, SNB b6:3 only, sectors 14 and 15 share nWRP14.
 */
#include "board_internal.h"
#include "thumb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#define MS 1000000ull

#define AIRCR_ADDR 0xE000ED0Cu
#define KEY1       0x45670123u
#define KEY2       0xCDEF89ABu

/* ---- F10x / F0 FPEC (RM0008 3.4, RM0091 3.5) --------------------------- */

#define F1_REGS    0x40022000u
#define F1_KEYR    (F1_REGS + 0x04)
#define F1_OPTKEYR (F1_REGS + 0x08)
#define F1_SR      (F1_REGS + 0x0C)
#define F1_CR      (F1_REGS + 0x10)
#define F1_AR      (F1_REGS + 0x14)
#define F1_OBR     (F1_REGS + 0x1C)
#define F1_WRPR    (F1_REGS + 0x20)
#define F1_KEYR2   (F1_REGS + 0x44)
#define F1_SR2     (F1_REGS + 0x4C)
#define F1_CR2     (F1_REGS + 0x50)
#define F1_AR2     (F1_REGS + 0x54)

#define SR_BSY       (1u << 0)
#define SR_WRPRTERR  (1u << 4)
#define SR_EOP       (1u << 5)
#define CR_PG        (1u << 0)
#define CR_PER       (1u << 1)
#define CR_MER       (1u << 2)
#define CR_OPTPG     (1u << 4)
#define CR_OPTER     (1u << 5)
#define CR_STRT      (1u << 6)
#define CR_LOCK      (1u << 7)
#define CR_OBLLAUNCH (1u << 13)
#define OPT_RDP      0x1FFFF800u
#define OPT_WRP0     0x1FFFF808u

#define FLASH  0x08000000u
#define BANK2  0x08080000u /* XL density: bank 2 from 512 KiB */
#define PAGE2K 2048u

static sim_chip xl_row, f0_row, f4db_row;

static void make_rows(void)
{
    xl_row = *sim_chip_find("stm32f103rb");
    xl_row.name = "test-f10x-xl";
    xl_row.flash_size = 1024 * 1024;
    xl_row.page_size = PAGE2K;
    xl_row.flash = &sim_flash_f1_xl;

    f0_row = *sim_chip_find("stm32f103rb");
    f0_row.name = "test-f0-f3";
    f0_row.flash_size = 256 * 1024;
    f0_row.page_size = PAGE2K;
    f0_row.flash = &sim_flash_f0;

    f4db_row = *sim_chip_find("stm32f446re");
    f4db_row.name = "test-f42x-dual";
    f4db_row.flash_size = 2 * 1024 * 1024;
    f4db_row.sys[2].base = 0x1FFEC000; /* bank 2 option bytes */
    f4db_row.sys[2].size = 0x1000;
    f4db_row.flash = &sim_flash_f4_db;
}

static sim_board *board(const sim_chip *row)
{
    sim_board *b = NULL;
    assert_int_equal(sim_board_create_row(row, 3, 0.0, &b), SIM_OK);
    thumb_halt(b); /* blank flash: the core locked up; park it */
    return b;
}

static void wr16(sim_board *b, uint32_t addr, uint16_t v)
{
    assert_int_equal(sim_board_mem_write(b, addr, &v, 2, 2, NULL), SIM_OK);
}

static uint16_t rd16(sim_board *b, uint32_t addr)
{
    uint16_t v = 0;
    assert_int_equal(sim_board_mem_read(b, addr, &v, 2, 2, NULL), SIM_OK);
    return v;
}

static void advance_ms(sim_board *b, uint64_t ms)
{
    assert_int_equal(sim_board_advance(b, ms * MS), SIM_OK);
}

static void fill(sim_board *b, uint32_t addr, uint32_t len, uint8_t v)
{
    static uint8_t buf[4096];
    memset(buf, v, sizeof buf);
    for (uint32_t off = 0; off < len; off += sizeof buf)
        assert_int_equal(sim_board_preload(b, addr + off, buf, sizeof buf), SIM_OK);
}

static bool erased(sim_board *b, uint32_t addr, uint32_t len)
{
    const uint8_t *f = sim_board_flash(b) + (addr - FLASH);
    for (uint32_t i = 0; i < len; i++)
        if (f[i] != 0xFF)
            return false;
    return true;
}

static bool holds(sim_board *b, uint32_t addr, uint32_t len, uint8_t v)
{
    const uint8_t *f = sim_board_flash(b) + (addr - FLASH);
    for (uint32_t i = 0; i < len; i++)
        if (f[i] != v)
            return false;
    return true;
}

static void system_reset(sim_board *b)
{
    wr32(b, AIRCR_ADDR, 0x05FA0004u);
    assert_int_equal(sim_board_advance(b, 1000), SIM_OK);
    thumb_halt(b);
}

/* ---- F10x XL ----------------------------------------------------------- */

static void xl_banks_lock_and_program_alone(void **state)
{
    (void)state;
    sim_board *b = board(&xl_row);
    assert_int_equal(rd32(b, F1_CR), CR_LOCK);
    assert_int_equal(rd32(b, F1_CR2), CR_LOCK);
    wr32(b, F1_KEYR, KEY1);
    wr32(b, F1_KEYR, KEY2);
    assert_int_equal(rd32(b, F1_CR), 0);
    assert_int_equal(rd32(b, F1_CR2), CR_LOCK); /* bank 2 has its own lock */

    /* CR.PG does not program bank 2; CR2 is still locked, so PG does not
     * take there either. */
    wr32(b, F1_CR, CR_PG);
    wr32(b, F1_CR2, CR_PG);
    assert_int_equal(rd32(b, F1_CR2), CR_LOCK);
    wr16(b, BANK2, 0x1234);
    assert_int_equal(rd16(b, BANK2), 0xFFFF);

    wr32(b, F1_KEYR2, KEY1);
    wr32(b, F1_KEYR2, KEY2);
    assert_int_equal(rd32(b, F1_CR2), 0);
    wr32(b, F1_CR2, CR_PG);
    wr16(b, BANK2, 0x1234);
    assert_true(rd32(b, F1_SR2) & SR_BSY);
    assert_false(rd32(b, F1_SR) & SR_BSY); /* bank 1 is idle */
    advance_ms(b, 1);
    assert_int_equal(rd16(b, BANK2), 0x1234);
    assert_true(rd32(b, F1_SR2) & SR_EOP);
    assert_false(rd32(b, F1_SR) & SR_EOP);

    /* Bank 1 programs with CR.PG, reports in SR. */
    wr16(b, FLASH, 0xBEEF);
    advance_ms(b, 1);
    assert_int_equal(rd16(b, FLASH), 0xBEEF);
    assert_true(rd32(b, F1_SR) & SR_EOP);
    sim_board_destroy(b);
}

static void xl_erases_one_bank_at_a_time(void **state)
{
    (void)state;
    sim_board *b = board(&xl_row);
    fill(b, FLASH, 1024 * 1024, 0x00);
    wr32(b, F1_KEYR, KEY1);
    wr32(b, F1_KEYR, KEY2);
    wr32(b, F1_KEYR2, KEY1);
    wr32(b, F1_KEYR2, KEY2);

    /* Page erase in bank 2: CR2.PER + AR2, one 2 KiB page. */
    wr32(b, F1_CR2, CR_PER);
    wr32(b, F1_AR2, BANK2 + PAGE2K);
    wr32(b, F1_CR2, CR_PER | CR_STRT);
    assert_true(rd32(b, F1_SR2) & SR_BSY);
    advance_ms(b, 31); /* tERASE 20-40 ms, the model takes 30 */
    assert_false(rd32(b, F1_SR2) & SR_BSY);
    assert_true(erased(b, BANK2 + PAGE2K, PAGE2K));
    assert_true(holds(b, BANK2, PAGE2K, 0x00));
    assert_true(holds(b, BANK2 + 2 * PAGE2K, PAGE2K, 0x00));

    /* AR of bank 1 pointing into bank 2: nothing is erased. */
    wr32(b, F1_CR, CR_PER);
    wr32(b, F1_AR, BANK2);
    wr32(b, F1_CR, CR_PER | CR_STRT);
    advance_ms(b, 31);
    assert_true(holds(b, BANK2, PAGE2K, 0x00));

    /* MER in CR: bank 1 only. */
    wr32(b, F1_CR, CR_MER);
    wr32(b, F1_CR, CR_MER | CR_STRT);
    advance_ms(b, 31);
    assert_true(erased(b, FLASH, 512 * 1024));
    assert_true(holds(b, BANK2, PAGE2K, 0x00));
    assert_true(holds(b, BANK2 + 512 * 1024 - PAGE2K, PAGE2K, 0x00));

    /* MER in CR2: bank 2 only. */
    wr32(b, F1_CR2, CR_MER);
    wr32(b, F1_CR2, CR_MER | CR_STRT);
    advance_ms(b, 31);
    assert_true(erased(b, FLASH, 1024 * 1024));
    assert_true(rd32(b, F1_SR2) & SR_EOP);
    sim_board_destroy(b);
}

/* Unlock options and erase them; RDP and WRP0 programmed as given. */
static void program_options(sim_board *b, uint8_t rdp, uint8_t wrp0)
{
    wr32(b, F1_KEYR, KEY1);
    wr32(b, F1_KEYR, KEY2);
    wr32(b, F1_OPTKEYR, KEY1);
    wr32(b, F1_OPTKEYR, KEY2);
    wr32(b, F1_CR, CR_OPTER | (1u << 9));
    wr32(b, F1_CR, CR_OPTER | CR_STRT | (1u << 9));
    advance_ms(b, 31);
    wr32(b, F1_CR, CR_OPTPG | (1u << 9));
    wr16(b, OPT_RDP, rdp);
    advance_ms(b, 31); /* level 1 -> 0 adds a mass erase */
    if (wrp0 != 0xFF) {
        wr16(b, OPT_WRP0, wrp0);
        advance_ms(b, 1);
    }
    wr32(b, F1_CR, 1u << 9);
}

static void xl_write_protection_covers_4k_per_bit(void **state)
{
    (void)state;
    sim_board *b = board(&xl_row);
    program_options(b, 0xA5, 0xFD); /* WRP0 bit 1: pages 2-3 */
    system_reset(b);
    assert_int_equal(rd32(b, F1_WRPR) & 0xFF, 0xFD);
    fill(b, FLASH, 8 * PAGE2K, 0x00);
    wr32(b, F1_KEYR, KEY1);
    wr32(b, F1_KEYR, KEY2);
    for (unsigned page = 1; page < 5; page++) {
        wr32(b, F1_SR, SR_WRPRTERR | SR_EOP);
        wr32(b, F1_CR, CR_PER);
        wr32(b, F1_AR, FLASH + page * PAGE2K);
        wr32(b, F1_CR, CR_PER | CR_STRT);
        advance_ms(b, 31);
        bool prot = page == 2 || page == 3;
        assert_int_equal(!!(rd32(b, F1_SR) & SR_WRPRTERR), prot);
        assert_int_equal(erased(b, FLASH + page * PAGE2K, PAGE2K), !prot);
    }
    sim_board_destroy(b);
}

static void one_bank_f103_has_no_bank2_block(void **state)
{
    (void)state;
    sim_board *b = NULL;
    assert_int_equal(sim_board_create("stm32f103rb", 3, 0.0, &b), SIM_OK);
    thumb_halt(b);
    assert_int_equal(rd32(b, F1_CR2), 0);
    wr32(b, F1_KEYR2, KEY1); /* reserved: no key sequence, no bus error */
    wr32(b, F1_CR2, CR_PG);
    assert_int_equal(rd32(b, F1_CR2), 0);
    assert_int_equal(rd32(b, F1_SR2), 0);
    assert_int_equal(rd32(b, F1_CR), CR_LOCK);
    sim_board_destroy(b);
}

/* ---- F0/F3 ------------------------------------------------------------- */

static void f0_obr_layout_and_obl_launch(void **state)
{
    (void)state;
    sim_board *b = board(&f0_row);
    /* Factory: RDP 0xAA level 0, USER/DATA0/DATA1 0xFF, no OPTERR. */
    assert_int_equal(rd32(b, F1_OBR), 0xFFFFFF00u);

    /* Level 1: not in OBR until the options load; OBL_LAUNCH loads them
     * with a system reset. */
    program_options(b, 0xBB, 0xFF);
    assert_int_equal(rd32(b, F1_OBR) & 6u, 0u);
    wr32(b, F1_CR, CR_OBLLAUNCH);
    assert_int_equal(sim_board_advance(b, 1000), SIM_OK);
    thumb_halt(b);
    assert_int_equal(rd32(b, F1_OBR) & 6u, 2u);        /* RDPRT 01 */
    assert_int_equal(rd32(b, F1_CR), CR_LOCK);         /* the reset relocked */
    assert_int_equal(rd32(b, F1_OBR) >> 8, 0xFFFFFFu); /* USER b15:8, DATA */

    /* Back to level 0: main flash is mass-erased. */
    fill(b, FLASH, 4096, 0x00);
    program_options(b, 0xAA, 0xFF);
    assert_true(erased(b, FLASH, 4096));
    wr32(b, F1_CR, CR_OBLLAUNCH);
    assert_int_equal(sim_board_advance(b, 1000), SIM_OK);
    thumb_halt(b);
    assert_int_equal(rd32(b, F1_OBR) & 6u, 0u);

    /* Level 2 shows as 11, and then the options cannot change. */
    program_options(b, 0xCC, 0xFF);
    wr32(b, F1_CR, CR_OBLLAUNCH);
    assert_int_equal(sim_board_advance(b, 1000), SIM_OK);
    thumb_halt(b);
    assert_int_equal(rd32(b, F1_OBR) & 6u, 6u);
    wr32(b, F1_KEYR, KEY1);
    wr32(b, F1_KEYR, KEY2);
    wr32(b, F1_OPTKEYR, KEY1);
    wr32(b, F1_OPTKEYR, KEY2);
    wr32(b, F1_CR, CR_OPTER | (1u << 9));
    wr32(b, F1_CR, CR_OPTER | CR_STRT | (1u << 9));
    advance_ms(b, 31);
    assert_true(rd32(b, F1_SR) & SR_WRPRTERR);
    uint16_t rdp = 0;
    assert_int_equal(sim_board_mem_read(b, OPT_RDP, &rdp, 2, 2, NULL), SIM_OK);
    assert_int_equal(rdp, 0x33CC);
    sim_board_destroy(b);
}

static void f103_has_no_obl_launch(void **state)
{
    (void)state;
    sim_board *b = NULL;
    assert_int_equal(sim_board_create("stm32f103rb", 3, 0.0, &b), SIM_OK);
    thumb_halt(b);
    wr32(b, F1_KEYR, KEY1);
    wr32(b, F1_KEYR, KEY2);
    uint64_t t = sim_board_now_ns(b);
    wr32(b, F1_CR, CR_OBLLAUNCH);
    assert_int_equal(sim_board_advance(b, 1000), SIM_OK);
    assert_true(sim_board_halted(b)); /* no reset happened */
    assert_int_equal(rd32(b, F1_CR), 0);
    assert_true(sim_board_now_ns(b) > t);
    sim_board_destroy(b);
}

/* ---- F42x/F43x dual bank ------------------------------------------------- */

#define F4_REGS    0x40023C00u
#define F4_KEYR    (F4_REGS + 0x04)
#define F4_OPTKEYR (F4_REGS + 0x08)
#define F4_SR      (F4_REGS + 0x0C)
#define F4_CR      (F4_REGS + 0x10)
#define F4_OPTCR   (F4_REGS + 0x14)
#define F4_OPTCR1  (F4_REGS + 0x18)

#define F4_SR_WRPERR (1u << 4)
#define F4_SR_BSY    (1u << 16)
#define F4_CR_SER    (1u << 1)
#define F4_CR_MER    (1u << 2)
#define F4_CR_X32    (2u << 8)
#define F4_CR_MER1   (1u << 15)
#define F4_CR_STRT   (1u << 16)
#define SNB(n)       ((uint32_t)(n) << 3)

#define F4_BANK2 0x08100000u

static void f4_unlock(sim_board *b)
{
    wr32(b, F4_KEYR, KEY1);
    wr32(b, F4_KEYR, KEY2);
}

static void f4_start(sim_board *b, uint32_t cr)
{
    wr32(b, F4_SR, F4_SR_WRPERR);
    wr32(b, F4_CR, cr | F4_CR_X32);
    wr32(b, F4_CR, cr | F4_CR_X32 | F4_CR_STRT);
}

static void f4_wait(sim_board *b)
{
    for (int i = 0; i < 200 && (rd32(b, F4_SR) & F4_SR_BSY); i++)
        advance_ms(b, 100);
    assert_false(rd32(b, F4_SR) & F4_SR_BSY);
}

static void f4_snb_bit4_selects_bank2(void **state)
{
    (void)state;
    sim_board *b = board(&f4db_row);
    fill(b, FLASH, 2 * 1024 * 1024, 0x00);
    f4_unlock(b);

    /* SNB 0b10000: sector 12, the first 16 KiB of bank 2; x32 takes 250 ms
     * typical for a 16 KiB sector (DS10693 figures, as the model's F446). */
    f4_start(b, F4_CR_SER | SNB(16));
    advance_ms(b, 240);
    assert_true(rd32(b, F4_SR) & F4_SR_BSY);
    advance_ms(b, 20);
    assert_false(rd32(b, F4_SR) & F4_SR_BSY);
    assert_true(erased(b, F4_BANK2, 0x4000));
    assert_true(holds(b, F4_BANK2 + 0x4000, 0x4000, 0x00));
    assert_true(holds(b, FLASH, 0x4000, 0x00));

    /* SNB 0b11011: sector 23, the last 128 KiB of bank 2. */
    f4_start(b, F4_CR_SER | SNB(27));
    f4_wait(b);
    assert_true(erased(b, F4_BANK2 + 0xE0000, 0x20000));
    assert_true(holds(b, F4_BANK2 + 0xC0000, 0x20000, 0x00));

    /* 12-15 and 28-31 are not allowed: WRPERR, nothing erased. */
    static const unsigned bad[] = {12, 15, 28, 31};
    for (unsigned i = 0; i < 4; i++) {
        f4_start(b, F4_CR_SER | SNB(bad[i]));
        assert_true(rd32(b, F4_SR) & F4_SR_WRPERR);
    }
    assert_true(holds(b, FLASH + 0xE0000, 0x20000, 0x00));
    sim_board_destroy(b);
}

static void f4_mer_and_mer1_erase_one_bank_each(void **state)
{
    (void)state;
    sim_board *b = board(&f4db_row);
    fill(b, FLASH, 2 * 1024 * 1024, 0x00);
    f4_unlock(b);
    f4_start(b, F4_CR_MER1);
    f4_wait(b);
    assert_true(erased(b, F4_BANK2, 1024 * 1024));
    assert_true(holds(b, FLASH, 1024 * 1024, 0x00));
    f4_start(b, F4_CR_MER);
    f4_wait(b);
    assert_true(erased(b, FLASH, 2 * 1024 * 1024));

    fill(b, FLASH, 2 * 1024 * 1024, 0x00);
    f4_start(b, F4_CR_MER | F4_CR_MER1);
    f4_wait(b);
    assert_true(erased(b, FLASH, 2 * 1024 * 1024));
    sim_board_destroy(b);
}

static void f4_optcr1_protects_bank2(void **state)
{
    (void)state;
    sim_board *b = board(&f4db_row);
    assert_int_equal(rd32(b, F4_OPTCR1), 0x0FFF0000u);
    wr32(b, F4_OPTKEYR, 0x08192A3Bu);
    wr32(b, F4_OPTKEYR, 0x4C5D6E7Fu);
    wr32(b, F4_OPTCR1, 0x0FFE0000u);                   /* nWRP12 = 0: sector 12 protected */
    wr32(b, F4_OPTCR, (rd32(b, F4_OPTCR) & ~3u) | 2u); /* OPTSTRT */
    f4_wait(b);
    assert_int_equal(rd32(b, F4_OPTCR1), 0x0FFE0000u);

    fill(b, FLASH, 2 * 1024 * 1024, 0x00);
    f4_unlock(b);
    f4_start(b, F4_CR_SER | SNB(16));
    assert_true(rd32(b, F4_SR) & F4_SR_WRPERR);
    f4_start(b, F4_CR_MER1); /* a protected sector refuses its bank's MER1 */
    assert_true(rd32(b, F4_SR) & F4_SR_WRPERR);
    f4_start(b, F4_CR_SER | SNB(17));
    f4_wait(b);
    assert_false(rd32(b, F4_SR) & F4_SR_WRPERR);
    assert_true(erased(b, F4_BANK2 + 0x4000, 0x4000));
    assert_true(holds(b, F4_BANK2, 0x4000, 0x00));

    /* It is an option byte: still there after a reset. */
    system_reset(b);
    assert_int_equal(rd32(b, F4_OPTCR1), 0x0FFE0000u);
    sim_board_destroy(b);
}

static void f446_has_no_second_bank(void **state)
{
    (void)state;
    sim_board *b = NULL;
    assert_int_equal(sim_board_create("stm32f446re", 3, 0.0, &b), SIM_OK);
    thumb_halt(b);
    assert_int_equal(rd32(b, F4_OPTCR1), 0);
    f4_unlock(b);
    wr32(b, F4_CR, F4_CR_MER1 | F4_CR_X32);
    assert_int_equal(rd32(b, F4_CR), F4_CR_X32); /* b15 reserved */
    /* SNB 16 is no sector on a one-bank part. */
    f4_start(b, F4_CR_SER | SNB(16));
    assert_true(rd32(b, F4_SR) & F4_SR_WRPERR);
    sim_board_destroy(b);
}

/* F413/F423 (fact sheet 3.5, 4.2; CMSIS F413 FLASH_CR_SNB 0x0F << 3,
 * FLASH_OPTCR_nWRP_14 == FLASH_OPTCR_nWRP_15): 16 sectors, the last two
 * 128 KiB sectors 14 and 15 at 0x08140000 and 0x08160000; SNB is 4 bits
 * (b7 does not exist, so SNB 0x1F reads back as 0x0F); nWRP b30:16 with
 * sectors 14 and 15 protected together by nWRP14 (OPTCR b30). */
static void f413_has_16_sectors_and_a_shared_wrp_bit(void **state)
{
    (void)state;
    sim_board *b = NULL;
    assert_int_equal(sim_board_create("stm32f413zh", 5, 0.0, &b), SIM_OK);
    thumb_halt(b);
    fill(b, FLASH, 1536 * 1024, 0x00);
    f4_unlock(b);
    wr32(b, F4_CR, F4_CR_SER | SNB(0x1F) | F4_CR_X32);
    assert_int_equal(rd32(b, F4_CR), F4_CR_SER | SNB(0x0F) | F4_CR_X32);
    f4_start(b, F4_CR_SER | SNB(15));
    f4_wait(b);
    assert_false(rd32(b, F4_SR) & F4_SR_WRPERR);
    assert_true(erased(b, FLASH + 0x160000, 0x20000));
    assert_true(holds(b, FLASH + 0x140000, 0x20000, 0x00));

    /* nWRP14 = 0 protects sector 14 and sector 15, and nothing else. */
    wr32(b, F4_OPTKEYR, 0x08192A3Bu);
    wr32(b, F4_OPTKEYR, 0x4C5D6E7Fu);
    wr32(b, F4_OPTCR, (rd32(b, F4_OPTCR) & ~(3u | 1u << 30)) | 2u); /* OPTSTRT */
    f4_wait(b);
    f4_start(b, F4_CR_SER | SNB(15));
    assert_true(rd32(b, F4_SR) & F4_SR_WRPERR);
    f4_start(b, F4_CR_SER | SNB(14));
    assert_true(rd32(b, F4_SR) & F4_SR_WRPERR);
    f4_start(b, F4_CR_SER | SNB(13));
    f4_wait(b);
    assert_false(rd32(b, F4_SR) & F4_SR_WRPERR);
    assert_true(erased(b, FLASH + 0x120000, 0x20000));
    assert_true(holds(b, FLASH + 0x140000, 0x20000, 0x00));
    sim_board_destroy(b);
}

int main(void)
{
    make_rows();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(xl_banks_lock_and_program_alone),
        cmocka_unit_test(xl_erases_one_bank_at_a_time),
        cmocka_unit_test(xl_write_protection_covers_4k_per_bit),
        cmocka_unit_test(one_bank_f103_has_no_bank2_block),
        cmocka_unit_test(f0_obr_layout_and_obl_launch),
        cmocka_unit_test(f103_has_no_obl_launch),
        cmocka_unit_test(f4_snb_bit4_selects_bank2),
        cmocka_unit_test(f4_mer_and_mer1_erase_one_bank_each),
        cmocka_unit_test(f4_optcr1_protects_bank2),
        cmocka_unit_test(f446_has_no_second_bank),
        cmocka_unit_test(f413_has_16_sectors_and_a_shared_wrp_bit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
