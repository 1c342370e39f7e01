/*
 * The L4-generation flash interface (FLASH_ACR at the row's flash_regs):
 * STM32L4 (RM0351 chapter 3, RM0394 chapter 3), L4+ (RM0432 chapter 3), G0
 * (RM0444 chapter 3), G4 (RM0440 chapter 5), WB (RM0434 chapter 3), WL
 * (RM0453 chapter 3), C0 (RM0490 chapter 3), U0 (RM0503 chapter 3). What
 * the variants differ in is data (l4_variant, flash_l4_variants.c, reached
 * from the row's flash_ctrl_ops); this file is the one engine.
 *
 * Sources: the reference manuals above (RM0351 and RM0440 read for the
 * sequences; the others through the fact sheets), the CMSIS headers
 * (stm32l476xx.h, stm32g071xx.h, stm32g0b1xx.h, stm32g474xx.h,
 * stm32wb55xx.h, stm32wl55xx.h, stm32c031xx.h, stm32u083xx.h) for bit
 * positions, the SVD field descriptions (PROGERR, PGSERR, PGAERR, MISERR,
 * FASTERR wording) and the datasheets' "Flash memory characteristics"
 * tables for timings (DS10198 Table 63 for the L476; the rest [U]).
 * [U] marks a rule not settled by a primary text; the choice made is the
 * stricter one a programmer can observe.
 *
 * Model overview
 * - KEYR keys clear CR.LOCK, then OPTKEYR keys clear CR.OPTLOCK. A wrong key,
 *   or a key written while already unlocked, is a bus error and CR stays
 *   locked until the next reset.
 * - Standard programming (PG): two 32-bit stores to one 8-aligned double word;
 *   the double word is programmed when the second arrives. ECC makes a
 *   programmed double word unprogrammable until erased (PROGERR), except
 *   with all-zero data. A first word followed by anything but its second
 *   word's store (PG cleared, an erase or option start, FSTPG) is a
 *   sequence error: PGSERR [U for L4: RM0444 CFGBSY/PGSERR wording].
 * - Fast programming (FSTPG): one row of double words, back to back, into a
 *   bank mass-erased before; BSY covers the whole row.
 * - Erase: page (PER, PNB, BKER, STRT) or bank (MER1/MER2, STRT). Where
 *   the variant has a DBANK/DUAL_BANK option, the bank layout and the page
 *   size follow the option bytes in force.
 * - Any error flag left uncleared makes the next program/erase fail with
 *   PGSERR. EOP needs EOPIE, OPERR needs ERRIE. Flags clear by writing 1.
 * - CFGBSY (G0, C0, U0, WB, WL) is set from the first word of a double
 *   word (or STRT) until the operation ends or fails; BSY2 (G0B) shows an
 *   operation in bank 2.
 * - EMPTY (ACR.EMPTY/PROGEMPTY on G0, C0, U0, WB, WL; SR.PEMPTY on L4+) is
 *   latched at power-on and OBL_LAUNCH from the first word of main flash;
 *   a system reset keeps it; software may change it (RM0444 FLASH_ACR
 *   EMPTY). The boot selection it drives is not modelled here.
 * - WB/WL: pages at and above SFR.SFSA belong to CPU2 while OPTR.ESE is
 *   set: CPU1 and the debugger cannot erase or program them (WRPERR [U]),
 *   and a bank erase is refused as a whole [U].
 * - Options: OPTR and the WRP/PCROP registers are written after OPTKEYR,
 *   committed to the option page by OPTSTRT and loaded at power-on or by
 *   OBL_LAUNCH (which resets the chip). RDP 0xAA level 0, 0xCC level 2,
 *   other level 1; 1 -> 0 mass-erases.
 */
#include "flash_l4.h"

#include <string.h>

/* ---- registers (RM0351 FLASH register map) ------------------------------------------- */
#define REG_ACR     0x00
#define REG_PDKEYR  0x04
#define REG_KEYR    0x08
#define REG_OPTKEYR 0x0C
#define REG_SR      0x10
#define REG_CR      0x14
#define REG_ECCR    0x18
#define REG_OPTR    0x20

#define SR_EOP     (1u << 0)
#define SR_OPERR   (1u << 1)
#define SR_PROGERR (1u << 3)
#define SR_WRPERR  (1u << 4)
#define SR_PGAERR  (1u << 5)
#define SR_SIZERR  (1u << 6)
#define SR_PGSERR  (1u << 7)
#define SR_MISERR  (1u << 8)
#define SR_FASTERR (1u << 9)
#define SR_RDERR   (1u << 14)
#define SR_OPTVERR (1u << 15)
#define SR_BSY     (1u << 16)
#define SR_W1C                                                                                     \
    (SR_EOP | SR_OPERR | SR_PROGERR | SR_WRPERR | SR_PGAERR | SR_SIZERR | SR_PGSERR | SR_MISERR |  \
     SR_FASTERR | SR_RDERR | SR_OPTVERR)
