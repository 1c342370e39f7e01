/*
 * The TrustZone-layout flash interface of the STM32L5 and STM32U5 (FLASH
 * non-secure registers @ 0x40022000), as a non-secure debugger sees it.
 *
 * Sources: RM0438 (L5) chapter 6 and RM0456 (U5) chapter 7 register
 * descriptions, the CMSIS headers stm32l552xx.h and stm32u575xx.h (offsets,
 * bit positions). [U] marks a rule the texts read did not settle; the choice
 * is the stricter one a programmer can observe.
 *
 * Model overview
 * - NSKEYR (0x08) keys clear NSCR.LOCK; OPTKEYR (0x10) keys clear OPTLOCK
 *   once LOCK is clear. A wrong key is a bus error and the lock stays set
 *   until reset. SECKEYR/SECSR/SECCR (0x0C/0x24/0x2C) and SECBBxRy are
 *   secure registers: RAZ/WI from this non-secure view [U].
 * - Programming (NSCR.PG): L5 double words (two 32-bit stores, 8-aligned),
 *   U5 quad words (four stores, 16-aligned; NSSR.WDW while the rest is
 *   awaited). A unit that is not erased (all 0xFF) is PROGERR and nothing is
 *   written [U: no all-zero exception]; a store outside the unit being
 *   filled is PGAERR, a byte/half-word store SIZERR, a store without PG or
 *   with an erase bit PGSERR. Any error flag left set makes the next
 *   program/erase PGSERR (RM0438 NSSR.NSPGSERR).
 * - Erase: PER + PNB + BKER + STRT (page: L5 2 KiB with DBANK = 1, 4 KiB
 *   with DBANK = 0; U5 8 KiB, two banks), MER1 / MER2 + STRT (one bank each,
 *   both together). Bank 2 starts at half the flash.
 * - NSSR.BSY for the datasheet time of each operation; EOP needs EOPIE.
 * - Options: OPTR (0x40) after OPTKEYR, committed by OPTSTRT, loaded at
 *   power-on or OBL_LAUNCH (system reset). RDP 0xAA level 0, 0x55 level 0.5
 *   only with TZEN = 1 (level 1 otherwise), 0xCC level 2, others level 1;
 *   1 -> 0 mass-erases the flash; level 2 freezes the options. TZEN can be
 *   set only at level 0 and cleared only with a regression to level 0
 *   (RM0438 6.6.2, RM0456 7.6.2), else OPTWERR.
 * - TZEN = 1: the factory secure watermarks cover the whole flash [U], so a
 *   non-secure program or erase fails with WRPERR and the non-secure
 *   debugger cannot read the flash (the secure alias 0x0C000000 is not
 *   modelled).
 */
#include "flash_common.h"

#include <string.h>

/* ---- registers (RM0438 6.9 / RM0456 7.9 register maps) ------------------ */
#define REG_ACR     0x00
#define REG_NSKEYR  0x08
#define REG_OPTKEYR 0x10
#define REG_NSSR    0x20
#define REG_NSCR    0x28
#define REG_OPTR    0x40

#define SR_EOP     (1u << 0)
#define SR_OPERR   (1u << 1)
#define SR_PROGERR (1u << 3)
#define SR_WRPERR  (1u << 4)
#define SR_PGAERR  (1u << 5)
#define SR_SIZERR  (1u << 6)
#define SR_PGSERR  (1u << 7)
#define SR_OPTWERR (1u << 13)
#define SR_BSY     (1u << 16)
#define SR_WDW     (1u << 17) /* U5 */
#define SR_W1C                                                                                     \
    (SR_EOP | SR_OPERR | SR_PROGERR | SR_WRPERR | SR_PGAERR | SR_SIZERR | SR_PGSERR | SR_OPTWERR)
#define SR_STALE (SR_PROGERR | SR_WRPERR | SR_PGAERR | SR_SIZERR | SR_PGSERR | SR_OPTWERR)

#define CR_PG         (1u << 0)
#define CR_PER        (1u << 1)
#define CR_MER1       (1u << 2)
#define CR_PNB_SHIFT  3
#define CR_BKER       (1u << 11)
#define CR_MER2       (1u << 15)
#define CR_STRT       (1u << 16)
#define CR_OPTSTRT    (1u << 17)
#define CR_EOPIE      (1u << 24)
#define CR_ERRIE      (1u << 25)
#define CR_OBL_LAUNCH (1u << 27)
#define CR_OPTLOCK    (1u << 30)
#define CR_LOCK       (1u << 31)

