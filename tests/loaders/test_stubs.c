/*
 * The flash-loader stubs on the virtual boards, driven as the host will
 * drive them over SWD: unlock, load the stub, fill one buffer while the stub
 * programs the other, stop, wait for the BKPT. Effects are checked in the
 * board's flash array; CRC-32 against zlib's crc32().
 */
#include "board.h"
#include "chips.h"
#include "stubs.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>

#define DHCSR            0xE000EDF0u
#define DHCSR_RUN_MASKED 0xA05F0009u
#define DHCSR_HALT       0xA05F0003u

/* Where the host puts things in SRAM (L053 has only 8 KiB). */
#define CTL_ADDR  (FL_STUB_BASE + FL_STUB_MAX)
#define BUF_ADDR  (CTL_ADDR + 0x100u)
#define BUF_SIZE  0x800u
#define STACK_TOP 0x20002000u

typedef struct chip_case {
    const char *chip, *family;
    uint32_t regs;
    uint32_t key_reg[2]; /* key registers to write, in order (0 = none) */
    uint32_t keys[2][2];
    uint32_t erase_value_word;
    fl_loader_l4 l4; /* stub_l4x's registers and bits (zero for the others) */
} chip_case;

static const chip_case cases[] = {
    {"stm32f103rb",
     "f1",
     0x40022000u,
     {0x40022004u, 0},
     {{0x45670123u, 0xCDEF89ABu}},
     0xFFFFFFFFu,
     {0}},
    {"stm32f446re",
     "f4",
     0x40023C00u,
     {0x40023C04u, 0},
     {{0x45670123u, 0xCDEF89ABu}},
     0xFFFFFFFFu,
     {0}},
    {"stm32l053r8",
     "l0",
     0x40022000u,
     {0x4002200Cu, 0x40022010u},
     {{0x89ABCDEFu, 0x02030405u}, {0x8C9DAEBFu, 0x13141516u}},
     0,
     {0}},
    /* RM0351 3.7.5-3.7.6: SR at 0x10 (BSY b16, EOP b0, OPERR..FASTERR and
     * RDERR), CR at 0x14 (PG b0, PER b1, PNB from b3, BKER b11, STRT b16). */
    {"stm32l476rg",
     "l4x",
     0x40022000u,
     {0x40022008u, 0},
     {{0x45670123u, 0xCDEF89ABu}},
     0xFFFFFFFFu,
     {0x10, 0x14, 1u << 16, 0x43FAu, 1u << 0, 1u << 0, 1u << 1, 1u << 16, 1u << 11, 3, 8, 0}},
};

static void wr(sim_board *b, uint32_t a, uint32_t v)
{
    assert_int_equal(sim_board_write32(b, a, v), SIM_OK);
}

static uint32_t rd(sim_board *b, uint32_t a)
{
    uint32_t v = 0;
    assert_int_equal(sim_board_read32(b, a, &v), SIM_OK);
    return v;
}

static void put(sim_board *b, uint32_t a, const void *data, size_t len)
{
    assert_int_equal(sim_board_mem_write(b, a, data, len, 1, NULL), SIM_OK);
}

/* Halt, unlock the controller and load the family's stub, as a host does. */
static void setup_board(sim_board *b, const chip_case *c)
{
    wr(b, DHCSR, DHCSR_HALT);
    sim_board_advance(b, 1000);
    for (int k = 0; k < 2 && c->key_reg[k]; k++) {
        wr(b, c->key_reg[k], c->keys[k][0]);
        wr(b, c->key_reg[k], c->keys[k][1]);
    }
    fl_stub stub;
    assert_true(fl_stub_find(c->family, &stub));
    assert_true(stub.len <= FL_STUB_MAX);
    unsigned char code[FL_STUB_MAX] = {0};
    memcpy(code, stub.code, stub.len);
    put(b, FL_STUB_BASE, code, (stub.len + 3) & ~(size_t)3);
}

