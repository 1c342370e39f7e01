/*
 * The virtual ST-LINK's command set: version, mode changes, SWD/JTAG
 * clocks, NRST, core registers, trace, and the dispatch of a command to
 * its handler (stlink.c has the protocol overview and sources).
 */
#include "stlink_internal.h"

#include <stdlib.h>
#include <string.h>

/* SWD clock divisor table (O12 stlink_khz_to_speed_map_swd; S17 inc/stlink.h
 * STLINK_SWDCLK_*_DIVISOR). */
static const struct {
    uint16_t divisor;
    uint16_t khz;
} swd_div_table[] = {
    {0, 4000}, {1, 1800}, {2, 1200}, {3, 950},  {7, 480},  {15, 240},
    {31, 125}, {40, 100}, {79, 50},  {158, 25}, {265, 15}, {798, 5},
};

/* STLINK-V3 GET_COM_FREQ lists [U: as OpenOCD debug logs of V3J7 show]. */
static const uint32_t v3_swd_khz[] = {24000, 8000, 3300, 1000, 200, 50, 5};
static const uint32_t v3_jtag_khz[] = {21333, 16000, 12000, 8000, 6000, 4000, 2000, 1000, 512, 256};

/* ---- the command set -------------------------------------------------------- */

static uint16_t version_word(const stlink_probe *p)
{
    /* GET_VERSION bytes 0-1 big-endian: V[15:12] J[11:6] S-or-MSD[5:0]
     * (S17 _parse_version; O12 stlink_usb_version). A V3 answers V3 J0 S0
     * here, which is what makes O12 send GET_VERSION_EX. */
    switch (p->kind) {
    case STLINK_V2:
        return (uint16_t)(2u << 12 | V2_JTAG << 6 | V2_SWIM);
    case STLINK_V2_1:
        return (uint16_t)(2u << 12 | V2_JTAG << 6 | V21_MSD);
    case STLINK_V3:
        return (uint16_t)(3u << 12);
    }
    return 0;
}

static void cmd_get_version(stlink_probe *p)
{
    uint8_t *r = stl_reply(p, 6);
    uint16_t v = version_word(p);
    r[0] = (uint8_t)(v >> 8);
    r[1] = (uint8_t)v;
    stl_put16(r + 2, STLINK_VID);
    stl_put16(r + 4, stlink_probe_pid(p));
}

static void cmd_get_version_ex(stlink_probe *p)
{
    if (!stl_is_v3(p)) {
        stl_reply_status(p, STLINK_DEBUG_ERR_FAULT); /* V2 firmware has no such command */
        return;
    }
    /* O12 stlink_usb_version / S17 _parse_version: [0] V, [1] SWIM, [2] JTAG,
     * [3] MSD, [4] bridge, [8-9] VID, [10-11] PID; [5-7] unknown [U]: 0. */
    uint8_t *r = stl_reply(p, 12);
    r[0] = 3;
    r[1] = V3_SWIM;
    r[2] = V3_JTAG;
    r[3] = V3_MSD;
    r[4] = V3_BRIDGE;
    stl_put16(r + 8, STLINK_VID);
    stl_put16(r + 10, stlink_probe_pid(p));
}

static void cmd_voltage(stlink_probe *p)
{
    unsigned mv = p->board ? sim_board_voltage_mv(p->board) : 0;
    uint8_t *r = stl_reply(p, 8);
    stl_put32(r, VOLT_FACTOR);
    stl_put32(r + 4, (uint32_t)(((uint64_t)mv * VOLT_FACTOR + 1200) / 2400));
}