/* "Set also by hardware when PROGERR, SIZERR, PGAERR, WRPERR, MISSERR or
 * FASTERR is set due to a previous programming error" (SR.PGSERR), and the
 * RM sequences: "check and clear all error programming flags due to a
 * previous programming. If not, PGSERR is set." */
#define SR_STALE                                                                                   \
    (SR_PROGERR | SR_WRPERR | SR_PGAERR | SR_SIZERR | SR_PGSERR | SR_MISERR | SR_FASTERR)

#define CR_PG         (1u << 0)
#define CR_PER        (1u << 1)
#define CR_MER1       (1u << 2)
#define CR_PNB_SHIFT  3
#define CR_STRT       (1u << 16)
#define CR_OPTSTRT    (1u << 17)
#define CR_FSTPG      (1u << 18)
#define CR_EOPIE      (1u << 24)
#define CR_ERRIE      (1u << 25)
#define CR_RDERRIE    (1u << 26)
#define CR_OBL_LAUNCH (1u << 27)
#define CR_OPTLOCK    (1u << 30)
#define CR_LOCK       (1u << 31)
#define CR_WRITABLE   (CR_PG | CR_PER | CR_MER1 | CR_FSTPG | CR_EOPIE | CR_ERRIE | CR_RDERRIE)
#define CR_RESET      (CR_LOCK | CR_OPTLOCK) /* 0xC0000000 */

#define ECCR_ECCIE (1u << 24)
#define ECCR_W1C   (3u << 30) /* ECCC, ECCD */

#define KEY1    0x45670123u
#define KEY2    0xCDEF89ABu
#define OPTKEY1 0x08192A3Bu
#define OPTKEY2 0x4C5D6E7Fu
#define PDKEY1  0x04152637u
#define PDKEY2  0xFAFBFCFDu

#define REG_C2ACR 0x5C
#define REG_C2SR  0x60
#define REG_C2CR  0x64

#define OTP_SIZE 0x400u
#define OPT_ESE  (1u << 8) /* OPTR.ESE (WB, WL): the secure area is in force */
/* Fast programming: "maximum time between two double words write requests is
 * the time programming (around 20 us)" (RM0351 fast programming) -> MISERR. */
#define FAST_GAP_PS (20ull * PS_PER_US)

/* ---- variant and geometry ------------------------------------------------------ */

static const l4_variant *V(const sim_board *b)
{
    return sim_board_chip(b)->flash->variant;
}

static uint8_t rdp_byte(const l4_state *st)
{
    return (uint8_t)(st->eff[0] & 0xFF);
}

/* RDP level 1 with a debugger connected (or boot from SRAM/system memory,
 * not modelled): main flash can be neither programmed nor erased: WRPERR
 * (DS10198 Table 3 / RM0351 read protection; the same table in each RM). */
static bool rdp_blocks_writes(const sim_board *b, const l4_state *st)
{
    return rdp_byte(st) != FLASH_RDP_LEVEL0 && sim_debugger_attached(b);
}

static bool in_main(const sim_chip *c, uint32_t addr)
{
    return flash_in_main(c, addr, 1);
}

static bool in_otp(const sim_board *b, uint32_t addr)
{
    return flash_in_range(addr, 1, V(b)->otp_base, OTP_SIZE);
}

/* Two banks in force: the variant's fixed layout, or its DBANK/DUAL_BANK
 * option as loaded (RM0440 5.3.1, RM0432 3.3.1, RM0444 3.3.1). */
static bool dual(const sim_board *b, const l4_state *st)
{
    const l4_variant *v = V(b);
    return v->dbank ? (st->eff[0] & v->dbank) != 0 : v->banks == 2;
}

/* Single-bank mode of G4 cat 3 and L4+: pages twice the dual-bank size. */
static uint32_t page_size(const sim_board *b, const l4_state *st)
{
    const sim_chip *c = sim_board_chip(b);
    return !dual(b, st) && V(b)->single_page_x2 ? 2 * c->page_size : c->page_size;
}

static uint32_t bank_start(const sim_board *b, const l4_state *st, unsigned bank)
{
    const sim_chip *c = sim_board_chip(b);
    if (bank == 0 || !dual(b, st))
        return c->flash_base;
    return c->flash_base + (V(b)->bank2_off ? V(b)->bank2_off : c->flash_size / 2);
}

static uint32_t bank_len(const sim_board *b, const l4_state *st, unsigned bank)
{
    const sim_chip *c = sim_board_chip(b);
    if (!dual(b, st))
        return c->flash_size;
    uint32_t b2 = bank_start(b, st, 1) - c->flash_base;
    if (b2 > c->flash_size)
        b2 = c->flash_size;
    return bank ? c->flash_size - b2 : b2;
}

