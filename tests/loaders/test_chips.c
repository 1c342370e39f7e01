/*
 * The host's chip table (loaders/chips.c) against the simulator's
 * (sim/target/chips.c): written separately from the manuals, they must
 * agree on every fact both hold. And the erase-unit layouts per RM.
 */
#include "board.h"
#include "chips.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static void host_and_simulator_agree(void **state)
{
    (void)state;
    size_t matched = 0;
    for (size_t i = 0; sim_chip_at(i); i++) {
        const sim_chip *s = sim_chip_at(i);
        const fl_chip *c = fl_chip_by_dev_id(s->dev_id);
        if (!c) {
            /* A simulator row may come before the host's (the H7 was
             * modelled first): nothing to compare yet, said aloud. */
            printf("skipped: the host has no row for %s (DEV_ID 0x%03X)\n", s->name, s->dev_id);
            continue;
        }
        const fl_line *l = c->line;
        assert_int_equal(l->idcode_addr, s->idcode_addr);
        assert_int_equal(l->flash_base, s->flash_base);
        assert_int_equal(l->flash_size_reg, s->flash_size_reg);
        for (int k = 0; k < 3; k++)
            assert_int_equal(l->uid_addr[k], s->uid_addr[k]);
        assert_int_equal(c->flash_size_max, s->flash_size);
        assert_int_equal(fl_chip_erased(c), s->flash_erased);
        assert_int_equal(c->sram_base, s->sram_base);
        /* The host assumes the smallest SRAM of any part of the id. */
        assert_true(c->sram_size <= s->sram_size);
        assert_int_equal(l->flash_regs, s->flash_regs);
        fl_unit u;
        assert_true(fl_chip_unit(c, s->flash_size, 0, &u));
        assert_int_equal(u.size, s->page_size); /* smallest erase unit */
        matched++;
    }
    assert_true(matched >= 4);
    assert_null(fl_chip_by_dev_id(0x999));
}

/* Every row's fast-clock recipe ends within the room fl_target keeps for
 * undoing it (loaders/clock.c stops at FL_CLOCK_STEPS_MAX otherwise, and
 * would leave the last steps out). */
static void clock_recipes_fit(void **state)
{
    (void)state;
    for (size_t i = 0; fl_chip_at(i); i++) {
        const fl_line *c = fl_chip_at(i)->line;
        if (!c->fast_clock)
            continue; /* a line without one runs the loader on its reset clock */
        assert_true(c->fast_clock_hz > 0);
        size_t n = 0;
        while (c->fast_clock[n].mask) /* every recipe is terminated */
            n++;
        assert_true(n > 0);
        assert_true(n <= FL_CLOCK_STEPS_MAX);
    }
}

static void f446_sectors(void **state)
{
    (void)state;
    const fl_chip *c = fl_chip_by_dev_id(0x421);
    assert_int_equal(fl_chip_unit_count(c, 512 * 1024), 8);
    static const uint32_t addr[8] = {0x08000000, 0x08004000, 0x08008000, 0x0800C000,
                                     0x08010000, 0x08020000, 0x08040000, 0x08060000};
    static const uint32_t size[8] = {16384, 16384, 16384, 16384, 65536, 131072, 131072, 131072};
    for (uint32_t i = 0; i < 8; i++) {
        fl_unit u;
        assert_true(fl_chip_unit(c, 512 * 1024, i, &u));
        assert_int_equal(u.addr, addr[i]);
        assert_int_equal(u.size, size[i]);
        assert_int_equal(u.index_in_bank, i);
    }
    fl_unit u;
    assert_true(fl_chip_unit_at(c, 512 * 1024, 0x0801FFFF, &u));
    assert_int_equal(u.index, 4);
    assert_true(fl_chip_unit_at(c, 512 * 1024, 0x08020000, &u));
    assert_int_equal(u.index, 5);
    assert_false(fl_chip_unit_at(c, 512 * 1024, 0x08080000, &u));
    assert_false(fl_chip_unit_at(c, 512 * 1024, 0x07FFFFFF, &u));
    /* A 256 KiB part: sectors 0-5 only. */
    assert_int_equal(fl_chip_unit_count(c, 256 * 1024), 6);
}

