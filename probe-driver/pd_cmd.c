/*
 * probe-driver: probe-level commands. Version and API, modes, SWD entry and
 * clock, IDCODE, target voltage, and the status byte with its WAIT retry.
 *
 * Sources (the public projects each fact was read from):
 *   S17 = stlink-org/stlink v1.7.0: src/stlink-lib/usb.c, src/common.c
 *         (_parse_version), inc/stlink.h (SWD clock divisors)
 *   O12 = openocd-org/openocd v0.12.0: src/jtag/drivers/stlink_usb.c
 *         (stlink_usb_version, stlink_usb_error_check,
 *         stlink_cmd_allow_retry, stlink_usb_init_mode, stlink_speed_*)
 */
#include "pd_internal.h"

#include <stdio.h>
#include <string.h>

#define CMD_GET_VERSION    0xF1
#define CMD_DEBUG          0xF2
#define CMD_DFU            0xF3
#define CMD_SWIM           0xF4
#define CMD_GET_MODE       0xF5
#define CMD_GET_VOLTAGE    0xF7
#define CMD_GET_VERSION_EX 0xFB

#define DBG_EXIT           0x21
#define DBG_ENTER          0x30
#define DBG_READ_IDCODES   0x31
#define DBG_SWD_SET_FREQ   0x43
#define DBG_WRITE_DAP_REG  0x46
#define DBG_V3_SET_FREQ    0x61
#define DBG_V3_GET_FREQ    0x62
#define DFU_EXIT           0x07
#define SWIM_EXIT          0x01
#define ENTER_SWD_NO_RESET 0xA3

/* WAIT retries: O12 retries up to 8 times with 1, 2, 4 ... 128 ms; a
 * production line would rather climb its recovery ladder sooner, so five
 * tries (1+2+4+8 = 15 ms of backoff) before the WAIT is reported. */
#define WAIT_TRIES 5

static void cmd_init(uint8_t c[PD_CMD_SIZE], uint8_t c0, uint8_t c1)
{
    memset(c, 0, PD_CMD_SIZE);
    c[0] = c0;
    c[1] = c1;
}

static const char *status_name(uint8_t s)
{
    /* O12 stlink_usb.c STLINK_DEBUG_ERR_* and STLINK_SWD_* names. */
    switch (s) {
    case 0x80:
        return "OK";
    case 0x81:
        return "FAULT";
    case 0x10:
        return "AP WAIT";
    case 0x11:
        return "AP FAULT";
    case 0x12:
        return "AP ERROR";
    case 0x13:
        return "AP PARITY ERROR";
    case 0x14:
        return "DP WAIT";
    case 0x15:
        return "DP FAULT";
    case 0x16:
        return "DP ERROR";
    case 0x17:
        return "DP PARITY ERROR";
    case 0x18:
        return "AP WDATA ERROR";
    case 0x19:
        return "AP STICKY ERROR";
    case 0x1A:
        return "AP STICKY OVERRUN";
    case 0x1D:
        return "BAD AP";
    default:
        return "unknown status";
    }
}

pd_err pd_status_fail(pd_probe *p, const char *what, uint8_t s)
{
    const char *nm = status_name(s);
    switch (s) {
    case ST_FAULT:
        return pd_fail(p, PD_E_TARGET,
                       "refused %s (status 0x81 FAULT): the core is not halted or the probe is "
                       "not in SWD mode; halt the core or enter SWD first",
                       what);
    case ST_SWD_AP_WAIT:
    case ST_SWD_DP_WAIT:
        return pd_fail(p, PD_E_TARGET,
                       "%s: the target kept answering WAIT (status 0x%02X %s); reset the target "
                       "or lower the SWD clock",
                       what, s, nm);
    case 0x15:
    case 0x16:
    case 0x17:
        return pd_fail(p, PD_E_NO_TARGET,
                       "%s: the target does not answer on SWD (status 0x%02X %s); check target "
                       "power and the SWD cable, or connect under reset",
                       what, s, nm);
    case 0x11:
    case 0x12:
    case 0x13:
    case 0x18:
    case 0x19:
    case 0x1A:
    case 0x1D:
        return pd_fail(p, PD_E_TARGET,
                       "%s: SWD access fault (status 0x%02X %s); check the address, or reset "
                       "the target",
                       what, s, nm);
    default:
        return pd_fail(p, PD_E_PROTOCOL,
                       "%s: unexpected status 0x%02X; the firmware may be too old or the probe "
                       "confused: try a USB reset",
                       what, s);
    }
}

