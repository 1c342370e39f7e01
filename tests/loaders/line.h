/*
 * What the loaders tests on the virtual line share (flashline-sim starts
 * one probe per chip, serials in tests/loaders/CMakeLists.txt): opening a
 * probe with its core halted, and failing with the loader's own message.
 * Include after cmocka.h.
 */
#ifndef FLASHLINE_TESTS_LOADERS_LINE_H
#define FLASHLINE_TESTS_LOADERS_LINE_H

#include "flash.h"

#include <stdbool.h>

/* Open the probe, enter SWD and halt the core; with reset, through a
 * system reset first (the chip's reset state, the reset clock included). */
static inline pd_probe *line_connect(const char *serial, bool reset)
{
    pd_probe *p = NULL;
    assert_int_equal(pd_create(NULL, serial, &p), PD_OK);
    pd_err e = pd_open(p);
    if (e == PD_OK)
        e = pd_enter_swd(p);
    if (e == PD_OK && reset)
        e = pd_reset(p, true);
    if (e == PD_OK)
        e = pd_halt(p);
    if (e != PD_OK)
        fail_msg("%s: %s", serial, pd_message(p));
    return p;
}

static inline void check(fl_target *t, fl_err e)
{
    if (e != FL_OK)
        fail_msg("%s: %s", fl_err_name(e), t->msg);
}

#endif
