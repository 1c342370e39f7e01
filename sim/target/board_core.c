/*
 * The virtual board's Cortex-M core around Unicorn: core registers as the
 * debugger sees them, exception entry and return, lock-up, halting and
 * resets, the hooks through which Unicorn hands the board its loads, stores,
 * faults and MMIO, and the mapping that installs them (the memory map is
 * described in board.c).
 */
#define _GNU_SOURCE
#include "board_state.h"

#include <stdlib.h>
#include <string.h>

/* ---- core registers ------------------------------------------------------ */

uint32_t board_reg_get(sim_board *b, int reg)
{
    uint32_t v = 0;
    uc_reg_read(b->uc, reg, &v);
    return v;
}

static void reg_set(sim_board *b, int reg, uint32_t v)
{
    uc_reg_write(b->uc, reg, &v);
}

/* Unicorn takes the Thumb state from bit 0 of a PC write; on M-profile it is
 * xPSR.T, so keep whatever T is while moving the PC. */
static void set_pc(sim_board *b, uint32_t pc)
{
    uint32_t t = (board_reg_get(b, UC_ARM_REG_XPSR) >> 24) & 1;
    reg_set(b, UC_ARM_REG_PC, (pc & ~1u) | t);
}

sim_err board_core_reg_read(sim_board *b, unsigned regsel, uint32_t *v)
{
    if (regsel <= 12) {
        *v = board_reg_get(b, UC_ARM_REG_R0 + (int)regsel);
        return SIM_OK;
    }
    switch (regsel) {
    case 13:
        *v = board_reg_get(b, UC_ARM_REG_SP);
        return SIM_OK;
    case 14:
        *v = board_reg_get(b, UC_ARM_REG_LR);
        return SIM_OK;
    case 15:
        *v = board_reg_get(b, UC_ARM_REG_PC) & ~1u;
        return SIM_OK;
    case 16:
        *v = board_reg_get(b, UC_ARM_REG_XPSR);
        return SIM_OK;
    case 17:
        *v = board_reg_get(b, UC_ARM_REG_MSP);
        return SIM_OK;
    case 18:
        *v = board_reg_get(b, UC_ARM_REG_PSP);
        return SIM_OK;
    case 20: {
        uint32_t ctrl = board_reg_get(b, UC_ARM_REG_CONTROL) & 3;
        uint32_t pm = board_reg_get(b, UC_ARM_REG_PRIMASK) & 1;
        if (b->chip->armv6m) {
            *v = ctrl << 24 | pm;
        } else {
            uint32_t fm = board_reg_get(b, UC_ARM_REG_FAULTMASK) & 1;
            uint32_t bp = board_reg_get(b, UC_ARM_REG_BASEPRI) & 0xFF;
            *v = ctrl << 24 | fm << 16 | bp << 8 | pm;
        }
        return SIM_OK;
    }
    default:
        if (!b->chip->armv6m && regsel == 33) {
            *v = board_reg_get(b, UC_ARM_REG_FPSCR);
            return SIM_OK;
        }
        if (!b->chip->armv6m && regsel >= 64 && regsel < 96) {
            *v = board_reg_get(b, UC_ARM_REG_S0 + (int)(regsel - 64));
            return SIM_OK;
        }
        return SIM_E_ARG;
    }
}

