/*
 * The virtual ST-LINK's access to its target (stlink.c has the protocol
 * overview and sources): memory and debug registers through the AHB-AP,
 * mapped to ST-LINK status codes; a DHCSR write that lets a loader run is
 * where the loader-failure fault strikes.
 */
#include "stlink_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- target access, mapped to ST-LINK status codes ------------------------ */

/* How a board error reads as an ST-LINK status. A faulted AHB access is an
 * AP FAULT (what O12's comment on STLINK_SWD_AP_FAULT describes for reads
 * outside RAM); a DP that does not answer at all (no power, pins taken) is
 * a DP error [U: which of 0x15/0x16 real firmware reports; O12 fails on
 * both]; a register access on a running core is a plain FAULT. */
uint8_t stl_status_of(sim_err e)
{
    switch (e) {
    case SIM_OK:
        return STLINK_DEBUG_ERR_OK;
    case SIM_E_BUS:
        return STLINK_SWD_AP_FAULT;
    case SIM_E_NO_POWER:
    case SIM_E_NO_LINK:
        return STLINK_SWD_DP_ERROR;
    default:
        return STLINK_DEBUG_ERR_FAULT;
    }
}

bool stl_in_debug(const stlink_probe *p)
{
    return p->mode == STLINK_DEV_DEBUG_MODE;
}

/* Does the DP answer? Reads CPUID, which has no side effects (DHCSR would
 * clear its sticky S_RESET_ST). */
sim_err stl_link_check(stlink_probe *p)
{
    if (!p->board)
        return SIM_E_NO_POWER; /* nothing on the cable: no ACK, as unpowered */
    uint32_t v = 0;
    sim_err e = sim_board_read32(p->board, REG_CPUID, &v);
    return e == SIM_E_BUS ? SIM_OK : e;
}

static bool pc_in_sram(sim_board *b)
{
    uint32_t pc = 0;
    if (sim_board_reg_read(b, 15, &pc) != SIM_OK)
        return false;
    const sim_chip *c = sim_board_chip(b);
    uint64_t total = (uint64_t)c->sram_size + c->sram2_size;
    if (pc >= c->sram_base && pc - c->sram_base < total)
        return true;
    return c->sram2_size && pc >= c->sram2_base && pc - c->sram2_base < c->sram2_size;
}

static bool loader_should_fail(stlink_probe *p)
{
    switch (p->loader_mode) {
    case LOADER_FAIL_NONE:
        return false;
    case LOADER_FAIL_ONCE:
        p->loader_mode = LOADER_FAIL_NONE;
        return true;
    case LOADER_FAIL_ALTERNATE:
        return p->session_failing;
    case LOADER_FAIL_ALWAYS:
        return true;
    }
    return false;
}

/*
 * A write of v to DHCSR. If it lets a halted core whose PC is in SRAM run,
 * it starts a flash loader (S17 stlink_flash_loader_run: WREG R0-R3, PC,
 * then stlink_run(RUN_FLASH_LOADER) = DHCSR A05F0009; O12's algorithms the
 * same way through DHCSR). An injected failure makes the core take a bus
 * fault before its first block completes: advancing 1 ns lets the board
 * deliver it at the next block boundary, so not even a short loader reaches
 * its BKPT.
 */
static sim_err write_dhcsr(stlink_probe *p, uint32_t v)
{
    sim_board *b = p->board;
    bool lets_run = (v & 0xFFFF0000u) == DHCSR_KEY && (v & C_DEBUGEN) && !(v & (C_HALT | C_STEP));
    bool loader = lets_run && sim_board_halted(b) && pc_in_sram(b);
    sim_err e = sim_board_write32(b, REG_DHCSR, v);
    if (e != SIM_OK || !loader)
        return e;
    p->loader_runs++;
    if (loader_should_fail(p)) {
        p->loader_fails++;
        if (!sim_board_halted(b) && !sim_board_locked_up(b)) {
            sim_board_fault_now(b);
            sim_board_advance(b, 1);
        }
    }
    return e;
}

/* Memory write through the AHB-AP; a 32-bit write covering DHCSR goes
 * through write_dhcsr so that loader runs are seen however the host writes
 * it (O12 resumes with a 4-byte WRITEMEM_32BIT or WRITEDEBUGREG). */
