/*
 * Probe health (daemon/health.c): the states a probe's figures call for,
 * with the default thresholds, and the fixture-versus-board verdicts.
 */
#include "health.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static bool add(health *h, const health_config *c, bool ok, int attempts, int steps, int usb_resets,
                int64_t at)
{
    health_unit u = {.ok = ok, .attempts = attempts, .steps = steps, .usb_resets = usb_resets};
    return health_add_unit(h, c, &u, at);
}

/* Clean units keep a probe good; one long first climb (adaptive recovery
 * learning a cure) makes it degraded for a while, never failing, and
 * clean units after it bring it back. */
static void clean_units_stay_good(void **state)
{
    (void)state;
    health_config c;
    health_config_defaults(&c);
    health h;
    health_init(&h);
    for (int i = 0; i < 5; i++)
        assert_false(add(&h, &c, true, 1, 0, 0, i));
    assert_int_equal(h.state, HEALTH_GOOD);
    add(&h, &c, true, 8, 7, 0, 1000);       /* a long ladder climb */
    assert_int_equal(h.state, HEALTH_GOOD); /* 1 of 6 units, 2.2 attempts: under the limits */
    health_init(&h);
    add(&h, &c, true, 8, 7, 0, 1000); /* the same climb as a probe's first unit */
    add(&h, &c, true, 1, 0, 0, 1001);
    assert_int_equal(h.state, HEALTH_DEGRADED);
    for (int i = 0; i < 3; i++)
        add(&h, &c, true, 1, 0, 0, 1002 + i);
    assert_int_equal(h.state, HEALTH_GOOD); /* 1 of 5: 20% */
}

/* Every unit needs recovery (a loader that never runs, ending over SWD):
 * degraded at the second unit, failing at the fifth, with the figures in
 * the reason; then clean units bring it back. */
static void recovery_on_every_unit_degrades_then_fails(void **state)
{
    (void)state;
    health_config c;
    health_config_defaults(&c);
    health h;
    health_init(&h);
    assert_false(add(&h, &c, true, 2, 1, 0, 1));
    assert_true(add(&h, &c, true, 2, 1, 0, 2));
    assert_int_equal(h.state, HEALTH_DEGRADED);
    assert_false(add(&h, &c, true, 2, 1, 0, 3));
    assert_false(add(&h, &c, true, 2, 1, 0, 4));
    assert_true(add(&h, &c, true, 2, 1, 0, 5));
    assert_int_equal(h.state, HEALTH_FAILING);
    assert_non_null(strstr(h.reason, "100% of its last 5 units needed recovery"));
    health_figures f;
    health_figures_get(&h, &c, 6, &f);
    assert_int_equal(f.units, 5);
    assert_true(f.attempts_per_unit > 1.99 && f.attempts_per_unit < 2.01);
    for (int i = 0; i < 20; i++)
        add(&h, &c, true, 1, 0, 0, 10 + i);
    assert_int_equal(h.state, HEALTH_GOOD);
}

/* USB resets within an hour make a probe failing whatever its units did;
 * an hour later they no longer count. */
static void usb_resets_in_an_hour_fail_a_probe(void **state)
{
    (void)state;
    health_config c;
    health_config_defaults(&c);
    c.failing_usb_resets = 3;
    health h;
    health_init(&h);
    add(&h, &c, true, 1, 0, 0, 0);
    add(&h, &c, true, 2, 1, 1, 1000);
    add(&h, &c, true, 1, 0, 0, 2000);
    add(&h, &c, true, 2, 1, 1, 3000);
    assert_int_not_equal(h.state, HEALTH_FAILING);
    assert_true(add(&h, &c, true, 2, 1, 1, 4000));
    assert_int_equal(h.state, HEALTH_FAILING);
    assert_non_null(strstr(h.reason, "3 USB resets"));
    health_figures f;
    health_figures_get(&h, &c, 4000 + 3600000, &f);
    assert_int_equal(f.usb_resets_hour, 0);
}

/* Boards failed here that pass elsewhere point at the fixture (failing at
 * two); boards that fail everywhere do not count against it. */
static void fixture_and_board_faults_are_told_apart(void **state)
{
    (void)state;
    health_config c;
    health_config_defaults(&c);
    health fixture, good;
    health_init(&fixture);
    health_init(&good);
    add(&fixture, &c, false, 1, 0, 0, 1);
    add(&good, &c, true, 1, 0, 0, 1);
    assert_int_equal(fixture.state, HEALTH_DEGRADED); /* a failure in a row */
    health_note_board(&fixture, &c, true, 2);         /* that board passed elsewhere */
    add(&fixture, &c, false, 1, 0, 0, 3);
    assert_true(health_note_board(&fixture, &c, true, 4));
    assert_int_equal(fixture.state, HEALTH_FAILING);
    assert_non_null(strstr(fixture.reason, "the fixture"));
    /* Boards that fail on two probes: the board, for both. */
    health_note_board(&good, &c, false, 5);
    health_note_board(&good, &c, false, 6);
    health_figures f;
    health_figures_get(&good, &c, 7, &f);
    assert_int_equal(f.board_faults, 2);
    assert_int_equal(good.state, HEALTH_GOOD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_units_stay_good),
        cmocka_unit_test(recovery_on_every_unit_degrades_then_fails),
        cmocka_unit_test(usb_resets_in_an_hour_fail_a_probe),
        cmocka_unit_test(fixture_and_board_faults_are_told_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