static sim_board *prepare(const chip_case *c, uint64_t seed)
{
    sim_board *b = NULL;
    assert_int_equal(sim_board_create(c->chip, seed, 0.0, &b), SIM_OK);
    setup_board(b, c);
    return b;
}

static void start(sim_board *b, const fl_loader_ctl *ctl)
{
    put(b, CTL_ADDR, ctl, sizeof *ctl);
    assert_int_equal(sim_board_reg_write(b, 0, CTL_ADDR), SIM_OK);
    assert_int_equal(sim_board_reg_write(b, 13, STACK_TOP), SIM_OK);
    assert_int_equal(sim_board_reg_write(b, 15, FL_STUB_BASE), SIM_OK);
    assert_int_equal(sim_board_reg_write(b, 16, 1u << 24), SIM_OK);
    wr(b, DHCSR, DHCSR_RUN_MASKED);
}

/* Start a stub run and let the board run in steps of step_ns until the
 * stub's BKPT halts it, for at most budget_ns of virtual time. */
static void run_to_bkpt(sim_board *b, const fl_loader_ctl *ctl, uint64_t step_ns,
                        uint64_t budget_ns)
{
    start(b, ctl);
    for (uint64_t t = 0; t < budget_ns && !sim_board_halted(b); t += step_ns)
        sim_board_advance(b, step_ns);
    assert_true(sim_board_halted(b));
}

static uint32_t ctl_word(sim_board *b, size_t offset)
{
    return rd(b, CTL_ADDR + (uint32_t)offset);
}

/* Program len bytes at addr through the stub, double buffered. Returns the
 * stub's final status; fills *ctl_out with the control block. */
static uint32_t program(sim_board *b, const chip_case *c, uint32_t addr, const uint8_t *img,
                        size_t len, fl_loader_ctl *ctl_out, unsigned *refills)
{
    fl_loader_ctl ctl = {.op = FL_OP_PROGRAM, .flash_regs = c->regs, .l4 = c->l4};
    size_t sent = 0;
    unsigned fills = 0;
    /* Prime both buffers, then start. */
    for (int i = 0; i < 2 && sent < len; i++) {
        size_t n = len - sent < BUF_SIZE ? len - sent : BUF_SIZE;
        put(b, BUF_ADDR + (uint32_t)i * BUF_SIZE, img + sent, n);
        ctl.buf[i] = (fl_loader_buf){.state = FL_BUF_FULL,
                                     .addr = addr + (uint32_t)sent,
                                     .len = (uint32_t)n,
                                     .data = BUF_ADDR + (uint32_t)i * BUF_SIZE};
        sent += n;
        fills++;
    }
    start(b, &ctl);
    int next = 0;
    for (int guard = 0; guard < 100000 && !sim_board_halted(b); guard++) {
        sim_board_advance(b, 200000); /* a USB round trip's worth of time */
        size_t state_off = offsetof(fl_loader_ctl, buf) + (size_t)next * sizeof(fl_loader_buf);
        if (ctl_word(b, state_off) != FL_BUF_EMPTY)
            continue;
        if (sent < len) {
            /* The stub is busy with the other buffer: refill this one. */
            size_t n = len - sent < BUF_SIZE ? len - sent : BUF_SIZE;
            uint32_t data = BUF_ADDR + (uint32_t)next * BUF_SIZE;
            put(b, data, img + sent, n);
            fl_loader_buf nb = {.state = FL_BUF_FULL,
                                .addr = addr + (uint32_t)sent,
                                .len = (uint32_t)n,
                                .data = data};
            /* State last, so the stub never sees a half-written buffer. */
            put(b, CTL_ADDR + (uint32_t)state_off + 4, &nb.addr, sizeof nb - 4);
            wr(b, CTL_ADDR + (uint32_t)state_off, FL_BUF_FULL);
            sent += n;
            fills++;
            next ^= 1;
        } else {
            wr(b, CTL_ADDR + offsetof(fl_loader_ctl, stop), 1);
        }
    }
    assert_true(sim_board_halted(b));
    assert_int_equal(sim_board_mem_read(b, CTL_ADDR, ctl_out, sizeof *ctl_out, 4, NULL), SIM_OK);
    if (refills)
        *refills = fills;
    return ctl_out->status;
}

