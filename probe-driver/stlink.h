/*
 * probe-driver: talking to ONE ST-LINK (V2, V2-1, V3) over libusb-1.0.
 *
 * Every call is synchronous; every USB transfer carries a timeout (the
 * handle's, 1000 ms unless pd_set_timeout() says otherwise), so a hung probe
 * blocks its caller for at most a few timeouts. Every fallible call returns a
 * pd_err and leaves a one-line message in the handle (pd_message()) that says
 * what happened and what to do, e.g.
 *   "probe 0670FF555654857567033520 stopped answering (GET_VERSION timed out
 *    after 1000 ms); try a USB reset".
 *
 * Protocol facts come from the public ST-LINK host implementations, and are
 * cited in the sources as S17 (stlink-org/stlink v1.7.0) and O12
 * (openocd-org/openocd v0.12.0).
 *
 * Threads and libusb context:
 *  - A pd_probe belongs to one thread at a time; the driver holds no global
 *    mutable state, so several handles may be used on several threads at once
 *    (the daemon runs one worker thread per probe).
 *  - The libusb_context is either the caller's (pass it to pd_create /
 *    pd_enumerate; it must outlive every handle made with it; libusb makes
 *    synchronous transfers on different handles of one context safe from
 *    different threads), or, with ctx == NULL, the handle creates its own and
 *    frees it in pd_destroy(). Nothing else is shared between handles.
 */
#ifndef FLASHLINE_PROBE_DRIVER_STLINK_H
#define FLASHLINE_PROBE_DRIVER_STLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* libusb's context, declared here so that users of the driver do not get
 * <libusb.h> with it (jobs/unit.h, loaders/flash.h); the callers that make
 * one include libusb.h themselves. */
struct libusb_context;

/* ---- errors ---------------------------------------------------------------- */

typedef enum pd_err {
    PD_OK = 0,
    PD_E_NOT_FOUND, /* no probe with that serial on the bus */
    PD_E_ACCESS,    /* no permission on the device node (udev rules) */
    PD_E_BUSY,      /* interface claimed by another program */
    PD_E_TIMEOUT,   /* a transfer timed out: the probe stopped answering */
    PD_E_GONE,      /* the probe was unplugged (or re-enumerated) */
    PD_E_PROTOCOL,  /* unexpected reply, unsupported firmware or command */
    PD_E_TARGET,    /* SWD/AP fault, refused access, target kept WAITing */
    PD_E_NO_TARGET, /* no target voltage or the target does not answer */
    PD_E_ARG,       /* bad argument: nothing was sent */
    PD_E_NOMEM,
    PD_E_USB,         /* any other libusb error */
    PD_E_UNSUPPORTED, /* the hardware cannot do it (hub without port power switching) */
} pd_err;

/* Short constant name ("PD_E_TIMEOUT"). */
const char *pd_err_name(pd_err e);

/* ---- discovery ----------------------------------------------------------------- */

#define PD_SERIAL_LEN 24
#define PD_VID        0x0483u

typedef enum pd_kind {
    PD_KIND_V2,   /* 0x3748 */
    PD_KIND_V2_1, /* 0x374A, 0x374B, 0x3752 */
    PD_KIND_V3,   /* 0x374D, 0x374E, 0x374F, 0x3753, 0x3754 */
} pd_kind;

const char *pd_kind_name(pd_kind k); /* "V2", "V2-1", "V3" */

typedef struct pd_probe_info {
    pd_kind kind;
    uint16_t vid, pid;
    char serial[PD_SERIAL_LEN + 1]; /* 24 upper-case hex characters */
    uint8_t bus, address;
} pd_probe_info;

/* Is this VID:PID an ST-LINK the driver speaks to? Sets *kind if so. */
bool pd_is_stlink(uint16_t vid, uint16_t pid, pd_kind *kind);

/*
 * Lists the ST-LINKs on the bus: fills up to max entries of out and sets
 * *count to how many were found (may exceed max). Probes whose serial cannot
 * be read (no permission, unplugged meanwhile) are skipped. ctx may be NULL
 * (a temporary context is used). msg (may be NULL) receives the reason of a
 * failure.
 */
pd_err pd_enumerate(struct libusb_context *ctx, pd_probe_info *out, size_t max, size_t *count,
                    char *msg, size_t msglen);

/*
 * Turns a raw iSerial string descriptor into the 24-character serial:
 * bLength 50 = 24 UTF-16 characters; bLength 26 = old ST-LINK/V2 firmware's
 * 12 raw bytes, printed as upper-case hex (S17 stlink_serial; O12
 * stlink_usb_get_alternate_serial). Returns false for other forms.
 */
bool pd_decode_serial(const uint8_t *desc, size_t len, char out[PD_SERIAL_LEN + 1]);

/* ---- the handle ------------------------------------------------------------------ */

typedef struct pd_probe pd_probe;