static unsigned bank_of(const sim_board *b, const l4_state *st, uint32_t addr)
{
    return dual(b, st) && addr >= bank_start(b, st, 1) ? 1 : 0;
}

static unsigned page_in_bank(const sim_board *b, const l4_state *st, uint32_t addr)
{
    return (addr - bank_start(b, st, bank_of(b, st, addr))) / page_size(b, st);
}

/* A WRP area register: STRT in the low half, END in the high half, each as
 * wide as the variant's writable bits; the area is active when STRT <= END
 * [U]. */
static bool wrp_area_covers(uint32_t reg, uint32_t writable, unsigned page)
{
    unsigned strt = reg & writable & 0xFFFF, end = (reg & writable) >> 16;
    return strt <= end && page >= strt && page <= end;
}

/* The option register at offset off, or -1. */
static int opt_index(const l4_variant *v, uint32_t off)
{
    for (unsigned i = 0; i < v->nopt; i++)
        if (v->opt[i].reg == off)
            return (int)i;
    return -1;
}

/* WRP areas (RM0351 write protection): WRP1AR/WRP1BR for bank 1 (or the
 * single bank), WRP2AR/WRP2BR (0x4C/0x50) for bank 2, in force after the
 * option load. Bank swapping is not modelled: bank 1 is the bank at
 * flash_base. */
static bool page_protected(const sim_board *b, const l4_state *st, unsigned bank, unsigned page)
{
    const l4_variant *v = V(b);
    const uint32_t offs[2][2] = {{0x2C, 0x30}, {0x4C, 0x50}};
    for (unsigned k = 0; k < 2; k++) {
        int i = opt_index(v, offs[bank][k]);
        if (i >= 0 && wrp_area_covers(st->eff[i], v->opt[i].writable, page))
            return true;
    }
    return false;
}

/* WB/WL: the secure area from SFR.SFSA (a page index) to the end of flash
 * belongs to CPU2 while OPTR.ESE is set (RM0434 3.5.x secure flash
 * memory area; stm32wb55xx.h FLASH_SFR_SFSA). */
static bool page_secure(const sim_board *b, const l4_state *st, unsigned page)
{
    const l4_variant *v = V(b);
    if (!v->sfr_off || !(st->eff[0] & OPT_ESE))
        return false;
    int i = opt_index(v, v->sfr_off);
    return i >= 0 && page >= (st->eff[i] & v->sfsa_mask);
}

static bool page_refused(const sim_board *b, const l4_state *st, unsigned bank, unsigned page)
{
    return page_protected(b, st, bank, page) || (bank == 0 && page_secure(b, st, page));
}

static bool bank_has_protection(const sim_board *b, const l4_state *st, unsigned bank)
{
    unsigned n = bank_len(b, st, bank) / page_size(b, st);
    for (unsigned p = 0; p < n; p++)
        if (page_refused(b, st, bank, p))
            return true;
    return false;
}

/* An error ends the operation being set up: flags, OPERR with ERRIE
 * (RM0351 SR.OPERR), and the pending double word / fast row is dropped
 * (which also ends CFGBSY). */
static void set_error(l4_state *st, uint32_t flags)
{
    if (st->fast_active)
        flags |= SR_FASTERR; /* "FASTERR ... PGAERR, SIZERR, WRPERR or MISSERR
                              * is set at the same time" (SR.FASTERR) */
    st->sr |= flags;
    if (st->cr & CR_ERRIE)
        st->sr |= SR_OPERR;
    st->dw_pending = false;
    if (st->fast_active) {
        st->fast_active = false;
        st->op.pending = false; /* the row ends without EOP */
    }
}

static void begin(sim_board *b, l4_state *st, uint64_t ns, flash_area area, uint32_t addr,
                  uint32_t len, unsigned bank)
{
    flash_op_begin(b, &st->op, ns, area, addr, len);
    st->op_eopie = (st->cr & CR_EOPIE) != 0;
    st->op_bank = bank;
}

/* Bring the controller up to date with virtual time: a fast row whose next
 * double word is overdue fails with MISERR (+FASTERR); an operation whose BSY
 * time is over sets EOP if EOPIE (RM0351 SR.EOP: "set only if the end of
 * operation interrupts are enabled"). */
static void sync(sim_board *b, l4_state *st)
{
    if (st->fast_active && sim_now_ps(b) - st->fast_last_ps > FAST_GAP_PS)
        set_error(st, SR_MISERR);
    if (!st->fast_active && flash_op_ended(b, &st->op) && st->op_eopie)
        st->sr |= SR_EOP;
    if (!sim_flash_busy(b)) {
        /* Also the end of a failed fast row, which was no longer pending. */
        st->strt_active = false;
        st->op.area = FLASH_AREA_NONE;
    }
}

/* ---- options ------------------------------------------------------------------ */

