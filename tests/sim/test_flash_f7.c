/*
 * The STM32F7 variants of the F2/F4 flash interface model (sim/target/
 * flash_f4.c with flash_f7.c's data), on test rows made from the F446 row
 * (sim_board_create_row) until the F7 rows arrive, driven by real Thumb
 * code (progs/prog_f7.c) and by the debugger. What each test expects is
 * written here from the reference manuals (RM0385 F74x/F75x, RM0410
 * F76x/F77x, RM0431 F72x/F73x), never read from the model:
 *  - F74x sectors 4 x 32 KiB, 128 KiB, 256 KiB; SNB is 4 bits (b7
 *    reserved: 0x10 | n selects sector n [U]); a sector past the part's
 *    last is refused with WRPERR; a 256 KiB sector at x32 takes the chosen
 *    typical 2 s [U: DS10916 not read];
 *  - programming ANDs the new data into the cells (no "not erased" error);
 *    ERSERR (b7) for a store without PG, nothing written;
 *  - F76x factory OPTCR 0xFFFFAAFD (nDBANK = 1, single bank) and OPTCR1
 *    0x00400080; nDBANK = 0 programmed shows in OPTCR at once but the
 *    organization changes only at the next reset; then dual bank: SNB n
 *    erases bank 1's 16/64/128 KiB sector n, SNB 0x10 | n bank 2's from
 *    0x08100000, codes 12-15 are refused; MER erases bank 1 and MER2 bank 2;
 *    in single-bank mode MER2 alone erases nothing and raises no flag [U];
 *  - RDP 0 -> 1 (after reset the debugger cannot read flash) -> 0 mass-
 *    erases main flash;
 *  - the ITCM alias at 0x00200000 reads the same bytes as 0x08000000, for
 *    the core and the debugger, and follows an erase; a store through it
 *    is a bus error and programs nothing [U: the stricter choice];
 *  - FLASH_ACR.ARTRST takes only while ARTEN = 0 (RM0410 3.5.2);
 *  - F72x: 16/64/128 KiB sectors, OTP at 0x1FF07800 with lock bytes at
 *    0x1FF07A00, factory OPTCR 0xC0FFAAFD.
 */
#include "flash_fixture.h"
#include "board_internal.h"

#include <stdlib.h>
#include <string.h>

extern const unsigned char prog_f7[];
extern const size_t prog_f7_len;

enum {
    OP_READ = 0,
    OP_WRITE = 1,
    OP_UNLOCK = 2,
    OP_OPT_UNLOCK = 3,
    OP_ERASE = 4,
    OP_PROGRAM = 5,
    OP_STORE = 6,
    OP_OPTIONS = 7,
};

#define MS    1000000ull
#define FLASH 0x08000000u
#define ITCM  0x00200000u
#define KIB   1024u

#define REGS    0x40023C00u
#define ACR     (REGS + 0x00)
#define KEYR    (REGS + 0x04)
#define OPTKEYR (REGS + 0x08)
#define SR      (REGS + 0x0C)
#define CR      (REGS + 0x10)
#define OPTCR   (REGS + 0x14)
#define OPTCR1  (REGS + 0x18)

#define KEY1    0x45670123u
#define KEY2    0xCDEF89ABu
#define OPTKEY1 0x08192A3Bu
#define OPTKEY2 0x4C5D6E7Fu

#define SR_EOP    (1u << 0)
#define SR_WRPERR (1u << 4)
#define SR_PGAERR (1u << 5)
#define SR_PGPERR (1u << 6)
#define SR_ERSERR (1u << 7)
#define SR_BSY    (1u << 16)
#define SR_ERRORS (SR_WRPERR | SR_PGAERR | SR_PGPERR | SR_ERSERR)
#define CR_SER    (1u << 1)
#define CR_MER    (1u << 2)
#define CR_X32    (2u << 8)
#define CR_MER2   (1u << 15)
#define CR_LOCK   (1u << 31)
#define SNB(n)    ((uint32_t)(n) << 3)
#define X32       2u

#define ACR_ARTEN  (1u << 9)
#define ACR_ARTRST (1u << 11)

#define OPTCR_NDBANK (1u << 29)

