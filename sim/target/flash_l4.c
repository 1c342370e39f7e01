/*
 * STM32L4 flash interface (FLASH @ 0x40022000), as on the STM32L476RG:
 * 1 MiB in two banks of 256 pages x 2 KiB, 64-bit words with 8 ECC bits.
 *
 * Sources: RM0351 chapter 3 (Flash) (and RM0440, the same controller
 * generation, read for the sequences), the CMSIS header stm32l476xx.h for bit
 * positions, the register field descriptions of the SVD files (PROGERR,
 * PGSERR, PGAERR, MISERR, FASTERR wording) and DS10198 Table 63 for timings.
 * [U] marks a rule not settled by a primary text; the choice made is the
 * stricter one a programmer can observe.
 *
 * Model overview
 * - KEYR keys clear CR.LOCK, then OPTKEYR keys clear CR.OPTLOCK. A wrong key,
 *   or a key written while already unlocked, is a bus error and CR stays
 *   locked until the next reset.
 * - Standard programming (PG): two 32-bit stores to one 8-aligned double word;
 *   the double word is programmed (81.69 us) when the second arrives. ECC
 *   makes a programmed double word unprogrammable until erased (PROGERR),
 *   except with all-zero data.
 * - Fast programming (FSTPG): 32 double words of one 256-byte row, back to
 *   back, into a bank mass-erased before; BSY covers the whole row (1.91 ms).
 * - Erase: page (PER, PNB, BKER, STRT: 22.02 ms) or bank (MER1/MER2, STRT:
 *   22.13 ms).
 * - Any error flag left uncleared makes the next program/erase fail with
 *   PGSERR. EOP needs EOPIE, OPERR needs ERRIE.
 * - Options: OPTR and the WRP/PCROP registers are written after OPTKEYR,
 *   committed to the option page by OPTSTRT and loaded at power-on or by
 *   OBL_LAUNCH (which resets the chip).
 */
#include "flash_common.h"

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

#define ACR_WRITABLE 0x00007F07u /* LATENCY, PRFTEN, ICEN, DCEN, ICRST, DCRST, RUN_PD, SLEEP_PD */
#define ACR_RESET    0x00000600u /* ICEN, DCEN */
#define ACR_RUN_PD   (1u << 13)

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
#define CR_PNB_MASK   (0xFFu << CR_PNB_SHIFT)
#define CR_BKER       (1u << 11)
#define CR_MER2       (1u << 15)
#define CR_STRT       (1u << 16)
#define CR_OPTSTRT    (1u << 17)
#define CR_FSTPG      (1u << 18)
#define CR_EOPIE      (1u << 24)
#define CR_ERRIE      (1u << 25)
#define CR_RDERRIE    (1u << 26)
#define CR_OBL_LAUNCH (1u << 27)
#define CR_OPTLOCK    (1u << 30)
#define CR_LOCK       (1u << 31)
#define CR_WRITABLE                                                                                \
    (CR_PG | CR_PER | CR_MER1 | CR_PNB_MASK | CR_BKER | CR_MER2 | CR_FSTPG | CR_EOPIE | CR_ERRIE | \
     CR_RDERRIE)
#define CR_RESET (CR_LOCK | CR_OPTLOCK) /* 0xC0000000 */

#define ECCR_ECCIE (1u << 24)
#define ECCR_W1C   (3u << 30) /* ECCC, ECCD */

#define KEY1    0x45670123u
#define KEY2    0xCDEF89ABu
#define OPTKEY1 0x08192A3Bu
#define OPTKEY2 0x4C5D6E7Fu
#define PDKEY1  0x04152637u
#define PDKEY2  0xFAFBFCFDu

/* ---- geometry --------------------------------------------------------------- */
#define PAGES_PER_BANK 256u
#define ROW_BYTES      256u /* 32 double words (HAL FLASH_NB_DOUBLE_WORDS_IN_ROW) */
#define OTP_BASE       0x1FFF7000u
#define OTP_SIZE       0x400u

/*
 * Timings: DS10198 (STM32L476xx datasheet Rev 8) Table 63 "Flash memory
 * characteristics", typical values [U: typ figures via the fact sheet; the
 * max figures 90.76 us and 24.59 ms corroborated by a public driver].
 */
