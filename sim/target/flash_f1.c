/*
 * STM32F103 (medium density) flash program/erase controller, the FPEC at
 * 0x40022000 (RM0008 section 3.3; the programming rules are in PM0075,
 * whose text RM0091 section 3 repeats for the same block on the F0).
 *
 * What silicon does and therefore what this model does:
 *  - Unlock: KEY1 then KEY2 into KEYR clears CR.LOCK. A wrong key is
 *    answered with a bus error and CR stays locked until the next reset
 *    (PM0075 2.3.1, RM0091 3.2.2 "Unlocking the flash memory").
 *  - Program: PG=1, then one half-word store. Any other width is a bus
 *    error. The FPEC reads the target first: not 0xFFFF -> skipped with
 *    PGERR, except that 0x0000 is always written. Write-protected page ->
 *    skipped with WRPRTERR. EOP at the end, whatever EOPIE says
 *    (RM0091 3.2.2 "Main flash memory programming", 3.5.4).
 *  - Erase: PER + AR + STRT for one 1 KiB page, MER + STRT for the whole
 *    main array; the information block is never touched.
 *  - Option bytes: OPTKEYR keys set OPTWRE; OPTER + STRT erases the 16-byte
 *    block; OPTPG + half-word stores program it, the hardware writing the
 *    complement into the high byte. A target that is not erased is skipped
 *    with WRPRTERR. Options load into OBR/WRPR only at reset (the F10x has
 *    no OBL_LAUNCH). Writing RDP = 0xA5 while the chip is read protected
 *    mass-erases the main array first (RM0091 3.2.2 "Option byte
 *    programming").
 *  - RDP: the F1 knows two states; RDP byte 0xA5 is unprotected, anything
 *    else (the erased 0xFF too) is protected. Protected + debugger attached:
 *    main flash can be neither read (the board refuses) nor programmed or
 *    erased.
 *
 * Timing: DS5319 (STM32F103x8/xB datasheet) Table 28 "Flash memory
 * characteristics": tprog 16-bit 40 / 52.5 / 70 us (min/typ/max); tERASE
 * page 20-40 ms and tME mass 20-40 ms, no typical given, so both use the
 * middle of the range, 30 ms.
 *
 * Facts marked [U] in comments are not stated by the manuals we could read;
 * the choice made is the stricter one that real tools still get through.
 */
#include "flash_common.h"

#include <string.h>

/* Register offsets (RM0008 3.4) */
#define F1_ACR     0x00
#define F1_KEYR    0x04
#define F1_OPTKEYR 0x08
#define F1_SR      0x0C
#define F1_CR      0x10
#define F1_AR      0x14
#define F1_OBR     0x1C
#define F1_WRPR    0x20

#define KEY1 0x45670123u
#define KEY2 0xCDEF89ABu

#define SR_BSY      (1u << 0)
#define SR_PGERR    (1u << 2)
#define SR_WRPRTERR (1u << 4)
#define SR_EOP      (1u << 5)
#define SR_W1C      (SR_PGERR | SR_WRPRTERR | SR_EOP)

#define CR_PG     (1u << 0)
#define CR_PER    (1u << 1)
#define CR_MER    (1u << 2)
#define CR_OPTPG  (1u << 4)
#define CR_OPTER  (1u << 5)
#define CR_STRT   (1u << 6)
#define CR_LOCK   (1u << 7)
#define CR_OPTWRE (1u << 9)
#define CR_ERRIE  (1u << 10)
#define CR_EOPIE  (1u << 12)
/* Bits software writes directly; LOCK, OPTWRE and STRT have rules. */
#define CR_PLAIN (CR_PG | CR_PER | CR_MER | CR_ERRIE | CR_EOPIE)

#define ACR_RW     0x1Fu /* LATENCY b2:0, HLFCYA b3, PRFTBE b4 */
#define ACR_PRFTBE (1u << 4)
#define ACR_PRFTBS (1u << 5)
#define ACR_RESET  0x30u /* RM0008 3.3.3: prefetch on and running after reset */

#define OBR_OPTERR (1u << 0)
#define OBR_RDPRT  (1u << 1)

