/*
 * Writing a chip through one probe (see flash.h): the engine. Everything
 * about a controller comes from its family descriptor (family.h,
 * loaders/families/), everything about a device from its chip row; no
 * family is named here.
 */
#define _POSIX_C_SOURCE 200809L
#include "flash_internal.h"

#include "stubs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Where DBGMCU_IDCODE may be, by the core (CPUID.PARTNO, ARMv6-M ARM
 * B3.2.3, ARMv8-M ARM D1.2.46), in the order to try: on the APB for the
 * Cortex-M0 (0xC20) and M0+ (0xC60) parts (RM0091 32.4.1, RM0367 27.4.1,
 * RM0444 40.4), at 0xE0044000 for the Cortex-M33 parts (0xD21: RM0438
 * 45.3, RM0456 75.3) or, on the H5, at 0x44024000 as the core sees it
 * (CMSIS DBGMCU_BASE; RM0481/RM0492 DBGMCU chapter), 0xE0042000 for the
 * others. The Cortex-M7 (0xC27)
 * is an F7, with it at 0xE0042000 (RM0410 45.1), or an H7, with it on the
 * AHB at 0x5C001000 (RM0433 and RM0468 DBGMCU chapter; the PPB address
 * holds no IDCODE there): a candidate counts when it reads a device id of
 * a line that keeps its IDCODE at that address. Two or more candidates per
 * core are data, not a branch on a family. */
#define PD_CPUID     0xE000ED00u
#define DBGMCU_PPB   0xE0042000u
#define IDCODE_TRIES 2
static const struct {
    uint16_t partno;
    uint32_t idcode[IDCODE_TRIES]; /* 0 ends the list */
} dbgmcu_by_core[] = {
    {0xC20, {0x40015800u}},
    {0xC60, {0x40015800u}},
    {0xD21, {0xE0044000u, 0x44024000u}},
    {0xC27, {DBGMCU_PPB, 0x5C001000u}},
};

/* Where the host puts things in target SRAM (every chip's SRAM starts at
 * 0x20000000): the stub, its control block, then two buffers; the stack is
 * at the top of SRAM. */
#define CTL_ADDR      (FL_STUB_BASE + FL_STUB_MAX)
#define BUF_ADDR      (CTL_ADDR + 0x100u)
#define STACK_RESERVE 0x600u /* the CRC stub keeps a 1 KiB table there */
#define BUF_MAX       (16u * 1024u)
/* A stream ramps up: the flash idles until the first buffer is in, and the
 * second must be in before the stub is through the first (2 KiB is at
 * least 43 ms of flash work on every chip; 8 KiB takes ~33 ms to send). */
#define FIRST_PIECE  2048u
#define SECOND_PIECE 8192u

/* A stub that makes no progress for this long has failed. */
#define STUB_STALL_MS 5000u

const char *fl_err_name(fl_err e)
{
    static const char *const names[] = {"FL_OK",          "FL_E_PROBE",  "FL_E_UNKNOWN_CHIP",
                                        "FL_E_PROTECTED", "FL_E_FLASH",  "FL_E_TIMEOUT",
                                        "FL_E_LOADER",    "FL_E_VERIFY", "FL_E_ARG"};
    return (unsigned)e < sizeof names / sizeof names[0] ? names[e] : "FL_E_?";
}

/* ---- identification ------------------------------------------------------ */

