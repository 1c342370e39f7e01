/*
 * The timing oracle (sim_board_flash_timing, `flashline-sim ctl ... timing`)
 * against what the board really spends: for each flash design an erase of
 * one erase unit, a program of one program unit and, where the controller
 * has one, a mass erase are started through the controller's registers
 * from the debugger, and BSY must stay up for exactly the oracle's figure
 * (to within the microsecond the debugger's own accesses take).
 *
 * The register sequences are the manuals' (RM0008 3.3 for the F1 FPEC,
 * RM0090 3.6 for the F2/F4/F7 interface at PSIZE x32, RM0367 3.3 for the L0
 * NVM's page erase and half-page programming, RM0351 3.3 for the L4's page
 * erase, double-word programming and MER1 + MER2). Rules checked:
 *  - erase_ns of a range inside one erase unit is that unit's erase time
 *    (F4/F7: a 16 or 32 KiB sector and a 64 or 128 KiB one);
 *  - program_ns of one program unit is that unit's program time, and of a
 *    longer range units times it;
 *  - mass_ns of the whole array is the mass erase's time (L0: none, 0);
 *  - ranges outside main flash are refused.
 */
#include "thumb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* The debugger's accesses around the operation take less than this. */
#define SLACK_NS 1000u

typedef struct fam fam;
struct fam {
    const char *chip;
    uint32_t sr, bsy;
    void (*unlock)(sim_board *b);
    void (*prepare_erase)(sim_board *b, uint32_t addr); /* up to the access that starts */
    void (*start_erase)(sim_board *b, uint32_t addr);
    void (*prepare_program)(sim_board *b);
    void (*start_program)(sim_board *b, uint32_t addr); /* one unit */
    void (*start_mass)(sim_board *b);                   /* NULL: none */
    uint32_t erase_at[2];                               /* units to erase (0: unused) */
    uint32_t program_at;
};

static void w32(sim_board *b, uint32_t addr, uint32_t v)
{
    assert_int_equal(sim_board_write32(b, addr, v), SIM_OK);
}

static void store(sim_board *b, uint32_t addr, const void *data, size_t len, unsigned width)
{
    assert_int_equal(sim_board_mem_write(b, addr, data, len, width, NULL), SIM_OK);
}

/* ---- F1 FPEC at 0x40022000 (RM0008 3.3) ---- */
#define F1 0x40022000u
static void f1_unlock(sim_board *b)
{
    w32(b, F1 + 0x04, 0x45670123u);
    w32(b, F1 + 0x04, 0xCDEF89ABu);
}
static void f1_prep_erase(sim_board *b, uint32_t addr)
{
    w32(b, F1 + 0x10, 1u << 1); /* PER */
    w32(b, F1 + 0x14, addr);    /* AR */
}
static void f1_erase(sim_board *b, uint32_t addr)
{
    (void)addr;
    w32(b, F1 + 0x10, 1u << 1 | 1u << 6); /* PER | STRT */
}
static void f1_prep_program(sim_board *b)
{
    w32(b, F1 + 0x10, 1u << 0); /* PG */
}
static void f1_program(sim_board *b, uint32_t addr)
{
    uint16_t h = 0x1234;
    store(b, addr, &h, 2, 2);
}
static void f1_mass(sim_board *b)
{
    w32(b, F1 + 0x10, 1u << 2);
    w32(b, F1 + 0x10, 1u << 2 | 1u << 6); /* MER | STRT */
}