static void erase_all(sim_board *b, const chip_case *c)
{
    /* Boards start with erased flash; nothing to do but check it. */
    const uint8_t *fl = sim_board_flash(b);
    for (size_t i = 0; i < 64 * 1024; i++)
        if (fl[i] != (uint8_t)c->erase_value_word)
            fail_msg("%s: flash not erased at +%zu", c->chip, i);
}

static void programs_a_multi_buffer_image_on_every_chip(void **state)
{
    (void)state;
    const size_t len = 5 * BUF_SIZE + 64; /* several refills, a short tail */
    uint8_t *img = malloc(len);
    assert_non_null(img);
    for (size_t i = 0; i < len; i++)
        img[i] = (uint8_t)(i * 7 + (i >> 8) + 1);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const chip_case *c = &cases[k];
        sim_board *b = prepare(c, 11);
        erase_all(b, c);
        fl_loader_ctl ctl;
        unsigned fills = 0;
        uint64_t t0 = sim_board_now_ns(b);
        assert_int_equal(program(b, c, 0x08001000u, img, len, &ctl, &fills), FL_ST_OK);
        assert_int_equal(ctl.bytes_done, len);
        assert_true(fills >= 6); /* the host refilled while the stub ran */
        const uint8_t *fl = sim_board_flash(b);
        assert_memory_equal(fl + 0x1000, img, len);
        /* Nothing outside the range changed. */
        assert_int_equal(fl[0xFFF], (uint8_t)c->erase_value_word);
        assert_int_equal(fl[0x1000 + len], (uint8_t)c->erase_value_word);
        print_message("%s: %zu bytes in %.1f ms of virtual time\n", c->chip, len,
                      (double)(sim_board_now_ns(b) - t0) / 1e6);
        sim_board_destroy(b);
    }
    free(img);
}

static void crc32_matches_zlib(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const chip_case *c = &cases[k];
        sim_board *b = prepare(c, 12);
        uint8_t img[4096];
        for (size_t i = 0; i < sizeof img; i++)
            img[i] = (uint8_t)(i ^ 0x5A ^ k);
        fl_loader_ctl ctl;
        assert_int_equal(program(b, c, 0x08000000u, img, sizeof img, &ctl, NULL), FL_ST_OK);
        fl_loader_ctl crc = {.op = FL_OP_CRC32, .flash_regs = c->regs};
        crc.buf[0].addr = 0x08000000u;
        crc.buf[0].len = sizeof img;
        wr(b, DHCSR, DHCSR_HALT);
        run_to_bkpt(b, &crc, 1000000, 1000ull * 1000000);
        uint32_t got = ctl_word(b, offsetof(fl_loader_ctl, crc));
        uint32_t want = (uint32_t)crc32(crc32(0L, Z_NULL, 0), img, sizeof img);
        assert_int_equal(got, want);
        /* Odd start and length: the stub reads words only in between. */
        crc.buf[0].addr = 0x08000003u;
        crc.buf[0].len = sizeof img - 5;
        wr(b, DHCSR, DHCSR_HALT);
        run_to_bkpt(b, &crc, 1000000, 1000ull * 1000000);
        want = (uint32_t)crc32(crc32(0L, Z_NULL, 0), img + 3, sizeof img - 5);
        assert_int_equal(ctl_word(b, offsetof(fl_loader_ctl, crc)), want);
        sim_board_destroy(b);
    }
}

/* Run one CRC-32 pass over [0x08000000, +len) and return its virtual time
 * in ns; the result must match zlib's. */