sim_err stl_mem_write(stlink_probe *p, uint32_t addr, const uint8_t *buf, size_t len,
                      unsigned width, uint32_t *fault)
{
    sim_board *b = p->board;
    uint64_t end = (uint64_t)addr + len;
    if (width == 4 && addr <= REG_DHCSR && (uint64_t)REG_DHCSR + 4 <= end && !(addr & 3)) {
        size_t off = REG_DHCSR - addr;
        sim_err e = off ? sim_board_mem_write(b, addr, buf, off, 4, fault) : SIM_OK;
        if (e)
            return e;
        e = write_dhcsr(p, stl_get32(buf + off));
        if (e) {
            *fault = REG_DHCSR;
            return e;
        }
        if (len > off + 4)
            return sim_board_mem_write(b, REG_DHCSR + 4, buf + off + 4, len - off - 4, 4, fault);
        return SIM_OK;
    }
    return sim_board_mem_write(b, addr, buf, len, width, fault);
}

static sim_err write_word(stlink_probe *p, uint32_t addr, uint32_t v)
{
    uint8_t buf[4];
    uint32_t fault = 0;
    stl_put32(buf, v);
    return stl_mem_write(p, addr, buf, 4, 4, &fault);
}

/*
 * The firmware's own register commands (READ/WRITEDEBUGREG, READ/WRITEREG,
 * READALLREGS, RESETSYS, RUNCORE...) work through AP0: OpenOCD reaches any
 * other AP only with memory commands naming it (ap_num), and refuses the
 * H5 over its high-level ST-LINK driver for that reason (stm32h5x.cfg).
 * On a part whose AP0 is a debug APB-AP (mem_ap != 0: the H5) they reach
 * the DBGMCU window there and nothing of the core: an AP fault.
 */
static bool ap0_is_apb(const stlink_probe *p)
{
    return sim_board_chip(p->board)->mem_ap != 0;
}

/* addr as AP0 sees it on such a part: the DBGMCU window, or false. */
static bool apb_target(const stlink_probe *p, uint32_t addr, uint32_t *at)
{
    const sim_chip *c = sim_board_chip(p->board);
    if (!c->apb_dbgmcu || addr - c->apb_dbgmcu >= 0x1000u)
        return false;
    *at = c->idcode_addr + (addr - c->apb_dbgmcu);
    return true;
}

/* One 32-bit debug-register read or write (READ/WRITEDEBUGREG). */
uint8_t stl_debugreg_read(stlink_probe *p, uint32_t addr, uint32_t *v)
{
    *v = 0;
    if (!stl_in_debug(p))
        return STLINK_DEBUG_ERR_FAULT;
    if (!p->board)
        return STLINK_SWD_DP_ERROR;
    stl_swd_xfers(p, 4); /* CSW, TAR, DRW, RDBUFF */
    if (ap0_is_apb(p) && !apb_target(p, addr, &addr))
        return STLINK_SWD_AP_FAULT;
    return stl_status_of(sim_board_read32(p->board, addr, v));
}

uint8_t stl_debugreg_write(stlink_probe *p, uint32_t addr, uint32_t v)
{
    if (!stl_in_debug(p))
        return STLINK_DEBUG_ERR_FAULT;
    if (!p->board)
        return STLINK_SWD_DP_ERROR;
    stl_swd_xfers(p, 3); /* CSW, TAR, DRW */
    if (ap0_is_apb(p) && !apb_target(p, addr, &addr))
        return STLINK_SWD_AP_FAULT;
    return stl_status_of(write_word(p, addr, v));
}

uint8_t stl_core_reg_read(stlink_probe *p, unsigned regsel, uint32_t *v)
{
    *v = 0;
    if (!stl_in_debug(p))
        return STLINK_DEBUG_ERR_FAULT;
    if (!p->board)
        return STLINK_SWD_DP_ERROR;
    stl_swd_xfers(p, 11); /* DCRSR write, DHCSR.S_REGRDY read, DCRDR read */
    if (ap0_is_apb(p))
        return STLINK_SWD_AP_FAULT;
    sim_err e = sim_board_reg_read(p->board, regsel, v);
    if (e)
        *v = 0;
    return stl_status_of(e);
}

uint8_t stl_core_reg_write(stlink_probe *p, unsigned regsel, uint32_t v)
{
    if (!stl_in_debug(p))
        return STLINK_DEBUG_ERR_FAULT;
    if (!p->board)
        return STLINK_SWD_DP_ERROR;
    stl_swd_xfers(p, 10); /* DCRDR write, DCRSR write, DHCSR.S_REGRDY read */
    if (ap0_is_apb(p))
        return STLINK_SWD_AP_FAULT;
    return stl_status_of(sim_board_reg_write(p->board, regsel, v));
}