/* ---- F2/F4/F7 interface at 0x40023C00, PSIZE x32 (RM0090 3.6) ---- */
#define F4       0x40023C00u
#define F4_PSIZE (2u << 8)
static unsigned f4_sector_of(uint32_t addr); /* per test part, below */
static uint32_t f4_mer;                      /* MER, | MER1/MER2 on two banks */
static void f4_unlock(sim_board *b)
{
    w32(b, F4 + 0x04, 0x45670123u);
    w32(b, F4 + 0x04, 0xCDEF89ABu);
}
static void f4_prep_erase(sim_board *b, uint32_t addr)
{
    (void)b;
    (void)addr;
}
static void f4_erase(sim_board *b, uint32_t addr)
{
    w32(b, F4 + 0x10, 1u << 1 | f4_sector_of(addr) << 3 | F4_PSIZE | 1u << 16);
}
static void f4_prep_program(sim_board *b)
{
    w32(b, F4 + 0x10, 1u << 0 | F4_PSIZE);
}
static void f4_program(sim_board *b, uint32_t addr)
{
    uint32_t w = 0x12345678u;
    store(b, addr, &w, 4, 4);
}
static void f4_mass(sim_board *b)
{
    w32(b, F4 + 0x10, f4_mer | F4_PSIZE | 1u << 16);
}

/* Sector numbers of the addresses the F4/F7 cases erase: the test parts'
 * organizations (RM0390 3.3: 16 KiB sectors 0-3, 64 KiB sector 4 at
 * 0x08010000; RM0385 3.3.1: 32 KiB sectors 0-3, 128 KiB sector 4 at
 * 0x08020000). */
static unsigned f4_sector_of(uint32_t addr)
{
    return addr == 0x08010000u || addr == 0x08020000u ? 4 : (addr >> 14) & 3;
}

/* ---- L0 NVM at 0x40022000 (RM0367 3.3) ---- */
#define L0 0x40022000u
static void l0_unlock(sim_board *b)
{
    w32(b, L0 + 0x0C, 0x89ABCDEFu); /* PEKEYR */
    w32(b, L0 + 0x0C, 0x02030405u);
    w32(b, L0 + 0x10, 0x8C9DAEBFu); /* PRGKEYR */
    w32(b, L0 + 0x10, 0x13141516u);
}
static void l0_prep_erase(sim_board *b, uint32_t addr)
{
    (void)addr;
    w32(b, L0 + 0x04, 1u << 9 | 1u << 3); /* ERASE | PROG */
}
static void l0_erase(sim_board *b, uint32_t addr)
{
    uint32_t z = 0;
    store(b, addr, &z, 4, 4);
}
static void l0_prep_program(sim_board *b)
{
    w32(b, L0 + 0x04, 1u << 10 | 1u << 3); /* FPRG | PROG */
}
static void l0_program(sim_board *b, uint32_t addr)
{
    uint32_t half[16];
    for (int i = 0; i < 16; i++)
        half[i] = 0x01010101u * (uint32_t)(i + 1);
    store(b, addr, half, sizeof half, 4);
}

/* ---- L4 at 0x40022000 (RM0351 3.3) ---- */
#define L4 0x40022000u
static void l4_unlock(sim_board *b)
{
    w32(b, L4 + 0x08, 0x45670123u);
    w32(b, L4 + 0x08, 0xCDEF89ABu);
}
static void l4_prep_erase(sim_board *b, uint32_t addr)
{
    (void)b;
    (void)addr;
}
static void l4_erase(sim_board *b, uint32_t addr)
{
    uint32_t page = (addr - 0x08000000u) / 2048; /* bank 1 */
    w32(b, L4 + 0x14, 1u << 1 | page << 3 | 1u << 16);
}
static void l4_prep_program(sim_board *b)
{
    w32(b, L4 + 0x14, 1u << 0);
}
static void l4_program(sim_board *b, uint32_t addr)
{
    uint32_t dw[2] = {0x12345678u, 0x9ABCDEF0u};
    store(b, addr, dw, 8, 4);
}
static void l4_mass(sim_board *b)
{
    w32(b, L4 + 0x14, 1u << 2 | 1u << 15 | 1u << 16); /* MER1 | MER2 | STRT */
}

