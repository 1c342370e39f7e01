/*
 * Writing a chip through one probe (see flash.h). Register layouts per
 * family are data (fl_ctrl); the erase sequences differ enough to be four
 * small functions. References: RM0008 3.3, RM0390 3.5-3.6, RM0367 3.3,
 * RM0351 3.3.
 */
#define _POSIX_C_SOURCE 200809L
#include "flash_internal.h"

#include "stubs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Where the host puts things in target SRAM (every chip's SRAM starts at
 * 0x20000000): the stub, its control block, then two buffers; the stack is
 * at the top of SRAM. */
#define CTL_ADDR      (FL_STUB_BASE + FL_STUB_MAX)
#define BUF_ADDR      (CTL_ADDR + 0x100u)
#define STACK_RESERVE 0x800u /* the CRC stub keeps a 1 KiB table there */
#define BUF_MAX       (16u * 1024u)
/* A stream ramps up: the flash idles until the first buffer is in, and the
 * second must be in before the stub is through the first (2 KiB is at
 * least 43 ms of flash work on every chip; 8 KiB takes ~33 ms to send). */
#define FIRST_PIECE  2048u
#define SECOND_PIECE 8192u

/* A stub that makes no progress for this long has failed. */
#define STUB_STALL_MS 5000u

typedef struct fl_ctrl {
    uint32_t keyr[2]; /* key registers (offsets), in unlock order; 0 = none */
    uint32_t keys[2][2];
    uint32_t sr, cr; /* offsets; cr is PECR on L0 */
    uint32_t sr_busy, sr_errors, sr_eop;
    uint32_t cr_lock;                      /* bits set when locked (L0: PELOCK | PRGLOCK) */
    uint32_t rdp_reg, rdp_mask, rdp_clear; /* protected when (v & mask) != clear */
    uint32_t wdg_freeze_reg, wdg_freeze_bit;
    fl_err (*erase)(fl_target *t, const fl_unit *u);
    uint32_t erase_timeout_ms;
    uint32_t mass_cr; /* CR value that selects a mass erase; 0 = none (L0) */
    uint32_t strt;    /* CR start bit */
    uint32_t mass_timeout_ms;
} fl_ctrl;

static fl_err erase_f1(fl_target *t, const fl_unit *u);
static fl_err erase_f4(fl_target *t, const fl_unit *u);
static fl_err erase_l0(fl_target *t, const fl_unit *u);
static fl_err erase_l4(fl_target *t, const fl_unit *u);

