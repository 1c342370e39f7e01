/*
 * probe-driver against the virtual line (run by flashline-sim, see
 * CMakeLists.txt): a V2 on an STM32F103RB, a V2-1 on an STM32F446RE and a V3
 * on an STM32L476RG. Every test checks effects on the target or the bus, not
 * only return codes. Faults go through `flashline-sim ctl` ($FLASHLINE_SIM)
 * with the control socket given as argv[1].
 */
#include <libusb.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "stlink.h"
#include "pd_internal.h" /* pd_voltage_from_reply: a reply the sim never sends */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SER_V2  "37FF71064E57343625231943"
#define SER_V21 "0670FF555654857567033520"
#define SER_V3  "002F00283438510A33333639"
#define SRAM    0x20000000u

static const char *ctl_path;
static libusb_context *ctx;

typedef struct target {
    const char *serial;
    pd_kind kind;
    uint16_t pid;
    uint16_t dev_id;
    uint32_t flash_size_reg;
    uint16_t flash_kib;
    uint32_t dp_idcode;
} target;

/* Chip facts: RM0008 / RM0390 / RM0351 (DBGMCU_IDCODE dev id, flash size
 * register), ARM SW-DP IDCODEs of the Cortex-M3 (r1p1) and M4. */
static const target targets[] = {
    {SER_V2, PD_KIND_V2, 0x3748, 0x410, 0x1FFFF7E0, 128, 0x1BA01477},
    {SER_V21, PD_KIND_V2_1, 0x374B, 0x421, 0x1FFF7A22, 512, 0x2BA01477},
    {SER_V3, PD_KIND_V3, 0x374F, 0x415, 0x1FFF75E0, 1024, 0x2BA01477},
};
#define NT (sizeof targets / sizeof targets[0])

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void ctl(const char *verb, const char *serial)
{
    const char *sim = getenv("FLASHLINE_SIM");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s ctl --control %s %s %s >/dev/null", sim ? sim : "flashline-sim",
             ctl_path, verb, serial);
    assert_int_equal(system(cmd), 0);
}

#define CHECK(p, call)                                                                             \
    do {                                                                                           \
        pd_err e_ = (call);                                                                        \
        if (e_ != PD_OK)                                                                           \
            fail_msg("%s -> %s: %s", #call, pd_err_name(e_), pd_message(p));                       \
    } while (0)

/* Open the probe and enter SWD. */
static pd_probe *connect(const char *serial)
{
    pd_probe *p = NULL;
    assert_int_equal(pd_create(ctx, serial, &p), PD_OK);
    CHECK(p, pd_open(p));
    CHECK(p, pd_enter_swd(p));
    return p;
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)(x >> 16);
    }
}

/* ---- discovery ---------------------------------------------------------------- */

static void test_decode_serial(void **state)
{
    (void)state;
    char out[25];
    /* Old V2 raw form: 12 bytes as UTF-16 code units -> upper-case hex. */
    const uint8_t raw[] = {0x37, 0xFF, 0x71, 0x06, 0x4E, 0x57, 0x34, 0x36, 0x25, 0x23, 0x19, 0x43};
    uint8_t d[64] = {26, 3};
    for (int i = 0; i < 12; i++)
        d[2 + 2 * i] = raw[i];
    assert_true(pd_decode_serial(d, 26, out));
    assert_string_equal(out, SER_V2);
    /* 24 UTF-16 characters (lower case comes out upper case). */
    const char *s = "0670ff555654857567033520";
    d[0] = 50;
    for (int i = 0; i < 24; i++)
        d[2 + 2 * i] = (uint8_t)s[i], d[3 + 2 * i] = 0;
    assert_true(pd_decode_serial(d, 50, out));
    assert_string_equal(out, SER_V21);
    d[0] = 20; /* other lengths are not ST-LINK serials */
    assert_false(pd_decode_serial(d, 20, out));
    d[0] = 50;
    assert_false(pd_decode_serial(d, 30, out)); /* truncated */
}

static void test_voltage_arithmetic(void **state)
{
    (void)state;
    unsigned mv = 1;
    /* mV = 2400 * reading / factor (S17 / O12); a zero factor is refused
     * rather than divided by (S17 1.7.0 crashes on it). */
    assert_true(pd_voltage_from_reply(1600, 2200, &mv));
    assert_int_equal(mv, 3300);
    assert_true(pd_voltage_from_reply(1489, 2047, &mv));
    assert_int_equal(mv, 3299);
    mv = 7;
    assert_false(pd_voltage_from_reply(0, 2047, &mv));
    assert_int_equal(mv, 7);
}

