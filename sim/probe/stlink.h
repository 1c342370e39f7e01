/*
 * sim/probe: the firmware of an ST-LINK/V2, V2-1 or V3 probe as the host
 * sees it over USB, wired to one virtual board (sim/target).
 *
 * The engine is USB-agnostic and pure C: the virtual USB bus hands it the
 * host's bulk OUT transfers (stlink_probe_out) and asks it for bulk IN data
 * (stlink_probe_in). It speaks the ST-LINK command set that stlink-tools
 * 1.7.0 (st-info, st-flash) and OpenOCD 0.12 (hla stlink driver) send
 * (S17 = stlink-org/stlink v1.7.0, O12 = openocd-org/openocd v0.12.0); see
 * the comments in stlink.c, which cite
 * the source of every protocol fact.
 *
 * Threading: a probe and its board belong to one thread (the board's rule,
 * see board.h). The engine itself never sleeps, but it moves the board's
 * clock with sim_board_advance(), which paces wall time when the board's
 * speed factor is > 0: if the USB layer sleeps cost * speed itself (from
 * stlink_probe_last_cost_ns()), create the board with speed 0, or the wait
 * happens twice.
 */
#ifndef FLASHLINE_SIM_PROBE_STLINK_H
#define FLASHLINE_SIM_PROBE_STLINK_H

#include "board.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum stlink_kind { STLINK_V2, STLINK_V2_1, STLINK_V3 } stlink_kind;

typedef struct stlink_probe stlink_probe;

#define STLINK_VID        0x0483u
#define STLINK_SERIAL_LEN 24

/* serial: 24 upper-case hex characters (S17 stlink_open_usb only keeps
 * probes whose serial has exactly 24 characters). board may be NULL: no
 * target wired. Returns NULL on a bad kind or serial, or out of memory. */
stlink_probe *stlink_probe_new(stlink_kind kind, const char *serial, sim_board *board);
void stlink_probe_free(stlink_probe *p);

/* ---- USB identity, for the descriptors the USB layer builds -------------- */

stlink_kind stlink_probe_kind(const stlink_probe *p);
const char *stlink_probe_serial(const stlink_probe *p);
uint16_t stlink_probe_pid(const stlink_probe *p);        /* 0x3748 / 0x374B / 0x374F */
uint8_t stlink_probe_ep_out(const stlink_probe *p);      /* 0x02 (V2) or 0x01 */
uint8_t stlink_probe_ep_in(const stlink_probe *p);       /* 0x81 for all */
uint8_t stlink_probe_ep_trace(const stlink_probe *p);    /* 0x83 (V2) or 0x82 */
uint16_t stlink_probe_max_packet(const stlink_probe *p); /* 64 FS, 512 HS (V3) */

/* Rewire the probe to another board (or NULL). An NRST the probe was
 * driving low on the old board is released first. */
void stlink_probe_attach(stlink_probe *p, sim_board *board);
sim_board *stlink_probe_board(const stlink_probe *p);

/* ---- transfers ------------------------------------------------------------ */

/*
 * Host -> probe bulk OUT transfer: a 16-byte command, or (part of) the data
 * phase of a write command. A data phase may arrive in several transfers,
 * or in the same transfer right after its command. Returns 0, or -1 if the
 * transfer is rejected: shorter than a command while no data phase is due,
 * longer than the command plus its data phase (a rejected transfer changes
 * nothing), or the probe is wedged and its endpoint full: a wedged probe
 * accepts (and ignores) the first OUT after the wedge, then rejects every
 * OUT until stlink_probe_usb_reset(), as a hung firmware's endpoint NAKs
 * once nobody empties it. The USB layer should let a rejected transfer
 * pend until the host's timeout rather than stall it.
 */
int stlink_probe_out(stlink_probe *p, const uint8_t *data, size_t len);
/*
 * Probe -> host bulk IN transfer of up to maxlen bytes: copies the pending
 * reply (the whole reply of the last command, or its next part) and returns
 * the number of bytes copied; -1 when nothing is pending (the host's
 * transfer stays pending and times out). A new command drops whatever part
 * of the previous reply was not read.
 */
int stlink_probe_in(stlink_probe *p, uint8_t *buf, size_t maxlen);
bool stlink_probe_reply_pending(const stlink_probe *p);
/* Bytes of a write command's data phase still expected (0 = none due). */
size_t stlink_probe_data_due(const stlink_probe *p);