static void l476_two_banks(void **state)
{
    (void)state;
    const fl_chip *c = fl_chip_by_dev_id(0x415);
    assert_int_equal(fl_chip_unit_count(c, 1024 * 1024), 512);
    fl_unit u;
    assert_true(fl_chip_unit_at(c, 1024 * 1024, 0x08080000, &u));
    assert_int_equal(u.index, 256);
    assert_int_equal(u.bank, 1);
    assert_int_equal(u.index_in_bank, 0); /* RM0351: PNB counts within a bank */
    assert_true(fl_chip_unit_at(c, 1024 * 1024, 0x0807FFFF, &u));
    assert_int_equal(u.bank, 0);
    assert_int_equal(u.index_in_bank, 255);
    assert_true(fl_chip_unit(c, 1024 * 1024, 511, &u));
    assert_int_equal(u.addr, 0x080FF800);
}

static void small_pages_and_bad_sizes(void **state)
{
    (void)state;
    const fl_chip *f1 = fl_chip_by_dev_id(0x410), *l0 = fl_chip_by_dev_id(0x417);
    assert_int_equal(fl_chip_unit_count(f1, 128 * 1024), 128);
    assert_int_equal(fl_chip_unit_count(f1, 64 * 1024), 64); /* an F103x8 */
    assert_int_equal(fl_chip_unit_count(l0, 64 * 1024), 512);
    fl_unit u;
    assert_true(fl_chip_unit_at(l0, 64 * 1024, 0x08000080, &u));
    assert_int_equal(u.index, 1);
    assert_int_equal(u.size, 128);
    /* A flash-size register that lies is refused, not believed. */
    assert_int_equal(fl_chip_unit_count(f1, 256 * 1024), 0);
    assert_int_equal(fl_chip_unit_count(f1, 0), 0);
    assert_int_equal(fl_chip_unit_count(f1, 1000), 0);
    assert_false(fl_chip_unit(f1, 128 * 1024, 128, &u));
}

/* F42x/F43x: 2 MiB parts are two banks of 4x16, 64, 7x128 KiB, bank 2's
 * sectors coded from 0x10 (RM0090 3.3 table 6, 3.9.8); 1 MiB parts are one
 * bank of 12 sectors. */
static void f429_dual_bank(void **state)
{
    (void)state;
    const fl_chip *c = fl_chip_by_dev_id(0x419);
    assert_non_null(c);
    assert_int_equal(fl_chip_banks(c, 2048 * 1024), 2);
    assert_int_equal(fl_chip_banks(c, 1024 * 1024), 1);
    assert_int_equal(fl_chip_unit_count(c, 2048 * 1024), 24);
    assert_int_equal(fl_chip_unit_count(c, 1024 * 1024), 12);
    fl_unit u;
    assert_true(fl_chip_unit_at(c, 2048 * 1024, 0x08100000, &u));
    assert_int_equal(u.index, 12);
    assert_int_equal(u.bank, 1);
    assert_int_equal(u.index_in_bank, 0);
    assert_int_equal(u.size, 16 * 1024);
    assert_true(fl_chip_unit_at(c, 2048 * 1024, 0x081E0000, &u));
    assert_int_equal(u.index_in_bank, 11);
    assert_int_equal(u.size, 128 * 1024);
    assert_true(fl_chip_unit_at(c, 1024 * 1024, 0x080E0000, &u));
    assert_int_equal(u.index, 11);
    assert_int_equal(u.bank, 0);
}

/* F74x/F76x (single bank): 4x32, 128, 256 KiB sectors (RM0385 3.3.1 table
 * 3, RM0410 3.3.1 table 4); F72x 4x16, 64, 128 (RM0431 table 3). */