static void test_enumerate(void **state)
{
    (void)state;
    pd_probe_info info[8];
    size_t n = 0;
    char msg[256];
    assert_int_equal(pd_enumerate(ctx, info, 8, &n, msg, sizeof msg), PD_OK);
    assert_int_equal(n, 3);
    for (size_t t = 0; t < NT; t++) {
        bool seen = false;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(info[i].serial, targets[t].serial) != 0)
                continue;
            seen = true;
            assert_int_equal(info[i].kind, targets[t].kind);
            assert_int_equal(info[i].vid, 0x0483);
            assert_int_equal(info[i].pid, targets[t].pid);
            assert_true(info[i].bus >= 1);
            assert_true(info[i].address >= 2);
        }
        if (!seen)
            fail_msg("serial %s not enumerated", targets[t].serial);
    }
    /* A too-small array still counts them all. */
    assert_int_equal(pd_enumerate(NULL, info, 1, &n, NULL, 0), PD_OK);
    assert_int_equal(n, 3);
    pd_kind k;
    assert_true(pd_is_stlink(0x0483, 0x3754, &k) && k == PD_KIND_V3);
    assert_true(pd_is_stlink(0x0483, 0x3752, &k) && k == PD_KIND_V2_1);
    assert_false(pd_is_stlink(0x0483, 0x3744, &k)); /* V1 */
    assert_false(pd_is_stlink(0x1234, 0x3748, &k));
}

static void test_bad_arguments(void **state)
{
    (void)state;
    pd_probe *p = NULL;
    assert_int_equal(pd_create(ctx, "1234", &p), PD_E_ARG);
    assert_null(p);
    assert_int_equal(pd_create(ctx, "ZZFF71064E57343625231943", &p), PD_E_ARG);
    /* Not on the bus: NOT_FOUND with a message that says what to do. */
    assert_int_equal(pd_create(NULL, "0123456789ABCDEF01234567", &p), PD_OK);
    assert_int_equal(pd_open(p), PD_E_NOT_FOUND);
    assert_non_null(strstr(pd_message(p), "0123456789ABCDEF01234567"));
    assert_non_null(strstr(pd_message(p), "replug"));
    uint8_t b[8];
    assert_int_equal(pd_mem_read(p, SRAM, b, 4), PD_E_ARG); /* not open */
    pd_destroy(p);

    p = connect(SER_V2);
    uint8_t before[16], after[16], junk[16] = {0};
    CHECK(p, pd_mem_read(p, SRAM, before, sizeof before));
    assert_int_equal(pd_mem_write_w(p, 3, SRAM, junk, 6), PD_E_ARG);
    assert_int_equal(pd_mem_write_w(p, 4, SRAM + 2, junk, 4), PD_E_ARG);
    assert_int_equal(pd_mem_write_w(p, 2, SRAM, junk, 3), PD_E_ARG);
    assert_int_equal(pd_mem_write(p, 0xFFFFFFFEu, junk, 4), PD_E_ARG);
    assert_int_equal(pd_write_reg(p, 200, 0), PD_E_ARG);
    assert_non_null(strstr(pd_message(p), "0-127"));
    CHECK(p, pd_mem_read(p, SRAM, after, sizeof after));
    assert_memory_equal(before, after, sizeof before); /* changed nothing */
    pd_destroy(p);
}

/* ---- identity ----------------------------------------------------------------- */

static void test_version_api(void **state)
{
    (void)state;
    for (size_t t = 0; t < NT; t++) {
        pd_probe *p = NULL;
        assert_int_equal(pd_create(ctx, targets[t].serial, &p), PD_OK);
        CHECK(p, pd_open(p));
        const pd_version *v = pd_get_version(p);
        const pd_limits *l = pd_get_limits(p);
        assert_int_equal(pd_info(p)->kind, targets[t].kind);
        assert_int_equal(v->pid, targets[t].pid);
        assert_int_equal(v->vid, 0x0483);
        uint8_t mode = 9;
        CHECK(p, pd_get_mode(p, &mode));
        assert_true(mode == PD_MODE_MASS); /* DFU left on open */
        switch (targets[t].kind) {
        case PD_KIND_V2: /* V2J37S7 */
            assert_int_equal(v->stlink, 2);
            assert_int_equal(v->jtag, 37);
            assert_int_equal(v->swim, 7);
            assert_int_equal(v->api, PD_API_V2);
            assert_int_equal(l->rw8_max, 64);
            break;
        case PD_KIND_V2_1: /* V2J37M26 */
            assert_int_equal(v->stlink, 2);
            assert_int_equal(v->jtag, 37);
            assert_int_equal(v->msd, 26);
            assert_int_equal(v->api, PD_API_V2);
            assert_int_equal(l->rw8_max, 64);
            break;
        case PD_KIND_V3: /* from GET_VERSION_EX: V3J7M3B3S1 */
            assert_int_equal(v->stlink, 3);
            assert_int_equal(v->jtag, 7);
            assert_int_equal(v->msd, 3);
            assert_int_equal(v->bridge, 3);
            assert_int_equal(v->api, PD_API_V3);
            assert_int_equal(l->rw8_max, 512);
            break;
        }
        assert_true(l->has_rw_status2 && l->has_voltage && l->has_set_freq && l->has_mem16);
        unsigned mv = 0;
        CHECK(p, pd_target_voltage(p, &mv));
        print_message("%s %s: V%uJ%u api v%d, %u mV\n", pd_kind_name(targets[t].kind),
                      targets[t].serial, v->stlink, v->jtag, (int)v->api, mv);
        assert_in_range(mv, 3200, 3400);
        pd_destroy(p);
    }
}