#define T_DW_NS         81690ull   /* 64-bit programming */
#define T_ROW_FAST_NS   1910000ull /* one row (32 double words), fast programming */
#define T_PAGE_ERASE_NS 22020000ull
#define T_MASS_ERASE_NS 22130000ull /* one or two banks */
/* Option programming = erase of the option page + programming its double
 * words [U: no figure given]: modelled as a page erase plus 9 double words. */
#define T_OPTION_NS (T_PAGE_ERASE_NS + 9 * T_DW_NS)
/* Fast programming: "maximum time between two double words write requests is
 * the time programming (around 20 us)" (RM0351 fast programming) -> MISERR. */
#define FAST_GAP_PS (20ull * PS_PER_US)

/* Option registers and the double words of the option pages that hold them
 * (RM0351 option byte organization table [U: exact layout]): value in the low word, complement in
 * the high word. */
enum {
    OPT_OPTR,
    OPT_PCROP1SR,
    OPT_PCROP1ER,
    OPT_WRP1AR,
    OPT_WRP1BR,
    OPT_PCROP2SR,
    OPT_PCROP2ER,
    OPT_WRP2AR,
    OPT_WRP2BR,
    OPT_COUNT
};

static const struct opt_def {
    uint32_t reg;      /* register offset */
    uint32_t addr;     /* option page address */
    uint32_t writable; /* bits software may change */
    uint32_t factory;  /* as shipped [U: reserved bits read as 1] */
} opt_defs[OPT_COUNT] = {
    /* RDP 0xAA, BOR_LEV 0, nRST_* 1, IWDG/WWDG software, DUALBANK 1, BFB2 0,
     * nBOOT1 1, SRAM2 parity off, SRAM2 erased on reset: 0xFFEFF8AA. */
    [OPT_OPTR] = {0x20, 0x1FFF7800u, 0x0FBF77FFu, 0xFFEFF8AAu},
    [OPT_PCROP1SR] = {0x24, 0x1FFF7808u, 0x0000FFFFu, 0xFFFFFFFFu},
    [OPT_PCROP1ER] = {0x28, 0x1FFF7810u, 0x8000FFFFu, 0x7FFF0000u},
    /* WRP area: STRT b7:0 > END b23:16 means no protection. */
    [OPT_WRP1AR] = {0x2C, 0x1FFF7818u, 0x00FF00FFu, 0xFF00FFFFu},
    [OPT_WRP1BR] = {0x30, 0x1FFF7820u, 0x00FF00FFu, 0xFF00FFFFu},
    [OPT_PCROP2SR] = {0x44, 0x1FFFF808u, 0x0000FFFFu, 0xFFFFFFFFu},
    [OPT_PCROP2ER] = {0x48, 0x1FFFF810u, 0x0000FFFFu, 0xFFFF0000u},
    [OPT_WRP2AR] = {0x4C, 0x1FFFF818u, 0x00FF00FFu, 0xFF00FFFFu},
    [OPT_WRP2BR] = {0x50, 0x1FFFF820u, 0x00FF00FFu, 0xFF00FFFFu},
};

typedef struct l4_state {
    uint32_t acr, sr, cr, eccr;
    uint32_t opt[OPT_COUNT]; /* option registers (what OPTSTRT will commit) */
    uint32_t eff[OPT_COUNT]; /* options in force (loaded at POR / OBL) */
    bool opt_invalid;        /* OPTVERR at the last load */
    bool obl_pending;
    flash_keyseq keys, optkeys; /* KEYR, OPTKEYR */
    flash_run_pd pd;            /* PDKEYR and ACR.RUN_PD */
    /* Standard programming: first word of a double word received. */
    bool dw_pending;
    uint32_t dw_addr, dw_lo;
    /* Fast programming: row in progress. */
    bool fast_active;
    uint32_t fast_next; /* address the next store must have */
    unsigned fast_words;
    uint32_t fast_lo;
    uint64_t fast_last_ps;
    /* Bank mass-erased since the last non-fast program/erase in it: fast
     * programming needs it ("perform a mass erase of the bank to program;
     * if not, PGSERR is set" [U for L4]). Volatile: cleared by any reset. */
    bool bank_blank[2];
    /* Operation behind BSY. */
    flash_op op;
    bool op_eopie;
    bool strt_active;
} l4_state;