static bool is_wait(uint8_t s)
{
    return s == ST_SWD_AP_WAIT || s == ST_SWD_DP_WAIT;
}

pd_err pd_cmd_status(pd_probe *p, const char *name, const uint8_t cmd[PD_CMD_SIZE], uint8_t *in,
                     size_t in_len)
{
    unsigned backoff = 1;
    for (int attempt = 1;; attempt++) {
        pd_err e = pd_xfer(p, name, cmd, NULL, 0, in, in_len);
        if (e != PD_OK)
            return e;
        /* 0x0D (JTAG_WRITE_VERIF_ERROR) counts as OK in O12
         * stlink_usb_error_check. */
        if (in[0] == ST_OK || in[0] == ST_JTAG_VERIF_ERR)
            return PD_OK;
        if (!is_wait(in[0]) || attempt >= WAIT_TRIES)
            return pd_status_fail(p, name, in[0]);
        pd_sleep_ms(backoff);
        backoff *= 2;
    }
}

pd_err pd_clear_sticky(pd_probe *p)
{
    /* F2 46 port(0xFFFF = DP) addr(0 = ABORT) v32 -> 2 bytes status (O12
     * stlink_write_dap_register, J24+ or V3). ABORT bits 1-4: STKCMPCLR,
     * STKERRCLR, WDERRCLR, ORUNERRCLR (ADIv5.2 B2.2.1). */
    if (!(p->ver.stlink >= 3 || p->ver.jtag >= 24))
        return pd_fail(p, PD_E_PROTOCOL,
                       "firmware V%uJ%u cannot write DP ABORT (needs J24+ or V3); reset the "
                       "target or upgrade the probe",
                       p->ver.stlink, p->ver.jtag);
    uint8_t c[PD_CMD_SIZE], r[2];
    cmd_init(c, CMD_DEBUG, DBG_WRITE_DAP_REG);
    pd_put16(c + 2, 0xFFFF);
    pd_put16(c + 4, 0);
    pd_put32(c + 6, 0x1E);
    return pd_cmd_status(p, "WRITE_DAP_REG(ABORT)", c, r, sizeof r);
}

/* ---- version --------------------------------------------------------------------- */

static void set_limits(pd_probe *p)
{
    pd_version *v = &p->ver;
    pd_limits *l = &p->lim;
    bool v3 = v->stlink >= 3;
    /* 16/32-bit reads: the firmware's 6144-byte buffer (O12 STLINK_DATA_SIZE;
     * S17 reads at most 0x1800). */
    l->read32_max = 6144;
    /* Writes: S17 stlink_flashloader_write sends 16 KiB (32 KiB with more
     * than 32 KiB SRAM) in ONE WRITEMEM_32BIT on F2/F4/F7/L4, on V2 and V3
     * alike; 32 KiB on V2 is unverified, so V2 takes 16 KiB and V3 32 KiB. */
    l->write32_max = v3 ? 32768 : 16384;
    /* 8-bit: 64 bytes, 512 on V3 from J6 (O12 STLINK_MAX_RW8 /
     * STLINKV3_MAX_RW8, stlink_usb_block). */
    l->rw8_max = (v3 && v->jtag >= 6) ? 512 : 64;
    /* O12 feature flags (stlink_usb_version): 16-bit memory J26+ or V3;
     * GETLASTRWSTATUS2 J15+ or V3; voltage J13+ or V3; SWD_SET_FREQ J22+. */
    l->has_mem16 = v3 || (v->api >= PD_API_V2 && v->jtag >= 26);
    l->has_rw_status2 = v3 || v->jtag >= 15;
    l->has_voltage = v3 || v->jtag >= 13;
    l->has_set_freq = v3 || v->jtag >= 22;
    /* O12 STLINK_F_HAS_AP_INIT: J28+ or V3 (V3J2). */
    l->has_ap_init = v3 || v->jtag >= 28;
}