static sim_chip f74x_row, f76x_row, f72x_row;

/* The F446 row with the F7 memory facts the tests need (fact sheet 2, 3.6,
 * 7): flash size, ITCM alias, OTP/UID block, option image block. */
static void make_rows(void)
{
    const sim_chip *f446 = sim_chip_find("stm32f446re");
    f74x_row = *f446;
    f74x_row.name = "test-f746";
    f74x_row.dev_id = 0x449;
    f74x_row.flash_size = 1024 * KIB;
    f74x_row.itcm_flash_base = ITCM;
    f74x_row.sys[0] = (struct sim_region){0x1FF0F000, 0x1000}; /* OTP, UID, size */
    f74x_row.sys[1] = (struct sim_region){0x1FFF0000, 0x1000}; /* option bytes */
    f74x_row.flash_size_reg = 0x1FF0F442;
    f74x_row.uid_addr[0] = 0x1FF0F420;
    f74x_row.uid_addr[1] = 0x1FF0F424;
    f74x_row.uid_addr[2] = 0x1FF0F428;
    f74x_row.page_size = 32 * KIB;
    f74x_row.flash = &sim_flash_f7;

    f76x_row = f74x_row;
    f76x_row.name = "test-f767";
    f76x_row.dev_id = 0x451;
    f76x_row.flash_size = 2048 * KIB;
    f76x_row.page_size = 16 * KIB;
    f76x_row.flash = &sim_flash_f7_76x;

    f72x_row = f74x_row;
    f72x_row.name = "test-f722";
    f72x_row.dev_id = 0x452;
    f72x_row.flash_size = 512 * KIB;
    f72x_row.sys[0] = (struct sim_region){0x1FF07000, 0x1000};
    f72x_row.flash_size_reg = 0x1FF07A22;
    f72x_row.uid_addr[0] = 0x1FF07A10;
    f72x_row.uid_addr[1] = 0x1FF07A14;
    f72x_row.uid_addr[2] = 0x1FF07A18;
    f72x_row.page_size = 16 * KIB;
    f72x_row.flash = &sim_flash_f7_72x;
}

typedef struct rig {
    const sim_chip *row;
    fixture_chip fc;
} rig;

static rig rig_f74x = {&f74x_row, {0}}, rig_f76x = {&f76x_row, {0}}, rig_f72x = {&f72x_row, {0}};

/* A board of the rig's row with prog_f7 loaded; the fixture helpers
 * (call, sr, check_flash) work on it as on a table row. */
static int setup(void **state)
{
    rig *r = *state;
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    r->fc = (fixture_chip){
        .name = r->row->name,
        .seed = 7,
        .prog = prog_f7,
        .prog_len = &prog_f7_len,
        .flash_base = FLASH,
        .flash_size = r->row->flash_size,
        .erased = 0xFF,
        .sr_addr = SR,
        .sr_bsy = SR_BSY,
        .sr_clear = 0xFFFFFFFFu,
        .sr_ignore = SR_BSY,
        .sr_idle = 0,
    };
    f->chip = &r->fc;
    assert_int_equal(sim_board_create_row(r->row, 7, 0.0, &f->b), SIM_OK);
    thumb_halt(f->b); /* blank flash: the core locked up; park it */
    f->expect = malloc(r->row->flash_size);
    assert_non_null(f->expect);
    thumb_load(f->b, prog_f7, prog_f7_len);
    *state = f;
    return 0;
}

#define F7_TEST(fn, r) cmocka_unit_test_prestate_setup_teardown(fn, setup, fixture_teardown, &(r))

/* Every byte of flash known and not erased: a pattern. */
static void preload_all(fixture *f)
{
    for (uint32_t i = 0; i < f->chip->flash_size; i++)
        f->expect[i] = (uint8_t)((i * 7 + (i >> 12)) | 0x01);
    preload_expect(f, FLASH, f->chip->flash_size);
}

static void expect_erased(fixture *f, uint32_t addr, uint32_t len)
{
    memset(f->expect + (addr - FLASH), 0xFF, len);
}

static void unlock(fixture *f)
{
    assert_int_equal(call(f, OP_UNLOCK, KEY1, KEY2, 0), 0);
}