typedef enum pd_api { PD_API_V1 = 1, PD_API_V2 = 2, PD_API_V3 = 3 } pd_api;

typedef struct pd_version {
    uint8_t stlink; /* V */
    uint8_t jtag;   /* J: SWD/JTAG firmware version (0 = SWIM-only firmware) */
    uint8_t swim;   /* S (V2, V3) */
    uint8_t msd;    /* M: mass-storage version (V2-1, V3) */
    uint8_t bridge; /* B (V3) */
    uint16_t vid, pid;
    pd_api api;
} pd_version;

/* Modes as GET_CURRENT_MODE reports them (S17/O12 STLINK_DEV_*_MODE). */
enum { PD_MODE_DFU = 0, PD_MODE_MASS = 1, PD_MODE_DEBUG = 2, PD_MODE_SWIM = 3, PD_MODE_BOOT = 4 };

#define PD_DEFAULT_TIMEOUT_MS 1000u

/* A handle for the probe with this serial (24 hex characters, any case). No
 * USB traffic yet. ctx: see the header comment. */
pd_err pd_create(struct libusb_context *ctx, const char *serial, pd_probe **out);
/* Closes (see pd_close) and frees everything, the owned context included. */
void pd_destroy(pd_probe *p);

/* The last error's message ("" after success). Valid until the next call. */
const char *pd_message(const pd_probe *p);
const char *pd_serial(const pd_probe *p);
/* Timeout of every single USB transfer; 0 restores the default. */
void pd_set_timeout(pd_probe *p, unsigned ms);
unsigned pd_timeout(const pd_probe *p);

/*
 * Finds the probe by serial, opens and claims interface 0, reads the
 * firmware version (F1; V3: FB) and picks the API, and leaves DFU/SWIM mode.
 * Does not touch the target. Opening an open handle re-opens it.
 */
pd_err pd_open(pd_probe *p);
/* Leaves debug mode if (and only if) the probe says it is in it, releases the
 * interface and closes the device. Skips talking to a probe that timed out or
 * is gone. The handle can be opened again. */
void pd_close(pd_probe *p);
bool pd_is_open(const pd_probe *p);
/* Close, then open (and enter SWD again if it was connected). */
pd_err pd_reopen(pd_probe *p);
/*
 * USB reset (libusb_reset_device). If the probe re-enumerated
 * (LIBUSB_ERROR_NOT_FOUND) or the handle died, find it again by serial,
 * polling the bus for up to ~3 s (its address may change). Then the version
 * is read again and, if SWD was entered before, SWD is entered again with the
 * same clock. Works on a handle that is not open: the device is found by
 * serial (no command sent: its firmware may be the reason the open failed)
 * and reset all the same.
 */
pd_err pd_usb_reset(pd_probe *p);
/*
 * The recovery step after a USB reset: power-cycle the hub port the probe
 * is plugged into, for firmware so hung that a bus reset does not reach it.
 * Writes 1, then after 500 ms 0, to the port's sysfs "disable" attribute
 * (Linux 4.13+, Documentation/ABI/testing/sysfs-bus-usb), found from the
 * bus and port numbers libusb reports, e.g.
 * /sys/bus/usb/devices/1-1:1.0/1-1-port3/disable for device 1-1.3. Then
 * finds the probe again by serial (polling up to ~5 s; it comes back under a
 * new address) and reopens it as pd_usb_reset does, SWD included. Works on
 * a handle that is not open: the port is the one the probe was last seen
 * on, or else found through sysfs by serial without talking to the probe.
 * PD_E_UNSUPPORTED: the port has no "disable" attribute (a hub without
 * per-port power switching, or an old kernel); nothing was changed.
 * PD_E_ACCESS: the attribute is not writable (udev rules); nothing changed.
 */
pd_err pd_port_power_cycle(pd_probe *p);

/* What the handle knows (valid after pd_open). */
const pd_probe_info *pd_info(const pd_probe *p);
const pd_version *pd_get_version(const pd_probe *p);

/* Transfer limits the driver uses for this probe (valid after pd_open). */
typedef struct pd_limits {
    unsigned read32_max;  /* bytes per READMEM_32BIT */
    unsigned write32_max; /* bytes per WRITEMEM_32BIT */
    unsigned rw8_max;     /* bytes per READ/WRITEMEM_8BIT */
    bool has_mem16;       /* READ/WRITEMEM_16BIT */
    bool has_rw_status2;  /* GETLASTRWSTATUS2 */
    bool has_voltage;     /* GET_TARGET_VOLTAGE */
    bool has_set_freq;    /* SWD clock can be set */
    bool has_ap_init;     /* INIT_AP: memory commands on another AP than 0 */
} pd_limits;
const pd_limits *pd_get_limits(const pd_probe *p);

/* ---- probe-level commands ------------------------------------------------------ */

