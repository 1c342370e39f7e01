/*
 * loaders/options through the real probe driver on the virtual line (run by
 * flashline-sim with one probe per chip): reading the option bytes, RDP
 * level 1 and back to 0 (with the hardware mass erase), nothing written when
 * the level is already in force, level 2 refused, user option bits. The
 * boards' flash and option blocks are read back through the probe.
 *
 * "Nothing written" is observed honestly from outside: every path that
 * writes option bytes ends in a reset (F1/F4 system reset, L0/L4
 * OBL_LAUNCH), which clears the core registers; a marker left in R5 of the
 * halted core survives only if no reset happened. The option block and the
 * flash contents are compared as well.
 */
#define _POSIX_C_SOURCE 200809L
#include "flash.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "line.h"
#include <zlib.h>

typedef struct line_probe {
    const char *serial;
    uint16_t dev_id;
    uint32_t opt_block, opt_len; /* the option bytes in memory */
    uint32_t user_factory;       /* fl_options.user of a fresh board */
    uint32_t user_bit;           /* nRST_STDBY in fl_options.user */
    /* fl_options.wrp of a fresh board, where wrp_mask says: F1 WRPR and F4
     * nWRP 1 = not protected; L0 WRPR 1 = protected; L4 WRP1AR with STRT
     * 0xFF above END 0x00: no area (RM0351 3.4.1 table 12). */
    uint32_t wrp_mask, wrp_factory;
} line_probe;

static const line_probe line[] = {
    {"37FF71064E57343625231943", 0x410, 0x1FFFF800u, 16, 0xFF, 1u << 2, ~0u, ~0u},
    {"0670FF555654857567033520", 0x421, 0x40023C14u, 4, 0xEC, 1u << 7, 0xFFu, 0xFFu},
    {"51FF6B065177505544511187", 0x417, 0x1FF80000u, 12, 0x8070, 1u << 6, ~0u, 0},
    {"002F00283438510A33333639", 0x415, 0x1FFF7800u, 8, 0xFFEFF800u, 1u << 13, 0x00FF00FFu,
     0x000000FFu},
};
#define NLINE (sizeof line / sizeof line[0])

#define MARKER 0x5EC0DE05u

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void read_block(pd_probe *p, const line_probe *lp, uint8_t *out)
{
    assert_int_equal(pd_mem_read(p, lp->opt_block, out, lp->opt_len), PD_OK);
}

static void fresh_boards_are_unprotected(void **state)
{
    (void)state;
    for (size_t i = 0; i < NLINE; i++) {
        pd_probe *p = line_connect(line[i].serial, false);
        fl_target t;
        check(&t, fl_identify(p, &t));
        fl_options o;
        check(&t, fl_options_read(&t, &o));
        assert_int_equal(o.rdp, 0);
        assert_true(o.valid);
        assert_int_equal(o.user, line[i].user_factory);
        assert_int_equal(o.wrp & line[i].wrp_mask, line[i].wrp_factory);
        pd_destroy(p);
    }
}

static void program_pattern(fl_target *t, uint32_t len, uint8_t seed)
{
    uint8_t *img = malloc(len);
    assert_non_null(img);
    for (uint32_t k = 0; k < len; k++)
        img[k] = (uint8_t)(k * 13 + seed + (k >> 8));
    check(t, fl_unlock(t));
    fl_unit last;
    assert_true(
        fl_chip_unit_at(t->chip, t->flash_size, t->chip->line->flash_base + len - 1, &last));
    for (uint32_t u = 0; u <= last.index; u++)
        check(t, fl_erase_unit(t, u));
    check(t, fl_program(t, t->chip->line->flash_base, img, len, NULL, NULL));
    uint8_t *back = malloc(len);
    assert_non_null(back);
    assert_int_equal(pd_mem_read(t->probe, t->chip->line->flash_base, back, len), PD_OK);
    assert_memory_equal(back, img, len);
    free(back);
    free(img);
}

/* CRC-32 of the whole flash on the target equals that of an erased one. */
static void assert_all_erased(fl_target *t)
{
    uint32_t crc = 0;
    check(t, fl_crc32(t, t->chip->line->flash_base, t->flash_size, &crc));
    uint8_t *blank = malloc(t->flash_size);
    assert_non_null(blank);
    memset(blank, fl_chip_erased(t->chip), t->flash_size);
    uLong want = crc32(crc32(0L, Z_NULL, 0), blank, (uInt)t->flash_size);
    free(blank);
    assert_int_equal(crc, (uint32_t)want);
    uint8_t head[64];
    assert_int_equal(pd_mem_read(t->probe, t->chip->line->flash_base, head, sizeof head), PD_OK);
    for (size_t k = 0; k < sizeof head; k++)
        assert_int_equal(head[k], fl_chip_erased(t->chip));
}