/* ---- helpers ---------------------------------------------------------------- */

static uint8_t rdp_byte(const l4_state *st)
{
    return (uint8_t)(st->eff[OPT_OPTR] & 0xFF);
}

/* DS10198 Table 3 / RM0351 read protection: at RDP level 1 with a debugger connected
 * (or boot from SRAM/system memory, not modelled) the main flash can be
 * neither programmed nor erased: WRPERR. */
static bool rdp_blocks_writes(const sim_board *b, const l4_state *st)
{
    return rdp_byte(st) != FLASH_RDP_LEVEL0 && sim_debugger_attached(b);
}

static bool in_main(const sim_chip *c, uint32_t addr)
{
    return flash_in_main(c, addr, 1);
}

static bool in_otp(uint32_t addr)
{
    return flash_in_range(addr, 1, OTP_BASE, OTP_SIZE);
}

static uint32_t bank_size(const sim_chip *c)
{
    return c->flash_size / 2;
}

static unsigned bank_of(const sim_chip *c, uint32_t addr)
{
    return (addr - c->flash_base) / bank_size(c);
}

static unsigned page_in_bank(const sim_chip *c, uint32_t addr)
{
    return ((addr - c->flash_base) % bank_size(c)) / c->page_size;
}

static bool wrp_area_covers(uint32_t reg, unsigned page)
{
    unsigned strt = reg & 0xFF, end = (reg >> 16) & 0xFF;
    return strt <= end && page >= strt && page <= end;
}

/* WRP areas (RM0351 write protection): two per bank, page granular, in force after the
 * option load. BFB2/FB_MODE bank swapping is not modelled: bank 1 is the
 * bank at 0x08000000. */
static bool page_protected(const l4_state *st, unsigned bank, unsigned page)
{
    uint32_t a = st->eff[bank ? OPT_WRP2AR : OPT_WRP1AR];
    uint32_t b = st->eff[bank ? OPT_WRP2BR : OPT_WRP1BR];
    return wrp_area_covers(a, page) || wrp_area_covers(b, page);
}

static bool bank_has_protection(const l4_state *st, unsigned bank)
{
    for (unsigned p = 0; p < PAGES_PER_BANK; p++)
        if (page_protected(st, bank, p))
            return true;
    return false;
}

/* An error ends the operation being set up: flags, OPERR with ERRIE
 * (RM0351 SR.OPERR), and the pending double word / fast row is dropped. */
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
                  uint32_t len)
{
    flash_op_begin(b, &st->op, ns, area, addr, len);
    st->op_eopie = (st->cr & CR_EOPIE) != 0;
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
    st->opt_invalid = false;
    for (unsigned i = 0; i < OPT_COUNT; i++) {
        const uint8_t *p = sim_board_info_ptr(b, opt_defs[i].addr, 8);
        uint32_t v = opt_defs[i].factory;
        if (p) {
            v = flash_le32(p);
            if (flash_le32(p + 4) != ~v) {
                /* OPTVERR: "options may not be the ones configured"; an
                 * unreadable RDP counts as level 1 [U]. */
                st->opt_invalid = true;
                if (i == OPT_OPTR)
                    v = (v & ~0xFFu) | 0xFFu;
            }
        }
        st->opt[i] = st->eff[i] = v;
    }
}

static void write_option_image(sim_board *b, unsigned i, uint32_t v)
{
    uint8_t *p = sim_board_info_ptr(b, opt_defs[i].addr, 8);
    if (p) {
        flash_put_le32(p, v);
        flash_put_le32(p + 4, ~v);
    }
}

static void l4_factory(sim_board *b, void *vst)
{
    l4_state *st = vst;
    for (unsigned i = 0; i < OPT_COUNT; i++)
        write_option_image(b, i, opt_defs[i].factory);
    load_options(b, st);
}

/* OPTSTRT (RM0351 option bytes modification): commit the option registers to the option pages.
 * Refused at RDP level 2. Going from level 1 back to 0 mass-erases both
 * banks as part of the operation (PCROP areas with PCROP_RDP = 0 would be
 * kept; PCROP is not modelled, everything is erased). */