#define OPT_BASE        0x1FFFF800u /* RDP, USER, DATA0, DATA1, WRP0..WRP3: 8 half-words */
#define OPT_SIZE        16u
#define RDP_UNPROTECTED 0xA5u

#define PAGE_SIZE 1024u

/* DS5319 Table 28 (see the header comment). */
#define T_PROG_NS  52500ull
#define T_ERASE_NS 30000000ull
#define T_MASS_NS  30000000ull

typedef struct f1_state {
    uint32_t acr, cr, sr, ar;
    uint32_t obr, wrpr;   /* option bytes as loaded at the last reset */
    flash_keyseq keys;    /* KEYR */
    flash_keyseq optkeys; /* OPTKEYR */
    flash_op op;          /* a program/erase is running; EOP is due when it ends */
} f1_state;

/* An operation that was running has ended: BSY fell (the board keeps the
 * time), STRT clears with it, EOP rises. Done lazily whenever something
 * looks at the controller. */
static void settle(sim_board *b, f1_state *s)
{
    if (flash_op_ended(b, &s->op)) {
        s->cr &= ~CR_STRT;
        s->sr |= SR_EOP;
    }
}

static void start_op(sim_board *b, f1_state *s, uint64_t ns)
{
    flash_op_begin(b, &s->op, ns, FLASH_AREA_NONE, 0, 0);
}

static bool read_protected(const f1_state *s)
{
    return (s->obr & OBR_RDPRT) != 0;
}

/* RM0091 3.3.1 Table 7 (same FPEC): with read protection on and a debugger
 * attached, main flash can be neither programmed nor erased. */
static bool rdp_blocks(sim_board *b, const f1_state *s)
{
    return read_protected(s) && sim_debugger_attached(b);
}

/* WRPR bit n covers pages 4n..4n+3 on medium density parts, 0 = protected
 * (RM0008 3.4.8). With read protection on, pages 0-3 are write protected as
 * well, whatever WRP0 says [U: PM0075 2.4.1 as remembered; consistent with
 * the ST community report of the first 4 KiB staying locked until reset]. */
static bool page_protected(const f1_state *s, uint32_t page)
{
    if (read_protected(s) && page < 4)
        return true;
    uint32_t bit = page / 4;
    if (bit > 31)
        bit = 31;
    return !(s->wrpr & (1u << bit));
}

/* Option byte pair n: low byte the value, high byte its complement. A pair
 * that does not match sets OPTERR and reads as 0xFF (RM0008 3.4.7 OBR). The
 * erased pair 0xFFFF is taken as 0xFF without OPTERR [U]. */
static uint8_t opt_byte(const uint8_t *img, unsigned n, bool *opterr)
{
    uint8_t v = img[2 * n], nv = img[2 * n + 1];
    if ((v ^ nv) == 0xFF)
        return v;
    if (v != 0xFF || nv != 0xFF)
        *opterr = true;
    return 0xFF;
}

static void load_options(sim_board *b, f1_state *s)
{
    const uint8_t *img = sim_board_info_ptr(b, OPT_BASE, OPT_SIZE);
    if (!img) { /* never for the F103; keep a protected, sane state */
        s->obr = OBR_RDPRT;
        s->wrpr = 0xFFFFFFFFu;
        return;
    }
    bool err = false;
    uint8_t rdp = opt_byte(img, 0, &err);
    uint8_t user = opt_byte(img, 1, &err);
    uint8_t data0 = opt_byte(img, 2, &err);
    uint8_t data1 = opt_byte(img, 3, &err);
    uint32_t wrp = 0;
    for (unsigned i = 0; i < 4; i++)
        wrp |= (uint32_t)opt_byte(img, 4 + i, &err) << (8 * i);
    /* OBR: OPTERR b0, RDPRT b1, USER b9:2, DATA0 b17:10, DATA1 b25:18. */
    s->obr = (err ? OBR_OPTERR : 0) | (rdp != RDP_UNPROTECTED ? OBR_RDPRT : 0) |
             (uint32_t)user << 2 | (uint32_t)data0 << 10 | (uint32_t)data1 << 18;
    s->wrpr = wrp;
}