static void opt_unlock(fixture *f)
{
    assert_int_equal(call(f, OP_OPT_UNLOCK, OPTKEY1, OPTKEY2, 0) & 1u, 0);
}

/* Let virtual time pass until BSY falls (the host waits, as OpenOCD
 * does); returns SR. */
static uint32_t wait_idle(fixture *f)
{
    uint32_t s;
    for (int i = 0; (s = sr(f)) & SR_BSY; i++) {
        assert_true(i < 100000);
        assert_int_equal(sim_board_advance(f->b, MS), SIM_OK);
    }
    return s;
}

/* Start an erase with CR = cr (x32) from the core, wait from the host;
 * returns SR and leaves CR cleared. */
static uint32_t erase(fixture *f, uint32_t cr)
{
    clear_sr(f);
    call(f, OP_ERASE, cr | CR_X32, 0, 0);
    uint32_t s = wait_idle(f);
    call(f, OP_WRITE, CR, 0, 0);
    return s;
}

static void system_reset(fixture *f)
{
    wr32(f->b, 0xE000ED0Cu, 0x05FA0004u); /* AIRCR.SYSRESETREQ */
    assert_int_equal(sim_board_advance(f->b, 1000), SIM_OK);
    thumb_halt(f->b);
    thumb_load(f->b, prog_f7, prog_f7_len); /* SRAM survives; reload anyway */
}

/* Program options from the core and wait for them from the host. */
static uint32_t options(fixture *f, uint32_t optcr, uint32_t optcr1)
{
    opt_unlock(f);
    clear_sr(f);
    call(f, OP_OPTIONS, optcr & ~3u, optcr1, 0);
    return wait_idle(f);
}

/* ---- F74x ---------------------------------------------------------------- */

static void f74x_sectors_and_snb_width(void **state)
{
    fixture *f = *state;
    preload_all(f);
    unlock(f);
    /* SNB 5: the first 256 KiB sector, 0x08040000; 2 s at x32 [U]. */
    clear_sr(f);
    uint64_t t0 = sim_board_now_ns(f->b);
    call(f, OP_ERASE, CR_SER | SNB(5) | CR_X32, 0, 0);
    uint64_t t1 = sim_board_now_ns(f->b);
    assert_int_equal(busy_for(f, t0, t1, 2000 * MS) & SR_ERRORS, 0);
    expect_erased(f, FLASH + 0x40000, 0x40000);
    check_flash(f);

    /* SNB 4: 128 KiB at 0x08020000; SNB 3: 32 KiB at 0x08018000. */
    assert_int_equal(erase(f, CR_SER | SNB(4)) & SR_ERRORS, 0);
    expect_erased(f, FLASH + 0x20000, 0x20000);
    assert_int_equal(erase(f, CR_SER | SNB(3)) & SR_ERRORS, 0);
    expect_erased(f, FLASH + 0x18000, 0x8000);
    check_flash(f);

    /* No sector 8 on a 1 MiB part: WRPERR, nothing erased. */
    assert_true(erase(f, CR_SER | SNB(8)) & SR_WRPERR);
    check_flash(f);

    /* SNB is b6:3: the bank bit of a dual-bank part does not exist here,
     * CR reads it back as 0 and sector 0 is the one erased [U]. */
    assert_int_equal(call(f, OP_WRITE, CR, CR_SER | SNB(0x11) | CR_X32, 0),
                     CR_SER | SNB(1) | CR_X32);
    assert_int_equal(erase(f, CR_SER | SNB(0x10)) & SR_ERRORS, 0);
    expect_erased(f, FLASH, 0x8000);
    check_flash(f);
}