fl_err fl_identify(pd_probe *probe, fl_target *t)
{
    memset(t, 0, sizeof *t);
    t->probe = probe;
    uint32_t cpuid = 0;
    PD_TRY(t, pd_read32(probe, PD_CPUID, &cpuid));
    uint32_t partno = (cpuid >> 4) & 0xFFF;
    const uint32_t *tries = NULL;
    static const uint32_t ppb_only[IDCODE_TRIES] = {DBGMCU_PPB};
    for (size_t i = 0; i < sizeof dbgmcu_by_core / sizeof dbgmcu_by_core[0]; i++)
        if (dbgmcu_by_core[i].partno == partno)
            tries = dbgmcu_by_core[i].idcode;
    if (!tries)
        tries = ppb_only;
    for (int k = 0; k < IDCODE_TRIES && tries[k]; k++) {
        uint32_t idcode = 0;
        pd_err pe = pd_read32(probe, tries[k], &idcode);
        bool more = k + 1 < IDCODE_TRIES && tries[k + 1];
        if (pe == PD_E_TARGET && more)
            continue; /* nothing there on this chip: the next candidate */
        if (pe != PD_OK)
            return fl_probe_fail(t, pe);
        const fl_chip *c = fl_chip_by_dev_id((uint16_t)(idcode & 0xFFF));
        if (k == 0 || (c && c->line->idcode_addr == tries[k]))
            t->idcode = idcode; /* the first read is what an error names */
        if (c && c->line->idcode_addr == tries[k]) {
            t->chip = c;
            break;
        }
    }
    if (!t->chip) {
        char lines[160];
        fl_lines_list(lines, sizeof lines, false);
        return fl_fail(t, FL_E_UNKNOWN_CHIP,
                       "unknown chip: DBGMCU_IDCODE 0x%08X (device 0x%03X, CPUID 0x%08X); "
                       "Flashline programs %s (flashline chips lists them)",
                       t->idcode, t->idcode & 0xFFF, cpuid, lines);
    }
    const fl_line *line = t->chip->line;
    const fl_family *f = line->family;
    if (t->chip->alt && f->alt_layout) {
        bool alt = false;
        fl_err e = f->alt_layout(t, &alt);
        if (e)
            return e;
        if (alt)
            t->chip = t->chip->alt; /* same device, the other bank layout */
    }
    uint32_t word = 0;
    PD_TRY(t, pd_read32(probe, line->flash_size_reg & ~3u, &word));
    uint32_t kib = (line->flash_size_reg & 2) ? word >> 16 : word & 0xFFFF;
    if (t->chip->fsize_mask)
        kib &= t->chip->fsize_mask;
    if (t->chip->fsize_kib[0] && kib < 2)
        kib = t->chip->fsize_kib[kib]; /* a code, not a size */
    t->flash_size = kib * 1024u;
    if (fl_chip_unit_count(t->chip, t->flash_size) == 0)
        return fl_fail(t, FL_E_UNKNOWN_CHIP,
                       "%s reports %u KiB of flash, which its layout cannot hold; the chip may "
                       "be counterfeit or damaged",
                       t->chip->name, kib);
    for (int i = 0; i < 3; i++)
        PD_TRY(t, pd_read32(probe, line->uid_addr[i], &t->uid[i]));
    uint32_t opt = 0;
    PD_TRY(t, pd_read32(probe, fl_reg(t, 0, f->rdp_off), &opt));
    t->rdp = (opt & f->rdp_mask) != f->rdp_clear;
    if (f->protection)
        f->protection(opt, t->protection, sizeof t->protection);
    else
        snprintf(t->protection, sizeof t->protection, "%s",
                 t->rdp ? "readout protection on" : "RDP level 0");
    return FL_OK;
}

/* ---- controller ------------------------------------------------------------ */