static void test_clock(void **state)
{
    (void)state;
    pd_probe *p = connect(SER_V2);
    assert_int_equal(pd_swd_clock(p), 4000); /* fastest by default */
    unsigned khz = 0;
    CHECK(p, pd_set_swd_clock(p, 1000, &khz));
    assert_int_equal(khz, 950); /* highest table entry <= 1000 (divisor 3) */
    CHECK(p, pd_set_swd_clock(p, 1, &khz));
    assert_int_equal(khz, 5); /* below the table: the slowest */
    CHECK(p, pd_set_swd_clock(p, 0, &khz));
    assert_int_equal(khz, 4000);
    uint32_t id = 0;
    CHECK(p, pd_idcode(p, &id));
    pd_destroy(p);

    p = connect(SER_V3);
    assert_int_equal(pd_swd_clock(p), 24000);
    CHECK(p, pd_set_swd_clock(p, 4000, &khz));
    assert_int_equal(khz, 3300);
    CHECK(p, pd_set_swd_clock(p, 0, &khz));
    assert_int_equal(khz, 24000);
    pd_destroy(p);
}

static void test_idcode_and_chip(void **state)
{
    (void)state;
    for (size_t t = 0; t < NT; t++) {
        pd_probe *p = connect(targets[t].serial);
        uint8_t mode = 0;
        CHECK(p, pd_get_mode(p, &mode));
        assert_int_equal(mode, PD_MODE_DEBUG);
        uint32_t id = 0, dbg = 0;
        CHECK(p, pd_idcode(p, &id));
        assert_int_equal(id, targets[t].dp_idcode);
        /* DBGMCU_IDCODE through both paths: debug-register read and a
         * 32-bit memory read. */
        CHECK(p, pd_read32(p, 0xE0042000u, &dbg));
        assert_int_equal(dbg & 0xFFF, targets[t].dev_id);
        uint8_t b[4];
        CHECK(p, pd_mem_read(p, 0xE0042000u, b, 4));
        assert_int_equal((b[0] | b[1] << 8) & 0xFFF, targets[t].dev_id);
        /* Flash size register (KiB), a half-word: read the aligned word. */
        uint32_t w = 0;
        uint32_t a = targets[t].flash_size_reg;
        CHECK(p, pd_mem_read_w(p, 4, a & ~3u, &w, 4));
        uint16_t kib = (uint16_t)((a & 2) ? w >> 16 : w);
        assert_int_equal(kib, targets[t].flash_kib);
        pd_destroy(p);
    }
}

/* ---- memory ------------------------------------------------------------------- */

