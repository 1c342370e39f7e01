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
 * Variants, as data (f1_variant, reached from the chip row's flash_ctrl_ops):
 *  - XL density F10x (RM0008 3.3, 3.4): a second bank from 512 KiB with its
 *    own KEYR2/SR2/CR2/AR2 (0x44/0x4C/0x50/0x54): own lock, own BSY, EOP
 *    and errors, own PG/PER/MER/STRT; MER in CR erases bank 1 only, in CR2
 *    bank 2 only. The option bits stay in CR. This model runs one
 *    operation at a time [U: stricter than the silicon, which can work on
 *    both banks]: a register write of one bank waits while the other
 *    bank's operation runs, and a store waits for any operation.
 *  - F0/F3 (RM0091 3.5, RM0316 4.5, same FPEC): CR.OBL_LAUNCH b13 reloads
 *    the option bytes with a system reset; three RDP levels (0xAA level 0,
 *    0xCC level 2, anything else level 1) shown in OBR.RDPRT b2:1 (00, 01,
 *    11), USER in OBR b15:8, DATA0 b23:16, DATA1 b31:24. At level 2 the
 *    option bytes cannot be changed (option erase and program: WRPRTERR
 *    [U]); the debug port's closing at level 2 is not modelled. The F0
 *    loads its option bytes at power-on and OBL_LAUNCH only, not at a
 *    system reset (RM0091 4, RM0360 4); the F3 at every reset (RM0365 5,
 *    RM0313 4).
 * Page size is the chip row's (1 KiB low/medium density, 2 KiB high/XL
 * density, F07x/F09x and F3). Each WRPR bit covers 4 KiB (4 pages of 1 KiB
 * on medium density, RM0008 3.4.8) and the last bit the rest of main flash
 * [U: the high/XL density split, 2 pages per bit and bit 31 for the rest,
 * is the option-byte description of the programming manuals as
 * remembered].
 *
 * Facts marked [U] in comments are not stated by the manuals we could read;
 * the choice made is the stricter one that real tools still get through.
 */
#include "flash_common.h"

#include <string.h>

/* Register offsets (RM0008 3.4); the bank 2 block of XL density at
 * 0x44-0x54. */
#define F1_ACR     0x00
#define F1_KEYR    0x04
#define F1_OPTKEYR 0x08
#define F1_SR      0x0C
#define F1_CR      0x10
#define F1_AR      0x14
#define F1_OBR     0x1C
#define F1_WRPR    0x20
#define F1_KEYR2   0x44
#define F1_SR2     0x4C
#define F1_CR2     0x50
#define F1_AR2     0x54

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

#define OPT_BASE 0x1FFFF800u /* RDP, USER, DATA0, DATA1, WRP0..WRP3: 8 half-words */
#define OPT_SIZE 16u

/* DS5319 Table 28 (see the header comment). */
#define T_PROG_NS  52500ull
#define T_ERASE_NS 30000000ull
#define T_MASS_NS  30000000ull

/* What differs between the parts that share this FPEC (see the header). */
typedef struct f1_variant {
    uint32_t bank2_off;     /* main-flash offset of bank 2, 0: one bank */
    uint32_t cr_obl_launch; /* FLASH_CR.OBL_LAUNCH, 0: none */
    /* the option bytes load at power-on and OBL_LAUNCH only, not at a
     * system reset (F0) */
    bool opt_load_por;
    /* RDP: the factory (unprotected) byte; three levels (0xAA/0xCC) or two
     * (rdp_open unprotected, anything else protected); OBR.RDPRT's bits */
    uint8_t rdp_open;
    bool rdp_levels3;
    uint32_t obr_rdprt;
    uint8_t obr_user, obr_data0, obr_data1; /* OBR field positions */
    uint32_t wrp_bytes;                     /* main flash per WRPR bit */
    /* bytes at the start of main flash write protected while read
     * protected [U: PM0075 2.4.1 as remembered; consistent with the ST
     * community report of the first 4 KiB staying locked until reset] */
    uint32_t rdp_head;
} f1_variant;

/* One bank's registers and its operation. */
typedef struct f1_bank {
    uint32_t cr, sr, ar;
    flash_keyseq keys; /* KEYR / KEYR2 */
    flash_op op;       /* a program/erase is running; EOP is due when it ends */
} f1_bank;