static void f1_factory(sim_board *b, void *st)
{
    (void)st;
    /* As shipped: RDP 0xA5 (unprotected), USER/DATA 0xFF, no page write
     * protected; each byte followed by its complement. */
    static const uint16_t image[8] = {0x5AA5, 0x00FF, 0x00FF, 0x00FF,
                                      0x00FF, 0x00FF, 0x00FF, 0x00FF};
    uint8_t *p = sim_board_info_ptr(b, OPT_BASE, OPT_SIZE);
    if (!p)
        return;
    for (unsigned i = 0; i < 8; i++)
        flash_put_le16(p + 2 * i, image[i]);
}

static void f1_reset(sim_board *b, void *st, bool power_on)
{
    (void)power_on;
    f1_state *s = st;
    memset(s, 0, sizeof *s);
    s->acr = ACR_RESET;
    s->cr = CR_LOCK;
    /* PM0075 2.5: option bytes are loaded at every system reset, not only
     * at power-on. */
    load_options(b, s);
}

static uint32_t f1_reg_read(sim_board *b, void *st, uint32_t offset)
{
    f1_state *s = st;
    settle(b, s);
    switch (offset) {
    case F1_ACR:
        /* PRFTBS follows PRFTBE (the buffer state, read-only). */
        return (s->acr & ACR_RW) | ((s->acr & ACR_PRFTBE) ? ACR_PRFTBS : 0);
    case F1_SR:
        return s->sr | (sim_flash_busy(b) ? SR_BSY : 0);
    case F1_CR:
        return s->cr;
    case F1_AR:
        return s->ar;
    case F1_OBR:
        return s->obr;
    case F1_WRPR:
        return s->wrpr;
    default: /* KEYR and OPTKEYR are write-only and read 0 */
        return 0;
    }
}

/* A full-word key write: KEY1 then KEY2. Anything else is a wrong sequence:
 * bus error, locked until reset; once dead, a correct pair is refused too
 * (F411 bench, fact sheet 3). While already unlocked the two keys are
 * accepted and change nothing: OpenOCD's stm32f1x writes them again between
 * erasing and programming the option bytes without relocking, which works
 * on silicon. A wrong value then still counts as a wrong sequence [U]. */
static flash_key_result key_write(flash_keyseq *k, bool unlocked, uint32_t value, uint32_t mask)
{
    if (!k->dead && unlocked && mask == 0xFFFFFFFFu && (value == KEY1 || value == KEY2))
        return FLASH_KEY_TAKEN;
    return flash_key_step(k, !unlocked, KEY1, KEY2, value, mask);
}

/* STRT written to 1 with CR unlocked and nothing running. */
static void start_erase(sim_board *b, f1_state *s)
{
    const sim_chip *c = sim_board_chip(b);
    if (s->cr & CR_OPTER) {
        /* Option erase: the whole 16-byte block back to 0xFF. Allowed under
         * RDP (that is how RDP is removed). The time of an option erase is
         * not in DS5319; it is a page erase of the option page [U]. */
        uint8_t *img = sim_board_info_ptr(b, OPT_BASE, OPT_SIZE);
        if (img)
            memset(img, 0xFF, OPT_SIZE);
        start_op(b, s, T_ERASE_NS);
        return;
    }
    if (s->cr & CR_MER) {
        bool refused = rdp_blocks(b, s);
        /* Mass erase over write-protected pages: refused as a page erase
         * would be [U]. */
        for (uint32_t p = 0; !refused && p < c->flash_size / PAGE_SIZE; p++)
            refused = page_protected(s, p);
        if (refused) {
            s->sr |= SR_WRPRTERR;
            s->cr &= ~CR_STRT;
            return;
        }
        flash_erase_main(b, c->flash_base, c->flash_size);
        start_op(b, s, T_MASS_NS);
        return;
    }
    if (s->cr & CR_PER) {
        if (!flash_in_main(c, s->ar, 1)) {
            /* AR outside main flash: nothing to erase and no flag [U]. */
            s->cr &= ~CR_STRT;
            return;
        }
        uint32_t page = (s->ar - c->flash_base) / PAGE_SIZE;
        if (rdp_blocks(b, s) || page_protected(s, page)) {
            s->sr |= SR_WRPRTERR;
            s->cr &= ~CR_STRT;
            return;
        }
        flash_erase_main(b, c->flash_base + page * PAGE_SIZE, PAGE_SIZE);
        start_op(b, s, T_ERASE_NS);
        return;
    }
    s->cr &= ~CR_STRT; /* STRT with no operation selected: nothing [U] */
}