static void test_sram_widths(void **state)
{
    (void)state;
    for (size_t t = 0; t < NT; t++) {
        pd_probe *p = connect(targets[t].serial);
        enum { N = 2048 };
        uint8_t *pat = malloc(N), *got = malloc(N), *zero = calloc(1, N);
        assert_non_null(pat);
        assert_non_null(got);
        assert_non_null(zero);
        /* 32-, 16- and 8-bit paths, each more than one 8-bit chunk long. */
        static const unsigned widths[] = {4, 2, 1};
        for (unsigned i = 0; i < 3; i++) {
            fill(pat, N, (unsigned)(t * 10 + i));
            CHECK(p, pd_mem_write_w(p, 4, SRAM, zero, N));
            CHECK(p, pd_mem_write_w(p, widths[i], SRAM, pat, 1024));
            memset(got, 0xAA, N);
            CHECK(p, pd_mem_read_w(p, widths[i], SRAM, got, 1024));
            assert_memory_equal(pat, got, 1024);
            CHECK(p, pd_mem_read_w(p, 4, SRAM, got, N)); /* and nothing beyond */
            assert_memory_equal(pat, got, 1024);
            assert_memory_equal(zero, got + 1024, N - 1024);
        }
        /* Unaligned heads and tails: every start offset 0-3 and odd lengths,
         * checked against a shadow copy of the whole window. */
        uint8_t *shadow = malloc(N);
        assert_non_null(shadow);
        fill(shadow, N, 99);
        CHECK(p, pd_mem_write(p, SRAM, shadow, N));
        static const struct {
            uint32_t off;
            size_t len;
        } cases[] = {{1, 1}, {2, 2}, {3, 3}, {1, 7}, {5, 600}, {259, 1029}, {2, 2}, {7, 1}};
        for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            fill(pat, cases[c].len, 200 + c);
            CHECK(p, pd_mem_write(p, SRAM + cases[c].off, pat, cases[c].len));
            memcpy(shadow + cases[c].off, pat, cases[c].len);
            memset(got, 0, N);
            CHECK(p, pd_mem_read(p, SRAM + cases[c].off, got, cases[c].len));
            assert_memory_equal(pat, got, cases[c].len);
        }
        CHECK(p, pd_mem_read_w(p, 4, SRAM, got, N));
        assert_memory_equal(shadow, got, N);
        free(shadow);
        free(pat);
        free(got);
        free(zero);
        pd_destroy(p);
    }
}

static void test_unmapped_read(void **state)
{
    (void)state;
    for (size_t t = 0; t < NT; t++) {
        pd_probe *p = connect(targets[t].serial);
        uint8_t b[8];
        assert_int_equal(pd_mem_read(p, 0x60000000u, b, 8), PD_E_TARGET);
        print_message("unmapped: %s\n", pd_message(p));
        assert_non_null(strstr(pd_message(p), "0x60000000"));
        assert_non_null(strstr(pd_message(p), targets[t].serial));
        uint32_t v = 0;
        assert_int_equal(pd_read32(p, 0x60000000u, &v), PD_E_TARGET);
        assert_non_null(strstr(pd_message(p), "0x60000000"));
        /* The probe recovers: the next access works. */
        CHECK(p, pd_read32(p, 0xE0042000u, &v));
        assert_int_equal(v & 0xFFF, targets[t].dev_id);
        CHECK(p, pd_mem_read(p, SRAM, b, 8));
        pd_destroy(p);
    }
}

/* ---- core --------------------------------------------------------------------- */

static void test_reset_halt_vector(void **state)
{
    (void)state;
    for (size_t t = 0; t < NT; t++) {
        pd_probe *p = connect(targets[t].serial);
        uint32_t sp0 = 0, pc0 = 0, pc = 0, msp = 0, dh = 0, dfsr = 0;
        CHECK(p, pd_read32(p, 0x00000000u, &sp0));
        CHECK(p, pd_read32(p, 0x00000004u, &pc0));
        CHECK(p, pd_write32(p, PD_DFSR, 0x1F)); /* clear sticky reasons */
        CHECK(p, pd_reset(p, true));
        CHECK(p, pd_dhcsr(p, &dh));
        assert_true(dh & PD_DHCSR_S_HALT);
        CHECK(p, pd_read_reg(p, PD_REG_PC, &pc));
        CHECK(p, pd_read_reg(p, PD_REG_MSP, &msp));
        assert_int_equal(pc, pc0 & ~1u);
        assert_int_equal(msp, sp0 & ~3u);
        CHECK(p, pd_read32(p, PD_DFSR, &dfsr));
        assert_true(dfsr & (1u << 3)); /* VCATCH */
        uint32_t demcr = 0;
        CHECK(p, pd_read32(p, PD_DEMCR, &demcr));
        assert_false(demcr & 1u); /* vector catch restored */
        /* Reset without halt: the core leaves the halt. */
        CHECK(p, pd_reset(p, false));
        CHECK(p, pd_dhcsr(p, &dh));
        assert_false(dh & PD_DHCSR_S_HALT);
        pd_destroy(p);
    }
}