fl_err fl_unlock(fl_target *t)
{
    const fl_family *f = fl_family_of(t);
    const fl_line *line = t->chip->line;
    /* Freeze the watchdog while the core is halted (DBGMCU): a hardware
     * IWDG would otherwise reset the chip between two stub runs. */
    uint32_t fz = 0;
    if (line->dbg_clock_reg) {
        uint32_t en = 0;
        PD_TRY(t, pd_read32(t->probe, line->dbg_clock_reg, &en));
        if ((en & line->dbg_clock_bit) != line->dbg_clock_bit)
            PD_TRY(t, pd_write32(t->probe, line->dbg_clock_reg, en | line->dbg_clock_bit));
    }
    PD_TRY(t, pd_read32(t->probe, line->wdg_freeze_reg, &fz));
    PD_TRY(t, pd_write32(t->probe, line->wdg_freeze_reg, fz | line->wdg_freeze_bit));
    uint32_t flags = fl_sr_errors(f) | f->sr_eop;
    if (f->prepare) {
        fl_err e = f->prepare(t);
        if (e)
            return e;
    }
    for (uint32_t bank = 0; bank < fl_reg_blocks(t); bank++) {
        uint32_t cr = 0, cr_addr = fl_reg(t, bank, f->cr);
        /* Stale error flags from a crashed run would fail the next operation. */
        PD_TRY(t, pd_write32(t->probe, fl_sr_clear_reg(t, bank), flags));
        PD_TRY(t, pd_read32(t->probe, cr_addr, &cr));
        for (const fl_key *k = f->keys; k < f->keys + 2 && k->keyr; k++) {
            if (!(cr & k->lock_bit))
                continue; /* a key into an open register would lock it */
            PD_TRY(t, pd_write32(t->probe, fl_reg(t, bank, k->keyr), k->key1));
            PD_TRY(t, pd_write32(t->probe, fl_reg(t, bank, k->keyr), k->key2));
            PD_TRY(t, pd_read32(t->probe, cr_addr, &cr));
        }
        if (cr & f->cr_lock)
            return fl_fail(t, FL_E_PROTECTED,
                           "flash controller stays locked after the unlock keys (CR 0x%08X): a "
                           "wrong key sequence locks it until reset; reset the board and retry",
                           cr);
    }
    return FL_OK;
}

fl_err fl_lock(fl_target *t)
{
    const fl_family *f = fl_family_of(t);
    if (f->settle) {
        fl_err e = f->settle(t);
        if (e)
            return e;
    }
    for (uint32_t bank = 0; bank < fl_reg_blocks(t); bank++) {
        uint32_t cr = 0, cr_addr = fl_reg(t, bank, f->cr);
        PD_TRY(t, pd_read32(t->probe, cr_addr, &cr));
        PD_TRY(t, pd_write32(t->probe, cr_addr, cr | f->cr_lock));
    }
    return FL_OK;
}

bool fl_can_mass_erase(const fl_target *t)
{
    return fl_family_of(t)->mass_erase != NULL;
}

fl_err fl_mass_erase(fl_target *t)
{
    const fl_family *f = fl_family_of(t);
    if (!f->mass_erase)
        return fl_fail(t, FL_E_ARG, "%s has no mass erase; erase page by page", t->chip->name);
    return f->mass_erase(t);
}

fl_err fl_erase_unit(fl_target *t, uint32_t unit)
{
    fl_unit u;
    if (!fl_chip_unit(t->chip, t->flash_size, unit, &u))
        return fl_fail(t, FL_E_ARG, "erase unit %u does not exist on this %s", unit, t->chip->name);
    return fl_family_of(t)->erase(t, &u);
}

/* ---- the stub ----------------------------------------------------------------- */

static uint32_t buf_size(const fl_target *t)
{
    /* Parts with less SRAM than stub, control block, stack and two small
     * buffers take (the L011 has 2 KiB) get none: fl_loader_fits says no
     * and they are programmed over SWD. */
    if (t->chip->sram_size < (BUF_ADDR - t->chip->sram_base) + STACK_RESERVE + 512u)
        return 0;
    /* The table keeps every row's SRAM above what the stub, its control
     * block and stack need (loaders.test_chips): 4 KiB parts get two
     * buffers of 512 bytes. */
    uint32_t room = (t->chip->sram_size - (BUF_ADDR - t->chip->sram_base) - STACK_RESERVE) / 2;
    room &= ~255u;
    return room > BUF_MAX ? BUF_MAX : room;
}

bool fl_loader_fits(const fl_target *t)
{
    return buf_size(t) >= 256u;
}

/* Put the stub (if it is not there yet), its control block and the
 * optional payload at BUF_ADDR in target SRAM with one memory write: they
 * are adjacent, and each write costs at least a USB frame plus a status
 * round trip, which is most of a small image's fixed cost. */