static void program_ands_and_erserr(void **state)
{
    fixture *f = *state;
    memset(f->expect, 0xFF, f->chip->flash_size);
    unlock(f);
    clear_sr(f);
    uint32_t a = FLASH + 0x8000;
    assert_int_equal(call(f, OP_PROGRAM, a, 0xFFFF00FFu, X32) & SR_ERRORS, 0);
    /* A second program of the same word, no erase: the cells keep the AND
     * (RM0385 3.3.7 as RM0090 3.5.4: "successive write operations are
     * possible ... when changing bits from 1 to 0"). */
    assert_int_equal(call(f, OP_PROGRAM, a, 0x0F0F0F0Fu, X32) & SR_ERRORS, 0);
    expect_word(f, a, 0x0F0F000Fu);
    check_flash(f);
    assert_int_equal(call(f, OP_READ, a, 0, 0), 0x0F0F000Fu);

    /* A store with PG = 0 (PSIZE x32): ERSERR (b7), nothing written. */
    clear_sr(f);
    call(f, OP_WRITE, CR, CR_X32, 0);
    assert_int_equal(call(f, OP_STORE, a + 4, 0, 4) & SR_ERRORS, SR_ERSERR);
    /* The wrong width for PSIZE: PGPERR. */
    clear_sr(f);
    call(f, OP_WRITE, CR, 1u | CR_X32, 0); /* PG, x32 */
    assert_int_equal(call(f, OP_STORE, a + 8, 0x1234, 2) & SR_ERRORS, SR_PGPERR);
    call(f, OP_WRITE, CR, 0, 0);
    clear_sr(f);
    check_flash(f);
}

/* ---- F76x ---------------------------------------------------------------- */

static void f76x_ndbank_takes_effect_after_reset(void **state)
{
    fixture *f = *state;
    assert_int_equal(rd32(f->b, OPTCR), 0xFFFFAAFDu);
    assert_int_equal(rd32(f->b, OPTCR1), 0x00400080u);
    preload_all(f);
    unlock(f);

    /* Single bank (factory): SNB 1 is the second 32 KiB sector; SNB 0x10
     * is no sector. */
    assert_int_equal(erase(f, CR_SER | SNB(1)) & SR_ERRORS, 0);
    expect_erased(f, FLASH + 0x8000, 0x8000);
    assert_true(erase(f, CR_SER | SNB(0x10)) & SR_WRPERR);
    check_flash(f);

    /* nDBANK = 0: in OPTCR and the image at once, not in the organization. */
    assert_int_equal(options(f, 0xFFFFAAFDu & ~OPTCR_NDBANK, 0x00400080u) & SR_ERRORS, 0);
    assert_int_equal(rd32(f->b, OPTCR) & OPTCR_NDBANK, 0);
    assert_int_equal(erase(f, CR_SER | SNB(2)) & SR_ERRORS, 0);
    expect_erased(f, FLASH + 0x10000, 0x8000); /* still a 32 KiB sector 2 */
    assert_true(erase(f, CR_SER | SNB(0x10)) & SR_WRPERR);
    check_flash(f);

    system_reset(f);
    assert_int_equal(rd32(f->b, OPTCR), 0xDFFFAAFDu);
    unlock(f);
    /* Dual bank: SNB 5 is bank 1's first 128 KiB sector at 0x08020000,
     * SNB 4 its 64 KiB one, SNB 0x10 | 0 bank 2's first 16 KiB at
     * 0x08100000, SNB 0x10 | 11 its last 128 KiB. */
    assert_int_equal(erase(f, CR_SER | SNB(4)) & SR_ERRORS, 0);
    expect_erased(f, FLASH + 0x10000, 0x10000);
    assert_int_equal(erase(f, CR_SER | SNB(0x10)) & SR_ERRORS, 0);
    expect_erased(f, FLASH + 0x100000, 0x4000);
    assert_int_equal(erase(f, CR_SER | SNB(0x1B)) & SR_ERRORS, 0);
    expect_erased(f, FLASH + 0x1E0000, 0x20000);
    check_flash(f);
    /* 12-15 (and 28-31) are not sectors. */
    static const unsigned bad[] = {12, 15, 28, 31};
    for (unsigned i = 0; i < 4; i++)
        assert_true(erase(f, CR_SER | SNB(bad[i])) & SR_WRPERR);
    check_flash(f);

    /* MER2: bank 2 only; MER: bank 1 only. */
    assert_int_equal(erase(f, CR_MER2) & SR_ERRORS, 0);
    expect_erased(f, FLASH + 0x100000, 0x100000);
    check_flash(f);
    assert_int_equal(erase(f, CR_MER) & SR_ERRORS, 0);
    expect_erased(f, FLASH, 0x100000);
    check_flash(f);
}

