/*
 * probe-driver internals shared by the room's .c files (not installed).
 */
#ifndef FLASHLINE_PROBE_DRIVER_INTERNAL_H
#define FLASHLINE_PROBE_DRIVER_INTERNAL_H

#include "stlink.h"

#include <libusb.h>

#include <stdarg.h>

#define PD_CMD_SIZE 16 /* S17 STLINK_CMD_SIZE; O12 STLINK_CMD_SIZE_V2 */
#define PD_MSG_LEN  320

/* ST-LINK status bytes (O12 stlink_usb.c STLINK_DEBUG_ERR_* / STLINK_SWD_*). */
#define ST_OK             0x80
#define ST_FAULT          0x81
#define ST_SWD_AP_WAIT    0x10
#define ST_SWD_DP_WAIT    0x14
#define ST_JTAG_VERIF_ERR 0x0D

struct pd_probe {
    libusb_context *ctx;
    bool own_ctx;
    char serial[PD_SERIAL_LEN + 1];
    unsigned timeout_ms;

    libusb_device_handle *h;
    bool claimed;
    uint8_t ep_out, ep_in;
    pd_probe_info info;
    pd_version ver;
    pd_limits lim;

    /* What the caller asked for, re-applied after a reopen or USB reset. */
    unsigned swd_khz_req; /* 0 = fastest */
    unsigned swd_khz;     /* in use, 0 = unknown */
    /* The AP whose bus holds the core and memory: 0, or 1 on parts whose
     * AP0 is a debug APB-AP (the STM32H5, RM0481 "Debug"). The firmware's
     * own register commands (READDEBUGREG, READREG...) work on AP0 only,
     * so on another AP everything goes through memory commands naming it
     * (found by pd_mem.c the first time AP0 faults on the core's PPB). */
    uint8_t mem_ap;
    bool ap_probed; /* this debug session already looked for the AP */
    bool in_swd;    /* we entered SWD and nothing reset the probe since */
    bool want_swd;  /* the caller entered SWD: pd_reopen/pd_usb_reset restore it */

    /* A transfer timed out or the device vanished: do not talk to it in
     * pd_close (it would only cost more timeouts). Cleared by a good open. */
    bool unhealthy;

    /* While re-finding after a USB reset: the dead device (a reference),
     * which libusb may still list until its hotplug monitor notices the
     * removal; opening its stale node only fails (and umockdev's preload
     * aborts the process on it). */
    libusb_device *dead;

    /* Where the probe was last seen: bus and port path as libusb reports
     * them (libusb_get_port_numbers; a USB tree is at most 7 tiers deep,
     * USB 2.0 4.1.1). port_depth 0 = not known. pd_port_power_cycle needs
     * it when the probe is off the bus. */
    uint8_t port_bus;
    uint8_t port_path[7];
    int port_depth;

    char msg[PD_MSG_LEN];
};

/* Format p->msg ("probe SERIAL " is prefixed) and return e. */
pd_err pd_fail(pd_probe *p, pd_err e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void pd_clear_msg(pd_probe *p);

/* ---- transport (pd_usb.c) ---- */

/* One command round trip: OUT cmd (16 bytes), then an optional OUT data
 * phase, then an optional IN reply of exactly in_len bytes (short replies are
 * PD_E_PROTOCOL). name is the command's name for messages. */
pd_err pd_xfer(pd_probe *p, const char *name, const uint8_t cmd[PD_CMD_SIZE], const uint8_t *out,
               size_t out_len, uint8_t *in, size_t in_len);
/* Map a libusb error of a transfer to pd_err with a message. */
pd_err pd_usb_fail(pd_probe *p, const char *what, int usb_err);

/* Find the probe by serial among the devices on the bus (not p->dead),
 * open it (no command sent) and note its info and port. */
pd_err pd_find_and_open(pd_probe *p);
/* Release interface 0 if claimed and close the device. */
void pd_drop_handle(pd_probe *p);
/* Note where dev sits (p->port_bus, p->port_path). */
void pd_note_port(pd_probe *p, libusb_device *dev);
/*
 * After the probe left the bus (a USB reset that re-enumerated it, a port
 * power cycle): find it again by serial, polling for up to within_ms and
 * skipping p->dead (released here), open it, read the version and enter SWD
 * again if was_swd. When it does not come back: PD_E_NOT_FOUND, "did not
 * come back within N ms of <what> (was at address A); <hint>".
 */
pd_err pd_refind(pd_probe *p, bool was_swd, unsigned within_ms, const char *what, const char *hint);

/* ---- commands (pd_cmd.c) ---- */

/* Status byte -> pd_err with message (what = command name). WAIT is not
 * handled here (see pd_cmd_status). */
pd_err pd_status_fail(pd_probe *p, const char *what, uint8_t status);
/* A command whose reply starts with a status byte, retried on WAIT
 * (0x10/0x14) with backoff 1, 2, 4, 8, 16 ms (O12 stlink_cmd_allow_retry). */
pd_err pd_cmd_status(pd_probe *p, const char *name, const uint8_t cmd[PD_CMD_SIZE], uint8_t *in,
                     size_t in_len);
/* Clear the DP's sticky error flags through ABORT (WRITE_DAP_REG to the DP,
 * J24+ or V3); PD_E_PROTOCOL when the firmware cannot. */
pd_err pd_clear_sticky(pd_probe *p);
/* The firmware version, API and limits (pd_open calls it). */
pd_err pd_read_version(pd_probe *p);
/* Leave DFU / SWIM mode after open. */
pd_err pd_leave_idle_modes(pd_probe *p);

/* GET_TARGET_VOLTAGE arithmetic; false for a zero reference reading. */
bool pd_voltage_from_reply(uint32_t factor, uint32_t reading, unsigned *mv);

void pd_sleep_ms(unsigned ms);
uint64_t pd_now_ms(void);

static inline void pd_put16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}

static inline void pd_put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

static inline uint32_t pd_get32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

#endif
