/*
 * probe-driver: the USB side. Discovery by serial, open/claim, the bulk
 * command/reply transport with a timeout on every transfer, USB reset and
 * re-finding a re-enumerated probe.
 *
 * Sources (the public projects each fact was read from):
 *   S17 = stlink-org/stlink v1.7.0 src/stlink-lib/usb.c (stlink_open_usb,
 *         stlink_serial, send_recv)
 *   O12 = openocd-org/openocd v0.12.0 src/jtag/drivers/stlink_usb.c
 *         (stlink_usb_usb_open, stlink_usb_get_alternate_serial)
 */
#include "pd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* How long pd_usb_reset looks for a probe that re-enumerated, and how
 * often. A real ST-LINK is back on the bus within ~1 s of a reset (O12 waits
 * 1 s before reopening after a reset). */
#define REFIND_MS      3000u
#define REFIND_POLL_MS 50u
/* String-descriptor reads while enumerating (no handle yet). */
#define ENUM_TIMEOUT_MS 1000u

/* ---- small things ------------------------------------------------------------- */

void pd_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

uint64_t pd_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const char *pd_err_name(pd_err e)
{
    switch (e) {
    case PD_OK:
        return "PD_OK";
    case PD_E_NOT_FOUND:
        return "PD_E_NOT_FOUND";
    case PD_E_ACCESS:
        return "PD_E_ACCESS";
    case PD_E_BUSY:
        return "PD_E_BUSY";
    case PD_E_TIMEOUT:
        return "PD_E_TIMEOUT";
    case PD_E_GONE:
        return "PD_E_GONE";
    case PD_E_PROTOCOL:
        return "PD_E_PROTOCOL";
    case PD_E_TARGET:
        return "PD_E_TARGET";
    case PD_E_NO_TARGET:
        return "PD_E_NO_TARGET";
    case PD_E_ARG:
        return "PD_E_ARG";
    case PD_E_NOMEM:
        return "PD_E_NOMEM";
    case PD_E_USB:
        return "PD_E_USB";
    case PD_E_UNSUPPORTED:
        return "PD_E_UNSUPPORTED";
    }
    return "PD_E_?";
}

const char *pd_kind_name(pd_kind k)
{
    switch (k) {
    case PD_KIND_V2:
        return "V2";
    case PD_KIND_V2_1:
        return "V2-1";
    case PD_KIND_V3:
        return "V3";
    }
    return "?";
}

pd_err pd_fail(pd_probe *p, pd_err e, const char *fmt, ...)
{
    int n = snprintf(p->msg, sizeof p->msg, "probe %s ", p->serial);
    if (n < 0 || (size_t)n >= sizeof p->msg)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg + n, sizeof p->msg - (size_t)n, fmt, ap);
    va_end(ap);
    return e;
}

void pd_clear_msg(pd_probe *p)
{
    p->msg[0] = '\0';
}

static void say(char *msg, size_t msglen, const char *fmt, const char *arg)
{
    if (msg && msglen)
        snprintf(msg, msglen, fmt, arg);
}

/* ---- identity ---------------------------------------------------------------------- */

bool pd_is_stlink(uint16_t vid, uint16_t pid, pd_kind *kind)
{
    if (vid != PD_VID)
        return false;
    pd_kind k;
    /* PIDs: S17 src/stlink-lib/usb.h, O12 stlink_usb.c PID defines. 0x3744
     * (V1, SCSI framing) is not supported; 0x3755/0x3757 (V3PWR) are not in
     * O12 0.12.0 either. 0x374A (S17 "32L_AUDIO") uses V2-1 endpoints. */
    switch (pid) {
    case 0x3748:
        k = PD_KIND_V2;
        break;
    case 0x374A:
    case 0x374B:
    case 0x3752:
        k = PD_KIND_V2_1;
        break;
    case 0x374D:
    case 0x374E:
    case 0x374F:
    case 0x3753:
    case 0x3754:
        k = PD_KIND_V3;
        break;
    default:
        return false;
    }
    if (kind)
        *kind = k;
    return true;
}