static void f7_sectors(void **state)
{
    (void)state;
    const fl_chip *f746 = fl_chip_by_dev_id(0x449), *f767 = fl_chip_by_dev_id(0x451);
    assert_int_equal(fl_chip_unit_count(f746, 1024 * 1024), 8);
    assert_int_equal(fl_chip_unit_count(f767, 2048 * 1024), 12);
    fl_unit u;
    assert_true(fl_chip_unit_at(f767, 2048 * 1024, 0x08020000, &u));
    assert_int_equal(u.index, 4);
    assert_int_equal(u.size, 128 * 1024);
    assert_true(fl_chip_unit_at(f767, 2048 * 1024, 0x081C0000, &u));
    assert_int_equal(u.index, 11);
    assert_int_equal(u.size, 256 * 1024);
    assert_int_equal(fl_chip_unit_count(fl_chip_by_dev_id(0x452), 512 * 1024), 8);
    /* nDBANK = 0: two banks of 4x16, 64, 7x128 KiB (RM0410 3.3.1 table 5). */
    const fl_chip *dual = f767->alt;
    assert_non_null(dual);
    assert_int_equal(dual->dev_id, 0x451);
    assert_int_equal(fl_chip_unit_count(dual, 2048 * 1024), 24);
    assert_true(fl_chip_unit_at(dual, 2048 * 1024, 0x08100000, &u));
    assert_int_equal(u.bank, 1);
    assert_int_equal(u.index_in_bank, 0);
    assert_int_equal(u.size, 16 * 1024);
    assert_true(fl_chip_unit_at(dual, 1024 * 1024, 0x08080000, &u)); /* a 1 MiB F76x */
    assert_int_equal(u.bank, 1);
    /* F429 1 MiB with DB1M: two banks of 4x16, 64, 3x128 KiB. */
    const fl_chip *db1m = fl_chip_by_dev_id(0x419)->alt;
    assert_int_equal(fl_chip_unit_count(db1m, 1024 * 1024), 16);
    assert_true(fl_chip_unit_at(db1m, 1024 * 1024, 0x08080000, &u));
    assert_int_equal(u.bank, 1);
    assert_int_equal(u.index_in_bank, 0);
}

/* H742/H743/H753 (0x450): 2 MiB in two banks of 8 x 128 KiB, bank 2 at
 * 0x08100000, its sectors numbered from 0 in its own CR (RM0433 4.3);
 * the 1 MiB parts put bank 2 there too, after a gap, and the 128 KiB
 * H750 has one sector: both refused rather than laid out wrong. H72x/H73x
 * (0x483): one bank of 8 x 128 KiB (RM0468). */
static void h7_sectors(void **state)
{
    (void)state;
    const fl_chip *h743 = fl_chip_by_dev_id(0x450), *h723 = fl_chip_by_dev_id(0x483);
    assert_non_null(h743);
    assert_non_null(h723);
    assert_int_equal(h743->line->idcode_addr, 0x5C001000);
    assert_int_equal(h743->line->flash_regs, 0x52002000);
    assert_int_equal(h743->line->flash_size_reg, 0x1FF1E880);
    assert_int_equal(h743->line->uid_addr[0], 0x1FF1E800);
    assert_ptr_equal(h723->line, h743->line);
    assert_int_equal(fl_chip_program_unit(h743), 32);
    assert_int_equal(fl_chip_erased(h743), 0xFF);
    assert_string_equal(fl_chip_stub(h743), "h7");
    assert_true(fl_chip_matches_family(h743, "h7"));
    assert_true(fl_chip_matches_family(h723, "STM32H7"));
    assert_int_equal(fl_part_flash_size("stm32h743zi"), 2048 * 1024);
    assert_int_equal(fl_part_flash_size("stm32h723zg"), 1024 * 1024);
    assert_true(fl_chip_has_part(h743, "stm32h743zi"));
    assert_true(fl_chip_has_part(h723, "stm32h723zg"));

    assert_int_equal(fl_chip_banks(h743, 2048 * 1024), 2);
    assert_int_equal(fl_chip_unit_count(h743, 2048 * 1024), 16);
    fl_unit u;
    assert_true(fl_chip_unit(h743, 2048 * 1024, 7, &u));
    assert_int_equal(u.addr, 0x080E0000);
    assert_int_equal(u.size, 128 * 1024);
    assert_int_equal(u.bank, 0);
    assert_int_equal(u.index_in_bank, 7);
    assert_true(fl_chip_unit_at(h743, 2048 * 1024, 0x08100000, &u));
    assert_int_equal(u.index, 8);
    assert_int_equal(u.bank, 1);
    assert_int_equal(u.index_in_bank, 0);
    assert_true(fl_chip_unit_at(h743, 2048 * 1024, 0x081FFFFF, &u));
    assert_int_equal(u.index, 15);
    assert_int_equal(u.index_in_bank, 7);
    assert_false(fl_chip_unit_at(h743, 2048 * 1024, 0x08200000, &u));
    /* Bank 2 register block 0x100 above bank 1's, from bank 2's address. */
    assert_int_equal(h743->bank2_regs, 0x100);
    assert_int_equal(h743->bank2_start, 1024 * 1024);
    /* Gapped or one-sector sizes: no layout. */
    assert_int_equal(fl_chip_unit_count(h743, 1024 * 1024), 0);
    assert_int_equal(fl_chip_unit_count(h743, 128 * 1024), 0);
    assert_int_equal(fl_chip_unit_count(h743, 4096 * 1024), 0);

    assert_int_equal(fl_chip_banks(h723, 1024 * 1024), 1);
    assert_int_equal(fl_chip_unit_count(h723, 1024 * 1024), 8);
    assert_int_equal(fl_chip_unit_count(h723, 128 * 1024), 1); /* H730 */
    assert_int_equal(h723->bank2_regs, 0);
    assert_true(fl_chip_unit_at(h723, 1024 * 1024, 0x080FFFFF, &u));
    assert_int_equal(u.index, 7);
    assert_int_equal(u.bank, 0);
    /* The loader runs in the DTCM at 0x20000000 (128 KiB on both). */
    assert_int_equal(h743->sram_base, 0x20000000);
    assert_int_equal(h743->sram_size, 128 * 1024);
}