static uint64_t timed_crc(sim_board *b, const chip_case *c, uint32_t len)
{
    fl_loader_ctl crc = {.op = FL_OP_CRC32, .flash_regs = c->regs};
    crc.buf[0].addr = 0x08000000u;
    crc.buf[0].len = len;
    wr(b, DHCSR, DHCSR_HALT);
    uint64_t t0 = sim_board_now_ns(b);
    /* 100 us steps: the board runs whole translated blocks, and a step
     * shorter than one block at 2 MHz would not move it. */
    run_to_bkpt(b, &crc, 100000, 2000000000ull);
    uint64_t ns = sim_board_now_ns(b) - t0;
    uint32_t want = (uint32_t)crc32(crc32(0L, Z_NULL, 0), sim_board_flash(b), len);
    assert_int_equal(ctl_word(b, offsetof(fl_loader_ctl, crc)), want);
    return ns;
}

/* The chip row's fast clock (loaders/chips.c), applied as loaders/clock.c
 * does, makes the core-bound CRC pass faster by about the clock ratio
 * (less what the flash wait states cost), and flash still reads right. */
static void crc_runs_faster_on_the_fast_clock(void **state)
{
    (void)state;
    static const struct {
        uint16_t dev_id;
        uint32_t reset_hz;
    } rows[] = {{0x410, 8000000}, {0x421, 16000000}, {0x417, 2097000}, {0x415, 4000000}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const chip_case *c = &cases[k];
        const fl_chip *chip = fl_chip_by_dev_id(rows[k].dev_id);
        assert_non_null(chip);
        const fl_line *line = chip->line;
        assert_non_null(line->fast_clock);
        sim_board *b = prepare(c, 21);
        const uint32_t len = 16 * 1024;
        uint64_t slow = timed_crc(b, c, len);
        for (const fl_clock_step *st = line->fast_clock; st->mask; st++) {
            wr(b, st->addr, (rd(b, st->addr) & ~st->mask) | st->value);
            int i = 0;
            while (((rd(b, st->addr) >> st->ready_shift) & st->mask) != st->value && i++ < 1000)
                sim_board_advance(b, 10000);
            assert_true(i < 1000);
        }
        uint64_t fast = timed_crc(b, c, len);
        double want = (double)line->fast_clock_hz / rows[k].reset_hz;
        print_message("%s: CRC of %u bytes %.2f ms at reset clock, %.2f ms at %u MHz (%.1fx)\n",
                      c->chip, len, slow / 1e6, fast / 1e6, line->fast_clock_hz / 1000000,
                      (double)slow / (double)fast);
        assert_true((double)slow / (double)fast >= want / 2);
        sim_board_destroy(b);
    }
}

/* F1: programming a half-word that is not erased stops the stub with PGERR
 * and the address; the flash keeps its old content (RM0008 3.3.3). */
static void f1_reports_a_flash_error_with_its_address(void **state)
{
    (void)state;
    const chip_case *c = &cases[0];
    sim_board *b = prepare(c, 13);
    uint8_t first[64], second[64];
    memset(first, 0x12, sizeof first);
    memset(second, 0x34, sizeof second);
    fl_loader_ctl ctl;
    assert_int_equal(program(b, c, 0x08000400u, first, sizeof first, &ctl, NULL), FL_ST_OK);
    wr(b, DHCSR, DHCSR_HALT);
    assert_int_equal(program(b, c, 0x08000400u, second, sizeof second, &ctl, NULL),
                     FL_ST_FLASH_ERROR);
    assert_int_equal(ctl.fail_addr, 0x08000400u);
    assert_true(ctl.sr & (1u << 2)); /* PGERR */
    assert_memory_equal(sim_board_flash(b) + 0x400, first, sizeof first);
    sim_board_destroy(b);
}