pd_err pd_read_version(pd_probe *p)
{
    uint8_t c[PD_CMD_SIZE], r[12];
    cmd_init(c, CMD_GET_VERSION, 0);
    pd_err e = pd_xfer(p, "GET_VERSION", c, NULL, 0, r, 6);
    if (e != PD_OK)
        return e;
    memset(&p->ver, 0, sizeof p->ver);
    pd_version *v = &p->ver;
    /* Bytes 0-1 big-endian: V[15:12] J[11:6] S[5:0]; then VID, PID LE. */
    unsigned w = (unsigned)r[0] << 8 | r[1];
    v->stlink = (uint8_t)(w >> 12);
    unsigned x = (w >> 6) & 0x3F, y = w & 0x3F;
    v->vid = (uint16_t)(r[2] | r[3] << 8);
    v->pid = (uint16_t)(r[4] | r[5] << 8);
    if (p->info.pid == 0x374B || p->info.pid == 0x3752) {
        /* V2-1: the low field is the MSD version, unless the pair says
         * STM8/SWIM-only firmware (O12 stlink_usb_version). */
        if ((x <= 22 && y == 7) || (x >= 25 && y >= 7 && y <= 12)) {
            v->jtag = 0;
            v->swim = (uint8_t)y;
        } else {
            v->jtag = (uint8_t)x;
            v->msd = (uint8_t)y;
        }
    } else {
        v->jtag = (uint8_t)x;
        v->swim = (uint8_t)y;
    }
    if (v->stlink >= 3 || p->info.kind == PD_KIND_V3) {
        /* V3 reports V3J0S0 here; the real version is in GET_VERSION_EX
         * (S17 sends it for any V3 PID, O12 when F1 says V3 J0 S0). */
        cmd_init(c, CMD_GET_VERSION_EX, 0);
        e = pd_xfer(p, "GET_VERSION_EX", c, NULL, 0, r, 12);
        if (e != PD_OK)
            return e;
        v->stlink = r[0];
        v->swim = r[1];
        v->jtag = r[2];
        v->msd = r[3];
        v->bridge = r[4];
        v->vid = (uint16_t)(r[8] | r[9] << 8);
        v->pid = (uint16_t)(r[10] | r[11] << 8);
    }
    if (v->stlink == 0 || v->stlink > 3)
        return pd_fail(p, PD_E_PROTOCOL,
                       "reported an impossible firmware version (V%u); try a USB reset or "
                       "upgrade its firmware",
                       v->stlink);
    /* API (S17 _parse_version / O12 stlink_usb_version): V1 firmware uses
     * API v2 from J11 (O12; S17 says J>11), V2 and V2-1 API v2, V3 API v3. */
    if (v->stlink == 1)
        v->api = v->jtag >= 11 ? PD_API_V2 : PD_API_V1;
    else
        v->api = v->stlink == 3 ? PD_API_V3 : PD_API_V2;
    set_limits(p);
    return PD_OK;
}

pd_err pd_get_mode(pd_probe *p, uint8_t *mode)
{
    if (!p || !mode)
        return PD_E_ARG;
    uint8_t c[PD_CMD_SIZE], r[2];
    cmd_init(c, CMD_GET_MODE, 0);
    pd_err e = pd_xfer(p, "GET_CURRENT_MODE", c, NULL, 0, r, 2);
    if (e == PD_OK) {
        *mode = r[0];
        pd_clear_msg(p);
    }
    return e;
}

pd_err pd_leave_idle_modes(pd_probe *p)
{
    uint8_t mode = 0, c[PD_CMD_SIZE];
    pd_err e = pd_get_mode(p, &mode);
    if (e != PD_OK)
        return e;
    /* A V2 after plug-in sits in DFU mode (S17 stlink_open_usb and O12
     * stlink_usb_exit_mode send DFU_EXIT); O12 leaves SWIM with SWIM_EXIT.
     * Neither command has a reply. DEBUG mode is left alone here: leaving
     * it is pd_leave_debug's job, and re-entering SWD is harmless. */
    if (mode == PD_MODE_DFU) {
        cmd_init(c, CMD_DFU, DFU_EXIT);
        return pd_xfer(p, "DFU_EXIT", c, NULL, 0, NULL, 0);
    }
    if (mode == PD_MODE_SWIM) {
        cmd_init(c, CMD_SWIM, SWIM_EXIT);
        return pd_xfer(p, "SWIM_EXIT", c, NULL, 0, NULL, 0);
    }
    return PD_OK;
}

