/*
 * The flash controllers of the table's part lines, one part or more per
 * line, driven by real Thumb code (progs/prog_f1.c for the F0/F1/F3 FPEC,
 * progs/prog_f4.c for the F2/F4 interface) on each part's own core (the
 * F0's Cortex-M0 included), on the board an ordering code makes. What each
 * case expects is written here from the reference manuals' memory
 * organisation tables, never read from the model:
 *  - FPEC (RM0008 3.3, RM0041 3.3, RM0091 3.2, RM0316 4.2): unlock with
 *    KEY1/KEY2; a page erase erases exactly the page holding AR (1 KiB on
 *    low/medium density, F100xB, F030x6-x8, F04x, F05x; 2 KiB on high/XL
 *    density, connectivity line, F100xE, F07x, F09x, F030xC and every F3),
 *    the last page of the part (of bank 1 on XL density) included; a half-word programs, a second
 *    one over it is refused with PGERR unless it is 0x0000; a mass erase
 *    clears the whole array (on XL density bank 1 only);
 *  - F2/F4 (RM0033 2.3, RM0090 3.3, RM0368 3.3, RM0383 3.3, RM0401 3.3,
 *    RM0402 3.3, RM0390 3.3): the part has sectors 0-3 of 16 KiB, 4 of
 *    64 KiB, then 128 KiB ones up to its size; the last one erases alone;
 *    the SNB past it is refused with WRPERR and erases nothing; a 2 MiB
 *    F42x/F469 codes bank 2's sectors 12-23 as SNB 0x10-0x1B; a word
 *    programs at x32 and a byte store at x32 is PGPERR.
 */
#include "flash_fixture.h"

#include <string.h>

extern const unsigned char prog_f1[];
extern const size_t prog_f1_len;
extern const unsigned char prog_f4[];
extern const size_t prog_f4_len;

#define FLASH_BASE 0x08000000u
#define KEY1       0x45670123u
#define KEY2       0xCDEF89ABu

/* ---- F0/F1/F3 FPEC (progs/prog_f1.c ops) --------------------------------- */

enum { P1_UNLOCK = 2, P1_ERASE_PAGE = 5, P1_MASS_ERASE = 6, P1_PROGRAM = 7 };
#define F1_SR       0x4002200Cu
#define F1_CR_LOCK  (1u << 7)
#define SR_PGERR    (1u << 2)
#define SR_WRPRTERR (1u << 4)
#define SR_EOP      (1u << 5)

typedef struct fpec_case {
    fixture_chip chip;
    uint32_t page;      /* erase unit */
    uint32_t mass_size; /* what CR serves: a mass erase through it clears
                           that much (XL density: bank 1, 512 KiB) */
} fpec_case;

#define FPEC(name_, kib, page_, mass_kib)                                                          \
    {                                                                                              \
        {.name = name_,                                                                            \
         .seed = 2,                                                                                \
         .prog = prog_f1,                                                                          \
         .prog_len = &prog_f1_len,                                                                 \
         .flash_base = FLASH_BASE,                                                                 \
         .flash_size = (kib)*1024u,                                                                \
         .erased = 0xFF,                                                                           \
         .sr_addr = F1_SR,                                                                         \
         .sr_bsy = 1},                                                                             \
            page_, (mass_kib)*1024u                                                                \
    }

static const fpec_case fpec[] = {
    FPEC("stm32f030f4", 16, 1024, 16),    FPEC("stm32f042k6", 32, 1024, 32),
    FPEC("stm32f051r8", 64, 1024, 64),    FPEC("stm32f072cb", 128, 2048, 128),
    FPEC("stm32f030rc", 256, 2048, 256),  FPEC("stm32f100c4", 16, 1024, 16),
    FPEC("stm32f100vb", 128, 1024, 128),  FPEC("stm32f100ze", 512, 2048, 512),
    FPEC("stm32f101c6", 32, 1024, 32),    FPEC("stm32f102c8", 64, 1024, 64),
    FPEC("stm32f103vc", 256, 2048, 256),  FPEC("stm32f101ze", 512, 2048, 512),
    FPEC("stm32f103zg", 1024, 2048, 512), FPEC("stm32f105r8", 64, 2048, 64),
    FPEC("stm32f107vc", 256, 2048, 256),  FPEC("stm32f301k6", 32, 2048, 32),
    FPEC("stm32f303cb", 128, 2048, 128),  FPEC("stm32f334k4", 16, 2048, 16),
    FPEC("stm32f303ze", 512, 2048, 512),  FPEC("stm32f373c8", 64, 2048, 64),
};

