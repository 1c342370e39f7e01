/*
 * jobs/unit: one board on one probe, from "is a new board on the fixture?"
 * to "programmed, verified and running", as a table-driven state machine.
 *
 *   WAIT_BOARD -> CONNECT -> IDENTIFY -> CHECK -> PLAN -> ERASE -> PROGRAM
 *              -> VERIFY -> OPTIONS -> RESET_RUN -> done
 *
 * Each state does its work through unit_ops (the target, behind an
 * interface: the real one is unit_hw.h over the probe driver and loaders, the
 * tests use a scripted fake), turns the outcome into an event, and the table
 * (state x event -> action, next state) decides what follows. A failure
 * climbs the recovery ladder of ARCHITECTURE.md from the rung its error class
 * names; every rung taken is reported to the host, and the failed state is
 * tried again (PROGRAM goes on from the erase unit that failed). The ladder's
 * end quarantines the probe; a board that is wrong (other chip, image does
 * not fit, read protected, flash that will not verify) fails the unit instead.
 *
 * Nothing here blocks except inside unit_ops and the host callbacks; nothing
 * here keeps global mutable state. One unit_run per thread at a time.
 */
#ifndef FLASHLINE_JOBS_UNIT_H
#define FLASHLINE_JOBS_UNIT_H

#include "flash.h"
#include "image.h"
#include "plan.h"
#include "serial.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum unit_state {
    US_WAIT_BOARD, /* poll, without halting, until a board we have not done is there */
    US_CONNECT,    /* SWD, halt */
    US_IDENTIFY,   /* IDCODE, flash size, UID, RDP; unlock */
    US_CHECK,      /* the board matches the recipe; the host opens the unit record */
    US_PLAN,       /* serial number into the image, erase units, CRCs to skip */
    US_ERASE,      /* one mass erase when every unit is rewritten */
    US_PROGRAM,    /* erase-and-program stream through the stub */
    US_VERIFY,     /* CRC on the target, or read back */
    US_OPTIONS,    /* option bytes (RDP level) */
    US_RESET_RUN,  /* lock, reset, run the new firmware */
    US_DONE,
    US_FAILED,      /* the board: wrong chip, does not verify, protected... */
    US_PROBE_DEAD,  /* the ladder is exhausted: quarantine the probe */
    US_INTERRUPTED, /* cancelled, or the probe went away */
    US_COUNT
} unit_state;

/* What a unit_ops call can report. The binding maps driver errors here. */
typedef enum unit_err {
    UNIT_OK = 0,
    UNIT_E_NO_BOARD,    /* no target voltage or nothing answers on SWD */
    UNIT_E_TARGET,      /* target side: loader fault, flash error flag, controller busy */
    UNIT_E_PROBE,       /* the probe or its link: timeout, USB error, bad reply */
    UNIT_E_GONE,        /* the probe is not on the bus any more */
    UNIT_E_REFUSED,     /* the board cannot take this image: chip, size, protection */
    UNIT_E_VERIFY,      /* flash does not hold what was written */
    UNIT_E_UNSUPPORTED, /* a recovery step this probe or hub cannot do */
    UNIT_E_CANCELLED,
} unit_err;

const char *unit_state_name(unit_state s);
const char *unit_err_name(unit_err e);

/* The rungs of the recovery ladder, cheapest first (ARCHITECTURE.md). */
typedef enum unit_step {
    STEP_RETRY,        /* back off, clear flash error flags, try again */
    STEP_HALT_RELOAD,  /* halt with interrupts masked, freeze watchdogs, reload the loader */
    STEP_SYSTEM_RESET, /* system reset and halt */
    STEP_UNDER_RESET,  /* connect under reset */
    STEP_LOWER_CLOCK,  /* lower the SWD clock */
    STEP_REOPEN,       /* close and reopen the probe */
    STEP_USB_RESET,    /* USB reset, find the probe again by serial */
    STEP_PORT_POWER,   /* power-cycle the hub port */
    /* Last resort, for a loader that cannot run: program and check the
     * flash over SWD for the rest of the unit, slowly (loaders/direct.c). */
    STEP_NO_LOADER,
    STEP_COUNT
} unit_step;

const char *unit_step_name(unit_step s);

/* What IDENTIFY found. */
typedef struct unit_board {
    const fl_chip *chip;
    uint32_t idcode, flash_size;
    uint32_t uid[3];
    char uid_hex[25]; /* as ST prints it: word 2, 1, 0 */
    bool rdp;
    char protection[48]; /* what the protection reads as (fl_target.protection) */
} unit_board;

typedef enum unit_verify { UNIT_VERIFY_CRC, UNIT_VERIFY_READ, UNIT_VERIFY_NONE } unit_verify;

typedef struct unit_recipe {
    const image *img;
    const char *chip;   /* expected chip name (fl_chip.name, case-insensitive), or NULL */
    const char *family; /* or family ("f1"...), or NULL */
    plan_erase erase;
    unit_verify verify;
    const serial_spec *serial; /* NULL: no serial number */
    int rdp;                   /* -1: leave the option bytes alone, else 0 or 1 */
    const char *confirm;       /* option_bytes.confirm (fl_options_set_rdp), or NULL */
    bool reset_run;
} unit_recipe;

/* The target, as the state machine sees it. d is the binding's handle. Each
 * call that fails leaves a one-line message for message(). After a recovery
 * step returns UNIT_OK the target is connected, halted, identified and
 * unlocked again. */
