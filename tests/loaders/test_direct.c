/*
 * loaders/direct (programming over SWD without the stub) through the real
 * probe driver on the virtual line, one probe per chip: a few KiB at an odd
 * program-unit offset, read back through the probe; the neighbours stay
 * erased; bad arguments change nothing; a programmed target is reported.
 * Prints the wall-clock rate per chip (the line runs at the speed
 * flashline-sim was given: 0 here, so flash time costs no wall time and
 * the figure is the link's; run with --speed 1 for real-time figures).
 */
#define _POSIX_C_SOURCE 200809L
#include "flash.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "line.h"

static const char *const serials[] = {
    "37FF71064E57343625231943", /* F103RB */
    "0670FF555654857567033520", /* F446RE */
    "51FF6B065177505544511187", /* L053R8 */
    "002F00283438510A33333639", /* L476RG */
};
#define NLINE (sizeof serials / sizeof serials[0])
/* Programming over programmed cells: F1 PGERR, L0 NOTZEROERR, L4 PROGERR
 * make the controller refuse; the F4 has no such check and ANDs the bits
 * (RM0090 3.6.4): the read-back catches it. */
static const fl_err overwrite_err[NLINE] = {FL_E_FLASH, FL_E_VERIFY, FL_E_FLASH, FL_E_FLASH};

/* Where the tests write: past the first 16 KiB (F4 sector 1). */
#define AREA_OFF 0x4000u

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Erase every unit that [addr, addr+len) touches. */
static void erase_range(fl_target *t, uint32_t addr, uint32_t len)
{
    fl_unit first, last;
    assert_true(fl_chip_unit_at(t->chip, t->flash_size, addr, &first));
    assert_true(fl_chip_unit_at(t->chip, t->flash_size, addr + len - 1, &last));
    check(t, fl_unlock(t));
    for (uint32_t u = first.index; u <= last.index; u++)
        check(t, fl_erase_unit(t, u));
}

static void assert_erased(fl_target *t, uint32_t addr, uint32_t len)
{
    uint8_t buf[256];
    assert_true(len <= sizeof buf);
    assert_int_equal(pd_mem_read(t->probe, addr, buf, len), PD_OK);
    for (uint32_t k = 0; k < len; k++)
        if (buf[k] != fl_chip_erased(t->chip))
            fail_msg("0x%08X holds 0x%02X, not erased", addr + k, buf[k]);
}

typedef struct progress_seen {
    unsigned calls;
    uint32_t last, total;
} progress_seen;

static void on_progress(void *user, uint32_t done, uint32_t total)
{
    progress_seen *s = user;
    assert_true(done > s->last);
    s->calls++;
    s->last = done;
    s->total = total;
}

static void programs_at_an_odd_unit_offset(void **state)
{
    (void)state;
    for (size_t i = 0; i < NLINE; i++) {
        pd_probe *p = line_connect(serials[i], false);
        fl_target t;
        check(&t, fl_identify(p, &t));
        uint32_t unit = fl_chip_program_unit(t.chip);
        /* Three units in: odd, and off every half page / row boundary; a
         * length with a tail past the last full KiB. */
        uint32_t addr = t.chip->line->flash_base + AREA_OFF + 3 * unit;
        uint32_t len = 3 * 1024 + 5 * 8;
        erase_range(&t, t.chip->line->flash_base + AREA_OFF, 3 * unit + len + 64);
        uint8_t *img = malloc(len), *back = malloc(len);
        assert_non_null(img);
        assert_non_null(back);
        for (uint32_t k = 0; k < len; k++)
            img[k] = (uint8_t)(k * 7 + i * 31 + (k >> 7) + 1);
        progress_seen seen = {0};
        double t0 = now_s();
        check(&t, fl_program_direct(&t, addr, img, len, on_progress, &seen));
        double dt = now_s() - t0;
        assert_int_equal(seen.last, len);
        assert_int_equal(seen.total, len);
        assert_true(seen.calls >= 3);
        assert_int_equal(pd_mem_read(p, addr, back, len), PD_OK);
        assert_memory_equal(back, img, len);
        /* The units just before and after are untouched. */
        assert_erased(&t, addr - 3 * unit, 3 * unit);
        assert_erased(&t, addr + len, 64);
        print_message("%s: %u bytes direct in %.3f s (%.1f KiB/s wall)\n", t.chip->name, len, dt,
                      (double)len / 1024.0 / dt);
        free(img);
        free(back);
        check(&t, fl_lock(&t));
        pd_destroy(p);
    }
}