bool pd_decode_serial(const uint8_t *desc, size_t len, char out[PD_SERIAL_LEN + 1])
{
    static const char hex[] = "0123456789ABCDEF";
    if (len < 2 || desc[1] != LIBUSB_DT_STRING || desc[0] > len)
        return false;
    if (desc[0] == 2 + 2 * PD_SERIAL_LEN) {
        /* 24 UTF-16LE characters; S17 then keeps only 24-character serials. */
        for (size_t i = 0; i < PD_SERIAL_LEN; i++) {
            uint8_t lo = desc[2 + 2 * i], hi = desc[3 + 2 * i];
            if (hi != 0 || lo < 0x20 || lo > 0x7E)
                return false;
            out[i] = (char)((lo >= 'a' && lo <= 'z') ? lo - 'a' + 'A' : lo);
        }
        out[PD_SERIAL_LEN] = '\0';
        return true;
    }
    if (desc[0] == 2 + PD_SERIAL_LEN) {
        /* Old ST-LINK/V2 firmware: 12 raw bytes as UTF-16 code units; both
         * tools print the low byte of each as two upper-case hex digits
         * (S17 stlink_serial; O12 stlink_usb_get_alternate_serial). */
        for (size_t i = 0; i < PD_SERIAL_LEN / 2; i++) {
            uint8_t b = desc[2 + 2 * i];
            out[2 * i] = hex[b >> 4];
            out[2 * i + 1] = hex[b & 0xF];
        }
        out[PD_SERIAL_LEN] = '\0';
        return true;
    }
    return false;
}

/* Read the serial with explicit control transfers, so that they carry our
 * timeout (libusb_get_string_descriptor_ascii has its own 1 s). Returns a
 * libusb error code, or 1 if the descriptor is not an ST-LINK serial. */
static int read_serial(libusb_device_handle *h, uint8_t iserial, unsigned timeout_ms,
                       char out[PD_SERIAL_LEN + 1])
{
    uint8_t buf[255];
    if (iserial == 0)
        return 1;
    /* String descriptor 0: the LANGID list (S17 reads bytes 2-3). */
    int r = libusb_control_transfer(h, LIBUSB_ENDPOINT_IN, LIBUSB_REQUEST_GET_DESCRIPTOR,
                                    LIBUSB_DT_STRING << 8, 0, buf, sizeof buf, timeout_ms);
    if (r < 0)
        return r;
    if (r < 4)
        return 1;
    uint16_t langid = (uint16_t)(buf[2] | buf[3] << 8);
    r = libusb_control_transfer(h, LIBUSB_ENDPOINT_IN, LIBUSB_REQUEST_GET_DESCRIPTOR,
                                (uint16_t)(LIBUSB_DT_STRING << 8 | iserial), langid, buf,
                                sizeof buf, timeout_ms);
    if (r < 0)
        return r;
    return pd_decode_serial(buf, (size_t)r, out) ? 0 : 1;
}

static void fill_info(libusb_device *dev, const struct libusb_device_descriptor *d, pd_kind kind,
                      const char *serial, pd_probe_info *info)
{
    memset(info, 0, sizeof *info);
    info->kind = kind;
    info->vid = d->idVendor;
    info->pid = d->idProduct;
    memcpy(info->serial, serial, PD_SERIAL_LEN + 1);
    info->bus = libusb_get_bus_number(dev);
    info->address = libusb_get_device_address(dev);
}