static const fam fams[] = {
    {"stm32f103rb",
     F1 + 0x0C,
     1u << 0,
     f1_unlock,
     f1_prep_erase,
     f1_erase,
     f1_prep_program,
     f1_program,
     f1_mass,
     {0x08000400u, 0},
     0x08000800u},
    {"stm32f446re",
     F4 + 0x0C,
     1u << 16,
     f4_unlock,
     f4_prep_erase,
     f4_erase,
     f4_prep_program,
     f4_program,
     f4_mass,
     {0x08004000u, 0x08010000u},
     0x08004000u},
    {"stm32f407vg",
     F4 + 0x0C,
     1u << 16,
     f4_unlock,
     f4_prep_erase,
     f4_erase,
     f4_prep_program,
     f4_program,
     f4_mass,
     {0x08008000u, 0x08010000u},
     0x08008000u},
    {"stm32f746zg",
     F4 + 0x0C,
     1u << 16,
     f4_unlock,
     f4_prep_erase,
     f4_erase,
     f4_prep_program,
     f4_program,
     f4_mass,
     {0x08008000u, 0x08020000u},
     0x08008000u},
    {"stm32f722ze",
     F4 + 0x0C,
     1u << 16,
     f4_unlock,
     f4_prep_erase,
     f4_erase,
     f4_prep_program,
     f4_program,
     f4_mass,
     {0x08004000u, 0x08010000u},
     0x08004000u},
    {"stm32f413zh",
     F4 + 0x0C,
     1u << 16,
     f4_unlock,
     f4_prep_erase,
     f4_erase,
     f4_prep_program,
     f4_program,
     f4_mass,
     {0x0800C000u, 0x08010000u},
     0x0800C000u},
    {"stm32l053r8",
     L0 + 0x18,
     1u << 0,
     l0_unlock,
     l0_prep_erase,
     l0_erase,
     l0_prep_program,
     l0_program,
     NULL,
     {0x08000100u, 0},
     0x08000400u},
    {"stm32l476rg",
     L4 + 0x10,
     1u << 16,
     l4_unlock,
     l4_prep_erase,
     l4_erase,
     l4_prep_program,
     l4_program,
     l4_mass,
     {0x08001000u, 0},
     0x08002000u},
};

static sim_board *board(const fam *f)
{
    sim_board *b = NULL;
    assert_int_equal(sim_board_create(f->chip, 11, 0.0, &b), SIM_OK);
    thumb_halt(b);
    f->unlock(b);
    return b;
}

static bool busy(sim_board *b, const fam *f)
{
    uint32_t v = 0;
    assert_int_equal(sim_board_read32(b, f->sr, &v), SIM_OK);
    return v & f->bsy;
}

static void advance_to(sim_board *b, uint64_t t)
{
    uint64_t now = sim_board_now_ns(b);
    if (t > now)
        assert_int_equal(sim_board_advance(b, t - now), SIM_OK);
}

/* Start an operation with start(), which makes the access that starts it:
 * BSY must be up until just before ns after it and down by ns after it. */
static void lasts(sim_board *b, const fam *f, uint64_t ns, void (*start)(sim_board *, uint32_t),
                  uint32_t addr)
{
    assert_false(busy(b, f));
    uint64_t t0 = sim_board_now_ns(b);
    start(b, addr);
    uint64_t t1 = sim_board_now_ns(b);
    assert_true(t1 - t0 < SLACK_NS);
    assert_true(ns > SLACK_NS);
    advance_to(b, t0 + ns - SLACK_NS);
    if (!busy(b, f))
        fail_msg("%s: BSY fell before the oracle's %llu ns", f->chip, (unsigned long long)ns);
    advance_to(b, t1 + ns);
    if (busy(b, f))
        fail_msg("%s: BSY still up after the oracle's %llu ns", f->chip, (unsigned long long)ns);
}

static fam mass_fam; /* lasts() takes an address-taking start */
static void mass_start(sim_board *b, uint32_t addr)
{
    (void)addr;
    mass_fam.start_mass(b);
}