#define OPTR_RDP_MASK 0xFFu
#define OPTR_DBANK    (1u << 22) /* L5 */
#define OPTR_TZEN     (1u << 31)
#define RDP_HALF      0x55u

#define KEY1    0x45670123u
#define KEY2    0xCDEF89ABu
#define OPTKEY1 0x08192A3Bu
#define OPTKEY2 0x4C5D6E7Fu

/* What the L5 and U5 differ in. */
typedef struct l5_variant {
    unsigned prog_words;   /* 2 (L5 double word), 4 (U5 quad word) */
    uint32_t pnb_mask;     /* NSCR.PNB width: L5 b9:3, U5 b10:3 */
    uint32_t page_single;  /* page size with one bank (L5 DBANK = 0), 0: always two banks */
    uint32_t acr_writable; /* LATENCY b3:0 and the rest */
    uint32_t optr_writable;
    uint32_t optr_factory; /* [U: reserved bits and defaults] */
    bool wdw;              /* NSSR.WDW */
    uint64_t t_prog_ns, t_page_ns, t_bank_ns, t_opt_ns;
} l5_variant;

typedef struct l5_state {
    uint32_t acr, sr, cr;
    uint32_t optr;      /* OPTR as written (committed by OPTSTRT) */
    uint32_t opt_flash; /* committed option bytes */
    uint32_t opt_eff;   /* in force (loaded at POR / OBL_LAUNCH) */
    bool obl_pending;
    flash_keyseq keys, optkeys;
    unsigned nwords;
    uint32_t unit_addr;
    uint32_t unit[4];
    flash_op op;
    bool op_eopie;
} l5_state;

static const l5_variant *var(const sim_board *b)
{
    return sim_board_chip(b)->flash->variant;
}

static uint8_t rdp_byte(const l5_state *st)
{
    return (uint8_t)(st->opt_eff & OPTR_RDP_MASK);
}

/* RDP level 1 (or 2): 0x55 is level 0.5 only with TZEN = 1 */
static bool rdp_level1(const l5_state *st)
{
    uint8_t r = rdp_byte(st);
    if (r == FLASH_RDP_LEVEL0)
        return false;
    return !(r == RDP_HALF && (st->opt_eff & OPTR_TZEN));
}

static bool tz_secure(const l5_state *st)
{
    return st->opt_eff & OPTR_TZEN;
}

static void set_error(l5_state *st, uint32_t flags)
{
    st->sr |= flags;
    if (st->cr & CR_ERRIE)
        st->sr |= SR_OPERR;
    st->nwords = 0;
}

static void sync(sim_board *b, l5_state *st)
{
    if (flash_op_ended(b, &st->op) && st->op_eopie)
        st->sr |= SR_EOP;
}

static bool two_banks(const sim_board *b, const l5_state *st)
{
    return !var(b)->page_single || (st->opt_eff & OPTR_DBANK);
}

static uint32_t page_size(const sim_board *b, const l5_state *st)
{
    return two_banks(b, st) ? sim_board_chip(b)->page_size : var(b)->page_single;
}

static void begin(sim_board *b, l5_state *st, uint64_t ns, flash_area area, uint32_t addr,
                  uint32_t len)
{
    st->op_eopie = st->cr & CR_EOPIE;
    flash_op_begin(b, &st->op, ns, area, addr, len);
}

/* Checks every program/erase start makes (RM0438 NSSR.NSPGSERR,
 * NSWRPERR; RDP level 1 with a debugger refuses both). */
static bool may_start(sim_board *b, l5_state *st)
{
    if (st->sr & SR_STALE) {
        set_error(st, SR_PGSERR);
        return false;
    }
    if (tz_secure(st) || (rdp_level1(st) && sim_debugger_attached(b))) {
        set_error(st, SR_WRPERR);
        return false;
    }
    return true;
}

/* ---- flash_ctrl_ops ------------------------------------------------------- */

static void l5_factory(sim_board *b, void *vst)
{
    l5_state *st = vst;
    st->optr = st->opt_flash = st->opt_eff = var(b)->optr_factory;
}

static void l5_reset(sim_board *b, void *vst, bool power_on)
{
    l5_state *st = vst;
    flash_op_cut_short(b, &st->op);
    if (power_on || st->obl_pending)
        st->opt_eff = st->opt_flash;
    st->obl_pending = false;
    st->optr = st->opt_eff;
    st->acr = 0;
    st->sr = 0;
    st->cr = CR_LOCK | CR_OPTLOCK;
    st->keys = st->optkeys = (flash_keyseq){0};
    st->nwords = 0;
    flash_op_forget(&st->op);
}