sim_err board_core_reg_write(sim_board *b, unsigned regsel, uint32_t v)
{
    if (regsel <= 12) {
        reg_set(b, UC_ARM_REG_R0 + (int)regsel, v);
        return SIM_OK;
    }
    switch (regsel) {
    case 13:
        reg_set(b, UC_ARM_REG_SP, v & ~3u);
        return SIM_OK;
    case 14:
        reg_set(b, UC_ARM_REG_LR, v);
        return SIM_OK;
    case 15:
        set_pc(b, v);
        return SIM_OK;
    case 16:
        reg_set(b, UC_ARM_REG_XPSR, v);
        return SIM_OK;
    case 17:
        reg_set(b, UC_ARM_REG_MSP, v & ~3u);
        return SIM_OK;
    case 18:
        reg_set(b, UC_ARM_REG_PSP, v & ~3u);
        return SIM_OK;
    case 20:
        reg_set(b, UC_ARM_REG_PRIMASK, v & 1);
        if (!b->chip->armv6m) {
            reg_set(b, UC_ARM_REG_BASEPRI, (v >> 8) & 0xFF);
            reg_set(b, UC_ARM_REG_FAULTMASK, (v >> 16) & 1);
        }
        reg_set(b, UC_ARM_REG_CONTROL, (v >> 24) & 3);
        return SIM_OK;
    default:
        if (!b->chip->armv6m && regsel == 33) {
            reg_set(b, UC_ARM_REG_FPSCR, v);
            return SIM_OK;
        }
        if (!b->chip->armv6m && regsel >= 64 && regsel < 96) {
            reg_set(b, UC_ARM_REG_S0 + (int)(regsel - 64), v);
            return SIM_OK;
        }
        return SIM_E_ARG;
    }
}

/* ---- exceptions (ARMv7-M B1.5.6-B1.5.8, simplified to what a board needs) - */

static void lock_up(sim_board *b)
{
    /* ARMv7-M B1.5.15: the core stops fetching at 0xFFFFFFFE. */
    b->locked_up = true;
    set_pc(b, 0xFFFFFFFEu);
}

void board_exception_enter(sim_board *b, int exc)
{
    uint32_t xpsr = board_reg_get(b, UC_ARM_REG_XPSR);
    uint32_t ipsr = xpsr & 0x1FF;
    if (exc == EXC_HARDFAULT && (ipsr == EXC_HARDFAULT || ipsr == EXC_NMI)) {
        lock_up(b);
        return;
    }
    if (exc == EXC_HARDFAULT && !b->chip->armv6m)
        b->hfsr |= HFSR_FORCED;
    uint32_t control = board_reg_get(b, UC_ARM_REG_CONTROL);
    bool on_psp = ipsr == 0 && (control & 2);
    uint32_t sp = board_reg_get(b, UC_ARM_REG_SP);
    uint32_t frame = (sp - 32) & ~7u; /* 8-byte aligned frame; bit 9 records the pad */
    uint32_t words[8] = {
        board_reg_get(b, UC_ARM_REG_R0),       board_reg_get(b, UC_ARM_REG_R1),
        board_reg_get(b, UC_ARM_REG_R2),       board_reg_get(b, UC_ARM_REG_R3),
        board_reg_get(b, UC_ARM_REG_R12),      board_reg_get(b, UC_ARM_REG_LR),
        board_reg_get(b, UC_ARM_REG_PC) & ~1u, (xpsr & ~(1u << 9)) | ((sp & 4) ? 1u << 9 : 0)};
    for (int i = 0; i < 8; i++)
        if (!board_bus_write(b, BUS_CPU, frame + 4 * (uint32_t)i, 4, words[i])) {
            lock_up(b); /* stacking fault during a fault entry: give up as silicon does */
            return;
        }
    uint32_t vector = 0;
    if (!board_bus_read(b, BUS_CPU, b->vtor + 4 * (uint32_t)exc, 4, &vector)) {
        lock_up(b);
        return;
    }
    if (on_psp) {
        reg_set(b, UC_ARM_REG_PSP, frame);
        reg_set(b, UC_ARM_REG_CONTROL, control & ~2u);
    } else {
        reg_set(b, UC_ARM_REG_SP, frame);
    }
    reg_set(b, UC_ARM_REG_XPSR, (xpsr & 0xF8000000u) | XPSR_T | (uint32_t)exc);
    reg_set(b, UC_ARM_REG_LR, ipsr ? 0xFFFFFFF1u : on_psp ? 0xFFFFFFFDu : 0xFFFFFFF9u);
    set_pc(b, vector);
    if (!(vector & 1)) { /* a vector without the Thumb bit faults at once */
        b->cfsr |= CFSR_INVSTATE;
        board_exception_enter(b, EXC_HARDFAULT);
    }
}