static const fl_ctrl ctrls[] = {
    [FL_FAMILY_F1] = {.keyr = {0x04},
                      .keys = {{0x45670123u, 0xCDEF89ABu}},
                      .sr = 0x0C,
                      .cr = 0x10,
                      .sr_busy = 1u << 0,
                      .sr_errors = 0x14,
                      .sr_eop = 1u << 5,
                      .cr_lock = 1u << 7,
                      .rdp_reg = 0x4002201Cu,
                      .rdp_mask = 1u << 1,
                      .rdp_clear = 0,
                      .wdg_freeze_reg = 0xE0042004u,
                      .wdg_freeze_bit = 1u << 8,
                      .erase = erase_f1,
                      .erase_timeout_ms = 200,
                      .mass_cr = 1u << 2, /* MER */
                      .strt = 1u << 6,
                      .mass_timeout_ms = 200},
    [FL_FAMILY_F4] = {.keyr = {0x04},
                      .keys = {{0x45670123u, 0xCDEF89ABu}},
                      .sr = 0x0C,
                      .cr = 0x10,
                      .sr_busy = 1u << 16,
                      .sr_errors = 0x1F2,
                      .sr_eop = 1u << 0,
                      .cr_lock = 1u << 31,
                      .rdp_reg = 0x40023C14u,
                      .rdp_mask = 0xFF00u,
                      .rdp_clear = 0xAA00u,
                      .wdg_freeze_reg = 0xE0042008u,
                      .wdg_freeze_bit = 1u << 12,
                      .erase = erase_f4,
                      .erase_timeout_ms = 10000,
                      .mass_cr = (1u << 2) | (2u << 8), /* MER, PSIZE x32: 4 s typ. (DS10693) */
                      .strt = 1u << 16,
                      .mass_timeout_ms = 33000},
    [FL_FAMILY_L0] = {.keyr = {0x0C, 0x10},
                      .keys = {{0x89ABCDEFu, 0x02030405u}, {0x8C9DAEBFu, 0x13141516u}},
                      .sr = 0x18,
                      .cr = 0x04,
                      .sr_busy = 1u << 0,
                      .sr_errors = 0x32F00u,
                      .sr_eop = 1u << 1,
                      .cr_lock = 3u,
                      .rdp_reg = 0x4002201Cu,
                      .rdp_mask = 0xFFu,
                      .rdp_clear = 0xAAu,
                      .wdg_freeze_reg = 0x40015808u,
                      .wdg_freeze_bit = 1u << 12,
                      .erase = erase_l0,
                      .erase_timeout_ms = 100},
    [FL_FAMILY_L4] = {.keyr = {0x08},
                      .keys = {{0x45670123u, 0xCDEF89ABu}},
                      .sr = 0x10,
                      .cr = 0x14,
                      .sr_busy = 1u << 16,
                      .sr_errors = 0xC3FAu,
                      .sr_eop = 1u << 0,
                      .cr_lock = 1u << 31,
                      .rdp_reg = 0x40022020u,
                      .rdp_mask = 0xFFu,
                      .rdp_clear = 0xAAu,
                      .wdg_freeze_reg = 0xE0042008u,
                      .wdg_freeze_bit = 1u << 12,
                      .erase = erase_l4,
                      .erase_timeout_ms = 250,
                      .mass_cr = (1u << 2) | (1u << 15), /* MER1 | MER2 */
                      .strt = 1u << 16,
                      .mass_timeout_ms = 250},
};

const char *fl_err_name(fl_err e)
{
    static const char *const names[] = {"FL_OK",          "FL_E_PROBE",  "FL_E_UNKNOWN_CHIP",
                                        "FL_E_PROTECTED", "FL_E_FLASH",  "FL_E_TIMEOUT",
                                        "FL_E_LOADER",    "FL_E_VERIFY", "FL_E_ARG"};
    return (unsigned)e < sizeof names / sizeof names[0] ? names[e] : "FL_E_?";
}

fl_err fl_fail(fl_target *t, fl_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->msg, sizeof t->msg, fmt, ap);
    va_end(ap);
    return e;
}

/* A probe call failed: keep its error and message. */
fl_err fl_probe_fail(fl_target *t, pd_err e)
{
    t->probe_err = e;
    return fl_fail(t, FL_E_PROBE, "%s", pd_message(t->probe));
}

static const fl_ctrl *ctrl_of(const fl_target *t)
{
    return &ctrls[t->chip->family];
}

static uint32_t reg(const fl_target *t, uint32_t off)
{
    return t->chip->flash_regs + off;
}

uint64_t fl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- identification ------------------------------------------------------ */

fl_err fl_identify(pd_probe *probe, fl_target *t)
{
    memset(t, 0, sizeof *t);
    t->probe = probe;
    uint32_t cpuid = 0;
    PD_TRY(t, pd_read32(probe, 0xE000ED00u, &cpuid));
    /* Cortex-M0+ parts keep DBGMCU on the APB (0x40015800), the others in
     * the PPB (0xE0042000). */
    uint32_t idcode_addr = ((cpuid >> 4) & 0xFFF) == 0xC60 ? 0x40015800u : 0xE0042000u;
    PD_TRY(t, pd_read32(probe, idcode_addr, &t->idcode));
    t->chip = fl_chip_by_dev_id((uint16_t)(t->idcode & 0xFFF));
    if (!t->chip || t->chip->idcode_addr != idcode_addr)
        return fl_fail(
            t, FL_E_UNKNOWN_CHIP,
            "unknown chip: DBGMCU_IDCODE 0x%08X (device 0x%03X, CPUID 0x%08X); Flashline "
            "supports STM32F103xB, F446, L053 and L476",
            t->idcode, t->idcode & 0xFFF, cpuid);
    uint32_t word = 0;
    PD_TRY(t, pd_read32(probe, t->chip->flash_size_reg & ~3u, &word));
    uint32_t kib = (t->chip->flash_size_reg & 2) ? word >> 16 : word & 0xFFFF;
    t->flash_size = kib * 1024u;
    if (fl_chip_unit_count(t->chip, t->flash_size) == 0)
        return fl_fail(t, FL_E_UNKNOWN_CHIP,
                       "%s reports %u KiB of flash, which its layout cannot hold; the chip may "
                       "be counterfeit or damaged",
                       t->chip->name, kib);
    for (int i = 0; i < 3; i++)
        PD_TRY(t, pd_read32(probe, t->chip->uid_addr[i], &t->uid[i]));
    const fl_ctrl *c = ctrl_of(t);
    uint32_t opt = 0;
    PD_TRY(t, pd_read32(probe, c->rdp_reg, &opt));
    t->rdp = (opt & c->rdp_mask) != c->rdp_clear;
    return FL_OK;
}