/* R5 of the halted core holds MARKER; a reset would clear it. */
static void plant_marker(pd_probe *p)
{
    assert_int_equal(pd_write_reg(p, 5, MARKER), PD_OK);
}

static void assert_no_reset(pd_probe *p)
{
    uint32_t r5 = 0;
    assert_int_equal(pd_read_reg(p, 5, &r5), PD_OK);
    assert_int_equal(r5, MARKER);
}

static void rdp_1_protects_and_rdp_0_mass_erases(void **state)
{
    (void)state;
    for (size_t i = 0; i < NLINE; i++) {
        pd_probe *p = line_connect(line[i].serial, false);
        fl_target t;
        check(&t, fl_identify(p, &t));
        program_pattern(&t, 4096, (uint8_t)i);
        fl_options before;
        check(&t, fl_options_read(&t, &before));

        /* The instrument of the next test: a real change resets the core
         * and so clears the marker. */
        plant_marker(p);
        double t0 = now_s();
        check(&t, fl_options_set_rdp(&t, 1, NULL));
        double t_set1 = now_s() - t0;
        assert_true(t.rdp);
        uint32_t r5 = 0;
        assert_int_equal(pd_read_reg(p, 5, &r5), PD_OK);
        assert_int_not_equal(r5, MARKER);
        fl_options o;
        check(&t, fl_options_read(&t, &o));
        assert_int_equal(o.rdp, 1);
        assert_true(o.valid);
        assert_int_equal(o.user, before.user); /* the other options are kept */
        /* A fresh identify sees it as well. */
        fl_target again;
        check(&again, fl_identify(p, &again));
        assert_true(again.rdp);
        /* The debugger can no longer read main flash (RM0008 4.3.1, RM0090
         * 3.7.3, RM0367 3.4.1, RM0351 3.5.1: bus error for debug accesses). */
        uint8_t word[4];
        assert_int_not_equal(pd_mem_read(p, t.chip->line->flash_base, word, sizeof word), PD_OK);
        /* Nor program or erase it, by stub or directly. */
        uint8_t data[256];
        memset(data, 0x42, sizeof data);
        uint32_t spare = t.chip->line->flash_base + 0x2000;
        check(&t, fl_unlock(&t));
        assert_int_equal(fl_program(&t, spare, data, sizeof data, NULL, NULL), FL_E_PROTECTED);
        assert_int_equal(fl_program_direct(&t, spare, data, sizeof data, NULL, NULL),
                         FL_E_PROTECTED);
        fl_unit u;
        assert_true(fl_chip_unit_at(t.chip, t.flash_size, spare, &u));
        assert_int_equal(fl_erase_unit(&t, u.index), FL_E_PROTECTED);

        t0 = now_s();
        check(&t, fl_options_set_rdp(&t, 0, NULL));
        print_message("%s: RDP 0->1 %.3f s, 1->0 (mass erase) %.3f s wall\n", t.chip->name, t_set1,
                      now_s() - t0);
        assert_false(t.rdp);
        assert_non_null(strstr(t.msg, "mass-erased"));
        check(&t, fl_options_read(&t, &o));
        assert_int_equal(o.rdp, 0);
        assert_true(o.valid);
        assert_int_equal(o.user, before.user);
        assert_all_erased(&t);
        /* And it programs again. */
        program_pattern(&t, 2048, (uint8_t)(i + 100));
        pd_destroy(p);
    }
}

static void the_level_in_force_is_not_rewritten(void **state)
{
    (void)state;
    for (size_t i = 0; i < NLINE; i++) {
        pd_probe *p = line_connect(line[i].serial, false);
        fl_target t;
        check(&t, fl_identify(p, &t));
        program_pattern(&t, 1024, (uint8_t)(i + 7));
        uint8_t flash_before[1024], flash_after[1024];
        assert_int_equal(pd_mem_read(p, t.chip->line->flash_base, flash_before, 1024), PD_OK);
        uint8_t blk_before[16], blk_after[16];
        read_block(p, &line[i], blk_before);

        plant_marker(p);
        check(&t, fl_options_set_rdp(&t, 0, NULL));
        assert_non_null(strstr(t.msg, "nothing written"));
        assert_false(t.rdp);
        assert_no_reset(p);
        read_block(p, &line[i], blk_after);
        assert_memory_equal(blk_before, blk_after, line[i].opt_len);
        assert_int_equal(pd_mem_read(p, t.chip->line->flash_base, flash_after, 1024), PD_OK);
        assert_memory_equal(flash_before, flash_after, 1024);

        /* The same at level 1. */
        check(&t, fl_options_set_rdp(&t, 1, NULL));
        read_block(p, &line[i], blk_before);
        plant_marker(p);
        check(&t, fl_options_set_rdp(&t, 1, NULL));
        assert_non_null(strstr(t.msg, "nothing written"));
        assert_true(t.rdp);
        assert_no_reset(p);
        read_block(p, &line[i], blk_after);
        assert_memory_equal(blk_before, blk_after, line[i].opt_len);
        check(&t, fl_options_set_rdp(&t, 0, NULL));
        assert_false(t.rdp);
        pd_destroy(p);
    }
}