pd_err pd_enumerate(libusb_context *ctx, pd_probe_info *out, size_t max, size_t *count, char *msg,
                    size_t msglen)
{
    if (!count || (max && !out)) {
        say(msg, msglen, "%s", "pd_enumerate: count is NULL or out is NULL with max > 0");
        return PD_E_ARG;
    }
    *count = 0;
    libusb_context *own = NULL;
    if (!ctx) {
        int r = libusb_init(&own);
        if (r != 0) {
            say(msg, msglen, "libusb_init failed: %s", libusb_error_name(r));
            return PD_E_USB;
        }
        ctx = own;
    }
    libusb_device **list = NULL;
    ssize_t n = libusb_get_device_list(ctx, &list);
    if (n < 0) {
        say(msg, msglen, "cannot list USB devices: %s", libusb_error_name((int)n));
        if (own)
            libusb_exit(own);
        return PD_E_USB;
    }
    size_t found = 0;
    for (ssize_t i = 0; i < n; i++) {
        struct libusb_device_descriptor d;
        pd_kind kind;
        libusb_device_handle *h = NULL;
        char serial[PD_SERIAL_LEN + 1];
        if (libusb_get_device_descriptor(list[i], &d) != 0 ||
            !pd_is_stlink(d.idVendor, d.idProduct, &kind))
            continue;
        if (libusb_open(list[i], &h) != 0)
            continue; /* no permission or gone meanwhile: skipped (documented) */
        int r = read_serial(h, d.iSerialNumber, ENUM_TIMEOUT_MS, serial);
        libusb_close(h);
        if (r != 0)
            continue;
        if (found < max)
            fill_info(list[i], &d, kind, serial, &out[found]);
        found++;
    }
    libusb_free_device_list(list, 1);
    if (own)
        libusb_exit(own);
    *count = found;
    if (msg && msglen)
        msg[0] = '\0';
    return PD_OK;
}

/* ---- the handle ---------------------------------------------------------------------- */

static bool serial_ok(const char *s)
{
    if (!s || strlen(s) != PD_SERIAL_LEN)
        return false;
    return strspn(s, "0123456789abcdefABCDEF") == PD_SERIAL_LEN;
}

pd_err pd_create(libusb_context *ctx, const char *serial, pd_probe **out)
{
    if (!out)
        return PD_E_ARG;
    *out = NULL;
    if (!serial_ok(serial))
        return PD_E_ARG;
    pd_probe *p = calloc(1, sizeof *p);
    if (!p)
        return PD_E_NOMEM;
    for (size_t i = 0; i < PD_SERIAL_LEN; i++) {
        char c = serial[i];
        p->serial[i] = (char)((c >= 'a' && c <= 'f') ? c - 'a' + 'A' : c);
    }
    p->timeout_ms = PD_DEFAULT_TIMEOUT_MS;
    if (ctx) {
        p->ctx = ctx;
    } else {
        if (libusb_init(&p->ctx) != 0) {
            free(p);
            return PD_E_USB;
        }
        p->own_ctx = true;
    }
    *out = p;
    return PD_OK;
}

void pd_destroy(pd_probe *p)
{
    if (!p)
        return;
    pd_close(p);
    if (p->own_ctx)
        libusb_exit(p->ctx);
    free(p);
}

const char *pd_message(const pd_probe *p)
{
    return p ? p->msg : "no probe handle";
}

const char *pd_serial(const pd_probe *p)
{
    return p->serial;
}

void pd_set_timeout(pd_probe *p, unsigned ms)
{
    p->timeout_ms = ms ? ms : PD_DEFAULT_TIMEOUT_MS;
}

unsigned pd_timeout(const pd_probe *p)
{
    return p->timeout_ms;
}

bool pd_is_open(const pd_probe *p)
{
    return p->h != NULL;
}

const pd_probe_info *pd_info(const pd_probe *p)
{
    return &p->info;
}

const pd_version *pd_get_version(const pd_probe *p)
{
    return &p->ver;
}

const pd_limits *pd_get_limits(const pd_probe *p)
{
    return &p->lim;
}

unsigned pd_swd_clock(const pd_probe *p)
{
    return p->swd_khz;
}