static void f76x_single_bank_mer2_alone_does_nothing(void **state)
{
    fixture *f = *state;
    preload_all(f);
    unlock(f);
    uint32_t s = erase(f, CR_MER2);
    assert_int_equal(s & (SR_ERRORS | SR_EOP), 0);
    check_flash(f);
    assert_int_equal(erase(f, CR_MER) & SR_ERRORS, 0);
    expect_erased(f, FLASH, 2048 * KIB);
    check_flash(f);
}

/* ---- RDP, ITCM, ART (F74x) ----------------------------------------------- */

static void rdp_0_1_0_mass_erases(void **state)
{
    fixture *f = *state;
    preload_all(f);
    uint32_t optcr = rd32(f->b, OPTCR);
    assert_int_equal(optcr, 0xC0FFAAFDu);
    assert_int_equal(options(f, (optcr & ~0xFF00u) | 0x5500u, 0x00400080u) & SR_ERRORS, 0);
    check_flash(f); /* level 1 alone erases nothing */
    system_reset(f);
    assert_int_equal(rd32(f->b, OPTCR) & 0xFF00u, 0x5500u);
    uint32_t v = 0;
    assert_int_equal(sim_board_mem_read(f->b, FLASH, &v, 4, 4, NULL), SIM_E_BUS);
    assert_int_equal(sim_board_mem_read(f->b, ITCM, &v, 4, 4, NULL), SIM_E_BUS);

    /* Back to level 0: main flash is mass-erased by the option change. */
    assert_int_equal(options(f, 0xC0FFAAFDu, 0x00400080u) & SR_ERRORS, 0);
    memset(f->expect, 0xFF, f->chip->flash_size);
    check_flash(f);
    system_reset(f);
    assert_int_equal(rd32(f->b, OPTCR), 0xC0FFAAFDu);
    assert_int_equal(sim_board_mem_read(f->b, FLASH, &v, 4, 4, NULL), SIM_OK);
    assert_int_equal(v, 0xFFFFFFFFu);
}

static void itcm_alias_reads_the_same_array(void **state)
{
    fixture *f = *state;
    preload_all(f);
    static const uint32_t offs[] = {0, 0x7FFC, 0x20000, 0xFFFFC};
    for (unsigned i = 0; i < 4; i++) {
        uint32_t want = f->expect[offs[i]] | f->expect[offs[i] + 1] << 8 |
                        f->expect[offs[i] + 2] << 16 | (uint32_t)f->expect[offs[i] + 3] << 24;
        assert_int_equal(call(f, OP_READ, ITCM + offs[i], 0, 0), want);
        assert_int_equal(call(f, OP_READ, FLASH + offs[i], 0, 0), want);
        assert_int_equal(rd32(f->b, ITCM + offs[i]), want);
    }
    /* An erase through AXIM shows through ITCM (ART off). */
    unlock(f);
    assert_int_equal(erase(f, CR_SER | SNB(0)) & SR_ERRORS, 0);
    assert_int_equal(call(f, OP_READ, ITCM + 0x7FFC, 0, 0), 0xFFFFFFFFu);
    assert_int_equal(rd32(f->b, ITCM), 0xFFFFFFFFu);
    expect_erased(f, FLASH, 0x8000);

    /* Programming goes through AXIM only: a store to the ITCM alias with
     * PG set is a bus error, from the core and from the debugger. */
    call(f, OP_WRITE, CR, 1u | CR_X32, 0); /* PG, x32 */
    call_faults(f, OP_STORE, ITCM + 0x100, 0x12345678u, 4);
    thumb_halt(f->b);
    uint32_t v = 0x12345678u;
    assert_int_equal(sim_board_mem_write(f->b, ITCM + 0x104, &v, 4, 4, NULL), SIM_E_BUS);
    assert_int_equal(wait_idle(f) & SR_ERRORS, 0);
    check_flash(f);
    /* The same store through AXIM programs. */
    thumb_load(f->b, prog_f7, prog_f7_len);
    assert_int_equal(call(f, OP_PROGRAM, FLASH + 0x100, 0x12345678u, X32) & SR_ERRORS, 0);
    expect_word(f, FLASH + 0x100, 0x12345678u);
    assert_int_equal(call(f, OP_READ, ITCM + 0x100, 0, 0), 0x12345678u);
    check_flash(f);
}