/* ---- controller ------------------------------------------------------------ */

/* Wait while BSY; then report (and clear) any error flag. */
static fl_err wait_ready(fl_target *t, uint32_t timeout_ms, const char *what, uint32_t addr)
{
    const fl_ctrl *c = ctrl_of(t);
    uint64_t deadline = fl_now_ms() + timeout_ms * 4 + 100; /* generous: the probe is slow too */
    uint32_t sr = 0;
    for (;;) {
        PD_TRY(t, pd_read32(t->probe, reg(t, c->sr), &sr));
        if (!(sr & c->sr_busy))
            break;
        if (fl_now_ms() > deadline)
            return fl_fail(
                t, FL_E_TIMEOUT,
                "%s at 0x%08X: flash still busy after %u ms (FLASH_SR 0x%08X); reset the "
                "board and retry",
                what, addr, timeout_ms * 4, sr);
    }
    if (sr & c->sr_errors) {
        PD_TRY(t, pd_write32(t->probe, reg(t, c->sr), sr & (c->sr_errors | c->sr_eop)));
        return fl_fail(t, t->rdp ? FL_E_PROTECTED : FL_E_FLASH,
                       "%s at 0x%08X failed: FLASH_SR 0x%08X%s", what, addr, sr,
                       t->rdp ? " (readout protection is on: regress RDP to level 0, which mass-"
                                "erases the chip)"
                              : "");
    }
    if (sr & c->sr_eop)
        PD_TRY(t, pd_write32(t->probe, reg(t, c->sr), c->sr_eop));
    return FL_OK;
}

fl_err fl_unlock(fl_target *t)
{
    const fl_ctrl *c = ctrl_of(t);
    uint32_t cr = 0;
    /* Freeze the watchdogs while the core is halted (DBGMCU): a hardware
     * IWDG would otherwise reset the chip between two stub runs. */
    uint32_t fz = 0;
    PD_TRY(t, pd_read32(t->probe, c->wdg_freeze_reg, &fz));
    PD_TRY(t, pd_write32(t->probe, c->wdg_freeze_reg, fz | c->wdg_freeze_bit));
    /* Stale error flags from a crashed run would fail the next operation. */
    PD_TRY(t, pd_write32(t->probe, reg(t, c->sr), c->sr_errors | c->sr_eop));
    PD_TRY(t, pd_read32(t->probe, reg(t, c->cr), &cr));
    for (int k = 0; k < 2 && c->keyr[k]; k++) {
        /* L0: PEKEYR clears PELOCK (b0), PRGKEYR then PRGLOCK (b1). */
        uint32_t bit = c->cr_lock == 3u ? 1u << k : c->cr_lock;
        if (!(cr & bit))
            continue;
        PD_TRY(t, pd_write32(t->probe, reg(t, c->keyr[k]), c->keys[k][0]));
        PD_TRY(t, pd_write32(t->probe, reg(t, c->keyr[k]), c->keys[k][1]));
        PD_TRY(t, pd_read32(t->probe, reg(t, c->cr), &cr));
    }
    if (cr & c->cr_lock)
        return fl_fail(t, FL_E_PROTECTED,
                       "flash controller stays locked after the unlock keys (CR 0x%08X): a wrong "
                       "key sequence locks it until reset; reset the board and retry",
                       cr);
    return FL_OK;
}