static uint32_t l5_reg_read(sim_board *b, void *vst, uint32_t offset)
{
    l5_state *st = vst;
    sync(b, st);
    switch (offset) {
    case REG_ACR:
        return st->acr;
    case REG_NSSR:
        return st->sr | (sim_flash_busy(b) ? SR_BSY : 0) | (var(b)->wdw && st->nwords ? SR_WDW : 0);
    case REG_NSCR:
        return st->cr;
    case REG_OPTR:
        return st->optr;
    default:
        return 0; /* keys write-only; secure registers RAZ [U] */
    }
}

static void erase(sim_board *b, l5_state *st)
{
    const sim_chip *c = sim_board_chip(b);
    uint32_t half = c->flash_size / 2;
    if (!may_start(b, st))
        return;
    uint32_t sel = st->cr & (CR_PER | CR_MER1 | CR_MER2);
    if (sel == CR_PER) {
        uint32_t ps = page_size(b, st);
        uint32_t pnb = (st->cr & var(b)->pnb_mask) >> CR_PNB_SHIFT;
        uint32_t bank = two_banks(b, st) && (st->cr & CR_BKER) ? half : 0;
        uint32_t span = two_banks(b, st) ? half : c->flash_size;
        if ((uint64_t)(pnb + 1) * ps > span) {
            set_error(st, SR_PGSERR); /* no such page [U: flag] */
            return;
        }
        uint32_t addr = c->flash_base + bank + pnb * ps;
        flash_erase_main(b, addr, ps);
        begin(b, st, var(b)->t_page_ns, FLASH_AREA_MAIN, addr, ps);
        return;
    }
    if (sel && !(sel & CR_PER)) {
        uint32_t from = sel & CR_MER1 ? 0 : half;
        uint32_t to = sel & CR_MER2 ? c->flash_size : half;
        flash_erase_main(b, c->flash_base + from, to - from);
        begin(b, st, var(b)->t_bank_ns, FLASH_AREA_MAIN, c->flash_base + from, to - from);
        return;
    }
    set_error(st, SR_PGSERR); /* STRT without one erase selected */
}

/* OPTSTRT: commit OPTR (RM0438 6.4.2 option modification). */
static void commit_options(sim_board *b, l5_state *st)
{
    const sim_chip *c = sim_board_chip(b);
    uint32_t old = st->opt_eff, neu = st->optr;
    uint8_t rdp_old = (uint8_t)old, rdp_new = (uint8_t)neu;
    if (rdp_old == FLASH_RDP_LEVEL2) {
        set_error(st, SR_OPTWERR);
        return;
    }
    bool regress = rdp_old != FLASH_RDP_LEVEL0 && rdp_new == FLASH_RDP_LEVEL0;
    bool tz_on = !(old & OPTR_TZEN) && (neu & OPTR_TZEN);
    bool tz_off = (old & OPTR_TZEN) && !(neu & OPTR_TZEN);
    if ((tz_on && rdp_old != FLASH_RDP_LEVEL0) || (tz_off && !regress)) {
        set_error(st, SR_OPTWERR);
        st->optr = st->opt_eff;
        return;
    }
    st->opt_flash = neu;
    uint64_t ns = var(b)->t_opt_ns;
    if (regress) { /* RDP 1 -> 0: mass erase (RM0438 6.6.2) */
        flash_erase_main(b, c->flash_base, c->flash_size);
        ns += var(b)->t_bank_ns;
    }
    begin(b, st, ns, FLASH_AREA_NONE, 0, 0);
}