static void load_options(sim_board *b, l4_state *st)
{
    const l4_variant *v = V(b);
    st->opt_invalid = false;
    for (unsigned i = 0; i < v->nopt; i++) {
        const uint8_t *p = sim_board_info_ptr(b, v->opt[i].addr, 8);
        uint32_t x = v->opt[i].factory;
        if (p) {
            x = flash_le32(p);
            if (flash_le32(p + 4) != ~x) {
                /* OPTVERR: "options may not be the ones configured"; an
                 * unreadable RDP counts as level 1 [U]. */
                st->opt_invalid = true;
                if (i == 0)
                    x = (x & ~0xFFu) | 0xFFu;
            }
        }
        st->opt[i] = st->eff[i] = x;
    }
    /* EMPTY: "whether the first location of the main flash memory area was
     * read as erased during option bytes loading" (RM0444 FLASH_ACR.EMPTY;
     * RM0432 SR.PEMPTY) [U: one word read]. */
    st->empty = flash_le32(sim_flash_ptr(b)) == 0xFFFFFFFFu;
}

static void write_option_image(sim_board *b, unsigned i, uint32_t x)
{
    uint8_t *p = sim_board_info_ptr(b, V(b)->opt[i].addr, 8);
    if (p) {
        flash_put_le32(p, x);
        flash_put_le32(p + 4, ~x);
    }
}

void l4_factory(sim_board *b, void *vst)
{
    l4_state *st = vst;
    for (unsigned i = 0; i < V(b)->nopt; i++)
        write_option_image(b, i, V(b)->opt[i].factory);
    load_options(b, st);
}

/* OPTSTRT (RM0351 option bytes modification): commit the option registers
 * to the option pages. Refused at RDP level 2. Going from level 1 back to 0
 * mass-erases the main flash as part of the operation (PCROP areas with
 * PCROP_RDP = 0 would be kept; PCROP is not modelled, everything is
 * erased). Option programming = an erase of the option page and its double
 * words [U: no figure given]. */
static void option_start(sim_board *b, l4_state *st)
{
    const sim_chip *c = sim_board_chip(b);
    const l4_variant *v = V(b);
    if (st->sr & SR_STALE) {
        set_error(st, SR_PGSERR);
        return;
    }
    if (rdp_byte(st) == FLASH_RDP_LEVEL2) {
        set_error(st, SR_WRPERR);
        return;
    }
    uint64_t ns = v->t_page_ns + (uint64_t)v->nopt * v->t_dw_ns;
    uint8_t new_rdp = (uint8_t)st->opt[0];
    if (rdp_byte(st) != FLASH_RDP_LEVEL0 && new_rdp == FLASH_RDP_LEVEL0) {
        flash_erase_main(b, c->flash_base, c->flash_size);
        st->bank_blank[0] = st->bank_blank[1] = true;
        ns += v->t_mass_ns;
    }
    for (unsigned i = 0; i < v->nopt; i++)
        write_option_image(b, i, st->opt[i]);
    /* A reset before the end corrupts the OPTR double word: it then fails
     * its complement check. */
    begin(b, st, ns, FLASH_AREA_INFO, v->opt[0].addr, 8, 0);
}

/* ---- erase -------------------------------------------------------------------- */

static void start_erase(sim_board *b, l4_state *st)
{
    const l4_variant *v = V(b);
    uint32_t cr = st->cr, mers = CR_MER1 | v->mer2;
    bool per = cr & CR_PER, mer = cr & mers, pg = cr & (CR_PG | CR_FSTPG);
    if (!per && !mer)
        return; /* STRT without an erase selected: nothing happens [U] */
    if (st->sr & SR_STALE) {
        set_error(st, SR_PGSERR);
        return;
    }
    /* PER with PG/FSTPG/MERx, or MERx with PG/FSTPG: PGSERR (RM0351
     * SR.PGSERR causes). */
    if ((per && (mer || pg)) || (mer && pg)) {
        set_error(st, SR_PGSERR);
        return;
    }
    if (rdp_blocks_writes(b, st)) {
        set_error(st, SR_WRPERR);
        return;
    }
    uint32_t psz = page_size(b, st);
    if (per) {
        unsigned bank = v->bker && (cr & v->bker) && dual(b, st) ? 1 : 0;
        unsigned page = (cr >> CR_PNB_SHIFT) & ((1u << v->pnb_width) - 1);
        if (bank && v->bank2_pnb_base && page >= v->bank2_pnb_base)
            page -= v->bank2_pnb_base;
        /* A page the bank does not have erases nothing: PGSERR [U]. */
        if (page >= bank_len(b, st, bank) / psz) {
            set_error(st, SR_PGSERR);
            return;
        }
        if (page_refused(b, st, bank, page)) {
            set_error(st, SR_WRPERR);
            return;
        }
        uint32_t addr = bank_start(b, st, bank) + page * psz;
        flash_erase_main(b, addr, psz);
        st->bank_blank[bank] = false;
        begin(b, st, v->t_page_ns, FLASH_AREA_MAIN, addr, psz, bank);
        st->strt_active = true;
        return;
    }
    /* Bank erase: MER1 the first (or only) bank, MER2 the second; a
     * write-protected or secure page inside refuses the whole erase. MER2
     * in single-bank mode erases nothing more [U]. */
    if (v->single_mer_both && !dual(b, st) && (cr & mers) != mers) {
        set_error(st, SR_PGSERR); /* RM0440 3.3.6: both bits with DBANK 0 */
        return;
    }
    bool e1 = cr & CR_MER1, e2 = v->mer2 && (cr & v->mer2) && dual(b, st);
    if (!e1 && !e2) {
        set_error(st, SR_PGSERR); /* [U] */
        return;
    }
    if ((e1 && bank_has_protection(b, st, 0)) || (e2 && bank_has_protection(b, st, 1))) {
        set_error(st, SR_WRPERR);
        return;
    }
    uint32_t first = bank_start(b, st, e1 ? 0 : 1);
    uint32_t len = (e1 ? bank_len(b, st, 0) : 0) + (e2 ? bank_len(b, st, 1) : 0);
    flash_erase_main(b, first, len);
    if (e1)
        st->bank_blank[0] = true;
    if (e2)
        st->bank_blank[1] = true;
    begin(b, st, v->t_mass_ns, FLASH_AREA_MAIN, first, len, e1 && e2 ? 2 : e1 ? 0 : 1);
    st->strt_active = true;
}