static void fill(fixture *f, uint32_t off, uint32_t len, uint32_t seed)
{
    for (uint32_t i = 0; i < len; i++)
        f->expect[off + i] = (uint8_t)((i * 29 + seed) ^ (i >> 7));
    preload_expect(f, FLASH_BASE + off, len);
}

static void fpec_rules(void **state)
{
    fixture *f = *state;
    const fpec_case *k = (const fpec_case *)f->chip;
    /* Bank 1's registers (all of flash but on XL density) */
    uint32_t size = k->chip.flash_size, last = k->mass_size - k->page;
    assert_int_equal(sim_board_chip(f->b)->flash_size, size);
    assert_int_equal(call(f, P1_UNLOCK, KEY1, KEY2, 0) & F1_CR_LOCK, 0);

    /* The last page, addressed by its last half-word, erases alone. */
    fill(f, last - k->page, 2 * k->page, 3);
    uint32_t s = call(f, P1_ERASE_PAGE, FLASH_BASE + last + k->page - 2, 1, 0);
    assert_int_equal(s & (SR_PGERR | SR_WRPRTERR), 0);
    memset(f->expect + last, 0xFF, k->page);
    check_flash(f);

    /* A half-word; not over itself, but 0x0000 always. */
    assert_int_equal(call(f, P1_PROGRAM, FLASH_BASE + last, 0x1234, 2) & SR_PGERR, 0);
    expect_word(f, FLASH_BASE + last, 0xFFFF1234u);
    assert_int_equal(call(f, P1_PROGRAM, FLASH_BASE + last, 0x5678, 2) & SR_PGERR, SR_PGERR);
    check_flash(f);
    wr32(f->b, F1_SR, SR_PGERR | SR_WRPRTERR | SR_EOP);
    assert_int_equal(call(f, P1_PROGRAM, FLASH_BASE + last, 0x0000, 2) & SR_PGERR, 0);
    expect_word(f, FLASH_BASE + last, 0xFFFF0000u);
    check_flash(f);

    /* A mass erase clears what it covers, nothing beyond (XL bank 2). */
    fill(f, 0, k->page, 9);
    s = call(f, P1_MASS_ERASE, 1, 0, 0);
    assert_int_equal(s & (SR_PGERR | SR_WRPRTERR), 0);
    memset(f->expect, 0xFF, k->mass_size);
    check_flash(f);
}

/* ---- F2/F4 interface (progs/prog_f4.c ops) ------------------------------- */

enum { P4_UNLOCK = 2, P4_ERASE_SECTOR = 5, P4_PROGRAM = 7 };
#define F4_SR             0x40023C0Cu
#define SR_WRPERR         (1u << 4)
#define SR_PGPERR         (1u << 6)
#define SR_BSY4           (1u << 16)
#define X32               2u
#define PGM(width, psize) ((width) | (psize) << 4)

typedef struct sector_case {
    fixture_chip chip;
    uint32_t last_snb;           /* FLASH_CR.SNB of the last sector */
    uint32_t last_off, last_len; /* where it is */
    uint32_t past_snb;           /* an SNB the part does not have */
} sector_case;

#define SECTORS(name_, kib, last_snb_, off, len, past)                                             \
    {                                                                                              \
        {.name = name_,                                                                            \
         .seed = 2,                                                                                \
         .prog = prog_f4,                                                                          \
         .prog_len = &prog_f4_len,                                                                 \
         .flash_base = FLASH_BASE,                                                                 \
         .flash_size = (kib)*1024u,                                                                \
         .erased = 0xFF,                                                                           \
         .sr_addr = F4_SR,                                                                         \
         .sr_bsy = SR_BSY4},                                                                       \
            last_snb_, off, len, past                                                              \
    }