typedef struct f1_state {
    uint32_t acr;
    uint32_t obr, wrpr;   /* option bytes as loaded at the last reset */
    flash_keyseq optkeys; /* OPTKEYR */
    f1_bank bank[2];      /* bank 2 only on XL density */
} f1_state;

static const f1_variant *variant(const sim_board *b)
{
    return sim_board_chip(b)->flash->variant;
}

static unsigned nbanks(const sim_board *b)
{
    return variant(b)->bank2_off ? 2 : 1;
}

/* The bank an address of main flash is in, and the range of a bank. */
static unsigned bank_of(const sim_board *b, uint32_t addr)
{
    uint32_t off = variant(b)->bank2_off;
    return off && addr - sim_board_chip(b)->flash_base >= off ? 1 : 0;
}

static void bank_range(const sim_board *b, unsigned k, uint32_t *start, uint32_t *len)
{
    const sim_chip *c = sim_board_chip(b);
    uint32_t off = variant(b)->bank2_off;
    *start = c->flash_base + (k ? off : 0);
    *len = !off ? c->flash_size : k ? c->flash_size - off : off;
}

/* BSY of bank k: the array is busy with that bank's operation. With one
 * bank, any operation (as before banks were data). */
static bool bank_busy(const sim_board *b, const f1_bank *bk)
{
    return sim_flash_busy(b) && (nbanks(b) == 1 || bk->op.pending);
}

/* An operation that was running has ended: BSY fell (the board keeps the
 * time), STRT clears with it, EOP rises. Done lazily whenever something
 * looks at the controller. */
static void settle(sim_board *b, f1_state *s)
{
    for (unsigned k = 0; k < 2; k++) {
        f1_bank *bk = &s->bank[k];
        if (flash_op_ended(b, &bk->op)) {
            bk->cr &= ~CR_STRT;
            bk->sr |= SR_EOP;
        }
    }
}

static void start_op(sim_board *b, f1_bank *bk, uint64_t ns)
{
    flash_op_begin(b, &bk->op, ns, FLASH_AREA_NONE, 0, 0);
}

static bool read_protected(const sim_board *b, const f1_state *s)
{
    return (s->obr & variant(b)->obr_rdprt) != 0;
}

static bool level2(const sim_board *b, const f1_state *s)
{
    const f1_variant *v = variant(b);
    return v->rdp_levels3 && (s->obr & v->obr_rdprt) == v->obr_rdprt;
}

/* RM0091 3.3.1 Table 7 (same FPEC): with read protection on and a debugger
 * attached, main flash can be neither programmed nor erased. */
static bool rdp_blocks(sim_board *b, const f1_state *s)
{
    return read_protected(b, s) && sim_debugger_attached(b);
}

/* WRPR: bit n covers wrp_bytes of main flash from n * wrp_bytes, the last
 * bit the rest; 0 = protected (RM0008 3.4.8). With read protection on, the
 * first rdp_head bytes are write protected as well, whatever WRP says. */