/* H5 (RM0481, RM0492): 8 KiB sectors, two banks of half the flash on
 * every size, numbered per bank; identity registers from the CMSIS
 * headers (DBGMCU_BASE, FLASHSIZE_BASE, UID_BASE). */
static void h5_sectors(void **state)
{
    (void)state;
    const fl_chip *h563 = fl_chip_by_dev_id(0x484), *h523 = fl_chip_by_dev_id(0x478),
                  *h503 = fl_chip_by_dev_id(0x474);
    assert_non_null(h563);
    assert_non_null(h523);
    assert_non_null(h503);
    const fl_chip *all[3] = {h563, h523, h503};
    for (int i = 0; i < 3; i++) {
        const fl_line *l = all[i]->line;
        assert_int_equal(l->idcode_addr, 0x44024000);
        assert_int_equal(l->flash_regs, 0x40022000);
        assert_int_equal(l->flash_base, 0x08000000);
        assert_int_equal(l->flash_size_reg, 0x08FFF80C);
        assert_int_equal(l->uid_addr[0], 0x08FFF800);
        assert_int_equal(l->uid_addr[2], 0x08FFF808);
        assert_int_equal(l->wdg_freeze_reg, 0x44024008);
        assert_int_equal(l->wdg_freeze_bit, 1u << 12);
        assert_true(fl_chip_matches_family(all[i], "h5"));
        assert_true(fl_chip_matches_family(all[i], "STM32H5"));
        assert_int_equal(fl_chip_program_unit(all[i]), 16);
        assert_int_equal(fl_chip_erased(all[i]), 0xFF);
        assert_string_equal(fl_chip_stub(all[i]), "l4x");
        assert_int_equal(all[i]->sram_base, 0x20000000);
        assert_int_equal(all[i]->bank2_regs, 0); /* one register block, BKSEL */
    }
    assert_int_equal(h563->flash_size_max, 2048 * 1024);
    assert_int_equal(h523->flash_size_max, 512 * 1024);
    assert_int_equal(h503->flash_size_max, 128 * 1024);
    assert_int_equal(h563->sram_size, 256 * 1024); /* SRAM1 */
    assert_int_equal(h523->sram_size, 128 * 1024);
    assert_int_equal(h503->sram_size, 16 * 1024);

    /* 2 MiB: 2 x 128 sectors (CMSIS FLASH_SECTOR_NB 128 per bank). */
    assert_int_equal(fl_chip_banks(h563, 2048 * 1024), 2);
    assert_int_equal(fl_chip_unit_count(h563, 2048 * 1024), 256);
    fl_unit u;
    assert_true(fl_chip_unit(h563, 2048 * 1024, 127, &u));
    assert_int_equal(u.addr, 0x080FE000);
    assert_int_equal(u.size, 8192);
    assert_int_equal(u.bank, 0);
    assert_int_equal(u.index_in_bank, 127);
    assert_true(fl_chip_unit_at(h563, 2048 * 1024, 0x08100000, &u));
    assert_int_equal(u.index, 128);
    assert_int_equal(u.bank, 1);
    assert_int_equal(u.index_in_bank, 0);
    assert_true(fl_chip_unit_at(h563, 2048 * 1024, 0x081FFFFF, &u));
    assert_int_equal(u.index_in_bank, 127);
    assert_false(fl_chip_unit_at(h563, 2048 * 1024, 0x08200000, &u));
    /* 1 MiB (H562xG, H563xG): banks of 512 KiB, bank 2 at 0x08080000. */
    assert_int_equal(fl_chip_unit_count(h563, 1024 * 1024), 128);
    assert_true(fl_chip_unit_at(h563, 1024 * 1024, 0x08080000, &u));
    assert_int_equal(u.bank, 1);
    assert_int_equal(u.index_in_bank, 0);

    /* H523/H533: 2 x 32 sectors on 512 KiB; the 256 KiB H523xC 2 x 16. */
    assert_int_equal(fl_chip_unit_count(h523, 512 * 1024), 64);
    assert_true(fl_chip_unit_at(h523, 512 * 1024, 0x0803E000, &u));
    assert_int_equal(u.bank, 0);
    assert_int_equal(u.index_in_bank, 31);
    assert_true(fl_chip_unit_at(h523, 512 * 1024, 0x08040000, &u));
    assert_int_equal(u.bank, 1);
    assert_int_equal(u.index_in_bank, 0);
    assert_int_equal(fl_chip_unit_count(h523, 256 * 1024), 32);

    /* H503: 2 x 8 sectors, bank 2 at 0x08010000. */
    assert_int_equal(fl_chip_banks(h503, 128 * 1024), 2);
    assert_int_equal(fl_chip_unit_count(h503, 128 * 1024), 16);
    assert_true(fl_chip_unit(h503, 128 * 1024, 8, &u));
    assert_int_equal(u.addr, 0x08010000);
    assert_int_equal(u.bank, 1);
    assert_int_equal(u.index_in_bank, 0);
    assert_ptr_not_equal(h503->line->family, h563->line->family); /* no TrustZone, no EDATA */
    assert_ptr_equal(h523->line, h563->line);

    /* Ordering codes resolve with their sizes. */
    assert_int_equal(fl_part_flash_size("stm32h563zi"), 2048 * 1024);
    assert_int_equal(fl_part_flash_size("stm32h503rb"), 128 * 1024);
    assert_int_equal(fl_part_flash_size("stm32h523ve"), 512 * 1024);
    assert_int_equal(fl_part_flash_size("stm32h533re"), 512 * 1024);
    assert_true(fl_chip_has_part(h563, "stm32h563zi"));
    assert_true(fl_chip_has_part(h563, "stm32h573ii"));
    assert_true(fl_chip_has_part(h503, "stm32h503rb"));
    assert_true(fl_chip_has_part(h523, "stm32h523ve"));
    assert_true(fl_chip_has_part(h523, "stm32h533re"));
    assert_false(fl_chip_has_part(h523, "stm32h563zi"));
}