pd_err pd_usb_fail(pd_probe *p, const char *what, int r)
{
    switch (r) {
    case LIBUSB_ERROR_TIMEOUT:
        p->unhealthy = true;
        return pd_fail(p, PD_E_TIMEOUT,
                       "stopped answering (%s timed out after %u ms); try a USB reset", what,
                       p->timeout_ms);
    case LIBUSB_ERROR_NO_DEVICE:
    case LIBUSB_ERROR_NOT_FOUND:
        p->unhealthy = true;
        return pd_fail(p, PD_E_GONE,
                       "is gone from USB (%s: %s); it was unplugged or re-enumerated: replug it, "
                       "then reopen it by serial",
                       what, libusb_error_name(r));
    case LIBUSB_ERROR_ACCESS:
        return pd_fail(p, PD_E_ACCESS,
                       "cannot be accessed (%s: permission denied); install the udev rules "
                       "(deploy/) or run as a member of the flashline group",
                       what);
    case LIBUSB_ERROR_BUSY:
        return pd_fail(p, PD_E_BUSY,
                       "is in use by another program (%s: interface busy); stop st-util/openocd "
                       "or the other flashline worker using it",
                       what);
    case LIBUSB_ERROR_NO_MEM:
        return pd_fail(p, PD_E_NOMEM, "%s: out of memory", what);
    case LIBUSB_ERROR_PIPE:
    case LIBUSB_ERROR_OVERFLOW:
        p->unhealthy = true;
        return pd_fail(p, PD_E_PROTOCOL, "garbled %s (%s); try a USB reset", what,
                       libusb_error_name(r));
    default:
        p->unhealthy = true;
        return pd_fail(p, PD_E_USB, "USB error during %s (%s); try a USB reset or replug it", what,
                       libusb_error_name(r));
    }
}

/* Per-transfer timeout for a data phase of len bytes: the base timeout plus
 * the SWD time the probe needs to move the data (~48 clocks per word, see
 * sim/probe/stlink.c's timing model and ADIv5.2 B4.2), so a slow clock does
 * not turn a long transfer into a false timeout. */
static unsigned data_timeout(const pd_probe *p, size_t len)
{
    unsigned khz = p->swd_khz ? p->swd_khz : 1800u;
    uint64_t extra = ((uint64_t)len / 4u + 1u) * 48u / khz;
    uint64_t t = p->timeout_ms + extra;
    return t > 600000u ? 600000u : (unsigned)t;
}

pd_err pd_xfer(pd_probe *p, const char *name, const uint8_t cmd[PD_CMD_SIZE], const uint8_t *out,
               size_t out_len, uint8_t *in, size_t in_len)
{
    if (!p->h)
        return pd_fail(p, PD_E_ARG, "is not open (%s); call pd_open first", name);
    int got = 0;
    /* Command and data phase are separate OUT transfers; the probe sizes the
     * data phase from the command's length field (neither S17 nor O12 sends
     * zero-length packets). */
    int r = libusb_bulk_transfer(p->h, p->ep_out, (unsigned char *)cmd, PD_CMD_SIZE, &got,
                                 p->timeout_ms);
    if (r == 0 && got != PD_CMD_SIZE)
        r = LIBUSB_ERROR_IO;
    if (r != 0)
        return pd_usb_fail(p, name, r);
    if (out_len) {
        r = libusb_bulk_transfer(p->h, p->ep_out, (unsigned char *)out, (int)out_len, &got,
                                 data_timeout(p, out_len));
        if (r == 0 && (size_t)got != out_len)
            r = LIBUSB_ERROR_IO;
        if (r != 0)
            return pd_usb_fail(p, name, r);
    }
    if (in_len) {
        /* Ask for exactly the reply's length: a probe sending more than asked
         * is a libusb OVERFLOW (O12's async path fails it too). */
        r = libusb_bulk_transfer(p->h, p->ep_in, in, (int)in_len, &got, data_timeout(p, in_len));
        if (r != 0)
            return pd_usb_fail(p, name, r);
        if ((size_t)got != in_len) {
            p->unhealthy = true;
            return pd_fail(p, PD_E_PROTOCOL,
                           "sent a short reply to %s (%d of %zu bytes); try a USB reset", name, got,
                           in_len);
        }
    }
    return PD_OK;
}

/* ---- open / close -------------------------------------------------------------------- */

void pd_note_port(pd_probe *p, libusb_device *dev)
{
    int n = libusb_get_port_numbers(dev, p->port_path, (int)sizeof p->port_path);
    p->port_bus = libusb_get_bus_number(dev);
    p->port_depth = n > 0 ? n : 0;
}

