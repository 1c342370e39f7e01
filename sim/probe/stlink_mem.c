/*
 * The virtual ST-LINK's memory commands (READMEM/WRITEMEM 8/16/32) and its
 * DAP register access (READ/WRITE_DAP_REG), with their costs on the SWD
 * link (stlink.c has the protocol overview and sources).
 */
#include "stlink_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- memory commands ------------------------------------------------------ */

/* The AP named is the debug APB-AP of a part whose system bus is on another
 * AP (the H5: the AHB-AP is AP1, AP0 reaches the debug APB, RM0481 "Debug
 * support"; OpenOCD's stm32h5x.cfg writes DBGMCU_CR through AP0 at
 * 0xE0044004). Only the DBGMCU is modelled there. */
static bool apb_view(const stlink_probe *p, uint8_t ap)
{
    const sim_chip *c = p->board ? sim_board_chip(p->board) : NULL;
    return c && c->mem_ap != 0 && ap == 0 && c->apb_dbgmcu != 0;
}

/* A block access through that APB-AP: the DBGMCU's 4 KiB answer as the
 * DBGMCU at idcode_addr; anything else on the debug APB faults [U: ROM
 * tables and the other CoreSight components are not modelled]. */
static sim_err apb_access(stlink_probe *p, uint32_t addr, uint8_t *buf, size_t n, unsigned width,
                          bool write, uint32_t *fault)
{
    const sim_chip *c = sim_board_chip(p->board);
    for (size_t i = 0; i < n; i += width) {
        uint32_t a = addr + (uint32_t)i;
        if (a - c->apb_dbgmcu >= 0x1000u) {
            *fault = a;
            return SIM_E_BUS;
        }
        uint32_t t = c->idcode_addr + (a - c->apb_dbgmcu), f = 0;
        sim_err e = write ? stl_mem_write(p, t, buf + i, width, width, &f)
                          : sim_board_mem_read(p->board, t, buf + i, width, width, &f);
        if (e != SIM_OK) {
            *fault = a;
            return e;
        }
    }
    return SIM_OK;
}

static unsigned rw8_max(const stlink_probe *p)
{
    /* O12 stlink_usb_block: 512 from V3J6 on, else 64. */
    return stl_is_v3(p) ? RW8_MAX_HS : RW8_MAX_FS;
}

static unsigned read_max(const stlink_probe *p, unsigned width)
{
    if (width == 1)
        return rw8_max(p);
    return stl_is_v3(p) ? DATA_MAX : READ_MAX_V2;
}

/* Check a memory command's parameters; returns the status to report, OK if
 * the access may go ahead. */
static uint8_t mem_check(const stlink_probe *p, uint32_t addr, size_t n, uint8_t ap, unsigned width,
                         size_t max)
{
    if (!stl_in_debug(p))
        return STLINK_DEBUG_ERR_FAULT;
    if (p->board && ap != sim_board_chip(p->board)->mem_ap && !apb_view(p, ap))
        return STLINK_BAD_AP_ERROR; /* the system AHB-AP, and the H5's AP0 */
    if (n > max)
        return STLINK_DEBUG_ERR_FAULT;
    if (width > 1 && ((addr % width) || (n % width)))
        return STLINK_DEBUG_ERR_FAULT; /* O12 never sends these (ERROR_TARGET_UNALIGNED_ACCESS) */
    if (!p->board)
        return STLINK_SWD_DP_ERROR;
    return STLINK_DEBUG_ERR_OK;
}

static void rw_result(stlink_probe *p, uint8_t status, uint32_t fault)
{
    p->rw_status = status;
    p->rw_fault_addr = status == STLINK_DEBUG_ERR_OK ? 0 : fault;
    if (status == STLINK_SWD_AP_FAULT)
        p->dp_ctrl |= CS_STICKYERR;
}

/* Bus transactions a block access of `accesses` items over `bytes` costs. */
static uint64_t block_xfers(uint64_t accesses, uint64_t bytes, bool read)
{
    uint64_t tar_reloads = bytes ? (bytes - 1) / 1024 : 0;
    return 2 + accesses + tar_reloads + (read ? 1 : 0);
}

/* READMEM_8/16/32BIT and READMEM_32BIT_NO_ADDR_INC: n data bytes, no status
 * (S17 _stlink_usb_read_mem32; O12 stlink_usb_read_mem8/16/32). The status
 * goes to GETLASTRWSTATUS(2). */