pd_err pd_leave_debug(pd_probe *p)
{
    if (!p)
        return PD_E_ARG;
    uint8_t mode = 0, c[PD_CMD_SIZE];
    pd_err e = pd_get_mode(p, &mode);
    if (e != PD_OK)
        return e;
    /* Never send EXIT outside debug mode: STLINK-V3 firmware hangs on it,
     * which is why O12 stlink_usb_exit_mode only sends it from DEBUG. */
    if (mode == PD_MODE_DEBUG) {
        cmd_init(c, CMD_DEBUG, DBG_EXIT);
        e = pd_xfer(p, "DEBUG_EXIT", c, NULL, 0, NULL, 0);
        if (e != PD_OK)
            return e;
    }
    p->in_swd = false;
    p->want_swd = false;
    pd_clear_msg(p);
    return PD_OK;
}

/* ---- clock and SWD entry ------------------------------------------------------- */

/* V2 SWD_SET_FREQ divisors (O12 stlink_khz_to_speed_map_swd; S17 inc/stlink.h
 * STLINK_SWDCLK_*_DIVISOR), fastest first. */
static const struct {
    uint16_t khz, divisor;
} v2_swd_map[] = {
    {4000, 0}, {1800, 1}, {1200, 2}, {950, 3},  {480, 7},  {240, 15},
    {125, 31}, {100, 40}, {50, 79},  {25, 158}, {15, 265}, {5, 798},
};
#define V2_MAP_N (sizeof v2_swd_map / sizeof v2_swd_map[0])

/* The fastest of list[] (any order) not above want (0 = fastest); the
 * slowest if none is (O12 stlink_speed_swd / stlink_speed_v3 rule). */
static uint32_t pick_khz(const uint32_t *list, size_t n, uint32_t want)
{
    uint32_t best = 0, slowest = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        if (list[i] == 0)
            continue;
        if (list[i] < slowest)
            slowest = list[i];
        if ((want == 0 || list[i] <= want) && list[i] > best)
            best = list[i];
    }
    return best ? best : (slowest == UINT32_MAX ? 0 : slowest);
}

static pd_err apply_clock(pd_probe *p)
{
    uint8_t c[PD_CMD_SIZE], r[52];
    if (!p->lim.has_set_freq) {
        p->swd_khz = 1800; /* the fixed default of older V2 firmware (O12) */
        return PD_OK;
    }
    if (p->ver.stlink < 3) {
        uint32_t list[V2_MAP_N];
        for (size_t i = 0; i < V2_MAP_N; i++)
            list[i] = v2_swd_map[i].khz;
        uint32_t khz = pick_khz(list, V2_MAP_N, p->swd_khz_req);
        uint16_t div = 1;
        for (size_t i = 0; i < V2_MAP_N; i++)
            if (v2_swd_map[i].khz == khz)
                div = v2_swd_map[i].divisor;
        cmd_init(c, CMD_DEBUG, DBG_SWD_SET_FREQ);
        pd_put16(c + 2, div);
        pd_err e = pd_cmd_status(p, "SWD_SET_FREQ", c, r, 2);
        if (e != PD_OK)
            return e;
        p->swd_khz = khz;
        return PD_OK;
    }
    /* V3: ask for the list (F2 62 00: status, [8] count, kHz from [12], at
     * most 10), then set one in kHz (F2 61 00 00 kHz) (O12
     * stlink_get_com_freq / stlink_set_com_freq; S17 _stlink_usb_set_swdclk). */
    cmd_init(c, CMD_DEBUG, DBG_V3_GET_FREQ);
    c[2] = 0; /* SWD */
    pd_err e = pd_cmd_status(p, "GET_COM_FREQ", c, r, 52);
    if (e != PD_OK)
        return e;
    size_t n = r[8] > 10 ? 10 : r[8];
    uint32_t list[10];
    for (size_t i = 0; i < n; i++)
        list[i] = pd_get32(r + 12 + 4 * i);
    uint32_t khz = pick_khz(list, n, p->swd_khz_req);
    if (khz == 0)
        return pd_fail(p, PD_E_PROTOCOL,
                       "listed no SWD clocks (GET_COM_FREQ); upgrade its firmware or replug it");
    cmd_init(c, CMD_DEBUG, DBG_V3_SET_FREQ);
    c[2] = 0;
    c[3] = 0;
    pd_put32(c + 4, khz);
    e = pd_cmd_status(p, "SET_COM_FREQ", c, r, 8);
    if (e != PD_OK)
        return e;
    p->swd_khz = khz;
    return PD_OK;
}