static void cmd_enter(stlink_probe *p)
{
    uint8_t how = p->cmd[2];
    bool v1 = p->cmd[1] == STLINK_DEBUG_APIV1_ENTER;
    if (how != STLINK_DEBUG_ENTER_SWD_NO_RESET && how != STLINK_DEBUG_ENTER_JTAG_NO_RESET &&
        how != STLINK_DEBUG_ENTER_JTAG_RESET) {
        if (!v1)
            stl_reply_status(p, STLINK_DEBUG_ERR_FAULT);
        return;
    }
    /* The probe switches to debug mode whether or not a target answers; the
     * status says whether the DP did (no target: O12 logs "init mode failed
     * (unable to connect to the target)", which is ENTER failing). */
    if (p->mode != STLINK_DEV_DEBUG_MODE) {
        /* A new debug session. The field reports (#607, #356) fail every
         * other *invocation* of st-flash, each of which runs the loader once
         * per page: so ALTERNATE makes every loader run of every other
         * session fail, until the host leaves debug mode or resets the
         * probe, which is what replugging did for users. */
        p->session_failing = (p->alt_sessions++ % 2) == 0;
    }
    p->mode = STLINK_DEV_DEBUG_MODE;
    p->swd_clocks += SWD_ENTER_CLOCKS;
    stl_swd_xfers(p, 3); /* IDCODE, CTRL/STAT power-up request, power-up poll */
    sim_err e = stl_link_check(p);
    if (e == SIM_OK)
        p->dp_ctrl |= CS_CDBGPWRUPREQ | CS_CSYSPWRUPREQ;
    if (!v1) /* API v1 ENTER has no stl_reply (S17 _stlink_usb_enter_swd_mode) */
        stl_reply_status(p, stl_status_of(e));
}

static void cmd_read_idcodes(stlink_probe *p)
{
    /* S17 _stlink_usb_core_id: 12 bytes, IDCODE at offset 4; O12
     * stlink_usb_idcode checks the status. Bytes 8-11 unknown [U]: 0. */
    uint8_t *r = stl_reply(p, 12);
    if (!stl_in_debug(p)) {
        r[0] = STLINK_DEBUG_ERR_FAULT;
        return;
    }
    stl_swd_xfers(p, 1);
    sim_err e = stl_link_check(p);
    r[0] = stl_status_of(e);
    if (e == SIM_OK)
        stl_put32(r + 4, sim_board_dp_idcode(p->board));
}

static void cmd_read_coreid_v1(stlink_probe *p)
{
    uint8_t *r = stl_reply(p, 4);
    if (stl_in_debug(p) && stl_link_check(p) == SIM_OK) {
        stl_swd_xfers(p, 1);
        stl_put32(r, sim_board_dp_idcode(p->board));
    }
}

static void cmd_drive_nrst(stlink_probe *p)
{
    uint8_t how = p->cmd[2];
    if (how > STLINK_NRST_PULSE) {
        stl_reply_status(p, STLINK_DEBUG_ERR_FAULT);
        return;
    }
    /* The probe drives its pin in any mode: both hosts assert NRST before
     * ENTER when connecting under reset (S17 stlink_target_connect; O12
     * stlink_usb_init_mode). */
    sim_board *b = p->board;
    if (how == STLINK_NRST_LOW || how == STLINK_NRST_PULSE) {
        p->nrst_low = true;
        if (b)
            sim_board_nrst(b, true);
    }
    if (how == STLINK_NRST_PULSE)
        stl_board_pass(b, NRST_PULSE_NS);
    if (how == STLINK_NRST_HIGH || how == STLINK_NRST_PULSE) {
        p->nrst_low = false;
        if (b)
            sim_board_nrst(b, false);
    }
    stl_reply_status(p, STLINK_DEBUG_ERR_OK);
}

static uint32_t divisor_khz(uint16_t div)
{
    for (size_t i = 0; i < sizeof swd_div_table / sizeof swd_div_table[0]; i++)
        if (swd_div_table[i].divisor == div)
            return swd_div_table[i].khz;
    /* Between table entries the clock is close to 4 MHz / (divisor + 1). */
    uint32_t khz = 4000u / ((uint32_t)div + 1u);
    return khz ? khz : 1;
}

