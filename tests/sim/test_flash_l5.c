/*
 * The L5/U5 flash interface (sim/target/flash_l5.c) driven through the
 * debugger, as a probe drives it. Expected values are written here from
 * RM0438 (L5) and RM0456 (U5):
 *  - identity: DBGMCU_IDCODE at 0xE0044000, CPUID part 0xD21, DPv2 IDCODE;
 *    NSCR resets locked (0xC0000000), OPTR RDP 0xAA and TZEN 0;
 *  - NSKEYR unlocks; a wrong key is a bus error and NSCR stays locked;
 *  - U5: PG and four word stores program a quad word; WDW shows while the
 *    rest is awaited; a quad word not erased is PROGERR; an unaligned start
 *    PGAERR; a half-word store SIZERR; an error left set makes the next
 *    program PGSERR;
 *  - U5: PER + PNB + BKER + STRT erases one 8 KiB page of bank 2; MER1
 *    erases bank 1 only;
 *  - L5: PG and two stores program a double word; a 2 KiB page erase;
 *  - TZEN cannot be set above RDP level 0 (OPTWERR); with TZEN = 1 the
 *    non-secure side can neither program (WRPERR) nor read the flash;
 *  - ordering codes give the datasheets' flash and SRAM.
 */
#include "board_internal.h"
#include "thumb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#define REGS    0x40022000u
#define NSKEYR  (REGS + 0x08)
#define OPTKEYR (REGS + 0x10)
#define NSSR    (REGS + 0x20)
#define NSCR    (REGS + 0x28)
#define OPTR    (REGS + 0x40)

#define SR_EOP     (1u << 0)
#define SR_PROGERR (1u << 3)
#define SR_WRPERR  (1u << 4)
#define SR_PGAERR  (1u << 5)
#define SR_SIZERR  (1u << 6)
#define SR_PGSERR  (1u << 7)
#define SR_OPTWERR (1u << 13)
#define SR_BSY     (1u << 16)
#define SR_WDW     (1u << 17)
#define CR_PG      (1u << 0)
#define CR_PER     (1u << 1)
#define CR_MER1    (1u << 2)
#define CR_BKER    (1u << 11)
#define CR_STRT    (1u << 16)
#define CR_OPTSTRT (1u << 17)
#define CR_EOPIE   (1u << 24)
#define FLASH      0x08000000u

static sim_board *board(const char *name)
{
    sim_board *b = NULL;
    assert_int_equal(sim_board_create(name, 9, 0.0, &b), SIM_OK);
    thumb_halt(b);
    return b;
}

static void unlock(sim_board *b)
{
    wr32(b, NSKEYR, 0x45670123u);
    wr32(b, NSKEYR, 0xCDEF89ABu);
    assert_int_equal(rd32(b, NSCR) & (1u << 31), 0);
}

static void wait_idle(sim_board *b)
{
    for (int i = 0; i < 1000 && (rd32(b, NSSR) & SR_BSY); i++)
        assert_int_equal(sim_board_advance(b, 100000), SIM_OK);
    assert_int_equal(rd32(b, NSSR) & SR_BSY, 0);
}

static void test_identity(void **state)
{
    (void)state;
    sim_board *b = board("stm32u585zi");
    assert_int_equal(rd32(b, 0xE0044000) & 0xFFF, 0x482);
    assert_int_equal((rd32(b, 0xE000ED00) >> 4) & 0xFFF, 0xD21);
    assert_int_equal(sim_board_dp_idcode(b), 0x0BE12477u);
    assert_int_equal(rd32(b, NSCR), 0xC0000000u);
    assert_int_equal(rd32(b, OPTR) & 0x800000FFu, 0xAA);
    assert_int_equal(rd32(b, 0x0BFA07A0) & 0xFFFF, 2048);
    /* a wrong key: bus error, locked until reset */
    assert_int_equal(sim_board_write32(b, NSKEYR, 0x12345678u), SIM_E_BUS);
    assert_int_equal(sim_board_write32(b, NSKEYR, 0x45670123u), SIM_E_BUS);
    assert_int_equal(rd32(b, NSCR) >> 31, 1);
    sim_board_destroy(b);
}