static bool l5_reg_write(sim_board *b, void *vst, uint32_t offset, uint32_t value, uint32_t mask)
{
    l5_state *st = vst;
    sync(b, st);
    uint32_t v = value & mask;
    switch (offset) {
    case REG_ACR:
        st->acr = flash_masked(st->acr, var(b)->acr_writable, value, mask);
        sim_clock_changed(b);
        return true;
    case REG_NSKEYR:
        return flash_key_unlock(&st->keys, &st->cr, CR_LOCK, true, KEY1, KEY2, value, mask);
    case REG_OPTKEYR:
        return flash_key_unlock(&st->optkeys, &st->cr, CR_OPTLOCK, !(st->cr & CR_LOCK), OPTKEY1,
                                OPTKEY2, value, mask);
    case REG_NSSR:
        flash_w1c(&st->sr, SR_W1C, value, mask);
        return true;
    case REG_NSCR: {
        /* Writes while BSY wait on the bus [U], as on L4. */
        if (flash_stall_if_busy(b))
            sync(b, st);
        if (st->cr & CR_LOCK) {
            /* only the lock bits can be set while locked */
            st->cr |= v & (CR_LOCK | CR_OPTLOCK);
            return true;
        }
        uint32_t before = st->cr;
        uint32_t writable = CR_PG | CR_PER | CR_MER1 | var(b)->pnb_mask | CR_BKER | CR_MER2 |
                            CR_EOPIE | CR_ERRIE | CR_OPTLOCK | CR_LOCK;
        st->cr = flash_masked(st->cr, writable, value, mask);
        if ((before ^ st->cr) & CR_PG)
            st->nwords = 0;
        if (v & CR_LOCK)
            st->cr |= CR_OPTLOCK;
        if (!(before & CR_OPTLOCK) && !(st->cr & CR_OPTLOCK) && (v & CR_OPTSTRT)) {
            if (st->sr & SR_STALE)
                set_error(st, SR_PGSERR);
            else
                commit_options(b, st);
        }
        if (v & CR_STRT)
            erase(b, st);
        if ((v & CR_OBL_LAUNCH) && !(before & CR_OPTLOCK)) {
            st->obl_pending = true;
            sim_board_request_reset(b);
        }
        if (v & CR_LOCK) {
            flash_key_restart(&st->keys);
            flash_key_restart(&st->optkeys);
        }
        return true;
    }
    case REG_OPTR:
        if (!(st->cr & (CR_LOCK | CR_OPTLOCK)))
            st->optr = flash_masked(st->optr, var(b)->optr_writable, value, mask);
        return true;
    default:
        return true; /* secure and other registers: WI here [U] */
    }
}

static bool unit_erased(sim_board *b, uint32_t addr, uint32_t len)
{
    const uint8_t *p = sim_flash_ptr(b) + (addr - sim_board_chip(b)->flash_base);
    for (uint32_t i = 0; i < len; i++)
        if (p[i] != 0xFF)
            return false;
    return true;
}

static bool l5_mem_write(sim_board *b, void *vst, bus_master who, uint32_t addr, uint32_t value,
                         unsigned size)
{
    (void)who;
    l5_state *st = vst;
    const sim_chip *c = sim_board_chip(b);
    if (flash_stall_if_busy(b))
        sync(b, st);
    if (!flash_in_main(c, addr, 1)) {
        set_error(st, SR_WRPERR); /* OTP and system memory: not modelled [U] */
        return true;
    }
    unsigned n = var(b)->prog_words;
    uint32_t unit_bytes = 4 * n;
    if ((st->cr & CR_LOCK) || !(st->cr & CR_PG) || (st->cr & (CR_PER | CR_MER1 | CR_MER2))) {
        set_error(st, SR_PGSERR);
        return true;
    }
    if (size != 4) {
        set_error(st, SR_SIZERR);
        return true;
    }
    if (st->nwords == 0) {
        if (addr & (unit_bytes - 1)) {
            set_error(st, SR_PGAERR);
            return true;
        }
        if (!may_start(b, st))
            return true;
        st->unit_addr = addr;
    } else if (addr != st->unit_addr + 4 * st->nwords) {
        set_error(st, SR_PGAERR);
        return true;
    }
    st->unit[st->nwords++] = value;
    if (st->nwords < n)
        return true;
    st->nwords = 0;
    if (!unit_erased(b, st->unit_addr, unit_bytes)) {
        set_error(st, SR_PROGERR);
        return true;
    }
    uint8_t *p = sim_flash_ptr(b) + (st->unit_addr - c->flash_base);
    if (!sim_flash_cell_bad(b, st->unit_addr, unit_bytes))
        for (unsigned i = 0; i < n; i++)
            flash_put_le32(p + 4 * i, st->unit[i]);
    sim_flash_changed(b, st->unit_addr, unit_bytes);
    begin(b, st, var(b)->t_prog_ns, FLASH_AREA_MAIN, st->unit_addr, unit_bytes);
    return true;
}

static bool l5_read_protected(sim_board *b, void *vst)
{
    (void)b;
    const l5_state *st = vst;
    return rdp_level1(st) || tz_secure(st);
}

static void l5_inject_stale_errors(sim_board *b, void *vst)
{
    (void)b;
    ((l5_state *)vst)->sr |= SR_PGAERR | SR_PGSERR;
}