static void test_registers_and_step(void **state)
{
    (void)state;
    for (size_t t = 0; t < NT; t++) {
        pd_probe *p = connect(targets[t].serial);
        CHECK(p, pd_reset(p, true));
        /* Registers round trip on a halted core. */
        for (unsigned r = 0; r <= 12; r++)
            CHECK(p, pd_write_reg(p, r, 0x11110000u * (r + 1) + r));
        for (unsigned r = 0; r <= 12; r++) {
            uint32_t v = 0;
            CHECK(p, pd_read_reg(p, r, &v));
            assert_int_equal(v, 0x11110000u * (r + 1) + r);
        }
        /* A program in SRAM: nop, nop, nop, b . */
        static const uint8_t prog[] = {0x00, 0xBF, 0x00, 0xBF, 0x00, 0xBF, 0xFE, 0xE7};
        const uint32_t at = SRAM + 0x100;
        CHECK(p, pd_mem_write(p, at, prog, sizeof prog));
        CHECK(p, pd_write_reg(p, PD_REG_MSP, SRAM + 0x1000));
        CHECK(p, pd_write_reg(p, PD_REG_XPSR, 0x01000000u));
        CHECK(p, pd_write_reg(p, PD_REG_PC, at));
        uint32_t pc = 0, dh = 0;
        CHECK(p, pd_read_reg(p, PD_REG_PC, &pc));
        assert_int_equal(pc, at);
        CHECK(p, pd_step(p));
        CHECK(p, pd_read_reg(p, PD_REG_PC, &pc));
        assert_int_equal(pc, at + 2);
        CHECK(p, pd_dhcsr(p, &dh));
        assert_true(dh & PD_DHCSR_S_HALT);
        /* Run: the core leaves the halt and spins in `b .`. */
        CHECK(p, pd_run(p));
        CHECK(p, pd_dhcsr(p, &dh));
        assert_false(dh & PD_DHCSR_S_HALT);
        assert_false(dh & PD_DHCSR_C_HALT);
        assert_int_equal(pd_read_reg(p, PD_REG_PC, &pc), PD_E_TARGET); /* running */
        CHECK(p, pd_halt(p));
        CHECK(p, pd_dhcsr(p, &dh));
        assert_true(dh & PD_DHCSR_S_HALT);
        CHECK(p, pd_read_reg(p, PD_REG_PC, &pc));
        assert_int_equal(pc, at + 6);
        pd_destroy(p);
    }
}

static void test_nrst(void **state)
{
    (void)state;
    for (size_t t = 0; t < NT; t++) {
        pd_probe *p = connect(targets[t].serial);
        uint32_t dh = 0;
        CHECK(p, pd_dhcsr(p, &dh)); /* clears S_RESET_ST */
        CHECK(p, pd_dhcsr(p, &dh));
        assert_false(dh & PD_DHCSR_S_RST);
        CHECK(p, pd_drive_nrst(p, PD_NRST_PULSE));
        CHECK(p, pd_dhcsr(p, &dh));
        assert_true(dh & PD_DHCSR_S_RST);
        CHECK(p, pd_dhcsr(p, &dh));
        assert_false(dh & PD_DHCSR_S_RST); /* sticky, cleared by the read */
        assert_int_equal(pd_drive_nrst(p, (pd_nrst)7), PD_E_ARG);
        pd_destroy(p);
    }
}

static void test_connect_under_reset(void **state)
{
    (void)state;
    pd_probe *p = NULL;
    assert_int_equal(pd_create(ctx, SER_V21, &p), PD_OK);
    CHECK(p, pd_open(p));
    CHECK(p, pd_connect_under_reset(p));
    uint32_t dh = 0, pc = 0, pc0 = 0;
    CHECK(p, pd_dhcsr(p, &dh));
    assert_true(dh & PD_DHCSR_S_HALT);
    CHECK(p, pd_read32(p, 4, &pc0));
    CHECK(p, pd_read_reg(p, PD_REG_PC, &pc));
    assert_int_equal(pc, pc0 & ~1u);
    uint32_t demcr = 0;
    CHECK(p, pd_read32(p, PD_DEMCR, &demcr));
    assert_false(demcr & 1u);
    pd_destroy(p);
}

/* ---- the probe itself ----------------------------------------------------------- */

static void test_v3_never_exit_outside_debug(void **state)
{
    (void)state;
    /* Opened and closed without entering SWD, then asked to leave debug
     * mode while in mass-storage mode: a DEBUG_EXIT now would hang the V3
     * (the virtual one wedges), and the next open would time out. */
    pd_probe *p = NULL;
    assert_int_equal(pd_create(ctx, SER_V3, &p), PD_OK);
    pd_set_timeout(p, 300);
    CHECK(p, pd_open(p));
    CHECK(p, pd_leave_debug(p));
    pd_close(p);
    CHECK(p, pd_open(p));
    uint8_t mode = 0;
    CHECK(p, pd_get_mode(p, &mode));
    assert_int_equal(mode, PD_MODE_MASS);
    /* In debug mode, leaving works and the probe still answers. */
    CHECK(p, pd_enter_swd(p));
    CHECK(p, pd_leave_debug(p));
    CHECK(p, pd_get_mode(p, &mode));
    assert_int_equal(mode, PD_MODE_MASS);
    CHECK(p, pd_leave_debug(p));
    CHECK(p, pd_get_mode(p, &mode));
    pd_destroy(p);
}