fl_err fl_lock(fl_target *t)
{
    const fl_ctrl *c = ctrl_of(t);
    uint32_t cr = 0;
    PD_TRY(t, pd_read32(t->probe, reg(t, c->cr), &cr));
    PD_TRY(t, pd_write32(t->probe, reg(t, c->cr), cr | c->cr_lock));
    return FL_OK;
}

static fl_err erase_f1(fl_target *t, const fl_unit *u)
{
    /* RM0008 3.3.4: PER, AR = page, STRT; poll BSY. */
    const fl_ctrl *c = ctrl_of(t);
    PD_TRY(t, pd_write32(t->probe, reg(t, c->cr), 1u << 1));
    PD_TRY(t, pd_write32(t->probe, reg(t, 0x14), u->addr));
    PD_TRY(t, pd_write32(t->probe, reg(t, c->cr), (1u << 1) | (1u << 6)));
    fl_err e = wait_ready(t, c->erase_timeout_ms, "page erase", u->addr);
    PD_TRY(t, pd_write32(t->probe, reg(t, c->cr), 0));
    return e;
}

static fl_err erase_f4(fl_target *t, const fl_unit *u)
{
    /* RM0390 3.6.3: SER, SNB, PSIZE x32 (sets the erase parallelism), STRT. */
    const fl_ctrl *c = ctrl_of(t);
    uint32_t cr = (1u << 1) | (u->index_in_bank << 3) | (2u << 8);
    PD_TRY(t, pd_write32(t->probe, reg(t, c->cr), cr));
    PD_TRY(t, pd_write32(t->probe, reg(t, c->cr), cr | (1u << 16)));
    fl_err e = wait_ready(t, c->erase_timeout_ms, "sector erase", u->addr);
    PD_TRY(t, pd_write32(t->probe, reg(t, c->cr), 0));
    return e;
}

static fl_err erase_l0(fl_target *t, const fl_unit *u)
{
    /* RM0367 3.3.4: ERASE and PROG in PECR, then a write of 0 into the page. */
    const fl_ctrl *c = ctrl_of(t);
    uint32_t pecr = 0;
    PD_TRY(t, pd_read32(t->probe, reg(t, c->cr), &pecr));
    PD_TRY(t, pd_write32(t->probe, reg(t, c->cr), pecr | (1u << 9) | (1u << 3)));
    PD_TRY(t, pd_write32(t->probe, u->addr, 0));
    fl_err e = wait_ready(t, c->erase_timeout_ms, "page erase", u->addr);
    PD_TRY(t, pd_write32(t->probe, reg(t, c->cr), pecr & ~((1u << 9) | (1u << 3))));
    return e;
}

static fl_err erase_l4(fl_target *t, const fl_unit *u)
{
    /* RM0351 3.3.6: PER, PNB (page in its bank), BKER, STRT. */
    const fl_ctrl *c = ctrl_of(t);
    uint32_t cr = (1u << 1) | (u->index_in_bank << 3) | (u->bank << 11);
    PD_TRY(t, pd_write32(t->probe, reg(t, c->cr), cr));
    PD_TRY(t, pd_write32(t->probe, reg(t, c->cr), cr | (1u << 16)));
    fl_err e = wait_ready(t, c->erase_timeout_ms, "page erase", u->addr);
    PD_TRY(t, pd_write32(t->probe, reg(t, c->cr), 0));
    return e;
}

bool fl_can_mass_erase(const fl_target *t)
{
    return ctrl_of(t)->mass_cr != 0;
}

fl_err fl_mass_erase(fl_target *t)
{
    const fl_ctrl *c = ctrl_of(t);
    if (!c->mass_cr)
        return fl_fail(t, FL_E_ARG, "%s has no mass erase; erase page by page", t->chip->name);
    PD_TRY(t, pd_write32(t->probe, reg(t, c->cr), c->mass_cr));
    PD_TRY(t, pd_write32(t->probe, reg(t, c->cr), c->mass_cr | c->strt));
    fl_err e = wait_ready(t, c->mass_timeout_ms, "mass erase", t->chip->flash_base);
    PD_TRY(t, pd_write32(t->probe, reg(t, c->cr), 0));
    return e;
}