/* L4: a double word written twice gives PROGERR (ECC rule, RM0351 3.3.7). */
static void l4_refuses_a_second_write_of_a_double_word(void **state)
{
    (void)state;
    const chip_case *c = &cases[3];
    sim_board *b = prepare(c, 14);
    uint8_t data[16];
    memset(data, 0xA5, sizeof data);
    fl_loader_ctl ctl;
    assert_int_equal(program(b, c, 0x08000800u, data, sizeof data, &ctl, NULL), FL_ST_OK);
    wr(b, DHCSR, DHCSR_HALT);
    memset(data, 0x00, 8); /* all-zero is the one allowed overwrite */
    memset(data + 8, 0x5A, 8);
    assert_int_equal(program(b, c, 0x08000800u, data, sizeof data, &ctl, NULL), FL_ST_FLASH_ERROR);
    assert_int_equal(ctl.fail_addr, 0x08000808u);
    assert_true(ctl.sr & (1u << 3)); /* PROGERR */
    const uint8_t *fl = sim_board_flash(b) + 0x800;
    for (int i = 0; i < 8; i++)
        assert_int_equal(fl[i], 0x00);
    for (int i = 8; i < 16; i++)
        assert_int_equal(fl[i], 0xA5);
    sim_board_destroy(b);
}

/* A misaligned request is refused before any store reaches the flash. */
static void misaligned_requests_are_refused(void **state)
{
    (void)state;
    const chip_case *c = &cases[1];
    sim_board *b = prepare(c, 15);
    uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    fl_loader_ctl ctl;
    assert_int_equal(program(b, c, 0x08000002u, data, sizeof data, &ctl, NULL), FL_ST_BAD_REQUEST);
    for (int i = 0; i < 16; i++)
        assert_int_equal(sim_board_flash(b)[i], 0xFF);
    sim_board_destroy(b);
}

/* With running firmware and a hardware watchdog, the stub still works:
 * interrupts masked, the watchdog refreshed while it runs. */
static void survives_firmware_interrupts_and_a_watchdog(void **state)
{
    (void)state;
    const chip_case *c = &cases[1];
    sim_board *b = NULL;
    assert_int_equal(sim_board_create(c->chip, 16, 0.0, &b), SIM_OK);
    assert_int_equal(sim_board_inject(b, SIM_FAULT_RUNNING_FIRMWARE, 0), SIM_OK);
    assert_int_equal(sim_board_inject(b, SIM_FAULT_WATCHDOG, 0), SIM_OK);
    setup_board(b, c);
    size_t len = 16 * 1024; /* F4 x32: 4096 words x 16 us = 65 ms of flash time */
    uint8_t *img = malloc(len);
    assert_non_null(img);
    for (size_t i = 0; i < len; i++)
        img[i] = (uint8_t)(i * 13 + 5);
    fl_loader_ctl ctl;
    /* Sector 1 (0x08004000): the firmware's sector 0 is not touched. */
    assert_int_equal(program(b, c, 0x08004000u, img, len, &ctl, NULL), FL_ST_OK);
    assert_memory_equal(sim_board_flash(b) + 0x4000, img, len);
    /* No watchdog reset happened on the way (RCC_CSR.IWDGRSTF). */
    assert_false(rd(b, 0x40023874u) & (1u << 29));
    free(img);
    sim_board_destroy(b);
}

/* A CRC pass longer than the watchdog's reset timeout (512 ms): 1 MiB on
 * the L476 at its 4 MHz reset clock takes over a second, and it must feed
 * the watchdog on the way, also from an odd start address. */