static void test_wedge_and_usb_reset(void **state)
{
    (void)state;
    pd_probe *p = connect(SER_V3);
    const unsigned timeout = 400;
    pd_set_timeout(p, timeout);
    unsigned khz = 0;
    CHECK(p, pd_set_swd_clock(p, 4000, &khz));
    uint8_t addr_before = pd_info(p)->address;
    uint8_t pat[256], got[256];
    fill(pat, sizeof pat, 5);
    CHECK(p, pd_mem_write(p, SRAM, pat, sizeof pat));

    ctl("wedge", SER_V3);
    uint32_t id = 0;
    double t0 = now_s();
    pd_err e = pd_idcode(p, &id);
    double dt = now_s() - t0;
    print_message("wedged: %s after %.0f ms: %s\n", pd_err_name(e), dt * 1e3, pd_message(p));
    assert_int_equal(e, PD_E_TIMEOUT);
    assert_true(dt < 2.0 * timeout / 1000.0 + 0.2);
    assert_non_null(strstr(pd_message(p), SER_V3));
    assert_non_null(strstr(pd_message(p), "USB reset"));
    /* Still wedged without a reset. */
    assert_int_equal(pd_idcode(p, &id), PD_E_TIMEOUT);

    t0 = now_s();
    CHECK(p, pd_usb_reset(p));
    print_message("USB reset + re-find: %.0f ms, address %u -> %u\n", (now_s() - t0) * 1e3,
                  addr_before, pd_info(p)->address);
    assert_int_not_equal(pd_info(p)->address, addr_before);
    /* SWD was re-entered at the same clock; the target kept its SRAM. */
    assert_int_equal(pd_swd_clock(p), 3300);
    CHECK(p, pd_idcode(p, &id));
    assert_int_equal(id, 0x2BA01477);
    CHECK(p, pd_mem_read(p, SRAM, got, sizeof got));
    assert_memory_equal(pat, got, sizeof got);
    pd_destroy(p);
}

/* Which hub the line was started with (--hub; the CMake test sets
 * DRIVER_HUB=ganged for the ganged run). */
static bool hub_ganged(void)
{
    const char *h = getenv("DRIVER_HUB");
    return h && strcmp(h, "ganged") == 0;
}

static void test_wedge_hard_port_power_cycle(void **state)
{
    (void)state;
    if (hub_ganged())
        skip();
    pd_probe *p = connect(SER_V2);
    pd_set_timeout(p, 400);
    uint8_t addr_before = pd_info(p)->address;
    uint8_t pat[256], got[256];
    fill(pat, sizeof pat, 9);
    CHECK(p, pd_mem_write(p, SRAM, pat, sizeof pat));

    ctl("wedge", SER_V2 " hard");
    uint32_t id = 0;
    assert_int_equal(pd_idcode(p, &id), PD_E_TIMEOUT);
    /* A bus reset does not reach hung firmware: it fails enumeration and
     * stays off the bus. */
    pd_err e = pd_usb_reset(p);
    print_message("hard wedge, USB reset: %s: %s\n", pd_err_name(e), pd_message(p));
    assert_int_not_equal(e, PD_OK);
    assert_false(pd_is_open(p));
    assert_non_null(strstr(pd_message(p), "hub port"));

    double t0 = now_s();
    CHECK(p, pd_port_power_cycle(p));
    print_message("port power cycle + re-find: %.0f ms, address %u -> %u\n", (now_s() - t0) * 1e3,
                  addr_before, pd_info(p)->address);
    assert_true(pd_is_open(p));
    assert_int_not_equal(pd_info(p)->address, addr_before);
    assert_string_equal(pd_info(p)->serial, SER_V2);
    assert_string_equal(pd_serial(p), SER_V2);
    assert_int_equal(pd_get_version(p)->stlink, 2);
    assert_true(pd_get_version(p)->jtag > 0);
    /* SWD is back (the handle had entered it); the target kept its SRAM:
     * the probe's power is not the board's. */
    uint8_t mode = 0;
    CHECK(p, pd_get_mode(p, &mode));
    assert_int_equal(mode, PD_MODE_DEBUG);
    CHECK(p, pd_idcode(p, &id));
    assert_int_equal(id, 0x1BA01477);
    CHECK(p, pd_mem_read(p, SRAM, got, sizeof got));
    assert_memory_equal(pat, got, sizeof got);

    /* A handle that is not open: the probe is found through sysfs. */
    pd_destroy(p);
    assert_int_equal(pd_create(ctx, SER_V2, &p), PD_OK);
    CHECK(p, pd_port_power_cycle(p));
    CHECK(p, pd_get_mode(p, &mode));
    assert_int_not_equal(mode, PD_MODE_DEBUG); /* a fresh handle: no SWD session */
    pd_destroy(p);
}