static void l5_inject_rdp1(sim_board *b, void *vst)
{
    (void)b;
    l5_state *st = vst;
    st->opt_flash = (st->opt_flash & ~OPTR_RDP_MASK) | 0xBBu;
}

static unsigned l5_latency(sim_board *b, void *vst)
{
    (void)b;
    return ((l5_state *)vst)->acr & 0xFu; /* LATENCY b3:0 */
}

/* ---- the variants ------------------------------------------------------- */

/*
 * L5 (RM0438): double words, PNB b9:3, 2 KiB pages with DBANK = 1 (the row),
 * 4 KiB with DBANK = 0. OPTR factory: RDP 0xAA, nRST_* 1, IWDG/WWDG
 * software, DBANK 1, SRAM2_PE/RST 1, nSWBOOT0 1, nBOOT0 1, PA15_PUPEN 1,
 * TZEN 0 [U]. Timings: STM32L552 datasheet "Flash memory characteristics"
 * [U: taken as the L4's 81.7 us / 22.0 ms / 22.1 ms].
 */
static const l5_variant l5 = {
    .prog_words = 2,
    .pnb_mask = 0x7Fu << CR_PNB_SHIFT,
    .page_single = 4096,
    .acr_writable = 0x0000E00Fu, /* LATENCY, RUN_PD, SLEEP_PD, LVEN */
    .optr_writable = 0x9F7F77FFu,
    .optr_factory = 0x1F4F70AAu,
    .t_prog_ns = 81690,
    .t_page_ns = 22020000,
    .t_bank_ns = 22130000,
    .t_opt_ns = 22020000,
};

/*
 * U5 (RM0456): quad words (WDW), PNB b10:3 (as on the largest parts), 8 KiB
 * pages, two banks. OPTR factory: RDP 0xAA, nRST_* 1, SRAM_RST 1,
 * IWDG/WWDG software, DUALBANK 1, the ECC bits 1 (off), SRAM2_RST 1,
 * nSWBOOT0 1, nBOOT0 1, PA15_PUPEN 1, TZEN 0 [U]. Timings [U: STM32U575
 * datasheet figures not read]: 118 us per quad word, 1.5 ms per page or
 * bank erase.
 */
static const l5_variant u5 = {
    .prog_words = 4,
    .pnb_mask = 0xFFu << CR_PNB_SHIFT,
    .page_single = 0,
    .acr_writable = 0x0000790Fu, /* LATENCY, PRFTEN, LPM, PDREQ1/2, SLEEP_PD */
    .optr_writable = 0xFFFFF7FFu,
    .optr_factory = 0x1FEFF0AAu,
    .wdw = true,
    .t_prog_ns = 118000,
    .t_page_ns = 1500000,
    .t_bank_ns = 1500000,
    .t_opt_ns = 1500000,
};

/* Timing oracle: standard programs of the variant's flash word, page
 * erases one by one, a bank erase per bank the range touches. */
static void l5_timing(sim_board *b, void *st, uint32_t addr, uint32_t len, sim_flash_timing *out)
{
    (void)st;
    const sim_chip *c = sim_board_chip(b);
    const l5_variant *v = var(b);
    uint32_t off = addr - c->flash_base, word = v->prog_words * 4u;
    uint32_t half = c->flash_size / 2;
    out->mode = v->prog_words == 4 ? "quad-word" : "double-word";
    out->unit_bytes = word;
    out->units = flash_units_touched(off, len, word);
    out->program_ns = out->units * v->t_prog_ns;
    out->erase_units = flash_units_touched(off, len, c->page_size);
    out->erase_ns = out->erase_units * v->t_page_ns;
    unsigned banks = len && off < half ? 1 : 0;
    banks += len && off + len > half ? 1 : 0;
    out->mass_ns = banks * v->t_bank_ns;
}

#define OPS(v)                                                                                     \
    {                                                                                              \
        .state_size = sizeof(l5_state), .factory = l5_factory, .reset = l5_reset,                  \
        .reg_read = l5_reg_read, .reg_write = l5_reg_write, .mem_write = l5_mem_write,             \
        .read_protected = l5_read_protected, .inject_stale_errors = l5_inject_stale_errors,        \
        .inject_rdp1 = l5_inject_rdp1, .latency = l5_latency, .timing = l5_timing,                 \
        .variant = &(v),                                                                           \
    }

const flash_ctrl_ops sim_flash_l5 = OPS(l5);
const flash_ctrl_ops sim_flash_u5 = OPS(u5);