/* H7A3/H7B0/H7B3 (0x480, RM0455): two banks of 128 x 8 KiB, bank 2 at
 * 0x08100000 with its own register block, sectors numbered per bank; the
 * 1 MiB H7A3xG has bank 2 there after a gap (refused, as the H743xG); the
 * 128 KiB H7B0xB is bank 1 alone. Identity in the flash's system area
 * (0x08FFF80C, 0x08FFF800), DBGMCU where the other H7s have it. */
static void h7ab_sectors(void **state)
{
    (void)state;
    const fl_chip *ab = fl_chip_by_dev_id(0x480), *h743 = fl_chip_by_dev_id(0x450);
    assert_non_null(ab);
    assert_string_equal(ab->name, "STM32H7A3/H7B0/H7B3");
    assert_int_equal(ab->line->idcode_addr, 0x5C001000);
    assert_int_equal(ab->line->flash_regs, 0x52002000);
    assert_int_equal(ab->line->flash_size_reg, 0x08FFF80C);
    assert_int_equal(ab->line->uid_addr[0], 0x08FFF800);
    assert_int_equal(ab->line->uid_addr[1], 0x08FFF804);
    assert_int_equal(ab->line->uid_addr[2], 0x08FFF808);
    assert_int_equal(ab->line->wdg_freeze_reg, h743->line->wdg_freeze_reg);
    assert_int_equal(ab->line->dbg_clock_bit, h743->line->dbg_clock_bit);
    assert_ptr_not_equal(ab->line->family, h743->line->family); /* other CR bits */
    assert_int_equal(fl_chip_program_unit(ab), 16);             /* 128-bit flash words */
    assert_int_equal(fl_chip_erased(ab), 0xFF);
    assert_string_equal(fl_chip_stub(ab), "h7");
    assert_true(fl_chip_matches_family(ab, "h7"));
    assert_true(fl_chip_matches_family(ab, "STM32H7"));

    /* 2 MiB: 256 sectors, 128 a bank. */
    uint32_t mib2 = 2048 * 1024;
    assert_int_equal(fl_chip_banks(ab, mib2), 2);
    assert_int_equal(fl_chip_unit_count(ab, mib2), 256);
    fl_unit u;
    assert_true(fl_chip_unit(ab, mib2, 0, &u));
    assert_int_equal(u.addr, 0x08000000);
    assert_int_equal(u.size, 8 * 1024);
    assert_true(fl_chip_unit(ab, mib2, 127, &u));
    assert_int_equal(u.addr, 0x080FE000);
    assert_int_equal(u.bank, 0);
    assert_int_equal(u.index_in_bank, 127);
    assert_true(fl_chip_unit_at(ab, mib2, 0x08100000, &u));
    assert_int_equal(u.index, 128);
    assert_int_equal(u.bank, 1);
    assert_int_equal(u.index_in_bank, 0);
    assert_true(fl_chip_unit_at(ab, mib2, 0x08123456, &u));
    assert_int_equal(u.addr, 0x08122000);
    assert_int_equal(u.index_in_bank, 0x11); /* 0x22000 / 8 KiB */
    assert_true(fl_chip_unit_at(ab, mib2, 0x081FFFFF, &u));
    assert_int_equal(u.index, 255);
    assert_int_equal(u.bank, 1);
    assert_int_equal(u.index_in_bank, 127);
    assert_false(fl_chip_unit_at(ab, mib2, 0x08200000, &u));
    assert_int_equal(ab->bank2_regs, 0x100);
    assert_int_equal(ab->bank2_start, 1024 * 1024);

    /* 128 KiB (H7B0xB): one bank of 16 sectors. */
    assert_int_equal(fl_chip_banks(ab, 128 * 1024), 1);
    assert_int_equal(fl_chip_unit_count(ab, 128 * 1024), 16);
    assert_true(fl_chip_unit_at(ab, 128 * 1024, 0x0801FFFF, &u));
    assert_int_equal(u.index, 15);
    assert_int_equal(u.bank, 0);
    assert_int_equal(u.index_in_bank, 15);
    assert_false(fl_chip_unit_at(ab, 128 * 1024, 0x08020000, &u));

    /* 1 MiB (H7A3xG): bank 2 after a gap, not modelled; no other size. */
    assert_int_equal(fl_chip_unit_count(ab, 1024 * 1024), 0);
    assert_int_equal(fl_chip_unit_count(ab, 4096 * 1024), 0);
    assert_int_equal(ab->sram_base, 0x20000000);
    assert_int_equal(ab->sram_size, 128 * 1024);

    /* Ordering codes: the row's three lines, the flash letter checked. */
    char why[128];
    assert_true(fl_chip_matches_part(ab, mib2, "stm32h7a3zi", why, sizeof why));
    assert_true(fl_chip_matches_part(ab, mib2, "STM32H7A3ZIT6Q", why, sizeof why));
    assert_true(fl_chip_matches_part(ab, mib2, "stm32h7b3li", why, sizeof why));
    assert_true(fl_chip_matches_part(ab, 128 * 1024, "stm32h7b0vb", why, sizeof why));
    assert_true(fl_chip_matches_part(ab, 128 * 1024, "stm32h7b0xb", why, sizeof why));
    assert_false(fl_chip_matches_part(ab, mib2, "stm32h7b0vb", why, sizeof why));
    assert_false(fl_chip_matches_part(ab, 128 * 1024, "stm32h7a3zi", why, sizeof why));
    assert_false(fl_chip_matches_part(ab, mib2, "stm32h743zi", why, sizeof why));
    assert_false(fl_chip_matches_part(h743, mib2, "stm32h7a3zi", why, sizeof why));
    assert_int_equal(fl_part_flash_size("stm32h7b0vb"), 128 * 1024);
}