static void cr_write(sim_board *b, f1_state *s, uint32_t value, uint32_t mask)
{
    if (s->cr & CR_LOCK)
        return; /* "not accessible in write mode" until unlocked */
    uint32_t w = value & mask;
    uint32_t cr = flash_masked(s->cr, CR_PLAIN, value, mask);
    /* OPTWRE: software can only clear it. OPTPG/OPTER: only meaningful with
     * option write access; without OPTWRE they do not stick [U]. */
    if ((mask & CR_OPTWRE) && !(w & CR_OPTWRE))
        cr &= ~CR_OPTWRE;
    uint32_t optbits = CR_OPTPG | CR_OPTER;
    cr = (cr & ~(optbits & mask)) | ((cr & CR_OPTWRE) ? (w & optbits) : 0);
    if (w & CR_LOCK) {
        /* Relock. The key sequences start over. */
        cr |= CR_LOCK;
        flash_key_restart(&s->keys);
    }
    bool strt = (w & CR_STRT) && !(cr & CR_LOCK);
    s->cr = cr;
    if (strt) {
        s->cr |= CR_STRT;
        start_erase(b, s);
    }
}

static bool f1_reg_write(sim_board *b, void *st, uint32_t offset, uint32_t value, uint32_t mask)
{
    f1_state *s = st;
    settle(b, s);
    /* RM0091 3.2.2: "the registers are not accessible in write mode when the
     * BSY bit is set". Whether the write is dropped or stalled is not said
     * for the F1 [U]; dropping it is the stricter reading: a loader that
     * writes CR without waiting for BSY fails here as it may on silicon. */
    if (sim_flash_busy(b))
        return true;
    flash_key_result key;
    switch (offset) {
    case F1_ACR:
        s->acr = flash_masked(s->acr, ACR_RW, value, mask);
        sim_clock_changed(b); /* HCLK may now be too fast, or fine again */
        return true;
    case F1_KEYR:
        key = key_write(&s->keys, !(s->cr & CR_LOCK), value, mask);
        if (key == FLASH_KEY_BAD) {
            s->cr |= CR_LOCK;
            return false;
        }
        if (key == FLASH_KEY_OPEN)
            s->cr &= ~CR_LOCK;
        return true;
    case F1_OPTKEYR:
        /* Same keys, after KEYR unlock, set OPTWRE (RM0091 3.3.3). With CR
         * still locked the keys are ignored [U]; a wrong value is a wrong
         * sequence like on KEYR [U]. */
        if (s->cr & CR_LOCK)
            return true;
        key = key_write(&s->optkeys, (s->cr & CR_OPTWRE) != 0, value, mask);
        if (key == FLASH_KEY_BAD)
            return false;
        if (key == FLASH_KEY_OPEN)
            s->cr |= CR_OPTWRE;
        return true;
    case F1_SR:
        flash_w1c(&s->sr, SR_W1C, value, mask);
        return true;
    case F1_CR:
        cr_write(b, s, value, mask);
        return true;
    case F1_AR:
        if (!(s->cr & CR_LOCK)) /* AR is written like CR, once unlocked [U] */
            s->ar = flash_masked(s->ar, 0xFFFFFFFFu, value, mask);
        return true;
    default: /* OBR, WRPR and reserved words: read-only */
        return true;
    }
}

static bool program_main(sim_board *b, f1_state *s, uint32_t addr, uint32_t value, unsigned size)
{
    const sim_chip *c = sim_board_chip(b);
    if (!(s->cr & CR_PG))
        return true; /* a plain store to flash does nothing [U] */
    /* PM0075 2.3.3 / RM0091 3.2.2: anything but a half-word is a bus error. */
    if (size != 2 || (addr & 1))
        return false;
    uint32_t page = (addr - c->flash_base) / PAGE_SIZE;
    if (rdp_blocks(b, s) || page_protected(s, page)) {
        s->sr |= SR_WRPRTERR;
        return true;
    }
    uint8_t *cell = sim_flash_ptr(b) + (addr - c->flash_base);
    uint16_t old = flash_le16(cell);
    uint16_t v = (uint16_t)value;
    if (old != 0xFFFF && v != 0) {
        s->sr |= SR_PGERR;
        return true;
    }
    /* A bad cell does not take the write, yet the controller reports
     * success: only a verify finds it. */
    if (!sim_flash_cell_bad(b, addr, 2)) {
        flash_put_le16(cell, v);
        sim_flash_changed(b, addr, 2);
    }
    start_op(b, s, T_PROG_NS);
    return true;
}

