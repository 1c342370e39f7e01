/*
 * The L1 variants of the L0/L1 NVM model (sim/target/flash_l0.c) driven by
 * real Thumb code (progs/prog_l1.c) on the virtual Cortex-M3 of an
 * STM32L152RE (category 5), and the L0 categories and L1 categories seen
 * from the debugger. Expected values come from the manuals:
 *  - RM0038 3.9: NVM at 0x40023C00, PECR reset 0x7, SR idle READY|ENDHV,
 *    OBR = RDPRT | USER << 16;
 *  - word programming and 256-byte page erase (ERASE+PROG and a store);
 *  - a half page is 32 words (128 B), one tprog (3.28 ms, STM32L15x
 *    datasheet); a 64-byte aligned start that is not 128-byte aligned is
 *    PGAERR;
 *  - no NOTZEROERR on L1: a word programmed over a non-zero word holds the
 *    OR [U];
 *  - ACR: LATENCY only takes while ACC64 is set; ACC64 stays while LATENCY
 *    is set (RM0038 3.9.1);
 *  - PARALLBANK (cat 4/5/6): a page (half page) of bank 1 and one of bank 2
 *    in one tprog; a second address in bank 1 is PGAERR;
 *  - WRP1415 (option word +0x84) -> FLASH_WRPR4 (0x88) protects the last
 *    sectors: WRPERR;
 *  - data EEPROM of 16 KiB up to 0x08083FFF;
 *  - flash-size cells: 0x436 holds 0 for 384 KiB; 0x429 the low byte only;
 *  - L0 category 5: FLASH_WRPR2 at 0x80 from WRP45 (+0x10), data EEPROM of
 *    6 KiB; category 1: 16 KiB, 2 KiB SRAM, 512 B data EEPROM;
 *  - ordering codes of L0 and L1 parts give the datasheets' flash and SRAM.
 */
#include "flash_fixture.h"

#include "board_internal.h"

#include <string.h>

extern const unsigned char prog_l1[];
extern const size_t prog_l1_len;

enum {
    OP_SR = 0,
    OP_UNLOCK = 4,
    OP_ERASE_PAGE = 8,
    OP_PROG_WORD = 9,
    OP_HALF_PAGE = 10,
    OP_EE_WRITE = 15,
    OP_ACR = 21,
    OP_PAR_ERASE = 22,
    OP_PAR_HALF = 23,
};

#define FLASH_BASE 0x08000000u
#define FLASH_SIZE (512u * 1024u)
#define BANK2      0x08040000u
#define PAGE       256u
#define EE_BASE    0x08080000u
#define SRAM_BUF   0x20001000u

#define REGS      0x40023C00u
#define PECR_ADDR (REGS + 0x04)
#define SR_ADDR   (REGS + 0x18)
#define OBR_ADDR  (REGS + 0x1C)
#define WRPR4     (REGS + 0x88)
#define OPT_WRP15 0x1FF80084u

#define SR_EOP    (1u << 1)
#define SR_IDLE   0x0Cu
#define SR_WRPERR (1u << 8)
#define SR_PGAERR (1u << 9)
#define SR_ALL    0x00002F02u

#define T_PROG_NS 3280000ull
#define SLACK_NS  400000ull

static const fixture_chip chip = {
    .name = "stm32l152re",
    .seed = 11,
    .prog = prog_l1,
    .prog_len = &prog_l1_len,
    .flash_base = FLASH_BASE,
    .flash_size = FLASH_SIZE,
    .erased = 0x00,
    .sr_addr = SR_ADDR,
    .sr_bsy = 1u,
    .sr_clear = SR_ALL,
    .sr_ignore = 0,
    .sr_idle = SR_IDLE,
};

static void fill_buf(fixture *f, uint32_t *w, unsigned n, uint32_t seed)
{
    for (unsigned i = 0; i < n; i++)
        w[i] = seed * 0x9E3779B1u + i * 0x01010101u + 1;
    assert_int_equal(sim_board_preload(f->b, SRAM_BUF, w, 4 * n), SIM_OK);
}

static void test_reset_state(void **state)
{
    fixture *f = *state;
    assert_int_equal(rd32(f->b, PECR_ADDR), 0x7);
    assert_int_equal(sr(f), SR_IDLE);
    assert_int_equal(rd32(f->b, OBR_ADDR), 0x007000AAu);
    assert_int_equal(rd32(f->b, 0x1FF800CC) & 0xFFFF, 512);
    assert_int_equal(rd32(f->b, 0xE0042000) & 0xFFF, 0x437);
    check_flash(f);
}