static fl_err stub_place(fl_target *t, const fl_stub *stub, const fl_loader_ctl *ctl,
                         const void *payload, uint32_t payload_len)
{
    uint32_t from = t->stub_loaded ? CTL_ADDR : FL_STUB_BASE;
    uint32_t to = payload_len ? BUF_ADDR + payload_len : CTL_ADDR + (uint32_t)sizeof *ctl;
    uint8_t *img = calloc(1, to - from);
    if (!img)
        return fl_fail(t, FL_E_LOADER, "out of memory for a %u-byte loader image", to - from);
    if (!t->stub_loaded)
        memcpy(img, stub->code, stub->len);
    memcpy(img + (CTL_ADDR - from), ctl, sizeof *ctl);
    if (payload_len)
        memcpy(img + (BUF_ADDR - from), payload, payload_len);
    pd_err e = pd_mem_write(t->probe, from, img, to - from);
    free(img);
    if (e != PD_OK)
        return fl_probe_fail(t, e);
    t->stub_loaded = true;
    return FL_OK;
}

static fl_err stub_start(fl_target *t, const fl_loader_ctl *ctl, const void *payload,
                         uint32_t payload_len)
{
    fl_stub stub;
    if (!fl_stub_find(fl_family_of(t)->stub, &stub))
        return fl_fail(t, FL_E_LOADER, "no loader stub for %s", t->chip->name);
    bool ready = t->stub_loaded && t->stub_ready;
    t->stub_ready = false; /* until this run, too, ends at its BKPT */
    if (!ready)
        PD_TRY(t, pd_halt(t->probe));
    fl_err fe = stub_place(t, &stub, ctl, payload, payload_len);
    if (fe != FL_OK)
        return fe;
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

/* The control block and, when out_len is not 0, the out_len bytes at
 * BUF_ADDR the stub left there: one read, as stub_place writes. */
static fl_err stub_result(fl_target *t, fl_loader_ctl *ctl, void *out, uint32_t out_len)
{
    if (out_len == 0) {
        PD_TRY(t, pd_mem_read(t->probe, CTL_ADDR, ctl, sizeof *ctl));
    } else {
        uint32_t len = BUF_ADDR + out_len - CTL_ADDR;
        uint8_t *img = malloc(len);
        if (!img)
            return fl_fail(t, FL_E_LOADER, "out of memory for a %u-byte loader result", len);
        pd_err e = pd_mem_read(t->probe, CTL_ADDR, img, len);
        if (e == PD_OK) {
            memcpy(ctl, img, sizeof *ctl);
            memcpy(out, img + (BUF_ADDR - CTL_ADDR), out_len);
        }
        free(img);
        if (e != PD_OK)
            return fl_probe_fail(t, e);
    }
    /* A status the stub wrote means it returned to its BKPT, where the host
     * saw the core halt. */
    t->stub_ready = ctl->status != FL_ST_RUNNING;
    switch (ctl->status) {
    case FL_ST_OK:
        return FL_OK;
    case FL_ST_FLASH_ERROR:
        return fl_fail(t, t->rdp ? FL_E_PROTECTED : FL_E_FLASH,
                       "programming at 0x%08X failed: FLASH_SR 0x%08X%s%s%s", ctl->fail_addr,
                       ctl->sr, t->rdp ? " (the chip is protected: " : "; erase the page and retry",
                       t->rdp ? t->protection : "", t->rdp ? ")" : "");
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
                       uint8_t code_shift, fl_loader_buf *b, size_t *done_upto)
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
                b->unit_code = k->unit.index_in_bank | k->unit.bank << code_shift;
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

/* The controller the stub drives: one register block, or (F1 XL) one per
 * bank, bank 2's from the middle of flash on. */
static void loader_regs(const fl_target *t, fl_loader_ctl *ctl)
{
    ctl->flash_regs = fl_reg(t, 0, 0);
    if (fl_family_of(t)->loader_setup)
        fl_family_of(t)->loader_setup(t, ctl);
    if (fl_reg_blocks(t) > 1) {
        ctl->bank2_regs = fl_reg(t, 1, 0);
        ctl->bank2_addr = t->chip->line->flash_base + t->chip->bank2_start;
    }
}

static fl_err check_chunks(fl_target *t, const fl_chunk *chunks, size_t n)
{
    uint32_t base = t->chip->line->flash_base, pu = fl_family_of(t)->program_unit;
    for (size_t i = 0; i < n; i++) {
        const fl_chunk *k = &chunks[i];
        if (k->addr < base || k->addr - base > t->flash_size ||
            k->len > t->flash_size - (k->addr - base) || k->addr % pu || k->len % pu)
            return fl_fail(t, FL_E_ARG, "0x%08X+%u is outside flash or not aligned to %u bytes",
                           k->addr, k->len, pu);
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
    if (bsz == 0)
        return fl_fail(t, FL_E_LOADER,
                       "%s has %u KiB of SRAM, too little for the flash loader; it is programmed "
                       "over SWD instead",
                       t->chip->name, t->chip->sram_size / 1024u);
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
    fl_loader_ctl ctl = {.op = FL_OP_PROGRAM};
    loader_regs(t, &ctl);
    uint8_t shift = fl_family_of(t)->bank_code_shift;
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
    next_piece(chunks, n, &cur, first, stage, shift, &ctl.buf[0], &fly[0].done_upto);
    ctl.buf[0].state = FL_BUF_FULL;
    fly[0].busy = true;
    e = stub_start(t, &ctl, stage, ctl.buf[0].len);
    if (e)
        return e;
    /* A big first erase unit (an F4 sector: 250 ms and more) covers a whole
     * buffer's transfer. */
    uint32_t second =
        chunks[0].erase && chunks[0].unit.size > SECOND_PIECE ? chunks[0].unit.size : SECOND_PIECE;
    if (second > bsz)
        second = bsz;
    if (next_piece(chunks, n, &cur, second, stage, shift, &ctl.buf[1], &fly[1].done_upto)) {
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
            if (next_piece(chunks, n, &cur, bsz, stage, shift, b, &fly[next].done_upto)) {
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
    e = stub_result(t, &ctl, NULL, 0);
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
static fl_err stub_run_once(fl_target *t, fl_loader_ctl *ctl, uint32_t stall_ms, void *buf,
                            uint32_t buf_len)
{
    fl_err e = stub_start(t, ctl, buf, buf_len);
    if (e)
        return e;
    e = stub_wait_halt(t, stall_ms);
    return e ? e : stub_result(t, ctl, buf, buf_len);
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
    uint32_t base = t->chip->line->flash_base;
    if (!fl_loader_fits(t))
        return fl_crc32_list_direct(t, items, n);
    uint32_t room = buf_size(t) * 2 / (uint32_t)sizeof(fl_crc_item);
    for (size_t i = 0; i < n; i++)
        if (items[i].addr < base || items[i].addr - base > t->flash_size ||
            items[i].len > t->flash_size - (items[i].addr - base))
            return fl_fail(t, FL_E_ARG, "0x%08X+%u is outside flash", items[i].addr, items[i].len);
    for (size_t at = 0; at < n; at += room) {
        size_t k = n - at < room ? n - at : room;
        uint64_t bytes = 0;
        for (size_t i = 0; i < k; i++)
            bytes += items[at + i].len;
        fl_loader_ctl ctl = {.op = FL_OP_CRC32_LIST};
        loader_regs(t, &ctl);
        ctl.buf[0].data = BUF_ADDR;
        ctl.buf[0].len = (uint32_t)k;
        /* Roughly 12 cycles a byte at a few MHz, plus the link: be generous. */
        /* The items go in with the control block and come back with it. */
        fl_err e = stub_run_once(t, &ctl, STUB_STALL_MS + (uint32_t)(bytes / 100), &items[at],
                                 (uint32_t)(k * sizeof *items));
        if (e)
            return e;
    }
    return FL_OK;
}
