/*
 * The virtual board's core: memory map, the Unicorn CPU and its hooks,
 * virtual time, exceptions, resets, and the debugger's view of the bus.
 *
 * How the memory map is modelled, and why:
 *  - Flash (and its boot alias at 0) is host memory mapped execute-only.
 *    Code runs from it at full speed; a data load takes the read-protection
 *    hook (so a load from busy flash stalls and RDP can refuse it); a store
 *    takes the write-protection hook, which hands it to the flash controller
 *    model and drops the raw store (Unicorn discards stores to read-only
 *    RAM once the hook has handled them). Unicorn cannot execute from
 *    uc_mmio_map regions, which is why flash is not one.
 *  - SRAM is plain host memory. System blocks (boot ROM, UID, option bytes)
 *    and the L0 data EEPROM are read-only host memory whose stores go to the
 *    flash controller.
 *  - Peripherals (0x40000000) and the private peripheral bus (0xE0000000)
 *    are uc_mmio_map callbacks into periph.c and scs.c.
 *  - Anything else is unmapped: the core takes a bus fault, the debugger
 *    gets an AHB error.
 * Faults raised inside an MMIO callback are delivered at the next block
 * boundary (an imprecise bus fault, which is what a buffered store gives on
 * a Cortex-M3/M4 too).
 */
#define _GNU_SOURCE
#include "board_state.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PERIPH_BASE 0x40000000u
#define PERIPH_SIZE 0x20000000u
#define PPB_BASE    0xE0000000u
#define PPB_SIZE    0x00100000u
#define UNTIL_NEVER 0xFFFFFFFFu /* PC is always even: never reached */

#define DFSR_HALTED (1u << 0)
#define DFSR_BKPT   (1u << 1)
#define DFSR_VCATCH (1u << 3)

#define CFSR_IBUSERR     (1u << 8)
#define CFSR_PRECISERR   (1u << 9)
#define CFSR_IMPRECISERR (1u << 10)
#define CFSR_BFARVALID   (1u << 15)
#define CFSR_UNDEFINSTR  (1u << 16)
#define CFSR_INVSTATE    (1u << 17)
#define HFSR_FORCED      (1u << 30)

#define XPSR_T (1u << 24)