static void test_u5_quad_word(void **state)
{
    (void)state;
    sim_board *b = board("stm32u575zi");
    unlock(b);
    wr32(b, NSCR, CR_PG | CR_EOPIE);
    wr32(b, FLASH + 0x100, 0x11111111u);
    assert_int_equal(rd32(b, NSSR) & (SR_WDW | SR_BSY), SR_WDW); /* waits for 3 more */
    wr32(b, FLASH + 0x104, 0x22222222u);
    wr32(b, FLASH + 0x108, 0x33333333u);
    wr32(b, FLASH + 0x10C, 0x44444444u);
    wait_idle(b);
    assert_int_equal(rd32(b, NSSR), SR_EOP);
    assert_int_equal(rd32(b, FLASH + 0x10C), 0x44444444u);
    wr32(b, NSSR, SR_EOP);
    /* the same quad word again: PROGERR, unchanged */
    for (uint32_t i = 0; i < 4; i++)
        wr32(b, FLASH + 0x100 + 4 * i, 0);
    assert_int_equal(rd32(b, NSSR) & SR_PROGERR, SR_PROGERR);
    assert_int_equal(rd32(b, FLASH + 0x100), 0x11111111u);
    /* left set: the next program is PGSERR */
    wr32(b, FLASH + 0x200, 0);
    assert_int_equal(rd32(b, NSSR) & SR_PGSERR, SR_PGSERR);
    wr32(b, NSSR, 0xFFFFu);
    /* unaligned start: PGAERR; half-word: SIZERR */
    wr32(b, FLASH + 0x208, 0);
    assert_int_equal(rd32(b, NSSR) & SR_PGAERR, SR_PGAERR);
    wr32(b, NSSR, 0xFFFFu);
    uint16_t h = 0;
    assert_int_equal(sim_board_mem_write(b, FLASH + 0x300, &h, 2, 2, NULL), SIM_OK);
    assert_int_equal(rd32(b, NSSR) & SR_SIZERR, SR_SIZERR);
    sim_board_destroy(b);
}

static void test_u5_erase(void **state)
{
    (void)state;
    sim_board *b = board("stm32u575zi");
    uint32_t bank2 = FLASH + 1024 * 1024;
    static uint8_t zeros[16384];
    assert_int_equal(sim_board_preload(b, bank2 + 3 * 8192 - 16, zeros, 8192 + 32), SIM_OK);
    assert_int_equal(sim_board_preload(b, FLASH, zeros, 16384), SIM_OK);
    unlock(b);
    wr32(b, NSCR, CR_PER | CR_BKER | (3u << 3));
    wr32(b, NSCR, CR_PER | CR_BKER | (3u << 3) | CR_STRT);
    wait_idle(b);
    const uint8_t *f = sim_board_flash(b);
    uint32_t p = 1024 * 1024 + 3 * 8192;
    assert_int_equal(f[p - 1], 0x00); /* page 2 of bank 2 kept */
    assert_int_equal(f[p], 0xFF);     /* page 3 erased */
    assert_int_equal(f[p + 8191], 0xFF);
    assert_int_equal(f[p + 8192], 0x00); /* page 4 kept */
    assert_int_equal(f[0], 0x00);        /* bank 1 untouched */
    wr32(b, NSCR, CR_MER1);
    wr32(b, NSCR, CR_MER1 | CR_STRT);
    wait_idle(b);
    assert_int_equal(f[0], 0xFF);
    assert_int_equal(f[p - 1], 0x00); /* bank 2 untouched */
    sim_board_destroy(b);
}