static void cmd_swd_set_freq(stlink_probe *p)
{
    /* V2 from J22 (O12 STLINK_F_HAS_SWD_SET_FREQ; S17 _stlink_usb_set_swdclk
     * only for stlink_v == 2). STLINK-V3 uses SET_COM_FREQ instead. */
    if (stl_is_v3(p)) {
        stl_reply_status(p, STLINK_DEBUG_ERR_FAULT);
        return;
    }
    p->swd_khz = divisor_khz(stl_get16(p->cmd + 2));
    stl_reply_status(p, STLINK_DEBUG_ERR_OK);
}

static void cmd_jtag_set_freq(stlink_probe *p)
{
    if (stl_is_v3(p)) {
        stl_reply_status(p, STLINK_DEBUG_ERR_FAULT);
        return;
    }
    /* O12 stlink_khz_to_speed_map_jtag: kHz = 36000 / divisor. */
    uint16_t div = stl_get16(p->cmd + 2);
    p->jtag_khz = div ? 36000u / div : 9000u;
    stl_reply_status(p, STLINK_DEBUG_ERR_OK);
}

static void cmd_get_com_freq(stlink_probe *p)
{
    if (!stl_is_v3(p)) {
        stl_reply_status(p, STLINK_DEBUG_ERR_FAULT);
        return;
    }
    /* 52 bytes: status, [8] count, kHz list from [12] (O12 stlink_get_com_
     * freq; S17 _stlink_usb_set_swdclk). */
    bool jtag = p->cmd[2] != 0;
    const uint32_t *list = jtag ? v3_jtag_khz : v3_swd_khz;
    size_t n = jtag ? sizeof v3_jtag_khz / sizeof v3_jtag_khz[0]
                    : sizeof v3_swd_khz / sizeof v3_swd_khz[0];
    uint8_t *r = stl_reply(p, 52);
    r[0] = STLINK_DEBUG_ERR_OK;
    r[8] = (uint8_t)n;
    for (size_t i = 0; i < n; i++)
        stl_put32(r + 12 + 4 * i, list[i]);
}

static void cmd_set_com_freq(stlink_probe *p)
{
    if (!stl_is_v3(p)) {
        stl_reply_status(p, STLINK_DEBUG_ERR_FAULT);
        return;
    }
    bool jtag = p->cmd[2] != 0;
    uint32_t want = stl_get32(p->cmd + 4);
    const uint32_t *list = jtag ? v3_jtag_khz : v3_swd_khz;
    size_t n = jtag ? sizeof v3_jtag_khz / sizeof v3_jtag_khz[0]
                    : sizeof v3_swd_khz / sizeof v3_swd_khz[0];
    /* The fastest supported clock not above the request, else the slowest. */
    uint32_t got = list[n - 1];
    for (size_t i = 0; i < n; i++)
        if (list[i] <= want) {
            got = list[i];
            break;
        }
    if (jtag)
        p->jtag_khz = got;
    else
        p->swd_khz = got;
    /* 8 bytes (O12 stlink_set_com_freq); [4-7] = the clock set [U]. */
    uint8_t *r = stl_reply(p, 8);
    r[0] = STLINK_DEBUG_ERR_OK;
    stl_put32(r + 4, got);
}

static void cmd_read_all_regs(stlink_probe *p, bool v1)
{
    /* r0-r15, xPSR, MSP, PSP, then the two words S17 calls rw and rw2
     * (its READREG 19 and 20): regsel order 0..20 (S17
     * _stlink_usb_read_all_regs). v1: 84 bytes; v2: status + 84. */
    size_t off = v1 ? 0 : 4;
    uint8_t *r = stl_reply(p, off + 84);
    uint8_t st = STLINK_DEBUG_ERR_OK;
    for (unsigned i = 0; i <= 20; i++) {
        uint32_t v = 0;
        uint8_t s = stl_core_reg_read(p, i, &v);
        if (i == 19 && s == STLINK_DEBUG_ERR_FAULT && stl_in_debug(p))
            s = STLINK_DEBUG_ERR_OK; /* no such register on this core: reads 0 */
        if (s != STLINK_DEBUG_ERR_OK) {
            st = s;
            break;
        }
        stl_put32(r + off + 4 * i, v);
    }
    if (st != STLINK_DEBUG_ERR_OK)
        memset(r, 0, off + 84);
    if (!v1)
        r[0] = st;
}