static void a_long_crc_feeds_the_watchdog(void **state)
{
    (void)state;
    const chip_case *c = &cases[3];
    sim_board *b = NULL;
    assert_int_equal(sim_board_create(c->chip, 17, 0.0, &b), SIM_OK);
    assert_int_equal(sim_board_inject(b, SIM_FAULT_WATCHDOG, 0), SIM_OK);
    setup_board(b, c);
    const uint32_t len = 1024 * 1024 - 1;
    fl_loader_ctl crc = {.op = FL_OP_CRC32, .flash_regs = c->regs};
    crc.buf[0].addr = 0x08000001u;
    crc.buf[0].len = len;
    wr(b, DHCSR, DHCSR_HALT);
    uint64_t t0 = sim_board_now_ns(b);
    run_to_bkpt(b, &crc, 1000000, 5000ull * 1000000);
    assert_true(sim_board_now_ns(b) - t0 > 600ull * 1000000); /* longer than the timeout */
    uint32_t want = (uint32_t)crc32(crc32(0L, Z_NULL, 0), sim_board_flash(b) + 1, len);
    assert_int_equal(ctl_word(b, offsetof(fl_loader_ctl, crc)), want);
    /* No watchdog reset on the way (RCC_CSR.IWDGRSTF, RM0351 6.4.29). */
    assert_false(rd(b, 0x40021094u) & (1u << 29));
    sim_board_destroy(b);
}

/* One buffer can erase a run of units before it programs: old bytes in
 * units 1 and 2 (and in unit 3, which is not in the run), a buffer that
 * erases units 1-2 and writes the start of unit 1. Unit 2 ends erased,
 * unit 3 keeps its bytes. */
static void erases_a_run_of_units_in_one_buffer(void **state)
{
    (void)state;
    static const uint32_t unit_size[] = {1024, 16384, 128, 2048};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const chip_case *c = &cases[k];
        sim_board *b = prepare(c, 23);
        uint32_t u1 = 0x08000000u + unit_size[k];
        uint8_t old[64], neu[64];
        memset(old, 0x33, sizeof old);
        memset(neu, 0x44, sizeof neu);
        fl_loader_ctl ctl;
        for (uint32_t u = 0; u < 3; u++) {
            assert_int_equal(program(b, c, u1 + u * unit_size[k] + unit_size[k] - 64, old,
                                     sizeof old, &ctl, NULL),
                             FL_ST_OK);
            wr(b, DHCSR, DHCSR_HALT);
        }
        fl_loader_ctl e = {.op = FL_OP_PROGRAM, .flash_regs = c->regs, .stop = 1, .l4 = c->l4};
        e.buf[0] = (fl_loader_buf){.state = FL_BUF_FULL,
                                   .addr = u1,
                                   .len = sizeof neu,
                                   .data = BUF_ADDR,
                                   .erase = 2,
                                   .unit_addr = u1,
                                   .unit_code = 1,
                                   .unit_size = unit_size[k]};
        put(b, BUF_ADDR, neu, sizeof neu);
        run_to_bkpt(b, &e, 1000000, 10000ull * 1000000);
        assert_int_equal(ctl_word(b, offsetof(fl_loader_ctl, status)), FL_ST_OK);
        const uint8_t *fl = sim_board_flash(b) + (u1 - 0x08000000u);
        assert_memory_equal(fl, neu, sizeof neu);
        for (uint32_t i = sizeof neu; i < 2 * unit_size[k]; i++)
            if (fl[i] != (uint8_t)c->erase_value_word)
                fail_msg("%s: byte %u of the erased run is 0x%02X", c->chip, i, fl[i]);
        assert_memory_equal(fl + 3 * unit_size[k] - 64, old, sizeof old);
        sim_board_destroy(b);
    }
}

/* A buffer can ask the stub to erase its unit first: the unit then holds
 * exactly the new bytes, and the units around it are untouched. The CRC
 * list op checks three regions in one run. */