void board_exception_return(sim_board *b)
{
    uint32_t exc_return = board_reg_get(b, UC_ARM_REG_PC) | 1u;
    bool to_psp = (exc_return & 0xF) == 0xD;
    bool to_thread = (exc_return & 0xF) != 0x1;
    uint32_t sp = to_psp ? board_reg_get(b, UC_ARM_REG_PSP) : board_reg_get(b, UC_ARM_REG_MSP);
    uint32_t w[8];
    for (int i = 0; i < 8; i++)
        if (!board_bus_read(b, BUS_CPU, sp + 4 * (uint32_t)i, 4, &w[i])) {
            lock_up(b);
            return;
        }
    sp += 32 + ((w[7] & (1u << 9)) ? 4 : 0);
    reg_set(b, UC_ARM_REG_XPSR, w[7] & ~(1u << 9));
    if (to_thread && to_psp) {
        reg_set(b, UC_ARM_REG_CONTROL, board_reg_get(b, UC_ARM_REG_CONTROL) | 2u);
        reg_set(b, UC_ARM_REG_PSP, sp);
    } else {
        reg_set(b, UC_ARM_REG_MSP, sp);
    }
    static const int order[6] = {UC_ARM_REG_R0, UC_ARM_REG_R1,  UC_ARM_REG_R2,
                                 UC_ARM_REG_R3, UC_ARM_REG_R12, UC_ARM_REG_LR};
    for (int i = 0; i < 6; i++)
        reg_set(b, order[i], w[i]);
    set_pc(b, w[6]);
}

/* ---- halting and resets -------------------------------------------------- */

void board_halt(sim_board *b, uint32_t dfsr_reason)
{
    if (!b->halted) {
        systick_snapshot(b);
        b->halted = true;
        iwdg_halt_changed(b);
    }
    b->locked_up = false;
    b->dfsr |= dfsr_reason;
    b->dhcsr_ctrl |= 2; /* C_HALT reads 1 in debug state (st-flash relies on it) */
    b->stop_at_ps = 0;
}

void board_resume(sim_board *b)
{
    if (!b->halted)
        return;
    systick_snapshot(b);
    b->halted = false;
    iwdg_halt_changed(b);
    if (!(board_reg_get(b, UC_ARM_REG_XPSR) & XPSR_T)) {
        /* Resuming without the Thumb bit: INVSTATE UsageFault (B1.4.2). */
        b->cfsr |= CFSR_INVSTATE;
        board_exception_enter(b, EXC_HARDFAULT);
    }
}

/* Load SP and PC from the vector table at 0 (or the row's boot_base) and
 * start (or halt) the core. */
void board_core_reset(sim_board *b, bool power_on, uint32_t cause)
{
    /* A reset ends any flash operation at once. The controller's reset sees
     * the operation still busy, so it can leave the cells as silicon does
     * (scrambled: the L0/L4 models do; F1/F4 keep the new content). */
    b->fops->reset(b, b->fstate, power_on);
    b->flash_busy_until = b->now_ps;
    periph_reset(b, power_on);
    scs_reset(b, power_on);
    b->rcc_csr_flags |= cause;
    b->vtor = b->chip->boot_base; /* [U] H7: VTOR reads BOOT_ADD0's address */
    b->reset_pending = false;
    b->bus_fault_pending = false;
    b->locked_up = false;
    b->halted = false;
    b->s_reset_st = true;
    for (int r = UC_ARM_REG_R0; r <= UC_ARM_REG_R12; r++)
        reg_set(b, r, 0);
    reg_set(b, UC_ARM_REG_XPSR, XPSR_T); /* thread mode, IPSR 0 */
    reg_set(b, UC_ARM_REG_CONTROL, 0);
    reg_set(b, UC_ARM_REG_PRIMASK, 0);
    if (!b->chip->armv6m) {
        reg_set(b, UC_ARM_REG_BASEPRI, 0);
        reg_set(b, UC_ARM_REG_FAULTMASK, 0);
    }
    reg_set(b, UC_ARM_REG_LR, 0xFFFFFFFFu);
    uint32_t sp = 0, pc = 0;
    uint32_t vt = b->chip->boot_base;
    bool ok = board_bus_read(b, BUS_CPU, vt, 4, &sp) && board_bus_read(b, BUS_CPU, vt + 4, 4, &pc);
    reg_set(b, UC_ARM_REG_MSP, sp & ~3u);
    reg_set(b, UC_ARM_REG_XPSR, (pc & 1) ? XPSR_T : 0);
    set_pc(b, pc);
    b->stop_at_ps = 0;
    if ((b->dhcsr_ctrl & 1) && (b->demcr & 1)) { /* DEMCR.VC_CORERESET */
        b->halted = false;
        board_halt(b, DFSR_VCATCH);
        return;
    }
    if (!ok || !(pc & 1)) {
        b->cfsr |= CFSR_INVSTATE;
        board_exception_enter(b, EXC_HARDFAULT);
    }
}