static bool page_protected(const sim_board *b, const f1_state *s, uint32_t page)
{
    const f1_variant *v = variant(b);
    uint32_t off = page * sim_board_chip(b)->page_size;
    if (read_protected(b, s) && off < v->rdp_head)
        return true;
    uint32_t bit = off / v->wrp_bytes;
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

/* OBR.RDPRT for an RDP byte: F1 one bit, set unless RDP opens the chip;
 * three levels as 00, 01, 11 in the field (see the header). */
static uint32_t rdprt_bits(const f1_variant *v, uint8_t rdp)
{
    if (!v->rdp_levels3)
        return rdp != v->rdp_open ? v->obr_rdprt : 0;
    unsigned level = flash_rdp_level(rdp);
    uint32_t low = v->obr_rdprt & -v->obr_rdprt; /* the field's lowest bit */
    return level == 0 ? 0 : level == 1 ? low : v->obr_rdprt;
}

static void load_options(sim_board *b, f1_state *s)
{
    const f1_variant *v = variant(b);
    const uint8_t *img = sim_board_info_ptr(b, OPT_BASE, OPT_SIZE);
    if (!img) { /* never for the F103; keep a protected, sane state */
        s->obr = v->obr_rdprt;
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
    /* F1 OBR: OPTERR b0, RDPRT b1, USER b9:2, DATA0 b17:10, DATA1 b25:18. */
    s->obr = (err ? OBR_OPTERR : 0) | rdprt_bits(v, rdp) | (uint32_t)user << v->obr_user |
             (uint32_t)data0 << v->obr_data0 | (uint32_t)data1 << v->obr_data1;
    s->wrpr = wrp;
}

static void f1_factory(sim_board *b, void *st)
{
    (void)st;
    /* As shipped: RDP unprotected (0xA5 on the F1, level 0 0xAA on F0/F3),
     * USER/DATA 0xFF, no page write protected; each byte followed by its
     * complement. */
    uint8_t rdp = variant(b)->rdp_open;
    uint16_t image[8] = {(uint16_t)(rdp | (uint8_t)~rdp << 8),
                         0x00FF,
                         0x00FF,
                         0x00FF,
                         0x00FF,
                         0x00FF,
                         0x00FF,
                         0x00FF};
    uint8_t *p = sim_board_info_ptr(b, OPT_BASE, OPT_SIZE);
    if (!p)
        return;
    for (unsigned i = 0; i < 8; i++)
        flash_put_le16(p + 2 * i, image[i]);
}

static void f1_reset(sim_board *b, void *st, bool power_on)
{
    f1_state *s = st;
    const f1_variant *v = variant(b);
    bool obl = v->cr_obl_launch && (s->bank[0].cr & v->cr_obl_launch);
    uint32_t obr = s->obr, wrpr = s->wrpr;
    memset(s, 0, sizeof *s);
    s->acr = ACR_RESET;
    s->bank[0].cr = s->bank[1].cr = CR_LOCK;
    /* PM0075 2.5: option bytes are loaded at every system reset, not only
     * at power-on; the F0 loads them at power-on and by OBL_LAUNCH only
     * (RM0091 4, RM0360 4 introduction: "not" at a system reset). */
    if (power_on || obl || !v->opt_load_por)
        load_options(b, s);
    else {
        s->obr = obr;
        s->wrpr = wrpr;
    }
}

/* The bank whose block a register offset is in; NULL for bank 2's block
 * on a chip with one bank (reserved words). */
static f1_bank *bank_of_reg(sim_board *b, f1_state *s, uint32_t offset)
{
    if (offset < F1_KEYR2)
        return &s->bank[0];
    return nbanks(b) == 2 ? &s->bank[1] : NULL;
}

static uint32_t f1_reg_read(sim_board *b, void *st, uint32_t offset)
{
    f1_state *s = st;
    settle(b, s);
    f1_bank *bk = bank_of_reg(b, s, offset);
    switch (offset) {
    case F1_ACR:
        /* PRFTBS follows PRFTBE (the buffer state, read-only). */
        return (s->acr & ACR_RW) | ((s->acr & ACR_PRFTBE) ? ACR_PRFTBS : 0);
    case F1_SR:
    case F1_SR2:
        return bk ? bk->sr | (bank_busy(b, bk) ? SR_BSY : 0) : 0;
    case F1_CR:
    case F1_CR2:
        return bk ? bk->cr : 0;
    case F1_AR:
    case F1_AR2:
        return bk ? bk->ar : 0;
    case F1_OBR:
        return s->obr;
    case F1_WRPR:
        return s->wrpr;
    default: /* KEYR, KEYR2 and OPTKEYR are write-only and read 0 */
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

/* STRT written to 1 in bank k's CR, unlocked, nothing running. */
static void start_erase(sim_board *b, f1_state *s, unsigned k)
{
    const sim_chip *c = sim_board_chip(b);
    f1_bank *bk = &s->bank[k];
    uint32_t page_size = c->page_size;
    if (k == 0 && (bk->cr & CR_OPTER)) {
        /* Option erase: the whole 16-byte block back to 0xFF. Allowed under
         * RDP (that is how RDP is removed), not at level 2 [U]. The time of
         * an option erase is not in DS5319; it is a page erase of the
         * option page [U]. */
        if (level2(b, s)) {
            bk->sr |= SR_WRPRTERR;
            bk->cr &= ~CR_STRT;
            return;
        }
        uint8_t *img = sim_board_info_ptr(b, OPT_BASE, OPT_SIZE);
        if (img)
            memset(img, 0xFF, OPT_SIZE);
        start_op(b, bk, T_ERASE_NS);
        return;
    }
    uint32_t start, len;
    bank_range(b, k, &start, &len);
    if (bk->cr & CR_MER) {
        bool refused = rdp_blocks(b, s);
        /* Mass erase over write-protected pages: refused as a page erase
         * would be [U]. */
        for (uint32_t off = 0; !refused && off < len; off += page_size)
            refused = page_protected(b, s, (start - c->flash_base + off) / page_size);
        if (refused) {
            bk->sr |= SR_WRPRTERR;
            bk->cr &= ~CR_STRT;
            return;
        }
        flash_erase_main(b, start, len);
        start_op(b, bk, T_MASS_NS);
        return;
    }
    if (bk->cr & CR_PER) {
        if (!flash_in_range(bk->ar, 1, start, len)) {
            /* AR outside main flash (or outside this bank): nothing to
             * erase and no flag [U]. */
            bk->cr &= ~CR_STRT;
            return;
        }
        uint32_t page = (bk->ar - c->flash_base) / page_size;
        if (rdp_blocks(b, s) || page_protected(b, s, page)) {
            bk->sr |= SR_WRPRTERR;
            bk->cr &= ~CR_STRT;
            return;
        }
        flash_erase_main(b, c->flash_base + page * page_size, page_size);
        start_op(b, bk, T_ERASE_NS);
        return;
    }
    bk->cr &= ~CR_STRT; /* STRT with no operation selected: nothing [U] */
}

static void cr_write(sim_board *b, f1_state *s, unsigned k, uint32_t value, uint32_t mask)
{
    f1_bank *bk = &s->bank[k];
    if (bk->cr & CR_LOCK)
        return; /* "not accessible in write mode" until unlocked */
    uint32_t w = value & mask;
    uint32_t cr = flash_masked(bk->cr, CR_PLAIN, value, mask);
    if (k == 0) {
        /* OPTWRE: software can only clear it. OPTPG/OPTER: only meaningful
         * with option write access; without OPTWRE they do not stick [U].
         * CR2 has no option bits. */
        if ((mask & CR_OPTWRE) && !(w & CR_OPTWRE))
            cr &= ~CR_OPTWRE;
        uint32_t optbits = CR_OPTPG | CR_OPTER;
        cr = (cr & ~(optbits & mask)) | ((cr & CR_OPTWRE) ? (w & optbits) : 0);
    }
    if (w & CR_LOCK) {
        /* Relock. The key sequences start over. */
        cr |= CR_LOCK;
        flash_key_restart(&bk->keys);
    }
    bool strt = (w & CR_STRT) && !(cr & CR_LOCK);
    bk->cr = cr;
    uint32_t obl = variant(b)->cr_obl_launch;
    if (k == 0 && obl && (w & obl) && !(cr & CR_LOCK)) {
        /* OBL_LAUNCH: the option bytes load with a system reset, which
         * also clears the bit (RM0091 3.5.5). */
        bk->cr |= obl;
        sim_board_request_reset(b);
    }
    if (strt) {
        bk->cr |= CR_STRT;
        start_erase(b, s, k);
    }
}

static bool f1_reg_write(sim_board *b, void *st, uint32_t offset, uint32_t value, uint32_t mask)
{
    f1_state *s = st;
    settle(b, s);
    f1_bank *bk = bank_of_reg(b, s, offset);
    if (!bk)
        return true; /* bank 2's block on a one-bank chip: reserved */
    unsigned k = (unsigned)(bk - s->bank);
    /* RM0091 3.2.2: "the registers are not accessible in write mode when the
     * BSY bit is set". Whether the write is dropped or stalled is not said
     * for the F1 [U]; dropping it is the stricter reading: a loader that
     * writes CR without waiting for BSY fails here as it may on silicon.
     * A write to one bank while the other works waits for it (one
     * operation at a time, see the header). */
    if (bank_busy(b, bk))
        return true;
    if (flash_stall_if_busy(b))
        settle(b, s);
    flash_key_result key;
    switch (offset) {
    case F1_ACR:
        s->acr = flash_masked(s->acr, ACR_RW, value, mask);
        sim_clock_changed(b); /* HCLK may now be too fast, or fine again */
        return true;
    case F1_KEYR:
    case F1_KEYR2:
        key = key_write(&bk->keys, !(bk->cr & CR_LOCK), value, mask);
        if (key == FLASH_KEY_BAD) {
            bk->cr |= CR_LOCK;
            return false;
        }
        if (key == FLASH_KEY_OPEN)
            bk->cr &= ~CR_LOCK;
        return true;
    case F1_OPTKEYR:
        /* Same keys, after KEYR unlock, set OPTWRE (RM0091 3.3.3). With CR
         * still locked the keys are ignored [U]; a wrong value is a wrong
         * sequence like on KEYR [U]. */
        if (bk->cr & CR_LOCK)
            return true;
        key = key_write(&s->optkeys, (bk->cr & CR_OPTWRE) != 0, value, mask);
        if (key == FLASH_KEY_BAD)
            return false;
        if (key == FLASH_KEY_OPEN)
            bk->cr |= CR_OPTWRE;
        return true;
    case F1_SR:
    case F1_SR2:
        flash_w1c(&bk->sr, SR_W1C, value, mask);
        return true;
    case F1_CR:
    case F1_CR2:
        cr_write(b, s, k, value, mask);
        return true;
    case F1_AR:
    case F1_AR2:
        if (!(bk->cr & CR_LOCK)) /* AR is written like CR, once unlocked [U] */
            bk->ar = flash_masked(bk->ar, 0xFFFFFFFFu, value, mask);
        return true;
    default: /* OBR, WRPR and reserved words: read-only */
        return true;
    }
}

/* A store into main flash: the bank it falls in programs it with its PG. */
static bool program_main(sim_board *b, f1_state *s, uint32_t addr, uint32_t value, unsigned size)
{
    const sim_chip *c = sim_board_chip(b);
    f1_bank *bk = &s->bank[bank_of(b, addr)];
    if (!(bk->cr & CR_PG))
        return true; /* a plain store to flash does nothing [U] */
    /* PM0075 2.3.3 / RM0091 3.2.2: anything but a half-word is a bus error. */
    if (size != 2 || (addr & 1))
        return false;
    uint32_t page = (addr - c->flash_base) / c->page_size;
    if (rdp_blocks(b, s) || page_protected(b, s, page)) {
        bk->sr |= SR_WRPRTERR;
        return true;
    }
    uint8_t *cell = sim_flash_ptr(b) + (addr - c->flash_base);
    uint16_t old = flash_le16(cell);
    uint16_t v = (uint16_t)value;
    if (old != 0xFFFF && v != 0) {
        bk->sr |= SR_PGERR;
        return true;
    }
    /* A bad cell does not take the write, yet the controller reports
     * success: only a verify finds it. */
    if (!sim_flash_cell_bad(b, addr, 2)) {
        flash_put_le16(cell, v);
        sim_flash_changed(b, addr, 2);
    }
    start_op(b, bk, T_PROG_NS);
    return true;
}

static bool program_option(sim_board *b, f1_state *s, uint32_t addr, uint32_t value, unsigned size)
{
    const sim_chip *c = sim_board_chip(b);
    const f1_variant *fv = variant(b);
    f1_bank *bk = &s->bank[0];
    if (!(bk->cr & CR_OPTPG))
        return true;
    if (size != 2 || (addr & 1))
        return false;                            /* as for main flash [U] */
    if (!(bk->cr & CR_OPTWRE) || level2(b, s)) { /* OPTWRE cleared after OPTPG [U] */
        bk->sr |= SR_WRPRTERR;
        return true;
    }
    uint8_t *cell = sim_board_info_ptr(b, addr, 2);
    if (!cell || cell[0] != 0xFF || cell[1] != 0xFF) {
        bk->sr |= SR_WRPRTERR; /* RM0091 3.2.2: not erased -> skipped, WRPRTERR */
        return true;
    }
    uint8_t v = (uint8_t)value;
    uint64_t ns = T_PROG_NS; /* DS5319 gives no option figure: a half-word [U] */
    if (addr == OPT_BASE && rdprt_bits(fv, v) == 0 && read_protected(b, s)) {
        /* Protected -> unprotected: main flash is mass-erased first. */
        flash_erase_main(b, c->flash_base, c->flash_size);
        ns += T_MASS_NS;
    }
    cell[0] = v;
    cell[1] = (uint8_t)~v; /* the complement is written by hardware */
    start_op(b, bk, ns);
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
    if (s->bank[0].cr & (CR_PG | CR_OPTPG)) {
        if (size != 2 || (addr & 1))
            return false;
        s->bank[0].sr |= SR_WRPRTERR;
    }
    return true;
}

static bool f1_read_protected(sim_board *b, void *st)
{
    return read_protected(b, st);
}

static void f1_inject_stale_errors(sim_board *b, void *st)
{
    (void)b;
    f1_state *s = st;
    s->bank[0].sr |= SR_PGERR | SR_WRPRTERR;
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

/* F10x low, medium and high density (RM0008): one bank, two RDP states,
 * OBR USER b9:2, DATA0 b17:10, DATA1 b25:18. */
static const f1_variant f10x = {
    .rdp_open = 0xA5,
    .obr_rdprt = 1u << 1,
    .obr_user = 2,
    .obr_data0 = 10,
    .obr_data1 = 18,
    .wrp_bytes = 4096,
    .rdp_head = 4096,
};

/* F10x XL density (RM0008 3.3, 3.4): bank 2 from 512 KiB. */
static const f1_variant f10x_xl = {
    .bank2_off = 512 * 1024,
    .rdp_open = 0xA5,
    .obr_rdprt = 1u << 1,
    .obr_user = 2,
    .obr_data0 = 10,
    .obr_data1 = 18,
    .wrp_bytes = 4096,
    .rdp_head = 4096,
};

/* F0 and F3 (RM0091 3.5.5, 3.5.7; RM0316 4.5.5, 4.5.7): OBL_LAUNCH b13,
 * three RDP levels in OBR.RDPRT b2:1, USER b15:8, DATA0 b23:16, DATA1
 * b31:24; the F0 loads its options at power-on and OBL_LAUNCH only. */
static const f1_variant f0 = {
    .cr_obl_launch = 1u << 13,
    .opt_load_por = true,
    .rdp_open = FLASH_RDP_LEVEL0,
    .rdp_levels3 = true,
    .obr_rdprt = 3u << 1,
    .obr_user = 8,
    .obr_data0 = 16,
    .obr_data1 = 24,
    .wrp_bytes = 4096,
    .rdp_head = 4096,
};
static const f1_variant f3 = {
    .cr_obl_launch = 1u << 13,
    .rdp_open = FLASH_RDP_LEVEL0,
    .rdp_levels3 = true,
    .obr_rdprt = 3u << 1,
    .obr_user = 8,
    .obr_data0 = 16,
    .obr_data1 = 24,
    .wrp_bytes = 4096,
    .rdp_head = 4096,
};

/* One set of functions, one flash_ctrl_ops per variant. */
/* Timing oracle: half-word programs (the FPEC's only unit), page erases
 * one by one, and a mass erase of each bank the range touches (an XL
 * part's two banks one after the other: the array is busy with one
 * operation at a time here). */
static void f1_timing(sim_board *b, void *st, uint32_t addr, uint32_t len, sim_flash_timing *out)
{
    (void)st;
    const sim_chip *c = sim_board_chip(b);
    uint32_t off = addr - c->flash_base, b2 = variant(b)->bank2_off;
    out->mode = "half-word";
    out->unit_bytes = 2;
    out->units = flash_units_touched(off, len, 2);
    out->program_ns = out->units * T_PROG_NS;
    out->erase_units = flash_units_touched(off, len, c->page_size);
    out->erase_ns = out->erase_units * T_ERASE_NS;
    unsigned banks = !b2 ? 1 : (off < b2) + (off + len > b2);
    out->mass_ns = banks * T_MASS_NS;
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
    .timing = f1_timing,
    .variant = &f10x,
};
const flash_ctrl_ops sim_flash_f1_xl = {
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
    .timing = f1_timing,
    .variant = &f10x_xl,
};
const flash_ctrl_ops sim_flash_f0 = {
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
    .timing = f1_timing,
    .variant = &f0,
};
const flash_ctrl_ops sim_flash_f3 = {
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
    .timing = f1_timing,
    .variant = &f3,
};