/* ---- programming -------------------------------------------------------------- */

static uint8_t *target_ptr(sim_board *b, uint32_t addr)
{
    const sim_chip *c = sim_board_chip(b);
    if (in_main(c, addr))
        return sim_flash_ptr(b) + (addr - c->flash_base);
    return sim_board_info_ptr(b, addr, 8);
}

/* Write one double word whose checks passed. PROGERR: "a double-word address
 * to be programmed contains a value different from 0xFFFF FFFF before
 * programming, except if the data to write is 0x0000 0000" (SR.PROGERR): the
 * 8 ECC bits of a programmed double word cannot be rewritten. A bad cell
 * (SIM_FAULT_BAD_CELL) keeps its old content while the controller reports
 * success. Returns false (flag set) when PROGERR. */
static bool write_dw(sim_board *b, l4_state *st, uint32_t addr, uint32_t lo, uint32_t hi)
{
    const sim_chip *c = sim_board_chip(b);
    uint8_t *p = target_ptr(b, addr);
    if (!p)
        return false;
    bool blank = flash_le32(p) == 0xFFFFFFFFu && flash_le32(p + 4) == 0xFFFFFFFFu;
    if (!blank && (lo | hi) != 0) {
        set_error(st, SR_PROGERR);
        return false;
    }
    if (!sim_flash_cell_bad(b, addr, 4))
        flash_put_le32(p, flash_le32(p) & lo);
    if (!sim_flash_cell_bad(b, addr + 4, 4))
        flash_put_le32(p + 4, flash_le32(p + 4) & hi);
    if (in_main(c, addr))
        sim_flash_changed(b, addr, 8);
    return true;
}

static bool dw_protected(sim_board *b, const l4_state *st, uint32_t addr)
{
    const sim_chip *c = sim_board_chip(b);
    if (!in_main(c, addr))
        return false; /* OTP has its own lock bytes (not modelled) */
    return page_refused(b, st, bank_of(b, st, addr), page_in_bank(b, st, addr));
}

static void store_standard(sim_board *b, l4_state *st, uint32_t addr, uint32_t value)
{
    const sim_chip *c = sim_board_chip(b);
    if (!st->dw_pending) {
        if (st->sr & SR_STALE) {
            set_error(st, SR_PGSERR);
            return;
        }
        /* First word of a double word: must be 8-aligned (SR.PGAERR: data
         * "cannot be contained in the same 64-bit Flash memory row"). */
        if (addr & 7) {
            set_error(st, SR_PGAERR);
            return;
        }
        st->dw_pending = true; /* CFGBSY from here (RM0444 SR.CFGBSY) */
        st->dw_addr = addr;
        st->dw_lo = value;
        return;
    }
    st->dw_pending = false;
    if (addr != st->dw_addr + 4) {
        set_error(st, SR_PGAERR);
        return;
    }
    uint32_t dw = st->dw_addr;
    if (rdp_blocks_writes(b, st) || dw_protected(b, st, dw)) {
        set_error(st, SR_WRPERR);
        return;
    }
    if (!write_dw(b, st, dw, st->dw_lo, value))
        return;
    unsigned bank = in_main(c, dw) ? bank_of(b, st, dw) : 0;
    if (in_main(c, dw))
        st->bank_blank[bank] = false;
    begin(b, st, V(b)->t_dw_ns, in_main(c, dw) ? FLASH_AREA_MAIN : FLASH_AREA_INFO, dw, 8, bank);
}