static void bad_arguments_write_nothing(void **state)
{
    (void)state;
    for (size_t i = 0; i < NLINE; i++) {
        pd_probe *p = line_connect(serials[i], false);
        fl_target t;
        check(&t, fl_identify(p, &t));
        uint32_t unit = fl_chip_program_unit(t.chip);
        uint32_t base = t.chip->line->flash_base, end = base + t.flash_size;
        uint32_t area = base + AREA_OFF + 0x800;
        erase_range(&t, area, 256);
        uint8_t data[64];
        memset(data, 0x5A, sizeof data);
        /* Misaligned address, misaligned length, before flash, past its
         * end, straddling its end, a length larger than flash. */
        assert_int_equal(fl_program_direct(&t, area + 1, data, unit, NULL, NULL), FL_E_ARG);
        assert_non_null(strstr(t.msg, "nothing written"));
        if (unit > 2)
            assert_int_equal(fl_program_direct(&t, area + 2, data, unit, NULL, NULL), FL_E_ARG);
        assert_int_equal(fl_program_direct(&t, area, data, unit + 1, NULL, NULL), FL_E_ARG);
        assert_int_equal(fl_program_direct(&t, base - 64, data, 64, NULL, NULL), FL_E_ARG);
        assert_int_equal(fl_program_direct(&t, end, data, 8, NULL, NULL), FL_E_ARG);
        assert_int_equal(fl_program_direct(&t, end - 32, data, 64, NULL, NULL), FL_E_ARG);
        assert_int_equal(fl_program_direct(&t, base, data, (size_t)t.flash_size + 8, NULL, NULL),
                         FL_E_ARG);
        assert_erased(&t, area, 256);
        /* Zero bytes: nothing to do, nothing done. */
        check(&t, fl_program_direct(&t, area, data, 0, NULL, NULL));
        assert_erased(&t, area, 256);
        pd_destroy(p);
    }
}

static void a_programmed_target_is_reported(void **state)
{
    (void)state;
    for (size_t i = 0; i < NLINE; i++) {
        pd_probe *p = line_connect(serials[i], false);
        fl_target t;
        check(&t, fl_identify(p, &t));
        uint32_t area = t.chip->line->flash_base + AREA_OFF + 0x400;
        erase_range(&t, area, 64);
        uint8_t a[64], b[64];
        memset(a, 0x0F, sizeof a);
        memset(b, 0xF0, sizeof b);
        check(&t, fl_program_direct(&t, area, a, sizeof a, NULL, NULL));
        fl_err e = fl_program_direct(&t, area, b, sizeof b, NULL, NULL);
        /* F1 PGERR, L0 NOTZEROERR, L4 PROGERR: the controller refuses; the
         * F4 has no such check and ANDs the bits (RM0090 3.6.4): the read
         * back catches it. */
        assert_int_equal(e, overwrite_err[i]);
        assert_non_null(strstr(t.msg, "0x0800"));
        /* The controller is usable afterwards: flags were cleared. */
        erase_range(&t, area, 64);
        check(&t, fl_program_direct(&t, area, b, sizeof b, NULL, NULL));
        pd_destroy(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(programs_at_an_odd_unit_offset),
        cmocka_unit_test(bad_arguments_write_nothing),
        cmocka_unit_test(a_programmed_target_is_reported),
    };
    return cmocka_run_group_tests_name("loaders.direct", tests, NULL, NULL);
}