static void cmd_getstatus_v1(stlink_probe *p)
{
    bool halted = stl_in_debug(p) && p->board && sim_board_halted(p->board);
    stl_swd_xfers(p, 4);
    stl_reply_status(p, halted ? STLINK_CORE_HALTED : STLINK_CORE_RUNNING);
}

static void cmd_lastrw(stlink_probe *p, bool v2)
{
    if (!v2) {
        stl_reply_status(p, p->rw_status);
        return;
    }
    /* 12 bytes: status, then [U] the faulting address at 4. */
    uint8_t *r = stl_reply(p, 12);
    r[0] = p->rw_status;
    stl_put32(r + 4, p->rw_fault_addr);
}

static void cmd_trace(stlink_probe *p, uint8_t sub)
{
    switch (sub) {
    case STLINK_DEBUG_APIV2_START_TRACE_RX: {
        /* [2-3] buffer size, [4-7] SWO baud: up to 2 MHz on V2, 24 MHz on V3
         * (O12 STLINK_TRACE_MAX_HZ / STLINK_V3_TRACE_MAX_HZ). */
        uint32_t hz = stl_get32(p->cmd + 4);
        uint32_t max = stl_is_v3(p) ? 24000000u : 2000000u;
        bool ok = hz > 0 && hz <= max;
        p->trace_on = ok;
        stl_reply_status(p, ok ? STLINK_DEBUG_ERR_OK : STLINK_DEBUG_ERR_FAULT);
        return;
    }
    case STLINK_DEBUG_APIV2_STOP_TRACE_RX:
        p->trace_on = false;
        stl_reply_status(p, STLINK_DEBUG_ERR_OK);
        return;
    default: /* GET_TRACE_NB: u16 byte count; the board has no SWO: 0 */
        stl_reply(p, 2);
        return;
    }
}

static void cmd_resetsys(stlink_probe *p)
{
    /* System reset through AIRCR.SYSRESETREQ (what stlink_soft_reset does by
     * hand); whether the core halts after it is DEMCR.VC_CORERESET's
     * business, as on silicon [U: real firmware's exact sequence]. */
    stl_reply_status(p, stl_debugreg_write(p, REG_AIRCR, AIRCR_SYSRESET));
}

static void cmd_v1_run(stlink_probe *p, uint32_t dhcsr)
{
    stl_reply_status(p, stl_debugreg_write(p, REG_DHCSR, DHCSR_KEY | dhcsr));
}

/* A write command: remember it and wait for its data phase. */
bool stl_starts_data_phase(const uint8_t *cmd, size_t *len)
{
    if (cmd[0] != STLINK_DEBUG_COMMAND)
        return false;
    switch (cmd[1]) {
    case STLINK_DEBUG_WRITEMEM_32BIT:
    case STLINK_DEBUG_WRITEMEM_8BIT:
    case STLINK_DEBUG_APIV2_WRITEMEM_16BIT:
    case STLINK_DEBUG_WRITEMEM_32BIT_NO_INC:
        *len = stl_get16(cmd + 6);
        return true;
    default:
        return false;
    }
}