static void test_port_power_ganged(void **state)
{
    (void)state;
    if (!hub_ganged())
        skip();
    pd_probe *p = connect(SER_V21);
    uint8_t addr = pd_info(p)->address;
    pd_err e = pd_port_power_cycle(p);
    print_message("ganged hub: %s: %s\n", pd_err_name(e), pd_message(p));
    assert_int_equal(e, PD_E_UNSUPPORTED);
    assert_non_null(strstr(pd_message(p), "per-port power switching"));
    assert_non_null(strstr(pd_message(p), SER_V21));
    /* Nothing changed: same handle, same address, still in SWD. */
    assert_true(pd_is_open(p));
    assert_int_equal(pd_info(p)->address, addr);
    uint8_t mode = 0;
    CHECK(p, pd_get_mode(p, &mode));
    assert_int_equal(mode, PD_MODE_DEBUG);
    uint32_t id = 0;
    CHECK(p, pd_idcode(p, &id));
    assert_int_equal(id, 0x2BA01477);
    /* Not open: the same answer. */
    pd_close(p);
    assert_int_equal(pd_port_power_cycle(p), PD_E_UNSUPPORTED);
    assert_false(pd_is_open(p));
    pd_destroy(p);
}

static void test_power_off(void **state)
{
    (void)state;
    pd_probe *p = connect(SER_V2);
    ctl("power", SER_V2 " off");
    unsigned mv = 9999;
    CHECK(p, pd_target_voltage(p, &mv));
    assert_true(mv < 100);
    uint32_t id = 0;
    pd_err e = pd_idcode(p, &id);
    print_message("no power: %s: %s\n", pd_err_name(e), pd_message(p));
    assert_int_equal(e, PD_E_NO_TARGET);
    assert_non_null(strstr(pd_message(p), "power"));
    ctl("power", SER_V2 " on");
    CHECK(p, pd_target_voltage(p, &mv));
    assert_in_range(mv, 3200, 3400);
    CHECK(p, pd_enter_swd(p));
    CHECK(p, pd_idcode(p, &id));
    assert_int_equal(id, 0x1BA01477);
    pd_destroy(p);
}

static void test_usb_reset_healthy(void **state)
{
    (void)state;
    /* A healthy probe keeps its address over a USB reset; SWD comes back. */
    pd_probe *p = connect(SER_V2);
    uint8_t addr = pd_info(p)->address;
    uint8_t mode = 0;
    CHECK(p, pd_usb_reset(p));
    assert_int_equal(pd_info(p)->address, addr);
    CHECK(p, pd_get_mode(p, &mode));
    assert_int_equal(mode, PD_MODE_DEBUG);
    uint32_t id = 0;
    CHECK(p, pd_idcode(p, &id));
    assert_int_equal(id, 0x1BA01477);
    pd_destroy(p);
}

static void test_unplug_plug(void **state)
{
    (void)state;
    pd_probe *p = connect(SER_V21);
    pd_set_timeout(p, 500);
    ctl("unplug", SER_V21);
    uint32_t id = 0;
    pd_err e = pd_idcode(p, &id);
    print_message("unplugged: %s: %s\n", pd_err_name(e), pd_message(p));
    assert_int_equal(e, PD_E_GONE);
    assert_non_null(strstr(pd_message(p), "replug"));
    /* Gone from enumeration too. */
    pd_probe_info info[8];
    size_t n = 0;
    assert_int_equal(pd_enumerate(ctx, info, 8, &n, NULL, 0), PD_OK);
    for (size_t i = 0; i < n && i < 8; i++)
        assert_string_not_equal(info[i].serial, SER_V21);
    e = pd_reopen(p);
    assert_true(e == PD_E_NOT_FOUND || e == PD_E_GONE);

    ctl("plug", SER_V21);
    double end = now_s() + 3.0;
    do {
        e = pd_reopen(p);
        if (e == PD_OK)
            break;
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    } while (now_s() < end);
    CHECK(p, e);
    uint8_t mode = 0;
    CHECK(p, pd_get_mode(p, &mode));
    assert_int_equal(mode, PD_MODE_DEBUG); /* reopen entered SWD again */
    CHECK(p, pd_idcode(p, &id));
    assert_int_equal(id, 0x2BA01477);
    uint32_t dbg = 0;
    CHECK(p, pd_read32(p, 0xE0042000u, &dbg));
    assert_int_equal(dbg & 0xFFF, 0x421);
    pd_destroy(p);
}