static bool program_option(sim_board *b, f1_state *s, uint32_t addr, uint32_t value, unsigned size)
{
    const sim_chip *c = sim_board_chip(b);
    if (!(s->cr & CR_OPTPG))
        return true;
    if (size != 2 || (addr & 1))
        return false;           /* as for main flash [U] */
    if (!(s->cr & CR_OPTWRE)) { /* OPTWRE cleared after OPTPG was set [U] */
        s->sr |= SR_WRPRTERR;
        return true;
    }
    uint8_t *cell = sim_board_info_ptr(b, addr, 2);
    if (!cell || cell[0] != 0xFF || cell[1] != 0xFF) {
        s->sr |= SR_WRPRTERR; /* RM0091 3.2.2: not erased -> skipped, WRPRTERR */
        return true;
    }
    uint8_t v = (uint8_t)value;
    uint64_t ns = T_PROG_NS; /* DS5319 gives no option figure: a half-word [U] */
    if (addr == OPT_BASE && v == RDP_UNPROTECTED && read_protected(s)) {
        /* Protected -> unprotected: main flash is mass-erased first. */
        flash_erase_main(b, c->flash_base, c->flash_size);
        ns += T_MASS_NS;
    }
    cell[0] = v;
    cell[1] = (uint8_t)~v; /* the complement is written by hardware */
    start_op(b, s, ns);
    return true;
}

static bool f1_mem_write(sim_board *b, void *st, bus_master who, uint32_t addr, uint32_t value,
                         unsigned size)
{
    (void)who;
    f1_state *s = st;
    const sim_chip *c = sim_board_chip(b);
    settle(b, s);
    /* The FPEC takes the next store only when the array is free: the bus
     * waits (RM0091 3.2.2: accesses to busy flash stall). */
    if (flash_stall_if_busy(b))
        settle(b, s);
    if (flash_in_main(c, addr, size))
        return program_main(b, s, addr, value, size);
    if (flash_in_range(addr, size, OPT_BASE, OPT_SIZE))
        return program_option(b, s, addr, value, size);
    /* Boot ROM, UID and the rest of the system block: never programmable.
     * With PG or OPTPG set the store is refused as protected [U]. */
    if (s->cr & (CR_PG | CR_OPTPG)) {
        if (size != 2 || (addr & 1))
            return false;
        s->sr |= SR_WRPRTERR;
    }
    return true;
}

static bool f1_read_protected(sim_board *b, void *st)
{
    (void)b;
    return read_protected(st);
}

static void f1_inject_stale_errors(sim_board *b, void *st)
{
    (void)b;
    f1_state *s = st;
    s->sr |= SR_PGERR | SR_WRPRTERR;
}

static void f1_inject_rdp1(sim_board *b, void *st)
{
    (void)st;
    /* RDP byte 0x00 with its complement (the HAL's OB_RDP_LEVEL_1); loads at
     * the next reset. */
    uint8_t *p = sim_board_info_ptr(b, OPT_BASE, 2);
    if (p) {
        p[0] = 0x00;
        p[1] = 0xFF;
    }
}

static unsigned f1_latency(sim_board *b, void *st)
{
    (void)b;
    /* RM0008 3.3.3: LATENCY b2:0 */
    return ((f1_state *)st)->acr & 0x7u;
}

const flash_ctrl_ops sim_flash_f1 = {
    .state_size = sizeof(f1_state),
    .factory = f1_factory,
    .reset = f1_reset,
    .reg_read = f1_reg_read,
    .reg_write = f1_reg_write,
    .mem_write = f1_mem_write,
    .read_protected = f1_read_protected,
    .inject_stale_errors = f1_inject_stale_errors,
    .inject_rdp1 = f1_inject_rdp1,
    .latency = f1_latency,
};