void board_system_reset(sim_board *b)
{
    board_core_reset(b, false, RCC_SFTRSTF);
}

void board_power_on_reset(sim_board *b)
{
    b->debugger_attached = false;
    b->dhcsr_ctrl = 0;
    b->demcr = 0;
    b->rcc_csr_flags = 0;
    board_core_reset(b, true, RCC_PORRSTF | RCC_PINRSTF);
}

/* ---- hooks ----------------------------------------------------------------- */

/* EXC_RETURN: 0xFFFFFFF1 handler/MSP, F9 thread/MSP, FD thread/PSP (and the
 * E1/E9/ED forms with a floating-point frame). */
static bool is_exc_return(uint32_t v)
{
    uint32_t low = v & 0xF;
    return (v & 0xFFFFFFE0u) == 0xFFFFFFE0u && (low == 1 || low == 9 || low == 0xD);
}

static void hook_block(uc_engine *uc, uint64_t addr, uint32_t size, void *user)
{
    (void)addr;
    sim_board *b = user;
    /* One cycle per half-word of code: close enough to Cortex-M timing for
     * watchdogs and loops that wait on flash, and deterministic. */
    b->now_ps += (uint64_t)(size >> 1) * b->cycle_ps;
    b->instructions += size >> 1;
    if (b->now_ps >= b->stop_at_ps || atomic_load_explicit(&b->interrupt, memory_order_relaxed))
        uc_emu_stop(uc);
}

static void hook_intr(uc_engine *uc, uint32_t intno, void *user)
{
    sim_board *b = user;
    switch (intno) {
    case 7: /* EXCP_BKPT */
        b->stop = STOP_BKPT;
        break;
    case 8: /* EXCP_EXCEPTION_EXIT: branch to an EXC_RETURN value */
        b->stop = STOP_EXC_RETURN;
        break;
    case 2: /* EXCP_SWI */
        b->stop = STOP_SVC;
        break;
    case 3: /* EXCP_PREFETCH_ABORT */
        if (is_exc_return(board_reg_get(b, UC_ARM_REG_PC) | 1u) &&
            (board_reg_get(b, UC_ARM_REG_XPSR) & 0x1FF) != 0) {
            /* The fetch from an EXC_RETURN value: see hook_unmapped. */
            b->stop = STOP_EXC_RETURN;
            break;
        }
        b->stop = STOP_FAULT;
        b->cfsr |= CFSR_IBUSERR;
        break;
    default:
        b->stop = STOP_FAULT;
        b->cfsr |= CFSR_UNDEFINSTR;
        break;
    }
    uc_emu_stop(uc);
}

void board_raise_bus_fault(sim_board *b, uint32_t addr, bool precise)
{
    b->bus_fault_pending = true;
    if (precise) {
        b->cfsr |= CFSR_PRECISERR | CFSR_BFARVALID;
        b->bfar = addr;
    } else {
        b->cfsr |= CFSR_IMPRECISERR;
    }
    b->stop_at_ps = 0;
}

/* Every data read of main flash by the core (the hook is bounded to the
 * array and its aliases). Unicorn fills its TLB after the first access
 * to a page, so the protection hook below sees only the first read of each
 * page; this one sees them all. */