void stl_cmd_read_mem(stlink_probe *p, unsigned width, bool inc)
{
    uint32_t addr = stl_get32(p->cmd + 2);
    uint16_t n = stl_get16(p->cmd + 6);
    uint8_t ap = p->cmd[8];
    /* O12 stlink_usb_read_mem8 asks for 2 bytes when it reads one ("we need
     * to fix read length for single bytes"): the firmware sends two. */
    size_t rlen = (width == 1 && n == 1) ? 2 : n;
    uint8_t *out = stl_reply(p, rlen);
    p->dp_ctrl &= ~CS_STICKYERR; /* the firmware clears sticky flags itself */
    uint8_t st = mem_check(p, addr, n, ap, width, read_max(p, width));
    if (st != STLINK_DEBUG_ERR_OK || n == 0) {
        rw_result(p, st, addr);
        return;
    }
    uint32_t fault = addr;
    sim_err e = SIM_OK;
    if (apb_view(p, ap)) {
        e = apb_access(p, addr, out, n, width, false, &fault);
    } else if (inc) {
        e = sim_board_mem_read(p->board, addr, out, n, width, &fault);
    } else {
        for (size_t i = 0; i < n && e == SIM_OK; i += 4)
            e = sim_board_mem_read(p->board, addr, out + i, 4, 4, &fault);
    }
    uint64_t done = e == SIM_E_BUS ? (uint64_t)(fault - addr) / width + 1 : n / width;
    stl_swd_xfers(p, block_xfers(done, n, true));
    if (e != SIM_OK && e != SIM_E_BUS)
        memset(out, 0, rlen);
    rw_result(p, stl_status_of(e), fault);
}

/* WRITEMEM_*: the data phase has arrived in p->data. No stl_reply (S17
 * _stlink_usb_write_mem32 reads nothing back; O12 then asks for the status). */
void stl_cmd_write_mem(stlink_probe *p, unsigned width, bool inc)
{
    uint32_t addr = stl_get32(p->cmd + 2);
    uint16_t n = stl_get16(p->cmd + 6);
    uint8_t ap = p->cmd[8];
    p->dp_ctrl &= ~CS_STICKYERR;
    uint8_t st = mem_check(p, addr, n, ap, width, width == 1 ? rw8_max(p) : DATA_MAX);
    if (st != STLINK_DEBUG_ERR_OK || n == 0) {
        rw_result(p, st, addr);
        return;
    }
    uint32_t fault = addr;
    sim_err e = SIM_OK;
    if (apb_view(p, ap)) {
        e = apb_access(p, addr, p->data, n, width, true, &fault);
    } else if (inc) {
        e = stl_mem_write(p, addr, p->data, n, width, &fault);
    } else {
        for (size_t i = 0; i < n && e == SIM_OK; i += 4)
            e = stl_mem_write(p, addr, p->data + i, 4, 4, &fault);
    }
    uint64_t done = e == SIM_E_BUS ? (uint64_t)(fault - addr) / width + 1 : n / width;
    stl_swd_xfers(p, block_xfers(done, n, false));
    rw_result(p, stl_status_of(e), fault);
}

/* ---- DAP register access (READ/WRITE_DAP_REG, O12 dapdirect driver) ------ */

static uint32_t ap_idr(const stlink_probe *p)
{
    return sim_board_chip(p->board)->armv6m ? AHBAP_IDR_M0P : AHBAP_IDR_M3;
}

static uint32_t dp_ctrl_stat(const stlink_probe *p)
{
    uint32_t v = p->dp_ctrl;
    if (v & CS_CDBGPWRUPREQ)
        v |= CS_CDBGPWRUPACK;
    if (v & CS_CSYSPWRUPREQ)
        v |= CS_CSYSPWRUPACK;
    return v;
}

/* An AP data access at TAR with CSW's size, then TAR auto-increment within
 * its 1 KiB window (ADIv5.2 C2.2.2). Data sits on the byte lanes of TAR. */
