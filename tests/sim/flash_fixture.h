/*
 * The fixture of the flash-controller tests (test_flash_*.c): a virtual
 * board of one chip with its Thumb test program loaded at the start of
 * SRAM, and the image the whole main flash array must hold. Each test file
 * describes its chip in a fixture_chip and keeps its own register map, op
 * numbers, timings and expectations: what a test checks against is written
 * in the test, never taken from the model.
 */
#ifndef FLASHLINE_TESTS_SIM_FLASH_FIXTURE_H
#define FLASHLINE_TESTS_SIM_FLASH_FIXTURE_H

#include "thumb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

typedef struct fixture_chip {
    const char *name; /* for sim_board_create() */
    uint64_t seed;
    const unsigned char *prog; /* the Thumb test program and its length */
    const size_t *prog_len;
    uint32_t flash_base, flash_size; /* main flash, as the test knows it */
    uint8_t erased;                  /* what a blank cell reads */
    uint32_t sr_addr;                /* FLASH_SR */
    uint32_t sr_bsy;                 /* SR.BSY */
    /* clear_sr(): writes sr_clear to SR, then SR with the sr_ignore bits
     * masked off must read sr_idle. */
    uint32_t sr_clear, sr_ignore, sr_idle;
} fixture_chip;

typedef struct fixture {
    sim_board *b;
    uint8_t *expect; /* what the whole main flash array must hold */
    const fixture_chip *chip;
} fixture;

/* cmocka set-up / tear-down: a fresh board, blank expected image, program
 * loaded. fixture_setup() finds its const fixture_chip * in *state. */
int fixture_setup(void **state);
int fixture_teardown(void **state);

/* A cmocka unit test on a fresh fixture of chip (const fixture_chip *). */
#define FIXTURE_TEST(fn, chip)                                                                     \
    cmocka_unit_test_prestate_setup_teardown(fn, fixture_setup, fixture_teardown, (void *)(chip))

/* Run the program's prog_main(op, a, b, c) to its BKPT; returns R0. */
uint32_t call(fixture *f, uint32_t op, uint32_t a, uint32_t b, uint32_t c);
/* call() that returns the virtual time it took, R0 in *r. */
uint64_t timed(fixture *f, uint32_t op, uint32_t a, uint32_t b, uint32_t c, uint32_t *r);
/* An op that must not reach its BKPT: a bus fault (wrong key) or a reset
 * (OBL_LAUNCH). */
void call_no_return(fixture *f, uint32_t op, uint32_t a, uint32_t b, uint32_t c);
/* An op that must fault: bus error -> HardFault -> lock-up, the vector
 * table being blank. The core is left locked up (thumb_halt() halts it). */
void call_faults(fixture *f, uint32_t op, uint32_t a, uint32_t b, uint32_t c);

/* FLASH_SR as the debugger reads it. */
uint32_t sr(fixture *f);
/* Clear SR from the debugger and check what it reads then (fixture_chip). */
void clear_sr(fixture *f);

/* The whole main flash array must equal f->expect. */
void check_flash(fixture *f);
/* Store the expected bytes at addr..addr+len-1 into the board's array (a
 * backdoor preload, as the factory or an old firmware left them). */
void preload_expect(fixture *f, uint32_t addr, uint32_t len);
/* The word v, little-endian, is expected at addr. */
void expect_word(fixture *f, uint32_t addr, uint32_t v);

/* Let virtual time run to t_ns (no-op if it is past). */
void advance_to(fixture *f, uint64_t t_ns);
/* An operation started between t0 and t1 (virtual ns) must keep BSY up
 * until t0 + dur and have dropped it by t1 + dur: its length is dur within
 * the few microseconds the starting code took. Returns SR as read at
 * t1 + dur. */
uint32_t busy_for(fixture *f, uint64_t t0, uint64_t t1, uint64_t dur);

/* Pulse NRST: a system reset. */
void nrst_pulse(fixture *f);

#endif
