/*
 * The virtual board: creation and its memory map, the services the flash
 * controllers and peripherals use, and virtual time (running the core).
 * board_core.c has the core around Unicorn (registers, exceptions, resets,
 * hooks, the mapping), board_bus.c the bus and the debugger's entry points.
 *
 * How the memory map is modelled, and why:
 *  - Flash (and its boot alias at 0, and the F7's ITCM alias) is host
 *    memory mapped execute-only.
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

void sim_flash_busy_extend(sim_board *b, uint64_t t_ps)
{
    if (t_ps > b->flash_busy_until)
        b->flash_busy_until = t_ps;
}

/* A read of main flash at addr (its flash_base address) while the array is
 * busy waits until the controller lets it through. */
void board_flash_read_wait(sim_board *b, uint32_t addr)
{
    if (!sim_flash_busy(b))
        return;
    uint64_t t =
        b->fops->read_ready_ps ? b->fops->read_ready_ps(b, b->fstate, addr) : b->flash_busy_until;
    sim_stall_until(b, t);
}

uint8_t *sim_flash_ptr(sim_board *b)
{
    return b->flash;
}

void board_mark_dirty(sim_board *b, uint32_t addr, uint32_t len)
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
    board_mark_dirty(b, b->chip->flash_base + off, len);
    board_mark_dirty(b, off, len);
    if (b->chip->itcm_flash_base)
        board_mark_dirty(b, b->chip->itcm_flash_base + off, len);
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

/* ---- creation -------------------------------------------------------------- */

static void *alloc_pages(size_t size, int fill)
{
    size_t rounded = (size + 4095) & ~(size_t)4095;
    void *p = aligned_alloc(4096, rounded);
    if (p)
        memset(p, fill, rounded);
    return p;
}

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
    for (int i = 0; ok && i < 4 && c->ram[i].size; i++)
        ok = (b->ram[i] = alloc_pages(c->ram[i].size, 0)) != NULL;
    if (ok && c->eeprom_size)
        ok = (b->eeprom = alloc_pages(board_eeprom_map_size(c), 0)) != NULL;
    if (!ok) {
        sim_board_destroy(b);
        return SIM_E_NOMEM;
    }
    if (uc_open(UC_ARCH_ARM, UC_MODE_THUMB, &b->uc) != UC_ERR_OK ||
        uc_ctl_set_cpu_model(b->uc, c->cpu_model) != UC_ERR_OK || board_map_all(b) != UC_ERR_OK) {
        sim_board_destroy(b);
        return SIM_E_ENGINE;
    }
    write_identity(b);
    b->fops->factory(b, b->fstate);
    b->powered = true;
    b->pace_wall_ns = wall_ns();
    board_power_on_reset(b);
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
    for (int i = 0; i < 4; i++)
        free(b->ram[i]);
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

sim_err sim_board_flash_timing(sim_board *b, uint32_t addr, uint32_t len, sim_flash_timing *out)
{
    const sim_chip *c = b->chip;
    if (!out || len == 0 || addr < c->flash_base || addr - c->flash_base >= c->flash_size ||
        len > c->flash_size - (addr - c->flash_base))
        return SIM_E_ARG;
    memset(out, 0, sizeof *out);
    b->fops->timing(b, b->fstate, addr, len, out);
    return SIM_OK;
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
        board_core_reset(b, false, 0);
    }
    clock_service(b);
    systick_service(b);
    if (b->systick_pending && !b->halted && !b->locked_up && !(b->dhcsr_ctrl & 8) &&
        !(board_reg_get(b, UC_ARM_REG_PRIMASK) & 1) &&
        (board_reg_get(b, UC_ARM_REG_XPSR) & 0x1FF) == 0) {
        b->systick_pending = false;
        board_exception_enter(b, EXC_SYSTICK);
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
            board_exception_enter(b, EXC_HARDFAULT);
        break;
    case STOP_EXC_RETURN:
        board_exception_return(b);
        break;
    case STOP_SVC:
        board_exception_enter(b, EXC_SVCALL);
        break;
    case STOP_FAULT:
        board_exception_enter(b, EXC_HARDFAULT);
        break;
    }
    if (b->bus_fault_pending) {
        b->bus_fault_pending = false;
        if (!b->halted)
            board_exception_enter(b, EXC_HARDFAULT);
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
        uint32_t pc = board_reg_get(b, UC_ARM_REG_PC);
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
    board_raise_bus_fault(b, 0, false);
}

void sim_board_interrupt(sim_board *b)
{
    atomic_store(&b->interrupt, true);
    uc_emu_stop(b->uc);
}