static void option_start(sim_board *b, l4_state *st)
{
    const sim_chip *c = sim_board_chip(b);
    if (rdp_byte(st) == FLASH_RDP_LEVEL2) {
        set_error(st, SR_WRPERR);
        return;
    }
    uint64_t ns = T_OPTION_NS;
    uint8_t new_rdp = (uint8_t)st->opt[OPT_OPTR];
    if (rdp_byte(st) != FLASH_RDP_LEVEL0 && new_rdp == FLASH_RDP_LEVEL0) {
        flash_erase_main(b, c->flash_base, c->flash_size);
        st->bank_blank[0] = st->bank_blank[1] = true;
        ns += T_MASS_ERASE_NS;
    }
    for (unsigned i = 0; i < OPT_COUNT; i++)
        write_option_image(b, i, st->opt[i]);
    /* A reset before the end corrupts the OPTR double word: it then fails
     * its complement check. */
    begin(b, st, ns, FLASH_AREA_INFO, opt_defs[OPT_OPTR].addr, 8);
}

/* ---- erase -------------------------------------------------------------------- */

static void start_erase(sim_board *b, l4_state *st)
{
    const sim_chip *c = sim_board_chip(b);
    uint32_t cr = st->cr;
    bool per = cr & CR_PER, mer = cr & (CR_MER1 | CR_MER2), pg = cr & (CR_PG | CR_FSTPG);
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
    if (per) {
        unsigned bank = (cr & CR_BKER) ? 1 : 0;
        unsigned page = (cr & CR_PNB_MASK) >> CR_PNB_SHIFT;
        if (page_protected(st, bank, page)) {
            set_error(st, SR_WRPERR);
            return;
        }
        uint32_t addr = c->flash_base + bank * bank_size(c) + page * c->page_size;
        flash_erase_main(b, addr, c->page_size);
        st->bank_blank[bank] = false;
        begin(b, st, T_PAGE_ERASE_NS, FLASH_AREA_MAIN, addr, c->page_size);
        st->strt_active = true;
        return;
    }
    /* Bank erase: a write-protected area inside refuses the whole erase. */
    bool e1 = cr & CR_MER1, e2 = cr & CR_MER2;
    if ((e1 && bank_has_protection(st, 0)) || (e2 && bank_has_protection(st, 1))) {
        set_error(st, SR_WRPERR);
        return;
    }
    uint32_t first = e1 ? 0 : bank_size(c), len = (e1 && e2) ? c->flash_size : bank_size(c);
    flash_erase_main(b, c->flash_base + first, len);
    if (e1)
        st->bank_blank[0] = true;
    if (e2)
        st->bank_blank[1] = true;
    begin(b, st, T_MASS_ERASE_NS, FLASH_AREA_MAIN, c->flash_base + first, len);
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
    return page_protected(st, bank_of(c, addr), page_in_bank(c, addr));
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
        st->dw_pending = true;
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
    if (in_main(c, dw))
        st->bank_blank[bank_of(c, dw)] = false;
    begin(b, st, T_DW_NS, in_main(c, dw) ? FLASH_AREA_MAIN : FLASH_AREA_INFO, dw, 8);
}

/* Fast programming (RM0351 fast programming sequence). The row must start on a row boundary and
 * its 64 word stores arrive at consecutive addresses [U: alignment and
 * strict order; the RM names "a change of page" as PGAERR]. BSY starts with
 * the first double word and covers the whole row. */