static void level_2_is_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < NLINE; i++) {
        pd_probe *p = line_connect(line[i].serial, false);
        fl_target t;
        check(&t, fl_identify(p, &t));
        uint8_t blk_before[16], blk_after[16];
        read_block(p, &line[i], blk_before);
        plant_marker(p);
        assert_int_equal(fl_options_set_rdp(&t, 2, NULL), FL_E_ARG);
        assert_non_null(strstr(t.msg, "permanent"));
        assert_int_equal(fl_options_set_rdp(&t, 3, NULL), FL_E_ARG);
        assert_int_equal(fl_options_set_rdp(&t, -1, NULL), FL_E_ARG);
        assert_no_reset(p);
        read_block(p, &line[i], blk_after);
        assert_memory_equal(blk_before, blk_after, line[i].opt_len);
        fl_options o;
        check(&t, fl_options_read(&t, &o));
        assert_int_equal(o.rdp, 0);
        pd_destroy(p);
    }
}

static void user_bits_are_written_and_loaded(void **state)
{
    (void)state;
    for (size_t i = 0; i < NLINE; i++) {
        pd_probe *p = line_connect(line[i].serial, false);
        fl_target t;
        check(&t, fl_identify(p, &t));
        fl_options o;
        check(&t, fl_options_read(&t, &o));
        uint32_t flipped = o.user ^ line[i].user_bit;
        check(&t, fl_options_write_user(&t, flipped, NULL));
        fl_options after;
        check(&t, fl_options_read(&t, &after));
        assert_int_equal(after.user, flipped);
        assert_int_equal(after.rdp, 0);
        assert_true(after.valid);
        /* Writing what is in force writes nothing. */
        plant_marker(p);
        check(&t, fl_options_write_user(&t, flipped, NULL));
        assert_non_null(strstr(t.msg, "nothing written"));
        assert_no_reset(p);
        /* Bits outside the family's user options are refused. */
        assert_int_equal(fl_options_write_user(&t, flipped ^ 0x1u << 30, NULL), FL_E_ARG);
        check(&t, fl_options_write_user(&t, o.user, NULL));
        check(&t, fl_options_read(&t, &after));
        assert_int_equal(after.user, o.user);
        pd_destroy(p);
    }
}

/* Raw register access for the next test: write an RDP byte and commit it
 * (OPTSTRT) without loading it, as a call cut short would leave it. */
static void write_rdp_unloaded(pd_probe *p, uint16_t dev_id, uint8_t rdp)
{
    uint32_t v = 0, sr = 0;
    if (dev_id == 0x421) {                                      /* F446 OPTCR; else L476 OPTR */
        assert_int_equal(pd_read32(p, 0x40023C14u, &v), PD_OK); /* OPTCR */
        if (v & 1u) {
            assert_int_equal(pd_write32(p, 0x40023C08u, 0x08192A3Bu), PD_OK); /* OPTKEYR */
            assert_int_equal(pd_write32(p, 0x40023C08u, 0x4C5D6E7Fu), PD_OK);
        }
        v = (v & ~0xFF03u) | (uint32_t)rdp << 8;
        assert_int_equal(pd_write32(p, 0x40023C14u, v), PD_OK);
        assert_int_equal(pd_write32(p, 0x40023C14u, v | 2u), PD_OK); /* OPTSTRT */
        do
            assert_int_equal(pd_read32(p, 0x40023C0Cu, &sr), PD_OK);
        while (sr & (1u << 16));
        assert_int_equal(pd_write32(p, 0x40023C14u, v | 1u), PD_OK); /* OPTLOCK */
    } else {
        /* Keys only into a locked register: anything else is a bus error. */
        assert_int_equal(pd_read32(p, 0x40022014u, &v), PD_OK); /* CR */
        if (v & (1u << 31)) {
            assert_int_equal(pd_write32(p, 0x40022008u, 0x45670123u), PD_OK); /* KEYR */
            assert_int_equal(pd_write32(p, 0x40022008u, 0xCDEF89ABu), PD_OK);
        }
        if (v & (1u << 30)) {
            assert_int_equal(pd_write32(p, 0x4002200Cu, 0x08192A3Bu), PD_OK); /* OPTKEYR */
            assert_int_equal(pd_write32(p, 0x4002200Cu, 0x4C5D6E7Fu), PD_OK);
        }
        assert_int_equal(pd_read32(p, 0x40022020u, &v), PD_OK); /* OPTR */
        assert_int_equal(pd_write32(p, 0x40022020u, (v & ~0xFFu) | rdp), PD_OK);
        assert_int_equal(pd_write32(p, 0x40022014u, 1u << 17), PD_OK); /* OPTSTRT */
        do
            assert_int_equal(pd_read32(p, 0x40022010u, &sr), PD_OK);
        while (sr & (1u << 16));
        assert_int_equal(pd_write32(p, 0x40022014u, 0xC0000000u), PD_OK); /* LOCK, OPTLOCK */
    }
}