typedef struct unit_ops {
    /* Is a board there, and which? Must not halt a running core. */
    unit_err (*peek)(void *d, unit_board *b);
    unit_err (*connect)(void *d);
    unit_err (*identify)(void *d, unit_board *b); /* and unlock */
    unit_err (*crc_list)(void *d, fl_crc_item *items, size_t n);
    bool (*can_mass_erase)(void *d);
    unit_err (*mass_erase)(void *d);
    unit_err (*stream)(void *d, const fl_chunk *chunks, size_t n, fl_progress_fn progress,
                       void *user, size_t *done);
    unit_err (*read)(void *d, uint32_t addr, uint8_t *buf, uint32_t len);
    unit_err (*set_rdp)(void *d, int level, const char *confirm);
    unit_err (*finish)(void *d, bool run); /* lock; reset and run, or leave halted */
    unit_err (*recover)(void *d, unit_step step);
    const char *(*message)(void *d);
    uint64_t (*now_ms)(void *d);
    void (*sleep_ms)(void *d, unsigned ms);
} unit_ops;

/* What a state reported, as the machine classes it. */
typedef enum unit_event {
    UEV_OK,
    UEV_NO_BOARD, /* nothing there (or the board we just did) */
    UEV_FAULT,    /* target-side failure: climb the ladder */
    UEV_PROBE,    /* probe-side failure: climb from the probe rungs */
    UEV_REFUSED,  /* the board is wrong for this recipe */
    UEV_GONE,     /* the probe left the bus */
    UEV_CANCEL,
    UEV_COUNT
} unit_event;

/* The one who runs the machine: the daemon's slot worker, or flashline flash.
 * Every callback is optional except where said. */
typedef struct unit_host {
    void (*on_state)(void *h, unit_state s);
    void (*on_progress)(void *h, uint64_t done, uint64_t total);
    /* An attempt is the run of states between two recovery steps. */
    void (*on_attempt_begin)(void *h, int n, unit_state s);
    void (*on_attempt_end)(void *h, int n, bool ok, unit_state s, const char *error);
    void (*on_recovery)(void *h, unit_step step, bool ok);
    /* Adaptive recovery. learned: the rung that last cured a failure of
     * class err in state s on this probe, tried before the ladder; -1 for
     * none. on_cured: after a failure of (s, e, err), the state went on to
     * succeed after rung step (cured = true: remember it), or the learned
     * rung was taken and the state failed again (cured = false: forget
     * it). The ladder's order stays the default. */
    int (*learned)(void *h, unit_state s, unit_event e, unit_err err);
    void (*on_cured)(void *h, unit_state s, unit_event e, unit_err err, unit_step step, bool cured);
    /* When a new board is seen (WAIT_BOARD), or after IDENTIFY when the
     * run starts at CONNECT: open the unit's record and hand out its serial
     * number (*serial, when the recipe has one). Return false when the job
     * wants no more units: the machine stops with US_INTERRUPTED and no
     * unit. Required. */
    bool (*begin)(void *h, const unit_board *b, int64_t *serial);
    /* Polled between states. */
    bool (*cancelled)(void *h);
} unit_host;

typedef struct unit_config {
    unit_state start;          /* US_WAIT_BOARD (daemon) or US_CONNECT (one-shot) */
    const char *last_uid;      /* WAIT_BOARD waits for a board other than this one */
    unsigned poll_ms;          /* WAIT_BOARD's polling period */
    uint64_t wait_deadline_ms; /* WAIT_BOARD gives up (interrupted) after; 0: never */
    unsigned retries;          /* STEP_RETRY repeats before climbing (the retry budget) */
} unit_config;

#define UNIT_MAX_STEPS 32

typedef struct unit_outcome {
    unit_state final;     /* US_DONE, US_FAILED, US_PROBE_DEAD or US_INTERRUPTED */
    unit_state failed_in; /* the state that failed last */
    unit_err err;         /* and how */
    bool begun;           /* host->begin accepted: a unit record exists */
    unit_board board;
    bool has_serial;
    int64_t serial;
    char serial_text[SERIAL_TEXT_LEN];
    uint32_t units_written, units_skipped;
    bool mass_erased;
    uint64_t bytes_programmed;
    int attempts;
    size_t nsteps;
    unit_step steps[UNIT_MAX_STEPS]; /* recovery steps taken, in order */
    bool step_ok[UNIT_MAX_STEPS];
    char error[512]; /* what went wrong and what to do, for a final state other than done */
} unit_outcome;

/* Runs the machine to a final state. */
void unit_run(const unit_config *cfg, const unit_recipe *r, const unit_ops *ops, void *d,
              const unit_host *host, void *h, unit_outcome *out);

/* The table, for tests and documentation: what the machine does when
 * state s reports event e. */

typedef enum unit_action {
    UA_NEXT,       /* go to the row's next state */
    UA_POLL,       /* wait poll_ms, then the next state */
    UA_RECOVER,    /* climb the ladder; on success try the same state again */
    UA_FAIL,       /* the unit failed (board) */
    UA_QUARANTINE, /* the probe is beyond help */
    UA_INTERRUPT,  /* stop; the unit (if any) is redone later */
} unit_action;

typedef struct unit_transition {
    unit_action action;
    unit_state next;
} unit_transition;

unit_transition unit_table(unit_state s, unit_event e);
const char *unit_event_name(unit_event e);
/* The first rung for a failure of class e in state s. */
unit_step unit_first_step(unit_state s, unit_event e);

#endif