static void debug_command(stlink_probe *p)
{
    const uint8_t *c = p->cmd;
    uint32_t v = 0;
    uint8_t st;
    switch (c[1]) {
    case STLINK_DEBUG_GETSTATUS:
        cmd_getstatus_v1(p);
        return;
    case STLINK_DEBUG_FORCEDEBUG:
        cmd_v1_run(p, C_DEBUGEN | C_HALT);
        return;
    case STLINK_DEBUG_RUNCORE:
        cmd_v1_run(p, C_DEBUGEN);
        return;
    case STLINK_DEBUG_STEPCORE:
        cmd_v1_run(p, C_DEBUGEN | C_STEP | C_MASKINTS);
        return;
    case STLINK_DEBUG_APIV1_RESETSYS:
    case STLINK_DEBUG_APIV2_RESETSYS:
        cmd_resetsys(p);
        return;
    case STLINK_DEBUG_APIV1_READALLREGS:
        cmd_read_all_regs(p, true);
        return;
    case STLINK_DEBUG_APIV2_READALLREGS:
        cmd_read_all_regs(p, false);
        return;
    case STLINK_DEBUG_APIV1_READREG:
        stl_core_reg_read(p, c[2], &v);
        stl_put32(stl_reply(p, 4), v);
        return;
    case STLINK_DEBUG_APIV2_READREG: {
        st = stl_core_reg_read(p, c[2], &v);
        uint8_t *r = stl_reply(p, 8);
        r[0] = st;
        stl_put32(r + 4, v);
        return;
    }
    case STLINK_DEBUG_APIV1_WRITEREG:
    case STLINK_DEBUG_APIV2_WRITEREG:
        stl_reply_status(p, stl_core_reg_write(p, c[2], stl_get32(c + 3)));
        return;
    case STLINK_DEBUG_READMEM_32BIT:
        stl_cmd_read_mem(p, 4, true);
        return;
    case STLINK_DEBUG_READMEM_8BIT:
        stl_cmd_read_mem(p, 1, true);
        return;
    case STLINK_DEBUG_APIV2_READMEM_16BIT:
        stl_cmd_read_mem(p, 2, true);
        return;
    case STLINK_DEBUG_READMEM_32BIT_NO_INC:
        stl_cmd_read_mem(p, 4, false);
        return;
    case STLINK_DEBUG_WRITEMEM_32BIT:
        stl_cmd_write_mem(p, 4, true);
        return;
    case STLINK_DEBUG_WRITEMEM_8BIT:
        stl_cmd_write_mem(p, 1, true);
        return;
    case STLINK_DEBUG_APIV2_WRITEMEM_16BIT:
        stl_cmd_write_mem(p, 2, true);
        return;
    case STLINK_DEBUG_WRITEMEM_32BIT_NO_INC:
        stl_cmd_write_mem(p, 4, false);
        return;
    case STLINK_DEBUG_APIV1_WRITEDEBUGREG:
    case STLINK_DEBUG_APIV2_WRITEDEBUGREG:
        stl_reply_status(p, stl_debugreg_write(p, stl_get32(c + 2), stl_get32(c + 6)));
        return;
    case STLINK_DEBUG_APIV2_READDEBUGREG: {
        st = stl_debugreg_read(p, stl_get32(c + 2), &v);
        uint8_t *r = stl_reply(p, 8);
        r[0] = st;
        stl_put32(r + 4, v);
        return;
    }
    case STLINK_DEBUG_APIV1_ENTER:
    case STLINK_DEBUG_APIV2_ENTER:
        cmd_enter(p);
        return;
    case STLINK_DEBUG_EXIT:
        /* No stl_reply (S17 _stlink_usb_exit_debug_mode send_only; O12
         * stlink_usb_mode_leave). The target keeps its state. STLINK-V3
         * firmware hangs when told to leave a debug mode it is not in (the
         * reason O12 only sends EXIT from debug mode): model it as a wedge
         * that only a USB reset clears. */
        if (p->kind == STLINK_V3 && p->mode != STLINK_DEV_DEBUG_MODE) {
            stlink_probe_wedge(p);
            p->wedge_out_taken = true; /* this EXIT was the OUT that hung it */
            return;
        }
        p->mode = STLINK_DEV_MASS_MODE;
        return;
    case STLINK_DEBUG_READCOREID:
        cmd_read_coreid_v1(p);
        return;
    case STLINK_DEBUG_APIV2_READ_IDCODES:
        cmd_read_idcodes(p);
        return;
    case STLINK_DEBUG_APIV2_GETLASTRWSTATUS:
        cmd_lastrw(p, false);
        return;
    case STLINK_DEBUG_APIV2_GETLASTRWSTATUS2:
        cmd_lastrw(p, true);
        return;
    case STLINK_DEBUG_APIV2_DRIVE_NRST:
        cmd_drive_nrst(p);
        return;
    case STLINK_DEBUG_APIV2_START_TRACE_RX:
    case STLINK_DEBUG_APIV2_STOP_TRACE_RX:
    case STLINK_DEBUG_APIV2_GET_TRACE_NB:
        cmd_trace(p, c[1]);
        return;
    case STLINK_DEBUG_APIV2_SWD_SET_FREQ:
        cmd_swd_set_freq(p);
        return;
    case STLINK_DEBUG_APIV2_JTAG_SET_FREQ:
        cmd_jtag_set_freq(p);
        return;
    case STLINK_DEBUG_APIV2_READ_DAP_REG: {
        st = stl_dap_access(p, stl_get16(c + 2), stl_get16(c + 4), false, &v);
        uint8_t *r = stl_reply(p, 8);
        r[0] = st;
        stl_put32(r + 4, st == STLINK_DEBUG_ERR_OK ? v : 0);
        return;
    }
    case STLINK_DEBUG_APIV2_WRITE_DAP_REG:
        v = stl_get32(c + 6);
        stl_reply_status(p, stl_dap_access(p, stl_get16(c + 2), stl_get16(c + 4), true, &v));
        return;
    case STLINK_DEBUG_APIV2_INIT_AP:
    case STLINK_DEBUG_APIV2_CLOSE_AP_DBG:
        /* O12 stlink_usb_init_access_port / close_access_port: the APs the
         * part has (AP 0; the H5's AP 0 and AP 1). */
        if (!stl_in_debug(p))
            st = STLINK_DEBUG_ERR_FAULT;
        else if (c[2] == 0 || (p->board && c[2] == sim_board_chip(p->board)->mem_ap))
            st = STLINK_DEBUG_ERR_OK;
        else
            st = STLINK_BAD_AP_ERROR;
        stl_reply_status(p, st);
        return;
    case STLINK_APIV3_SET_COM_FREQ:
        cmd_set_com_freq(p);
        return;
    case STLINK_APIV3_GET_COM_FREQ:
        cmd_get_com_freq(p);
        return;
    default:
        stl_reply_status(p, STLINK_DEBUG_ERR_FAULT);
        return;
    }
}