/* Find the probe by serial and open it. Returns PD_OK with p->h and p->info
 * set, or an error with a message. */
pd_err pd_find_and_open(pd_probe *p)
{
    libusb_device **list = NULL;
    ssize_t n = libusb_get_device_list(p->ctx, &list);
    if (n < 0)
        return pd_fail(p, PD_E_USB, "cannot be looked for: listing USB devices failed (%s)",
                       libusb_error_name((int)n));
    int access_err = 0;
    unsigned seen = 0;
    for (ssize_t i = 0; i < n && !p->h; i++) {
        struct libusb_device_descriptor d;
        pd_kind kind;
        libusb_device_handle *h = NULL;
        char serial[PD_SERIAL_LEN + 1];
        if (list[i] == p->dead || libusb_get_device_descriptor(list[i], &d) != 0 ||
            !pd_is_stlink(d.idVendor, d.idProduct, &kind))
            continue;
        seen++;
        int r = libusb_open(list[i], &h);
        if (r != 0) {
            if (r == LIBUSB_ERROR_ACCESS)
                access_err = r;
            continue;
        }
        if (read_serial(h, d.iSerialNumber, p->timeout_ms, serial) == 0 &&
            strcmp(serial, p->serial) == 0) {
            p->h = h;
            fill_info(list[i], &d, kind, serial, &p->info);
            pd_note_port(p, list[i]);
        } else {
            libusb_close(h);
        }
    }
    libusb_free_device_list(list, 1);
    if (p->h)
        return PD_OK;
    if (access_err)
        return pd_usb_fail(p, "open", access_err);
    return pd_fail(p, PD_E_NOT_FOUND,
                   "is not on USB (%u other ST-LINK%s seen); check its cable and hub, or replug it",
                   seen, seen == 1 ? "" : "s");
}

/* Claim interface 0 the way S17 stlink_open_usb does: detach a kernel
 * driver, select configuration 1 if another is active, claim. */
static pd_err claim(pd_probe *p)
{
    int r = libusb_kernel_driver_active(p->h, 0);
    if (r == 1) {
        r = libusb_detach_kernel_driver(p->h, 0);
        if (r != 0)
            return pd_usb_fail(p, "detach kernel driver", r);
    }
    int cfg = 0;
    r = libusb_get_configuration(p->h, &cfg);
    if (r != 0)
        return pd_usb_fail(p, "get configuration", r);
    if (cfg != 1) {
        r = libusb_set_configuration(p->h, 1);
        if (r != 0)
            return pd_usb_fail(p, "set configuration", r);
    }
    r = libusb_claim_interface(p->h, 0);
    if (r != 0)
        return pd_usb_fail(p, "claim interface 0", r);
    p->claimed = true;
    /* Endpoints by PID (S17 stlink_open_usb; O12 stlink_usb_usb_open): the
     * V1/V2 put commands on 0x02, V2-1 and V3 on 0x01; replies on 0x81. */
    p->ep_out = p->info.pid == 0x3748 ? 0x02 : 0x01;
    p->ep_in = 0x81;
    return PD_OK;
}

void pd_drop_handle(pd_probe *p)
{
    if (!p->h)
        return;
    if (p->claimed)
        libusb_release_interface(p->h, 0);
    p->claimed = false;
    libusb_close(p->h);
    p->h = NULL;
}

/* Open without touching the target: find, claim, version, idle modes. */
static pd_err open_probe(pd_probe *p)
{
    pd_err e = pd_find_and_open(p);
    if (e == PD_OK)
        e = claim(p);
    if (e == PD_OK) {
        p->unhealthy = false;
        p->in_swd = false;
        p->swd_khz = 0;
        e = pd_read_version(p);
    }
    if (e == PD_OK)
        e = pd_leave_idle_modes(p);
    if (e != PD_OK) {
        pd_drop_handle(p);
        return e;
    }
    pd_clear_msg(p);
    return PD_OK;
}