/* ---- threads and speed ------------------------------------------------------------ */

typedef struct worker {
    const char *serial;
    libusb_context *ctx;
    int rounds;
    int failures;
    char why[320];
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    pd_probe *p = NULL;
    if (pd_create(w->ctx, w->serial, &p) != PD_OK || pd_open(p) != PD_OK ||
        pd_enter_swd(p) != PD_OK) {
        w->failures++;
        snprintf(w->why, sizeof w->why, "%s", p ? pd_message(p) : "create");
        pd_destroy(p);
        return NULL;
    }
    uint8_t pat[1024], got[1024];
    for (int i = 0; i < w->rounds; i++) {
        fill(pat, sizeof pat, (unsigned)i + 1000);
        uint32_t at = SRAM + 0x2000 + (uint32_t)(i % 4);
        if (pd_mem_write(p, at, pat, sizeof pat - 3) != PD_OK ||
            pd_mem_read(p, at, got, sizeof pat - 3) != PD_OK ||
            memcmp(pat, got, sizeof pat - 3) != 0) {
            w->failures++;
            snprintf(w->why, sizeof w->why, "round %d: %s", i, pd_message(p));
            break;
        }
    }
    pd_destroy(p);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    /* One worker thread per probe, all at once: two share the test's
     * context, the third owns its own. */
    pthread_t th[NT];
    worker w[NT];
    for (size_t t = 0; t < NT; t++) {
        w[t] = (worker){.serial = targets[t].serial, .ctx = t == 2 ? NULL : ctx, .rounds = 15};
        assert_int_equal(pthread_create(&th[t], NULL, work, &w[t]), 0);
    }
    for (size_t t = 0; t < NT; t++) {
        pthread_join(th[t], NULL);
        if (w[t].failures)
            fail_msg("%s: %s", targets[t].serial, w[t].why);
    }
}

static void test_speed(void **state)
{
    (void)state;
    enum { N = 16384 };
    uint8_t *pat = malloc(N), *got = malloc(N);
    assert_non_null(pat);
    assert_non_null(got);
    for (size_t t = 0; t < NT; t++) {
        pd_probe *p = connect(targets[t].serial);
        fill(pat, N, (unsigned)t + 77);
        double t0 = now_s();
        CHECK(p, pd_mem_write(p, SRAM, pat, N));
        double t1 = now_s();
        CHECK(p, pd_mem_read(p, SRAM, got, N));
        double t2 = now_s();
        assert_memory_equal(pat, got, N);
        print_message("speed %s: 16 KiB write %.1f ms, read %.1f ms (%.0f KiB/s round trip)\n",
                      pd_kind_name(targets[t].kind), (t1 - t0) * 1e3, (t2 - t1) * 1e3,
                      32.0 / (t2 - t0));
        pd_destroy(p);
    }
    free(pat);
    free(got);
}

static int setup(void **state)
{
    (void)state;
    return libusb_init(&ctx) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    libusb_exit(ctx);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_driver CONTROL-SOCKET (run under flashline-sim)\n");
        return 2;
    }
    ctl_path = argv[1];
    /* DRIVER_TEST_FILTER=test_wedge* runs a subset (debugging). */
    const char *filter = getenv("DRIVER_TEST_FILTER");
    if (filter)
        cmocka_set_test_filter(filter);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_serial),
        cmocka_unit_test(test_voltage_arithmetic),
        cmocka_unit_test(test_enumerate),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_version_api),
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_idcode_and_chip),
        cmocka_unit_test(test_sram_widths),
        cmocka_unit_test(test_unmapped_read),
        cmocka_unit_test(test_reset_halt_vector),
        cmocka_unit_test(test_registers_and_step),
        cmocka_unit_test(test_nrst),
        cmocka_unit_test(test_connect_under_reset),
        cmocka_unit_test(test_v3_never_exit_outside_debug),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_speed),
        cmocka_unit_test(test_power_off),
        cmocka_unit_test(test_usb_reset_healthy),
        cmocka_unit_test(test_wedge_and_usb_reset),
        cmocka_unit_test(test_unplug_plug),
        cmocka_unit_test(test_wedge_hard_port_power_cycle),
        cmocka_unit_test(test_port_power_ganged),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