static void hook_flash_read(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                            void *user)
{
    (void)uc;
    (void)type;
    (void)value;
    sim_board *b = user;
    /* RM0008 3.3.3: reads stall until BSY clears (per bank where the
     * controller says so). The hook sees the address as the core used it:
     * the controller gets the main-flash address. */
    if (sim_flash_busy(b) || b->fops->read_check) {
        uint8_t *mem = NULL;
        uint32_t faddr = 0;
        if (board_decode(b, (uint32_t)addr, 1, &mem, &faddr) == R_FLASH) {
            board_flash_read_wait(b, faddr);
            if (b->fops->read_check &&
                !b->fops->read_check(b, b->fstate, BUS_CPU, faddr, (unsigned)size))
                board_raise_bus_fault(b, (uint32_t)addr, true);
        }
    }
    /* Each data read of flash waits LATENCY HCLK cycles. Pessimistic: the
     * prefetch buffer, ART accelerator and caches are not modelled (nor
     * are instruction fetches charged). */
    b->now_ps += (uint64_t)b->clk.latency * b->cycle_ps;
}

static bool hook_read_prot(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                           void *user)
{
    (void)uc;
    (void)type;
    (void)size;
    (void)value;
    sim_board *b = user;
    uint8_t *mem = NULL;
    uint32_t faddr = 0;
    if (board_decode(b, (uint32_t)addr, 1, &mem, &faddr) == R_FLASH) {
        /* RDP level 1: code running from SRAM while a debugger is attached
         * cannot read main flash (RM0008 4.3.1; DS10198 Table 3). */
        if (b->debugger_attached && b->fops->read_protected(b, b->fstate))
            board_raise_bus_fault(b, (uint32_t)addr, true);
    }
    return true;
}

static bool hook_write_prot(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                            void *user)
{
    (void)uc;
    (void)type;
    sim_board *b = user;
    uint32_t v = (uint32_t)value;
    if (!board_bus_write(b, BUS_CPU, (uint32_t)addr, (unsigned)size, v))
        board_raise_bus_fault(b, (uint32_t)addr, false);
    return true; /* the raw store into read-only RAM is discarded */
}

static bool hook_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                          void *user)
{
    (void)uc;
    (void)size;
    (void)value;
    sim_board *b = user;
    if (type == UC_MEM_FETCH_UNMAPPED && is_exc_return((uint32_t)addr | 1u) &&
        (board_reg_get(b, UC_ARM_REG_XPSR) & 0x1FF) != 0) {
        /* A branch to an EXC_RETURN value in handler mode. Unicorn only
         * recognises these when its cached mode flags say "handler", which
         * a register write from outside does not update, so catch the fetch
         * from the magic address instead (ARMv7-M B1.5.8). */
        b->stop = STOP_EXC_RETURN;
        return false;
    }
    if (type == UC_MEM_FETCH_UNMAPPED) {
        b->cfsr |= CFSR_IBUSERR;
    } else {
        b->cfsr |= CFSR_PRECISERR | CFSR_BFARVALID;
        b->bfar = (uint32_t)addr;
    }
    return false;
}

static uint64_t mmio_read(sim_board *b, enum region_kind k, uint32_t addr, unsigned size)
{
    uint32_t v = 0;
    if (!board_device_read(b, k, addr, size, BUS_CPU, &v))
        board_raise_bus_fault(b, addr, false);
    return v;
}

static void mmio_write(sim_board *b, enum region_kind k, uint32_t addr, unsigned size, uint64_t v)
{
    if (!board_device_write(b, k, addr, size, BUS_CPU, (uint32_t)v))
        board_raise_bus_fault(b, addr, false);
}

static uint64_t periph_mmio_read(uc_engine *uc, uint64_t off, unsigned size, void *user)
{
    (void)uc;
    return mmio_read(user, R_PERIPH, PERIPH_BASE + (uint32_t)off, size);
}

static void periph_mmio_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t v, void *user)
{
    (void)uc;
    mmio_write(user, R_PERIPH, PERIPH_BASE + (uint32_t)off, size, v);
}

static uint64_t ppb_mmio_read(uc_engine *uc, uint64_t off, unsigned size, void *user)
{
    (void)uc;
    return mmio_read(user, R_PPB, PPB_BASE + (uint32_t)off, size);
}

