/*
 * loaders/flash: writing a chip through one probe. Identify the target
 * (IDCODE, flash size, UID, RDP), unlock, erase pages or sectors, program
 * through the family's stub with double buffering, CRC a region on the
 * target, lock. Family differences are data (fl_ctrl) plus a few small
 * functions; the plan of what to erase and write lives in jobs/.
 */
#ifndef FLASHLINE_LOADERS_FLASH_H
#define FLASHLINE_LOADERS_FLASH_H

#include "chips.h"
#include "loader_abi.h"
#include "stlink.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum fl_err {
    FL_OK = 0,
    FL_E_PROBE,        /* the probe or the link failed: see the probe's pd_err */
    FL_E_UNKNOWN_CHIP, /* a DBGMCU device id the chip table does not hold */
    FL_E_PROTECTED,    /* readout or write protection refuses the operation */
    FL_E_FLASH,        /* the controller reported an error flag */
    FL_E_TIMEOUT,      /* the controller stayed busy past its deadline */
    FL_E_LOADER,       /* the stub did not finish (faulted, never reached BKPT) */
    FL_E_VERIFY,       /* flash does not hold what was written */
    FL_E_ARG,          /* outside flash, misaligned: nothing was done */
} fl_err;

const char *fl_err_name(fl_err e);

typedef struct fl_target {
    pd_probe *probe;
    const fl_chip *chip;
    uint32_t idcode;     /* DBGMCU_IDCODE */
    uint32_t flash_size; /* bytes, from the flash-size register */
    uint32_t uid[3];
    bool rdp;         /* readout protection active */
    bool stub_loaded; /* the stub is in SRAM (fl_identify clears it) */
    pd_err probe_err; /* with FL_E_PROBE */
    char msg[256];    /* what happened and what to do */
} fl_target;

/* Reads what identifies the board; the core must be halted. */
fl_err fl_identify(pd_probe *probe, fl_target *t);

fl_err fl_unlock(fl_target *t);
fl_err fl_lock(fl_target *t);
/* Erase one unit (fl_chip_unit numbering). */
fl_err fl_erase_unit(fl_target *t, uint32_t unit);
/* Erase all of main flash at once (F1 MER, F4 MER, L4 MER1|MER2; the L0
 * has no such command: FL_E_ARG). */
bool fl_can_mass_erase(const fl_target *t);
fl_err fl_mass_erase(fl_target *t);

/* Called after each buffer the stub has programmed. */
typedef void (*fl_progress_fn)(void *user, uint32_t done, uint32_t total);

/* Program len bytes at addr (inside flash, aligned to the program unit; the
 * caller pads with the erased value) through the stub, and check the stub's
 * status. The controller must be unlocked and the range erased. */
fl_err fl_program(fl_target *t, uint32_t addr, const uint8_t *data, size_t len,
                  fl_progress_fn progress, void *user);
/* CRC-32 (zlib's) of [addr, addr+len) computed on the target by the stub. */
fl_err fl_crc32(fl_target *t, uint32_t addr, uint32_t len, uint32_t *crc);
/* The same for many regions in one stub run (items' crc fields filled). */
fl_err fl_crc32_list(fl_target *t, fl_crc_item *items, size_t n);

/* One piece of work for fl_stream: optionally erase a unit, then program
 * len bytes (len may be 0) at addr. */
typedef struct fl_chunk {
    uint32_t addr;
    const uint8_t *data;
    uint32_t len;
    bool erase;   /* erase `unit` first */
    fl_unit unit; /* see chips.h */
} fl_chunk;

/*
 * Erase and program a whole list in one stub run: the stub erases and
 * programs one buffer while the host fills the next, so the flash
 * controller sets the pace from the first erase to the last word. *done
 * gets how many chunks were finished, also on failure, so that a caller
 * can go on from the chunk that failed.
 */
fl_err fl_stream(fl_target *t, const fl_chunk *chunks, size_t n, fl_progress_fn progress,
                 void *user, size_t *done);

#endif