/* Fast programming (RM0351 fast programming sequence). The row must start
 * on a row boundary and its word stores arrive at consecutive addresses
 * [U: alignment and strict order; the RM names "a change of page" as
 * PGAERR]. BSY starts with the first double word and covers the whole
 * row. */
static void store_fast(sim_board *b, l4_state *st, uint32_t addr, uint32_t value)
{
    const sim_chip *c = sim_board_chip(b);
    uint32_t row = 8u * V(b)->row_dw;
    if (!st->fast_active) {
        if (st->sr & SR_STALE) {
            set_error(st, SR_PGSERR);
            return;
        }
        if (!in_main(c, addr)) {
            set_error(st, SR_PGAERR); /* "only main memory" [U: flag] */
            return;
        }
        if (!st->bank_blank[bank_of(b, st, addr)]) {
            set_error(st, SR_PGSERR);
            return;
        }
        st->fast_active = true; /* from here errors also raise FASTERR */
        if (addr & (row - 1)) {
            set_error(st, SR_PGAERR);
            return;
        }
        if (rdp_blocks_writes(b, st) || dw_protected(b, st, addr)) {
            set_error(st, SR_WRPERR);
            return;
        }
        st->fast_next = addr;
        st->fast_words = 0;
    }
    if (addr != st->fast_next) {
        set_error(st, SR_PGAERR);
        return;
    }
    st->fast_last_ps = sim_now_ps(b);
    st->fast_next += 4;
    if ((st->fast_words++ & 1) == 0) {
        st->fast_lo = value;
        return;
    }
    uint32_t dw = addr - 4;
    if (!write_dw(b, st, dw, st->fast_lo, value))
        return;
    if (st->fast_words == 2)
        begin(b, st, V(b)->t_row_ns, FLASH_AREA_MAIN, dw, row, bank_of(b, st, dw));
    if (st->fast_words == 2 * V(b)->row_dw)
        st->fast_active = false; /* row complete: BSY runs to its end, then EOP */
}

/* ---- flash_ctrl_ops ------------------------------------------------------------ */

void l4_reset(sim_board *b, void *vst, bool power_on)
{
    l4_state *st = vst;
    const l4_variant *v = V(b);
    /* Reset during a program/erase: the cells being changed are left
     * undefined; an interrupted option write corrupts the option page,
     * which then fails its complement check (OPTVERR, RDP level 1). */
    flash_op_cut_short(b, &st->op);
    bool reload = power_on || st->obl_pending;
    st->acr = v->acr_reset;
    st->cr = CR_RESET;
    st->eccr = 0;
    st->c2acr = st->c2sr = 0;
    st->c2cr = 0;
    st->keys = st->optkeys = (flash_keyseq){0};
    st->pd = (flash_run_pd){0};
    st->dw_pending = false;
    st->fast_active = false;
    st->bank_blank[0] = st->bank_blank[1] = false;
    st->strt_active = false;
    flash_op_forget(&st->op);
    st->obl_pending = false;
    if (reload)
        load_options(b, st); /* EMPTY too; a system reset keeps it */
    else
        memcpy(st->opt, st->eff, sizeof st->opt); /* registers show what is loaded */
    /* OPTVERR is set again at each reset while the options stay invalid,
     * and on the WB after every reset. */
    st->sr = st->opt_invalid || v->optverr_always ? SR_OPTVERR : 0;
}

/* SR as read: the latched flags, BSY (BSY1) for an operation in bank 1,
 * BSY2 for one in bank 2 where the variant has it, CFGBSY from the first
 * word (or STRT) to the end, PESD while either CPU asks for a suspend. */
static uint32_t sr_value(sim_board *b, const l4_state *st)
{
    const l4_variant *v = V(b);
    bool busy = sim_flash_busy(b);
    uint32_t r = st->sr;
    if (busy) {
        if (v->bsy2 && st->op_bank == 1)
            r |= v->bsy2;
        else if (v->bsy2 && st->op_bank == 2)
            r |= SR_BSY | v->bsy2;
        else
            r |= SR_BSY;
    }
    if (v->cfgbsy && (busy || st->dw_pending || st->fast_active))
        r |= v->cfgbsy;
    if (v->pesd && ((st->acr | st->c2acr) & v->acr_pes))
        r |= v->pesd;
    if (v->sr_pempty && st->empty)
        r |= v->sr_pempty;
    return r;
}