pd_err pd_get_mode(pd_probe *p, uint8_t *mode);
/* Target voltage in mV (F7). A zero reference reading is PD_E_PROTOCOL. */
pd_err pd_target_voltage(pd_probe *p, unsigned *mv);

/*
 * SWD clock: khz == 0 means the fastest the probe allows; otherwise the
 * fastest supported clock not above khz (the slowest if none is). Applied at
 * once when SWD is entered, else at the next pd_enter_swd(). *actual_khz (may
 * be NULL) gets the clock chosen. Probes without a settable clock (V2 < J22)
 * stay at their 1800 kHz default.
 */
pd_err pd_set_swd_clock(pd_probe *p, unsigned khz, unsigned *actual_khz);
unsigned pd_swd_clock(const pd_probe *p); /* kHz in use (0 = not known yet) */

/* Sets the clock, then enters SWD debug mode (F2 30 A3) without a reset. */
pd_err pd_enter_swd(pd_probe *p);
/* Sends DEBUG_EXIT (F2 21) only if GET_CURRENT_MODE says DEBUG: STLINK-V3
 * firmware hangs when told to leave a mode it is not in. */
pd_err pd_leave_debug(pd_probe *p);

/* SW-DP IDCODE (F2 31), e.g. 0x1BA01477 on a Cortex-M3/M4. */
pd_err pd_idcode(pd_probe *p, uint32_t *idcode);

/* ---- memory ------------------------------------------------------------------------- */

/*
 * Target memory through the AHB-AP. pd_mem_read/pd_mem_write pick the widths:
 * 8-bit for unaligned heads and tails, 32-bit for the aligned middle, each in
 * the largest chunks the probe accepts; every memory command is followed by
 * the probe's last-R/W status, and a fault is PD_E_TARGET naming the address.
 * The _w variants force one access width (1, 2 or 4; addr and len must be
 * multiples of it; 2 needs V2 J26+ or V3).
 */
pd_err pd_mem_read(pd_probe *p, uint32_t addr, void *buf, size_t len);
pd_err pd_mem_write(pd_probe *p, uint32_t addr, const void *buf, size_t len);
pd_err pd_mem_read_w(pd_probe *p, unsigned width, uint32_t addr, void *buf, size_t len);
pd_err pd_mem_write_w(pd_probe *p, unsigned width, uint32_t addr, const void *buf, size_t len);

/* One 32-bit word through READ/WRITEDEBUGREG (F2 36 / F2 35): debug
 * registers and any other aligned word. */
pd_err pd_read32(pd_probe *p, uint32_t addr, uint32_t *v);
pd_err pd_write32(pd_probe *p, uint32_t addr, uint32_t v);

/* ---- core ----------------------------------------------------------------------------- */

/* Core register by DCRSR REGSEL (0-15 R0-R15, 16 xPSR, 17 MSP, 18 PSP,
 * 20 CONTROL/FAULTMASK/BASEPRI/PRIMASK; O12 armv7m.h). The core must be
 * halted. */
enum { PD_REG_SP = 13, PD_REG_LR = 14, PD_REG_PC = 15, PD_REG_XPSR = 16, PD_REG_MSP = 17 };
pd_err pd_read_reg(pd_probe *p, unsigned regsel, uint32_t *v);
pd_err pd_write_reg(pd_probe *p, unsigned regsel, uint32_t v);

#define PD_DHCSR        0xE000EDF0u
#define PD_DEMCR        0xE000EDFCu
#define PD_AIRCR        0xE000ED0Cu
#define PD_DFSR         0xE000ED30u
#define PD_DHCSR_C_HALT (1u << 1)
#define PD_DHCSR_S_HALT (1u << 17)
#define PD_DHCSR_S_RST  (1u << 25) /* S_RESET_ST, sticky, cleared by reading */

/* DHCSR as it reads now (note: reading clears S_RESET_ST). */
pd_err pd_dhcsr(pd_probe *p, uint32_t *dhcsr);
/* Halt and wait for S_HALT; run (C_HALT cleared, debug stays enabled);
 * one instruction step, waiting for S_HALT again. */
pd_err pd_halt(pd_probe *p);
pd_err pd_run(pd_probe *p);
pd_err pd_step(pd_probe *p);
/* System reset through AIRCR.SYSRESETREQ; with halt, DEMCR.VC_CORERESET
 * catches the core at its reset vector (checked through S_HALT). */
pd_err pd_reset(pd_probe *p, bool halt);

typedef enum pd_nrst { PD_NRST_LOW = 0, PD_NRST_HIGH = 1, PD_NRST_PULSE = 2 } pd_nrst;
pd_err pd_drive_nrst(pd_probe *p, pd_nrst how);
/* NRST low, enter SWD, C_DEBUGEN|C_HALT and VC_CORERESET, release NRST,
 * check that the core halted. For targets whose firmware disables SWD. */
pd_err pd_connect_under_reset(pd_probe *p);

#endif