static uint8_t ap_drw(stlink_probe *p, uint32_t addr, bool write, uint32_t *v, bool inc)
{
    unsigned size = p->ap_csw & 7;
    unsigned width = size == 0 ? 1 : size == 1 ? 2 : 4;
    uint32_t a = width == 4 ? addr & ~3u : addr & ~(uint32_t)(width - 1);
    unsigned shift = 8 * (a & 3);
    uint8_t buf[4] = {0};
    uint32_t fault = 0;
    sim_err e;
    if (write) {
        uint32_t lane = *v >> shift;
        stl_put32(buf, lane);
        e = stl_mem_write(p, a, buf, width, width, &fault);
    } else {
        e = sim_board_mem_read(p->board, a, buf, width, width, &fault);
        *v = e == SIM_OK ? stl_get32(buf) << shift : 0;
    }
    if (e == SIM_E_BUS)
        p->dp_ctrl |= CS_STICKYERR;
    if (inc && ((p->ap_csw >> 4) & 3) == 1)
        p->ap_tar = (p->ap_tar & ~0x3FFu) | ((p->ap_tar + width) & 0x3FFu);
    return stl_status_of(e);
}

uint8_t stl_dap_access(stlink_probe *p, uint16_t port, uint16_t reg, bool write, uint32_t *v)
{
    if (!stl_in_debug(p))
        return STLINK_DEBUG_ERR_FAULT;
    sim_err link = stl_link_check(p);
    if (link != SIM_OK)
        return stl_status_of(link);
    stl_swd_xfers(p, write ? 1 : 2);
    if (port == STLINK_DEBUG_PORT_ACCESS) {
        switch (reg & 0xF) {
        case 0x0: /* IDCODE / ABORT */
            if (!write) {
                *v = sim_board_dp_idcode(p->board);
            } else {
                if (*v & (1u << 1))
                    p->dp_ctrl &= ~CS_STICKYCMP;
                if (*v & (1u << 2))
                    p->dp_ctrl &= ~CS_STICKYERR;
                if (*v & (1u << 3))
                    p->dp_ctrl &= ~CS_WDATAERR;
                if (*v & (1u << 4))
                    p->dp_ctrl &= ~CS_STICKYORUN;
            }
            return STLINK_DEBUG_ERR_OK;
        case 0x4: /* CTRL/STAT */
            if (write)
                p->dp_ctrl =
                    (p->dp_ctrl & (CS_STICKYERR | CS_STICKYCMP | CS_WDATAERR | CS_STICKYORUN)) |
                    (*v & (CS_CDBGPWRUPREQ | CS_CSYSPWRUPREQ | CS_ORUNDETECT));
            else
                *v = dp_ctrl_stat(p);
            return STLINK_DEBUG_ERR_OK;
        case 0x8: /* SELECT / RESEND */
            if (write)
                p->dp_select = *v;
            else
                *v = p->dp_rdbuff;
            return STLINK_DEBUG_ERR_OK;
        default: /* RDBUFF */
            if (!write)
                *v = p->dp_rdbuff;
            return STLINK_DEBUG_ERR_OK;
        }
    }
    if (port != sim_board_chip(p->board)->mem_ap)
        return STLINK_BAD_AP_ERROR; /* the H5's APB-AP registers are not modelled [U] */
    if (p->dp_ctrl & CS_STICKYERR)
        return STLINK_SWD_AP_STICKY_ERROR; /* until ABORT.STKERRCLR */
    uint8_t st = STLINK_DEBUG_ERR_OK;
    switch (reg & 0xFC) {
    case 0x00:
        if (write)
            p->ap_csw = (*v & 0x00FFFF7Fu) | (AHBAP_CSW_INIT & 0xFF000000u);
        else
            *v = p->ap_csw | (1u << 6); /* DeviceEn */
        break;
    case 0x04:
        if (write)
            p->ap_tar = *v;
        else
            *v = p->ap_tar;
        break;
    case 0x0C:
        st = ap_drw(p, p->ap_tar, write, v, true);
        break;
    case 0x10:
    case 0x14:
    case 0x18:
    case 0x1C: { /* banked data: word at TAR[31:4] + offset */
        uint32_t saved = p->ap_csw;
        p->ap_csw = (p->ap_csw & ~7u) | 2u;
        st = ap_drw(p, (p->ap_tar & ~0xFu) | (reg & 0xCu), write, v, false);
        p->ap_csw = saved;
        break;
    }
    case 0xF8:
        if (!write)
            *v = AHBAP_BASE;
        break;
    case 0xFC:
        if (!write)
            *v = ap_idr(p);
        break;
    default:
        if (!write)
            *v = 0;
        break;
    }
    if (!write)
        p->dp_rdbuff = *v;
    return st;
}