static void test_l5_double_word_and_page(void **state)
{
    (void)state;
    sim_board *b = board("stm32l552ze");
    assert_int_equal(rd32(b, 0xE0044000) & 0xFFF, 0x472);
    unlock(b);
    wr32(b, NSCR, CR_PG);
    wr32(b, FLASH + 0x808, 0xAAAA5555u);
    wr32(b, FLASH + 0x80C, 0x5555AAAAu);
    wait_idle(b);
    assert_int_equal(rd32(b, FLASH + 0x80C), 0x5555AAAAu);
    assert_int_equal(rd32(b, NSSR) & 0xFFFF, 0); /* EOP only with EOPIE */
    wr32(b, NSCR, CR_PER | (1u << 3));
    wr32(b, NSCR, CR_PER | (1u << 3) | CR_STRT); /* 2 KiB page 1 */
    wait_idle(b);
    assert_int_equal(rd32(b, FLASH + 0x80C), 0xFFFFFFFFu);
    sim_board_destroy(b);
}

static void set_optr(sim_board *b, uint32_t v)
{
    wr32(b, OPTKEYR, 0x08192A3Bu);
    wr32(b, OPTKEYR, 0x4C5D6E7Fu);
    wr32(b, OPTR, v);
    wr32(b, NSCR, CR_OPTSTRT);
    wait_idle(b);
}

static void test_tzen(void **state)
{
    (void)state;
    sim_board *b = board("stm32l552ze");
    assert_int_equal(sim_board_inject(b, SIM_FAULT_RDP1, 0), SIM_OK);
    sim_board_power(b, false);
    sim_board_power(b, true);
    thumb_halt(b);
    unlock(b);
    uint32_t optr = rd32(b, OPTR);
    assert_int_equal(optr & 0xFF, 0xBB);
    set_optr(b, optr | (1u << 31)); /* TZEN above level 0 */
    assert_int_equal(rd32(b, NSSR) & SR_OPTWERR, SR_OPTWERR);
    sim_board_destroy(b);

    b = board("stm32l552ze");
    unlock(b);
    set_optr(b, rd32(b, OPTR) | (1u << 31));
    assert_int_equal(rd32(b, NSSR) & SR_OPTWERR, 0);
    sim_board_power(b, false);
    sim_board_power(b, true);
    thumb_halt(b);
    assert_int_equal(rd32(b, OPTR) >> 31, 1); /* the host can see TZEN */
    uint32_t v = 0;
    assert_int_equal(sim_board_read32(b, FLASH, &v), SIM_E_BUS);
    unlock(b);
    wr32(b, NSCR, CR_PG);
    wr32(b, FLASH + 0x10, 0);
    assert_int_equal(rd32(b, NSSR) & SR_WRPERR, SR_WRPERR);
    sim_board_destroy(b);
}

static void test_ordering_codes(void **state)
{
    (void)state;
    static const struct {
        const char *code;
        uint16_t dev_id;
        uint32_t flash_kib, sram_kib;
    } codes[] = {
        {"stm32l552ze", 0x472, 512, 256},  {"stm32l552cc", 0x472, 256, 256},
        {"stm32u575zi", 0x482, 2048, 768}, {"stm32u575ag", 0x482, 1024, 768},
        {"stm32u585ai", 0x482, 2048, 768}, {"stm32u5a5zj", 0x481, 4096, 2496},
        {"stm32u535cb", 0x455, 128, 256},  {"stm32u5g9nj", 0x476, 4096, 3008},
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const sim_chip *c = sim_chip_find(codes[i].code);
        if (!c)
            fail_msg("%s not found", codes[i].code);
        assert_int_equal(c->dev_id, codes[i].dev_id);
        assert_int_equal(c->flash_size, codes[i].flash_kib * 1024);
        assert_int_equal(c->sram_size, codes[i].sram_kib * 1024);
    }
    assert_null(sim_chip_find("stm32u585zg"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity), cmocka_unit_test(test_u5_quad_word),
        cmocka_unit_test(test_u5_erase), cmocka_unit_test(test_l5_double_word_and_page),
        cmocka_unit_test(test_tzen),     cmocka_unit_test(test_ordering_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