/* Ordering codes pick the row's parts and their flash letter
 * (datasheets' ordering information: 4 16, 6 32, 8 64, B 128, C 256, E
 * 512, G 1024 KiB). */
static void ordering_codes(void **state)
{
    (void)state;
    char why[128];
    static const struct {
        uint16_t dev_id;
        uint32_t kib;
        const char *part;
        bool ok;
    } cases[] = {
        {0x413, 1024, "stm32f407vg", true},   {0x413, 512, "stm32f407vg", false},
        {0x413, 1024, "stm32f429zi", false},  {0x440, 64, "stm32f030r8", true},
        {0x444, 16, "stm32f030f4", true},     {0x414, 512, "stm32f103ze", true},
        {0x430, 1024, "STM32F103ZG", true},   {0x430, 768, "stm32f103zf", true},
        {0x419, 2048, "stm32f429zi", true},   {0x451, 2048, "stm32f767zi", true},
        {0x422, 256, "stm32f303vc", true},    {0x448, 128, "stm32f072rb", true},
        {0x431, 512, "stm32f411re", true},    {0x411, 1024, "stm32f207zg", true},
        {0x410, 128, "stm32f100rb", false},   {0x450, 2048, "stm32h743zi", true},
        {0x450, 2048, "STM32H743ZIT6", true}, {0x450, 1024, "stm32h743zi", false},
        {0x450, 2048, "stm32h753vi", true},   {0x450, 2048, "stm32h723zg", false},
        {0x483, 1024, "stm32h723zg", true},   {0x483, 1024, "stm32h735ig", true},
        {0x483, 512, "stm32h723zg", false},   {0x483, 1024, "stm32h743zi", false},
        {0x450, 2048, "stm32h7a3zi", false},  {0x484, 2048, "stm32h563zi", true},
        {0x484, 2048, "stm32h573ii", true},   {0x484, 1024, "stm32h563zi", false},
        {0x484, 1024, "stm32h562rg", true},   {0x474, 128, "stm32h503rb", true},
        {0x474, 128, "stm32h563zi", false},   {0x478, 512, "stm32h523ve", true},
        {0x478, 512, "stm32h533re", true},    {0x478, 256, "stm32h523cc", true},
        {0x478, 256, "stm32h523ve", false},   {0x484, 2048, "stm32h523ve", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const fl_chip *c = fl_chip_by_dev_id(cases[i].dev_id);
        assert_non_null(c);
        bool ok = fl_chip_matches_part(c, cases[i].kib * 1024, cases[i].part, why, sizeof why);
        if (ok != cases[i].ok)
            fail_msg("%s on 0x%03X with %u KiB: %s", cases[i].part, cases[i].dev_id, cases[i].kib,
                     ok ? "matched" : why);
    }
}

/* What every row must hold for the engines: a unique device id, a line
 * with a family, a layout that tiles the largest flash, room in SRAM for
 * the loader (stub, control block, two buffers, stack), lower-case parts. */
static void every_row_is_usable(void **state)
{
    (void)state;
    size_t n = 0;
    for (size_t i = 0; fl_chip_at(i); i++, n++) {
        const fl_chip *c = fl_chip_at(i);
        for (size_t j = 0; j < i; j++)
            assert_int_not_equal(fl_chip_at(j)->dev_id, c->dev_id);
        assert_non_null(c->line);
        assert_non_null(c->line->family);
        assert_non_null(fl_chip_stub(c));
        if (fl_chip_unit_count(c, c->flash_size_max) == 0)
            fail_msg("%s: the units do not tile %u KiB", c->name, c->flash_size_max / 1024);
        assert_true(c->sram_size >= 2 * 1024);
        for (const char *p = c->parts; *p; p++)
            assert_true(*p == ';' || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'));
        if (c->bank2_regs)
            assert_true(c->bank2_start > 0 && c->bank2_start < c->flash_size_max);
    }
    assert_true(n >= 60);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(host_and_simulator_agree),
        cmocka_unit_test(clock_recipes_fit),
        cmocka_unit_test(f446_sectors),
        cmocka_unit_test(l476_two_banks),
        cmocka_unit_test(small_pages_and_bad_sizes),
        cmocka_unit_test(f429_dual_bank),
        cmocka_unit_test(f7_sectors),
        cmocka_unit_test(h7_sectors),
        cmocka_unit_test(h5_sectors),
        cmocka_unit_test(h7ab_sectors),
        cmocka_unit_test(ordering_codes),
        cmocka_unit_test(every_row_is_usable),
    };
    return cmocka_run_group_tests_name("loaders.chips", tests, NULL, NULL);
}