fl_err fl_erase_unit(fl_target *t, uint32_t unit)
{
    fl_unit u;
    if (!fl_chip_unit(t->chip, t->flash_size, unit, &u))
        return fl_fail(t, FL_E_ARG, "erase unit %u does not exist on this %s", unit, t->chip->name);
    return ctrl_of(t)->erase(t, &u);
}

/* ---- the stub ----------------------------------------------------------------- */

static uint32_t buf_size(const fl_target *t)
{
    uint32_t room = (t->chip->sram_size - (BUF_ADDR - t->chip->sram_base) - STACK_RESERVE) / 2;
    room &= ~1023u;
    return room > BUF_MAX ? BUF_MAX : room;
}

static fl_err stub_start(fl_target *t, const fl_loader_ctl *ctl)
{
    fl_stub stub;
    if (!fl_stub_find(t->chip->stub, &stub))
        return fl_fail(t, FL_E_LOADER, "no loader stub for %s", t->chip->name);
    bool ready = t->stub_loaded && t->stub_ready;
    t->stub_ready = false; /* until this run, too, ends at its BKPT */
    if (!ready) {
        PD_TRY(t, pd_halt(t->probe));
        if (!t->stub_loaded) {
            PD_TRY(t, pd_mem_write(t->probe, FL_STUB_BASE, stub.code, stub.len));
            t->stub_loaded = true;
        }
    }
    PD_TRY(t, pd_mem_write(t->probe, CTL_ADDR, ctl, sizeof *ctl));
    PD_TRY(t, pd_write_reg(t->probe, 0, CTL_ADDR));
    if (!ready) {
        PD_TRY(t, pd_write_reg(t->probe, PD_REG_SP, t->chip->sram_base + t->chip->sram_size));
        PD_TRY(t, pd_write_reg(t->probe, PD_REG_XPSR, 1u << 24));
    }
    PD_TRY(t, pd_write_reg(t->probe, PD_REG_PC, FL_STUB_BASE));
    /* Mask interrupts before letting it run: firmware's interrupt handlers
     * must not run over the stub (DHCSR C_MASKINTS is only taken while
     * halted, hence the two writes; after a run of ours it is still set). */
    if (!ready)
        PD_TRY(t, pd_write32(t->probe, PD_DHCSR, 0xA05F000Bu));
    PD_TRY(t, pd_write32(t->probe, PD_DHCSR, 0xA05F0009u));
    return FL_OK;
}

/* The stub stopped without finishing: say what the core was doing. */
static fl_err stub_failed(fl_target *t, uint32_t dhcsr, const char *why)
{
    uint32_t pc = 0;
    if (dhcsr & PD_DHCSR_S_HALT)
        pd_read_reg(t->probe, PD_REG_PC, &pc);
    return fl_fail(t, FL_E_LOADER,
                   "flash loader %s (DHCSR 0x%08X%s, PC 0x%08X); halt, reload the loader and "
                   "retry",
                   why, dhcsr, (dhcsr & (1u << 19)) ? ", core locked up" : "", pc);
}

/* Wait for the BKPT at the end of the stub. */
static fl_err stub_wait_halt(fl_target *t, uint32_t stall_ms)
{
    uint64_t deadline = fl_now_ms() + stall_ms;
    uint32_t dhcsr = 0;
    for (;;) {
        PD_TRY(t, pd_dhcsr(t->probe, &dhcsr));
        if (dhcsr & PD_DHCSR_S_HALT)
            return FL_OK;
        if ((dhcsr & (1u << 19)) || fl_now_ms() > deadline) {
            pd_halt(t->probe);
            return stub_failed(t, dhcsr, (dhcsr & (1u << 19)) ? "faulted" : "never finished");
        }
    }
}