static void test_word_and_page_erase(void **state)
{
    fixture *f = *state;
    call(f, OP_UNLOCK, 0, 0, 0);
    for (uint32_t page = 1; page <= 3; page++) {
        uint32_t a = FLASH_BASE + page * PAGE;
        assert_int_equal(call(f, OP_PROG_WORD, a + PAGE - 4, 0xA5000000u | page, 0),
                         SR_IDLE | SR_EOP);
        clear_sr(f);
        expect_word(f, a + PAGE - 4, 0xA5000000u | page);
    }
    check_flash(f);
    /* a 256-byte page goes, its neighbours stay */
    assert_int_equal(call(f, OP_ERASE_PAGE, FLASH_BASE + 2 * PAGE + 0x80, 0, 0), SR_IDLE | SR_EOP);
    memset(f->expect + 2 * PAGE, 0, PAGE);
    check_flash(f);
}

static void test_half_page_32_words(void **state)
{
    fixture *f = *state;
    uint32_t w[32];
    call(f, OP_UNLOCK, 0, 0, 0);
    fill_buf(f, w, 32, 1);
    uint32_t r = 0;
    uint64_t dt = timed(f, OP_HALF_PAGE, FLASH_BASE + 0x800, SRAM_BUF, 0, &r);
    assert_int_equal(r, SR_IDLE | SR_EOP);
    assert_true(dt >= T_PROG_NS && dt < T_PROG_NS + SLACK_NS);
    for (unsigned i = 0; i < 32; i++)
        expect_word(f, FLASH_BASE + 0x800 + 4 * i, w[i]);
    check_flash(f);
    clear_sr(f);
    /* 64-byte aligned (an L0 half page) but not 128: PGAERR, nothing written */
    assert_int_equal(call(f, OP_HALF_PAGE, FLASH_BASE + 0x940, SRAM_BUF, 0) & ~SR_EOP,
                     SR_IDLE | SR_PGAERR);
    check_flash(f);
}