/*
 * Virtual nanoseconds the last command cost end to end at speed 1: USB
 * transfer time plus SWD time plus any bus stall the target imposed (busy
 * flash). The engine has already let the board's clock move by this much
 * (sim_board_advance), so a core it let run keeps running meanwhile; the USB
 * layer sleeps cost * speed of wall time. The model is described in
 * stlink.c ("Timing model").
 */
uint64_t stlink_probe_last_cost_ns(const stlink_probe *p);
/* Let idle time pass on the board (host think time between commands, e.g.
 * st-flash's 10 ms sleeps while it polls a flash loader). */
void stlink_probe_idle(stlink_probe *p, uint64_t ns);

/* ---- state, for the line controller and tests ---------------------------- */

/* Current mode as GET_CURRENT_MODE reports it: 0 DFU, 1 mass storage,
 * 2 debug (S17 stlink.h STLINK_DEV_*_MODE; O12 STLINK_DEV_*_MODE). */
uint8_t stlink_probe_mode(const stlink_probe *p);
/* SWD clock in kHz as last set by SWD_SET_FREQ / SET_COM_FREQ. */
uint32_t stlink_probe_swd_khz(const stlink_probe *p);
bool stlink_probe_wedged(const stlink_probe *p);
/* Flash-loader runs seen since the probe was created, and how many of them
 * were made to fail (see stlink_probe_loader_fail). */
unsigned stlink_probe_loader_runs(const stlink_probe *p);
unsigned stlink_probe_loader_failures(const stlink_probe *p);

/* ---- faults the line controller injects ---------------------------------- */

/* The firmware hangs until stlink_probe_usb_reset(): one more OUT transfer
 * is accepted, later ones are rejected (-1), IN never answers. */
void stlink_probe_wedge(stlink_probe *p);
/* USB bus reset: the firmware restarts (mode back to what it is after
 * plug-in, default SWD clock, no pending transfers, wedge cleared). The
 * board is untouched, except that an NRST the probe drove low is released
 * (its pin goes back to input as the firmware boots). */
void stlink_probe_usb_reset(stlink_probe *p);
/*
 * A hard hang (seen on ST-LINK/V2 clones): the firmware stops with its
 * interrupts masked, so not even a USB bus reset reaches it; it behaves as
 * stlink_probe_wedge() and stlink_probe_usb_reset() changes nothing. Only
 * removing its power (stlink_probe_power_on() after an unplug or a hub
 * port power cycle) restarts it. The USB layer also makes such a probe
 * fail enumeration after a bus reset: its EP0 is never re-armed.
 */
void stlink_probe_wedge_hard(stlink_probe *p);
bool stlink_probe_hard_wedged(const stlink_probe *p);
/* Power-on of the probe (plug-in, hub port power back on): the firmware
 * boots as after stlink_probe_usb_reset() and any hang, hard or not, is
 * gone. Configured faults (stlink_probe_loader_fail) stay as set: they
 * model the line, not the firmware's RAM. */
void stlink_probe_power_on(stlink_probe *p);

/*
 * Flash-loader failure (stlink issues #607, #1054, #356). A flash-loader
 * run is the host letting a halted core run (DHCSR written with DBGKEY,
 * C_DEBUGEN set, C_HALT and C_STEP clear, through WRITEDEBUGREG, a 32-bit
 * memory write, or RUNCORE) while the core's PC is in SRAM. A failing run
 * makes the core take a bus fault at once (sim_board_fault_now): it ends in
 * HardFault, or locks up when the vector table is erased, and never reaches
 * its BKPT. ONCE fails the next run only. ALTERNATE works per debug
 * session (from entering debug mode until leaving it or a USB reset): every
 * loader run of the first session after it is set fails, all runs of the
 * second work, and so on, so every other st-flash invocation fails as users
 * reported. ALWAYS fails all.
 */
typedef enum stlink_loader_fail {
    LOADER_FAIL_NONE,
    LOADER_FAIL_ONCE,
    LOADER_FAIL_ALTERNATE,
    LOADER_FAIL_ALWAYS
} stlink_loader_fail;
void stlink_probe_loader_fail(stlink_probe *p, stlink_loader_fail mode);

#endif