static fl_err stub_result(fl_target *t, fl_loader_ctl *ctl)
{
    PD_TRY(t, pd_mem_read(t->probe, CTL_ADDR, ctl, sizeof *ctl));
    /* A status the stub wrote means it returned to its BKPT, where the host
     * saw the core halt. */
    t->stub_ready = ctl->status != FL_ST_RUNNING;
    switch (ctl->status) {
    case FL_ST_OK:
        return FL_OK;
    case FL_ST_FLASH_ERROR:
        return fl_fail(t, t->rdp ? FL_E_PROTECTED : FL_E_FLASH,
                       "programming at 0x%08X failed: FLASH_SR 0x%08X%s", ctl->fail_addr, ctl->sr,
                       t->rdp ? " (readout protection is on)" : "; erase the page and retry");
    case FL_ST_VERIFY:
        return fl_fail(t, FL_E_VERIFY,
                       "flash at 0x%08X does not hold what was programmed (a worn or damaged "
                       "cell?); erase and retry, then reject the board",
                       ctl->fail_addr);
    case FL_ST_BAD_REQUEST:
        return fl_fail(t, FL_E_ARG, "loader refused a misaligned request");
    default:
        return fl_fail(t, FL_E_LOADER, "loader stopped with unknown status %u", ctl->status);
    }
}

/* Where the next piece of the chunk list starts. */
typedef struct cursor {
    size_t chunk;
    uint32_t off;
} cursor;

/* The next buffer: from the cursor on, as many chunks as join without a
 * gap (up to bsz bytes), assembled in stage. Chunks that start a new erase
 * unit join only as the next unit of the buffer's run of equal units in
 * one bank, so the stub can erase them all first. *done_upto gets how many
 * chunks are finished once this buffer is. False at the end. */
static bool next_piece(const fl_chunk *chunks, size_t n, cursor *c, uint32_t bsz, uint8_t *stage,
                       fl_loader_buf *b, size_t *done_upto)
{
    if (c->chunk >= n)
        return false;
    const fl_chunk *k = &chunks[c->chunk];
    b->addr = k->addr + c->off;
    b->len = 0;
    b->erase = 0;
    for (;;) {
        k = &chunks[c->chunk];
        if (k->erase && c->off == 0) {
            if (b->erase == 0) {
                b->unit_addr = k->unit.addr;
                b->unit_code = k->unit.index_in_bank | k->unit.bank << 8;
                b->unit_size = k->unit.size;
            }
            b->erase++;
        }
        uint32_t take = k->len - c->off < bsz - b->len ? k->len - c->off : bsz - b->len;
        if (take)
            memcpy(stage + b->len, k->data + c->off, take);
        b->len += take;
        c->off += take;
        if (c->off < k->len) {
            *done_upto = c->chunk;
            return true; /* the buffer is full part-way through the chunk */
        }
        c->chunk++;
        c->off = 0;
        *done_upto = c->chunk;
        if (c->chunk >= n || b->len == bsz)
            return true;
        const fl_chunk *x = &chunks[c->chunk];
        bool joins = x->addr == b->addr + b->len;
        if (joins && x->erase)
            joins = b->erase == 0 ? x->addr == x->unit.addr
                                  : x->unit.size == b->unit_size && x->unit.bank == k->unit.bank &&
                                        x->unit.addr == b->unit_addr + b->erase * b->unit_size;
        if (!joins)
            return true;
    }
}

static fl_err check_chunks(fl_target *t, const fl_chunk *chunks, size_t n)
{
    const fl_chip *ch = t->chip;
    for (size_t i = 0; i < n; i++) {
        const fl_chunk *k = &chunks[i];
        if (k->addr < ch->flash_base || k->addr - ch->flash_base > t->flash_size ||
            k->len > t->flash_size - (k->addr - ch->flash_base) || k->addr % ch->program_unit ||
            k->len % ch->program_unit)
            return fl_fail(t, FL_E_ARG, "0x%08X+%u is outside flash or not aligned to %u bytes",
                           k->addr, k->len, ch->program_unit);
    }
    return FL_OK;
}

static fl_err stream_run(fl_target *t, const fl_chunk *chunks, size_t n, uint32_t bsz,
                         uint8_t *stage, uint64_t total, fl_progress_fn progress, void *user,
                         size_t *done);