pd_err pd_set_swd_clock(pd_probe *p, unsigned khz, unsigned *actual_khz)
{
    if (!p)
        return PD_E_ARG;
    p->swd_khz_req = khz;
    if (p->h && p->in_swd) {
        pd_err e = apply_clock(p);
        if (e != PD_OK)
            return e;
    } else if (p->h && !p->lim.has_set_freq) {
        p->swd_khz = 1800;
    }
    if (actual_khz)
        *actual_khz = p->swd_khz;
    pd_clear_msg(p);
    return PD_OK;
}

pd_err pd_enter_swd(pd_probe *p)
{
    if (!p)
        return PD_E_ARG;
    if (!p->h)
        return pd_fail(p, PD_E_ARG, "is not open; call pd_open before pd_enter_swd");
    /* SWD needs J != 0 and API v2+ (O12 stlink_usb_init_mode / mode check). */
    if (p->ver.jtag == 0 || p->ver.api < PD_API_V2)
        return pd_fail(p, PD_E_PROTOCOL,
                       "has firmware V%uJ%uS%u without SWD support; upgrade it with ST's "
                       "STLinkUpgrade",
                       p->ver.stlink, p->ver.jtag, p->ver.swim);
    /* Clock first, then ENTER (both O12 stlink_usb_init_mode and S17
     * stlink_open_usb set the clock before entering SWD). */
    pd_err e = apply_clock(p);
    if (e != PD_OK)
        return e;
    uint8_t c[PD_CMD_SIZE], r[2];
    cmd_init(c, CMD_DEBUG, DBG_ENTER);
    c[2] = ENTER_SWD_NO_RESET;
    e = pd_cmd_status(p, "ENTER_SWD", c, r, 2);
    if (e != PD_OK)
        return e;
    p->in_swd = true;
    p->want_swd = true;
    /* A new session may be on another board: look for its AP afresh. */
    p->mem_ap = 0;
    p->ap_probed = false;
    pd_clear_msg(p);
    return PD_OK;
}

pd_err pd_idcode(pd_probe *p, uint32_t *idcode)
{
    if (!p || !idcode)
        return PD_E_ARG;
    /* F2 31: 12 bytes, status, IDCODE at 4 (S17 _stlink_usb_core_id; O12
     * stlink_usb_idcode checks the status once, no retry). */
    uint8_t c[PD_CMD_SIZE], r[12];
    cmd_init(c, CMD_DEBUG, DBG_READ_IDCODES);
    pd_err e = pd_xfer(p, "READ_IDCODES", c, NULL, 0, r, sizeof r);
    if (e != PD_OK)
        return e;
    if (r[0] != ST_OK)
        return pd_status_fail(p, "READ_IDCODES", r[0]);
    *idcode = pd_get32(r + 4);
    pd_clear_msg(p);
    return PD_OK;
}

bool pd_voltage_from_reply(uint32_t factor, uint32_t reading, unsigned *mv)
{
    if (factor == 0)
        return false;
    *mv = (unsigned)(((uint64_t)reading * 2400u + factor / 2) / factor);
    return true;
}

pd_err pd_target_voltage(pd_probe *p, unsigned *mv)
{
    if (!p || !mv)
        return PD_E_ARG;
    if (p->h && !p->lim.has_voltage)
        return pd_fail(p, PD_E_PROTOCOL,
                       "firmware V%uJ%u cannot measure the target voltage (needs J13+); "
                       "upgrade it",
                       p->ver.stlink, p->ver.jtag);
    uint8_t c[PD_CMD_SIZE], r[8];
    cmd_init(c, CMD_GET_VOLTAGE, 0);
    pd_err e = pd_xfer(p, "GET_TARGET_VOLTAGE", c, NULL, 0, r, sizeof r);
    if (e != PD_OK)
        return e;
    /* a32 factor (the ADC reading of the 1.2 V reference), a32 reading of
     * half the target supply: mV = 2400 * reading / factor (S17
     * _stlink_usb_target_voltage; O12 stlink_usb_check_voltage). S17 1.7.0
     * divides by a zero factor and crashes; we refuse it. */
    if (!pd_voltage_from_reply(pd_get32(r), pd_get32(r + 4), mv))
        return pd_fail(p, PD_E_PROTOCOL,
                       "reported a zero reference reading for the target voltage; replug the "
                       "probe or upgrade its firmware");
    pd_clear_msg(p);
    return PD_OK;
}