static void ppb_mmio_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t v, void *user)
{
    (void)uc;
    mmio_write(user, R_PPB, PPB_BASE + (uint32_t)off, size, v);
}

static uc_err map_ro(sim_board *b, uint32_t base, size_t size, uint32_t perms, void *mem)
{
    uc_err e = uc_mem_map_ptr(b->uc, base, size, perms, mem);
    /* uc_mem_map_ptr does not mark the region read-only by itself; only
     * uc_mem_protect does, and only then are raw stores discarded. */
    if (e == UC_ERR_OK)
        e = uc_mem_protect(b->uc, base, size, perms);
    return e;
}

uc_err board_map_all(sim_board *b)
{
    const sim_chip *c = b->chip;
    /* The core fetches and loads what the flash interface delivers. */
    uc_err e = map_ro(b, c->flash_base, c->flash_size, UC_PROT_EXEC, b->flash_view);
    if (!e && !c->boot_base)
        e = map_ro(b, 0, c->flash_size, UC_PROT_EXEC, b->flash_view);
    if (!e && c->itcm_flash_base)
        e = map_ro(b, c->itcm_flash_base, c->flash_size, UC_PROT_EXEC, b->flash_view);
    if (!e)
        e = uc_mem_map_ptr(b->uc, c->sram_base, c->sram_size + c->sram2_size, UC_PROT_ALL, b->sram);
    if (!e && c->sram2_size)
        e = uc_mem_map_ptr(b->uc, c->sram2_base, c->sram2_size, UC_PROT_ALL,
                           b->sram + c->sram_size);
    for (int i = 0; !e && i < 4 && c->ram[i].size; i++)
        e = uc_mem_map_ptr(b->uc, c->ram[i].base, c->ram[i].size, UC_PROT_ALL, b->ram[i]);
    for (int i = 0; !e && i < 3 && c->sys[i].size; i++)
        e = map_ro(b, c->sys[i].base, c->sys[i].size, UC_PROT_READ | UC_PROT_EXEC, b->sys[i]);
    if (!e && c->eeprom_size)
        e = map_ro(b, c->eeprom_base, board_eeprom_map_size(c), UC_PROT_READ, b->eeprom);
    if (!e)
        e = uc_mmio_map(b->uc, PERIPH_BASE, PERIPH_SIZE, periph_mmio_read, b, periph_mmio_write, b);
    if (!e)
        e = uc_mmio_map(b->uc, PPB_BASE, PPB_SIZE, ppb_mmio_read, b, ppb_mmio_write, b);
    if (!e)
        e = uc_hook_add(b->uc, &b->hooks[0], UC_HOOK_BLOCK, (void *)hook_block, b, 1, 0);
    if (!e)
        e = uc_hook_add(b->uc, &b->hooks[1], UC_HOOK_INTR, (void *)hook_intr, b, 1, 0);
    if (!e)
        e = uc_hook_add(b->uc, &b->hooks[2], UC_HOOK_MEM_READ_PROT, (void *)hook_read_prot, b, 1,
                        0);
    if (!e)
        e = uc_hook_add(b->uc, &b->hooks[3], UC_HOOK_MEM_WRITE_PROT, (void *)hook_write_prot, b, 1,
                        0);
    if (!e)
        e = uc_hook_add(b->uc, &b->hooks[4], UC_HOOK_MEM_UNMAPPED, (void *)hook_unmapped, b, 1, 0);
    if (!e)
        e = uc_hook_add(b->uc, &b->hooks[5], UC_HOOK_MEM_READ, (void *)hook_flash_read, b,
                        c->flash_base, c->flash_base + c->flash_size - 1);
    if (!e && !c->boot_base)
        e = uc_hook_add(b->uc, &b->hooks[6], UC_HOOK_MEM_READ, (void *)hook_flash_read, b, 0,
                        c->flash_size - 1);
    if (!e && c->itcm_flash_base)
        e = uc_hook_add(b->uc, &b->hooks[7], UC_HOOK_MEM_READ, (void *)hook_flash_read, b,
                        c->itcm_flash_base, c->itcm_flash_base + c->flash_size - 1);
    return e;
}

/* Identity bytes every board carries in its system block. */
