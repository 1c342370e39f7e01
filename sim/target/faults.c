/*
 * Fault injection: the board conditions that make real production lines
 * fail. Each one is deterministic; where a fault needs randomness it draws
 * from the board's seeded generator.
 */
#include "board_state.h"

#include <string.h>

/* The firmware image of firmware/ticker.S, embedded by the build. */
extern const unsigned char sim_fw_ticker[];
extern const size_t sim_fw_ticker_len;

sim_err sim_board_inject(sim_board *b, sim_fault fault, uint32_t arg)
{
    const sim_chip *c = b->chip;
    switch (fault) {
    case SIM_FAULT_RUNNING_FIRMWARE: {
        sim_err e = sim_board_preload(b, c->flash_base, sim_fw_ticker, sim_fw_ticker_len);
        if (e)
            return e;
        b->fault_firmware = true;
        /* Power-on as a fixture does when the board is seated: the firmware
         * starts and is running by the time a probe connects. */
        sim_board_power(b, false);
        sim_board_power(b, true);
        return sim_board_advance(b, 1000000);
    }
    case SIM_FAULT_WATCHDOG:
        /* Hardware watchdog by option byte: running from the next reset on;
         * start it now too, as if the board had just powered up with it. */
        b->fault_watchdog = true;
        if (!b->iwdg_on) {
            b->iwdg_on = true;
            b->iwdg_reload_ps = b->now_ps;
            b->iwdg_frozen_ps = 0;
            b->iwdg_halt_since = UINT64_MAX;
            iwdg_halt_changed(b);
        }
        return SIM_OK;
    case SIM_FAULT_SWD_LOCKED:
        b->fault_swd_locked = true;
        return SIM_OK;
    case SIM_FAULT_STALE_FLASH_ERRORS:
        b->fops->inject_stale_errors(b, b->fstate);
        return SIM_OK;
    case SIM_FAULT_RDP1:
        b->fops->inject_rdp1(b, b->fstate);
        /* Options load at power-on: the board arrives protected. */
        sim_board_power(b, false);
        sim_board_power(b, true);
        return SIM_OK;
    case SIM_FAULT_BAD_CELL:
        if (arg < c->flash_base || arg - c->flash_base >= c->flash_size)
            return SIM_E_ARG;
        b->bad_cell = true;
        b->bad_cell_addr = arg;
        return SIM_OK;
    case SIM_FAULT_NO_POWER:
        sim_board_power(b, false);
        return SIM_OK;
    case SIM_FAULT_ECC_SINGLE:
    case SIM_FAULT_ECC_DOUBLE:
        if (arg < c->flash_base || arg - c->flash_base >= c->flash_size || !b->fops->inject_ecc)
            return SIM_E_ARG;
        return b->fops->inject_ecc(b, b->fstate, arg, fault == SIM_FAULT_ECC_DOUBLE) ? SIM_OK
                                                                                     : SIM_E_ARG;
    }
    return SIM_E_ARG;
}