uint32_t l4_reg_read(sim_board *b, void *vst, uint32_t offset)
{
    l4_state *st = vst;
    const l4_variant *v = V(b);
    sync(b, st);
    bool busy = sim_flash_busy(b);
    switch (offset) {
    case REG_ACR:
        return st->acr | (v->acr_empty && st->empty ? v->acr_empty : 0);
    case REG_SR:
        return sr_value(b, st);
    case REG_CR:
        /* STRT reads 1 until the erase it started has ended. */
        return st->cr | (busy && st->strt_active ? CR_STRT : 0);
    case REG_ECCR:
        return st->eccr;
    case REG_C2ACR:
    case REG_C2SR:
    case REG_C2CR:
        if (v->c2regs)
            return offset == REG_C2ACR ? st->c2acr : offset == REG_C2SR ? st->c2sr : st->c2cr;
        return 0;
    default: {
        int i = opt_index(v, offset);
        return i >= 0 ? st->opt[i] : 0; /* key registers are write-only */
    }
    }
}

/* A CR store while the first word of a double word waits for its second:
 * anything that changes the operation ends the sequence with PGSERR [U
 * for L4; RM0444 CFGBSY: no new operation while it is set]. */
static bool breaks_sequence(const l4_state *st, uint32_t next, uint32_t mers)
{
    if (!st->dw_pending)
        return false;
    uint32_t starts = CR_PER | mers | CR_FSTPG | CR_STRT | CR_OPTSTRT | CR_OBL_LAUNCH;
    return !(next & CR_PG) || (next & starts);
}

static void cr_write(sim_board *b, l4_state *st, uint32_t value, uint32_t mask)
{
    const l4_variant *v = V(b);
    uint32_t x = value & mask;
    uint32_t bits = CR_WRITABLE | ((((1u << v->pnb_width) - 1)) << CR_PNB_SHIFT) | v->bker |
                    v->mer2 | v->cr_extra;
    if (!(st->cr & CR_LOCK)) {
        uint32_t before = st->cr;
        uint32_t next = flash_masked(st->cr, bits, value, mask);
        if (breaks_sequence(st, next | (x & (CR_STRT | CR_OPTSTRT | CR_OBL_LAUNCH)),
                            CR_MER1 | v->mer2)) {
            st->cr = next;
            set_error(st, SR_PGSERR);
            return;
        }
        st->cr = next;
        if ((before & CR_PG) && !(st->cr & CR_PG))
            st->dw_pending = false;
        if ((before & CR_FSTPG) && !(st->cr & CR_FSTPG) && st->fast_active) {
            /* FSTPG cleared in the middle of a row: the row is abandoned
             * [U: flag]; report it as missing data. */
            set_error(st, SR_MISERR);
        }
        if (x & CR_STRT)
            start_erase(b, st);
        if ((x & CR_OPTSTRT) && !(before & CR_OPTLOCK))
            option_start(b, st);
        if ((x & CR_OBL_LAUNCH) && !(before & CR_OPTLOCK)) {
            /* RM0351 CR.OBL_LAUNCH: "forces the option byte reloading"
             * under a system reset. */
            st->obl_pending = true;
            sim_board_request_reset(b);
        }
    }
    /* LOCK and OPTLOCK can only be set by software. */
    if (x & CR_LOCK) {
        st->cr |= CR_LOCK;
        flash_key_restart(&st->keys);
        st->dw_pending = false;
    }
    if (x & CR_OPTLOCK) {
        st->cr |= CR_OPTLOCK;
        flash_key_restart(&st->optkeys);
    }
}

bool l4_reg_write(sim_board *b, void *vst, uint32_t offset, uint32_t value, uint32_t mask)
{
    l4_state *st = vst;
    const l4_variant *v = V(b);
    sync(b, st);
    switch (offset) {
    case REG_ACR:
        if (v->pdkeyr)
            st->acr =
                flash_run_pd_acr(&st->pd, st->acr, v->acr_writable, v->acr_run_pd, value, mask);
        else
            st->acr = flash_masked(st->acr, v->acr_writable, value, mask);
        /* EMPTY "can be set and reset by software" (RM0444 FLASH_ACR). */
        if (v->acr_empty && (mask & v->acr_empty))
            st->empty = (value & v->acr_empty) != 0;
        sim_clock_changed(b); /* HCLK may now be too fast, or fine again */
        return true;
    case REG_PDKEYR:
        if (v->pdkeyr)
            flash_run_pd_key(&st->pd, PDKEY1, PDKEY2, value, mask);
        return true;
    /* KEYR/OPTKEYR: two keys in order; a wrong key, a partial-word write, or
     * a key written while already unlocked is a bus error and the lock stays
     * set until the next reset (RM0351 FLASH_KEYR / unlock sequence; OpenOCD
     * checks LOCK first because "writing on STM32_FLASH_KEYR will fail").
     * OPTKEYR needs LOCK clear first [U: bus error when not]. */
    case REG_KEYR:
        return flash_key_unlock(&st->keys, &st->cr, CR_LOCK, true, KEY1, KEY2, value, mask);
    case REG_OPTKEYR:
        return flash_key_unlock(&st->optkeys, &st->cr, CR_OPTLOCK, !(st->cr & CR_LOCK), OPTKEY1,
                                OPTKEY2, value, mask);
    case REG_SR:
        flash_w1c(&st->sr, SR_W1C, value, mask);
        if (v->sr_pempty && (value & mask & v->sr_pempty))
            st->empty = false; /* [U: PEMPTY cleared by writing 1] */
        return true;
    case REG_CR:
        /* "Writing FLASH_CR while BSY stalls the AHB until BSY clears"
         * (RM0351 note on FLASH_CR accesses). Within a fast row that means
         * waiting for the row's end, by which time the row has failed with
         * MISERR. */
        if (flash_stall_if_busy(b))
            sync(b, st);
        cr_write(b, st, value, mask);
        return true;
    case REG_ECCR:
        st->eccr = flash_masked(st->eccr, ECCR_ECCIE, value, mask);
        flash_w1c(&st->eccr, ECCR_W1C, value, mask);
        return true;
    case REG_C2ACR:
        /* C2ACR belongs to CPU2 [U: what CPU1 and the debugger may write];
         * only PES is modelled, for PESD. */
        if (v->c2regs)
            st->c2acr = flash_masked(st->c2acr, v->acr_pes, value, mask);
        return true;
    default: {
        int i = opt_index(v, offset);
        /* Option registers change only with LOCK and OPTLOCK clear. */
        if (i >= 0 && !(st->cr & (CR_LOCK | CR_OPTLOCK)))
            st->opt[i] = flash_masked(st->opt[i], v->opt[i].writable, value, mask);
        return true;
    }
    }
}