pd_err pd_open(pd_probe *p)
{
    if (!p)
        return PD_E_ARG;
    pd_close(p);
    p->want_swd = false; /* a fresh session */
    return open_probe(p);
}

void pd_close(pd_probe *p)
{
    if (!p || !p->h)
        return;
    /* Leave debug mode as both tools do at exit, but only when we entered
     * it and the probe still answers: pd_leave_debug asks for the mode
     * first, as STLINK-V3 hangs on an EXIT outside debug mode. */
    if (p->in_swd && !p->unhealthy) {
        char keep[PD_MSG_LEN];
        bool want = p->want_swd; /* pd_reopen restores the session */
        memcpy(keep, p->msg, sizeof keep);
        (void)pd_leave_debug(p);
        memcpy(p->msg, keep, sizeof keep);
        p->want_swd = want;
    }
    pd_drop_handle(p);
    p->in_swd = false;
}

/* Bring the link back after open: SWD again if it was entered. */
static pd_err restore_session(pd_probe *p, bool was_swd)
{
    if (!was_swd)
        return PD_OK;
    return pd_enter_swd(p);
}

pd_err pd_reopen(pd_probe *p)
{
    if (!p)
        return PD_E_ARG;
    bool was_swd = p->want_swd;
    pd_close(p);
    pd_err e = open_probe(p);
    if (e == PD_OK)
        e = restore_session(p, was_swd);
    return e;
}

pd_err pd_usb_reset(pd_probe *p)
{
    if (!p)
        return PD_E_ARG;
    bool was_swd = p->want_swd;
    if (!p->h) {
        /* Not open, perhaps because the firmware hung during pd_open: find
         * the device without sending it a command, and reset it anyway. */
        pd_err e = pd_find_and_open(p);
        if (e != PD_OK)
            return e;
    }
    /* O12 stlink_usb_usb_open releases interface 0 before resetting. */
    if (p->claimed)
        libusb_release_interface(p->h, 0);
    p->claimed = false;
    int r = libusb_reset_device(p->h);
    pd_err e;
    if (r == 0) {
        /* Same device, same address: the handle is still good. The
         * firmware restarted: not in debug mode any more. */
        p->in_swd = false;
        p->unhealthy = false;
        p->swd_khz = 0;
        e = claim(p);
        if (e == PD_OK)
            e = pd_read_version(p);
        if (e == PD_OK)
            e = pd_leave_idle_modes(p);
        if (e == PD_OK)
            e = restore_session(p, was_swd);
        if (e == PD_OK)
            pd_clear_msg(p);
        return e;
    }
    /* LIBUSB_ERROR_NOT_FOUND: re-enumeration (the handle is dead); any other
     * failure: the handle is no use either. Find the probe again by serial;
     * it may take a moment to reappear, under a new address. */
    p->dead = libusb_ref_device(libusb_get_device(p->h));
    pd_drop_handle(p);
    char what[64];
    snprintf(what, sizeof what, "a USB reset (%s)", libusb_error_name(r));
    return pd_refind(p, was_swd, REFIND_MS, what, "replug it or power-cycle its hub port");
}

pd_err pd_refind(pd_probe *p, bool was_swd, unsigned within_ms, const char *what, const char *hint)
{
    uint8_t old_addr = p->info.address;
    p->in_swd = false;
    pd_err e;
    uint64_t end = pd_now_ms() + within_ms;
    do {
        e = open_probe(p);
        if (e == PD_OK || (e != PD_E_NOT_FOUND && e != PD_E_GONE))
            break;
        pd_sleep_ms(REFIND_POLL_MS);
    } while (pd_now_ms() < end);
    if (p->dead)
        libusb_unref_device(p->dead);
    p->dead = NULL;
    if (e == PD_E_NOT_FOUND || e == PD_E_GONE)
        return pd_fail(p, PD_E_NOT_FOUND,
                       "did not come back within %u ms of %s (was at address %u); %s", within_ms,
                       what, old_addr, hint);
    if (e == PD_OK)
        e = restore_session(p, was_swd);
    return e;
}