fl_err fl_stream(fl_target *t, const fl_chunk *chunks, size_t n, fl_progress_fn progress,
                 void *user, size_t *done)
{
    *done = 0;
    fl_err e = check_chunks(t, chunks, n);
    if (e || n == 0)
        return e;
    uint32_t bsz = buf_size(t);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += chunks[i].len;
    uint8_t *stage = malloc(bsz);
    if (!stage)
        return fl_fail(t, FL_E_LOADER, "out of memory for a %u-byte loader buffer", bsz);
    e = stream_run(t, chunks, n, bsz, stage, total, progress, user, done);
    free(stage);
    return e;
}

/* Give buffer i (described in ctl, its bytes in stage) to the running
 * stub: bytes and description first, state last, so the stub never sees a
 * half-written buffer. */
static pd_err hand_over(fl_target *t, fl_loader_ctl *ctl, int i, const uint8_t *stage)
{
    fl_loader_buf *b = &ctl->buf[i];
    pd_err e = PD_OK;
    if (b->len)
        e = pd_mem_write(t->probe, b->data, stage, b->len);
    uint32_t at = CTL_ADDR + (uint32_t)offsetof(fl_loader_ctl, buf) +
                  (uint32_t)i * (uint32_t)sizeof(fl_loader_buf);
    if (e == PD_OK)
        e = pd_mem_write(t->probe, at + 4, &b->addr, sizeof *b - 4);
    if (e == PD_OK)
        e = pd_write32(t->probe, at, FL_BUF_FULL);
    return e;
}

static fl_err stream_run(fl_target *t, const fl_chunk *chunks, size_t n, uint32_t bsz,
                         uint8_t *stage, uint64_t total, fl_progress_fn progress, void *user,
                         size_t *done)
{
    uint64_t bytes = 0;
    fl_err e;
    fl_loader_ctl ctl = {.op = FL_OP_PROGRAM, .flash_regs = t->chip->flash_regs};
    cursor cur = {0, 0};
    /* What each buffer holds while the stub works on it. */
    struct {
        bool busy;
        size_t done_upto;
    } fly[2] = {{0}};
    /* The flash idles until the first buffer is in: keep it short, start
     * the stub, and fill the second one while the stub works on the first
     * (a full 16 KiB buffer is ~65 ms of link time on a full-speed probe). */
    ctl.buf[0].data = BUF_ADDR;
    ctl.buf[1].data = BUF_ADDR + bsz;
    uint32_t first = bsz < FIRST_PIECE ? bsz : FIRST_PIECE;
    next_piece(chunks, n, &cur, first, stage, &ctl.buf[0], &fly[0].done_upto);
    if (ctl.buf[0].len)
        PD_TRY(t, pd_mem_write(t->probe, ctl.buf[0].data, stage, ctl.buf[0].len));
    ctl.buf[0].state = FL_BUF_FULL;
    fly[0].busy = true;
    e = stub_start(t, &ctl);
    if (e)
        return e;
    /* A big first erase unit (an F4 sector: 250 ms and more) covers a whole
     * buffer's transfer. */
    uint32_t second =
        chunks[0].erase && chunks[0].unit.size > SECOND_PIECE ? chunks[0].unit.size : SECOND_PIECE;
    if (second > bsz)
        second = bsz;
    if (next_piece(chunks, n, &cur, second, stage, &ctl.buf[1], &fly[1].done_upto)) {
        PD_TRY(t, hand_over(t, &ctl, 1, stage));
        fly[1].busy = true;
    }
    int next = 0;
    uint64_t last_progress = fl_now_ms();
    bool stopped = false;
    for (;;) {
        /* One read of the control block shows both buffers and the status. */
        fl_loader_ctl now;
        PD_TRY(t, pd_mem_read(t->probe, CTL_ADDR, &now, sizeof now));
        fl_loader_buf *b = &ctl.buf[next];
        if (fly[next].busy && now.buf[next].state == FL_BUF_EMPTY) {
            fly[next].busy = false;
            bytes += b->len;
            *done = fly[next].done_upto;
            last_progress = fl_now_ms();
            if (progress)
                progress(user, (uint32_t)bytes, (uint32_t)total);
            if (next_piece(chunks, n, &cur, bsz, stage, b, &fly[next].done_upto)) {
                PD_TRY(t, hand_over(t, &ctl, next, stage));
                fly[next].busy = true;
            }
            next ^= 1;
            continue;
        }
        if (!fly[0].busy && !fly[1].busy && !stopped) {
            PD_TRY(t, pd_write32(t->probe, CTL_ADDR + offsetof(fl_loader_ctl, stop), 1));
            stopped = true;
        }
        if (now.status != FL_ST_RUNNING || stopped) {
            uint32_t dhcsr = 0;
            PD_TRY(t, pd_dhcsr(t->probe, &dhcsr));
            if (dhcsr & PD_DHCSR_S_HALT)
                break; /* finished, or stopped on an error */
        }
        if (fl_now_ms() - last_progress > STUB_STALL_MS) {
            uint32_t dhcsr = 0;
            PD_TRY(t, pd_dhcsr(t->probe, &dhcsr));
            pd_halt(t->probe);
            return stub_failed(t, dhcsr, (dhcsr & (1u << 19)) ? "faulted" : "made no progress");
        }
    }
    e = stub_result(t, &ctl);
    if (e == FL_OK && *done != n)
        return fl_fail(t, FL_E_LOADER, "loader ended after %zu of %zu pieces of work", *done, n);
    return e;
}