void stl_dispatch(stlink_probe *p)
{
    const uint8_t *c = p->cmd;
    switch (c[0]) {
    case STLINK_GET_VERSION:
        cmd_get_version(p);
        return;
    case STLINK_APIV3_GET_VERSION_EX:
        cmd_get_version_ex(p);
        return;
    case STLINK_GET_CURRENT_MODE:
        stl_reply(p, 2)[0] = p->mode; /* byte 1 unknown [U]: 0 */
        return;
    case STLINK_GET_TARGET_VOLTAGE:
        cmd_voltage(p);
        return;
    case STLINK_DFU_COMMAND:
        if (c[1] == STLINK_DFU_EXIT) {
            /* No stl_reply (S17 _stlink_usb_exit_dfu_mode send_only). */
            if (p->mode == STLINK_DEV_DFU_MODE)
                p->mode = STLINK_DEV_MASS_MODE;
            return;
        }
        stl_reply_status(p, STLINK_DEBUG_ERR_FAULT);
        return;
    case STLINK_SWIM_COMMAND:
        if (c[1] == STLINK_SWIM_EXIT) {
            /* No stl_reply (O12 stlink_usb_mode_leave). */
            if (p->mode == STLINK_DEV_SWIM_MODE)
                p->mode = STLINK_DEV_MASS_MODE;
            return;
        }
        stl_reply_status(p, STLINK_DEBUG_ERR_FAULT); /* no SWIM target here */
        return;
    case STLINK_DEBUG_COMMAND:
        debug_command(p);
        return;
    default:
        stl_reply_status(p, STLINK_DEBUG_ERR_FAULT);
        return;
    }
}