static void store_fast(sim_board *b, l4_state *st, uint32_t addr, uint32_t value)
{
    const sim_chip *c = sim_board_chip(b);
    if (!st->fast_active) {
        if (st->sr & SR_STALE) {
            set_error(st, SR_PGSERR);
            return;
        }
        if (!in_main(c, addr)) {
            set_error(st, SR_PGAERR); /* "only main memory" [U: flag] */
            return;
        }
        if (!st->bank_blank[bank_of(c, addr)]) {
            set_error(st, SR_PGSERR);
            return;
        }
        st->fast_active = true; /* from here errors also raise FASTERR */
        if (addr & (ROW_BYTES - 1)) {
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
        begin(b, st, T_ROW_FAST_NS, FLASH_AREA_MAIN, dw, ROW_BYTES);
    if (st->fast_words == 2 * (ROW_BYTES / 8))
        st->fast_active = false; /* row complete: BSY runs to its end, then EOP */
}

/* ---- flash_ctrl_ops ------------------------------------------------------------ */

static void l4_reset(sim_board *b, void *vst, bool power_on)
{
    l4_state *st = vst;
    /* Reset during a program/erase: the cells being changed are left
     * undefined; an interrupted option write corrupts the option page,
     * which then fails its complement check (OPTVERR, RDP level 1). */
    flash_op_cut_short(b, &st->op);
    bool reload = power_on || st->obl_pending;
    st->acr = ACR_RESET;
    st->cr = CR_RESET;
    st->eccr = 0;
    st->keys = st->optkeys = (flash_keyseq){0};
    st->pd = (flash_run_pd){0};
    st->dw_pending = false;
    st->fast_active = false;
    st->bank_blank[0] = st->bank_blank[1] = false;
    st->strt_active = false;
    flash_op_forget(&st->op);
    st->obl_pending = false;
    if (reload)
        load_options(b, st);
    else
        memcpy(st->opt, st->eff, sizeof st->opt); /* registers show what is loaded */
    /* OPTVERR is set again at each reset while the options stay invalid. */
    st->sr = st->opt_invalid ? SR_OPTVERR : 0;
}

static uint32_t l4_reg_read(sim_board *b, void *vst, uint32_t offset)
{
    l4_state *st = vst;
    sync(b, st);
    bool busy = sim_flash_busy(b);
    switch (offset) {
    case REG_ACR:
        return st->acr;
    case REG_SR:
        return st->sr | (busy ? SR_BSY : 0);
    case REG_CR:
        /* STRT reads 1 until the erase it started has ended. */
        return st->cr | (busy && st->strt_active ? CR_STRT : 0);
    case REG_ECCR:
        return st->eccr;
    default:
        for (unsigned i = 0; i < OPT_COUNT; i++)
            if (opt_defs[i].reg == offset)
                return st->opt[i];
        return 0; /* key registers are write-only */
    }
}

static void cr_write(sim_board *b, l4_state *st, uint32_t value, uint32_t mask)
{
    uint32_t v = value & mask;
    if (!(st->cr & CR_LOCK)) {
        uint32_t before = st->cr;
        st->cr = flash_masked(st->cr, CR_WRITABLE, value, mask);
        if ((before & CR_PG) && !(st->cr & CR_PG))
            st->dw_pending = false;
        if ((before & CR_FSTPG) && !(st->cr & CR_FSTPG) && st->fast_active) {
            /* FSTPG cleared in the middle of a row: the row is abandoned
             * [U: flag]; report it as missing data. */
            set_error(st, SR_MISERR);
        }
        if (v & CR_STRT)
            start_erase(b, st);
        if ((v & CR_OPTSTRT) && !(before & CR_OPTLOCK))
            option_start(b, st);
        if ((v & CR_OBL_LAUNCH) && !(before & CR_OPTLOCK)) {
            /* RM0351 CR.OBL_LAUNCH: "forces the option byte reloading"
             * under a system reset. */
            st->obl_pending = true;
            sim_board_request_reset(b);
        }
    }
    /* LOCK and OPTLOCK can only be set by software. */
    if (v & CR_LOCK) {
        st->cr |= CR_LOCK;
        flash_key_restart(&st->keys);
        st->dw_pending = false;
    }
    if (v & CR_OPTLOCK) {
        st->cr |= CR_OPTLOCK;
        flash_key_restart(&st->optkeys);
    }
}

static bool l4_reg_write(sim_board *b, void *vst, uint32_t offset, uint32_t value, uint32_t mask)
{
    l4_state *st = vst;
    sync(b, st);
    switch (offset) {
    case REG_ACR:
        st->acr = flash_run_pd_acr(&st->pd, st->acr, ACR_WRITABLE, ACR_RUN_PD, value, mask);
        sim_clock_changed(b); /* HCLK may now be too fast, or fine again */
        return true;
    case REG_PDKEYR:
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
        return true;
    case REG_CR:
        /* "Writing FLASH_CR while BSY stalls the AHB until BSY clears"
         * (RM0351 note on FLASH_CR accesses). Within a fast row that means waiting for the
         * row's end, by which time the row has failed with MISERR. */
        if (flash_stall_if_busy(b))
            sync(b, st);
        cr_write(b, st, value, mask);
        return true;
    case REG_ECCR:
        st->eccr = flash_masked(st->eccr, ECCR_ECCIE, value, mask);
        flash_w1c(&st->eccr, ECCR_W1C, value, mask);
        return true;
    default:
        for (unsigned i = 0; i < OPT_COUNT; i++) {
            if (opt_defs[i].reg != offset)
                continue;
            /* Option registers change only with LOCK and OPTLOCK clear. */
            if (!(st->cr & (CR_LOCK | CR_OPTLOCK))) {
                st->opt[i] = flash_masked(st->opt[i], opt_defs[i].writable, value, mask);
            }
            return true;
        }
        return true;
    }
}

static bool l4_mem_write(sim_board *b, void *vst, bus_master who, uint32_t addr, uint32_t value,
                         unsigned size)
{
    (void)who;
    l4_state *st = vst;
    const sim_chip *c = sim_board_chip(b);
    sync(b, st);
    /* Stores into a busy array wait on the bus (no write-while-write),
     * except the double words of a fast row, which must arrive while the
     * row is being programmed. */
    if (!st->fast_active && flash_stall_if_busy(b))
        sync(b, st);
    if (!in_main(c, addr) && !in_otp(addr))
        return false; /* system memory, option pages: not writable by stores [U] */
    uint32_t cr = st->cr;
    bool pg = cr & CR_PG, fst = cr & CR_FSTPG;
    /* PGSERR: a store with PG and FSTPG both clear (which is always the case
     * while CR is locked), or with an erase selected too (SR.PGSERR). */
    if ((!pg && !fst) || (pg && fst) || (cr & (CR_PER | CR_MER1 | CR_MER2))) {
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

static bool l4_read_protected(sim_board *b, void *vst)
{
    (void)b;
    const l4_state *st = vst;
    return rdp_byte(st) != FLASH_RDP_LEVEL0;
}

static void l4_inject_stale_errors(sim_board *b, void *vst)
{
    (void)b;
    l4_state *st = vst;
    st->sr |= SR_PROGERR | SR_PGSERR | SR_PGAERR;
}

static void l4_inject_rdp1(sim_board *b, void *vst)
{
    (void)vst;
    const uint8_t *p = sim_board_info_ptr(b, opt_defs[OPT_OPTR].addr, 8);
    if (p) /* HAL's level 1 value */
        write_option_image(b, OPT_OPTR, (flash_le32(p) & ~0xFFu) | 0xBBu);
}

static unsigned l4_latency(sim_board *b, void *st)
{
    (void)b;
    /* RM0351 3.7.1: LATENCY b2:0 */
    return ((l4_state *)st)->acr & 0x7u;
}

/* Timing oracle: standard double-word programs (fast programming of
 * whole rows is not assumed), page erases one by one, and one mass erase
 * (MER1 and MER2 together take one T_MASS_ERASE_NS) for the banks the
 * range touches. */
static void l4_timing(sim_board *b, void *st, uint32_t addr, uint32_t len, sim_flash_timing *out)
{
    (void)st;
    const sim_chip *c = sim_board_chip(b);
    uint32_t off = addr - c->flash_base;
    out->mode = "double-word";
    out->unit_bytes = 8;
    out->units = flash_units_touched(off, len, 8);
    out->program_ns = out->units * T_DW_NS;
    out->erase_units = flash_units_touched(off, len, c->page_size);
    out->erase_ns = out->erase_units * T_PAGE_ERASE_NS;
    out->mass_ns = T_MASS_ERASE_NS;
}

const flash_ctrl_ops sim_flash_l4 = {
    .state_size = sizeof(l4_state),
    .factory = l4_factory,
    .reset = l4_reset,
    .reg_read = l4_reg_read,
    .reg_write = l4_reg_write,
    .mem_write = l4_mem_write,
    .read_protected = l4_read_protected,
    .inject_stale_errors = l4_inject_stale_errors,
    .inject_rdp1 = l4_inject_rdp1,
    .latency = l4_latency,
    .timing = l4_timing,
};