static void erases_in_the_stub_and_crcs_a_list(void **state)
{
    (void)state;
    static const uint32_t unit_addr[] = {0x08000400u, 0x08004000u, 0x08000080u, 0x08000800u};
    static const uint32_t unit_code[] = {1, 1, 1, 1}; /* page/sector 1 in bank 0 */
    static const uint32_t unit_size[] = {1024, 16384, 128, 2048};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const chip_case *c = &cases[k];
        sim_board *b = prepare(c, 17);
        uint8_t old[128], neu[128];
        memset(old, 0x11, sizeof old);
        memset(neu, 0x22, sizeof neu);
        fl_loader_ctl ctl;
        /* Old bytes at the start of the unit and just before it. */
        assert_int_equal(program(b, c, unit_addr[k], old, sizeof old, &ctl, NULL), FL_ST_OK);
        wr(b, DHCSR, DHCSR_HALT);
        assert_int_equal(program(b, c, unit_addr[k] - 8, old, 8, &ctl, NULL), FL_ST_OK);
        wr(b, DHCSR, DHCSR_HALT);
        /* New bytes with erase-first. */
        fl_loader_ctl e = {.op = FL_OP_PROGRAM, .flash_regs = c->regs, .stop = 1, .l4 = c->l4};
        e.buf[0] = (fl_loader_buf){.state = FL_BUF_FULL,
                                   .addr = unit_addr[k],
                                   .len = sizeof neu,
                                   .data = BUF_ADDR,
                                   .erase = 1,
                                   .unit_addr = unit_addr[k],
                                   .unit_code = unit_code[k]};
        put(b, BUF_ADDR, neu, sizeof neu);
        run_to_bkpt(b, &e, 1000000, 10000ull * 1000000);
        assert_int_equal(ctl_word(b, offsetof(fl_loader_ctl, status)), FL_ST_OK);
        const uint8_t *fl = sim_board_flash(b) + (unit_addr[k] - 0x08000000u);
        assert_memory_equal(fl, neu, sizeof neu);
        for (uint32_t i = sizeof neu; i < unit_size[k]; i++)
            assert_int_equal(fl[i], (uint8_t)c->erase_value_word); /* the rest erased */
        for (int i = -8; i < 0; i++)
            assert_int_equal(fl[i], 0x11); /* the unit before: kept */
        /* CRC list: three regions, one run. */
        fl_crc_item items[3] = {{unit_addr[k], sizeof neu, 0},
                                {unit_addr[k] - 8, 8, 0},
                                {unit_addr[k], unit_size[k], 0}};
        put(b, BUF_ADDR, items, sizeof items);
        fl_loader_ctl l = {.op = FL_OP_CRC32_LIST, .flash_regs = c->regs};
        l.buf[0].data = BUF_ADDR;
        l.buf[0].len = 3;
        wr(b, DHCSR, DHCSR_HALT);
        run_to_bkpt(b, &l, 1000000, 10000ull * 1000000);
        fl_crc_item back[3];
        assert_int_equal(sim_board_mem_read(b, BUF_ADDR, back, sizeof back, 4, NULL), SIM_OK);
        uLong z = crc32(0L, Z_NULL, 0);
        assert_int_equal(back[0].crc, (uint32_t)crc32(z, neu, sizeof neu));
        assert_int_equal(back[1].crc, (uint32_t)crc32(z, old, 8));
        assert_int_equal(back[2].crc, (uint32_t)crc32(z, fl, unit_size[k]));
        sim_board_destroy(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(programs_a_multi_buffer_image_on_every_chip),
        cmocka_unit_test(crc32_matches_zlib),
        cmocka_unit_test(crc_runs_faster_on_the_fast_clock),
        cmocka_unit_test(erases_in_the_stub_and_crcs_a_list),
        cmocka_unit_test(erases_a_run_of_units_in_one_buffer),
        cmocka_unit_test(f1_reports_a_flash_error_with_its_address),
        cmocka_unit_test(l4_refuses_a_second_write_of_a_double_word),
        cmocka_unit_test(misaligned_requests_are_refused),
        cmocka_unit_test(survives_firmware_interrupts_and_a_watchdog),
        cmocka_unit_test(a_long_crc_feeds_the_watchdog),
    };
    return cmocka_run_group_tests_name("loaders.stubs", tests, NULL, NULL);
}