const char *sim_err_str(sim_err err)
{
    switch (err) {
    case SIM_OK:
        return "ok";
    case SIM_E_ARG:
        return "invalid argument";
    case SIM_E_NOMEM:
        return "out of memory";
    case SIM_E_ENGINE:
        return "CPU emulator error";
    case SIM_E_BUS:
        return "bus error (AHB-AP fault)";
    case SIM_E_NOT_HALTED:
        return "core not halted";
    case SIM_E_NO_POWER:
        return "target has no power";
    case SIM_E_NO_LINK:
        return "SWD does not answer (try connect under reset)";
    }
    return "unknown error";
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* splitmix64: small, well mixed, and reproducible from the seed. */
uint64_t sim_board_random(sim_board *b)
{
    uint64_t z = (b->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ---- services for controllers and peripherals ---------------------------- */

uint64_t sim_now_ps(const sim_board *b)
{
    return b->now_ps;
}

void sim_stall_until(sim_board *b, uint64_t t_ps)
{
    if (t_ps > b->now_ps)
        b->now_ps = t_ps;
}

void sim_flash_begin_op(sim_board *b, uint64_t ns)
{
    b->flash_busy_until = b->now_ps + ns * PS_PER_NS;
}

bool sim_flash_busy(const sim_board *b)
{
    return b->now_ps < b->flash_busy_until;
}

uint64_t sim_flash_busy_until(const sim_board *b)
{
    return b->flash_busy_until;
}

uint8_t *sim_flash_ptr(sim_board *b)
{
    return b->flash;
}

static void mark_dirty(sim_board *b, uint32_t addr, uint32_t len)
{
    if (len == 0)
        return;
    unsigned r = addr >> 27;
    uint32_t end = (uint64_t)addr + len > 0xFFFFFFFFu ? 0xFFFFFFFFu : addr + len;
    if (b->dirty_lo[r] >= b->dirty_hi[r]) {
        b->dirty_lo[r] = addr;
        b->dirty_hi[r] = end;
        return;
    }
    if (addr < b->dirty_lo[r])
        b->dirty_lo[r] = addr;
    if (end > b->dirty_hi[r])
        b->dirty_hi[r] = end;
}

void sim_flash_changed(sim_board *b, uint32_t addr, uint32_t len)
{
    /* Code may have been translated from either address of the array. */
    uint32_t off = addr - b->chip->flash_base;
    clock_view_sync(b, off, len);
    mark_dirty(b, b->chip->flash_base + off, len);
    mark_dirty(b, off, len);
}

static void flush_dirty(sim_board *b)
{
    for (unsigned r = 0; r < 32; r++) {
        if (b->dirty_lo[r] < b->dirty_hi[r])
            uc_ctl_remove_cache(b->uc, b->dirty_lo[r], b->dirty_hi[r]);
        b->dirty_lo[r] = b->dirty_hi[r] = 0;
    }
}

uint8_t *sim_board_info_ptr(sim_board *b, uint32_t addr, uint32_t len)
{
    const sim_chip *c = b->chip;
    for (int i = 0; i < 3 && c->sys[i].size; i++)
        if (addr >= c->sys[i].base && len <= c->sys[i].size &&
            addr - c->sys[i].base <= c->sys[i].size - len)
            return b->sys[i] + (addr - c->sys[i].base);
    if (c->eeprom_size && addr >= c->eeprom_base && len <= c->eeprom_size &&
        addr - c->eeprom_base <= c->eeprom_size - len)
        return b->eeprom + (addr - c->eeprom_base);
    return NULL;
}

bool sim_flash_cell_bad(const sim_board *b, uint32_t addr, uint32_t len)
{
    return b->bad_cell && b->bad_cell_addr >= addr && b->bad_cell_addr < addr + len;
}

bool sim_debugger_attached(const sim_board *b)
{
    return b->debugger_attached;
}

void sim_board_request_reset(sim_board *b)
{
    b->reset_pending = true;
    b->stop_at_ps = 0;
}

/* ---- the bus, as both masters see it ------------------------------------- */

enum region_kind { R_NONE, R_FLASH, R_SRAM, R_SYS, R_EEPROM, R_PERIPH, R_PPB };

/* addr..addr+width-1 inside [base, base+size), without 32-bit wrap-around. */
static bool within(uint32_t addr, unsigned width, uint32_t base, uint32_t size)
{
    return size >= width && addr >= base && addr - base <= size - width;
}

/* Find what addr..addr+width-1 is; *mem points at its bytes for memories. */
static enum region_kind decode(sim_board *b, uint32_t addr, unsigned width, uint8_t **mem,
                               uint32_t *flash_addr)
{
    const sim_chip *c = b->chip;
    if (within(addr, width, c->flash_base, c->flash_size)) {
        *mem = b->flash + (addr - c->flash_base);
        *flash_addr = addr;
        return R_FLASH;
    }
    if (within(addr, width, 0, c->flash_size)) { /* boot alias of main flash */
        *mem = b->flash + addr;
        *flash_addr = c->flash_base + addr;
        return R_FLASH;
    }
    if (within(addr, width, c->sram_base, c->sram_size + c->sram2_size)) {
        *mem = b->sram + (addr - c->sram_base);
        return R_SRAM;
    }
    if (c->sram2_size && within(addr, width, c->sram2_base, c->sram2_size)) {
        *mem = b->sram + c->sram_size + (addr - c->sram2_base);
        return R_SRAM;
    }
    for (int i = 0; i < 3 && c->sys[i].size; i++)
        if (within(addr, width, c->sys[i].base, c->sys[i].size)) {
            *mem = b->sys[i] + (addr - c->sys[i].base);
            *flash_addr = addr;
            return R_SYS;
        }
    if (c->eeprom_size && within(addr, width, c->eeprom_base, c->eeprom_size)) {
        *mem = b->eeprom + (addr - c->eeprom_base);
        *flash_addr = addr;
        return R_EEPROM;
    }
    if (within(addr, width, PERIPH_BASE, PERIPH_SIZE))
        return R_PERIPH;
    if (within(addr, width, PPB_BASE, PPB_SIZE))
        return R_PPB;
    return R_NONE;
}

static uint32_t lane_mask(uint32_t addr, unsigned width)
{
    uint32_t m = width == 4 ? 0xFFFFFFFFu : width == 2 ? 0xFFFFu : 0xFFu;
    return m << (8 * (addr & 3));
}

static bool device_read(sim_board *b, enum region_kind k, uint32_t addr, unsigned width,
                        bus_master who, uint32_t *out)
{
    bool ok = true;
    uint32_t word =
        k == R_PERIPH ? periph_read(b, addr & ~3u, who, &ok) : scs_read(b, addr & ~3u, who, &ok);
    uint32_t shift = 8 * (addr & 3);
    *out = (word & lane_mask(addr, width)) >> shift;
    return ok;
}

static bool device_write(sim_board *b, enum region_kind k, uint32_t addr, unsigned width,
                         bus_master who, uint32_t v)
{
    bool ok = true;
    uint32_t mask = lane_mask(addr, width);
    uint32_t val = (v << (8 * (addr & 3))) & mask;
    if (k == R_PERIPH)
        periph_write(b, addr & ~3u, val, mask, who, &ok);
    else
        scs_write(b, addr & ~3u, val, mask, who, &ok);
    return ok;
}

static bool bus_read(sim_board *b, bus_master who, uint32_t addr, unsigned width, uint32_t *out)
{
    uint8_t *mem = NULL;
    uint32_t faddr = 0;
    if (addr & (width - 1))
        return false; /* the AHB-AP and our stubs never issue unaligned accesses */
    enum region_kind k = decode(b, addr, width, &mem, &faddr);
    switch (k) {
    case R_NONE:
        return false;
    case R_FLASH:
        if (sim_flash_busy(b)) /* RM0008 3.3.3: reads stall until BSY clears */
            sim_stall_until(b, b->flash_busy_until);
        if (who == BUS_DEBUG && b->fops->read_protected(b, b->fstate))
            return false;
        /* What the flash interface delivers: garbled when HCLK is too fast
         * for FLASH_ACR.LATENCY (clock.c). */
        mem = b->flash_view + (mem - b->flash);
        /* fall through */
    case R_SRAM:
    case R_SYS:
    case R_EEPROM:
        *out = 0;
        memcpy(out, mem, width); /* host and target are both little-endian */
        return true;
    case R_PERIPH:
    case R_PPB:
        return device_read(b, k, addr, width, who, out);
    }
    return false;
}

static bool bus_write(sim_board *b, bus_master who, uint32_t addr, unsigned width, uint32_t v)
{
    uint8_t *mem = NULL;
    uint32_t faddr = 0;
    if (addr & (width - 1))
        return false;
    enum region_kind k = decode(b, addr, width, &mem, &faddr);
    switch (k) {
    case R_NONE:
        return false;
    case R_FLASH:
    case R_SYS:
    case R_EEPROM:
        return b->fops->mem_write(b, b->fstate, who, faddr, v, width);
    case R_SRAM:
        memcpy(mem, &v, width);
        if (who == BUS_DEBUG)
            mark_dirty(b, addr, width);
        return true;
    case R_PERIPH:
    case R_PPB:
        return device_write(b, k, addr, width, who, v);
    }
    return false;
}

/* ---- core registers ------------------------------------------------------ */

static uint32_t reg_get(sim_board *b, int reg)
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
    uint32_t t = (reg_get(b, UC_ARM_REG_XPSR) >> 24) & 1;
    reg_set(b, UC_ARM_REG_PC, (pc & ~1u) | t);
}

sim_err board_core_reg_read(sim_board *b, unsigned regsel, uint32_t *v)
{
    if (regsel <= 12) {
        *v = reg_get(b, UC_ARM_REG_R0 + (int)regsel);
        return SIM_OK;
    }
    switch (regsel) {
    case 13:
        *v = reg_get(b, UC_ARM_REG_SP);
        return SIM_OK;
    case 14:
        *v = reg_get(b, UC_ARM_REG_LR);
        return SIM_OK;
    case 15:
        *v = reg_get(b, UC_ARM_REG_PC) & ~1u;
        return SIM_OK;
    case 16:
        *v = reg_get(b, UC_ARM_REG_XPSR);
        return SIM_OK;
    case 17:
        *v = reg_get(b, UC_ARM_REG_MSP);
        return SIM_OK;
    case 18:
        *v = reg_get(b, UC_ARM_REG_PSP);
        return SIM_OK;
    case 20: {
        uint32_t ctrl = reg_get(b, UC_ARM_REG_CONTROL) & 3;
        uint32_t pm = reg_get(b, UC_ARM_REG_PRIMASK) & 1;
        if (b->chip->armv6m) {
            *v = ctrl << 24 | pm;
        } else {
            uint32_t fm = reg_get(b, UC_ARM_REG_FAULTMASK) & 1;
            uint32_t bp = reg_get(b, UC_ARM_REG_BASEPRI) & 0xFF;
            *v = ctrl << 24 | fm << 16 | bp << 8 | pm;
        }
        return SIM_OK;
    }
    default:
        if (!b->chip->armv6m && regsel == 33) {
            *v = reg_get(b, UC_ARM_REG_FPSCR);
            return SIM_OK;
        }
        if (!b->chip->armv6m && regsel >= 64 && regsel < 96) {
            *v = reg_get(b, UC_ARM_REG_S0 + (int)(regsel - 64));
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

static void exception_enter(sim_board *b, int exc)
{
    uint32_t xpsr = reg_get(b, UC_ARM_REG_XPSR);
    uint32_t ipsr = xpsr & 0x1FF;
    if (exc == EXC_HARDFAULT && (ipsr == EXC_HARDFAULT || ipsr == EXC_NMI)) {
        lock_up(b);
        return;
    }
    if (exc == EXC_HARDFAULT && !b->chip->armv6m)
        b->hfsr |= HFSR_FORCED;
    uint32_t control = reg_get(b, UC_ARM_REG_CONTROL);
    bool on_psp = ipsr == 0 && (control & 2);
    uint32_t sp = reg_get(b, UC_ARM_REG_SP);
    uint32_t frame = (sp - 32) & ~7u; /* 8-byte aligned frame; bit 9 records the pad */
    uint32_t words[8] = {
        reg_get(b, UC_ARM_REG_R0),       reg_get(b, UC_ARM_REG_R1),
        reg_get(b, UC_ARM_REG_R2),       reg_get(b, UC_ARM_REG_R3),
        reg_get(b, UC_ARM_REG_R12),      reg_get(b, UC_ARM_REG_LR),
        reg_get(b, UC_ARM_REG_PC) & ~1u, (xpsr & ~(1u << 9)) | ((sp & 4) ? 1u << 9 : 0)};
    for (int i = 0; i < 8; i++)
        if (!bus_write(b, BUS_CPU, frame + 4 * (uint32_t)i, 4, words[i])) {
            lock_up(b); /* stacking fault during a fault entry: give up as silicon does */
            return;
        }
    uint32_t vector = 0;
    if (!bus_read(b, BUS_CPU, b->vtor + 4 * (uint32_t)exc, 4, &vector)) {
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
        exception_enter(b, EXC_HARDFAULT);
    }
}

static void exception_return(sim_board *b)
{
    uint32_t exc_return = reg_get(b, UC_ARM_REG_PC) | 1u;
    bool to_psp = (exc_return & 0xF) == 0xD;
    bool to_thread = (exc_return & 0xF) != 0x1;
    uint32_t sp = to_psp ? reg_get(b, UC_ARM_REG_PSP) : reg_get(b, UC_ARM_REG_MSP);
    uint32_t w[8];
    for (int i = 0; i < 8; i++)
        if (!bus_read(b, BUS_CPU, sp + 4 * (uint32_t)i, 4, &w[i])) {
            lock_up(b);
            return;
        }
    sp += 32 + ((w[7] & (1u << 9)) ? 4 : 0);
    reg_set(b, UC_ARM_REG_XPSR, w[7] & ~(1u << 9));
    if (to_thread && to_psp) {
        reg_set(b, UC_ARM_REG_CONTROL, reg_get(b, UC_ARM_REG_CONTROL) | 2u);
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
    if (!(reg_get(b, UC_ARM_REG_XPSR) & XPSR_T)) {
        /* Resuming without the Thumb bit: INVSTATE UsageFault (B1.4.2). */
        b->cfsr |= CFSR_INVSTATE;
        exception_enter(b, EXC_HARDFAULT);
    }
}

/* Load SP and PC from the vector table at 0 and start (or halt) the core. */
static void core_reset(sim_board *b, bool power_on, uint32_t cause)
{
    /* A reset ends any flash operation at once. The controller's reset sees
     * the operation still busy, so it can leave the cells as silicon does
     * (scrambled: the L0/L4 models do; F1/F4 keep the new content). */
    b->fops->reset(b, b->fstate, power_on);
    b->flash_busy_until = b->now_ps;
    periph_reset(b, power_on);
    scs_reset(b, power_on);
    b->rcc_csr_flags |= cause;
    b->vtor = 0;
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
    bool ok = bus_read(b, BUS_CPU, 0, 4, &sp) && bus_read(b, BUS_CPU, 4, 4, &pc);
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
        exception_enter(b, EXC_HARDFAULT);
    }
}

#define RCC_PINRSTF (1u << 26)
#define RCC_PORRSTF (1u << 27)
#define RCC_SFTRSTF (1u << 28)

void board_system_reset(sim_board *b)
{
    core_reset(b, false, RCC_SFTRSTF);
}

static void power_on_reset(sim_board *b)
{
    b->debugger_attached = false;
    b->dhcsr_ctrl = 0;
    b->demcr = 0;
    b->rcc_csr_flags = 0;
    core_reset(b, true, RCC_PORRSTF | RCC_PINRSTF);
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
        if (is_exc_return(reg_get(b, UC_ARM_REG_PC) | 1u) &&
            (reg_get(b, UC_ARM_REG_XPSR) & 0x1FF) != 0) {
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

static void raise_bus_fault(sim_board *b, uint32_t addr, bool precise)
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
 * array and its boot alias). Unicorn fills its TLB after the first access
 * to a page, so the protection hook below sees only the first read of each
 * page; this one sees them all. */
static void hook_flash_read(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                            void *user)
{
    (void)uc;
    (void)type;
    (void)addr;
    (void)size;
    (void)value;
    sim_board *b = user;
    /* RM0008 3.3.3: reads stall until BSY clears. */
    if (sim_flash_busy(b))
        sim_stall_until(b, b->flash_busy_until);
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
    if (decode(b, (uint32_t)addr, 1, &mem, &faddr) == R_FLASH) {
        /* RDP level 1: code running from SRAM while a debugger is attached
         * cannot read main flash (RM0008 4.3.1; DS10198 Table 3). */
        if (b->debugger_attached && b->fops->read_protected(b, b->fstate))
            raise_bus_fault(b, (uint32_t)addr, true);
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
    if (!bus_write(b, BUS_CPU, (uint32_t)addr, (unsigned)size, v))
        raise_bus_fault(b, (uint32_t)addr, false);
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
        (reg_get(b, UC_ARM_REG_XPSR) & 0x1FF) != 0) {
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
    if (!device_read(b, k, addr, size, BUS_CPU, &v))
        raise_bus_fault(b, addr, false);
    return v;
}

static void mmio_write(sim_board *b, enum region_kind k, uint32_t addr, unsigned size, uint64_t v)
{
    if (!device_write(b, k, addr, size, BUS_CPU, (uint32_t)v))
        raise_bus_fault(b, addr, false);
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

/* ---- creation -------------------------------------------------------------- */

static void *alloc_pages(size_t size, int fill)
{
    size_t rounded = (size + 4095) & ~(size_t)4095;
    void *p = aligned_alloc(4096, rounded);
    if (p)
        memset(p, fill, rounded);
    return p;
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

static uc_err map_all(sim_board *b)
{
    const sim_chip *c = b->chip;
    /* The core fetches and loads what the flash interface delivers. */
    uc_err e = map_ro(b, c->flash_base, c->flash_size, UC_PROT_EXEC, b->flash_view);
    if (!e)
        e = map_ro(b, 0, c->flash_size, UC_PROT_EXEC, b->flash_view);
    if (!e)
        e = uc_mem_map_ptr(b->uc, c->sram_base, c->sram_size + c->sram2_size, UC_PROT_ALL, b->sram);
    if (!e && c->sram2_size)
        e = uc_mem_map_ptr(b->uc, c->sram2_base, c->sram2_size, UC_PROT_ALL,
                           b->sram + c->sram_size);
    for (int i = 0; !e && i < 3 && c->sys[i].size; i++)
        e = map_ro(b, c->sys[i].base, c->sys[i].size, UC_PROT_READ | UC_PROT_EXEC, b->sys[i]);
    if (!e && c->eeprom_size)
        e = map_ro(b, c->eeprom_base, 4096, UC_PROT_READ, b->eeprom);
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
    if (!e)
        e = uc_hook_add(b->uc, &b->hooks[6], UC_HOOK_MEM_READ, (void *)hook_flash_read, b, 0,
                        c->flash_size - 1);
    return e;
}

/* Identity bytes every board carries in its system block. */
static void write_identity(sim_board *b)
{
    const sim_chip *c = b->chip;
    uint64_t r = sim_board_random(b);
    /* RM0008 30.2: UID = X/Y wafer coordinates, wafer number, lot number. */
    b->uid[0] = (uint32_t)(r & 0x00FF00FFu) + 0x00010001u;
    b->uid[1] = (uint32_t)(r >> 32) | 0x30000000u;
    b->uid[2] = 0x30303030u | (uint32_t)(sim_board_random(b) & 0x0F0F0F0Fu);
    for (int i = 0; i < 3; i++) {
        uint8_t *p = sim_board_info_ptr(b, c->uid_addr[i], 4);
        if (p)
            memcpy(p, &b->uid[i], 4);
    }
    uint16_t kib = (uint16_t)(c->flash_size / 1024);
    uint8_t *p = sim_board_info_ptr(b, c->flash_size_reg, 2);
    if (p)
        memcpy(p, &kib, 2);
}

sim_err sim_board_create(const char *chip_name, uint64_t seed, double speed, sim_board **out)
{
    *out = NULL;
    const sim_chip *c = sim_chip_find(chip_name);
    if (!c)
        return SIM_E_ARG;
    return sim_board_create_row(c, seed, speed, out);
}

sim_err sim_board_create_row(const sim_chip *c, uint64_t seed, double speed, sim_board **out)
{
    *out = NULL;
    if (!c || !c->flash || !c->clock || speed < 0)
        return SIM_E_ARG;
    sim_board *b = calloc(1, sizeof *b);
    if (!b)
        return SIM_E_NOMEM;
    b->chip = c;
    b->fops = c->flash;
    b->rng = seed ^ 0x5EEDF1A5u;
    b->speed = speed;
    b->cycle_ps = 1000000000000ull / c->core_hz;
    b->iwdg_halt_since = UINT64_MAX;
    atomic_init(&b->interrupt, false);
    b->fstate = calloc(1, b->fops->state_size ? b->fops->state_size : 1);
    b->flash = alloc_pages(c->flash_size, c->flash_erased);
    b->flash_view = alloc_pages(c->flash_size, c->flash_erased);
    b->sram = alloc_pages(c->sram_size + c->sram2_size, 0);
    bool ok = b->fstate && b->flash && b->flash_view && b->sram;
    for (int i = 0; ok && i < 3 && c->sys[i].size; i++)
        ok = (b->sys[i] = alloc_pages(c->sys[i].size, 0xFF)) != NULL;
    if (ok && c->eeprom_size)
        ok = (b->eeprom = alloc_pages(4096, 0)) != NULL;
    if (!ok) {
        sim_board_destroy(b);
        return SIM_E_NOMEM;
    }
    if (uc_open(UC_ARCH_ARM, UC_MODE_THUMB, &b->uc) != UC_ERR_OK ||
        uc_ctl_set_cpu_model(b->uc, c->cpu_model) != UC_ERR_OK || map_all(b) != UC_ERR_OK) {
        sim_board_destroy(b);
        return SIM_E_ENGINE;
    }
    write_identity(b);
    b->fops->factory(b, b->fstate);
    b->powered = true;
    b->pace_wall_ns = wall_ns();
    power_on_reset(b);
    *out = b;
    return SIM_OK;
}

void sim_board_destroy(sim_board *b)
{
    if (!b)
        return;
    if (b->uc)
        uc_close(b->uc);
    free(b->fstate);
    free(b->flash);
    free(b->flash_view);
    free(b->sram);
    for (int i = 0; i < 3; i++)
        free(b->sys[i]);
    free(b->eeprom);
    free(b);
}

const sim_chip *sim_board_chip(const sim_board *b)
{
    return b->chip;
}

void sim_board_uid(const sim_board *b, uint32_t uid[3])
{
    memcpy(uid, b->uid, sizeof b->uid);
}

void sim_board_set_speed(sim_board *b, double speed)
{
    b->speed = speed < 0 ? 0 : speed;
    b->pace_wall_ns = wall_ns();
    b->pace_vt_ps = b->now_ps;
}

uint64_t sim_board_now_ns(const sim_board *b)
{
    return b->now_ps / PS_PER_NS;
}

uint64_t sim_board_instructions(const sim_board *b)
{
    return b->instructions;
}

const uint8_t *sim_board_flash(const sim_board *b)
{
    return b->flash;
}

bool sim_board_halted(const sim_board *b)
{
    return b->halted;
}

bool sim_board_locked_up(const sim_board *b)
{
    return b->locked_up;
}

bool sim_board_powered(const sim_board *b)
{
    return b->powered;
}

unsigned sim_board_voltage_mv(const sim_board *b)
{
    return b->powered ? 3300 : 0;
}

uint32_t sim_board_dp_idcode(const sim_board *b)
{
    return b->chip->dp_idcode;
}

/* ---- time and running ------------------------------------------------------ */

/* Handle whatever is due at the current time: watchdog, SysTick, resets. */
static void service_events(sim_board *b)
{
    if (b->reset_pending)
        board_system_reset(b);
    if (b->now_ps >= iwdg_expiry(b)) {
        b->rcc_csr_flags |= 1u << 29; /* IWDGRSTF */
        core_reset(b, false, 0);
    }
    clock_service(b);
    systick_service(b);
    if (b->systick_pending && !b->halted && !b->locked_up && !(b->dhcsr_ctrl & 8) &&
        !(reg_get(b, UC_ARM_REG_PRIMASK) & 1) && (reg_get(b, UC_ARM_REG_XPSR) & 0x1FF) == 0) {
        b->systick_pending = false;
        exception_enter(b, EXC_SYSTICK);
    }
}

static bool core_can_run(const sim_board *b)
{
    return b->powered && !b->nrst && !b->halted && !b->locked_up;
}

static void handle_stop(sim_board *b, uc_err e)
{
    enum stop_reason why = b->stop;
    b->stop = STOP_NONE;
    if (e != UC_ERR_OK && why == STOP_NONE) {
        why = STOP_FAULT;
        if (e == UC_ERR_INSN_INVALID)
            b->cfsr |= CFSR_UNDEFINSTR;
    }
    switch (why) {
    case STOP_NONE:
        break;
    case STOP_BKPT:
        /* With halting debug enabled BKPT enters debug state; without it,
         * it escalates to HardFault (ARMv7-M C1.7). */
        if (b->dhcsr_ctrl & 1)
            board_halt(b, DFSR_BKPT);
        else
            exception_enter(b, EXC_HARDFAULT);
        break;
    case STOP_EXC_RETURN:
        exception_return(b);
        break;
    case STOP_SVC:
        exception_enter(b, EXC_SVCALL);
        break;
    case STOP_FAULT:
        exception_enter(b, EXC_HARDFAULT);
        break;
    }
    if (b->bus_fault_pending) {
        b->bus_fault_pending = false;
        if (!b->halted)
            exception_enter(b, EXC_HARDFAULT);
    }
}

static uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Run the core until `until` or until it stops running. */
static void run_core(sim_board *b, uint64_t until)
{
    while (b->now_ps < until && core_can_run(b) &&
           !atomic_load_explicit(&b->interrupt, memory_order_relaxed)) {
        /* With C_MASKINTS the debugger keeps interrupts out for the whole
         * run: SysTick wraps need no stop, systick_service() counts them. */
        uint64_t tick = (b->dhcsr_ctrl & 8) ? UINT64_MAX : systick_next_event(b);
        uint64_t event = min64(min64(tick, iwdg_expiry(b)), clock_next_event(b));
        uint64_t stop = min64(until, event);
        if (stop <= b->now_ps) {
            service_events(b);
            if (min64(min64(tick, iwdg_expiry(b)), clock_next_event(b)) <= b->now_ps)
                b->now_ps++; /* guarantee progress */
            continue;
        }
        b->stop_at_ps = stop;
        b->stop = STOP_NONE;
        flush_dirty(b);
        uint32_t pc = reg_get(b, UC_ARM_REG_PC);
        bool step = (b->dhcsr_ctrl & 5) == 5; /* C_STEP with C_DEBUGEN */
        uc_err e = uc_emu_start(b->uc, pc | 1u, UNTIL_NEVER, 0, step ? 1 : 0);
        if (step)
            b->now_ps += b->cycle_ps;
        handle_stop(b, e);
        service_events(b);
        if (step && core_can_run(b))
            board_halt(b, DFSR_HALTED);
    }
}

static void pace(sim_board *b)
{
    if (b->speed <= 0)
        return;
    uint64_t wall = wall_ns();
    uint64_t target =
        b->pace_wall_ns + (uint64_t)((double)(b->now_ps - b->pace_vt_ps) / 1000.0 * b->speed);
    if (target > wall) {
        uint64_t d = target - wall;
        struct timespec ts = {(time_t)(d / 1000000000ull), (long)(d % 1000000000ull)};
        nanosleep(&ts, NULL);
    } else if (wall - target > 20000000ull) {
        /* Far behind (the host was busy elsewhere): restart the reckoning
         * rather than rush to catch up. */
        b->pace_wall_ns = wall;
        b->pace_vt_ps = b->now_ps;
    }
}

sim_err sim_board_advance(sim_board *b, uint64_t ns)
{
    uint64_t until = b->now_ps + ns * PS_PER_NS;
    bool was_running = core_can_run(b);
    while (b->now_ps < until) {
        if (atomic_exchange(&b->interrupt, false))
            break;
        uint64_t slice = b->speed > 0 ? min64(until, b->now_ps + PS_PER_MS) : until;
        if (!b->powered) {
            b->now_ps = slice;
        } else if (core_can_run(b)) {
            run_core(b, slice);
        } else {
            /* Core halted, locked up or held in reset: only time moves. */
            uint64_t next = min64(slice, min64(iwdg_expiry(b), clock_next_event(b)));
            if (next > b->now_ps)
                b->now_ps = next;
            service_events(b);
        }
        pace(b);
        if (was_running && b->halted)
            break;
    }
    return SIM_OK;
}

void sim_board_fault_now(sim_board *b)
{
    raise_bus_fault(b, 0, false);
}

void sim_board_interrupt(sim_board *b)
{
    atomic_store(&b->interrupt, true);
    uc_emu_stop(b->uc);
}

/* ---- the debugger's entry points ------------------------------------------ */

static sim_err link_state(const sim_board *b)
{
    if (!b->powered)
        return SIM_E_NO_POWER;
    /* SIM_FAULT_SWD_LOCKED: firmware takes the SWD pins (or sleeps) as soon
     * as it runs; only a core held in reset or halted keeps the port. */
    if (b->fault_swd_locked && !b->nrst && !b->halted && b->now_ps > 0 && !(b->dhcsr_ctrl & 1))
        return SIM_E_NO_LINK;
    return SIM_OK;
}

sim_err sim_board_mem_read(sim_board *b, uint32_t addr, void *buf, size_t len, unsigned width,
                           uint32_t *fault_addr)
{
    sim_err e = link_state(b);
    if (e)
        return e;
    if ((width != 1 && width != 2 && width != 4) || len % width)
        return SIM_E_ARG;
    uint8_t *out = buf;
    for (size_t i = 0; i < len; i += width) {
        uint32_t v = 0;
        if (!bus_read(b, BUS_DEBUG, addr + (uint32_t)i, width, &v)) {
            if (fault_addr)
                *fault_addr = addr + (uint32_t)i;
            return SIM_E_BUS;
        }
        memcpy(out + i, &v, width);
    }
    return SIM_OK;
}

sim_err sim_board_mem_write(sim_board *b, uint32_t addr, const void *buf, size_t len,
                            unsigned width, uint32_t *fault_addr)
{
    sim_err e = link_state(b);
    if (e)
        return e;
    if ((width != 1 && width != 2 && width != 4) || len % width)
        return SIM_E_ARG;
    const uint8_t *in = buf;
    for (size_t i = 0; i < len; i += width) {
        uint32_t v = 0;
        memcpy(&v, in + i, width);
        if (!bus_write(b, BUS_DEBUG, addr + (uint32_t)i, width, v)) {
            if (fault_addr)
                *fault_addr = addr + (uint32_t)i;
            return SIM_E_BUS;
        }
    }
    return SIM_OK;
}

sim_err sim_board_read32(sim_board *b, uint32_t addr, uint32_t *v)
{
    return sim_board_mem_read(b, addr, v, 4, 4, NULL);
}

sim_err sim_board_write32(sim_board *b, uint32_t addr, uint32_t v)
{
    return sim_board_mem_write(b, addr, &v, 4, 4, NULL);
}

sim_err sim_board_reg_read(sim_board *b, unsigned regsel, uint32_t *v)
{
    sim_err e = link_state(b);
    if (e)
        return e;
    if (!b->halted)
        return SIM_E_NOT_HALTED;
    return board_core_reg_read(b, regsel, v);
}

sim_err sim_board_reg_write(sim_board *b, unsigned regsel, uint32_t v)
{
    sim_err e = link_state(b);
    if (e)
        return e;
    if (!b->halted)
        return SIM_E_NOT_HALTED;
    return board_core_reg_write(b, regsel, v);
}

void sim_board_nrst(sim_board *b, bool asserted)
{
    if (!b->powered || asserted == b->nrst)
        return;
    systick_snapshot(b);
    b->nrst = asserted;
    if (asserted) {
        /* Held in reset: the core stops; the debug port stays reachable. */
        b->halted = false;
        b->locked_up = false;
    } else {
        core_reset(b, false, RCC_PINRSTF);
    }
}

void sim_board_power(sim_board *b, bool on)
{
    if (on == b->powered)
        return;
    b->powered = on;
    if (!on) {
        /* SRAM does not survive without supply: leave noise. */
        size_t n = b->chip->sram_size + b->chip->sram2_size;
        for (size_t i = 0; i + 8 <= n; i += 8) {
            uint64_t r = sim_board_random(b);
            memcpy(b->sram + i, &r, 8);
        }
        mark_dirty(b, b->chip->sram_base, (uint32_t)n);
        b->flash_busy_until = b->now_ps;
        return;
    }
    power_on_reset(b);
}

sim_err sim_board_preload(sim_board *b, uint32_t addr, const void *data, size_t len)
{
    const sim_chip *c = b->chip;
    if (addr >= c->flash_base && len <= c->flash_size &&
        addr - c->flash_base <= c->flash_size - len) {
        memcpy(b->flash + (addr - c->flash_base), data, len);
        sim_flash_changed(b, addr, (uint32_t)len);
        return SIM_OK;
    }
    size_t sram = (size_t)c->sram_size + c->sram2_size;
    if (addr >= c->sram_base && len <= sram && addr - c->sram_base <= sram - len) {
        memcpy(b->sram + (addr - c->sram_base), data, len);
        mark_dirty(b, addr, (uint32_t)len);
        return SIM_OK;
    }
    uint8_t *p = sim_board_info_ptr(b, addr, (uint32_t)len);
    if (!p)
        return SIM_E_ARG;
    memcpy(p, data, len);
    return SIM_OK;
}
