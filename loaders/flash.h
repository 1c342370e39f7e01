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
    bool rdp; /* readout protection active */
    /* What the protection reads as, for people: "RDP level 0", "readout
     * protection on", "product state Open (0xED)" (fl_family.protection). */
    char protection[48];
    bool stub_loaded; /* the stub is in SRAM (fl_identify clears it) */
    /* The last stub run returned to its BKPT: the core is halted with the
     * stack pointer, xPSR and C_MASKINTS a new run needs, so starting the
     * next one takes 4 commands instead of 9 (~2 ms each on a full-speed
     * probe). Counts only while stub_loaded; cleared when a run starts and
     * set again by a run that ends at its BKPT. */
    bool stub_ready;
    bool clock_raised; /* fl_clock_raise took effect (fl_identify clears it) */
    uint32_t clock_saved[FL_CLOCK_STEPS_MAX]; /* the bits its steps replaced */
    pd_err probe_err;                         /* with FL_E_PROBE */
    char msg[256];                            /* what happened and what to do */
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
/* Does the loader fit the chip's SRAM? Parts where it does not (2 KiB of
 * SRAM) are programmed over SWD (fl_program_direct); fl_crc32_list then
 * reads the flash instead. */
bool fl_loader_fits(const fl_target *t);
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

/* ---- the core clock (loaders/clock.c) ---------------------------------------
 *
 * fl_clock_raise runs the halted core from the chip row's fast clock (PLL
 * or HSI16, flash wait states first) so that the stub's loops and CRC
 * passes are not held back by the reset oscillator. It does nothing when
 * firmware already switched the clock (RCC_CFGR.SWS != 0) or it was raised
 * before. If a step does not take (a PLL that does not lock), what was done
 * is undone and FL_E_TIMEOUT says so: the loader still works, slower. A
 * system reset brings the reset clock back by itself; fl_clock_restore
 * undoes the steps for a board that is left without one.
 */
fl_err fl_clock_raise(fl_target *t);
fl_err fl_clock_restore(fl_target *t);

/* ---- option bytes and readout protection (loaders/options.c) ---------------
 *
 * What the option bytes hold, as the controller loaded them (what is in
 * force, not what may be pending in the option block until the next load):
 *   rdp   0, 1 or 2 (F1 knows only 0 and 1).
 *   user  F1: the USER byte (OBR b9:2: WDG_SW, nRST_STOP, nRST_STDBY).
 *         F4: FLASH_OPTCR & 0xEC (BOR_LEV, WDG_SW, nRST_STOP, nRST_STDBY).
 *         L0: FLASH_OPTR b31:16 (the USER option half-word: BOR_LEV,
 *             IWDG_SW, nRST_STOP, nRST_STDBY, nBOOT1).
 *         L4: FLASH_OPTR with the RDP byte cleared (b31:8).
 *   wrp   F1: FLASH_WRPR (bit n = pages 4n..4n+3, 0 = protected).
 *         F4: nWRP, OPTCR b23:16, plus SPRMOD in b31 (0 = protected).
 *         L0: FLASH_WRPR (bit n = 4 KiB sector n, 1 = protected).
 *         L4: FLASH_WRP1AR (bank 1 area A: STRT b7:0, END b23:16).
 *   valid false when the loaded options failed their complement check
 *         (F1 OBR.OPTERR, L0/L4 SR.OPTVERR); the F4 has no such flag.
 */
typedef struct fl_options {
    int rdp;
    uint32_t user;
    uint32_t wrp;
    bool valid;
} fl_options;

/* Reads the loaded option bytes; the core must be halted. */
fl_err fl_options_read(fl_target *t, fl_options *out);

/*
 * Sets readout protection to level 0 or 1 and makes it take effect: the
 * option block is written only if it does not already hold that level,
 * then the options are loaded (F1, F4: system reset; L0, L4: OBL_LAUNCH,
 * which resets the chip) and the target is re-attached: halted,
 * identified, unlocked (t is refreshed, t->rdp shows the new level).
 * Going from 1 to 0 mass-erases main flash (L0: and data EEPROM) in
 * hardware. Level 2 is permanent and refused (FL_E_ARG, nothing done).
 * Other option bits are kept. After a call that changed nothing, t->msg
 * says so. On a family whose option writes need confirming
 * (fl_opt_family.confirm: the TrustZone parts) a write is refused with
 * FL_E_ARG unless confirm is that word; a call that writes nothing needs no
 * confirm.
 */
fl_err fl_options_set_rdp(fl_target *t, int level, const char *confirm);

/*
 * Writes the user option bits (the `user` field's layout above; only the
 * family's user bits may be set, others are FL_E_ARG) and loads them as
 * fl_options_set_rdp does. RDP and write protection are kept. Nothing is
 * written when the loaded bits already match. confirm as for
 * fl_options_set_rdp.
 */
fl_err fl_options_write_user(fl_target *t, uint32_t user, const char *confirm);

/* ---- programming without the stub (loaders/direct.c) ------------------------
 *
 * Programs len bytes at addr (inside flash, aligned to the chip's program
 * unit; the range must be erased) by writing the flash controller and the
 * flash words over SWD: no stub, no SRAM, no running core. Slow (every
 * program unit costs its flash time plus the link), it is the fallback when
 * the stub cannot run. Unlocks the controller if needed, checks the error
 * flags after every burst and reads each burst back (FL_E_VERIFY).
 * F1 needs a probe with 16-bit memory access (V2 J26+ or V3): FL_E_PROBE
 * otherwise. progress (may be NULL) is called after every burst.
 */
fl_err fl_program_direct(fl_target *t, uint32_t addr, const uint8_t *data, size_t len,
                         fl_progress_fn progress, void *user);
/* Can this probe program this chip without the stub (F1/F0/F3 take only
 * half-word stores, which ST-LINK/V2 firmware before J26 cannot make)? */
bool fl_can_program_direct(const fl_target *t);
/* The CRC-32 of each item, computed here from flash read over SWD: the
 * check for a target whose loader cannot run. */
fl_err fl_crc32_list_direct(fl_target *t, fl_crc_item *items, size_t n);

#endif