/* A TrustZone part (the U585 on the line: FLASH_OPTR at 0x40022040,
 * RM0456 7.9.17) takes an option write only with its confirm word: without
 * it nothing is written and the board keeps its flash; with it the levels
 * change as elsewhere. */
#define U585_SERIAL     "066BFF535254887767094517"
#define U585_FLASH_OPTR 0x40022040u
static void a_trustzone_part_writes_only_when_confirmed(void **state)
{
    (void)state;
    pd_probe *p = line_connect(U585_SERIAL, false);
    fl_target t;
    check(&t, fl_identify(p, &t));
    program_pattern(&t, 4096, 0x5A);
    uint32_t optr = 0, after = 0;
    assert_int_equal(pd_read32(p, U585_FLASH_OPTR, &optr), PD_OK);
    assert_int_equal(fl_options_set_rdp(&t, 1, NULL), FL_E_ARG);
    assert_non_null(strstr(t.msg, "\"confirm\": \"trustzone\""));
    assert_int_equal(fl_options_set_rdp(&t, 1, "yes"), FL_E_ARG);
    assert_int_equal(pd_read32(p, U585_FLASH_OPTR, &after), PD_OK);
    assert_int_equal(after, optr);
    uint32_t word = 0;
    assert_int_equal(pd_read32(p, t.chip->line->flash_base, &word), PD_OK); /* still level 0 */
    /* A call that writes nothing needs no word. */
    check(&t, fl_options_set_rdp(&t, 0, NULL));
    check(&t, fl_options_set_rdp(&t, 1, "trustzone"));
    fl_options o;
    check(&t, fl_options_read(&t, &o));
    assert_int_equal(o.rdp, 1);
    check(&t, fl_options_set_rdp(&t, 0, "trustzone"));
    check(&t, fl_options_read(&t, &o));
    assert_int_equal(o.rdp, 0);
    assert_all_erased(&t);
    pd_destroy(p);
}

static void a_written_but_unloaded_level_is_loaded(void **state)
{
    (void)state;
    const size_t which[] = {1, 3}; /* F4, L4: the register shows the written value */
    for (size_t k = 0; k < 2; k++) {
        const line_probe *lp = &line[which[k]];
        pd_probe *p = line_connect(lp->serial, false);
        fl_target t;
        check(&t, fl_identify(p, &t));
        write_rdp_unloaded(p, lp->dev_id, 0xBB);
        /* Not in force: flash still reads. */
        uint32_t w = 0;
        assert_int_equal(pd_read32(p, t.chip->line->flash_base, &w), PD_OK);
        check(&t, fl_options_set_rdp(&t, 1, NULL));
        assert_null(strstr(t.msg, "nothing written"));
        assert_true(t.rdp);
        assert_int_not_equal(pd_read32(p, t.chip->line->flash_base, &w), PD_OK);
        check(&t, fl_options_set_rdp(&t, 0, NULL));
        assert_false(t.rdp);
        assert_int_equal(pd_read32(p, t.chip->line->flash_base, &w), PD_OK);
        pd_destroy(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fresh_boards_are_unprotected),
        cmocka_unit_test(rdp_1_protects_and_rdp_0_mass_erases),
        cmocka_unit_test(the_level_in_force_is_not_rewritten),
        cmocka_unit_test(level_2_is_refused),
        cmocka_unit_test(user_bits_are_written_and_loaded),
        cmocka_unit_test(a_written_but_unloaded_level_is_loaded),
        cmocka_unit_test(a_trustzone_part_writes_only_when_confirmed),
    };
    return cmocka_run_group_tests_name("loaders.options", tests, NULL, NULL);
}