static void artrst_only_while_art_disabled(void **state)
{
    fixture *f = *state;
    assert_int_equal(call(f, OP_WRITE, ACR, ACR_ARTEN, 0), ACR_ARTEN);
    /* ARTRST while ARTEN = 1: no effect. */
    assert_int_equal(call(f, OP_WRITE, ACR, ACR_ARTEN | ACR_ARTRST, 0), ACR_ARTEN);
    /* Disable first, then reset, then release the reset. */
    assert_int_equal(call(f, OP_WRITE, ACR, 0, 0), 0);
    assert_int_equal(call(f, OP_WRITE, ACR, ACR_ARTRST, 0), ACR_ARTRST);
    assert_int_equal(call(f, OP_WRITE, ACR, 0, 0), 0);
    /* ICEN/DCEN of the F4 (b10, b12) do not exist on the F7. */
    assert_int_equal(call(f, OP_WRITE, ACR, 0x1F05u, 0), 0x0B05u);
}

/* ---- F72x ---------------------------------------------------------------- */

static void f72x_sectors_otp_options(void **state)
{
    fixture *f = *state;
    assert_int_equal(rd32(f->b, OPTCR), 0xC0FFAAFDu);
    assert_int_equal(rd32(f->b, OPTCR1), 0x00400080u);
    preload_all(f);
    unlock(f);
    /* SNB 5: 128 KiB at 0x08020000; SNB 4: 64 KiB at 0x08010000; SNB 8: none. */
    assert_int_equal(erase(f, CR_SER | SNB(5)) & SR_ERRORS, 0);
    expect_erased(f, FLASH + 0x20000, 0x20000);
    assert_int_equal(erase(f, CR_SER | SNB(4)) & SR_ERRORS, 0);
    expect_erased(f, FLASH + 0x10000, 0x10000);
    assert_true(erase(f, CR_SER | SNB(8)) & SR_WRPERR);
    check_flash(f);

    /* OTP block 1 at 0x1FF07820 programs; after its lock byte is 0x00, the
     * block refuses with WRPERR. */
    clear_sr(f);
    assert_int_equal(call(f, OP_PROGRAM, 0x1FF07820u, 0xA5A5A5A5u, X32) & SR_ERRORS, 0);
    assert_int_equal(rd32(f->b, 0x1FF07820u), 0xA5A5A5A5u);
    assert_int_equal(call(f, OP_PROGRAM, 0x1FF07A00u, 0xFFFF00FFu, X32) & SR_ERRORS, 0);
    assert_true(call(f, OP_PROGRAM, 0x1FF07824u, 0, X32) & SR_WRPERR);
    assert_int_equal(rd32(f->b, 0x1FF07824u), 0xFFFFFFFFu);

    /* OPTCR1 (boot addresses) is an option byte: kept over a reset. */
    clear_sr(f);
    assert_int_equal(options(f, 0xC0FFAAFDu, 0x00410081u) & SR_ERRORS, 0);
    system_reset(f);
    assert_int_equal(rd32(f->b, OPTCR1), 0x00410081u);
}

int main(void)
{
    make_rows();
    const struct CMUnitTest tests[] = {
        F7_TEST(f74x_sectors_and_snb_width, rig_f74x),
        F7_TEST(program_ands_and_erserr, rig_f74x),
        F7_TEST(f76x_ndbank_takes_effect_after_reset, rig_f76x),
        F7_TEST(f76x_single_bank_mer2_alone_does_nothing, rig_f76x),
        F7_TEST(rdp_0_1_0_mass_erases, rig_f74x),
        F7_TEST(itcm_alias_reads_the_same_array, rig_f74x),
        F7_TEST(artrst_only_while_art_disabled, rig_f74x),
        F7_TEST(f72x_sectors_otp_options, rig_f72x),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