/* Sector n >= 5 starts at 0x20000 * (n - 4); sector 4 at 0x10000. */
static const sector_case sectors[] = {
    SECTORS("stm32f205rb", 128, 4, 0x10000, 0x10000, 5),
    SECTORS("stm32f207ig", 1024, 11, 0xE0000, 0x20000, 12),
    SECTORS("stm32f401cc", 256, 5, 0x20000, 0x20000, 6),
    SECTORS("stm32f401rd", 384, 6, 0x40000, 0x20000, 7),
    SECTORS("stm32f405rg", 1024, 11, 0xE0000, 0x20000, 12),
    SECTORS("stm32f407ve", 512, 7, 0x60000, 0x20000, 8),
    SECTORS("stm32f410t8", 64, 3, 0x0C000, 0x04000, 4),
    SECTORS("stm32f411ce", 512, 7, 0x60000, 0x20000, 8),
    SECTORS("stm32f412ze", 512, 7, 0x60000, 0x20000, 8),
    SECTORS("stm32f429zg", 1024, 11, 0xE0000, 0x20000, 12),
    SECTORS("stm32f429zi", 2048, 0x1B, 0x1E0000, 0x20000, 0x1C),
    SECTORS("stm32f446rc", 256, 5, 0x20000, 0x20000, 6),
    SECTORS("stm32f469ii", 2048, 0x1B, 0x1E0000, 0x20000, 0x0C),
};

static uint32_t wait_idle(fixture *f)
{
    uint32_t s;
    while ((s = sr(f)) & SR_BSY4)
        assert_int_equal(sim_board_advance(f->b, 1000000), SIM_OK);
    return s;
}

static void sector_rules(void **state)
{
    fixture *f = *state;
    const sector_case *k = (const sector_case *)f->chip;
    uint32_t size = k->chip.flash_size;
    assert_int_equal(sim_board_chip(f->b)->flash_size, size);
    assert_int_equal(call(f, P4_UNLOCK, KEY1, KEY2, 0), 0);
    fill(f, k->last_off - 0x4000, 0x4000 + k->last_len, 7);

    /* Past the last sector: refused, nothing erased. */
    call(f, P4_ERASE_SECTOR, k->past_snb, X32, 0);
    assert_int_equal(wait_idle(f) & SR_WRPERR, SR_WRPERR);
    check_flash(f);
    wr32(f->b, F4_SR, SR_WRPERR);

    /* The last sector erases alone, to the end of the part. */
    call(f, P4_ERASE_SECTOR, k->last_snb, X32, 0);
    assert_int_equal(wait_idle(f) & 0xF2u, 0);
    assert_int_equal(k->last_off + k->last_len, size);
    memset(f->expect + k->last_off, 0xFF, k->last_len);
    check_flash(f);

    /* A word at x32 in it; a byte at x32 is the wrong parallelism. */
    assert_int_equal(
        call(f, P4_PROGRAM, FLASH_BASE + k->last_off, 0xC0FFEE11u, PGM(4, X32)) & 0xF2u, 0);
    expect_word(f, FLASH_BASE + k->last_off, 0xC0FFEE11u);
    assert_int_equal(call(f, P4_PROGRAM, FLASH_BASE + k->last_off + 8, 0, PGM(1, X32)) & SR_PGPERR,
                     SR_PGPERR);
    check_flash(f);
}

int main(void)
{
    struct CMUnitTest tests[sizeof fpec / sizeof fpec[0] + sizeof sectors / sizeof sectors[0]];
    size_t n = 0;
    for (size_t i = 0; i < sizeof fpec / sizeof fpec[0]; i++) {
        struct CMUnitTest t = FIXTURE_TEST(fpec_rules, &fpec[i].chip);
        t.name = fpec[i].chip.name;
        tests[n++] = t;
    }
    for (size_t i = 0; i < sizeof sectors / sizeof sectors[0]; i++) {
        struct CMUnitTest t = FIXTURE_TEST(sector_rules, &sectors[i].chip);
        t.name = sectors[i].chip.name;
        tests[n++] = t;
    }
    return _cmocka_run_group_tests("flash_rows", tests, n, NULL, NULL);
}