static void test_no_notzeroerr(void **state)
{
    fixture *f = *state;
    uint32_t a = FLASH_BASE + 0x1000;
    call(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(call(f, OP_PROG_WORD, a, 0x0000FF00u, 0), SR_IDLE | SR_EOP);
    clear_sr(f);
    assert_int_equal(call(f, OP_PROG_WORD, a, 0x00FF0000u, 0), SR_IDLE | SR_EOP);
    expect_word(f, a, 0x00FFFF00u);
    check_flash(f);
}

static void test_acc64_gates_latency(void **state)
{
    fixture *f = *state;
    assert_int_equal(call(f, OP_ACR, 1, 0, 0), 0); /* LATENCY without ACC64 */
    /* ACC64 and LATENCY in one store: only ACC64 takes */
    assert_int_equal(call(f, OP_ACR, 5, 0, 0), 4);
    assert_int_equal(call(f, OP_ACR, 5, 0, 0), 5); /* then LATENCY */
    assert_int_equal(call(f, OP_ACR, 1, 0, 0), 5); /* ACC64 stays with LATENCY */
    assert_int_equal(call(f, OP_ACR, 0, 0, 0), 0);
}

static void test_parallel_bank_erase(void **state)
{
    fixture *f = *state;
    uint32_t a = FLASH_BASE + 0x3000, b2 = BANK2 + 0x5000;
    memset(f->expect + (a - FLASH_BASE), 0x5A, PAGE);
    memset(f->expect + (b2 - FLASH_BASE), 0xA5, PAGE);
    preload_expect(f, a, PAGE);
    preload_expect(f, b2, PAGE);
    call(f, OP_UNLOCK, 0, 0, 0);
    uint32_t r = 0;
    uint64_t dt = timed(f, OP_PAR_ERASE, a, b2, 0, &r);
    assert_int_equal(r, SR_IDLE | SR_EOP);
    assert_true(dt >= T_PROG_NS && dt < T_PROG_NS + SLACK_NS); /* both in one tprog */
    memset(f->expect + (a - FLASH_BASE), 0, PAGE);
    memset(f->expect + (b2 - FLASH_BASE), 0, PAGE);
    check_flash(f);
    clear_sr(f);
    /* the second page in bank 1 too: PGAERR, nothing erased */
    memset(f->expect + (a - FLASH_BASE), 0x11, PAGE);
    preload_expect(f, a, PAGE);
    assert_int_equal(call(f, OP_PAR_ERASE, a, a + PAGE, 0) & ~SR_EOP, SR_IDLE | SR_PGAERR);
    check_flash(f);
}

static void test_parallel_half_pages(void **state)
{
    fixture *f = *state;
    uint32_t w[64];
    call(f, OP_UNLOCK, 0, 0, 0);
    fill_buf(f, w, 64, 9);
    uint32_t r = 0;
    uint64_t dt = timed(f, OP_PAR_HALF, FLASH_BASE + 0x200, BANK2 + 0x80, SRAM_BUF, &r);
    assert_int_equal(r, SR_IDLE | SR_EOP);
    assert_true(dt >= T_PROG_NS && dt < T_PROG_NS + SLACK_NS);
    for (unsigned i = 0; i < 32; i++) {
        expect_word(f, FLASH_BASE + 0x200 + 4 * i, w[i]);
        expect_word(f, BANK2 + 0x80 + 4 * i, w[32 + i]);
    }
    check_flash(f);
}

static void test_wrpr4_protects_last_sector(void **state)
{
    fixture *f = *state;
    /* WRP1415 = 0x8000 with its complement: sector 127 (the last 4 KiB) */
    uint32_t word = 0x7FFF8000u;
    assert_int_equal(sim_board_preload(f->b, OPT_WRP15, &word, 4), SIM_OK);
    sim_board_power(f->b, false);
    sim_board_power(f->b, true);
    thumb_load(f->b, prog_l1, prog_l1_len);
    assert_int_equal(rd32(f->b, WRPR4), 0x80000000u);
    call(f, OP_UNLOCK, 0, 0, 0);
    assert_int_equal(call(f, OP_PROG_WORD, FLASH_BASE + FLASH_SIZE - 4, 1, 0), SR_IDLE | SR_WRPERR);
    clear_sr(f);
    assert_int_equal(call(f, OP_PROG_WORD, FLASH_BASE + FLASH_SIZE - 0x1004, 2, 0),
                     SR_IDLE | SR_EOP);
    expect_word(f, FLASH_BASE + FLASH_SIZE - 0x1004, 2);
    check_flash(f);
}

static void test_eeprom_16k(void **state)
{
    fixture *f = *state;
    assert_int_equal(call(f, OP_EE_WRITE, EE_BASE + 0x3FFC, 0xCAFEF00Du, 4), SR_IDLE | SR_EOP);
    assert_int_equal(rd32(f->b, EE_BASE + 0x3FFC), 0xCAFEF00Du);
}

/* ---- the other categories, from the debugger -------------------------- */

static sim_board *board_of(const char *name)
{
    sim_board *b = NULL;
    assert_int_equal(sim_board_create(name, 5, 0.0, &b), SIM_OK);
    thumb_halt(b);
    return b;
}

static void test_flash_size_cells(void **state)
{
    (void)state;
    sim_board *b = board_of("stm32l152vd"); /* 0x436, 384 KiB: code 0 */
    assert_int_equal(rd32(b, 0x1FF800CC) & 0xFFFF, 0);
    assert_int_equal(rd32(b, 0xE0042000) & 0xFFF, 0x436);
    sim_board_destroy(b);
    /* 0x429: the cat 1 row with the cat 2 controller variant */
    sim_chip cat2 = *sim_chip_find("stm32l152rb");
    cat2.name = "test-l1-cat2";
    cat2.dev_id = 0x429;
    cat2.flash = &sim_flash_l1_cat2;
    assert_int_equal(sim_board_create_row(&cat2, 5, 0.0, &b), SIM_OK);
    thumb_halt(b);
    assert_int_equal(rd32(b, 0x1FF8004C) & 0xFF, 128);
    sim_board_destroy(b);
    b = board_of("stm32l151cb"); /* cat 1: KiB */
    assert_int_equal(rd32(b, 0x1FF8004C) & 0xFFFF, 128);
    sim_board_destroy(b);
}

static void test_l0_cat5(void **state)
{
    (void)state;
    sim_board *b = board_of("stm32l073rz");
    /* WRP45 (option word +0x10): sectors 32-47 -> FLASH_WRPR2 (0x80) */
    uint32_t word = 0xFEFF0100u; /* sector 40 */
    assert_int_equal(sim_board_preload(b, 0x1FF80010, &word, 4), SIM_OK);
    sim_board_power(b, false);
    sim_board_power(b, true);
    thumb_halt(b);
    assert_int_equal(rd32(b, 0x40022080), 0x100);
    assert_int_equal(rd32(b, 0x40022020), 0);
    /* unlock PECR and program memory from the debugger */
    wr32(b, 0x4002200C, 0x89ABCDEFu);
    wr32(b, 0x4002200C, 0x02030405u);
    wr32(b, 0x40022010, 0x8C9DAEBFu);
    wr32(b, 0x40022010, 0x13141516u);
    wr32(b, 0x08000000 + 40 * 4096, 0x1234);
    assert_int_equal(rd32(b, 0x40022018) & 0x100, 0x100); /* WRPERR */
    wr32(b, 0x40022018, 0x100);
    wr32(b, 0x08000000 + 47 * 4096 + 4092, 0x1234); /* last word of 192 KiB */
    assert_int_equal(sim_board_advance(b, 4000000), SIM_OK);
    assert_int_equal(rd32(b, 0x08000000 + 47 * 4096 + 4092), 0x1234);
    /* 6 KiB of data EEPROM */
    wr32(b, 0x08080000 + 6144 - 4, 0x55AA55AAu);
    assert_int_equal(sim_board_advance(b, 8000000), SIM_OK);
    assert_int_equal(rd32(b, 0x08080000 + 6144 - 4), 0x55AA55AAu);
    sim_board_destroy(b);
}

static void test_l0_cat1(void **state)
{
    (void)state;
    sim_board *b = board_of("stm32l011k4");
    assert_int_equal(rd32(b, 0x40015800) & 0xFFF, 0x457);
    assert_int_equal(rd32(b, 0x1FF8007C) & 0xFFFF, 16);
    uint32_t v = 0;
    assert_int_equal(sim_board_read32(b, 0x20000000 + 2048 - 4, &v), SIM_OK);
    assert_int_equal(sim_board_read32(b, 0x20000000 + 2048, &v), SIM_E_BUS);
    wr32(b, 0x4002200C, 0x89ABCDEFu);
    wr32(b, 0x4002200C, 0x02030405u);
    wr32(b, 0x08080000 + 512 - 4, 0xA5A5A5A5u);
    assert_int_equal(sim_board_advance(b, 8000000), SIM_OK);
    assert_int_equal(rd32(b, 0x08080000 + 508), 0xA5A5A5A5u);
    assert_int_equal(sim_board_write32(b, 0x08080000 + 512, 1), SIM_E_BUS);
    sim_board_destroy(b);
}

static void test_ordering_codes(void **state)
{
    (void)state;
    static const struct {
        const char *code;
        uint16_t dev_id;
        uint32_t flash_kib, sram_kib, eeprom;
    } codes[] = {
        {"stm32l011k4", 0x457, 16, 2, 512},     {"stm32l011f3", 0x457, 8, 2, 512},
        {"stm32l021k4", 0x457, 16, 2, 512},     {"stm32l031k6", 0x425, 32, 8, 1024},
        {"stm32l031g4", 0x425, 16, 8, 1024},    {"stm32l051c8", 0x417, 64, 8, 2048},
        {"stm32l053r8", 0x417, 64, 8, 2048},    {"stm32l073rz", 0x447, 192, 20, 6144},
        {"stm32l072cb", 0x447, 128, 20, 6144},  {"stm32l083v8", 0x447, 64, 20, 6144},
        {"stm32l151cb", 0x416, 128, 16, 4096},  {"stm32l151c8", 0x416, 64, 10, 4096},
        {"stm32l152rc", 0x427, 256, 32, 8192},  {"stm32l152vd", 0x436, 384, 48, 12288},
        {"stm32l152re", 0x437, 512, 80, 16384}, {"stm32l162ze", 0x437, 512, 80, 16384},
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const sim_chip *c = sim_chip_find(codes[i].code);
        if (!c)
            fail_msg("%s not found", codes[i].code);
        assert_int_equal(c->dev_id, codes[i].dev_id);
        assert_int_equal(c->flash_size, codes[i].flash_kib * 1024);
        assert_int_equal(c->sram_size, codes[i].sram_kib * 1024);
        assert_int_equal(c->eeprom_size, codes[i].eeprom);
    }
    assert_null(sim_chip_find("stm32l011k6")); /* no 32 KiB L011 */
    assert_null(sim_chip_find("stm32l162rb"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(test_reset_state, &chip),
        FIXTURE_TEST(test_word_and_page_erase, &chip),
        FIXTURE_TEST(test_half_page_32_words, &chip),
        FIXTURE_TEST(test_no_notzeroerr, &chip),
        FIXTURE_TEST(test_acc64_gates_latency, &chip),
        FIXTURE_TEST(test_parallel_bank_erase, &chip),
        FIXTURE_TEST(test_parallel_half_pages, &chip),
        FIXTURE_TEST(test_wrpr4_protects_last_sector, &chip),
        FIXTURE_TEST(test_eeprom_16k, &chip),
        cmocka_unit_test(test_flash_size_cells),
        cmocka_unit_test(test_l0_cat5),
        cmocka_unit_test(test_l0_cat1),
        cmocka_unit_test(test_ordering_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