static void oracle_equals_the_board(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++) {
        const fam *f = &fams[i];
        sim_board *b = board(f);
        const sim_chip *c = sim_board_chip(b);
        f4_mer = 1u << 2;
        sim_flash_timing t;
        for (int k = 0; k < 2 && f->erase_at[k]; k++) {
            assert_int_equal(sim_board_flash_timing(b, f->erase_at[k], 1, &t), SIM_OK);
            assert_int_equal(t.erase_units, 1);
            f->prepare_erase(b, f->erase_at[k]);
            lasts(b, f, t.erase_ns, f->start_erase, f->erase_at[k]);
        }
        assert_int_equal(sim_board_flash_timing(b, f->program_at, 1, &t), SIM_OK);
        assert_int_equal(t.units, 1);
        uint64_t unit_ns = t.program_ns;
        uint32_t unit = t.unit_bytes;
        f->prepare_program(b);
        lasts(b, f, unit_ns, f->start_program, f->program_at);
        /* a longer range: units of the same time each */
        assert_int_equal(sim_board_flash_timing(b, f->program_at, 10 * unit, &t), SIM_OK);
        assert_int_equal(t.units, 10);
        assert_int_equal(t.program_ns, 10 * unit_ns);
        assert_int_equal(sim_board_flash_timing(b, f->program_at + 1, 10 * unit, &t), SIM_OK);
        assert_int_equal(t.units, 11);
        /* the whole array: its mass erase */
        assert_int_equal(sim_board_flash_timing(b, c->flash_base, c->flash_size, &t), SIM_OK);
        if (f->start_mass) {
            mass_fam = *f;
            lasts(b, f, t.mass_ns, mass_start, 0);
        } else {
            assert_int_equal(t.mass_ns, 0);
        }
        /* outside main flash */
        assert_int_equal(sim_board_flash_timing(b, c->flash_base + c->flash_size, 1, &t),
                         SIM_E_ARG);
        assert_int_equal(sim_board_flash_timing(b, c->flash_base, c->flash_size + 1, &t),
                         SIM_E_ARG);
        assert_int_equal(sim_board_flash_timing(b, c->flash_base, 0, &t), SIM_E_ARG);
        sim_board_destroy(b);
    }
}

/* Two banks: an F42x at 2 MiB erases both with MER | MER1 (RM0090 3.6.3),
 * an F76x in its factory single-bank organization with MER. */
static void oracle_equals_the_board_two_banks(void **state)
{
    (void)state;
    static const struct {
        const char *chip;
        uint32_t mer, erase_at;
    } parts[] = {
        {"stm32f429zi", 1u << 2 | 1u << 15, 0x08010000u},
        {"stm32f767zi", 1u << 2, 0x08020000u},
    };
    for (size_t i = 0; i < 2; i++) {
        fam f = fams[1];
        f.chip = parts[i].chip;
        sim_board *b = board(&f);
        const sim_chip *c = sim_board_chip(b);
        sim_flash_timing t, t1;
        assert_int_equal(sim_board_flash_timing(b, parts[i].erase_at, 4, &t), SIM_OK);
        lasts(b, &f, t.erase_ns, f4_erase, parts[i].erase_at);
        assert_int_equal(sim_board_flash_timing(b, c->flash_base, c->flash_size, &t), SIM_OK);
        assert_int_equal(sim_board_flash_timing(b, c->flash_base, c->flash_size / 2, &t1), SIM_OK);
        /* the F42x's second bank adds its own erase; the F76x has one bank */
        if (parts[i].mer & (1u << 15))
            assert_int_equal(t.mass_ns, 2 * t1.mass_ns);
        else
            assert_int_equal(t.mass_ns, t1.mass_ns);
        f4_mer = parts[i].mer;
        mass_fam = f;
        lasts(b, &f, t.mass_ns, mass_start, 0);
        sim_board_destroy(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(oracle_equals_the_board),
        cmocka_unit_test(oracle_equals_the_board_two_banks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