bool l4_mem_write(sim_board *b, void *vst, bus_master who, uint32_t addr, uint32_t value,
                  unsigned size)
{
    (void)who;
    l4_state *st = vst;
    const sim_chip *c = sim_board_chip(b);
    const l4_variant *v = V(b);
    sync(b, st);
    /* Stores into a busy array wait on the bus (no write-while-write),
     * except the double words of a fast row, which must arrive while the
     * row is being programmed. */
    if (!st->fast_active && flash_stall_if_busy(b))
        sync(b, st);
    if (!in_main(c, addr) && !in_otp(b, addr))
        return false; /* system memory, option pages: not writable by stores [U] */
    uint32_t cr = st->cr;
    bool pg = cr & CR_PG, fst = cr & CR_FSTPG;
    /* PGSERR: a store with PG and FSTPG both clear (which is always the case
     * while CR is locked), or with an erase selected too (SR.PGSERR). */
    if ((!pg && !fst) || (pg && fst) || (cr & (CR_PER | CR_MER1 | v->mer2))) {
        set_error(st, SR_PGSERR);
        return true;
    }
    /* SIZERR: "the size of the access is a byte or half-word during a
     * program or a fast program sequence" (SR.SIZERR). */
    if (size != 4) {
        set_error(st, SR_SIZERR);
        return true;
    }
    if (pg)
        store_standard(b, st, addr, value);
    else
        store_fast(b, st, addr, value);
    return true;
}

bool l4_read_protected(sim_board *b, void *vst)
{
    (void)b;
    const l4_state *st = vst;
    return rdp_byte(st) != FLASH_RDP_LEVEL0;
}

void l4_inject_stale_errors(sim_board *b, void *vst)
{
    (void)b;
    l4_state *st = vst;
    st->sr |= SR_PROGERR | SR_PGSERR | SR_PGAERR;
}

void l4_inject_rdp1(sim_board *b, void *vst)
{
    (void)vst;
    const uint8_t *p = sim_board_info_ptr(b, V(b)->opt[0].addr, 8);
    if (p) /* HAL's level 1 value */
        write_option_image(b, 0, (flash_le32(p) & ~0xFFu) | 0xBBu);
}

unsigned l4_latency(sim_board *b, void *st)
{
    /* FLASH_ACR.LATENCY b2:0 (RM0351 3.7.1, RM0444 3.7.1), b3:0 on the G4
     * (stm32g474xx.h FLASH_ACR_LATENCY_Msk) */
    return ((l4_state *)st)->acr & V(b)->latency_mask;
}

/* Timing oracle: standard double-word programs (fast programming of
 * whole rows is not assumed), page erases one by one, and one mass erase
 * (MER1 and MER2 together take one mass-erase time) for the banks the
 * range touches; the variant's datasheet figures. */
void l4_timing(sim_board *b, void *st, uint32_t addr, uint32_t len, sim_flash_timing *out)
{
    (void)st;
    const sim_chip *c = sim_board_chip(b);
    const l4_variant *v = V(b);
    uint32_t off = addr - c->flash_base;
    out->mode = "double-word";
    out->unit_bytes = 8;
    out->units = flash_units_touched(off, len, 8);
    out->program_ns = out->units * v->t_dw_ns;
    out->erase_units = flash_units_touched(off, len, c->page_size);
    out->erase_ns = out->erase_units * v->t_page_ns;
    out->mass_ns = v->t_mass_ns;
}