fl_err fl_program(fl_target *t, uint32_t addr, const uint8_t *data, size_t len,
                  fl_progress_fn progress, void *user)
{
    if (len > UINT32_MAX)
        return fl_fail(t, FL_E_ARG, "%zu bytes is more than any flash", len);
    fl_chunk c = {.addr = addr, .data = data, .len = (uint32_t)len};
    size_t done = 0;
    return fl_stream(t, &c, 1, progress, user, &done);
}

/* Wait for the BKPT at the end of a one-shot stub run. */
static fl_err stub_run_once(fl_target *t, fl_loader_ctl *ctl, uint32_t stall_ms)
{
    fl_err e = stub_start(t, ctl);
    if (e)
        return e;
    e = stub_wait_halt(t, stall_ms);
    return e ? e : stub_result(t, ctl);
}

fl_err fl_crc32(fl_target *t, uint32_t addr, uint32_t len, uint32_t *crc)
{
    fl_crc_item item = {addr, len, 0};
    fl_err e = fl_crc32_list(t, &item, 1);
    if (e == FL_OK)
        *crc = item.crc;
    return e;
}

fl_err fl_crc32_list(fl_target *t, fl_crc_item *items, size_t n)
{
    const fl_chip *ch = t->chip;
    uint32_t room = buf_size(t) * 2 / (uint32_t)sizeof(fl_crc_item);
    for (size_t i = 0; i < n; i++)
        if (items[i].addr < ch->flash_base || items[i].addr - ch->flash_base > t->flash_size ||
            items[i].len > t->flash_size - (items[i].addr - ch->flash_base))
            return fl_fail(t, FL_E_ARG, "0x%08X+%u is outside flash", items[i].addr, items[i].len);
    for (size_t at = 0; at < n; at += room) {
        size_t k = n - at < room ? n - at : room;
        uint64_t bytes = 0;
        for (size_t i = 0; i < k; i++)
            bytes += items[at + i].len;
        PD_TRY(t, pd_mem_write(t->probe, BUF_ADDR, &items[at], k * sizeof *items));
        fl_loader_ctl ctl = {.op = FL_OP_CRC32_LIST, .flash_regs = ch->flash_regs};
        ctl.buf[0].data = BUF_ADDR;
        ctl.buf[0].len = (uint32_t)k;
        /* Roughly 12 cycles a byte at a few MHz, plus the link: be generous. */
        fl_err e = stub_run_once(t, &ctl, STUB_STALL_MS + (uint32_t)(bytes / 100));
        if (e)
            return e;
        PD_TRY(t, pd_mem_read(t->probe, BUF_ADDR, &items[at], k * sizeof *items));
    }
    return FL_OK;
}
